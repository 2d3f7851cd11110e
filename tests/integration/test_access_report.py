"""playbooks/report.yml against the emulated demo organization: after a sync, who can get into which account is read
from the deployed central stack (not from the catalog), written as access.json, access.csv and access.html, and the
page works in a real browser (tests/browser.py: headless Debian chromium through Playwright).

What the demo's roles_catalog/identity.yml says, and so what the report must show:
  platform-engineers          ReadOnly in the 5 Workloads accounts, SandboxAdmin in the 2 Sandbox accounts
  payments-prod-readers       ReadOnly in Payments Prod
  orgiam-ReadOnly-Workloads, orgiam-SandboxAdmin-Sandbox   the default groups of the two roles
  alice.platform              through platform-engineers: ReadOnly in Workloads, SandboxAdmin in Sandbox
  bob.payments                ReadOnly in Payments Prod (payments-prod-readers) and in every Workloads account
                              (orgiam-ReadOnly-Workloads): Payments Prod through both
WorkloadDeployer is a machine role (trusted_by): no person reaches it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser import (
    browser_unavailable,
    choose_ou,
    console_errors,
    open_page,
    outside_requests,
    screenshot,
    search_person,
    visible_account_names,
    visible_principals,
)
from tests.emulated import BIN, REPO, Run, Workspace
from tests.integration.test_sync import SANDBOX, WORKLOADS

SCREENSHOT = REPO / "out" / "access-report-demo.png"


def report_playbook(ws: Workspace, *extra: str) -> Run:
    return ws.run(str(BIN / "ansible-playbook"), "-i", str(ws.inventory), str(REPO / "playbooks" / "report.yml"),
                  "-e", f"orgiam_report_dir={ws.out / 'report'}", *extra)


def reached(rows: list[dict], principal: str) -> set[tuple[str, str]]:
    return {(r["account_name"], r["role"]) for r in rows if r["principal"] == principal}


def test_report_after_a_sync_says_who_reaches_what_and_the_page_works(workspace):
    ws = workspace
    sync = ws.playbook()
    assert sync.returncode == 0, sync.output
    run = report_playbook(ws, "--check")  # read-only either way; check mode writes the files too
    assert run.returncode == 0, run.output
    access = json.loads((ws.out / "report" / "access.json").read_text())
    rows = access["rows"]
    assert access["mode"] == "iam_users" and access["source"] == "report"
    assert access["central_account"] == {"id": ws.accounts["Security"], "name": "Security"}

    workloads = {(a, "ReadOnly") for a in WORKLOADS}
    sandbox = {(a, "SandboxAdmin") for a in SANDBOX}
    assert reached(rows, "platform-engineers") == workloads | sandbox
    assert reached(rows, "alice.platform") == workloads | sandbox
    assert {r["via"] for r in rows if r["principal"] == "alice.platform"} == {"platform-engineers"}
    assert reached(rows, "payments-prod-readers") == {("Payments Prod", "ReadOnly")}
    assert reached(rows, "bob.payments") == workloads
    bob_prod = sorted(r["via"] for r in rows if r["principal"] == "bob.payments" and r["account_name"] == "Payments Prod")
    assert bob_prod == ["orgiam-ReadOnly-Workloads", "payments-prod-readers"]
    assert not [r for r in rows if r["role"] == "WorkloadDeployer"]  # machines' role: nobody's
    assert all(r["mfa_required"] is True for r in rows)
    for row in rows:
        assert row["role_arn"] == f"arn:aws:iam::{ws.accounts[row['account_name']]}:role/orgiam/{row['role']}"
    assert "2 people, 4 groups, 7 of" in run.output and "without MFA: 0" in run.output
    csv_lines = (ws.out / "report" / "access.csv").read_text().splitlines()
    assert len(csv_lines) == len(rows) + 1

    reason = browser_unavailable()
    if reason:
        pytest.skip(reason)
    page_path = Path(ws.out / "report" / "access.html")
    with open_page(page_path) as opened:
        page = opened.page
        assert console_errors(opened) == [] and outside_requests(opened, page_path) == []
        choose_ou(page, "Workloads")
        assert sorted(visible_account_names(page)) == sorted(WORKLOADS)
        for name in SANDBOX:
            assert page.locator(f"#matrix thead th[data-account-name='{name}']").is_hidden()
        choose_ou(page, "*")
        search_person(page, "bob")
        assert visible_principals(page) == ["bob.payments"]
        search_person(page, "")
        screenshot(page, SCREENSHOT)
        assert SCREENSHOT.stat().st_size > 10_000
        assert console_errors(opened) == []


def test_report_refuses_an_inventory_without_accounts(workspace):
    ws = workspace
    run = ws.run(str(BIN / "ansible-playbook"), "-i", "localhost,", str(REPO / "playbooks" / "report.yml"))
    assert run.returncode != 0 and "the inventory holds no AWS accounts" in run.output

"""The saved plan, end to end: `--check` writes out/plan.json, `-e orgiam_plan=...` applies exactly it.

What is checked is what a user sees: the IAM roles and central grants read back through the IAM API,
the exit status, the report, and the emulator's own count of write calls.
"""

from __future__ import annotations

import json
import shutil

from tests.emulated import calls, clear_calls, write_calls
from tests.integration.test_sync import SANDBOX, WORKLOADS, granted_arns, role_names


def plan(ws, *extra: str) -> dict:
    run = ws.playbook("--check", *extra)
    assert run.returncode == 0, run.output
    document = json.loads((ws.out / "plan.json").read_text())
    keep = ws.root / f"plan-{document['id']}.json"  # out/ is rewritten by every run
    shutil.copy(ws.out / "plan.json", keep)
    document["_path"] = str(keep)
    return document


def central_stack_hash(ws) -> str:
    stack = ws.client("cloudformation", "Security").describe_stacks(StackName="orgiam-identity")["Stacks"][0]
    return {t["Key"]: t["Value"] for t in stack["Tags"]}["orgiam:template-hash"]


def test_a_saved_plan_is_a_documented_list_of_tasks(workspace):
    ws = workspace
    saved = plan(ws)
    assert (saved["format"], saved["version"]) == ("orgiam-plan", 1)
    assert saved["organization_id"].startswith("o-") and saved["region"] == "us-east-1" and saved["partition"] == "aws"
    assert len(saved["catalog"]["digest"]) == 64
    by_name = {t["account_name"]: t for t in saved["tasks"]}
    prod = by_name["Payments Prod"]
    assert (prod["kind"], prod["stack_name"], prod["action"], prod["observed"]) == ("member", "orgiam-roles", "create", {})
    assert prod["desired"]["template"]["Resources"] and len(prod["desired"]["hash"]) == 32
    assert by_name["Security"]["action"] == "none" and by_name["Security"]["desired"]["template"] is None
    assert by_name["Management"]["planned_status"] == "skipped"  # no role names the management account
    assert saved["central"]["kind"] == "central" and saved["central"]["action"] == "create"
    assert saved["summary"]["changes"] == len(WORKLOADS + SANDBOX) + 1
    # the plan wrote nothing
    assert role_names(ws, "Payments Prod") == []


def test_a_saved_plan_is_applied_as_it_is_and_then_is_stale(workspace):
    ws = workspace
    saved = plan(ws)
    clear_calls(ws.endpoint)
    run = ws.playbook("-e", f"orgiam_plan={saved['_path']}")
    assert run.returncode == 0, run.output
    assert "applying the saved plan" in run.output
    report = ws.report()
    assert report["plan_id"] == saved["id"] and report["ok"]
    for account in WORKLOADS:
        assert role_names(ws, account) == ["ReadOnly", "WorkloadDeployer"], account
    for account in SANDBOX:
        assert role_names(ws, account) == ["SandboxAdmin"], account
    assert granted_arns(ws, "orgiam-ReadOnly-Workloads") == sorted(
        f"arn:aws:iam::{ws.accounts[a]}:role/orgiam/ReadOnly" for a in WORKLOADS)
    # the templates deployed are the plan's, byte for byte: same hash on every stack
    for task in saved["tasks"]:
        if task["action"] == "create":
            stack = ws.client("cloudformation", task["account_name"]).describe_stacks(StackName="orgiam-roles")["Stacks"][0]
            tags = {t["Key"]: t["Value"] for t in stack["Tags"]}
            assert tags["orgiam:template-hash"] == task["desired"]["hash"]
            assert tags["orgiam:plan-id"] == saved["id"]
    assert central_stack_hash(ws) == saved["central"]["desired"]["hash"]
    # untouched accounts cost no call at all: the plan already says they are up to date
    called = {c["account_id"] for c in calls(ws.endpoint) if c["service"] == "cloudformation"}
    assert ws.accounts["Log-Archive"] not in called and ws.accounts["Deployments"] not in called

    # applied once, the plan is stale everywhere it changed something: a second apply does nothing
    clear_calls(ws.endpoint)
    again = ws.playbook("-e", f"orgiam_plan={saved['_path']}")
    assert again.returncode == 2, again.output
    assert write_calls(calls(ws.endpoint)) == []
    report = ws.report()
    assert {s["account_name"] for s in report["stale_accounts"]} == set(WORKLOADS + SANDBOX)
    # the central stack was last written by this same plan: derived again from how the members went, it
    # keeps every grant as it is
    assert report["central"]["status"] == "unchanged"


def test_a_stale_account_is_refused_and_every_other_account_is_applied(workspace):
    ws = workspace
    saved = plan(ws)
    # between plan and apply, someone syncs one account (its stack appears)
    first = ws.playbook("--limit", "payments_prod")
    assert first.returncode == 0, first.output
    run = ws.playbook("-e", f"orgiam_plan={saved['_path']}")
    assert run.returncode == 2, run.output
    report = ws.report()
    members = [s for s in report["stale_accounts"] if s["stack"] == "orgiam-roles"]
    assert [s["account_name"] for s in members] == ["Payments Prod"]
    assert "changed since the plan (no stack then, CREATE_COMPLETE" in members[0]["reason"]
    assert "STALE Payments Prod" in (ws.out / "summary.txt").read_text()
    for account in WORKLOADS:
        assert role_names(ws, account) == ["ReadOnly", "WorkloadDeployer"], account  # Payments Prod from the limited sync
    for account in SANDBOX:
        assert role_names(ws, account) == ["SandboxAdmin"], account
    # the central stack: the limited sync changed it since the plan, so it is stale too, and its grants
    # are what the limited sync left (Payments Prod only): access is never widened past what was approved
    assert "Security" in {s["account_name"] for s in report["stale_accounts"]}
    assert granted_arns(ws, "orgiam-ReadOnly-Workloads") == [f"arn:aws:iam::{ws.accounts['Payments Prod']}:role/orgiam/ReadOnly"]
    # a fresh plan and apply converges
    assert ws.playbook().returncode == 0
    assert granted_arns(ws, "orgiam-ReadOnly-Workloads") == sorted(
        f"arn:aws:iam::{ws.accounts[a]}:role/orgiam/ReadOnly" for a in WORKLOADS)


def test_a_plan_from_another_catalog_or_organization_is_refused_whole(workspace):
    ws = workspace
    saved = plan(ws)
    ws.write_role("extra.yml", "name: Auditor\nmanaged_policies: [SecurityAudit]\ntargets: {ou_paths: [Workloads/Prod]}\n")
    clear_calls(ws.endpoint)
    run = ws.playbook("-e", f"orgiam_plan={saved['_path']}")
    assert run.returncode != 0
    assert "refused as a whole" in run.output and "made from another catalog" in run.output
    assert write_calls(calls(ws.endpoint)) == []
    (ws.catalog / "roles" / "extra.yml").unlink()

    other = dict(saved, organization_id="o-someoneelse")
    other.pop("_path")
    path = ws.root / "other-org.json"
    path.write_text(json.dumps(other))
    run = ws.playbook("-e", f"orgiam_plan={path}")
    assert run.returncode != 0 and "made for organization o-someoneelse" in run.output
    assert write_calls(calls(ws.endpoint)) == []

    path.write_text('{"format": "something"}')
    run = ws.playbook("-e", f"orgiam_plan={path}")
    assert run.returncode != 0 and "not an orgiam plan" in run.output
    run = ws.playbook("-e", f"orgiam_plan={ws.root / 'missing.json'}")
    assert run.returncode != 0 and "no such plan file" in run.output
    run = ws.playbook("-e", f"orgiam_plan={saved['_path']}", "-e", "orgiam_plan_part=3/2")
    assert run.returncode != 0 and "K must be from 1 to N" in run.output
    assert write_calls(calls(ws.endpoint)) == []


def test_a_plan_applied_in_two_parts_equals_the_whole(workspace):
    ws = workspace
    saved = plan(ws)
    one = ws.playbook("-e", f"orgiam_plan={saved['_path']}", "-e", "orgiam_plan_part=1/2")
    assert one.returncode == 0, one.output
    done_first = {a for a in WORKLOADS + SANDBOX if role_names(ws, a)}
    assert 0 < len(done_first) < len(WORKLOADS + SANDBOX)  # a real split
    # part 1 already grants what part 1 created, and nothing else
    assert set(granted_arns(ws, "orgiam-ReadOnly-Workloads")) == {
        f"arn:aws:iam::{ws.accounts[a]}:role/orgiam/ReadOnly" for a in WORKLOADS if a in done_first}
    two = ws.playbook("-e", f"orgiam_plan={saved['_path']}", "-e", "orgiam_plan_part=2/2")
    assert two.returncode == 0, two.output
    for account in WORKLOADS:
        assert role_names(ws, account) == ["ReadOnly", "WorkloadDeployer"], account
    for account in SANDBOX:
        assert role_names(ws, account) == ["SandboxAdmin"], account
    # the whole plan's central stack, and nothing left to do
    assert central_stack_hash(ws) == saved["central"]["desired"]["hash"]
    check = ws.playbook("--check")
    assert check.returncode == 0 and "changes: 0" in check.output, check.output


def test_a_template_changed_in_the_saved_plan_is_not_deployed(workspace):
    """plan.json says which template to deploy; one edited after the plan (a wider trust policy, say)
    is not what this code renders from the catalog: that account is refused, the others are applied."""
    ws = workspace
    saved = plan(ws)
    tampered = json.loads(json.dumps(saved))
    tampered.pop("_path")
    prod = next(t for t in tampered["tasks"] if t["account_name"] == "Payments Prod")
    template = prod["desired"]["template"]
    role = next(r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role")
    role["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {"AWS": "*"}
    path = ws.root / "tampered.json"
    path.write_text(json.dumps(tampered))
    run = ws.playbook("-e", f"orgiam_plan={path}")
    assert run.returncode == 2, run.output
    assert "is not the one this orgiam renders from the catalog" in run.output
    assert role_names(ws, "Payments Prod") == []
    others = [a for a in WORKLOADS if a != "Payments Prod"]
    assert all(role_names(ws, a) == ["ReadOnly", "WorkloadDeployer"] for a in others), others
    failed = {f["account_name"]: f for f in ws.report()["failed_accounts"]}
    assert set(failed) == {"Payments Prod"}

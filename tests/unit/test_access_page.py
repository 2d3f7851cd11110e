"""The access report's renderer as pure functions: escaping, CSV injection, order, counts.

``example_access()`` (the demo organization) and ``large_access()`` (200 accounts, 50 principals)
build the report's data as the sync would; the browser test reuses them.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import re
from pathlib import Path
from typing import Any

from ansible_collections.orgiam.aws.plugins.module_utils.report.access_page import (
    CSV_COLUMNS,
    PAGE_SCRIPT,
    PAGE_STYLE,
    _csp_hash,
    build_view,
    csv_safe,
    json_for_script,
    ou_groups,
    ou_options,
    render_csv,
    render_html,
    sorted_accounts,
    summarize,
    write_access_report,
)

HOW_CENTRAL = "assume-role from Security"

DEMO_ACCOUNTS = [
    # (id, name, ou_path, status): the emulator's demo organization (emulator/demo_org.yml)
    ("123456789012", "Management", "", "ACTIVE"),
    ("210987654321", "Security", "Security", "ACTIVE"),
    ("310000000002", "Log-Archive", "Security", "ACTIVE"),
    ("410000000003", "Sandbox Alice", "Sandbox", "ACTIVE"),
    ("410000000004", "Sandbox-Bob", "Sandbox", "ACTIVE"),
    ("510000000005", "Payments Dev", "Workloads/SDLC", "ACTIVE"),
    ("510000000006", "Payments-Test", "Workloads/SDLC", "ACTIVE"),
    ("510000000007", "Data Platform Dev", "Workloads/SDLC", "ACTIVE"),
    ("610000000008", "Payments Prod", "Workloads/Prod", "ACTIVE"),
    ("610000000009", "Data Platform Prod", "Workloads/Prod", "ACTIVE"),
    ("710000000010", "Deployments", "Deployments", "ACTIVE"),
    ("810000000011", "Legacy App", "Suspended", "SUSPENDED"),
]


def _row(principal_type: str, principal: str, via: str, account: tuple[str, str, str, str], role: str,
         mfa_required: bool = True, how: str = HOW_CENTRAL) -> dict[str, Any]:
    """One access path, as the producer writes it."""
    account_id, account_name, ou_path, _status = account
    return {"principal_type": principal_type, "principal": principal, "via": via, "account_id": account_id,
            "account_name": account_name, "ou_path": ou_path, "role": role, "mfa_required": mfa_required, "how": how}


def example_access() -> dict[str, Any]:
    """The demo organization's access as a sync in mode iam_users would report it.

    Three groups, three users; ReadOnly in Workloads (recursive) and SandboxAdmin in Sandbox; one
    path without MFA (carol's direct ReadOnly in Log-Archive). Management, Security, Deployments
    and the suspended Legacy App are reached by nobody.
    """
    by_ou: dict[str, list[tuple[str, str, str, str]]] = {}
    for account in DEMO_ACCOUNTS:
        by_ou.setdefault(account[2], []).append(account)
    workloads = by_ou["Workloads/SDLC"] + by_ou["Workloads/Prod"]
    sandbox = by_ou["Sandbox"]
    payments_prod = next(a for a in workloads if a[1] == "Payments Prod")
    log_archive = next(a for a in by_ou["Security"] if a[1] == "Log-Archive")
    group_grants = {
        "platform-engineers": [(a, "ReadOnly") for a in workloads] + [(a, "SandboxAdmin") for a in sandbox],
        "payments-prod-readers": [(payments_prod, "ReadOnly")],
        "orgiam-ReadOnly-Workloads": [(a, "ReadOnly") for a in workloads],
    }
    memberships = {"alice.platform": ["platform-engineers"],
                   "bob.payments": ["payments-prod-readers", "orgiam-ReadOnly-Workloads"],
                   "carol.audit": []}
    rows = [_row("group", group, "", account, role) for group, grants in group_grants.items() for account, role in grants]
    rows += [_row("user", user, group, account, role)
             for user, groups in memberships.items() for group in groups for account, role in group_grants[group]]
    rows.append(_row("user", "carol.audit", "", log_archive, "ReadOnly", mfa_required=False,
                     how="assume-role from Security (legacy exception: no MFA condition)"))
    return {
        "generated_at": "2026-12-01T18:00:00Z",
        "organization_id": "o-demo1234ab",
        "mode": "iam_users",
        "source": "sync",
        "central_account": {"id": "210987654321", "name": "Security"},
        "accounts": [{"id": i, "name": n, "ou_path": o, "status": s} for i, n, o, s in DEMO_ACCOUNTS],
        "principals": (
            [{"type": "group", "name": g, "members": sorted(u for u, gs in memberships.items() if g in gs)}
             for g in group_grants]
            + [{"type": "user", "name": u, "groups": gs} for u, gs in memberships.items()]
        ),
        "rows": rows,
    }


def large_access(accounts: int = 200, principals: int = 50, seed: int = 7) -> dict[str, Any]:
    """A big organization: many OUs, half the principals groups, each reaching a slice of accounts."""
    rng = random.Random(seed)
    ous = [f"Workloads/Team{t:02d}/{env}" for t in range(1, 13) for env in ("Dev", "Prod")] + ["Sandbox", "Security", "Suspended"]
    account_list = [{"id": f"{100000000000 + n:012d}", "name": f"acct-{n:03d}", "ou_path": ous[n % len(ous)],
                     "status": "SUSPENDED" if n % len(ous) == len(ous) - 1 else "ACTIVE"} for n in range(accounts)]
    groups = [f"team-{n:02d}" for n in range(principals // 2)]
    users = [f"user.{n:02d}" for n in range(principals - len(groups))]
    member_of = {u: rng.sample(groups, 2) for u in users}
    rows: list[dict[str, Any]] = []
    for group in groups:
        for account in rng.sample(account_list, 25):
            entry = (account["id"], account["name"], account["ou_path"], account["status"])
            role = rng.choice(["ReadOnly", "SandboxAdmin", "Deployer"])
            rows.append(_row("group", group, "", entry, role, mfa_required=role != "Deployer"))
    for user, member_groups in member_of.items():
        for row in [r for r in rows if r["principal_type"] == "group" and r["principal"] in member_groups]:
            rows.append({**row, "principal_type": "user", "principal": user, "via": row["principal"]})
    return {
        "generated_at": "2026-12-01T18:00:00Z", "organization_id": "o-large00001", "mode": "identity_center",
        "source": "report", "central_account": {"id": account_list[0]["id"], "name": account_list[0]["name"]},
        "accounts": account_list,
        "principals": [{"type": "group", "name": g, "members": sorted(u for u, gs in member_of.items() if g in gs)} for g in groups]
        + [{"type": "user", "name": u, "groups": gs} for u, gs in member_of.items()],
        "rows": rows,
    }


def embedded_json(html: str) -> Any:
    """The page's data block, parsed as the browser's JSON.parse would."""
    match = re.search(r'<script type="application/json" id="access-data">(.*?)</script>', html, re.DOTALL)
    assert match, "no data block"
    return json.loads(match.group(1))


# --- escaping -------------------------------------------------------------------------------


def test_a_name_with_a_closing_script_tag_stays_inside_the_data_block():
    access = example_access()
    evil = '</script><script>alert("x")</script><!-- & <b>'
    access["principals"].append({"type": "user", "name": evil, "groups": []})
    access["rows"].append({**access["rows"][0], "principal_type": "user", "principal": evil, "via": ""})
    html = render_html(access)
    assert html.count("</script>") == 2  # the data block's and the script's own end tags
    assert "<script>alert" not in html and "<!--" not in html and "<b>" not in html
    assert evil in [p["name"] for p in embedded_json(html)["principals"]]


def test_json_for_script_leaves_no_markup_characters_and_round_trips():
    value = {"name": "a<b>&c</script>\u2028"}
    text = json_for_script(value)
    assert not set("<>&") & set(text) and "\u2028" not in text
    assert json.loads(text) == value


def test_the_page_has_no_url_and_its_policy_allows_only_its_own_script_and_style():
    html = render_html(example_access())
    assert "http://" not in html and "https://" not in html and "//" not in re.sub(r"<script>.*?</script>", "", html, flags=re.DOTALL)
    assert re.findall(r'(?:src|href)="([^"]*)"', html) == ["data:,"]
    assert f"script-src {_csp_hash(PAGE_SCRIPT)}" in html and f"style-src {_csp_hash(PAGE_STYLE)}" in html
    assert "default-src 'none'" in html
    assert "innerHTML" not in PAGE_SCRIPT and "insertAdjacentHTML" not in PAGE_SCRIPT


def test_the_static_markup_holds_no_data():
    html = render_html(example_access())
    outside = re.sub(r'<script type="application/json".*?</script>', "", html, flags=re.DOTALL)
    assert "alice.platform" not in outside and "Payments Prod" not in outside and "o-demo1234ab" not in outside


# --- CSV ------------------------------------------------------------------------------------


def parse_csv(text: str) -> list[dict[str, str]]:
    """The CSV as a spreadsheet import reads it."""
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_has_the_contract_columns_and_one_line_per_row():
    access = example_access()
    text = render_csv(access)
    assert text.splitlines()[0] == ",".join(CSV_COLUMNS)
    parsed = parse_csv(text)
    assert len(parsed) == len(access["rows"])
    no_mfa = [r for r in parsed if r["mfa_required"] == "false"]
    assert [(r["principal"], r["account_name"]) for r in no_mfa] == [("carol.audit", "Log-Archive")]
    assert {r["mfa_required"] for r in parsed} == {"true", "false"}


def test_csv_cells_that_would_start_a_formula_get_an_apostrophe():
    assert [csv_safe(v) for v in ("=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "plain", "a=b", "", False)] == [
        "'=1+1", "'+cmd", "'-2", "'@SUM(A1)", "'\tx", "plain", "a=b", "", "false"]
    access = example_access()
    access["rows"][0] = {**access["rows"][0], "account_name": '=HYPERLINK("x","y")', "how": "-ish"}
    parsed = parse_csv(render_csv(access))
    assert '\'=HYPERLINK("x","y")' in [r["account_name"] for r in parsed]
    assert "'-ish" in [r["how"] for r in parsed]


def test_csv_order_is_groups_then_users_and_does_not_depend_on_input_order():
    access = example_access()
    shuffled = {**access, "rows": random.Random(3).sample(access["rows"], len(access["rows"]))}
    assert render_csv(shuffled) == render_csv(access)
    parsed = parse_csv(render_csv(access))
    kinds = [r["principal_type"] for r in parsed]
    assert kinds == sorted(kinds, key=lambda k: k != "group")
    alice = [(r["ou_path"], r["account_name"]) for r in parsed if r["principal"] == "alice.platform"]
    assert alice == sorted(alice, key=lambda p: (p[0], p[1].casefold()))


# --- order and structure of the matrix ------------------------------------------------------


def test_columns_go_by_ou_path_then_account_name_and_keep_unreached_accounts():
    view = build_view(example_access())
    columns = [(a["ou_path"], a["name"]) for a in view["accounts"]]
    assert columns == sorted(columns, key=lambda c: (c[0], c[1].casefold()))
    assert len(columns) == len(DEMO_ACCOUNTS)
    unreached = {a["name"] for a in view["accounts"] if not a["reached"]}
    assert unreached == {"Management", "Security", "Deployments", "Legacy App"}


def test_ou_header_cells_span_their_accounts():
    groups = ou_groups(sorted_accounts(example_access()))
    assert [(g["label"], g["count"]) for g in groups] == [
        ("(root)", 1), ("Deployments", 1), ("Sandbox", 2), ("Security", 2), ("Suspended", 1),
        ("Workloads/Prod", 2), ("Workloads/SDLC", 3)]
    assert sum(g["count"] for g in groups) == len(DEMO_ACCOUNTS)


def test_ou_filter_offers_parent_ous_and_the_root():
    options = ou_options(sorted_accounts(example_access()))
    assert [o["value"] for o in options] == [
        "/", "Deployments", "Sandbox", "Security", "Suspended", "Workloads", "Workloads/Prod", "Workloads/SDLC"]
    assert options[0]["label"] == "(root)"


def test_principals_are_groups_then_users_with_what_each_user_gets_through_which_group():
    view = build_view(example_access())
    assert [(p["type"], p["name"]) for p in view["principals"]] == [
        ("group", "orgiam-ReadOnly-Workloads"), ("group", "payments-prod-readers"), ("group", "platform-engineers"),
        ("user", "alice.platform"), ("user", "bob.payments"), ("user", "carol.audit")]
    bob = next(p for p in view["principals"] if p["name"] == "bob.payments")
    assert bob["detail"] == "user · orgiam-ReadOnly-Workloads, payments-prod-readers"
    assert [g["via"] for g in bob["cells"]["610000000008"]] == ["orgiam-ReadOnly-Workloads", "payments-prod-readers"]


def test_a_row_for_an_account_missing_from_the_list_still_gets_a_column():
    access = example_access()
    access["rows"].append({**access["rows"][0], "account_id": "999999999999", "account_name": "Moved", "ou_path": "New"})
    ids = [a["id"] for a in build_view(access)["accounts"]]
    assert "999999999999" in ids and len(ids) == len(DEMO_ACCOUNTS) + 1


# --- summary --------------------------------------------------------------------------------


def test_summary_counts_people_groups_accounts_roles_and_paths_without_mfa():
    summary = summarize(example_access())
    assert (summary["people"], summary["groups"]) == (3, 3)
    assert (summary["accounts_reached"], summary["accounts_total"]) == (8, 12)
    assert summary["roles"] == ["ReadOnly", "SandboxAdmin"]
    assert (summary["paths"], summary["paths_without_mfa"]) == (27, 1)
    assert (summary["mode"], summary["source"], summary["generated_at"]) == ("iam_users", "sync", "2026-12-01T18:00:00Z")
    assert summary["central_account"] == {"id": "210987654321", "name": "Security"}


def test_an_organization_nobody_can_reach_still_renders():
    access = {**example_access(), "rows": [], "principals": []}
    view = build_view(access)
    assert view["summary"]["accounts_reached"] == 0 and len(view["accounts"]) == len(DEMO_ACCOUNTS)
    assert embedded_json(render_html(access)) == json.loads(json_for_script(view))


def test_large_organization_view():
    view = build_view(large_access())
    assert len(view["accounts"]) == 200 and len(view["principals"]) == 50


# --- files ----------------------------------------------------------------------------------


def test_write_access_report_writes_the_three_files_and_nothing_else(tmp_path):
    access = example_access()
    paths = write_access_report(access, str(tmp_path / "report"))
    assert sorted(paths) == ["csv", "html", "json"]
    assert sorted(os.listdir(tmp_path / "report")) == ["access.csv", "access.html", "access.json"]
    assert json.loads(Path(paths["json"]).read_text(encoding="utf-8")) == access
    assert Path(paths["html"]).read_text(encoding="utf-8") == render_html(access)
    assert Path(paths["csv"]).read_bytes().decode("utf-8") == render_csv(access)


def test_rendering_is_deterministic():
    assert render_html(example_access()) == render_html(example_access())

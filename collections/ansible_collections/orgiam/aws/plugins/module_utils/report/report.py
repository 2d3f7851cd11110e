# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Report: the outcome of a sync as JSON, a one-screen text summary, and Markdown.

Nothing secret goes in: account ids, names, role names, statuses, AWS error
codes and messages, counts.
"""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from datetime import datetime, timezone
from typing import Any

from ..model import Result, Status
from ..plan.access import GAINS, change_lines

FAILED, PLANNED = str(Status.FAILED), str(Status.PLANNED)

STATUS_ORDER = ("created", "updated", "repaired", "deleted", "planned", "unchanged", "retained", "skipped", "stale", "failed")


def build_report(outcome: Any, accounts_seen: int, writes: list[str]) -> dict[str, Any]:
    """The report of a sync (``usecases.sync.SyncOutcome``) as plain data: report.json."""
    members = outcome.members
    counts = Counter(r.status for r in members)
    per_account_calls = [r.api_calls for r in members if r.status != "skipped"]
    return {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "check" if outcome.check else "apply",
        "seconds": outcome.seconds,
        "accounts_seen": accounts_seen,
        "accounts_in_run": len({r.task.account_id for r in members}),  # the management account's two stacks: one account
        "member_stacks": {status: counts.get(status, 0) for status in STATUS_ORDER},
        "changes_planned": sum(1 for r in members + [outcome.central] if r.status == PLANNED and r.changed),
        "verify": getattr(outcome, "verify", "tags"),
        # what was changed by hand to what orgiam owns (live verification), apart from the catalog's changes
        "drift": [
            {"account_id": r.task.account_id, "account_name": r.task.account_name, "stack": r.task.name,
             "repaired": r.status == Status.REPAIRED or (r.status in (Status.UPDATED,) and bool(r.repairs)), **d}
            for r in members + [outcome.central] for d in r.drift
        ],
        "central": _strip(outcome.central),
        "failed_accounts": [
            {"account_id": r.task.account_id, "account_name": r.task.account_name, "stack": r.task.name,
             "error_code": r.error_code, "error": r.error}
            for r in members + [outcome.central]
            if r.status == FAILED
        ],
        "stale_accounts": [
            {"account_id": r.task.account_id, "account_name": r.task.account_name, "stack": r.task.name, "reason": r.reason}
            for r in members + [outcome.central]
            if r.status == Status.STALE
        ],
        "plan_id": getattr(outcome, "plan_id", ""),
        # live verification: other principals of the central account that may assume orgiam's roles
        "exposure": [
            {"account_id": r.task.account_id, "account_name": r.task.account_name, **e}
            for r in members + [outcome.central] for e in r.exposure
        ],
        "api_calls": {
            "total": outcome.total_api_calls,
            "max_per_account": max(per_account_calls, default=0),
            "mean_per_account": round(sum(per_account_calls) / len(per_account_calls), 2) if per_account_calls else 0,
            "write_operations": writes,
        },
        "accounts": [_strip(r) for r in members],
        # who gains or loses which role in which account (the central or Identity Center stack's plan)
        "access_changes": access_rows(members + [outcome.central]),
        "ok": not outcome.failed,
    }


def access_rows(results: list[Result]) -> list[dict[str, str]]:
    names = {r.task.account_id: r.task.account_name for r in results}
    return [dict(a, account_name=names.get(a["account_id"], "")) for r in results for a in r.access]


def access_summary(report: dict[str, Any], limit: int = 20) -> list[str]:
    """'access: 3 gain(s), 1 loss(es)' and a line per principal, change and role."""
    rows = report.get("access_changes") or []
    if not rows:
        return []
    gains = sum(1 for a in rows if a["change"] == GAINS)
    lines = [f"  access: {gains} gain(s), {len(rows) - gains} loss(es) of a role in an account"]
    named = change_lines(rows, {a["account_id"]: a["account_name"] for a in rows if a.get("account_name")})
    lines += [f"    {line[len('access: '):]}" for line in named[:limit]]
    if len(named) > limit:
        lines.append(f"    ... and {len(named) - limit} more in report.json (access_changes)")
    return lines


def _strip(result: Result) -> dict[str, Any]:
    data = result.to_dict()
    data.pop("diff", None)  # templates live in the plan diff, not in the report
    return data


def ou_table(report: dict[str, Any]) -> list[str]:
    """Accounts by OU: unchanged, changing (or changed), failed, other."""
    rows: dict[str, Counter] = defaultdict(Counter)
    for account in report["accounts"]:
        status = account["status"]
        column = "failed" if status == FAILED else "changing" if account["changed"] else "unchanged" if status == "unchanged" else "other"
        rows[account["ou_path"] or "(root)"][column] += 1
    width = max([len("OU")] + [len(ou) for ou in rows])
    lines = [f"  {'OU'.ljust(width)}  unchanged  changing  failed  other"]
    for ou in sorted(rows, key=str.lower):
        c = rows[ou]
        lines.append(f"  {ou.ljust(width)}  {c['unchanged']:>9}  {c['changing']:>8}  {c['failed']:>6}  {c['other']:>5}")
    return lines


def summary_text(report: dict[str, Any]) -> str:
    stacks = report["member_stacks"]
    central = report["central"]
    lines = [
        f"orgiam sync ({report['mode']}) in {report['seconds']} s",
        f"  accounts seen: {report['accounts_seen']}, in this run: {report['accounts_in_run']}",
        "  member stacks: " + ", ".join(f"{k} {v}" for k, v in stacks.items() if v or k in ("created", "updated", "unchanged", "failed")),
        f"  central stack ({central['account_name']}): {central['status']}"
        + (f" ({central['action']})" if central["status"] == PLANNED else "")
        # a central stack the identity mode does not need (identity_center): say so, and why it is kept
        + (f" ({central['reason']})" if central["status"] == "retained" or central["reason"].startswith("not needed") else "")
        + (f": {central['error']}" if central["error"] else ""),
        f"  API calls: {report['api_calls']['total']} (at most {report['api_calls']['max_per_account']} for one account)",
    ]
    if report["accounts"]:
        lines.extend(ou_table(report))
    lines.extend(access_summary(report))
    if report.get("plan_id"):
        lines.append(f"  applied the saved plan {report['plan_id']}")
    drift = report.get("drift", [])
    if report.get("verify") == "live":
        drifted = {(d["account_id"], d["stack"]) for d in drift}
        verb = "to put back" if report["mode"] == "check" else "put back"
        lines.append(f"  verified live: {len(drift)} change(s) made by hand in {len(drifted)} stack(s)" + (f", {verb}" if drift else ""))
        for entry in drift[:20]:
            lines.append(f"  DRIFT {entry['account_name']} ({entry['account_id']}), {entry['stack']}: {entry['line']}")
        if len(drift) > 20:
            lines.append(f"  ... and {len(drift) - 20} more in report.json")
        for entry in report.get("exposure", [])[:10]:
            lines.append(f"  OUTSIDE ORGIAM {entry['account_name']} ({entry['account_id']}): {entry['line']}")
    for failure in report["failed_accounts"]:
        lines.append(f"  FAILED {failure['account_name']} ({failure['account_id']}), {failure['stack']}: {failure['error']}")
    for stale in report.get("stale_accounts", []):
        lines.append(f"  STALE {stale['account_name']} ({stale['account_id']}), {stale['stack']}: {stale['reason']}")
    changed = sum(stacks[k] for k in ("created", "updated", "repaired", "deleted")) + (
        1 if central["status"] in ("created", "updated", "repaired") else 0)
    lines.append(f"  changes: {report['changes_planned'] if report['mode'] == 'check' else changed}")
    return "\n".join(lines) + "\n"


def summary_markdown(report: dict[str, Any]) -> str:
    rows = ["| account | id | OU | stack | status | action | roles | error |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["accounts"] + [report["central"]]:
        rows.append(
            f"| {r['account_name']} | {r['account_id']} | {r['ou_path'] or '(root)'} | {r['stack_name']} | {r['status']} | "
            f"{r['action']} | {', '.join(r['roles'])} | {r['error_code']} |"
        )
    text = "# orgiam sync report\n\n```\n" + summary_text(report) + "```\n\n" + "\n".join(rows) + "\n"
    if report.get("access_changes"):
        access = ["| who | change | role | account | through |", "| --- | --- | --- | --- | --- |"]
        for a in report["access_changes"]:
            access.append(f"| {a['principal_type']} {a['principal']} | {a['change']} | {a['role']} | "
                          f"{a.get('account_name') or ''} ({a['account_id']}) | {a.get('via') or ''} |")
        text += "\n## Who gains and loses access\n\n" + "\n".join(access) + "\n"
    if report.get("drift"):
        drift = ["| account | stack | resource | change | put back |", "| --- | --- | --- | --- | --- |"]
        for d in report["drift"]:
            line = d["line"].replace("|", "\\|")
            drift.append(f"| {d['account_name']} ({d['account_id']}) | {d['stack']} | {d['type']} {d['name']} | `{line}` | "
                         f"{'yes' if d['repaired'] else 'no'} |")
        text += "\n## Changes made by hand to what orgiam owns\n\n" + "\n".join(drift) + "\n"
    return text


def junit_xml(report: dict[str, Any]) -> str:
    """One test case per account stack (and the central stack), for CodeBuild report groups."""
    results = report["accounts"] + [report["central"]]
    # a stack changed by hand is a failing test case in a plan (someone must look), a passing one once put back
    drifted = [r for r in results if r.get("drift") and r["status"] not in (FAILED, "stale")]
    failures = sum(1 for r in results if r["status"] in (FAILED, "stale")) + (len(drifted) if report["mode"] == "check" else 0)
    skipped = sum(1 for r in results if r["status"] == "skipped")
    suite = ET.Element(
        "testsuite",
        name=f"orgiam sync ({report['mode']})",
        tests=str(len(results) + len(drifted)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=str(report["seconds"]),
        timestamp=report["generated_at"],
    )
    for r in results:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"orgiam.{(r['ou_path'] or 'root').replace('/', '.')}",
            name=f"{r['account_name']} ({r['account_id']}) {r['stack_name']}",
            time=str(r["seconds"]),
        )
        if r["status"] == FAILED:
            failure = ET.SubElement(case, "failure", message=r["error"][:500], type=r["error_code"] or "Error")
            failure.text = r["error"]
        elif r["status"] == "stale":
            failure = ET.SubElement(case, "failure", message=r["reason"][:500], type="StalePlan")
            failure.text = r["reason"]
        elif r["status"] == "skipped":
            ET.SubElement(case, "skipped", message=r["reason"])
        else:
            ET.SubElement(case, "system-out").text = f"{r['status']}: {r['action']} ({r['reason']})"
    for r in drifted:
        case = ET.SubElement(suite, "testcase", classname="orgiam.drift",
                             name=f"drift: {r['account_name']} ({r['account_id']}) {r['stack_name']}", time="0")
        text = "\n".join(d["line"] for d in r["drift"])
        if report["mode"] == "check":
            failure = ET.SubElement(case, "failure", message=f"{len(r['drift'])} change(s) made by hand", type="Drift")
            failure.text = text
        else:
            ET.SubElement(case, "system-out").text = f"put back:\n{text}\n" + "\n".join(r.get("repairs", []))
    root = ET.Element("testsuites", tests=suite.get("tests", "0"), failures=str(failures))
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def retry_hosts(report: dict[str, Any]) -> list[str]:
    """Inventory names of the accounts that failed, for `--limit @out/retry-hosts.txt`."""
    return sorted({r["hostname"] or r["account_id"] for r in report["accounts"] if r["status"] == FAILED})


def write_report(report: dict[str, Any], directory: str, plan_document: dict[str, Any] | None = None) -> dict[str, str]:
    """report.json, summary.txt, summary.md, junit.xml, retry-hosts.txt; plan.json when given a plan (check mode)."""
    os.makedirs(directory, exist_ok=True)
    paths = {
        "json": os.path.join(directory, "report.json"),
        "summary": os.path.join(directory, "summary.txt"),
        "markdown": os.path.join(directory, "summary.md"),
        "junit": os.path.join(directory, "junit.xml"),
        "retry": os.path.join(directory, "retry-hosts.txt"),
    }
    with open(paths["junit"], "w", encoding="utf-8") as handle:
        handle.write(junit_xml(report))
    with open(paths["retry"], "w", encoding="utf-8") as handle:
        handle.write("".join(f"{host}\n" for host in retry_hosts(report)))
    with open(paths["json"], "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
    with open(paths["summary"], "w", encoding="utf-8") as handle:
        handle.write(summary_text(report))
    with open(paths["markdown"], "w", encoding="utf-8") as handle:
        handle.write(summary_markdown(report))
    if plan_document is not None:
        paths["plan"] = os.path.join(directory, "plan.json")
        with open(paths["plan"], "w", encoding="utf-8") as handle:
            json.dump(plan_document, handle, indent=2, sort_keys=True)
    return paths


def plan_text(outcome: Any) -> str:
    """The org-wide plan: every changing stack with its resource and statement changes."""
    lines = []
    for r in outcome.members + [outcome.central]:
        if not (r.changed or r.status in (FAILED, Status.STALE) or r.action == "retain"):
            continue
        task = r.task
        where = f"{task.account_name} ({task.account_id}, {task.ou_path or 'root'}) {task.name}"
        if r.status == Status.STALE:
            lines.append(f"! {where}: stale: {r.reason}")
            continue
        if r.status == FAILED:
            lines.append(f"! {where}: cannot plan: {r.error}")
            continue
        lines.append(f"* {where}: {r.action} ({r.reason})")
        lines += [f"    {line}" for line in r.plan]
        for change in r.change_set:
            replacement = f", replacement: {change['replacement']}" if change.get("replacement") else ""
            lines.append(f"    cloudformation: {change['action']} {change['logical_id']} ({change['type']}{replacement})")
    return "\n".join(lines) + ("\n" if lines else "")

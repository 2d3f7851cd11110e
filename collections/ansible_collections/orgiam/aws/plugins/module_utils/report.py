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
from collections import Counter
from datetime import datetime, timezone
from typing import Any

from .engine import FAILED, PLANNED, StackResult, SyncOutcome

STATUS_ORDER = ("created", "updated", "deleted", "planned", "unchanged", "retained", "skipped", "failed")


def build_report(outcome: SyncOutcome, accounts_seen: int, writes: list[str]) -> dict[str, Any]:
    members = outcome.members
    counts = Counter(r.status for r in members)
    per_account_calls = [r.api_calls for r in members if r.status != "skipped"]
    return {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "mode": "check" if outcome.check else "apply",
        "seconds": outcome.seconds,
        "accounts_seen": accounts_seen,
        "accounts_in_run": len(members),
        "member_stacks": {status: counts.get(status, 0) for status in STATUS_ORDER},
        "changes_planned": sum(1 for r in members + [outcome.central] if r.status == PLANNED and r.changed),
        "central": _strip(outcome.central),
        "failed_accounts": [
            {"account_id": r.account_id, "account_name": r.account_name, "stack": r.stack_name, "error_code": r.error_code, "error": r.error}
            for r in members + [outcome.central]
            if r.status == FAILED
        ],
        "api_calls": {
            "total": outcome.total_api_calls,
            "max_per_account": max(per_account_calls, default=0),
            "mean_per_account": round(sum(per_account_calls) / len(per_account_calls), 2) if per_account_calls else 0,
            "write_operations": writes,
        },
        "accounts": [_strip(r) for r in members],
        "ok": not outcome.failed,
    }


def _strip(result: StackResult) -> dict[str, Any]:
    data = result.to_dict()
    data.pop("diff", None)  # templates live in the plan diff, not in the report
    return data


def summary_text(report: dict[str, Any]) -> str:
    stacks = report["member_stacks"]
    central = report["central"]
    lines = [
        f"orgiam sync ({report['mode']}) in {report['seconds']} s",
        f"  accounts seen: {report['accounts_seen']}, in this run: {report['accounts_in_run']}",
        "  member stacks: " + ", ".join(f"{k} {v}" for k, v in stacks.items() if v or k in ("created", "updated", "unchanged", "failed")),
        f"  central stack ({central['account_name']}): {central['status']}"
        + (f" ({central['action']})" if central["status"] == PLANNED else "")
        + (f": {central['error']}" if central["error"] else ""),
        f"  API calls: {report['api_calls']['total']} (at most {report['api_calls']['max_per_account']} for one account)",
    ]
    for failure in report["failed_accounts"]:
        lines.append(f"  FAILED {failure['account_name']} ({failure['account_id']}), {failure['stack']}: {failure['error']}")
    changed = sum(stacks[k] for k in ("created", "updated", "deleted")) + (1 if central["status"] in ("created", "updated") else 0)
    lines.append(f"  changes: {report['changes_planned'] if report['mode'] == 'check' else changed}")
    return "\n".join(lines) + "\n"


def summary_markdown(report: dict[str, Any]) -> str:
    rows = ["| account | id | OU | stack | status | action | roles | error |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in report["accounts"] + [report["central"]]:
        rows.append(
            f"| {r['account_name']} | {r['account_id']} | {r['ou_path'] or '(root)'} | {r['stack_name']} | {r['status']} | "
            f"{r['action']} | {', '.join(r['roles'])} | {r['error_code']} |"
        )
    return "# orgiam sync report\n\n```\n" + summary_text(report) + "```\n\n" + "\n".join(rows) + "\n"


def write_report(report: dict[str, Any], directory: str, plan_diffs: list[dict[str, Any]] | None = None) -> dict[str, str]:
    os.makedirs(directory, exist_ok=True)
    paths = {
        "json": os.path.join(directory, "report.json"),
        "summary": os.path.join(directory, "summary.txt"),
        "markdown": os.path.join(directory, "summary.md"),
    }
    with open(paths["json"], "w", encoding="utf-8") as handle:
        json.dump(report, handle, indent=2, sort_keys=True)
    with open(paths["summary"], "w", encoding="utf-8") as handle:
        handle.write(summary_text(report))
    with open(paths["markdown"], "w", encoding="utf-8") as handle:
        handle.write(summary_markdown(report))
    if report["mode"] == "check":
        paths["plan"] = os.path.join(directory, "plan.json")
        with open(paths["plan"], "w", encoding="utf-8") as handle:
            json.dump({"report": report, "diffs": plan_diffs or []}, handle, indent=2, sort_keys=True)
    return paths

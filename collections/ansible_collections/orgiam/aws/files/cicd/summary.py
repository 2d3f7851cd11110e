"""One line about a sync, for the pipeline: the approval message and the exported build variables.

    python cicd/summary.py out/report.json [--mode plan|apply] [--url URL]
    python cicd/summary.py out/report.json --exit-status

With --exit-status it prints nothing and exits 0 when the run was clean, 3 when it found changes made
by hand (live verification: planned, or put back), 2 when a stack failed or was stale (that wins), and
1 when there is no report: a pipeline can tell "drift found" from "failed" (ansible-playbook itself
exits 2 on a failure, and 0 when drift was only found or put back).

prints ``export NAME=value`` lines (shell-quoted) for the pipeline's buildspec (cicd/pipeline.yml) to source:

    ORGIAM_PLAN_SUMMARY  at most 380 characters, e.g. "5 of 11 accounts change (create 3, update 2);
                         central stack Security: update; 0 failed. Full plan: plan.json in the Plan artifact."
    ORGIAM_CHANGES       stacks that change (plan) or changed (apply), the central stack included
    ORGIAM_FAILED        stacks that failed
    ORGIAM_DRIFT         changes made by hand found by live verification (0 on the fast path)
    ORGIAM_PLAN_URL      the build's URL (--url), where the whole plan is in the log
    ORGIAM_APPROVAL      needed, or not-needed for a plan that writes nothing (the approval stage is then
                         skipped when the pipeline's ApprovalRequired is when-changes)

CodePipeline's manual approval takes at most 500 characters of CustomData; the pipeline puts the commit
id in front of the summary. A report that is missing (the sync stopped before writing it) gives a
summary that says so. Only the Python standard library: this runs before and without the collection.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections import Counter
from typing import Any

MAX_SUMMARY = 380
CHANGED_STATUSES = ("created", "updated", "deleted")


def summarize(report: dict[str, Any] | None, mode: str) -> tuple[str, int, int]:
    """(summary, changes, failed) of a report.json (None: no report)."""
    if report is None:
        return f"the {mode} did not finish: no report was written, see the build log", 0, 0
    members = report.get("accounts", [])
    central = report.get("central") or {}
    failed = len(report.get("failed_accounts", []))
    total = len(members)
    if report.get("mode") == "check":
        changing = [m for m in members if m.get("status") == "planned" and m.get("changed")]
        actions = Counter(m.get("action", "?") for m in changing)
        central_changes = central.get("status") == "planned" and bool(central.get("changed"))
        changes = len(changing) + central_changes
        parts = [f"{len(changing)} of {total} accounts change"
                 + (f" ({', '.join(f'{a} {n}' for a, n in sorted(actions.items()))})" if actions else "")]
        parts.append(f"central stack {central.get('account_name', '?')}: "
                     + (str(central.get("action")) if central_changes else "no change"))
        parts.append(f"{failed} failed")
        text = "; ".join(parts) + ". Full plan: plan.json and summary.md in the Plan artifact."
    else:
        counts = Counter(m.get("status", "?") for m in members)
        changes = sum(counts[s] for s in CHANGED_STATUSES) + (central.get("status") in ("created", "updated"))
        parts = [", ".join(f"{s} {counts[s]}" for s in ("created", "updated", "deleted", "unchanged", "stale", "failed")
                           if counts[s] or s in ("unchanged", "failed"))
                 + f" of {total} accounts"]
        parts.append(f"central stack {central.get('account_name', '?')}: {central.get('status', '?')}")
        text = "; ".join(parts) + "."
    if failed:
        names = ", ".join(f["account_name"] for f in report.get("failed_accounts", [])[:5])
        text += f" Failed: {names}" + (f" and {failed - 5} more" if failed > 5 else "") + "."
    stale = report.get("stale_accounts", [])
    if stale:
        names = ", ".join(s["account_name"] for s in stale[:5])
        text += (f" Changed since the approved plan, not applied: {names}"
                 + (f" and {len(stale) - 5} more" if len(stale) > 5 else "") + "; plan again.")
    drift = report.get("drift", [])
    if drift:
        stacks = {(d["account_id"], d["stack"]) for d in drift}
        accounts = sorted({d["account_name"] for d in drift})
        verb = "to put back" if report.get("mode") == "check" else "put back"
        text += (f" Changed by hand, {verb}: {len(drift)} in {len(stacks)} stack(s) of "
                 + ", ".join(accounts[:5]) + (f" and {len(accounts) - 5} more" if len(accounts) > 5 else "") + ".")
    if len(text) > MAX_SUMMARY:
        text = text[: MAX_SUMMARY - 3].rstrip() + "..."
    return text, int(changes), failed


def exit_status(report: dict[str, Any] | None) -> int:
    """0 clean, 3 changes made by hand found (planned or put back), 2 a stack failed or was stale, 1 no report."""
    if report is None:
        return 1
    if report.get("failed_accounts") or report.get("stale_accounts"):
        return 2
    return 3 if report.get("drift") else 0


def approval(report: dict[str, Any] | None, changes: int, drift: int) -> str:
    """``needed`` unless this is a plan that would write nothing at all (no stack changes, nothing changed
    by hand to put back): the pipeline's approval stage is skipped on ``not-needed`` (ApprovalRequired
    when-changes). A missing report is never ``not-needed``."""
    if report is None or report.get("mode") != "check":
        return "needed"
    return "needed" if changes or drift or report.get("failed_accounts") else "not-needed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("report", help="out/report.json")
    parser.add_argument("--mode", default="plan", choices=["plan", "apply"])
    parser.add_argument("--url", default="", help="the build URL")
    parser.add_argument("--exit-status", action="store_true", help="exit 0 clean, 3 drift found, 2 failed, 1 no report")
    args = parser.parse_args(argv)
    try:
        with open(args.report, encoding="utf-8") as handle:
            report: dict[str, Any] | None = json.load(handle)
    except (OSError, ValueError):
        report = None
    if args.exit_status:
        return exit_status(report)
    summary, changes, failed = summarize(report, args.mode)
    drift = len((report or {}).get("drift", []))
    for name, value in (("ORGIAM_PLAN_SUMMARY", summary), ("ORGIAM_CHANGES", str(changes)),
                        ("ORGIAM_FAILED", str(failed)), ("ORGIAM_DRIFT", str(drift)), ("ORGIAM_PLAN_URL", args.url),
                        ("ORGIAM_APPROVAL", approval(report, changes, drift))):
        print(f"export {name}={shlex.quote(value)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""cicd/summary.py: the line the approval message carries, from a real report's shape."""

from __future__ import annotations

import functools
import importlib.util
import json
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from tests.cicd.conftest import CICD


@functools.lru_cache(maxsize=1)
def summary_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("orgiam_cicd_summary", CICD / "summary.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def account(name: str, status: str, action: str = "none", changed: bool = False, ou: str = "Workloads") -> dict[str, Any]:
    return {"account_name": name, "account_id": "111122223333", "status": status, "action": action,
            "changed": changed, "ou_path": ou}


def report(mode: str, accounts: list[dict[str, Any]], central: dict[str, Any],
           failed: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"mode": mode, "accounts": accounts, "central": central, "failed_accounts": failed or []}


def test_a_plan_counts_the_accounts_that_change_by_action():
    text, changes, failed = summary_module().summarize(report("check", [
        account("A", "planned", "create", True), account("B", "planned", "create", True),
        account("C", "planned", "update", True), account("D", "unchanged"),
    ], account("Security", "planned", "update", True)), "plan")
    assert text.startswith("3 of 4 accounts change (create 2, update 1); central stack Security: update; 0 failed.")
    assert (changes, failed) == (4, 0)


def test_a_plan_without_changes_says_so():
    text, changes, _ = summary_module().summarize(
        report("check", [account("A", "unchanged")], account("Security", "unchanged")), "plan")
    assert text.startswith("0 of 1 accounts change; central stack Security: no change; 0 failed.")
    assert changes == 0


def test_an_apply_with_failures_names_them_and_stays_short():
    failures = [{"account_name": f"Account {i:02d} with a rather long name", "account_id": "1", "stack": "orgiam-roles",
                 "error_code": "AccessDenied", "error": "x"} for i in range(30)]
    text, changes, failed = summary_module().summarize(report(
        "apply", [account("A", "created", changed=True)] + [account(f["account_name"], "failed") for f in failures],
        account("Security", "updated"), failures), "apply")
    assert text.startswith("created 1, unchanged 0, failed 30 of 31 accounts; central stack Security: updated.")
    assert "Failed: Account 00" in text and len(text) <= summary_module().MAX_SUMMARY
    short, _, _ = summary_module().summarize(report("apply", [], account("Security", "updated"), failures[:7]), "apply")
    assert short.endswith("Account 04 with a rather long name and 2 more.")
    assert (changes, failed) == (2, 30)


def test_a_missing_report_is_reported_and_the_output_is_shell_safe(tmp_path: Path):
    proc = subprocess.run([sys.executable, str(CICD / "summary.py"), str(tmp_path / "missing.json"), "--mode", "apply",
                           "--url", "https://console/build?a=1&b='2'"], capture_output=True, text=True, check=True)
    values = {}
    for line in proc.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        values[name] = shlex.split(value)[0] if value else ""
    assert values["ORGIAM_PLAN_SUMMARY"].startswith("the apply did not finish")
    assert values["ORGIAM_PLAN_URL"] == "https://console/build?a=1&b='2'"
    assert (values["ORGIAM_CHANGES"], values["ORGIAM_FAILED"]) == ("0", "0")
    report_file = tmp_path / "report.json"
    report_file.write_text(json.dumps(report("check", [account("A; rm -rf /", "planned", "create", True)],
                                             account("Security", "unchanged"))))
    proc = subprocess.run(["bash", "-c", f'. <({sys.executable} {CICD / "summary.py"} {report_file}) && echo "$ORGIAM_PLAN_SUMMARY"'],
                          capture_output=True, text=True, check=True)
    assert proc.stdout.startswith("1 of 1 accounts change (create 1)")

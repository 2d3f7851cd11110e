# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action for orgiam.aws.sync: a thin shell over module_utils.

It reads the accounts from the inventory's hostvars (the play's hosts are the
accounts this run touches, so ``--limit`` and groups work as usual), loads and
resolves the catalog, runs the engine with live progress, writes the report.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.orgiam.aws.plugins.module_utils.aws import AwsAccessError, AwsClients, AwsSettings, CallLog
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import CatalogError, load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.engine import FAILED, SyncOptions, run_sync
from ansible_collections.orgiam.aws.plugins.module_utils.notify import publish
from ansible_collections.orgiam.aws.plugins.module_utils.report import build_report, plan_text, summary_text, write_report
from ansible_collections.orgiam.aws.plugins.module_utils.resolve import account_from_hostvars, resolve

display = Display()

ARGS = {
    "catalog": "roles_catalog",
    "report_dir": "out",
    "concurrency": None,
    "timeout": None,
    "member_role_name": None,
    "region": None,
    "endpoint_url": None,
    "aws_profile": None,
    "assume_role_arn": None,
    "progress_interval": 2.0,
    "notify_topic_arn": None,
}


class Progress:
    """One line per finished account for small runs, else one every few seconds."""

    def __init__(self, total: int, interval: float) -> None:
        self.total, self.interval = total, interval
        self.done = self.failed = 0
        self.last = 0.0
        self.lock = threading.Lock()

    def __call__(self, result: Any) -> None:
        with self.lock:
            if result.kind == "member":
                self.done += 1
            self.failed += result.status == FAILED
            now = time.monotonic()
            if self.total <= 25 or now - self.last >= self.interval or self.done == self.total or result.kind == "central":
                self.last = now
                what = f"{result.account_name}: {result.status}" + (f" ({result.error})" if result.error else "")
                label = "central" if result.kind == "central" else f"{self.done}/{self.total} accounts"
                display.display(f"orgiam [{label}, {self.failed} failed] {what}")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGS)
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = {key: self._task.args.get(key, default) for key, default in ARGS.items()}
        check = bool(self._task.check_mode)
        want_diff = bool(self._task.diff)

        hostvars = task_vars["hostvars"]
        all_hosts = list(task_vars.get("groups", {}).get("all", []))
        play_hosts = list(task_vars.get("ansible_play_hosts_all") or all_hosts)
        accounts = []
        for host in all_hosts:
            host_vars = hostvars[host]  # read key by key: turning it into a dict templates every variable
            if "account_id" in host_vars:
                accounts.append(account_from_hostvars(host, host_vars))
        if not accounts:
            raise AnsibleActionFail("the inventory holds no AWS accounts: use the orgiam.aws.organization inventory plugin (see inventories/demo)")
        ou_paths = list(task_vars.get("orgiam_ou_paths") or [])

        try:
            catalog = load_catalog(os.path.expanduser(str(args["catalog"])))
            resolution = resolve(catalog, accounts, ou_paths)
        except CatalogError as exc:
            return dict(result, failed=True, msg=str(exc), problems=[str(p) for p in exc.problems])

        settings = catalog.settings
        by_host = {a.hostname: a.id for a in accounts}
        run_ids = [by_host[h] for h in play_hosts if h in by_host]
        options = SyncOptions(
            check=check,
            diff=want_diff,
            concurrency=int(args["concurrency"] or settings.concurrency),
            timeout=float(args["timeout"] or settings.stack_timeout_seconds),
        )
        call_log = CallLog()
        try:
            clients = AwsClients(
                AwsSettings(
                    region=args["region"] or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
                    profile=args["aws_profile"],
                    endpoint_url=args["endpoint_url"],
                    assume_role_arn=args["assume_role_arn"],
                    member_role_name=args["member_role_name"] or settings.member_role_name,
                    management_account_id=next((a.id for a in accounts if a.is_management), ""),
                ),
                call_log,
                max_pool=options.concurrency + 2,
            )
            clients.caller_account_id()  # one call that proves credentials and endpoint before the fan-out
        except AwsAccessError as exc:
            return dict(result, failed=True, msg=f"orgiam cannot start: {exc}")

        display.display(
            f"orgiam: {'planning' if check else 'syncing'} {len(run_ids)} of {len(accounts)} accounts "
            f"(central account {resolution.central.name}, concurrency {options.concurrency})"
        )
        outcome = run_sync(clients, catalog, resolution, run_ids, options, Progress(len(run_ids), float(args["progress_interval"])))
        report = build_report(outcome, len(accounts), call_log.writes())
        diffs = [r.diff for r in outcome.members + [outcome.central] if r.diff and r.changed]
        paths = write_report(report, os.path.expanduser(str(args["report_dir"])), diffs)
        summary = summary_text(report)
        if check:
            plan = plan_text(outcome)
            display.display("orgiam plan:\n" + (plan.rstrip() or "  nothing to change"))
        display.display(summary.rstrip())
        topic = args["notify_topic_arn"] or settings.notify_topic_arn
        if topic:
            try:
                publish(clients.client("sns", region=topic.split(":")[3]), topic, report, os.environ.get("ORGIAM_RUN_URL", ""))
                display.display(f"orgiam: notified {topic}")
            except AwsAccessError as exc:
                display.warning(f"orgiam: the sync finished but the notification failed: {exc}")

        result.update(
            changed=any(r.changed for r in outcome.members + [outcome.central]),
            report=report,
            report_files=paths,
            summary=summary.splitlines(),
        )
        if want_diff and diffs:
            result["diff"] = diffs
        if outcome.failed:
            result["failed"] = True
            result["msg"] = f"{len(outcome.failed)} stack(s) failed; every other account was synced. See {paths['json']}"
        return result

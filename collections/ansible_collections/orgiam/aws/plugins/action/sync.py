# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action for orgiam.aws.sync: a thin shell over module_utils/usecases/sync.py.

It reads the accounts from the inventory's hostvars (the play's hosts are the accounts this run
touches, so ``--limit`` and groups work as usual), loads and resolves the catalog, loads a saved plan
when one is given, runs the sync with live progress, and writes the report (and, in check mode, the
plan).
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

from ansible.utils.display import Display

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import SYNC_SPEC
from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError
from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import AwsClients, CallLog
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import CatalogError
from ansible_collections.orgiam.aws.plugins.module_utils.model import Kind, Status
from ansible_collections.orgiam.aws.plugins.module_utils.plan.saved import PlanError, build_plan, load_plan, parse_part
from ansible_collections.orgiam.aws.plugins.module_utils.report.notify import publish
from ansible_collections.orgiam.aws.plugins.module_utils.render.limits import template_problems
from ansible_collections.orgiam.aws.plugins.module_utils.report.report import build_report, plan_text, summary_text, write_report
from ansible_collections.orgiam.aws.plugins.module_utils.report.access_page import write_access_report
from ansible_collections.orgiam.aws.plugins.module_utils.usecases.access import access_after_sync
from ansible_collections.orgiam.aws.plugins.module_utils.usecases.sync import SyncOptions, run_sync
from ansible_collections.orgiam.aws.plugins.plugin_utils.action import OrgiamAction
from ansible_collections.orgiam.aws.plugins.plugin_utils.inventory import OrganizationInputError, organization_from_task_vars

display = Display()


class Progress:
    """One line per finished account for small runs, else one every few seconds."""

    def __init__(self, total: int, interval: float) -> None:
        self.total, self.interval = total, interval
        self.done = self.failed = 0
        self.last = 0.0
        self.lock = threading.Lock()

    def __call__(self, result: Any) -> None:
        with self.lock:
            central = result.task.kind == Kind.CENTRAL
            if result.task.kind == Kind.MEMBER:  # the organization-wide stacks are not the run's accounts
                self.done += 1
            self.failed += result.status in (Status.FAILED, Status.STALE)
            now = time.monotonic()
            if self.total <= 25 or now - self.last >= self.interval or self.done == self.total or central:
                self.last = now
                what = f"{result.task.account_name}: {result.status}" + (f" ({result.error or result.reason})"
                                                                         if result.status in (Status.FAILED, Status.STALE) else "")
                label = ("central" if central else f"{self.done}/{self.total} accounts" if result.task.kind == Kind.MEMBER
                         else str(result.task.kind))
                display.display(f"orgiam [{label}, {self.failed} failed] {what}")
            if result.traceback:
                display.vvv(f"orgiam: {result.task.account_name}: {result.traceback}")


class ActionModule(OrgiamAction):
    SPEC = SYNC_SPEC
    NAME = "orgiam.aws.sync"

    def run_orgiam(self, result: dict[str, Any], args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        check = bool(self._task.check_mode)
        want_diff = bool(self._task.diff)

        all_hosts = list(task_vars.get("groups", {}).get("all", []))
        play_hosts = list(task_vars.get("ansible_play_hosts_all") or all_hosts)
        catalog_path = os.path.expanduser(str(args["catalog"]))
        try:
            organization = organization_from_task_vars(task_vars, catalog_path, writes=not check)
        except OrganizationInputError as exc:  # no accounts, a cached inventory for a write, the catalog's problems
            return dict(result, failed=True, msg=str(exc))
        if organization.cached_at:
            display.warning(f"orgiam: planning from the inventory cache (the organization as discovered at "
                            f"{organization.cached_at}); the apply will read the organization again")
        accounts, organization_id = organization.accounts, organization.organization_id
        catalog, resolution, placement = organization.catalog, organization.resolution, organization.placement

        settings = catalog.settings
        by_host = {a.hostname: a.id for a in accounts}
        run_ids = [by_host[h] for h in play_hosts if h in by_host]
        options = SyncOptions(
            check=check,
            diff=want_diff,
            concurrency=int(args["concurrency"] or settings.concurrency),
            timeout=float(args["timeout"] or settings.stack_timeout_seconds),
            lock_wait=float(args["lock_wait"]),
            verify=str(args["verify"] or settings.verify or "tags"),
            preview=str(args["preview"]),
        )
        problems = template_problems(catalog, resolution)
        if problems:  # a template CloudFormation would refuse, found before any AWS call
            return dict(result, failed=True, msg=str(CatalogError(problems)))
        home = settings.home_region
        if home and args["region"] and args["region"] != home:
            return dict(result, failed=True, msg=(
                f"orgiam: region {args['region']} (the task's region option) is not orgiam's home region {home} "
                f"({settings.source}: home_region): every orgiam stack lives in the home region"))
        environment = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        if home and environment and environment != home:
            display.display(f"orgiam: working in the home region {home} ({settings.source}); the environment's "
                            f"{environment} is not used")
        call_log = CallLog()
        try:
            clients = AwsClients(
                self.aws_settings(
                    args,
                    region=home or None,
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

        saved = None
        part = (1, 1)
        if args["plan"]:
            try:
                part = parse_part(args["plan_part"])
                saved = load_plan(os.path.expanduser(str(args["plan"])))
                saved.check(catalog_digest=catalog.digest, organization_id=organization_id, region=clients.region,
                            partition=clients.partition, stack_prefix=settings.stack_prefix)
            except PlanError as exc:
                return dict(result, failed=True, msg=f"orgiam: the saved plan is refused: {exc}")
            options.verify = saved.verify
        elif args["plan_part"]:
            return dict(result, failed=True, msg="orgiam: plan_part (orgiam_plan_part) needs a saved plan (orgiam_plan)")

        doing = "planning" if check else "applying the saved plan" if saved else "syncing"
        part_text = f", part {part[0]} of {part[1]}" if part[1] > 1 else ""
        display.display(
            f"orgiam: {doing} {len(run_ids)} of {len(accounts)} accounts{part_text} "
            f"(central account {resolution.central.name}, region {clients.region}, concurrency {options.concurrency}, "
            f"verify {options.verify})"
        )
        try:
            outcome = run_sync(clients, catalog, resolution, run_ids, options,
                               Progress(len(run_ids), float(args["progress_interval"])), saved=saved, part=part,
                               notice=display.display, policies=placement,
                               org_units={**dict(task_vars.get("orgiam_ou_ids") or {}), "": str(task_vars.get("orgiam_root_id") or "")})
        except AwsAccessError as exc:  # refused as a whole before any write (another region's stacks, ...)
            return dict(result, failed=True, msg=f"orgiam: {exc}")
        except CatalogError as exc:  # found only by looking (Identity Center groups): before any write too
            return dict(result, failed=True, msg=str(exc))
        if outcome.central.traceback:
            display.vvv(f"orgiam: central: {outcome.central.traceback}")
        report = build_report(outcome, len(accounts), call_log.writes())
        diffs = [r.diff for r in outcome.results if r.diff and r.changed]
        plan_document = None
        if check and saved is None:
            plan_document = build_plan(
                outcome.members, outcome.central, catalog_path=catalog_path, catalog_digest=catalog.digest,
                organization_id=organization_id, region=clients.region, partition=clients.partition,
                stack_prefix=settings.stack_prefix, member_role_name=clients.settings.member_role_name,
                verify=options.verify, report=report, diffs=diffs)
        paths = write_report(report, os.path.expanduser(str(args["report_dir"])), plan_document)
        try:  # who can get into which account as what, after this run: access.html, access.csv, access.json
            access = access_after_sync(clients, catalog, resolution, outcome, organization_id)
            written = write_access_report(access, os.path.expanduser(str(args["report_dir"])))
            paths.update({f"access_{kind}": path for kind, path in written.items()})
        except (AwsAccessError, CatalogError) as exc:
            display.warning(f"orgiam: the sync finished, and the access report could not be read: {exc}")
        summary = summary_text(report)
        if check:
            plan = plan_text(outcome)
            display.display("orgiam plan:\n" + (plan.rstrip() or "  nothing to change"))
            if plan_document is not None:
                display.display(f"orgiam: plan {plan_document['id']} saved to {paths['plan']}; apply exactly it with "
                                f"-e orgiam_plan={paths['plan']}")
        display.display(summary.rstrip())
        topic = args["notify_topic_arn"] or settings.notify_topic_arn
        if topic:
            try:
                publish(clients.client("sns", region=topic.split(":")[3]), topic, report, os.environ.get("ORGIAM_RUN_URL", ""))
                display.display(f"orgiam: notified {topic}")
            except AwsAccessError as exc:
                display.warning(f"orgiam: the sync finished but the notification failed: {exc}")

        result.update(
            changed=any(r.changed for r in outcome.results),
            report=report,
            report_files=paths,
            summary=summary.splitlines(),
        )
        if plan_document is not None:
            result["plan_id"] = plan_document["id"]
        if want_diff and diffs:
            result["diff"] = diffs
        if outcome.failed or outcome.stale:
            result["failed"] = True
            locked = next((r.error for r in outcome.failed if r.error_code == "LockHeld"), "")
            parts = [f"nothing was changed where the lock was needed: {locked}"] if locked else []
            if outcome.failed:
                parts.append(f"{len(outcome.failed)} stack(s) failed")
            if outcome.stale:
                parts.append(f"{len(outcome.stale)} stack(s) changed since the plan and were not applied")
            result["msg"] = "; ".join(parts) + f"; every other account was synced. See {paths['json']}"
        return result

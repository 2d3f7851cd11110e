# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action for orgiam.aws.bootstrap: a thin shell over module_utils/usecases/bootstrap.py.

It loads the catalog and the templates (the collection's own unless ``templates`` names a directory),
runs the bootstrap with progress lines (``verify: live`` also reads back the roles it deployed), shows the
plan, writes ``bootstrap.json`` into the report directory, and turns bad input into one clear failure.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.utils.display import Display

from ansible_collections.orgiam.aws.plugins.module_utils.argspecs import BOOTSTRAP_SPEC
from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError
from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import AwsClients, CallLog, region_from_environment
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import CatalogError, load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.pipeline import BootstrapInputError
from ansible_collections.orgiam.aws.plugins.module_utils.model import Result
from ansible_collections.orgiam.aws.plugins.module_utils.render.bootstrap import templates_dir
from ansible_collections.orgiam.aws.plugins.module_utils.usecases.bootstrap import (
    Options,
    load_inputs,
    plan_lines,
    run_bootstrap,
    summary_line,
)
from ansible_collections.orgiam.aws.plugins.plugin_utils.action import OrgiamAction

display = Display()


def _progress(result: Result, phase: str) -> None:
    """Progress while applying (the plan itself is shown once, at the end); planning shows only failures."""
    task = result.task
    what = f"{task.kind} {task.name}" if task.name else task.title
    if phase == "planned":
        if not result.error:
            return
        state = f"cannot be planned: {result.error}"
    elif phase == "done":
        state = str(result.status) + (f" ({result.error})" if result.error else "")
    else:
        state = phase
    display.display(f"orgiam bootstrap [{task.account_name} {task.region}] {what}: {state}")
    if result.traceback:
        display.vvv(result.traceback)


class ActionModule(OrgiamAction):
    SPEC = BOOTSTRAP_SPEC
    NAME = "orgiam.aws.bootstrap"

    def run_orgiam(self, result: dict[str, Any], args: dict[str, Any], task_vars: dict[str, Any]) -> dict[str, Any]:
        check = bool(self._task.check_mode)
        parts = tuple(str(p).strip() for p in args["parts"] if str(p).strip())
        templates = os.path.expanduser(str(args["templates"])) if args["templates"] else templates_dir()

        try:
            catalog = load_catalog(os.path.expanduser(str(args["catalog"])))
            inputs = load_inputs(catalog, templates, parts)
        except CatalogError as exc:
            return dict(result, failed=True, msg=str(exc))
        except BootstrapInputError as exc:
            return dict(result, failed=True, msg=str(exc), problems=exc.problems)

        # the pipeline's region when settings.yml names one, else orgiam's home region, else the environment's
        region = inputs.pipeline.region or catalog.settings.home_region or region_from_environment(args["region"])
        options = Options(
            check=check,
            diff=bool(self._task.diff),
            timeout=float(args["timeout"] or catalog.settings.stack_timeout_seconds),
            stackset_timeout=float(args["stackset_timeout"]),
            prune=catalog.settings.prune,
            verify=str(args["verify"] or catalog.settings.verify or "tags"),
        )
        try:
            clients = AwsClients(
                self.aws_settings(args, region=region, member_role_name=str(args["access_role_name"]),
                                  session_name="orgiam-bootstrap"),
                CallLog(),
            )
            display.display(f"orgiam bootstrap: {'planning' if check else 'bootstrapping'} in {region} "
                            f"(parts: {', '.join(inputs.parts)}; verify {options.verify})")
            outcome = run_bootstrap(clients, inputs, region, options, _progress)
        except BootstrapInputError as exc:
            return dict(result, failed=True, msg=str(exc), problems=exc.problems)
        except AwsAccessError as exc:
            return dict(result, failed=True, msg=f"orgiam bootstrap cannot start: {exc}")

        lines = plan_lines(outcome)
        display.display(("orgiam bootstrap plan:\n  " if check else "orgiam bootstrap result:\n  ") + "\n  ".join(lines))
        summary = summary_line(outcome)
        display.display(summary)
        data = outcome.to_dict()
        report_dir = os.path.expanduser(str(args["report_dir"]))
        report_file = os.path.join(report_dir, "bootstrap.json")
        try:
            os.makedirs(report_dir, exist_ok=True)
            with open(report_file, "w", encoding="utf-8") as handle:
                json.dump(data, handle, indent=2, sort_keys=True)
        except OSError as exc:
            display.warning(f"orgiam bootstrap: could not write {report_file}: {exc}")

        result.update(changed=outcome.changed, bootstrap=data, plan=lines, summary=summary, report_file=report_file)
        diffs = [r.diff for r in outcome.results if r.diff]
        if options.diff and diffs:
            result["diff"] = diffs
        if outcome.failed:
            result["failed"] = True
            result["msg"] = "orgiam bootstrap failed: " + "; ".join(
                f"{r.task.title or r.task.name} ({r.task.account_name}): {r.error}" for r in outcome.failed)
        return result

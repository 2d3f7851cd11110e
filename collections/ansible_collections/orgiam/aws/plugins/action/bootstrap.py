# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side action for orgiam.aws.bootstrap: a thin shell over module_utils/bootstrap.py.

It loads the catalog and the templates, runs the bootstrap with progress lines, shows the plan,
writes ``bootstrap.json`` into the report directory, and turns bad input into one clear failure.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display

from ansible_collections.orgiam.aws.plugins.module_utils.aws import DEFAULT_MEMBER_ROLE, AwsAccessError, AwsClients, AwsSettings, CallLog
from ansible_collections.orgiam.aws.plugins.module_utils.bootstrap import (
    PARTS,
    BootstrapInputError,
    Options,
    Step,
    load_inputs,
    plan_lines,
    run_bootstrap,
    summary_line,
)
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import CatalogError, load_catalog

display = Display()

ARGS: dict[str, Any] = {
    "catalog": "roles_catalog",
    "templates": "cicd",
    "parts": list(PARTS),
    "report_dir": "out",
    "region": None,
    "endpoint_url": None,
    "aws_profile": None,
    "access_role_name": DEFAULT_MEMBER_ROLE,
    "timeout": None,
    "stackset_timeout": 3600,
}


def _progress(step: Step, phase: str) -> None:
    """Progress while applying (the plan itself is shown once, at the end); planning shows only failures."""
    what = f"{step.kind} {step.name}" if step.name else step.title
    if phase == "planned":
        if not step.error:
            return
        state = f"cannot be planned: {step.error}"
    elif phase == "done":
        state = step.status + (f" ({step.error})" if step.error else "")
    else:
        state = phase
    display.display(f"orgiam bootstrap [{step.account_name} {step.region}] {what}: {state}")


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(ARGS)
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        args = {key: self._task.args.get(key, default) for key, default in ARGS.items()}
        check = bool(self._task.check_mode)
        parts = args["parts"]
        parts = tuple(p.strip() for p in (parts.split(",") if isinstance(parts, str) else parts) if str(p).strip())

        try:
            catalog = load_catalog(os.path.expanduser(str(args["catalog"])))
            inputs = load_inputs(catalog, os.path.expanduser(str(args["templates"])), parts)
        except CatalogError as exc:
            return dict(result, failed=True, msg=str(exc), problems=[str(p) for p in exc.problems])
        except BootstrapInputError as exc:
            return dict(result, failed=True, msg=str(exc), problems=exc.problems)

        region = (inputs.pipeline.region or args["region"] or os.environ.get("AWS_REGION")
                  or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
        options = Options(
            check=check,
            diff=bool(self._task.diff),
            timeout=float(args["timeout"] or catalog.settings.stack_timeout_seconds),
            stackset_timeout=float(args["stackset_timeout"]),
            prune=catalog.settings.prune,
        )
        try:
            clients = AwsClients(
                AwsSettings(region=region, profile=args["aws_profile"], endpoint_url=args["endpoint_url"],
                            member_role_name=str(args["access_role_name"]), session_name="orgiam-bootstrap"),
                CallLog(),
            )
            display.display(f"orgiam bootstrap: {'planning' if check else 'bootstrapping'} in {region} "
                            f"(parts: {', '.join(inputs.parts)})")
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
        diffs = [s.diff for s in outcome.steps if s.diff]
        if options.diff and diffs:
            result["diff"] = diffs
        if outcome.failed:
            result["failed"] = True
            result["msg"] = "orgiam bootstrap failed: " + "; ".join(
                f"{s.title} ({s.account_name}): {s.error}" for s in outcome.failed)
        return result

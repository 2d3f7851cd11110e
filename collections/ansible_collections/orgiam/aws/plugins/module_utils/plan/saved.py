# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The saved plan: what ``--check`` writes to ``out/plan.json``, and what ``-e orgiam_plan=...`` applies.

A plan is a versioned list of tasks, one per stack: where (account, region, stack), what kind, the
state it was planned from (status, template hash and stack id, or no stack), the action, and the
template it will deploy. Applying it deploys exactly those templates: a task whose stack changed since
the plan is refused as stale (the others go on), and a plan made from another catalog, for another
organization, region or partition is refused as a whole. docs/operations.md documents the format.

Pure: reads and writes a JSON file, no AWS call.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..model import CHANGING, Action, Desired, Kind, PlannedTask, Result, Status, Task
from ..render.common import desired_template

FORMAT = "orgiam-plan"
VERSION = 1


class PlanError(Exception):
    """A saved plan that cannot be applied at all; nothing was written."""


def parse_part(text: str | None) -> tuple[int, int]:
    """'2/4' -> (2, 4): the second of four parts. Empty: the whole plan."""
    if text in (None, "", "1/1"):
        return (1, 1)
    try:
        k, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise PlanError(f"orgiam_plan_part '{text}' is not K/N (for example 2/4: the second of four parts)") from None
    if not 1 <= k <= n:
        raise PlanError(f"orgiam_plan_part '{text}': K must be from 1 to N (for example 2/4)")
    return (k, n)


def _task_record(result: Result) -> dict[str, Any]:
    task = result.task
    changing = result.status == Status.PLANNED and result.changes_planned
    return {
        **task.to_dict(),
        "grants": dict(task.grants),
        "granted": dict(result.granted),
        "planned_status": str(result.status),
        "action": str(result.action),
        "reason": result.reason,
        "error": result.error,
        "observed": dict(result.observed),
        "retained": list(result.retained),
        "details": list(result.details),
        "deploy_to": list(result.deploy_to),
        "drift": [dict(d) for d in result.drift],
        "desired": {
            "hash": task.desired.hash,
            # the template itself only where the plan changes something: that is what will be deployed
            "template": task.desired.document if changing else None,
        },
    }


def build_plan(
    members: list[Result],
    central: Result,
    *,
    catalog_path: str,
    catalog_digest: str,
    organization_id: str,
    region: str,
    partition: str,
    stack_prefix: str,
    member_role_name: str,
    verify: str = "tags",
    report: dict[str, Any] | None = None,
    diffs: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The plan document of a check run."""
    tasks = [_task_record(r) for r in members]
    by_action: dict[str, int] = {}
    for record in tasks + [_task_record(central)]:
        if record["planned_status"] == str(Status.PLANNED):
            by_action[record["action"]] = by_action.get(record["action"], 0) + 1
    return {
        "format": FORMAT,
        "version": VERSION,
        "id": uuid.uuid4().hex,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "organization_id": organization_id,
        "region": region,
        "partition": partition,
        "catalog": {"path": catalog_path, "digest": catalog_digest},
        "stack_prefix": stack_prefix,
        "member_role_name": member_role_name,
        "verify": verify,
        "summary": {"tasks": len(tasks) + 1, "changes": sum(by_action.values()), "by_action": by_action,
                    "failed": sum(1 for r in members + [central] if r.status == Status.FAILED),
                    # changes made by hand, found by live verification, counted apart from the catalog's
                    "drift": sum(len(r.drift) for r in members + [central]),
                    "stacks_with_drift": sum(1 for r in members + [central] if r.drift),
                    # who gains or loses which role in which account, as people read it (report: access_changes)
                    "access_gains": sum(1 for r in members + [central] for a in r.access if a["change"] == "gains"),
                    "access_losses": sum(1 for r in members + [central] for a in r.access if a["change"] == "loses")},
        "access_changes": (report or {}).get("access_changes", []),
        "tasks": tasks,
        "central": _task_record(central),
        "report": report or {},
        "diffs": diffs or [],
    }




REQUIRED_TASK_FIELDS = ("key", "kind", "account_id", "account_name", "region", "stack_name", "action", "observed", "desired")


@dataclass
class SavedPlan:
    path: str
    id: str
    organization_id: str
    region: str
    partition: str
    catalog_digest: str
    stack_prefix: str
    tasks: list[dict[str, Any]]
    central: dict[str, Any] | None
    created_at: str = ""
    verify: str = "tags"  # how the plan saw each stack: an apply observes the same way, to compare like with like
    _by_key: dict[str, dict[str, Any]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_key = {t["key"]: t for t in self.tasks}

    @property
    def central_observed(self) -> dict[str, str] | None:
        return dict(self.central["observed"]) if self.central else None

    @property
    def central_hash(self) -> str | None:
        return self.central["desired"].get("hash") if self.central else None

    def granted(self, key: str) -> dict[str, str]:
        return dict(self._by_key[key].get("granted") or {})

    def check(self, *, catalog_digest: str, organization_id: str, region: str, partition: str, stack_prefix: str) -> None:
        """Refuse the whole plan when it was made for something else. Raises PlanError naming what differs."""
        problems = []
        if catalog_digest != self.catalog_digest:
            problems.append("it was made from another catalog (the files of roles_catalog/ changed since): "
                            "plan again from this catalog, or check out the commit the plan was made from")
        if organization_id and self.organization_id and organization_id != self.organization_id:
            problems.append(f"it was made for organization {self.organization_id}, and the inventory is of {organization_id}")
        if region != self.region:
            problems.append(f"it was made for region {self.region}, and this run works in {region}")
        if partition != self.partition:
            problems.append(f"it was made for partition {self.partition}, and this run is in {partition}")
        if stack_prefix != self.stack_prefix:
            problems.append(f"it was made for stack_prefix {self.stack_prefix}, and settings.yml says {stack_prefix}")
        if problems:
            raise PlanError(f"{self.path}: the plan {self.id} (made {self.created_at}) is refused as a whole: " + "; ".join(problems))

    def member_work(
        self, run_account_ids: set[str], part: tuple[int, int] = (1, 1)
    ) -> tuple[list[Task], list[Result], dict[str, PlannedTask]]:
        """The member tasks this run applies (those of ``part``), the others as skipped results, and what the
        plan says of each task it applies."""
        k, n = part
        changing = sorted(t["key"] for t in self.tasks if t["action"] in {str(a) for a in CHANGING}
                          and t.get("planned_status") == str(Status.PLANNED))
        part_of = {key: index % n + 1 for index, key in enumerate(changing)}
        tasks: list[Task] = []
        skipped: list[Result] = []
        planned: dict[str, PlannedTask] = {}
        for record in self.tasks:
            task = _task_from(record, self.partition)
            status = record.get("planned_status", "")
            if status == str(Status.SKIPPED):
                skipped.append(Result(task, status=Status.SKIPPED, reason=record.get("reason", "")))
            elif record["account_id"] not in run_account_ids:
                skipped.append(Result(task, status=Status.SKIPPED, action=Action(record["action"]),
                                      reason="in the plan, but not among this run's hosts (--limit); not applied"))
            elif status == str(Status.FAILED):
                skipped.append(Result(task, status=Status.SKIPPED, action=Action(record["action"]),
                                      reason=f"could not be planned ({record.get('error', '')}); not applied"))
            elif record["key"] in part_of and part_of[record["key"]] != k:
                skipped.append(Result(task, status=Status.SKIPPED, action=Action(record["action"]),
                                      reason=f"in part {part_of[record['key']]} of {n} of the plan; not applied in part {k}"))
            else:
                tasks.append(task)
                planned[task.key] = PlannedTask(
                    observed=dict(record.get("observed") or {}),
                    action=Action(record["action"]),
                    reason=str(record.get("reason", "")),
                    desired=task.desired,
                    details=tuple(record.get("details") or ()),
                    retained=tuple(record.get("retained") or ()),
                    deploy_to=tuple(record.get("deploy_to") or ()),
                )
        return tasks, skipped, planned


def _task_from(record: dict[str, Any], partition: str) -> Task:
    desired = record.get("desired") or {}
    template = desired.get("template")
    wanted = desired_template(template) if template is not None else Desired(None, desired.get("hash"))
    return Task(
        key=record["key"], kind=Kind(record["kind"]), account_id=record["account_id"], account_name=record["account_name"],
        region=record["region"], name=record["stack_name"], desired=wanted, title=record.get("title", ""), hostname=record.get("hostname", ""),
        ou_path=record.get("ou_path", ""), stack_kind=record.get("stack_kind", ""), roles=tuple(record.get("roles") or ()),
        grants=dict(record.get("grants") or {}), partition=partition,
    )


def load_plan(path: str) -> SavedPlan:
    """Read and check a plan file. Raises PlanError naming the file and what is wrong with it."""
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except FileNotFoundError:
        raise PlanError(f"{path}: no such plan file; make one with ansible-playbook playbooks/sync.yml --check "
                        "(it writes out/plan.json)") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise PlanError(f"{path}: not a readable plan file ({exc})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise PlanError(f"{path}: not an orgiam plan (field 'format' must be '{FORMAT}'); plans come from --check")
    if data.get("version") != VERSION:
        raise PlanError(f"{path}: plan format version {data.get('version')!r}; this orgiam applies version {VERSION}: "
                        "make the plan again with this version")
    for key in ("id", "organization_id", "region", "partition", "catalog", "tasks", "stack_prefix"):
        if key not in data:
            raise PlanError(f"{path}: field '{key}' is missing; the file is not a whole plan")
    tasks = data["tasks"]
    if not isinstance(tasks, list):
        raise PlanError(f"{path}: field 'tasks' must be a list")
    for index, task in enumerate(tasks + ([data["central"]] if data.get("central") else [])):
        missing = [f for f in REQUIRED_TASK_FIELDS if not isinstance(task, dict) or f not in task]
        if missing:
            raise PlanError(f"{path}: task {index} lacks field(s) {', '.join(missing)}")
        try:
            Action(task["action"])
            Kind(task["kind"])
        except ValueError as exc:
            raise PlanError(f"{path}: task {index} ({task.get('key')}): {exc}") from None
    return SavedPlan(
        path=path, id=str(data["id"]), organization_id=str(data["organization_id"]), region=str(data["region"]),
        partition=str(data["partition"]), catalog_digest=str((data["catalog"] or {}).get("digest", "")),
        stack_prefix=str(data["stack_prefix"]), tasks=tasks, central=data.get("central"),
        created_at=str(data.get("created_at", "")), verify=str(data.get("verify") or "tags"),
    )

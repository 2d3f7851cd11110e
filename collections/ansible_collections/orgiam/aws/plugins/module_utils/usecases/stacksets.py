# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The StackSets engine's part of a sync (``engine: stacksets``), and the switches between the engines.

``usecases/sync.py`` dispatches here; every stack set is a task of the same engine (``apply/role_stacksets.py``).

With ``engine: stacksets`` each catalog role is one service-managed stack set; the management account, which
StackSets never deploys to, keeps its direct member stack. The run:

1. plans every role's stack set (reads only: DescribeStackSet, ListStackInstances);
2. looks for direct member stacks (``<prefix>-roles``) only in the accounts that are to get an instance in
   this run: a no-op reads no account. An account that has one is being switched from the direct engine;
3. applies each stack set: its template, auto-deployment, OU targets (leaving out the switching accounts) and
   instances for the others;
4. switches the accounts that still have a direct stack, a batch at a time (``concurrency`` accounts): their
   direct stacks are deleted, then each role's instances for the batch are created at once (one StackSets
   operation per role). The role's IAM name is the same in both, so the stack must go before the instance
   can be made (IAM refuses a second role of the same name): an account is without its roles from its
   stack's deletion until its batch's instances are CURRENT. An account whose stack cannot be deleted keeps it
   and its grants, and is switched by a later run.

With ``engine: stacks`` and orgiam's role stack sets still there (the central stack says so, so that a run that
never used StackSets pays nothing for the check), the reverse: auto-deployment is switched off on each, then a
batch at a time the accounts' instances are deleted and their direct stacks made; a stack set left without
instances is deleted.
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import Any, Callable

from ..apply.engine import Engine
from ..apply.executor import run_all
from ..apply.role_stacksets import RoleSetState, RoleStackSetOperator
from ..aws import cloudformation as cfn_ops
from ..aws import stacksets as set_ops
from ..aws.errors import AwsAccessError, explain_aws_error
from ..catalog import Catalog, normalize_ou_path
from ..model import Account, Action, Kind, PlannedTask, Result, Status, Task
from ..plan.stacksets import (InstanceChanges, account_targets, batches, deployable, operation_preferences, parent_ou,
                              role_targets, role_template, stackset_name)
from ..render.common import desired_template, role_arn
from ..resolve import Resolution

ROLE_STACKSET_KIND = "role-stackset"
ENGINE_OUTPUT = "OrgiamEngine"  # on the central stack: "stacksets" while role stack sets exist


def stackset_home(catalog: Catalog, accounts: list[Account]) -> tuple[Account | None, str]:
    """Where the role stack sets are managed from, and CallAs: the delegated administrator for StackSets of
    settings.yml (``pipeline.delegated_admin``, as the bootstrap registers it), else the management account."""
    delegated = str((catalog.settings.pipeline or {}).get("delegated_admin") or "")
    for account in accounts:
        if delegated and delegated.lower() in (account.id, account.name.lower()):
            return account, set_ops.DELEGATED_ADMIN
    return next((a for a in accounts if a.is_management), None), ""


def role_stackset_tasks(catalog: Catalog, resolution: Resolution, scope: set[str], region: str, partition: str,
                        ou_ids: dict[str, str], root_id: str) -> list[Task]:
    """One task per catalog role (pure): its stack set's template and targets. ``scope``: the accounts this run may
    change (those of the run that are ACTIVE)."""
    home, call_as = stackset_home(catalog, list(resolution.accounts.values()))
    if home is None:
        return []
    accounts = list(resolution.accounts.values())
    parents = {a.id: parent_ou(a, ou_ids, root_id) for a in accounts}
    names = {a.id: a.name for a in accounts}
    preferences = operation_preferences(catalog.settings.stacksets or {})
    tasks = []
    for role in catalog.roles:
        holders = [resolution.accounts[a] for a, roles in resolution.roles_by_account.items()
                   if any(r.name == role.name for r in roles)]
        resolved = next((r for a in holders for r in resolution.roles_by_account[a.id] if r.name == role.name), role)
        targets = role_targets(role, holders, accounts, ou_ids, root_id)
        name = stackset_name(catalog.settings.stack_prefix, role.name)
        task = Task(f"{home.id}/{region}/{name}", Kind.ROLE_STACKSET, home.id, home.name, region, name,
                    hostname=home.hostname, ou_path=home.ou_path, title=role.name, stack_kind=ROLE_STACKSET_KIND,
                    roles=(role.name,), partition=partition, call_as=call_as, targets=targets.ou_ids)
        if targets.accounts or (targets.auto and targets.ou_ids):
            desired = desired_template(role_template(resolved, resolution.central.id, partition, catalog.identity.mode))
            task.desired = dataclasses.replace(desired, extra={
                "targets": targets, "scope": sorted(scope), "parents": parents, "regions": [region],
                "preferences": preferences, "names": names, "defer": set(),
                "ou_paths": {ou_id: normalize_ou_path(path) for path, ou_id in ou_ids.items()}})
            task.grants = {a: role_arn(a, resolved, partition) for a in targets.accounts}
        else:
            task.reason_if_absent = "no member account gets this role"
            task.desired = dataclasses.replace(task.desired, extra={"parents": parents, "names": names, "scope": sorted(scope)})
        tasks.append(task)
    return tasks


@dataclass
class StackSetsOutcome:
    results: list[Result]  # one per role's stack set
    switched: list[Result] = field(default_factory=list)  # direct member stacks deleted by a switch (Kind.MEMBER)
    # account -> role name -> ARN people may assume after the run; None: the account keeps what the central stack gives
    grants: dict[str, dict[str, str] | None] = field(default_factory=dict)
    kept_roles: set[str] = field(default_factory=set)  # roles whose instances could not be observed: their grants stay


def _switch_result(account: Account, stack: str, region: str, partition: str) -> Result:
    task = Task(f"{account.id}/{region}/{stack}", Kind.MEMBER, account.id, account.name, region, stack,
                hostname=account.hostname, ou_path=account.ou_path, stack_kind=str(Kind.MEMBER), partition=partition)
    return Result(task, action=Action.DELETE,
                  reason="engine: stacksets: the direct stack goes, and the roles come back at once as stack set instances")


def sync_stacksets(engine: Engine, tasks: list[Task], resolution: Resolution, member_stack: str, concurrency: int,
                   check: bool, on_done: Callable[[Result], None] | None = None,
                   planned_tasks: dict[str, PlannedTask] | None = None) -> StackSetsOutcome:
    """Plan (or, from a saved plan, check) and apply every role's stack set, switching accounts that still have a
    direct stack (module docstring)."""
    ctx = engine.ctx
    op = engine.operator(tasks[0]) if tasks else RoleStackSetOperator()
    assert isinstance(op, RoleStackSetOperator)
    saved = planned_tasks or {}

    def plan(task: Task) -> Result:
        return engine.verify(task, saved[task.key]) if task.key in saved else engine.plan(task)

    def failed(item: Any, exc: BaseException) -> Result:
        result = item if isinstance(item, Result) else Result(item)
        error = explain_aws_error(exc)
        return result.fail(str(error), error.code)

    planned = sorted(run_all(tasks, plan, failed, concurrency), key=lambda r: r.task.name)
    # 2. direct stacks, only where an instance is to be created
    wanted = sorted({a for r in planned if r.status == Status.PLANNED for a in InstanceChanges.decoded(r.deploy_to).create})
    region = tasks[0].region if tasks else ctx.clients.region
    legacy = sorted(a for a, found in run_all(wanted, lambda a: (a, _direct_stack(ctx, a, region, member_stack)),
                                               lambda a, exc: (a, True), concurrency) if found)
    for result in planned:
        if result.task.desired.exists:
            result.task.desired.extra["defer"] = set(legacy)
            moving = [a for a in legacy if a in InstanceChanges.decoded(result.deploy_to).create]
            if moving:
                result.details.append(f"{len(moving)} account(s) switch from their direct stack: it is deleted first, "
                                      f"then the instance made, {concurrency} accounts at a time")
    partition = tasks[0].partition if tasks else "aws"
    switched = [_switch_result(resolution.accounts[a], member_stack, region, partition) for a in legacy]
    if check:
        for result in switched:
            result.status = Status.PLANNED
        results = planned
    else:
        results = sorted(run_all(planned, engine.apply, failed, concurrency), key=lambda r: r.task.name)
        if legacy:
            _switch(engine, op, results, switched, concurrency, region)
    for result in results + switched:
        if on_done is not None:
            on_done(result)
    outcome = StackSetsOutcome(results, switched)
    _grants(outcome, resolution, check, {r.task.account_id for r in switched if r.status == Status.FAILED})
    return outcome


def _direct_stack(ctx: Any, account_id: str, region: str, name: str) -> bool:
    state = cfn_ops.describe_stack(ctx.clients.member_client("cloudformation", account_id, region), name)
    return state is not None and state.managed_by_orgiam


def _switch(engine: Engine, op: RoleStackSetOperator, results: list[Result], switched: list[Result], concurrency: int,
            region: str) -> None:
    """Batch by batch: delete the direct stacks, then create the batch's instances of every role at once."""
    ctx = engine.ctx
    by_account = {r.task.account_id: r for r in switched}
    live = [r for r in results if r.task.desired.exists and r.status != Status.FAILED and isinstance(r.state, RoleSetState)]
    for batch in batches(sorted(by_account), concurrency):
        def delete(account_id: str) -> str:
            result = by_account[account_id]
            if ctx.before_write is not None:
                ctx.before_write()
            cfn = ctx.clients.member_client("cloudformation", account_id, region)
            cfn_ops.delete_stack(cfn, result.task.name, ctx.timeout, ctx.clock)
            result.status = Status.DELETED
            return account_id

        def failed(account_id: str, exc: BaseException) -> str:
            error = explain_aws_error(exc)
            by_account[account_id].fail(f"{error}; the account keeps its direct stack and its grants, and is switched by a "
                                        "later run", error.code)
            return ""

        gone = [a for a in run_all(batch, delete, failed, concurrency) if a]
        lock = threading.Lock()

        def deploy(result: Result) -> None:
            task = result.task
            accounts = {a: task.desired.extra["parents"][a] for a in gone if a in task.desired.extra["targets"].accounts}
            if not accounts:
                return
            cfn = op.client(ctx, task)
            errors = op.deploy_accounts(ctx, cfn, task, accounts)
            if errors:
                with lock:
                    result.details += errors

        run_all(live, deploy, lambda result, exc: result.details.append(f"! {explain_aws_error(exc)}"), concurrency)
    # the role's OUs become targets (auto-deployment) once no direct stack is left under them; an account whose direct
    # stack stayed is left out, and switched by a later run
    stayed = {a for a, r in by_account.items() if r.status == Status.FAILED}
    for result in live:
        ou_ids = list(InstanceChanges.decoded(result.deploy_to).ou_ids)
        if ou_ids:
            result.details += op.add_ou_targets(ctx, op.client(ctx, result.task), result.task, ou_ids, stayed)
    for result in live:  # what exists now, and a failure for every account that did not get the role
        task = result.task
        cfn = op.client(ctx, task)
        try:
            result.state = op.observe(ctx, cfn, task)
            task.desired.extra["defer"] = set()
            op.check_instances(task, result.state, [], result, set())
        except AwsAccessError as exc:
            result.fail(str(exc), exc.code)


def _grants(outcome: StackSetsOutcome, resolution: Resolution, check: bool, kept_accounts: set[str]) -> None:
    """What people may assume after the run: a role in an account only where its instance is CURRENT (planned: as if
    the plan succeeds). A role whose stack set could not be observed keeps the grants the central stack gives."""
    grants: dict[str, dict[str, str] | None] = {a.id: {} for a in resolution.accounts.values() if deployable(a)}
    for result in outcome.results:
        task = result.task
        state = result.state
        if not task.desired.exists:
            continue  # retained or deleted: granted to nobody
        if not isinstance(state, RoleSetState):
            outcome.kept_roles.add(task.title)
            continue
        wanted = task.desired.extra["targets"].accounts
        if check and result.status == Status.PLANNED:
            scope = set(task.desired.extra["scope"])
            holders = {a for a in wanted if a in scope} | (state.current() & set(wanted))
        else:
            holders = state.current() & set(wanted)
        for account_id in holders:
            entry = grants.setdefault(account_id, {})
            if entry is not None:
                entry[task.title] = task.grants[account_id]
    for account_id in kept_accounts:
        grants[account_id] = None
    outcome.grants = grants


# --- back to the direct engine ------------------------------------------------------------------------------


def leftover_stacksets(engine: Engine, catalog: Catalog, resolution: Resolution, region: str, partition: str,
                       ou_ids: dict[str, str], root_id: str) -> list[Result]:
    """orgiam's role stack sets that exist while the catalog says ``engine: stacks``, observed (tasks whose desired
    state is no stack set)."""
    home, call_as = stackset_home(catalog, list(resolution.accounts.values()))
    if home is None:
        return []
    cfn = engine.ctx.clients.member_client("cloudformation", home.id, region)
    prefix = f"{catalog.settings.stack_prefix}-role-"
    accounts = list(resolution.accounts.values())
    names = {a.id: a.name for a in accounts}
    parents = {a.id: parent_ou(a, ou_ids, root_id) for a in accounts}
    results = []
    for name in set_ops.stack_set_names(cfn, prefix, call_as):
        task = Task(f"{home.id}/{region}/{name}", Kind.ROLE_STACKSET, home.id, home.name, region, name, hostname=home.hostname,
                    ou_path=home.ou_path, title=name[len(prefix):], stack_kind=ROLE_STACKSET_KIND, partition=partition,
                    call_as=call_as, reason_if_absent="engine: stacks: the roles come from the direct stacks")
        task.desired = dataclasses.replace(task.desired, extra={"names": names, "parents": parents, "scope": []})
        op = engine.operator(task)
        result = Result(task)
        try:
            result.state = op.observe(engine.ctx, cfn, task)
            result.observed = op.fingerprint(result.state)
        except Exception as exc:  # noqa: BLE001  reported with the others
            error = explain_aws_error(exc)
            result.fail(str(error), error.code)
        results.append(result)
    return results


def instance_accounts(leftovers: list[Result]) -> dict[str, list[Result]]:
    """Account -> the leftover stack sets that have an instance there."""
    found: dict[str, list[Result]] = {}
    for result in leftovers:
        if isinstance(result.state, RoleSetState):
            for account_id in result.state.instances:
                found.setdefault(account_id, []).append(result)
    return found


def switch_off_auto_deployment(engine: Engine, leftovers: list[Result]) -> None:
    """No account may get a new instance while the accounts move back to direct stacks."""
    ctx = engine.ctx
    for result in leftovers:
        state = result.state
        if result.status == Status.FAILED or not isinstance(state, RoleSetState) or state.stack_set is None:
            continue
        ss = state.stack_set
        if not ss.auto_deployment.get("Enabled"):
            continue
        task = result.task
        cfn = engine.operator(task).client(ctx, task)
        try:
            if ctx.before_write is not None:
                ctx.before_write()
            operation = set_ops.update_stack_set(cfn, task.name, ss.template_body, ss.parameters,
                                                 [{"Key": k, "Value": v} for k, v in ss.tags.items()],
                                                 {"Enabled": False, "RetainStacksOnAccountRemoval": False},
                                                 f"orgiam: role {task.title} (leaving engine: stacksets)", task.call_as)
            set_ops.wait_operation(cfn, task.name, operation, ctx.stackset_timeout, ctx.clock, call_as=task.call_as)
            result.details.append("auto-deployment switched off: the accounts move back to direct stacks")
        except AwsAccessError as exc:
            result.fail(f"{exc}; no account was moved back", exc.code)


def delete_instances_of(engine: Engine, leftovers: list[Result], accounts: dict[str, str]) -> set[str]:
    """Delete the instances of ``accounts`` (account -> parent OU) from every leftover stack set; the accounts left
    with no instance (those whose direct stack may be made now)."""
    ctx = engine.ctx
    blocked: set[str] = set()
    lock = threading.Lock()

    def one(result: Result) -> None:
        state = result.state
        task = result.task
        here = {a: ou for a, ou in accounts.items() if a in state.instances}
        if not here:
            return
        cfn = engine.operator(task).client(ctx, task)
        try:
            if ctx.before_write is not None:
                ctx.before_write()
            operation = set_ops.delete_instances(cfn, task.name, account_targets(here), [task.region], task.call_as)
            set_ops.wait_operation(cfn, task.name, operation, ctx.stackset_timeout, ctx.clock, call_as=task.call_as)
        except AwsAccessError as exc:
            result.details.append(f"! {exc}")
        left = set_ops.instance_statuses(cfn, task.name, task.call_as)
        with lock:
            blocked.update(a for a in here if a in left)
        result.state = RoleSetState(state.stack_set, left)

    live = [r for r in leftovers if r.status != Status.FAILED and isinstance(r.state, RoleSetState)]
    run_all(live, one, lambda result, exc: result.details.append(f"! {explain_aws_error(exc)}"), max(1, len(live)))
    return {a for a in accounts if a not in blocked}


def finish_leftovers(engine: Engine, leftovers: list[Result]) -> None:
    """Delete the stack sets left without instances; the others stay (a later run goes on)."""
    ctx = engine.ctx
    for result in leftovers:
        state = result.state
        if result.status == Status.FAILED or not isinstance(state, RoleSetState):
            continue
        task = result.task
        cfn = engine.operator(task).client(ctx, task)
        if state.instances:
            result.action, result.status = Action.RETAIN, Status.RETAINED
            result.reason = (f"{len(state.instances)} instance(s) left in accounts that did not move back to a direct "
                             "stack; the stack set stays until a later run")
            continue
        try:
            set_ops.delete_stack_set(cfn, task.name, task.call_as)
            result.action, result.status = Action.DELETE, Status.DELETED
            result.reason = "engine: stacks: every account has its direct stack again"
        except AwsAccessError as exc:
            result.fail(str(exc), exc.code)

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sync: build every account's task, run them through the engine, then the central stack.

Member accounts run concurrently (``apply/executor.py``), each in its own failure domain. The
central stack runs last, so that its policies name only role ARNs that exist after this run. An
account this run did not reach as planned (it failed, its plan was stale, or it is outside this
run or this part of a plan) keeps the grants the central stack already gives it: a transient error
never takes anyone's access away. In check mode nothing is written.

The tasks come either from the catalog (render, then plan from what is observed) or from a saved
plan (``plan/saved.py``): then each is applied exactly as planned, or refused as stale.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from ..apply.engine import Engine
from ..apply.executor import run_all
from ..apply.operators import Context
from ..aws.cloudformation import TemplateSource, describe_stack, get_template, inline_only, via_bucket
from ..aws.errors import AwsAccessError, explain_aws_error
from ..aws.lock import RunLock
from ..aws.session import AwsClients
from ..catalog import Catalog, RoleDef
from ..catalog.policies import Placement
from ..model import CHANGING, Account, Action, Kind, PlannedTask, Result, Status, Task
from ..plan.saved import SavedPlan
from ..render.central import IDENTITY_MODE_OUTPUT, central_template, grants_from_template
from ..render.common import TemplateError, account_of_arn, desired_template, role_arn
from ..render.member import held_role_arns, member_template
from ..render.org_policies import org_policies_template
from ..plan.stacksets import batches, parent_ou
from ..resolve import Resolution, group_grants
from . import stacksets as engine_sets
from .identity_center import CenterSetup, center_region, center_task, look_up


@dataclass
class SyncOptions:
    check: bool = False
    diff: bool = False
    concurrency: int = 16
    timeout: float = 900.0
    lock: bool = True  # one run that writes at a time per organization (aws/lock.py); check mode never locks
    lock_wait: float = 120.0  # seconds to wait for a lock another run holds
    lock_ttl: float = 3600.0  # a lock not renewed for this long is taken to be a killed run's
    verify: str = "tags"  # or "live": compare what each stack owns with IAM, and put back hand changes
    # check mode: "change_set" previews an update with a CloudFormation change set (replacements shown);
    # "template" compares templates only, with reads alone (the pipeline's read-only plan)
    preview: str = "change_set"


@dataclass
class SyncOutcome:
    members: list[Result]
    central: Result
    check: bool
    seconds: float
    total_api_calls: int
    plan_id: str = ""  # the saved plan this run applied, if any
    verify: str = "tags"
    center: Any = None  # identity_center: the instance and group ids looked up (usecases/identity_center.CenterSetup)

    @property
    def results(self) -> list[Result]:
        return self.members + [self.central]

    @property
    def failed(self) -> list[Result]:
        return [r for r in self.results if r.status == Status.FAILED]

    @property
    def stale(self) -> list[Result]:
        return [r for r in self.results if r.status == Status.STALE]


def member_stack_name(catalog: Catalog) -> str:
    return f"{catalog.settings.stack_prefix}-roles"


def central_stack_name(catalog: Catalog) -> str:
    return f"{catalog.settings.stack_prefix}-identity"


def policies_stack_name(catalog: Catalog) -> str:
    return f"{catalog.settings.stack_prefix}-organization-policies"


def policies_task(catalog: Catalog, placement: Placement | None, management: Account | None, region: str,
                  partition: str) -> Task | None:
    """The organization policies stack in the management account (pure); None when the catalog has none."""
    if not catalog.policies or placement is None or management is None:
        return None
    task = _task(management, Kind.ORG_POLICIES, policies_stack_name(catalog), region, partition)
    task.title = f"{len(catalog.policies)} organization policies"
    task.desired = desired_template(org_policies_template(catalog.policies, placement))
    return task


def policies_account(catalog: Catalog, accounts: list[Account]) -> Account | None:
    """Where the organization policies stack lives: the delegated administrator of settings.yml
    (``pipeline.delegated_admin``, which the bootstrap lets manage them), else the management account."""
    delegated = str((catalog.settings.pipeline or {}).get("delegated_admin") or "")
    for account in accounts:
        if (delegated and delegated.lower() in (account.id, account.name.lower())) or (not delegated and account.is_management):
            return account
    return None


def task_key(account_id: str, region: str, stack: str) -> str:
    return f"{account_id}/{region}/{stack}"


def _task(account: Account, kind: Kind, stack: str, region: str, partition: str, roles: tuple[str, ...] = ()) -> Task:
    return Task(task_key(account.id, region, stack), kind, account.id, account.name, region, stack,
                hostname=account.hostname, ou_path=account.ou_path, stack_kind=str(kind), roles=roles, partition=partition)


def member_tasks(
    catalog: Catalog, resolution: Resolution, accounts: list[Account], region: str, partition: str
) -> tuple[list[Task], list[Result]]:
    """Every account's task with its rendered template (pure), and the accounts never touched, as results."""
    central_id = resolution.central.id
    stack = member_stack_name(catalog)
    tasks, untouched = [], []
    for account in accounts:
        roles = resolution.roles_by_account.get(account.id, ())
        if not catalog.identity.iam_mode:  # identity_center: people's roles are permission sets, machines' stay here
            roles = tuple(r for r in roles if r.is_machine)
        task = _task(account, Kind.MEMBER, stack, region, partition, tuple(r.name for r in roles))
        if not account.active:
            untouched.append(Result(task, status=Status.SKIPPED, reason=f"account is {account.status}; never touched"))
            continue
        if account.is_management and not roles:
            # only named roles go there, and its deploy role may exist only then (see bootstrap)
            untouched.append(Result(task, status=Status.SKIPPED,
                                    reason="management account: touched only when a role names it"))
            continue
        template = member_template(roles, central_id, account.id, partition, catalog.identity.iam_mode or "iam_users") if roles else None
        task.desired = desired_template(template)
        task.grants = desired_grants(account.id, roles, partition)
        tasks.append(task)
    return tasks, untouched


def desired_grants(account_id: str, roles: tuple[RoleDef, ...], partition: str) -> dict[str, str]:
    return {role.name: role_arn(account_id, role, partition) for role in roles}


def granted_by(result: Result, check: bool) -> dict[str, str] | None:
    """The grants an account's result earns: None when the account must keep what the central stack gives it."""
    desired = result.task.grants
    if result.status in (Status.FAILED, Status.STALE) or (result.status == Status.SKIPPED and result.task.desired.exists):
        return None
    if result.status == Status.SKIPPED:  # suspended, or an untargeted management account: nothing
        return {}
    if check and result.changes_planned:
        return dict(desired)  # plan the central stack as if this account succeeds
    state = result.state
    outputs = getattr(state, "outputs", None)
    if outputs is None:
        return {}
    held = held_role_arns(outputs)
    return {name: arn for name, arn in desired.items() if arn in held}


def template_source(clients: AwsClients, catalog: Catalog, central_id: str) -> TemplateSource:
    """Templates over CloudFormation's body limit go through the catalog's bucket in the central account."""
    bucket = catalog.settings.template_bucket
    if not bucket:
        return inline_only
    lock = threading.Lock()
    s3: list[Any] = []

    def source(name: str, body: str) -> dict[str, str]:
        with lock:
            if not s3:  # made on first use: most syncs never need it
                s3.append(clients.member_client("s3", central_id))
        return via_bucket(s3[0], bucket, clients.region)(name, body)

    return source


def run_sync(
    clients: AwsClients,
    catalog: Catalog,
    resolution: Resolution,
    run_account_ids: list[str],
    options: SyncOptions,
    on_done: Callable[[Result], None] | None = None,
    saved: SavedPlan | None = None,
    part: tuple[int, int] = (1, 1),
    notice: Callable[[str], None] | None = None,
    policies: Placement | None = None,
    org_units: dict[str, str] | None = None,
) -> SyncOutcome:
    """Sync the member stacks of ``run_account_ids`` and then the central stack.

    ``org_units``: OU path -> OU id, and "" -> the root's id (the inventory's ``orgiam_ou_ids`` and
    ``orgiam_root_id``), for the StackSets engine's targets.

    With ``saved``, the tasks are the plan's (those of ``part`` K of N), applied as planned or refused as stale.
    A run that writes holds the organization's run lock throughout; raises LockHeld when another run holds it.
    """
    central = check_central_stack(clients, catalog, resolution.central.id)
    center = None
    if catalog.identity.uses_identity_center:  # the instance and the groups, found before anything is written
        home = policies_account(catalog, list(resolution.accounts.values()))
        if home is None:
            raise AwsAccessError("identity.yml says mode identity_center, and the inventory has no management account "
                                 "(nor the delegated administrator of settings.yml) to hold the Identity Center stack",
                                 "NoIdentityCenterAccount")
        center = (home, look_up(clients, catalog, home, center_region(catalog, clients.region)))
    lock = _LazyLock(clients, catalog, resolution.central.id, options, notice) if options.lock and not options.check else None
    # role stack sets to take back to direct stacks: only looked for when the central stack says they exist
    leaving_stacksets = catalog.settings.engine != "stacksets" and central is not None and \
        central.outputs.get(engine_sets.ENGINE_OUTPUT) == "stacksets"
    try:
        return _run(clients, catalog, resolution, run_account_ids, options, on_done, saved, part, lock, policies, center,
                    dict(org_units or {}), leaving_stacksets)
    finally:
        if lock is not None:
            lock.release()


def check_central_stack(clients: AwsClients, catalog: Catalog, central_id: str) -> Any:
    """Two things refused before anything is written, from one look at the central stack.

    The identity mode: a stack made for iam_users cannot become a saml one in place (its groups would become
    roles under the same logical ids, and the member roles would stop trusting people first). The region: IAM
    is global and stacks are regional, so orgiam's stacks live in one home region; when the central stack is
    not in this run's region, it is looked for in the partition's other regions, and found elsewhere, the run
    stops (the same roles made again here would collide with those)."""
    name = central_stack_name(catalog)
    here = clients.region
    # counted apart from the central account's own task ("run"): a no-op still costs 2 calls per account
    central = describe_stack(clients.member_client("cloudformation", central_id, label="run"), name)
    if central is not None:
        deployed_mode = central.outputs.get(IDENTITY_MODE_OUTPUT, "")
        # identity_center leaves the central stack as it is (kept or pruned, never changed in place)
        if deployed_mode and catalog.identity.iam_mode and deployed_mode != catalog.identity.iam_mode:
            raise AwsAccessError(
                f"identity.yml says mode {catalog.identity.mode}, and the central stack {name} was made for mode "
                f"{deployed_mode}: orgiam does not change the identity mode in place (the member roles would stop "
                "trusting people before the new principals exist). Nothing was changed; see docs/operations.md, "
                "'Changing the identity mode'", "IdentityModeChange")
        return central
    for region in other_regions(clients.partition, here):
        state = describe_stack(clients.member_client("cloudformation", central_id, region, label="run"), name)
        if state is not None and state.managed_by_orgiam:
            raise AwsAccessError(
                f"orgiam's stacks are in region {region} (the central account's {name} is there), and this run works "
                f"in {here}: IAM is global, so the same roles cannot be made in two regions. Set home_region: {region} "
                f"in settings.yml, or, to move orgiam to {here}, delete its stacks in {region} first", "WrongRegion")
    return None


def other_regions(partition: str, home: str) -> list[str]:
    """The regions where CloudFormation runs in ``partition`` (botocore's own data, no call), the home one aside."""
    import botocore.session

    regions = botocore.session.get_session().get_available_regions("cloudformation", partition_name=partition)
    return [r for r in regions if r != home]


class _LazyLock:
    """The run lock, taken at the first write of the run: a run that changes nothing writes nothing.

    Thread-safe: the first worker about to write takes it; a lock another run holds fails that
    worker's task and every later write of this run (LockHeld names the holder)."""

    def __init__(self, clients: AwsClients, catalog: Catalog, central_id: str, options: SyncOptions,
                 notice: Callable[[str], None] | None) -> None:
        self._make = lambda: RunLock(clients.member_client("dynamodb", central_id), f"{catalog.settings.stack_prefix}-lock",
                                     options.lock_ttl)
        self._wait, self._notice = options.lock_wait, notice
        self._guard = threading.Lock()
        self._lock: RunLock | None = None
        self._since: float | None = None
        self._refused: Exception | None = None

    def __call__(self) -> float:
        with self._guard:
            if self._refused is not None:
                raise self._refused
            if self._since is None:
                lock = self._make()
                notice = self._notice
                try:
                    lock.acquire(self._wait, (lambda holder: notice(
                        f"orgiam: waiting up to {int(self._wait)} s for the run lock, held by {holder.describe(time.time())}"))
                        if notice else None)
                except Exception as exc:
                    self._refused = exc
                    raise
                self._lock, self._since = lock, time.monotonic()
            return self._since

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()


def _run(
    clients: AwsClients,
    catalog: Catalog,
    resolution: Resolution,
    run_account_ids: list[str],
    options: SyncOptions,
    on_done: Callable[[Result], None] | None,
    saved: SavedPlan | None,
    part: tuple[int, int],
    lock: "_LazyLock | None",
    placement: Placement | None = None,
    center: tuple[Account, CenterSetup] | None = None,
    org_units: dict[str, str] | None = None,
    leaving_stacksets: bool = False,
) -> SyncOutcome:
    started = time.monotonic()
    region, partition = clients.region, clients.partition
    central_id = resolution.central.id
    ctx = Context(clients, check=options.check, diff=options.diff, timeout=options.timeout, prune=catalog.settings.prune,
                  source=template_source(clients, catalog, central_id), plan_id=saved.id if saved else "",
                  before_write=lock, verify=options.verify, owned_path=catalog.settings.role_path,
                  change_sets=options.preview == "change_set",
                  account_names={a.id: a.name for a in resolution.accounts.values()})
    engine = Engine(ctx)
    accounts = [resolution.accounts[a] for a in run_account_ids]
    if saved is None:
        tasks, untouched = member_tasks(catalog, resolution, accounts, region, partition)
        planned: dict[str, PlannedTask] = {}
    else:
        tasks, untouched, planned = saved.member_work({a.id for a in accounts}, part)
    # the organization policies, in the management account or the delegated administrator, when it is among
    # this run's accounts
    fresh_policies = policies_task(catalog, placement, policies_account(catalog, accounts), region, partition)
    policy_tasks = [t for t in tasks if t.kind == Kind.ORG_POLICIES] if saved is not None else \
        [t for t in [fresh_policies] if t is not None]
    # the Identity Center stack, when its account is among this run's
    fresh_center = None
    if center is not None and center[0].id in {a.id for a in accounts}:
        fresh_center = center_task(catalog, resolution, center[1], center[0], center_region(catalog, region), partition)
    center_tasks = [t for t in tasks if t.kind == Kind.IDENTITY_CENTER] if saved is not None else \
        [t for t in [fresh_center] if t is not None]
    tasks = [t for t in tasks if t.kind not in (Kind.ORG_POLICIES, Kind.IDENTITY_CENTER)]
    org_units = org_units or {}
    root_id = org_units.get("", "")
    parents = {a.id: parent_ou(a, org_units, root_id) for a in resolution.accounts.values()}
    uses_stacksets = catalog.settings.engine == "stacksets"
    role_tasks: list[Task] = []
    refused_roles: list[Result] = []
    if uses_stacksets:
        fresh_roles = engine_sets.role_stackset_tasks(catalog, resolution, {a.id for a in accounts if a.active}, region,
                                                      partition, org_units, root_id)
        if saved is None:
            role_tasks = fresh_roles
        else:  # the plan's stack sets, as this code renders them from this catalog (the hash must be the plan's)
            by_key = {t.key: t for t in fresh_roles}
            for task in (t for t in tasks if t.kind == Kind.ROLE_STACKSET):
                fresh = by_key.get(task.key)
                if fresh is None or fresh.desired.hash != task.desired.hash:
                    refused_roles.append(not_from_catalog(task, planned[task.key], fresh.desired.hash if fresh else None))
                else:  # the plan's decision, with the targets this code works out (the plan keeps only the changes)
                    planned[task.key] = dataclasses.replace(planned[task.key], desired=fresh.desired)
                    role_tasks.append(fresh)
        # every member account's roles come from the stack sets; the management account keeps its direct stack
        tasks = [t for t in tasks if t.kind == Kind.MEMBER and resolution.accounts[t.account_id].is_management]
    leftovers: list[Result] = []
    later: list[Task] = []
    if leaving_stacksets and saved is None:
        leftovers = engine_sets.leftover_stacksets(engine, catalog, resolution, region, partition, org_units, root_id)
        moving = engine_sets.instance_accounts(leftovers)
        if leftovers and not options.check:
            engine_sets.switch_off_auto_deployment(engine, leftovers)
        later = [t for t in tasks if t.account_id in moving]
        tasks = [t for t in tasks if t.account_id not in moving]
    # a saved plan deploys its own templates: each must be what this code renders from this catalog, so
    # that a plan.json changed after it was made (or made by other code) cannot deploy anything else
    rendered = {} if saved is None else {
        t.key: t.desired.hash for t in member_tasks(catalog, resolution, accounts, region, partition)[0]
        + [t for t in [fresh_policies, fresh_center] if t is not None]}
    grants: dict[str, dict[str, str] | None] = {}
    guard = threading.Lock()

    def earn(result: Result, earned: dict[str, str] | None) -> Result:
        """What the account's people may assume after this run (None: what the central stack gives them now)."""
        result.granted = dict(earned or {})
        with guard:
            grants[result.task.account_id] = earned
        return result

    def as_planned(task: Task) -> bool:
        plan = planned.get(task.key)
        return plan is not None and plan.action not in CHANGING

    def run_task(task: Task) -> Result:
        """One task, as the saved plan says when there is one; grants are the caller's."""
        plan = planned.get(task.key)
        if plan is not None and as_planned(task):
            # the plan changes nothing here: no call
            return Result(task, status=Status.RETAINED if plan.action == Action.RETAIN else Status.UNCHANGED,
                          action=plan.action, reason=f"{plan.reason} (as planned)", observed=dict(plan.observed),
                          retained=list(plan.retained))
        if plan is not None and task.desired.hash != rendered.get(task.key):
            return not_from_catalog(task, plan, rendered.get(task.key))
        return engine.run(task, plan)

    def failure(task: Task, exc: BaseException) -> Result:
        error = explain_aws_error(exc)
        return Result(task).fail(str(error), error.code)

    def work(task: Task) -> Result:
        result = run_task(task)
        if as_planned(task):  # the grants the plan counted on
            assert saved is not None
            return earn(result, saved.granted(task.key))
        return earn(result, granted_by(result, options.check))

    def one_at_a_time(organization_wide: list[Task]) -> list[Result]:
        """Tasks of the whole organization (no grants ride on them), in order, each failing alone."""
        done = []
        for task in organization_wide:
            try:
                result = run_task(task)
            except Exception as exc:  # noqa: BLE001  one task's failure, reported with the others
                result = failure(task, exc)
            done.append(result)
            if on_done is not None:
                on_done(result)
        return done

    first = one_at_a_time(center_tasks)  # before anything that could take people's IAM access away
    if any(r.status in (Status.FAILED, Status.STALE) for r in first) and ctx.prune == "apply":
        # people may not have their Identity Center access: nothing of their IAM access is pruned in this run
        engine = Engine(dataclasses.replace(ctx, prune="plan"))
    kept_roles: set[str] = set()
    set_results: list[Result] = []
    if uses_stacksets:
        sets = engine_sets.sync_stacksets(engine, role_tasks, resolution, member_stack_name(catalog), options.concurrency,
                                          options.check, on_done, planned)
        set_results = sets.results + sets.switched + refused_roles
        kept_roles = sets.kept_roles | {r.task.title for r in refused_roles}
    members = run_all(tasks, work, lambda task, exc: earn(failure(task, exc), None), options.concurrency, on_done)
    if uses_stacksets:
        for account_id, earned in sets.grants.items():  # with the management account's direct stack
            mine = grants.get(account_id, {})
            grants[account_id] = None if earned is None or (account_id in grants and mine is None) else {**(mine or {}), **earned}
        members += set_results
    members += _move_back(engine, later, leftovers, work, earn, failure, parents, options, on_done)
    for result in untouched:
        earn(result, granted_by(result, options.check))
        if on_done is not None:
            on_done(result)
    members += untouched + first
    members += one_at_a_time(policy_tasks)
    members.sort(key=lambda r: (r.task.ou_path.lower(), r.task.account_name.lower(), r.task.account_id))
    marker = uses_stacksets or any(r.status != Status.DELETED for r in leftovers if not options.check)
    central = _sync_central(engine, catalog, resolution, grants, region, partition, saved, kept_roles, marker)
    if on_done is not None:
        on_done(central)
    return SyncOutcome(members, central, options.check, round(time.monotonic() - started, 3), clients.call_log.total(),
                       saved.id if saved else "", options.verify, center[1] if center else None)


def _move_back(engine: Engine, later: list[Task], leftovers: list[Result], work: Callable[[Task], Result],
               earn: Callable[[Result, dict[str, str] | None], Result], failure: Callable[[Task, BaseException], Result],
               parents: dict[str, str], options: SyncOptions, on_done: Callable[[Result], None] | None) -> list[Result]:
    """engine: stacks with role stack sets left (usecases/stacksets.py): a batch of accounts at a time, their instances
    are deleted, then their direct stacks made; an account whose instances stay keeps them and its grants."""
    results: list[Result] = []
    if options.check:
        results += run_all(later, work, lambda task, exc: earn(failure(task, exc), None), options.concurrency, on_done)
        for result in leftovers:
            if result.status != Status.FAILED:
                instances = getattr(result.state, "instances", {})
                result.action, result.status = Action.DELETE, Status.PLANNED
                result.reason = (f"engine: stacks: its {len(instances)} instance(s) are deleted a batch of accounts at a time, "
                                 "each account's direct stack made right after, then the stack set")
                names = result.task.desired.extra.get("names") or {}
                result.plan = [f"- {names.get(a, a)} ({a}): {result.task.title} moves to the direct stack" for a in sorted(instances)]
        return results + leftovers
    for batch in batches(later, options.concurrency):
        free = engine_sets.delete_instances_of(engine, leftovers, {t.account_id: parents.get(t.account_id, "") for t in batch})
        results += run_all([t for t in batch if t.account_id in free], work, lambda task, exc: earn(failure(task, exc), None),
                           options.concurrency, on_done)
        for task in (t for t in batch if t.account_id not in free):
            stuck = Result(task).fail("its stack set instances could not be deleted (see the stack sets' details): it keeps "
                                      "them and its grants; a later run moves it", "StackInstancesLeft")
            results.append(earn(stuck, None))
    engine_sets.finish_leftovers(engine, leftovers)
    return results + leftovers


def not_from_catalog(task: Task, plan: PlannedTask, rendered_hash: str | None) -> Result:
    return Result(task, action=plan.action).fail(
        f"the plan's template for {task.name} (hash {task.desired.hash}) is not the one this orgiam renders from "
        f"the catalog (hash {rendered_hash}): the plan was changed after it was made, or made by another version "
        "of orgiam; not applied. Plan again.", "PlanNotFromCatalog")


def _sync_central(
    engine: Engine, catalog: Catalog, resolution: Resolution, grants: dict[str, dict[str, str] | None],
    region: str, partition: str, saved: SavedPlan | None, kept_roles: set[str] | None = None, stacksets: bool = False,
) -> Result:
    central = resolution.central
    task = _task(central, Kind.CENTRAL, central_stack_name(catalog), region, partition)
    result = Result(task)
    if not catalog.identity.iam_mode:
        # identity_center: people reach the accounts through Identity Center; a central stack left from
        # iam_users or saml is kept or deleted by the prune policy, after the Identity Center stack has run
        task.reason_if_absent = "identity_center mode gives people access through Identity Center"
        return engine.run(task) if saved is None else engine.run_derived(task, saved.central_observed, saved.central_hash)
    roles = {r.name: r for r in catalog.roles}
    kept = {a for a, acc in resolution.accounts.items() if acc.active and grants.get(a, None) is None}
    kept_roles = set(kept_roles or ())
    by_role: dict[str, list[str]] = {}
    try:
        if kept_roles:
            # roles whose stack set could not be observed: their grants stay as the central stack gives them
            cfn = engine.ctx.clients.member_client("cloudformation", central.id)
            for role_name, arns in grants_from_template(get_template(cfn, task.name)).items():
                if role_name in kept_roles:
                    by_role.setdefault(role_name, []).extend(a for a in arns if account_of_arn(a) not in kept)
        if kept:
            # accounts this run did not reach as planned keep the grants the central stack already gives them
            cfn = engine.ctx.clients.member_client("cloudformation", central.id)
            for role_name, arns in grants_from_template(get_template(cfn, task.name)).items():
                if role_name in roles:
                    by_role.setdefault(role_name, []).extend(a for a in arns if account_of_arn(a) in kept)
        for account_id in sorted(grants):
            for role_name, arn in sorted((grants[account_id] or {}).items()):
                if role_name not in kept_roles:
                    by_role.setdefault(role_name, []).append(arn)
        by_role = {role_name: list(dict.fromkeys(arns)) for role_name, arns in by_role.items()}
        template = central_template(
            group_grants(catalog.identity, by_role, resolution.accounts),
            by_role,
            catalog.identity,
            catalog.settings.stack_prefix,
            catalog.settings.role_path,
            {name: role.mfa_required for name, role in roles.items()},
        )
    except (AwsAccessError, TemplateError) as exc:
        return result.fail(str(exc), getattr(exc, "code", "") or type(exc).__name__)
    if stacksets:  # tells a run with engine: stacks that role stack sets are left to take back (usecases/stacksets.py)
        template.setdefault("Outputs", {})[engine_sets.ENGINE_OUTPUT] = {"Value": "stacksets"}
    task.roles = tuple(sorted(name for name, arns in by_role.items() if arns))
    task.desired = desired_template(template)
    if saved is None:
        result = engine.run(task)
    else:
        result = engine.run_derived(task, saved.central_observed, saved.central_hash)
    result.groups = sorted(g.name for g in catalog.identity.groups)
    if kept and not engine.ctx.check and result.status != Status.FAILED:
        result.details.append(f"{len(kept)} account(s) outside this run or not applied as planned keep their grants")
    return result

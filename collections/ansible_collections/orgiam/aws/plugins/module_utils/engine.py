# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The sync: plan and apply every account's stack, then the central identity stack.

Member accounts run concurrently through ``executor.run_all``, each in its own
failure domain. The central stack runs last, so that its group policies name
only role ARNs that exist after this run: an account that failed gets no grant.
In check mode nothing is written: every account is observed and planned only.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable

from . import plan as P
from .aws import AwsAccessError, AwsClients, explain_aws_error
from .catalog import Catalog, RoleDef
from .executor import run_all
from .resolve import Account, Resolution, group_grants
from .stacks import (
    continue_rollback,
    create_stack,
    delete_stack,
    describe_stack,
    TemplateSource,
    get_template,
    inline_only,
    preview_change_set,
    update_stack,
    via_bucket,
    wait_stable,
)
from .templates import (
    ROLE_ARNS_OUTPUT,
    TemplateError,
    account_of_arn,
    central_template,
    grants_from_template,
    member_template,
    retain_roles,
    role_arn,
    stack_tags,
    template_hash,
)

# result statuses
UNCHANGED = "unchanged"
CREATED = "created"
UPDATED = "updated"
DELETED = "deleted"
RETAINED = "retained"
PLANNED = "planned"
FAILED = "failed"
SKIPPED = "skipped"

DONE_BY_ACTION = {P.CREATE: CREATED, P.UPDATE: UPDATED, P.DELETE: DELETED, P.RECREATE: CREATED, P.CONTINUE_AND_UPDATE: UPDATED}


@dataclass
class StackResult:
    account_id: str
    account_name: str
    hostname: str
    ou_path: str
    kind: str  # member | central
    stack_name: str
    status: str = UNCHANGED
    action: str = P.NOOP
    reason: str = ""
    roles: list[str] = field(default_factory=list)
    granted: dict[str, str] = field(default_factory=dict)  # role name -> ARN that exists and is desired
    retained: list[str] = field(default_factory=list)  # roles kept although no longer targeted (prune not 'apply')
    groups: list[str] = field(default_factory=list)  # central stack: the groups (or federated roles) it holds
    changes: dict[str, list[str]] = field(default_factory=dict)
    plan: list[str] = field(default_factory=list)  # readable resource and statement changes
    change_set: list[dict[str, str]] = field(default_factory=list)  # CloudFormation's view (check mode, updates)
    diff: dict[str, str] | None = None
    error: str = ""
    error_code: str = ""
    api_calls: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return self.status in (CREATED, UPDATED, DELETED) or (self.status == PLANNED and self.action in P.CHANGING)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["changed"] = self.changed
        return data


@dataclass
class SyncOptions:
    check: bool = False
    diff: bool = False
    concurrency: int = 16
    timeout: float = 900.0
    partition: str = "aws"


@dataclass
class SyncOutcome:
    members: list[StackResult]
    central: StackResult
    check: bool
    seconds: float
    total_api_calls: int

    @property
    def failed(self) -> list[StackResult]:
        return [r for r in self.members + [self.central] if r.status == FAILED]


def _pretty(template: dict[str, Any] | None) -> str:
    return "" if template is None else json.dumps(template, indent=2, sort_keys=True) + "\n"


def _desired_grants(account: Account, roles: tuple[RoleDef, ...], partition: str) -> dict[str, str]:
    return {role.name: role_arn(account.id, role, partition) for role in roles}


def _existing_grants(state: P.StackState | None, desired: dict[str, str]) -> dict[str, str]:
    """Desired roles that a stable stack really holds, from its output of role ARNs."""
    if state is None or state.status not in P.STABLE:
        return {}
    held = set(filter(None, state.outputs.get(ROLE_ARNS_OUTPUT, "").split(",")))
    return {name: arn for name, arn in desired.items() if arn in held}


class StackJob:
    """Plan and (unless check) apply one stack in one account."""

    def __init__(self, clients: AwsClients, options: SyncOptions, prune: str, source: TemplateSource = inline_only) -> None:
        self.clients = clients
        self.options = options
        self.prune = prune
        self.source = source

    def run(
        self,
        result: StackResult,
        template: dict[str, Any] | None,
        desired: dict[str, str],
    ) -> StackResult:
        started = time.monotonic()
        try:
            cfn = self.clients.member_client("cloudformation", result.account_id, self.options.partition)
            self._plan_and_apply(cfn, result, template, desired)
        except Exception as exc:  # the account fails alone; the error is kept for the report
            error = explain_aws_error(exc)
            result.status, result.error, result.error_code = FAILED, str(error), error.code
        result.seconds = round(time.monotonic() - started, 3)
        result.api_calls = self.clients.call_log.total(result.account_id)
        return result

    def _plan_and_apply(self, cfn: Any, result: StackResult, template: dict[str, Any] | None, desired: dict[str, str]) -> None:
        name = result.stack_name
        observed = describe_stack(cfn, name)
        template = self._with_retained_roles(cfn, result, template, desired, observed)
        desired_hash = template_hash(template) if template is not None else None
        decision = P.decide(observed, desired_hash, self.prune)
        if decision.action == P.WAIT:
            observed = wait_stable(cfn, name, self.options.timeout, first_delay=1.0)
            decision = P.decide(observed, desired_hash, self.prune)
        result.action = decision.action
        result.reason = f"{decision.reason}; {result.reason}" if result.reason else decision.reason
        if decision.action == P.REFUSE:
            raise AwsAccessError(decision.reason, "NotOrgiamStack")
        if decision.changes:
            wants_before = observed is not None and (self.options.diff or self.options.check)
            before = get_template(cfn, name) if wants_before else None
            after = template if decision.action != P.DELETE else None
            if wants_before or decision.action == P.CREATE:
                result.changes = P.template_changes(before, after)
                result.plan = P.describe_changes(before, after)
            if self.options.check and decision.action == P.UPDATE and template is not None:
                result.change_set = preview_change_set(
                    cfn, name, template, stack_tags(result.kind, desired_hash or ""), self.options.timeout, self.source
                )
            if self.options.diff:
                result.diff = {
                    "before_header": f"{result.hostname or result.account_id}: {name} (deployed)",
                    "after_header": f"{result.hostname or result.account_id}: {name} (desired)",
                    "before": _pretty(before),
                    "after": _pretty(after),
                }
        if self.options.check:
            result.status = PLANNED if decision.changes else (RETAINED if decision.action == P.RETAIN else UNCHANGED)
            # plan the central stack as if this account succeeds
            result.granted = dict(desired) if decision.changes else _existing_grants(observed, desired)
            return
        try:
            state = self._apply(cfn, decision.action, name, template, stack_tags(result.kind, desired_hash or ""), observed)
        except Exception:
            # what exists after a failed operation is what the stack holds now, if it is stable
            try:
                result.granted = _existing_grants(describe_stack(cfn, name), desired)
            except Exception:
                result.granted = {}
            raise
        result.status = DONE_BY_ACTION.get(decision.action, RETAINED if decision.action == P.RETAIN else UNCHANGED)
        result.granted = _existing_grants(state, desired)

    def _with_retained_roles(
        self, cfn: Any, result: StackResult, template: dict[str, Any] | None, desired: dict[str, str], observed: P.StackState | None
    ) -> dict[str, Any] | None:
        """Unless prune is 'apply', roles no longer targeted stay in the stack (without grants)."""
        if self.prune == "apply" or template is None or observed is None or result.kind != "member":
            return template
        if not observed.managed_by_orgiam or observed.status not in P.STABLE:
            return template
        held = set(filter(None, observed.outputs.get(ROLE_ARNS_OUTPUT, "").split(",")))
        extra = held - set(desired.values())
        if not extra:
            return template
        merged, kept = retain_roles(template, get_template(cfn, result.stack_name), result.account_id, extra, self.options.partition)
        if kept:
            result.retained = kept
            result.reason = f"keeps {', '.join(kept)} (no longer targeted; prune is '{self.prune}')"
        return merged

    def _apply(
        self, cfn: Any, action: str, name: str, template: dict[str, Any] | None, kind_tags: list[dict[str, str]], observed: P.StackState | None
    ) -> P.StackState | None:
        timeout = self.options.timeout
        if action == P.CREATE:
            assert template is not None
            return create_stack(cfn, name, template, kind_tags, timeout, self.source)
        if action == P.UPDATE:
            assert template is not None
            return update_stack(cfn, name, template, kind_tags, timeout, self.source)
        if action == P.DELETE:
            delete_stack(cfn, name, timeout)
            return None
        if action == P.RECREATE:
            assert template is not None
            delete_stack(cfn, name, timeout)
            return create_stack(cfn, name, template, kind_tags, timeout, self.source)
        if action == P.CONTINUE_AND_UPDATE:
            assert template is not None
            continue_rollback(cfn, name, timeout)
            return update_stack(cfn, name, template, kind_tags, timeout, self.source)
        return observed


def _template_source(clients: AwsClients, catalog: Catalog, central_id: str, options: SyncOptions) -> TemplateSource:
    """Templates over CloudFormation's body limit go through the catalog's bucket in the central account."""
    bucket = catalog.settings.template_bucket
    if not bucket:
        return inline_only
    clients_lock = threading.Lock()
    s3: list[Any] = []

    def source(name: str, template: dict[str, Any]) -> dict[str, str]:
        with clients_lock:
            if not s3:  # made on first use: most syncs never need it
                s3.append(clients.member_client("s3", central_id, options.partition))
        return via_bucket(s3[0], bucket, clients.settings.region)(name, template)

    return source


def member_stack_name(catalog: Catalog) -> str:
    return f"{catalog.settings.stack_prefix}-roles"


def central_stack_name(catalog: Catalog) -> str:
    return f"{catalog.settings.stack_prefix}-identity"


def _blank(account: Account, kind: str, stack_name: str) -> StackResult:
    return StackResult(account.id, account.name, account.hostname, account.ou_path, kind, stack_name)


def run_sync(
    clients: AwsClients,
    catalog: Catalog,
    resolution: Resolution,
    run_account_ids: list[str],
    options: SyncOptions,
    on_done: Callable[[StackResult], None] | None = None,
) -> SyncOutcome:
    """Sync the member stacks of ``run_account_ids`` and then the central stack."""
    started = time.monotonic()
    central_id = resolution.central.id
    source = _template_source(clients, catalog, central_id, options)
    job = StackJob(clients, options, catalog.settings.prune, source)
    member_name = member_stack_name(catalog)

    def work(account: Account) -> StackResult:
        result = _blank(account, "member", member_name)
        roles = resolution.roles_by_account.get(account.id, ())
        result.roles = [r.name for r in roles]
        if not account.active:
            result.status, result.reason = SKIPPED, f"account is {account.status}; never touched"
            return result
        if account.is_management and not roles:
            # only named roles go there, and its deploy role may exist only then (see bootstrap)
            result.status, result.reason = SKIPPED, "management account: touched only when a role names it"
            return result
        federated = catalog.identity.mode == "saml"
        template = member_template(roles, central_id, account.id, options.partition, federated) if roles else None
        return job.run(result, template, _desired_grants(account, roles, options.partition))

    def failed(account: Account, exc: BaseException) -> StackResult:
        result = _blank(account, "member", member_name)
        error = explain_aws_error(exc)
        result.status, result.error, result.error_code = FAILED, str(error), error.code
        return result

    accounts = [resolution.accounts[a] for a in run_account_ids]
    members = run_all(accounts, work, failed, options.concurrency, on_done)
    members.sort(key=lambda r: (r.ou_path.lower(), r.account_name.lower(), r.account_id))
    central = _sync_central(clients, catalog, resolution, members, options, source)
    if on_done is not None:
        on_done(central)
    return SyncOutcome(members, central, options.check, round(time.monotonic() - started, 3), clients.call_log.total())


def _sync_central(
    clients: AwsClients, catalog: Catalog, resolution: Resolution, members: list[StackResult], options: SyncOptions, source: TemplateSource
) -> StackResult:
    central = resolution.central
    result = _blank(central, "central", central_stack_name(catalog))
    roles = {r.name: r for r in catalog.roles}
    grants: dict[str, list[str]] = {}
    in_run = {m.account_id for m in members}
    outside = {a for a, acc in resolution.accounts.items() if a not in in_run and acc.active}
    try:
        if outside:
            # accounts this run does not touch keep the grants the central stack already gives them
            cfn = clients.member_client("cloudformation", central.id, options.partition)
            for role_name, arns in grants_from_template(get_template(cfn, result.stack_name)).items():
                if role_name in roles:
                    grants.setdefault(role_name, []).extend(a for a in arns if account_of_arn(a) in outside)
        for member in members:
            for role_name, arn in member.granted.items():
                grants.setdefault(role_name, []).append(arn)
        template = central_template(
            group_grants(catalog.identity, grants, resolution.accounts),
            grants,
            catalog.identity,
            catalog.settings.stack_prefix,
            catalog.settings.role_path,
            {name: role.mfa_required for name, role in roles.items()},
        )
    except (AwsAccessError, TemplateError) as exc:
        result.status, result.error = FAILED, str(exc)
        result.error_code = getattr(exc, "code", "") or type(exc).__name__
        return result
    result.roles = sorted(name for name, arns in grants.items() if arns)
    result.groups = sorted(g.name for g in catalog.identity.groups)
    central_job = StackJob(clients, options, "apply", source)
    return central_job.run(result, template, {})

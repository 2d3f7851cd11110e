# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operators: how the engine observes, decides, previews and applies each kind of task.

One operator per ``model.Kind``. The engine (``engine.py``) calls them in the same order for every
task; an operator knows one kind's AWS calls (through ``aws/``) and nothing of runs, plans or reports.
A new kind of thing to deploy (guardrail policies, Identity Center, a stack set per role) is a new
operator here plus its renderer, not a new pipeline.

Live verification (``verify: live``) is the same for every kind that owns IAM resources: the deployed
template, evaluated for the account it is in, says what each resource must be (``plan/drift.py``
``expected_state``); IAM says what it is (``aws/iam_state.py`` ``read_state``); what differs is drift,
a planned change (REPAIR when the template itself is up to date), put back with direct IAM calls
(``apply/repair.py``). The base :class:`Operator` does it for one stack (the central and member stacks,
and the bootstrap's plain stacks); :class:`StackSetOperator` for the stack instance in every account.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from ..aws import cloudformation as cfn_ops
from ..aws import stacksets as set_ops
from ..aws.cloudformation import TemplateSource, inline_only
from ..aws.errors import AwsAccessError, explain_aws_error
from ..aws.iam_state import SECRET, read_authorization_details, read_policy_documents, read_state
from ..aws.session import AwsClients
from ..aws.waiters import DEFAULT_CLOCK, Clock
from ..model import STABLE, Action, Decision, Kind, Result, StackState, Task, VerifiedState, fingerprint
from ..plan import diff as D
from ..plan.decide import decide
from ..plan.drift import Drift, compare, expected_state
from ..plan.exposure import attached_aws_policies, outside_access
from ..plan.template_values import TemplateValueError, resolve_template
from ..plan.access import access_changes, central_access, change_lines
from ..render.bootstrap import parse_template
from ..render.central import grants_from_template
from ..render.common import desired_template, stack_tags
from ..render.member import held_role_arns, retain_roles
from .executor import run_all
from .repair import repair


@dataclass
class Context:
    """What every operator may use during one run."""

    clients: AwsClients
    check: bool = False
    diff: bool = False
    timeout: float = 900.0  # one stack operation
    stackset_timeout: float = 3600.0  # one stack set operation
    prune: str = "plan"
    source: TemplateSource = inline_only  # how rendered templates reach CloudFormation
    plan_id: str = ""  # applying a saved plan: tagged on every stack it writes
    clock: Clock = DEFAULT_CLOCK
    on_wait: Callable[[Task, str], None] | None = None
    account_names: dict[str, str] = dataclasses.field(default_factory=dict)  # id -> name, for messages
    # called before the first write of the run (the run lock): returns when the right to write began
    # (time.monotonic()); a task observed before that is observed again before it writes
    before_write: Callable[[], float] | None = None
    # a task that fails on a transient error (throttled past botocore's retries, a dropped connection, a
    # server error) is run again, from its observation, up to this many times in all, after a pause
    task_attempts: int = 3
    retry_pause: float = 5.0
    # "tags": a stack whose hash tag matches is up to date (2 calls); "live": also compare every resource it
    # owns with the live IAM state, and put back what was changed by hand
    verify: str = "tags"
    # check mode: preview an update with a change set (it creates one, then deletes it); False: compare the
    # templates only, with reads alone (a read-only role, the pipeline's plan)
    change_sets: bool = True
    # plain stacks (Kind.STACK, the bootstrap's) verified live, by their orgiam:stack-kind tag: only those whose
    # every IAM resource plan/drift.py accounts for (the deployer, the organization reader)
    live_stack_kinds: frozenset[str] = frozenset()
    # accounts that are not ACTIVE (suspended, closing): a stack set's instances there are not verified
    inactive_accounts: frozenset[str] = frozenset()
    # accounts verified or repaired at once inside one task (a stack set's instances), a bounded pool
    account_concurrency: int = 10
    owned_path: str = "/orgiam/"  # role_path: principals of the central account under it are orgiam's own


# --- live verification, shared by every kind ----------------------------------------------------------


def account_clients(ctx: Context, account_id: str, region: str, template: dict[str, Any]) -> tuple[Any, Any]:
    """IAM in the account (and Secrets Manager, only when the template owns a secret)."""
    iam = ctx.clients.member_client("iam", account_id, region)
    has_secrets = any(r.get("Type") == SECRET for r in (template.get("Resources") or {}).values())
    secrets = ctx.clients.member_client("secretsmanager", account_id, region) if has_secrets else None
    return iam, secrets


def live_drift(ctx: Context, account_id: str, region: str, partition: str, template: dict[str, Any]) -> list[Drift]:
    """What differs between ``template`` (as deployed in the account) and the live IAM state of what it owns."""
    iam, secrets = account_clients(ctx, account_id, region, template)
    expected = expected_state(template, account_id, partition)
    return compare(expected, read_state(iam, template, account_id, partition, secrets))


def put_back(ctx: Context, account_id: str, region: str, partition: str, template: dict[str, Any], drift: list[Drift]) -> list[str]:
    """Repair ``drift`` in the account: the calls made (apply/repair.py); raises RepairError on a failed call."""
    if not drift:
        return []
    iam, secrets = account_clients(ctx, account_id, region, template)
    return repair(iam, drift, expected_state(template, account_id, partition), secrets)


def drift_digest(entries: Iterable[dict[str, Any]]) -> str:
    """A short hash of what was found, for a saved plan's fingerprint: "" for nothing."""
    found = list(entries)
    if not found:
        return ""
    return hashlib.sha256(json.dumps(found, sort_keys=True, default=str).encode()).hexdigest()[:16]


def with_drift(decision: Decision, what: str, after: Iterable[Action] = (Action.UPDATE, Action.CONTINUE_AND_UPDATE)) -> Decision:
    """The decision once drift was found: REPAIR when nothing else was to be done; else the change, then the repair."""
    if decision.action == Action.NOOP:
        return Decision(Action.REPAIR, f"{what}: put back")
    if decision.action in tuple(after):
        return Decision(decision.action, f"{decision.reason}; and {what}, put back after it")
    return decision


def evaluated_template(text: str | None, parameters: dict[str, str], account_id: str, region: str, partition: str,
                       what: str) -> dict[str, Any] | None:
    """A template file's text as CloudFormation makes it in one account (plan/template_values.py)."""
    if text is None:
        return None
    try:
        document = parse_template(text)
        if not isinstance(document, dict):
            raise TemplateValueError("not a CloudFormation template")
        return resolve_template(document, parameters, account_id, region, partition)
    except ValueError as exc:  # TemplateValueError, or text that is neither JSON nor YAML
        raise AwsAccessError(f"{what} cannot be evaluated for live verification: {exc}", "TemplateNotEvaluated") from None


def drift_diff(where: str, drift: list[dict[str, Any]]) -> dict[str, str]:
    """A --diff entry of what was changed by hand: live against desired, one key per drift line."""
    before = {d["line"] if "account_id" not in d else f"{d['account_name']} ({d['account_id']}): {d['line']}": d["before"] for d in drift}
    after = {d["line"] if "account_id" not in d else f"{d['account_name']} ({d['account_id']}): {d['line']}": d["after"] for d in drift}
    return D.diff_entry(where, D.pretty(before), D.pretty(after))


class Operator:
    """The operator of one plain CloudFormation stack (bootstrap's stacks, and the base of the others).

    With ``verify: live`` (for the plain stacks, only those of ``Context.live_stack_kinds``) every resource
    the deployed template owns is read back through IAM and compared (plan/drift.py); what was changed by
    hand is a planned change (REPAIR when the template itself is up to date) and is put back with direct
    IAM calls (apply/repair.py), which leave the stack as CloudFormation last made it, so later updates
    still succeed. A plain stack's template is a file with parameters and intrinsics: it is evaluated
    for its account first (plan/template_values.py)."""

    rendered = False  # templates orgiam renders as data: resource-level diffs and change-set previews

    def client(self, ctx: Context, task: Task) -> Any:
        return ctx.clients.member_client("cloudformation", task.account_id, task.region)

    # --- live verification: the hooks a kind may change ---

    def verifies(self, ctx: Context, task: Task) -> bool:
        """Whether the task's stack is compared with the live IAM state."""
        return ctx.verify == "live" and task.stack_kind in ctx.live_stack_kinds

    def deployed_document(self, ctx: Context, cfn: Any, task: Task) -> dict[str, Any] | None:
        """The deployed template as CloudFormation made it in the task's account (read: GetTemplate, DescribeStacks)."""
        text, parameters = cfn_ops.deployed_text(cfn, task.name)
        return evaluated_template(text, parameters, task.account_id, task.region, task.partition,
                                  f"the deployed template of stack {task.name}")

    def desired_document(self, ctx: Context, task: Task) -> dict[str, Any] | None:
        """The template the task deploys, as CloudFormation makes it in the task's account."""
        desired = task.desired
        return evaluated_template(desired.body, desired.parameters, task.account_id, task.region, task.partition,
                                  f"the template {desired.source_path or task.name}")

    # --- the engine's steps ---

    def observe(self, ctx: Context, cfn: Any, task: Task) -> Any:
        state = cfn_ops.describe_stack(cfn, task.name)
        if not self.verifies(ctx, task) or state is None or not state.managed_by_orgiam or state.status not in STABLE:
            return state
        return self.verified(ctx, cfn, task, state, self.deployed_document(ctx, cfn, task))

    def verified(self, ctx: Context, cfn: Any, task: Task, state: StackState, template: dict[str, Any] | None) -> VerifiedState:
        """The stack with what differs between ``template`` and the live IAM state of what it owns."""
        template = template or {}
        drifts = live_drift(ctx, task.account_id, task.region, task.partition, template)
        return verified_state(state, drifts, template)

    def settle(self, ctx: Context, cfn: Any, task: Task) -> Any:
        """Wait for an operation in progress to end; the state it ends in."""
        return cfn_ops.wait_stable(cfn, task.name, ctx.timeout, ctx.clock, first_delay=1.0)

    def fingerprint(self, state: Any) -> dict[str, str]:
        return fingerprint(state)

    def written_by_plan(self, state: Any, plan_id: str) -> bool:
        """Whether another part of the same saved plan wrote this stack since (then it is not stale)."""
        return bool(plan_id) and isinstance(state, StackState) and state.plan_id == plan_id

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        decision = decide(state, task.desired.hash, ctx.prune)
        if not task.desired.exists and task.reason_if_absent and decision.action in (Action.NOOP, Action.RETAIN, Action.DELETE):
            why = task.reason_if_absent
            reason = {
                Action.NOOP: f"not needed: {why}",
                Action.RETAIN: f"no longer needed ({why}); kept because prune is '{ctx.prune}'",
                Action.DELETE: f"no longer needed ({why}); deleted because prune is 'apply'",
            }[decision.action]
            decision = Decision(decision.action, reason)
        drift = getattr(state, "drift", ())
        if not drift:
            if ctx.verify == "live" and state is not None and not self.verifies(ctx, task):
                result.details.append("not verified live: found up to date by its template hash tag only "
                                      "(live verification covers the IAM resources of orgiam's own templates)")
            return decision
        result.drift = [dict(d.to_dict(), line=d.line()) for d in drift]
        result.plan = [d.line() for d in drift]
        return with_drift(decision, f"{len(drift)} change(s) made by hand to what orgiam owns")

    def preview(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> None:
        """What the change does, for people; a repair shows what was changed by hand (live against desired)."""
        if result.action == Action.REPAIR:
            if ctx.diff:
                result.diff = drift_diff(f"{self.where(task)}, changed by hand", result.drift)
            return
        lines = list(result.plan)
        self.preview_change(ctx, cfn, task, state, result)
        result.plan = lines + [line for line in result.plan if line not in lines]

    def preview_change(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> None:
        """Lines and a --diff of deployed against desired; in check mode, CloudFormation's own view of an update
        (a change set, created and deleted, never executed).

        Reads the deployed template only in check or diff mode: an apply pays no extra call for it."""
        if state is not None and not (ctx.check or ctx.diff):
            return
        deleting = result.action == Action.DELETE
        desired = task.desired
        if self.rendered:
            before_doc = cfn_ops.get_template(cfn, task.name) if state is not None else None
            after_doc = None if deleting else desired.document
            result.changes = D.template_changes(before_doc, after_doc)
            result.access = self.access_changes(task, before_doc, after_doc)
            result.plan = change_lines(result.access, ctx.account_names) + self.describe_changes(before_doc, after_doc)
            before, after = D.pretty(before_doc), D.pretty(after_doc)
        else:
            if state is not None:
                text, parameters = cfn_ops.deployed_text(cfn, task.name)
                before = D.render_text(parameters, text)
            else:
                before = ""
            after = "" if deleting or desired.body is None else D.render_text(desired.parameters, desired.body)
        if ctx.diff:
            result.diff = D.diff_entry(self.where(task), before, after)
        if ctx.check and ctx.change_sets and self.rendered and result.action == Action.UPDATE and desired.body is not None:
            result.change_set = cfn_ops.preview_change_set(
                cfn, task.name, desired.body, self.tags(ctx, task), ctx.timeout, ctx.source, desired.parameters, ctx.clock)

    def describe_changes(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
        """The plan's lines for a rendered template going from ``before`` (deployed) to ``after`` (desired)."""
        return D.describe_changes(before, after)

    def access_changes(self, task: Task, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, str]]:
        """Who gains or loses which role where, when the template says who may assume what (the central stack)."""
        if task.kind != Kind.CENTRAL:
            return []
        return access_changes(central_access(before), central_access(after))

    def where(self, task: Task) -> str:
        """The stack as a --diff header names it."""
        return f"{task.hostname or task.account_id}: {task.name}" if self.rendered else f"{task.account_name}: stack {task.name}"

    def tags(self, ctx: Context, task: Task) -> list[dict[str, str]]:
        return stack_tags(task.stack_kind or str(task.kind), task.desired.hash or "", ctx.plan_id)

    def apply(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Any:
        drift = list(getattr(state, "drift", ()))
        if result.action == Action.REPAIR:
            self.put_back(ctx, task, drift, state.template, result)
            return state
        after = self.apply_change(ctx, cfn, task, state, result)
        if drift and isinstance(after, StackState):
            # CloudFormation changed only what the template changed: put back what is still off
            again = self.verified(ctx, cfn, task, after, self.desired_document(ctx, task))
            self.put_back(ctx, task, list(again.drift), again.template, result)
        return after

    def put_back(self, ctx: Context, task: Task, drift: list[Any], template: Any, result: Result) -> None:
        result.repairs += put_back(ctx, task.account_id, task.region, task.partition, template or {}, drift)

    def apply_change(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Any:
        """The stack operation the decision calls for; the stack after it (None once deleted)."""
        action, name, timeout, desired = result.action, task.name, ctx.timeout, task.desired
        body, params, tags = desired.body, desired.parameters, self.tags(ctx, task)
        if action in (Action.CREATE, Action.UPDATE, Action.RECREATE, Action.CONTINUE_AND_UPDATE) and body is None:
            raise AwsAccessError(f"{action} of {name} has no template", "NoTemplate")
        if action == Action.CREATE:
            return cfn_ops.create_stack(cfn, name, body, tags, timeout, ctx.source, params, ctx.clock)
        if action == Action.UPDATE:
            return cfn_ops.update_stack(cfn, name, body, tags, timeout, ctx.source, params, ctx.clock)
        if action == Action.DELETE:
            cfn_ops.delete_stack(cfn, name, timeout, ctx.clock)
            return None
        if action == Action.RECREATE:
            cfn_ops.delete_stack(cfn, name, timeout, ctx.clock)
            return cfn_ops.create_stack(cfn, name, body, tags, timeout, ctx.source, params, ctx.clock)
        if action == Action.CONTINUE_AND_UPDATE:
            cfn_ops.continue_rollback(cfn, name, timeout, ctx.clock)
            return cfn_ops.update_stack(cfn, name, body, tags, timeout, ctx.source, params, ctx.clock)
        return state


class RenderedOperator(Operator):
    """A stack whose template orgiam renders as data: previewed resource by resource, verified live whenever
    ``verify: live`` says so, and compared as CloudFormation holds it (orgiam's own JSON, deployed as rendered)."""

    rendered = True

    def verifies(self, ctx: Context, task: Task) -> bool:
        return ctx.verify == "live"

    def deployed_document(self, ctx: Context, cfn: Any, task: Task) -> dict[str, Any] | None:
        return cfn_ops.get_template(cfn, task.name)

    def desired_document(self, ctx: Context, task: Task) -> dict[str, Any] | None:
        return task.desired.document

    # an organization-wide stack keeps the resources of this type the catalog dropped, unless prune is 'apply'
    keeps = ""

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        if not self.keeps:
            return super().decide(ctx, cfn, task, state, result)
        deployed, kept = keep_removed(ctx, cfn, task, state, self.keeps)
        if kept:
            task.desired = desired_template(self.with_kept(task.desired.document, deployed, kept))
            result.retained = sorted(str(r["Properties"]["Name"]) for r in kept.values())
            result.reason = self.kept_reason(result.retained, ctx.prune)
        return with_retained(super().decide(ctx, cfn, task, state, result), result)

    def with_kept(self, template: dict[str, Any], deployed: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
        """The desired template with the ``kept`` resources of the ``deployed`` one carried over."""
        return dict(template, Resources={**template["Resources"], **kept})

    def kept_reason(self, names: list[str], prune: str) -> str:
        return f"keeps {', '.join(names)} (no longer in the catalog; prune is '{prune}')"


class CentralOperator(RenderedOperator):
    """The central account's identity stack: a template orgiam renders, previewed resource by resource.

    With ``verify: live`` it is verified like any stack (see :class:`Operator`), and who else in the central
    account may assume orgiam's roles is reported."""

    def verified(self, ctx: Context, cfn: Any, task: Task, state: StackState, template: dict[str, Any] | None) -> VerifiedState:
        verified = super().verified(ctx, cfn, task, state, template)
        if task.kind != Kind.CENTRAL:
            return verified
        # who else in the central account may assume the roles people are granted: reported, never touched
        iam = ctx.clients.member_client("iam", task.account_id, task.region)
        details = read_authorization_details(iam)
        owned = ctx.owned_path
        managed = read_policy_documents(iam, attached_aws_policies(details, owned))
        arns = sorted({arn for arns in grants_from_template(template).values() for arn in arns})
        found = tuple(outside_access(details, owned, arns, managed)) if arns else ()
        return dataclasses.replace(verified, exposure=found)

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        result.exposure = [dict(e) for e in getattr(state, "exposure", ())]
        decision = super().decide(ctx, cfn, task, state, result)
        if task.kind != Kind.CENTRAL or task.desired.document is None or decision.action not in (
                Action.UPDATE, Action.CONTINUE_AND_UPDATE, Action.REPAIR):
            return decision
        retyped = D.type_changes(getattr(state, "template", None) or cfn_ops.get_template(cfn, task.name), task.desired.document)
        if not retyped:
            return decision
        # CloudFormation refuses to change a resource's type under the same logical id: planning it as a
        # modification would fail half-way through the apply
        names = ", ".join(f"{logical} ({old} -> {new})" for logical, (old, new) in list(retyped.items())[:5])
        return Decision(Action.REFUSE, f"{len(retyped)} resource(s) would change type in place, which CloudFormation cannot "
                                       f"do: {names}. This is a change of identity mode (iam_users <-> saml): follow "
                                       "docs/operations.md, 'Changing the identity mode'", "ResourceTypeChange")


class MemberOperator(CentralOperator):
    """A member account's roles stack. Unless prune is 'apply', roles no longer targeted stay in it."""

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        self._keep_retained_roles(ctx, cfn, task, state, result)
        return super().decide(ctx, cfn, task, state, result)

    def _keep_retained_roles(self, ctx: Context, cfn: Any, task: Task, state: StackState | None, result: Result) -> None:
        template = task.desired.document
        if ctx.prune == "apply" or template is None or state is None:
            return
        if not state.managed_by_orgiam or state.status not in STABLE:
            return
        desired_arns = set(held_role_arns({k: v["Value"] for k, v in template.get("Outputs", {}).items()}))
        extra = held_role_arns(state.outputs) - desired_arns
        if not extra:
            return
        merged, kept = retain_roles(template, cfn_ops.get_template(cfn, task.name), task.account_id, extra, task.partition)
        if kept:
            task.desired = desired_template(merged)
            result.retained = kept
            result.reason = f"keeps {', '.join(kept)} (no longer targeted; prune is '{ctx.prune}')"


def keep_removed(ctx: Context, cfn: Any, task: Task, state: StackState | None, rtype: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Resources of ``rtype`` the deployed stack has and the desired template no longer names (by their ``Name``):
    (the deployed template, logical id -> resource kept), for an organization-wide stack whose prune is not 'apply'.
    Nothing is read when prune is 'apply' or the stack is up to date."""
    template = task.desired.document
    if ctx.prune == "apply" or template is None or state is None or not state.managed_by_orgiam:
        return {}, {}
    if state.status not in STABLE or state.template_hash == task.desired.hash:
        return {}, {}
    deployed = cfn_ops.get_template(cfn, task.name) or {}
    wanted = {(r.get("Properties") or {}).get("Name") for r in template["Resources"].values() if r.get("Type") == rtype}
    kept = {logical: resource for logical, resource in (deployed.get("Resources") or {}).items()
            if resource.get("Type") == rtype and (resource.get("Properties") or {}).get("Name") not in wanted}
    return deployed, kept


def verified_state(state: StackState, drifts: Iterable[Drift], template: dict[str, Any]) -> VerifiedState:
    """The stack as observed, with what live verification found different from ``template``."""
    drifts = tuple(drifts)
    fields = {f.name: getattr(state, f.name) for f in dataclasses.fields(StackState)}
    return VerifiedState(**fields, drift=drifts, template=template, digest=drift_digest(d.to_dict() for d in drifts))


def with_retained(decision: Decision, result: Result) -> Decision:
    """The decision, its reason naming what ``keep_removed`` kept (``result.reason``) when it does not yet."""
    if result.retained and result.reason not in decision.reason:
        reason = result.reason if decision.action == Action.NOOP else f"{decision.reason}; {result.reason}"
        return Decision(decision.action, reason, decision.code)
    return decision


@dataclass(frozen=True)
class AccountDrift:
    """What was changed by hand to one account's stack instance, and the template it was compared against."""

    account_id: str
    region: str
    drift: tuple[Drift, ...]
    template: Any = dataclasses.field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class VerifiedStackSet(set_ops.StackSetState):
    """A stack set whose instances were compared, account by account, with the live IAM state (``verify: live``).

    ``verified``: the accounts read; ``drifted``: those where something was changed by hand; ``unverified``:
    (account, why) for those that could not be read; ``skipped``: instances in accounts that are not ACTIVE."""

    verified: tuple[str, ...] = ()
    drifted: tuple[AccountDrift, ...] = ()
    unverified: tuple[tuple[str, str], ...] = ()
    skipped: tuple[str, ...] = ()
    digest: str = ""
    calls: int = 0  # the API calls the verification made in the member accounts


def not_verified(state: Any) -> tuple[tuple[str, str], ...]:
    """(account, why) of every account whose stack instance live verification could not read."""
    return tuple(getattr(state, "unverified", ()))


def current_instances(cfn: Any, name: str, region: str, call_as: str = set_ops.SELF) -> list[tuple[str, str]]:
    """(account, region) of every CURRENT stack instance, one per account (IAM is global), by account."""
    found: dict[str, str] = {}
    try:
        for page in cfn.get_paginator("list_stack_instances").paginate(StackSetName=name, PaginationConfig={"PageSize": 100},
                                                                       **set_ops.as_caller(call_as)):
            for instance in page.get("Summaries", []):
                if str(instance.get("Status", "")) == "CURRENT":
                    found.setdefault(str(instance["Account"]), str(instance.get("Region") or region))
    except Exception as exc:
        raise explain_aws_error(exc, doing=f"list the stack instances of {name}") from None
    return sorted(found.items())


class StackSetOperator(Operator):
    """A service-managed stack set with automatic deployment, deployed to OU targets (bootstrap's deployer).

    With ``verify: live`` the stack instance of every member account is verified too: its account is reached
    through the caller's access role (the bootstrap's: OrganizationAccountAccessRole), the stack set's
    template is evaluated for that account with the stack set's parameters, and what the deployer role
    there holds is compared with it. The deployer role may not change itself (it denies itself ``iam:*``
    on orgiam's own roles), so only the bootstrap, from the management account, can put it back. Accounts
    are read and repaired ``Context.account_concurrency`` at a time; one account's failure stays with it.

    The stack set is addressed from the task's account with the task's ``call_as``: the management account
    (SELF), or the organization's delegated administrator for StackSets (DELEGATED_ADMIN)."""

    def observe(self, ctx: Context, cfn: Any, task: Task) -> Any:
        state = set_ops.describe_stack_set(cfn, task.name, task.call_as)
        if ctx.verify != "live" or state is None or state.status != "ACTIVE" or not state.as_stack_state().managed_by_orgiam \
                or state.permission_model not in ("", set_ops.SERVICE_MANAGED):
            return state
        return self.verified_instances(ctx, cfn, task, state)

    def verified_instances(self, ctx: Context, cfn: Any, task: Task, state: set_ops.StackSetState) -> VerifiedStackSet:
        """The stack set with what differs, account by account, between its template and each instance's IAM state."""
        try:
            template = parse_template(state.template_body)
        except ValueError as exc:
            raise AwsAccessError(f"the template of stack set {task.name} cannot be read: {exc}", "TemplateNotEvaluated") from None
        if not isinstance(template, dict):
            raise AwsAccessError(f"the template of stack set {task.name} is not a CloudFormation template", "TemplateNotEvaluated")
        instances = current_instances(cfn, task.name, task.region, task.call_as)
        reachable = [(account, region) for account, region in instances if account not in ctx.inactive_accounts]
        log = ctx.clients.call_log
        before = sum(log.total(account) for account, _ in reachable)

        def check(item: tuple[str, str]) -> tuple[str, AccountDrift | None, str]:
            account, region = item
            resolved = self._resolve(template, state.parameters, account, region, task)
            return account, AccountDrift(account, region, tuple(live_drift(ctx, account, region, task.partition, resolved)), resolved), ""

        def failed(item: tuple[str, str], exc: BaseException) -> tuple[str, AccountDrift | None, str]:
            return item[0], None, str(explain_aws_error(exc))

        found = sorted(run_all(reachable, check, failed, ctx.account_concurrency), key=lambda entry: entry[0])
        drifted = tuple(entry for _, entry, _ in found if entry is not None and entry.drift)
        digest = drift_digest(dict(d.to_dict(), account_id=e.account_id) for e in drifted for d in e.drift)
        fields = {f.name: getattr(state, f.name) for f in dataclasses.fields(set_ops.StackSetState)}
        return VerifiedStackSet(
            **fields,
            verified=tuple(account for account, entry, _ in found if entry is not None),
            drifted=drifted,
            unverified=tuple((account, error) for account, entry, error in found if entry is None),
            skipped=tuple(account for account, _ in instances if account in ctx.inactive_accounts),
            digest=digest,
            calls=sum(log.total(account) for account, _ in reachable) - before,
        )

    @staticmethod
    def _resolve(template: dict[str, Any], parameters: dict[str, str], account: str, region: str, task: Task) -> dict[str, Any]:
        try:
            return resolve_template(template, parameters, account, region, task.partition)
        except TemplateValueError as exc:
            raise AwsAccessError(f"the template of stack set {task.name} cannot be evaluated for account {account}: {exc}",
                                 "TemplateNotEvaluated") from None

    def settle(self, ctx: Context, cfn: Any, task: Task) -> Any:
        return self.observe(ctx, cfn, task)

    def fingerprint(self, state: Any) -> dict[str, str]:
        if state is None:
            return {}
        seen = fingerprint(state.as_stack_state())
        if isinstance(state, VerifiedStackSet):
            seen["drift"] = state.digest
        return seen

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        decision = self._decide(ctx, cfn, task, state, result)
        if not isinstance(state, VerifiedStackSet) or decision.action == Action.REFUSE:
            return decision
        names = ctx.account_names
        label = lambda account: f"{names.get(account, account)} ({account})"  # noqa: E731
        count = sum(len(entry.drift) for entry in state.drifted)
        result.details.append(
            f"live: the deployer role read in {len(state.verified)} account(s) ({state.calls} API calls there); "
            + (f"{count} change(s) made by hand in {len(state.drifted)} of them" if count else "nothing changed by hand"))
        result.details += [f"! not verified: {label(account)}: {why}" for account, why in state.unverified]
        if state.skipped:
            result.details.append(f"not verified: {len(state.skipped)} account(s) that are not ACTIVE: "
                                  + ", ".join(label(a) for a in state.skipped[:10]) + (" ..." if len(state.skipped) > 10 else ""))
        if not count:
            return decision
        result.drift = [dict(d.to_dict(), line=d.line(), account_id=entry.account_id,
                             account_name=names.get(entry.account_id, entry.account_id))
                        for entry in state.drifted for d in entry.drift]
        result.plan = [f"{label(entry.account_id)}: {d.line()}" for entry in state.drifted for d in entry.drift]
        return with_drift(decision, f"{count} change(s) made by hand to the deployer role in {len(state.drifted)} account(s)",
                          after=(Action.UPDATE, Action.DEPLOY))

    def _decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        desired = task.desired
        if state is not None and state.permission_model not in ("", set_ops.SERVICE_MANAGED):
            return Decision(Action.REFUSE, f"stack set {task.name} exists with {state.permission_model} permissions; "
                                           "delete it or change stack_prefix", "NotServiceManaged")
        decision = decide(state.as_stack_state() if state else None, desired.hash, "never")
        if decision.action == Action.REFUSE:
            return decision
        wanted_auto = desired.extra["auto_deployment"]
        if state is not None and decision.action == Action.NOOP and state.auto_deployment != wanted_auto:
            decision = Decision(Action.UPDATE, f"auto-deployment is {state.auto_deployment}; it must be {wanted_auto}")
        if state is not None and decision.action == Action.NOOP:
            summary = set_ops.instance_summary(cfn, task.name, task.call_as)
            if summary.failed:
                decision = Decision(Action.UPDATE, f"{len(summary.failed)} stack instance(s) are not current; update them all again")
            else:
                result.details.append(f"{summary.current} stack instance(s), all current")
        regions = desired.extra["regions"]
        if state is None or not set(regions) <= set(state.regions):
            result.deploy_to = task.targets
        else:
            result.deploy_to = tuple(t for t in task.targets if t not in set(state.ou_ids))
        reason = decision.reason
        if result.deploy_to:
            reason += f"; deploy to {', '.join(result.deploy_to)} (the root: every member account) in {', '.join(regions)}"
            if decision.action == Action.NOOP:
                return Decision(Action.DEPLOY, reason)
        return Decision(decision.action, reason)

    def preview(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> None:
        if result.action == Action.REPAIR:
            if ctx.diff:
                result.diff = drift_diff(f"{task.account_name}: stackset {task.name}, changed by hand", result.drift)
            return
        if ctx.diff and task.desired.body is not None:
            before = D.render_text(state.parameters, state.template_body) if state is not None else ""
            after = D.render_text(task.desired.parameters, task.desired.body)
            result.diff = D.diff_entry(f"{task.account_name}: stackset {task.name}", before, after)

    def apply(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Any:
        drifted = list(getattr(state, "drifted", ()))
        if result.action == Action.REPAIR:
            failures = self.repair_instances(ctx, task, drifted, result)
            self._raise_repair_failures(ctx, task, failures)
            return state
        desired = task.desired
        assert desired.body is not None
        tags = self.tags(ctx, task)
        auto = dict(desired.extra["auto_deployment"])
        description = f"orgiam: {task.title} (playbooks/bootstrap.yml)"

        call_as = task.call_as

        def wait(operation_id: str) -> None:
            on_wait = ctx.on_wait
            set_ops.wait_operation(cfn, task.name, operation_id, ctx.stackset_timeout, ctx.clock,
                                   on_wait=(lambda status, waited: on_wait(task, f"{status}, {int(waited)} s")) if on_wait else None,
                                   call_as=call_as)

        def settle() -> None:
            running = set_ops.running_operation(cfn, task.name, call_as)
            if running:
                wait(running)

        if result.action == Action.CREATE:
            set_ops.create_stack_set(cfn, task.name, desired.body, desired.parameters, tags, auto, description, call_as)
        elif result.action == Action.UPDATE:
            settle()
            wait(set_ops.update_stack_set(cfn, task.name, desired.body, desired.parameters, tags, auto, description, call_as))
        if result.deploy_to:
            settle()
            wait(set_ops.create_instances(cfn, task.name, list(result.deploy_to), list(desired.extra["regions"]), call_as))
        summary = set_ops.instance_summary(cfn, task.name, call_as)
        result.details.append(f"{summary.current} of {summary.total} stack instance(s) current")
        failures: list[tuple[str, str]] = []
        if drifted:
            # CloudFormation changed only what the template changed: put back what is still off, except where the
            # instance itself failed (its stack is not what the template says; the next run updates it again)
            not_current = {account for account, _, _ in summary.failed}
            failures = self.repair_instances(ctx, task, [e for e in drifted if e.account_id not in not_current], result, again=True)
        if summary.failed:
            names = ctx.account_names
            result.details += summary.lines(names)
            raise AwsAccessError(
                f"stack set {task.name}: {len(summary.failed)} account(s) did not get the deployer role: "
                + "; ".join(summary.lines(names, limit=5)), "StackInstancesFailed")
        self._raise_repair_failures(ctx, task, failures)
        return set_ops.describe_stack_set(cfn, task.name, call_as)

    def repair_instances(self, ctx: Context, task: Task, drifted: list[AccountDrift], result: Result,
                         again: bool = False) -> list[tuple[str, str]]:
        """Put back, account by account in a bounded pool, what was changed by hand; ``again``: read each account
        again first and compare it with the template just deployed. Returns (account, why) of those that failed."""
        names = ctx.account_names
        desired = task.desired

        def fix(entry: AccountDrift) -> tuple[str, list[str], str]:
            template, drift = entry.template, list(entry.drift)
            if again:
                template = evaluated_template(desired.body, desired.parameters, entry.account_id, entry.region, task.partition,
                                              f"the template {desired.source_path or task.name}") or {}
                drift = live_drift(ctx, entry.account_id, entry.region, task.partition, template)
            return entry.account_id, put_back(ctx, entry.account_id, entry.region, task.partition, template, drift), ""

        def failed(entry: AccountDrift, exc: BaseException) -> tuple[str, list[str], str]:
            return entry.account_id, list(getattr(exc, "lines", [])), str(explain_aws_error(exc))

        failures = []
        for account, lines, error in sorted(run_all(drifted, fix, failed, ctx.account_concurrency), key=lambda done: done[0]):
            label = f"{names.get(account, account)} ({account})"
            result.repairs += [f"{label}: {line}" for line in lines]
            if error:
                result.details.append(f"! not put back: {label}: {error}")
                failures.append((account, error))
        return failures

    @staticmethod
    def _raise_repair_failures(ctx: Context, task: Task, failures: list[tuple[str, str]]) -> None:
        if failures:
            names = ctx.account_names
            shown = "; ".join(f"{names.get(a, a)} ({a}): {why}" for a, why in failures[:5])
            more = f"; ... and {len(failures) - 5} more" if len(failures) > 5 else ""
            raise AwsAccessError(f"stack set {task.name}: what was changed by hand could not be put back in {len(failures)} "
                                 f"account(s): {shown}{more}", "RepairFailed")

class TrustedAccessOperator(Operator):
    """StackSets' trusted access with Organizations: observed as enabled or not, activated when not."""

    def observe(self, ctx: Context, cfn: Any, task: Task) -> Any:
        return set_ops.trusted_access_enabled(cfn)

    def settle(self, ctx: Context, cfn: Any, task: Task) -> Any:
        return self.observe(ctx, cfn, task)

    def fingerprint(self, state: Any) -> dict[str, str]:
        return {"enabled": "true" if state else "false"}

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        if state:
            return Decision(Action.NOOP, "enabled")
        return Decision(Action.ACTIVATE, "StackSets may not deploy through Organizations yet")

    def preview(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> None:
        return None

    def apply(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Any:
        if result.action == Action.ACTIVATE:
            set_ops.activate_trusted_access(cfn)
            return True
        return state


OPERATORS: dict[Kind, Operator] = {
    Kind.MEMBER: MemberOperator(),
    Kind.CENTRAL: CentralOperator(),
    Kind.STACK: Operator(),
    Kind.STACKSET: StackSetOperator(),
    Kind.TRUSTED_ACCESS: TrustedAccessOperator(),
}

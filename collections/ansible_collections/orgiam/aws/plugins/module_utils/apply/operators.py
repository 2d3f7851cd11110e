# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operators: how the engine observes, decides, previews and applies each kind of task.

One operator per ``model.Kind``. The engine (``engine.py``) calls them in the same order for every
task; an operator knows one kind's AWS calls (through ``aws/``) and nothing of runs, plans or reports.
A new kind of thing to deploy (guardrail policies, Identity Center, a stack set per role) is a new
operator here plus its renderer, not a new pipeline.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Callable

from ..aws import cloudformation as cfn_ops
from ..aws import stacksets as set_ops
from ..aws.cloudformation import TemplateSource, inline_only
from ..aws.errors import AwsAccessError
from ..aws.session import AwsClients
from ..aws.waiters import DEFAULT_CLOCK, Clock
from ..model import STABLE, Action, Decision, Kind, Result, StackState, Task, VerifiedState, fingerprint
from ..aws.iam_state import read_state
from ..plan import diff as D
from ..plan.decide import decide
from ..plan.drift import compare, expected_state
from .repair import repair
from ..render.common import desired_template, stack_tags
from ..render.member import held_role_arns, retain_roles


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


class Operator:
    """The operator of one plain CloudFormation stack (bootstrap's stacks, and the base of the others)."""

    rendered = False  # templates orgiam renders as data: resource-level diffs and change-set previews

    def client(self, ctx: Context, task: Task) -> Any:
        return ctx.clients.member_client("cloudformation", task.account_id, task.region)

    def observe(self, ctx: Context, cfn: Any, task: Task) -> Any:
        return cfn_ops.describe_stack(cfn, task.name)

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
        return decision

    def preview(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> None:
        """What the change does, for people: lines and a --diff of deployed against desired; in check mode,
        CloudFormation's own view of an update (a change set, created and deleted, never executed).

        Reads the deployed template only in check or diff mode: an apply pays no extra call for it."""
        if state is not None and not (ctx.check or ctx.diff):
            return
        deleting = result.action == Action.DELETE
        desired = task.desired
        if self.rendered:
            before_doc = cfn_ops.get_template(cfn, task.name) if state is not None else None
            after_doc = None if deleting else desired.document
            result.changes = D.template_changes(before_doc, after_doc)
            result.plan = D.describe_changes(before_doc, after_doc)
            before, after = D.pretty(before_doc), D.pretty(after_doc)
            where = f"{task.hostname or task.account_id}: {task.name}"
        else:
            if state is not None:
                text, parameters = cfn_ops.deployed_text(cfn, task.name)
                before = D.render_text(parameters, text)
            else:
                before = ""
            after = "" if deleting or desired.body is None else D.render_text(desired.parameters, desired.body)
            where = f"{task.account_name}: stack {task.name}"
        if ctx.diff:
            result.diff = D.diff_entry(where, before, after)
        if ctx.check and self.rendered and result.action == Action.UPDATE and desired.body is not None:
            result.change_set = cfn_ops.preview_change_set(
                cfn, task.name, desired.body, self.tags(ctx, task), ctx.timeout, ctx.source, desired.parameters, ctx.clock)

    def tags(self, ctx: Context, task: Task) -> list[dict[str, str]]:
        return stack_tags(task.stack_kind or str(task.kind), task.desired.hash or "", ctx.plan_id)

    def apply(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Any:
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


class CentralOperator(Operator):
    """The central account's identity stack: a template orgiam renders, previewed resource by resource.

    With ``verify: live`` every resource the deployed template owns is read back through IAM and compared
    (plan/drift.py); what was changed by hand is a planned change (REPAIR when the template itself is up
    to date) and is put back with direct IAM calls (apply/repair.py), which leave the stack as
    CloudFormation last made it, so later updates still succeed."""

    rendered = True

    def observe(self, ctx: Context, cfn: Any, task: Task) -> Any:
        state = cfn_ops.describe_stack(cfn, task.name)
        if ctx.verify != "live" or state is None or not state.managed_by_orgiam or state.status not in STABLE:
            return state
        return self.verified(ctx, cfn, task, state, cfn_ops.get_template(cfn, task.name))

    def verified(self, ctx: Context, cfn: Any, task: Task, state: StackState, template: dict[str, Any] | None) -> VerifiedState:
        """The stack with what differs between ``template`` and the live IAM state of what it owns."""
        template = template or {}
        iam, secrets = self._iam(ctx, task, template)
        expected = expected_state(template, task.account_id, task.partition)
        drifts = compare(expected, read_state(iam, template, task.account_id, task.partition, secrets))
        digest = hashlib.sha256(json.dumps([d.to_dict() for d in drifts], sort_keys=True, default=str).encode()).hexdigest()[:16]
        fields = {f.name: getattr(state, f.name) for f in dataclasses.fields(StackState)}
        return VerifiedState(**fields, drift=tuple(drifts), template=template, digest=digest if drifts else "")

    @staticmethod
    def _iam(ctx: Context, task: Task, template: dict[str, Any]) -> tuple[Any, Any]:
        iam = ctx.clients.member_client("iam", task.account_id, task.region)
        has_secrets = any(r.get("Type") == "AWS::SecretsManager::Secret" for r in (template.get("Resources") or {}).values())
        secrets = ctx.clients.member_client("secretsmanager", task.account_id, task.region) if has_secrets else None
        return iam, secrets

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        decision = super().decide(ctx, cfn, task, state, result)
        drift = getattr(state, "drift", ())
        if not drift:
            return decision
        result.drift = [dict(d.to_dict(), line=d.line()) for d in drift]
        result.plan = [d.line() for d in drift]
        what = f"{len(drift)} change(s) made by hand to what orgiam owns"
        if decision.action == Action.NOOP:
            return Decision(Action.REPAIR, f"{what}: put back")
        if decision.action in (Action.UPDATE, Action.CONTINUE_AND_UPDATE):
            return Decision(decision.action, f"{decision.reason}; and {what}, put back after it")
        return decision

    def preview(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> None:
        if result.action != Action.REPAIR:
            lines = list(result.plan)
            super().preview(ctx, cfn, task, state, result)
            result.plan = lines + [line for line in result.plan if line not in lines]
            return
        if ctx.diff:
            before = {d["line"]: d["before"] for d in result.drift}
            after = {d["line"]: d["after"] for d in result.drift}
            result.diff = D.diff_entry(f"{task.hostname or task.account_id}: {task.name}, changed by hand",
                                       D.pretty(before), D.pretty(after))

    def apply(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Any:
        drift = list(getattr(state, "drift", ()))
        if result.action == Action.REPAIR:
            self._repair(ctx, task, drift, state.template, result)
            return state
        after = super().apply(ctx, cfn, task, state, result)
        if drift and isinstance(after, StackState):
            # CloudFormation changed only what the template changed: put back what is still off
            again = self.verified(ctx, cfn, task, after, task.desired.document)
            self._repair(ctx, task, list(again.drift), again.template, result)
        return after

    def _repair(self, ctx: Context, task: Task, drift: list[Any], template: Any, result: Result) -> None:
        if not drift:
            return
        iam, secrets = self._iam(ctx, task, template or {})
        result.repairs += repair(iam, drift, expected_state(template or {}, task.account_id, task.partition), secrets)


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


class StackSetOperator(Operator):
    """A service-managed stack set with automatic deployment, deployed to OU targets (bootstrap's deployer)."""

    def observe(self, ctx: Context, cfn: Any, task: Task) -> Any:
        return set_ops.describe_stack_set(cfn, task.name)

    def settle(self, ctx: Context, cfn: Any, task: Task) -> Any:
        return self.observe(ctx, cfn, task)

    def fingerprint(self, state: Any) -> dict[str, str]:
        return fingerprint(state.as_stack_state()) if state is not None else {}

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
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
            summary = set_ops.instance_summary(cfn, task.name)
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
        if ctx.diff and task.desired.body is not None:
            before = D.render_text(state.parameters, state.template_body) if state is not None else ""
            after = D.render_text(task.desired.parameters, task.desired.body)
            result.diff = D.diff_entry(f"{task.account_name}: stackset {task.name}", before, after)

    def apply(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Any:
        desired = task.desired
        assert desired.body is not None
        tags = self.tags(ctx, task)
        auto = dict(desired.extra["auto_deployment"])
        description = f"orgiam: {task.title} (playbooks/bootstrap.yml)"

        def wait(operation_id: str) -> None:
            on_wait = ctx.on_wait
            set_ops.wait_operation(cfn, task.name, operation_id, ctx.stackset_timeout, ctx.clock,
                                   on_wait=(lambda status, waited: on_wait(task, f"{status}, {int(waited)} s")) if on_wait else None)

        def settle() -> None:
            running = set_ops.running_operation(cfn, task.name)
            if running:
                wait(running)

        if result.action == Action.CREATE:
            set_ops.create_stack_set(cfn, task.name, desired.body, desired.parameters, tags, auto, description)
        elif result.action == Action.UPDATE:
            settle()
            wait(set_ops.update_stack_set(cfn, task.name, desired.body, desired.parameters, tags, auto, description))
        if result.deploy_to:
            settle()
            wait(set_ops.create_instances(cfn, task.name, list(result.deploy_to), list(desired.extra["regions"])))
        summary = set_ops.instance_summary(cfn, task.name)
        result.details.append(f"{summary.current} of {summary.total} stack instance(s) current")
        if summary.failed:
            names = ctx.account_names
            result.details += summary.lines(names)
            raise AwsAccessError(
                f"stack set {task.name}: {len(summary.failed)} account(s) did not get the deployer role: "
                + "; ".join(summary.lines(names, limit=5)), "StackInstancesFailed")
        return set_ops.describe_stack_set(cfn, task.name)


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

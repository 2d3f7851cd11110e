# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator of one catalog role's service-managed stack set (``engine: stacksets``, ``Kind.ROLE_STACKSET``).

Observe: DescribeStackSet and the paged ListStackInstances, whatever the number of accounts (a no-op is
these two calls, and one more per 100 instances). Decide: the stack set from its template hash tag and
auto-deployment setting, as a stack from its tag; its instances from the accounts the catalog gives the role
(``plan/stacksets.py``): created where missing, deployed again where not CURRENT, deleted where no longer
targeted when prune is 'apply' (kept, and no longer granted, otherwise), and the role's OUs added as targets
for auto-deployment. Apply: one StackSets operation per kind of change, each waited for; an operation that
fails, or instances that fail, never stop the others: the run goes on, then the task fails naming the
accounts, and only CURRENT instances earn grants in the central stack.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from ..aws import stacksets as set_ops
from ..aws.errors import AwsAccessError
from ..model import Action, Decision, Result, Task
from ..plan import diff as D
from ..plan.decide import decide
from ..plan.stacksets import InstanceChanges, RoleTargets, account_targets, instance_changes, ou_targets
from ..render.bootstrap import parse_template
from ..render.common import stack_tags
from .operators import Context, Operator


@dataclass(frozen=True)
class RoleSetState:
    """A role's stack set as observed: the stack set (None: there is none) and account -> (status, reason)."""

    stack_set: set_ops.StackSetState | None
    instances: dict[str, tuple[str, str]] = field(default_factory=dict)

    def current(self) -> set[str]:
        return {a for a, (status, _) in self.instances.items() if status == "CURRENT"}


def instances_digest(instances: dict[str, tuple[str, str]]) -> str:
    text = ",".join(f"{a}:{s}" for a, (s, _) in sorted(instances.items()))
    return hashlib.sha256(text.encode()).hexdigest()[:16] if text else ""


class RoleStackSetOperator(Operator):
    """See the module's docstring. The task's ``desired.extra`` holds what the sync worked out (pure, from the
    catalog and the inventory): ``targets`` (plan.stacksets.RoleTargets), ``scope`` (accounts this run may change),
    ``parents`` (account -> parent OU id), ``regions``, ``preferences`` (OperationPreferences), ``names`` (account
    id -> name) and ``defer`` (accounts whose instances wait for their direct stack to go: an engine switch)."""

    rendered = True

    def observe(self, ctx: Context, cfn: Any, task: Task) -> Any:
        stack_set = set_ops.describe_stack_set(cfn, task.name, task.call_as)
        if stack_set is None:
            return RoleSetState(None)
        return RoleSetState(stack_set, set_ops.instance_statuses(cfn, task.name, task.call_as))

    def settle(self, ctx: Context, cfn: Any, task: Task) -> Any:
        return self.observe(ctx, cfn, task)

    def fingerprint(self, state: Any) -> dict[str, str]:
        if state is None or state.stack_set is None:
            return {}
        ss = state.stack_set
        return {"status": ss.status, "hash": ss.tags.get("orgiam:template-hash", ""), "stack_id": "",
                "instances": instances_digest(state.instances), "ou_ids": ",".join(ss.ou_ids)}

    def written_by_plan(self, state: Any, plan_id: str) -> bool:
        ss = getattr(state, "stack_set", None)
        return bool(plan_id) and ss is not None and ss.tags.get("orgiam:plan-id") == plan_id

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        extra = task.desired.extra
        ss = state.stack_set if state is not None else None
        if ss is not None and ss.permission_model not in ("", set_ops.SERVICE_MANAGED):
            return Decision(Action.REFUSE, f"stack set {task.name} exists with {ss.permission_model} permissions; delete it "
                                           "or change stack_prefix", "NotServiceManaged")
        if not task.desired.exists:
            decision = decide(ss.as_stack_state() if ss else None, None, ctx.prune)
            why = task.reason_if_absent or "no account gets this role through StackSets"
            if decision.action == Action.DELETE:
                result.plan = [f"- {self._label(task, a)}: loses {task.title}" for a in sorted(state.instances)]
                return Decision(Action.DELETE, f"{why}: its {len(state.instances)} instance(s) and the stack set are deleted "
                                               "(prune: apply)")
            if decision.action == Action.RETAIN:
                return Decision(Action.RETAIN, f"{why}; kept with its {len(state.instances)} instance(s) because prune is "
                                               f"'{ctx.prune}' (nobody is granted it)")
            return decision if decision.action == Action.REFUSE else Decision(Action.NOOP, f"not needed: {why}")
        targets: RoleTargets = extra["targets"]
        decision = decide(ss.as_stack_state() if ss else None, task.desired.hash, "never")
        if decision.action == Action.REFUSE:
            return decision
        stale = stale_ou_targets(task, ss)
        wanted_auto = auto_deployment(task, ss)
        if stale:
            result.details.append(
                f"auto-deployment off: the stack set still targets OU(s) {', '.join(stale)}, which the role no longer names "
                "(AWS keeps an OU as a target while instances made through it remain); a new account gets the role at "
                "the next run (docs/operations.md, 'StackSets engine')")
        if ss is not None and decision.action == Action.NOOP and ss.auto_deployment != wanted_auto:
            decision = Decision(Action.UPDATE, f"auto-deployment is {ss.auto_deployment}; it must be {wanted_auto}")
        observed = {a: status for a, (status, _) in (state.instances if state else {}).items()}
        changes, retained = instance_changes(targets, observed, ss.ou_ids if ss else (), set(extra["scope"]),
                                             extra["parents"], ctx.prune)
        result.deploy_to = changes.encoded()
        result.plan = self.instance_lines(task, changes, retained, state)
        if not targets.auto:
            result.details.append(f"auto-deployment off: {targets.why_not_auto}; a new account gets it at the next run")
        if retained:
            result.details.append(f"kept in {len(retained)} account(s) no longer targeted (prune is '{ctx.prune}'), granted to "
                                  "nobody: " + ", ".join(self._label(task, a) for a in retained[:10]))
        if ctx.verify == "live":
            result.details.append("not verified live: stack instances are found up to date by the stack set's hash tag "
                                  "and their status only (live verification covers direct stacks)")
        current = len(state.current()) if state else 0
        result.details.append(f"{current} stack instance(s) current, {len(targets.accounts)} wanted")
        reason = decision.reason if decision.action != Action.CREATE else "new stack set"
        if changes.any:
            parts = [f"{n} {what}" for n, what in ((len(changes.create), "to create"), (len(changes.again), "to deploy again"),
                                                    (len(changes.delete), "to delete")) if n]
            if changes.ou_ids:
                parts.append(f"OU target(s) {', '.join(changes.ou_ids)} to add (auto-deployment)")
            reason += "; instances: " + ", ".join(parts)
            if decision.action == Action.NOOP:
                return Decision(Action.DEPLOY, reason)
        return Decision(decision.action, reason)

    def instance_lines(self, task: Task, changes: InstanceChanges, retained: tuple[str, ...], state: Any) -> list[str]:
        """Which accounts gain or lose the role, as the plan says it."""
        role = task.title
        lines = [f"+ {self._label(task, a)}: gets {role}" for a in sorted(changes.create)]
        lines += [f"~ {self._label(task, a)}: {role} deployed again (instance {state.instances[a][0]})" for a in changes.again]
        lines += [f"- {self._label(task, a)}: loses {role}" for a in sorted(changes.delete)]
        lines += [f"= {self._label(task, a)}: keeps {role}, no longer granted (prune)" for a in retained]
        lines += [f"+ OU {ou}: target with auto-deployment (accounts created in or moved into it get {role})" for ou in changes.ou_ids]
        return lines

    @staticmethod
    def _label(task: Task, account: str) -> str:
        names = task.desired.extra.get("names") or {}
        return f"{names.get(account, account)} ({account})"

    def preview(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> None:
        if not (ctx.check or ctx.diff):
            return
        ss = state.stack_set if state is not None else None
        before_doc = _document(ss.template_body) if ss is not None else None
        after_doc = None if result.action == Action.DELETE else task.desired.document
        template_lines = D.describe_changes(before_doc, after_doc) if before_doc != after_doc else []
        result.changes = D.template_changes(before_doc, after_doc)
        result.plan = template_lines + [line for line in result.plan if line not in template_lines]
        if ctx.diff:
            have = sorted(state.instances) if state is not None else []
            changes = InstanceChanges.decoded(result.deploy_to)
            want = [] if after_doc is None else sorted((set(have) | set(changes.create)) - set(changes.delete))
            names = task.desired.extra.get("names") or {}
            before = D.pretty(before_doc) + "\n" + "".join(f"instance: {names.get(a, a)} ({a})\n" for a in have)
            after = D.pretty(after_doc) + "\n" + "".join(f"instance: {names.get(a, a)} ({a})\n" for a in want)
            result.diff = D.diff_entry(f"{task.account_name}: stackset {task.name}", before, after)

    def tags(self, ctx: Context, task: Task) -> list[dict[str, str]]:
        return stack_tags(task.stack_kind or str(task.kind), task.desired.hash or "", ctx.plan_id)

    def apply(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Any:
        extra = task.desired.extra
        call_as = task.call_as
        regions = list(extra.get("regions") or [task.region])
        preferences = extra.get("preferences")
        errors: list[str] = []

        def wait(operation_id: str) -> None:
            try:
                set_ops.wait_operation(cfn, task.name, operation_id, ctx.stackset_timeout, ctx.clock, call_as=call_as)
            except AwsAccessError as exc:  # the instances say which accounts failed; the other steps go on
                errors.append(str(exc))

        def step(start: Any) -> None:
            """One StackSets operation: started, then waited for; a refusal is kept and the next step goes on."""
            try:
                settle()
                wait(start())
            except AwsAccessError as exc:
                errors.append(str(exc))

        def settle() -> None:
            running = set_ops.running_operation(cfn, task.name, call_as)
            if running:
                wait(running)

        if result.action == Action.DELETE:
            return self._delete(ctx, cfn, task, state, result, regions, preferences, settle, wait, errors)
        desired = task.desired
        assert desired.body is not None
        targets: RoleTargets = extra["targets"]
        auto = auto_deployment(task, state.stack_set if state is not None else None)
        description = f"orgiam: role {task.title} (roles_catalog/, engine: stacksets)"
        if result.action == Action.CREATE:
            set_ops.create_stack_set(cfn, task.name, desired.body, {}, self.tags(ctx, task), auto, description, call_as)
        elif result.action == Action.UPDATE:
            step(lambda: set_ops.update_stack_set(cfn, task.name, desired.body, {}, self.tags(ctx, task), auto, description,
                                                  call_as, preferences))
        changes = InstanceChanges.decoded(result.deploy_to)
        defer = set(extra.get("defer") or ())
        again = {a: extra["parents"][a] for a in changes.again if extra["parents"].get(a)}
        if again and result.action != Action.UPDATE:  # an update reaches every instance already
            step(lambda: set_ops.update_stack_set(cfn, task.name, desired.body, {}, self.tags(ctx, task), auto, description,
                                                  call_as, preferences, account_targets(again), regions))
        if changes.ou_ids and not defer:  # during a switch, once every account's direct stack is gone (add_ou_targets)
            # the accounts that must not have it are left out
            step(lambda: set_ops.create_instances(cfn, task.name, list(changes.ou_ids), regions, call_as,
                                                  ou_targets(changes.ou_ids, set(targets.excluded) | defer), preferences))
        create = {a: ou for a, ou in changes.create.items() if a not in defer}
        if create and changes.ou_ids and not defer:  # the OU targets reached some of them
            have = set_ops.instance_statuses(cfn, task.name, call_as)
            create = {a: ou for a, ou in create.items() if a not in have}
        if create:
            step(lambda: set_ops.create_instances(cfn, task.name, [], regions, call_as, account_targets(create), preferences))
        if changes.delete:
            step(lambda: set_ops.delete_instances(cfn, task.name, account_targets(changes.delete), regions, call_as, preferences))
        after = self.observe(ctx, cfn, task)
        self.check_instances(task, after, errors, result, defer)
        return after

    def deploy_accounts(self, ctx: Context, cfn: Any, task: Task, accounts: dict[str, str]) -> list[str]:
        """Create the instances of ``accounts`` (account -> parent OU), one operation; the errors (a switch's batch)."""
        errors: list[str] = []
        running = set_ops.running_operation(cfn, task.name, task.call_as)
        extra = task.desired.extra
        regions = list(extra.get("regions") or [task.region])
        try:
            if running:
                set_ops.wait_operation(cfn, task.name, running, ctx.stackset_timeout, ctx.clock, call_as=task.call_as)
            operation = set_ops.create_instances(cfn, task.name, [], regions, task.call_as, account_targets(accounts),
                                                 extra.get("preferences"))
            set_ops.wait_operation(cfn, task.name, operation, ctx.stackset_timeout, ctx.clock, call_as=task.call_as)
        except AwsAccessError as exc:
            errors.append(str(exc))
        return errors

    def add_ou_targets(self, ctx: Context, cfn: Any, task: Task, ou_ids: list[str], left_out: set[str]) -> list[str]:
        """Make ``ou_ids`` targets of the stack set (auto-deployment), every account under them but ``left_out`` and the
        role's exclusions getting its instance; the errors. After a switch: no direct stack is left to collide with."""
        extra = task.desired.extra
        targets: RoleTargets = extra["targets"]
        try:
            running = set_ops.running_operation(cfn, task.name, task.call_as)
            if running:
                set_ops.wait_operation(cfn, task.name, running, ctx.stackset_timeout, ctx.clock, call_as=task.call_as)
            operation = set_ops.create_instances(cfn, task.name, ou_ids, list(extra.get("regions") or [task.region]),
                                                 task.call_as, ou_targets(ou_ids, set(targets.excluded) | left_out),
                                                 extra.get("preferences"))
            set_ops.wait_operation(cfn, task.name, operation, ctx.stackset_timeout, ctx.clock, call_as=task.call_as)
        except AwsAccessError as exc:
            return [str(exc)]
        return []

    def check_instances(self, task: Task, state: RoleSetState, errors: list[str], result: Result, defer: set[str]) -> None:
        """Fail the task (after everything was done) when a wanted account's instance is not CURRENT."""
        targets: RoleTargets = task.desired.extra["targets"]
        scope = set(task.desired.extra["scope"])
        failed = sorted(a for a in targets.accounts if a in scope and a not in defer and state.instances.get(a, ("MISSING", ""))[0] != "CURRENT")
        result.details.append(f"{len(state.current())} stack instance(s) current")
        result.details += [f"! {error}" for error in errors]
        if not failed and not errors:
            return
        shown = [f"{self._label(task, a)}: {state.instances.get(a, ('MISSING', 'no instance'))[0]}"
                 + (f": {state.instances[a][1]}" if state.instances.get(a, ('', ''))[1] else "") for a in failed[:10]]
        result.details += shown + ([f"... and {len(failed) - 10} more"] if len(failed) > 10 else [])
        result.state = state  # what exists after the run: the central stack grants only CURRENT instances
        what = f"{len(failed)} account(s) did not get role {task.title}: " + "; ".join(shown[:5]) if failed else "; ".join(errors)
        raise AwsAccessError(f"stack set {task.name}: {what}", "StackInstancesFailed")

    def _delete(self, ctx: Context, cfn: Any, task: Task, state: RoleSetState, result: Result, regions: list[str], preferences: Any,
                settle: Any, wait: Any, errors: list[str]) -> Any:
        parents: dict[str, str] = task.desired.extra.get("parents") or {}
        have = {a: parents[a] for a in state.instances if parents.get(a)}
        unknown = sorted(set(state.instances) - set(have))
        if have:
            try:
                settle()
                wait(set_ops.delete_instances(cfn, task.name, account_targets(have), regions, task.call_as, preferences))
            except AwsAccessError as exc:
                errors.append(str(exc))
        after = self.observe(ctx, cfn, task)
        if after.instances:
            result.state = after
            raise AwsAccessError(f"stack set {task.name}: {len(after.instances)} instance(s) left"
                                 + (f" (in accounts outside the inventory: {', '.join(unknown[:5])})" if unknown else "")
                                 + ("; " + "; ".join(errors) if errors else "") + "; the stack set is kept", "StackInstancesLeft")
        set_ops.delete_stack_set(cfn, task.name, task.call_as)
        return None


def stale_ou_targets(task: Task, stack_set: set_ops.StackSetState | None) -> list[str]:
    """OU targets of an auto-deployed role's stack set that are not under any OU the role names now: while they are
    there, auto-deployment would give the role to accounts created in or moved into them."""
    targets: RoleTargets = task.desired.extra["targets"]
    if stack_set is None or not targets.auto:
        return []
    paths: dict[str, str] = task.desired.extra.get("ou_paths") or {}
    wanted = [paths[o].lower() for o in targets.ou_ids if o in paths]

    def covered(ou_id: str) -> bool:
        path = paths.get(ou_id)
        return path is not None and any(path.lower() == w or path.lower().startswith(w + "/") or w == "" for w in wanted)

    return [o for o in stack_set.ou_ids if not covered(o)]


def auto_deployment(task: Task, stack_set: set_ops.StackSetState | None) -> dict[str, bool]:
    """The stack set's AutoDeployment: on when the role's OUs say who gets it and no other OU is a target."""
    targets: RoleTargets = task.desired.extra["targets"]
    return {"Enabled": targets.auto and not stale_ou_targets(task, stack_set), "RetainStacksOnAccountRemoval": False}


def _document(body: str) -> dict[str, Any] | None:
    if not body:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        document = parse_template(body)
    return document if isinstance(document, dict) else None

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Operators of the bootstrap's Organizations settings (``pipeline.delegated_admin``), made in the
management account: the delegated administrator for StackSets, and orgiam's statement in the
organization's resource-based delegation policy.

Both are tasks of the same engine as the stacks (observe, decide, preview, apply); neither is a stack, so
neither has a template hash: what is observed is compared with what is wanted, each time. Nothing is ever
taken away: orgiam does not deregister an account, and it changes only its own statement of the policy
(found by its Sid), keeping every other statement as it is.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from ..aws import organizations as org_ops
from ..model import Action, Decision, Kind, Result, Task
from ..plan import diff as D
from ..render.bootstrap import orgiam_statement, policy_statements, same_statement, with_statement
from .operators import Context, Operator


class OrganizationsOperator(Operator):
    """The management account's Organizations client, for a task of the management account."""

    def client(self, ctx: Context, task: Task) -> Any:
        return ctx.clients.member_client("organizations", task.account_id, task.region)

    def settle(self, ctx: Context, cfn: Any, task: Task) -> Any:
        return self.observe(ctx, cfn, task)


class DelegatedAdminOperator(OrganizationsOperator):
    """An account registered as delegated administrator for a service (StackSets): registered when it is not.

    ``task.desired.extra``: ``account_id`` and ``service_principal``. Already registered (for this service;
    for others too, which does not matter) is no change."""

    def observe(self, ctx: Context, org: Any, task: Task) -> Any:
        return task.desired.extra["account_id"] in org_ops.delegated_administrators(org, task.desired.extra["service_principal"])

    def fingerprint(self, state: Any) -> dict[str, str]:
        return {"enabled": "true" if state else "false"}

    def decide(self, ctx: Context, org: Any, task: Task, state: Any, result: Result) -> Decision:
        if state:
            return Decision(Action.NOOP, "registered")
        account = task.desired.extra["account_id"]
        return Decision(Action.ACTIVATE, f"register {ctx.account_names.get(account, account)} ({account}) as delegated "
                                         f"administrator for {task.desired.extra['service_principal']}")

    def preview(self, ctx: Context, org: Any, task: Task, state: Any, result: Result) -> None:
        return None

    def apply(self, ctx: Context, org: Any, task: Task, state: Any, result: Result) -> Any:
        if result.action == Action.ACTIVATE:
            extra = task.desired.extra
            if not org_ops.register_delegated_administrator(org, extra["account_id"], extra["service_principal"]):
                result.details.append("it was registered meanwhile")
            return True
        return state


@dataclass(frozen=True)
class PolicyState:
    """The organization's delegation policy: ``document`` None when it has none."""

    document: dict[str, Any] | None

    @property
    def statement(self) -> dict[str, Any] | None:
        return orgiam_statement(self.document)


class DelegationPolicyOperator(OrganizationsOperator):
    """orgiam's statement in the organization's resource-based delegation policy: put in place (or back, when
    it was changed by hand) with every other statement kept. ``task.desired.extra["statement"]``."""

    def observe(self, ctx: Context, org: Any, task: Task) -> Any:
        return PolicyState(org_ops.resource_policy(org))

    def fingerprint(self, state: Any) -> dict[str, str]:
        statement = state.statement if state is not None else None
        if statement is None:
            return {}
        return {"hash": hashlib.sha256(json.dumps(statement, sort_keys=True).encode()).hexdigest()[:16]}

    def decide(self, ctx: Context, org: Any, task: Task, state: Any, result: Result) -> Decision:
        wanted = task.desired.extra["statement"]
        found = state.statement
        others = len(policy_statements(state.document)) - (found is not None)
        kept = f"; {others} other statement(s) kept as they are" if others else ""
        if same_statement(found, wanted):
            return Decision(Action.NOOP, "orgiam's statement is in place" + kept)
        if state.document is None:
            return Decision(Action.CREATE, "the organization has no delegation policy: create it with orgiam's statement")
        if found is None:
            return Decision(Action.UPDATE, "add orgiam's statement" + kept)
        return Decision(Action.UPDATE, "orgiam's statement differs from what bootstrap puts there: put it back" + kept)

    def preview(self, ctx: Context, org: Any, task: Task, state: Any, result: Result) -> None:
        wanted = task.desired.extra["statement"]
        result.plan = [f"{'~' if state.statement else '+'} statement {wanted['Sid']}: {', '.join(wanted['Action'])} "
                       f"for {wanted['Principal']['AWS']}"]
        if ctx.diff:
            before = D.pretty(state.document) if state.document is not None else ""
            result.diff = D.diff_entry(f"{task.account_name}: Organizations delegation policy", before,
                                       D.pretty(with_statement(state.document, wanted)))

    def apply(self, ctx: Context, org: Any, task: Task, state: Any, result: Result) -> Any:
        if result.action in (Action.CREATE, Action.UPDATE):
            document = with_statement(state.document, task.desired.extra["statement"])
            org_ops.put_resource_policy(org, document)
            return PolicyState(document)
        return state


class PolicyTypesOperator(OrganizationsOperator):
    """The policy types the catalog's organization policies need, enabled on the root when they are not.

    ``task.desired.extra``: ``types`` (SERVICE_CONTROL_POLICY, RESOURCE_CONTROL_POLICY). Enabling a type
    makes Organizations attach its AWS policy (FullAWSAccess, RCPFullAWSAccess) everywhere: nothing is
    denied until the catalog's policies are attached. orgiam never disables a type."""

    def observe(self, ctx: Context, org: Any, task: Task) -> Any:
        root, enabled = org_ops.root_policy_types(org)
        return {"root": root, "enabled": sorted(enabled)}

    def fingerprint(self, state: Any) -> dict[str, str]:
        return {"enabled": ",".join(state["enabled"])}

    def decide(self, ctx: Context, org: Any, task: Task, state: Any, result: Result) -> Decision:
        missing = sorted(set(task.desired.extra["types"]) - set(state["enabled"]))
        if not missing:
            return Decision(Action.NOOP, "enabled: " + ", ".join(task.desired.extra["types"]))
        return Decision(Action.ACTIVATE, f"enable {', '.join(missing)} on the root {state['root']}")

    def preview(self, ctx: Context, org: Any, task: Task, state: Any, result: Result) -> None:
        return None

    def apply(self, ctx: Context, org: Any, task: Task, state: Any, result: Result) -> Any:
        if result.action == Action.ACTIVATE:
            for policy_type in sorted(set(task.desired.extra["types"]) - set(state["enabled"])):
                org.enable_policy_type(RootId=state["root"], PolicyType=policy_type)
            return self.observe(ctx, org, task)
        return state


ORGANIZATIONS_OPERATORS: dict[Kind, Operator] = {
    Kind.POLICY_TYPES: PolicyTypesOperator(),
    Kind.DELEGATED_ADMIN: DelegatedAdminOperator(),
    Kind.ORGANIZATION_POLICY: DelegationPolicyOperator(),
}

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator of the organization policies stack (render/org_policies.py), in the management account.

Besides what every rendered stack gets (resource diffs, change-set previews, prune), it:

- checks, before planning anything, that the root has the policy types the catalog uses enabled
  (``ListRoots``; the bootstrap enables them): a policy of a type that is off cannot be attached, and
  CloudFormation would fail halfway;
- says, in the plan, which targets gain or lose which policy (``render/org_policies.target_changes``);
- keeps a policy removed from the catalog, attached as it was, unless prune is ``apply``.
"""

from __future__ import annotations

from typing import Any

from ..aws import cloudformation as cfn_ops
from ..model import Action, Decision, Result, StackState, Task
from ..render.common import desired_template
from ..render.org_policies import attachments, target_changes
from .operators import STABLE, Context, Operator


class PolicyTypesOff(RuntimeError):
    """The root does not have a policy type the catalog uses enabled."""


def enabled_policy_types(organizations: Any) -> set[str]:
    roots = organizations.list_roots()["Roots"]
    return {t["Type"] for root in roots for t in root.get("PolicyTypes", []) if t.get("Status") == "ENABLED"}


class OrgPoliciesOperator(Operator):
    rendered = True

    def deployed_document(self, ctx: Context, cfn: Any, task: Task) -> dict[str, Any] | None:
        return cfn_ops.get_template(cfn, task.name)

    def desired_document(self, ctx: Context, task: Task) -> dict[str, Any] | None:
        return task.desired.document

    def observe(self, ctx: Context, cfn: Any, task: Task) -> Any:
        wanted = {kind for kind, _ in attachments(task.desired.document).values()}
        if wanted:
            enabled = enabled_policy_types(ctx.clients.member_client("organizations", task.account_id, task.region))
            missing = sorted(wanted - enabled)
            if missing:
                raise PolicyTypesOff(
                    f"the organization's root does not have {', '.join(missing)} enabled, and the catalog's policies "
                    "need it: run the bootstrap (playbooks/bootstrap.yml), which enables the policy types the catalog "
                    "uses, then sync again")
        return super().observe(ctx, cfn, task)

    def decide(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> Decision:
        self._keep_removed_policies(ctx, cfn, task, state, result)
        decision = super().decide(ctx, cfn, task, state, result)
        if result.retained and result.reason not in decision.reason:
            reason = result.reason if decision.action == Action.NOOP else f"{decision.reason}; {result.reason}"
            return Decision(decision.action, reason, decision.code)
        return decision

    def _keep_removed_policies(self, ctx: Context, cfn: Any, task: Task, state: StackState | None, result: Result) -> None:
        template = task.desired.document
        if ctx.prune == "apply" or template is None or state is None or not state.managed_by_orgiam:
            return
        if state.status not in STABLE or state.template_hash == task.desired.hash:
            return
        deployed = cfn_ops.get_template(cfn, task.name) or {}
        wanted = {r["Properties"]["Name"] for r in template["Resources"].values()}
        kept = {}
        for logical, resource in (deployed.get("Resources") or {}).items():
            name = (resource.get("Properties") or {}).get("Name")
            if resource.get("Type") == "AWS::Organizations::Policy" and name not in wanted:
                kept[logical] = resource
        if not kept:
            return
        merged = dict(template, Resources={**template["Resources"], **kept})
        names = dict(((deployed.get("Metadata") or {}).get("OrgiamTargets") or {}))
        names.update((template.get("Metadata") or {}).get("OrgiamTargets") or {})
        merged["Metadata"] = {"OrgiamTargets": names}
        task.desired = desired_template(merged)
        result.retained = sorted(r["Properties"]["Name"] for r in kept.values())
        result.reason = (f"keeps {', '.join(result.retained)} (no longer in the catalog, still attached; "
                         f"prune is '{ctx.prune}')")

    def preview(self, ctx: Context, cfn: Any, task: Task, state: Any, result: Result) -> None:
        super().preview(ctx, cfn, task, state, result)
        if state is None or (ctx.check or ctx.diff):
            before = cfn_ops.get_template(cfn, task.name) if state is not None else None
            # by name, as people know them: which targets gain or lose which policy
            result.plan = target_changes(before, task.desired.document) + list(result.plan)

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator of the organization policies stack (render/org_policies.py), in the management account.

Besides what every rendered stack gets (resource diffs, change-set previews, prune), it:

- checks, before planning anything, that the root has the policy types the catalog uses enabled
  (``ListRoots``; the bootstrap enables them): a policy of a type that is off cannot be attached, and
  CloudFormation would fail halfway;
- says, in the plan, which targets gain or lose which policy (``render/org_policies.target_changes``);
- keeps a policy removed from the catalog, attached as it was, unless prune is ``apply``;
- with ``verify: live``, reads each policy back from Organizations (its content and the targets it is
  attached to) and compares them with the deployed template: a policy detached, attached elsewhere or
  edited by hand is planned as a repair and put back with Organizations' own calls (attach first, then
  detach), which leaves the stack as CloudFormation last made it. A policy deleted by hand cannot be put
  back that way: the run says so and fails for that stack.
"""

from __future__ import annotations

import json
from typing import Any

from ..aws.errors import error_code
from ..aws.organizations import root_policy_types
from ..model import Result, StackState, Task, VerifiedState
from ..plan.drift import Drift
from ..render.org_policies import attachments, target_changes
from .operators import Context, RenderedOperator, verified_state

POLICY = "AWS::Organizations::Policy"


class PolicyTypesOff(RuntimeError):
    """The root does not have a policy type the catalog uses enabled."""


class OrgPoliciesOperator(RenderedOperator):
    def verified(self, ctx: Context, cfn: Any, task: Task, state: StackState, template: dict[str, Any] | None) -> VerifiedState:
        """The stack with what differs between its deployed template and Organizations: each policy's content
        and the targets it is attached to."""
        template = template or {}
        org = ctx.clients.member_client("organizations", task.account_id, task.region)
        ids = policy_ids(cfn, task.name)
        drifts = []
        for logical, resource in (template.get("Resources") or {}).items():
            if resource.get("Type") != POLICY:
                continue
            wanted = resource.get("Properties") or {}
            name = str(wanted.get("Name"))
            try:
                live = org.describe_policy(PolicyId=ids[logical])["Policy"]
            except Exception as exc:
                if isinstance(exc, KeyError) or error_code(exc) == "PolicyNotFoundException":
                    drifts.append(Drift(logical, POLICY, name, "", None, wanted))
                    continue
                raise
            content = json.loads(live["Content"])
            if json.dumps(content, sort_keys=True) != json.dumps(wanted.get("Content"), sort_keys=True):
                drifts.append(Drift(logical, POLICY, name, "Content", content, wanted.get("Content")))
            attached = sorted(live_targets(org, ids[logical]))
            if attached != sorted(wanted.get("TargetIds") or []):
                drifts.append(Drift(logical, POLICY, name, "TargetIds", attached, sorted(wanted.get("TargetIds") or [])))
        return verified_state(state, drifts, template)

    def put_back(self, ctx: Context, task: Task, drift: list[Any], template: Any, result: Result) -> None:
        org = ctx.clients.member_client("organizations", task.account_id, task.region)
        cfn = self.client(ctx, task)
        ids = policy_ids(cfn, task.name)
        for change in drift:
            if change.missing:
                raise RuntimeError(
                    f"organization policy {change.name} was deleted by hand; CloudFormation still lists it in "
                    f"{task.name}. Delete the stack's record of it (remove the policy from the catalog with prune: "
                    "apply, then add it back), or re-create it by hand with the same name")
            policy_id = ids[change.logical_id]
            if change.property == "Content":
                org.update_policy(PolicyId=policy_id, Content=json.dumps(change.after, separators=(",", ":")))
                result.repairs.append(f"organizations:UpdatePolicy {change.name} (content)")
            elif change.property == "TargetIds":
                for target in sorted(set(change.after) - set(change.before)):  # attach first: never a gap
                    org.attach_policy(PolicyId=policy_id, TargetId=target)
                    result.repairs.append(f"organizations:AttachPolicy {change.name} {target}")
                for target in sorted(set(change.before) - set(change.after)):
                    org.detach_policy(PolicyId=policy_id, TargetId=target)
                    result.repairs.append(f"organizations:DetachPolicy {change.name} {target}")

    def observe(self, ctx: Context, cfn: Any, task: Task) -> Any:
        wanted = {kind for kind, _ in attachments(task.desired.document).values()}
        if wanted:
            _, enabled = root_policy_types(ctx.clients.member_client("organizations", task.account_id, task.region))
            missing = sorted(wanted - enabled)
            if missing:
                raise PolicyTypesOff(
                    f"the organization's root does not have {', '.join(missing)} enabled, and the catalog's policies "
                    "need it: run the bootstrap (playbooks/bootstrap.yml), which enables the policy types the catalog "
                    "uses, then sync again")
        return super().observe(ctx, cfn, task)

    keeps = POLICY  # a policy dropped from the catalog stays attached as it was, unless prune is 'apply'

    def with_kept(self, template: dict[str, Any], deployed: dict[str, Any], kept: dict[str, Any]) -> dict[str, Any]:
        merged = super().with_kept(template, deployed, kept)
        names = dict(((deployed.get("Metadata") or {}).get("OrgiamTargets") or {}))
        names.update((template.get("Metadata") or {}).get("OrgiamTargets") or {})
        merged["Metadata"] = {"OrgiamTargets": names}
        return merged

    def kept_reason(self, names: list[str], prune: str) -> str:
        return f"keeps {', '.join(names)} (no longer in the catalog, still attached; prune is '{prune}')"

    def describe_changes(self, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
        # first, by name as people know them: which targets gain or lose which policy
        return target_changes(before, after) + super().describe_changes(before, after)


def policy_ids(cfn: Any, stack_name: str) -> dict[str, str]:
    """logical id -> policy id of the stack's policies."""
    found: dict[str, str] = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack_name):
        for resource in page["StackResourceSummaries"]:
            if resource.get("ResourceType") == POLICY and resource.get("PhysicalResourceId"):
                found[resource["LogicalResourceId"]] = resource["PhysicalResourceId"]
    return found


def live_targets(org: Any, policy_id: str) -> list[str]:
    return [t["TargetId"] for page in org.get_paginator("list_targets_for_policy").paginate(PolicyId=policy_id)
            for t in page["Targets"]]

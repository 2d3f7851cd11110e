# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator of the Identity Center stack (render/identity_center.py): a rendered stack like the central
one, whose plan says, first, which group gains or loses which role (permission set) in which account.

A role dropped from the catalog keeps its permission set, with no assignment left, unless prune is 'apply'
(as a member role no longer targeted stays in its stack and nobody is granted it).

With ``verify: live`` each permission set the stack owns is read back from Identity Center: its AWS managed
policies, its inline policy, and every account assignment of it (``ListAccountsForProvisionedPermissionSet``,
then ``ListAccountAssignments`` per account). An assignment deleted by hand, one added by hand (to anyone), or
a policy changed is a planned repair, put back with Identity Center's own calls (create the missing
assignments first, then delete the extra ones, then the policies, then ``ProvisionPermissionSet``), which
leaves the stack as CloudFormation last made it."""

from __future__ import annotations

import json
from typing import Any

from ..model import Result, StackState, Task, VerifiedState
from ..plan.drift import Drift
from ..plan.access import access_changes, identity_center_access
from ..render.identity_center import ASSIGNMENT, PERMISSION_SET
from .operators import Context, RenderedOperator, verified_state


class IdentityCenterOperator(RenderedOperator):
    def verified(self, ctx: Context, cfn: Any, task: Task, state: StackState, template: dict[str, Any] | None) -> VerifiedState:
        template = template or {}
        sso = ctx.clients.member_client("sso-admin", task.account_id, task.region)
        arns = permission_set_arns(cfn, task.name)
        drifts: list[Drift] = []
        resources = template.get("Resources") or {}
        for logical, resource in sorted(resources.items()):
            if resource.get("Type") != PERMISSION_SET or logical not in arns:
                continue
            props = resource.get("Properties") or {}
            instance, ps_arn, name = str(props.get("InstanceArn")), arns[logical], str(props.get("Name"))
            drifts += _policy_drift(sso, logical, name, instance, ps_arn, props)
            wanted = {(a["Properties"]["TargetId"], a["Properties"]["PrincipalType"], a["Properties"]["PrincipalId"]): a_id
                      for a_id, a in resources.items() if a.get("Type") == ASSIGNMENT
                      and (a["Properties"].get("PermissionSetArn") or {}).get("Fn::GetAtt", [""])[0] == logical}
            live = live_assignments(sso, instance, ps_arn, {t for t, _, _ in wanted})
            for key in sorted(set(wanted) - live):
                drifts.append(Drift(wanted[key], ASSIGNMENT, f"{name} -> {key[1].lower()} {key[2]} in {key[0]}", "", None,
                                    {"InstanceArn": instance, "PermissionSetArn": ps_arn, "TargetId": key[0],
                                     "PrincipalType": key[1], "PrincipalId": key[2]}))
            for key in sorted(live - set(wanted)):
                drifts.append(Drift(logical, ASSIGNMENT, f"{name} -> {key[1].lower()} {key[2]} in {key[0]}", "Assignment",
                                    {"InstanceArn": instance, "PermissionSetArn": ps_arn, "TargetId": key[0],
                                     "PrincipalType": key[1], "PrincipalId": key[2]}, None))
        return verified_state(state, drifts, template)

    def put_back(self, ctx: Context, task: Task, drift: list[Any], template: Any, result: Result) -> None:
        sso = ctx.clients.member_client("sso-admin", task.account_id, task.region)
        ordered = sorted(drift, key=lambda d: (0 if d.missing else 1 if d.property == "Assignment" else 2))
        provision: set[tuple[str, str]] = set()
        arns: dict[str, str] | None = None
        for change in ordered:
            if change.type == ASSIGNMENT and change.missing:  # first give back, then take away: never a gap
                sso.create_account_assignment(TargetType="AWS_ACCOUNT", **change.after)
                result.repairs.append(f"sso:CreateAccountAssignment {change.name}")
            elif change.type == ASSIGNMENT:
                sso.delete_account_assignment(TargetType="AWS_ACCOUNT", **change.before)
                result.repairs.append(f"sso:DeleteAccountAssignment {change.name}")
            else:
                if arns is None:
                    arns = permission_set_arns(self.client(ctx, task), task.name)
                instance = str(((template or {}).get("Resources", {}).get(change.logical_id, {}).get("Properties") or {})
                               .get("InstanceArn"))
                result.repairs += _put_policy_back(sso, change, instance, arns[change.logical_id])
                provision.add((instance, arns[change.logical_id]))
        for instance, ps_arn in sorted(provision):
            sso.provision_permission_set(InstanceArn=instance, PermissionSetArn=ps_arn, TargetType="ALL_PROVISIONED_ACCOUNTS")
            result.repairs.append(f"sso:ProvisionPermissionSet {ps_arn.rsplit('/', 1)[-1]}")

    def access_changes(self, task: Task, before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[dict[str, str]]:
        return access_changes(identity_center_access(before), identity_center_access(after))

    keeps = PERMISSION_SET  # a role dropped from the catalog keeps its permission set, assigned to nobody

    def kept_reason(self, names: list[str], prune: str) -> str:
        return f"keeps permission set(s) {', '.join(names)} (no longer in the catalog, assigned to nobody; prune is '{prune}')"


def permission_set_arns(cfn: Any, stack: str) -> dict[str, str]:
    """logical id -> permission set ARN of the stack's permission sets (a physical id may be 'instance|arn')."""
    found = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for resource in page["StackResourceSummaries"]:
            if resource.get("ResourceType") == PERMISSION_SET and resource.get("PhysicalResourceId"):
                parts = [p for p in resource["PhysicalResourceId"].split("|") if ":permissionSet/" in p]
                if parts:
                    found[resource["LogicalResourceId"]] = parts[0]
    return found


def live_assignments(sso: Any, instance: str, ps_arn: str, also: set[str]) -> set[tuple[str, str, str]]:
    """(account, principal type, principal id) of every assignment of the permission set: in the accounts it is
    provisioned to, and in ``also`` (where the template wants one, provisioned or not)."""
    accounts = set(also)
    pages = sso.get_paginator("list_accounts_for_provisioned_permission_set").paginate(InstanceArn=instance, PermissionSetArn=ps_arn)
    for page in pages:
        accounts |= set(page.get("AccountIds", []))
    found = set()
    for account in sorted(accounts):
        pages = sso.get_paginator("list_account_assignments").paginate(InstanceArn=instance, AccountId=account, PermissionSetArn=ps_arn)
        for page in pages:
            for a in page["AccountAssignments"]:
                found.add((a["AccountId"], a["PrincipalType"], a["PrincipalId"]))
    return found


def _policy_drift(sso: Any, logical: str, name: str, instance: str, ps_arn: str, props: dict[str, Any]) -> list[Drift]:
    drifts = []
    pages = sso.get_paginator("list_managed_policies_in_permission_set").paginate(InstanceArn=instance, PermissionSetArn=ps_arn)
    live_managed = sorted(p["Arn"] for page in pages for p in page["AttachedManagedPolicies"])
    if live_managed != sorted(props.get("ManagedPolicies") or []):
        drifts.append(Drift(logical, PERMISSION_SET, name, "ManagedPolicies", live_managed, sorted(props.get("ManagedPolicies") or [])))
    text = sso.get_inline_policy_for_permission_set(InstanceArn=instance, PermissionSetArn=ps_arn).get("InlinePolicy") or ""
    live_inline = json.loads(text) if text else None
    wanted = props.get("InlinePolicy")
    wanted = json.loads(wanted) if isinstance(wanted, str) else wanted
    if json.dumps(live_inline, sort_keys=True) != json.dumps(wanted, sort_keys=True):
        drifts.append(Drift(logical, PERMISSION_SET, name, "InlinePolicy", live_inline, wanted))
    return drifts


def _put_policy_back(sso: Any, change: Drift, instance: str, ps_arn: str) -> list[str]:
    ids = {"InstanceArn": instance, "PermissionSetArn": ps_arn}
    calls = []
    if change.property == "ManagedPolicies":
        for arn in sorted(set(change.after) - set(change.before)):
            sso.attach_managed_policy_to_permission_set(ManagedPolicyArn=arn, **ids)
            calls.append(f"sso:AttachManagedPolicyToPermissionSet {change.name} {arn}")
        for arn in sorted(set(change.before) - set(change.after)):
            sso.detach_managed_policy_from_permission_set(ManagedPolicyArn=arn, **ids)
            calls.append(f"sso:DetachManagedPolicyFromPermissionSet {change.name} {arn}")
    elif change.property == "InlinePolicy":
        if change.after is None:
            sso.delete_inline_policy_from_permission_set(**ids)
            calls.append(f"sso:DeleteInlinePolicyFromPermissionSet {change.name}")
        else:
            sso.put_inline_policy_to_permission_set(InlinePolicy=json.dumps(change.after), **ids)
            calls.append(f"sso:PutInlinePolicyToPermissionSet {change.name}")
    return calls

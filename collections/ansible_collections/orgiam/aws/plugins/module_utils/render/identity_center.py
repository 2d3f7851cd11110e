# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Identity Center stack (identity mode ``identity_center``), in the management account or the
delegated administrator: one ``AWS::SSO::PermissionSet`` per catalog role for people, and one
``AWS::SSO::Assignment`` per group, role and account, on exactly the accounts the role targets and the
group's grant reaches.

Pure: the instance ARN and each group's identity store id were looked up before (usecases/identity_center.py),
so that a missing group is an error before anything is written. The template's Metadata keeps, readable by
people and by the plan, which group is which id and who gets which role where (``access_of``).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..catalog import RoleDef
from .common import POLICY_VERSION, TEMPLATE_VERSION, TemplateError, logical_id, managed_policy_arn

PERMISSION_SET = "AWS::SSO::PermissionSet"
ASSIGNMENT = "AWS::SSO::Assignment"
CENTER_METADATA = "OrgiamIdentityCenter"
MAX_RESOURCES = 500  # CloudFormation's resources in one stack
MAX_MANAGED_POLICIES = 20  # AWS managed and customer managed policies together on one permission set (quota)
INLINE_POLICY_MAX_CHARS = 32768  # a permission set's inline policy


def session_duration(seconds: int) -> str:
    """3600 -> 'PT1H', 5400 -> 'PT1H30M': the ISO-8601 duration a permission set takes."""
    hours, minutes = divmod(int(seconds) // 60, 60)
    return "PT" + (f"{hours}H" if hours else "") + (f"{minutes}M" if minutes or not hours else "")


def _is_aws_managed(arn: str) -> bool:
    return arn.split(":")[4] == "aws"


def _customer_reference(arn: str) -> dict[str, str]:
    """arn:aws:iam::123456789012:policy/team/Name -> {Name, Path}: the policy of that name in each target account."""
    path, _, name = arn.split(":", 5)[5][len("policy"):].rpartition("/")
    return {"Name": name, "Path": f"{path}/" if path else "/"}


def inline_document(role: RoleDef) -> dict[str, Any] | None:
    """A role's inline policies as the one inline policy a permission set has: their statements together, each Sid
    prefixed by its policy's name so that two policies' Sids cannot collide."""
    statements: list[dict[str, Any]] = []
    for name, document in role.inline_policies:
        parsed = json.loads(document)
        listed = parsed.get("Statement", [])
        for index, statement in enumerate(listed if isinstance(listed, list) else [listed], start=1):
            statement = dict(statement)
            prefix = "".join(ch for ch in name if ch.isalnum())
            statement["Sid"] = f"{prefix}{statement.get('Sid', index)}"
            statements.append(statement)
    return {"Version": POLICY_VERSION, "Statement": statements} if statements else None


def permission_set(role: RoleDef, instance_arn: str, partition: str = "aws") -> dict[str, Any]:
    """The permission set a catalog role becomes: its name, description, session duration, policies and boundary."""
    if role.customer_managed_policies:
        raise TemplateError(
            f"role '{role.name}' ({role.source}) has customer_managed_policies, which a member stack creates; in "
            "identity_center mode there is no member stack for people's roles: give them as inline_policies, or name "
            "policies that exist in every target account under managed_policies (by ARN)")
    arns = sorted(managed_policy_arn(p, partition) for p in role.managed_policies)
    if len(arns) > MAX_MANAGED_POLICIES:
        raise TemplateError(f"role '{role.name}' ({role.source}) has {len(arns)} managed policies; a permission set "
                            f"takes at most {MAX_MANAGED_POLICIES}")
    properties: dict[str, Any] = {
        "InstanceArn": instance_arn,
        "Name": role.name,
        "Description": (role.description or f"orgiam role {role.name}")[:700],
        "SessionDuration": session_duration(role.max_session_duration),
    }
    aws_managed = [a for a in arns if _is_aws_managed(a)]
    customer = [_customer_reference(a) for a in arns if not _is_aws_managed(a)]
    if aws_managed:
        properties["ManagedPolicies"] = aws_managed
    if customer:
        properties["CustomerManagedPolicyReferences"] = customer
    inline = inline_document(role)
    if inline is not None:
        size = len(json.dumps(inline, separators=(",", ":")))
        if size > INLINE_POLICY_MAX_CHARS:
            raise TemplateError(f"role '{role.name}' ({role.source}): its inline policies make a permission set inline "
                                f"policy of {size} characters; Identity Center takes at most {INLINE_POLICY_MAX_CHARS}")
        properties["InlinePolicy"] = inline
    if role.permissions_boundary:
        boundary = managed_policy_arn(role.permissions_boundary, partition)
        properties["PermissionsBoundary"] = ({"ManagedPolicyArn": boundary} if _is_aws_managed(boundary)
                                             else {"CustomerManagedPolicyReference": _customer_reference(boundary)})
    if role.tags:
        properties["Tags"] = [{"Key": k, "Value": v} for k, v in role.tags]
    return {"Type": PERMISSION_SET, "Properties": properties}


def permission_set_id(role_name: str) -> str:
    return logical_id("PermissionSet", role_name)


def assignment_id(group: str, role_name: str, account_id: str) -> str:
    return logical_id("Assign", f"{group}|{role_name}|{account_id}")


def identity_center_template(
    roles: Iterable[RoleDef],
    assignments: Iterable[tuple[str, str, str]],
    group_ids: dict[str, str],
    instance_arn: str,
    partition: str = "aws",
) -> dict[str, Any]:
    """The stack: every role for people as a permission set; ``assignments`` (group, role, account id) as account
    assignments of the group's identity store id (``group_ids``: display name -> id)."""
    resources: dict[str, Any] = {}
    for role in sorted(roles, key=lambda r: r.name):
        resources[permission_set_id(role.name)] = permission_set(role, instance_arn, partition)
    granted: dict[str, dict[str, list[str]]] = {}
    for group, role_name, account_id in sorted(set(assignments)):
        if permission_set_id(role_name) not in resources:
            raise TemplateError(f"group '{group}' is granted '{role_name}', which is not a role for people here")
        resources[assignment_id(group, role_name, account_id)] = {
            "Type": ASSIGNMENT,
            "Properties": {
                "InstanceArn": instance_arn,
                "PermissionSetArn": {"Fn::GetAtt": [permission_set_id(role_name), "PermissionSetArn"]},
                "PrincipalType": "GROUP",
                "PrincipalId": group_ids[group],
                "TargetType": "AWS_ACCOUNT",
                "TargetId": account_id,
            },
        }
        granted.setdefault(group, {}).setdefault(role_name, []).append(account_id)
    if len(resources) > MAX_RESOURCES:
        raise TemplateError(
            f"the Identity Center stack would hold {len(resources)} resources (permission sets and assignments); "
            f"CloudFormation takes at most {MAX_RESOURCES} in one stack: grant roles to fewer, broader groups, or narrow "
            "the grants' scopes in identity.yml")
    used = {g: group_ids[g] for g in sorted(granted)}
    return {
        "AWSTemplateFormatVersion": TEMPLATE_VERSION,
        "Description": "orgiam: Identity Center permission sets and account assignments. Managed by orgiam; change "
                       "roles_catalog/, not this stack.",
        "Metadata": {CENTER_METADATA: {
            "InstanceArn": instance_arn,
            "Groups": used,
            "Access": {g: {r: ",".join(sorted(a)) for r, a in sorted(roles_.items())} for g, roles_ in sorted(granted.items())},
        }},
        "Resources": resources or {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
        "Outputs": {"OrgiamIdentityMode": {"Value": "identity_center"}},
    }


def access_of(template: dict[str, Any] | None) -> set[tuple[str, str, str]]:
    """(group, role, account id) for every assignment the template makes, read from its resources (not the
    Metadata alone: a template is what CloudFormation deploys)."""
    if not template:
        return set()
    resources = template.get("Resources") or {}
    names = {gid: name for name, gid in ((template.get("Metadata") or {}).get(CENTER_METADATA, {}).get("Groups") or {}).items()}
    found = set()
    for resource in resources.values():
        if resource.get("Type") != ASSIGNMENT:
            continue
        props = resource.get("Properties") or {}
        ref = props.get("PermissionSetArn")
        target = ref.get("Fn::GetAtt", [""])[0] if isinstance(ref, dict) else ""
        role = ((resources.get(target) or {}).get("Properties") or {}).get("Name", str(ref))
        principal = str(props.get("PrincipalId", ""))
        found.add((names.get(principal, principal), str(role), str(props.get("TargetId", ""))))
    return found

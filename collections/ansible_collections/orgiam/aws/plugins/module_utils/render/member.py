# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The member stack: one IAM role per catalog role an account gets, trusting only the central account,
or, for a machine role (``trusted_by``), only the machines it names.

What the trust policy asks of the central account's principals (MFA, or a federated role) comes from
the identity backend (``render/identity.py``). A machine role's trust policy (``machine_trust_policy``)
has up to three kinds of statement, never a wildcard principal:

* ``OrganizationRoles``: roles of named accounts, by name or path pattern. The principal is each
  account's root and ``ArnLike aws:PrincipalArn`` names the roles (so that the policy is valid before
  those roles exist, which an ARN principal is not), with ``aws:PrincipalOrgID``;
* ``OrganizationAccounts``: whole accounts (their root), with ``aws:PrincipalOrgID``;
* ``AwsServices...``: service principals of ``catalog/trusted.py``, grouped by the confused deputy
  condition each one takes (``aws:SourceAccount`` of this account, ``aws:SourceOrgID``, or none).

``external_id`` adds ``sts:ExternalId`` to the statements of AWS principals (services never send one).
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from ..catalog import RoleDef
from ..catalog.trusted import SERVICE_PRINCIPALS, SOURCE_ACCOUNT, SOURCE_ORG
from ..model import MANAGED_BY_TAG, MANAGED_BY_VALUE
from .common import POLICY_VERSION, ROLE_ARNS_OUTPUT, TEMPLATE_VERSION, logical_id, managed_policy_arn, role_arn
from .identity import IdentityBackend, backend_for


def trust_policy(role: RoleDef, central_account_id: str, partition: str = "aws", backend: IdentityBackend | None = None,
                 account_id: str = "") -> dict[str, Any]:
    """The role's trust policy in account ``account_id``: the central account's people, or the role's machines."""
    if role.trusted_by:
        return machine_trust_policy(role, account_id, partition)
    backend = backend or backend_for("iam_users")
    statement: dict[str, Any] = {
        "Sid": "CentralAccountPeople",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{central_account_id}:root"},
        "Action": "sts:AssumeRole",
    }
    condition = backend.trust_condition(role, central_account_id, partition)
    if condition:
        statement["Condition"] = condition
    if role.external_id:
        statement.setdefault("Condition", {})["StringEquals"] = {"sts:ExternalId": role.external_id}
    return {"Version": POLICY_VERSION, "Statement": [statement]}


def machine_trust_policy(role: RoleDef, account_id: str, partition: str = "aws") -> dict[str, Any]:
    """The trust policy of a role trusted by machines (see the module's docstring). ``resolve()`` has set the account
    id of every trusted account and the organization id on ``role``."""
    org = {"aws:PrincipalOrgID": role.organization_id}
    if role.external_id:
        org["sts:ExternalId"] = role.external_id
    statements: list[dict[str, Any]] = []
    patterns = sorted({f"arn:{partition}:iam::{e.account_id}:role/{e.role}" for e in role.trusted_by if e.account and e.role})
    if patterns:
        roots = sorted({f"arn:{partition}:iam::{e.account_id}:root" for e in role.trusted_by if e.account and e.role})
        statements.append(_statement("OrganizationRoles", {"AWS": _one_or_list(roots)},
                                     {"ArnLike": {"aws:PrincipalArn": _one_or_list(patterns)}, "StringEquals": dict(org)}))
    accounts = sorted({f"arn:{partition}:iam::{e.account_id}:root" for e in role.trusted_by if e.account and not e.role})
    if accounts:
        statements.append(_statement("OrganizationAccounts", {"AWS": _one_or_list(accounts)}, {"StringEquals": dict(org)}))
    by_condition: dict[str, list[str]] = {}
    for entry in role.trusted_by:
        if entry.service:
            by_condition.setdefault(SERVICE_PRINCIPALS[entry.service], []).append(entry.service)
    for key, services in sorted(by_condition.items()):
        sid, condition = {
            "": ("AwsServices", None),
            SOURCE_ACCOUNT: ("AwsServicesForThisAccount", {"StringEquals": {SOURCE_ACCOUNT: account_id}}),
            SOURCE_ORG: ("AwsServicesForTheOrganization", {"StringEquals": {SOURCE_ORG: role.organization_id}}),
        }[key]
        statements.append(_statement(sid, {"Service": _one_or_list(sorted(set(services)))}, condition))
    return {"Version": POLICY_VERSION, "Statement": statements}


def _statement(sid: str, principal: dict[str, Any], condition: dict[str, Any] | None) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return statement


def _one_or_list(values: list[str]) -> str | list[str]:
    return values[0] if len(values) == 1 else values


def member_template(
    roles: Iterable[RoleDef], central_account_id: str, account_id: str, partition: str = "aws", mode: str = "iam_users"
) -> dict[str, Any]:
    backend = backend_for(mode)
    resources: dict[str, Any] = {}
    arns = []
    for role in sorted(roles, key=lambda r: r.name):
        properties: dict[str, Any] = {
            "RoleName": role.name,
            "Path": role.path,
            "AssumeRolePolicyDocument": trust_policy(role, central_account_id, partition, backend, account_id),
            "MaxSessionDuration": role.max_session_duration,
            "Tags": [{"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE}] + [{"Key": k, "Value": v} for k, v in role.tags],
        }
        if role.description:
            properties["Description"] = role.description
        if role.managed_policies:
            properties["ManagedPolicyArns"] = sorted(managed_policy_arn(p, partition) for p in role.managed_policies)
        if role.inline_policies:
            properties["Policies"] = [
                {"PolicyName": name, "PolicyDocument": json.loads(document)} for name, document in role.inline_policies
            ]
        if role.permissions_boundary:
            properties["PermissionsBoundary"] = managed_policy_arn(role.permissions_boundary, partition)
        role_id = logical_id("Role", role.name)
        resources[role_id] = {"Type": "AWS::IAM::Role", "Properties": properties}
        for policy_name, document in role.customer_managed_policies:
            resources[logical_id("Policy", f"{role.name}-{policy_name}")] = {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": f"{role.name}-{policy_name}",  # the catalog refuses one over 128
                    "Path": role.path,
                    "Description": f"orgiam: {policy_name} for role {role.name}",
                    "PolicyDocument": json.loads(document),
                    "Roles": [{"Ref": role_id}],
                },
            }
        arns.append(role_arn(account_id, role, partition))
    return {
        "AWSTemplateFormatVersion": TEMPLATE_VERSION,
        "Description": "orgiam: trust roles for people of the central account. Managed by orgiam; change roles_catalog/, not this stack.",
        "Resources": resources,
        "Outputs": {ROLE_ARNS_OUTPUT: {"Description": "role ARNs this stack holds", "Value": ",".join(arns)}},
    }


def held_role_arns(outputs: dict[str, str]) -> set[str]:
    """The role ARNs a member stack says it holds (its output)."""
    return set(filter(None, outputs.get(ROLE_ARNS_OUTPUT, "").split(",")))


def retain_roles(template: dict[str, Any], deployed: dict[str, Any] | None, account_id: str, keep: set[str], partition: str = "aws") -> tuple[dict[str, Any], list[str]]:
    """Carry roles the catalog no longer gives this account over from the deployed template.

    Used when the prune policy is not ``apply``: the role stays (and is reported as
    retained) but the central account grants nobody access to it any more.
    """
    if not deployed or not keep:
        return template, []
    merged = json.loads(json.dumps(template))
    kept = []
    arns = [a for a in merged["Outputs"][ROLE_ARNS_OUTPUT]["Value"].split(",") if a]
    for logical, resource in sorted(deployed.get("Resources", {}).items()):
        if resource.get("Type") != "AWS::IAM::Role" or logical in merged["Resources"]:
            continue
        props = resource.get("Properties", {})
        arn = f"arn:{partition}:iam::{account_id}:role{props.get('Path', '/')}{props.get('RoleName', '')}"
        if arn in keep:
            merged["Resources"][logical] = resource
            arns.append(arn)
            kept.append(str(props.get("RoleName", logical)))
    merged["Outputs"][ROLE_ARNS_OUTPUT]["Value"] = ",".join(sorted(arns))
    return merged, kept

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudFormation templates orgiam deploys, built as plain dicts.

* the member stack: one IAM role per catalog role, trusting only the central
  account, with MFA required unless the catalog says otherwise;
* the central (identity) stack: one IAM group per role, with customer managed
  policies that allow ``sts:AssumeRole`` on exactly the role ARNs deployed.

Templates are deterministic (sorted), so their hash only changes when the
content does; the hash travels in a stack tag and makes a no-op cheap.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any, Iterable

from .catalog import RoleDef, canonical_json

TEMPLATE_VERSION = "2010-09-09"
POLICY_VERSION = "2012-10-17"
MANAGED_POLICY_MAX_CHARS = 6144  # IAM counts the document without whitespace
MAX_POLICIES_PER_GROUP = 10  # IAM's default quota of managed policies on a group
MANAGED_BY_TAG = "orgiam:managed-by"
HASH_TAG = "orgiam:template-hash"
KIND_TAG = "orgiam:stack-kind"
MANAGED_BY_VALUE = "orgiam"
ROLE_ARNS_OUTPUT = "OrgiamRoleArns"
GRANTS_METADATA = "OrgiamGrants"


class TemplateError(Exception):
    pass


def logical_id(prefix: str, name: str) -> str:
    """A CloudFormation logical id for ``name``: letters and digits, unique thanks to a short hash."""
    clean = re.sub(r"[^A-Za-z0-9]", "", name)[:200]
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{prefix}{clean}{digest}"


def managed_policy_arn(reference: str, partition: str = "aws") -> str:
    """'ReadOnlyAccess' or 'job-function/ViewOnlyAccess' -> AWS managed ARN; ARNs unchanged."""
    if reference.startswith("arn:"):
        return reference
    return f"arn:{partition}:iam::aws:policy/{reference.lstrip('/')}"


def role_arn(account_id: str, role: RoleDef, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role{role.path}{role.name}"


def trust_policy(role: RoleDef, central_account_id: str, partition: str = "aws") -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": "CentralAccountPeople",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{central_account_id}:root"},
        "Action": "sts:AssumeRole",
    }
    if role.mfa_required:
        # absent (not false) for long-term keys, so Bool true is the safe test
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return {"Version": POLICY_VERSION, "Statement": [statement]}


def stack_tags(kind: str, template_hash: str) -> list[dict[str, str]]:
    return [
        {"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE},
        {"Key": KIND_TAG, "Value": kind},
        {"Key": HASH_TAG, "Value": template_hash},
    ]


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(template).encode()).hexdigest()[:32]


def member_template(roles: Iterable[RoleDef], central_account_id: str, account_id: str, partition: str = "aws") -> dict[str, Any]:
    resources: dict[str, Any] = {}
    arns = []
    for role in sorted(roles, key=lambda r: r.name):
        properties: dict[str, Any] = {
            "RoleName": role.name,
            "Path": role.path,
            "AssumeRolePolicyDocument": trust_policy(role, central_account_id, partition),
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
        resources[logical_id("Role", role.name)] = {"Type": "AWS::IAM::Role", "Properties": properties}
        arns.append(role_arn(account_id, role, partition))
    return {
        "AWSTemplateFormatVersion": TEMPLATE_VERSION,
        "Description": "orgiam: trust roles for people of the central account. Managed by orgiam; change roles_catalog/, not this stack.",
        "Resources": resources,
        "Outputs": {ROLE_ARNS_OUTPUT: {"Description": "role ARNs this stack holds", "Value": ",".join(arns)}},
    }


def _assume_document(arns: list[str], mfa: bool) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": "AssumeOrgiamRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arns}
    if mfa:
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return {"Version": POLICY_VERSION, "Statement": [statement]}


def chunk_assume_policies(arns: list[str], mfa: bool) -> list[dict[str, Any]]:
    """Split the ARNs into as few managed policy documents as IAM's size quota allows."""
    documents: list[dict[str, Any]] = []
    current: list[str] = []
    for arn in sorted(arns):
        candidate = current + [arn]
        if current and len(canonical_json(_assume_document(candidate, mfa))) > MANAGED_POLICY_MAX_CHARS:
            documents.append(_assume_document(current, mfa))
            current = [arn]
        else:
            current = candidate
    if current:
        documents.append(_assume_document(current, mfa))
    return documents


def group_name(prefix: str, role: RoleDef) -> str:
    return f"{prefix}-{role.name}"[:128]


def central_template(grants: dict[str, list[str]], roles: dict[str, RoleDef], prefix: str, group_path: str) -> dict[str, Any]:
    """Groups and their assume-role policies, for the roles that have at least one deployed ARN."""
    resources: dict[str, Any] = {}
    for role_name in sorted(grants):
        arns = sorted(set(grants[role_name]))
        if not arns:
            continue
        role = roles[role_name]
        group_id = logical_id("Group", role_name)
        name = group_name(prefix, role)
        resources[group_id] = {
            "Type": "AWS::IAM::Group",
            "Properties": {"GroupName": name, "Path": group_path},
        }
        documents = chunk_assume_policies(arns, role.mfa_required)
        if len(documents) > MAX_POLICIES_PER_GROUP:
            raise TemplateError(
                f"role '{role_name}' is deployed in {len(arns)} accounts; its assume-role grants need "
                f"{len(documents)} managed policies, more than the {MAX_POLICIES_PER_GROUP} IAM allows on a group"
            )
        for index, document in enumerate(documents, start=1):
            resources[logical_id(f"Assume{index}", role_name)] = {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": f"{name}-assume-{index}"[:128],
                    "Path": group_path,
                    "Description": f"orgiam: lets members of {name} assume role {role_name} in the accounts that have it",
                    "PolicyDocument": document,
                    "Groups": [{"Ref": group_id}],
                },
            }
    return {
        "AWSTemplateFormatVersion": TEMPLATE_VERSION,
        "Description": "orgiam: central groups whose members may assume orgiam roles. Managed by orgiam; change roles_catalog/, not this stack.",
        "Metadata": {GRANTS_METADATA: {name: sorted(set(arns)) for name, arns in sorted(grants.items()) if arns}},
        "Resources": resources or {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
    }


def grants_from_template(template: dict[str, Any] | None) -> dict[str, list[str]]:
    if not template:
        return {}
    return {k: list(v) for k, v in (template.get("Metadata", {}).get(GRANTS_METADATA) or {}).items()}


def account_of_arn(arn: str) -> str:
    return arn.split(":")[4]

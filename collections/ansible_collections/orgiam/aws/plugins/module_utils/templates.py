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

from .aws_managed_policies import AWS_MANAGED_POLICY_PATHS
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
SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"
FEDERATED_PATH = "/orgiam/federated/"


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
    path, _, name = reference.strip("/").rpartition("/")
    path = AWS_MANAGED_POLICY_PATHS.get(name, f"/{path}/" if path else "/")
    return f"arn:{partition}:iam::aws:policy{path}{name}"


def role_arn(account_id: str, role: RoleDef, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role{role.path}{role.name}"


def trust_policy(role: RoleDef, central_account_id: str, partition: str = "aws", federated: bool = False) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": "CentralAccountPeople",
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:{partition}:iam::{central_account_id}:root"},
        "Action": "sts:AssumeRole",
    }
    if federated:
        # only the federated roles orgiam made in the central account; the IdP enforced MFA at sign-in
        statement["Condition"] = {
            "ArnLike": {"aws:PrincipalArn": f"arn:{partition}:iam::{central_account_id}:role{FEDERATED_PATH}*"}
        }
    elif role.mfa_required:
        # absent (not false) for long-term keys, so Bool true is the safe test
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    if role.external_id:
        statement.setdefault("Condition", {})["StringEquals"] = {"sts:ExternalId": role.external_id}
    return {"Version": POLICY_VERSION, "Statement": [statement]}


def stack_tags(kind: str, template_hash: str) -> list[dict[str, str]]:
    return [
        {"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE},
        {"Key": KIND_TAG, "Value": kind},
        {"Key": HASH_TAG, "Value": template_hash},
    ]


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(template).encode()).hexdigest()[:32]


def member_template(
    roles: Iterable[RoleDef], central_account_id: str, account_id: str, partition: str = "aws", federated: bool = False
) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    arns = []
    for role in sorted(roles, key=lambda r: r.name):
        properties: dict[str, Any] = {
            "RoleName": role.name,
            "Path": role.path,
            "AssumeRolePolicyDocument": trust_policy(role, central_account_id, partition, federated),
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
                    "ManagedPolicyName": f"{role.name}-{policy_name}"[:128],
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


def federated_role_name(group: str) -> str:
    """IAM role names stop at 64 characters; long group names keep a hash to stay unique."""
    if len(group) <= 64:
        return group
    return group[:55] + "-" + hashlib.sha256(group.encode()).hexdigest()[:8]


def self_service_policy(user_path: str) -> dict[str, Any]:
    """Lets a user manage their own password and MFA device, and nothing else without MFA."""
    me = "arn:${AWS::Partition}:iam::${AWS::AccountId}:user" + user_path + "${!aws:username}"
    my_mfa = "arn:${AWS::Partition}:iam::${AWS::AccountId}:mfa/${!aws:username}"
    self_actions = [
        "iam:ChangePassword",
        "iam:GetUser",
        "iam:GetLoginProfile",
        "iam:ListMFADevices",
        "iam:ListVirtualMFADevices",
        "iam:CreateVirtualMFADevice",
        "iam:EnableMFADevice",
        "iam:ResyncMFADevice",
        "iam:ListGroupsForUser",
        "sts:GetSessionToken",
    ]
    return {
        "Version": POLICY_VERSION,
        "Statement": [
            {"Sid": "SeeAccountBasics", "Effect": "Allow", "Action": ["iam:GetAccountPasswordPolicy", "iam:ListVirtualMFADevices"], "Resource": "*"},
            {
                "Sid": "ManageOwnPasswordAndMFA",
                "Effect": "Allow",
                "Action": [a for a in self_actions if a not in ("iam:ListVirtualMFADevices", "sts:GetSessionToken")],
                "Resource": [{"Fn::Sub": me}, {"Fn::Sub": my_mfa}],
            },
            {
                "Sid": "RemoveOwnMFAOnlyWithMFA",
                "Effect": "Allow",
                "Action": ["iam:DeactivateMFADevice", "iam:DeleteVirtualMFADevice"],
                "Resource": [{"Fn::Sub": me}, {"Fn::Sub": my_mfa}],
                "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
            },
            {
                "Sid": "NothingElseWithoutMFA",
                "Effect": "Deny",
                "NotAction": self_actions,
                "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}},
            },
        ],
    }


def central_template(
    group_arns: dict[str, list[str]],
    deployed: dict[str, list[str]],
    identity: Any,
    prefix: str,
    group_path: str,
    mfa_by_role: dict[str, bool] | None = None,
) -> dict[str, Any]:
    """The central account's stack.

    ``group_arns``: group name -> role ARNs its members may assume (already scoped);
    ``deployed``: role name -> ARNs that exist (kept in Metadata, so that a run
    limited to some accounts keeps the others' grants).
    """
    mfa_by_role = mfa_by_role or {}
    resources: dict[str, Any] = {}
    saml = identity.mode == "saml"
    outputs: dict[str, Any] = {}
    if saml:
        resources["SamlProvider"] = {
            "Type": "AWS::IAM::SAMLProvider",
            "Properties": {"Name": identity.saml.provider_name, "SamlMetadataDocument": identity.saml.metadata},
        }
    for group in sorted(identity.groups, key=lambda g: g.name):
        group_id = logical_id("Group", group.name)
        if saml:
            resources[group_id] = {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "RoleName": federated_role_name(group.name),
                    "Path": FEDERATED_PATH,
                    "Description": f"orgiam: people of identity-provider group {group.name}",
                    "MaxSessionDuration": identity.saml.max_session_duration,
                    "AssumeRolePolicyDocument": {
                        "Version": POLICY_VERSION,
                        "Statement": [{
                            "Sid": "IdentityProviderSignIn",
                            "Effect": "Allow",
                            "Principal": {"Federated": {"Ref": "SamlProvider"}},
                            "Action": "sts:AssumeRoleWithSAML",
                            "Condition": {"StringEquals": {"SAML:aud": SAML_AUDIENCE}},
                        }],
                    },
                },
            }
            attach_key = "Roles"
        else:
            resources[group_id] = {"Type": "AWS::IAM::Group", "Properties": {"GroupName": group.name, "Path": group_path}}
            attach_key = "Groups"
        arns = sorted(set(group_arns.get(group.name, [])))
        if not arns:
            continue
        # people of iam_users mode prove MFA in the central account; federated sessions prove it at the IdP
        mfa = not saml and all(mfa_by_role.get(g.role, True) for g in group.grants)
        documents = chunk_assume_policies(arns, mfa)
        if len(documents) > MAX_POLICIES_PER_GROUP:
            raise TemplateError(
                f"group '{group.name}' grants {len(arns)} role ARNs; that needs {len(documents)} managed policies, "
                f"more than the {MAX_POLICIES_PER_GROUP} IAM allows: split it with scopes in identity.yml"
            )
        for index, document in enumerate(documents, start=1):
            resources[logical_id(f"Assume{index}", group.name)] = {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": f"{group.name}-assume-{index}"[:128],
                    "Path": group_path,
                    "Description": f"orgiam: lets {group.name} assume its roles in the accounts that have them",
                    "PolicyDocument": document,
                    attach_key: [{"Ref": group_id}],
                },
            }
    if not saml and identity.users:
        users_group = f"{prefix}-users"
        resources["UsersGroup"] = {"Type": "AWS::IAM::Group", "Properties": {"GroupName": users_group, "Path": group_path}}
        resources["SelfServicePolicy"] = {
            "Type": "AWS::IAM::ManagedPolicy",
            "Properties": {
                "ManagedPolicyName": f"{prefix}-self-service",
                "Path": group_path,
                "Description": "orgiam: users manage their own password and MFA device; nothing else works without MFA",
                "PolicyDocument": self_service_policy(group_path),
                "Groups": [{"Ref": "UsersGroup"}],
            },
        }
        group_ids = {g.name.lower(): logical_id("Group", g.name) for g in identity.groups}
        for user in sorted(identity.users, key=lambda u: u.name):
            user_id = logical_id("User", user.name)
            props: dict[str, Any] = {
                "UserName": user.name,
                "Path": group_path,
                "Groups": [{"Ref": "UsersGroup"}] + [{"Ref": group_ids[g.lower()]} for g in user.groups],
                "Tags": [{"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE}] + [{"Key": k, "Value": v} for k, v in user.tags],
            }
            if user.console == "reset_on_first_login":
                secret_id = logical_id("Password", user.name)
                resources[secret_id] = {
                    "Type": "AWS::SecretsManager::Secret",
                    "Properties": {
                        "Name": f"{prefix}/console-password/{user.name}",
                        "Description": f"orgiam: first console password of {user.name}; it must be changed at first sign-in",
                        "GenerateSecretString": {"PasswordLength": 32, "ExcludeCharacters": "\"'\\`"},
                    },
                }
                props["LoginProfile"] = {
                    "Password": {"Fn::Sub": "{{resolve:secretsmanager:${" + secret_id + "}}}"},
                    "PasswordResetRequired": True,
                }
            resources[user_id] = {"Type": "AWS::IAM::User", "Properties": props}
        outputs["Users"] = {"Value": ",".join(sorted(u.name for u in identity.users))}
    if saml:
        outputs["SamlProviderArn"] = {"Value": {"Ref": "SamlProvider"}}
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": TEMPLATE_VERSION,
        "Description": "orgiam: central groups whose members may assume orgiam roles. Managed by orgiam; change roles_catalog/, not this stack.",
        "Metadata": {GRANTS_METADATA: compact_grants(deployed)},
        "Resources": resources or {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
    }
    if outputs:
        template["Outputs"] = outputs
    return template


ACCOUNT_SLOT = "{account}"


def compact_grants(deployed: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """role -> {ARN pattern with {account}: comma-separated account ids}: about 13 bytes an account."""
    compact: dict[str, dict[str, str]] = {}
    for role_name, arns in sorted(deployed.items()):
        patterns: dict[str, list[str]] = {}
        for arn in sorted(set(arns)):
            parts = arn.split(":")
            account = parts[4]
            parts[4] = ACCOUNT_SLOT
            patterns.setdefault(":".join(parts), []).append(account)
        if patterns:
            compact[role_name] = {pattern: ",".join(accounts) for pattern, accounts in sorted(patterns.items())}
    return compact


def grants_from_template(template: dict[str, Any] | None) -> dict[str, list[str]]:
    """The deployed role ARNs the central stack was built from (see compact_grants)."""
    if not template:
        return {}
    stored = template.get("Metadata", {}).get(GRANTS_METADATA) or {}
    return {
        role_name: sorted(pattern.replace(ACCOUNT_SLOT, account) for pattern, accounts in patterns.items() for account in accounts.split(",") if account)
        for role_name, patterns in stored.items()
    }


def account_of_arn(arn: str) -> str:
    return arn.split(":")[4]


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

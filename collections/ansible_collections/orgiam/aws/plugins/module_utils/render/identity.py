# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Identity backends: how people of the central account reach the member roles.

The seam every identity mode plugs into. A backend says three things: what a member role's trust
policy requires of the central account's principals, what principal holds each identity group in the
central account (an IAM group, a federated role) and whether its grants demand MFA, and what else the
central stack holds (users, a SAML provider). ``iam_users`` and ``saml`` are the two backends today;
a third (Identity Center) is one more class and one line in ``BACKENDS``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from ..catalog import RoleDef
from ..catalog.identity import GroupDef, Identity
from ..model import MANAGED_BY_TAG, MANAGED_BY_VALUE
from .common import POLICY_VERSION, logical_id, managed_policy_arn

SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"
FEDERATED_PATH = "/orgiam/federated/"


class IdentityBackend:
    """The iam_users backend: IAM groups and users in the central account, MFA proven there."""

    mode = "iam_users"
    attach_key = "Groups"  # how a managed policy names the principals it is attached to

    def trust_condition(self, role: RoleDef, central_account_id: str, partition: str) -> dict[str, Any] | None:
        if role.mfa_required:
            # absent (not false) for long-term keys, so Bool true is the safe test
            return {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        return None

    def principal(self, group: GroupDef, identity: Identity, group_path: str) -> dict[str, Any]:
        properties: dict[str, Any] = {"GroupName": group.name, "Path": group_path}
        properties.update(central_permissions(group))
        return {"Type": "AWS::IAM::Group", "Properties": properties}

    def grants_need_mfa(self, group: GroupDef, mfa_by_role: dict[str, bool]) -> bool:
        return all(mfa_by_role.get(g.role, True) for g in group.grants)

    def extra(self, identity: Identity, prefix: str, group_path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """Resources and outputs beyond the groups: the users, their self-service group and policy."""
        if not identity.users:
            return {}, {}
        resources: dict[str, Any] = {}
        resources["UsersGroup"] = {"Type": "AWS::IAM::Group", "Properties": {"GroupName": f"{prefix}-users", "Path": group_path}}
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
            resources[logical_id("User", user.name)] = {"Type": "AWS::IAM::User", "Properties": props}
        return resources, {"Users": {"Value": ",".join(sorted(u.name for u in identity.users))}}


class SamlBackend(IdentityBackend):
    """The saml backend: one federated role per group behind the organization's identity provider,
    which proves MFA at sign-in; member roles trust only those federated roles."""

    mode = "saml"
    attach_key = "Roles"

    def trust_condition(self, role: RoleDef, central_account_id: str, partition: str) -> dict[str, Any] | None:
        return {"ArnLike": {"aws:PrincipalArn": f"arn:{partition}:iam::{central_account_id}:role{FEDERATED_PATH}*"}}

    def principal(self, group: GroupDef, identity: Identity, group_path: str) -> dict[str, Any]:
        assert identity.saml is not None
        return {
            "Type": "AWS::IAM::Role",
            "Properties": {
                **central_permissions(group),
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

    def grants_need_mfa(self, group: GroupDef, mfa_by_role: dict[str, bool]) -> bool:
        return False  # federated sessions proved MFA at the identity provider

    def extra(self, identity: Identity, prefix: str, group_path: str) -> tuple[dict[str, Any], dict[str, Any]]:
        assert identity.saml is not None
        resources = {"SamlProvider": {
            "Type": "AWS::IAM::SAMLProvider",
            "Properties": {"Name": identity.saml.provider_name, "SamlMetadataDocument": identity.saml.metadata},
        }}
        return resources, {"SamlProviderArn": {"Value": {"Ref": "SamlProvider"}}}


BACKENDS: dict[str, IdentityBackend] = {backend.mode: backend for backend in (IdentityBackend(), SamlBackend())}


def backend_for(mode: str) -> IdentityBackend:
    return BACKENDS[mode]


def central_permissions(group: GroupDef) -> dict[str, Any]:
    """The group's own permissions in the central account (identity.yml ``managed_policies``, ``inline_policies``), as
    properties of its principal. AWS managed policies by name get the stack's partition (``Fn::Sub``)."""
    properties: dict[str, Any] = {}
    if group.managed_policies:
        properties["ManagedPolicyArns"] = [
            reference if reference.startswith("arn:") else {"Fn::Sub": managed_policy_arn(reference, "${AWS::Partition}")}
            for reference in sorted(group.managed_policies)]
    if group.inline_policies:
        properties["Policies"] = [{"PolicyName": name, "PolicyDocument": json.loads(document)} for name, document in group.inline_policies]
    return properties


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

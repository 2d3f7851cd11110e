"""Who else may assume orgiam's roles: Allow statements read against the role ARNs people are granted."""

from __future__ import annotations

import json
from urllib.parse import quote

from ansible_collections.orgiam.aws.plugins.module_utils.plan.exposure import (
    allowed_roles,
    attached_aws_policies,
    outside_access,
)

ROLES = ["arn:aws:iam::111111111111:role/orgiam/ReadOnly", "arn:aws:iam::222222222222:role/orgiam/SandboxAdmin"]


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def test_actions_and_resources_with_wildcards_not_and_deny():
    assert allowed_roles(doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}), ROLES) == ROLES
    assert allowed_roles(doc({"Effect": "Allow", "Action": ["STS:Assume*"], "Resource": "arn:aws:iam::111111111111:role/*"}),
                         ROLES) == ROLES[:1]
    assert allowed_roles(doc({"Effect": "Allow", "Action": "*", "NotResource": ROLES[0]}), ROLES) == ROLES[1:]
    assert allowed_roles(doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}), ROLES) == ROLES
    assert allowed_roles(doc({"Effect": "Allow", "NotAction": "sts:*", "Resource": "*"}), ROLES) == []
    assert allowed_roles(doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}), ROLES) == []
    assert allowed_roles(doc({"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}), ROLES) == []


def test_principals_outside_orgiam_are_found_through_inline_and_managed_policies():
    local = "arn:aws:iam::999999999999:policy/ops/assume-all"
    details = {
        "RoleDetailList": [
            {"Arn": "arn:aws:iam::999999999999:role/ops-admin", "RoleName": "ops-admin", "Path": "/",
             "RolePolicyList": [{"PolicyName": "assume", "PolicyDocument": quote(json.dumps(doc(
                 {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/orgiam/*"})))}]},
            {"Arn": "arn:aws:iam::999999999999:role/orgiam/federated/readers", "RoleName": "readers",
             "Path": "/orgiam/federated/", "RolePolicyList": [{"PolicyName": "x", "PolicyDocument": doc(
                 {"Effect": "Allow", "Action": "*", "Resource": "*"})}]},
        ],
        "UserDetailList": [{"Arn": "arn:aws:iam::999999999999:user/carol", "UserName": "carol", "Path": "/",
                            "AttachedManagedPolicies": [{"PolicyName": "AdministratorAccess",
                                                         "PolicyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}]}],
        "GroupDetailList": [{"Arn": "arn:aws:iam::999999999999:group/ops", "GroupName": "ops", "Path": "/",
                             "AttachedManagedPolicies": [{"PolicyName": "assume-all", "PolicyArn": local}]}],
        "Policies": [{"Arn": local, "PolicyVersionList": [
            {"IsDefaultVersion": False, "Document": doc({"Effect": "Allow", "Action": "*", "Resource": "*"})},
            {"IsDefaultVersion": True, "Document": doc({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": ROLES[1]})}]}],
    }
    assert attached_aws_policies(details, "/orgiam/") == ["arn:aws:iam::aws:policy/AdministratorAccess"]
    admin = {"arn:aws:iam::aws:policy/AdministratorAccess": doc({"Effect": "Allow", "Action": "*", "Resource": "*"})}
    found = {(f["kind"], f["name"], f["via"], f["count"]) for f in outside_access(details, "/orgiam/", ROLES, admin)}
    assert found == {("role", "ops-admin", "inline policy assume", 2), ("user", "carol", "managed policy AdministratorAccess", 2),
                     ("group", "ops", "managed policy assume-all", 1)}

"""AWS::IAM::Role through CloudFormation really changes IAM in the member account."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.emulator.conftest import AccountSession, Stack, policy, trust

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"
MANAGEMENT_ROOT = "arn:aws:iam::123456789012:root"


def role_resources(**overrides: object) -> dict[str, object]:
    properties: dict[str, object] = {
        "RoleName": "Auditor",
        "Path": "/orgiam/",
        "Description": "read-only auditor",
        "AssumeRolePolicyDocument": trust(MANAGEMENT_ROOT),
        "ManagedPolicyArns": [READ_ONLY, {"Ref": "Extra"}],
        "Policies": [{"PolicyName": "DenyIamWrites", "PolicyDocument": policy("iam:PutRolePolicy")}],
        "MaxSessionDuration": 3600,
        "Tags": [{"Key": "ManagedBy", "Value": "orgiam"}, {"Key": "Team", "Value": "security"}],
    }
    properties.update(overrides)
    return {
        "Extra": {"Type": "AWS::IAM::ManagedPolicy",
                  "Properties": {"ManagedPolicyName": "AuditorExtra", "PolicyDocument": policy("s3:ListBucket")}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": properties},
    }


def attached(member: AccountSession, role_name: str) -> set[str]:
    return {p["PolicyArn"] for p in member.iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]}


def tags_of(member: AccountSession, role_name: str) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in member.iam.list_role_tags(RoleName=role_name)["Tags"]}


def test_create_makes_the_role_with_its_policies(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-auditor")
    stack.create(role_resources(), outputs={"Arn": {"Value": {"Fn::GetAtt": ["Role", "Arn"]}},
                                            "RoleId": {"Value": {"Fn::GetAtt": ["Role", "RoleId"]}}})

    role = member.iam.get_role(RoleName="Auditor")["Role"]
    assert role["Arn"] == f"arn:aws:iam::{member.account_id}:role/orgiam/Auditor"
    assert role["AssumeRolePolicyDocument"] == trust(MANAGEMENT_ROOT)
    assert role["Description"] == "read-only auditor"
    assert role["MaxSessionDuration"] == 3600
    assert attached(member, "Auditor") == {READ_ONLY, f"arn:aws:iam::{member.account_id}:policy/AuditorExtra"}
    assert member.iam.list_role_policies(RoleName="Auditor")["PolicyNames"] == ["DenyIamWrites"]
    inline = member.iam.get_role_policy(RoleName="Auditor", PolicyName="DenyIamWrites")["PolicyDocument"]
    assert inline == policy("iam:PutRolePolicy")
    assert tags_of(member, "Auditor") == {"ManagedBy": "orgiam", "Team": "security"}
    assert stack.outputs() == {"Arn": role["Arn"], "RoleId": role["RoleId"]}
    assert stack.physical_ids()["Role"] == "Auditor"


def test_update_applies_every_property(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-auditor")
    stack.create(role_resources())
    security_account_root = "arn:aws:iam::111111111111:root"

    stack.update(role_resources(
        Description="auditor, now with power",
        AssumeRolePolicyDocument=trust(security_account_root),
        ManagedPolicyArns=[POWER_USER],
        Policies=[{"PolicyName": "AllowLogs", "PolicyDocument": policy("logs:GetLogEvents")}],
        MaxSessionDuration=14400,
        PermissionsBoundary=POWER_USER,
        Tags=[{"Key": "ManagedBy", "Value": "orgiam-v2"}],
    ))

    role = member.iam.get_role(RoleName="Auditor")["Role"]
    assert role["AssumeRolePolicyDocument"] == trust(security_account_root)
    assert role["Description"] == "auditor, now with power"
    assert role["MaxSessionDuration"] == 14400
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == POWER_USER
    assert attached(member, "Auditor") == {POWER_USER}
    assert member.iam.list_role_policies(RoleName="Auditor")["PolicyNames"] == ["AllowLogs"]
    assert tags_of(member, "Auditor") == {"ManagedBy": "orgiam-v2"}

    stack.update(role_resources())  # back again: the boundary goes, the old policies return
    role = member.iam.get_role(RoleName="Auditor")["Role"]
    assert "PermissionsBoundary" not in role
    assert role["MaxSessionDuration"] == 3600
    assert attached(member, "Auditor") == {READ_ONLY, f"arn:aws:iam::{member.account_id}:policy/AuditorExtra"}
    assert member.iam.list_role_policies(RoleName="Auditor")["PolicyNames"] == ["DenyIamWrites"]


def test_an_inline_policy_document_change_is_applied(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-auditor")
    stack.create(role_resources())
    stack.update(role_resources(
        Policies=[{"PolicyName": "DenyIamWrites",
                   "PolicyDocument": policy("iam:PutRolePolicy", "iam:AttachRolePolicy")}],
    ))
    document = member.iam.get_role_policy(RoleName="Auditor", PolicyName="DenyIamWrites")["PolicyDocument"]
    assert document == policy("iam:PutRolePolicy", "iam:AttachRolePolicy")


def test_a_new_role_name_replaces_the_role(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-auditor")
    stack.create(role_resources())
    stack.update(role_resources(RoleName="Auditor2"))

    assert [r["RoleName"] for r in member.iam.list_roles(PathPrefix="/orgiam/")["Roles"]] == ["Auditor2"]
    assert attached(member, "Auditor2") == {READ_ONLY, f"arn:aws:iam::{member.account_id}:policy/AuditorExtra"}
    assert stack.physical_ids()["Role"] == "Auditor2"


def test_delete_stack_removes_role_policies_and_attachments(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-auditor")
    stack.create(role_resources())
    stack.delete()

    with pytest.raises(ClientError) as missing:
        member.iam.get_role(RoleName="Auditor")
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"
    local = member.iam.list_policies(Scope="Local")["Policies"]
    assert local == []
    read_only = member.iam.get_policy(PolicyArn=READ_ONLY)["Policy"]
    assert read_only["AttachmentCount"] == 0


def test_an_unnamed_role_keeps_its_generated_name_across_updates(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-unnamed")
    resources = role_resources()
    del resources["Role"]["Properties"]["RoleName"]  # type: ignore[attr-defined]
    stack.create(resources)
    name = stack.physical_ids()["Role"]
    assert name.startswith("orgiam-unnamed-Role-")

    resources["Role"]["Properties"]["MaxSessionDuration"] = 7200  # type: ignore[index]
    stack.update(resources)
    assert stack.physical_ids()["Role"] == name
    assert member.iam.get_role(RoleName=name)["Role"]["MaxSessionDuration"] == 7200


def test_change_sets_apply_the_same_way(member: AccountSession) -> None:
    """orgiam deploys through change sets: executing one runs the same create and update."""
    cloudformation = member.cloudformation
    first, second = role_resources(), role_resources(ManagedPolicyArns=[POWER_USER], MaxSessionDuration=7200)
    for number, (change_set_type, resources) in enumerate([("CREATE", first), ("UPDATE", second)]):
        cloudformation.create_change_set(
            StackName="orgiam-auditor", ChangeSetName=f"change-{number}", ChangeSetType=change_set_type,
            TemplateBody=json.dumps({"Resources": resources}),
        )
        cloudformation.execute_change_set(StackName="orgiam-auditor", ChangeSetName=f"change-{number}")

    assert Stack(member, "orgiam-auditor").status() == "UPDATE_COMPLETE"
    assert attached(member, "Auditor") == {POWER_USER}
    assert member.iam.get_role(RoleName="Auditor")["Role"]["MaxSessionDuration"] == 7200

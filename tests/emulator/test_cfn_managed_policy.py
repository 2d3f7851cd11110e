"""AWS::IAM::ManagedPolicy through CloudFormation: versions, attachments, deletion."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.conftest import AccountSession, Stack, policy, trust


def resources(actions: list[str], roles: list[Any], groups: list[Any]) -> dict[str, Any]:
    return {
        "Deployer": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "Deployer", "AssumeRolePolicyDocument": trust("arn:aws:iam::123456789012:root")}},
        "Operators": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "Operators"}},
        "Boundary": {"Type": "AWS::IAM::ManagedPolicy", "DependsOn": ["Deployer", "Operators"], "Properties": {
            "ManagedPolicyName": "orgiam-boundary",
            "Path": "/orgiam/",
            "Description": "what orgiam's roles may do at most",
            "PolicyDocument": policy(*actions),
            "Roles": roles,
            "Groups": groups,
        }},
    }


def versions(member: AccountSession, arn: str) -> list[dict[str, Any]]:
    return list(member.iam.list_policy_versions(PolicyArn=arn)["Versions"])


def test_update_makes_a_new_default_version_and_resyncs_attachments(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-boundary")
    stack.create(resources(["s3:GetObject"], roles=[{"Ref": "Deployer"}], groups=[]),
                 outputs={"Arn": {"Value": {"Ref": "Boundary"}}})
    arn = f"arn:aws:iam::{member.account_id}:policy/orgiam/orgiam-boundary"
    assert stack.outputs() == {"Arn": arn}
    assert stack.physical_ids()["Boundary"] == arn
    assert member.iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    role_policies = member.iam.list_attached_role_policies(RoleName="Deployer")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in role_policies] == [arn]

    stack.update(resources(["s3:GetObject", "s3:PutObject"], roles=[], groups=["Operators"]))
    details = member.iam.get_policy(PolicyArn=arn)["Policy"]
    assert details["DefaultVersionId"] == "v2"
    default = member.iam.get_policy_version(PolicyArn=arn, VersionId="v2")["PolicyVersion"]
    assert default["Document"] == policy("s3:GetObject", "s3:PutObject")
    assert member.iam.list_attached_role_policies(RoleName="Deployer")["AttachedPolicies"] == []
    group_policies = member.iam.list_attached_group_policies(GroupName="Operators")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in group_policies] == [arn]


def test_at_most_five_versions_are_kept(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-boundary")
    stack.create(resources(["s3:GetObject"], roles=[], groups=[]))
    arn = f"arn:aws:iam::{member.account_id}:policy/orgiam/orgiam-boundary"
    for number in range(2, 8):
        stack.update(resources(["s3:GetObject", f"s3:Action{number}"], roles=[], groups=[]))

    kept = versions(member, arn)
    assert sorted(v["VersionId"] for v in kept) == ["v3", "v4", "v5", "v6", "v7"]
    assert [v["VersionId"] for v in kept if v["IsDefaultVersion"]] == ["v7"]


def test_an_unchanged_document_makes_no_new_version(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-boundary")
    stack.create(resources(["s3:GetObject"], roles=[], groups=[]))
    stack.update(resources(["s3:GetObject"], roles=[], groups=["Operators"]))
    arn = f"arn:aws:iam::{member.account_id}:policy/orgiam/orgiam-boundary"
    assert [v["VersionId"] for v in versions(member, arn)] == ["v1"]


def test_delete_stack_detaches_and_deletes_the_policy(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-boundary")
    stack.create(resources(["s3:GetObject"], roles=["Deployer"], groups=["Operators"]))
    arn = f"arn:aws:iam::{member.account_id}:policy/orgiam/orgiam-boundary"
    stack.update(resources(["s3:PutObject"], roles=["Deployer"], groups=["Operators"]))
    stack.delete()

    with pytest.raises(ClientError) as missing:
        member.iam.get_policy(PolicyArn=arn)
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"
    assert [role["RoleName"] for role in member.iam.list_roles()["Roles"]] == ["OrganizationAccountAccessRole"]
    assert member.iam.list_groups()["Groups"] == []

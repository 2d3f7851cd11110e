"""AWS::IAM::Group, AWS::IAM::User and AWS::IAM::UserToGroupAddition through CloudFormation."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.conftest import AccountSession, Stack, policy

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
SECURITY_AUDIT = "arn:aws:iam::aws:policy/SecurityAudit"


def group_names_of(member: AccountSession, user_name: str) -> set[str]:
    return {g["GroupName"] for g in member.iam.list_groups_for_user(UserName=user_name)["Groups"]}


def members_of(member: AccountSession, group_name: str) -> set[str]:
    return {u["UserName"] for u in member.iam.get_group(GroupName=group_name)["Users"]}


def group_template(policy_name: str, document: dict[str, Any], managed: list[str]) -> dict[str, Any]:
    return {
        "Readers": {"Type": "AWS::IAM::Group", "Properties": {
            "GroupName": "orgiam-Readers",
            "Path": "/orgiam/",
            "Policies": [{"PolicyName": policy_name, "PolicyDocument": document}],
            "ManagedPolicyArns": managed,
        }},
    }


def test_group_is_created_updated_and_deleted_with_the_stack(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-identity")
    stack.create(group_template("AssumeReaders", policy("sts:AssumeRole"), [READ_ONLY]),
                 outputs={"Arn": {"Value": {"Fn::GetAtt": ["Readers", "Arn"]}}})

    group = member.iam.get_group(GroupName="orgiam-Readers")["Group"]
    assert group["Arn"] == f"arn:aws:iam::{member.account_id}:group/orgiam/orgiam-Readers"
    assert stack.outputs() == {"Arn": group["Arn"]}
    assert member.iam.list_group_policies(GroupName="orgiam-Readers")["PolicyNames"] == ["AssumeReaders"]
    attached = member.iam.list_attached_group_policies(GroupName="orgiam-Readers")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [READ_ONLY]

    stack.update(group_template("AssumeAuditors", policy("sts:AssumeRole", resource="arn:aws:iam::*:role/Audit"),
                                [SECURITY_AUDIT]))
    assert member.iam.list_group_policies(GroupName="orgiam-Readers")["PolicyNames"] == ["AssumeAuditors"]
    document = member.iam.get_group_policy(GroupName="orgiam-Readers", PolicyName="AssumeAuditors")["PolicyDocument"]
    assert document == policy("sts:AssumeRole", resource="arn:aws:iam::*:role/Audit")
    attached = member.iam.list_attached_group_policies(GroupName="orgiam-Readers")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [SECURITY_AUDIT]

    stack.delete()
    with pytest.raises(ClientError) as missing:
        member.iam.get_group(GroupName="orgiam-Readers")
    assert missing.value.response["Error"]["Code"] == "NoSuchEntity"
    assert member.iam.get_policy(PolicyArn=SECURITY_AUDIT)["Policy"]["AttachmentCount"] == 0


def identity_template(addition_users: list[str], alice_groups: list[str]) -> dict[str, Any]:
    return {
        "Readers": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "Readers"}},
        "Admins": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "Admins"}},
        "Alice": {"Type": "AWS::IAM::User", "Properties": {
            "UserName": "alice",
            "Groups": alice_groups,
            "Policies": [{"PolicyName": "SelfService", "PolicyDocument": policy("iam:ChangePassword")}],
            "ManagedPolicyArns": [READ_ONLY],
            "LoginProfile": {"Password": "never-stored", "PasswordResetRequired": True},
            "Tags": [{"Key": "Team", "Value": "payments"}],
        }},
        "Bob": {"Type": "AWS::IAM::User", "Properties": {"UserName": "bob"}},
        "Carol": {"Type": "AWS::IAM::User", "Properties": {"UserName": "carol"}},
        "ReaderMembers": {"Type": "AWS::IAM::UserToGroupAddition", "DependsOn": ["Bob", "Carol", "Readers"],
                          "Properties": {"GroupName": {"Ref": "Readers"}, "Users": addition_users}},
    }


def test_memberships_follow_user_groups_and_user_to_group_additions(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-identity")
    stack.create(identity_template(addition_users=["bob", "carol"], alice_groups=["Readers"]))

    assert members_of(member, "Readers") == {"alice", "bob", "carol"}
    assert members_of(member, "Admins") == set()
    assert group_names_of(member, "alice") == {"Readers"}
    assert stack.physical_ids()["ReaderMembers"].startswith("orgiam-identity-ReaderMembers-")

    stack.update(identity_template(addition_users=["carol"], alice_groups=["Admins"]))
    assert members_of(member, "Readers") == {"carol"}
    assert members_of(member, "Admins") == {"alice"}

    stack.update(identity_template(addition_users=["bob", "carol"], alice_groups=["Admins", "Readers"]))
    assert members_of(member, "Readers") == {"alice", "bob", "carol"}
    assert group_names_of(member, "alice") == {"Admins", "Readers"}


def test_user_properties_are_applied_and_removed_with_the_stack(member: AccountSession) -> None:
    stack = Stack(member, "orgiam-identity")
    stack.create(identity_template(addition_users=[], alice_groups=["Readers"]))

    profile = member.iam.get_login_profile(UserName="alice")["LoginProfile"]
    assert profile["PasswordResetRequired"] is True
    assert member.iam.list_user_policies(UserName="alice")["PolicyNames"] == ["SelfService"]
    attached = member.iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [READ_ONLY]
    assert member.iam.list_user_tags(UserName="alice")["Tags"] == [{"Key": "Team", "Value": "payments"}]

    resources = identity_template(addition_users=[], alice_groups=["Readers"])
    alice = resources["Alice"]["Properties"]
    alice.update(Tags=[{"Key": "Team", "Value": "data"}], ManagedPolicyArns=[], Policies=[])
    del alice["LoginProfile"]
    stack.update(resources)
    assert member.iam.list_user_tags(UserName="alice")["Tags"] == [{"Key": "Team", "Value": "data"}]
    assert member.iam.list_user_policies(UserName="alice")["PolicyNames"] == []
    assert member.iam.list_attached_user_policies(UserName="alice")["AttachedPolicies"] == []
    with pytest.raises(ClientError):
        member.iam.get_login_profile(UserName="alice")

    stack.delete()
    assert member.iam.list_users()["Users"] == []
    assert member.iam.list_groups()["Groups"] == []

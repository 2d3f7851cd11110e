"""Identity Center in the emulator (emulator/identity_center.py) through its APIs: the seeded organization instance,
the identity store's groups and users, the delegated administrator, and the sso-admin calls whose effect is an IAM
role in the member account."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from emulator import control
from emulator.organization import load_demo_spec, seed_organization
from emulator.server import EmulatorServer
from tests.emulator.conftest import AccountSession, assume_access_role, error_of, management_client

SPEC: dict[str, Any] = {
    "management_account": {"name": "Management"},
    "organizational_units": [
        {"name": "Workloads", "accounts": [{"name": "Member", "email": "member@test.orgiam.example"},
                                           {"name": "Other", "email": "other@test.orgiam.example"}]},
        {"name": "Security", "accounts": [{"name": "Identity", "email": "identity@test.orgiam.example"}]},
    ],
    "identity_center": load_demo_spec()["identity_center"],
}
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
SSO_PATH = "/aws-reserved/sso.amazonaws.com/"


@dataclass
class Center:
    endpoint: str
    seeded: dict[str, Any]
    sso: BaseClient
    store: BaseClient

    @property
    def instance_arn(self) -> str:
        return str(self.seeded["identity_center"]["instance_arn"])

    @property
    def store_id(self) -> str:
        return str(self.seeded["identity_center"]["identity_store_id"])

    def group(self, name: str) -> str:
        return str(self.seeded["identity_center"]["groups"][name])

    def account(self, name: str) -> str:
        return str(self.seeded["accounts"][name])

    def member(self, name: str) -> AccountSession:
        return assume_access_role(self.endpoint, self.account(name))

    def permission_set(self, name: str, **more: Any) -> str:
        return str(self.sso.create_permission_set(InstanceArn=self.instance_arn, Name=name, **more)
                   ["PermissionSet"]["PermissionSetArn"])

    def assign(self, permission_set_arn: str, account: str, group: str = "platform-engineers",
               principal_id: str | None = None) -> dict[str, Any]:
        status: dict[str, Any] = self.sso.create_account_assignment(
            InstanceArn=self.instance_arn, TargetId=account, TargetType="AWS_ACCOUNT",
            PermissionSetArn=permission_set_arn, PrincipalType="GROUP",
            PrincipalId=principal_id or self.group(group))["AccountAssignmentCreationStatus"]
        return status

    def unassign(self, permission_set_arn: str, account: str, group: str = "platform-engineers") -> dict[str, Any]:
        status: dict[str, Any] = self.sso.delete_account_assignment(
            InstanceArn=self.instance_arn, TargetId=account, TargetType="AWS_ACCOUNT",
            PermissionSetArn=permission_set_arn, PrincipalType="GROUP",
            PrincipalId=self.group(group))["AccountAssignmentDeletionStatus"]
        return status


@pytest.fixture(scope="module")
def center(emulator: EmulatorServer) -> Center:
    control.reset(emulator.endpoint_url)
    seeded = seed_organization(emulator.endpoint_url, SPEC)
    return Center(emulator.endpoint_url, seeded, management_client(emulator.endpoint_url, "sso-admin"),
                  management_client(emulator.endpoint_url, "identitystore"))


def sso_roles(account: AccountSession) -> dict[str, dict[str, Any]]:
    return {r["RoleName"]: r for r in account.iam.list_roles(PathPrefix=SSO_PATH)["Roles"]}


def only_role(account: AccountSession, permission_set_name: str) -> dict[str, Any]:
    found = [r for name, r in sso_roles(account).items() if name.startswith(f"AWSReservedSSO_{permission_set_name}_")]
    assert len(found) == 1, sso_roles(account)
    return found[0]


# --- the instance -------------------------------------------------------------------------------------


def test_the_seeded_instance_is_the_management_accounts(center: Center) -> None:
    (instance,) = center.sso.list_instances()["Instances"]
    assert re.fullmatch(r"arn:aws:sso:::instance/ssoins-[0-9a-f]{16}", instance["InstanceArn"])
    assert re.fullmatch(r"d-[0-9a-f]{10}", instance["IdentityStoreId"])
    assert instance["OwnerAccountId"] == center.seeded["management_account_id"]
    assert instance["Status"] == "ACTIVE"
    assert center.sso.describe_instance(InstanceArn=instance["InstanceArn"])["IdentityStoreId"] == center.store_id


def test_seeding_again_changes_nothing(center: Center) -> None:
    again = seed_organization(center.endpoint, SPEC)
    assert again["identity_center"] == center.seeded["identity_center"]
    assert len(center.store.list_groups(IdentityStoreId=center.store_id)["Groups"]) == 3


def test_a_member_account_has_no_instance_and_cannot_use_the_organizations(center: Center) -> None:
    member = center.member("Other").client("sso-admin")
    assert member.list_instances()["Instances"] == []
    with pytest.raises(ClientError) as raised:
        member.list_permission_sets(InstanceArn=center.instance_arn)
    assert error_of(raised)[0] == "AccessDeniedException"
    with pytest.raises(ClientError) as raised:
        member.create_instance()
    assert error_of(raised)[0] == "ValidationException"


def test_a_second_organization_instance_is_refused(center: Center) -> None:
    with pytest.raises(ClientError) as raised:
        center.sso.create_instance()
    assert error_of(raised)[0] == "ConflictException"


def test_the_delegated_administrator_works_on_the_same_instance(center: Center) -> None:
    organizations = management_client(center.endpoint, "organizations")
    organizations.register_delegated_administrator(AccountId=center.account("Identity"),
                                                   ServicePrincipal="sso.amazonaws.com")
    admin = center.member("Identity")
    (instance,) = admin.client("sso-admin").list_instances()["Instances"]
    assert instance["InstanceArn"] == center.instance_arn
    arn = admin.client("sso-admin").create_permission_set(InstanceArn=center.instance_arn,
                                                          Name="FromDelegated")["PermissionSet"]["PermissionSetArn"]
    assert arn in center.sso.list_permission_sets(InstanceArn=center.instance_arn)["PermissionSets"]
    groups = admin.client("identitystore").list_groups(IdentityStoreId=center.store_id)["Groups"]
    assert {g["DisplayName"] for g in groups} == {"platform-engineers", "payments-prod-readers", "sandbox-users"}


# --- the identity store ---------------------------------------------------------------------------------


def test_groups_are_found_by_display_name(center: Center) -> None:
    found = center.store.list_groups(IdentityStoreId=center.store_id, Filters=[
        {"AttributePath": "DisplayName", "AttributeValue": "payments-prod-readers"}])["Groups"]
    assert [g["GroupId"] for g in found] == [center.group("payments-prod-readers")]
    group_id = center.store.get_group_id(IdentityStoreId=center.store_id, AlternateIdentifier={
        "UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "sandbox-users"}})["GroupId"]
    assert group_id == center.group("sandbox-users")
    described = center.store.describe_group(IdentityStoreId=center.store_id, GroupId=group_id)
    assert described["DisplayName"] == "sandbox-users"
    with pytest.raises(ClientError) as raised:
        center.store.get_group_id(IdentityStoreId=center.store_id, AlternateIdentifier={
            "UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "nobody"}})
    assert error_of(raised)[0] == "ResourceNotFoundException"


def test_users_and_their_memberships(center: Center) -> None:
    (bob,) = center.store.list_users(IdentityStoreId=center.store_id, Filters=[
        {"AttributePath": "UserName", "AttributeValue": "bob.payments"}])["Users"]
    assert center.store.get_user_id(IdentityStoreId=center.store_id, AlternateIdentifier={
        "UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "bob.payments"}})["UserId"] == bob["UserId"]
    described = center.store.describe_user(IdentityStoreId=center.store_id, UserId=bob["UserId"])
    assert (described["UserName"], described["Name"]["GivenName"]) == ("bob.payments", "Bob")
    for_bob = center.store.list_group_memberships_for_member(IdentityStoreId=center.store_id,
                                                             MemberId={"UserId": bob["UserId"]})["GroupMemberships"]
    assert [m["GroupId"] for m in for_bob] == [center.group("payments-prod-readers")]
    members = {
        name: [m["MemberId"]["UserId"] for m in center.store.list_group_memberships(
            IdentityStoreId=center.store_id, GroupId=center.group(name))["GroupMemberships"]]
        for name in ("platform-engineers", "payments-prod-readers", "sandbox-users")}
    users = center.seeded["identity_center"]["users"]
    assert members == {"platform-engineers": [users["alice.platform"]],
                       "payments-prod-readers": [users["bob.payments"]],
                       "sandbox-users": [users["carol.sandbox"]]}


def test_an_unknown_identity_store_is_not_found(center: Center) -> None:
    with pytest.raises(ClientError) as raised:
        center.store.list_groups(IdentityStoreId="d-0000000000")
    assert error_of(raised)[0] == "ResourceNotFoundException"


# --- permission sets ------------------------------------------------------------------------------------


@pytest.mark.parametrize("request_fields, code", [
    ({"Name": "bad name"}, "ValidationException"),
    ({"Name": "x" * 33}, "ValidationException"),
    ({"Name": "Long", "SessionDuration": "PT13H"}, "ValidationException"),
    ({"Name": "Short", "SessionDuration": "PT30M"}, "ValidationException"),
    ({"Name": "Words", "SessionDuration": "four hours"}, "ValidationException"),
    ({"Name": "Described", "Description": "d" * 701}, "ValidationException"),
])
def test_permission_sets_are_checked_as_aws_checks_them(center: Center, request_fields: dict[str, Any], code: str) -> None:
    with pytest.raises(ClientError) as raised:
        center.sso.create_permission_set(InstanceArn=center.instance_arn, **request_fields)
    assert error_of(raised)[0] == code


def test_a_permission_set_name_is_unique_and_defaults_apply(center: Center) -> None:
    arn = center.permission_set("Unique")
    assert re.fullmatch(rf"arn:aws:sso:::permissionSet/{center.instance_arn.rsplit('/', 1)[1]}/ps-[0-9a-f]{{16}}", arn)
    described = center.sso.describe_permission_set(InstanceArn=center.instance_arn, PermissionSetArn=arn)["PermissionSet"]
    assert described["SessionDuration"] == "PT1H"
    with pytest.raises(ClientError) as raised:
        center.permission_set("Unique")
    assert error_of(raised)[0] == "ConflictException"


def test_policies_boundary_and_tags_are_checked_and_read_back(center: Center) -> None:
    arn = center.permission_set("Policies", Tags=[{"Key": "team", "Value": "platform"}])
    ids = {"InstanceArn": center.instance_arn, "PermissionSetArn": arn}
    with pytest.raises(ClientError) as raised:
        center.sso.attach_managed_policy_to_permission_set(**ids, ManagedPolicyArn="arn:aws:iam::aws:policy/NoSuch")
    assert error_of(raised) == ("ResourceNotFoundException", "Policy does not exist with ARN: arn:aws:iam::aws:policy/NoSuch")
    center.sso.attach_managed_policy_to_permission_set(**ids, ManagedPolicyArn=READ_ONLY)
    with pytest.raises(ClientError) as raised:
        center.sso.attach_managed_policy_to_permission_set(**ids, ManagedPolicyArn=READ_ONLY)
    assert error_of(raised)[0] == "ConflictException"
    with pytest.raises(ClientError) as raised:
        center.sso.put_inline_policy_to_permission_set(**ids, InlinePolicy="not json")
    assert error_of(raised)[0] == "ValidationException"
    with pytest.raises(ClientError) as raised:
        center.sso.get_permissions_boundary_for_permission_set(**ids)
    assert error_of(raised)[0] == "ResourceNotFoundException"
    center.sso.put_permissions_boundary_to_permission_set(**ids, PermissionsBoundary={
        "CustomerManagedPolicyReference": {"Name": "Boundary"}})
    assert center.sso.get_permissions_boundary_for_permission_set(**ids)["PermissionsBoundary"] == {
        "CustomerManagedPolicyReference": {"Name": "Boundary", "Path": "/"}}
    center.sso.tag_resource(InstanceArn=center.instance_arn, ResourceArn=arn, Tags=[{"Key": "tier", "Value": "1"}])
    center.sso.untag_resource(InstanceArn=center.instance_arn, ResourceArn=arn, TagKeys=["team"])
    assert center.sso.list_tags_for_resource(InstanceArn=center.instance_arn, ResourceArn=arn)["Tags"] == [
        {"Key": "tier", "Value": "1"}]


def test_at_most_twenty_managed_policies(center: Center) -> None:
    arn = center.permission_set("Many")
    ids = {"InstanceArn": center.instance_arn, "PermissionSetArn": arn}
    for number in range(20):
        center.sso.attach_customer_managed_policy_reference_to_permission_set(
            **ids, CustomerManagedPolicyReference={"Name": f"policy-{number}"})
    with pytest.raises(ClientError) as raised:
        center.sso.attach_managed_policy_to_permission_set(**ids, ManagedPolicyArn=READ_ONLY)
    assert error_of(raised)[0] == "ServiceQuotaExceededException"


# --- assignments and their role in the account ------------------------------------------------------------


def test_an_assignment_makes_the_role_and_its_removal_deletes_it(center: Center) -> None:
    arn = center.permission_set("Operator", SessionDuration="PT8H")
    ids = {"InstanceArn": center.instance_arn, "PermissionSetArn": arn}
    center.sso.attach_managed_policy_to_permission_set(**ids, ManagedPolicyArn=READ_ONLY)
    inline = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]}
    center.sso.put_inline_policy_to_permission_set(**ids, InlinePolicy=json.dumps(inline))
    status = center.assign(arn, center.account("Member"))
    assert status["Status"] == "SUCCEEDED"
    assert center.sso.describe_account_assignment_creation_status(
        InstanceArn=center.instance_arn, AccountAssignmentCreationRequestId=status["RequestId"]
    )["AccountAssignmentCreationStatus"]["Status"] == "SUCCEEDED"
    assert center.assign(arn, center.account("Member"))["Status"] == "SUCCEEDED"  # the same again: still one
    assert len(center.sso.list_account_assignments(InstanceArn=center.instance_arn, AccountId=center.account("Member"),
                                                   PermissionSetArn=arn)["AccountAssignments"]) == 1

    member = center.member("Member")
    role = only_role(member, "Operator")
    assert role["Path"] == SSO_PATH and role["MaxSessionDuration"] == 8 * 3600
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    provider = statement["Principal"]["Federated"]
    assert re.fullmatch(rf"arn:aws:iam::{center.account('Member')}:saml-provider/AWSSSO_[0-9a-f]{{16}}_DO_NOT_DELETE",
                        provider)
    assert provider in [p["Arn"] for p in member.iam.list_saml_providers()["SAMLProviderList"]]
    assert [p["PolicyArn"] for p in member.iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]] \
        == [READ_ONLY]
    assert member.iam.get_role_policy(RoleName=role["RoleName"], PolicyName="AwsSSOInlinePolicy")["PolicyDocument"] == inline
    assert center.sso.list_permission_sets_provisioned_to_account(
        InstanceArn=center.instance_arn, AccountId=center.account("Member"))["PermissionSets"] == [arn]
    assert center.sso.list_accounts_for_provisioned_permission_set(**ids)["AccountIds"] == [center.account("Member")]

    deletion = center.unassign(arn, center.account("Member"))
    assert center.sso.describe_account_assignment_deletion_status(
        InstanceArn=center.instance_arn, AccountAssignmentDeletionRequestId=deletion["RequestId"]
    )["AccountAssignmentDeletionStatus"]["Status"] == "SUCCEEDED"
    assert not [name for name in sso_roles(member) if name.startswith("AWSReservedSSO_Operator_")]
    assert center.sso.list_accounts_for_provisioned_permission_set(**ids)["AccountIds"] == []


def test_a_changed_permission_set_reaches_the_role_when_provisioned_again(center: Center) -> None:
    arn = center.permission_set("Changing")
    ids = {"InstanceArn": center.instance_arn, "PermissionSetArn": arn}
    center.assign(arn, center.account("Other"))
    center.sso.update_permission_set(**ids, SessionDuration="PT2H")
    center.sso.attach_managed_policy_to_permission_set(**ids, ManagedPolicyArn=READ_ONLY)
    member = center.member("Other")
    assert only_role(member, "Changing")["MaxSessionDuration"] == 3600  # not yet: the account is outdated
    assert center.sso.list_permission_sets_provisioned_to_account(
        InstanceArn=center.instance_arn, AccountId=center.account("Other"),
        ProvisioningStatus="LATEST_PERMISSION_SET_NOT_PROVISIONED")["PermissionSets"] == [arn]
    status = center.sso.provision_permission_set(**ids, TargetType="ALL_PROVISIONED_ACCOUNTS")["PermissionSetProvisioningStatus"]
    assert center.sso.describe_permission_set_provisioning_status(
        InstanceArn=center.instance_arn, ProvisionPermissionSetRequestId=status["RequestId"]
    )["PermissionSetProvisioningStatus"]["Status"] == "SUCCEEDED"
    role = only_role(member, "Changing")
    assert role["MaxSessionDuration"] == 7200
    assert [p["PolicyArn"] for p in member.iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]] \
        == [READ_ONLY]
    assert center.sso.list_permission_sets_provisioned_to_account(
        InstanceArn=center.instance_arn, AccountId=center.account("Other"),
        ProvisioningStatus="LATEST_PERMISSION_SET_PROVISIONED")["PermissionSets"] == [arn]


def test_the_role_stays_while_another_assignment_holds_it(center: Center) -> None:
    arn = center.permission_set("Shared")
    center.assign(arn, center.account("Member"), "platform-engineers")
    center.assign(arn, center.account("Member"), "sandbox-users")
    center.unassign(arn, center.account("Member"), "platform-engineers")
    only_role(center.member("Member"), "Shared")
    for_principal = center.sso.list_account_assignments_for_principal(
        InstanceArn=center.instance_arn, PrincipalId=center.group("sandbox-users"), PrincipalType="GROUP",
        Filter={"AccountId": center.account("Member")})["AccountAssignments"]
    assert [a["PermissionSetArn"] for a in for_principal] == [arn]


@pytest.mark.parametrize("case", ["no permission set", "no principal", "outside account", "bad account id"])
def test_assignments_are_refused_as_aws_refuses_them(center: Center, case: str) -> None:
    arn = center.permission_set(f"Refused{len(case)}{case[:2].strip()}")
    arguments: dict[str, Any] = {"permission_set_arn": arn, "account": center.account("Member")}
    expected = {"no permission set": "ResourceNotFoundException", "no principal": "ResourceNotFoundException",
                "outside account": "ValidationException", "bad account id": "ValidationException"}[case]
    if case == "no permission set":
        arguments["permission_set_arn"] = arn[:-4] + "0000"
    elif case == "no principal":
        arguments["principal_id"] = "12345678-1234-1234-1234-123456789012"
    elif case == "outside account":
        arguments["account"] = "999999999999"
    else:
        arguments["account"] = "not-an-account"
    with pytest.raises(ClientError) as raised:
        center.assign(arguments.pop("permission_set_arn"), arguments.pop("account"), **arguments)
    assert error_of(raised)[0] == expected


def test_a_missing_customer_managed_policy_fails_the_request(center: Center) -> None:
    arn = center.permission_set("NeedsPolicy")
    center.sso.attach_customer_managed_policy_reference_to_permission_set(
        InstanceArn=center.instance_arn, PermissionSetArn=arn, CustomerManagedPolicyReference={"Name": "team-policy"})
    status = center.assign(arn, center.account("Other"))
    assert status["Status"] == "FAILED" and "team-policy" in status["FailureReason"]
    assert center.sso.list_account_assignments(InstanceArn=center.instance_arn, AccountId=center.account("Other"),
                                               PermissionSetArn=arn)["AccountAssignments"] == []
    member = center.member("Other")
    member.iam.create_policy(PolicyName="team-policy", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}))
    assert center.assign(arn, center.account("Other"))["Status"] == "SUCCEEDED"
    role = only_role(member, "NeedsPolicy")
    assert [p["PolicyName"] for p in member.iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]] \
        == ["team-policy"]


def test_an_assigned_permission_set_cannot_be_deleted(center: Center) -> None:
    arn = center.permission_set("Kept")
    center.assign(arn, center.account("Member"))
    with pytest.raises(ClientError) as raised:
        center.sso.delete_permission_set(InstanceArn=center.instance_arn, PermissionSetArn=arn)
    assert error_of(raised)[0] == "ConflictException"
    center.unassign(arn, center.account("Member"))
    center.sso.delete_permission_set(InstanceArn=center.instance_arn, PermissionSetArn=arn)
    assert arn not in center.sso.list_permission_sets(InstanceArn=center.instance_arn)["PermissionSets"]

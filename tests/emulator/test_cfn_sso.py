"""``AWS::SSO::PermissionSet`` and ``AWS::SSO::Assignment`` stacks (emulator/cfn_sso.py) in the management account,
read back through sso-admin and through IAM in the member accounts, where the people's roles are."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.client import BaseClient

from emulator import control
from emulator.organization import seed_organization
from emulator.server import EmulatorServer
from tests.emulator.conftest import AccountSession, assume_access_role, described, management_client, template
from tests.emulator.test_identity_center import SPEC, SSO_PATH

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
VIEW_ONLY = "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"
INLINE = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}


class Org:
    def __init__(self, endpoint: str, seeded: dict[str, Any]) -> None:
        self.endpoint = endpoint
        self.seeded = seeded
        self.sso: BaseClient = management_client(endpoint, "sso-admin")
        self.cloudformation: BaseClient = management_client(endpoint, "cloudformation")
        self._members: dict[str, AccountSession] = {}

    @property
    def instance_arn(self) -> str:
        return str(self.seeded["identity_center"]["instance_arn"])

    def group(self, name: str) -> str:
        return str(self.seeded["identity_center"]["groups"][name])

    def account(self, name: str) -> str:
        return str(self.seeded["accounts"][name])

    def member(self, name: str) -> AccountSession:
        if name not in self._members:
            self._members[name] = assume_access_role(self.endpoint, self.account(name))
        return self._members[name]

    def create(self, stack: str, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
        self.cloudformation.create_stack(StackName=stack, TemplateBody=template(resources, outputs))
        return self.status(stack)

    def update(self, stack: str, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
        self.cloudformation.update_stack(StackName=stack, TemplateBody=template(resources, outputs))
        return self.status(stack)

    def status(self, stack: str) -> str:
        return str(described(self.cloudformation, stack)["StackStatus"])

    def outputs(self, stack: str) -> dict[str, str]:
        return {o["OutputKey"]: o["OutputValue"] for o in described(self.cloudformation, stack).get("Outputs", [])}

    def reason(self, stack: str) -> str:
        return str(described(self.cloudformation, stack).get("StackStatusReason") or "")

    def permission_sets(self) -> dict[str, str]:
        """Name -> ARN of every permission set of the instance."""
        arns = self.sso.list_permission_sets(InstanceArn=self.instance_arn)["PermissionSets"]
        return {self.sso.describe_permission_set(InstanceArn=self.instance_arn, PermissionSetArn=arn)
                ["PermissionSet"]["Name"]: arn for arn in arns}

    def roles(self, account: str, permission_set_name: str) -> list[dict[str, Any]]:
        roles = self.member(account).iam.list_roles(PathPrefix=SSO_PATH)["Roles"]
        return [r for r in roles if r["RoleName"].startswith(f"AWSReservedSSO_{permission_set_name}_")]

    def role(self, account: str, permission_set_name: str) -> dict[str, Any]:
        (found,) = self.roles(account, permission_set_name)
        iam = self.member(account).iam
        name = found["RoleName"]
        role: dict[str, Any] = iam.get_role(RoleName=name)["Role"]
        role["attached"] = sorted(p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"])
        role["inline"] = {p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                          for p in iam.list_role_policies(RoleName=name)["PolicyNames"]}
        return role


@pytest.fixture(scope="module")
def org(emulator: EmulatorServer) -> Org:
    control.reset(emulator.endpoint_url)
    return Org(emulator.endpoint_url, seed_organization(emulator.endpoint_url, SPEC))


def permission_set(org: Org, name: str, **properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::SSO::PermissionSet",
            "Properties": {"InstanceArn": org.instance_arn, "Name": name, **properties}}


def assignment(org: Org, permission_set_logical_id: str, account: str, group: str) -> dict[str, Any]:
    return {"Type": "AWS::SSO::Assignment", "Properties": {
        "InstanceArn": org.instance_arn, "PermissionSetArn": {"Fn::GetAtt": [permission_set_logical_id, "PermissionSetArn"]},
        "PrincipalType": "GROUP", "PrincipalId": org.group(group), "TargetType": "AWS_ACCOUNT",
        "TargetId": org.account(account)}}


def test_a_permission_set_and_its_assignment_give_the_group_a_role_in_the_account(org: Org) -> None:
    org.member("Member").iam.create_policy(PolicyName="payments-read", Path="/teams/", PolicyDocument=json.dumps(INLINE))
    org.member("Member").iam.create_policy(PolicyName="boundary", PolicyDocument=json.dumps(INLINE))
    resources = {
        "Reader": permission_set(
            org, "PaymentsReader", Description="Read the payments accounts", SessionDuration="PT4H",
            RelayStateType="https://console.aws.amazon.com/", ManagedPolicies=[READ_ONLY],
            CustomerManagedPolicyReferences=[{"Name": "payments-read", "Path": "/teams/"}], InlinePolicy=INLINE,
            PermissionsBoundary={"CustomerManagedPolicyReference": {"Name": "boundary"}},
            Tags=[{"Key": "orgiam", "Value": "managed"}]),
        "ReadersInMember": assignment(org, "Reader", "Member", "payments-prod-readers"),
    }
    outputs = {"Ref": {"Value": {"Ref": "Reader"}}, "Arn": {"Value": {"Fn::GetAtt": ["Reader", "PermissionSetArn"]}},
               "AssignmentRef": {"Value": {"Ref": "ReadersInMember"}}}
    assert org.create("sso-reader", resources, outputs) == "CREATE_COMPLETE"

    arn = org.permission_sets()["PaymentsReader"]
    ids = {"InstanceArn": org.instance_arn, "PermissionSetArn": arn}
    assert org.outputs("sso-reader") == {
        "Ref": f"{org.instance_arn}|{arn}", "Arn": arn,
        "AssignmentRef": f"{org.instance_arn}|{org.account('Member')}|AWS_ACCOUNT|{arn}|GROUP|"
                         f"{org.group('payments-prod-readers')}"}
    ps = org.sso.describe_permission_set(**ids)["PermissionSet"]
    assert (ps["Description"], ps["SessionDuration"], ps["RelayState"]) == (
        "Read the payments accounts", "PT4H", "https://console.aws.amazon.com/")
    assert json.loads(org.sso.get_inline_policy_for_permission_set(**ids)["InlinePolicy"]) == INLINE
    assert [p["Arn"] for p in org.sso.list_managed_policies_in_permission_set(**ids)["AttachedManagedPolicies"]] == [READ_ONLY]
    assert org.sso.list_customer_managed_policy_references_in_permission_set(**ids)["CustomerManagedPolicyReferences"] \
        == [{"Name": "payments-read", "Path": "/teams/"}]
    assert org.sso.get_permissions_boundary_for_permission_set(**ids)["PermissionsBoundary"] == {
        "CustomerManagedPolicyReference": {"Name": "boundary", "Path": "/"}}
    assert org.sso.list_tags_for_resource(InstanceArn=org.instance_arn, ResourceArn=arn)["Tags"] == [
        {"Key": "orgiam", "Value": "managed"}]
    assert org.sso.list_account_assignments(InstanceArn=org.instance_arn, AccountId=org.account("Member"),
                                            PermissionSetArn=arn)["AccountAssignments"] == [{
        "AccountId": org.account("Member"), "PermissionSetArn": arn, "PrincipalType": "GROUP",
        "PrincipalId": org.group("payments-prod-readers")}]
    assert org.sso.list_permission_sets_provisioned_to_account(
        InstanceArn=org.instance_arn, AccountId=org.account("Member"))["PermissionSets"] == [arn]

    role = org.role("Member", "PaymentsReader")
    member = org.account("Member")
    assert role["Path"] == SSO_PATH and role["MaxSessionDuration"] == 4 * 3600
    assert role["attached"] == sorted([READ_ONLY, f"arn:aws:iam::{member}:policy/teams/payments-read"])
    assert role["inline"] == {"AwsSSOInlinePolicy": INLINE}
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == f"arn:aws:iam::{member}:policy/boundary"
    (statement,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Action"] == ["sts:AssumeRoleWithSAML", "sts:TagSession"]
    assert statement["Principal"]["Federated"].startswith(f"arn:aws:iam::{member}:saml-provider/AWSSSO_")
    assert org.roles("Other", "PaymentsReader") == []  # only where it is assigned


def test_an_update_changes_the_permission_set_in_place_and_reprovisions_the_role(org: Org) -> None:
    before = {"Ops": permission_set(org, "Ops", ManagedPolicies=[READ_ONLY], InlinePolicy=json.dumps(INLINE),
                                    Tags=[{"Key": "a", "Value": "1"}]),
              "OpsInOther": assignment(org, "Ops", "Other", "platform-engineers")}
    assert org.create("sso-ops", before) == "CREATE_COMPLETE"
    arn = org.permission_sets()["Ops"]
    after = {"Ops": permission_set(org, "Ops", ManagedPolicies=[VIEW_ONLY], SessionDuration="PT12H",
                                   Description="now described", PermissionsBoundary={"ManagedPolicyArn": READ_ONLY},
                                   Tags=[{"Key": "b", "Value": "2"}]),
             "OpsInOther": assignment(org, "Ops", "Other", "platform-engineers")}
    assert org.update("sso-ops", after) == "UPDATE_COMPLETE"
    assert org.permission_sets()["Ops"] == arn  # the same permission set
    ids = {"InstanceArn": org.instance_arn, "PermissionSetArn": arn}
    assert org.sso.get_inline_policy_for_permission_set(**ids)["InlinePolicy"] == ""
    assert org.sso.list_tags_for_resource(InstanceArn=org.instance_arn, ResourceArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
    assert org.sso.list_accounts_for_provisioned_permission_set(
        **ids, ProvisioningStatus="LATEST_PERMISSION_SET_PROVISIONED")["AccountIds"] == [org.account("Other")]
    role = org.role("Other", "Ops")
    assert (role["attached"], role["inline"], role["MaxSessionDuration"]) == ([VIEW_ONLY], {}, 12 * 3600)
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == READ_ONLY


def test_a_new_name_replaces_the_permission_set_and_its_roles(org: Org) -> None:
    resources = {"Set": permission_set(org, "OldName", ManagedPolicies=[READ_ONLY]),
                 "SetInMember": assignment(org, "Set", "Member", "sandbox-users")}
    assert org.create("sso-rename", resources) == "CREATE_COMPLETE"
    old_arn = org.permission_sets()["OldName"]
    resources["Set"] = permission_set(org, "NewName", ManagedPolicies=[READ_ONLY])
    assert org.update("sso-rename", resources) == "UPDATE_COMPLETE"
    names = org.permission_sets()
    assert "OldName" not in names and names["NewName"] != old_arn
    assert org.roles("Member", "OldName") == [] and len(org.roles("Member", "NewName")) == 1
    assert org.sso.list_account_assignments_for_principal(
        InstanceArn=org.instance_arn, PrincipalId=org.group("sandbox-users"), PrincipalType="GROUP",
        Filter={"AccountId": org.account("Member")})["AccountAssignments"] == [{
            "AccountId": org.account("Member"), "PermissionSetArn": names["NewName"], "PrincipalType": "GROUP",
            "PrincipalId": org.group("sandbox-users")}]


def test_a_new_principal_replaces_the_assignment_and_the_role_stays(org: Org) -> None:
    resources = {"Set": permission_set(org, "Moving"), "Grant": assignment(org, "Set", "Other", "sandbox-users")}
    assert org.create("sso-move", resources) == "CREATE_COMPLETE"
    role_id = org.role("Other", "Moving")["RoleId"]
    resources["Grant"] = assignment(org, "Set", "Other", "platform-engineers")
    assert org.update("sso-move", resources) == "UPDATE_COMPLETE"
    arn = org.permission_sets()["Moving"]
    found = org.sso.list_account_assignments(InstanceArn=org.instance_arn, AccountId=org.account("Other"),
                                             PermissionSetArn=arn)["AccountAssignments"]
    assert [a["PrincipalId"] for a in found] == [org.group("platform-engineers")]
    assert org.role("Other", "Moving")["RoleId"] == role_id  # never removed on the way


def test_deleting_the_stack_removes_assignments_roles_and_permission_sets(org: Org) -> None:
    resources = {"Set": permission_set(org, "Temporary", ManagedPolicies=[READ_ONLY]),
                 "InMember": assignment(org, "Set", "Member", "platform-engineers"),
                 "InOther": assignment(org, "Set", "Other", "platform-engineers")}
    assert org.create("sso-delete", resources) == "CREATE_COMPLETE"
    assert len(org.roles("Member", "Temporary")) == len(org.roles("Other", "Temporary")) == 1
    org.cloudformation.delete_stack(StackName="sso-delete")
    assert "Temporary" not in org.permission_sets()
    assert org.roles("Member", "Temporary") == [] and org.roles("Other", "Temporary") == []


@pytest.mark.parametrize("case, expected", [
    ("unknown managed policy", "Policy does not exist with ARN: arn:aws:iam::aws:policy/NoSuchPolicy"),
    ("session too long", "SessionDuration PT13H is out of range"),
    ("bad name", "failed to satisfy constraint"),
    ("unknown group", "does not exist in the identity store"),
    ("account outside the organization", "is not an account of the organization"),
    ("customer managed policy missing", "failed due to: Received a 404 status error"),
])
def test_a_failing_resource_rolls_the_stack_back_and_leaves_nothing(org: Org, case: str, expected: str) -> None:
    name = f"Failing{abs(hash(case)) % 10000}"
    properties: dict[str, Any] = {"ManagedPolicies": [READ_ONLY]}
    grant = assignment(org, "Set", "Member", "platform-engineers")
    if case == "unknown managed policy":
        properties["ManagedPolicies"] = ["arn:aws:iam::aws:policy/NoSuchPolicy"]
    elif case == "session too long":
        properties["SessionDuration"] = "PT13H"
    elif case == "bad name":
        name = "bad name"
    elif case == "unknown group":
        grant["Properties"]["PrincipalId"] = "12345678-1234-1234-1234-123456789012"
    elif case == "account outside the organization":
        grant["Properties"]["TargetId"] = "999999999999"
    else:
        properties["CustomerManagedPolicyReferences"] = [{"Name": "nowhere"}]
    stack = f"sso-fail-{abs(hash(case)) % 10000}"
    assert org.create(stack, {"Set": permission_set(org, name, **properties), "Grant": grant}) == "ROLLBACK_COMPLETE"
    assert expected in org.reason(stack)
    assert name not in org.permission_sets()
    assert org.roles("Member", name) == []


def test_a_failed_update_rolls_back_to_the_previous_permission_set(org: Org) -> None:
    resources = {"Set": permission_set(org, "Steady", ManagedPolicies=[READ_ONLY], SessionDuration="PT2H"),
                 "Grant": assignment(org, "Set", "Member", "platform-engineers")}
    assert org.create("sso-steady", resources) == "CREATE_COMPLETE"
    resources["Set"] = permission_set(org, "Steady", ManagedPolicies=[VIEW_ONLY], SessionDuration="PT6H")
    resources["Broken"] = assignment(org, "Set", "Member", "platform-engineers")
    resources["Broken"]["Properties"]["PrincipalId"] = "12345678-1234-1234-1234-123456789012"
    resources["Broken"]["DependsOn"] = "Grant"
    assert org.update("sso-steady", resources) == "UPDATE_ROLLBACK_COMPLETE"
    arn = org.permission_sets()["Steady"]
    ps = org.sso.describe_permission_set(InstanceArn=org.instance_arn, PermissionSetArn=arn)["PermissionSet"]
    assert ps["SessionDuration"] == "PT2H"
    role = org.role("Member", "Steady")
    assert (role["attached"], role["MaxSessionDuration"]) == ([READ_ONLY], 7200)


def test_an_assignment_that_exists_already_fails_as_the_handler_does(org: Org) -> None:
    resources = {"Set": permission_set(org, "Twice"), "Grant": assignment(org, "Set", "Other", "sandbox-users")}
    assert org.create("sso-twice", resources) == "CREATE_COMPLETE"
    arn = org.permission_sets()["Twice"]
    duplicate = assignment(org, "Set", "Other", "sandbox-users")
    duplicate["Properties"]["PermissionSetArn"] = arn
    assert org.create("sso-twice-again", {"Again": duplicate}) == "ROLLBACK_COMPLETE"
    assert "Assignment already exists" in org.reason("sso-twice-again")
    assert len(org.roles("Other", "Twice")) == 1  # the first stack's assignment is untouched

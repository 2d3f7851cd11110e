"""Service-managed StackSets in the emulator deploy as AWS does (emulator/stacksets.py).

Each test seeds a small organization with nested OUs, a suspended account and the management account
in the root, and checks through IAM in the member accounts where the stack set's role exists.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator import stacksets
from emulator.organization import seed_organization
from tests.emulator.conftest import assume_access_role, management_client

ROLE = "orgiam-stackset-probe"

SPEC: dict[str, Any] = {
    "management_account": {"name": "Management"},
    "organizational_units": [
        {"name": "Workloads", "accounts": [{"name": "Top", "email": "top@test.orgiam.example"}],
         "organizational_units": [
             {"name": "Prod", "accounts": [{"name": "Deep", "email": "deep@test.orgiam.example"}],
              "organizational_units": [{"name": "Payments", "accounts": [{"name": "Deeper", "email": "deeper@test.orgiam.example"}]}]},
         ]},
        {"name": "Sandbox", "accounts": [{"name": "Play", "email": "play@test.orgiam.example"},
                                         {"name": "Closed", "email": "closed@test.orgiam.example", "suspended": True}]},
        {"name": "Empty"},
    ],
}

TEMPLATE = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"Purpose": {"Type": "String", "Default": "first"}},
    "Resources": {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "RoleName": ROLE,
                "Path": "/orgiam/",
                "Description": {"Ref": "Purpose"},
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                   "Action": "sts:AssumeRole"}],
                },
            },
        }
    },
}


@pytest.fixture(autouse=True)
def _installed() -> None:
    stacksets.install()


@pytest.fixture
def org(endpoint: str) -> dict[str, Any]:
    seeded = seed_organization(endpoint, SPEC)
    seeded["endpoint"] = endpoint
    return seeded


def cfn(org: dict[str, Any]) -> Any:
    return management_client(org["endpoint"], "cloudformation")


def role_description(org: dict[str, Any], name: str) -> str | None:
    iam = assume_access_role(org["endpoint"], org["accounts"][name]).iam
    try:
        return str(iam.get_role(RoleName=ROLE)["Role"].get("Description", ""))
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchEntity"
        return None


def with_role(org: dict[str, Any]) -> set[str]:
    return {name for name in org["accounts"] if name not in ("Management", "Closed") and role_description(org, name) is not None}


def stack_set(org: dict[str, Any], targets: list[str], auto: bool = True, retain: bool = False) -> None:
    client = cfn(org)
    client.activate_organizations_access()
    client.create_stack_set(
        StackSetName="probe", TemplateBody=json.dumps(TEMPLATE), PermissionModel="SERVICE_MANAGED",
        Capabilities=["CAPABILITY_NAMED_IAM"], AutoDeployment={"Enabled": auto, "RetainStacksOnAccountRemoval": retain},
    )
    client.create_stack_instances(StackSetName="probe", DeploymentTargets={"OrganizationalUnitIds": targets},
                                  Regions=["us-east-1"])


def test_the_root_reaches_every_active_member_account_in_nested_ous_but_never_the_management_account(org):
    stack_set(org, [org["root_id"]])
    assert with_role(org) == {"Top", "Deep", "Deeper", "Play"}
    management_iam = management_client(org["endpoint"], "iam")
    with pytest.raises(ClientError):
        management_iam.get_role(RoleName=ROLE)
    instances = cfn(org).list_stack_instances(StackSetName="probe")["Summaries"]
    assert {i["Account"] for i in instances} == {org["accounts"][n] for n in ("Top", "Deep", "Deeper", "Play")}
    assert {i["OrganizationalUnitId"] for i in instances} == {org["root_id"]}
    described = cfn(org).describe_stack_set(StackSetName="probe")["StackSet"]
    assert described["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert described["OrganizationalUnitIds"] == [org["root_id"]] and described["Regions"] == ["us-east-1"]


def test_an_ou_reaches_its_nested_ous_only(org):
    stack_set(org, [org["ous"]["Workloads/Prod"]])
    assert with_role(org) == {"Deep", "Deeper"}


def test_an_update_reaches_every_instance(org):
    stack_set(org, [org["root_id"]])
    assert role_description(org, "Deeper") == "first"
    cfn(org).update_stack_set(StackSetName="probe", TemplateBody=json.dumps(TEMPLATE),
                              Parameters=[{"ParameterKey": "Purpose", "ParameterValue": "second"}],
                              Capabilities=["CAPABILITY_NAMED_IAM"])
    assert {role_description(org, n) for n in ("Top", "Deep", "Deeper", "Play")} == {"second"}


def test_auto_deployment_follows_created_and_moved_accounts(org):
    stack_set(org, [org["ous"]["Workloads"]])
    organizations = management_client(org["endpoint"], "organizations")
    new_id = organizations.create_account(AccountName="Fresh", Email="fresh@test.orgiam.example")["CreateAccountStatus"]["AccountId"]
    org["accounts"]["Fresh"] = new_id
    assert role_description(org, "Fresh") is None  # created in the root, outside the target
    organizations.move_account(AccountId=new_id, SourceParentId=org["root_id"], DestinationParentId=org["ous"]["Workloads/Prod/Payments"])
    assert role_description(org, "Fresh") == "first"  # moved in: deployed without anyone asking
    organizations.move_account(AccountId=org["accounts"]["Play"], SourceParentId=org["ous"]["Sandbox"],
                               DestinationParentId=org["ous"]["Workloads"])
    assert role_description(org, "Play") == "first"
    organizations.move_account(AccountId=org["accounts"]["Top"], SourceParentId=org["ous"]["Workloads"],
                               DestinationParentId=org["ous"]["Empty"])
    assert role_description(org, "Top") is None  # moved out: the instance and its role are gone
    accounts = {i["Account"] for i in cfn(org).list_stack_instances(StackSetName="probe")["Summaries"]}
    assert accounts == {org["accounts"][n] for n in ("Deep", "Deeper", "Fresh", "Play")}


def test_without_auto_deployment_or_with_retain_nothing_moves(org):
    stack_set(org, [org["ous"]["Workloads"]], auto=False)
    organizations = management_client(org["endpoint"], "organizations")
    organizations.move_account(AccountId=org["accounts"]["Play"], SourceParentId=org["ous"]["Sandbox"],
                               DestinationParentId=org["ous"]["Workloads"])
    assert role_description(org, "Play") is None


def test_retained_stacks_keep_their_resources_when_an_account_leaves_the_targets(org):
    stack_set(org, [org["ous"]["Workloads"]], retain=True)
    organizations = management_client(org["endpoint"], "organizations")
    organizations.move_account(AccountId=org["accounts"]["Top"], SourceParentId=org["ous"]["Workloads"],
                               DestinationParentId=org["ous"]["Sandbox"])
    assert role_description(org, "Top") == "first"
    accounts = {i["Account"] for i in cfn(org).list_stack_instances(StackSetName="probe")["Summaries"]}
    assert org["accounts"]["Top"] not in accounts


def test_trusted_access_is_needed_and_only_the_management_account_has_it(org):
    client = cfn(org)
    assert client.describe_organizations_access()["Status"] == "DISABLED"
    with pytest.raises(ClientError, match="enable organizations access"):
        client.create_stack_set(StackSetName="probe", TemplateBody=json.dumps(TEMPLATE), PermissionModel="SERVICE_MANAGED")
    member = assume_access_role(org["endpoint"], org["accounts"]["Top"]).cloudformation
    with pytest.raises(ClientError, match="management account"):
        member.activate_organizations_access()
    client.activate_organizations_access()
    assert client.describe_organizations_access()["Status"] == "ENABLED"
    with pytest.raises(ClientError, match="management account"):
        member.create_stack_set(StackSetName="probe", TemplateBody=json.dumps(TEMPLATE), PermissionModel="SERVICE_MANAGED")


def test_deleting_instances_by_ou_removes_their_resources(org):
    stack_set(org, [org["root_id"]])
    cfn(org).delete_stack_instances(StackSetName="probe", DeploymentTargets={"OrganizationalUnitIds": [org["root_id"]]},
                                    Regions=["us-east-1"], RetainStacks=False)
    assert with_role(org) == set()
    assert cfn(org).list_stack_instances(StackSetName="probe")["Summaries"] == []
    cfn(org).delete_stack_set(StackSetName="probe")


CONDITIONAL = {
    "AWSTemplateFormatVersion": "2010-09-09",
    "Parameters": {"Bucket": {"Type": "String", "Default": ""}, "Purpose": {"Type": "String", "Default": "first"}},
    "Conditions": {"HasBucket": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Bucket"}, ""]}]}},
    "Resources": {
        "Role": TEMPLATE["Resources"]["Role"],
        "Read": {
            "Type": "AWS::IAM::ManagedPolicy",
            "Condition": "HasBucket",
            "Properties": {
                "ManagedPolicyName": "probe-read",
                "Roles": [{"Ref": "Role"}],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "s3:GetObject", "Resource": {"Fn::Sub": "arn:aws:s3:::${Bucket}/*"}}]},
            },
        },
    },
}


def attached(org: dict[str, Any], name: str) -> list[str]:
    iam = assume_access_role(org["endpoint"], org["accounts"][name]).iam
    return [p["PolicyName"] for p in iam.list_attached_role_policies(RoleName=ROLE)["AttachedPolicies"]]


def test_instance_updates_follow_parameters_in_fn_sub_and_conditions(org):
    client = cfn(org)
    client.activate_organizations_access()
    client.create_stack_set(StackSetName="probe", TemplateBody=json.dumps(CONDITIONAL), PermissionModel="SERVICE_MANAGED",
                            Capabilities=["CAPABILITY_NAMED_IAM"], AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    client.create_stack_instances(StackSetName="probe", DeploymentTargets={"OrganizationalUnitIds": [org["root_id"]]},
                                  Regions=["us-east-1"])
    assert attached(org, "Deep") == []

    def update(bucket: str) -> None:
        client.update_stack_set(StackSetName="probe", TemplateBody=json.dumps(CONDITIONAL), Capabilities=["CAPABILITY_NAMED_IAM"],
                                Parameters=[{"ParameterKey": "Bucket", "ParameterValue": bucket}])

    update("first-bucket")  # the condition turns on: the policy is created and attached
    assert attached(org, "Deep") == ["probe-read"]
    update("second-bucket")  # only an Fn::Sub uses the parameter: the policy is updated
    iam = assume_access_role(org["endpoint"], org["accounts"]["Deep"]).iam
    arn = f"arn:aws:iam::{org['accounts']['Deep']}:policy/probe-read"
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    document = json.loads(document) if isinstance(document, str) else document
    assert document["Statement"][0]["Resource"] == "arn:aws:s3:::second-bucket/*"
    update("")  # the condition turns off: the policy is gone
    assert attached(org, "Deep") == []
    with pytest.raises(ClientError):
        iam.get_policy(PolicyArn=arn)

"""Who may read the organization, and StackSets from a delegated administrator, as AWS answers
(emulator/delegated_admin.py): through boto3 against the emulator, from the management account and from
member accounts reached through OrganizationAccountAccessRole."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator import stacksets
from emulator.delegated_admin import STACKSETS_PRINCIPAL
from emulator.organization import seed_organization
from tests.emulator.conftest import AccountSession, assume_access_role, error_of, management_client

SPEC: dict[str, Any] = {
    "management_account": {"name": "Management"},
    "organizational_units": [
        {"name": "Deployments", "accounts": [{"name": "Admin", "email": "admin@test.orgiam.example"}]},
        {"name": "Workloads", "accounts": [{"name": "Other", "email": "other@test.orgiam.example"}],
         "organizational_units": [{"name": "Prod", "accounts": [{"name": "Deep", "email": "deep@test.orgiam.example"}]}]},
        {"name": "Suspended", "accounts": [{"name": "Closed", "email": "closed@test.orgiam.example", "suspended": True}]},
    ],
}
DENIED = ("AccessDeniedException", "You don't have permissions to access this resource.")
NOT_ADMIN = ("ValidationError", "Account used is not a delegated administrator")
READS = ["organizations:DescribeOrganization", "organizations:DescribeOrganizationalUnit", "organizations:DescribeAccount",
         "organizations:ListRoots", "organizations:ListAccounts", "organizations:ListAccountsForParent",
         "organizations:ListOrganizationalUnitsForParent", "organizations:ListParents", "organizations:ListChildren",
         "organizations:ListTagsForResource"]
ROLE = "orgiam-delegated-probe"
TEMPLATE = json.dumps({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
    "RoleName": ROLE, "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]}}}}})


@pytest.fixture(autouse=True)
def _installed() -> None:
    stacksets.install()


@pytest.fixture
def org(endpoint: str) -> dict[str, Any]:
    seeded = seed_organization(endpoint, SPEC)
    seeded["endpoint"] = endpoint
    return seeded


def management(org: dict[str, Any], service: str = "organizations") -> Any:
    return management_client(org["endpoint"], service)


def member(org: dict[str, Any], name: str) -> AccountSession:
    return assume_access_role(org["endpoint"], org["accounts"][name])


def statement(account_id: str, actions: list[str], effect: str = "Allow", sid: str = "Delegate", **more: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": effect, "Principal": {"AWS": f"arn:aws:iam::{account_id}:root"}, "Action": actions,
            "Resource": "*", **more}


def put_policy(org: dict[str, Any], *statements: dict[str, Any]) -> dict[str, Any]:
    content = json.dumps({"Version": "2012-10-17", "Statement": list(statements)})
    return dict(management(org).put_resource_policy(Content=content)["ResourcePolicy"])


def raises(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return error_of(raised)


def all_account_ids(organizations: Any) -> set[str]:
    return {a["Id"] for page in organizations.get_paginator("list_accounts").paginate() for a in page["Accounts"]}


# --- Organizations: who may read ------------------------------------------------------------------------


def test_a_member_account_may_describe_its_organization_and_nothing_else(org):
    organizations = member(org, "Other").client("organizations")
    assert organizations.describe_organization()["Organization"]["MasterAccountId"] == org["management_account_id"]
    root = org["root_id"]
    for call, kwargs in [(organizations.list_accounts, {}), (organizations.list_roots, {}),
                         (organizations.list_organizational_units_for_parent, {"ParentId": root}),
                         (organizations.list_accounts_for_parent, {"ParentId": root}),
                         (organizations.describe_account, {"AccountId": org["accounts"]["Admin"]}),
                         (organizations.list_tags_for_resource, {"ResourceId": org["accounts"]["Admin"]}),
                         (organizations.list_delegated_administrators, {}),
                         (organizations.describe_resource_policy, {})]:
        assert raises(call, **kwargs) == DENIED, call


def test_writes_from_a_member_account_are_denied_whatever_it_is_allowed_to_read(org):
    admin = org["accounts"]["Admin"]
    put_policy(org, statement(admin, READS))
    management(org).register_delegated_administrator(AccountId=admin, ServicePrincipal=STACKSETS_PRINCIPAL)
    organizations = member(org, "Admin").client("organizations")
    root, other = org["root_id"], org["accounts"]["Other"]
    for call, kwargs in [
        (organizations.create_account, {"AccountName": "Sneaky", "Email": "sneaky@test.orgiam.example"}),
        (organizations.move_account, {"AccountId": other, "SourceParentId": org["ous"]["Workloads"], "DestinationParentId": root}),
        (organizations.create_organizational_unit, {"ParentId": root, "Name": "Mine"}),
        (organizations.put_resource_policy, {"Content": json.dumps({"Version": "2012-10-17", "Statement": [statement(other, READS)]})}),
        (organizations.delete_resource_policy, {}),
        (organizations.register_delegated_administrator, {"AccountId": other, "ServicePrincipal": STACKSETS_PRINCIPAL}),
        (organizations.tag_resource, {"ResourceId": other, "Tags": [{"Key": "k", "Value": "v"}]}),
    ]:
        assert raises(call, **kwargs) == DENIED, call
    assert management(org).list_parents(ChildId=other)["Parents"][0]["Id"] == org["ous"]["Workloads"]


def test_the_delegation_policy_lets_an_account_read_the_organization_and_only_what_it_allows(org):
    admin = org["accounts"]["Admin"]
    put_policy(org, statement(admin, READS))
    organizations = member(org, "Admin").client("organizations")
    assert all_account_ids(organizations) == all_account_ids(management(org)) and len(all_account_ids(organizations)) == 5
    assert organizations.list_roots()["Roots"][0]["Id"] == org["root_id"]
    ous = organizations.list_organizational_units_for_parent(ParentId=org["root_id"])["OrganizationalUnits"]
    assert sorted(ou["Name"] for ou in ous) == ["Deployments", "Suspended", "Workloads"]
    assert organizations.describe_account(AccountId=org["accounts"]["Deep"])["Account"]["Name"] == "Deep"
    assert raises(organizations.list_policies, Filter="SERVICE_CONTROL_POLICY") == DENIED  # not in the policy
    assert raises(member(org, "Other").client("organizations").list_accounts) == DENIED  # not named by it


def test_the_delegation_policy_can_be_read_updated_and_deleted_from_the_management_account(org):
    organizations = management(org)
    assert raises(organizations.describe_resource_policy)[0] == "ResourcePolicyNotFoundException"
    admin, other = org["accounts"]["Admin"], org["accounts"]["Other"]
    first = put_policy(org, statement(admin, READS))
    summary = first["ResourcePolicySummary"]
    assert summary["Id"].startswith("rp-")
    organization_id = organizations.describe_organization()["Organization"]["Id"]
    assert summary["Arn"] == f"arn:aws:organizations::{org['management_account_id']}:resourcepolicy/{organization_id}/{summary['Id']}"
    second = put_policy(org, statement(admin, READS), statement(other, ["organizations:ListAccounts"], sid="Other"))
    assert second["ResourcePolicySummary"] == summary
    described = organizations.describe_resource_policy()["ResourcePolicy"]
    assert [s["Sid"] for s in json.loads(described["Content"])["Statement"]] == ["Delegate", "Other"]
    assert len(all_account_ids(member(org, "Other").client("organizations"))) == 5
    organizations.delete_resource_policy()
    assert raises(member(org, "Admin").client("organizations").list_accounts) == DENIED
    assert raises(organizations.delete_resource_policy)[0] == "ResourcePolicyNotFoundException"


@pytest.mark.parametrize("statements", [
    [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::{admin}:root"}, "Action": "s3:GetObject", "Resource": "*"}],
    [{"Effect": "Allow", "Action": "organizations:ListAccounts", "Resource": "*"}],
    [],
], ids=["not organizations", "no principal", "no statement"])
def test_a_delegation_policy_aws_would_refuse_is_refused(org, statements):
    text = json.dumps({"Version": "2012-10-17", "Statement": statements}).replace("{admin}", org["accounts"]["Admin"])
    assert raises(management(org).put_resource_policy, Content=text)[0] == "InvalidInputException"
    assert raises(management(org).put_resource_policy, Content="not json")[0] == "InvalidInputException"


def test_a_deny_wins_and_a_role_or_a_condition_grants_nothing(org):
    admin, other = org["accounts"]["Admin"], org["accounts"]["Other"]
    role = {"AWS": f"arn:aws:iam::{other}:role/Reader"}
    put_policy(org, statement(admin, ["organizations:List*", "organizations:Describe*"]),
               statement(admin, ["organizations:ListAccounts"], effect="Deny", sid="NoList"),
               dict(statement(other, READS, sid="Role"), Principal=role),
               statement(other, READS, sid="Conditional", Condition={"StringEquals": {"aws:PrincipalTag/team": "platform"}}))
    admin_org = member(org, "Admin").client("organizations")
    assert raises(admin_org.list_accounts) == DENIED
    assert admin_org.list_roots()["Roots"][0]["Id"] == org["root_id"]  # the wildcard allows it
    assert raises(member(org, "Other").client("organizations").list_roots) == DENIED


# --- Organizations: delegated administrators -------------------------------------------------------------


def test_an_account_registered_for_stacksets_may_read_the_organization_without_a_policy(org):
    organizations = management(org)
    admin = org["accounts"]["Admin"]
    organizations.register_delegated_administrator(AccountId=admin, ServicePrincipal=STACKSETS_PRINCIPAL)
    listed = organizations.list_delegated_administrators(ServicePrincipal=STACKSETS_PRINCIPAL)["DelegatedAdministrators"]
    assert [a["Id"] for a in listed] == [admin]
    assert raises(organizations.register_delegated_administrator, AccountId=admin,
                  ServicePrincipal=STACKSETS_PRINCIPAL)[0] == "AccountAlreadyRegisteredException"
    # registered for another service as well: fine, and both are listed for the account
    organizations.register_delegated_administrator(AccountId=admin, ServicePrincipal="guardduty.amazonaws.com")
    services = organizations.list_delegated_services_for_account(AccountId=admin)["DelegatedServices"]
    assert sorted(s["ServicePrincipal"] for s in services) == ["guardduty.amazonaws.com", STACKSETS_PRINCIPAL]
    admin_org = member(org, "Admin").client("organizations")
    assert len(all_account_ids(admin_org)) == 5
    assert [a["Id"] for a in admin_org.list_delegated_administrators()["DelegatedAdministrators"]] == [admin]
    assert raises(admin_org.create_account, AccountName="X", Email="x@test.orgiam.example") == DENIED


def test_registration_is_refused_for_the_management_account_a_suspended_one_and_a_sixth(org):
    organizations = management(org)
    code, _ = raises(organizations.register_delegated_administrator, AccountId=org["management_account_id"],
                     ServicePrincipal=STACKSETS_PRINCIPAL)
    assert code == "ConstraintViolationException"
    assert raises(organizations.register_delegated_administrator, AccountId=org["accounts"]["Closed"],
                  ServicePrincipal=STACKSETS_PRINCIPAL) == (
        "ConstraintViolationException", "You cannot register a suspended account as a delegated administrator.")
    for number in range(5):
        account_id = organizations.create_account(AccountName=f"Extra {number}", Email=f"extra{number}@test.orgiam.example")[
            "CreateAccountStatus"]["AccountId"]
        organizations.register_delegated_administrator(AccountId=account_id, ServicePrincipal=STACKSETS_PRINCIPAL)
    code, message = raises(organizations.register_delegated_administrator, AccountId=org["accounts"]["Admin"],
                           ServicePrincipal=STACKSETS_PRINCIPAL)
    assert code == "ConstraintViolationException" and "more delegated administrators than allowed" in message


# --- StackSets: CallAs ---------------------------------------------------------------------------------


def create_org_stack_set(cfn: Any, call_as: str = "DELEGATED_ADMIN", name: str = "probe") -> None:
    cfn.create_stack_set(StackSetName=name, TemplateBody=TEMPLATE, PermissionModel="SERVICE_MANAGED", CallAs=call_as,
                         AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
                         Capabilities=["CAPABILITY_NAMED_IAM"])


def has_role(org: dict[str, Any], name: str) -> bool:
    iam = management(org, "iam") if name == "Management" else member(org, name).iam
    try:
        iam.get_role(RoleName=ROLE)
        return True
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchEntity"
        return False


def registered(org: dict[str, Any]) -> Any:
    """Trusted access on, Admin registered for StackSets: Admin's CloudFormation."""
    management(org, "cloudformation").activate_organizations_access()
    management(org).register_delegated_administrator(AccountId=org["accounts"]["Admin"], ServicePrincipal=STACKSETS_PRINCIPAL)
    return member(org, "Admin").cloudformation


def test_call_as_delegated_admin_is_refused_to_accounts_not_registered_the_management_account_included(org):
    management(org, "cloudformation").activate_organizations_access()
    for cfn in (member(org, "Admin").cloudformation, management(org, "cloudformation")):
        assert raises(create_org_stack_set, cfn=cfn) == NOT_ADMIN
        assert raises(cfn.list_stack_sets, CallAs="DELEGATED_ADMIN") == NOT_ADMIN
        assert raises(cfn.describe_stack_set, StackSetName="probe", CallAs="DELEGATED_ADMIN") == NOT_ADMIN
    # registered for another service only: still not a delegated administrator for StackSets
    management(org).register_delegated_administrator(AccountId=org["accounts"]["Admin"], ServicePrincipal="guardduty.amazonaws.com")
    assert raises(create_org_stack_set, cfn=member(org, "Admin").cloudformation) == NOT_ADMIN


def test_a_member_account_calling_as_itself_cannot_operate_a_service_managed_stack_set(org):
    cfn = registered(org)
    code, message = raises(create_org_stack_set, cfn=cfn, call_as="SELF")
    assert (code, message) == ("ValidationError", "You must be the management account or delegated admin account of an "
                                                  "organization before operating a SERVICE_MANAGED stack set")


def test_a_delegated_administrator_deploys_to_the_organization_and_never_to_the_management_account(org):
    cfn = registered(org)
    create_org_stack_set(cfn)
    operation = cfn.create_stack_instances(StackSetName="probe", DeploymentTargets={"OrganizationalUnitIds": [org["root_id"]]},
                                           Regions=["us-east-1"], CallAs="DELEGATED_ADMIN")["OperationId"]
    assert cfn.describe_stack_set_operation(StackSetName="probe", OperationId=operation,
                                            CallAs="DELEGATED_ADMIN")["StackSetOperation"]["Status"] == "SUCCEEDED"
    instances = cfn.list_stack_instances(StackSetName="probe", CallAs="DELEGATED_ADMIN")["Summaries"]
    accounts = org["accounts"]
    assert sorted(i["Account"] for i in instances) == sorted([accounts["Admin"], accounts["Other"], accounts["Deep"]])
    assert [has_role(org, name) for name in ("Admin", "Other", "Deep", "Management")] == [True, True, True, False]
    described = cfn.describe_stack_set(StackSetName="probe", CallAs="DELEGATED_ADMIN")["StackSet"]
    assert described["PermissionModel"] == "SERVICE_MANAGED" and described["AutoDeployment"]["Enabled"] is True
    assert cfn.describe_organizations_access(CallAs="DELEGATED_ADMIN")["Status"] == "ENABLED"
    # AWS keeps service-managed stack sets in the management account, those of delegated administrators included
    assert described["StackSetARN"].split(":")[4] == org["management_account_id"]
    assert management(org, "cloudformation").describe_stack_set(StackSetName="probe")["StackSet"]["StackSetId"] == described["StackSetId"]
    # the delegated administrator's own account (CallAs SELF) holds no such stack set
    assert raises(cfn.describe_stack_set, StackSetName="probe")[0] == "StackSetNotFoundException"
    assert cfn.list_stack_sets()["Summaries"] == []
    # auto-deployment: a new account gets its instance without a call
    created = management(org).create_account(AccountName="New", Email="new@test.orgiam.example")["CreateAccountStatus"]["AccountId"]
    org["accounts"]["New"] = created
    assert has_role(org, "New")


def test_a_delegated_administrator_takes_over_the_management_accounts_stack_set_as_it_is(org):
    management_cfn = management(org, "cloudformation")
    management_cfn.activate_organizations_access()
    create_org_stack_set(management_cfn, call_as="SELF")
    management_cfn.create_stack_instances(StackSetName="probe", DeploymentTargets={"OrganizationalUnitIds": [org["root_id"]]},
                                          Regions=["us-east-1"])
    management_cfn.create_stack_set(StackSetName="own", TemplateBody=TEMPLATE, PermissionModel="SELF_MANAGED")
    cfn = registered(org)
    assert [s["StackSetName"] for s in cfn.list_stack_sets(CallAs="DELEGATED_ADMIN")["Summaries"]] == ["probe"]
    assert raises(cfn.describe_stack_set, StackSetName="own", CallAs="DELEGATED_ADMIN")[0] == "StackSetNotFoundException"
    assert len(cfn.list_stack_instances(StackSetName="probe", CallAs="DELEGATED_ADMIN")["Summaries"]) == 3
    cfn.update_stack_set(StackSetName="probe", TemplateBody=TEMPLATE.replace('"RoleName"', '"Description": "taken over", "RoleName"'),
                         Capabilities=["CAPABILITY_NAMED_IAM"], CallAs="DELEGATED_ADMIN")
    assert member(org, "Deep").iam.get_role(RoleName=ROLE)["Role"]["Description"] == "taken over"

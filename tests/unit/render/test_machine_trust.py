"""The trust policy of a machine role (``trusted_by``), and what the central stack holds for it: nothing.

The roles are resolved as the sync resolves them (``resolve()`` sets account ids and the organization id), then
rendered by the member template; the policies are compared whole, as IAM will hold them."""

import dataclasses

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import Catalog, OUTarget, RoleDef, Selector, Settings
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.identity import Identity, default_groups_for
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.trusted import SOURCE_ORG, TrustedPrincipal
from ansible_collections.orgiam.aws.plugins.module_utils.model import Account
from ansible_collections.orgiam.aws.plugins.module_utils.render import member as member_module
from ansible_collections.orgiam.aws.plugins.module_utils.render.central import central_template, grants_from_template
from ansible_collections.orgiam.aws.plugins.module_utils.render.member import member_template, trust_policy
from ansible_collections.orgiam.aws.plugins.module_utils.resolve import resolve

ORG = "o-abcdef1234"
CENTRAL, DEPLOYMENTS, WORKLOAD, TOOLS = "000000000002", "000000000006", "000000000004", "000000000009"
ACCOUNTS = [
    Account(CENTRAL, "Security", "Security"),
    Account(WORKLOAD, "Payments Prod", "Workloads/Prod"),
    Account(DEPLOYMENTS, "Deployments", "Deployments"),
    Account(TOOLS, "Tools", "Deployments"),
]
WORKLOADS = Selector(ou_paths=(OUTarget("Workloads"),))


def machine(*entries: TrustedPrincipal, **fields) -> RoleDef:
    return RoleDef(name=fields.pop("name", "Deployer"), source="roles/deployer.yml:1", include=WORKLOADS, mfa_required=False,
                   trusted_by=entries, **fields)


def rendered(role: RoleDef, partition: str = "aws") -> dict:
    """The trust policy the workload account gets, after resolution against ACCOUNTS."""
    catalog = Catalog("x", Settings(central_account="Security"), (role,))
    (resolved,) = resolve(catalog, ACCOUNTS, ["Security", "Workloads", "Workloads/Prod", "Deployments"], ORG).roles_by_account[WORKLOAD]
    template = member_template((resolved,), CENTRAL, WORKLOAD, partition)
    (resource,) = template["Resources"].values()
    return resource["Properties"]["AssumeRolePolicyDocument"]


def test_roles_of_an_account_by_pattern_trust_its_root_with_arn_like_and_the_organization():
    policy = rendered(machine(TrustedPrincipal(account="Deployments", role="pipeline/*")))
    assert policy == {"Version": "2012-10-17", "Statement": [{
        "Sid": "OrganizationRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{DEPLOYMENTS}:root"},
        "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{DEPLOYMENTS}:role/pipeline/*"},
                      "StringEquals": {"aws:PrincipalOrgID": ORG}},
    }]}


def test_every_kind_together_with_an_external_id_on_the_aws_principals_only():
    policy = rendered(machine(
        TrustedPrincipal(account="Deployments", role="pipeline/*"),
        TrustedPrincipal(account="deployments", role="release"),  # the name in any case
        TrustedPrincipal(account=TOOLS, role="*"),  # by id
        TrustedPrincipal(account="Tools"),  # the whole account
        TrustedPrincipal(service="cloudformation.amazonaws.com"),
        TrustedPrincipal(service="lambda.amazonaws.com"),
        TrustedPrincipal(service="codebuild.amazonaws.com"),
        external_id="pipeline-2024"))
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    assert list(by_sid) == ["OrganizationRoles", "OrganizationAccounts", "AwsServices", "AwsServicesForThisAccount"]
    assert by_sid["OrganizationRoles"]["Principal"] == {"AWS": [f"arn:aws:iam::{DEPLOYMENTS}:root", f"arn:aws:iam::{TOOLS}:root"]}
    assert by_sid["OrganizationRoles"]["Condition"] == {
        "ArnLike": {"aws:PrincipalArn": [f"arn:aws:iam::{DEPLOYMENTS}:role/pipeline/*", f"arn:aws:iam::{DEPLOYMENTS}:role/release",
                                         f"arn:aws:iam::{TOOLS}:role/*"]},
        "StringEquals": {"aws:PrincipalOrgID": ORG, "sts:ExternalId": "pipeline-2024"}}
    assert by_sid["OrganizationAccounts"] == {
        "Sid": "OrganizationAccounts", "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": f"arn:aws:iam::{TOOLS}:root"},
        "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG, "sts:ExternalId": "pipeline-2024"}}}
    assert by_sid["AwsServices"] == {"Sid": "AwsServices", "Effect": "Allow", "Action": "sts:AssumeRole",
                                     "Principal": {"Service": ["cloudformation.amazonaws.com", "lambda.amazonaws.com"]}}
    assert by_sid["AwsServicesForThisAccount"]["Principal"] == {"Service": "codebuild.amazonaws.com"}
    assert by_sid["AwsServicesForThisAccount"]["Condition"] == {"StringEquals": {"aws:SourceAccount": WORKLOAD}}


def test_no_principal_is_ever_a_wildcard_and_no_statement_asks_for_mfa():
    policy = rendered(machine(TrustedPrincipal(account="Deployments", role="*"), TrustedPrincipal(service="ec2.amazonaws.com")))
    for statement in policy["Statement"]:
        principals = [v for values in statement["Principal"].values() for v in ([values] if isinstance(values, str) else values)]
        assert "*" not in principals and all(":root" in p or p.endswith(".amazonaws.com") for p in principals)
        assert "aws:MultiFactorAuthPresent" not in str(statement)


def test_the_partition_is_the_stacks():
    policy = rendered(machine(TrustedPrincipal(account="Deployments", role="pipeline/*")), partition="aws-us-gov")
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws-us-gov:iam::{DEPLOYMENTS}:root"}
    assert statement["Condition"]["ArnLike"] == {"aws:PrincipalArn": f"arn:aws-us-gov:iam::{DEPLOYMENTS}:role/pipeline/*"}


def test_a_service_with_source_org_id_gets_the_organization(monkeypatch):
    monkeypatch.setitem(member_module.SERVICE_PRINCIPALS, "example.amazonaws.com", SOURCE_ORG)
    role = dataclasses.replace(machine(TrustedPrincipal(service="example.amazonaws.com")), organization_id=ORG)
    (statement,) = trust_policy(role, CENTRAL, account_id=WORKLOAD)["Statement"]
    assert statement["Sid"] == "AwsServicesForTheOrganization"
    assert statement["Condition"] == {"StringEquals": {"aws:SourceOrgID": ORG}}


def test_people_roles_keep_their_trust_next_to_a_machine_role():
    people = RoleDef(name="ReadOnly", source="r.yml:1", include=WORKLOADS)
    template = member_template((people,), CENTRAL, WORKLOAD)
    (resource,) = template["Resources"].values()
    (statement,) = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{CENTRAL}:root"} and statement["Sid"] == "CentralAccountPeople"


def test_resolution_sets_account_ids_and_the_organization_only_on_machine_roles():
    people = RoleDef(name="ReadOnly", source="r.yml:1", include=WORKLOADS)
    catalog = Catalog("x", Settings(central_account="Security"), (people, machine(TrustedPrincipal(account="Tools"))))
    resolution = resolve(catalog, ACCOUNTS, ["Security", "Workloads", "Workloads/Prod", "Deployments"], ORG)
    ro, deployer = resolution.roles_by_account[WORKLOAD]
    assert ro is people
    assert deployer.organization_id == ORG and deployer.trusted_by[0].account_id == TOOLS
    assert catalog.role("Deployer").trusted_by[0].account_id == ""  # the catalog itself is left as loaded


def test_the_central_stack_holds_nothing_of_a_machine_role():
    people = RoleDef(name="ReadOnly", source="r.yml:1", include=WORKLOADS)
    deployer = machine(TrustedPrincipal(account="Deployments", role="pipeline/*"))
    groups = default_groups_for(people, "orgiam") + default_groups_for(deployer, "orgiam")
    assert [g.name for g in groups] == ["orgiam-ReadOnly-Workloads"]
    identity = Identity(groups=tuple(groups), machine_roles=("Deployer",))
    deployed = {"ReadOnly": [f"arn:aws:iam::{WORKLOAD}:role/orgiam/ReadOnly"], "Deployer": [f"arn:aws:iam::{WORKLOAD}:role/orgiam/Deployer"]}
    template = central_template({"orgiam-ReadOnly-Workloads": deployed["ReadOnly"]}, deployed, identity, "orgiam", "/orgiam/")
    assert "Deployer" not in str(template)
    assert grants_from_template(template) == {"ReadOnly": deployed["ReadOnly"]}


def test_a_role_trusted_by_services_alone_needs_no_organization_id():
    catalog = Catalog("x", Settings(central_account="Security"), (machine(TrustedPrincipal(service="cloudformation.amazonaws.com")),))
    resolution = resolve(catalog, ACCOUNTS, ["Security", "Workloads", "Workloads/Prod", "Deployments"])  # no organization id
    (role,) = resolution.roles_by_account[WORKLOAD]
    (resource,) = member_template((role,), CENTRAL, WORKLOAD)["Resources"].values()
    (statement,) = resource["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "cloudformation.amazonaws.com"} and "Condition" not in statement

"""Bootstrap's engine without AWS: input checks, the organization checks, desired state, plan and apply
decisions over fake CloudFormation clients, and StackSet operation waiting."""

from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from ansible_collections.orgiam.aws.plugins.module_utils import bootstrap as B
from ansible_collections.orgiam.aws.plugins.module_utils import plan as P
from ansible_collections.orgiam.aws.plugins.module_utils import stackset_ops as S
from ansible_collections.orgiam.aws.plugins.module_utils.aws import AwsAccessError
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.resolve import Account
from ansible_collections.orgiam.aws.plugins.module_utils.templates import stack_tags

REPO = Path(__file__).resolve().parents[2]
CICD = REPO / "cicd"
MANAGEMENT, SECURITY, DEPLOYMENTS, PROD, LEGACY = "123456789012", "222222222222", "333333333333", "444444444444", "555555555555"
ROOT = "r-ab12"

PIPELINE = """
pipeline:
  account: Deployments
  source: {provider: CodeCommit, repository: orgiam-catalog}
"""


def catalog(tmp_path: Path, settings_extra: str = PIPELINE, roles: dict[str, str] | None = None) -> Any:
    (tmp_path / "roles").mkdir(parents=True, exist_ok=True)
    (tmp_path / "settings.yml").write_text("central_account: Security\n" + textwrap.dedent(settings_extra))
    for name, text in (roles or {"readonly.yml": "name: ReadOnly\nmanaged_policies: [ReadOnlyAccess]\ntargets: {ou_paths: [Workloads]}\n"}).items():
        (tmp_path / "roles" / name).write_text(text)
    return load_catalog(str(tmp_path))


def facts() -> B.OrgFacts:
    return B.OrgFacts(
        caller_account_id=MANAGEMENT, partition="aws", management_account_id=MANAGEMENT, organization_id="o-abcdefghij",
        root_id=ROOT,
        accounts=(
            Account(MANAGEMENT, "Management", is_management=True),
            Account(SECURITY, "Security"),
            Account(DEPLOYMENTS, "Deployments"),
            Account(PROD, "Payments Prod"),
            Account(LEGACY, "Legacy App", status="SUSPENDED"),
        ),
    )


def pipeline(**changes: Any) -> B.PipelineSettings:
    values = dict(account="Deployments", provider="CodeCommit", repository="orgiam-catalog")
    values.update(changes)
    return B.PipelineSettings(**values)


# --- input without AWS ----------------------------------------------------------------------------


def test_a_missing_pipeline_section_says_what_to_add(tmp_path):
    with pytest.raises(B.BootstrapInputError) as raised:
        B.pipeline_settings(catalog(tmp_path, settings_extra=""))
    assert "no 'pipeline' section" in str(raised.value) and "provider: CodeCommit" in str(raised.value)


def test_pipeline_defaults(tmp_path):
    settings = B.pipeline_settings(catalog(tmp_path))
    assert (settings.branch, settings.approval, settings.schedule, settings.connection_arn) == ("main", True, "rate(1 day)", "")


ARN = "arn:aws:codeconnections:us-east-1:333333333333:connection/0a1b2c3d-1111-2222-3333-444455556666"


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({}, None),
        ({"repository": "my.repo_name-1"}, None),
        ({"repository": "acme/orgiam"}, "is not a CodeCommit repository name"),
        ({"repository": "orgiam.git"}, "is not a CodeCommit repository name"),
        ({"repository": "x" * 101}, "is not a CodeCommit repository name"),
        ({"repository": "has space"}, "is not a CodeCommit repository name"),
        ({"connection_arn": ARN}, "a CodeCommit source takes no connection"),
        ({"provider": "CodeConnections", "repository": "acme/orgiam-catalog", "connection_arn": ARN}, None),
        ({"provider": "CodeConnections", "repository": "group/subgroup/orgiam", "connection_arn": ARN}, None),
        ({"provider": "CodeConnections", "repository": "orgiam-catalog", "connection_arn": ARN}, "owner/name"),
        ({"provider": "CodeConnections", "repository": "acme/", "connection_arn": ARN}, "owner/name"),
        ({"provider": "CodeConnections", "repository": "acme/orgiam.git", "connection_arn": ARN}, "owner/name"),
        ({"provider": "CodeConnections", "repository": "acme/orgiam"}, "needs the ARN of a connection"),
        ({"branch": "release/2026.1"}, None),
        ({"branch": "bad..branch"}, "not a valid git branch name"),
        ({"branch": "with space"}, "not a valid git branch name"),
        ({"branch": "ends.lock"}, "not a valid git branch name"),
    ],
)
def test_repository_parameters_are_checked_as_codecommit_and_codeconnections_check_them(changes, problem):
    problems = B.source_problems(pipeline(**changes), "settings.yml")
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0] and "settings.yml: field 'pipeline.source." in problems[0]


def test_roles_must_live_under_role_path(tmp_path):
    cat = catalog(tmp_path, roles={"team.yml": "name: Team\npath: /team/\ntargets: {ou_paths: [Workloads]}\n"})
    (problem,) = B.role_path_problems(cat)
    assert "role 'Team' has path /team/, outside role_path /orgiam/" in problem


def test_templates_are_read_with_short_form_functions(tmp_path):
    (tmp_path / "t.yml").write_text(textwrap.dedent("""\
        Parameters:
          Name: {Type: String, Default: x}
          Other: {Type: String}
        Conditions:
          Both: !And [!Condition A, {Condition: B}]
        Resources:
          R:
            Type: AWS::IAM::Role
            Properties:
              RoleName: !Sub "${Name}-role"
              Arn: !GetAtt Other.Arn
              List: !Split [",", !Ref Other]
        """))
    template = B.read_template(str(tmp_path), "t.yml")
    assert set(template.parameters) == {"Name", "Other"} and template.body.startswith("Parameters:")
    with pytest.raises(B.BootstrapInputError, match="does not exist"):
        B.read_template(str(tmp_path), "missing.yml")
    (tmp_path / "bad.yml").write_text("Parameters: {}\n")
    with pytest.raises(B.BootstrapInputError, match="no Resources"):
        B.read_template(str(tmp_path), "bad.yml")


def test_every_bootstrap_template_reads():
    for relative in (B.DEPLOYER_TEMPLATE, B.READER_TEMPLATE):
        template = B.read_template(str(CICD), relative)
        assert "BuildRoleArn" in template.parameters


def test_parameters_are_filled_by_name_and_checked_against_the_template():
    template = B.TemplateFile("t.yml", "Resources: {}", {
        "Given": {"Type": "String", "AllowedPattern": "^[a-z]+$"},
        "Optional": {"Type": "String", "Default": "kept"},
        "Choice": {"Type": "String", "AllowedValues": ["true", "false"]},
    })
    values, problems = B.fill_parameters(template, {"Given": "abc", "Optional": "", "Choice": "true"})
    assert values == {"Given": "abc", "Choice": "true"} and problems == []  # empty: the template's default
    _, problems = B.fill_parameters(template, {"Given": "ABC", "Choice": "maybe"})
    assert any("does not match ^[a-z]+$" in p for p in problems) and any("is not one of true, false" in p for p in problems)
    _, problems = B.fill_parameters(B.TemplateFile("t.yml", "", {"Mystery": {"Type": "String"}}), {})
    assert problems and "parameter Mystery has no default, and bootstrap has no value for it" in problems[0]


def test_load_inputs_reports_every_problem_at_once(tmp_path):
    cat = catalog(tmp_path / "c", settings_extra="pipeline: {account: Deployments, source: {provider: CodeCommit, repository: a/b}}\n",
                  roles={"team.yml": "name: Team\npath: /team/\ntargets: {ou_paths: [Workloads]}\n"})
    with pytest.raises(B.BootstrapInputError) as raised:
        B.load_inputs(cat, str(tmp_path / "no-cicd"))
    text = str(raised.value)
    assert "not a CodeCommit repository name" in text and "outside role_path" in text and "deployer-role.yml does not exist" in text
    with pytest.raises(B.BootstrapInputError, match="parts must be some of"):
        B.load_inputs(cat, str(CICD), ("everything",))


def inputs(tmp_path: Path, settings_extra: str = PIPELINE, roles: dict[str, str] | None = None, parts=("deployer", "management")) -> B.Inputs:
    return B.load_inputs(catalog(tmp_path, settings_extra, roles), str(CICD), parts)


# --- the organization -------------------------------------------------------------------------------


def test_accounts_named_in_settings_must_be_active_accounts_of_the_organization(tmp_path):
    placement = B.check_organization(inputs(tmp_path), facts(), "us-east-1")
    assert (placement.central.id, placement.pipeline.id, placement.management_targeted) == (SECURITY, DEPLOYMENTS, False)
    with pytest.raises(B.BootstrapInputError) as raised:
        B.check_organization(inputs(tmp_path, "pipeline: {account: Build Farm, source: {provider: CodeCommit, repository: r}}\n"),
                             facts(), "us-east-1")
    assert "field 'pipeline.account': account 'Build Farm' is not in the organization o-abcdefghij" in str(raised.value)
    assert "Deployments (333333333333)" in str(raised.value) and "Legacy App" not in str(raised.value)
    with pytest.raises(B.BootstrapInputError, match="'Legacy App' .* is SUSPENDED"):
        B.check_organization(inputs(tmp_path, "pipeline: {account: Legacy App, source: {provider: CodeCommit, repository: r}}\n"),
                             facts(), "us-east-1")


def test_the_connection_must_be_in_the_pipeline_account_and_region(tmp_path):
    def settings(arn: str) -> str:
        return f"pipeline: {{account: Deployments, source: {{provider: CodeConnections, repository: a/b, connection_arn: '{arn}'}}}}\n"

    B.check_organization(inputs(tmp_path, settings(ARN)), facts(), "us-east-1")
    with pytest.raises(B.BootstrapInputError) as raised:
        B.check_organization(inputs(tmp_path, settings(ARN.replace("333333333333", "111111111111"))), facts(), "eu-west-1")
    text = str(raised.value)
    assert "the connection is in account 111111111111, not in the pipeline account Deployments" in text
    assert "the connection is in region us-east-1, the pipeline in eu-west-1" in text


@pytest.mark.parametrize("role, targeted", [
    ("name: Billing\ntargets: {management_account: true}\n", True),
    ("name: Billing\ntargets: {accounts: [Management]}\n", True),
    ("name: Billing\ntargets: {accounts: ['123456789012']}\n", True),
    ("name: ReadOnly\ntargets: {ou_paths: [Workloads]}\n", False),
    ("name: Everyone\ntargets: {tags: {Owner: '*'}}\n", False),  # tags never reach the management account
])
def test_the_management_account_needs_the_deployer_when_the_catalog_targets_it(tmp_path, role, targeted):
    placement = B.check_organization(inputs(tmp_path, roles={"r.yml": role}), facts(), "us-east-1")
    assert placement.management_targeted is targeted


def test_a_central_management_account_needs_the_deployer_too(tmp_path):
    cat_inputs = inputs(tmp_path)
    settings = dataclasses.replace(cat_inputs.catalog.settings, central_account="Management")
    cat_inputs = dataclasses.replace(cat_inputs, catalog=dataclasses.replace(cat_inputs.catalog, settings=settings))
    assert B.check_organization(cat_inputs, facts(), "us-east-1").management_targeted


class FakeClients:
    """AwsClients for discover(): a caller, an organization, clients that answer from dicts."""

    def __init__(self, caller: str, organization: dict[str, Any] | Exception) -> None:
        self.caller, self.organization = caller, organization
        self.endpoint_url = None

    def caller_account_id(self) -> str:
        return self.caller

    def client(self, service: str, region: str | None = None) -> Any:
        return self

    def get_caller_identity(self) -> dict[str, str]:
        return {"Account": self.caller, "Arn": f"arn:aws:iam::{self.caller}:user/admin"}

    def describe_organization(self) -> dict[str, Any]:
        if isinstance(self.organization, Exception):
            raise self.organization
        return {"Organization": self.organization}

    def list_roots(self) -> dict[str, Any]:
        return {"Roots": [{"Id": ROOT}]}

    def get_paginator(self, name: str) -> Any:
        assert name == "list_accounts"
        accounts = [{"Id": a.id, "Name": a.name, "Status": a.status} for a in facts().accounts]
        return type("Pages", (), {"paginate": lambda self: [{"Accounts": accounts[:2]}, {"Accounts": accounts[2:]}]})()


def client_error(code: str, message: str = "", operation: str = "Operation") -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": message}}, operation)


def test_discover_reads_the_organization_as_its_management_account():
    found = B.discover(FakeClients(MANAGEMENT, {"MasterAccountId": MANAGEMENT, "Id": "o-abcdefghij"}))
    assert found.root_id == ROOT and found.management.name == "Management" and len(found.accounts) == 5


@pytest.mark.parametrize("caller, organization, expected", [
    (SECURITY, {"MasterAccountId": MANAGEMENT, "Id": "o-abcdefghij"},
     "needs credentials of the organization's management account 123456789012; yours are of account 222222222222"),
    ("999999999999", client_error("AWSOrganizationsNotInUseException"), "account 999999999999 (your credentials) is not in an AWS Organization"),
    (SECURITY, client_error("AccessDeniedException", "no"), "may not read the organization"),
])
def test_discover_refuses_credentials_that_are_not_the_management_accounts(caller, organization, expected):
    with pytest.raises(B.BootstrapInputError, match=expected.replace("(", r"\(").replace(")", r"\)")):
        B.discover(FakeClients(caller, organization))


# --- desired state --------------------------------------------------------------------------------


def test_desired_steps_in_order_with_their_parameters(tmp_path):
    cat_inputs = inputs(tmp_path, parts=("deployer", "management"))
    placement = B.check_organization(cat_inputs, facts(), "eu-west-1")
    steps = B.desired_steps(cat_inputs, facts(), placement, "eu-west-1")
    assert [s.key for s in steps] == ["trusted-access", "deployer-stackset", "organization-reader", "management-deployer"]
    stack_set = steps[1]
    assert (stack_set.kind, stack_set.name, stack_set.targets, stack_set.region) == ("stackset", "orgiam-deployer", (ROOT,), "eu-west-1")
    assert stack_set.desired.parameters == {
        "BuildRoleArn": "arn:aws:iam::333333333333:role/orgiam/orgiam-sync-build", "CentralAccountId": SECURITY,
        "RolePath": "/orgiam/", "StackPrefix": "orgiam"}
    assert stack_set.desired.extra["auto_deployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert steps[2].desired.parameters == {"BuildRoleArn": "arn:aws:iam::333333333333:role/orgiam/orgiam-sync-build"}
    assert steps[3].desired.template is None and steps[3].desired.hash is None  # not targeted: no deployer there
    assert all(s.account_id == MANAGEMENT for s in steps)


def test_the_pipeline_part_deploys_the_pipeline_and_forwards_events_from_us_east_1(tmp_path):
    if not (CICD / B.PIPELINE_TEMPLATE).exists() or not (CICD / B.EVENTS_TEMPLATE).exists():
        pytest.skip("cicd/pipeline.yml or cicd/management-events.yml does not exist yet (the pipeline engineer's part)")
    cat_inputs = inputs(tmp_path, PIPELINE + "  notify_email: team@example.com\n  approval: false\n", parts=B.PARTS)
    placement = B.check_organization(cat_inputs, facts(), "eu-west-1")
    steps = {s.key: s for s in B.desired_steps(cat_inputs, facts(), placement, "eu-west-1")}
    pipeline_step, events = steps["pipeline"], steps["management-events"]
    assert (pipeline_step.account_id, pipeline_step.region, pipeline_step.name) == (DEPLOYMENTS, "eu-west-1", "orgiam-pipeline")
    parameters = pipeline_step.desired.parameters
    assert parameters["RepositoryName"] == "orgiam-catalog" and parameters["ApprovalRequired"] == "false"
    assert parameters["ManagementAccountId"] == MANAGEMENT and parameters["OrganizationId"] == "o-abcdefghij"
    assert parameters["NotificationEmail"] == "team@example.com" and parameters.get("ConnectionArn", "") == ""
    assert (events.account_id, events.region) == (MANAGEMENT, "us-east-1")
    assert events.desired.parameters["PipelineAccountId"] == DEPLOYMENTS


def test_the_hash_covers_template_parameters_and_targets():
    template = B.TemplateFile("t.yml", "Resources: {}")
    one = B.Desired(template, {"A": "1"}, {"targets": [ROOT]})
    assert one.hash == B.Desired(template, {"A": "1"}, {"targets": [ROOT]}).hash
    assert one.hash != B.Desired(template, {"A": "2"}, {"targets": [ROOT]}).hash
    assert one.hash != B.Desired(template, {"A": "1"}, {"targets": ["ou-x"]}).hash
    assert one.hash != B.Desired(B.TemplateFile("t.yml", "Resources: {X: 1}"), {"A": "1"}, {"targets": [ROOT]}).hash


# --- plan and apply over a fake CloudFormation ----------------------------------------------------


class Pages:
    def __init__(self, pages: list[dict[str, Any]]) -> None:
        self.pages = pages

    def paginate(self, **_: Any) -> list[dict[str, Any]]:
        return self.pages


class FakeCfn:
    """The management account's CloudFormation: one stack set, its operations and instances, and stacks."""

    def __init__(self, stack_set: dict[str, Any] | None = None, instances: list[dict[str, Any]] | None = None,
                 access: bool = True, stacks: dict[str, dict[str, Any]] | None = None) -> None:
        self.stack_set = stack_set
        self.instances = instances or []
        self.access = access
        self.stacks = stacks or {}
        self.writes: list[str] = []
        self.operations: list[str] = []

    def describe_organizations_access(self) -> dict[str, str]:
        return {"Status": "ENABLED" if self.access else "DISABLED"}

    def activate_organizations_access(self) -> dict[str, Any]:
        self.writes.append("ActivateOrganizationsAccess")
        self.access = True
        return {}

    def describe_stack_set(self, StackSetName: str) -> dict[str, Any]:
        if self.stack_set is None:
            raise client_error("StackSetNotFoundException", f"StackSet {StackSetName} not found")
        return {"StackSet": self.stack_set}

    def create_stack_set(self, **kwargs: Any) -> dict[str, str]:
        self.writes.append("CreateStackSet")
        self.stack_set = {"StackSetName": kwargs["StackSetName"], "Status": "ACTIVE", "PermissionModel": "SERVICE_MANAGED",
                          "Tags": kwargs["Tags"], "AutoDeployment": kwargs["AutoDeployment"]}
        return {"StackSetId": "id"}

    def update_stack_set(self, **kwargs: Any) -> dict[str, str]:
        self.writes.append("UpdateStackSet")
        return self._operation()

    def create_stack_instances(self, **kwargs: Any) -> dict[str, str]:
        self.writes.append(f"CreateStackInstances {kwargs['DeploymentTargets']['OrganizationalUnitIds']}")
        self.instances = [{"Account": PROD, "Status": "CURRENT", "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}}]
        return self._operation()

    def _operation(self) -> dict[str, str]:
        self.operations.append("SUCCEEDED")
        return {"OperationId": f"op-{len(self.operations)}"}

    def describe_stack_set_operation(self, StackSetName: str, OperationId: str) -> dict[str, Any]:
        return {"StackSetOperation": {"Status": self.operations.pop(0) if self.operations else "SUCCEEDED"}}

    def get_paginator(self, name: str) -> Pages:
        if name == "list_stack_instances":
            return Pages([{"Summaries": self.instances}])
        assert name == "list_stack_set_operations"
        return Pages([{"Summaries": []}])

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        if StackName not in self.stacks:
            raise client_error("ValidationError", f"Stack with id {StackName} does not exist")
        return {"Stacks": [self.stacks[StackName]]}


class CfnClients:
    def __init__(self, cfn: FakeCfn) -> None:
        self.cfn = cfn

    def client(self, service: str, region: str | None = None) -> FakeCfn:
        return self.cfn

    def member_client(self, service: str, account_id: str, partition: str = "aws") -> FakeCfn:
        return self.cfn


def stackset_step(tmp_path: Path) -> B.Step:
    cat_inputs = inputs(tmp_path)
    placement = B.check_organization(cat_inputs, facts(), "us-east-1")
    return B.desired_steps(cat_inputs, facts(), placement, "us-east-1")[1]


def deployed(step: B.Step, **changes: Any) -> dict[str, Any]:
    data = {"StackSetName": step.name, "Status": "ACTIVE", "PermissionModel": "SERVICE_MANAGED",
            "Tags": stack_tags(step.stack_kind, step.desired.hash), "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
            "OrganizationalUnitIds": [ROOT], "Regions": ["us-east-1"], "Parameters": [], "TemplateBody": "old"}
    data.update(changes)
    return data


CURRENT = [{"Account": PROD, "Status": "CURRENT", "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}}]


def test_a_new_stack_set_is_created_and_deployed_to_the_root(tmp_path):
    step = stackset_step(tmp_path)
    cfn = FakeCfn()
    B.plan_step(CfnClients(cfn), facts(), step, B.Options(check=True, diff=True))
    assert (step.action, step.deploy_to, cfn.writes) == (P.CREATE, (ROOT,), [])
    assert step.diff and "orgiam-deployer" in step.diff["after"] and step.diff["before"] == ""
    B.apply_step(CfnClients(cfn), facts(), step, B.Options())
    assert cfn.writes == ["CreateStackSet", f"CreateStackInstances ['{ROOT}']"]
    assert step.status == B.CREATED and step.details == ["1 of 1 stack instance(s) current"]


def test_an_up_to_date_stack_set_costs_reads_only(tmp_path):
    step = stackset_step(tmp_path)
    cfn = FakeCfn(deployed(step), CURRENT)
    B.plan_step(CfnClients(cfn), facts(), step, B.Options())
    assert (step.action, step.deploy_to, step.changes) == (P.NOOP, (), False)
    B.apply_step(CfnClients(cfn), facts(), step, B.Options())
    assert cfn.writes == [] and step.status == B.UNCHANGED


@pytest.mark.parametrize("changes, instances, action, deploy_to, reason", [
    ({"Tags": stack_tags("bootstrap-deployer", "old-hash")}, CURRENT, P.UPDATE, (), "template or parameters changed"),
    ({"AutoDeployment": {"Enabled": False, "RetainStacksOnAccountRemoval": False}}, CURRENT, P.UPDATE, (), "auto-deployment"),
    ({}, [{"Account": PROD, "Status": "OUTDATED", "StatusReason": "AccessDenied", "StackInstanceStatus": {"DetailedStatus": "FAILED"}}],
     P.UPDATE, (), "1 stack instance(s) are not current"),
    ({"OrganizationalUnitIds": []}, CURRENT, P.NOOP, (ROOT,), "deploy to r-ab12"),
    ({"Regions": ["eu-west-1"]}, CURRENT, P.NOOP, (ROOT,), "in us-east-1"),
])
def test_what_a_deployed_stack_set_needs(tmp_path, changes, instances, action, deploy_to, reason):
    step = stackset_step(tmp_path)
    cfn = FakeCfn(deployed(step, **changes), instances)
    B.plan_step(CfnClients(cfn), facts(), step, B.Options())
    assert (step.action, step.deploy_to) == (action, deploy_to) and reason in step.reason and step.changes


def test_a_stack_set_orgiam_did_not_make_is_refused(tmp_path):
    step = stackset_step(tmp_path)
    B.plan_step(CfnClients(FakeCfn(deployed(step, Tags=[]))), facts(), step, B.Options())
    assert step.action == P.REFUSE and "orgiam did not create it" in step.reason
    step = stackset_step(tmp_path)
    B.plan_step(CfnClients(FakeCfn(deployed(step, PermissionModel="SELF_MANAGED"))), facts(), step, B.Options())
    assert step.action == P.REFUSE and "SELF_MANAGED" in step.reason


def test_failed_instances_fail_the_step_naming_each_account(tmp_path):
    step = stackset_step(tmp_path)
    cfn = FakeCfn(deployed(step, Tags=stack_tags("bootstrap-deployer", "old")), CURRENT)
    B.plan_step(CfnClients(cfn), facts(), step, B.Options())
    cfn.instances = [{"Account": PROD, "Status": "OUTDATED", "StatusReason": "SCP denies iam:CreateRole",
                      "StackInstanceStatus": {"DetailedStatus": "FAILED"}}]
    with pytest.raises(AwsAccessError, match=r"1 account\(s\) did not get the deployer role: Payments Prod \(444444444444\): FAILED: SCP denies"):
        B.apply_step(CfnClients(cfn), facts(), step, B.Options())


def test_trusted_access_is_activated_only_when_off(tmp_path):
    cat_inputs = inputs(tmp_path)
    step = B.desired_steps(cat_inputs, facts(), B.check_organization(cat_inputs, facts(), "us-east-1"), "us-east-1")[0]
    cfn = FakeCfn(access=False)
    B.plan_step(CfnClients(cfn), facts(), step, B.Options())
    assert step.action == B.ACTIVATE and step.changes
    B.apply_step(CfnClients(cfn), facts(), step, B.Options())
    assert cfn.writes == ["ActivateOrganizationsAccess"] and step.status == B.UPDATED


def test_the_management_deployer_is_retained_or_pruned_when_no_longer_targeted(tmp_path):
    cat_inputs = inputs(tmp_path)
    step = B.desired_steps(cat_inputs, facts(), B.check_organization(cat_inputs, facts(), "us-east-1"), "us-east-1")[3]
    stack = {"StackName": "orgiam-deployer", "StackStatus": "CREATE_COMPLETE", "Tags": stack_tags("bootstrap-deployer", "h")}
    B.plan_step(CfnClients(FakeCfn(stacks={"orgiam-deployer": stack})), facts(), step, B.Options(prune="plan"))
    assert step.action == P.RETAIN and "no longer needed (the catalog does not target the management account); kept because prune is 'plan'" in step.reason
    step.reason = ""
    B.plan_step(CfnClients(FakeCfn(stacks={"orgiam-deployer": stack})), facts(), step, B.Options(prune="apply"))
    assert step.action == P.DELETE


def test_a_run_whose_plan_fails_writes_nothing(tmp_path, monkeypatch):
    cat_inputs = inputs(tmp_path)
    monkeypatch.setattr(B, "discover", lambda clients: facts())
    cfn = FakeCfn(access=False)

    class Failing(CfnClients):
        def client(self, service: str, region: str | None = None) -> FakeCfn:
            self.reads = getattr(self, "reads", 0) + 1
            if self.reads == 3:  # the third step, the organization reader's stack
                raise AwsAccessError("cannot read stack orgiam-organization-reader: AccessDenied", "AccessDenied")
            return cfn

    outcome = B.run_bootstrap(Failing(cfn), cat_inputs, "us-east-1", B.Options())
    assert cfn.writes == []
    assert [s.status for s in outcome.steps] == [B.SKIPPED, B.SKIPPED, B.FAILED, B.SKIPPED]
    assert "AccessDenied" in outcome.failed[0].error
    assert "changes: 0" in B.summary_line(outcome)


# --- StackSet operations --------------------------------------------------------------------------


class Operations:
    def __init__(self, statuses: list[str], reason: str = "") -> None:
        self.statuses, self.reason = statuses, reason

    def describe_stack_set_operation(self, StackSetName: str, OperationId: str) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"StackSetOperation": {"Status": status, "StatusReason": self.reason}}


def test_waiting_for_an_operation_backs_off_and_reports():
    slept, seen = [], []
    status = S.wait_operation(Operations(["QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"]), "s", "op", 60,
                              sleep=slept.append, on_wait=lambda s, w: seen.append(s))
    assert status == "SUCCEEDED" and slept == [2.0, 4.0, 8.0] and seen == ["QUEUED", "RUNNING", "RUNNING"]


def test_a_failed_or_endless_operation_raises():
    with pytest.raises(AwsAccessError, match="ended FAILED: too many failures"):
        S.wait_operation(Operations(["RUNNING", "FAILED"], "too many failures"), "s", "op", 60, sleep=lambda _: None)
    with pytest.raises(AwsAccessError, match="still RUNNING after 0 s; it goes on in AWS"):
        S.wait_operation(Operations(["RUNNING"]), "s", "op", 0, sleep=lambda _: None)


def test_a_deleted_stack_set_is_no_stack_set():
    assert S.describe_stack_set(FakeCfn({"StackSetName": "x", "Status": "DELETED"}), "x") is None
    assert S.describe_stack_set(FakeCfn(None), "x") is None

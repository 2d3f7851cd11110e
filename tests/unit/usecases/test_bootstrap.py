"""The bootstrap use case without AWS: input checks, the organization checks, the tasks in order, and
whole runs (plan, then apply) over a fake CloudFormation."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.apply.engine import Engine
from ansible_collections.orgiam.aws.plugins.module_utils.apply.operators import Context
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.pipeline import BootstrapInputError
from ansible_collections.orgiam.aws.plugins.module_utils.model import Action, Kind, Status
from ansible_collections.orgiam.aws.plugins.module_utils.render.bootstrap import TemplateFile, templates_dir
from ansible_collections.orgiam.aws.plugins.module_utils.render.common import stack_tags
from ansible_collections.orgiam.aws.plugins.module_utils.usecases import bootstrap as B
from tests.fakes import FakeClients, client_error
from tests.unit.bootstrap_org import (
    ARN,
    DEPLOYMENTS,
    LEGACY,
    MANAGEMENT,
    ORGANIZATION,
    PIPELINE,
    PROD,
    ROOT,
    SECURITY,
    catalog,
    facts,
    inputs,
    tasks,
)

# --- input without AWS ----------------------------------------------------------------------------


def test_load_inputs_reports_every_problem_at_once(tmp_path):
    cat = catalog(tmp_path / "c", settings_extra="pipeline: {account: Deployments, source: {provider: CodeCommit, repository: a/b}}\n",
                  roles={"team.yml": "name: Team\npath: /team/\ntargets: {ou_paths: [Workloads]}\n"})
    with pytest.raises(BootstrapInputError) as raised:
        B.load_inputs(cat, str(tmp_path / "no-templates"))
    text = str(raised.value)
    assert "not a CodeCommit repository name" in text and "outside role_path" in text and "deployer-role.yml does not exist" in text
    assert "pipeline.yml does not exist" in text and len(raised.value.problems) == 6  # 2 settings + 4 templates
    with pytest.raises(BootstrapInputError, match="parts must be some of"):
        B.load_inputs(cat, templates_dir(), ("everything",))
    with pytest.raises(BootstrapInputError, match="got none"):
        B.load_inputs(cat, templates_dir(), ())


def test_load_inputs_reads_only_the_templates_of_the_parts_asked_for(tmp_path):
    assert set(inputs(tmp_path, parts=("deployer",)).templates) == {B.DEPLOYER_TEMPLATE}
    both = inputs(tmp_path / "2", parts=("management", "deployer"))
    assert set(both.templates) == {B.DEPLOYER_TEMPLATE, B.READER_TEMPLATE} and both.parts == ("deployer", "management")


# --- the organization -------------------------------------------------------------------------------


def test_accounts_named_in_settings_must_be_active_accounts_of_the_organization(tmp_path):
    placement = B.check_organization(inputs(tmp_path), facts(), "us-east-1")
    assert (placement.central.id, placement.pipeline.id, placement.management_targeted) == (SECURITY, DEPLOYMENTS, False)
    with pytest.raises(BootstrapInputError) as raised:
        B.check_organization(inputs(tmp_path, "pipeline: {account: Build Farm, source: {provider: CodeCommit, repository: r}}\n"),
                             facts(), "us-east-1")
    assert f"field 'pipeline.account': account 'Build Farm' is not in the organization {ORGANIZATION}" in str(raised.value)
    assert "Deployments (333333333333)" in str(raised.value) and "Legacy App" not in str(raised.value)
    with pytest.raises(BootstrapInputError, match=f"'Legacy App' \\({LEGACY}\\) is SUSPENDED"):
        B.check_organization(inputs(tmp_path, "pipeline: {account: Legacy App, source: {provider: CodeCommit, repository: r}}\n"),
                             facts(), "us-east-1")


def test_the_connection_must_be_in_the_pipeline_account_and_region(tmp_path):
    def settings(arn: str) -> str:
        return f"pipeline: {{account: Deployments, source: {{provider: CodeConnections, repository: a/b, connection_arn: '{arn}'}}}}\n"

    B.check_organization(inputs(tmp_path, settings(ARN)), facts(), "us-east-1")
    with pytest.raises(BootstrapInputError) as raised:
        B.check_organization(inputs(tmp_path, settings(ARN.replace("333333333333", "111111111111"))), facts(), "eu-west-1")
    text = str(raised.value)
    assert "the connection is in account 111111111111, not in the pipeline account Deployments" in text
    assert "the connection is in region us-east-1, the pipeline in eu-west-1" in text
    checked = inputs(tmp_path, settings(ARN))  # settings.yml's schema refuses such an ARN; check_organization too
    checked = dataclasses.replace(checked, pipeline=dataclasses.replace(checked.pipeline, connection_arn="arn:aws:iam::1:role/x"))
    with pytest.raises(BootstrapInputError, match="is not a CodeConnections connection ARN"):
        B.check_organization(checked, facts(), "us-east-1")


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


def test_identity_center_mode_needs_the_deployer_in_the_management_account(tmp_path):
    """The Identity Center stack lives there (without a delegated administrator): the pipeline deploys it as the
    management account's orgiam-deployer."""
    cat_inputs = inputs(tmp_path)
    identity = dataclasses.replace(cat_inputs.catalog.identity, mode="identity_center")
    cat_inputs = dataclasses.replace(cat_inputs, catalog=dataclasses.replace(cat_inputs.catalog, identity=identity))
    assert B.check_organization(cat_inputs, facts(), "us-east-1").management_targeted


class FakeOrganizations:
    """Organizations as the management account sees it (or an error for describe_organization)."""

    def __init__(self, organization: dict[str, Any] | Exception) -> None:
        self.organization = organization

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


ORG = {"MasterAccountId": MANAGEMENT, "Id": ORGANIZATION}


def org_clients(caller: str = MANAGEMENT, organization: dict[str, Any] | Exception = ORG, region: str = "us-east-1") -> FakeClients:
    return FakeClients(caller, region, services={"organizations": FakeOrganizations(organization)})


def test_discover_reads_the_organization_as_its_management_account():
    found = B.discover(org_clients())
    assert (found.root_id, found.organization_id, found.partition) == (ROOT, ORGANIZATION, "aws")
    assert found.management.name == "Management" and len(found.accounts) == 5
    assert {a.id: a.status for a in found.accounts}[LEGACY] == "SUSPENDED"


def test_discover_takes_the_partition_from_the_callers_arn():
    assert B.discover(org_clients(region="us-gov-west-1")).partition == "aws-us-gov"


@pytest.mark.parametrize("caller, organization, expected", [
    (SECURITY, ORG, "needs credentials of the organization's management account 123456789012; yours are of account 222222222222"),
    ("999999999999", client_error("AWSOrganizationsNotInUseException"), "account 999999999999 (your credentials) is not in an AWS Organization"),
    (SECURITY, client_error("AccessDeniedException", "no"), "may not read the organization"),
])
def test_discover_refuses_credentials_that_are_not_the_management_accounts(caller, organization, expected):
    with pytest.raises(BootstrapInputError) as raised:
        B.discover(org_clients(caller, organization))
    assert expected in str(raised.value)


# --- the tasks --------------------------------------------------------------------------------------


def test_tasks_in_order_with_their_parameters(tmp_path):
    found = tasks(tmp_path, "eu-west-1")
    assert list(found) == ["trusted-access", "deployer-stackset", "organization-reader", "management-deployer"]
    assert [t.kind for t in found.values()] == [Kind.TRUSTED_ACCESS, Kind.STACKSET, Kind.STACK, Kind.STACK]
    stack_set = found["deployer-stackset"]
    assert (stack_set.name, stack_set.targets, stack_set.region) == ("orgiam-deployer", (ROOT,), "eu-west-1")
    assert stack_set.desired.parameters == {
        "BuildRoleArn": "arn:aws:iam::333333333333:role/orgiam/orgiam-sync-build", "CentralAccountId": SECURITY,
        "PoliciesAccountId": MANAGEMENT, "RolePath": "/orgiam/", "StackPrefix": "orgiam"}
    assert stack_set.desired.extra == {"auto_deployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
                                       "targets": [ROOT], "regions": ["eu-west-1"]}
    reader = found["organization-reader"]
    assert reader.name == "orgiam-organization-reader" and reader.stack_kind == "bootstrap-organization-reader"
    assert reader.desired.parameters == {"BuildRoleArn": "arn:aws:iam::333333333333:role/orgiam/orgiam-sync-build"}
    deployer = found["management-deployer"]
    assert deployer.desired.body is None and deployer.desired.hash is None  # not targeted: no deployer there
    assert deployer.reason_if_absent == "the catalog neither targets the management account nor has organization policies"
    assert all(t.account_id == MANAGEMENT and t.account_name == "Management" for t in found.values())


def test_a_targeted_management_account_gets_the_deployer_stack(tmp_path):
    found = tasks(tmp_path, roles={"r.yml": "name: Billing\ntargets: {management_account: true}\n"})
    deployer, stack_set = found["management-deployer"], found["deployer-stackset"]
    assert deployer.desired.body == stack_set.desired.body and deployer.desired.parameters == stack_set.desired.parameters
    assert deployer.desired.hash != stack_set.desired.hash  # the stack set's hash also covers its targets


def test_the_pipeline_part_deploys_the_pipeline_and_forwards_events_from_us_east_1(tmp_path):
    found = tasks(tmp_path, "eu-west-1", settings_extra=PIPELINE + "  notify_email: team@example.com\n  approval: false\n",
                  parts=B.PARTS)
    assert list(found) == ["trusted-access", "deployer-stackset", "organization-reader", "management-deployer",
                           "pipeline", "release", "management-events"]
    pipeline_task, events = found["pipeline"], found["management-events"]
    assert (pipeline_task.account_id, pipeline_task.region, pipeline_task.name) == (DEPLOYMENTS, "eu-west-1", "orgiam-pipeline")
    parameters = pipeline_task.desired.parameters
    assert parameters["RepositoryName"] == "orgiam-catalog" and parameters["ApprovalRequired"] == "false"
    assert parameters["ManagementAccountId"] == MANAGEMENT and parameters["OrganizationId"] == ORGANIZATION
    assert parameters["NotificationEmail"] == "team@example.com" and parameters.get("ConnectionArn", "") == ""
    assert (events.account_id, events.region) == (MANAGEMENT, "us-east-1")
    assert events.desired.parameters["PipelineAccountId"] == DEPLOYMENTS
    # the pipeline runs the release of this collection, pinned by its SHA-256, uploaded next to the pipeline
    release = found["release"]
    assert (release.account_id, release.name) == (DEPLOYMENTS, "orgiam-pipeline")
    assert parameters["ReleaseSha256"] == release.desired.hash and len(release.desired.hash) == 64
    assert parameters["ReleaseKey"] == release.desired.extra["key"]
    assert parameters["ReleaseKey"].startswith("releases/orgiam-") and release.desired.hash[:16] in parameters["ReleaseKey"]


def test_a_parameter_bootstrap_cannot_fill_is_an_input_error(tmp_path):
    checked = inputs(tmp_path)
    mystery = TemplateFile("reader.yml", "Resources: {}", {"Mystery": {"Type": "String"}})
    checked = dataclasses.replace(checked, templates={**checked.templates, B.READER_TEMPLATE: mystery})
    with pytest.raises(BootstrapInputError, match="reader.yml: parameter Mystery has no default"):
        B.bootstrap_tasks(checked, facts(), B.check_organization(checked, facts(), "us-east-1"), "us-east-1")


@pytest.mark.parametrize("prune, action, reason", [
    ("plan", Action.RETAIN,
     "no longer needed (the catalog neither targets the management account nor has organization policies); kept because prune is 'plan'"),
    ("apply", Action.DELETE,
     "no longer needed (the catalog neither targets the management account nor has organization policies); deleted because prune is 'apply'"),
])
def test_the_management_deployer_is_retained_or_pruned_when_no_longer_targeted(tmp_path, prune, action, reason):
    task = tasks(tmp_path)["management-deployer"]
    clients = FakeClients()
    clients.cfn().add_stack("orgiam-deployer", tags=stack_tags("bootstrap-deployer", "h"))
    engine = Engine(Context(clients, prune=prune))
    result = engine.run(task)
    assert (result.action, result.reason) == (action, reason)
    if action == Action.DELETE:
        assert result.status == Status.DELETED and "orgiam-deployer" not in clients.cfn().stacks
        assert clients.writes() == ["UpdateTerminationProtection orgiam-deployer", "DeleteStack orgiam-deployer"]
    else:
        assert result.status == Status.RETAINED and clients.writes() == []


def test_no_management_deployer_and_none_wanted_is_nothing_to_do(tmp_path):
    result = Engine(Context(FakeClients())).run(tasks(tmp_path)["management-deployer"])
    assert (result.action, result.status) == (Action.NOOP, Status.UNCHANGED)
    assert result.reason == "not needed: the catalog neither targets the management account nor has organization policies"


# --- whole runs over a fake CloudFormation ----------------------------------------------------------


def fresh_organization(region: str = "us-east-1") -> FakeClients:
    """The organization before bootstrap: trusted access off, no stack set, no stack."""
    clients = org_clients(region=region)
    management = clients.cfn(MANAGEMENT)
    management.access = False
    management.members = [SECURITY, DEPLOYMENTS, PROD]
    return clients


def test_a_first_run_deploys_everything_in_order_and_a_second_one_writes_nothing(tmp_path):
    clients, cat_inputs = fresh_organization(), inputs(tmp_path)
    seen: list[tuple[str, str]] = []
    outcome = B.run_bootstrap(clients, cat_inputs, "us-east-1", B.Options(), lambda r, phase: seen.append((r.task.key, phase)))
    assert not outcome.failed, [r.error for r in outcome.results]
    assert clients.writes() == ["ActivateOrganizationsAccess", "CreateStackSet orgiam-deployer", "CreateStackInstances orgiam-deployer",
                                "CreateStack orgiam-organization-reader"]
    assert [r.status for r in outcome.results] == [Status.UPDATED, Status.CREATED, Status.CREATED, Status.UNCHANGED]
    assert outcome.results[1].details == ["3 of 3 stack instance(s) current"]
    assert [p for _, p in seen] == ["planned"] * 4 + ["done"] * 4  # every task planned before any is applied
    reader = clients.cfn(MANAGEMENT).stacks["orgiam-organization-reader"]
    assert reader["EnableTerminationProtection"] and {"Key": "orgiam:stack-kind", "Value": "bootstrap-organization-reader"} in reader["Tags"]
    assert "changes: 3" in B.summary_line(outcome) and outcome.to_dict()["ok"] and outcome.changed

    again = B.run_bootstrap(clients, cat_inputs, "us-east-1", B.Options())
    assert clients.writes() == ["ActivateOrganizationsAccess", "CreateStackSet orgiam-deployer", "CreateStackInstances orgiam-deployer",
                                "CreateStack orgiam-organization-reader"]  # nothing more
    assert [r.status for r in again.results] == [Status.UNCHANGED] * 4 and not again.changed
    assert again.results[1].details == ["3 stack instance(s), all current"]


def test_check_mode_plans_everything_and_writes_nothing(tmp_path):
    clients = fresh_organization()
    outcome = B.run_bootstrap(clients, inputs(tmp_path), "us-east-1", B.Options(check=True, diff=True))
    assert clients.writes() == []
    assert [r.action for r in outcome.results] == [Action.ACTIVATE, Action.CREATE, Action.CREATE, Action.NOOP]
    assert [r.status for r in outcome.results] == [Status.PLANNED] * 3 + [Status.UNCHANGED]
    assert outcome.results[1].deploy_to == (ROOT,) and "orgiam-deployer" in outcome.results[1].diff["after"]
    lines = B.plan_lines(outcome)
    assert lines[0] == "[Management (123456789012) us-east-1] StackSets' trusted access with Organizations: activate (StackSets may not deploy through Organizations yet)"
    assert lines[2].startswith("[Management (123456789012) us-east-1] stack orgiam-organization-reader: create (new stack")
    assert "orgiam bootstrap (check): 4 steps, changes: 3" in B.summary_line(outcome)


def test_a_run_whose_plan_fails_writes_nothing(tmp_path):
    clients = fresh_organization()
    clients.cfn(MANAGEMENT).fail("DescribeStacks", client_error("AccessDenied", "not allowed"), name="orgiam-organization-reader")
    outcome = B.run_bootstrap(clients, inputs(tmp_path), "us-east-1", B.Options())
    assert clients.writes() == []
    assert [r.status for r in outcome.results] == [Status.SKIPPED, Status.SKIPPED, Status.FAILED, Status.SKIPPED]
    assert "AccessDenied" in outcome.failed[0].error and outcome.failed[0].error_code == "AccessDenied"
    assert outcome.results[0].reason.startswith("not applied: another step could not be planned")
    assert "changes: 0" in B.summary_line(outcome) and not outcome.to_dict()["ok"]


def test_a_step_that_fails_to_apply_stops_the_steps_after_it(tmp_path):
    clients = fresh_organization()
    clients.cfn(MANAGEMENT).fail("CreateStackSet", client_error("LimitExceededException", "too many stack sets"))
    outcome = B.run_bootstrap(clients, inputs(tmp_path), "us-east-1", B.Options())
    assert [r.status for r in outcome.results] == [Status.UPDATED, Status.FAILED, Status.SKIPPED, Status.SKIPPED]
    assert clients.writes() == ["ActivateOrganizationsAccess", "CreateStackSet orgiam-deployer"]
    assert outcome.results[1].error_code == "LimitExceededException" and "too many stack sets" in outcome.results[1].error


def test_accounts_that_did_not_get_the_deployer_do_not_stop_the_management_accounts_stacks(tmp_path):
    clients = fresh_organization()
    management = clients.cfn(MANAGEMENT)
    original = management.create_stack_instances

    def some_fail(**kwargs: Any) -> dict[str, str]:
        answer = original(**kwargs)
        management.instances[-1] = {"Account": PROD, "Status": "OUTDATED", "StatusReason": "SCP denies iam:CreateRole",
                                    "StackInstanceStatus": {"DetailedStatus": "FAILED"}}
        return answer

    management.create_stack_instances = some_fail
    outcome = B.run_bootstrap(clients, inputs(tmp_path), "us-east-1", B.Options())
    stack_set = outcome.results[1]
    assert stack_set.status == Status.FAILED and stack_set.error_code == "StackInstancesFailed"
    assert "Payments Prod (444444444444): FAILED: SCP denies iam:CreateRole" in stack_set.error
    assert outcome.results[2].status == Status.CREATED  # the reader still goes into the management account


def test_the_outcome_holds_the_results_the_engine_returns(tmp_path, monkeypatch):
    # a task whose stack changed between plan and write is planned again: apply returns another Result
    original = Engine.apply
    monkeypatch.setattr(Engine, "apply", lambda self, result: original(self, dataclasses.replace(result)))
    outcome = B.run_bootstrap(fresh_organization(), inputs(tmp_path), "us-east-1", B.Options())
    assert [r.status for r in outcome.results] == [Status.UPDATED, Status.CREATED, Status.CREATED, Status.UNCHANGED]

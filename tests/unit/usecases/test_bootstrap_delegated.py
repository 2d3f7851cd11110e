"""The bootstrap with a delegated administrator (settings.yml pipeline.delegated_admin), without AWS: the checks,
the tasks and what the pipeline template is given, and whole runs over fake CloudFormation and Organizations."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.apply.engine import Engine
from ansible_collections.orgiam.aws.plugins.module_utils.apply.operators import Context
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.pipeline import BootstrapInputError
from ansible_collections.orgiam.aws.plugins.module_utils.model import Action, Kind, Status
from ansible_collections.orgiam.aws.plugins.module_utils.render.bootstrap import (
    ORGANIZATION_READ_SID,
    PIPELINE_TEMPLATE,
    READER_ROLE_PARAMETER,
    TemplateFile,
)
from ansible_collections.orgiam.aws.plugins.module_utils.render.common import stack_tags
from ansible_collections.orgiam.aws.plugins.module_utils.usecases import bootstrap as B
from tests.fakes import FakeCfn, FakeClients, client_error
from tests.unit.bootstrap_org import DEPLOYMENTS, MANAGEMENT, PIPELINE, PROD, SECURITY, facts, inputs, tasks
from tests.unit.usecases.test_bootstrap import ORG, FakeOrganizations

STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"
DELEGATED = PIPELINE + "  delegated_admin: Deployments\n"
READER_ARN = f"arn:aws:iam::{MANAGEMENT}:role/orgiam/orgiam-organization-reader"


def settings(admin: str) -> str:
    return PIPELINE + f"  delegated_admin: '{admin}'\n"


# --- the checks -------------------------------------------------------------------------------------------


def test_the_delegated_admin_is_found_by_name_or_id(tmp_path):
    assert B.check_organization(inputs(tmp_path / "a", DELEGATED), facts(), "us-east-1").delegated_admin.id == DEPLOYMENTS
    assert B.check_organization(inputs(tmp_path / "b", settings(PROD)), facts(), "us-east-1").delegated_admin.name == "Payments Prod"
    assert B.check_organization(inputs(tmp_path / "c"), facts(), "us-east-1").delegated_admin is None


@pytest.mark.parametrize("admin, expected", [
    ("Management", ["field 'pipeline.delegated_admin': account 'Management' (123456789012) is the management account",
                    "name a member account", "or remove the field"]),
    ("Legacy App", ["field 'pipeline.delegated_admin': account 'Legacy App' (555555555555) is SUSPENDED"]),
    ("Build Farm", ["field 'pipeline.delegated_admin': account 'Build Farm' is not in the organization", "Deployments (333333333333)"]),
])
def test_a_delegated_admin_that_cannot_be_one_is_refused_naming_the_file_and_field(tmp_path, admin, expected):
    with pytest.raises(BootstrapInputError) as raised:
        B.check_organization(inputs(tmp_path, settings(admin)), facts(), "us-east-1")
    for fragment in expected:
        assert fragment in str(raised.value)
    assert "settings.yml: field" in str(raised.value)


def test_an_id_that_is_not_twelve_digits_is_refused_before_aws(tmp_path):
    with pytest.raises(BootstrapInputError) as raised:
        inputs(tmp_path, settings("12345678901"))
    assert "field 'pipeline.delegated_admin': '12345678901' is not an account id (12 digits): quote an id" in str(raised.value)


# --- the tasks --------------------------------------------------------------------------------------------


def test_the_delegated_admin_adds_its_registration_and_the_delegation_policy_and_manages_the_stack_set(tmp_path):
    found = tasks(tmp_path, settings_extra=DELEGATED)
    assert list(found) == ["trusted-access", "delegated-admin", "deployer-stackset", "organization-access",
                           "organization-reader", "management-deployer"]
    registration = found["delegated-admin"]
    assert (registration.kind, registration.account_id) == (Kind.DELEGATED_ADMIN, MANAGEMENT)
    assert registration.desired.extra == {"account_id": DEPLOYMENTS, "service_principal": STACKSETS}
    stack_set = found["deployer-stackset"]
    assert (stack_set.account_id, stack_set.account_name, stack_set.call_as) == (DEPLOYMENTS, "Deployments", "DELEGATED_ADMIN")
    assert stack_set.desired == tasks(tmp_path / "without")["deployer-stackset"].desired  # the same StackSet, the same hash
    access = found["organization-access"]
    assert (access.kind, access.account_id) == (Kind.ORGANIZATION_POLICY, MANAGEMENT)
    statement = access.desired.extra["statement"]
    assert statement["Sid"] == ORGANIZATION_READ_SID and statement["Principal"] == {"AWS": f"arn:aws:iam::{DEPLOYMENTS}:root"}
    assert statement["Resource"] == "*" and all(a.startswith(("organizations:List", "organizations:Describe")) for a in statement["Action"])
    # the shipped pipeline template takes the reader's ARN as a parameter: the pipeline account reads the organization
    # itself, and the reader is not needed
    reader = found["organization-reader"]
    assert not reader.desired.exists and "is the delegated administrator and reads the organization itself" in reader.reason_if_absent


def test_without_the_management_part_there_is_no_delegation_policy_step(tmp_path):
    assert list(tasks(tmp_path, settings_extra=DELEGATED, parts=("deployer",))) == ["trusted-access", "delegated-admin",
                                                                                     "deployer-stackset"]


def with_reader_parameter(checked: B.Inputs, default: str | None = None, declared: bool = True) -> B.Inputs:
    """The inputs with a pipeline template that declares OrganizationReaderRoleArn (and nothing else), or nothing."""
    spec: dict[str, Any] = {"Type": "String"}
    if default is not None:
        spec["Default"] = default
    template = TemplateFile("pipeline.yml", "Resources: {}", {READER_ROLE_PARAMETER: spec} if declared else {})
    return dataclasses.replace(checked, templates={**checked.templates, PIPELINE_TEMPLATE: template})


def planned(checked: B.Inputs) -> dict[str, Any]:
    placement = B.check_organization(checked, facts(), "us-east-1")
    return {t.key: t for t in B.bootstrap_tasks(checked, facts(), placement, "us-east-1")}


@pytest.mark.parametrize("extra, default, value, reader", [
    (DELEGATED, "", "", False),  # the pipeline account is the delegated admin: empty, no reader needed
    (DELEGATED, "arn:aws:iam::111111111111:role/x", "", False),  # empty is given, not left to a default
    (settings("Payments Prod"), None, READER_ARN, True),  # another account is: the pipeline still assumes the reader
    (PIPELINE, None, READER_ARN, True),  # no delegated admin: as before
])
def test_what_the_pipeline_template_is_given_for_the_organization_reader(tmp_path, extra, default, value, reader):
    checked = with_reader_parameter(inputs(tmp_path, extra, parts=("deployer", "management", "pipeline")), default)
    found = planned(checked)
    assert found["pipeline"].desired.parameters[READER_ROLE_PARAMETER] == value
    assert found["organization-reader"].desired.exists is reader
    if not reader:
        assert found["organization-reader"].reason_if_absent == ("the pipeline account Deployments is the delegated "
                                                                 "administrator and reads the organization itself")


def test_a_pipeline_template_without_the_parameter_is_given_nothing_for_it_and_keeps_its_reader(tmp_path):
    checked = with_reader_parameter(inputs(tmp_path, DELEGATED, parts=("deployer", "management", "pipeline")), declared=False)
    found = planned(checked)
    assert READER_ROLE_PARAMETER not in found["pipeline"].desired.parameters
    assert found["organization-reader"].desired.exists


def test_the_shipped_pipeline_template_takes_the_readers_arn(tmp_path):
    template = inputs(tmp_path, parts=("deployer", "management", "pipeline")).templates[PIPELINE_TEMPLATE]
    assert template.parameters[READER_ROLE_PARAMETER]["Type"] == "String"


@pytest.mark.parametrize("prune, action", [("plan", Action.RETAIN), ("apply", Action.DELETE)])
def test_a_reader_no_longer_needed_is_kept_or_deleted_as_prune_says(tmp_path, prune, action):
    task = tasks(tmp_path, settings_extra=DELEGATED)["organization-reader"]
    clients = FakeClients()
    clients.cfn().add_stack("orgiam-organization-reader", tags=stack_tags("bootstrap-organization-reader", "h"))
    result = Engine(Context(clients, prune=prune)).run(task)
    assert result.action == action and result.reason.startswith(
        "no longer needed (the pipeline account Deployments is the delegated administrator and reads the organization itself)")
    assert ("orgiam-organization-reader" in clients.cfn().stacks) is (action == Action.RETAIN)


def test_the_management_part_alone_reads_the_pipeline_template_to_know_whether_the_reader_is_needed(tmp_path):
    checked = inputs(tmp_path, DELEGATED, parts=("deployer", "management"))
    assert PIPELINE_TEMPLATE in checked.templates
    assert PIPELINE_TEMPLATE not in inputs(tmp_path / "without", parts=("deployer", "management")).templates


# --- whole runs over fakes ------------------------------------------------------------------------------


class Organizations(FakeOrganizations):
    """The management account's Organizations: delegated administrators and the delegation policy too."""

    def __init__(self) -> None:
        super().__init__(ORG)
        self.admins: dict[str, list[str]] = {}
        self.policy: str | None = None
        self.writes: list[str] = []

    def get_paginator(self, name: str) -> Any:
        if name != "list_delegated_administrators":
            return super().get_paginator(name)
        admins = self.admins

        class Pages:
            def paginate(self, ServicePrincipal: str) -> list[dict[str, Any]]:
                return [{"DelegatedAdministrators": [{"Id": a} for a in admins.get(ServicePrincipal, [])]}]
        return Pages()

    def register_delegated_administrator(self, AccountId: str, ServicePrincipal: str) -> dict[str, Any]:
        self.writes.append(f"RegisterDelegatedAdministrator {AccountId}")
        if AccountId in self.admins.setdefault(ServicePrincipal, []):
            raise client_error("AccountAlreadyRegisteredException", "already")
        self.admins[ServicePrincipal].append(AccountId)
        return {}

    def describe_resource_policy(self) -> dict[str, Any]:
        if self.policy is None:
            raise client_error("ResourcePolicyNotFoundException", "none")
        return {"ResourcePolicy": {"Content": self.policy}}

    def put_resource_policy(self, Content: str) -> dict[str, Any]:
        self.writes.append("PutResourcePolicy")
        self.policy = Content
        return {}


class CallAsCfn(FakeCfn):
    """A FakeCfn whose StackSet calls take CallAs, and remember it: (operation, CallAs or SELF)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.call_as: list[tuple[str, str]] = []
        self._asked_as = "SELF"  # the CallAs of a call whose FakeCfn method takes none

    def _call(self, operation: str, kwargs: dict[str, Any]) -> None:
        if "StackSetName" in kwargs:
            self.call_as.append((operation, kwargs.get("CallAs", self._asked_as)))
        super()._call(operation, kwargs)

    def describe_stack_set(self, StackSetName: str, CallAs: str = "SELF") -> dict[str, Any]:
        self._asked_as = CallAs
        try:
            return super().describe_stack_set(StackSetName)
        finally:
            self._asked_as = "SELF"

    def describe_stack_set_operation(self, StackSetName: str, OperationId: str, CallAs: str = "SELF") -> dict[str, Any]:
        self._asked_as = CallAs
        try:
            return super().describe_stack_set_operation(StackSetName, OperationId)
        finally:
            self._asked_as = "SELF"


class Clients(FakeClients):
    """The management account's clients; the delegated admin's CloudFormation holds the management account's stack
    sets (AWS keeps them there), and Organizations is the management account's."""

    def __init__(self) -> None:
        self.organizations = Organizations()
        super().__init__(services={"organizations": self.organizations})
        management = self.cfn(MANAGEMENT)
        management.access = False
        management.members = [SECURITY, DEPLOYMENTS, PROD]
        admin = self.cfn(DEPLOYMENTS)
        for shared in ("stack_sets", "operations"):
            setattr(admin, shared, getattr(management, shared))
        admin.members = management.members

    def cfn(self, account_id: str | None = None, region: str | None = None) -> FakeCfn:
        key = (account_id or self.caller, region or self.region)
        if key not in self.cfns:
            self.cfns[key] = CallAsCfn(key[0], key[1], self.call_log, self.journal)
        return self.cfns[key]

    def member_client(self, service: str, account_id: str, region: str | None = None, label: str | None = None) -> Any:
        if service == "organizations":
            assert account_id == MANAGEMENT, account_id
            return self.organizations
        return super().member_client(service, account_id, region, label)


def test_a_first_run_registers_then_deploys_as_the_delegated_admin_and_a_second_one_writes_nothing(tmp_path):
    clients, checked = Clients(), inputs(tmp_path, DELEGATED)
    outcome = B.run_bootstrap(clients, checked, "us-east-1", B.Options())
    assert not outcome.failed, [r.error for r in outcome.results]
    assert clients.organizations.writes == [f"RegisterDelegatedAdministrator {DEPLOYMENTS}", "PutResourcePolicy"]
    # no organization reader: the pipeline account reads the organization itself (the shipped pipeline template)
    assert clients.writes() == ["ActivateOrganizationsAccess", "CreateStackSet orgiam-deployer", "CreateStackInstances orgiam-deployer"]
    admin, management = clients.cfn(DEPLOYMENTS), clients.cfn(MANAGEMENT)
    # planned as the management account sees it (the admin was not registered yet), written as the delegated admin
    assert management.call_as == [("DescribeStackSet", "SELF")]
    assert {operation for operation, _ in admin.call_as} >= {"CreateStackSet", "CreateStackInstances", "ListStackInstances"}
    assert {call_as for _, call_as in admin.call_as} == {"DELEGATED_ADMIN"}
    assert [r.status for r in outcome.results] == [Status.UPDATED, Status.UPDATED, Status.CREATED, Status.CREATED,
                                                   Status.UNCHANGED, Status.UNCHANGED]
    stack_set = outcome.results[2]
    assert stack_set.task.account_id == DEPLOYMENTS and "is not the delegated administrator yet" in stack_set.details[0]
    assert B.step_dict(stack_set)["call_as"] == "DELEGATED_ADMIN"
    assert outcome.to_dict()["delegated_admin"] == {"account_id": DEPLOYMENTS, "account_name": "Deployments"}
    policy = json.loads(clients.organizations.policy or "")
    assert [s["Sid"] for s in policy["Statement"]] == [ORGANIZATION_READ_SID]

    admin.call_as.clear()
    again = B.run_bootstrap(clients, checked, "us-east-1", B.Options())
    assert [r.status for r in again.results] == [Status.UNCHANGED] * 6 and not again.changed
    assert len(clients.organizations.writes) == 2 and len(clients.writes()) == 3
    assert {call_as for _, call_as in admin.call_as} == {"DELEGATED_ADMIN"} and admin.call_as
    assert again.results[2].details[0] == "managed from Deployments (333333333333), the delegated administrator, with CallAs=DELEGATED_ADMIN"


def test_check_mode_plans_the_registration_and_the_policy_and_writes_nothing(tmp_path):
    clients = Clients()
    clients.organizations.policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Theirs", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{SECURITY}:root"},
         "Action": "organizations:ListPolicies", "Resource": "*"}]})
    outcome = B.run_bootstrap(clients, inputs(tmp_path, DELEGATED), "us-east-1", B.Options(check=True, diff=True))
    assert clients.organizations.writes == [] and clients.writes() == []
    by_key = {r.task.key: r for r in outcome.results}
    assert by_key["delegated-admin"].action == Action.ACTIVATE
    assert by_key["delegated-admin"].reason == f"register Deployments ({DEPLOYMENTS}) as delegated administrator for {STACKSETS}"
    access = by_key["organization-access"]
    assert (access.action, access.reason) == (Action.UPDATE, "add orgiam's statement; 1 other statement(s) kept as they are")
    assert access.diff and '"Theirs"' in access.diff["before"] and ORGANIZATION_READ_SID in access.diff["after"]
    assert '"Theirs"' in access.diff["after"]
    lines = B.plan_lines(outcome)
    assert any(line.startswith(f"[Deployments ({DEPLOYMENTS}) us-east-1] stackset orgiam-deployer: create") for line in lines)


def test_an_admin_registered_for_another_service_only_is_registered_for_stacksets(tmp_path):
    clients = Clients()
    clients.organizations.admins["guardduty.amazonaws.com"] = [DEPLOYMENTS]
    outcome = B.run_bootstrap(clients, inputs(tmp_path, DELEGATED), "us-east-1", B.Options(check=True))
    assert {r.task.key: r.action for r in outcome.results}["delegated-admin"] == Action.ACTIVATE


def test_a_registration_that_raced_ours_is_no_failure(tmp_path):
    clients = Clients()
    original = clients.organizations.register_delegated_administrator

    def raced(**kwargs: str) -> dict[str, Any]:
        clients.organizations.admins.setdefault(STACKSETS, []).append(kwargs["AccountId"])
        return original(**kwargs)

    clients.organizations.register_delegated_administrator = raced  # type: ignore[method-assign]
    outcome = B.run_bootstrap(clients, inputs(tmp_path, DELEGATED), "us-east-1", B.Options())
    registration = outcome.results[1]
    assert registration.status == Status.UPDATED and registration.details == ["it was registered meanwhile"]
    assert not outcome.failed

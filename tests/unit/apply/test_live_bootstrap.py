"""verify: live for what the bootstrap deploys, over a fake CloudFormation and a fake IAM per account: the
management account's plain stacks (base Operator) and the deployer StackSet's instance in every member
account (StackSetOperator), and the bootstrap's whole run (usecases/bootstrap.py)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.apply.engine import Engine
from ansible_collections.orgiam.aws.plugins.module_utils.apply.operators import Context, evaluated_template, not_verified
from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import AwsSettings
from ansible_collections.orgiam.aws.plugins.module_utils.model import Action, Status, Task
from ansible_collections.orgiam.aws.plugins.module_utils.plan.drift import expected_state
from ansible_collections.orgiam.aws.plugins.module_utils.render.common import stack_tags
from ansible_collections.orgiam.aws.plugins.module_utils.usecases import bootstrap as B
from tests.fakes import FakeTime, client_error
from tests.unit.apply.fake_iam import FakeIam, LiveClients
from tests.unit.bootstrap_org import DEPLOYMENTS, LEGACY, MANAGEMENT, PROD, ROOT, SECURITY, facts, inputs, tasks
from tests.unit.usecases.test_bootstrap import ORG, FakeOrganizations

ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
WIDE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
NAMES = {a.id: a.name for a in facts().accounts}


def made_by_cloudformation(clients: LiveClients, task: Task, account: str, body: str | None = None,
                           parameters: dict[str, str] | None = None) -> FakeIam:
    """The IAM resources the task's template makes in ``account``, as CloudFormation would."""
    template = evaluated_template(body or task.desired.body, task.desired.parameters if parameters is None else parameters,
                                  account, task.region, "aws", "test")
    return clients.iam(account).deploy(expected_state(template, account))


def with_reader(clients: LiveClients, task: Task, hash_tag: str | None = None) -> FakeIam:
    """The organization reader's stack (and role) in the management account, as the bootstrap deployed it."""
    clients.cfn(MANAGEMENT).add_stack(task.name, tags=stack_tags(task.stack_kind, hash_tag or task.desired.hash),
                                      body=task.desired.body, parameters=task.desired.parameters)
    return made_by_cloudformation(clients, task, MANAGEMENT)


def with_stack_set(clients: LiveClients, task: Task, accounts: list[str], hash_tag: str | None = None) -> None:
    """The deployer StackSet with a current instance (and its role) in each of ``accounts``."""
    cfn = clients.cfn(MANAGEMENT)
    cfn.stack_sets[task.name] = {
        "StackSetName": task.name, "Status": "ACTIVE", "PermissionModel": "SERVICE_MANAGED",
        "Tags": stack_tags(task.stack_kind, hash_tag or task.desired.hash),
        "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
        "OrganizationalUnitIds": [ROOT], "Regions": ["us-east-1"], "TemplateBody": task.desired.body,
        "Parameters": [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(task.desired.parameters.items())],
    }
    cfn.members = list(accounts)
    cfn.instances = [{"Account": a, "Region": "us-east-1", "Status": "CURRENT", "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}}
                     for a in accounts]
    for account in accounts:
        made_by_cloudformation(clients, task, account)


def engine(clients: LiveClients, verify: str = "live", **context: Any) -> Engine:
    return Engine(Context(clients, verify=verify, live_stack_kinds=B.LIVE_STACK_KINDS, account_names=NAMES,
                          clock=FakeTime().clock, **context))


def trust(iam: FakeIam, role: str) -> dict[str, Any]:
    return iam.roles[role]["Role"]["AssumeRolePolicyDocument"]


# --- a plain stack: the organization reader -------------------------------------------------------------


def test_a_plain_stack_changed_by_hand_is_planned_as_a_repair_then_put_back(tmp_path):
    task, clients = tasks(tmp_path)["organization-reader"], LiveClients()
    iam = with_reader(clients, task)
    deployed = json.loads(json.dumps(trust(iam, "orgiam-organization-reader")))
    trust(iam, "orgiam-organization-reader")["Statement"][0]["Principal"] = {"AWS": "arn:aws:iam::999999999999:root"}

    result = engine(clients, check=True, diff=True).plan(task)
    assert (result.action, result.status) == (Action.REPAIR, Status.PLANNED), result.error
    assert result.reason == "1 change(s) made by hand to what orgiam owns: put back"
    assert [(d["name"], d["property"]) for d in result.drift] == [("orgiam-organization-reader", "AssumeRolePolicyDocument")]
    assert result.plan == [result.drift[0]["line"]] and "999999999999" in result.plan[0]
    assert result.diff and result.diff["before_header"] == "Management: stack orgiam-organization-reader, changed by hand (deployed)"
    assert clients.writes() == [] and clients.iam_writes() == {}
    # the deployed template is read as text with the stack's parameters, then evaluated for the account
    assert clients.cfn(MANAGEMENT).calls == ["DescribeStacks", "GetTemplate", "DescribeStacks"]

    engine(clients).apply(result)
    assert result.status == Status.REPAIRED and result.repairs == ["iam:UpdateAssumeRolePolicy orgiam-organization-reader"]
    assert trust(iam, "orgiam-organization-reader") == deployed and clients.writes() == []
    assert engine(clients).plan(task).action == Action.NOOP


def test_the_fast_path_reads_no_iam_at_all(tmp_path):
    task, clients = tasks(tmp_path)["organization-reader"], LiveClients()
    iam = with_reader(clients, task)
    iam.roles["orgiam-organization-reader"]["attached"].append(ADMIN)
    result = engine(clients, verify="tags").plan(task)
    assert result.action == Action.NOOP and iam.calls == [] and clients.cfn(MANAGEMENT).calls == ["DescribeStacks"]


def test_a_stack_that_live_verification_does_not_cover_says_so(tmp_path):
    task, clients = tasks(tmp_path)["organization-reader"], LiveClients()
    task = dataclasses.replace(task, stack_kind="bootstrap-pipeline")
    iam = with_reader(clients, task)
    result = engine(clients).plan(task)
    assert result.action == Action.NOOP and iam.calls == []
    assert result.details == ["not verified live: found up to date by its template hash tag only "
                              "(live verification covers the IAM resources of orgiam's own templates)"]


def test_an_update_puts_back_afterwards_what_the_new_template_does_not_change(tmp_path):
    task, clients = tasks(tmp_path)["organization-reader"], LiveClients()
    iam = with_reader(clients, task, hash_tag="old-hash")
    iam.roles["orgiam-organization-reader"]["attached"].append(ADMIN)
    result = engine(clients).plan(task)
    assert result.action == Action.UPDATE
    assert result.reason.endswith("; and 1 change(s) made by hand to what orgiam owns, put back after it")
    engine(clients).apply(result)
    assert result.status == Status.UPDATED and clients.writes() == ["UpdateStack orgiam-organization-reader"]
    assert result.repairs == [f"iam:DetachRolePolicy orgiam-organization-reader {ADMIN}"]
    assert iam.roles["orgiam-organization-reader"]["attached"] == []


def test_a_central_management_accounts_deployer_is_compared_with_the_central_policy_it_holds_there(tmp_path):
    checked = inputs(tmp_path)
    settings = dataclasses.replace(checked.catalog.settings, central_account="Management")
    checked = dataclasses.replace(checked, catalog=dataclasses.replace(checked.catalog, settings=settings))
    placement = B.check_organization(checked, facts(), "us-east-1")
    task = {t.key: t for t in B.bootstrap_tasks(checked, facts(), placement, "us-east-1")}["management-deployer"]
    clients = LiveClients()
    clients.cfn(MANAGEMENT).add_stack(task.name, tags=stack_tags(task.stack_kind, task.desired.hash), body=task.desired.body,
                                      parameters=task.desired.parameters)
    iam = made_by_cloudformation(clients, task, MANAGEMENT)
    central_policy = f"arn:aws:iam::{MANAGEMENT}:policy/orgiam/orgiam-deployer-central"
    planner_policy = f"arn:aws:iam::{MANAGEMENT}:policy/orgiam/orgiam-planner-central"
    # in the management account, the organization policies' permissions too
    deploy_policies = f"arn:aws:iam::{MANAGEMENT}:policy/orgiam/orgiam-deployer-organization-policies"
    plan_policies = f"arn:aws:iam::{MANAGEMENT}:policy/orgiam/orgiam-planner-organization-policies"
    assert set(iam.policies) == {central_policy, planner_policy, deploy_policies, plan_policies}
    assert sorted(iam.roles["orgiam-deployer"]["attached"]) == sorted([central_policy, deploy_policies])
    assert sorted(iam.roles["orgiam-planner"]["attached"]) == sorted([planner_policy, plan_policies])
    assert engine(clients).plan(task).action == Action.NOOP

    iam.roles["orgiam-deployer"]["attached"] = []
    result = engine(clients).plan(task)
    assert result.action == Action.REPAIR
    assert [(d["name"], d["property"], d["before"], d["after"]) for d in result.drift] == [
        ("orgiam-deployer-central", "Roles", [], ["orgiam-deployer"]),
        ("orgiam-deployer-organization-policies", "Roles", [], ["orgiam-deployer"])]
    engine(clients).apply(result)
    assert result.status == Status.REPAIRED
    assert sorted(iam.roles["orgiam-deployer"]["attached"]) == sorted([central_policy, deploy_policies])


# --- the StackSet's instances ---------------------------------------------------------------------------


def test_every_instance_is_compared_with_the_template_as_evaluated_in_its_account(tmp_path):
    task, clients = tasks(tmp_path)["deployer-stackset"], LiveClients()
    with_stack_set(clients, task, [SECURITY, PROD])
    assert set(clients.iam(SECURITY).policies) == {f"arn:aws:iam::{SECURITY}:policy/orgiam/orgiam-deployer-central",
                                                   f"arn:aws:iam::{SECURITY}:policy/orgiam/orgiam-planner-central"}
    assert clients.iam(PROD).policies == {}
    for iam in clients.iams.values():
        iam.calls.clear()
    result = engine(clients).plan(task)
    assert (result.action, result.drift, result.status) == (Action.NOOP, [], Status.UNCHANGED)
    assert result.details == ["2 stack instance(s), all current",
                              "live: the deployer role read in 2 account(s) (22 API calls there); nothing changed by hand"]
    # a member account, for the deployer and the planner: the role, its attached and inline policies, the one inline
    # policy; the central one also each one's central policy
    assert clients.iam(PROD).calls == ["GetRole", "ListAttachedRolePolicies", "ListRolePolicies", "GetRolePolicy"] * 2
    assert len(clients.iam(SECURITY).calls) == 14 and clients.iam_writes() == {}
    assert clients.cfn(MANAGEMENT).calls.count("ListStackInstances") == 2  # the summary, and the accounts to verify


def test_drift_in_a_member_account_is_a_repair_listed_by_account_and_put_back_there(tmp_path):
    task, clients = tasks(tmp_path)["deployer-stackset"], LiveClients()
    with_stack_set(clients, task, [SECURITY, DEPLOYMENTS, PROD])
    prod = clients.iam(PROD)
    deploy_policy = json.loads(json.dumps(prod.roles["orgiam-deployer"]["inline"]["orgiam-deploy"]))
    prod.roles["orgiam-deployer"]["attached"].append(ADMIN)
    prod.roles["orgiam-deployer"]["inline"]["orgiam-deploy"] = WIDE

    result = engine(clients, check=True, diff=True).plan(task)
    assert (result.action, result.status) == (Action.REPAIR, Status.PLANNED)
    assert result.reason == "2 change(s) made by hand to the deployer role in 1 account(s): put back"
    assert [(d["account_id"], d["account_name"], d["property"]) for d in result.drift] == [
        (PROD, "Payments Prod", "ManagedPolicyArns"), (PROD, "Payments Prod", "Policies")]
    assert all(line.startswith("Payments Prod (444444444444): ~ AWS::IAM::Role orgiam-deployer: ") for line in result.plan)
    assert result.observed["drift"] and result.diff["before_header"].startswith("Management: stackset orgiam-deployer, changed by hand")
    assert clients.writes() == [] and clients.iam_writes() == {}

    engine(clients).apply(result)
    assert result.status == Status.REPAIRED and clients.writes() == []
    assert result.repairs == [f"Payments Prod (444444444444): iam:DetachRolePolicy orgiam-deployer {ADMIN}",
                              "Payments Prod (444444444444): iam:PutRolePolicy orgiam-deployer orgiam-deploy"]
    assert prod.roles["orgiam-deployer"]["attached"] == [] and prod.roles["orgiam-deployer"]["inline"]["orgiam-deploy"] == deploy_policy
    assert clients.iam_writes() == {PROD: ["DetachRolePolicy", "PutRolePolicy"]}
    assert engine(clients).plan(task).action == Action.NOOP


def test_one_accounts_failed_repair_stops_no_other_and_fails_the_step_at_the_end(tmp_path):
    task, clients = tasks(tmp_path)["deployer-stackset"], LiveClients()
    with_stack_set(clients, task, [SECURITY, DEPLOYMENTS, PROD])
    for account in (DEPLOYMENTS, PROD):
        clients.iam(account).roles["orgiam-deployer"]["attached"].append(ADMIN)
    clients.iam(PROD).failures["DetachRolePolicy"] = client_error("AccessDenied", "an SCP denies iam:DetachRolePolicy")
    result = engine(clients).plan(task)
    assert result.action == Action.REPAIR
    engine(clients).apply(result)
    assert (result.status, result.error_code) == (Status.FAILED, "RepairFailed")
    assert "could not be put back in 1 account(s): Payments Prod (444444444444): iam:DetachRolePolicy orgiam-deployer" in result.error
    assert "! not put back: Payments Prod (444444444444): iam:DetachRolePolicy orgiam-deployer: AccessDenied" in result.details[-1]
    assert clients.iam(DEPLOYMENTS).roles["orgiam-deployer"]["attached"] == []  # the other account was put back
    assert result.repairs == [f"Deployments (333333333333): iam:DetachRolePolicy orgiam-deployer {ADMIN}"]


def test_an_update_of_the_stack_set_then_puts_back_what_it_left(tmp_path):
    task, clients = tasks(tmp_path)["deployer-stackset"], LiveClients()
    with_stack_set(clients, task, [SECURITY, PROD], hash_tag="old-hash")
    clients.iam(PROD).roles["orgiam-deployer"]["attached"].append(ADMIN)
    result = engine(clients).plan(task)
    assert result.action == Action.UPDATE
    assert result.reason.endswith("; and 1 change(s) made by hand to the deployer role in 1 account(s), put back after it")
    engine(clients).apply(result)
    assert result.status == Status.UPDATED and clients.writes() == ["UpdateStackSet orgiam-deployer"]
    assert result.repairs == [f"Payments Prod (444444444444): iam:DetachRolePolicy orgiam-deployer {ADMIN}"]


def test_accounts_that_cannot_be_read_or_are_not_active_are_said_and_the_others_verified(tmp_path):
    task, clients = tasks(tmp_path)["deployer-stackset"], LiveClients()
    with_stack_set(clients, task, [SECURITY, PROD, LEGACY])
    clients.iam(SECURITY).roles["orgiam-deployer"]["attached"].append(ADMIN)
    clients.unreachable = {PROD, LEGACY}
    result = engine(clients, inactive_accounts=frozenset({LEGACY})).plan(task)
    assert result.action == Action.REPAIR and {d["account_id"] for d in result.drift} == {SECURITY}
    assert not_verified(result.state) == ((PROD, f"AccessDenied: User is not authorized to perform: sts:AssumeRole on "
                                                 f"arn:aws:iam::{PROD}:role/OrganizationAccountAccessRole"),)
    assert f"! not verified: Payments Prod ({PROD}): AccessDenied" in result.details[2]
    assert result.details[3] == f"not verified: 1 account(s) that are not ACTIVE: Legacy App ({LEGACY})"


@pytest.mark.parametrize("verify", ["tags", "live"])
def test_a_stack_set_orgiam_did_not_make_is_refused_before_any_account_is_read(tmp_path, verify):
    task, clients = tasks(tmp_path)["deployer-stackset"], LiveClients()
    with_stack_set(clients, task, [PROD])
    clients.cfn(MANAGEMENT).stack_sets[task.name]["Tags"] = []
    clients.iam(PROD).calls.clear()
    result = engine(clients, verify=verify).plan(task)
    assert (result.status, result.error_code) == (Status.FAILED, "NotOrgiamStack") and clients.iam(PROD).calls == []


# --- the bootstrap's run --------------------------------------------------------------------------------


def bootstrapped(tmp_path) -> tuple[LiveClients, B.Inputs]:
    """An organization bootstrapped (verify: tags), with the roles CloudFormation made in every account."""
    clients = LiveClients(MANAGEMENT, "us-east-1", services={"organizations": FakeOrganizations(ORG)})
    clients.cfn(MANAGEMENT).access = False
    clients.cfn(MANAGEMENT).members = [SECURITY, DEPLOYMENTS, PROD]
    checked = inputs(tmp_path)
    first = B.run_bootstrap(clients, checked, "us-east-1", B.Options())
    assert not first.failed, [r.error for r in first.results]
    for result in first.results:
        if result.task.key == "deployer-stackset":
            for account in (SECURITY, DEPLOYMENTS, PROD):
                made_by_cloudformation(clients, result.task, account)
        elif result.task.key == "organization-reader":
            made_by_cloudformation(clients, result.task, MANAGEMENT)
    return clients, checked


def test_a_live_check_lists_every_change_by_hand_under_its_step_and_writes_nothing(tmp_path):
    clients, checked = bootstrapped(tmp_path)
    writes = clients.writes()
    clients.iam(PROD).roles["orgiam-deployer"]["attached"].append(ADMIN)
    clients.iam(MANAGEMENT).roles["orgiam-organization-reader"]["Role"]["MaxSessionDuration"] = 43200
    outcome = B.run_bootstrap(clients, checked, "us-east-1", B.Options(check=True, verify="live"))
    assert clients.writes() == writes and clients.iam_writes() == {}
    assert [r.action for r in outcome.results] == [Action.NOOP, Action.REPAIR, Action.REPAIR, Action.NOOP]
    lines = B.plan_lines(outcome)
    assert (f"    changed by hand: Payments Prod ({PROD}): ~ AWS::IAM::Role orgiam-deployer: ManagedPolicyArns: "
            f'["{ADMIN}"] -> []') in lines
    assert "    changed by hand: ~ AWS::IAM::Role orgiam-organization-reader: MaxSessionDuration: 43200 -> 3600" in lines
    steps = {s["key"]: s for s in outcome.to_dict()["steps"]}
    assert outcome.to_dict()["verify"] == "live"
    assert [(d["account_id"], d["name"]) for d in steps["deployer-stackset"]["drift"]] == [(PROD, "orgiam-deployer")]
    assert [(d["account_id"], d["account_name"]) for d in steps["organization-reader"]["drift"]] == [(MANAGEMENT, "Management")]
    assert B.summary_line(outcome).endswith("; verified live, changed by hand: 2")

    applied = B.run_bootstrap(clients, checked, "us-east-1", B.Options(verify="live"))
    assert [r.status for r in applied.results] == [Status.UNCHANGED, Status.REPAIRED, Status.REPAIRED, Status.UNCHANGED]
    assert clients.writes() == writes and clients.iam_writes() == {PROD: ["DetachRolePolicy"], MANAGEMENT: ["UpdateRole"]}
    assert any(line.startswith("    put back: Payments Prod") for line in B.plan_lines(applied))
    again = B.run_bootstrap(clients, checked, "us-east-1", B.Options(check=True, verify="live"))
    assert not again.changed and all(r.drift == [] for r in again.results)


def test_an_account_that_cannot_be_read_fails_the_stack_sets_step_after_the_others_ran(tmp_path):
    clients, checked = bootstrapped(tmp_path)
    clients.unreachable = {PROD}
    clients.iam(MANAGEMENT).roles["orgiam-organization-reader"]["Role"]["MaxSessionDuration"] = 43200
    check = B.run_bootstrap(clients, checked, "us-east-1", B.Options(check=True, verify="live"))
    assert [r.status for r in check.results] == [Status.UNCHANGED, Status.FAILED, Status.PLANNED, Status.UNCHANGED]
    stack_set = check.results[1]
    assert stack_set.error_code == "NotVerified" and f"could not read 1 account(s): Payments Prod ({PROD}): AccessDenied" in stack_set.error
    assert any("-> failed (stackset orgiam-deployer: live verification could not read" in line for line in B.plan_lines(check))

    applied = B.run_bootstrap(clients, checked, "us-east-1", B.Options(verify="live"))
    assert [r.status for r in applied.results] == [Status.UNCHANGED, Status.FAILED, Status.REPAIRED, Status.UNCHANGED]
    assert clients.iam(MANAGEMENT).roles["orgiam-organization-reader"]["Role"]["MaxSessionDuration"] == 3600


def test_a_failed_repair_in_a_member_account_does_not_stop_the_management_accounts_steps(tmp_path):
    clients, checked = bootstrapped(tmp_path)
    clients.iam(PROD).roles["orgiam-deployer"]["attached"].append(ADMIN)
    clients.iam(PROD).failures["DetachRolePolicy"] = client_error("AccessDenied", "no")
    clients.iam(MANAGEMENT).roles["orgiam-organization-reader"]["attached"].append(ADMIN)
    applied = B.run_bootstrap(clients, checked, "us-east-1", B.Options(verify="live"))
    assert [r.status for r in applied.results] == [Status.UNCHANGED, Status.FAILED, Status.REPAIRED, Status.UNCHANGED]
    assert applied.results[1].error_code == "RepairFailed" and not applied.to_dict()["ok"]


def test_an_unknown_verify_mode_is_an_input_error(tmp_path):
    with pytest.raises(B.BootstrapInputError, match="verify must be one of tags, live"):
        B.run_bootstrap(LiveClients(), inputs(tmp_path), "us-east-1", B.Options(verify="sometimes"))


def test_the_management_account_is_reached_with_the_callers_own_credentials(tmp_path):
    # Organizations makes no access role in the management account: AwsClients uses the caller's own credentials
    # for the account its settings name as the management account, which the bootstrap learns from Organizations
    clients, checked = bootstrapped(tmp_path)
    clients.settings = AwsSettings()
    B.run_bootstrap(clients, checked, "us-east-1", B.Options(check=True, verify="live"))
    assert clients.settings.management_account_id == MANAGEMENT

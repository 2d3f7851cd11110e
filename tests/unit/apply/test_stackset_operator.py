"""Bootstrap's stack set and StackSets' trusted access as engine tasks: what a deployed stack set needs,
and what applying it writes, over a fake CloudFormation."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.apply.engine import Engine
from ansible_collections.orgiam.aws.plugins.module_utils.apply.operators import Context
from ansible_collections.orgiam.aws.plugins.module_utils.model import Action, Status, Task
from ansible_collections.orgiam.aws.plugins.module_utils.render.common import stack_tags
from tests.fakes import FakeClients, FakeTime
from tests.unit.bootstrap_org import MANAGEMENT, PROD, ROOT, facts, tasks

CURRENT = [{"Account": PROD, "Status": "CURRENT", "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}}]


def stackset_task(tmp_path) -> Task:
    return tasks(tmp_path)["deployer-stackset"]


def deployed(task: Task, **changes: Any) -> dict[str, Any]:
    """The stack set as DescribeStackSet shows it once orgiam deployed ``task``, with ``changes``."""
    data = {"StackSetName": task.name, "Status": "ACTIVE", "PermissionModel": "SERVICE_MANAGED",
            "Tags": stack_tags(task.stack_kind, task.desired.hash or ""),
            "AutoDeployment": {"Enabled": True, "RetainStacksOnAccountRemoval": False},
            "OrganizationalUnitIds": [ROOT], "Regions": ["us-east-1"], "Parameters": [], "TemplateBody": "old"}
    data.update(changes)
    return data


def setup(stack_set: dict[str, Any] | None = None, instances: list[dict[str, Any]] | None = None,
          access: bool = True, time: FakeTime | None = None, **context: Any) -> tuple[FakeClients, Engine]:
    """The management account's CloudFormation holding ``stack_set``; an engine whose waits take no time."""
    clients = FakeClients()
    cfn = clients.cfn(MANAGEMENT)
    if stack_set is not None:
        cfn.stack_sets[stack_set["StackSetName"]] = stack_set
    cfn.instances = list(instances or [])
    cfn.members = [PROD]
    cfn.access = access
    names = {a.id: a.name for a in facts().accounts}
    clock = (time or FakeTime()).clock
    return clients, Engine(Context(clients, account_names=names, clock=clock, **context))


def test_a_new_stack_set_is_created_and_deployed_to_the_root(tmp_path):
    task = stackset_task(tmp_path)
    clients, engine = setup(diff=True)
    result = engine.plan(task)
    assert (result.action, result.deploy_to, result.status, clients.writes()) == (Action.CREATE, (ROOT,), Status.PLANNED, [])
    assert "deploy to r-ab12 (the root: every member account) in us-east-1" in result.reason
    assert result.diff and "orgiam-deployer" in result.diff["after"] and result.diff["before"] == ""
    engine.apply(result)
    assert clients.writes() == ["CreateStackSet orgiam-deployer", "CreateStackInstances orgiam-deployer"]
    create = dict(clients.cfn(MANAGEMENT).requests)["CreateStackSet"]
    assert (create["PermissionModel"], create["AutoDeployment"]) == ("SERVICE_MANAGED", {"Enabled": True, "RetainStacksOnAccountRemoval": False})
    assert create["Tags"] == stack_tags("bootstrap-deployer", task.desired.hash)
    instances = dict(clients.cfn(MANAGEMENT).requests)["CreateStackInstances"]
    assert (instances["DeploymentTargets"], instances["Regions"]) == ({"OrganizationalUnitIds": [ROOT]}, ["us-east-1"])
    assert result.status == Status.CREATED and result.details == ["1 of 1 stack instance(s) current"]


def test_an_up_to_date_stack_set_costs_reads_only(tmp_path):
    task = stackset_task(tmp_path)
    clients, engine = setup(deployed(task), CURRENT)
    result = engine.run(task)
    assert (result.action, result.deploy_to, result.changes_planned) == (Action.NOOP, (), False)
    assert clients.writes() == [] and result.status == Status.UNCHANGED
    assert result.details == ["1 stack instance(s), all current"]
    assert dict(clients.call_log.calls[MANAGEMENT]) == {"cloudformation:DescribeStackSet": 1, "cloudformation:ListStackInstances": 1}


@pytest.mark.parametrize("changes, instances, action, deploy_to, reason", [
    ({"Tags": stack_tags("bootstrap-deployer", "old-hash")}, CURRENT, Action.UPDATE, (), "template or parameters changed"),
    ({"AutoDeployment": {"Enabled": False, "RetainStacksOnAccountRemoval": False}}, CURRENT, Action.UPDATE, (), "auto-deployment"),
    ({}, [{"Account": PROD, "Status": "OUTDATED", "StatusReason": "AccessDenied", "StackInstanceStatus": {"DetailedStatus": "FAILED"}}],
     Action.UPDATE, (), "1 stack instance(s) are not current"),
    ({"OrganizationalUnitIds": []}, CURRENT, Action.DEPLOY, (ROOT,), "deploy to r-ab12"),
    ({"Regions": ["eu-west-1"]}, CURRENT, Action.DEPLOY, (ROOT,), "in us-east-1"),
])
def test_what_a_deployed_stack_set_needs(tmp_path, changes, instances, action, deploy_to, reason):
    task = stackset_task(tmp_path)
    clients, engine = setup(deployed(task, **changes), instances)
    result = engine.plan(task)
    assert (result.action, result.deploy_to) == (action, deploy_to) and reason in result.reason and result.changes_planned
    assert clients.writes() == []


def test_applying_an_update_updates_the_stack_set_and_every_instance(tmp_path):
    task = stackset_task(tmp_path)
    clients, engine = setup(deployed(task, Tags=stack_tags("bootstrap-deployer", "old-hash")), CURRENT)
    result = engine.run(task)
    assert result.status == Status.UPDATED and clients.writes() == ["UpdateStackSet orgiam-deployer"]
    stack_set = clients.cfn(MANAGEMENT).stack_sets["orgiam-deployer"]
    assert stack_set["Tags"] == stack_tags("bootstrap-deployer", task.desired.hash) and stack_set["TemplateBody"] == task.desired.body
    update = dict(clients.cfn(MANAGEMENT).requests)["UpdateStackSet"]
    assert update["OperationPreferences"]["FailureTolerancePercentage"] == 100  # one account's failure stops no other


def test_applying_a_deploy_reaches_the_root_and_leaves_the_stack_set_as_it_is(tmp_path):
    task = stackset_task(tmp_path)
    clients, engine = setup(deployed(task, OrganizationalUnitIds=[]), CURRENT)
    result = engine.run(task)
    assert result.status == Status.UPDATED and clients.writes() == ["CreateStackInstances orgiam-deployer"]
    assert clients.cfn(MANAGEMENT).stack_sets["orgiam-deployer"]["OrganizationalUnitIds"] == [ROOT]


def test_an_update_waits_for_an_operation_already_running(tmp_path):
    task, time = stackset_task(tmp_path), FakeTime()
    clients, engine = setup(deployed(task, Tags=stack_tags("bootstrap-deployer", "old")), CURRENT, time=time)
    cfn = clients.cfn(MANAGEMENT)
    cfn.operations["op-earlier"] = ["RUNNING", "RUNNING", "SUCCEEDED"]
    result = engine.run(task)
    assert result.status == Status.UPDATED and cfn.writes == ["UpdateStackSet"]
    assert cfn.calls.index("UpdateStackSet") > cfn.calls.index("ListStackSetOperations")
    assert time.slept == [2.0, 4.0]  # looked at op-earlier three times before updating


def test_a_stack_set_orgiam_did_not_make_is_refused(tmp_path):
    task = stackset_task(tmp_path)
    clients, engine = setup(deployed(task, Tags=[]))
    result = engine.run(task)
    assert (result.action, result.status, result.error_code) == (Action.REFUSE, Status.FAILED, "NotOrgiamStack")
    assert "orgiam did not create it" in result.error and clients.writes() == []
    clients, engine = setup(deployed(stackset_task(tmp_path), PermissionModel="SELF_MANAGED"))
    result = engine.run(stackset_task(tmp_path))
    assert result.action == Action.REFUSE and "SELF_MANAGED" in result.reason and clients.writes() == []


def test_failed_instances_fail_the_task_naming_each_account(tmp_path):
    task = stackset_task(tmp_path)
    clients, engine = setup(deployed(task, Tags=stack_tags("bootstrap-deployer", "old")), CURRENT)
    result = engine.plan(task)
    clients.cfn(MANAGEMENT).instances = [{"Account": PROD, "Status": "OUTDATED", "StatusReason": "SCP denies iam:CreateRole",
                                          "StackInstanceStatus": {"DetailedStatus": "FAILED"}}]
    engine.apply(result)
    assert result.status == Status.FAILED and result.error_code == "StackInstancesFailed"
    assert "1 account(s) did not get the deployer role: Payments Prod (444444444444): FAILED: SCP denies" in result.error
    assert result.details[-2:] == ["0 of 1 stack instance(s) current", "Payments Prod (444444444444): FAILED: SCP denies iam:CreateRole"]


def test_a_failed_operation_fails_the_task(tmp_path):
    task = stackset_task(tmp_path)
    time = FakeTime()
    clients, engine = setup(deployed(task, Tags=stack_tags("bootstrap-deployer", "old")), CURRENT, time=time)
    cfn = clients.cfn(MANAGEMENT)
    cfn.operation_statuses, cfn.operation_reason = ["RUNNING", "FAILED"], "Failure tolerance exceeded"
    result = engine.run(task)
    assert result.status == Status.FAILED and result.error_code == "StackSetFailed"
    assert "ended FAILED: Failure tolerance exceeded" in result.error and time.slept == [2.0]


def test_an_operation_that_outlasts_the_timeout_fails_the_task_and_goes_on_in_aws(tmp_path):
    task, time = stackset_task(tmp_path), FakeTime()
    clients, engine = setup(deployed(task, Tags=stack_tags("bootstrap-deployer", "old")), CURRENT, time=time, stackset_timeout=60)
    clients.cfn(MANAGEMENT).operation_statuses = ["RUNNING"]
    result = engine.run(task)
    assert result.status == Status.FAILED and result.error_code == "Timeout"
    assert "still RUNNING after 60 s; it goes on in AWS" in result.error
    assert time.slept == [2.0, 4.0, 8.0, 16.0, 30.0] and time.now >= 60


@pytest.mark.parametrize("access, action, status, writes", [
    (False, Action.ACTIVATE, Status.UPDATED, ["ActivateOrganizationsAccess"]),
    (True, Action.NOOP, Status.UNCHANGED, []),
])
def test_trusted_access_is_activated_only_when_off(tmp_path, access, action, status, writes):
    task = tasks(tmp_path)["trusted-access"]
    clients, engine = setup(access=access)
    result = engine.plan(task)
    assert result.action == action and result.changes_planned is (action == Action.ACTIVATE)
    assert result.observed == {"enabled": "true" if access else "false"}
    engine.apply(result)
    assert clients.writes() == writes and result.status == status

"""The engine over a fake CloudFormation: observe, decide, preview, apply, and account for one task;
saved plans applied exactly or refused as stale; waits that take no time."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.apply.engine import Engine
from ansible_collections.orgiam.aws.plugins.module_utils.apply.operators import OPERATORS, Context, Operator
from ansible_collections.orgiam.aws.plugins.module_utils.aws.cloudformation import describe_stack
from ansible_collections.orgiam.aws.plugins.module_utils.model import (
    HASH_TAG,
    NOTHING,
    PLAN_TAG,
    Action,
    Kind,
    PlannedTask,
    Status,
    Task,
    fingerprint,
)
from ansible_collections.orgiam.aws.plugins.module_utils.render.bootstrap import TemplateFile, desired_file
from ansible_collections.orgiam.aws.plugins.module_utils.render.common import desired_template, stack_tags
from tests.fakes import FakeClients, FakeTime, client_error

ACCOUNT = "444444444444"
BODY = "Parameters:\n  Name: {Type: String}\nResources:\n  Topic: {Type: AWS::SNS::Topic, Properties: {TopicName: !Ref Name}}\n"
TEMPLATE = TemplateFile("t.yml", BODY, {"Name": {"Type": "String"}})


def stack_task(name: str = "orgiam-thing", value: str = "one", **more: Any) -> Task:
    """A bootstrap-like stack: a template file with one parameter."""
    return Task("thing", Kind.STACK, ACCOUNT, "Payments Prod", "us-east-1", name, desired=desired_file(TEMPLATE, {"Name": value}),
                stack_kind="bootstrap-thing", **more)


def group_template(*names: str) -> dict[str, Any]:
    return {"Resources": {f"Group{n}": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": n}} for n in names}}


def central_task(*groups: str) -> Task:
    """A stack orgiam renders (previewed resource by resource)."""
    return Task("central", Kind.CENTRAL, ACCOUNT, "Security", "us-east-1", "orgiam-identity",
                desired=desired_template(group_template(*groups)), stack_kind="central")


def setup(time: FakeTime | None = None, **context: Any) -> tuple[FakeClients, Engine]:
    clients = FakeClients()
    return clients, Engine(Context(clients, clock=(time or FakeTime()).clock, **context))


def deploy(clients: FakeClients, task: Task, digest: str | None = None, status: str = "CREATE_COMPLETE", plan_id: str = "") -> dict[str, Any]:
    """The task's stack as orgiam left it (with another hash when ``digest`` says so)."""
    desired = task.desired
    return clients.cfn(ACCOUNT).add_stack(task.name, status, stack_tags(task.stack_kind, digest or desired.hash or "", plan_id),
                                          desired.body or "{}", desired.parameters)


def tags_of(stack: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in stack["Tags"]}


# --- plan and apply -------------------------------------------------------------------------------


def test_a_new_stack_is_created_tagged_and_protected():
    clients, engine = setup()
    task = stack_task()
    result = engine.run(task)
    assert (result.action, result.status, result.reason, result.observed) == (Action.CREATE, Status.CREATED, "new stack", {})
    assert clients.writes() == ["CreateStack orgiam-thing"]
    stack = clients.cfn(ACCOUNT).stacks["orgiam-thing"]
    assert stack["TemplateBody"] == BODY and stack["Parameters"] == [{"ParameterKey": "Name", "ParameterValue": "one"}]
    assert tags_of(stack) == {"orgiam:managed-by": "orgiam", "orgiam:stack-kind": "bootstrap-thing", HASH_TAG: task.desired.hash}
    assert stack["EnableTerminationProtection"]
    assert result.api_calls == 3 and result.state.status == "CREATE_COMPLETE"  # describe, create, describe


def test_an_up_to_date_stack_costs_one_describe_and_no_write():
    clients, engine = setup()
    task = stack_task()
    deploy(clients, task)
    result = engine.run(task)
    assert (result.action, result.status, result.reason) == (Action.NOOP, Status.UNCHANGED, "up to date")
    assert result.api_calls == 1 and dict(clients.call_log.calls[ACCOUNT]) == {"cloudformation:DescribeStacks": 1}
    assert clients.writes() == [] and not result.changed


def test_a_changed_template_updates_the_stack():
    clients, engine = setup()
    deploy(clients, stack_task(value="old"))
    task = stack_task(value="new")
    result = engine.run(task)
    assert (result.action, result.status) == (Action.UPDATE, Status.UPDATED) and clients.writes() == ["UpdateStack orgiam-thing"]
    stack = clients.cfn(ACCOUNT).stacks["orgiam-thing"]
    assert stack["Parameters"] == [{"ParameterKey": "Name", "ParameterValue": "new"}] and tags_of(stack)[HASH_TAG] == task.desired.hash


def test_a_stack_orgiam_did_not_make_is_refused_and_left_alone():
    clients, engine = setup()
    clients.cfn(ACCOUNT).add_stack("orgiam-thing", tags={"team": "payments"})
    result = engine.run(stack_task())
    assert (result.action, result.status, result.error_code) == (Action.REFUSE, Status.FAILED, "NotOrgiamStack")
    assert "orgiam did not create it" in result.error and clients.writes() == []


def test_a_stack_whose_create_failed_is_deleted_and_created_again():
    clients, engine = setup()
    task = stack_task()
    deploy(clients, task, status="ROLLBACK_COMPLETE")
    result = engine.run(task)
    assert (result.action, result.status) == (Action.RECREATE, Status.CREATED)
    assert clients.writes() == ["UpdateTerminationProtection orgiam-thing", "DeleteStack orgiam-thing", "CreateStack orgiam-thing"]


def test_a_failed_rollback_is_continued_then_updated():
    clients, engine = setup()
    deploy(clients, stack_task(value="old"), status="UPDATE_ROLLBACK_FAILED")
    result = engine.run(stack_task(value="new"))
    assert (result.action, result.status) == (Action.CONTINUE_AND_UPDATE, Status.UPDATED)
    assert clients.writes() == ["ContinueUpdateRollback orgiam-thing", "UpdateStack orgiam-thing"]


@pytest.mark.parametrize("prune, action, status, writes", [
    ("plan", Action.RETAIN, Status.RETAINED, []),
    ("apply", Action.DELETE, Status.DELETED, ["UpdateTerminationProtection orgiam-thing", "DeleteStack orgiam-thing"]),
])
def test_a_stack_no_longer_wanted_is_deleted_only_when_prune_is_apply(prune, action, status, writes):
    clients, engine = setup(prune=prune)
    deploy(clients, stack_task())
    unwanted = stack_task()
    unwanted.desired = NOTHING
    result = engine.run(unwanted)
    assert (result.action, result.status, clients.writes()) == (action, status, writes)
    assert ("orgiam-thing" in clients.cfn(ACCOUNT).stacks) is (action == Action.RETAIN)


# --- check mode -----------------------------------------------------------------------------------


def test_check_mode_writes_nothing_for_a_create_a_delete_or_a_file_stacks_update():
    clients, engine = setup(check=True, diff=True, prune="apply")
    created = engine.run(stack_task("orgiam-new"))
    deploy(clients, stack_task("orgiam-gone"))
    deleted = engine.run(Task("gone", Kind.STACK, ACCOUNT, "Payments Prod", "us-east-1", "orgiam-gone", stack_kind="bootstrap-thing"))
    deploy(clients, stack_task("orgiam-old", value="old"))
    updated = engine.run(stack_task("orgiam-old", value="new"))
    assert [(r.action, r.status) for r in (created, deleted, updated)] == [
        (Action.CREATE, Status.PLANNED), (Action.DELETE, Status.PLANNED), (Action.UPDATE, Status.PLANNED)]
    assert clients.writes() == [] and all(r.changed for r in (created, deleted, updated))
    assert "Name: old" in updated.diff["before"] and "Name: new" in updated.diff["after"]
    assert created.diff["before"] == "" and deleted.diff["after"] == ""
    assert set(clients.cfn(ACCOUNT).stacks) == {"orgiam-gone", "orgiam-old"}


def test_check_mode_previews_a_rendered_update_with_a_change_set_it_deletes_again():
    clients, engine = setup(check=True)
    deploy(clients, central_task("Admins"))
    result = engine.run(central_task("Admins", "Auditors"))
    assert (result.action, result.status) == (Action.UPDATE, Status.PLANNED)
    assert clients.writes() == ["CreateChangeSet orgiam-identity", "DeleteChangeSet orgiam-identity"]
    assert result.change_set == [{"action": "Add", "logical_id": "GroupAuditors", "type": "AWS::IAM::Group", "replacement": ""}]
    assert result.plan == ["+ AWS::IAM::Group Auditors"] and clients.cfn(ACCOUNT).change_sets == {}
    stack = clients.cfn(ACCOUNT).stacks["orgiam-identity"]
    assert json.loads(stack["TemplateBody"]) == group_template("Admins")  # not executed


def test_without_check_or_diff_an_update_reads_the_deployed_template_only_to_refuse_a_type_change():
    clients, engine = setup()
    deploy(clients, central_task("Admins"))
    engine.run(central_task("Admins", "Auditors"))
    # the central stack: one GetTemplate, so that a resource changing type is refused rather than half-applied
    assert clients.cfn(ACCOUNT).calls == ["DescribeStacks", "GetTemplate", "UpdateStack", "DescribeStacks"]


def test_a_central_resource_changing_type_in_place_is_refused_before_any_write():
    clients, engine = setup()
    deploy(clients, central_task("Admins"))
    retyped = central_task("Admins")
    template = group_template("Admins")
    template["Resources"]["GroupAdmins"] = {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "Admins"}}
    retyped.desired = desired_template(template)
    result = engine.run(retyped)
    assert (result.status, result.error_code) == (Status.FAILED, "ResourceTypeChange")
    assert "GroupAdmins (AWS::IAM::Group -> AWS::IAM::Role)" in result.error and clients.writes() == []


# --- failures stay with their task ----------------------------------------------------------------


def test_an_aws_failure_is_recorded_on_its_result_in_one_line_and_never_raises():
    clients, engine = setup()
    clients.cfn(ACCOUNT).fail("CreateStack", client_error("AccessDenied", "User: arn:aws:sts::1:assumed-role/x is not authorized\n<html>"),
                              name="orgiam-bad")
    failed = engine.run(stack_task("orgiam-bad"))
    assert (failed.status, failed.action, failed.error_code) == (Status.FAILED, Action.CREATE, "AccessDenied")
    assert failed.error == "create stack orgiam-bad: AccessDenied: User: arn:aws:sts::1:assumed-role/x is not authorized"
    assert failed.traceback == "" and not failed.changed
    after = engine.run(stack_task("orgiam-good"))  # the next task goes on
    assert after.status == Status.CREATED and clients.writes() == ["CreateStack orgiam-bad", "CreateStack orgiam-good"]


def test_a_failure_while_observing_is_a_failed_plan_and_apply_leaves_it_alone():
    clients, engine = setup()
    clients.cfn(ACCOUNT).fail("DescribeStacks", client_error("ExpiredToken", "The security token included in the request is expired"))
    result = engine.plan(stack_task())
    assert (result.status, result.error_code) == (Status.FAILED, "ExpiredToken")
    assert engine.apply(result) is result and result.status == Status.FAILED and clients.writes() == []


class Buggy(Operator):
    def decide(self, ctx: Any, cfn: Any, task: Task, state: Any, result: Any) -> Any:
        return {"action": "create"}["reason"]  # a programming error, not an AWS answer


def test_a_bug_is_a_failed_task_that_keeps_its_traceback():
    clients, engine = setup()
    engine.operators = {**OPERATORS, Kind.STACK: Buggy()}
    result = engine.run(stack_task())
    assert (result.status, result.error_code, result.error) == (Status.FAILED, "KeyError", "KeyError: 'reason'")
    assert result.traceback.startswith("Traceback") and "in decide" in result.traceback and "KeyError: 'reason'" in result.traceback
    assert clients.writes() == []


def test_a_stack_that_fails_to_create_names_its_status_and_reason():
    clients, engine = setup()
    cfn = clients.cfn(ACCOUNT)
    original = cfn.create_stack

    def rolled_back(**kwargs: Any) -> dict[str, str]:
        answer = original(**kwargs)
        cfn.stacks[kwargs["StackName"]].update(StackStatus="ROLLBACK_COMPLETE", StackStatusReason="Role already exists")
        return answer

    cfn.create_stack = rolled_back
    result = engine.run(stack_task())
    assert (result.status, result.error_code) == (Status.FAILED, "ROLLBACK_COMPLETE")
    assert result.error == "create stack orgiam-thing ended ROLLBACK_COMPLETE (Role already exists)"


# --- waiting --------------------------------------------------------------------------------------


def test_a_stack_in_progress_is_waited_for_then_decided_again():
    time = FakeTime()
    clients, engine = setup(time)
    deploy(clients, stack_task(value="old"), status="UPDATE_COMPLETE")
    clients.cfn(ACCOUNT).busy["orgiam-thing"] = ["UPDATE_IN_PROGRESS"] * 3
    result = engine.run(stack_task(value="new"))
    assert time.slept == [1.0, 2.0, 4.0]  # settle's first delay, then doubling
    assert (result.action, result.status, result.reason) == (Action.UPDATE, Status.UPDATED, "template or parameters changed")
    assert clients.writes() == ["UpdateStack orgiam-thing"]


def test_a_stack_that_ends_up_to_date_after_the_wait_is_left_alone():
    time = FakeTime()
    clients, engine = setup(time)
    task = stack_task()
    deploy(clients, task)
    clients.cfn(ACCOUNT).busy["orgiam-thing"] = ["UPDATE_IN_PROGRESS"]
    result = engine.run(task)
    assert (result.action, result.status) == (Action.NOOP, Status.UNCHANGED) and time.slept == [1.0] and clients.writes() == []


def test_a_stack_in_progress_past_the_timeout_fails_its_task():
    time = FakeTime()
    clients, engine = setup(time, timeout=30)
    deploy(clients, stack_task(value="old"))
    clients.cfn(ACCOUNT).busy["orgiam-thing"] = ["UPDATE_IN_PROGRESS"] * 100
    result = engine.run(stack_task(value="new"))
    assert (result.status, result.error_code) == (Status.FAILED, "Timeout")
    assert result.error == "stack orgiam-thing still UPDATE_IN_PROGRESS after 30 s" and clients.writes() == []
    assert time.slept == [1.0, 2.0, 4.0, 8.0, 15.0] and time.now >= 30


def test_an_apply_waits_for_its_own_operation_to_end():
    time = FakeTime()
    clients, engine = setup(time)
    clients.cfn(ACCOUNT).in_progress = 2
    result = engine.run(stack_task())
    assert result.status == Status.CREATED and time.slept == [1.0, 2.0]
    assert clients.cfn(ACCOUNT).calls == ["DescribeStacks", "CreateStack", "DescribeStacks", "DescribeStacks", "DescribeStacks"]


# --- saved plans ----------------------------------------------------------------------------------


def planned_update(clients: FakeClients, task: Task) -> PlannedTask:
    """What a saved plan says of ``task``: planned from its stack as it is now, to update it."""
    return PlannedTask(fingerprint(describe_stack(clients.cfn(ACCOUNT), task.name)), Action.UPDATE, "template or parameters changed",
                       task.desired)


def test_a_saved_task_whose_stack_changed_since_the_plan_is_stale_and_nothing_is_written():
    clients, engine = setup(plan_id="plan-1")
    deploy(clients, stack_task(value="old"))
    planned = planned_update(clients, stack_task(value="new"))
    clients.cfn(ACCOUNT).stacks["orgiam-thing"]["Tags"] = stack_tags("bootstrap-thing", "someone-else")  # changed since
    result = engine.run(stack_task(value="new"), planned)
    assert (result.status, result.action) == (Status.STALE, Action.UPDATE) and clients.writes() == []
    assert result.reason.startswith("changed since the plan (CREATE_COMPLETE, hash ") and "hash someone- now" in result.reason
    assert result.reason.endswith("not applied; make a new plan")


def test_a_saved_task_planned_without_a_stack_is_stale_once_one_exists():
    clients, engine = setup(plan_id="plan-1")
    planned = PlannedTask({}, Action.CREATE, "new stack", stack_task().desired)
    deploy(clients, stack_task(value="other"))
    result = engine.run(stack_task(), planned)
    assert result.status == Status.STALE and "(no stack then, CREATE_COMPLETE" in result.reason and clients.writes() == []


def test_a_saved_task_whose_stack_is_as_planned_is_applied_exactly_as_planned():
    clients, engine = setup(plan_id="plan-1")
    deploy(clients, stack_task(value="old"))
    planned = planned_update(clients, stack_task(value="planned"))
    task = stack_task(value="rendered-today")  # what a new render would give: not what was reviewed
    result = engine.run(task, planned)
    assert (result.status, result.action) == (Status.UPDATED, Action.UPDATE) and clients.writes() == ["UpdateStack orgiam-thing"]
    stack = clients.cfn(ACCOUNT).stacks["orgiam-thing"]
    assert stack["Parameters"] == [{"ParameterKey": "Name", "ParameterValue": "planned"}]
    assert tags_of(stack)[HASH_TAG] == planned.desired.hash and tags_of(stack)[PLAN_TAG] == "plan-1"


def test_a_saved_task_in_check_mode_is_planned_not_applied():
    clients, engine = setup(check=True, plan_id="plan-1")
    deploy(clients, stack_task(value="old"))
    result = engine.run(stack_task(value="new"), planned_update(clients, stack_task(value="new")))
    assert result.status == Status.PLANNED and clients.writes() == []


def test_a_saved_task_is_stale_after_any_change_even_one_of_the_same_plan():
    # each task is in one part of a plan: a change since the plan is someone else's (or an earlier apply of it)
    clients, engine = setup(plan_id="plan-1")
    deploy(clients, stack_task(value="old"))
    planned = planned_update(clients, stack_task(value="new"))
    clients.cfn(ACCOUNT).stacks["orgiam-thing"]["Tags"] = stack_tags("bootstrap-thing", "by-plan-1", "plan-1")
    assert engine.run(stack_task(value="new"), planned).status == Status.STALE and clients.writes() == []


def test_a_saved_plan_applies_once():
    clients, engine = setup(plan_id="plan-1")
    deploy(clients, stack_task(value="old"))
    planned = planned_update(clients, stack_task(value="new"))
    assert engine.run(stack_task(value="new"), planned).status == Status.UPDATED
    again = engine.run(stack_task(value="new"), planned)
    assert again.status == Status.STALE and clients.writes() == ["UpdateStack orgiam-thing"]


# --- derived tasks of a saved plan (the central stack) --------------------------------------------


def test_a_derived_task_is_stale_when_its_stack_changed_unless_the_same_plan_changed_it():
    clients, engine = setup(plan_id="plan-1")
    deploy(clients, central_task("Admins"))
    planned_observed = fingerprint(describe_stack(clients.cfn(ACCOUNT), "orgiam-identity"))
    stack = clients.cfn(ACCOUNT).stacks["orgiam-identity"]

    stack["Tags"] = stack_tags("central", "by-hand")
    stale = engine.run_derived(central_task("Admins", "Auditors"), planned_observed, None)
    assert stale.status == Status.STALE and "changed since the plan" in stale.reason and clients.writes() == []

    stack["Tags"] = stack_tags("central", "by-part-2", "plan-1")
    applied = engine.run_derived(central_task("Admins", "Auditors"), planned_observed, None)
    assert applied.status == Status.UPDATED and clients.writes() == ["UpdateStack orgiam-identity"]
    assert tags_of(stack)[PLAN_TAG] == "plan-1"


def test_a_derived_task_as_planned_is_applied_and_says_when_it_differs_from_the_plan():
    clients, engine = setup(plan_id="plan-1")
    deploy(clients, central_task("Admins"))
    planned_observed = fingerprint(describe_stack(clients.cfn(ACCOUNT), "orgiam-identity"))
    planned_hash = central_task("Admins", "Auditors", "Billing").desired.hash
    result = engine.run_derived(central_task("Admins", "Auditors"), planned_observed, planned_hash)
    assert result.status == Status.UPDATED and clients.writes() == ["UpdateStack orgiam-identity"]
    assert any("differs from the plan" in d for d in result.details)
    same = engine.run_derived(central_task("Admins", "Auditors"), fingerprint(describe_stack(clients.cfn(ACCOUNT), "orgiam-identity")),
                              central_task("Admins", "Auditors").desired.hash)
    assert same.status == Status.UNCHANGED and same.details == []


def test_a_derived_task_without_a_planned_state_is_planned_afresh():
    clients, engine = setup(check=True, plan_id="plan-1")
    result = engine.run_derived(central_task("Admins"), None, None)
    assert (result.action, result.status) == (Action.CREATE, Status.PLANNED) and clients.writes() == []


# --- transient failures: the task runs again from its observation -----------------------------------


def test_a_task_failing_on_a_transient_error_runs_again_and_is_not_done_twice():
    time = FakeTime()
    clients, engine = setup(time, retry_pause=5.0)
    cfn = clients.cfn(ACCOUNT)
    # the create went through, but its answer never came: a dropped connection, past botocore's retries
    original = cfn.create_stack

    def create_then_drop(**kwargs: Any) -> Any:
        cfn.create_stack = original
        original(**kwargs)
        raise client_error("ServiceUnavailable", "the connection dropped", "CreateStack")

    cfn.create_stack = create_then_drop
    result = engine.run(stack_task())
    assert result.status == Status.CREATED and result.details[-1] == "succeeded at attempt 2 of 3"
    assert "whose answer was lost" in result.reason
    assert cfn.writes.count("CreateStack") == 1 and time.slept[-1] == 5.0


def test_a_lasting_transient_failure_gives_up_after_the_attempts_and_a_real_error_at_once():
    time = FakeTime()
    clients, engine = setup(time, retry_pause=5.0)
    clients.cfn(ACCOUNT).fail("DescribeStacks", client_error("Throttling", "Rate exceeded", "DescribeStacks"))
    result = engine.run(stack_task())
    assert (result.status, result.error_code, result.details[-1]) == (Status.FAILED, "Throttling", "failed 3 times")
    assert time.slept[-2:] == [5.0, 10.0]

    time = FakeTime()
    clients, engine = setup(time)
    clients.cfn(ACCOUNT).fail("DescribeStacks", client_error("AccessDenied", "no", "DescribeStacks"))
    result = engine.run(stack_task())
    assert result.status == Status.FAILED and result.error_code == "AccessDenied" and time.slept == []

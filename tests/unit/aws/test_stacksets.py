"""StackSet operations: waiting for one, and what DescribeStackSet and ListStackInstances say, in plain data."""

from __future__ import annotations

from typing import Any

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.aws import stacksets as S
from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError
from tests.fakes import FakeCfn, FakeTime, client_error


class Operations:
    """DescribeStackSetOperation answering ``statuses`` look after look, the last one for good."""

    def __init__(self, statuses: list[str], reason: str = "") -> None:
        self.statuses, self.reason = statuses, reason

    def describe_stack_set_operation(self, StackSetName: str, OperationId: str) -> dict[str, Any]:
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        return {"StackSetOperation": {"Status": status, "StatusReason": self.reason}}


def test_waiting_for_an_operation_backs_off_and_reports():
    time, seen = FakeTime(), []
    status = S.wait_operation(Operations(["QUEUED", "RUNNING", "RUNNING", "SUCCEEDED"]), "s", "op", 60, time.clock,
                              on_wait=lambda s, waited: seen.append((s, waited)))
    assert status == "SUCCEEDED" and time.slept == [2.0, 4.0, 8.0]
    assert seen == [("QUEUED", 0.0), ("RUNNING", 2.0), ("RUNNING", 6.0)]


def test_a_failed_or_endless_operation_raises():
    with pytest.raises(AwsAccessError, match="ended FAILED: too many failures") as raised:
        S.wait_operation(Operations(["RUNNING", "FAILED"], "too many failures"), "s", "op", 60, FakeTime().clock)
    assert raised.value.code == "StackSetFailed"
    with pytest.raises(AwsAccessError, match="ended STOPPED: see the stack instances") as raised:
        S.wait_operation(Operations(["STOPPED"]), "s", "op", 60, FakeTime().clock)
    assert raised.value.code == "StackSetStopped"
    with pytest.raises(AwsAccessError, match="still RUNNING after 0 s; it goes on in AWS") as raised:
        S.wait_operation(Operations(["RUNNING"]), "s", "op", 0, FakeTime().clock)
    assert raised.value.code == "Timeout"


def test_a_deleted_stack_set_is_no_stack_set():
    cfn = FakeCfn()
    assert S.describe_stack_set(cfn, "x") is None
    cfn.stack_sets["x"] = {"StackSetName": "x", "Status": "DELETED"}
    assert S.describe_stack_set(cfn, "x") is None


def test_a_stack_set_as_plain_data():
    cfn = FakeCfn()
    cfn.stack_sets["x"] = {"StackSetName": "x", "Status": "ACTIVE", "PermissionModel": "SERVICE_MANAGED",
                           "Tags": [{"Key": "orgiam:template-hash", "Value": "h"}], "Parameters": [{"ParameterKey": "A", "ParameterValue": "1"}],
                           "AutoDeployment": {"Enabled": True}, "OrganizationalUnitIds": ["r-2", "r-1"], "Regions": ["us-east-1"]}
    state = S.describe_stack_set(cfn, "x")
    assert (state.parameters, state.ou_ids, state.auto_deployment) == (
        {"A": "1"}, ("r-1", "r-2"), {"Enabled": True, "RetainStacksOnAccountRemoval": False})
    assert (state.as_stack_state().status, state.as_stack_state().template_hash) == ("UPDATE_COMPLETE", "h")


def test_other_errors_are_one_line_with_their_code():
    cfn = FakeCfn()
    cfn.fail("DescribeStackSet", client_error("AccessDeniedException", "not allowed"))
    with pytest.raises(AwsAccessError, match="describe stack set x: AccessDeniedException: not allowed") as raised:
        S.describe_stack_set(cfn, "x")
    assert raised.value.code == "AccessDeniedException"


def test_instances_that_are_not_current_are_named():
    cfn = FakeCfn()
    cfn.instances = [
        {"Account": "1", "Status": "CURRENT", "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}},
        {"Account": "3", "Status": "OUTDATED", "StatusReason": "denied", "StackInstanceStatus": {"DetailedStatus": "FAILED"}},
        {"Account": "2", "Status": "INOPERABLE"},
    ]
    summary = S.instance_summary(cfn, "x")
    assert (summary.total, summary.current) == (3, 1)
    assert summary.lines({"3": "Three"}) == ["2 (2): INOPERABLE", "Three (3): FAILED: denied"]
    assert summary.lines(limit=1) == ["2 (2): INOPERABLE", "... and 1 more"]


def test_a_running_operation_is_found():
    cfn = FakeCfn()
    assert S.running_operation(cfn, "x") is None
    cfn.operations = {"op-1": ["SUCCEEDED"], "op-2": ["QUEUED", "SUCCEEDED"]}
    assert S.running_operation(cfn, "x") == "op-2"

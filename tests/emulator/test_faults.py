"""Fault injection (``emulator.faults``): each kind is injected as AWS would show it, is counted, clears, and
hits the same calls for the same seed.

What botocore raises for each (clients here make one attempt, unless a test is about retries):
    throttle                ClientError Throttling (query) / TooManyRequestsException (Organizations) /
                            ThrottlingException (other JSON services), HTTP 400
    lost_response           ClientError InternalFailure (500) or ServiceUnavailable (503); ConnectionClosedError
    outage                  ConnectionClosedError; ReadTimeoutError ("timeout"); ClientError 503 / "502"
    deny_accounts           ClientError AccessDenied (403) from sts:AssumeRole
    hang_stacks             nothing: DescribeStacks shows *_IN_PROGRESS
    fail_stacks             nothing: the stack ends ROLLBACK_COMPLETE / UPDATE_ROLLBACK_COMPLETE / CREATE_FAILED
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Iterator
from typing import Any

import botocore.endpoint
import pytest
from botocore.client import BaseClient
from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionClosedError, ReadTimeoutError

from emulator import control
from emulator.aws import boto3_session
from emulator.organization import ACCESS_ROLE_NAME
from emulator.server import EmulatorServer
from tests.emulator.conftest import (
    DUMMY,
    REGION,
    AccountSession,
    assume_access_role,
    described,
    error_of,
    management_client,
    template,
    trust,
)

MANAGEMENT_ID = "123456789012"
MANAGEMENT_ROOT = f"arn:aws:iam::{MANAGEMENT_ID}:root"
ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]


@pytest.fixture(autouse=True)
def no_faults_left(emulator: EmulatorServer) -> Iterator[None]:
    """Every test starts and ends without a fault plan: the emulator is shared by the whole session."""
    control.clear_faults(emulator.endpoint_url)
    yield
    control.clear_faults(emulator.endpoint_url)


@pytest.fixture
def member(new_member: AccountSession) -> AccountSession:
    """A new account of this module's organization (conftest's ``new_member``): no reset, no seed."""
    return new_member


@pytest.fixture
def clock(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The emulator's fault clock, set by the test (``clock[0]``): windows in seconds without waiting."""
    now = [1000.0]
    monkeypatch.setattr(emulator.state.faults, "clock", lambda: now[0])
    return now


@pytest.fixture
def retry_delays(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's retries, without their backoff sleeps: each retry's delay is recorded instead."""
    delays: list[float] = []
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=delays.append))
    return delays


def client(account: AccountSession, service: str, config: Config = ONE_ATTEMPT) -> BaseClient:
    return account.session.client(service, endpoint_url=account.endpoint, config=config)


def management(endpoint: str, service: str, config: Config = ONE_ATTEMPT) -> BaseClient:
    """A client in the management account."""
    return boto3_session(region_name=REGION, **DUMMY).client(service, endpoint_url=endpoint, config=config)


def outcome(call: Callable[[], Any]) -> str:
    """"ok", the error code of a ClientError, or the name of the botocore exception."""
    try:
        call()
    except ClientError as error:
        return str(error.response["Error"]["Code"])
    except (ConnectionClosedError, ReadTimeoutError) as error:
        return type(error).__name__
    return "ok"


def role(name: str, **properties: Any) -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {
        "RoleName": name, "Path": "/orgiam/", "AssumeRolePolicyDocument": trust(MANAGEMENT_ROOT), **properties}}


def role_names(account: AccountSession) -> list[str]:
    return sorted(r["RoleName"] for r in account.iam.list_roles(PathPrefix="/orgiam/")["Roles"])


# --- the control path -------------------------------------------------------------------------------


def test_no_plan_is_in_force_and_nothing_is_counted(emulator: EmulatorServer) -> None:
    answer = control.faults(emulator.endpoint_url)
    assert answer["plan"] is None
    assert answer["counts"] == {"throttle": 0, "lost_response": 0, "outage": 0, "deny_accounts": 0,
                                "hang_stacks": 0, "fail_stacks": 0}


def test_the_plan_reads_back_as_taken_with_defaults_and_its_seed(emulator: EmulatorServer) -> None:
    taken = control.set_faults(emulator.endpoint_url, throttle=0.25, deny_accounts=["111122223333"],
                               hang_stacks=[{"account_id": "111122223333", "stack_name": "s", "describes": 2}])
    assert isinstance(taken["seed"], int)  # a random one, shown so that the run can be repeated
    assert taken["throttle"] == {"share": 0.25, "services": [], "operations": [], "accounts": [], "limit": None,
                                 "code": None, "message": None}
    assert taken["deny_accounts"] == ["111122223333"]
    assert taken["hang_stacks"] == [{"account_id": "111122223333", "stack_name": "s", "region": None,
                                     "describes": 2, "seconds": None}]
    assert control.faults(emulator.endpoint_url)["plan"] == taken


@pytest.mark.parametrize(("plan", "reason"), [
    ({"throttel": 0.5}, "unknown field(s) throttel"),
    ({"throttle": 1.5}, "throttle.share must be >= 0.0 and <= 1.0"),
    ({"throttle": {"share": 0.5, "service": ["sts"]}}, "throttle: unknown field(s) service"),
    ({"lost_response": {"response": "explode"}}, "lost_response.response must be one of"),
    ({"outage": {}}, "outage needs exactly one of calls and seconds"),
    ({"deny_accounts": ["12345"]}, "not 12-digit account ids"),
    ({"hang_stacks": [{"account_id": "111122223333", "stack_name": "s"}]}, "exactly one of describes and seconds"),
    ({"fail_stacks": [{"account_id": "111122223333", "stack_name": "s", "operations": ["delete"]}]},
     "fail_stacks[0].operations[] must be one of create, update"),
])
def test_a_bad_plan_is_refused_and_leaves_the_plan_in_force(emulator: EmulatorServer, plan: dict[str, Any],
                                                             reason: str) -> None:
    control.set_faults(emulator.endpoint_url, seed=1, throttle={"services": ["nothing"]})
    with pytest.raises(ValueError, match=reason.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(")
                       .replace(")", r"\)")):
        control.set_faults(emulator.endpoint_url, **plan)
    assert control.faults(emulator.endpoint_url)["plan"]["seed"] == 1


def test_a_reset_clears_the_faults(emulator: EmulatorServer, monkeypatch: pytest.MonkeyPatch) -> None:
    # moto's state stays (the module's organization is shared); the emulator's own state is what is checked
    monkeypatch.setattr("emulator.middleware.reset_moto_state", lambda: None)
    control.set_faults(emulator.endpoint_url, outage={"calls": 5})
    control.reset(emulator.endpoint_url)
    assert control.faults(emulator.endpoint_url)["plan"] is None


# --- throttle ---------------------------------------------------------------------------------------


def test_throttling_answers_the_query_protocols_error_before_anything_happens(member: AccountSession) -> None:
    control.set_faults(member.endpoint, throttle={"accounts": [member.account_id]})
    iam, sts, cloudformation = client(member, "iam"), client(member, "sts"), client(member, "cloudformation")
    for call in (lambda: iam.create_role(RoleName="Throttled", Path="/orgiam/",
                                         AssumeRolePolicyDocument=json.dumps(trust(MANAGEMENT_ROOT))),
                 lambda: sts.get_caller_identity(),
                 lambda: cloudformation.create_stack(StackName="throttled", TemplateBody=template({"R": role("R")}),
                                                     Capabilities=CAPABILITIES)):
        with pytest.raises(ClientError) as throttled:
            call()
        assert error_of(throttled) == ("Throttling", "Rate exceeded")
        assert throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert control.fault_counts(member.endpoint)["throttle"] == 3

    control.clear_faults(member.endpoint)
    assert role_names(member) == []  # nothing happened
    assert not [s for s in member.cloudformation.list_stacks()["StackSummaries"] if s["StackName"] == "throttled"]
    assert control.fault_counts(member.endpoint)["throttle"] == 0


def test_throttling_answers_json_protocols_error(member: AccountSession) -> None:
    organizations = management(member.endpoint, "organizations")
    secrets = client(member, "secretsmanager")
    control.set_faults(member.endpoint, throttle={"services": ["organizations", "secretsmanager"]})
    with pytest.raises(ClientError) as organizations_throttled:
        organizations.list_accounts()
    assert error_of(organizations_throttled) == (
        "TooManyRequestsException", "You have sent too many requests in too short a period of time. Try again later.")
    with pytest.raises(ClientError) as secrets_throttled:
        secrets.create_secret(Name="throttled", SecretString="x")
    assert error_of(secrets_throttled) == ("ThrottlingException", "Rate exceeded")
    assert secrets_throttled.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400

    control.set_faults(member.endpoint, throttle={"services": ["organizations"], "code": "ThrottlingException"})
    with pytest.raises(ClientError) as overridden:
        organizations.list_accounts()
    assert error_of(overridden)[0] == "ThrottlingException"

    control.clear_faults(member.endpoint)
    assert outcome(lambda: secrets.describe_secret(SecretId="throttled")) == "ResourceNotFoundException"
    assert outcome(organizations.list_accounts) == "ok"


def test_throttling_hits_only_the_services_and_operations_named(member: AccountSession) -> None:
    control.set_faults(member.endpoint, throttle={"operations": ["sts:AssumeRole", "ListRoles"]})
    sts = management(member.endpoint, "sts")
    role_arn = f"arn:aws:iam::{member.account_id}:role/{ACCESS_ROLE_NAME}"
    assert outcome(lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="tests")) == "Throttling"
    assert outcome(lambda: client(member, "iam").list_roles()) == "Throttling"
    assert outcome(sts.get_caller_identity) == "ok"
    assert outcome(lambda: client(member, "iam").list_groups()) == "ok"
    assert control.fault_counts(member.endpoint)["throttle"] == 2


def test_a_limit_throttles_only_the_first_calls(member: AccountSession) -> None:
    control.set_faults(member.endpoint, throttle={"operations": ["ListRoles"], "limit": 2})
    iam = client(member, "iam")
    assert [outcome(iam.list_roles) for _ in range(4)] == ["Throttling", "Throttling", "ok", "ok"]
    assert control.fault_counts(member.endpoint)["throttle"] == 2


def test_botocore_retries_a_throttled_call(member: AccountSession, retry_delays: list[float]) -> None:
    control.set_faults(member.endpoint, throttle={"operations": ["ListRoles"], "limit": 2})
    iam = client(member, "iam", Config(retries={"mode": "standard", "total_max_attempts": 3}))
    assert iam.list_roles()["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(retry_delays) == 2
    assert control.fault_counts(member.endpoint)["throttle"] == 2


# --- determinism ------------------------------------------------------------------------------------


def throttled_pattern(account: AccountSession, seed: int, calls: int = 24) -> str:
    control.set_faults(account.endpoint, seed=seed, throttle={"share": 0.5, "operations": ["ListRoles"]})
    iam = client(account, "iam")
    return "".join("T" if outcome(iam.list_roles) == "Throttling" else "." for _ in range(calls))


def test_the_same_seed_hits_the_same_calls(member: AccountSession) -> None:
    first = throttled_pattern(member, seed=7)
    assert throttled_pattern(member, seed=7) == first
    assert 4 <= first.count("T") <= 20  # about half of them
    assert throttled_pattern(member, seed=8) != first


def test_which_calls_are_hit_does_not_depend_on_other_accounts_calls(member: AccountSession) -> None:
    """Concurrent callers interleave differently from run to run: each account's n-th call is hit or not
    whatever the other accounts did meanwhile."""
    other_id = management_client(member.endpoint, "organizations").create_account(
        AccountName="Interleaved", Email="interleaved@test.orgiam.example")["CreateAccountStatus"]["AccountId"]
    other = assume_access_role(member.endpoint, other_id)
    alone = throttled_pattern(member, seed=3, calls=12)
    control.set_faults(member.endpoint, seed=3, throttle={"share": 0.5, "operations": ["ListRoles"]})
    ours, theirs = client(member, "iam"), client(other, "iam")
    interleaved = ""
    for index in range(12):
        for _ in range(index % 3):
            outcome(theirs.list_roles)  # hit or not, it changes nothing for ``member``
        interleaved += "T" if outcome(ours.list_roles) == "Throttling" else "."
    assert interleaved == alone


# --- lost responses ---------------------------------------------------------------------------------


def test_a_lost_response_took_effect_though_the_client_saw_an_error(member: AccountSession) -> None:
    control.set_faults(member.endpoint, lost_response={"operations": ["CreateStack", "UpdateStack"]})
    cloudformation = client(member, "cloudformation")
    with pytest.raises(ClientError) as lost:
        cloudformation.create_stack(StackName="lost", TemplateBody=template({"Lost": role("Lost")}),
                                    Capabilities=CAPABILITIES)
    assert error_of(lost) == ("InternalFailure",
                              "The request processing has failed because of an unknown error, exception or failure.")
    assert lost.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert control.fault_counts(member.endpoint)["lost_response"] == 1

    control.clear_faults(member.endpoint)
    assert described(member.cloudformation, "lost")["StackStatus"] == "CREATE_COMPLETE"
    assert role_names(member) == ["Lost"]


@pytest.mark.parametrize(("response", "seen"), [
    ("internal_error", "InternalFailure"), ("unavailable", "ServiceUnavailable"), ("drop", "ConnectionClosedError"),
])
def test_a_retried_create_meets_its_own_effect(member: AccountSession, retry_delays: list[float], response: str,
                                               seen: str) -> None:
    control.set_faults(member.endpoint, lost_response={"operations": ["CreateStack"], "response": response,
                                                       "limit": 1})
    one_attempt = client(member, "cloudformation")
    assert outcome(lambda: one_attempt.create_stack(StackName="first", TemplateBody=template({"First": role("First")}),
                                                    Capabilities=CAPABILITIES)) == seen

    control.set_faults(member.endpoint, lost_response={"operations": ["CreateStack"], "response": response,
                                                       "limit": 1})
    retrying = client(member, "cloudformation", Config(retries={"mode": "standard", "total_max_attempts": 3}))
    with pytest.raises(ClientError) as again:
        retrying.create_stack(StackName="second", TemplateBody=template({"Second": role("Second")}),
                              Capabilities=CAPABILITIES)
    assert error_of(again)[0] == "AlreadyExistsException"  # the retry: the stack was made by the first attempt
    assert len(retry_delays) == 1
    assert described(member.cloudformation, "second")["StackStatus"] == "CREATE_COMPLETE"
    assert role_names(member) == ["First", "Second"]


def test_an_error_answer_is_not_lost(member: AccountSession) -> None:
    control.set_faults(member.endpoint, lost_response=1.0)
    iam = client(member, "iam")
    assert outcome(lambda: iam.get_role(RoleName="Missing")) == "NoSuchEntity"
    assert control.fault_counts(member.endpoint)["lost_response"] == 0
    assert outcome(iam.list_roles) == "InternalFailure"
    assert control.fault_counts(member.endpoint)["lost_response"] == 1


# --- outage -----------------------------------------------------------------------------------------


def test_an_outage_drops_connections_for_the_next_calls_then_recovers(member: AccountSession) -> None:
    control.set_faults(member.endpoint, outage={"calls": 2})
    iam = client(member, "iam")
    with pytest.raises(ConnectionClosedError):
        iam.list_roles()
    assert control.faults(member.endpoint)["outage"] == {"started": True, "over": False, "calls_left": 1}
    assert [outcome(iam.list_roles) for _ in range(3)] == ["ConnectionClosedError", "ok", "ok"]
    assert control.fault_counts(member.endpoint)["outage"] == 2
    assert control.faults(member.endpoint)["outage"]["over"] is True


def test_an_outage_in_seconds_starts_at_the_first_call(member: AccountSession, clock: list[float]) -> None:
    control.set_faults(member.endpoint, outage={"seconds": 30})
    sts = client(member, "sts")
    clock[0] += 500  # the window starts at the first call, not when the plan is set
    assert outcome(sts.get_caller_identity) == "ConnectionClosedError"
    clock[0] += 29.5
    assert outcome(sts.get_caller_identity) == "ConnectionClosedError"
    assert control.faults(member.endpoint)["outage"]["seconds_left"] == pytest.approx(0.5)
    clock[0] += 0.5
    assert outcome(sts.get_caller_identity) == "ok"
    assert control.fault_counts(member.endpoint)["outage"] == 2


def test_botocore_retries_through_a_short_outage(member: AccountSession, retry_delays: list[float]) -> None:
    control.set_faults(member.endpoint, outage={"calls": 2})
    iam = client(member, "iam", Config(retries={"mode": "standard", "total_max_attempts": 3}))
    assert iam.list_roles()["ResponseMetadata"]["RetryAttempts"] == 2
    assert len(retry_delays) == 2

    control.set_faults(member.endpoint, outage={"calls": 3})
    with pytest.raises(ConnectionClosedError):
        iam.list_roles()  # three attempts, three dropped connections
    assert len(retry_delays) == 4


def test_an_outage_of_some_services_leaves_the_others(member: AccountSession) -> None:
    control.set_faults(member.endpoint, outage={"calls": 5, "services": ["sts"]})
    assert outcome(client(member, "iam").list_roles) == "ok"
    assert outcome(client(member, "sts").get_caller_identity) == "ConnectionClosedError"


@pytest.mark.parametrize(("response", "seen", "status"), [
    ("unavailable", "ServiceUnavailable", 503), ("bad_gateway", "502", 502),
])
def test_an_outage_may_answer_an_http_error(member: AccountSession, response: str, seen: str, status: int) -> None:
    control.set_faults(member.endpoint, outage={"calls": 1, "response": response})
    with pytest.raises(ClientError) as failed:
        client(member, "sts").get_caller_identity()
    assert error_of(failed)[0] == seen
    assert failed.value.response["ResponseMetadata"]["HTTPStatusCode"] == status


def test_an_outage_may_hold_the_connection_until_the_client_times_out(member: AccountSession) -> None:
    control.set_faults(member.endpoint, outage={"calls": 1, "response": "timeout", "hold_seconds": 0.5})
    impatient = client(member, "sts", Config(retries={"total_max_attempts": 1}, read_timeout=0.1))
    with pytest.raises(ReadTimeoutError):
        impatient.get_caller_identity()
    assert outcome(impatient.get_caller_identity) == "ok"


# --- deny_accounts ----------------------------------------------------------------------------------


def test_assume_role_into_a_denied_account_is_access_denied(member: AccountSession) -> None:
    control.set_faults(member.endpoint, deny_accounts=[member.account_id])
    sts = management(member.endpoint, "sts")
    role_arn = f"arn:aws:iam::{member.account_id}:role/{ACCESS_ROLE_NAME}"
    with pytest.raises(ClientError) as denied:
        sts.assume_role(RoleArn=role_arn, RoleSessionName="tests")
    assert error_of(denied) == ("AccessDenied", (f"User: arn:aws:sts::{MANAGEMENT_ID}:user/moto is not authorized "
                                                 f"to perform: sts:AssumeRole on resource: {role_arn}"))
    assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert outcome(client(member, "iam").list_roles) == "ok"  # sessions already in the account still work
    assert control.fault_counts(member.endpoint)["deny_accounts"] == 1

    control.clear_faults(member.endpoint)
    assert sts.assume_role(RoleArn=role_arn, RoleSessionName="tests")["Credentials"]["AccessKeyId"]


# --- hang_stacks ------------------------------------------------------------------------------------


def test_a_hanging_stack_shows_in_progress_for_n_describes(member: AccountSession) -> None:
    control.set_faults(member.endpoint,
                       hang_stacks=[{"account_id": member.account_id, "stack_name": "slow", "describes": 2}])
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="slow", TemplateBody=template({"Slow": role("Slow")}, {"Out": {"Value": "x"}}),
                                Capabilities=CAPABILITIES)
    assert role_names(member) == ["Slow"]  # it happened; only its status is held back
    first, second = described(cloudformation, "slow"), cloudformation.describe_stacks()["Stacks"]
    assert first["StackStatus"] == "CREATE_IN_PROGRESS" and "Outputs" not in first
    assert [s["StackStatus"] for s in second if s["StackName"] == "slow"] == ["CREATE_IN_PROGRESS"]
    assert described(cloudformation, "slow")["StackStatus"] == "CREATE_COMPLETE"
    assert control.fault_counts(member.endpoint)["hang_stacks"] == 2

    cloudformation.update_stack(StackName="slow", TemplateBody=template({"Slow": role("Slow", MaxSessionDuration=7200)}),
                                Capabilities=CAPABILITIES)
    assert described(cloudformation, "slow")["StackStatus"] == "UPDATE_IN_PROGRESS"
    assert control.faults(member.endpoint)["hanging"] == [{
        "account_id": member.account_id, "region": "us-east-1", "stack_name": "slow", "status": "UPDATE_IN_PROGRESS",
        "describes_left": 1, "seconds_left": None}]
    with pytest.raises(ClientError) as refused:
        cloudformation.update_stack(StackName="slow", TemplateBody=template({"Slow": role("Slow")}),
                                    Capabilities=CAPABILITIES)
    assert error_of(refused)[0] == "ValidationError"
    assert error_of(refused)[1].endswith("is in UPDATE_IN_PROGRESS state and can not be updated.")
    assert described(cloudformation, "slow")["StackStatus"] == "UPDATE_IN_PROGRESS"
    assert described(cloudformation, "slow")["StackStatus"] == "UPDATE_COMPLETE"
    assert control.fault_counts(member.endpoint)["hang_stacks"] == 4

    control.clear_faults(member.endpoint)
    cloudformation.update_stack(StackName="slow", TemplateBody=template({"Slow": role("Slow")}), Capabilities=CAPABILITIES)
    assert described(cloudformation, "slow")["StackStatus"] == "UPDATE_COMPLETE"


def test_a_waiter_waits_out_a_hanging_stack(member: AccountSession) -> None:
    control.set_faults(member.endpoint,
                       hang_stacks=[{"account_id": member.account_id, "stack_name": "waited", "describes": 3}])
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="waited", TemplateBody=template({"Waited": role("Waited")}),
                                Capabilities=CAPABILITIES)
    control.clear_calls(member.endpoint)
    cloudformation.get_waiter("stack_create_complete").wait(StackName="waited", WaiterConfig={"Delay": 0})
    describes = [c for c in control.calls(member.endpoint) if c["operation"] == "DescribeStacks"]
    assert len(describes) == 4


def test_a_stack_hangs_for_n_seconds(member: AccountSession, clock: list[float]) -> None:
    control.set_faults(member.endpoint,
                       hang_stacks=[{"account_id": member.account_id, "stack_name": "timed", "seconds": 60}])
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="timed", TemplateBody=template({"Timed": role("Timed")}),
                                Capabilities=CAPABILITIES)
    assert [described(cloudformation, "timed")["StackStatus"] for _ in range(3)] == ["CREATE_IN_PROGRESS"] * 3
    clock[0] += 60
    assert described(cloudformation, "timed")["StackStatus"] == "CREATE_COMPLETE"
    assert control.fault_counts(member.endpoint)["hang_stacks"] == 3


def test_only_the_named_stack_of_the_named_account_hangs(member: AccountSession) -> None:
    control.set_faults(member.endpoint, hang_stacks=[{"account_id": MANAGEMENT_ID, "stack_name": "other",
                                                      "describes": 5}])
    member.cloudformation.create_stack(StackName="other", TemplateBody=template({"Other": role("Other")}),
                                       Capabilities=CAPABILITIES)
    assert described(member.cloudformation, "other")["StackStatus"] == "CREATE_COMPLETE"


# --- fail_stacks ------------------------------------------------------------------------------------


def test_a_failing_create_rolls_back_as_cloudformation_does(member: AccountSession) -> None:
    control.set_faults(member.endpoint, fail_stacks=[{"account_id": member.account_id, "stack_name": "doomed"}])
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="doomed", TemplateBody=template({"Doomed": role("Doomed")}),
                                Capabilities=CAPABILITIES)
    stack = described(cloudformation, "doomed")
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert stack["StackStatusReason"].startswith(
        "The following resource(s) failed to create: [Doomed]. Rollback requested by user.")
    failed = [e for e in cloudformation.describe_stack_events(StackName="doomed")["StackEvents"]
              if e["ResourceStatus"] == "CREATE_FAILED"]
    assert [e["LogicalResourceId"] for e in failed] == ["Doomed"]
    assert failed[0]["ResourceStatusReason"] == (
        'Resource handler returned message: "Internal failure (injected by the emulator\'s fault plan). '
        '(Service: IAM, Error Code: InternalFailure)" (HandlerErrorCode: GeneralServiceException)')
    assert role_names(member) == []

    cloudformation.create_stack(StackName="kept", TemplateBody=template({"Kept": role("Kept")}),
                                Capabilities=CAPABILITIES)  # another stack is not touched
    assert described(cloudformation, "kept")["StackStatus"] == "CREATE_COMPLETE"
    assert control.fault_counts(member.endpoint)["fail_stacks"] == 1


def test_a_failing_create_with_do_nothing_ends_create_failed(member: AccountSession) -> None:
    control.set_faults(member.endpoint, fail_stacks=[{"account_id": member.account_id, "stack_name": "kept-failed",
                                                      "message": "Rate exceeded"}])
    member.cloudformation.create_stack(StackName="kept-failed", TemplateBody=template({"R": role("R")}),
                                       Capabilities=CAPABILITIES, OnFailure="DO_NOTHING")
    stack = described(member.cloudformation, "kept-failed")
    assert stack["StackStatus"] == "CREATE_FAILED"
    assert stack["StackStatusReason"].endswith("R: Rate exceeded (InternalFailure)")


def test_a_failing_update_rolls_back_to_the_previous_template(member: AccountSession) -> None:
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="updated", TemplateBody=template({"Updated": role("Updated")}),
                                Capabilities=CAPABILITIES)
    control.set_faults(member.endpoint, fail_stacks=[{"account_id": member.account_id, "stack_name": "updated",
                                                      "operations": ["update"], "limit": 1}])
    longer = template({"Updated": role("Updated", MaxSessionDuration=7200), "Added": role("Added")})
    cloudformation.update_stack(StackName="updated", TemplateBody=longer, Capabilities=CAPABILITIES)
    stack = described(cloudformation, "updated")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert member.iam.get_role(RoleName="Updated")["Role"]["MaxSessionDuration"] == 3600
    assert role_names(member) == ["Updated"]

    cloudformation.update_stack(StackName="updated", TemplateBody=longer, Capabilities=CAPABILITIES)  # limit reached
    assert described(cloudformation, "updated")["StackStatus"] == "UPDATE_COMPLETE"
    assert role_names(member) == ["Added", "Updated"]
    assert control.fault_counts(member.endpoint)["fail_stacks"] == 1


def test_a_failing_change_set_execution_rolls_back(member: AccountSession) -> None:
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="changed", TemplateBody=template({"Changed": role("Changed")}),
                                Capabilities=CAPABILITIES)
    control.set_faults(member.endpoint, fail_stacks=[{"account_id": member.account_id, "stack_name": "changed"}])
    change_set_id = cloudformation.create_change_set(
        StackName="changed", ChangeSetName="add", ChangeSetType="UPDATE", Capabilities=CAPABILITIES,
        TemplateBody=template({"Changed": role("Changed"), "New": role("New")}))["Id"]
    cloudformation.execute_change_set(ChangeSetName=change_set_id)  # by its ARN alone
    assert described(cloudformation, "changed")["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert cloudformation.describe_change_set(ChangeSetName=change_set_id)["ExecutionStatus"] == "EXECUTE_FAILED"
    assert role_names(member) == ["Changed"]
    assert control.fault_counts(member.endpoint)["fail_stacks"] == 1


# --- together ---------------------------------------------------------------------------------------


def test_faults_combine(member: AccountSession, retry_delays: list[float]) -> None:
    """One plan with a throttled, lost and hanging create: a retrying client sees AlreadyExists and a stack
    that completes after its hang."""
    control.set_faults(member.endpoint, seed=11,
                       throttle={"operations": ["CreateStack"], "limit": 1},
                       lost_response={"operations": ["CreateStack"], "limit": 1},
                       hang_stacks=[{"account_id": member.account_id, "stack_name": "all", "describes": 1}])
    retrying = client(member, "cloudformation", Config(retries={"mode": "standard", "total_max_attempts": 4}))
    assert outcome(lambda: retrying.create_stack(StackName="all", TemplateBody=template({"All": role("All")}),
                                                 Capabilities=CAPABILITIES)) == "AlreadyExistsException"
    assert [described(member.cloudformation, "all")["StackStatus"] for _ in range(2)] == [
        "CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    assert control.fault_counts(member.endpoint) == {"throttle": 1, "lost_response": 1, "outage": 0,
                                                     "deny_accounts": 0, "hang_stacks": 1, "fail_stacks": 0}

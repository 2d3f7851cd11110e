"""The rules' event patterns, as the emulator holds them after deployment, against sample events.

moto does not implement TestEventPattern, so ``tests/cicd/eventpattern.py`` matches (EventBridge's
documented semantics, unit-tested below); moto's own matcher, which decides what moto delivers, is asked
too and must agree.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from moto.events.models import EventPattern, EventPatternParser

from tests.cicd import eventpattern
from tests.cicd.conftest import PIPELINE_ACCOUNT, PIPELINE_REGION, Deployed

MANAGEMENT = "123456789012"  # the demo organization's management account
NEW_ACCOUNT = "444455556666"


def cloudtrail_event(name: str, detail_type: str = "AWS API Call via CloudTrail", account: str = MANAGEMENT,
                     source: str = "aws.organizations", event_source: str = "organizations.amazonaws.com",
                     **detail: Any) -> dict[str, Any]:
    """An event as EventBridge delivers a CloudTrail record (fields as AWS documents them)."""
    body = {
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:alice", "accountId": account,
                         "arn": f"arn:aws:sts::{account}:assumed-role/Admin/alice"},
        "eventTime": "2026-11-23T09:12:44Z",
        "eventSource": event_source,
        "eventName": name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7",
        "userAgent": "aws-cli/2.17.0",
        "requestParameters": None,
        "responseElements": None,
        "requestID": "0b9c8f1e-1111-2222-3333-444455556666",
        "eventID": "5e0d9a44-aaaa-bbbb-cccc-ddddeeeeffff",
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }
    body.update(detail)
    return {
        "version": "0", "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718", "detail-type": detail_type,
        "source": source, "account": account, "time": "2026-11-23T09:12:44Z", "region": "us-east-1",
        "resources": [], "detail": body,
    }


def account_created(state: str = "SUCCEEDED") -> dict[str, Any]:
    return cloudtrail_event(
        "CreateAccountResult", detail_type="AWS Service Event via CloudTrail",
        userIdentity={"accountId": MANAGEMENT, "invokedBy": "AWS Internal"}, sourceIPAddress="AWS Internal",
        userAgent="AWS Internal", eventType="AwsServiceEvent",
        serviceEventDetails={"createAccountStatus": {
            "id": "car-0123456789abcdef0123456789abcdef", "state": state, "accountName": "****",
            "accountId": NEW_ACCOUNT if state == "SUCCEEDED" else None,
            "requestedTimestamp": "Nov 23, 2026 9:10:02 AM", "completedTimestamp": "Nov 23, 2026 9:12:44 AM",
            **({"failureReason": "EMAIL_ALREADY_EXISTS"} if state == "FAILED" else {})}})


def account_invited() -> dict[str, Any]:
    return cloudtrail_event(
        "InviteAccountToOrganization", requestParameters={"target": {"type": "ACCOUNT", "id": NEW_ACCOUNT}},
        responseElements={"handshake": {"id": "h-0123456789abcdef0123456789abcdef", "state": "OPEN",
                                        "action": "INVITE"}})


def handshake_accepted() -> dict[str, Any]:
    return cloudtrail_event("AcceptHandshake", requestParameters={"handshakeId": "h-0123456789abcdef0123456789abcdef"})


def account_moved(**extra: Any) -> dict[str, Any]:
    return cloudtrail_event("MoveAccount", requestParameters={
        "accountId": "083859213707", "sourceParentId": "ou-ab12-11111111", "destinationParentId": "ou-ab12-22222222"},
        **extra)


SHOULD_START = {
    "account created": account_created(),
    "account invited": account_invited(),
    "invitation accepted": handshake_accepted(),
    "account moved": account_moved(),
}
SHOULD_NOT_START = {
    "account creation failed": account_created("FAILED"),
    "account creation requested, not done": cloudtrail_event("CreateAccount", requestParameters={"accountName": "x"}),
    "move refused": account_moved(errorCode="AccessDenied", errorMessage="not authorized"),
    "OU created": cloudtrail_event("CreateOrganizationalUnit", requestParameters={"parentId": "r-ab12", "name": "New"}),
    "account read": cloudtrail_event("DescribeAccount", readOnly=True),
    "EC2 instance started": cloudtrail_event("RunInstances", source="aws.ec2", event_source="ec2.amazonaws.com"),
    "console sign-in": cloudtrail_event("ConsoleLogin", detail_type="AWS Console Sign In via CloudTrail",
                                        source="aws.signin", event_source="signin.amazonaws.com"),
}


def pattern_of(rules: dict[str, Any], name: str) -> dict[str, Any]:
    return json.loads(rules[name]["rule"]["EventPattern"])


def moto_matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    raw = json.dumps(pattern)
    return EventPattern(raw, EventPatternParser(raw).parse()).matches_event(event)


def check(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    eventpattern.validate(pattern)
    ours = eventpattern.matches(pattern, event)
    assert ours == moto_matches(pattern, event), "the two matchers disagree"
    return ours


@pytest.fixture(scope="module")
def organization_patterns(deployed: Deployed) -> dict[str, dict[str, Any]]:
    return {
        "pipeline account": pattern_of(deployed.connections_state["bus_rules"], "orgiam-sync-organization-change"),
        "management account": pattern_of(deployed.management_state["rules"], "orgiam-forward-organization-events"),
    }


@pytest.mark.parametrize("where", ["pipeline account", "management account"])
@pytest.mark.parametrize("case", list(SHOULD_START))
def test_a_created_invited_or_moved_account_starts_the_pipeline(organization_patterns, where: str, case: str):
    assert check(organization_patterns[where], SHOULD_START[case])


@pytest.mark.parametrize("where", ["pipeline account", "management account"])
@pytest.mark.parametrize("case", list(SHOULD_NOT_START))
def test_other_events_do_not(organization_patterns, where: str, case: str):
    assert not check(organization_patterns[where], SHOULD_NOT_START[case])


def test_the_pipeline_account_takes_organizations_events_of_the_management_account_only(organization_patterns):
    moved_elsewhere = account_moved()
    moved_elsewhere["account"] = "999988887777"
    assert not check(organization_patterns["pipeline account"], moved_elsewhere)


def test_the_pipeline_state_rule_tells_of_success_and_failure_of_this_pipeline_only(deployed: Deployed):
    rule = deployed.connections_state["rules"]["orgiam-pipeline-state"]
    pattern = pattern_of(deployed.connections_state["rules"], "orgiam-pipeline-state")

    def state_change(state: str, pipeline: str = "orgiam-sync") -> dict[str, Any]:
        return {"version": "0", "id": "01234567-0123-0123-0123-012345678901",
                "detail-type": "CodePipeline Pipeline Execution State Change", "source": "aws.codepipeline",
                "account": deployed.org.accounts[PIPELINE_ACCOUNT], "time": "2026-11-23T09:30:00Z",
                "region": PIPELINE_REGION, "resources": [f"arn:aws:codepipeline:{PIPELINE_REGION}:1:{pipeline}"],
                "detail": {"pipeline": pipeline, "execution-id": "12345678-1234-1234-1234-123456789012",
                           "state": state, "version": 1.0, "execution-trigger": {"trigger-type": "CloudWatchEvent"}}}

    assert check(pattern, state_change("SUCCEEDED")) and check(pattern, state_change("FAILED"))
    assert not any(check(pattern, state_change(s)) for s in ("STARTED", "STOPPED", "SUPERSEDED"))
    assert not check(pattern, state_change("FAILED", pipeline="someone-elses-pipeline"))
    # what SNS receives: the transformer's template, filled in, is a JSON string with the console link
    transformer = rule["targets"][0]["InputTransformer"]
    event = state_change("FAILED")
    message = transformer["InputTemplate"]
    for name, path in transformer["InputPathsMap"].items():
        value: Any = event
        for part in path.removeprefix("$.").split("."):
            value = value[part]
        message = message.replace(f"<{name}>", str(value))
    text = json.loads(message)
    assert text.startswith("orgiam pipeline orgiam-sync FAILED at 2026-11-23T09:30:00Z")
    assert f"https://{PIPELINE_REGION}.console.aws.amazon.com/codesuite/codepipeline/pipelines/orgiam-sync/executions/" in text


def test_a_commit_to_the_catalog_branch_starts_the_codecommit_pipeline(deployed: Deployed):
    pattern = pattern_of(deployed.codecommit_state["rules"], "orgiam-sync-commit")
    account = deployed.org.accounts["Security"]

    def push(branch: str = "release/iam", kind: str = "branch", repository: str = "org-iam",
             event: str = "referenceUpdated") -> dict[str, Any]:
        return {"version": "0", "id": "1", "detail-type": "CodeCommit Repository State Change",
                "source": "aws.codecommit", "account": account, "time": "2026-11-23T09:00:00Z", "region": "us-east-1",
                "resources": [f"arn:aws:codecommit:us-east-1:{account}:{repository}"],
                "detail": {"event": event, "repositoryName": repository, "referenceType": kind,
                           "referenceName": branch, "commitId": "0123456789abcdef0123456789abcdef01234567"}}

    assert check(pattern, push()) and check(pattern, push(event="referenceCreated"))
    assert not check(pattern, push(branch="main"))
    assert not check(pattern, push(kind="tag"))
    assert not check(pattern, push(repository="other"))
    assert not check(pattern, push(event="referenceDeleted"))


# ---------------------------------------------------------------------------------- the matcher itself

EVENT = {"source": "aws.test", "account": "111122223333", "detail": {
    "name": "Alice", "count": 5, "price": 10.5, "tags": ["a", "b"], "flag": False, "nothing": None,
    "ip": "10.0.3.7", "nested": {"deep": "value"}, "file": "reports/2026/plan.json"}}


@pytest.mark.parametrize(("pattern", "expected"), [
    ({"source": ["aws.test"]}, True),
    ({"source": ["aws.other", "aws.test"]}, True),
    ({"source": ["aws.other"]}, False),
    ({"detail": {"count": [5]}}, True),
    ({"detail": {"count": [5.0]}}, True),
    ({"detail": {"count": ["5"]}}, False),
    ({"detail": {"flag": [False]}}, True),
    ({"detail": {"flag": [0]}}, False),
    ({"detail": {"nothing": [None]}}, True),
    ({"detail": {"missing": [None]}}, False),
    ({"detail": {"tags": ["b"]}}, True),
    ({"detail": {"tags": ["c"]}}, False),
    ({"detail": {"name": [{"prefix": "Al"}]}}, True),
    ({"detail": {"name": [{"prefix": {"equals-ignore-case": "al"}}]}}, True),
    ({"detail": {"name": [{"suffix": "ce"}]}}, True),
    ({"detail": {"name": [{"equals-ignore-case": "ALICE"}]}}, True),
    ({"detail": {"name": [{"anything-but": "Bob"}]}}, True),
    ({"detail": {"name": [{"anything-but": ["Alice", "Bob"]}]}}, False),
    ({"detail": {"name": [{"anything-but": {"prefix": "Al"}}]}}, False),
    ({"detail": {"missing": [{"anything-but": "x"}]}}, False),
    ({"detail": {"count": [{"numeric": [">", 0, "<=", 5]}]}}, True),
    ({"detail": {"count": [{"numeric": [">", 5]}]}}, False),
    ({"detail": {"price": [{"numeric": ["=", 10.5]}]}}, True),
    ({"detail": {"name": [{"exists": True}]}}, True),
    ({"detail": {"missing": [{"exists": False}]}}, True),
    ({"detail": {"name": [{"exists": False}]}}, False),
    ({"detail": {"nested": [{"exists": True}]}}, False),  # exists tests leaves only
    ({"detail": {"nested": {"deep": ["value"]}}}, True),
    ({"detail": {"absent": {"deep": [{"exists": False}]}}}, True),
    ({"detail": {"ip": [{"cidr": "10.0.0.0/16"}]}}, True),
    ({"detail": {"ip": [{"cidr": "10.1.0.0/16"}]}}, False),
    ({"detail": {"file": [{"wildcard": "reports/*/plan.json"}]}}, True),
    ({"detail": {"file": [{"wildcard": "reports/*.txt"}]}}, False),
    ({"detail": {"$or": [{"name": ["Bob"]}, {"count": [5]}]}}, True),
    ({"detail": {"$or": [{"name": ["Bob"]}, {"count": [6]}]}}, False),
    ({"source": ["aws.test"], "detail": {"name": ["Alice"], "count": [6]}}, False),
])
def test_the_matcher_follows_eventbridge(pattern: dict[str, Any], expected: bool):
    eventpattern.validate(pattern)
    assert eventpattern.matches(pattern, copy.deepcopy(EVENT)) is expected


@pytest.mark.parametrize("pattern", [
    {}, {"source": "aws.test"}, {"source": []}, {"detail": {"x": [{"unknown": 1}]}}, {"detail": {"$or": [{"a": ["b"]}]}},
    {"detail": {"x": [["nested"]]}},
])
def test_the_matcher_refuses_what_eventbridge_refuses(pattern: dict[str, Any]):
    with pytest.raises(eventpattern.InvalidEventPattern):
        eventpattern.validate(pattern)

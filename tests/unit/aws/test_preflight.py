"""The preflight call (GetCallerIdentity): throttling is ridden out, a dead endpoint fails in two tries."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ConnectionClosedError, EndpointConnectionError

from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError, error_code, is_transient
from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import PREFLIGHT_ATTEMPTS, AwsClients, AwsSettings


class FakeSts:
    def __init__(self, failures: list[BaseException]) -> None:
        self.failures, self.calls = list(failures), 0

    def get_caller_identity(self) -> dict[str, str]:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return {"Account": "123456789012", "Arn": "arn:aws-us-gov:iam::123456789012:user/ci"}


def clients(monkeypatch, sts: FakeSts) -> tuple[AwsClients, list[float]]:
    slept: list[float] = []
    made = AwsClients(AwsSettings(region="us-gov-west-1", access_key="a", secret_key="b"), sleep=slept.append)
    monkeypatch.setattr(made, "_make_client", lambda *args, **kwargs: sts)
    return made, slept


def throttled() -> ClientError:
    return ClientError({"Error": {"Code": "Throttling", "Message": "Rate exceeded"},
                        "ResponseMetadata": {"HTTPStatusCode": 400}}, "GetCallerIdentity")


def test_throttling_is_ridden_out(monkeypatch):
    sts = FakeSts([throttled() for _ in range(PREFLIGHT_ATTEMPTS - 1)])
    made, slept = clients(monkeypatch, sts)
    assert made.caller_identity() == ("123456789012", "arn:aws-us-gov:iam::123456789012:user/ci")
    assert sts.calls == PREFLIGHT_ATTEMPTS and slept[:3] == [0.5, 1.0, 2.0] and max(slept) == 8.0
    assert made.partition == "aws-us-gov"  # the partition follows the region: GovCloud's ARNs


def test_a_dead_endpoint_fails_after_two_tries(monkeypatch):
    sts = FakeSts([EndpointConnectionError(endpoint_url="http://127.0.0.1:1") for _ in range(5)])
    made, slept = clients(monkeypatch, sts)
    with pytest.raises(AwsAccessError) as failed:
        made.caller_identity()
    assert sts.calls == 2 and failed.value.code == "EndpointUnreachable"


def test_access_denied_is_not_retried(monkeypatch):
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}, "ResponseMetadata": {"HTTPStatusCode": 403}},
                         "GetCallerIdentity")
    sts = FakeSts([denied])
    made, _ = clients(monkeypatch, sts)
    with pytest.raises(AwsAccessError, match="AccessDenied"):
        made.caller_identity()
    assert sts.calls == 1


def test_a_dropped_connection_has_no_response_and_is_transient():
    dropped = ConnectionClosedError(endpoint_url="https://cloudformation.us-east-1.amazonaws.com")
    assert error_code(dropped) == "" and is_transient(dropped)
    assert not is_transient(ClientError({"Error": {"Code": "ValidationError"}, "ResponseMetadata": {"HTTPStatusCode": 400}}, "X"))

"""Assumed credentials are renewed before they expire; the call log counts per account; partitions."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import (
    REFRESH_MARGIN_SECONDS,
    CallLog,
    fresh,
    partition_of,
    region_from_environment,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def expiring_in(seconds: float) -> dict[str, object]:
    return {"AccessKeyId": "AKIA", "Expiration": NOW + timedelta(seconds=seconds)}


def test_the_margin_lets_a_client_live_through_a_stack_operation():
    assert REFRESH_MARGIN_SECONDS >= 900  # the default stack_timeout_seconds


@pytest.mark.parametrize("left, expected", [
    (3600, True),
    (REFRESH_MARGIN_SECONDS + 1, True),
    (REFRESH_MARGIN_SECONDS, False),  # exactly the margin left: renew
    (REFRESH_MARGIN_SECONDS - 1, False),
    (-60, False),
])
def test_credentials_are_fresh_only_with_more_than_the_margin_left(left, expected):
    assert fresh(expiring_in(left), now=NOW.timestamp()) is expected


def test_expiration_as_text_or_without_a_zone_is_utc():
    in_an_hour = (NOW + timedelta(hours=1)).replace(tzinfo=None)
    assert fresh({"Expiration": in_an_hour.isoformat() + "Z"}, now=NOW.timestamp())
    assert fresh({"Expiration": in_an_hour}, now=NOW.timestamp())
    in_ten_minutes = (NOW + timedelta(minutes=10)).replace(tzinfo=None)
    assert not fresh({"Expiration": in_ten_minutes.isoformat() + "Z"}, now=NOW.timestamp())
    assert not fresh({"Expiration": in_ten_minutes}, now=NOW.timestamp())


def test_credentials_without_an_expiration_are_fresh():
    assert fresh({"AccessKeyId": "AKIA"}, now=NOW.timestamp())


def test_the_call_log_counts_per_account_and_lists_writes():
    log = CallLog()
    log.record("1", "cloudformation", "DescribeStacks")
    log.record("1", "cloudformation", "DescribeStacks")
    log.record("2", "cloudformation", "CreateStack")
    assert (log.total("1"), log.total("2"), log.total("3"), log.total()) == (2, 1, 0, 3)
    assert dict(log.calls["1"]) == {"cloudformation:DescribeStacks": 2}
    assert log.writes() == ["cloudformation:CreateStack"]


def test_partitions_and_the_region_chain(monkeypatch):
    assert [partition_of(r) for r in ("eu-west-1", "us-gov-west-1", "cn-north-1", "us-isob-east-1")] == [
        "aws", "aws-us-gov", "aws-cn", "aws-iso-b"]
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    assert region_from_environment() == "eu-central-1" and region_from_environment("ap-south-1") == "ap-south-1"
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    assert region_from_environment() == "us-east-1"

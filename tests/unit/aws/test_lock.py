"""The run lock against moto's DynamoDB (in process): one holder at a time, expiry, release, the holder named."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from ansible_collections.orgiam.aws.plugins.module_utils.aws.lock import LockHeld, RunLock
from ansible_collections.orgiam.aws.plugins.module_utils.aws.waiters import Clock
from tests.fakes import FakeTime


@pytest.fixture
def dynamodb():
    with mock_aws():
        yield boto3.client("dynamodb", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def lock(dynamodb, owner: str, now: list[float], time: FakeTime | None = None, ttl: float = 600.0) -> RunLock:
    return RunLock(dynamodb, "orgiam-lock", ttl=ttl, owner=owner, clock=(time or FakeTime()).clock, wall=lambda: now[0])


def test_one_run_at_a_time_and_the_second_is_told_who_holds_it(dynamodb):
    now = [1_800_000_000.0]
    first = lock(dynamodb, "alice@laptop", now)
    first.acquire()  # the table is made on first use
    assert dynamodb.describe_table(TableName="orgiam-lock")["Table"]["TableStatus"] == "ACTIVE"
    second = lock(dynamodb, "codebuild orgiam-sync:42", now)
    with pytest.raises(LockHeld) as refused:
        second.acquire(wait=0)
    message = str(refused.value)
    assert "alice@laptop" in message and first.run_id[:8] in message and "expires in 600 s" in message
    assert refused.value.code == "LockHeld"
    first.release()
    second.acquire(wait=0)
    assert second.holder().owner == "codebuild orgiam-sync:42"
    second.release()
    assert second.holder() is None


def test_a_killed_runs_lock_is_taken_once_it_expired(dynamodb):
    now = [1_800_000_000.0]
    killed = lock(dynamodb, "killed", now, ttl=60)
    killed.acquire()
    killed._stop.set()  # the run died: nobody renews or releases it
    now[0] += 61
    later = lock(dynamodb, "later", now)
    later.acquire(wait=0)
    assert later.holder().owner == "later"
    killed.release()  # the old run's release does not remove the new holder's lock
    assert later.holder().owner == "later"
    later.release()


def test_a_waiting_run_takes_the_lock_when_it_is_released(dynamodb):
    now = [1_800_000_000.0]
    holder = lock(dynamodb, "holder", now)
    holder.acquire()
    time = FakeTime()
    seen = []

    def sleep(seconds: float) -> None:  # while the waiting run sleeps, the holder finishes
        time.sleep(seconds)
        holder.release()

    waiting = RunLock(dynamodb, "orgiam-lock", ttl=600, owner="waiting", wall=lambda: now[0],
                      clock=Clock(sleep=sleep, now=lambda: time.now))
    waiting.acquire(wait=30, on_wait=seen.append)
    assert [h.owner for h in seen] == ["holder"] and waiting.holder().owner == "waiting"
    waiting.release()


def test_waiting_is_bounded(dynamodb):
    now = [1_800_000_000.0]
    lock(dynamodb, "holder", now).acquire()
    time = FakeTime()
    with pytest.raises(LockHeld):
        lock(dynamodb, "waiting", now, time).acquire(wait=20)
    assert 20 <= time.now < 30


def test_a_lock_whose_answer_was_lost_is_recognised_as_ours_and_a_release_is_retried(dynamodb):
    from botocore.exceptions import ClientError

    now = [1_800_000_000.0]
    time = FakeTime()
    mine = lock(dynamodb, "me", now, time)
    real_put, real_delete = dynamodb.put_item, dynamodb.delete_item

    def put_then_lose(**kwargs):  # the write is done, its answer never comes; botocore's retry then finds the item
        real_put(**kwargs)
        return real_put(**kwargs)  # the retry's conditional write fails: the lock is there

    dynamodb.put_item = put_then_lose
    mine.acquire(wait=0)
    assert mine.held and mine.holder().run_id == mine.run_id

    failures = [ClientError({"Error": {"Code": "ServiceUnavailable"}, "ResponseMetadata": {"HTTPStatusCode": 503}}, "DeleteItem")]

    def flaky_delete(**kwargs):
        if failures:
            raise failures.pop()
        return real_delete(**kwargs)

    dynamodb.delete_item = flaky_delete
    mine.release()
    assert mine.holder() is None and time.slept == [2.0]

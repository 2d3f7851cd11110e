"""poll(): the one way orgiam waits for AWS, with a growing interval and a deadline, in no real time."""

from __future__ import annotations

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError
from ansible_collections.orgiam.aws.plugins.module_utils.aws.waiters import Backoff, poll
from tests.fakes import FakeTime


def looks(*answers: str):
    """A look() that gives ``answers`` one after the other, then the last one for good."""
    queue = list(answers)
    return lambda: queue.pop(0) if len(queue) > 1 else queue[0]


def test_the_interval_doubles_from_the_minimum_up_to_the_maximum():
    time, seen = FakeTime(), []
    found = poll(looks(*["busy"] * 6, "done"), lambda s: s == "done", 600, lambda s: s,
                 Backoff(first=0.0, minimum=1.0, maximum=5.0), time.clock, on_wait=lambda s, waited: seen.append(waited))
    assert found == "done"
    assert time.slept == [1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    assert seen == [0.0, 1.0, 3.0, 7.0, 12.0, 17.0]  # on_wait hears how long it has waited, after each look that is not done


def test_a_first_delay_waits_before_the_first_look():
    time = FakeTime()
    assert poll(looks("done"), lambda s: s == "done", 60, str, Backoff(first=3.0), time.clock) == "done"
    assert time.slept == [3.0]


def test_done_at_once_costs_one_look_and_no_sleep():
    time, calls = FakeTime(), []
    poll(lambda: calls.append(1) or "ok", lambda s: True, 60, str, Backoff(), time.clock)
    assert calls == [1] and time.slept == []


def test_the_deadline_raises_saying_what_is_still_going_on():
    time = FakeTime()
    with pytest.raises(AwsAccessError) as raised:
        poll(looks("UPDATE_IN_PROGRESS"), lambda s: False, 10, lambda s: f"stack x still {s}",
             Backoff(minimum=1.0, maximum=4.0), time.clock)
    assert str(raised.value) == "stack x still UPDATE_IN_PROGRESS after 10 s" and raised.value.code == "Timeout"
    assert time.slept == [1.0, 2.0, 4.0, 4.0] and time.now == 11.0  # gave up at the first look past the deadline


def test_backoff_next():
    backoff = Backoff(minimum=2.0, maximum=30.0)
    assert [backoff.next(d) for d in (0.0, 2.0, 8.0, 20.0, 30.0)] == [2.0, 4.0, 16.0, 30.0, 30.0]

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""One way to wait for AWS: poll with a growing interval until done or a deadline.

Stacks, change sets and stack set operations all wait through :func:`poll`. The sleep and the
clock are injectable, so tests wait for nothing.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable, TypeVar

from .errors import AwsAccessError

T = TypeVar("T")


@dataclass(frozen=True)
class Backoff:
    first: float = 0.0  # before the first look
    minimum: float = 1.0
    maximum: float = 15.0

    def next(self, delay: float) -> float:
        return min(max(delay * 2, self.minimum), self.maximum)


@dataclass(frozen=True)
class Clock:
    sleep: Callable[[float], None] = time.sleep
    now: Callable[[], float] = time.monotonic


DEFAULT_CLOCK: Clock = Clock()


def poll(
    look: Callable[[], T],
    done: Callable[[T], bool],
    timeout: float,
    what: Callable[[T], str],
    backoff: Backoff = Backoff(),
    clock: Clock = DEFAULT_CLOCK,
    on_wait: Callable[[T, float], None] | None = None,
) -> T:
    """Call ``look`` until ``done`` says so; raise ``Timeout`` naming ``what`` after ``timeout`` seconds."""
    started = clock.now()
    delay = backoff.first
    while True:
        if delay:
            clock.sleep(delay)
        seen = look()
        if done(seen):
            return seen
        waited = clock.now() - started
        if waited >= timeout:
            raise AwsAccessError(f"{what(seen)} after {int(timeout)} s", "Timeout")
        if on_wait is not None:
            on_wait(seen, waited)
        delay = backoff.next(delay)

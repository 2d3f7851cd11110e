# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bounded pool that runs one job per account, each in its own failure domain.

A job that raises becomes a failed result; it never stops the other jobs. The
pool keeps ``concurrency`` jobs in flight at all times (no fixed batches) and
calls ``on_done`` after each one, under a lock, for progress reporting.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Callable, Iterable, TypeVar

Job = TypeVar("Job")
Result = TypeVar("Result")


def run_all(
    jobs: Iterable[Job],
    work: Callable[[Job], Result],
    on_error: Callable[[Job, BaseException], Result],
    concurrency: int,
    on_done: Callable[[Result], None] | None = None,
) -> list[Result]:
    job_list = list(jobs)
    results: list[Result] = []
    lock = threading.Lock()

    def guarded(job: Job) -> Result:
        try:
            return work(job)
        except Exception as exc:  # one account's failure stays with that account
            return on_error(job, exc)

    if not job_list:
        return results
    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(job_list))), thread_name_prefix="orgiam") as pool:
        futures = [pool.submit(guarded, job) for job in job_list]
        for future in as_completed(futures):
            result = future.result()
            with lock:
                results.append(result)
                if on_done is not None:
                    on_done(result)
    return results

#!/usr/bin/env python3
"""Run an Ansible command under a sampling profiler of every thread of every process it forks.

    python benchmarks/stack_sampler.py OUT_DIR .venv/bin/ansible-playbook -i INVENTORY playbooks/sync.yml ...

cProfile sees one thread of one process; an orgiam sync runs in an Ansible worker (a fork of
ansible-playbook) and its AWS calls in a pool of threads there. This samples the stacks of all threads
(``sys._current_frames``) every ``ORGIAM_SAMPLE_MS`` milliseconds (default 10) in the main process and
in each forked worker, and writes one JSON file per process to OUT_DIR: samples by category (orgiam,
Ansible, botocore, waiting on a socket, waiting on a lock or queue, ...), per thread kind (the process's
main thread, other threads), the hottest functions (self and cumulative), and when the process started,
forked workers and ended. `benchmarks/profile_noop.py` reads them.

Sampling costs some CPU (the GIL is taken every sample), so compare shares, not absolute seconds.
"""

from __future__ import annotations

import json
import os
import runpy
import sys
import threading
import time
from collections import Counter
from pathlib import Path

INTERVAL = float(os.environ.get("ORGIAM_SAMPLE_MS", "10")) / 1000
SOCKET_WAITS = {"readinto", "recv_into", "recv", "_read_status", "readline", "create_connection", "connect",
                "sendall", "send", "wait_for_read", "select", "poll"}
# Ansible's own loops that sleep or block in C (the innermost Python frame is theirs)
ANSIBLE_WAITS = {"_wait_on_pending_results", "results_thread_main", "_wait_on_handler_results"}
LOCK_WAITS = {"wait", "acquire", "_wait_for_tstate_lock", "get", "join", "result", "sleep", "_worker",
              "as_completed", "_acquire_restore"}
WATCHED = ("site-packages/", "ansible_collections/")


def package_of(filename: str) -> str:
    if "ansible_collections/orgiam" in filename:
        return "orgiam"
    if "ansible_collections/amazon" in filename:
        return "amazon.aws"
    for name in ("botocore", "boto3", "urllib3", "s3transfer", "jmespath", "dateutil"):
        if f"site-packages/{name}/" in filename:
            return "botocore"
    for name in ("ansible", "jinja2", "yaml", "markupsafe", "resolvelib", "cryptography"):
        if f"site-packages/{name}/" in filename or f"site-packages/_{name}" in filename:
            return "ansible" if name != "yaml" else "yaml"
    return "stdlib"


def category(stack: list[tuple[str, str, int]]) -> str:
    """What a thread is doing: waiting (on a socket or a lock/queue), or running code of a package (the
    innermost frame outside the standard library decides)."""
    filename, function, _ = stack[-1]
    if function in ANSIBLE_WAITS:
        return "waiting: Ansible's strategy loop (for the worker)"
    if function in SOCKET_WAITS and any(x in filename for x in ("socket.py", "ssl.py", "http/client.py", "selectors.py",
                                                                   "urllib3/", "connection.py", "wait.py")):
        return "waiting: socket (the emulator)"
    if function in LOCK_WAITS and any(x in filename for x in ("threading.py", "queue.py", "concurrent/futures",
                                                                 "multiprocessing/", "time", "selectors.py")):
        return "waiting: lock, queue or sleep"
    for filename, _, _ in reversed(stack):
        package = package_of(filename)
        if package != "stdlib":
            return package
    return "stdlib"


class Sampler:
    def __init__(self, out_dir: Path, role: str) -> None:
        self.out_dir = out_dir
        self.role = role
        self.started = time.time()
        self.events: list[tuple[str, float]] = [("start", self.started)]
        self.samples: Counter[str] = Counter()            # thread kind + category
        self.self_time: Counter[str] = Counter()          # innermost watched function
        self.cumulative: Counter[str] = Counter()         # every watched function on the stack, once per sample
        self.main_ident = threading.main_thread().ident
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="stack-sampler", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        own = threading.get_ident()
        while not self._stop.wait(INTERVAL):
            for ident, frame in sys._current_frames().items():
                if ident == own:
                    continue
                line = frame.f_lineno  # the innermost frame's current line: which lock or call it waits on
                stack: list[tuple[str, str, int]] = []
                while frame is not None:
                    stack.append((frame.f_code.co_filename, frame.f_code.co_name, frame.f_code.co_firstlineno))
                    frame = frame.f_back
                stack.reverse()
                kind = "main thread" if ident == self.main_ident else "other threads"
                self.samples[f"{kind} | {category(stack)}"] += 1
                watched = [f"{package_of(f)}: {Path(f).name}:{n}" for f, n, _ in stack if any(w in f for w in WATCHED)]
                if watched:
                    innermost = stack[-1][0]
                    self.self_time[f"{kind} | {watched[-1]}" + (f" line {line}" if any(w in innermost for w in WATCHED) else "")] += 1
                    for name in set(watched):
                        self.cumulative[f"{kind} | {name}"] += 1

    def event(self, name: str) -> None:
        self.events.append((name, time.time()))

    def dump(self) -> None:
        self._stop.set()
        self.events.append(("end", time.time()))
        data = {"role": self.role, "pid": os.getpid(), "interval": INTERVAL, "events": self.events,
                "samples": dict(self.samples), "self": dict(self.self_time.most_common(60)),
                "cumulative": dict(self.cumulative.most_common(120))}
        (self.out_dir / f"{self.role}-{os.getpid()}.json").write_text(json.dumps(data, indent=1))


def main() -> None:
    out_dir = Path(sys.argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    script = sys.argv[2]
    sys.argv = sys.argv[2:]
    state: dict[str, Sampler] = {"sampler": Sampler(out_dir, "main")}

    def in_child() -> None:  # a fork: threads are gone, start a sampler of the worker
        parent = state["sampler"]
        parent.event("forked a worker")
        state["sampler"] = Sampler(out_dir, "worker")

    os.register_at_fork(after_in_child=in_child, after_in_parent=lambda: state["sampler"].event("fork"))

    from ansible.executor.process import worker

    original = worker.WorkerProcess._run

    def profiled_run(self: object) -> None:  # the worker ends in os._exit: dump before it
        state["sampler"].event("task")
        try:
            original(self)
        finally:
            state["sampler"].dump()

    worker.WorkerProcess._run = profiled_run  # type: ignore[method-assign]
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        state["sampler"].dump()


if __name__ == "__main__":
    main()

"""Talking to a running emulator over HTTP: is it up, is it ready, reset it, read its call log, put a
stack in a status, inject faults.

Faults (``emulator.faults``; README "Faults" has every field)::

    control.set_faults(endpoint, seed=7,
                       throttle={"share": 0.2, "services": ["organizations"]},
                       lost_response={"operations": ["CreateStack", "UpdateStack"], "limit": 1},
                       outage={"calls": 3},
                       deny_accounts=["210987654321"],
                       hang_stacks=[{"account_id": "210987654321", "stack_name": "orgiam-roles", "describes": 2}],
                       fail_stacks=[{"account_id": "210987654321", "stack_name": "orgiam-roles"}])
    control.fault_counts(endpoint)   # {"throttle": 3, "lost_response": 1, "outage": 3, ...}

    # service-managed StackSets: operations that take time, stack instances that fail
    control.set_faults(endpoint, stackset_operations={"describes": 2},          # or {"seconds": 30}
                       fail_stack_instances=[{"account_id": "210987654321", "operations": ["create", "update"]}])
    control.fault_counts(endpoint)   # {..., "stackset_operations": 2, "fail_stack_instances": 1}
    control.clear_faults(endpoint)   # so does control.reset
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from emulator.middleware import CALLS_PATH, FAULTS_PATH, RESET_PATH, STACK_STATUS_PATH, STATUS_PATH
from emulator.settings import REGION

_POLL_INTERVAL_SECONDS = 0.1


def _request(url: str, method: str = "GET", timeout: float = 2.0, payload: Any = None) -> Any:
    data = json.dumps(payload).encode() if payload is not None else (b"" if method in ("POST", "PUT") else None)
    request = urllib.request.Request(url, method=method, data=data)
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def is_up(endpoint_url: str, timeout: float = 2.0) -> bool:
    """True when the orgiam emulator (not just any server) answers at ``endpoint_url``."""
    try:
        return isinstance(_request(endpoint_url.rstrip("/") + CALLS_PATH, timeout=timeout), list)
    except (OSError, ValueError):
        return False


def status(endpoint_url: str, timeout: float = 2.0) -> dict[str, Any] | None:
    """The emulator's status, ``{"ready": bool}``; ``{}`` for a server that is not the emulator; None when
    nothing answers."""
    try:
        answer = _request(endpoint_url.rstrip("/") + STATUS_PATH, timeout=timeout)
        return answer if isinstance(answer, dict) else {}
    except urllib.error.HTTPError:
        return {}  # something answers, but it is not the orgiam emulator (e.g. a plain moto server)
    except (OSError, ValueError):
        return None


def wait_until_ready(endpoint_url: str, timeout: float) -> bool:
    """Poll until the endpoint answers and, if it is the emulator, has finished seeding."""
    deadline = time.monotonic() + timeout
    while True:
        answer = status(endpoint_url, timeout=max(0.1, min(2.0, deadline - time.monotonic())))
        if answer is not None and answer.get("ready", True):
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(_POLL_INTERVAL_SECONDS)


def reset(endpoint_url: str) -> None:
    _request(endpoint_url.rstrip("/") + RESET_PATH, method="POST")


def calls(endpoint_url: str) -> list[dict[str, str]]:
    answer: list[dict[str, str]] = _request(endpoint_url.rstrip("/") + CALLS_PATH)
    return answer


def clear_calls(endpoint_url: str) -> None:
    _request(endpoint_url.rstrip("/") + CALLS_PATH, method="DELETE")


def set_stack_status(
    endpoint_url: str, account_id: str, stack_name: str, status: str, region: str = REGION, reason: str | None = None
) -> dict[str, str]:
    """Put a CloudFormation stack in ``status`` (e.g. UPDATE_ROLLBACK_FAILED), as if CloudFormation had.

    For tests only: the stack keeps its resources and template; a later ContinueUpdateRollback, DeleteStack
    or UpdateStack acts from that status. Raises ``urllib.error.HTTPError`` (404) when the stack does not
    exist and (400) for a status CloudFormation does not have.
    """
    payload = {"account_id": account_id, "stack_name": stack_name, "status": status, "region": region}
    if reason:
        payload["reason"] = reason
    answer: dict[str, str] = _request(endpoint_url.rstrip("/") + STACK_STATUS_PATH, method="POST", payload=payload)
    return answer


def set_faults(endpoint_url: str, **plan: Any) -> dict[str, Any]:
    """Put a fault plan in force (replacing any other, its counters at zero) and return it as the emulator
    took it, with its seed (a random one when none is given). The fields are keyword arguments: ``seed``,
    ``throttle``, ``lost_response``, ``outage``, ``deny_accounts``, ``hang_stacks``, ``fail_stacks``,
    ``stackset_operations``, ``fail_stack_instances``.
    Raises ValueError with the emulator's reason for a plan it refuses."""
    try:
        answer: dict[str, Any] = _request(endpoint_url.rstrip("/") + FAULTS_PATH, method="POST", payload=plan)
    except urllib.error.HTTPError as error:
        if error.code != 400:
            raise
        raise ValueError(json.load(error).get("error", "the emulator refused the fault plan")) from None
    plan_taken: dict[str, Any] = answer["plan"]
    return plan_taken


def faults(endpoint_url: str) -> dict[str, Any]:
    """``{"plan": ... or None, "counts": {kind: n}, "outage": {...} (with an outage), "hanging": [...]}``."""
    answer: dict[str, Any] = _request(endpoint_url.rstrip("/") + FAULTS_PATH)
    return answer


def fault_counts(endpoint_url: str) -> dict[str, int]:
    """How many faults of each kind the plan in force has injected: throttle, lost_response, outage,
    deny_accounts, hang_stacks (DescribeStacks answers that showed a stack in progress), fail_stacks; and,
    while the plan names them, stackset_operations (DescribeStackSetOperation answers that showed an operation
    QUEUED or RUNNING) and fail_stack_instances (stack instances failed)."""
    counts: dict[str, int] = faults(endpoint_url)["counts"]
    return counts


def clear_faults(endpoint_url: str) -> None:
    _request(endpoint_url.rstrip("/") + FAULTS_PATH, method="DELETE")

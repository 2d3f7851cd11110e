"""Faults the emulator injects into the AWS calls it serves, so that a client meets what a large real
organization throws at it: throttling, answers lost after the call took effect, outages, accounts it
cannot reach, stacks that stay in progress, and stack operations that fail.

A test sets a **fault plan** (``POST /_orgiam/faults``, ``control.set_faults``), reads it back with the
number of faults injected so far (``GET``, ``control.fault_counts``) and clears it (``DELETE``,
``control.clear_faults``, or any reset). Each kind is optional and they combine:

    throttle       a share of calls answered with the protocol's throttling error, before moto sees them
    lost_response  a share of calls that moto serves (the effect takes place), whose answer is replaced by
                   an HTTP 500/503 or a dropped connection
    outage         every call, for a number of calls or seconds from the first one, dropped (or 502/503)
    deny_accounts  sts:AssumeRole into these accounts answers AccessDenied
    hang_stacks    after a create or update, DescribeStacks shows the stack *_IN_PROGRESS for a while
    fail_stacks    a create or update of the stack fails on its first resource and rolls back as
                   CloudFormation does (``emulator.cfn_stacks``)

and, for service-managed StackSets (``emulator.stacksets``):

    stackset_operations   operations take time: DescribeStackSetOperation shows them RUNNING (or QUEUED
                          behind another) for a number of answers or seconds before they end
    fail_stack_instances  the stack instance of an account (in a stack set, a Region) fails in an operation:
                          FAILED in the operation's results, OUTDATED (INOPERABLE for a delete) with a reason

Deterministic: whether the n-th call of an operation in an account is hit depends only on the plan's
``seed``, the fault kind, the service, the operation, the account and n, so the same calls are hit in every
run, whatever order concurrent callers' requests arrive in (a plan without a seed gets a random one, shown
by GET, so that a run can be repeated).

Only signed AWS calls are touched; the emulator's own paths never are. With no plan set, the middleware
checks one attribute per call and nothing else.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from emulator import sts_access

KINDS = ("throttle", "lost_response", "outage", "deny_accounts", "hang_stacks", "fail_stacks")
# counted only while a plan names them (GET /_orgiam/faults "counts")
STACKSET_KINDS = ("stackset_operations", "fail_stack_instances")

StartResponse = Callable[..., Any]
Forward = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]

_ACCOUNT_ID = re.compile(r"^\d{12}$")
_MAX_HOLD_SECONDS = 120.0


class PlanError(ValueError):
    """A fault plan the emulator cannot take; the message says which field and why."""


# --- the plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    """One signed AWS call, as the middleware recognised it."""

    service: str
    operation: str
    account_id: str
    region: str
    access_key_id: str


@dataclass(frozen=True)
class CallFilter:
    """Which calls a fault may hit: each set, when not empty, must hold the call's value. An operation is
    named alone (``CreateStack``) or with its service (``cloudformation:CreateStack``)."""

    services: frozenset[str] = frozenset()
    operations: frozenset[str] = frozenset()
    accounts: frozenset[str] = frozenset()

    def matches(self, call: Call) -> bool:
        if self.services and call.service not in self.services:
            return False
        if self.operations and call.operation not in self.operations \
                and f"{call.service}:{call.operation}" not in self.operations:
            return False
        return not self.accounts or call.account_id in self.accounts

    def as_json(self) -> dict[str, list[str]]:
        return {"services": sorted(self.services), "operations": sorted(self.operations),
                "accounts": sorted(self.accounts)}


@dataclass(frozen=True)
class ShareRule:
    """A share of the calls ``only`` lets through, at most ``limit`` of them (no limit: None)."""

    share: float
    only: CallFilter
    limit: int | None


@dataclass(frozen=True)
class Throttle(ShareRule):
    code: str | None = None  # None: the error AWS gives for the call's protocol (see throttle_answer)
    message: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"share": self.share, **self.only.as_json(), "limit": self.limit, "code": self.code,
                "message": self.message}


LOST_RESPONSES = ("internal_error", "unavailable", "drop")


@dataclass(frozen=True)
class LostResponse(ShareRule):
    response: str = "internal_error"

    def as_json(self) -> dict[str, Any]:
        return {"share": self.share, **self.only.as_json(), "limit": self.limit, "response": self.response}


OUTAGE_RESPONSES = ("drop", "timeout", "unavailable", "bad_gateway")


@dataclass(frozen=True)
class Outage:
    """Every call ``only`` lets through fails, for ``calls`` calls or ``seconds`` seconds from the first."""

    only: CallFilter
    calls: int | None
    seconds: float | None
    response: str = "drop"
    hold_seconds: float = 5.0  # for "timeout": how long the connection is held before it is dropped

    def as_json(self) -> dict[str, Any]:
        return {"calls": self.calls, "seconds": self.seconds, **self.only.as_json(), "response": self.response,
                "hold_seconds": self.hold_seconds}


@dataclass(frozen=True)
class StackTarget:
    account_id: str
    stack_name: str
    region: str | None  # None: any region

    def matches(self, account_id: str, region: str, stack_name: str) -> bool:
        return (self.account_id == account_id and self.stack_name == stack_name
                and (self.region is None or self.region == region))

    def as_json(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "stack_name": self.stack_name, "region": self.region}


@dataclass(frozen=True)
class HangStack:
    target: StackTarget
    describes: int | None
    seconds: float | None

    def as_json(self) -> dict[str, Any]:
        return {**self.target.as_json(), "describes": self.describes, "seconds": self.seconds}


STACK_OPERATIONS = ("create", "update")
DEFAULT_FAILURE_MESSAGE = "Internal failure (injected by the emulator's fault plan)."


@dataclass(frozen=True)
class FailStack:
    target: StackTarget
    operations: frozenset[str]
    limit: int | None
    message: str

    def as_json(self) -> dict[str, Any]:
        return {**self.target.as_json(), "operations": sorted(self.operations), "limit": self.limit,
                "message": self.message}


@dataclass(frozen=True)
class StackSetPacing:
    """Stack set operations end only after ``describes`` DescribeStackSetOperation answers of them, or
    ``seconds`` seconds after they start; ``stack_sets``: only those (by name), none: every one."""

    describes: int | None
    seconds: float | None
    stack_sets: frozenset[str] = frozenset()

    def applies_to(self, stack_set_name: str) -> bool:
        return not self.stack_sets or stack_set_name in self.stack_sets

    def as_json(self) -> dict[str, Any]:
        return {"describes": self.describes, "seconds": self.seconds, "stack_sets": sorted(self.stack_sets)}


STACK_INSTANCE_OPERATIONS = ("create", "update", "delete")


@dataclass(frozen=True)
class FailStackInstance:
    """The stack instance of ``account_id`` fails in a stack set operation (``operations``), at most ``limit``
    times; ``stack_set`` and ``region`` narrow it (None: any)."""

    account_id: str
    stack_set: str | None
    region: str | None
    operations: frozenset[str]
    limit: int | None
    message: str

    def matches(self, account_id: str, region: str, stack_set_name: str, operation: str) -> bool:
        return (self.account_id == account_id and operation in self.operations
                and self.stack_set in (None, stack_set_name) and self.region in (None, region))

    def as_json(self) -> dict[str, Any]:
        return {"account_id": self.account_id, "stack_set": self.stack_set, "region": self.region,
                "operations": sorted(self.operations), "limit": self.limit, "message": self.message}


@dataclass(frozen=True)
class FaultPlan:
    seed: int | str
    throttle: Throttle | None = None
    lost_response: LostResponse | None = None
    outage: Outage | None = None
    deny_accounts: frozenset[str] = frozenset()
    hang_stacks: tuple[HangStack, ...] = ()
    fail_stacks: tuple[FailStack, ...] = ()
    stackset_operations: StackSetPacing | None = None
    fail_stack_instances: tuple[FailStackInstance, ...] = ()

    @classmethod
    def from_json(cls, document: Any) -> FaultPlan:
        """The plan a JSON document describes (README: "Faults"); PlanError says what is wrong with it."""
        if not isinstance(document, dict):
            raise PlanError("the fault plan must be a JSON object")
        _no_unknown_keys("the fault plan", document, ("seed", *KINDS, *STACKSET_KINDS))
        seed = document.get("seed")
        if seed is None:
            seed = random.SystemRandom().randrange(2**31)
        elif isinstance(seed, bool) or not isinstance(seed, (int, str)):
            raise PlanError("seed must be an integer or a string")
        return cls(
            seed=seed,
            throttle=_optional(document, "throttle", _throttle),
            lost_response=_optional(document, "lost_response", _lost_response),
            outage=_optional(document, "outage", _outage),
            deny_accounts=frozenset(_account_ids("deny_accounts", document.get("deny_accounts") or [])),
            hang_stacks=tuple(_hang_stack(f"hang_stacks[{i}]", entry)
                              for i, entry in enumerate(_list("hang_stacks", document.get("hang_stacks") or []))),
            fail_stacks=tuple(_fail_stack(f"fail_stacks[{i}]", entry)
                              for i, entry in enumerate(_list("fail_stacks", document.get("fail_stacks") or []))),
            stackset_operations=_optional(document, "stackset_operations", _stackset_pacing),
            fail_stack_instances=tuple(
                _fail_stack_instance(f"fail_stack_instances[{i}]", entry)
                for i, entry in enumerate(_list("fail_stack_instances", document.get("fail_stack_instances") or []))),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "throttle": self.throttle.as_json() if self.throttle else None,
            "lost_response": self.lost_response.as_json() if self.lost_response else None,
            "outage": self.outage.as_json() if self.outage else None,
            "deny_accounts": sorted(self.deny_accounts),
            "hang_stacks": [hang.as_json() for hang in self.hang_stacks],
            "fail_stacks": [fail.as_json() for fail in self.fail_stacks],
            "stackset_operations": self.stackset_operations.as_json() if self.stackset_operations else None,
            "fail_stack_instances": [fail.as_json() for fail in self.fail_stack_instances],
        }

    def stackset_kinds(self) -> tuple[str, ...]:
        """The StackSet kinds this plan names (counted while it is in force)."""
        return tuple(kind for kind, named in (("stackset_operations", self.stackset_operations is not None),
                                               ("fail_stack_instances", bool(self.fail_stack_instances))) if named)


def _no_unknown_keys(where: str, document: dict[str, Any], known: Iterable[str]) -> None:
    unknown = sorted(set(document) - set(known))
    if unknown:
        raise PlanError(f"{where}: unknown field(s) {', '.join(unknown)}; known: {', '.join(known)}")


def _optional(document: dict[str, Any], key: str, parse: Callable[[str, Any], Any]) -> Any:
    value = document.get(key)
    return None if value is None else parse(key, value)


def _list(where: str, value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise PlanError(f"{where} must be a list")
    return value


def _strings(where: str, value: Any) -> list[str]:
    items = _list(where, value)
    if not all(isinstance(item, str) and item for item in items):
        raise PlanError(f"{where} must be a list of non-empty strings")
    return items


def _account_ids(where: str, value: Any) -> list[str]:
    items = _strings(where, value)
    bad = [item for item in items if not _ACCOUNT_ID.match(item)]
    if bad:
        raise PlanError(f"{where}: not 12-digit account ids (as strings): {', '.join(bad)}")
    return items


def _number(where: str, value: Any, low: float, high: float | None = None, *, integer: bool = False,
            low_inclusive: bool = True) -> Any:
    kind = int if integer else (int, float)
    if isinstance(value, bool) or not isinstance(value, kind):
        raise PlanError(f"{where} must be {'an integer' if integer else 'a number'}")
    if value < low or (value == low and not low_inclusive) or (high is not None and value > high):
        bounds = f"{'>=' if low_inclusive else '>'} {low}" + (f" and <= {high}" if high is not None else "")
        raise PlanError(f"{where} must be {bounds}")
    return value


def _choice(where: str, value: Any, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise PlanError(f"{where} must be one of {', '.join(choices)}")
    return str(value)


def _call_filter(where: str, document: dict[str, Any]) -> CallFilter:
    return CallFilter(
        services=frozenset(s.lower() for s in _strings(f"{where}.services", document.get("services") or [])),
        operations=frozenset(_strings(f"{where}.operations", document.get("operations") or [])),
        accounts=frozenset(_account_ids(f"{where}.accounts", document.get("accounts") or [])),
    )


_FILTER_KEYS = ("services", "operations", "accounts")


def _share_rule(where: str, value: Any, extra: tuple[str, ...]) -> tuple[dict[str, Any], dict[str, Any]]:
    if not isinstance(value, dict):
        value = {"share": value}  # a number alone is the share
    _no_unknown_keys(where, value, ("share", *_FILTER_KEYS, "limit", *extra))
    limit = value.get("limit")
    common = {
        "share": float(_number(f"{where}.share", value.get("share", 1.0), 0.0, 1.0)),
        "only": _call_filter(where, value),
        "limit": None if limit is None else _number(f"{where}.limit", limit, 0, integer=True),
    }
    return common, value


def _throttle(where: str, value: Any) -> Throttle:
    common, document = _share_rule(where, value, ("code", "message"))
    code, message = document.get("code"), document.get("message")
    for name, item in (("code", code), ("message", message)):
        if item is not None and not (isinstance(item, str) and item):
            raise PlanError(f"{where}.{name} must be a non-empty string")
    return Throttle(**common, code=code, message=message)


def _lost_response(where: str, value: Any) -> LostResponse:
    common, document = _share_rule(where, value, ("response",))
    return LostResponse(**common, response=_choice(f"{where}.response", document.get("response", "internal_error"),
                                                   LOST_RESPONSES))


def _outage(where: str, value: Any) -> Outage:
    if not isinstance(value, dict):
        raise PlanError(f"{where} must be an object with calls or seconds")
    _no_unknown_keys(where, value, ("calls", "seconds", *_FILTER_KEYS, "response", "hold_seconds"))
    calls, seconds = value.get("calls"), value.get("seconds")
    if (calls is None) == (seconds is None):
        raise PlanError(f"{where} needs exactly one of calls and seconds")
    return Outage(
        only=_call_filter(where, value),
        calls=None if calls is None else _number(f"{where}.calls", calls, 1, integer=True),
        seconds=None if seconds is None else float(_number(f"{where}.seconds", seconds, 0, low_inclusive=False)),
        response=_choice(f"{where}.response", value.get("response", "drop"), OUTAGE_RESPONSES),
        hold_seconds=float(_number(f"{where}.hold_seconds", value.get("hold_seconds", 5.0), 0, _MAX_HOLD_SECONDS)),
    )


def _stack_target(where: str, value: Any, extra: tuple[str, ...]) -> tuple[StackTarget, dict[str, Any]]:
    if not isinstance(value, dict):
        raise PlanError(f"{where} must be an object with account_id and stack_name")
    _no_unknown_keys(where, value, ("account_id", "stack_name", "region", *extra))
    account_id = value.get("account_id")
    if not isinstance(account_id, str) or not _ACCOUNT_ID.match(account_id):
        raise PlanError(f"{where}.account_id must be a 12-digit account id (a string)")
    stack_name, region = value.get("stack_name"), value.get("region")
    if not isinstance(stack_name, str) or not stack_name:
        raise PlanError(f"{where}.stack_name must be a stack name")
    if region is not None and not (isinstance(region, str) and region):
        raise PlanError(f"{where}.region must be a region name")
    return StackTarget(account_id, stack_name, region), value


def _hang_stack(where: str, value: Any) -> HangStack:
    target, document = _stack_target(where, value, ("describes", "seconds"))
    describes, seconds = document.get("describes"), document.get("seconds")
    if (describes is None) == (seconds is None):
        raise PlanError(f"{where} needs exactly one of describes and seconds")
    return HangStack(
        target,
        describes=None if describes is None else _number(f"{where}.describes", describes, 1, integer=True),
        seconds=None if seconds is None else float(_number(f"{where}.seconds", seconds, 0, low_inclusive=False)),
    )


def _fail_stack(where: str, value: Any) -> FailStack:
    target, document = _stack_target(where, value, ("operations", "limit", "message"))
    operations = document.get("operations", list(STACK_OPERATIONS))
    for operation in _strings(f"{where}.operations", operations):
        _choice(f"{where}.operations[]", operation, STACK_OPERATIONS)
    limit, message = document.get("limit"), document.get("message", DEFAULT_FAILURE_MESSAGE)
    if not isinstance(message, str) or not message:
        raise PlanError(f"{where}.message must be a non-empty string")
    return FailStack(target, frozenset(operations),
                     None if limit is None else _number(f"{where}.limit", limit, 0, integer=True), message)


def _stackset_pacing(where: str, value: Any) -> StackSetPacing:
    if not isinstance(value, dict):
        raise PlanError(f"{where} must be an object with describes or seconds")
    _no_unknown_keys(where, value, ("describes", "seconds", "stack_sets"))
    describes, seconds = value.get("describes"), value.get("seconds")
    if (describes is None) == (seconds is None):
        raise PlanError(f"{where} needs exactly one of describes and seconds")
    return StackSetPacing(
        describes=None if describes is None else _number(f"{where}.describes", describes, 0, integer=True),
        seconds=None if seconds is None else float(_number(f"{where}.seconds", seconds, 0)),
        stack_sets=frozenset(_strings(f"{where}.stack_sets", value.get("stack_sets") or [])),
    )


def _fail_stack_instance(where: str, value: Any) -> FailStackInstance:
    if not isinstance(value, dict):
        raise PlanError(f"{where} must be an object with account_id")
    _no_unknown_keys(where, value, ("account_id", "stack_set", "region", "operations", "limit", "message"))
    account_id = value.get("account_id")
    if not isinstance(account_id, str) or not _ACCOUNT_ID.match(account_id):
        raise PlanError(f"{where}.account_id must be a 12-digit account id (a string)")
    for name in ("stack_set", "region"):
        if value.get(name) is not None and not (isinstance(value[name], str) and value[name]):
            raise PlanError(f"{where}.{name} must be a non-empty string")
    operations = _strings(f"{where}.operations", value.get("operations", ["create", "update"]))
    for operation in operations:
        _choice(f"{where}.operations[]", operation, STACK_INSTANCE_OPERATIONS)
    limit, message = value.get("limit"), value.get("message", DEFAULT_FAILURE_MESSAGE)
    if not isinstance(message, str) or not message:
        raise PlanError(f"{where}.message must be a non-empty string")
    return FailStackInstance(account_id, value.get("stack_set"), value.get("region"), frozenset(operations),
                             None if limit is None else _number(f"{where}.limit", limit, 0, integer=True), message)


# --- AWS's answers ----------------------------------------------------------------------------------

Answer = tuple[int, list[tuple[str, str]], bytes]


@dataclass(frozen=True)
class ErrorSpec:
    status: int
    code: str
    message: str
    sender: bool  # Type Sender (the caller's fault) or Receiver (the service's)


def protocol_of(service: str, environ: dict[str, Any]) -> str:
    """The wire protocol of a request: json (X-Amz-Target), query, ec2, rest-json or rest-xml."""
    if environ.get("HTTP_X_AMZ_TARGET"):
        return "json"
    if "Action=" in str(environ.get("QUERY_STRING", "")) \
            or "x-www-form-urlencoded" in str(environ.get("CONTENT_TYPE", "")):
        return "ec2" if service == "ec2" else "query"
    return "rest-xml" if _service_metadata(service).get("protocol") == "rest-xml" else "rest-json"


_metadata_cache: dict[str, dict[str, Any]] = {}


def _service_metadata(service: str) -> dict[str, Any]:
    """botocore's metadata of a service by its signing name ({} for one botocore does not know)."""
    if service not in _metadata_cache:
        import botocore.session
        from botocore.exceptions import DataNotFoundError, UnknownServiceError

        try:
            metadata = dict(botocore.session.get_session().get_service_model(service).metadata)
        except (UnknownServiceError, DataNotFoundError):
            metadata = {"protocol": "rest-xml"} if service == "s3" else {}
        _metadata_cache[service] = metadata
    return _metadata_cache[service]


def throttling_error(service: str, protocol: str) -> ErrorSpec:
    """The error AWS answers a throttled call with, by protocol (and Organizations' own)."""
    if protocol == "query":
        return ErrorSpec(400, "Throttling", "Rate exceeded", True)
    if protocol == "ec2":
        return ErrorSpec(503, "RequestLimitExceeded", "Request limit exceeded.", True)
    if protocol == "rest-xml":
        return ErrorSpec(503, "SlowDown", "Please reduce your request rate.", True)
    if protocol == "rest-json":
        return ErrorSpec(429, "TooManyRequestsException", "Too Many Requests", True)
    if service == "organizations":  # Organizations' modelled throttling error, HTTP 400 (botocore retries it)
        return ErrorSpec(400, "TooManyRequestsException",
                         "You have sent too many requests in too short a period of time. Try again later.", True)
    return ErrorSpec(400, "ThrottlingException", "Rate exceeded", True)


def server_error(protocol: str, kind: str) -> ErrorSpec:
    """AWS's InternalFailure (HTTP 500) or ServiceUnavailable (HTTP 503) for a protocol."""
    if kind == "unavailable":
        if protocol == "ec2":
            return ErrorSpec(503, "Unavailable", "The server is overloaded and can't handle the request.", False)
        if protocol == "rest-xml":
            return ErrorSpec(503, "ServiceUnavailable", "Service is unable to handle request.", False)
        return ErrorSpec(503, "ServiceUnavailable", "The request has failed due to a temporary failure of the server.",
                         False)
    if protocol in ("ec2", "rest-xml"):
        return ErrorSpec(500, "InternalError", "We encountered an internal error. Please try again.", False)
    return ErrorSpec(500, "InternalFailure",
                     "The request processing has failed because of an unknown error, exception or failure.", False)


def error_answer(service: str, protocol: str, error: ErrorSpec) -> Answer:
    """An error response as the service would send it, with its request id."""
    request_id = str(uuid.uuid4())
    code, message = escape(error.code), escape(error.message)
    if protocol == "query":
        namespace = _service_metadata(service).get("xmlNamespace")
        xmlns = f' xmlns="{escape(str(namespace))}"' if namespace else ""
        body = (f"<ErrorResponse{xmlns}><Error><Type>{'Sender' if error.sender else 'Receiver'}</Type>"
                f"<Code>{code}</Code><Message>{message}</Message></Error><RequestId>{request_id}</RequestId>"
                "</ErrorResponse>")
        return error.status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body.encode()
    if protocol == "ec2":
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>{message}</Message></Error></Errors>"
                f"<RequestID>{request_id}</RequestID></Response>")
        return error.status, [("Content-Type", "text/xml")], body.encode()
    if protocol == "rest-xml":
        body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
                f"<RequestId>{request_id}</RequestId></Error>")
        return error.status, [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], body.encode()
    content_type = "application/x-amz-json-1.1" if protocol == "json" else "application/json"
    document = {"__type": error.code, "message": error.message}
    if protocol == "json" and error.code == "TooManyRequestsException":
        document = {"__type": error.code, "Message": error.message}  # Organizations' shape
    return error.status, [("Content-Type", content_type), ("x-amzn-RequestId", request_id),
                          ("x-amzn-ErrorType", error.code)], json.dumps(document).encode()


_BAD_GATEWAY = (502, [("Content-Type", "text/html")], b"<html><body><h1>502 Bad Gateway</h1></body></html>")


def _validation_error(message: str) -> Answer:
    """CloudFormation's ValidationError (query protocol)."""
    return error_answer("cloudformation", "query", ErrorSpec(400, "ValidationError", message, True))


def drop_connection(environ: dict[str, Any]) -> Iterable[bytes]:
    """Close the client's connection without an answer.

    werkzeug's server hands the socket to the application (``werkzeug.socket``) and takes a
    ``ConnectionError`` from it as a connection the client dropped: it writes nothing and logs nothing. The
    socket is shut down first, so that neither side waits for more (the connection is kept alive otherwise).
    The client reads end-of-stream where the status line should be: botocore raises ConnectionClosedError.
    """
    connection = environ.get("werkzeug.socket")
    if connection is not None:
        try:
            connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    raise ConnectionAbortedError("connection dropped by the emulator's fault plan")


# --- stack operations -------------------------------------------------------------------------------

_STACK_WRITES = frozenset({"CreateStack", "UpdateStack", "ExecuteChangeSet", "CreateChangeSet", "DeleteStack"})
_REFUSED_WHILE_HANGING = frozenset({"UpdateStack", "ExecuteChangeSet", "CreateChangeSet"})


@dataclass
class _StackRequest:
    """A CloudFormation write, as far as the faults care: which stack, and create or update."""

    stack_name: str
    kind: str | None  # "create", "update", or None for an operation that neither creates nor updates


def _stack_name(name_or_id: str) -> str:
    """The name in a stack id (``arn:...:stack/NAME/uuid``), or the name itself."""
    if name_or_id.startswith("arn:") and ":stack/" in name_or_id:
        return name_or_id.split(":stack/", 1)[1].split("/", 1)[0]
    return name_or_id


def _stack_request(call: Call, parameters: dict[str, str]) -> _StackRequest | None:
    if call.operation == "CreateStack":
        return _StackRequest(parameters.get("StackName", ""), "create")
    if call.operation == "UpdateStack":
        return _StackRequest(_stack_name(parameters.get("StackName", "")), "update")
    if call.operation == "DeleteStack":
        return _StackRequest(_stack_name(parameters.get("StackName", "")), None)
    if call.operation == "CreateChangeSet":
        return _StackRequest(_stack_name(parameters.get("StackName", "")),
                             None if parameters.get("ChangeSetType", "UPDATE") == "UPDATE" else "review")
    if call.operation == "ExecuteChangeSet":
        change_set = _change_set(call, parameters.get("ChangeSetName", ""), parameters.get("StackName"))
        if change_set is None:
            return None  # CloudFormation answers that itself
        return _StackRequest(str(change_set.stack_name),
                             "create" if change_set.change_set_type == "CREATE" else "update")
    return None


def _change_set(call: Call, name_or_id: str, stack_name: str | None) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    try:
        change_sets = cloudformation_backends[call.account_id][call.region].change_sets
    except KeyError:
        return None
    if name_or_id in change_sets:
        return change_sets[name_or_id]
    wanted = _stack_name(stack_name) if stack_name else None
    return next((change_set for change_set in list(change_sets.values())
                 if change_set.change_set_name == name_or_id and wanted in (None, change_set.stack_name,
                                                                            change_set.stack_id)), None)


def _live_stack(account_id: str, region: str, stack_name: str) -> Any:
    from moto.cloudformation.models import cloudformation_backends

    from emulator.cfn_stacks.backend import live_stack

    try:
        return live_stack(cloudformation_backends[account_id][region], stack_name)
    except KeyError:
        return None


class InjectedResourceError(Exception):
    """What the first resource of a stack operation fails with under ``fail_stacks``."""

    code = "InternalFailure"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class _Hang:
    stack_id: str
    status: str  # CREATE_IN_PROGRESS or UPDATE_IN_PROGRESS
    describes_left: int | None
    until: float | None


def _show_in_progress(payload: bytes, hanging: dict[str, _Hang]) -> tuple[bytes, list[str]]:
    """A DescribeStacks answer with the hanging stacks in their in-progress status; and which were shown."""
    try:
        root = ElementTree.fromstring(payload)
    except ElementTree.ParseError:
        return payload, []
    shown = []
    for member in root.findall("./{*}DescribeStacksResult/{*}Stacks/{*}member"):
        name = member.findtext("{*}StackName")
        hang = hanging.get(name or "")
        status = member.find("{*}StackStatus")
        if hang is None or status is None or name is None or member.findtext("{*}StackStatus") == "DELETE_COMPLETE":
            continue
        status.text = hang.status
        for tag in ("StackStatusReason", *(("Outputs",) if hang.status == "CREATE_IN_PROGRESS" else ())):
            child = member.find("{*}" + tag)
            if child is not None:
                member.remove(child)
        shown.append(name)
    if not shown:
        return payload, []
    namespace = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else None
    try:
        return ElementTree.tostring(root, encoding="utf-8", default_namespace=namespace), shown
    except ValueError:
        return ElementTree.tostring(root, encoding="utf-8"), shown


# --- the injector -----------------------------------------------------------------------------------


def _draw(seed: int | str, kind: str, call: Call, occurrence: int) -> float:
    """A number in [0, 1) fixed by the seed, the fault kind, the call's operation and account, and which
    occurrence of that operation in that account the call is."""
    key = f"{seed}\x00{kind}\x00{call.service}\x00{call.operation}\x00{call.account_id}\x00{occurrence}"
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big") / 2.0**64


@dataclass
class _Outcome:
    """What the forwarded call needs done around it."""

    lose: LostResponse | None = None
    fail_rule: FailStack | None = None
    hang: HangStack | None = None
    stack: _StackRequest | None = None
    describe_hangs: dict[str, _Hang] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.lose or self.fail_rule or self.hang or self.describe_hangs)


class Faults:
    """The fault plan in force, what it has injected, and the state of outages and hanging stacks.

    ``plan`` is None when no fault is set: the middleware's only check on the no-fault path.
    ``clock`` (``time.monotonic``) may be replaced by tests that run the emulator in their own process.
    """

    def __init__(self) -> None:
        self.plan: FaultPlan | None = None
        self.clock: Callable[[], float] = time.monotonic
        self._lock = threading.Lock()
        self._counts = dict.fromkeys(KINDS, 0)
        self._occurrences: dict[tuple[str, str, str, str], int] = {}
        self._outage_started: float | None = None
        self._outage_calls_left: int | None = None
        self._fail_counts: dict[FailStack, int] = {}
        self._instance_fail_counts: dict[FailStackInstance, int] = {}
        self._hangs: dict[tuple[str, str, str], _Hang] = {}

    # control

    def set(self, plan: FaultPlan) -> None:
        """Put ``plan`` in force, with every counter at zero."""
        with self._lock:
            self._reset_state()
            self.plan = plan
            self._counts.update(dict.fromkeys(plan.stackset_kinds(), 0))
            self._outage_calls_left = plan.outage.calls if plan.outage else None

    def clear(self) -> None:
        with self._lock:
            self.plan = None
            self._reset_state()

    def _reset_state(self) -> None:
        self._counts = dict.fromkeys(KINDS, 0)
        self._occurrences.clear()
        self._outage_started = None
        self._outage_calls_left = None
        self._fail_counts.clear()
        self._instance_fail_counts.clear()
        self._hangs.clear()

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def snapshot(self) -> dict[str, Any]:
        """The plan, the counts of faults injected, the outage's progress and the stacks hanging now."""
        with self._lock:
            plan = self.plan
            answer: dict[str, Any] = {"plan": plan.as_json() if plan else None, "counts": dict(self._counts)}
            if plan is not None and plan.outage is not None:
                answer["outage"] = self._outage_state(plan.outage)
            now = self.clock()
            answer["hanging"] = [
                {"account_id": account_id, "region": region, "stack_name": name, "status": hang.status,
                 "describes_left": hang.describes_left,
                 "seconds_left": None if hang.until is None else max(0.0, hang.until - now)}
                for (account_id, region, name), hang in sorted(self._hangs.items())
            ]
            return answer

    def _outage_state(self, outage: Outage) -> dict[str, Any]:
        started = self._outage_started is not None
        if outage.calls is not None:
            return {"started": started, "over": self._outage_calls_left == 0, "calls_left": self._outage_calls_left}
        seconds_left = outage.seconds if self._outage_started is None \
            else max(0.0, self._outage_started + (outage.seconds or 0.0) - self.clock())
        return {"started": started, "over": started and seconds_left == 0.0, "seconds_left": seconds_left}

    # serving

    def serve(self, call: Call, environ: dict[str, Any], body: bytes, start_response: StartResponse,
              forward: Forward) -> Iterable[bytes]:
        """Answer one AWS call under the plan: a fault instead of the call, or the call (``forward``) with
        whatever the plan does around it. While it is served, ``serving()`` is this object (moto answers
        within the call), so that StackSets' operations find the plan's pacing and failing instances."""
        previous = getattr(_serving, "faults", None)
        _serving.faults = self
        try:
            return self._serve(call, environ, body, start_response, forward)
        finally:
            _serving.faults = previous

    def _serve(self, call: Call, environ: dict[str, Any], body: bytes, start_response: StartResponse,
               forward: Forward) -> Iterable[bytes]:
        plan = self.plan
        if plan is None:
            return forward(environ, start_response)
        if plan.outage is not None and self._in_outage(plan.outage, call):
            return self._outage_answer(plan.outage, call, environ, start_response)
        if plan.throttle is not None and self._hit(plan, "throttle", plan.throttle, call, consume=True):
            protocol = protocol_of(call.service, environ)
            spec = throttling_error(call.service, protocol)
            if plan.throttle.code or plan.throttle.message:
                spec = ErrorSpec(spec.status, plan.throttle.code or spec.code, plan.throttle.message or spec.message,
                                 sender=True)
            return _respond(start_response, error_answer(call.service, protocol, spec))

        outcome = _Outcome()
        if plan.deny_accounts and call.service == "sts" and call.operation == "AssumeRole":
            denied = self._denial(plan, call, sts_access.request_parameters(environ, body))
            if denied is not None:
                return _respond(start_response, denied)
        if call.service == "cloudformation" and (plan.hang_stacks or plan.fail_stacks):
            refused = self._stack_faults(plan, call, sts_access.request_parameters(environ, body), outcome)
            if refused is not None:
                return _respond(start_response, refused)
        if plan.lost_response is not None and self._hit(plan, "lost_response", plan.lost_response, call, consume=False):
            outcome.lose = plan.lost_response
        if not outcome:
            return forward(environ, start_response)
        return self._around(call, environ, start_response, forward, outcome)

    def _hit(self, plan: FaultPlan, kind: str, rule: ShareRule, call: Call, consume: bool) -> bool:
        if not rule.only.matches(call):
            return False
        with self._lock:
            key = (kind, call.service, call.operation, call.account_id)
            occurrence = self._occurrences.get(key, 0)
            self._occurrences[key] = occurrence + 1
            if rule.limit is not None and self._counts[kind] >= rule.limit:
                return False
            if _draw(plan.seed, kind, call, occurrence) >= rule.share:
                return False
            if consume:
                self._counts[kind] += 1
            return True

    def _count(self, kind: str, limit: int | None = None) -> bool:
        """Count one fault of ``kind``; False (not counted) when ``limit`` is reached."""
        with self._lock:
            if limit is not None and self._counts[kind] >= limit:
                return False
            self._counts[kind] += 1
            return True

    # service-managed StackSets (emulator.stacksets)

    def stackset_pacing(self, stack_set_name: str) -> StackSetPacing | None:
        """How long an operation of that stack set takes under the plan; None: it ends within the request."""
        plan = self.plan
        pacing = plan.stackset_operations if plan is not None else None
        return pacing if pacing is not None and pacing.applies_to(stack_set_name) else None

    def count_paced_answer(self) -> None:
        """One DescribeStackSetOperation answer showed an operation still QUEUED or RUNNING."""
        with self._lock:
            if "stackset_operations" in self._counts:
                self._counts["stackset_operations"] += 1

    def stack_instance_failure(self, account_id: str, region: str, stack_set_name: str, operation: str) -> str | None:
        """The message the plan fails that stack instance's ``operation`` (create, update, delete) with, counted;
        None when it does not."""
        plan = self.plan
        if plan is None:
            return None
        for rule in plan.fail_stack_instances:
            if not rule.matches(account_id, region, stack_set_name, operation):
                continue
            with self._lock:
                if rule.limit is not None and self._instance_fail_counts.get(rule, 0) >= rule.limit:
                    continue
                self._instance_fail_counts[rule] = self._instance_fail_counts.get(rule, 0) + 1
                self._counts["fail_stack_instances"] = self._counts.get("fail_stack_instances", 0) + 1
            return rule.message
        return None

    # outage

    def _in_outage(self, outage: Outage, call: Call) -> bool:
        if not outage.only.matches(call):
            return False
        with self._lock:
            if outage.calls is not None:
                if not self._outage_calls_left:
                    return False
                self._outage_calls_left -= 1
                self._outage_started = self._outage_started if self._outage_started is not None else self.clock()
            else:
                now = self.clock()
                if self._outage_started is None:
                    self._outage_started = now
                if now >= self._outage_started + (outage.seconds or 0.0):
                    return False
            self._counts["outage"] += 1
            return True

    def _outage_answer(self, outage: Outage, call: Call, environ: dict[str, Any],
                       start_response: StartResponse) -> Iterable[bytes]:
        if outage.response == "unavailable":
            protocol = protocol_of(call.service, environ)
            return _respond(start_response, error_answer(call.service, protocol, server_error(protocol, "unavailable")))
        if outage.response == "bad_gateway":
            return _respond(start_response, _BAD_GATEWAY)
        if outage.response == "timeout":
            time.sleep(outage.hold_seconds)  # the client's read timeout should end the wait first
        return drop_connection(environ)

    # sts:AssumeRole

    def _denial(self, plan: FaultPlan, call: Call, parameters: dict[str, str]) -> Answer | None:
        role_arn = parameters.get("RoleArn", "")
        parts = role_arn.split(":")
        if len(parts) < 6 or parts[4] not in plan.deny_accounts:
            return None
        self._count("deny_accounts")
        caller = sts_access.caller_arn(call.access_key_id, call.account_id, call.region)
        status, headers, payload = sts_access.access_denied(
            f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role_arn}")
        return status, list(headers.items()), payload

    # CloudFormation stacks

    def _stack_faults(self, plan: FaultPlan, call: Call, parameters: dict[str, str],
                      outcome: _Outcome) -> Answer | None:
        if call.operation == "DescribeStacks":
            with self._lock:
                outcome.describe_hangs = {name: hang for (account_id, region, name), hang in self._hangs.items()
                                          if account_id == call.account_id and region == call.region}
            return None
        if call.operation not in _STACK_WRITES:
            return None
        request = _stack_request(call, parameters)
        if request is None or not request.stack_name:
            return None
        key = (call.account_id, call.region, request.stack_name)
        with self._lock:
            hang = self._hangs.get(key)
            if hang is not None and self._hang_over(hang):
                del self._hangs[key]
                hang = None
            if call.operation == "DeleteStack":
                self._hangs.pop(key, None)  # a delete ends the hang (see README)
        if hang is not None and call.operation in _REFUSED_WHILE_HANGING:
            return _validation_error(f"Stack:{hang.stack_id} is in {hang.status} state and can not be updated.")
        if request.kind not in STACK_OPERATIONS:
            return None
        outcome.stack = request
        outcome.fail_rule = next((rule for rule in plan.fail_stacks if request.kind in rule.operations
                                  and rule.target.matches(call.account_id, call.region, request.stack_name)), None)
        outcome.hang = next((rule for rule in plan.hang_stacks
                             if rule.target.matches(call.account_id, call.region, request.stack_name)), None)
        return None

    def _hang_over(self, hang: _Hang) -> bool:
        if hang.describes_left is not None:
            return hang.describes_left <= 0
        return hang.until is not None and self.clock() >= hang.until

    def _start_hang(self, rule: HangStack, call: Call, request: _StackRequest) -> None:
        stack = _live_stack(call.account_id, call.region, request.stack_name)
        if stack is None:  # e.g. a failed create with OnFailure=DELETE: nothing left to describe
            return
        status = "CREATE_IN_PROGRESS" if request.kind == "create" else "UPDATE_IN_PROGRESS"
        until = None if rule.seconds is None else self.clock() + rule.seconds
        with self._lock:
            self._hangs[(call.account_id, call.region, request.stack_name)] = _Hang(
                str(stack.stack_id), status, rule.describes, until)

    def _describe_answer(self, call: Call, payload: bytes, candidates: dict[str, _Hang]) -> bytes:
        with self._lock:
            active = {}
            for name, hang in candidates.items():
                key = (call.account_id, call.region, name)
                if self._hangs.get(key) is not hang:
                    continue
                if self._hang_over(hang):
                    del self._hangs[key]
                    continue
                active[name] = hang
        if not active:
            return payload
        payload, shown = _show_in_progress(payload, active)
        with self._lock:
            for name in shown:
                hang = active[name]
                self._counts["hang_stacks"] += 1
                if hang.describes_left is not None:
                    hang.describes_left -= 1
                    if hang.describes_left <= 0 and self._hangs.get((call.account_id, call.region, name)) is hang:
                        del self._hangs[(call.account_id, call.region, name)]
        return payload

    # around the forwarded call

    def _around(self, call: Call, environ: dict[str, Any], start_response: StartResponse, forward: Forward,
                outcome: _Outcome) -> Iterable[bytes]:
        fail_rule = outcome.fail_rule
        if fail_rule is not None and fail_rule.limit is not None:
            with self._lock:
                if self._fail_counts.get(fail_rule, 0) >= fail_rule.limit:
                    fail_rule = None
        with _failing_first_resource(fail_rule) as injected:
            status_line, headers, payload = _capture(forward, environ)
        status = int(status_line.split(" ", 1)[0])
        if fail_rule is not None and injected is not None and injected.fired:
            with self._lock:
                self._counts["fail_stacks"] += 1
                self._fail_counts[fail_rule] = self._fail_counts.get(fail_rule, 0) + 1
        if outcome.hang is not None and outcome.stack is not None and status < 300:
            self._start_hang(outcome.hang, call, outcome.stack)
        if outcome.describe_hangs and status < 300:
            payload = self._describe_answer(call, payload, outcome.describe_hangs)
        if outcome.lose is not None and status < 300 and self._count("lost_response", outcome.lose.limit):
            if outcome.lose.response == "drop":
                return drop_connection(environ)
            protocol = protocol_of(call.service, environ)
            return _respond(start_response, error_answer(call.service, protocol,
                                                         server_error(protocol, outcome.lose.response)))
        headers = [(name, value) for name, value in headers if name.lower() != "content-length"]
        return _respond(start_response, (status, headers, payload), status_line)


_serving = threading.local()


def serving() -> Faults | None:
    """The ``Faults`` whose plan is serving the AWS call this thread is answering; None when no plan is set."""
    faults: Faults | None = getattr(_serving, "faults", None)
    return faults if faults is not None and faults.plan is not None else None


@contextmanager
def _failing_first_resource(rule: FailStack | None) -> Iterator[Any]:
    if rule is None:
        yield None
        return
    from emulator.cfn_stacks.failures import failing_first_resource

    with failing_first_resource(InjectedResourceError(rule.message)) as injected:
        yield injected


def _capture(forward: Forward, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes]:
    """Run the call to its end and keep its answer (status line, headers, body) instead of sending it."""
    captured: dict[str, Any] = {}
    chunks: list[bytes] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], Any]:
        captured["status"], captured["headers"] = status, list(headers)
        return chunks.append

    iterable = forward(environ, start_response)
    try:
        chunks.extend(iterable)
    finally:
        close = getattr(iterable, "close", None)
        if close is not None:
            close()
    return str(captured.get("status", "500 Internal Server Error")), captured.get("headers", []), b"".join(chunks)


def _respond(start_response: StartResponse, answer: Answer, status_line: str | None = None) -> Iterable[bytes]:
    status, headers, payload = answer
    start_response(status_line or f"{status} {HTTPStatus(status).phrase}",
                   [*headers, ("Content-Length", str(len(payload)))])
    return [payload]

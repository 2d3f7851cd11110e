"""The WSGI layer in front of moto.

It answers the emulator's own paths (never forwarded to moto):

    GET    /_orgiam/calls    the AWS API calls served so far:
                             [{"service", "operation", "account_id", "access_key_id"}, ...]
    DELETE /_orgiam/calls    forget them
    POST   /_orgiam/reset    reset all of moto's state and the call log (so does moto's /moto-api/reset)
    GET    /_orgiam/status   {"ready": bool}: false while ``serve`` is still seeding
    POST   /_orgiam/stack-status
                             put a CloudFormation stack in a status, for tests of how a client handles it:
                             {"account_id", "stack_name", "status", "region" (default us-east-1),
                              "reason" (optional)} -> {"stack_id", "status"}; 404 when there is no such
                             stack, 400 for a bad request or status
    POST   /_orgiam/faults   put a fault plan in force (``emulator.faults``; README "Faults"), replacing any
                             other, its counters at zero -> the plan as taken (with its seed); 400 for a bad plan
    GET    /_orgiam/faults   {"plan" (null when none), "counts" (faults injected, by kind), "outage",
                             "hanging" (stacks shown in progress now)}
    DELETE /_orgiam/faults   clear the plan and its counters (a reset does too)

records every AWS API call before moto serves it, injects the faults of the plan in force, answers the AWS
operations moto lacks (``account:PutAccountName``), and refuses ``sts:AssumeRole`` into a role another
account does not have, and the calls of orgiam's own roles that their IAM policies do not allow
(``emulator.iam_enforce``).
"""

from __future__ import annotations

import io
import json
import threading
from http import HTTPStatus
from collections.abc import Callable, Iterable
from typing import Any

from emulator import account_api, iam_enforce, scaling, sts_access
from emulator.call_log import AccountResolver, CallLog, CallRecord, SigningScope, operation_name, signing_scope
from emulator.faults import Call, FaultPlan, Faults, PlanError

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

CALLS_PATH = "/_orgiam/calls"
RESET_PATH = "/_orgiam/reset"
STATUS_PATH = "/_orgiam/status"
STACK_STATUS_PATH = "/_orgiam/stack-status"
FAULTS_PATH = "/_orgiam/faults"
MOTO_RESET_PATH = "/moto-api/reset"


class EmulatorState:
    """What the emulator knows beyond moto: the call log, which account each access key is in, the fault
    plan in force, and whether it is ready to be used."""

    def __init__(self) -> None:
        self.calls = CallLog()
        self.accounts = AccountResolver()
        self.faults = Faults()
        self._ready = threading.Event()
        self._ready.set()

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    def set_ready(self, ready: bool) -> None:
        if ready:
            self._ready.set()
        else:
            self._ready.clear()


def reset_moto_state() -> None:
    """Reset every moto backend, as ``POST /moto-api/reset`` does, and what that leaves behind."""
    from moto.moto_api._internal.models import moto_api_backend
    from moto.organizations.models import organizations_backends

    moto_api_backend.reset()
    # moto keeps its member-to-management account map across resets
    organizations_backends.master_accounts.clear()
    iam_enforce.clear()
    scaling.clear()


class OrgiamMiddleware:
    def __init__(self, app: WsgiApp, state: EmulatorState) -> None:
        self._app = app
        self._state = state

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith("/_orgiam/"):
            return self._own_path(path, str(environ.get("REQUEST_METHOD", "GET")).upper(), start_response, environ)
        if path == MOTO_RESET_PATH and environ.get("REQUEST_METHOD") == "POST":
            return self._reset(start_response)  # moto's own reset path: the same, so the emulator's state goes too

        body = _take_body(environ)
        scope = signing_scope(environ.get("HTTP_AUTHORIZATION"))
        if scope is None:
            return self._app(environ, start_response)

        account_id = self._state.accounts.account_of(scope.access_key_id, environ)
        # tell moto the account, so that it does not look the access key up again
        environ["HTTP_X_MOTO_ACCOUNT_ID"] = account_id
        operation = operation_name(scope.service, environ, body)
        self._state.calls.append(CallRecord(scope.service, operation, account_id, scope.access_key_id))
        faults = self._state.faults
        if faults.plan is not None:
            call = Call(scope.service, operation, account_id, scope.region, scope.access_key_id)
            return faults.serve(call, environ, body, start_response,
                                lambda env, respond: self._serve_aws(env, respond, path, scope, account_id, operation,
                                                                     body))
        return self._serve_aws(environ, start_response, path, scope, account_id, operation, body)

    def _serve_aws(self, environ: dict[str, Any], start_response: Callable[..., Any], path: str, scope: SigningScope,
                   account_id: str, operation: str, body: bytes) -> Iterable[bytes]:
        """One signed AWS call: the emulator's own operations and checks, then moto."""
        if scope.service == "account" and path == account_api.PUT_ACCOUNT_NAME_PATH:
            status, headers, payload = account_api.put_account_name(account_id, scope.region, body)
            return _respond(start_response, status, payload, headers)
        refused = iam_enforce.denial(scope.service, operation, account_id, scope.access_key_id, scope.region, environ,
                                     body)
        if refused is not None:
            status, headers, payload = refused
            return _respond(start_response, status, payload, headers)
        if scope.service == "sts" and operation == "AssumeRole":
            message = sts_access.denial(account_id, scope.access_key_id, scope.region,
                                        sts_access.request_parameters(environ, body))
            if message is not None:
                status, headers, payload = sts_access.access_denied(message)
                return _respond(start_response, status, payload, headers)
        return self._app(environ, start_response)

    def _reset(self, start_response: Callable[..., Any]) -> Iterable[bytes]:
        reset_moto_state()
        self._state.accounts.clear()
        self._state.calls.clear()
        self._state.faults.clear()
        return _respond_json(start_response, 200, {"status": "ok"})

    def _own_path(
        self, path: str, method: str, start_response: Callable[..., Any], environ: dict[str, Any]
    ) -> Iterable[bytes]:
        if path == CALLS_PATH and method == "GET":
            return _respond_json(start_response, 200, self._state.calls.snapshot())
        if path == CALLS_PATH and method == "DELETE":
            self._state.calls.clear()
            return _respond_json(start_response, 200, {"status": "ok"})
        if path == RESET_PATH and method == "POST":
            return self._reset(start_response)
        if path == STATUS_PATH and method == "GET":
            return _respond_json(start_response, 200, {"ready": self._state.ready})
        if path == STACK_STATUS_PATH and method == "POST":
            status, answer = _set_stack_status(_take_body(environ))
            return _respond_json(start_response, status, answer)
        if path == FAULTS_PATH and method == "POST":
            return self._set_faults(_take_body(environ), start_response)
        if path == FAULTS_PATH and method == "GET":
            return _respond_json(start_response, 200, self._state.faults.snapshot())
        if path == FAULTS_PATH and method == "DELETE":
            self._state.faults.clear()
            return _respond_json(start_response, 200, {"status": "ok"})
        if path in (CALLS_PATH, RESET_PATH, STATUS_PATH, STACK_STATUS_PATH, FAULTS_PATH):
            return _respond_json(start_response, 405, {"error": f"{method} is not supported on {path}"})
        return _respond_json(start_response, 404, {"error": f"unknown emulator path {path}"})


    def _set_faults(self, body: bytes, start_response: Callable[..., Any]) -> Iterable[bytes]:
        try:
            plan = FaultPlan.from_json(json.loads(body or b"{}"))
        except ValueError as error:  # PlanError, or JSON that does not parse
            message = str(error) if isinstance(error, PlanError) else f"the body must be JSON: {error}"
            return _respond_json(start_response, 400, {"error": message})
        self._state.faults.set(plan)
        return _respond_json(start_response, 200, self._state.faults.snapshot())


def _set_stack_status(body: bytes) -> tuple[int, dict[str, Any]]:
    from emulator.cfn_stacks import force_stack_status

    try:
        request = json.loads(body or b"{}")
        account_id, stack_name, status = (str(request[key]) for key in ("account_id", "stack_name", "status"))
        region = str(request.get("region") or "us-east-1")
        reason = request.get("reason")
    except (ValueError, KeyError, TypeError):
        return 400, {"error": "the body must be JSON with account_id, stack_name and status"}
    try:
        stack = force_stack_status(account_id, region, stack_name, status, str(reason) if reason else None)
    except KeyError:
        return 404, {"error": f"stack {stack_name} does not exist in {account_id} {region}"}
    except ValueError as error:
        return 400, {"error": str(error)}
    return 200, {"stack_id": stack.stack_id, "status": stack.status}


def _take_body(environ: dict[str, Any]) -> bytes:
    """Read the request body and put it back, so that moto still finds it."""
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if length.isdigit():
        body = stream.read(int(length)) if int(length) else b""
    elif environ.get("wsgi.input_terminated"):
        body = stream.read()
    else:
        body = b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _respond_json(start_response: Callable[..., Any], status: int, payload: Any) -> Iterable[bytes]:
    return _respond(start_response, status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


def _respond(
    start_response: Callable[..., Any], status: int, payload: bytes, headers: dict[str, str]
) -> Iterable[bytes]:
    header_list = [*headers.items(), ("Content-Length", str(len(payload)))]
    start_response(f"{status} {HTTPStatus(status).phrase}", header_list)
    return [payload]

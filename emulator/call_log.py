"""The record of every AWS API call the emulator served, and how a call is recognised.

A call is recognised from the request alone, as AWS sees it: the service from the SigV4 signing scope of
the ``Authorization`` header, the operation from ``X-Amz-Target`` (JSON protocols), the ``Action``
parameter (query protocols) or the service's REST routes, and the account from the access key id, the
way moto itself maps an access key to an account.
"""

from __future__ import annotations

import functools
import os
import re
import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")


@dataclass(frozen=True)
class SigningScope:
    access_key_id: str
    region: str
    service: str


@dataclass(frozen=True)
class CallRecord:
    service: str
    operation: str
    account_id: str
    access_key_id: str

    def as_dict(self) -> dict[str, str]:
        return {"service": self.service, "operation": self.operation, "account_id": self.account_id,
                "access_key_id": self.access_key_id}


class CallLog:
    """A thread-safe, ordered list of ``CallRecord``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[CallRecord] = []

    def append(self, record: CallRecord) -> None:
        with self._lock:
            self._records.append(record)

    def snapshot(self) -> list[dict[str, str]]:
        with self._lock:
            return [record.as_dict() for record in self._records]

    def clear(self) -> None:
        with self._lock:
            self._records.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)


def signing_scope(authorization: str | None) -> SigningScope | None:
    """The access key id, region and service of a SigV4 ``Authorization`` header."""
    match = _CREDENTIAL.search(authorization or "")
    if not match:
        return None
    access_key_id, region, service = match.groups()
    return SigningScope(access_key_id, region, service.lower())


def operation_name(service: str, environ: dict[str, Any], body: bytes) -> str:
    """The API operation a request invokes."""
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return str(target).rsplit(".", 1)[-1]
    action = _query_action(environ.get("QUERY_STRING", "")) or _form_action(environ, body)
    if action:
        return action
    method = str(environ.get("REQUEST_METHOD", "GET")).upper()
    path = str(environ.get("PATH_INFO", "/"))
    return _rest_operation(service, method, path) or f"{method} {path}"


class AccountResolver:
    """The account a request lands in, with moto's precedence: ``MOTO_ACCOUNT_ID``, the
    ``x-moto-account-id`` header, then moto's own access key -> account mapping (the account whose IAM
    holds the key; moto's default account for a key it does not know). An access key never moves
    between accounts, so the answer is kept until moto's state is reset.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_access_key: dict[str, str] = {}

    def account_of(self, access_key_id: str, environ: dict[str, Any]) -> str:
        if "MOTO_ACCOUNT_ID" in os.environ:
            return os.environ["MOTO_ACCOUNT_ID"]
        header = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
        if header:
            return str(header)
        with self._lock:
            cached = self._by_access_key.get(access_key_id)
        if cached is not None:
            return cached
        account_id = _account_holding(access_key_id)
        with self._lock:
            self._by_access_key[access_key_id] = account_id
        return account_id

    def clear(self) -> None:
        with self._lock:
            self._by_access_key.clear()


def _account_holding(access_key_id: str) -> str:
    """moto's ``get_account_id_from``, looking first where it can without cost.

    moto's lookup builds an IAM backend for each of six partitions in every account it walks, and walks
    them all: about 4 ms a call with 1,000 accounts. The account IAM made the key in is asked first
    (``emulator.scaling``: one lookup, whatever the number of accounts); then the backends that exist are
    searched; moto's own lookup answers only for a key none of them holds (moto's default account).
    """
    from moto.iam.models import get_account_id_from, iam_backends

    from emulator import scaling

    known = scaling.account_of_access_key(access_key_id)
    if known is not None:
        return known
    for account_id, account_backends in list(iam_backends.items()):
        for backend in list(account_backends.values()):
            if access_key_id in backend.access_keys:
                return str(account_id)
    return str(get_account_id_from(access_key_id))


def _query_action(query_string: str) -> str | None:
    values = parse_qs(query_string).get("Action")
    return values[0] if values else None


def _form_action(environ: dict[str, Any], body: bytes) -> str | None:
    if "x-www-form-urlencoded" not in str(environ.get("CONTENT_TYPE", "")) or not body:
        return None
    values = parse_qs(body.decode("utf-8", errors="replace")).get("Action")
    return values[0] if values else None


def _rest_operation(service: str, method: str, path: str) -> str | None:
    for route_method, pattern, name in _rest_routes(service):
        if route_method == method and pattern.match(path):
            return name
    return None


@functools.lru_cache(maxsize=64)
def _rest_routes(service: str) -> tuple[tuple[str, re.Pattern[str], str], ...]:
    """(method, path pattern, operation) for each operation of a REST protocol service."""
    import botocore.session
    from botocore.exceptions import UnknownServiceError

    try:
        model = botocore.session.get_session().get_service_model(service)
    except UnknownServiceError:
        return ()
    if model.protocol not in ("rest-json", "rest-xml"):
        return ()
    routes = []
    for name in model.operation_names:
        http = model.operation_model(name).http
        uri = str(http.get("requestUri", "/")).split("?", 1)[0]
        pattern = "".join(
            "[^/]+" if part.startswith("{") else re.escape(part) for part in re.split(r"(\{[^}]+\})", uri)
        )
        routes.append((str(http.get("method", "GET")).upper(), re.compile(f"^{pattern}/?$"), name))
    # literal routes before templated ones, so "/putAccountName" never loses to "/{Name}"
    routes.sort(key=lambda route: route[1].pattern.count("[^/]+"))
    return tuple(routes)

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS access for every orgiam step: sessions, clients, assumed roles, call counting, errors.

Plain Python: no Ansible imports. Every client honours an explicit endpoint or
``AWS_ENDPOINT_URL`` (botocore reads it itself), uses botocore's ``standard``
retry mode for throttling, and counts the API operations it makes, per account,
so that the engine can report and tests can assert how many calls a sync costs.
"""

from __future__ import annotations

import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

try:
    import boto3
    import botocore.config
    import botocore.exceptions

    HAS_BOTO3 = True
except ImportError:  # pragma: no cover - reported by the callers
    HAS_BOTO3 = False

DEFAULT_REGION = "us-east-1"
DEFAULT_MEMBER_ROLE = "OrganizationAccountAccessRole"
ENDPOINT_ENV = "AWS_ENDPOINT_URL"

# Operations that only read. Anything else counts as a write (tests use this to
# prove that check mode writes nothing).
READ_PREFIXES = ("Describe", "List", "Get", "AssumeRole", "Validate", "Estimate")


class AwsAccessError(Exception):
    """An AWS error explained in one line, with the error code when AWS gave one."""

    def __init__(self, message: str, code: str = "") -> None:
        super().__init__(message)
        self.code = code


def is_write_operation(operation: str) -> bool:
    return not operation.startswith(READ_PREFIXES)


def botocore_config(max_pool: int = 10) -> "botocore.config.Config":
    return botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=max_pool,
    )


def endpoint_hint(endpoint_url: str | None) -> str:
    if endpoint_url:
        return (
            f"nothing answers at {endpoint_url}: start the emulator with `make emulator`, "
            f"or unset {ENDPOINT_ENV} to use AWS itself"
        )
    return "check your network connection and AWS region"


def one_line(text: str, limit: int = 400) -> str:
    """The first line of an error, trimmed: HTML bodies and stack dumps stay out of reports."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= limit else first[: limit - 3] + "..."


def explain_aws_error(exc: BaseException, endpoint_url: str | None = None, doing: str = "") -> AwsAccessError:
    """Turn a boto3/botocore exception into one clear line (no traceback)."""
    error = _explain(exc, endpoint_url, doing)
    return AwsAccessError(one_line(str(error)), error.code)


def _explain(exc: BaseException, endpoint_url: str | None, doing: str) -> AwsAccessError:
    prefix = f"{doing}: " if doing else ""
    if isinstance(exc, AwsAccessError):
        return AwsAccessError(prefix + str(exc), exc.code)
    if not HAS_BOTO3:
        return AwsAccessError(prefix + str(exc))
    if isinstance(exc, botocore.exceptions.NoCredentialsError):
        return AwsAccessError(
            prefix + "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY (for the emulator any value works, e.g. 'testing')",
            "NoCredentials",
        )
    if isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError)):
        return AwsAccessError(prefix + endpoint_hint(endpoint_url or os.environ.get(ENDPOINT_ENV)), "EndpointUnreachable")
    if isinstance(exc, botocore.exceptions.ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        message = str(error.get("Message", "")).strip()
        return AwsAccessError(f"{prefix}{code}: {message}" if message else f"{prefix}{code}", code)
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return AwsAccessError(prefix + str(exc), type(exc).__name__)
    return AwsAccessError(f"{prefix}{type(exc).__name__}: {exc}")


@dataclass
class CallLog:
    """Thread-safe count of API operations, keyed by account id."""

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    calls: dict[str, Counter] = field(default_factory=dict)

    def record(self, account_id: str, service: str, operation: str) -> None:
        with self._lock:
            self.calls.setdefault(account_id, Counter())[f"{service}:{operation}"] += 1

    def total(self, account_id: str | None = None) -> int:
        with self._lock:
            if account_id is not None:
                return sum(self.calls.get(account_id, Counter()).values())
            return sum(sum(c.values()) for c in self.calls.values())

    def for_account(self, account_id: str) -> dict[str, int]:
        with self._lock:
            return dict(self.calls.get(account_id, Counter()))

    def writes(self) -> list[str]:
        with self._lock:
            return sorted(
                {key for counter in self.calls.values() for key in counter if is_write_operation(key.split(":", 1)[1])}
            )


@dataclass
class AwsSettings:
    """Where and as whom to call AWS. Empty values fall back to the standard chain."""

    region: str = DEFAULT_REGION
    profile: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    session_token: str | None = None
    endpoint_url: str | None = None
    assume_role_arn: str | None = None
    member_role_name: str = DEFAULT_MEMBER_ROLE  # may carry a path: "orgiam/orgiam-deployer"
    session_name: str = "orgiam"
    # the caller's own credentials serve only this account, and only when the caller is in it:
    # Organizations creates no access role in the management account
    management_account_id: str = ""
    # TLS verification: None (botocore's default, honours AWS_CA_BUNDLE), False, or a CA bundle path.
    verify: bool | str | None = None


class AwsClients:
    """Creates clients for the caller's account and for member accounts.

    Member accounts are reached by assuming ``member_role_name`` there. Assumed
    credentials are cached per account for the life of the object. Client
    creation shares one botocore session (it is not thread-safe, so a lock
    guards it); the clients themselves are used from many threads.
    """

    def __init__(self, settings: AwsSettings, call_log: CallLog | None = None, max_pool: int = 10) -> None:
        if not HAS_BOTO3:
            raise AwsAccessError("orgiam needs boto3 and botocore: pip install -r requirements.txt")
        self.settings = settings
        self.call_log = call_log or CallLog()
        self._config = botocore_config(max_pool)
        self._lock = threading.Lock()
        self._credentials: dict[str, dict[str, str]] = {}
        self._caller_account: str | None = None
        self._session = boto3.Session(
            profile_name=settings.profile or None,
            aws_access_key_id=settings.access_key or None,
            aws_secret_access_key=settings.secret_key or None,
            aws_session_token=settings.session_token or None,
            region_name=settings.region or DEFAULT_REGION,
        )
        self._base_credentials: dict[str, str] | None = None
        if settings.assume_role_arn:
            self._base_credentials = self._assume(settings.assume_role_arn, None, account_label="caller")

    @property
    def endpoint_url(self) -> str | None:
        return self.settings.endpoint_url or os.environ.get(ENDPOINT_ENV) or None

    def _make_client(self, service: str, credentials: dict[str, str] | None, account_label: str, region: str | None = None) -> Any:
        kwargs: dict[str, Any] = {"config": self._config, "region_name": region or self.settings.region or DEFAULT_REGION}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
        if self.settings.verify is not None:
            kwargs["verify"] = self.settings.verify
        creds = credentials or self._base_credentials
        if creds:
            kwargs.update(
                aws_access_key_id=creds["AccessKeyId"],
                aws_secret_access_key=creds["SecretAccessKey"],
                aws_session_token=creds["SessionToken"],
            )
        with self._lock:
            client = self._session.client(service, **kwargs)
        log = self.call_log

        def count(model: Any = None, **_: Any) -> None:
            log.record(account_label, service, model.name if model is not None else "?")

        client.meta.events.register("before-call", count)
        return client

    def _assume(self, role_arn: str, credentials: dict[str, str] | None, account_label: str) -> dict[str, str]:
        sts = self._make_client("sts", credentials, account_label)
        try:
            response = sts.assume_role(RoleArn=role_arn, RoleSessionName=self.settings.session_name)
        except Exception as exc:  # botocore raises many kinds; all become one line
            raise explain_aws_error(exc, self.endpoint_url, f"cannot assume {role_arn}") from None
        return response["Credentials"]

    def client(self, service: str, region: str | None = None) -> Any:
        """A client for the caller's own account (or the role given by assume_role_arn)."""
        return self._make_client(service, None, "caller", region)

    def member_client(self, service: str, account_id: str, partition: str = "aws") -> Any:
        """A client acting in ``account_id`` through the member role (cached credentials).

        Every account is reached through the member role, the caller's own included (a
        pipeline's build role deploys nothing itself), except the management account when
        the caller is in it.
        """
        if account_id == self.settings.management_account_id and account_id == self.caller_account_id():
            return self._make_client(service, None, account_id)
        with self._lock:
            creds = self._credentials.get(account_id)
        if creds is None:
            role_arn = f"arn:{partition}:iam::{account_id}:role/{self.settings.member_role_name}"
            creds = self._assume(role_arn, None, account_id)
            with self._lock:
                self._credentials[account_id] = creds
        return self._make_client(service, creds, account_id)

    def caller_account_id(self) -> str:
        """Who we are; also the preflight: a dead endpoint or missing credentials fail here, fast.

        This one call gets two attempts, not the eight that ride out throttling, so a
        typo in AWS_ENDPOINT_URL is reported in about a second.
        """
        if self._caller_account is None:
            quick = botocore.config.Config(retries={"mode": "standard", "max_attempts": 2}, connect_timeout=3, read_timeout=20)
            saved, self._config = self._config, self._config.merge(quick)
            try:
                sts = self._make_client("sts", None, "caller")
            finally:
                self._config = saved
            try:
                ident = sts.get_caller_identity()
            except Exception as exc:
                raise explain_aws_error(exc, self.endpoint_url, "cannot call AWS") from None
            self._caller_account = str(ident["Account"])
        return self._caller_account

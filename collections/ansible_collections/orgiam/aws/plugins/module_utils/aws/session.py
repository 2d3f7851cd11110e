# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS access for every orgiam step: settings, sessions, clients, assumed roles, call counting.

Plain Python: no Ansible imports. Every client honours an explicit endpoint or
``AWS_ENDPOINT_URL`` (botocore reads it itself), uses botocore's ``standard``
retry mode for throttling, and counts the API operations it makes, per account,
so that the engine can report and tests can assert how many calls a sync costs.
The region comes from one chain (option, ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the
profile, us-east-1) and the partition from the region, so that GovCloud and China work.
Assumed-role credentials are refreshed before they expire, however long a run takes.
"""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import Any, Callable

try:
    import boto3
    import botocore.config
    import botocore.exceptions

    HAS_BOTO3 = True
except ImportError:  # pragma: no cover - reported by the callers
    HAS_BOTO3 = False

from .errors import ENDPOINT_ENV, AwsAccessError, explain_aws_error, is_transient, is_unreachable, is_write_operation

DEFAULT_REGION = "us-east-1"
DEFAULT_MEMBER_ROLE = "OrganizationAccountAccessRole"
# assumed credentials are renewed when less than this is left: a client made now lives through
# its task (a stack operation waits at most stack_timeout_seconds, 900 s by default)
REFRESH_MARGIN_SECONDS = 20 * 60
PREFLIGHT_ATTEMPTS = 8
PARTITION_PREFIXES = (("us-gov-", "aws-us-gov"), ("cn-", "aws-cn"), ("us-isob-", "aws-iso-b"), ("us-iso-", "aws-iso"),
                      ("eu-isoe-", "aws-iso-e"), ("us-isof-", "aws-iso-f"))


def region_from_environment(explicit: str | None = None) -> str:
    """The region chain every orgiam entry point uses: the option, then the environment, then us-east-1."""
    return explicit or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def partition_of(region: str) -> str:
    """The ARN partition of a region: aws, aws-us-gov, aws-cn, ..."""
    for prefix, partition in PARTITION_PREFIXES:
        if region.startswith(prefix):
            return partition
    return "aws"

def botocore_config(max_pool: int = 10) -> "botocore.config.Config":
    return botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 8},
        connect_timeout=5,
        read_timeout=60,
        max_pool_connections=max_pool,
    )


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
        """The operations counted for one account ("service:Operation" -> count)."""
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
    credentials are cached per account and assumed again when less than
    ``REFRESH_MARGIN_SECONDS`` of them are left, so a run of any length keeps working.
    Client creation shares one botocore session (it is not thread-safe, so a lock guards
    it; a session per thread was tried, and cost twice the memory for no time at 1,000
    accounts, the run being bound by CPU); the clients themselves are used from many
    threads. Each thread keeps one STS client for the AssumeRole calls it makes, counted
    under the account being reached: a client fewer to make for every account.
    """

    def __init__(self, settings: AwsSettings, call_log: CallLog | None = None, max_pool: int = 10,
                 sleep: Any = time.sleep) -> None:
        if not HAS_BOTO3:
            raise AwsAccessError("orgiam needs boto3 and botocore: pip install --require-hashes -r requirements/runtime.txt")
        self.settings = settings
        self.call_log = call_log or CallLog()
        self._sleep = sleep
        self._config = botocore_config(max_pool)
        self._lock = threading.Lock()  # guards the credentials cache
        self._credentials: dict[str, dict[str, Any]] = {}
        self._identity: tuple[str, str] | None = None
        self._local = threading.local()  # this thread's STS clients and the account its AssumeRole reaches
        self._session = boto3.Session(
            profile_name=settings.profile or None,
            aws_access_key_id=settings.access_key or None,
            aws_secret_access_key=settings.secret_key or None,
            aws_session_token=settings.session_token or None,
            region_name=settings.region or DEFAULT_REGION,
        )

    @property
    def endpoint_url(self) -> str | None:
        return self.settings.endpoint_url or os.environ.get(ENDPOINT_ENV) or None

    @property
    def region(self) -> str:
        return self.settings.region or DEFAULT_REGION

    @property
    def partition(self) -> str:
        """The partition of the region orgiam works in (aws, aws-us-gov, aws-cn, ...)."""
        return partition_of(self.region)

    def _make_client(
        self, service: str, credentials: dict[str, Any] | None, account_label: str | Callable[[], str],
        region: str | None = None, config: Any = None,
    ) -> Any:
        kwargs: dict[str, Any] = {"config": config or self._config, "region_name": region or self.region}
        if self.settings.endpoint_url:
            kwargs["endpoint_url"] = self.settings.endpoint_url
        if self.settings.verify is not None:
            kwargs["verify"] = self.settings.verify
        if credentials is None and self.settings.assume_role_arn:
            credentials = self._cached("caller", self.settings.assume_role_arn, base=True)
        if credentials:
            kwargs.update(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
        with self._lock:
            client = self._session.client(service, **kwargs)
        log = self.call_log

        def count(model: Any = None, **_: Any) -> None:
            label = account_label() if callable(account_label) else account_label
            log.record(label, service, model.name if model is not None else "?")

        client.meta.events.register("before-call", count)
        return client

    def _sts(self, base: bool) -> Any:
        """This thread's STS client for AssumeRole: the caller's own credentials (``base``) or the caller's role (made
        again when those were refreshed). Its calls are counted under the account the thread is reaching."""
        creds = _OWN if base else (
            self._cached("caller", self.settings.assume_role_arn, base=True) if self.settings.assume_role_arn else None)
        key = "sts_base" if base else "sts"
        held = getattr(self._local, key, None)
        if held is None or held[0] is not creds:
            local = self._local
            held = (creds, self._make_client("sts", creds, lambda: getattr(local, "label", "caller")))
            setattr(self._local, key, held)
        return held[1]

    def _assume(self, role_arn: str, account_label: str, base: bool) -> dict[str, Any]:
        # the caller's role (assume_role_arn) is assumed with the caller's own credentials; member
        # roles with the caller's role when there is one
        sts = self._sts(base)
        self._local.label = account_label
        try:
            response = sts.assume_role(RoleArn=role_arn, RoleSessionName=self.settings.session_name)
        except Exception as exc:  # botocore raises many kinds; all become one line
            raise explain_aws_error(exc, self.endpoint_url, f"cannot assume {role_arn}") from None
        finally:
            self._local.label = "caller"
        return dict(response["Credentials"])

    def _cached(self, key: str, role_arn: str, base: bool = False) -> dict[str, Any]:
        with self._lock:
            creds = self._credentials.get(key)
        if creds is None or not fresh(creds):
            creds = self._assume(role_arn, key if not base else "caller", base)
            with self._lock:
                self._credentials[key] = creds
        return creds

    def client(self, service: str, region: str | None = None) -> Any:
        """A client for the caller's own account (or the role given by assume_role_arn)."""
        return self._make_client(service, None, "caller", region)

    def member_role_arn(self, account_id: str) -> str:
        return f"arn:{self.partition}:iam::{account_id}:role/{self.settings.member_role_name}"

    def member_client(self, service: str, account_id: str, region: str | None = None, label: str | None = None) -> Any:
        """A client acting in ``account_id`` through the member role (cached, refreshed credentials).

        Every account is reached through the member role, the caller's own included (a
        pipeline's build role deploys nothing itself), except the management account when
        the caller is in it. Its calls are counted under ``label`` (default: the account id).
        """
        label = label or account_id
        if account_id == self.settings.management_account_id and account_id == self.caller_account_id():
            return self._make_client(service, None, label, region)
        creds = self._cached(account_id, self.member_role_arn(account_id))
        return self._make_client(service, creds, label, region)

    def caller_identity(self) -> tuple[str, str]:
        """(account id, ARN) of the caller; also the preflight: a dead endpoint or missing credentials fail here.

        This one call gets two attempts, not the eight that ride out throttling, so a
        typo in AWS_ENDPOINT_URL is reported in about a second.
        """
        if self._identity is None:
            # orgiam retries itself: throttling and server errors up to PREFLIGHT_ATTEMPTS times, so a
            # throttled start does not abort the run, but nothing answering at all only twice
            single = self._config.merge(botocore.config.Config(
                retries={"mode": "standard", "max_attempts": 1}, connect_timeout=3, read_timeout=20))
            sts = self._make_client("sts", None, "caller", config=single)
            delay = 0.5
            for attempt in range(1, PREFLIGHT_ATTEMPTS + 1):
                try:
                    ident = sts.get_caller_identity()
                    break
                except Exception as exc:
                    gave_up = attempt >= (2 if is_unreachable(exc) else PREFLIGHT_ATTEMPTS)
                    if gave_up or not is_transient(exc):
                        raise explain_aws_error(exc, self.endpoint_url, "cannot call AWS") from None
                    self._sleep(delay)
                    delay = min(delay * 2, 8.0)
            self._identity = (str(ident["Account"]), str(ident.get("Arn", "")))
        return self._identity

    def caller_account_id(self) -> str:
        return self.caller_identity()[0]


# the caller's own credentials (from the standard chain), even when assume_role_arn is set
_OWN: dict[str, Any] = {}


def fresh(credentials: dict[str, Any], now: float | None = None) -> bool:
    """Whether assumed credentials have more than REFRESH_MARGIN_SECONDS left (no Expiration: yes)."""
    expiration = credentials.get("Expiration")
    if expiration is None:
        return True
    if isinstance(expiration, str):
        expiration = datetime.fromisoformat(expiration.replace("Z", "+00:00"))
    if expiration.tzinfo is None:
        expiration = expiration.replace(tzinfo=timezone.utc)
    left = expiration.timestamp() - (time.time() if now is None else now)
    return left > REFRESH_MARGIN_SECONDS

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS errors as orgiam reports them: one line, with the AWS error code.

Every boto3/botocore exception becomes an ``AwsAccessError`` (message, code) before it leaves the
``aws`` package, so that no step above it needs to know botocore's exception classes.
"""

from __future__ import annotations

import os
from typing import Any, Callable

try:
    import botocore.exceptions

    HAS_BOTOCORE = True
except ImportError:  # pragma: no cover - reported by the callers
    HAS_BOTOCORE = False

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


def error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ClientError (or of an AwsAccessError); '' for anything else."""
    if isinstance(exc, AwsAccessError):
        return exc.code
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):  # ConnectionClosedError and friends carry no response
        return ""
    return str((response.get("Error") or {}).get("Code", ""))


def error_message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    if not isinstance(response, dict):
        return str(exc)
    return str((response.get("Error") or {}).get("Message", ""))


THROTTLING_CODES = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "RequestThrottled", "SlowDown", "BandwidthLimitExceeded", "ProvisionedThroughputExceededException",
})


def is_unreachable(exc: BaseException) -> bool:
    """Nothing answers at all (a wrong endpoint, no network): retrying does not help much."""
    return HAS_BOTOCORE and isinstance(exc, (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ConnectTimeoutError))


# server errors and dropped connections, as AWS and botocore name them (also once explained by explain_aws_error)
SERVER_CODES = frozenset({
    "InternalFailure", "InternalError", "InternalServerError", "ServiceUnavailable", "ServiceUnavailableException",
    "ConnectionClosedError", "ReadTimeoutError", "ConnectTimeoutError", "EndpointConnectionError", "EndpointUnreachable",
    "ProxyConnectionError", "HTTPClientError",
})


def is_transient(exc: BaseException) -> bool:
    """Throttled, a server error, or a connection that dropped mid-way: worth another try."""
    if error_code(exc) in THROTTLING_CODES | SERVER_CODES:
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        status = (response.get("ResponseMetadata") or {}).get("HTTPStatusCode", 0)
        if isinstance(status, int) and (status >= 500 or status == 429):
            return True
    return HAS_BOTOCORE and isinstance(exc, (botocore.exceptions.ConnectionClosedError, botocore.exceptions.ReadTimeoutError,
                                             botocore.exceptions.EndpointConnectionError))


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
    if not HAS_BOTOCORE:
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
        code = error_code(exc) or "Unknown"
        message = error_message(exc).strip()
        return AwsAccessError(f"{prefix}{code}: {message}" if message else f"{prefix}{code}", code)
    if isinstance(exc, botocore.exceptions.BotoCoreError):
        return AwsAccessError(prefix + str(exc), type(exc).__name__)
    return AwsAccessError(f"{prefix}{type(exc).__name__}: {exc}", type(exc).__name__)


def call(doing: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
    """One AWS call whose failure becomes an AwsAccessError saying what was being done."""
    try:
        return fn(**kwargs)
    except Exception as exc:
        raise explain_aws_error(exc, doing=doing) from None

"""A resource that fails inside a stack operation, and how its error reads in events and status reasons.

moto lets a resource's exception escape the CloudFormation request (an HTTP error of the resource's
service, the stack left ``*_IN_PROGRESS``). While the emulator runs a stack operation, the resource's
error is caught where moto creates a resource and raised again as ``ResourceFailed``, which names the
resource, so that the operation can roll back as CloudFormation does. Template errors (a missing
parameter, an export that does not exist) stay what they are: CloudFormation rejects those before it
starts, and so does the emulator.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable, Iterator
from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation.exceptions import ExportNotFound, MissingParameterError, UnsupportedAttribute, ValidationError

# errors in the template itself: the API call fails, nothing is left behind
TEMPLATE_ERRORS: tuple[type[Exception], ...] = (ValidationError, MissingParameterError, ExportNotFound, UnsupportedAttribute)

# CloudFormation's handler error codes for the service error codes the emulator's resources raise
_HANDLER_CODES = {
    "EntityAlreadyExists": "AlreadyExists",
    "ResourceExistsException": "AlreadyExists",
    "AlreadyExistsException": "AlreadyExists",
    "NoSuchEntity": "NotFound",
    "ResourceNotFoundException": "NotFound",
    "LimitExceeded": "ServiceLimitExceeded",
    "LimitExceededException": "ServiceLimitExceeded",
    "MalformedPolicyDocument": "InvalidRequest",
    "InvalidInput": "InvalidRequest",
    "ValidationError": "InvalidRequest",
    "InvalidParameterException": "InvalidRequest",
    "InvalidRequestException": "InvalidRequest",
    "DeleteConflict": "ResourceConflict",
}


def error_code(error: BaseException) -> str:
    """The AWS error code of a moto exception (its class name for anything else)."""
    for attribute in ("error_type", "code"):
        value = getattr(error, attribute, None)
        if isinstance(value, str) and value:
            return value
    return type(error).__name__


def error_message(error: BaseException) -> str:
    message = getattr(error, "message", None)
    if isinstance(message, str) and message:
        return " ".join(message.split())
    return " ".join(str(error).split()) or type(error).__name__


class ResourceFailed(Exception):
    """``logical_id`` failed; ``attempted`` holds the properties a failed update was applying."""

    def __init__(self, logical_id: str, resource_type: str, error: BaseException,
                 attempted: dict[str, Any] | None = None) -> None:
        super().__init__(f"{logical_id}: {error_message(error)}")
        self.logical_id = logical_id
        self.resource_type = resource_type
        self.error = error
        self.attempted = attempted

    @property
    def code(self) -> str:
        return error_code(self.error)

    @property
    def event_reason(self) -> str:
        """The reason on the resource's *_FAILED event, shaped like CloudFormation's."""
        service = self.resource_type.split("::")[1] if self.resource_type.count("::") >= 2 else "CloudFormation"
        handler_code = _HANDLER_CODES.get(self.code, "GeneralServiceException")
        return (f'Resource handler returned message: "{error_message(self.error)} (Service: {service}, '
                f'Error Code: {self.code})" (HandlerErrorCode: {handler_code})')

    @property
    def summary(self) -> str:
        """What the emulator adds to the stack's status reason: the resource and its error."""
        return f"{self.logical_id}: {error_message(self.error)} ({self.code})"


_operation = threading.local()


def in_operation() -> bool:
    return bool(getattr(_operation, "depth", 0))


@contextlib.contextmanager
def stack_operation() -> Iterator[None]:
    """Within this block (one request's thread), a failing resource raises ``ResourceFailed``."""
    _operation.depth = getattr(_operation, "depth", 0) + 1
    try:
        yield
    finally:
        _operation.depth -= 1


class InjectedFailure:
    """A failure the emulator's fault plan (``emulator.faults``) puts on the first resource that a stack
    operation creates or updates; ``fired`` once it has."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        self.fired = False


@contextlib.contextmanager
def failing_first_resource(error: BaseException) -> Iterator[InjectedFailure]:
    """Within this block (one request's thread), the first resource a stack operation creates or updates
    fails with ``error`` before anything is done to it; the operation then fails and rolls back as it
    would for a real error."""
    injected = InjectedFailure(error)
    previous = getattr(_operation, "injected", None)
    _operation.injected = injected
    try:
        yield injected
    finally:
        _operation.injected = previous


def failing_as_resource(logical_id: str, resource_type: str, action: Callable[[], Any],
                        attempted: dict[str, Any] | None = None) -> Any:
    """Run ``action``; an error that is not a template error becomes ``ResourceFailed(logical_id)``."""
    injected: InjectedFailure | None = getattr(_operation, "injected", None)
    if injected is not None and not injected.fired:
        injected.fired = True
        raise ResourceFailed(logical_id, resource_type, injected.error)
    try:
        return action()
    except (ResourceFailed, *TEMPLATE_ERRORS):
        raise
    except Exception as error:
        raise ResourceFailed(logical_id, resource_type, error, attempted) from error


def _naming_the_resource(create: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(create)
    def parse_and_create_resource(logical_id: str, resource_json: dict[str, Any], resources_map: Any,
                                  account_id: str, region_name: str) -> Any:
        if not in_operation():
            return create(logical_id, resource_json, resources_map, account_id, region_name)
        return failing_as_resource(
            logical_id, str(resource_json.get("Type", "")),
            lambda: create(logical_id, resource_json, resources_map, account_id, region_name),
        )

    parse_and_create_resource.__wrapped_by_orgiam__ = True  # type: ignore[attr-defined]
    return parse_and_create_resource


def install() -> None:
    if not getattr(parsing.parse_and_create_resource, "__wrapped_by_orgiam__", False):
        parsing.parse_and_create_resource = _naming_the_resource(parsing.parse_and_create_resource)

"""Service-managed stack set operations as AWS runs them: queued, running, then ended, account by account.

An operation (``CREATE``, ``UPDATE``, ``DELETE``) is submitted with what it must do when it starts
(``prepare``: the stack set's new definition, the accounts and Regions it reaches) and its preferences:

- AWS runs one operation of a stack set at a time. With ``ManagedExecution`` off (the default) another
  one while one is QUEUED or RUNNING is refused (``OperationInProgressException`` "Another Operation on
  StackSet <arn> is in progress"); with it on, the new one is QUEUED and starts when those before it end.
  An ``OperationId`` already used by the stack set is ``OperationIdAlreadyExistsException``.
- Without pacing an operation starts and ends within its request. With the fault plan's
  ``stackset_operations`` (``emulator.faults``) it stays RUNNING for that many DescribeStackSetOperation
  answers, or seconds of the plan's clock, and ends at the first look after that; its stack instances show
  DetailedStatus PENDING (queued) or RUNNING meanwhile, and its accounts' resources change only when it ends.
- When it ends, each Region's accounts run in batches (``MaxConcurrentCount``/``Percentage``; under
  ``STRICT_FAILURE_TOLERANCE``, the default, at most ``FailureToleranceCount`` + 1 less the failures so far).
  An account whose stack fails (a resource that fails, e.g. a role that already exists there, or the fault
  plan's ``fail_stack_instances``) is FAILED in the results and its instance OUTDATED with CloudFormation's
  reason; the others go on. When a Region's failures exceed its tolerance (``FailureToleranceCount``, or
  ``FailureTolerancePercentage`` of its accounts rounded down), its remaining accounts, and those of every
  later Region (``SEQUENTIAL``, the default; ``PARALLEL`` Regions each go on), are CANCELLED ("Cancelled
  since failure tolerance has exceeded") and the operation is FAILED; otherwise SUCCEEDED.
- An instance's stack is created when it has none (a failed create is rolled back and leaves none), updated
  when the stack set's template or its parameters (with the instance's overrides) differ from what it last
  deployed, and left alone otherwise: an update that changes nothing reaches no resource, but still runs as
  an operation with a result for each account.
- A delete that fails leaves the instance INOPERABLE; ``RetainStacks`` forgets the instance and keeps its
  resources.
- Automatic deployments (``emulator.stacksets``) run as operations of their own at once, whatever else is
  queued, with no preferences (AWS: preferences don't apply to them): each account stands alone, and the
  operation FAILED when one did.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.exceptions import CloudFormationError, ValidationError
from moto.cloudformation.models import Stack, cloudformation_backends
from moto.core.utils import utcnow

from emulator import faults as faults_module
from emulator.cfn_stacks import engine
from emulator.cfn_stacks.failures import ResourceFailed, error_message
from emulator.cfn_stacks.templates import dependency_order, parse_template
from emulator.stacksets_targets import Preferences

QUEUED, RUNNING, SUCCEEDED, FAILED, STOPPING, STOPPED = "QUEUED", "RUNNING", "SUCCEEDED", "FAILED", "STOPPING", "STOPPED"
ACTIVE = (QUEUED, RUNNING, STOPPING)
CANCELLED_BY_TOLERANCE = "Cancelled since failure tolerance has exceeded"
CANCELLED_BY_STOP = "Cancelled since the operation was stopped"


# the emulator serves requests on threads: one stack set operation's state changes at a time
_lock = threading.RLock()


def _locked(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def locked(*args: Any, **kwargs: Any) -> Any:
        with _lock:
            return function(*args, **kwargs)

    return locked


class OperationInProgressException(CloudFormationError):
    code = "OperationInProgressException"


class OperationIdAlreadyExistsException(CloudFormationError):
    code = "OperationIdAlreadyExistsException"


class OperationNotFoundException(CloudFormationError):
    code = "OperationNotFoundException"


class InvalidOperationException(CloudFormationError):
    code = "InvalidOperationException"


# --- the stack set's state beyond moto's ------------------------------------------------------------


def extras(stack_set: Any) -> None:
    """Attributes AWS shows on a service-managed stack set (DescribeStackSet serialises them by name)."""
    if not hasattr(stack_set, "auto_deployment"):
        stack_set.auto_deployment = {"Enabled": False, "RetainStacksOnAccountRemoval": False}
        stack_set.organizational_unit_ids = []
        stack_set.regions = []
        stack_set.capabilities = []
        stack_set.orgiam_managed_execution = False
        stack_set.orgiam_operations = []


def operations_of(stack_set: Any) -> list[Operation]:
    extras(stack_set)
    found: list[Operation] = stack_set.orgiam_operations
    return found


def partition_of(stack_set: Any) -> str:
    return str(stack_set.arn.split(":")[1])


# --- stack instances --------------------------------------------------------------------------------


class Instance:
    """A stack instance of a service-managed stack set: its status, and the stack (hidden from
    DescribeStacks, as moto's are) that holds its resources in its account."""

    def __init__(self, stack_set: Any, account_id: str, region_name: str, ou_id: str) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.organizational_unit_id = ou_id
        self.stackset_id = stack_set.id
        self.stack_set_name = stack_set.name
        self.parameters: list[dict[str, Any]] = []  # the instance's ParameterOverrides
        self.status = "OUTDATED"
        self.detailed_status = "PENDING"
        self.status_reason: str | None = None
        self.last_operation_id: str | None = None
        self.stack: Stack | None = None
        self.applied: tuple[str, dict[str, Any]] | None = None  # template and parameters last deployed
        self.permission_model = "SERVICE_MANAGED"
        self.stack_id = (f"arn:{partition_of(stack_set)}:cloudformation:{region_name}:{account_id}:stack/"
                         f"StackSet-{stack_set.name}-{uuid.uuid4()}/{uuid.uuid4()}")
        self.stack_name = self.stack_id.split("/")[1]

    def overrides(self) -> dict[str, Any]:
        return {p["ParameterKey"]: p["ParameterValue"] for p in self.parameters if "ParameterValue" in p}

    def to_dict(self, described: bool = False) -> dict[str, Any]:
        """A StackInstanceSummary (ListStackInstances), or a StackInstance (DescribeStackInstance)."""
        data: dict[str, Any] = {
            "StackSetId": self.stackset_id,
            "Region": self.region_name,
            "Account": self.account_id,
            "StackId": self.stack_id,
            "Status": self.status,
            "StackInstanceStatus": {"DetailedStatus": self.detailed_status},
            "OrganizationalUnitId": self.organizational_unit_id,
            "DriftStatus": "NOT_CHECKED",
        }
        if self.status_reason:
            data["StatusReason"] = self.status_reason
        if self.last_operation_id:
            data["LastOperationId"] = self.last_operation_id
        if described:
            data["ParameterOverrides"] = [{"ParameterKey": k, "ParameterValue": v} for k, v in self.overrides().items()]
        return data

    def delete(self) -> None:
        """Delete the stack's resources (moto's own paths call this)."""
        if self.stack is not None:
            engine.delete(self.stack, set())
            self.stack = None


def instance_of(stack_set: Any, account_id: str, region: str) -> Instance | None:
    return next((i for i in stack_set.instances.stack_instances
                 if i.account_id == account_id and i.region_name == region), None)


# --- operations -------------------------------------------------------------------------------------


@dataclass
class Work:
    """One account and Region of an operation: deploy the stack set there, or delete its instance."""

    account_id: str
    region: str
    ou_id: str
    delete: bool = False
    retain: bool = False
    overrides: list[dict[str, Any]] | None = None  # the instance's new ParameterOverrides (None: as they are)
    result: str = "PENDING"
    reason: str | None = None


@dataclass
class Operation:
    operation_id: str
    action: str
    stack_set: Any
    preferences: Preferences
    prepare: Callable[[Operation], list[Work]]
    deployment_targets: dict[str, Any] | None = None
    retain_stacks: bool | None = None
    status: str = QUEUED
    creation_timestamp: dt.datetime = field(default_factory=utcnow)
    end_timestamp: dt.datetime | None = None
    work: list[Work] = field(default_factory=list)
    pacing: faults_module.StackSetPacing | None = None
    faults: faults_module.Faults | None = None
    describes_left: int | None = None
    due: float | None = None

    @property
    def failed_count(self) -> int:
        return sum(1 for w in self.work if w.result == FAILED)

    def summary(self) -> dict[str, Any]:
        """A StackSetOperationSummary (ListStackSetOperations)."""
        data: dict[str, Any] = {"OperationId": self.operation_id, "Action": self.action, "Status": self.status,
                                "CreationTimestamp": self.creation_timestamp,
                                "StatusDetails": {"FailedStackInstancesCount": self.failed_count},
                                "OperationPreferences": self.preferences.shown}
        if self.end_timestamp is not None:
            data["EndTimestamp"] = self.end_timestamp
        return data

    def description(self) -> dict[str, Any]:
        """A StackSetOperation (DescribeStackSetOperation)."""
        data = self.summary()
        data.update({"StackSetId": self.stack_set.id, "AdministrationRoleARN": self.stack_set.administration_role_arn,
                     "ExecutionRoleName": self.stack_set.execution_role_name})
        if self.deployment_targets:
            data["DeploymentTargets"] = self.deployment_targets
        if self.retain_stacks is not None:
            data["RetainStacks"] = self.retain_stacks
        return data

    def results(self) -> list[dict[str, Any]]:
        """StackSetOperationResultSummary of every account and Region (ListStackSetOperationResults)."""
        found = []
        for w in self.work:
            result: dict[str, Any] = {
                "Account": w.account_id, "Region": w.region, "Status": w.result, "OrganizationalUnitId": w.ou_id,
                "AccountGateResult": {"Status": "SKIPPED", "StatusReason": (
                    f"Function not found: arn:{partition_of(self.stack_set)}:lambda:{w.region}:{w.account_id}:"
                    "function:AWSCloudFormationStackSetAccountGate")},
            }
            if w.reason:
                result["StatusReason"] = w.reason
            found.append(result)
        return found

    def is_due(self) -> bool:
        if self.status != RUNNING:
            return False
        if self.describes_left is not None:
            return self.describes_left <= 0
        if self.due is not None and self.faults is not None:
            return self.faults.clock() >= self.due
        return True


def find(stack_set: Any, operation_id: str) -> Operation:
    operation = next((o for o in operations_of(stack_set) if o.operation_id == operation_id), None)
    if operation is None:
        raise OperationNotFoundException(f"Operation {operation_id} not found for StackSet {stack_set.name}")
    return operation


@_locked
def submit(stack_set: Any, action: str, prepare: Callable[[Operation], list[Work]], preferences: Preferences,
           operation_id: str | None = None, deployment_targets: dict[str, Any] | None = None,
           retain_stacks: bool | None = None) -> Operation:
    """Queue an operation (refused while another runs unless ManagedExecution is on) and run what is due."""
    advance(stack_set)
    operations = operations_of(stack_set)
    if operation_id and any(o.operation_id == operation_id for o in operations):
        raise OperationIdAlreadyExistsException(f"The operation id {operation_id} already exists for this StackSet")
    if not preferences.auto and any(o.status in ACTIVE for o in operations) and not stack_set.orgiam_managed_execution:
        raise OperationInProgressException(f"Another Operation on StackSet {stack_set.arn} is in progress")
    operation = Operation(operation_id or str(uuid.uuid4()), action, stack_set, preferences, prepare,
                          deployment_targets=deployment_targets, retain_stacks=retain_stacks)
    serving = faults_module.serving()
    if serving is not None and not preferences.auto:
        operation.faults = serving
        operation.pacing = serving.stackset_pacing(stack_set.name)
    if preferences.auto:  # automatic deployments run at once, queue or not
        operations.append(operation)
        _start(operation)
        _finish(operation)
        return operation
    operations.append(operation)
    advance(stack_set)
    return operation


@_locked
def advance(stack_set: Any) -> None:
    """End the running operation if it is due, start the next queued one, and so on while they are due."""
    operations = operations_of(stack_set)
    while True:
        running = next((o for o in operations if o.status in (RUNNING, STOPPING)), None)
        if running is not None:
            if running.status == RUNNING and not running.is_due():
                return
            _finish(running)
            continue
        queued = next((o for o in operations if o.status == QUEUED), None)
        if queued is None:
            return
        _start(queued)


@_locked
def looked_at(operation: Operation) -> None:
    """One DescribeStackSetOperation answer saw the operation still queued or running."""
    if operation.status in ACTIVE and operation.pacing is not None:
        if operation.status == RUNNING and operation.describes_left is not None:
            operation.describes_left -= 1
        if operation.faults is not None:
            operation.faults.count_paced_answer()


@_locked
def stop(stack_set: Any, operation_id: str) -> None:
    """StopStackSetOperation: a queued or running operation is STOPPED; the accounts it had not reached are
    CANCELLED (here none has started: resources change only when an operation ends)."""
    advance(stack_set)
    operation = find(stack_set, operation_id)
    if operation.status not in ACTIVE:
        raise InvalidOperationException(f"Operation {operation_id} is {operation.status} and cannot be stopped")
    for w in operation.work:  # a queued one has none: it never started
        _cancel(stack_set, operation, w, CANCELLED_BY_STOP)
    operation.status = STOPPED
    operation.end_timestamp = utcnow()
    advance(stack_set)


def _start(operation: Operation) -> None:
    operation.status = RUNNING
    operation.work = operation.prepare(operation)
    stack_set = operation.stack_set
    for w in operation.work:
        instance = instance_of(stack_set, w.account_id, w.region)
        if instance is None and not w.delete:
            instance = Instance(stack_set, w.account_id, w.region, w.ou_id)
            stack_set.instances.stack_instances.append(instance)
        if instance is not None:
            instance.detailed_status = RUNNING
            instance.status_reason = None
            if w.overrides is not None:
                instance.parameters = list(w.overrides)
        w.result = RUNNING
    pacing = operation.pacing
    if pacing is not None:
        operation.describes_left = pacing.describes
        if pacing.seconds is not None and operation.faults is not None:
            operation.due = operation.faults.clock() + pacing.seconds


def _finish(operation: Operation) -> None:
    stack_set = operation.stack_set
    if operation.status == STOPPING:
        operation.status = STOPPED
        operation.end_timestamp = utcnow()
        return
    preferences = operation.preferences
    regions: list[str] = []
    for w in operation.work:
        if w.region not in regions:
            regions.append(w.region)
    stopped = False
    for region in preferences.ordered(regions):
        items = [w for w in operation.work if w.region == region]
        if stopped and not preferences.parallel_regions:
            for w in items:
                _cancel(stack_set, operation, w, CANCELLED_BY_TOLERANCE)
            continue
        tolerance, concurrency = preferences.tolerance(len(items)), preferences.concurrency(len(items))
        failures, index = 0, 0
        while index < len(items) and failures <= tolerance:
            size = max(1, min(concurrency, tolerance + 1 - failures)) if preferences.strict else concurrency
            for w in items[index:index + size]:
                failures += 0 if _run(operation, w) else 1
            index += size
        for w in items[index:]:
            _cancel(stack_set, operation, w, CANCELLED_BY_TOLERANCE)
        if failures > tolerance or (preferences.auto and failures):
            stopped = True
    operation.status = FAILED if stopped else SUCCEEDED
    operation.end_timestamp = utcnow()


def _cancel(stack_set: Any, operation: Operation, w: Work, reason: str) -> None:
    w.result, w.reason = "CANCELLED", reason
    instance = instance_of(stack_set, w.account_id, w.region)
    if instance is not None:
        instance.detailed_status, instance.status_reason = "CANCELLED", reason
        instance.last_operation_id = operation.operation_id


# --- one account and Region -------------------------------------------------------------------------


def _run(operation: Operation, w: Work) -> bool:
    """Do ``w``; record its result on the work and the instance. False when it failed."""
    stack_set = operation.stack_set
    instance = instance_of(stack_set, w.account_id, w.region)
    if instance is not None:
        instance.last_operation_id = operation.operation_id
    if w.delete:
        failure = _delete(stack_set, operation, w, instance)
    else:
        assert instance is not None
        failure = _deploy(stack_set, operation, instance)
    w.result, w.reason = (FAILED, failure) if failure else (SUCCEEDED, None)
    return failure is None


def _injected(operation: Operation, stack_set: Any, w_account: str, region: str, kind: str) -> str | None:
    serving = operation.faults or faults_module.serving()
    return serving.stack_instance_failure(w_account, region, stack_set.name, kind) if serving is not None else None


def _deploy(stack_set: Any, operation: Operation, instance: Instance) -> str | None:
    template = str(stack_set.template)
    parameters = {**dict(stack_set.parameters or {}), **instance.overrides()}
    kind = "create" if instance.stack is None else "update"
    message = _injected(operation, stack_set, instance.account_id, instance.region_name, kind)
    if message is not None:
        return _failed(instance, _injected_reason(template, message))
    try:
        if instance.stack is None:
            reason = _create_stack(instance, template, parameters)
        elif instance.applied != (template, parameters):
            reason = _update_stack(instance, template, parameters)
        else:
            reason = None  # nothing changed: CloudFormation has nothing to do in that account
    except Exception as error:  # noqa: BLE001 - a template CloudFormation cannot use in that account fails the instance only
        reason = error_message(error)
    if reason is not None:
        return _failed(instance, reason)
    instance.applied = (template, parameters)
    instance.status, instance.detailed_status, instance.status_reason = "CURRENT", SUCCEEDED, None
    return None


def _failed(instance: Instance, reason: str) -> str:
    instance.status, instance.detailed_status, instance.status_reason = "OUTDATED", FAILED, reason
    return reason


def _create_stack(instance: Instance, template: str, parameters: dict[str, Any]) -> str | None:
    backend = cloudformation_backends[instance.account_id][instance.region_name]
    stack = Stack(stack_id=instance.stack_id, name=instance.stack_name, template=template, parameters=parameters,
                  account_id=instance.account_id, region_name=instance.region_name, notification_arns=[], tags=None,
                  role_arn=None, cross_stack_resources=backend.exports, enable_termination_protection=False)
    engine.create(backend, stack, engine.ROLLBACK)
    if stack.status != "CREATE_COMPLETE":
        return _failure_reason(stack, ("CREATE_FAILED",))  # rolled back: the instance has no stack
    instance.stack = stack
    return None


def _update_stack(instance: Instance, template: str, parameters: dict[str, Any]) -> str | None:
    stack = instance.stack
    assert stack is not None
    try:
        engine.update(stack, template, None, parameters, None)
    except ValidationError as error:
        if "No updates are to be performed" not in error_message(error):
            raise
        return None
    if stack.status != "UPDATE_COMPLETE":
        return _failure_reason(stack, ("UPDATE_FAILED", "CREATE_FAILED"))
    reconcile_conditions(stack.resource_map)
    return None


def _failure_reason(stack: Stack, statuses: tuple[str, ...]) -> str:
    """The instance's StatusReason, as StackSets words it, from the failed resource's event."""
    event = next((e for e in reversed(stack.events) if e.resource_status in statuses), None)
    if event is None:
        return str(stack.status_reason or stack.status)
    return (f"ResourceLogicalId:{event.logical_resource_id}, ResourceType:{event.resource_type}, "
            f"ResourceStatusReason:{event.resource_status_reason}.")


def _injected_reason(template: str, message: str) -> str:
    """The reason of an instance the fault plan fails: its first resource failed with ``message``."""
    try:
        resources = parse_template(template).get("Resources") or {}
        logical_id = dependency_order(resources)[0] if resources else "Stack"
        resource_type = str((resources.get(logical_id) or {}).get("Type", "AWS::CloudFormation::Stack"))
    except Exception:  # noqa: BLE001 - a template that does not parse: the stack itself failed
        logical_id, resource_type = "Stack", "AWS::CloudFormation::Stack"
    failure = ResourceFailed(logical_id, resource_type, faults_module.InjectedResourceError(message))
    return f"ResourceLogicalId:{logical_id}, ResourceType:{resource_type}, ResourceStatusReason:{failure.event_reason}."


def _delete(stack_set: Any, operation: Operation, w: Work, instance: Instance | None) -> str | None:
    if instance is None:
        return None
    message = _injected(operation, stack_set, w.account_id, w.region, "delete")
    if message is None and not w.retain and instance.stack is not None and not engine.delete(instance.stack, set()):
        message = str(instance.stack.status_reason or "The stack could not be deleted")
    if message is not None:
        instance.status, instance.detailed_status, instance.status_reason = "INOPERABLE", "INOPERABLE", message
        return message
    stack_set.instances.stack_instances.remove(instance)
    return None


# --- conditions on update ---------------------------------------------------------------------------


def reconcile_conditions(resource_map: Any) -> None:
    """After an update: a resource whose ``Condition`` no longer holds is deleted, one whose condition now
    holds and that does not exist is created (CloudFormation's update does both)."""
    for logical_id, resource_json in list(resource_map._resource_json_map.items()):
        if not isinstance(resource_json, dict) or "Condition" not in resource_json:
            continue
        present = resource_map._parsed_resources.get(logical_id)
        holds = bool(resource_map.lazy_condition_map[resource_json["Condition"]])
        is_model = present is not None and not isinstance(present, (str, int, float, bool, list, dict))
        if present is None:
            resource_map._parsed_resources.pop(logical_id, None)
        if holds and not is_model:
            _ = resource_map[logical_id]  # moto creates a resource on first access
        elif not holds and is_model:
            resource_map._delete_resource(present, resource_json)
            resource_map._parsed_resources.pop(logical_id, None)


# --- paging -----------------------------------------------------------------------------------------


def page(items: list[Any], max_results: Any, next_token: Any, key: str) -> tuple[list[Any], str | None]:
    """One page of ``items`` (at most 100, AWS's largest page) and the token for the next, if any."""
    size = 100 if max_results in (None, "") else int(max_results)
    if size < 1 or size > 100:
        raise ValidationError(message=(f"1 validation error detected: Value '{size}' at 'maxResults' failed to satisfy "
                                       "constraint: Member must have value "
                                       + ("greater than or equal to 1" if size < 1 else "less than or equal to 100")))
    start = 0
    if next_token:
        try:
            token = json.loads(bytes.fromhex(str(next_token)).decode())
            start = int(token["offset"]) if token.get("key") == key else -1
        except (ValueError, KeyError, TypeError):
            start = -1
        if start < 0:
            raise ValidationError(message="Invalid NextToken")
    chunk = items[start:start + size]
    more = start + size < len(items)
    return chunk, (json.dumps({"key": key, "offset": start + size}).encode().hex() if more else None)

"""moto's CloudFormation backend, with its stack operations run by ``emulator.cfn_stacks.engine``.

Replaced: ``create_stack`` (``on_failure``), ``update_stack``, ``delete_stack`` (termination protection,
``retain_resources``, DELETE_FAILED), ``execute_change_set`` (create/update with rollback,
``disable_rollback``), and ``create_change_set`` is checked first (template references, the stack's
state). Added: ``update_termination_protection``, ``continue_update_rollback``.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import AlreadyExistsException, ValidationError
from moto.cloudformation.models import CloudFormationBackend, Stack, cloudformation_backends
from moto.cloudformation.utils import generate_stack_id

from emulator.cfn_stacks import engine
from emulator.cfn_stacks.templates import check_references, parse_template

ORIGINALS: dict[str, Any] = {}

# every stack status CloudFormation has (botocore's StackStatus), for the emulator's control path
STACK_STATUSES = frozenset({
    "CREATE_IN_PROGRESS", "CREATE_FAILED", "CREATE_COMPLETE", "ROLLBACK_IN_PROGRESS", "ROLLBACK_FAILED",
    "ROLLBACK_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_FAILED", "DELETE_COMPLETE", "UPDATE_IN_PROGRESS",
    "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_COMPLETE", "UPDATE_FAILED", "UPDATE_ROLLBACK_IN_PROGRESS",
    "UPDATE_ROLLBACK_FAILED", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE",
    "REVIEW_IN_PROGRESS", "IMPORT_IN_PROGRESS", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_IN_PROGRESS",
    "IMPORT_ROLLBACK_FAILED", "IMPORT_ROLLBACK_COMPLETE",
})


def live_stack(backend: CloudFormationBackend, name_or_id: str) -> Stack | None:
    """The stack of that id or name that is not deleted."""
    if name_or_id in backend.stacks:
        return backend.stacks[name_or_id]
    return next((stack for stack in backend.stacks.values() if stack.name == name_or_id), None)


def _require_live(backend: CloudFormationBackend, name_or_id: str) -> Stack:
    stack = live_stack(backend, name_or_id)
    if stack is None:
        raise ValidationError(name_or_id)
    return stack


def create_stack(
    self: CloudFormationBackend, name: str, template: str, parameters: dict[str, Any],
    notification_arns: list[str] | None = None, tags: dict[str, str] | None = None, role_arn: str | None = None,
    enable_termination_protection: bool | None = False, timeout_in_mins: int | None = None,
    stack_policy_body: str | None = None, on_failure: str = engine.ROLLBACK,
) -> Stack:
    if any(stack.name == name for stack in self.stacks.values()):
        raise AlreadyExistsException(f"Stack [{name}] already exists")
    if on_failure not in engine.ON_FAILURE:
        raise ValidationError(message=(
            f"1 validation error detected: Value '{on_failure}' at 'onFailure' failed to satisfy constraint: "
            "Member must satisfy enum value set: [DO_NOTHING, ROLLBACK, DELETE]"))
    check_references(parse_template(template))
    stack = Stack(
        stack_id=generate_stack_id(name, self.region_name, self.account_id), name=name, template=template,
        parameters=parameters, account_id=self.account_id, region_name=self.region_name,
        notification_arns=notification_arns, tags=tags, role_arn=role_arn, cross_stack_resources=self.exports,
        enable_termination_protection=bool(enable_termination_protection), timeout_in_mins=timeout_in_mins,
        stack_policy_body=stack_policy_body,
    )
    self.stacks[stack.stack_id] = stack
    engine.create(self, stack, on_failure)
    return stack


def update_stack(
    self: CloudFormationBackend, name: str, template: str, role_arn: str | None,
    parameters: list[dict[str, Any]], tags: dict[str, str] | None,
) -> Stack:
    stack = _require_live(self, name)
    engine.check_updatable(stack)
    resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
    engine.update(stack, template, role_arn, resolved, tags)
    return stack


def delete_stack(self: CloudFormationBackend, name_or_stack_id: str, retain_resources: list[str] | None = None) -> None:
    stack = live_stack(self, name_or_stack_id)
    if stack is None:  # CloudFormation answers a delete of a stack that does not exist with success
        return
    if stack.enable_termination_protection:
        raise ValidationError(message=f"Stack [{stack.name}] cannot be deleted while TerminationProtection is enabled")
    retain = set(retain_resources or ())
    if retain and stack.status != "DELETE_FAILED":
        raise ValidationError(message=(
            f"Invalid operation on stack [{stack.stack_id}]: RetainResources can only be specified when the "
            "stack is in the DELETE_FAILED state"))
    if not engine.delete(stack, retain):
        return
    self.stacks.pop(stack.stack_id, None)
    for export_name, export in list(self.exports.items()):
        if export.exporting_stack_id == stack.stack_id:
            self.exports.pop(export_name)
    engine.set_status(stack, "DELETE_COMPLETE")
    self.deleted_stacks[stack.stack_id] = stack


def create_change_set(
    self: CloudFormationBackend, stack_name: str, change_set_name: str, template: str, parameters: dict[str, str],
    description: str, change_set_type: str, notification_arns: list[str] | None = None,
    tags: dict[str, str] | None = None, role_arn: str | None = None,
) -> tuple[str, str]:
    check_references(parse_template(template))
    existing = live_stack(self, stack_name)
    if change_set_type == "UPDATE":
        engine.check_updatable(_require_live(self, stack_name))
    elif existing is not None and existing.status != "REVIEW_IN_PROGRESS":
        raise ValidationError(message=(
            f"Stack [{stack_name}] already exists and cannot be created again with the changeSet [{change_set_name}]."))
    return ORIGINALS["create_change_set"](
        self, stack_name=stack_name, change_set_name=change_set_name, template=template, parameters=parameters,
        description=description, change_set_type=change_set_type, notification_arns=notification_arns, tags=tags,
        role_arn=role_arn,
    )


def execute_change_set(
    self: CloudFormationBackend, change_set_name: str, stack_name: str | None = None, disable_rollback: bool = False
) -> None:
    change_set = self.describe_change_set(change_set_name)
    if change_set.execution_status != "AVAILABLE":
        raise ValidationError(message=(
            f"ChangeSet [{change_set.change_set_id}] cannot be executed in its current execution status of "
            f"[{change_set.execution_status}]"))
    stack = self.stacks.get(change_set.stack_id)
    if stack is None:
        raise ValidationError(stack_name or change_set.stack_name)
    if change_set.change_set_type == "CREATE":
        stack.template = change_set.template
        stack._parse_template()
        stack.parameters = change_set.parameters
        stack.cross_stack_resources = self.exports
        stack.resource_map = stack._create_resource_map()
        stack.output_map = stack._create_output_map()
        engine.create(self, stack, engine.DO_NOTHING if disable_rollback else engine.ROLLBACK)
        succeeded = stack.status == "CREATE_COMPLETE"
    else:
        engine.check_updatable(stack)
        engine.update(stack, change_set.template, change_set.role_arn, change_set.parameters, change_set.tags or None)
        succeeded = stack.status == "UPDATE_COMPLETE"
    change_set.execution_status = "EXECUTE_COMPLETE" if succeeded else "EXECUTE_FAILED"


def update_termination_protection(self: CloudFormationBackend, name_or_stack_id: str, enable: bool) -> Stack:
    stack = _require_live(self, name_or_stack_id)
    stack.enable_termination_protection = bool(enable)
    return stack


def continue_update_rollback(self: CloudFormationBackend, name_or_stack_id: str,
                             resources_to_skip: list[str] | None = None) -> Stack:
    stack = _require_live(self, name_or_stack_id)
    engine.continue_rollback(stack, list(resources_to_skip or []))
    return stack


def force_stack_status(account_id: str, region_name: str, stack_name: str, status: str,
                       reason: str | None = None) -> Stack:
    """Put a stack in ``status`` as if CloudFormation had (for tests; the emulator's control path).

    Raises KeyError when the stack does not exist and ValueError for a status CloudFormation does not have
    or one that only DeleteStack can reach.
    """
    if status not in STACK_STATUSES or status == "DELETE_COMPLETE":
        raise ValueError(f"{status} is not a stack status that can be set (DELETE_COMPLETE: delete the stack)")
    stack = live_stack(cloudformation_backends[account_id][region_name], stack_name)
    if stack is None:
        raise KeyError(stack_name)
    if hasattr(stack, engine.PENDING_ROLLBACK):
        delattr(stack, engine.PENDING_ROLLBACK)
    engine.set_status(stack, status, reason or None, reason or None)
    return stack


_PATCHES = {
    "create_stack": create_stack,
    "update_stack": update_stack,
    "delete_stack": delete_stack,
    "create_change_set": create_change_set,
    "execute_change_set": execute_change_set,
    "update_termination_protection": update_termination_protection,
    "continue_update_rollback": continue_update_rollback,
}


def install() -> None:
    for name, replacement in _PATCHES.items():
        if name not in ORIGINALS:
            ORIGINALS[name] = CloudFormationBackend.__dict__.get(name)
        setattr(CloudFormationBackend, name, replacement)

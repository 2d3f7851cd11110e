"""What happens to a stack's resources when CloudFormation creates, updates or deletes it, or continues
its rollback, including when a resource fails.

- **Create**: resources in dependency order. When one fails: ``OnFailure=ROLLBACK`` (the default) deletes
  what was created, in reverse, and ends ``ROLLBACK_COMPLETE`` (``ROLLBACK_FAILED`` when a deletion
  fails); ``DELETE`` then deletes the stack; ``DO_NOTHING`` leaves ``CREATE_FAILED`` and the resources.
- **Update**: as CloudFormation orders it: new and changed resources in dependency order, then, once
  everything succeeded, the cleanup that deletes removed resources and replaced ones. When one fails, the
  rollback brings every changed resource back to the previous template's properties, deletes the new
  ones, and the stack ends ``UPDATE_ROLLBACK_COMPLETE`` with its previous template, parameters, tags and
  outputs. When the rollback itself fails (e.g. a resource it must restore was deleted out of band), the
  stack ends ``UPDATE_ROLLBACK_FAILED``; ``continue_rollback`` tries again, skipping the resources named.
- **Delete**: in reverse dependency order, ``DeletionPolicy: Retain`` and ``RetainResources`` kept; a
  resource that cannot be deleted leaves ``DELETE_FAILED``, and a later delete tries what is left.

Every step is recorded as a stack event, for the stack and for each resource, as in AWS.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.models import CloudFormationBackend, Event, Stack
from moto.cloudformation.parsing import OutputMap, ResourceMap, parse_resource_and_generate_name

from emulator.cfn_stacks.failures import (
    TEMPLATE_ERRORS,
    ResourceFailed,
    error_message,
    failing_as_resource,
    stack_operation,
)
from emulator.cfn_stacks.templates import check_references, dependency_order, in_order, parse_template, references

ROLLBACK, DELETE, DO_NOTHING = "ROLLBACK", "DELETE", "DO_NOTHING"
ON_FAILURE = (ROLLBACK, DELETE, DO_NOTHING)
UPDATABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE",
                       "IMPORT_ROLLBACK_COMPLETE"})
RETAINED_POLICIES = frozenset({"Retain", "RetainExceptOnCreate"})
PENDING_ROLLBACK = "_orgiam_pending_rollback"

Resource = Any  # a moto CloudFormationModel instance
Item = tuple[str, Resource, dict[str, Any]]  # logical id, resource, its template entry


@dataclass
class PendingRollback:
    """What an update's rollback still has to do: resources to bring back to the previous template, and
    resources the update added, to delete in the cleanup."""

    restore: list[str] = field(default_factory=list)
    added: list[Item] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # logical id -> why its restore failed


# --- events and status ------------------------------------------------------------------------------


def resource_event(stack: Stack, logical_id: str, resource_type: str, status: str, reason: str | None = None,
                   physical_id: str | None = None) -> None:
    event = Event(stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
                  physical_resource_id=physical_id or "", resource_type=resource_type, resource_status=status,
                  resource_status_reason=reason, resource_properties=None)
    event.sendToSns(stack.account_id, stack.region_name, stack.notification_arns)
    stack.events.append(event)


def _resource_done(stack: Stack, logical_id: str, resource: Resource, status: str) -> None:
    resource_event(stack, logical_id, str(getattr(resource, "cf_resource_type", "")), status,
                   physical_id=str(getattr(resource, "physical_resource_id", "") or ""))


def set_status(stack: Stack, status: str, reason: str | None = None, event_reason: str | None = None) -> None:
    stack.status = status
    stack.status_reason = reason
    stack._add_stack_event(status, resource_status_reason=event_reason)


def _forget_outputs(stack: Stack) -> None:
    """A stack whose resources are (partly) gone shows no outputs; evaluating them would make moto create
    the resources they name again."""
    stack.output_map = OutputMap(stack.resource_map, {"Outputs": {}}, stack.stack_id)


def _keep_only(resource_map: ResourceMap, logical_ids: list[str]) -> None:
    """The stack holds only these resources now (moto creates any other of its template on first look)."""
    entries = resource_map._resource_json_map
    resource_map._resource_json_map = {name: entries[name] for name in logical_ids if name in entries}


def _created(resource_map: ResourceMap, before: set[str], resources: dict[str, Any]) -> list[str]:
    """The resources created since ``before``, in the order they were created."""
    return [name for name in resource_map._parsed_resources if name not in before and name in resources]


def _delete_each(stack: Stack, items: list[Item]) -> dict[str, BaseException]:
    """Delete in the order given, passing over failures until no more progress is made (as moto does
    for dependency violations). Returns the resources that could not be deleted."""
    resource_map = stack.resource_map
    remaining = [item for item in items if item[1] is not None and not isinstance(item[1], str)]
    errors: dict[str, BaseException] = {}
    progress = True
    while remaining and progress:
        progress = False
        for item in list(remaining):
            logical_id, resource, entry = item
            try:
                resource_map._delete_resource(resource, entry)
            except Exception as error:
                errors[logical_id] = error
                continue
            errors.pop(logical_id, None)
            remaining.remove(item)
            progress = True
            _resource_done(stack, logical_id, resource, "DELETE_COMPLETE")
    for logical_id, resource, _ in remaining:
        resource_event(stack, logical_id, str(getattr(resource, "cf_resource_type", "")), "DELETE_FAILED",
                       error_message(errors[logical_id]))
    return {logical_id: errors[logical_id] for logical_id, _, _ in remaining}


# --- template checks --------------------------------------------------------------------------------


def check_template(template: dict[str, Any], stack_id: str, stack_name: str, parameters: dict[str, Any],
                   tags: dict[str, str], account_id: str, region_name: str,
                   cross_stack_resources: dict[str, Any] | None) -> None:
    """The errors CloudFormation answers before it starts: a broken reference, a missing parameter."""
    check_references(template)
    try:
        ResourceMap(stack_id, stack_name, parameters, tags, region_name=region_name, account_id=account_id,
                    template=template, cross_stack_resources=cross_stack_resources).load()
    except TEMPLATE_ERRORS:
        raise
    except Exception:  # moto's own checks stumble on types it does not know; the operation itself decides
        pass


def check_updatable(stack: Stack) -> None:
    if stack.status not in UPDATABLE:
        raise ValidationError(stack.stack_id,
                              message=f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated.")


# --- create -----------------------------------------------------------------------------------------


def create(backend: CloudFormationBackend, stack: Stack, on_failure: str = ROLLBACK) -> None:
    """Create the resources of a stack ``backend`` already holds (``stack.resource_map`` is loaded)."""
    resource_map = stack.resource_map
    resources = stack.template_dict.get("Resources") or {}
    before = set(resource_map._parsed_resources)
    stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.status = "CREATE_IN_PROGRESS"
    stack.disable_rollback = on_failure == DO_NOTHING
    try:
        with stack_operation():
            ready = resource_map.create(stack.template_dict)
        _check_exports(backend, stack)
    except ResourceFailed as failure:
        _fail_create(backend, stack, failure, _created(resource_map, before, resources), on_failure)
        return
    except TEMPLATE_ERRORS:
        created = _created(resource_map, before, resources)
        _delete_each(stack, [(name, resource_map._parsed_resources[name], resources[name]) for name in reversed(created)])
        backend.stacks.pop(stack.stack_id, None)
        raise
    for name in _created(resource_map, before, resources):
        _resource_done(stack, name, resource_map._parsed_resources[name], "CREATE_COMPLETE")
    stack.description = stack.template_dict.get("Description")
    for export in stack.exports:
        backend.exports[export.name] = export
    if ready:
        stack.mark_creation_complete()


def _check_exports(backend: CloudFormationBackend, stack: Stack) -> None:
    for export in stack.exports:
        other = backend.exports.get(export.name)
        if other is not None and other.exporting_stack_id != stack.stack_id:
            raise ValidationError(stack.stack_id, message="Export names must be unique across a given region")


def _fail_create(backend: CloudFormationBackend, stack: Stack, failure: ResourceFailed, created: list[str],
                 on_failure: str) -> None:
    resource_map = stack.resource_map
    for name in created:
        _resource_done(stack, name, resource_map._parsed_resources[name], "CREATE_COMPLETE")
    resource_event(stack, failure.logical_id, failure.resource_type, "CREATE_FAILED", failure.event_reason)
    reason = f"The following resource(s) failed to create: [{failure.logical_id}]. "
    _forget_outputs(stack)
    if on_failure == DO_NOTHING:
        _keep_only(resource_map, created)
        set_status(stack, "CREATE_FAILED", reason + failure.summary, reason)
        return
    stack._add_stack_event("ROLLBACK_IN_PROGRESS", resource_status_reason=reason + "Rollback requested by user.")
    stack.status = "ROLLBACK_IN_PROGRESS"
    entries = resource_map._resource_json_map
    retained = [name for name in created if entries[name].get("DeletionPolicy") == "Retain"]  # kept, outside the stack
    not_deleted = _delete_each(stack, [(name, resource_map._parsed_resources[name], entries[name])
                                       for name in reversed(created) if name not in retained])
    for name in created:
        if name not in not_deleted:
            resource_map._parsed_resources.pop(name, None)
    _keep_only(resource_map, list(not_deleted))
    if not_deleted:
        names = ", ".join(not_deleted)
        set_status(stack, "ROLLBACK_FAILED", f"The following resource(s) failed to delete: [{names}]. ")
        return
    set_status(stack, "ROLLBACK_COMPLETE", f"{reason}Rollback requested by user. {failure.summary}")
    if on_failure == DELETE and not stack.enable_termination_protection:
        backend.delete_stack(stack.stack_id)


# --- update -----------------------------------------------------------------------------------------


@dataclass
class _Context:
    """What a resource map resolves references against: its template, parameters, resources."""

    template: dict[str, Any]
    input_parameters: dict[str, Any]
    entries: dict[str, Any]

    @classmethod
    def of(cls, resource_map: ResourceMap) -> _Context:
        return cls(resource_map._template, dict(resource_map.input_parameters), resource_map._resource_json_map)

    def apply(self, resource_map: ResourceMap) -> None:
        resource_map._template = self.template
        resource_map.input_parameters = self.input_parameters
        resource_map.resolved_parameters = {}
        resource_map.load_mapping()
        resource_map.load_parameters()
        resource_map.load_conditions()
        resource_map._resource_json_map = self.entries


def update(stack: Stack, template: str, role_arn: str | None, parameters: dict[str, Any] | None,
           tags: dict[str, str] | None) -> None:
    new_template = parse_template(template)
    resource_map = stack.resource_map
    previous = _Context.of(resource_map)
    new_parameters = dict(parameters) if parameters else dict(resource_map.input_parameters)
    check_template(new_template, stack.stack_id, stack.name, new_parameters, stack.tags, stack.account_id,
                   stack.region_name, stack.cross_stack_resources)
    if (new_template == stack.template_dict and new_parameters == previous.input_parameters
            and (tags is None or tags == stack.tags)):
        raise ValidationError(stack.name, message="No updates are to be performed.")

    status_before = stack.status
    stack._add_stack_event("UPDATE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.status = "UPDATE_IN_PROGRESS"
    new_entries: dict[str, Any] = new_template["Resources"]
    diff = resource_map.build_resource_diff(new_template, parameters)
    old_type = {name: entry.get("Type") for name, entry in previous.entries.items()}
    replaced = [name for name in diff["Modify"] if old_type.get(name) != new_entries[name].get("Type")]
    new_order = dependency_order(new_entries)
    adds = in_order(set(diff["Add"]) | set(replaced), new_order)
    modifies = [name for name in in_order(diff["Modify"], new_order) if name not in replaced]
    removed: list[Item] = [(name, resource_map._parsed_resources.get(name), previous.entries[name])
                           for name in reversed(in_order(diff["Remove"], dependency_order(previous.entries)))]
    replaced_items: list[Item] = [(name, resource_map._parsed_resources.pop(name, None), previous.entries[name])
                                  for name in replaced]

    _Context(new_template, new_parameters, new_entries).apply(resource_map)
    before = set(resource_map._parsed_resources)
    restore: list[str] = []
    try:
        with stack_operation():
            pending = set(adds) | set(modifies)
            for name in new_order:  # CloudFormation's dependency order
                if name not in pending:
                    continue
                if name in adds:
                    resource_map[name]
                    continue
                restore.append(name)
                replaced_id = _physical_id(resource_map, name)
                _update_resource(resource_map, name, new_entries[name])
                if _physical_id(resource_map, name) != replaced_id:  # a replacement: what refers to it changes too
                    for dependent in _referring_to(name, new_entries, pending):
                        pending.add(dependent)
                        modifies.append(dependent)
    except (ResourceFailed, *TEMPLATE_ERRORS) as failure:
        added = [(name, resource_map._parsed_resources.pop(name), new_entries[name])
                 for name in _created(resource_map, before, new_entries)]
        for name, resource, _ in added:
            _resource_done(stack, name, resource, "CREATE_COMPLETE")
        previous.apply(resource_map)
        for name, resource, _ in replaced_items:
            if resource is not None:
                resource_map._parsed_resources[name] = resource
        pending = PendingRollback(restore=restore, added=list(reversed(added)))
        if isinstance(failure, ResourceFailed):
            _mark_attempted(resource_map, failure)
            verb = "update" if failure.logical_id in restore else "create"
            resource_event(stack, failure.logical_id, failure.resource_type, f"{verb.upper()}_FAILED",
                           failure.event_reason)
            reason = f"The following resource(s) failed to {verb}: [{failure.logical_id}]. "
            stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
            stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
            setattr(stack, PENDING_ROLLBACK, pending)
            _roll_back(stack, f"{reason}{failure.summary}")
            return
        setattr(stack, PENDING_ROLLBACK, pending)
        _roll_back(stack, None)
        if stack.status == "UPDATE_ROLLBACK_COMPLETE":  # a template error: as if the update never started
            stack.status = status_before
        raise

    stack._add_stack_event("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    for name in _created(resource_map, before, new_entries):
        _resource_done(stack, name, resource_map._parsed_resources[name], "CREATE_COMPLETE")
    for name in modifies:
        _resource_done(stack, name, resource_map._parsed_resources.get(name), "UPDATE_COMPLETE")
    _delete_each(stack, replaced_items + removed)  # a cleanup failure leaves the resource behind, as in AWS
    for name, _, _ in removed:
        resource_map._parsed_resources.pop(name, None)
    stack.template = template
    stack.template_dict = new_template
    stack.description = new_template.get("Description")
    if parameters:
        stack.parameters = parameters
    stack.role_arn = role_arn
    if tags is not None:
        stack.tags = tags
    stack.output_map = stack._create_output_map()
    set_status(stack, "UPDATE_COMPLETE")


def _physical_id(resource_map: ResourceMap, logical_id: str) -> str | None:
    resource = resource_map._parsed_resources.get(logical_id)
    return None if resource is None else str(getattr(resource, "physical_resource_id", "") or "")


def _referring_to(name: str, entries: dict[str, Any], pending: set[str]) -> list[str]:
    """Resources not being updated whose properties name ``name`` (Ref, GetAtt, Sub): a replaced resource has a new
    physical id and attributes, so CloudFormation updates them with the new values."""
    return [other for other, entry in entries.items() if other not in pending and isinstance(entry, dict)
            and name in references(entry.get("Properties"))]


def _update_resource(resource_map: ResourceMap, logical_id: str, entry: dict[str, Any], rolling_back: bool = False) -> None:
    """Bring one resource to ``entry``'s properties (moto's ``parse_and_update_resource``, naming failures).

    Going forward, a resource never created is created now and a failure remembers what was attempted
    (see _mark_attempted); rolling back to the previous template, a missing resource is left missing.
    """
    resource_type = str(entry.get("Type", ""))
    current = resource_map._parsed_resources.get(logical_id)
    if current is None:  # never created (a false condition, a type moto skips)
        if not rolling_back:
            resource_map[logical_id]  # creates it
        return
    parsed = failing_as_resource(logical_id, resource_type,
                                 lambda: parse_resource_and_generate_name(logical_id, copy.deepcopy(entry), resource_map))
    if not parsed:
        return
    model, cleaned, name = parsed
    if getattr(model.update_from_cloudformation_json, "__isabstractmethod__", False):
        return
    updated = failing_as_resource(
        logical_id, resource_type,
        lambda: model.update_from_cloudformation_json(original_resource=current, new_resource_name=name,
                                                      cloudformation_json=cleaned, account_id=resource_map._account_id,
                                                      region_name=resource_map._region_name),
        attempted=None if rolling_back else cleaned,
    )
    updated.cf_resource_type = resource_type
    updated.logical_resource_id = logical_id
    resource_map._parsed_resources[logical_id] = updated


def _mark_attempted(resource_map: ResourceMap, failure: ResourceFailed) -> None:
    """A resource whose update failed half-way may hold part of the new properties: its rollback must
    compare against those, not against the ones it last applied in full."""
    resource = resource_map._parsed_resources.get(failure.logical_id)
    mark = getattr(resource, "mark_attempted", None)
    if failure.attempted is not None and callable(mark):
        mark(dict(failure.attempted.get("Properties") or {}))


def _roll_back(stack: Stack, failure_reason: str | None) -> None:
    """Run what ``PENDING_ROLLBACK`` holds; the stack ends UPDATE_ROLLBACK_COMPLETE or UPDATE_ROLLBACK_FAILED."""
    pending: PendingRollback = getattr(stack, PENDING_ROLLBACK)
    resource_map = stack.resource_map
    pending.failed = {}
    with stack_operation():
        for name in list(pending.restore):
            entry = resource_map._resource_json_map[name]
            try:
                _restore_resource(resource_map, name, entry)
            except Exception as error:
                failure = error if isinstance(error, ResourceFailed) else ResourceFailed(name, str(entry.get("Type", "")), error)
                pending.failed[name] = failure.summary
                resource_event(stack, name, failure.resource_type, "UPDATE_FAILED", failure.event_reason)
                continue
            pending.restore.remove(name)
            _resource_done(stack, name, resource_map._parsed_resources.get(name), "UPDATE_COMPLETE")
    if pending.failed:
        names = ", ".join(pending.failed)
        details = " ".join(pending.failed.values())
        set_status(stack, "UPDATE_ROLLBACK_FAILED", f"The following resource(s) failed to update: [{names}]. {details}",
                   f"The following resource(s) failed to update: [{names}]. ")
        return
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    _delete_each(stack, pending.added)  # a cleanup failure leaves the resource behind, as in AWS
    delattr(stack, PENDING_ROLLBACK)
    stack.output_map = stack._create_output_map()
    set_status(stack, "UPDATE_ROLLBACK_COMPLETE", failure_reason)


def _restore_resource(resource_map: ResourceMap, logical_id: str, entry: dict[str, Any]) -> None:
    """Bring one resource back to the previous template's ``entry``."""
    _update_resource(resource_map, logical_id, entry, rolling_back=True)


def continue_rollback(stack: Stack, resources_to_skip: list[str]) -> None:
    """ContinueUpdateRollback: try the failed part of the rollback again; ``resources_to_skip`` are taken
    as rolled back (CloudFormation marks them UPDATE_COMPLETE and leaves them as they are)."""
    if stack.status != "UPDATE_ROLLBACK_FAILED":
        raise ValidationError(stack.stack_id, message=(
            f"Stack:{stack.stack_id} is in {stack.status} state and can not continue update rollback."))
    pending: PendingRollback | None = getattr(stack, PENDING_ROLLBACK, None)
    if pending is None:  # the status was set from outside (the emulator's control path): nothing is left to do
        pending = PendingRollback()
        resources_to_skip = []
        setattr(stack, PENDING_ROLLBACK, pending)
    unknown = [name for name in resources_to_skip if name not in pending.restore]
    if unknown:
        raise ValidationError(stack.stack_id, message=(
            f"Resources [{', '.join(unknown)}] are not in a failed state and cannot be skipped."))
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    for name in resources_to_skip:
        pending.restore.remove(name)
        resource = stack.resource_map._parsed_resources.get(name)
        resource_event(stack, name, str(getattr(resource, "cf_resource_type", "")), "UPDATE_COMPLETE",
                       "Resource skipped during UpdateRollback")
    _roll_back(stack, None)


# --- delete -----------------------------------------------------------------------------------------


def delete(stack: Stack, retain: set[str]) -> bool:
    """Delete the stack's resources. False when one could not be deleted: the stack is DELETE_FAILED and
    holds only those."""
    resource_map = stack.resource_map
    stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack.status = "DELETE_IN_PROGRESS"
    entries = resource_map._resource_json_map
    items: list[Item] = []
    for name in reversed(dependency_order(entries)):
        entry = entries[name] if isinstance(entries[name], dict) else {}
        if entry.get("DeletionPolicy") in RETAINED_POLICIES or name in retain:
            resource = resource_map._parsed_resources.get(name)
            resource_event(stack, name, str(entry.get("Type", "")), "DELETE_SKIPPED",
                           physical_id=str(getattr(resource, "physical_resource_id", "") or ""))
            continue
        items.append((name, resource_map._parsed_resources.get(name), entry))
    pending: PendingRollback | None = getattr(stack, PENDING_ROLLBACK, None)
    if pending is not None:  # what a failed rollback added and could not remove goes with the stack
        items = pending.added + items
    not_deleted = _delete_each(stack, items)
    for name, _, _ in items:
        if name not in not_deleted:
            resource_map._parsed_resources.pop(name, None)
    if not not_deleted:
        return True
    if pending is not None:
        pending.added = [item for item in pending.added if item[0] in not_deleted]
    _keep_only(resource_map, list(not_deleted))
    _forget_outputs(stack)
    names = ", ".join(not_deleted)
    set_status(stack, "DELETE_FAILED", f"The following resource(s) failed to delete: [{names}]. ")
    return False

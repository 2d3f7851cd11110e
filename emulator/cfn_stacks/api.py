"""CloudFormation API actions as the emulator answers them (methods put on moto's ``CloudFormationResponse``).

- ``CreateStack``: ``OnFailure`` / ``DisableRollback``; ``CreateStack``, ``UpdateStack``,
  ``CreateChangeSet`` and ``ValidateTemplate``: a ``TemplateBody`` over 51,200 bytes is refused, a
  ``TemplateURL`` is read from the emulator's S3 (up to 1,000,000 bytes) or refused as AWS does;
- ``DeleteStack``: ``RetainResources``; ``ExecuteChangeSet``: ``DisableRollback``;
- ``UpdateTerminationProtection`` and ``ContinueUpdateRollback``, which moto lacks.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult

from emulator.cfn_stacks import engine
from emulator.cfn_stacks.templates import check_body_size, template_from_url

ORIGINALS: dict[str, Any] = {}
_NO_TEMPLATE = "Either Template URL or Template Body must be specified."


def _as_bool(value: Any) -> bool:
    return value.strip().lower() == "true" if isinstance(value, str) else bool(value)


def _template_of(response: CloudFormationResponse) -> str | None:
    """The template of the request: its TemplateBody (size-checked) or the S3 object its TemplateURL names."""
    body = response._get_param("TemplateBody")
    if body is not None:
        check_body_size(body)
        return str(body)
    url = response._get_param("TemplateURL")
    if url:
        return template_from_url(url, response.current_account, response.partition)
    return None


def _tags(response: CloudFormationResponse) -> dict[str, str]:
    return {item["Key"]: item["Value"] for item in response._get_param("Tags", [])}


def create_stack(self: CloudFormationResponse) -> ActionResult:
    template = _template_of(self)
    if template is None:
        raise ValidationError(message=_NO_TEMPLATE)
    on_failure = self._get_param("OnFailure")
    disable_rollback = self._get_param("DisableRollback")
    if on_failure and disable_rollback is not None:
        raise ValidationError(message="You cannot specify both OnFailure and DisableRollback.")
    if _as_bool(disable_rollback):
        on_failure = engine.DO_NOTHING
    stack = self.cloudformation_backend.create_stack(
        name=self._get_param("StackName"),
        template=template,
        parameters={p["ParameterKey"]: p["ParameterValue"] for p in self._get_param("Parameters", [])},
        notification_arns=self._get_param("NotificationARNs", []),
        tags=_tags(self),
        role_arn=self._get_param("RoleARN"),
        enable_termination_protection=_as_bool(self._get_param("EnableTerminationProtection")),
        timeout_in_mins=self._get_param("TimeoutInMinutes"),
        stack_policy_body=self._get_param("StackPolicyBody"),
        on_failure=on_failure or engine.ROLLBACK,
    )
    return ActionResult({"StackId": stack.stack_id})


def update_stack(self: CloudFormationResponse) -> ActionResult:
    stack_name = self._get_param("StackName")
    stack = self.cloudformation_backend.get_stack(stack_name)
    if self._get_bool_param("UsePreviousTemplate", False):
        template = stack.template
    else:
        template = _template_of(self)
    if template is None:
        raise ValidationError(message=_NO_TEMPLATE)
    incoming_params = self._get_param("Parameters", [])
    for param in incoming_params:
        if param.get("UsePreviousValue") and param.get("ParameterValue"):
            raise ValidationError(message=(
                f"Invalid input for parameter key {param['ParameterKey']}. Cannot specify usePreviousValue as "
                "true and non empty value for a parameter"))
    # as in moto: an empty Tags cannot be told from none given, so it keeps the stack's tags
    tags = _tags(self) or None
    stack = self.cloudformation_backend.update_stack(
        name=stack_name, template=template, role_arn=self._get_param("RoleARN"), parameters=incoming_params, tags=tags,
    )
    return ActionResult({"StackId": stack.stack_id})


def create_change_set(self: CloudFormationResponse) -> ActionResult:
    stack_name = self._get_param("StackName")
    change_set_type = self._get_param("ChangeSetType", "CREATE")
    use_previous_template = self._get_bool_param("UsePreviousTemplate", False)
    template = _template_of(self)
    if use_previous_template and template is not None:
        raise ValidationError(message="You cannot specify both usePreviousTemplate and Template Body/Template URL.")
    stack = None
    if change_set_type == "UPDATE":
        stack = self.cloudformation_backend.get_stack(stack_name)
        if use_previous_template:
            template = stack.template
    if template is None:
        raise ValidationError(message=_NO_TEMPLATE)
    parameters = {
        p["ParameterKey"]: (stack.stack_parameters[p["ParameterKey"]] if p.get("UsePreviousValue", False) and stack
                            else p["ParameterValue"])
        for p in self._get_param("Parameters", [])
    }
    change_set_id, stack_id = self.cloudformation_backend.create_change_set(
        stack_name=stack_name,
        change_set_name=self._get_param("ChangeSetName"),
        template=template,
        parameters=parameters,
        description=self._get_param("Description"),
        notification_arns=self._get_param("NotificationARNs", []),
        tags=_tags(self),
        role_arn=self._get_param("RoleARN"),
        change_set_type=change_set_type,
    )
    return ActionResult({"Id": change_set_id, "StackId": stack_id})


def execute_change_set(self: CloudFormationResponse) -> EmptyResult:
    self.cloudformation_backend.execute_change_set(
        change_set_name=self._get_param("ChangeSetName"), stack_name=self._get_param("StackName"),
        disable_rollback=_as_bool(self._get_param("DisableRollback")),
    )
    return EmptyResult()


def delete_stack(self: CloudFormationResponse) -> EmptyResult:
    self.cloudformation_backend.delete_stack(self._get_param("StackName"),
                                             retain_resources=self._get_param("RetainResources", []))
    return EmptyResult()


def validate_template(self: CloudFormationResponse) -> ActionResult:
    _template_of(self)  # the size and TemplateURL checks; moto's own validation follows
    return ORIGINALS["validate_template"](self)


def update_termination_protection(self: CloudFormationResponse) -> ActionResult:
    stack = self.cloudformation_backend.update_termination_protection(
        self._get_param("StackName"), _as_bool(self._get_param("EnableTerminationProtection")))
    return ActionResult({"StackId": stack.stack_id})


def continue_update_rollback(self: CloudFormationResponse) -> EmptyResult:
    self.cloudformation_backend.continue_update_rollback(
        self._get_param("StackName"), resources_to_skip=self._get_param("ResourcesToSkip", []))
    return EmptyResult()


_PATCHES = {
    "create_stack": create_stack,
    "update_stack": update_stack,
    "create_change_set": create_change_set,
    "execute_change_set": execute_change_set,
    "delete_stack": delete_stack,
    "validate_template": validate_template,
    "update_termination_protection": update_termination_protection,
    "continue_update_rollback": continue_update_rollback,
}


def install() -> None:
    for name, replacement in _PATCHES.items():
        if name not in ORIGINALS:
            ORIGINALS[name] = CloudFormationResponse.__dict__.get(name)
        setattr(CloudFormationResponse, name, replacement)

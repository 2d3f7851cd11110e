"""``AWS::SSO::PermissionSet`` and ``AWS::SSO::Assignment`` in CloudFormation, which moto 5.2.5 does not know
(a template with them reached CREATE_COMPLETE with nothing made).

Both go through the Identity Center of ``emulator.identity_center``, as AWS's resource handlers
(aws-cloudformation-resource-providers-sso) go through the sso-admin API, so a stack's permission sets and
assignments are what sso-admin reads back, and their roles are in the member accounts' IAM.

``AWS::SSO::PermissionSet`` (properties InstanceArn, Name, Description, SessionDuration, RelayStateType,
ManagedPolicies, CustomerManagedPolicyReferences, InlinePolicy (an object, sent as compact JSON, or a string),
PermissionsBoundary, Tags):

  - ``Ref``: the primary identifier, ``<InstanceArn>|<PermissionSetArn>`` (a registry type with a compound
    identifier); ``Fn::GetAtt PermissionSetArn``: the permission set's ARN.
  - create: every property is checked first (nothing is made when one is wrong), then CreatePermissionSet,
    managed policies, customer managed policy references, inline policy and boundary; a failure half-way deletes
    what was made, so that a rolled back stack leaves nothing.
  - update: InstanceArn and Name are create-only: a new one replaces the permission set (the new one is made;
    the old one is deleted at once, or, while assignments still name it, with the last of them, which is when
    CloudFormation's cleanup would delete it). Everything else changes in place, brought from what the
    permission set holds now to what the template says (so a rollback after a half-done update comes back
    whole), then the set is provisioned again to every account it is provisioned to
    (ProvisionPermissionSet ALL_PROVISIONED_ACCOUNTS, as the handler does), which updates their roles. A
    failed provisioning fails the resource with the handler's "Request <id> failed due to: <reason>".
    Description, SessionDuration and RelayStateType removed from the template are left as they are (the handler
    sends UpdatePermissionSet without them, which changes nothing).
  - delete: DeletePermissionSet; refused (ConflictException) while accounts are assigned, which a stack meets
    only when the assignments are not its own: its own are deleted first (they depend on the set through
    ``GetAtt``).

``AWS::SSO::Assignment`` (InstanceArn, PermissionSetArn, PrincipalId, PrincipalType, TargetId, TargetType; all
create-only):

  - ``Ref``: ``<InstanceArn>|<TargetId>|<TargetType>|<PermissionSetArn>|<PrincipalType>|<PrincipalId>``; no
    ``Fn::GetAtt`` attribute.
  - create: the handler's pre-existence check ("Assignment already exists. Can't process creation.",
    AlreadyExists), then CreateAccountAssignment; a FAILED status fails the resource ("Request <id> failed due
    to: <reason>").
  - any change replaces it: the new assignment is made before the old one is deleted, so a principal moved
    from one group to another never leaves the account without the role.
  - delete: DeleteAccountAssignment (one already gone is passed over); the last assignment of a permission set
    in an account deletes its role there.
"""

from __future__ import annotations

import copy
import json
from typing import Any

# moto's models first, so that the classes below come after them in moto's type -> model map
import moto.cloudformation.parsing as cfn_parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel

from emulator import identity_center as ic
from emulator.cfn_handled import HandledResource, Properties


_HANDLER_CODES = {
    "ConflictException": "ResourceConflict",
    "ValidationException": "InvalidRequest",
    "ServiceQuotaExceededException": "ServiceLimitExceeded",
    "AccessDeniedException": "AccessDenied",
    "GeneralServiceException": "GeneralServiceException",
}


class GeneralServiceException(ic.SsoAdminError):
    """A request whose status ended FAILED, as the handler reports it."""


class AlreadyExistsException(ic.SsoAdminError):
    pass


def clear_model_caches() -> None:
    """Forget moto's type -> model maps, so that they are rebuilt with the classes defined here."""
    for cached in (cfn_parsing.get_model_list, cfn_parsing.get_model_map, cfn_parsing.get_name_type_map):
        cached.cache_clear()


def _failed(status: dict[str, Any]) -> None:
    if status.get("Status") == "FAILED":
        raise GeneralServiceException(f"Request {status['RequestId']} failed due to: {status.get('FailureReason')}")


def _required(properties: Properties, *names: str) -> None:
    missing = [name for name in names if properties.get(name) in (None, "")]
    if missing:
        raise ic.ValidationException(f"Properties validation failed: required key [{', '.join(missing)}] not found")


def _inline_text(properties: Properties) -> str:
    """``InlinePolicy`` as the handler sends it: a string as it is, an object as compact JSON; "" for none."""
    document = properties.get("InlinePolicy")
    if document in (None, "", {}):
        return ""
    return document if isinstance(document, str) else json.dumps(document, separators=(",", ":"))


def _tags(properties: Properties) -> dict[str, str]:
    return {str(t["Key"]): str(t["Value"]) for t in properties.get("Tags") or [] if t is not None}


def _managed(properties: Properties) -> list[str]:
    arns: list[str] = []
    for arn in properties.get("ManagedPolicies") or []:
        if arn is not None and str(arn) not in arns:
            arns.append(str(arn))
    return arns


def _customer(properties: Properties) -> list[tuple[str, str]]:
    references: list[tuple[str, str]] = []
    for reference in properties.get("CustomerManagedPolicyReferences") or []:
        if reference is not None and ic.customer_reference(reference) not in references:
            references.append(ic.customer_reference(reference))
    return references


def _check(properties: Properties) -> None:
    """Every property as AWS checks it, before anything is made or changed."""
    _required(properties, "InstanceArn", "Name")
    ic.check_name(properties["Name"])
    ic.check_description(properties.get("Description"))
    ic.session_seconds(str(properties.get("SessionDuration") or "PT1H"))
    ic.check_relay_state(properties.get("RelayStateType"))
    ic.check_tags(_tags(properties))
    for arn in _managed(properties):
        ic.check_aws_managed_policy(arn)
    if len(_managed(properties)) + len(_customer(properties)) > ic.MAX_MANAGED_POLICIES:
        raise ic.ServiceQuotaExceededException(
            f"You have exceeded AWS SSO limits: at most {ic.MAX_MANAGED_POLICIES} AWS managed and customer managed "
            "policies per permission set")
    if _inline_text(properties):
        ic.check_inline_policy(_inline_text(properties))
    if properties.get("PermissionsBoundary"):
        ic.check_boundary(properties["PermissionsBoundary"])


def _converge(permission_set: ic.PermissionSet, properties: Properties) -> None:
    """Bring the permission set's policies, boundary and tags from what it holds now to ``properties``."""
    wanted_managed, wanted_customer = _managed(properties), _customer(properties)
    for arn in [a for a in permission_set.managed_policies if a not in wanted_managed]:
        ic.detach_managed_policy(permission_set, arn)
    for name, path in [r for r in permission_set.customer_managed if r not in wanted_customer]:
        ic.detach_customer_managed_policy(permission_set, {"Name": name, "Path": path})
    for arn in [a for a in wanted_managed if a not in permission_set.managed_policies]:
        ic.attach_managed_policy(permission_set, arn)
    for name, path in [r for r in wanted_customer if r not in permission_set.customer_managed]:
        ic.attach_customer_managed_policy(permission_set, {"Name": name, "Path": path})
    inline = _inline_text(properties)
    if inline and inline != permission_set.inline_policy:
        ic.put_inline_policy(permission_set, inline)
    elif not inline and permission_set.inline_policy:
        ic.delete_inline_policy(permission_set)
    boundary = properties.get("PermissionsBoundary")
    if boundary and ic.check_boundary(boundary) != permission_set.boundary:
        ic.put_boundary(permission_set, boundary)
    elif not boundary and permission_set.boundary is not None:
        ic.delete_boundary(permission_set)
    wanted_tags = _tags(properties)
    ic.untag(permission_set, [key for key in permission_set.tags if key not in wanted_tags])
    ic.tag(permission_set, wanted_tags)


class SsoPermissionSet(HandledResource, CloudFormationModel):
    """``AWS::SSO::PermissionSet`` (see the module docstring)."""

    ATTRIBUTES = ("PermissionSetArn",)

    def __init__(self, account_id: str, region_name: str, instance_arn: str, arn: str, properties: Properties) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.instance_arn = instance_arn
        self.arn = arn
        self.properties = properties

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SSO::PermissionSet"

    @property
    def physical_resource_id(self) -> str:
        return f"{self.instance_arn}|{self.arn}"

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "PermissionSetArn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    def mark_attempted(self, properties: Properties) -> None:
        self.properties = copy.deepcopy(properties)

    @classmethod
    def _replaces(cls, before: Properties, after: Properties) -> bool:
        return after.get("Name") != before.get("Name") or after.get("InstanceArn") != before.get("InstanceArn")

    def _instance(self) -> ic.Instance:
        return ic.instance_for(self.account_id, self.region_name, self.instance_arn)

    @classmethod
    def _create(cls, account_id: str, region_name: str, properties: Properties) -> SsoPermissionSet:
        _check(properties)
        instance = ic.instance_for(account_id, region_name, str(properties["InstanceArn"]))
        with ic._lock:
            revived = next((ps for ps in instance.permission_sets.values()
                            if ps.name == properties["Name"] and ps.arn in instance.pending_deletion), None)
            if revived is not None:  # a rollback brings back the set its replacement left behind
                instance.pending_deletion.discard(revived.arn)
                resource = cls(account_id, region_name, instance.arn, revived.arn, {})
                resource._update(properties)
                return resource
            permission_set = ic.create_permission_set(
                instance, properties["Name"], properties.get("Description"), properties.get("SessionDuration"),
                properties.get("RelayStateType"), _tags(properties))
            try:
                _converge(permission_set, properties)
            except Exception:
                ic.delete_permission_set(instance, permission_set)  # nothing half-made stays behind
                raise
        return cls(account_id, region_name, instance.arn, permission_set.arn, properties)

    def _update(self, properties: Properties) -> None:
        _check(properties)
        instance = self._instance()
        with ic._lock:
            permission_set = instance.permission_set(self.arn)
            changes = {argument: properties[key] for key, argument in (
                ("Description", "description"), ("SessionDuration", "session_duration"),
                ("RelayStateType", "relay_state")) if properties.get(key) is not None}
            ic.update_permission_set(permission_set, **changes)
            _converge(permission_set, properties)
            self.properties = copy.deepcopy(properties)
            if any(arn == permission_set.arn for _, arn in instance.provisioned):
                _failed(ic.provision_permission_set(instance, permission_set, "ALL_PROVISIONED_ACCOUNTS"))

    def _retire(self, account_id: str, region_name: str) -> None:
        """Delete the replaced set now, or with its last assignment while assignments still name it."""
        instance = self._instance()
        with ic._lock:
            permission_set = instance.permission_sets.get(self.arn)
            if permission_set is None:
                return
            if any(a.permission_set_arn == self.arn for a in instance.assignments):
                instance.pending_deletion.add(self.arn)
            else:
                ic.delete_permission_set(instance, permission_set)

    def delete(self, account_id: str, region_name: str) -> None:
        instance = self._instance()
        with ic._lock:
            permission_set = instance.permission_sets.get(self.arn)
            if permission_set is not None:
                ic.delete_permission_set(instance, permission_set)


ASSIGNMENT_KEYS = ("InstanceArn", "TargetId", "TargetType", "PermissionSetArn", "PrincipalType", "PrincipalId")


class SsoAssignment(HandledResource, CloudFormationModel):
    """``AWS::SSO::Assignment`` (see the module docstring)."""

    def __init__(self, account_id: str, region_name: str, properties: Properties) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.properties = properties

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::SSO::Assignment"

    @property
    def physical_resource_id(self) -> str:
        return "|".join(str(self.properties.get(key)) for key in ASSIGNMENT_KEYS)

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        raise UnformattedGetAttTemplateException()

    def _arguments(self) -> dict[str, Any]:
        return {"target_id": self.properties.get("TargetId"), "target_type": self.properties.get("TargetType"),
                "permission_set_arn": self.properties.get("PermissionSetArn"),
                "principal_type": self.properties.get("PrincipalType"),
                "principal_id": self.properties.get("PrincipalId")}

    @classmethod
    def _replaces(cls, before: Properties, after: Properties) -> bool:
        return any(after.get(k) != before.get(k) for k in ASSIGNMENT_KEYS)  # every property is create-only

    def _update(self, properties: Properties) -> None:
        pass  # nothing changes in place

    @classmethod
    def _create(cls, account_id: str, region_name: str, properties: Properties) -> SsoAssignment:
        _required(properties, *ASSIGNMENT_KEYS)
        resource = cls(account_id, region_name, properties)
        instance = ic.instance_for(account_id, region_name, str(properties["InstanceArn"]))
        with ic._lock:
            wanted = ic.Assignment(str(properties["TargetId"]), str(properties["PermissionSetArn"]),
                                   str(properties["PrincipalType"]), str(properties["PrincipalId"]))
            if wanted in instance.assignments:
                raise AlreadyExistsException("Assignment already exists. Can't process creation.")
            _failed(ic.create_assignment(instance, **resource._arguments()))
        return resource

    def delete(self, account_id: str, region_name: str) -> None:
        instance = ic.instance_for(self.account_id, self.region_name, str(self.properties.get("InstanceArn")))
        try:
            ic.delete_assignment(instance, **self._arguments())
        except ic.ResourceNotFoundException:
            pass  # already gone: the handler's delete succeeds


MODELS: tuple[type[CloudFormationModel], ...] = (SsoPermissionSet, SsoAssignment)
clear_model_caches()


def install() -> None:
    """The sso-admin API (``identity_center``), the handler codes of its errors, and moto's type -> model map."""
    ic.install()
    from emulator.cfn_stacks import failures

    for code, handler_code in _HANDLER_CODES.items():
        failures._HANDLER_CODES.setdefault(code, handler_code)
    clear_model_caches()

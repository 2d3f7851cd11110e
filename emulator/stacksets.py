"""Service-managed StackSets as AWS deploys them through Organizations.

moto 5.2.5 keeps service-managed StackSets as records, and deploys them unlike AWS:

- targeting an OU reaches its direct child accounts only (and one level of child OUs), the management
  account and SUSPENDED accounts included;
- ``UpdateStackSet`` changes the stack set but none of its stack instances;
- ``AutoDeployment`` is dropped, so a created or moved account gets nothing;
- ``ActivateOrganizationsAccess`` / ``DescribeOrganizationsAccess`` do not exist.

``install()`` changes that, in place, for the whole process (moto keeps its state in module globals):

- a target OU (or the root) reaches every ACTIVE account below it, nested OUs included, and never the
  organization's management account, as in AWS;
- an update of the template or parameters updates every stack instance's resources (and so, with
  ``emulator.cfn_iam``, the IAM state in each account); ``DeploymentTargets`` on the update narrows it;
- ``AutoDeployment`` is kept and shown by ``DescribeStackSet`` / ``ListStackSets``; with it enabled, an
  account created in or moved into a target OU gets its instance at once, and an account moved out of
  every target (or removed from the organization) loses it unless ``RetainStacksOnAccountRemoval``;
- ``DeleteStackInstances`` accepts ``DeploymentTargets`` with OU ids and ``RetainStacks``;
- trusted access: ``ActivateOrganizationsAccess`` / ``DeactivateOrganizationsAccess`` /
  ``DescribeOrganizationsAccess`` exist, backed by Organizations' service access for
  ``member.org.stacksets.cloudformation.amazonaws.com``; creating a service-managed stack set or its
  instances without it fails as in AWS, and so does creating one from another account as itself
  (``CallAs`` ``DELEGATED_ADMIN``, for a registered delegated administrator, is ``emulator/delegated_admin.py``);
- a stack update through moto's own path (``ResourceMap.update``, which stack instances take) updates a
  resource whose parameter it names only as ``${Param}`` in ``Fn::Sub``, and creates or deletes a
  resource whose ``Condition`` the new parameters turn on or off. Stacks without Parameters and
  Conditions (everything the sync deploys) see no difference.

Still different from AWS: operations finish within the request (always SUCCEEDED, no
OperationPreferences), a resource that fails to create fails the request instead of the instance, and
stack instances are not listed by ``DescribeStacks`` in the member account (their IAM resources are
real). Self-managed stack sets keep moto's behaviour.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation.exceptions import ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.moto_api._internal import mock_random
from moto.organizations import models as org_models

SERVICE_MANAGED = "SERVICE_MANAGED"
TRUSTED_ACCESS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
# AWS's answer to a service-managed stack set operation from an account that is neither the management account
# nor a delegated administrator calling with CallAs DELEGATED_ADMIN (emulator/delegated_admin.py)
SERVICE_MANAGED_REFUSED = ("You must be the management account or delegated admin account of an organization before "
                           "operating a SERVICE_MANAGED stack set")

_lock = threading.Lock()
_installed = False
_originals: dict[str, Callable[..., Any]] = {}


# --- the organization ---------------------------------------------------------------------------


def _org_backend(account_id: str, partition: str = "aws") -> org_models.OrganizationsBackend | None:
    """The backend that holds the organization ``account_id`` manages (None when it manages none)."""
    backend = org_models.organizations_backends[account_id][partition]
    return backend if backend.org is not None else None


def _parents(backend: org_models.OrganizationsBackend) -> dict[str, str | None]:
    return {ou.id: ou.parent_id for ou in backend.ou}


def _ancestors(parent_id: str | None, parents: dict[str, str | None]) -> list[str]:
    """The account's parent and every OU above it, up to and including the root."""
    chain: list[str] = []
    while parent_id and parent_id not in chain:
        chain.append(parent_id)
        parent_id = parents.get(parent_id)
    return chain


def _target_of(account: Any, targets: Iterable[str], parents: dict[str, str | None]) -> str | None:
    """The target OU (or root) that reaches ``account``; None when none does."""
    wanted = list(targets)
    for ancestor in _ancestors(account.parent_id, parents):
        if ancestor in wanted:
            return ancestor
    return None


def _eligible(account: Any, backend: org_models.OrganizationsBackend) -> bool:
    """Service-managed stack sets never deploy to the management account, nor to closed accounts."""
    assert backend.org is not None
    return account.id != backend.org.master_account_id and account.status == "ACTIVE"


def _trusted_access_enabled(backend: org_models.OrganizationsBackend | None) -> bool:
    return backend is not None and any(s["ServicePrincipal"] == TRUSTED_ACCESS_PRINCIPAL for s in backend.services)


def _require_service_managed_allowed(account_id: str, region: str) -> org_models.OrganizationsBackend:
    backend = _org_backend(account_id, _partition(region))
    if backend is None:
        # a member account calling as itself (CallAs SELF), a delegated administrator included; or no organization
        raise ValidationError(message=SERVICE_MANAGED_REFUSED)
    if not _trusted_access_enabled(backend):
        raise ValidationError(message=(
            "You must enable organizations access to operate a service managed stack set "
            "(ActivateOrganizationsAccess)"))
    return backend


def _partition(region: str) -> str:
    from moto.utilities.utils import get_partition

    return get_partition(region)


# --- stack sets: state orgiam needs on top of moto's ------------------------------------------


def _extras(stack_set: Any) -> None:
    """Attributes AWS shows on a service-managed stack set (DescribeStackSet serialises them by name)."""
    if not hasattr(stack_set, "auto_deployment"):
        stack_set.auto_deployment = {"Enabled": False, "RetainStacksOnAccountRemoval": False}
        stack_set.organizational_unit_ids = []
        stack_set.regions = []
        stack_set.capabilities = []


def _set_auto_deployment(stack_set: Any, value: dict[str, Any] | None) -> None:
    if not value:
        return
    stack_set.auto_deployment = {
        "Enabled": _bool(value.get("Enabled", False)),
        "RetainStacksOnAccountRemoval": _bool(value.get("RetainStacksOnAccountRemoval", False)),
    }


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _region_of(stack_set: Any) -> str:
    return str(stack_set.arn.split(":")[3])


def _merged_parameters(stack_set: Any, overrides: Any) -> dict[str, Any]:
    parameters = dict(stack_set.parameters or {})
    if isinstance(overrides, dict):
        parameters.update(overrides)
    elif isinstance(overrides, list):
        parameters.update({p["ParameterKey"]: p["ParameterValue"] for p in overrides if "ParameterValue" in p})
    return parameters


def _deploy(stack_set: Any, accounts: list[tuple[str, str]], regions: list[str]) -> list[str]:
    """Create the missing instances for (account, target OU) in ``regions``. Returns the accounts reached."""
    reached = []
    for account_id, ou_id in accounts:
        for region in regions:
            if stack_set.instances.get_instance(account_id, region) is not None:
                continue
            # moto deploys with the parameters it is given; an instance's overrides are none here
            stack_set.instances.create_instances([account_id], [region], dict(stack_set.parameters or {}), {},
                                                 SERVICE_MANAGED)
            instance = stack_set.instances.get_instance(account_id, region)
            instance.parameters = []
            instance.organizational_unit_id = ou_id
            reached.append(account_id)
    return reached


def _remove(stack_set: Any, account_ids: set[str], retain: bool) -> None:
    """Delete (or, retaining, only forget) the instances of ``account_ids``."""
    for instance in [i for i in stack_set.instances.stack_instances if i.account_id in account_ids]:
        if not retain:
            instance.delete()
        stack_set.instances.stack_instances.remove(instance)


def _accounts_under(backend: org_models.OrganizationsBackend, targets: list[str]) -> list[tuple[str, str]]:
    parents = _parents(backend)
    found = []
    for account in backend.accounts:
        target = _target_of(account, targets, parents)
        if target is not None and _eligible(account, backend):
            found.append((account.id, target))
    return found


def _create_stack_instances(
    self: Any, accounts: list[str], regions: list[str], deployment_targets: dict[str, Any] | None,
    parameters: list[dict[str, Any]],
) -> str:
    if self.permission_model != SERVICE_MANAGED:
        return _originals["StackSet.create_stack_instances"](self, accounts, regions, deployment_targets, parameters)
    _extras(self)
    targets = list((deployment_targets or {}).get("OrganizationalUnitIds") or [])
    if not targets:
        raise ValidationError(message="StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target")
    backend = _require_service_managed_allowed(self.instances.account_id, _region_of(self))
    known = {ou.id for ou in backend.ou}
    unknown = [t for t in targets if t not in known]
    if unknown:
        raise ValidationError(message=f"Organizational unit or root {', '.join(unknown)} does not exist in the organization")
    if parameters:
        self.parameters = _merged_parameters(self, parameters)
    reached = _deploy(self, _accounts_under(backend, targets), regions)
    self.organizational_unit_ids = sorted(set(self.organizational_unit_ids) | set(targets))
    self.regions = sorted(set(self.regions) | set(regions))
    operation_id = str(mock_random.uuid4())
    self._create_operation(operation_id=operation_id, action="CREATE", status="SUCCEEDED", accounts=reached, regions=regions)
    return operation_id


def _update(
    self: Any, template: str, description: str, parameters: dict[str, str], tags: dict[str, str], admin_role: str,
    execution_role: str, accounts: list[str] | None, regions: list[str], operation_id: str,
) -> dict[str, Any]:
    """moto's update, then the stack instances' resources, as AWS updates them."""
    if self.permission_model != SERVICE_MANAGED:
        return _originals["StackSet.update"](self, template, description, parameters, tags, admin_role, execution_role,
                                             accounts, regions, operation_id)
    _extras(self)
    self.template = template or self.template
    self.instances.template = self.template
    self.description = description if description is not None else self.description
    self.parameters = parameters or self.parameters
    self.tags = tags or self.tags
    chosen = None if accounts is None else set(accounts)  # None: every instance
    touched = []
    for instance in list(self.instances.stack_instances):
        if chosen is not None and instance.account_id not in chosen:
            continue
        if regions and instance.region_name not in regions:
            continue
        values = _merged_parameters(self, instance.parameters)
        instance.template = self.template
        instance.stack.update(self.template, parameters=values)
        touched.append(instance.account_id)
    return self._create_operation(operation_id=operation_id or str(mock_random.uuid4()), action="UPDATE",
                                  status="SUCCEEDED", accounts=sorted(set(touched)), regions=regions or list(self.regions))


def _instance_to_dict(self: Any) -> dict[str, Any]:
    data = _originals["StackInstance.to_dict"](self)
    ou_id = getattr(self, "organizational_unit_id", None)
    if ou_id:
        data["OrganizationalUnitId"] = ou_id
    return data


# --- the CloudFormation API -------------------------------------------------------------------


def _response_create_stack_set(self: CloudFormationResponse) -> ActionResult:
    if str(self._get_param("PermissionModel") or "") == SERVICE_MANAGED:
        _require_service_managed_allowed(self.current_account, self.region)
    result = _originals["CloudFormationResponse.create_stack_set"](self)
    stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    _extras(stack_set)
    _set_auto_deployment(stack_set, self._get_param("AutoDeployment"))
    stack_set.capabilities = list(self._get_param("Capabilities") or [])
    return result


def _response_update_stack_set(self: CloudFormationResponse) -> ActionResult:
    stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    if stack_set.permission_model != SERVICE_MANAGED:
        return _originals["CloudFormationResponse.update_stack_set"](self)
    _extras(stack_set)
    template = self._get_param("TemplateBody")
    if self._get_param("TemplateURL"):
        template = self._get_stack_from_s3_url(self._get_param("TemplateURL"))
    tags = {item["Key"]: item["Value"] for item in self._get_param("Tags", [])}
    accounts: list[str] = []
    targets = (self._get_param("DeploymentTargets") or {}).get("OrganizationalUnitIds") or []
    if targets:
        backend = _org_backend(self.current_account, self.partition)
        accounts = [a for a, _ in _accounts_under(backend, list(targets))] if backend else []
    parameters = self.cloudformation_backend._resolve_update_parameters(
        instance=stack_set, incoming_params=self._get_param("Parameters", []))
    _set_auto_deployment(stack_set, self._get_param("AutoDeployment"))
    if self._get_param("Capabilities"):
        stack_set.capabilities = list(self._get_param("Capabilities"))
    operation = stack_set.update(
        template=template, description=self._get_param("Description"), parameters=parameters, tags=tags,
        admin_role=self._get_param("AdministrationRoleARN"), execution_role=self._get_param("ExecutionRoleName"),
        accounts=accounts if targets else (list(self._get_param("Accounts", [])) or None),
        regions=list(self._get_param("Regions", [])), operation_id=self._get_param("OperationId"),
    )
    return ActionResult({"OperationId": operation["OperationId"]})


def _response_delete_stack_instances(self: CloudFormationResponse) -> ActionResult:
    stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    targets = (self._get_param("DeploymentTargets") or {}).get("OrganizationalUnitIds") or []
    if stack_set.permission_model != SERVICE_MANAGED or not targets:
        return _originals["CloudFormationResponse.delete_stack_instances"](self)
    _extras(stack_set)
    regions = set(self._get_param("Regions", []))
    backend = _org_backend(self.current_account, self.partition)
    parents = _parents(backend) if backend else {}
    accounts = {a.id for a in (backend.accounts if backend else []) if _target_of(a, targets, parents)}
    retain = _bool(self._get_param("RetainStacks", False))
    for instance in [i for i in stack_set.instances.stack_instances if i.account_id in accounts and i.region_name in regions]:
        if not retain:
            instance.delete()
        stack_set.instances.stack_instances.remove(instance)
    stack_set.organizational_unit_ids = [t for t in stack_set.organizational_unit_ids if t not in targets]
    operation_id = str(mock_random.uuid4())
    stack_set._create_operation(operation_id=operation_id, action="DELETE", status="SUCCEEDED",
                                accounts=sorted(accounts), regions=sorted(regions))
    return ActionResult({"OperationId": operation_id})


def _response_activate_organizations_access(self: CloudFormationResponse) -> EmptyResult:
    backend = _org_backend(self.current_account, self.partition)
    if backend is None:
        raise ValidationError(message="Only the management account of an organization can activate organizations access")
    backend.enable_aws_service_access(ServicePrincipal=TRUSTED_ACCESS_PRINCIPAL)
    return EmptyResult()


def _response_deactivate_organizations_access(self: CloudFormationResponse) -> EmptyResult:
    backend = _org_backend(self.current_account, self.partition)
    if backend is None:
        raise ValidationError(message="Only the management account of an organization can deactivate organizations access")
    backend.disable_aws_service_access(ServicePrincipal=TRUSTED_ACCESS_PRINCIPAL)
    return EmptyResult()


def _response_describe_organizations_access(self: CloudFormationResponse) -> ActionResult:
    backend = _org_backend(self.current_account, self.partition)
    if backend is None:
        raise ValidationError(message="Only the management account of an organization can describe organizations access")
    return ActionResult({"Status": "ENABLED" if _trusted_access_enabled(backend) else "DISABLED"})


# --- auto-deployment: Organizations tells CloudFormation --------------------------------------


def _auto_stack_sets(management_id: str) -> list[Any]:
    """Every active service-managed stack set of the management account with auto-deployment on."""
    found = []
    for backend in list(cfn_models.cloudformation_backends[management_id].values()):
        for stack_set in list(backend.stacksets.values()):
            _extras(stack_set)
            if (stack_set.status == "ACTIVE" and stack_set.permission_model == SERVICE_MANAGED
                    and stack_set.auto_deployment.get("Enabled")):
                found.append(stack_set)
    return found


def _auto_deploy(backend: org_models.OrganizationsBackend, account_id: str) -> None:
    """Bring the account's instances in line with where it is now."""
    if backend.org is None:
        return
    management_id = backend.org.master_account_id
    parents = _parents(backend)
    account = next((a for a in backend.accounts if a.id == account_id), None)
    for stack_set in _auto_stack_sets(management_id):
        target = _target_of(account, stack_set.organizational_unit_ids, parents) if account is not None else None
        if target is not None and _eligible(account, backend):
            _deploy(stack_set, [(account_id, target)], list(stack_set.regions))
        elif any(i.account_id == account_id for i in stack_set.instances.stack_instances):
            _remove(stack_set, {account_id}, bool(stack_set.auto_deployment.get("RetainStacksOnAccountRemoval")))


def _org_create_account(self: org_models.OrganizationsBackend, **kwargs: Any) -> dict[str, Any]:
    status = _originals["OrganizationsBackend.create_account"](self, **kwargs)
    _auto_deploy(self, str(status["CreateAccountStatus"]["AccountId"]))
    return status


def _org_move_account(self: org_models.OrganizationsBackend, **kwargs: Any) -> None:
    _originals["OrganizationsBackend.move_account"](self, **kwargs)
    _auto_deploy(self, str(kwargs["AccountId"]))


def _org_remove_account(self: org_models.OrganizationsBackend, **kwargs: Any) -> None:
    _originals["OrganizationsBackend.remove_account_from_organization"](self, **kwargs)
    _auto_deploy(self, str(kwargs["AccountId"]))


# --- stack updates that change parameters and conditions ---------------------------------------
#
# A stack instance is updated with new parameters more often than with a new template. moto 5.2.5
# updates a resource on a parameter change only when the parameter is a {"Ref"} in it (not a
# ${Param} in Fn::Sub), and never creates or deletes a resource whose Condition changes. These three
# changes apply to every stack update; stacks without Parameters and Conditions are not affected.

_SUB_VARIABLE = re.compile(r"\$\{([^!}][^}]*)\}")


def _sub_variables(value: Any) -> list[str]:
    """The ${Name} variables of an Fn::Sub (string, or [string, {variables}]) that name parameters or resources."""
    text = value[0] if isinstance(value, list) and value else value
    names = [name for name in _SUB_VARIABLE.findall(text) if "." not in name] if isinstance(text, str) else []
    if isinstance(value, list) and len(value) > 1 and isinstance(value[1], dict):
        names = [n for n in names if n not in value[1]] + _references(value[1])
    return names


def _references(template: Any) -> list[str]:
    """What moto's get_references_from_template finds ({"Ref": name}), plus the variables of Fn::Sub."""
    found: list[str] = []
    if isinstance(template, dict):
        for key, value in template.items():
            if key == "Ref":
                found.append(value)
            elif key == "Fn::Sub":
                found += _sub_variables(value)
            else:
                found += _references(value)
    elif isinstance(template, list):
        for item in template:
            found += _references(item)
    return found


def _condition_holds(resources_map: Any, resource_json: dict[str, Any]) -> bool:
    condition = resource_json.get("Condition")
    return not condition or bool(resources_map.lazy_condition_map[condition])


def _update_resource(logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str) -> Any:
    """A resource whose condition no longer holds is not updated (it is deleted after the update)."""
    if not _condition_holds(resources_map, resource_json):
        return resources_map._parsed_resources.get(logical_id)
    return _originals["parsing.parse_and_update_resource"](logical_id, resource_json, resources_map, account_id, region_name)


def _is_model(value: Any) -> bool:
    return value is not None and not isinstance(value, (str, int, float, bool, list, dict))


def _update_resource_map(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
    """moto's update, then the resources whose condition changed: created when it holds, deleted when not."""
    _originals["ResourceMap.update"](self, template, parameters)
    for logical_id, resource_json in list(self._resource_json_map.items()):
        if not isinstance(resource_json, dict) or "Condition" not in resource_json:
            continue
        present = self._parsed_resources.get(logical_id)
        if present is None:
            self._parsed_resources.pop(logical_id, None)
        if _condition_holds(self, resource_json):
            if not _is_model(present):
                _ = self[logical_id]  # moto creates a resource on first access
        elif _is_model(present):
            self._delete_resource(present, resource_json)
            self._parsed_resources.pop(logical_id, None)


# --- installation -----------------------------------------------------------------------------

_PATCHES: tuple[tuple[Any, str, Callable[..., Any]], ...] = (
    (cfn_models.StackSet, "create_stack_instances", _create_stack_instances),
    (cfn_models.StackSet, "update", _update),
    (cfn_models.StackInstance, "to_dict", _instance_to_dict),
    (CloudFormationResponse, "create_stack_set", _response_create_stack_set),
    (CloudFormationResponse, "update_stack_set", _response_update_stack_set),
    (CloudFormationResponse, "delete_stack_instances", _response_delete_stack_instances),
    (CloudFormationResponse, "activate_organizations_access", _response_activate_organizations_access),
    (CloudFormationResponse, "deactivate_organizations_access", _response_deactivate_organizations_access),
    (CloudFormationResponse, "describe_organizations_access", _response_describe_organizations_access),
    (org_models.OrganizationsBackend, "create_account", _org_create_account),
    (org_models.OrganizationsBackend, "move_account", _org_move_account),
    (org_models.OrganizationsBackend, "remove_account_from_organization", _org_remove_account),
    (cfn_parsing.ResourceMap, "update", _update_resource_map),
)
_FUNCTION_PATCHES: tuple[tuple[Any, str, Callable[..., Any]], ...] = (
    (cfn_parsing, "get_references_from_template", _references),
    (cfn_parsing, "parse_and_update_resource", _update_resource),
)


def install() -> None:
    """Put the changes above in place (once per process; later calls do nothing)."""
    global _installed
    with _lock:
        if _installed:
            return
        for owner, name, replacement in _PATCHES:
            original = owner.__dict__.get(name)
            if original is not None:
                _originals[f"{owner.__name__}.{name}"] = original
            setattr(owner, name, replacement)
        for module, name, replacement in _FUNCTION_PATCHES:
            _originals[f"{module.__name__.rsplit('.', 1)[-1]}.{name}"] = getattr(module, name)
            setattr(module, name, replacement)
        _installed = True


def installed() -> bool:
    return _installed

"""Service-managed StackSets as AWS deploys them through Organizations.

moto 5.2.5 keeps service-managed StackSets as records, and deploys them unlike AWS: an OU target reaches
its direct child accounts only (the management account and closed accounts included); ``UpdateStackSet``
changes none of the stack instances; ``AutoDeployment`` is dropped; operations always succeed at once
with no ``OperationPreferences``; a resource that fails fails the request; ``DeploymentTargets``'
account filters, ``ListStackInstances``' filters and every pagination are ignored; trusted access
(``ActivateOrganizationsAccess``) does not exist.

``install()`` changes that, in place, for the whole process (moto keeps its state in module globals).
Self-managed stack sets keep moto's behaviour.

Targets (``emulator.stacksets_targets``)
  - An OU target (or the root) reaches every ACTIVE account below it, nested OUs included, never the
    organization's management account. ``AccountFilterType`` with ``Accounts``: ``INTERSECTION`` (only
    those accounts within the OUs), ``DIFFERENCE`` (the OUs but those), ``UNION`` (the OUs plus those,
    wherever they are; refused on ``CreateStackInstances``, as AWS does), ``NONE``; on
    ``CreateStackInstances``, ``UpdateStackInstances``, ``UpdateStackSet`` and ``DeleteStackInstances``.
    A create naming OUs and accounts must give the filter; an update or delete without one reads ``UNION``.
  - ``OperationPreferences`` are checked as AWS does (count or percentage, not both; ranges; enumerations)
    and shown by ``DescribeStackSetOperation`` / ``ListStackSetOperations``.

Operations (``emulator.stacksets_operations``)
  - ``CreateStackInstances``, ``UpdateStackSet``, ``UpdateStackInstances``, ``DeleteStackInstances`` give an
    ``OperationId`` (the request's, which botocore fills in; one already used: ``OperationIdAlreadyExistsException``).
    One operation at a time: another one while one is QUEUED or RUNNING is ``OperationInProgressException``
    "Another Operation on StackSet <arn> is in progress" (HTTP 409), or, with ``ManagedExecution`` on, QUEUED.
  - Without a fault plan they end within the request. The fault plan's ``stackset_operations``
    (``{"describes": K}`` or ``{"seconds": S}``) keeps them RUNNING for K DescribeStackSetOperation answers,
    or S seconds of the plan's clock; meanwhile the instances show DetailedStatus PENDING/RUNNING and the
    accounts' resources are untouched.
  - Each account's stack is created, updated (only when the template or its parameters changed since it
    last deployed: an update that changes nothing is an operation that touches no resource) or deleted in
    its account (``emulator.cfn_stacks``' engine: a failing resource rolls back). A failure (a resource
    that fails, such as a role that already exists there, or the fault plan's ``fail_stack_instances``)
    makes that result FAILED and the instance OUTDATED with a StatusReason
    ("ResourceLogicalId:Role, ResourceType:AWS::IAM::Role, ResourceStatusReason:Resource handler returned
    message: ..."), a failed delete INOPERABLE; past the failure tolerance the rest are CANCELLED and the
    operation FAILED. ``ListStackSetOperationResults`` gives each account's Status, StatusReason and
    AccountGateResult (SKIPPED); ``StopStackSetOperation`` stops a queued or running one.
  - An ``UpdateStackSet`` that changes the template or parameters marks every instance OUTDATED before it
    updates those its ``DeploymentTargets`` / ``Regions`` name; one that changes neither leaves the others as
    they are. Any update retries the OUTDATED instances it reaches (a failed create is created again).

Instances and stack sets
  - ``ListStackInstances`` / ``DescribeStackInstance``: Status CURRENT / OUTDATED / INOPERABLE,
    ``StackInstanceStatus.DetailedStatus``, ``StatusReason``, ``OrganizationalUnitId`` (the target that
    reaches the account), ``DriftStatus`` NOT_CHECKED, ``LastOperationId``, ``ParameterOverrides``; filters
    ``DETAILED_STATUS``, ``LAST_OPERATION_ID``, ``DRIFT_STATUS``, ``StackInstanceAccount``/``Region``; at most
    100 a page with ``NextToken``. ``ListStackSets`` (``Status``), ``ListStackSetOperations`` and
    ``ListStackSetOperationResults`` page the same way. ``DescribeStackSet`` shows ``OrganizationalUnitIds``,
    ``Regions``, ``AutoDeployment``, ``ManagedExecution``; ``ListStackSetAutoDeploymentTargets`` exists.
  - ``DeleteStackSet`` while an operation is queued or running: ``OperationInProgressException``.

Automatic deployment
  - With ``AutoDeployment`` enabled, an account created in or moved into a target OU (nested included) gets its
    instance in every Region of the stack set at once, through an operation of its own (CREATE); one moved
    out of every target, or removed from the organization, loses it (DELETE), unless
    ``RetainStacksOnAccountRemoval``. As AWS documents, automatic deployment ignores the account filters an
    operation used: a new or moved account in a target OU gets its instance even if a filter left it out, and
    ``OperationPreferences`` do not apply to it. An account moved between two targets keeps its instance.

Trusted access
  - ``ActivateOrganizationsAccess`` / ``DeactivateOrganizationsAccess`` / ``DescribeOrganizationsAccess``,
    backed by Organizations' service access for ``member.org.stacksets.cloudformation.amazonaws.com``;
    creating a service-managed stack set or its instances without it fails as in AWS, and so does creating
    one from another account as itself (``CallAs`` ``DELEGATED_ADMIN`` is ``emulator/delegated_admin.py``).

Stack updates through moto's own path (``ResourceMap.update``, which self-managed instances take) update a
resource whose parameter is only a ``${Param}`` in ``Fn::Sub``, and create or delete a resource whose
``Condition`` the new parameters turn on or off; service-managed instances do the same through the engine.

Still different from AWS: stack instances' stacks are not listed by ``DescribeStacks`` in the member account
(their resources are real); automatic deployments run at once, beside a running operation, instead of
being queued; a paced operation changes its accounts all at once when it ends (AWS goes account by account);
``AccountsUrl``, ``SKIPPED_SUSPENDED_ACCOUNT``, drift detection, ``ImportStacksToStackSet`` and
``DependsOn`` of auto-deployment are not emulated; ``CallAs DELEGATED_ADMIN``'s ``ListStackSets`` is not
paged. Error messages whose AWS wording is unknown are the emulator's (the README lists them).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing as cfn_parsing
from moto.cloudformation.exceptions import StackInstanceNotFound, ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.responses import ActionResult, EmptyResult
from moto.organizations import models as org_models

from emulator import scaling
from emulator import stacksets_operations as ops
from emulator import stacksets_targets as tg

SERVICE_MANAGED = "SERVICE_MANAGED"
TRUSTED_ACCESS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
# AWS's answer to a service-managed stack set operation from an account that is neither the management account
# nor a delegated administrator calling with CallAs DELEGATED_ADMIN (emulator/delegated_admin.py)
SERVICE_MANAGED_REFUSED = ("You must be the management account or delegated admin account of an organization before "
                           "operating a SERVICE_MANAGED stack set")
DETAILED_STATUSES = ("PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "INOPERABLE", "SKIPPED_SUSPENDED_ACCOUNT",
                     "FAILED_IMPORT")

_lock = threading.Lock()
_installed = False
_originals: dict[str, Callable[..., Any]] = {}


# --- the organization ---------------------------------------------------------------------------


def _org_backend(account_id: str, partition: str = "aws") -> org_models.OrganizationsBackend | None:
    """The backend that holds the organization ``account_id`` manages (None when it manages none)."""
    backend = org_models.organizations_backends[account_id][partition]
    return backend if backend.org is not None else None


def _trusted_access_enabled(backend: org_models.OrganizationsBackend | None) -> bool:
    return backend is not None and any(s["ServicePrincipal"] == TRUSTED_ACCESS_PRINCIPAL for s in backend.services)


def _require_service_managed_allowed(account_id: str, partition: str) -> org_models.OrganizationsBackend:
    backend = _org_backend(account_id, partition)
    if backend is None:
        # a member account calling as itself (CallAs SELF), a delegated administrator included; or no organization
        raise ValidationError(message=SERVICE_MANAGED_REFUSED)
    if not _trusted_access_enabled(backend):
        raise ValidationError(message=(
            "You must enable organizations access to operate a service managed stack set "
            "(ActivateOrganizationsAccess)"))
    return backend


def _bool(value: Any) -> bool:
    return value if isinstance(value, bool) else str(value).lower() == "true"


def _set_auto_deployment(stack_set: Any, value: dict[str, Any] | None) -> None:
    if not value:
        return
    stack_set.auto_deployment = {
        "Enabled": _bool(value.get("Enabled", False)),
        "RetainStacksOnAccountRemoval": _bool(value.get("RetainStacksOnAccountRemoval", False)),
    }


def _parameters(values: Any) -> dict[str, Any]:
    if isinstance(values, dict):
        return dict(values)
    return {p["ParameterKey"]: p["ParameterValue"] for p in values or [] if "ParameterValue" in p}


def _service_managed(response: CloudFormationResponse) -> Any:
    """The request's stack set when it is service-managed (trusted access checked), else None."""
    stack_set = response.cloudformation_backend.describe_stack_set(response._get_param("StackSetName"))
    if stack_set.permission_model != SERVICE_MANAGED:
        return None
    ops.extras(stack_set)
    return stack_set


def _regions(response: CloudFormationResponse, required: bool) -> list[str]:
    regions = [str(r) for r in response._get_param("Regions") or []]
    if required and not regions:
        raise ValidationError(message="Regions must be specified")
    return list(dict.fromkeys(regions))


# --- the CloudFormation API: stack sets -----------------------------------------------------------


def _response_create_stack_set(self: CloudFormationResponse) -> ActionResult:
    if str(self._get_param("PermissionModel") or "") == SERVICE_MANAGED:
        _require_service_managed_allowed(self.current_account, self.partition)
    result = _originals["CloudFormationResponse.create_stack_set"](self)
    stack_set = self.cloudformation_backend.describe_stack_set(self._get_param("StackSetName"))
    ops.extras(stack_set)
    _set_auto_deployment(stack_set, self._get_param("AutoDeployment"))
    stack_set.capabilities = list(self._get_param("Capabilities") or [])
    stack_set.orgiam_managed_execution = _bool((self._get_param("ManagedExecution") or {}).get("Active", False))
    return result


def _response_update_stack_set(self: CloudFormationResponse) -> ActionResult:
    stack_set = _service_managed(self)
    if stack_set is None:
        return _originals["CloudFormationResponse.update_stack_set"](self)
    backend = _require_service_managed_allowed(self.current_account, self.partition)
    deployment_targets = self._get_param("DeploymentTargets")
    regions = _regions(self, required=False)
    auto_deployment = self._get_param("AutoDeployment")
    if auto_deployment and (deployment_targets or regions):
        raise ValidationError(message="You cannot specify AutoDeployment together with DeploymentTargets or Regions")
    chosen = tg.targets(backend, deployment_targets, tg.UPDATE) if deployment_targets else None
    listed = [str(a) for a in self._get_param("Accounts") or []]
    preferences = tg.preferences(self._get_param("OperationPreferences"))
    template = self._get_param("TemplateBody")
    if self._get_param("TemplateURL"):
        template = self._get_stack_from_s3_url(self._get_param("TemplateURL"))
    incoming = self._get_param("Parameters")
    tags = self._get_param("Tags")
    description = self._get_param("Description")
    capabilities = self._get_param("Capabilities")
    cfn_backend = self.cloudformation_backend

    def prepare(operation: ops.Operation) -> list[ops.Work]:
        new_template = str(template or stack_set.template)
        parameters = dict(stack_set.parameters or {})
        if incoming is not None:
            parameters = cfn_backend._resolve_update_parameters(instance=stack_set, incoming_params=incoming or [])
        changed = new_template != stack_set.template or parameters != dict(stack_set.parameters or {})
        stack_set.template = stack_set.instances.template = new_template
        stack_set.parameters = parameters
        if description is not None:
            stack_set.description = description
        if tags is not None:
            stack_set.tags = {t["Key"]: t["Value"] for t in tags or []}
        if capabilities:
            stack_set.capabilities = list(capabilities)
        _set_auto_deployment(stack_set, auto_deployment)
        instances = list(stack_set.instances.stack_instances)
        if changed:
            for instance in instances:
                instance.status = "OUTDATED"
        fresh = tg.targets(backend, deployment_targets, tg.UPDATE) if deployment_targets else None
        accounts = {a for a, _ in fresh.accounts} if fresh is not None else (set(listed) if listed else None)
        return [ops.Work(i.account_id, i.region_name, i.organizational_unit_id) for i in instances
                if (accounts is None or i.account_id in accounts) and (not regions or i.region_name in regions)]

    operation = ops.submit(stack_set, "UPDATE", prepare, preferences, self._get_param("OperationId"),
                           chosen.requested if chosen is not None else None)
    return ActionResult({"OperationId": operation.operation_id})


def _response_delete_stack_set(self: CloudFormationResponse) -> EmptyResult:
    stack_set = _service_managed(self)
    if stack_set is not None:
        ops.advance(stack_set)
        if any(o.status in ops.ACTIVE for o in ops.operations_of(stack_set)):
            raise ops.OperationInProgressException(f"Another Operation on StackSet {stack_set.arn} is in progress")
    return _originals["CloudFormationResponse.delete_stack_set"](self)


def _response_list_stack_sets(self: CloudFormationResponse) -> ActionResult:
    wanted = str(self._get_param("Status") or "")
    found = [s for s in self.cloudformation_backend.list_stack_sets() if not wanted or s.status == wanted]
    for stack_set in found:
        if stack_set.permission_model == SERVICE_MANAGED:
            ops.extras(stack_set)
    chunk, token = ops.page(found, self._get_param("MaxResults"), self._get_param("NextToken"), "stack-sets")
    return ActionResult({"Summaries": chunk, **({"NextToken": token} if token else {})})


def _response_list_stack_set_auto_deployment_targets(self: CloudFormationResponse) -> ActionResult:
    stack_set = _service_managed(self)
    if stack_set is None:
        raise ValidationError(message="ListStackSetAutoDeploymentTargets is only for stack sets with SERVICE_MANAGED permissions")
    summaries = [{"OrganizationalUnitId": ou, "Regions": list(stack_set.regions)} for ou in stack_set.organizational_unit_ids]
    chunk, token = ops.page(summaries, self._get_param("MaxResults"), self._get_param("NextToken"), f"targets:{stack_set.id}")
    return ActionResult({"Summaries": chunk, **({"NextToken": token} if token else {})})


def _managed_execution(self: Any) -> dict[str, bool]:
    return {"Active": bool(getattr(self, "orgiam_managed_execution", False))}


# --- the CloudFormation API: stack instances ------------------------------------------------------


def _response_create_stack_instances(self: CloudFormationResponse) -> ActionResult:
    stack_set = _service_managed(self)
    if stack_set is None:
        return _originals["CloudFormationResponse.create_stack_instances"](self)
    backend = _require_service_managed_allowed(self.current_account, self.partition)
    deployment_targets = self._get_param("DeploymentTargets")
    if self._get_param("Accounts") and not deployment_targets:
        raise ValidationError(message="StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target")
    chosen = tg.targets(backend, deployment_targets, tg.CREATE)
    regions = _regions(self, required=True)
    preferences = tg.preferences(self._get_param("OperationPreferences"))
    overrides = self._get_param("ParameterOverrides")

    def prepare(operation: ops.Operation) -> list[ops.Work]:
        fresh = tg.targets(backend, deployment_targets, tg.CREATE)
        stack_set.organizational_unit_ids = sorted(set(stack_set.organizational_unit_ids) | set(fresh.ou_ids))
        stack_set.regions = sorted(set(stack_set.regions) | set(regions))
        return [ops.Work(account, region, ou, overrides=list(overrides) if overrides else None)
                for region in regions for account, ou in fresh.accounts]

    operation = ops.submit(stack_set, "CREATE", prepare, preferences, self._get_param("OperationId"), chosen.requested)
    return ActionResult({"OperationId": operation.operation_id})


def _response_update_stack_instances(self: CloudFormationResponse) -> ActionResult:
    stack_set = _service_managed(self)
    if stack_set is None:
        return _originals["CloudFormationResponse.update_stack_instances"](self)
    backend = _require_service_managed_allowed(self.current_account, self.partition)
    deployment_targets = self._get_param("DeploymentTargets")
    if not deployment_targets:
        raise ValidationError(message="StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target")
    chosen = tg.targets(backend, deployment_targets, tg.UPDATE)
    regions = _regions(self, required=True)
    preferences = tg.preferences(self._get_param("OperationPreferences"))
    incoming = self._get_param("ParameterOverrides")
    ops.advance(stack_set)
    for account in chosen.listed if chosen.filter_type in ("", "UNION") else ():
        for region in regions:
            if ops.instance_of(stack_set, account, region) is None:
                raise StackInstanceNotFound()

    def new_overrides(instance: ops.Instance) -> list[dict[str, Any]] | None:
        if incoming is None:
            return None
        previous = instance.overrides()
        kept = []
        for entry in incoming or []:
            if _bool(entry.get("UsePreviousValue", False)) and entry["ParameterKey"] in previous:
                kept.append({"ParameterKey": entry["ParameterKey"], "ParameterValue": previous[entry["ParameterKey"]]})
            elif "ParameterValue" in entry:
                kept.append({"ParameterKey": entry["ParameterKey"], "ParameterValue": entry["ParameterValue"]})
        return kept

    def prepare(operation: ops.Operation) -> list[ops.Work]:
        fresh = tg.targets(backend, deployment_targets, tg.UPDATE)
        work = []
        for region in regions:
            for account, _ in fresh.accounts:
                instance = ops.instance_of(stack_set, account, region)
                if instance is not None:
                    work.append(ops.Work(account, region, instance.organizational_unit_id, overrides=new_overrides(instance)))
        return work

    operation = ops.submit(stack_set, "UPDATE", prepare, preferences, self._get_param("OperationId"), chosen.requested)
    return ActionResult({"OperationId": operation.operation_id})


def _response_delete_stack_instances(self: CloudFormationResponse) -> ActionResult:
    stack_set = _service_managed(self)
    if stack_set is None:
        return _originals["CloudFormationResponse.delete_stack_instances"](self)
    backend = _require_service_managed_allowed(self.current_account, self.partition)
    deployment_targets = self._get_param("DeploymentTargets")
    if self._get_param("Accounts") and not deployment_targets:
        raise ValidationError(message="StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target")
    chosen = tg.targets(backend, deployment_targets, tg.DELETE)
    regions = _regions(self, required=True)
    retain = _bool(self._get_param("RetainStacks", False))
    preferences = tg.preferences(self._get_param("OperationPreferences"))

    def prepare(operation: ops.Operation) -> list[ops.Work]:
        fresh = tg.targets(backend, deployment_targets, tg.DELETE)
        if fresh.filter_type in ("", "NONE", "UNION"):  # the OUs as a whole leave the stack set's targets
            stack_set.organizational_unit_ids = [t for t in stack_set.organizational_unit_ids if t not in fresh.ou_ids]
        work = []
        for region in regions:
            for account, _ in fresh.accounts:
                instance = ops.instance_of(stack_set, account, region)
                if instance is not None:
                    work.append(ops.Work(account, region, instance.organizational_unit_id, delete=True, retain=retain))
        return work

    operation = ops.submit(stack_set, "DELETE", prepare, preferences, self._get_param("OperationId"), chosen.requested,
                           retain_stacks=retain)
    return ActionResult({"OperationId": operation.operation_id})


def _response_list_stack_instances(self: CloudFormationResponse) -> ActionResult:
    stack_set = _service_managed(self)
    if stack_set is None:
        return _originals["CloudFormationResponse.list_stack_instances"](self)
    ops.advance(stack_set)
    instances = [i.to_dict() for i in stack_set.instances.stack_instances]
    account, region = self._get_param("StackInstanceAccount"), self._get_param("StackInstanceRegion")
    instances = [i for i in instances if (not account or i["Account"] == account) and (not region or i["Region"] == region)]
    for entry in self._get_param("Filters") or []:
        name, value = str(entry.get("Name") or ""), str(entry.get("Values") or "")
        if name == "DETAILED_STATUS":
            if value not in DETAILED_STATUSES:
                raise ValidationError(message=f"Invalid value {value} for filter DETAILED_STATUS")
            instances = [i for i in instances if i["StackInstanceStatus"]["DetailedStatus"] == value]
        elif name == "LAST_OPERATION_ID":
            instances = [i for i in instances if i.get("LastOperationId") == value]
        elif name == "DRIFT_STATUS":
            instances = [i for i in instances if i["DriftStatus"] == value]
        else:
            raise ValidationError(message=(
                f"1 validation error detected: Value '{name}' at 'filters.member.name' failed to satisfy constraint: "
                "Member must satisfy enum value set: [DETAILED_STATUS, LAST_OPERATION_ID, DRIFT_STATUS]"))
    chunk, token = ops.page(instances, self._get_param("MaxResults"), self._get_param("NextToken"), f"instances:{stack_set.id}")
    return ActionResult({"Summaries": chunk, **({"NextToken": token} if token else {})})


def _response_describe_stack_instance(self: CloudFormationResponse) -> ActionResult:
    stack_set = _service_managed(self)
    if stack_set is None:
        return _originals["CloudFormationResponse.describe_stack_instance"](self)
    ops.advance(stack_set)
    instance = ops.instance_of(stack_set, str(self._get_param("StackInstanceAccount")), str(self._get_param("StackInstanceRegion")))
    if instance is None:
        raise StackInstanceNotFound()
    return ActionResult({"StackInstance": instance.to_dict(described=True)})


# --- the CloudFormation API: operations -----------------------------------------------------------


def _response_list_stack_set_operations(self: CloudFormationResponse) -> ActionResult:
    stack_set = _service_managed(self)
    if stack_set is None:
        return _originals["CloudFormationResponse.list_stack_set_operations"](self)
    ops.advance(stack_set)
    summaries = [o.summary() for o in ops.operations_of(stack_set)]
    chunk, token = ops.page(summaries, self._get_param("MaxResults"), self._get_param("NextToken"), f"operations:{stack_set.id}")
    return ActionResult({"Summaries": chunk, **({"NextToken": token} if token else {})})


def _response_describe_stack_set_operation(self: CloudFormationResponse) -> ActionResult:
    stack_set = _service_managed(self)
    if stack_set is None:
        return _originals["CloudFormationResponse.describe_stack_set_operation"](self)
    ops.advance(stack_set)
    operation = ops.find(stack_set, str(self._get_param("OperationId")))
    answer = operation.description()
    ops.looked_at(operation)
    return ActionResult({"StackSetOperation": answer})


def _response_list_stack_set_operation_results(self: CloudFormationResponse) -> ActionResult:
    stack_set = _service_managed(self)
    if stack_set is None:
        return _originals["CloudFormationResponse.list_stack_set_operation_results"](self)
    ops.advance(stack_set)
    operation = ops.find(stack_set, str(self._get_param("OperationId")))
    results = operation.results()
    for entry in self._get_param("Filters") or []:
        if str(entry.get("Name") or "") != "OPERATION_RESULT_STATUS":
            raise ValidationError(message=(
                f"1 validation error detected: Value '{entry.get('Name')}' at 'filters.member.name' failed to satisfy "
                "constraint: Member must satisfy enum value set: [OPERATION_RESULT_STATUS]"))
        results = [r for r in results if r["Status"] == str(entry.get("Values") or "")]
    chunk, token = ops.page(results, self._get_param("MaxResults"), self._get_param("NextToken"),
                            f"results:{operation.operation_id}")
    return ActionResult({"Summaries": chunk, **({"NextToken": token} if token else {})})


def _response_stop_stack_set_operation(self: CloudFormationResponse) -> EmptyResult:
    stack_set = _service_managed(self)
    if stack_set is None:
        return _originals["CloudFormationResponse.stop_stack_set_operation"](self)
    ops.stop(stack_set, str(self._get_param("OperationId")))
    return EmptyResult()


# --- trusted access ---------------------------------------------------------------------------------


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
            if stack_set.status != "ACTIVE" or stack_set.permission_model != SERVICE_MANAGED:
                continue
            ops.extras(stack_set)
            if stack_set.auto_deployment.get("Enabled"):
                found.append(stack_set)
    return found


def _targets_holding(backend: org_models.OrganizationsBackend, parent_id: str | None) -> dict[str, str | None]:
    """For each auto-deploying stack set (by id), the target that holds ``parent_id`` (None: none does)."""
    if backend.org is None:
        return {}
    parent_of = tg.parents(backend)
    return {s.id: tg.target_of(parent_id, list(s.organizational_unit_ids), parent_of)
            for s in _auto_stack_sets(backend.org.master_account_id)}


def _auto_deploy(backend: org_models.OrganizationsBackend, account_id: str, before: dict[str, str | None]) -> None:
    """Bring the account's instances in line with where it is now: an account that arrived under a target
    gets them; one that left every target (and was under one before) loses them. Filters are not consulted."""
    if backend.org is None:
        return
    account = scaling.account_by_id(backend, account_id)
    parent_of = tg.parents(backend)
    for stack_set in _auto_stack_sets(backend.org.master_account_id):
        target = tg.target_of(account.parent_id, list(stack_set.organizational_unit_ids), parent_of) if account else None
        instances = [i for i in stack_set.instances.stack_instances if i.account_id == account_id]
        if target is not None and account is not None and tg.eligible(account, backend):
            for instance in instances:
                instance.organizational_unit_id = target
            missing = [r for r in stack_set.regions if r not in {i.region_name for i in instances}]
            if missing:
                ops.submit(stack_set, "CREATE", lambda _, m=missing, t=target: [ops.Work(account_id, r, t) for r in m],
                           tg.AUTO, deployment_targets={"OrganizationalUnitIds": [target]})
        elif instances and before.get(stack_set.id) is not None:
            retain = bool(stack_set.auto_deployment.get("RetainStacksOnAccountRemoval"))
            work = [ops.Work(account_id, i.region_name, i.organizational_unit_id, delete=True, retain=retain) for i in instances]
            ops.submit(stack_set, "DELETE", lambda _, w=work: w, tg.AUTO, retain_stacks=retain,
                       deployment_targets={"OrganizationalUnitIds": [str(before.get(stack_set.id))]})


def _parent_of_account(backend: org_models.OrganizationsBackend, account_id: str) -> str | None:
    account = scaling.account_by_id(backend, account_id)
    return str(account.parent_id) if account is not None else None


def _org_create_account(self: org_models.OrganizationsBackend, **kwargs: Any) -> dict[str, Any]:
    status = _originals["OrganizationsBackend.create_account"](self, **kwargs)
    _auto_deploy(self, str(status["CreateAccountStatus"]["AccountId"]), {})
    return status


def _org_move_account(self: org_models.OrganizationsBackend, **kwargs: Any) -> None:
    before = _targets_holding(self, _parent_of_account(self, str(kwargs["AccountId"])))
    _originals["OrganizationsBackend.move_account"](self, **kwargs)
    _auto_deploy(self, str(kwargs["AccountId"]), before)


def _org_remove_account(self: org_models.OrganizationsBackend, **kwargs: Any) -> None:
    before = _targets_holding(self, _parent_of_account(self, str(kwargs["AccountId"])))
    _originals["OrganizationsBackend.remove_account_from_organization"](self, **kwargs)
    _auto_deploy(self, str(kwargs["AccountId"]), before)


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


def _update_resource_map(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
    """moto's update, then the resources whose condition changed: created when it holds, deleted when not."""
    _originals["ResourceMap.update"](self, template, parameters)
    ops.reconcile_conditions(self)


# --- installation -----------------------------------------------------------------------------

_PATCHES: tuple[tuple[Any, str, Any], ...] = (
    (cfn_models.StackSet, "managed_execution", property(_managed_execution)),
    (CloudFormationResponse, "create_stack_set", _response_create_stack_set),
    (CloudFormationResponse, "update_stack_set", _response_update_stack_set),
    (CloudFormationResponse, "delete_stack_set", _response_delete_stack_set),
    (CloudFormationResponse, "list_stack_sets", _response_list_stack_sets),
    (CloudFormationResponse, "list_stack_set_auto_deployment_targets", _response_list_stack_set_auto_deployment_targets),
    (CloudFormationResponse, "create_stack_instances", _response_create_stack_instances),
    (CloudFormationResponse, "update_stack_instances", _response_update_stack_instances),
    (CloudFormationResponse, "delete_stack_instances", _response_delete_stack_instances),
    (CloudFormationResponse, "list_stack_instances", _response_list_stack_instances),
    (CloudFormationResponse, "describe_stack_instance", _response_describe_stack_instance),
    (CloudFormationResponse, "list_stack_set_operations", _response_list_stack_set_operations),
    (CloudFormationResponse, "describe_stack_set_operation", _response_describe_stack_set_operation),
    (CloudFormationResponse, "list_stack_set_operation_results", _response_list_stack_set_operation_results),
    (CloudFormationResponse, "stop_stack_set_operation", _response_stop_stack_set_operation),
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

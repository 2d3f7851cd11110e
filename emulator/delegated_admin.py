"""Delegated administrators as AWS has them: who may read the organization, and StackSets' ``CallAs``.

moto 5.2.5 answers Organizations calls of a member account as if membership were permission: ``ListRoots``
from any member returns the organization's root, ``ListAccounts`` answers an empty list, the other reads
fail with errors AWS never gives; ``RegisterDelegatedAdministrator`` refuses StackSets' service principal;
``PutResourcePolicy`` and its siblings do not exist; CloudFormation ignores ``CallAs``. ``install()``
changes that, in place, for the whole process:

Organizations
  - a member account may call only what AWS lets any member call (``DescribeOrganization``,
    ``LeaveOrganization``, its handshakes, ``DescribeEffectivePolicy``). Every other call, read or write,
    is ``AccessDeniedException`` "You don't have permissions to access this resource." (the message AWS
    gives), unless
    - it is a read (``Describe*``/``List*``) that AWS lets a delegated administrator make, and the account
      is a registered delegated administrator for some service (AWS: "can be called only from the
      organization's management account or by a member account that is a delegated administrator for an
      AWS service"), or
    - the organization's resource-based delegation policy allows the account that action (writes such as
      ``TagResource`` included; never what only the management account may do: ``CreateAccount``,
      ``MoveAccount``, ``PutResourcePolicy``, ``RegisterDelegatedAdministrator``, ...).
    An explicit ``Deny`` of the policy wins. An allowed call is answered from the management account's
    organization, as AWS answers it. The policy is evaluated for account principals (``arn:...:root`` or
    the bare id) and ``*``; a statement that names a role, has a ``Condition`` or uses ``NotAction`` or
    ``NotPrincipal`` allows nothing here (the emulator says no where it cannot tell).
  - ``PutResourcePolicy`` / ``DescribeResourcePolicy`` / ``DeleteResourcePolicy``: one policy per
    organization, ``rp-`` id and ``arn:...:resourcepolicy/<org>/<id>`` ARN kept across updates;
    ``ResourcePolicyNotFoundException`` when there is none. The content must be a JSON policy whose
    statements each have an ``Effect``, a ``Principal`` and ``organizations:`` actions.
  - ``RegisterDelegatedAdministrator`` knows ``member.org.stacksets.cloudformation.amazonaws.com``, at most
    five accounts for it, and refuses a suspended account (``ConstraintViolationException``).

CloudFormation StackSets (``CallAs`` on the operations that take it)
  - ``DELEGATED_ADMIN`` from an account registered for StackSets works on the management account's
    service-managed stack sets: AWS keeps every service-managed stack set there, those a delegated
    administrator creates included, so a stack set made by the management account is the same one the
    delegated administrator sees and changes. Its self-managed stack sets stay invisible
    (``StackSetNotFoundException``; ``ListStackSets`` leaves them out).
  - ``DELEGATED_ADMIN`` from any other account (the management account included): ``ValidationError``
    "Account used is not a delegated administrator".
  - ``SELF`` (the default) is the caller's own account, as before: a member account that asks for a
    service-managed stack set is refused by ``emulator/stacksets.py``.
"""

from __future__ import annotations

import fnmatch
import json
import string
import threading
from collections.abc import Callable
from typing import Any

from moto.cloudformation.exceptions import StackSetNotFoundException, ValidationError
from moto.cloudformation.responses import CloudFormationResponse
from moto.core.exceptions import ServiceException
from moto.core.responses import ActionResult, BaseResponse
from moto.moto_api._internal import mock_random
from moto.organizations import models as org_models
from moto.organizations.exceptions import (
    AWSOrganizationsNotInUseException,
    ConstraintViolationException,
    InvalidInputException,
    OrganizationsClientError,
)
from moto.organizations.responses import OrganizationsResponse

from emulator.iam_enforce import listed, names_account, statements  # one reading of policy documents

STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
MAX_STACKSETS_ADMINISTRATORS = 5  # "Your organization can have up to five registered delegated administrators"
SERVICE_MANAGED = "SERVICE_MANAGED"
DELEGATED_ADMIN = "DELEGATED_ADMIN"
ACCESS_DENIED_MESSAGE = "You don't have permissions to access this resource."
NOT_DELEGATED_ADMIN_MESSAGE = "Account used is not a delegated administrator"

# what any account of the organization may call
ANY_MEMBER = frozenset({
    "DescribeOrganization", "LeaveOrganization", "AcceptHandshake", "DeclineHandshake", "CancelHandshake",
    "DescribeHandshake", "ListHandshakesForAccount", "DescribeEffectivePolicy", "CreateOrganization",
})
# "You can only call this operation from the management account or a member account that is a delegated
# administrator" (the Organizations API reference); every operation not here or in ANY_MEMBER is the
# management account's alone
DELEGABLE = frozenset({
    "AttachPolicy", "CreatePolicy", "DeletePolicy", "DescribeAccount", "DescribeCreateAccountStatus",
    "DescribeOrganizationalUnit", "DescribePolicy", "DescribeResourcePolicy", "DetachPolicy", "DisablePolicyType",
    "EnablePolicyType", "ListAWSServiceAccessForOrganization", "ListAccounts", "ListAccountsForParent",
    "ListAccountsWithInvalidEffectivePolicy", "ListChildren", "ListCreateAccountStatus", "ListDelegatedAdministrators",
    "ListDelegatedServicesForAccount", "ListEffectivePolicyValidationErrors", "ListHandshakesForOrganization",
    "ListOrganizationalUnitsForParent", "ListParents", "ListPolicies", "ListPoliciesForTarget", "ListRoots",
    "ListTagsForResource", "ListTargetsForPolicy", "TagResource", "UntagResource", "UpdatePolicy",
})
# the CloudFormation operations that take CallAs
CALL_AS_OPERATIONS = frozenset({
    "CreateStackInstances", "CreateStackSet", "DeleteStackInstances", "DeleteStackSet", "DescribeOrganizationsAccess",
    "DescribeStackInstance", "DescribeStackSet", "DescribeStackSetOperation", "DetectStackSetDrift",
    "GetTemplateSummary", "ImportStacksToStackSet", "ListStackInstanceResourceDrifts", "ListStackInstances",
    "ListStackSetAutoDeploymentTargets", "ListStackSetOperationResults", "ListStackSetOperations", "ListStackSets",
    "StopStackSetOperation", "UpdateStackInstances", "UpdateStackSet",
})

_lock = threading.Lock()
_installed = False
_originals: dict[str, Callable[..., Any]] = {}


class AccessDeniedException(OrganizationsClientError):
    code = "AccessDeniedException"

    def __init__(self) -> None:
        super().__init__("AccessDeniedException", ACCESS_DENIED_MESSAGE)


class ResourcePolicyNotFoundException(OrganizationsClientError):
    def __init__(self) -> None:
        super().__init__("ResourcePolicyNotFoundException", "We can't find a resource policy request with the parameter that you specified.")


# --- the organization of an account --------------------------------------------------------------


def management_of(account_id: str) -> tuple[str, str] | None:
    """(management account id, partition) of the organization ``account_id`` is a member of; None when none.

    moto records every account an organization created or invited; the management account is not
    among them (its own backend holds the organization)."""
    return org_models.organizations_backends.master_accounts.get(account_id)


def organization_backend(management_id: str, partition: str) -> org_models.OrganizationsBackend:
    return org_models.organizations_backends[management_id][partition]


def delegated_services(backend: org_models.OrganizationsBackend, account_id: str) -> set[str]:
    """The service principals ``account_id`` is a registered delegated administrator for."""
    return {principal for admin in backend.admins if admin.account.id == account_id for principal in admin.services}


# --- the resource-based delegation policy ------------------------------------------------------------


def _policy_of(backend: org_models.OrganizationsBackend) -> dict[str, Any] | None:
    return backend.__dict__.get("orgiam_resource_policy")


def _names_action(actions: Any, action: str) -> bool:
    wanted = f"organizations:{action}".lower()
    return any(fnmatch.fnmatchcase(wanted, str(pattern).lower()) for pattern in listed(actions))


def policy_decision(document: dict[str, Any] | None, account_id: str, action: str) -> str:
    """What the delegation policy says of ``account_id`` calling ``action``: "Deny", "Allow" or "" (nothing)."""
    decision = ""
    for statement in statements(document or {}):
        if "NotPrincipal" in statement or "NotAction" in statement:
            continue
        if not names_account(statement.get("Principal"), account_id) or not _names_action(statement.get("Action"), action):
            continue
        if statement.get("Effect") == "Deny":
            return "Deny"  # a Deny counts whatever its Condition: the emulator says no where it cannot tell
        if statement.get("Effect") == "Allow" and "Condition" not in statement:
            decision = "Allow"
    return decision


def _check_policy_content(content: Any) -> dict[str, Any]:
    try:
        document = json.loads(content) if isinstance(content, str) else None
    except ValueError:
        document = None
    found = statements(document) if isinstance(document, dict) else []
    valid = bool(found) and all(
        s.get("Effect") in ("Allow", "Deny") and ("Principal" in s or "NotPrincipal" in s)
        and listed(s.get("Action") or s.get("NotAction"))
        and all(str(a).lower().startswith("organizations:") for a in listed(s.get("Action") or s.get("NotAction")))
        for s in found)
    if not valid or not isinstance(document, dict) or len(listed(document.get("Statement"))) != len(found):
        raise InvalidInputException("The provided policy document does not meet the requirements of the specified policy type.")
    return document


def _policy_answer(policy: dict[str, Any]) -> str:
    return json.dumps({"ResourcePolicy": {"ResourcePolicySummary": {"Id": policy["Id"], "Arn": policy["Arn"]},
                                          "Content": policy["Content"]}})


def _management_backend(response: OrganizationsResponse) -> org_models.OrganizationsBackend:
    backend = response.organizations_backend
    if backend.org is None:
        raise AWSOrganizationsNotInUseException
    return backend


def _put_resource_policy(self: OrganizationsResponse) -> str:
    backend = _management_backend(self)
    content = self._get_param("Content")
    document = _check_policy_content(content)
    assert backend.org is not None
    policy = _policy_of(backend)
    if policy is None:
        policy_id = "rp-" + "".join(mock_random.choice(string.ascii_lowercase + string.digits) for _ in range(8))
        arn = f"arn:{self.partition}:organizations::{backend.org.master_account_id}:resourcepolicy/{backend.org.id}/{policy_id}"
        policy = {"Id": policy_id, "Arn": arn, "Tags": list(self._get_param("Tags") or [])}
        backend.__dict__["orgiam_resource_policy"] = policy
    policy["Content"], policy["Document"] = content, document
    return _policy_answer(policy)


def _describe_resource_policy(self: OrganizationsResponse) -> str:
    policy = _policy_of(_management_backend(self))
    if policy is None:
        raise ResourcePolicyNotFoundException()
    return _policy_answer(policy)


def _delete_resource_policy(self: OrganizationsResponse) -> str:
    backend = _management_backend(self)
    if _policy_of(backend) is None:
        raise ResourcePolicyNotFoundException()
    backend.__dict__.pop("orgiam_resource_policy", None)
    return "{}"


# --- who may call what --------------------------------------------------------------------------------


def organizations_denial(account_id: str, action: str) -> str | None:
    """The management account whose organization answers ``account_id`` calling ``action``; None to answer as
    moto does (the management account itself, an account outside any organization, what any member may call).
    Raises AccessDeniedException when AWS would refuse."""
    found = management_of(account_id)
    if found is None or action in ANY_MEMBER:
        return None
    management_id, partition = found
    backend = organization_backend(management_id, partition)
    if backend.org is None:
        return None
    decision = policy_decision((_policy_of(backend) or {}).get("Document"), account_id, action)
    if decision == "Deny" or action not in DELEGABLE:
        raise AccessDeniedException()
    reads = action.startswith(("Describe", "List"))
    if decision == "Allow" or (reads and delegated_services(backend, account_id)):
        return management_id
    raise AccessDeniedException()


def _organizations_call_action(self: OrganizationsResponse) -> Any:
    try:
        management_id = organizations_denial(self.current_account, str(self._get_action() or ""))
    except ServiceException as exc:
        return _error(self, exc)
    if management_id is not None:
        self.current_account = management_id  # answered from the organization, as AWS does
    return _originals["BaseResponse.call_action"](self)


def _register_delegated_administrator(self: org_models.OrganizationsBackend, **kwargs: str) -> None:
    account_id, principal = kwargs["AccountId"], kwargs["ServicePrincipal"]
    account = next((a for a in self.accounts if a.id == account_id), None)
    if account is not None and account.status == "SUSPENDED":
        raise ConstraintViolationException("You cannot register a suspended account as a delegated administrator.")
    if principal == STACKSETS_PRINCIPAL and account_id not in {a.account.id for a in self.admins if principal in a.services}:
        if sum(1 for admin in self.admins if principal in admin.services) >= MAX_STACKSETS_ADMINISTRATORS:
            raise ConstraintViolationException(
                "You attempted to register more delegated administrators than allowed for the service principal.")
    _originals["OrganizationsBackend.register_delegated_administrator"](self, **kwargs)


# --- CloudFormation's CallAs -------------------------------------------------------------------------


def stacksets_management(account_id: str) -> str:
    """The management account whose service-managed stack sets ``account_id`` may work on as a delegated
    administrator. Raises ValidationError as AWS does when it is not registered for StackSets."""
    found = management_of(account_id)
    if found is not None:
        backend = organization_backend(*found)
        if backend.org is not None and STACKSETS_PRINCIPAL in delegated_services(backend, account_id):
            return found[0]
    raise ValidationError(message=NOT_DELEGATED_ADMIN_MESSAGE)


def _cloudformation_call_action(self: CloudFormationResponse) -> Any:
    action = str(self._get_action() or "")
    if action in CALL_AS_OPERATIONS and str(self._get_param("CallAs") or "") == DELEGATED_ADMIN:
        try:
            self.current_account = stacksets_management(self.current_account)
            self.orgiam_delegated_admin = True
            _only_service_managed(self, action)
        except ServiceException as exc:
            return _error(self, exc)
    return _originals["BaseResponse.call_action"](self)


def _only_service_managed(self: CloudFormationResponse, action: str) -> None:
    """A delegated administrator sees the management account's service-managed stack sets, no other."""
    if action == "CreateStackSet":
        if str(self._get_param("PermissionModel") or "") != SERVICE_MANAGED:
            raise ValidationError(message="CallAs DELEGATED_ADMIN is valid only for stack sets with SERVICE_MANAGED permissions")
        return
    name = self._get_param("StackSetName")
    if not name:
        return
    try:
        stack_set = self.cloudformation_backend.describe_stack_set(name)
    except StackSetNotFoundException:
        return  # the operation itself says so
    if stack_set.permission_model != SERVICE_MANAGED:
        raise StackSetNotFoundException(name)


def _list_stack_sets(self: CloudFormationResponse) -> ActionResult:
    if not getattr(self, "orgiam_delegated_admin", False):
        return _originals["CloudFormationResponse.list_stack_sets"](self)
    stack_sets = [s for s in self.cloudformation_backend.list_stack_sets() if s.permission_model == SERVICE_MANAGED]
    return ActionResult({"Summaries": stack_sets})


# --- installation -------------------------------------------------------------------------------------


def _error(response: BaseResponse, exc: ServiceException) -> Any:
    """An AWS error answer, as moto's call_action makes one for an exception its handlers raise."""
    status, headers, body = response.serialized(ActionResult(exc))
    headers = dict(headers)
    headers["status"] = status
    all_headers = dict(response.response_headers)
    status, all_headers, body = response._transform_response(all_headers, (body, headers))
    return (status, *response._enrich_response(all_headers, body))


_PATCHES: tuple[tuple[Any, str, Callable[..., Any]], ...] = (
    (OrganizationsResponse, "call_action", _organizations_call_action),
    (OrganizationsResponse, "put_resource_policy", _put_resource_policy),
    (OrganizationsResponse, "describe_resource_policy", _describe_resource_policy),
    (OrganizationsResponse, "delete_resource_policy", _delete_resource_policy),
    (org_models.OrganizationsBackend, "register_delegated_administrator", _register_delegated_administrator),
    (CloudFormationResponse, "call_action", _cloudformation_call_action),
    (CloudFormationResponse, "list_stack_sets", _list_stack_sets),
)


def install() -> None:
    """Put the changes above in place (once per process; later calls do nothing)."""
    global _installed
    with _lock:
        if _installed:
            return
        _originals["BaseResponse.call_action"] = BaseResponse.call_action
        for owner, name, replacement in _PATCHES:
            original = owner.__dict__.get(name)
            if original is not None:
                _originals[f"{owner.__name__}.{name}"] = original
            setattr(owner, name, replacement)
        supported = org_models.FakeDelegatedAdministrator.SUPPORTED_SERVICES
        if STACKSETS_PRINCIPAL not in supported:
            supported.append(STACKSETS_PRINCIPAL)
        _installed = True


def installed() -> bool:
    return _installed

"""Organization policies (SCPs, RCPs and the management policy types) as AWS has them, and
``AWS::Organizations::Policy`` in CloudFormation.

What moto 5.2.5 does (checked against it before this module existed):

CloudFormation
  - ``AWS::Organizations::Policy`` is not a type moto knows: the resource is skipped with a warning
    ("Tried to parse AWS::Organizations::Policy but it's not supported by moto's CloudFormation
    implementation"), the stack reaches CREATE_COMPLETE, no policy exists, ``Ref`` gives nothing.

Organizations API
  - a new organization has no policy type enabled on its root (``ListRoots`` shows ``PolicyTypes: []``),
    yet ``FullAWSAccess`` and ``RCPFullAWSAccess`` are attached to the root, the management account and
    every OU and account created later, whatever is enabled;
  - ``EnablePolicyType`` only records the type (nothing is attached); ``DisablePolicyType`` only forgets it
    (every attachment of that type stays);
  - ``AttachPolicy`` never checks that the policy's type is enabled, has no limit (six SCPs on one OU
    are taken), and attaching an attached policy again succeeds silently;
  - ``CreatePolicy`` takes any content (``"not json"``, 6,000 characters for an SCP), refuses a name
    used by a policy of *any* type, and fails with HTTP 500 (NotImplementedError) for ``BACKUP_POLICY``;
  - ``UpdatePolicy`` renames and rewrites ``FullAWSAccess``; ``DeletePolicy`` would delete it once
    detached;
  - ``DetachPolicy`` succeeds for a policy that is not attached, detaches the last SCP of a target, and
    detaches ``RCPFullAWSAccess``;
  - ``AttachPolicy`` to a missing OU or account answers ``OrganizationalUnitNotFoundException`` /
    ``AccountNotFoundException`` (AWS: ``TargetNotFoundException``); a deleted OU stays among its
    policies' targets.

What this module changes, for every caller (boto3 through the emulator's HTTP API, and the
CloudFormation type below, which calls the same functions):

  - **Policy types.** A policy can be attached only where its type is enabled on the root:
    ``PolicyTypeNotEnabledException`` "This operation can be performed only for enabled policy types."
    ``EnablePolicyType`` attaches the type's AWS managed policy (``FullAWSAccess`` for SCPs,
    ``RCPFullAWSAccess`` for RCPs) to the root, every OU and every account; OUs and accounts created
    later get it too, for the types enabled then. ``DisablePolicyType`` detaches every policy of the type
    from every target (AWS: re-enabling starts again from the AWS managed policy alone). A new
    organization has no type enabled and nothing attached. ``ListRoots`` shows ``PolicyTypes`` (moto's).
  - **Content.** JSON, a JSON object; for SCPs and RCPs with a ``Statement`` whose entries have an
    ``Effect`` of ``Allow`` or ``Deny``: ``MalformedPolicyDocumentException`` "The provided policy
    document does not meet the requirements of the specified policy type." otherwise. Size: at most
    ``QUOTAS[type].max_size`` characters, counted on the exact string the API receives, whitespace
    included (AWS: "If you save the policy using an SDK operation or the AWS CLI, then the policy is
    saved exactly as you provided and no automatic removal of characters occurs"; only the console
    strips whitespace): ``ConstraintViolationException`` (Reason ``POLICY_CONTENT_LIMIT_EXCEEDED``)
    "You have exceeded the maximum policy size.". CloudFormation sends an object ``Content`` as compact
    JSON (its handler serialises it with Jackson: no whitespace, keys in template order), so the size
    of a template's object is that of its minified form; a string ``Content`` is sent as it is.
  - **Attachments per target.** At most ``QUOTAS[type].max_attached`` policies of one type on one root, OU
    or account, the AWS managed one included: ``ConstraintViolationException`` (Reason
    ``MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED``) "You have attached the maximum number of policies to
    the specified target.". Attaching an attached policy: ``DuplicatePolicyAttachmentException`` "A
    policy with the specified name and type already exists." (AWS's own wording for this error).
    Detaching a policy that is not attached: ``PolicyNotAttachedException``. Detaching a target's last
    SCP: ``ConstraintViolationException`` (Reason ``MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED``) "You
    cannot remove the last policy attached to the specified target. You must have at least one attached
    at all times.". Detaching ``RCPFullAWSAccess``: ``InvalidInputException`` (Reason
    ``NON_DETACHABLE_POLICY``). A target that does not exist: ``TargetNotFoundException``.
  - **Policies.** Names are unique per type: ``DuplicatePolicyException`` (create and rename) "A policy
    with the specified name and type already exists."; at most ``QUOTAS[type].max_policies`` of a type
    (``POLICY_NUMBER_LIMIT_EXCEEDED``). Deleting an attached policy: ``PolicyInUseException`` (moto's).
    AWS managed policies cannot be updated or deleted: ``InvalidInputException`` (Reason
    ``IMMUTABLE_POLICY``). ``BACKUP_POLICY`` works (its ARN is ``.../backup_policy/p-...``). Other policy
    types than SCP, RCP, tag, backup and AI services opt-out are refused: ``InvalidInputException``
    (Reason ``INVALID_ENUM_POLICY_TYPE``).
  - An organization with only consolidated billing cannot create or enable policies
    (``PolicyTypeNotAvailableForOrganizationException``). A deleted OU leaves its policies' targets.

The quotas are AWS's documented defaults as the brief and ``/work/shared/notes/facts.md`` have them (SCPs
and RCPs: 5 attached per target, 5,120 characters). Several 2026 sources (the Landing Zone
Accelerator project, blogs citing AWS's announcement) say that on 15 May 2026 AWS doubled the SCP
figures to 10 attached and 10,240 characters; the AWS quota pages stored here still show 5,120. The
emulator keeps the stricter figures, which cannot make it say yes where AWS says no; ``QUOTAS`` is the one
place to change them.

``AWS::Organizations::Policy`` (properties Name, Type, Content, Description, TargetIds, Tags; ``Ref`` and
``Fn::GetAtt Id`` give the policy id, ``Fn::GetAtt Arn`` its ARN, ``AwsManaged`` false) follows AWS's
resource handler (aws-cloudformation-resource-providers-organizations, aws-organizations-policy):

  - create: fails with "Policy already exists for policy name [N]." when a policy of that type and name
    exists; CreatePolicy (with the tags), then AttachPolicy for each target in the template's order. When
    an attach fails, the policy is detached from what it was attached to and deleted before the resource
    fails, so that a rolled back stack leaves no half-attached policy;
  - update: Type is create-only (a new Type replaces the policy: the new one is made, then the old one
    deleted); everything else is updated in place: UpdatePolicy (Name, Description, Content), then
    AttachPolicy for every new target, and only then DetachPolicy for every target no longer named (a
    policy moved from one OU to another is on the new one before it leaves the old), then the tags. An
    attach that is already there and a detach that is already gone are passed over, as the handler does,
    so that a rollback (the same path back to the previous properties) completes;
  - delete: DetachPolicy for each of the template's targets (a target or attachment already gone is
    passed over), then DeletePolicy (a policy already gone is passed over). A policy attached elsewhere by
    hand is not detached, as AWS's handler does not: DeletePolicy then fails with PolicyInUseException.
  - the stack's account is the management account, or a delegated administrator whose calls the
    organization's resource policy allows (``emulator.delegated_admin``): the policy is the organization's.

Loading this module registers the model (after moto's own, so that moto's type -> model map finds it)
and clears moto's caches of that map; ``install()`` patches moto's Organizations API and backend, once per
process; ``emulator.server.install_extensions`` calls it.
"""

from __future__ import annotations

import contextlib
import copy
import json
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

# moto's models first, so that the class below comes after them in moto's type -> model map
import moto.cloudformation.parsing as cfn_parsing
from moto.cloudformation.exceptions import UnformattedGetAttTemplateException
from moto.core.common_models import CloudFormationModel
from moto.organizations import models as org_models
from moto.organizations import utils as org_utils
from moto.organizations.exceptions import (
    AWSOrganizationsNotInUseException,
    OrganizationsClientError,
    PolicyNotFoundException,
    PolicyTypeNotEnabledException,
    TargetNotFoundException,
)
from moto.organizations.responses import OrganizationsResponse
from moto.utilities.utils import get_partition

from emulator import scaling
from emulator.cfn_handled import HandledResource, Properties


SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
TAG = "TAG_POLICY"
BACKUP = "BACKUP_POLICY"
AI_OPT_OUT = "AISERVICES_OPT_OUT_POLICY"


@dataclass(frozen=True)
class Quota:
    max_size: int  # characters of content
    max_attached: int  # policies of the type directly attached to one root, OU or account
    max_policies: int  # policies of the type in the organization
    min_attached: int = 0  # policies of the type a target must keep


# AWS's default quotas (Organizations User Guide, "Quotas and service limits"; see the module docstring
# for the 2026 change to SCPs that the emulator does not follow yet)
QUOTAS: dict[str, Quota] = {
    SCP: Quota(max_size=5120, max_attached=5, max_policies=10000, min_attached=1),
    RCP: Quota(max_size=5120, max_attached=5, max_policies=1000),
    TAG: Quota(max_size=10000, max_attached=10, max_policies=1000),
    BACKUP: Quota(max_size=10000, max_attached=10, max_policies=1000),
    AI_OPT_OUT: Quota(max_size=2500, max_attached=5, max_policies=1000),
}
# the AWS managed policy that EnablePolicyType attaches everywhere, per type
DEFAULT_POLICIES = {SCP: org_utils.DEFAULT_SCP_POLICY_ID, RCP: org_utils.DEFAULT_RCP_POLICY_ID}
NOT_DETACHABLE = frozenset({org_utils.DEFAULT_RCP_POLICY_ID})
# types whose documents are IAM-like policies (a Statement of Allow/Deny entries)
STATEMENT_TYPES = frozenset({SCP, RCP})

ROOT_ID = re.compile(r"r-[0-9a-z]{4,32}")
OU_ID = re.compile(r"ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}")
ACCOUNT_ID = re.compile(r"\d{12}")

DUPLICATE_MESSAGE = "A policy with the specified name and type already exists."

__all__ = [
    "QUOTAS", "OrganizationsPolicy", "Quota", "attach_policy", "create_policy", "delete_policy", "detach_policy",
    "disable_policy_type", "enable_policy_type", "install", "update_policy",
]


# --- errors, as AWS names and words them -----------------------------------------------------------------


class ConstraintViolationException(OrganizationsClientError):
    """With the ``Reason`` AWS's error carries (e.g. ``MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED``)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__("ConstraintViolationException", message)
        self.reason = reason


class InvalidInputException(OrganizationsClientError):
    def __init__(self, reason: str, message: str) -> None:
        super().__init__("InvalidInputException", message)
        self.reason = reason


class DuplicatePolicyException(OrganizationsClientError):
    def __init__(self, message: str = DUPLICATE_MESSAGE) -> None:
        super().__init__("DuplicatePolicyException", message)


class DuplicatePolicyAttachmentException(OrganizationsClientError):
    def __init__(self) -> None:
        super().__init__("DuplicatePolicyAttachmentException", DUPLICATE_MESSAGE)


class PolicyNotAttachedException(OrganizationsClientError):
    def __init__(self) -> None:
        super().__init__("PolicyNotAttachedException",
                         "The policy isn't attached to the specified target in the specified root.")


class PolicyInUseException(OrganizationsClientError):
    def __init__(self) -> None:
        super().__init__("PolicyInUseException",
                         "The policy is attached to one or more entities. You must detach it from all roots, "
                         "OUs, and accounts before performing this operation.")


class MalformedPolicyDocumentException(OrganizationsClientError):
    def __init__(self) -> None:
        super().__init__("MalformedPolicyDocumentException",
                         "The provided policy document does not meet the requirements of the specified policy type.")


class PolicyTypeNotAvailableForOrganizationException(OrganizationsClientError):
    def __init__(self) -> None:
        super().__init__("PolicyTypeNotAvailableForOrganizationException",
                         "You can't use the specified policy type with the feature set currently enabled for this "
                         "organization.")


def content_too_large() -> ConstraintViolationException:
    return ConstraintViolationException("POLICY_CONTENT_LIMIT_EXCEEDED", "You have exceeded the maximum policy size.")


def too_many_attached() -> ConstraintViolationException:
    return ConstraintViolationException("MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                                        "You have attached the maximum number of policies to the specified target.")


def last_policy() -> ConstraintViolationException:
    return ConstraintViolationException("MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
                                        "You cannot remove the last policy attached to the specified target. "
                                        "You must have at least one attached at all times.")


def too_many_policies() -> ConstraintViolationException:
    return ConstraintViolationException("POLICY_NUMBER_LIMIT_EXCEEDED",
                                        "You have exceeded the number of policies of this type that you can have "
                                        "in an organization.")


def immutable_policy() -> InvalidInputException:
    return InvalidInputException("IMMUTABLE_POLICY",
                                 "You specified a policy that is managed by AWS and can't be modified.")


def not_detachable() -> InvalidInputException:
    return InvalidInputException("NON_DETACHABLE_POLICY", "You can't detach this AWS Managed Policy.")


def unknown_policy_type() -> InvalidInputException:
    return InvalidInputException("INVALID_ENUM_POLICY_TYPE", "You specified an invalid policy type string.")


# --- the organization's state ---------------------------------------------------------------------------

Backend = org_models.OrganizationsBackend
Entity = Any  # moto's FakeRoot, FakeOrganizationalUnit or FakeAccount
Policy = org_models.FakePolicy

# check and change in one step: the server answers requests on several threads
_lock = threading.RLock()


def _organization(backend: Backend) -> org_models.FakeOrganization:
    if backend.org is None:
        raise AWSOrganizationsNotInUseException
    return backend.org


def _root(backend: Backend) -> org_models.FakeRoot:
    return next(ou for ou in backend.ou if isinstance(ou, org_models.FakeRoot))


def enabled_types(backend: Backend) -> set[str]:
    """The policy types enabled on the organization's root."""
    if backend.org is None:
        return set()
    return {entry["Type"] for entry in _root(backend).policy_types if entry.get("Status") == "ENABLED"}


def _policy(backend: Backend, policy_id: str) -> Policy:
    return backend.get_policy_by_id(policy_id)


def _target(backend: Backend, target_id: str) -> Entity:
    if ROOT_ID.fullmatch(target_id) or OU_ID.fullmatch(target_id):
        found = next((ou for ou in backend.ou if ou.id == target_id), None)
    elif ACCOUNT_ID.fullmatch(target_id):
        found = scaling.account_by_id(backend, target_id)
    else:
        raise InvalidInputException("INVALID_PATTERN_TARGET_ID",
                                    "You specified a policy target ID that doesn't match the required pattern.")
    if found is None:
        raise TargetNotFoundException
    return found


def _entities(backend: Backend) -> list[Entity]:
    """The root, every OU and every account."""
    return [*backend.ou, *backend.accounts]


def _attached_of_type(entity: Entity, kind: str) -> list[Policy]:
    return [policy for policy in entity.attached_policies if policy.type == kind]


def _link(policy: Policy, entity: Entity) -> None:
    if policy not in entity.attached_policies:
        entity.attached_policies.append(policy)
        policy.attachments.append(entity)


def _unlink(policy: Policy, entity: Entity) -> None:
    if policy in entity.attached_policies:
        entity.attached_policies.remove(policy)
    if entity in policy.attachments:
        policy.attachments.remove(entity)


def _require_all_features(backend: Backend) -> None:
    if _organization(backend).feature_set != "ALL":
        raise PolicyTypeNotAvailableForOrganizationException()


def check_content(kind: str, content: Any) -> str:
    """The content as Organizations takes it, or the error AWS answers."""
    if not isinstance(content, str) or not content:
        raise MalformedPolicyDocumentException()
    if len(content) > QUOTAS[kind].max_size:
        raise content_too_large()
    try:
        document = json.loads(content)
    except ValueError:
        raise MalformedPolicyDocumentException() from None
    if not isinstance(document, dict):
        raise MalformedPolicyDocumentException()
    if kind in STATEMENT_TYPES:
        statements = document.get("Statement")
        statements = [statements] if isinstance(statements, dict) else statements
        if not isinstance(statements, list) or not statements or not all(
                isinstance(s, dict) and s.get("Effect") in ("Allow", "Deny") for s in statements):
            raise MalformedPolicyDocumentException()
    return content


def _check_kind(kind: Any) -> str:
    if kind not in QUOTAS:
        raise unknown_policy_type()
    return str(kind)


def _check_unique_name(backend: Backend, kind: str, name: str, other_than: Policy | None = None) -> None:
    if any(p.type == kind and p.name == name and p is not other_than for p in backend.policies):
        raise DuplicatePolicyException()


# --- the API's policy operations, with AWS's rules ----------------------------------------------------


def create_policy(backend: Backend, name: str, kind: str, content: str, description: str = "",
                  tags: list[dict[str, str]] | None = None) -> Policy:
    """CreatePolicy."""
    with _lock:
        organization = _organization(backend)
        kind = _check_kind(kind)
        _require_all_features(backend)
        check_content(kind, content)
        _check_unique_name(backend, kind, name)
        if sum(1 for p in backend.policies if p.type == kind) >= QUOTAS[kind].max_policies:
            raise too_many_policies()
        policy = org_models.FakePolicy(organization, Name=name, Description=description, Type=kind, Content=content,
                                       Tags=list(tags or []))
        backend.policies.append(policy)
        return policy


def update_policy(backend: Backend, policy_id: str, name: str | None = None, description: str | None = None,
                  content: str | None = None) -> Policy:
    """UpdatePolicy: what is not given stays."""
    with _lock:
        _organization(backend)
        policy = _policy(backend, policy_id)
        if policy.aws_managed:
            raise immutable_policy()
        if content is not None:
            check_content(policy.type, content)
        if name is not None:
            _check_unique_name(backend, policy.type, name, other_than=policy)
            policy.name = name
        if description is not None:
            policy.description = description
        if content is not None:
            policy.content = content
        return policy


def delete_policy(backend: Backend, policy_id: str) -> None:
    """DeletePolicy."""
    with _lock:
        _organization(backend)
        policy = _policy(backend, policy_id)
        if policy.aws_managed:
            raise immutable_policy()
        if policy.attachments:
            raise PolicyInUseException()
        backend.policies.remove(policy)


def attach_policy(backend: Backend, policy_id: str, target_id: str) -> None:
    """AttachPolicy."""
    with _lock:
        _organization(backend)
        policy = _policy(backend, policy_id)
        target = _target(backend, target_id)
        if policy.type not in enabled_types(backend):
            raise PolicyTypeNotEnabledException
        if policy in target.attached_policies:
            raise DuplicatePolicyAttachmentException()
        if len(_attached_of_type(target, policy.type)) >= QUOTAS[policy.type].max_attached:
            raise too_many_attached()
        _link(policy, target)


def detach_policy(backend: Backend, policy_id: str, target_id: str) -> None:
    """DetachPolicy."""
    with _lock:
        _organization(backend)
        policy = _policy(backend, policy_id)
        target = _target(backend, target_id)
        if policy not in target.attached_policies:
            raise PolicyNotAttachedException()
        if policy.id in NOT_DETACHABLE:
            raise not_detachable()
        if len(_attached_of_type(target, policy.type)) <= QUOTAS[policy.type].min_attached:
            raise last_policy()
        _unlink(policy, target)


def enable_policy_type(backend: Backend, root_id: str, kind: str) -> org_models.FakeRoot:
    """EnablePolicyType: the type's AWS managed policy goes on the root, every OU and every account."""
    with _lock:
        _organization(backend)
        root = backend._get_root_by_id(root_id)
        _require_all_features(backend)
        root.add_policy_type(kind)  # moto's checks: a known type, not enabled yet
        default = DEFAULT_POLICIES.get(kind)
        if default is not None:
            policy = _policy(backend, default)
            for entity in _entities(backend):
                _link(policy, entity)
        return root


def disable_policy_type(backend: Backend, root_id: str, kind: str) -> org_models.FakeRoot:
    """DisablePolicyType: every policy of the type leaves every target."""
    with _lock:
        _organization(backend)
        root = backend._get_root_by_id(root_id)
        root.remove_policy_type(kind)  # moto's checks: a known type, enabled
        for policy in backend.policies:
            if policy.type == kind:
                for entity in list(policy.attachments):
                    _unlink(policy, entity)
        return root


def _without_disabled_defaults(backend: Backend, entities: list[Entity]) -> None:
    """moto attaches FullAWSAccess and RCPFullAWSAccess to every new root, OU and account: keep them only
    where their type is enabled, as AWS does."""
    enabled = enabled_types(backend)
    for kind, policy_id in DEFAULT_POLICIES.items():
        if kind in enabled:
            continue
        policy = next((p for p in backend.policies if p.id == policy_id), None)
        if policy is not None:
            for entity in entities:
                _unlink(policy, entity)


# --- moto's API and backend, patched --------------------------------------------------------------------

_installed = False
_install_lock = threading.Lock()
_originals: dict[str, Callable[..., Any]] = {}


def _api_create_policy(self: OrganizationsResponse) -> str:
    params = self.request_params
    policy = create_policy(self.organizations_backend, name=params.get("Name"), kind=params.get("Type"),
                           content=params.get("Content"), description=params.get("Description", ""),
                           tags=params.get("Tags"))
    return json.dumps(policy.describe())


def _api_update_policy(self: OrganizationsResponse) -> str:
    params = self.request_params
    policy = update_policy(self.organizations_backend, params.get("PolicyId"), name=params.get("Name"),
                           description=params.get("Description"), content=params.get("Content"))
    return json.dumps(policy.describe())


def _api_delete_policy(self: OrganizationsResponse) -> str:
    delete_policy(self.organizations_backend, self._get_param("PolicyId"))
    return "{}"


def _api_attach_policy(self: OrganizationsResponse) -> str:
    attach_policy(self.organizations_backend, self._get_param("PolicyId"), self._get_param("TargetId"))
    return "{}"


def _api_detach_policy(self: OrganizationsResponse) -> str:
    detach_policy(self.organizations_backend, self._get_param("PolicyId"), self._get_param("TargetId"))
    return "{}"


def _api_enable_policy_type(self: OrganizationsResponse) -> str:
    root = enable_policy_type(self.organizations_backend, self._get_param("RootId"), self._get_param("PolicyType"))
    return json.dumps({"Root": root.describe()})


def _api_disable_policy_type(self: OrganizationsResponse) -> str:
    root = disable_policy_type(self.organizations_backend, self._get_param("RootId"), self._get_param("PolicyType"))
    return json.dumps({"Root": root.describe()})


def _create_organization(self: Backend, region: str, **kwargs: Any) -> dict[str, Any]:
    answer = _originals["create_organization"](self, region, **kwargs)
    with _lock:
        _without_disabled_defaults(self, _entities(self))
    return answer


def _create_organizational_unit(self: Backend, **kwargs: Any) -> dict[str, Any]:
    answer = _originals["create_organizational_unit"](self, **kwargs)
    with _lock:
        ou_id = answer["OrganizationalUnit"]["Id"]
        _without_disabled_defaults(self, [ou for ou in self.ou if ou.id == ou_id])
    return answer


def _create_account(self: Backend, **kwargs: Any) -> dict[str, Any]:
    answer = _originals["create_account"](self, **kwargs)
    with _lock:
        account_id = answer["CreateAccountStatus"]["AccountId"]
        account = scaling.account_by_id(self, account_id)
        _without_disabled_defaults(self, [account] if account is not None else [])
    return answer


def _delete_organizational_unit(self: Backend, **kwargs: Any) -> None:
    with _lock:
        ou = self.get_organizational_unit_by_id(kwargs["OrganizationalUnitId"])
        for policy in list(ou.attached_policies):
            _unlink(policy, ou)
    _originals["delete_organizational_unit"](self, **kwargs)


# moto's FakePolicy has no ARN format for backup policies (it raises NotImplementedError)
_ARN_KINDS = {BACKUP: "backup_policy"}


def _fake_policy_init(self: Policy, organization: Any, **kwargs: Any) -> None:
    kind = kwargs.get("Type", "")
    if kind not in _ARN_KINDS:
        _originals["FakePolicy.__init__"](self, organization, **kwargs)
        return
    _originals["FakePolicy.__init__"](self, organization, **dict(kwargs, Type=TAG))
    self.type = kind
    self._arn_format = "arn:{0}:organizations::{1}:policy/{2}/" + _ARN_KINDS[kind] + "/{3}"


_API_PATCHES: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("create_policy", _api_create_policy),
    ("update_policy", _api_update_policy),
    ("delete_policy", _api_delete_policy),
    ("attach_policy", _api_attach_policy),
    ("detach_policy", _api_detach_policy),
    ("enable_policy_type", _api_enable_policy_type),
    ("disable_policy_type", _api_disable_policy_type),
)
_BACKEND_PATCHES: tuple[tuple[str, Callable[..., Any]], ...] = (
    ("create_organization", _create_organization),
    ("create_organizational_unit", _create_organizational_unit),
    ("create_account", _create_account),
    ("delete_organizational_unit", _delete_organizational_unit),
)
# CloudFormation's handler error codes for the Organizations errors (the handler's own mapping)
_HANDLER_CODES = {
    "DuplicatePolicyException": "AlreadyExists",
    "AWSOrganizationsNotInUseException": "NotFound",
    "PolicyNotFoundException": "NotFound",
    "TargetNotFoundException": "NotFound",
    "AccessDeniedException": "AccessDenied",
    "ConstraintViolationException": "ServiceLimitExceeded",
    "InvalidInputException": "InvalidRequest",
    "MalformedPolicyDocumentException": "InvalidRequest",
    "PolicyTypeNotAvailableForOrganizationException": "InvalidRequest",
    "PolicyTypeNotEnabledException": "InvalidRequest",
    "PolicyInUseException": "InvalidRequest",
    "DuplicatePolicyAttachmentException": "InternalFailure",
    "PolicyNotAttachedException": "InternalFailure",
}


def install() -> None:
    """Patch moto's Organizations API and backend (once per process) and make sure moto's type -> model map
    has ``AWS::Organizations::Policy``."""
    global _installed
    with _install_lock:
        if not _installed:
            for name, replacement in _API_PATCHES:
                _originals[f"OrganizationsResponse.{name}"] = getattr(OrganizationsResponse, name)
                setattr(OrganizationsResponse, name, replacement)
            for name, replacement in _BACKEND_PATCHES:
                _originals[name] = getattr(org_models.OrganizationsBackend, name)
                setattr(org_models.OrganizationsBackend, name, replacement)
            _originals["FakePolicy.__init__"] = org_models.FakePolicy.__init__
            org_models.FakePolicy.__init__ = _fake_policy_init  # type: ignore[method-assign]
            from emulator.cfn_stacks import failures  # how a failing resource's event names its handler code

            for code, handler_code in _HANDLER_CODES.items():
                failures._HANDLER_CODES.setdefault(code, handler_code)
            _installed = True
        clear_model_caches()


def installed() -> bool:
    return _installed


# --- AWS::Organizations::Policy -------------------------------------------------------------------------


def clear_model_caches() -> None:
    """Forget moto's type -> model maps, so that they are rebuilt with the class defined here."""
    for cached in (cfn_parsing.get_model_list, cfn_parsing.get_model_map, cfn_parsing.get_name_type_map):
        cached.cache_clear()


class HandlerFailure(OrganizationsClientError):
    """A failure AWS's resource handler reports itself, before any API call."""


def content_text(content: Any) -> str:
    """``Content`` as the handler sends it: a string as it is, an object as compact JSON (Jackson's
    ``writeValueAsString``: no whitespace, keys in the template's order, non-ASCII kept)."""
    if isinstance(content, str):
        return content
    return json.dumps(content, separators=(",", ":"), ensure_ascii=False)


def target_ids(properties: Properties) -> list[str]:
    """``TargetIds`` in the template's order, without ``AWS::NoValue`` entries or repeats."""
    seen: list[str] = []
    for target in properties.get("TargetIds") or []:
        if target is not None and str(target) not in seen:
            seen.append(str(target))
    return seen


def _tags(properties: Properties) -> dict[str, str]:
    return {str(tag["Key"]): str(tag["Value"]) for tag in properties.get("Tags") or [] if tag is not None}


def _organization_backend(account_id: str, region_name: str, *actions: str) -> Backend:
    """The backend of the organization that answers the stack's account for ``actions``: its own (the
    management account), or, for a delegated administrator the organization allows, the management
    account's. Raises AccessDeniedException where AWS refuses the account."""
    from emulator import delegated_admin

    answering = account_id
    for action in actions:
        management = delegated_admin.organizations_denial(account_id, action)
        if management is not None:
            answering = management
    return org_models.organizations_backends[answering][get_partition(region_name)]


@contextlib.contextmanager
def _passing_over(*errors: type[BaseException]) -> Iterator[None]:
    try:
        yield
    except errors:
        pass


class OrganizationsPolicy(HandledResource, CloudFormationModel):
    """``AWS::Organizations::Policy`` (see the module docstring)."""

    ATTRIBUTES = ("Id", "Arn", "AwsManaged")

    def __init__(self, account_id: str, region_name: str, policy_id: str, arn: str, properties: Properties) -> None:
        self.account_id = account_id
        self.region_name = region_name
        self.policy_id = policy_id
        self.arn = arn
        self.properties = properties

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::Organizations::Policy"

    @property
    def physical_resource_id(self) -> str:
        return self.policy_id

    def get_cfn_attribute(self, attribute_name: str) -> Any:
        if attribute_name == "Id":
            return self.policy_id
        if attribute_name == "AwsManaged":
            return "false"
        if attribute_name == "Arn":
            return self.arn
        raise UnformattedGetAttTemplateException()

    def mark_attempted(self, properties: Properties) -> None:
        """An update that failed half-way may have applied part of ``properties``: the rollback goes back
        from those."""
        self.properties = copy.deepcopy(properties)

    @classmethod
    def _replaces(cls, before: Properties, after: Properties) -> bool:
        return after.get("Type") != before.get("Type")  # create-only

    # what the handler does ------------------------------------------------------------------------------

    @classmethod
    def _create(cls, account_id: str, region_name: str, properties: Properties) -> OrganizationsPolicy:
        name, kind, content = properties.get("Name"), properties.get("Type"), properties.get("Content")
        if name is None or kind is None or content is None:
            raise HandlerFailure("InvalidRequest", "Policy cannot be created without name, type, and content!")
        targets = target_ids(properties)
        actions = ("ListPolicies", "CreatePolicy") + (("AttachPolicy",) if targets else ())
        backend = _organization_backend(account_id, region_name, *actions)
        with _lock:
            if any(p.type == kind and p.name == name for p in backend.policies):  # the handler's pre-existence check
                raise DuplicatePolicyException(f"Policy already exists for policy name [{name}].")
            policy = create_policy(backend, name=str(name), kind=str(kind), content=content_text(content),
                                   description=str(properties.get("Description") or ""),
                                   tags=[{"Key": k, "Value": v} for k, v in _tags(properties).items()])
            attached: list[str] = []
            try:
                for target in targets:
                    with _passing_over(DuplicatePolicyAttachmentException):
                        attach_policy(backend, policy.id, target)
                    attached.append(target)
            except Exception:
                for target in reversed(attached):  # nothing half-attached stays behind
                    with _passing_over(OrganizationsClientError):
                        detach_policy(backend, policy.id, target)
                with _passing_over(OrganizationsClientError):
                    delete_policy(backend, policy.id)
                raise
        return cls(account_id, region_name, policy.id, policy.arn, properties)

    def _update(self, properties: Properties) -> None:
        if properties.get("Name") is None or properties.get("Content") is None:
            raise HandlerFailure("InvalidRequest", "Policy cannot be updated without name and content!")
        old = self.properties
        old_targets, new_targets = target_ids(old), target_ids(properties)
        added = [t for t in new_targets if t not in old_targets]
        removed = [t for t in old_targets if t not in new_targets]
        retagged = _tags(old) != _tags(properties)
        actions = (("UpdatePolicy",) + (("AttachPolicy",) if added else ()) + (("DetachPolicy",) if removed else ())
                   + (("TagResource", "UntagResource") if retagged else ()))
        backend = _organization_backend(self.account_id, self.region_name, *actions)
        with _lock:
            update_policy(backend, self.policy_id, name=str(properties.get("Name")),
                          description=str(properties.get("Description") or ""),
                          content=content_text(properties.get("Content")))
            for target in added:  # every new target first ...
                with _passing_over(DuplicatePolicyAttachmentException):
                    attach_policy(backend, self.policy_id, target)
            for target in removed:  # ... then what the template no longer names
                with _passing_over(PolicyNotAttachedException):
                    detach_policy(backend, self.policy_id, target)
            tags = _policy(backend, self.policy_id).tags
            for key in [k for k in _tags(old) if k not in _tags(properties)]:
                tags.pop(key, None)
            tags.update(_tags(properties))
        self.properties = copy.deepcopy(properties)

    def delete(self, account_id: str, region_name: str) -> None:
        backend = _organization_backend(self.account_id, self.region_name, "DetachPolicy", "DeletePolicy")
        with _lock:
            for target in target_ids(self.properties):
                with _passing_over(PolicyNotAttachedException, TargetNotFoundException, PolicyNotFoundException):
                    detach_policy(backend, self.policy_id, target)
            with _passing_over(PolicyNotFoundException):
                delete_policy(backend, self.policy_id)


MODELS: tuple[type[CloudFormationModel], ...] = (OrganizationsPolicy,)
clear_model_caches()

"""IAM Identity Center (sso-admin and identitystore) as orgiam uses it, with its real effect in member accounts.

What moto 5.2.5 does (checked before this module existed):

  - every account, in every region, has an Identity Center instance of its own as soon as anything asks
    (``SSOAdminBackend.__init__`` makes one), so ``ListInstances`` answers an instance in a member account
    that AWS would not have, and a delegated administrator sees a different instance than the management
    account;
  - ``CreateAccountAssignment`` takes any principal, permission set and account (nothing is checked, an
    assignment made twice is listed twice) and changes nothing in the target account; ``ProvisionPermissionSet``
    ignores its target and "provisions" to the caller's account; ``ListPermissionSetsProvisionedToAccount``
    ignores ``AccountId``; ``ListAccountsForProvisionedPermissionSet`` answers the caller's account;
  - ``CreatePermissionSet`` takes any name, description and session duration (a default of the integer 3600
    where AWS has ``PT1H``), twice with one name; ``UpdatePermissionSet`` resets what it does not name;
  - no permissions boundary (``Put/Get/DeletePermissionsBoundary...``), no tags (``TagResource``,
    ``UntagResource``, ``ListTagsForResource``), no ``DescribePermissionSetProvisioningStatus``, no
    ``DescribeInstance``, no ``CreateInstance``;
  - ``DeletePermissionSet`` deletes a permission set that is still assigned;
  - CloudFormation knows no ``AWS::SSO::*`` type (``emulator/cfn_sso.py`` adds them).

What this module changes (``install()`` replaces moto's sso-admin API actions; the CloudFormation types call the
same functions):

  - **The instance.** An account has no instance until one is made. ``CreateInstance`` from the management
    account of an organization enables the *organization instance* there (in AWS that is the console's "Enable"
    button; the API's CreateInstance makes account instances, which the emulator does not offer: a member
    account gets ``ValidationException``). Its ARN is ``arn:aws:sso:::instance/ssoins-<16 hex>``, its identity
    store ``d-<10 hex>``, in the region it was made in (Identity Center lives in one region).
    ``ListInstances`` / ``DescribeInstance`` answer it to the management account and to an account registered
    as delegated administrator for ``sso.amazonaws.com``, which then works on the same instance (its calls
    are answered from the management account's state, as AWS does).
  - **Permission sets** as AWS validates them: Name ``[\\w+=,.@-]{1,32}``, unique in the instance
    (``ConflictException``); Description at most 700 characters; SessionDuration ISO-8601 (``PT4H``) from 1 to 12
    hours (default ``PT1H``); RelayState at most 240 characters; at most 50 tags. AWS managed policies must exist
    (``ResourceNotFoundException`` "Policy does not exist with ARN: ..."); at most 20 AWS and customer managed
    policies together (``ServiceQuotaExceededException``); the inline policy is an IAM policy of at most 32,768
    characters and 10,240 non-whitespace characters (``ValidationException``); one permissions boundary, an AWS
    managed policy ARN or a customer managed policy reference. ``UpdatePermissionSet`` changes only what it
    names. Every change marks the accounts the set is provisioned to as outdated until ``ProvisionPermissionSet``
    (``ListPermissionSetsProvisionedToAccount`` and ``ListAccountsForProvisionedPermissionSet`` filter on
    ``ProvisioningStatus`` accordingly). ``DeletePermissionSet`` of a set that is still assigned:
    ``ConflictException``.
  - **Assignments.** ``CreateAccountAssignment`` checks the permission set (``ResourceNotFoundException``), the
    principal in the instance's identity store (``ResourceNotFoundException``) and that the target is an account
    of the organization (``ValidationException``); the same assignment twice is one assignment. It provisions the
    permission set to the account; a failure there (a customer managed policy the account lacks, more managed
    policies than IAM allows on a role) gives a ``FAILED`` status with AWS's ``FailureReason`` and no
    assignment, as the asynchronous AWS call does. ``DeleteAccountAssignment`` removes it, and the last
    assignment of a permission set in an account de-provisions it there.
  - **The effect in the account** (what people really get). Provisioning makes, in the target account's IAM,
    the role ``AWSReservedSSO_<PermissionSetName>_<16 hex>`` under ``/aws-reserved/sso.amazonaws.com/`` with the
    permission set's AWS managed policies and customer managed policies (by name and path, from that account)
    attached, its inline policy as ``AwsSSOInlinePolicy``, its permissions boundary, ``MaxSessionDuration`` from
    ``SessionDuration``, and a trust policy allowing ``sts:AssumeRoleWithSAML`` and ``sts:TagSession`` to the
    account's SAML provider ``AWSSSO_<16 hex>_DO_NOT_DELETE`` (made on first use, one per instance, kept
    afterwards). Provisioning again brings the role to the permission set as it is now; de-provisioning deletes
    it. The 16 hex of a role are a hash of the permission set and the account (AWS's are random, stable for the
    role's life).
  - **The identity store** is moto's, but a call for the instance's store is answered from the management
    account's state in the instance's region, whoever of the management account and the delegated
    administrator asks; any other store id: ``ResourceNotFoundException``.

Every status (assignment creation and deletion, provisioning) is final within the request: ``SUCCEEDED`` or
``FAILED``, never ``IN_PROGRESS``.
"""

from __future__ import annotations

import hashlib
import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.core.exceptions import JsonRESTError
from moto.core.utils import unix_time
from moto.iam.aws_managed_policies import aws_managed_policies_data
from moto.iam.models import IAMBackend, iam_backends
from moto.identitystore import models as identitystore_models
from moto.identitystore.exceptions import ResourceNotFoundException as IdentityStoreNotFound
from moto.identitystore.responses import IdentityStoreResponse
from moto.moto_api._internal import mock_random
from moto.ssoadmin import models as ssoadmin_models
from moto.ssoadmin.responses import SSOAdminResponse
from moto.utilities.utils import get_partition

SSO_PRINCIPAL = "sso.amazonaws.com"
ROLE_PATH = "/aws-reserved/sso.amazonaws.com/"
ROLE_PREFIX = "AWSReservedSSO_"
INLINE_POLICY_NAME = "AwsSSOInlinePolicy"
SAML_AUDIENCE = "https://signin.aws.amazon.com/saml"

NAME = re.compile(r"[\w+=,.@-]{1,32}", re.ASCII)
DESCRIPTION = re.compile(r"[\u0009\u000A\u000D\u0020-\u007E\u00A1-\u00FF]{1,700}")
DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?")
INSTANCE_ARN = re.compile(r"arn:aws[\w-]*:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}")
ACCOUNT_ID = re.compile(r"\d{12}")
MIN_SESSION, MAX_SESSION = 3600, 43200
MAX_DESCRIPTION = 700
MAX_RELAY_STATE = 240
MAX_TAGS = 50
MAX_MANAGED_POLICIES = 20  # AWS and customer managed together ("Number of ... policies per permission set: 20")
MAX_INLINE_POLICY = 32768
MAX_INLINE_POLICY_NON_WHITESPACE = 10240
IAM_POLICIES_PER_ROLE = 10  # IAM's default quota, which provisioning meets in each account
PRINCIPAL_TYPES = ("USER", "GROUP")

_lock = threading.RLock()
_installed = False
_originals: dict[str, Any] = {}


# --- errors, as AWS names them -------------------------------------------------------------------------


class SsoAdminError(JsonRESTError):
    code = 400

    def __init__(self, message: str) -> None:
        super().__init__(type(self).__name__, message)


class ValidationException(SsoAdminError):
    pass


class ConflictException(SsoAdminError):
    pass


class ResourceNotFoundException(SsoAdminError):
    pass


class ServiceQuotaExceededException(SsoAdminError):
    pass


class AccessDeniedException(SsoAdminError):
    pass


class ProvisioningFailed(Exception):
    """Provisioning to an account failed; AWS reports ``reason`` as the request's ``FailureReason``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- the model -------------------------------------------------------------------------------------


@dataclass
class PermissionSet:
    arn: str
    name: str
    instance_arn: str
    description: str | None = None
    session_duration: str = "PT1H"
    relay_state: str | None = None
    created: float = field(default_factory=unix_time)
    inline_policy: str = ""
    managed_policies: list[str] = field(default_factory=list)
    customer_managed: list[tuple[str, str]] = field(default_factory=list)  # (name, path)
    boundary: dict[str, Any] | None = None
    tags: dict[str, str] = field(default_factory=dict)
    revision: int = 0  # bumped by every change; provisioned accounts remember the revision they got

    @property
    def short_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    def changed(self) -> None:
        self.revision += 1

    def describe(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"Name": self.name, "PermissionSetArn": self.arn, "CreatedDate": self.created,
                                  "SessionDuration": self.session_duration}
        if self.description is not None:
            answer["Description"] = self.description
        if self.relay_state is not None:
            answer["RelayState"] = self.relay_state
        return answer


@dataclass(frozen=True)
class Assignment:
    target_id: str
    permission_set_arn: str
    principal_type: str
    principal_id: str

    def summary(self) -> dict[str, str]:
        return {"AccountId": self.target_id, "PermissionSetArn": self.permission_set_arn,
                "PrincipalType": self.principal_type, "PrincipalId": self.principal_id}


@dataclass
class Instance:
    """The organization instance: in the management account, in one region."""

    arn: str
    identity_store_id: str
    owner_account_id: str
    region: str
    created: float = field(default_factory=unix_time)
    name: str | None = None
    permission_sets: dict[str, PermissionSet] = field(default_factory=dict)
    assignments: list[Assignment] = field(default_factory=list)
    provisioned: dict[tuple[str, str], int] = field(default_factory=dict)  # (account, set ARN) -> revision
    requests: dict[str, dict[str, Any]] = field(default_factory=dict)  # request id -> status, by kind below
    # permission sets a CloudFormation replacement left behind while assignments still named them: deleted with
    # their last assignment, as CloudFormation's cleanup deletes them after the assignments' replacements
    pending_deletion: set[str] = field(default_factory=set)

    @property
    def short_id(self) -> str:
        return self.arn.rsplit("/", 1)[-1]

    def describe(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"InstanceArn": self.arn, "IdentityStoreId": self.identity_store_id,
                                  "OwnerAccountId": self.owner_account_id, "Status": "ACTIVE",
                                  "CreatedDate": self.created}
        if self.name:
            answer["Name"] = self.name
        return answer

    def permission_set(self, arn: str) -> PermissionSet:
        found = self.permission_sets.get(arn)
        if found is None:
            raise ResourceNotFoundException(f"Could not find PermissionSet with id {arn.rsplit('/', 1)[-1]}")
        return found


def _instances(account_id: str, region: str) -> list[Instance]:
    """The instances kept in one account's sso-admin backend (reset with it)."""
    backend = ssoadmin_models.ssoadmin_backends[account_id][region]
    kept: list[Instance] = backend.__dict__.setdefault("orgiam_instances", [])
    return kept


def _management_of(account_id: str) -> str | None:
    from emulator import delegated_admin

    found = delegated_admin.management_of(account_id)
    return found[0] if found else None


def _is_sso_delegated_admin(account_id: str, management_id: str) -> bool:
    from emulator import delegated_admin

    backend = delegated_admin.organization_backend(management_id, "aws")
    return SSO_PRINCIPAL in delegated_admin.delegated_services(backend, account_id)


def visible_instances(account_id: str, region: str) -> list[Instance]:
    """What ``ListInstances`` answers ``account_id``: its own organization instance (the management account), or
    the management account's when ``account_id`` is its delegated administrator for Identity Center."""
    own = list(_instances(account_id, region))
    management_id = _management_of(account_id)
    if management_id and _is_sso_delegated_admin(account_id, management_id):
        own.extend(_instances(management_id, region))
    return own


def instance_for(account_id: str, region: str, instance_arn: str | None) -> Instance:
    if not instance_arn or not INSTANCE_ARN.fullmatch(instance_arn):
        raise ValidationException(f"The value '{instance_arn}' at 'instanceArn' failed to satisfy constraint: "
                                  "Member must satisfy regular expression pattern: "
                                  "arn:(aws|aws-us-gov|aws-cn|aws-iso|aws-iso-b):sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}")
    for instance in visible_instances(account_id, region):
        if instance.arn == instance_arn:
            return instance
    raise AccessDeniedException(f"User: arn:aws:iam::{account_id}:root is not authorized to perform this operation "
                                f"on instance {instance_arn}")


def create_instance(account_id: str, region: str, name: str | None = None) -> Instance:
    """Enable the organization instance in the management account ``account_id`` (once)."""
    from emulator import delegated_admin

    with _lock:
        if _management_of(account_id) is not None:
            raise ValidationException("The emulator offers only the organization instance, enabled in the "
                                      "management account; account instances in member accounts are not emulated.")
        organization = delegated_admin.organization_backend(account_id, get_partition(region))
        if organization.org is None:
            raise ValidationException("Identity Center's organization instance needs an organization: "
                                      "this account is not the management account of one.")
        existing = _regions_with_instances(account_id)
        if existing:
            raise ConflictException(f"An Identity Center instance already exists for this organization, "
                                    f"in {existing[0]}.")
        instance = Instance(
            arn=f"arn:{get_partition(region)}:sso:::instance/ssoins-{mock_random.get_random_hex(16)}",
            identity_store_id=f"d-{mock_random.get_random_hex(10)}",
            owner_account_id=account_id, region=region, name=name)
        _instances(account_id, region).append(instance)
        return instance


def _regions_with_instances(account_id: str) -> list[str]:
    backends = ssoadmin_models.ssoadmin_backends.get(account_id) or {}
    return [region for region, backend in backends.items() if backend.__dict__.get("orgiam_instances")]


def instance_of_store(account_id: str, region: str, identity_store_id: str | None) -> Instance | None:
    for instance in visible_instances(account_id, region):
        if instance.identity_store_id == identity_store_id:
            return instance
    return None


# --- validation -------------------------------------------------------------------------------------


def session_seconds(duration: str) -> int:
    """Seconds of an ISO-8601 duration (``PT4H``); ValidationException outside 1 to 12 hours."""
    match = DURATION.fullmatch(duration or "")
    if not match or not any(match.groups()):
        raise ValidationException(f"Invalid SessionDuration {duration!r}: an ISO-8601 duration such as PT4H is "
                                  "expected")
    days, hours, minutes, seconds = (int(part or 0) for part in match.groups())
    total = days * 86400 + hours * 3600 + minutes * 60 + seconds
    if not MIN_SESSION <= total <= MAX_SESSION:
        raise ValidationException(f"SessionDuration {duration} is out of range: it must be between PT1H and PT12H")
    return total


def check_name(name: Any) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise ValidationException(f"1 validation error detected: Value '{name}' at 'name' failed to satisfy "
                                  "constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+ "
                                  "and have length between 1 and 32")
    return name


def check_description(description: Any) -> str | None:
    if description is None:
        return None
    if not isinstance(description, str) or not DESCRIPTION.fullmatch(description):
        raise ValidationException("1 validation error detected: Value at 'description' failed to satisfy "
                                  f"constraint: Member must have length between 1 and {MAX_DESCRIPTION} and "
                                  "characters in [\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]")
    return description


def check_relay_state(relay_state: Any) -> str | None:
    if relay_state is None:
        return None
    if not isinstance(relay_state, str) or not 1 <= len(relay_state) <= MAX_RELAY_STATE:
        raise ValidationException("1 validation error detected: Value at 'relayState' failed to satisfy "
                                  f"constraint: Member must have length between 1 and {MAX_RELAY_STATE}")
    return relay_state


def check_tags(tags: dict[str, str]) -> dict[str, str]:
    if len(tags) > MAX_TAGS:
        raise ValidationException(f"Too many tags: at most {MAX_TAGS} per resource")
    for key in tags:
        if key.lower().startswith("aws:"):
            raise ValidationException(f"Tag key {key} is reserved: keys may not begin with aws:")
    return tags


def check_inline_policy(document: Any) -> str:
    """The inline policy as text: JSON of an IAM policy within AWS's sizes."""
    text = document if isinstance(document, str) else json.dumps(document)
    if len(text) > MAX_INLINE_POLICY or len(re.sub(r"\s", "", text)) > MAX_INLINE_POLICY_NON_WHITESPACE:
        raise ValidationException(f"The inline policy is too large: at most {MAX_INLINE_POLICY} characters, "
                                  f"{MAX_INLINE_POLICY_NON_WHITESPACE} of them not whitespace")
    from moto.iam.policy_validation import IAMPolicyDocumentValidator

    try:
        IAMPolicyDocumentValidator(text).validate()
    except Exception as error:
        message = getattr(error, "message", None) or str(error)
        raise ValidationException(f"The inline policy is not a valid IAM policy: {message}") from error
    return text


_AWS_POLICY_INFIX = ":iam::aws:policy"


def _aws_policy_paths() -> set[str]:
    """path + name of every AWS managed policy moto knows (``/ReadOnlyAccess``, ``/job-function/ViewOnlyAccess``)."""
    cached: set[str] | None = globals().get("_AWS_POLICY_PATHS")
    if cached is None:
        data: dict[str, dict[str, Any]] = json.loads(aws_managed_policies_data)
        cached = {f"{entry.get('Path') or '/'}{name}" for name, entry in data.items()}
        globals()["_AWS_POLICY_PATHS"] = cached
    return cached


def check_aws_managed_policy(arn: Any) -> str:
    if not isinstance(arn, str) or _AWS_POLICY_INFIX not in arn or \
            arn.split(_AWS_POLICY_INFIX, 1)[1] not in _aws_policy_paths():
        raise ResourceNotFoundException(f"Policy does not exist with ARN: {arn}")
    return arn


def customer_reference(reference: Any) -> tuple[str, str]:
    """(name, path) of a ``CustomerManagedPolicyReference``; the path defaults to ``/``."""
    if not isinstance(reference, dict) or not reference.get("Name"):
        raise ValidationException("CustomerManagedPolicyReference needs a Name")
    name, path = str(reference["Name"]), str(reference.get("Path") or "/")
    if not re.fullmatch(r"[\w+=,.@-]{1,128}", name, re.ASCII) or not re.fullmatch(r"/([!-~]+/)?", path) \
            or len(path) > 512:
        raise ValidationException(f"Invalid CustomerManagedPolicyReference Name {name!r} or Path {path!r}")
    return name, path


def check_boundary(boundary: Any) -> dict[str, Any]:
    if not isinstance(boundary, dict) or ("ManagedPolicyArn" in boundary) == ("CustomerManagedPolicyReference" in boundary):
        raise ValidationException("A permissions boundary is either a ManagedPolicyArn or a "
                                  "CustomerManagedPolicyReference")
    if "ManagedPolicyArn" in boundary:
        return {"ManagedPolicyArn": check_aws_managed_policy(boundary["ManagedPolicyArn"])}
    name, path = customer_reference(boundary["CustomerManagedPolicyReference"])
    return {"CustomerManagedPolicyReference": {"Name": name, "Path": path}}


# --- permission sets --------------------------------------------------------------------------------


def create_permission_set(instance: Instance, name: Any, description: Any = None, session_duration: Any = None,
                          relay_state: Any = None, tags: dict[str, str] | None = None) -> PermissionSet:
    with _lock:
        check_name(name)
        duration = str(session_duration or "PT1H")
        session_seconds(duration)
        if any(ps.name == name for ps in instance.permission_sets.values()):
            raise ConflictException(f"PermissionSet with name {name} already exists.")
        permission_set = PermissionSet(
            arn=f"arn:aws:sso:::permissionSet/{instance.short_id}/ps-{mock_random.get_random_hex(16)}",
            name=name, instance_arn=instance.arn, description=check_description(description),
            session_duration=duration, relay_state=check_relay_state(relay_state),
            tags=check_tags(dict(tags or {})))
        instance.permission_sets[permission_set.arn] = permission_set
        return permission_set


_UNCHANGED: Any = object()


def update_permission_set(permission_set: PermissionSet, description: Any = _UNCHANGED,
                          session_duration: Any = _UNCHANGED, relay_state: Any = _UNCHANGED) -> None:
    """Change only what is given (``None`` for description or relay state clears it)."""
    with _lock:
        if session_duration is not _UNCHANGED and session_duration is not None:
            session_seconds(str(session_duration))
            permission_set.session_duration = str(session_duration)
        if description is not _UNCHANGED:
            permission_set.description = check_description(description)
        if relay_state is not _UNCHANGED:
            permission_set.relay_state = check_relay_state(relay_state)
        permission_set.changed()


def delete_permission_set(instance: Instance, permission_set: PermissionSet) -> None:
    with _lock:
        if any(a.permission_set_arn == permission_set.arn for a in instance.assignments):
            raise ConflictException(f"Could not delete PermissionSet {permission_set.short_id}: it is assigned to "
                                    "one or more accounts. Delete its account assignments first.")
        for account_id, arn in list(instance.provisioned):
            if arn == permission_set.arn:
                _deprovision(instance, permission_set, account_id)
        del instance.permission_sets[permission_set.arn]
        instance.pending_deletion.discard(permission_set.arn)


def _policy_count(permission_set: PermissionSet) -> int:
    return len(permission_set.managed_policies) + len(permission_set.customer_managed)


def _quota_exceeded(permission_set: PermissionSet) -> ServiceQuotaExceededException:
    return ServiceQuotaExceededException(
        f"You have exceeded AWS SSO limits. Cannot create ManagedPolicy more than {MAX_MANAGED_POLICIES} for id "
        f"{permission_set.short_id}. Please refer to https://docs.aws.amazon.com/singlesignon/latest/userguide/limits.html")


def attach_managed_policy(permission_set: PermissionSet, arn: Any) -> None:
    with _lock:
        check_aws_managed_policy(arn)
        if arn in permission_set.managed_policies:
            raise ConflictException(f"Permission set with id {permission_set.short_id} already has a typed link "
                                    f"attachment to a manged policy with {arn}")
        if _policy_count(permission_set) >= MAX_MANAGED_POLICIES:
            raise _quota_exceeded(permission_set)
        permission_set.managed_policies.append(arn)
        permission_set.changed()


def detach_managed_policy(permission_set: PermissionSet, arn: Any) -> None:
    with _lock:
        if arn not in permission_set.managed_policies:
            raise ResourceNotFoundException(f"Could not find ManagedPolicy with arn {arn}")
        permission_set.managed_policies.remove(arn)
        permission_set.changed()


def attach_customer_managed_policy(permission_set: PermissionSet, reference: Any) -> None:
    with _lock:
        name, path = customer_reference(reference)
        if (name, path) in permission_set.customer_managed:
            raise ConflictException(f"Given customer managed policy with name: {name}  and path {path} already "
                                    "attached")
        if _policy_count(permission_set) >= MAX_MANAGED_POLICIES:
            raise _quota_exceeded(permission_set)
        permission_set.customer_managed.append((name, path))
        permission_set.changed()


def detach_customer_managed_policy(permission_set: PermissionSet, reference: Any) -> None:
    with _lock:
        name, path = customer_reference(reference)
        if (name, path) not in permission_set.customer_managed:
            raise ResourceNotFoundException(f"Given managed policy with name: {name}  and path {path} does not exist "
                                            "on PermissionSet")
        permission_set.customer_managed.remove((name, path))
        permission_set.changed()


def put_inline_policy(permission_set: PermissionSet, document: Any) -> None:
    with _lock:
        permission_set.inline_policy = check_inline_policy(document)
        permission_set.changed()


def delete_inline_policy(permission_set: PermissionSet) -> None:
    with _lock:
        permission_set.inline_policy = ""
        permission_set.changed()


def put_boundary(permission_set: PermissionSet, boundary: Any) -> None:
    with _lock:
        permission_set.boundary = check_boundary(boundary)
        permission_set.changed()


def delete_boundary(permission_set: PermissionSet) -> None:
    with _lock:
        permission_set.boundary = None
        permission_set.changed()


def tag(permission_set: PermissionSet, tags: dict[str, str]) -> None:
    with _lock:
        permission_set.tags = check_tags({**permission_set.tags, **tags})


def untag(permission_set: PermissionSet, keys: list[str]) -> None:
    with _lock:
        for key in keys:
            permission_set.tags.pop(key, None)


# --- the role in the account ------------------------------------------------------------------------


def _iam(account_id: str) -> IAMBackend:
    backend: IAMBackend = iam_backends[account_id]["aws"]
    return backend


def _hex(*parts: str) -> str:
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def saml_provider_name(instance: Instance) -> str:
    return f"AWSSSO_{_hex(instance.arn)}_DO_NOT_DELETE"


def role_name(permission_set: PermissionSet, account_id: str) -> str:
    return f"{ROLE_PREFIX}{permission_set.name}_{_hex(permission_set.arn, account_id)}"


def _saml_metadata(instance: Instance) -> str:
    return (f'<?xml version="1.0" encoding="UTF-8"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" '
            f'entityID="https://portal.sso.{instance.region}.amazonaws.com/saml/assertion/{instance.short_id}">'
            '<md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"/>'
            '</md:EntityDescriptor>')


def _ensure_saml_provider(instance: Instance, account_id: str) -> str:
    backend = _iam(account_id)
    name = saml_provider_name(instance)
    if name not in backend.saml_providers:
        backend.create_saml_provider(name, _saml_metadata(instance))
    return str(backend.saml_providers[name].arn)


def trust_policy(saml_provider_arn: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": saml_provider_arn},
        "Action": ["sts:AssumeRoleWithSAML", "sts:TagSession"],
        "Condition": {"StringEquals": {"SAML:aud": SAML_AUDIENCE}},
    }]})


def _customer_policy_arn(account_id: str, name: str, path: str) -> str:
    return f"arn:aws:iam::{account_id}:policy{path}{name}"


def _wanted_policy_arns(permission_set: PermissionSet, account_id: str) -> list[str]:
    """The managed policy ARNs the role must have; ProvisioningFailed where the account lacks one."""
    backend = _iam(account_id)
    arns = list(permission_set.managed_policies)
    for name, path in permission_set.customer_managed:
        arn = _customer_policy_arn(account_id, name, path)
        if arn not in backend.managed_policies:
            raise ProvisioningFailed(f"Received a 404 status error: Policy arn {arn} does not exist in the account "
                                     f"{account_id}. Create the policy in the account, or remove the customer "
                                     "managed policy reference from the permission set.")
        arns.append(arn)
    if len(arns) > IAM_POLICIES_PER_ROLE:
        raise ProvisioningFailed(f"Received a 409 status error: Cannot exceed quota for PoliciesPerRole: "
                                 f"{IAM_POLICIES_PER_ROLE} (IAM, account {account_id})")
    return arns


def _boundary_arn(permission_set: PermissionSet, account_id: str) -> str | None:
    boundary = permission_set.boundary
    if not boundary:
        return None
    if "ManagedPolicyArn" in boundary:
        return str(boundary["ManagedPolicyArn"])
    reference = boundary["CustomerManagedPolicyReference"]
    arn = _customer_policy_arn(account_id, reference["Name"], reference["Path"])
    if arn not in _iam(account_id).managed_policies:
        raise ProvisioningFailed(f"Received a 404 status error: Permissions boundary policy {arn} does not exist in "
                                 f"the account {account_id}.")
    return arn


def _provision(instance: Instance, permission_set: PermissionSet, account_id: str) -> None:
    """Bring the account's role to the permission set as it is now (create it the first time)."""
    policy_arns = _wanted_policy_arns(permission_set, account_id)
    boundary = _boundary_arn(permission_set, account_id)
    backend = _iam(account_id)
    name = role_name(permission_set, account_id)
    trust = trust_policy(_ensure_saml_provider(instance, account_id))
    seconds = session_seconds(permission_set.session_duration)
    role = next((r for r in backend.roles.values() if r.name == name), None)
    if role is None:
        role = backend.create_role(name, trust, ROLE_PATH, None, "", [], str(seconds))
    role.assume_role_policy_document = trust
    role.max_session_duration = seconds
    for arn in [arn for arn in role.managed_policies if arn not in policy_arns]:
        backend.detach_role_policy(arn, name)
    for arn in [arn for arn in policy_arns if arn not in role.managed_policies]:
        backend.attach_role_policy(arn, name)
    if permission_set.inline_policy:
        backend.put_role_policy(name, INLINE_POLICY_NAME, permission_set.inline_policy)
    elif INLINE_POLICY_NAME in role.policies:
        backend.delete_role_policy(name, INLINE_POLICY_NAME)
    role.permissions_boundary_arn = boundary
    instance.provisioned[(account_id, permission_set.arn)] = permission_set.revision


def _deprovision(instance: Instance, permission_set: PermissionSet, account_id: str) -> None:
    """Delete the permission set's role in the account (whatever is attached to it)."""
    backend = _iam(account_id)
    name = role_name(permission_set, account_id)
    role = next((r for r in backend.roles.values() if r.name == name), None)
    if role is not None:
        for arn in list(role.managed_policies):
            backend.detach_role_policy(arn, name)
        for policy_name in list(role.policies):
            backend.delete_role_policy(name, policy_name)
        backend.delete_role(name)
    instance.provisioned.pop((account_id, permission_set.arn), None)


def _request(instance: Instance, kind: str, details: dict[str, Any], failure: str | None) -> dict[str, Any]:
    status: dict[str, Any] = {"RequestId": str(mock_random.uuid4()), "CreatedDate": unix_time(),
                              "Status": "FAILED" if failure else "SUCCEEDED", **details}
    if failure:
        status["FailureReason"] = failure
    instance.requests[status["RequestId"]] = {"kind": kind, "status": status}
    return status


def request_status(instance: Instance, kind: str, request_id: Any) -> dict[str, Any]:
    found = instance.requests.get(str(request_id))
    if found is None or found["kind"] != kind:
        raise ResourceNotFoundException(f"Request {request_id} could not be found")
    status: dict[str, Any] = found["status"]
    return status


def provision_permission_set(instance: Instance, permission_set: PermissionSet, target_type: str,
                             target_id: str | None = None) -> dict[str, Any]:
    """``ProvisionPermissionSet``: one account, or every account it is provisioned to."""
    with _lock:
        if target_type == "AWS_ACCOUNT":
            check_target(instance, target_id)
            accounts = [str(target_id)]
        elif target_type == "ALL_PROVISIONED_ACCOUNTS":
            accounts = sorted({acct for acct, arn in instance.provisioned if arn == permission_set.arn})
        else:
            raise ValidationException(f"Invalid TargetType {target_type}: AWS_ACCOUNT or ALL_PROVISIONED_ACCOUNTS")
        failure = None
        for account_id in accounts:
            try:
                _provision(instance, permission_set, account_id)
            except ProvisioningFailed as error:
                failure = error.reason
                break
        details = {"PermissionSetArn": permission_set.arn}
        if target_type == "AWS_ACCOUNT":
            details["AccountId"] = str(target_id)
        return _request(instance, "provisioning", details, failure)


def provisioned_accounts(instance: Instance, permission_set_arn: str, status_filter: str | None) -> list[str]:
    permission_set = instance.permission_set(permission_set_arn)
    return sorted(account for (account, arn), revision in instance.provisioned.items()
                  if arn == permission_set_arn and _matches(revision, permission_set, status_filter))


def provisioned_to_account(instance: Instance, account_id: str, status_filter: str | None) -> list[str]:
    return [arn for (account, arn), revision in instance.provisioned.items()
            if account == account_id and _matches(revision, instance.permission_sets[arn], status_filter)]


def _matches(revision: int, permission_set: PermissionSet, status_filter: str | None) -> bool:
    if status_filter == "LATEST_PERMISSION_SET_PROVISIONED":
        return revision == permission_set.revision
    if status_filter == "LATEST_PERMISSION_SET_NOT_PROVISIONED":
        return revision != permission_set.revision
    return True


# --- assignments ------------------------------------------------------------------------------------


def check_target(instance: Instance, target_id: Any) -> str:
    """The target account id, which must be an account of the instance's organization."""
    from emulator import delegated_admin

    if not isinstance(target_id, str) or not ACCOUNT_ID.fullmatch(target_id):
        raise ValidationException(f"The value '{target_id}' at 'targetId' failed to satisfy constraint: Member must "
                                  "satisfy regular expression pattern: \\d{12}")
    organization = delegated_admin.organization_backend(instance.owner_account_id, "aws")
    members = {account.id for account in organization.accounts} | {instance.owner_account_id}
    if target_id not in members:
        raise ValidationException(f"The target account {target_id} is not an account of the organization of this "
                                  "Identity Center instance.")
    return target_id


def identity_store(instance: Instance) -> identitystore_models.IdentityStoreData:
    backend = identitystore_models.identitystore_backends[instance.owner_account_id][instance.region]
    stores: dict[str, identitystore_models.IdentityStoreData] = backend.identity_stores
    return stores.setdefault(instance.identity_store_id, identitystore_models.IdentityStoreData())


def check_principal(instance: Instance, principal_type: Any, principal_id: Any) -> None:
    if principal_type not in PRINCIPAL_TYPES:
        raise ValidationException(f"The value '{principal_type}' at 'principalType' failed to satisfy constraint: "
                                  "Member must satisfy enum value set: [USER, GROUP]")
    store = identity_store(instance)
    known = store.groups if principal_type == "GROUP" else store.users
    if principal_id not in known:
        raise ResourceNotFoundException(f"{principal_type.capitalize()} {principal_id} does not exist in the identity "
                                        f"store {instance.identity_store_id}.")


def create_assignment(instance: Instance, target_id: Any, target_type: Any, permission_set_arn: Any,
                      principal_type: Any, principal_id: Any) -> dict[str, Any]:
    """``CreateAccountAssignment``: the status AWS reports once its request is done."""
    with _lock:
        if target_type != "AWS_ACCOUNT":
            raise ValidationException("The value at 'targetType' failed to satisfy constraint: Member must satisfy "
                                      "enum value set: [AWS_ACCOUNT]")
        permission_set = instance.permission_set(str(permission_set_arn))
        check_target(instance, target_id)
        check_principal(instance, principal_type, principal_id)
        assignment = Assignment(str(target_id), permission_set.arn, str(principal_type), str(principal_id))
        failure = None
        if (target_id, permission_set.arn) not in instance.provisioned:
            try:
                _provision(instance, permission_set, str(target_id))
            except ProvisioningFailed as error:
                failure = error.reason
        if failure is None and assignment not in instance.assignments:
            instance.assignments.append(assignment)
        details = {"TargetId": assignment.target_id, "TargetType": "AWS_ACCOUNT",
                   "PermissionSetArn": assignment.permission_set_arn, "PrincipalType": assignment.principal_type,
                   "PrincipalId": assignment.principal_id}
        return _request(instance, "creation", details, failure)


def _delete_if_pending(instance: Instance, permission_set: PermissionSet) -> None:
    if permission_set.arn in instance.pending_deletion and \
            not any(a.permission_set_arn == permission_set.arn for a in instance.assignments):
        instance.pending_deletion.discard(permission_set.arn)
        delete_permission_set(instance, permission_set)


def delete_assignment(instance: Instance, target_id: Any, target_type: Any, permission_set_arn: Any,
                      principal_type: Any, principal_id: Any) -> dict[str, Any]:
    with _lock:
        permission_set = instance.permission_set(str(permission_set_arn))
        assignment = Assignment(str(target_id), permission_set.arn, str(principal_type), str(principal_id))
        if assignment not in instance.assignments:
            raise ResourceNotFoundException(f"Could not find the account assignment of {principal_type} "
                                            f"{principal_id} to account {target_id} with {permission_set.short_id}")
        instance.assignments.remove(assignment)
        still_assigned = any(a.target_id == assignment.target_id and a.permission_set_arn == permission_set.arn
                             for a in instance.assignments)
        if not still_assigned:
            _deprovision(instance, permission_set, assignment.target_id)
        _delete_if_pending(instance, permission_set)
        details = {"TargetId": assignment.target_id, "TargetType": str(target_type or "AWS_ACCOUNT"),
                   "PermissionSetArn": permission_set.arn, "PrincipalType": assignment.principal_type,
                   "PrincipalId": assignment.principal_id}
        return _request(instance, "deletion", details, None)


# --- the sso-admin API ------------------------------------------------------------------------------


def _param(response: SSOAdminResponse, name: str, default: Any = None) -> Any:
    return response._get_param(name, default)


def _instance(response: SSOAdminResponse) -> Instance:
    return instance_for(response.current_account, response.region, _param(response, "InstanceArn"))


def _permission_set(response: SSOAdminResponse) -> tuple[Instance, PermissionSet]:
    instance = _instance(response)
    return instance, instance.permission_set(str(_param(response, "PermissionSetArn")))


def _page(items: list[Any], response: SSOAdminResponse, key: str, limit: int = 100) -> str:
    """One page of ``items`` under ``key``, with a NextToken when more follow."""
    start = int(_param(response, "NextToken") or 0)
    size = int(_param(response, "MaxResults") or limit)
    answer: dict[str, Any] = {key: items[start:start + size]}
    if start + size < len(items):
        answer["NextToken"] = str(start + size)
    return json.dumps(answer)


def _tags_param(value: Any) -> dict[str, str]:
    return {str(t["Key"]): str(t["Value"]) for t in value or []}


def _create_instance(self: SSOAdminResponse) -> str:
    instance = create_instance(self.current_account, self.region, _param(self, "Name"))
    return json.dumps({"InstanceArn": instance.arn})


def _list_instances(self: SSOAdminResponse) -> str:
    return _page([i.describe() for i in visible_instances(self.current_account, self.region)], self, "Instances")


def _describe_instance(self: SSOAdminResponse) -> str:
    return json.dumps(_instance(self).describe())


def _update_instance(self: SSOAdminResponse) -> str:
    _instance(self).name = _param(self, "Name")
    return "{}"


def _create_permission_set(self: SSOAdminResponse) -> str:
    permission_set = create_permission_set(
        _instance(self), _param(self, "Name"), _param(self, "Description"), _param(self, "SessionDuration"),
        _param(self, "RelayState"), _tags_param(_param(self, "Tags")))
    return json.dumps({"PermissionSet": permission_set.describe()})


def _update_permission_set(self: SSOAdminResponse) -> str:
    _, permission_set = _permission_set(self)
    body = json.loads(self.body or "{}")
    update_permission_set(permission_set, **{
        argument: body[key] for key, argument in (("Description", "description"), ("SessionDuration", "session_duration"),
                                                  ("RelayState", "relay_state")) if key in body})
    return "{}"


def _describe_permission_set(self: SSOAdminResponse) -> str:
    return json.dumps({"PermissionSet": _permission_set(self)[1].describe()})


def _delete_permission_set(self: SSOAdminResponse) -> str:
    delete_permission_set(*_permission_set(self))
    return "{}"


def _list_permission_sets(self: SSOAdminResponse) -> str:
    return _page(list(_instance(self).permission_sets), self, "PermissionSets")


def _put_inline_policy(self: SSOAdminResponse) -> str:
    put_inline_policy(_permission_set(self)[1], _param(self, "InlinePolicy"))
    return "{}"


def _get_inline_policy(self: SSOAdminResponse) -> str:
    return json.dumps({"InlinePolicy": _permission_set(self)[1].inline_policy})


def _delete_inline_policy(self: SSOAdminResponse) -> str:
    delete_inline_policy(_permission_set(self)[1])
    return "{}"


def _attach_managed_policy(self: SSOAdminResponse) -> str:
    attach_managed_policy(_permission_set(self)[1], _param(self, "ManagedPolicyArn"))
    return "{}"


def _detach_managed_policy(self: SSOAdminResponse) -> str:
    detach_managed_policy(_permission_set(self)[1], _param(self, "ManagedPolicyArn"))
    return "{}"


def _list_managed_policies(self: SSOAdminResponse) -> str:
    arns = _permission_set(self)[1].managed_policies
    return _page([{"Arn": arn, "Name": arn.rsplit("/", 1)[-1]} for arn in arns], self, "AttachedManagedPolicies")


def _attach_customer_managed(self: SSOAdminResponse) -> str:
    attach_customer_managed_policy(_permission_set(self)[1], _param(self, "CustomerManagedPolicyReference"))
    return "{}"


def _detach_customer_managed(self: SSOAdminResponse) -> str:
    detach_customer_managed_policy(_permission_set(self)[1], _param(self, "CustomerManagedPolicyReference"))
    return "{}"


def _list_customer_managed(self: SSOAdminResponse) -> str:
    references = [{"Name": name, "Path": path} for name, path in _permission_set(self)[1].customer_managed]
    return _page(references, self, "CustomerManagedPolicyReferences")


def _put_boundary(self: SSOAdminResponse) -> str:
    put_boundary(_permission_set(self)[1], _param(self, "PermissionsBoundary"))
    return "{}"


def _get_boundary(self: SSOAdminResponse) -> str:
    permission_set = _permission_set(self)[1]
    if permission_set.boundary is None:
        raise ResourceNotFoundException(f"Could not find PermissionsBoundary for PermissionSet "
                                        f"{permission_set.short_id}")
    return json.dumps({"PermissionsBoundary": permission_set.boundary})


def _delete_boundary(self: SSOAdminResponse) -> str:
    delete_boundary(_permission_set(self)[1])
    return "{}"


def _tagged(self: SSOAdminResponse) -> PermissionSet:
    instance = _instance(self)
    return instance.permission_set(str(_param(self, "ResourceArn")))


def _tag_resource(self: SSOAdminResponse) -> str:
    tag(_tagged(self), _tags_param(_param(self, "Tags")))
    return "{}"


def _untag_resource(self: SSOAdminResponse) -> str:
    untag(_tagged(self), [str(key) for key in _param(self, "TagKeys") or []])
    return "{}"


def _list_tags_for_resource(self: SSOAdminResponse) -> str:
    tags = [{"Key": key, "Value": value} for key, value in _tagged(self).tags.items()]
    return _page(tags, self, "Tags", limit=50)


def _provision_permission_set(self: SSOAdminResponse) -> str:
    instance, permission_set = _permission_set(self)
    status = provision_permission_set(instance, permission_set, str(_param(self, "TargetType")),
                                      _param(self, "TargetId"))
    return json.dumps({"PermissionSetProvisioningStatus": status})


def _describe_provisioning_status(self: SSOAdminResponse) -> str:
    status = request_status(_instance(self), "provisioning", _param(self, "ProvisionPermissionSetRequestId"))
    return json.dumps({"PermissionSetProvisioningStatus": status})


def _list_permission_sets_provisioned_to_account(self: SSOAdminResponse) -> str:
    instance = _instance(self)
    arns = provisioned_to_account(instance, str(_param(self, "AccountId")), _param(self, "ProvisioningStatus"))
    return _page(arns, self, "PermissionSets")


def _list_accounts_for_provisioned_permission_set(self: SSOAdminResponse) -> str:
    accounts = provisioned_accounts(_instance(self), str(_param(self, "PermissionSetArn")),
                                    _param(self, "ProvisioningStatus"))
    return _page(accounts, self, "AccountIds")


def _assignment_arguments(self: SSOAdminResponse) -> dict[str, Any]:
    return {"target_id": _param(self, "TargetId"), "target_type": _param(self, "TargetType"),
            "permission_set_arn": _param(self, "PermissionSetArn"), "principal_type": _param(self, "PrincipalType"),
            "principal_id": _param(self, "PrincipalId")}


def _create_account_assignment(self: SSOAdminResponse) -> str:
    status = create_assignment(_instance(self), **_assignment_arguments(self))
    return json.dumps({"AccountAssignmentCreationStatus": status})


def _delete_account_assignment(self: SSOAdminResponse) -> str:
    status = delete_assignment(_instance(self), **_assignment_arguments(self))
    return json.dumps({"AccountAssignmentDeletionStatus": status})


def _describe_creation_status(self: SSOAdminResponse) -> str:
    status = request_status(_instance(self), "creation", _param(self, "AccountAssignmentCreationRequestId"))
    return json.dumps({"AccountAssignmentCreationStatus": status})


def _describe_deletion_status(self: SSOAdminResponse) -> str:
    status = request_status(_instance(self), "deletion", _param(self, "AccountAssignmentDeletionRequestId"))
    return json.dumps({"AccountAssignmentDeletionStatus": status})


def _list_account_assignments(self: SSOAdminResponse) -> str:
    instance, permission_set = _permission_set(self)
    account_id = str(_param(self, "AccountId"))
    found = [a.summary() for a in instance.assignments
             if a.target_id == account_id and a.permission_set_arn == permission_set.arn]
    return _page(found, self, "AccountAssignments")


def _list_account_assignments_for_principal(self: SSOAdminResponse) -> str:
    instance = _instance(self)
    account_filter = (_param(self, "Filter") or {}).get("AccountId")
    found = [a.summary() for a in instance.assignments
             if a.principal_id == _param(self, "PrincipalId") and a.principal_type == _param(self, "PrincipalType")
             and account_filter in (None, a.target_id)]
    return _page(found, self, "AccountAssignments")


def _list_statuses(kind: str) -> Callable[[SSOAdminResponse], str]:
    keys = {"creation": "AccountAssignmentsCreationStatus", "deletion": "AccountAssignmentsDeletionStatus",
            "provisioning": "PermissionSetsProvisioningStatus"}

    def list_statuses(self: SSOAdminResponse) -> str:
        found = [{k: v for k, v in r["status"].items() if k in ("RequestId", "Status", "CreatedDate")}
                 for r in _instance(self).requests.values() if r["kind"] == kind]
        return _page(found, self, keys[kind])

    return list_statuses


_API: dict[str, Callable[[SSOAdminResponse], str]] = {
    "create_instance": _create_instance,
    "list_instances": _list_instances,
    "describe_instance": _describe_instance,
    "update_instance": _update_instance,
    "create_permission_set": _create_permission_set,
    "update_permission_set": _update_permission_set,
    "describe_permission_set": _describe_permission_set,
    "delete_permission_set": _delete_permission_set,
    "list_permission_sets": _list_permission_sets,
    "put_inline_policy_to_permission_set": _put_inline_policy,
    "get_inline_policy_for_permission_set": _get_inline_policy,
    "delete_inline_policy_from_permission_set": _delete_inline_policy,
    "attach_managed_policy_to_permission_set": _attach_managed_policy,
    "detach_managed_policy_from_permission_set": _detach_managed_policy,
    "list_managed_policies_in_permission_set": _list_managed_policies,
    "attach_customer_managed_policy_reference_to_permission_set": _attach_customer_managed,
    "detach_customer_managed_policy_reference_from_permission_set": _detach_customer_managed,
    "list_customer_managed_policy_references_in_permission_set": _list_customer_managed,
    "put_permissions_boundary_to_permission_set": _put_boundary,
    "get_permissions_boundary_for_permission_set": _get_boundary,
    "delete_permissions_boundary_from_permission_set": _delete_boundary,
    "tag_resource": _tag_resource,
    "untag_resource": _untag_resource,
    "list_tags_for_resource": _list_tags_for_resource,
    "provision_permission_set": _provision_permission_set,
    "describe_permission_set_provisioning_status": _describe_provisioning_status,
    "list_permission_sets_provisioned_to_account": _list_permission_sets_provisioned_to_account,
    "list_accounts_for_provisioned_permission_set": _list_accounts_for_provisioned_permission_set,
    "create_account_assignment": _create_account_assignment,
    "delete_account_assignment": _delete_account_assignment,
    "describe_account_assignment_creation_status": _describe_creation_status,
    "describe_account_assignment_deletion_status": _describe_deletion_status,
    "list_account_assignments": _list_account_assignments,
    "list_account_assignments_for_principal": _list_account_assignments_for_principal,
    "list_account_assignment_creation_status": _list_statuses("creation"),
    "list_account_assignment_deletion_status": _list_statuses("deletion"),
    "list_permission_set_provisioning_status": _list_statuses("provisioning"),
}


# --- identitystore: the instance's store, wherever it is asked from ----------------------------------


def _identitystore_backend(self: IdentityStoreResponse) -> identitystore_models.IdentityStoreBackend:
    """The backend holding the store the request names: the management account's, in the instance's region."""
    store_id = self._get_param("IdentityStoreId")
    instance = instance_of_store(self.current_account, self.region, store_id)
    if instance is None:
        raise IdentityStoreNotFound(message="IDENTITY_STORE not found.", resource_type="IDENTITY_STORE")
    identity_store(instance)  # the store exists from the instance's first day
    backend: identitystore_models.IdentityStoreBackend = \
        identitystore_models.identitystore_backends[instance.owner_account_id][instance.region]
    return backend


def _no_default_instance(self: ssoadmin_models.SSOAdminBackend, region_name: str, account_id: str) -> None:
    """moto's backend without the instance it makes in every account."""
    _originals["SSOAdminBackend.__init__"](self, region_name, account_id)
    self.instances.clear()


def install() -> None:
    """Replace moto's sso-admin actions and route identitystore calls to the instance's store; once per process."""
    global _installed
    with _lock:
        if _installed:
            return
        for name, action in _API.items():
            _originals[f"SSOAdminResponse.{name}"] = getattr(SSOAdminResponse, name, None)
            setattr(SSOAdminResponse, name, action)
        _originals["SSOAdminBackend.__init__"] = ssoadmin_models.SSOAdminBackend.__init__
        ssoadmin_models.SSOAdminBackend.__init__ = _no_default_instance  # type: ignore[method-assign]
        _originals["IdentityStoreResponse.identitystore_backend"] = IdentityStoreResponse.identitystore_backend
        IdentityStoreResponse.identitystore_backend = property(_identitystore_backend)  # type: ignore[assignment]
        from moto.organizations.models import FakeDelegatedAdministrator

        if SSO_PRINCIPAL not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:  # RegisterDelegatedAdministrator
            FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(SSO_PRINCIPAL)
        _installed = True


def installed() -> bool:
    return _installed

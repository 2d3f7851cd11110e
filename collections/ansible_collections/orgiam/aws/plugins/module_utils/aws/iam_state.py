# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The live IAM state of what one orgiam stack owns, read through the IAM API: the truth behind the stack.

CloudFormation remembers what it deployed, not what IAM holds now: a trust policy opened by hand, a
policy detached, a user added to a group are invisible to it. ``read_state`` reads every resource of a
deployed template (roles, customer managed policies, groups, users, the SAML provider, and, with a
Secrets Manager client, the console password secrets) and returns, per logical id, the properties orgiam
sets, normalised for comparison (``plan/drift.py`` compares them with the template):

    {logical_id: {"Type": "AWS::IAM::Role", "Name": "ReadOnly", "Properties": {...}} or None (gone)}

Normalised: policy documents as parsed JSON (IAM returns them URL-encoded), lists sorted, tags as a dict.
What exists beyond the template is in the same properties: every attached managed policy, every inline
policy, every member of a group, every access key, a login profile nobody asked for. Managed policies the
template owns are accounted on the policy (its ``Roles``/``Groups``/``Users``, as the template says them),
not on the principals, so that each fact is reported once.

The calls (one page each; more only when IAM pages): a role costs GetRole, ListAttachedRolePolicies,
ListRolePolicies and one GetRolePolicy per inline policy; a group GetGroup (members included),
ListAttachedGroupPolicies, ListGroupPolicies, one GetGroupPolicy per inline policy; a user GetUser,
ListAttachedUserPolicies, ListUserPolicies (+ GetUserPolicy each), GetLoginProfile, ListAccessKeys; a
managed policy GetPolicy, GetPolicyVersion, ListEntitiesForPolicy; a SAML provider GetSAMLProvider; a
secret DescribeSecret (only with a Secrets Manager client). All are within what orgiam's deployer role
may do. Errors other than "no such entity" become ``AwsAccessError``.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Callable, Iterator

from .errors import error_code, explain_aws_error

ROLE = "AWS::IAM::Role"
GROUP = "AWS::IAM::Group"
USER = "AWS::IAM::User"
MANAGED_POLICY = "AWS::IAM::ManagedPolicy"
SAML_PROVIDER = "AWS::IAM::SAMLProvider"
SECRET = "AWS::SecretsManager::Secret"

# the order in which resources are listed, compared and re-created: what a later one refers to comes first
TYPES = (SAML_PROVIDER, SECRET, USER, GROUP, ROLE, MANAGED_POLICY)
NAME_PROPERTY = {
    ROLE: "RoleName",
    GROUP: "GroupName",
    USER: "UserName",
    MANAGED_POLICY: "ManagedPolicyName",
    SAML_PROVIDER: "Name",
    SECRET: "Name",
}
MISSING_CODES = frozenset({"NoSuchEntity", "NoSuchEntityException", "ResourceNotFoundException"})
DEFAULT_MAX_SESSION_DURATION = 3600
PRINCIPAL_KEYS = (("Roles", "PolicyRoles", "RoleName"), ("Groups", "PolicyGroups", "GroupName"),
                  ("Users", "PolicyUsers", "UserName"))

ResourceState = dict[str, Any]  # {"Type", "Name", "Properties"}


class _Gone(Exception):
    """The resource does not exist (any more)."""


# --- shapes shared with plan/drift.py ---------------------------------------------------------------


def owned_resources(template: dict[str, Any]) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(logical id, type, name, properties) of every resource the template owns and this module reads,
    in ``TYPES`` order then by logical id. Resources without a literal name are left out: orgiam names all."""
    found = []
    for logical_id, resource in (template.get("Resources") or {}).items():
        rtype = resource.get("Type")
        if rtype not in NAME_PROPERTY:
            continue
        properties = resource.get("Properties") or {}
        name = properties.get(NAME_PROPERTY[rtype])
        if isinstance(name, str) and name:
            found.append((logical_id, rtype, name, properties))
    return sorted(found, key=lambda item: (TYPES.index(item[1]), item[0]))


def path_of(properties: dict[str, Any]) -> str:
    path = properties.get("Path")
    return path if isinstance(path, str) and path else "/"


def policy_arn(account_id: str, partition: str, path: str, name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:policy{path}{name}"


def saml_provider_arn(account_id: str, partition: str, name: str) -> str:
    return f"arn:{partition}:iam::{account_id}:saml-provider/{name}"


def owned_policy_arns(template: dict[str, Any], account_id: str, partition: str) -> dict[str, str]:
    """ARN -> logical id of the customer managed policies the template owns."""
    return {
        policy_arn(account_id, partition, path_of(props), name): logical_id
        for logical_id, rtype, name, props in owned_resources(template) if rtype == MANAGED_POLICY
    }


def parse_document(value: Any) -> Any:
    """A policy document as data: IAM's answers are JSON text, URL-encoded (boto3 decodes most of them)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        return json.loads(text)
    except ValueError:
        pass
    try:
        return json.loads(urllib.parse.unquote(text))
    except ValueError:
        return value  # not JSON at all: compared as text


def tag_map(tags: Any) -> dict[str, str]:
    return {str(t["Key"]): str(t["Value"]) for t in tags or []}


def state(rtype: str, name: str, properties: dict[str, Any]) -> ResourceState:
    return {"Type": rtype, "Name": name, "Properties": properties}


# --- reading ------------------------------------------------------------------------------------------


def read_state(
    iam: Any, template: dict[str, Any], account_id: str, partition: str = "aws", secrets: Any = None
) -> dict[str, ResourceState | None]:
    """The live state of every resource ``template`` owns in the account of ``iam``: logical id -> its
    normalised state, or None when it does not exist. Secrets are read only with a ``secrets`` client
    (their value never); without one they are left out of the answer (not compared)."""
    owned = owned_policy_arns(template, account_id, partition)
    reader = _Reader(iam, owned)
    live: dict[str, ResourceState | None] = {}
    for logical_id, rtype, name, props in owned_resources(template):
        if rtype == SECRET:
            if secrets is not None:
                live[logical_id] = _read_secret(secrets, name)
            continue
        try:
            if rtype == ROLE:
                live[logical_id] = reader.role(name)
            elif rtype == GROUP:
                live[logical_id] = reader.group(name)
            elif rtype == USER:
                live[logical_id] = reader.user(name)
            elif rtype == MANAGED_POLICY:
                live[logical_id] = reader.managed_policy(name, policy_arn(account_id, partition, path_of(props), name))
            elif rtype == SAML_PROVIDER:
                live[logical_id] = reader.saml_provider(name, saml_provider_arn(account_id, partition, name))
        except _Gone:
            live[logical_id] = None
    return live


class _Reader:
    def __init__(self, iam: Any, owned_arns: dict[str, str]) -> None:
        self.iam = iam
        self.owned_arns = owned_arns

    def _call(self, what: str, operation: Callable[..., Any], **kwargs: Any) -> Any:
        try:
            return operation(**kwargs)
        except Exception as exc:
            raise _translate(exc, what) from None

    def _pages(self, what: str, operation: str, **kwargs: Any) -> Iterator[dict[str, Any]]:
        try:
            yield from self.iam.get_paginator(operation).paginate(**kwargs)
        except Exception as exc:
            raise _translate(exc, what) from None

    def _attached(self, what: str, operation: str, **kwargs: Any) -> list[str]:
        """Attached managed policy ARNs, sorted, without the ones the template owns (those are on the policy)."""
        arns = [p["PolicyArn"] for page in self._pages(what, operation, **kwargs) for p in page.get("AttachedPolicies", [])]
        return sorted(a for a in arns if a not in self.owned_arns)

    def _inline(self, what: str, list_operation: str, get: Callable[..., Any], **kwargs: Any) -> dict[str, Any]:
        names = [n for page in self._pages(what, list_operation, **kwargs) for n in page.get("PolicyNames", [])]
        return {n: parse_document(self._call(what, get, PolicyName=n, **kwargs)["PolicyDocument"]) for n in sorted(names)}

    def role(self, name: str) -> ResourceState:
        what = f"read role {name}"
        role = self._call(what, self.iam.get_role, RoleName=name)["Role"]
        return state(ROLE, name, {
            "Path": role.get("Path", "/"),
            "Description": role.get("Description") or "",
            "MaxSessionDuration": int(role.get("MaxSessionDuration") or DEFAULT_MAX_SESSION_DURATION),
            "AssumeRolePolicyDocument": parse_document(role.get("AssumeRolePolicyDocument")),
            "ManagedPolicyArns": self._attached(what, "list_attached_role_policies", RoleName=name),
            "Policies": self._inline(what, "list_role_policies", self.iam.get_role_policy, RoleName=name),
            "PermissionsBoundary": (role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn", ""),
            "Tags": tag_map(role.get("Tags")),
        })

    def group(self, name: str) -> ResourceState:
        what = f"read group {name}"
        path, members = "/", []
        for page in self._pages(what, "get_group", GroupName=name):
            path = page["Group"].get("Path", "/")
            members += [u["UserName"] for u in page.get("Users", [])]
        return state(GROUP, name, {
            "Path": path,
            "ManagedPolicyArns": self._attached(what, "list_attached_group_policies", GroupName=name),
            "Policies": self._inline(what, "list_group_policies", self.iam.get_group_policy, GroupName=name),
            "Members": sorted(members),
        })

    def user(self, name: str) -> ResourceState:
        what = f"read user {name}"
        user = self._call(what, self.iam.get_user, UserName=name)["User"]
        try:
            self.iam.get_login_profile(UserName=name)
            login_profile = True
        except Exception as exc:
            if error_code(exc) not in MISSING_CODES:
                raise explain_aws_error(exc, doing=what) from None
            login_profile = False
        keys = [k["AccessKeyId"] for page in self._pages(what, "list_access_keys", UserName=name)
                for k in page.get("AccessKeyMetadata", [])]
        return state(USER, name, {
            "Path": user.get("Path", "/"),
            "ManagedPolicyArns": self._attached(what, "list_attached_user_policies", UserName=name),
            "Policies": self._inline(what, "list_user_policies", self.iam.get_user_policy, UserName=name),
            "PermissionsBoundary": (user.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn", ""),
            "Tags": tag_map(user.get("Tags")),
            "LoginProfile": login_profile,
            "AccessKeys": sorted(keys),
        })

    def managed_policy(self, name: str, arn: str) -> ResourceState:
        what = f"read managed policy {name}"
        policy = self._call(what, self.iam.get_policy, PolicyArn=arn)["Policy"]
        version = self._call(what, self.iam.get_policy_version, PolicyArn=arn, VersionId=policy["DefaultVersionId"])
        properties: dict[str, Any] = {
            "Path": policy.get("Path", "/"),
            "Description": policy.get("Description") or "",
            "PolicyDocument": parse_document(version["PolicyVersion"]["Document"]),
        }
        entities: dict[str, list[str]] = {key: [] for key, _, _ in PRINCIPAL_KEYS}
        for page in self._pages(what, "list_entities_for_policy", PolicyArn=arn):
            for key, answer_key, name_key in PRINCIPAL_KEYS:
                entities[key] += [e[name_key] for e in page.get(answer_key, [])]
        properties.update({key: sorted(names) for key, names in entities.items()})
        return state(MANAGED_POLICY, name, properties)

    def saml_provider(self, name: str, arn: str) -> ResourceState:
        provider = self._call(f"read SAML provider {name}", self.iam.get_saml_provider, SAMLProviderArn=arn)
        return state(SAML_PROVIDER, name, {"SamlMetadataDocument": str(provider.get("SAMLMetadataDocument", "")).strip()})


def _read_secret(secrets: Any, name: str) -> ResourceState | None:
    """A console password secret: that it exists, and its description. Its value is never read."""
    try:
        secret = secrets.describe_secret(SecretId=name)
    except Exception as exc:
        if error_code(exc) in MISSING_CODES:
            return None
        raise explain_aws_error(exc, doing=f"read secret {name}") from None
    if secret.get("DeletedDate"):
        return None  # scheduled for deletion: as good as gone
    return state(SECRET, name, {"Description": secret.get("Description") or ""})


def _translate(exc: Exception, what: str) -> Exception:
    if error_code(exc) in MISSING_CODES:
        return _Gone()
    return explain_aws_error(exc, doing=what)



# --- who else may assume orgiam's roles (reported by plan/exposure.py, never changed) ------------------


def read_authorization_details(iam: Any) -> dict[str, list[dict[str, Any]]]:
    """Every user, group and role of the account with its policies, and the customer managed policies
    (GetAccountAuthorizationDetails, paginated)."""
    details: dict[str, list[dict[str, Any]]] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    try:
        for page in iam.get_paginator("get_account_authorization_details").paginate(
                Filter=["User", "Role", "Group", "LocalManagedPolicy"]):
            for key, items in details.items():
                items.extend(page.get(key) or [])
    except Exception as exc:
        raise explain_aws_error(exc, doing="read the account's authorization details") from None
    return details


def read_policy_documents(iam: Any, arns: list[str]) -> dict[str, Any]:
    """The default version's document of each managed policy (GetPolicy, GetPolicyVersion)."""
    documents = {}
    for arn in arns:
        try:
            policy = iam.get_policy(PolicyArn=arn)["Policy"]
            version = iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
        except Exception as exc:
            raise explain_aws_error(exc, doing=f"read the managed policy {arn}") from None
        documents[arn] = parse_document(version.get("Document"))
    return documents

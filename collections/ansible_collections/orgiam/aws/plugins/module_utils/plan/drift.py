# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift: what a person changed by hand in what orgiam owns, found by comparing the template with IAM.

Pure. ``expected_state`` says what a deployed template makes each resource be, in the shape
``aws/iam_state.read_state`` reads IAM into; ``compare`` lists every difference as a :class:`Drift`
(the resource, the property, the live value and the desired one), which ``apply/repair.py`` puts back.

Policy documents compare as IAM means them: regardless of the order of statements and actions, of
``"Action": "x"`` against ``["x"]``, and of an account's root ARN against its id (amazon.aws's
``compare_policies``). Tags that CloudFormation propagates from the stack (orgiam's hash, kind and plan
tags) and ``aws:`` tags are not drift; any other tag beyond the template's is, because tags can grant
access (``aws:PrincipalTag`` conditions).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass
from typing import Any

from ansible_collections.amazon.aws.plugins.module_utils.policy import compare_policies

from ..aws.iam_state import (
    GROUP,
    MANAGED_POLICY,
    ROLE,
    SAML_PROVIDER,
    SECRET,
    USER,
    owned_resources,
    parse_document,
    path_of,
    policy_arn,
    saml_provider_arn,
    state,
    tag_map,
)
from ..model import HASH_TAG, KIND_TAG, PLAN_TAG

DEFAULT_MAX_SESSION_DURATION = 3600
DOCUMENTS = frozenset({"AssumeRolePolicyDocument", "PolicyDocument"})
MAPS = frozenset({"Policies", "Tags"})  # compared entry by entry: one drift per inline policy or tag
STACK_TAGS = frozenset({HASH_TAG, KIND_TAG, PLAN_TAG})  # CloudFormation copies stack tags to what it makes
SHOWN_CHARS = 300  # of each side of a line, at most
_SUB = re.compile(r"\$\{([^}]*)\}")
_PASSWORD_SECRET = re.compile(r"\{\{resolve:secretsmanager:(?:\$\{([^}]+)\}|([^:}]+))")


@dataclass(frozen=True)
class Drift:
    """One difference between a template and IAM. ``property`` "" means the whole resource is gone;
    ``key`` names the entry of a map property (an inline policy, a tag). ``before`` is live, ``after``
    desired; None is "absent"."""

    logical_id: str
    type: str
    name: str
    property: str
    before: Any
    after: Any
    key: str = ""

    @property
    def missing(self) -> bool:
        return self.property == ""

    @property
    def label(self) -> str:
        return f"{self.property}[{self.key}]" if self.key else self.property

    def line(self) -> str:
        """For people: ``~ AWS::IAM::Role ReadOnly: AssumeRolePolicyDocument: {"AWS": "*"} -> {"AWS": "arn:..."}``."""
        if self.missing:
            return f"+ {self.type} {self.name}: missing (deleted by hand); re-create it"
        sign = "+" if self.before is None else "-" if self.after is None else "~"
        before, after = narrow(self.before, self.after)
        return f"{sign} {self.type} {self.name}: {self.label}: {show(before)} -> {show(after)}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# --- what the template says ---------------------------------------------------------------------------


def expected_state(template: dict[str, Any], account_id: str, partition: str = "aws") -> dict[str, dict[str, Any]]:
    """logical id -> {"Type", "Name", "Properties"} as ``read_state`` reads them, for every resource the
    template owns. For the repair, managed policies and the SAML provider also carry "Arn", and users with
    a console password "PasswordSecret" (the secret's name); the secret's value is never resolved."""
    resources = owned_resources(template)
    refs: dict[str, str] = {}
    owned_arns: dict[str, str] = {}  # ARN -> logical id of the template's own managed policies
    secret_names: dict[str, str] = {}
    for logical_id, rtype, name, props in resources:
        if rtype == MANAGED_POLICY:
            refs[logical_id] = policy_arn(account_id, partition, path_of(props), name)
            owned_arns[refs[logical_id]] = logical_id
        elif rtype == SAML_PROVIDER:
            refs[logical_id] = saml_provider_arn(account_id, partition, name)
        elif rtype == SECRET:
            secret_names[logical_id] = name
        else:
            refs[logical_id] = name

    def resolve(value: Any) -> Any:
        return _resolve(value, refs, account_id, partition)

    expected: dict[str, dict[str, Any]] = {}
    members: dict[str, set[str]] = {}  # group name -> user names
    attachments: dict[str, dict[str, set[str]]] = {}  # owned policy logical id -> {"Roles": {...}, ...}

    def managed(props: dict[str, Any], key: str, principal: str) -> list[str]:
        """The principal's ManagedPolicyArns without the template's own policies (those count on the policy)."""
        arns = set()
        for arn in _string_list(resolve(props.get("ManagedPolicyArns"))):
            if arn in owned_arns:
                attachments.setdefault(owned_arns[arn], {}).setdefault(key, set()).add(principal)
            else:
                arns.add(arn)
        return sorted(arns)

    for logical_id, rtype, name, props in resources:
        if rtype == ROLE:
            expected[logical_id] = state(ROLE, name, {
                "Path": path_of(props),
                "Description": str(props.get("Description") or ""),
                "MaxSessionDuration": int(props.get("MaxSessionDuration") or DEFAULT_MAX_SESSION_DURATION),
                "AssumeRolePolicyDocument": parse_document(resolve(props.get("AssumeRolePolicyDocument"))),
                "ManagedPolicyArns": managed(props, "Roles", name),
                "Policies": _inline(resolve(props.get("Policies"))),
                "PermissionsBoundary": str(resolve(props.get("PermissionsBoundary")) or ""),
                "Tags": tag_map(resolve(props.get("Tags"))),
            })
        elif rtype == GROUP:
            expected[logical_id] = state(GROUP, name, {
                "Path": path_of(props),
                "ManagedPolicyArns": managed(props, "Groups", name),
                "Policies": _inline(resolve(props.get("Policies"))),
                "Members": [],
            })
        elif rtype == USER:
            for group in _string_list(resolve(props.get("Groups"))):
                members.setdefault(group, set()).add(name)
            expected[logical_id] = state(USER, name, {
                "Path": path_of(props),
                "ManagedPolicyArns": managed(props, "Users", name),
                "Policies": _inline(resolve(props.get("Policies"))),
                "PermissionsBoundary": str(resolve(props.get("PermissionsBoundary")) or ""),
                "Tags": tag_map(resolve(props.get("Tags"))),
                "LoginProfile": bool(props.get("LoginProfile")),
                "AccessKeys": [],
            })
            secret = _password_secret(props.get("LoginProfile"), secret_names)
            if secret:
                expected[logical_id]["PasswordSecret"] = secret
        elif rtype == MANAGED_POLICY:
            expected[logical_id] = state(MANAGED_POLICY, name, {
                "Path": path_of(props),
                "Description": str(props.get("Description") or ""),
                "PolicyDocument": parse_document(resolve(props.get("PolicyDocument"))),
                **{key: _string_list(resolve(props.get(key))) for key in ("Roles", "Groups", "Users")},
            })
            expected[logical_id]["Arn"] = refs[logical_id]
        elif rtype == SAML_PROVIDER:
            expected[logical_id] = state(SAML_PROVIDER, name, {
                "SamlMetadataDocument": str(resolve(props.get("SamlMetadataDocument")) or "").strip(),
            })
            expected[logical_id]["Arn"] = refs[logical_id]
        elif rtype == SECRET:
            expected[logical_id] = state(SECRET, name, {"Description": str(props.get("Description") or "")})
    for resource in (template.get("Resources") or {}).values():
        if resource.get("Type") == "AWS::IAM::UserToGroupAddition":
            props = resource.get("Properties") or {}
            group = resolve(props.get("GroupName"))
            members.setdefault(str(group), set()).update(_string_list(resolve(props.get("Users"))))
    for logical_id, entry in expected.items():
        if entry["Type"] == GROUP:
            entry["Properties"]["Members"] = sorted(members.get(entry["Name"], ()))
        elif entry["Type"] == MANAGED_POLICY:
            for key, principals in attachments.get(logical_id, {}).items():
                entry["Properties"][key] = sorted(set(entry["Properties"][key]) | principals)
    return expected


def _resolve(value: Any, refs: dict[str, str], account_id: str, partition: str) -> Any:
    """The intrinsics orgiam's templates use: Ref (to a resource's physical name or ARN, or a pseudo
    parameter) and Fn::Sub; anything else (a dynamic reference, an unknown name) stays as written."""
    if isinstance(value, list):
        return [_resolve(item, refs, account_id, partition) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (function, argument), = value.items()
        pseudo = {"AWS::Partition": partition, "AWS::AccountId": account_id}
        if function == "Ref" and isinstance(argument, str):
            return refs.get(argument, pseudo.get(argument, value))
        if function == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else (argument[0], argument[1] if len(argument) > 1 else {})
            if not isinstance(text, str) or "{{resolve:" in text:
                return value
            names = {**refs, **pseudo, **{k: _resolve(v, refs, account_id, partition) for k, v in (variables or {}).items()}}
            unresolved = False

            def substitute(match: re.Match[str]) -> str:
                nonlocal unresolved
                name = match.group(1)
                if name.startswith("!"):
                    return "${" + name[1:] + "}"
                if isinstance(names.get(name), str):
                    return str(names[name])
                unresolved = True
                return match.group(0)

            resolved = _SUB.sub(substitute, text)
            return value if unresolved else resolved
    return {key: _resolve(item, refs, account_id, partition) for key, item in value.items()}


def _string_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = [value] if not isinstance(value, list) else value
    return sorted({item for item in items if isinstance(item, str)})


def _inline(policies: Any) -> dict[str, Any]:
    return {str(p["PolicyName"]): parse_document(p["PolicyDocument"]) for p in policies or []}


def _password_secret(login_profile: Any, secret_names: dict[str, str]) -> str:
    """The secret a login profile's password comes from (its name), when it is a dynamic reference."""
    if not isinstance(login_profile, dict):
        return ""
    password = login_profile.get("Password")
    text = password.get("Fn::Sub") if isinstance(password, dict) else password
    if not isinstance(text, str):
        return ""
    match = _PASSWORD_SECRET.search(text)
    if not match:
        return ""
    return secret_names.get(match.group(1), "") if match.group(1) else match.group(2)


# --- comparing ----------------------------------------------------------------------------------------


def documents_equal(left: Any, right: Any) -> bool:
    """Two policy documents (or parts of one) mean the same to IAM."""
    if left == right:
        return True
    if left is None or right is None:
        return False
    try:
        return not compare_policies(left, right, default_version=None)
    except Exception:  # shapes compare_policies cannot order (mixed types): plain equality said no
        return False


def compare(expected: dict[str, dict[str, Any]], live: dict[str, dict[str, Any] | None]) -> list[Drift]:
    """Every difference between what the template says and what IAM holds, in the template's order.
    A logical id absent from ``live`` was not read and is not compared; None means the resource is gone."""
    drifts: list[Drift] = []
    for logical_id, want in expected.items():
        if logical_id not in live:
            continue
        rtype, name = want["Type"], want["Name"]
        have = live[logical_id]
        if have is None:
            drifts.append(Drift(logical_id, rtype, name, "", None, want["Properties"]))
            continue
        for prop, after in want["Properties"].items():
            before = have["Properties"].get(prop)
            if prop in MAPS:
                drifts += _compare_map(logical_id, rtype, name, prop, before or {}, after or {})
            elif not _same(prop, before, after):
                drifts.append(Drift(logical_id, rtype, name, prop, before, after))
    return drifts


def _same(prop: str, before: Any, after: Any) -> bool:
    if prop in DOCUMENTS:
        return documents_equal(before, after)
    if isinstance(after, list) and isinstance(before, list):
        return sorted(before) == sorted(after)
    if isinstance(after, str) and isinstance(before, str):
        return before.strip() == after.strip() if prop == "SamlMetadataDocument" else before == after
    return bool(before == after)


def _compare_map(logical_id: str, rtype: str, name: str, prop: str, before: dict[str, Any], after: dict[str, Any]) -> list[Drift]:
    if prop == "Tags":
        before = {k: v for k, v in before.items() if k in after or not (k in STACK_TAGS or k.startswith("aws:"))}
    drifts = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        same = documents_equal(old, new) if prop == "Policies" else old == new
        if not same:
            drifts.append(Drift(logical_id, rtype, name, prop, old, new, key))
    return drifts


# --- showing ------------------------------------------------------------------------------------------


def narrow(before: Any, after: Any) -> tuple[Any, Any]:
    """The smallest part of two documents that holds their difference: {"AWS": "*"} and {"AWS": "arn:..."}
    rather than two whole trust policies. Where a difference is in several keys of one object, that object
    with only those keys."""
    while True:
        if isinstance(before, dict) and isinstance(after, dict):
            keys = [k for k in after if k not in before or not documents_equal(before[k], after[k])]
            keys += [k for k in before if k not in after]
            if len(keys) == 1 and keys[0] in before and keys[0] in after \
                    and isinstance(before[keys[0]], (dict, list)) and isinstance(after[keys[0]], (dict, list)):
                before, after = before[keys[0]], after[keys[0]]
                continue
            if len(keys) == len(set(before) | set(after)):
                return before, after
            return {k: v for k, v in before.items() if k in keys}, {k: v for k, v in after.items() if k in keys}
        if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
            differing = [i for i in range(len(before)) if not documents_equal(before[i], after[i])]
            if len(differing) == 1 and isinstance(before[differing[0]], (dict, list)) \
                    and isinstance(after[differing[0]], (dict, list)):
                before, after = before[differing[0]], after[differing[0]]
                continue
        return before, after


def show(value: Any, limit: int = SHOWN_CHARS) -> str:
    """A value in one line of compact JSON; a long one is shortened after a whole element, never inside a
    string (an ARN is shown whole or not at all)."""
    if value is None:
        return "(none)"
    if isinstance(value, str) and len(value) > limit and not value.startswith("arn:"):
        digest = hashlib.sha256(value.encode()).hexdigest()[:12]
        return f"{json.dumps(value[:60])[:-1]}...\" ({len(value)} characters, sha256 {digest})"
    text = json.dumps(value, sort_keys=False, default=str)
    if len(text) <= limit:
        return text
    cut, in_string, escaped = 0, False, False
    for index, char in enumerate(text):
        if index >= limit:
            break
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char == ",":
            cut = index
    if cut == 0:  # one element longer than the limit: show it whole
        return text
    return text[:cut] + ", ..."

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who else in the central account may assume orgiam's roles: reported, never changed.

Every member role trusts the central account as a whole (its root), so any principal of the central
account whose own policies allow ``sts:AssumeRole`` on a role orgiam deploys can assume it (with MFA,
where the role asks for it), not only orgiam's groups. orgiam does not own those principals and never
touches them; live verification reports them, so that a person decides.

Pure: the account's authorization details (``iam:GetAccountAuthorizationDetails``) in, findings out.
Only Allow statements are read: an explicit Deny elsewhere, a permissions boundary or an SCP may still
stop the access, which the finding says.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any, Iterable
from urllib.parse import unquote

ASSUME = "sts:assumerole"
KINDS = (("user", "UserDetailList", "UserPolicyList", "UserName"), ("group", "GroupDetailList", "GroupPolicyList", "GroupName"),
         ("role", "RoleDetailList", "RolePolicyList", "RoleName"))
MAX_SHOWN = 3


def document(value: Any) -> dict[str, Any]:
    """A policy document as IAM gives it: a dict, or (from AWS) URL-encoded JSON text."""
    if isinstance(value, dict):
        return value
    if isinstance(value, str):
        try:
            return json.loads(unquote(value))
        except ValueError:
            return {}
    return {}


def default_versions(policies: Iterable[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """ARN -> default version's document, from the ``Policies`` of the authorization details."""
    found = {}
    for policy in policies:
        for version in policy.get("PolicyVersionList") or []:
            if version.get("IsDefaultVersion"):
                found[str(policy.get("Arn", ""))] = document(version.get("Document"))
    return found


def _listed(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in value or []]


def _matches(patterns: list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value, p) for p in patterns)


def allowed_roles(doc: dict[str, Any], role_arns: list[str]) -> list[str]:
    """The role ARNs that the Allow statements of ``doc`` let its holder assume."""
    statements = doc.get("Statement") or []
    if isinstance(statements, dict):
        statements = [statements]
    allowed: set[str] = set()
    for statement in statements:
        if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
            continue
        if "Action" in statement:
            acts = _matches([a.lower() for a in _listed(statement["Action"])], ASSUME)
        else:
            acts = not _matches([a.lower() for a in _listed(statement.get("NotAction"))], ASSUME)
        if not acts:
            continue
        if "Resource" in statement:
            patterns = _listed(statement["Resource"])
            allowed.update(a for a in role_arns if _matches(patterns, a))
        else:
            excluded = _listed(statement.get("NotResource"))
            allowed.update(a for a in role_arns if not _matches(excluded, a))
    return sorted(allowed)


def outside_access(details: dict[str, Any], owned_path: str, role_arns: list[str],
                   managed: dict[str, dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Principals outside ``owned_path`` (orgiam's own) allowed to assume any of ``role_arns``.

    ``managed``: documents of AWS managed policies attached to such principals (ARN -> document), which the
    authorization details leave out. One finding per principal and policy."""
    documents = dict(managed or {})
    documents.update(default_versions(details.get("Policies") or []))
    findings = []
    for kind, list_key, inline_key, name_key in KINDS:
        for item in details.get(list_key) or []:
            if str(item.get("Path", "/")).startswith(owned_path):
                continue  # orgiam's own groups, users and federated roles: checked as drift
            policies = [(f"inline policy {p.get('PolicyName')}", document(p.get("PolicyDocument"))) for p in item.get(inline_key) or []]
            policies += [(f"managed policy {a.get('PolicyName')}", documents.get(str(a.get("PolicyArn")), {}))
                         for a in item.get("AttachedManagedPolicies") or []]
            for via, doc in policies:
                roles = allowed_roles(doc, role_arns)
                if roles:
                    findings.append({
                        "principal": str(item.get("Arn", "")), "kind": kind, "name": str(item.get(name_key, "")), "via": via,
                        "roles": roles[:MAX_SHOWN], "count": len(roles),
                        "line": f"{kind} {item.get(name_key)} may assume {len(roles)} of orgiam's role(s) through its {via} "
                                f"(e.g. {roles[0]}); orgiam does not own it and changes nothing: review it "
                                "(an explicit Deny, a boundary or an SCP may still stop it)",
                    })
    return findings


def attached_aws_policies(details: dict[str, Any], owned_path: str) -> list[str]:
    """ARNs of AWS managed policies attached to principals outside ``owned_path``: their documents are read apart."""
    arns = set()
    for _, list_key, _, _ in KINDS:
        for item in details.get(list_key) or []:
            if not str(item.get("Path", "/")).startswith(owned_path):
                arns.update(str(a.get("PolicyArn")) for a in item.get("AttachedManagedPolicies") or []
                            if ":iam::aws:policy/" in str(a.get("PolicyArn")))
    return sorted(arns)

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who may assume which role in which account, read from a deployed or desired template, and who gains or
loses what between two of them.

A plan says this in people's terms: "platform-engineers gains ReadOnly in Payments Prod". The central stack
(modes iam_users and saml) says it with its groups' (or federated roles') assume-role policies and its users'
groups; the Identity Center stack with its account assignments. Pure functions over templates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from ..render.identity_center import access_of as center_access

GAINS, LOSES = "gains", "loses"


@dataclass
class Access:
    """group -> {(role, account id)}, and user -> {group} (users reach what their groups reach)."""

    groups: dict[str, set[tuple[str, str]]] = field(default_factory=dict)
    users: dict[str, set[str]] = field(default_factory=dict)

    def of_user(self, user: str) -> set[tuple[str, str]]:
        reached: set[tuple[str, str]] = set()
        for group in self.users.get(user, ()):
            reached |= self.groups.get(group, set())
        return reached


def _role_and_account(arn: str) -> tuple[str, str] | None:
    parts = arn.split(":")
    if len(parts) < 6 or not parts[5].startswith("role/"):
        return None
    return parts[5].rsplit("/", 1)[1], parts[4]


def _refs(value: Any) -> list[str]:
    return [v["Ref"] for v in value or [] if isinstance(v, dict) and "Ref" in v]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def central_access(template: dict[str, Any] | None) -> Access:
    """Access as the central stack's template gives it: each group's (or federated role's) assume-role policies."""
    access = Access()
    if not template:
        return access
    resources = template.get("Resources") or {}
    principals: dict[str, str] = {}
    for logical, resource in resources.items():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::IAM::Group" and logical != "UsersGroup":
            principals[logical] = str(props.get("GroupName", logical))
        elif resource.get("Type") == "AWS::IAM::Role":  # saml: one federated role per group, named after it
            principals[logical] = str(props.get("RoleName", logical))
    for logical in principals:
        access.groups.setdefault(principals[logical], set())
    for resource in resources.values():
        props = resource.get("Properties") or {}
        if resource.get("Type") == "AWS::IAM::ManagedPolicy":
            arns: list[str] = []
            for statement in _listed((props.get("PolicyDocument") or {}).get("Statement", [])):
                if isinstance(statement, dict) and statement.get("Effect") == "Allow" and "sts:AssumeRole" in _listed(statement.get("Action")):
                    arns += [str(a) for a in _listed(statement.get("Resource", []))]
            reached = {pair for pair in map(_role_and_account, arns) if pair is not None}
            for ref in _refs(props.get("Groups")) + _refs(props.get("Roles")):
                if ref in principals:
                    access.groups[principals[ref]] |= reached
        elif resource.get("Type") == "AWS::IAM::User":
            access.users[str(props.get("UserName"))] = {principals[r] for r in _refs(props.get("Groups")) if r in principals}
    return access


def identity_center_access(template: dict[str, Any] | None) -> Access:
    access = Access()
    for group, role, account in center_access(template):
        access.groups.setdefault(group, set()).add((role, account))
    return access


def access_changes(before: Access, after: Access) -> list[dict[str, str]]:
    """Every (who, role, account) gained or lost: groups, then users whose reach changed through their groups."""
    changes: list[dict[str, str]] = []
    for group in sorted(set(before.groups) | set(after.groups)):
        old, new = before.groups.get(group, set()), after.groups.get(group, set())
        changes += _entries("group", group, "", new - old, old - new)
    for user in sorted(set(before.users) | set(after.users)):
        old, new = before.of_user(user), after.of_user(user)
        joined = sorted(after.users.get(user, set()) - before.users.get(user, set()))
        left = sorted(before.users.get(user, set()) - after.users.get(user, set()))
        changes += _entries("user", user, ", ".join(joined or left), new - old, old - new)
    return changes


def _entries(kind: str, who: str, via: str, gained: set[tuple[str, str]], lost: set[tuple[str, str]]) -> list[dict[str, str]]:
    rows = []
    for change, pairs in ((GAINS, gained), (LOSES, lost)):
        for role, account in sorted(pairs):
            rows.append({"principal_type": kind, "principal": who, "change": change, "role": role,
                         "account_id": account, "via": via})
    return rows


def change_lines(changes: Iterable[dict[str, str]], names: dict[str, str], limit: int = 12) -> list[str]:
    """'platform-engineers gains ReadOnly in Payments Prod (875983725869), Dev (...)': one line a principal,
    change and role, with the accounts named; at most ``limit`` accounts written out on a line."""
    grouped: dict[tuple[str, str, str, str, str], list[str]] = {}
    for c in changes:
        key = (c["principal_type"], c["principal"], c["change"], c["role"], c.get("via", ""))
        grouped.setdefault(key, []).append(c["account_id"])
    lines = []
    for (kind, who, change, role, via), accounts in grouped.items():
        shown = [f"{names.get(a, a)} ({a})" if names.get(a) else a for a in sorted(accounts, key=lambda a: names.get(a, a).lower())]
        more = f" and {len(shown) - limit} more" if len(shown) > limit else ""
        through = f" (through {'joining' if change == GAINS else 'leaving'} {via})" if kind == "user" and via else ""
        label = "group" if kind == "group" else "user"
        lines.append(f"access: {label} {who} {change} {role} in {', '.join(shown[:limit])}{more}{through}")
    return lines

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Plan: what to do with one stack, given what is deployed and what is desired.

Pure: no AWS call. The observed stack comes from ``stacks.describe_stack``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .templates import HASH_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE

STABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE", "IMPORT_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}
FAILED_CREATE = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED"}
NEEDS_CONTINUE = {"UPDATE_ROLLBACK_FAILED"}
DELETE_FAILED = {"DELETE_FAILED"}

# actions
NOOP = "none"
CREATE = "create"
UPDATE = "update"
DELETE = "delete"
RECREATE = "recreate"  # delete a stack whose create failed, then create it again
CONTINUE_AND_UPDATE = "continue-rollback-then-update"
RETAIN = "retain"  # would delete, but the prune policy says not to
WAIT = "wait"  # an operation is in progress; wait for it, then plan again
REFUSE = "refuse"  # a stack orgiam does not own sits where orgiam would deploy

CHANGING = {CREATE, UPDATE, DELETE, RECREATE, CONTINUE_AND_UPDATE}


@dataclass(frozen=True)
class StackState:
    name: str
    status: str
    tags: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    stack_id: str = ""
    status_reason: str = ""

    @property
    def managed_by_orgiam(self) -> bool:
        return self.tags.get(MANAGED_BY_TAG) == MANAGED_BY_VALUE

    @property
    def template_hash(self) -> str:
        return self.tags.get(HASH_TAG, "")


@dataclass(frozen=True)
class Decision:
    action: str
    reason: str

    @property
    def changes(self) -> bool:
        return self.action in CHANGING


def decide(observed: StackState | None, desired_hash: str | None, prune: str) -> Decision:
    """What to do. ``desired_hash`` None means the account should have no stack."""
    if observed is not None and not observed.managed_by_orgiam:
        if desired_hash is None:
            return Decision(NOOP, f"stack {observed.name} is not orgiam's; left alone")
        return Decision(
            REFUSE,
            f"stack {observed.name} exists but orgiam did not create it (no {MANAGED_BY_TAG} tag); "
            "rename or remove it, or change stack_prefix in settings.yml",
        )
    if desired_hash is None:
        if observed is None:
            return Decision(NOOP, "no roles target this account")
        if prune == "apply":
            return Decision(DELETE, "no roles target this account any more (prune: apply)")
        return Decision(RETAIN, f"no roles target this account any more; kept because prune is '{prune}'")
    if observed is None:
        return Decision(CREATE, "new stack")
    status = observed.status
    if status.endswith("_IN_PROGRESS"):
        return Decision(WAIT, f"stack is {status}")
    if status in FAILED_CREATE:
        return Decision(RECREATE, f"stack is {status} after a failed create; delete and create again")
    if status in NEEDS_CONTINUE:
        return Decision(CONTINUE_AND_UPDATE, f"stack is {status}; continue the rollback, then update")
    if status in DELETE_FAILED:
        return Decision(RECREATE, f"stack is {status}; retry the delete, then create")
    if status in STABLE:
        if observed.template_hash == desired_hash:
            return Decision(NOOP, "up to date")
        return Decision(UPDATE, "template or parameters changed")
    return Decision(REFUSE, f"stack is in an unexpected state {status}")


def template_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, list[str]]:
    """Resource-level changes between two templates: logical ids added, modified, removed."""
    old = (before or {}).get("Resources", {})
    new = (after or {}).get("Resources", {})
    return {
        "add": sorted(k for k in new if k not in old),
        "modify": sorted(k for k in new if k in old and new[k] != old[k]),
        "remove": sorted(k for k in old if k not in new),
    }


POLICY_KEYS = ("PolicyDocument", "AssumeRolePolicyDocument")


def _statements(document: Any) -> dict[str, Any]:
    if not isinstance(document, dict):
        return {}
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    return {json.dumps(s, sort_keys=True): s for s in statements}


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 160 else text[:157] + "..."


def _property_lines(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    lines = []
    for key in sorted(set(old) | set(new)):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if key in POLICY_KEYS:
            was, now = _statements(before), _statements(after)
            lines += [f"{key}: + statement {_short(now[s])}" for s in now if s not in was]
            lines += [f"{key}: - statement {_short(was[s])}" for s in was if s not in now]
        elif key == "Policies":
            was = {p["PolicyName"]: p["PolicyDocument"] for p in before or []}
            now = {p["PolicyName"]: p["PolicyDocument"] for p in after or []}
            for name in sorted(set(was) | set(now)):
                if name not in was:
                    lines.append(f"inline policy {name}: added")
                elif name not in now:
                    lines.append(f"inline policy {name}: removed")
                elif was[name] != now[name]:
                    a, b = _statements(was[name]), _statements(now[name])
                    lines += [f"inline policy {name}: + statement {_short(b[s])}" for s in b if s not in a]
                    lines += [f"inline policy {name}: - statement {_short(a[s])}" for s in a if s not in b]
        elif isinstance(before, list) and isinstance(after, list) and all(isinstance(v, str) for v in before + after):
            added = [v for v in after if v not in before]
            removed = [v for v in before if v not in after]
            lines.append(f"{key}: " + ", ".join([f"+ {v}" for v in added] + [f"- {v}" for v in removed]))
        elif before is None:
            lines.append(f"{key}: set to {_short(after)}")
        elif after is None:
            lines.append(f"{key}: removed (was {_short(before)})")
        else:
            lines.append(f"{key}: {_short(before)} -> {_short(after)}")
    return lines


def _label(resource: dict[str, Any]) -> str:
    props = resource.get("Properties", {})
    name = next((props[k] for k in ("RoleName", "GroupName", "UserName", "ManagedPolicyName", "Name") if k in props), "")
    return f"{resource.get('Type', '?')} {name}".strip()


def describe_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """Readable resource- and statement-level changes between two templates."""
    old = (before or {}).get("Resources", {})
    new = (after or {}).get("Resources", {})
    lines = []
    for logical in sorted(set(old) | set(new)):
        if logical not in old:
            lines.append(f"+ {_label(new[logical])}")
            if new[logical].get("Type") in ("AWS::IAM::ManagedPolicy",):
                lines += [f"    {line}" for line in _property_lines({}, {"PolicyDocument": new[logical]["Properties"].get("PolicyDocument")})]
        elif logical not in new:
            lines.append(f"- {_label(old[logical])}")
        elif old[logical] != new[logical]:
            lines.append(f"~ {_label(new[logical])}")
            lines += [f"    {line}" for line in _property_lines(old[logical].get("Properties", {}), new[logical].get("Properties", {}))]
    return lines

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Diff: what changes between a deployed template and a desired one, as people read it.

Pure: templates in, lines out. Resource-level changes (added, modified, removed logical ids) and,
inside IAM resources, statement-level changes of every policy document; for templates orgiam does
not render itself (bootstrap's files), the text with its parameters.
"""

from __future__ import annotations

import json
from typing import Any


def template_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, list[str]]:
    """Resource-level changes between two templates: logical ids added, modified, removed, and those whose
    type changes ("replace"), which CloudFormation cannot update in place."""
    old = (before or {}).get("Resources", {})
    new = (after or {}).get("Resources", {})
    retyped = set(type_changes(before, after))
    return {
        "add": sorted(k for k in new if k not in old),
        "modify": sorted(k for k in new if k in old and new[k] != old[k] and k not in retyped),
        "replace": sorted(retyped),
        "remove": sorted(k for k in old if k not in new),
    }


def type_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, tuple[str, str]]:
    """Logical ids whose resource type differs between two templates: {id: (old type, new type)}.

    CloudFormation refuses such an update ("Update of resource type is not permitted"); switching the
    identity mode from iam_users to saml turns each group into a federated role under the same id."""
    old = (before or {}).get("Resources", {})
    new = (after or {}).get("Resources", {})
    return {k: (old[k].get("Type", ""), new[k].get("Type", "")) for k in sorted(set(old) & set(new))
            if old[k].get("Type") != new[k].get("Type")}


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
    if resource.get("Type") == "AWS::SSO::Assignment":  # which permission set, to whom, where
        ref = props.get("PermissionSetArn")
        target = ref.get("Fn::GetAtt", ["?"])[0] if isinstance(ref, dict) else ref
        name = f"{target} -> {str(props.get('PrincipalType', '')).lower()} {props.get('PrincipalId', '')} in {props.get('TargetId', '')}"
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
        elif old[logical].get("Type") != new[logical].get("Type"):
            lines.append(f"± {_label(old[logical])} -> {_label(new[logical])}: replaced, not modified "
                         "(CloudFormation cannot change a resource's type in place)")
        elif old[logical] != new[logical]:
            lines.append(f"~ {_label(new[logical])}")
            lines += [f"    {line}" for line in _property_lines(old[logical].get("Properties", {}), new[logical].get("Properties", {}))]
    return lines


def render_text(parameters: dict[str, str], body: str) -> str:
    """A template file and its parameters as people read them in a diff."""
    lines = ["# parameters"] + [f"{k}: {v}" for k, v in sorted(parameters.items())] + ["# template", body.rstrip()]
    return "\n".join(lines) + "\n"


def pretty(template: dict[str, Any] | None) -> str:
    return "" if template is None else json.dumps(template, indent=2, sort_keys=True) + "\n"


def diff_entry(where: str, before: str, after: str) -> dict[str, str]:
    """One entry of Ansible's --diff: deployed against desired."""
    return {"before_header": f"{where} (deployed)", "after_header": f"{where} (desired)", "before": before, "after": after}

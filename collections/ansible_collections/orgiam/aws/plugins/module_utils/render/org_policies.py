# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The organization policies stack: one ``AWS::Organizations::Policy`` per catalog policy, with its targets.

Deployed as ``<prefix>-organization-policies`` in the management account. CloudFormation owns exactly the
policies of the catalog: AWS's ``FullAWSAccess``, and any policy made by hand or by another tool, are not
in the template, so no update ever changes or detaches them. The template's Metadata keeps, for each
target id, the name people know it by (``root``, an OU path, an account name): the plan's diff and its
"gains"/"loses" lines read them from the deployed and the desired template alike.
"""

from __future__ import annotations

from typing import Any

from ..catalog.policies import OrgPolicy, Placement
from ..model import MANAGED_BY_TAG, MANAGED_BY_VALUE
from .common import logical_id

TARGET_NAMES = "OrgiamTargets"


def org_policies_template(policies: tuple[OrgPolicy, ...], placement: Placement) -> dict[str, Any]:
    resources: dict[str, Any] = {}
    used: set[str] = set()
    for policy in sorted(policies, key=lambda p: (p.kind, p.name)):
        targets = list(placement.targets.get(policy.name, ()))
        used.update(targets)
        properties: dict[str, Any] = {
            "Name": policy.name,
            "Type": policy.policy_type,
            "Content": policy.document,
            "TargetIds": targets,
            "Tags": [{"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE}],
        }
        if policy.description:
            properties["Description"] = policy.description
        resources[logical_id("OrgPolicy", f"{policy.kind}-{policy.name}")] = {
            "Type": "AWS::Organizations::Policy", "Properties": properties}
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Description": "orgiam: the organization policies (SCPs, RCPs) of the catalog and their targets",
        "Metadata": {TARGET_NAMES: {target: placement.names.get(target, target) for target in sorted(used)}},
        "Resources": resources,
    }


def attachments(template: dict[str, Any] | None) -> dict[str, tuple[str, set[str]]]:
    """policy name -> (policy type, target ids), of a template of this module (None: nothing)."""
    found: dict[str, tuple[str, set[str]]] = {}
    for resource in ((template or {}).get("Resources") or {}).values():
        if resource.get("Type") == "AWS::Organizations::Policy":
            properties = resource.get("Properties") or {}
            found[str(properties.get("Name"))] = (str(properties.get("Type")), set(properties.get("TargetIds") or ()))
    return found


def target_changes(before: dict[str, Any] | None, after: dict[str, Any] | None) -> list[str]:
    """"policy: + target, - target" lines: which targets gain or lose which policy."""
    names = {**((before or {}).get("Metadata") or {}).get(TARGET_NAMES, {}),
             **((after or {}).get("Metadata") or {}).get(TARGET_NAMES, {})}
    old, new = attachments(before), attachments(after)
    lines = []
    for name in sorted(set(old) | set(new)):
        kind = (new.get(name) or old.get(name))[0].replace("_POLICY", "").replace("_", " ").lower()
        gained = sorted(new.get(name, ("", set()))[1] - old.get(name, ("", set()))[1])
        lost = sorted(old.get(name, ("", set()))[1] - new.get(name, ("", set()))[1])
        changes = [f"+ {names.get(t, t)}" for t in gained] + [f"- {names.get(t, t)}" for t in lost]
        if name not in old:
            lines.append(f"{kind} policy {name}: new, attached to " + ", ".join(names.get(t, t) for t in sorted(new[name][1])))
        elif name not in new:
            lines.append(f"{kind} policy {name}: removed, detached from " + ", ".join(names.get(t, t) for t in sorted(old[name][1])))
        elif changes:
            lines.append(f"{kind} policy {name}: " + ", ".join(changes))
    return lines

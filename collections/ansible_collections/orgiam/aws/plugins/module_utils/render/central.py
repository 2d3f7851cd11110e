# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The central (identity) stack: one principal per identity group, with customer managed policies that
allow ``sts:AssumeRole`` on exactly the role ARNs deployed.

What a principal is (an IAM group, a federated role) and what else the stack holds comes from the
identity backend (``render/identity.py``). The ARNs the stack was built from travel in its Metadata,
so that a run limited to some accounts keeps the grants of the others.
"""

from __future__ import annotations

from typing import Any

from ..catalog import canonical_json
from ..catalog.identity import Identity
from .common import GRANTS_METADATA, MANAGED_POLICY_MAX_CHARS, MAX_POLICIES_PER_GROUP, POLICY_VERSION, TEMPLATE_VERSION, TemplateError, logical_id
from .identity import backend_for

ACCOUNT_SLOT = "{account}"
IDENTITY_MODE_OUTPUT = "OrgiamIdentityMode"


def _assume_document(arns: list[str], mfa: bool) -> dict[str, Any]:
    statement: dict[str, Any] = {"Sid": "AssumeOrgiamRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": arns}
    if mfa:
        statement["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    return {"Version": POLICY_VERSION, "Statement": [statement]}


def chunk_assume_policies(arns: list[str], mfa: bool) -> list[dict[str, Any]]:
    """Split the ARNs into as few managed policy documents as IAM's size quota allows."""
    documents: list[dict[str, Any]] = []
    current: list[str] = []
    for arn in sorted(arns):
        candidate = current + [arn]
        if current and len(canonical_json(_assume_document(candidate, mfa))) > MANAGED_POLICY_MAX_CHARS:
            documents.append(_assume_document(current, mfa))
            current = [arn]
        else:
            current = candidate
    if current:
        documents.append(_assume_document(current, mfa))
    return documents


def central_template(
    group_arns: dict[str, list[str]],
    deployed: dict[str, list[str]],
    identity: Identity,
    prefix: str,
    group_path: str,
    mfa_by_role: dict[str, bool] | None = None,
) -> dict[str, Any]:
    """The central account's stack.

    ``group_arns``: group name -> role ARNs its members may assume (already scoped);
    ``deployed``: role name -> ARNs that exist (kept in Metadata, so that a run
    limited to some accounts keeps the others' grants).
    """
    backend = backend_for(identity.iam_mode or "iam_users")
    mfa_by_role = mfa_by_role or {}
    # roles trusted by machines have no group, and people of the central account cannot assume them: they are not
    # kept here, so that nothing of the central stack (nor its exposure report) names them
    deployed = {name: arns for name, arns in deployed.items() if name not in identity.machine_roles}
    resources, outputs = backend.extra(identity, prefix, group_path)
    for group in sorted(identity.groups, key=lambda g: g.name):
        group_id = logical_id("Group", group.name)
        resources[group_id] = backend.principal(group, identity, group_path)
        arns = sorted(set(group_arns.get(group.name, [])))
        if not arns:
            continue
        documents = chunk_assume_policies(arns, backend.grants_need_mfa(group, mfa_by_role))
        room = MAX_POLICIES_PER_GROUP - len(group.managed_policies)
        if len(documents) > room:
            own = f" besides its own {len(group.managed_policies)} (managed_policies)" if group.managed_policies else ""
            raise TemplateError(
                f"group '{group.name}' grants {len(arns)} role ARNs; that needs {len(documents)} managed policies{own}, "
                f"more than the {MAX_POLICIES_PER_GROUP} IAM allows: split it with scopes in identity.yml"
            )
        for index, document in enumerate(documents, start=1):
            resources[logical_id(f"Assume{index}", group.name)] = {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {
                    "ManagedPolicyName": f"{group.name}-assume-{index}",  # the catalog keeps group names to 118
                    "Path": group_path,
                    "Description": f"orgiam: lets {group.name} assume its roles in the accounts that have them",
                    "PolicyDocument": document,
                    backend.attach_key: [{"Ref": group_id}],
                },
            }
    template: dict[str, Any] = {
        "AWSTemplateFormatVersion": TEMPLATE_VERSION,
        "Description": "orgiam: central groups whose members may assume orgiam roles. Managed by orgiam; change roles_catalog/, not this stack.",
        "Metadata": {GRANTS_METADATA: compact_grants(deployed)},
        "Resources": resources or {"Placeholder": {"Type": "AWS::CloudFormation::WaitConditionHandle"}},
    }
    # the mode the stack was made for: a run of another mode is refused before it writes (usecases/sync.py)
    template["Outputs"] = dict(outputs, **{IDENTITY_MODE_OUTPUT: {"Value": identity.iam_mode or identity.mode}})
    return template


def compact_grants(deployed: dict[str, list[str]]) -> dict[str, dict[str, str]]:
    """role -> {ARN pattern with {account}: comma-separated account ids}: about 13 bytes an account."""
    compact: dict[str, dict[str, str]] = {}
    for role_name, arns in sorted(deployed.items()):
        patterns: dict[str, list[str]] = {}
        for arn in sorted(set(arns)):
            parts = arn.split(":")
            account = parts[4]
            parts[4] = ACCOUNT_SLOT
            patterns.setdefault(":".join(parts), []).append(account)
        if patterns:
            compact[role_name] = {pattern: ",".join(accounts) for pattern, accounts in sorted(patterns.items())}
    return compact


def grants_from_template(template: dict[str, Any] | None) -> dict[str, list[str]]:
    """The deployed role ARNs the central stack was built from (see compact_grants)."""
    if not template:
        return {}
    stored = template.get("Metadata", {}).get(GRANTS_METADATA) or {}
    return {
        role_name: sorted(pattern.replace(ACCOUNT_SLOT, account) for pattern, accounts in patterns.items() for account in accounts.split(",") if account)
        for role_name, patterns in stored.items()
    }

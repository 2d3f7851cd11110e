# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Who can get into which account as what: the access document behind the access report
(report/access_page.py) and the CLI profiles (report/profiles.py).

It is read from what is deployed, not from the catalog: the central stack's template (its groups' assume-role
policies and its users' groups; modes iam_users and saml) and the Identity Center stack's account assignments,
with each Identity Center group's members read from the identity store. A sync passes the templates it has
just deployed or found up to date (no extra call); ``read_deployed`` reads them for playbooks/report.yml.

One row is one access path: a group reaching a role in an account, or a user reaching it through a group.
``mfa_required`` is True when the central account's policy asks for MFA (iam_users), and None where the
identity provider or Identity Center decides it at sign-in (saml, identity_center).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ..aws.cloudformation import get_template
from ..aws.errors import error_code
from ..aws.session import AwsClients
from ..catalog import Catalog
from ..plan.access import Access, central_access, identity_center_access
from ..render.identity import FEDERATED_PATH, federated_role_name
from ..resolve import Resolution

HOW = {
    "iam_users": "IAM user of {central}: sts:AssumeRole into the account's role",
    "saml": "identity provider sign-in to {central}, then sts:AssumeRole",
    "identity_center": "Identity Center permission set (aws sso login)",
}


def role_arns(catalog: Catalog, resolution: Resolution, partition: str) -> dict[tuple[str, str], str]:
    """(role, account id) -> the role's ARN there, for every role the catalog targets."""
    return {(role.name, account_id): f"arn:{partition}:iam::{account_id}:role{role.path}{role.name}"
            for account_id, roles in resolution.roles_by_account.items() for role in roles}


def access_document(
    catalog: Catalog,
    resolution: Resolution,
    *,
    organization_id: str,
    partition: str,
    source: str,
    central_template: dict[str, Any] | None,
    center_template: dict[str, Any] | None = None,
    center_members: dict[str, list[str]] | None = None,
    center: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The access document (report/access_page.py's contract) from the deployed templates (pure)."""
    central = resolution.central
    paths: list[tuple[str, Access]] = []
    iam_mode = catalog.identity.iam_mode
    if iam_mode and central_template:
        paths.append((iam_mode, central_access(central_template)))
    if catalog.identity.uses_identity_center and center_template:
        center_access = identity_center_access(center_template)
        center_access.users = {}
        for group, members in (center_members or {}).items():
            for user in members:
                center_access.users.setdefault(user, set()).add(group)
        paths.append(("identity_center", center_access))
    arns = role_arns(catalog, resolution, partition)
    mfa_roles = {r.name: r.mfa_required for r in catalog.roles}
    rows: list[dict[str, Any]] = []
    principals: dict[tuple[str, str], dict[str, Any]] = {}
    for how, access in paths:
        members: dict[str, list[str]] = {}
        for user, groups in access.users.items():
            for group in groups:
                members.setdefault(group, []).append(user)
        for group, reached in sorted(access.groups.items()):
            entry = principals.setdefault(("group", group), {"type": "group", "name": group, "members": []})
            entry["members"] = sorted(set(entry["members"]) | set(members.get(group, [])))
            for role, account_id in sorted(reached):
                rows.append(_row("group", group, "", role, account_id, how, resolution, arns, mfa_roles, central.id, partition))
        for user, groups in sorted(access.users.items()):
            entry = principals.setdefault(("user", user), {"type": "user", "name": user, "groups": []})
            entry["groups"] = sorted(set(entry["groups"]) | set(groups))
            for group in sorted(groups):
                for role, account_id in sorted(access.groups.get(group, set())):
                    rows.append(_row("user", user, group, role, account_id, how, resolution, arns, mfa_roles, central.id, partition))
    document: dict[str, Any] = {
        "generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "organization_id": organization_id,
        "mode": catalog.identity.mode,
        "source": source,
        "central_account": {"id": central.id, "name": central.name},
        "accounts": [{"id": a.id, "name": a.name, "ou_path": a.ou_path, "status": a.status}
                     for a in sorted(resolution.accounts.values(), key=lambda a: (a.ou_path.lower(), a.name.lower()))],
        "principals": [principals[k] for k in sorted(principals)],
        "rows": rows,
    }
    if center:
        document["identity_center"] = dict(center)
    return document


def _row(kind: str, who: str, via: str, role: str, account_id: str, how: str, resolution: Resolution,
         arns: dict[tuple[str, str], str], mfa_roles: dict[str, bool], central_id: str, partition: str) -> dict[str, Any]:
    account = resolution.accounts.get(account_id)
    row: dict[str, Any] = {
        "principal_type": kind, "principal": who, "via": via, "account_id": account_id,
        "account_name": account.name if account else account_id, "ou_path": account.ou_path if account else "",
        "role": role,
        # MFA: the central account asks for it (iam_users, both the group's policy and the role's trust); the
        # identity provider or Identity Center decides it at sign-in otherwise
        "mfa_required": mfa_roles.get(role, True) if how == "iam_users" else None,
        "how": HOW[how].format(central=central_id),
        "access_mode": how,
    }
    if how == "identity_center":
        row["permission_set"] = role
    else:
        row["role_arn"] = arns.get((role, account_id), f"arn:{partition}:iam::{account_id}:role/{role}")
        if how == "saml":
            group = via or who
            row["source_role_arn"] = f"arn:{partition}:iam::{central_id}:role{FEDERATED_PATH}{federated_role_name(group)}"
    return row


def center_members(clients: AwsClients, account_id: str, region: str, identity_store_id: str,
                   group_ids: dict[str, str]) -> dict[str, list[str]]:
    """group display name -> user names of its members, from the identity store (reads only)."""
    ids = clients.member_client("identitystore", account_id, region)
    names: dict[str, str] = {}
    members: dict[str, list[str]] = {}
    for group, group_id in sorted(group_ids.items()):
        found = []
        pages = ids.get_paginator("list_group_memberships").paginate(IdentityStoreId=identity_store_id, GroupId=group_id)
        for page in pages:
            for membership in page["GroupMemberships"]:
                user_id = (membership.get("MemberId") or {}).get("UserId")
                if not user_id:
                    continue
                if user_id not in names:
                    try:
                        names[user_id] = ids.describe_user(IdentityStoreId=identity_store_id, UserId=user_id)["UserName"]
                    except Exception as exc:  # noqa: BLE001  a user deleted meanwhile is not a member
                        if error_code(exc) != "ResourceNotFoundException":
                            raise
                        continue
                found.append(names[user_id])
        members[group] = sorted(found)
    return members


def center_part(clients: AwsClients, catalog: Catalog, account_id: str, region: str,
                setup: Any) -> tuple[dict[str, list[str]], dict[str, str]]:
    """Identity Center's share of the document: each group's members, and where people sign in."""
    members = center_members(clients, account_id, region, setup.identity_store_id, setup.group_ids)
    configured = catalog.identity.identity_center
    center = {"instance_arn": setup.instance_arn, "identity_store_id": setup.identity_store_id,
              "start_url": (configured.start_url if configured else "") or setup.start_url, "region": region,
              "account_id": account_id}
    return members, center


def read_deployed(clients: AwsClients, account_id: str, stack: str, region: str | None = None) -> dict[str, Any] | None:
    """A deployed stack's template, None when there is no such stack."""
    return get_template(clients.member_client("cloudformation", account_id, region), stack)



def gather_access(clients: AwsClients, catalog: Catalog, resolution: Resolution, organization_id: str,
                  source: str = "report") -> dict[str, Any]:
    """The access document from what is deployed now (reads only): the central stack's template, and in
    identity_center mode the Identity Center stack's template and its groups' members."""
    from .identity_center import center_region, center_stack_name, look_up  # noqa: PLC0415
    from .sync import central_stack_name, policies_account  # noqa: PLC0415

    central_template = None
    if catalog.identity.iam_mode:
        central_template = read_deployed(clients, resolution.central.id, central_stack_name(catalog))
    center_template, members, center = None, None, None
    if catalog.identity.uses_identity_center:
        home = policies_account(catalog, list(resolution.accounts.values()))
        if home is not None:
            region = center_region(catalog, clients.region)
            setup = look_up(clients, catalog, home, region)
            center_template = read_deployed(clients, home.id, center_stack_name(catalog), region)
            members, center = center_part(clients, catalog, home.id, region, setup)
    return access_document(catalog, resolution, organization_id=organization_id, partition=clients.partition, source=source,
                           central_template=central_template, center_template=center_template, center_members=members,
                           center=center)


DEPLOYED_AS_RENDERED = ("created", "updated", "unchanged", "repaired")


def access_after_sync(clients: AwsClients, catalog: Catalog, resolution: Resolution, outcome: Any,
                      organization_id: str) -> dict[str, Any]:
    """The access document after a sync: the templates it deployed or found up to date (no call), read back only
    where the run left a stack otherwise (failed, kept, or a plan); Identity Center members from the identity store."""
    from ..model import Kind  # noqa: PLC0415
    from .identity_center import center_region, center_stack_name  # noqa: PLC0415
    from .sync import central_stack_name, policies_account  # noqa: PLC0415

    def deployed(result: Any, stack: str, account_id: str, region: str | None = None) -> dict[str, Any] | None:
        if result is not None and not outcome.check and str(result.status) in DEPLOYED_AS_RENDERED:
            return result.task.desired.document
        return read_deployed(clients, account_id, stack, region)

    source = "sync (plan: access as deployed before it)" if outcome.check else "sync"
    central_template = None
    if catalog.identity.iam_mode:
        central_template = deployed(outcome.central, central_stack_name(catalog), resolution.central.id)
    center_template, members, center = None, None, None
    setup = getattr(outcome, "center", None)
    home = policies_account(catalog, list(resolution.accounts.values()))
    if catalog.identity.uses_identity_center and setup is not None and home is not None:
        region = center_region(catalog, clients.region)
        result = next((r for r in outcome.members if r.task.kind == Kind.IDENTITY_CENTER), None)
        center_template = deployed(result, center_stack_name(catalog), home.id, region)
        members, center = center_part(clients, catalog, home.id, region, setup)
    return access_document(catalog, resolution, organization_id=organization_id, partition=clients.partition, source=source,
                           central_template=central_template, center_template=center_template, center_members=members,
                           center=center)

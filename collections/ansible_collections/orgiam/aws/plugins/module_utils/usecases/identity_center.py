# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Identity mode ``identity_center``: what the sync looks up before it writes, and the one task it adds.

Before anything is written, the run finds the Identity Center instance (``sso-admin ListInstances``, in
the account that holds the stack) and each group of identity.yml in the identity store by its display
name (``identitystore GetGroupId``, one call a group). A group that is not there is a catalog error
naming identity.yml, the group's field and the fix; nothing is changed.

Then the stack (render/identity_center.py) holds one permission set per role for people and one
assignment per group, role and account: the accounts the role targets (resolve.py) that the group's
grant reaches, exactly as the central IAM policies of mode iam_users would name them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from ..aws.errors import AwsAccessError, error_code
from ..aws.session import AwsClients
from ..catalog import Catalog, CatalogError
from ..catalog.identity import GroupDef
from ..catalog.yamlsource import SourceError, did_you_mean
from ..model import Account, Kind, Task
from ..render.common import desired_template, role_arn
from ..render.identity_center import identity_center_template
from ..resolve import Resolution, group_grants


@dataclass(frozen=True)
class CenterSetup:
    """The Identity Center instance orgiam deploys to, and the identity store id of each group it names."""

    instance_arn: str
    identity_store_id: str
    group_ids: dict[str, str] = field(default_factory=dict)

    @property
    def start_url(self) -> str:
        return f"https://{self.identity_store_id}.awsapps.com/start"


def center_stack_name(catalog: Catalog) -> str:
    return f"{catalog.settings.stack_prefix}-identity-center"


def center_region(catalog: Catalog, region: str) -> str:
    center = catalog.identity.identity_center
    return (center.region if center is not None and center.region else "") or region


def center_groups(catalog: Catalog) -> list[GroupDef]:
    """The Identity Center groups: identity.yml's own groups that grant a role. Default groups (orgiam-<Role>-<scope>)
    are IAM groups, deployed only while identity_center.keep_iam_users keeps the IAM side."""
    return [g for g in catalog.identity.groups if g.grants and not g.default]


def granted_groups(catalog: Catalog) -> list[str]:
    return sorted(g.name for g in center_groups(catalog))


def look_up(clients: AwsClients, catalog: Catalog, account: Account, region: str) -> CenterSetup:
    """The instance and every granted group's id; raises CatalogError for groups the identity store lacks,
    AwsAccessError when there is no instance. Reads only."""
    wanted = catalog.identity.identity_center.instance_arn if catalog.identity.identity_center else ""
    sso = clients.member_client("sso-admin", account.id, region)
    instances = [i for page in sso.get_paginator("list_instances").paginate() for i in page["Instances"]]
    chosen = [i for i in instances if not wanted or i["InstanceArn"] == wanted]
    if not chosen:
        have = ", ".join(i["InstanceArn"] for i in instances) or "none"
        raise AwsAccessError(
            f"identity.yml says mode identity_center, and account {account.name} ({account.id}) sees "
            + (f"no Identity Center instance {wanted} (it has: {have}); fix identity_center.instance_arn"
               if wanted else "no Identity Center instance: enable IAM Identity Center for the organization (in the "
               "management account's console), then sync again")
            + ". Nothing was changed", "IdentityCenterNotFound")
    instance = chosen[0]
    store = instance["IdentityStoreId"]
    ids = clients.member_client("identitystore", account.id, region)
    group_ids: dict[str, str] = {}
    missing: list[str] = []
    for name in granted_groups(catalog):
        try:
            group_ids[name] = ids.get_group_id(
                IdentityStoreId=store,
                AlternateIdentifier={"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": name}})["GroupId"]
        except Exception as exc:  # noqa: BLE001  only "not found" is the catalog's problem
            if error_code(exc) != "ResourceNotFoundException":
                raise
            missing.append(name)
    if missing:
        raise CatalogError([_missing_group(catalog, name, store) for name in missing])
    return CenterSetup(instance["InstanceArn"], store, group_ids)


def _missing_group(catalog: Catalog, name: str, store: str) -> SourceError:
    identity = catalog.identity
    group = next(g for g in identity.groups if g.name == name)
    others = [g.name for g in identity.groups if g.name != name]
    index = [g.name for g in identity.groups if not g.default].index(name)  # as listed under groups
    where = group.source or identity.source
    return SourceError(
        where.split(":")[0] if ":" in where else where,
        f"group '{name}' of identity.yml has no group of that display name in Identity Center's identity store {store}; "
        f"create it there (or in the identity source that provisions it), or fix the name{did_you_mean(name, others)}",
        int(where.split(":")[1]) if ":" in where and where.split(":")[1].isdigit() else None, f"groups.{index}.name")


def assignments(catalog: Catalog, resolution: Resolution, partition: str) -> list[tuple[str, str, str]]:
    """(group, role, account id): every account a role for people targets, for each group whose grant reaches it."""
    people = {r.name for r in catalog.roles if not r.is_machine}
    targeted: dict[str, list[str]] = {}
    for account_id, roles in resolution.roles_by_account.items():
        for role in roles:
            if role.name in people:
                targeted.setdefault(role.name, []).append(role_arn(account_id, role, partition))
    result = []
    explicit = dataclasses.replace(catalog.identity, groups=tuple(center_groups(catalog)))
    for group, arns in group_grants(explicit, targeted, resolution.accounts).items():
        for arn in arns:
            result.append((group, arn.rsplit("/", 1)[1], arn.split(":")[4]))
    return sorted(result)


def center_task(catalog: Catalog, resolution: Resolution, setup: CenterSetup, account: Account, region: str,
                partition: str) -> Task:
    """The Identity Center stack's task, rendered (pure)."""
    from .sync import task_key  # the one key format of every task

    name = center_stack_name(catalog)
    task = Task(task_key(account.id, region, name), Kind.IDENTITY_CENTER, account.id, account.name, region, name,
                hostname=account.hostname, ou_path=account.ou_path, stack_kind=str(Kind.IDENTITY_CENTER), partition=partition)
    people = [r for r in catalog.roles if not r.is_machine]
    granted = assignments(catalog, resolution, partition)
    task.title = f"{len(people)} permission sets, {len(granted)} account assignments"
    task.roles = tuple(sorted(r.name for r in people))
    task.desired = desired_template(identity_center_template(people, granted, setup.group_ids, setup.instance_arn, partition))
    return task


# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""From a task's variables to the organization orgiam works on: what every action plugin starts with.

The accounts come from the inventory's hostvars (hosts made by the orgiam.aws.organization inventory
plugin), the OU paths, organization id, root and OU ids from the variables it sets; the catalog is loaded
and resolved against them, and the organization policies placed. Every refusal is one message, raised as
``OrganizationInputError``, so that each action turns it into its failure line unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import AwsClients, AwsSettings, CallLog
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import Catalog, CatalogError, load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.policies import Placement, policy_targets
from ansible_collections.orgiam.aws.plugins.module_utils.model import Account
from ansible_collections.orgiam.aws.plugins.module_utils.resolve import Resolution, account_from_hostvars, resolve
from ansible_collections.orgiam.aws.plugins.module_utils.usecases.access import gather_access

NO_ACCOUNTS = ("the inventory holds no AWS accounts: use the orgiam.aws.organization "
               "inventory plugin (see inventories/demo)")


class OrganizationInputError(Exception):
    """The inventory or the catalog cannot be used; the message says why and what to do."""


@dataclass
class Organization:
    """The accounts of the inventory with the catalog resolved against them."""

    accounts: list[Account]
    ou_paths: list[str]
    organization_id: str
    catalog: Catalog
    resolution: Resolution
    placement: Placement | None  # where each organization policy goes; None when the catalog has none
    cached_at: str  # when the inventory came from its cache: when it was discovered; "" when live


def accounts_from_task_vars(task_vars: dict[str, Any]) -> list[Account]:
    """Every host of the inventory that is an AWS account (has ``account_id``), in inventory order."""
    hostvars = task_vars["hostvars"]
    accounts = []
    for host in list(task_vars.get("groups", {}).get("all", [])):
        host_vars = hostvars[host]  # read key by key: turning it into a dict templates every variable
        if "account_id" in host_vars:
            accounts.append(account_from_hostvars(host, host_vars))
    return accounts


def cache_refusal(when: str) -> str:
    """Why a run that writes refuses an inventory read from its cache."""
    return (f"orgiam: the inventory came from its cache (the organization as discovered at {when}); a run "
            "that writes acts only on the live organization, so that it never deploys to an account that has "
            "gone or moved: run again with --flush-cache (or set cache: false in the inventory). "
            "Nothing was written.")


def resolve_catalog(catalog_path: str, accounts: list[Account], ou_paths: list[str], organization_id: str,
                    task_vars: dict[str, Any]) -> tuple[Catalog, Resolution, Placement | None]:
    """The catalog loaded, resolved and its policies placed; CatalogError names every problem."""
    catalog = load_catalog(catalog_path)
    resolution = resolve(catalog, accounts, ou_paths, organization_id)
    placement = None
    if catalog.policies:  # where each organization policy goes, from the inventory's root and OU ids
        placement, problems = policy_targets(catalog.policies, str(task_vars.get("orgiam_root_id") or ""),
                                             dict(task_vars.get("orgiam_ou_ids") or {}), accounts)
        if problems:
            raise CatalogError(problems)
    return catalog, resolution, placement


def organization_from_task_vars(task_vars: dict[str, Any], catalog_path: str, writes: bool) -> Organization:
    """The organization as the inventory shows it, with the catalog at ``catalog_path`` resolved against it.

    ``writes``: the run may write to AWS, which an inventory read from its cache refuses (a run that only
    reads or plans may use it; ``cached_at`` then says when it was discovered)."""
    accounts = accounts_from_task_vars(task_vars)
    if not accounts:
        raise OrganizationInputError(NO_ACCOUNTS)
    ou_paths = list(task_vars.get("orgiam_ou_paths") or [])
    cached_at = ""
    if task_vars.get("orgiam_inventory_from_cache"):
        cached_at = str(task_vars.get("orgiam_discovered_at") or "an earlier run")
        if writes:
            raise OrganizationInputError(cache_refusal(cached_at))
    organization_id = str(task_vars.get("orgiam_organization_id") or "")
    try:
        catalog, resolution, placement = resolve_catalog(catalog_path, accounts, ou_paths, organization_id, task_vars)
    except CatalogError as exc:  # one message: every problem with its file, line, field and fix
        raise OrganizationInputError(str(exc)) from exc
    return Organization(accounts, ou_paths, organization_id, catalog, resolution, placement, cached_at)


def read_access(settings: AwsSettings, organization: Organization, source: str = "report") -> dict[str, Any]:
    """The access document read from what is deployed (reads only): the central stack, and in identity_center
    mode the Identity Center stack and its groups' members. AwsAccessError or CatalogError when it cannot be read."""
    clients = AwsClients(settings, CallLog(), max_pool=4)
    clients.caller_account_id()  # one call that proves credentials and endpoint first
    return gather_access(clients, organization.catalog, organization.resolution, organization.organization_id, source=source)


def settings_for(aws_settings: Callable[..., AwsSettings], args: dict[str, Any], organization: Organization) -> AwsSettings:
    """AWS settings of a read-only action: the home region, the member role of the task or the catalog, and the
    management account (reached with the caller's own credentials), as the sync has them."""
    settings = organization.catalog.settings
    return aws_settings(
        args,
        region=settings.home_region or None,
        assume_role_arn=args.get("assume_role_arn"),
        member_role_name=args.get("member_role_name") or settings.member_role_name,
        management_account_id=next((a.id for a in organization.accounts if a.is_management), ""),
    )

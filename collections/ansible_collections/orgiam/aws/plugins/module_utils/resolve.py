# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Resolve: which roles each account must have, from the catalog and the discovered accounts.

Pure functions, no AWS. Targeting rules (documented in docs/catalog.md):

* an account is selected by a role when it matches any of the role's ``ou_paths``
  (recursive unless ``recursive: false``), ``accounts`` (id or name) or ``tags``
  (every key given must match, ``"*"`` means present);
* it is then dropped if it matches any ``exclude`` selector;
* the management account is only selected when ``management_account: true`` or
  named in ``accounts``: an OU or tag selector never reaches it;
* accounts that are not ACTIVE are never selected;
* an inventory variable ``orgiam_roles_add`` / ``orgiam_roles_remove`` (host_vars
  or group_vars) adds or removes roles by name for that account, the Ansible way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

from .catalog import Catalog, CatalogError, RoleDef, Selector, normalize_ou_path
from .catalog.yamlsource import SourceError
from .model import ACTIVE, Account


@dataclass
class Resolution:
    central: Account
    roles_by_account: dict[str, tuple[RoleDef, ...]] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)

    def targeted(self) -> list[Account]:
        return [self.accounts[a] for a, roles in self.roles_by_account.items() if roles]


def account_from_hostvars(hostname: str, hostvars: Any) -> Account:
    """Build an Account from the inventory plugin's hostvars (see plugins/inventory/organization.py).

    ``hostvars`` is any mapping; only the keys read below are read, one by one.
    """
    def get(key: str, default: Any = None) -> Any:
        return hostvars[key] if key in hostvars else default

    tags = get("account_tags") or {}

    def names(key: str) -> tuple[str, ...]:
        value = get(key) or []
        return (value,) if isinstance(value, str) else tuple(str(v) for v in value)

    return Account(
        id=str(get("account_id")),
        name=str(get("account_name", hostname)),
        ou_path=str(get("ou_path", "") or ""),
        status=str(get("account_status", ACTIVE)),
        tags=tuple(sorted((str(k), str(v)) for k, v in tags.items())),
        is_management=bool(get("is_management_account", False)),
        hostname=hostname,
        roles_add=names("orgiam_roles_add"),
        roles_remove=names("orgiam_roles_remove"),
    )


def _under(account_path: str, target_path: str, recursive: bool) -> bool:
    a, t = account_path.lower(), target_path.lower()
    return a == t or (recursive and a.startswith(t + "/"))


def _names_account(ref: str, account: Account) -> bool:
    return ref == account.id or ref.lower() == account.name.lower() or ref == account.hostname


def _matches_tags(tags: Iterable[tuple[str, tuple[str, ...]]], account: Account) -> bool:
    wanted = list(tags)
    if not wanted:
        return False
    for key, values in wanted:
        actual = account.tag(key)
        if actual is None or ("*" not in values and actual not in values):
            return False
    return True


def matches(selector: Selector, account: Account) -> bool:
    if any(_under(account.ou_path, t.path, t.recursive) for t in selector.ou_paths):
        return True
    if any(_names_account(ref, account) for ref in selector.accounts):
        return True
    return _matches_tags(selector.tags, account)


def role_targets(role: RoleDef, account: Account) -> bool:
    if not account.active:
        return False
    explicitly_named = any(_names_account(ref, account) for ref in role.include.accounts)
    if account.is_management and not (role.management_account or explicitly_named):
        return False
    selected = (role.management_account and account.is_management) or matches(role.include, account)
    return selected and not matches(role.exclude, account)


def check_references(catalog: Catalog, accounts: list[Account], ou_paths: Iterable[str]) -> list[SourceError]:
    """Unknown OU paths and accounts named in the catalog, each with its file and a fix."""
    problems = []
    known_paths = {p.lower(): p for p in ou_paths if p}
    known_paths.update({a.ou_path.lower(): a.ou_path for a in accounts if a.ou_path})
    listing = ", ".join(sorted(known_paths.values())) or "(none)"
    for role in catalog.roles:
        for label, selector in (("targets", role.include), ("targets.exclude", role.exclude)):
            for target in selector.ou_paths:
                if target.path.lower() not in known_paths:
                    problems.append(
                        SourceError(
                            role.source,
                            f"role '{role.name}' names OU path '{target.path}', which is not in the organization; "
                            f"existing OU paths: {listing}",
                            field_path=f"{label}.ou_paths",
                        )
                    )
            for ref in selector.accounts:
                if not any(_names_account(ref, a) for a in accounts):
                    problems.append(
                        SourceError(
                            role.source,
                            f"role '{role.name}' names account '{ref}', which is not in the inventory; "
                            "use an account id or name from `ansible-inventory --graph`",
                            field_path=f"{label}.accounts",
                        )
                    )
    return problems


def find_account(ref: str, accounts: Iterable[Account]) -> Account | None:
    for account in accounts:
        if _names_account(ref, account):
            return account
    return None


def resolve(catalog: Catalog, accounts: list[Account], ou_paths: Iterable[str] = ()) -> Resolution:
    """Desired roles for every given account. Raises CatalogError before any AWS call."""
    problems = check_references(catalog, accounts, [normalize_ou_path(p) for p in ou_paths])
    central = find_account(catalog.settings.central_account, accounts)
    if central is None:
        problems.append(
            SourceError(
                catalog.settings.source,
                f"central account '{catalog.settings.central_account}' is not in the inventory; "
                "name an ACTIVE account of the organization by id or name",
                field_path="central_account",
            )
        )
    elif not central.active:
        problems.append(
            SourceError(
                catalog.settings.source,
                f"central account '{central.name}' is {central.status}; choose an ACTIVE account",
                field_path="central_account",
            )
        )
    role_names = {r.name for r in catalog.roles}
    for account in accounts:
        for name in account.roles_add + account.roles_remove:
            if name not in role_names:
                problems.append(
                    SourceError(
                        f"inventory host {account.hostname or account.name}",
                        f"orgiam_roles_add/orgiam_roles_remove names role '{name}', which the catalog does not define; "
                        f"known roles: {', '.join(sorted(role_names))}",
                    )
                )
    if problems:
        raise CatalogError(problems)
    assert central is not None
    resolution = Resolution(central=central)
    for account in sorted(accounts, key=lambda a: a.id):
        resolution.accounts[account.id] = account
        if not account.active:
            resolution.roles_by_account[account.id] = ()
            continue
        chosen = [
            role
            for role in catalog.roles
            if (role_targets(role, account) or role.name in account.roles_add) and role.name not in account.roles_remove
        ]
        resolution.roles_by_account[account.id] = tuple(chosen)
    return resolution


def _in_scope(scope: Any, account: Account) -> bool:
    if scope.everywhere:
        return True
    if scope.management and account.is_management:
        return True
    if any(_under(account.ou_path, path, recursive) for path, recursive in scope.ou_paths):
        return True
    return any(_names_account(ref, account) for ref in scope.accounts)


def group_grants(identity: Any, deployed: dict[str, list[str]], accounts: dict[str, Account]) -> dict[str, list[str]]:
    """Group name -> the deployed role ARNs its grants reach (role and scope both match)."""
    result: dict[str, list[str]] = {}
    for group in identity.groups:
        arns: set[str] = set()
        for grant in group.grants:
            for arn in deployed.get(grant.role, []):
                account = accounts.get(arn.split(":")[4])
                if account is not None and _in_scope(grant.scope, account):
                    arns.add(arn)
        result[group.name] = sorted(arns)
    return result

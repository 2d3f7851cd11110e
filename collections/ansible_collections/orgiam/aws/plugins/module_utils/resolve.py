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

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Iterable

from .catalog import Catalog, CatalogError, RoleDef, Selector, normalize_ou_path
from .catalog.yamlsource import SourceError, did_you_mean, listing
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


def _hint(ref: str, candidates: list[str], what: str) -> str:
    """'; did you mean 'X'? <what>: <the 10 closest> (and N more)' (or without the suggestion when nothing is close)."""
    suggestion = did_you_mean(ref, candidates)
    return f"{suggestion} {what}: {listing(ref, candidates)}" if suggestion else f"; {what}: {listing(ref, candidates)}"


def _unknown_account(ref: str, accounts: list[Account]) -> str:
    return _hint(ref, [a.name for a in accounts], "accounts")


def _unknown_ou(path: str, known: dict[str, str]) -> str:
    return _hint(path, list(known.values()), "existing OU paths")


def check_references(catalog: Catalog, accounts: list[Account], ou_paths: Iterable[str]) -> list[SourceError]:
    """Every OU path and account the catalog names, checked against the organization, each with its file and a fix.

    The roles' targets and exclusions, the scopes of identity.yml's grants, and the central account. Listings are
    capped (the closest names first), so that an error in an organization of 1,000 accounts stays readable.
    """
    problems = []
    known_paths = {p.lower(): p for p in ou_paths if p}
    known_paths.update({a.ou_path.lower(): a.ou_path for a in accounts if a.ou_path})
    for role in catalog.roles:
        for label, selector in (("targets", role.include), ("targets.exclude", role.exclude)):
            for target in selector.ou_paths:
                if target.path.lower() not in known_paths:
                    problems.append(
                        SourceError(
                            role.source,
                            f"role '{role.name}' names OU path '{target.path}', which is not in the organization"
                            + _unknown_ou(target.path, known_paths),
                            field_path=f"{label}.ou_paths",
                        )
                    )
            for ref in selector.accounts:
                if not any(_names_account(ref, a) for a in accounts):
                    problems.append(
                        SourceError(
                            role.source,
                            f"role '{role.name}' names account '{ref}', which is not in the inventory"
                            + _unknown_account(ref, accounts)
                            + ". Use an account id or name from `ansible-inventory --graph`",
                            field_path=f"{label}.accounts",
                        )
                    )
        problems.extend(_trusted_account_problems(role, accounts))
    for group in catalog.identity.groups:
        if group.default:
            continue  # made from the roles' targets, checked above
        for grant in group.grants:
            for path, _recursive in grant.scope.ou_paths:
                if normalize_ou_path(path).lower() not in known_paths:
                    problems.append(SourceError(
                        grant.source or group.source or catalog.identity.source,
                        f"group '{group.name}' grants role '{grant.role}' in OU path '{path}', which is not in the organization"
                        + _unknown_ou(path, known_paths), field_path="scope.ou_paths"))
            for ref in grant.scope.accounts:
                if not any(_names_account(ref, a) for a in accounts):
                    problems.append(SourceError(
                        grant.source or group.source or catalog.identity.source,
                        f"group '{group.name}' grants role '{grant.role}' in account '{ref}', which is not in the inventory"
                        + _unknown_account(ref, accounts) + ". The grant would reach no account: fix the name",
                        field_path="scope.accounts"))
    problems.extend(check_central_account(catalog, accounts))
    return problems


def _trusted_account_problems(role: RoleDef, accounts: list[Account]) -> list[SourceError]:
    """The accounts a machine role trusts (``trusted_by``) must be accounts of the organization."""
    problems = []
    for index, entry in enumerate(role.trusted_by):
        if entry.is_service or find_account(entry.account, accounts) is not None:
            continue
        problems.append(SourceError(
            entry.source or role.source,
            f"role '{role.name}' is trusted by account '{entry.account}', which is not in the inventory"
            + _unknown_account(entry.account, accounts)
            + ". orgiam trusts only accounts of this organization: use an account id or name from `ansible-inventory "
            "--graph` (an inventory filter may leave it out: widen the filter)",
            field_path=f"trusted_by.{index}.account"))
    return problems


def _resolved_machine_role(role: RoleDef, accounts: list[Account], organization_id: str) -> RoleDef:
    """A machine role with the account id of each trusted account and the organization id, as the trust policy needs."""
    entries = tuple(
        entry if entry.is_service else dataclasses.replace(entry, account_id=_account_id(entry.account, accounts))
        for entry in role.trusted_by)
    return dataclasses.replace(role, trusted_by=entries, organization_id=organization_id)


def _account_id(ref: str, accounts: list[Account]) -> str:
    account = find_account(ref, accounts)
    assert account is not None  # check_references refused it otherwise
    return account.id


def check_central_account(catalog: Catalog, accounts: list[Account]) -> list[SourceError]:
    """The central account must be an ACTIVE account of the inventory; a misspelt one gets a suggestion."""
    ref = catalog.settings.central_account
    central = find_account(ref, accounts)
    if central is None:
        return [SourceError(
            catalog.settings.source or "settings.yml",
            f"central account '{ref}' is not among the {len(accounts)} accounts of the inventory" + _unknown_account(ref, accounts)
            + ". Name an ACTIVE account of the organization by id or name; if it exists but an inventory filter "
            "(include_ou_paths, exclude_ou_paths, exclude_accounts, tag_filters) leaves it out, widen the filter",
            field_path="central_account")]
    if not central.active:
        return [SourceError(catalog.settings.source or "settings.yml",
                            f"central account '{central.name}' is {central.status}; choose an ACTIVE account",
                            field_path="central_account")]
    return []


def find_account(ref: str, accounts: Iterable[Account]) -> Account | None:
    for account in accounts:
        if _names_account(ref, account):
            return account
    return None


def resolve(catalog: Catalog, accounts: list[Account], ou_paths: Iterable[str] = (), organization_id: str = "") -> Resolution:
    """Desired roles for every given account. Raises CatalogError before any AWS call.

    ``organization_id`` (the inventory's ``orgiam_organization_id``) goes into the trust policy of every role trusted
    by accounts of the organization (``aws:PrincipalOrgID``); such a role cannot be resolved without it."""
    problems = check_references(catalog, accounts, [normalize_ou_path(p) for p in ou_paths])
    for role in catalog.roles:
        if not organization_id and any(not entry.is_service for entry in role.trusted_by):
            problems.append(SourceError(
                role.source, f"role '{role.name}' trusts accounts of the organization, and the organization's id is "
                "unknown (the inventory sets orgiam_organization_id): use the orgiam.aws.organization inventory plugin",
                field_path="trusted_by"))
    central = find_account(catalog.settings.central_account, accounts)
    role_names = {r.name for r in catalog.roles}
    for account in accounts:
        for name in account.roles_add + account.roles_remove:
            if name not in role_names:
                problems.append(
                    SourceError(
                        f"inventory host {account.hostname or account.name}",
                        f"orgiam_roles_add/orgiam_roles_remove names role '{name}', which the catalog does not define; "
                        f"known roles: {listing(name, role_names)}{did_you_mean(name, role_names)}",
                    )
                )
    if problems:
        raise CatalogError(problems)
    assert central is not None and central.active
    resolution = Resolution(central=central)
    resolved = {role.name: _resolved_machine_role(role, accounts, organization_id) for role in catalog.roles if role.is_machine}
    for account in sorted(accounts, key=lambda a: a.id):
        resolution.accounts[account.id] = account
        if not account.active:
            resolution.roles_by_account[account.id] = ()
            continue
        chosen = [
            resolved.get(role.name, role)
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

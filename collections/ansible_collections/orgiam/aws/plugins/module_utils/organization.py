# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Organization discovery and account selection.

Plain Python: no Ansible imports. Two halves:

* :func:`discover_organization` walks an AWS Organization once with an
  Organizations client and returns plain, JSON-serialisable data (it is cached
  as is by the inventory plugin).
* Pure functions over that data: :func:`filter_accounts`,
  :func:`assign_host_names`, :func:`ou_group_name` / :func:`ou_group_names`,
  :func:`status_group_name`. They never call AWS.

The organization dict::

    {
      "management_account_id": "111111111111",
      "organization_id": "o-abcdefghij",
      "root_id": "r-abcd",
      "ous": [{"id": "ou-abcd-11111111", "name": "Prod", "path": "Workloads/Prod",
               "parent_id": "ou-abcd-22222222"}, ...],
      "accounts": [{"id", "name", "email", "arn", "status", "ou_path", "ou_id",
                    "parent_id", "tags", "is_management", "joined_method"}, ...],
    }

An OU path is the OU names from the top OU down joined with "/"
("Workloads/Prod"). Accounts directly under the root have ``ou_path == ""`` and
``ou_id == root_id``. Path matching is case-insensitive on names; an OU name
that itself contains "/" cannot be addressed by path (AWS allows it, orgiam
does not support it).
"""

from __future__ import annotations

import difflib
import re
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any, Callable, Iterable, Mapping, Sequence

# Accounts in any other status are visible in discovery but not selected by
# filter_accounts unless include_suspended is true.
ACTIVE = "ACTIVE"

ROOT_GROUP = "ou_root"
MANAGEMENT_GROUP = "management_account"
HOSTNAME_MODES = ("name", "id", "name_id")

# ListAccountsForParent and ListOrganizationalUnitsForParent accept at most 20.
PAGE_SIZE = 20
DEFAULT_WORKERS = 4
# An unknown OU path lists the existing paths; past this many only the closest.
MAX_LISTED_PATHS = 40

_ROOT_ARN = re.compile(r"^arn:[\w-]+:organizations::(\d{12}):root/(o-[a-z0-9]+)/(r-[a-z0-9]+)$")


class OrganizationFilterError(ValueError):
    """A filter option that cannot be applied (wrong type or unknown value)."""


class UnknownOUPath(OrganizationFilterError):
    """An OU path given in a filter does not exist in the organization."""

    def __init__(self, path: str, known_paths: Sequence[str], option: str = "") -> None:
        self.path = path
        self.known_paths = list(known_paths)
        self.option = option
        super().__init__(self._message())

    def _message(self) -> str:
        where = f" in {self.option}" if self.option else ""
        if not self.known_paths:
            return f"unknown OU path '{self.path}'{where}: the organization has no OUs"
        close = difflib.get_close_matches(self.path.casefold(), [p.casefold() for p in self.known_paths], n=3, cutoff=0.6)
        by_fold = {p.casefold(): p for p in self.known_paths}
        hint = f" (did you mean {', '.join(repr(by_fold[c]) for c in close)}?)" if close else ""
        listed = sorted(self.known_paths, key=str.casefold)
        more = ""
        if len(listed) > MAX_LISTED_PATHS:
            more = f", ... and {len(listed) - MAX_LISTED_PATHS} more"
            listed = listed[:MAX_LISTED_PATHS]
        return (
            f"unknown OU path '{self.path}'{where}{hint}; OU paths in the organization: "
            f"{', '.join(listed)}{more}"
        )


# ---------------------------------------------------------------------------
# Discovery
# ---------------------------------------------------------------------------


def _paginate(client: Any, operation: str, result_key: str, page_size: int | None = None, **params: Any) -> list[dict]:
    paginator = client.get_paginator(operation)
    config = {"PageSize": page_size} if page_size else {}
    items: list[dict] = []
    for page in paginator.paginate(PaginationConfig=config, **params):
        items.extend(page.get(result_key, []))
    return items


def _tag_dict(tags: Iterable[Mapping[str, str]]) -> dict[str, str]:
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in tags}


def account_status(account: Mapping[str, Any]) -> str:
    """The account's lifecycle status: the newer ``State`` field, else ``Status``."""
    return str(account.get("State") or account.get("Status") or "UNKNOWN")


def _organization_ids(client: Any, root: Mapping[str, Any]) -> tuple[str, str]:
    """(management account id, organization id).

    Both are part of the root's ARN
    (``arn:aws:organizations::<management account>:root/<org id>/<root id>``),
    so DescribeOrganization is only called when that ARN has another shape.
    """
    match = _ROOT_ARN.match(str(root.get("Arn", "")))
    if match:
        return match.group(1), match.group(2)
    org = client.describe_organization()["Organization"]
    return str(org["MasterAccountId"]), str(org["Id"])


def discover_organization(
    org_client: Any,
    max_workers: int = DEFAULT_WORKERS,
    include_ou_tags: bool = False,
    include_account_tags: bool = True,
) -> dict[str, Any]:
    """Walk the organization once and return it as plain data.

    Calls: ListRoots (1), ListOrganizationalUnitsForParent and
    ListAccountsForParent once per page for the root and every OU,
    ListTagsForResource once per account (only with include_account_tags: one call per account is most of a
    walk's calls, and Organizations' request rate is low) and per OU with include_ou_tags; without them,
    every account's ``tags`` is empty and ``account_tags_read`` says so.
    DescribeOrganization only when the root ARN cannot be parsed. Listing and
    tag calls run on a small thread pool (Organizations has no batch tag API).
    botocore exceptions propagate unchanged; callers explain them.
    """
    roots = _paginate(org_client, "list_roots", "Roots")
    if not roots:
        raise ValueError("the organization has no root")
    root = roots[0]
    root_id = str(root["Id"])
    management_id, organization_id = _organization_ids(org_client, root)

    ous: dict[str, dict[str, Any]] = {}
    accounts: dict[str, dict[str, Any]] = {}

    def list_ous(parent_id: str) -> list[dict]:
        return _paginate(
            org_client, "list_organizational_units_for_parent", "OrganizationalUnits", PAGE_SIZE, ParentId=parent_id
        )

    def list_accounts(parent_id: str) -> list[dict]:
        return _paginate(org_client, "list_accounts_for_parent", "Accounts", PAGE_SIZE, ParentId=parent_id)

    def list_tags(resource_id: str) -> dict[str, str]:
        return _tag_dict(_paginate(org_client, "list_tags_for_resource", "Tags", ResourceId=resource_id))

    pool = ThreadPoolExecutor(max_workers=max(1, max_workers), thread_name_prefix="orgiam-discover")
    pending: dict[Future, Callable[[Any], None]] = {}

    def submit(func: Callable[[str], Any], arg: str, on_done: Callable[[Any], None]) -> None:
        pending[pool.submit(func, arg)] = on_done

    def walk(parent_id: str, parent_path: str) -> None:
        submit(list_ous, parent_id, lambda found: got_ous(found, parent_id, parent_path))
        submit(list_accounts, parent_id, lambda found: got_accounts(found, parent_id, parent_path))

    def got_ous(found: list[dict], parent_id: str, parent_path: str) -> None:
        for ou in found:
            name = str(ou["Name"])
            path = f"{parent_path}/{name}" if parent_path else name
            record = {"id": str(ou["Id"]), "name": name, "path": path, "parent_id": parent_id}
            ous[record["id"]] = record
            if include_ou_tags:
                submit(list_tags, record["id"], lambda tags, rec=record: rec.__setitem__("tags", tags))
            walk(record["id"], path)

    def got_accounts(found: list[dict], parent_id: str, parent_path: str) -> None:
        for account in found:
            account_id = str(account["Id"])
            record = {
                "id": account_id,
                "name": str(account.get("Name", "")),
                "email": str(account.get("Email", "")),
                "arn": str(account.get("Arn", "")),
                "status": account_status(account),
                "ou_path": parent_path,
                "ou_id": parent_id,
                "parent_id": parent_id,
                "tags": {},
                "is_management": account_id == management_id,
                "joined_method": str(account.get("JoinedMethod", "")),
            }
            accounts[account_id] = record
            if include_account_tags:
                submit(list_tags, account_id, lambda tags, rec=record: rec.__setitem__("tags", tags))

    try:
        walk(root_id, "")
        while pending:
            done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
            for future in done:
                on_done = pending.pop(future)
                on_done(future.result())  # re-raises the worker's exception
    finally:
        pool.shutdown(wait=True, cancel_futures=True)

    return {
        "management_account_id": management_id,
        "organization_id": organization_id,
        "root_id": root_id,
        "account_tags_read": include_account_tags,
        "ous": sorted(ous.values(), key=lambda ou: (ou["path"].casefold(), ou["id"])),
        "accounts": sorted(accounts.values(), key=lambda a: (a["ou_path"].casefold(), a["name"].casefold(), a["id"])),
    }


# ---------------------------------------------------------------------------
# Filtering
# ---------------------------------------------------------------------------


def normalize_ou_path(path: str) -> str:
    """'/Workloads/Prod/' -> 'Workloads/Prod'; '/' and '' -> '' (the root)."""
    return "/".join(part.strip() for part in str(path).strip().strip("/").split("/") if part.strip())


def ou_paths(org: Mapping[str, Any]) -> list[str]:
    """Every OU path in the organization, sorted."""
    return sorted((ou["path"] for ou in org.get("ous", [])), key=str.casefold)


def _as_list(value: Any, option: str) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, (str, int)):
        return [value]
    if isinstance(value, (list, tuple, set, frozenset)):
        return list(value)
    raise OrganizationFilterError(f"{option} must be a list, got {type(value).__name__}")


def _resolve_ou_paths(org: Mapping[str, Any], paths: Any, option: str) -> list[str]:
    """Normalised, case-folded paths; '' is the root (everything). Unknown -> UnknownOUPath."""
    known = {ou["path"].casefold() for ou in org.get("ous", [])}
    resolved = []
    for raw in _as_list(paths, option):
        path = normalize_ou_path(str(raw))
        if path and path.casefold() not in known:
            raise UnknownOUPath(str(raw), ou_paths(org), option)
        resolved.append(path.casefold())
    return resolved


def _is_under(path: str, top: str) -> bool:
    """Recursive containment on case-folded paths; '' contains everything."""
    return not top or path == top or path.startswith(top + "/")


def _account_key(value: Any) -> str:
    # YAML reads an unquoted 12-digit id as an integer and drops leading zeros.
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:012d}"
    return str(value).strip()


def _tag_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _normalize_tag_filters(tag_filters: Any) -> list[tuple[str, list[str] | None]]:
    """[(key, allowed values or None for 'key present')]."""
    if not tag_filters:
        return []
    if not isinstance(tag_filters, Mapping):
        raise OrganizationFilterError(
            f"tag_filters must be a mapping of tag key to value or list of values, got {type(tag_filters).__name__}"
        )
    normalized: list[tuple[str, list[str] | None]] = []
    for key, value in tag_filters.items():
        values = value if isinstance(value, (list, tuple, set)) else [value]
        if not values or any(v is None or v == "*" for v in values):
            normalized.append((str(key), None))
        else:
            normalized.append((str(key), [_tag_text(v) for v in values]))
    return normalized


def _tags_match(tags: Mapping[str, str], filters: list[tuple[str, list[str] | None]]) -> bool:
    for key, allowed in filters:
        if key not in tags:
            return False
        if allowed is not None and tags[key] not in allowed:
            return False
    return True


def filter_accounts(
    org: Mapping[str, Any],
    include_ou_paths: Any = (),
    exclude_ou_paths: Any = (),
    exclude_accounts: Any = (),
    tag_filters: Mapping[str, Any] | None = None,
    include_suspended: bool = False,
) -> list[dict[str, Any]]:
    """The accounts of ``org`` that the options select, in discovery order.

    * include_ou_paths: accounts in these OUs or below (recursive). Empty means
      every account, including those directly under the root; "/" names the root.
    * exclude_ou_paths: leaves out accounts in these OUs or below.
    * exclude_accounts: account ids or names (names case-insensitive).
    * tag_filters: {key: value | [values]}; every key must match; a value of
      "*" (or null) only requires the key. Tag keys and values are case-sensitive.
    * include_suspended: by default only ACTIVE accounts are selected
      (SUSPENDED, PENDING_CLOSURE, CLOSED and PENDING_ACTIVATION are left out).

    OU paths are matched case-insensitively; one that does not exist raises
    UnknownOUPath naming it and the paths that exist.
    """
    include = _resolve_ou_paths(org, include_ou_paths, "include_ou_paths")
    exclude = _resolve_ou_paths(org, exclude_ou_paths, "exclude_ou_paths")
    excluded = {_account_key(a) for a in _as_list(exclude_accounts, "exclude_accounts")}
    excluded_names = {name.casefold() for name in excluded}
    tags = _normalize_tag_filters(tag_filters)

    selected = []
    for account in org.get("accounts", []):
        path = account["ou_path"].casefold()
        if include and not any(_is_under(path, top) for top in include):
            continue
        if any(_is_under(path, top) for top in exclude):
            continue
        if account["id"] in excluded or account["name"].casefold() in excluded_names:
            continue
        if not include_suspended and account["status"] != ACTIVE:
            continue
        if tags and not _tags_match(account.get("tags", {}), tags):
            continue
        selected.append(account)
    return selected


def unmatched_account_exclusions(org: Mapping[str, Any], exclude_accounts: Any) -> list[str]:
    """The exclude_accounts entries that match no account (likely typos)."""
    ids = {a["id"] for a in org.get("accounts", [])}
    names = {a["name"].casefold() for a in org.get("accounts", [])}
    unmatched = []
    for entry in _as_list(exclude_accounts, "exclude_accounts"):
        key = _account_key(entry)
        if key not in ids and key.casefold() not in names:
            unmatched.append(key)
    return unmatched


# ---------------------------------------------------------------------------
# Host and group names
# ---------------------------------------------------------------------------


def sanitize_name(name: str) -> str:
    """Lowercase; anything but [a-z0-9_] becomes '_'; repeats collapsed; '_' stripped at the ends."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9_]", "_", str(name).lower())).strip("_")


def assign_host_names(accounts: Iterable[Mapping[str, Any]], mode: str = "name") -> dict[str, str]:
    """{account id: inventory hostname} for all ``accounts`` at once.

    Modes: "name" (default) the sanitized account name; "id" the account id;
    "name_id" the sanitized name, "_" and the account id.

    In "name" mode, when two or more accounts sanitize to the same name, every
    one of them gets "_<account id>" appended (not only the later ones), so the
    result does not depend on listing order. An account whose name sanitizes to
    nothing is named "account_<id>". Pass every discovered account (not only
    the filtered ones) so that a host's name does not change with the filters.
    """
    if mode not in HOSTNAME_MODES:
        raise OrganizationFilterError(f"hostnames must be one of {', '.join(HOSTNAME_MODES)}, got '{mode}'")
    accounts = list(accounts)
    if mode == "id":
        return {a["id"]: a["id"] for a in accounts}
    base = {a["id"]: sanitize_name(a["name"]) for a in accounts}
    if mode == "name_id":
        return {account_id: f"{name or 'account'}_{account_id}" for account_id, name in base.items()}

    # A name that sanitizes to nothing gets its id at once.
    suffixed = {account_id for account_id, name in base.items() if not name}
    names = {account_id: name or f"account_{account_id}" for account_id, name in base.items()}
    # Suffix every member of a clash. A suffixed name can still clash with an
    # account literally named like it ("prod 111111111111"); a second pass
    # suffixes that one too. Suffixed names never clash with each other.
    while True:
        by_name: dict[str, list[str]] = {}
        for account_id, name in names.items():
            by_name.setdefault(name, []).append(account_id)
        clashing = [aid for ids in by_name.values() if len(ids) > 1 for aid in ids if aid not in suffixed]
        if not clashing:
            return names
        for account_id in clashing:
            names[account_id] = f"{base[account_id] or 'account'}_{account_id}"
            suffixed.add(account_id)


def ou_group_name(path: str) -> str:
    """'Workloads/Prod' -> 'ou_workloads_prod'; '' (the root) -> 'ou_root'."""
    path = normalize_ou_path(path)
    if not path:
        return ROOT_GROUP
    parts = [sanitize_name(part) or "_" for part in path.split("/")]
    return re.sub(r"_+", "_", "ou_" + "_".join(parts)).rstrip("_") or ROOT_GROUP


def ou_group_names(org: Mapping[str, Any]) -> dict[str, str]:
    """{OU path: group name} for every OU, plus '' -> 'ou_root'.

    Distinct paths can sanitize to one name ("Workloads/Prod" and a top OU named
    "Workloads Prod", or a top OU named "Root"); each of them then gets the
    sanitized OU id appended, so every OU has its own group.
    """
    groups = {"": ROOT_GROUP}
    by_group: dict[str, list[Mapping[str, Any]]] = {}
    for ou in org.get("ous", []):
        by_group.setdefault(ou_group_name(ou["path"]), []).append(ou)
    for group, members in by_group.items():
        clash = len(members) > 1 or group == ROOT_GROUP
        for ou in members:
            groups[ou["path"]] = f"{group}_{sanitize_name(ou['id'])}" if clash else group
    return groups


def status_group_name(status: str) -> str:
    """'ACTIVE' -> 'status_active', 'PENDING_CLOSURE' -> 'status_pending_closure'."""
    return "status_" + (sanitize_name(status) or "unknown")

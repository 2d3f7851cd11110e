"""Organization specs: the demo organization (``demo_org.yml``) and generated large ones.

A spec is plain data (what YAML gives)::

    management_account: {name: Management, tags: {...}}
    accounts: [...]                      # member accounts in the root (optional)
    organizational_units:
      - name: Workloads
        tags: {...}
        accounts: [{name: ..., email: ..., tags: {...}, suspended: false}, ...]
        organizational_units: [...]      # child OUs, the same shape
    identity_center:                     # optional: the organization instance, enabled in the management account
      groups: [{name: platform-engineers, description: ...}, ...]
      users: [{user_name: alice.platform, given_name: Alice, family_name: Platform, email: ...,
               groups: [platform-engineers]}, ...]

``flatten`` turns it into OUs (parents first) and accounts, each with its OU path ("Workloads/Prod";
"" is the root).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DEMO_SPEC_PATH = Path(__file__).with_name("demo_org.yml")
ROOT_PATH = ""


@dataclass(frozen=True)
class AccountSpec:
    name: str
    email: str
    ou_path: str
    tags: dict[str, str] = field(default_factory=dict)
    suspended: bool = False


@dataclass(frozen=True)
class OuSpec:
    name: str
    path: str
    parent_path: str
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class OrganizationLayout:
    management_name: str
    management_tags: dict[str, str]
    ous: list[OuSpec]  # every parent before its children
    accounts: list[AccountSpec]


@dataclass(frozen=True)
class IdentityCenterGroup:
    name: str  # the group's DisplayName, unique in the identity store
    description: str = ""


@dataclass(frozen=True)
class IdentityCenterUser:
    user_name: str
    given_name: str
    family_name: str
    email: str
    groups: tuple[str, ...] = ()


@dataclass(frozen=True)
class IdentityCenterSpec:
    groups: list[IdentityCenterGroup]
    users: list[IdentityCenterUser]


class SpecError(ValueError):
    pass


def load_demo_spec() -> dict[str, Any]:
    """The demo organization, as data."""
    with DEMO_SPEC_PATH.open(encoding="utf-8") as handle:
        spec: dict[str, Any] = yaml.safe_load(handle)
    return spec


def flatten(spec: dict[str, Any]) -> OrganizationLayout:
    management = spec.get("management_account") or {}
    ous: list[OuSpec] = []
    accounts: list[AccountSpec] = []
    _collect_accounts(spec.get("accounts") or [], ROOT_PATH, accounts)
    _collect_ous(spec.get("organizational_units") or [], ROOT_PATH, ous, accounts)

    names = [account.name for account in accounts]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise SpecError(f"account names must be unique in an organization spec: {duplicates}")
    return OrganizationLayout(
        management_name=str(management.get("name") or "Management"),
        management_tags=_tags(management.get("tags")),
        ous=ous,
        accounts=accounts,
    )


def identity_center(spec: dict[str, Any]) -> IdentityCenterSpec | None:
    """The spec's ``identity_center`` section; None when the organization has no Identity Center."""
    section = spec.get("identity_center")
    if section is None:
        return None
    groups = [IdentityCenterGroup(str(g["name"]), str(g.get("description") or "")) for g in section.get("groups") or []]
    names = {group.name for group in groups}
    users: list[IdentityCenterUser] = []
    for entry in section.get("users") or []:
        user_name = str(entry.get("user_name") or "").strip()
        memberships = tuple(str(group) for group in entry.get("groups") or [])
        unknown = [group for group in memberships if group not in names]
        if not user_name or unknown:
            raise SpecError(f"an Identity Center user needs a user_name and groups the spec lists: {entry!r}")
        given, _, family = user_name.partition(".")
        users.append(IdentityCenterUser(
            user_name=user_name, given_name=str(entry.get("given_name") or given.title()),
            family_name=str(entry.get("family_name") or family.title() or given.title()),
            email=str(entry.get("email") or f"{user_name}@example.com"), groups=memberships))
    if len(names) != len(groups) or len({u.user_name for u in users}) != len(users):
        raise SpecError("Identity Center group names and user names must be unique")
    return IdentityCenterSpec(groups=groups, users=users)


def _collect_ous(entries: list[dict[str, Any]], parent_path: str, ous: list[OuSpec],
                 accounts: list[AccountSpec]) -> None:
    seen: set[str] = set()
    for entry in entries:
        name = str(entry.get("name") or "").strip()
        if not name or "/" in name:
            raise SpecError(f"an OU under {parent_path or 'the root'} has no valid name: {entry!r}")
        if name in seen:
            raise SpecError(f"two OUs named {name} under {parent_path or 'the root'}")
        seen.add(name)
        path = f"{parent_path}/{name}" if parent_path else name
        ous.append(OuSpec(name=name, path=path, parent_path=parent_path, tags=_tags(entry.get("tags"))))
        _collect_accounts(entry.get("accounts") or [], path, accounts)
        _collect_ous(entry.get("organizational_units") or [], path, ous, accounts)


def _collect_accounts(entries: list[dict[str, Any]], ou_path: str, accounts: list[AccountSpec]) -> None:
    for entry in entries:
        name = str(entry.get("name") or "").strip()
        email = str(entry.get("email") or "").strip()
        if not name or "@" not in email:
            raise SpecError(f"an account in {ou_path or 'the root'} needs a name and an email: {entry!r}")
        accounts.append(AccountSpec(name=name, email=email, ou_path=ou_path, tags=_tags(entry.get("tags")),
                                    suspended=bool(entry.get("suspended", False))))


def _tags(value: Any) -> dict[str, str]:
    return {str(key): str(tag_value) for key, tag_value in (value or {}).items()}


# --- generated large organizations --------------------------------------------------------------

_NESTED_OU_NAMES = ("Prod", "Dev", "Test", "Staging")
_ENVIRONMENT_OF = {"Prod": "prod", "Dev": "dev", "Test": "test", "Staging": "test"}


def build_spec(
    n_accounts: int = 1000,
    n_ous: int = 50,
    *,
    sandbox_accounts: int = 25,
    suspended_accounts: int = 1,
    domain: str = "large.orgiam.example",
    depth: int = 3,
) -> dict[str, Any]:
    """A large organization for benchmarks and pagination tests.

    OUs (``n_ous`` in all): Security, Sandbox, Suspended and Workloads at the top; team OUs under
    Workloads (more than 20 of them once ``n_ous`` is 25 or more, about half of the rest in larger
    organizations); nested OUs (Prod, Dev, ...) under the teams, two levels down.

    Member accounts (``n_accounts``, the management account not counted): the central "Security"
    account and "Log-Archive" in Security, ``sandbox_accounts`` in Sandbox (more than 20 by default),
    ``suspended_accounts`` closed ones in Suspended, the rest spread evenly over the Workloads OUs.

    ``depth``: how many OU levels at most (Workloads is level 1, a team level 2). The default, 3, is the
    shape above. Above 3 (the benchmark uses 5), half the OUs below Workloads are teams (no minimum of
    21) and the other half hang in chains below them, one chain per team while they last: an
    environment OU (level 3), "Region 1" (level 4), "Cell 1" (level 5), "Level 6" and so on.
    """
    fixed_accounts = 2 + suspended_accounts
    if n_ous < 5:
        raise SpecError("a large spec needs at least 5 OUs")
    if n_accounts < fixed_accounts:
        raise SpecError(f"a large spec needs at least {fixed_accounts} accounts")

    if depth < 3:
        raise SpecError("a large spec has at least 3 OU levels (Workloads, teams, environments)")

    below_workloads = n_ous - 4
    if depth == 3:
        n_teams = min(below_workloads, max(21, math.ceil(below_workloads / 2)))
    else:
        n_teams = max(1, math.ceil(below_workloads / 2))
    n_nested = below_workloads - n_teams
    teams: list[dict[str, Any]] = [
        {"name": f"Team {index:02d}", "tags": {"Owner": f"team-{index:02d}"}, "organizational_units": []}
        for index in range(1, n_teams + 1)
    ]
    # (OU, owner, environment) of every OU below the teams, in the order accounts are dealt to them
    nested_ous: list[tuple[dict[str, Any], str, str]] = []
    if depth == 3:
        for index in range(n_nested):
            team = teams[index % n_teams]
            rank = len(team["organizational_units"])
            name = _NESTED_OU_NAMES[rank] if rank < len(_NESTED_OU_NAMES) else f"Env {rank + 1}"
            environment = _ENVIRONMENT_OF.get(name, "dev")
            team["organizational_units"].append({"name": name, "tags": {"Environment": environment}})
        nested_ous = [(nested, team["tags"]["Owner"], nested["tags"]["Environment"])
                      for team in teams for nested in team["organizational_units"]]
    else:
        left = n_nested
        for index, team in enumerate(teams):
            if left <= 0:
                break
            name = _NESTED_OU_NAMES[index % len(_NESTED_OU_NAMES)]
            environment = _ENVIRONMENT_OF[name]
            parent = team
            for level in range(3, min(depth, 2 + left) + 1):
                label = name if level == 3 else {4: "Region 1", 5: "Cell 1"}.get(level, f"Level {level}")
                nested = {"name": label, "tags": {"Environment": environment}, "organizational_units": []}
                parent["organizational_units"].append(nested)
                nested_ous.append((nested, team["tags"]["Owner"], environment))
                parent = nested
                left -= 1

    sandbox_count = min(sandbox_accounts, n_accounts - fixed_accounts)
    workload_count = n_accounts - fixed_accounts - sandbox_count
    namer = _AccountNamer(domain)
    sandbox = [namer.account("Sandbox", "sandbox", "platform") for _ in range(sandbox_count)]
    suspended = [namer.account("Retired", "prod", "legacy", suspended=True) for _ in range(suspended_accounts)]

    workload_ous = [(team, team["tags"]["Owner"], "test") for team in teams] + nested_ous
    if not workload_ous and workload_count:
        raise SpecError("no Workloads OU to hold the accounts")
    for index in range(workload_count):
        ou, owner, environment = workload_ous[index % len(workload_ous)]
        ou.setdefault("accounts", []).append(namer.account("Workload", environment, owner))

    shared_security = {"Environment": "shared", "Owner": "security"}
    return {
        "management_account": {"name": "Management", "tags": {"Environment": "shared", "Owner": "platform"}},
        "organizational_units": [
            {"name": "Security", "tags": {"Owner": "security"}, "accounts": [
                {"name": "Security", "email": f"security@{domain}", "tags": dict(shared_security)},
                {"name": "Log-Archive", "email": f"log-archive@{domain}", "tags": dict(shared_security)},
            ]},
            {"name": "Sandbox", "tags": {"Owner": "platform"}, "accounts": sandbox},
            {"name": "Workloads", "tags": {"Owner": "platform"}, "organizational_units": teams},
            {"name": "Suspended", "accounts": suspended},
        ],
    }


class _AccountNamer:
    def __init__(self, domain: str) -> None:
        self._domain = domain
        self._next = 1

    def account(self, kind: str, environment: str, owner: str, suspended: bool = False) -> dict[str, Any]:
        name = f"{kind} {self._next:04d}"
        self._next += 1
        entry: dict[str, Any] = {
            "name": name,
            "email": f"{re.sub(r'[^a-z0-9]+', '-', name.lower())}@{self._domain}",
            "tags": {"Environment": environment, "Owner": owner},
        }
        if self._next % 10 == 0:
            entry["tags"]["CostCenter"] = f"CC-{self._next:04d}"
        if suspended:
            entry["suspended"] = True
        return entry

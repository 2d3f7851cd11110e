# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The StackSets engine's plan (``engine: stacksets``): one service-managed stack set per catalog role.

Pure: no AWS call. From the resolution (which accounts get which role, the same as the direct engine's) and
the organization's OU ids, each role gets:

* a template that is that role alone, rendered by ``render/member.py`` exactly as in a member stack (same
  logical id, name, path, trust policy), with the account id as ``AWS::AccountId`` where the member
  template writes it, so that one template serves every account;
* its targets: the OU ids of its recursive ``ou_paths`` with auto-deployment, when the OUs say exactly who
  gets it, else none (see :func:`role_targets`); the accounts that must have an instance, each with its
  parent OU (service-managed stack sets address accounts only through an OU: ``INTERSECTION``); the accounts
  under its OUs that must not (``DIFFERENCE``);
* what changes: instances to create and to delete, from the desired accounts against the observed ones.

AWS's rule that shapes this (CloudFormation user guide, "Enable or disable automatic deployments"):
auto-deployment is a stack set setting that ignores account filters; once an OU is a target, every account
created in or moved into it gets an instance. So auto-deployment is on only for a role whose targets are
recursive OU paths with, at most, accounts excluded by name or id (existing accounts, left out with
``DIFFERENCE``); a role that names accounts, tags or a non-recursive OU, excludes OUs or tags, or that an
inventory variable adds to an account outside its OUs, is deployed to exactly its accounts with
auto-deployment off: the next run reaches a new account.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Iterable

from ..catalog import RoleDef, normalize_ou_path
from ..model import Account
from ..render.member import member_template

# a stand-in account id, replaced by AWS::AccountId: twelve digits, as render/member.py expects, and never a real
# account's (AWS account ids do not start with 0000000)
ACCOUNT_PLACEHOLDER = "000000000042"
INTERSECTION, DIFFERENCE = "INTERSECTION", "DIFFERENCE"
STACKSET_NAME = re.compile(r"[^A-Za-z0-9-]")


def stackset_name(prefix: str, role_name: str) -> str:
    """``<prefix>-role-<Role>``; a role name with characters stack set names do not take (``+=,.@_``) has them
    replaced by ``-`` and a short hash of the name added, so that two roles never share a stack set."""
    clean = STACKSET_NAME.sub("-", role_name)
    if clean != role_name:
        clean = f"{clean}-{hashlib.sha256(role_name.encode()).hexdigest()[:6]}"
    return f"{prefix}-role-{clean}"


def role_template(role: RoleDef, central_account_id: str, partition: str = "aws", mode: str = "iam_users") -> dict[str, Any]:
    """The stack set's template: the member stack's resources for this one role, for any account."""
    template = member_template([role], central_account_id, ACCOUNT_PLACEHOLDER, partition, mode)
    template.pop("Outputs", None)  # nothing reads an instance's outputs: the instances' status says what exists
    template["Description"] = (f"orgiam: role {role.name} for the people (or machines) the catalog names. Managed by orgiam "
                               "through a service-managed StackSet; change roles_catalog/, not this stack.")
    return _for_any_account(template)


def _for_any_account(value: Any) -> Any:
    """The placeholder account id as ``AWS::AccountId``: ``Ref`` for the whole string, ``Fn::Sub`` inside one
    (a ``${`` already there, an IAM policy variable, is escaped as ``${!``)."""
    if isinstance(value, dict):
        return {k: _for_any_account(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_for_any_account(v) for v in value]
    if isinstance(value, str) and ACCOUNT_PLACEHOLDER in value:
        if value == ACCOUNT_PLACEHOLDER:
            return {"Ref": "AWS::AccountId"}
        return {"Fn::Sub": value.replace("${", "${!").replace(ACCOUNT_PLACEHOLDER, "${AWS::AccountId}")}
    return value


@dataclass(frozen=True)
class RoleTargets:
    """Where one role's stack set deploys (see the module's docstring)."""

    role: str
    auto: bool  # auto-deployment on: the OUs say exactly who gets it
    ou_ids: tuple[str, ...] = ()  # with auto: the OU ids of its recursive ou_paths (targets of the stack set)
    accounts: dict[str, str] = field(default_factory=dict)  # account id -> parent OU id: every account that must have it
    excluded: tuple[str, ...] = ()  # with auto: accounts under ou_ids that must not have it (DIFFERENCE)
    why_not_auto: str = ""


def parent_ou(account: Account, ou_ids: dict[str, str], root_id: str) -> str:
    """The id of the OU (or root) an account is directly in; "" when the inventory does not know it."""
    if not account.ou_path:
        return root_id
    return _lookup(ou_ids, account.ou_path)


def _lookup(ou_ids: dict[str, str], path: str) -> str:
    wanted = normalize_ou_path(path).lower()
    for known, ou_id in ou_ids.items():
        if normalize_ou_path(known).lower() == wanted:
            return ou_id
    return ""


def _under(account: Account, path: str) -> bool:
    a, t = account.ou_path.lower(), normalize_ou_path(path).lower()
    return a == t or a.startswith(t + "/")


def deployable(account: Account) -> bool:
    """StackSets deploys to ACTIVE member accounts only; the management account gets a direct stack."""
    return account.active and not account.is_management


def role_targets(role: RoleDef, holders: Iterable[Account], accounts: Iterable[Account], ou_ids: dict[str, str],
                 root_id: str) -> RoleTargets:
    """The targets of ``role``'s stack set. ``holders``: the accounts the resolution gives the role (the truth, as
    for the direct engine); ``accounts``: every account of the inventory."""
    everyone = [a for a in accounts if deployable(a)]
    wanted = {a.id: parent_ou(a, ou_ids, root_id) for a in holders if deployable(a)}
    include, exclude = role.include, role.exclude
    reasons = []
    if include.accounts:
        reasons.append("it names accounts")
    if include.tags:
        reasons.append("it selects accounts by tag")
    if any(not t.recursive for t in include.ou_paths):
        reasons.append("it names an OU without its child OUs")
    if exclude.ou_paths or exclude.tags:
        reasons.append("it excludes OUs or tags")
    if not include.ou_paths:
        reasons.append("it names no OU")
    paths = [t.path for t in include.ou_paths]
    outside = sorted(a for a in wanted if not any(_under(_by_id(everyone, a), p) for p in paths))
    if outside and not reasons:
        reasons.append(f"an inventory variable (orgiam_roles_add) gives it to {len(outside)} account(s) outside its OUs")
    if reasons:
        return RoleTargets(role.name, False, (), wanted, (), "; ".join(reasons))
    ous = tuple(sorted({_lookup(ou_ids, p) for p in paths} - {""}))
    covered = [a for a in everyone if any(_under(a, p) for p in paths)]
    excluded = tuple(sorted(a.id for a in covered if a.id not in wanted))
    return RoleTargets(role.name, True, ous, wanted, excluded)


def _by_id(accounts: list[Account], account_id: str) -> Account:
    return next(a for a in accounts if a.id == account_id)


# --- what changes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceChanges:
    """Instances to create (account -> parent OU), to delete (account -> parent OU), to deploy again (not
    CURRENT), and the stack set's OU targets to add (auto-deployment)."""

    create: dict[str, str] = field(default_factory=dict)
    delete: dict[str, str] = field(default_factory=dict)
    again: tuple[str, ...] = ()
    ou_ids: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.create or self.delete or self.again or self.ou_ids)

    def encoded(self) -> tuple[str, ...]:
        """As a saved plan keeps them (``deploy_to``): ``+account@ou``, ``-account@ou``, ``~account``, ``ou:id``."""
        return (tuple(f"ou:{o}" for o in self.ou_ids) + tuple(f"+{a}@{o}" for a, o in sorted(self.create.items()))
                + tuple(f"-{a}@{o}" for a, o in sorted(self.delete.items())) + tuple(f"~{a}" for a in self.again))

    @staticmethod
    def decoded(entries: Iterable[str]) -> "InstanceChanges":
        create, delete, again, ous = {}, {}, [], []
        for entry in entries:
            if entry.startswith("ou:"):
                ous.append(entry[3:])
            elif entry[:1] in "+-":
                account, _, ou = entry[1:].partition("@")
                (create if entry[0] == "+" else delete)[account] = ou
            elif entry.startswith("~"):
                again.append(entry[1:])
        return InstanceChanges(create, delete, tuple(again), tuple(ous))


def instance_changes(targets: RoleTargets, observed: dict[str, str], ou_targets: Iterable[str], scope: set[str],
                     parents: dict[str, str], prune: str) -> tuple[InstanceChanges, tuple[str, ...]]:
    """What to do with the instances, and the accounts kept although no longer targeted (prune is not 'apply').

    ``observed``: account -> instance status (CURRENT, OUTDATED, INOPERABLE, ...); ``ou_targets``: the stack set's
    OU targets now; ``scope``: the accounts this run may change (ACTIVE, in the run); ``parents``: account -> its
    parent OU now. Accounts outside ``scope`` (suspended, left out by --limit or the inventory) are left alone."""
    create = {a: ou for a, ou in targets.accounts.items() if a in scope and a not in observed}
    again = tuple(sorted(a for a, status in observed.items() if a in scope and a in targets.accounts and status != "CURRENT"))
    extra = sorted(a for a in observed if a in scope and a not in targets.accounts)
    delete = {a: parents.get(a, "") for a in extra} if prune == "apply" else {}
    retained = () if prune == "apply" else tuple(extra)
    new_ous = tuple(sorted(set(targets.ou_ids) - set(ou_targets))) if targets.auto else ()
    return InstanceChanges(create, delete, again, new_ous), retained


def account_targets(accounts: dict[str, str]) -> dict[str, Any]:
    """DeploymentTargets for exactly these accounts (account -> parent OU): their OUs, filtered to them."""
    return {"OrganizationalUnitIds": sorted(set(accounts.values())), "Accounts": sorted(accounts),
            "AccountFilterType": INTERSECTION}


def ou_targets(ou_ids: Iterable[str], excluded: Iterable[str]) -> dict[str, Any]:
    """DeploymentTargets for every account under ``ou_ids`` but ``excluded``."""
    targets: dict[str, Any] = {"OrganizationalUnitIds": sorted(ou_ids)}
    left_out = sorted(set(excluded))
    if left_out:
        targets.update(Accounts=left_out, AccountFilterType=DIFFERENCE)
    return targets


def operation_preferences(settings: dict[str, Any]) -> dict[str, Any]:
    """settings.yml ``stacksets`` as CloudFormation's OperationPreferences. Unset: every account at once, and any
    number may fail without stopping the others (each account is its own failure domain, reported after)."""
    return {
        "RegionConcurrencyType": str(settings.get("region_concurrency") or "PARALLEL"),
        "MaxConcurrentPercentage": int(settings.get("max_concurrent_percentage") or 100),
        "FailureTolerancePercentage": int(settings["failure_tolerance_percentage"])
        if settings.get("failure_tolerance_percentage") is not None else 100,
    }


def batches(items: list[str], size: int) -> list[list[str]]:
    size = max(1, size)
    return [items[i:i + size] for i in range(0, len(items), size)]

"""What a service-managed stack set operation is asked to do: its deployment targets and its preferences.

``targets(...)`` turns a request's ``DeploymentTargets`` into the accounts it reaches, as AWS reads them:

- ``OrganizationalUnitIds`` reach every ACTIVE account below them, nested OUs included, never the
  organization's management account;
- ``AccountFilterType`` combines them with ``Accounts``: ``INTERSECTION`` the listed accounts that are within
  the OUs, ``DIFFERENCE`` the OUs' accounts but the listed ones, ``UNION`` the OUs' accounts plus the listed
  ones (wherever they are), ``NONE`` (or no ``Accounts``) the OUs' accounts;
- an update may name ``Accounts`` alone; a create or a delete needs OUs;
- a create that names both OUs and accounts must say how to combine them, and may not say ``UNION``
  (AWS: "UNION is not supported for CreateStackInstances operations"); an update or delete that says
  nothing combines them as ``UNION`` (AWS's default).

``preferences(...)`` checks ``OperationPreferences`` as AWS does (one of each count/percentage pair, their
ranges, the enumerations) and gives what the operation runs by: failure tolerance and concurrency per
Region, the Region order and whether Regions run one after another or together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from moto.cloudformation.exceptions import ValidationError

CREATE, UPDATE, DELETE = "CREATE", "UPDATE", "DELETE"
FILTER_TYPES = ("NONE", "INTERSECTION", "DIFFERENCE", "UNION")
REGION_CONCURRENCY = ("SEQUENTIAL", "PARALLEL")
CONCURRENCY_MODES = ("STRICT_FAILURE_TOLERANCE", "SOFT_FAILURE_TOLERANCE")
_ACCOUNT_ID = re.compile(r"^[0-9]{12}$")


# --- the organization ---------------------------------------------------------------------------


def parents(backend: Any) -> dict[str, str | None]:
    return {ou.id: ou.parent_id for ou in backend.ou}


def ancestors(parent_id: str | None, parent_of: dict[str, str | None]) -> list[str]:
    """An account's parent and every OU above it, up to and including the root."""
    chain: list[str] = []
    while parent_id and parent_id not in chain:
        chain.append(parent_id)
        parent_id = parent_of.get(parent_id)
    return chain


def target_of(parent_id: str | None, targets: list[str], parent_of: dict[str, str | None]) -> str | None:
    """The nearest target OU (or root) above ``parent_id``; None when no target holds it."""
    wanted = set(targets)
    return next((ancestor for ancestor in ancestors(parent_id, parent_of) if ancestor in wanted), None)


def eligible(account: Any, backend: Any) -> bool:
    """Service-managed stack sets never deploy to the management account, nor to closed accounts."""
    return bool(account.id != backend.org.master_account_id and account.status == "ACTIVE")


def accounts_under(backend: Any, ou_ids: list[str], active_only: bool = True) -> list[tuple[str, str]]:
    """(account id, the target that reaches it) for every eligible account below ``ou_ids`` (``active_only``
    False: closed accounts too, never the management account)."""
    parent_of = parents(backend)
    found = []
    for account in backend.accounts:
        target = target_of(account.parent_id, ou_ids, parent_of)
        if target is None or account.id == backend.org.master_account_id:
            continue
        if not active_only or eligible(account, backend):
            found.append((account.id, target))
    return found


# --- deployment targets -------------------------------------------------------------------------


@dataclass(frozen=True)
class Targets:
    """The accounts an operation reaches, each with the OU (or root) that reaches it, and what was asked."""

    accounts: tuple[tuple[str, str], ...]  # (account id, organizational unit id)
    ou_ids: tuple[str, ...]
    listed: tuple[str, ...]
    filter_type: str  # "" when the request said none
    requested: dict[str, Any]  # DeploymentTargets as DescribeStackSetOperation shows them


def targets(backend: Any, deployment_targets: dict[str, Any] | None, action: str) -> Targets:
    """The accounts ``deployment_targets`` reach for an operation of ``action``; ValidationError as AWS says no.
    A delete reaches closed accounts too (their instances can be deleted)."""
    requested = dict(deployment_targets or {})
    ou_ids = [str(ou) for ou in requested.get("OrganizationalUnitIds") or []]
    listed = [str(a) for a in requested.get("Accounts") or []]
    filter_type = str(requested.get("AccountFilterType") or "")
    if not requested or not (ou_ids or listed or requested.get("AccountsUrl")):
        raise ValidationError(message="StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target")
    if requested.get("AccountsUrl"):
        raise ValidationError(message="DeploymentTargets.AccountsUrl is not supported by the orgiam emulator; list the Accounts")
    if filter_type and filter_type not in FILTER_TYPES:
        raise ValidationError(message=(
            f"1 validation error detected: Value '{filter_type}' at 'deploymentTargets.accountFilterType' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(FILTER_TYPES)}]"))
    bad = [a for a in listed if not _ACCOUNT_ID.match(a)]
    if bad:
        raise ValidationError(message=(
            f"1 validation error detected: Value '[{', '.join(bad)}]' at 'deploymentTargets.accounts' failed to satisfy "
            "constraint: Member must satisfy constraint: [Member must satisfy regular expression pattern: ^[0-9]{12}$]"))
    if not ou_ids:
        if action != UPDATE:
            raise ValidationError(message="OrganizationalUnitIds are required")
        if filter_type not in ("", "NONE", "UNION"):
            raise ValidationError(message=f"AccountFilterType {filter_type} needs OrganizationalUnitIds to filter")
    known = {ou.id for ou in backend.ou}
    unknown = [ou for ou in ou_ids if ou not in known]
    if unknown:
        raise ValidationError(message=f"Organizational unit or root {', '.join(unknown)} does not exist in the organization")
    if ou_ids and listed:
        if action == CREATE and not filter_type:
            raise ValidationError(message=(
                "AccountFilterType must be specified when both OrganizationalUnitIds and Accounts are specified "
                "for CreateStackInstances"))
        if action == CREATE and filter_type == "UNION":
            raise ValidationError(message="AccountFilterType UNION is not supported for CreateStackInstances operations")
    if filter_type in ("INTERSECTION", "DIFFERENCE") and not listed:
        raise ValidationError(message=f"Accounts must be specified with AccountFilterType {filter_type}")
    effective = filter_type or ("UNION" if listed else "NONE")
    under = accounts_under(backend, ou_ids, active_only=action != DELETE)
    wanted = set(listed)
    if effective == "INTERSECTION":
        reached = [(a, ou) for a, ou in under if a in wanted]
    elif effective == "DIFFERENCE":
        reached = [(a, ou) for a, ou in under if a not in wanted]
    elif effective == "UNION":
        reached = list(under)
        seen = {a for a, _ in under}
        by_id = {account.id: account for account in backend.accounts}
        for account_id in listed:
            account = by_id.get(account_id)
            if account_id not in seen and account is not None and (action == DELETE or eligible(account, backend)) \
                    and account_id != backend.org.master_account_id:
                reached.append((account_id, str(account.parent_id)))
                seen.add(account_id)
    else:
        reached = list(under)
    shown: dict[str, Any] = {}
    if listed:
        shown["Accounts"] = listed
    if ou_ids:
        shown["OrganizationalUnitIds"] = ou_ids
    if filter_type:
        shown["AccountFilterType"] = filter_type
    return Targets(tuple(sorted(reached)), tuple(ou_ids), tuple(listed), filter_type, shown)


# --- operation preferences ----------------------------------------------------------------------


@dataclass(frozen=True)
class Preferences:
    """How an operation runs: per Region, how many accounts may fail and how many run at once."""

    shown: dict[str, Any]  # OperationPreferences as DescribeStackSetOperation shows them
    failure_count: int | None = None
    failure_percentage: int | None = None
    max_count: int | None = None
    max_percentage: int | None = None
    region_order: tuple[str, ...] = ()
    parallel_regions: bool = False
    strict: bool = True
    auto: bool = False  # an automatic deployment: preferences do not apply, each account stands alone

    def tolerance(self, accounts: int) -> int:
        """Failed accounts a Region tolerates (a percentage rounds down)."""
        if self.auto:
            return accounts
        if self.failure_percentage is not None:
            return accounts * self.failure_percentage // 100
        return self.failure_count or 0

    def concurrency(self, accounts: int) -> int:
        """Accounts run at once in a Region (a percentage rounds down, and is at least one)."""
        if self.auto:
            return max(1, accounts)
        if self.max_percentage is not None:
            return max(1, accounts * self.max_percentage // 100)
        return self.max_count or 1

    def ordered(self, regions: list[str]) -> list[str]:
        first = [r for r in self.region_order if r in regions]
        return first + [r for r in regions if r not in first]


AUTO = Preferences(shown={}, auto=True)


def _range_error(field: str, value: Any, low: int, high: int | None) -> ValidationError:
    bound = f"greater than or equal to {low}" if value < low else f"less than or equal to {high}"
    return ValidationError(message=(f"1 validation error detected: Value '{value}' at 'operationPreferences.{field}' "
                                    f"failed to satisfy constraint: Member must have value {bound}"))


def _integer(document: dict[str, Any], key: str, low: int, high: int | None) -> int | None:
    value = document.get(key)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError(message=f"OperationPreferences.{key} must be an integer") from None
    if number < low or (high is not None and number > high):
        raise _range_error(key[0].lower() + key[1:], number, low, high)
    return number


def preferences(document: dict[str, Any] | None) -> Preferences:
    """The operation's preferences; ValidationError for what AWS refuses."""
    given = dict(document or {})
    failure_count = _integer(given, "FailureToleranceCount", 0, None)
    failure_percentage = _integer(given, "FailureTolerancePercentage", 0, 100)
    max_count = _integer(given, "MaxConcurrentCount", 1, None)
    max_percentage = _integer(given, "MaxConcurrentPercentage", 1, 100)
    if failure_count is not None and failure_percentage is not None:
        raise ValidationError(message="You can specify either FailureToleranceCount or FailureTolerancePercentage, but not both")
    if max_count is not None and max_percentage is not None:
        raise ValidationError(message="You can specify either MaxConcurrentCount or MaxConcurrentPercentage, but not both")
    region_concurrency = str(given.get("RegionConcurrencyType") or "")
    if region_concurrency and region_concurrency not in REGION_CONCURRENCY:
        raise ValidationError(message=(
            f"1 validation error detected: Value '{region_concurrency}' at 'operationPreferences.regionConcurrencyType' "
            f"failed to satisfy constraint: Member must satisfy enum value set: [{', '.join(REGION_CONCURRENCY)}]"))
    mode = str(given.get("ConcurrencyMode") or "")
    if mode and mode not in CONCURRENCY_MODES:
        raise ValidationError(message=(
            f"1 validation error detected: Value '{mode}' at 'operationPreferences.concurrencyMode' failed to satisfy "
            f"constraint: Member must satisfy enum value set: [{', '.join(CONCURRENCY_MODES)}]"))
    region_order = tuple(str(r) for r in given.get("RegionOrder") or [])
    shown: dict[str, Any] = {"RegionOrder": list(region_order)}
    if region_concurrency:
        shown["RegionConcurrencyType"] = region_concurrency
    if failure_percentage is not None:
        shown["FailureTolerancePercentage"] = failure_percentage
    else:
        shown["FailureToleranceCount"] = failure_count or 0
    if max_percentage is not None:
        shown["MaxConcurrentPercentage"] = max_percentage
    else:
        shown["MaxConcurrentCount"] = max_count or 1
    if mode:
        shown["ConcurrencyMode"] = mode
    return Preferences(shown, failure_count, failure_percentage, max_count, max_percentage, region_order,
                       region_concurrency == "PARALLEL", mode != "SOFT_FAILURE_TOLERANCE")

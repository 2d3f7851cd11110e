"""``account:PutAccountName``, which moto 5.2.5 lacks.

moto names the management account "master" when it creates an organization, and no other API renames an
account. AWS's Account Management API does (``PutAccountName``); the emulator answers it by renaming the
account in moto's organization, so listings show the name the demo organization gives it.
"""

from __future__ import annotations

import json
from typing import Any

PUT_ACCOUNT_NAME_PATH = "/putAccountName"

Response = tuple[int, dict[str, str], bytes]


def put_account_name(caller_account_id: str, region: str, body: bytes) -> Response:
    """Rename ``AccountId`` (default: the caller's account) in the organization that holds it."""
    try:
        request = json.loads(body or b"{}")
        new_name = str(request["AccountName"])
    except (ValueError, KeyError):
        return _error(400, "ValidationException", "AccountName is required.")
    if not 1 <= len(new_name) <= 50:
        return _error(400, "ValidationException", "AccountName must be 1 to 50 characters long.")
    target_account_id = str(request.get("AccountId") or caller_account_id)

    backend = _organization_backend_of(caller_account_id, region)
    if backend is None:
        if target_account_id != caller_account_id:
            return _error(403, "AccessDeniedException", "The caller is not in an organization.")
        return 200, {"Content-Type": "application/json"}, b"{}"
    if target_account_id != caller_account_id and backend.account_id != caller_account_id:
        return _error(403, "AccessDeniedException", "Only the management account may rename other accounts.")
    for account in backend.accounts:
        if account.id == target_account_id:
            account.name = new_name
            return 200, {"Content-Type": "application/json"}, b"{}"
    return _error(404, "ResourceNotFoundException", f"Account {target_account_id} was not found.")


def _organization_backend_of(account_id: str, region: str) -> Any | None:
    """moto's organizations backend of the organization ``account_id`` belongs to, if any."""
    from moto.organizations.models import organizations_backends
    from moto.utilities.utils import get_partition

    partition = get_partition(region)
    own = organizations_backends[account_id][partition]
    if own.org is not None:
        return own
    if account_id in organizations_backends.master_accounts:
        master_account_id, master_partition = organizations_backends.master_accounts[account_id]
        master = organizations_backends[master_account_id][master_partition]
        return master if master.org is not None else None
    return None


def _error(status: int, code: str, message: str) -> Response:
    headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return status, headers, json.dumps({"message": message}).encode()

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""AWS Organizations as the bootstrap and discovery use it, beyond listing the organization.

Delegated administrators (``ListDelegatedAdministrators``, ``RegisterDelegatedAdministrator``), the
organization's resource-based delegation policy (``DescribeResourcePolicy``, ``PutResourcePolicy``), and
what to tell a caller whose account may not read the organization. Each function takes an Organizations
client of the management account (the only one that may register or put the policy) and does one thing;
errors become ``AwsAccessError`` with one line and the AWS code.
"""

from __future__ import annotations

import json
from typing import Any

from .errors import AwsAccessError, call, error_code, explain_aws_error

STACKSETS_PRINCIPAL = "member.org.stacksets.cloudformation.amazonaws.com"
ACCESS_DENIED = ("AccessDeniedException", "AccessDenied")
DOCS = "docs/delegated-admin.md"


def root_policy_types(org: Any) -> tuple[str, set[str]]:
    """(the root's id, the organization policy types enabled on it): one ListRoots."""
    (root,) = org.list_roots()["Roots"]
    return str(root["Id"]), {t["Type"] for t in root.get("PolicyTypes", []) if t.get("Status") == "ENABLED"}


def delegated_administrators(org: Any, service_principal: str) -> tuple[str, ...]:
    """The ids of the accounts registered as delegated administrators for ``service_principal``."""
    found: list[str] = []
    try:
        for page in org.get_paginator("list_delegated_administrators").paginate(ServicePrincipal=service_principal):
            found += [str(admin["Id"]) for admin in page.get("DelegatedAdministrators", [])]
    except Exception as exc:
        raise explain_aws_error(exc, doing=f"list the delegated administrators for {service_principal}") from None
    return tuple(sorted(found))


def register_delegated_administrator(org: Any, account_id: str, service_principal: str) -> bool:
    """Register the account; True when this call did it, False when it already was (a registration that
    raced ours, or whose answer was lost)."""
    try:
        org.register_delegated_administrator(AccountId=account_id, ServicePrincipal=service_principal)
    except Exception as exc:
        if error_code(exc) == "AccountAlreadyRegisteredException":
            return False
        raise explain_aws_error(exc, doing=f"register account {account_id} as delegated administrator for {service_principal}") from None
    return True


def resource_policy(org: Any) -> dict[str, Any] | None:
    """The organization's delegation policy as a document; None when it has none."""
    try:
        content = org.describe_resource_policy()["ResourcePolicy"]["Content"]
    except Exception as exc:
        if error_code(exc) == "ResourcePolicyNotFoundException":
            return None
        raise explain_aws_error(exc, doing="read the organization's delegation policy") from None
    try:
        document = json.loads(content)
    except ValueError as exc:
        raise AwsAccessError(f"the organization's delegation policy is not JSON: {exc}", "MalformedPolicyDocument") from None
    if not isinstance(document, dict):
        raise AwsAccessError("the organization's delegation policy is not a policy document", "MalformedPolicyDocument")
    return document


def put_resource_policy(org: Any, document: dict[str, Any]) -> None:
    """Replace the organization's delegation policy (the whole document: AWS keeps one per organization)."""
    call("put the organization's delegation policy", org.put_resource_policy, Content=json.dumps(document, indent=2))


def explain_read_denied(exc: BaseException, caller_account_id: str, endpoint_url: str | None = None,
                        doing: str = "cannot discover the AWS Organization") -> AwsAccessError:
    """An error of reading the organization, explained; when AWS denied it, which account asked and what to do."""
    if error_code(exc) not in ACCESS_DENIED:
        return explain_aws_error(exc, endpoint_url, doing)
    account = caller_account_id or "of your credentials"
    return AwsAccessError(
        f"{doing}: account {account} may not read the organization ({explain_aws_error(exc)}). AWS lets the management "
        "account read it, and a member account only when it is a delegated administrator or the organization's "
        "delegation policy allows it. Either use credentials of the management account; or make this account the "
        "delegated administrator (settings.yml pipeline.delegated_admin, then run playbooks/bootstrap.yml from the "
        f"management account: {DOCS}); or read through the management account's role "
        "orgiam/orgiam-organization-reader (the inventory's assume_role_arn)",
        error_code(exc))

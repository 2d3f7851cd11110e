# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""CloudFormation's limits on the member templates, and IAM's on the central groups, checked before any AWS call.

A pure function: it renders the member template of every account the resolution targets (as the sync
does, ``render/member.py``) and reports the accounts whose template CloudFormation would refuse, with
the roles behind it and what to do. Accounts that get the same roles get templates of the same size
(account ids are all 12 digits), so each set of roles is rendered once, however many accounts share it.

For the central stack, each identity group's managed policies are counted as the sync would attach them
(``render/central.py``): its assume-role policies for every role ARN it would grant, and its own
``managed_policies``, at most 10 together (IAM's default quota for a group).
"""

from __future__ import annotations

from typing import Any

from ..catalog import Catalog, RoleDef, canonical_json
from ..catalog.yamlsource import SourceError
from ..resolve import group_grants
from .central import chunk_assume_policies
from .common import MAX_POLICIES_PER_GROUP, role_arn
from .identity import backend_for
from .member import member_template

# CloudFormation's quotas (the same figures as aws/cloudformation.py, which enforces them at upload time)
TEMPLATE_BODY_MAX_BYTES = 51_200  # a TemplateBody
TEMPLATE_URL_MAX_BYTES = 1_000_000  # a template read from S3 (TemplateURL), through settings' template_bucket
MAX_RESOURCES = 500  # resources in one template
SHOWN_ACCOUNTS = 5
SHOWN_ROLES = 5


def member_body(roles: tuple[RoleDef, ...], central_id: str, account_id: str, partition: str, mode: str) -> str:
    """The member template's text as the sync sends it (canonical JSON)."""
    return canonical_json(member_template(roles, central_id, account_id, partition, mode))


def template_problems(catalog: Catalog, resolution: Any, partition: str = "aws") -> list[SourceError]:
    """Accounts whose member template is over CloudFormation's limits: size (51,200 bytes without
    ``template_bucket``, 1 MB with it) or 500 resources. One problem per set of roles, naming its accounts.
    First, the identity groups over IAM's managed policies per group (``group_problems``)."""
    central_id = resolution.central.id
    by_roles: dict[tuple[str, ...], list[Any]] = {}
    roles_of: dict[tuple[str, ...], tuple[RoleDef, ...]] = {}
    for account_id, roles in sorted(resolution.roles_by_account.items()):
        account = resolution.accounts.get(account_id)
        if not roles or account is None or not account.active:
            continue
        key = tuple(sorted(r.name for r in roles))
        by_roles.setdefault(key, []).append(account)
        roles_of.setdefault(key, tuple(roles))
    bucket = catalog.settings.template_bucket
    limit = TEMPLATE_URL_MAX_BYTES if bucket else TEMPLATE_BODY_MAX_BYTES
    problems = group_problems(catalog, resolution, partition)
    for key, accounts in by_roles.items():
        roles = roles_of[key]
        template = member_template(roles, central_id, accounts[0].id, partition, (catalog.identity.iam_mode or "iam_users"))
        size = len(canonical_json(template).encode())
        resources = len(template["Resources"])
        if resources <= MAX_RESOURCES and size <= limit:
            continue
        where = _accounts_text(accounts)
        biggest = _largest_roles(roles, central_id, accounts[0].id, partition, (catalog.identity.iam_mode or "iam_users"))
        if resources > MAX_RESOURCES:
            problems.append(SourceError(
                _source_file(roles, biggest),
                f"{where} would get {len(roles)} roles and {resources - len(roles)} customer managed policies: "
                f"{resources} resources in one template, over CloudFormation's {MAX_RESOURCES}. Target fewer roles at "
                f"{'these accounts' if len(accounts) > 1 else 'this account'} (exclude them from some roles' targets) or "
                f"merge roles; the largest: {_roles_text(biggest)}", field_path="targets"))
        if size > limit:
            if not bucket and size <= TEMPLATE_URL_MAX_BYTES:
                problems.append(SourceError(
                    catalog.settings.source or "settings.yml",
                    f"the member template of {where} would be {size:,} bytes ({len(roles)} roles), over CloudFormation's "
                    f"{TEMPLATE_BODY_MAX_BYTES:,} for a template body: set template_bucket to an S3 bucket of the central "
                    f"account (templates up to {TEMPLATE_URL_MAX_BYTES:,} bytes then go through it), or target fewer roles "
                    f"there; the largest: {_roles_text(biggest)}", field_path="template_bucket"))
            else:
                problems.append(SourceError(
                    _source_file(roles, biggest),
                    f"the member template of {where} would be {size:,} bytes ({len(roles)} roles), over CloudFormation's "
                    f"{TEMPLATE_URL_MAX_BYTES:,} even through template_bucket: target fewer roles there, or make the "
                    f"largest smaller (fewer or shorter inline policies): {_roles_text(biggest)}", field_path="targets"))
    return problems


def group_problems(catalog: Catalog, resolution: Any, partition: str = "aws") -> list[SourceError]:
    """Identity groups that would need more than IAM's 10 managed policies: their assume-role policies (for every
    role ARN the resolution gives them) and their own ``managed_policies``."""
    deployed: dict[str, list[str]] = {}
    for account_id, roles in sorted(resolution.roles_by_account.items()):
        for role in roles:
            deployed.setdefault(role.name, []).append(role_arn(account_id, role, partition))
    grants = group_grants(catalog.identity, deployed, resolution.accounts)
    backend = backend_for((catalog.identity.iam_mode or "iam_users"))
    mfa_by_role = {role.name: role.mfa_required for role in catalog.roles}
    problems = []
    for group in catalog.identity.groups:
        arns = grants.get(group.name) or []
        assume = len(chunk_assume_policies(arns, backend.grants_need_mfa(group, mfa_by_role))) if arns else 0
        if assume + len(group.managed_policies) <= MAX_POLICIES_PER_GROUP:
            continue
        own = f" and its own {len(group.managed_policies)} (managed_policies)" if group.managed_policies else ""
        problems.append(SourceError(
            group.source or catalog.identity.source or "identity.yml",
            f"group '{group.name}' would need {assume} assume-role policies for the {len(arns)} role ARNs it grants{own}: "
            f"{assume + len(group.managed_policies)} managed policies, over the {MAX_POLICIES_PER_GROUP} IAM attaches to a "
            "group. Split its grants with scopes over several groups, or attach fewer managed policies",
            field_path="managed_policies" if group.managed_policies else "grants"))
    return problems


def _largest_roles(roles: tuple[RoleDef, ...], central_id: str, account_id: str, partition: str, mode: str) -> list[tuple[RoleDef, int]]:
    sized = [(role, len(member_body((role,), central_id, account_id, partition, mode))) for role in roles]
    return sorted(sized, key=lambda pair: (-pair[1], pair[0].name))[:SHOWN_ROLES]


def _roles_text(biggest: list[tuple[RoleDef, int]]) -> str:
    return ", ".join(f"{role.name} ({size:,} bytes, {role.source})" for role, size in biggest)


def _source_file(roles: tuple[RoleDef, ...], biggest: list[tuple[RoleDef, int]]) -> str:
    return (biggest[0][0] if biggest else roles[0]).source


def _accounts_text(accounts: list[Any]) -> str:
    shown = ", ".join(f"'{a.name}' ({a.id})" for a in accounts[:SHOWN_ACCOUNTS])
    if len(accounts) == 1:
        return f"account {shown}"
    more = f" and {len(accounts) - SHOWN_ACCOUNTS} more" if len(accounts) > SHOWN_ACCOUNTS else ""
    return f"{len(accounts)} accounts ({shown}{more})"

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What every template orgiam renders shares: versions, logical ids, ARNs, tags and the hash.

Templates are deterministic (sorted), so their hash only changes when the content does; the hash
travels in a stack tag and makes a no-op cheap.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ..catalog import RoleDef, canonical_json
from ..catalog.managed_policies import AWS_MANAGED_POLICY_PATHS
from ..model import HASH_TAG, KIND_TAG, MANAGED_BY_TAG, MANAGED_BY_VALUE, PLAN_TAG, Desired

TEMPLATE_VERSION = "2010-09-09"
POLICY_VERSION = "2012-10-17"
MANAGED_POLICY_MAX_CHARS = 6144  # IAM counts the document without whitespace
MAX_POLICIES_PER_GROUP = 10  # IAM's default quota of managed policies on a group
ROLE_ARNS_OUTPUT = "OrgiamRoleArns"
GRANTS_METADATA = "OrgiamGrants"


class TemplateError(Exception):
    pass


def logical_id(prefix: str, name: str) -> str:
    """A CloudFormation logical id for ``name``: letters and digits, unique thanks to a short hash."""
    clean = re.sub(r"[^A-Za-z0-9]", "", name)[:200]
    digest = hashlib.sha256(name.encode()).hexdigest()[:6]
    return f"{prefix}{clean}{digest}"


def managed_policy_arn(reference: str, partition: str = "aws") -> str:
    """'ReadOnlyAccess' or 'job-function/ViewOnlyAccess' -> AWS managed ARN; ARNs unchanged."""
    if reference.startswith("arn:"):
        return reference
    path, _, name = reference.strip("/").rpartition("/")
    path = AWS_MANAGED_POLICY_PATHS.get(name, f"/{path}/" if path else "/")
    return f"arn:{partition}:iam::aws:policy{path}{name}"


def role_arn(account_id: str, role: RoleDef, partition: str = "aws") -> str:
    return f"arn:{partition}:iam::{account_id}:role{role.path}{role.name}"


def account_of_arn(arn: str) -> str:
    return arn.split(":")[4]


def stack_tags(kind: str, template_hash: str, plan_id: str = "") -> list[dict[str, str]]:
    tags = [
        {"Key": MANAGED_BY_TAG, "Value": MANAGED_BY_VALUE},
        {"Key": KIND_TAG, "Value": kind},
        {"Key": HASH_TAG, "Value": template_hash},
    ]
    if plan_id:
        tags.append({"Key": PLAN_TAG, "Value": plan_id})
    return tags


def template_hash(template: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(template).encode()).hexdigest()[:32]


def desired_template(template: dict[str, Any] | None) -> Desired:
    """A template orgiam rendered, as a task's desired state (None: the stack must not exist)."""
    if template is None:
        return Desired(None, None)
    return Desired(canonical_json(template), template_hash(template), document=template)

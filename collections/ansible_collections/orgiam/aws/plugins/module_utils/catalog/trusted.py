# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Machine roles: who a catalog role trusts when it is not the central account's people.

A role with ``trusted_by`` is assumed by machines: roles of this organization's accounts (a CI/CD
account's pipeline roles), whole accounts of the organization, or AWS services from the list below.
Such a role trusts nobody else: no person of the central account, no group there, no MFA (machines
cannot present it). What it trusts is checked when the catalog loads (services, patterns) and when it
is resolved against the organization (accounts, by name or id); ``render/member.py`` writes the trust
policy.

The service principals orgiam knows, and the condition each one's trust statement carries against the
confused deputy (a service tricked into using a role for someone else):

* ``aws:SourceAccount`` (the account the role lives in) where the service documents that it sets the
  key when it assumes a service role: CodeBuild (its service-role page, "Allow CodeBuild to interact
  with other AWS services", gives a trust policy with ``aws:SourceAccount``), ECS tasks (the task-role
  page recommends ``aws:SourceAccount`` or ``aws:SourceArn`` in the trust relationship) and Step
  Functions (its confused-deputy page does the same for state machine roles).
* no condition where the service does not set the keys or does not document it: CloudFormation (its
  service-role page asks only for the principal), CodePipeline and EventBridge (not documented for
  their AssumeRole calls as far as we found), Lambda and EC2 (their AssumeRole calls carry no
  ``aws:SourceAccount``; scanners that demand one are reported wrong for them, e.g. prowler issue
  #2810). A condition a service does not meet would break the role, so none is guessed.
* ``aws:SourceOrgID``: none of these. AWS's own data perimeter examples
  (aws-samples/data-perimeter-policy-examples, resource_control_policies/README.md, statement
  "EnforceConfusedDeputyProtection") say that not all services support ``aws:SourceOrgID`` on their
  ``sts:AssumeRole`` calls, and that it is not needed there: a service can only use a role that was
  passed to it (``iam:PassRole``), which already keeps the role in the caller's own account. Where
  the key applies at all, ``aws:SourceAccount`` of the role's own account is the tighter of the two.
  The renderer supports it (``SOURCE_ORG``) for a service added later that documents it.

No wildcard principal is ever written: an account is named (and must be of the organization), a role
pattern stays within that account, and a service is one of the list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SOURCE_ACCOUNT = "aws:SourceAccount"  # StringEquals the id of the account the role lives in
SOURCE_ORG = "aws:SourceOrgID"  # StringEquals the organization id

# service principal -> the confused deputy condition key its trust statement carries ("" for none); see above
SERVICE_PRINCIPALS: dict[str, str] = {
    "cloudformation.amazonaws.com": "",
    "codebuild.amazonaws.com": SOURCE_ACCOUNT,
    "codepipeline.amazonaws.com": "",
    "ec2.amazonaws.com": "",
    "ecs-tasks.amazonaws.com": SOURCE_ACCOUNT,
    "events.amazonaws.com": "",
    "lambda.amazonaws.com": "",
    "states.amazonaws.com": SOURCE_ACCOUNT,
}

ACCOUNT_ID = re.compile(r"^\d{12}$")
# a role's path and name after "role/" in its ARN, with IAM's characters and the ArnLike wildcards * and ?
ROLE_PATTERN = re.compile(r"^(?:[A-Za-z0-9_+=,.@*?-]+/)*[A-Za-z0-9_+=,.@*?-]+$")
MAX_ROLE_PATTERN = 512 + 64  # IAM's longest path and name


@dataclass(frozen=True)
class TrustedPrincipal:
    """One entry of a role's ``trusted_by``: roles of an account (``role`` a name or path pattern), a whole
    account (no ``role``), or an AWS service. ``account_id`` is set by ``resolve()`` from ``account`` (an
    account name or id of the organization)."""

    account: str = ""
    role: str = ""
    service: str = ""
    account_id: str = ""
    source: str = field(default="", compare=False)  # file:line of the entry

    @property
    def is_service(self) -> bool:
        return bool(self.service)

    def describe(self) -> str:
        if self.service:
            return f"service {self.service}"
        if self.role:
            return f"roles '{self.role}' of account '{self.account}'"
        return f"account '{self.account}'"


def role_pattern_problem(pattern: str) -> str:
    """Why a role name or path pattern is refused ("" when it is fine)."""
    if not pattern.strip("/"):
        return "the role pattern is empty; give a role name or a path pattern such as pipeline/*"
    if len(pattern) > MAX_ROLE_PATTERN:
        return f"the role pattern has {len(pattern)} characters; IAM's path and name take at most {MAX_ROLE_PATTERN}"
    if not ROLE_PATTERN.match(pattern.strip("/")):
        return (f"role pattern '{pattern}' may hold only a role's path and name (ASCII letters, digits, +=,.@_- and /) "
                "with * and ? as wildcards, e.g. pipeline/* or pipeline/build")
    return ""


def service_problem(service: str) -> str:
    """Why a service principal is refused ("" when orgiam knows it)."""
    if service in SERVICE_PRINCIPALS:
        return ""
    known = ", ".join(sorted(SERVICE_PRINCIPALS))
    return (f"service '{service}' is not one orgiam knows how to trust safely; known services: {known}. "
            "Ask for it to be added (with the conditions it supports), or use one of these")

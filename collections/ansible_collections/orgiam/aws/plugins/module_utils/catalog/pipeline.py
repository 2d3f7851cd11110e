# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""settings.yml's ``pipeline`` section, and what bootstrap asks of the catalog, checked without AWS.

Where orgiam's pipeline runs and where its source is; the repository and branch are checked as
CodeCommit and CodeConnections check them, so a typo is refused before the first write. Optionally,
``delegated_admin``: the member account (id or name) that bootstrap makes the organization's delegated
administrator for StackSets and lets read the organization (docs/delegated-admin.md); it is checked
against the organization by the bootstrap itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from .loader import Catalog

DEFAULT_BRANCH = "main"
DEFAULT_SCHEDULE = "rate(1 day)"

CODECOMMIT_REPOSITORY = re.compile(r"^[\w.-]{1,100}$")
CONNECTION_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)+$")
CONNECTION_ARN = re.compile(r"^arn:(aws[a-z-]*):(codeconnections|codestar-connections):([a-z0-9-]+):(\d{12}):connection/[A-Za-z0-9-]+$")
ACCOUNT_ID = re.compile(r"^\d{12}$")
BAD_BRANCH = re.compile(r"(\.\.|[\x00-\x20~^:?*\[\\]|@\{|//|^/|/$|\.lock$|^\.|/\.|\.$|^@$)")


class BootstrapInputError(Exception):
    """Input that bootstrap cannot work with; nothing has been written. ``problems`` lists each one."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        head = "bootstrap cannot start" if len(problems) == 1 else f"bootstrap cannot start: {len(problems)} problems"
        super().__init__(head + ":\n  " + "\n  ".join(self.problems))


@dataclass(frozen=True)
class PipelineSettings:
    """settings.yml ``pipeline``, with the defaults filled in."""

    account: str
    provider: str
    repository: str
    branch: str = DEFAULT_BRANCH
    connection_arn: str = ""
    approval: str = "when-changes"  # "true" (every plan), "when-changes" or "false" (pipeline.yml ApprovalRequired)
    schedule: str = DEFAULT_SCHEDULE
    notify_email: str = ""
    region: str = ""
    delegated_admin: str = ""  # id or name of the delegated administrator for StackSets; "": none (the management account)


def approval_parameter(value: Any) -> str:
    """settings.yml pipeline.approval as the pipeline's ApprovalRequired parameter."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def pipeline_settings(catalog: Catalog) -> PipelineSettings:
    data = catalog.settings.pipeline or {}
    if not data:
        raise BootstrapInputError([
            f"{catalog.settings.source}: no 'pipeline' section; bootstrap needs to know where orgiam's pipeline runs "
            "and where its source is. Add, for example:\n"
            "    pipeline:\n      account: Deployments            # id or name of the pipeline's account\n"
            "      source: {provider: CodeCommit, repository: orgiam-catalog, branch: main}\n"
            "  (see docs/tutorials/pipeline.md)"
        ])
    source = data.get("source") or {}
    return PipelineSettings(
        account=str(data["account"]),
        provider=str(source.get("provider", "")),
        repository=str(source.get("repository", "")),
        branch=str(source.get("branch") or DEFAULT_BRANCH),
        connection_arn=str(source.get("connection_arn") or ""),
        approval=approval_parameter(data.get("approval", "when-changes")),
        schedule=str(data.get("schedule") or DEFAULT_SCHEDULE),
        notify_email=str(data.get("notify_email") or ""),
        region=str(data.get("region") or ""),
        delegated_admin=str(data.get("delegated_admin") or "").strip(),
    )


def delegated_admin_problems(pipeline: PipelineSettings, where: str) -> list[str]:
    """``pipeline.delegated_admin`` as far as it can be checked without AWS."""
    ref = pipeline.delegated_admin
    if ref.isdigit() and not ACCOUNT_ID.match(ref):
        return [f"{where}: field 'pipeline.delegated_admin': '{ref}' is not an account id (12 digits): quote an id in "
                "settings.yml so that YAML keeps its leading zeros (delegated_admin: '012345678901'), or give the "
                "account's name"]
    return []


def source_problems(pipeline: PipelineSettings, where: str) -> list[str]:
    """The repository parameters, checked as CodeCommit and CodeConnections check them."""
    problems = []
    field_name = f"{where}: field 'pipeline.source"
    if pipeline.provider == "CodeCommit":
        name = pipeline.repository
        if not CODECOMMIT_REPOSITORY.match(name) or name.lower().endswith(".git"):
            problems.append(
                f"{field_name}.repository': '{name}' is not a CodeCommit repository name: 1 to 100 letters, digits, "
                "'.', '_' or '-', not ending in '.git' (for GitHub and others use provider: CodeConnections "
                "with repository: owner/name)")
        if pipeline.connection_arn:
            problems.append(f"{field_name}.connection_arn': a CodeCommit source takes no connection; remove it")
    elif pipeline.provider == "CodeConnections":
        name = pipeline.repository
        if not CONNECTION_REPOSITORY.match(name) or name.lower().endswith(".git") or len(name) > 256:
            problems.append(
                f"{field_name}.repository': '{name}' is not a full repository id: CodeConnections needs owner/name "
                "(e.g. my-org/orgiam-catalog; GitLab groups may nest: group/subgroup/name), without '.git'")
        if not pipeline.connection_arn:
            problems.append(
                f"{field_name}.connection_arn': a CodeConnections source needs the ARN of a connection in the pipeline "
                "account (arn:aws:codeconnections:<region>:<account>:connection/<id>), made and approved in the console first")
    if BAD_BRANCH.search(pipeline.branch) or len(pipeline.branch) > 256:
        problems.append(f"{field_name}.branch': '{pipeline.branch}' is not a valid git branch name")
    return problems


def role_path_problems(catalog: Catalog) -> list[str]:
    """The deployer role may only manage IAM resources under role_path: every role must live there."""
    base = catalog.settings.role_path
    return [
        f"{role.source}: role '{role.name}' has path {role.path}, outside role_path {base} in settings.yml; "
        "the deployer role may only manage roles under role_path: move the role there, or change role_path"
        for role in catalog.roles if not role.path.startswith(base)
    ]

"""An organization and a catalog for bootstrap's unit tests: five accounts (one suspended), a catalog
with a pipeline section, and the checked inputs and tasks built from them."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.model import Account, Task
from ansible_collections.orgiam.aws.plugins.module_utils.render.bootstrap import templates_dir
from ansible_collections.orgiam.aws.plugins.module_utils.usecases import bootstrap as B

MANAGEMENT, SECURITY, DEPLOYMENTS, PROD, LEGACY = "123456789012", "222222222222", "333333333333", "444444444444", "555555555555"
ROOT = "r-ab12"
ORGANIZATION = "o-abcdefghij"
ARN = "arn:aws:codeconnections:us-east-1:333333333333:connection/0a1b2c3d-1111-2222-3333-444455556666"

PIPELINE = """
pipeline:
  account: Deployments
  source: {provider: CodeCommit, repository: orgiam-catalog}
"""
READONLY = {"readonly.yml": "name: ReadOnly\nmanaged_policies: [ReadOnlyAccess]\ntargets: {ou_paths: [Workloads]}\n"}


def catalog(tmp_path: Path, settings_extra: str = PIPELINE, roles: dict[str, str] | None = None) -> Any:
    (tmp_path / "roles").mkdir(parents=True, exist_ok=True)
    (tmp_path / "settings.yml").write_text("central_account: Security\n" + textwrap.dedent(settings_extra))
    for name, text in (roles or READONLY).items():
        (tmp_path / "roles" / name).write_text(text)
    return load_catalog(str(tmp_path))


def facts() -> B.OrgFacts:
    return B.OrgFacts(
        caller_account_id=MANAGEMENT, partition="aws", management_account_id=MANAGEMENT, organization_id=ORGANIZATION,
        root_id=ROOT,
        accounts=(
            Account(MANAGEMENT, "Management", is_management=True),
            Account(SECURITY, "Security"),
            Account(DEPLOYMENTS, "Deployments"),
            Account(PROD, "Payments Prod"),
            Account(LEGACY, "Legacy App", status="SUSPENDED"),
        ),
    )


def inputs(tmp_path: Path, settings_extra: str = PIPELINE, roles: dict[str, str] | None = None,
           parts: tuple[str, ...] = ("deployer", "management")) -> B.Inputs:
    return B.load_inputs(catalog(tmp_path, settings_extra, roles), templates_dir(), parts)


def tasks(tmp_path: Path, region: str = "us-east-1", **inputs_args: Any) -> dict[str, Task]:
    """bootstrap's tasks for the organization above, by key."""
    checked = inputs(tmp_path, **inputs_args)
    placement = B.check_organization(checked, facts(), region)
    return {t.key: t for t in B.bootstrap_tasks(checked, facts(), placement, region)}

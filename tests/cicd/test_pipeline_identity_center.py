"""The pipeline in identity_center mode: the bootstrap gives the management account's orgiam-deployer and
orgiam-planner what the Identity Center stack needs, and nothing more (the emulator evaluates the /orgiam/ roles'
policies), and one pipeline run plans it read-only, then applies it after the approval."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from emulator import stacksets
from emulator.server import EmulatorServer
from tests.cicd.conftest import REPO, Org, seed_demo
from tests.cicd.test_pipeline_run import bootstrap_organization, run

IDENTITY = """\
mode: identity_center
groups:
  - name: platform-engineers
    grants: [{role: ReadOnly}, {role: SandboxAdmin}]
  - name: payments-prod-readers
    grants: [{role: ReadOnly, scope: {accounts: [Payments Prod]}}]
"""


@pytest.fixture(scope="module")
def org(cicd_emulator: EmulatorServer) -> Org:
    stacksets.install()
    return seed_demo(cicd_emulator.endpoint_url)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("catalog-repository")
    shutil.copytree(REPO / "roles_catalog", repo / "roles_catalog", ignore=shutil.ignore_patterns("policies"))
    (repo / "roles_catalog" / "identity.yml").write_text(IDENTITY)
    return repo


@pytest.fixture(scope="module")
def bootstrapped(org: Org, repository: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return bootstrap_organization(org, repository, tmp_path_factory.mktemp("bootstrap-out"))


def test_the_pipeline_plans_and_applies_the_identity_center_stack(org: Org, repository: Path,
                                                                 bootstrapped: dict[str, Any], tmp_path: Path):
    # the Identity Center stack lives in the management account: the bootstrap put orgiam-deployer there
    stacks = org.client("cloudformation", "Management").describe_stacks(StackName="orgiam-deployer")["Stacks"]
    assert stacks[0]["StackStatus"] in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    approvals: list[dict[str, str]] = []
    done = run(org, repository, tmp_path, approvals, trigger="commit")
    assert done.status == "Succeeded", done.describe()
    plan_log = done.action("Plan").log
    assert "access: group payments-prod-readers gains ReadOnly in Payments Prod" in plan_log, plan_log[-4000:]
    # the permission sets reached the accounts: Identity Center's role in Payments Prod, read through IAM
    roles = org.client("iam", "Payments Prod").list_roles(PathPrefix="/aws-reserved/sso.amazonaws.com/")["Roles"]
    assert [r["RoleName"].split("_")[1] for r in roles] == ["ReadOnly"]
    assert done.action("Apply").variables["ORGIAM_FAILED"] == "0"

"""The pipeline with a delegated administrator (docs/delegated-admin.md): after the bootstrap, nothing
runs in the management account.

The catalog repository's settings.yml names the pipeline account (Deployments) as `delegated_admin`.
The bootstrap, run once from the management account, registers it and lets it read the organization,
and gives the pipeline an empty `OrganizationReaderRoleArn`: both builds read the organization with
their own roles. The pipeline's first run then plans, waits for approval and applies, and not one of
its AWS calls (the emulator's call log) is served in the management account.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from emulator import control, stacksets
from emulator.server import EmulatorServer
from tests.cicd.conftest import REPO, Org, seed_demo
from tests.cicd.test_pipeline_run import ACCOUNT, MEMBER, REGION, bootstrap_organization, orgiam_roles, run


@pytest.fixture(scope="module")
def org(cicd_emulator: EmulatorServer) -> Org:
    stacksets.install()
    return seed_demo(cicd_emulator.endpoint_url)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    repo = tmp_path_factory.mktemp("catalog-repository")
    # the demo catalog whole, its organization policy included: with a delegated administrator, the policies
    # stack lives there too (docs/delegated-admin.md)
    shutil.copytree(REPO / "roles_catalog", repo / "roles_catalog")
    settings = repo / "roles_catalog" / "settings.yml"
    text = settings.read_text()
    assert "\n  account: Deployments\n" in text
    settings.write_text(text.replace("\n  account: Deployments\n", "\n  account: Deployments\n  delegated_admin: Deployments\n"))
    return repo


def test_after_the_bootstrap_the_pipeline_never_calls_the_management_account(org: Org, repository: Path, tmp_path: Path):
    bootstrapped = bootstrap_organization(org, repository, tmp_path / "bootstrap")
    parameters = bootstrapped["parameters"]
    assert parameters["OrganizationReaderRoleArn"] == ""  # the builds read the organization themselves

    org.client("codepipeline", ACCOUNT, REGION)  # the harness's own session in the pipeline account, made now
    start = len(control.calls(org.endpoint))
    approvals: list[dict[str, str]] = []
    done = run(org, repository, tmp_path, approvals, trigger="commit")
    calls = control.calls(org.endpoint)[start:]
    assert done.status == "Succeeded", done.describe()
    assert len(approvals) == 1
    plan_log = done.action("Plan").log
    assert "reading the organization with the build's own role (delegated administrator)" in plan_log
    assert "ReadOnly" in orgiam_roles(org, MEMBER)
    # the deny-all SCP, attached to Suspended by a stack in the delegated administrator
    stacks = org.client("cloudformation", ACCOUNT, REGION).describe_stacks(StackName="orgiam-organization-policies")
    assert stacks["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    policies = org.client("organizations", org.management_account_id).list_policies(Filter="SERVICE_CONTROL_POLICY")
    assert "deny-all-suspended" in {p["Name"] for p in policies["Policies"]}

    # every call the builds made (with their roles' session keys; the harness's own are the test's keys)
    builds = [c for c in calls if c["access_key_id"] != "testing"]
    organizations = {c["account_id"] for c in builds if c["service"] == "organizations"}
    assert organizations == {org.accounts[ACCOUNT]}, organizations
    in_management = [c for c in builds if c["account_id"] == org.management_account_id]
    assert builds and in_management == [], in_management[:5]

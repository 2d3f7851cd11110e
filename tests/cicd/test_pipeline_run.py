"""The pipeline end to end, as the tutorial (cicd/README.md) sets it up and as CodePipeline runs it.

``playbooks/bootstrap.yml`` runs once from the management account against the emulated demo
organization: the deployer and planner roles everywhere, the organization reader, the pipeline stack in
the Deployments account and the orgiam release in its artifact bucket. Then the pipeline itself runs
(tests/cicd/pipeline_runner.py: GetPipeline, BatchGetProjects, each build as its project's service role,
the buildspec of the template, approvals, entry conditions), on a checkout of a catalog repository:

- the first run plans as orgiam-sync-plan through orgiam-planner, waits for approval, and applies as
  orgiam-sync-build through orgiam-deployer; the roles are read back through IAM in the accounts;
- a scheduled run that plans no change skips the approval and verifies live;
- the plan's credentials cannot write anywhere (the emulator evaluates the /orgiam/ roles' policies);
- a commit that brings its own buildspec, plugins, playbooks and ansible.cfg runs none of them;
- a release whose bytes differ from the pinned SHA-256 stops the build before anything runs.

The tests of this file run in order on one organization (one bootstrap costs about half a minute).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator import stacksets
from emulator.aws import boto3_session
from emulator.server import EmulatorServer
from tests.cicd.conftest import REPO, Org, seed_demo
from tests.cicd.pipeline_runner import PipelineRun, run_pipeline
from tests.emulated import aws_env

BIN = Path(sys.executable).parent
ACCOUNT, REGION, PIPELINE = "Deployments", "us-east-1", "orgiam-sync"
MEMBER = "Data Platform Prod"  # the demo catalog gives it ReadOnly, among others


@pytest.fixture(scope="module")
def org(cicd_emulator: EmulatorServer) -> Org:
    stacksets.install()  # the emulator runs in this process: its StackSets deploy as AWS does
    return seed_demo(cicd_emulator.endpoint_url)


@pytest.fixture(scope="module")
def repository(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The catalog repository the pipeline reads: the tutorial's roles_catalog (approval: when-changes)."""
    repo = tmp_path_factory.mktemp("catalog-repository")
    shutil.copytree(REPO / "roles_catalog", repo / "roles_catalog")
    settings = (repo / "roles_catalog" / "settings.yml").read_text()
    assert "approval: when-changes" in settings and "account: Deployments" in settings
    return repo


def bootstrap_organization(org: Org, repository: Path, out: Path) -> dict[str, Any]:
    """playbooks/bootstrap.yml from the management account, as the tutorial runs it: its report, and the
    pipeline stack's outputs and parameters."""
    env = dict(aws_env(org.endpoint), ANSIBLE_INVENTORY_ENABLED="orgiam.aws.organization,ansible.builtin.host_list")
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), "-i", "localhost,", str(REPO / "playbooks" / "bootstrap.yml"),
         "-e", f"orgiam_catalog_path={repository / 'roles_catalog'}", "-e", f"orgiam_report_dir={out}"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    stack = org.client("cloudformation", ACCOUNT, REGION).describe_stacks(StackName="orgiam-pipeline")["Stacks"][0]
    return {"report": json.loads((out / "bootstrap.json").read_text()),
            "outputs": {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]},
            "parameters": {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}}


@pytest.fixture(scope="module")
def bootstrapped(org: Org, repository: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return bootstrap_organization(org, repository, tmp_path_factory.mktemp("bootstrap-out"))


def environment(tmp_path: Path) -> dict[str, str]:
    """What the build image has: Python with the packages installed (the install phase skips pip), and
    a directory of its own for the release."""
    return {"PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "ORGIAM_SKIP_INSTALL": "1",
            "ORGIAM_HOME": str(tmp_path / "orgiam-release"), "AWS_EC2_METADATA_DISABLED": "true"}


def run(org: Org, repository: Path, tmp_path: Path, approvals: list[dict[str, str]] | None, trigger: str,
        approve: bool = True) -> PipelineRun:
    def approver(stage: str, action: str, configuration: dict[str, str]) -> bool:
        assert approvals is not None, f"{stage}.{action} asked for an approval: {configuration}"
        approvals.append(configuration)
        return approve

    return run_pipeline(org, PIPELINE, repository, account=ACCOUNT, region=REGION, approve=approver, trigger=trigger,
                        environment=environment(tmp_path), workspace=tmp_path / "pipeline", timeout=900)


def orgiam_roles(org: Org, account: str) -> list[str]:
    return sorted(r["RoleName"] for r in org.client("iam", account).list_roles(PathPrefix="/orgiam/")["Roles"])


def session_as(org: Org, role_arn: str, base: Any) -> Any:
    credentials = base.client("sts", endpoint_url=org.endpoint).assume_role(
        RoleArn=role_arn, RoleSessionName="orgiam-test")["Credentials"]
    return boto3_session(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"],
                         region_name=REGION)


def denied(call: Any) -> str:
    with pytest.raises(ClientError) as raised:
        call()
    assert raised.value.response["Error"]["Code"] in ("AccessDenied", "AccessDeniedException"), raised.value.response
    return str(raised.value)


def test_bootstrap_installs_the_pipeline_and_its_pinned_release(org: Org, bootstrapped: dict[str, Any]):
    outputs = bootstrapped["outputs"]
    steps = {s["key"]: s for s in bootstrapped["report"]["steps"]} if "steps" in bootstrapped["report"] else {}
    s3 = org.client("s3", ACCOUNT, REGION)
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in org.client("cloudformation", ACCOUNT, REGION)
                  .describe_stacks(StackName="orgiam-pipeline")["Stacks"][0]["Parameters"]}
    head = s3.head_object(Bucket=outputs["ArtifactBucketName"], Key=parameters["ReleaseKey"])
    assert head["Metadata"]["sha256"] == parameters["ReleaseSha256"]
    assert not steps or steps["release"]["status"] in ("created", "updated")
    # the planner and the deployer in every member account, the reader in the management account
    for account in ("Security", MEMBER, ACCOUNT):
        assert {"orgiam-deployer", "orgiam-planner"} <= set(orgiam_roles(org, account))
    assert "orgiam-organization-reader" in orgiam_roles(org, org.management_account_id)


def test_the_first_run_plans_read_only_waits_for_approval_then_applies(org: Org, repository: Path,
                                                                      bootstrapped: dict[str, Any], tmp_path: Path):
    approvals: list[dict[str, str]] = []
    done = run(org, repository, tmp_path, approvals, trigger="commit")
    assert done.status == "Succeeded", done.describe()
    assert [s.status for s in done.stages.values()] == ["Succeeded"] * 4
    (approval,) = approvals
    assert "accounts change" in approval["CustomData"] and approval["CustomData"].startswith("orgiam plan of commit ")
    # the plan ran as the plan role, reading through the planner; the apply as the build role, through the deployer
    assert "assumed-role/orgiam-sync-plan/" in done.roles["Plan.Plan"]
    assert "assumed-role/orgiam-sync-build/" in done.roles["Apply.Apply"]
    plan_log, apply_log = done.action("Plan").log, done.action("Apply").log
    assert "-e orgiam_member_role_name=orgiam/orgiam-planner" in plan_log and "orgiam_preview=template" in plan_log
    assert "-e orgiam_member_role_name=orgiam/orgiam-deployer" in apply_log and "applying the approved plan" in apply_log
    assert "reading the organization through arn:aws:iam::" in plan_log
    for log in (plan_log, apply_log):
        assert "sha256sum" not in log or ": OK" in log
        assert "with orgiam " in log and "(unknown release)" not in log
    # the people's roles exist, read through IAM in the account
    assert "ReadOnly" in orgiam_roles(org, MEMBER)
    # both builds keep the access report (who can get into which account as what) in their artifacts
    for name in ("Plan", "Applied"):
        assert {"access.html", "access.csv"} <= {p.name for p in done.artifacts[name].iterdir()}, name
    assert done.action("Apply").variables["ORGIAM_FAILED"] == "0"
    assert int(done.action("Plan").variables["ORGIAM_CHANGES"]) > 0


def test_a_scheduled_run_that_changes_nothing_skips_the_approval(org: Org, repository: Path,
                                                               bootstrapped: dict[str, Any], tmp_path: Path):
    done = run(org, repository, tmp_path, approvals=None, trigger="schedule")
    assert done.status == "Succeeded", done.describe()
    assert {n: s.status for n, s in done.stages.items()} == {
        "Source": "Succeeded", "Plan": "Succeeded", "Approval": "Skipped", "Apply": "Succeeded"}
    assert done.action("Plan").variables["ORGIAM_APPROVAL"] == "not-needed"
    assert done.action("Plan").variables["ORGIAM_CHANGES"] == "0"
    assert "orgiam_verify=live" in done.action("Plan").log  # the schedule verifies live


def test_the_plans_credentials_cannot_write(org: Org, bootstrapped: dict[str, Any]):
    """As the plan build's role: nothing in the pipeline account but its artifact, nothing through the
    planner, and no deployer."""
    outputs = bootstrapped["outputs"]
    plan = session_as(org, outputs["PlanRoleArn"], org.session(ACCOUNT, REGION))
    member_id = org.accounts[MEMBER]
    client = lambda session, service: session.client(service, endpoint_url=org.endpoint)  # noqa: E731
    denied(lambda: client(plan, "sts").assume_role(RoleArn=f"arn:aws:iam::{member_id}:role/orgiam/orgiam-deployer",
                                                  RoleSessionName="xx"))
    denied(lambda: client(plan, "iam").create_role(RoleName="x", AssumeRolePolicyDocument="{}"))
    denied(lambda: client(plan, "s3").put_object(Bucket=outputs["ArtifactBucketName"], Key="releases/other.tar.gz",
                                                 Body=b"x"))
    planner = session_as(org, f"arn:aws:iam::{member_id}:role/orgiam/orgiam-planner", plan)
    iam, cloudformation = client(planner, "iam"), client(planner, "cloudformation")
    message = denied(lambda: iam.create_role(Path="/orgiam/", RoleName="Backdoor", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]})))
    assert "orgiam-planner" in message and "iam:CreateRole" in message
    denied(lambda: iam.put_role_policy(RoleName="ReadOnly", PolicyName="more", PolicyDocument="{}"))
    denied(lambda: cloudformation.update_stack(StackName="orgiam-roles", UsePreviousTemplate=True))
    denied(lambda: cloudformation.create_change_set(StackName="orgiam-roles", ChangeSetName="x", UsePreviousTemplate=True))
    denied(lambda: cloudformation.delete_stack(StackName="orgiam-roles"))
    # what it may do, it can
    assert cloudformation.describe_stacks(StackName="orgiam-roles")["Stacks"]
    assert iam.get_role(RoleName="ReadOnly")["Role"]["Path"] == "/orgiam/"


def test_the_apply_runs_the_pinned_release_and_ignores_code_in_the_commit(org: Org, repository: Path,
                                                                         bootstrapped: dict[str, Any], tmp_path: Path):
    """A commit adds a role to the catalog and also brings a buildspec, an action plugin, a playbook and an
    ansible.cfg of its own, each of which would leave a marker: the role is deployed, no marker appears."""
    evil = tmp_path / "evil-repository"
    shutil.copytree(repository, evil)
    marker = tmp_path / "pwned"
    shell = f"touch {marker}"
    for buildspec in (evil / "buildspec.yml", evil / "cicd" / "buildspec.yml"):
        buildspec.parent.mkdir(parents=True, exist_ok=True)
        buildspec.write_text("version: 0.2\nphases:\n  build:\n    commands:\n      - " + shell + "\n")
    plugin = evil / "collections" / "ansible_collections" / "orgiam" / "aws" / "plugins" / "action" / "sync.py"
    plugin.parent.mkdir(parents=True)
    plugin.write_text(f"import pathlib\npathlib.Path({str(marker)!r}).touch()\n")
    (evil / "playbooks").mkdir()
    (evil / "playbooks" / "sync.yml").write_text(
        f"- hosts: localhost\n  tasks:\n    - ansible.builtin.command: {shell}\n")
    (evil / "ansible.cfg").write_text("[defaults]\ncollections_path = ./collections\n")
    (evil / "roles_catalog" / "roles").mkdir(exist_ok=True)
    (evil / "roles_catalog" / "roles" / "auditor-extra.yml").write_text(
        "name: AuditorExtra\ndescription: Read-only audit access added by the commit.\n"
        "managed_policies: [ReadOnlyAccess]\ntargets:\n  ou_paths: [Workloads]\n")
    approvals: list[dict[str, str]] = []
    done = run(org, evil, tmp_path, approvals, trigger="commit")
    assert done.status == "Succeeded", done.describe()
    assert len(approvals) == 1  # the change waited for a person
    assert not marker.exists()
    assert "AuditorExtra" in orgiam_roles(org, MEMBER)


def test_a_release_that_differs_from_the_pinned_digest_runs_nothing(org: Org, repository: Path,
                                                                  bootstrapped: dict[str, Any], tmp_path: Path):
    outputs = bootstrapped["outputs"]
    s3 = org.client("s3", ACCOUNT, REGION)
    key = next(p["ParameterValue"] for p in org.client("cloudformation", ACCOUNT, REGION)
               .describe_stacks(StackName="orgiam-pipeline")["Stacks"][0]["Parameters"] if p["ParameterKey"] == "ReleaseKey")
    original = s3.get_object(Bucket=outputs["ArtifactBucketName"], Key=key)["Body"].read()
    s3.put_object(Bucket=outputs["ArtifactBucketName"], Key=key, Body=original + b"\0")
    try:
        done = run(org, repository, tmp_path, approvals=None, trigger="commit")
    finally:
        s3.put_object(Bucket=outputs["ArtifactBucketName"], Key=key, Body=original)
    assert done.status == "Failed" and done.stages["Plan"].status == "Failed", done.describe()
    log = done.action("Plan").log
    assert "FAILED" in log and "ansible-playbook" not in log.split("sha256sum", 1)[-1]
    assert done.stages["Apply"].status == "NotRun"
    assert os.environ.get("ORGIAM_HOME") is None  # nothing of the test process leaked into the builds

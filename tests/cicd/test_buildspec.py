"""cicd/buildspec.yml, run phase by phase in a subprocess against the emulator, with the environment
CodeBuild gives a build (tests/cicd/buildspec_runner.py): a build really plans and applies the demo
organization and writes the JUnit report.
"""

from __future__ import annotations

import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from emulator import control
from emulator.server import EmulatorServer
from tests.cicd.buildspec_runner import BuildRun, BuildspecError, load_buildspec, run_buildspec
from tests.cicd.conftest import (
    BUILDSPEC, PIPELINE_ACCOUNT, PIPELINE_REGION, PIPELINE_TEMPLATE, REPO, Org, deploy, pipeline_parameters,
    seed_demo,
)

BIN = Path(sys.executable).parent
# what a source artifact holds: the repository, without what git ignores or tests need
SOURCE_IGNORE = shutil.ignore_patterns(".git", ".venv", "out", ".orgiam", ".ansible", "__pycache__", ".pytest_cache",
                                       "tests", "benchmarks", "emulator", "docs")


@pytest.fixture
def source(tmp_path: Path) -> Path:
    """The repository as CodePipeline hands it to CodeBuild (CODEBUILD_SRC_DIR)."""
    src = tmp_path / "codebuild" / "src"
    shutil.copytree(REPO, src, ignore=SOURCE_IGNORE)
    return src


def codebuild_environment(src: Path, endpoint: str, credentials: dict[str, str], **variables: str) -> dict[str, str]:
    """The environment of a CodeBuild build of project orgiam-sync, pointed at the emulator. Nothing of this
    test process's environment is passed, except the PATH to the installed packages (the install phase
    skips pip: ORGIAM_SKIP_INSTALL=1) and the locale."""
    build_id = "orgiam-sync:4f1c2d3e-5a6b-7c8d-9e0f-0123456789ab"
    environment = {
        "PATH": f"{BIN}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(src.parent),
        "LANG": "C.UTF-8",
        "CODEBUILD_BUILD_ID": build_id,
        "CODEBUILD_BUILD_ARN": f"arn:aws:codebuild:{PIPELINE_REGION}:111122223333:build/{build_id}",
        "CODEBUILD_BUILD_NUMBER": "7",
        "CODEBUILD_BUILD_URL": f"https://{PIPELINE_REGION}.console.aws.amazon.com/codesuite/codebuild/111122223333/"
                               f"projects/orgiam-sync/build/orgiam-sync%3A4f1c2d3e/?region={PIPELINE_REGION}",
        "CODEBUILD_INITIATOR": "codepipeline/orgiam-sync",
        "CODEBUILD_RESOLVED_SOURCE_VERSION": "0123456789abcdef0123456789abcdef01234567",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL": endpoint,
        "ORGIAM_SKIP_INSTALL": "1",
        **credentials,
    }
    environment.update(variables)
    return environment


MANAGEMENT_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}


def build(src: Path, org: Org, credentials: dict[str, str] = MANAGEMENT_CREDENTIALS, **variables: str) -> BuildRun:
    return run_buildspec(BUILDSPEC, src, codebuild_environment(src, org.endpoint, credentials, **variables))


def junit_cases(path: Path) -> list[dict[str, Any]]:
    root = ET.parse(path).getroot()
    return [{"name": case.get("name"), "failed": case.find("failure") is not None} for case in root.iter("testcase")]


def orgiam_roles(org: Org, account: str) -> list[str]:
    iam = org.client("iam", account)
    return sorted(r["RoleName"] for r in iam.list_roles(PathPrefix="/orgiam/")["Roles"])


@pytest.fixture
def org(cicd_emulator: EmulatorServer) -> Org:
    return seed_demo(cicd_emulator.endpoint_url)


def test_a_build_plans_then_applies_the_demo_organization(source: Path, org: Org):
    demo = {"ORGIAM_INVENTORY": "inventories/demo"}
    plan = build(source, org, MODE="plan", **demo)
    assert plan.succeeded, plan.log
    assert plan.phases == {"install": "SUCCEEDED", "pre_build": "SUCCEEDED", "build": "SUCCEEDED",
                           "post_build": "SUCCEEDED"}
    assert "--check --diff" in plan.output("build")
    assert orgiam_roles(org, "Payments Prod") == []  # a plan changes nothing
    exported = plan.exported
    assert exported["ORGIAM_PLAN_SUMMARY"].startswith("7 of 11 accounts change (create 7); central stack Security: create")
    assert (exported["ORGIAM_CHANGES"], exported["ORGIAM_FAILED"]) == ("8", "0")
    assert exported["ORGIAM_PLAN_URL"].startswith(f"https://{PIPELINE_REGION}.console.aws.amazon.com/codesuite/codebuild/")
    artifacts = sorted(p.name for p in plan.artifacts)
    assert artifacts == ["junit.xml", "plan.json", "report.json", "retry-hosts.txt", "summary.md", "summary.txt"]
    (report,) = plan.reports["junit"]
    cases = junit_cases(report)
    assert len(cases) == 12 and not any(c["failed"] for c in cases)  # 11 accounts and the central stack

    apply = build(source, org, MODE="apply", **demo)
    assert apply.succeeded, apply.log
    assert "--check" not in apply.output("build")
    assert orgiam_roles(org, "Payments Prod") == ["ReadOnly"]
    assert orgiam_roles(org, "Sandbox Alice") == ["SandboxAdmin"]
    assert apply.exported["ORGIAM_PLAN_SUMMARY"].startswith("created 7, unchanged 3, failed 0 of 11 accounts")  # the management account is skipped: no role names it
    assert "plan.json" not in [p.name for p in apply.artifacts]
    assert len(junit_cases(apply.reports["junit"][0])) == 12


def test_the_apply_stage_applies_the_approved_plan_and_refuses_what_changed_since(source: Path, org: Org, tmp_path: Path):
    """As the pipeline runs it: Plan writes the plan into its artifact; Apply gets that artifact as its second
    input (CODEBUILD_SRC_DIR_Plan) and applies exactly that plan. A stack that appeared since the plan is
    refused, the other accounts are applied, and the build fails naming it."""
    import json

    demo = {"ORGIAM_INVENTORY": "inventories/demo"}
    plan = build(source, org, MODE="plan", **demo)
    assert plan.succeeded, plan.log
    artifact = tmp_path / "artifacts" / "Plan"  # CodePipeline keeps the Plan artifact apart from the source
    shutil.copytree(source / "out", artifact)
    approved = json.loads((artifact / "plan.json").read_text())
    assert approved["format"] == "orgiam-plan" and approved["summary"]["changes"] == 8

    # between the approval and the apply, a stack appears where the plan created one
    org.client("cloudformation", "Sandbox Alice").create_stack(
        StackName="orgiam-roles", TemplateBody='{"Resources": {"H": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}',
        Tags=[{"Key": "orgiam:managed-by", "Value": "orgiam"}, {"Key": "orgiam:template-hash", "Value": "by-hand"}])

    without = build(source, org, MODE="apply", ORGIAM_REQUIRE_PLAN="1", **demo)
    assert not without.succeeded and "needs the Plan artifact" in without.output("pre_build")

    apply = build(source, org, MODE="apply", ORGIAM_REQUIRE_PLAN="1", CODEBUILD_SRC_DIR_Plan=str(artifact), **demo)
    assert not apply.succeeded and apply.phases["build"] == "FAILED" and apply.phases["post_build"] == "SUCCEEDED"
    assert f"applying the approved plan {approved['id']}" in apply.output("pre_build")
    assert "-e orgiam_plan=" in apply.output("build")
    report = json.loads((source / "out" / "report.json").read_text())
    assert report["plan_id"] == approved["id"]
    assert [s["account_name"] for s in report["stale_accounts"]] == ["Sandbox Alice"]
    assert orgiam_roles(org, "Payments Prod") == ["ReadOnly"]  # applied as approved
    assert orgiam_roles(org, "Sandbox Alice") == []  # refused: its stack changed since the plan
    failed = [c["name"] for c in junit_cases(apply.reports["junit"][0]) if c["failed"]]
    assert len(failed) == 1 and failed[0].startswith("Sandbox Alice")


def test_a_scheduled_plan_verifies_live_and_names_what_was_changed_by_hand(source: Path, org: Org):
    import json

    demo = {"ORGIAM_INVENTORY": "inventories/demo"}
    assert build(source, org, MODE="apply", **demo).succeeded
    org.client("iam", "Payments Prod").update_assume_role_policy(RoleName="ReadOnly", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}))
    commit = build(source, org, MODE="plan", **demo)  # a commit's run: the fast path sees nothing
    assert commit.succeeded and commit.exported["ORGIAM_DRIFT"] == "0" and "-e orgiam_verify=tags" in commit.output("build")
    scheduled = build(source, org, MODE="plan", ORGIAM_VERIFY="live", **demo)  # what trigger.py says for the schedule
    assert scheduled.succeeded, scheduled.log
    assert "-e orgiam_verify=live" in scheduled.output("build")
    assert scheduled.exported["ORGIAM_DRIFT"] == "1"
    assert "Changed by hand, to put back: 1 in 1 stack(s) of Payments Prod." in scheduled.exported["ORGIAM_PLAN_SUMMARY"]
    assert json.loads((source / "out" / "plan.json").read_text())["verify"] == "live"


def test_the_pipelines_build_reads_the_organization_through_the_reader_and_fails_with_an_account(source: Path, org: Org):
    """As the pipeline runs it: the project's variables, the build role's credentials in the pipeline
    account, no inventory in the repository (so the build writes one that assumes the management
    account's reader role), the management account left out with --limit. One account holds an orgiam-roles stack orgiam did not make: the apply fails
    for it alone, the build fails, and post_build still reports and names it."""
    stack = deploy(org, PIPELINE_TEMPLATE, "orgiam-pipeline", pipeline_parameters(org), PIPELINE_ACCOUNT,
                   PIPELINE_REGION)
    project = org.client("codebuild", PIPELINE_ACCOUNT, PIPELINE_REGION).batch_get_projects(
        names=["orgiam-sync"])["projects"][0]
    variables = {v["name"]: v["value"] for v in project["environment"]["environmentVariables"]}
    # what bootstrap makes: the reader in the management account, the deployer in every member account
    org.client("iam", org.management_account_id).create_role(
        Path="/orgiam/", RoleName="orgiam-organization-reader", AssumeRolePolicyDocument=_trusting(stack))
    for account_id in org.accounts.values():
        if account_id != org.management_account_id:
            org.client("iam", account_id).create_role(
                Path="/orgiam/", RoleName="orgiam-deployer", AssumeRolePolicyDocument=_trusting(stack))
    credentials = org.client("sts", PIPELINE_ACCOUNT).assume_role(
        RoleArn=stack.outputs["BuildRoleArn"], RoleSessionName="AWSCodeBuild-4f1c2d3e")["Credentials"]
    build_role = {"AWS_ACCESS_KEY_ID": credentials["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": credentials["SecretAccessKey"],
                  "AWS_SESSION_TOKEN": credentials["SessionToken"]}
    org.client("cloudformation", "Payments Prod").create_stack(StackName="orgiam-roles", TemplateBody=(
        '{"Resources": {"Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "not-orgiams"}}}}'))
    calls_before = len(control.calls(org.endpoint))

    # Left out: the management account, which has an orgiam-deployer only when the catalog targets it
    # (the demo catalog does not), while the engine visits every account of the run.
    result = build(source, org, build_role,
                   **dict(variables, MODE="apply", ORGIAM_EXTRA_ARGS="--limit all:!management_account"))

    assert not result.succeeded
    assert result.phases == {"install": "SUCCEEDED", "pre_build": "SUCCEEDED", "build": "FAILED",
                             "post_build": "SUCCEEDED"}
    assert "no inventories/production in the repository" in result.output("pre_build")
    written = source / ".orgiam" / "pipeline-inventory" / "organization.orgiam.yml"
    assert f"assume_role_arn: '{variables['ORGIAM_READER_ROLE_ARN']}'" in written.read_text()
    assert "-e orgiam_member_role_name=orgiam/orgiam-deployer" in result.output("build")
    # the organization was read in the management account, through the reader, not as the build role
    calls = control.calls(org.endpoint)[calls_before:]
    organizations = {c["account_id"] for c in calls if c["service"] == "organizations"}
    assert organizations == {org.management_account_id}
    # every other account was synced; the failed one is named, in the summary and the JUnit report
    assert "ReadOnly" in orgiam_roles(org, "Data Platform Prod")
    assert result.exported["ORGIAM_FAILED"] == "1"
    assert "Failed: Payments Prod." in result.exported["ORGIAM_PLAN_SUMMARY"]
    failed = [c["name"] for c in junit_cases(result.reports["junit"][0]) if c["failed"]]
    assert len(failed) == 1 and failed[0].startswith("Payments Prod")
    assert (source / "out" / "retry-hosts.txt").read_text() == "payments_prod\n"


def _trusting(stack) -> str:
    import json

    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": stack.outputs["BuildRoleArn"]}, "Action": "sts:AssumeRole"}]})


@pytest.mark.parametrize(("variables", "message"), [
    ({"MODE": "destroy"}, "MODE must be plan or apply, not 'destroy'"),
    ({"MODE": "plan", "ORGIAM_INVENTORY": "inventories/missing"},
     "no inventory at inventories/missing, and no ORGIAM_READER_ROLE_ARN to write one"),
])
def test_a_bad_build_stops_before_any_aws_call(source: Path, cicd_emulator: EmulatorServer,
                                               variables: dict[str, str], message: str):
    endpoint = cicd_emulator.endpoint_url
    calls_before = len(control.calls(endpoint))
    result = run_buildspec(BUILDSPEC, source, codebuild_environment(source, endpoint, MANAGEMENT_CREDENTIALS,
                                                                    **variables))
    assert not result.succeeded
    assert result.phases == {"install": "SUCCEEDED", "pre_build": "FAILED", "build": "SKIPPED",
                             "post_build": "SKIPPED"}
    assert message in result.output("pre_build")
    assert len(control.calls(endpoint)) == calls_before


# ---------------------------------------------------------------------------------- the runner itself


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "buildspec.yml"
    path.write_text(text, encoding="utf-8")
    return path


RUNNER_SPEC = """
version: 0.2
env:
  shell: bash
  variables:
    GREETING: hello
    OVERRIDDEN: from-buildspec
  exported-variables: [RESULT, GREETING]
phases:
  install:
    commands:
      - export FROM_INSTALL=1
      - mkdir -p sub && cd sub
  pre_build:
    commands:
      - test "$(basename "$PWD")" = sub
      - test "$FROM_INSTALL" = 1
      - 'echo "overridden: $OVERRIDDEN"'
  build:
    commands:
      - test "${FAIL_BUILD:-0}" = 0
      - echo "not reached when the build fails"
  post_build:
    commands:
      - export RESULT="succeeding=$CODEBUILD_BUILD_SUCCEEDING"
      - mkdir -p "$CODEBUILD_SRC_DIR/out/deep" && touch "$CODEBUILD_SRC_DIR/out/r.xml" "$CODEBUILD_SRC_DIR/out/deep/x.txt"
reports:
  tests:
    base-directory: out
    files: ["*.xml"]
artifacts:
  base-directory: out
  files: ["**/*"]
"""


def test_the_runner_carries_exports_and_directory_and_runs_post_build_after_a_failed_build(tmp_path: Path):
    spec = write(tmp_path, RUNNER_SPEC)
    environment = {"PATH": "/usr/bin:/bin", "OVERRIDDEN": "from-project"}
    ok = run_buildspec(spec, tmp_path, environment)
    assert ok.succeeded and ok.exported == {"RESULT": "succeeding=1", "GREETING": "hello"}
    assert "overridden: from-project" in ok.output("pre_build")
    assert [p.name for p in ok.reports["tests"]] == ["r.xml"]
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in ok.artifacts) == ["deep/x.txt", "r.xml"]

    failed = run_buildspec(spec, tmp_path, dict(environment, FAIL_BUILD="1"))
    assert not failed.succeeded
    assert failed.phases["build"] == "FAILED" and failed.phases["post_build"] == "SUCCEEDED"
    assert "not reached" not in failed.output("build")
    assert failed.exported["RESULT"] == "succeeding=0"


def test_the_runner_refuses_what_codebuild_refuses(tmp_path: Path):
    with pytest.raises(BuildspecError, match="not a string"):
        load_buildspec(write(tmp_path, "version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n"))
    with pytest.raises(BuildspecError, match="version 0.2"):
        load_buildspec(write(tmp_path, "version: 0.1\nphases: {}\n"))
    with pytest.raises(BuildspecError, match="unknown phase"):
        load_buildspec(write(tmp_path, "version: 0.2\nphases:\n  deploy:\n    commands: [echo]\n"))

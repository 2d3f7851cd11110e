"""tests/cicd/pipeline_runner.py: toy pipelines deployed in the emulator with CloudFormation run as
CodePipeline runs them: variables flow from a build to a later build and to an approval, an entry
condition skips or enters a stage, a failed build stops the run, each build runs as its project's role,
a second input artifact is CODEBUILD_SRC_DIR_<Name>, an unanswered approval leaves the run waiting, and
the build asking CodePipeline what started the run (cicd/trigger.py) hears the trigger given.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from emulator.server import EmulatorServer
from tests.cicd.conftest import REPO, Org, seed_demo
from tests.cicd.pipeline_runner import (
    PipelineRunnerError,
    Trigger,
    VariableError,
    check_variable,
    resolve,
    run_pipeline,
)

ACCOUNT = "Deployments"
REGION = "eu-west-1"
BIN = Path(sys.executable).parent
BUILD_ENVIRONMENT = {"PATH": f"{BIN}:/usr/bin:/bin", "LANG": "C.UTF-8"}
WHOAMI = """python -c 'import boto3; print(boto3.client("sts").get_caller_identity()["Arn"])'"""
SOURCE = {"Category": "Source", "Owner": "AWS", "Provider": "CodeCommit", "Version": "1"}
CODEBUILD = {"Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"}
MANUAL = {"Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}


# ------------------------------------------------------------------------------------------------ toy templates


def trust(service: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}]}


def role(name: str, service: str) -> dict[str, Any]:
    return {"Type": "AWS::IAM::Role", "Properties": {"RoleName": name, "AssumeRolePolicyDocument": trust(service)}}


def project(name: str, role_logical_id: str, buildspec: dict[str, Any] | str,
            variables: dict[str, str] | None = None) -> dict[str, Any]:
    """A project with its buildspec inline (a dict) or a path in the source (a str)."""
    return {"Type": "AWS::CodeBuild::Project", "Properties": {
        "Name": name, "ServiceRole": {"Fn::GetAtt": [role_logical_id, "Arn"]},
        "Source": {"Type": "CODEPIPELINE",
                   "BuildSpec": yaml.safe_dump(buildspec, sort_keys=False) if isinstance(buildspec, dict) else buildspec},
        "Artifacts": {"Type": "CODEPIPELINE"},
        "Environment": {"Type": "LINUX_CONTAINER", "ComputeType": "BUILD_GENERAL1_SMALL", "Image": "aws/codebuild/standard:7.0",
                        "EnvironmentVariables": [{"Name": k, "Type": "PLAINTEXT", "Value": v}
                                                 for k, v in (variables or {}).items()]}}}


def pipeline(name: str, stages: list[dict[str, Any]], depends_on: list[str],
             variables: dict[str, str] | None = None) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "Name": name, "PipelineType": "V2", "ExecutionMode": "QUEUED", "RoleArn": {"Fn::GetAtt": ["PipelineRole", "Arn"]},
        "ArtifactStore": {"Type": "S3", "Location": "toy-artifacts"}, "Stages": stages}
    if variables:
        properties["Variables"] = [{"Name": k, "DefaultValue": v} for k, v in variables.items()]
    return {"Type": "AWS::CodePipeline::Pipeline", "DependsOn": depends_on, "Properties": properties}


def source_stage() -> dict[str, Any]:
    return {"Name": "Source", "Actions": [{
        "Name": "Source", "Namespace": "SourceVariables", "ActionTypeId": SOURCE,
        "Configuration": {"RepositoryName": "toy", "BranchName": "main", "PollForSourceChanges": False,
                          "OutputArtifactFormat": "CODE_ZIP"},
        "OutputArtifacts": [{"Name": "Source"}]}]}


def build_action(name: str, project_name: str, inputs: list[str], outputs: list[str],
                 environment: list[dict[str, str]] | None = None, **configuration: str) -> dict[str, Any]:
    if environment is not None:
        configuration["EnvironmentVariables"] = json.dumps(environment)
    return {"Name": name, "Namespace": name, "ActionTypeId": CODEBUILD,
            "Configuration": {"ProjectName": project_name, **configuration},
            "InputArtifacts": [{"Name": n} for n in inputs], "OutputArtifacts": [{"Name": n} for n in outputs]}


def variable_check(name: str, variable: str, operator: str, value: str, provider: str = "VariableCheck") -> dict[str, Any]:
    return {"Name": name, "RuleTypeId": {"Category": "Rule", "Owner": "AWS", "Provider": provider, "Version": "1"},
            "Configuration": {"Variable": variable, "Operator": operator, "Value": value}}


def deploy_toy(org: Org, stack_name: str, resources: dict[str, Any]) -> None:
    cloudformation = org.client("cloudformation", ACCOUNT, REGION)
    cloudformation.create_stack(StackName=stack_name, TemplateBody=json.dumps({"Resources": resources}),
                                Capabilities=["CAPABILITY_NAMED_IAM"])
    status = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]["StackStatus"]
    assert status == "CREATE_COMPLETE", status


# The toy of the pipeline orgiam runs: Source -> Plan -> Approval (skipped without changes) -> Apply, each build
# with its own role and inline buildspec; Plan's artifact is Apply's second input.
PLAN_BUILDSPEC = {
    "version": 0.2,
    "env": {"variables": {"MODE": "from-the-buildspec"},
            "exported-variables": ["CHANGES", "SUMMARY", "PLAN_URL", "WHOAMI", "VERIFY"]},
    "phases": {"build": {"commands": [
        "test ! -e fail-the-plan",
        'export CHANGES="$(cat changes.txt)"',
        'export SUMMARY="$CHANGES changes at $CODEBUILD_RESOLVED_SOURCE_VERSION"',
        'export PLAN_URL="$CODEBUILD_BUILD_URL"',
        # a Python start costs about a second here: only the runs that look at these pay for them
        f'if [ -n "$TOY_WHOAMI" ]; then export WHOAMI="$({WHOAMI})"; fi',
        'if [ -n "$TOY_VERIFY" ]; then export VERIFY="$(python cicd/trigger.py)"; fi',
        'mkdir -p out/deep && echo "plan of $CHANGES ($MODE)" > out/plan.txt && echo x > out/deep/x.txt',
    ]}},
    "artifacts": {"base-directory": "out", "files": ["**/*"]},
}
APPLY_BUILDSPEC = {
    "version": 0.2,
    "env": {"exported-variables": ["APPLIED", "WHOAMI", "GOT_SUMMARY", "GOT_EXECUTION", "LEAK", "PRIMARY_IS_SOURCE"]},
    "phases": {"build": {"commands": [
        'export APPLIED="$(cat "$CODEBUILD_SRC_DIR_Plan/plan.txt")"',
        'test -f "$CODEBUILD_SRC_DIR/changes.txt" && test ! -e "$CODEBUILD_SRC_DIR/plan.txt" && export PRIMARY_IS_SOURCE=yes',
        'export GOT_SUMMARY="$PLAN_SUMMARY" GOT_EXECUTION="$EXECUTION" LEAK="${ORGIAM_TEST_LEAK:-none}"',
        f'if [ -n "$TOY_WHOAMI" ]; then export WHOAMI="$({WHOAMI})"; fi',
        "mkdir -p applied && echo done > applied/result.txt",
    ]}},
    "artifacts": {"files": ["applied/result.txt"]},
}


def toy_resources(name: str) -> dict[str, Any]:
    pipeline_arn = {"Fn::Sub": f"arn:${{AWS::Partition}}:codepipeline:${{AWS::Region}}:${{AWS::AccountId}}:{name}"}
    return {
        "PipelineRole": role(f"{name}-pipeline", "codepipeline.amazonaws.com"),
        "PlanRole": role(f"{name}-plan", "codebuild.amazonaws.com"),
        "ApplyRole": role(f"{name}-apply", "codebuild.amazonaws.com"),
        "PlanProject": project(f"{name}-plan", "PlanRole", PLAN_BUILDSPEC, {
            "MODE": "plan", "ORGIAM_PIPELINE_NAME": name, "ORGIAM_SCHEDULE_RULE": f"{name}-schedule"}),
        "ApplyProject": project(f"{name}-apply", "ApplyRole", APPLY_BUILDSPEC, {"MODE": "plan"}),
        "Pipeline": pipeline(name, [
            source_stage(),
            {"Name": "Plan", "Actions": [build_action(
                "Plan", f"{name}-plan", ["Source"], ["Plan"],
                [{"name": "ORGIAM_PIPELINE_EXECUTION", "value": "#{codepipeline.PipelineExecutionId}", "type": "PLAINTEXT"}])]},
            {"Name": "Approval",
             "BeforeEntry": {"Conditions": [{"Result": "SKIP", "Rules": [
                 variable_check("SkipWithoutChanges", "#{Plan.CHANGES}", "NE", "0")]}]},
             "Actions": [{"Name": "Review", "ActionTypeId": MANUAL, "Configuration": {
                 "CustomData": "toy plan of commit #{SourceVariables.CommitId}: #{Plan.SUMMARY}",
                 "ExternalEntityLink": "#{Plan.PLAN_URL}"}}]},
            {"Name": "Apply", "Actions": [build_action(
                "Apply", f"{name}-apply", ["Source", "Plan"], ["Applied"],
                [{"name": "MODE", "value": "apply", "type": "PLAINTEXT"},
                 {"name": "PLAN_SUMMARY", "value": "#{Plan.SUMMARY}", "type": "PLAINTEXT"},
                 {"name": "EXECUTION", "value": "#{codepipeline.PipelineExecutionId}", "type": "PLAINTEXT"}],
                PrimarySource="Source")]},
        ], ["PlanProject", "ApplyProject"]),
        "Schedule": {"Type": "AWS::Events::Rule", "Properties": {
            "Name": f"{name}-schedule", "ScheduleExpression": "rate(1 day)", "State": "ENABLED",
            "Targets": [{"Id": "pipeline", "Arn": pipeline_arn}]}},
        "Commit": {"Type": "AWS::Events::Rule", "Properties": {
            "Name": f"{name}-commit", "State": "ENABLED",
            "EventPattern": {"source": ["aws.codecommit"], "detail-type": ["CodeCommit Repository State Change"]},
            "Targets": [{"Id": "pipeline", "Arn": pipeline_arn}]}},
    }


GATE_BUILD_FILE = {"version": 0.2, "env": {"exported-variables": ["TARGET"]},
                   "phases": {"build": {"commands": ['export TARGET="$DEPLOY_TO"']}}}


def gate_resources() -> dict[str, Any]:
    """A FAIL entry condition on a pipeline variable; a buildspec file in the source; a second action
    referring to a variable the first did not export."""
    return {
        "PipelineRole": role("toy-gate-pipeline", "codepipeline.amazonaws.com"),
        "BuildRole": role("toy-gate-build", "codebuild.amazonaws.com"),
        "Project": project("toy-gate-build", "BuildRole", "ci/build.yml"),
        "Pipeline": pipeline("toy-gate", [
            source_stage(),
            {"Name": "Deploy",
             "BeforeEntry": {"Conditions": [{"Result": "FAIL", "Rules": [
                 variable_check("OnlyProd", "#{variables.TARGET}", "MATCHES", "prod(-[a-z]+)?")]}]},
             "Actions": [
                 build_action("Deploy", "toy-gate-build", ["Source"], [], [
                     {"name": "DEPLOY_TO", "value": "#{variables.TARGET}", "type": "PLAINTEXT"}]),
                 dict(build_action("Report", "toy-gate-build", ["Source"], [], [
                     {"name": "DEPLOY_TO", "value": "#{Deploy.NOT_EXPORTED}", "type": "PLAINTEXT"}]), RunOrder=2),
             ]},
        ], ["Project"], variables={"TARGET": "dev"}),
    }


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def org(cicd_emulator: EmulatorServer) -> Org:
    org = seed_demo(cicd_emulator.endpoint_url)
    deploy_toy(org, "toy-sync", toy_resources("toy-sync"))
    deploy_toy(org, "toy-gate", gate_resources())
    return org


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", "-c", "user.name=Toy", "-c", "user.email=toy@example.com", "-c", "commit.gpgsign=false",
                           *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


def checkout(path: Path, changes: str, *, fail: bool = False) -> Path:
    """A git repository as the toy pipeline's source: what the plan reads, cicd/trigger.py, and files a
    CODE_ZIP leaves out (git-ignored, out/, __pycache__)."""
    (path / "cicd").mkdir(parents=True)
    shutil.copy2(REPO / "cicd" / "trigger.py", path / "cicd" / "trigger.py")
    (path / "changes.txt").write_text(changes)
    (path / ".gitignore").write_text("ignored.txt\n")
    if fail:
        (path / "fail-the-plan").write_text("")
    git(path, "init", "-q", "-b", "main")
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "toy catalog")
    (path / "ignored.txt").write_text("git ignores me")
    (path / "draft.txt").write_text("not committed yet, not ignored")
    (path / "out").mkdir()
    (path / "out" / "stale.txt").write_text("")
    (path / "cicd" / "__pycache__").mkdir()
    (path / "cicd" / "__pycache__" / "trigger.cpython-311.pyc").write_text("")
    return path


class Approvals:
    def __init__(self, answer: bool = True) -> None:
        self.answer, self.asked = answer, []

    def __call__(self, stage: str, action: str, configuration: dict[str, str]) -> bool:
        self.asked.append((stage, action, configuration))
        return self.answer


def run_toy(org: Org, source: Path, tmp_path: Path, **options: Any):
    options.setdefault("environment", BUILD_ENVIRONMENT)
    return run_pipeline(org, options.pop("name", "toy-sync"), source, account=ACCOUNT, region=REGION,
                        workspace=tmp_path / "workspace", timeout=120, **options)


# ------------------------------------------------------------------------------------------------ runs


def test_variables_artifacts_and_roles_flow_from_build_to_approval_to_build(org: Org, tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ORGIAM_TEST_LEAK", "this process's environment")
    source = checkout(tmp_path / "repo", "3")
    commit = git(source, "rev-parse", "HEAD")
    approvals = Approvals()
    run = run_toy(org, source, tmp_path, approve=approvals, trigger="schedule",
                  environment={**BUILD_ENVIRONMENT, "TOY_WHOAMI": "1", "TOY_VERIFY": "1"})
    assert run.status == "Succeeded", run.describe()
    assert [(s.name, s.status) for s in run.stages.values()] == [
        ("Source", "Succeeded"), ("Plan", "Succeeded"), ("Approval", "Succeeded"), ("Apply", "Succeeded")]
    account_id = org.accounts[ACCOUNT]

    # the source: CODE_ZIP of the checkout, its commit
    assert run.namespaces["SourceVariables"]["CommitId"] == commit
    assert run.namespaces["SourceVariables"]["BranchName"] == "main"
    assert run.namespaces["SourceVariables"]["CommitMessage"] == "toy catalog"
    source_files = sorted(p.relative_to(run.artifacts["Source"]).as_posix()
                          for p in run.artifacts["Source"].rglob("*") if p.is_file())
    assert source_files == [".gitignore", "changes.txt", "cicd/trigger.py", "draft.txt"]

    # Plan: the project's variables under the buildspec's, its role, CodeBuild's variables
    plan = run.action("Plan")
    assert plan.variables["SUMMARY"] == f"3 changes at {commit}"
    assert plan.environment["MODE"] == "plan"
    assert plan.environment["ORGIAM_PIPELINE_EXECUTION"] == run.execution_id
    assert plan.environment["CODEBUILD_INITIATOR"] == "codepipeline/toy-sync"
    assert plan.environment["AWS_DEFAULT_REGION"] == REGION
    assert plan.build_id.startswith("toy-sync-plan:")
    assert plan.variables["PLAN_URL"] == (
        f"https://{REGION}.console.aws.amazon.com/codesuite/codebuild/{account_id}/projects/toy-sync-plan/build/"
        f"toy-sync-plan%3A{plan.build_id.split(':')[1]}/?region={REGION}")
    assert plan.role_arn == f"arn:aws:iam::{account_id}:role/toy-sync-plan"
    assert plan.variables["WHOAMI"] == plan.session_arn
    assert plan.session_arn.startswith(f"arn:aws:sts::{account_id}:assumed-role/toy-sync-plan/AWSCodeBuild-")
    assert sorted(p.relative_to(run.artifacts["Plan"]).as_posix() for p in run.artifacts["Plan"].rglob("*")
                  if p.is_file()) == ["deep/x.txt", "plan.txt"]
    # the scheduled run: the build asked CodePipeline what started it
    assert plan.variables["VERIFY"] == "live"
    assert "started by the schedule (toy-sync-schedule)" in plan.log

    # the approval: entered (there are changes), its configuration resolved
    (condition,) = run.stages["Approval"].entry
    assert condition.met and condition.rules[0].detail == "#{Plan.CHANGES} = '3' NE '0'"
    assert approvals.asked == [("Approval", "Review", {
        "CustomData": f"toy plan of commit {commit}: 3 changes at {commit}",
        "ExternalEntityLink": plan.variables["PLAN_URL"]})]
    assert run.action("Review").approved is True

    # Apply: the action's variables over the project's, the plan as its second input, its own role
    apply = run.action("Apply")
    assert apply.environment["MODE"] == "apply"
    assert apply.variables["GOT_SUMMARY"] == f"3 changes at {commit}"
    assert apply.variables["GOT_EXECUTION"] == run.execution_id
    assert json.loads(apply.configuration["EnvironmentVariables"])[1] == {
        "name": "PLAN_SUMMARY", "value": f"3 changes at {commit}", "type": "PLAINTEXT"}
    assert apply.variables["APPLIED"] == "plan of 3 (plan)"
    assert apply.variables["PRIMARY_IS_SOURCE"] == "yes"
    assert apply.environment["CODEBUILD_SRC_DIR_Plan"] != str(run.artifacts["Plan"])  # a copy
    assert "CODEBUILD_SRC_DIR_Source" not in apply.environment
    assert apply.environment["CODEBUILD_RESOLVED_SOURCE_VERSION"] == commit
    assert apply.variables["LEAK"] == "none" and "ORGIAM_TEST_LEAK" not in apply.environment
    assert run.roles == {"Plan.Plan": plan.session_arn, "Apply.Apply": apply.session_arn}
    assert apply.session_arn.startswith(f"arn:aws:sts::{account_id}:assumed-role/toy-sync-apply/AWSCodeBuild-")
    assert apply.variables["WHOAMI"] == apply.session_arn
    assert (run.artifacts["Applied"] / "applied" / "result.txt").read_text() == "done\n"

    # the execution, as CodePipeline reports it
    execution = org.client("codepipeline", ACCOUNT, REGION).get_pipeline_execution(
        pipelineName="toy-sync", pipelineExecutionId=run.execution_id)["pipelineExecution"]
    assert execution["status"] == "Succeeded"
    assert execution["trigger"] == {"triggerType": "CloudWatchEvent",
                                    "triggerDetail": f"arn:aws:events:{REGION}:{account_id}:rule/toy-sync-schedule"}
    assert run.trigger == Trigger("CloudWatchEvent", execution["trigger"]["triggerDetail"])


def test_the_entry_condition_skips_the_approval_without_changes(org: Org, tmp_path: Path):
    approvals = Approvals()
    run = run_toy(org, checkout(tmp_path / "repo", "0"), tmp_path, approve=approvals, trigger="commit",
                  environment={**BUILD_ENVIRONMENT, "TOY_VERIFY": "1"})
    assert run.status == "Succeeded", run.describe()
    approval = run.stages["Approval"]
    assert approval.status == "Skipped" and run.action("Review").status == "Skipped"
    assert approvals.asked == []
    (condition,) = approval.entry
    assert condition.result == "SKIP" and not condition.met
    assert condition.rules[0].detail == "#{Plan.CHANGES} = '0' NE '0'"
    assert run.stages["Apply"].status == "Succeeded"
    assert run.action("Apply").variables["APPLIED"] == "plan of 0 (plan)"
    # a commit is not the schedule: the fast path
    assert run.trigger.type == "CloudWatchEvent" and run.trigger.detail.endswith(":rule/toy-sync-commit")
    assert run.action("Plan").variables["VERIFY"] == "tags"


def test_a_failed_build_stops_the_run(org: Org, tmp_path: Path):
    approvals = Approvals()
    run = run_toy(org, checkout(tmp_path / "repo", "3", fail=True), tmp_path, approve=approvals)
    assert run.status == "Failed"
    assert [(s.name, s.status) for s in run.stages.values()] == [
        ("Source", "Succeeded"), ("Plan", "Failed"), ("Approval", "NotRun"), ("Apply", "NotRun")]
    plan = run.action("Plan")
    assert plan.build is not None and plan.build.phases["build"] == "FAILED"
    assert plan.error == f"build {plan.build_id} failed in build"
    assert "Plan" not in run.namespaces and "Plan" not in run.artifacts
    assert approvals.asked == [] and run.action("Apply").build is None
    assert run.error == "stage Plan: action Plan failed"
    assert "test ! -e fail-the-plan" in run.describe()
    execution = org.client("codepipeline", ACCOUNT, REGION).get_pipeline_execution(
        pipelineName="toy-sync", pipelineExecutionId=run.execution_id)["pipelineExecution"]
    assert execution["status"] == "Failed"
    assert execution["trigger"]["triggerType"] == "StartPipelineExecution"
    assert execution["trigger"]["triggerDetail"].startswith(f"arn:aws:sts::{org.accounts[ACCOUNT]}:assumed-role/")


def test_without_an_answer_the_run_waits_at_the_approval_and_a_rejection_fails_it(org: Org, tmp_path: Path):
    source = checkout(tmp_path / "repo", "2")
    waiting = run_toy(org, source, tmp_path, approve=None)
    assert waiting.status == "Waiting", waiting.describe()
    assert waiting.waited == ("Approval", "Review")
    assert [(s.name, s.status) for s in waiting.stages.values()] == [
        ("Source", "Succeeded"), ("Plan", "Succeeded"), ("Approval", "Waiting"), ("Apply", "NotRun")]
    assert waiting.action("Review").configuration["CustomData"].endswith(": 2 changes at " + git(source, "rev-parse", "HEAD"))
    execution = org.client("codepipeline", ACCOUNT, REGION).get_pipeline_execution(
        pipelineName="toy-sync", pipelineExecutionId=waiting.execution_id)["pipelineExecution"]
    assert execution["status"] == "InProgress"

    rejected = run_toy(org, source, tmp_path, approve=Approvals(answer=False))
    assert rejected.status == "Failed"
    assert rejected.action("Review").status == "Failed" and rejected.action("Review").error == "rejected"
    assert rejected.stages["Apply"].status == "NotRun"
    assert waiting.execution_id != rejected.execution_id


def test_an_entry_condition_that_fails_fails_the_run_and_pipeline_variables_decide_it(org: Org, tmp_path: Path):
    """A FAIL entry condition on a pipeline variable; a buildspec file in the source; a reference to a
    variable no action exported fails the action that makes it, naming it."""
    source = tmp_path / "repo"
    (source / "ci").mkdir(parents=True)
    (source / "ci" / "build.yml").write_text(yaml.safe_dump(GATE_BUILD_FILE))

    refused = run_toy(org, source, tmp_path, name="toy-gate")
    assert refused.status == "Failed"
    assert refused.stages["Deploy"].status == "Failed"
    assert refused.stages["Deploy"].entry[0].rules[0].detail == "#{variables.TARGET} = 'dev' MATCHES 'prod(-[a-z]+)?'"
    assert refused.action("Deploy").status == "NotRun"
    assert refused.error == "stage Deploy: entry condition not met (OnlyProd): failed"

    entered = run_toy(org, source, tmp_path, name="toy-gate", variables={"TARGET": "prod-eu"})
    assert entered.stages["Deploy"].entry[0].met
    assert entered.action("Deploy").status == "Succeeded", entered.describe()
    assert entered.namespaces["Deploy"] == {"TARGET": "prod-eu"}
    assert entered.namespaces["variables"] == {"TARGET": "prod-eu"}
    report = entered.action("Report")
    assert report.status == "Failed" and report.build is None
    assert report.error.startswith("EnvironmentVariables: #{Deploy.NOT_EXPORTED}: namespace Deploy has no variable "
                                   "NOT_EXPORTED (it has: TARGET)")
    assert entered.status == "Failed"


def test_what_the_runner_cannot_run_is_refused_before_an_execution_starts(org: Org, tmp_path: Path):
    deploy_toy(org, "toy-alarm", {
        "PipelineRole": role("toy-alarm-pipeline", "codepipeline.amazonaws.com"),
        "Pipeline": pipeline("toy-alarm", [
            source_stage(),
            {"Name": "Wait", "BeforeEntry": {"Conditions": [{"Result": "FAIL", "Rules": [
                variable_check("Alarm", "#{SourceVariables.BranchName}", "EQ", "main", provider="CloudWatchAlarm")]}]},
             "Actions": [{"Name": "Review", "ActionTypeId": MANUAL}]},
        ], []),
    })
    with pytest.raises(PipelineRunnerError, match="rule Alarm of provider CloudWatchAlarm: only VariableCheck"):
        run_toy(org, tmp_path, tmp_path, name="toy-alarm", approve=Approvals())
    codepipeline = org.client("codepipeline", ACCOUNT, REGION)
    assert codepipeline.list_pipeline_executions(pipelineName="toy-alarm")["pipelineExecutionSummaries"] == []
    with pytest.raises(PipelineRunnerError, match="no EventBridge rules|0 EventBridge rules"):
        run_toy(org, tmp_path, tmp_path, name="toy-gate", trigger="schedule")


# ------------------------------------------------------------------------------------------------ rules and references


def test_variable_check_operators_as_documented():
    namespaces = {"Plan": {"CHANGES": "0", "SUMMARY": "no change in 11 accounts"}}

    def check(operator: str, value: str, variable: str = "#{Plan.SUMMARY}") -> bool:
        return check_variable({"Variable": variable, "Operator": operator, "Value": value}, namespaces)[0]

    assert check("EQ", "0", "#{Plan.CHANGES}") and not check("NE", "0", "#{Plan.CHANGES}")
    assert check("NE", "1", "#{Plan.CHANGES}") and not check("EQ", "00", "#{Plan.CHANGES}")
    assert check("CONTAINS", "11 accounts") and not check("CONTAINS", "12 accounts")
    assert check("MATCHES", r"no change in \d+ accounts") and not check("MATCHES", "no change")  # the whole value
    with pytest.raises(PipelineRunnerError, match="operator GT is not one of EQ, NE, CONTAINS, MATCHES"):
        check("GT", "0", "#{Plan.CHANGES}")
    with pytest.raises(VariableError, match=r"#\{Apply.CHANGES\}: no namespace Apply"):
        check("EQ", "0", "#{Apply.CHANGES}")
    assert resolve("#{Plan.CHANGES} and #{Plan.CHANGES}, not #{plain}", namespaces) == "0 and 0, not #{plain}"

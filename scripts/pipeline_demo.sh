#!/usr/bin/env bash
# make pipeline-demo: orgiam's pipeline (cicd/) in the emulator, start to finish.
#   1. starts its own emulator (any free port; the pipeline's CloudFormation types come from
#      emulator/cfn_cicd.py) and seeds the demo organization;
#   2. deploys cicd/pipeline.yml in the Deployments account (eu-west-1) and cicd/management-events.yml
#      in the management account (us-east-1), as playbooks/bootstrap.yml would, and lists each stack's
#      resources (ListStackResources) and outputs;
#   3. runs cicd/buildspec.yml once with MODE=plan, phase by phase, as CodeBuild would
#      (tests/cicd/buildspec_runner.py), and prints the approval message the pipeline would send.
# The build's reports are kept in .orgiam/pipeline-demo/. Nothing outside the emulator is touched.
set -euo pipefail
cd "$(dirname "$0")/.."
export AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_CONFIG_FILE AWS_SHARED_CREDENTIALS_FILE AWS_ENDPOINT_URL
mkdir -p .orgiam
exec python - "$@" <<'PYTHON'
import json
import os
import shutil
import sys
import tempfile
import warnings
from pathlib import Path

import emulator.cfn_cicd  # noqa: F401  (also loaded by the emulator itself once install_extensions has it)
from emulator.aws import boto3_session
from emulator.organization import ACCESS_ROLE_NAME, load_demo_spec, seed_organization
from emulator.server import EmulatorServer
from tests.cicd.buildspec_runner import run_buildspec

REPO = Path.cwd()
PIPELINE_REGION = "eu-west-1"
warnings.simplefilter("ignore")


def session(endpoint, management_id, account_id, region):
    management = boto3_session("testing", "testing", region_name=region)
    if account_id == management_id:
        return management
    credentials = management.client("sts", endpoint_url=endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ACCESS_ROLE_NAME}", RoleSessionName="orgiam-bootstrap")["Credentials"]
    return boto3_session(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"],
                         region_name=region)


def deploy_and_show(endpoint, aws, stack_name, template, parameters, where):
    cloudformation = aws.client("cloudformation", endpoint_url=endpoint)
    cloudformation.create_stack(StackName=stack_name, TemplateBody=(REPO / template).read_text(),
                                Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
                                Capabilities=["CAPABILITY_NAMED_IAM"])
    stack = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    print(f"\n== {template} as stack {stack_name} in {where}: {stack['StackStatus']}")
    print("   parameters: " + ", ".join(f"{k}={v}" for k, v in parameters.items()))
    rows = [r for r in cloudformation.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
            if r.get("LogicalResourceId")]  # moto lists a resource whose Condition is false as an empty entry
    width = max(len(r["LogicalResourceId"]) for r in rows)
    type_width = max(len(r["ResourceType"]) for r in rows)
    print(f"   {'logical id'.ljust(width)}  {'type'.ljust(type_width)}  status           physical id")
    for r in rows:
        print(f"   {r['LogicalResourceId'].ljust(width)}  {r['ResourceType'].ljust(type_width)}  "
              f"{r['ResourceStatus'].ljust(15)}  {r['PhysicalResourceId']}")
    print("   outputs:")
    for output in stack.get("Outputs", []):
        print(f"     {output['OutputKey']} = {output['OutputValue']}")
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


with EmulatorServer(port=0) as server:
    endpoint = server.endpoint_url
    print(f"== emulator at {endpoint}: seeding the demo organization")
    seeded = seed_organization(endpoint, load_demo_spec())
    management_id = seeded["management_account_id"]
    pipeline_id = seeded["accounts"]["Deployments"]
    organization_id = boto3_session("testing", "testing").client(
        "organizations", endpoint_url=endpoint).describe_organization()["Organization"]["Id"]

    outputs = deploy_and_show(endpoint, session(endpoint, management_id, pipeline_id, PIPELINE_REGION),
                              "orgiam-pipeline", "cicd/pipeline.yml", {
        "SourceProvider": "CodeConnections", "RepositoryName": "acme/org-iam", "BranchName": "main",
        "ConnectionArn": f"arn:aws:codeconnections:{PIPELINE_REGION}:{pipeline_id}:connection/7d2f1c3e-demo",
        "ApprovalRequired": "true", "ScheduleExpression": "rate(1 day)", "NotificationEmail": "platform@example.com",
        "ManagementAccountId": management_id, "OrganizationId": organization_id, "LogRetentionDays": "90",
    }, f"Deployments ({pipeline_id}), {PIPELINE_REGION}")
    deploy_and_show(endpoint, session(endpoint, management_id, management_id, "us-east-1"),
                    "orgiam-management-events", "cicd/management-events.yml",
                    {"PipelineAccountId": pipeline_id, "PipelineRegion": PIPELINE_REGION},
                    f"the management account ({management_id}), us-east-1")

    pipeline = session(endpoint, management_id, pipeline_id, PIPELINE_REGION).client(
        "codepipeline", endpoint_url=endpoint).get_pipeline(name=outputs["PipelineName"])["pipeline"]
    print(f"\n== pipeline {pipeline['name']} ({pipeline['pipelineType']}, {pipeline['executionMode']}): "
          + " -> ".join(stage["name"] for stage in pipeline["stages"]))

    print("\n== one plan build: cicd/buildspec.yml with MODE=plan, phase by phase, as CodeBuild runs it")
    with tempfile.TemporaryDirectory(prefix="orgiam-codebuild-") as scratch:
        src = Path(scratch) / "src"
        shutil.copytree(REPO, src, ignore=shutil.ignore_patterns(
            ".git", ".venv", "out", ".orgiam", ".ansible", "__pycache__", ".pytest_cache", "tests", "benchmarks", "docs"))
        environment = {
            "PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", scratch), "LANG": "C.UTF-8",
            "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
            "CODEBUILD_BUILD_URL": f"https://{PIPELINE_REGION}.console.aws.amazon.com/codesuite/codebuild/{pipeline_id}/projects/orgiam-sync/build/demo",
            "CODEBUILD_RESOLVED_SOURCE_VERSION": "0123456789abcdef0123456789abcdef01234567",
            "MODE": "plan", "ORGIAM_INVENTORY": "inventories/demo", "ORGIAM_SKIP_INSTALL": "1",
        }
        result = run_buildspec(REPO / "cicd" / "buildspec.yml", src, environment)
        for command in result.commands:
            print(f"   [{command.phase}] {command.command.strip().splitlines()[0][:90]}  (exit {command.returncode})")
        print("   phases: " + ", ".join(f"{phase} {status}" for phase, status in result.phases.items()))
        kept = REPO / ".orgiam" / "pipeline-demo"
        shutil.rmtree(kept, ignore_errors=True)
        if (src / "out").is_dir():
            shutil.copytree(src / "out", kept)
        if not result.succeeded:
            print(result.log[-4000:], file=sys.stderr)
            sys.exit(1)
        summary = (kept / "summary.txt").read_text()
    print("\n" + summary.rstrip())
    print("\n== the approval request the topic would get (CustomData and ExternalEntityLink)")
    print(f"   orgiam plan of commit 0123456789abcdef0123456789abcdef01234567: {result.exported['ORGIAM_PLAN_SUMMARY']}")
    print(f"   {result.exported['ORGIAM_PLAN_URL']}")
    print(f"\nreports and plan: {kept.relative_to(REPO)}/ ({', '.join(sorted(p.name for p in kept.iterdir()))})")
PYTHON

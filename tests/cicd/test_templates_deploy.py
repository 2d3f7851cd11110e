"""The templates of cicd/ deployed into the emulator, each resource read back through its service API.

Two pipeline stacks (CodeConnections with approval and an email in Deployments, eu-west-1; CodeCommit
without approval or email in Security, us-east-1) and management-events.yml in the management account.
"""

from __future__ import annotations

import json
import re

import pytest
from typing import Any

from cfnlint.decode import cfn_yaml

from tests.cicd.conftest import (
    CICD, MANAGEMENT_EVENTS_TEMPLATE, PIPELINE_ACCOUNT, PIPELINE_REGION, PIPELINE_TEMPLATE, Deployed, Org, deploy,
    pipeline_parameters, seed_demo,
)

KMS_USE = {"kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:ReEncryptFrom", "kms:ReEncryptTo"}


def template_resources(path) -> dict[str, Any]:
    return json.loads(json.dumps(cfn_yaml.loads(path.read_text(encoding="utf-8"))))["Resources"]


def allowed_actions(role: dict[str, Any]) -> set[str]:
    actions = set()
    for document in role["inline"].values():
        for statement in document["Statement"]:
            if statement["Effect"] == "Allow":
                action = statement["Action"]
                actions.update(action if isinstance(action, list) else [action])
    return actions


def documented_actions() -> dict[str, set[str]]:
    """cicd/README.md's tables: role -> actions."""
    documented: dict[str, set[str]] = {}
    role = None
    for line in (CICD / "README.md").read_text(encoding="utf-8").split("## IAM roles and their actions")[1].splitlines():
        heading = re.match(r"^### `([^`]+)`", line)
        if heading:
            role = heading.group(1)
            documented[role] = set()
        row = re.match(r"^\| `([a-z0-9-]+:[A-Za-z]+)` \|", line)
        if role and row:
            documented[role].add(row.group(1))
    return documented


def test_every_stack_completes_with_every_resource_its_conditions_select(deployed: Deployed):
    pipeline = set(template_resources(PIPELINE_TEMPLATE))
    assert deployed.connections.status == "CREATE_COMPLETE"
    assert set(deployed.connections.resources) == pipeline - {"SourceChangeRule"}
    assert deployed.codecommit.status == "CREATE_COMPLETE"
    assert set(deployed.codecommit.resources) == pipeline - {"NotificationEmailSubscription", "PipelineApprovalPolicy"}
    assert deployed.management.status == "CREATE_COMPLETE"
    assert set(deployed.management.resources) == set(template_resources(MANAGEMENT_EVENTS_TEMPLATE))
    assert all(r["ResourceStatus"] == "CREATE_COMPLETE" for stack in (deployed.connections, deployed.codecommit,
                                                                      deployed.management)
               for r in stack.resources.values())


def test_outputs_name_what_bootstrap_and_people_need(deployed: Deployed):
    account = deployed.org.accounts[PIPELINE_ACCOUNT]
    outputs = deployed.connections.outputs
    assert outputs["BuildRoleArn"] == f"arn:aws:iam::{account}:role/orgiam/orgiam-sync-build"
    assert outputs["PipelineName"] == "orgiam-sync"
    assert outputs["NotificationTopicArn"] == f"arn:aws:sns:{PIPELINE_REGION}:{account}:orgiam-pipeline"
    assert outputs["OrganizationEventBusArn"] == \
        f"arn:aws:events:{PIPELINE_REGION}:{account}:event-bus/orgiam-organization-events"
    assert outputs["ArtifactBucketName"] == deployed.connections_state["pipeline"]["artifactStore"]["location"]


def test_each_role_holds_exactly_the_documented_actions(deployed: Deployed):
    documented = documented_actions()
    roles: dict[str, set[str]] = {}
    for state in (deployed.connections_state, deployed.codecommit_state, deployed.management_state):
        for name, role in state["roles"].items():
            roles.setdefault(name, set()).update(allowed_actions(role))
            assert role["attached"] == [], f"{name} has managed policies"
            assert role["role"]["Path"] == "/orgiam/"
    assert roles == documented
    # the source and approval permissions follow the parameters
    connections = allowed_actions(deployed.connections_state["roles"]["orgiam-pipeline"])
    codecommit = allowed_actions(deployed.codecommit_state["roles"]["orgiam-pipeline"])
    assert "codeconnections:UseConnection" in connections and not any(a.startswith("codecommit:") for a in connections)
    assert "codecommit:GetBranch" in codecommit and not any("UseConnection" in a for a in codecommit)
    assert "sns:Publish" in connections and "sns:Publish" not in codecommit


def test_each_role_trusts_one_service_of_its_own_account(deployed: Deployed):
    for state, account in ((deployed.connections_state, deployed.org.accounts[PIPELINE_ACCOUNT]),
                           (deployed.management_state, deployed.org.management_account_id)):
        for name, role in state["roles"].items():
            (statement,) = role["role"]["AssumeRolePolicyDocument"]["Statement"]
            assert statement["Action"] == "sts:AssumeRole" and len(statement["Principal"]) == 1
            assert statement["Principal"]["Service"] in (
                "codebuild.amazonaws.com", "codepipeline.amazonaws.com", "events.amazonaws.com")
            assert statement["Condition"]["StringEquals"] == {"aws:SourceAccount": account}, name
    build = deployed.connections_state["roles"]["orgiam-sync-build"]["role"]["AssumeRolePolicyDocument"]
    assert build["Statement"][0]["Condition"]["ArnLike"]["aws:SourceArn"] == \
        f"arn:aws:codebuild:{PIPELINE_REGION}:{deployed.org.accounts[PIPELINE_ACCOUNT]}:project/orgiam-sync"


@pytest.mark.parametrize("role, member_role", [("orgiam-sync-build", "orgiam-deployer"),
                                               ("orgiam-sync-plan", "orgiam-planner")])
def test_each_build_role_reaches_only_the_reader_and_its_role_in_the_organizations_accounts(
        deployed: Deployed, role: str, member_role: str):
    org = deployed.org
    inline = deployed.connections_state["roles"][role]["inline"]
    assert set(inline) == {"orgiam-pipeline-builds", role}
    statements = [s for document in inline.values() for s in document["Statement"]]
    assume = [s for s in statements if s["Action"] == "sts:AssumeRole"]
    assert sorted((s["Resource"], json.dumps(s.get("Condition"))) for s in assume) == sorted([
        (f"arn:aws:iam::{org.management_account_id}:role/orgiam/orgiam-organization-reader", "null"),
        (f"arn:aws:iam::*:role/orgiam/{member_role}",
         json.dumps({"StringEquals": {"aws:ResourceOrgID": org.organization_id}})),
    ])
    state = deployed.connections_state
    bucket = state["pipeline"]["artifactStore"]["location"]
    resources = {s["Sid"]: s["Resource"] for s in statements}
    # the release and the pipeline's artifacts are read; only the pipeline's artifacts are written
    assert resources["ReadTheReleaseAndTheArtifacts"] == [f"arn:aws:s3:::{bucket}/releases/*",
                                                          f"arn:aws:s3:::{bucket}/orgiam-sync/*"]
    assert resources["WriteTheirOwnArtifacts"] == f"arn:aws:s3:::{bucket}/orgiam-sync/*"
    assert resources["UseArtifactKey"] == state["key"]["metadata"]["Arn"]
    groups = f"arn:aws:codebuild:{PIPELINE_REGION}:{org.accounts[PIPELINE_ACCOUNT]}:report-group/"
    assert resources["WriteJUnitReports"] == [groups + "orgiam-plan-junit", groups + "orgiam-sync-junit"]


def test_the_key_rotates_and_its_policy_names_only_the_principals_that_need_it(deployed: Deployed):
    key = deployed.connections_state["key"]
    account = deployed.org.accounts[PIPELINE_ACCOUNT]
    assert key["rotation"] is True and key["metadata"]["KeyManager"] == "CUSTOMER"
    assert key["aliases"] == ["alias/orgiam-pipeline"]
    policy = json.loads(key["policy"])
    principals = {}
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        for kind, value in statement["Principal"].items():
            for principal in value if isinstance(value, list) else [value]:
                principals[principal] = set(statement["Action"])
    assert set(principals) == {
        f"arn:aws:iam::{account}:root", f"arn:aws:iam::{account}:role/orgiam/orgiam-sync-build",
        f"arn:aws:iam::{account}:role/orgiam/orgiam-sync-plan",
        f"arn:aws:iam::{account}:role/orgiam/orgiam-pipeline", "events.amazonaws.com",
        f"logs.{PIPELINE_REGION}.amazonaws.com",
    }
    # the account administers the key but cannot use it; the logs service only for the build's log group
    assert not principals[f"arn:aws:iam::{account}:root"] & KMS_USE
    logs = next(s for s in policy["Statement"] if s["Principal"].get("Service", "").startswith("logs."))
    assert logs["Condition"]["ArnEquals"]["kms:EncryptionContext:aws:logs:arn"] == \
        f"arn:aws:logs:{PIPELINE_REGION}:{account}:log-group:/aws/codebuild/orgiam-sync"


def test_the_artifact_bucket_is_encrypted_private_tls_only_and_expires(deployed: Deployed):
    bucket = deployed.connections_state["bucket"]
    key_arn = deployed.connections_state["key"]["metadata"]["Arn"]
    (rule,) = bucket["encryption"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn}
    assert rule["BucketKeyEnabled"] is True
    assert bucket["public_access_block"] == {"BlockPublicAcls": True, "IgnorePublicAcls": True,
                                             "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
    assert bucket["ownership"] == {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]}
    assert bucket["versioning"] == "Enabled"
    (lifecycle,) = bucket["lifecycle"]
    assert lifecycle["Status"] == "Enabled" and lifecycle["Expiration"] == {"Days": 90}
    assert lifecycle["NoncurrentVersionExpiration"] == {"NoncurrentDays": 7}
    assert lifecycle["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 1}
    tls, releases = json.loads(bucket["policy"])["Statement"]
    assert tls["Effect"] == "Deny" and tls["Action"] == "s3:*"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # the release the builds run is not the pipeline's to write
    account = deployed.org.accounts[PIPELINE_ACCOUNT]
    assert releases["Effect"] == "Deny" and releases["Resource"].endswith("/releases/*")
    assert sorted(releases["Principal"]["AWS"]) == sorted(
        f"arn:aws:iam::{account}:role/orgiam/{name}" for name in ("orgiam-sync-plan", "orgiam-sync-build", "orgiam-pipeline"))


def test_the_build_log_group_keeps_logs_for_the_retention_and_is_encrypted(deployed: Deployed):
    (group,) = deployed.connections_state["log_groups"]
    assert group["logGroupName"] == "/aws/codebuild/orgiam-sync"
    assert group["retentionInDays"] == 90
    assert group["kmsKeyId"] == deployed.connections_state["key"]["metadata"]["Arn"]


def test_the_topic_is_encrypted_with_an_optional_email_and_only_the_state_rule_publishes(deployed: Deployed):
    state = deployed.connections_state
    assert state["topic"]["KmsMasterKeyId"] == state["key"]["metadata"]["Arn"]
    assert [(s["Protocol"], s["Endpoint"]) for s in state["subscriptions"]] == [("email", "platform-team@example.com")]
    assert deployed.codecommit_state["subscriptions"] == []
    (statement,) = json.loads(state["topic"]["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "events.amazonaws.com"} and statement["Action"] == "sns:Publish"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": state["rules"]["orgiam-pipeline-state"]["rule"]["Arn"]}}


def test_the_plan_and_apply_projects_run_the_templates_buildspec_one_build_at_a_time(deployed: Deployed):
    plan, apply = deployed.connections_state["projects"]
    org = deployed.org
    assert (plan["name"], apply["name"]) == ("orgiam-plan", "orgiam-sync")
    assert plan["source"]["buildspec"] == apply["source"]["buildspec"]
    assert plan["source"]["buildspec"].startswith("version: 0.2") and plan["source"]["type"] == "CODEPIPELINE"
    for project, role, mode, member, preview in ((plan, "PlanRoleArn", "plan", "orgiam-planner", "template"),
                                                 (apply, "BuildRoleArn", "apply", "orgiam-deployer", "change_set")):
        assert project["concurrentBuildLimit"] == 1
        assert project["artifacts"] == {"type": "CODEPIPELINE"}
        assert project["serviceRole"] == deployed.connections.outputs[role]
        assert project["encryptionKey"] == deployed.connections_state["key"]["metadata"]["Arn"]
        assert project["logsConfig"]["cloudWatchLogs"] == {"status": "ENABLED", "groupName": "/aws/codebuild/orgiam-sync"}
        environment = {v["name"]: v["value"] for v in project["environment"]["environmentVariables"]}
        assert environment == {
            "MODE": mode, "ORGIAM_RELEASE_BUCKET": deployed.connections.outputs["ArtifactBucketName"],
            "ORGIAM_RELEASE_KEY": deployed.connections.parameters["ReleaseKey"],
            "ORGIAM_RELEASE_SHA256": deployed.connections.parameters["ReleaseSha256"],
            "ORGIAM_CATALOG": "roles_catalog",
            "ORGIAM_READER_ROLE_ARN": f"arn:aws:iam::{org.management_account_id}:role/orgiam/orgiam-organization-reader",
            "ORGIAM_MEMBER_ROLE_NAME": f"orgiam/{member}", "ORGIAM_PREVIEW": preview,
            "ORGIAM_ORGANIZATION_ID": org.organization_id,
            "ORGIAM_PIPELINE_NAME": "orgiam-sync", "ORGIAM_SCHEDULE_RULE": "orgiam-sync-schedule",
        }
        assert project["environment"]["privilegedMode"] is False


def test_the_pipeline_plans_waits_for_approval_and_applies(deployed: Deployed):
    pipeline = deployed.connections_state["pipeline"]
    assert (pipeline["pipelineType"], pipeline["executionMode"]) == ("V2", "QUEUED")
    assert pipeline["artifactStore"]["encryptionKey"] == {"id": deployed.connections_state["key"]["metadata"]["Arn"],
                                                          "type": "KMS"}
    stages = {s["name"]: s["actions"] for s in pipeline["stages"]}
    assert list(stages) == ["Source", "Plan", "Approval", "Apply"]
    (source,) = stages["Source"]
    assert source["actionTypeId"]["provider"] == "CodeStarSourceConnection"
    assert source["configuration"]["FullRepositoryId"] == "acme/org-iam"
    assert source["configuration"]["ConnectionArn"] == deployed.connections.parameters["ConnectionArn"]
    (approval,) = stages["Approval"]
    assert approval["actionTypeId"]["provider"] == "Manual"
    assert approval["configuration"]["NotificationArn"] == deployed.connections.outputs["NotificationTopicArn"]
    assert "#{Plan.ORGIAM_PLAN_SUMMARY}" in approval["configuration"]["CustomData"]
    assert approval["configuration"]["ExternalEntityLink"] == "#{Plan.ORGIAM_PLAN_URL}"
    assert approval["timeoutInMinutes"] == 4320
    for stage, project, inputs in (("Plan", "orgiam-plan", ["Source"]), ("Apply", "orgiam-sync", ["Source", "Plan"])):
        (action,) = stages[stage]
        assert action["configuration"]["ProjectName"] == project
        assert "MODE" not in action["configuration"]["EnvironmentVariables"]  # the project's, not the action's
        # Apply gets the approved plan: the Plan action's artifact, beside the source
        assert [a["name"] for a in action["inputArtifacts"]] == inputs
    (apply,) = stages["Apply"]
    assert apply["configuration"]["PrimarySource"] == "Source"
    assert {"name": "ORGIAM_REQUIRE_PLAN", "value": "1", "type": "PLAINTEXT"} in json.loads(
        apply["configuration"]["EnvironmentVariables"])


def test_without_approval_the_pipeline_goes_from_plan_to_apply_and_commits_start_it(deployed: Deployed):
    state = deployed.codecommit_state
    account = deployed.org.accounts["Security"]
    stages = {s["name"]: s["actions"] for s in state["pipeline"]["stages"]}
    assert list(stages) == ["Source", "Plan", "Apply"]
    (source,) = stages["Source"]
    assert source["actionTypeId"]["provider"] == "CodeCommit"
    assert source["configuration"] == {"RepositoryName": "org-iam", "BranchName": "release/iam",
                                       "PollForSourceChanges": "false", "OutputArtifactFormat": "CODE_ZIP"}
    commit = state["rules"]["orgiam-sync-commit"]
    pattern = json.loads(commit["rule"]["EventPattern"])
    assert pattern["resources"] == [f"arn:aws:codecommit:us-east-1:{account}:org-iam"]
    assert pattern["detail"]["referenceName"] == ["release/iam"]
    assert state["rules"]["orgiam-sync-schedule"]["rule"]["ScheduleExpression"] == "cron(0 6 ? * MON-FRI *)"
    assert "orgiam-sync-commit" not in deployed.connections_state["rules"]


def test_schedule_and_organization_rules_start_the_pipeline_through_the_start_role(deployed: Deployed):
    state = deployed.connections_state
    account = deployed.org.accounts[PIPELINE_ACCOUNT]
    pipeline_arn = f"arn:aws:codepipeline:{PIPELINE_REGION}:{account}:orgiam-sync"
    start_role = f"arn:aws:iam::{account}:role/orgiam/orgiam-pipeline-start"
    schedule = state["rules"]["orgiam-sync-schedule"]
    assert schedule["rule"]["ScheduleExpression"] == "rate(1 day)" and schedule["rule"]["State"] == "ENABLED"
    organization = state["bus_rules"]["orgiam-sync-organization-change"]
    assert organization["rule"]["EventBusName"] == "orgiam-organization-events"
    for rule in (schedule, organization):
        (target,) = rule["targets"]
        assert (target["Arn"], target["RoleArn"]) == (pipeline_arn, start_role)
    (document,) = state["roles"]["orgiam-pipeline-start"]["inline"].values()
    assert document["Statement"] == [{"Sid": "StartThePipeline", "Effect": "Allow",
                                      "Action": "codepipeline:StartPipelineExecution", "Resource": pipeline_arn}]
    (notify,) = state["rules"]["orgiam-pipeline-state"]["targets"]
    assert notify["Arn"] == deployed.connections.outputs["NotificationTopicArn"]


def test_only_the_management_account_may_put_events_on_the_orgiam_bus(deployed: Deployed):
    bus = deployed.connections_state["bus"]
    (statement,) = json.loads(bus["Policy"])["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{deployed.org.management_account_id}:root"}
    assert (statement["Action"], statement["Resource"]) == ("events:PutEvents", bus["Arn"])


def test_the_management_account_forwards_to_the_pipeline_accounts_bus(deployed: Deployed):
    bus_arn = deployed.connections.outputs["OrganizationEventBusArn"]
    forward = deployed.management_state["rules"]["orgiam-forward-organization-events"]
    (target,) = forward["targets"]
    assert target["Arn"] == bus_arn
    assert target["RoleArn"] == deployed.management.outputs["ForwarderRoleArn"]
    role = deployed.management_state["roles"]["orgiam-organization-events-forwarder"]
    (document,) = role["inline"].values()
    assert [(s["Action"], s["Resource"]) for s in document["Statement"]] == [("events:PutEvents", bus_arn)]
    trust = role["role"]["AssumeRolePolicyDocument"]["Statement"][0]["Condition"]
    assert trust["ArnEquals"]["aws:SourceArn"] == forward["rule"]["Arn"]


def test_an_update_reaches_the_pipeline_the_rules_and_the_logs_and_delete_keeps_only_bucket_and_key(cicd_emulator):
    org: Org = seed_demo(cicd_emulator.endpoint_url)
    parameters = pipeline_parameters(org, SourceProvider="CodeCommit", RepositoryName="org-iam", ConnectionArn="",
                                     ApprovalRequired="false", NotificationEmail="")
    stack = deploy(org, PIPELINE_TEMPLATE, "orgiam-pipeline", parameters, PIPELINE_ACCOUNT, PIPELINE_REGION)
    cloudformation = org.client("cloudformation", PIPELINE_ACCOUNT, PIPELINE_REGION)
    codepipeline = org.client("codepipeline", PIPELINE_ACCOUNT, PIPELINE_REGION)
    events = org.client("events", PIPELINE_ACCOUNT, PIPELINE_REGION)

    # moto re-evaluates the resources that Ref a changed parameter (not those behind a changed Condition)
    updated = dict(parameters, BranchName="iam", ScheduleExpression="rate(12 hours)", LogRetentionDays="30")
    cloudformation.update_stack(
        StackName="orgiam-pipeline", TemplateBody=PIPELINE_TEMPLATE.read_text(encoding="utf-8"),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in updated.items()],
        Capabilities=["CAPABILITY_NAMED_IAM"])
    assert cloudformation.describe_stacks(StackName="orgiam-pipeline")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    pipeline = codepipeline.get_pipeline(name="orgiam-sync")["pipeline"]
    assert pipeline["version"] == 2
    assert pipeline["stages"][0]["actions"][0]["configuration"]["BranchName"] == "iam"
    assert events.describe_rule(Name="orgiam-sync-schedule")["ScheduleExpression"] == "rate(12 hours)"
    assert json.loads(events.describe_rule(Name="orgiam-sync-commit")["EventPattern"])["detail"]["referenceName"] == ["iam"]
    (group,) = org.client("logs", PIPELINE_ACCOUNT, PIPELINE_REGION).describe_log_groups()["logGroups"]
    assert group["retentionInDays"] == 30

    cloudformation.delete_stack(StackName="orgiam-pipeline")
    assert not org.client("iam", PIPELINE_ACCOUNT).list_roles(PathPrefix="/orgiam/")["Roles"]
    assert org.client("codebuild", PIPELINE_ACCOUNT, PIPELINE_REGION).list_projects()["projects"] == []
    assert codepipeline.list_pipelines()["pipelines"] == []
    assert [b["Name"] for b in events.list_event_buses()["EventBuses"]] == ["default"]
    assert events.list_rules()["Rules"] == []
    assert org.client("sns", PIPELINE_ACCOUNT, PIPELINE_REGION).list_topics()["Topics"] == []
    # DeletionPolicy Retain: the artifacts and the key that reads them outlive the stack
    s3 = org.client("s3", PIPELINE_ACCOUNT, PIPELINE_REGION)
    assert stack.outputs["ArtifactBucketName"] in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    key = org.client("kms", PIPELINE_ACCOUNT, PIPELINE_REGION).describe_key(KeyId=stack.outputs["ArtifactKeyArn"])
    assert key["KeyMetadata"]["KeyState"] == "Enabled"

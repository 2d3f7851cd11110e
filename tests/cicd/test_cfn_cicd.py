"""emulator/cfn_cicd.py: the CloudFormation types of cicd/ create, update and delete real state in moto,
read back through the service APIs (the pipeline templates themselves: test_templates_deploy.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from moto.cloudformation import parsing

from emulator import cfn_cicd, control
from emulator.aws import boto3_session
from emulator.server import EmulatorServer

REGION = "eu-central-1"
ACCOUNT = "123456789012"  # the emulator's default account: the dummy credentials land there


def _policy(sid: str, principal: dict[str, Any], action: str, resource: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": sid, "Effect": "Allow", "Principal": principal, "Action": action, "Resource": resource}]}


def template(variant: int) -> str:
    """Every type of cfn_cicd; variant 2 changes what can change in place and drops the topic policy."""
    resources: dict[str, Any] = {
        "Key": {"Type": "AWS::KMS::Key", "Properties": {
            "Description": f"key v{variant}", "EnableKeyRotation": variant == 1,
            "KeyPolicy": _policy(f"V{variant}", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "kms:*", "*"),
            "Tags": [{"Key": "version", "Value": str(variant)}]}},
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {
            "BucketName": "orgiam-cfn-cicd-test",
            "PublicAccessBlockConfiguration": {"BlockPublicAcls": True, "BlockPublicPolicy": True,
                                               "IgnorePublicAcls": True, "RestrictPublicBuckets": variant == 1},
            "LifecycleConfiguration": {"Rules": [{"Id": "expire", "Status": "Enabled", "ExpirationInDays": 10 * variant}]}}},
        "BucketPolicy": {"Type": "AWS::S3::BucketPolicy", "Properties": {
            "Bucket": {"Ref": "Bucket"},
            "PolicyDocument": _policy(f"V{variant}", {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "s3:GetObject",
                                      "arn:aws:s3:::orgiam-cfn-cicd-test/*")}},
        "Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {
            "LogGroupName": "/orgiam/test", "RetentionInDays": 7 * variant, "KmsKeyId": {"Fn::GetAtt": ["Key", "Arn"]}}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "orgiam-test"}},
        "Subscription": {"Type": "AWS::SNS::Subscription", "Properties": {
            "TopicArn": {"Ref": "Topic"}, "Protocol": "email", "Endpoint": f"v{variant}@example.com"}},
        "Bus": {"Type": "AWS::Events::EventBus", "Properties": {"Name": "orgiam-test-bus"}},
        "BusPolicy": {"Type": "AWS::Events::EventBusPolicy", "Properties": {
            "EventBusName": {"Ref": "Bus"}, "StatementId": "Legacy", "Action": "events:PutEvents",
            "Principal": "111122223333"}},
        "Rule": {"Type": "AWS::Events::Rule", "Properties": {
            "Name": "orgiam-test-rule", "EventBusName": {"Ref": "Bus"}, "EventPattern": {"source": ["x"]}}},
        "Reports": {"Type": "AWS::CodeBuild::ReportGroup", "Properties": {
            "Name": "orgiam-test-junit", "Type": "TEST", "ExportConfig": {"ExportConfigType": "NO_EXPORT"}}},
        "Role": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": "orgiam-test-service", "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "codepipeline.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}},
        "Project": {"Type": "AWS::CodeBuild::Project", "Properties": {
            "Name": "orgiam-test", "ServiceRole": {"Fn::GetAtt": ["Role", "Arn"]}, "ConcurrentBuildLimit": variant,
            "Source": {"Type": "NO_SOURCE", "BuildSpec": "version: 0.2"}, "Artifacts": {"Type": "NO_ARTIFACTS"},
            "Environment": {"Type": "LINUX_CONTAINER", "ComputeType": "BUILD_GENERAL1_SMALL",
                            "Image": "aws/codebuild/standard:7.0",
                            "EnvironmentVariables": [{"Name": "V", "Value": str(variant)}]}}},
        "Pipeline": {"Type": "AWS::CodePipeline::Pipeline", "Properties": {
            "Name": "orgiam-test", "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]}, "PipelineType": "V2",
            "ArtifactStore": {"Type": "S3", "Location": {"Ref": "Bucket"}},
            "Stages": [
                {"Name": "Source", "Actions": [{"Name": "Source", "ActionTypeId": {
                    "Category": "Source", "Owner": "AWS", "Provider": "S3", "Version": "1"},
                    "Configuration": {"S3Bucket": {"Ref": "Bucket"}, "S3ObjectKey": "src.zip",
                                      "PollForSourceChanges": False},
                    "OutputArtifacts": [{"Name": "Src"}]}]},
                {"Fn::If": ["Two", {"Name": "Extra", "Actions": [{"Name": "Wait", "ActionTypeId": {
                    "Category": "Approval", "Owner": "AWS", "Provider": "Manual", "Version": "1"}}]},
                    {"Ref": "AWS::NoValue"}]},
                {"Name": "Build", "Actions": [{"Name": "Build", "ActionTypeId": {
                    "Category": "Build", "Owner": "AWS", "Provider": "CodeBuild", "Version": "1"},
                    "Configuration": {"ProjectName": {"Ref": "Project"}, "Note": f"v{variant}"},
                    "InputArtifacts": [{"Name": "Src"}]}]},
            ]}},
    }
    if variant == 1:
        resources["TopicPolicy"] = {"Type": "AWS::SNS::TopicPolicy", "Properties": {
            "Topics": [{"Ref": "Topic"}],
            "PolicyDocument": _policy("Events", {"Service": "events.amazonaws.com"}, "sns:Publish", {"Ref": "Topic"})}}
    return json.dumps({
        "Parameters": {"Variant": {"Type": "String"}},
        "Conditions": {"Two": {"Fn::Equals": [{"Ref": "Variant"}, "2"]}},
        "Resources": resources,
        "Outputs": {"Reports": {"Value": {"Fn::GetAtt": ["Reports", "Arn"]}},
                    "ReportsRef": {"Value": {"Ref": "Reports"}},
                    "BusRef": {"Value": {"Ref": "Bus"}}, "KeyArn": {"Value": {"Fn::GetAtt": ["Key", "Arn"]}}},
    })


@pytest.fixture
def aws(cicd_emulator: EmulatorServer):
    control.reset(cicd_emulator.endpoint_url)
    session = boto3_session("testing", "testing", region_name=REGION)
    return lambda service: session.client(service, endpoint_url=cicd_emulator.endpoint_url)


def read(aws) -> dict[str, Any]:
    kms, s3, sns, events = aws("kms"), aws("s3"), aws("sns"), aws("events")
    outputs = {o["OutputKey"]: o["OutputValue"]
               for o in aws("cloudformation").describe_stacks(StackName="cicd-types")["Stacks"][0].get("Outputs", [])}
    key_id = outputs["KeyArn"].split("/")[-1]
    topic = f"arn:aws:sns:{REGION}:{ACCOUNT}:orgiam-test"
    return {
        "outputs": outputs,
        "key": kms.describe_key(KeyId=key_id)["KeyMetadata"],
        "key_policy": json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]),
        "key_rotation": kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"],
        "key_tags": kms.list_resource_tags(KeyId=key_id)["Tags"],
        "block": s3.get_public_access_block(Bucket="orgiam-cfn-cicd-test")["PublicAccessBlockConfiguration"],
        "lifecycle": s3.get_bucket_lifecycle_configuration(Bucket="orgiam-cfn-cicd-test")["Rules"],
        "bucket_policy": json.loads(s3.get_bucket_policy(Bucket="orgiam-cfn-cicd-test")["Policy"]),
        "logs": aws("logs").describe_log_groups(logGroupNamePrefix="/orgiam/test")["logGroups"],
        "subscriptions": [s["Endpoint"] for s in sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]],
        "topic_policy": json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]),
        "bus_policy": json.loads(events.describe_event_bus(Name="orgiam-test-bus")["Policy"]),
        "rules": [r["Name"] for r in events.list_rules(EventBusName="orgiam-test-bus")["Rules"]],
        "project": aws("codebuild").batch_get_projects(names=["orgiam-test"])["projects"][0],
        "pipeline": aws("codepipeline").get_pipeline(name="orgiam-test")["pipeline"],
    }


def test_every_type_is_registered_over_moto():
    model_map = parsing.get_model_map()
    for model in cfn_cicd.MODELS:
        assert model_map[model.cloudformation_type()] is model


def test_create_update_and_delete_reach_each_service(aws):
    cloudformation = aws("cloudformation")
    cloudformation.create_stack(StackName="cicd-types", TemplateBody=template(1),
                                Parameters=[{"ParameterKey": "Variant", "ParameterValue": "1"}],
                                Capabilities=["CAPABILITY_NAMED_IAM"])
    assert cloudformation.describe_stacks(StackName="cicd-types")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    first = read(aws)
    report_group = f"arn:aws:codebuild:{REGION}:{ACCOUNT}:report-group/orgiam-test-junit"
    assert first["outputs"]["Reports"] == first["outputs"]["ReportsRef"] == report_group
    assert first["outputs"]["BusRef"] == "orgiam-test-bus"  # the name, as in CloudFormation
    assert first["key"]["Description"] == "key v1" and first["key_rotation"] is True
    assert first["key_policy"]["Statement"][0]["Sid"] == "V1"
    assert first["key_tags"] == [{"TagKey": "version", "TagValue": "1"}]
    assert first["block"]["RestrictPublicBuckets"] is True
    assert first["lifecycle"][0]["Expiration"] == {"Days": 10}
    assert first["bucket_policy"]["Statement"][0]["Sid"] == "V1"
    assert first["logs"][0]["retentionInDays"] == 7 and first["logs"][0]["kmsKeyId"] == first["key"]["Arn"]
    assert first["subscriptions"] == ["v1@example.com"]
    assert first["topic_policy"]["Statement"][0]["Sid"] == "Events"
    assert first["bus_policy"]["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::111122223333:root"}
    assert first["rules"] == ["orgiam-test-rule"]
    assert first["project"]["concurrentBuildLimit"] == 1
    assert first["project"]["source"] == {"type": "NO_SOURCE", "buildspec": "version: 0.2"}
    assert first["project"]["environment"]["environmentVariables"] == [{"name": "V", "value": "1", "type": "PLAINTEXT"}]
    assert [s["name"] for s in first["pipeline"]["stages"]] == ["Source", "Build"]  # NoValue drops the stage
    assert first["pipeline"]["stages"][0]["actions"][0]["configuration"]["PollForSourceChanges"] == "false"

    cloudformation.update_stack(StackName="cicd-types", TemplateBody=template(2),
                                Parameters=[{"ParameterKey": "Variant", "ParameterValue": "2"}],
                                Capabilities=["CAPABILITY_NAMED_IAM"])
    assert cloudformation.describe_stacks(StackName="cicd-types")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    second = read(aws)
    assert second["key"]["KeyId"] == first["key"]["KeyId"]  # updated in place
    assert second["key"]["Description"] == "key v2" and second["key_rotation"] is False
    assert second["key_policy"]["Statement"][0]["Sid"] == "V2"
    assert second["key_tags"] == [{"TagKey": "version", "TagValue": "2"}]
    assert second["block"]["RestrictPublicBuckets"] is False
    assert second["lifecycle"][0]["Expiration"] == {"Days": 20}
    assert second["bucket_policy"]["Statement"][0]["Sid"] == "V2"
    assert second["logs"][0]["retentionInDays"] == 14
    assert second["subscriptions"] == ["v2@example.com"]  # a new endpoint replaces the subscription
    assert "Events" not in json.dumps(second["topic_policy"])  # the removed topic policy: SNS's default again
    assert second["project"]["concurrentBuildLimit"] == 2
    assert second["pipeline"]["version"] == 2
    assert [s["name"] for s in second["pipeline"]["stages"]] == ["Source", "Extra", "Build"]

    cloudformation.delete_stack(StackName="cicd-types")
    assert aws("kms").describe_key(KeyId=first["key"]["KeyId"])["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert aws("s3").list_buckets()["Buckets"] == []
    assert aws("logs").describe_log_groups()["logGroups"] == []
    assert aws("sns").list_topics()["Topics"] == [] and aws("sns").list_subscriptions()["Subscriptions"] == []
    assert [b["Name"] for b in aws("events").list_event_buses()["EventBuses"]] == ["default"]
    assert aws("codebuild").list_projects()["projects"] == []
    assert aws("codepipeline").list_pipelines()["pipelines"] == []


def test_a_pipeline_whose_role_does_not_trust_codepipeline_fails_the_stack(aws):
    body = json.loads(template(1))
    body["Resources"]["Role"]["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = \
        {"Service": "codebuild.amazonaws.com"}
    cloudformation = aws("cloudformation")
    try:
        cloudformation.create_stack(StackName="cicd-types", TemplateBody=json.dumps(body),
                                    Parameters=[{"ParameterKey": "Variant", "ParameterValue": "1"}],
                                    Capabilities=["CAPABILITY_NAMED_IAM"])
    except cloudformation.exceptions.ClientError as error:
        assert "not authorized to perform AssumeRole" in str(error)
    else:
        stack = cloudformation.describe_stacks(StackName="cicd-types")["Stacks"][0]
        assert stack["StackStatus"] != "CREATE_COMPLETE"
    assert aws("codepipeline").list_pipelines()["pipelines"] == []

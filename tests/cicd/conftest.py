"""Fixtures for the pipeline's tests: the emulator (with the CloudFormation types of cicd/), the demo
organization, sessions in its accounts, and stacks deployed from the templates of cicd/.

moto keeps its state in module globals: one emulator per process, reset before each seeding.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

import emulator.cfn_cicd  # noqa: F401  the pipeline's CloudFormation types (until install_extensions loads them)
from emulator import control
from emulator.aws import boto3_session
from emulator.organization import ACCESS_ROLE_NAME, load_demo_spec, seed_organization
from emulator.server import EmulatorServer

REPO = Path(__file__).resolve().parents[2]
CICD = REPO / "cicd"
PIPELINE_TEMPLATE = CICD / "pipeline.yml"
MANAGEMENT_EVENTS_TEMPLATE = CICD / "management-events.yml"
PIPELINE_ACCOUNT = "Deployments"
PIPELINE_REGION = "eu-west-1"


@dataclass
class Org:
    """The seeded demo organization and ways to act in its accounts."""

    endpoint: str
    management_account_id: str
    organization_id: str
    accounts: dict[str, str]  # name -> id
    _sessions: dict[tuple[str, str], boto3.session.Session] = field(default_factory=dict)

    def session(self, account: str, region: str = "us-east-1") -> boto3.session.Session:
        """A session in ``account`` (name or id): the management account's own credentials, or
        OrganizationAccountAccessRole assumed from them."""
        account_id = self.accounts.get(account, account)
        key = (account_id, region)
        if key not in self._sessions:
            management = boto3_session("testing", "testing", region_name=region)
            if account_id == self.management_account_id:
                self._sessions[key] = management
            else:
                credentials = management.client("sts", endpoint_url=self.endpoint).assume_role(
                    RoleArn=f"arn:aws:iam::{account_id}:role/{ACCESS_ROLE_NAME}", RoleSessionName="orgiam-cicd-test",
                )["Credentials"]
                self._sessions[key] = boto3_session(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                                                    credentials["SessionToken"], region_name=region)
        return self._sessions[key]

    def client(self, service: str, account: str, region: str = "us-east-1") -> Any:
        return self.session(account, region).client(service, endpoint_url=self.endpoint)


@dataclass
class Stack:
    name: str
    account_id: str
    region: str
    outputs: dict[str, str]
    resources: dict[str, dict[str, str]]  # logical id -> summary
    status: str
    parameters: dict[str, str]


def deploy(org: Org, template: Path, stack_name: str, parameters: dict[str, str], account: str,
           region: str) -> Stack:
    """Create a stack from ``template`` in ``account`` and ``region``, as bootstrap would (named IAM)."""
    cloudformation = org.client("cloudformation", account, region)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # moto warns about the types it skips (none are left for cicd/)
        cloudformation.create_stack(
            StackName=stack_name, TemplateBody=template.read_text(encoding="utf-8"),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
            Capabilities=["CAPABILITY_NAMED_IAM"],
        )
    described = cloudformation.describe_stacks(StackName=stack_name)["Stacks"][0]
    summaries = cloudformation.list_stack_resources(StackName=stack_name)["StackResourceSummaries"]
    return Stack(
        name=stack_name,
        account_id=org.accounts.get(account, account),
        region=region,
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        # moto lists a resource whose Condition is false as an empty entry: leave those out
        resources={s["LogicalResourceId"]: s for s in summaries if s.get("LogicalResourceId")},
        status=described["StackStatus"],
        parameters=parameters,
    )


def pipeline_parameters(org: Org, **overrides: str) -> dict[str, str]:
    """Realistic parameters for cicd/pipeline.yml: a GitHub repository through CodeConnections."""
    pipeline_account = org.accounts[PIPELINE_ACCOUNT]
    parameters = {
        "SourceProvider": "CodeConnections",
        "RepositoryName": "acme/org-iam",
        "BranchName": "main",
        "ConnectionArn": f"arn:aws:codeconnections:{PIPELINE_REGION}:{pipeline_account}:connection/7d2f1c3e-1b2a-4c5d-9e8f-0a1b2c3d4e5f",
        "ApprovalRequired": "true",
        "ScheduleExpression": "rate(1 day)",
        "NotificationEmail": "platform-team@example.com",
        "ManagementAccountId": org.management_account_id,
        "OrganizationId": org.organization_id,
        "OrganizationReaderRoleArn": f"arn:aws:iam::{org.management_account_id}:role/orgiam/orgiam-organization-reader",
        "ReleaseKey": "releases/orgiam-1.0.0-0123456789abcdef.tar.gz",
        "ReleaseSha256": "0123456789abcdef" * 4,
        "LogRetentionDays": "90",
    }
    parameters.update(overrides)
    return parameters


def seed_demo(endpoint: str) -> Org:
    control.reset(endpoint)
    seeded = seed_organization(endpoint, load_demo_spec())
    management = boto3_session("testing", "testing")
    organization = management.client("organizations", endpoint_url=endpoint).describe_organization()["Organization"]
    return Org(endpoint=endpoint, management_account_id=seeded["management_account_id"],
               organization_id=organization["Id"], accounts=dict(seeded["accounts"]))


@pytest.fixture(scope="session")
def cicd_emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer(port=0)
    server.start()
    yield server
    server.stop()


# ---------------------------------------------------------------------------------------------------
# One organization with the templates deployed, read back through the service APIs into plain data
# (a snapshot survives other tests resetting the emulator, e.g. under pytest-xdist).

ROLE_NAMES = ("orgiam-sync-build", "orgiam-sync-plan", "orgiam-pipeline", "orgiam-pipeline-start")


def read_roles(org: Org, account: str, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    iam = org.client("iam", account)
    roles = {}
    for name in names:
        role = iam.get_role(RoleName=name)["Role"]
        inline = {p: iam.get_role_policy(RoleName=name, PolicyName=p)["PolicyDocument"]
                  for p in iam.list_role_policies(RoleName=name)["PolicyNames"]}
        attached = [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]]
        roles[name] = {"role": role, "inline": inline, "attached": attached}
    return roles


def read_rules(org: Org, account: str, region: str, bus: str = "default") -> dict[str, dict[str, Any]]:
    events = org.client("events", account, region)
    rules = {}
    for rule in events.list_rules(EventBusName=bus)["Rules"]:
        described = events.describe_rule(Name=rule["Name"], EventBusName=bus)
        targets = events.list_targets_by_rule(Rule=rule["Name"], EventBusName=bus)["Targets"]
        rules[rule["Name"]] = {"rule": described, "targets": targets}
    return rules


def read_pipeline_account(org: Org, stack: Stack) -> dict[str, Any]:
    account, region = stack.account_id, stack.region
    client = lambda service: org.client(service, account, region)  # noqa: E731
    s3, kms, sns, events = client("s3"), client("kms"), client("sns"), client("events")
    bucket = stack.outputs["ArtifactBucketName"]
    key_id = stack.outputs["ArtifactKeyArn"].split("/")[-1]
    topic = stack.outputs["NotificationTopicArn"]
    return {
        "roles": read_roles(org, account, ROLE_NAMES),
        "bucket": {
            "encryption": s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"],
            "public_access_block": s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"],
            "ownership": s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"],
            "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
            "lifecycle": s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"],
            "policy": s3.get_bucket_policy(Bucket=bucket)["Policy"],
        },
        "key": {
            "metadata": kms.describe_key(KeyId=key_id)["KeyMetadata"],
            "policy": kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"],
            "rotation": kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"],
            "aliases": [a["AliasName"] for a in kms.list_aliases(KeyId=key_id)["Aliases"]],
        },
        "log_groups": client("logs").describe_log_groups(logGroupNamePrefix="/aws/codebuild/orgiam-sync")["logGroups"],
        "topic": sns.get_topic_attributes(TopicArn=topic)["Attributes"],
        "subscriptions": sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"],
        "rules": read_rules(org, account, region),
        "bus": events.describe_event_bus(Name="orgiam-organization-events"),
        "bus_rules": read_rules(org, account, region, "orgiam-organization-events"),
        "projects": client("codebuild").batch_get_projects(
            names=[stack.outputs["PlanProjectName"], stack.outputs["BuildProjectName"]])["projects"],
        "pipeline": client("codepipeline").get_pipeline(name=stack.outputs["PipelineName"])["pipeline"],
    }


@dataclass
class Deployed:
    org: Org
    # CodeConnections, approval on, an email: Deployments account, eu-west-1
    connections: Stack
    connections_state: dict[str, Any]
    # CodeCommit, approval off, no email, a cron schedule: Security account, us-east-1
    codecommit: Stack
    codecommit_state: dict[str, Any]
    # management-events.yml in the management account, forwarding to the first
    management: Stack
    management_state: dict[str, Any]


@pytest.fixture(scope="session")
def deployed(cicd_emulator: EmulatorServer) -> Deployed:
    org = seed_demo(cicd_emulator.endpoint_url)
    connections = deploy(org, PIPELINE_TEMPLATE, "orgiam-pipeline", pipeline_parameters(org), PIPELINE_ACCOUNT,
                         PIPELINE_REGION)
    codecommit = deploy(org, PIPELINE_TEMPLATE, "orgiam-pipeline", pipeline_parameters(
        org, SourceProvider="CodeCommit", RepositoryName="org-iam", BranchName="release/iam", ConnectionArn="",
        ApprovalRequired="false", NotificationEmail="", ScheduleExpression="cron(0 6 ? * MON-FRI *)",
    ), "Security", "us-east-1")
    management = deploy(org, MANAGEMENT_EVENTS_TEMPLATE, "orgiam-management-events", {
        "PipelineAccountId": org.accounts[PIPELINE_ACCOUNT], "PipelineRegion": PIPELINE_REGION,
    }, org.management_account_id, "us-east-1")
    return Deployed(
        org=org,
        connections=connections, connections_state=read_pipeline_account(org, connections),
        codecommit=codecommit, codecommit_state=read_pipeline_account(org, codecommit),
        management=management, management_state={
            "roles": read_roles(org, org.management_account_id, ("orgiam-organization-events-forwarder",)),
            "rules": read_rules(org, org.management_account_id, "us-east-1"),
        },
    )

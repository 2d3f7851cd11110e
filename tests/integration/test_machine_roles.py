"""Machine roles and the central groups' own permissions, end to end against the emulated demo organization.

A catalog with a Deployer role trusted by the pipeline roles (``pipeline/*``) of the Deployments account and a
CloudFormation service role, both in the Workloads OUs, and a group of identity.yml with permissions of its own in
the central account. After a sync, IAM is read back in a workload account and in the central account; a role
``pipeline/build`` of Deployments assumes Deployer, and another role of Deployments is refused.

The emulator evaluates trust policies only for callers whose role path is one of ``emulator.iam_enforce.ENFORCED_PATHS``
(``/orgiam/``, orgiam's own roles). The callers here live under ``/pipeline/`` and ``/tools/``, so the test adds those
two paths for its duration: the emulator then evaluates the callers' own policies and Deployer's trust policy
(principal, ``ArnLike aws:PrincipalArn``, ``aws:PrincipalOrgID``, ``sts:ExternalId``) as AWS does, and the answers
below are its verdicts, not only the documents.
"""

from __future__ import annotations

import json

import botocore.exceptions
import pytest

from emulator import iam_enforce
from tests.integration.test_sync import role_names

WORKLOADS = ["Payments Dev", "Payments-Test", "Data Platform Dev", "Payments Prod", "Data Platform Prod"]
DEPLOYER = """\
name: Deployer
description: Deploys workloads from the pipelines of Deployments
managed_policies: [PowerUserAccess]
external_id: orgiam-demo-pipelines
targets: {ou_paths: [Workloads]}
trusted_by:
  - {account: Deployments, role: "pipeline/*"}
"""
CFN_EXECUTION = """\
name: CloudFormationExecution
description: The service role CloudFormation deploys workload stacks with
managed_policies: [PowerUserAccess]
targets: {ou_paths: [Workloads]}
trusted_by:
  - {service: cloudformation.amazonaws.com}
"""
LOGS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:FilterLogEvents", "logs:GetLogEvents"], "Resource": "*"}]}
IDENTITY = f"""\
mode: iam_users
default_groups: true
groups:
  - name: auditors
    description: read the organization's workloads, and audit the central account itself
    managed_policies: [SecurityAudit, "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]
    inline_policies:
      read-logs: {json.dumps(LOGS)}
    grants:
      - role: ReadOnly
users:
  - name: alice.audit
    groups: [auditors]
"""
ASSUME_ANY = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]})


def document(value):
    return json.loads(value) if isinstance(value, str) else value


@pytest.fixture
def machines(workspace):
    ws = workspace
    for old in (ws.catalog / "roles").glob("*.yml"):
        if old.name != "readonly.yml":
            old.unlink()
    ws.write_role("deployer.yml", DEPLOYER)
    ws.write_role("cfn-execution.yml", CFN_EXECUTION)
    (ws.catalog / "identity.yml").write_text(IDENTITY)
    return ws


def organization_id(ws) -> str:
    return ws.client("organizations").describe_organization()["Organization"]["Id"]


def test_machine_roles_trust_exactly_their_machines_and_nothing_of_them_is_central(machines, monkeypatch):
    ws = machines
    run = ws.playbook()
    assert run.returncode == 0, run.output
    org, deployments, central = organization_id(ws), ws.accounts["Deployments"], ws.accounts["Security"]

    for account in WORKLOADS:
        assert role_names(ws, account) == ["CloudFormationExecution", "Deployer", "ReadOnly"], account
    for account in ("Deployments", "Security", "Sandbox Alice"):
        assert role_names(ws, account) == [], account
    iam = ws.client("iam", "Payments Prod")
    deployer = iam.get_role(RoleName="Deployer")["Role"]
    assert document(deployer["AssumeRolePolicyDocument"]) == {"Version": "2012-10-17", "Statement": [{
        "Sid": "OrganizationRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
        "Principal": {"AWS": f"arn:aws:iam::{deployments}:root"},
        "Condition": {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{deployments}:role/pipeline/*"},
                      "StringEquals": {"aws:PrincipalOrgID": org, "sts:ExternalId": "orgiam-demo-pipelines"}},
    }]}
    assert deployer["Path"] == "/orgiam/"
    assert [p["PolicyArn"] for p in iam.list_attached_role_policies(RoleName="Deployer")["AttachedPolicies"]] == [
        "arn:aws:iam::aws:policy/PowerUserAccess"]
    execution = iam.get_role(RoleName="CloudFormationExecution")["Role"]
    assert document(execution["AssumeRolePolicyDocument"]) == {"Version": "2012-10-17", "Statement": [{
        "Sid": "AwsServices", "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "cloudformation.amazonaws.com"},
    }]}
    readonly = document(iam.get_role(RoleName="ReadOnly")["Role"]["AssumeRolePolicyDocument"])
    assert readonly["Statement"][0]["Principal"] == {"AWS": f"arn:aws:iam::{central}:root"}  # people's roles as before

    # the central account: groups for people's roles only, and nothing in its stack names a machine role
    security = ws.client("iam", "Security")
    groups = sorted(g["GroupName"] for g in security.list_groups(PathPrefix="/orgiam/")["Groups"])
    assert groups == ["auditors", "orgiam-ReadOnly-Workloads", "orgiam-users"]
    template = ws.client("cloudformation", "Security").get_template(StackName="orgiam-identity")["TemplateBody"]
    text = template if isinstance(template, str) else json.dumps(template)
    assert "Deployer" not in text and "CloudFormationExecution" not in text

    # the auditors group's own permissions in the central account, read back through IAM
    attached = sorted(p["PolicyArn"] for p in security.list_attached_group_policies(GroupName="auditors")["AttachedPolicies"])
    policy = f"arn:aws:iam::{central}:policy/orgiam/auditors-assume-1"
    assert attached == sorted(["arn:aws:iam::aws:policy/SecurityAudit", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess", policy])
    assert security.list_group_policies(GroupName="auditors")["PolicyNames"] == ["read-logs"]
    assert document(security.get_group_policy(GroupName="auditors", PolicyName="read-logs")["PolicyDocument"]) == LOGS
    assert [u["UserName"] for u in security.get_group(GroupName="auditors")["Users"]] == ["alice.audit"]

    # a pipeline role of Deployments may assume Deployer; another role of Deployments may not
    monkeypatch.setattr(iam_enforce, "ENFORCED_PATHS", iam_enforce.ENFORCED_PATHS + ["/pipeline/", "/tools/"])
    target = f"arn:aws:iam::{ws.accounts['Payments Prod']}:role/orgiam/Deployer"
    build = caller(ws, "pipeline", "build")
    session = build.assume_role(RoleArn=target, RoleSessionName="deploy", ExternalId="orgiam-demo-pipelines")
    assert session["AssumedRoleUser"]["Arn"].endswith(":assumed-role/Deployer/deploy")
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        build.assume_role(RoleArn=target, RoleSessionName="deploy")  # without the external id
    other = caller(ws, "tools", "build")
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        other.assume_role(RoleArn=target, RoleSessionName="deploy", ExternalId="orgiam-demo-pipelines")

    # a second sync, verified live (every role, group and policy read back), changes nothing
    again = ws.playbook("-e", "orgiam_verify=live")
    assert again.returncode == 0 and "changes: 0" in again.output, again.output
    assert ws.report()["drift"] == []


def caller(ws, path: str, name: str):
    """An STS client acting as the role ``/<path>/<name>`` of Deployments, allowed sts:AssumeRole by its own policy."""
    iam = ws.client("iam", "Deployments")
    deployments = ws.accounts["Deployments"]
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{deployments}:root"},
                                                      "Action": "sts:AssumeRole"}]}
    role = iam.create_role(RoleName=name if path == "pipeline" else f"{name}-{path}", Path=f"/{path}/",
                           AssumeRolePolicyDocument=json.dumps(trust))["Role"]
    iam.put_role_policy(RoleName=role["RoleName"], PolicyName="assume", PolicyDocument=ASSUME_ANY)
    creds = ws.client("sts", "Deployments").assume_role(RoleArn=role["Arn"], RoleSessionName="pipeline")["Credentials"]
    import boto3

    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name="us-east-1").client("sts", endpoint_url=ws.endpoint)

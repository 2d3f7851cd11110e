"""playbooks/bootstrap.yml against the emulated demo organization, as a person runs it.

IAM state is read back through the IAM API in the target accounts, and the emulator counts the
calls (tests/emulated.py write_calls) to show that check mode and a second run write nothing and
that bad input fails before anything is written. The emulator's StackSets deploy as AWS does
(emulator/stacksets.py): into nested OUs, never into the management account, with auto-deployment.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator import stacksets
from emulator.aws import boto3_session
from emulator.settings import DUMMY_CREDENTIALS as DUMMY
from tests.emulated import BIN, REPO, Run, aws_env, calls, clear_calls, write_calls

PIPELINE = """
pipeline:
  account: Deployments
  source: {provider: CodeCommit, repository: orgiam-catalog, branch: main}
  approval: true
  notify_email: platform@example.com
"""
MEMBERS = ["Security", "Log-Archive", "Sandbox Alice", "Sandbox-Bob", "Payments Dev", "Payments-Test",
           "Data Platform Dev", "Payments Prod", "Data Platform Prod", "Deployments"]
NESTED = ["Payments Dev", "Payments-Test", "Data Platform Dev", "Payments Prod", "Data Platform Prod"]  # Workloads/*
DEPLOYER = "orgiam-deployer"
READER = "orgiam-organization-reader"
WITHOUT_PIPELINE = ("-e", "orgiam_bootstrap_parts=deployer,management")


@pytest.fixture(autouse=True)
def _stacksets_as_in_aws() -> None:
    """The emulator runs in this process: its StackSets deploy as AWS does from here on."""
    stacksets.install()


def settings_without_pipeline(text: str) -> str:
    """The shipped settings.yml without its pipeline section (a test writes its own)."""
    head, marker, _ = text.partition("\npipeline:")
    head = head.rsplit("\n# Where orgiam runs by itself", 1)[0] if marker else head
    return head.rstrip("\n") + "\n"


@pytest.fixture
def ws(workspace):
    settings = workspace.catalog / "settings.yml"
    settings.write_text(settings_without_pipeline(settings.read_text()) + PIPELINE)
    return workspace


# bootstrap reads the organization itself: `-i localhost,` spares the organization inventory (and its
# errors with credentials that are not the management account's), as docs/tutorials tell people to run it
NO_INVENTORY = {"ANSIBLE_INVENTORY_ENABLED": "orgiam.aws.organization,ansible.builtin.host_list"}


def bootstrap(ws, *extra: str, env: dict[str, str] | None = None) -> Run:
    return ws.run(
        str(BIN / "ansible-playbook"), "-i", "localhost,", str(REPO / "playbooks" / "bootstrap.yml"),
        "-e", f"orgiam_catalog_path={ws.catalog}", "-e", f"orgiam_report_dir={ws.out}", *extra,
        env=dict(env or aws_env(ws.endpoint), **NO_INVENTORY),
    )


def iam_of(ws, account: str | None = None) -> Any:
    """IAM in an account (the management account's with None), through OrganizationAccountAccessRole.
    Sessions share botocore's loaded models (emulator.aws): a fresh boto3 session reloads them."""
    management = boto3_session(DUMMY["aws_access_key_id"], DUMMY["aws_secret_access_key"])
    if account is None:
        return management.client("iam", endpoint_url=ws.endpoint)
    credentials = management.client("sts", endpoint_url=ws.endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{ws.accounts[account]}:role/OrganizationAccountAccessRole", RoleSessionName="orgiam-test",
    )["Credentials"]
    session = boto3_session(credentials["AccessKeyId"], credentials["SecretAccessKey"], credentials["SessionToken"])
    return session.client("iam", endpoint_url=ws.endpoint)


def result(ws) -> dict[str, Any]:
    return json.loads((ws.out / "bootstrap.json").read_text())


def document(value: Any) -> dict[str, Any]:
    return json.loads(value) if isinstance(value, str) else value


def statements(doc: dict[str, Any]) -> list[dict[str, Any]]:
    found = doc["Statement"]
    return [found] if isinstance(found, dict) else found


def as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def role_policies(iam, role: str) -> list[dict[str, Any]]:
    """Every policy document the role holds: inline and attached."""
    docs = [document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])
            for name in iam.list_role_policies(RoleName=role)["PolicyNames"]]
    for attached in iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
        assert not attached["PolicyArn"].endswith("/AdministratorAccess"), attached
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        docs.append(document(version["PolicyVersion"]["Document"]))
    return docs


def assert_least_privilege(iam, role: str) -> list[str]:
    """No Allow of "*" (or service:*) on "*"; returns every allowed action."""
    allowed = []
    for doc in role_policies(iam, role):
        for statement in statements(doc):
            if statement["Effect"] != "Allow":
                continue
            actions = as_list(statement["Action"])
            resources = as_list(statement["Resource"])
            assert "*" not in actions and not any(a.endswith(":*") for a in actions), statement
            if "*" in resources:
                # calls that take no narrower resource, and read only (GetAccountAuthorizationDetails: who else in
                # the central account may assume orgiam's roles, reported by live verification)
                assert all(a.startswith(("organizations:List", "organizations:Describe"))
                           or a in ("secretsmanager:GetRandomPassword", "iam:GetAccountAuthorizationDetails",
                                    "cloudformation:ListStackSets", "sso:ListInstances") for a in actions), statement
            allowed += actions
    return allowed


def assert_trusts_only_the_build_role(iam, role: str, pipeline_account: str, builds: tuple[str, ...] = ("build",)) -> None:
    """The role trusts the pipeline account's build roles named (build: the apply's, plan: the plan's), by exact ARN."""
    trust = document(iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"])
    (statement,) = statements(trust)
    trusted = [f"arn:aws:iam::{pipeline_account}:role/orgiam/orgiam-sync-{build}" for build in builds]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{pipeline_account}:root"}
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": trusted[0] if len(trusted) == 1 else trusted}}


def has_role(iam, role: str) -> bool:
    try:
        iam.get_role(RoleName=role)
        return True
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchEntity"
        return False


def test_bootstrap_deploys_the_deployer_everywhere_and_a_second_run_changes_nothing(ws):
    run = bootstrap(ws, *WITHOUT_PIPELINE)
    assert run.returncode == 0, run.output
    pipeline_account = ws.accounts["Deployments"]

    for account in MEMBERS:
        iam = iam_of(ws, account)
        role = iam.get_role(RoleName=DEPLOYER)["Role"]
        assert role["Path"] == "/orgiam/", account
        assert_trusts_only_the_build_role(iam, DEPLOYER, pipeline_account)
        actions = assert_least_privilege(iam, DEPLOYER)
        assert "cloudformation:CreateStack" in actions and "iam:CreateRole" in actions
        central_only = {"iam:CreateUser", "iam:CreateGroup", "secretsmanager:CreateSecret", "iam:CreateSAMLProvider"}
        assert central_only <= set(actions) if account == "Security" else not central_only & set(actions), account
        # next to it, the plan's planner: trusted by the plan role alone, and it only reads
        assert_trusts_only_the_build_role(iam, "orgiam-planner", pipeline_account, ("plan",))
        reads = assert_least_privilege(iam, "orgiam-planner")
        assert reads and all(a.split(":")[1].startswith(("Get", "List", "Describe")) for a in reads), account
    # never the management account (not targeted by the catalog), never a suspended account
    assert not has_role(iam_of(ws), DEPLOYER)
    assert not has_role(iam_of(ws, "Security"), READER)

    management = iam_of(ws)
    assert_trusts_only_the_build_role(management, READER, pipeline_account, ("build", "plan"))
    reader_actions = assert_least_privilege(management, READER)
    assert reader_actions and all(a.startswith(("organizations:List", "organizations:Describe")) for a in reader_actions)

    cfn = ws.client("cloudformation")
    stack_set = cfn.describe_stack_set(StackSetName="orgiam-deployer")["StackSet"]
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED"
    assert stack_set["AutoDeployment"]["Enabled"] is True
    assert stack_set["OrganizationalUnitIds"] == [cfn_root(ws)]
    assert {t["Key"]: t["Value"] for t in stack_set["Tags"]}["orgiam:managed-by"] == "orgiam"
    stack = cfn.describe_stacks(StackName="orgiam-organization-reader")["Stacks"][0]
    assert {t["Key"]: t["Value"] for t in stack["Tags"]}["orgiam:template-hash"]
    steps = {s["key"]: s for s in result(ws)["steps"]}
    assert steps["deployer-stackset"]["status"] == "created" and steps["trusted-access"]["status"] == "updated"
    assert steps["management-deployer"]["status"] == "unchanged"

    clear_calls(ws.endpoint)
    again = bootstrap(ws, *WITHOUT_PIPELINE)
    assert again.returncode == 0, again.output
    assert "changed=0" in again.stdout and "changes: 0" in again.stdout
    assert write_calls(calls(ws.endpoint)) == []
    assert {s["status"] for s in result(ws)["steps"]} == {"unchanged"}


def cfn_root(ws) -> str:
    return ws.client("organizations").list_roots()["Roots"][0]["Id"]


def test_check_mode_plans_everything_and_writes_nothing(ws):
    clear_calls(ws.endpoint)
    run = bootstrap(ws, "--check", "--diff", *WITHOUT_PIPELINE)
    assert run.returncode == 0, run.output
    assert write_calls(calls(ws.endpoint)) == []
    assert "orgiam bootstrap plan:" in run.stdout
    assert "stackset orgiam-deployer: create" in run.stdout and "AWS::IAM::Role" in run.stdout  # --diff: the template
    assert {s["key"]: s["status"] for s in result(ws)["steps"]} == {
        "trusted-access": "planned", "deployer-stackset": "planned", "organization-reader": "planned",
        "management-deployer": "unchanged"}
    assert not has_role(iam_of(ws, "Payments Prod"), DEPLOYER)
    assert ws.client("cloudformation").describe_organizations_access()["Status"] == "DISABLED"


def test_new_and_moved_accounts_get_the_deployer_without_a_run_and_updates_reach_them(ws):
    assert bootstrap(ws, *WITHOUT_PIPELINE).returncode == 0
    organizations = ws.client("organizations")
    ous = {ou["Name"]: ou["Id"] for ou in organizations.list_organizational_units_for_parent(ParentId=cfn_root(ws))["OrganizationalUnits"]}
    workloads = {ou["Name"]: ou["Id"] for ou in organizations.list_organizational_units_for_parent(ParentId=ous["Workloads"])["OrganizationalUnits"]}
    created = organizations.create_account(AccountName="Payments Prod EU", Email="payments-prod-eu@demo.orgiam.example")
    new_id = created["CreateAccountStatus"]["AccountId"]
    organizations.move_account(AccountId=new_id, SourceParentId=cfn_root(ws), DestinationParentId=workloads["Prod"])
    ws.accounts["Payments Prod EU"] = new_id
    assert has_role(iam_of(ws, "Payments Prod EU"), DEPLOYER)
    organizations.move_account(AccountId=ws.accounts["Sandbox-Bob"], SourceParentId=ous["Sandbox"], DestinationParentId=workloads["SDLC"])
    assert has_role(iam_of(ws, "Sandbox-Bob"), DEPLOYER)

    # a changed parameter (a template bucket) reaches every instance, the new account's too
    settings = ws.catalog / "settings.yml"
    settings.write_text(settings.read_text() + "template_bucket: orgiam-templates-example\n")
    run = bootstrap(ws, *WITHOUT_PIPELINE)
    assert run.returncode == 0, run.output
    assert {s["key"]: s["status"] for s in result(ws)["steps"]}["deployer-stackset"] == "updated"
    for account in ("Payments Prod EU", "Payments Dev", "Sandbox-Bob"):
        attached = iam_of(ws, account).list_attached_role_policies(RoleName=DEPLOYER)["AttachedPolicies"]
        assert [p["PolicyName"] for p in attached] == ["orgiam-deployer-templates"], account


def test_a_catalog_that_targets_the_management_account_gets_the_deployer_there_too(ws):
    ws.write_role("billing.yml", "name: BillingReader\nmanaged_policies: [job-function/Billing]\n"
                                 "targets: {management_account: true}\n")
    run = bootstrap(ws, *WITHOUT_PIPELINE)
    assert run.returncode == 0, run.output
    management = iam_of(ws)
    assert_trusts_only_the_build_role(management, DEPLOYER, ws.accounts["Deployments"])
    assert_least_privilege(management, DEPLOYER)
    stack = ws.client("cloudformation").describe_stacks(StackName="orgiam-deployer")["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_with_engine_stacksets_the_management_deployer_manages_the_role_stack_sets_and_no_member_one_does(ws):
    settings = ws.catalog / "settings.yml"
    settings.write_text(settings.read_text() + "engine: stacksets\n")
    run = bootstrap(ws, *WITHOUT_PIPELINE)
    assert run.returncode == 0, run.output
    management = iam_of(ws)
    actions = assert_least_privilege(management, DEPLOYER)
    assert {"cloudformation:CreateStackSet", "cloudformation:CreateStackInstances", "cloudformation:DeleteStackInstances",
            "cloudformation:ListStackInstances", "cloudformation:DescribeStackSetOperation"} <= set(actions)
    planner = assert_least_privilege(management, "orgiam-planner")
    assert "cloudformation:ListStackInstances" in planner and "cloudformation:CreateStackSet" not in planner
    member = assert_least_privilege(iam_of(ws, "Payments Prod"), DEPLOYER)
    assert not any(a.startswith("cloudformation:") and "StackSet" in a for a in member)


def test_the_pipeline_stack_goes_into_the_pipeline_account(ws):
    run = bootstrap(ws)
    assert run.returncode == 0, run.output
    stack = ws.client("cloudformation", "Deployments").describe_stacks(StackName="orgiam-pipeline")["Stacks"][0]
    parameters = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    assert parameters["RepositoryName"] == "orgiam-catalog" and parameters["ManagementAccountId"] == ws.accounts["Management"]
    assert has_role(iam_of(ws, "Deployments"), "orgiam-sync-build")
    events = ws.session().client("cloudformation", endpoint_url=ws.endpoint, region_name="us-east-1")
    assert events.describe_stacks(StackName="orgiam-management-events")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    assert bootstrap(ws).returncode == 0
    assert {s["status"] for s in result(ws)["steps"]} == {"unchanged"}


def _member_credentials_env(ws) -> dict[str, str]:
    credentials = ws.session().client("sts", endpoint_url=ws.endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{ws.accounts['Security']}:role/OrganizationAccountAccessRole", RoleSessionName="not-management",
    )["Credentials"]
    return dict(aws_env(ws.endpoint), AWS_ACCESS_KEY_ID=credentials["AccessKeyId"],
                AWS_SECRET_ACCESS_KEY=credentials["SecretAccessKey"], AWS_SESSION_TOKEN=credentials["SessionToken"])


def _settings(ws, text: str) -> None:
    base = settings_without_pipeline((REPO / "roles_catalog" / "settings.yml").read_text())
    if text.startswith("CENTRAL="):
        base, text = base.replace("central_account: Security", f"central_account: '{text[8:]}'"), PIPELINE
    (ws.catalog / "settings.yml").write_text(base + text)


# one of each kind, end to end; every rule is also unit-tested (tests/unit/usecases/test_bootstrap.py and tests/unit/apply/test_stackset_operator.py)
BAD_INPUT = [
    ("member credentials", None, ["needs credentials of the organization's management account", "yours are of account"]),
    ("no pipeline section", "", ["no 'pipeline' section", "pipeline:"]),
    ("pipeline account outside the organization",
     "pipeline: {account: Build Farm, source: {provider: CodeCommit, repository: orgiam-catalog}}\n",
     ["field 'pipeline.account'", "account 'Build Farm' is not in the organization", "Deployments ("]),
    ("central account outside the organization", "CENTRAL=999999999999",
     ["field 'central_account'", "account '999999999999' is not in the organization"]),
    ("a CodeCommit repository name with a slash",
     "pipeline: {account: Deployments, source: {provider: CodeCommit, repository: acme/orgiam}}\n",
     ["'acme/orgiam' is not a CodeCommit repository name", "provider: CodeConnections"]),
    ("CodeConnections without a connection",
     "pipeline: {account: Deployments, source: {provider: CodeConnections, repository: acme/orgiam-catalog}}\n",
     ["needs the ARN of a connection"]),
]


@pytest.mark.parametrize("case, settings, expected", BAD_INPUT, ids=[case for case, _, _ in BAD_INPUT])
def test_bad_input_fails_clearly_before_anything_is_written(ws, case, settings, expected):
    env = None
    if settings is None:
        env = _member_credentials_env(ws)
    else:
        _settings(ws, settings)
    clear_calls(ws.endpoint)
    run = bootstrap(ws, env=env)
    assert run.returncode != 0, run.output
    for fragment in expected:
        assert fragment in run.output, run.output
    assert "Traceback" not in run.output
    assert write_calls(calls(ws.endpoint)) == [], case
    assert ws.client("cloudformation").list_stack_sets()["Summaries"] == []
    assert not has_role(iam_of(ws, "Payments Prod"), DEPLOYER)

"""The first real sync, end to end: ansible-playbook against the emulated demo organization.

IAM state is read back through the IAM API in the target accounts; API calls are
counted by the emulator itself, independently of orgiam's own counting.
"""

from __future__ import annotations

import json

import pytest

from tests.emulated import aws_env, calls, clear_calls, write_calls

WORKLOADS = ["Payments Dev", "Payments-Test", "Data Platform Dev", "Payments Prod", "Data Platform Prod"]
SANDBOX = ["Sandbox Alice", "Sandbox-Bob"]
UNTARGETED = ["Security", "Log-Archive", "Deployments"]


def role_names(ws, account, path="/orgiam/"):
    return sorted(r["RoleName"] for r in ws.client("iam", account).list_roles(PathPrefix=path)["Roles"])


def group_policy_documents(ws, group):
    iam = ws.client("iam", "Security")
    documents = []
    for attached in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
        document = version["PolicyVersion"]["Document"]
        documents.append(json.loads(document) if isinstance(document, str) else document)
    return documents


def granted_arns(ws, group):
    arns = []
    for document in group_policy_documents(ws, group):
        for statement in document["Statement"]:
            assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
            assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
            arns.extend([statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"])
    return sorted(arns)


def test_first_sync_deploys_roles_and_central_group(workspace):
    ws = workspace
    run = ws.playbook()
    assert run.returncode == 0, run.output
    central = ws.accounts["Security"]

    for account in WORKLOADS:
        assert role_names(ws, account) == ["ReadOnly", "WorkloadDeployer"], account
        iam = ws.client("iam", account)
        role = iam.get_role(RoleName="ReadOnly")["Role"]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        (statement,) = trust["Statement"]
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{central}:root"}
        assert statement["Action"] == "sts:AssumeRole"
        assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
        attached = iam.list_attached_role_policies(RoleName="ReadOnly")["AttachedPolicies"]
        assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
        stack = ws.client("cloudformation", account).describe_stacks(StackName="orgiam-roles")["Stacks"][0]
        tags = {t["Key"]: t["Value"] for t in stack["Tags"]}
        assert tags["orgiam:managed-by"] == "orgiam" and tags["orgiam:template-hash"]
    for account in SANDBOX:
        assert role_names(ws, account) == ["SandboxAdmin"], account
        assert ws.client("iam", account).get_role(RoleName="SandboxAdmin")["Role"]["MaxSessionDuration"] == 14400
    for account in UNTARGETED + ["Legacy App"]:
        assert role_names(ws, account) == [], account
    assert role_names(ws, None) == []  # the management account is never targeted unless named

    # the central account: one group per role, granting exactly the deployed role ARNs
    iam = ws.client("iam", "Security")
    groups = sorted(g["GroupName"] for g in iam.list_groups(PathPrefix="/orgiam/")["Groups"])
    assert groups == ["orgiam-ReadOnly-Workloads", "orgiam-SandboxAdmin-Sandbox", "orgiam-users", "payments-prod-readers", "platform-engineers"]
    readonly = sorted(f"arn:aws:iam::{ws.accounts[a]}:role/orgiam/ReadOnly" for a in WORKLOADS)
    sandbox = sorted(f"arn:aws:iam::{ws.accounts[a]}:role/orgiam/SandboxAdmin" for a in SANDBOX)
    assert granted_arns(ws, "orgiam-ReadOnly-Workloads") == readonly
    assert granted_arns(ws, "orgiam-SandboxAdmin-Sandbox") == sandbox
    assert granted_arns(ws, "platform-engineers") == sorted(readonly + sandbox)
    assert granted_arns(ws, "payments-prod-readers") == [f"arn:aws:iam::{ws.accounts['Payments Prod']}:role/orgiam/ReadOnly"]

    # users: their groups, a console password that must be reset, no access keys
    def groups_of(user):
        return sorted(g["GroupName"] for g in iam.list_groups_for_user(UserName=user)["Groups"])

    assert groups_of("alice.platform") == ["orgiam-users", "platform-engineers"]
    assert groups_of("bob.payments") == ["orgiam-ReadOnly-Workloads", "orgiam-users", "payments-prod-readers"]
    assert iam.get_login_profile(UserName="alice.platform")["LoginProfile"]["PasswordResetRequired"] is True
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName="bob.payments")
    assert iam.list_access_keys(UserName="alice.platform")["AccessKeyMetadata"] == []
    self_service = [p["PolicyName"] for p in iam.list_attached_group_policies(GroupName="orgiam-users")["AttachedPolicies"]]
    assert self_service == ["orgiam-self-service"]
    stack = ws.client("cloudformation", "Security").describe_stacks(StackName="orgiam-identity")["Stacks"][0]
    assert {"Key": "orgiam:managed-by", "Value": "orgiam"} in stack["Tags"]

    report = ws.report()
    assert report["ok"] and report["member_stacks"]["created"] == len(WORKLOADS + SANDBOX)
    assert report["central"]["status"] == "created"
    assert "changes: 8" in (ws.out / "summary.txt").read_text()


def test_second_sync_changes_nothing_at_two_calls_per_account(workspace):
    ws = workspace
    assert ws.playbook().returncode == 0
    clear_calls(ws.endpoint)
    run = ws.playbook()
    assert run.returncode == 0, run.output
    report = ws.report()
    assert report["member_stacks"]["created"] == report["member_stacks"]["updated"] == 0
    assert report["central"]["status"] == "unchanged"
    assert "changes: 0" in (ws.out / "summary.txt").read_text()
    assert "changed=0" in run.stdout

    # counted by the emulator: no writes, and at most 2 calls in any account
    recorded = calls(ws.endpoint)
    assert write_calls(recorded) == []
    sync_calls = [c for c in recorded if c["service"] in ("sts", "cloudformation") and c["operation"] != "GetCallerIdentity"]
    active = len(ws.accounts) - 1  # every account but the suspended one, the management account included
    # an AssumeRole and a DescribeStacks per account, one more describe for the central stack, and one for
    # the home-region check (the central stack is where orgiam's stacks are)
    assert len(sync_calls) <= 2 * active + 2, sorted(f"{c['account_id']} {c['operation']}" for c in sync_calls)
    assert max(r["api_calls"] for r in report["accounts"] if r["status"] != "skipped") <= 2


def test_check_mode_plans_everything_and_writes_nothing(workspace):
    ws = workspace
    clear_calls(ws.endpoint)
    run = ws.playbook("--check", "--diff")
    assert run.returncode == 0, run.output
    assert write_calls(calls(ws.endpoint)) == []
    for account in WORKLOADS + SANDBOX:
        assert role_names(ws, account) == []
    report = ws.report()
    assert report["mode"] == "check" and report["member_stacks"]["planned"] == len(WORKLOADS + SANDBOX)
    assert report["api_calls"]["write_operations"] == []
    plan = json.loads((ws.out / "plan.json").read_text())
    assert len(plan["diffs"]) == len(WORKLOADS + SANDBOX) + 1  # every member stack and the central one
    assert "AWS::IAM::Role" in run.stdout and "sts:AssumeRole" in run.stdout  # --diff shows the templates


def test_a_policy_change_updates_only_the_accounts_that_have_the_role(workspace):
    ws = workspace
    assert ws.playbook().returncode == 0
    ws.write_role(
        "sandbox-admin.yml",
        "name: SandboxAdmin\nmanaged_policies: [PowerUserAccess]\nmax_session_duration: 7200\n"
        "targets:\n  ou_paths: [Sandbox]\n",
    )
    plan = ws.playbook("--check", "--diff")
    assert plan.returncode == 0, plan.output
    report = ws.report()
    planned = {a["account_name"] for a in report["accounts"] if a["status"] == "planned"}
    assert planned == set(SANDBOX)
    assert report["central"]["status"] == "unchanged"  # the same role ARNs: no grant changes
    for account in report["accounts"]:
        if account["account_name"] in SANDBOX:
            assert "    ManagedPolicyArns: + arn:aws:iam::aws:policy/PowerUserAccess, - arn:aws:iam::aws:policy/AdministratorAccess" in "\n".join(
                "    " + line for line in account["plan"])
            assert "MaxSessionDuration: 14400 -> 7200" in "\n".join(account["plan"])
            assert {c["action"] for c in account["change_set"]} == {"Modify"}  # CloudFormation's own view
    assert "PowerUserAccess" in plan.stdout and "orgiam plan:" in plan.stdout
    assert ws.playbook().returncode == 0
    report = ws.report()
    assert {a["account_name"] for a in report["accounts"] if a["status"] == "updated"} == set(SANDBOX)
    assert {a["account_name"] for a in report["accounts"] if a["status"] == "unchanged"} == {
        a["account_name"] for a in report["accounts"] if a["account_name"] not in SANDBOX and a["status"] != "skipped"}
    iam = ws.client("iam", "Sandbox Alice")
    attached = iam.list_attached_role_policies(RoleName="SandboxAdmin")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/PowerUserAccess"]
    assert iam.get_role(RoleName="SandboxAdmin")["Role"]["MaxSessionDuration"] == 7200


@pytest.mark.parametrize(
    "filename, text, expected",
    [
        ("broken.yml", "name: Broken\ntargets: [unclosed\n", ["broken.yml:", "not valid YAML"]),
        ("typo.yml", "name: Typo\nmanaged_policy: [ReadOnlyAccess]\ntargets: {ou_paths: [Sandbox]}\n",
         ["typo.yml:2", "unknown key 'managed_policy'", "managed_policies"]),
    ],
)
def test_a_bad_catalog_fails_before_any_aws_call(workspace, filename, text, expected):
    ws = workspace
    ws.write_role(filename, text)
    clear_calls(ws.endpoint)
    run = ws.playbook()
    assert run.returncode != 0
    for fragment in expected:
        assert fragment in run.output, run.output
    assert "Traceback" not in run.output
    assert calls(ws.endpoint) == []
    assert role_names(ws, "Payments Prod") == []


def test_an_endpoint_that_does_not_answer_is_one_clear_line(workspace, free_port):
    run = workspace.playbook(env=aws_env(f"http://127.0.0.1:{free_port}"))
    assert run.returncode != 0
    assert f"nothing answers at http://127.0.0.1:{free_port}" in run.output, run.output
    assert "make emulator" in run.output and "Traceback" not in run.output


def test_missing_credentials_are_one_clear_line(workspace, tmp_path):
    env = aws_env(workspace.endpoint)
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        env.pop(key)
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"), AWS_CONFIG_FILE=str(tmp_path / "none"))
    run = workspace.playbook(env=env)
    assert run.returncode != 0
    assert "no AWS credentials found" in run.output, run.output
    assert "Traceback" not in run.output

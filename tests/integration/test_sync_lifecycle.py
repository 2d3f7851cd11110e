"""Accounts that move, stop, fail: the sync follows the catalog and keeps every failure to its account."""

from __future__ import annotations

import json


from tests.emulated import calls, clear_calls


def ou_id(ws, path):
    org = ws.client("organizations")
    parent = org.list_roots()["Roots"][0]["Id"]
    for name in path.split("/"):
        ous = org.list_organizational_units_for_parent(ParentId=parent)["OrganizationalUnits"]
        parent = next(ou["Id"] for ou in ous if ou["Name"] == name)
    return parent


def move(ws, account, to_path):
    org = ws.client("organizations")
    account_id = ws.accounts[account]
    source = org.list_parents(ChildId=account_id)["Parents"][0]["Id"]
    org.move_account(AccountId=account_id, SourceParentId=source, DestinationParentId=ou_id(ws, to_path))


def set_prune(ws, policy):
    settings = ws.catalog / "settings.yml"
    settings.write_text(settings.read_text().replace("prune: plan", f"prune: {policy}"))


def roles_in(ws, account):
    return sorted(r["RoleName"] for r in ws.client("iam", account).list_roles(PathPrefix="/orgiam/")["Roles"])


def stack_exists(ws, account, name="orgiam-roles"):
    try:
        ws.client("cloudformation", account).describe_stacks(StackName=name)
        return True
    except Exception:
        return False


def grants(ws, group):
    iam = ws.client("iam", "Security")
    arns = []
    for attached in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        doc = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        arns += [a for s in doc["Statement"] for a in s["Resource"]]
    return sorted(arns)


def by_name(report):
    return {a["account_name"]: a for a in report["accounts"]}


def test_an_account_that_moves_out_loses_its_roles_under_prune_apply_after_a_plan(workspace):
    ws = workspace
    assert ws.playbook().returncode == 0
    arn = f"arn:aws:iam::{ws.accounts['Payments-Test']}:role/orgiam/ReadOnly"
    assert arn in grants(ws, "orgiam-ReadOnly-Workloads")
    move(ws, "Payments-Test", "Deployments")
    set_prune(ws, "apply")

    plan = ws.playbook("--check", "--diff")
    assert plan.returncode == 0, plan.output
    planned = by_name(ws.report())["Payments-Test"]
    assert planned["status"] == "planned" and planned["action"] == "delete"
    assert "- AWS::IAM::Role ReadOnly" in plan.stdout
    assert roles_in(ws, "Payments-Test") == ["ReadOnly", "WorkloadDeployer"]  # the plan touched nothing

    run = ws.playbook()
    assert run.returncode == 0, run.output
    assert by_name(ws.report())["Payments-Test"]["status"] == "deleted"
    assert roles_in(ws, "Payments-Test") == [] and not stack_exists(ws, "Payments-Test")
    assert arn not in grants(ws, "orgiam-ReadOnly-Workloads")
    assert roles_in(ws, "Payments Dev") == ["ReadOnly", "WorkloadDeployer"]  # the others are untouched


def test_under_prune_plan_the_roles_stay_but_lose_their_grant(workspace):
    ws = workspace
    assert ws.playbook().returncode == 0
    arn = f"arn:aws:iam::{ws.accounts['Payments-Test']}:role/orgiam/ReadOnly"
    move(ws, "Payments-Test", "Deployments")
    run = ws.playbook()
    assert run.returncode == 0, run.output
    entry = by_name(ws.report())["Payments-Test"]
    assert entry["status"] == "retained" and "prune is 'plan'" in entry["reason"]
    assert roles_in(ws, "Payments-Test") == ["ReadOnly", "WorkloadDeployer"]
    assert arn not in grants(ws, "orgiam-ReadOnly-Workloads")
    # moving back restores the grant, and nothing is created twice
    move(ws, "Payments-Test", "Workloads/SDLC")
    assert ws.playbook().returncode == 0
    assert arn in grants(ws, "orgiam-ReadOnly-Workloads")


def test_a_role_removed_from_one_ou_is_kept_under_prune_plan(workspace):
    ws = workspace
    ws.write_role("sandbox-admin.yml", "name: SandboxAdmin\nmanaged_policies: [AdministratorAccess]\ntargets:\n  ou_paths: [Sandbox, Workloads/SDLC]\n")
    assert ws.playbook().returncode == 0
    assert roles_in(ws, "Payments Dev") == ["ReadOnly", "SandboxAdmin", "WorkloadDeployer"]
    ws.write_role("sandbox-admin.yml", "name: SandboxAdmin\nmanaged_policies: [AdministratorAccess]\ntargets:\n  ou_paths: [Sandbox]\n")
    assert ws.playbook().returncode == 0
    entry = by_name(ws.report())["Payments Dev"]
    assert entry["retained"] == ["SandboxAdmin"]
    assert roles_in(ws, "Payments Dev") == ["ReadOnly", "SandboxAdmin", "WorkloadDeployer"]
    second = ws.playbook()
    assert second.returncode == 0 and by_name(ws.report())["Payments Dev"]["status"] == "unchanged"


def test_suspended_accounts_and_empty_ous_are_no_error_and_never_touched(workspace):
    ws = workspace
    (ws.inventory / "organization.orgiam.yml").write_text("plugin: orgiam.aws.organization\ncatalog: ../catalog\ninclude_suspended: true\n")
    ws.write_role("transitional.yml", "name: Transitional\nmanaged_policies: [ReadOnlyAccess]\ntargets: {ou_paths: [Transitional, Suspended]}\n")
    clear_calls(ws.endpoint)
    run = ws.playbook()
    assert run.returncode == 0, run.output
    legacy = by_name(ws.report())["Legacy App"]
    assert legacy["status"] == "skipped" and legacy["api_calls"] == 0
    assert not any(c["account_id"] == ws.accounts["Legacy App"] for c in calls(ws.endpoint))
    assert roles_in(ws, "Legacy App") == []


def test_one_account_failing_to_assume_and_one_stack_failing_leave_the_others_converged(workspace):
    ws = workspace
    # the deploy role is gone in one account: AssumeRole is denied there
    iam = ws.client("iam", "Payments Prod")
    for policy in iam.list_attached_role_policies(RoleName="OrganizationAccountAccessRole")["AttachedPolicies"]:
        iam.detach_role_policy(RoleName="OrganizationAccountAccessRole", PolicyArn=policy["PolicyArn"])
    iam.delete_role(RoleName="OrganizationAccountAccessRole")
    # a role of the same name already exists in another account: its stack's create fails and rolls back
    ws.client("iam", "Data Platform Dev").create_role(
        RoleName="ReadOnly", Path="/orgiam/", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []})
    )
    run = ws.playbook()
    assert run.returncode != 0
    report = ws.report()
    failed = {f["account_name"]: f for f in report["failed_accounts"]}
    assert set(failed) == {"Payments Prod", "Data Platform Dev"}
    assert failed["Payments Prod"]["error_code"] == "AccessDenied"
    assert "Data Platform Dev" in run.output and "Payments Prod" in run.output
    # every other targeted account converged
    for account in ("Payments Dev", "Payments-Test", "Data Platform Prod"):
        assert roles_in(ws, account) == ["ReadOnly", "WorkloadDeployer"], account
    assert roles_in(ws, "Sandbox Alice") == ["SandboxAdmin"]
    # no grant names the roles that do not exist
    granted = grants(ws, "orgiam-ReadOnly-Workloads")
    assert not any(ws.accounts["Payments Prod"] in a or ws.accounts["Data Platform Dev"] in a for a in granted)
    assert len(granted) == 3
    assert (ws.out / "retry-hosts.txt").read_text().split() == ["data_platform_dev", "payments_prod"]
    junit = (ws.out / "junit.xml").read_text()
    assert junit.count("<failure") == 2

    # the out-of-band role is removed; a retry of only the failed accounts converges Data Platform Dev
    iam = ws.client("iam", "Data Platform Dev")
    iam.delete_role(RoleName="ReadOnly")
    retry = ws.playbook("--limit", f"@{ws.out / 'retry-hosts.txt'}")
    report = ws.report()
    assert report["accounts_in_run"] == 2
    assert by_name(report)["Data Platform Dev"]["status"] == "created"  # the rolled-back stack was replaced
    assert retry.returncode != 0  # Payments Prod still cannot be reached
    granted = grants(ws, "orgiam-ReadOnly-Workloads")
    assert f"arn:aws:iam::{ws.accounts['Data Platform Dev']}:role/orgiam/ReadOnly" in granted
    assert f"arn:aws:iam::{ws.accounts['Payments Dev']}:role/orgiam/ReadOnly" in granted  # kept from the earlier run


def test_limit_touches_only_those_accounts_and_keeps_the_others_grants(workspace):
    ws = workspace
    run = ws.playbook("--limit", "ou_sandbox")
    assert run.returncode == 0, run.output
    report = ws.report()
    assert sorted(a["account_name"] for a in report["accounts"]) == ["Sandbox Alice", "Sandbox-Bob"]
    assert roles_in(ws, "Payments Prod") == [] and roles_in(ws, "Sandbox Alice") == ["SandboxAdmin"]
    assert len(grants(ws, "orgiam-SandboxAdmin-Sandbox")) == 2
    assert ws.playbook().returncode == 0  # everything
    workloads = grants(ws, "orgiam-ReadOnly-Workloads")
    assert len(workloads) == 5
    clear_calls(ws.endpoint)
    again = ws.playbook("--limit", "sandbox_alice")
    assert again.returncode == 0, again.output
    assert grants(ws, "orgiam-ReadOnly-Workloads") == workloads  # accounts outside the run keep their grants
    touched = {c["account_id"] for c in calls(ws.endpoint) if c["service"] == "cloudformation"}
    assert touched == {ws.accounts["Sandbox Alice"], ws.accounts["Security"]}


def test_every_run_is_notified_on_sns_with_its_outcome(workspace):
    ws = workspace
    sns, sqs = ws.client("sns"), ws.client("sqs")
    topic = sns.create_topic(Name="orgiam-runs")["TopicArn"]
    queue = sqs.create_queue(QueueName="orgiam-runs")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    settings = ws.catalog / "settings.yml"
    settings.write_text(settings.read_text() + f"notify_topic_arn: {topic}\n")

    def received():
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    assert ws.playbook().returncode == 0
    (note,) = received()
    assert note["Subject"] == "orgiam sync OK: 11 accounts, 0 failed" and "changes: 8" in note["Message"]
    ws.write_role("broken.yml", "name: Broken\nmanaged_policies: [ReadOnlyAccess]\ntargets: {accounts: [Deployments]}\n")
    iam = ws.client("iam", "Deployments")
    for policy in iam.list_attached_role_policies(RoleName="OrganizationAccountAccessRole")["AttachedPolicies"]:
        iam.detach_role_policy(RoleName="OrganizationAccountAccessRole", PolicyArn=policy["PolicyArn"])
    iam.delete_role(RoleName="OrganizationAccountAccessRole")
    assert ws.playbook().returncode != 0
    (note,) = received()
    assert note["Subject"].startswith("orgiam sync FAILED") and "Deployments" in note["Message"]


def test_stacks_left_in_failed_states_are_recovered_on_the_next_run(workspace):
    from emulator.control import set_stack_status

    ws = workspace
    assert ws.playbook().returncode == 0
    ws.write_role("readonly.yml", "name: ReadOnly\nmanaged_policies: [ViewOnlyAccess]\ntargets: {ou_paths: [Workloads]}\n")
    set_stack_status(ws.endpoint, ws.accounts["Payments Prod"], "orgiam-roles", "UPDATE_ROLLBACK_FAILED")
    set_stack_status(ws.endpoint, ws.accounts["Payments Dev"], "orgiam-roles", "DELETE_FAILED")
    run = ws.playbook()
    assert run.returncode == 0, run.output
    accounts = by_name(ws.report())
    assert accounts["Payments Prod"]["action"] == "continue-rollback-then-update" and accounts["Payments Prod"]["status"] == "updated"
    assert accounts["Payments Dev"]["action"] == "recreate" and accounts["Payments Dev"]["status"] == "created"
    for account in ("Payments Prod", "Payments Dev"):
        attached = ws.client("iam", account).list_attached_role_policies(RoleName="ReadOnly")["AttachedPolicies"]
        assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"], account
        stack = ws.client("cloudformation", account).describe_stacks(StackName="orgiam-roles")["Stacks"][0]
        assert stack["EnableTerminationProtection"] is True
    assert ws.playbook().returncode == 0 and ws.report()["member_stacks"]["unchanged"] == 10

"""Hardening, end to end against the emulator: a failed account never costs anyone access, and one run
that writes at a time per organization."""

from __future__ import annotations

import time

from tests.emulated import calls, clear_calls, write_calls
from tests.integration.test_sync import granted_arns, role_names

SANDBOX_GROUP = "orgiam-SandboxAdmin-Sandbox"


def sandbox_arn(ws, account: str) -> str:
    return f"arn:aws:iam::{ws.accounts[account]}:role/orgiam/SandboxAdmin"


def test_an_account_that_cannot_be_reached_keeps_the_grants_it_had(workspace):
    ws = workspace
    assert ws.playbook().returncode == 0
    assert granted_arns(ws, SANDBOX_GROUP) == sorted([sandbox_arn(ws, "Sandbox Alice"), sandbox_arn(ws, "Sandbox-Bob")])
    # a change for the sandboxes, while Sandbox-Bob cannot be reached (its access role is gone: AccessDenied)
    ws.write_role("sandbox-admin.yml", "name: SandboxAdmin\ndescription: Full access in sandboxes\n"
                                       "managed_policies: [AdministratorAccess]\nmax_session_duration: 7200\n"
                                       "targets: {ou_paths: [Sandbox]}\n")
    iam = ws.client("iam", "Sandbox-Bob")
    for attached in iam.list_attached_role_policies(RoleName="OrganizationAccountAccessRole")["AttachedPolicies"]:
        iam.detach_role_policy(RoleName="OrganizationAccountAccessRole", PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName="OrganizationAccountAccessRole")

    run = ws.playbook()
    assert run.returncode == 2, run.output
    report = ws.report()
    (failed,) = report["failed_accounts"]
    assert failed["account_name"] == "Sandbox-Bob" and failed["error_code"] == "AccessDenied"
    assert ws.client("iam", "Sandbox Alice").get_role(RoleName="SandboxAdmin")["Role"]["MaxSessionDuration"] == 7200
    # the central stack keeps Sandbox-Bob's grant to its untouched role: nothing to change there
    # (before, it was updated without that grant, and Sandbox-Bob's people lost their access)
    assert report["central"]["status"] == "unchanged"
    assert granted_arns(ws, SANDBOX_GROUP) == sorted([sandbox_arn(ws, "Sandbox Alice"), sandbox_arn(ws, "Sandbox-Bob")])


def put_lock(ws, owner: str, expires_in: float) -> None:
    now = int(time.time())
    dynamodb = ws.client("dynamodb", "Security")
    try:
        dynamodb.create_table(TableName="orgiam-lock", AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
                              KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}], BillingMode="PAY_PER_REQUEST")
    except dynamodb.exceptions.ResourceInUseException:
        pass
    dynamodb.put_item(TableName="orgiam-lock", Item={
        "pk": {"S": "organization"}, "run_id": {"S": "0123456789abcdef"}, "owner": {"S": owner},
        "started_at": {"N": str(now - 30)}, "expires_at": {"N": str(int(now + expires_in))}})


def lock_item(ws) -> dict | None:
    return ws.client("dynamodb", "Security").get_item(TableName="orgiam-lock", Key={"pk": {"S": "organization"}}).get("Item")


def test_a_run_that_writes_holds_the_lock_and_a_second_is_refused_naming_the_holder(workspace):
    ws = workspace
    assert ws.playbook().returncode == 0
    assert lock_item(ws) is None  # released at the end of the run
    put_lock(ws, "alice@laptop pid 4242", expires_in=600)

    # a run that changes nothing needs no lock: it runs, and writes nothing
    clear_calls(ws.endpoint)
    noop = ws.playbook()
    assert noop.returncode == 0, noop.output
    assert write_calls(calls(ws.endpoint)) == []

    # a run that would write is refused at its first write; nothing is changed
    ws.write_role("sandbox-admin.yml", "name: SandboxAdmin\nmanaged_policies: [AdministratorAccess]\n"
                                       "max_session_duration: 7200\ntargets: {ou_paths: [Sandbox]}\n")
    clear_calls(ws.endpoint)
    refused = ws.playbook("-e", "orgiam_lock_wait=0")
    assert refused.returncode != 0
    assert "another orgiam run holds the lock" in refused.output and "alice@laptop pid 4242" in refused.output
    assert [w for w in write_calls(calls(ws.endpoint)) if not w.startswith("dynamodb:")] == []
    assert ws.client("iam", "Sandbox Alice").get_role(RoleName="SandboxAdmin")["Role"]["MaxSessionDuration"] == 14400
    assert role_names(ws, "Sandbox-Bob") == ["SandboxAdmin"]

    # a lock left by a killed run expires, and the next run takes it over
    put_lock(ws, "killed run", expires_in=-1)
    run = ws.playbook("-e", "orgiam_lock_wait=0")
    assert run.returncode == 0, run.output
    assert ws.client("iam", "Sandbox Alice").get_role(RoleName="SandboxAdmin")["Role"]["MaxSessionDuration"] == 7200
    assert lock_item(ws) is None


def test_a_run_that_writes_never_acts_on_the_inventory_cache(workspace, tmp_path):
    from tests.emulated import make_workspace

    cache = tmp_path / "cache"
    ws = make_workspace(tmp_path / "cached", workspace.endpoint, workspace.accounts,
                        f"cache: true\ncache_plugin: ansible.builtin.jsonfile\ncache_connection: {cache}\ncache_timeout: 3600\n")
    planned = ws.playbook("--check")  # reads the organization, and fills the cache
    assert planned.returncode == 0, planned.output
    again = ws.playbook("--check")  # from the cache: it says so
    assert again.returncode == 0 and "planning from the inventory cache" in again.output
    clear_calls(ws.endpoint)
    refused = ws.playbook()
    assert refused.returncode != 0 and "the inventory came from its cache" in refused.output and "--flush-cache" in refused.output
    assert write_calls(calls(ws.endpoint)) == [] and role_names(ws, "Payments Prod") == []
    fresh = ws.playbook("--flush-cache")
    assert fresh.returncode == 0, fresh.output
    assert role_names(ws, "Payments Prod") == ["ReadOnly", "WorkloadDeployer"]


def test_a_wrong_argument_is_one_clear_error_before_any_aws_call(workspace):
    ws = workspace
    clear_calls(ws.endpoint)
    run = ws.playbook("-e", "orgiam_lock_wait=soon")
    assert run.returncode != 0
    assert "lock_wait" in run.output and "int" in run.output and "Traceback" not in run.output
    assert {c["service"] for c in calls(ws.endpoint)} <= {"organizations", "sts"}  # the inventory's calls, nothing more
    assert write_calls(calls(ws.endpoint)) == []
    run = ws.playbook("-e", "orgiam_plan_part=2/4")
    assert run.returncode != 0 and "needs a saved plan" in run.output


def test_a_run_in_another_region_than_orgiams_stacks_is_refused_before_any_write(workspace):
    from tests.emulated import aws_env

    ws = workspace
    assert ws.playbook().returncode == 0  # orgiam's stacks are in us-east-1
    settings = ws.catalog / "settings.yml"
    settings.write_text(settings.read_text().replace("home_region: us-east-1\n", ""))  # no pinned region
    clear_calls(ws.endpoint)
    elsewhere = ws.playbook(env=dict(aws_env(ws.endpoint), AWS_DEFAULT_REGION="eu-west-1"))
    assert elsewhere.returncode != 0
    assert "orgiam's stacks are in region us-east-1" in elsewhere.output and "home_region: us-east-1" in elsewhere.output
    assert "unexpectedly" not in elsewhere.output
    assert write_calls(calls(ws.endpoint)) == []


def test_the_home_region_is_used_whatever_the_environment_says(workspace):
    from tests.emulated import aws_env

    ws = workspace
    assert "home_region: us-east-1" in (ws.catalog / "settings.yml").read_text()
    assert ws.playbook().returncode == 0
    run = ws.playbook(env=dict(aws_env(ws.endpoint), AWS_DEFAULT_REGION="eu-west-1", AWS_REGION="eu-west-1"))
    assert run.returncode == 0, run.output
    assert "working in the home region us-east-1" in run.output and "changes: 0" in run.output
    cfn = ws.session("Payments Prod").client("cloudformation", endpoint_url=ws.endpoint, region_name="eu-west-1")
    assert cfn.describe_stacks()["Stacks"] == []  # nothing was made in the environment's region


def test_a_change_of_identity_mode_is_refused_before_any_write_and_the_documented_path_works(workspace):
    from tests.integration.test_sync import granted_arns
    from tests.integration.test_sync_saml import METADATA

    ws = workspace
    assert ws.playbook().returncode == 0
    before = granted_arns(ws, "orgiam-ReadOnly-Workloads")
    (ws.catalog / "corp-adfs.xml").write_text(METADATA)
    (ws.catalog / "identity.yml").write_text(
        "mode: saml\nsaml: {provider_name: corp-adfs, metadata_file: corp-adfs.xml}\n"
        "groups:\n  - name: platform-engineers\n    grants: [{role: ReadOnly}, {role: SandboxAdmin}]\n")
    clear_calls(ws.endpoint)
    for extra in (("--check",), ()):
        run = ws.playbook(*extra)
        assert run.returncode != 0 and "was made for mode iam_users" in run.output, run.output
    assert write_calls(calls(ws.endpoint)) == []
    assert granted_arns(ws, "orgiam-ReadOnly-Workloads") == before  # nobody lost access
    # docs/operations.md: delete the central stack, then sync in the new mode
    cfn = ws.client("cloudformation", "Security")
    cfn.update_termination_protection(StackName="orgiam-identity", EnableTerminationProtection=False)
    cfn.delete_stack(StackName="orgiam-identity")
    run = ws.playbook()
    assert run.returncode == 0, run.output
    iam = ws.client("iam", "Security")
    assert sorted(r["RoleName"] for r in iam.list_roles(PathPrefix="/orgiam/federated/")["Roles"]) == [
        "orgiam-ReadOnly-Workloads", "orgiam-SandboxAdmin-Sandbox", "platform-engineers"]

"""The StackSets engine (settings.yml ``engine: stacksets``) against the emulated organization.

One service-managed stack set per catalog role, targeted at the role's OUs with auto-deployment; the
management account keeps a direct stack. IAM is read back in the member accounts; calls are counted by the
emulator.
"""

from __future__ import annotations

import importlib.util
import json

import pytest

from tests.emulated import calls, clear_calls, write_calls

WORKLOADS = ["Payments Dev", "Payments-Test", "Data Platform Dev", "Payments Prod", "Data Platform Prod"]
SANDBOX = ["Sandbox Alice", "Sandbox-Bob"]
UNTARGETED = ["Security", "Log-Archive", "Deployments", "Legacy App"]


# account filters (INTERSECTION, DIFFERENCE) in the emulator's StackSets: emulator/stacksets_targets.py
needs_account_filters = pytest.mark.skipif(
    importlib.util.find_spec("emulator.stacksets_targets") is None,
    reason="the emulator does not apply StackSets' account filters yet (emulator/stacksets_targets.py)")


def use_stacksets(ws, engine="stacksets", extra=""):
    settings = ws.catalog / "settings.yml"
    text = "\n".join(line for line in settings.read_text().splitlines() if not line.startswith("engine:"))
    settings.write_text(text + f"\nengine: {engine}\n" + extra)


def trusted_access(ws):
    ws.client("cloudformation").activate_organizations_access()


def active_stack_sets(ws, prefix="orgiam-role-"):
    summaries = ws.client("cloudformation").list_stack_sets(Status="ACTIVE")["Summaries"]
    return sorted(s["StackSetName"] for s in summaries if s["Status"] == "ACTIVE" and s["StackSetName"].startswith(prefix))


def roles_in(ws, account):
    return sorted(r["RoleName"] for r in ws.client("iam", account).list_roles(PathPrefix="/orgiam/")["Roles"])


def stack_exists(ws, account, name="orgiam-roles"):
    try:
        ws.client("cloudformation", account).describe_stacks(StackName=name)
        return True
    except Exception:
        return False


def granted(ws, group):
    iam = ws.client("iam", "Security")
    arns = []
    for attached in iam.list_attached_group_policies(GroupName=group)["AttachedPolicies"]:
        policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
        doc = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])["PolicyVersion"]["Document"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        for statement in doc["Statement"]:
            arns += [statement["Resource"]] if isinstance(statement["Resource"], str) else statement["Resource"]
    return sorted(arns)


def arns(ws, role, accounts):
    return sorted(f"arn:aws:iam::{ws.accounts[a]}:role/orgiam/{role}" for a in accounts)


def test_from_an_empty_organization_to_converged(workspace):
    ws = workspace
    trusted_access(ws)
    use_stacksets(ws)
    run = ws.playbook()
    assert run.returncode == 0, run.output
    for account in WORKLOADS:
        assert roles_in(ws, account) == ["ReadOnly", "WorkloadDeployer"], account
        assert not stack_exists(ws, account)
    for account in SANDBOX:
        assert roles_in(ws, account) == ["SandboxAdmin"], account
    for account in UNTARGETED:
        assert roles_in(ws, account) == [], account
    assert granted(ws, "orgiam-ReadOnly-Workloads") == arns(ws, "ReadOnly", WORKLOADS)
    assert granted(ws, "orgiam-SandboxAdmin-Sandbox") == arns(ws, "SandboxAdmin", SANDBOX)
    assert active_stack_sets(ws) == ["orgiam-role-ReadOnly", "orgiam-role-SandboxAdmin", "orgiam-role-WorkloadDeployer"]
    second = ws.playbook()
    assert second.returncode == 0, second.output
    assert "changes: 0" in (ws.out / "summary.txt").read_text(), second.output


def ou_id(ws, path):
    org = ws.client("organizations")
    parent = org.list_roots()["Roots"][0]["Id"]
    for name in path.split("/"):
        ous = org.list_organizational_units_for_parent(ParentId=parent)["OrganizationalUnits"]
        parent = next(ou["Id"] for ou in ous if ou["Name"] == name)
    return parent


def new_account(ws, name, path):
    """An account created by Organizations (at the root, as AWS does) and moved into ``path``."""
    org = ws.client("organizations")
    status = org.create_account(Email=f"{name.lower()}@example.com", AccountName=name)["CreateAccountStatus"]
    account_id = status.get("AccountId") or org.describe_create_account_status(
        CreateAccountRequestId=status["Id"])["CreateAccountStatus"]["AccountId"]
    ws.accounts[name] = account_id
    root = org.list_roots()["Roots"][0]["Id"]
    org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ou_id(ws, path))
    return account_id


def move(ws, account, path):
    org = ws.client("organizations")
    account_id = ws.accounts[account]
    source = org.list_parents(ChildId=account_id)["Parents"][0]["Id"]
    org.move_account(AccountId=account_id, SourceParentId=source, DestinationParentId=ou_id(ws, path))


def test_an_account_created_in_a_targeted_child_ou_gets_its_roles_without_a_run_and_one_moved_out_loses_them(workspace):
    ws = workspace
    trusted_access(ws)
    use_stacksets(ws)
    assert ws.playbook().returncode == 0
    new_account(ws, "Payments Staging", "Workloads/SDLC")  # no run between
    assert roles_in(ws, "Payments Staging") == ["ReadOnly", "WorkloadDeployer"]
    move(ws, "Payments-Test", "Deployments")  # out of every OU of ReadOnly and WorkloadDeployer
    assert roles_in(ws, "Payments-Test") == []
    move(ws, "Sandbox-Bob", "Workloads/Prod")  # from one role's OU into the others'
    assert roles_in(ws, "Sandbox-Bob") == ["ReadOnly", "WorkloadDeployer"]
    # the next run finds nothing to deploy, and grants exactly the accounts that have the role now
    run = ws.playbook()
    assert run.returncode == 0, run.output
    sets = [a for a in ws.report()["accounts"] if a["kind"] == "role-stackset"]
    assert {a["status"] for a in sets} == {"unchanged"}, [(a["stack_name"], a["reason"]) for a in sets]
    workloads = [a for a in WORKLOADS if a != "Payments-Test"] + ["Payments Staging", "Sandbox-Bob"]
    assert granted(ws, "orgiam-ReadOnly-Workloads") == arns(ws, "ReadOnly", workloads)
    assert granted(ws, "orgiam-SandboxAdmin-Sandbox") == arns(ws, "SandboxAdmin", ["Sandbox Alice"])


def cfn_calls(recorded):
    return [c for c in recorded if c["service"] in ("cloudformation", "sts") and c["operation"] != "GetCallerIdentity"]


def test_a_no_op_costs_the_same_calls_for_three_times_the_accounts(workspace):
    ws = workspace
    trusted_access(ws)
    use_stacksets(ws)
    assert ws.playbook().returncode == 0

    def no_op():
        clear_calls(ws.endpoint)
        run = ws.playbook()
        assert run.returncode == 0, run.output
        assert "changes: 0" in (ws.out / "summary.txt").read_text(), run.output
        recorded = calls(ws.endpoint)
        assert write_calls(recorded) == []
        return cfn_calls(recorded), len(ws.report()["accounts"]), len(ws.accounts)

    small, _, accounts_before = no_op()
    for index in range(2 * len(WORKLOADS + SANDBOX)):  # the targeted accounts, three times over
        new_account(ws, f"Extra {index:02d}", "Workloads/SDLC" if index % 2 else "Sandbox")
    assert ws.playbook().returncode == 0  # the inventory sees the new accounts; their instances came with them
    large, _, accounts_after = no_op()
    assert accounts_after >= accounts_before + 14
    per_operation = lambda found: sorted(f"{c['account_id']} {c['operation']}" for c in found)  # noqa: E731
    print(f"no-op: {len(small)} CloudFormation/STS calls for {accounts_before} accounts, {len(large)} for {accounts_after}:",
          per_operation(large))
    assert len(large) == len(small), (per_operation(small), per_operation(large))
    # DescribeStackSet and ListStackInstances for each of the 3 roles, the central stack (twice: the region check
    # and its task) and its template
    assert len(small) <= 2 * 3 + 4, per_operation(small)


def test_switching_engines_both_ways_keeps_every_accounts_roles_and_grants(workspace):
    ws = workspace
    ws.write_role("org-audit.yml", "name: OrgAudit\nmanaged_policies: [SecurityAudit]\n"
                  "targets: {ou_paths: [Sandbox], management_account: true}\n")
    assert ws.playbook().returncode == 0  # the direct engine: a stack in every targeted account
    expected = {a: ["ReadOnly", "WorkloadDeployer"] for a in WORKLOADS} | {a: ["OrgAudit", "SandboxAdmin"] for a in SANDBOX}
    readonly = arns(ws, "ReadOnly", WORKLOADS)
    audit = sorted(arns(ws, "OrgAudit", SANDBOX) + [f"arn:aws:iam::{ws.client('sts').get_caller_identity()['Account']}:role/orgiam/OrgAudit"])

    def converged():
        for account, roles in expected.items():
            assert roles_in(ws, account) == roles, account
        assert roles_in(ws, None) == ["OrgAudit"]  # the management account: always its direct stack
        assert stack_exists(ws, None)
        assert granted(ws, "orgiam-ReadOnly-Workloads") == readonly
        assert sorted(granted(ws, "orgiam-OrgAudit-Sandbox") + granted(ws, "orgiam-OrgAudit-management")) == audit

    converged()
    trusted_access(ws)
    use_stacksets(ws)
    plan = ws.playbook("--check", "--diff")
    assert plan.returncode == 0, plan.output
    assert "switch from their direct stack" in plan.stdout or "the direct stack goes" in plan.stdout, plan.stdout
    run = ws.playbook()
    assert run.returncode == 0, run.output
    converged()
    for account in expected:
        assert not stack_exists(ws, account), account
    switched = [a for a in ws.report()["accounts"] if a["kind"] == "member" and a["status"] == "deleted"]
    assert sorted(a["account_name"] for a in switched) == sorted(expected)

    use_stacksets(ws, "stacks")
    back = ws.playbook()
    assert back.returncode == 0, back.output
    converged()
    for account in expected:
        assert stack_exists(ws, account), account
    assert active_stack_sets(ws) == []
    again = ws.playbook()  # and the direct engine is at rest again: the central stack no longer says stacksets
    assert again.returncode == 0 and "changes: 0" in (ws.out / "summary.txt").read_text(), again.output


@needs_account_filters
def test_check_diff_shows_who_gains_and_loses_a_role_and_writes_nothing(workspace):
    ws = workspace
    trusted_access(ws)
    use_stacksets(ws)
    settings = ws.catalog / "settings.yml"
    settings.write_text(settings.read_text().replace("prune: plan", "prune: apply"))
    # a role by account names: exact instances, auto-deployment off
    ws.write_role("auditor.yml", "name: Auditor\nmanaged_policies: [SecurityAudit]\n"
                  "targets: {accounts: [Payments Prod, Sandbox Alice]}\n")
    assert ws.playbook().returncode == 0
    assert "Auditor" in roles_in(ws, "Payments Prod") and "Auditor" in roles_in(ws, "Sandbox Alice")
    ws.write_role("auditor.yml", "name: Auditor\nmanaged_policies: [SecurityAudit]\nmax_session_duration: 7200\n"
                  "targets: {accounts: [Sandbox Alice, Sandbox-Bob]}\n")
    clear_calls(ws.endpoint)
    plan = ws.playbook("--check", "--diff")
    assert plan.returncode == 0, plan.output
    # the central stack's update is previewed by a change set, made and deleted, as with the direct engine
    assert [c for c in write_calls(calls(ws.endpoint)) if "ChangeSet" not in c] == []
    prod, bob = ws.accounts["Payments Prod"], ws.accounts["Sandbox-Bob"]
    assert f"- Payments Prod ({prod}): loses Auditor" in plan.stdout, plan.stdout
    assert f"+ Sandbox-Bob ({bob}): gets Auditor" in plan.stdout
    assert "MaxSessionDuration: 3600 -> 7200" in plan.stdout
    assert f"instance: Sandbox-Bob ({bob})" in plan.stdout  # the --diff of the stack set's instances
    saved = json.loads((ws.out / "plan.json").read_text())
    (task,) = [t for t in saved["tasks"] if t["stack_name"] == "orgiam-role-Auditor"]
    assert task["action"] == "update" and f"-{prod}@" in " ".join(task["deploy_to"])
    assert "Auditor" not in roles_in(ws, "Sandbox-Bob") and "Auditor" in roles_in(ws, "Payments Prod")

    run = ws.playbook("-e", f"orgiam_plan={ws.out / 'plan.json'}")  # the saved plan, applied as it is
    assert run.returncode == 0, run.output
    assert "Auditor" in roles_in(ws, "Sandbox-Bob") and "Auditor" not in roles_in(ws, "Payments Prod")
    assert ws.client("iam", "Sandbox Alice").get_role(RoleName="Auditor")["Role"]["MaxSessionDuration"] == 7200
    groups = ws.client("iam", "Security").list_groups(PathPrefix="/orgiam/")["Groups"]
    auditors = sorted({a for g in groups if g["GroupName"].startswith("orgiam-Auditor-") for a in granted(ws, g["GroupName"])})
    assert auditors == arns(ws, "Auditor", ["Sandbox Alice", "Sandbox-Bob"])
    assert roles_in(ws, "Payments Prod") == ["ReadOnly", "WorkloadDeployer"]  # the other roles untouched


def test_a_failed_instance_fails_the_run_after_the_others_and_is_never_granted(workspace):
    ws = workspace
    trusted_access(ws)
    use_stacksets(ws)
    # a role of the same name made by hand: the instance cannot create it (EntityAlreadyExists)
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                     "Action": "sts:AssumeRole"}]}
    ws.client("iam", "Payments Prod").create_role(RoleName="ReadOnly", Path="/orgiam/", AssumeRolePolicyDocument=json.dumps(trust))
    run = ws.playbook()
    assert run.returncode != 0
    report = ws.report()
    failed = {f["stack"]: f for f in report["failed_accounts"]}
    assert list(failed) == ["orgiam-role-ReadOnly"], failed
    assert failed["orgiam-role-ReadOnly"]["error_code"] == "StackInstancesFailed"
    assert f"({ws.accounts['Payments Prod']})" in failed["orgiam-role-ReadOnly"]["error"]
    for account in WORKLOADS:
        assert "WorkloadDeployer" in roles_in(ws, account), account  # the other roles went on
    for account in SANDBOX:
        assert roles_in(ws, account) == ["SandboxAdmin"], account
    prod = f"arn:aws:iam::{ws.accounts['Payments Prod']}:role/orgiam/ReadOnly"
    readonly = granted(ws, "orgiam-ReadOnly-Workloads")
    assert prod not in readonly
    assert all("ReadOnly" in roles_in(ws, a) for a in WORKLOADS if f"::{ws.accounts[a]}:" in " ".join(readonly))

    ws.client("iam", "Payments Prod").delete_role(RoleName="ReadOnly")  # the obstacle gone, the next run completes
    again = ws.playbook()
    assert again.returncode == 0, again.output
    assert granted(ws, "orgiam-ReadOnly-Workloads") == arns(ws, "ReadOnly", WORKLOADS)
    for account in WORKLOADS:
        assert roles_in(ws, account) == ["ReadOnly", "WorkloadDeployer"], account


def test_a_saved_plan_updates_a_role_everywhere_and_is_refused_once_the_stack_set_changed(workspace):
    ws = workspace
    trusted_access(ws)
    use_stacksets(ws)
    assert ws.playbook().returncode == 0
    ws.write_role("sandbox-admin.yml", "name: SandboxAdmin\nmanaged_policies: [AdministratorAccess]\nmax_session_duration: 7200\n"
                  "targets: {ou_paths: [Sandbox]}\n")
    plan = ws.playbook("--check", "--diff")
    assert plan.returncode == 0, plan.output
    assert "MaxSessionDuration: 14400 -> 7200" in plan.stdout
    saved = json.loads((ws.out / "plan.json").read_text())
    (task,) = [t for t in saved["tasks"] if t["stack_name"] == "orgiam-role-SandboxAdmin"]
    assert task["action"] == "update" and task["kind"] == "role-stackset" and task["observed"]["instances"]
    run = ws.playbook("-e", f"orgiam_plan={ws.out / 'plan.json'}")
    assert run.returncode == 0, run.output
    for account in SANDBOX:
        assert ws.client("iam", account).get_role(RoleName="SandboxAdmin")["Role"]["MaxSessionDuration"] == 7200, account
    # the same plan again: the stack set is no longer as it was planned from
    again = ws.playbook("-e", f"orgiam_plan={ws.out / 'plan.json'}")
    assert again.returncode != 0
    assert [s["stack"] for s in ws.report()["stale_accounts"]] == ["orgiam-role-SandboxAdmin"]

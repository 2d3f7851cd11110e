"""mode: identity_center: permission sets and account assignments in the management account instead of IAM users,
and the move there from iam_users that never leaves people without access.

The emulator's demo organization has Identity Center enabled, with groups platform-engineers, payments-prod-readers
and sandbox-users (emulator/demo_org.yml); an assignment provisions an AWSReservedSSO_* role in the account, which
is what these tests read back through IAM.
"""

from __future__ import annotations

import json

import yaml

IDENTITY = """\
mode: identity_center
groups:
  - name: platform-engineers
    grants:
      - role: ReadOnly
      - role: SandboxAdmin
  - name: payments-prod-readers
    grants:
      - role: ReadOnly
        scope:
          accounts: [Payments Prod]
"""


def sso(ws):
    return ws.client("sso-admin")


def instance(ws) -> str:
    return sso(ws).list_instances()["Instances"][0]["InstanceArn"]


def permission_sets(ws) -> dict[str, str]:
    client, arn = sso(ws), instance(ws)
    found = {}
    for ps in client.list_permission_sets(InstanceArn=arn)["PermissionSets"]:
        found[client.describe_permission_set(InstanceArn=arn, PermissionSetArn=ps)["PermissionSet"]["Name"]] = ps
    return found


def group_names(ws) -> dict[str, str]:
    store = sso(ws).list_instances()["Instances"][0]["IdentityStoreId"]
    groups = ws.client("identitystore").list_groups(IdentityStoreId=store)["Groups"]
    return {g["GroupId"]: g["DisplayName"] for g in groups}


def assigned(ws) -> set[tuple[str, str, str]]:
    """(group, permission set, account name) of every account assignment."""
    client, arn = sso(ws), instance(ws)
    names = {v: k for k, v in ws.accounts.items()}
    groups = group_names(ws)
    found = set()
    for name, ps in permission_sets(ws).items():
        for account in client.list_accounts_for_provisioned_permission_set(InstanceArn=arn, PermissionSetArn=ps)["AccountIds"]:
            for a in client.list_account_assignments(InstanceArn=arn, AccountId=account, PermissionSetArn=ps)["AccountAssignments"]:
                found.add((groups.get(a["PrincipalId"], a["PrincipalId"]), name, names.get(account, account)))
    return found


def sso_roles(ws, account: str) -> list[str]:
    roles = ws.client("iam", account).list_roles(PathPrefix="/aws-reserved/sso.amazonaws.com/")["Roles"]
    return sorted(r["RoleName"].split("_")[1] for r in roles)


def orgiam_roles(ws, account: str) -> list[str]:
    return sorted(r["RoleName"] for r in ws.client("iam", account).list_roles(PathPrefix="/orgiam/")["Roles"])


def stack_exists(ws, account: str | None, name: str) -> bool:
    stacks = ws.client("cloudformation", account).list_stacks()["StackSummaries"]
    return any(s["StackName"] == name and s["StackStatus"] != "DELETE_COMPLETE" for s in stacks)


def accounts_under(ws, top: str) -> list[str]:
    """The ACTIVE accounts anywhere under the top-level OU ``top``, by name."""
    org = ws.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    pending = [u["Id"] for u in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"] if u["Name"] == top]
    names = []
    while pending:
        parent = pending.pop()
        names += [a["Name"] for a in org.list_accounts_for_parent(ParentId=parent)["Accounts"] if a["Status"] == "ACTIVE"]
        pending += [u["Id"] for u in org.list_organizational_units_for_parent(ParentId=parent)["OrganizationalUnits"]]
    return sorted(names)


def wanted(ws) -> set[tuple[str, str, str]]:
    return ({("platform-engineers", "ReadOnly", a) for a in accounts_under(ws, "Workloads")}
            | {("platform-engineers", "SandboxAdmin", a) for a in accounts_under(ws, "Sandbox")}
            | {("payments-prod-readers", "ReadOnly", "Payments Prod")})


def test_identity_center_from_empty_to_converged(workspace):
    ws = workspace
    (ws.catalog / "identity.yml").write_text(IDENTITY)
    plan = ws.playbook("--check", "--diff")
    assert plan.returncode == 0, plan.output
    assert "access: group payments-prod-readers gains ReadOnly in Payments Prod" in plan.output
    assert not permission_sets(ws)  # a plan writes nothing

    run = ws.playbook()
    assert run.returncode == 0, run.output
    assert set(permission_sets(ws)) == {"ReadOnly", "SandboxAdmin"}  # the machine role stays a member role
    assert assigned(ws) == wanted(ws)
    # people's access is real in the accounts: Identity Center's roles, and no orgiam role for people
    assert sso_roles(ws, "Payments Prod") == ["ReadOnly"]
    assert sso_roles(ws, "Sandbox-Bob") == ["SandboxAdmin"]
    assert orgiam_roles(ws, "Payments Prod") == ["WorkloadDeployer"]
    assert orgiam_roles(ws, "Sandbox-Bob") == []
    assert not stack_exists(ws, "Security", "orgiam-identity")  # no central IAM stack in this mode
    ps = sso(ws).describe_permission_set(InstanceArn=instance(ws), PermissionSetArn=permission_sets(ws)["SandboxAdmin"])
    assert ps["PermissionSet"]["SessionDuration"] == "PT4H"  # the role's max_session_duration: 14400

    again = ws.playbook()
    assert again.returncode == 0 and "changes: 0" in again.output, again.output
    access = json.loads((ws.out / "access.json").read_text())
    assert access["mode"] == "identity_center"
    reached = {(r["principal"], r["role"], r["account_name"]) for r in access["rows"] if r["principal_type"] == "user"}
    assert ("bob.payments", "ReadOnly", "Payments Prod") in reached
    assert not any(who == "bob.payments" and account != "Payments Prod" for who, _, account in reached)


def test_an_account_moved_into_a_targeted_ou_gets_its_assignment_and_the_plan_says_who_gains(workspace):
    ws = workspace
    (ws.catalog / "identity.yml").write_text(IDENTITY)
    assert ws.playbook().returncode == 0
    org = ws.client("organizations")
    root = org.list_roots()["Roots"][0]["Id"]
    units = {u["Name"]: u["Id"] for u in org.list_organizational_units_for_parent(ParentId=root)["OrganizationalUnits"]}
    org.move_account(AccountId=ws.accounts["Sandbox-Bob"], SourceParentId=units["Sandbox"], DestinationParentId=units["Workloads"])

    plan = ws.playbook("--check", "--diff", "--flush-cache")
    assert plan.returncode == 0, plan.output
    assert "access: group platform-engineers gains ReadOnly in Sandbox-Bob" in plan.output
    assert "access: group platform-engineers loses SandboxAdmin in Sandbox-Bob" in plan.output
    saved = json.loads((ws.out / "plan.json").read_text())
    assert {(c["principal"], c["change"], c["role"]) for c in saved["access_changes"]} >= {
        ("platform-engineers", "gains", "ReadOnly"), ("platform-engineers", "loses", "SandboxAdmin")}
    assert "access: 1 gain(s), 1 loss(es)" in (ws.out / "summary.txt").read_text()
    assert "## Who gains and loses access" in (ws.out / "summary.md").read_text()

    assert ws.playbook("--flush-cache").returncode == 0
    assert sso_roles(ws, "Sandbox-Bob") == ["ReadOnly"]
    assert ("platform-engineers", "ReadOnly", "Sandbox-Bob") in assigned(ws)


def test_a_group_missing_from_identity_center_is_a_catalog_error_before_any_change(workspace):
    ws = workspace
    (ws.catalog / "identity.yml").write_text(IDENTITY + "  - name: data-scientists\n    grants: [{role: ReadOnly}]\n")
    run = ws.playbook()
    assert run.returncode != 0
    assert "identity.yml" in run.output and "data-scientists" in run.output and "identity store" in run.output
    assert not permission_sets(ws)
    assert orgiam_roles(ws, "Payments Prod") == []  # nothing was deployed anywhere


def test_moving_from_iam_users_never_leaves_people_without_access(workspace):
    ws = workspace
    assert ws.playbook().returncode == 0  # the demo: iam_users
    assert orgiam_roles(ws, "Payments Prod") == ["ReadOnly", "WorkloadDeployer"]

    # step 1: Identity Center beside the IAM users; nothing of the IAM side changes
    demo = yaml.safe_load((ws.catalog / "identity.yml").read_text())
    step1 = dict(demo, mode="identity_center", identity_center={"keep_iam_users": True})
    (ws.catalog / "identity.yml").write_text(yaml.safe_dump(step1))
    run = ws.playbook()
    assert run.returncode == 0, run.output
    # the one stack created is the Identity Center one; no member stack changes, nor the central one
    assert "created 1, updated 0" in run.output and "central stack (Security): unchanged" in run.output, run.output
    assert ("platform-engineers", "ReadOnly", "Payments Prod") in assigned(ws)
    assert orgiam_roles(ws, "Payments Prod") == ["ReadOnly", "WorkloadDeployer"]
    assert ws.client("iam", "Security").get_user(UserName="alice.platform")

    # step 2, with a broken Identity Center stack and prune: apply: the IAM side is kept whole
    settings = (ws.catalog / "settings.yml").read_text().replace("prune: plan", "prune: apply")
    (ws.catalog / "settings.yml").write_text(settings)
    step2 = {k: v for k, v in demo.items() if k not in ("users", "default_groups")}
    step2.update(mode="identity_center")
    (ws.catalog / "identity.yml").write_text(yaml.safe_dump(step2))
    readonly = ws.catalog / "roles" / "readonly.yml"
    good = readonly.read_text()
    readonly.write_text(good.replace("  - ReadOnlyAccess", "  - ReadOnlyAccess\n  - NoSuchPolicyAnywhere"))
    broken = ws.playbook()
    assert broken.returncode != 0
    assert orgiam_roles(ws, "Payments Prod") == ["ReadOnly", "WorkloadDeployer"]
    assert stack_exists(ws, "Security", "orgiam-identity")
    assert ("platform-engineers", "ReadOnly", "Payments Prod") in assigned(ws)

    # step 2 done right: the IAM side goes, Identity Center stays
    readonly.write_text(good)
    run = ws.playbook()
    assert run.returncode == 0, run.output
    assert orgiam_roles(ws, "Payments Prod") == ["WorkloadDeployer"]
    assert not stack_exists(ws, "Security", "orgiam-identity")
    assert sso_roles(ws, "Payments Prod") == ["ReadOnly"]
    assert assigned(ws) >= {("platform-engineers", "ReadOnly", a) for a in accounts_under(ws, "Workloads")}


def test_live_verification_puts_back_assignments_and_policies_changed_by_hand(workspace):
    ws = workspace
    (ws.catalog / "identity.yml").write_text(IDENTITY)
    assert ws.playbook().returncode == 0
    client, arn = sso(ws), instance(ws)
    readonly = permission_sets(ws)["ReadOnly"]
    groups = {name: gid for gid, name in group_names(ws).items()}
    prod = ws.accounts["Payments Prod"]
    # by hand: platform-engineers loses ReadOnly in Payments Prod, sandbox-users gains it, and ReadOnly gets admin
    client.delete_account_assignment(InstanceArn=arn, TargetId=prod, TargetType="AWS_ACCOUNT", PermissionSetArn=readonly,
                                     PrincipalType="GROUP", PrincipalId=groups["platform-engineers"])
    client.create_account_assignment(InstanceArn=arn, TargetId=prod, TargetType="AWS_ACCOUNT", PermissionSetArn=readonly,
                                     PrincipalType="GROUP", PrincipalId=groups["sandbox-users"])
    client.attach_managed_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=readonly,
                                                   ManagedPolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")

    tags_only = ws.playbook()
    assert "changes: 0" in tags_only.output  # the template hash alone cannot see it
    plan = ws.playbook("--check", "-e", "orgiam_verify=live")
    assert plan.returncode == 0, plan.output
    assert "AWS::SSO::Assignment ReadOnly -> group" in plan.output and "missing (deleted by hand)" in plan.output
    assert "ManagedPolicies" in plan.output and "AdministratorAccess" in plan.output

    run = ws.playbook("-e", "orgiam_verify=live")
    assert run.returncode == 0, run.output
    assert ("platform-engineers", "ReadOnly", "Payments Prod") in assigned(ws)
    assert ("sandbox-users", "ReadOnly", "Payments Prod") not in assigned(ws)
    attached = client.list_managed_policies_in_permission_set(InstanceArn=arn, PermissionSetArn=readonly)["AttachedManagedPolicies"]
    assert [p["Name"] for p in attached] == ["ReadOnlyAccess"]
    again = ws.playbook("--check", "-e", "orgiam_verify=live")
    assert "changes: 0" in again.output, again.output

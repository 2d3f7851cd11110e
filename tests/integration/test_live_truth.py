"""Live truth, end to end: changes made by hand to what orgiam owns are found by `verify: live`, shown by
`--check` (which puts nothing back), put back by the apply, and the next live run finds nothing.

Every change is made, and every result read back, through the IAM API of the account concerned."""

from __future__ import annotations

import json

from tests.emulated import calls, clear_calls, write_calls

OPEN_TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
EXTRA = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}


def document(value):
    return json.loads(value) if isinstance(value, str) else value


def change_by_hand(ws) -> None:
    prod = ws.client("iam", "Payments Prod")
    prod.update_assume_role_policy(RoleName="ReadOnly", PolicyDocument=json.dumps(OPEN_TRUST))
    prod.attach_role_policy(RoleName="ReadOnly", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    prod.put_role_policy(RoleName="ReadOnly", PolicyName="by-hand", PolicyDocument=json.dumps(EXTRA))
    prod.update_role(RoleName="ReadOnly", MaxSessionDuration=43200)
    prod.untag_role(RoleName="ReadOnly", TagKeys=["orgiam:managed-by"])
    alice = ws.client("iam", "Sandbox Alice")
    alice.detach_role_policy(RoleName="SandboxAdmin", PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    dev = ws.client("iam", "Data Platform Dev")
    dev.detach_role_policy(RoleName="ReadOnly", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    dev.delete_role(RoleName="ReadOnly")
    central = ws.client("iam", "Security")
    central.create_user(UserName="mallory", Path="/")
    central.add_user_to_group(GroupName="platform-engineers", UserName="mallory")
    central.create_access_key(UserName="bob.payments")


def drift_of(report) -> set[tuple[str, str, str]]:
    return {(d["account_name"], d["name"], d["property"]) for d in report["drift"]}


def test_changes_by_hand_are_found_shown_put_back_and_then_gone(workspace):
    ws = workspace
    assert ws.playbook().returncode == 0
    change_by_hand(ws)

    # the fast path trusts the stack's hash tag: it sees nothing
    fast = ws.playbook("--check")
    assert fast.returncode == 0 and "changes: 0" in fast.output

    # live verification names every change, and --check puts nothing back
    clear_calls(ws.endpoint)
    plan = ws.playbook("--check", "--diff", "-e", "orgiam_verify=live")
    assert plan.returncode == 0, plan.output
    assert [w for w in write_calls(calls(ws.endpoint)) if "ChangeSet" not in w] == []
    report = ws.report()
    found = drift_of(report)
    assert {("Payments Prod", "ReadOnly", "AssumeRolePolicyDocument"), ("Payments Prod", "ReadOnly", "ManagedPolicyArns"),
            ("Payments Prod", "ReadOnly", "MaxSessionDuration"), ("Sandbox Alice", "SandboxAdmin", "ManagedPolicyArns"),
            ("Data Platform Dev", "ReadOnly", "")} <= found, found
    assert any(a == "Payments Prod" and p.startswith("Policies") for a, _, p in found), found
    assert any(a == "Payments Prod" and p.startswith("Tags") for a, _, p in found), found
    assert any(a == "Security" and n == "platform-engineers" for a, n, _ in found), found
    assert any(a == "Security" and n == "bob.payments" for a, n, _ in found), found
    by_name = {a["account_name"]: a for a in report["accounts"]}
    assert by_name["Payments Prod"]["action"] == "repair" and by_name["Payments Prod"]["status"] == "planned"
    assert "DRIFT Payments Prod" in (ws.out / "summary.txt").read_text()
    assert "Changes made by hand" in (ws.out / "summary.md").read_text()
    assert 'type="Drift"' in (ws.out / "junit.xml").read_text()
    assert json.loads((ws.out / "plan.json").read_text())["summary"]["drift"] == len(report["drift"])
    prod = ws.client("iam", "Payments Prod")
    assert document(prod.get_role(RoleName="ReadOnly")["Role"]["AssumeRolePolicyDocument"]) == OPEN_TRUST  # untouched

    # the apply puts every change back, read through IAM
    run = ws.playbook("-e", "orgiam_verify=live")
    assert run.returncode == 0, run.output
    role = prod.get_role(RoleName="ReadOnly")["Role"]
    (statement,) = document(role["AssumeRolePolicyDocument"])["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ws.accounts['Security']}:root"}
    assert role["MaxSessionDuration"] == 3600
    assert {t["Key"]: t["Value"] for t in role.get("Tags", [])}.get("orgiam:managed-by") == "orgiam"
    assert [p["PolicyArn"] for p in prod.list_attached_role_policies(RoleName="ReadOnly")["AttachedPolicies"]] == [
        "arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert prod.list_role_policies(RoleName="ReadOnly")["PolicyNames"] == []
    alice = ws.client("iam", "Sandbox Alice")
    assert [p["PolicyArn"] for p in alice.list_attached_role_policies(RoleName="SandboxAdmin")["AttachedPolicies"]] == [
        "arn:aws:iam::aws:policy/AdministratorAccess"]
    dev = ws.client("iam", "Data Platform Dev")
    assert dev.get_role(RoleName="ReadOnly")["Role"]["Path"] == "/orgiam/"
    central = ws.client("iam", "Security")
    members = {u["UserName"] for u in central.get_group(GroupName="platform-engineers")["Users"]}
    assert "mallory" not in members and central.list_access_keys(UserName="bob.payments")["AccessKeyMetadata"] == []
    assert central.get_user(UserName="mallory")["User"]  # not orgiam's: removed from orgiam's group, never deleted
    applied = ws.report()
    assert {a["account_name"]: a["status"] for a in applied["accounts"]}["Payments Prod"] == "repaired"
    assert all(d["repaired"] for d in applied["drift"])

    # the next live run finds nothing, and a later catalog change still updates the stacks
    again = ws.playbook("--check", "-e", "orgiam_verify=live")
    assert again.returncode == 0 and "changes: 0" in again.output, again.output
    assert ws.report()["drift"] == []
    ws.write_role("readonly.yml", "name: ReadOnly\nmanaged_policies: [ReadOnlyAccess]\nmax_session_duration: 7200\n"
                                  "targets: {ou_paths: [Workloads]}\n")
    update = ws.playbook("-e", "orgiam_verify=live")
    assert update.returncode == 0, update.output
    assert prod.get_role(RoleName="ReadOnly")["Role"]["MaxSessionDuration"] == 7200
    assert dev.get_role(RoleName="ReadOnly")["Role"]["MaxSessionDuration"] == 7200


def test_the_other_owned_properties_are_found_and_put_back_too(workspace):
    """The rest of the list: a permissions boundary, a role re-made on another path, a central group's
    attached and inline policies, a login profile the catalog does not want."""
    ws = workspace
    assert ws.playbook().returncode == 0
    prod = ws.client("iam", "Payments Prod")
    prod.put_role_permissions_boundary(RoleName="ReadOnly", PermissionsBoundary="arn:aws:iam::aws:policy/ReadOnlyAccess")
    test = ws.client("iam", "Payments-Test")
    test.detach_role_policy(RoleName="ReadOnly", PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")
    trust = test.get_role(RoleName="ReadOnly")["Role"]["AssumeRolePolicyDocument"]
    test.delete_role(RoleName="ReadOnly")
    test.create_role(RoleName="ReadOnly", Path="/elsewhere/", AssumeRolePolicyDocument=json.dumps(document(trust)))
    central = ws.client("iam", "Security")
    (attached,) = central.list_attached_group_policies(GroupName="payments-prod-readers")["AttachedPolicies"]
    central.detach_group_policy(GroupName="payments-prod-readers", PolicyArn=attached["PolicyArn"])
    central.put_group_policy(GroupName="payments-prod-readers", PolicyName="by-hand", PolicyDocument=json.dumps(EXTRA))
    central.create_login_profile(UserName="bob.payments", Password="Hand-Made-Password-1")

    plan = ws.playbook("--check", "-e", "orgiam_verify=live")
    assert plan.returncode == 0, plan.output
    found = drift_of(ws.report())
    assert ("Payments Prod", "ReadOnly", "PermissionsBoundary") in found, found
    assert any(a == "Payments-Test" and n == "ReadOnly" and p in ("Path", "") for a, n, p in found), found
    assert any(a == "Security" and n == "payments-prod-readers" for a, n, _ in found), found
    assert any(a == "Security" and n == "bob.payments" for a, n, _ in found), found
    assert central.get_login_profile(UserName="bob.payments")["LoginProfile"]  # --check put nothing back

    run = ws.playbook("-e", "orgiam_verify=live")
    assert run.returncode == 0, run.output
    assert "PermissionsBoundary" not in prod.get_role(RoleName="ReadOnly")["Role"]
    assert test.get_role(RoleName="ReadOnly")["Role"]["Path"] == "/orgiam/"
    assert [p["PolicyArn"] for p in test.list_attached_role_policies(RoleName="ReadOnly")["AttachedPolicies"]] == [
        "arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert [p["PolicyArn"] for p in central.list_attached_group_policies(GroupName="payments-prod-readers")["AttachedPolicies"]] == [
        attached["PolicyArn"]]
    assert central.list_group_policies(GroupName="payments-prod-readers")["PolicyNames"] == []
    try:
        central.get_login_profile(UserName="bob.payments")
        raise AssertionError("the login profile made by hand is still there")
    except central.exceptions.NoSuchEntityException:
        pass
    again = ws.playbook("--check", "-e", "orgiam_verify=live")
    assert again.returncode == 0 and "changes: 0" in again.output and ws.report()["drift"] == []


def test_saml_mode_the_provider_and_federated_roles_are_verified(workspace):
    from tests.integration.test_sync_saml import METADATA

    ws = workspace
    (ws.catalog / "corp-adfs.xml").write_text(METADATA)
    (ws.catalog / "identity.yml").write_text(
        "mode: saml\nsaml: {provider_name: corp-adfs, metadata_file: corp-adfs.xml}\n"
        "groups:\n  - name: platform-engineers\n    grants: [{role: ReadOnly}, {role: SandboxAdmin}]\n")
    assert ws.playbook().returncode == 0
    central = ws.client("iam", "Security")
    provider = central.list_saml_providers()["SAMLProviderList"][0]["Arn"]
    central.update_saml_provider(SAMLProviderArn=provider, SAMLMetadataDocument=METADATA.replace("adfs.corp.example", "evil.example"))
    central.update_role(RoleName="platform-engineers", MaxSessionDuration=43200)
    plan = ws.playbook("--check", "-e", "orgiam_verify=live")
    assert plan.returncode == 0, plan.output
    found = drift_of(ws.report())
    assert any(a == "Security" and n == "corp-adfs" for a, n, _ in found), found
    assert ("Security", "platform-engineers", "MaxSessionDuration") in found, found
    assert ws.playbook("-e", "orgiam_verify=live").returncode == 0
    assert "adfs.corp.example" in central.get_saml_provider(SAMLProviderArn=provider)["SAMLMetadataDocument"]
    assert central.get_role(RoleName="platform-engineers")["Role"]["MaxSessionDuration"] == 3600
    again = ws.playbook("--check", "-e", "orgiam_verify=live")
    assert again.returncode == 0 and ws.report()["drift"] == []


def test_other_principals_allowed_to_assume_orgiams_roles_are_reported_and_left_alone(workspace):
    ws = workspace
    assert ws.playbook().returncode == 0
    central = ws.client("iam", "Security")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                                                     "Action": "sts:AssumeRole"}]}
    central.create_role(RoleName="ops-admin", Path="/", AssumeRolePolicyDocument=json.dumps(trust))
    allow = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                     "Resource": "arn:aws:iam::*:role/orgiam/*"}]}
    central.put_role_policy(RoleName="ops-admin", PolicyName="assume-orgiam", PolicyDocument=json.dumps(allow))
    run = ws.playbook("-e", "orgiam_verify=live")
    assert run.returncode == 0, run.output
    report = ws.report()
    found = {(e["name"], e["via"]) for e in report["exposure"]}
    assert ("ops-admin", "inline policy assume-orgiam") in found, found
    assert report["drift"] == [] and "OUTSIDE ORGIAM Security" in (ws.out / "summary.txt").read_text()
    # reported, never changed
    assert central.get_role_policy(RoleName="ops-admin", PolicyName="assume-orgiam")["PolicyName"] == "assume-orgiam"

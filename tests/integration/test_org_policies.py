"""Organization policies (roles_catalog/policies/) through playbooks/sync.yml, read back through the
Organizations API of the emulated demo organization.

The demo catalog carries one SCP, deny-all-suspended, on the Suspended OU. These tests add the tutorial's
sandbox deny list (docs/tutorials/guardrails.md), move it from one OU to another, drop it from the catalog
under each prune setting, and give the sync bad policies, which are refused before any AWS call.
"""

from __future__ import annotations

import json

import shutil

import pytest

from tests.emulated import REPO, calls, clear_calls, write_calls

SANDBOX_DENY_LIST = """\
name: sandbox-deny-list
kind: service_control
description: No expensive services and no leaving the organization in the sandboxes.
document:
  Version: "2012-10-17"
  Statement:
    - Sid: NoExpensiveServices
      Effect: Deny
      Action: ["redshift:*", "sagemaker:CreateTrainingJob", "ec2:PurchaseReservedInstancesOffering"]
      Resource: "*"
    - Sid: StayInTheOrganization
      Effect: Deny
      Action: organizations:LeaveOrganization
      Resource: "*"
targets:
  ou_paths: [{ou}]
"""


@pytest.fixture
def workspace(workspace):
    """The demo workspace with the demo catalog's policies (the other tests leave them out)."""
    shutil.copytree(REPO / "roles_catalog" / "policies", workspace.catalog / "policies")
    return workspace


def organizations(ws):
    return ws.client("organizations")


def ou_id(ws, path: str) -> str:
    org = organizations(ws)
    parent = org.list_roots()["Roots"][0]["Id"]
    for name in path.split("/"):
        units = org.list_organizational_units_for_parent(ParentId=parent)["OrganizationalUnits"]
        parent = next(u["Id"] for u in units if u["Name"] == name)
    return parent


def policy(ws, name: str) -> dict | None:
    found = [p for p in organizations(ws).list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"] if p["Name"] == name]
    return found[0] if found else None


def targets(ws, name: str) -> set[str]:
    found = policy(ws, name)
    if found is None:
        return set()
    return {t["TargetId"] for t in organizations(ws).list_targets_for_policy(PolicyId=found["Id"])["Targets"]}


def attached(ws, target: str) -> set[str]:
    listed = organizations(ws).list_policies_for_target(TargetId=target, Filter="SERVICE_CONTROL_POLICY")["Policies"]
    return {p["Name"] for p in listed}


def write_policy(ws, ou: str) -> None:
    (ws.catalog / "policies" / "sandbox-deny-list.yml").write_text(SANDBOX_DENY_LIST.format(ou=ou))


def set_prune(ws, prune: str) -> None:
    settings = ws.catalog / "settings.yml"
    text = settings.read_text()
    settings.write_text("\n".join(f"prune: {prune}" if line.startswith("prune:") else line for line in text.splitlines()) + "\n")


def test_the_catalogs_policies_are_attached_where_it_says_and_a_second_run_changes_nothing(workspace):
    ws = workspace
    write_policy(ws, "Sandbox")
    run = ws.playbook()
    assert run.returncode == 0, run.output
    assert targets(ws, "deny-all-suspended") == {ou_id(ws, "Suspended")}
    assert targets(ws, "sandbox-deny-list") == {ou_id(ws, "Sandbox")}
    content = json.loads(organizations(ws).describe_policy(PolicyId=policy(ws, "sandbox-deny-list")["Id"])["Policy"]["Content"])
    assert content["Statement"][0]["Sid"] == "NoExpensiveServices"
    # AWS's own FullAWSAccess stays where it was; the accounts under the OU inherit, nothing is copied to them
    assert attached(ws, ou_id(ws, "Sandbox")) == {"FullAWSAccess", "sandbox-deny-list"}
    assert attached(ws, ws.accounts["Sandbox Alice"]) == {"FullAWSAccess"}
    report = ws.report()
    (stack,) = [a for a in report["accounts"] if a["stack_name"] == "orgiam-organization-policies"]
    assert stack["status"] == "created"

    clear_calls(ws.endpoint)
    run = ws.playbook()
    assert run.returncode == 0 and "changes: 0" in run.output, run.output
    assert write_calls(calls(ws.endpoint)) == []


def test_a_policy_moved_to_another_ou_is_planned_as_such_and_moved(workspace):
    ws = workspace
    write_policy(ws, "Sandbox")
    assert ws.playbook().returncode == 0
    write_policy(ws, "Workloads/Prod")
    clear_calls(ws.endpoint)
    run = ws.playbook("--check", "--diff")
    assert run.returncode == 0, run.output
    assert "service control policy sandbox-deny-list: + Workloads/Prod, - Sandbox" in run.output
    # a change set previews the update (and is deleted); nothing else is written
    assert [c for c in write_calls(calls(ws.endpoint)) if "ChangeSet" not in c] == []
    assert targets(ws, "sandbox-deny-list") == {ou_id(ws, "Sandbox")}  # the plan moved nothing

    run = ws.playbook()
    assert run.returncode == 0, run.output
    assert targets(ws, "sandbox-deny-list") == {ou_id(ws, "Workloads/Prod")}
    assert attached(ws, ou_id(ws, "Sandbox")) == {"FullAWSAccess"}
    assert targets(ws, "deny-all-suspended") == {ou_id(ws, "Suspended")}  # untouched


def test_a_policy_dropped_from_the_catalog_is_kept_until_prune_is_apply(workspace):
    ws = workspace
    write_policy(ws, "Sandbox")
    assert ws.playbook().returncode == 0
    (ws.catalog / "policies" / "sandbox-deny-list.yml").unlink()

    run = ws.playbook()  # the demo's prune: plan
    assert run.returncode == 0, run.output
    (stack,) = [a for a in ws.report()["accounts"] if a["stack_name"] == "orgiam-organization-policies"]
    assert "keeps sandbox-deny-list (no longer in the catalog, still attached; prune is 'plan')" in stack["reason"]
    assert targets(ws, "sandbox-deny-list") == {ou_id(ws, "Sandbox")}

    set_prune(ws, "apply")
    run = ws.playbook()
    assert run.returncode == 0, run.output
    assert policy(ws, "sandbox-deny-list") is None
    assert attached(ws, ou_id(ws, "Sandbox")) == {"FullAWSAccess"}
    assert targets(ws, "deny-all-suspended") == {ou_id(ws, "Suspended")}


def test_policies_made_outside_orgiam_are_never_touched(workspace):
    ws = workspace
    org = organizations(ws)
    theirs = org.create_policy(Name="security-team-guardrail", Description="not orgiam's", Type="SERVICE_CONTROL_POLICY",
                               Content=json.dumps({"Version": "2012-10-17", "Statement": [
                                   {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}))["Policy"]
    org.attach_policy(PolicyId=theirs["PolicySummary"]["Id"], TargetId=ou_id(ws, "Sandbox"))
    write_policy(ws, "Sandbox")
    set_prune(ws, "apply")
    assert ws.playbook().returncode == 0
    (ws.catalog / "policies" / "sandbox-deny-list.yml").unlink()
    assert ws.playbook().returncode == 0
    assert attached(ws, ou_id(ws, "Sandbox")) == {"FullAWSAccess", "security-team-guardrail"}


def test_bad_policies_are_refused_before_any_aws_call(workspace):
    ws = workspace
    for index in range(4):
        (ws.catalog / "policies" / f"extra-{index}.yml").write_text(
            SANDBOX_DENY_LIST.format(ou="Suspended").replace("sandbox-deny-list", f"extra-{index}"))
    clear_calls(ws.endpoint)
    run = ws.playbook("--check")
    assert run.returncode != 0
    assert "Suspended would have 5 service_control policies" in run.output and "FullAWSAccess" in run.output
    assert not [c for c in calls(ws.endpoint) if c["service"] not in ("organizations", "sts")]  # the inventory's reads only

    for index in range(4):
        (ws.catalog / "policies" / f"extra-{index}.yml").unlink()
    (ws.catalog / "policies" / "lockout.yml").write_text(
        "name: lockout\nkind: service_control\ndocument: {Statement: [{Effect: Deny, Action: 'cloudformation:*', "
        "Resource: '*'}]}\ntargets: {root: true}\n")
    clear_calls(ws.endpoint)
    run = ws.playbook("--check")
    assert run.returncode != 0
    assert "policies/lockout.yml" in run.output and "waive: [denies_orgiam]" in run.output
    assert not [c for c in calls(ws.endpoint) if c["service"] not in ("organizations", "sts")]


def test_live_verification_puts_back_a_policy_detached_attached_or_edited_by_hand(workspace):
    ws = workspace
    write_policy(ws, "Sandbox")
    assert ws.playbook().returncode == 0
    org = organizations(ws)
    sandbox = policy(ws, "sandbox-deny-list")["Id"]
    org.detach_policy(PolicyId=sandbox, TargetId=ou_id(ws, "Sandbox"))
    org.attach_policy(PolicyId=sandbox, TargetId=ou_id(ws, "Workloads/Prod"))
    suspended = policy(ws, "deny-all-suspended")["Id"]
    org.update_policy(PolicyId=suspended, Content=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}))

    run = ws.playbook()  # the fast path trusts the stack's hash: nothing found
    assert run.returncode == 0 and "changes: 0" in run.output, run.output
    run = ws.playbook("--check", "-e", "orgiam_verify=live")
    assert run.returncode == 0, run.output
    assert "TargetIds" in run.output and "Content" in run.output
    assert targets(ws, "sandbox-deny-list") == {ou_id(ws, "Workloads/Prod")}  # the plan changed nothing

    run = ws.playbook("-e", "orgiam_verify=live")
    assert run.returncode == 0, run.output
    assert targets(ws, "sandbox-deny-list") == {ou_id(ws, "Sandbox")}
    content = json.loads(org.describe_policy(PolicyId=suspended)["Policy"]["Content"])
    assert content["Statement"][0]["Action"] == "*"
    run = ws.playbook("-e", "orgiam_verify=live")
    assert run.returncode == 0 and "changes: 0" in run.output, run.output


TUTORIAL_SANDBOX = """\
name: sandbox-deny-list
kind: service_control
description: No expensive services and no leaving the organization in the sandboxes.
document_file: sandbox-deny-list.json
targets:
  ou_paths: [Sandbox]
"""
TUTORIAL_SANDBOX_JSON = {"Version": "2012-10-17", "Statement": [
    {"Sid": "NoExpensiveServices", "Effect": "Deny",
     "Action": ["redshift:*", "sagemaker:CreateTrainingJob", "ec2:PurchaseReservedInstancesOffering"], "Resource": "*"},
    {"Sid": "StayInTheOrganization", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}
TUTORIAL_CFN_ROLE = """\
name: CloudFormationService
description: The service role CloudFormation uses to deploy workload stacks.
managed_policies: [PowerUserAccess]
targets:
  ou_paths: [Workloads]
trusted_by:
  - {service: cloudformation.amazonaws.com}
"""


def test_the_guardrails_tutorials_catalog(workspace):
    """docs/tutorials/guardrails.md as written: deny-all on Suspended, the sandbox deny list from its JSON file,
    the workload deployer trusted by Deployments' pipeline roles (the demo's) and the CloudFormation service
    role; read back through Organizations and IAM."""
    ws = workspace
    (ws.catalog / "policies" / "sandbox-deny-list.yml").write_text(TUTORIAL_SANDBOX)
    (ws.catalog / "policies" / "sandbox-deny-list.json").write_text(json.dumps(TUTORIAL_SANDBOX_JSON))
    ws.write_role("cloudformation-service.yml", TUTORIAL_CFN_ROLE)
    plan = ws.playbook("--check", "--diff")
    assert plan.returncode == 0, plan.output
    assert "service control policy deny-all-suspended: new, attached to Suspended" in plan.output
    assert "service control policy sandbox-deny-list: new, attached to Sandbox" in plan.output
    (ws.root / "tutorial-plan.txt").write_text(plan.output)

    run = ws.playbook()
    assert run.returncode == 0, run.output
    assert targets(ws, "deny-all-suspended") == {ou_id(ws, "Suspended")}
    assert targets(ws, "sandbox-deny-list") == {ou_id(ws, "Sandbox")}
    assert attached(ws, ws.accounts["Legacy App"]) == {"FullAWSAccess"}  # inherited from the OU, not copied

    iam = ws.client("iam", "Payments Prod")
    deployer = iam.get_role(RoleName="WorkloadDeployer")["Role"]["AssumeRolePolicyDocument"]
    (statement,) = deployer["Statement"]
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{ws.accounts['Deployments']}:root"}
    assert json.dumps(statement["Condition"]).count("pipeline/*") == 1 and "aws:PrincipalOrgID" in json.dumps(statement)
    service = iam.get_role(RoleName="CloudFormationService")["Role"]["AssumeRolePolicyDocument"]
    assert [s["Principal"] for s in service["Statement"]] == [{"Service": "cloudformation.amazonaws.com"}]
    assert "MultiFactorAuthPresent" not in json.dumps(deployer) + json.dumps(service)
    central = ws.client("iam", "Security")
    groups = {g["GroupName"] for g in central.list_groups(PathPrefix="/orgiam/")["Groups"]}
    assert not [g for g in groups if "WorkloadDeployer" in g or "CloudFormationService" in g], groups

    clear_calls(ws.endpoint)
    run = ws.playbook()
    assert run.returncode == 0 and "changes: 0" in run.output, run.output
    assert write_calls(calls(ws.endpoint)) == []
    (ws.root / "tutorial-noop.txt").write_text(run.output)

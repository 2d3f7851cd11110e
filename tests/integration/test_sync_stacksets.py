"""The StackSets engine (settings.yml ``engine: stacksets``) against the emulated organization.

One service-managed stack set per catalog role, targeted at the role's OUs with auto-deployment; the
management account keeps a direct stack. IAM is read back in the member accounts; calls are counted by the
emulator.
"""

from __future__ import annotations

import json

from tests.emulated import calls, clear_calls, write_calls

WORKLOADS = ["Payments Dev", "Payments-Test", "Data Platform Dev", "Payments Prod", "Data Platform Prod"]
SANDBOX = ["Sandbox Alice", "Sandbox-Bob"]
UNTARGETED = ["Security", "Log-Archive", "Deployments", "Legacy App"]


def use_stacksets(ws, engine="stacksets", extra=""):
    settings = ws.catalog / "settings.yml"
    text = "\n".join(line for line in settings.read_text().splitlines() if not line.startswith("engine:"))
    settings.write_text(text + f"\nengine: {engine}\n" + extra)


def trusted_access(ws):
    ws.client("cloudformation").activate_organizations_access()


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
    cfn = ws.client("cloudformation")
    names = sorted(s["StackSetName"] for s in cfn.list_stack_sets(Status="ACTIVE")["Summaries"])
    assert {"orgiam-role-ReadOnly", "orgiam-role-SandboxAdmin", "orgiam-role-WorkloadDeployer"} <= set(names)
    second = ws.playbook()
    assert second.returncode == 0, second.output
    assert "changes: 0" in (ws.out / "summary.txt").read_text(), second.output

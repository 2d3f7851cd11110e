"""The bootstrap's live truth, end to end: what a person changes by hand in the roles the bootstrap deployed
(the organization reader in the management account, a deployer role that a StackSet instance made in a
member account) is found by `verify: live`, shown by `--check` (which writes nothing), put back by the apply,
and the next live check finds nothing.

Every change is made, and every result read back, through the IAM API of the account concerned."""

from __future__ import annotations

import json

import pytest

from emulator import stacksets
from tests.emulated import calls, clear_calls, write_calls
from tests.integration.test_bootstrap import (
    DEPLOYER,
    PIPELINE,
    READER,
    WITHOUT_PIPELINE,
    bootstrap,
    document,
    iam_of,
    result,
    settings_without_pipeline,
)

MEMBER = "Payments Prod"
OTHER_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "sts:AssumeRole"}]}
WIDER = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:*", "Resource": "*"}]}
ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"
LIVE = ("-e", "orgiam_verify=live")


@pytest.fixture
def ws(workspace):
    """The demo organization, whose StackSets deploy as AWS does, and a catalog with a pipeline section."""
    stacksets.install()
    settings = workspace.catalog / "settings.yml"
    settings.write_text(settings_without_pipeline(settings.read_text()) + PIPELINE)
    return workspace


def drift_of(ws) -> set[tuple[str, str, str, str]]:
    """(step, account, resource, property) of every drift bootstrap.json lists."""
    return {(step["key"], d["account_name"], d["name"], d["property"]) for step in result(ws)["steps"] for d in step["drift"]}


def test_hand_changes_to_the_bootstraps_roles_are_found_shown_put_back_and_then_gone(ws):
    assert bootstrap(ws, *WITHOUT_PIPELINE).returncode == 0
    management, member = iam_of(ws), iam_of(ws, MEMBER)
    reader_trust = document(management.get_role(RoleName=READER)["Role"]["AssumeRolePolicyDocument"])
    deploy_policy = document(member.get_role_policy(RoleName=DEPLOYER, PolicyName="orgiam-deploy")["PolicyDocument"])

    management.update_assume_role_policy(RoleName=READER, PolicyDocument=json.dumps(OTHER_TRUST))
    member.attach_role_policy(RoleName=DEPLOYER, PolicyArn=ADMIN)
    member.put_role_policy(RoleName=DEPLOYER, PolicyName="orgiam-deploy", PolicyDocument=json.dumps(WIDER))

    # the live check names each change, by account, resource and property, and writes nothing
    clear_calls(ws.endpoint)
    check = bootstrap(ws, "--check", *LIVE, *WITHOUT_PIPELINE)
    assert check.returncode == 0, check.output
    assert write_calls(calls(ws.endpoint)) == []
    found = drift_of(ws)
    assert found == {
        ("organization-reader", "Management", READER, "AssumeRolePolicyDocument"),
        ("deployer-stackset", MEMBER, DEPLOYER, "ManagedPolicyArns"),
        ("deployer-stackset", MEMBER, DEPLOYER, "Policies"),
    }, found
    steps = {s["key"]: s for s in result(ws)["steps"]}
    assert (steps["organization-reader"]["action"], steps["deployer-stackset"]["action"]) == ("repair", "repair")
    assert {d["account_id"] for d in steps["deployer-stackset"]["drift"]} == {ws.accounts[MEMBER]}
    assert f"{MEMBER} ({ws.accounts[MEMBER]}): ~ AWS::IAM::Role {DEPLOYER}: ManagedPolicyArns" in check.stdout
    assert f"AWS::IAM::Role {READER}: AssumeRolePolicyDocument" in check.stdout
    assert "verified live, changed by hand: 3" in check.stdout
    assert document(management.get_role(RoleName=READER)["Role"]["AssumeRolePolicyDocument"]) == OTHER_TRUST  # untouched

    # the apply puts both back, read through IAM in each account
    apply = bootstrap(ws, *LIVE, *WITHOUT_PIPELINE)
    assert apply.returncode == 0, apply.output
    assert document(management.get_role(RoleName=READER)["Role"]["AssumeRolePolicyDocument"]) == reader_trust
    assert member.list_attached_role_policies(RoleName=DEPLOYER)["AttachedPolicies"] == []
    assert member.list_role_policies(RoleName=DEPLOYER)["PolicyNames"] == ["orgiam-deploy"]
    assert document(member.get_role_policy(RoleName=DEPLOYER, PolicyName="orgiam-deploy")["PolicyDocument"]) == deploy_policy
    steps = {s["key"]: s for s in result(ws)["steps"]}
    assert (steps["organization-reader"]["status"], steps["deployer-stackset"]["status"]) == ("repaired", "repaired")
    assert any(line.startswith(f"{MEMBER} ({ws.accounts[MEMBER]}): iam:DetachRolePolicy {DEPLOYER}")
               for line in steps["deployer-stackset"]["repairs"]), steps["deployer-stackset"]["repairs"]

    # the next live check finds nothing, and writes nothing
    clear_calls(ws.endpoint)
    again = bootstrap(ws, "--check", *LIVE, *WITHOUT_PIPELINE)
    assert again.returncode == 0, again.output
    assert "changes: 0" in again.stdout and "changed by hand: 0" in again.stdout, again.stdout
    assert drift_of(ws) == set() and write_calls(calls(ws.endpoint)) == []

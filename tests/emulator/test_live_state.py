"""Live truth against the emulator: a hand change in what orgiam owns is read through IAM, found as drift
of exactly the property changed, put back by ``repair`` with direct IAM calls, and the stack can still be
updated through CloudFormation afterwards.

The organization is synced once per variant with the real playbook (``ws.playbook()``): ``demo`` (the
catalog as shipped), ``extended`` (plus a role ``Auditor`` in Log-Archive with every property a role can
have: inline, AWS managed and customer managed policies, a boundary, tags, a session duration) and
``saml`` (identity.yml in saml mode). Tests that need a variant get it; it is synced again only when the
previous test used another. Each test starts by checking that its account shows no drift, so that one
test's leftovers never pass for another's finding.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Callable
from typing import Any

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.apply.repair import RepairError, repair
from ansible_collections.orgiam.aws.plugins.module_utils.aws.iam_state import read_state
from ansible_collections.orgiam.aws.plugins.module_utils.plan.drift import Drift, compare, expected_state
from emulator import control
from emulator.organization import load_demo_spec, seed_organization
from tests.emulated import Workspace, make_workspace

MEMBER_STACK, CENTRAL_STACK = "orgiam-roles", "orgiam-identity"
READ_ONLY_ACCESS = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
MAX_VERSIONS = 5  # of a managed policy, in IAM
AUDITOR = """
name: Auditor
description: Reads audit trails.
managed_policies: [SecurityAudit]
inline_policies:
  read-trail:
    Version: "2012-10-17"
    Statement: [{Effect: Allow, Action: [cloudtrail:LookupEvents, cloudtrail:GetTrail], Resource: "*"}]
customer_managed_policies:
  logs:
    Version: "2012-10-17"
    Statement: [{Effect: Allow, Action: [logs:GetLogEvents, logs:FilterLogEvents], Resource: "*"}]
permissions_boundary: ReadOnlyAccess
max_session_duration: 7200
tags: {team: security}
targets:
  accounts: [Log-Archive]
"""
CERTIFICATE = "MIIC" + "A" * 1100  # IAM wants SAML metadata of 1,000 characters or more
METADATA = (
    '<?xml version="1.0"?>\n<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://{host}/adfs">'
    '<IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><KeyDescriptor use="signing">'
    '<KeyInfo xmlns="http://www.w3.org/2000/09/xmldsig#"><X509Data><X509Certificate>' + CERTIFICATE +
    '</X509Certificate></X509Data></KeyInfo></KeyDescriptor><SingleSignOnService '
    'Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://{host}/adfs/ls/"/></IDPSSODescriptor>'
    '</EntityDescriptor>\n'
)


# --- the deployed organization, per variant ------------------------------------------------------------


@dataclass
class Deployments:
    endpoint: str
    root: Path
    current: str = ""
    ws: Workspace | None = None
    touches: Counter = field(default_factory=Counter)
    changed: bool = False  # anything done since the sync (hand changes, stack updates)

    def get(self, variant: str, as_synced: bool = False) -> Workspace:
        """The organization synced with ``variant``; with ``as_synced``, exactly as the sync left it."""
        if self.current != variant or self.ws is None or (as_synced and self.changed):
            control.reset(self.endpoint)
            accounts = dict(seed_organization(self.endpoint, load_demo_spec())["accounts"])
            ws = make_workspace(self.root / f"{variant}-{uuid.uuid4().hex[:6]}", self.endpoint, accounts)
            if variant == "extended":
                ws.write_role("auditor.yml", AUDITOR)
            elif variant == "saml":
                (ws.catalog / "corp-adfs.xml").write_text(METADATA.format(host="adfs.corp.example"))
                (ws.catalog / "identity.yml").write_text(
                    "mode: saml\nsaml: {provider_name: corp-adfs, metadata_file: corp-adfs.xml}\n"
                    "groups:\n  - name: platform-engineers\n    grants: [{role: ReadOnly}, {role: SandboxAdmin}]\n")
            run = ws.playbook()
            assert run.returncode == 0, run.output[-4000:]
            self.current, self.ws, self.changed = variant, ws, False
        return self.ws


@pytest.fixture(scope="module")
def deployments(emulator, tmp_path_factory) -> Deployments:
    return Deployments(emulator.endpoint_url, tmp_path_factory.mktemp("live-state"))


@pytest.fixture
def demo(deployments) -> Workspace:
    return deployments.get("demo")


@pytest.fixture
def extended(deployments) -> Workspace:
    return deployments.get("extended")


@pytest.fixture
def saml(deployments) -> Workspace:
    return deployments.get("saml")


# --- one account's stack, read and compared ------------------------------------------------------------


class Account:
    """One account of a workspace and its orgiam stack: clients made once, the deployed template read afresh."""

    def __init__(self, ws: Workspace, name: str, stack: str) -> None:
        self.ws, self.name, self.stack = ws, name, stack
        self.id = ws.accounts[name]
        session = ws.session(name)
        self.iam = session.client("iam", endpoint_url=ws.endpoint)
        self.cloudformation = session.client("cloudformation", endpoint_url=ws.endpoint)
        self.secrets = session.client("secretsmanager", endpoint_url=ws.endpoint)

    def template(self) -> dict[str, Any]:
        body = self.cloudformation.get_template(StackName=self.stack)["TemplateBody"]
        return json.loads(body) if isinstance(body, str) else json.loads(json.dumps(body))

    def expected(self) -> dict[str, Any]:
        return expected_state(self.template(), self.id)

    def drifts(self) -> list[Drift]:
        template = self.template()
        return compare(expected_state(template, self.id), read_state(self.iam, template, self.id, secrets=self.secrets))

    def repair(self, drifts: list[Drift]) -> list[str]:
        return repair(self.iam, drifts, self.expected(), secrets=self.secrets)

    def update_touching(self, logical_ids: set[str], touches: Counter) -> None:
        """Update the stack through CloudFormation with a template that changes each of these resources in place
        (a tag, an inline policy or a statement id), then check that IAM is as the new template says."""
        template = self.template()
        for logical_id in sorted(logical_ids):
            resource = template["Resources"][logical_id]
            touches[logical_id] += 1
            mark = f"touch{touches[logical_id]}"
            props = resource["Properties"]
            if resource["Type"] in ("AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::SAMLProvider"):
                props["Tags"] = [t for t in props.get("Tags", []) if t["Key"] != "touched"] + [{"Key": "touched", "Value": mark}]
            elif resource["Type"] == "AWS::IAM::Group":
                props["Policies"] = [{"PolicyName": "touched", "PolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Sid": mark, "Effect": "Deny", "Action": "iam:DeleteAccountAlias", "Resource": "*"}]}}]
            elif resource["Type"] == "AWS::IAM::ManagedPolicy":
                props["PolicyDocument"]["Statement"][0]["Sid"] = mark
        self.cloudformation.update_stack(StackName=self.stack, TemplateBody=json.dumps(template),
                                         Capabilities=["CAPABILITY_NAMED_IAM"])
        status = self.cloudformation.describe_stacks(StackName=self.stack)["Stacks"][0]
        assert status["StackStatus"] == "UPDATE_COMPLETE", status.get("StackStatusReason")
        assert self.drifts() == []


def hand_change_round_trip(deployments: Deployments, account: Account, change: Callable[[Any], None],
                           expect: set[tuple[str, str]]) -> tuple[list[Drift], list[str]]:
    """Drift-free, then ``change`` (IAM calls by hand), then exactly ``expect`` ((name, property[key]) pairs)
    is found; repair puts it back (nothing found any more) and a CloudFormation update still succeeds."""
    assert account.drifts() == [], "the account was not clean before the hand change"
    deployments.changed = True
    change(account.iam)
    found = account.drifts()
    assert {(d.name, d.label) for d in found} == expect, [d.line() for d in found]
    lines = account.repair(found)
    assert lines and not any(line.startswith("!") for line in lines), lines
    assert account.drifts() == [], lines
    account.update_touching({d.logical_id for d in found}, deployments.touches)
    return found, lines


def document(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str) else value


# --- what a read costs ---------------------------------------------------------------------------------


def test_a_read_costs_three_calls_a_role_in_a_member_and_forty_for_the_demo_central_account(deployments):
    demo = deployments.get("demo", as_synced=True)
    member = Account(demo, "Payments Prod", MEMBER_STACK)
    central = Account(demo, "Security", CENTRAL_STACK)
    counts = {}
    for account in (member, central):
        template = account.template()
        control.clear_calls(demo.endpoint)
        read_state(account.iam, template, account.id)
        counts[account.name] = Counter(c["operation"] for c in control.calls(demo.endpoint)
                                       if c["account_id"] == account.id and c["service"] == "iam")
    # two roles, ReadOnly and WorkloadDeployer, neither with an inline policy
    assert counts["Payments Prod"] == {"GetRole": 2, "ListAttachedRolePolicies": 2, "ListRolePolicies": 2}
    # five groups, five managed policies (four assume policies and the self-service one), two users
    assert counts["Security"] == {
        "GetGroup": 5, "ListAttachedGroupPolicies": 5, "ListGroupPolicies": 5,
        "GetPolicy": 5, "GetPolicyVersion": 5, "ListEntitiesForPolicy": 5,
        "GetUser": 2, "ListAttachedUserPolicies": 2, "ListUserPolicies": 2, "GetLoginProfile": 2, "ListAccessKeys": 2,
    }
    assert sum(counts["Security"].values()) == 40


# --- member accounts: the trust roles -------------------------------------------------------------------


def test_trust_policy_opened_to_everyone_is_found_and_closed_again(deployments, demo):
    account = Account(demo, "Payments Prod", MEMBER_STACK)
    central_root = f"arn:aws:iam::{demo.accounts['Security']}:root"

    def open_to_everyone(iam: Any) -> None:
        trust = document(iam.get_role(RoleName="ReadOnly")["Role"]["AssumeRolePolicyDocument"])
        trust["Statement"][0]["Principal"] = {"AWS": "*"}
        iam.update_assume_role_policy(RoleName="ReadOnly", PolicyDocument=json.dumps(trust))

    found, lines = hand_change_round_trip(deployments, account, open_to_everyone, {("ReadOnly", "AssumeRolePolicyDocument")})
    (drift,) = found
    assert drift.line() == f'~ AWS::IAM::Role ReadOnly: AssumeRolePolicyDocument: {{"AWS": "*"}} -> {{"AWS": "{central_root}"}}'
    assert lines == ["iam:UpdateAssumeRolePolicy ReadOnly"]
    trust = document(account.iam.get_role(RoleName="ReadOnly")["Role"]["AssumeRolePolicyDocument"])
    assert trust["Statement"][0]["Principal"] == {"AWS": central_root}


def test_detached_managed_policy_is_attached_again(deployments, demo):
    account = Account(demo, "Payments Dev", MEMBER_STACK)
    found, lines = hand_change_round_trip(
        deployments, account, lambda iam: iam.detach_role_policy(RoleName="ReadOnly", PolicyArn=READ_ONLY_ACCESS),
        {("ReadOnly", "ManagedPolicyArns")})
    assert (found[0].before, found[0].after) == ([], [READ_ONLY_ACCESS])
    assert lines == [f"iam:AttachRolePolicy ReadOnly {READ_ONLY_ACCESS}"]
    attached = account.iam.list_attached_role_policies(RoleName="ReadOnly")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [READ_ONLY_ACCESS]


def test_extra_managed_policy_attached_by_hand_is_detached(deployments, demo):
    account = Account(demo, "Payments-Test", MEMBER_STACK)
    found, lines = hand_change_round_trip(
        deployments, account, lambda iam: iam.attach_role_policy(RoleName="ReadOnly", PolicyArn=ADMINISTRATOR_ACCESS),
        {("ReadOnly", "ManagedPolicyArns")})
    assert found[0].before == sorted([ADMINISTRATOR_ACCESS, READ_ONLY_ACCESS]) and found[0].after == [READ_ONLY_ACCESS]
    assert lines == [f"iam:DetachRolePolicy ReadOnly {ADMINISTRATOR_ACCESS}"]
    attached = account.iam.list_attached_role_policies(RoleName="ReadOnly")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [READ_ONLY_ACCESS]


def test_inline_policy_added_by_hand_is_deleted(deployments, demo):
    account = Account(demo, "Data Platform Dev", MEMBER_STACK)
    backdoor = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    found, lines = hand_change_round_trip(
        deployments, account,
        lambda iam: iam.put_role_policy(RoleName="ReadOnly", PolicyName="backdoor", PolicyDocument=json.dumps(backdoor)),
        {("ReadOnly", "Policies[backdoor]")})
    assert found[0].before == backdoor and found[0].after is None
    assert found[0].line().startswith("- AWS::IAM::Role ReadOnly: Policies[backdoor]: ")
    assert lines == ["iam:DeleteRolePolicy ReadOnly backdoor"]
    assert account.iam.list_role_policies(RoleName="ReadOnly")["PolicyNames"] == []


def test_max_session_duration_and_description_changed_by_hand_are_set_back(deployments, demo):
    account = Account(demo, "Data Platform Prod", MEMBER_STACK)
    before = account.iam.get_role(RoleName="ReadOnly")["Role"]

    def lengthen(iam: Any) -> None:
        iam.update_role(RoleName="ReadOnly", MaxSessionDuration=43200, Description="anything goes")

    _, lines = hand_change_round_trip(deployments, account, lengthen,
                                          {("ReadOnly", "MaxSessionDuration"), ("ReadOnly", "Description")})
    assert lines == ["iam:UpdateRole ReadOnly MaxSessionDuration=3600"]
    role = account.iam.get_role(RoleName="ReadOnly")["Role"]
    assert (role["MaxSessionDuration"], role["Description"]) == (3600, before["Description"])


def test_tags_removed_changed_or_added_by_hand_are_set_back(deployments, demo):
    account = Account(demo, "Sandbox Alice", MEMBER_STACK)

    def retag(iam: Any) -> None:
        iam.untag_role(RoleName="SandboxAdmin", TagKeys=["orgiam:managed-by"])
        iam.tag_role(RoleName="SandboxAdmin", Tags=[{"Key": "access-level", "Value": "admin"}])

    _, lines = hand_change_round_trip(
        deployments, account, retag,
        {("SandboxAdmin", "Tags[orgiam:managed-by]"), ("SandboxAdmin", "Tags[access-level]")})
    assert lines == ["iam:TagRole SandboxAdmin orgiam:managed-by", "iam:UntagRole SandboxAdmin access-level"]
    tags = {t["Key"]: t["Value"] for t in account.iam.get_role(RoleName="SandboxAdmin")["Role"]["Tags"]}
    assert tags["orgiam:managed-by"] == "orgiam" and "access-level" not in tags

    hand_change_round_trip(
        deployments, account,
        lambda iam: iam.tag_role(RoleName="SandboxAdmin", Tags=[{"Key": "orgiam:managed-by", "Value": "someone"}]),
        {("SandboxAdmin", "Tags[orgiam:managed-by]")})


def test_permissions_boundary_set_by_hand_is_removed(deployments, demo):
    account = Account(demo, "Sandbox-Bob", MEMBER_STACK)
    _, lines = hand_change_round_trip(
        deployments, account,
        lambda iam: iam.put_role_permissions_boundary(RoleName="SandboxAdmin", PermissionsBoundary=READ_ONLY_ACCESS),
        {("SandboxAdmin", "PermissionsBoundary")})
    assert lines == [f"iam:DeleteRolePermissionsBoundary SandboxAdmin {READ_ONLY_ACCESS}"]
    assert "PermissionsBoundary" not in account.iam.get_role(RoleName="SandboxAdmin")["Role"]


# --- the central account: groups, users, their policies ---------------------------------------------------


def test_group_assume_policy_detached_by_hand_is_attached_again(deployments, demo):
    account = Account(demo, "Security", CENTRAL_STACK)
    arn = f"arn:aws:iam::{account.id}:policy/orgiam/platform-engineers-assume-1"
    _, lines = hand_change_round_trip(
        deployments, account, lambda iam: iam.detach_group_policy(GroupName="platform-engineers", PolicyArn=arn),
        {("platform-engineers-assume-1", "Groups")})
    assert lines == [f"iam:AttachGroupPolicy platform-engineers {arn}"]
    attached = account.iam.list_attached_group_policies(GroupName="platform-engineers")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == [arn]


def test_group_assume_policy_widened_by_hand_is_narrowed_again(deployments, demo):
    account = Account(demo, "Security", CENTRAL_STACK)
    arn = f"arn:aws:iam::{account.id}:policy/orgiam/orgiam-ReadOnly-Workloads-assume-1"
    anywhere = {"Version": "2012-10-17", "Statement": [{"Sid": "AssumeOrgiamRole", "Effect": "Allow", "Action": "sts:AssumeRole",
                                                        "Resource": "*"}]}
    found, lines = hand_change_round_trip(
        deployments, account,
        lambda iam: iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(anywhere), SetAsDefault=True),
        {("orgiam-ReadOnly-Workloads-assume-1", "PolicyDocument")})
    assert lines == ["iam:ListPolicyVersions orgiam-ReadOnly-Workloads-assume-1",
                     "iam:CreatePolicyVersion orgiam-ReadOnly-Workloads-assume-1 as default"]
    assert '"Resource": "*"' in found[0].line()


def test_managed_policy_and_inline_policy_added_to_a_group_by_hand_are_removed(deployments, demo):
    account = Account(demo, "Security", CENTRAL_STACK)

    def widen(iam: Any) -> None:
        iam.attach_group_policy(GroupName="orgiam-users", PolicyArn=ADMINISTRATOR_ACCESS)
        iam.put_group_policy(GroupName="orgiam-users", PolicyName="extra", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))

    _, lines = hand_change_round_trip(deployments, account, widen,
                                          {("orgiam-users", "ManagedPolicyArns"), ("orgiam-users", "Policies[extra]")})
    assert sorted(lines) == sorted([f"iam:DetachGroupPolicy orgiam-users {ADMINISTRATOR_ACCESS}",
                                    "iam:DeleteGroupPolicy orgiam-users extra"])


def test_users_added_to_an_orgiam_group_by_hand_are_removed_and_removed_ones_put_back(deployments, demo):
    account = Account(demo, "Security", CENTRAL_STACK)

    def regroup(iam: Any) -> None:
        iam.create_user(UserName="mallory")  # not orgiam's: only her membership is taken back
        iam.add_user_to_group(GroupName="platform-engineers", UserName="mallory")
        iam.add_user_to_group(GroupName="platform-engineers", UserName="bob.payments")
        iam.remove_user_from_group(GroupName="payments-prod-readers", UserName="bob.payments")

    _, lines = hand_change_round_trip(deployments, account, regroup,
                                          {("platform-engineers", "Members"), ("payments-prod-readers", "Members")})
    assert sorted(lines) == sorted(["iam:RemoveUserFromGroup platform-engineers bob.payments",
                                    "iam:RemoveUserFromGroup platform-engineers mallory",
                                    "iam:AddUserToGroup payments-prod-readers bob.payments"])
    members = account.iam.get_group(GroupName="platform-engineers")["Users"]
    assert [u["UserName"] for u in members] == ["alice.platform"]
    assert account.iam.get_user(UserName="mallory")["User"]["UserName"] == "mallory"  # not orgiam's to delete


def test_access_key_and_login_profile_nobody_asked_for_are_deleted(deployments, demo):
    account = Account(demo, "Security", CENTRAL_STACK)
    keys: list[str] = []

    def give_credentials(iam: Any) -> None:
        keys.append(iam.create_access_key(UserName="alice.platform")["AccessKey"]["AccessKeyId"])
        iam.create_login_profile(UserName="bob.payments", Password="Hand-made-1234!")

    _, lines = hand_change_round_trip(deployments, account, give_credentials,
                                          {("alice.platform", "AccessKeys"), ("bob.payments", "LoginProfile")})
    assert sorted(lines) == sorted([f"iam:DeleteAccessKey alice.platform {keys[0]}", "iam:DeleteLoginProfile bob.payments"])
    assert account.iam.list_access_keys(UserName="alice.platform")["AccessKeyMetadata"] == []
    with pytest.raises(account.iam.exceptions.NoSuchEntityException):
        account.iam.get_login_profile(UserName="bob.payments")


def test_login_profile_deleted_by_hand_is_made_again_from_the_first_password(deployments, demo):
    account = Account(demo, "Security", CENTRAL_STACK)
    _, lines = hand_change_round_trip(deployments, account,
                                          lambda iam: iam.delete_login_profile(UserName="alice.platform"),
                                          {("alice.platform", "LoginProfile")})
    assert lines == ["secretsmanager:GetSecretValue orgiam/console-password/alice.platform",
                     "iam:CreateLoginProfile alice.platform password reset required"]
    profile = account.iam.get_login_profile(UserName="alice.platform")["LoginProfile"]
    assert profile["PasswordResetRequired"] is True
    secret = account.secrets.get_secret_value(SecretId="orgiam/console-password/alice.platform")["SecretString"]
    assert all(secret not in line for line in lines)


def test_group_deleted_by_hand_is_made_again_with_members_and_policies(deployments, demo):
    account = Account(demo, "Security", CENTRAL_STACK)
    arn = f"arn:aws:iam::{account.id}:policy/orgiam/platform-engineers-assume-1"

    def delete_group(iam: Any) -> None:
        for user in iam.get_group(GroupName="platform-engineers")["Users"]:
            iam.remove_user_from_group(GroupName="platform-engineers", UserName=user["UserName"])
        iam.detach_group_policy(GroupName="platform-engineers", PolicyArn=arn)
        iam.delete_group(GroupName="platform-engineers")

    _, lines = hand_change_round_trip(deployments, account, delete_group,
                                          {("platform-engineers", ""), ("platform-engineers-assume-1", "Groups")})
    # (an earlier test's stack update may have given the group an inline policy "touched": it is put back too)
    assert [line for line in lines if not line.endswith(" touched")] == [
        "iam:CreateGroup platform-engineers /orgiam/", f"iam:AttachGroupPolicy platform-engineers {arn}",
        "iam:AddUserToGroup platform-engineers alice.platform"]
    group = account.iam.get_group(GroupName="platform-engineers")
    assert group["Group"]["Path"] == "/orgiam/" and [u["UserName"] for u in group["Users"]] == ["alice.platform"]


def test_user_deleted_by_hand_is_made_again_in_its_groups(deployments, demo):
    account = Account(demo, "Security", CENTRAL_STACK)

    def delete_user(iam: Any) -> None:
        for group in iam.list_groups_for_user(UserName="alice.platform")["Groups"]:
            iam.remove_user_from_group(GroupName=group["GroupName"], UserName="alice.platform")
        iam.delete_login_profile(UserName="alice.platform")
        iam.delete_user(UserName="alice.platform")

    _, lines = hand_change_round_trip(
        deployments, account, delete_user,
        {("alice.platform", ""), ("platform-engineers", "Members"), ("orgiam-users", "Members")})
    assert lines[:3] == ["iam:CreateUser alice.platform /orgiam/",
                         "secretsmanager:GetSecretValue orgiam/console-password/alice.platform",
                         "iam:CreateLoginProfile alice.platform password reset required"]
    groups = account.iam.list_groups_for_user(UserName="alice.platform")["Groups"]
    assert sorted(g["GroupName"] for g in groups) == ["orgiam-users", "platform-engineers"]


def test_assume_policy_attached_to_a_foreign_user_by_hand_is_detached(deployments, demo):
    account = Account(demo, "Security", CENTRAL_STACK)
    arn = f"arn:aws:iam::{account.id}:policy/orgiam/platform-engineers-assume-1"

    def grant(iam: Any) -> None:
        iam.create_user(UserName="eve")
        iam.attach_user_policy(UserName="eve", PolicyArn=arn)

    _, lines = hand_change_round_trip(deployments, account, grant, {("platform-engineers-assume-1", "Users")})
    assert lines == [f"iam:DetachUserPolicy eve {arn}"]
    assert account.iam.list_attached_user_policies(UserName="eve")["AttachedPolicies"] == []


def test_a_repair_call_that_fails_says_which_and_keeps_the_calls_made_before(deployments, demo):
    account = Account(demo, "Security", CENTRAL_STACK)
    expected = account.expected()
    group = next(lid for lid, e in expected.items() if e["Name"] == "payments-prod-readers")
    drifts = [Drift(group, "AWS::IAM::Group", "payments-prod-readers", "Members", [], ["bob.payments", "nobody"])]
    with pytest.raises(RepairError) as raised:
        repair(account.iam, drifts, expected)
    assert raised.value.code == "NoSuchEntity"
    assert str(raised.value).startswith("iam:AddUserToGroup payments-prod-readers: NoSuchEntity")
    assert raised.value.lines == ["iam:AddUserToGroup payments-prod-readers bob.payments"]
    assert account.drifts() == []  # bob was in the group already: adding him again changed nothing


# --- a role with everything: inline, AWS and customer managed policies, boundary, tags ----------------


def test_permissions_boundary_removed_by_hand_is_put_back(deployments, extended):
    account = Account(extended, "Log-Archive", MEMBER_STACK)
    _, lines = hand_change_round_trip(
        deployments, account, lambda iam: iam.delete_role_permissions_boundary(RoleName="Auditor"),
        {("Auditor", "PermissionsBoundary")})
    assert lines == [f"iam:PutRolePermissionsBoundary Auditor {READ_ONLY_ACCESS}"]
    role = account.iam.get_role(RoleName="Auditor")["Role"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == READ_ONLY_ACCESS


def test_inline_policy_changed_or_deleted_by_hand_is_put_back(deployments, extended):
    account = Account(extended, "Log-Archive", MEMBER_STACK)
    wider = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "cloudtrail:*", "Resource": "*"}]}
    hand_change_round_trip(
        deployments, account,
        lambda iam: iam.put_role_policy(RoleName="Auditor", PolicyName="read-trail", PolicyDocument=json.dumps(wider)),
        {("Auditor", "Policies[read-trail]")})
    found, lines = hand_change_round_trip(
        deployments, account, lambda iam: iam.delete_role_policy(RoleName="Auditor", PolicyName="read-trail"),
        {("Auditor", "Policies[read-trail]")})
    assert found[0].before is None and lines == ["iam:PutRolePolicy Auditor read-trail"]
    put_back = document(account.iam.get_role_policy(RoleName="Auditor", PolicyName="read-trail")["PolicyDocument"])
    assert sorted(put_back["Statement"][0]["Action"]) == ["cloudtrail:GetTrail", "cloudtrail:LookupEvents"]


def test_customer_managed_policy_document_changed_by_hand_gets_a_new_default_version(deployments, extended):
    account = Account(extended, "Log-Archive", MEMBER_STACK)
    arn = f"arn:aws:iam::{account.id}:policy/orgiam/Auditor-logs"
    everything = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]}

    def fill_up_versions(iam: Any) -> None:  # four versions by hand: five in all, the last one the default
        for _ in range(MAX_VERSIONS - len(iam.list_policy_versions(PolicyArn=arn)["Versions"])):
            iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(everything), SetAsDefault=True)

    found, lines = hand_change_round_trip(deployments, account, fill_up_versions, {("Auditor-logs", "PolicyDocument")})
    assert found[0].before == everything
    oldest = lines[1].split()[-1]
    assert lines == ["iam:ListPolicyVersions Auditor-logs", f"iam:DeletePolicyVersion Auditor-logs {oldest}",
                     "iam:CreatePolicyVersion Auditor-logs as default"]
    policy = account.iam.get_policy(PolicyArn=arn)["Policy"]
    default = account.iam.get_policy_version(PolicyArn=arn, VersionId=policy["DefaultVersionId"])["PolicyVersion"]
    assert document(default["Document"])["Statement"][0]["Action"] != "logs:*"



def test_customer_managed_policy_detached_by_hand_is_attached_again(deployments, extended):
    account = Account(extended, "Log-Archive", MEMBER_STACK)
    arn = f"arn:aws:iam::{account.id}:policy/orgiam/Auditor-logs"
    _, lines = hand_change_round_trip(
        deployments, account, lambda iam: iam.detach_role_policy(RoleName="Auditor", PolicyArn=arn),
        {("Auditor-logs", "Roles")})
    assert lines == [f"iam:AttachRolePolicy Auditor {arn}"]


def test_role_recreated_by_hand_under_another_path_is_replaced(deployments, extended):
    account = Account(extended, "Log-Archive", MEMBER_STACK)

    def move(iam: Any) -> None:  # IAM cannot change a role's path: only delete and create again
        role = iam.get_role(RoleName="Auditor")["Role"]
        _delete_role(iam, "Auditor")
        iam.create_role(RoleName="Auditor", Path="/elsewhere/", AssumeRolePolicyDocument=json.dumps(
            document(role["AssumeRolePolicyDocument"])), MaxSessionDuration=7200, Description=role["Description"],
            PermissionsBoundary=READ_ONLY_ACCESS, Tags=role["Tags"])
        iam.attach_role_policy(RoleName="Auditor", PolicyArn="arn:aws:iam::aws:policy/SecurityAudit")
        iam.attach_role_policy(RoleName="Auditor", PolicyArn=f"arn:aws:iam::{account.id}:policy/orgiam/Auditor-logs")
        iam.put_role_policy(RoleName="Auditor", PolicyName="read-trail", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["cloudtrail:LookupEvents",
                                                                                     "cloudtrail:GetTrail"], "Resource": "*"}]}))

    _, lines = hand_change_round_trip(deployments, account, move, {("Auditor", "Path")})
    assert "iam:DeleteRole Auditor /elsewhere/" in lines and "iam:CreateRole Auditor /orgiam/" in lines
    assert account.iam.get_role(RoleName="Auditor")["Role"]["Path"] == "/orgiam/"


def test_role_deleted_by_hand_is_made_again_with_everything_it_had(deployments, extended):
    account = Account(extended, "Log-Archive", MEMBER_STACK)
    arn = f"arn:aws:iam::{account.id}:policy/orgiam/Auditor-logs"
    found, lines = hand_change_round_trip(deployments, account, lambda iam: _delete_role(iam, "Auditor"),
                                          {("Auditor", ""), ("Auditor-logs", "Roles")})
    assert [d.line() for d in found if d.missing] == ["+ AWS::IAM::Role Auditor: missing (deleted by hand); re-create it"]
    assert lines == [
        "iam:CreateRole Auditor /orgiam/",
        "iam:AttachRolePolicy Auditor arn:aws:iam::aws:policy/SecurityAudit",
        "iam:PutRolePolicy Auditor read-trail",
        f"iam:AttachRolePolicy Auditor {arn}",
    ]
    role = account.iam.get_role(RoleName="Auditor")["Role"]
    assert (role["Path"], role["MaxSessionDuration"]) == ("/orgiam/", 7200)
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == READ_ONLY_ACCESS
    assert {t["Key"]: t["Value"] for t in role["Tags"]}["team"] == "security"


def _delete_role(iam: Any, name: str) -> None:
    """As a person deletes a role: its policies first, as IAM requires."""
    for policy in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=name, PolicyArn=policy["PolicyArn"])
    for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
        iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
    iam.delete_role(RoleName=name)


# --- saml mode: the provider and the federated roles ---------------------------------------------------


def test_saml_metadata_changed_by_hand_is_put_back(deployments, saml):
    account = Account(saml, "Security", CENTRAL_STACK)
    arn = f"arn:aws:iam::{account.id}:saml-provider/corp-adfs"
    found, lines = hand_change_round_trip(
        deployments, account,
        lambda iam: iam.update_saml_provider(SAMLProviderArn=arn, SAMLMetadataDocument=METADATA.format(host="evil.example")),
        {("corp-adfs", "SamlMetadataDocument")})
    assert lines == ["iam:UpdateSAMLProvider corp-adfs"]
    metadata = account.iam.get_saml_provider(SAMLProviderArn=arn)["SAMLMetadataDocument"]
    assert "adfs.corp.example" in metadata and "evil.example" not in metadata
    assert "characters, sha256" in found[0].line()


def test_federated_role_changed_by_hand_is_put_back(deployments, saml):
    account = Account(saml, "Security", CENTRAL_STACK)

    def widen(iam: Any) -> None:
        trust = document(iam.get_role(RoleName="platform-engineers")["Role"]["AssumeRolePolicyDocument"])
        trust["Statement"][0]["Condition"] = {}
        iam.update_assume_role_policy(RoleName="platform-engineers", PolicyDocument=json.dumps(trust))
        iam.attach_role_policy(RoleName="platform-engineers", PolicyArn=ADMINISTRATOR_ACCESS)
        iam.update_role(RoleName="platform-engineers", MaxSessionDuration=43200)

    _, lines = hand_change_round_trip(
        deployments, account, widen,
        {("platform-engineers", "AssumeRolePolicyDocument"), ("platform-engineers", "ManagedPolicyArns"),
         ("platform-engineers", "MaxSessionDuration")})
    assert lines == [f"iam:DetachRolePolicy platform-engineers {ADMINISTRATOR_ACCESS}",
                     "iam:UpdateAssumeRolePolicy platform-engineers",
                     "iam:UpdateRole platform-engineers MaxSessionDuration=3600"]
    role = account.iam.get_role(RoleName="platform-engineers")["Role"]
    trust = document(role["AssumeRolePolicyDocument"])
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
    assert role["MaxSessionDuration"] == 3600 and role["Description"].startswith("orgiam: people of")


def test_emulator_update_role_changes_only_what_it_names(saml):
    """moto 5.2.5 cleared the description of an UpdateRole that named only the session duration (and the other
    way round); emulator/cfn_iam/iam_api.py makes it keep what the call does not name, as AWS does."""
    iam = Account(saml, "Deployments", MEMBER_STACK).iam
    iam.create_role(RoleName="probe", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": []}),
                    Description="kept", MaxSessionDuration=7200)
    try:
        iam.update_role(RoleName="probe", MaxSessionDuration=10800)
        role = iam.get_role(RoleName="probe")["Role"]
        assert (role["Description"], role["MaxSessionDuration"]) == ("kept", 10800)
        iam.update_role(RoleName="probe", Description="new")
        role = iam.get_role(RoleName="probe")["Role"]
        assert (role["Description"], role["MaxSessionDuration"]) == ("new", 10800)
    finally:
        iam.delete_role(RoleName="probe")


def test_saml_provider_and_federated_role_deleted_by_hand_are_made_again(deployments, saml):
    account = Account(saml, "Security", CENTRAL_STACK)
    provider = f"arn:aws:iam::{account.id}:saml-provider/corp-adfs"

    def delete(iam: Any) -> None:
        _delete_role(iam, "orgiam-ReadOnly-Workloads")
        iam.delete_saml_provider(SAMLProviderArn=provider)

    _, lines = hand_change_round_trip(
        deployments, account, delete,
        {("corp-adfs", ""), ("orgiam-ReadOnly-Workloads", ""), ("orgiam-ReadOnly-Workloads-assume-1", "Roles")})
    assert lines[:2] == ["iam:CreateSAMLProvider corp-adfs", "iam:CreateRole orgiam-ReadOnly-Workloads /orgiam/federated/"]
    trust = document(account.iam.get_role(RoleName="orgiam-ReadOnly-Workloads")["Role"]["AssumeRolePolicyDocument"])
    assert trust["Statement"][0]["Principal"] == {"Federated": provider}


# --- a real sync after a repair --------------------------------------------------------------------------


def test_a_sync_after_a_repair_updates_the_repaired_role(deployments, saml):
    account = Account(saml, "Payments Dev", MEMBER_STACK)
    assert account.drifts() == []
    deployments.changed = True
    _delete_role(account.iam, "ReadOnly")
    found = account.drifts()
    assert [(d.name, d.property) for d in found] == [("ReadOnly", "")]
    account.repair(found)
    saml.write_role("readonly.yml", (Path(__file__).resolve().parents[2] / "roles_catalog" / "roles" / "readonly.yml")
                    .read_text().replace("description: Read-only access", "description: Read access"))
    run = saml.playbook()
    assert run.returncode == 0, run.output[-4000:]
    assert account.iam.get_role(RoleName="ReadOnly")["Role"]["Description"].startswith("Read access")
    for name, stack in [(n, MEMBER_STACK) for n in ("Payments Dev", "Payments Prod", "Sandbox Alice")] + [("Security", CENTRAL_STACK)]:
        assert Account(saml, name, stack).drifts() == [], name

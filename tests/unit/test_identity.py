"""Central identity: default and explicit groups, scoped grants, users, self-service, SAML, and their errors."""

import json
import textwrap

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import CatalogError, load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.resolve import Account, group_grants
from ansible_collections.orgiam.aws.plugins.module_utils.render.central import central_template
from ansible_collections.orgiam.aws.plugins.module_utils.render.member import member_template

ROLES = {
    "ro.yml": "name: ReadOnly\nmanaged_policies: [ReadOnlyAccess]\ntargets:\n  ou_paths: [Workloads/Prod, {path: Workloads/SDLC, recursive: false}]\n  accounts: [Security]\n",
    "admin.yml": "name: Admin\nmanaged_policies: [AdministratorAccess]\ntargets: {ou_paths: [Sandbox]}\n",
}
METADATA = ('<?xml version="1.0"?><EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example/x">'
            "<X509Certificate>" + "A" * 1100 + "</X509Certificate></EntityDescriptor>")


def catalog(tmp_path, identity=None, roles=ROLES):
    (tmp_path / "roles").mkdir()
    (tmp_path / "settings.yml").write_text("central_account: Security\n")
    for name, text in roles.items():
        (tmp_path / "roles" / name).write_text(text)
    if identity is not None:
        (tmp_path / "identity.yml").write_text(textwrap.dedent(identity))
    (tmp_path / "idp.xml").write_text(METADATA)
    return str(tmp_path)


def problems(path):
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    return str(info.value)


ACCOUNTS = {
    "000000000003": Account("000000000003", "Payments Dev", "Workloads/SDLC"),
    "000000000004": Account("000000000004", "Payments Prod", "Workloads/Prod"),
    "000000000007": Account("000000000007", "Deep Prod", "Workloads/Prod/Deep"),
    "000000000008": Account("000000000008", "Deep Dev", "Workloads/SDLC/Deep"),
    "000000000002": Account("000000000002", "Security", "Security"),
}


def arn(account, role="ReadOnly"):
    return f"arn:aws:iam::{account}:role/orgiam/{role}"


def test_default_groups_one_per_role_and_scope(tmp_path):
    cat = load_catalog(catalog(tmp_path))
    names = sorted(g.name for g in cat.identity.groups)
    assert names == ["orgiam-Admin-Sandbox", "orgiam-ReadOnly-Security", "orgiam-ReadOnly-Workloads-Prod", "orgiam-ReadOnly-Workloads-SDLC"]
    deployed = {"ReadOnly": [arn(a) for a in ACCOUNTS]}
    grants = group_grants(cat.identity, deployed, ACCOUNTS)
    assert grants["orgiam-ReadOnly-Workloads-Prod"] == [arn("000000000004"), arn("000000000007")]
    assert grants["orgiam-ReadOnly-Workloads-SDLC"] == [arn("000000000003")]  # recursive: false
    assert grants["orgiam-ReadOnly-Security"] == [arn("000000000002")]
    assert grants["orgiam-Admin-Sandbox"] == []


def test_explicit_groups_users_and_self_service(tmp_path):
    cat = load_catalog(catalog(tmp_path, """
        default_groups: false
        groups:
          - name: platform
            grants:
              - {role: ReadOnly}
              - {role: Admin, scope: {ou_paths: [Sandbox]}}
          - name: prod-readers
            grants: [{role: ReadOnly, scope: {ou_paths: [Workloads/Prod]}}]
        users:
          - {name: alice, groups: [platform], console: reset_on_first_login, tags: {team: platform}}
          - {name: bob, groups: [prod-readers]}
    """))
    deployed = {"ReadOnly": [arn(a) for a in ACCOUNTS]}
    grants = group_grants(cat.identity, deployed, ACCOUNTS)
    assert grants["platform"] == sorted(arn(a) for a in ACCOUNTS)
    assert grants["prod-readers"] == [arn("000000000004"), arn("000000000007")]
    template = central_template(grants, deployed, cat.identity, "orgiam", "/orgiam/")
    resources = template["Resources"].values()
    users = {r["Properties"]["UserName"]: r["Properties"] for r in resources if r["Type"] == "AWS::IAM::User"}
    assert set(users) == {"alice", "bob"}
    assert "LoginProfile" in users["alice"] and users["alice"]["LoginProfile"]["PasswordResetRequired"] is True
    assert "{{resolve:secretsmanager:" in json.dumps(users["alice"]["LoginProfile"])  # generated, never in the repository
    assert "LoginProfile" not in users["bob"]
    assert not any(r["Type"] == "AWS::IAM::AccessKey" for r in resources)
    self_service = next(r for r in resources if r["Properties"].get("ManagedPolicyName") == "orgiam-self-service")
    deny = self_service["Properties"]["PolicyDocument"]["Statement"][-1]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert "user/orgiam/${!aws:username}" in json.dumps(self_service)


def test_identity_errors_name_file_line_and_fix(tmp_path):
    text = problems(catalog(tmp_path, """
        groups:
          - name: ops
            grants: [{role: Nope}]
        users:
          - {name: carol, groups: [nobody]}
          - {name: carol}
        shoe_size: 42
    """))
    assert "identity.yml:8" in text and "unknown key 'shoe_size'" in text


def test_identity_semantic_errors(tmp_path):
    text = problems(catalog(tmp_path, """
        groups:
          - name: ops
            grants: [{role: Nope}]
        users:
          - {name: carol, groups: [nobody]}
          - {name: carol}
    """))
    assert "identity.yml:4" in text and "grants role 'Nope'" in text and "known roles: Admin, ReadOnly" in text
    assert "identity.yml:6" in text and "group 'nobody', which does not exist" in text
    assert "user 'carol' is listed twice" in text


def test_a_role_removed_from_the_catalog_takes_its_default_group_with_it(tmp_path):
    cat = load_catalog(catalog(tmp_path, roles={"ro.yml": ROLES["ro.yml"]}))
    assert not any("Admin" in g.name for g in cat.identity.groups)


def test_saml_mode_makes_federated_roles_and_member_trust_follows(tmp_path):
    cat = load_catalog(catalog(tmp_path, """
        mode: saml
        saml: {provider_name: corp-ad, metadata_file: idp.xml}
    """))
    deployed = {"ReadOnly": [arn("000000000004")]}
    template = central_template(group_grants(cat.identity, deployed, ACCOUNTS), deployed, cat.identity, "orgiam", "/orgiam/")
    types = sorted({r["Type"] for r in template["Resources"].values()})
    assert types == ["AWS::IAM::ManagedPolicy", "AWS::IAM::Role", "AWS::IAM::SAMLProvider"]
    role = next(r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role")["Properties"]
    assert role["Path"] == "/orgiam/federated/"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRoleWithSAML"
    member = member_template([cat.role("ReadOnly")], "222222222222", "000000000004", mode="saml")
    trust = next(iter(member["Resources"].values()))["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    assert trust["Condition"] == {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::222222222222:role/orgiam/federated/*"}}


def test_saml_mode_needs_metadata_and_refuses_users(tmp_path):
    text = problems(catalog(tmp_path, """
        mode: saml
        saml: {provider_name: corp-ad, metadata_file: missing.xml}
        users: [{name: dave}]
    """))
    assert "missing.xml" in text and "cannot be read" in text and "users are not created in saml mode" in text


def test_saml_metadata_must_be_long_enough_for_iam(tmp_path):
    path = catalog(tmp_path, "mode: saml\nsaml: {provider_name: corp-ad, metadata_file: short.xml}\n")
    (tmp_path / "short.xml").write_text('<EntityDescriptor entityID="x"/>')
    assert "IAM takes 1000 to" in problems(path)

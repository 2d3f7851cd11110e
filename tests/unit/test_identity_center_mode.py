"""identity_center mode without AWS: the catalog's rules, the permission sets and assignments rendered, and who gains
or loses what between two templates (plan/access.py)."""

import json

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.plan.access import (
    access_changes, central_access, change_lines, identity_center_access)
from ansible_collections.orgiam.aws.plugins.module_utils.render.central import central_template
from ansible_collections.orgiam.aws.plugins.module_utils.render.common import TemplateError
from ansible_collections.orgiam.aws.plugins.module_utils.render.identity_center import (
    access_of, identity_center_template, permission_set, session_duration)
from ansible_collections.orgiam.aws.plugins.module_utils.resolve import Account, resolve
from ansible_collections.orgiam.aws.plugins.module_utils.usecases.identity_center import assignments

from .test_identity import ROLES, catalog, problems

INSTANCE = "arn:aws:sso:::instance/ssoins-0123456789abcdef"
CENTER = """\
mode: identity_center
groups:
  - name: engineers
    grants: [{role: ReadOnly}, {role: Admin}]
  - name: prod-readers
    grants: [{role: ReadOnly, scope: {ou_paths: [Workloads/Prod]}}]
"""
ORG = [
    Account("000000000001", "Management", "", is_management=True),
    Account("000000000002", "Security", "Security"),
    Account("000000000003", "Payments Dev", "Workloads/SDLC"),
    Account("000000000004", "Payments Prod", "Workloads/Prod"),
    Account("000000000005", "Sandbox 1", "Sandbox"),
    Account("000000000006", "Closed", "Sandbox", status="SUSPENDED"),
]


def test_session_duration_is_iso_8601():
    assert [session_duration(s) for s in (3600, 5400, 14400, 43200, 1800)] == ["PT1H", "PT1H30M", "PT4H", "PT12H", "PT30M"]


def test_catalog_refuses_what_identity_center_cannot_take(tmp_path):
    text = problems(catalog(tmp_path, CENTER + "users:\n  - name: alice\n    groups: [engineers]\ndefault_groups: true\n"))
    assert "users are not created in identity_center mode" in text and "keep_iam_users" in text
    assert "default_groups: true makes IAM groups" in text


def test_a_role_name_over_32_characters_cannot_be_a_permission_set(tmp_path):
    long_name = "ReadOnlyForEveryWorkloadAccountOfProd"
    roles = {"ro.yml": f"name: {long_name}\nmanaged_policies: [ReadOnlyAccess]\ntargets: {{ou_paths: [Workloads]}}\n"}
    text = problems(catalog(tmp_path, "mode: identity_center\ngroups:\n  - name: g\n    grants: [{role: %s}]\n" % long_name, roles))
    assert "ro.yml" in text and "at most 32" in text


def test_keep_iam_users_keeps_the_iam_side_and_its_default_groups(tmp_path):
    cat = load_catalog(catalog(tmp_path, CENTER + "identity_center: {keep_iam_users: true}\nusers:\n  - name: alice\n    groups: [engineers]\n"))
    assert cat.identity.iam_mode == "iam_users" and cat.identity.uses_identity_center
    assert any(g.default for g in cat.identity.groups)
    (tmp_path / "plain").mkdir()
    plain = load_catalog(catalog(tmp_path / "plain", CENTER))
    assert plain.identity.iam_mode == "" and not any(g.default for g in plain.identity.groups)


def test_assignments_follow_the_roles_targets_and_the_grants_scopes(tmp_path):
    cat = load_catalog(catalog(tmp_path, CENTER))
    resolution = resolve(cat, ORG)
    got = assignments(cat, resolution, "aws")
    assert got == sorted([
        ("engineers", "Admin", "000000000005"),
        ("engineers", "ReadOnly", "000000000002"),  # ReadOnly targets Security by name
        ("engineers", "ReadOnly", "000000000003"),
        ("engineers", "ReadOnly", "000000000004"),
        ("prod-readers", "ReadOnly", "000000000004"),
    ])  # never the suspended account, never the management account (no role names it)
    template = identity_center_template([r for r in cat.roles], got, {"engineers": "g-1", "prod-readers": "g-2"}, INSTANCE)
    assert access_of(template) == set(got)
    kinds = sorted(r["Type"] for r in template["Resources"].values())
    assert kinds.count("AWS::SSO::PermissionSet") == 2 and kinds.count("AWS::SSO::Assignment") == 5
    assignment = next(r for r in template["Resources"].values() if r["Type"] == "AWS::SSO::Assignment")
    assert assignment["Properties"]["PermissionSetArn"]["Fn::GetAtt"][1] == "PermissionSetArn"
    assert json.dumps(template, sort_keys=True) == json.dumps(
        identity_center_template(list(reversed(cat.roles)), list(reversed(got)), {"engineers": "g-1", "prod-readers": "g-2"},
                                 INSTANCE), sort_keys=True)  # deterministic, whatever the order given


def test_permission_set_of_a_role_with_inline_policies_and_a_boundary(tmp_path):
    roles = {"ro.yml": ROLES["ro.yml"].replace("managed_policies: [ReadOnlyAccess]", "managed_policies: [ReadOnlyAccess, 'arn:aws:iam::000000000004:policy/team/Extra']")
             + "max_session_duration: 7200\npermissions_boundary: PowerUserAccess\n"
             "inline_policies:\n  logs:\n    Version: '2012-10-17'\n    Statement:\n"
             "      - {Sid: Read, Effect: Allow, Action: 'logs:GetLogEvents', Resource: '*'}\n"}
    cat = load_catalog(catalog(tmp_path, "mode: identity_center\ngroups:\n  - name: g\n    grants: [{role: ReadOnly}]\n", roles))
    props = permission_set(cat.roles[0], INSTANCE)["Properties"]
    assert props["SessionDuration"] == "PT2H"
    assert props["ManagedPolicies"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess"]
    assert props["CustomerManagedPolicyReferences"] == [{"Name": "Extra", "Path": "/team/"}]
    assert props["InlinePolicy"]["Statement"][0]["Sid"] == "logsRead"
    assert props["PermissionsBoundary"] == {"ManagedPolicyArn": "arn:aws:iam::aws:policy/PowerUserAccess"}


def test_too_many_assignments_for_one_stack_is_a_clear_error(tmp_path):
    cat = load_catalog(catalog(tmp_path, CENTER))
    many = [("engineers", "ReadOnly", f"{n:012d}") for n in range(600)]
    with pytest.raises(TemplateError, match="at most 500"):
        identity_center_template(cat.roles, many, {"engineers": "g-1"}, INSTANCE)


def test_who_gains_and_loses_between_two_central_templates(tmp_path):
    cat = load_catalog(catalog(tmp_path, "groups:\n  - name: engineers\n    grants: [{role: ReadOnly}]\n"
                                         "users:\n  - name: alice\n    groups: [engineers]\n"))
    before = central_template({"engineers": ["arn:aws:iam::000000000003:role/orgiam/ReadOnly"]}, {}, cat.identity, "orgiam", "/orgiam/")
    after = central_template({"engineers": ["arn:aws:iam::000000000004:role/orgiam/ReadOnly"]}, {}, cat.identity, "orgiam", "/orgiam/")
    changes = access_changes(central_access(before), central_access(after))
    assert {(c["principal_type"], c["principal"], c["change"], c["account_id"]) for c in changes} == {
        ("group", "engineers", "gains", "000000000004"), ("group", "engineers", "loses", "000000000003"),
        ("user", "alice", "gains", "000000000004"), ("user", "alice", "loses", "000000000003")}
    lines = change_lines(changes, {"000000000004": "Payments Prod"})
    assert "access: group engineers gains ReadOnly in Payments Prod (000000000004)" in lines
    assert "access: group engineers loses ReadOnly in 000000000003" in lines


def test_who_gains_from_identity_center_templates():
    before = identity_center_template([], [], {}, INSTANCE)
    assert identity_center_access(before).groups == {}
    assert access_changes(identity_center_access(before), identity_center_access(None)) == []

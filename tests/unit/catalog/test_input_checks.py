"""The catalog's checks of what AWS would refuse or what is dangerous: what they let through, and waivers.

The refusals themselves are the bad-input corpus (tests/badinput); here are the good inputs next to them,
which must keep loading, and the waivers that let a role do on purpose what is refused by default.
"""

from __future__ import annotations

import json

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import CatalogError, load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import loader
from ansible_collections.orgiam.aws.plugins.module_utils.render.member import member_template


def write(tmp_path, role: str, settings: str = "central_account: Security\n", identity: str | None = None) -> str:
    (tmp_path / "roles").mkdir(exist_ok=True)
    (tmp_path / "settings.yml").write_text(settings)
    (tmp_path / "roles" / "r.yml").write_text(role, encoding="utf-8")
    if identity is not None:
        (tmp_path / "identity.yml").write_text(identity, encoding="utf-8")
    return str(tmp_path)


def with_policy(*statements: dict, extra: str = "") -> str:
    document = {"Version": "2012-10-17", "Statement": list(statements)}
    return f"name: Ops\n{extra}inline_policies:\n  main: {json.dumps(document)}\ntargets: {{ou_paths: [Workloads]}}\n"


def problems(path: str) -> str:
    with pytest.raises(CatalogError) as raised:
        load_catalog(path)
    return str(raised.value)


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"},
    {"Effect": "Allow", "Action": "*", "Resource": "*"},
    {"Effect": "Allow", "Action": "S3:GETOBJECT", "Resource": "arn:aws:s3:::b/*"},  # IAM ignores the case of actions
    {"Effect": "Allow", "Action": "ec2:Describe?nstances", "Resource": "*"},
    {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*"},  # a Deny with NotAction needs no waiver
    {"Effect": "Deny", "Action": "*", "NotResource": "arn:aws:s3:::b/*"},
    {"Sid": "Tagged", "Effect": "Allow", "Action": "ec2:StartInstances", "Resource": "*",
     "Condition": {"StringEqualsIfExists": {"aws:ResourceTag/team": "${aws:PrincipalTag/team}"},
                   "ForAllValues:StringLike": {"aws:TagKeys": ["team", "env*"]},
                   "BoolIfExists": {"aws:MultiFactorAuthPresent": "true"},
                   "NumericLessThan": {"aws:MultiFactorAuthAge": 3600},
                   "IpAddress": {"aws:SourceIp": ["10.0.0.0/8"]}}},
])
def test_good_statements_load(tmp_path, statement):
    role = load_catalog(write(tmp_path, with_policy(statement))).roles[0]
    assert json.loads(role.inline_policies[0][1])["Statement"] == [statement]


def test_an_action_newer_than_parliaments_data_passes_when_botocores_models_have_it(tmp_path):
    import parliament

    statement = {"Effect": "Allow", "Action": ["bedrock-agentcore:InvokeAgentRuntime", "s3vectors:Put*"], "Resource": "*"}
    with pytest.raises(parliament.UnknownPrefixException):
        parliament.expand_action("bedrock-agentcore:InvokeAgentRuntime")  # parliament 1.6.4's data predates the service
    role = load_catalog(write(tmp_path, with_policy(statement))).roles[0]
    assert role.waivers == ()  # no waiver needed
    found = problems(write(tmp_path, with_policy(dict(statement, Action="bedrock-agentcore:InvokeAgentRuntim"))))
    assert "unknown action 'bedrock-agentcore:InvokeAgentRuntim'; did you mean 'bedrock-agentcore:InvokeAgentRuntime'?" in found


def test_a_single_statement_mapping_is_checked_like_a_list(tmp_path):
    document = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:GetObjekt", "Resource": "*"}}
    role = f"name: Ops\ninline_policies:\n  main: {json.dumps(document)}\ntargets: {{ou_paths: [W]}}\n"
    assert "unknown action 's3:GetObjekt'" in problems(write(tmp_path, role))


def test_waivers_let_a_role_allow_not_action_and_actions_newer_than_the_checker(tmp_path):
    statements = ({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"},
                  {"Effect": "Allow", "Action": "bedrock:InvokeTheNextBigThing", "Resource": "*"})
    found = problems(write(tmp_path, with_policy(*statements)))
    assert "waivers: [allow-not-action]" in found and "waivers: [unknown-action]" in found
    role = load_catalog(write(tmp_path, with_policy(*statements, extra="waivers: [allow-not-action, unknown-action]\n"))).roles[0]
    assert role.waivers == ("allow-not-action", "unknown-action")


def test_a_missing_policy_checker_is_a_problem_not_a_pass(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "_parliament", lambda: None)
    found = problems(write(tmp_path, with_policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"})))
    assert "the parliament package is missing" in found and "pip install --require-hashes -r requirements/runtime.txt" in found


def test_a_checker_failure_is_reported_with_the_file(tmp_path, monkeypatch):
    class Broken:
        UnknownActionException = UnknownPrefixException = LookupError

        def expand_action(self, action):
            raise RuntimeError("boom")

        def analyze_policy_string(self, *args, **kwargs):
            raise RuntimeError("bang")

    monkeypatch.setattr(loader, "_parliament", lambda: Broken())
    statement = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": True}}}
    found = problems(write(tmp_path, with_policy(statement)))
    assert "roles/r.yml:3" in found and "parliament) failed on 's3:GetObject' (boom)" in found


def test_names_descriptions_and_tags_iam_takes(tmp_path):
    role = ("name: Ops.Team+1=a,b@c_d-e\ndescription: \"Zürich ops: read-only \\u00bfs\\u00ed? \\t tabs too\"\n"
            "tags: {Équipe: Zürich, 'team:name': 'a b/c=d+e-f@g_h.i', empty: ''}\n"
            + "".join(f"tags_{i}: x\n" for i in range(0)) + "targets: {ou_paths: [Workloads]}\n")
    loaded = load_catalog(write(tmp_path, role)).roles[0]
    assert loaded.name == "Ops.Team+1=a,b@c_d-e" and "Zürich" in loaded.description
    assert dict(loaded.tags)["Équipe"] == "Zürich"


def test_49_tags_fit_with_orgiams_own(tmp_path):
    tags = "tags:\n" + "".join(f"  K{i:02d}: v\n" for i in range(49))
    role = load_catalog(write(tmp_path, f"name: Ops\n{tags}targets: {{ou_paths: [W]}}\n")).roles[0]
    template = member_template([role], "000000000002", "000000000004")
    assert len(next(iter(template["Resources"].values()))["Properties"]["Tags"]) == 50


def test_a_customer_managed_policy_name_of_exactly_128_is_rendered_whole(tmp_path):
    name, policy = "R" * 60, "p" * 67  # 60 + 1 + 67 = 128
    document = {"Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    role = load_catalog(write(tmp_path, f"name: {name}\ncustomer_managed_policies:\n  {policy}: {json.dumps(document)}\n"
                                        "targets: {ou_paths: [W]}\n")).roles[0]
    template = member_template([role], "000000000002", "000000000004")
    names = [r["Properties"]["ManagedPolicyName"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert names == [f"{name}-{policy}"] and len(names[0]) == 128


def test_reserved_names_follow_the_settings(tmp_path):
    settings = "central_account: Security\nstack_prefix: acme\nmember_role_name: platform/acme-deployer\n"
    assert "starting 'acme-'" in problems(write(tmp_path, "name: acme-Audit\ntargets: {ou_paths: [W]}\n", settings))
    # with another prefix, orgiam- stays refused (its bootstrap's deny) and Orgiam is fine as a word
    assert "starting 'orgiam-'" in problems(write(tmp_path, "name: orgiam-Audit\ntargets: {ou_paths: [W]}\n", settings))
    assert load_catalog(write(tmp_path, "name: OrgiamAudit\ntargets: {ou_paths: [W]}\n", settings)).roles


def test_a_role_refused_for_its_own_problem_is_not_reported_again_by_identity(tmp_path):
    identity = "users:\n  - {name: carol, groups: [orgiam-Ops-Workloads]}\ngroups:\n  - {name: g, grants: [{role: Ops}]}\n"
    found = problems(write(tmp_path, "name: Ops\nmax_session_duration: 60\ntargets: {ou_paths: [Workloads]}\n", identity=identity))
    assert "max_session_duration" in found and "the catalog has a problem:" in found  # one problem, not three


def test_user_tags_follow_iams_rules(tmp_path):
    identity = "users:\n  - {name: carol, tags: {'aws:x': y, Team: 'a;b'}}\n"
    found = problems(write(tmp_path, "name: Ops\ntargets: {ou_paths: [W]}\n", identity=identity))
    assert "identity.yml:2" in found and "tag key 'aws:x'" in found and "';' (U+003B SEMICOLON)" in found


def test_the_shipped_catalogs_default_group_names_are_unchanged_by_the_ascii_rule():
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog.identity import scope_label
    assert scope_label("Workloads/Prod") == "Workloads-Prod" and scope_label("Zürich Prod") == "Z-rich-Prod"

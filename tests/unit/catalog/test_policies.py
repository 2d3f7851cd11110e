"""Organization policies of the catalog (roles_catalog/policies/): loaded, checked and placed without AWS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog.policies import (
    allow_list, denies_orgiam, load_policies, policy_targets,
)
from ansible_collections.orgiam.aws.plugins.module_utils.model import Account
from ansible_collections.orgiam.aws.plugins.module_utils.render.org_policies import org_policies_template, target_changes

DENY_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}
SANDBOX = {"Version": "2012-10-17", "Statement": [
    {"Sid": "NoBigSpend", "Effect": "Deny", "Action": ["redshift:*", "sagemaker:CreateTrainingJob"], "Resource": "*"}]}
ROOT, OUS = "r-ab12", {"Sandbox": "ou-ab12-11111111", "Suspended": "ou-ab12-22222222", "Workloads/Prod": "ou-ab12-33333333"}
ACCOUNTS = [Account("111111111111", "Legacy App", "Suspended"), Account("222222222222", "Sandbox Alice", "Sandbox")]


def write(tmp_path: Path, name: str, text: str) -> Path:
    folder = tmp_path / "policies"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def load(tmp_path: Path):
    return load_policies(str(tmp_path), lambda p: f"policies/{Path(p).name}")


def test_a_policy_inline_or_from_a_json_file(tmp_path):
    write(tmp_path, "sandbox.yml", "name: sandbox-deny-list\nkind: service_control\ndescription: No big spend.\n"
          f"document: {json.dumps(SANDBOX)}\ntargets: {{ou_paths: [Sandbox]}}\n")
    (tmp_path / "policies" / "deny-all.json").write_text(json.dumps(DENY_ALL))
    write(tmp_path, "suspended.yml", "name: deny-all-suspended\nkind: service_control\ndocument_file: deny-all.json\n"
          "targets: {ou_paths: [Suspended]}\nwaive: [denies_orgiam]\n")
    policies, problems = load(tmp_path)
    assert problems == []
    assert [(p.name, p.policy_type, p.targets.ou_paths) for p in policies] == [
        ("sandbox-deny-list", "SERVICE_CONTROL_POLICY", ("Sandbox",)),
        ("deny-all-suspended", "SERVICE_CONTROL_POLICY", ("Suspended",))]


@pytest.mark.parametrize("text, message", [
    ("name: x\nkind: service_control\ntargets: {root: true}\n", "either inline (document) or as a JSON file"),
    ("name: x\nkind: service_control\ndocument_file: none.json\ntargets: {root: true}\n", "does not exist next to"),
    ("name: x\nkind: service_control\ndocument: {Version: '2012-10-17'}\ntargets: {root: true}\n", "needs a Statement"),
    (f"name: x\nkind: service_control\ndocument: {json.dumps(SANDBOX)}\ntargets: {{}}\n", "has no target"),
    (f"name: x\nkind: service_control\ndocument: {json.dumps(DENY_ALL)}\ntargets: {{root: true}}\n",
     "would stop orgiam from managing"),
    ("name: x\nkind: service_control\ndocument: {Statement: [{Effect: Allow, Action: 's3:*', Resource: '*'}]}\n"
     "targets: {root: true}\n", "allows less than everything"),
    ("name: x\nkind: tag_policy\ndocument: {Statement: []}\ntargets: {root: true}\n", "kind"),
])
def test_each_bad_policy_is_named_before_any_aws_call(tmp_path, text, message):
    write(tmp_path, "bad.yml", text)
    _, problems = load(tmp_path)
    assert problems and message in str(problems[0]) and "policies/bad.yml" in str(problems[0])


def test_the_size_is_counted_without_whitespace_as_organizations_counts_it(tmp_path):
    statement = {"Effect": "Deny", "Action": [f"s3:Action{i:04d}" for i in range(260)], "Resource": "*"}
    document = {"Version": "2012-10-17", "Statement": [statement]}
    text = json.dumps(document, indent=8)  # far over 5,120 with its whitespace, under it without
    assert len(text) > 5120 and len(json.dumps(document, separators=(",", ":"))) < 5120
    (tmp_path / "policies").mkdir()
    (tmp_path / "policies" / "big.json").write_text(text)
    write(tmp_path, "big.yml", "name: big\nkind: service_control\ndocument_file: big.json\ntargets: {root: true}\n")
    assert load(tmp_path)[1] == []
    statement["Action"] += [f"s3:More{i:04d}" for i in range(200)]
    (tmp_path / "policies" / "big.json").write_text(json.dumps(document))
    _, problems = load(tmp_path)
    assert "Organizations takes at most 5120" in str(problems[0])


def test_a_deny_that_exempts_orgiams_roles_is_not_refused():
    exempt = {"Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*",
                             "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/orgiam/*"}}}]}
    assert denies_orgiam(exempt) == ""
    assert denies_orgiam({"Statement": [{"Effect": "Deny", "Action": "cloudformation:*", "Resource": "*"}]})
    assert denies_orgiam({"Statement": [{"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}]}) == "sts:AssumeRole"
    assert denies_orgiam(SANDBOX) == ""
    assert not allow_list({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})


def test_targets_are_placed_by_ou_path_and_account_and_the_limit_of_five_counts_full_aws_access(tmp_path):
    for index in range(4):
        write(tmp_path, f"p{index}.yml", f"name: p{index}\nkind: service_control\ndocument: {json.dumps(SANDBOX)}\n"
              "targets: {ou_paths: [Sandbox], accounts: [Legacy App]}\nexclude: {accounts: ['111111111111']}\n")
    policies, problems = load(tmp_path)
    placement, problems = policy_targets(policies, ROOT, OUS, ACCOUNTS)
    assert problems == [] and placement.targets["p0"] == ("ou-ab12-11111111",)  # the account excluded again
    write(tmp_path, "p4.yml", f"name: p4\nkind: service_control\ndocument: {json.dumps(SANDBOX)}\n"
          "targets: {ou_paths: [sandbox], root: true}\n")
    policies, _ = load(tmp_path)
    _, problems = policy_targets(policies, ROOT, OUS, ACCOUNTS)
    assert "Sandbox would have 5 service_control policies" in str(problems[0]) and "FullAWSAccess" in str(problems[0])
    write(tmp_path, "p5.yml", f"name: p5\nkind: service_control\ndocument: {json.dumps(SANDBOX)}\n"
          "targets: {ou_paths: [Nowhere], accounts: [Nobody]}\n")
    policies, _ = load(tmp_path)
    found = " ".join(str(p) for p in policy_targets(policies, ROOT, OUS, ACCOUNTS)[1])
    assert "'Nowhere' is not an OU" in found and "account 'Nobody' is not an account" in found


def test_the_template_and_which_targets_gain_or_lose_a_policy(tmp_path):
    write(tmp_path, "sandbox.yml", f"name: sandbox-deny-list\nkind: service_control\ndocument: {json.dumps(SANDBOX)}\n"
          "targets: {ou_paths: [Sandbox]}\n")
    policies, _ = load(tmp_path)
    before = org_policies_template(policies, policy_targets(policies, ROOT, OUS, ACCOUNTS)[0])
    (policy,) = before["Resources"].values()
    assert policy["Type"] == "AWS::Organizations::Policy" and policy["Properties"]["TargetIds"] == ["ou-ab12-11111111"]
    assert policy["Properties"]["Content"] == SANDBOX
    write(tmp_path, "sandbox.yml", f"name: sandbox-deny-list\nkind: service_control\ndocument: {json.dumps(SANDBOX)}\n"
          "targets: {ou_paths: [Workloads/Prod]}\n")
    policies, _ = load(tmp_path)
    after = org_policies_template(policies, policy_targets(policies, ROOT, OUS, ACCOUNTS)[0])
    assert target_changes(before, after) == ["service control policy sandbox-deny-list: + Workloads/Prod, - Sandbox"]
    assert target_changes(None, after) == ["service control policy sandbox-deny-list: new, attached to Workloads/Prod"]
    assert target_changes(after, {"Resources": {}}) == [
        "service control policy sandbox-deny-list: removed, detached from Workloads/Prod"]

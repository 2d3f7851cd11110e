"""An identity group's own permissions in the central account (identity.yml managed_policies, inline_policies):
rendered on its principal in the central stack, an IAM group or a federated role, next to its assume-role policies."""

import json

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog.identity import GroupDef, Identity, SamlDef
from ansible_collections.orgiam.aws.plugins.module_utils.render.central import central_template
from ansible_collections.orgiam.aws.plugins.module_utils.render.common import TemplateError

LOGS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "*"}]}
AUDITORS = GroupDef("auditors", (), managed_policies=("SecurityAudit", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"),
                    inline_policies=(("logs", json.dumps(LOGS, sort_keys=True)),))
ARNS = ["arn:aws:iam::000000000004:role/orgiam/ReadOnly"]
METADATA = '<?xml version="1.0"?><EntityDescriptor entityID="https://idp.example">' + "A" * 1200 + "</EntityDescriptor>"


def principal(template: dict, type_: str) -> dict:
    (found,) = [r["Properties"] for r in template["Resources"].values() if r["Type"] == type_]
    return found


def test_the_group_holds_its_managed_and_inline_policies_with_the_stacks_partition():
    template = central_template({"auditors": ARNS}, {"ReadOnly": ARNS}, Identity(groups=(AUDITORS,)), "orgiam", "/orgiam/")
    group = principal(template, "AWS::IAM::Group")
    assert group["ManagedPolicyArns"] == [{"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/SecurityAudit"},
                                          "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]
    assert group["Policies"] == [{"PolicyName": "logs", "PolicyDocument": LOGS}]
    assume = principal(template, "AWS::IAM::ManagedPolicy")
    assert assume["ManagedPolicyName"] == "auditors-assume-1" and assume["Groups"] == [{"Ref": next(iter(template["Resources"]))}]


def test_a_group_without_own_policies_renders_as_before():
    template = central_template({"g": ARNS}, {}, Identity(groups=(GroupDef("g", ()),)), "orgiam", "/orgiam/")
    assert principal(template, "AWS::IAM::Group") == {"GroupName": "g", "Path": "/orgiam/"}


def test_in_saml_mode_the_federated_role_holds_them():
    identity = Identity(mode="saml", groups=(AUDITORS,), saml=SamlDef("corp", "corp.xml", METADATA))
    role = principal(central_template({"auditors": ARNS}, {}, identity, "orgiam", "/orgiam/"), "AWS::IAM::Role")
    assert role["RoleName"] == "auditors" and len(role["ManagedPolicyArns"]) == 2
    assert role["Policies"] == [{"PolicyName": "logs", "PolicyDocument": LOGS}]


def test_own_managed_policies_count_against_the_ten_a_group_takes():
    many = [f"arn:aws:iam::{i:012d}:role/orgiam/ReadOnly" for i in range(500)]  # 3 assume-role policies
    group = GroupDef("wide", (), managed_policies=tuple(f"arn:aws:iam::aws:policy/P{i}" for i in range(8)))
    with pytest.raises(TemplateError, match="besides its own 8 .managed_policies., more than the 10 IAM allows"):
        central_template({"wide": many}, {}, Identity(groups=(group,)), "orgiam", "/orgiam/")
    central_template({"wide": many[:100]}, {}, Identity(groups=(group,)), "orgiam", "/orgiam/")  # 1 + 8: fits

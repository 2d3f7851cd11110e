"""plan/template_values.py: a template as CloudFormation makes it in one account, on the bootstrap's real
templates first, then on each intrinsic function it evaluates (or leaves to CloudFormation)."""

from __future__ import annotations

import os

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.plan.drift import expected_state
from ansible_collections.orgiam.aws.plugins.module_utils.plan.template_values import (
    TemplateValueError,
    evaluated_conditions,
    is_resolved,
    parameter_values,
    resolve_template,
)
from ansible_collections.orgiam.aws.plugins.module_utils.render.bootstrap import parse_template, templates_dir

CENTRAL, MEMBER, PIPELINE = "222222222222", "444444444444", "333333333333"
BUILD_ROLE = f"arn:aws:iam::{PIPELINE}:role/orgiam/orgiam-sync-build"
MANAGEMENT = "999999999999"
DEPLOYER_PARAMETERS = {"BuildRoleArn": BUILD_ROLE, "CentralAccountId": CENTRAL, "PoliciesAccountId": MANAGEMENT}


def template(relative: str) -> dict:
    with open(os.path.join(templates_dir(), relative), encoding="utf-8") as handle:
        return parse_template(handle.read())


DEPLOYER = template(os.path.join("bootstrap", "deployer-role.yml"))
READER = template(os.path.join("bootstrap", "organization-reader.yml"))


def deployer_in(account: str, **parameters: str) -> dict:
    return resolve_template(DEPLOYER, {**DEPLOYER_PARAMETERS, **parameters}, account, "us-east-1")


# --- the bootstrap's templates ------------------------------------------------------------------------


def test_the_deployer_holds_the_central_policy_in_the_central_account_only():
    assert list(deployer_in(CENTRAL)["Resources"]) == ["DeployerRole", "PlannerRole", "PlannerCentralPolicy",
                                                       "CentralAccountPolicy"]
    assert list(deployer_in(MEMBER)["Resources"]) == ["DeployerRole", "PlannerRole"]
    assert evaluated_conditions(DEPLOYER, DEPLOYER_PARAMETERS, MEMBER, "us-east-1") == {
        "IsCentral": False, "IsPoliciesAccount": False, "IsStackSetsAccount": False, "HasTemplateBucket": False,
        "IsCentralWithBucket": False}


def test_the_role_stacksets_policies_are_only_in_the_account_that_manages_them():
    assert list(deployer_in(MEMBER, StackSetsAccountId=CENTRAL)["Resources"]) == ["DeployerRole", "PlannerRole"]
    resources = list(deployer_in(CENTRAL, StackSetsAccountId=CENTRAL)["Resources"])
    assert "StackSetsDeployPolicy" in resources and "StackSetsPlanPolicy" in resources


def test_a_template_bucket_adds_the_read_policy_everywhere_and_the_upload_policy_in_the_central_account():
    assert list(deployer_in(MEMBER, TemplateBucket="orgiam-templates")["Resources"]) == [
        "DeployerRole", "PlannerRole", "TemplateReadPolicy"]
    assert list(deployer_in(CENTRAL, TemplateBucket="orgiam-templates")["Resources"]) == [
        "DeployerRole", "PlannerRole", "PlannerCentralPolicy", "CentralAccountPolicy", "TemplateReadPolicy",
        "TemplateUploadPolicy"]
    read = deployer_in(MEMBER, TemplateBucket="orgiam-templates")["Resources"]["TemplateReadPolicy"]["Properties"]
    assert read["PolicyDocument"]["Statement"][0]["Resource"] == "arn:aws:s3:::orgiam-templates/orgiam/templates/*"


def test_the_deployers_values_are_those_of_its_account_and_parameters():
    resolved = deployer_in(MEMBER, StackPrefix="acme", RolePath="/acme/")
    role = resolved["Resources"]["DeployerRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    # Fn::Sub's variable form, over Fn::Select of Fn::Split of a parameter
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{PIPELINE}:root"}
    assert trust["Condition"] == {"ArnEquals": {"aws:PrincipalArn": BUILD_ROLE}}
    statements = {s["Sid"]: s for s in role["Policies"][0]["PolicyDocument"]["Statement"]}
    assert statements["OrgiamStacksOnly"]["Resource"] == [f"arn:aws:cloudformation:*:{MEMBER}:stack/acme-roles/*",
                                                          f"arn:aws:cloudformation:*:{MEMBER}:stack/acme-identity/*"]
    assert statements["RolesUnderOrgiamPath"]["Resource"] == f"arn:aws:iam::{MEMBER}:role/acme/*"
    assert is_resolved(resolved["Resources"])
    assert "Conditions" not in resolved and all("Condition" not in r for r in resolved["Resources"].values())


def test_references_to_resources_are_left_to_cloudformation_and_drift_resolves_them():
    resolved = deployer_in(CENTRAL)
    policy = resolved["Resources"]["CentralAccountPolicy"]
    assert "Condition" not in policy and policy["Properties"]["Roles"] == [{"Ref": "DeployerRole"}]
    assert resolved["Outputs"]["DeployerRoleArn"]["Value"] == {"Fn::GetAtt": ["DeployerRole", "Arn"]}
    expected = expected_state(resolved, CENTRAL)
    assert expected["CentralAccountPolicy"]["Properties"]["Roles"] == ["orgiam-deployer"]
    assert expected["CentralAccountPolicy"]["Arn"] == f"arn:aws:iam::{CENTRAL}:policy/orgiam/orgiam-deployer-central"


def test_the_organization_reader_trusts_the_build_role_only():
    resolved = resolve_template(READER, {"BuildRoleArn": BUILD_ROLE}, "123456789012", "us-east-1")
    (trust,) = resolved["Resources"]["OrganizationReaderRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws:iam::{PIPELINE}:root"} and is_resolved(resolved["Resources"])


def test_other_partitions_resolve_with_their_own():
    resolved = resolve_template(READER, {"BuildRoleArn": BUILD_ROLE.replace("arn:aws:", "arn:aws-us-gov:")},
                                MEMBER, "us-gov-west-1", "aws-us-gov")
    (trust,) = resolved["Resources"]["OrganizationReaderRole"]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"AWS": f"arn:aws-us-gov:iam::{PIPELINE}:root"}


# --- each function --------------------------------------------------------------------------------------


def resolve(value, parameters=None, declared=None, conditions=None, resources=("Bucket",), mappings=None):
    """One value resolved in a template that declares ``declared`` parameters and the resources named."""
    document = {
        "Parameters": declared or {"Env": {"Type": "String", "Default": "prod"}, "Names": {"Type": "CommaDelimitedList"}},
        "Conditions": conditions or {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
        "Mappings": mappings or {},
        "Resources": {name: {"Type": "AWS::S3::Bucket"} for name in resources},
        "Outputs": {"Value": {"Value": value}},
    }
    given = {"Names": "a, b,c"} if parameters is None else parameters
    return resolve_template(document, given, MEMBER, "eu-west-1")["Outputs"]["Value"]["Value"]


@pytest.mark.parametrize("value, expected", [
    ({"Ref": "Env"}, "prod"),
    ({"Ref": "Names"}, ["a", "b", "c"]),
    ({"Ref": "AWS::Region"}, "eu-west-1"),
    ({"Ref": "AWS::URLSuffix"}, "amazonaws.com"),
    ({"Ref": "Bucket"}, {"Ref": "Bucket"}),
    ({"Fn::Sub": "${Env}-${AWS::AccountId}"}, f"prod-{MEMBER}"),
    ({"Fn::Sub": ["${Name}/${Env}", {"Name": {"Ref": "AWS::Partition"}}]}, "aws/prod"),
    ({"Fn::Sub": "${!Literal}-${Env}"}, "${Literal}-prod"),
    # a resource's name or attribute is CloudFormation's: the rest is resolved, the literal kept escaped
    ({"Fn::Sub": "${Bucket.Arn}/${Env}/${!Literal}"}, {"Fn::Sub": "${Bucket.Arn}/prod/${!Literal}"}),
    ({"Fn::Sub": ["${Arn}/${Env}", {"Arn": {"Fn::GetAtt": ["Bucket", "Arn"]}}]},
     {"Fn::Sub": ["${Arn}/prod", {"Arn": {"Fn::GetAtt": ["Bucket", "Arn"]}}]}),
    ({"Fn::Join": ["-", [{"Ref": "Env"}, "x", 3]]}, "prod-x-3"),
    ({"Fn::Join": ["-", [{"Ref": "Bucket"}, "x"]]}, {"Fn::Join": ["-", [{"Ref": "Bucket"}, "x"]]}),
    ({"Fn::Select": ["1", {"Ref": "Names"}]}, "b"),
    ({"Fn::Split": [":", "a:b"]}, ["a", "b"]),
    ({"Fn::If": ["IsProd", "yes", "no"]}, "yes"),
    ({"Fn::Base64": {"Ref": "Env"}}, "cHJvZA=="),
    ({"Fn::ImportValue": {"Fn::Sub": "${Env}-vpc"}}, {"Fn::ImportValue": "prod-vpc"}),
    ({"Fn::GetAtt": ["Bucket", "Arn"]}, {"Fn::GetAtt": ["Bucket", "Arn"]}),
])
def test_functions(value, expected):
    assert resolve(value) == expected


def test_no_value_takes_the_property_or_the_item_away():
    value = {"Keep": 1, "Drop": {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, 2]},
             "List": ["a", {"Fn::If": ["IsProd", {"Ref": "AWS::NoValue"}, "b"]}]}
    assert resolve(value) == {"Keep": 1, "List": ["a"]}
    assert resolve(value, {"Env": "dev", "Names": ""}) == {"Keep": 1, "Drop": 2, "List": ["a", "b"]}


def test_conditions_combine_and_refer_to_each_other():
    conditions = {
        "IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]},
        "IsEu": {"Fn::Equals": ["eu-west-1", {"Ref": "AWS::Region"}]},
        "ProdInEu": {"Fn::And": [{"Condition": "IsProd"}, {"Condition": "IsEu"}]},
        "NotProd": {"Fn::Not": [{"Condition": "IsProd"}]},
        "Either": {"Fn::Or": [{"Condition": "NotProd"}, {"Fn::Equals": ["a", "b"]}]},
    }
    document = {"Parameters": {"Env": {"Type": "String", "Default": "prod"}}, "Conditions": conditions, "Resources": {}}
    assert evaluated_conditions(document, {}, MEMBER, "eu-west-1") == {
        "IsProd": True, "IsEu": True, "ProdInEu": True, "NotProd": False, "Either": False}
    assert evaluated_conditions(document, {"Env": "dev"}, MEMBER, "us-east-1")["Either"] is True


def test_find_in_map_reads_the_mappings():
    mappings = {"Regions": {"eu-west-1": {"Bucket": "eu-bucket"}}}
    assert resolve({"Fn::FindInMap": ["Regions", {"Ref": "AWS::Region"}, "Bucket"]}, mappings=mappings) == "eu-bucket"
    with pytest.raises(TemplateValueError, match="not in Mappings"):
        resolve({"Fn::FindInMap": ["Regions", "us-east-1", "Bucket"]}, mappings=mappings)


def test_parameters_take_their_defaults_and_list_types_are_lists():
    declared = {"A": {"Type": "String", "Default": 5}, "B": {"Type": "List<AWS::EC2::Subnet::Id>", "Default": "s-1,s-2"},
                "C": {"Type": "String", "Default": True}, "Secret": {"Type": "String", "NoEcho": True},
                "Ssm": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/x"}}
    assert parameter_values({"Parameters": declared}, {"Secret": "****"}) == {"A": "5", "B": ["s-1", "s-2"], "C": "true"}


@pytest.mark.parametrize("document, message", [
    ({"Parameters": {"A": {"Type": "String"}}, "Resources": {}}, "parameter A has no value and no default"),
    ({"Transform": "AWS::Serverless-2016-10-31", "Resources": {}}, "Transform"),
    ({"Resources": {"R": {"Type": "AWS::S3::Bucket", "Condition": "Nowhere"}}}, "condition 'Nowhere' is not defined"),
    ({"Conditions": {"A": {"Condition": "B"}, "B": {"Condition": "A"}}, "Resources": {"R": {"Type": "X", "Condition": "A"}}},
     "refers to itself"),
    ({"Conditions": {"A": {"Fn::Equals": [{"Ref": "R"}, "x"]}}, "Resources": {"R": {"Type": "X", "Condition": "A"}}},
     "not known before deployment"),
])
def test_what_cannot_be_evaluated_says_why(document, message):
    with pytest.raises(TemplateValueError, match=message):
        resolve_template(document, {}, MEMBER, "us-east-1")

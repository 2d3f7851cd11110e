"""Bootstrap's template files: read as CloudFormation reads them, parameters filled by name and checked,
and the desired state whose hash covers template, parameters and targets."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
import yaml

from ansible_collections.orgiam.aws.plugins.module_utils.catalog.pipeline import BootstrapInputError
from ansible_collections.orgiam.aws.plugins.module_utils.render import bootstrap as R

REPO = Path(__file__).resolve().parents[3]
ROOT = "r-ab12"


def test_templates_are_read_with_short_form_functions(tmp_path):
    (tmp_path / "t.yml").write_text(textwrap.dedent("""\
        Parameters:
          Name: {Type: String, Default: x}
          Other: {Type: String}
        Conditions:
          Both: !And [!Condition A, {Condition: B}]
        Resources:
          R:
            Type: AWS::IAM::Role
            Properties:
              RoleName: !Sub "${Name}-role"
              Arn: !GetAtt Other.Arn
              List: !Split [",", !Ref Other]
        """))
    template = R.read_template(str(tmp_path), "t.yml")
    assert set(template.parameters) == {"Name", "Other"} and template.body.startswith("Parameters:")
    with pytest.raises(BootstrapInputError, match="does not exist"):
        R.read_template(str(tmp_path), "missing.yml")
    (tmp_path / "bad.yml").write_text("Parameters: {}\n")
    with pytest.raises(BootstrapInputError, match="no Resources"):
        R.read_template(str(tmp_path), "bad.yml")


def test_short_forms_become_their_long_form():
    data = yaml.load("A: !GetAtt Role.Arn\nB: !Ref X\nC: !Condition Y\nD: !Sub [a, {b: c}]\n", Loader=R._CfnLoader)  # noqa: S506
    assert data == {"A": {"Fn::GetAtt": ["Role", "Arn"]}, "B": {"Ref": "X"}, "C": {"Condition": "Y"},
                    "D": {"Fn::Sub": ["a", {"b": "c"}]}}


def test_a_template_that_is_not_yaml_or_too_large_is_refused(tmp_path):
    (tmp_path / "broken.yml").write_text("Resources: [unclosed\n")
    with pytest.raises(BootstrapInputError, match="not a valid CloudFormation template"):
        R.read_template(str(tmp_path), "broken.yml")
    (tmp_path / "huge.yml").write_text("Resources: {}\n# " + "x" * 52_000 + "\n")
    with pytest.raises(BootstrapInputError, match="more than CloudFormation's 51200"):
        R.read_template(str(tmp_path), "huge.yml")


@pytest.mark.parametrize("relative", [R.DEPLOYER_TEMPLATE, R.READER_TEMPLATE])
def test_every_bootstrap_role_template_reads_and_trusts_the_build_role(relative):
    template = R.read_template(R.templates_dir(), relative)
    assert "BuildRoleArn" in template.parameters


@pytest.mark.parametrize("relative", [R.PIPELINE_TEMPLATE, R.EVENTS_TEMPLATE])
def test_the_pipeline_templates_read(relative):
    template = R.read_template(R.templates_dir(), relative)
    assert template.parameters and "Resources:" in template.body


def test_the_collection_ships_the_templates_that_cicd_shows():
    for relative in (R.DEPLOYER_TEMPLATE, R.READER_TEMPLATE, R.PIPELINE_TEMPLATE, R.EVENTS_TEMPLATE):
        shipped = Path(R.templates_dir(), relative)
        assert shipped.is_file() and os.path.samefile(shipped, REPO / "cicd" / relative), relative


def test_parameters_are_filled_by_name_and_checked_against_the_template():
    template = R.TemplateFile("t.yml", "Resources: {}", {
        "Given": {"Type": "String", "AllowedPattern": "^[a-z]+$"},
        "Optional": {"Type": "String", "Default": "kept"},
        "Choice": {"Type": "String", "AllowedValues": ["true", "false"]},
    })
    values, problems = R.fill_parameters(template, {"Given": "abc", "Optional": "", "Choice": "true"})
    assert values == {"Given": "abc", "Choice": "true"} and problems == []  # empty: the template's default
    _, problems = R.fill_parameters(template, {"Given": "ABC", "Choice": "maybe"})
    assert any("does not match ^[a-z]+$" in p for p in problems) and any("is not one of true, false" in p for p in problems)
    _, problems = R.fill_parameters(R.TemplateFile("t.yml", "", {"Mystery": {"Type": "String"}}), {})
    assert problems and "parameter Mystery has no default, and bootstrap has no value for it" in problems[0]


def test_unquoted_booleans_and_numbers_are_allowed_values_as_cloudformation_reads_them(tmp_path):
    (tmp_path / "t.yml").write_text("Parameters:\n  Flag: {Type: String, AllowedValues: [true, false]}\n"
                                    "  Days: {Type: Number, AllowedValues: [1, 90]}\nResources: {}\n")
    template = R.read_template(str(tmp_path), "t.yml")
    assert R.fill_parameters(template, {"Flag": "false", "Days": "90"}) == ({"Days": "90", "Flag": "false"}, [])
    _, problems = R.fill_parameters(template, {"Flag": "False", "Days": "2"})
    assert [p.split("t.yml: ")[1] for p in problems] == ["parameter Days: '2' is not one of 1, 90",
                                                         "parameter Flag: 'False' is not one of true, false"]


def test_a_pattern_python_cannot_read_is_left_to_cloudformation():
    template = R.TemplateFile("t.yml", "Resources: {}", {"Odd": {"Type": "String", "AllowedPattern": "[\\p{L}]+"}})
    assert R.fill_parameters(template, {"Odd": "abc"}) == ({"Odd": "abc"}, [])


def test_the_hash_covers_template_parameters_and_targets():
    template = R.TemplateFile("t.yml", "Resources: {}")
    one = R.desired_file(template, {"A": "1"}, {"targets": [ROOT]})
    assert one.hash == R.desired_file(template, {"A": "1"}, {"targets": [ROOT]}).hash
    assert one.hash != R.desired_file(template, {"A": "2"}, {"targets": [ROOT]}).hash
    assert one.hash != R.desired_file(template, {"A": "1"}, {"targets": ["ou-x"]}).hash
    assert one.hash != R.desired_file(R.TemplateFile("t.yml", "Resources: {X: 1}"), {"A": "1"}, {"targets": [ROOT]}).hash
    assert (one.body, one.parameters, one.source_path, one.extra) == ("Resources: {}", {"A": "1"}, "t.yml", {"targets": [ROOT]})
    assert one.exists


def test_no_template_is_no_stack():
    nothing = R.desired_file(None)
    assert (nothing.body, nothing.hash, nothing.exists) == (None, None, False)


def test_orgiams_roles_and_the_events_region():
    assert R.build_role_arn("aws-us-gov", "333333333333") == "arn:aws-us-gov:iam::333333333333:role/orgiam/orgiam-sync-build"
    assert [R.events_region(p) for p in ("aws", "aws-us-gov", "aws-cn", "aws-iso")] == [
        "us-east-1", "us-gov-west-1", "cn-northwest-1", "us-east-1"]

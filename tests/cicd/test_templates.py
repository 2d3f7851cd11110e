"""The templates of cicd/ as files: cfn-lint, documented parameters, least privilege, and the fixed
names other parts of orgiam rely on. Nothing here needs the emulator."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from cfnlint.decode import cfn_yaml

from tests.cicd.conftest import BUILDSPEC, CICD, MANAGEMENT_EVENTS_TEMPLATE, PIPELINE_TEMPLATE

BIN = Path(sys.executable).parent
TEMPLATES = sorted(p for p in CICD.glob("*.yml") if "AWSTemplateFormatVersion" in p.read_text(encoding="utf-8"))


def load(path: Path) -> dict[str, Any]:
    return json.loads(json.dumps(cfn_yaml.loads(path.read_text(encoding="utf-8"))))


def walk(node: Any):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from walk(value)


def statements(template: dict[str, Any]) -> list[dict[str, Any]]:
    """Every policy statement of a template (inside Fn::If branches too)."""
    return [n for n in walk(template) if isinstance(n, dict) and "Effect" in n and ("Action" in n or "NotAction" in n)]


def test_cicd_holds_both_templates():
    assert TEMPLATES == [MANAGEMENT_EVENTS_TEMPLATE, PIPELINE_TEMPLATE]


def test_cfn_lint_passes_every_template_with_informational_checks_too():
    # zero errors, warnings and informational findings: nothing is ignored, in the templates or here
    proc = subprocess.run(
        [str(BIN / "cfn-lint"), "--include-checks", "I", "--regions", "us-east-1", "eu-west-1", "--format", "parseable",
         "--", *map(str, TEMPLATES)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for template in TEMPLATES:
        parsed = load(template)
        for metadata in [parsed.get("Metadata", {})] + [r.get("Metadata", {}) for r in parsed["Resources"].values()]:
            assert "cfn-lint" not in metadata, f"{template.name}: no cfn-lint configuration that silences checks"


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_every_parameter_is_described_and_constrained(template: Path):
    for name, parameter in load(template)["Parameters"].items():
        assert len(parameter.get("Description", "")) > 20, f"{name} needs a description"
        constrained = any(k in parameter for k in ("AllowedPattern", "AllowedValues")) or (
            parameter["Type"] == "Number" and "MinValue" in parameter and "MaxValue" in parameter)
        assert constrained, f"{name} needs AllowedPattern, AllowedValues or a range"


def test_pipeline_parameters_are_the_agreed_interface():
    parameters = load(PIPELINE_TEMPLATE)["Parameters"]
    for name in ("SourceProvider", "RepositoryName", "BranchName", "ConnectionArn", "ApprovalRequired",
                 "ScheduleExpression", "NotificationEmail", "ManagementAccountId", "OrganizationId",
                 "LogRetentionDays"):
        assert name in parameters
    assert parameters["SourceProvider"]["AllowedValues"] == ["CodeCommit", "CodeConnections"]
    assert parameters["ApprovalRequired"]["AllowedValues"] == ["true", "false"]
    assert parameters["ApprovalRequired"]["Default"] == "true"
    assert parameters["ScheduleExpression"]["Default"] == "rate(1 day)"
    assert parameters["BranchName"]["Default"] == "main"


@pytest.mark.parametrize(("parameter", "good", "bad"), [
    ("RepositoryName", ["org-iam", "acme/org-iam", "Acme.Corp/iam_catalog"], ["", "a/b/c", "acme/", "has space"]),
    ("BranchName", ["main", "release/iam-2", "feature_x"], ["", "-x", "/main", "a b"]),
    ("ConnectionArn", ["", "arn:aws:codeconnections:eu-west-1:111122223333:connection/ab12-cd34",
                       "arn:aws:codestar-connections:us-east-1:111122223333:connection/ab12"],
     ["arn:aws:codecommit:eu-west-1:111122223333:repo", "github.com/acme/org-iam"]),
    ("ScheduleExpression", ["rate(1 day)", "cron(0 6 ? * MON-FRI *)"], ["daily", "rate 1 day"]),
    ("NotificationEmail", ["", "ops@example.com"], ["ops", "ops@", "a b@example.com"]),
    ("ManagementAccountId", ["123456789012"], ["12345678901", "abc456789012"]),
    ("OrganizationId", ["o-a1b2c3d4e5"], ["o-short", "r-a1b2c3d4e5", "O-A1B2C3D4E5"]),
])
def test_parameter_patterns_take_good_values_and_refuse_bad_ones(parameter: str, good: list[str], bad: list[str]):
    # CloudFormation anchors nothing itself: the patterns carry ^...$
    pattern = re.compile(load(PIPELINE_TEMPLATE)["Parameters"][parameter]["AllowedPattern"])
    assert all(pattern.fullmatch(value) for value in good)
    assert not any(pattern.fullmatch(value) for value in bad)


def test_the_schedule_pattern_is_the_catalog_schedule_pattern():
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog import SETTINGS_SCHEMA

    pipeline = SETTINGS_SCHEMA["properties"]["pipeline"]["properties"]
    parameters = load(PIPELINE_TEMPLATE)["Parameters"]
    assert parameters["ScheduleExpression"]["AllowedPattern"] == pipeline["schedule"]["pattern"]
    assert parameters["ConnectionArn"]["AllowedPattern"].replace("[0-9]{12}", r"\d{12}") == \
        "^$|" + pipeline["source"]["properties"]["connection_arn"]["pattern"]


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_wildcard_principal_is_allowed_and_no_administrator_access(template: Path):
    text = template.read_text(encoding="utf-8")
    assert "AdministratorAccess" not in text
    assert "ManagedPolicyArns" not in text
    for statement in statements(load(template)):
        principal = statement.get("Principal")
        values = [principal] if isinstance(principal, str) else [
            v for value in (principal or {}).values() for v in (value if isinstance(value, list) else [value])]
        if statement["Effect"] == "Allow":
            assert "*" not in values, statement
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert not any(a == "*" or a.endswith(":*") for a in actions), statement
        else:  # the only Deny: plain HTTP to the bucket, for everyone
            assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_roles_other_parts_of_orgiam_name_are_where_they_expect_them():
    resources = load(PIPELINE_TEMPLATE)["Resources"]
    build_role = resources["BuildRole"]["Properties"]
    assert (build_role["RoleName"], build_role["Path"]) == ("orgiam-sync-build", "/orgiam/")
    assume = [s for s in statements({"x": resources["BuildPolicy"]}) if s["Action"] == "sts:AssumeRole"]
    assert {json.dumps(s["Resource"]) for s in assume} == {
        json.dumps({"Fn::Sub": "arn:${AWS::Partition}:iam::${ManagementAccountId}:role/orgiam/orgiam-organization-reader"}),
        json.dumps({"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/orgiam/orgiam-deployer"}),
    }
    deployer = next(s for s in assume if "orgiam-deployer" in json.dumps(s))
    assert deployer["Condition"] == {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}}
    assert resources["OrganizationEventBus"]["Properties"]["Name"] == \
        load(MANAGEMENT_EVENTS_TEMPLATE)["Parameters"]["PipelineEventBusName"]["Default"]
    outputs = load(PIPELINE_TEMPLATE)["Outputs"]
    assert {"PipelineName", "NotificationTopicArn", "ArtifactBucketName", "BuildRoleArn"} <= set(outputs)


def test_both_templates_watch_the_same_organizations_events():
    pipeline_rule = load(PIPELINE_TEMPLATE)["Resources"]["OrganizationChangeRule"]["Properties"]["EventPattern"]
    forward_rule = load(MANAGEMENT_EVENTS_TEMPLATE)["Resources"]["ForwardRule"]["Properties"]["EventPattern"]
    assert pipeline_rule.pop("account") == [{"Ref": "ManagementAccountId"}]
    assert pipeline_rule == forward_rule


def test_management_events_must_be_deployed_in_us_east_1():
    rules = load(MANAGEMENT_EVENTS_TEMPLATE)["Rules"]
    assert rules["OrganizationsEventsArriveInUsEast1"]["Assertions"][0]["Assert"] == \
        {"Fn::Equals": [{"Ref": "AWS::Region"}, "us-east-1"]}


# ------------------------------------------------------------------------------------------ buildspec


def buildspec() -> dict[str, Any]:
    return yaml.safe_load(BUILDSPEC.read_text(encoding="utf-8"))


def test_buildspec_installs_python_3_11_and_the_pinned_requirements():
    spec = buildspec()
    assert str(spec["version"]) == "0.2"
    install = spec["phases"]["install"]
    assert str(install["runtime-versions"]["python"]) == "3.11"
    assert any("pip install" in c and "-r requirements.txt" in c for c in install["commands"])
    assert any("ORGIAM_SKIP_INSTALL" in c for c in install["commands"])
    assert all(isinstance(c, str) for phase in spec["phases"].values() for c in phase["commands"])


def test_buildspec_reports_junit_into_the_templates_report_group():
    spec = buildspec()
    (name, report), = spec["reports"].items()
    assert report == {"base-directory": "out", "files": ["junit.xml"], "file-format": "JUNITXML"}
    resources = load(PIPELINE_TEMPLATE)["Resources"]
    project = resources["BuildProject"]["Properties"]
    group = resources["BuildReportGroup"]["Properties"]
    # a report group named in a buildspec is <project name>-<name>
    assert group["Name"] == f"{project['Name']}-{name}" and group["Type"] == "TEST"
    assert project["Source"]["BuildSpec"] == "cicd/buildspec.yml"
    assert project["ConcurrentBuildLimit"] == 1
    assert spec["artifacts"] == {"base-directory": "out", "files": ["**/*"]}


def test_the_approval_message_uses_only_variables_the_plan_exports_and_fits_codepipelines_limit():
    exported = set(buildspec()["env"]["exported-variables"])
    stages = load(PIPELINE_TEMPLATE)["Resources"]["Pipeline"]["Properties"]["Stages"]
    approval = next(s for s in stages if "Fn::If" in s)["Fn::If"][1]["Actions"][0]["Configuration"]
    used = re.findall(r"#\{Plan\.([A-Z_]+)\}", approval["CustomData"] + approval["ExternalEntityLink"])
    assert used and set(used) <= exported
    from tests.cicd.test_summary import summary_module

    longest = re.sub(r"#\{[^}]+\}", "", approval["CustomData"])
    assert len(longest) + 40 + summary_module().MAX_SUMMARY <= 500  # commit id: 40 characters


def test_plan_and_apply_actions_pass_mode_to_the_build():
    stages = {s["Name"]: s for s in load(PIPELINE_TEMPLATE)["Resources"]["Pipeline"]["Properties"]["Stages"]
              if "Name" in s}
    for stage, mode in (("Plan", "plan"), ("Apply", "apply")):
        variables = json.loads(stages[stage]["Actions"][0]["Configuration"]["EnvironmentVariables"])
        assert {"name": "MODE", "value": mode, "type": "PLAINTEXT"} in variables

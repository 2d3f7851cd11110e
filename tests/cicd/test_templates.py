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

from tests.cicd.conftest import CICD, MANAGEMENT_EVENTS_TEMPLATE, PIPELINE_TEMPLATE

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
                 "LogRetentionDays", "OrganizationReaderRoleArn", "CatalogPath", "ReleaseKey", "ReleaseSha256"):
        assert name in parameters
    assert "Inventory" not in parameters  # the builds write their inventory; the repository gives none
    assert parameters["SourceProvider"]["AllowedValues"] == ["CodeCommit", "CodeConnections"]
    assert parameters["ApprovalRequired"]["AllowedValues"] == ["when-changes", "true", "false"]
    assert parameters["ApprovalRequired"]["Default"] == "when-changes"
    assert "Default" not in parameters["ReleaseKey"] and "Default" not in parameters["ReleaseSha256"]
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
        elif statement.get("Sid") == "ReleasesAreNotWrittenByThePipeline":  # no role of the pipeline writes releases/
            assert statement["Action"] == ["s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"]
        else:  # the other Deny: plain HTTP to the bucket, for everyone
            assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_roles_other_parts_of_orgiam_name_are_where_they_expect_them():
    resources = load(PIPELINE_TEMPLATE)["Resources"]
    build_role = resources["BuildRole"]["Properties"]
    assert (build_role["RoleName"], build_role["Path"]) == ("orgiam-sync-build", "/orgiam/")
    plan_role = resources["PlanRole"]["Properties"]
    assert (plan_role["RoleName"], plan_role["Path"]) == ("orgiam-sync-plan", "/orgiam/")
    assume = [s for s in statements({"x": resources["BuildPolicy"]}) if s["Action"] == "sts:AssumeRole"]
    assert [json.dumps(s["Resource"]) for s in assume] == [
        json.dumps({"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/orgiam/orgiam-deployer"})]
    assume = [s for s in statements({"x": resources["PlanPolicy"]}) if s["Action"] == "sts:AssumeRole"]
    assert [json.dumps(s["Resource"]) for s in assume] == [
        json.dumps({"Fn::Sub": "arn:${AWS::Partition}:iam::*:role/orgiam/orgiam-planner"})]
    # both read the organization: through the reader role given, or directly (delegated administrator)
    shared = resources["BuildsPolicy"]["Properties"]
    assert sorted(r["Ref"] for r in shared["Roles"]) == ["BuildRole", "PlanRole"]
    (reader,) = [s for s in shared["PolicyDocument"]["Statement"] if isinstance(s, dict) and "Fn::If" in s]
    through_role, directly = reader["Fn::If"][1:]
    assert through_role["Action"] == "sts:AssumeRole" and through_role["Resource"] == {"Ref": "OrganizationReaderRoleArn"}
    assert all(a.startswith(("organizations:List", "organizations:Describe")) for a in directly["Action"])
    assume = [s for s in statements({"x": resources["BuildPolicy"]}) if s["Action"] == "sts:AssumeRole"]
    deployer = next(s for s in assume if "orgiam-deployer" in json.dumps(s))
    assert deployer["Condition"] == {"StringEquals": {"aws:ResourceOrgID": {"Ref": "OrganizationId"}}}
    assert resources["OrganizationEventBus"]["Properties"]["Name"] == \
        load(MANAGEMENT_EVENTS_TEMPLATE)["Parameters"]["PipelineEventBusName"]["Default"]
    outputs = load(PIPELINE_TEMPLATE)["Outputs"]
    assert {"PipelineName", "NotificationTopicArn", "ArtifactBucketName", "BuildRoleArn", "PlanRoleArn", "PlanProjectName"} <= set(outputs)


def test_the_builds_run_the_pinned_release_with_the_templates_own_buildspec():
    """The buildspec is the template's, the same in both projects; it runs the release whose SHA-256 the
    bootstrap pinned, and the commit supplies only the catalog."""
    resources = load(PIPELINE_TEMPLATE)["Resources"]
    plan, apply = resources["PlanProject"]["Properties"], resources["BuildProject"]["Properties"]
    assert plan["Source"]["BuildSpec"] == apply["Source"]["BuildSpec"]
    spec = yaml.safe_load(plan["Source"]["BuildSpec"])
    assert spec["version"] == 0.2
    install = "\n".join(spec["phases"]["install"]["commands"])
    assert "sha256sum --check --strict" in install and "$ORGIAM_RELEASE_KEY" in install
    assert install.index("sha256sum") < install.index("tar -xzf") < install.index("install.sh")
    # nothing is run from the source directory: every script is the release's
    commands = [c for phase in spec["phases"].values() for c in phase["commands"]]
    assert not any("CODEBUILD_SRC_DIR/" in c and (".sh" in c.split("CODEBUILD_SRC_DIR/")[1][:40]) for c in commands)
    assert "$ORGIAM_CICD/build.sh" in " ".join(commands)
    env = {p: {v["Name"]: v["Value"] for v in r["Environment"]["EnvironmentVariables"]} for p, r in
           (("plan", plan), ("apply", apply))}
    assert (env["plan"]["MODE"], env["apply"]["MODE"]) == ("plan", "apply")
    assert env["plan"]["ORGIAM_MEMBER_ROLE_NAME"] == "orgiam/orgiam-planner"
    assert env["apply"]["ORGIAM_MEMBER_ROLE_NAME"] == "orgiam/orgiam-deployer"
    assert env["plan"]["ORGIAM_PREVIEW"] == "template"  # the planner cannot create change sets
    for variables in env.values():
        assert variables["ORGIAM_RELEASE_KEY"] == {"Ref": "ReleaseKey"}
        assert variables["ORGIAM_RELEASE_SHA256"] == {"Ref": "ReleaseSha256"}
        assert variables["ORGIAM_CATALOG"] == {"Ref": "CatalogPath"}
    assert (plan["ServiceRole"], apply["ServiceRole"]) == ({"Fn::GetAtt": ["PlanRole", "Arn"]},
                                                           {"Fn::GetAtt": ["BuildRole", "Arn"]})


def test_approval_is_skipped_when_the_plan_changes_nothing():
    pipeline = load(PIPELINE_TEMPLATE)["Resources"]["Pipeline"]["Properties"]
    stages = {}
    for stage in pipeline["Stages"]:
        stage = stage["Fn::If"][1] if "Fn::If" in stage else stage
        stages[stage["Name"]] = stage
    assert list(stages) == ["Source", "Plan", "Approval", "Apply"]
    condition, absent = stages["Approval"]["BeforeEntry"]["Fn::If"][1:]
    assert stages["Approval"]["BeforeEntry"]["Fn::If"][0] == "ApprovalWhenChanges" and absent == {"Ref": "AWS::NoValue"}
    (rule,) = condition["Conditions"][0]["Rules"]
    assert condition["Conditions"][0]["Result"] == "SKIP"
    assert rule["RuleTypeId"]["Provider"] == "VariableCheck"
    assert rule["Configuration"] == {"Variable": "#{Plan.ORGIAM_APPROVAL}", "Value": "needed", "Operator": "EQ"}
    assert stages["Plan"]["Actions"][0]["Configuration"]["ProjectName"] == {"Ref": "PlanProject"}
    assert stages["Apply"]["Actions"][0]["Configuration"]["ProjectName"] == {"Ref": "BuildProject"}


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
    """The buildspec of the pipeline's template (the plan's and the apply's are the same text)."""
    return yaml.safe_load(load(PIPELINE_TEMPLATE)["Resources"]["BuildProject"]["Properties"]["Source"]["BuildSpec"])


def test_buildspec_installs_python_3_11_and_the_releases_hashed_requirements():
    spec = buildspec()
    assert str(spec["version"]) == "0.2"
    install = spec["phases"]["install"]
    assert str(install["runtime-versions"]["python"]) == "3.11"
    # the packages come from the release's own lock, each file checked against its hash
    assert any("install.sh" in c for c in install["commands"])
    script = (CICD.parent / "collections/ansible_collections/orgiam/aws/files/cicd/install.sh").read_text()
    assert "--require-hashes" in script and '-r "$ORGIAM_HOME/requirements-runtime.txt"' in script
    assert "ORGIAM_SKIP_INSTALL" in script
    assert all(isinstance(c, str) for phase in spec["phases"].values() for c in phase["commands"])


def test_buildspec_reports_junit_into_the_templates_report_group():
    spec = buildspec()
    (name, report), = spec["reports"].items()
    assert report == {"base-directory": "out", "files": ["junit.xml"], "file-format": "JUNITXML"}
    resources = load(PIPELINE_TEMPLATE)["Resources"]
    for project, group in (("BuildProject", "BuildReportGroup"), ("PlanProject", "PlanReportGroup")):
        project, group = resources[project]["Properties"], resources[group]["Properties"]
        # a report group named in a buildspec is <project name>-<name>
        assert group["Name"] == f"{project['Name']}-{name}" and group["Type"] == "TEST"
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


def test_plan_and_apply_run_their_own_projects_and_only_the_apply_takes_the_plan():
    """MODE is the project's (a plan project cannot be made to apply by the action); the apply requires the
    Plan artifact."""
    stages = {s["Name"]: s for s in load(PIPELINE_TEMPLATE)["Resources"]["Pipeline"]["Properties"]["Stages"]
              if "Name" in s}
    for stage in ("Plan", "Apply"):
        variables = json.loads(stages[stage]["Actions"][0]["Configuration"]["EnvironmentVariables"])
        assert "MODE" not in {v["name"] for v in variables}
    apply = stages["Apply"]["Actions"][0]
    assert {"name": "ORGIAM_REQUIRE_PLAN", "value": "1", "type": "PLAINTEXT"} in json.loads(
        apply["Configuration"]["EnvironmentVariables"])
    assert apply["InputArtifacts"] == [{"Name": "Source"}, {"Name": "Plan"}]

"""The templates bootstrap deploys (the collection's files/cicd/bootstrap/, linked from cicd/bootstrap/):
cfn-lint clean, least privilege, trusting only the pipeline's build role. Read as CloudFormation reads them, without AWS."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ansible_collections.orgiam.aws.plugins.module_utils.render.bootstrap import _CfnLoader, templates_dir

BOOTSTRAP = Path(templates_dir()) / "bootstrap"
DEPLOYER = BOOTSTRAP / "deployer-role.yml"
READER = BOOTSTRAP / "organization-reader.yml"
ROLE_INLINE_MAX = 10240
MANAGED_POLICY_MAX = 6144


def load(path: Path) -> dict[str, Any]:
    return yaml.load(path.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(template: dict[str, Any]) -> list[dict[str, Any]]:
    documents = []
    for resource in template["Resources"].values():
        properties = resource["Properties"]
        documents += [p["PolicyDocument"] for p in properties.get("Policies", [])]
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            documents.append(properties["PolicyDocument"])
    return documents


def allowed(template: dict[str, Any]) -> list[tuple[list[str], list[Any]]]:
    return [(as_list(s["Action"]), as_list(s["Resource"])) for d in policy_documents(template) for s in d["Statement"]
            if s["Effect"] == "Allow"]


def size(document: dict[str, Any]) -> int:
    return len(json.dumps(document, separators=(",", ":")))


def test_cfn_lint_passes():
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    run = subprocess.run([str(cfn_lint), *map(str, sorted(BOOTSTRAP.glob("*.yml")))], capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


PLAN_ROLE = {"Fn::Sub": ["arn:${AWS::Partition}:iam::${PipelineAccountId}:role/orgiam/orgiam-sync-plan",
                         {"PipelineAccountId": {"Fn::Select": [4, {"Fn::Split": [":", {"Ref": "BuildRoleArn"}]}]}}]}


@pytest.mark.parametrize("path, role, trusted", [
    (DEPLOYER, "DeployerRole", {"Ref": "BuildRoleArn"}),  # the apply only
    (DEPLOYER, "PlannerRole", PLAN_ROLE),  # the plan only
    (READER, "OrganizationReaderRole", [{"Ref": "BuildRoleArn"}, PLAN_ROLE]),  # both read the organization
])
def test_each_role_trusts_only_the_pipelines_build_roles(path, role, trusted):
    properties = load(path)["Resources"][role]["Properties"]
    assert properties["Path"] == "/orgiam/" and properties["RoleName"].startswith("orgiam-")
    (statement,) = properties["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"] == {"ArnEquals": {"aws:PrincipalArn": trusted}}
    assert "ManagedPolicyArns" not in properties  # no AWS managed policy, AdministratorAccess least of all


def test_the_planner_can_only_read():
    resources = load(DEPLOYER)["Resources"]
    planner = [resources["PlannerRole"]["Properties"]["Policies"][0]["PolicyDocument"],
               resources["PlannerCentralPolicy"]["Properties"]["PolicyDocument"]]
    actions = {a for document in planner for s in document["Statement"] for a in as_list(s["Action"])}
    assert all(s["Effect"] == "Allow" for document in planner for s in document["Statement"])
    assert actions and all(a.split(":")[1].startswith(("Get", "List", "Describe")) for a in actions), actions
    assert "secretsmanager:GetSecretValue" not in actions  # whether a password's secret exists, never its value


@pytest.mark.parametrize("path", [DEPLOYER, READER])
def test_no_policy_allows_everything(path):
    for actions, resources in allowed(load(path)):
        assert "*" not in actions and not any(a.endswith(":*") for a in actions), actions
        if "*" in resources:  # only calls that have no narrower resource
            # GetAccountAuthorizationDetails reads the whole account (live verification's report of who else may
            # assume orgiam's roles): it takes no narrower resource, and only reads
            assert all(a.startswith(("organizations:List", "organizations:Describe"))
                       or a in ("secretsmanager:GetRandomPassword", "iam:GetAccountAuthorizationDetails", "sso:ListInstances",
                                "cloudformation:ListStackSets") for a in actions), actions


def test_the_deployer_reaches_only_orgiams_stacks_and_path():
    template = load(DEPLOYER)
    for actions, resources in allowed(template):
        for resource in resources:
            text = resource["Fn::Sub"] if isinstance(resource, dict) else resource
            if any(a.startswith("cloudformation:") for a in actions):
                assert text.endswith(("stack/${StackPrefix}-roles/*", "stack/${StackPrefix}-identity/*",
                                      "stack/${StackPrefix}-organization-policies/*", "stack/${StackPrefix}-identity-center/*",
                                      "stackset/${StackPrefix}-role-*:*", "stackset-target/${StackPrefix}-role-*",
                                      "type/resource/AWS-IAM-*")) or text == "*", text
            elif actions == ["iam:GetAccountAuthorizationDetails"]:
                assert text == "*"
            elif set(actions) == {"iam:GetPolicy", "iam:GetPolicyVersion"} and ":iam::aws:policy/" in text:
                pass  # reading AWS managed policies' documents: nothing of the account
            elif any(a.startswith("iam:") for a in actions):
                assert ":role${RolePath}*" in text or ":policy${RolePath}*" in text or ":group${RolePath}*" in text \
                    or ":user${RolePath}*" in text or ":role/orgiam/federated/*" in text or ":saml-provider/*" in text, text
    assert not any(a == "iam:PassRole" for actions, _ in allowed(template) for a in actions)
    deny = [s for d in policy_documents(template) for s in d["Statement"] if s["Effect"] == "Deny"]
    assert deny and {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/orgiam/orgiam-*"} in deny[0]["Resource"]


def test_only_the_central_account_manages_people_and_passwords():
    resources = load(DEPLOYER)["Resources"]
    central = resources["CentralAccountPolicy"]
    assert central["Condition"] == "IsCentral"
    actions = {a for s in central["Properties"]["PolicyDocument"]["Statement"] for a in as_list(s["Action"])}
    assert {"iam:CreateUser", "iam:CreateGroup", "iam:CreateLoginProfile", "secretsmanager:CreateSecret", "iam:CreateSAMLProvider"} <= actions
    inline = {a for p in resources["DeployerRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]
              for a in as_list(s["Action"])}
    assert not {a for a in inline if a.startswith(("secretsmanager:", "iam:CreateUser", "iam:CreateGroup", "s3:"))}
    assert resources["TemplateReadPolicy"]["Condition"] == "HasTemplateBucket"
    assert resources["TemplateUploadPolicy"]["Condition"] == "IsCentralWithBucket"


def test_the_reader_only_reads_the_organization():
    actions = [a for found, _ in allowed(load(READER)) for a in found]
    assert actions and all(a.startswith(("organizations:List", "organizations:Describe")) for a in actions)
    assert {"organizations:ListRoots", "organizations:ListAccountsForParent", "organizations:ListOrganizationalUnitsForParent",
            "organizations:ListTagsForResource"} <= set(actions)


def test_policies_fit_iams_size_quotas():
    template = load(DEPLOYER)
    inline = template["Resources"]["DeployerRole"]["Properties"]["Policies"]
    assert sum(size(p["PolicyDocument"]) for p in inline) < ROLE_INLINE_MAX
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::IAM::ManagedPolicy":
            assert size(resource["Properties"]["PolicyDocument"]) < MANAGED_POLICY_MAX

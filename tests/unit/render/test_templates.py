"""Templates: trust, MFA, grants, size quotas, hashes, the grants metadata."""

import json

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import OUTarget, RoleDef, Selector
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.identity import Identity, default_groups_for
from ansible_collections.orgiam.aws.plugins.module_utils.model import MANAGED_BY_TAG
from ansible_collections.orgiam.aws.plugins.module_utils.render.central import central_template, chunk_assume_policies
from ansible_collections.orgiam.aws.plugins.module_utils.render.common import MANAGED_POLICY_MAX_CHARS, TemplateError, role_arn, template_hash
from ansible_collections.orgiam.aws.plugins.module_utils.render.member import member_template

RO = RoleDef(name="ReadOnly", source="r.yml:1", managed_policies=("ReadOnlyAccess", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"))



def test_member_role_trusts_only_the_central_account_with_mfa():
    template = member_template([RO], "222222222222", "333333333333")
    (resource,) = template["Resources"].values()
    props = resource["Properties"]
    (statement,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Principal"] == {"AWS": "arn:aws:iam::222222222222:root"}
    assert statement["Condition"] == {"Bool": {"aws:MultiFactorAuthPresent": "true"}}
    assert props["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/ReadOnlyAccess", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]
    assert props["Path"] == "/orgiam/" and {"Key": MANAGED_BY_TAG, "Value": "orgiam"} in props["Tags"]
    assert template["Outputs"]["OrgiamRoleArns"]["Value"] == "arn:aws:iam::333333333333:role/orgiam/ReadOnly"


def test_hash_is_stable_and_changes_with_content():
    a = member_template([RO], "2", "3")
    assert template_hash(a) == template_hash(json.loads(json.dumps(a)))
    assert template_hash(a) != template_hash(member_template([RO], "4", "3"))


def test_central_grants_exact_arns_and_requires_mfa():
    arns = [role_arn(f"{i:012d}", RO) for i in (5, 3)]
    groups = default_groups_for(RoleDef(name="ReadOnly", source="r", include=Selector(ou_paths=(OUTarget("Workloads"),))), "orgiam")
    template = central_template({"orgiam-ReadOnly-Workloads": arns}, {"ReadOnly": arns}, Identity(groups=tuple(groups)), "orgiam", "/orgiam/")
    kinds = sorted(r["Type"] for r in template["Resources"].values())
    assert kinds == ["AWS::IAM::Group", "AWS::IAM::ManagedPolicy"]
    policy = next(r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy")["Properties"]
    (statement,) = policy["PolicyDocument"]["Statement"]
    assert statement["Resource"] == sorted(arns) and statement["Action"] == "sts:AssumeRole"
    assert statement["Condition"]["Bool"]["aws:MultiFactorAuthPresent"] == "true"


def test_assume_policies_split_within_iam_size_quota():
    arns = [role_arn(f"{i:012d}", RO) for i in range(400)]
    documents = chunk_assume_policies(arns, True)
    assert len(documents) > 1
    assert all(len(json.dumps(d, separators=(",", ":"))) <= MANAGED_POLICY_MAX_CHARS for d in documents)
    assert sorted(a for d in documents for a in d["Statement"][0]["Resource"]) == sorted(arns)
    with pytest.raises(TemplateError, match="more than the 10 IAM allows"):
        groups = default_groups_for(RoleDef(name="ReadOnly", source="r", include=Selector(ou_paths=(OUTarget("W"),))), "orgiam")
        many = [role_arn(f"{i:012d}", RO) for i in range(2000)]
        central_template({"orgiam-ReadOnly-W": many}, {"ReadOnly": many}, Identity(groups=tuple(groups)), "orgiam", "/orgiam/")


def test_customer_managed_policies_and_external_id_render():
    role = RoleDef(name="Vendor", source="v.yml:1", external_id="vendor-1234",
                   customer_managed_policies=(("logs", json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"}]})),))
    template = member_template([role], "2", "3")
    kinds = sorted(r["Type"] for r in template["Resources"].values())
    assert kinds == ["AWS::IAM::ManagedPolicy", "AWS::IAM::Role"]
    policy = next(r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy")["Properties"]
    assert policy["ManagedPolicyName"] == "Vendor-logs" and policy["Roles"][0]["Ref"].startswith("RoleVendor")
    trust = next(r for r in template["Resources"].values() if r["Type"] == "AWS::IAM::Role")["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Condition"] == {
        "Bool": {"aws:MultiFactorAuthPresent": "true"},
        "StringEquals": {"sts:ExternalId": "vendor-1234"},
    }


def test_a_role_in_1000_accounts_fits_iam_quotas():
    role = RoleDef(name="ReadOnly", source="r.yml:1", include=Selector(ou_paths=(OUTarget("Workloads"),)))
    groups = default_groups_for(role, "orgiam")
    arns = [role_arn(f"{100000000000 + i:012d}", role) for i in range(1000)]
    template = central_template({groups[0].name: arns}, {"ReadOnly": arns}, Identity(groups=tuple(groups)), "orgiam", "/orgiam/")
    policies = [r["Properties"] for r in template["Resources"].values() if r["Type"] == "AWS::IAM::ManagedPolicy"]
    assert 1 < len(policies) <= 10  # IAM: at most 10 managed policies on a group
    for policy in policies:
        assert len(json.dumps(policy["PolicyDocument"], separators=(",", ":"))) <= MANAGED_POLICY_MAX_CHARS
        assert len(policy["ManagedPolicyName"]) <= 128
    granted = sorted(a for p in policies for s in p["PolicyDocument"]["Statement"] for a in s["Resource"])
    assert granted == sorted(arns)  # every ARN exactly once, no wildcard
    assert len(json.dumps(template)) < 1_000_000  # CloudFormation's template body limit via S3 is 1 MB


def test_grants_metadata_round_trips_compactly():
    from ansible_collections.orgiam.aws.plugins.module_utils.render.central import compact_grants, grants_from_template

    deployed = {"ReadOnly": [role_arn(f"{i:012d}", RO) for i in range(1000)], "Empty": []}
    stored = compact_grants(deployed)
    assert len(json.dumps(stored)) < 14 * 1000 + 200
    assert grants_from_template({"Metadata": {"OrgiamGrants": stored}}) == {"ReadOnly": sorted(deployed["ReadOnly"])}

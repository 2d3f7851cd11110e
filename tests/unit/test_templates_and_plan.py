"""Templates (trust, MFA, grants, size quotas), plan decisions and the executor's isolation."""

import json

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils import model as P
from ansible_collections.orgiam.aws.plugins.module_utils.apply.executor import run_all
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import OUTarget, RoleDef, Selector
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.identity import Identity, default_groups_for
from ansible_collections.orgiam.aws.plugins.module_utils.model import HASH_TAG, MANAGED_BY_TAG
from ansible_collections.orgiam.aws.plugins.module_utils.plan.decide import decide
from ansible_collections.orgiam.aws.plugins.module_utils.plan.diff import describe_changes
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


def state(status="CREATE_COMPLETE", digest="h1", managed=True):
    tags = {HASH_TAG: digest}
    if managed:
        tags[MANAGED_BY_TAG] = "orgiam"
    return P.StackState("orgiam-roles", status, tags)


@pytest.mark.parametrize(
    "observed, desired, prune, action",
    [
        (None, "h1", "plan", P.Action.CREATE),
        (state(), "h1", "plan", P.Action.NOOP),
        (state("UPDATE_ROLLBACK_COMPLETE"), "h1", "plan", P.Action.NOOP),
        (state(), "h2", "plan", P.Action.UPDATE),
        (state(), None, "plan", P.Action.RETAIN),
        (state(), None, "never", P.Action.RETAIN),
        (state(), None, "apply", P.Action.DELETE),
        (None, None, "apply", P.Action.NOOP),
        (state("ROLLBACK_COMPLETE"), "h1", "plan", P.Action.RECREATE),
        (state("UPDATE_ROLLBACK_FAILED"), "h1", "plan", P.Action.CONTINUE_AND_UPDATE),
        (state("DELETE_FAILED"), "h1", "plan", P.Action.RECREATE),
        (state("UPDATE_IN_PROGRESS"), "h1", "plan", P.Action.WAIT),
        (state(managed=False), "h1", "apply", P.Action.REFUSE),
        (state(managed=False), None, "apply", P.Action.NOOP),
    ],
)
def test_decisions(observed, desired, prune, action):
    assert decide(observed, desired, prune).action == action


def test_never_deletes_a_stack_orgiam_did_not_create():
    assert decide(state(managed=False), None, "apply").action != P.Action.DELETE


def test_executor_keeps_failures_to_their_job_and_bounds_concurrency():
    import threading

    active, peak, lock = [0], [0], threading.Lock()
    gate = threading.Barrier(3)

    def work(n):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        try:
            if n < 3:
                gate.wait(timeout=5)  # three jobs are in flight together
            if n % 4 == 0:
                raise RuntimeError(f"boom {n}")
            return ("ok", n)
        finally:
            with lock:
                active[0] -= 1

    seen = []
    results = run_all(range(10), work, lambda n, e: ("failed", n, str(e)), concurrency=3, on_done=seen.append)
    assert sorted(r[1] for r in results) == list(range(10))
    assert sorted(r[1] for r in results if r[0] == "failed") == [0, 4, 8]
    assert peak[0] == 3 and len(seen) == 10


def test_describe_changes_reads_like_a_plan():
    before = member_template([RO], "2", "3")
    changed = RoleDef(name="ReadOnly", source="r.yml:1", managed_policies=("ViewOnlyAccess", "PowerUserAccess"), max_session_duration=7200,
                      inline_policies=(("logs", json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:Get*", "Resource": "*"}]})),))
    extra = RoleDef(name="Billing", source="b.yml:1")
    after = member_template([changed, extra], "9", "3")
    lines = describe_changes(before, after)
    text = "\n".join(lines)
    assert "+ AWS::IAM::Role Billing" in text and "~ AWS::IAM::Role ReadOnly" in text
    assert "+ arn:aws:iam::aws:policy/PowerUserAccess" in text and "- arn:aws:iam::aws:policy/ReadOnlyAccess" in text
    assert "ViewOnlyAccess" not in text  # the same policy, named without its job-function/ path
    assert "MaxSessionDuration: 3600 -> 7200" in text
    assert 'AssumeRolePolicyDocument: + statement' in text and "arn:aws:iam::9:root" in text
    assert "AssumeRolePolicyDocument: - statement" in text
    assert "Policies" not in text or "inline policy" in text
    assert describe_changes(after, after) == []
    assert describe_changes(after, None) == ["- AWS::IAM::Role Billing", "- AWS::IAM::Role ReadOnly"]


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


def test_large_templates_go_through_the_bucket_or_fail_clearly():
    from ansible_collections.orgiam.aws.plugins.module_utils.aws.cloudformation import inline_only, via_bucket
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog import canonical_json as template_json
    from ansible_collections.orgiam.aws.plugins.module_utils.aws.errors import AwsAccessError

    small = template_json({"Resources": {"A": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
    large_template = {"Resources": {f"R{i}": {"Type": "AWS::CloudFormation::WaitConditionHandle", "Metadata": "x" * 100} for i in range(600)}}
    large = template_json(large_template)
    assert "TemplateBody" in inline_only("s", small)
    with pytest.raises(AwsAccessError, match="set template_bucket in settings.yml"):
        inline_only("orgiam-identity", large)

    class FakeS3:
        def put_object(self, **kwargs):
            self.put = kwargs

    s3 = FakeS3()
    args = via_bucket(s3, "orgiam-templates", "us-east-1")("orgiam-identity", large)
    assert args["TemplateURL"].startswith("https://orgiam-templates.s3.us-east-1.amazonaws.com/orgiam/templates/orgiam-identity/")
    assert s3.put["Bucket"] == "orgiam-templates" and json.loads(s3.put["Body"]) == large_template
    assert "TemplateBody" in via_bucket(s3, "b", "us-east-1")("s", small)

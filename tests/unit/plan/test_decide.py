"""Plan decisions for every stack state, and the readable plan of resource and statement changes."""

import json

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils import model as P
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import RoleDef
from ansible_collections.orgiam.aws.plugins.module_utils.model import HASH_TAG, MANAGED_BY_TAG
from ansible_collections.orgiam.aws.plugins.module_utils.plan.decide import decide
from ansible_collections.orgiam.aws.plugins.module_utils.plan.diff import describe_changes
from ansible_collections.orgiam.aws.plugins.module_utils.render.member import member_template

RO = RoleDef(name="ReadOnly", source="r.yml:1", managed_policies=("ReadOnlyAccess", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"))



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


def test_a_resource_whose_type_changes_is_a_replacement_not_a_modification():
    from ansible_collections.orgiam.aws.plugins.module_utils.plan.diff import template_changes, type_changes

    group = {"Resources": {"GroupReadOnly1a2b3c": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "ReadOnly"}},
                           "Keep": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "k"}}}}
    role = {"Resources": {"GroupReadOnly1a2b3c": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": "ReadOnly"}},
                          "Keep": {"Type": "AWS::IAM::Group", "Properties": {"GroupName": "k2"}}}}
    assert type_changes(group, role) == {"GroupReadOnly1a2b3c": ("AWS::IAM::Group", "AWS::IAM::Role")}
    changes = template_changes(group, role)
    assert changes["replace"] == ["GroupReadOnly1a2b3c"] and changes["modify"] == ["Keep"]
    lines = describe_changes(group, role)
    assert lines[0].startswith("± AWS::IAM::Group ReadOnly -> AWS::IAM::Role ReadOnly: replaced, not modified")

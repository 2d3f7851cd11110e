"""Stack states as AWS has them: a failing resource rolls back, and rollbacks can fail and continue.

How each state is reached here:
    ROLLBACK_COMPLETE          a create with a role whose name already exists outside the stack
    stack gone (DELETE)        the same, with OnFailure=DELETE
    CREATE_FAILED              the same, with OnFailure=DO_NOTHING
    UPDATE_ROLLBACK_COMPLETE   an update that adds a role whose name already exists
    UPDATE_ROLLBACK_FAILED     an update of a role deleted out of band: its update fails, and so does the
                               rollback that would restore it; or the control path POST /_orgiam/stack-status
    DELETE_FAILED              the control path
"""

from __future__ import annotations

import json
import urllib.error
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator import control
from tests.emulator.conftest import AccountSession, described, error_of, policy, template, trust

READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
POWER_USER = "arn:aws:iam::aws:policy/PowerUserAccess"
MANAGEMENT_ROOT = "arn:aws:iam::123456789012:root"
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]


@pytest.fixture
def member(new_member: AccountSession) -> AccountSession:
    """A new account of this module's organization (conftest's ``new_member``): no reset, no seed."""
    return new_member


def role(name: str, **properties: Any) -> dict[str, Any]:
    body = {"RoleName": name, "Path": "/orgiam/", "AssumeRolePolicyDocument": trust(MANAGEMENT_ROOT), **properties}
    return {"Type": "AWS::IAM::Role", "Properties": body}


def managed_policy(name: str) -> dict[str, Any]:
    return {"Type": "AWS::IAM::ManagedPolicy",
            "Properties": {"ManagedPolicyName": name, "PolicyDocument": policy("s3:ListBucket")}}


def take_role_name(member: AccountSession, name: str) -> None:
    """A role made outside any stack, whose name a template then also asks for."""
    member.iam.create_role(RoleName=name, Path="/orgiam/", AssumeRolePolicyDocument=json.dumps(trust(MANAGEMENT_ROOT)))


def roles(member: AccountSession) -> list[str]:
    return sorted(r["RoleName"] for r in member.iam.list_roles(PathPrefix="/orgiam/")["Roles"])


def local_policies(member: AccountSession) -> list[str]:
    return sorted(p["PolicyName"] for p in member.iam.list_policies(Scope="Local")["Policies"])


def events(member: AccountSession, stack_name: str) -> list[tuple[str, str, str]]:
    """(logical id, status, reason) of every event, oldest first."""
    found = member.cloudformation.describe_stack_events(StackName=stack_name)["StackEvents"]
    return [(e["LogicalResourceId"], e["ResourceStatus"], e.get("ResourceStatusReason", "")) for e in reversed(found)]


def attached(member: AccountSession, role_name: str) -> set[str]:
    return {p["PolicyArn"] for p in member.iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]}


FAILING_CREATE = {
    "Extra": managed_policy("AuditorExtra"),
    "Auditor": role("Auditor", ManagedPolicyArns=[{"Ref": "Extra"}, READ_ONLY]),
    "Taken": dict(role("Taken"), DependsOn="Auditor"),
}


def test_a_failed_create_rolls_back_and_ends_rollback_complete(member: AccountSession) -> None:
    take_role_name(member, "Taken")
    cloudformation = member.cloudformation
    stack_id = cloudformation.create_stack(StackName="orgiam-roles", TemplateBody=template(FAILING_CREATE),
                                           Capabilities=CAPABILITIES)["StackId"]

    stack = described(cloudformation, "orgiam-roles")
    assert stack["StackId"] == stack_id and stack["StackStatus"] == "ROLLBACK_COMPLETE"
    reason = stack["StackStatusReason"]
    assert reason.startswith("The following resource(s) failed to create: [Taken]. Rollback requested by user.")
    assert "Role with name Taken already exists" in reason
    assert "Outputs" not in stack
    # what the stack had made is gone again; the role made outside it stays
    assert roles(member) == ["Taken"] and local_policies(member) == []
    assert cloudformation.describe_stack_resources(StackName="orgiam-roles")["StackResources"] == []
    history = events(member, "orgiam-roles")
    failed = [e for e in history if e[1] == "CREATE_FAILED"]
    assert failed[0][0] == "Taken" and "already exists" in failed[0][2] and "HandlerErrorCode: AlreadyExists" in failed[0][2]
    assert ("Auditor", "DELETE_COMPLETE", "") in history and ("Extra", "DELETE_COMPLETE", "") in history
    assert [e[1] for e in history if e[0] == "orgiam-roles"] == [
        "CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"]

    # a ROLLBACK_COMPLETE stack can only be deleted; then the name is free again
    with pytest.raises(ClientError) as refused:
        cloudformation.update_stack(StackName="orgiam-roles", TemplateBody=template({"Auditor": role("Auditor")}),
                                    Capabilities=CAPABILITIES)
    assert error_of(refused) == ("ValidationError",
                                 f"Stack:{stack_id} is in ROLLBACK_COMPLETE state and can not be updated.")
    with pytest.raises(ClientError) as exists:
        cloudformation.create_stack(StackName="orgiam-roles", TemplateBody=template(FAILING_CREATE))
    assert error_of(exists)[0] == "AlreadyExistsException"
    cloudformation.delete_stack(StackName="orgiam-roles")
    member.iam.delete_role(RoleName="Taken")
    cloudformation.create_stack(StackName="orgiam-roles", TemplateBody=template(FAILING_CREATE), Capabilities=CAPABILITIES)
    assert described(cloudformation, "orgiam-roles")["StackStatus"] == "CREATE_COMPLETE"
    assert roles(member) == ["Auditor", "Taken"]


def test_on_failure_delete_leaves_no_stack(member: AccountSession) -> None:
    take_role_name(member, "Taken")
    cloudformation = member.cloudformation
    stack_id = cloudformation.create_stack(StackName="orgiam-roles", TemplateBody=template(FAILING_CREATE),
                                           OnFailure="DELETE")["StackId"]
    with pytest.raises(ClientError) as gone:
        cloudformation.describe_stacks(StackName="orgiam-roles")
    assert error_of(gone) == ("ValidationError", "Stack with id orgiam-roles does not exist")
    assert described(cloudformation, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    assert roles(member) == ["Taken"] and local_policies(member) == []


def test_on_failure_do_nothing_keeps_what_was_made_in_create_failed(member: AccountSession) -> None:
    take_role_name(member, "Taken")
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="orgiam-roles", TemplateBody=template(FAILING_CREATE), OnFailure="DO_NOTHING")
    stack = described(cloudformation, "orgiam-roles")
    assert stack["StackStatus"] == "CREATE_FAILED" and stack["DisableRollback"] is True
    assert stack["StackStatusReason"].startswith("The following resource(s) failed to create: [Taken].")
    assert roles(member) == ["Auditor", "Taken"] and local_policies(member) == ["AuditorExtra"]
    assert sorted(r["LogicalResourceId"] for r in
                  cloudformation.describe_stack_resources(StackName="orgiam-roles")["StackResources"]) == ["Auditor", "Extra"]

    cloudformation.delete_stack(StackName="orgiam-roles")  # deletes what the stack made, not the other role
    assert roles(member) == ["Taken"] and local_policies(member) == []


def test_disable_rollback_is_do_nothing(member: AccountSession) -> None:
    take_role_name(member, "Taken")
    member.cloudformation.create_stack(StackName="s", TemplateBody=template(FAILING_CREATE), DisableRollback=True)
    assert described(member.cloudformation, "s")["StackStatus"] == "CREATE_FAILED"


BEFORE = {
    "Spare": managed_policy("Spare"),
    "Auditor": role("Auditor", Description="read-only auditor", MaxSessionDuration=3600, ManagedPolicyArns=[READ_ONLY],
                    Policies=[{"PolicyName": "Logs", "PolicyDocument": policy("logs:GetLogEvents")}]),
}
AUDITOR_ARN = {"Fn::GetAtt": ["Auditor", "Arn"]}


def failing_update() -> dict[str, Any]:
    """Changes Auditor in every way, adds a policy, removes Spare, and adds a role whose name is taken
    (after Auditor's update, which it depends on)."""
    return {
        "Added": managed_policy("Added"),
        "Auditor": role("Auditor", Description="power", MaxSessionDuration=7200,
                        ManagedPolicyArns=[POWER_USER, {"Ref": "Added"}],
                        Policies=[{"PolicyName": "Admin", "PolicyDocument": policy("*")}]),
        "Taken": dict(role("Taken"), DependsOn="Auditor"),
    }


def test_a_failed_update_restores_the_previous_template_and_iam(member: AccountSession) -> None:
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="orgiam-roles", TemplateBody=template(BEFORE, {"Arn": {"Value": AUDITOR_ARN}}),
                                Capabilities=CAPABILITIES, Tags=[{"Key": "orgiam:hash", "Value": "one"}])
    take_role_name(member, "Taken")

    cloudformation.update_stack(StackName="orgiam-roles", TemplateBody=template(failing_update()),
                                Capabilities=CAPABILITIES, Tags=[{"Key": "orgiam:hash", "Value": "two"}])

    stack = described(cloudformation, "orgiam-roles")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert stack["StackStatusReason"].startswith("The following resource(s) failed to create: [Taken].")
    assert stack["Tags"] == [{"Key": "orgiam:hash", "Value": "one"}]
    assert [o["OutputKey"] for o in stack["Outputs"]] == ["Arn"]
    body = cloudformation.get_template(StackName="orgiam-roles")["TemplateBody"]  # boto3 parses a JSON body
    assert json.loads(json.dumps(body)) == json.loads(template(BEFORE, {"Arn": {"Value": AUDITOR_ARN}}))
    # Auditor was changed before Taken failed: every change is undone; Added is gone, Spare was never removed
    auditor = member.iam.get_role(RoleName="Auditor")["Role"]
    assert auditor["Description"] == "read-only auditor" and auditor["MaxSessionDuration"] == 3600
    assert attached(member, "Auditor") == {READ_ONLY}
    assert member.iam.list_role_policies(RoleName="Auditor")["PolicyNames"] == ["Logs"]
    assert local_policies(member) == ["Spare"] and roles(member) == ["Auditor", "Taken"]
    statuses = [e[:2] for e in events(member, "orgiam-roles")]
    assert ("Auditor", "UPDATE_COMPLETE") in statuses and ("Taken", "CREATE_FAILED") in statuses
    assert [s for r, s in statuses if r == "orgiam-roles"][-3:] == [
        "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"]

    # UPDATE_ROLLBACK_COMPLETE is stable: the next update goes through, and its cleanup removes Spare
    member.iam.delete_role(RoleName="Taken")
    cloudformation.update_stack(StackName="orgiam-roles", TemplateBody=template(failing_update()), Capabilities=CAPABILITIES)
    assert described(cloudformation, "orgiam-roles")["StackStatus"] == "UPDATE_COMPLETE"
    assert attached(member, "Auditor") == {POWER_USER, f"arn:aws:iam::{member.account_id}:policy/Added"}
    assert local_policies(member) == ["Added"] and roles(member) == ["Auditor", "Taken"]


def test_an_update_whose_rollback_fails_ends_update_rollback_failed_and_can_continue(member: AccountSession) -> None:
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="orgiam-roles", TemplateBody=template(BEFORE), Capabilities=CAPABILITIES)
    # out of band: the role the stack manages is deleted
    member.iam.detach_role_policy(RoleName="Auditor", PolicyArn=READ_ONLY)
    member.iam.delete_role_policy(RoleName="Auditor", PolicyName="Logs")
    member.iam.delete_role(RoleName="Auditor")

    after = dict(BEFORE, Auditor=role("Auditor", Description="changed", ManagedPolicyArns=[READ_ONLY]))
    cloudformation.update_stack(StackName="orgiam-roles", TemplateBody=template(after), Capabilities=CAPABILITIES)
    stack = described(cloudformation, "orgiam-roles")
    assert stack["StackStatus"] == "UPDATE_ROLLBACK_FAILED"
    assert stack["StackStatusReason"].startswith("The following resource(s) failed to update: [Auditor].")
    with pytest.raises(ClientError) as refused:
        cloudformation.update_stack(StackName="orgiam-roles", TemplateBody=template(after), Capabilities=CAPABILITIES)
    assert "is in UPDATE_ROLLBACK_FAILED state and can not be updated." in error_of(refused)[1]

    cloudformation.continue_update_rollback(StackName="orgiam-roles")  # the role is still missing
    assert described(cloudformation, "orgiam-roles")["StackStatus"] == "UPDATE_ROLLBACK_FAILED"

    take_role_name(member, "Auditor")  # put back by hand, as AWS's troubleshooting guide says
    cloudformation.continue_update_rollback(StackName="orgiam-roles")
    assert described(cloudformation, "orgiam-roles")["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    auditor = member.iam.get_role(RoleName="Auditor")["Role"]
    assert auditor["Description"] == "read-only auditor" and attached(member, "Auditor") == {READ_ONLY}
    cloudformation.update_stack(StackName="orgiam-roles", TemplateBody=template(after), Capabilities=CAPABILITIES)
    assert described(cloudformation, "orgiam-roles")["StackStatus"] == "UPDATE_COMPLETE"
    assert member.iam.get_role(RoleName="Auditor")["Role"]["Description"] == "changed"


def test_continue_update_rollback_can_skip_the_failed_resource(member: AccountSession) -> None:
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="s", TemplateBody=template(BEFORE), Capabilities=CAPABILITIES)
    for arn in attached(member, "Auditor"):
        member.iam.detach_role_policy(RoleName="Auditor", PolicyArn=arn)
    member.iam.delete_role_policy(RoleName="Auditor", PolicyName="Logs")
    member.iam.delete_role(RoleName="Auditor")
    cloudformation.update_stack(StackName="s", TemplateBody=template(dict(BEFORE, Auditor=role("Auditor"))))
    assert described(cloudformation, "s")["StackStatus"] == "UPDATE_ROLLBACK_FAILED"

    with pytest.raises(ClientError) as unknown:
        cloudformation.continue_update_rollback(StackName="s", ResourcesToSkip=["Spare"])
    assert error_of(unknown)[0] == "ValidationError"
    cloudformation.continue_update_rollback(StackName="s", ResourcesToSkip=["Auditor"])
    assert described(cloudformation, "s")["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert ("Auditor", "UPDATE_COMPLETE", "Resource skipped during UpdateRollback") in events(member, "s")


def test_continue_update_rollback_needs_update_rollback_failed(member: AccountSession) -> None:
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="s", TemplateBody=template(BEFORE), Capabilities=CAPABILITIES)
    with pytest.raises(ClientError) as refused:
        cloudformation.continue_update_rollback(StackName="s")
    assert error_of(refused)[0] == "ValidationError" and "CREATE_COMPLETE" in error_of(refused)[1]


def test_the_control_path_puts_a_stack_in_a_status(member: AccountSession) -> None:
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="s", TemplateBody=template(BEFORE), Capabilities=CAPABILITIES)
    answer = control.set_stack_status(member.endpoint, member.account_id, "s", "UPDATE_ROLLBACK_FAILED", reason="forced")
    assert answer["status"] == "UPDATE_ROLLBACK_FAILED" and answer["stack_id"].endswith(described(cloudformation, "s")["StackId"][-36:])
    stack = described(cloudformation, "s")
    assert (stack["StackStatus"], stack["StackStatusReason"]) == ("UPDATE_ROLLBACK_FAILED", "forced")

    cloudformation.continue_update_rollback(StackName="s")
    assert described(cloudformation, "s")["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert roles(member) == ["Auditor"]  # nothing was touched

    control.set_stack_status(member.endpoint, member.account_id, "s", "DELETE_FAILED")
    cloudformation.delete_stack(StackName="s")  # a retried delete goes through
    assert roles(member) == [] and local_policies(member) == []

    with pytest.raises(urllib.error.HTTPError) as missing:
        control.set_stack_status(member.endpoint, member.account_id, "s", "ROLLBACK_COMPLETE")
    assert missing.value.code == 404
    cloudformation.create_stack(StackName="t", TemplateBody=template(BEFORE), Capabilities=CAPABILITIES)
    for status in ("NOT_A_STATUS", "DELETE_COMPLETE"):
        with pytest.raises(urllib.error.HTTPError) as bad:
            control.set_stack_status(member.endpoint, member.account_id, "t", status)
        assert bad.value.code == 400


def test_an_update_that_changes_nothing_is_refused(member: AccountSession) -> None:
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="s", TemplateBody=template(BEFORE), Capabilities=CAPABILITIES)
    with pytest.raises(ClientError) as refused:
        cloudformation.update_stack(StackName="s", TemplateBody=template(BEFORE), Capabilities=CAPABILITIES)
    assert error_of(refused) == ("ValidationError", "No updates are to be performed.")
    cloudformation.update_stack(StackName="s", TemplateBody=template(BEFORE), Capabilities=CAPABILITIES,
                                Tags=[{"Key": "k", "Value": "v"}])  # new tags are a change
    assert described(cloudformation, "s")["StackStatus"] == "UPDATE_COMPLETE"


def test_a_reference_to_nothing_fails_before_anything_is_made(member: AccountSession) -> None:
    resources = {"Extra": managed_policy("Extra"), "Auditor": role("Auditor", ManagedPolicyArns=[{"Ref": "Nope"}])}
    with pytest.raises(ClientError) as refused:
        member.cloudformation.create_stack(StackName="s", TemplateBody=template(resources))
    assert error_of(refused) == ("ValidationError", "Template format error: Unresolved resource dependencies [Nope] "
                                                    "in the Resources block of the template")
    assert local_policies(member) == [] and member.cloudformation.describe_stacks()["Stacks"] == []


def test_a_change_set_that_fails_rolls_back_too(member: AccountSession) -> None:
    take_role_name(member, "Taken")
    cloudformation = member.cloudformation
    cloudformation.create_change_set(StackName="s", ChangeSetName="first", ChangeSetType="CREATE",
                                     TemplateBody=template(FAILING_CREATE))
    cloudformation.execute_change_set(StackName="s", ChangeSetName="first")
    assert described(cloudformation, "s")["StackStatus"] == "ROLLBACK_COMPLETE"
    assert cloudformation.describe_change_set(StackName="s", ChangeSetName="first")["ExecutionStatus"] == "EXECUTE_FAILED"
    assert roles(member) == ["Taken"]
    with pytest.raises(ClientError) as refused:
        cloudformation.create_change_set(StackName="s", ChangeSetName="second", ChangeSetType="UPDATE",
                                         TemplateBody=template(BEFORE))
    assert "ROLLBACK_COMPLETE state and can not be updated" in error_of(refused)[1]

"""Termination protection: kept from CreateStack, shown by DescribeStacks, changed by
UpdateTerminationProtection, and enforced by DeleteStack, as in AWS."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.emulator.conftest import AccountSession, described, error_of, template, trust

MANAGEMENT_ROOT = "arn:aws:iam::123456789012:root"
RESOURCES = {"Auditor": {"Type": "AWS::IAM::Role",
                         "Properties": {"RoleName": "Auditor", "AssumeRolePolicyDocument": trust(MANAGEMENT_ROOT)}}}


@pytest.fixture
def member(new_member: AccountSession) -> AccountSession:
    """A new account of this module's organization (conftest's ``new_member``): no reset, no seed."""
    return new_member


def test_a_protected_stack_cannot_be_deleted_until_protection_is_lifted(member: AccountSession) -> None:
    cloudformation = member.cloudformation
    stack_id = cloudformation.create_stack(StackName="orgiam-roles", TemplateBody=template(RESOURCES),
                                           EnableTerminationProtection=True)["StackId"]
    assert described(cloudformation, "orgiam-roles")["EnableTerminationProtection"] is True

    with pytest.raises(ClientError) as refused:
        cloudformation.delete_stack(StackName="orgiam-roles")
    assert error_of(refused) == (
        "ValidationError", "Stack [orgiam-roles] cannot be deleted while TerminationProtection is enabled")
    assert described(cloudformation, "orgiam-roles")["StackStatus"] == "CREATE_COMPLETE"
    assert member.iam.get_role(RoleName="Auditor")["Role"]["RoleName"] == "Auditor"

    answer = cloudformation.update_termination_protection(StackName="orgiam-roles", EnableTerminationProtection=False)
    assert answer["StackId"] == stack_id
    assert described(cloudformation, "orgiam-roles")["EnableTerminationProtection"] is False
    cloudformation.delete_stack(StackName=stack_id)
    assert described(cloudformation, stack_id)["StackStatus"] == "DELETE_COMPLETE"
    with pytest.raises(ClientError):
        member.iam.get_role(RoleName="Auditor")


def test_protection_is_off_by_default_and_can_be_turned_on(member: AccountSession) -> None:
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="s", TemplateBody=template(RESOURCES))
    assert described(cloudformation, "s")["EnableTerminationProtection"] is False
    cloudformation.update_termination_protection(StackName="s", EnableTerminationProtection=True)
    with pytest.raises(ClientError):
        cloudformation.delete_stack(StackName="s")


def test_a_protected_stack_that_failed_to_create_is_kept_until_protection_is_lifted(member: AccountSession) -> None:
    """orgiam's recreate of a ROLLBACK_COMPLETE stack: lift the protection, delete, create again."""
    member.iam.create_role(RoleName="Auditor", AssumeRolePolicyDocument=json.dumps(trust(MANAGEMENT_ROOT)))
    cloudformation = member.cloudformation
    cloudformation.create_stack(StackName="s", TemplateBody=template(RESOURCES), EnableTerminationProtection=True,
                                OnFailure="DELETE")  # protected: rolled back, but not deleted
    assert described(cloudformation, "s")["StackStatus"] == "ROLLBACK_COMPLETE"
    with pytest.raises(ClientError):
        cloudformation.delete_stack(StackName="s")
    cloudformation.update_termination_protection(StackName="s", EnableTerminationProtection=False)
    cloudformation.delete_stack(StackName="s")
    member.iam.delete_role(RoleName="Auditor")
    cloudformation.create_stack(StackName="s", TemplateBody=template(RESOURCES), EnableTerminationProtection=True)
    assert described(cloudformation, "s")["StackStatus"] == "CREATE_COMPLETE"


def test_protection_of_a_stack_that_does_not_exist(member: AccountSession) -> None:
    with pytest.raises(ClientError) as missing:
        member.cloudformation.update_termination_protection(StackName="nothing", EnableTerminationProtection=False)
    assert error_of(missing) == ("ValidationError", "Stack with id nothing does not exist")

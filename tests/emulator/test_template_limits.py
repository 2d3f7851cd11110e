"""Template size as CloudFormation limits it: 51,200 bytes in a TemplateBody, 1,000,000 through a
TemplateURL to an S3 object."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.conftest import AccountSession, described, error_of, management_client, trust

MANAGEMENT_ROOT = "arn:aws:iam::123456789012:root"
BODY_LIMIT = 51_200
TOO_LONG = "Member must have length less than or equal to 51200"


@pytest.fixture
def member(new_member: AccountSession) -> AccountSession:
    """A new account of this module's organization (conftest's ``new_member``): no reset, no seed."""
    return new_member


def sized_template(size: int, role_name: str = "Auditor") -> str:
    """A template of exactly ``size`` bytes (padded in its Metadata) that makes one role."""
    template: dict[str, Any] = {
        "Metadata": {"Padding": ""},
        "Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
            "RoleName": role_name, "AssumeRolePolicyDocument": trust(MANAGEMENT_ROOT)}}},
    }
    body = json.dumps(template)
    template["Metadata"]["Padding"] = "x" * (size - len(body))
    body = json.dumps(template)
    assert len(body.encode()) == size
    return body


def test_a_template_body_over_51200_bytes_is_refused(member: AccountSession) -> None:
    cloudformation = member.cloudformation
    too_big = sized_template(BODY_LIMIT + 1)
    for call in (
        lambda: cloudformation.create_stack(StackName="s", TemplateBody=too_big),
        lambda: cloudformation.create_change_set(StackName="s", ChangeSetName="c", ChangeSetType="CREATE",
                                                 TemplateBody=too_big),
        lambda: cloudformation.validate_template(TemplateBody=too_big),
    ):
        with pytest.raises(ClientError) as refused:
            call()
        code, message = error_of(refused)
        assert code == "ValidationError" and TOO_LONG in message
    assert cloudformation.describe_stacks()["Stacks"] == []

    cloudformation.create_stack(StackName="s", TemplateBody=sized_template(BODY_LIMIT))  # the limit itself is fine
    assert described(cloudformation, "s")["StackStatus"] == "CREATE_COMPLETE"
    with pytest.raises(ClientError) as refused:
        cloudformation.update_stack(StackName="s", TemplateBody=sized_template(BODY_LIMIT + 1, "Other"))
    assert TOO_LONG in error_of(refused)[1]


def test_a_template_url_to_the_emulators_s3_takes_up_to_a_megabyte(member: AccountSession) -> None:
    s3, bucket = member.client("s3"), f"templates-{member.account_id}"  # bucket names are global
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="roles/big.json", Body=sized_template(900_000).encode())
    s3.put_object(Bucket=bucket, Key="roles/bigger.json", Body=sized_template(950_000, "Other").encode())
    url = f"https://{bucket}.s3.us-east-1.amazonaws.com/roles/{{}}"
    cloudformation = member.cloudformation

    cloudformation.create_stack(StackName="s", TemplateURL=url.format("big.json"))
    assert described(cloudformation, "s")["StackStatus"] == "CREATE_COMPLETE"
    assert member.iam.get_role(RoleName="Auditor")["Role"]["RoleName"] == "Auditor"
    cloudformation.create_change_set(StackName="s", ChangeSetName="c", ChangeSetType="UPDATE",
                                     TemplateURL=url.format("bigger.json"))
    assert cloudformation.describe_change_set(StackName="s", ChangeSetName="c")["Status"] == "CREATE_COMPLETE"
    cloudformation.update_stack(StackName="s", TemplateURL=url.format("bigger.json"))
    assert described(cloudformation, "s")["StackStatus"] == "UPDATE_COMPLETE"
    assert [r["RoleName"] for r in member.iam.list_roles()["Roles"] if r["RoleName"] in ("Auditor", "Other")] == ["Other"]


def test_a_template_url_may_name_another_accounts_bucket(member: AccountSession) -> None:
    """orgiam uploads large templates to a bucket of the central account for every member account."""
    s3 = management_client(member.endpoint, "s3")
    s3.create_bucket(Bucket="central-templates")
    s3.put_object(Bucket="central-templates", Key="t.json", Body=sized_template(60_000).encode())
    member.cloudformation.create_stack(StackName="s",
                                       TemplateURL="https://central-templates.s3.us-east-1.amazonaws.com/t.json")
    assert described(member.cloudformation, "s")["StackStatus"] == "CREATE_COMPLETE"


def test_a_template_url_that_is_too_big_or_missing_is_refused(member: AccountSession) -> None:
    s3, bucket = member.client("s3"), f"templates-{member.account_id}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="huge.json", Body=sized_template(1_000_001).encode())
    cloudformation = member.cloudformation
    cases = {
        f"https://{bucket}.s3.us-east-1.amazonaws.com/huge.json": "Template may not exceed 1000000 bytes in size.",
        f"https://{bucket}.s3.us-east-1.amazonaws.com/nothing.json":
            "TemplateURL must reference a valid S3 object to which you have access.",
        "https://no-such-bucket.s3.us-east-1.amazonaws.com/t.json":
            "TemplateURL must reference a valid S3 object to which you have access.",
    }
    for url, expected in cases.items():
        with pytest.raises(ClientError) as refused:
            cloudformation.create_stack(StackName="s", TemplateURL=url)
        assert error_of(refused) == ("ValidationError", expected)

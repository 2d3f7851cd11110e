"""sts:AssumeRole into another account answers AccessDenied when that account has no such role."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from emulator.aws import boto3_session
from emulator.organization import ACCESS_ROLE_NAME
from tests.emulator.conftest import DUMMY, REGION, AccountSession, assume_access_role, error_of, management_client, trust

MANAGEMENT_ID = "123456789012"


@pytest.fixture
def member(new_member: AccountSession) -> AccountSession:
    """A new account of this module's organization (conftest's ``new_member``): no reset, no seed."""
    return new_member


def assume(client: object, role_arn: str) -> dict[str, str]:
    return client.assume_role(RoleArn=role_arn, RoleSessionName="test")["Credentials"]  # type: ignore[attr-defined]


def test_a_role_the_account_has_can_be_assumed(member: AccountSession) -> None:
    sts = management_client(member.endpoint, "sts")
    assert assume(sts, f"arn:aws:iam::{member.account_id}:role/{ACCESS_ROLE_NAME}")["AccessKeyId"]
    member.iam.create_role(RoleName="Reader", Path="/orgiam/", AssumeRolePolicyDocument=json.dumps(
        trust(f"arn:aws:iam::{MANAGEMENT_ID}:root")))
    assert assume(sts, f"arn:aws:iam::{member.account_id}:role/orgiam/Reader")["AccessKeyId"]


def test_a_role_the_account_lacks_is_access_denied(member: AccountSession) -> None:
    sts = management_client(member.endpoint, "sts")
    for role_arn in (f"arn:aws:iam::{member.account_id}:role/Missing",
                     f"arn:aws:iam::{member.account_id}:role/other-path/{ACCESS_ROLE_NAME}",
                     f"arn:aws:iam::999999999999:role/{ACCESS_ROLE_NAME}"):
        with pytest.raises(ClientError) as denied:
            assume(sts, role_arn)
        code, message = error_of(denied)
        assert code == "AccessDenied"
        assert message == (f"User: arn:aws:sts::{MANAGEMENT_ID}:user/moto is not authorized to perform: "
                           f"sts:AssumeRole on resource: {role_arn}")
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def test_a_deleted_access_role_makes_the_account_unreachable(member: AccountSession) -> None:
    iam = member.iam
    for attached in iam.list_attached_role_policies(RoleName=ACCESS_ROLE_NAME)["AttachedPolicies"]:
        iam.detach_role_policy(RoleName=ACCESS_ROLE_NAME, PolicyArn=attached["PolicyArn"])
    iam.delete_role(RoleName=ACCESS_ROLE_NAME)
    with pytest.raises(ClientError) as denied:
        assume_access_role(member.endpoint, member.account_id)
    assert error_of(denied)[0] == "AccessDenied"


def test_an_assumed_role_session_is_named_in_the_denial(member: AccountSession) -> None:
    sts = member.client("sts")
    with pytest.raises(ClientError) as denied:
        assume(sts, f"arn:aws:iam::{MANAGEMENT_ID}:role/Missing")
    assert error_of(denied)[1].startswith(
        f"User: arn:aws:sts::{member.account_id}:assumed-role/{ACCESS_ROLE_NAME}/emulator-tests is not authorized")


def test_roles_in_the_callers_own_account_are_left_to_moto(member: AccountSession) -> None:
    sts = boto3_session(region_name=REGION, **DUMMY).client("sts", endpoint_url=member.endpoint)
    credentials = assume(sts, f"arn:aws:iam::{MANAGEMENT_ID}:role/NotCreated")
    assert credentials["AccessKeyId"]

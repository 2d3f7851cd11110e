"""The emulator counts the AWS calls it serves: per service, operation and account."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter

import pytest

from emulator import control
from emulator.call_log import operation_name, signing_scope
from emulator.organization import seed_organization
from tests.emulator.conftest import SMALL_SPEC, assume_access_role, management_client

AUTHORIZATION = ("AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE123/20260101/us-east-1/organizations/aws4_request, "
                 "SignedHeaders=host;x-amz-date, Signature=abc")


def test_signing_scope_is_read_from_the_authorization_header() -> None:
    scope = signing_scope(AUTHORIZATION)
    assert scope is not None
    assert (scope.access_key_id, scope.region, scope.service) == ("ASIAEXAMPLE123", "us-east-1", "organizations")
    assert signing_scope(None) is None
    assert signing_scope("Bearer token") is None


@pytest.mark.parametrize(
    ("service", "environ", "body", "expected"),
    [
        ("organizations", {"HTTP_X_AMZ_TARGET": "AWSOrganizationsV20161128.ListAccounts"}, b"", "ListAccounts"),
        ("iam", {"CONTENT_TYPE": "application/x-www-form-urlencoded; charset=utf-8"},
         b"Action=GetRole&Version=2010-05-08&RoleName=x", "GetRole"),
        ("sts", {"QUERY_STRING": "Action=GetCallerIdentity&Version=2011-06-15"}, b"", "GetCallerIdentity"),
        ("account", {"REQUEST_METHOD": "POST", "PATH_INFO": "/putAccountName"}, b"{}", "PutAccountName"),
        ("unknown-service", {"REQUEST_METHOD": "GET", "PATH_INFO": "/x"}, b"", "GET /x"),
    ],
)
def test_operation_name(service: str, environ: dict[str, str], body: bytes, expected: str) -> None:
    assert operation_name(service, environ, body) == expected


def test_calls_are_counted_per_operation_and_account(endpoint: str) -> None:
    seeded = seed_organization(endpoint, SMALL_SPEC)
    member_id = seeded["accounts"]["Member"]
    control.clear_calls(endpoint)

    org = management_client(endpoint, "organizations")
    org.list_accounts()
    org.list_roots()
    org.list_roots()
    member = assume_access_role(endpoint, member_id)
    member.iam.list_roles()
    member.iam.get_role(RoleName="OrganizationAccountAccessRole")
    member.client("sts").get_caller_identity()
    member.cloudformation.list_stacks()

    recorded = control.calls(endpoint)
    assert Counter((c["service"], c["operation"]) for c in recorded) == Counter({
        ("organizations", "ListAccounts"): 1,
        ("organizations", "ListRoots"): 2,
        ("sts", "AssumeRole"): 1,
        ("iam", "ListRoles"): 1,
        ("iam", "GetRole"): 1,
        ("sts", "GetCallerIdentity"): 1,
        ("cloudformation", "ListStacks"): 1,
    })
    assert Counter(c["account_id"] for c in recorded) == Counter({"123456789012": 4, member_id: 4})
    keys = {c["account_id"]: c["access_key_id"] for c in recorded}
    assert keys["123456789012"] == "testing"
    assert keys[member_id] == member.session.get_credentials().access_key
    assert [c["operation"] for c in recorded][:3] == ["ListAccounts", "ListRoots", "ListRoots"]


def test_calls_can_be_cleared_and_reset_forgets_everything(endpoint: str) -> None:
    org = management_client(endpoint, "organizations")
    org.create_organization(FeatureSet="ALL")
    assert len(control.calls(endpoint)) == 1
    control.clear_calls(endpoint)
    assert control.calls(endpoint) == []

    org.list_roots()
    control.reset(endpoint)
    assert control.calls(endpoint) == []
    with pytest.raises(org.exceptions.AWSOrganizationsNotInUseException):
        org.describe_organization()


def test_the_emulator_paths_are_its_own(endpoint: str) -> None:
    control.calls(endpoint)
    control.status(endpoint)
    assert control.calls(endpoint) == []
    assert control.status(endpoint) == {"ready": True}
    with pytest.raises(urllib.error.HTTPError) as unknown:
        urllib.request.urlopen(f"{endpoint}/_orgiam/nothing-here")
    assert unknown.value.code == 404
    request = urllib.request.Request(f"{endpoint}/_orgiam/reset", method="GET")
    with pytest.raises(urllib.error.HTTPError) as wrong_method:
        urllib.request.urlopen(request)
    assert wrong_method.value.code == 405


def test_put_account_name_renames_accounts_only_for_the_management_account(endpoint: str) -> None:
    seeded = seed_organization(endpoint, SMALL_SPEC)
    org = management_client(endpoint, "organizations")
    account_api = management_client(endpoint, "account")
    account_api.put_account_name(AccountId=seeded["accounts"]["Member"], AccountName="Renamed")
    assert org.describe_account(AccountId=seeded["accounts"]["Member"])["Account"]["Name"] == "Renamed"

    member_account_client = assume_access_role(endpoint, seeded["accounts"]["Member"]).client("account")
    with pytest.raises(member_account_client.exceptions.AccessDeniedException):
        member_account_client.put_account_name(AccountId="123456789012", AccountName="Hijacked")
    member_account_client.put_account_name(AccountName="Self Named")
    assert org.describe_account(AccountId=seeded["accounts"]["Member"])["Account"]["Name"] == "Self Named"


def test_the_body_reaches_moto_intact(endpoint: str) -> None:
    """The recorder reads the body to find the Action; moto must still see every parameter."""
    iam = management_client(endpoint, "iam")
    iam.create_role(RoleName="WithBody", AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17"}),
                    Description="x" * 5000)
    assert iam.get_role(RoleName="WithBody")["Role"]["Description"] == "x" * 5000

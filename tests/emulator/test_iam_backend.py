"""AWS managed policies exist in every account, built only when a call needs them."""

from __future__ import annotations

from emulator.iam_backend import LazyAwsPoliciesIAMBackend
from tests.emulator.conftest import management_client


def test_aws_managed_policies_are_there_when_named(endpoint: str) -> None:
    iam = management_client(endpoint, "iam")
    policy = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/ReadOnlyAccess")["Policy"]
    assert policy["PolicyName"] == "ReadOnlyAccess"
    nested = iam.get_policy(PolicyArn="arn:aws:iam::aws:policy/service-role/AWSConfigRulesExecutionRole")["Policy"]
    assert nested["Path"] == "/service-role/"
    iam.create_role(RoleName="Reader", AssumeRolePolicyDocument="{}")
    iam.attach_role_policy(RoleName="Reader", PolicyArn="arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")
    attached = iam.list_attached_role_policies(RoleName="Reader")["AttachedPolicies"]
    assert [p["PolicyName"] for p in attached] == ["ViewOnlyAccess"]


def test_unknown_aws_policies_are_still_missing(endpoint: str) -> None:
    iam = management_client(endpoint, "iam")
    iam.create_role(RoleName="Reader", AssumeRolePolicyDocument="{}")
    try:
        iam.attach_role_policy(RoleName="Reader", PolicyArn="arn:aws:iam::aws:policy/NoSuchPolicy")
    except iam.exceptions.NoSuchEntityException:
        pass
    else:
        raise AssertionError("attaching an unknown AWS policy should fail")


def test_listing_aws_policies_builds_them_all(endpoint: str) -> None:
    iam = management_client(endpoint, "iam")
    first_page = iam.list_policies(Scope="AWS")
    assert first_page["IsTruncated"] and len(first_page["Policies"]) == 100
    job_functions = {p["PolicyName"] for p in iam.list_policies(Scope="AWS", PathPrefix="/job-function/")["Policies"]}
    assert {"ViewOnlyAccess", "DataScientist"} <= job_functions
    assert iam.list_policies(Scope="Local")["Policies"] == []


def test_a_new_account_starts_without_building_any() -> None:
    backend = LazyAwsPoliciesIAMBackend("aws", "210987654321")
    assert backend.managed_policies == {}
    backend.materialize_aws_policy("arn:aws:iam::aws:policy/AdministratorAccess")
    assert list(backend.managed_policies) == ["arn:aws:iam::aws:policy/AdministratorAccess"]

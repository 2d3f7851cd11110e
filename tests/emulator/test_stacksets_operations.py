"""Service-managed StackSets' operations in the emulator as AWS runs them (emulator/stacksets*.py).

Account filters, operations that take time (paced by the fault plan, no sleeps), per-instance failures and
failure tolerance, instance status fields, paging, and automatic deployment, each read back through the
CloudFormation API and, where instances are created or removed, through IAM in the member account.

The organization (tests/emulator/test_stacksets.py's): Workloads (Top), Workloads/Prod (Deep),
Workloads/Prod/Payments (Deeper), Sandbox (Play, and Closed, suspended), Empty; Management in the root.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator import control, stacksets
from emulator.organization import seed_organization
from emulator.server import EmulatorServer
from tests.emulator.conftest import assume_access_role, management_client
from tests.emulator.test_stacksets import ROLE, SPEC, TEMPLATE

MEMBERS = ("Top", "Deep", "Deeper", "Play")


@pytest.fixture(autouse=True)
def _installed() -> None:
    stacksets.install()


@pytest.fixture
def org(endpoint: str) -> dict[str, Any]:
    seeded = seed_organization(endpoint, SPEC)
    seeded["endpoint"] = endpoint
    management_client(endpoint, "cloudformation").activate_organizations_access()
    return seeded


def cfn(org: dict[str, Any]) -> Any:
    return management_client(org["endpoint"], "cloudformation")


def ids(org: dict[str, Any], *names: str) -> list[str]:
    return [org["accounts"][n] for n in names]


def names_of(org: dict[str, Any], accounts: Any) -> set[str]:
    by_id = {v: k for k, v in org["accounts"].items()}
    return {by_id[a] for a in accounts}


def iam_of(org: dict[str, Any], name: str) -> Any:
    """IAM in the account, through its OrganizationAccountAccessRole (one client per account and test)."""
    clients = org.setdefault("iam", {})
    if name not in clients:
        clients[name] = assume_access_role(org["endpoint"], org["accounts"][name]).iam
    return clients[name]


def description(org: dict[str, Any], name: str, role: str = ROLE) -> str | None:
    iam = iam_of(org, name)
    try:
        return str(iam.get_role(RoleName=role)["Role"].get("Description", ""))
    except ClientError as error:
        assert error.response["Error"]["Code"] == "NoSuchEntity"
        return None


def with_role(org: dict[str, Any]) -> set[str]:
    return {name for name in MEMBERS if description(org, name) is not None}


def create_set(org: dict[str, Any], name: str = "probe", template: dict[str, Any] = TEMPLATE, auto: bool = True,
               managed: bool = False) -> None:
    cfn(org).create_stack_set(StackSetName=name, TemplateBody=json.dumps(template), PermissionModel="SERVICE_MANAGED",
                              Capabilities=["CAPABILITY_NAMED_IAM"], ManagedExecution={"Active": managed},
                              AutoDeployment={"Enabled": auto, "RetainStacksOnAccountRemoval": False})


def deploy(org: dict[str, Any], targets: dict[str, Any], name: str = "probe", **kwargs: Any) -> str:
    return str(cfn(org).create_stack_instances(StackSetName=name, DeploymentTargets=targets, Regions=["us-east-1"],
                                               **kwargs)["OperationId"])


def operation(org: dict[str, Any], operation_id: str, name: str = "probe") -> dict[str, Any]:
    found: dict[str, Any] = cfn(org).describe_stack_set_operation(StackSetName=name, OperationId=operation_id)["StackSetOperation"]
    return found


def results(org: dict[str, Any], operation_id: str, name: str = "probe") -> dict[str, dict[str, Any]]:
    pages = cfn(org).get_paginator("list_stack_set_operation_results").paginate(StackSetName=name, OperationId=operation_id)
    by_id = {v: k for k, v in org["accounts"].items()}
    return {by_id[r["Account"]]: r for page in pages for r in page["Summaries"]}


def instances(org: dict[str, Any], name: str = "probe", **kwargs: Any) -> dict[str, dict[str, Any]]:
    pages = cfn(org).get_paginator("list_stack_instances").paginate(StackSetName=name, **kwargs)
    by_id = {v: k for k, v in org["accounts"].items()}
    return {by_id[i["Account"]]: i for page in pages for i in page["Summaries"]}


def error_of(call: Any, **kwargs: Any) -> tuple[str, str, int]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    error = raised.value.response
    return str(error["Error"]["Code"]), str(error["Error"]["Message"]), int(error["ResponseMetadata"]["HTTPStatusCode"])


def update_set(org: dict[str, Any], purpose: str, name: str = "probe", **kwargs: Any) -> str:
    return str(cfn(org).update_stack_set(StackSetName=name, TemplateBody=json.dumps(TEMPLATE), Capabilities=["CAPABILITY_NAMED_IAM"],
                                         Parameters=[{"ParameterKey": "Purpose", "ParameterValue": purpose}], **kwargs)["OperationId"])


def make_role(org: dict[str, Any], name: str, role: str = ROLE) -> None:
    """A role made by hand in the account, that the stack set's instance will collide with."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                     "Action": "sts:AssumeRole"}]}
    iam_of(org, name).create_role(
        RoleName=role, Path="/orgiam/", AssumeRolePolicyDocument=json.dumps(trust), Description="by hand")


# --- 1. account filters -----------------------------------------------------------------------------


def test_intersection_deploys_only_to_the_listed_accounts_within_the_ous(org):
    create_set(org)
    op = deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads"]], "Accounts": ids(org, "Deep", "Play"),
                      "AccountFilterType": "INTERSECTION"})
    assert with_role(org) == {"Deep"}  # Play is not within Workloads
    assert set(instances(org)) == {"Deep"}
    assert instances(org)["Deep"]["OrganizationalUnitId"] == org["ous"]["Workloads"]
    assert operation(org, op)["DeploymentTargets"] == {
        "Accounts": ids(org, "Deep", "Play"), "OrganizationalUnitIds": [org["ous"]["Workloads"]], "AccountFilterType": "INTERSECTION"}


def test_difference_deploys_to_the_ous_but_the_listed_accounts(org):
    create_set(org)
    deploy(org, {"OrganizationalUnitIds": [org["root_id"]], "Accounts": ids(org, "Top"), "AccountFilterType": "DIFFERENCE"})
    assert with_role(org) == {"Deep", "Deeper", "Play"}
    assert cfn(org).describe_stack_set(StackSetName="probe")["StackSet"]["OrganizationalUnitIds"] == [org["root_id"]]


def test_none_ignores_the_accounts_and_a_create_refuses_union_or_no_filter(org):
    create_set(org)
    targets = {"OrganizationalUnitIds": [org["ous"]["Workloads/Prod"]], "Accounts": ids(org, "Play")}
    code, message, status = error_of(cfn(org).create_stack_instances, StackSetName="probe", Regions=["us-east-1"],
                                     DeploymentTargets=targets)
    assert (code, status) == ("ValidationError", 400) and "AccountFilterType" in message
    code, message, _ = error_of(cfn(org).create_stack_instances, StackSetName="probe", Regions=["us-east-1"],
                                DeploymentTargets={**targets, "AccountFilterType": "UNION"})
    assert code == "ValidationError" and "UNION is not supported for CreateStackInstances" in message
    assert with_role(org) == set() and cfn(org).list_stack_set_operations(StackSetName="probe")["Summaries"] == []
    deploy(org, {**targets, "AccountFilterType": "NONE"})
    assert with_role(org) == {"Deep", "Deeper"}


def test_union_on_update_stack_instances_reaches_the_ous_plus_the_accounts(org):
    create_set(org)
    deploy(org, {"OrganizationalUnitIds": [org["root_id"]]})
    op = cfn(org).update_stack_instances(
        StackSetName="probe", Regions=["us-east-1"],
        DeploymentTargets={"OrganizationalUnitIds": [org["ous"]["Workloads/Prod/Payments"]], "Accounts": ids(org, "Play"),
                           "AccountFilterType": "UNION"},
        ParameterOverrides=[{"ParameterKey": "Purpose", "ParameterValue": "overridden"}])["OperationId"]
    assert operation(org, op)["Status"] == "SUCCEEDED" and set(results(org, op)) == {"Deeper", "Play"}
    assert {n: description(org, n) for n in MEMBERS} == {"Top": "first", "Deep": "first", "Deeper": "overridden", "Play": "overridden"}
    described = cfn(org).describe_stack_instance(StackSetName="probe", StackInstanceAccount=org["accounts"]["Play"],
                                                 StackInstanceRegion="us-east-1")["StackInstance"]
    assert described["ParameterOverrides"] == [{"ParameterKey": "Purpose", "ParameterValue": "overridden"}]
    # a stack set update keeps the overrides
    update_set(org, "second")
    assert {n: description(org, n) for n in MEMBERS} == {"Top": "second", "Deep": "second", "Deeper": "overridden", "Play": "overridden"}


def test_update_stack_instances_of_an_account_without_an_instance_is_refused(org):
    create_set(org)
    deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads"]]})
    code, _, status = error_of(cfn(org).update_stack_instances, StackSetName="probe", Regions=["us-east-1"],
                               DeploymentTargets={"Accounts": ids(org, "Play")})
    assert (code, status) == ("StackInstanceNotFoundException", 404)


def test_update_stack_set_with_targets_updates_those_and_leaves_the_others_outdated(org):
    create_set(org)
    deploy(org, {"OrganizationalUnitIds": [org["root_id"]]})
    op = update_set(org, "second", Regions=["us-east-1"],
                    DeploymentTargets={"OrganizationalUnitIds": [org["ous"]["Workloads"]], "Accounts": ids(org, "Top"),
                                       "AccountFilterType": "DIFFERENCE"})
    assert {n: description(org, n) for n in MEMBERS} == {"Top": "first", "Deep": "second", "Deeper": "second", "Play": "first"}
    listed = instances(org)
    assert {n: listed[n]["Status"] for n in MEMBERS} == {"Top": "OUTDATED", "Deep": "CURRENT", "Deeper": "CURRENT", "Play": "OUTDATED"}
    assert listed["Deep"]["LastOperationId"] == op and listed["Top"]["LastOperationId"] != op
    # the same template again, everywhere: an operation that brings the outdated ones up to date
    again = update_set(org, "second")
    assert operation(org, again)["Status"] == "SUCCEEDED" and set(results(org, again)) == set(MEMBERS)
    assert {description(org, n) for n in MEMBERS} == {"second"}
    assert {i["Status"] for i in instances(org).values()} == {"CURRENT"}


def test_delete_with_intersection_removes_only_those_accounts_and_keeps_the_ou_a_target(org):
    create_set(org)
    deploy(org, {"OrganizationalUnitIds": [org["root_id"]]})
    op = cfn(org).delete_stack_instances(StackSetName="probe", Regions=["us-east-1"], RetainStacks=False,
                                         DeploymentTargets={"OrganizationalUnitIds": [org["root_id"]],
                                                            "Accounts": ids(org, "Deeper"), "AccountFilterType": "INTERSECTION"})["OperationId"]
    described = operation(org, op)
    assert (described["Action"], described["Status"], described["RetainStacks"]) == ("DELETE", "SUCCEEDED", False)
    assert with_role(org) == {"Top", "Deep", "Play"} and set(instances(org)) == {"Top", "Deep", "Play"}
    assert cfn(org).describe_stack_set(StackSetName="probe")["StackSet"]["OrganizationalUnitIds"] == [org["root_id"]]


def test_auto_deployment_ignores_the_account_filter_an_operation_used(org):
    create_set(org)
    deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads"]], "Accounts": ids(org, "Top"), "AccountFilterType": "DIFFERENCE"})
    assert with_role(org) == {"Deep", "Deeper"}
    organizations = management_client(org["endpoint"], "organizations")
    # Top, left out by the filter, moves away and back: as a newly added account of a target OU it gets its instance
    organizations.move_account(AccountId=org["accounts"]["Top"], SourceParentId=org["ous"]["Workloads"],
                               DestinationParentId=org["ous"]["Sandbox"])
    assert with_role(org) == {"Deep", "Deeper"}
    organizations.move_account(AccountId=org["accounts"]["Top"], SourceParentId=org["ous"]["Sandbox"],
                               DestinationParentId=org["ous"]["Workloads/Prod"])
    assert with_role(org) == {"Deep", "Deeper", "Top"}
    top = instances(org)["Top"]
    assert (top["Status"], top["StackInstanceStatus"]["DetailedStatus"], top["OrganizationalUnitId"]) == (
        "CURRENT", "SUCCEEDED", org["ous"]["Workloads"])
    auto = operation(org, top["LastOperationId"])
    assert (auto["Action"], auto["Status"], auto["DeploymentTargets"]) == (
        "CREATE", "SUCCEEDED", {"OrganizationalUnitIds": [org["ous"]["Workloads"]]})


# --- 2. operations that take time and fail per instance ------------------------------------------


def test_a_paced_operation_runs_for_k_describes_and_its_accounts_change_when_it_ends(org):
    create_set(org)
    control.set_faults(org["endpoint"], stackset_operations={"describes": 2})
    op = deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads"]]})
    assert operation(org, op)["Status"] == "RUNNING"
    listed = instances(org)
    assert {n: (i["Status"], i["StackInstanceStatus"]["DetailedStatus"]) for n, i in listed.items()} == {
        n: ("OUTDATED", "RUNNING") for n in ("Top", "Deep", "Deeper")}
    assert with_role(org) == set()  # nothing is deployed while it runs
    assert {r["Status"] for r in results(org, op).values()} == {"RUNNING"}
    assert operation(org, op)["Status"] == "RUNNING"  # the second of two answers; the next look ends it
    ended = operation(org, op)
    assert ended["Status"] == "SUCCEEDED" and "EndTimestamp" in ended
    assert with_role(org) == {"Top", "Deep", "Deeper"}
    assert {i["Status"] for i in instances(org).values()} == {"CURRENT"}
    assert control.fault_counts(org["endpoint"])["stackset_operations"] == 2


def test_a_second_operation_while_one_runs_is_refused_or_queued_with_managed_execution(org):
    create_set(org)
    create_set(org, name="queued", managed=True)
    control.set_faults(org["endpoint"], stackset_operations={"describes": 1})
    first = deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads"]]})
    code, message, status = error_of(update_set, org=org, purpose="second")
    arn = cfn(org).describe_stack_set(StackSetName="probe")["StackSet"]["StackSetARN"]
    assert (code, message, status) == ("OperationInProgressException", f"Another Operation on StackSet {arn} is in progress", 409)
    code, _, _ = error_of(cfn(org).delete_stack_set, StackSetName="probe")
    assert code == "OperationInProgressException"
    # the running operation shows in ListStackSetOperations, as orgiam's settle() reads it
    assert [(o["OperationId"], o["Status"]) for o in cfn(org).list_stack_set_operations(StackSetName="probe")["Summaries"]] == [
        (first, "RUNNING")]
    # ManagedExecution on: the second is queued and starts when the first ends
    one = deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads/Prod"]]}, name="queued")
    two = update_set(org, "second", name="queued")
    assert [operation(org, o, "queued")["Status"] for o in (two, one)] == ["QUEUED", "RUNNING"]
    assert operation(org, one, "queued")["Status"] == "SUCCEEDED"  # its one describe is spent: it ends, the next starts
    assert [operation(org, two, "queued")["Status"] for _ in range(2)] == ["RUNNING", "SUCCEEDED"]
    assert cfn(org).describe_stack_set(StackSetName="queued")["StackSet"]["ManagedExecution"] == {"Active": True}


def test_an_operation_paced_by_seconds_ends_by_the_plans_clock(org, emulator: EmulatorServer):
    now = [1000.0]
    emulator.state.faults.clock = lambda: now[0]
    try:
        create_set(org)
        control.set_faults(org["endpoint"], stackset_operations={"seconds": 30})
        op = deploy(org, {"OrganizationalUnitIds": [org["ous"]["Sandbox"]]})
        assert operation(org, op)["Status"] == "RUNNING"
        now[0] += 29
        assert instances(org)["Play"]["StackInstanceStatus"]["DetailedStatus"] == "RUNNING"
        now[0] += 1
        assert instances(org)["Play"]["Status"] == "CURRENT"  # any read after the time ends it
        assert operation(org, op)["Status"] == "SUCCEEDED" and with_role(org) == {"Play"}
    finally:
        import time

        emulator.state.faults.clock = time.monotonic


def test_a_role_that_exists_fails_that_instance_only_within_the_tolerance(org):
    make_role(org, "Deep")
    create_set(org)
    op = deploy(org, {"OrganizationalUnitIds": [org["root_id"]]},
                OperationPreferences={"FailureTolerancePercentage": 100, "MaxConcurrentPercentage": 100})
    described = operation(org, op)
    assert described["Status"] == "SUCCEEDED" and described["StatusDetails"] == {"FailedStackInstancesCount": 1}
    found = results(org, op)
    assert {n: r["Status"] for n, r in found.items()} == {"Top": "SUCCEEDED", "Deep": "FAILED", "Deeper": "SUCCEEDED", "Play": "SUCCEEDED"}
    reason = found["Deep"]["StatusReason"]
    assert reason.startswith("ResourceLogicalId:Role, ResourceType:AWS::IAM::Role, ResourceStatusReason:") and "already exists" in reason
    assert found["Top"]["AccountGateResult"]["Status"] == "SKIPPED"
    deep = instances(org)["Deep"]
    assert (deep["Status"], deep["StackInstanceStatus"]["DetailedStatus"], deep["StatusReason"]) == ("OUTDATED", "FAILED", reason)
    assert {n: description(org, n) for n in MEMBERS} == {"Top": "first", "Deep": "by hand", "Deeper": "first", "Play": "first"}
    failed = instances(org, Filters=[{"Name": "DETAILED_STATUS", "Values": "FAILED"}])
    assert set(failed) == {"Deep"}
    # the role removed by hand, an update with the same template retries the failed instance
    iam_of(org, "Deep").delete_role(RoleName=ROLE)
    retry = update_set(org, "first")
    assert results(org, retry)["Deep"]["Status"] == "SUCCEEDED" and description(org, "Deep") == "first"
    assert instances(org)["Deep"]["Status"] == "CURRENT"


def test_past_the_failure_tolerance_the_rest_are_cancelled_and_the_concurrency_mode_decides_how_many_ran(org):
    create_set(org, name="strict")
    create_set(org, name="soft")
    order = sorted(ids(org, *MEMBERS))  # accounts run in account id order
    failing = order[:2]
    control.set_faults(org["endpoint"], fail_stack_instances=[{"account_id": a, "message": "Boom"} for a in failing])
    preferences = {"FailureToleranceCount": 1, "MaxConcurrentCount": 3}
    strict = deploy(org, {"OrganizationalUnitIds": [org["root_id"]]}, name="strict", OperationPreferences=preferences)
    soft = deploy(org, {"OrganizationalUnitIds": [org["root_id"]]}, name="soft",
                  OperationPreferences={**preferences, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"})
    by_id = {v: k for k, v in org["accounts"].items()}
    expected_strict = {by_id[order[0]]: "FAILED", by_id[order[1]]: "FAILED", by_id[order[2]]: "CANCELLED", by_id[order[3]]: "CANCELLED"}
    expected_soft = {**expected_strict, by_id[order[2]]: "SUCCEEDED"}
    assert {n: r["Status"] for n, r in results(org, strict, "strict").items()} == expected_strict
    assert {n: r["Status"] for n, r in results(org, soft, "soft").items()} == expected_soft
    assert operation(org, strict, "strict")["Status"] == operation(org, soft, "soft")["Status"] == "FAILED"
    cancelled = results(org, strict, "strict")[by_id[order[3]]]
    assert cancelled["StatusReason"] == "Cancelled since failure tolerance has exceeded"
    failed = results(org, strict, "strict")[by_id[order[0]]]["StatusReason"]
    assert "Boom" in failed and "InternalFailure" in failed
    instance = instances(org, "strict")[by_id[order[3]]]
    assert (instance["Status"], instance["StackInstanceStatus"]["DetailedStatus"]) == ("OUTDATED", "CANCELLED")
    assert control.fault_counts(org["endpoint"])["fail_stack_instances"] == 4
    shown = operation(org, soft, "soft")["OperationPreferences"]
    assert shown == {"RegionOrder": [], "FailureToleranceCount": 1, "MaxConcurrentCount": 3, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"}


def test_default_preferences_stop_at_the_first_failure(org):
    create_set(org)
    first = min(ids(org, *MEMBERS))
    control.set_faults(org["endpoint"], fail_stack_instances=[{"account_id": first, "operations": ["create"]}])
    op = deploy(org, {"OrganizationalUnitIds": [org["root_id"]]})
    assert operation(org, op)["Status"] == "FAILED"
    assert sorted(r["Status"] for r in results(org, op).values()) == ["CANCELLED", "CANCELLED", "CANCELLED", "FAILED"]
    assert with_role(org) == set()
    assert operation(org, op)["OperationPreferences"] == {"RegionOrder": [], "FailureToleranceCount": 0, "MaxConcurrentCount": 1}


def regional(prefix: str) -> dict[str, Any]:
    """The probe template with a role per Region (IAM is global: one name in two Regions collides)."""
    loaded: dict[str, Any] = json.loads(json.dumps(TEMPLATE).replace(f'"{ROLE}"', '{"Fn::Sub": "' + prefix + '-${AWS::Region}"}'))
    return loaded


def test_a_region_past_its_tolerance_cancels_the_regions_after_it_unless_they_run_in_parallel(org):
    create_set(org, template=regional("sequential"), name="sequential")
    create_set(org, template=regional("parallel"), name="parallel")
    control.set_faults(org["endpoint"], fail_stack_instances=[{"account_id": org["accounts"]["Deep"], "region": "eu-west-1"}])
    targets = {"OrganizationalUnitIds": [org["ous"]["Workloads/Prod"]]}
    regions = ["us-east-1", "eu-west-1"]
    # two at once whatever the failures (SOFT): both accounts of a Region run, then the tolerance (0) is checked
    preferences = {"RegionOrder": ["eu-west-1", "us-east-1"], "MaxConcurrentCount": 2, "ConcurrencyMode": "SOFT_FAILURE_TOLERANCE"}
    sequential = cfn(org).create_stack_instances(StackSetName="sequential", DeploymentTargets=targets, Regions=regions,
                                                 OperationPreferences=preferences)["OperationId"]
    parallel = cfn(org).create_stack_instances(StackSetName="parallel", DeploymentTargets=targets, Regions=regions,
                                               OperationPreferences={**preferences, "RegionConcurrencyType": "PARALLEL"})["OperationId"]

    def by_region(name: str, op: str) -> dict[tuple[str, str], str]:
        pages = cfn(org).get_paginator("list_stack_set_operation_results").paginate(StackSetName=name, OperationId=op)
        return {(names_of(org, [r["Account"]]).pop(), r["Region"]): r["Status"] for p in pages for r in p["Summaries"]}

    assert by_region("sequential", sequential) == {("Deep", "eu-west-1"): "FAILED", ("Deeper", "eu-west-1"): "SUCCEEDED",
                                                   ("Deep", "us-east-1"): "CANCELLED", ("Deeper", "us-east-1"): "CANCELLED"}
    assert by_region("parallel", parallel) == {("Deep", "eu-west-1"): "FAILED", ("Deeper", "eu-west-1"): "SUCCEEDED",
                                               ("Deep", "us-east-1"): "SUCCEEDED", ("Deeper", "us-east-1"): "SUCCEEDED"}
    assert [description(org, "Deeper", f"sequential-{region}") for region in regions] == [None, "first"]
    assert [description(org, "Deeper", f"parallel-{region}") for region in regions] == ["first", "first"]


@pytest.mark.parametrize(("preferences", "needle"), [
    ({"FailureToleranceCount": 1, "FailureTolerancePercentage": 10}, "FailureToleranceCount or FailureTolerancePercentage"),
    ({"MaxConcurrentCount": 1, "MaxConcurrentPercentage": 10}, "MaxConcurrentCount or MaxConcurrentPercentage"),
    ({"FailureTolerancePercentage": 101}, "less than or equal to 100"),
    ({"MaxConcurrentPercentage": 101}, "less than or equal to 100"),
    ({"RegionConcurrencyType": "ALL_AT_ONCE"}, "SEQUENTIAL, PARALLEL"),
    ({"ConcurrencyMode": "LOOSE"}, "STRICT_FAILURE_TOLERANCE, SOFT_FAILURE_TOLERANCE"),
])
def test_operation_preferences_are_checked_as_aws_does(org, preferences, needle):
    create_set(org)
    code, message, _ = error_of(cfn(org).create_stack_instances, StackSetName="probe", Regions=["us-east-1"],
                                DeploymentTargets={"OrganizationalUnitIds": [org["root_id"]]}, OperationPreferences=preferences)
    assert code == "ValidationError" and needle in message
    assert with_role(org) == set()


def test_a_failed_update_leaves_the_instance_outdated_and_a_failed_delete_inoperable(org):
    create_set(org)
    deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads/Prod"]]})
    control.set_faults(org["endpoint"], fail_stack_instances=[
        {"account_id": org["accounts"]["Deep"], "operations": ["update", "delete"], "message": "Rate exceeded"}])
    op = update_set(org, "second", OperationPreferences={"FailureToleranceCount": 1})
    assert operation(org, op)["Status"] == "SUCCEEDED"
    assert {n: description(org, n) for n in ("Deep", "Deeper")} == {"Deep": "first", "Deeper": "second"}
    assert instances(org)["Deep"]["Status"] == "OUTDATED"
    gone = cfn(org).delete_stack_instances(StackSetName="probe", Regions=["us-east-1"], RetainStacks=False,
                                           DeploymentTargets={"OrganizationalUnitIds": [org["ous"]["Workloads/Prod"]]},
                                           OperationPreferences={"FailureToleranceCount": 1})["OperationId"]
    assert {n: r["Status"] for n, r in results(org, gone).items()} == {"Deep": "FAILED", "Deeper": "SUCCEEDED"}
    deep = instances(org)["Deep"]
    assert (deep["Status"], deep["StackInstanceStatus"]["DetailedStatus"], deep["StatusReason"]) == (
        "INOPERABLE", "INOPERABLE", "Rate exceeded")
    assert description(org, "Deep") == "first" and description(org, "Deeper") is None


def test_operation_ids_are_idempotency_tokens_and_stop_cancels_what_has_not_run(org):
    create_set(org)
    op = deploy(org, {"OrganizationalUnitIds": [org["ous"]["Sandbox"]]}, OperationId="first-try")
    assert op == "first-try"
    code, _, status = error_of(cfn(org).create_stack_instances, StackSetName="probe", Regions=["us-east-1"],
                               DeploymentTargets={"OrganizationalUnitIds": [org["ous"]["Sandbox"]]}, OperationId="first-try")
    assert (code, status) == ("OperationIdAlreadyExistsException", 409)
    code, _, status = error_of(cfn(org).describe_stack_set_operation, StackSetName="probe", OperationId="nope")
    assert (code, status) == ("OperationNotFoundException", 404)
    control.set_faults(org["endpoint"], stackset_operations={"describes": 5})
    running = deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads"]]})
    cfn(org).stop_stack_set_operation(StackSetName="probe", OperationId=running)
    assert operation(org, running)["Status"] == "STOPPED"
    assert {r["Status"] for r in results(org, running).values()} == {"CANCELLED"}
    assert with_role(org) == {"Play"}
    code, _, _ = error_of(cfn(org).stop_stack_set_operation, StackSetName="probe", OperationId=running)
    assert code == "InvalidOperationException"


# --- 3. instance fields, filters, pages --------------------------------------------------------------


def test_instances_show_their_status_ou_drift_and_last_operation_and_page_by_at_most_100(org):
    create_set(org)
    op = deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads"], org["ous"]["Sandbox"]]})
    listed = instances(org)
    assert listed["Deeper"] == {
        "StackSetId": cfn(org).describe_stack_set(StackSetName="probe")["StackSet"]["StackSetId"],
        "Region": "us-east-1", "Account": org["accounts"]["Deeper"], "StackId": listed["Deeper"]["StackId"],
        "Status": "CURRENT", "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"},
        "OrganizationalUnitId": org["ous"]["Workloads"], "DriftStatus": "NOT_CHECKED", "LastOperationId": op}
    assert listed["Play"]["OrganizationalUnitId"] == org["ous"]["Sandbox"]
    assert listed == instances(org)  # stable StackIds
    first = cfn(org).list_stack_instances(StackSetName="probe", MaxResults=3)
    second = cfn(org).list_stack_instances(StackSetName="probe", MaxResults=3, NextToken=first["NextToken"])
    assert len(first["Summaries"]) == 3 and len(second["Summaries"]) == 1 and "NextToken" not in second
    code, message, _ = error_of(cfn(org).list_stack_instances, StackSetName="probe", MaxResults=101)
    assert code == "ValidationError" and "less than or equal to 100" in message
    assert set(instances(org, Filters=[{"Name": "LAST_OPERATION_ID", "Values": op}])) == set(MEMBERS)
    assert instances(org, Filters=[{"Name": "DETAILED_STATUS", "Values": "FAILED"}]) == {}
    assert set(instances(org, StackInstanceAccount=org["accounts"]["Top"])) == {"Top"}
    code, _, status = error_of(cfn(org).describe_stack_instance, StackSetName="probe",
                               StackInstanceAccount=org["accounts"]["Closed"], StackInstanceRegion="us-east-1")
    assert (code, status) == ("StackInstanceNotFoundException", 404)


def test_stack_sets_and_auto_deployment_targets_page_too(org):
    for name in ("one", "two", "three"):
        create_set(org, name=name)
    deploy(org, {"OrganizationalUnitIds": [org["ous"]["Sandbox"], org["ous"]["Workloads/Prod"]]}, name="two")
    first = cfn(org).list_stack_sets(MaxResults=2)
    second = cfn(org).list_stack_sets(MaxResults=2, NextToken=first["NextToken"])
    assert [s["StackSetName"] for s in first["Summaries"] + second["Summaries"]] == ["one", "two", "three"]
    assert first["Summaries"][0]["AutoDeployment"] == {"Enabled": True, "RetainStacksOnAccountRemoval": False}
    assert cfn(org).list_stack_sets(Status="DELETED")["Summaries"] == []
    targets = cfn(org).list_stack_set_auto_deployment_targets(StackSetName="two")["Summaries"]
    assert sorted(t["OrganizationalUnitId"] for t in targets) == sorted([org["ous"]["Sandbox"], org["ous"]["Workloads/Prod"]])
    assert {tuple(t["Regions"]) for t in targets} == {("us-east-1",)}


# --- 4. an update reaches instances only when something changed -------------------------------------


def test_an_update_with_the_same_template_is_an_operation_that_touches_no_resource(org):
    create_set(org)
    deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads/Prod"]]})
    iam_of(org, "Deep").update_role(RoleName=ROLE, Description="changed by hand")
    same = cfn(org).update_stack_set(StackSetName="probe", TemplateBody=json.dumps(TEMPLATE),
                                     Capabilities=["CAPABILITY_NAMED_IAM"])["OperationId"]
    assert operation(org, same)["Status"] == "SUCCEEDED" and set(results(org, same)) == {"Deep", "Deeper"}
    assert description(org, "Deep") == "changed by hand"  # CloudFormation had nothing to update
    assert instances(org)["Deep"]["LastOperationId"] == same
    changed = update_set(org, "second")
    assert operation(org, changed)["Status"] == "SUCCEEDED"
    assert {n: description(org, n) for n in ("Deep", "Deeper")} == {"Deep": "second", "Deeper": "second"}
    assert [o["Action"] for o in cfn(org).list_stack_set_operations(StackSetName="probe")["Summaries"]] == ["CREATE", "UPDATE", "UPDATE"]


# --- 5. automatic deployment -------------------------------------------------------------------------


def test_auto_deployment_shows_its_operations_and_fails_an_account_whose_role_exists(org):
    create_set(org)
    deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads"]]})
    organizations = management_client(org["endpoint"], "organizations")
    make_role(org, "Play")
    organizations.move_account(AccountId=org["accounts"]["Play"], SourceParentId=org["ous"]["Sandbox"],
                               DestinationParentId=org["ous"]["Workloads/Prod/Payments"])
    play = instances(org)["Play"]
    assert (play["Status"], play["StackInstanceStatus"]["DetailedStatus"]) == ("OUTDATED", "FAILED")
    assert "already exists" in play["StatusReason"] and description(org, "Play") == "by hand"
    assert operation(org, play["LastOperationId"])["Status"] == "FAILED"
    # moved out: a DELETE operation takes the instance and its role away
    organizations.move_account(AccountId=org["accounts"]["Deep"], SourceParentId=org["ous"]["Workloads/Prod"],
                               DestinationParentId=org["ous"]["Empty"])
    assert description(org, "Deep") is None and "Deep" not in instances(org)
    actions = [(o["Action"], o["Status"]) for o in cfn(org).list_stack_set_operations(StackSetName="probe")["Summaries"]]
    assert actions == [("CREATE", "SUCCEEDED"), ("CREATE", "FAILED"), ("DELETE", "SUCCEEDED")]
    # a new account created in the root is outside every target; moved into one, it gets its instance
    created = organizations.create_account(AccountName="Fresh", Email="fresh@test.orgiam.example")["CreateAccountStatus"]["AccountId"]
    org["accounts"]["Fresh"] = created
    organizations.move_account(AccountId=created, SourceParentId=org["root_id"], DestinationParentId=org["ous"]["Workloads"])
    assert description(org, "Fresh") == "first" and instances(org)["Fresh"]["Status"] == "CURRENT"


def test_moving_between_two_targets_keeps_the_instance(org):
    create_set(org)
    deploy(org, {"OrganizationalUnitIds": [org["ous"]["Workloads/Prod"], org["ous"]["Sandbox"]]})
    organizations = management_client(org["endpoint"], "organizations")
    before = instances(org)["Deep"]
    organizations.move_account(AccountId=org["accounts"]["Deep"], SourceParentId=org["ous"]["Workloads/Prod"],
                               DestinationParentId=org["ous"]["Sandbox"])
    after = instances(org)["Deep"]
    assert after["StackId"] == before["StackId"] and after["OrganizationalUnitId"] == org["ous"]["Sandbox"]
    assert description(org, "Deep") == "first"


def test_the_fault_plan_takes_and_shows_the_stack_set_kinds(emulator: EmulatorServer):
    taken = control.set_faults(emulator.endpoint_url, stackset_operations={"describes": 3, "stack_sets": ["probe"]},
                               fail_stack_instances=[{"account_id": "111122223333"}])
    assert taken["stackset_operations"] == {"describes": 3, "seconds": None, "stack_sets": ["probe"]}
    assert taken["fail_stack_instances"] == [{"account_id": "111122223333", "stack_set": None, "region": None,
                                              "operations": ["create", "update"], "limit": None,
                                              "message": "Internal failure (injected by the emulator's fault plan)."}]
    assert control.fault_counts(emulator.endpoint_url)["fail_stack_instances"] == 0
    with pytest.raises(ValueError, match="exactly one of describes and seconds"):
        control.set_faults(emulator.endpoint_url, stackset_operations={})
    with pytest.raises(ValueError, match="operations"):
        control.set_faults(emulator.endpoint_url, fail_stack_instances=[{"account_id": "111122223333", "operations": ["drift"]}])
    control.clear_faults(emulator.endpoint_url)
    assert "fail_stack_instances" not in control.fault_counts(emulator.endpoint_url)

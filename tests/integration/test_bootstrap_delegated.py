"""playbooks/bootstrap.yml with settings.yml's pipeline.delegated_admin, against the emulated demo organization.

The bootstrap, run from the management account, makes the pipeline account (Deployments) the delegated
administrator for StackSets, lets it read the organization (the Organizations delegation policy), and manages
the deployer StackSet from it with CallAs=DELEGATED_ADMIN. Everything is read back through the AWS API of the
account concerned, and the emulator's call log shows in which account each call landed. The organization is
then discovered (the inventory plugin, as the pipeline runs it) with credentials of the delegated
administrator alone, and refused, with what to do, to a member account that is not one.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.exceptions import ClientError

from emulator import stacksets
from emulator.delegated_admin import STACKSETS_PRINCIPAL
from tests.emulated import BIN, Run, aws_env, calls, clear_calls, write_calls
from tests.integration.test_bootstrap import (
    DEPLOYER,
    MEMBERS,
    PIPELINE,
    READER,
    WITHOUT_PIPELINE,
    bootstrap,
    has_role,
    iam_of,
    result,
    settings_without_pipeline,
)

ADMIN = "Deployments"
DELEGATED = PIPELINE + f"  delegated_admin: {ADMIN}\n"
SID = "OrgiamDelegatedAdminReadsTheOrganization"
STACKSET_WRITES = {"CreateStackSet", "UpdateStackSet", "CreateStackInstances", "DeleteStackInstances", "DeleteStackSet"}


@pytest.fixture
def ws(workspace):
    """The demo organization, whose StackSets deploy as AWS does, and settings naming the delegated administrator."""
    stacksets.install()
    settings = workspace.catalog / "settings.yml"
    settings.write_text(settings_without_pipeline(settings.read_text()) + DELEGATED)
    return workspace


def steps(ws) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in result(ws)["steps"]}


def credentials_env(ws, account: str) -> dict[str, str]:
    """The environment of a process that holds credentials of a role in ``account`` (its access role) only."""
    credentials = ws.session().client("sts", endpoint_url=ws.endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{ws.accounts[account]}:role/OrganizationAccountAccessRole", RoleSessionName="orgiam-pipeline",
    )["Credentials"]
    return dict(aws_env(ws.endpoint), AWS_ACCESS_KEY_ID=credentials["AccessKeyId"],
                AWS_SECRET_ACCESS_KEY=credentials["SecretAccessKey"], AWS_SESSION_TOKEN=credentials["SessionToken"])


def inventory(ws, account: str) -> Run:
    return ws.run(str(BIN / "ansible-inventory"), "-i", str(ws.inventory), "--list", env=credentials_env(ws, account))


def plain(value: Any) -> Any:
    """ansible-inventory marks strings from inventory plugins as {"__ansible_unsafe": "..."}."""
    return value["__ansible_unsafe"] if isinstance(value, dict) and set(value) == {"__ansible_unsafe"} else value


def stackset_calls(ws) -> dict[str, set[str]]:
    """StackSet writes by the account they landed in (name -> operations)."""
    names = {v: k for k, v in ws.accounts.items()}
    found: dict[str, set[str]] = {}
    for call in calls(ws.endpoint):
        if call["service"] == "cloudformation" and call["operation"] in STACKSET_WRITES:
            found.setdefault(names.get(call["account_id"], call["account_id"]), set()).add(call["operation"])
    return found


def delegation_policy(ws) -> dict[str, Any]:
    return json.loads(ws.client("organizations").describe_resource_policy()["ResourcePolicy"]["Content"])


def test_the_delegated_admin_manages_the_stack_set_and_reads_the_organization_alone(ws):
    # check mode: every step planned, nothing written (the admin is not registered yet: the StackSet is planned as the
    # management account sees it)
    clear_calls(ws.endpoint)
    planned = bootstrap(ws, "--check", *WITHOUT_PIPELINE)
    assert planned.returncode == 0, planned.output
    assert write_calls(calls(ws.endpoint)) == []
    assert {key: (s["action"], s["status"]) for key, s in steps(ws).items()} == {
        "trusted-access": ("activate", "planned"), "delegated-admin": ("activate", "planned"),
        "deployer-stackset": ("create", "planned"), "organization-access": ("create", "planned"),
        # the pipeline template takes the reader's ARN, given empty: the pipeline account reads the organization itself
        "organization-reader": ("none", "unchanged"), "management-deployer": ("none", "unchanged")}
    assert steps(ws)["deployer-stackset"]["account_name"] == ADMIN and steps(ws)["deployer-stackset"]["call_as"] == "DELEGATED_ADMIN"
    assert "is not the delegated administrator yet" in steps(ws)["deployer-stackset"]["details"][0]
    assert ws.client("organizations").list_delegated_administrators()["DelegatedAdministrators"] == []

    clear_calls(ws.endpoint)
    run = bootstrap(ws, *WITHOUT_PIPELINE)
    assert run.returncode == 0, run.output
    # the StackSet was written from the delegated administrator's account only
    assert stackset_calls(ws) == {ADMIN: {"CreateStackSet", "CreateStackInstances"}}
    for account in MEMBERS:
        assert iam_of(ws, account).get_role(RoleName=DEPLOYER)["Role"]["Path"] == "/orgiam/", account
    assert not has_role(iam_of(ws), DEPLOYER)  # never the management account
    assert not has_role(iam_of(ws), READER)  # not needed
    organizations = ws.client("organizations")
    admins = organizations.list_delegated_administrators(ServicePrincipal=STACKSETS_PRINCIPAL)["DelegatedAdministrators"]
    assert [a["Id"] for a in admins] == [ws.accounts[ADMIN]]
    (statement,) = delegation_policy(ws)["Statement"]
    assert statement["Sid"] == SID and statement["Principal"] == {"AWS": f"arn:aws:iam::{ws.accounts[ADMIN]}:root"}
    assert all(a.startswith(("organizations:List", "organizations:Describe")) for a in statement["Action"])
    # the delegated administrator sees the StackSet as DELEGATED_ADMIN; its own account (SELF) holds none: AWS keeps
    # service-managed StackSets in the management account, whoever made them
    admin_cfn = ws.client("cloudformation", ADMIN)
    stack_set = admin_cfn.describe_stack_set(StackSetName="orgiam-deployer", CallAs="DELEGATED_ADMIN")["StackSet"]
    assert stack_set["PermissionModel"] == "SERVICE_MANAGED" and stack_set["AutoDeployment"]["Enabled"] is True
    assert stack_set["StackSetARN"].split(":")[4] == ws.accounts["Management"]
    with pytest.raises(ClientError) as raised:
        admin_cfn.describe_stack_set(StackSetName="orgiam-deployer")
    assert raised.value.response["Error"]["Code"] == "StackSetNotFoundException"
    assert {s["status"] for s in result(ws)["steps"]} == {"created", "updated", "unchanged"}
    assert result(ws)["delegated_admin"] == {"account_id": ws.accounts[ADMIN], "account_name": ADMIN}

    # a second run changes nothing, and reads the StackSet as the delegated administrator
    clear_calls(ws.endpoint)
    again = bootstrap(ws, *WITHOUT_PIPELINE)
    assert again.returncode == 0, again.output
    assert write_calls(calls(ws.endpoint)) == [] and "changed=0" in again.stdout
    assert {s["status"] for s in result(ws)["steps"]} == {"unchanged"}
    assert steps(ws)["deployer-stackset"]["details"][0].startswith(f"managed from {ADMIN} (")
    reads = {(c["account_id"], c["operation"]) for c in calls(ws.endpoint) if c["operation"] == "DescribeStackSet"}
    assert reads == {(ws.accounts[ADMIN], "DescribeStackSet")}

    # the organization, discovered with the delegated administrator's credentials alone: as the management account sees it
    found = inventory(ws, ADMIN)
    assert found.returncode == 0, found.output
    as_management = ws.run(str(BIN / "ansible-inventory"), "-i", str(ws.inventory), "--list")
    assert as_management.returncode == 0, as_management.output
    accounts = {plain(v["account_id"]) for v in json.loads(found.stdout)["_meta"]["hostvars"].values()}
    assert accounts == {plain(v["account_id"]) for v in json.loads(as_management.stdout)["_meta"]["hostvars"].values()}
    assert accounts == set(ws.accounts.values()) - {ws.accounts["Legacy App"]}  # every ACTIVE account
    # and refused to a member account that is no delegated administrator, naming it and what to do
    refused = inventory(ws, "Security")
    assert refused.returncode != 0
    text = " ".join(refused.output.split())
    assert f"account {ws.accounts['Security']} may not read the organization" in text
    assert "AccessDeniedException" in text and "pipeline.delegated_admin" in text and "orgiam-organization-reader" in text
    assert "Traceback" not in refused.output


def test_a_stack_set_made_without_a_delegated_admin_is_taken_over_as_it_is(ws):
    settings = ws.catalog / "settings.yml"
    settings.write_text(settings.read_text().replace(f"  delegated_admin: {ADMIN}\n", ""))
    assert bootstrap(ws, *WITHOUT_PIPELINE).returncode == 0
    before = ws.client("cloudformation").describe_stack_set(StackSetName="orgiam-deployer")["StackSet"]["StackSetId"]

    settings.write_text(settings.read_text() + f"  delegated_admin: {ADMIN}\n")
    clear_calls(ws.endpoint)
    run = bootstrap(ws, *WITHOUT_PIPELINE)
    assert run.returncode == 0, run.output
    found = steps(ws)
    assert (found["deployer-stackset"]["status"], found["deployer-stackset"]["action"]) == ("unchanged", "none")
    assert (found["delegated-admin"]["status"], found["organization-access"]["status"]) == ("updated", "created")
    assert found["organization-reader"]["status"] == "retained"  # no longer needed; prune: plan keeps it
    assert has_role(iam_of(ws), READER)
    assert stackset_calls(ws) == {}  # no instance deleted, none made again
    assert sorted(write_calls(calls(ws.endpoint))) == ["organizations:PutResourcePolicy", "organizations:RegisterDelegatedAdministrator"]
    admin_cfn = ws.client("cloudformation", ADMIN)
    assert admin_cfn.describe_stack_set(StackSetName="orgiam-deployer", CallAs="DELEGATED_ADMIN")["StackSet"]["StackSetId"] == before
    assert all(has_role(iam_of(ws, account), DEPLOYER) for account in MEMBERS)


def test_a_policy_statement_of_someone_else_is_kept_and_a_hand_change_to_orgiams_is_put_back(ws):
    security = ws.accounts["Security"]
    theirs = {"Sid": "SecurityReadsPolicies", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{security}:root"},
              "Action": ["organizations:ListPolicies", "organizations:DescribePolicy"], "Resource": "*"}
    organizations = ws.client("organizations")
    organizations.put_resource_policy(Content=json.dumps({"Version": "2012-10-17", "Statement": [theirs]}))
    assert bootstrap(ws, *WITHOUT_PIPELINE).returncode == 0
    assert steps(ws)["organization-access"]["reason"] == "add orgiam's statement; 1 other statement(s) kept as they are"
    assert [s["Sid"] for s in delegation_policy(ws)["Statement"]] == ["SecurityReadsPolicies", SID]

    policy = delegation_policy(ws)
    policy["Statement"][1]["Action"].append("organizations:ListPolicies")  # widened by hand
    organizations.put_resource_policy(Content=json.dumps(policy))
    assert bootstrap(ws, *WITHOUT_PIPELINE).returncode == 0
    assert steps(ws)["organization-access"]["action"] == "update"
    theirs_now, ours = delegation_policy(ws)["Statement"]
    assert theirs_now == theirs and "organizations:ListPolicies" not in ours["Action"]


def test_the_pipeline_reads_the_organization_itself_with_the_reader_parameter_given_empty(ws):
    run = bootstrap(ws)
    assert run.returncode == 0, run.output
    stack = ws.client("cloudformation", ADMIN).describe_stacks(StackName="orgiam-pipeline")["Stacks"][0]
    assert {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}["OrganizationReaderRoleArn"] == ""
    reader = steps(ws)["organization-reader"]
    assert (reader["action"], reader["status"]) == ("none", "unchanged")
    assert reader["reason"] == f"not needed: the pipeline account {ADMIN} is the delegated administrator and reads the organization itself"
    assert not has_role(iam_of(ws), READER)
    assert bootstrap(ws).returncode == 0
    assert {s["status"] for s in result(ws)["steps"]} == {"unchanged"}


def test_live_verification_reads_the_stack_set_as_the_delegated_admin_and_puts_back_a_hand_change(ws):
    assert bootstrap(ws, *WITHOUT_PIPELINE).returncode == 0
    member = iam_of(ws, "Payments Prod")
    member.attach_role_policy(RoleName=DEPLOYER, PolicyArn="arn:aws:iam::aws:policy/AdministratorAccess")
    clear_calls(ws.endpoint)
    check = bootstrap(ws, "--check", "-e", "orgiam_verify=live", *WITHOUT_PIPELINE)
    assert check.returncode == 0, check.output
    assert write_calls(calls(ws.endpoint)) == []
    stack_set = steps(ws)["deployer-stackset"]
    assert stack_set["action"] == "repair" and [d["account_name"] for d in stack_set["drift"]] == ["Payments Prod"]
    listed = {c["operation"] for c in calls(ws.endpoint) if c["account_id"] == ws.accounts[ADMIN] and c["service"] == "cloudformation"}
    assert {"DescribeStackSet", "ListStackInstances"} <= listed
    assert bootstrap(ws, "-e", "orgiam_verify=live", *WITHOUT_PIPELINE).returncode == 0
    assert steps(ws)["deployer-stackset"]["status"] == "repaired"
    assert member.list_attached_role_policies(RoleName=DEPLOYER)["AttachedPolicies"] == []

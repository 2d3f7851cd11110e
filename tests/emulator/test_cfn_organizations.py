"""Organization policies as AWS has them, and ``AWS::Organizations::Policy`` stacks (emulator/cfn_organizations.py):
through boto3 against the emulator, read back with ListPolicies, DescribePolicy, ListTargetsForPolicy and
ListPoliciesForTarget."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from emulator import cfn_organizations
from emulator.organization import seed_organization
from tests.emulator.conftest import assume_access_role, described, error_of, management_client, template

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"
FULL_ACCESS = "p-FullAWSAccess"
RCP_FULL_ACCESS = "p-RCPFullAWSAccess"
SPEC: dict[str, Any] = {
    "management_account": {"name": "Management"},
    "organizational_units": [
        {"name": "Workloads", "accounts": [{"name": "Member", "email": "member@test.orgiam.example"}]},
        {"name": "Sandbox", "accounts": [{"name": "Sandbox", "email": "sandbox@test.orgiam.example"}]},
        {"name": "Deployments", "accounts": [{"name": "Admin", "email": "admin@test.orgiam.example"}]},
    ],
}
STACK = "orgiam-guardrails"


@dataclass
class Org:
    endpoint: str
    organizations: BaseClient
    cloudformation: BaseClient
    root: str
    ous: dict[str, str]
    accounts: dict[str, str]

    def enable(self, *kinds: str) -> None:
        for kind in kinds:
            self.organizations.enable_policy_type(RootId=self.root, PolicyType=kind)

    def policies_on(self, target: str, kind: str = SCP) -> list[str]:
        """Names of the policies of ``kind`` attached to ``target``."""
        policies = self.organizations.list_policies_for_target(TargetId=target, Filter=kind)["Policies"]
        return sorted(p["Name"] for p in policies)

    def targets_of(self, policy_id: str) -> list[str]:
        return sorted(t["TargetId"] for t in self.organizations.list_targets_for_policy(PolicyId=policy_id)["Targets"])

    def policy_ids(self, kind: str = SCP) -> dict[str, str]:
        """Name -> id of every policy of ``kind``."""
        return {p["Name"]: p["Id"] for p in self.organizations.list_policies(Filter=kind)["Policies"]}

    def outside_policy(self, name: str, *targets: str, kind: str = SCP) -> str:
        """A policy made with the API (not by a stack), attached to ``targets``."""
        policy_id = self.organizations.create_policy(Name=name, Description="by hand", Type=kind,
                                                     Content=json.dumps(document(kind)))["Policy"]["PolicySummary"]["Id"]
        for target in targets:
            self.organizations.attach_policy(PolicyId=policy_id, TargetId=target)
        return str(policy_id)

    def create_stack(self, resources: dict[str, Any], outputs: dict[str, Any] | None = None, **more: Any) -> str:
        self.cloudformation.create_stack(StackName=STACK, TemplateBody=template(resources, outputs), **more)
        return self.status()

    def update_stack(self, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
        self.cloudformation.update_stack(StackName=STACK, TemplateBody=template(resources, outputs))
        return self.status()

    def status(self) -> str:
        return str(described(self.cloudformation, STACK)["StackStatus"])

    def reason(self) -> str:
        return str(described(self.cloudformation, STACK).get("StackStatusReason") or "")

    def failed_event(self, logical_id: str) -> str:
        events = self.cloudformation.describe_stack_events(StackName=STACK)["StackEvents"]
        return next(str(e.get("ResourceStatusReason")) for e in events
                    if e["LogicalResourceId"] == logical_id and e["ResourceStatus"].endswith("_FAILED"))

    def physical_ids(self) -> dict[str, str]:
        resources = self.cloudformation.describe_stack_resources(StackName=STACK)["StackResources"]
        return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


@pytest.fixture(scope="module", autouse=True)
def _installed() -> None:
    cfn_organizations.install()


@pytest.fixture
def org(endpoint: str) -> Org:
    seeded = seed_organization(endpoint, SPEC)
    organizations = management_client(endpoint, "organizations")
    return Org(endpoint, organizations, management_client(endpoint, "cloudformation"),
               organizations.list_roots()["Roots"][0]["Id"], seeded["ous"], seeded["accounts"])


def document(kind: str = SCP, action: str = "s3:DeleteBucket", padding: int = 0) -> dict[str, Any]:
    statement: dict[str, Any] = {"Effect": "Deny", "Action": action, "Resource": "*"}
    if kind == RCP:
        statement["Principal"] = "*"
    if padding:
        statement["Sid"] = "P" * padding
    return {"Version": "2012-10-17", "Statement": [statement]}


def policy(name: str, *targets: str, kind: str = SCP, content: Any = None, **more: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {"Name": name, "Type": kind, "Content": content or document(kind), **more}
    if targets:
        properties["TargetIds"] = list(targets)
    return {"Type": "AWS::Organizations::Policy", "Properties": properties}


def raises(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return error_of(raised)


def reason_of(call: Callable[..., Any], **kwargs: Any) -> tuple[str, str, str]:
    """(code, message, Reason) of the error ``call`` raises."""
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    return (*error_of(raised), str(raised.value.response.get("Reason")))


# --- the Organizations API ---------------------------------------------------------------------------


def test_a_new_organization_has_no_policy_type_enabled_and_nothing_attached(org: Org) -> None:
    assert org.organizations.list_roots()["Roots"][0]["PolicyTypes"] == []
    for target in (org.root, org.ous["Workloads"], org.accounts["Member"], org.accounts["Management"]):
        assert org.policies_on(target, SCP) == [] and org.policies_on(target, RCP) == []
    scp = org.outside_policy("Guardrail")
    assert raises(org.organizations.attach_policy, PolicyId=scp, TargetId=org.ous["Workloads"]) == (
        "PolicyTypeNotEnabledException", "This operation can be performed only for enabled policy types.")


def test_enabling_a_type_attaches_its_aws_policy_everywhere_and_to_what_is_created_later(org: Org) -> None:
    answer = org.organizations.enable_policy_type(RootId=org.root, PolicyType=SCP)
    assert answer["Root"]["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    assert org.organizations.list_roots()["Roots"][0]["PolicyTypes"] == [{"Type": SCP, "Status": "ENABLED"}]
    everything = [org.root, *org.ous.values(), *org.accounts.values()]
    assert org.targets_of(FULL_ACCESS) == sorted(everything)
    assert org.targets_of(RCP_FULL_ACCESS) == []  # RCPs are not enabled
    new_ou = org.organizations.create_organizational_unit(ParentId=org.root, Name="Later")["OrganizationalUnit"]["Id"]
    new_account = org.organizations.create_account(AccountName="Later", Email="later@test.orgiam.example")[
        "CreateAccountStatus"]["AccountId"]
    assert org.policies_on(new_ou) == ["FullAWSAccess"] and org.policies_on(new_account) == ["FullAWSAccess"]
    assert org.policies_on(new_ou, RCP) == [] and org.policies_on(new_account, RCP) == []
    assert raises(org.organizations.enable_policy_type, RootId=org.root, PolicyType=SCP)[0] == "PolicyTypeAlreadyEnabledException"


def test_disabling_a_type_detaches_every_policy_of_it(org: Org) -> None:
    org.enable(SCP)
    guardrail = org.outside_policy("Guardrail", org.ous["Workloads"], org.accounts["Member"])
    org.organizations.disable_policy_type(RootId=org.root, PolicyType=SCP)
    assert org.targets_of(guardrail) == [] and org.targets_of(FULL_ACCESS) == []
    assert org.policy_ids()["Guardrail"] == guardrail  # detached, not deleted
    org.enable(SCP)  # back to AWS's policy alone
    assert org.policies_on(org.ous["Workloads"]) == ["FullAWSAccess"]


def test_attachments_follow_aws_rules(org: Org) -> None:
    org.enable(SCP)
    ou, account = org.ous["Workloads"], org.accounts["Member"]
    guardrail = org.outside_policy("Guardrail", ou)
    api = org.organizations
    assert raises(api.attach_policy, PolicyId=guardrail, TargetId=ou) == (
        "DuplicatePolicyAttachmentException", "A policy with the specified name and type already exists.")
    assert raises(api.detach_policy, PolicyId=guardrail, TargetId=account)[0] == "PolicyNotAttachedException"
    assert raises(api.attach_policy, PolicyId=guardrail, TargetId="ou-zzzz-zzzzzzzz") == (
        "TargetNotFoundException", "You specified a target that doesn't exist.")
    assert raises(api.delete_policy, PolicyId=guardrail)[0] == "PolicyInUseException"
    # every target keeps one SCP at least
    last = "You cannot remove the last policy attached to the specified target. You must have at least one attached at all times."
    assert reason_of(api.detach_policy, PolicyId=FULL_ACCESS, TargetId=account) == (
        "ConstraintViolationException", last, "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    api.detach_policy(PolicyId=FULL_ACCESS, TargetId=ou)  # the guardrail stays: allowed
    assert org.policies_on(ou) == ["Guardrail"]
    # AWS's own policy cannot change
    immutable = ("InvalidInputException", "You specified a policy that is managed by AWS and can't be modified.",
                 "IMMUTABLE_POLICY")
    assert reason_of(api.update_policy, PolicyId=FULL_ACCESS, Name="Mine") == immutable
    assert reason_of(api.delete_policy, PolicyId=FULL_ACCESS) == immutable


def test_at_most_five_scps_on_a_target_counting_full_aws_access(org: Org) -> None:
    org.enable(SCP)
    ou = org.ous["Workloads"]
    for number in range(4):  # with FullAWSAccess: five
        org.outside_policy(f"Guardrail{number}", ou)
    sixth = org.outside_policy("Guardrail4")
    assert reason_of(org.organizations.attach_policy, PolicyId=sixth, TargetId=ou) == (
        "ConstraintViolationException", "You have attached the maximum number of policies to the specified target.",
        "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    assert len(org.policies_on(ou)) == 5
    org.organizations.attach_policy(PolicyId=sixth, TargetId=org.ous["Sandbox"])  # another target has room


def test_content_is_checked_and_counted_as_sent(org: Org) -> None:
    api = org.organizations
    compact = json.dumps(document(padding=5120 - len(json.dumps(document(padding=1), separators=(",", ":"))) + 1),
                         separators=(",", ":"))
    assert len(compact) == 5120
    api.create_policy(Name="Exactly", Description="", Type=SCP, Content=compact)
    indented = json.dumps(json.loads(compact), indent=1)  # the same document with whitespace: 5,120 + spaces
    assert reason_of(api.create_policy, Name="Indented", Description="", Type=SCP, Content=indented) == (
        "ConstraintViolationException", "You have exceeded the maximum policy size.", "POLICY_CONTENT_LIMIT_EXCEEDED")
    malformed = ("MalformedPolicyDocumentException",
                 "The provided policy document does not meet the requirements of the specified policy type.")
    assert raises(api.create_policy, Name="Broken", Description="", Type=SCP, Content="{not json") == malformed
    assert raises(api.create_policy, Name="Empty", Description="", Type=SCP, Content='{"Statement": []}') == malformed
    exactly = org.policy_ids()["Exactly"]
    assert raises(api.update_policy, PolicyId=exactly, Content=indented)[0] == "ConstraintViolationException"
    assert json.loads(api.describe_policy(PolicyId=exactly)["Policy"]["Content"]) == json.loads(compact)


def test_names_are_unique_per_type(org: Org) -> None:
    api = org.organizations
    first = org.outside_policy("Guardrail")
    assert raises(api.create_policy, Name="Guardrail", Description="", Type=SCP, Content=json.dumps(document())) == (
        "DuplicatePolicyException", "A policy with the specified name and type already exists.")
    org.outside_policy("Guardrail", kind=RCP)  # another type may use the name
    second = org.outside_policy("Other")
    assert raises(api.update_policy, PolicyId=second, Name="Guardrail")[0] == "DuplicatePolicyException"
    api.update_policy(PolicyId=first, Name="Guardrail")  # its own name again
    backup = api.create_policy(Name="Backups", Description="", Type="BACKUP_POLICY", Content="{}")["Policy"]
    assert "/backup_policy/p-" in backup["PolicySummary"]["Arn"]


# --- AWS::Organizations::Policy ------------------------------------------------------------------------


def test_a_stack_attaches_its_policies_to_the_root_an_ou_and_an_account(org: Org) -> None:
    org.enable(SCP)
    ou, account = org.ous["Workloads"], org.accounts["Member"]
    resources = {
        "DenyLeaving": policy("DenyLeaving", org.root, ou, Description="no leaving",
                              content=document(action="organizations:LeaveOrganization"),
                              Tags=[{"Key": "owner", "Value": "platform"}]),
        "DenyRegions": policy("DenyRegions", account, content=json.dumps(document(action="ec2:*"), indent=2)),
    }
    outputs = {"Ref": {"Value": {"Ref": "DenyLeaving"}}, "Id": {"Value": {"Fn::GetAtt": ["DenyLeaving", "Id"]}},
               "Arn": {"Value": {"Fn::GetAtt": ["DenyLeaving", "Arn"]}}}
    assert org.create_stack(resources, outputs) == "CREATE_COMPLETE"
    ids = org.policy_ids()
    leaving, regions = ids["DenyLeaving"], ids["DenyRegions"]
    stack_outputs = {o["OutputKey"]: o["OutputValue"] for o in described(org.cloudformation, STACK)["Outputs"]}
    assert stack_outputs["Ref"] == stack_outputs["Id"] == leaving == org.physical_ids()["DenyLeaving"]
    assert stack_outputs["Arn"].endswith(f"/service_control_policy/{leaving}")
    assert org.targets_of(leaving) == sorted([org.root, ou]) and org.targets_of(regions) == [account]
    assert org.policies_on(org.root) == org.policies_on(ou) == ["DenyLeaving", "FullAWSAccess"]
    assert org.policies_on(account) == ["DenyRegions", "FullAWSAccess"]
    described_policy = org.organizations.describe_policy(PolicyId=leaving)["Policy"]
    assert described_policy["PolicySummary"]["Description"] == "no leaving"
    assert described_policy["PolicySummary"]["AwsManaged"] is False
    # an object is sent as compact JSON, a string as it is
    assert described_policy["Content"] == json.dumps(document(action="organizations:LeaveOrganization"),
                                                     separators=(",", ":"))
    assert org.organizations.describe_policy(PolicyId=regions)["Policy"]["Content"] == json.dumps(
        document(action="ec2:*"), indent=2)
    assert org.organizations.list_tags_for_resource(ResourceId=leaving)["Tags"] == [{"Key": "owner", "Value": "platform"}]


def test_moving_a_policy_attaches_it_to_the_new_ou_before_it_leaves_the_old(
        org: Org, monkeypatch: pytest.MonkeyPatch) -> None:
    org.enable(SCP)
    workloads, sandbox = org.ous["Workloads"], org.ous["Sandbox"]
    assert org.create_stack({"Guardrail": policy("Guardrail", workloads)}) == "CREATE_COMPLETE"
    guardrail = org.policy_ids()["Guardrail"]
    calls: list[tuple[str, str, list[str]]] = []  # (operation, target, the policy's targets at that moment)

    def recording(operation: str, original: Callable[..., None]) -> Callable[..., None]:
        def call(backend: Any, policy_id: str, target_id: str) -> None:
            if policy_id == guardrail:
                calls.append((operation, target_id, org.targets_of(guardrail)))
            original(backend, policy_id, target_id)
        return call

    monkeypatch.setattr(cfn_organizations, "attach_policy", recording("attach", cfn_organizations.attach_policy))
    monkeypatch.setattr(cfn_organizations, "detach_policy", recording("detach", cfn_organizations.detach_policy))
    assert org.update_stack({"Guardrail": policy("Guardrail", sandbox)}) == "UPDATE_COMPLETE"
    assert calls == [("attach", sandbox, [workloads]), ("detach", workloads, sorted([workloads, sandbox]))]
    assert org.targets_of(guardrail) == [sandbox]
    assert org.policy_ids()["Guardrail"] == guardrail  # the same policy, moved


def test_name_description_and_content_change_in_place_and_a_new_type_replaces(org: Org) -> None:
    org.enable(SCP, RCP)
    ou = org.ous["Workloads"]
    assert org.create_stack({"Guardrail": policy("Guardrail", ou, Tags=[{"Key": "a", "Value": "1"}])}) == "CREATE_COMPLETE"
    first = org.policy_ids()["Guardrail"]
    renamed = policy("Renamed", ou, Description="now described", content=document(action="iam:*"),
                     Tags=[{"Key": "b", "Value": "2"}])
    assert org.update_stack({"Guardrail": renamed}) == "UPDATE_COMPLETE"
    summary = org.organizations.describe_policy(PolicyId=first)["Policy"]
    assert (summary["PolicySummary"]["Name"], summary["PolicySummary"]["Description"]) == ("Renamed", "now described")
    assert json.loads(summary["Content"]) == document(action="iam:*")
    assert org.organizations.list_tags_for_resource(ResourceId=first)["Tags"] == [{"Key": "b", "Value": "2"}]
    assert org.update_stack({"Guardrail": policy("Renamed", ou, kind=RCP)}) == "UPDATE_COMPLETE"
    replacement = org.physical_ids()["Guardrail"]
    assert replacement != first and org.policy_ids(RCP) == {"RCPFullAWSAccess": RCP_FULL_ACCESS, "Renamed": replacement}
    assert "Renamed" not in org.policy_ids(SCP)
    assert org.policies_on(ou, RCP) == ["RCPFullAWSAccess", "Renamed"] and org.policies_on(ou, SCP) == ["FullAWSAccess"]


def test_a_stack_update_that_removes_a_policy_detaches_and_deletes_it(org: Org) -> None:
    org.enable(SCP)
    ou, account = org.ous["Workloads"], org.accounts["Member"]
    assert org.create_stack({"Kept": policy("Kept", ou), "Dropped": policy("Dropped", ou, account)}) == "CREATE_COMPLETE"
    assert org.update_stack({"Kept": policy("Kept", ou)}) == "UPDATE_COMPLETE"
    assert sorted(org.policy_ids()) == ["FullAWSAccess", "Kept"]
    assert org.policies_on(ou) == ["FullAWSAccess", "Kept"] and org.policies_on(account) == ["FullAWSAccess"]


def test_a_sixth_scp_fails_the_create_and_leaves_no_policy_behind(org: Org) -> None:
    org.enable(SCP)
    ou = org.ous["Workloads"]
    for number in range(3):  # FullAWSAccess and three: four
        org.outside_policy(f"ByHand{number}", ou)
    resources = {"First": policy("First", org.accounts["Member"], ou),
                 "Second": {**policy("Second", org.accounts["Member"], ou), "DependsOn": "First"}}
    assert org.create_stack(resources) == "ROLLBACK_COMPLETE"
    message = "You have attached the maximum number of policies to the specified target."
    assert org.reason() == ("The following resource(s) failed to create: [Second]. Rollback requested by user. "
                            f"Second: {message} (ConstraintViolationException)")
    assert org.failed_event("Second") == (f'Resource handler returned message: "{message} (Service: Organizations, '
                                          'Error Code: ConstraintViolationException)" (HandlerErrorCode: ServiceLimitExceeded)')
    assert sorted(org.policy_ids()) == ["ByHand0", "ByHand1", "ByHand2", "FullAWSAccess"]
    assert org.policies_on(ou) == ["ByHand0", "ByHand1", "ByHand2", "FullAWSAccess"]
    assert org.policies_on(org.accounts["Member"]) == ["FullAWSAccess"]


def test_an_update_that_fails_rolls_back_to_the_previous_targets_and_content(org: Org) -> None:
    org.enable(SCP)
    workloads, sandbox = org.ous["Workloads"], org.ous["Sandbox"]
    for number in range(4):  # Sandbox is full
        org.outside_policy(f"ByHand{number}", sandbox)
    assert org.create_stack({"Guardrail": policy("Guardrail", workloads)}) == "CREATE_COMPLETE"
    guardrail = org.policy_ids()["Guardrail"]
    moved = policy("Guardrail", org.accounts["Member"], sandbox, content=document(action="iam:*"))
    assert org.update_stack({"Guardrail": moved}) == "UPDATE_ROLLBACK_COMPLETE"
    assert "Guardrail: You have attached the maximum number of policies to the specified target." in org.reason()
    assert org.targets_of(guardrail) == [workloads]
    assert json.loads(org.organizations.describe_policy(PolicyId=guardrail)["Policy"]["Content"]) == document()
    assert len(org.policies_on(sandbox)) == 5 and "Guardrail" not in org.policies_on(sandbox)


def test_limits_fail_the_stack_with_the_apis_error(org: Org) -> None:
    ou = org.ous["Workloads"]
    # type not enabled
    assert org.create_stack({"Guardrail": policy("Guardrail", ou)}) == "ROLLBACK_COMPLETE"
    assert org.reason().endswith("Guardrail: This operation can be performed only for enabled policy types. "
                                 "(PolicyTypeNotEnabledException)")
    assert "(HandlerErrorCode: InvalidRequest)" in org.failed_event("Guardrail")
    assert "Guardrail" not in org.policy_ids()
    org.cloudformation.delete_stack(StackName=STACK)
    org.enable(SCP)
    # size: a string is counted with its whitespace
    padded = json.dumps(document(padding=5000), indent=4)
    assert len(padded) > 5120 and len(json.dumps(json.loads(padded), separators=(",", ":"))) <= 5120
    assert org.create_stack({"Big": policy("Big", ou, content=padded)}) == "ROLLBACK_COMPLETE"
    assert org.reason().endswith("Big: You have exceeded the maximum policy size. (ConstraintViolationException)")
    org.cloudformation.delete_stack(StackName=STACK)
    assert org.create_stack({"Big": policy("Big", ou, content=json.loads(padded))}) == "CREATE_COMPLETE"  # compact
    org.cloudformation.delete_stack(StackName=STACK)
    # a name already used by a policy of the type
    outside = org.outside_policy("Taken", ou)
    assert org.create_stack({"Taken": policy("Taken", org.accounts["Member"])}) == "ROLLBACK_COMPLETE"
    assert org.reason().endswith("Taken: Policy already exists for policy name [Taken]. (DuplicatePolicyException)")
    assert "(HandlerErrorCode: AlreadyExists)" in org.failed_event("Taken")
    assert org.targets_of(outside) == [ou] and org.policies_on(org.accounts["Member"]) == ["FullAWSAccess"]


def test_stack_operations_leave_policies_made_outside_the_stack_alone(org: Org) -> None:
    org.enable(SCP)
    ou, account = org.ous["Workloads"], org.accounts["Member"]
    outside = org.outside_policy("ByHand", ou, account)
    assert org.create_stack({"A": policy("A", ou), "B": policy("B", ou, account)}) == "CREATE_COMPLETE"
    assert org.update_stack({"A": policy("A", account)}) == "UPDATE_COMPLETE"
    assert org.targets_of(outside) == sorted([ou, account])
    org.cloudformation.delete_stack(StackName=STACK)
    assert sorted(org.policy_ids()) == ["ByHand", "FullAWSAccess"]  # only the stack's policies went
    assert org.targets_of(outside) == sorted([ou, account])
    assert org.policies_on(ou) == org.policies_on(account) == ["ByHand", "FullAWSAccess"]


def test_deleting_the_stack_fails_while_its_policy_is_attached_elsewhere_by_hand(org: Org) -> None:
    org.enable(SCP)
    ou = org.ous["Workloads"]
    assert org.create_stack({"Guardrail": policy("Guardrail", ou)}) == "CREATE_COMPLETE"
    guardrail = org.policy_ids()["Guardrail"]
    org.organizations.attach_policy(PolicyId=guardrail, TargetId=org.ous["Sandbox"])
    org.cloudformation.delete_stack(StackName=STACK)
    assert org.status() == "DELETE_FAILED"  # AWS's handler detaches the template's targets only
    assert org.failed_event("Guardrail").startswith("The policy is attached to one or more entities.")
    assert org.targets_of(guardrail) == [org.ous["Sandbox"]]
    org.organizations.detach_policy(PolicyId=guardrail, TargetId=org.ous["Sandbox"])
    org.cloudformation.delete_stack(StackName=STACK)
    assert "Guardrail" not in org.policy_ids()


def test_resource_control_policies(org: Org) -> None:
    org.enable(RCP)
    ou = org.ous["Workloads"]
    assert org.targets_of(RCP_FULL_ACCESS) == sorted([org.root, *org.ous.values(), *org.accounts.values()])
    assert org.targets_of(FULL_ACCESS) == []  # SCPs are not enabled
    assert reason_of(org.organizations.detach_policy, PolicyId=RCP_FULL_ACCESS, TargetId=ou) == (
        "InvalidInputException", "You can't detach this AWS Managed Policy.", "NON_DETACHABLE_POLICY")
    for number in range(3):  # RCPFullAWSAccess and three: four
        org.outside_policy(f"ByHand{number}", ou, kind=RCP)
    resources = {"DenyOutside": policy("DenyOutside", ou, org.root, kind=RCP)}
    assert org.create_stack(resources) == "CREATE_COMPLETE"
    deny = org.policy_ids(RCP)["DenyOutside"]
    assert "/resource_control_policy/" in org.organizations.describe_policy(PolicyId=deny)["Policy"]["PolicySummary"]["Arn"]
    assert org.policies_on(ou, RCP) == ["ByHand0", "ByHand1", "ByHand2", "DenyOutside", "RCPFullAWSAccess"]
    sixth = org.outside_policy("Sixth", kind=RCP)
    assert reason_of(org.organizations.attach_policy, PolicyId=sixth, TargetId=ou)[2] == (
        "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED")
    assert org.update_stack({"DenyOutside": policy("DenyOutside", org.root, kind=RCP)}) == "UPDATE_COMPLETE"
    assert org.targets_of(deny) == [org.root]
    org.cloudformation.delete_stack(StackName=STACK)
    assert sorted(org.policy_ids(RCP)) == ["ByHand0", "ByHand1", "ByHand2", "RCPFullAWSAccess", "Sixth"]


def test_a_delegated_administrator_deploys_the_organizations_policies(org: Org) -> None:
    org.enable(SCP)
    admin_id = org.accounts["Admin"]
    delegated = ["organizations:CreatePolicy", "organizations:UpdatePolicy", "organizations:DeletePolicy",
                 "organizations:AttachPolicy", "organizations:DetachPolicy", "organizations:Describe*",
                 "organizations:List*", "organizations:TagResource", "organizations:UntagResource"]
    org.organizations.put_resource_policy(Content=json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{admin_id}:root"}, "Action": delegated, "Resource": "*"}]}))
    admin = assume_access_role(org.endpoint, admin_id)
    admin.cloudformation.create_stack(StackName=STACK, TemplateBody=template({"Guardrail": policy("Guardrail", org.ous["Workloads"])}))
    assert described(admin.cloudformation, STACK)["StackStatus"] == "CREATE_COMPLETE"
    guardrail = org.policy_ids()["Guardrail"]  # the organization's policy, seen from the management account
    assert org.targets_of(guardrail) == [org.ous["Workloads"]]
    admin.cloudformation.delete_stack(StackName=STACK)
    assert "Guardrail" not in org.policy_ids()


def test_an_account_the_organization_does_not_delegate_to_cannot(org: Org) -> None:
    org.enable(SCP)
    member = assume_access_role(org.endpoint, org.accounts["Member"])
    member.cloudformation.create_stack(StackName=STACK, TemplateBody=template({"Guardrail": policy("Guardrail", org.ous["Workloads"])}))
    stack = described(member.cloudformation, STACK)
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    assert stack["StackStatusReason"].endswith(
        "Guardrail: You don't have permissions to access this resource. (AccessDeniedException)")
    assert "Guardrail" not in org.policy_ids()

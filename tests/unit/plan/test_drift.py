"""Drift, pure: what a template says each resource must be, and every difference from what IAM holds.

Templates come from the real renderers (member, central with IAM users, central with SAML); the live
state is the expected one, changed as a person would change IAM by hand.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import urllib.parse

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.aws.iam_state import parse_document
from ansible_collections.orgiam.aws.plugins.module_utils.catalog import RoleDef
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.identity import GroupDef, Identity, SamlDef, UserDef
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.trusted import TrustedPrincipal
from ansible_collections.orgiam.aws.plugins.module_utils.plan.drift import Drift, compare, documents_equal, expected_state, show
from ansible_collections.orgiam.aws.plugins.module_utils.render.central import central_template
from ansible_collections.orgiam.aws.plugins.module_utils.render.member import member_template

CENTRAL, MEMBER = "111111111111", "222222222222"
ROOT = f"arn:aws:iam::{CENTRAL}:root"
ALLOW_LOGS = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["logs:GetLogEvents"], "Resource": "*"}]})
AUDITOR = RoleDef(
    name="Auditor", source="auditor.yml", description="Reads audit trails", managed_policies=("SecurityAudit",),
    inline_policies=(("read-trail", ALLOW_LOGS),), customer_managed_policies=(("logs", ALLOW_LOGS),),
    permissions_boundary="ReadOnlyAccess", max_session_duration=7200, tags=(("team", "security"),))
READ_ONLY = RoleDef(name="ReadOnly", source="readonly.yml", managed_policies=("ReadOnlyAccess",))
METADATA = '<?xml version="1.0"?><EntityDescriptor entityID="https://idp.example">' + "A" * 1200 + "</EntityDescriptor>"


def member() -> dict:
    return expected_state(member_template([AUDITOR, READ_ONLY], CENTRAL, MEMBER), MEMBER)


def central() -> dict:
    identity = Identity(
        groups=(GroupDef("platform-engineers", ()), GroupDef("payments-readers", ())),
        users=(UserDef("alice", ("platform-engineers",), console="reset_on_first_login"), UserDef("bob", ("payments-readers",))))
    grants = {"platform-engineers": [f"arn:aws:iam::{MEMBER}:role/orgiam/ReadOnly"], "payments-readers": []}
    return expected_state(central_template(grants, {}, identity, "orgiam", "/orgiam/"), CENTRAL)


def saml() -> dict:
    identity = Identity(mode="saml", groups=(GroupDef("platform-engineers", ()),),
                        saml=SamlDef("corp", "corp.xml", METADATA, max_session_duration=3600))
    grants = {"platform-engineers": [f"arn:aws:iam::{MEMBER}:role/orgiam/ReadOnly"]}
    return expected_state(central_template(grants, {}, identity, "orgiam", "/orgiam/"), CENTRAL, "aws")


def by_name(state: dict, name: str) -> dict:
    (entry,) = [e for e in state.values() if e["Name"] == name]
    return entry


def found(expected: dict, live: dict) -> set[tuple[str, str]]:
    return {(d.name, d.label) for d in compare(expected, live)}


# --- what the template says ------------------------------------------------------------------------------


def test_a_member_role_is_expected_with_every_property_the_template_gives_it():
    auditor = by_name(member(), "Auditor")
    assert auditor["Type"] == "AWS::IAM::Role"
    props = auditor["Properties"]
    assert props["Path"] == "/orgiam/" and props["MaxSessionDuration"] == 7200 and props["Description"] == "Reads audit trails"
    assert props["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/SecurityAudit"]  # its own customer policy counts on the policy
    assert props["Policies"] == {"read-trail": json.loads(ALLOW_LOGS)}
    assert props["PermissionsBoundary"] == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert props["Tags"] == {"orgiam:managed-by": "orgiam", "team": "security"}
    assert props["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"AWS": ROOT}
    policy = by_name(member(), "Auditor-logs")
    assert policy["Properties"]["Roles"] == ["Auditor"]  # Ref to the role: its name
    assert policy["Arn"] == f"arn:aws:iam::{MEMBER}:policy/orgiam/Auditor-logs"
    assert by_name(member(), "ReadOnly")["Properties"]["Description"] == ""


def test_central_refs_and_subs_resolve_to_names_and_arns_and_memberships_come_from_users():
    state = central()
    assert by_name(state, "platform-engineers")["Properties"]["Members"] == ["alice"]
    assert by_name(state, "orgiam-users")["Properties"]["Members"] == ["alice", "bob"]
    assert by_name(state, "platform-engineers-assume-1")["Properties"]["Groups"] == ["platform-engineers"]
    self_service = by_name(state, "orgiam-self-service")["Properties"]["PolicyDocument"]
    resources = self_service["Statement"][1]["Resource"]
    assert resources == [f"arn:aws:iam::{CENTRAL}:user/orgiam/${{aws:username}}", f"arn:aws:iam::{CENTRAL}:mfa/${{aws:username}}"]
    alice, bob = by_name(state, "alice"), by_name(state, "bob")
    assert (alice["Properties"]["LoginProfile"], bob["Properties"]["LoginProfile"]) == (True, False)
    assert alice["PasswordSecret"] == "orgiam/console-password/alice" and "PasswordSecret" not in bob
    assert alice["Properties"]["AccessKeys"] == []
    assert by_name(state, "orgiam/console-password/alice")["Type"] == "AWS::SecretsManager::Secret"


def test_saml_provider_ref_and_partition_resolve():
    state = saml()
    trust = by_name(state, "platform-engineers")["Properties"]["AssumeRolePolicyDocument"]
    assert trust["Statement"][0]["Principal"] == {"Federated": f"arn:aws:iam::{CENTRAL}:saml-provider/corp"}
    assert by_name(state, "corp")["Properties"] == {"SamlMetadataDocument": METADATA}
    assert by_name(state, "platform-engineers-assume-1")["Properties"]["Roles"] == ["platform-engineers"]
    gov = expected_state(member_template([READ_ONLY], CENTRAL, MEMBER, partition="aws-us-gov"), MEMBER, "aws-us-gov")
    assert by_name(gov, "ReadOnly")["Properties"]["ManagedPolicyArns"] == ["arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"]


def test_a_dynamic_reference_and_an_unknown_intrinsic_are_left_as_written():
    template = {"Resources": {
        "P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {
            "ManagedPolicyName": "p", "PolicyDocument": {"Statement": [{"Resource": {"Fn::Sub": "${Unknown}/x"}},
                                                                       {"Resource": {"Fn::GetAtt": ["R", "Arn"]}}]}}}}}
    statements = by_name(expected_state(template, MEMBER), "p")["Properties"]["PolicyDocument"]["Statement"]
    assert statements == [{"Resource": {"Fn::Sub": "${Unknown}/x"}}, {"Resource": {"Fn::GetAtt": ["R", "Arn"]}}]


# --- comparing -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [member, central, saml])
def test_nothing_is_found_when_iam_is_as_the_template_says(make):
    expected = make()
    live = {lid: {k: v for k, v in copy.deepcopy(e).items() if k in ("Type", "Name", "Properties")} for lid, e in expected.items()}
    assert compare(expected, live) == []


def live_of(expected: dict) -> dict:
    return copy.deepcopy(expected)


def test_policies_compare_regardless_of_order_and_of_one_action_written_as_a_string():
    expected = member()
    live = live_of(expected)
    trust = by_name(live, "ReadOnly")["Properties"]["AssumeRolePolicyDocument"]
    trust["Statement"][0]["Action"] = ["sts:AssumeRole"]
    trust["Statement"][0]["Principal"] = {"AWS": CENTRAL}  # IAM takes the account id for its root
    inline = by_name(live, "Auditor")["Properties"]["Policies"]["read-trail"]
    inline["Statement"] = [{"Resource": "*", "Action": "logs:GetLogEvents", "Effect": "Allow"}]
    two = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["b:B", "a:A"], "Resource": "*"},
                                                  {"Effect": "Deny", "Action": "c:C", "Resource": "*"}]}
    swapped = {"Statement": list(reversed(two["Statement"])), "Version": "2012-10-17"}
    swapped["Statement"][1]["Action"] = ["a:A", "b:B"]
    assert compare(expected, live) == []
    assert documents_equal(two, swapped)
    assert not documents_equal(two, {**swapped, "Statement": swapped["Statement"][:1]})


def test_documents_read_url_encoded_compare_as_documents():
    text = urllib.parse.quote(json.dumps({"Version": "2012-10-17", "Statement": []}))
    assert parse_document(text) == {"Version": "2012-10-17", "Statement": []}
    assert parse_document('{"a": 1}') == {"a": 1} and parse_document({"a": 1}) == {"a": 1}


def change(live: dict, name: str, prop: str, value) -> dict:
    by_name(live, name)["Properties"][prop] = value
    return live


@pytest.mark.parametrize("name, prop, value, label", [
    ("ReadOnly", "AssumeRolePolicyDocument",
     {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]},
     "AssumeRolePolicyDocument"),
    ("ReadOnly", "ManagedPolicyArns", [], "ManagedPolicyArns"),
    ("ReadOnly", "ManagedPolicyArns", ["arn:aws:iam::aws:policy/AdministratorAccess", "arn:aws:iam::aws:policy/ReadOnlyAccess"],
     "ManagedPolicyArns"),
    ("ReadOnly", "MaxSessionDuration", 43200, "MaxSessionDuration"),
    ("ReadOnly", "Description", "changed", "Description"),
    ("ReadOnly", "Path", "/elsewhere/", "Path"),
    ("ReadOnly", "PermissionsBoundary", "arn:aws:iam::aws:policy/ReadOnlyAccess", "PermissionsBoundary"),
    ("Auditor", "PermissionsBoundary", "", "PermissionsBoundary"),
    ("Auditor", "Policies", {}, "Policies[read-trail]"),
    ("Auditor", "Policies", {"read-trail": json.loads(ALLOW_LOGS), "backdoor": {"Statement": []}}, "Policies[backdoor]"),
    ("Auditor", "Tags", {"orgiam:managed-by": "orgiam"}, "Tags[team]"),
    ("Auditor", "Tags", {"orgiam:managed-by": "orgiam", "team": "anyone"}, "Tags[team]"),
    ("Auditor", "Tags", {"orgiam:managed-by": "orgiam", "team": "security", "access": "admin"}, "Tags[access]"),
    ("Auditor-logs", "PolicyDocument", {"Version": "2012-10-17", "Statement": []}, "PolicyDocument"),
    ("Auditor-logs", "Roles", [], "Roles"),
    ("Auditor-logs", "Users", ["eve"], "Users"),
])
def test_each_member_property_changed_by_hand_is_found_alone(name, prop, value, label):
    expected = member()
    assert found(expected, change(live_of(expected), name, prop, value)) == {(name, label)}


@pytest.mark.parametrize("name, prop, value, label", [
    ("platform-engineers", "Members", ["alice", "mallory"], "Members"),
    ("platform-engineers", "Members", [], "Members"),
    ("platform-engineers", "ManagedPolicyArns", ["arn:aws:iam::aws:policy/AdministratorAccess"], "ManagedPolicyArns"),
    ("platform-engineers", "Policies", {"extra": {"Statement": []}}, "Policies[extra]"),
    ("platform-engineers-assume-1", "Groups", [], "Groups"),
    ("platform-engineers-assume-1", "PolicyDocument", {"Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]},
     "PolicyDocument"),
    ("alice", "AccessKeys", ["AKIAEXAMPLE"], "AccessKeys"),
    ("alice", "LoginProfile", False, "LoginProfile"),
    ("bob", "LoginProfile", True, "LoginProfile"),
    ("bob", "ManagedPolicyArns", ["arn:aws:iam::aws:policy/AdministratorAccess"], "ManagedPolicyArns"),
    ("bob", "Path", "/", "Path"),
])
def test_each_central_property_changed_by_hand_is_found_alone(name, prop, value, label):
    expected = central()
    assert found(expected, change(live_of(expected), name, prop, value)) == {(name, label)}


def test_saml_metadata_and_federated_role_changes_are_found():
    expected = saml()
    live = change(live_of(expected), "corp", "SamlMetadataDocument", METADATA.replace("idp.example", "evil.example"))
    change(live, "platform-engineers", "MaxSessionDuration", 43200)
    assert found(expected, live) == {("corp", "SamlMetadataDocument"), ("platform-engineers", "MaxSessionDuration")}
    assert found(expected, change(live_of(expected), "corp", "SamlMetadataDocument", "\n" + METADATA + "\n")) == set()


def test_a_resource_gone_is_one_drift_and_a_resource_not_read_is_not_compared():
    expected = central()
    live = live_of(expected)
    secret = next(lid for lid, e in expected.items() if e["Type"] == "AWS::SecretsManager::Secret")
    del live[secret]  # read without a Secrets Manager client
    group = next(lid for lid, e in expected.items() if e["Name"] == "platform-engineers")
    live[group] = None
    (drift,) = compare(expected, live)
    assert (drift.logical_id, drift.property, drift.before, drift.missing) == (group, "", None, True)
    assert drift.after == expected[group]["Properties"]


def test_tags_that_cloudformation_copies_from_the_stack_and_aws_tags_are_not_drift():
    expected = member()
    live = live_of(expected)
    by_name(live, "ReadOnly")["Properties"]["Tags"].update({
        "orgiam:template-hash": "abc", "orgiam:stack-kind": "member", "orgiam:plan-id": "p1",
        "aws:cloudformation:stack-name": "orgiam-roles"})
    assert compare(expected, live) == []


def test_drifts_come_in_the_template_s_order_and_are_plain_data():
    expected = central()
    live = change(live_of(expected), "platform-engineers", "Members", [])
    change(live, "alice", "AccessKeys", ["AKIAEXAMPLE"])
    drifts = compare(expected, live)
    assert [d.name for d in drifts] == ["alice", "platform-engineers"]  # users before the groups they are in
    assert drifts[0].to_dict() == {"logical_id": drifts[0].logical_id, "type": "AWS::IAM::User", "name": "alice",
                                   "property": "AccessKeys", "before": ["AKIAEXAMPLE"], "after": [], "key": ""}
    with pytest.raises(dataclasses.FrozenInstanceError):
        drifts[0].before = None  # type: ignore[misc]


# --- lines for people ------------------------------------------------------------------------------------


def test_a_trust_policy_opened_to_everyone_reads_as_the_principal_that_changed():
    expected = member()
    live = live_of(expected)
    by_name(live, "ReadOnly")["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] = {"AWS": "*"}
    (drift,) = compare(expected, live)
    assert drift.line() == f'~ AWS::IAM::Role ReadOnly: AssumeRolePolicyDocument: {{"AWS": "*"}} -> {{"AWS": "{ROOT}"}}'


def test_lines_for_each_kind_of_change():
    assert Drift("L", "AWS::IAM::Role", "R", "", None, {}).line() == "+ AWS::IAM::Role R: missing (deleted by hand); re-create it"
    assert Drift("L", "AWS::IAM::Role", "R", "Policies", {"Statement": []}, None, "backdoor").line() == \
        '- AWS::IAM::Role R: Policies[backdoor]: {"Statement": []} -> (none)'
    assert Drift("L", "AWS::IAM::Role", "R", "Tags", None, "security", "team").line() == \
        '+ AWS::IAM::Role R: Tags[team]: (none) -> "security"'
    assert Drift("L", "AWS::IAM::Role", "R", "MaxSessionDuration", 43200, 3600).line() == \
        "~ AWS::IAM::Role R: MaxSessionDuration: 43200 -> 3600"
    assert Drift("L", "AWS::IAM::User", "u", "LoginProfile", True, False).line() == "~ AWS::IAM::User u: LoginProfile: true -> false"


def test_long_values_are_shortened_between_elements_never_inside_an_arn():
    arns = [f"arn:aws:iam::{n:012d}:role/orgiam/ReadOnly" for n in range(40)]
    text = show(arns, limit=200)
    assert text.endswith(", ...") and len(text) < 220
    for part in text[1:-len(", ...")].split(", "):
        assert json.loads(part) in arns  # every ARN shown is whole
    assert show(arns[0], limit=10) == json.dumps(arns[0])  # one ARN longer than the limit: shown whole
    metadata = show(METADATA)
    assert "characters, sha256" in metadata and len(metadata) < 120
    assert show(None) == "(none)"


def test_a_change_in_two_places_shows_the_smallest_part_holding_both():
    expected = member()
    live = live_of(expected)
    statement = by_name(live, "ReadOnly")["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]
    statement["Principal"] = {"AWS": "*"}
    del statement["Condition"]
    (drift,) = compare(expected, live)
    mfa = '{"Bool": {"aws:MultiFactorAuthPresent": "true"}}'
    assert drift.line() == ('~ AWS::IAM::Role ReadOnly: AssumeRolePolicyDocument: {"Principal": {"AWS": "*"}} -> '
                            f'{{"Principal": {{"AWS": "{ROOT}"}}, "Condition": {mfa}}}')


# --- machine roles and the central groups' own permissions ------------------------------------------------

ORG = "o-abcdef1234"
DEPLOYMENTS = "333333333333"
DEPLOYER = RoleDef(
    name="Deployer", source="deployer.yml", managed_policies=("PowerUserAccess",), mfa_required=False, external_id="ext-1",
    organization_id=ORG, trusted_by=(
        TrustedPrincipal(account="Deployments", role="pipeline/*", account_id=DEPLOYMENTS),
        TrustedPrincipal(account="Deployments", role="release", account_id=DEPLOYMENTS),
        TrustedPrincipal(account="Tools", account_id="444444444444"),
        TrustedPrincipal(service="cloudformation.amazonaws.com"),
        TrustedPrincipal(service="lambda.amazonaws.com"),
        TrustedPrincipal(service="codebuild.amazonaws.com")))


def machines() -> dict:
    return expected_state(member_template([DEPLOYER, READ_ONLY], CENTRAL, MEMBER), MEMBER)


def auditors() -> dict:
    group = GroupDef("auditors", (), managed_policies=("SecurityAudit", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"),
                     inline_policies=(("logs", ALLOW_LOGS),))
    grants = {"auditors": [f"arn:aws:iam::{MEMBER}:role/orgiam/ReadOnly"]}
    return expected_state(central_template(grants, {}, Identity(groups=(group,)), "orgiam", "/orgiam/"), CENTRAL)


def as_iam_may_return(document: dict) -> dict:
    """The same trust policy as IAM may give it back: statements and lists in another order, one value as a
    one-element list, an account id for its root."""
    returned = copy.deepcopy(document)
    returned["Statement"].reverse()
    for statement in returned["Statement"]:
        for kind, values in statement["Principal"].items():
            statement["Principal"][kind] = list(reversed(values)) if isinstance(values, list) else [values]
        for block in statement.get("Condition", {}).values():
            for key, values in block.items():
                block[key] = list(reversed(values)) if isinstance(values, list) else [values]
    last = returned["Statement"][-1]  # OrganizationRoles, first as rendered
    last["Principal"]["AWS"] = [arn.split(":")[4] for arn in last["Principal"]["AWS"]]
    return returned


def test_a_machine_roles_trust_policy_read_back_in_another_shape_is_no_drift():
    expected = machines()
    live = live_of(expected)
    trust = by_name(live, "Deployer")["Properties"]["AssumeRolePolicyDocument"]
    assert {s["Sid"] for s in trust["Statement"]} == {"OrganizationRoles", "OrganizationAccounts", "AwsServices", "AwsServicesForThisAccount"}
    by_name(live, "Deployer")["Properties"]["AssumeRolePolicyDocument"] = as_iam_may_return(trust)
    assert compare(expected, live) == []


@pytest.mark.parametrize("edit", [
    lambda s: s["OrganizationRoles"]["Condition"]["ArnLike"].update({"aws:PrincipalArn": f"arn:aws:iam::{DEPLOYMENTS}:role/*"}),
    lambda s: s["OrganizationRoles"]["Condition"]["StringEquals"].pop("aws:PrincipalOrgID"),
    lambda s: s["OrganizationRoles"]["Condition"]["StringEquals"].pop("sts:ExternalId"),
    lambda s: s["OrganizationAccounts"].update(Principal={"AWS": "*"}),
    lambda s: s["AwsServices"]["Principal"].update(Service=["cloudformation.amazonaws.com", "lambda.amazonaws.com", "ec2.amazonaws.com"]),
    lambda s: s["AwsServicesForThisAccount"].pop("Condition"),
])
def test_a_machine_roles_trust_widened_by_hand_is_found(edit):
    expected = machines()
    live = live_of(expected)
    trust = by_name(live, "Deployer")["Properties"]["AssumeRolePolicyDocument"]
    edit({s["Sid"]: s for s in trust["Statement"]})
    assert found(expected, live) == {("Deployer", "AssumeRolePolicyDocument")}


def test_a_groups_own_policies_are_expected_and_compared_like_any_others():
    expected = auditors()
    group = by_name(expected, "auditors")["Properties"]
    assert group["ManagedPolicyArns"] == ["arn:aws:iam::aws:policy/SecurityAudit", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]
    assert group["Policies"] == {"logs": json.loads(ALLOW_LOGS)}
    assert compare(expected, live_of(expected)) == []
    live = change(live_of(expected), "auditors", "ManagedPolicyArns", ["arn:aws:iam::aws:policy/SecurityAudit"])
    change(live, "auditors", "Policies", {"logs": {"Version": "2012-10-17", "Statement": []}})
    assert found(expected, live) == {("auditors", "ManagedPolicyArns"), ("auditors", "Policies[logs]")}
    gov = expected_state(central_template({}, {}, Identity(groups=(GroupDef("g", (), managed_policies=("SecurityAudit",)),)),
                                          "orgiam", "/orgiam/"), CENTRAL, "aws-us-gov")
    assert by_name(gov, "g")["Properties"]["ManagedPolicyArns"] == ["arn:aws-us-gov:iam::aws:policy/SecurityAudit"]

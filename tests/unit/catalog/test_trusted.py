"""Machine roles in the catalog: ``trusted_by`` loads into TrustedPrincipal entries, turns MFA off, gives no group,
and identity.yml groups carry their own central permissions. Refusals are in tests/badinput (cases 'machine-*',
'group-*'); here, what a good catalog becomes."""

import json
import textwrap

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import load_catalog
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.trusted import (
    SERVICE_PRINCIPALS,
    SOURCE_ACCOUNT,
    SOURCE_ORG,
    TrustedPrincipal,
    role_pattern_problem,
    service_problem,
)

DEPLOYER = """
    name: Deployer
    managed_policies: [PowerUserAccess]
    external_id: pipeline-2024
    targets: {ou_paths: [Workloads]}
    trusted_by:
      - {account: Deployments, role: "/pipeline/*"}
      - {account: "111122223333"}
      - {service: cloudformation.amazonaws.com}
"""
READ_ONLY = "name: ReadOnly\nmanaged_policies: [ReadOnlyAccess]\ntargets: {ou_paths: [Workloads]}\n"


def write(tmp_path, roles, identity=None):
    (tmp_path / "roles").mkdir()
    (tmp_path / "settings.yml").write_text("central_account: Security\n")
    for name, text in roles.items():
        (tmp_path / "roles" / name).write_text(textwrap.dedent(text))
    if identity is not None:
        (tmp_path / "identity.yml").write_text(textwrap.dedent(identity))
    return str(tmp_path)


def test_trusted_by_loads_each_entry_with_its_source_and_no_mfa(tmp_path):
    catalog = load_catalog(write(tmp_path, {"deployer.yml": DEPLOYER, "ro.yml": READ_ONLY}))
    deployer = catalog.role("Deployer")
    assert deployer.is_machine and not deployer.mfa_required
    assert deployer.trusted_by == (
        TrustedPrincipal(account="Deployments", role="pipeline/*"),  # the leading slash is not part of the ARN pattern
        TrustedPrincipal(account="111122223333"),
        TrustedPrincipal(service="cloudformation.amazonaws.com"),
    )
    assert deployer.trusted_by[0].source.endswith("roles/deployer.yml:7")
    assert deployer.external_id == "pipeline-2024" and deployer.organization_id == ""  # resolve() sets it
    people = catalog.role("ReadOnly")
    assert not people.is_machine and people.mfa_required and people.trusted_by == ()


def test_a_machine_role_explicitly_without_mfa_is_fine(tmp_path):
    catalog = load_catalog(write(tmp_path, {"d.yml": DEPLOYER.replace("targets:", "mfa_required: false\n    targets:")}))
    assert not catalog.role("Deployer").mfa_required


def test_a_machine_role_has_no_default_group_and_is_named_in_identity(tmp_path):
    catalog = load_catalog(write(tmp_path, {"deployer.yml": DEPLOYER, "ro.yml": READ_ONLY}))
    assert [g.name for g in catalog.identity.groups] == ["orgiam-ReadOnly-Workloads"]
    assert catalog.identity.machine_roles == ("Deployer",)


def test_identity_groups_carry_their_own_central_permissions(tmp_path):
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "logs:GetLogEvents", "Resource": "*"}]}
    identity = f"""
        groups:
          - name: auditors
            managed_policies: [SecurityAudit, "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"]
            inline_policies:
              logs: {json.dumps(document)}
            grants: [{{role: ReadOnly}}]
          - name: billing
            description: no member role, only the central account's billing console
            managed_policies: [job-function/Billing]
    """
    catalog = load_catalog(write(tmp_path, {"ro.yml": READ_ONLY}, identity))
    groups = {g.name: g for g in catalog.identity.groups}
    auditors = groups["auditors"]
    assert auditors.managed_policies == ("SecurityAudit", "arn:aws:iam::aws:policy/job-function/ViewOnlyAccess")
    assert [(name, json.loads(text)) for name, text in auditors.inline_policies] == [("logs", document)]
    assert [g.role for g in auditors.grants] == ["ReadOnly"]
    assert groups["billing"].grants == () and groups["billing"].managed_policies == ("job-function/Billing",)
    assert groups["orgiam-ReadOnly-Workloads"].managed_policies == () and groups["orgiam-ReadOnly-Workloads"].inline_policies == ()


def test_the_service_list_names_its_conditions_and_refuses_the_rest():
    assert SERVICE_PRINCIPALS["codebuild.amazonaws.com"] == SOURCE_ACCOUNT
    assert SERVICE_PRINCIPALS["cloudformation.amazonaws.com"] == ""
    assert SOURCE_ORG not in SERVICE_PRINCIPALS.values()  # none documented for sts:AssumeRole (see catalog/trusted.py)
    assert {"lambda.amazonaws.com", "ec2.amazonaws.com", "states.amazonaws.com", "ecs-tasks.amazonaws.com",
            "events.amazonaws.com", "codepipeline.amazonaws.com"} <= set(SERVICE_PRINCIPALS)
    assert service_problem("codebuild.amazonaws.com") == ""
    assert "known services: cloudformation.amazonaws.com" in service_problem("s3.amazonaws.com")


def test_role_patterns_are_a_path_and_name_with_wildcards():
    for good in ("pipeline/*", "build", "*", "teams/a?/deploy-*", "/pipeline/build"):
        assert role_pattern_problem(good) == "", good
    for bad in ("", "/", "pipeline builds/*", "role:x", "a//b"):
        assert role_pattern_problem(bad), bad

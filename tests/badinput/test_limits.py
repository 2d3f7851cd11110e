"""render.limits.template_problems: a pure function that finds member templates over CloudFormation's limits.

The sync calls it before the first AWS call; here it runs on catalogs and organizations built in memory.
"""

from __future__ import annotations

import json

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import Catalog, OUTarget, RoleDef, Selector, Settings, canonical_json
from ansible_collections.orgiam.aws.plugins.module_utils.model import Account
from ansible_collections.orgiam.aws.plugins.module_utils.render import limits
from ansible_collections.orgiam.aws.plugins.module_utils.render.member import member_template
from ansible_collections.orgiam.aws.plugins.module_utils.resolve import resolve

CENTRAL = Account("000000000002", "Security", "Security")
WORKLOADS = Selector(ou_paths=(OUTarget("Workloads"),))


def roles(count: int, policy_statements: int = 0, managed: int = 0) -> tuple[RoleDef, ...]:
    document = canonical_json({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{j:04d}/{'k' * 200}/*"}
        for j in range(policy_statements)]}) if policy_statements else ""
    return tuple(RoleDef(
        name=f"Role{i:03d}", source=f"roles/r{i:03d}.yml:1", include=WORKLOADS,
        inline_policies=(("p", document),) if document else (),
        customer_managed_policies=tuple((f"m{k}", canonical_json({"Statement": []})) for k in range(managed)),
    ) for i in range(count))


def organization(accounts: int) -> list[Account]:
    return [CENTRAL, Account("000000000009", "Old", "Workloads", status="SUSPENDED")] + [
        Account(f"3{i:011d}", f"Workload {i}", "Workloads") for i in range(accounts)]


def problems(catalog_roles, accounts: int = 3, bucket: str = ""):
    catalog = Catalog("x", Settings(central_account="Security", source="roles_catalog/settings.yml", template_bucket=bucket), catalog_roles)
    return limits.template_problems(catalog, resolve(catalog, organization(accounts), ["Security", "Workloads"]))


def test_templates_within_the_limits_are_no_problem():
    assert problems(roles(20)) == []
    assert problems(roles(400), bucket="orgiam-templates") == []


def test_the_size_is_measured_as_the_sync_sends_the_body():
    few = roles(3)
    body = canonical_json(member_template(few, CENTRAL.id, "300000000000"))
    assert limits.member_body(few, CENTRAL.id, "300000000000", "aws", "iam_users") == body


def test_over_the_body_limit_without_a_bucket_points_at_template_bucket():
    (problem,) = problems(roles(120))
    assert problem.file == "roles_catalog/settings.yml" and problem.field_path == "template_bucket"
    assert "3 accounts ('Workload 0' (300000000000)" in problem.message and "120 roles" in problem.message
    assert "over CloudFormation's 51,200" in problem.message and "set template_bucket" in problem.message


def test_600_roles_are_over_500_resources_even_with_a_bucket():
    (problem,) = problems(roles(600), bucket="orgiam-templates")
    assert problem.file == "roles/r000.yml:1" and "600 resources" in problem.message and "over CloudFormation's 500" in problem.message


def test_over_a_megabyte_names_the_largest_roles():
    big = roles(300, policy_statements=15)
    (problem,) = problems(big, bucket="orgiam-templates")
    assert "over CloudFormation's 1,000,000 even through template_bucket" in problem.message
    assert problem.message.count("bytes, roles/r") == limits.SHOWN_ROLES


def test_customer_managed_policies_count_as_resources():
    (problem,) = problems(roles(260, managed=1), bucket="orgiam-templates")
    assert "260 roles and 260 customer managed policies: 520 resources" in problem.message


def test_each_set_of_roles_is_rendered_once_and_the_accounts_listing_is_capped(monkeypatch):
    calls = []
    real = limits.member_template

    def counting(*args, **kwargs):
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(limits, "member_template", counting)
    (problem,) = problems(roles(120), accounts=1000)
    assert "1000 accounts" in problem.message and "and 995 more" in problem.message
    assert len(calls) == 1 + 120  # the whole template once, then each role alone to name the largest: not per account
    assert "Old" not in problem.message  # a suspended account gets no stack


def test_the_function_is_pure_and_json_serialisable_input_stays_unchanged():
    catalog_roles = roles(5)
    before = json.dumps([r.name for r in catalog_roles])
    problems(catalog_roles)
    assert json.dumps([r.name for r in catalog_roles]) == before


def test_a_groups_assume_role_policies_and_its_own_count_together():
    """Before any AWS call: the assume-role policies a group needs for every ARN it would grant, plus its own managed
    policies, against IAM's 10 a group; machine roles are never granted, so they never count."""
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog.identity import Grant, GroupDef, Identity
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog.trusted import TrustedPrincipal

    people = roles(1)
    machine = RoleDef(name="Deployer", source="roles/deployer.yml:1", include=WORKLOADS, mfa_required=False,
                      trusted_by=(TrustedPrincipal(service="cloudformation.amazonaws.com"),))

    def group_problems(own: int, accounts: int):
        group = GroupDef("wide", (Grant("Role000"),), source="identity.yml:2",
                         managed_policies=tuple(f"arn:aws:iam::aws:policy/P{i}" for i in range(own)))
        catalog = Catalog("x", Settings(central_account="Security", template_bucket="orgiam-templates"), people + (machine,),
                          Identity(groups=(group,), machine_roles=("Deployer",)))
        return limits.group_problems(catalog, resolve(catalog, organization(accounts), ["Security", "Workloads"]))

    assert group_problems(own=9, accounts=50) == []  # one assume-role policy and nine of its own
    (problem,) = group_problems(own=9, accounts=200)
    assert problem.file == "identity.yml:2" and problem.field_path == "managed_policies"
    assert "would need 2 assume-role policies for the 200 role ARNs it grants and its own 9" in problem.message
    (problem,) = group_problems(own=0, accounts=1600)
    assert problem.field_path == "grants" and "over the 10 IAM attaches to a group" in problem.message

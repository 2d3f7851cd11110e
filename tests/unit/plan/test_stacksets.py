"""The StackSets engine's pure plan: stack set names, one template for every account, targets, and changes."""

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import (
    Catalog,
    OUTarget,
    RoleDef,
    Selector,
    Settings,
)
from ansible_collections.orgiam.aws.plugins.module_utils.catalog.trusted import TrustedPrincipal
from ansible_collections.orgiam.aws.plugins.module_utils.plan.stacksets import (
    InstanceChanges,
    account_targets,
    instance_changes,
    operation_preferences,
    ou_targets,
    role_targets,
    role_template,
    stackset_name,
)
from ansible_collections.orgiam.aws.plugins.module_utils.render.member import member_template
from ansible_collections.orgiam.aws.plugins.module_utils.resolve import Account, resolve

ACCOUNTS = [
    Account("100000000001", "Management", "", is_management=True),
    Account("100000000002", "Security", "Security"),
    Account("100000000003", "Payments Dev", "Workloads/SDLC", tags=(("Environment", "dev"),)),
    Account("100000000004", "Payments Prod", "Workloads/Prod", tags=(("Environment", "prod"),)),
    Account("100000000005", "Workloads Shared", "Workloads"),
    Account("100000000006", "Legacy", "Workloads/Prod", status="SUSPENDED"),
    Account("100000000007", "Sandbox Alice", "Sandbox", tags=(("Environment", "dev"),)),
]
OU_IDS = {"Security": "ou-sec", "Workloads": "ou-wl", "Workloads/SDLC": "ou-sdlc", "Workloads/Prod": "ou-prod", "Sandbox": "ou-sbx"}
ROOT = "r-root"


def role(name="R", include=Selector(), exclude=Selector(), management=False, **more):
    return RoleDef(name=name, source=f"roles/{name}.yml:1", include=include, exclude=exclude, management_account=management, **more)


def targets_of(r, accounts=ACCOUNTS):
    resolution = resolve(Catalog("x", Settings(central_account="Security"), (r,)), accounts, list(OU_IDS))
    holders = [resolution.accounts[a] for a, roles in resolution.roles_by_account.items() if roles]
    return role_targets(r, holders, accounts, OU_IDS, ROOT)


def test_a_role_of_recursive_ous_is_auto_deployed_to_them_and_never_to_the_management_or_a_suspended_account():
    t = targets_of(role(include=Selector(ou_paths=(OUTarget("Workloads"),)), management=True))
    assert t.auto and t.ou_ids == ("ou-wl",)
    assert t.accounts == {"100000000003": "ou-sdlc", "100000000004": "ou-prod", "100000000005": "ou-wl"}
    assert t.excluded == ()


def test_excluded_accounts_are_left_out_by_difference_and_auto_deployment_stays():
    t = targets_of(role(include=Selector(ou_paths=(OUTarget("Workloads"),)), exclude=Selector(accounts=("Payments Prod",))))
    assert t.auto and t.excluded == ("100000000004",)
    assert ou_targets(t.ou_ids, t.excluded) == {"OrganizationalUnitIds": ["ou-wl"], "Accounts": ["100000000004"],
                                                "AccountFilterType": "DIFFERENCE"}
    assert ou_targets(["ou-wl"], []) == {"OrganizationalUnitIds": ["ou-wl"]}


def test_accounts_tags_and_non_recursive_ous_are_exact_accounts_without_auto_deployment():
    by_name = targets_of(role(include=Selector(accounts=("Payments Dev",), ou_paths=(OUTarget("Sandbox"),))))
    assert not by_name.auto and "names accounts" in by_name.why_not_auto
    assert by_name.accounts == {"100000000003": "ou-sdlc", "100000000007": "ou-sbx"} and by_name.ou_ids == ()
    by_tag = targets_of(role(include=Selector(tags=(("Environment", ("dev",)),))))
    assert not by_tag.auto and set(by_tag.accounts) == {"100000000003", "100000000007"}
    flat = targets_of(role(include=Selector(ou_paths=(OUTarget("Workloads", recursive=False),))))
    assert not flat.auto and flat.accounts == {"100000000005": "ou-wl"} and "without its child OUs" in flat.why_not_auto
    by_ou = targets_of(role(include=Selector(ou_paths=(OUTarget("Workloads"),)), exclude=Selector(ou_paths=(OUTarget("Workloads/Prod"),))))
    assert not by_ou.auto and "excludes" in by_ou.why_not_auto


def test_an_inventory_variable_that_adds_the_role_outside_its_ous_turns_auto_deployment_off():
    accounts = [a if a.name != "Security" else Account(a.id, a.name, a.ou_path, roles_add=("R",)) for a in ACCOUNTS]
    t = targets_of(role(include=Selector(ou_paths=(OUTarget("Sandbox"),))), accounts)
    assert not t.auto and "orgiam_roles_add" in t.why_not_auto
    assert t.accounts == {"100000000002": "ou-sec", "100000000007": "ou-sbx"}


def test_exact_accounts_are_deployed_with_their_ous_filtered_to_them():
    assert account_targets({"100000000003": "ou-sdlc", "100000000007": "ou-sbx", "100000000004": "ou-sdlc"}) == {
        "OrganizationalUnitIds": ["ou-sbx", "ou-sdlc"], "Accounts": ["100000000003", "100000000004", "100000000007"],
        "AccountFilterType": "INTERSECTION"}


def test_changes_create_missing_deploy_failed_again_and_delete_only_under_prune_apply():
    t = targets_of(role(include=Selector(ou_paths=(OUTarget("Workloads"),))))
    observed = {"100000000003": "CURRENT", "100000000004": "OUTDATED", "100000000002": "CURRENT", "100000000009": "CURRENT"}
    scope = {"100000000002", "100000000003", "100000000004", "100000000005"}
    parents = {"100000000002": "ou-sec"}
    changes, kept = instance_changes(t, observed, ["ou-wl"], scope, parents, "apply")
    assert changes.create == {"100000000005": "ou-wl"} and changes.again == ("100000000004",)
    assert changes.delete == {"100000000002": "ou-sec"} and kept == ()  # 100000000009 is outside the run: left alone
    assert changes.ou_ids == ()
    planned, kept = instance_changes(t, observed, [], scope, parents, "plan")
    assert planned.delete == {} and kept == ("100000000002",) and planned.ou_ids == ("ou-wl",)
    assert InstanceChanges.decoded(changes.encoded()) == changes
    none, _ = instance_changes(t, {a: "CURRENT" for a in t.accounts}, ["ou-wl"], scope, parents, "apply")
    assert not none.any


def test_the_template_is_the_member_stacks_role_for_any_account():
    machine = role("Deployer", include=Selector(ou_paths=(OUTarget("Workloads"),)), mfa_required=False,
                   trusted_by=(TrustedPrincipal(service="codebuild.amazonaws.com"),), managed_policies=("PowerUserAccess",))
    template = role_template(machine, "100000000002")
    member = member_template([machine], "100000000002", "100000000003")
    (logical, resource), = template["Resources"].items()
    assert logical in member["Resources"] and "Outputs" not in template
    props, direct = resource["Properties"], member["Resources"][logical]["Properties"]
    assert {k: v for k, v in props.items() if k != "AssumeRolePolicyDocument"} == {
        k: v for k, v in direct.items() if k != "AssumeRolePolicyDocument"}
    (statement,) = props["AssumeRolePolicyDocument"]["Statement"]
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}
    people = role_template(role("ReadOnly", include=Selector(ou_paths=(OUTarget("Workloads"),))), "100000000002")
    (resource,) = people["Resources"].values()
    assert resource["Properties"]["AssumeRolePolicyDocument"]["Statement"][0]["Principal"] == {"AWS": "arn:aws:iam::100000000002:root"}


def test_stack_set_names_and_operation_preferences():
    assert stackset_name("orgiam", "ReadOnly") == "orgiam-role-ReadOnly"
    odd = stackset_name("orgiam", "data.reader@x")
    assert odd.startswith("orgiam-role-data-reader-x-") and odd != stackset_name("orgiam", "data-reader-x")
    assert operation_preferences({}) == {"RegionConcurrencyType": "PARALLEL", "MaxConcurrentPercentage": 100,
                                         "FailureTolerancePercentage": 100}
    assert operation_preferences({"max_concurrent_percentage": 25, "failure_tolerance_percentage": 0,
                                  "region_concurrency": "SEQUENTIAL"}) == {
        "RegionConcurrencyType": "SEQUENTIAL", "MaxConcurrentPercentage": 25, "FailureTolerancePercentage": 0}


def test_an_ou_target_the_role_no_longer_names_turns_auto_deployment_off():
    from ansible_collections.orgiam.aws.plugins.module_utils.apply.role_stacksets import auto_deployment, stale_ou_targets
    from ansible_collections.orgiam.aws.plugins.module_utils.aws.stacksets import StackSetState
    from ansible_collections.orgiam.aws.plugins.module_utils.model import Desired, Kind, Task

    t = targets_of(role(include=Selector(ou_paths=(OUTarget("Workloads/SDLC"),))))
    task = Task("k", Kind.ROLE_STACKSET, "1", "m", "us-east-1", "orgiam-role-R", desired=Desired("{}", "h", extra={
        "targets": t, "ou_paths": {ou_id: path for path, ou_id in OU_IDS.items()}}))
    now = StackSetState("orgiam-role-R", "ACTIVE", ou_ids=("ou-sdlc",))
    assert stale_ou_targets(task, now) == [] and auto_deployment(task, now)["Enabled"]
    before = StackSetState("orgiam-role-R", "ACTIVE", ou_ids=("ou-prod", "ou-sdlc", "ou-wl"))
    assert stale_ou_targets(task, before) == ["ou-prod", "ou-wl"] and not auto_deployment(task, before)["Enabled"]

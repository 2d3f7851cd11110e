"""Resolution rules: OU recursion, names, tags, exclusions, management account, suspended, overrides."""

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.catalog import (
    Catalog,
    CatalogError,
    OUTarget,
    RoleDef,
    Selector,
    Settings,
)
from ansible_collections.orgiam.aws.plugins.module_utils.resolve import Account, account_from_hostvars, resolve

ACCOUNTS = [
    Account("000000000001", "Management", "", is_management=True, tags=(("Environment", "shared"),)),
    Account("000000000002", "Security", "Security"),
    Account("000000000003", "Payments Dev", "Workloads/SDLC", tags=(("Environment", "dev"),)),
    Account("000000000004", "Payments Prod", "Workloads/Prod", tags=(("Environment", "prod"),)),
    Account("000000000005", "Workloads Shared", "Workloads", tags=(("Environment", "prod"),)),
    Account("000000000006", "Legacy", "Suspended", status="SUSPENDED", tags=(("Environment", "prod"),)),
]
OUS = ["Security", "Workloads", "Workloads/SDLC", "Workloads/Prod", "Suspended", "Transitional"]


def catalog(*roles, central="Security"):
    return Catalog("x", Settings(central_account=central, source="settings.yml"), tuple(roles))


def role(name="R", include=Selector(), exclude=Selector(), management=False):
    return RoleDef(name=name, source=f"roles/{name}.yml:1", include=include, exclude=exclude, management_account=management)


def targeted(resolution, role_name):
    return sorted(a for a, roles in resolution.roles_by_account.items() if role_name in {r.name for r in roles})


def test_ou_paths_are_recursive_by_default_and_case_insensitive():
    r = resolve(catalog(role(include=Selector(ou_paths=(OUTarget("workloads"),)))), ACCOUNTS, OUS)
    assert targeted(r, "R") == ["000000000003", "000000000004", "000000000005"]


def test_non_recursive_ou_stops_at_the_ou():
    r = resolve(catalog(role(include=Selector(ou_paths=(OUTarget("Workloads", recursive=False),)))), ACCOUNTS, OUS)
    assert targeted(r, "R") == ["000000000005"]


def test_accounts_by_id_or_name_and_tags():
    r = resolve(catalog(role(include=Selector(accounts=("000000000002", "payments dev")))), ACCOUNTS, OUS)
    assert targeted(r, "R") == ["000000000002", "000000000003"]
    r = resolve(catalog(role(include=Selector(tags=(("Environment", ("prod",)),)))), ACCOUNTS, OUS)
    assert targeted(r, "R") == ["000000000004", "000000000005"]  # never the suspended one


def test_exclusions_win():
    sel = Selector(ou_paths=(OUTarget("Workloads"),))
    r = resolve(catalog(role(include=sel, exclude=Selector(ou_paths=(OUTarget("Workloads/Prod"),), accounts=("Payments Dev",)))), ACCOUNTS, OUS)
    assert targeted(r, "R") == ["000000000005"]


def test_management_account_only_when_named():
    by_tag = Selector(tags=(("Environment", ("shared",)),))
    assert targeted(resolve(catalog(role(include=by_tag)), ACCOUNTS, OUS), "R") == []
    assert targeted(resolve(catalog(role(include=by_tag, management=True)), ACCOUNTS, OUS), "R") == ["000000000001"]
    assert targeted(resolve(catalog(role(include=Selector(accounts=("Management",)))), ACCOUNTS, OUS), "R") == ["000000000001"]


def test_suspended_accounts_are_never_targeted_even_when_named():
    r = resolve(catalog(role(include=Selector(accounts=("Legacy",)))), ACCOUNTS, OUS)
    assert targeted(r, "R") == []


def test_unknown_ou_path_and_account_are_errors_that_list_what_exists():
    with pytest.raises(CatalogError) as info:
        resolve(catalog(role(include=Selector(ou_paths=(OUTarget("Workload"),), accounts=("Nobody",)))), ACCOUNTS, OUS)
    text = str(info.value)
    assert "roles/R.yml:1" in text and "'Workload'" in text and "Workloads/Prod" in text and "Transitional" in text
    assert "'Nobody'" in text


def test_empty_ou_is_a_valid_target_that_selects_nothing():
    r = resolve(catalog(role(include=Selector(ou_paths=(OUTarget("Transitional"),)))), ACCOUNTS, OUS)
    assert targeted(r, "R") == []


def test_central_account_must_exist_and_be_active():
    with pytest.raises(CatalogError, match="central account 'Identity' is not among the 6 accounts of the inventory"):
        resolve(catalog(role(include=Selector(accounts=("Security",))), central="Identity"), ACCOUNTS, OUS)
    with pytest.raises(CatalogError, match="is SUSPENDED"):
        resolve(catalog(role(include=Selector(accounts=("Security",))), central="Legacy"), ACCOUNTS, OUS)


def test_inventory_overrides_add_and_remove_roles():
    hv = {"account_id": "000000000003", "account_name": "Payments Dev", "ou_path": "Workloads/SDLC", "account_status": "ACTIVE",
          "account_tags": {}, "orgiam_roles_add": ["Extra"], "orgiam_roles_remove": "R"}
    dev = account_from_hostvars("payments_dev", hv)
    accounts = [a for a in ACCOUNTS if a.id != dev.id] + [dev]
    cat = catalog(role(include=Selector(ou_paths=(OUTarget("Workloads"),))), role("Extra", include=Selector(accounts=("Security",))))
    r = resolve(cat, accounts, OUS)
    assert [x.name for x in r.roles_by_account["000000000003"]] == ["Extra"]
    bad = account_from_hostvars("payments_dev", dict(hv, orgiam_roles_add=["Nope"]))
    with pytest.raises(CatalogError, match="role 'Nope'"):
        resolve(cat, [a for a in ACCOUNTS if a.id != dev.id] + [bad], OUS)


def identity_catalog(scope, central="Security"):
    from ansible_collections.orgiam.aws.plugins.module_utils.catalog.identity import Grant, GroupDef, Identity, Scope

    group = GroupDef("payments-readers", (Grant("R", Scope(**scope), "identity.yml:12"),), source="identity.yml:8")
    return Catalog("x", Settings(central_account=central, source="settings.yml"),
                   (role(include=Selector(ou_paths=(OUTarget("Workloads"),))),), Identity(groups=(group,)))


def test_a_grant_scoped_to_an_account_that_does_not_exist_is_an_error_with_a_suggestion():
    # before: resolved with no error and the grant silently reached nobody
    with pytest.raises(CatalogError) as info:
        resolve(identity_catalog({"accounts": ("Payments Prd",)}), ACCOUNTS, OUS)
    text = str(info.value)
    assert "identity.yml:12" in text and "field 'scope.accounts'" in text
    assert "account 'Payments Prd'" in text and "did you mean 'Payments Prod'?" in text
    with pytest.raises(CatalogError, match=r"OU path 'Workloads/Prd'.*did you mean 'Workloads/Prod'"):
        resolve(identity_catalog({"ou_paths": (("Workloads/Prd", True),)}), ACCOUNTS, OUS)
    assert resolve(identity_catalog({"accounts": ("Payments Prod",)}), ACCOUNTS, OUS).central.name == "Security"


def test_a_misspelt_central_account_gets_a_suggestion():
    with pytest.raises(CatalogError) as info:
        resolve(catalog(role(include=Selector(accounts=("Security",))), central="Securty"), ACCOUNTS, OUS)
    assert "did you mean 'Security'?" in str(info.value) and "widen the filter" in str(info.value)
    assert len(info.value.problems) == 1


def test_in_a_large_organization_an_unknown_name_lists_the_ten_closest_and_how_many_more():
    many = ACCOUNTS + [Account(f"1{i:011d}", f"Team {i:04d}", "Workloads/Prod") for i in range(1000)]
    with pytest.raises(CatalogError) as info:
        resolve(catalog(role(include=Selector(accounts=("Team 0999x",)))), many, OUS)
    text = str(info.value)
    assert "did you mean 'Team 0999'?" in text and "(and 996 more)" in text
    assert text.count("Team ") < 20  # not a thousand names


def test_check_references_checks_the_central_account_too():
    from ansible_collections.orgiam.aws.plugins.module_utils.resolve import check_references

    (problem,) = check_references(catalog(role(include=Selector(accounts=("Security",))), central="Legacy"), ACCOUNTS, OUS)
    assert problem.field_path == "central_account" and "SUSPENDED" in problem.message

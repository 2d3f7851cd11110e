"""Unit tests for module_utils/organization.py: pure functions on hand-made data, and discovery
against a small fake Organizations client (no AWS, no moto)."""

from __future__ import annotations

import itertools
import sys
from collections import Counter
from pathlib import Path

import pytest

COLLECTIONS = Path(__file__).resolve().parents[2] / "collections"
if str(COLLECTIONS) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS))

from ansible_collections.orgiam.aws.plugins.module_utils import organization as o  # noqa: E402

MGMT = "111111111111"
ROOT = "r-ab12"


def account(account_id, name, ou_path, ou_id, status="ACTIVE", **tags):
    return {
        "id": account_id,
        "name": name,
        "email": f"{account_id}@example.com",
        "arn": f"arn:aws:organizations::{MGMT}:account/o-abcdefghij/{account_id}",
        "status": status,
        "ou_path": ou_path,
        "ou_id": ou_id,
        "parent_id": ou_id,
        "tags": dict(tags),
        "is_management": account_id == MGMT,
        "joined_method": "CREATED",
    }


def ou(ou_id, path, parent_id):
    return {"id": ou_id, "name": path.rpartition("/")[2], "path": path, "parent_id": parent_id}


@pytest.fixture()
def org():
    return {
        "management_account_id": MGMT,
        "organization_id": "o-abcdefghij",
        "root_id": ROOT,
        "ous": [
            ou("ou-ab12-00000001", "Security", ROOT),
            ou("ou-ab12-00000002", "Workloads", ROOT),
            ou("ou-ab12-00000003", "Workloads/Prod", "ou-ab12-00000002"),
            ou("ou-ab12-00000004", "Workloads/Prod/Payments", "ou-ab12-00000003"),
            ou("ou-ab12-00000005", "Workloads/SDLC", "ou-ab12-00000002"),
            ou("ou-ab12-00000006", "Sandbox", ROOT),
            ou("ou-ab12-00000007", "Empty", ROOT),
            ou("ou-ab12-00000008", "WorkloadsArchive", ROOT),
        ],
        "accounts": [
            account(MGMT, "Management", "", ROOT),
            account("222222222222", "Root Tools", "", ROOT, Owner="platform"),
            account("333333333333", "Log Archive", "Security", "ou-ab12-00000001", Environment="prod", Owner="security"),
            account("444444444444", "Prod - Payments", "Workloads/Prod", "ou-ab12-00000003", Environment="prod", Owner="payments"),
            account("555555555555", "Web Prod", "Workloads/Prod", "ou-ab12-00000003", Environment="prod"),
            account("666666666666", "payments-ledger", "Workloads/Prod/Payments", "ou-ab12-00000004", Environment="prod", Critical="true"),
            account("777777777777", "sdlc-dev", "Workloads/SDLC", "ou-ab12-00000005", Environment="dev"),
            account("888888888888", "prod payments", "Sandbox", "ou-ab12-00000006", Environment="sandbox"),
            account("999999999999", "Old Sandbox", "Sandbox", "ou-ab12-00000006", "SUSPENDED"),
            account("012345678901", "Closing", "Sandbox", "ou-ab12-00000006", "PENDING_CLOSURE"),
            account("123123123123", "Gone", "Sandbox", "ou-ab12-00000006", "CLOSED"),
            account("321321321321", "Archive", "WorkloadsArchive", "ou-ab12-00000008"),
        ],
    }


def names(accounts):
    return sorted(a["name"] for a in accounts)


# -- filter_accounts -----------------------------------------------------------------------------


def test_default_selects_active_accounts_everywhere_including_the_root(org):
    assert names(o.filter_accounts(org)) == [
        "Archive", "Log Archive", "Management", "Prod - Payments", "Root Tools", "Web Prod",
        "payments-ledger", "prod payments", "sdlc-dev",
    ]


def test_include_ou_paths_is_recursive_and_stops_at_name_boundaries(org):
    # "Workloads" must not match the sibling OU "WorkloadsArchive".
    assert names(o.filter_accounts(org, include_ou_paths=["Workloads"])) == [
        "Prod - Payments", "Web Prod", "payments-ledger", "sdlc-dev",
    ]
    assert names(o.filter_accounts(org, include_ou_paths=["Workloads/Prod"])) == [
        "Prod - Payments", "Web Prod", "payments-ledger",
    ]


def test_ou_paths_match_case_insensitively_and_ignore_slashes_and_spaces(org):
    expected = ["Prod - Payments", "Web Prod", "payments-ledger"]
    assert names(o.filter_accounts(org, include_ou_paths=["workloads/PROD"])) == expected
    assert names(o.filter_accounts(org, include_ou_paths=["/Workloads/Prod/"])) == expected
    assert names(o.filter_accounts(org, include_ou_paths=[" Workloads / Prod "])) == expected
    assert names(o.filter_accounts(org, include_ou_paths="Workloads/Prod")) == expected  # a single string


def test_slash_is_the_root_and_selects_everything(org):
    assert names(o.filter_accounts(org, include_ou_paths=["/"])) == names(o.filter_accounts(org))


def test_several_include_paths_are_a_union(org):
    assert names(o.filter_accounts(org, include_ou_paths=["Security", "Workloads/SDLC"])) == ["Log Archive", "sdlc-dev"]


def test_exclude_ou_paths_is_recursive(org):
    selected = o.filter_accounts(org, include_ou_paths=["Workloads"], exclude_ou_paths=["workloads/prod"])
    assert names(selected) == ["sdlc-dev"]
    assert "Root Tools" in names(o.filter_accounts(org, exclude_ou_paths=["Workloads"]))


def test_exclude_accounts_by_id_or_name(org):
    selected = o.filter_accounts(org, exclude_accounts=["444444444444", "web prod", "  Root Tools "])
    assert {"Prod - Payments", "Web Prod", "Root Tools"}.isdisjoint(names(selected))
    assert "payments-ledger" in names(selected)


def test_exclude_accounts_restores_leading_zeros_of_unquoted_yaml_ids(org):
    # YAML reads 012345678901 (unquoted) as the integer 12345678901.
    selected = o.filter_accounts(org, exclude_accounts=[12345678901], include_suspended=True)
    assert "Closing" not in names(selected)
    assert o.unmatched_account_exclusions(org, [12345678901]) == []


def test_unmatched_account_exclusions_names_the_typos(org):
    assert o.unmatched_account_exclusions(org, ["Web Prod", "Web Prd", "000000000000"]) == ["Web Prd", "000000000000"]


def test_tag_filters_single_value_list_and_presence(org):
    assert names(o.filter_accounts(org, tag_filters={"Environment": "prod"})) == [
        "Log Archive", "Prod - Payments", "Web Prod", "payments-ledger",
    ]
    assert names(o.filter_accounts(org, tag_filters={"Environment": ["dev", "sandbox"]})) == ["prod payments", "sdlc-dev"]
    assert names(o.filter_accounts(org, tag_filters={"Owner": "*"})) == ["Log Archive", "Prod - Payments", "Root Tools"]
    assert names(o.filter_accounts(org, tag_filters={"Owner": None})) == ["Log Archive", "Prod - Payments", "Root Tools"]


def test_tag_filters_need_every_key_and_are_case_sensitive(org):
    assert names(o.filter_accounts(org, tag_filters={"Environment": "prod", "Owner": "*"})) == [
        "Log Archive", "Prod - Payments",
    ]
    assert o.filter_accounts(org, tag_filters={"environment": "prod"}) == []
    assert o.filter_accounts(org, tag_filters={"Environment": "PROD"}) == []


def test_tag_filters_compare_yaml_booleans_as_lowercase_text(org):
    assert names(o.filter_accounts(org, tag_filters={"Critical": True})) == ["payments-ledger"]


def test_tag_filters_must_be_a_mapping(org):
    with pytest.raises(o.OrganizationFilterError, match="tag_filters must be a mapping"):
        o.filter_accounts(org, tag_filters=["Environment"])


def test_accounts_that_are_not_active_only_with_include_suspended(org):
    inactive = {"Old Sandbox", "Closing", "Gone"}
    assert inactive.isdisjoint(names(o.filter_accounts(org)))
    selected = o.filter_accounts(org, include_ou_paths=["Sandbox"], include_suspended=True)
    assert names(selected) == ["Closing", "Gone", "Old Sandbox", "prod payments"]


def test_filters_combine(org):
    selected = o.filter_accounts(
        org,
        include_ou_paths=["Workloads"],
        exclude_ou_paths=["Workloads/SDLC"],
        exclude_accounts=["Web Prod"],
        tag_filters={"Environment": "prod"},
    )
    assert names(selected) == ["Prod - Payments", "payments-ledger"]


# -- unknown OU paths ----------------------------------------------------------------------------


def test_unknown_ou_path_names_it_and_lists_the_existing_paths(org):
    with pytest.raises(o.UnknownOUPath) as caught:
        o.filter_accounts(org, include_ou_paths=["Workloads", "Workloads/Dev"])
    message = str(caught.value)
    assert "unknown OU path 'Workloads/Dev' in include_ou_paths" in message
    for path in ("Empty", "Sandbox", "Security", "Workloads", "Workloads/Prod", "Workloads/Prod/Payments", "Workloads/SDLC"):
        assert path in message
    assert "\n" not in message
    assert caught.value.path == "Workloads/Dev"


def test_unknown_ou_path_suggests_the_closest(org):
    with pytest.raises(o.UnknownOUPath, match=r"did you mean 'Workloads/Prod'"):
        o.filter_accounts(org, exclude_ou_paths=["Workloads/Prd"])


def test_unknown_ou_path_in_exclude_is_an_error_too(org):
    with pytest.raises(o.UnknownOUPath, match="in exclude_ou_paths"):
        o.filter_accounts(org, exclude_ou_paths=["Nope"])


def test_unknown_ou_path_lists_a_bounded_number_of_paths(org):
    org["ous"] = [ou(f"ou-ab12-{n:08d}", f"Team {n:03d}", ROOT) for n in range(100)]
    message = str(o.UnknownOUPath("Nope", o.ou_paths(org)))
    assert "Team 000" in message
    assert "Team 099" not in message
    assert f"and {100 - o.MAX_LISTED_PATHS} more" in message


def test_unknown_ou_path_in_an_organization_without_ous():
    message = str(o.UnknownOUPath("Workloads", []))
    assert "unknown OU path 'Workloads'" in message and "no OUs" in message


def test_unknown_ou_path_is_a_filter_error_and_a_value_error():
    assert issubclass(o.UnknownOUPath, o.OrganizationFilterError)
    assert issubclass(o.UnknownOUPath, ValueError)


# -- host names ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("Prod - Payments", "prod_payments"),
        ("Log Archive", "log_archive"),
        ("payments-ledger", "payments_ledger"),
        ("  Dev__Team..42 ", "dev_team_42"),
        ("Ünïcode Äccount", "n_code_ccount"),
        ("already_fine_1", "already_fine_1"),
        ("---", ""),
    ],
)
def test_sanitize_name(name, expected):
    assert o.sanitize_name(name) == expected


def test_host_names_are_sanitized_account_names(org):
    hosts = o.assign_host_names(org["accounts"])
    assert hosts["333333333333"] == "log_archive"
    assert hosts["666666666666"] == "payments_ledger"
    assert hosts[MGMT] == "management"


def test_every_account_of_a_clash_gets_its_id(org):
    hosts = o.assign_host_names(org["accounts"])
    # "Prod - Payments" and "prod payments" both sanitize to prod_payments.
    assert hosts["444444444444"] == "prod_payments_444444444444"
    assert hosts["888888888888"] == "prod_payments_888888888888"
    assert len(set(hosts.values())) == len(hosts)


def test_host_names_do_not_depend_on_order(org):
    expected = o.assign_host_names(org["accounts"])
    for permutation in itertools.islice(itertools.permutations(org["accounts"]), 0, 50):
        assert o.assign_host_names(permutation) == expected
    assert o.assign_host_names(reversed(org["accounts"])) == expected


def test_a_suffixed_name_clashing_with_a_literal_name_is_resolved():
    accounts = [
        {"id": "111111111111", "name": "prod"},
        {"id": "222222222222", "name": "PROD"},
        {"id": "333333333333", "name": "prod 111111111111"},
    ]
    hosts = o.assign_host_names(accounts)
    assert hosts == {
        "111111111111": "prod_111111111111",
        "222222222222": "prod_222222222222",
        "333333333333": "prod_111111111111_333333333333",
    }


def test_a_name_without_usable_characters_gets_the_id():
    hosts = o.assign_host_names([{"id": "111111111111", "name": "!!!"}, {"id": "222222222222", "name": "Account"}])
    assert hosts == {"111111111111": "account_111111111111", "222222222222": "account"}


def test_host_name_modes(org):
    by_id = o.assign_host_names(org["accounts"], "id")
    assert by_id["333333333333"] == "333333333333"
    name_id = o.assign_host_names(org["accounts"], "name_id")
    assert name_id["333333333333"] == "log_archive_333333333333"
    assert name_id["444444444444"] == "prod_payments_444444444444"
    with pytest.raises(o.OrganizationFilterError, match="hostnames must be one of name, id, name_id"):
        o.assign_host_names(org["accounts"], "email")


# -- group names ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("Workloads/Prod", "ou_workloads_prod"),
        ("Workloads", "ou_workloads"),
        ("/Workloads/Prod/", "ou_workloads_prod"),
        ("Workloads/Prod/Payments", "ou_workloads_prod_payments"),
        ("Teams/Team 01", "ou_teams_team_01"),
        ("Dev-Test / EU (West)", "ou_dev_test_eu_west"),
        ("", "ou_root"),
        ("/", "ou_root"),
    ],
)
def test_ou_group_name(path, expected):
    assert o.ou_group_name(path) == expected


def test_ou_group_names_cover_every_ou_and_the_root(org):
    groups = o.ou_group_names(org)
    assert groups[""] == "ou_root"
    assert groups["Workloads/Prod"] == "ou_workloads_prod"
    assert groups["Empty"] == "ou_empty"
    assert set(groups) == {""} | {ou["path"] for ou in org["ous"]}


def test_ou_group_names_resolve_clashes_with_the_ou_id(org):
    org["ous"] += [ou("ou-ab12-0000000a", "Workloads Prod", ROOT), ou("ou-ab12-0000000b", "Root", ROOT)]
    groups = o.ou_group_names(org)
    assert groups["Workloads/Prod"] == "ou_workloads_prod_ou_ab12_00000003"
    assert groups["Workloads Prod"] == "ou_workloads_prod_ou_ab12_0000000a"
    assert groups["Root"] == "ou_root_ou_ab12_0000000b"
    assert groups[""] == "ou_root"
    assert len(set(groups.values())) == len(groups)


def test_status_group_name():
    assert o.status_group_name("ACTIVE") == "status_active"
    assert o.status_group_name("SUSPENDED") == "status_suspended"
    assert o.status_group_name("PENDING_CLOSURE") == "status_pending_closure"


def test_account_status_prefers_the_newer_state_field():
    assert o.account_status({"Status": "ACTIVE", "State": "CLOSED"}) == "CLOSED"
    assert o.account_status({"Status": "SUSPENDED"}) == "SUSPENDED"


def test_ou_paths_are_sorted(org):
    assert o.ou_paths(org) == [
        "Empty", "Sandbox", "Security", "Workloads", "Workloads/Prod", "Workloads/Prod/Payments", "Workloads/SDLC",
        "WorkloadsArchive",
    ]


# -- discovery against a fake client ------------------------------------------------------------


class FakePaginator:
    def __init__(self, client, operation):
        self.client, self.operation = client, operation

    def paginate(self, PaginationConfig=None, **params):
        size = (PaginationConfig or {}).get("PageSize") or 1000
        items, key = self.client.data(self.operation, **params)
        for start in range(0, max(len(items), 1), size):
            self.client.calls[self.operation] += 1
            yield {key: items[start:start + size]}


class FakeOrganizations:
    """Just enough of the Organizations API; counts one call per page."""

    def __init__(self, ous, accounts, tags, root_arn=None):
        self.ous = ous  # parent id -> [(id, name)]
        self.accounts = accounts  # parent id -> [account dict]
        self.tags = tags  # resource id -> {k: v}
        self.root_arn = root_arn or f"arn:aws:organizations::{MGMT}:root/o-abcdefghij/{ROOT}"
        self.calls = Counter()

    def get_paginator(self, operation):
        return FakePaginator(self, operation)

    def data(self, operation, ParentId=None, ResourceId=None):
        if operation == "list_roots":
            return [{"Id": ROOT, "Arn": self.root_arn, "Name": "Root"}], "Roots"
        if operation == "list_organizational_units_for_parent":
            return [{"Id": i, "Name": n} for i, n in self.ous.get(ParentId, [])], "OrganizationalUnits"
        if operation == "list_accounts_for_parent":
            return self.accounts.get(ParentId, []), "Accounts"
        if operation == "list_tags_for_resource":
            return [{"Key": k, "Value": v} for k, v in self.tags.get(ResourceId, {}).items()], "Tags"
        raise AssertionError(operation)

    def describe_organization(self):
        self.calls["describe_organization"] += 1
        return {"Organization": {"Id": "o-zzzzzzzzzz", "MasterAccountId": "999999999999"}}


def raw_account(account_id, name, state=None, status="ACTIVE"):
    data = {"Id": account_id, "Name": name, "Email": f"{account_id}@example.com", "Status": status,
            "Arn": f"arn:aws:organizations::{MGMT}:account/o-abcdefghij/{account_id}", "JoinedMethod": "CREATED"}
    if state:
        data["State"] = state
    return data


@pytest.fixture()
def fake():
    many = [raw_account(f"5000000000{n:02d}", f"dev {n:02d}") for n in range(25)]
    return FakeOrganizations(
        ous={
            ROOT: [("ou-w", "Workloads"), ("ou-e", "Empty")],
            "ou-w": [("ou-p", "Prod"), ("ou-d", "Dev")],
        },
        accounts={
            ROOT: [raw_account(MGMT, "Management")],
            "ou-p": [raw_account("200000000000", "Prod - Payments"),
                     raw_account("300000000000", "Old", state="SUSPENDED", status="SUSPENDED")],
            "ou-d": many,
        },
        tags={"200000000000": {"Environment": "prod"}},
    )


def test_discovery_builds_paths_records_and_tags(fake):
    org = o.discover_organization(fake)
    assert org["management_account_id"] == MGMT
    assert org["organization_id"] == "o-abcdefghij"
    assert org["root_id"] == ROOT
    assert [ou["path"] for ou in org["ous"]] == ["Empty", "Workloads", "Workloads/Dev", "Workloads/Prod"]
    assert {ou["path"]: ou["parent_id"] for ou in org["ous"]}["Workloads/Prod"] == "ou-w"
    by_name = {a["name"]: a for a in org["accounts"]}
    assert len(by_name) == 28
    assert by_name["Management"]["ou_path"] == "" and by_name["Management"]["ou_id"] == ROOT
    assert by_name["Management"]["is_management"] is True
    payments = by_name["Prod - Payments"]
    assert payments["ou_path"] == "Workloads/Prod" and payments["ou_id"] == payments["parent_id"] == "ou-p"
    assert payments["tags"] == {"Environment": "prod"}
    assert payments["is_management"] is False and payments["joined_method"] == "CREATED"
    assert by_name["Old"]["status"] == "SUSPENDED"
    assert by_name["dev 24"]["ou_path"] == "Workloads/Dev"


def test_discovery_makes_the_minimum_number_of_calls(fake):
    o.discover_organization(fake)
    parents = 1 + 4  # the root and every OU
    assert fake.calls == Counter(
        {
            "list_roots": 1,
            "list_organizational_units_for_parent": parents,
            "list_accounts_for_parent": parents + 1,  # 25 accounts in Dev: two pages of 20
            "list_tags_for_resource": 28,
        }
    )
    assert "describe_organization" not in fake.calls


def test_discovery_falls_back_to_describe_organization(fake):
    fake.root_arn = "arn:aws:organizations::unexpected"
    org = o.discover_organization(fake)
    assert fake.calls["describe_organization"] == 1
    assert org["management_account_id"] == "999999999999" and org["organization_id"] == "o-zzzzzzzzzz"


def test_discovery_can_read_ou_tags(fake):
    fake.tags["ou-w"] = {"Owner": "platform"}
    org = o.discover_organization(fake, include_ou_tags=True)
    assert {ou["path"]: ou["tags"] for ou in org["ous"]}["Workloads"] == {"Owner": "platform"}
    assert fake.calls["list_tags_for_resource"] == 28 + 4


def test_discovery_is_json_serialisable_and_deterministic(fake):
    import json

    first = json.dumps(o.discover_organization(fake, max_workers=1), sort_keys=True)
    assert json.dumps(o.discover_organization(fake, max_workers=8), sort_keys=True) == first


def test_discovery_errors_propagate_from_the_workers(fake):
    real = fake.data

    def tags_denied(operation, **params):
        if operation == "list_tags_for_resource" and params.get("ResourceId") == "500000000007":
            raise RuntimeError("AccessDenied")
        return real(operation, **params)

    fake.data = tags_denied
    with pytest.raises(RuntimeError, match="AccessDenied"):
        o.discover_organization(fake)

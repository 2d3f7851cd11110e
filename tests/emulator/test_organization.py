"""Seeding: the demo organization's shape, idempotence, and the large generated organization."""

from __future__ import annotations

from typing import Any

from botocore.client import BaseClient

from emulator import control
from emulator.org_spec import flatten
from emulator.organization import (
    ACCESS_ROLE_NAME,
    ADMINISTRATOR_ACCESS_ARN,
    build_spec,
    load_demo_spec,
    seed_organization,
)
from tests.emulator.conftest import assume_access_role, management_client

DEMO_TREE = {
    "": {"Management"},
    "Security": {"Security", "Log-Archive"},
    "Sandbox": {"Sandbox Alice", "Sandbox-Bob"},
    "Workloads": set(),
    "Workloads/SDLC": {"Payments Dev", "Payments-Test", "Data Platform Dev"},
    "Workloads/Prod": {"Payments Prod", "Data Platform Prod"},
    "Deployments": {"Deployments"},
    "Suspended": {"Legacy App"},
    "Transitional": set(),
}


def paginate(client: BaseClient, operation: str, key: str, **kwargs: Any) -> list[dict[str, Any]]:
    return [item for page in client.get_paginator(operation).paginate(**kwargs) for item in page[key]]


def tree_by_path(org: BaseClient) -> dict[str, set[str]]:
    """OU path -> account names, read back through the Organizations API."""
    root_id = org.list_roots()["Roots"][0]["Id"]
    tree: dict[str, set[str]] = {}

    def walk(parent_id: str, path: str) -> None:
        tree[path] = {a["Name"] for a in paginate(org, "list_accounts_for_parent", "Accounts", ParentId=parent_id)}
        for ou in paginate(org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent_id):
            walk(ou["Id"], f"{path}/{ou['Name']}" if path else ou["Name"])

    walk(root_id, "")
    return tree


def test_demo_seed_builds_the_landing_zone(endpoint: str) -> None:
    seeded = seed_organization(endpoint, load_demo_spec())
    org = management_client(endpoint, "organizations")

    assert tree_by_path(org) == DEMO_TREE
    assert seeded["management_account_id"] == "123456789012"
    assert seeded["accounts"]["Management"] == "123456789012"
    assert set(seeded["ous"]) == set(DEMO_TREE) - {""}
    statuses = {a["Name"]: a["Status"] for a in paginate(org, "list_accounts", "Accounts")}
    assert [name for name, status in statuses.items() if status == "SUSPENDED"] == ["Legacy App"]
    assert org.describe_account(AccountId=seeded["accounts"]["Payments Prod"])["Account"]["Email"] == (
        "payments-prod@demo.orgiam.example")
    tag_list = org.list_tags_for_resource(ResourceId=seeded["accounts"]["Payments Prod"])["Tags"]
    tags = {t["Key"]: t["Value"] for t in tag_list}
    assert tags["Environment"] == "prod" and tags["Owner"] == "payments"
    ou_tags = org.list_tags_for_resource(ResourceId=seeded["ous"]["Workloads/Prod"])["Tags"]
    assert ou_tags == [{"Key": "Environment", "Value": "prod"}]


def test_every_member_account_has_the_access_role_with_administrator_access(endpoint: str) -> None:
    seeded = seed_organization(endpoint, load_demo_spec())
    for name in ("Security", "Payments Prod", "Sandbox-Bob"):
        iam = assume_access_role(endpoint, seeded["accounts"][name]).iam
        role = iam.get_role(RoleName=ACCESS_ROLE_NAME)["Role"]
        assert role["Arn"] == f"arn:aws:iam::{seeded['accounts'][name]}:role/{ACCESS_ROLE_NAME}"
        principal = role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"]
        assert principal == "arn:aws:iam::123456789012:root"
        attached = iam.list_attached_role_policies(RoleName=ACCESS_ROLE_NAME)["AttachedPolicies"]
        assert [p["PolicyArn"] for p in attached] == [ADMINISTRATOR_ACCESS_ARN]
    # IAM is per account: a role made in one member account is not in another
    first = assume_access_role(endpoint, seeded["accounts"]["Security"]).iam
    first.create_role(RoleName="OnlyHere", AssumeRolePolicyDocument="{}")
    second = assume_access_role(endpoint, seeded["accounts"]["Log-Archive"]).iam
    assert "OnlyHere" not in {r["RoleName"] for r in second.list_roles()["Roles"]}


def test_a_second_seed_changes_nothing(endpoint: str) -> None:
    first = seed_organization(endpoint, load_demo_spec())
    control.clear_calls(endpoint)

    second = seed_organization(endpoint, load_demo_spec())

    assert second == first
    writes = [c["operation"] for c in control.calls(endpoint)
              if not c["operation"].startswith(("List", "Describe", "Get", "AssumeRole"))]
    assert writes == []
    org = management_client(endpoint, "organizations")
    assert len(paginate(org, "list_accounts", "Accounts")) == len(first["accounts"])


def test_a_seed_moves_accounts_back(endpoint: str) -> None:
    seeded = seed_organization(endpoint, load_demo_spec())
    org = management_client(endpoint, "organizations")
    elsewhere = org.create_organizational_unit(ParentId=seeded["root_id"], Name="Elsewhere")["OrganizationalUnit"]
    org.move_account(AccountId=seeded["accounts"]["Sandbox-Bob"], SourceParentId=seeded["ous"]["Sandbox"],
                     DestinationParentId=seeded["ous"]["Transitional"])
    org.move_account(AccountId=seeded["accounts"]["Payments Prod"], SourceParentId=seeded["ous"]["Workloads/Prod"],
                     DestinationParentId=elsewhere["Id"])

    seed_organization(endpoint, load_demo_spec())

    assert tree_by_path(org) == {**DEMO_TREE, "Elsewhere": set()}


def test_large_spec_shape() -> None:
    layout = flatten(build_spec(1000, 50))
    assert len(layout.accounts) == 1000
    assert len(layout.ous) == 50
    assert len({a.name for a in layout.accounts}) == 1000
    per_ou: dict[str, int] = {}
    for account in layout.accounts:
        per_ou[account.ou_path] = per_ou.get(account.ou_path, 0) + 1
    assert max(per_ou.values()) > 20
    children: dict[str, int] = {}
    for ou in layout.ous:
        children[ou.parent_path] = children.get(ou.parent_path, 0) + 1
    assert children["Workloads"] > 20
    assert max(ou.path.count("/") for ou in layout.ous) == 2  # nested two levels below the top
    assert sum(a.suspended for a in layout.accounts) == 1


def test_large_seed_needs_pagination(endpoint: str) -> None:
    seeded = seed_organization(endpoint, build_spec(n_accounts=40, n_ous=26))
    org = management_client(endpoint, "organizations")

    sandbox = paginate(org, "list_accounts_for_parent", "Accounts", ParentId=seeded["ous"]["Sandbox"])
    assert len(sandbox) > 20
    first_page = org.list_accounts_for_parent(ParentId=seeded["ous"]["Sandbox"])
    assert "NextToken" in first_page and len(first_page["Accounts"]) < len(sandbox)

    teams = paginate(org, "list_organizational_units_for_parent", "OrganizationalUnits",
                     ParentId=seeded["ous"]["Workloads"])
    assert len(teams) > 20
    assert "NextToken" in org.list_organizational_units_for_parent(ParentId=seeded["ous"]["Workloads"])
    assert len(seeded["accounts"]) == 41
    assert len(paginate(org, "list_accounts", "Accounts")) == 41

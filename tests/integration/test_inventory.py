"""The orgiam.aws.organization inventory plugin, run through the real ansible-inventory command
against moto's server seeded with an organization (see conftest.py for its shape).

Every ansible-inventory run is started once, concurrently, by the module-scoped ``runs`` fixture;
the tests only read the results.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.aws.session import AwsClients, AwsSettings
from ansible_collections.orgiam.aws.plugins.module_utils.organization import discover_organization

PAGE = 20
PLUGIN_NAME = "orgiam.aws.organization"

MAIN = {
    "keyed_groups": [{"key": "account_tags.Owner | default('none')", "prefix": "owner"}],
    "compose": {"account_label": "account_name ~ ' (' ~ account_id ~ ')'"},
    "groups": {"prod_tagged": "account_tags.Environment | default('') == 'prod'"},
    "catalog": "../main-catalog",  # outside the inventory directory, as in inventories/demo
}
CONFIGS = {
    "main": MAIN,
    "filtered": {
        "include_ou_paths": ["Workloads"],
        "exclude_ou_paths": ["workloads/sdlc"],
        "exclude_accounts": ["Web Prod", "000000000000"],
        "tag_filters": {"Environment": "prod"},
    },
    "suspended": {"include_ou_paths": ["/sandbox/"], "include_suspended": True, "hostnames": "name_id"},
    "by_id": {"hostnames": "id", "tag_filters": {"Owner": "*"}, "exclude_ou_paths": ["Teams/Team 22"]},
    "unknown_ou": {"include_ou_paths": ["Workloads", "Workloads/Dev"]},
    "missing_catalog": {"catalog": "no-such-catalog"},
    "not_in_org": {"assume_role_arn": "arn:aws:iam::111111111111:role/OrgReader"},
    "cached": {"cache": True, "cache_plugin": "ansible.builtin.jsonfile", "cache_timeout": 600},
}


def expected_discovery_calls(org) -> int:
    """ListRoots, then for the root and every OU one call per page of child OUs and one per page
    of accounts (at least one each), then one ListTagsForResource per account."""

    def pages(count: int) -> int:
        return max(1, -(-count // PAGE))

    parents = [""] + list(org.ou_ids)
    child_ous = {p: sum(1 for q in org.ou_ids if q.rpartition("/")[0] == p) for p in parents}
    accounts = {p: sum(1 for q in org.account_paths.values() if q == p) for p in parents}
    return 1 + sum(pages(child_ous[p]) + pages(accounts[p]) for p in parents) + org.account_count


@pytest.fixture(scope="module")
def runs(tmp_path_factory, aws_env, seeded_org, ansible_run, inventory_dir, dead_endpoint):
    root = tmp_path_factory.mktemp("inventories")
    folders = {name: inventory_dir(root / name, config) for name, config in CONFIGS.items()}
    catalog = root / "main-catalog"
    (catalog / "roles").mkdir(parents=True)
    (catalog / "settings.yml").write_text("central_account: Log Archive\n")
    (catalog / "roles" / "readonly.yml").write_text("name: ReadOnly\ntargets: {ou_paths: [Workloads/Prod]}\n")
    inventory_dir(folders["cached"], dict(CONFIGS["cached"], cache_connection=str(root / "cache")))

    no_credentials = {k: v for k, v in aws_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}

    def inventory(name, *args, env=aws_env):
        return ansible_run(["ansible-inventory", "-i", str(folders[name]), *args], env)

    def cached():
        first = inventory("cached", "--list")
        # The second run reaches a dead endpoint: it only works from the cache.
        second = inventory("cached", "--list", env=dict(aws_env, AWS_ENDPOINT_URL=dead_endpoint))
        flushed = inventory("cached", "--list", "--flush-cache", env=no_credentials)
        return first, second, flushed

    jobs = {
        "list": lambda: inventory("main", "--list", "--export"),  # group vars stay on their groups
        "graph": lambda: inventory("main", "--graph"),
        "host": lambda: inventory("main", "--host", "log_archive"),
        "filtered": lambda: inventory("filtered", "--list"),
        "suspended": lambda: inventory("suspended", "--list"),
        "by_id": lambda: inventory("by_id", "--list"),
        "unknown_ou": lambda: inventory("unknown_ou", "--graph"),
        # without credentials: the catalog is checked before any AWS call
        "missing_catalog": lambda: inventory("missing_catalog", "--graph", env=no_credentials),
        "not_in_org": lambda: inventory("not_in_org", "--graph"),
        "no_credentials": lambda: inventory("main", "--graph", env=no_credentials),
        "dead_endpoint": lambda: inventory("main", "--graph", env=dict(aws_env, AWS_ENDPOINT_URL=dead_endpoint)),
        "cached": cached,
    }
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {name: pool.submit(job) for name, job in jobs.items()}
        return {name: future.result() for name, future in futures.items()}


def plain(value):
    """ansible-inventory marks strings from inventory plugins as {"__ansible_unsafe": "..."}."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def listed(run):
    assert run.returncode == 0, run.stdout + run.stderr
    return plain(json.loads(run.stdout))


def hosts_of(data, group):
    return sorted(data.get(group, {}).get("hosts", []))


def children_of(data, group):
    return sorted(data.get(group, {}).get("children", []))


def host_name(org, name):
    return f"prod_payments_{org.account_ids[name]}"


def assert_one_line_failure(run, *expected):
    output = run.stdout + run.stderr
    assert run.returncode != 0, output
    assert "Traceback" not in output
    for text in expected:
        assert text in output
    message_lines = [line for line in output.splitlines() if expected[0] in line]
    assert message_lines, output


# -- discovery itself --------------------------------------------------------------------------


def test_discovery_of_the_seeded_org_uses_the_minimum_number_of_calls(seeded_org):
    clients = AwsClients(
        AwsSettings(endpoint_url=seeded_org.endpoint, access_key="testing", secret_key="testing")
    )
    org = discover_organization(clients.client("organizations"))
    assert clients.call_log.total() == expected_discovery_calls(seeded_org) == 99
    operations = clients.call_log.for_account("caller")
    assert "organizations:DescribeOrganization" not in operations
    assert operations["organizations:ListTagsForResource"] == seeded_org.account_count

    assert org["management_account_id"] == seeded_org.management_account_id
    assert org["organization_id"] == seeded_org.organization_id
    assert org["root_id"] == seeded_org.root_id
    assert {ou["path"]: ou["id"] for ou in org["ous"]} == seeded_org.ou_ids
    assert {a["name"]: a["id"] for a in org["accounts"]} == seeded_org.account_ids
    by_name = {a["name"]: a for a in org["accounts"]}
    assert by_name["Old Sandbox"]["status"] == "SUSPENDED"
    assert by_name["team22-app"]["ou_path"] == "Teams/Team 22"
    assert by_name["payments-ledger"]["ou_id"] == seeded_org.ou_ids["Workloads/Prod/Payments"]
    assert by_name["Root Tools"]["ou_path"] == "" and by_name["Root Tools"]["ou_id"] == seeded_org.root_id
    assert by_name["Log Archive"]["tags"] == {"Environment": "prod", "Owner": "security"}
    assert by_name["master"]["is_management"] is True
    assert sum(a["is_management"] for a in org["accounts"]) == 1


# -- the default inventory -----------------------------------------------------------------------


def test_every_active_account_is_a_host_across_pages(runs, seeded_org):
    data = listed(runs["list"])
    hosts = set(data["_meta"]["hostvars"])
    assert len(hosts) == seeded_org.account_count - 1  # all but the suspended one
    # second page of accounts in one OU, and accounts in an OU on the second page of OUs
    assert {"sdlc_dev_01", "sdlc_dev_20", "sdlc_dev_21", "sdlc_dev_23", "team01_app", "team22_app"} <= hosts
    assert "old_sandbox" not in hosts
    # names that clash after sanitizing both get their account id
    assert {host_name(seeded_org, "Prod - Payments"), host_name(seeded_org, "prod payments")} <= hosts
    assert "prod_payments" not in hosts


def test_ou_groups_are_nested_like_the_organization(runs, seeded_org):
    data = listed(runs["list"])
    assert {"ou_root", "ou_security", "ou_workloads", "ou_sandbox", "ou_teams", "ou_empty"} <= set(children_of(data, "all"))
    assert children_of(data, "ou_workloads") == ["ou_workloads_prod", "ou_workloads_sdlc"]
    assert children_of(data, "ou_workloads_prod") == ["ou_workloads_prod_payments"]
    assert len(children_of(data, "ou_teams")) == 22
    assert hosts_of(data, "ou_workloads_prod") == sorted([host_name(seeded_org, "Prod - Payments"), "web_prod"])
    assert hosts_of(data, "ou_workloads_prod_payments") == ["payments_ledger"]
    assert len(hosts_of(data, "ou_workloads_sdlc")) == 23
    assert hosts_of(data, "ou_root") == ["master", "root_tools"]
    assert hosts_of(data, "ou_teams_team_22") == ["team22_app"]


def test_graph_shows_nesting_and_empty_ous(runs):
    run = runs["graph"]
    assert run.returncode == 0, run.stderr
    graph = run.stdout
    assert (
        "  |--@ou_workloads:\n"
        "  |  |--@ou_workloads_prod:\n"
        "  |  |  |--@ou_workloads_prod_payments:\n"
        "  |  |  |  |--payments_ledger\n"
    ) in graph
    assert "  |--@ou_empty:\n" in graph
    assert "  |  |--@ou_teams_team_02:\n" in graph  # an empty OU under a parent


def test_status_and_management_groups(runs, seeded_org):
    data = listed(runs["list"])
    assert len(hosts_of(data, "status_active")) == seeded_org.account_count - 1
    assert hosts_of(data, "status_suspended") == []
    assert "status_suspended" in children_of(data, "all")  # exists even when empty
    assert hosts_of(data, "management_account") == ["master"]


def test_hostvars(runs, seeded_org):
    data = listed(runs["list"])
    log_archive = data["_meta"]["hostvars"]["log_archive"]
    account_id = seeded_org.account_ids["Log Archive"]
    assert log_archive == {
        "account_id": account_id,
        "account_name": "Log Archive",
        "account_email": "logarchive@example.com",
        "account_arn": f"arn:aws:organizations::{seeded_org.management_account_id}:account/"
        f"{seeded_org.organization_id}/{account_id}",
        "account_status": "ACTIVE",
        "ou_path": "Security",
        "ou_id": seeded_org.ou_ids["Security"],
        "account_tags": {"Environment": "prod", "Owner": "security"},
        "is_management_account": False,
        "ansible_connection": "local",
        "account_label": f"Log Archive ({account_id})",  # compose
    }
    master = data["_meta"]["hostvars"]["master"]
    assert master["is_management_account"] is True
    assert master["ou_path"] == "" and master["ou_id"] == seeded_org.root_id


def test_group_vars_on_all(runs, seeded_org):
    data = listed(runs["list"])
    all_vars = data["all"]["vars"]
    assert all_vars["orgiam_management_account_id"] == seeded_org.management_account_id
    assert all_vars["orgiam_organization_id"] == seeded_org.organization_id
    assert all_vars["orgiam_ou_paths"] == sorted(seeded_org.ou_ids, key=str.casefold)
    assert all_vars["orgiam_ou_groups"]["Workloads/Prod"] == "ou_workloads_prod"
    assert all_vars["orgiam_catalog_path"].endswith("/main-catalog")


def test_keyed_groups_and_groups(runs, seeded_org):
    data = listed(runs["list"])
    assert hosts_of(data, "owner_payments") == sorted([host_name(seeded_org, "Prod - Payments"), "payments_ledger"])
    assert hosts_of(data, "owner_security") == ["log_archive", "security_tooling"]
    assert "sdlc_dev_07" in hosts_of(data, "owner_none")
    assert hosts_of(data, "prod_tagged") == sorted(
        ["log_archive", host_name(seeded_org, "Prod - Payments"), "web_prod", "payments_ledger"]
    )


def test_host_shows_one_account(runs, seeded_org):
    run = runs["host"]
    assert run.returncode == 0, run.stderr
    host = plain(json.loads(run.stdout))
    assert host["account_id"] == seeded_org.account_ids["Log Archive"]
    assert host["ou_path"] == "Security"
    assert host["ansible_connection"] == "local"


# -- filters -------------------------------------------------------------------------------------


def test_filters_combine(runs, seeded_org):
    data = listed(runs["filtered"])
    assert sorted(data["_meta"]["hostvars"]) == sorted([host_name(seeded_org, "Prod - Payments"), "payments_ledger"])
    # groups of filtered-out OUs still exist, so the organization's shape stays visible
    assert "ou_workloads_sdlc" in children_of(data, "ou_workloads")
    # without --export, group vars of all are merged into every host's vars
    ledger = data["_meta"]["hostvars"]["payments_ledger"]
    assert ledger["orgiam_ou_paths"] == sorted(seeded_org.ou_ids, key=str.casefold)


def test_exclusion_that_matches_no_account_warns(runs):
    assert "exclude_accounts entry '000000000000' matches no account" in runs["filtered"].stderr


def test_include_suspended_and_name_id_hostnames(runs, seeded_org):
    data = listed(runs["suspended"])
    ids = seeded_org.account_ids
    old, sandbox = f"old_sandbox_{ids['Old Sandbox']}", f"prod_payments_{ids['prod payments']}"
    assert sorted(data["_meta"]["hostvars"]) == sorted([old, sandbox])
    assert hosts_of(data, "status_suspended") == [old]
    assert hosts_of(data, "status_active") == [sandbox]
    assert data["_meta"]["hostvars"][old]["account_status"] == "SUSPENDED"


def test_tag_presence_filter_and_id_hostnames(runs, seeded_org):
    data = listed(runs["by_id"])
    ids = seeded_org.account_ids
    owners = ["Root Tools", "Log Archive", "Security-Tooling", "Prod - Payments", "Web Prod", "payments-ledger", "team01-app"]
    assert sorted(data["_meta"]["hostvars"]) == sorted(ids[name] for name in owners)


# -- cache -------------------------------------------------------------------------------------


def test_cache_serves_the_organization_without_aws(runs):
    first, second, flushed = runs["cached"]
    # the second run had a dead endpoint: everything came from the cache, and the inventory says so
    live, cached = listed(first)["_meta"]["hostvars"], listed(second)["_meta"]["hostvars"]
    assert {h["orgiam_inventory_from_cache"] for h in live.values()} == {False}
    assert {h["orgiam_inventory_from_cache"] for h in cached.values()} == {True}

    def without_source(hostvars: dict) -> dict:
        return {host: {k: v for k, v in values.items() if k != "orgiam_inventory_from_cache"} for host, values in hostvars.items()}

    assert without_source(live) == without_source(cached)
    # --flush-cache discovers again, here without credentials
    assert_one_line_failure(flushed, "no AWS credentials found")


# -- errors --------------------------------------------------------------------------------------


def test_unknown_ou_path_names_it_and_lists_the_existing_ones(runs):
    run = runs["unknown_ou"]
    assert_one_line_failure(run, "unknown OU path 'Workloads/Dev' in include_ou_paths")
    line = next(line for line in (run.stdout + run.stderr).splitlines() if "unknown OU path" in line)
    for path in ("Workloads/Prod/Payments", "Workloads/SDLC", "Teams/Team 22", "Empty", "Sandbox", "Security"):
        assert path in line


def test_missing_catalog_is_an_error_before_any_aws_call(runs):
    run = runs["missing_catalog"]
    assert_one_line_failure(run, "no-such-catalog", "does not exist")
    assert "credentials" not in run.stdout + run.stderr


def test_no_credentials_is_one_clear_line(runs):
    assert_one_line_failure(runs["no_credentials"], "no AWS credentials found")


def test_unreachable_endpoint_is_one_clear_line(runs, dead_endpoint):
    assert_one_line_failure(runs["dead_endpoint"], f"nothing answers at {dead_endpoint}")


def test_an_account_outside_any_organization_names_the_error_code(runs):
    # assume_role_arn lands in account 111111111111, which belongs to no organization
    assert_one_line_failure(runs["not_in_org"], "AWSOrganizationsNotInUseException")


def test_a_bad_catalog_fails_the_inventory_before_any_aws_call(tmp_path, aws_env, ansible_run, inventory_dir):
    catalog = tmp_path / "catalog"
    (catalog / "roles").mkdir(parents=True)
    (catalog / "settings.yml").write_text("central_account: Log Archive\n")
    (catalog / "roles" / "typo.yml").write_text("name: ReadOnly\nmanaged_policy: [ReadOnlyAccess]\ntargets: {ou_paths: [Workloads]}\n")
    folder = inventory_dir(tmp_path / "inv", {"catalog": "../catalog"})
    # no endpoint answers and no credentials exist: only an error found before AWS can surface
    env = {k: v for k, v in aws_env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    env["AWS_ENDPOINT_URL"] = "http://127.0.0.1:9"
    run = ansible_run(["ansible-inventory", "-i", str(folder), "--graph"], env)
    assert run.returncode != 0
    assert "roles/typo.yml:2" in run.stdout + run.stderr and "unknown key 'managed_policy'" in run.stdout + run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    # shown once: before, ansible-core printed it in its summary line and again under "caused by"
    assert (run.stdout + run.stderr).count("unknown key 'managed_policy'") == 1, run.stdout + run.stderr


def test_a_catalog_naming_an_unknown_ou_fails_with_the_existing_ones(tmp_path, aws_env, ansible_run, inventory_dir):
    catalog = tmp_path / "catalog"
    (catalog / "roles").mkdir(parents=True)
    (catalog / "settings.yml").write_text("central_account: Log Archive\n")
    (catalog / "roles" / "ro.yml").write_text("name: ReadOnly\ntargets: {ou_paths: [Workload/Prod]}\n")
    folder = inventory_dir(tmp_path / "inv", {"catalog": "../catalog"})
    run = ansible_run(["ansible-inventory", "-i", str(folder), "--graph"], aws_env)
    assert run.returncode != 0
    out = run.stdout + run.stderr
    assert "'Workload/Prod'" in out and "Workloads/Prod" in out and "Traceback" not in out
    assert "did you mean 'Workloads/Prod'?" in out and out.count("names OU path 'Workload/Prod'") == 1


def central_catalog_run(tmp_path, aws_env, ansible_run, inventory_dir, central: str, config: dict):
    catalog = tmp_path / "catalog"
    (catalog / "roles").mkdir(parents=True)
    (catalog / "settings.yml").write_text(f"central_account: {central}\n")
    (catalog / "roles" / "ro.yml").write_text("name: ReadOnly\ntargets: {ou_paths: [Workloads/Prod]}\n")
    folder = inventory_dir(tmp_path / "inv", dict(config, catalog="../catalog"))
    run = ansible_run(["ansible-inventory", "-i", str(folder), "--graph"], aws_env)
    return run, run.stdout + run.stderr


def test_a_central_account_left_out_by_the_inventorys_filter_names_the_filter(tmp_path, aws_env, ansible_run, inventory_dir):
    # before: the sync said settings.yml's central account "is not in the inventory", though settings.yml was right
    run, out = central_catalog_run(tmp_path, aws_env, ansible_run, inventory_dir, "Log Archive", {"include_ou_paths": ["Workloads"]})
    assert run.returncode != 0 and "Traceback" not in out
    assert "organization.orgiam.yml: field 'include_ou_paths'" in out
    assert "leaves out the central account 'Log Archive'" in out and "in OU Security" in out and "widen the filter" in out
    assert out.count("leaves out the central account") == 1


def test_a_misspelt_central_account_fails_the_inventory_with_a_suggestion(tmp_path, aws_env, ansible_run, inventory_dir):
    run, out = central_catalog_run(tmp_path, aws_env, ansible_run, inventory_dir, "Log Archiv", {})
    assert run.returncode != 0 and "Traceback" not in out
    assert "field 'central_account': central account 'Log Archiv'" in out and "did you mean 'Log Archive'?" in out

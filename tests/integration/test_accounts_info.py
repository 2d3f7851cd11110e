"""The orgiam.aws.org_accounts_info module, run through ansible-playbook and ansible against moto's
server seeded with an organization (see conftest.py).

One playbook runs every scenario as a task (failing ones with ignore_errors) and writes the
registered results to a JSON file; the tests read that file.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

PLAYBOOK = """
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Every active account, in check mode
      orgiam.aws.org_accounts_info:
      check_mode: true
      register: r_default

    - name: Every filter at once
      orgiam.aws.org_accounts_info:
        include_ou_paths: [Workloads]
        exclude_ou_paths: [workloads/sdlc]
        exclude_accounts: [Web Prod, "000000000000"]
        tag_filters:
          Environment: prod
      register: r_filtered

    - name: Suspended accounts too, named by id
      orgiam.aws.org_accounts_info:
        include_ou_paths: [/Sandbox/]
        include_suspended: true
        hostnames: id
      register: r_suspended

    - name: An OU path that does not exist
      orgiam.aws.org_accounts_info:
        include_ou_paths: [Workloads/Dev]
      register: r_unknown
      ignore_errors: true

    - name: An endpoint where nothing listens
      orgiam.aws.org_accounts_info:
        endpoint_url: "{{ dead_endpoint }}"
      register: r_dead
      ignore_errors: true

    - name: An account that belongs to no organization
      orgiam.aws.org_accounts_info:
        assume_role_arn: arn:aws:iam::111111111111:role/OrgReader
      register: r_not_in_org
      ignore_errors: true

    - name: Keep the results for the tests
      ansible.builtin.copy:
        dest: "{{ results_file }}"
        content: >-
          {{ {'default': r_default, 'filtered': r_filtered, 'suspended': r_suspended,
              'unknown': r_unknown, 'dead': r_dead,
              'not_in_org': r_not_in_org} | to_json }}
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory, aws_env, seeded_org, ansible_run, dead_endpoint):
    root = tmp_path_factory.mktemp("accounts-info")
    playbook = root / "playbook.yml"
    playbook.write_text(PLAYBOOK)
    results_file = root / "results.json"
    env = dict(aws_env, ANSIBLE_INVENTORY_ENABLED="host_list")
    no_credentials = {k: v for k, v in env.items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}

    def play():
        return ansible_run(
            ["ansible-playbook", "-i", "localhost,", str(playbook),
             "-e", f"results_file={results_file}", "-e", f"dead_endpoint={dead_endpoint}"],
            env,
        )

    def adhoc_without_credentials():
        return ansible_run(
            ["ansible", "localhost", "-i", "localhost,", "-c", "local", "-m", "orgiam.aws.org_accounts_info"],
            no_credentials,
        )

    with ThreadPoolExecutor(max_workers=2) as pool:
        play_run, adhoc_run = pool.submit(play), pool.submit(adhoc_without_credentials)
        run = play_run.result()
        assert run.returncode == 0, run.stdout + run.stderr
        data = json.loads(results_file.read_text())
        data["adhoc_without_credentials"] = adhoc_run.result()
        data["play_output"] = run.stdout + run.stderr
    return data


def by_name(result):
    return {account["name"]: account for account in result["accounts"]}


def test_default_returns_every_active_account_in_check_mode(results, seeded_org):
    result = results["default"]
    assert result["changed"] is False and not result.get("failed")
    accounts = by_name(result)
    assert set(accounts) == set(seeded_org.account_ids) - {"Old Sandbox"}
    assert {"sdlc-dev-23", "team22-app"} <= set(accounts)  # second pages of accounts and of OUs


def test_records_carry_every_field(results, seeded_org):
    ledger = by_name(results["default"])["payments-ledger"]
    account_id = seeded_org.account_ids["payments-ledger"]
    assert ledger == {
        "id": account_id,
        "name": "payments-ledger",
        "email": "paymentsledger@example.com",
        "arn": f"arn:aws:organizations::{seeded_org.management_account_id}:account/"
        f"{seeded_org.organization_id}/{account_id}",
        "status": "ACTIVE",
        "ou_path": "Workloads/Prod/Payments",
        "ou_id": seeded_org.ou_ids["Workloads/Prod/Payments"],
        "parent_id": seeded_org.ou_ids["Workloads/Prod/Payments"],
        "tags": {"Environment": "prod", "Owner": "payments"},
        "is_management": False,
        "joined_method": "CREATED",
        "host_name": "payments_ledger",
    }
    master = by_name(results["default"])["master"]
    assert master["is_management"] is True and master["ou_path"] == "" and master["ou_id"] == seeded_org.root_id
    clash = by_name(results["default"])["Prod - Payments"]
    assert clash["host_name"] == f"prod_payments_{clash['id']}"


def test_organization_summary_and_call_count(results, seeded_org):
    result = results["default"]
    assert result["organization"] == {
        "management_account_id": seeded_org.management_account_id,
        "organization_id": seeded_org.organization_id,
        "root_id": seeded_org.root_id,
        "ou_paths": sorted(seeded_org.ou_ids, key=str.casefold),
        "account_count": seeded_org.account_count,
    }
    assert result["api_calls"] == 99


def test_filters(results):
    assert sorted(by_name(results["filtered"])) == ["Prod - Payments", "payments-ledger"]
    assert any("'000000000000' matches no account" in warning for warning in results["filtered"].get("warnings", []))
    suspended = results["suspended"]["accounts"]
    assert sorted((a["name"], a["status"]) for a in suspended) == [("Old Sandbox", "SUSPENDED"), ("prod payments", "ACTIVE")]
    assert all(a["host_name"] == a["id"] for a in suspended)


def test_unknown_ou_path_fails_naming_it_and_the_existing_ones(results):
    result = results["unknown"]
    assert result["failed"] is True
    assert result["msg"].startswith("unknown OU path 'Workloads/Dev' in include_ou_paths")
    for path in ("Workloads/Prod", "Workloads/SDLC", "Teams/Team 22", "Empty"):
        assert path in result["msg"]


def test_unreachable_endpoint_fails_with_one_line(results, dead_endpoint):
    result = results["dead"]
    assert result["failed"] is True
    assert result["msg"] == (
        f"cannot discover the AWS Organization: nothing answers at {dead_endpoint}: start the emulator with "
        "`make emulator`, or unset AWS_ENDPOINT_URL to use AWS itself"
    )
    assert result["error_code"] == "EndpointUnreachable"
    assert "\n" not in result["msg"]
    assert "Traceback" not in str(result.get("exception", ""))  # ansible-core 2.19 says "(traceback unavailable)"


def test_aws_error_names_the_error_code(results):
    result = results["not_in_org"]
    assert result["failed"] is True
    assert "AWSOrganizationsNotInUseException" in result["msg"]
    assert result["error_code"] == "AWSOrganizationsNotInUseException"


def test_no_traceback_in_the_play(results):
    assert "Traceback" not in results["play_output"]


def test_no_credentials_fails_with_one_clear_line(results):
    run = results["adhoc_without_credentials"]
    output = run.stdout + run.stderr
    assert run.returncode != 0
    assert "cannot discover the AWS Organization: no AWS credentials found" in output
    assert "NoCredentials" in output
    assert "Traceback" not in output

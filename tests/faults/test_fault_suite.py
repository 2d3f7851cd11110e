"""The fault suite: the demo organization synced through faults the emulator injects, end to end.

Each scenario starts from a converged organization, changes the catalog (a new role for the
workloads and a shorter session for the sandboxes), and syncs it while the emulator throttles calls,
loses answers after the call took effect, drops connections for seconds, denies access to accounts,
or keeps stacks in progress or fails them. It then checks what a person would:

- **access lost**: every grant that existed before and is still wanted still exists after the faulty
  run (must be 0 lost), read through the IAM API of the central account;
- **converged**: after the faulty run (and, where the fault persists, one more run without it), the
  IAM state of every account, by name, equals that of a clean sync of the same catalog.

The figures of each scenario are written to out/fault-suite.json (and the closing note of the issue).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from emulator import control
from tests.emulated import make_workspace

REPO = Path(__file__).resolve().parents[2]
WORKLOAD_ROLE = "name: Auditor\nmanaged_policies: [SecurityAudit]\nmax_session_duration: 3600\ntargets: {ou_paths: [Workloads]}\n"
SANDBOX_ROLE = "name: SandboxAdmin\nmanaged_policies: [AdministratorAccess]\nmax_session_duration: 7200\ntargets: {ou_paths: [Sandbox]}\n"
FIGURES: list[dict[str, Any]] = []


def snapshot(ws) -> dict[str, Any]:
    """The IAM state orgiam owns, with account ids replaced by names: comparable across organizations."""
    names = {account_id: name for name, account_id in ws.accounts.items()}

    def named(text: str) -> str:
        for account_id, name in names.items():
            text = text.replace(account_id, f"<{name}>")
        return text

    state: dict[str, Any] = {}
    for name in sorted(ws.accounts):
        if name in ("Legacy App",):
            continue
        iam = ws.client("iam", name if name != "Management" else None)
        roles = {}
        for role in iam.list_roles(PathPrefix="/orgiam/")["Roles"]:
            attached = iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]
            roles[role["RoleName"]] = {"max_session": role["MaxSessionDuration"], "policies": sorted(p["PolicyArn"] for p in attached)}
        state[name] = roles
    state["grants"] = {group: sorted(named(a) for a in arns) for group, arns in grants(ws).items()}
    return state


def grants(ws) -> dict[str, list[str]]:
    iam = ws.client("iam", "Security")
    found: dict[str, list[str]] = {}
    for group in iam.list_groups(PathPrefix="/orgiam/")["Groups"]:
        arns: list[str] = []
        for attached in iam.list_attached_group_policies(GroupName=group["GroupName"])["AttachedPolicies"]:
            policy = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
            document = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=policy["DefaultVersionId"])
            document = document["PolicyVersion"]["Document"]
            document = json.loads(document) if isinstance(document, str) else document
            for statement in document["Statement"]:
                resource = statement["Resource"]
                arns.extend([resource] if isinstance(resource, str) else resource)
        found[group["GroupName"]] = sorted(arns)
    return found


def lost(before: dict[str, list[str]], after: dict[str, list[str]]) -> list[str]:
    """Grants present before and missing after (every grant of the old catalog is still wanted by the new)."""
    return sorted(f"{group}: {arn}" for group, arns in before.items() for arn in arns if arn not in after.get(group, []))


@pytest.fixture
def org(tmp_path, emulator, demo_org):
    ws = make_workspace(tmp_path / "ws", emulator.endpoint_url, demo_org)
    first = ws.playbook()
    assert first.returncode == 0, first.output
    yield ws
    control.clear_faults(emulator.endpoint_url)


@pytest.fixture(scope="module")
def clean_state(tmp_path_factory, emulator) -> dict[str, Any]:
    """The IAM state a clean sync of the changed catalog gives, on its own organization."""
    from emulator.organization import load_demo_spec, seed_organization

    control.reset(emulator.endpoint_url)
    accounts = dict(seed_organization(emulator.endpoint_url, load_demo_spec())["accounts"])
    ws = make_workspace(tmp_path_factory.mktemp("clean"), emulator.endpoint_url, accounts)
    ws.write_role("auditor.yml", WORKLOAD_ROLE)
    ws.write_role("sandbox-admin.yml", SANDBOX_ROLE)
    run = ws.playbook()
    assert run.returncode == 0, run.output
    return snapshot(ws)


def change_catalog(ws) -> None:
    ws.write_role("auditor.yml", WORKLOAD_ROLE)
    ws.write_role("sandbox-admin.yml", SANDBOX_ROLE)


def record(name: str, ws, counts: dict[str, int], runs: list[int], access_lost: list[str], converged: bool) -> None:
    FIGURES.append({"scenario": name, "accounts": len(ws.accounts), "faults_injected": {k: v for k, v in counts.items() if v},
                    "exit_codes": runs, "access_lost": len(access_lost), "converged": converged})
    out = REPO / "out"
    out.mkdir(exist_ok=True)
    (out / f"fault-suite-{os.getpid()}.json").write_text(json.dumps(FIGURES, indent=2))


def sync_under_faults(ws, **plan: Any) -> tuple[Any, dict[str, int], list[str]]:
    """Change the catalog and sync it while the emulator injects ``plan``: the run, the faults injected, and
    every grant of before that is gone after."""
    before = grants(ws)
    change_catalog(ws)
    control.set_faults(ws.endpoint, **plan)
    run = ws.playbook()
    counts = control.fault_counts(ws.endpoint)
    control.clear_faults(ws.endpoint)
    return run, counts, lost(before, grants(ws))


SCENARIOS = {
    # name: (fault plan, whether the faulty run itself must exit 0, whether a clean rerun is needed)
    "throttle 30% of every call": ({"seed": 7, "throttle": 0.3}, True, False),
    "lost answers to half the stack writes": (
        {"seed": 3, "lost_response": {"share": 0.5, "operations": ["CreateStack", "UpdateStack", "DeleteStack",
                                                                    "UpdateTerminationProtection"]}}, True, False),
    "connections dropped for 8 seconds": ({"outage": {"seconds": 8, "response": "drop", "hold_seconds": 0}}, True, False),
    "throttling with lost answers and dropped connections": (
        {"seed": 11, "throttle": 0.15, "lost_response": {"share": 0.2, "response": "drop"}}, True, False),
}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_transient_faults_converge_without_losing_access(name, clean_state, org):
    plan, must_pass, _ = SCENARIOS[name]
    ws = org
    run, counts, access_lost = sync_under_faults(ws, **plan)
    converged = snapshot(ws) == clean_state
    record(name, ws, counts, [run.returncode], access_lost, converged)
    assert sum(counts.values()) > 0, "no fault was injected"
    assert access_lost == []
    assert run.returncode == 0, run.output[-4000:]
    assert converged


def test_denied_accounts_fail_alone_keep_their_access_and_converge_once_reachable(clean_state, org):
    ws = org
    run, counts, access_lost = sync_under_faults(ws, deny_accounts=[ws.accounts["Sandbox-Bob"], ws.accounts["Payments Prod"]])
    assert run.returncode == 2
    assert sorted(f["account_name"] for f in ws.report()["failed_accounts"]) == ["Payments Prod", "Sandbox-Bob"]
    rerun = ws.playbook()
    converged = snapshot(ws) == clean_state
    record("AccessDenied in 2 accounts", ws, counts, [run.returncode, rerun.returncode], access_lost, converged)
    assert access_lost == []
    assert rerun.returncode == 0 and converged


def test_hung_and_failing_stacks(clean_state, org):
    ws = org
    run, counts, access_lost = sync_under_faults(
        ws, hang_stacks=[{"account_id": ws.accounts["Payments Dev"], "stack_name": "orgiam-roles", "describes": 3}],
        fail_stacks=[{"account_id": ws.accounts["Data Platform Prod"], "stack_name": "orgiam-roles",
                      "operations": ["update"], "limit": 1}])
    assert [f["account_name"] for f in ws.report()["failed_accounts"]] == ["Data Platform Prod"]
    assert run.returncode == 2
    rerun = ws.playbook()
    converged = snapshot(ws) == clean_state
    record("a stack hangs, another fails its update", ws, counts, [run.returncode, rerun.returncode], access_lost, converged)
    assert access_lost == []
    assert rerun.returncode == 0 and converged

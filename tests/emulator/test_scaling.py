"""The emulator's CPU per call does not grow with the number of accounts (``emulator/scaling.py``).

One organization is grown from SMALL to LARGE member accounts; at each size the calls a sync makes per
account (AssumeRole into OrganizationAccountAccessRole, then DescribeStacks, CreateStack, DescribeStacks,
GetTemplate in that account) and the inventory's Organizations reads are made for accounts not used
before, and the emulator's CPU for each (the serving thread's, so the client's costs are left out) is
compared. moto walked every account on several of them (about 7 ms a call at 3,000 accounts); the same
calls now cost the same at both sizes. A second test counts the accounts the Organizations reads look at.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import pytest

from emulator import call_log, middleware
from emulator.organization import ACCESS_ROLE_NAME
from emulator.server import EmulatorServer
from tests.emulator.conftest import REGION, management_client

SMALL = 200
LARGE = 4000
SAMPLE = 30  # accounts measured per round
ROUNDS = 2  # the least of the rounds' means is kept, against noise from other processes
MAX_GROWTH = 1.5  # any one operation
MAX_SYNC_GROWTH = 1.3  # the five calls of a sync to one account, together (moto: 1.4x from 200 to 4,000)
ACCOUNTS_PER_OU = 20  # 10,000 accounts in 200 OUs, the benchmark's largest organization, have 50

TEMPLATE = json.dumps({"Resources": {"Role": {"Type": "AWS::IAM::Role", "Properties": {
    "RoleName": "orgiam-readonly",
    "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]},
    "ManagedPolicyArns": ["arn:aws:iam::aws:policy/ReadOnlyAccess"]}}}})
SYNC_OPERATIONS = ("AssumeRole", "DescribeStacks", "CreateStack", "GetTemplate")
ORGANIZATIONS_OPERATIONS = ("ListAccountsForParent", "ListChildren", "DescribeAccount")


class ServerCpu:
    """The serving thread's CPU seconds per operation, for the requests made while ``measuring``."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = defaultdict(list)
        self.measuring = False
        self._local = threading.local()

    def install(self, monkeypatch: pytest.MonkeyPatch, server: EmulatorServer) -> None:
        served = middleware.OrgiamMiddleware.__call__
        append = call_log.CallLog.append
        local = self._local

        def record(log: call_log.CallLog, entry: call_log.CallRecord) -> None:
            local.operation = entry.operation
            append(log, entry)

        def timed(app: middleware.OrgiamMiddleware, environ: dict[str, Any], start_response: Any) -> Any:
            local.operation = None
            start = time.thread_time()
            answer = list(served(app, environ, start_response))
            if self.measuring and local.operation:
                self.seconds[local.operation].append(time.thread_time() - start)
            return answer

        monkeypatch.setattr(call_log.CallLog, "append", record)
        monkeypatch.setattr(middleware.OrgiamMiddleware, "__call__", timed)

    def take(self) -> dict[str, list[float]]:
        taken, self.seconds = self.seconds, defaultdict(list)
        return taken


class Organization:
    """An organization grown through moto's backend directly (creating accounts over HTTP would take most
    of the test's time), ACCOUNTS_PER_OU accounts to an OU, the OUs in chains five deep under the root, so
    that a parent holds as many accounts at both sizes and only the organization grows."""

    def __init__(self, endpoint: str) -> None:
        from moto.organizations.models import organizations_backends

        self.endpoint = endpoint
        self.org = management_client(endpoint, "organizations")
        self.management_id = self.org.create_organization(FeatureSet="ALL")["Organization"]["MasterAccountId"]
        self.root_id = self.org.list_roots()["Roots"][0]["Id"]
        self.backend = organizations_backends[self.management_id]["aws"]
        self.ou_ids: list[str] = []  # every OU, each holding ACCOUNTS_PER_OU accounts once the next is made
        self.account_ids: list[str] = []

    def _new_ou(self) -> str:
        index = len(self.ou_ids)
        parent = self.root_id if index % 5 == 0 else self.ou_ids[-1]
        ou = self.backend.create_organizational_unit(ParentId=parent, Name=f"OU {index:04d}")
        self.ou_ids.append(ou["OrganizationalUnit"]["Id"])
        return self.ou_ids[-1]

    def grow_to(self, size: int) -> None:
        while len(self.account_ids) < size:
            number = len(self.account_ids)
            ou_id = self._new_ou() if number % ACCOUNTS_PER_OU == 0 else self.ou_ids[-1]
            status = self.backend.create_account(AccountName=f"Account {number:05d}",
                                                 Email=f"account-{number}@scaling.orgiam.example")
            account_id = status["CreateAccountStatus"]["AccountId"]
            self.backend.move_account(AccountId=account_id, SourceParentId=self.root_id, DestinationParentId=ou_id)
            self.account_ids.append(account_id)

    def full_ous(self) -> list[str]:
        """OUs holding ACCOUNTS_PER_OU accounts."""
        return self.ou_ids[: len(self.account_ids) // ACCOUNTS_PER_OU]


def _sync_calls(endpoint: str, account_ids: list[str]) -> None:
    """What a first sync asks of each account, with one client per service as orgiam keeps them."""
    from botocore.exceptions import ClientError

    from emulator.aws import botocore_session

    sts = management_client(endpoint, "sts")
    session = botocore_session()
    session.set_credentials("unset", "unset")
    credentials = session.get_credentials()
    cloudformation = session.create_client("cloudformation", region_name=REGION, endpoint_url=endpoint)
    for account_id in account_ids:
        issued = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{ACCESS_ROLE_NAME}",
                                 RoleSessionName="scaling")["Credentials"]
        credentials.access_key = issued["AccessKeyId"]
        credentials.secret_key = issued["SecretAccessKey"]
        credentials.token = issued["SessionToken"]
        with pytest.raises(ClientError):
            cloudformation.describe_stacks(StackName="orgiam-roles")
        cloudformation.create_stack(StackName="orgiam-roles", TemplateBody=TEMPLATE,
                                    Capabilities=["CAPABILITY_NAMED_IAM"])
        assert cloudformation.describe_stacks(StackName="orgiam-roles")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
        cloudformation.get_template(StackName="orgiam-roles")


def _organizations_calls(organization: Organization, account_ids: list[str]) -> None:
    org = organization.org
    for parent in organization.full_ous()[-5:]:
        org.list_accounts_for_parent(ParentId=parent)
        org.list_children(ParentId=parent, ChildType="ACCOUNT")
    for account_id in account_ids[:20]:
        org.describe_account(AccountId=account_id)


@pytest.fixture
def organization(endpoint: str) -> Iterator[Organization]:
    yield Organization(endpoint)


def _per_call(cpu: ServerCpu, rounds: list[dict[str, list[float]]]) -> dict[str, float]:
    """The least, over the rounds, of each operation's mean CPU seconds per call."""
    operations = set().union(*rounds)
    return {op: min(sum(r[op]) / len(r[op]) for r in rounds if r.get(op)) for op in operations}


def _machine_speed() -> float:
    """CPU seconds of a fixed piece of Python work now (the least of a few tries): other processes on the
    same cores (a shared core, a busy cache) slow every call, whatever the number of accounts."""
    document = {"Accounts": [{"Id": f"{n:012d}", "Name": f"Account {n}", "Status": "ACTIVE"} for n in range(50)]}
    tries = []
    for _ in range(5):
        start = time.thread_time()
        for _ in range(20):
            json.loads(json.dumps(document))
            sorted(str(n) for n in range(500))
        tries.append(time.thread_time() - start)
    return min(tries)


def _measure(cpu: ServerCpu, organization: Organization, fresh: Iterator[str]) -> dict[str, float]:
    """Each operation's CPU per call, in units of ``_machine_speed`` measured alongside."""
    speed = min(_machine_speed(), _machine_speed())
    per_call = _measure_seconds(cpu, organization, fresh)
    speed = min(speed, _machine_speed())
    return {op: seconds / speed for op, seconds in per_call.items()}


def _measure_seconds(cpu: ServerCpu, organization: Organization, fresh: Iterator[str]) -> dict[str, float]:
    rounds = []
    for _ in range(ROUNDS):
        accounts = [next(fresh) for _ in range(SAMPLE)]
        cpu.measuring = True
        _sync_calls(organization.endpoint, accounts)
        _organizations_calls(organization, accounts)
        cpu.measuring = False
        rounds.append(cpu.take())
    return _per_call(cpu, rounds)


def test_per_call_cpu_does_not_grow_with_accounts(emulator: EmulatorServer, organization: Organization,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    cpu = ServerCpu()
    cpu.install(monkeypatch, emulator)
    organization.grow_to(SMALL)
    fresh = iter(organization.account_ids)
    _measure(cpu, organization, fresh)  # warm-up: what the first calls build (clients, policies, caches)
    small = _measure(cpu, organization, fresh)
    organization.grow_to(LARGE)
    large = _measure(cpu, organization, iter(organization.account_ids[SMALL:]))

    report = {op: f"{small[op]:.2f} -> {large[op]:.2f} units ({large[op] / small[op]:.2f}x)"
              for op in (*SYNC_OPERATIONS, *ORGANIZATIONS_OPERATIONS)}
    print(f"\nemulator CPU per call, {SMALL} -> {LARGE} accounts: {report}")
    grown = {op: line for op, line in report.items() if large[op] > MAX_GROWTH * small[op]}
    assert not grown, f"CPU per call grew from {SMALL} to {LARGE} accounts: {grown} (all: {report})"
    per_account = [sum(size[op] for op in SYNC_OPERATIONS) + size["DescribeStacks"] for size in (small, large)]
    assert per_account[1] <= MAX_SYNC_GROWTH * per_account[0], f"a sync's CPU per account grew: {report}"


def test_organizations_reads_look_at_the_parents_accounts_only(organization: Organization,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """ListAccountsForParent, ListChildren, DescribeAccount and MoveAccount read the parent of no more
    accounts at 1,200 accounts than at 200 (moto read every account's, on every page)."""
    from moto.organizations.models import FakeAccount

    reads = [0]
    attribute = FakeAccount.__getattribute__

    def counted(account: FakeAccount, name: str) -> Any:
        if name == "parent_id":
            reads[0] += 1
        return attribute(account, name)

    monkeypatch.setattr(FakeAccount, "__getattribute__", counted)

    def reads_of_calls() -> int:
        reads[0] = 0
        parent = organization.full_ous()[-1]
        for page in organization.org.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
            assert page["Accounts"]
        organization.org.list_children(ParentId=parent, ChildType="ACCOUNT")
        organization.org.describe_account(AccountId=organization.account_ids[-1])
        account_id = organization.account_ids[(len(organization.full_ous()) - 1) * ACCOUNTS_PER_OU]  # one of parent's
        organization.backend.move_account(AccountId=account_id, SourceParentId=parent,
                                          DestinationParentId=parent)
        return reads[0]

    organization.grow_to(SMALL)
    at_small = reads_of_calls()
    organization.grow_to(LARGE)
    at_large = reads_of_calls()
    # moto read the parent of every account of the organization on every page: 400 reads at 200 accounts
    assert at_large <= MAX_GROWTH * at_small + 10, (at_small, at_large)

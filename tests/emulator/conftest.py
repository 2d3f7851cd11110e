"""Fixtures for the emulator's own tests: one in-process emulator per session on a free port.

moto keeps its state in module globals, so every test starts from a reset (``endpoint``, ``member``), or,
in a module whose tests take ``new_member``, from an account of its own in an organization seeded once.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from emulator import control
from emulator.aws import boto3_session
from emulator.organization import ACCESS_ROLE_NAME, seed_organization
from emulator.server import EmulatorServer

REGION = "us-east-1"
DUMMY = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

SMALL_SPEC: dict[str, Any] = {
    "management_account": {"name": "Management"},
    "organizational_units": [
        {"name": "Workloads", "accounts": [{"name": "Member", "email": "member@test.orgiam.example"}]},
    ],
}


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer(port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def endpoint(emulator: EmulatorServer) -> str:
    """The emulator's URL, with all AWS state and the call log reset."""
    control.reset(emulator.endpoint_url)
    return emulator.endpoint_url


def management_client(endpoint: str, service: str) -> BaseClient:
    return boto3_session(region_name=REGION, **DUMMY).client(service, endpoint_url=endpoint)


@dataclass
class AccountSession:
    account_id: str
    session: boto3.session.Session
    endpoint: str
    _clients: dict[str, BaseClient] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> BaseClient:
        """One client per service (making a client costs about as much as an API call)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service, endpoint_url=self.endpoint)
        return self._clients[service]

    @property
    def iam(self) -> BaseClient:
        return self.client("iam")

    @property
    def cloudformation(self) -> BaseClient:
        return self.client("cloudformation")


def assume_access_role(endpoint: str, account_id: str) -> AccountSession:
    """A session in ``account_id`` through its OrganizationAccountAccessRole, as orgiam reaches accounts."""
    credentials = management_client(endpoint, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ACCESS_ROLE_NAME}", RoleSessionName="emulator-tests"
    )["Credentials"]
    session = boto3_session(credentials["AccessKeyId"], credentials["SecretAccessKey"],
                            credentials["SessionToken"], REGION)
    return AccountSession(account_id, session, endpoint)


@pytest.fixture
def member(endpoint: str) -> AccountSession:
    """A member account of a freshly seeded one-account organization."""
    seeded = seed_organization(endpoint, SMALL_SPEC)
    return assume_access_role(endpoint, seeded["accounts"]["Member"])


@pytest.fixture(scope="module")
def module_organization(emulator: EmulatorServer) -> dict[str, Any]:
    """One organization for the tests of a module that take ``new_member``: reset and seeded once."""
    control.reset(emulator.endpoint_url)
    return seed_organization(emulator.endpoint_url, SMALL_SPEC)


_account_numbers = itertools.count(1)


@pytest.fixture
def new_member(emulator: EmulatorServer, module_organization: dict[str, Any]) -> AccountSession:
    """A new member account (with its OrganizationAccountAccessRole) in the module's organization.

    Much cheaper than ``member`` (no reset, no seed), for tests that keep to their own account and give
    anything with a global name (an S3 bucket) a name of their own. A module that takes it must not reset
    the emulator (no ``endpoint`` or ``member`` fixture).
    """
    number = next(_account_numbers)
    status = management_client(emulator.endpoint_url, "organizations").create_account(
        AccountName=f"Member {number}", Email=f"member-{number}@test.orgiam.example")["CreateAccountStatus"]
    return assume_access_role(emulator.endpoint_url, status["AccountId"])


class Stack:
    """One CloudFormation stack in an account, created, updated and deleted synchronously (moto is)."""

    def __init__(self, account: AccountSession, name: str) -> None:
        self.cloudformation = account.cloudformation
        self.name = name

    def create(self, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> None:
        self.cloudformation.create_stack(StackName=self.name, TemplateBody=_template(resources, outputs),
                                         Capabilities=["CAPABILITY_NAMED_IAM"])
        assert self.status() == "CREATE_COMPLETE"

    def update(self, resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> None:
        self.cloudformation.update_stack(StackName=self.name, TemplateBody=_template(resources, outputs),
                                         Capabilities=["CAPABILITY_NAMED_IAM"])
        assert self.status() == "UPDATE_COMPLETE"

    def delete(self) -> None:
        self.cloudformation.delete_stack(StackName=self.name)

    def status(self) -> str:
        return str(self.cloudformation.describe_stacks(StackName=self.name)["Stacks"][0]["StackStatus"])

    def outputs(self) -> dict[str, str]:
        stack = self.cloudformation.describe_stacks(StackName=self.name)["Stacks"][0]
        return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}

    def physical_ids(self) -> dict[str, str]:
        resources = self.cloudformation.describe_stack_resources(StackName=self.name)["StackResources"]
        return {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources}


def template(resources: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    """A template body (JSON) with these resources and outputs."""
    return _template(resources, outputs)


def described(cloudformation: BaseClient, stack_name: str) -> dict[str, Any]:
    """DescribeStacks of one stack."""
    stacks: list[dict[str, Any]] = cloudformation.describe_stacks(StackName=stack_name)["Stacks"]
    return stacks[0]


def error_of(raised: pytest.ExceptionInfo[ClientError]) -> tuple[str, str]:
    """(code, message) of a ClientError."""
    error = raised.value.response["Error"]
    return str(error["Code"]), str(error["Message"])


def _template(resources: dict[str, Any], outputs: dict[str, Any] | None) -> str:
    template: dict[str, Any] = {"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources}
    if outputs:
        template["Outputs"] = outputs
    return json.dumps(template)


def policy(*actions: str, resource: str = "*") -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}]}


def trust(principal_arn: str) -> dict[str, Any]:
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": {"AWS": principal_arn}, "Action": "sts:AssumeRole"}]}

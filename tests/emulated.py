"""Helpers for tests that run orgiam's real commands against the emulator.

A test gets a ``Workspace``: a copy of the catalog and an inventory pointing at
it, in a temporary directory, plus functions to run ansible-playbook and
ansible-inventory there and to read IAM and the emulator's call log.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MEMBER_ROLE = "OrganizationAccountAccessRole"


def aws_env(endpoint: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env.update(
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1",
        AWS_EC2_METADATA_DISABLED="true",
        ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    if endpoint:
        env["AWS_ENDPOINT_URL"] = endpoint
    return env


def calls(endpoint: str) -> list[dict[str, str]]:
    with urllib.request.urlopen(f"{endpoint}/_orgiam/calls") as response:
        return json.load(response)


def clear_calls(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/_orgiam/calls", method="DELETE")).read()


def write_calls(recorded: list[dict[str, str]]) -> list[str]:
    readers = ("Describe", "List", "Get", "AssumeRole", "Validate")
    return [f"{c['service']}:{c['operation']}" for c in recorded if not c["operation"].startswith(readers)]


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@dataclass
class Workspace:
    root: Path
    endpoint: str
    accounts: dict[str, str]  # name -> id

    @property
    def catalog(self) -> Path:
        return self.root / "catalog"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory"

    @property
    def out(self) -> Path:
        return self.root / "out"

    def run(self, *args: str, env: dict[str, str] | None = None, timeout: int = 300) -> Run:
        proc = subprocess.run(
            list(args), cwd=REPO, env=env or aws_env(self.endpoint), capture_output=True, text=True, timeout=timeout
        )
        return Run(proc.returncode, proc.stdout, proc.stderr)

    def playbook(self, *extra: str, env: dict[str, str] | None = None) -> Run:
        return self.run(
            str(BIN / "ansible-playbook"), "-i", str(self.inventory), str(REPO / "playbooks" / "sync.yml"),
            "-e", f"orgiam_report_dir={self.out}", *extra, env=env,
        )

    def report(self) -> dict[str, Any]:
        return json.loads((self.out / "report.json").read_text())

    def write_role(self, filename: str, text: str) -> None:
        (self.catalog / "roles" / filename).write_text(text)

    def session(self, account_name: str | None = None) -> boto3.Session:
        base = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        if account_name is None:
            return base
        account_id = self.accounts[account_name]
        creds = base.client("sts", endpoint_url=self.endpoint).assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/{MEMBER_ROLE}", RoleSessionName="orgiam-test"
        )["Credentials"]
        return boto3.Session(
            aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"], region_name="us-east-1",
        )

    def client(self, service: str, account_name: str | None = None) -> Any:
        return self.session(account_name).client(service, endpoint_url=self.endpoint)


def make_workspace(root: Path, endpoint: str, accounts: dict[str, str], inventory_extra: str = "",
                   policies: bool = False) -> Workspace:
    """The demo catalog and an inventory of it. The catalog's organization policies (policies/) only with
    ``policies``: the tests of people's and machines' roles count stacks and changes without them
    (tests/integration/test_org_policies.py is about them)."""
    shutil.copytree(REPO / "roles_catalog", root / "catalog",
                    ignore=None if policies else lambda folder, names: ["policies"] if folder.endswith("roles_catalog") else [])
    (root / "inventory").mkdir()
    (root / "inventory" / "organization.orgiam.yml").write_text(
        "plugin: orgiam.aws.organization\ncatalog: ../catalog\n" + inventory_extra
    )
    return Workspace(root, endpoint, accounts)

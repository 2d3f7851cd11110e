"""Fixtures for the integration tests: an in-process moto server with a seeded organization,
and helpers that run the real Ansible command-line tools against it.

The organization (``seeded_org``) is built for the edge cases of discovery:

    root: master (management), "Root Tools"
    Security: "Log Archive", "Security-Tooling"
    Workloads
      Prod: "Prod - Payments", "Web Prod"
        Payments: "payments-ledger"
      SDLC: sdlc-dev-01 .. sdlc-dev-23           (more than one page of accounts)
    Sandbox: "prod payments" (clashes with "Prod - Payments"), "Old Sandbox" (closed: SUSPENDED)
    Teams: Team 01 .. Team 22                    (more than one page of OUs)
      Team 01: team01-app;  Team 22: team22-app  (Team 22 is on the second page)
    Empty                                         (no accounts)
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest

REPO = Path(__file__).resolve().parents[2]
COLLECTIONS = REPO / "collections"
BIN = Path(sys.executable).parent

SDLC_ACCOUNTS = 23
TEAM_OUS = 22


@dataclass
class SeededOrg:
    endpoint: str
    management_account_id: str
    organization_id: str
    root_id: str
    ou_ids: dict[str, str] = field(default_factory=dict)  # path -> id
    account_ids: dict[str, str] = field(default_factory=dict)  # name -> id
    account_paths: dict[str, str] = field(default_factory=dict)  # name -> OU path ("" for the root)

    @property
    def ou_count(self) -> int:
        return len(self.ou_ids)

    @property
    def account_count(self) -> int:
        return len(self.account_ids)


@pytest.fixture(scope="session")
def moto_endpoint():
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _client(endpoint: str, service: str = "organizations") -> Any:
    return boto3.client(
        service,
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


@pytest.fixture(scope="module")
def seeded_org(moto_endpoint) -> SeededOrg:
    """Seeded afresh for each test module: moto's state is global to the process, and other
    tests in it (the emulator's) may reset or reseed it in between."""
    urllib.request.urlopen(urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")).read()
    org = _client(moto_endpoint)
    description = org.create_organization(FeatureSet="ALL")["Organization"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    seeded = SeededOrg(moto_endpoint, description["MasterAccountId"], description["Id"], root_id)
    seeded.account_ids["master"] = description["MasterAccountId"]
    seeded.account_paths["master"] = ""

    def ou(path: str) -> str:
        parent_path, _, name = path.rpartition("/")
        parent = seeded.ou_ids[parent_path] if parent_path else root_id
        seeded.ou_ids[path] = org.create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"]
        return seeded.ou_ids[path]

    def account(name: str, path: str, **tags: str) -> str:
        email = name.lower().replace(" ", "").replace("-", "") + "@example.com"
        status = org.create_account(AccountName=name, Email=email)["CreateAccountStatus"]
        account_id = status["AccountId"]
        seeded.account_ids[name] = account_id
        seeded.account_paths[name] = path
        if path:
            org.move_account(AccountId=account_id, SourceParentId=root_id, DestinationParentId=seeded.ou_ids[path])
        if tags:
            org.tag_resource(ResourceId=account_id, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
        return account_id

    for path in ("Security", "Workloads", "Workloads/Prod", "Workloads/Prod/Payments", "Workloads/SDLC",
                 "Sandbox", "Teams", "Empty"):
        ou(path)
    for number in range(1, TEAM_OUS + 1):
        ou(f"Teams/Team {number:02d}")
    org.tag_resource(ResourceId=seeded.ou_ids["Security"], Tags=[{"Key": "Owner", "Value": "security"}])

    account("Root Tools", "", Owner="platform")
    account("Log Archive", "Security", Environment="prod", Owner="security")
    account("Security-Tooling", "Security", Owner="security")
    account("Prod - Payments", "Workloads/Prod", Environment="prod", Owner="payments")
    account("Web Prod", "Workloads/Prod", Environment="prod", Owner="web")
    account("payments-ledger", "Workloads/Prod/Payments", Environment="prod", Owner="payments")
    for number in range(1, SDLC_ACCOUNTS + 1):
        account(f"sdlc-dev-{number:02d}", "Workloads/SDLC", Environment="dev")
    account("prod payments", "Sandbox", Environment="sandbox")
    closed = account("Old Sandbox", "Sandbox", Environment="sandbox")
    org.close_account(AccountId=closed)
    account("team01-app", "Teams/Team 01", Environment="dev", Owner="team01")
    account("team22-app", "Teams/Team 22", Environment="dev", Owner="team22")
    return seeded


@pytest.fixture(scope="session")
def empty_aws_config(tmp_path_factory) -> Path:
    """Empty shared credentials/config files, so the developer's ~/.aws never leaks in."""
    folder = tmp_path_factory.mktemp("aws-config")
    (folder / "credentials").write_text("")
    (folder / "config").write_text("")
    (folder / "ansible.cfg").write_text("[defaults]\n")
    return folder


@pytest.fixture(scope="session")
def base_env(empty_aws_config) -> dict[str, str]:
    """Environment for the Ansible subprocesses, without credentials or endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env.update(
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ANSIBLE_CONFIG=str(empty_aws_config / "ansible.cfg"),
        ANSIBLE_COLLECTIONS_PATH=str(COLLECTIONS),
        ANSIBLE_INVENTORY_ENABLED="orgiam.aws.organization",
        ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
        ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true",
        ANSIBLE_HOST_KEY_CHECKING="false",
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_FORCE_COLOR="0",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        AWS_SHARED_CREDENTIALS_FILE=str(empty_aws_config / "credentials"),
        AWS_CONFIG_FILE=str(empty_aws_config / "config"),
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env


@pytest.fixture(scope="module")
def aws_env(base_env, seeded_org) -> dict[str, str]:
    """Environment for the Ansible subprocesses that reach the seeded organization."""
    return dict(
        base_env,
        AWS_ENDPOINT_URL=seeded_org.endpoint,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )


@pytest.fixture(scope="session")
def ansible_run():
    """run(["ansible-inventory", ...], env, cwd=None) -> CompletedProcess; runs the venv's tools."""
    return run


@pytest.fixture(scope="session")
def inventory_dir():
    """inventory_dir(folder, config) writes folder/organization.orgiam.yml and returns folder."""
    return write_inventory


@pytest.fixture(scope="session")
def dead_endpoint() -> str:
    """An http endpoint where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


def free_port() -> int:
    """A local port where nothing listens (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run(args: list[str], env: dict[str, str], cwd: Path | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        env=env,
        cwd=str(cwd) if cwd else None,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def write_inventory(folder: Path, config: dict[str, Any], name: str = "organization.orgiam.yml") -> Path:
    """An inventory directory holding one plugin config (JSON is valid YAML)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"plugin": "orgiam.aws.organization", **config}, indent=2))
    return folder

"""The built collection works alone, as people install it.

``ansible-galaxy collection build`` makes the tarball from the repository's collection directory,
``ansible-galaxy collection install --offline --no-deps`` puts it into an empty collections path, and
every check below runs with ANSIBLE_COLLECTIONS_PATH naming only that path and the site-packages of
this virtualenv (for amazon.aws, as the ansible package bundles it), with sys.path scanning off and a
temporary ansible.cfg: the repository's ``collections/`` is never on the search path. The playbooks
and the catalog are the repository's (playbooks/sync.yml, playbooks/bootstrap.yml, a copy of
roles_catalog/ made by the ``workspace`` fixture), run against the emulated demo organization.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import ansible
import pytest

from tests.emulated import BIN, REPO, Run, aws_env

SOURCE = REPO / "collections" / "ansible_collections" / "orgiam" / "aws"
SITE_PACKAGES = Path(ansible.__file__).resolve().parents[1]  # holds the ansible package's bundled collections
TEMPLATES = ("files/cicd/bootstrap/deployer-role.yml", "files/cicd/bootstrap/organization-reader.yml",
             "files/cicd/pipeline.yml", "files/cicd/management-events.yml")
# cicd/ in the repository links into the collection's files/cicd: the tarball must hold the same text
REPO_LINKS = {"files/cicd/bootstrap/deployer-role.yml": "cicd/bootstrap/deployer-role.yml",
              "files/cicd/bootstrap/organization-reader.yml": "cicd/bootstrap/organization-reader.yml",
              "files/cicd/pipeline.yml": "cicd/pipeline.yml",
              "files/cicd/management-events.yml": "cicd/management-events.yml"}


@dataclass
class Installed:
    tarball: Path
    path: Path  # the collections path it was installed into (holds ansible_collections/)
    config: Path  # an ansible.cfg without the repository's collections_path

    @property
    def collection(self) -> Path:
        return self.path / "ansible_collections" / "orgiam" / "aws"

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` with Ansible looking only at the installed collection and the bundled ones."""
        return dict(
            base,
            ANSIBLE_CONFIG=str(self.config),
            ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([str(self.path), str(SITE_PACKAGES)]),
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        )


def galaxy(*args: str, env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "ansible-galaxy"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc


def isolated_config(folder: Path) -> Path:
    """The repository's ansible.cfg (inventory plugins, output format) minus its collections_path and inventory."""
    lines = [line for line in (REPO / "ansible.cfg").read_text().splitlines()
             if not re.match(r"\s*(collections_paths?|inventory)\s*=", line)]
    config = folder / "ansible.cfg"
    config.write_text("\n".join(lines) + "\n")
    return config


def build(source: Path, output: Path, env: dict[str, str]) -> Path:
    galaxy("collection", "build", str(source), "--output-path", str(output), env=env, cwd=output.parent)
    (tarball,) = output.glob("orgiam-aws-*.tar.gz")
    return tarball


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("package")
    config = isolated_config(root)
    path = root / "collections"
    env = Installed(Path(), path, config).env(aws_env(None))
    env["ANSIBLE_COLLECTIONS_PATH"] = str(path)  # installing: only the empty path, nothing is already there
    tarball = build(SOURCE, root / "dist", env)
    assert not path.exists()
    galaxy("collection", "install", "--offline", "--no-deps", "-p", str(path), str(tarball), env=env, cwd=root)
    done = Installed(tarball, path, config)
    assert (done.collection / "MANIFEST.json").is_file()
    return done


def members(tarball: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(tarball) as archive:
        return {member.name: member for member in archive.getmembers()}


def test_the_tarball_holds_the_templates_as_real_files_and_no_leftovers(installed):
    found = members(installed.tarball)
    for name in TEMPLATES:
        assert name in found, f"{name} is not in {installed.tarball.name}"
        assert found[name].isfile() and found[name].size > 0, f"{name} is a link or empty in the tarball"
        shipped = (installed.collection / name).read_bytes()
        assert not (installed.collection / name).is_symlink()
        assert shipped == (REPO / REPO_LINKS[name]).read_bytes(), f"{REPO_LINKS[name]} and the tarball's {name} differ"
    assert not [n for n, m in found.items() if m.issym() or m.islnk()]
    assert not [n for n in found if "__pycache__" in n or n.endswith((".pyc", ".pyo")) or "_cache" in n.split("/")[0]]
    assert "plugins/module_utils/catalog/aws_managed_policies.json" in found
    manifest = json.loads((installed.collection / "MANIFEST.json").read_text())["collection_info"]
    assert set(manifest["dependencies"]) == {"amazon.aws"}


def test_build_ignore_keeps_caches_and_test_leftovers_out(tmp_path, installed):
    source = tmp_path / "src" / "orgiam" / "aws"
    shutil.copytree(SOURCE, source, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    leftovers = [".pytest_cache/v/cache/nodeids", ".ruff_cache/0.1/x", ".mypy_cache/3.11/x.json", "plugins/.pytest_cache/README.md",
                 "plugins/module_utils/__pycache__/model.cpython-311.pyc", "out/report.json", "tests/output/junit.xml",
                 "orgiam-aws-0.0.1.tar.gz", ".coverage", "plugins/modules/sync.py.orig", "plugins/modules/sync.py~"]
    for name in leftovers:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("leftover")
    env = installed.env(aws_env(None))
    found = members(build(source, tmp_path / "dist", env))
    assert [name for name in leftovers if name in found] == []
    assert "plugins/modules/sync.py" in found and "files/cicd/pipeline.yml" in found


def test_the_declared_amazon_aws_range_is_met_by_the_bundled_one(tmp_path, installed):
    """An offline install that resolves dependencies finds amazon.aws in the ansible package and installs nothing else."""
    path = tmp_path / "with-deps"
    env = dict(installed.env(aws_env(None)), ANSIBLE_COLLECTIONS_PATH=os.pathsep.join([str(path), str(SITE_PACKAGES)]))
    proc = galaxy("collection", "install", "--offline", "-p", str(path), str(installed.tarball), env=env, cwd=tmp_path)
    assert re.search(r"'amazon\.aws:10\.\d+\.\d+' is already installed", proc.stdout), proc.stdout
    assert sorted(p.name for p in (path / "ansible_collections").iterdir()) == ["orgiam"]


def test_ansible_doc_reads_the_installed_plugins(installed):
    env = installed.env(aws_env(None))
    listing = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "list", "orgiam.aws"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert listing.stdout.count("orgiam.aws") == 1 and str(installed.path) in listing.stdout, listing.stdout
    for kind, name, path in (("module", "orgiam.aws.sync", "plugins/modules/sync.yml"),
                             ("module", "orgiam.aws.bootstrap", "plugins/modules/bootstrap.yml"),
                             ("inventory", "orgiam.aws.organization", "plugins/inventory/organization.py")):
        proc = subprocess.run([str(BIN / "ansible-doc"), "-t", kind, name], env=dict(env, ANSIBLE_NOCOLOR="1"),
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert str(installed.collection / path) in proc.stdout, proc.stdout[:400]
        assert "[WARNING]" not in proc.stderr and "[ERROR]" not in proc.stderr, proc.stderr


def host_name(account: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", account.lower()).strip("_")


def loaded_from(run: Run) -> list[str]:
    """Where Ansible loaded orgiam.aws from (ansible prints it at -vvvv)."""
    return re.findall(r"Loading collection orgiam\.aws from (\S+)", run.output)


def active_accounts(workspace) -> list[str]:
    """The names of the demo organization's ACTIVE accounts, as Organizations lists them."""
    pages = workspace.client("organizations").get_paginator("list_accounts").paginate()
    return [a["Name"] for page in pages for a in page["Accounts"] if a["Status"] == "ACTIVE"]


def test_the_inventory_graph_lists_the_demo_accounts(installed, workspace):
    run = workspace.run(str(BIN / "ansible-inventory"), "-i", str(workspace.inventory), "--graph", "-vvvv",
                        env=installed.env(aws_env(workspace.endpoint)))
    assert run.returncode == 0, run.output[-3000:]
    assert loaded_from(run) and {Path(p) for p in loaded_from(run)} == {installed.collection}
    graph = run.stdout
    active = active_accounts(workspace)
    assert len(active) >= 10 and set(active) < set(workspace.accounts)  # the demo's suspended account is left out
    for account in active:
        assert f"--{host_name(account)}\n" in graph, f"{account} is not in the graph:\n{graph}"
    assert "@ou_workloads_prod:" in graph


def test_sync_check_runs_from_the_installed_collection(installed, workspace):
    run = workspace.playbook("--check", "-vvvv", env=installed.env(aws_env(workspace.endpoint)))
    assert run.returncode == 0, run.output[-4000:]
    assert {Path(p) for p in loaded_from(run)} == {installed.collection}
    report = workspace.report()
    assert report["mode"] == "check" and report["ok"] and report["changes_planned"] > 0
    assert report["accounts_seen"] == len(active_accounts(workspace))
    assert (workspace.out / "plan.json").is_file()


def test_bootstrap_check_finds_its_templates_inside_the_installed_collection(installed, workspace):
    env = dict(installed.env(aws_env(workspace.endpoint)), ANSIBLE_INVENTORY_ENABLED="ansible.builtin.host_list")
    run = workspace.run(
        str(BIN / "ansible-playbook"), "-i", "localhost,", str(REPO / "playbooks" / "bootstrap.yml"), "--check", "-vvvv",
        "-e", f"orgiam_catalog_path={workspace.catalog}", "-e", f"orgiam_report_dir={workspace.out}", env=env,
    )
    assert run.returncode == 0, run.output[-4000:]
    assert {Path(p) for p in loaded_from(run)} == {installed.collection}
    steps = json.loads((workspace.out / "bootstrap.json").read_text())["steps"]
    templates = {step["template"] for step in steps if step["template"]}
    assert templates, steps
    assert all(Path(t).is_relative_to(installed.collection / "files" / "cicd") for t in templates), templates
    assert {Path(t).name for t in templates} >= {"deployer-role.yml", "pipeline.yml"}


MODULE_DEFAULTS = """
- name: The orgiam action group takes module_defaults
  hosts: localhost
  connection: local
  gather_facts: false
  module_defaults:
    group/orgiam.aws.orgiam:
      endpoint_url: "{{ endpoint }}"
  tasks:
    - name: A module of the group
      orgiam.aws.org_accounts_info:
      register: accounts
    - name: An action of the group
      orgiam.aws.bootstrap:
        catalog: "{{ catalog }}"
        report_dir: "{{ out }}"
        parts: [deployer]
      check_mode: true
    - name: Both used the group's endpoint
      ansible.builtin.assert:
        that: accounts.accounts | length > 5
"""


def test_module_defaults_reach_the_group_orgiam(installed, workspace, dead_endpoint):
    """AWS_ENDPOINT_URL names a port where nothing listens: only the group's endpoint_url reaches the emulator."""
    playbook = workspace.root / "defaults.yml"
    playbook.write_text(MODULE_DEFAULTS)
    env = dict(installed.env(aws_env(dead_endpoint)), ANSIBLE_INVENTORY_ENABLED="ansible.builtin.host_list")
    run = workspace.run(
        str(BIN / "ansible-playbook"), "-i", "localhost,", str(playbook), "-e", f"endpoint={workspace.endpoint}",
        "-e", f"catalog={workspace.catalog}", "-e", f"out={workspace.out}", env=env,
    )
    assert run.returncode == 0, run.output[-4000:]
    assert "ok=3" in run.stdout

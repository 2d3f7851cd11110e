"""The built collection installs like any other, with its dependency, and works from there alone.

``ansible-galaxy collection build`` makes orgiam's tarball from the repository's collection directory;
amazon.aws, which Galaxy would serve, is not reachable here, so its artifact is made from the copy
installed in this virtualenv's site-packages (an installed collection holds the MANIFEST.json and
FILES.json an artifact has; FILES.json is cut down to the files that copy still has). Both go into an
empty collections path with one ``ansible-galaxy collection install --offline`` that resolves
orgiam.aws's dependency on amazon.aws from the artifacts given.

Every check after that runs with ANSIBLE_COLLECTIONS_PATH naming only that path, sys.path scanning
off, a temporary ansible.cfg and, for the playbooks, a working directory outside the repository: the
repository's ``collections/`` and the site-packages copy of amazon.aws are never on the search path.
The playbooks are the collection's (``ansible-playbook orgiam.aws.sync``, ``orgiam.aws.bootstrap``),
run against the emulated demo organization with a copy of roles_catalog/ (the ``workspace`` fixture).
"""

from __future__ import annotations

import hashlib
import io
import json
import re
import shutil
import subprocess
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

import ansible
import pytest
import yaml

from tests.emulated import BIN, REPO, Run, aws_env
from tests.integration import test_sync as sync_checks

SOURCE = REPO / "collections" / "ansible_collections" / "orgiam" / "aws"
SITE_PACKAGES = Path(ansible.__file__).resolve().parents[1]
AMAZON_AWS = SITE_PACKAGES / "ansible_collections" / "amazon" / "aws"  # where the dependency is installed
TEMPLATES = ("files/cicd/bootstrap/deployer-role.yml", "files/cicd/bootstrap/organization-reader.yml",
             "files/cicd/pipeline.yml", "files/cicd/management-events.yml")
# cicd/ in the repository links into the collection's files/cicd: the tarball must hold the same text
REPO_LINKS = {"files/cicd/bootstrap/deployer-role.yml": "cicd/bootstrap/deployer-role.yml",
              "files/cicd/bootstrap/organization-reader.yml": "cicd/bootstrap/organization-reader.yml",
              "files/cicd/pipeline.yml": "cicd/pipeline.yml",
              "files/cicd/management-events.yml": "cicd/management-events.yml"}
# plugin folders whose files are not plugins ansible-doc documents (action plugins are documented by
# the module of the same name)
NOT_DOCUMENTED = {"action", "doc_fragments", "module_utils", "plugin_utils"}


@dataclass
class Installed:
    tarball: Path
    dependency: Path  # the amazon.aws artifact made from site-packages
    path: Path  # the collections path both were installed into (holds ansible_collections/)
    config: Path  # an ansible.cfg without the repository's collections_path
    output: str = ""  # what ansible-galaxy collection install said

    @property
    def collection(self) -> Path:
        return self.path / "ansible_collections" / "orgiam" / "aws"

    def env(self, base: dict[str, str]) -> dict[str, str]:
        """``base`` with Ansible looking only at the collections path it installed into."""
        return dict(
            base,
            ANSIBLE_CONFIG=str(self.config),
            ANSIBLE_COLLECTIONS_PATH=str(self.path),
            ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
            ANSIBLE_PYTHON_INTERPRETER=sys.executable,
        )


def galaxy(*args: str, env: dict[str, str], cwd: Path, ok: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run([str(BIN / "ansible-galaxy"), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120)
    assert (proc.returncode == 0) == ok, proc.stdout + proc.stderr
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


def artifact_of_installed(collection: Path, output: Path) -> Path:
    """A collection artifact (namespace-name-version.tar.gz) of an installed collection.

    The ansible package installs collections without their tests and CI files but keeps their original
    FILES.json, so the artifact lists only the files the installed copy has, each with its checksum;
    MANIFEST.json is the installed one, with the checksum of that FILES.json."""
    manifest = json.loads((collection / "MANIFEST.json").read_text())
    listing = json.loads((collection / "FILES.json").read_text())
    kept = []
    for entry in listing["files"]:
        path = collection / entry["name"]
        if entry["name"] == "." or (entry["ftype"] == "dir" and path.is_dir()):
            kept.append(entry)
        elif entry["ftype"] == "file" and path.is_file():
            kept.append(dict(entry, chksum_sha256=hashlib.sha256(path.read_bytes()).hexdigest()))
    files_json = json.dumps(dict(listing, files=kept), indent=4).encode()
    manifest["file_manifest_file"]["chksum_sha256"] = hashlib.sha256(files_json).hexdigest()
    info = manifest["collection_info"]
    tarball = output / f"{info['namespace']}-{info['name']}-{info['version']}.tar.gz"
    output.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball, "w:gz") as archive:
        for name, data in (("MANIFEST.json", json.dumps(manifest, indent=4).encode()), ("FILES.json", files_json)):
            member = tarfile.TarInfo(name)
            member.size, member.mode = len(data), 0o644
            archive.addfile(member, io.BytesIO(data))
        for entry in kept[1:] if kept and kept[0]["name"] == "." else kept:
            archive.add(collection / entry["name"], arcname=entry["name"], recursive=False)
    return tarball


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Installed:
    root = tmp_path_factory.mktemp("package")
    path = root / "collections"
    done = Installed(Path(), Path(), path, isolated_config(root))
    env = done.env(aws_env(None))
    done.tarball = build(SOURCE, root / "dist", env)
    done.dependency = artifact_of_installed(AMAZON_AWS, root / "dist")
    assert not path.exists()
    proc = galaxy("collection", "install", "--offline", "-p", str(path), str(done.tarball), str(done.dependency),
                  env=env, cwd=root)
    done.output = proc.stdout
    assert (done.collection / "MANIFEST.json").is_file()
    return done


def members(tarball: Path) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(tarball) as archive:
        return {member.name: member for member in archive.getmembers()}


def test_the_tarball_holds_the_playbooks_and_templates_as_real_files_and_no_leftovers(installed):
    found = members(installed.tarball)
    for name in TEMPLATES:
        assert name in found, f"{name} is not in {installed.tarball.name}"
        assert found[name].isfile() and found[name].size > 0, f"{name} is a link or empty in the tarball"
        shipped = (installed.collection / name).read_bytes()
        assert not (installed.collection / name).is_symlink()
        assert shipped == (REPO / REPO_LINKS[name]).read_bytes(), f"{REPO_LINKS[name]} and the tarball's {name} differ"
    for name in ("playbooks/sync.yml", "playbooks/bootstrap.yml", "meta/runtime.yml", "README.md",
                 "changelogs/changelog.yaml", "CHANGELOG.rst", "plugins/module_utils/catalog/aws_managed_policies.json"):
        assert name in found and found[name].isfile(), f"{name} is not in {installed.tarball.name}"
    assert not [n for n, m in found.items() if m.issym() or m.islnk()]
    assert not [n for n in found if "__pycache__" in n or n.endswith((".pyc", ".pyo")) or "_cache" in n.split("/")[0]]
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


def test_the_dependency_is_resolved_from_the_amazon_aws_artifact(tmp_path, installed):
    """The install put amazon.aws beside orgiam.aws, in the declared range; orgiam.aws alone does not resolve."""
    declared = yaml.safe_load((SOURCE / "galaxy.yml").read_text())["dependencies"]["amazon.aws"]
    low, high = re.fullmatch(r">=(\S+),<(\S+)", declared).groups()
    version = json.loads((installed.path / "ansible_collections/amazon/aws/MANIFEST.json").read_text())["collection_info"]["version"]
    as_tuple = lambda v: tuple(int(p) for p in v.split("."))  # noqa: E731 - plain release versions only
    assert as_tuple(low) <= as_tuple(version) < as_tuple(high), (declared, version)
    assert f"Installing 'amazon.aws:{version}'" in installed.output, installed.output
    assert sorted(p.name for p in (installed.path / "ansible_collections").iterdir()) == ["amazon", "orgiam"]
    alone = tmp_path / "alone"
    env = dict(installed.env(aws_env(None)), ANSIBLE_COLLECTIONS_PATH=str(alone))
    refused = galaxy("collection", "install", "--offline", "-p", str(alone), str(installed.tarball), env=env, cwd=tmp_path, ok=False)
    assert "amazon.aws:>=10.0.0,<11.0.0 (dependency of orgiam.aws" in refused.stdout + refused.stderr


def documented_plugins(collection: Path) -> set[tuple[str, str]]:
    """(type, name) of every plugin of the collection that ansible-doc documents, from its files."""
    found = set()
    for folder in sorted(p for p in (collection / "plugins").iterdir() if p.is_dir() and p.name not in NOT_DOCUMENTED):
        kind = "module" if folder.name == "modules" else folder.name
        for plugin in folder.glob("*.py"):
            if plugin.name != "__init__.py":
                found.add((kind, f"orgiam.aws.{plugin.stem}"))
    return found


def test_ansible_doc_reads_every_installed_plugin(installed):
    env = dict(installed.env(aws_env(None)), ANSIBLE_NOCOLOR="1")
    listing = subprocess.run([str(BIN / "ansible-galaxy"), "collection", "list", "--format", "json"], env=env,
                             capture_output=True, text=True, timeout=60)
    assert listing.returncode == 0, listing.stderr
    # the only collections Ansible sees are the two installed ones (neither the repository's nor site-packages'),
    # beside ansible-core's own internal one
    seen = {path: found for path, found in json.loads(listing.stdout).items()
            if not Path(path).is_relative_to(Path(ansible.__file__).parent)}
    assert seen == {str(installed.path / "ansible_collections"): {
        "amazon.aws": {"version": json.loads((installed.path / "ansible_collections/amazon/aws/MANIFEST.json").read_text())
                       ["collection_info"]["version"]},
        "orgiam.aws": {"version": yaml.safe_load((SOURCE / "galaxy.yml").read_text())["version"]},
    }}, listing.stdout
    plugins = documented_plugins(installed.collection)
    assert {("module", "orgiam.aws.sync"), ("module", "orgiam.aws.bootstrap"), ("module", "orgiam.aws.org_accounts_info"),
            ("inventory", "orgiam.aws.organization")} <= plugins
    for kind in sorted({kind for kind, _ in plugins}):
        listed = subprocess.run([str(BIN / "ansible-doc"), "-t", kind, "--list", "orgiam.aws", "--json"], env=env,
                                capture_output=True, text=True, timeout=60)
        assert listed.returncode == 0, listed.stderr
        assert set(json.loads(listed.stdout)) == {name for k, name in plugins if k == kind}
    for kind, name in sorted(plugins):
        proc = subprocess.run([str(BIN / "ansible-doc"), "-t", kind, name], env=env, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, f"ansible-doc -t {kind} {name}:\n{proc.stdout}{proc.stderr}"
        assert str(installed.collection / "plugins") in proc.stdout, proc.stdout[:400]
        assert "[WARNING]" not in proc.stderr and "[ERROR]" not in proc.stderr, f"ansible-doc -t {kind} {name}:\n{proc.stderr}"


def loaded_from(run: Run) -> set[Path]:
    """Where Ansible loaded orgiam.aws from (ansible prints it at -vvvv)."""
    return {Path(p) for p in re.findall(r"Loading collection orgiam\.aws from (\S+)", run.output)}


def active_accounts(workspace) -> list[str]:
    """The names of the demo organization's ACTIVE accounts, as Organizations lists them."""
    pages = workspace.client("organizations").get_paginator("list_accounts").paginate()
    return [a["Name"] for page in pages for a in page["Accounts"] if a["Status"] == "ACTIVE"]


def outside_the_repository(workspace, *args: str, env: dict[str, str]) -> Run:
    """A command run from the workspace's folder, as a user of the installed collection runs it."""
    proc = subprocess.run(list(args), cwd=workspace.root, env=env, capture_output=True, text=True, timeout=300)
    return Run(proc.returncode, proc.stdout, proc.stderr)


def test_the_inventory_graph_lists_the_demo_accounts(installed, workspace):
    run = outside_the_repository(workspace, str(BIN / "ansible-inventory"), "-i", str(workspace.inventory), "--graph", "-vvvv",
                                 env=installed.env(aws_env(workspace.endpoint)))
    assert run.returncode == 0, run.output[-3000:]
    assert loaded_from(run) == {installed.collection}
    graph = run.stdout
    active = active_accounts(workspace)
    assert len(active) >= 10 and set(active) < set(workspace.accounts)  # the demo's suspended account is left out
    for account in active:
        assert f"--{host_name(account)}\n" in graph, f"{account} is not in the graph:\n{graph}"
    assert "@ou_workloads_prod:" in graph


def host_name(account: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", account.lower()).strip("_")


def test_the_collection_playbook_syncs_the_organization(installed, workspace):
    """ansible-playbook orgiam.aws.sync -i INVENTORY, nothing else: the catalog comes from the inventory, the
    reports go to ./out; IAM is read back through the IAM API of the accounts."""
    ws = workspace
    run = outside_the_repository(ws, str(BIN / "ansible-playbook"), "orgiam.aws.sync", "-i", str(ws.inventory), "-vvvv",
                                 env=installed.env(aws_env(ws.endpoint)))
    assert run.returncode == 0, run.output[-4000:]
    assert loaded_from(run) == {installed.collection}
    assert str(installed.collection / "playbooks" / "sync.yml") in run.output
    report = ws.report()
    assert report["mode"] == "apply" and report["ok"] and report["accounts_seen"] == len(active_accounts(ws))
    for account in sync_checks.WORKLOADS:
        assert sync_checks.role_names(ws, account) == ["ReadOnly", "WorkloadDeployer"], account
    for account in sync_checks.SANDBOX:
        assert sync_checks.role_names(ws, account) == ["SandboxAdmin"], account
    readonly = sorted(f"arn:aws:iam::{ws.accounts[a]}:role/orgiam/ReadOnly" for a in sync_checks.WORKLOADS)
    assert sync_checks.granted_arns(ws, "orgiam-ReadOnly-Workloads") == readonly


def test_the_collection_playbook_bootstraps_in_check_mode_with_its_own_templates(installed, workspace):
    """ansible-playbook orgiam.aws.bootstrap --check from a folder holding roles_catalog/: its defaults."""
    (workspace.root / "roles_catalog").symlink_to(workspace.catalog, target_is_directory=True)
    env = dict(installed.env(aws_env(workspace.endpoint)), ANSIBLE_INVENTORY_ENABLED="ansible.builtin.host_list")
    run = outside_the_repository(workspace, str(BIN / "ansible-playbook"), "orgiam.aws.bootstrap", "-i", "localhost,",
                                 "--check", "-vvvv", env=env)
    assert run.returncode == 0, run.output[-4000:]
    assert loaded_from(run) == {installed.collection}
    steps = json.loads((workspace.out / "bootstrap.json").read_text())["steps"]
    templates = {step["template"] for step in steps if step["template"]}
    assert templates, steps
    assert all(Path(t).is_relative_to(installed.collection / "files" / "cicd") for t in templates), templates
    assert {Path(t).name for t in templates} >= {"deployer-role.yml", "pipeline.yml"}
    assert all(step["status"] in ("planned", "unchanged") for step in steps), steps


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
    run = outside_the_repository(
        workspace, str(BIN / "ansible-playbook"), "-i", "localhost,", str(playbook), "-e", f"endpoint={workspace.endpoint}",
        "-e", f"catalog={workspace.catalog}", "-e", f"out={workspace.out}", env=env,
    )
    assert run.returncode == 0, run.output[-4000:]
    assert "ok=3" in run.stdout

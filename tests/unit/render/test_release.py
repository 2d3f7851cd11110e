"""The release the pipeline runs: the same bytes for the same code, and only what an installation needs."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import pytest

from ansible_collections.orgiam.aws.plugins.module_utils.render.release import build_release, collection_version

REPO = Path(__file__).resolve().parents[3]
COLLECTION = REPO / "collections" / "ansible_collections" / "orgiam" / "aws"


@pytest.fixture(scope="module")
def dependency(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("amazon_aws")
    (root / "plugins" / "module_utils").mkdir(parents=True)
    (root / "plugins" / "module_utils" / "policy.py").write_text("# stand-in\n")
    (root / "plugins" / "module_utils" / "__pycache__").mkdir()
    (root / "plugins" / "module_utils" / "__pycache__" / "policy.cpython-311.pyc").write_bytes(b"\0")
    (root / "MANIFEST.json").write_text('{"collection_info": {"version": "10.1.2"}}')
    return root


def members(content: bytes) -> dict[str, tarfile.TarInfo]:
    with tarfile.open(fileobj=io.BytesIO(content), mode="r:gz") as archive:
        return {m.name: m for m in archive.getmembers()}


def test_the_same_code_gives_the_same_release(dependency):
    one = build_release(COLLECTION, {"amazon.aws": dependency}, "1.2.3")
    two = build_release(COLLECTION, {"amazon.aws": dependency}, "1.2.3")
    assert one.content == two.content and one.sha256 == two.sha256
    assert one.key == f"releases/orgiam-1.2.3-{one.sha256[:16]}.tar.gz"


def test_a_changed_file_changes_the_digest(dependency, tmp_path):
    before = build_release(COLLECTION, {"amazon.aws": dependency}, "1.2.3")
    (dependency / "plugins" / "module_utils" / "policy.py").write_text("# changed\n")
    try:
        after = build_release(COLLECTION, {"amazon.aws": dependency}, "1.2.3")
    finally:
        (dependency / "plugins" / "module_utils" / "policy.py").write_text("# stand-in\n")
    assert after.sha256 != before.sha256


def test_the_release_holds_the_collections_the_lock_and_the_build_scripts(dependency):
    found = members(build_release(COLLECTION, {"amazon.aws": dependency}, "1.2.3").content)
    cicd = "ansible_collections/orgiam/aws/files/cicd/"
    assert {"RELEASE", "requirements-runtime.txt", cicd + "build.sh", cicd + "install.sh", cicd + "summary.py",
            cicd + "trigger.py", cicd + "ansible.cfg", "ansible_collections/orgiam/aws/playbooks/sync.yml",
            "ansible_collections/amazon/aws/plugins/module_utils/policy.py"} <= set(found)
    assert found[cicd + "build.sh"].mode == 0o755 and found[cicd + "summary.py"].mode == 0o644
    assert not [n for n in found if "__pycache__" in n or n.endswith(".pyc") or "/tests/" in n]
    assert all(m.mtime == 0 and m.uid == 0 for m in found.values())
    # the lock pins every package with its hashes
    lock = (COLLECTION / "files" / "requirements-runtime.txt").read_text()
    assert "--hash=sha256:" in lock and "ansible-core==" in lock


def test_a_missing_runtime_lock_is_named(dependency, tmp_path):
    with pytest.raises(FileNotFoundError, match="runtime requirements of the release are missing"):
        build_release(COLLECTION, {"amazon.aws": dependency}, "1.2.3", runtime_lock=tmp_path / "none.txt")


def test_the_version_comes_from_galaxy_yml_or_the_manifest(dependency):
    assert collection_version(dependency) == "10.1.2"
    assert collection_version(COLLECTION) == [line.split(":", 1)[1].strip() for line in
                                              (COLLECTION / "galaxy.yml").read_text().splitlines()
                                              if line.startswith("version:")][0].strip("'\"")

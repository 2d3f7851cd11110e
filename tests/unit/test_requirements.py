"""The dependency locks (requirements/) and the amazon.aws installer: no network, no pip."""

import base64
import hashlib
import importlib.util
import io
import json
import re
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
REQUIREMENTS = REPO / "requirements"
TEST_TOOLS = {"moto", "pytest", "pytest-xdist", "hypothesis", "molecule", "ansible-lint", "cfn-lint"}
# The ansible release collections.txt takes amazon.aws from, and the ansible-core it brings: the
# ansible 12.3.0 wheel requires ansible-core~=2.19.5, and a full `pip install ansible==12.3.0` on
# Python 3.11 resolves it to 2.19.14, the last 2.19 release (the one the old single requirements
# file ran on). A new ansible release in collections.txt needs its pairing added here, after
# checking which ansible-core it brings; amazon.aws is then tested with the core it was shipped with.
ANSIBLE_BRINGS_CORE = {"12.3.0": "2.19.14"}


def canonical(name):
    """PEP 503 normalization, extras dropped: `PyYAML` is `pyyaml`, `moto[server]` is `moto`."""
    return re.sub(r"[-_.]+", "-", name.split("[", 1)[0]).lower()


def logical_lines(path):
    """Lines without comments, continuation lines joined."""
    text = path.read_text(encoding="utf-8").replace("\\\n", " ")
    return [line.split("#", 1)[0].strip() for line in text.splitlines() if line.split("#", 1)[0].strip()]


def lock_entries(path):
    """{canonical name: (version, [sha256, ...])} of a pip-compile style lock."""
    entries = {}
    for line in logical_lines(path):
        requirement, *options = line.split()
        name, _, version = requirement.partition("==")
        entries[canonical(name)] = (version, [o.removeprefix("--hash=sha256:") for o in options if o.startswith("--hash=")])
    return entries


def direct_requirements(path):
    """{canonical name: pinned version or None} of an .in file, following its -r includes."""
    found = {}
    for line in logical_lines(path):
        if line.startswith("-r"):
            found.update(direct_requirements(path.parent / line[2:].strip()))
        elif not line.startswith("-"):
            name, _, version = line.partition("==")
            found[canonical(name)] = version or None
    return found


LOCKS = {name: lock_entries(REQUIREMENTS / f"{name}.txt") for name in ("runtime", "dev", "collections")}


@pytest.mark.parametrize("name", ["runtime", "dev"])
def test_every_package_of_the_in_file_is_pinned_in_its_lock_at_the_in_files_version(name):
    wanted = direct_requirements(REQUIREMENTS / f"{name}.in")
    lock = LOCKS[name]
    assert wanted
    missing = sorted(set(wanted) - set(lock))
    assert not missing, f"{name}.in names {missing}, which {name}.txt does not pin: run make lock"
    moved = {pkg: (pin, lock[pkg][0]) for pkg, pin in wanted.items() if pin and lock[pkg][0] != pin}
    assert not moved, f"{name}.txt pins other versions than {name}.in: {moved}"


@pytest.mark.parametrize("name", ["runtime", "dev", "collections"])
def test_every_requirement_of_a_lock_is_pinned_and_carries_a_sha256(name):
    lock = LOCKS[name]
    assert lock
    for package, (version, hashes) in lock.items():
        assert version, f"{name}.txt: {package} is not pinned with =="
        assert hashes and all(re.fullmatch(r"[0-9a-f]{64}", h) for h in hashes), f"{name}.txt: {package} has no --hash"


def test_the_runtime_lock_holds_no_test_or_lint_tool():
    assert not TEST_TOOLS & set(LOCKS["runtime"])


def test_the_dev_lock_pins_every_runtime_package_at_the_runtime_version():
    runtime, dev = LOCKS["runtime"], LOCKS["dev"]
    assert {pkg: dev.get(pkg, (None,))[0] for pkg in runtime} == {pkg: version for pkg, (version, _) in runtime.items()}
    assert TEST_TOOLS <= set(dev)


def test_the_ansible_release_of_collections_txt_brings_the_ansible_core_of_runtime_txt():
    assert set(LOCKS["collections"]) == {"ansible"}, "collections.txt holds the ansible wheel and nothing else"
    ansible_version = LOCKS["collections"]["ansible"][0]
    assert ansible_version in ANSIBLE_BRINGS_CORE, f"which ansible-core does ansible {ansible_version} bring? add it above"
    assert LOCKS["runtime"]["ansible-core"][0] == ANSIBLE_BRINGS_CORE[ansible_version]
    assert "ansible" not in LOCKS["runtime"] and "ansible" not in LOCKS["dev"], "the full ansible package is not installed"


# --- scripts/install_collections.py, against a small wheel made here ------------------------------

def load_installer():
    """scripts/ is no package: the script loaded by path (registered, as its dataclass needs)."""
    name = "orgiam_scripts_install_collections"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / "scripts" / "install_collections.py")
        sys.modules[name] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules[name])
    return sys.modules[name]


installer = load_installer()


def test_the_installer_reads_the_collections_lock_as_the_tests_do():
    locked = installer.read_lock(REQUIREMENTS / "collections.txt")
    version, hashes = LOCKS["collections"]["ansible"]
    assert (locked.project, locked.version, locked.sha256s) == ("ansible", version, frozenset(hashes))
    assert locked.filename_glob == f"ansible-{version}-*.whl"


def make_wheel(path, files, dependencies=None):
    """A wheel holding collections as the ansible wheel does, with a RECORD of their sha256s."""
    record = io.StringIO()
    with zipfile.ZipFile(path, "w") as wheel:
        for name, data in files.items():
            wheel.writestr(name, data)
            record.write(f"{name},sha256={installer.record_digest(data)},{len(data)}\n")
        for collection, needs in (dependencies or {}).items():
            namespace, name = collection.split(".")
            info = json.dumps({"collection_info": {"version": "1.0.0", "dependencies": needs}}).encode()
            wheel.writestr(f"ansible_collections/{namespace}/{name}/MANIFEST.json", info)
            record.write(f"ansible_collections/{namespace}/{name}/MANIFEST.json,sha256={installer.record_digest(info)},{len(info)}\n")
        record.write("pkg-1.0.dist-info/RECORD,,\n")
        wheel.writestr("pkg-1.0.dist-info/RECORD", record.getvalue())
    return path


def test_record_digest_is_the_wheel_record_spelling_of_sha256():
    assert installer.record_digest(b"") == base64.urlsafe_b64encode(hashlib.sha256(b"").digest()).rstrip(b"=").decode()


def test_the_installer_extracts_one_collection_and_its_dependencies_and_nothing_else(tmp_path):
    files = {
        "ansible_collections/amazon/aws/plugins/module_utils/modules.py": b"X = 1\n",
        "ansible_collections/amazon/aws/README.md": b"aws\n",
        "ansible_collections/community/general/plugins/x.py": b"unused\n",
        "ansible_collections/ansible_release.py": b"ansible_version = '0'\n",
    }
    wheel_path = make_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", files,
                            {"amazon.aws": {"example.base": ">=1"}, "example.base": {}, "community.general": {}})
    with zipfile.ZipFile(wheel_path) as wheel:
        names = installer.with_dependencies(wheel, ("amazon.aws",))
        assert names == ["amazon.aws", "example.base"]
        digests = installer.recorded_digests(wheel)
        root = tmp_path / "site"
        assert [installer.install_collection(wheel, digests, name, root) for name in names] == [True, True]
        installed = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())
        assert installed == [
            "ansible_collections/amazon/aws/MANIFEST.json",
            "ansible_collections/amazon/aws/README.md",
            "ansible_collections/amazon/aws/plugins/module_utils/modules.py",
            "ansible_collections/example/base/MANIFEST.json",
        ]


def test_a_second_install_changes_nothing_and_a_changed_or_extra_file_is_put_right(tmp_path):
    files = {"ansible_collections/amazon/aws/plugins/module_utils/modules.py": b"X = 1\n"}
    wheel_path = make_wheel(tmp_path / "pkg-1.0-py3-none-any.whl", files, {"amazon.aws": {}})
    root = tmp_path / "site"
    collection = root / "ansible_collections" / "amazon" / "aws"
    with zipfile.ZipFile(wheel_path) as wheel:
        digests = installer.recorded_digests(wheel)
        assert installer.install_collection(wheel, digests, "amazon.aws", root)
        (collection / "plugins" / "module_utils" / "__pycache__").mkdir()
        (collection / "plugins" / "module_utils" / "__pycache__" / "modules.cpython-311.pyc").write_bytes(b"compiled")
        assert not installer.install_collection(wheel, digests, "amazon.aws", root), "compiled caches are not a change"

        (collection / "plugins" / "module_utils" / "modules.py").write_text("X = 2\n")
        assert installer.install_collection(wheel, digests, "amazon.aws", root)
        assert (collection / "plugins" / "module_utils" / "modules.py").read_bytes() == b"X = 1\n"

        (collection / "stray.py").write_text("")
        assert installer.install_collection(wheel, digests, "amazon.aws", root)
        assert not (collection / "stray.py").exists()
        assert sorted(p.name for p in collection.parent.iterdir()) == ["aws"], "no staging or retired copy is left"


def test_a_cached_wheel_is_used_only_when_its_sha256_is_the_locked_one(tmp_path):
    wheel = tmp_path / "ansible-12.3.0-py3-none-any.whl"
    wheel.write_bytes(b"not the locked wheel")
    other = installer.LockedWheel("ansible", "12.3.0", frozenset({"0" * 64}))
    assert installer.cached_wheel(other, tmp_path) is None
    matching = installer.LockedWheel("ansible", "12.3.0", frozenset({hashlib.sha256(wheel.read_bytes()).hexdigest()}))
    assert installer.cached_wheel(matching, tmp_path) == wheel


def test_the_runtime_lock_the_release_carries_is_requirements_runtime_txt():
    """The pipeline's release (render/release.py) installs the collection's copy of the runtime lock."""
    shipped = REPO / "collections" / "ansible_collections" / "orgiam" / "aws" / "files" / "requirements-runtime.txt"
    if not shipped.exists():
        pytest.skip("the collection ships no runtime lock")
    assert shipped.read_text() == (REQUIREMENTS / "runtime.txt").read_text(), \
        "the release would install other packages than requirements/runtime.txt: copy it again after make lock"

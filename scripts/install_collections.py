#!/usr/bin/env python3
"""Install the Ansible collections orgiam needs that PyPI does not publish: amazon.aws.

Stable entry point (`make venv`, `make runtime` and the CodeBuild pipeline run it, after
`pip install --require-hashes -r requirements/runtime.txt`):

    python scripts/install_collections.py                   # into this interpreter's site-packages
    python scripts/install_collections.py --target DIR      # into DIR/ansible_collections/amazon/aws

amazon.aws lives on Galaxy and inside the `ansible` package, never on PyPI by itself. This script
downloads the one `ansible` wheel locked in requirements/collections.txt with
`pip download --no-deps --require-hashes --only-binary=:all:` and extracts from it only
ansible_collections/amazon/aws/, plus the collections its MANIFEST.json depends on (none for
amazon.aws 10). The rest of the wheel, some 470 MB of collections orgiam does not use, is never
written anywhere.

Where it goes:
- by default, the site-packages (purelib) of the interpreter running this script, so run it with
  the venv's python: ansible-core scans sys.path for ansible_collections/ and finds amazon.aws
  there, exactly as it finds the collections of the full ansible package;
- with --target DIR, under DIR, which is then any collections path root (ANSIBLE_COLLECTIONS_PATH,
  collections_path in ansible.cfg).

Idempotent and quick the second time: the wheel is kept in a download directory (--download-dir,
default $ORGIAM_WHEEL_CACHE or ${XDG_CACHE_HOME:-~/.cache}/orgiam/wheels) and checked against the
locked sha256 before each use, so a cached wheel is neither downloaded again nor passed to pip. A
collection whose installed files already match the wheel's RECORD (same names, same sha256) is left
alone; otherwise it is extracted beside the old one and swapped in whole.
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parents[1]
DEFAULT_LOCK = REPO / "requirements" / "collections.txt"
# What orgiam imports (ansible_collections.amazon.aws.*) and its playbooks and tests call.
WANTED = ("amazon.aws",)

_PIN = re.compile(r"(?P<name>[A-Za-z0-9][A-Za-z0-9._-]*)==(?P<version>\S+)(?P<hashes>(?:\s+--hash=sha256:[0-9a-f]{64})+)")


@dataclass(frozen=True)
class LockedWheel:
    """The single pin of the collections lock: a project, its version and the accepted sha256s."""

    project: str
    version: str
    sha256s: frozenset[str]

    @property
    def filename_glob(self) -> str:
        # wheel file names spell the project with underscores, lower case (PEP 427, PEP 503)
        return f"{re.sub(r'[-_.]+', '_', self.project).lower()}-{self.version}-*.whl"


def read_lock(path: Path) -> LockedWheel:
    """The one `name==version --hash=sha256:...` requirement of the collections lock."""
    logical_lines = path.read_text(encoding="utf-8").replace("\\\n", " ").splitlines()
    pins = []
    for line in logical_lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        found = _PIN.fullmatch(line)
        if found is None:
            raise SystemExit(f"{path}: expected `name==version --hash=sha256:<hex>`, found {line!r}")
        pins.append(LockedWheel(found["name"], found["version"],
                                frozenset(re.findall(r"sha256:([0-9a-f]{64})", found["hashes"]))))
    if len(pins) != 1:
        raise SystemExit(f"{path}: expected exactly one pinned wheel, found {len(pins)}")
    return pins[0]


def sha256_of(path: Path) -> str:
    with path.open("rb") as stream:
        return hashlib.file_digest(stream, "sha256").hexdigest()


def cached_wheel(lock: LockedWheel, download_dir: Path) -> Path | None:
    for candidate in sorted(download_dir.glob(lock.filename_glob)):
        if sha256_of(candidate) in lock.sha256s:
            return candidate
    return None


def fetch_wheel(lock: LockedWheel, lock_path: Path, download_dir: Path) -> Path:
    """The locked wheel, from the download directory, else through pip (which checks the hash)."""
    wheel = cached_wheel(lock, download_dir)
    if wheel is not None:
        return wheel
    download_dir.mkdir(parents=True, exist_ok=True)
    print(f"downloading {lock.project} {lock.version} into {download_dir}", flush=True)
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--require-hashes", "--only-binary=:all:",
         "--disable-pip-version-check", "--no-input", "--quiet", "--dest", str(download_dir), "-r", str(lock_path)],
        check=True,
    )
    wheel = cached_wheel(lock, download_dir)
    if wheel is None:
        raise SystemExit(f"pip download left no {lock.filename_glob} with the locked sha256 in {download_dir}")
    return wheel


def record_digest(data: bytes) -> str:
    """sha256 as a wheel's RECORD writes it: urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode("ascii")


def recorded_digests(wheel: zipfile.ZipFile) -> dict[str, str]:
    """Path in the wheel -> its RECORD digest. The wheel's own sha256 was checked, so RECORD is trusted."""
    record = next(name for name in wheel.namelist() if name.endswith(".dist-info/RECORD"))
    with wheel.open(record) as stream:
        rows = csv.reader(io.TextIOWrapper(stream, encoding="utf-8"))
        return {row[0]: row[1].removeprefix("sha256=") for row in rows if len(row) >= 2 and row[1]}


def collection_prefix(name: str) -> str:
    namespace, collection = name.split(".")
    return f"ansible_collections/{namespace}/{collection}/"


def manifest(wheel: zipfile.ZipFile, name: str) -> dict:
    try:
        return json.loads(wheel.read(collection_prefix(name) + "MANIFEST.json"))["collection_info"]
    except KeyError:
        raise SystemExit(f"{wheel.filename} holds no collection {name}") from None


def with_dependencies(wheel: zipfile.ZipFile, wanted: tuple[str, ...]) -> list[str]:
    """The wanted collections and, transitively, those their MANIFEST.json depend on."""
    ordered: list[str] = []
    pending = list(wanted)
    while pending:
        name = pending.pop(0)
        if name not in ordered:
            ordered.append(name)
            pending.extend(manifest(wheel, name).get("dependencies") or {})
    return ordered


def installed_digests_match(destination: Path, expected: dict[str, str]) -> bool:
    """Whether destination holds exactly the expected files (compiled caches aside), byte for byte."""
    if not destination.is_dir():
        return False
    present = {}
    for path in destination.rglob("*"):
        relative = path.relative_to(destination)
        if "__pycache__" in relative.parts or path.is_dir():
            continue
        present[relative.as_posix()] = path
    return present.keys() == expected.keys() and all(
        record_digest(path.read_bytes()) == expected[relative] for relative, path in present.items()
    )


def extract(wheel: zipfile.ZipFile, prefix: str, into: Path) -> None:
    for member in wheel.infolist():
        if member.is_dir() or not member.filename.startswith(prefix):
            continue
        relative = PurePosixPath(member.filename[len(prefix):])
        if relative.is_absolute() or ".." in relative.parts:
            raise SystemExit(f"{wheel.filename}: refusing to extract {member.filename}")
        out = into.joinpath(*relative.parts)
        out.parent.mkdir(parents=True, exist_ok=True)
        with wheel.open(member) as source, out.open("wb") as sink:
            shutil.copyfileobj(source, sink)


def install_collection(wheel: zipfile.ZipFile, digests: dict[str, str], name: str, root: Path) -> bool:
    """Put collection `name` under root/ansible_collections/; False when it was already there."""
    prefix = collection_prefix(name)
    expected = {path[len(prefix):]: digest for path, digest in digests.items() if path.startswith(prefix)}
    destination = root / prefix
    if installed_digests_match(destination, expected):
        return False
    destination.parent.mkdir(parents=True, exist_ok=True)
    # a dot name is not a valid collection name: ansible-core never loads the half-written copy
    staging = destination.parent / f".{destination.name}.new-{os.getpid()}"
    retired = destination.parent / f".{destination.name}.old-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    try:
        staging.mkdir()
        extract(wheel, prefix, staging)
        if destination.exists():
            os.rename(destination, retired)
        os.rename(staging, destination)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    shutil.rmtree(retired, ignore_errors=True)
    return True


def default_download_dir() -> Path:
    if os.environ.get("ORGIAM_WHEEL_CACHE"):
        return Path(os.environ["ORGIAM_WHEEL_CACHE"])
    cache_home = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache_home) / "orgiam" / "wheels"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--target", type=Path, default=Path(sysconfig.get_paths()["purelib"]),
                        help="collections path root: installs DIR/ansible_collections/amazon/aws "
                             "(default: this interpreter's site-packages, %(default)s)")
    parser.add_argument("--download-dir", type=Path, default=default_download_dir(),
                        help="where the locked wheel is kept between runs (default: %(default)s)")
    parser.add_argument("--lock", type=Path, default=DEFAULT_LOCK,
                        help="the hashed lock holding the one ansible wheel (default: %(default)s)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lock = read_lock(args.lock)
    wheel_path = fetch_wheel(lock, args.lock, args.download_dir)
    with zipfile.ZipFile(wheel_path) as wheel:
        digests = recorded_digests(wheel)
        for name in with_dependencies(wheel, WANTED):
            changed = install_collection(wheel, digests, name, args.target)
            state = "installed" if changed else "already installed"
            print(f"{name} {manifest(wheel, name)['version']} (from {lock.project} {lock.version}): "
                  f"{state} in {args.target / collection_prefix(name)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

# -*- coding: utf-8 -*-
# Copyright: orgiam developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The orgiam release the pipeline runs: one tar.gz, the same bytes for the same code.

The pipeline's Plan and Apply builds never run code of the catalog repository. They fetch this release
from the pipeline's artifact bucket, check its SHA-256 against the one the bootstrap wrote into the
pipeline's definition, unpack it and run ``files/cicd/build.sh`` from it. The release holds:

- ``ansible_collections/orgiam/aws/``: this collection, as it is installed (no tests, no caches);
- ``ansible_collections/amazon/aws/``: the amazon.aws collection orgiam imports;
- ``requirements-runtime.txt``: the Python packages, each pinned with its hashes;
- ``RELEASE``: the collection's version and the digest of the files above.

The archive is deterministic (sorted entries, no timestamps, owner or mode other than 0644/0755, gzip
without a name or time), so that running the bootstrap again with the same code yields the same
SHA-256, the same object key and no change to the pipeline.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

RUNTIME_LOCK = "files/requirements-runtime.txt"
EXCLUDED_DIRS = {"__pycache__", ".git", "tests", ".pytest_cache", ".mypy_cache", "changelogs"}
EXCLUDED_SUFFIXES = (".pyc", ".pyo", ".tar.gz")
KEY_PREFIX = "releases/"


@dataclass(frozen=True)
class Release:
    version: str
    content: bytes  # the tar.gz
    sha256: str

    @property
    def key(self) -> str:
        """The object key in the pipeline's artifact bucket."""
        return f"{KEY_PREFIX}orgiam-{self.version}-{self.sha256[:16]}.tar.gz"


def _files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, names in os.walk(root, followlinks=True):
        dirs[:] = sorted(d for d in dirs if d not in EXCLUDED_DIRS and not d.startswith("."))
        for name in sorted(names):
            if not name.endswith(EXCLUDED_SUFFIXES) and not name.startswith("."):
                found.append(Path(folder) / name)
    return found


def _add(archive: tarfile.TarFile, name: str, data: bytes, executable: bool = False) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o755 if executable else 0o644
    info.mtime = 0
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    archive.addfile(info, io.BytesIO(data))


def release_members(collection: Path, dependencies: dict[str, Path]) -> list[tuple[str, Path]]:
    """(name in the archive, file) of every file of the release, sorted by name."""
    members: list[tuple[str, Path]] = []
    for fqcn, root in {"orgiam.aws": collection, **dependencies}.items():
        namespace, name = fqcn.split(".", 1)
        for path in _files(root):
            members.append((f"ansible_collections/{namespace}/{name}/{path.relative_to(root).as_posix()}", path))
    return sorted(members)


def build_release(collection: Path, dependencies: dict[str, Path], version: str,
                  runtime_lock: Path | None = None) -> Release:
    """The release of ``collection`` (this one) with its ``dependencies`` ({"amazon.aws": path})."""
    lock = runtime_lock or collection / RUNTIME_LOCK
    if not lock.is_file():
        raise FileNotFoundError(f"{lock}: the runtime requirements of the release are missing")
    members = release_members(collection, dependencies)
    digest = hashlib.sha256()
    for name, path in members:
        digest.update(name.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        _add(archive, "RELEASE", f"orgiam.aws {version} {digest.hexdigest()}\n".encode())
        _add(archive, "requirements-runtime.txt", lock.read_bytes())
        for name, path in members:
            _add(archive, name, path.read_bytes(), executable=path.suffix == ".sh")
    packed = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=packed, mtime=0, compresslevel=9) as zipped:
        zipped.write(raw.getvalue())
    content = packed.getvalue()
    return Release(version=version, content=content, sha256=hashlib.sha256(content).hexdigest())


def collection_version(collection: Path) -> str:
    """The version in galaxy.yml (a source tree) or MANIFEST.json (an installed collection)."""
    import json
    import re

    manifest = collection / "MANIFEST.json"
    if manifest.is_file():
        return str(json.loads(manifest.read_text(encoding="utf-8"))["collection_info"]["version"])
    galaxy = collection / "galaxy.yml"
    match = re.search(r"^version:\s*['\"]?([^'\"\s]+)", galaxy.read_text(encoding="utf-8"), re.MULTILINE)
    if not match:
        raise ValueError(f"{galaxy}: no version")
    return match.group(1)


def installed_collection(module_file: str, depth: int) -> Path:
    """The root of the collection a module of it was imported from (``depth`` folders up)."""
    return Path(module_file).resolve().parents[depth]

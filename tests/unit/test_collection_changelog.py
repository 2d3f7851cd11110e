"""The collection's changelog is antsibull-changelog's: fragments that lint, a changelog.yaml that
lints, and a CHANGELOG.rst that is exactly what ``antsibull-changelog generate`` makes of them.

A change to the collection adds a fragment to changelogs/fragments/ (see changelogs/config.yaml for the
sections); ``antsibull-changelog release`` turns them into a version at release time.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("antsibull_changelog", reason="antsibull-changelog is not installed in this environment "
                                                   "(the dev lock brings it); the changelog is not checked")

REPO = Path(__file__).resolve().parents[2]
COLLECTION = REPO / "collections" / "ansible_collections" / "orgiam" / "aws"
BIN = Path(sys.executable).parent


def antsibull_changelog(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "antsibull_changelog", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def test_the_fragments_and_changelog_yaml_lint():
    fragments = antsibull_changelog("lint", cwd=COLLECTION)
    assert fragments.returncode == 0 and not fragments.stdout.strip(), fragments.stdout + fragments.stderr
    history = antsibull_changelog("lint-changelog-yaml", "changelogs/changelog.yaml", cwd=COLLECTION)
    assert history.returncode == 0 and not history.stdout.strip(), history.stdout + history.stderr
    assert not (COLLECTION / "CHANGELOG.md").exists(), "the changelog is CHANGELOG.rst, generated; CHANGELOG.md is gone"


def test_changelog_rst_is_what_antsibull_changelog_generates(tmp_path):
    copy = tmp_path / "ansible_collections" / "orgiam" / "aws"
    shutil.copytree(COLLECTION, copy, ignore=shutil.ignore_patterns("__pycache__", ".plugin-cache.yaml"))
    made = antsibull_changelog("generate", "--ansible-doc-bin", str(BIN / "ansible-doc"), cwd=copy)
    assert made.returncode == 0, made.stdout + made.stderr
    assert (copy / "CHANGELOG.rst").read_text() == (COLLECTION / "CHANGELOG.rst").read_text(), (
        "CHANGELOG.rst differs from what antsibull-changelog generates: run `antsibull-changelog generate` in the collection")

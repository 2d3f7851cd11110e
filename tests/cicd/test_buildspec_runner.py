"""tests/cicd/buildspec_runner.py takes a buildspec as a file, as text (a project's inline
Source.BuildSpec) or parsed, and names each artifact's files as they go into the artifact."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.cicd.buildspec_runner import BuildspecError, parse_buildspec, run_buildspec

SPEC = {
    "version": 0.2,
    "env": {"variables": {"GREETING": "from the buildspec"}, "exported-variables": ["GREETING", "WHERE"]},
    "phases": {"build": {"commands": [
        'export WHERE="$(basename "$PWD")"',
        "mkdir -p out/deep logs && echo a > out/a.txt && echo b > out/deep/b.txt && echo l > logs/build.log",
    ]}},
    "artifacts": {
        "base-directory": "out", "files": ["**/*"],
        "secondary-artifacts": {
            "Logs": {"files": ["logs/*.log"]},
            "Flat": {"base-directory": "out", "files": ["**/*.txt"], "discard-paths": "yes"},
        },
    },
}
ENVIRONMENT = {"PATH": "/usr/bin:/bin", "GREETING": "from the project"}


@pytest.mark.parametrize("form", ["file", "text", "dict"])
def test_a_buildspec_as_a_file_as_text_or_parsed_runs_alike(tmp_path: Path, form: str):
    src = tmp_path / "src"
    src.mkdir()
    text = yaml.safe_dump(SPEC)
    if form == "file":
        (tmp_path / "buildspec.yml").write_text(text)
        buildspec = tmp_path / "buildspec.yml"
    else:
        buildspec = text if form == "text" else dict(SPEC)
    result = run_buildspec(buildspec, src, dict(ENVIRONMENT))
    assert result.succeeded, result.log
    assert result.exported == {"GREETING": "from the project", "WHERE": "src"}
    assert {key: sorted(files) for key, files in result.artifact_sets.items()} == {
        "": ["a.txt", "deep/b.txt"], "Logs": ["logs/build.log"], "Flat": ["a.txt", "b.txt"]}
    assert result.artifact_sets["Flat"]["b.txt"] == src / "out" / "deep" / "b.txt"
    assert sorted(p.relative_to(src).as_posix() for p in result.artifacts) == ["out/a.txt", "out/deep/b.txt"]


def test_an_inline_buildspec_is_checked_as_a_file_is():
    with pytest.raises(BuildspecError, match=r"project toy: phases.build.commands\[0\] is not a string"):
        parse_buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - echo a: b\n", "project toy")
    with pytest.raises(BuildspecError, match="inline buildspec: not YAML"):
        parse_buildspec("version: 0.2\nphases: [\n")
    with pytest.raises(BuildspecError, match="buildspec: version 0.2 expected"):
        run_buildspec({"version": 0.1}, Path("."), {})


def test_a_buildspec_without_artifacts_has_no_artifact_sets(tmp_path: Path):
    result = run_buildspec("version: 0.2\nphases:\n  build:\n    commands:\n      - 'true'\n", tmp_path, dict(ENVIRONMENT))
    assert result.succeeded and result.artifact_sets == {} and result.artifacts == []

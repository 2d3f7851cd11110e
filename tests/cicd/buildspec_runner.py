"""Run a CodeBuild buildspec (version 0.2) on this machine, phase by phase, the way CodeBuild runs it.

What is reproduced:

- variables: the buildspec's ``env.variables`` are defaults; what the caller gives (the project's and the
  action's variables, CodeBuild's own such as ``CODEBUILD_SRC_DIR``) wins, as in CodeBuild;
- ``env.shell`` (bash here) runs every command, starting in ``CODEBUILD_SRC_DIR``;
- variables a command exports, and its working directory, carry over to the commands and phases after it
  (CodeBuild keeps one shell; only exported variables are carried here, which is stricter);
- a command that exits non-zero fails its phase and the phase's remaining commands do not run; a failed
  ``install`` or ``pre_build`` ends the build, a failed ``build`` still runs ``post_build``, with
  ``CODEBUILD_BUILD_SUCCEEDING=0``;
- ``env.exported-variables`` are read when ``post_build`` ends; ``reports`` and ``artifacts`` are
  resolved against their ``base-directory`` (globs as CodeBuild writes them, ``**`` included), and so are
  ``artifacts.secondary-artifacts``; ``BuildRun.artifact_sets`` has each artifact's files under the names
  they take in the artifact (relative to ``base-directory``, or bare with ``discard-paths: yes``);
- the buildspec is a file (a ``Path``), the text of one (a ``str`` with a line break, as a project's
  inline ``Source.BuildSpec``) or one already parsed (a ``dict``): all three are checked alike.

Not reproduced: the container image, ``runtime-versions`` (checked against the running Python instead),
``finally`` blocks, ``on-failure``, secrets (``parameter-store``, ``secrets-manager``), batch builds,
caches, uploading artifacts or reports.

``python -m tests.cicd.buildspec_runner BUILDSPEC SRC_DIR [NAME=VALUE ...]`` runs one from the shell.
"""

from __future__ import annotations

import fnmatch
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PHASES = ("install", "pre_build", "build", "post_build")
# a failure here ends the build; after a failed build phase, post_build still runs
ENDS_BUILD = ("install", "pre_build")

# each command runs in its own bash, started from the state the previous one left: on exit (whatever the
# command did, exit included) the environment and the working directory are written for the next one
_WRAPPER = """__orgiam_state="$1"; shift
trap 'env -0 > "$__orgiam_state.env"; pwd > "$__orgiam_state.cwd"' EXIT
{command}
"""


@dataclass
class CommandRun:
    phase: str
    command: str
    returncode: int
    output: str
    seconds: float


@dataclass
class BuildRun:
    succeeded: bool
    phases: dict[str, str]  # phase -> SUCCEEDED | FAILED | SKIPPED
    commands: list[CommandRun]
    exported: dict[str, str]
    environment: dict[str, str]
    reports: dict[str, list[Path]]  # report group -> files
    artifacts: list[Path]
    seconds: float = 0.0
    log: str = field(default="", repr=False)
    # artifact identifier ("" for the primary artifact) -> {name in the artifact: file in the source dir}
    artifact_sets: dict[str, dict[str, Path]] = field(default_factory=dict)

    def output(self, phase: str | None = None) -> str:
        return "".join(c.output for c in self.commands if phase is None or c.phase == phase)


class BuildspecError(ValueError):
    """The buildspec is not one this runner (or CodeBuild) takes."""


def load_buildspec(path: Path) -> dict[str, Any]:
    return check_buildspec(yaml.safe_load(Path(path).read_text(encoding="utf-8")), str(path))


def parse_buildspec(text: str, origin: str = "inline buildspec") -> dict[str, Any]:
    """A buildspec given as text (a project's ``Source.BuildSpec``), checked as ``load_buildspec`` checks a
    file; ``origin`` names it in errors."""
    try:
        spec = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise BuildspecError(f"{origin}: not YAML: {error}") from None
    return check_buildspec(spec, origin)


def check_buildspec(spec: Any, origin: str) -> dict[str, Any]:
    """``spec`` when it is a buildspec this runner (and CodeBuild) takes, else BuildspecError."""
    if not isinstance(spec, dict) or str(spec.get("version")) != "0.2":
        raise BuildspecError(f"{origin}: version 0.2 expected")
    unknown = set(spec) - {"version", "run-as", "env", "proxy", "batch", "phases", "reports", "artifacts", "cache"}
    if unknown:
        raise BuildspecError(f"{origin}: unknown top-level keys {sorted(unknown)}")
    for phase, phase_spec in (spec.get("phases") or {}).items():
        if phase not in PHASES:
            raise BuildspecError(f"{origin}: unknown phase {phase}")
        for index, command in enumerate((phase_spec or {}).get("commands") or []):
            if not isinstance(command, str):  # CodeBuild: YAML_FILE_ERROR, e.g. an unquoted "a: b"
                raise BuildspecError(f"{origin}: phases.{phase}.commands[{index}] is not a string: {command!r}")
    return spec


def _spec(buildspec: Path | str | dict[str, Any]) -> dict[str, Any]:
    if isinstance(buildspec, dict):
        return check_buildspec(buildspec, "buildspec")
    if isinstance(buildspec, str) and "\n" in buildspec:
        return parse_buildspec(buildspec)
    return load_buildspec(Path(buildspec))


def _check_runtime(spec: dict[str, Any]) -> None:
    wanted = (((spec.get("phases") or {}).get("install") or {}).get("runtime-versions") or {}).get("python")
    if wanted is None:
        return
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if str(wanted) not in (running, str(sys.version_info.major)):
        raise BuildspecError(f"runtime-versions python {wanted}, but this runner has Python {running}")


def _shell(spec: dict[str, Any]) -> str:
    shell = ((spec.get("env") or {}).get("shell")) or "bash"
    if shell not in ("bash", "/bin/bash", "sh", "/bin/sh"):
        raise BuildspecError(f"env.shell {shell} is not supported here")
    return "bash" if "bash" in shell else "sh"


def _read_state(state: Path, fallback_env: dict[str, str], fallback_cwd: str) -> tuple[dict[str, str], str]:
    env_file, cwd_file = Path(f"{state}.env"), Path(f"{state}.cwd")
    if not env_file.exists():
        return fallback_env, fallback_cwd
    entries = env_file.read_bytes().split(b"\0")
    env: dict[str, str] = {}
    for entry in entries:
        if b"=" in entry:
            name, _, value = entry.decode("utf-8", "replace").partition("=")
            if name not in ("_", "SHLVL", "PWD", "OLDPWD"):
                env[name] = value
    cwd = cwd_file.read_text(encoding="utf-8").strip() if cwd_file.exists() else fallback_cwd
    return env, cwd or fallback_cwd


def _matches(relative: str, patterns: list[str]) -> bool:
    for pattern in patterns:
        if pattern in ("**/*", "**"):
            return True
        if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(relative, pattern.replace("**/", "")):
            return True
    return False


def _files(base: Path, patterns: list[str]) -> list[Path]:
    if not base.is_dir():
        return []
    found = [p for p in sorted(base.rglob("*")) if p.is_file() and _matches(p.relative_to(base).as_posix(), patterns)]
    return found


def _artifact_files(src_dir: Path, section: dict[str, Any]) -> dict[str, Path]:
    """The files of one artifact section, by their name in the artifact."""
    base = src_dir / section.get("base-directory", ".")
    flat = str(section.get("discard-paths", "no")).lower() in ("yes", "true")
    return {(p.name if flat else p.relative_to(base).as_posix()): p
            for p in _files(base, list(section.get("files") or []))}


def run_buildspec(buildspec: Path | str | dict[str, Any], src_dir: Path, environment: dict[str, str],
                  timeout: float = 600.0, echo: bool = False) -> BuildRun:
    """Run ``buildspec`` in ``src_dir`` with ``environment`` (the whole environment: nothing of this
    process's is added, so that the build sees only what CodeBuild would give it).

    ``buildspec``: a file, buildspec text (a ``str`` with a line break in it) or a parsed buildspec.
    ``timeout`` bounds each command; a command that outlives it raises ``subprocess.TimeoutExpired``."""
    started = time.perf_counter()
    spec = _spec(buildspec)
    _check_runtime(spec)
    shell = _shell(spec)
    env_section = spec.get("env") or {}
    env = {name: "" if value is None else str(value) for name, value in (env_section.get("variables") or {}).items()}
    env.update(environment)
    env["CODEBUILD_SRC_DIR"] = str(src_dir)
    env.setdefault("CODEBUILD_BUILD_SUCCEEDING", "1")
    cwd = str(src_dir)
    phases: dict[str, str] = {}
    commands: list[CommandRun] = []
    build_failed = False
    with tempfile.TemporaryDirectory(prefix="buildspec-") as scratch:
        state = Path(scratch) / "state"
        for phase in PHASES:
            phase_spec = (spec.get("phases") or {}).get(phase) or {}
            if build_failed and phase != "post_build" or phases.get("install") == "FAILED" \
                    or phases.get("pre_build") == "FAILED":
                phases[phase] = "SKIPPED"
                continue
            status = "SUCCEEDED"
            for command in phase_spec.get("commands") or []:
                script = Path(scratch) / "command.sh"
                script.write_text(_WRAPPER.format(command=command), encoding="utf-8")
                began = time.perf_counter()
                proc = subprocess.run([shell, str(script), str(state)], cwd=cwd, env=env, capture_output=True,
                                      text=True, timeout=timeout)
                output = proc.stdout + proc.stderr
                if echo:
                    sys.stdout.write(f"[{phase}] $ {command.strip().splitlines()[0]}\n{output}")
                commands.append(CommandRun(phase, command, proc.returncode, output, time.perf_counter() - began))
                env, cwd = _read_state(state, env, cwd)
                if proc.returncode != 0:
                    status = "FAILED"
                    break
            phases[phase] = status
            if status == "FAILED":
                build_failed = True
                env["CODEBUILD_BUILD_SUCCEEDING"] = "0"
    exported = {name: env.get(name, "") for name in env_section.get("exported-variables") or []}
    reports = {}
    for group, report in (spec.get("reports") or {}).items():
        base = src_dir / report.get("base-directory", ".")
        reports[group] = _files(base, list(report.get("files") or []))
    artifacts_spec = spec.get("artifacts") or {}
    artifacts = _files(src_dir / artifacts_spec.get("base-directory", "."), list(artifacts_spec.get("files") or []))
    artifact_sets = {"": _artifact_files(src_dir, artifacts_spec)} if artifacts_spec.get("files") else {}
    for identifier, section in (artifacts_spec.get("secondary-artifacts") or {}).items():
        artifact_sets[str(identifier)] = _artifact_files(src_dir, section or {})
    log = "".join(f"[{c.phase}] $ {c.command.strip()}\n{c.output}" for c in commands)
    return BuildRun(
        succeeded=not build_failed, phases=phases, commands=commands, exported=exported, environment=env,
        reports=reports, artifacts=artifacts, seconds=time.perf_counter() - started, log=log,
        artifact_sets=artifact_sets,
    )


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 2:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 64
    buildspec, src_dir, assignments = Path(args[0]), Path(args[1]).resolve(), args[2:]
    environment = {k: v for k, v in os.environ.items()}
    for assignment in assignments:
        name, _, value = assignment.partition("=")
        environment[name] = value
    result = run_buildspec(buildspec, src_dir, environment, echo=True)
    print(f"phases: {result.phases}")
    print(f"exported: {result.exported}")
    print(f"reports: { {g: [str(p) for p in f] for g, f in result.reports.items()} }")
    print(f"artifacts: {[str(p.relative_to(src_dir)) for p in result.artifacts]}")
    print(f"{'SUCCEEDED' if result.succeeded else 'FAILED'} in {result.seconds:.1f} s")
    return 0 if result.succeeded else 1


if __name__ == "__main__":
    sys.exit(main())

"""The molecule scenario tests/molecule/default, run as a person runs it: ``molecule test`` from tests/.

The scenario starts its own emulator (create.yml: ``python -m emulator serve`` in the background, its
pid in molecule's ephemeral directory) and stops it (destroy.yml). This test gives it a free port
through ORGIAM_EMULATOR_PORT and an ephemeral directory of its own, and checks that the run passed
converge, idempotence and verify, and that no emulator was left behind.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def molecule_env(port: int, ephemeral: Path) -> dict[str, str]:
    """The caller's environment without AWS, Ansible or molecule settings, plus the scenario's knobs."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_", "MOLECULE_"))}
    env.update(
        # molecule calls ansible-config and ansible-playbook by name
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
        ORGIAM_EMULATOR_PORT=str(port),
        MOLECULE_EPHEMERAL_DIRECTORY=str(ephemeral),
        NO_COLOR="1",
        PY_COLORS="0",
    )
    return env


def listening(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def stop_leftover_emulator(ephemeral: Path) -> bool:
    """Stop the emulator the scenario started if its destroy step did not run; True if there was one."""
    pid_file = ephemeral / "emulator.pid"
    if not pid_file.exists():
        return False
    pid = int(pid_file.read_text().strip())
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
    except OSError:
        return False
    if b"emulator" in cmdline and b"serve" in cmdline:
        os.kill(pid, signal.SIGTERM)
        return True
    return False


def step_results(output: str) -> dict[str, str]:
    """molecule's end-of-run DETAILS: {step: result}, e.g. {"idempotence": "Executed: Successful"}.

    The arrow is "➜" on a terminal and ">" otherwise (NO_COLOR, captured output)."""
    steps: dict[str, str] = {}
    for line in output.splitlines():
        match = re.match(r"^default (?:➜|>) (\w+): (Executed: .+)$", line.strip())
        if match:
            steps[match.group(1)] = match.group(2)
    return steps


def test_molecule_test_converges_idempotently_and_verifies(tmp_path: Path, free_port: int) -> None:
    ephemeral = tmp_path / "molecule-ephemeral"
    assert not listening(free_port)
    try:
        proc = subprocess.run(
            [str(BIN / "molecule"), "test", "--scenario-name", "default"],
            cwd=REPO / "tests",
            env=molecule_env(free_port, ephemeral),
            capture_output=True,
            text=True,
            timeout=240,
            check=False,
        )
    finally:
        leftover = stop_leftover_emulator(ephemeral)
    output = ANSI_ESCAPE.sub("", proc.stdout + proc.stderr)
    tail = output[-6000:]

    assert proc.returncode == 0, tail
    steps = step_results(output)
    # idempotence is a second converge, which molecule fails on any changed=N>0 in the play recap
    for step in ("create", "converge", "idempotence", "verify", "destroy"):
        assert steps.get(step) == "Executed: Successful", f"{step}: {steps.get(step)}\n{tail}"
    # verify ran its checks in the accounts (the last task of verify.yml)
    assert "The groups exist in the central account" in output, tail
    # destroy stopped the emulator the scenario started
    assert not leftover, "destroy did not stop the emulator"
    assert not listening(free_port), "something still listens on the scenario's port"

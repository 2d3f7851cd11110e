"""``python -m emulator``: serve, seed, wait, is-up, reset."""

from __future__ import annotations

import os
import re
import selectors
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from emulator import control
from emulator.__main__ import main, parse_spec
from tests.emulator.conftest import management_client

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def closed_endpoint() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_parse_spec() -> None:
    assert parse_spec("demo")["management_account"]["name"] == "Management"
    large = parse_spec("large:30:26")
    assert len(large["organizational_units"]) == 4
    with pytest.raises(Exception, match="unknown spec"):
        parse_spec("huge")
    with pytest.raises(Exception, match="unknown spec"):
        parse_spec("large:x")


def test_probes_against_nothing(closed_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["is-up", "--endpoint", closed_endpoint]) == 1
    assert capsys.readouterr() == ("", "")
    assert main(["wait", "--endpoint", closed_endpoint, "--timeout", "0.3"]) == 1
    assert "no answer at" in capsys.readouterr().err
    assert main(["seed", "--endpoint", closed_endpoint]) == 1
    assert "nothing answers" in capsys.readouterr().err


def test_commands_against_a_running_emulator(
    endpoint: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "a-real-profile-not-here")  # the user's AWS configuration is not used
    assert main(["is-up", "--endpoint", endpoint]) == 0
    assert main(["wait", "--endpoint", endpoint, "--timeout", "5"]) == 0
    assert main(["seed", "--endpoint", endpoint]) == 0
    assert "12 accounts" in capsys.readouterr().out
    assert len(management_client(endpoint, "organizations").list_accounts()["Accounts"]) == 12
    assert main(["reset", "--endpoint", endpoint]) == 0
    with pytest.raises(Exception, match="AWSOrganizationsNotInUseException"):
        management_client(endpoint, "organizations").describe_organization()


def test_serve_on_a_port_in_use_fails_clearly(endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    port = endpoint.rsplit(":", 1)[1]
    assert main(["serve", "--port", port, "--no-seed"]) == 1
    assert f"cannot listen on 127.0.0.1:{port}" in capsys.readouterr().err
    assert signal.SIGINT not in signal.pthread_sigmask(signal.SIG_BLOCK, set())


def start_serve(*args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "AWS_PROFILE": "a-real-profile-not-here"}
    return subprocess.Popen([sys.executable, "-m", "emulator", "serve", "--port", "0", *args], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def first_line(process: subprocess.Popen[str], timeout: float) -> str:
    """The first line the process prints, waiting at most ``timeout`` seconds for it."""
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if selector.select(timeout=deadline - time.monotonic()):
                return process.stdout.readline()
    process.kill()
    raise AssertionError(f"no output within {timeout} s")


@pytest.mark.parametrize(
    ("stop_signal", "extra_args"),
    [(signal.SIGTERM, ()), (signal.SIGINT, ("--no-seed",))],
    ids=["seeded-sigterm", "unseeded-sigint"],
)
def test_serve_announces_itself_and_stops_cleanly(stop_signal: signal.Signals, extra_args: tuple[str, ...]) -> None:
    process = start_serve(*extra_args)
    try:
        line = first_line(process, timeout=60)
        match = re.search(r"AWS_ENDPOINT_URL=(http://127\.0\.0\.1:\d+)", line)
        assert match, line
        for variable in ("AWS_ACCESS_KEY_ID=testing", "AWS_SECRET_ACCESS_KEY=testing", "AWS_DEFAULT_REGION=us-east-1"):
            assert variable in line
        endpoint = match.group(1)
        assert control.is_up(endpoint)
        assert control.status(endpoint) == {"ready": True}
        accounts = [] if extra_args else management_client(endpoint, "organizations").list_accounts()["Accounts"]
        assert len(accounts) == (0 if extra_args else 12)
    finally:
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err

"""Shared test set-up: the collection and the emulator package are importable."""

import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for path in (REPO, os.path.join(REPO, "collections")):
    if path not in sys.path:
        sys.path.insert(0, path)

import socket

import pytest


@pytest.fixture
def free_port() -> int:
    """A port on 127.0.0.1 where nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def emulator():
    """One emulator per test session (per xdist worker), on a free port."""
    from emulator.server import EmulatorServer

    server = EmulatorServer(port=0)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def demo_org(emulator):
    """The demo organization, freshly seeded: {name: account id} (management account included)."""
    import urllib.request

    from emulator.organization import load_demo_spec, seed_organization

    urllib.request.urlopen(urllib.request.Request(f"{emulator.endpoint_url}/_orgiam/reset", method="POST")).read()
    seeded = seed_organization(emulator.endpoint_url, load_demo_spec())
    return dict(seeded["accounts"])


@pytest.fixture
def workspace(tmp_path, emulator, demo_org):
    """A copy of the catalog and an inventory pointing at it, against the freshly seeded demo org."""
    from tests.emulated import make_workspace

    return make_workspace(tmp_path, emulator.endpoint_url, demo_org)

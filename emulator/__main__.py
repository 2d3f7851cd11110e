"""``python -m emulator``: run, seed, probe and reset the local AWS endpoint.

    serve  [--port N] [--no-seed] [--spec demo|large:N]   run in the foreground until SIGINT/SIGTERM
    seed   [--endpoint URL] [--spec demo|large:N] [--json] seed a running emulator (idempotent)
    wait   [--endpoint URL] [--timeout S]                   exit 0 once it answers (and is seeded)
    is-up  [--endpoint URL]                                 exit 0 if the orgiam emulator answers there
    reset  [--endpoint URL]                                 forget all AWS state and the call log

The default endpoint is http://127.0.0.1:$ORGIAM_EMULATOR_PORT (5000 when unset).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from emulator import control
from emulator.settings import client_environment, default_endpoint_url, default_port


def parse_spec(value: str) -> dict[str, Any]:
    """``demo`` or ``large:N`` (N member accounts in 50 OUs) or ``large:N:M`` (in M OUs)."""
    from emulator.organization import build_spec, load_demo_spec

    if value == "demo":
        return load_demo_spec()
    kind, _, sizes = value.partition(":")
    if kind == "large":
        try:
            numbers = [int(part) for part in sizes.split(":")] if sizes else []
        except ValueError:
            numbers = [-1]
        if len(numbers) in (1, 2) and all(n > 0 for n in numbers):
            return build_spec(*numbers)
    raise argparse.ArgumentTypeError(f"unknown spec {value!r}: use demo, large:N or large:N:M")


def _summary(seeded: dict[str, Any], seconds: float) -> str:
    return (f"{len(seeded['accounts'])} accounts (management account {seeded['management_account_id']}) "
            f"and {len(seeded['ous'])} OUs in {seconds:.1f} s")


# The user's AWS configuration is for AWS; moto reads it when it loads (and fails on a profile it cannot
# find), so the emulator's process drops it.
_USER_AWS_CONFIGURATION = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE")


def serve(args: argparse.Namespace) -> int:
    for variable in _USER_AWS_CONFIGURATION:
        os.environ.pop(variable, None)
    from emulator.organization import seed_organization
    from emulator.server import EmulatorServer

    # SIGINT and SIGTERM are taken by sigwait below; every thread started from here on inherits the block
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    previous_mask = signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    server = EmulatorServer(port=args.port)
    server.state.set_ready(args.no_seed)  # `wait` holds off until the seed is in
    try:
        server.start()
    except OSError as error:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous_mask)
        print(f"orgiam emulator: cannot listen on 127.0.0.1:{args.port}: {error}", file=sys.stderr)
        return 1
    endpoint = server.endpoint_url
    outcome: dict[str, Any] = {}

    def seed_then_announce() -> None:
        description = "no organization seeded"
        if not args.no_seed:
            started = time.perf_counter()
            try:
                seeded = seed_organization(endpoint, args.spec)
            except Exception as error:  # reported, then the server stops
                outcome["error"] = error
                signal.pthread_kill(threading.main_thread().ident or 0, signal.SIGTERM)
                return
            description = "seeded " + _summary(seeded, time.perf_counter() - started)
        server.state.set_ready(True)
        exports = " ".join(f"{name}={value}" for name, value in client_environment(endpoint).items())
        print(f"export {exports}  # orgiam emulator ready at {endpoint}: {description}", flush=True)

    threading.Thread(target=seed_then_announce, name="orgiam-seed", daemon=True).start()
    signal.sigwait(stop_signals)
    seeding_error = outcome.get("error")  # read before stopping: seeding cut short by the stop is no failure
    server.stop()
    if seeding_error is not None:
        print(f"orgiam emulator: seeding failed: {seeding_error}", file=sys.stderr)
        return 1
    return 0


def seed(args: argparse.Namespace) -> int:
    from emulator.organization import seed_organization

    if not control.is_up(args.endpoint):
        print(f"orgiam emulator: nothing answers at {args.endpoint}; start it with `python -m emulator serve`",
              file=sys.stderr)
        return 1
    started = time.perf_counter()
    try:
        seeded = seed_organization(args.endpoint, args.spec)
    except Exception as error:  # an AWS error from the endpoint: say which, without a traceback
        print(f"orgiam emulator: seeding {args.endpoint} failed: {error}", file=sys.stderr)
        return 1
    if args.json:
        print(json.dumps(seeded, indent=2))
    else:
        print(f"seeded {args.endpoint}: {_summary(seeded, time.perf_counter() - started)}")
    return 0


def wait(args: argparse.Namespace) -> int:
    if control.wait_until_ready(args.endpoint, args.timeout):
        return 0
    print(f"orgiam emulator: no answer at {args.endpoint} within {args.timeout:g} s; "
          "start it with `python -m emulator serve`", file=sys.stderr)
    return 1


def is_up(args: argparse.Namespace) -> int:
    return 0 if control.is_up(args.endpoint) else 1


def reset(args: argparse.Namespace) -> int:
    try:
        control.reset(args.endpoint)
    except OSError as error:
        print(f"orgiam emulator: cannot reset {args.endpoint}: {error}", file=sys.stderr)
        return 1
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m emulator", description="orgiam's local AWS endpoint")
    commands = parser.add_subparsers(dest="command", required=True)

    def command(name: str, handler: Callable[[argparse.Namespace], int], help_text: str,
                endpoint: bool = True) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help_text, description=help_text)
        sub.set_defaults(handler=handler)
        if endpoint:
            sub.add_argument("--endpoint", default=default_endpoint_url(),
                             help="emulator URL (default: %(default)s, from ORGIAM_EMULATOR_PORT)")
        return sub

    serve_parser = command("serve", serve, "run the emulator in the foreground", endpoint=False)
    serve_parser.add_argument("--port", type=int, default=default_port(),
                              help="port on 127.0.0.1 (default: %(default)s, from ORGIAM_EMULATOR_PORT; 0 = any)")
    serve_parser.add_argument("--no-seed", action="store_true", help="start with no organization")
    serve_parser.add_argument("--spec", type=parse_spec, default="demo", help="demo (default), large:N or large:N:M")

    seed_parser = command("seed", seed, "seed the organization into a running emulator (idempotent)")
    seed_parser.add_argument("--spec", type=parse_spec, default="demo", help="demo (default), large:N or large:N:M")
    seed_parser.add_argument("--json", action="store_true", help="print the ids as JSON")

    wait_parser = command("wait", wait, "wait until the emulator answers and has finished seeding")
    wait_parser.add_argument("--timeout", type=float, default=30.0, help="seconds (default: %(default)s)")

    command("is-up", is_up, "exit 0 if the orgiam emulator answers, 1 otherwise")
    command("reset", reset, "reset all AWS state and the call log")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    return handler(args)


if __name__ == "__main__":
    sys.exit(main())

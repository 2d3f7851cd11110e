#!/usr/bin/env python3
"""Where a no-op sync's time goes, at N accounts: Ansible, orgiam, botocore, the emulator.

    .venv/bin/python benchmarks/profile_noop.py --accounts 1000 --ous 50

Seeds the same organization and catalog as `make bench` (benchmarks/bench.py), runs a first sync, then:

1. a plain no-op sync, measured as the benchmark does (wall clock; CPU of ansible-playbook and all its
   processes; CPU of the emulator meanwhile; calls);
2. the same no-op under benchmarks/stack_sampler.py: every thread of ansible-playbook and of its worker
   sampled, with when the worker started and ended;
3. the inventory alone (`ansible-inventory --graph`), for Ansible start-up plus discovery.

and prints the breakdown. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import bench, benchlib
from emulator.org_spec import build_spec


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--ous", type=int, default=None)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    ous = args.ous or benchlib.default_ous(args.accounts)
    spec = build_spec(args.accounts, ous, depth=5)
    port = bench.free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true",
               ANSIBLE_CONFIG=str(REPO / "ansible.cfg"), PATH=f"{bench.BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    work = Path(tempfile.mkdtemp(prefix="orgiam-profile-"))
    log = work / "profile.log"
    server = subprocess.Popen([str(bench.BIN / "python"), "-m", "emulator", "serve", "--port", str(port), "--no-seed"],
                              cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        subprocess.run([str(bench.BIN / "python"), "-m", "emulator", "wait", "--endpoint", endpoint, "--timeout", "120"],
                       cwd=REPO, env=env, check=True)
        seeded = bench.fresh_organization(endpoint, spec)
        bucket = bench.make_template_bucket(endpoint, seeded["accounts"]["Security"])
        bench.write_catalog(work, bucket, bench.team_paths(spec), args.concurrency, bench.POLICIES_BEFORE)
        report = work / "out" / "report.json"
        playbook = [str(bench.BIN / "ansible-playbook"), "-i", str(work / "inventory"),
                    str(REPO / "playbooks" / "sync.yml"), "-e", f"orgiam_report_dir={work / 'out'}"]

        def measure(label: str, command: list[str], with_report: bool = True) -> dict:
            result = bench.measure(label, command, env, endpoint, server.pid, log, 3600, report if with_report else None)
            if result["error"]:
                raise SystemExit(result["error"])
            return result

        measure("first", playbook)
        plain = measure("noop", playbook)
        samples = work / "samples"
        sampled = measure("noop sampled", [str(bench.BIN / "python"), str(REPO / "benchmarks" / "stack_sampler.py"),
                                           str(samples)] + playbook)
        inventory = measure("inventory", [str(bench.BIN / "ansible-inventory"), "-i", str(work / "inventory"), "--graph"],
                            False)
        print_breakdown(args.accounts, plain, sampled, inventory, samples)
        print(f"\nwork directory: {work}")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    return 0


def print_breakdown(n: int, plain: dict, sampled: dict, inventory: dict, samples: Path) -> None:
    print(f"\n== no-op sync at N={n:,}: {plain['seconds']:.1f} s wall, {plain['calls']:,} calls; sync engine "
          f"{plain.get('engine_seconds')} s (orgiam's report); CPU: controller {plain['cpu_controller']:.1f} s, "
          f"emulator {plain['cpu_emulator']:.1f} s ({1000 * plain['cpu_emulator'] / max(plain['calls'], 1):.1f} ms a call)")
    print(f"   inventory alone: {inventory['seconds']:.1f} s wall, {inventory['calls']:,} calls, CPU controller "
          f"{inventory['cpu_controller']:.1f} s, emulator {inventory['cpu_emulator']:.1f} s")
    print(f"   sampled run: {sampled['seconds']:.1f} s wall (the sampler's own cost included)")
    profiles = [json.loads(path.read_text()) for path in sorted(samples.glob("*.json"))]
    origin = min((p["events"][0][1] for p in profiles if p["role"] == "main"), default=0)
    for data in profiles:
        events = data["events"]
        start = origin or events[0][1]
        print(f"\n-- {data['role']} process {data['pid']}: " + ", ".join(f"{name} at {t - start:.1f} s" for name, t in events))
        total: Counter[str] = Counter()
        for key, count in data["samples"].items():
            kind, _, what = key.partition(" | ")
            total[kind] += count
        for kind in sorted(total):
            print(f"   {kind}: {total[kind] * data['interval']:.1f} thread-seconds sampled")
            rows = sorted(((c, k.partition(' | ')[2]) for k, c in data["samples"].items() if k.startswith(kind)), reverse=True)
            for count, what in rows:
                print(f"      {100 * count / total[kind]:5.1f}%  {what}")
        for title, key in (("cumulative", "cumulative"), ("self", "self")):
            print(f"   hottest functions ({title}, samples):")
            for name, count in list(data[key].items())[:25]:
                print(f"      {count:6d}  {name}")


if __name__ == "__main__":
    sys.exit(main())

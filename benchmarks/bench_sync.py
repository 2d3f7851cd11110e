#!/usr/bin/env python3
"""Benchmark orgiam on a large emulated organization: inventory, first sync, no-op sync, plan.

    .venv/bin/python benchmarks/bench_sync.py --accounts 1000 --ous 50

Starts its own emulator on a free port (a separate process, as in real use the
endpoint is remote), seeds the organization, runs the real commands and prints
a Markdown table of wall-clock times and API calls (counted by the emulator)
for docs/performance.md. Not part of `make test`: it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http(method: str, url: str) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=60) as response:
        return response.read()


def run(args: list[str], env: dict[str, str], label: str) -> tuple[float, subprocess.CompletedProcess]:
    started = time.monotonic()
    proc = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.monotonic() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-4000:])
        raise SystemExit(f"{label} failed with exit {proc.returncode}")
    return seconds, proc


def make_template_bucket(endpoint: str) -> str:
    """The central account's bucket for templates over CloudFormation's 51,200-byte body limit."""
    import boto3

    base = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    org = base.client("organizations", endpoint_url=endpoint)
    security = next(a["Id"] for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"] if a["Name"] == "Security")
    creds = base.client("sts", endpoint_url=endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{security}:role/OrganizationAccountAccessRole", RoleSessionName="bench")["Credentials"]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id=creds["AccessKeyId"],
                      aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    bucket = f"orgiam-templates-{security}"
    s3.create_bucket(Bucket=bucket)
    return bucket


CATALOG_ROLES = {
    "readonly.yml": "name: ReadOnly\nmanaged_policies: [ReadOnlyAccess]\ntargets: {ou_paths: [Workloads, Security]}\n",
    "sandbox-admin.yml": "name: SandboxAdmin\nmanaged_policies: [AdministratorAccess]\ntargets: {ou_paths: [Sandbox]}\n",
    "prod-support.yml": "name: ProdSupport\nmanaged_policies: [job-function/SupportUser]\ntargets: {tags: {Environment: prod}}\n",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=1000)
    parser.add_argument("--ous", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    args = parser.parse_args()

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env.update(
        AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
        AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    work = Path(tempfile.mkdtemp(prefix="orgiam-bench-"))
    server = subprocess.Popen([str(BIN / "python"), "-m", "emulator", "serve", "--port", str(port), "--no-seed"],
                              cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    rows: list[tuple[str, str, str, str]] = []
    try:
        subprocess.run([str(BIN / "python"), "-m", "emulator", "wait", "--endpoint", endpoint, "--timeout", "60"], cwd=REPO, env=env, check=True)
        seed_s, _ = run([str(BIN / "python"), "-m", "emulator", "seed", "--endpoint", endpoint, "--spec", f"large:{args.accounts}:{args.ous}"], env, "seed")
        bucket = make_template_bucket(endpoint)
        (work / "catalog" / "roles").mkdir(parents=True)
        (work / "catalog" / "settings.yml").write_text(
            f"central_account: Security\nconcurrency: {args.concurrency}\ntemplate_bucket: {bucket}\n")
        for name, text in CATALOG_ROLES.items():
            (work / "catalog" / "roles" / name).write_text(text)
        (work / "inventory").mkdir()
        (work / "inventory" / "organization.orgiam.yml").write_text("plugin: orgiam.aws.organization\ncatalog: ../catalog\n")
        playbook = [str(BIN / "ansible-playbook"), "-i", str(work / "inventory"), str(REPO / "playbooks" / "sync.yml"),
                    "-e", f"orgiam_report_dir={work / 'out'}"]

        def measure(label: str, command: list[str]) -> dict:
            http("DELETE", f"{endpoint}/_orgiam/calls")
            seconds, _ = run(command, env, label)
            calls = json.loads(http("GET", f"{endpoint}/_orgiam/calls"))
            by_op = Counter(f"{c['service']}:{c['operation']}" for c in calls)
            report = json.loads((work / "out" / "report.json").read_text()) if label.startswith("sync") or label.startswith("plan") else {}
            return {"seconds": seconds, "calls": len(calls), "by_op": by_op, "report": report}

        inventory = measure("inventory", [str(BIN / "ansible-inventory"), "-i", str(work / "inventory"), "--graph"])
        first = measure("sync (first)", playbook)
        noop = measure("sync (no-op)", playbook)
        plan = measure("plan (no changes)", playbook + ["--check"])
        live = measure("sync (live no-op)", playbook + ["-e", "orgiam_verify=live"])

        hosts = first["report"]["accounts_in_run"]
        rows.append(("seed the organization (emulator only)", f"{seed_s:.1f}", "-", "-"))
        rows.append(("ansible-inventory --graph", f"{inventory['seconds']:.1f}", str(inventory["calls"]), f"{inventory['calls'] / hosts:.2f}"))
        for label, data in (("first sync (creates every stack)", first), ("no-op sync", noop), ("--check (nothing to change)", plan),
                            ("live-verified no-op sync (-e orgiam_verify=live)", live)):
            rows.append((label, f"{data['seconds']:.1f}", str(data["calls"]), f"{data['calls'] / hosts:.2f}"))
        print(f"## {args.accounts} accounts in {args.ous} OUs, concurrency {args.concurrency}\n")
        print(f"Measured {time.strftime('%Y-%m-%d')} on {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
              f"{hosts} active accounts are hosts; roles deployed: {first['report']['member_stacks']['created']} member stacks.\n")
        print("| step | seconds | API calls | calls per account |\n| --- | ---: | ---: | ---: |")
        for row in rows:
            print("| " + " | ".join(row) + " |")
        print("\nCalls of the no-op sync by operation: " + ", ".join(f"{op} {n}" for op, n in noop["by_op"].most_common()))
        print("Calls of the live no-op by operation: " + ", ".join(f"{op} {n}" for op, n in live["by_op"].most_common()))
        print(f"Report of the live no-op: at most {live['report']['api_calls']['max_per_account']} calls for one account; "
              f"sync engine time {live['report']['seconds']} s; changes made by hand found: {len(live['report'].get('drift', []))}.")
        print("Calls of the inventory by operation: " + ", ".join(f"{op} {n}" for op, n in inventory["by_op"].most_common()))
        print(f"Report of the no-op sync: at most {noop['report']['api_calls']['max_per_account']} calls for one account; "
              f"sync engine time {noop['report']['seconds']} s (the rest is Ansible start-up and inventory).")
    finally:
        server.terminate()
        server.wait(timeout=30)
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

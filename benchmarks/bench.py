#!/usr/bin/env python3
"""`make bench`: orgiam against a naive playbook on N emulated accounts, several runs, min and median.

    make bench                                   # N=100, OUs from N, 3 runs
    make bench N=1000 OUS=50 RUNS=2
    .venv/bin/python benchmarks/bench.py --accounts 1000 --ous 50 --runs 2 [--naive-max 1000] [--naive-runs 1]

Starts its own emulator (a separate process, on a free port) and, for each run, seeds a fresh
organization of N member accounts in M OUs up to five levels deep (emulator/org_spec.py,
``build_spec(..., depth=5)``), then measures, each as its own command:

    inventory   ansible-inventory --graph
    first       ansible-playbook playbooks/sync.yml (every member stack created)
    noop        the same again (nothing to do)
    change      after the ReadOnly role got one more managed policy (every member stack updated)
    live        the same with -e orgiam_verify=live (read back through IAM; nothing to do)

and, on the same organization seeded afresh (so that orgiam's roles are not in the way), the naive
playbook of benchmarks/naive/ twice (first run, no-op run). For each command: wall clock, API calls
by operation (the emulator's own log), the controller's peak memory (ansible-playbook and all its
workers, summed RSS sampled from /proc), its CPU time and the emulator's.

Results go to benchmarks/results.json (one entry per N, replaced when re-run with the same N), the
chart to docs/images/bench.png, and the section between the bench markers of docs/performance.md.
Not part of `make test`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import benchlib
from emulator.org_spec import build_spec, flatten
from emulator.organization import seed_organization

BIN = Path(sys.executable).parent
NAIVE = REPO / "benchmarks" / "naive"
RESULTS = REPO / "benchmarks" / "results.json"
DOC = REPO / "docs" / "performance.md"
CHART = REPO / "docs" / "images" / "bench.png"
MEMBER_ROLE = "OrganizationAccountAccessRole"

READONLY = "name: ReadOnly\ndescription: Read-only access to every service, for engineers looking into workloads.\n" \
           "managed_policies: [{policies}]\ntargets:\n  ou_paths:\n{paths}"
POLICIES_BEFORE = "ReadOnlyAccess"
POLICIES_AFTER = "ReadOnlyAccess, job-function/ViewOnlyAccess"


# --- the emulator ----------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http(method: str, url: str, timeout: float = 300) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=timeout) as response:
        return bytes(response.read())


def calls_by_operation(endpoint: str) -> Counter[str]:
    """The emulator's call log since it was last cleared, as counts only (the log is not kept)."""
    return Counter(f"{c['service']}:{c['operation']}" for c in json.loads(http("GET", f"{endpoint}/_orgiam/calls")))


def management_session() -> Any:
    import boto3

    return boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")


def account_session(endpoint: str, account_id: str) -> Any:
    import boto3

    base = management_session()
    creds = base.client("sts", endpoint_url=endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{MEMBER_ROLE}", RoleSessionName="bench")["Credentials"]
    return boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                         aws_session_token=creds["SessionToken"], region_name="us-east-1")


def fresh_organization(endpoint: str, spec: dict[str, Any]) -> dict[str, Any]:
    """Reset the emulator and seed the spec: every run starts from the same, empty organization."""
    http("POST", f"{endpoint}/_orgiam/reset")
    return seed_organization(endpoint, spec)


def active_members(endpoint: str, management_id: str) -> list[dict[str, str]]:
    org = management_session().client("organizations", endpoint_url=endpoint)
    return [a for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"]
            if a["Status"] == "ACTIVE" and a["Id"] != management_id]


# --- the catalog and the inventories -----------------------------------------------------------------

def team_paths(spec: dict[str, Any]) -> list[str]:
    """The catalog's targets: Security, Sandbox and each team OU (one default group per team, so that no
    group grants more role ARNs than IAM's 10 managed policies per group hold, even at 10,000 accounts)."""
    layout = flatten(spec)
    return ["Security", "Sandbox"] + [ou.path for ou in layout.ous if ou.parent_path == "Workloads"]


def write_catalog(work: Path, bucket: str, paths: list[str], concurrency: int, policies: str) -> None:
    roles = work / "catalog" / "roles"
    roles.mkdir(parents=True, exist_ok=True)
    (work / "catalog" / "settings.yml").write_text(
        f"central_account: Security\nconcurrency: {concurrency}\ntemplate_bucket: {bucket}\n", encoding="utf-8")
    (roles / "readonly.yml").write_text(
        READONLY.format(policies=policies, paths="".join(f"    - {json.dumps(p)}\n" for p in paths)), encoding="utf-8")
    inventory = work / "inventory"
    inventory.mkdir(exist_ok=True)
    (inventory / "organization.orgiam.yml").write_text("plugin: orgiam.aws.organization\ncatalog: ../catalog\n",
                                                       encoding="utf-8")


def make_template_bucket(endpoint: str, central_id: str) -> str:
    """The central account's bucket for a central template over CloudFormation's 51,200-byte body limit."""
    bucket = f"orgiam-templates-{central_id}"
    account_session(endpoint, central_id).client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
    return bucket


def host_name(account_name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", account_name.lower()).strip("-")


def write_naive_inventory(path: Path, members: list[dict[str, str]], central_id: str) -> int:
    """A static YAML inventory of the same accounts (what a new user generates once from ListAccounts)."""
    import yaml

    hosts = {host_name(a["Name"]): {"account_id": a["Id"]} for a in members}
    path.write_text(yaml.safe_dump({"all": {"vars": {"central_account_id": central_id},
                                            "children": {"accounts": {"hosts": hosts}}}}), encoding="utf-8")
    return len(hosts)


# --- one measured command ---------------------------------------------------------------------------

def measure(label: str, command: list[str], env: dict[str, str], endpoint: str, emulator_pid: int, log: Path,
            timeout: float, report: Path | None = None) -> dict[str, Any]:
    """Run one command, its output to ``log``; wall clock, calls, peak memory of its process tree, CPU."""
    http("DELETE", f"{endpoint}/_orgiam/calls")
    if report is not None and report.exists():
        report.unlink()
    emulator_cpu = benchlib.cpu_seconds(emulator_pid)
    children_cpu = resource.getrusage(resource.RUSAGE_CHILDREN)
    error = None
    with log.open("ab") as out:
        out.write(f"\n===== {label}: {' '.join(command)}\n".encode())
        out.flush()
        started = time.monotonic()
        proc = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        with benchlib.TreeMemorySampler(proc.pid) as sampler:
            try:
                code = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                code = None
        seconds = time.monotonic() - started
    if code is None:
        error = f"{label}: timed out after {timeout:.0f} s"
    elif code != 0:
        error = f"{label}: exit {code} (see the log)"
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    by_op = calls_by_operation(endpoint)
    result: dict[str, Any] = {
        "seconds": seconds, "calls": sum(by_op.values()), "by_op": by_op,
        "peak_memory_mb": sampler.peak_mb, "peak_processes": sampler.peak_processes,
        "cpu_controller": round(after.ru_utime + after.ru_stime - children_cpu.ru_utime - children_cpu.ru_stime, 2),
        "cpu_emulator": round(benchlib.cpu_seconds(emulator_pid) - emulator_cpu, 2),
        "error": error,
    }
    if report is not None and report.exists():
        data = json.loads(report.read_text(encoding="utf-8"))
        result["engine_seconds"] = data.get("seconds")
    status = "FAILED " + error if error else "ok"
    print(f"  {label:<12} {seconds:8.1f} s  {result['calls']:>7,} calls  peak {sampler.peak_mb:7.1f} MB  "
          f"cpu controller {result['cpu_controller']:.1f} s, emulator {result['cpu_emulator']:.1f} s  {status}",
          flush=True)
    if error:
        sys.stdout.write(tail(log))
    return result


def tail(path: Path, size: int = 3000) -> str:
    with path.open("rb") as handle:
        handle.seek(max(0, path.stat().st_size - size))
        return handle.read().decode(errors="replace") + "\n"


# --- the runs -----------------------------------------------------------------------------------------

def orgiam_run(ctx: dict[str, Any], run: int) -> dict[str, dict[str, Any]]:
    endpoint, work, env = ctx["endpoint"], ctx["work"], ctx["env"]
    started = time.monotonic()
    seeded = fresh_organization(endpoint, ctx["spec"])
    central = seeded["accounts"]["Security"]
    bucket = make_template_bucket(endpoint, central)
    print(f"run {run}: organization seeded in {time.monotonic() - started:.1f} s", flush=True)
    paths = team_paths(ctx["spec"])
    write_catalog(work, bucket, paths, ctx["concurrency"], POLICIES_BEFORE)
    report = work / "out" / "report.json"
    playbook = [str(BIN / "ansible-playbook"), "-i", str(work / "inventory"), str(REPO / "playbooks" / "sync.yml"),
                "-e", f"orgiam_report_dir={work / 'out'}"]
    steps: dict[str, dict[str, Any]] = {}

    def step(name: str, command: list[str], with_report: bool = True) -> bool:
        steps[name] = measure(name, command, env, endpoint, ctx["emulator_pid"], ctx["log"], ctx["timeout"],
                              report if with_report else None)
        return steps[name]["error"] is None

    if not step("inventory", [str(BIN / "ansible-inventory"), "-i", str(work / "inventory"), "--graph"], False):
        return steps
    if not step("first", playbook) or not step("noop", playbook):
        return steps
    if "change" not in ctx["steps"]:  # --steps: the 10,000-account run measures the targets' steps only
        return steps
    write_catalog(work, bucket, paths, ctx["concurrency"], POLICIES_AFTER)
    if step("change", playbook) and "live" in ctx["steps"]:
        step("live", playbook + ["-e", "orgiam_verify=live"])
    return steps


def naive_run(ctx: dict[str, Any], run: int) -> dict[str, dict[str, Any]]:
    endpoint, work = ctx["endpoint"], ctx["work"]
    seeded = fresh_organization(endpoint, ctx["spec"])
    members = active_members(endpoint, seeded["management_account_id"])
    inventory = work / "naive-inventory.yml"
    hosts = write_naive_inventory(inventory, members, seeded["accounts"]["Security"])
    print(f"naive run {run}: organization seeded afresh, {hosts} hosts in a static inventory", flush=True)
    env = dict(ctx["env"], ANSIBLE_CONFIG=str(NAIVE / "ansible.cfg"))
    command = [str(BIN / "ansible-playbook"), "-i", str(inventory), str(NAIVE / "deploy.yml")]
    steps: dict[str, dict[str, Any]] = {}
    for name in benchlib.NAIVE_STEPS:
        steps[name] = measure(name, command, env, endpoint, ctx["emulator_pid"], ctx["log"], ctx["naive_timeout"])
        if steps[name]["error"]:
            break
    return steps


def collect(runs: list[dict[str, dict[str, Any]]]) -> tuple[dict[str, Any], list[str]]:
    """Per step over the runs that completed it: statistics of seconds, calls, engine time, CPU, peak memory."""
    steps: dict[str, Any] = {}
    failures: list[str] = []
    for name in benchlib.ORGIAM_STEPS + benchlib.NAIVE_STEPS:
        done = [r[name] for r in runs if name in r and r[name]["error"] is None]
        failures += [r[name]["error"] for r in runs if name in r and r[name]["error"]]
        if not done:
            continue
        steps[name] = {
            **benchlib.summarize(d["seconds"] for d in done),
            "calls": [d["calls"] for d in done],
            "engine_seconds": [d["engine_seconds"] for d in done if d.get("engine_seconds") is not None],
            "cpu_controller": [d["cpu_controller"] for d in done],
            "cpu_emulator": [d["cpu_emulator"] for d in done],
            "peak_memory_mb": max(d["peak_memory_mb"] for d in done),
            "peak_processes": max(done, key=lambda d: d["peak_memory_mb"])["peak_processes"],
        }
    return steps, failures


def code_version() -> str:
    """The commit measured, and whether orgiam's code in the working tree differed from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, check=False).stdout.strip()

    commit = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "collections", "emulator", "playbooks")
    return f"{commit}, with uncommitted changes to orgiam or the emulator" if dirty else commit


def ordered(counter: Counter[str]) -> dict[str, int]:
    return dict(sorted(counter.items(), key=lambda item: (-item[1], item[0])))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=100, help="member accounts N (default 100)")
    parser.add_argument("--ous", type=int, default=None, help="OUs M (default: N/20, at least 20, at most 200)")
    parser.add_argument("--depth", type=int, default=5, help="OU levels at most (default 5)")
    parser.add_argument("--runs", type=int, default=3, help="orgiam runs (default 3)")
    parser.add_argument("--naive-runs", type=int, default=1,
                        help="naive playbook runs (default 1: it takes 10 to 30 times as long)")
    parser.add_argument("--naive-max", type=int, default=1000, help="run the naive playbook only up to this N (default 1000)")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--keep-naive", action="store_true",
                        help="with the naive playbook skipped, keep its figures from the results file's entry of the same N")
    parser.add_argument("--steps", default=",".join(benchlib.ORGIAM_STEPS),
                        help="orgiam steps to measure, in order (default all: inventory,first,noop,change,live); "
                             "inventory, first and noop always run")
    parser.add_argument("--timeout", type=float, default=None,
                        help="seconds per orgiam command (default 600 + 0.6 s an account); the naive playbook gets 5 times as long")
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--doc", type=Path, default=DOC)
    parser.add_argument("--chart", type=Path, default=CHART)
    parser.add_argument("--no-write", action="store_true", help="print only; leave results.json, the chart and the doc alone")
    parser.add_argument("--keep", action="store_true", help="keep the work directory (catalog, inventories, log)")
    parser.add_argument("--render-only", action="store_true",
                        help="measure nothing: draw the chart and rewrite the doc's section from the results file")
    args = parser.parse_args(argv)
    if args.render_only:
        write_outputs(benchlib.load_results(args.results), args)
        return 0
    ous = args.ous or benchlib.default_ous(args.accounts)
    timeout = args.timeout or 600 + 0.6 * args.accounts
    spec = build_spec(args.accounts, ous, depth=args.depth)
    run_naive = args.accounts <= args.naive_max and args.naive_runs > 0
    naive_skipped = None if run_naive else (
        f"N={args.accounts:,} is over --naive-max {args.naive_max:,}" if args.naive_runs > 0 else "--naive-runs 0")

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", AWS_EC2_METADATA_DISABLED="true", ANSIBLE_CONFIG=str(REPO / "ansible.cfg"),
               PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    work = Path(tempfile.mkdtemp(prefix="orgiam-bench-"))
    log = work / "bench.log"
    command = (f"make bench N={args.accounts} OUS={ous} RUNS={args.runs}\n# that is: .venv/bin/python benchmarks/bench.py "
               + " ".join(argv if argv is not None else sys.argv[1:]))
    print(f"orgiam bench: N={args.accounts:,} accounts in {ous} OUs ({args.depth} levels), {args.runs} orgiam runs, "
          + (f"{args.naive_runs} naive run(s)" if run_naive else f"naive playbook skipped ({naive_skipped})")
          + f"; work directory {work}", flush=True)
    load_start = benchlib.load_average()
    code = code_version()
    began = time.monotonic()
    server = subprocess.Popen([str(BIN / "python"), "-m", "emulator", "serve", "--port", str(port), "--no-seed"],
                              cwd=REPO, env=env, stdout=log.open("ab"), stderr=subprocess.STDOUT, start_new_session=True)
    runs: list[dict[str, dict[str, Any]]] = []
    last: dict[str, dict[str, Any]] = {}
    try:
        subprocess.run([str(BIN / "python"), "-m", "emulator", "wait", "--endpoint", endpoint, "--timeout", "120"],
                       cwd=REPO, env=env, check=True)
        ctx = {"endpoint": endpoint, "work": work, "env": env, "spec": spec, "log": log, "emulator_pid": server.pid,
               "concurrency": args.concurrency, "timeout": timeout, "naive_timeout": 5 * timeout,
               "steps": {name.strip() for name in args.steps.split(",") if name.strip()}}
        naive_left = args.naive_runs if run_naive else 0
        for run in range(1, args.runs + 1):
            steps = orgiam_run(ctx, run)
            if naive_left:  # the naive runs come after the first orgiam runs, interleaved, not all at the end
                steps.update(naive_run(ctx, run))
                naive_left -= 1
            runs.append(steps)
            last.update(steps)
        while naive_left:
            runs.append(naive_run(ctx, args.naive_runs - naive_left + 1))
            last.update(runs[-1])
            naive_left -= 1
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()

    steps, failures = collect(runs)
    if not run_naive and args.keep_naive:
        # the naive playbook takes 20 to 30 times as long: its figures of an earlier run at the same N stand in,
        # dated, rather than none
        earlier = next((e for e in benchlib.load_results(args.results).get("entries", []) if e["n"] == args.accounts), None)
        kept = {name: step for name, step in ((earlier or {}).get("steps") or {}).items() if name in benchlib.NAIVE_STEPS}
        if kept:
            steps.update(kept)
            naive_skipped = f"not run again; its figures are those of the run of {earlier['date']} at the same N"
    orgiam_peaks = [(s["peak_memory_mb"], s["peak_processes"]) for n, s in steps.items() if n in benchlib.ORGIAM_STEPS]
    peak = max(orgiam_peaks) if orgiam_peaks else (None, None)
    entry: dict[str, Any] = {
        "n": args.accounts, "ous": ous, "depth": args.depth, "runs": args.runs, "naive_runs": args.naive_runs if run_naive else 0,
        "date": benchlib.now(), "machine": benchlib.machine(), "code": code,
        "load": {"start": load_start, "end": benchlib.load_average()},
        "command": command, "hosts": len([a for a in flatten(spec).accounts if not a.suspended]),
        "steps": steps, "failures": failures, "naive_skipped": naive_skipped,
        "calls_by_operation": {name: ordered(step["by_op"]) for name, step in last.items()},
        "peak_memory_mb": peak[0], "peak_memory_processes": peak[1],
        "ratios": {
            "first": benchlib.ratio(steps.get("naive_first", {}).get("min"), steps.get("first", {}).get("min")),
            "noop": benchlib.ratio(steps.get("naive_noop", {}).get("min"), steps.get("noop", {}).get("min")),
        },
        "wall_seconds": round(time.monotonic() - began, 1),
    }
    entry["targets"] = benchlib.evaluate_targets(entry)
    print_summary(entry)

    if not args.no_write:
        results = benchlib.merge_entry(benchlib.load_results(args.results), entry)
        benchlib.save_results(args.results, results)
        write_outputs(results, args)
    if args.keep:
        print(f"kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


def write_outputs(results: dict[str, Any], args: argparse.Namespace) -> None:
    """The chart and the doc's section, from every entry of the results."""
    args.chart.parent.mkdir(parents=True, exist_ok=True)
    benchlib.draw_chart(results, args.chart)
    chart_ref = os.path.relpath(args.chart, args.doc.parent)
    args.doc.write_text(benchlib.replace_section(args.doc.read_text(encoding="utf-8"),
                                                 benchlib.render_section(results, chart_ref)), encoding="utf-8")
    print(f"\nwritten: {args.results}, {args.chart}, {args.doc} (between the bench markers)")


def print_summary(entry: dict[str, Any]) -> None:
    print(f"\nN={entry['n']:,} accounts in {entry['ous']} OUs, {entry['wall_seconds'] / 60:.1f} min in all; load average "
          f"{entry['load']['start']} -> {entry['load']['end']}")
    print(f"{'step':<14}{'min s':>9}{'median s':>10}{'runs':>6}{'calls':>16}{'peak MB':>9}")
    for name in benchlib.ORGIAM_STEPS + benchlib.NAIVE_STEPS:
        step = entry["steps"].get(name)
        if step:
            print(f"{name:<14}{step['min']:>9.1f}{step['median']:>10.1f}{step['runs']:>6}"
                  f"{benchlib.calls_text(step['calls']):>16}{step['peak_memory_mb']:>9.0f}")
    if entry["naive_skipped"]:
        print(f"naive playbook: SKIPPED ({entry['naive_skipped']})")
    ratios = entry["ratios"]
    if ratios["first"] or ratios["noop"]:
        print(f"naive / orgiam: first run {ratios['first']}x, no-op {ratios['noop']}x")
    print(f"peak memory of the controller (orgiam): {entry['peak_memory_mb']} MB")
    for name in ("inventory", "noop", "naive_noop"):
        if name in entry["calls_by_operation"]:
            print(f"{name} calls: " + ", ".join(f"{op} {n}" for op, n in entry["calls_by_operation"][name].items()))
    for failure in entry["failures"]:
        print(f"FAILED: {failure}")
    if entry["targets"]:
        print(f"targets at N={entry['n']:,} (minimum of the runs):")
        for row in entry["targets"]:
            print("  " + benchlib.target_line(row))
    else:
        print(f"no targets at N={entry['n']:,} (they are set for N=1,000 and N=10,000)")


if __name__ == "__main__":
    sys.exit(main())

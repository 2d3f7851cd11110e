"""The pure parts of `make bench` (benchmarks/bench.py): statistics, the results file, targets, the
section of docs/performance.md, the chart, and a sampler of a process tree's memory.

Nothing here starts an emulator or runs Ansible, so tests/unit/test_bench.py checks all of it in a
second or two.
"""

from __future__ import annotations

import json
import os
import statistics
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self

SCHEMA = 1
BEGIN = "<!-- bench:begin -->"
END = "<!-- bench:end -->"

# Steps in the order they run and are shown; the label is what the doc's table says.
ORGIAM_STEPS = ("inventory", "first", "noop", "change", "live")
NAIVE_STEPS = ("naive_first", "naive_noop")
LABELS = {
    "inventory": "inventory (`ansible-inventory --graph`)",
    "first": "first sync (creates every stack)",
    "noop": "no-op sync",
    "change": "sync after one role's policy changed",
    "live": "live-verified no-op (`-e orgiam_verify=live`)",
    "naive_first": "naive playbook, first run",
    "naive_noop": "naive playbook, no-op run",
}

MB = 1024 * 1024


# --- statistics ----------------------------------------------------------------------------------

def summarize(values: Iterable[float]) -> dict[str, Any]:
    """min, median and max of one step's runs (seconds), and the runs themselves, rounded for JSON."""
    runs = [float(v) for v in values]
    if not runs:
        return {"runs": 0, "values": [], "min": None, "median": None, "max": None}
    return {
        "runs": len(runs),
        "values": [round(v, 2) for v in runs],
        "min": round(min(runs), 2),
        "median": round(statistics.median(runs), 2),
        "max": round(max(runs), 2),
    }


def calls_text(counts: list[int]) -> str:
    """API calls of a step over its runs: one figure when every run made the same calls, else the range."""
    if not counts:
        return "-"
    low, high = min(counts), max(counts)
    return f"{low:,}" if low == high else f"{low:,} to {high:,}"


def default_ous(n_accounts: int) -> int:
    """OUs for N accounts when none are given: 20 at 100 accounts, 50 at 1,000, 200 at 10,000."""
    return max(20, min(200, n_accounts // 20))


def ratio(naive_seconds: float | None, orgiam_seconds: float | None) -> float | None:
    if not naive_seconds or not orgiam_seconds:
        return None
    return round(naive_seconds / orgiam_seconds, 1)


# --- the results file ----------------------------------------------------------------------------

def load_results(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {"schema": SCHEMA, "entries": []}
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("schema") != SCHEMA or not isinstance(data.get("entries"), list):
        raise ValueError(f"{path}: not a results file of schema {SCHEMA}")
    return data


def merge_entry(results: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """The results with ``entry`` in, replacing the one of the same N; entries sorted by N."""
    kept = [e for e in results.get("entries", []) if e["n"] != entry["n"]]
    return {"schema": SCHEMA, "entries": sorted(kept + [entry], key=lambda e: e["n"])}


def save_results(path: Path, results: dict[str, Any]) -> None:
    path.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")


# --- targets -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Target:
    n: int
    what: str        # as the doc shows it
    step: str        # a step name, "memory" or "ratio_first"/"ratio_noop"
    limit: float
    unit: str        # "s", "MB", "x"
    at_least: bool = False   # ratios must be at least the limit; times and memory at most


TARGETS = (
    Target(1000, "inventory", "inventory", 3, "s"),
    Target(1000, "no-op sync (whole ansible-playbook)", "noop", 30, "s"),
    Target(1000, "first sync", "first", 120, "s"),
    Target(1000, "peak memory of the controller", "memory", 300, "MB"),
    Target(1000, "naive / orgiam, first run", "ratio_first", 10, "x", at_least=True),
    Target(1000, "naive / orgiam, no-op", "ratio_noop", 10, "x", at_least=True),
    Target(10000, "no-op sync (whole ansible-playbook)", "noop", 300, "s"),
    Target(10000, "first sync", "first", 900, "s"),
    Target(10000, "peak memory of the controller", "memory", 1024, "MB"),
)


def measured(entry: dict[str, Any], step: str) -> float | None:
    """What a target compares: a step's minimum seconds, the orgiam peak memory in MB, or a ratio."""
    if step == "memory":
        return entry.get("peak_memory_mb")
    if step.startswith("ratio_"):
        return (entry.get("ratios") or {}).get(step[len("ratio_"):])
    return ((entry.get("steps") or {}).get(step) or {}).get("min")


def evaluate_targets(entry: dict[str, Any]) -> list[dict[str, Any]]:
    """PASS/FAIL for each target of the entry's N (none for other N); ``n/a`` when the figure is
    missing (the naive playbook skipped, a step that failed)."""
    rows = []
    for target in TARGETS:
        if target.n != entry["n"]:
            continue
        value = measured(entry, target.step)
        if value is None:
            result = "n/a"
        elif target.at_least:
            result = "PASS" if value >= target.limit else "FAIL"
        else:
            result = "PASS" if value <= target.limit else "FAIL"
        rows.append({"what": target.what, "limit": target.limit, "unit": target.unit, "at_least": target.at_least,
                     "value": value, "result": result})
    return rows


def _figure(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:g}x"
    return f"{value:,.1f} {unit}" if unit == "s" else f"{value:,.0f} {unit}"


def target_line(row: dict[str, Any]) -> str:
    sign = ">=" if row["at_least"] else "<="
    return f"{row['result']:4}  {row['what']}: {_figure(row['value'], row['unit'])} (target {sign} {_figure(row['limit'], row['unit'])})"


# --- docs/performance.md ---------------------------------------------------------------------------

def replace_section(text: str, section: str) -> str:
    """``text`` with what lies between the bench markers replaced by ``section`` (markers kept). Without
    markers the section is appended at the end; a lone marker, or an end before the begin, is an error."""
    begin, end = text.find(BEGIN), text.find(END)
    if begin == -1 and end == -1:
        return text.rstrip("\n") + "\n\n" + BEGIN + "\n" + section.strip("\n") + "\n" + END + "\n"
    if begin == -1 or end == -1 or end < begin or text.count(BEGIN) > 1 or text.count(END) > 1:
        raise ValueError(f"docs/performance.md needs exactly one {BEGIN} followed by one {END}")
    return text[:begin + len(BEGIN)] + "\n" + section.strip("\n") + "\n" + text[end:]


INTRO_GENERATED = (
    "_This section is written by `benchmarks/bench.py` (`make bench`) from `benchmarks/results.json`, which keeps "
    "one entry per N; edits here are lost at the next run._"
)
INTRO_SHARED = (
    "The figures come from a **shared** 2-core machine: other engineers' test suites ran on the same cores "
    "at the same time (the load averages are given per N), so medians wander; targets are checked against the "
    "**minimum** of the runs. The emulator (moto, one Python process) shares those cores: its CPU time is "
    "part of every figure."
)
INTRO_METHOD = (
    "Each run seeds a fresh organization (`build_spec(N, OUs, depth=5)`: OUs up to five levels deep) and runs, "
    "in order, the inventory, a first sync, a no-op sync, a sync after the ReadOnly role got one more managed "
    "policy (every member stack updates), and a live-verified no-op. The catalog is one role, ReadOnly "
    "(ReadOnlyAccess, MFA), in every member account, with one default group per team OU. The naive playbook "
    "(`benchmarks/naive/`: a static inventory of the same accounts, per account `amazon.aws.sts_assume_role` "
    "then `amazon.aws.cloudformation` of the same role, forks 16, `connection: local`) runs on the same "
    "organization seeded afresh. Seconds are the whole command's wall clock (Ansible start-up and the "
    "inventory included); API calls are counted by the emulator; peak memory is the summed RSS of "
    "`ansible-playbook` and all its workers, sampled from /proc every 0.1 s (not the emulator)."
)
TABLE_NOTE = (
    "Sync engine: the seconds `out/report.json` gives for orgiam's own work inside `ansible-playbook`. "
    "CPU: user + system seconds of the command and all its processes, and of the emulator meanwhile; "
    "these three columns give the least of the runs."
)


def render_section(results: dict[str, Any], chart: str) -> str:
    """The generated part of docs/performance.md: every N of the results file, and the chart."""
    lines = [
        "## `make bench`: orgiam and a naive playbook, side by side",
        "",
        INTRO_GENERATED,
        "",
        INTRO_SHARED,
        "",
        INTRO_METHOD,
        "",
        f"![seconds against N: orgiam and the naive playbook]({chart})",
        "",
    ]
    entries = results.get("entries", [])
    target_rows = [(entry, row) for entry in entries for row in evaluate_targets(entry)]
    if target_rows:
        lines += ["### Targets (minimum of the runs)", "", "| N | target | limit | measured | result |",
                  "| ---: | --- | ---: | ---: | --- |"]
        for entry, row in target_rows:
            sign = "≥" if row["at_least"] else "≤"
            lines.append(f"| {entry['n']:,} | {row['what']} | {sign} {_figure(row['limit'], row['unit'])} | "
                         f"{_figure(row['value'], row['unit'])} | **{row['result']}** |")
        lines.append("")
    missing = sorted({t.n for t in TARGETS} - {e["n"] for e in entries})
    if missing:
        lines += ["Targets are set for " + " and ".join(f"N={n:,}" for n in sorted({t.n for t in TARGETS}))
                  + "; not measured yet: " + ", ".join(f"N={n:,}" for n in missing) + ".", ""]
    for entry in entries:
        lines += render_entry(entry)
    return "\n".join(lines).rstrip("\n") + "\n"


def render_entry(entry: dict[str, Any]) -> list[str]:
    machine = entry.get("machine", {})
    load = entry.get("load", {})
    lines = [
        f"### N = {entry['n']:,} accounts in {entry['ous']} OUs ({entry.get('depth', 5)} levels deep)",
        "",
        (f"Measured {entry.get('date', '?')} on {machine.get('cores', '?')} cores, {machine.get('ram_gib', '?')} GiB RAM, "
         f"Python {machine.get('python', '?')} ({machine.get('platform', '?')}); load average "
         f"{load.get('start', '?')} at the start, {load.get('end', '?')} at the end; {entry.get('hosts', '?')} active "
         f"member accounts; {entry.get('wall_seconds', 0) / 60:.1f} min in all; code: {entry.get('code', 'not recorded')}."),
        "",
        "```bash",
        entry.get("command", ""),
        "```",
        "",
        "| step | min s | median s | runs | API calls | sync engine s | CPU s: controller / emulator | peak memory MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    steps = entry.get("steps", {})
    for name in ORGIAM_STEPS + NAIVE_STEPS:
        step = steps.get(name)
        if not step:
            continue
        engine = step.get("engine_seconds") or []
        cpu = f"{_least(step.get('cpu_controller'))} / {_least(step.get('cpu_emulator'))}"
        lines.append(
            f"| {LABELS[name]} | {_num(step.get('min'))} | {_num(step.get('median'))} | {step.get('runs', 0)} | "
            f"{calls_text(step.get('calls', []))} | {_least(engine)} | {cpu} | {_num(step.get('peak_memory_mb'), 0)} |")
    lines += ["", TABLE_NOTE, ""]
    if entry.get("naive_skipped"):
        lines += [f"Naive playbook: skipped ({entry['naive_skipped']}).", ""]
    failures = entry.get("failures") or []
    for failure in failures:
        lines.append(f"- failed: {failure}")
    if failures:
        lines.append("")
    by_op = entry.get("calls_by_operation") or {}
    for name, what in (("inventory", "Inventory"), ("noop", "No-op sync"), ("live", "Live-verified no-op"),
                       ("naive_noop", "Naive no-op run")):
        if by_op.get(name):
            lines += [f"{what} calls by operation: " + operations_text(by_op[name]) + ".", ""]
    if entry.get("peak_memory_mb") is not None:
        naive_peak = max((steps.get(s, {}).get("peak_memory_mb") or 0 for s in NAIVE_STEPS), default=0)
        lines += [f"Peak memory of the controller (orgiam, any step): **{entry['peak_memory_mb']:,.0f} MB** "
                  f"(summed RSS of {entry.get('peak_memory_processes', '?')} processes at the peak)"
                  + (f"; the naive playbook's: {naive_peak:,.0f} MB (its forks)." if naive_peak else "."), ""]
    ratios = entry.get("ratios") or {}
    if ratios.get("first") or ratios.get("noop"):
        lines += [(f"Naive / orgiam (minimum against minimum): first run **{_x(ratios.get('first'))}**, "
                   f"no-op **{_x(ratios.get('noop'))}**."), ""]
    rows = evaluate_targets(entry)
    if rows:
        lines += ["Targets at this N: " + "; ".join(f"{r['what']} {r['result']}" for r in rows) + ".", ""]
    return lines


def operations_text(counts: dict[str, int]) -> str:
    """``service:Operation count`` pairs, most frequent first."""
    return ", ".join(f"{op} {n:,}" for op, n in sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def _least(values: list[float] | None) -> str:
    return _num(min(values)) if values else "-"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:g}x"


# --- the chart -----------------------------------------------------------------------------------

CHART_SERIES = (
    ("first", "orgiam: first sync", "tab:blue", "-", "o"),
    ("noop", "orgiam: no-op sync", "tab:blue", "--", "s"),
    ("naive_first", "naive playbook: first run", "tab:red", "-", "o"),
    ("naive_noop", "naive playbook: no-op run", "tab:red", "--", "s"),
)


def chart_points(results: dict[str, Any]) -> dict[str, list[tuple[int, float]]]:
    """step -> [(N, minimum seconds)] over every entry that measured it."""
    points: dict[str, list[tuple[int, float]]] = {}
    for step, *_ in CHART_SERIES:
        points[step] = [(e["n"], e["steps"][step]["min"]) for e in results.get("entries", [])
                        if (e.get("steps", {}).get(step) or {}).get("min") is not None]
    return points


def draw_chart(results: dict[str, Any], path: Path) -> None:
    """Seconds (log) against N (log) for orgiam and the naive playbook, minimum of the runs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points = chart_points(results)
    figure, axes = plt.subplots(figsize=(7.5, 4.5), dpi=110)
    for step, label, colour, style, marker in CHART_SERIES:
        if not points[step]:
            continue
        xs, ys = zip(*points[step])
        axes.plot(xs, ys, color=colour, linestyle=style, marker=marker, label=label)
        for x, y in points[step]:  # labels on the outer side of each pair of close lines
            axes.annotate(f"{y:,.0f} s" if y >= 10 else f"{y:.1f} s", (x, y), textcoords="offset points",
                          xytext=(7, 4 if step in ("first", "naive_noop") else -10), fontsize=7, color=colour)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("member accounts (N)")
    axes.set_ylabel("seconds, whole ansible-playbook (min of runs)")
    axes.set_title("orgiam against a naive playbook (emulator, shared 2-core machine)", fontsize=10)
    ns = sorted({e["n"] for e in results.get("entries", [])})
    if ns:
        axes.set_xticks(ns)
        axes.set_xticklabels([f"{n:,}" for n in ns])
        axes.set_xlim(ns[0] / 1.6, ns[-1] * 1.6)
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)


# --- memory of a process tree ----------------------------------------------------------------------

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")


def _parent_of(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read()
    except OSError:
        return None
    # the command name (field 2) is in parentheses and may hold spaces or parentheses itself
    return int(stat[stat.rindex(b")") + 2:].split()[1])


def tree_of(root: int) -> list[int]:
    """``root`` and every process below it, read from /proc now."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            parent = _parent_of(int(name))
            if parent is not None:
                children.setdefault(parent, []).append(int(name))
    found, queue = [], [root]
    while queue:
        pid = queue.pop()
        found.append(pid)
        queue.extend(children.get(pid, []))
    return found


def rss_bytes(pid: int) -> int:
    """Resident set size of one process (0 once it is gone)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


class TreeMemorySampler:
    """Samples the summed RSS of a process and all its descendants every ``interval`` seconds, in a
    thread, until stopped; keeps the peak (and how many processes made it), not the samples."""

    def __init__(self, root: int, interval: float = 0.1) -> None:
        self.root = root
        self.interval = interval
        self.peak_bytes = 0
        self.peak_processes = 0
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bench-memory", daemon=True)

    def sample(self) -> int:
        pids = tree_of(self.root)
        total = sum(rss_bytes(pid) for pid in pids)
        self.samples += 1
        if total > self.peak_bytes:
            self.peak_bytes, self.peak_processes = total, len([p for p in pids if rss_bytes(p)])
        return total

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    @property
    def peak_mb(self) -> float:
        return round(self.peak_bytes / MB, 1)


# --- CPU time of a process (the emulator's) ---------------------------------------------------------

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a running process has used so far (its own, not its children's)."""
    with open(f"/proc/{pid}/stat", "rb") as handle:
        stat = handle.read()
    fields = stat[stat.rindex(b")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def machine() -> dict[str, Any]:
    import platform

    ram_kib = 0
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemTotal:"):
                    ram_kib = int(line.split()[1])
    except OSError:
        pass
    return {"cores": os.cpu_count(), "ram_gib": round(ram_kib / 1024 / 1024, 1), "python": platform.python_version(),
            "platform": f"{platform.system()} {platform.machine()}"}


def load_average() -> float:
    return round(os.getloadavg()[0], 1)


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M")

"""The pure parts of `make bench` (benchmarks/benchlib.py): statistics, the results file, targets, the
doc section, the chart, the memory sampler; and the five-level organization it seeds. The benchmark
itself is not run here."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from benchmarks import benchlib
from emulator.org_spec import build_spec, flatten


def entry(n: int, **steps: float) -> dict:
    return {"n": n, "ous": 20, "steps": {name: benchlib.summarize([value, value + 1]) | {"calls": [10, 10]}
                                         for name, value in steps.items()}}


def test_summarize_gives_min_median_and_the_runs():
    assert benchlib.summarize([3.0, 1.0, 2.0, 10.0]) == {
        "runs": 4, "values": [3.0, 1.0, 2.0, 10.0], "min": 1.0, "median": 2.5, "max": 10.0}
    assert benchlib.summarize([4.444]) == {"runs": 1, "values": [4.44], "min": 4.44, "median": 4.44, "max": 4.44}
    assert benchlib.summarize([])["min"] is None


def test_calls_are_one_figure_when_every_run_agrees():
    assert benchlib.calls_text([3153, 3153]) == "3,153"
    assert benchlib.calls_text([3155, 3153, 3154]) == "3,153 to 3,155"
    assert benchlib.calls_text([]) == "-"


def test_default_ous_follow_the_issue_sizes():
    assert [benchlib.default_ous(n) for n in (10, 100, 1000, 10000, 50000)] == [20, 20, 50, 200, 200]


def test_ratio_is_naive_over_orgiam_and_none_without_both():
    assert benchlib.ratio(200.0, 10.0) == 20.0
    assert benchlib.ratio(None, 10.0) is None
    assert benchlib.ratio(100.0, None) is None


def test_merge_replaces_the_entry_of_the_same_n_and_keeps_entries_sorted(tmp_path: Path):
    path = tmp_path / "results.json"
    results = benchlib.load_results(path)
    assert results == {"schema": benchlib.SCHEMA, "entries": []}
    results = benchlib.merge_entry(results, entry(1000, first=40))
    results = benchlib.merge_entry(results, entry(100, first=8))
    results = benchlib.merge_entry(results, entry(1000, first=35))
    benchlib.save_results(path, results)
    loaded = benchlib.load_results(path)
    assert [e["n"] for e in loaded["entries"]] == [100, 1000]
    assert loaded["entries"][1]["steps"]["first"]["min"] == 35


def test_a_results_file_of_another_shape_is_refused(tmp_path: Path):
    path = tmp_path / "results.json"
    path.write_text('{"entries": {}}')
    with pytest.raises(ValueError):
        benchlib.load_results(path)


def test_targets_pass_and_fail_on_the_minimum_and_only_at_their_n():
    at_1000 = entry(1000, inventory=2.5, first=130, noop=20)
    at_1000 |= {"peak_memory_mb": 250.0, "ratios": {"first": 12.0, "noop": 9.5}}
    results = {row["what"]: row["result"] for row in benchlib.evaluate_targets(at_1000)}
    assert results == {
        "inventory": "PASS", "no-op sync (whole ansible-playbook)": "PASS", "first sync": "FAIL",
        "peak memory of the controller": "PASS", "naive / orgiam, first run": "PASS", "naive / orgiam, no-op": "FAIL"}
    skipped_naive = entry(10000, first=800, noop=200) | {"peak_memory_mb": 900.0, "ratios": {"first": None, "noop": None}}
    assert [row["result"] for row in benchlib.evaluate_targets(skipped_naive)] == ["PASS", "PASS", "PASS"]
    assert benchlib.evaluate_targets(entry(100, first=5)) == []
    assert benchlib.evaluate_targets(entry(1000, first=5))[0]["result"] == "n/a"  # no inventory measured
    line = benchlib.target_line(benchlib.evaluate_targets(at_1000)[-1])
    assert line.startswith("FAIL") and "9.5x" in line and ">= 10x" in line


def test_the_section_between_the_markers_is_replaced_and_the_rest_kept():
    doc = f"# Performance\n\nintro\n\n{benchlib.BEGIN}\nold figures\n{benchlib.END}\n\n## History\n\n| 1 | 2 |\n"
    new = benchlib.replace_section(doc, "## fresh\n\nnew figures\n")
    assert new == f"# Performance\n\nintro\n\n{benchlib.BEGIN}\n## fresh\n\nnew figures\n{benchlib.END}\n\n## History\n\n| 1 | 2 |\n"
    assert benchlib.replace_section(new, "again") == new.replace("## fresh\n\nnew figures", "again")


def test_a_doc_without_markers_gets_the_section_at_its_end_and_a_lone_marker_is_an_error():
    assert benchlib.replace_section("# P\n\nold\n", "S") == f"# P\n\nold\n\n{benchlib.BEGIN}\nS\n{benchlib.END}\n"
    with pytest.raises(ValueError):
        benchlib.replace_section(f"# P\n{benchlib.BEGIN}\nno end\n", "S")
    with pytest.raises(ValueError):
        benchlib.replace_section(f"{benchlib.END}\n{benchlib.BEGIN}\n", "S")


def test_the_rendered_section_has_a_table_per_n_the_targets_and_the_chart():
    big = entry(1000, inventory=2.0, first=40, noop=20, naive_first=800, naive_noop=700) | {
        "peak_memory_mb": 210.0, "peak_memory_processes": 2, "ratios": {"first": 20.0, "noop": 35.0},
        "calls_by_operation": {"inventory": {"organizations:ListRoots": 1, "organizations:ListAccountsForParent": 60}},
        "command": "make bench N=1000 OUS=50 RUNS=2"}
    results = {"entries": [entry(100, first=8, noop=4) | {"naive_skipped": "N=100 is over --naive-max 50"}, big]}
    section = benchlib.render_section(results, "images/bench.png")
    assert "![seconds against N: orgiam and the naive playbook](images/bench.png)" in section
    assert "### N = 100 accounts" in section and "### N = 1,000 accounts" in section
    assert "| first sync (creates every stack) | 40.0 | 40.5 | 2 | 10 | - | - / - |" in section
    assert "| naive playbook, no-op run | 700.0 | 700.5 | 2 | 10 |" in section
    assert "Naive playbook: skipped (N=100 is over --naive-max 50)." in section
    assert "organizations:ListAccountsForParent 60, organizations:ListRoots 1" in section
    assert "first run **20x**, no-op **35x**" in section
    assert "| 1,000 | naive / orgiam, no-op | ≥ 10x | 35x | **PASS** |" in section
    assert "not measured yet: N=10,000." in section
    assert "shared" in section and "make bench N=1000 OUS=50 RUNS=2" in section


def test_the_chart_is_a_png_of_every_n(tmp_path: Path):
    results = {"entries": [entry(100, first=8, noop=4, naive_first=90, naive_noop=80),
                           entry(1000, first=40, noop=20)]}
    assert benchlib.chart_points(results)["first"] == [(100, 8.0), (1000, 40.0)]
    assert benchlib.chart_points(results)["naive_noop"] == [(100, 80.0)]
    path = tmp_path / "bench.png"
    benchlib.draw_chart(results, path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


CHILD = """
import subprocess, sys, time
block = bytearray(60 * 1024 * 1024)          # the child's own 60 MB, touched
for i in range(0, len(block), 4096):
    block[i] = 1
grandchild = subprocess.Popen([sys.executable, "-c", "b = bytearray(40 * 1024 * 1024)\\nfor i in range(0, len(b), 4096): b[i] = 1\\nimport time; time.sleep(30)"])
print("ready", flush=True)
time.sleep(30)
"""


def test_the_memory_sampler_sums_a_process_and_its_descendants():
    child = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        deadline = time.monotonic() + 10
        while len(benchlib.tree_of(child.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # the grandchild touches its 40 MB
        with benchlib.TreeMemorySampler(child.pid, interval=0.05) as sampler:
            time.sleep(0.3)
        assert sampler.samples >= 2
        assert sampler.peak_processes == 2
        # 60 + 40 MB touched, plus two interpreters: more than 100 MB, far less than 300
        assert 100 < sampler.peak_mb < 300
        assert benchlib.rss_bytes(child.pid) > 60 * benchlib.MB
    finally:
        for pid in benchlib.tree_of(child.pid)[1:]:
            subprocess.run(["kill", str(pid)], check=False)
        child.kill()
        child.wait()
    assert benchlib.rss_bytes(child.pid) == 0


def test_cpu_seconds_of_a_process_grow_as_it_works():
    before = benchlib.cpu_seconds(__import__("os").getpid())
    deadline = time.process_time() + 0.2
    while time.process_time() < deadline:
        pass
    assert benchlib.cpu_seconds(__import__("os").getpid()) >= before + 0.1


def test_the_benchmark_organization_is_five_levels_deep_with_every_ou_counted():
    for n_accounts, n_ous in ((100, 20), (1000, 50), (10000, 200)):
        layout = flatten(build_spec(n_accounts, n_ous, depth=5))
        assert len(layout.ous) == n_ous and len(layout.accounts) == n_accounts
        assert max(ou.path.count("/") + 1 for ou in layout.ous) == 5
        assert max(a.ou_path.count("/") + 1 for a in layout.accounts) == 5  # accounts down there too
    assert "Workloads/Team 01/Prod/Region 1/Cell 1" in {ou.path for ou in flatten(build_spec(100, 20, depth=5)).ous}
    # the default keeps the three levels the pagination tests rely on
    assert max(ou.path.count("/") + 1 for ou in flatten(build_spec(1000, 50)).ous) == 3

"""The short versions of the benchmarks: each runs at a tiny size and prints its figures.

The long runs are `make bench` (and the commands in README's Figures); timing is never
asserted, only that each benchmark works and reports what it measures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["-m", "rhevsim.bench", "--hosts", "3", "--vms", "20", "--iterations", "2",
          "--events", "10"], ["GET /vms", "median"]),
        (["-m", "rhev_testbed.bench.kubeapi", "--objects", "20"], ["create", "list"]),
        (["-m", "rhev_testbed.bench.rhevm", "--parse-only", "--vms", "50"], ["50"]),
        (["-m", "rhev_testbed.bench.ipmi", "--bmcs", "1", "--rounds", "5"], ["power"]),
    ],
    ids=["rhevsim", "kubeapi", "rhevm", "ipmi"],
)  # fmt: skip
def test_benchmark_runs_small_and_prints_figures(args: list[str], expected: list[str]) -> None:
    done = subprocess.run([PY, *args], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    for token in expected:
        assert token in done.stdout, done.stdout


# What `rhev-operator bench` reports: figures that must be positive, and those that may be 0
# (an operator that sends nothing and uses no CPU while idle is the goal).
POSITIVE = (
    "n",
    "hosts",
    "ready_seconds",
    "direct_seconds",
    "ratio",
    "baseline_requests_per_min",
    "change_latency_median_s",
    "change_latency_max_s",
    "rss_mb",
)
NON_NEGATIVE = ("requests_per_min", "idle_cpu_pct")


def test_operator_bench_runs_small_and_reports_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    args = ["--vms", "3", "--changes", "2", "--window", "5", "--settle", "1", "--json", str(out)]
    done = subprocess.run(
        [PY, "-m", "rhev_operator.cli", "bench", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "apply to all Ready" in done.stdout, done.stdout
    figures = json.loads(out.read_text())
    for key in POSITIVE + NON_NEGATIVE:
        value = figures[key]
        assert isinstance(value, int | float) and not isinstance(value, bool), (key, value)
        assert value > 0 if key in POSITIVE else value >= 0, (key, value)
    assert figures["n"] == 3
    assert figures["change_latency_max_s"] >= figures["change_latency_median_s"]
    assert figures["machine"]["nproc"] >= 1 and isinstance(figures["machine"]["cpu_model"], str)
    assert "sampled" in figures["baseline_note"]

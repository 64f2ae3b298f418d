"""The short versions of the benchmarks: each runs at a tiny size and prints its figures.

The long runs are `make bench` (and the commands in README's Figures); timing is never
asserted, only that each benchmark works and reports what it measures."""

from __future__ import annotations

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
        (["-m", "rhev_operator.cli", "bench", "--resources", "2", "--window", "2",
          "--resync-seconds", "1", "--poll-seconds", "1"], ["REST req/s"]),
    ],
    ids=["rhevsim", "kubeapi", "rhevm", "ipmi", "operator-scale"],
)  # fmt: skip
def test_benchmark_runs_small_and_prints_figures(args: list[str], expected: list[str]) -> None:
    done = subprocess.run([PY, *args], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    for token in expected:
        assert token in done.stdout, done.stdout

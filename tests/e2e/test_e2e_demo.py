"""`make run`'s main job, once through: the embedded default comes up and reconciles."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_demo_once_brings_up_the_seed_datacenter(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "rhev-operator"
    done = subprocess.run(
        [str(exe), "demo", "--once", "--workdir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "rhevdatacenter.rhev.io/mydc created" in done.stdout
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("mydc")]
    assert rows and rows[0][1:3] == ["uninitialized", "True"]
    assert (tmp_path / "operator.log").read_text().count("Created data center mydc") >= 1

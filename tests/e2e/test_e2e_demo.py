"""`make run`'s main job, once through: the embedded default comes up and the seed's
environment (hosts booted over IPMI, storage, a running VM) converges."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(600)


def test_demo_once_brings_the_seed_environment_up(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "rhev-operator"
    done = subprocess.run(
        [str(exe), "demo", "--once", "--workdir", str(tmp_path), "--time-scale", "50"],
        capture_output=True,
        text=True,
        timeout=580,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    rows = {
        line.split()[0]: line.split()
        for line in done.stdout.splitlines()
        if line.split() and "/" in line.split()[0]
    }
    expected = {
        "rhevdatacenter.rhev.io/mydc": "up",
        "rhevcluster.rhev.io/mycluster": "up",
        "logicalnetwork.rhev.io/rhevm2": "operational",
        "hypervisor.rhev.io/rhevh1": "up",
        "hypervisor.rhev.io/rhevh2": "up",
        "storagedomain.rhev.io/image": "active",
        "storagedomain.rhev.io/data2": "active",
        "virtualmachine.rhev.io/hkvm1": "up",
    }
    assert {name: rows[name][1] for name in expected} == expected
    assert all(rows[name][2] == "True" for name in expected)  # READY
    assert rows["virtualmachine.rhev.io/hkvm1"][3] == "rhevh1"  # HOST, as placed
    log = (tmp_path / "operator.log").read_text()
    assert "Created data center mydc" in log
    assert "bmc-demo" not in log

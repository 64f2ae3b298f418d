"""`rhevsim serve` as a process: starts, announces its URL, serves, stops on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import requests
import yaml


def start(*args: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "rhevsim", "serve", "--port", "0", "--no-bmc", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()  # bounded: the process prints it or exits
    assert line.startswith("rhevsim listening on http://127.0.0.1:"), (
        line,
        proc.stderr.read() if proc.stderr else "",
    )
    return proc, line.split()[-1]


def stop(proc: subprocess.Popen[str]) -> int:
    proc.send_signal(signal.SIGTERM)
    return proc.wait(timeout=15)


def test_serve_with_inventory_and_manual_clock(tmp_path: Path) -> None:
    inv = tmp_path / "inv.yaml"
    inv.write_text(
        yaml.safe_dump(
            {
                "engine": {"management_network": "ovirtmgmt"},
                "datacenters": [{"name": "Lab", "local": False}],
                "clusters": [{"name": "lab1", "data_center": "Lab"}],
            }
        )
    )
    proc, url = start(
        "--inventory", str(inv), "--clock", "manual", "--admin-password", "pw", "--seed", "5"
    )
    try:
        r = requests.get(
            url + "/ovirt-engine/api/datacenters", auth=("admin@internal", "pw"), timeout=10
        )
        assert r.status_code == 200 and b"<name>Lab</name>" in r.content
        r = requests.get(
            url + "/ovirt-engine/api/networks", auth=("admin@internal", "pw"), timeout=10
        )
        assert b"<name>ovirtmgmt</name>" in r.content
        clock = requests.post(url + "/sim/clock/advance", json={"seconds": 5}, timeout=10)
        assert clock.status_code == 200
    finally:
        assert stop(proc) == 0


def test_same_seed_gives_same_ids(tmp_path: Path) -> None:
    ids = []
    for _ in range(2):
        proc, url = start("--seed", "11")
        try:
            r = requests.get(
                url + "/ovirt-engine/api/datacenters", auth=("admin@internal", "admin"), timeout=10
            )
            ids.append(r.content)
        finally:
            stop(proc)
    assert ids[0] == ids[1]


def test_bad_inventory_names_the_field(tmp_path: Path) -> None:
    inv = tmp_path / "bad.yaml"
    inv.write_text(yaml.safe_dump({"clusters": [{"name": "x", "data_center": "Nowhere"}]}))
    out = subprocess.run(
        [sys.executable, "-m", "rhevsim", "serve", "--port", "0", "--inventory", str(inv)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2
    assert "clusters[0].data_center" in out.stderr and "Nowhere" in out.stderr


def test_unknown_inventory_key_is_refused(tmp_path: Path) -> None:
    inv = tmp_path / "bad.yaml"
    inv.write_text("vmz: []\n")
    out = subprocess.run(
        [sys.executable, "-m", "rhevsim", "serve", "--port", "0", "--inventory", str(inv)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2 and "vmz" in out.stderr and "allowed" in out.stderr

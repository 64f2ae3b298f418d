"""`rhev-operator export` round trip: export a simulated RHEV-M, apply the manifests to an empty
Kubernetes API with the operator running, wait for every resource to be Ready, and check that
the operator sent RHEV-M no changing request (only GETs, and SSO logins) since the apply.

The size is small here; `make export-roundtrip-large` runs it on 50 hosts and 500 VMs
(EXPORT_ROUNDTRIP_HOSTS, EXPORT_ROUNDTRIP_VMS)."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from rhevsim.builder import build_inventory
from tests.fixtures.operator import ALL_KINDS, BIN, E2E, SIM_PASSWORD

HOSTS = int(os.environ.get("EXPORT_ROUNDTRIP_HOSTS", "3"))
VMS = int(os.environ.get("EXPORT_ROUNDTRIP_VMS", "8"))
#: Seconds to wait for every resource to be Ready (longer for the large run).
READY_TIMEOUT = 120.0 + HOSTS * 2 + VMS * 0.5
RESYNCS = 5.0
INVENTORY = build_inventory(hosts=HOSTS, vms=VMS, seed=7, datacenters=2)


def changing(requests: dict[str, int]) -> dict[str, int]:
    """The requests that may change RHEV-M: anything but GET, less SSO logins."""
    return {
        key: count
        for key, count in requests.items()
        if count and not key.startswith(("GET ", "HEAD ")) and "sso" not in key
    }


def all_ready(e2e: E2E) -> bool:
    missing = not_ready(e2e)
    assert not missing, missing[:5]
    return True


def not_ready(e2e: E2E) -> list[str]:
    items = json.loads(e2e.kubectl("get", ALL_KINDS, "-A", "-o", "json", timeout=120).stdout)
    out = []
    for item in items["items"]:
        conditions = item.get("status", {}).get("conditions", [])
        if not any(c["type"] == "Ready" and c["status"] == "True" for c in conditions):
            out.append(f"{item['kind']}/{item['metadata']['name']}: {conditions}")
    return out


def export(e2e: E2E, out: Path) -> subprocess.CompletedProcess[str]:
    env = dict(
        e2e.env,
        RHEVM_URL=f"{e2e.sim_url}/ovirt-engine/api",
        RHEVM_USERNAME="admin@internal",
        RHEVM_PASSWORD=SIM_PASSWORD,
    )
    return subprocess.run(
        [str(BIN / "rhev-operator"), "export", "-o", str(out)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )


@pytest.mark.parametrize("e2e", [{"inventory": INVENTORY, "time_scale": 50}], indirect=True)
def test_applying_an_export_changes_nothing_in_rhevm(e2e: E2E, tmp_path: Path) -> None:
    out = tmp_path / "export"
    result = export(e2e, out)
    files = sorted(p.name for p in out.glob("*.yaml"))
    assert files == sorted(files) and files[0].startswith("10-"), files
    docs: list[dict[str, Any]] = [
        d for f in files for d in yaml.safe_load_all((out / f).read_text()) if d
    ]
    kinds = {d["kind"] for d in docs}
    assert {"RhevDataCenter", "RhevCluster", "LogicalNetwork", "StorageDomain"} <= kinds
    assert sum(d["kind"] == "Hypervisor" for d in docs) == HOSTS
    assert sum(d["kind"] == "VirtualMachine" for d in docs) == VMS
    assert all(d["spec"]["adopt"] and d["spec"]["deletionPolicy"] == "Retain" for d in docs)
    # Two data centers each have `rhevm` and `vmnet`: the second of each is renamed, reported.
    assert "is exported as rhevm-dc01" in result.stderr
    assert "password" not in "".join((out / f).read_text() for f in files).lower()

    before = e2e.sim("GET", "/sim/stats")["requests"]
    started = time.monotonic()
    e2e.kubectl("apply", "-f", str(out), timeout=300)
    e2e.wait_for(
        "every exported resource Ready",
        lambda: all_ready(e2e),
        timeout=READY_TIMEOUT,
        interval=2.0,
    )
    took = time.monotonic() - started
    time.sleep(RESYNCS)  # a few resyncs and inventory polls of the operator (1 s, 0.5 s)
    assert all_ready(e2e)
    after = e2e.sim("GET", "/sim/stats")["requests"]
    delta = {k: after.get(k, 0) - before.get(k, 0) for k in after}
    print(
        f"\nexport round trip: {len(docs)} resources Ready in {took:.1f}s; "
        f"{sum(delta.values())} RHEV-M requests since the apply, changing: {changing(delta)}"
    )
    assert changing(delta) == {}, changing(delta)
    # The VMs kept their power state: a stopped VM stays stopped.
    states = {v["name"]: v["status"] for v in INVENTORY["vms"]}
    for doc in docs:
        if doc["kind"] == "VirtualMachine":
            want = "Running" if states[doc["spec"]["name"]] == "up" else "Stopped"
            assert doc["spec"]["powerState"] == want

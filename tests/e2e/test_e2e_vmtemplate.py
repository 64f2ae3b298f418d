"""VmTemplate end to end: kubectl -> local Kubernetes API -> operator -> simulator.

The simulator holds a down VM `golden` with a disk on an active domain; copying it takes
250 simulated seconds (5 s at time-scale 50), long enough to see the template locked.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import pytest

from tests.fixtures.operator import E2E

INVENTORY: dict[str, Any] = {
    "timings": {"disk.copy": 250},
    "hosts": [{"name": "hv01", "address": "10.0.0.11", "cluster": "Default", "status": "up"}],
    "storage_domains": [
        {
            "name": "data1",
            "type": "data",
            "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/exports/data1"},
            "data_center": "Default",
            "status": "active",
        }
    ],
    "vms": [
        {
            "name": "golden",
            "cluster": "Default",
            "status": "down",
            "disks": [{"name": "golden_disk1", "size": "10GiB", "storage_domain": "data1"}],
        }
    ],
}

MANIFEST = textwrap.dedent("""
    apiVersion: rhev.io/v1alpha1
    kind: VmTemplate
    metadata: {name: x}
    spec: {sourceVm: golden, description: golden image}
    """)


def sim_state(e2e: E2E, kind: str, name: str) -> str | None:
    """The status of the simulator's template or VM named `name` (None when absent)."""
    xml = e2e.sim("GET", f"/ovirt-engine/api/{kind}s")
    for block in re.findall(rf"<{kind} [^>]*>.*?</{kind}>", xml, re.S):
        if re.search(rf"<name>{re.escape(name)}</name>", block):
            m = re.search(r"<status>(.*?)</status>", block)
            return m.group(1) if m else None
    return None


@pytest.mark.parametrize("e2e", [{"inventory": INVENTORY, "time_scale": 50}], indirect=True)
def test_template_from_a_down_vm_is_ready_only_once_ok(e2e: E2E) -> None:
    e2e.kubectl("apply", "-f", "-", input=MANIFEST)

    def locked() -> dict[str, Any] | None:
        st = e2e.get("vmt", "x").get("status") or {}
        return dict(st) if st.get("state") == "locked" else None

    status = e2e.wait_for("the template to be locked", locked, timeout=30)
    assert status["operation"]["action"] == "CreateTemplate"
    reconciling = [c for c in status["conditions"] if c["type"] == "Reconciling"]
    assert reconciling and reconciling[0]["reason"] == "CreatingTemplate"
    assert sim_state(e2e, "vm", "golden") == "image_locked"
    # Not Ready while locked: a short wait gives up.
    early = e2e.kubectl("wait", "--for=condition=Ready", "vmt/x", "--timeout=1s", check=False)
    assert early.returncode != 0
    assert sim_state(e2e, "template", "x") == "locked"

    e2e.kubectl("wait", "--for=condition=Ready", "vmt/x", "--timeout=60s")
    assert sim_state(e2e, "template", "x") == "ok"
    assert sim_state(e2e, "vm", "golden") == "down"
    status = e2e.get("vmt", "x")["status"]
    assert status["state"] == "ok" and status.get("operation") is None

    table = e2e.kubectl("get", "vmt").stdout.splitlines()
    assert table[0].split()[:4] == ["NAME", "STATE", "READY", "SOURCE"]
    assert table[1].split()[:4] == ["x", "ok", "True", "golden"]
    events = e2e.kubectl("get", "events").stdout
    assert "Created template x from VM golden" in events

    e2e.kubectl("delete", "vmt", "x", "--timeout=60s")
    assert sim_state(e2e, "template", "x") is None

"""VirtualMachine end to end: kubectl -> local Kubernetes API -> operator -> simulator.

The simulator starts with the seed's environment already built (data center `mydc`,
cluster `mycluster` with networks `rhevm` and `rhevm2`, up hosts `rhevh1` and `rhevh2`, an
active NFS data domain `image`); only the seed's VM `hkvm1` (docs/README.md) is applied. Its
references name RHEV-M objects directly (no resources of those kinds exist).
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import pytest

from tests.fixtures.operator import E2E

INVENTORY = {
    "datacenters": [{"name": "mydc"}],
    "clusters": [{"name": "mycluster", "data_center": "mydc"}],
    "networks": [
        {
            "name": "rhevm2",
            "data_center": "mydc",
            "vlan": 2,
            "clusters": [{"name": "mycluster", "required": False}],
        }
    ],
    "hosts": [
        {"name": "rhevh1", "address": "10.0.0.11", "cluster": "mycluster", "status": "up"},
        {"name": "rhevh2", "address": "10.0.0.12", "cluster": "mycluster", "status": "up"},
    ],
    "storage_domains": [
        {
            "name": "image",
            "type": "data",
            "storage": {"type": "nfs", "address": "nfs.example", "path": "/vfsimg"},
            "data_center": "mydc",
            "status": "active",
        }
    ],
}

HKVM1 = textwrap.dedent("""
    apiVersion: rhev.io/v1alpha1
    kind: VirtualMachine
    metadata: {name: hkvm1}
    spec:
      cluster: mycluster
      cpu: {sockets: 2, cores: 2}
      memory: 2Gi
      nics:
      - {name: eth0, network: rhevm, install: true}
      - {name: eth1, network: rhevm2}
      disks:
      - {storageDomain: image, size: 10Gi, type: system}
      - {storageDomain: image, size: 20Gi, type: data}
      placement: {host: rhevh1}
      powerState: Running
    """)


def sim_vm(e2e: E2E, vm_id: str, follow: bool = False) -> str:
    """The simulator's XML of the VM (with its disks and NICs inlined when `follow`)."""
    query = "?follow=disk_attachments.disk,nics" if follow else ""
    xml: str = e2e.sim("GET", f"/ovirt-engine/api/vms/{vm_id}{query}")
    return xml


def field(xml: str, tag: str) -> str | None:
    m = re.search(rf"<{tag}>(.*?)</{tag}>", xml)
    return m.group(1) if m else None


def ready_as(e2e: E2E, name: str, state: str) -> dict[str, Any] | None:
    """The status once the resource is Ready for its current spec in `state`."""
    body = e2e.get("rvm", name)
    st = body.get("status") or {}
    generation = body["metadata"]["generation"]
    ok = any(
        c["type"] == "Ready" and c["status"] == "True" and c.get("observedGeneration") == generation
        for c in st.get("conditions") or []
    )
    return dict(st) if ok and st.get("state") == state else None


@pytest.mark.parametrize("e2e", [{"inventory": INVENTORY, "time_scale": 50}], indirect=True)
def test_hkvm1_runs_on_rhevh1_then_stops_and_is_deleted(e2e: E2E) -> None:
    e2e.kubectl("apply", "-f", "-", input=HKVM1)
    st = e2e.wait_for("hkvm1 Ready and up", lambda: ready_as(e2e, "hkvm1", "up"), timeout=90)
    assert st["host"] == "rhevh1"
    assert [n["name"] for n in st["nics"]] == ["eth0", "eth1"]
    assert [n["network"] for n in st["nics"]] == ["rhevm", "rhevm2"]
    assert st["installMac"] == st["nics"][0]["mac"]
    assert [(d["sizeBytes"], d["bootable"], d["state"]) for d in st["disks"]] == [
        (10 * 2**30, True, "ok"),
        (20 * 2**30, False, "ok"),
    ]

    # The simulator holds what the spec says.
    xml = sim_vm(e2e, st["id"])
    assert field(xml, "status") == "up" and field(xml, "memory") == str(2 * 2**30)
    assert "<sockets>2</sockets>" in xml and "<cores>2</cores>" in xml
    inlined = sim_vm(e2e, st["id"], follow=True)
    assert inlined.count("<disk_attachment ") == 2 and inlined.count("<nic ") == 2
    assert st["installMac"] in inlined

    rows = e2e.kubectl("get", "rvm").stdout.splitlines()
    header = rows[0].split()
    assert "HOST" in header
    row = dict(zip(header, rows[1].split(), strict=False))
    assert (row["NAME"], row["STATE"], row["READY"], row["HOST"]) == (
        "hkvm1",
        "up",
        "True",
        "rhevh1",
    )
    events = e2e.kubectl("get", "events").stdout
    assert "Created VM hkvm1 in cluster mycluster" in events
    assert "Starting VM hkvm1" in events

    # Stop it: a graceful shutdown, waited out.
    e2e.kubectl(
        "patch", "rvm", "hkvm1", "--type", "merge", "-p", '{"spec": {"powerState": "Stopped"}}'
    )
    st = e2e.wait_for("hkvm1 down", lambda: ready_as(e2e, "hkvm1", "down"), timeout=60)
    assert st.get("host") is None
    assert field(sim_vm(e2e, st["id"]), "status") == "down"

    # Delete: the VM and its disks leave RHEV-M.
    e2e.kubectl("delete", "rvm", "hkvm1", "--timeout=60s")
    assert "<name>hkvm1</name>" not in e2e.sim("GET", "/ovirt-engine/api/vms")
    assert "hkvm1_Disk" not in e2e.sim("GET", "/ovirt-engine/api/disks")

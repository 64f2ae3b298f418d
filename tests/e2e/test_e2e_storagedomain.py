"""StorageDomain end to end: kubectl -> local Kubernetes API -> operator -> simulator.

The simulator starts with data center `mydc`, its cluster and two up hosts (as if they
had been installed); the data center is adopted and two NFS data domains are applied.
"""

from __future__ import annotations

import re
import textwrap
from typing import Any

import pytest

from tests.fixtures.operator import E2E

INVENTORY = {
    "datacenters": [{"name": "Default"}, {"name": "mydc"}],
    "clusters": [
        {"name": "Default", "data_center": "Default"},
        {"name": "mycluster", "data_center": "mydc"},
    ],
    "hosts": [
        {"name": "rhevh1", "address": "10.0.0.11", "cluster": "mycluster", "status": "up"},
        {"name": "rhevh2", "address": "10.0.0.12", "cluster": "mycluster", "status": "up"},
    ],
}

MANIFESTS = textwrap.dedent("""
    apiVersion: rhev.io/v1alpha1
    kind: RhevDataCenter
    metadata: {name: mydc}
    spec: {storageType: nfs, adopt: true}
    ---
    apiVersion: rhev.io/v1alpha1
    kind: StorageDomain
    metadata: {name: image}
    spec:
      dataCenter: mydc
      storageType: nfs
      nfs: {address: nfs.example, path: /vfsimg}
      host: rhevh1
    ---
    apiVersion: rhev.io/v1alpha1
    kind: StorageDomain
    metadata: {name: data2}
    spec:
      dataCenter: mydc
      nfs: {address: nfs.example, path: /data2}
      host: rhevh2
    """)


def attached(e2e: E2E, dc_id: str) -> dict[str, dict[str, str]]:
    """name -> {status, master} as the simulator's data center sees its domains."""
    xml = e2e.sim("GET", f"/ovirt-engine/api/datacenters/{dc_id}/storagedomains")
    out = {}
    for block in re.findall(r"<storage_domain [^>]*>.*?</storage_domain>", xml, re.S):
        fields = {
            key: m.group(1)
            for key in ("name", "status", "master")
            if (m := re.search(rf"<{key}>(.*?)</{key}>", block))
        }
        out[fields["name"]] = fields
    return out


def top_level_names(e2e: E2E) -> list[str]:
    xml = e2e.sim("GET", "/ovirt-engine/api/storagedomains")
    return re.findall(r"<storage_domain [^>]*>.*?<name>(.*?)</name>", xml, re.S)


def table(text: str) -> dict[str, dict[str, str]]:
    """`kubectl get` output as rows by NAME, cut at the header's column starts (an empty
    cell stays empty instead of shifting the next ones)."""
    lines = text.splitlines()
    starts = [m.start() for m in re.finditer(r"\S+", lines[0])]
    names = lines[0].split()
    rows = {}
    for line in lines[1:]:
        cells = [
            line[a:b].strip() for a, b in zip(starts, [*starts[1:], len(line) + 1], strict=True)
        ]
        rows[cells[0]] = dict(zip(names, cells, strict=True))
    return rows


def status(e2e: E2E, name: str) -> dict[str, Any]:
    return dict(e2e.get("rsd", name).get("status") or {})


def ready_in(e2e: E2E, name: str, state: str) -> dict[str, Any] | None:
    """The status once the resource is Ready for its current spec in `state`."""
    body = e2e.get("rsd", name)
    st = body.get("status") or {}
    generation = body["metadata"]["generation"]
    ok = any(
        c["type"] == "Ready" and c["status"] == "True" and c.get("observedGeneration") == generation
        for c in st.get("conditions") or []
    )
    return dict(st) if ok and st.get("state") == state else None


@pytest.mark.parametrize("e2e", [{"inventory": INVENTORY, "time_scale": 50}], indirect=True)
def test_two_nfs_domains_one_master_maintenance_and_back_and_delete(e2e: E2E) -> None:
    e2e.kubectl("apply", "-f", "-", input=MANIFESTS)
    e2e.kubectl("wait", "--for=condition=Ready", "rsd/image", "rsd/data2", "--timeout=90s")

    events = e2e.kubectl("get", "events").stdout
    assert "Created data storage domain image on nfs.example:/vfsimg through rhevh1" in events
    assert "Attaching storage domain data2 to data center mydc" in events

    dc_id = e2e.get("rdc", "mydc")["status"]["id"]
    seen = attached(e2e, dc_id)
    assert {n: s["status"] for n, s in seen.items()} == {"image": "active", "data2": "active"}
    masters = {n for n, s in seen.items() if s["master"] == "true"}
    assert len(masters) == 1
    (master,) = masters
    other = "data2" if master == "image" else "image"
    for name in ("image", "data2"):
        st = status(e2e, name)
        assert st["master"] is (name == master)
        assert st["availableBytes"] > 0 and st["usedBytes"] > 0
        assert st["dataCenterId"] == dc_id and st["state"] == "active"

    rows = table(e2e.kubectl("get", "rsd").stdout)
    assert {"STATE", "READY", "MASTER", "AVAILABLE"} <= set(rows[master])
    assert (rows[master]["STATE"], rows[master]["READY"], rows[master]["MASTER"]) == (
        "active",
        "True",
        "true",
    )
    assert (rows[other]["STATE"], rows[other]["MASTER"]) == ("active", "false")
    assert rows[master]["AVAILABLE"] == status(e2e, master)["availableHuman"]
    assert rows[master]["AVAILABLE"].endswith(("Gi", "Ti", "Mi"))
    assert e2e.get("rdc", "mydc")["status"]["state"] == "up"

    # The master into maintenance: the role moves to the other domain; then back.
    patch = '{"spec": {"state": "maintenance"}}'
    e2e.kubectl("patch", "rsd", master, "--type", "merge", "-p", patch)
    e2e.wait_for("maintenance", lambda: ready_in(e2e, master, "maintenance"))
    assert attached(e2e, dc_id)[master]["status"] == "maintenance"
    e2e.wait_for("the master role moved", lambda: status(e2e, other).get("master") is True)
    e2e.kubectl("patch", "rsd", master, "--type", "merge", "-p", '{"spec": {"state": "active"}}')
    back = e2e.wait_for("active again", lambda: ready_in(e2e, master, "active"))
    assert back["master"] is False
    events = e2e.kubectl("get", "events").stdout
    assert f"Moving storage domain {master} to maintenance" in events
    assert f"Activating storage domain {master}" in events

    # Deleting goes through maintenance and detach, then removes both from RHEV-M.
    e2e.kubectl("delete", "rsd", "image", "data2", "--timeout=90s")
    assert attached(e2e, dc_id) == {}
    assert "image" not in top_level_names(e2e) and "data2" not in top_level_names(e2e)
    gone = e2e.kubectl("get", "rsd", "image", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr

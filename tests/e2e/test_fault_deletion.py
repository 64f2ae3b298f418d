"""Deletion safety through the whole path: deleting a RhevDataCenter that still holds a
cluster and a network waits for them, naming them, and never cascades in RHEV-M (the engine
would remove the data center's networks with it); a `Retain` resource leaves its object.

The rest of deletion safety is tested per reconciler against the simulator:
adopted and Retain objects are never removed (tests/sim/test_reconcile_*.py:
`test_an_existing_*_adopt*`, `test_retain_*`, `test_delete_with_retain_leaves_it`), a
StorageDomain is deactivated and detached on delete and formatted only with
`removal.format`, and one that holds disks is Stalled naming them unless `removal.force`
(tests/sim/test_reconcile_storagedomain.py)."""

from __future__ import annotations

import textwrap

from tests.e2e.test_fault_crash import sim_names
from tests.fixtures.operator import E2E

ENV = textwrap.dedent("""
    apiVersion: rhev.io/v1alpha1
    kind: RhevDataCenter
    metadata: {name: deldc}
    spec: {storageType: nfs}
    ---
    apiVersion: rhev.io/v1alpha1
    kind: RhevCluster
    metadata: {name: delcl}
    spec: {dataCenter: deldc, cpuType: Intel Westmere Family}
    ---
    apiVersion: rhev.io/v1alpha1
    kind: LogicalNetwork
    metadata: {name: delnet}
    spec: {dataCenter: deldc, vlan: 9}
    ---
    apiVersion: rhev.io/v1alpha1
    kind: RhevCluster
    metadata: {name: keptcl}
    spec: {dataCenter: Default, cpuType: Intel Westmere Family, deletionPolicy: Retain}
    """)


def ready(e2e: E2E, kind: str, name: str) -> dict[str, str]:
    for c in (e2e.get(kind, name).get("status") or {}).get("conditions") or []:
        if c["type"] == "Ready":
            return dict(c)
    return {}


def test_datacenter_deletion_waits_for_what_it_holds_and_never_cascades(e2e: E2E) -> None:
    e2e.kubectl("apply", "-f", "-", input=ENV)
    for kind, name in (("rdc", "deldc"), ("rcl", "delcl"), ("lnet", "delnet"), ("rcl", "keptcl")):
        e2e.wait_for(
            f"{name} Ready", lambda k=kind, n=name: ready(e2e, k, n).get("status") == "True"
        )
    e2e.kubectl("delete", "rdc", "deldc", "--wait=false")

    def waiting() -> str:
        c = ready(e2e, "rdc", "deldc")
        return c.get("message", "") if c.get("reason") == "WaitingForDependents" else ""

    message = e2e.wait_for("deldc waiting for what it holds", waiting)
    assert "cluster delcl" in message and "network delnet" in message
    names = sim_names(e2e)
    assert names["datacenters"]["deldc"] == 1
    assert names["clusters"]["delcl"] == 1 and names["networks"]["delnet"] == 1

    e2e.kubectl("delete", "rcl", "delcl", "keptcl", "--timeout=60s")
    e2e.kubectl("delete", "lnet", "delnet", "--timeout=60s")
    e2e.wait_for("deldc gone", lambda: "deldc" not in e2e.kubectl("get", "rdc").stdout, 60)
    names = sim_names(e2e)
    assert names["datacenters"]["deldc"] == 0 and names["clusters"]["delcl"] == 0
    assert names["clusters"]["keptcl"] == 1  # Retain: left in RHEV-M

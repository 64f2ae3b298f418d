"""Crash anywhere: the operator is SIGKILLed at random moments (a fixed seed) while it builds
an environment and while it deletes it, and started again each time.

At the end everything is Ready (then everything is gone), each resource has exactly one
RHEV-M object, nothing is left over in RHEV-M, and no action was sent twice to an object
(the simulator counts requests per object id: `/sim/stats` `by_object`).

- short (in `make test`): 5 kills; a data center, a cluster, a VLAN network and 3 VMs.
- full (`make faults`): 50 kills; the seed's environment (two hosts booted over IPMI, two
  NFS domains, the VM hkvm1 running) plus a template and 50 VMs made from it; the operator
  runs with `--trace-rest` and no password, token or BMC credential reaches its log, the
  Events or the resources.
"""

from __future__ import annotations

import json
import random
import re
import signal
import textwrap
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from rhevsim.bmc import BmcProcess
from tests.e2e.test_e2e_seed import BMC_PASSWORD, INVENTORY, bmcs, documents
from tests.e2e.test_fault_hostile_input import leaks, secret_forms
from tests.fixtures.operator import ALL_KINDS, E2E, SIM_PASSWORD

__all__ = ["bmcs"]  # the fixture, used by the full version

SEED = 20261203
COLLECTIONS = ("datacenters", "clusters", "networks", "storagedomains", "hosts", "vms", "templates")
KIND_COLLECTION = {
    "RhevDataCenter": "datacenters",
    "RhevCluster": "clusters",
    "LogicalNetwork": "networks",
    "StorageDomain": "storagedomains",
    "Hypervisor": "hosts",
    "VirtualMachine": "vms",
    "VmTemplate": "templates",
}
#: Requests that start an operation on an existing object: each is sent at most once per
#: object here (every operation of these scenarios is done once and completes).
ONE_SHOT = re.compile(
    r"^POST /(vms/\{id\}/(start|stop|shutdown|suspend|migrate)"
    r"|hosts/\{id\}/(approve|install|fence)"
    r"|datacenters/\{dc\}/storagedomains/\{id\}/(activate|deactivate))$"
)
#: Creations: accepted at most once per resource (a second would be a duplicate or a
#: refusal of one).
CREATES = re.compile(
    r"^POST /(datacenters|clusters|networks|storagedomains|vms|templates"
    r"|datacenters/\{id\}/storagedomains)$"
)


def repeated_actions(
    stats: dict[str, Any], one_shot: re.Pattern[str], deletes: bool = False
) -> dict[str, int]:
    """Per object, the one-shot actions (and removals) RHEV-M accepted more than once."""
    out = {}
    for oid, counts in stats["by_object"].items():
        for key, n in counts.items():
            if key.endswith(" refused"):
                continue  # the refusals of a key, subtracted below
            if not (one_shot.match(key) or (deletes and key.startswith("DELETE "))):
                continue
            accepted = n - counts.get(f"{key} refused", 0)
            if accepted > 1:
                out[f"{oid} {key}"] = accepted
    return out


def sim_names(e2e: E2E) -> dict[str, Counter[str]]:
    out: dict[str, Counter[str]] = {}
    for collection in COLLECTIONS:
        root = etree.fromstring(e2e.sim("GET", f"/ovirt-engine/api/{collection}").encode())
        out[collection] = Counter(m.findtext("name") or "" for m in root)
    return out


def items(e2e: E2E) -> list[dict[str, Any]]:
    return list(json.loads(e2e.kubectl("get", ALL_KINDS, "-o", "json").stdout)["items"])


def ready(item: dict[str, Any]) -> bool:
    return any(
        c["type"] == "Ready" and c["status"] == "True"
        for c in (item.get("status") or {}).get("conditions") or []
    )


def kill(e2e: E2E) -> None:
    operator = e2e.operator
    assert operator is not None
    operator.send_signal(signal.SIGKILL)
    operator.wait(timeout=10)
    e2e.procs.remove(operator)


def kill_and_restart(e2e: E2E, rng: random.Random, kills: int, args: tuple[str, ...]) -> int:
    """SIGKILL the operator `kills` times, each after a random while (the seed fixes it),
    starting it again each time; returns the kills done."""
    for _ in range(kills):
        time.sleep(rng.uniform(0.2, 3.0))  # a random moment of its work, not an assertion
        kill(e2e)
        e2e.start_operator(*args)
    return kills


def small_env(vms: int) -> str:
    docs = [
        """
        apiVersion: rhev.io/v1alpha1
        kind: RhevDataCenter
        metadata: {name: crashdc}
        spec: {storageType: nfs, description: crash test}
        ---
        apiVersion: rhev.io/v1alpha1
        kind: RhevCluster
        metadata: {name: crashcl}
        spec: {dataCenter: crashdc, cpuType: Intel Westmere Family}
        ---
        apiVersion: rhev.io/v1alpha1
        kind: LogicalNetwork
        metadata: {name: crashnet}
        spec: {dataCenter: crashdc, vlan: 5, clusters: [crashcl]}
        """
    ]
    for i in range(vms):
        docs.append(f"""
        apiVersion: rhev.io/v1alpha1
        kind: VirtualMachine
        metadata: {{name: cvm{i:02d}}}
        spec: {{cluster: crashcl, memory: 1Gi, nics: [{{name: eth0, network: crashnet}}]}}
        """)
    return "\n---\n".join(textwrap.dedent(d) for d in docs)


def full_env(vms: int) -> str:
    docs = [*documents(), (Path(__file__).parents[2] / SEED_VM).read_text()]
    docs.append("""
    apiVersion: rhev.io/v1alpha1
    kind: VirtualMachine
    metadata: {name: golden}
    spec:
      cluster: mycluster
      memory: 1Gi
      disks: [{storageDomain: image, size: 1Gi, type: system}]
    ---
    apiVersion: rhev.io/v1alpha1
    kind: VmTemplate
    metadata: {name: gold}
    spec: {sourceVm: golden, cluster: mycluster, description: crash test template}
    """)
    for i in range(vms):
        docs.append(f"""
        apiVersion: rhev.io/v1alpha1
        kind: VirtualMachine
        metadata: {{name: tvm{i:02d}}}
        spec: {{cluster: mycluster, template: gold, memory: 1Gi}}
        """)
    return "\n---\n".join(textwrap.dedent(d) for d in docs)


SEED_VM = "operator/rhev_testbed/seed/60-virtualmachine-hkvm1.yaml"


def run_crash_scenario(
    e2e: E2E, manifest: str, kills_up: int, kills_down: int, timeout: float
) -> dict[str, Any]:
    rng = random.Random(SEED)
    args = ("--trace-rest",)
    e2e.stop_operator()
    e2e.start_operator(*args)
    initial = sim_names(e2e)

    e2e.kubectl("apply", "-f", "-", input=manifest, timeout=120)
    killed = kill_and_restart(e2e, rng, kills_up, args)

    def converged() -> bool:
        its = items(e2e)
        return bool(its) and all(ready(i) for i in its)

    e2e.wait_for("everything Ready after the kills", converged, timeout=timeout, interval=1)
    resources = items(e2e)
    names = sim_names(e2e)
    stats = e2e.sim("GET", "/sim/stats")

    # Exactly one RHEV-M object per resource, under its status.id; nothing else new.
    duplicates = {}
    expected: dict[str, Counter[str]] = {c: Counter(initial[c]) for c in COLLECTIONS}
    for item in resources:
        collection = KIND_COLLECTION[item["kind"]]
        name = item["spec"].get("name") or item["metadata"]["name"]
        if initial[collection][name] == 0:
            expected[collection][name] += 1
        if names[collection][name] != 1:
            duplicates[f"{collection}/{name}"] = names[collection][name]
    made = sum(expected[c].total() - initial[c].total() for c in COLLECTIONS)
    # Hosts register themselves (booted over IPMI): no creation request makes them.
    posted = made - (expected["hosts"].total() - initial["hosts"].total())
    # RHEV-M adds its management network to every new data center.
    expected["networks"]["rhevm"] += (
        expected["datacenters"].total() - initial["datacenters"].total()
    )
    leftovers = {c: sorted((names[c] - expected[c]).elements()) for c in COLLECTIONS}
    leftovers = {c: v for c, v in leftovers.items() if v}

    # No action repeated on an object, no creation accepted twice.
    repeated = repeated_actions(stats, ONE_SHOT)
    created = {
        k: v - stats["refused"].get(k, 0) for k, v in stats["requests"].items() if CREATES.match(k)
    }
    # Storage domains are created, then attached (a second create-like call, per domain).
    attaches = created.get("POST /datacenters/{id}/storagedomains", 0)

    # Deletion of all of it, with kills.
    e2e.kubectl("delete", ALL_KINDS, "--all", "--wait=false")
    killed += kill_and_restart(e2e, rng, kills_down, args)
    e2e.wait_for("everything gone", lambda: not items(e2e), timeout=timeout, interval=1)
    after = sim_names(e2e)
    leftovers_after = {c: sorted((after[c] - initial[c]).elements()) for c in COLLECTIONS}
    leftovers_after = {c: v for c, v in leftovers_after.items() if v}
    stats_end = e2e.sim("GET", "/sim/stats")
    repeated_end = repeated_actions(stats_end, ONE_SHOT, deletes=True)
    return {
        "kills": killed,
        "resources": len(resources),
        "rhevm_objects_made": made,
        "creations_expected": posted,
        "creations_accepted": sum(created.values()) - attaches,
        "duplicates": duplicates,
        "leftovers": leftovers,
        "repeated_actions": repeated,
        "leftovers_after_delete": leftovers_after,
        "repeated_after_delete": repeated_end,
    }


def assert_clean(report: dict[str, Any]) -> None:
    print(f"\ncrash: {json.dumps(report)}")
    assert report["duplicates"] == {}
    assert report["leftovers"] == {}
    assert report["repeated_actions"] == {}
    assert report["creations_accepted"] == report["creations_expected"]
    assert report["leftovers_after_delete"] == {}
    assert report["repeated_after_delete"] == {}


@pytest.mark.timeout(300)
def test_five_kills_while_building_and_deleting_a_small_environment(e2e: E2E) -> None:
    report = run_crash_scenario(e2e, small_env(3), kills_up=3, kills_down=2, timeout=120)
    assert report["kills"] == 5
    assert_clean(report)


@pytest.mark.fault
@pytest.mark.timeout(1800)
@pytest.mark.parametrize("e2e", [{"inventory": INVENTORY, "time_scale": 50}], indirect=True)
def test_fifty_kills_while_building_and_deleting_the_seed_with_50_vms(
    e2e: E2E, bmcs: BmcProcess
) -> None:
    report = run_crash_scenario(e2e, full_env(50), kills_up=30, kills_down=20, timeout=900)
    assert report["kills"] == 50
    assert_clean(report)
    issued = e2e.sim("GET", "/sim/auth/issued")["issued"]
    assert leaks(e2e, secret_forms([SIM_PASSWORD, BMC_PASSWORD]) + issued) == {}

"""RHEV-M faults: 20% of API calls answer 503 or reset the connection, 2 s latency spikes,
storms of 409 "related operation in progress", every token expired mid-run, and the API down
for a while in the middle of the work. The environment converges all the same, with exactly
one RHEV-M object per resource; the operator never exits and does not spin (its request rate
while RHEV-M is down is measured from `/sim/stats` and bounded); while RHEV-M is down the
resource being worked on says so (`RhevmUnavailable`), and the condition clears after.

- short (in `make test`): a data center, a cluster, a network and VMs, 2 % latency spikes;
  one 6 s outage.
- full (`make faults`): the seed's environment with a template; a 60 s outage in the middle
  of a host installation, of a storage activation and of a template creation.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rhevsim.bmc import BmcProcess
from tests.e2e.test_e2e_seed import BMC_PASSWORD, INVENTORY, bmcs, documents
from tests.e2e.test_fault_crash import items, ready, sim_names, small_env
from tests.e2e.test_fault_hostile_input import leaks, secret_forms
from tests.fixtures.operator import E2E, SIM_PASSWORD

__all__ = ["bmcs"]

API = "^/ovirt-engine/api/"
LOCKED = "[Cannot proceed. Related operation is currently in progress. Please try again later.]"
#: Requests per minute the operator may send to a RHEV-M that is down: it backs off
#: (retries of a pass every 10 s, listings once per poll) instead of spinning.
MAX_RATE_DOWN = 240


def chaos_rules(storm: bool = True, spikes: float = 0.05) -> list[dict[str, Any]]:
    rules: list[dict[str, Any]] = [
        {"path": API, "probability": 0.1, "status": 503},
        {"path": API, "probability": 0.1, "status": "reset"},
        {"path": API, "probability": spikes, "latency": 2.0},
    ]
    if storm:
        rules.append(
            {
                "path": API,
                "method": "POST",
                "probability": 0.3,
                "status": 409,
                "reason": "Operation Failed",
                "detail": LOCKED,
            }
        )
    return rules


def fired(e2e: E2E) -> Counter[str]:
    out: Counter[str] = Counter()
    for rule in e2e.sim("GET", "/sim/faults")["rules"]:
        kind = "latency 2 s" if rule["latency"] else str(rule["status"])
        out[kind] += rule["fired"]
    return out


def condition(item: dict[str, Any], type_: str) -> dict[str, Any]:
    for c in (item.get("status") or {}).get("conditions") or []:
        if c["type"] == type_:
            return dict(c)
    return {}


def outage(e2e: E2E, seconds: float, watch: tuple[str, str] | None) -> dict[str, Any]:
    """RHEV-M down for `seconds`: the request rate meanwhile, and the cause `watch` showed."""
    total_before = sum(
        v for k, v in e2e.sim("GET", "/sim/stats")["requests"].items() if "(api down)" in k
    )
    e2e.sim("POST", "/sim/api/down", {"mode": "503"})
    started = time.monotonic()
    shown = ""
    if watch is not None:

        def says_unavailable() -> str:
            item = e2e.get(*watch)
            c = condition(item, "Ready")
            return c.get("message", "") if c.get("reason") == "RhevmUnavailable" else ""

        shown = e2e.wait_for(f"{watch} to show RhevmUnavailable", says_unavailable, timeout=60)
    left = seconds - (time.monotonic() - started)
    if left > 0:
        time.sleep(left)  # the outage lasts; nothing is asserted on the wait itself
    stats = e2e.sim("GET", "/sim/stats")["requests"]
    elapsed = time.monotonic() - started
    e2e.sim("POST", "/sim/api/up")
    during = sum(v for k, v in stats.items() if "(api down)" in k) - total_before
    assert e2e.operator is not None and e2e.operator.poll() is None, "the operator exited"
    return {"seconds": round(elapsed), "requests": during, "per_min": during * 60 / elapsed,
            "shown": shown}  # fmt: skip


def no_unavailable_left(e2e: E2E) -> bool:
    its = items(e2e)
    return bool(its) and all(
        ready(i) and condition(i, "Reconciling").get("reason") != "RhevmUnavailable" for i in its
    )


def unique(e2e: E2E) -> dict[str, int]:
    return {
        f"{c}/{n}": k
        for c, names in sim_names(e2e).items()
        for n, k in names.items()
        if k > 1 and n != "rhevm"
    }


def test_rhevm_faults_small_environment_converges(e2e: E2E) -> None:
    e2e.stop_operator()
    e2e.start_operator("--trace-rest")
    e2e.sim("POST", "/sim/faults", chaos_rules(spikes=0.02))
    e2e.kubectl("apply", "-f", "-", input=small_env(1))
    # Mid-run: every token and session expires (401 -> one re-login).
    e2e.wait_for("a first resource Ready", lambda: any(ready(i) for i in items(e2e)), 60)
    logins = e2e.sim("GET", "/sim/stats")["logins"]
    e2e.sim("POST", "/sim/auth/expire-tokens")
    e2e.wait_for("all Ready under faults", lambda: all(ready(i) for i in items(e2e)), 180, 1)
    assert e2e.sim("GET", "/sim/stats")["logins"] > logins  # it logged in again
    injected = fired(e2e)

    # The API down while a new VM is being made: it says so, then converges.
    e2e.kubectl("apply", "-f", "-", input=small_env(2))
    down = outage(e2e, 6, ("rvm", "cvm01"))
    assert "RHEV-M is not answering" in down["shown"]
    assert down["per_min"] <= MAX_RATE_DOWN, down
    e2e.sim("DELETE", "/sim/faults")
    e2e.wait_for("all Ready, no outage left", lambda: no_unavailable_left(e2e), 120, 1)
    assert unique(e2e) == {}
    issued = e2e.sim("GET", "/sim/auth/issued")["issued"]
    assert leaks(e2e, secret_forms([SIM_PASSWORD]) + issued) == {}
    print(f"\nrhevm faults (short): {json.dumps({'fired': injected, 'outage': down})}")


@pytest.mark.fault
@pytest.mark.timeout(1500)
@pytest.mark.parametrize("e2e", [{"inventory": INVENTORY, "time_scale": 50}], indirect=True)
def test_rhevm_faults_seed_environment_converges_through_three_outages(
    e2e: E2E, bmcs: BmcProcess
) -> None:
    e2e.stop_operator()
    e2e.start_operator("--trace-rest")
    e2e.sim("POST", "/sim/faults", chaos_rules())
    seed_vm = Path(__file__).parents[2] / "operator/rhev_testbed/seed/60-virtualmachine-hkvm1.yaml"
    extra = """
apiVersion: rhev.io/v1alpha1
kind: VirtualMachine
metadata: {name: golden}
spec: {cluster: mycluster, memory: 1Gi, disks: [{storageDomain: image, size: 1Gi, type: system}]}
---
apiVersion: rhev.io/v1alpha1
kind: VmTemplate
metadata: {name: gold}
spec: {sourceVm: golden, cluster: mycluster}
"""
    manifest = "\n---\n".join([*documents(), seed_vm.read_text(), extra])
    e2e.kubectl("apply", "-f", "-", input=manifest, timeout=120)

    def reason_is(kind: str, name: str, reasons: tuple[str, ...]) -> bool:
        return condition(e2e.get(kind, name), "Reconciling").get("reason") in reasons

    outages = {}
    moments = (
        ("host installation", ("hv", "rhevh1"), ("InstallingHost",)),
        ("storage activation", ("rsd", "image"), ("ActivatingStorage", "AttachingStorage")),
        ("template creation", ("vmt", "gold"), ("CreatingTemplate",)),
    )
    for i, (what, (kind, name), reasons) in enumerate(moments):
        e2e.wait_for(
            f"{what} in flight", lambda k=kind, n=name, r=reasons: reason_is(k, n, r), 600, 0.2
        )
        if i == 1:
            e2e.sim("POST", "/sim/auth/expire-tokens")
        outages[what] = outage(e2e, 60, (kind, name))
        assert outages[what]["per_min"] <= MAX_RATE_DOWN, outages
    injected = fired(e2e)
    e2e.sim("DELETE", "/sim/faults")
    e2e.wait_for("all Ready, no outage left", lambda: no_unavailable_left(e2e), 600, 2)
    assert unique(e2e) == {}
    issued = e2e.sim("GET", "/sim/auth/issued")["issued"]
    assert leaks(e2e, secret_forms([SIM_PASSWORD, BMC_PASSWORD]) + issued) == {}
    print(f"\nrhevm faults (full): {json.dumps({'fired': injected, 'outages': outages})}")

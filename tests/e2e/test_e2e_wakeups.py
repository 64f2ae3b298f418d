"""The event-driven loop end to end: with the safety-net resync at ten minutes, every change
below is picked up by a wake-up (a RHEV-M change, a spec change, a requeue), never a timer.

The operator logs why each pass ran ("Reconciling VirtualMachine hkvm1 (rhevm change)"),
which is what these tests read; they assert causes and counts, not times."""

from __future__ import annotations

import base64
import re
import urllib.request

import pytest

from tests.e2e.test_e2e_virtualmachine import HKVM1, INVENTORY, field, ready_as, sim_vm
from tests.fixtures.operator import E2E, SIM_PASSWORD

SLOW_RESYNC = {
    "inventory": INVENTORY,
    "time_scale": 50,
    "operator_args": ("--resync-seconds", "600", "--poll-seconds", "5"),
}


def sim_action(e2e: E2E, path: str) -> None:
    """An out-of-band action on the simulator's API, as an administrator would do it."""
    request = urllib.request.Request(
        f"{e2e.sim_url}/ovirt-engine/api/{path}", data=b"<action/>", method="POST"
    )
    token = base64.b64encode(f"admin@internal:{SIM_PASSWORD}".encode()).decode()
    request.add_header("Authorization", f"Basic {token}")
    request.add_header("Content-Type", "application/xml")
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()


def reasons(e2e: E2E, name: str) -> list[str]:
    """Why each pass of VirtualMachine `name` ran, in order, from the operator's log."""
    text = e2e.operator_log.read_text(errors="replace")
    return re.findall(rf"Reconciling VirtualMachine {name} \(([^)]*)\)", text)


@pytest.mark.parametrize("e2e", [SLOW_RESYNC], indirect=True)
def test_a_vm_stopped_out_of_band_is_started_again_by_a_wake_up(e2e: E2E) -> None:
    e2e.kubectl("apply", "-f", "-", input=HKVM1)
    st = e2e.wait_for("hkvm1 up", lambda: ready_as(e2e, "hkvm1", "up"), timeout=120)
    # The whole ladder (create, disks, NICs, start) ran on wake-ups and requeues alone.
    ladder = reasons(e2e, "hkvm1")
    assert ladder and "resync" not in ladder, ladder
    assert ladder[0] == "start"

    for round_ in range(2):
        before = len(reasons(e2e, "hkvm1"))
        sim_action(e2e, f"vms/{st['id']}/stop")
        e2e.wait_for(
            "the simulator to show hkvm1 down",
            lambda: field(sim_vm(e2e, st["id"]), "status") == "down",
            timeout=30,
        )
        e2e.wait_for(
            f"hkvm1 started again ({round_})",
            lambda: field(sim_vm(e2e, st["id"]), "status") == "up",
            timeout=60,
        )
        after = reasons(e2e, "hkvm1")[before:]
        assert "rhevm change" in after, after
        assert "resync" not in after, after
    events = e2e.kubectl("get", "events").stdout
    assert events.count("Starting VM hkvm1") >= 2


@pytest.mark.parametrize("e2e", [SLOW_RESYNC], indirect=True)
def test_a_spec_change_wakes_the_object_and_an_idle_object_writes_nothing(e2e: E2E) -> None:
    e2e.kubectl("apply", "-f", "-", input=HKVM1)
    e2e.wait_for("hkvm1 up", lambda: ready_as(e2e, "hkvm1", "up"), timeout=120)
    version = e2e.get("rvm", "hkvm1")["metadata"]["resourceVersion"]
    passes = len(reasons(e2e, "hkvm1"))
    # Idle: two more listings of the VMs and several events polls go by; nothing changed
    # in RHEV-M, so nothing runs and nothing is written to Kubernetes.
    listings = _count(e2e, "GET /vms")
    polls = _count(e2e, "GET /events")
    e2e.wait_for(
        "two inventory ticks",
        lambda: _count(e2e, "GET /vms") >= listings + 2 and _count(e2e, "GET /events") > polls + 4,
        timeout=30,
    )
    assert e2e.get("rvm", "hkvm1")["metadata"]["resourceVersion"] == version
    assert len(reasons(e2e, "hkvm1")) == passes

    e2e.kubectl(
        "patch", "rvm", "hkvm1", "--type", "merge", "-p", '{"spec": {"powerState": "Stopped"}}'
    )
    e2e.wait_for("hkvm1 down", lambda: ready_as(e2e, "hkvm1", "down"), timeout=60)
    after = reasons(e2e, "hkvm1")[passes:]
    assert after[0] == "spec change", after
    assert "resync" not in after, after


@pytest.mark.parametrize("e2e", [SLOW_RESYNC], indirect=True)
def test_a_restart_rebuilds_the_wake_up_map_without_repeating_an_action(e2e: E2E) -> None:
    e2e.kubectl("apply", "-f", "-", input=HKVM1)
    st = e2e.wait_for("hkvm1 up", lambda: ready_as(e2e, "hkvm1", "up"), timeout=120)
    e2e.stop_operator()
    starts = _count(e2e, "POST /vms/{id}/start")
    creates = _count(e2e, "POST /vms")
    e2e.start_operator("--resync-seconds", "600", "--poll-seconds", "5")
    e2e.wait_for("the first pass after the restart", lambda: reasons(e2e, "hkvm1")[-1] == "start")
    assert _count(e2e, "POST /vms/{id}/start") == starts
    assert _count(e2e, "POST /vms") == creates
    # The new process knows who owns the VM: an out-of-band stop wakes it.
    sim_action(e2e, f"vms/{st['id']}/stop")
    e2e.wait_for(
        "hkvm1 started again",
        lambda: (
            field(sim_vm(e2e, st["id"]), "status") == "up"
            and _count(e2e, "POST /vms/{id}/start") == starts + 1
        ),
        timeout=60,
    )
    assert "rhevm change" in reasons(e2e, "hkvm1")


def _count(e2e: E2E, key: str) -> int:
    stats = e2e.sim("GET", "/sim/stats")
    return int(stats["requests"].get(key, 0))

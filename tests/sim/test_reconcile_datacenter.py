"""RhevDataCenter reconciler against the simulator (manual clock), without kopf."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any


def seconds(op: dict[str, Any]) -> float:
    """How long an operation record allows, from its timestamps."""
    started = dt.datetime.fromisoformat(op["started"].replace("Z", "+00:00"))
    deadline = dt.datetime.fromisoformat(op["deadline"].replace("Z", "+00:00"))
    return (deadline - started).total_seconds()


def push_deadline_back(h: Any, kind: str, name: str) -> None:
    """As if the in-flight operation's deadline had passed (the operator's clock is the wall
    clock; the simulator's stands still)."""
    op = h.bodies[(kind, name)]["status"]["operation"]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    op["deadline"] = past.isoformat().replace("+00:00", "Z")


def test_create_then_drift_is_corrected_and_delete_removes(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevDataCenter", "mydc", {"storageType": "localfs", "description": "first"})
    outcome = h.run("RhevDataCenter", "mydc")
    assert [e.reason for e in outcome.events] == ["Created"]
    dc = h.client.datacenters.find("mydc")
    assert dc is not None and dc.local is True and dc.description == "first"
    assert h.status("RhevDataCenter", "mydc")["id"] == dc.id
    assert h.condition("RhevDataCenter", "mydc")["status"] == "True"

    # Running again changes nothing and creates no duplicate.
    outcome = h.run("RhevDataCenter", "mydc")
    assert outcome.events == []
    assert [d.name for d in h.client.datacenters.list()].count("mydc") == 1

    # Drift made in RHEV-M on a field the spec sets is corrected, with an Event.
    from rhev_operator.rhevm import DataCenterUpdate

    h.client.datacenters.update(dc.id, DataCenterUpdate(description="changed by hand"))
    outcome = h.run("RhevDataCenter", "mydc")
    assert [e.reason for e in outcome.events] == ["Updated"]
    assert h.client.datacenters.get(dc.id).description == "first"

    outcome = h.run("RhevDataCenter", "mydc", delete=True)
    assert outcome.finished
    assert h.client.datacenters.find("mydc") is None


def test_a_crash_after_create_is_recognised_by_the_owner_marker(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    body = h.apply("RhevDataCenter", "mydc", {})
    h.run("RhevDataCenter", "mydc")
    body["status"] = {}  # the status patch was lost: as after a crash before it landed
    outcome = h.run("RhevDataCenter", "mydc")
    assert h.condition("RhevDataCenter", "mydc")["status"] == "True"
    assert outcome.events == []
    assert [d.name for d in h.client.datacenters.list()].count("mydc") == 1


def test_retain_leaves_the_datacenter(simulator: Any, reconciler_harness: Any) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevDataCenter", "keep", {"deletionPolicy": "Retain"})
    h.run("RhevDataCenter", "keep")
    outcome = h.run("RhevDataCenter", "keep", delete=True)
    assert outcome.finished and [e.reason for e in outcome.events] == ["Retained"]
    assert h.client.datacenters.find("keep") is not None


def test_rhevm_down_is_reported_as_reconciling_not_a_crash(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply("RhevDataCenter", "mydc", {})
    simulator.control("POST", "/sim/api/down", {"mode": "503"})
    h.run("RhevDataCenter", "mydc")
    ready = h.condition("RhevDataCenter", "mydc")
    assert ready is not None and ready["status"] == "False"
    assert ready["reason"] == "RhevmUnavailable"
    simulator.control("POST", "/sim/api/up")
    h.run("RhevDataCenter", "mydc")
    assert h.condition("RhevDataCenter", "mydc")["status"] == "True"


def test_adopting_a_local_datacenter_without_storage_type_keeps_it_local(
    simulator: Any, reconciler_harness: Any
) -> None:
    from rhev_operator.rhevm import DataCenterCreate

    h = reconciler_harness(simulator)
    h.client.datacenters.add(DataCenterCreate(name="localdc", local=True))
    h.apply("RhevDataCenter", "localdc", {"adopt": True})
    outcome = h.run("RhevDataCenter", "localdc")
    assert [e.reason for e in outcome.events] == ["Adopted"]
    assert h.client.datacenters.find("localdc").local is True
    # Said explicitly, the spec wins and the change is an Event.
    h.apply("RhevDataCenter", "localdc", {"adopt": True, "storageType": "nfs"})
    outcome = h.run("RhevDataCenter", "localdc")
    assert [e.reason for e in outcome.events] == ["Updated"]
    assert h.client.datacenters.find("localdc").local is False


# -- the SPM ------------------------------------------------------------------------------

DC = "RhevDataCenter"


def _spm_inventory() -> dict[str, Any]:
    """Default with an active master domain and two up hosts; hv1 is elected SPM."""
    return {
        "hosts": [
            {"name": "hv1", "address": "10.0.0.11", "cluster": "Default", "status": "up",
             "spm_priority": 8},
            {"name": "hv2", "address": "10.0.0.12", "cluster": "Default", "status": "up",
             "spm_priority": 5},
        ],
        "storage_domains": [
            {"name": "nfs1", "type": "data", "data_center": "Default", "status": "active",
             "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/exports/data"}},
        ],
    }  # fmt: skip


def test_a_lost_spm_is_waited_for_under_a_deadline_then_stalled_with_the_engines_event(
    simulator_factory: Callable[..., Any], reconciler_harness: Any
) -> None:
    sim = simulator_factory(_spm_inventory())
    h = reconciler_harness(sim)
    spec = {"name": "Default", "adopt": True, "timeouts": {"spmElectionSeconds": 120}}
    h.apply(DC, "default", spec)
    h.apply("RhevCluster", "default", {"name": "Default", "dataCenter": "default", "adopt": True})
    h.run(DC, "default")
    assert h.status(DC, "default")["state"] == "up"
    assert "SPM: hv1" in h.status(DC, "default")["message"]

    # The SPM host stops answering: RHEV-M keeps it as SPM, the data center is problematic.
    sim.control("POST", "/sim/hosts/hv1/fail")
    sim.advance(40)
    h.run(DC, "default")
    assert h.status(DC, "default")["state"] == "problematic"
    # Ready stays True (its clusters, networks and domains go on); the wait is beside it.
    assert h.condition(DC, "default")["status"] == "True"
    waiting = h.condition(DC, "default", "Reconciling")
    assert waiting is not None and waiting["reason"] == "WaitingForSPM"
    assert "data center Default is problematic" in waiting["message"]
    op = h.status(DC, "default")["operation"]
    assert op["action"] == "WaitForSPM" and seconds(op) == 120
    h.run("RhevCluster", "default")
    assert h.condition("RhevCluster", "default")["status"] == "True"  # not held up
    sim.advance(30)
    h.run(DC, "default")
    assert h.status(DC, "default")["operation"] == op  # the same deadline on every pass

    push_deadline_back(h, DC, "default")
    outcome = h.run(DC, "default")
    stalled = h.condition(DC, "default", "Stalled")
    assert stalled is not None and stalled["reason"] == "Timeout"
    assert "WaitForSPM did not finish" in stalled["message"]
    assert "RHEV-M said: Data Center is being initialized" in stalled["message"]
    assert "fence or confirm the reboot" in stalled["message"]
    assert h.condition(DC, "default", "Reconciling") is None
    assert h.condition(DC, "default")["status"] == "True"
    assert [(e.type, e.reason) for e in outcome.events] == [("Warning", "Timeout")]
    assert h.run(DC, "default").events == []  # said once

    # A human confirms hv1 was rebooted: hv2 is elected (contend), the data center is up
    # and the wait is over.
    h.client.hosts.fence(h.client.hosts.find("hv1").id, "manual")
    states = []
    for _ in range(30):
        h.run(DC, "default")
        states.append(h.status(DC, "default")["state"])
        assert h.condition(DC, "default")["status"] == "True"
        if states[-1] == "up":
            break
        sim.advance(1)
    assert states[-1] == "up" and "contend" in states
    assert h.status(DC, "default").get("operation") is None
    assert h.condition(DC, "default", "Stalled") is None
    assert h.condition(DC, "default", "Reconciling") is None
    assert "SPM: hv2" in h.status(DC, "default")["message"]


def test_an_uninitialized_data_center_is_ready_without_an_spm_wait(
    simulator: Any, reconciler_harness: Any
) -> None:
    h = reconciler_harness(simulator)
    h.apply(DC, "mydc", {})
    h.run(DC, "mydc")
    assert h.status(DC, "mydc")["state"] == "uninitialized"
    assert h.condition(DC, "mydc")["status"] == "True"
    assert h.condition(DC, "mydc", "Reconciling") is None
    assert h.status(DC, "mydc").get("operation") is None


def test_the_create_record_is_persisted_before_the_create_request(
    simulator: Any, reconciler_harness: Any
) -> None:
    """A crash between the POST and the status patch can never pass for "never created":
    the in-flight record is in Kubernetes while RHEV-M has no such data center yet."""
    h = reconciler_harness(simulator)
    in_rhevm_then: list[bool] = []
    h.on_persist = lambda name, _patch: in_rhevm_then.append(
        h.client.datacenters.find(name) is not None
    )
    h.apply("RhevDataCenter", "mydc", {})
    h.run("RhevDataCenter", "mydc")
    assert [patch["operation"]["action"] for _, patch in h.persisted] == ["Create"]
    assert in_rhevm_then == [False]
    status = h.status("RhevDataCenter", "mydc")
    assert status["id"] and status.get("operation") is None  # the answer ends the record
    # A second pass persists nothing: the data center exists.
    h.run("RhevDataCenter", "mydc")
    assert len(h.persisted) == 1


def test_a_create_record_without_its_answer_ends_when_the_object_is_found(
    simulator: Any, reconciler_harness: Any
) -> None:
    """A crash after the POST, before the answer reached status: the record alone is there;
    the next pass finds the data center by its owner marker and closes the record."""
    h = reconciler_harness(simulator)
    body = h.apply("RhevDataCenter", "mydc", {})
    h.run("RhevDataCenter", "mydc")
    record = h.persisted[0][1]
    body["status"] = dict(record)  # as if only the persisted record had been written
    h.run("RhevDataCenter", "mydc")
    status = h.status("RhevDataCenter", "mydc")
    assert status["id"] and status.get("operation") is None
    assert [d.name for d in h.client.datacenters.list()].count("mydc") == 1

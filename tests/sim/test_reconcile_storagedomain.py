"""StorageDomain reconciler against the simulator (manual clock), without kopf.

The simulator's data center `Default` has an up host `hv01` in its cluster (a storage
domain is created through an up host, and a data center needs one to attach storage).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rhev_operator.api.storagedomain import human_bytes
from rhev_operator.inventory.observer import Inventory
from rhev_operator.rhevm import ConnectionConfig, DiskCreate, RhevmClient, StorageDomainCreate
from rhevsim.testing import SimHandle
from tests.fixtures.reconcile import Harness

KIND = "StorageDomain"
GiB = 1024**3


def inventory(host_status: str = "up", **extra: Any) -> dict[str, Any]:
    inv: dict[str, Any] = {
        "datacenters": [
            {"name": "Default", "local": False},
            {"name": "localdc", "local": True},
        ],
        "clusters": [
            {"name": "Default", "data_center": "Default"},
            {"name": "localcl", "data_center": "localdc"},
        ],
        "hosts": [
            {"name": "hv01", "address": "10.0.0.11", "cluster": "Default", "status": host_status},
            {"name": "hv02", "address": "10.0.0.12", "cluster": "Default", "status": "up"},
            {"name": "lhv01", "address": "10.0.0.21", "cluster": "localcl", "status": "up"},
        ],
    }
    inv.update(extra)
    return inv


@pytest.fixture
def sim(simulator_factory: Callable[..., SimHandle]) -> SimHandle:
    return simulator_factory(inventory())


def nfs(path: str, **more: Any) -> dict[str, Any]:
    return {"nfs": {"address": "10.0.0.5", "path": path}, "host": "hv01", **more}


def reason(h: Harness, name: str) -> str | None:
    """The reason of Stalled when it holds, else of Ready (Ready, or why it is not)."""
    stalled = h.condition(KIND, name, "Stalled")
    if stalled is not None and stalled["status"] == "True":
        return str(stalled["reason"])
    ready = h.condition(KIND, name)
    return None if ready is None else str(ready["reason"])


def is_ready(h: Harness, name: str) -> bool:
    """Ready for the current generation of the spec."""
    ready = h.condition(KIND, name)
    generation = h.bodies[(KIND, name)]["metadata"]["generation"]
    return (
        ready is not None
        and ready["status"] == "True"
        and ready.get("observedGeneration") == generation
    )


def engine_state(sim: SimHandle, name: str) -> str:
    """The domain's state as the simulator holds it (in its data center, else unattached)."""
    sd = sim_sd(sim, name)
    if sd is None:
        return "gone"
    return str(sd.dc_status) if sd.data_center_id else "unattached"


def converge(
    h: Harness, sim: SimHandle, *names: str, steps: int = 80, delete: bool = False
) -> dict[str, list[str]]:
    """Run passes, 1 simulated second apart, until every resource is Ready for its spec
    (or deleted); returns the states each domain went through in the engine."""
    seen: dict[str, list[str]] = {n: [] for n in names}

    def sample() -> None:
        for n in names:
            state = engine_state(sim, n)
            if not seen[n] or seen[n][-1] != state:
                seen[n].append(state)

    for _ in range(steps):
        for n in names:
            if (KIND, n) in h.bodies and (delete or not is_ready(h, n) or not seen[n]):
                h.run(KIND, n, delete=delete)
        sample()
        if all((KIND, n) not in h.bodies if delete else is_ready(h, n) for n in names):
            return {n: s[1:] if s and s[0] == "gone" else s for n, s in seen.items()}
        sim.advance(1)
        sample()
    raise AssertionError(f"did not converge: {[(n, reason(h, n)) for n in names]}")


def events(h: Harness) -> list[str]:
    return [e.reason for o in h.outcomes for e in o.events]


def posts(sim: SimHandle) -> dict[str, int]:
    stats = sim.control("GET", "/sim/stats")["requests"]
    return {
        k: v
        for k, v in stats.items()
        if k.split()[0] in ("POST", "PUT", "DELETE") and "/sso/" not in k
    }


def sim_sd(sim: SimHandle, name: str) -> Any:
    return sim.find("storagedomain", name)


# -- create, attach, activate ------------------------------------------------------------


def test_created_attached_and_activated_becomes_master(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/exports/data1"))
    states = converge(h, sim, "data1")["data1"]
    assert states[0] == "locked" and states[-1] == "active"
    assert events(h) == ["Created", "Attaching"]

    status = h.status(KIND, "data1")
    sd = sim_sd(sim, "data1")
    dc = sim.find("datacenter", "Default")
    assert status["id"] == sd.id and sd.data_center_id == dc.id and sd.dc_status == "active"
    assert status["master"] is True and sd.master is True
    assert status["availableBytes"] == sd.available > 0
    assert status["availableHuman"] == human_bytes(sd.available)
    assert status["usedHuman"] == human_bytes(sd.used)
    assert status["type"] == "data"  # spec.domainType is unset: RHEV-M's says it
    assert status["usedBytes"] == sd.used > 0
    assert status["committedBytes"] == 0
    assert status["storageFormat"] == "v5"
    assert status["dataCenterId"] == dc.id
    assert status.get("operation") is None
    assert "rhev-operator uid=" in sd.comment and (sd.address, sd.path) == (
        "10.0.0.5",
        "/exports/data1",
    )
    assert "master" in h.condition(KIND, "data1")["message"]

    # Level-based and idempotent: another pass sends nothing and posts no Event.
    before = posts(sim)
    outcome = h.run(KIND, "data1")
    assert outcome.events == [] and posts(sim) == before and is_ready(h, "data1")


def test_state_flips_walk_the_engine_steps_in_order(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1"))
    converge(h, sim, "data1")
    dc = sim.find("datacenter", "Default")

    h.apply(KIND, "data1", nfs("/d1", state="maintenance"))
    assert converge(h, sim, "data1")["data1"] == ["preparing_for_maintenance", "maintenance"]
    assert dc.status == "maintenance"  # its last active data domain went to maintenance

    h.apply(KIND, "data1", nfs("/d1", state="active"))
    # Activating the master domain shows `locked` rather than `activating`.
    assert converge(h, sim, "data1")["data1"] == ["locked", "active"]

    h.apply(KIND, "data1", nfs("/d1", state="detached"))
    assert converge(h, sim, "data1")["data1"] == [
        "preparing_for_maintenance",
        "maintenance",
        "detaching",
        "unattached",
    ]
    assert sim_sd(sim, "data1").data_center_id is None
    status = h.status(KIND, "data1")
    assert status["master"] is False and status.get("dataCenterId") is None
    assert dc.status == "uninitialized"

    h.apply(KIND, "data1", nfs("/d1"))
    assert converge(h, sim, "data1")["data1"] == ["locked", "active"]
    assert h.status(KIND, "data1")["master"] is True
    assert events(h) == [
        "Created",
        "Attaching",
        "Deactivating",
        "Activating",
        "Deactivating",
        "Detaching",
        "Attaching",
    ]


def test_a_domain_deactivated_by_hand_is_activated_again(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1"))
    converge(h, sim, "data1")
    dc = sim.find("datacenter", "Default")
    sd_id = h.status(KIND, "data1")["id"]
    h.client.storagedomains.attached(dc.id).deactivate(sd_id)
    sim.advance(10)
    assert converge(h, sim, "data1")["data1"][-1] == "active"
    assert events(h)[-1] == "Activating"


def test_steady_state_reads_only_the_inventory(sim: SimHandle, reconciler_harness: Any) -> None:
    """Ready domains cost nothing per resource: one tick lists /storagedomains and the data
    center's /storagedomains once, and the passes read only that."""
    from rhev_operator.api import StorageDomain
    from rhev_operator.reconcilers import storagedomain

    h = reconciler_harness(sim)
    names = ("data1", "data2", "data3")
    for i, name in enumerate(names):
        h.apply(KIND, name, nfs(f"/d{i}"))
    converge(h, sim, *names)

    def gets() -> dict[str, int]:
        stats = sim.control("GET", "/sim/stats")["requests"]
        return {k: v for k, v in stats.items() if k.startswith("GET ") and "/sim/" not in k}

    before = gets()
    h.inventory.refresh()
    ticked = gets()
    for name in names:
        body = h.bodies[(KIND, name)]
        outcome = storagedomain.reconcile(h.context(body), StorageDomain.parse(body))
        assert outcome.events == [] and outcome.requeue_after is None
    after = gets()
    assert after == ticked  # the passes themselves sent nothing
    delta = {k: ticked[k] - before.get(k, 0) for k in ticked if ticked[k] != before.get(k, 0)}
    assert delta["GET /storagedomains"] == 1
    assert delta["GET /datacenters/{dc}/storagedomains"] == 1
    assert "GET /storagedomains/{id}" not in delta


def test_a_restarted_operator_resumes_the_step_in_flight(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1"))
    h.run(KIND, "data1")  # created, attach sent
    op = h.status(KIND, "data1")["operation"]
    assert op["action"] == "AttachStorageDomain"

    # A new operator process: a new client, an empty inventory, the same resources.
    h2 = reconciler_harness(sim)
    h2.bodies = h.bodies
    before = posts(sim)
    outcome = h2.run(KIND, "data1")
    assert posts(sim) == before and outcome.events == []
    assert h2.status(KIND, "data1")["operation"] == op  # same record, same deadline
    assert reason(h2, "data1") == "AttachingStorage"
    converge(h2, sim, "data1")
    assert events(h2) == [] and h2.status(KIND, "data1")["state"] == "active"


def test_a_lost_status_patch_is_recovered_by_the_owner_marker(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    body = h.apply(KIND, "data1", nfs("/d1"))
    h.run(KIND, "data1")
    sd_id = h.status(KIND, "data1")["id"]
    body["status"] = {}  # as after a crash before the status patch landed
    h.run(KIND, "data1")
    # The attach is in flight: waited out under a fresh record, not sent again.
    assert reason(h, "data1") == "StorageLocked"
    assert h.status(KIND, "data1")["operation"]["action"] == "AwaitStorageDomain"
    converge(h, sim, "data1")
    assert h.status(KIND, "data1")["id"] == sd_id
    assert events(h) == ["Created", "Attaching"]
    assert [d.name for d in h.client.storagedomains.list()].count("data1") == 1


# -- storage type, host, SPM -------------------------------------------------------------


def test_storage_type_mismatch_is_stalled_before_anything_is_sent(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    before = posts(sim)
    h.apply(KIND, "local1", {"storageType": "localfs", "localfs": {"path": "/data/l1"}})
    h.apply(KIND, "shared1", {"dataCenter": "localdc", **nfs("/s1")})
    for name in ("local1", "shared1"):
        outcome = h.run(KIND, name)
        assert reason(h, name) == "StorageTypeMismatch"
        assert [e.type for e in outcome.events] == ["Warning"]
    assert (
        "data center Default is shared (nfs)" in h.condition(KIND, "local1", "Stalled")["message"]
    )
    assert "spec.storageType" in h.condition(KIND, "shared1", "Stalled")["message"]
    assert posts(sim) == before
    assert sim_sd(sim, "local1") is None and sim_sd(sim, "shared1") is None


def test_localfs_in_a_local_data_center_is_created_attached_and_removed(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    spec = {"dataCenter": "localdc", "storageType": "localfs", "localfs": {"path": "/data/l1"}}
    h.apply(KIND, "local1", spec)
    converge(h, sim, "local1")
    status = h.status(KIND, "local1")
    assert status["state"] == "active" and status["master"] is True
    # The engine attaches a local domain as it creates it: no separate attach was sent.
    assert events(h) == ["Created"]
    assert "POST /datacenters/{dc}/storagedomains" not in posts(sim)
    assert sim_sd(sim, "local1").data_center_id == sim.find("datacenter", "localdc").id

    converge(h, sim, "local1", delete=True)
    assert sim_sd(sim, "local1") is None
    assert events(h)[-2:] == ["Deactivating", "Deleted"]


def test_waits_for_its_host_to_be_up(
    simulator_factory: Callable[..., SimHandle], reconciler_harness: Any
) -> None:
    sim = simulator_factory(inventory(host_status="maintenance"))
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1"))
    before = posts(sim)
    h.run(KIND, "data1")
    assert reason(h, "data1") == "WaitingForHost"
    assert "host hv01 is maintenance" in h.status(KIND, "data1")["message"]
    assert posts(sim) == before and sim_sd(sim, "data1") is None

    host = h.client.hosts.find("hv01")
    h.client.hosts.activate(host.id)
    converge(h, sim, "data1")
    assert h.status(KIND, "data1")["state"] == "active"


def test_second_data_domain_waits_for_the_spm_and_one_is_master(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1"))
    h.apply(KIND, "data2", nfs("/d2"))
    dc = sim.find("datacenter", "Default")
    reasons: list[str | None] = []
    attached_when: list[str] = []
    for _ in range(80):
        if is_ready(h, "data1") and is_ready(h, "data2"):
            break
        for name in ("data1", "data2"):
            outcome = h.run(KIND, name)
            if name == "data2":
                reasons.append(reason(h, name))
                if "Attaching" in [e.reason for e in outcome.events]:
                    attached_when.append(dc.status)
        sim.advance(1)
    assert is_ready(h, "data1") and is_ready(h, "data2")
    assert "WaitingForSPM" in reasons
    waiting = [r for r in reasons if r == "WaitingForSPM"]
    assert len(waiting) > 3  # it waited through the election, not one pass
    assert attached_when == ["up"]  # attached only once the data center had its SPM
    masters = [h.status(KIND, n)["master"] for n in ("data1", "data2")]
    assert sorted(masters) == [False, True]
    assert [sim_sd(sim, n).master for n in ("data1", "data2")] == masters
    assert dc.status == "up" and dc.spm_host_id is not None


def test_waiting_for_the_spm_past_its_deadline_is_stalled_with_the_engines_event(
    simulator_factory: Callable[..., SimHandle], reconciler_harness: Any
) -> None:
    # No host may be SPM: the data center never comes up after its first domain.
    inv = inventory()
    for host in inv["hosts"]:
        host["spm_priority"] = -1
    sim = simulator_factory(inv)
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1"))
    converge(h, sim, "data1")
    h.apply(KIND, "data2", nfs("/d2"))
    for _ in range(3):
        h.run(KIND, "data2")
        sim.advance(5)
    assert reason(h, "data2") == "WaitingForSPM"
    assert "problematic" in h.status(KIND, "data2")["message"]
    push_deadline_back(h, "data2")
    h.run(KIND, "data2")
    stalled = h.condition(KIND, "data2", "Stalled")
    assert stalled is not None and stalled["reason"] == "Timeout"
    assert "WaitForSPM did not finish" in stalled["message"]
    assert "Data Center is being initialized" in stalled["message"]


# -- deadlines, adoption, deletion -------------------------------------------------------


def push_deadline_back(h: Harness, name: str) -> None:
    """As if the operation's deadline had passed (the operator's clock is the wall clock)."""
    op = h.bodies[(KIND, name)]["status"]["operation"]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    op["deadline"] = past.isoformat().replace("+00:00", "Z")


def test_an_attach_past_its_deadline_is_stalled_with_the_engines_job_message(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1", timeouts={"activationSeconds": 30}))
    h.run(KIND, "data1")
    op = h.status(KIND, "data1")["operation"]
    assert op["action"] == "AttachStorageDomain"
    started = dt.datetime.fromisoformat(op["started"].replace("Z", "+00:00"))
    deadline = dt.datetime.fromisoformat(op["deadline"].replace("Z", "+00:00"))
    assert (deadline - started).total_seconds() == 30
    h.run(KIND, "data1")  # the clock stands still: still locked, before the deadline
    assert reason(h, "data1") == "AttachingStorage"

    push_deadline_back(h, "data1")
    outcome = h.run(KIND, "data1")
    stalled = h.condition(KIND, "data1", "Stalled")
    assert stalled is not None and stalled["reason"] == "Timeout"
    assert "AttachStorageDomain did not finish" in stalled["message"]
    assert "Attaching Storage Domain data1 to Data Center Default" in stalled["message"]
    assert [e.reason for e in outcome.events] == ["Timeout"]


def test_an_existing_domain_is_adopted_only_with_adopt_and_retained(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    host = h.client.hosts.find("hv01")
    existing = h.client.storagedomains.add(
        StorageDomainCreate(
            name="old",
            type="data",
            storage_type="nfs",
            host_id=host.id,
            address="10.0.0.5",
            path="/old",
        )
    )
    h.apply(KIND, "old", nfs("/old"))
    h.run(KIND, "old")
    assert reason(h, "old") == "AlreadyExists"

    h.apply(KIND, "old", nfs("/old", adopt=True))
    converge(h, sim, "old")
    assert h.status(KIND, "old")["id"] == existing.id
    assert events(h)[-2:] == ["Adopted", "Attaching"]
    assert sim_sd(sim, "old").dc_status == "active"

    outcome = h.run(KIND, "old", delete=True)  # adopted: Retain by default
    assert outcome.finished and [e.reason for e in outcome.events] == ["Retained"]
    assert sim_sd(sim, "old").dc_status == "active"


def test_a_storage_mismatch_on_an_existing_domain_is_stalled(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1"))
    converge(h, sim, "data1")
    h.apply(KIND, "data1", nfs("/elsewhere"))
    h.run(KIND, "data1")
    assert reason(h, "data1") == "SpecMismatch"
    assert "10.0.0.5:/d1" in h.condition(KIND, "data1", "Stalled")["message"]


class Sent(logging.Handler):
    """Collects the request lines the client's trace logs."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        line = record.getMessage().split("\n")[0]
        if line.startswith("REST >"):
            self.lines.append(line)


@pytest.fixture
def traced(sim: SimHandle) -> Iterator[tuple[Harness, Sent]]:
    """A harness whose client logs each request it sends (the wire, not a mock)."""
    logger = logging.getLogger("test.storagedomain.rest")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    sent = Sent()
    logger.addHandler(sent)
    client = RhevmClient(
        ConnectionConfig(url=sim.api_url, username="admin@internal", password="admin"),
        trace=True,
        logger=logger,
    )
    yield Harness(client, Inventory(client, poll_interval=3600)), sent
    client.close()
    logger.removeHandler(sent)


def removals(sent: list[str], sd_id: str) -> list[str]:
    """The removals (not detaches: those are under /datacenters) of the domain."""
    return [
        s for s in sent if s.startswith("REST > DELETE") and f"/api/storagedomains/{sd_id}?" in s
    ]


def test_delete_goes_through_maintenance_and_detach_and_does_not_format(
    sim: SimHandle, traced: tuple[Harness, Sent]
) -> None:
    h, sent = traced
    h.apply(KIND, "data1", nfs("/d1"))
    converge(h, sim, "data1")
    sd_id = h.status(KIND, "data1")["id"]
    seen = converge(h, sim, "data1", delete=True)["data1"]
    assert seen[:2] == ["preparing_for_maintenance", "maintenance"]
    assert "detaching" in seen
    assert (KIND, "data1") not in h.bodies and sim_sd(sim, "data1") is None
    assert events(h)[-3:] == ["Deactivating", "Detaching", "Deleted"]
    (removal,) = removals(sent.lines, sd_id)
    assert "host=hv01" in removal and "format" not in removal


def test_delete_formats_only_with_removal_format(
    sim: SimHandle, traced: tuple[Harness, Sent]
) -> None:
    h, sent = traced
    h.apply(KIND, "data1", nfs("/d1", state="detached", removal={"format": True}))
    converge(h, sim, "data1")
    sd_id = h.status(KIND, "data1")["id"]
    assert h.status(KIND, "data1")["state"] == "unattached"
    converge(h, sim, "data1", delete=True)
    (removal,) = removals(sent.lines, sd_id)
    assert "format=true" in removal
    assert sim_sd(sim, "data1") is None
    assert "formatted its storage" in h.outcomes[-1].events[-1].message


def test_delete_refuses_while_it_holds_disks_unless_forced(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1"))
    converge(h, sim, "data1")
    sd_id = h.status(KIND, "data1")["id"]
    h.client.disks.add(
        DiskCreate(name="vmdisk", provisioned_size=GiB, format="cow", storage_domain_id=sd_id)
    )
    sim.advance(30)

    before = posts(sim)
    outcome = h.run(KIND, "data1", delete=True)
    assert not outcome.finished and reason(h, "data1") == "HoldsDisks"
    message = h.condition(KIND, "data1", "Stalled")["message"]
    assert "vmdisk" in message and "removal.force" in message
    assert posts(sim) == before
    assert sim_sd(sim, "data1").dc_status == "active"

    h.apply(KIND, "data1", nfs("/d1", removal={"force": True}))
    converge(h, sim, "data1", delete=True)
    assert sim_sd(sim, "data1") is None


def test_retain_leaves_the_domain_attached(sim: SimHandle, reconciler_harness: Any) -> None:
    h = reconciler_harness(sim)
    h.apply(KIND, "keep", nfs("/keep", deletionPolicy="Retain"))
    converge(h, sim, "keep")
    before = posts(sim)
    outcome = h.run(KIND, "keep", delete=True)
    assert outcome.finished and [e.reason for e in outcome.events] == ["Retained"]
    assert posts(sim) == before
    assert sim_sd(sim, "keep").dc_status == "active"


def test_waiting_for_its_host_past_the_deadline_is_stalled_with_the_engines_event(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    h.inventory.refresh()  # the operator follows the engine's events from here on
    host = h.client.hosts.find("hv01")
    h.client.hosts.deactivate(host.id)
    sim.advance(10)
    assert h.client.hosts.get(host.id).status == "maintenance"
    h.apply(KIND, "data1", nfs("/d1", timeouts={"activationSeconds": 300}))
    h.run(KIND, "data1")
    assert reason(h, "data1") == "WaitingForHost"
    op = h.status(KIND, "data1")["operation"]
    assert op["action"] == "AwaitUpHost"
    h.run(KIND, "data1")
    assert h.status(KIND, "data1")["operation"] == op  # the same deadline on every pass

    push_deadline_back(h, "data1")
    outcome = h.run(KIND, "data1")
    stalled = h.condition(KIND, "data1", "Stalled")
    assert stalled is not None and stalled["reason"] == "Timeout"
    assert "AwaitUpHost did not finish" in stalled["message"]
    assert "host hv01 is maintenance" in stalled["message"]
    assert "RHEV-M said: " in stalled["message"] and "hv01" in stalled["message"].split("said")[1]
    assert [e.reason for e in outcome.events] == ["Timeout"]
    assert sim_sd(sim, "data1") is None

    # The host comes back: the domain is created after all.
    h.client.hosts.activate(host.id)
    converge(h, sim, "data1")
    assert h.status(KIND, "data1")["state"] == "active"


def test_a_state_no_step_leads_from_is_stalled_past_the_deadline(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1"))
    converge(h, sim, "data1")
    with sim.lock:  # RHEV-M reports a state the ladder has no step for
        sim_sd(sim, "data1").dc_status = "mixed"
    h.run(KIND, "data1")
    assert reason(h, "data1") == "UnexpectedState"
    assert h.status(KIND, "data1")["operation"]["action"] == "AwaitSettledState"
    push_deadline_back(h, "data1")
    h.run(KIND, "data1")
    stalled = h.condition(KIND, "data1", "Stalled")
    assert stalled is not None and stalled["reason"] == "Timeout"
    assert "AwaitSettledState did not finish" in stalled["message"]
    assert "storage domain data1 is mixed" in stalled["message"]
    assert "RHEV-M said: " in stalled["message"]

    with sim.lock:
        sim_sd(sim, "data1").dc_status = "active"
    h.run(KIND, "data1")
    assert is_ready(h, "data1") and h.status(KIND, "data1").get("operation") is None


def test_a_non_master_domain_waits_for_the_master_before_it_is_activated(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    """The engine refuses to activate a non-master domain while the master is not active
    (bll storage/domain/ActivateStorageDomainCommand, StorageDomainCommandBase.
    checkMasterDomainIsUp): the domain waits (WaitingForMaster) and sends nothing until
    the master is active again."""
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1"))
    h.apply(KIND, "data2", nfs("/d2"))
    converge(h, sim, "data1", "data2")
    master, other = ("data1", "data2") if sim_sd(sim, "data1").master else ("data2", "data1")
    h.apply(KIND, other, nfs(f"/d{other[-1]}", state="maintenance"))
    converge(h, sim, other)
    h.apply(KIND, master, nfs(f"/d{master[-1]}", state="maintenance"))
    converge(h, sim, master)
    assert sim_sd(sim, master).master and sim_sd(sim, master).dc_status == "maintenance"

    h.apply(KIND, other, nfs(f"/d{other[-1]}", state="active"))
    before = posts(sim)
    for _ in range(3):
        h.run(KIND, other)
        sim.advance(1)
    assert reason(h, other) == "WaitingForMaster"
    assert posts(sim) == before  # no activation was sent
    assert engine_state(sim, other) == "maintenance" and not sim_sd(sim, other).master

    h.apply(KIND, master, nfs(f"/d{master[-1]}", state="active"))
    converge(h, sim, master, other)
    assert sim_sd(sim, master).master and engine_state(sim, other) == "active"


def test_deleting_the_master_and_another_domain_together_takes_the_master_last(
    sim: SimHandle, reconciler_harness: Any
) -> None:
    """The engine detaches a non-master domain only while the master is active
    (StorageDomainCommandBase.canDetachDomain / checkMasterDomainIsUp) and the master only
    when it is alone: deleted together, the master waits (MasterInUse) for the other to go."""
    h = reconciler_harness(sim)
    h.apply(KIND, "data1", nfs("/d1"))
    h.apply(KIND, "data2", nfs("/d2"))
    converge(h, sim, "data1", "data2")
    start = len(h.outcomes)
    converge(h, sim, "data1", "data2", steps=120, delete=True)
    assert sim_sd(sim, "data1") is None and sim_sd(sim, "data2") is None
    said = [(e.reason, e.message) for o in h.outcomes[start:] for e in o.events]
    deleted = [m.split()[3] for r, m in said if r == "Deleted"]
    # The domain deleted last was the master then: it went to maintenance only after the
    # other was removed (the one deleted first was detached while it was active).
    last = deleted[-1]
    last_off = max(
        i for i, (r, m) in enumerate(said) if r == "Deactivating" and f"domain {last} " in m
    )
    first_gone = next(i for i, (r, _) in enumerate(said) if r == "Deleted")
    assert first_gone < last_off, said

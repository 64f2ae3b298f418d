"""VirtualMachine reconciler against the simulator (manual clock), without kopf.

The simulator holds the seed's environment as if it had been built: data center `mydc`,
cluster `mycluster` with networks `rhevm` (management) and `rhevm2`, up hosts `rhevh1` and
`rhevh2`, an active NFS data domain `image` (and an unattached one, `spare`).
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from rhev_operator.reconcilers.base import Context, Outcome
from rhev_operator.rhevm import DiskAttachmentCreate, DiskCreate, VmNicCreate
from rhev_operator.rhevm.virtualmachine import VmDetail
from rhevsim.testing import SimHandle
from tests.fixtures.reconcile import Harness

pytestmark = pytest.mark.timeout(120)

VM = "VirtualMachine"
GiB = 1024**3


def inventory(**extra: Any) -> dict[str, Any]:
    inv: dict[str, Any] = {
        "datacenters": [{"name": "mydc"}],
        "clusters": [
            {"name": "mycluster", "data_center": "mydc"},
            {"name": "other", "data_center": "mydc"},
        ],
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
            {"name": "rhevh3", "address": "10.0.0.13", "cluster": "other", "status": "up"},
        ],
        "storage_domains": [
            {
                "name": "image",
                "type": "data",
                "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/vfsimg"},
                "data_center": "mydc",
                "status": "active",
            },
            {
                "name": "spare",
                "type": "data",
                "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/spare"},
            },
        ],
    }
    inv.update(extra)
    return inv


#: The seed's hkvm1 (docs/README.md).
HKVM1: dict[str, Any] = {
    "cluster": "mycluster",
    "cpu": {"sockets": 2, "cores": 2},
    "memory": "2Gi",
    "nics": [
        {"name": "eth0", "network": "rhevm", "install": True},
        {"name": "eth1", "network": "rhevm2"},
    ],
    "disks": [
        {"storageDomain": "image", "size": "10Gi", "type": "system"},
        {"storageDomain": "image", "size": "20Gi", "type": "data"},
    ],
    "placement": {"host": "rhevh1"},
    "powerState": "Running",
}

SMALL: dict[str, Any] = {"cluster": "mycluster", "memory": "1Gi"}


@dataclass
class VmHarness(Harness):
    """The reconciler harness with a clock that can be moved ahead of the real one, for
    deadlines (operation records use the operator's clock, not the simulator's)."""

    skew: float = 0.0

    def context(self, body: dict[str, Any]) -> Context:
        ctx = super().context(body)
        ctx.now = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(seconds=self.skew)
        return ctx

    def cond(self, name: str, type: str = "Ready") -> dict[str, Any]:
        return self.condition(VM, name, type) or {}

    def ready(self, name: str) -> bool:
        c = self.cond(name)
        generation = self.bodies[(VM, name)]["metadata"]["generation"]
        return c.get("status") == "True" and c.get("observedGeneration") == generation

    def reason(self, name: str) -> str:
        stalled = self.cond(name, "Stalled")
        if stalled.get("status") == "True":
            return str(stalled["reason"])
        return str(self.cond(name).get("reason", ""))

    def st(self, name: str) -> dict[str, Any]:
        return self.status(VM, name)

    def pass_(self, name: str, *, delete: bool = False) -> Outcome:
        return self.run(VM, name, delete=delete)


@pytest.fixture
def sim(simulator_factory: Callable[..., SimHandle]) -> SimHandle:
    return simulator_factory(inventory())


@pytest.fixture
def harness(reconciler_harness: Any) -> Callable[[SimHandle], VmHarness]:
    def make(sim: SimHandle) -> VmHarness:
        base = reconciler_harness(sim)
        return VmHarness(base.client, base.inventory)

    return make


@pytest.fixture
def h(sim: SimHandle, harness: Callable[[SimHandle], VmHarness]) -> VmHarness:
    return harness(sim)


def converge(
    h: VmHarness, sim: SimHandle, name: str, step: float = 5, limit: int = 40
) -> list[str]:
    """Run passes, advancing the clock between them, until Ready; returns the Events."""
    reasons: list[str] = []
    for _ in range(limit):
        outcome = h.pass_(name)
        reasons += [e.reason for e in outcome.events]
        if h.ready(name):
            return reasons
        sim.advance(step)
    raise AssertionError(f"{name} not Ready: {h.st(name)}")


def sim_vm(sim: SimHandle, name: str) -> Any:
    return sim.find("vm", name)


def sim_disks(sim: SimHandle, vm: Any) -> list[tuple[Any, Any]]:
    """(attachment, disk) pairs of a simulator VM."""
    with sim.lock:
        disks = sim.reg.objects.get("disk", {})
        return [(a, disks.get(a.id)) for a in vm.disk_attachments]


def host_name(sim: SimHandle, host_id: str | None) -> str | None:
    with sim.lock:
        host = sim.reg.objects.get("host", {}).get(host_id or "")
        return None if host is None else str(host.name)


def writes(counts: dict[tuple[str, str], int]) -> dict[tuple[str, str], int]:
    return {k: v for k, v in counts.items() if k[0] != "GET" and v}


def delta(
    before: dict[tuple[str, str], int], after: dict[tuple[str, str], int]
) -> dict[tuple[str, str], int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


# -- the client's detailed listing -------------------------------------------------------------


def test_vms_are_listed_with_their_disks_and_nics_in_one_request(
    sim: SimHandle, h: VmHarness
) -> None:
    client = h.client
    cluster = client.clusters.find("mycluster")
    assert cluster is not None
    from rhev_operator.rhevm import VmCreate

    vm = client.vms.add(VmCreate(name="probe", cluster_name="mycluster", template_name="Blank"))
    sd = client.storagedomains.find("image")
    assert sd is not None
    client.vms.disk_attachments(vm.id).add(
        DiskAttachmentCreate(
            interface="virtio",
            bootable=True,
            disk=DiskCreate(
                name="probe_Disk1",
                provisioned_size=GiB,
                format="cow",
                storage_domain_id=sd.id,
                comment="mine",
            ),
        )
    )
    profile = next(p for p in client.vnic_profiles.list() if p.name == "rhevm2")
    client.vms.nics(vm.id).add(
        VmNicCreate(name="eth1", vnic_profile_id=profile.id, description="tagged")
    )
    before = dict(client.request_counts)
    listed = client.vms.list_detailed()
    assert delta(before, dict(client.request_counts)) == {("GET", "vms"): 1}
    (probe,) = [v for v in listed if v.name == "probe"]
    assert isinstance(probe, VmDetail)
    (attachment,) = probe.disk_attachments
    assert attachment.bootable is True and attachment.interface == "virtio"
    assert attachment.disk is not None
    assert attachment.disk.alias == "probe_Disk1" and attachment.disk.status == "locked"
    assert attachment.disk.provisioned_size == GiB and attachment.disk.comment == "mine"
    assert attachment.disk.storage_domain_ids == (sd.id,)
    (nic,) = probe.nics
    assert (nic.name, nic.vnic_profile_id, nic.description) == ("eth1", profile.id, "tagged")
    assert nic.mac
    sim.advance(10)
    again = client.vms.get_detailed(vm.id)
    assert again.disk_attachments[0].disk is not None
    assert again.disk_attachments[0].disk.status == "ok"
    assert client.vms.find_detailed("probe") == again
    assert client.vms.find_detailed("prob") is None


# -- create, idempotence, one list per tick ----------------------------------------------------


def test_hkvm1_is_created_with_disks_and_nics_and_runs_on_its_host(
    sim: SimHandle, h: VmHarness
) -> None:
    h.apply(VM, "hkvm1", HKVM1)
    reasons = converge(h, sim, "hkvm1")
    assert reasons.count("Created") == 1
    assert reasons.count("DiskAdded") == 2 and reasons.count("NicAdded") == 2
    assert "Starting" in reasons

    vm = sim_vm(sim, "hkvm1")
    assert vm.status == "up" and host_name(sim, vm.host_id) == "rhevh1"
    assert (vm.config.memory, vm.config.sockets, vm.config.cores) == (2 * GiB, 2, 2)
    assert vm.config.boot_devices == ["network"]
    disks = sim_disks(sim, vm)
    assert [(d.name, d.provisioned_size, a.bootable, a.interface, d.format) for a, d in disks] == [
        ("hkvm1_Disk1", 10 * GiB, True, "virtio", "cow"),
        ("hkvm1_Disk2", 20 * GiB, False, "virtio", "cow"),
    ]
    assert all(d.status == "ok" for _, d in disks)

    st = h.st("hkvm1")
    assert st["state"] == "up" and st["host"] == "rhevh1" and st["id"] == vm.id
    macs = {n.name: n.mac for n in vm.nics}
    assert st["installMac"] == macs["eth0"]
    assert [(n["name"], n["network"], n["mac"]) for n in st["nics"]] == [
        ("eth0", "rhevm", macs["eth0"]),
        ("eth1", "rhevm2", macs["eth1"]),
    ]
    assert [(d["name"], d["storageDomain"], d["sizeBytes"], d["bootable"], d["state"])
            for d in st["disks"]] == [
        ("hkvm1_Disk1", "image", 10 * GiB, True, "ok"),
        ("hkvm1_Disk2", "image", 20 * GiB, False, "ok"),
    ]  # fmt: skip
    assert st.get("operation") is None and st["observedGeneration"] == 1

    # A second pass changes nothing, sends nothing and reads only the listings.
    before = dict(h.client.request_counts)
    outcome = h.pass_("hkvm1")
    assert outcome.events == [] and h.ready("hkvm1")
    assert writes(delta(before, dict(h.client.request_counts))) == {}
    assert ("GET", "vms/{id}") not in delta(before, dict(h.client.request_counts))


def test_no_request_per_vm_per_tick(sim: SimHandle, h: VmHarness) -> None:
    names = [f"vm{i}" for i in range(4)]
    for name in names:
        h.apply(VM, name, {**SMALL, "disks": [{"storageDomain": "image", "size": "1Gi"}]})
        converge(h, sim, name)
    h.inventory.refresh()  # events of the convergence re-list /vms once; they are behind us
    before = dict(h.client.request_counts)
    for _ in range(3):  # three ticks, every VM reconciled in each
        h.inventory.refresh()
        for name in names:
            assert h.run(VM, name).events == []
    used = delta(before, dict(h.client.request_counts))
    assert writes(used) == {}
    # h.run refreshes the inventory before each pass: 3 ticks x 4 passes + 3 ticks = 15
    # listings of /vms however many VMs there are, and never a VM of its own.
    assert used[("GET", "vms")] == 15
    assert not any(path.startswith("vms/") for _, path in used)


# -- power -------------------------------------------------------------------------------------


def test_stopped_suspended_and_running_transitions_are_waited_out(
    sim: SimHandle, h: VmHarness
) -> None:
    h.apply(VM, "pw", {**SMALL, "powerState": "Running"})
    converge(h, sim, "pw")
    assert sim_vm(sim, "pw").status == "up"

    h.apply(VM, "pw", {**SMALL, "powerState": "Suspended"})
    out = h.pass_("pw")
    assert [e.reason for e in out.events] == ["Suspending"]
    assert h.reason("pw") == "Suspending" and h.st("pw")["operation"]["action"] == "SuspendVm"
    assert sim_vm(sim, "pw").status == "saving_state"
    sim.advance(2)
    h.pass_("pw")  # still saving: nothing is sent again
    assert h.reason("pw") == "Suspending"
    converge(h, sim, "pw")
    assert sim_vm(sim, "pw").status == "suspended" and h.st("pw")["state"] == "suspended"
    assert h.st("pw").get("host") is None and h.st("pw").get("operation") is None

    h.apply(VM, "pw", {**SMALL, "powerState": "Running"})
    out = h.pass_("pw")
    assert [e.reason for e in out.events] == ["Resuming"]
    assert sim_vm(sim, "pw").status == "restoring_state"
    converge(h, sim, "pw")
    assert sim_vm(sim, "pw").status == "up"

    h.apply(VM, "pw", {**SMALL, "powerState": "Stopped"})
    out = h.pass_("pw")
    assert [e.reason for e in out.events] == ["ShuttingDown"]
    assert sim_vm(sim, "pw").status == "powering_down"
    assert h.reason("pw") == "Stopping"
    converge(h, sim, "pw")
    assert sim_vm(sim, "pw").status == "down" and h.st("pw")["state"] == "down"

    # Suspended from down: RHEV-M suspends only a running VM, so it is started first.
    h.apply(VM, "pw", {**SMALL, "powerState": "Suspended"})
    reasons = converge(h, sim, "pw")
    assert reasons == ["Starting", "Suspending"]
    assert sim_vm(sim, "pw").status == "suspended"


def test_a_guest_that_ignores_shutdown_is_powered_off_after_shutdown_seconds(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], VmHarness]
) -> None:
    sim = simulator_factory(inventory(timings={"vm.shutdown": 3600}))
    h = harness(sim)
    spec = {**SMALL, "timeouts": {"shutdownSeconds": 60}}
    h.apply(VM, "stubborn", {**spec, "powerState": "Running"})
    converge(h, sim, "stubborn")
    h.apply(VM, "stubborn", {**spec, "powerState": "Stopped"})
    h.pass_("stubborn")
    sim.advance(30)
    h.pass_("stubborn")
    assert sim_vm(sim, "stubborn").status == "powering_down" and h.reason("stubborn") == "Stopping"
    h.skew = 61  # past shutdownSeconds on the operator's clock
    out = h.pass_("stubborn")
    assert [e.reason for e in out.events] == ["Stopping"]
    assert h.st("stubborn")["operation"]["action"] == "StopVm"
    converge(h, sim, "stubborn")
    assert sim_vm(sim, "stubborn").status == "down"


# -- migration ---------------------------------------------------------------------------------


def test_changing_placement_host_migrates_a_running_vm(sim: SimHandle, h: VmHarness) -> None:
    spec = {**SMALL, "placement": {"host": "rhevh1"}, "powerState": "Running"}
    h.apply(VM, "mig", spec)
    converge(h, sim, "mig")
    assert h.st("mig")["host"] == "rhevh1"

    h.apply(VM, "mig", {**spec, "placement": {"host": "rhevh2"}})
    out = h.pass_("mig")
    assert "Migrating" in [e.reason for e in out.events]
    vm = sim_vm(sim, "mig")
    assert vm.status == "migrating"
    assert vm.config.placement_host_ids == [sim.find("host", "rhevh2").id]
    op = h.st("mig")["operation"]
    assert op["action"] == "MigrateVm" and op["deadline"] > op["started"]
    assert h.reason("mig") == "Migrating"
    sim.advance(5)
    h.pass_("mig")
    assert h.reason("mig") == "Migrating" and sim_vm(sim, "mig").status == "migrating"
    reasons = converge(h, sim, "mig")
    assert "Migrated" in reasons
    assert host_name(sim, sim_vm(sim, "mig").host_id) == "rhevh2"
    assert h.st("mig")["host"] == "rhevh2" and h.st("mig").get("operation") is None


def test_a_migration_past_its_deadline_stalls_with_the_engines_words(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], VmHarness]
) -> None:
    sim = simulator_factory(inventory(timings={"vm.migrate": 100000}))
    h = harness(sim)
    spec = {**SMALL, "placement": {"host": "rhevh1"}, "powerState": "Running"}
    h.apply(VM, "slow", spec)
    converge(h, sim, "slow")
    h.apply(
        VM, "slow", {**spec, "placement": {"host": "rhevh2"}, "timeouts": {"migrationSeconds": 30}}
    )
    h.pass_("slow")
    h.skew = 31
    h.pass_("slow")
    stalled = h.cond("slow", "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "Timeout"
    assert "MigrateVm did not finish" in stalled["message"]
    assert "Migrating VM slow" in stalled["message"]  # the engine's job


# -- configuration -----------------------------------------------------------------------------


def test_memory_change_of_a_running_vm_waits_for_a_restart(sim: SimHandle, h: VmHarness) -> None:
    spec = {**SMALL, "powerState": "Running"}
    h.apply(VM, "mem", spec)
    converge(h, sim, "mem")
    started = sim_vm(sim, "mem").start_time

    h.apply(VM, "mem", {**spec, "memory": "4Gi", "cpu": {"sockets": 2}})
    out = h.pass_("mem")
    assert [e.reason for e in out.events] == ["Staged"]
    assert h.reason("mem") == "PendingRestart"
    message = h.cond("mem", "Reconciling")["message"]
    assert "memory" in message and "CPU sockets" in message and "Stop it" in message
    vm = sim_vm(sim, "mem")
    assert vm.status == "up" and vm.start_time == started  # no power cycle
    assert vm.config.memory == GiB and vm.next_run is not None
    assert (vm.next_run.memory, vm.next_run.sockets) == (4 * GiB, 2)

    before = dict(h.client.request_counts)
    sim.advance(30)
    h.pass_("mem")  # staged already: nothing is sent again
    assert h.reason("mem") == "PendingRestart"
    assert writes(delta(before, dict(h.client.request_counts))) == {}

    h.apply(VM, "mem", {**spec, "memory": "4Gi", "cpu": {"sockets": 2}, "powerState": "Stopped"})
    converge(h, sim, "mem")
    vm = sim_vm(sim, "mem")
    assert vm.status == "down" and (vm.config.memory, vm.config.sockets) == (4 * GiB, 2)


def test_a_stopped_vm_is_changed_at_once(sim: SimHandle, h: VmHarness) -> None:
    h.apply(VM, "cold", SMALL)
    converge(h, sim, "cold")
    h.apply(VM, "cold", {**SMALL, "memory": "3Gi", "bootOrder": ["hd", "network"],
                         "display": "spice"})  # fmt: skip
    reasons = converge(h, sim, "cold")
    assert reasons == ["Updated"]
    vm = sim_vm(sim, "cold")
    assert vm.config.memory == 3 * GiB and vm.config.boot_devices == ["hd", "network"]
    assert vm.config.display_type == "spice"

    # A cluster change: at once while stopped; a running VM waits for a restart.
    h.apply(VM, "cold", {**SMALL, "cluster": "other", "powerState": "Running"})
    converge(h, sim, "cold")
    vm = sim_vm(sim, "cold")
    assert vm.cluster_id == sim.find("cluster", "other").id and vm.status == "up"
    h.apply(VM, "cold", {**SMALL, "powerState": "Running"})
    h.pass_("cold")
    assert h.reason("cold") == "PendingRestart"
    assert "the move to cluster mycluster" in h.cond("cold")["message"]
    assert sim_vm(sim, "cold").cluster_id == sim.find("cluster", "other").id


# -- dependencies ------------------------------------------------------------------------------


def test_waits_for_its_template_and_storage_domain(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], VmHarness]
) -> None:
    sim = simulator_factory(inventory(templates=[{"name": "tpl1", "cluster": "mycluster"}]))
    h = harness(sim)
    h.apply("VmTemplate", "tpl1", {"sourceVm": "golden", "adopt": True})
    h.apply(VM, "fromtpl", {**SMALL, "template": "tpl1"})
    h.pass_("fromtpl")
    assert h.reason("fromtpl") == "WaitingForDependency"
    assert "VmTemplate tpl1" in h.cond("fromtpl")["message"]
    assert sim_vm(sim, "fromtpl") is None

    # The template resource becomes Ready (its reconciler saw it ok).
    h.bodies[("VmTemplate", "tpl1")]["status"] = {
        "conditions": [{"type": "Ready", "status": "True", "reason": "Ready",
                        "lastTransitionTime": "2024-01-01T00:00:00Z"}]
    }  # fmt: skip
    converge(h, sim, "fromtpl")
    vm = sim_vm(sim, "fromtpl")
    assert vm.template_id == sim.find("template", "tpl1").id
    # From a template the NICs are the template's unless the spec lists them.
    assert vm.nics == []

    h.apply(VM, "onspare", {**SMALL, "disks": [{"storageDomain": "spare", "size": "1Gi"}]})
    h.pass_("onspare")
    assert h.reason("onspare") == "WaitingForDependency"
    message = h.cond("onspare")["message"]
    assert "disks[0]" in message and "storage domain spare" in message
    assert sim_vm(sim, "onspare") is None

    h.apply(VM, "nonet", {**SMALL, "nics": [{"name": "eth0", "network": "nosuch"}]})
    h.pass_("nonet")
    assert h.reason("nonet") == "WaitingForDependency" and sim_vm(sim, "nonet") is None


# -- adopt, delete -----------------------------------------------------------------------------


LEGACY = {
    "name": "legacy",
    "cluster": "mycluster",
    "memory": "1GiB",
    "status": "up",
    "host": "rhevh1",
    "disks": [{"name": "legacy_Disk1", "size": "5GiB", "storage_domain": "image",
               "bootable": True, "interface": "virtio"}],
    "nics": [{"name": "eth0", "network": "rhevm"}, {"name": "eth9", "network": "rhevm2"}],
}  # fmt: skip


def test_an_existing_vm_is_adopted_only_when_asked_and_retained_on_delete(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], VmHarness]
) -> None:
    sim = simulator_factory(inventory(vms=[LEGACY]))
    h = harness(sim)
    spec = {
        "cluster": "mycluster",
        "nics": [{"name": "eth0", "network": "rhevm", "install": True}],
        "disks": [{"storageDomain": "image", "size": "5Gi", "type": "system"}],
        "powerState": "Running",
    }
    h.apply(VM, "legacy", spec)
    h.pass_("legacy")
    assert h.reason("legacy") == "AlreadyExists"
    assert "spec.adopt: true" in h.cond("legacy", "Stalled")["message"]

    h.apply(VM, "legacy", {**spec, "adopt": True})
    reasons = converge(h, sim, "legacy")
    assert reasons == ["Adopted"]  # disk matched by alias, eth9 (not ours) left alone
    vm = sim_vm(sim, "legacy")
    assert [n.name for n in vm.nics] == ["eth0", "eth9"] and len(vm.disk_attachments) == 1
    assert vm.config.memory == GiB  # memory is not in the spec: not enforced

    out = h.pass_("legacy", delete=True)
    assert out.finished and [e.reason for e in out.events] == ["Retained"]
    assert sim_vm(sim, "legacy").status == "up"


def test_delete_stops_the_vm_and_removes_it_with_its_disks(sim: SimHandle, h: VmHarness) -> None:
    h.apply(VM, "gone", {**SMALL, "disks": [{"storageDomain": "image", "size": "1Gi"}],
                         "powerState": "Running"})  # fmt: skip
    converge(h, sim, "gone")
    disk_ids = [a.id for a in sim_vm(sim, "gone").disk_attachments]
    out = h.pass_("gone", delete=True)
    assert not out.finished and [e.reason for e in out.events] == ["Stopping"]
    for _ in range(10):
        sim.advance(2)
        out = h.pass_("gone", delete=True)
        if out.finished:
            break
    assert out.finished and "Deleted" in [e.reason for e in out.events]
    assert sim_vm(sim, "gone") is None
    with sim.lock:
        assert not any(d in sim.reg.objects.get("disk", {}) for d in disk_ids)

    h.apply(VM, "kept", {**SMALL, "deletionPolicy": "Retain"})
    converge(h, sim, "kept")
    out = h.pass_("kept", delete=True)
    assert out.finished and sim_vm(sim, "kept") is not None


# -- disks and NICs the resource created -------------------------------------------------------


def test_only_disks_and_nics_this_resource_created_are_removed(
    sim: SimHandle, h: VmHarness
) -> None:
    spec = {
        **SMALL,
        "nics": [{"name": "eth0", "network": "rhevm", "install": True},
                 {"name": "eth1", "network": "rhevm2"}],
        "disks": [{"storageDomain": "image", "size": "1Gi", "type": "system"},
                  {"storageDomain": "image", "size": "2Gi"}],
    }  # fmt: skip
    h.apply(VM, "trim", spec)
    converge(h, sim, "trim")
    vm_id = h.st("trim")["id"]
    # Someone adds a NIC by hand; it is not the resource's.
    profile = next(p for p in h.client.vnic_profiles.list() if p.name == "rhevm2")
    h.client.vms.nics(vm_id).add(VmNicCreate(name="manual", vnic_profile_id=profile.id))

    trimmed = {**spec, "nics": spec["nics"][:1], "disks": spec["disks"][:1]}
    h.apply(VM, "trim", trimmed)
    reasons = converge(h, sim, "trim")
    assert sorted(reasons) == ["DiskRemoved", "NicRemoved"]
    vm = sim_vm(sim, "trim")
    assert sorted(n.name for n in vm.nics) == ["eth0", "manual"]
    assert [d.name for _, d in sim_disks(sim, vm)] == ["trim_Disk1"]

    # A disk listed later is added; a bigger size grows it.
    grown = copy.deepcopy(trimmed)
    grown["disks"][0]["size"] = "3Gi"
    grown["disks"].append({"storageDomain": "image", "size": "1Gi"})
    h.apply(VM, "trim", grown)
    reasons = converge(h, sim, "trim")
    assert sorted(reasons) == ["DiskAdded", "DiskExtended"]
    sizes = [(d.name, d.provisioned_size) for _, d in sim_disks(sim, sim_vm(sim, "trim"))]
    assert sizes == [("trim_Disk1", 3 * GiB), ("trim_Disk2", GiB)]


# -- restarts ----------------------------------------------------------------------------------


def test_a_lost_status_finds_the_vm_by_its_owner_marker(sim: SimHandle, h: VmHarness) -> None:
    h.apply(VM, "amnesia", {**SMALL, "disks": [{"storageDomain": "image", "size": "1Gi"}]})
    h.pass_("amnesia")  # created, first disk being added
    assert sim_vm(sim, "amnesia") is not None
    h.bodies[(VM, "amnesia")]["status"] = {}
    reasons = converge(h, sim, "amnesia")
    assert "Created" not in reasons and "AlreadyExists" not in reasons
    with sim.lock:
        assert sum(1 for v in sim.reg.iter_kind("vm") if v.name == "amnesia") == 1
    assert len(sim_vm(sim, "amnesia").disk_attachments) == 1


def test_a_restarted_operator_carries_an_operation_in_flight_to_its_end(
    sim: SimHandle, h: VmHarness, harness: Callable[[SimHandle], VmHarness]
) -> None:
    h.apply(VM, "resume", {**SMALL, "powerState": "Running"})
    for _ in range(10):
        h.pass_("resume")
        if (
            h.st("resume").get("operation", {})
            and h.st("resume")["operation"]["action"] == "StartVm"
        ):
            break
        sim.advance(5)
    assert h.st("resume")["operation"]["action"] == "StartVm"
    # A new operator process: new client, new inventory, the same resource body.
    fresh = harness(sim)
    fresh.bodies = h.bodies
    reasons: list[str] = []
    for _ in range(10):
        sim.advance(5)
        reasons += [e.reason for e in fresh.pass_("resume").events]
        if fresh.ready("resume"):
            break
    assert fresh.ready("resume") and sim_vm(sim, "resume").status == "up"
    assert reasons == []  # nothing started twice
    assert ("POST", "vms/{id}/start") not in fresh.client.request_counts
    assert fresh.st("resume").get("operation") is None


# -- waits of the operator's own, each under a deadline ----------------------------------------


def test_a_vm_whose_host_stops_answering_stalls_past_its_deadline_and_recovers(
    sim: SimHandle, h: VmHarness
) -> None:
    spec = {
        **SMALL,
        "placement": {"host": "rhevh1"},
        "powerState": "Running",
        "timeouts": {"operationSeconds": 30},
    }
    h.apply(VM, "orphan", spec)
    converge(h, sim, "orphan")
    sim.control("POST", "/sim/hosts/rhevh1/fail")
    sim.advance(81)  # connecting for the grace (60 s, +20 s as SPM, +0.5 s per VM): unknown
    assert sim_vm(sim, "orphan").status == "unknown"
    h.pass_("orphan")
    assert h.reason("orphan") == "HostNotResponding"
    op = h.st("orphan")["operation"]
    assert op["action"] == "AwaitVmHost"
    h.pass_("orphan")
    assert h.st("orphan")["operation"] == op  # the same deadline on every pass
    h.skew = 31
    h.pass_("orphan")
    stalled = h.cond("orphan", "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "Timeout"
    assert "AwaitVmHost did not finish" in stalled["message"]
    assert "RHEV-M said: VM orphan was set to the Unknown status" in stalled["message"]
    assert "fence" in stalled["message"]  # what a human does
    sim.control("POST", "/sim/hosts/rhevh1/heal")
    converge(h, sim, "orphan")
    assert h.cond("orphan", "Stalled").get("status") != "True"
    assert h.st("orphan").get("operation") is None and h.st("orphan")["state"] == "up"


def test_a_placement_host_that_is_not_up_stalls_past_its_deadline_then_the_vm_migrates(
    sim: SimHandle, h: VmHarness
) -> None:
    spec = {**SMALL, "placement": {"host": "rhevh1"}, "powerState": "Running"}
    h.apply(VM, "mover", spec)
    converge(h, sim, "mover")
    sim.control("POST", "/sim/hosts/rhevh2/fail")
    sim.advance(81)  # past the grace period: non_responsive
    moved = {**spec, "placement": {"host": "rhevh2"}, "timeouts": {"operationSeconds": 30}}
    h.apply(VM, "mover", moved)
    h.pass_("mover")
    assert h.reason("mover") == "WaitingForHost"
    assert h.st("mover")["operation"]["action"] == "AwaitPlacementHost"
    h.skew = 31
    h.pass_("mover")
    stalled = h.cond("mover", "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "Timeout"
    assert "AwaitPlacementHost did not finish" in stalled["message"]
    # The engine's newest alert: VDS_ALERT_NO_PM_CONFIG_FENCE_OPERATION_SKIPPED.
    assert "RHEV-M said: Host rhevh2 became non responsive" in stalled["message"]
    assert "spec.placement.host" in stalled["message"]
    assert host_name(sim, sim_vm(sim, "mover").host_id) == "rhevh1"  # nothing sent
    sim.control("POST", "/sim/hosts/rhevh2/heal")
    reasons = converge(h, sim, "mover")
    assert "Migrated" in reasons
    assert host_name(sim, sim_vm(sim, "mover").host_id) == "rhevh2"
    assert h.st("mover").get("operation") is None


def test_a_disk_locked_by_someone_else_stalls_past_its_deadline_and_recovers(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], VmHarness]
) -> None:
    sim = simulator_factory(inventory(timings={"disk.create": 1000}))
    h = harness(sim)
    h.apply(VM, "held", {**SMALL, "timeouts": {"diskCreationSeconds": 30}})
    converge(h, sim, "held")
    vm = sim_vm(sim, "held")
    sd = h.client.storagedomains.find("image")
    assert sd is not None
    h.client.vms.disk_attachments(vm.id).add(  # by hand: no operation of the operator's
        DiskAttachmentCreate(
            interface="virtio",
            bootable=False,
            disk=DiskCreate(
                name="by_hand", provisioned_size=GiB, format="cow", storage_domain_id=sd.id
            ),
        )
    )
    h.pass_("held")
    assert h.reason("held") == "CreatingDisk"
    assert h.st("held")["operation"]["action"] == "AwaitVm"
    h.skew = 31
    h.pass_("held")
    stalled = h.cond("held", "Stalled")
    assert stalled["status"] == "True" and stalled["reason"] == "Timeout"
    assert "disk by_hand of VM held is locked" in stalled["message"]
    assert "RHEV-M said: event: Add-Disk operation of by_hand" in stalled["message"]
    sim.advance(1000)
    converge(h, sim, "held")
    assert h.st("held").get("operation") is None
    assert [d.name for _, d in sim_disks(sim, sim_vm(sim, "held"))] == ["by_hand"]  # kept


# -- one-time requests: rhev.io/boot-once [rsetboot], rhev.io/reset [rpower reset] -------------

BOOTS_FROM_DISK: dict[str, Any] = {
    **SMALL,
    "disks": [{"storageDomain": "image", "size": "1Gi", "type": "system"}],
    "bootOrder": ["hd"],
}


def annotate(h: VmHarness, name: str, spec: dict[str, Any], **annotations: str | None) -> None:
    body = h.bodies.get((VM, name))
    current = dict((body or {}).get("metadata", {}).get("annotations") or {})
    for key, value in annotations.items():
        full = f"rhev.io/{key.replace('_', '-')}"
        if value is None:
            current.pop(full, None)
        else:
            current[full] = value
    h.apply(VM, name, spec, annotations=current)


def events(outcome: Outcome) -> list[str]:
    return [e.reason for e in outcome.events]


def test_boot_once_starts_the_vm_once_from_the_device_and_keeps_its_boot_order(
    sim: SimHandle, h: VmHarness
) -> None:
    annotate(h, "bo", BOOTS_FROM_DISK, boot_once="network")
    reasons = converge(h, sim, "bo")  # powerState Stopped: it waits for a start
    assert "BootOncePending" in reasons and "BootOnce" not in reasons
    assert h.st("bo")["bootOncePending"] == "network" and h.st("bo").get("bootOnceDone") is None
    vm = sim_vm(sim, "bo")
    assert vm.status == "down" and vm.run_boot_devices is None

    running = {**BOOTS_FROM_DISK, "powerState": "Running"}
    h.apply(VM, "bo", running)
    out = h.pass_("bo")
    assert events(out) == ["Starting", "BootOnce"]
    assert h.st("bo")["bootOnceDone"] == "network" and h.st("bo").get("bootOncePending") is None
    converge(h, sim, "bo")
    vm = sim_vm(sim, "bo")
    assert vm.status == "up" and vm.run_once is True
    assert vm.run_boot_devices == ["network"] and vm.config.boot_devices == ["hd"]

    # Done once: a stop and a start later boot from the disk, as the boot order says.
    h.apply(VM, "bo", {**running, "powerState": "Stopped"})
    converge(h, sim, "bo")
    h.apply(VM, "bo", running)
    reasons = converge(h, sim, "bo")
    assert "BootOnce" not in reasons
    vm = sim_vm(sim, "bo")
    assert vm.run_once is False and vm.run_boot_devices == ["hd"]
    assert h.st("bo")["bootOnceDone"] == "network"

    # Removing the annotation forgets it; asking again waits for the next start (the VM
    # runs and is not restarted for it).
    annotate(h, "bo", running, boot_once=None)
    h.pass_("bo")
    assert h.st("bo").get("bootOnceDone") is None
    annotate(h, "bo", running, boot_once="network")
    before = dict(h.client.request_counts)
    out = h.pass_("bo")
    assert events(out) == ["BootOncePending"] and h.ready("bo")
    assert "rhev.io/boot-once=network applies at its next start" in h.cond("bo")["message"]
    assert writes(delta(before, dict(h.client.request_counts))) == {}
    assert sim_vm(sim, "bo").status == "up"
    assert events(h.pass_("bo")) == []  # announced once
    h.apply(VM, "bo", {**running, "powerState": "Stopped"})
    converge(h, sim, "bo")
    h.apply(VM, "bo", running)
    assert "BootOnce" in converge(h, sim, "bo")
    assert sim_vm(sim, "bo").run_boot_devices == ["network"]


def test_reset_resets_a_running_vm_once_per_token_and_never_on_resync(
    sim: SimHandle, h: VmHarness, harness: Callable[[SimHandle], VmHarness]
) -> None:
    spec = {**SMALL, "powerState": "Running"}
    h.apply(VM, "rs", spec)
    converge(h, sim, "rs")
    annotate(h, "rs", spec, reset="t1")
    out = h.pass_("rs")
    assert events(out) == ["Reset"] and h.ready("rs")
    assert sim_vm(sim, "rs").resets == 1 and h.st("rs")["resetDone"] == "t1"
    assert sim_vm(sim, "rs").status == "up"
    for _ in range(3):  # resyncs
        assert events(h.pass_("rs")) == []
    # A restarted operator (a new client and inventory, the status as it was written).
    again = harness(sim)
    again.bodies = h.bodies
    assert events(again.pass_("rs")) == []
    assert sim_vm(sim, "rs").resets == 1

    annotate(h, "rs", spec, reset="t2")
    assert events(h.pass_("rs")) == ["Reset"] and sim_vm(sim, "rs").resets == 2

    # A VM that is not running is left alone, with a Warning, and the token is not kept
    # for a later start.
    stopped = {**spec, "powerState": "Stopped"}
    h.apply(VM, "rs", stopped)
    converge(h, sim, "rs")
    annotate(h, "rs", stopped, reset="t3")
    out = h.pass_("rs")
    assert [(e.type, e.reason) for e in out.events] == [("Warning", "ResetSkipped")]
    assert h.st("rs")["resetDone"] == "t3"
    h.apply(VM, "rs", spec)
    reasons = converge(h, sim, "rs")
    assert "Reset" not in reasons and sim_vm(sim, "rs").resets == 2

    # A token that comes with a start is served by the start itself.
    h.apply(VM, "rs", stopped)
    converge(h, sim, "rs")
    annotate(h, "rs", spec, reset="t4")
    out = h.pass_("rs")
    assert events(out) == ["Starting", "Reset"] and h.st("rs")["resetDone"] == "t4"
    converge(h, sim, "rs")
    assert sim_vm(sim, "rs").resets == 2


@pytest.mark.parametrize(
    ("annotation", "value", "allowed"),
    [
        ("boot_once", "cdrom", "allowed: network or hd"),
        ("boot_once", "Network", "allowed: network or hd"),
        ("reset", " ", "allowed: any non-empty token"),
    ],
)
def test_an_invalid_annotation_stalls_naming_it_and_changes_nothing(
    sim: SimHandle, h: VmHarness, annotation: str, value: str, allowed: str
) -> None:
    spec = {**SMALL, "powerState": "Running"}
    h.apply(VM, "bad", spec)
    converge(h, sim, "bad")
    annotate(h, "bad", {**spec, "powerState": "Stopped"}, **{annotation: value})
    before = dict(h.client.request_counts)
    out = h.pass_("bad")
    stalled = h.cond("bad", "Stalled")
    name = "rhev.io/" + annotation.replace("_", "-")
    assert stalled["status"] == "True" and stalled["reason"] == "InvalidAnnotation"
    assert stalled["message"].startswith(f"annotation {name}: {value!r} is not allowed")
    assert allowed in stalled["message"]
    assert [(e.type, e.reason) for e in out.events] == [("Warning", "InvalidAnnotation")]
    assert writes(delta(before, dict(h.client.request_counts))) == {}
    assert sim_vm(sim, "bad").status == "up"  # not even the spec's stop is sent
    annotate(h, "bad", {**spec, "powerState": "Stopped"}, **{annotation: None})
    converge(h, sim, "bad")
    assert sim_vm(sim, "bad").status == "down" and h.cond("bad", "Stalled").get("status") != "True"


def test_a_reset_the_engine_refuses_stalls_with_its_words(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], VmHarness]
) -> None:
    inv = inventory()
    inv["datacenters"] = [{"name": "mydc", "version": "4.5"}]
    inv["clusters"] = [{"name": "mycluster", "data_center": "mydc", "version": "4.5"}]
    inv["hosts"] = inv["hosts"][:2]
    sim = simulator_factory(inv)
    h = harness(sim)
    spec = {**SMALL, "powerState": "Running"}
    h.apply(VM, "old", spec)
    converge(h, sim, "old")
    annotate(h, "old", spec, reset="now")
    h.pass_("old")
    stalled = h.cond("old", "Stalled")
    assert stalled["reason"] == "ResetRefused"
    assert "Reset VM requires cluster compatibility version 4.6 or higher" in stalled["message"]
    assert "remove the rhev.io/reset annotation" in stalled["message"]
    assert h.st("old").get("resetDone") is None and sim_vm(sim, "old").resets == 0
    annotate(h, "old", spec, reset=None)
    converge(h, sim, "old")
    assert h.cond("old", "Stalled").get("status") != "True"


def test_a_highly_available_vm_of_a_fenced_host_is_left_to_the_engines_restart(
    simulator_factory: Callable[..., SimHandle], harness: Callable[[SimHandle], VmHarness]
) -> None:
    pm = {"enabled": True, "agents": [{"address": "127.0.0.1", "port": 6230,
                                       "username": "admin", "password": "admin"}]}  # fmt: skip
    inv = inventory(timings={"vm.ha_start": 30.0})  # widen the engine's restart window
    for host in inv["hosts"]:
        host["power_management"] = pm
    sim = simulator_factory(inv)
    h = harness(sim)
    spec = {**SMALL, "powerState": "Running", "highAvailability": {"enabled": True, "priority": 50}}
    h.apply(VM, "ha", spec)
    converge(h, sim, "ha")
    vm = sim_vm(sim, "ha")
    assert vm.config.high_availability is True and vm.config.ha_priority == 50  # enforced
    first = host_name(sim, vm.host_id)
    sim.control("POST", f"/sim/hosts/{first}/fail")
    sim.advance(81)
    assert vm.status == "unknown"
    h.pass_("ha")
    assert h.reason("ha") == "HostNotResponding"  # never started elsewhere by the operator
    sim.advance(15)  # the engine fenced the host: the VM is down, to be restarted by it
    assert vm.status == "down"
    before = dict(h.client.request_counts)
    h.pass_("ha")
    assert h.reason("ha") == "EngineRestartingHaVm"
    assert not [k for k in delta(before, h.client.request_counts) if k[1].endswith("/start")]
    sim.advance(30)
    assert vm.status in ("wait_for_launch", "powering_up")
    converge(h, sim, "ha")
    assert host_name(sim, vm.host_id) not in (first, None)

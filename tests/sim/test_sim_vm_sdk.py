"""Conformance through the official SDK (ovirtsdk4): VMs, disks, NICs and templates of the
simulator, with the SDK's own waits and error strings, on the manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import ovirtsdk4 as sdk
import pytest

from rhevsim.testing import SimHandle
from tests.sim.test_sim_vm_support import GIB, INVENTORY

types = sdk.types


@pytest.fixture
def sim(simulator_factory: Callable[..., SimHandle]) -> SimHandle:
    return simulator_factory(INVENTORY, seed=9)


@pytest.fixture
def conn(sim: SimHandle) -> Iterator[Any]:
    c = sdk.Connection(url=sim.api_url, username="admin@internal", password="admin")
    yield c
    c.close()


def _wait(sim: SimHandle, get: Callable[[], Any], want: Any, limit: int = 120) -> int:
    """The SDK examples' wait loop, with the manual clock instead of sleep(5)."""
    for i in range(limit):
        if get().status == want:
            return i
        sim.advance(1)
    raise AssertionError(f"status {get().status} never became {want}")


def _disk_attachment(name: str, size: int = 10 * GIB) -> Any:
    return types.DiskAttachment(
        disk=types.Disk(
            name=name,
            format=types.DiskFormat.COW,
            provisioned_size=size,
            storage_domains=[types.StorageDomain(name="data1")],
        ),
        interface=types.DiskInterface.VIRTIO_SCSI,
        bootable=True,
        active=True,
    )


def _new_vm(conn: Any, sim: SimHandle, name: str) -> Any:
    vms = conn.system_service().vms_service()
    vm = vms.add(
        types.Vm(
            name=name,
            cluster=types.Cluster(name="Default"),
            template=types.Template(name="Blank"),
            memory=2 * GIB,
            cpu=types.Cpu(topology=types.CpuTopology(sockets=2, cores=1, threads=1)),
            os=types.OperatingSystem(
                type="rhel_8x64", boot=types.Boot(devices=[types.BootDevice.HD])
            ),
        )
    )
    svc = vms.vm_service(vm.id)
    att = svc.disk_attachments_service().add(_disk_attachment(f"{name}_os"))
    disk_svc = conn.system_service().disks_service().disk_service(att.disk.id)
    _wait(sim, disk_svc.get, types.DiskStatus.OK)
    profile = next(
        p for p in conn.system_service().vnic_profiles_service().list() if p.name == "vmnet"
    )
    svc.nics_service().add(
        types.Nic(
            name="nic1",
            interface=types.NicInterface.VIRTIO,
            vnic_profile=types.VnicProfile(id=profile.id),
        )
    )
    return svc


def test_sdk_vm_crud_and_power_cycle(conn: Any, sim: SimHandle) -> None:
    vms = conn.system_service().vms_service()
    svc = _new_vm(conn, sim, "sdk1")
    vm = svc.get()
    assert vm.status == types.VmStatus.DOWN and vm.memory == 2 * GIB
    assert vm.cpu.topology.sockets == 2 and vm.os.type == "rhel_8x64"
    assert [v.name for v in vms.list(search="name=sdk1")] == ["sdk1"]
    full = svc.get(follow="disk_attachments,nics")
    assert full.disk_attachments[0].interface == types.DiskInterface.VIRTIO_SCSI
    assert full.nics[0].mac.address.startswith("56:6f:")
    svc.start()
    assert svc.get().status == types.VmStatus.WAIT_FOR_LAUNCH
    _wait(sim, svc.get, types.VmStatus.UP)
    host = conn.follow_link(svc.get().host)
    assert host.name in ("hv1", "hv2")
    svc.suspend()
    _wait(sim, svc.get, types.VmStatus.SUSPENDED)
    svc.start()
    _wait(sim, svc.get, types.VmStatus.UP)
    svc.shutdown()
    assert svc.get().status == types.VmStatus.POWERING_DOWN
    _wait(sim, svc.get, types.VmStatus.DOWN)
    svc.start()
    _wait(sim, svc.get, types.VmStatus.UP)
    svc.stop()
    _wait(sim, svc.get, types.VmStatus.DOWN)
    updated = svc.update(types.Vm(description="via sdk", memory=4 * GIB))
    assert updated.description == "via sdk" and updated.memory == 4 * GIB
    svc.remove()
    with pytest.raises(sdk.NotFoundError):
        svc.get()


def test_sdk_migrate_and_faults(conn: Any, sim: SimHandle) -> None:
    svc = _new_vm(conn, sim, "sdk2")
    with pytest.raises(sdk.Error) as exc:
        svc.stop()
    assert str(exc.value) == (
        'Fault reason is "Operation Failed". Fault detail is "[Cannot stop VM. VM is not '
        'running.]". HTTP response code is 409.'
    )
    svc.start()
    _wait(sim, svc.get, types.VmStatus.UP)
    src = svc.get().host.id
    target = next(h for h in conn.system_service().hosts_service().list() if h.id != src)
    svc.migrate(host=types.Host(id=target.id))
    assert svc.get().status == types.VmStatus.MIGRATING
    _wait(sim, svc.get, types.VmStatus.UP)
    assert svc.get().host.id == target.id
    with pytest.raises(sdk.Error) as exc:
        svc.remove()
    assert "Cannot remove VM. VM is running." in str(exc.value)
    assert exc.value.code == 409
    with pytest.raises(sdk.Error) as exc:
        conn.system_service().vms_service().add(
            types.Vm(name="sdk2", cluster=types.Cluster(name="Default"))
        )
    assert "The VM name is already in use" in str(exc.value)
    with pytest.raises(sdk.NotFoundError):
        conn.system_service().vms_service().add(
            types.Vm(name="x", cluster=types.Cluster(name="Nope"))
        )


def test_sdk_template_lock_and_vm_from_template(conn: Any, sim: SimHandle) -> None:
    svc = _new_vm(conn, sim, "golden")
    templates = conn.system_service().templates_service()
    t = templates.add(types.Template(name="gold-t", vm=types.Vm(id=svc.get().id)))
    assert t.status == types.TemplateStatus.LOCKED
    assert svc.get().status == types.VmStatus.IMAGE_LOCKED
    with pytest.raises(sdk.Error) as exc:
        svc.start()
    assert "[Cannot run VM. Template is being created from this VM.]" in str(exc.value)
    tsvc = templates.template_service(t.id)
    _wait(sim, tsvc.get, types.TemplateStatus.OK)
    _wait(sim, svc.get, types.VmStatus.DOWN)
    assert len(tsvc.disk_attachments_service().list()) == 1
    assert [n.name for n in tsvc.nics_service().list()] == ["nic1"]
    assert [x.name for x in templates.list(search="name=gold-t")] == ["gold-t"]
    vms = conn.system_service().vms_service()
    child = vms.add(
        types.Vm(
            name="child",
            cluster=types.Cluster(name="Default"),
            template=types.Template(name="gold-t"),
        )
    )
    csvc = vms.vm_service(child.id)
    assert child.status == types.VmStatus.IMAGE_LOCKED
    _wait(sim, csvc.get, types.VmStatus.DOWN)
    assert csvc.get().template.id == t.id
    with pytest.raises(sdk.Error) as exc:
        tsvc.remove()
    assert "Template is being used by the following VMs: child" in str(exc.value)
    csvc.remove()
    tsvc.remove()
    sim.advance(5)
    with pytest.raises(sdk.NotFoundError):
        tsvc.get()


def test_sdk_disks_and_nics_services(conn: Any, sim: SimHandle) -> None:
    disks = conn.system_service().disks_service()
    d = disks.add(
        types.Disk(
            name="floating",
            format=types.DiskFormat.RAW,
            sparse=False,
            provisioned_size=GIB,
            storage_domains=[types.StorageDomain(name="data1")],
        )
    )
    dsvc = disks.disk_service(d.id)
    assert d.status == types.DiskStatus.LOCKED
    _wait(sim, dsvc.get, types.DiskStatus.OK)
    assert dsvc.get().format == types.DiskFormat.RAW and dsvc.get().sparse is False
    svc = _new_vm(conn, sim, "nicvm")
    nics = svc.nics_service()
    nic = nics.list()[0]
    nsvc = nics.nic_service(nic.id)
    nsvc.update(types.Nic(linked=False))
    assert nsvc.get().linked is False
    nsvc.remove()
    assert nics.list() == []
    atts = svc.disk_attachments_service()
    atts.add(types.DiskAttachment(disk=types.Disk(id=d.id), interface=types.DiskInterface.IDE))
    assert {a.id for a in atts.list()} >= {d.id}
    atts.attachment_service(d.id).remove()
    assert d.id not in {a.id for a in atts.list()}
    dsvc.remove()
    sim.advance(5)
    with pytest.raises(sdk.NotFoundError):
        dsvc.get()


def test_sdk_events_from_vm_actions(conn: Any, sim: SimHandle) -> None:
    events = conn.system_service().events_service()
    start = int(events.list(max=1)[0].id)
    svc = _new_vm(conn, sim, "evvm")
    svc.start()
    _wait(sim, svc.get, types.VmStatus.UP)
    got = events.list(from_=start)
    codes = {e.code for e in got}
    assert {78, 97, 932, 153, 32} <= codes
    assert all(int(e.id) > start for e in got)
    up = next(e for e in got if e.code == 32)
    assert up.vm.id == svc.get().id and up.host is not None

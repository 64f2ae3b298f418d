"""The RHEV-M client's VMs, disks, disk attachments, VM NICs and templates against the
simulator, with the manual clock driving power and image state machines."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from rhev_operator.rhevm import (
    BLANK_TEMPLATE_ID,
    ConnectionConfig,
    DiskAttachmentCreate,
    DiskAttachmentUpdate,
    DiskCreate,
    DiskUpdate,
    RhevmClient,
    TemplateCreate,
    TemplateUpdate,
    VmCreate,
    VmNicCreate,
    VmNicUpdate,
    VmUpdate,
    errors,
    jobs_state,
)
from rhevsim.testing import SimHandle

GiB = 1024**3
INVENTORY = {
    "storage_domains": [
        {
            "name": "image",
            "type": "data",
            "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/vfsimg"},
            "data_center": "Default",
            "status": "active",
        }
    ],
    "hosts": [
        {"name": "hv01", "address": "10.0.0.11", "status": "up"},
        {"name": "hv02", "address": "10.0.0.12", "status": "up"},
    ],
}


@pytest.fixture
def sim(simulator_factory: Callable[..., SimHandle]) -> SimHandle:
    s = simulator_factory(INVENTORY)
    s.advance(120)
    return s


@pytest.fixture
def client(sim: SimHandle) -> Iterator[RhevmClient]:
    cfg = ConnectionConfig(url=sim.api_url, username="admin@internal", password="admin")
    c = RhevmClient(cfg)
    yield c
    c.close()


def make_vm(client: RhevmClient, name: str = "hkvm1") -> str:
    vm = client.vms.add(
        VmCreate(
            name=name,
            cluster_name="Default",
            template_name="Blank",
            memory=2 * GiB,
            cpu_sockets=2,
            cpu_cores=2,
            boot_devices=("network", "hd"),
            display_type="vnc",
        )
    )
    return vm.id


def test_vm_create_read_update_remove(sim: SimHandle, client: RhevmClient) -> None:
    vm_id = make_vm(client)
    vm = client.vms.get(vm_id)
    assert vm.status == "down" and vm.template_id == BLANK_TEMPLATE_ID
    assert (vm.memory, vm.cpu_sockets, vm.cpu_cores) == (2 * GiB, 2, 2)
    assert vm.boot_devices == ("network", "hd") and vm.display_type == "vnc"
    cl = client.clusters.find("Default")
    assert cl is not None and vm.cluster_id == cl.id
    assert client.vms.find("hkvm1") == vm
    up = client.vms.update(vm_id, VmUpdate(memory=4 * GiB, description="big"))
    assert up.memory == 4 * GiB and up.description == "big" and up.cpu_sockets == 2
    with pytest.raises(errors.AlreadyExists):
        make_vm(client)
    client.vms.remove(vm_id)
    with pytest.raises(errors.NotFound):
        client.vms.get(vm_id)


def test_disks_and_nics_of_a_vm(sim: SimHandle, client: RhevmClient) -> None:
    vm_id = make_vm(client)
    sd = client.storagedomains.find("image")
    assert sd is not None
    das = client.vms.disk_attachments(vm_id)
    cid = client.new_correlation_id()
    att = das.add(
        DiskAttachmentCreate(
            interface="virtio",
            bootable=True,
            active=True,
            disk=DiskCreate(
                name="hkvm1_disk1", provisioned_size=10 * GiB, format="cow", storage_domain_id=sd.id
            ),
        ),
        correlation_id=cid,
    )
    assert att.bootable is True and att.interface == "virtio" and att.disk_id
    disk = client.disks.get(att.disk_id)
    assert disk.status == "locked" and disk.provisioned_size == 10 * GiB
    assert disk.storage_domain_ids == (sd.id,)
    sim.advance(60)
    assert client.disks.get(att.disk_id).status == "ok"
    assert jobs_state(client.jobs.find_by_correlation_id(cid)) == "finished"
    assert das.list() == [das.get(att.id)]
    changed = das.update(att.id, DiskAttachmentUpdate(interface="virtio_scsi"))
    assert changed.interface == "virtio_scsi" and changed.bootable is True

    profile = client.vnic_profiles.find_for_network(client.networks.find("rhevm").id, "rhevm")  # type: ignore[union-attr]
    assert profile is not None
    nics = client.vms.nics(vm_id)
    nic = nics.add(VmNicCreate(name="eth0", interface="virtio", vnic_profile_id=profile.id))
    assert nic.mac and nic.vnic_profile_id == profile.id and nic.interface == "virtio"
    assert nics.update(nic.id, VmNicUpdate(interface="e1000")).interface == "e1000"
    assert [n.name for n in nics.list()] == ["eth0"]
    nics.remove(nic.id)
    assert nics.list() == []

    das.remove(att.id, detach_only=True)
    assert das.list() == []
    assert client.disks.get(att.disk_id).id == att.disk_id  # detached, not deleted


def test_power_cycle_and_migration(sim: SimHandle, client: RhevmClient) -> None:
    vm_id = make_vm(client)
    res = client.vms.start(vm_id)
    assert res.correlation_id
    assert client.vms.get(vm_id).status in ("wait_for_launch", "powering_up")
    sim.advance(60)
    vm = client.vms.get(vm_id)
    assert vm.status == "up" and vm.host_id
    with pytest.raises(errors.Conflict) as again:
        client.vms.start(vm_id)
    assert again.value.status == 409

    hosts = {h.id: h.name for h in client.hosts.list()}
    target = next(name for hid, name in hosts.items() if hid != vm.host_id)
    client.vms.migrate(vm_id, host_name=target)
    assert client.vms.get(vm_id).status == "migrating"
    sim.advance(60)
    moved = client.vms.get(vm_id)
    assert moved.status == "up" and hosts[moved.host_id or ""] == target

    client.vms.suspend(vm_id)
    assert client.vms.get(vm_id).status == "saving_state"
    sim.advance(60)
    assert client.vms.get(vm_id).status == "suspended"
    client.vms.start(vm_id)
    sim.advance(60)
    assert client.vms.get(vm_id).status == "up"

    client.vms.shutdown(vm_id)
    assert client.vms.get(vm_id).status == "powering_down"
    sim.advance(60)
    assert client.vms.get(vm_id).status == "down"
    client.vms.start(vm_id)
    sim.advance(60)
    client.vms.stop(vm_id)
    sim.advance(60)
    assert client.vms.get(vm_id).status == "down"
    with pytest.raises(errors.Conflict):
        client.vms.suspend(vm_id)  # a down VM cannot be suspended


def test_template_from_vm_then_vm_from_template(sim: SimHandle, client: RhevmClient) -> None:
    vm_id = make_vm(client, "golden")
    sd = client.storagedomains.find("image")
    assert sd is not None
    client.vms.disk_attachments(vm_id).add(
        DiskAttachmentCreate(
            interface="virtio",
            bootable=True,
            disk=DiskCreate(
                name="golden_d", provisioned_size=GiB, format="cow", storage_domain_id=sd.id
            ),
        )
    )
    sim.advance(60)
    cid = client.new_correlation_id()
    tpl = client.templates.add(
        TemplateCreate(name="tpl1", vm_id=vm_id, description="from golden"), correlation_id=cid
    )
    assert tpl.status == "locked"
    assert client.vms.get(vm_id).status == "image_locked"
    with pytest.raises(errors.Conflict) as locked:
        client.vms.start(vm_id)
    assert locked.value.retryable
    sim.advance(120)
    ready = client.templates.get(tpl.id)
    assert ready.status == "ok" and ready.description == "from golden"
    assert client.vms.get(vm_id).status == "down"
    assert jobs_state(client.jobs.find_by_correlation_id(cid)) == "finished"
    assert client.templates.find("tpl1") == ready
    assert client.templates.update(tpl.id, TemplateUpdate(description="d")).description == "d"

    child = client.vms.add(VmCreate(name="child", cluster_name="Default", template_id=tpl.id))
    assert child.template_id == tpl.id
    sim.advance(120)
    assert client.vms.get(child.id).status == "down"
    with pytest.raises(errors.Conflict):
        client.templates.remove(tpl.id)  # a VM still uses it
    client.vms.remove(child.id)
    sim.advance(30)
    client.templates.remove(tpl.id)
    sim.advance(30)
    assert client.templates.find("tpl1") is None


def test_floating_disk_crud(sim: SimHandle, client: RhevmClient) -> None:
    disk = client.disks.add(
        DiskCreate(name="scratch", provisioned_size=GiB, format="raw", storage_domain_name="image")
    )
    assert disk.status == "locked" and disk.format == "raw"
    sim.advance(30)
    assert client.disks.find("scratch") is not None
    grown = client.disks.update(disk.id, DiskUpdate(provisioned_size=2 * GiB))
    assert grown.provisioned_size == 2 * GiB
    client.disks.remove(disk.id)
    sim.advance(30)
    with pytest.raises(errors.NotFound):
        client.disks.get(disk.id)

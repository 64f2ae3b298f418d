"""Conformance gaps closed through the official SDK (ovirtsdk4), on the manual clock.

Routes the other SDK tests do not drive: /disks list and update, template update, host
network attachments (add, get, update, remove), host NIC get, VM disk attachment get and
update, vNIC profiles under /networks/{id}/vnicprofiles, /events/{id}, clusters and networks
under /datacenters/{id}, VM reboot and cancelmigration, host install, refresh and
syncallnetworks, and a disk that ends `illegal`. The SDK ignores elements it does not know,
so each entity's raw XML is also checked against the API model (rhevsim.conformance).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import ovirtsdk4 as sdk
import pytest
import requests
from lxml import etree

from rhevsim.conformance import check_xml
from rhevsim.testing import SimHandle
from tests.sim.test_sim_host_common import inventory as host_inventory
from tests.sim.test_sim_host_common import run_until
from tests.sim.test_sim_vm_sdk import _new_vm, _wait
from tests.sim.test_sim_vm_support import GIB, INVENTORY

types = sdk.types

Factory = Callable[..., SimHandle]


def _fault(code: int, detail: str, reason: str = "Operation Failed") -> str:
    """The SDK's message for an engine fault."""
    return (
        f'Fault reason is "{reason}". Fault detail is "[{detail}]". HTTP response code is {code}.'
    )


def _conforms(sim: SimHandle, path: str) -> Any:
    """GET `path` raw and check its XML against the API model; returns the parsed element."""
    r = requests.get(
        sim.api_url + path,
        auth=("admin@internal", "admin"),
        headers={"Version": "4"},
        timeout=10,
    )
    assert r.status_code == 200, (path, r.status_code, r.text)
    assert check_xml(r.content) == [], path
    return etree.fromstring(r.content)


def _connect(sim: SimHandle) -> Any:
    return sdk.Connection(url=sim.api_url, username="admin@internal", password="admin")


@pytest.fixture
def vm_env(simulator_factory: Factory) -> Iterator[tuple[SimHandle, Any]]:
    sim = simulator_factory(INVENTORY, seed=9)
    conn = _connect(sim)
    try:
        yield sim, conn
    finally:
        conn.close()


@pytest.fixture
def host_env(simulator_factory: Factory) -> Iterator[tuple[SimHandle, Any]]:
    sim = simulator_factory(
        host_inventory(
            [{"name": "hv01", "status": "up"}, {"name": "hv02", "status": "maintenance"}],
            off=(),
        )
    )
    conn = _connect(sim)
    try:
        yield sim, conn
    finally:
        conn.close()


def _host_svc(conn: Any, name: str) -> Any:
    hosts = conn.system_service().hosts_service()
    found = hosts.list(search=f"name={name}")
    assert len(found) == 1
    return hosts.host_service(found[0].id)


def _events(conn: Any, code: int) -> list[Any]:
    return list(conn.system_service().events_service().list(search=f"type={code}"))


# ---------------------------------------------------------------------- disks and templates


def test_sdk_disks_list_and_update(vm_env: tuple[SimHandle, Any]) -> None:
    sim, conn = vm_env
    disks = conn.system_service().disks_service()
    d = disks.add(
        types.Disk(
            name="data-a",
            format=types.DiskFormat.COW,
            provisioned_size=GIB,
            storage_domains=[types.StorageDomain(name="data1")],
        )
    )
    dsvc = disks.disk_service(d.id)
    with pytest.raises(sdk.Error) as exc:
        dsvc.update(types.Disk(description="too early"))
    assert str(exc.value) == _fault(
        409, "Cannot update Virtual Disk: Disk is locked. Please try again later."
    )
    _wait(sim, dsvc.get, types.DiskStatus.OK)
    listed = {x.name: x for x in disks.list()}
    assert listed["data-a"].id == d.id and listed["data-a"].provisioned_size == GIB
    assert [x.id for x in disks.list(search="name=data-a")] == [d.id]
    updated = dsvc.update(
        types.Disk(name="data-b", description="grown", provisioned_size=2 * GIB, shareable=True)
    )
    assert (updated.name, updated.description, updated.provisioned_size) == (
        "data-b",
        "grown",
        2 * GIB,
    )
    got = dsvc.get()
    assert got.name == "data-b" and got.provisioned_size == 2 * GIB and got.shareable is True
    assert got.storage_domains[0].id == listed["data-a"].storage_domains[0].id
    extended = _events(conn, 371)
    assert len(extended) == 1 and "was successfully updated to 2 GB" in extended[0].description
    with pytest.raises(sdk.Error) as exc:
        dsvc.update(types.Disk(provisioned_size=GIB))
    assert "New disk size must be larger than the current disk size." in str(exc.value)
    assert exc.value.code == 400
    _conforms(sim, "/disks")
    assert _conforms(sim, f"/disks/{d.id}").findtext("name") == "data-b"


def test_sdk_template_update(vm_env: tuple[SimHandle, Any]) -> None:
    sim, conn = vm_env
    vm = _new_vm(conn, sim, "tsrc")
    templates = conn.system_service().templates_service()
    t = templates.add(types.Template(name="upd-t", vm=types.Vm(id=vm.get().id)))
    tsvc = templates.template_service(t.id)
    with pytest.raises(sdk.Error) as exc:
        tsvc.update(types.Template(description="while locked"))
    assert "Cannot update Template. Template upd-t is being created." in str(exc.value)
    assert exc.value.code == 409
    _wait(sim, tsvc.get, types.TemplateStatus.OK)
    updated = tsvc.update(
        types.Template(name="upd-t2", description="v2", memory=4 * GIB, comment="c")
    )
    assert (updated.name, updated.description, updated.memory) == ("upd-t2", "v2", 4 * GIB)
    got = tsvc.get()
    assert got.name == "upd-t2" and got.memory == 4 * GIB and got.comment == "c"
    assert [x.id for x in templates.list(search="name=upd-t2")] == [t.id]
    blank = templates.list(search="name=Blank")[0]
    with pytest.raises(sdk.Error) as exc:
        templates.template_service(blank.id).update(types.Template(name="NotBlank"))
    assert "Blank Template cannot be edited." in str(exc.value)
    templates.add(types.Template(name="other-t", vm=types.Vm(id=vm.get().id)))
    _wait(sim, vm.get, types.VmStatus.DOWN)
    with pytest.raises(sdk.Error) as exc:
        tsvc.update(types.Template(name="other-t"))
    assert "The Template name is already in use" in str(exc.value)
    assert _conforms(sim, f"/templates/{t.id}").findtext("description") == "v2"


def test_sdk_vm_disk_attachment_get_and_update(vm_env: tuple[SimHandle, Any]) -> None:
    sim, conn = vm_env
    svc = _new_vm(conn, sim, "davm")
    atts = svc.disk_attachments_service()
    first = atts.list()[0]
    asvc = atts.attachment_service(first.id)
    got = asvc.get()
    assert got.id == first.id and got.disk.id == first.id
    assert got.interface == types.DiskInterface.VIRTIO_SCSI and got.bootable is True
    assert got.vm.id == svc.get().id
    updated = asvc.update(
        types.DiskAttachment(
            interface=types.DiskInterface.VIRTIO,
            disk=types.Disk(provisioned_size=20 * GIB, name="davm_boot"),
        )
    )
    assert updated.interface == types.DiskInterface.VIRTIO
    assert asvc.get().interface == types.DiskInterface.VIRTIO
    disk = conn.system_service().disks_service().disk_service(first.id).get()
    assert disk.provisioned_size == 20 * GIB and disk.name == "davm_boot"
    assert _events(conn, 88), "USER_UPDATE_VM_DISK"
    svc.start()
    _wait(sim, svc.get, types.VmStatus.UP)
    with pytest.raises(sdk.Error) as exc:
        asvc.update(types.DiskAttachment(interface=types.DiskInterface.IDE))
    assert str(exc.value) == _fault(409, "Cannot update Virtual Disk. VM is running.")
    el = _conforms(sim, f"/vms/{svc.get().id}/diskattachments/{first.id}")
    assert el.findtext("interface") == "virtio"
    with pytest.raises(sdk.NotFoundError):
        atts.attachment_service("00000000-0000-0000-0000-00000000dead").get()


# ---------------------------------------------------------------------- disk failure path


def test_disk_ends_illegal_when_its_domain_leaves_active(vm_env: tuple[SimHandle, Any]) -> None:
    sim, conn = vm_env
    vm = _new_vm(conn, sim, "illvm")  # advances the clock: before the disks below
    system = conn.system_service()
    disks = system.disks_service()
    floating = disks.add(
        types.Disk(
            name="doomed",
            format=types.DiskFormat.COW,
            provisioned_size=GIB,
            storage_domains=[types.StorageDomain(name="data1")],
        )
    )
    vm_att = vm.disk_attachments_service().add(
        types.DiskAttachment(
            disk=types.Disk(
                name="illvm_data",
                provisioned_size=GIB,
                format=types.DiskFormat.COW,
                storage_domains=[types.StorageDomain(name="data1")],
            ),
            interface=types.DiskInterface.VIRTIO,
            active=True,
        )
    )
    dc = system.data_centers_service().list(search="name=Default")[0]
    sd = next(s for s in system.storage_domains_service().list() if s.name == "data1")
    attached = system.data_centers_service().data_center_service(dc.id).storage_domains_service()
    attached.storage_domain_service(sd.id).deactivate()
    dsvc = disks.disk_service(floating.id)
    assert dsvc.get().status == types.DiskStatus.LOCKED
    sim.advance(30)
    assert dsvc.get().status == types.DiskStatus.ILLEGAL
    assert disks.disk_service(vm_att.id).get().status == types.DiskStatus.ILLEGAL
    failed = _events(conn, 2022)
    assert [e.severity for e in failed] == [types.LogSeverity.ERROR]
    assert failed[0].description == "Add-Disk operation failed to complete."
    on_vm = _events(conn, 98)
    assert len(on_vm) == 1 and on_vm[0].vm.id == vm.get().id
    assert on_vm[0].severity == types.LogSeverity.ERROR
    assert not [e for e in _events(conn, 2021)]
    assert _conforms(sim, f"/disks/{floating.id}").findtext("status") == "illegal"
    # An illegal image can be removed (the engine's way out).
    dsvc.remove()
    sim.advance(5)
    with pytest.raises(sdk.NotFoundError):
        dsvc.get()


# ---------------------------------------------------------------------- host networking


def test_sdk_host_nic_get(host_env: tuple[SimHandle, Any]) -> None:
    sim, conn = host_env
    svc = _host_svc(conn, "hv01")
    nics = svc.nics_service()
    eth1 = next(n for n in nics.list() if n.name == "eth1")
    got = nics.nic_service(eth1.id).get()
    assert got.id == eth1.id and got.name == "eth1"
    assert got.mac.address == "52:54:00:00:01:11" and got.host.id == svc.get().id
    with pytest.raises(sdk.NotFoundError):
        nics.nic_service("00000000-0000-0000-0000-00000000beef").get()
    _conforms(sim, f"/hosts/{got.host.id}/nics")
    assert _conforms(sim, f"/hosts/{got.host.id}/nics/{eth1.id}").findtext("name") == "eth1"


def test_sdk_host_network_attachment_crud(host_env: tuple[SimHandle, Any]) -> None:
    sim, conn = host_env
    svc = _host_svc(conn, "hv02")
    hid = svc.get().id
    atts = svc.network_attachments_service()
    before = {a.id for a in atts.list()}
    added = atts.add(
        types.NetworkAttachment(
            network=types.Network(name="backend"),
            host_nic=types.HostNic(name="eth1"),
            ip_address_assignments=[
                types.IpAddressAssignment(assignment_method=types.BootProtocol.NONE)
            ],
        )
    )
    assert added.id not in before
    backend = next(
        n for n in conn.system_service().networks_service().list() if n.name == "backend"
    )
    asvc = atts.attachment_service(added.id)
    got = asvc.get()
    eth1 = next(n for n in svc.nics_service().list() if n.name == "eth1")
    assert got.network.id == backend.id and got.host_nic.id == eth1.id and got.in_sync is True
    assert got.host.id == hid
    # The same attachment through the NIC's sub-collection.
    nic_atts = svc.nics_service().nic_service(eth1.id).network_attachments_service()
    assert [a.id for a in nic_atts.list()] == [added.id]
    assert nic_atts.attachment_service(added.id).get().network.id == backend.id
    with pytest.raises(sdk.Error) as exc:
        atts.add(
            types.NetworkAttachment(
                network=types.Network(name="backend"), host_nic=types.HostNic(name="eth0")
            )
        )
    assert "attached to more than one Network Interface: backend." in str(exc.value)
    with pytest.raises(sdk.Error) as exc:
        atts.add(
            types.NetworkAttachment(
                network=types.Network(name="backend"), host_nic=types.HostNic(name="eth1")
            )
        )
    assert str(exc.value) == _fault(
        409,
        "Cannot add Network Attachment. Network backend is already attached to Network "
        "Interface eth1.",
    )
    asvc.update(
        types.NetworkAttachment(
            ip_address_assignments=[
                types.IpAddressAssignment(
                    assignment_method=types.BootProtocol.STATIC,
                    ip=types.Ip(address="10.2.0.12", netmask="255.255.255.0"),
                )
            ]
        )
    )
    ipa = asvc.get().ip_address_assignments[0]
    assert ipa.assignment_method == types.BootProtocol.STATIC
    assert (ipa.ip.address, ipa.ip.netmask) == ("10.2.0.12", "255.255.255.0")
    el = _conforms(sim, f"/hosts/{hid}/networkattachments/{added.id}")
    assert el.findtext("ip_address_assignments/ip_address_assignment/ip/address") == "10.2.0.12"
    _conforms(sim, f"/hosts/{hid}/networkattachments")
    asvc.remove()
    assert {a.id for a in atts.list()} == before
    with pytest.raises(sdk.NotFoundError):
        asvc.get()
    assert _events(conn, 10903), "PERSIST_SETUP_NETWORK_ON_HOST_FINISHED"


# ---------------------------------------------------------------------- host actions


def test_sdk_host_install_refresh_and_sync_all_networks(host_env: tuple[SimHandle, Any]) -> None:
    sim, conn = host_env
    up = _host_svc(conn, "hv01")
    with pytest.raises(sdk.Error) as exc:
        up.install(root_password="secret")
    assert str(exc.value) == _fault(
        409, "Cannot install Host. Please move Host to Maintenance mode first."
    )
    up.refresh()
    refreshed = _events(conn, 606)
    assert len(refreshed) == 1 and refreshed[0].host.id == up.get().id
    svc = _host_svc(conn, "hv02")
    svc.install(root_password="secret", activate=False)
    assert svc.get().status == types.HostStatus.INSTALLING
    run_until(sim, lambda: svc.get().status == types.HostStatus.MAINTENANCE, step=5, limit=600)
    svc.install(root_password="secret")  # activate defaults to false on install
    run_until(sim, lambda: svc.get().status == types.HostStatus.REBOOT, step=5, limit=600)
    run_until(sim, lambda: svc.get().status == types.HostStatus.MAINTENANCE, step=5, limit=600)
    svc.install(root_password="secret", activate=True)
    run_until(sim, lambda: svc.get().status == types.HostStatus.UP, step=5, limit=600)
    # syncallnetworks: nothing out of sync is a successful no-op on an up host.
    n_events = len(conn.system_service().events_service().list())
    svc.sync_all_networks()
    assert len(conn.system_service().events_service().list()) == n_events
    assert all(a.in_sync for a in svc.network_attachments_service().list())
    _conforms(sim, f"/hosts/{svc.get().id}")


def test_sdk_host_sync_all_networks_resyncs(host_env: tuple[SimHandle, Any]) -> None:
    sim, conn = host_env
    svc = _host_svc(conn, "hv02")
    hid = svc.get().id
    # A network changed behind the host's back (e.g. on an unreachable host): mark the
    # attachment out of sync in the simulator's state, as VDSM would report it.
    with sim.lock:
        att = sim.reg.objects["host"][hid].attachments[0]
        att.in_sync = False
    assert [a.in_sync for a in svc.network_attachments_service().list()] == [False]
    svc.sync_all_networks()
    assert [a.in_sync for a in svc.network_attachments_service().list()] == [True]
    synced = _events(conn, 10903)
    assert len(synced) == 1 and synced[0].host.id == hid
    # It is a setupnetworks: an Up host takes it too (network/host/HostValidator).
    up = _host_svc(conn, "hv01")
    up_id = up.get().id
    with sim.lock:
        sim.reg.objects["host"][up_id].attachments[0].in_sync = False
    up.sync_all_networks()
    assert [a.in_sync for a in up.network_attachments_service().list()] == [True]


# ---------------------------------------------------------------------- VM actions


def test_sdk_vm_reboot_and_cancel_migration(vm_env: tuple[SimHandle, Any]) -> None:
    sim, conn = vm_env
    svc = _new_vm(conn, sim, "rbvm")
    with pytest.raises(sdk.Error) as exc:
        svc.reboot()
    assert str(exc.value) == _fault(409, "Cannot restart VM because the VM is in Down status.")
    svc.start()
    _wait(sim, svc.get, types.VmStatus.UP)
    svc.reboot()
    assert svc.get().status == types.VmStatus.REBOOT_IN_PROGRESS
    _wait(sim, svc.get, types.VmStatus.UP)
    assert _events(conn, 157), "USER_REBOOT_VM"
    with pytest.raises(sdk.Error) as exc:
        svc.cancel_migration()
    assert str(exc.value) == _fault(409, "Cannot cancel migration for non migrating VM.")
    src = svc.get().host.id
    target = next(h for h in conn.system_service().hosts_service().list() if h.id != src)
    svc.migrate(host=types.Host(id=target.id))
    assert svc.get().status == types.VmStatus.MIGRATING
    svc.cancel_migration()
    vm = svc.get()
    assert vm.status == types.VmStatus.UP and vm.host.id == src
    sim.advance(60)  # the migration's end must not fire after the cancel
    vm = svc.get()
    assert vm.status == types.VmStatus.UP and vm.host.id == src
    cancelled = _events(conn, 161)
    assert len(cancelled) == 1 and cancelled[0].vm.id == vm.id
    _conforms(sim, f"/vms/{vm.id}")


# ---------------------------------------------------------------------- networks, profiles


def test_sdk_network_vnic_profiles(vm_env: tuple[SimHandle, Any]) -> None:
    sim, conn = vm_env
    networks = conn.system_service().networks_service()
    vmnet = next(n for n in networks.list() if n.name == "vmnet")
    lonely = next(n for n in networks.list() if n.name == "lonely")
    profiles = networks.network_service(vmnet.id).vnic_profiles_service()
    assert [p.name for p in profiles.list()] == ["vmnet"]
    added = profiles.add(types.VnicProfile(name="mirror", port_mirroring=True))
    assert added.network.id == vmnet.id and added.port_mirroring is True
    psvc = profiles.profile_service(added.id)
    got = psvc.get()
    assert (got.id, got.name, got.network.id) == (added.id, "mirror", vmnet.id)
    assert sorted(p.name for p in profiles.list()) == ["mirror", "vmnet"]
    top = conn.system_service().vnic_profiles_service().list()
    assert added.id in {p.id for p in top}
    with pytest.raises(sdk.Error) as exc:
        profiles.add(types.VnicProfile(name="mirror"))
    assert exc.value.code == 409
    assert "is already used by an existing profile for the same network." in str(exc.value)
    # The same name on another network is fine (names are unique per network).
    other_profile = networks.network_service(lonely.id).vnic_profiles_service()
    twin = other_profile.add(types.VnicProfile(name="mirror"))
    assert twin.network.id == lonely.id and twin.id != added.id
    # A profile of one network is not found under another.
    other = other_profile
    with pytest.raises(sdk.NotFoundError):
        other.profile_service(added.id).get()
    with pytest.raises(sdk.NotFoundError):
        other.profile_service(added.id).remove()
    _conforms(sim, f"/networks/{vmnet.id}/vnicprofiles")
    assert (
        _conforms(sim, f"/networks/{vmnet.id}/vnicprofiles/{added.id}").findtext("port_mirroring")
        == "true"
    )
    psvc.remove()
    with pytest.raises(sdk.NotFoundError):
        psvc.get()
    assert [p.name for p in profiles.list()] == ["vmnet"]
    _new_vm(conn, sim, "pvm")  # its nic1 uses the profile vmnet
    used = next(p for p in profiles.list() if p.name == "vmnet")
    with pytest.raises(sdk.Error) as exc:
        profiles.profile_service(used.id).remove()
    assert str(exc.value) == _fault(
        409,
        "Cannot remove VM network interface profile. The VM network interface profile is in "
        "use by the following VM(s): pvm.",
    )


def test_sdk_event_get(vm_env: tuple[SimHandle, Any]) -> None:
    sim, conn = vm_env
    vm = _new_vm(conn, sim, "evget")
    events = conn.system_service().events_service()
    latest = events.list(max=1)[0]
    got = events.event_service(latest.id).get()
    assert (got.id, got.code, got.description, got.severity) == (
        latest.id,
        latest.code,
        latest.description,
        latest.severity,
    )
    assert got.time == latest.time
    add_vm = _events(conn, 34)[0]
    one = events.event_service(add_vm.id).get()
    assert one.code == 34 and one.vm.id == vm.get().id and "evget" in one.description
    with pytest.raises(sdk.NotFoundError):
        events.event_service("999999").get()
    assert _conforms(sim, f"/events/{add_vm.id}").findtext("code") == "34"


def test_sdk_datacenter_scoped_clusters_and_networks(vm_env: tuple[SimHandle, Any]) -> None:
    sim, conn = vm_env
    dcs = conn.system_service().data_centers_service()
    default = dcs.list(search="name=Default")[0]
    other = dcs.add(types.DataCenter(name="Other", local=False))
    dsvc = dcs.data_center_service(default.id)
    osvc = dcs.data_center_service(other.id)
    # Clusters under /datacenters/{id}/clusters.
    cl = dsvc.clusters_service().add(
        types.Cluster(name="dc-cl", cpu=types.Cpu(type="Intel Skylake Server Family"))
    )
    csvc = dsvc.clusters_service().cluster_service(cl.id)
    got = csvc.get()
    assert got.name == "dc-cl" and got.data_center.id == default.id
    with pytest.raises(sdk.NotFoundError):
        osvc.clusters_service().cluster_service(cl.id).get()
    with pytest.raises(sdk.NotFoundError):
        osvc.clusters_service().cluster_service(cl.id).update(types.Cluster(description="x"))
    with pytest.raises(sdk.NotFoundError):
        osvc.clusters_service().cluster_service(cl.id).remove()
    updated = csvc.update(types.Cluster(description="scoped", name="dc-cl2"))
    assert updated.description == "scoped" and csvc.get().name == "dc-cl2"
    assert _conforms(sim, f"/datacenters/{default.id}/clusters/{cl.id}").findtext("name") == (
        "dc-cl2"
    )
    csvc.remove()
    with pytest.raises(sdk.NotFoundError):
        csvc.get()
    # Networks under /datacenters/{id}/networks.
    nets = dsvc.networks_service()
    net = nets.add(types.Network(name="dcnet", vlan=types.Vlan(id=300)))
    nsvc = nets.network_service(net.id)
    assert nsvc.get().vlan.id == 300 and nsvc.get().data_center.id == default.id
    with pytest.raises(sdk.NotFoundError):
        osvc.networks_service().network_service(net.id).get()
    with pytest.raises(sdk.NotFoundError):
        osvc.networks_service().network_service(net.id).update(types.Network(mtu=9000))
    with pytest.raises(sdk.NotFoundError):
        osvc.networks_service().network_service(net.id).remove()
    updated_net = nsvc.update(types.Network(mtu=9000, description="jumbo"))
    assert updated_net.mtu == 9000 and nsvc.get().description == "jumbo"
    rhevm = next(n for n in nets.list() if n.name == "rhevm")
    with pytest.raises(sdk.Error) as exc:
        nets.network_service(rhevm.id).remove()
    assert "The Management Network ('rhevm') is mandatory and cannot be removed." in str(exc.value)
    assert _conforms(sim, f"/datacenters/{default.id}/networks/{net.id}").findtext("mtu") == (
        "9000"
    )
    nsvc.remove()
    with pytest.raises(sdk.NotFoundError):
        nsvc.get()
    assert "dcnet" not in {n.name for n in nets.list()}

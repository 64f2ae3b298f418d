"""Conformance with the official oVirt Python SDK (ovirtsdk4): what our writers send,
the SDK's readers understand field by field; what the SDK's writers produce (the engine's
element names), our readers read. Catches a misspelt element or a wrong nesting."""

from __future__ import annotations

import io
from typing import Any

import ovirtsdk4.readers as readers
import ovirtsdk4.types as types
import ovirtsdk4.writers as writers
import ovirtsdk4.xml as sdkxml

from rhev_operator.rhevm import xmlio
from rhev_operator.rhevm.cluster import ClusterCreate, Clusters
from rhev_operator.rhevm.datacenter import DataCenterCreate, DataCenters
from rhev_operator.rhevm.disk import DiskCreate
from rhev_operator.rhevm.event import Events
from rhev_operator.rhevm.hypervisor import (
    BondSpec,
    FenceAgentCreate,
    FenceAgents,
    HostCreate,
    HostNics,
    Hosts,
    NetworkAttachments,
    NetworkAttachmentSpec,
)
from rhev_operator.rhevm.job import Jobs
from rhev_operator.rhevm.network import NetworkCreate, Networks, VnicProfileCreate, VnicProfiles
from rhev_operator.rhevm.storagedomain import StorageDomainCreate, StorageDomains
from rhev_operator.rhevm.virtualmachine import (
    DiskAttachmentCreate,
    DiskAttachments,
    VmCreate,
    VmNicCreate,
    VmNics,
    Vms,
)
from rhev_operator.rhevm.vmtemplate import TemplateCreate, Templates


def sdk_read(reader: Any, el: xmlio.Element) -> Any:
    return reader.read_one(sdkxml.XmlReader(io.BytesIO(xmlio.to_bytes(el))))


def sdk_write(writer: Any, obj: Any) -> xmlio.Element:
    xw = sdkxml.XmlWriter(None, indent=False)
    writer.write_one(obj, xw)
    return xmlio.parse(xw.string())


def enum(value: Any) -> Any:
    return getattr(value, "value", value)


# --- our writers, the SDK's readers --------------------------------------------------------


def test_data_center_and_cluster_bodies() -> None:
    dc = sdk_read(
        readers.DataCenterReader,
        DataCenters.body(DataCenterCreate(name="mydc", local=True, version="4.7", description="d")),
    )
    assert (dc.name, dc.local, dc.description) == ("mydc", True, "d")
    assert (dc.version.major, dc.version.minor) == (4, 7)
    cl = sdk_read(
        readers.ClusterReader,
        Clusters.body(
            ClusterCreate(
                name="c",
                data_center_id="d1",
                cpu_type="Intel Westmere Family",
                cpu_architecture="x86_64",
                version="4.7",
                memory_overcommit=150,
                transparent_hugepages=True,
                ballooning_enabled=True,
                ksm_enabled=False,
                on_error="migrate",
                fencing_enabled=True,
                management_network_name="rhevm",
            )
        ),
    )
    assert cl.data_center.id == "d1" and cl.cpu.type == "Intel Westmere Family"
    assert enum(cl.cpu.architecture) == "x86_64" and cl.version.minor == 7
    assert cl.memory_policy.over_commit.percent == 150
    assert cl.memory_policy.transparent_huge_pages.enabled is True
    assert cl.ballooning_enabled is True and cl.ksm.enabled is False
    assert enum(cl.error_handling.on_error) == "migrate" and cl.fencing_policy.enabled is True
    assert cl.management_network.name == "rhevm"


def test_network_profile_and_storage_domain_bodies() -> None:
    net = sdk_read(
        readers.NetworkReader,
        Networks.body(
            NetworkCreate(
                name="n", data_center_name="mydc", vlan_id=2, stp=True, mtu=9000, usages=("vm",)
            )
        ),
    )
    assert net.data_center.name == "mydc" and net.vlan.id == 2 and net.stp is True
    assert net.mtu == 9000 and [enum(u) for u in net.usages] == ["vm"]
    prof = sdk_read(
        readers.VnicProfileReader,
        VnicProfiles.body(VnicProfileCreate(name="p", network_id="n1", port_mirroring=False)),
    )
    assert prof.network.id == "n1" and prof.port_mirroring is False
    sd = sdk_read(
        readers.StorageDomainReader,
        StorageDomains.body(
            StorageDomainCreate(
                name="image",
                type="data",
                storage_type="nfs",
                host_name="h1",
                address="nfs.example",
                path="/vfsimg",
                nfs_version="v4_1",
                storage_format="v5",
            )
        ),
    )
    assert enum(sd.type) == "data" and enum(sd.storage.type) == "nfs"
    assert (sd.storage.address, sd.storage.path) == ("nfs.example", "/vfsimg")
    assert enum(sd.storage.nfs_version) == "v4_1" and enum(sd.storage_format) == "v5"
    assert sd.host.name == "h1"


def test_host_and_fence_agent_bodies() -> None:
    host = sdk_read(
        readers.HostReader,
        Hosts.body(
            HostCreate(
                name="h",
                address="h.example",
                cluster_name="c",
                root_password="pw",
                port=54321,
                spm_priority=3,
                override_iptables=True,
                power_management_enabled=True,
            )
        ),
    )
    assert (host.name, host.address, host.port) == ("h", "h.example", 54321)
    assert host.cluster.name == "c" and host.root_password == "pw"
    assert host.spm.priority == 3 and host.override_iptables is True
    assert host.power_management.enabled is True
    agent = sdk_read(
        readers.AgentReader,
        FenceAgents.body(
            FenceAgentCreate(
                type="ipmilan",
                address="10.0.0.101",
                username="u",
                password="p",
                port=623,
                order=1,
                encrypt_options=False,
                options={"lanplus": "1"},
            )
        ),
    )
    assert (agent.type, agent.address, agent.username, agent.password) == (
        "ipmilan",
        "10.0.0.101",
        "u",
        "p",
    )
    assert agent.port == 623 and agent.order == 1 and agent.encrypt_options is False
    assert [(o.name, o.value) for o in agent.options] == [("lanplus", "1")]


def test_setup_networks_action_body() -> None:
    body = xmlio.action()
    for tag, child in (
        ("modified_bonds", BondSpec(name="bond0", slaves=("eth1", "eth2"), options={"mode": "4"})),
        (
            "modified_network_attachments",
            NetworkAttachmentSpec(
                network_name="rhevm2",
                host_nic_name="bond0",
                boot_protocol="static",
                address="10.1.0.236",
                netmask="255.255.255.0",
                gateway="10.1.0.1",
            ),
        ),
    ):
        holder = xmlio.new(tag)
        holder.append(child.element())
        body.append(holder)
    act = sdk_read(readers.ActionReader, body)
    bond = act.modified_bonds[0]
    assert bond.name == "bond0" and [s.name for s in bond.bonding.slaves] == ["eth1", "eth2"]
    assert [(o.name, o.value) for o in bond.bonding.options] == [("mode", "4")]
    att = act.modified_network_attachments[0]
    assert att.network.name == "rhevm2" and att.host_nic.name == "bond0"
    ip = att.ip_address_assignments[0]
    assert enum(ip.assignment_method) == "static"
    assert (ip.ip.address, ip.ip.netmask, ip.ip.gateway) == (
        "10.1.0.236",
        "255.255.255.0",
        "10.1.0.1",
    )


def test_vm_disk_attachment_nic_and_template_bodies() -> None:
    vm = sdk_read(
        readers.VmReader,
        Vms.body(
            VmCreate(
                name="hkvm1",
                cluster_name="c",
                template_id="t1",
                memory=2 * 1024**3,
                memory_guaranteed=1024**3,
                cpu_sockets=2,
                cpu_cores=2,
                cpu_threads=1,
                os_type="rhel_8x64",
                boot_devices=("network", "hd"),
                display_type="vnc",
                high_availability=True,
                stateless=False,
                delete_protected=False,
                type="server",
                placement_affinity="pinned",
                placement_host_ids=("h1",),
            )
        ),
    )
    assert vm.cluster.name == "c" and vm.template.id == "t1"
    assert vm.memory == 2 * 1024**3 and vm.memory_policy.guaranteed == 1024**3
    t = vm.cpu.topology
    assert (t.sockets, t.cores, t.threads) == (2, 2, 1)
    assert vm.os.type == "rhel_8x64" and [enum(d) for d in vm.os.boot.devices] == ["network", "hd"]
    assert enum(vm.display.type) == "vnc" and vm.high_availability.enabled is True
    assert enum(vm.type) == "server" and enum(vm.placement_policy.affinity) == "pinned"
    assert [h.id for h in vm.placement_policy.hosts] == ["h1"]
    da = sdk_read(
        readers.DiskAttachmentReader,
        DiskAttachments.body(
            DiskAttachmentCreate(
                interface="virtio_scsi",
                bootable=True,
                active=True,
                disk=DiskCreate(
                    name="d1",
                    provisioned_size=10 * 1024**3,
                    format="cow",
                    sparse=True,
                    storage_domain_name="image",
                ),
            )
        ),
    )
    assert enum(da.interface) == "virtio_scsi" and da.bootable is True and da.active is True
    assert da.disk.name == "d1" and da.disk.provisioned_size == 10 * 1024**3
    assert enum(da.disk.format) == "cow" and da.disk.sparse is True
    assert da.disk.storage_domains[0].name == "image"
    nic = sdk_read(
        readers.NicReader,
        VmNics.body(VmNicCreate(name="eth0", interface="e1000", vnic_profile_id="p1", linked=True)),
    )
    assert nic.name == "eth0" and enum(nic.interface) == "e1000"
    assert nic.vnic_profile.id == "p1" and nic.linked is True
    tpl = sdk_read(
        readers.TemplateReader,
        Templates.body(TemplateCreate(name="t", vm_name="hkvm1", cluster_id="c1")),
    )
    assert tpl.vm.name == "hkvm1" and tpl.cluster.id == "c1"


# --- the SDK's writers, our readers --------------------------------------------------------


def test_host_and_nic_as_the_engine_writes_them() -> None:
    el = sdk_write(
        writers.HostWriter,
        types.Host(
            id="h1",
            name="rhevh1",
            address="rhevh1.example",
            port=54321,
            status=types.HostStatus.NON_RESPONSIVE,
            status_detail="x",
            type=types.HostType.RHEV_H,
            cluster=types.Cluster(id="c1"),
            spm=types.Spm(priority=7, status=types.SpmStatus.CONTENDING),
            power_management=types.PowerManagement(
                enabled=True, status=types.PowerManagementStatus.OFF
            ),
            memory=1024,
            cpu=types.Cpu(name="Westmere", topology=types.CpuTopology(sockets=2, cores=4)),
            os=types.OperatingSystem(type="RHEL"),
            summary=types.VmSummary(active=1, total=2),
            update_available=False,
        ),
    )
    host = Hosts.parse(el)
    assert (host.id, host.name, host.address, host.port) == (
        "h1",
        "rhevh1",
        "rhevh1.example",
        54321,
    )
    assert host.status == "non_responsive" and host.type == "rhev_h" and host.cluster_id == "c1"
    assert host.spm_priority == 7 and host.spm_status == "contending"
    assert host.power_management_enabled is True and host.power_management_status == "off"
    assert (host.cpu_name, host.cpu_sockets, host.cpu_cores) == ("Westmere", 2, 4)
    assert host.os_type == "RHEL" and (host.vms_active, host.vms_total) == (1, 2)
    nic = HostNics.parse(
        sdk_write(
            writers.HostNicWriter,
            types.HostNic(
                id="n1",
                name="eth1",
                mac=types.Mac(address="52:54:00:00:00:11"),
                ip=types.Ip(address="10.1.0.5", netmask="255.255.255.0", gateway="10.1.0.1"),
                boot_protocol=types.BootProtocol.STATIC,
                status=types.NicStatus.UP,
                network=types.Network(id="net1"),
                vlan=types.Vlan(id=20),
                bonding=types.Bonding(
                    options=[types.Option(name="mode", value="4")],
                    slaves=[types.HostNic(id="e1", name="eth1")],
                ),
            ),
        )
    )
    assert nic.mac == "52:54:00:00:00:11" and nic.ip_gateway == "10.1.0.1"
    assert nic.boot_protocol == "static" and nic.status == "up" and nic.network_id == "net1"
    assert nic.vlan_id == 20 and nic.bond_options == {"mode": "4"} and nic.bond_slave_ids == ("e1",)
    att = NetworkAttachments.parse(
        sdk_write(
            writers.NetworkAttachmentWriter,
            types.NetworkAttachment(
                id="a1",
                network=types.Network(id="net1"),
                host_nic=types.HostNic(id="n1"),
                in_sync=True,
                ip_address_assignments=[
                    types.IpAddressAssignment(
                        assignment_method=types.BootProtocol.DHCP, ip=types.Ip(address="1.2.3.4")
                    )
                ],
            ),
        )
    )
    assert att.network_id == "net1" and att.host_nic_id == "n1" and att.in_sync is True
    assert att.ip_assignments[0].assignment_method == "dhcp"


def test_storage_domain_vm_template_job_event_as_the_engine_writes_them() -> None:
    sd = StorageDomains.parse(
        sdk_write(
            writers.StorageDomainWriter,
            types.StorageDomain(
                id="s1",
                name="image",
                type=types.StorageDomainType.DATA,
                master=True,
                status=types.StorageDomainStatus.PREPARING_FOR_MAINTENANCE,
                available=10,
                used=5,
                committed=7,
                storage_format=types.StorageFormat.V5,
                storage=types.HostStorage(
                    type=types.StorageType.NFS, address="nfs.example", path="/vfsimg"
                ),
                data_centers=[types.DataCenter(id="d1")],
            ),
        )
    )
    assert sd.status == "preparing_for_maintenance" and sd.master is True
    assert (sd.storage_type, sd.address, sd.path) == ("nfs", "nfs.example", "/vfsimg")
    assert (sd.available, sd.used, sd.committed, sd.data_center_ids) == (10, 5, 7, ("d1",))
    vm = Vms.parse(
        sdk_write(
            writers.VmWriter,
            types.Vm(
                id="v1",
                name="hkvm1",
                status=types.VmStatus.IMAGE_LOCKED,
                memory=2048,
                cpu=types.Cpu(topology=types.CpuTopology(sockets=2, cores=2, threads=1)),
                os=types.OperatingSystem(
                    type="other", boot=types.Boot(devices=[types.BootDevice.NETWORK])
                ),
                display=types.Display(type=types.DisplayType.SPICE),
                cluster=types.Cluster(id="c1"),
                template=types.Template(id="t1"),
                host=types.Host(id="h1"),
                placement_policy=types.VmPlacementPolicy(
                    affinity=types.VmAffinity.USER_MIGRATABLE, hosts=[types.Host(id="h1")]
                ),
            ),
        )
    )
    assert vm.status == "image_locked" and vm.boot_devices == ("network",)
    assert vm.display_type == "spice" and vm.placement_affinity == "user_migratable"
    assert (vm.cluster_id, vm.template_id, vm.host_id) == ("c1", "t1", "h1")
    assert vm.placement_host_ids == ("h1",)
    tpl = Templates.parse(
        sdk_write(
            writers.TemplateWriter,
            types.Template(
                id="t1", name="tpl", status=types.TemplateStatus.LOCKED, vm=types.Vm(id="v1")
            ),
        )
    )
    assert tpl.status == "locked" and tpl.vm_id == "v1"
    job = Jobs.parse(
        sdk_write(
            writers.JobWriter,
            types.Job(id="j1", description="x", status=types.JobStatus.FINISHED, external=False),
        )
    )
    assert job.status == "finished" and job.external is False
    ev = Events.parse(
        sdk_write(
            writers.EventWriter,
            types.Event(
                id="77",
                index=77,
                code=32,
                severity=types.LogSeverity.WARNING,
                description="d",
                correlation_id="c",
                vm=types.Vm(id="v1"),
                host=types.Host(id="h1"),
                storage_domain=types.StorageDomain(id="s1"),
            ),
        )
    )
    assert (ev.index, ev.code, ev.severity, ev.correlation_id) == (77, 32, "warning", "c")
    assert (ev.vm_id, ev.host_id, ev.storage_domain_id) == ("v1", "h1", "s1")
    dc = DataCenters.parse(
        sdk_write(
            writers.DataCenterWriter,
            types.DataCenter(
                id="d1",
                name="dc",
                local=False,
                status=types.DataCenterStatus.PROBLEMATIC,
                version=types.Version(major=4, minor=7),
                storage_format=types.StorageFormat.V5,
            ),
        )
    )
    assert dc.status == "problematic" and dc.version == "4.7" and dc.storage_format == "v5"
    cl = Clusters.parse(
        sdk_write(
            writers.ClusterWriter,
            types.Cluster(
                id="c1",
                name="c",
                data_center=types.DataCenter(id="d1"),
                cpu=types.Cpu(type="Intel Westmere Family"),
                memory_policy=types.MemoryPolicy(
                    over_commit=types.MemoryOverCommit(percent=150),
                    transparent_huge_pages=types.TransparentHugePages(enabled=True),
                ),
                management_network=types.Network(id="m1"),
            ),
        )
    )
    assert cl.data_center_id == "d1" and cl.memory_overcommit == 150
    assert cl.transparent_hugepages is True and cl.management_network_id == "m1"
    net = Networks.parse(
        sdk_write(
            writers.NetworkWriter,
            types.Network(
                id="n1",
                name="rhevm2",
                vlan=types.Vlan(id=2),
                data_center=types.DataCenter(id="d1"),
                usages=[types.NetworkUsage.VM, types.NetworkUsage.MANAGEMENT],
                status=types.NetworkStatus.NON_OPERATIONAL,
                required=True,
            ),
        )
    )
    assert net.vlan_id == 2 and net.usages == ("vm", "management")
    assert net.status == "non_operational" and net.required is True

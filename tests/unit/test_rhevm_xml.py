"""XML readers and writers of the RHEV-M client, on API v4 documents (pure functions)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from rhev_operator.rhevm import errors, xmlio
from rhev_operator.rhevm.cluster import ClusterCreate, Clusters, ClusterUpdate
from rhev_operator.rhevm.datacenter import DataCenterCreate, DataCenters, DataCenterUpdate
from rhev_operator.rhevm.disk import DiskCreate, Disks
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
from rhev_operator.rhevm.job import Job, Jobs, jobs_state
from rhev_operator.rhevm.network import (
    ClusterNetworkAttach,
    ClusterNetworks,
    NetworkCreate,
    Networks,
    VnicProfiles,
)
from rhev_operator.rhevm.session import ConnectionConfig, Session
from rhev_operator.rhevm.storagedomain import StorageDomainCreate, StorageDomains
from rhev_operator.rhevm.virtualmachine import (
    DiskAttachmentCreate,
    DiskAttachments,
    VmCreate,
    VmNicCreate,
    VmNics,
    Vms,
    VmUpdate,
)
from rhev_operator.rhevm.vmtemplate import TemplateCreate, Templates

DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def el(text: str) -> xmlio.Element:
    return xmlio.parse(DECL + text)


def xml(node: xmlio.Element) -> str:
    return xmlio.to_bytes(node).decode().split("?>", 1)[1].strip()


# --- parser hardening ---------------------------------------------------------------------


def test_parser_refuses_doctype_and_entities() -> None:
    bomb = (
        '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        '<!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><vm><name>&lol2;</name></vm>'
    )
    with pytest.raises(errors.ProtocolError, match="DOCTYPE"):
        xmlio.parse(bomb)


def test_parser_refuses_external_entity() -> None:
    xxe = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    with pytest.raises(errors.ProtocolError):
        xmlio.parse(xxe)


def test_parser_refuses_malformed_xml() -> None:
    with pytest.raises(errors.ProtocolError, match="not well-formed"):
        xmlio.parse(b"<vm><name>x</vm>")


# --- readers ------------------------------------------------------------------------------


def test_data_center_reader() -> None:
    dc = DataCenters.parse(
        el(
            '<data_center href="/ovirt-engine/api/datacenters/d1" id="d1">'
            "<name>mydc</name><description>seed</description><local>false</local>"
            "<quota_mode>disabled</quota_mode><status>uninitialized</status>"
            "<storage_format>v5</storage_format>"
            "<supported_versions><version><major>4</major><minor>6</minor></version>"
            "<version><major>4</major><minor>7</minor></version></supported_versions>"
            "<version><major>4</major><minor>7</minor></version>"
            '<mac_pool href="/x" id="m1"/></data_center>'
        ),
    )
    assert dc.id == "d1" and dc.name == "mydc" and dc.description == "seed"
    assert dc.local is False and dc.status == "uninitialized"
    assert dc.version == "4.7" and dc.supported_versions == ("4.6", "4.7")
    assert dc.storage_format == "v5" and dc.mac_pool_id == "m1"


def test_reader_rejects_garbage_values_with_protocol_error() -> None:
    with pytest.raises(errors.ProtocolError, match="data_center"):
        DataCenters.parse(
            el('<data_center id="d1"><name>x</name><local>perhaps</local></data_center>'),
        )


def test_host_reader_spm_cluster_and_power_management() -> None:
    host = Hosts.parse(
        el(
            '<host id="h1"><name>rhevh1</name><address>rhevh1.example</address>'
            "<port>54321</port><status>up</status><type>rhel</type>"
            '<cluster href="/c" id="c1"/><spm><priority>7</priority><status>spm</status></spm>'
            "<power_management><enabled>true</enabled><status>on</status></power_management>"
            "<memory>17179869184</memory><cpu><name>Westmere</name><topology><sockets>2"
            "</sockets><cores>4</cores></topology></cpu>"
            "<summary><active>3</active><total>5</total></summary>"
            "<version><full_version>vdsm-4.50</full_version><major>4</major></version>"
            "</host>"
        ),
    )
    assert (host.id, host.name, host.address, host.port) == (
        "h1",
        "rhevh1",
        "rhevh1.example",
        54321,
    )
    assert host.status == "up" and host.cluster_id == "c1"
    assert host.spm_priority == 7 and host.spm_status == "spm"
    assert host.power_management_enabled is True and host.power_management_status == "on"
    assert host.memory == 17179869184 and host.cpu_sockets == 2 and host.cpu_cores == 4
    assert host.vms_active == 3 and host.vms_total == 5 and host.version == "vdsm-4.50"


def test_storage_domain_reader_top_level_and_attached() -> None:
    sd = StorageDomains.parse(
        el(
            '<storage_domain id="s1"><name>image</name><type>data</type><master>true</master>'
            "<status>active</status><available>1000</available><used>200</used>"
            "<committed>300</committed><storage_format>v5</storage_format>"
            "<storage><type>nfs</type><address>nfs.example</address><path>/vfsimg</path>"
            "<nfs_version>auto</nfs_version></storage>"
            '<data_centers><data_center id="d1"/><data_center id="d2"/></data_centers>'
            '<data_center id="d1"/></storage_domain>'
        ),
    )
    assert sd.type == "data" and sd.storage_type == "nfs"
    assert (sd.address, sd.path, sd.nfs_version) == ("nfs.example", "/vfsimg", "auto")
    assert sd.master is True and sd.status == "active"
    assert (sd.available, sd.used, sd.committed) == (1000, 200, 300)
    assert sd.data_center_ids == ("d1", "d2")


def test_vm_reader_refs_and_topology() -> None:
    vm = Vms.parse(
        el(
            '<vm id="v1"><name>hkvm1</name><status>up</status><memory>2147483648</memory>'
            "<memory_policy><guaranteed>1073741824</guaranteed></memory_policy>"
            "<cpu><topology><sockets>2</sockets><cores>2</cores><threads>1</threads></topology>"
            "</cpu><os><type>rhel_8x64</type><boot><devices><device>network</device>"
            "<device>hd</device></devices></boot></os><display><type>vnc</type></display>"
            "<high_availability><enabled>false</enabled></high_availability>"
            '<cluster id="c1"/><template id="00000000-0000-0000-0000-000000000000"/>'
            '<host id="h1"/><placement_policy><affinity>migratable</affinity><hosts>'
            '<host id="h1"/><host id="h2"/></hosts></placement_policy></vm>'
        ),
    )
    assert vm.status == "up" and vm.memory == 2 * 1024**3 and vm.memory_guaranteed == 1024**3
    assert (vm.cpu_sockets, vm.cpu_cores, vm.cpu_threads) == (2, 2, 1)
    assert vm.boot_devices == ("network", "hd") and vm.display_type == "vnc"
    assert vm.cluster_id == "c1" and vm.host_id == "h1" and vm.high_availability is False
    assert vm.placement_affinity == "migratable" and vm.placement_host_ids == ("h1", "h2")


def test_host_nic_and_network_attachment_readers() -> None:
    nic = HostNics.parse(
        el(
            '<host_nic id="n1"><name>bond0</name><mac><address>00:1a:4a:16:01:51</address></mac>'
            "<ip><address>10.1.0.236</address><netmask>255.255.255.0</netmask></ip>"
            "<boot_protocol>static</boot_protocol><status>up</status><mtu>1500</mtu>"
            "<bonding><options><option><name>mode</name><value>4</value></option>"
            "<option><name>miimon</name><value>100</value></option></options>"
            '<slaves><host_nic id="e1"><name>eth1</name></host_nic><host_nic id="e2">'
            "<name>eth2</name></host_nic></slaves></bonding></host_nic>"
        ),
    )
    assert nic.mac == "00:1a:4a:16:01:51" and nic.ip_address == "10.1.0.236"
    assert nic.bond_slave_ids == ("e1", "e2") and nic.bond_slave_names == ("eth1", "eth2")
    assert nic.bond_options == {"mode": "4", "miimon": "100"}
    att = NetworkAttachments.parse(
        el(
            '<network_attachment id="a1"><network id="net2"/><host_nic id="n1"/>'
            "<in_sync>false</in_sync><ip_address_assignments><ip_address_assignment>"
            "<assignment_method>static</assignment_method><ip><address>10.1.0.236</address>"
            "<netmask>255.255.255.0</netmask><version>v4</version></ip>"
            "</ip_address_assignment></ip_address_assignments></network_attachment>"
        ),
    )
    assert att.network_id == "net2" and att.host_nic_id == "n1" and att.in_sync is False
    assert att.ip_assignments[0].assignment_method == "static"
    assert att.ip_assignments[0].address == "10.1.0.236"


def test_network_and_vnic_profile_readers() -> None:
    net = Networks.parse(
        el(
            '<network id="n2"><name>rhevm2</name><data_center id="d1"/><vlan id="2"/>'
            "<stp>false</stp><mtu>0</mtu><usages><usage>vm</usage><usage>migration</usage>"
            '</usages><required>true</required><status>operational</status><cluster id="c1"/>'
            "</network>"
        ),
    )
    assert net.vlan_id == 2 and net.data_center_id == "d1" and net.usages == ("vm", "migration")
    assert net.required is True and net.status == "operational" and net.cluster_id == "c1"
    prof = VnicProfiles.parse(
        el('<vnic_profile id="p1"><name>rhevm2</name><network id="n2"/></vnic_profile>'),
    )
    assert prof.network_id == "n2" and prof.name == "rhevm2"


def test_event_job_template_disk_readers() -> None:
    ev = Events.parse(
        el(
            '<event id="42"><code>32</code><description>VM hkvm1 started</description>'
            "<severity>normal</severity><index>42</index><correlation_id>abc</correlation_id>"
            '<vm id="v1"/><host id="h1"/><cluster id="c1"/><data_center id="d1"/></event>'
        ),
    )
    assert ev.index == 42 and ev.code == 32 and ev.vm_id == "v1" and ev.correlation_id == "abc"
    job = Jobs.parse(
        el('<job id="j1"><description>x</description><status>started</status></job>'),
    )
    assert job.status == "started"
    tpl = Templates.parse(
        el('<template id="t1"><name>tpl</name><status>locked</status><vm id="v1"/></template>'),
    )
    assert tpl.status == "locked" and tpl.vm_id == "v1"
    disk = Disks.parse(
        el(
            '<disk id="k1"><name>d</name><provisioned_size>10737418240</provisioned_size>'
            "<format>cow</format><status>ok</status><storage_domains>"
            '<storage_domain id="s1"/></storage_domains></disk>'
        ),
    )
    assert disk.provisioned_size == 10 * 1024**3 and disk.storage_domain_ids == ("s1",)


def test_jobs_state_summary() -> None:
    assert jobs_state([]) == "none"
    assert jobs_state([Job(id="1", status="finished"), Job(id="2", status="started")]) == "started"
    assert jobs_state([Job(id="1", status="finished"), Job(id="2", status="failed")]) == "failed"
    assert jobs_state([Job(id="1", status="finished")]) == "finished"


# --- writers ------------------------------------------------------------------------------


def test_data_center_create_sends_only_set_fields() -> None:
    body = DataCenters.body(DataCenterCreate(name="my<dc>&", local=False, version="4.7"))
    assert xml(body) == (
        "<data_center><name>my&lt;dc&gt;&amp;</name><local>false</local>"
        "<version><major>4</major><minor>7</minor></version></data_center>"
    )


def test_update_with_one_field_sends_one_field() -> None:
    body = DataCenters.body(DataCenterUpdate(description=""))
    assert xml(body) == "<data_center><description></description></data_center>"
    body = Clusters.body(ClusterUpdate(memory_overcommit=150))
    assert xml(body) == (
        "<cluster><memory_policy><over_commit><percent>150</percent></over_commit>"
        "</memory_policy></cluster>"
    )


def test_cluster_create_nested_fields_share_parents() -> None:
    body = Clusters.body(
        ClusterCreate(
            name="mycluster",
            data_center_name="mydc",
            cpu_type="Intel Westmere Family",
            memory_overcommit=100,
            transparent_hugepages=True,
        )
    )
    assert xml(body) == (
        "<cluster><name>mycluster</name><cpu><type>Intel Westmere Family</type></cpu>"
        "<memory_policy><over_commit><percent>100</percent></over_commit>"
        "<transparent_hugepages><enabled>true</enabled></transparent_hugepages>"
        "</memory_policy><data_center><name>mydc</name></data_center></cluster>"
    )


def test_network_and_cluster_network_writers() -> None:
    body = Networks.body(
        NetworkCreate(name="rhevm2", data_center_id="d1", vlan_id=2, usages=("vm",))
    )
    assert xml(body) == (
        '<network><name>rhevm2</name><data_center id="d1"/><vlan id="2"/>'
        "<usages><usage>vm</usage></usages></network>"
    )
    body = ClusterNetworks.body(ClusterNetworkAttach(network_id="n2", required=False))
    assert xml(body) == '<network id="n2"><required>false</required></network>'


def test_storage_domain_host_vm_template_writers() -> None:
    sd = StorageDomains.body(
        StorageDomainCreate(
            name="image",
            type="data",
            storage_type="nfs",
            host_name="rhevh1",
            address="nfs.example",
            path="/vfsimg",
        )
    )
    assert xml(sd) == (
        "<storage_domain><name>image</name><type>data</type><storage><type>nfs</type>"
        "<address>nfs.example</address><path>/vfsimg</path></storage>"
        "<host><name>rhevh1</name></host></storage_domain>"
    )
    host = Hosts.body(
        HostCreate(
            name="h", address="h.example", cluster_id="c1", root_password="s3cret", spm_priority=-1
        )
    )
    assert xml(host) == (
        '<host><name>h</name><address>h.example</address><cluster id="c1"/>'
        "<root_password>s3cret</root_password><spm><priority>-1</priority></spm></host>"
    )
    vm = Vms.body(
        VmCreate(
            name="hkvm1",
            cluster_name="mycluster",
            template_name="Blank",
            memory=2 * 1024**3,
            cpu_sockets=2,
            cpu_cores=2,
            boot_devices=("network", "hd"),
            placement_affinity="pinned",
            placement_host_names=("rhevh1",),
        )
    )
    assert xml(vm) == (
        "<vm><name>hkvm1</name><memory>2147483648</memory><cpu><topology><sockets>2</sockets>"
        "<cores>2</cores></topology></cpu><os><boot><devices><device>network</device>"
        "<device>hd</device></devices></boot></os><placement_policy><affinity>pinned"
        "</affinity><hosts><host><name>rhevh1</name></host></hosts></placement_policy>"
        "<cluster><name>mycluster</name></cluster><template><name>Blank</name></template></vm>"
    )
    upd = Vms.body(VmUpdate(memory=1024**3))
    assert xml(upd) == "<vm><memory>1073741824</memory></vm>"
    tpl = Templates.body(TemplateCreate(name="t", vm_id="v1"))
    assert xml(tpl) == '<template><name>t</name><vm id="v1"/></template>'


def test_disk_attachment_with_new_disk_and_vm_nic() -> None:
    body = DiskAttachments.body(
        DiskAttachmentCreate(
            interface="virtio",
            bootable=True,
            active=True,
            disk=DiskCreate(
                name="hkvm1_disk1",
                provisioned_size=10 * 1024**3,
                format="cow",
                storage_domain_id="s1",
            ),
        )
    )
    assert xml(body) == (
        "<disk_attachment><interface>virtio</interface><bootable>true</bootable>"
        "<active>true</active><disk><name>hkvm1_disk1</name>"
        "<provisioned_size>10737418240</provisioned_size>"
        '<format>cow</format><storage_domains><storage_domain id="s1"/></storage_domains>'
        "</disk></disk_attachment>"
    )
    nic = VmNics.body(VmNicCreate(name="eth0", interface="virtio", vnic_profile_id="p1"))
    assert xml(nic) == (
        '<nic><name>eth0</name><interface>virtio</interface><vnic_profile id="p1"/></nic>'
    )


def test_fence_agent_writer_carries_options_and_password() -> None:
    body = FenceAgents.body(
        FenceAgentCreate(
            type="ipmilan",
            address="10.0.0.101",
            username="USERID",
            password="PASSW0RD",
            order=1,
            options={"lanplus": "1"},
        )
    )
    assert xml(body) == (
        "<agent><type>ipmilan</type><address>10.0.0.101</address><username>USERID</username>"
        "<password>PASSW0RD</password><order>1</order><options><option><name>lanplus</name>"
        "<value>1</value></option></options></agent>"
    )
    assert "PASSW0RD" not in repr(
        FenceAgentCreate(type="ipmilan", address="a", password="PASSW0RD")
    )


def test_setup_networks_parts() -> None:
    att = NetworkAttachmentSpec(
        network_name="rhevm2",
        host_nic_name="eth1",
        boot_protocol="static",
        address="10.1.0.236",
        netmask="255.255.255.0",
    ).element()
    assert xml(att) == (
        "<network_attachment><network><name>rhevm2</name></network><host_nic><name>eth1</name>"
        "</host_nic><ip_address_assignments><ip_address_assignment>"
        "<assignment_method>static</assignment_method><ip><address>10.1.0.236</address>"
        "<netmask>255.255.255.0</netmask></ip></ip_address_assignment>"
        "</ip_address_assignments></network_attachment>"
    )
    bond = BondSpec(name="bond0", slaves=("eth1", "eth2"), options={"mode": "4"}).element()
    assert xml(bond) == (
        "<host_nic><name>bond0</name><bonding><options><option><name>mode</name>"
        "<value>4</value></option></options><slaves><host_nic><name>eth1</name></host_nic>"
        "<host_nic><name>eth2</name></host_nic></slaves></bonding></host_nic>"
    )


def test_action_body_skips_none_and_embeds_refs() -> None:
    ref = xmlio.new("host", {"id": "h2"})
    assert (
        xml(xmlio.action(force=None, host=ref, async_=None)) == '<action><host id="h2"/></action>'
    )
    assert xml(xmlio.action(fence_type="manual")) == (
        "<action><fence_type>manual</fence_type></action>"
    )


# --- input validation names the field --------------------------------------------------


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: NetworkCreate(name="n", data_center_id="d", vlan_id=4095), "vlan_id"),
        (lambda: NetworkCreate(name="n"), "data_center_id/data_center_name"),
        (
            lambda: HostCreate(name="h", address="a", cluster_id="c", spm_priority=11),
            "spm_priority",
        ),
        (lambda: DataCenterCreate(name="d", local=False, version="4"), "version"),
        (
            lambda: StorageDomainCreate(name="s", type="data", storage_type="nfs", host_id="h"),
            "path",
        ),
        (
            lambda: VmCreate(name="v", cluster_id="c", template_id="t", boot_devices=("usb",)),
            "boot_devices",
        ),
        (lambda: DiskAttachmentCreate(interface="scsi", disk_id="k"), "interface"),
        (
            lambda: NetworkAttachmentSpec(network_id="n", host_nic_id="h", boot_protocol="static"),
            "address/netmask",
        ),
        (lambda: VmNicCreate(name="eth0", interface="e1001"), "interface"),
    ],
)
def test_bad_input_is_refused_naming_the_field(build: object, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        build()  # type: ignore[operator]
    assert field in str(info.value)


def test_collection_refuses_ids_with_slashes() -> None:
    cfg = ConnectionConfig(url="http://127.0.0.1:9/ovirt-engine/api", username="u", password="p")
    hosts = Hosts(Session(cfg), "hosts")
    with pytest.raises(ValueError, match="host id"):
        hosts.nics("../vms")

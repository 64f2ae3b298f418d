"""rhevsim VMs over raw HTTP on the manual clock: CRUD, power state machines, placement,
migration, next-run updates, NICs, host failures, locks and the list fast path."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rhevsim.testing import SimHandle
from tests.sim.test_sim_vm_support import (
    GIB,
    INVENTORY,
    MIB,
    Api,
    fault_detail,
    no_host_inventory,
    one_host_inventory,
    rid,
)


@pytest.fixture
def api(simulator_factory: Callable[..., SimHandle]) -> Api:
    return Api(simulator_factory(INVENTORY, seed=3))


def test_add_vm_from_blank_with_configuration(api: Api) -> None:
    hv1 = api.find_id("hosts", "hv1")
    code, el = api.post(
        "/vms",
        "<vm><name>web1</name><cluster><name>Default</name></cluster>"
        "<template><name>Blank</name></template><memory>2147483648</memory>"
        "<cpu><topology><sockets>2</sockets><cores>2</cores><threads>1</threads></topology></cpu>"
        "<os><type>rhel_8x64</type><boot><devices><device>network</device><device>hd</device>"
        "</devices></boot></os><display><type>spice</type></display>"
        "<high_availability><enabled>true</enabled><priority>50</priority></high_availability>"
        f'<placement_policy><affinity>pinned</affinity><hosts><host id="{hv1}"/></hosts>'
        "</placement_policy><description>d</description><comment>c</comment></vm>",
    )
    assert code == 201
    assert el.findtext("status") == "down" and el.findtext("memory") == str(2 * GIB)
    assert el.findtext("cpu/topology/sockets") == "2" and el.findtext("cpu/topology/cores") == "2"
    assert el.findtext("os/type") == "rhel_8x64"
    assert [d.text for d in el.findall("os/boot/devices/device")] == ["network", "hd"]
    assert el.findtext("display/type") == "spice"
    assert el.findtext("high_availability/enabled") == "true"
    assert el.findtext("placement_policy/affinity") == "pinned"
    assert rid(el, "placement_policy/hosts/host") == hv1
    assert rid(el, "template") == "00000000-0000-0000-0000-000000000000"
    assert el.findtext("description") == "d" and el.findtext("comment") == "c"
    assert el.find("host") is None


def test_add_vm_refusals(api: Api) -> None:
    api.add_vm("dup")
    code, el = api.post("/vms", "<vm><name>dup</name><cluster><name>Default</name></cluster></vm>")
    assert code == 409 and fault_detail(el) == (
        "[Cannot add VM. The VM name is already in use, please choose a unique name and try again.]"
    )
    code, el = api.post("/vms", "<vm><cluster><name>Default</name></cluster></vm>")
    assert code == 400 and el.findtext("detail") == "Vm [name] required for add"
    code, el = api.post("/vms", "<vm><name>x</name><cluster><name>Nope</name></cluster></vm>")
    assert code == 404 and el.findtext("detail") == "Entity not found: Cluster: name=Nope"
    code, el = api.post(
        "/vms",
        "<vm><name>x</name><cluster><name>Default</name></cluster>"
        "<display><type>rdp</type></display></vm>",
    )
    assert code == 400 and el.findtext("detail") == "rdp is not a member of DisplayType"
    code, el = api.post("/vms", "<vm><name>a b</name><cluster><name>Default</name></cluster></vm>")
    assert code == 400 and "special characters" in fault_detail(el)


def test_start_runs_through_wait_for_launch_and_powering_up_to_up(api: Api) -> None:
    vm = api.bootable_vm("v1")
    last = api.last_event()
    code, el = api.action(f"/vms/{vm}", "start")
    assert code == 200 and el.findtext("status") == "complete" and el.find("job") is not None
    assert api.status(f"/vms/{vm}") == "wait_for_launch"
    api.advance(3)
    assert api.status(f"/vms/{vm}") == "powering_up"
    api.advance(15)
    got = api.get(f"/vms/{vm}")
    assert got.findtext("status") == "up" and got.find("start_time") is not None
    host = api.get(f"/hosts/{rid(got, 'host')}")
    assert host.findtext("name") in ("hv1", "hv2")
    codes = [c for c, _ in api.events_since(last)]
    assert 153 in codes and 32 in codes
    job = api.get(f"/jobs/{rid(el, 'job')}")
    assert job.findtext("status") == "finished"
    code, el = api.action(f"/vms/{vm}", "start")
    assert code == 409 and fault_detail(el) == "[Cannot run VM because the VM is in Up status.]"


def test_start_needs_a_bootable_disk_and_an_up_host(
    simulator_factory: Callable[..., SimHandle],
) -> None:
    api = Api(simulator_factory(no_host_inventory()))
    vm = api.add_vm("v1")
    code, el = api.action(f"/vms/{vm}", "start")
    assert code == 409 and "without at least one bootable disk" in fault_detail(el)
    assert el.findtext("status") == "failed"
    api.add_disk(vm)
    code, el = api.action(f"/vms/{vm}", "start")
    assert code == 409 and "Disk is locked" not in fault_detail(el)
    assert "disks are locked" in fault_detail(el)
    api.advance(5)
    code, el = api.action(f"/vms/{vm}", "start")
    # SCHEDULING_NO_HOSTS has no ErrorType in common/errors/EngineMessage: 400 through
    # restapi util/ErrorMessageHelper.
    assert code == 400 and fault_detail(el) == (
        "[There are no hosts to use. Check that the cluster contains at least one host in Up "
        "state.]"
    )


def test_placement_prefers_pinned_host_and_balances(api: Api) -> None:
    hv2 = api.find_id("hosts", "hv2")
    pinned = api.running_vm(
        "p1",
        f'<placement_policy><affinity>pinned</affinity><hosts><host id="{hv2}"/></hosts>'
        "</placement_policy>",
    )
    assert rid(api.get(f"/vms/{pinned}"), "host") == hv2
    other = api.running_vm("p2")
    assert rid(api.get(f"/vms/{other}"), "host") != hv2  # the less loaded host


def test_stop_shutdown_reboot(api: Api) -> None:
    vm = api.running_vm("v1")
    last = api.last_event()
    code, _ = api.action(f"/vms/{vm}", "reboot")
    assert code == 200 and api.status(f"/vms/{vm}") == "reboot_in_progress"
    api.advance(10)
    assert api.status(f"/vms/{vm}") == "up"
    code, _ = api.action(f"/vms/{vm}", "shutdown", "<action><reason>patch</reason></action>")
    assert code == 200 and api.status(f"/vms/{vm}") == "powering_down"
    api.advance(10)
    got = api.get(f"/vms/{vm}")
    assert got.findtext("status") == "down" and got.find("host") is None
    assert got.findtext("stop_reason") == "patch"
    events = api.events_since(last)
    assert (157, "VM v1 is rebooting. Rebooted by: admin@internal-authz") in events
    assert any(c == 73 and "(Reason: patch)" in d for c, d in events)
    assert any(c == 61 for c, _ in events)
    code, el = api.action(f"/vms/{vm}", "stop")
    assert code == 409 and fault_detail(el) == "[Cannot stop VM. VM is not running.]"
    api.action(f"/vms/{vm}", "start")
    api.advance(30)
    code, _ = api.action(f"/vms/{vm}", "stop")
    assert code == 200
    api.advance(1)
    assert api.status(f"/vms/{vm}") == "down"
    assert any(c == 33 for c, _ in api.events_since(last))


def test_shutdown_before_up_powers_off(api: Api) -> None:
    vm = api.bootable_vm("v1")
    api.action(f"/vms/{vm}", "start")
    last = api.last_event()
    code, _ = api.action(f"/vms/{vm}", "shutdown")
    assert code == 200
    api.advance(40)  # the pending boot steps must not bring it back up
    assert api.status(f"/vms/{vm}") == "down"
    assert any(c == 76 for c, _ in api.events_since(last))


def test_suspend_and_resume(api: Api) -> None:
    vm = api.running_vm("v1")
    code, el = api.action(f"/vms/{vm}", "suspend")
    assert code == 202 and el.findtext("status") == "pending"
    assert api.status(f"/vms/{vm}") == "saving_state"
    code, el = api.action(f"/vms/{vm}", "stop")
    assert code == 409 and "saving/restoring" in fault_detail(el)
    api.advance(8)
    got = api.get(f"/vms/{vm}")
    assert got.findtext("status") == "suspended" and got.find("host") is None
    code, el = api.action(f"/vms/{vm}", "suspend")
    assert code == 409 and fault_detail(el) == "[Cannot hibernate VM. VM is not up.]"
    code, el = api.delete(f"/vms/{vm}")
    assert code == 409 and "Please stop the VM first" in fault_detail(el)
    api.action(f"/vms/{vm}", "start")
    assert api.status(f"/vms/{vm}") == "restoring_state"
    api.advance(8)
    assert api.status(f"/vms/{vm}") == "up"


def test_migrate_to_named_host_and_by_scheduler(api: Api) -> None:
    vm = api.running_vm("v1")
    src = rid(api.get(f"/vms/{vm}"), "host")
    hosts = {api.find_id("hosts", "hv1"), api.find_id("hosts", "hv2")}
    (dst,) = hosts - {src}
    code, el = api.action(f"/vms/{vm}", "migrate", f'<action><host id="{src}"/></action>')
    assert code == 409 and fault_detail(el) == (
        "[Cannot migrate VM. source and destination is the same.]"
    )
    last = api.last_event()
    code, el = api.action(f"/vms/{vm}", "migrate", f'<action><host id="{dst}"/></action>')
    assert code == 200 and api.status(f"/vms/{vm}") == "migrating"
    code, el = api.action(f"/vms/{vm}", "migrate")
    assert code == 409 and "migration is in progress" in fault_detail(el)
    api.advance(10)
    got = api.get(f"/vms/{vm}")
    assert got.findtext("status") == "up" and rid(got, "host") == dst
    assert {c for c, _ in api.events_since(last)} >= {62, 63}
    code, _ = api.action(f"/vms/{vm}", "migrate")  # scheduler: back to the other host
    assert code == 200
    code, _ = api.action(f"/vms/{vm}", "cancelmigration")
    assert code == 200 and api.status(f"/vms/{vm}") == "up"
    api.advance(20)
    assert rid(api.get(f"/vms/{vm}"), "host") == dst  # cancelled: stayed
    code, el = api.action(f"/vms/{vm}", "cancelmigration")
    assert code == 409 and fault_detail(el) == "[Cannot cancel migration for non migrating VM.]"


def test_migrate_refusals(simulator_factory: Callable[..., SimHandle]) -> None:
    api = Api(simulator_factory(one_host_inventory()))
    vm = api.running_vm("v1")
    code, el = api.action(f"/vms/{vm}", "migrate")
    assert code == 409 and fault_detail(el) == (
        "[Cannot migrate VM. There is no host that satisfies current scheduling constraints. "
        "See below for details:, The host hv1 did not satisfy internal filter Migration because "
        "it currently hosts the VM.]"
    )
    pinned = api.running_vm(
        "v2", "<placement_policy><affinity>pinned</affinity></placement_policy>"
    )
    code, el = api.action(f"/vms/{pinned}", "migrate")
    assert code == 409 and fault_detail(el) == "[Cannot migrate VM. VM is pinned to Host.]"
    down = api.bootable_vm("v3")
    code, el = api.action(f"/vms/{down}", "migrate")
    assert code == 409 and fault_detail(el) == "[Cannot migrate VM. VM is not running.]"


def test_update_down_vm_applies_at_once(api: Api) -> None:
    vm = api.add_vm("v1")
    code, el = api.put(
        f"/vms/{vm}",
        "<vm><memory>4294967296</memory><cpu><topology><cores>4</cores></topology></cpu>"
        "<description>new</description></vm>",
    )
    assert code == 200 and el.findtext("memory") == str(4 * GIB)
    assert el.findtext("cpu/topology/cores") == "4" and el.findtext("description") == "new"
    assert el.findtext("next_run_configuration_exists") == "false"


def test_update_running_vm_next_run_and_hot_plug(api: Api) -> None:
    vm = api.running_vm("v1")
    code, el = api.put(
        f"/vms/{vm}",
        "<vm><memory>4294967296</memory><cpu><topology><cores>2</cores></topology></cpu></vm>",
        next_run="true",
    )
    assert code == 200
    now = api.get(f"/vms/{vm}")
    assert now.findtext("memory") == str(GIB) and now.findtext("cpu/topology/cores") == "1"
    assert now.findtext("next_run_configuration_exists") == "true"
    staged = api.get(f"/vms/{vm}", next_run="true")
    assert staged.findtext("memory") == str(4 * GIB)
    # Without next_run: memory grows at once in 256 MiB steps; sockets hot plug.
    code, el = api.put(f"/vms/{vm}", f"<vm><memory>{GIB + 100 * MIB}</memory></vm>")
    assert code == 400 and fault_detail(el) == (
        "[Cannot edit VM. Amount of added memory (100MiB) is not dividable by 256MiB.]"
    )
    code, el = api.put(
        f"/vms/{vm}",
        f"<vm><memory>{GIB + 512 * MIB}</memory>"
        "<cpu><topology><sockets>2</sockets></topology></cpu></vm>",
    )
    assert code == 200
    now = api.get(f"/vms/{vm}")
    assert now.findtext("memory") == str(GIB + 512 * MIB)
    assert now.findtext("cpu/topology/sockets") == "2"
    api.action(f"/vms/{vm}", "stop")
    api.advance(2)
    after = api.get(f"/vms/{vm}")  # the staged configuration became current when down
    assert after.findtext("cpu/topology/cores") == "2"
    assert after.findtext("next_run_configuration_exists") == "false"


def test_remove_vm_rules(api: Api) -> None:
    vm = api.running_vm("v1")
    disk = api.get(f"/vms/{vm}/diskattachments")[0].get("id")
    code, el = api.delete(f"/vms/{vm}")
    assert code == 409 and fault_detail(el) == "[Cannot remove VM. VM is running.]"
    api.action(f"/vms/{vm}", "stop")
    api.advance(2)
    code, el = api.delete(f"/vms/{vm}", detach_only="true")
    assert code == 200 and el.findtext("status") == "complete"
    assert api.request("GET", f"/vms/{vm}")[0] == 404
    assert api.get(f"/disks/{disk}").findtext("status") == "ok"  # kept as a floating disk
    vm2 = api.bootable_vm("v2")
    disk2 = api.get(f"/vms/{vm2}/diskattachments")[0].get("id")
    api.put(f"/vms/{vm2}", "<vm><delete_protected>true</delete_protected></vm>")
    code, el = api.delete(f"/vms/{vm2}")
    assert code == 409 and "Delete protection is enabled" in fault_detail(el)
    api.put(f"/vms/{vm2}", "<vm><delete_protected>false</delete_protected></vm>")
    assert api.delete(f"/vms/{vm2}")[0] == 200
    assert api.request("GET", f"/disks/{disk2}")[0] == 404


def test_nics_profiles_and_macs(api: Api) -> None:
    vm = api.add_vm("v1")
    n1 = api.add_nic(vm)
    n2 = api.add_nic(vm, "nic2")
    mac1, mac2 = n1.findtext("mac/address"), n2.findtext("mac/address")
    assert mac1 and mac2 and mac1 != mac2 and mac1.startswith("56:6f:")
    assert n1.findtext("plugged") == "true" and n1.findtext("linked") == "true"
    code, el = api.post(
        f"/vms/{vm}/nics",
        f'<nic><name>nic1</name><vnic_profile id="{api.profile_id("vmnet")}"/></nic>',
    )
    assert code == 409 and fault_detail(el) == "[Network interface name is already in use]"
    code, el = api.post(
        f"/vms/{vm}/nics",
        f'<nic><name>nic3</name><vnic_profile id="{api.profile_id("lonely")}"/></nic>',
    )
    assert code == 409 and "doesn't exist in the current Cluster" in fault_detail(el)
    code, el = api.post(
        f"/vms/{vm}/nics", f"<nic><name>nic3</name><mac><address>{mac1}</address></mac></nic>"
    )
    assert code == 409 and fault_detail(el) == (
        f"[MAC Address {mac1} is already in use by VM or snapshot: v1.]"
    )
    code, el = api.post(f"/vms/{vm}/nics", "<nic><name>nic3</name><interface>x</interface></nic>")
    assert code == 400 and el.findtext("detail") == "x is not a member of NicInterface"
    nid = n2.get("id")
    code, el = api.put(
        f"/vms/{vm}/nics/{nid}", "<nic><linked>false</linked><interface>e1000</interface></nic>"
    )
    assert code == 200 and el.findtext("linked") == "false" and el.findtext("interface") == "e1000"
    assert len(api.get(f"/vms/{vm}/nics")) == 2
    assert api.delete(f"/vms/{vm}/nics/{nid}")[0] == 200
    assert [n.findtext("name") for n in api.get(f"/vms/{vm}/nics")] == ["nic1"]


def test_macs_are_deterministic_per_seed(simulator_factory: Callable[..., SimHandle]) -> None:
    macs = []
    for _ in range(2):
        api = Api(simulator_factory(INVENTORY, seed=11))
        macs.append(api.add_nic(api.add_vm("v1")).findtext("mac/address"))
    assert macs[0] == macs[1]


def test_list_search_follow_and_cache_follows_changes(api: Api) -> None:
    up = api.running_vm("alpha")
    api.bootable_vm("beta")
    api.add_nic(up)
    names = [v.findtext("name") for v in api.get("/vms", search="status=up")]
    assert names == ["alpha"]
    assert [v.findtext("name") for v in api.get("/vms", search="name=b*")] == ["beta"]
    assert len(api.get("/vms", max=1)) == 1
    hv = api.get(f"/hosts/{rid(api.get(f'/vms/{up}'), 'host')}").findtext("name")
    assert [v.findtext("name") for v in api.get("/vms", search=f"host={hv}")] == ["alpha"]
    assert len(api.get("/vms", search="cluster=Default and datacenter=Default")) == 2
    code, _ = api.request("GET", "/vms", search="bogus=1")
    assert code == 400
    full = api.get(f"/vms/{up}", follow="disk_attachments.disk,nics")
    att = full.find("disk_attachments/disk_attachment")
    assert att is not None and att.findtext("disk/provisioned_size") == str(10 * GIB)
    assert full.findtext("nics/nic/name") == "nic1"
    listed = api.get("/vms", follow="nics", search="name=alpha")
    assert listed.findtext("vm/nics/nic/name") == "nic1"
    before = {v.findtext("name"): v.findtext("status") for v in api.get("/vms")}
    api.action(f"/vms/{up}", "stop")
    api.put(f"/vms/{up}", "<vm><description>multi\nline &lt;x&gt;</description></vm>")
    after = {v.findtext("name"): v for v in api.get("/vms")}
    assert before["alpha"] == "up" and after["alpha"].findtext("status") == "powering_down"
    assert after["alpha"].findtext("description") == "multi\nline <x>"
    assert api.get("/vms").tag == "vms" and len(api.get("/vms", search="name=none")) == 0


def test_vm_a_template_is_made_from_refuses_naming_the_template_creation(api: Api) -> None:
    """AddVmTemplateCommand.getSharedLocks: the VM's lock carries
    ACTION_TYPE_FAILED_TEMPLATE_IS_BEING_CREATED_FROM_VM."""
    vm = api.bootable_vm("v1")
    code, _ = api.post("/templates", f'<template><name>t1</name><vm id="{vm}"/></template>')
    assert code == 202 and api.status(f"/vms/{vm}") == "image_locked"
    for verb, word in (("start", "run"), ("stop", "stop"), ("migrate", "migrate")):
        code, el = api.action(f"/vms/{vm}", verb)
        assert code == 409 and fault_detail(el) == (
            f"[Cannot {word} VM. Template is being created from this VM.]"
        )
    code, el = api.put(f"/vms/{vm}", "<vm><description>x</description></vm>")
    assert code == 409 and "Template is being created from this VM." in fault_detail(el)
    code, el = api.delete(f"/vms/{vm}")
    assert code == 409 and "Template is being created from this VM." in fault_detail(el)


def test_host_failure_makes_vms_unknown_and_manual_fence_downs_them(api: Api) -> None:
    vm = api.running_vm("v1")
    host_id = rid(api.get(f"/vms/{vm}"), "host")
    host = api.get(f"/hosts/{host_id}").findtext("name")
    api.sim.control("POST", f"/sim/hosts/{host}/fail")
    api.advance(81)  # grace: 60 s, + 20 s if SPM, + 0.5 s per VM (calcTimeoutToFence)
    assert api.status(f"/hosts/{host_id}") == "non_responsive"
    assert api.status(f"/vms/{vm}") == "unknown"
    code, el = api.action(f"/vms/{vm}", "start")
    assert code == 409 and "Unknown status" in fault_detail(el)
    code, _ = api.action(
        f"/hosts/{host_id}", "fence", "<action><fence_type>manual</fence_type></action>"
    )
    assert code == 200
    assert api.status(f"/vms/{vm}") == "down"


def test_host_maintenance_migrates_vms_away(api: Api) -> None:
    vm = api.running_vm("v1")
    host_id = rid(api.get(f"/vms/{vm}"), "host")
    code, _ = api.action(f"/hosts/{host_id}", "deactivate")
    assert code == 200
    assert api.status(f"/vms/{vm}") == "migrating"
    api.advance(15)
    got = api.get(f"/vms/{vm}")
    assert got.findtext("status") == "up" and rid(got, "host") != host_id
    assert api.status(f"/hosts/{host_id}") == "maintenance"


def test_inventory_vms_with_disks_nics_and_running_state(
    simulator_factory: Callable[..., SimHandle],
) -> None:
    inv: dict[str, Any] = dict(INVENTORY)
    inv["vms"] = [
        {
            "name": "db1",
            "memory": "4GiB",
            "cpu": {"sockets": 2},
            "status": "up",
            "host": "hv2",
            "disks": [{"name": "db1_os", "size": "20GiB", "storage_domain": "data1"}],
            "nics": [{"name": "nic1", "profile": "vmnet"}],
        },
        {"name": "db2"},
    ]
    api = Api(simulator_factory(inv))
    db1 = api.get("/vms", search="name=db1")[0]
    assert db1.findtext("status") == "up" and db1.findtext("memory") == str(4 * GIB)
    assert rid(db1, "host") == api.find_id("hosts", "hv2")
    das = api.get(f"/vms/{db1.get('id')}/diskattachments")
    assert das[0].findtext("bootable") == "true"
    assert api.get(f"/disks/{das[0].get('id')}").findtext("name") == "db1_os"
    assert api.get(f"/vms/{db1.get('id')}/nics")[0].findtext("mac/address")
    assert api.get("/vms", search="name=db2")[0].findtext("status") == "down"

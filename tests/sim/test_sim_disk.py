"""rhevsim disks and disk attachments over raw HTTP on the manual clock."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rhevsim.testing import SimHandle
from tests.sim.test_sim_vm_support import GIB, INVENTORY, Api, fault_detail, rid


@pytest.fixture
def api(simulator_factory: Callable[..., SimHandle]) -> Api:
    return Api(simulator_factory(INVENTORY, seed=5))


def _used(api: Api, name: str) -> int:
    return int(api.get("/storagedomains", search=f"name={name}")[0].findtext("used") or 0)


def test_attachment_add_locks_the_disk_not_the_vm(api: Api) -> None:
    vm = api.add_vm("v1")
    last = api.last_event()
    used = _used(api, "data1")
    code, el = api.post(
        f"/vms/{vm}/diskattachments",
        "<disk_attachment><bootable>true</bootable><interface>virtio</interface>"
        "<active>true</active><disk><name>v1_os</name><provisioned_size>"
        f"{20 * GIB}</provisioned_size><format>raw</format><sparse>false</sparse>"
        "<storage_domains><storage_domain><name>data1</name></storage_domain>"
        "</storage_domains></disk></disk_attachment>",
    )
    assert code == 202 and el.findtext("creation_status") == "pending"
    disk_id = el.get("id")
    assert rid(el, "disk") == disk_id and rid(el, "vm") == vm
    assert el.findtext("interface") == "virtio" and el.findtext("bootable") == "true"
    disk = api.get(f"/disks/{disk_id}")
    assert disk.findtext("status") == "locked" and disk.findtext("format") == "raw"
    assert disk.findtext("sparse") == "false" and disk.findtext("alias") == "v1_os"
    assert api.status(f"/vms/{vm}") == "down"
    assert _used(api, "data1") == used + 20 * GIB  # preallocated: all of it
    code, el = api.put(f"/disks/{disk_id}", "<disk><name>x</name></disk>")
    assert code == 409 and "Disk is locked" in fault_detail(el)
    api.advance(4)
    assert api.status(f"/disks/{disk_id}") == "ok"
    events = api.events_since(last)
    assert (
        78,
        "Add-Disk operation of v1_os was initiated on VM v1 by admin@internal-authz.",
    ) in events
    assert (97, "The disk v1_os was successfully added to VM v1.") in events
    listed = api.get(f"/vms/{vm}/diskattachments")
    assert [a.get("id") for a in listed] == [disk_id]
    assert api.get(f"/vms/{vm}/diskattachments/{disk_id}").findtext("active") == "true"
    sd = api.find_id("storagedomains", "data1")
    assert disk_id in {d.get("id") for d in api.get(f"/storagedomains/{sd}/disks")}


def test_attachment_refusals(api: Api) -> None:
    vm = api.add_vm("v1")
    code, el = api.post(
        f"/vms/{vm}/diskattachments",
        "<disk_attachment><interface>virtio</interface><disk><provisioned_size>1073741824"
        "</provisioned_size><format>cow</format><storage_domains><storage_domain><name>data2"
        "</name></storage_domain></storage_domains></disk></disk_attachment>",
    )
    assert code == 409 and fault_detail(el) == (
        "[Cannot add Virtual Disk. The relevant Storage Domain's status is Maintenance.]"
    )
    code, el = api.post(
        f"/vms/{vm}/diskattachments",
        "<disk_attachment><interface>floppy</interface><disk/></disk_attachment>",
    )
    assert code == 400 and el.findtext("detail") == "floppy is not a member of DiskInterface"
    code, el = api.post(
        f"/vms/{vm}/diskattachments",
        "<disk_attachment><interface>virtio</interface><disk><format>cow</format>"
        "</disk></disk_attachment>",
    )
    assert code == 400 and el.findtext("reason") == "Incomplete parameters"
    code, el = api.post(
        f"/vms/{vm}/diskattachments",
        "<disk_attachment><interface>virtio</interface><disk><provisioned_size>1"
        "</provisioned_size><format>cow</format><storage_domains><storage_domain><name>nope"
        "</name></storage_domain></storage_domains></disk></disk_attachment>",
    )
    assert code == 404 and el.findtext("detail") == "Entity not found: StorageDomain: name=nope"
    api.add_disk(vm)
    code, el = api.post(
        f"/vms/{vm}/diskattachments",
        "<disk_attachment><bootable>true</bootable><interface>virtio</interface><disk>"
        "<name>second</name><provisioned_size>1073741824</provisioned_size><format>cow</format>"
        "<storage_domains><storage_domain><name>data1</name></storage_domain>"
        "</storage_domains></disk></disk_attachment>",
    )
    assert code == 409 and "is already marked as boot" in fault_detail(el)


def test_update_and_detach_then_reattach_and_delete(api: Api) -> None:
    vm = api.add_vm("v1")
    disk = api.add_disk(vm, "data")
    api.advance(5)
    code, el = api.put(
        f"/vms/{vm}/diskattachments/{disk}",
        "<disk_attachment><interface>ide</interface><bootable>false</bootable></disk_attachment>",
    )
    assert code == 200 and el.findtext("interface") == "ide" and el.findtext("bootable") == "false"
    code, _ = api.delete(f"/vms/{vm}/diskattachments/{disk}")  # detach_only is the default
    assert code == 200 and len(api.get(f"/vms/{vm}/diskattachments")) == 0
    assert api.get(f"/disks/{disk}").findtext("status") == "ok"
    code, el = api.post(
        f"/vms/{vm}/diskattachments",
        f'<disk_attachment><interface>virtio</interface><disk id="{disk}"/></disk_attachment>',
    )
    assert code == 201 and el.get("id") == disk
    vm2 = api.add_vm("v2")
    code, el = api.post(
        f"/vms/{vm2}/diskattachments",
        f'<disk_attachment><interface>virtio</interface><disk id="{disk}"/></disk_attachment>',
    )
    assert code == 409 and "not shareable" in fault_detail(el)
    code, _ = api.delete(f"/vms/{vm}/diskattachments/{disk}", detach_only="false")
    assert code == 200 and api.request("GET", f"/disks/{disk}")[0] == 404


def test_floating_disks_lifecycle(api: Api) -> None:
    used = _used(api, "data1")
    code, el = api.post(
        "/disks",
        f"<disk><name>float1</name><provisioned_size>{5 * GIB}</provisioned_size>"
        "<format>cow</format><storage_domains><storage_domain><name>data1</name>"
        "</storage_domain></storage_domains></disk>",
    )
    assert code == 202 and el.findtext("status") == "locked"
    disk = el.get("id")
    code, el = api.delete(f"/disks/{disk}")
    assert code == 409 and fault_detail(el) == (
        "[Cannot remove Virtual Disk: Disk is locked. Please try again later.]"
    )
    api.advance(4)
    assert api.status(f"/disks/{disk}") == "ok" and _used(api, "data1") > used
    assert [d.findtext("name") for d in api.get("/disks", search="name=float1")] == ["float1"]
    code, el = api.put(f"/disks/{disk}", f"<disk><provisioned_size>{GIB}</provisioned_size></disk>")
    assert code == 400 and "must be larger" in fault_detail(el)
    code, el = api.put(
        f"/disks/{disk}", f"<disk><provisioned_size>{8 * GIB}</provisioned_size></disk>"
    )
    assert code == 200 and el.findtext("provisioned_size") == str(8 * GIB)
    code, el = api.delete(f"/disks/{disk}")
    assert code == 200 and api.status(f"/disks/{disk}") == "locked"
    api.advance(2)
    assert api.request("GET", f"/disks/{disk}")[0] == 404
    assert _used(api, "data1") == used
    code, el = api.post("/disks", "<disk><name>x</name><format>cow</format></disk>")
    assert code == 400 and el.findtext("reason") == "Incomplete parameters"


def test_disk_on_running_vm(api: Api) -> None:
    vm = api.running_vm("v1")
    disk = api.get(f"/vms/{vm}/diskattachments")[0].get("id")
    code, el = api.delete(f"/vms/{vm}/diskattachments/{disk}")
    assert code == 409 and "deactivate it first" in fault_detail(el)
    code, el = api.delete(f"/disks/{disk}")
    assert code == 409 and fault_detail(el) == "[Cannot remove Virtual Disk. VM is running.]"
    code, _ = api.put(
        f"/vms/{vm}/diskattachments/{disk}",
        "<disk_attachment><active>false</active></disk_attachment>",
    )
    assert code == 200
    assert api.delete(f"/vms/{vm}/diskattachments/{disk}")[0] == 200


def test_disk_search_knows_vm_names_and_the_storage_cross_reference_whatever_the_data(
    api: Api,
) -> None:
    """searchbackend DiskConditionFieldAutoCompleter lists VM_NAMES among the disk's fields
    and DiskCrossRefAutoCompleter the Storage (and Datacenter) cross-references; the
    SyntaxChecker refuses an unknown key before any data is read. ovirt_disk (Ansible)
    searches `name="x" and Storage.name="sd" and vm_names="vm"`."""
    query = 'name="a_disk" and Storage.name="data1" and vm_names="v1"'
    code, el = api.request("GET", "/disks", search=query)
    assert code == 200 and el is not None and len(el) == 0
    code, el = api.request("GET", "/disks", search="nosuchkey=1")
    assert code == 400 and "is invalid" in fault_detail(el)
    v1 = api.add_vm("v1")
    v2 = api.add_vm("v2")
    first = api.add_disk(v1, "a_disk")
    api.add_disk(v2, "a_disk")
    api.advance(60)
    hits = api.get("/disks", search=query)
    assert [d.get("id") for d in hits] == [first]
    assert len(api.get("/disks", search='name="a_disk" and Storage.name="other"')) == 0
    code, _ = api.request("GET", "/disks", search="nosuchkey=1")
    assert code == 400

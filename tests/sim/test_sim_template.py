"""rhevsim templates over raw HTTP on the manual clock: Blank, template from a VM (locks and
copies), VMs from a template (thin and clone), update and removal rules."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rhevsim.testing import SimHandle
from tests.sim.test_sim_vm_support import INVENTORY, Api, fault_detail, rid

BLANK = "00000000-0000-0000-0000-000000000000"


@pytest.fixture
def api(simulator_factory: Callable[..., SimHandle]) -> Api:
    return Api(simulator_factory(INVENTORY, seed=7))


def test_blank_template_is_always_there_and_cannot_be_removed(api: Api) -> None:
    blank = api.get(f"/templates/{BLANK}")
    assert blank.findtext("name") == "Blank" and blank.findtext("status") == "ok"
    assert blank.find("cluster") is None
    assert [t.get("id") for t in api.get("/templates", search="name=Blank")] == [BLANK]
    code, el = api.delete(f"/templates/{BLANK}")
    assert code == 409 and fault_detail(el) == (
        "[Cannot remove Template. Removing Blank Template is not allowed.]"
    )


def test_template_from_running_vm_is_refused(api: Api) -> None:
    vm = api.running_vm("v1")
    code, el = api.post("/templates", f'<template><name>t1</name><vm id="{vm}"/></template>')
    assert code == 409 and fault_detail(el) == (
        "[Cannot add Template. VM is locked or still running, try again once VM is in the Down "
        "state.]"
    )
    code, el = api.post("/templates", "<template><name>t1</name></template>")
    assert code == 400 and el.findtext("reason") == "Incomplete parameters"


def test_template_from_vm_locks_both_until_the_copies_end(api: Api) -> None:
    vm = api.bootable_vm("golden")
    api.add_nic(vm)
    last = api.last_event()
    code, el = api.post(
        "/templates",
        f'<template><name>t1</name><description>base</description><vm id="{vm}"/></template>',
    )
    assert code == 202 and el.findtext("status") == "locked"
    assert el.findtext("creation_status") == "pending"
    tid = el.get("id")
    assert api.status(f"/vms/{vm}") == "image_locked"
    code, el = api.put(f"/templates/{tid}", "<template><description>x</description></template>")
    # AddVmTemplateCommand.getExclusiveLocks: ACTION_TYPE_FAILED_TEMPLATE_IS_BEING_CREATED.
    assert (
        code == 409
        and fault_detail(el) == "[Cannot update Template. Template t1 is being created.]"
    )
    tdisks = api.get(f"/templates/{tid}/diskattachments")
    assert len(tdisks) == 1
    assert api.get(f"/disks/{tdisks[0].get('id')}").findtext("status") == "locked"
    api.advance(10)
    t = api.get(f"/templates/{tid}")
    assert t.findtext("status") == "ok" and t.findtext("description") == "base"
    assert rid(t, "cluster") == api.find_id("clusters", "Default")
    assert api.status(f"/vms/{vm}") == "down"
    assert [n.findtext("name") for n in api.get(f"/templates/{tid}/nics")] == ["nic1"]
    assert api.get(f"/templates/{tid}/nics")[0].find("mac") is None
    codes = [c for c, _ in api.events_since(last)]
    assert codes.count(48) == 1 and codes.count(51) == 1
    code, el = api.post("/templates", f'<template><name>t1</name><vm id="{vm}"/></template>')
    assert code == 409 and "The Template name is already in use" in fault_detail(el)


def test_template_without_disks_is_ok_at_once(api: Api) -> None:
    vm = api.add_vm("diskless")
    code, el = api.post("/templates", f'<template><name>t0</name><vm id="{vm}"/></template>')
    assert code == 201 and el.findtext("status") == "ok"
    assert api.status(f"/vms/{vm}") == "down"


def _template(api: Api, name: str = "t1") -> str:
    vm = api.bootable_vm(f"{name}-src")
    api.add_nic(vm)
    code, el = api.post(
        "/templates",
        f'<template><name>{name}</name><memory>2147483648</memory><vm id="{vm}"/></template>',
    )
    assert code == 202
    api.advance(10)
    return el.get("id") or ""


def test_vm_from_template_thin_and_clone(api: Api) -> None:
    tid = _template(api)
    last = api.last_event()
    code, el = api.post(
        "/vms",
        "<vm><name>thin1</name><cluster><name>Default</name></cluster>"
        "<template><name>t1</name></template></vm>",
    )
    assert code == 202 and el.findtext("status") == "image_locked"
    thin = el.get("id")
    assert el.findtext("memory") == "2147483648" and rid(el, "template") == tid
    code, el = api.action(f"/vms/{thin}", "start")
    assert code == 409 and "Related operation is currently in progress" in fault_detail(el)
    api.advance(5)
    assert api.status(f"/vms/{thin}") == "down"
    das = api.get(f"/vms/{thin}/diskattachments")
    assert len(das) == 1 and das[0].findtext("bootable") == "true"
    nics = api.get(f"/vms/{thin}/nics")
    assert nics[0].findtext("mac/address")
    events = api.events_since(last)
    assert (37, "VM thin1 creation was initiated by admin@internal-authz.") in events
    assert (53, "VM thin1 creation has been completed.") in events
    code, el = api.post(
        "/vms",
        "<vm><name>clone1</name><cluster><name>Default</name></cluster>"
        f'<template id="{tid}"/></vm>',
        clone="true",
    )
    assert code == 202
    clone = el.get("id")
    assert rid(el, "template") == BLANK
    assert rid(el, "original_template") == tid
    api.advance(10)
    assert api.status(f"/vms/{clone}") == "down"
    code, el = api.delete(f"/templates/{tid}")
    assert code == 409 and fault_detail(el) == (
        "[Cannot delete Template. Template is being used by the following VMs: thin1.]"
    )
    assert api.delete(f"/vms/{thin}")[0] == 200
    code, _ = api.delete(f"/templates/{tid}")
    assert code == 200 and api.status(f"/templates/{tid}") == "locked"
    api.advance(3)
    assert api.request("GET", f"/templates/{tid}")[0] == 404
    assert api.status(f"/vms/{clone}") == "down"  # a clone keeps its own disks


def test_template_update_and_search(api: Api) -> None:
    tid = _template(api, "web")
    code, el = api.put(
        f"/templates/{tid}",
        "<template><description>v2</description><memory>4294967296</memory></template>",
    )
    assert code == 200 and el.findtext("description") == "v2"
    assert el.findtext("memory") == "4294967296"
    assert [t.findtext("name") for t in api.get("/templates", search="name=w*")] == ["web"]
    assert len(api.get("/templates", search="cluster=Default")) == 1
    code, el = api.put(f"/templates/{BLANK}", "<template><name>Other</name></template>")
    assert code == 400


def test_inventory_templates_and_vms_based_on_them(
    simulator_factory: Callable[..., SimHandle],
) -> None:
    inv = dict(INVENTORY)
    inv["templates"] = [
        {
            "name": "rhel8",
            "cluster": "Default",
            "memory": "2GiB",
            "os": "rhel_8x64",
            "disks": [{"name": "rhel8_os", "size": "20GiB", "storage_domain": "data1"}],
            "nics": [{"name": "nic1", "profile": "vmnet"}],
        }
    ]
    inv["vms"] = [{"name": "app1", "template": "rhel8"}]
    api = Api(simulator_factory(inv))
    t = api.get("/templates", search="name=rhel8")[0]
    assert t.findtext("os/type") == "rhel_8x64" and t.findtext("status") == "ok"
    assert len(api.get(f"/templates/{t.get('id')}/diskattachments")) == 1
    app = api.get("/vms", search="name=app1")[0]
    assert rid(app, "template") == t.get("id")
    assert app.findtext("memory") == str(2 * 1024**3)
    code, el = api.delete(f"/templates/{t.get('id')}")
    assert code == 409 and "app1" in fault_detail(el)

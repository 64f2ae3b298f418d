"""VmTemplate reconciler against the simulator (manual clock), without kopf.

The simulator's data center `Default` has an up host, an active NFS data domain `data1`,
a VM `golden` that is down with a 10 GiB disk on data1 (copying it takes `disk.copy`,
10 simulated seconds), and a VM `busy` that is up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from rhev_operator.rhevm import (
    BLANK_TEMPLATE_ID,
    ClusterCreate,
    TemplateCreate,
    TemplateUpdate,
    VmCreate,
)
from rhevsim.testing import SimHandle
from tests.fixtures.reconcile import Harness

KIND = "VmTemplate"

INVENTORY: dict[str, Any] = {
    "hosts": [{"name": "hv01", "address": "10.0.0.11", "cluster": "Default", "status": "up"}],
    "storage_domains": [
        {
            "name": "data1",
            "type": "data",
            "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/exports/data1"},
            "data_center": "Default",
            "status": "active",
        }
    ],
    "vms": [
        {
            "name": "golden",
            "cluster": "Default",
            "status": "down",
            "disks": [{"name": "golden_disk1", "size": "10GiB", "storage_domain": "data1"}],
        },
        {
            "name": "busy",
            "cluster": "Default",
            "status": "up",
            "host": "hv01",
            "disks": [{"name": "busy_disk1", "size": "1GiB", "storage_domain": "data1"}],
        },
    ],
}


@pytest.fixture
def sim(simulator_factory: Callable[..., SimHandle]) -> SimHandle:
    return simulator_factory(INVENTORY)


@pytest.fixture
def h(sim: SimHandle, reconciler_harness: Any) -> Harness:
    harness: Harness = reconciler_harness(sim)
    return harness


def reason(h: Harness, name: str) -> str | None:
    """The reason of Stalled when it holds, else of Ready (Ready, or why it is not)."""
    stalled = h.condition(KIND, name, "Stalled")
    if stalled is not None and stalled["status"] == "True":
        return str(stalled["reason"])
    ready = h.condition(KIND, name)
    return None if ready is None else str(ready["reason"])


def condition(h: Harness, name: str, type: str) -> dict[str, Any]:
    found = h.condition(KIND, name, type)
    assert found is not None, f"no {type} condition"
    return found


def message(h: Harness, name: str, type: str) -> str:
    return str(condition(h, name, type)["message"])


def is_ready(h: Harness, name: str) -> bool:
    ready = h.condition(KIND, name)
    generation = h.bodies[(KIND, name)]["metadata"]["generation"]
    return (
        ready is not None
        and ready["status"] == "True"
        and ready.get("observedGeneration") == generation
    )


def converge(h: Harness, sim: SimHandle, name: str, steps: int = 40) -> None:
    for _ in range(steps):
        h.run(KIND, name)
        if is_ready(h, name):
            return
        sim.advance(1)
    raise AssertionError(f"did not converge: {reason(h, name)}: {h.status(KIND, name)}")


def delete(h: Harness, sim: SimHandle, name: str, steps: int = 20) -> None:
    for _ in range(steps):
        if h.run(KIND, name, delete=True).finished:
            return
        sim.advance(1)
    raise AssertionError(f"not deleted: {reason(h, name)}: {h.status(KIND, name)}")


def events(h: Harness) -> list[str]:
    return [e.reason for o in h.outcomes for e in o.events]


def writes(sim: SimHandle) -> dict[str, int]:
    stats = sim.control("GET", "/sim/stats")["requests"]
    return {
        k: v
        for k, v in stats.items()
        if k.split()[0] in ("POST", "PUT", "DELETE") and "/sso/" not in k
    }


def gets(sim: SimHandle) -> dict[str, int]:
    stats = sim.control("GET", "/sim/stats")["requests"]
    return {k: v for k, v in stats.items() if k.startswith("GET ") and "/sim/" not in k}


def vm_state(sim: SimHandle, name: str) -> str:
    return str(sim.find("vm", name).status)


def template(sim: SimHandle, name: str) -> Any:
    return sim.find("template", name)


def push_deadline_back(h: Harness, name: str) -> None:
    """As if the operation's deadline had passed (the operator's clock is the wall clock)."""
    op = h.bodies[(KIND, name)]["status"]["operation"]
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
    op["deadline"] = past.isoformat().replace("+00:00", "Z")


def seconds(op: dict[str, str]) -> float:
    def parse(text: str) -> dt.datetime:
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))

    return (parse(op["deadline"]) - parse(op["started"])).total_seconds()


# -- create ------------------------------------------------------------------------------


def test_created_locked_then_ok_with_the_source_vm_image_locked_meanwhile(
    sim: SimHandle, h: Harness
) -> None:
    h.apply(KIND, "tpl", {"sourceVm": "golden", "description": "base image"})
    h.run(KIND, "tpl")
    status = h.status(KIND, "tpl")
    assert reason(h, "tpl") == "CreatingTemplate" and status["state"] == "locked"
    op = status["operation"]
    assert op["action"] == "CreateTemplate" and op["correlationId"].startswith("rhevop-")
    assert seconds(op) == 3600  # timeouts.creationSeconds
    assert template(sim, "tpl").status == "locked" and vm_state(sim, "golden") == "image_locked"
    # The engine tagged its job with the correlation id the record holds.
    (job,) = h.client.jobs.find_by_correlation_id(op["correlationId"])
    assert job.status == "started" and "Creating VM Template tpl" in (job.description or "")

    sim.advance(5)
    h.run(KIND, "tpl")
    assert reason(h, "tpl") == "CreatingTemplate" and h.status(KIND, "tpl")["state"] == "locked"
    assert "source VM golden is image_locked" in message(h, "tpl", "Reconciling")
    assert not is_ready(h, "tpl")

    sim.advance(5)
    h.run(KIND, "tpl")
    status = h.status(KIND, "tpl")
    assert is_ready(h, "tpl") and status["state"] == "ok" and status.get("operation") is None
    t = template(sim, "tpl")
    assert status["id"] == t.id and t.status == "ok" and t.description == "base image"
    assert "rhev-operator uid=" in t.comment
    assert t.cluster_id == sim.find("cluster", "Default").id
    assert vm_state(sim, "golden") == "down"
    assert events(h) == ["Created", "TemplateReady"]

    # Level-based and idempotent: another pass sends nothing and posts no Event.
    before = writes(sim)
    outcome = h.run(KIND, "tpl")
    assert outcome.events == [] and writes(sim) == before and is_ready(h, "tpl")


def test_steady_state_reads_only_the_inventory(sim: SimHandle, h: Harness) -> None:
    from rhev_operator.api import VmTemplate
    from rhev_operator.reconcilers import vmtemplate

    h.apply(KIND, "tpl", {"sourceVm": "golden", "cluster": "Default"})
    converge(h, sim, "tpl")
    before = gets(sim)
    h.inventory.refresh()
    ticked = gets(sim)
    body = h.bodies[(KIND, "tpl")]
    outcome = vmtemplate.reconcile(h.context(body), VmTemplate.parse(body))
    assert outcome.events == [] and outcome.requeue_after is None
    assert gets(sim) == ticked  # the pass itself sent nothing
    delta = {k: ticked[k] - before.get(k, 0) for k in ticked if ticked[k] != before.get(k, 0)}
    assert delta["GET /templates"] == 1
    assert "GET /templates/{id}" not in delta


def test_a_running_source_vm_is_waited_for_and_never_powered_off(
    sim: SimHandle, h: Harness
) -> None:
    h.apply(KIND, "tpl", {"sourceVm": "busy", "timeouts": {"operationSeconds": 60}})
    before = writes(sim)
    h.run(KIND, "tpl")
    assert reason(h, "tpl") == "WaitingForSourceVm"
    said = message(h, "tpl", "Reconciling")
    assert "source VM busy is up" in said and "does not power it off" in said
    assert h.status(KIND, "tpl")["operation"]["action"] == "WaitForSourceVm"
    sim.advance(30)
    h.run(KIND, "tpl")
    push_deadline_back(h, "tpl")
    outcome = h.run(KIND, "tpl")
    assert reason(h, "tpl") == "WaitingForSourceVm"
    assert condition(h, "tpl", "Stalled")["status"] == "True"
    assert [e.type for e in outcome.events] == ["Warning"]
    assert writes(sim) == before and vm_state(sim, "busy") == "up"
    assert template(sim, "tpl") is None

    # A human shuts it down: the template is made.
    vm_id = sim.find("vm", "busy").id
    h.client.vms.stop(vm_id)
    sim.advance(2)
    assert vm_state(sim, "busy") == "down"
    converge(h, sim, "tpl")
    assert h.status(KIND, "tpl")["state"] == "ok"
    assert events(h) == ["WaitingForSourceVm", "Created", "TemplateReady"]


def test_a_source_vm_started_since_the_last_listing_is_waited_for(
    sim: SimHandle, h: Harness
) -> None:
    from rhev_operator.api import VmTemplate
    from rhev_operator.reconcilers import vmtemplate

    body = h.apply(KIND, "tpl", {"sourceVm": "golden"})
    h.inventory.refresh()
    vms = vmtemplate.vm_finder(h.client)
    h.inventory.collection(vms.key, vms.lister)  # listed: golden is down
    h.client.vms.start(sim.find("vm", "golden").id)
    outcome = vmtemplate.reconcile(h.context(body), VmTemplate.parse(body))
    conditions = {c["type"]: c for c in outcome.status["conditions"]}
    assert conditions["Reconciling"]["reason"] == "WaitingForSourceVm"
    assert "source VM golden is wait_for_launch" in outcome.status["message"]
    assert outcome.status.get("operation", {})["action"] == "WaitForSourceVm"
    assert template(sim, "tpl") is None


def test_source_disks_still_locked_are_waited_for(sim: SimHandle, h: Harness) -> None:
    """The engine refuses a template while a disk of the source VM is locked
    (AddVmTemplateCommand: DiskImagesValidator.diskImagesNotLocked; the source images are
    also locked by CreateImageTemplateCommand while another template copies them): wait,
    sending nothing, and make it once the disk is ok."""
    from rhev_operator.rhevm import DiskAttachmentCreate, DiskCreate

    vm_id = sim.find("vm", "golden").id
    h.client.vms.disk_attachments(vm_id).add(
        DiskAttachmentCreate(
            interface="virtio_scsi",
            disk=DiskCreate(
                name="golden_disk2",
                provisioned_size=1024**3,
                format="cow",
                storage_domain_id=sim.find("storagedomain", "data1").id,
            ),
        )
    )
    assert sim.find("disk", "golden_disk2").status == "locked"
    h.apply(KIND, "tpl", {"sourceVm": "golden"})
    before = writes(sim)
    h.run(KIND, "tpl")
    assert reason(h, "tpl") == "WaitingForSourceDisks"
    assert "golden_disk2" in message(h, "tpl", "Reconciling")
    assert writes(sim) == before and template(sim, "tpl") is None
    sim.advance(30)
    converge(h, sim, "tpl")
    assert h.status(KIND, "tpl")["state"] == "ok"


def test_a_source_vm_resource_that_is_not_ready_is_waited_for(sim: SimHandle, h: Harness) -> None:
    h.apply("VirtualMachine", "golden", {"cluster": "Default"})  # no status: not Ready
    h.apply(KIND, "tpl", {"sourceVm": "golden"})
    before = writes(sim)
    h.run(KIND, "tpl")
    assert reason(h, "tpl") == "WaitingForDependency"
    assert "VirtualMachine golden" in message(h, "tpl", "Reconciling")
    assert writes(sim) == before


def test_creation_past_its_deadline_is_stalled_with_the_engines_job(
    sim: SimHandle, h: Harness
) -> None:
    h.apply(KIND, "tpl", {"sourceVm": "golden", "timeouts": {"creationSeconds": 30}})
    h.run(KIND, "tpl")
    assert seconds(h.status(KIND, "tpl")["operation"]) == 30
    push_deadline_back(h, "tpl")
    outcome = h.run(KIND, "tpl")
    stalled = h.condition(KIND, "tpl", "Stalled")
    assert stalled is not None and stalled["status"] == "True" and stalled["reason"] == "Timeout"
    said = stalled["message"]
    assert "CreateTemplate did not finish" in said
    assert "RHEV-M said: job started: Creating VM Template tpl from VM golden" in said
    assert "source VM golden is image_locked" in said
    assert [e.reason for e in outcome.events] == ["Timeout"]
    assert h.run(KIND, "tpl").events == []  # said once

    # The engine finishes later: observed, and Ready.
    sim.advance(10)
    h.run(KIND, "tpl")
    assert is_ready(h, "tpl") and h.status(KIND, "tpl").get("operation") is None


def test_a_failed_creation_is_stalled_with_the_engines_message_and_retried_when_touched(
    sim: SimHandle, h: Harness
) -> None:
    h.apply(KIND, "tpl", {"sourceVm": "golden"})
    h.run(KIND, "tpl")
    tid = h.status(KIND, "tpl")["id"]
    dc = sim.find("datacenter", "Default")
    sd = sim.find("storagedomain", "data1")
    # The domain the copies write to becomes inaccessible under them (a storage failure: the
    # engine refuses to deactivate it while the image_locked VM uses it,
    # GetActiveVmsByStorageDomainId counts every status but Down and Suspended): the engine
    # fails the creation.
    with sim.lock:
        sd.dc_status = "inactive"
    sim.advance(10)
    assert template(sim, "tpl") is None and vm_state(sim, "golden") == "down"

    outcome = h.run(KIND, "tpl")
    stalled = h.condition(KIND, "tpl", "Stalled")
    assert stalled is not None and stalled["reason"] == "CreationFailed"
    assert (
        "Failed to complete creation of Template tpl from VM golden. (event 52)"
        in stalled["message"]
    )
    assert "touch the spec" in stalled["message"]
    assert [e.reason for e in outcome.events] == ["CreationFailed"]

    # Stays stalled without asking RHEV-M about the gone template again, nor recreating it.
    before, sent = gets(sim), writes(sim)
    assert h.run(KIND, "tpl").events == [] and reason(h, "tpl") == "CreationFailed"
    assert gets(sim).get("GET /templates/{id}") == before.get("GET /templates/{id}")
    assert writes(sim) == sent

    # The storage is back and the spec touched: made again.
    h.client.storagedomains.attached(dc.id).activate(sd.id)
    sim.advance(30)
    h.apply(KIND, "tpl", {"sourceVm": "golden", "description": "second try"})
    converge(h, sim, "tpl")
    assert h.status(KIND, "tpl")["id"] != tid
    assert template(sim, "tpl").description == "second try"


# -- update ------------------------------------------------------------------------------


def test_description_drift_is_corrected_only_when_the_spec_sets_it(
    sim: SimHandle, h: Harness
) -> None:
    h.apply(KIND, "tpl", {"sourceVm": "golden", "description": "base"})
    converge(h, sim, "tpl")
    tid = h.status(KIND, "tpl")["id"]
    h.client.templates.update(tid, TemplateUpdate(description="changed by hand"))
    outcome = h.run(KIND, "tpl")
    assert [(e.reason, e.message) for e in outcome.events] == [
        ("Updated", "Updated template tpl: description")
    ]
    assert template(sim, "tpl").description == "base" and is_ready(h, "tpl")

    h.apply(KIND, "tpl", {"sourceVm": "golden"})  # no longer set: left alone
    h.client.templates.update(tid, TemplateUpdate(description="by hand again"))
    before = writes(sim)
    assert h.run(KIND, "tpl").events == [] and writes(sim) == before
    assert template(sim, "tpl").description == "by hand again"

    h.apply(KIND, "tpl", {"sourceVm": "golden", "description": "spec again"})
    h.run(KIND, "tpl")
    assert template(sim, "tpl").description == "spec again" and is_ready(h, "tpl")


def test_a_cluster_move_is_refused_before_anything_is_sent(sim: SimHandle, h: Harness) -> None:
    h.apply(KIND, "tpl", {"sourceVm": "golden"})
    converge(h, sim, "tpl")
    h.client.clusters.add(
        ClusterCreate(name="other", data_center_name="Default", cpu_type="Intel Nehalem Family")
    )
    h.apply(KIND, "tpl", {"sourceVm": "golden", "cluster": "other"})
    before = writes(sim)
    h.run(KIND, "tpl")
    assert reason(h, "tpl") == "ClusterChangeRefused"
    assert "Set spec.cluster back to Default" in message(h, "tpl", "Stalled")
    assert writes(sim) == before


# -- adopt -------------------------------------------------------------------------------


def made_by_hand(h: Harness, sim: SimHandle, name: str) -> str:
    vm_id = sim.find("vm", "golden").id
    t = h.client.templates.add(TemplateCreate(name=name, vm_id=vm_id, description="by hand"))
    sim.advance(10)
    return t.id


def test_an_existing_template_is_already_exists_unless_adopted(sim: SimHandle, h: Harness) -> None:
    tid = made_by_hand(h, sim, "tpl")
    h.apply(KIND, "tpl", {"sourceVm": "golden"})
    before = writes(sim)
    outcome = h.run(KIND, "tpl")
    assert reason(h, "tpl") == "AlreadyExists" and writes(sim) == before
    assert "spec.adopt: true" in message(h, "tpl", "Stalled")
    assert [e.type for e in outcome.events] == ["Warning"]

    h.apply(KIND, "tpl", {"sourceVm": "golden", "adopt": True})
    outcome = h.run(KIND, "tpl")
    assert is_ready(h, "tpl") and h.status(KIND, "tpl")["id"] == tid
    assert [e.reason for e in outcome.events] == ["Adopted"]
    assert template(sim, "tpl").description == "by hand"  # not set in the spec: kept

    # Adopted: the default deletion policy is Retain.
    delete(h, sim, "tpl")
    assert template(sim, "tpl") is not None and events(h)[-1] == "Retained"


def test_blank_can_be_adopted_but_is_never_deleted(sim: SimHandle, h: Harness) -> None:
    h.apply(
        KIND,
        "blank",
        {"name": "Blank", "sourceVm": "golden", "adopt": True, "deletionPolicy": "Delete"},
    )
    h.run(KIND, "blank")
    assert is_ready(h, "blank") and h.status(KIND, "blank")["id"] == BLANK_TEMPLATE_ID
    assert h.status(KIND, "blank")["state"] == "ok"
    before = writes(sim)
    delete(h, sim, "blank")
    assert writes(sim) == before and template(sim, "Blank") is not None
    assert events(h)[-1] == "Retained"


# -- delete ------------------------------------------------------------------------------


def test_delete_removes_the_template_and_waits_until_it_is_gone(sim: SimHandle, h: Harness) -> None:
    h.apply(KIND, "tpl", {"sourceVm": "golden"})
    converge(h, sim, "tpl")
    outcome = h.run(KIND, "tpl", delete=True)
    assert not outcome.finished and reason(h, "tpl") == "RemovingTemplate"
    assert template(sim, "tpl").status == "locked"
    assert h.status(KIND, "tpl")["operation"]["action"] == "RemoveTemplate"
    delete(h, sim, "tpl")
    assert template(sim, "tpl") is None
    assert events(h)[-2:] == ["Deleting", "Deleted"]
    assert writes(sim).get("DELETE /templates/{id}") == 1


def test_delete_with_retain_leaves_it(sim: SimHandle, h: Harness) -> None:
    h.apply(KIND, "tpl", {"sourceVm": "golden", "deletionPolicy": "Retain"})
    converge(h, sim, "tpl")
    delete(h, sim, "tpl")
    assert template(sim, "tpl") is not None and events(h)[-1] == "Retained"


def test_delete_while_creating_waits_for_the_creation_first(sim: SimHandle, h: Harness) -> None:
    h.apply(KIND, "tpl", {"sourceVm": "golden"})
    h.run(KIND, "tpl")
    outcome = h.run(KIND, "tpl", delete=True)
    assert not outcome.finished and reason(h, "tpl") == "TemplateLocked"
    assert "DELETE /templates/{id}" not in writes(sim)
    delete(h, sim, "tpl")
    assert template(sim, "tpl") is None


def test_delete_refused_while_a_vm_uses_it_waits_then_stalls_with_the_engines_words(
    sim: SimHandle, h: Harness
) -> None:
    h.apply(KIND, "tpl", {"sourceVm": "golden", "timeouts": {"operationSeconds": 60}})
    converge(h, sim, "tpl")
    vm = h.client.vms.add(
        VmCreate(name="user1", cluster_name="Default", template_id=h.status(KIND, "tpl")["id"])
    )
    sim.advance(10)
    engine = "Cannot delete Template. Template is being used by the following VMs: user1."
    outcome = h.run(KIND, "tpl", delete=True)
    assert not outcome.finished and reason(h, "tpl") == "TemplateInUse"
    assert engine in message(h, "tpl", "Reconciling")
    push_deadline_back(h, "tpl")
    outcome = h.run(KIND, "tpl", delete=True)
    stalled = h.condition(KIND, "tpl", "Stalled")
    assert stalled is not None and stalled["reason"] == "TemplateInUse"
    assert engine in stalled["message"] and not outcome.finished
    assert template(sim, "tpl").status == "ok"

    # The VM goes: the removal goes on.
    h.client.vms.remove(vm.id)
    sim.advance(5)
    delete(h, sim, "tpl")
    assert template(sim, "tpl") is None


# -- restart -----------------------------------------------------------------------------


def test_a_restarted_operator_resumes_the_creation_in_flight(
    sim: SimHandle, h: Harness, reconciler_harness: Any
) -> None:
    h.apply(KIND, "tpl", {"sourceVm": "golden"})
    h.run(KIND, "tpl")
    op = h.status(KIND, "tpl")["operation"]

    # A new operator process: a new client, an empty inventory, the same resources.
    h2: Harness = reconciler_harness(sim)
    h2.bodies = h.bodies
    before = writes(sim)
    outcome = h2.run(KIND, "tpl")
    assert writes(sim) == before and outcome.events == []
    assert h2.status(KIND, "tpl")["operation"] == op and reason(h2, "tpl") == "CreatingTemplate"
    converge(h2, sim, "tpl")
    assert events(h2) == ["TemplateReady"] and writes(sim) == before
    assert [t.name for t in h2.client.templates.list()].count("tpl") == 1


def test_a_lost_status_patch_is_recovered_by_the_owner_marker(sim: SimHandle, h: Harness) -> None:
    body = h.apply(KIND, "tpl", {"sourceVm": "golden"})
    h.run(KIND, "tpl")
    tid = h.status(KIND, "tpl")["id"]
    body["status"] = {}  # as after a crash before the status patch landed
    h.run(KIND, "tpl")
    assert reason(h, "tpl") == "TemplateLocked"
    assert h.status(KIND, "tpl")["operation"]["action"] == "AwaitTemplate"
    converge(h, sim, "tpl")
    assert h.status(KIND, "tpl")["id"] == tid and h.status(KIND, "tpl").get("operation") is None
    assert writes(sim).get("POST /templates") == 1


# -- with the VirtualMachine kind ----------------------------------------------------------


def test_a_virtualmachine_source_stopped_by_its_spec_then_a_vm_made_from_the_template(
    sim: SimHandle, h: Harness
) -> None:
    """The source is a VirtualMachine resource (adopting the running VM `busy`): the
    template waits until its spec stops it; a VM made from the template waits for ok."""
    vm_spec: dict[str, Any] = {"cluster": "Default", "adopt": True, "powerState": "Running"}
    h.apply("VirtualMachine", "busy", vm_spec)
    for _ in range(5):
        h.run("VirtualMachine", "busy")
    h.apply(KIND, "tpl", {"sourceVm": "busy"})
    h.run(KIND, "tpl")
    assert reason(h, "tpl") == "WaitingForSourceVm" and vm_state(sim, "busy") == "up"

    h.apply("VirtualMachine", "busy", {**vm_spec, "powerState": "Stopped"})
    h.apply("VirtualMachine", "clone", {"cluster": "Default", "template": "tpl"})
    clone_waited = []
    for _ in range(40):
        for kind, name in (("VirtualMachine", "busy"), (KIND, "tpl"), ("VirtualMachine", "clone")):
            h.run(kind, name)
        if sim.find("vm", "clone") is not None:
            break
        if h.status(KIND, "tpl").get("state") == "locked":
            clone_waited.append(h.condition("VirtualMachine", "clone", "Reconciling"))
        sim.advance(1)
    # While the template was locked (not Ready), the VM waited for it.
    assert clone_waited and all(
        c is not None and c["reason"] == "WaitingForDependency" for c in clone_waited
    )
    t = template(sim, "tpl")
    assert t is not None and t.status == "ok" and is_ready(h, "tpl")
    assert sim.find("vm", "clone").template_id == t.id

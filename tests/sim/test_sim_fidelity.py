"""Simulator fidelity, round two: behaviour checked against the engine's source.

Each test names the ovirt-engine (or ovirt-engine-api-model) file and class it follows.
"""

from __future__ import annotations

from collections.abc import Callable

from rhevsim.testing import SimHandle
from tests.sim.test_sim_host_common import Api, fault_detail, inventory

Factory = Callable[..., SimHandle]


def test_http_codes_follow_the_engine_messages_error_types(simulator_factory: Factory) -> None:
    """common/errors/EngineMessage gives each message an ErrorType that restapi
    util/ErrorMessageHelper turns into the status: VDS_CANNOT_ADD_MORE_THEN_ONE_HOST_TO_
    LOCAL_STORAGE (CONSTRAINT_VIOLATION), ACTION_TYPE_FAILED_MANAGEMENT_NETWORK_UNSET and
    ACTION_TYPE_FAILED_CANNOT_CHANGE_VNIC_PROFILE_NETWORK (BAD_PARAMETERS) are 400."""
    inv = inventory([{"name": "hv01", "cluster": "loc1", "status": "up"}])
    inv["datacenters"] = [{"name": "Default"}, {"name": "Loc", "local": True}]
    inv["clusters"] = [
        {"name": "Default", "data_center": "Default"},
        {"name": "loc1", "data_center": "Loc"},
    ]
    inv["storage_domains"] = []
    sim = simulator_factory(inv)
    api = Api(sim)
    r = api.call(
        "POST",
        "/hosts",
        "<host><name>hv02</name><address>10.0.0.12</address><root_password>x</root_password>"
        "<cluster><name>loc1</name></cluster></host>",
    )
    assert r.status_code == 400, r.text
    assert 'Cannot add more than one Host to "Local Storage" Data Center' in fault_detail(r)

    cl = api.get("/clusters", search="name=Default")[0].get("id")
    mgmt = api.get("/networks", search="name=rhevm")[0].get("id")
    r = api.call(
        "PUT",
        f"/clusters/{cl}/networks/{mgmt}",
        "<network><usages><usage>vm</usage></usages></network>",
    )
    assert r.status_code == 400 and "Unsetting management network property" in fault_detail(r)

    storage = api.get("/networks", search="name=storage")[0].get("id")
    profile = api.get(f"/networks/{mgmt}/vnicprofiles")[0].get("id")
    r = api.call(
        "PUT", f"/vnicprofiles/{profile}", f'<vnic_profile><network id="{storage}"/></vnic_profile>'
    )
    assert r.status_code == 400 and "network cannot be changed" in fault_detail(r)


def test_activate_is_refused_only_for_up_and_non_responsive_hosts(
    simulator_factory: Factory,
) -> None:
    """bll validator/HostValidator.validateStatusForActivation: VDS_ALREADY_UP and
    VDS_NON_RESPONSIVE are the only status refusals (ActivateVdsCommand.validate); a host
    pending approval may be activated."""
    sim = simulator_factory(
        inventory(
            [
                {"name": "hv01", "status": "up"},
                {"name": "hv02", "status": "pending_approval"},
            ]
        )
    )
    api = Api(sim)
    r = api.action(api.host("hv01").get("id"), "activate")
    assert r.status_code == 409 and "Host in Up status" in fault_detail(r)
    # MaintenanceNumberOfVdssCommand.validate: PendingApproval is not among the statuses
    # that may go to maintenance (VDS_CANNOT_MAINTENANCE_VDS_IS_NOT_OPERATIONAL, CONFLICT).
    r = api.action(api.host("hv02").get("id"), "deactivate")
    assert r.status_code == 409
    assert fault_detail(r) == "[Cannot switch Host to Maintenance mode, Host is not operational.]"
    r = api.action(api.host("hv02").get("id"), "activate")
    assert r.status_code == 200, r.text
    assert api.status("hv02") == "unassigned"
    assert len(api.events(16)) == 1  # VDS_ACTIVATE
    sim.advance(60)
    # The host answers, so the activation ends (it is not installed: NonOperational is fine).
    assert api.status("hv02") in ("up", "non_operational")


def test_host_maintenance_refusals_and_vms_that_cannot_migrate(
    simulator_factory: Factory,
) -> None:
    """bll MaintenanceNumberOfVdssCommand.validate refuses maintenance for a host running a
    pinned VM (VDS_CANNOT_MAINTENANCE_IT_INCLUDES_NON_MIGRATABLE_VM) and for running VMs
    with no other Up host in the cluster (CANNOT_MAINTENANCE_VDS_RUN_VMS_NO_OTHER_RUNNING_
    VDS), both CONFLICT. Once accepted, a VM that cannot migrate (user_migratable: MigrateVm
    refuses the system's migration) keeps the host in PreparingForMaintenance; the engine
    never powers a VM off for it. The host enters Maintenance when its last VM is gone
    (HostMonitoring)."""
    from tests.sim.test_sim_vm_support import INVENTORY
    from tests.sim.test_sim_vm_support import Api as VmApi
    from tests.sim.test_sim_vm_support import fault_detail as vm_fault

    sim = simulator_factory(INVENTORY, seed=5)
    api = VmApi(sim)
    hv1 = api.find_id("hosts", "hv1")
    hv2 = api.find_id("hosts", "hv2")
    pin = (
        "<placement_policy><affinity>{}</affinity>"
        f'<hosts><host id="{hv1}"/></hosts></placement_policy>'
    )
    pinned = api.running_vm("pinned", pin.format("pinned"))
    code, el = api.action(f"/hosts/{hv1}", "deactivate")
    assert code == 409
    assert vm_fault(el) == (
        "[Cannot switch the following Hosts to Maintenance mode: hv1.\nOne or more running "
        "VMs are indicated as non-migratable. The non-migratable VMs are: pinned.]"
    )
    assert api.status(f"/hosts/{hv1}") == "up"
    api.action(f"/vms/{pinned}", "stop")
    api.advance(30)
    assert api.status(f"/vms/{pinned}") == "down"
    # hv2 to maintenance: hv1 is the only Up host and takes both VMs.
    assert api.action(f"/hosts/{hv2}", "deactivate")[0] == 200
    api.advance(30)
    assert api.status(f"/hosts/{hv2}") == "maintenance"
    stays = api.running_vm("stays", pin.format("user_migratable"))
    moves = api.running_vm("moves")
    assert rid_of(api, stays) == hv1 and rid_of(api, moves) == hv1
    code, el = api.action(f"/hosts/{hv1}", "deactivate")
    assert code == 409 and vm_fault(el) == (
        "[The following Hosts have running VMs and cannot be switched to maintenance mode: "
        "hv1.\nPlease ensure that the following Clusters have at least one Host in UP state: "
        "Default.]"
    )
    assert api.action(f"/hosts/{hv2}", "activate")[0] == 200
    api.advance(60)
    assert api.status(f"/hosts/{hv2}") == "up"

    code, el = api.action(f"/hosts/{hv1}", "deactivate")
    assert code == 200
    api.advance(120)
    # `moves` migrated to hv2; `stays` (user_migratable) could not and still runs on hv1.
    assert rid_of(api, moves) == hv2
    assert api.status(f"/vms/{stays}") == "up" and rid_of(api, stays) == hv1
    assert api.status(f"/hosts/{hv1}") == "preparing_for_maintenance"
    api.action(f"/vms/{stays}", "stop")
    api.advance(30)
    assert api.status(f"/hosts/{hv1}") == "maintenance"


def rid_of(api: object, vm: str) -> str:
    from tests.sim.test_sim_vm_support import Api as VmApi
    from tests.sim.test_sim_vm_support import rid

    assert isinstance(api, VmApi)
    return rid(api.get(f"/vms/{vm}"), "host")


def test_correlation_id_header_first_cleaned_generated_and_echoed(
    simulator_factory: Factory,
) -> None:
    """restapi invocation/CurrentFilter.getCorrelationId: the Correlation-Id header wins over
    the correlation_id parameter, characters outside [0-9a-zA-Z_-] are stripped, the value
    is cut to 36; without one a UUID is generated; the response echoes it."""
    sim = simulator_factory(inventory())
    api = Api(sim)
    body = "<data_center><name>dc1</name><local>false</local></data_center>"
    r = api.s.post(
        api.url + "/datacenters",
        data=body,
        params={"correlation_id": "from-param"},
        headers={"Correlation-Id": "from header!" + "x" * 40},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    expected = ("fromheader" + "x" * 40)[:36]
    assert r.headers["Correlation-Id"] == expected
    jobs = api.get("/jobs", search=f"correlation_id={expected}")
    assert len(jobs) == 1
    r = api.s.post(
        api.url + "/datacenters",
        data=body.replace("dc1", "dc2"),
        params={"correlation_id": "p-1"},
        timeout=30,
    )
    assert r.headers["Correlation-Id"] == "p-1"
    r = api.call("GET", "/datacenters")
    generated = r.headers["Correlation-Id"]
    assert len(generated) == 36 and generated.count("-") == 4


def test_storage_domain_activation_needs_the_master_and_force_keeps_the_vm_check(
    simulator_factory: Factory,
) -> None:
    """bll storage/domain/ActivateStorageDomainCommand.validate: the data center must not be
    Uninitialized (ACTION_TYPE_FAILED_STORAGE_POOL_STATUS_ILLEGAL), the domain may be in
    PreparingForMaintenance, and a non-master domain needs an active master
    (StorageDomainCommandBase.checkMasterDomainIsUp); the master role is not moved by it.
    canDetachDomain applies the same master check to a non-master detach.
    DeactivateStorageDomainCommand.validate keeps ACTION_TYPE_FAILED_DETECTED_ACTIVE_VMS
    whatever `force` says (force is DeactivateStorageDomainWithOvfUpdateCommand's
    "go on when the OVF update fails")."""
    from tests.sim.test_sim_vm_support import INVENTORY
    from tests.sim.test_sim_vm_support import Api as VmApi
    from tests.sim.test_sim_vm_support import fault_detail as vm_fault

    sim = simulator_factory(INVENTORY, seed=5)
    api = VmApi(sim)
    dc = api.find_id("datacenters", "Default")
    data1 = api.find_id("storagedomains", "data1")
    data2 = api.find_id("storagedomains", "data2")
    base = f"/datacenters/{dc}/storagedomains"

    def status(sd: str) -> str:
        return api.get(f"{base}/{sd}").findtext("status") or ""

    def master(sd: str) -> bool:
        return api.get(f"{base}/{sd}").findtext("master") == "true"

    # A running VM with a disk on data1: deactivation refused, with or without force.
    vm = api.running_vm("v1")
    code, el = api.action(f"{base}/{data1}", "deactivate", "<action><force>true</force></action>")
    assert code == 409 and "VMs in a state other than" in vm_fault(el)
    api.action(f"/vms/{vm}", "stop")
    api.advance(30)

    # data1 (the master) to maintenance; data2 (maintenance) cannot become active before it.
    assert api.action(f"{base}/{data1}", "deactivate")[0] == 200
    api.advance(30)
    assert status(data1) == "maintenance" and master(data1)
    code, el = api.action(f"{base}/{data2}", "activate")
    assert code == 409 and vm_fault(el) == (
        "[Failed to activate Storage due to an error on the Data Center master Storage Domain."
        "\n-Please activate the master Storage Domain first.]"
    )
    code, el = api.request("DELETE", f"{base}/{data2}")
    assert code == 409 and "Failed to detach Storage" in vm_fault(el)
    assert master(data1) and not master(data2)

    assert api.action(f"{base}/{data1}", "activate")[0] == 200
    api.advance(30)
    assert api.action(f"{base}/{data2}", "activate")[0] == 200
    api.advance(30)
    assert status(data1) == status(data2) == "active" and master(data1)

    # Activation from PreparingForMaintenance ends the deactivation.
    assert api.action(f"{base}/{data2}", "deactivate")[0] == 200
    assert status(data2) == "preparing_for_maintenance"
    assert api.action(f"{base}/{data2}", "activate")[0] == 200
    api.advance(60)
    assert status(data2) == "active"

    # An uninitialized data center refuses activation.
    assert api.action(f"{base}/{data2}", "deactivate")[0] == 200
    api.advance(30)
    with sim.lock:
        sim.reg.objects["datacenter"][dc].status = "uninitialized"
    code, el = api.action(f"{base}/{data2}", "activate")
    assert code == 409 and vm_fault(el) == "[Cannot activate Storage. Unknown Data Center status.]"


def test_template_creation_locks_the_source_disks_until_it_ends(
    simulator_factory: Factory,
) -> None:
    """bll storage/disk/image/CreateImageTemplateCommand: `lockImage()` sets the source
    images Locked before the copy, `unLockImage()` at its end, success or failure."""
    from tests.sim.test_sim_vm_support import INVENTORY
    from tests.sim.test_sim_vm_support import Api as VmApi
    from tests.sim.test_sim_vm_support import fault_detail as vm_fault

    sim = simulator_factory(INVENTORY, seed=5)
    api = VmApi(sim)
    vm = api.bootable_vm("golden")
    disk = api.get(f"/vms/{vm}/diskattachments")[0].get("id")
    code, el = api.post("/templates", f'<template><name>t1</name><vm id="{vm}"/></template>')
    assert code == 202
    tid = el.get("id")
    assert api.get(f"/disks/{disk}").findtext("status") == "locked"
    code, el = api.put(f"/disks/{disk}", "<disk><alias>renamed</alias></disk>")
    assert code == 409 and "Disk is locked" in vm_fault(el)
    for _ in range(120):
        if api.status(f"/templates/{tid}") == "ok":
            break
        api.advance(1)
    assert api.status(f"/templates/{tid}") == "ok"
    assert api.get(f"/disks/{disk}").findtext("status") == "ok"
    code, el = api.put(f"/disks/{disk}", "<disk><alias>renamed</alias></disk>")
    assert code == 200, vm_fault(el) if code != 200 else ""


def test_install_defaults_activate_false_and_add_approve_install_reboot(
    simulator_factory: Factory,
) -> None:
    """restapi BackendHostResource.install: `activate` defaults to false there (true in
    BackendHostsResource.add and BackendHostResource.approve); `reboot` defaults to true in
    all three; hostdeploy/InstallVdsInternalCommand reboots (SshHostReboot, status Reboot)
    before Maintenance or Initializing. reboot=false skips that step."""
    sim = simulator_factory(inventory([{"name": "hv01", "status": "maintenance"}]))
    api = Api(sim)
    hid = api.host("hv01").get("id")
    r = api.action(hid, "install", "<action><root_password>x</root_password></action>")
    assert r.status_code == 200, r.text
    sim.advance(120)
    assert api.status("hv01") == "reboot"
    sim.advance(60)
    assert api.status("hv01") == "maintenance"  # not activated
    r = api.action(
        hid,
        "install",
        "<action><root_password>x</root_password><activate>true</activate>"
        "<reboot>false</reboot></action>",
    )
    assert r.status_code == 200, r.text
    sim.advance(120)
    assert api.status("hv01") == "initializing"  # no reboot step
    sim.advance(30)
    assert api.status("hv01") == "up"


def test_blocking_requests_wait_for_the_storage_tasks_and_async_delete_is_202_empty(
    simulator_factory: Factory,
) -> None:
    """restapi BackendResource: an action with `<async>false</async>` and a create with
    `Expect: 201-created` poll the command's async tasks before answering (performAction /
    performCreate); `DELETE ?async=true` answers 202 Accepted with no body
    (performRemove). Under the manual clock another thread advances the clock."""
    import threading
    import time

    from tests.sim.test_sim_vm_support import GIB, INVENTORY
    from tests.sim.test_sim_vm_support import Api as VmApi

    sim = simulator_factory(INVENTORY, seed=5)
    api = VmApi(sim)
    vm = api.add_vm("v1")
    body = (
        "<disk_attachment><bootable>true</bootable><interface>virtio</interface>"
        f"<disk><name>v1_os</name><provisioned_size>{GIB}</provisioned_size><format>cow"
        "</format><storage_domains><storage_domain><name>data1</name></storage_domain>"
        "</storage_domains></disk></disk_attachment>"
    )
    answers: dict[str, object] = {}

    def create() -> None:
        r = api.s.post(
            sim.api_url + f"/vms/{vm}/diskattachments",
            data=body,
            headers={"Expect": "201-created"},
            timeout=60,
        )
        answers["create"] = r

    t = threading.Thread(target=create)
    t.start()
    time.sleep(0.3)
    assert "create" not in answers  # still waiting for the copy
    for _ in range(200):
        if "create" in answers:
            break
        sim.advance(1)
        time.sleep(0.02)
    t.join(10)
    r = answers["create"]
    assert getattr(r, "status_code", None) == 201
    disk_id = api.get(f"/vms/{vm}/diskattachments")[0].get("id")
    assert api.get(f"/disks/{disk_id}").findtext("status") == "ok"

    # `<async>false</async>` on suspend (VDSM tasks): 200 complete once the VM is saved.
    run = api.running_vm("v2")

    def suspend() -> None:
        answers["suspend"] = api.s.post(
            sim.api_url + f"/vms/{run}/suspend",
            data="<action><async>false</async></action>",
            timeout=60,
        )

    t = threading.Thread(target=suspend)
    t.start()
    time.sleep(0.3)
    assert "suspend" not in answers
    for _ in range(200):
        if "suspend" in answers:
            break
        sim.advance(1)
        time.sleep(0.02)
    t.join(10)
    r = answers["suspend"]
    assert getattr(r, "status_code", None) == 200
    assert "<status>complete</status>" in getattr(r, "text", "")
    assert api.status(f"/vms/{run}") == "suspended"

    # DELETE ?async=true: 202 and an empty body.
    r2 = api.s.delete(sim.api_url + f"/disks/{disk_id}", params={"async": "true"}, timeout=30)
    assert r2.status_code == 202 and r2.content == b""


def test_api_timestamps_are_wall_clock_while_the_time_scale_speeds_the_state_machines(
    simulator_factory: Factory,
) -> None:
    """The engine stamps events (AuditLog), jobs and steps (JobRepository) with the wall
    clock; the simulator's time scale only shortens its state machines, so with scale 3600
    a host install (minutes of simulated time) ends within seconds while the event and job
    times stay within seconds of the real time."""
    import time
    from datetime import datetime

    def parse(stamp: str) -> float:
        return datetime.fromisoformat(stamp).timestamp()

    sim = simulator_factory(inventory(), clock="real", time_scale=3600.0)
    api = Api(sim)
    t0 = time.time()
    r = api.s.post(
        api.url + "/hosts",
        data="<host><name>hv01</name><address>10.0.0.11</address>"
        "<root_password>x</root_password><cluster><name>Default</name></cluster></host>",
        headers={"Correlation-Id": "wall"},
        timeout=30,
    )
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 20
    while api.status("hv01") != "up":
        assert time.monotonic() < deadline, api.status("hv01")
        time.sleep(0.05)
    now = time.time()
    job = api.get("/jobs", search="correlation_id=wall")[0]
    stamps = [parse(job.findtext("start_time") or ""), parse(job.findtext("end_time") or "")]
    stamps += [
        parse(e.findtext("time") or "") for e in api.get("/events", search="correlation_id=wall")
    ]
    assert stamps and all(t0 - 2 <= s <= now + 2 for s in stamps), (t0, now, stamps)
    # The simulated clock did run far ahead (the install alone takes 190 simulated seconds).
    assert sim.control("GET", "/sim/clock")["now"] - now > 150


def test_cross_reference_searches_the_ansible_modules_send(simulator_factory: Factory) -> None:
    """searchbackend SearchObjectAutoCompleter joins data centers to clusters
    (`Datacenters: Clusters.name=X`, ovirt_nic), templates to VMs (`Templates: vm.name=X`,
    ovirt_vm) and events to VMs (`Events: vm.id=X`, ovirt_vm); a to-many reference holds
    when any of the joined rows matches."""
    from tests.sim.test_sim_vm_support import INVENTORY
    from tests.sim.test_sim_vm_support import Api as VmApi

    sim = simulator_factory(INVENTORY, seed=5)
    api = VmApi(sim)
    dcs = api.get("/datacenters", search="Clusters.name=Default")
    assert [d.findtext("name") for d in dcs] == ["Default"]
    assert len(api.get("/datacenters", search="Clusters.name=nope")) == 0
    vm = api.add_vm("v1")
    assert [t.findtext("name") for t in api.get("/templates", search="vm.name=v1")] == ["Blank"]
    assert len(api.get("/events", search=f"vm.id={vm}")) >= 1

"""VM power and run actions (start, stop, shutdown, suspend, reboot), migration, and the
reactions to host status changes."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from rhevsim import errors
from rhevsim.api import (
    Request,
    Response,
    action_complete,
)
from rhevsim.api import action_async as _async
from rhevsim.cluster import Cluster
from rhevsim.datacenter import ENGINE_USER
from rhevsim.disk.entity import disks_of, sd_status_name, storage_domain
from rhevsim.event import CODES
from rhevsim.hypervisor.actions import vms_left_host
from rhevsim.hypervisor.host import Host
from rhevsim.model import Entity
from rhevsim.virtualmachine.entity import (
    RESET_SINCE,
    TYPE_NAME,
    Vm,
    cluster_of_vm,
    host_name_of,
    hosts_by_id,
    illegal,
    schedule_host,
    set_down,
    set_up,
    step_vm,
    transition,
    up_hosts,
    vm_or_404,
    vms_on_host,
)
from rhevsim.vmtemplate.config import BOOT_DEVICES
from rhevsim.xmlutil import boolean, enum, text

if TYPE_CHECKING:
    from rhevsim.job import Job
    from rhevsim.registry import Registry


def start_vm(req: Request) -> Response:
    reg = req.reg
    vm = vm_or_404(req)
    reg.check_unlocked(vm, "run")
    if vm.status == "paused":
        with reg.job(f"Resuming VM {vm.name}", req.correlation_id) as job:
            transition(vm, "up")
            reg.event(
                CODES["USER_RESUME_VM"],
                f"VM {vm.name} was resumed by {ENGINE_USER} (Host: "
                f"{host_name_of(reg, vm.host_id)}).",
                correlation_id=job.correlation_id,
                vm=vm,
            )
        return action_complete(req, job)
    if vm.status not in ("down", "suspended"):
        raise illegal("run", vm)
    run_once = req.body is not None and req.body.find("vm") is not None
    boot = run_once_boot(req) if run_once else None
    devices = boot or vm.config.boot_devices
    if devices == ["hd"] and not vm.disk_attachments:
        raise errors.conflict(
            "Cannot run VM without at least one bootable disk.\nAlternatives:\n- Create a disk "
            "for this VM, and rerun the VM.\n- Change the boot sequence using the Edit VM "
            "command (Boot Option Sub-Tab).\n- Use the 'Run Once' command to select a "
            "different boot option and rerun the VM."
        )
    if devices == ["network"] and not vm.nics:
        raise errors.conflict(
            "VM is configured to be 'Network bootable', but no Network Interface is "
            "configured.\nAlternatives:\n- Select a different boot device (using the 'Run "
            "Once' command or 'Edit VM' command on Boot Option Sub-Tab).\n- Configure Network "
            "Interface and rerun the VM."
        )
    disks = [d for d, a in zip(disks_of(reg, vm), vm.disk_attachments, strict=False) if a.active]
    locked = [d.name for d in disks if d.status != "ok"]
    if locked:
        raise errors.conflict(
            f"Cannot run VM: The following disks are locked: {', '.join(locked)}. Please try "
            "again in a few minutes."
        )
    for d in disks:
        sd = storage_domain(reg, d.storage_domain_id)
        status = getattr(sd, "dc_status", None) or getattr(sd, "status", None)
        if sd is not None and status not in (None, "active"):
            raise errors.conflict(
                f"Cannot run VM. The relevant Storage Domain's status is "
                f"{sd_status_name(str(status))}."
            )
    host = schedule_host(reg, vm, "run")
    mode = " in run-once mode" if run_once and vm.status == "down" else ""
    job = reg.start_job(f"Launching VM {vm.name}{mode}", req.correlation_id)
    cid = job.correlation_id
    vm.host_id = host.id
    vm.stop_reason = None
    vm.stop_time = None
    if vm.status == "suspended":
        transition(vm, "restoring_state")

        def restored() -> None:
            vm.start_time = reg.clock.wall()
            set_up(reg, vm, cid)
            reg.end_job(job)

        step_vm(reg, vm, "vm.restore", restored)
    else:
        transition(vm, "wait_for_launch")
        vm.run_once = run_once
        vm.run_boot_devices = list(devices)  # this run's; the VM's own boot order stays

        def launched() -> None:
            transition(vm, "powering_up")
            vm.start_time = reg.clock.wall()
            step_vm(reg, vm, "vm.boot", booted)

        def booted() -> None:
            set_up(reg, vm, cid)
            reg.end_job(job)

        step_vm(reg, vm, "vm.launch", launched)
    reg.event(
        CODES["USER_STARTED_VM"],
        f"VM {vm.name} was started by {ENGINE_USER} (Host: {host.name}).",
        correlation_id=cid,
        vm=vm,
        host=host,
    )
    return action_complete(req, job)


def run_once_boot(req: Request) -> list[str] | None:
    """The boot devices of a Run Once (`<action><vm><os><boot><devices>`), None when the
    action does not set them (RunVmOnce then boots as the VM is configured)."""
    devs = req.body.find("vm/os/boot/devices") if req.body is not None else None
    if devs is None:
        return None
    found = [enum(d, ".", BOOT_DEVICES, "BootDevice") for d in devs.findall("device")]
    return [d for d in found if d] or None


def reset(req: Request) -> Response:
    """ResetVm: a hard reset of a running VM (the guest boots again, the VM stays up on its
    host); cluster level 4.6 and up."""
    reg = req.reg
    vm = vm_or_404(req)
    reg.check_unlocked(vm, "reset")
    cluster = cluster_of_vm(reg, vm)
    if cluster is not None and cluster.version < RESET_SINCE:
        raise errors.conflict(
            f"Cannot reset {TYPE_NAME}. Reset VM requires cluster compatibility version "
            f"{RESET_SINCE[0]}.{RESET_SINCE[1]} or higher."
        )
    if not vm.running or vm.status == "wait_for_launch":
        raise illegal("reset", vm)
    with reg.job(f"Resetting VM {vm.name}", req.correlation_id) as job:
        vm.resets += 1
        reg.event(
            CODES["USER_RESET_VM"],
            f"VM {vm.name} is resetting. Reset by: {ENGINE_USER}",
            correlation_id=job.correlation_id,
            vm=vm,
            host=hosts_by_id(reg).get(vm.host_id or ""),
        )
    return action_complete(req, job)


def _reason(req: Request) -> str:
    r = text(req.body, "reason")
    return f" (Reason: {r})" if r else ""


def stop_vm(req: Request) -> Response:
    reg = req.reg
    vm = vm_or_404(req)
    reg.check_unlocked(vm, "stop")
    return _power_off(req, vm, "stop")


def _power_off(req: Request, vm: Vm, action: str) -> Response:
    reg = req.reg
    if vm.status in ("saving_state", "restoring_state"):
        raise errors.conflict(
            f"Cannot {action} {TYPE_NAME}. VM is in saving/restoring state.\n-Please try again "
            "when the VM is either up or down."
        )
    if vm.status == "suspended":
        with reg.job(f"Stopping VM {vm.name}", req.correlation_id) as job:
            reg.event(
                CODES["USER_STOP_SUSPENDED_VM"],
                f"Suspended VM {vm.name} has had its save state cleared by {ENGINE_USER}"
                f"{_reason(req)}.",
                correlation_id=job.correlation_id,
                vm=vm,
            )
            set_down(reg, vm, "", job.correlation_id)
        return action_complete(req, job)
    if not vm.running:
        raise errors.conflict(f"Cannot {action} {TYPE_NAME}. VM is not running.")
    job = reg.start_job(f"Stopping VM {vm.name}", req.correlation_id)
    host_name = host_name_of(reg, vm.host_id)
    code, what = (
        ("USER_STOP_VM", "powered off by")
        if action == "stop"
        else ("USER_STOPPED_VM_INSTEAD_OF_SHUTDOWN", "was powered off ungracefully by")
    )
    words = f"VM {vm.name} {what}"
    reg.event(
        CODES[code],
        f"{words} {ENGINE_USER} (Host: {host_name}){_reason(req)}.",
        correlation_id=job.correlation_id,
        vm=vm,
        host=hosts_by_id(reg).get(vm.host_id or ""),
    )
    return _power_down_later(
        req, vm, job, "vm.stop", "Exit message: Admin shut down from the engine"
    )


def _power_down_later(req: Request, vm: Vm, job: Job, timing: str, exit_msg: str) -> Response:
    """powering_down now, down with `exit_msg` after `timing` (stop and shutdown)."""
    reg = req.reg
    vm.stop_reason = text(req.body, "reason")
    transition(vm, "powering_down")

    def down() -> None:
        set_down(reg, vm, exit_msg, job.correlation_id)
        reg.end_job(job)

    step_vm(reg, vm, timing, down)
    return action_complete(req, job)


def shutdown(req: Request) -> Response:
    reg = req.reg
    vm = vm_or_404(req)
    reg.check_unlocked(vm, "shutdown")
    if vm.status not in ("up", "migrating", "reboot_in_progress", "powering_down"):
        return _power_off(req, vm, "shutdown")
    job = reg.start_job(f"Shutting down VM {vm.name}", req.correlation_id)
    reg.event(
        CODES["USER_INITIATED_SHUTDOWN_VM"],
        f"VM shutdown initiated by {ENGINE_USER} on VM {vm.name} (Host: "
        f"{host_name_of(reg, vm.host_id)}){_reason(req)}.",
        correlation_id=job.correlation_id,
        vm=vm,
        host=hosts_by_id(reg).get(vm.host_id or ""),
    )
    vm.migration_target_id = None
    return _power_down_later(
        req, vm, job, "vm.shutdown", "Exit message: User shut down from within the guest"
    )


def suspend(req: Request) -> Response:
    reg = req.reg
    vm = vm_or_404(req)
    reg.check_unlocked(vm, "hibernate")
    if vm.status in ("wait_for_launch", "not_responding"):
        raise illegal("hibernate", vm)
    if vm.status != "up":
        raise errors.conflict(f"Cannot hibernate {TYPE_NAME}. VM is not up.")
    if vm.config.stateless:
        raise errors.conflict("Cannot suspend VM, VM is stateless.")
    job = reg.start_job(f"Suspending VM {vm.name}", req.correlation_id)
    host = hosts_by_id(reg).get(vm.host_id or "")
    reg.event(
        CODES["USER_SUSPEND_VM"],
        f"Suspending VM {vm.name} was initiated by User {ENGINE_USER} (Host: "
        f""
        f"{host_name_of(reg, vm.host_id)}).",
        correlation_id=job.correlation_id,
        vm=vm,
        host=host,
    )
    transition(vm, "saving_state")

    def saved() -> None:
        transition(vm, "suspended")
        vm.host_id = None
        vm.start_time = None
        reg.event(
            CODES["USER_SUSPEND_VM_FINISH_SUCCESS"],
            f"Suspending VM {vm.name} has been completed.",
            correlation_id=job.correlation_id,
            vm=vm,
            host=host,
        )
        reg.end_job(job)

    step_vm(reg, vm, "vm.suspend", saved)
    return action_async(req, job)


def action_async(req: Request, job: Entity) -> Response:
    return _async(req, job)


def reboot(req: Request) -> Response:
    reg = req.reg
    vm = vm_or_404(req)
    reg.check_unlocked(vm, "restart")
    if vm.status not in ("up", "powering_up"):
        raise illegal("restart", vm)
    job = reg.start_job(f"Rebooting VM {vm.name}", req.correlation_id)
    reg.event(
        CODES["USER_REBOOT_VM"],
        f"VM {vm.name} is rebooting. Rebooted by: {ENGINE_USER}",
        correlation_id=job.correlation_id,
        vm=vm,
        host=hosts_by_id(reg).get(vm.host_id or ""),
    )
    transition(vm, "reboot_in_progress")

    def rebooted() -> None:
        set_up(reg, vm, job.correlation_id)
        reg.end_job(job)

    step_vm(reg, vm, "vm.reboot", rebooted)
    return action_complete(req, job)


def _migrate_target(req: Request, vm: Vm) -> Entity | None:
    el = req.body.find("host") if req.body is not None else None
    if el is None or (not el.get("id") and not text(el, "name")):
        return None
    ident, name = el.get("id"), text(el, "name")
    hosts = hosts_by_id(req.reg)
    target = (
        hosts.get(ident) if ident else next((h for h in hosts.values() if h.name == name), None)
    )
    if target is None:
        if ident:
            raise errors.bad_request(f"Cannot migrate {TYPE_NAME}. Invalid Host Id.")
        raise errors.entity_not_found("Host", "name", name or "")
    return target


def migrate(req: Request) -> Response:
    reg = req.reg
    vm = vm_or_404(req)
    reg.check_unlocked(vm, "migrate")
    force = bool(boolean(req.body, "force"))
    if vm.config.placement_affinity == "pinned":
        raise errors.conflict(f"Cannot migrate {TYPE_NAME}. VM is pinned to Host.")
    if vm.config.placement_affinity == "user_migratable" and not force:
        raise errors.conflict(
            f"Cannot migrate {TYPE_NAME}. VM is non migratable and user did not specify the "
            "force-migration flag"
        )
    if vm.status == "migrating":
        raise errors.conflict(f"Cannot migrate {TYPE_NAME}. VM migration is in progress")
    if vm.status == "not_responding":
        raise illegal("migrate", vm)
    if vm.status not in ("up", "powering_up", "paused", "reboot_in_progress"):
        raise errors.conflict(f"Cannot migrate {TYPE_NAME}. VM is not running.")
    target = _migrate_target(req, vm)
    if target is not None:
        if getattr(target, "status", None) != "up":
            raise errors.conflict(
                f"Cannot migrate {TYPE_NAME}. Operation can be performed only when Host status "
                "is Up."
            )
        if target.id == vm.host_id:
            raise errors.conflict(
                f"Cannot migrate {TYPE_NAME}. source and destination is the same."
            )
        if getattr(target, "cluster_id", None) != vm.cluster_id:
            raise errors.conflict(
                f"Cannot migrate {TYPE_NAME}. If target Cluster is not specified VM can be "
                "migrated only between Hosts in the same Cluster.\n-Please select target Host "
                "in the same Cluster to run the VM or specify a target Cluster."
            )
    else:
        target = schedule_host(reg, vm, "migrate", exclude=vm.host_id)
    job = reg.start_job(f"Migrating VM {vm.name}", req.correlation_id)
    start_migration(reg, vm, target, job, user_initiated=True)
    return action_complete(req, job)


def start_migration(
    reg: Registry,
    vm: Vm,
    target: Entity,
    job: Any,
    *,
    user_initiated: bool,
    reason: str = "",
) -> None:
    """up -> migrating -> up on `target` after `vm.migrate`; ends `job`."""
    source = hosts_by_id(reg).get(vm.host_id or "")
    src_name = source.name if source is not None else ""
    started = reg.clock.now()
    if user_initiated:
        reg.event(
            CODES["VM_MIGRATION_START"],
            f"Migration started (VM: {vm.name}, Source: {src_name}, Destination: "
            f"{target.name}, User: {ENGINE_USER}).",
            correlation_id=job.correlation_id,
            vm=vm,
            host=source,
        )
    else:
        reg.event(
            CODES["VM_MIGRATION_START_SYSTEM_INITIATED"],
            f"Migration initiated by system (VM: {vm.name}, Source: {src_name}, Destination: "
            f"{target.name}, Reason: {reason}).",
            correlation_id=job.correlation_id,
            user=None,
            vm=vm,
            host=source,
        )
    vm.migration_target_id = target.id
    transition(vm, "migrating")

    def arrived() -> None:
        vm.host_id = target.id
        vm.migration_target_id = None
        transition(vm, "up")
        if isinstance(source, Host):
            vms_left_host(reg, source)
        secs = int(reg.clock.now() - started)
        reg.event(
            CODES["VM_MIGRATION_DONE"],
            f"Migration completed (VM: {vm.name}, Source: {src_name}, Destination: "
            f"{target.name}, Duration: {secs} seconds, Total: {secs} seconds, Actual "
            "downtime: (N/A))",
            correlation_id=job.correlation_id,
            user=None,
            vm=vm,
            host=target,
        )
        reg.end_job(job)

    vm.finish_migration = arrived
    step_vm(reg, vm, "vm.migrate", arrived)


def cancel_migration(req: Request) -> Response:
    reg = req.reg
    vm = vm_or_404(req)
    reg.check_unlocked(vm, "cancel migration")
    if vm.status != "migrating":
        raise errors.conflict("Cannot cancel migration for non migrating VM.")
    with reg.job(f"Cancelling migration of VM {vm.name}", req.correlation_id) as job:
        vm.migration_target_id = None
        transition(vm, "up")
        reg.event(
            CODES["VM_CANCEL_MIGRATION"],
            f"Migration cancelled (VM: {vm.name}, Source: {host_name_of(reg, vm.host_id)}, User: "
            f"{ENGINE_USER}).",
            correlation_id=job.correlation_id,
            vm=vm,
            host=hosts_by_id(reg).get(vm.host_id or ""),
        )
    return action_complete(req, job)


def simple_action(verb: str, description: str) -> Callable[[Request], Response]:
    def handler(req: Request) -> Response:
        vm = vm_or_404(req)
        req.reg.check_unlocked(vm, verb)
        job = req.reg.start_job(f"{description} {vm.name}", req.correlation_id)
        req.reg.end_job(job)
        return action_complete(req, job)

    return handler


def host_lost(reg: Registry, host: Entity) -> list[Vm]:
    """The host stopped answering: its VMs become unknown (VM_SET_TO_UNKNOWN_STATUS)."""
    out = []
    for vm in vms_on_host(reg, host.id):
        if vm.migration_target_id == host.id and vm.host_id != host.id:
            vm.migration_target_id = None  # the target vanished: stay on the source
            transition(vm, "up")
            continue
        transition(vm, "unknown")
        reg.event(
            CODES["VM_SET_TO_UNKNOWN_STATUS"],
            f"VM {vm.name} was set to the Unknown status.",
            "warning",
            user=None,
            vm=vm,
            host=host,
        )
        out.append(vm)
    return out


def host_fenced(reg: Registry, host: Entity) -> list[Vm]:
    """The host was fenced or confirmed rebooted: its VMs are down
    (ClearNonResponsiveVdsVms); the highly available ones are restarted on another host
    (HaAutoStartVmsRunner)."""
    out = []
    for vm in reg.all(Vm):
        if vm.host_id == host.id and vm.status not in ("down", "migrating"):
            reg.event(
                CODES["VM_WAS_SET_DOWN_DUE_TO_HOST_REBOOT_OR_MANUAL_FENCE"],
                f"Vm {vm.name} was shut down due to {host.name} host reboot or manual fence",
                user=None,
                vm=vm,
                host=host,
            )
            set_down(reg, vm, "Exit message: VM was set down due to host fencing")
            out.append(vm)
            if vm.config.high_availability:
                reg.event(
                    CODES["HA_VM_FAILED"],
                    f"Highly Available VM {vm.name} failed. It will be restarted automatically.",
                    "error",
                    user=None,
                    vm=vm,
                )
                ha_restart(reg, vm, 0)
    return out


def ha_restart(reg: Registry, vm: Vm, tries: int) -> None:
    """HaAutoStartVmsRunner: try to run the VM (first at once, then every
    RetryToRunAutoStartVmIntervalInSeconds, at most MaxNumOfTriesToRunFailedAutoStartVm)."""

    def attempt() -> None:
        if reg.objects.get("vm", {}).get(vm.id) is not vm or vm.status != "down":
            return
        host = None
        if _disks_active(reg, vm):
            try:
                host = schedule_host(reg, vm, "run")
            except errors.ApiError:
                host = None
        if host is None:
            if tries + 1 < int(reg.timing("vm.ha_tries")):
                ha_restart(reg, vm, tries + 1)
            else:
                reg.event(
                    CODES["HA_VM_RESTART_FAILED"],
                    f"Restart of the Highly Available VM {vm.name} failed.",
                    "error",
                    user=None,
                    vm=vm,
                )
            return
        vm.host_id = host.id
        vm.stop_reason = None
        vm.stop_time = None
        transition(vm, "wait_for_launch")
        reg.event(
            CODES["VDS_INITIATED_RUN_VM"],
            f"Trying to restart VM {vm.name} on Host {host.name}",
            user=None,
            vm=vm,
            host=host,
        )

        def launched() -> None:
            transition(vm, "powering_up")
            vm.start_time = reg.clock.now()
            step_vm(reg, vm, "vm.boot", lambda: set_up(reg, vm, None))

        step_vm(reg, vm, "vm.launch", launched)

    reg.schedule("vm.ha_start" if tries == 0 else "vm.ha_retry", attempt, f"ha restart {vm.name}")


def _disks_active(reg: Registry, vm: Vm) -> bool:
    for d, a in zip(disks_of(reg, vm), vm.disk_attachments, strict=False):
        sd = storage_domain(reg, d.storage_domain_id)
        status = getattr(sd, "dc_status", None) or getattr(sd, "status", None)
        if a.active and sd is not None and status not in (None, "active"):
            return False
    return True


def evacuation_blockers(reg: Registry, host: Entity) -> list[str]:
    """Names of VMs on `host` that cannot leave it (pinned, or no other up host)."""
    blockers = []
    others = [h for h in up_hosts(reg, getattr(host, "cluster_id", None)) if h.id != host.id]
    for vm in vms_on_host(reg, host.id):
        if vm.config.placement_affinity == "pinned":
            blockers.append(vm.name)
            continue
        pins = set(vm.config.placement_host_ids)
        if not [h for h in others if not pins or h.id in pins]:
            blockers.append(vm.name)
    return blockers


def maintenance_refusal(reg: Registry, host: Entity) -> list[str] | None:
    """MaintenanceNumberOfVdssCommand.validate, the checks about VMs: pinned VMs
    (VDS_CANNOT_MAINTENANCE_IT_INCLUDES_NON_MIGRATABLE_VM), a non-responsive host with VMs
    (VDS_CANNOT_MAINTENANCE_VDS_IS_NOT_RESPONDING_WITH_VMS), running VMs and no other Up host
    in the cluster (CANNOT_MAINTENANCE_VDS_RUN_VMS_NO_OTHER_RUNNING_VDS)."""
    vms = [v for v in reg.all(Vm) if v.running and v.host_id == host.id]
    pinned = [v.name for v in vms if v.config.placement_affinity == "pinned"]
    if pinned:
        return [
            f"Cannot switch the following Hosts to Maintenance mode: {host.name}.\nOne or more "
            "running VMs are indicated as non-migratable. The non-migratable VMs are: "
            f"{' , '.join(sorted(pinned))}."
        ]
    if not vms:
        return None
    if getattr(host, "status", "") == "non_responsive":
        return [
            "Cannot switch Host to Maintenance mode.\nHost still has running VMs on it and is "
            "in Non Responsive state."
        ]
    cluster_id = getattr(host, "cluster_id", None)
    if not [h for h in up_hosts(reg, cluster_id) if h.id != host.id]:
        cluster = reg.get(Cluster, cluster_id) if cluster_id else None
        return [
            "The following Hosts have running VMs and cannot be switched to maintenance mode: "
            f"{host.name}.\nPlease ensure that the following Clusters have at least one Host in "
            f"UP state: {cluster.name if cluster else ''}."
        ]
    return None


def stuck_vms(reg: Registry, host: Entity) -> list[str]:
    """VMs still running on the host that are not migrating away."""
    return sorted(
        v.name
        for v in reg.all(Vm)
        if v.running and v.host_id == host.id and v.migration_target_id is None
    )


def evacuate(reg: Registry, host: Entity, correlation_id: str | None = None) -> list[Vm]:
    """Host maintenance: migrate its running VMs to other up hosts. Returns the VMs that
    started migrating; callers check `maintenance_refusal` first."""
    moved = []
    for vm in vms_on_host(reg, host.id):
        if vm.host_id != host.id or vm.status not in ("up", "powering_up", "paused"):
            continue
        if vm.config.placement_affinity != "migratable":
            continue  # MigrateVmCommand: only the user may migrate a user_migratable VM
        try:
            target = schedule_host(reg, vm, "migrate", exclude=host.id)
        except errors.ApiError:
            continue
        job = reg.start_job(f"Migrating VM {vm.name}", correlation_id)
        start_migration(
            reg, vm, target, job, user_initiated=False, reason="Host preparing for maintenance"
        )
        moved.append(vm)
    return moved

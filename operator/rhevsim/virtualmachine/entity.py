"""The Vm and Nic entities, their placement on hosts, transitions, lookups and the MAC pool."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim import errors
from rhevsim.api import (
    Request,
    get_or_404,
)
from rhevsim.cluster import Cluster
from rhevsim.clusterpolicies import mac_pool
from rhevsim.disk.entity import DiskAttachment
from rhevsim.event import CODES
from rhevsim.hypervisor.actions import vms_left_host
from rhevsim.hypervisor.host import Host, up_hosts_in_cluster
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.vmtemplate.config import BLANK_TEMPLATE_ID, MIB, VmConfig, render_config
from rhevsim.xmlutil import Element, fmt_time, xml_bool

if TYPE_CHECKING:
    from rhevsim.registry import Registry


STATUSES = (
    "unassigned",
    "down",
    "up",
    "powering_up",
    "paused",
    "migrating",
    "unknown",
    "not_responding",
    "wait_for_launch",
    "reboot_in_progress",
    "saving_state",
    "restoring_state",
    "suspended",
    "image_locked",
    "powering_down",
)


# VMStatus.isRunning(): the VM occupies a host.
RUNNING = frozenset(
    {
        "up",
        "powering_up",
        "powering_down",
        "migrating",
        "wait_for_launch",
        "reboot_in_progress",
        "paused",
        "saving_state",
        "restoring_state",
        "not_responding",
        "unknown",
    }
)


# LocalizedVmStatus: `${vmStatus}` in engine messages.
STATUS_WORDS = {
    "unassigned": "Unassigned",
    "down": "Down",
    "up": "Up",
    "powering_up": "Powering Up",
    "paused": "Paused",
    "migrating": "Migrating",
    "unknown": "Unknown",
    "not_responding": "Not Responding",
    "wait_for_launch": "Wait for Launch",
    "reboot_in_progress": "Reboot in Progress",
    "saving_state": "Saving State",
    "restoring_state": "Restoring State",
    "suspended": "Suspended",
    "image_locked": "Image Locked",
    "powering_down": "Powering Down",
}


NIC_INTERFACES = ("virtio", "e1000", "e1000e", "rtl8139", "rtl8139_virtio", "spapr_vlan")


NIC_TYPE_WORDS = {  # VmInterfaceType descriptions, as event texts show them
    "virtio": "VirtIO",
    "e1000": "e1000",
    "e1000e": "e1000e",
    "rtl8139": "rtl8139",
    "rtl8139_virtio": "Dual mode rtl8139, VirtIO",
    "spapr_vlan": "sPAPR VLAN",
}


VM_ACTIONS = (
    "autopincpuandnumanodes",
    "cancelmigration",
    "clone",
    "commitsnapshot",
    "detach",
    "export",
    "exporttoexportdomain",
    "exporttopathonhost",
    "freezefilesystems",
    "logon",
    "maintenance",
    "migrate",
    "previewsnapshot",
    "reboot",
    "reordermacaddresses",
    "reset",
    "screenshot",
    "shutdown",
    "start",
    "stop",
    "suspend",
    "thawfilesystems",
    "ticket",
    "undosnapshot",
)


VM_LINKS = (
    "affinitylabels",
    "applications",
    "backups",
    "cdroms",
    "checkpoints",
    "graphicsconsoles",
    "hostdevices",
    "katelloerrata",
    "mediateddevices",
    "numanodes",
    "permissions",
    "reporteddevices",
    "sessions",
    "snapshots",
    "statistics",
    "tags",
    "watchdogs",
)


# Link-only sub-collections, served as empty lists (element names of the engine's);
# graphicsconsoles is served by rhevsim.graphicsconsole.
VM_LINK_PLURALS = {
    "affinitylabels": "affinity_labels",
    "applications": "applications",
    "backups": "backups",
    "cdroms": "cdroms",
    "checkpoints": "checkpoints",
    "hostdevices": "host_devices",
    "katelloerrata": "katello_errata",
    "mediateddevices": "vm_mediated_devices",
    "numanodes": "vm_numa_nodes",
    "permissions": "permissions",
    "reporteddevices": "reported_devices",
    "sessions": "sessions",
    "snapshots": "snapshots",
    "statistics": "statistics",
    "tags": "tags",
    "watchdogs": "watchdogs",
}


HOTPLUG_MEMORY_FACTOR = 256 * MIB  # x86_64 getHotplugMemorySizeFactorMb


TYPE_NAME = "VM"

#: ResetVm needs this cluster level (FeatureSupported.isVMResetSupported).
RESET_SINCE = (4, 6)


CODES.update(
    {
        "USER_RUN_VM": 32,
        "USER_STOP_VM": 33,
        "USER_ADD_VM": 34,
        "USER_UPDATE_VM": 35,
        "USER_ADD_VM_STARTED": 37,
        "USER_RESUME_VM": 40,
        "USER_ADD_VM_FINISHED_SUCCESS": 53,
        "VM_DOWN": 61,
        "VM_MIGRATION_START": 62,
        "VM_MIGRATION_DONE": 63,
        "VM_MIGRATION_START_SYSTEM_INITIATED": 67,
        "USER_INITIATED_SHUTDOWN_VM": 73,
        "USER_STOPPED_VM_INSTEAD_OF_SHUTDOWN": 76,
        "USER_STOP_SUSPENDED_VM": 111,
        "USER_REMOVE_VM_FINISHED": 113,
        "VM_SET_TO_UNKNOWN_STATUS": 142,
        "VDS_INITIATED_RUN_VM": 506,
        "HA_VM_FAILED": 9602,
        "HA_VM_RESTART_FAILED": 9603,
        "VM_WAS_SET_DOWN_DUE_TO_HOST_REBOOT_OR_MANUAL_FENCE": 143,
        "USER_STARTED_VM": 153,
        "USER_REBOOT_VM": 157,
        "USER_RESET_VM": 221,
        "VM_CANCEL_MIGRATION": 161,
        "USER_SUSPEND_VM": 501,
        "USER_SUSPEND_VM_FINISH_SUCCESS": 512,
        "NETWORK_REMOVE_VM_INTERFACE": 930,
        "NETWORK_ADD_VM_INTERFACE": 932,
        "NETWORK_UPDATE_VM_INTERFACE": 934,
        "VM_MIGRATION_NO_VDS_TO_MIGRATE_TO": 166,
    }
)


TIMINGS = {
    "vm.create": 5.0,  # thin disks on top of the template's images
    "vm.launch": 3.0,  # wait_for_launch -> powering_up
    "vm.boot": 15.0,  # powering_up -> up
    "vm.stop": 1.0,  # powering_down -> down after a power off
    "vm.shutdown": 10.0,  # guest shutdown: powering_down -> down
    "vm.suspend": 8.0,  # saving_state -> suspended
    "vm.restore": 8.0,  # restoring_state -> up
    "vm.reboot": 10.0,  # reboot_in_progress -> up
    "vm.migrate": 10.0,  # migrating -> up on the target
    # HaAutoStartVmsRunner: the first try at once (AutoStartVmsRunnerIntervalInSeconds 1),
    # then every RetryToRunAutoStartVmIntervalInSeconds (30), MaxNumOfTriesToRunFailedAutoStartVm
    # (10) tries in all.
    "vm.ha_start": 1.0,
    "vm.ha_retry": 30.0,
    "vm.ha_tries": 10.0,
}


@dataclass(kw_only=True, eq=False)
class Nic(Entity):
    """A VM or template network interface (owner-held, not in the registry)."""

    KIND = "nic"
    TAG = "nic"
    PLURAL = "nics"
    TYPE_NAME = "Interface"
    REF_NAME = "Nic"

    owner_path: str  # "vms" | "templates"
    owner_id: str
    interface: str = "virtio"
    mac: str | None = None
    vnic_profile_id: str | None = None
    linked: bool = True
    plugged: bool = True

    def href(self) -> str:
        return f"/{self.owner_path}/{self.owner_id}/nics/{self.id}"

    def copy_to(self, reg: Registry, owner: Any, mac: str | None) -> Nic:
        """This NIC as a new one of `owner` (a VM made from a template, or the reverse)."""
        return Nic(
            id=reg.new_id(),
            name=self.name,
            owner_path=owner.PATH,
            owner_id=owner.id,
            interface=self.interface,
            vnic_profile_id=self.vnic_profile_id,
            linked=self.linked,
            plugged=self.plugged,
            mac=mac,
        )

    def render(self, ctx: Ctx) -> Element:
        el = ctx.el(self)
        sub = etree.SubElement
        sub(el, "name").text = self.name
        if self.description is not None:
            sub(el, "description").text = self.description
        for rel in ("networkfilterparameters", "reporteddevices", "statistics"):
            ctx.link(el, self, rel)
        sub(el, "interface").text = self.interface
        sub(el, "linked").text = xml_bool(self.linked)
        if self.mac:
            sub(sub(el, "mac"), "address").text = self.mac
        sub(el, "plugged").text = xml_bool(self.plugged)
        sub(el, "synced").text = "true"
        ctx.ref_id(el, "vnic_profile", "vnicprofiles", self.vnic_profile_id)
        tag = "vm" if self.owner_path == "vms" else "template"
        ctx.ref_id(el, tag, self.owner_path, self.owner_id)
        return el


@dataclass(kw_only=True, eq=False)
class Vm(Entity):
    KIND = "vm"
    TAG = "vm"
    PLURAL = "vms"
    PATH = "vms"
    TYPE_NAME = TYPE_NAME
    REF_NAME = "VM"

    status: str = "down"
    cluster_id: str | None = None
    template_id: str = BLANK_TEMPLATE_ID
    original_template_id: str = BLANK_TEMPLATE_ID
    host_id: str | None = None
    config: VmConfig = field(default_factory=VmConfig)
    next_run: VmConfig | None = None
    creation_time: float = 0.0
    start_time: float | None = None
    stop_time: float | None = None
    stop_reason: str | None = None
    run_once: bool = False
    # The boot devices of the current run (a Run Once's, else the VM's own); None when down.
    run_boot_devices: list[str] | None = None
    # Hard resets (ResetVm) of the current and past runs, for tests.
    resets: int = 0
    # Console tickets set on the running VM: protocol -> (value, valid until, clock seconds).
    tickets: dict[str, tuple[str, float]] = field(default_factory=dict, repr=False)
    migration_target_id: str | None = None
    disk_attachments: list[DiskAttachment] = field(default_factory=list)
    nics: list[Nic] = field(default_factory=list)
    # Bumped by every power transition; a scheduled step whose number is stale does nothing.
    seq: int = 0
    # (fingerprint, pretty XML bytes indented for a collection): GET /vms reuses it while
    # nothing the XML shows has changed (building 1000 lxml trees costs ~300 ms here).
    xml_cache: tuple[tuple[Any, ...], bytes] | None = field(default=None, repr=False)
    # Completes the running migration at once (the source host is leaving).
    finish_migration: Callable[[], None] | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.status in RUNNING

    def vnic_profile_ids(self) -> list[str]:
        return [n.vnic_profile_id for n in self.nics if n.vnic_profile_id]

    def storage_domain_ids(self) -> list[str]:
        """Domains holding the VM's disks (/storagedomains/{id}/vms)."""
        return _domains_of(self)

    def render(self, ctx: Ctx) -> Element:
        return render_vm(ctx, self, self.config)

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        cluster = reg.objects.get("cluster", {}).get(self.cluster_id or "")
        dc = reg.objects.get("datacenter", {}).get(getattr(cluster, "data_center_id", "") or "")
        host = reg.objects.get("host", {}).get(self.host_id or "")
        tmpl = reg.objects.get("template", {}).get(self.template_id)
        return {
            "name": self.name,
            "id": self.id,
            "description": self.description,
            "comment": self.comment,
            "status": self.status,
            "cluster": cluster.name if cluster is not None else None,
            "datacenter": dc.name if dc is not None else None,
            "host": host.name if host is not None else None,
            "template": tmpl.name if tmpl is not None else None,
            "os": self.config.os_type,
            "type": self.config.vm_type,
            "memory": self.config.memory // MIB,
            "ha": self.config.high_availability,
            "creationdate": fmt_time(self.creation_time),
        }


def _domains_of(owner: Any) -> list[str]:
    out: list[str] = []
    for a in owner.disk_attachments:
        if a.storage_domain_id and a.storage_domain_id not in out:
            out.append(a.storage_domain_id)
    return out


def render_vm(ctx: Ctx, vm: Vm, cfg: VmConfig) -> Element:
    sub = etree.SubElement
    el = ctx.el(vm)
    ctx.actions(el, vm, VM_ACTIONS)
    ctx.common(el, vm)
    prefix = f"{ctx.base}/vms/{vm.id}/"
    for rel in VM_LINKS[:5]:
        sub(el, "link", {"href": prefix + rel, "rel": rel})
    ctx.follow_collection(el, vm, "diskattachments", "disk_attachments", vm.disk_attachments)
    for rel in VM_LINKS[5:]:
        sub(el, "link", {"href": prefix + rel, "rel": rel})
    ctx.follow_collection(el, vm, "nics", "nics", vm.nics)
    cluster = ctx.reg.objects.get("cluster", {}).get(vm.cluster_id or "")
    render_config(ctx, el, cfg, getattr(cluster, "cpu_architecture", None) or "x86_64")
    sub(el, "creation_time").text = fmt_time(vm.creation_time)
    sub(el, "next_run_configuration_exists").text = xml_bool(vm.next_run is not None)
    sub(el, "numa_tune_mode").text = "interleave"
    sub(el, "run_once").text = xml_bool(vm.run_once)
    sub(el, "start_paused").text = "false"
    if vm.start_time is not None:
        sub(el, "start_time").text = fmt_time(vm.start_time)
    sub(el, "status").text = vm.status
    if vm.stop_reason:
        sub(el, "stop_reason").text = vm.stop_reason
    if vm.stop_time is not None:
        sub(el, "stop_time").text = fmt_time(vm.stop_time)
    ctx.ref(el, "cluster", cluster)
    ctx.ref_id(el, "host", "hosts", vm.host_id if vm.running else None)
    ctx.ref_id(el, "original_template", "templates", vm.original_template_id)
    ctx.ref_id(el, "template", "templates", vm.template_id)
    return el


def hosts_by_id(reg: Registry) -> dict[str, Entity]:
    return reg.objects.get("host", {})


def up_hosts(reg: Registry, cluster_id: str | None) -> list[Entity]:
    """Up hosts of the cluster."""
    if cluster_id is None:
        return []
    return list(up_hosts_in_cluster(reg, cluster_id))


def vms_on_host(reg: Registry, host_id: str) -> list[Vm]:
    """VMs running on the host (including the source side of a migration)."""
    return [
        v
        for v in reg.all(Vm)
        if v.running and (v.host_id == host_id or v.migration_target_id == host_id)
    ]


def _load(reg: Registry) -> dict[str, int]:
    counts: dict[str, int] = {}
    for v in reg.all(Vm):
        if v.running and v.host_id:
            counts[v.host_id] = counts.get(v.host_id, 0) + 1
    return counts


def schedule_host(reg: Registry, vm: Vm, action: str, exclude: str | None = None) -> Entity:
    """SchedulingManager in brief: up hosts, PinToHost and Migration filters, least loaded."""
    hosts = up_hosts(reg, vm.cluster_id)
    if not hosts:
        # SCHEDULING_NO_HOSTS has the default error type: 400 (restapi ErrorMessageHelper).
        raise errors.bad_request(
            "There are no hosts to use. Check that the cluster contains at least one host in "
            "Up state."
        )
    reasons: list[str] = []
    ok = []
    pins = set(vm.config.placement_host_ids)
    for h in sorted(hosts, key=lambda x: x.name):
        if exclude is not None and h.id == exclude:
            reasons.append(
                f"The host {h.name} did not satisfy internal filter Migration because it "
                "currently hosts the VM."
            )
        elif pins and h.id not in pins:
            reasons.append(
                f"The host {h.name} did not satisfy internal filter PinToHost because the "
                "host is not present in the pinning list."
            )
        else:
            ok.append(h)
    if not ok:
        raise errors.failed(
            409,
            f"Cannot {action} {TYPE_NAME}. There is no host that satisfies current scheduling "
            "constraints. See below for details:",
            *reasons,
        )
    load = _load(reg)
    return min(ok, key=lambda h: (load.get(h.id, 0), h.name))


def step_vm(reg: Registry, vm: Vm, timing: str, step: Callable[[], None]) -> None:
    """Run `step` after `timing` unless another transition started meanwhile."""
    seq = vm.seq

    def cb() -> None:
        if vm.seq == seq and reg.objects.get("vm", {}).get(vm.id) is vm:
            step()

    reg.schedule(timing, cb, f"{timing} {vm.name}")


def transition(vm: Vm, status: str) -> None:
    vm.seq += 1
    vm.status = status


def host_name_of(reg: Registry, host_id: str | None) -> str:
    h = hosts_by_id(reg).get(host_id or "")
    return h.name if h is not None else ""


def set_down(reg: Registry, vm: Vm, exit_message: str, correlation_id: str | None = None) -> None:
    """The VM stopped: free its host, apply a staged next-run configuration."""
    host = hosts_by_id(reg).get(vm.host_id or "")
    transition(vm, "down")
    vm.host_id = None
    vm.migration_target_id = None
    vm.start_time = None
    vm.stop_time = reg.clock.wall()
    vm.run_once = False
    vm.run_boot_devices = None
    vm.tickets.clear()
    if vm.next_run is not None:
        vm.config, vm.next_run = vm.next_run, None
    reg.event(
        CODES["VM_DOWN"],
        f"VM {vm.name} is down. {exit_message}".rstrip(),
        correlation_id=correlation_id,
        user=None,
        vm=vm,
        host=host,
    )
    if isinstance(host, Host):
        vms_left_host(reg, host)


def set_up(reg: Registry, vm: Vm, correlation_id: str | None) -> None:
    transition(vm, "up")
    reg.event(
        CODES["USER_RUN_VM"],
        f"VM {vm.name} started on Host {host_name_of(reg, vm.host_id)}",
        correlation_id=correlation_id,
        user=None,
        vm=vm,
        host=hosts_by_id(reg).get(vm.host_id or ""),
    )


def vm_or_404(req: Request) -> Vm:
    return get_or_404(req, Vm)


def cluster_of_vm(reg: Registry, vm: Vm) -> Cluster | None:
    c = reg.objects.get("cluster", {}).get(vm.cluster_id or "")
    return c if isinstance(c, Cluster) else None


def illegal(action: str, vm: Vm) -> errors.ApiError:
    return errors.conflict(
        f"Cannot {action} {TYPE_NAME} because the VM is in {STATUS_WORDS[vm.status]} status."
    )


def check_name(name: str, action: str) -> None:
    if not name:
        raise errors.bad_request(f"Can not {action} {TYPE_NAME}. The given name is empty.")
    if len(name) > 64:
        raise errors.bad_request(f"Cannot {action} {TYPE_NAME}. The given name is too long.")
    if not re.fullmatch(r"[\w.-]+", name):
        raise errors.bad_request(
            f"Cannot {action} {TYPE_NAME}. The given name contains special characters. Only "
            "lower-case and upper-case letters, numbers, '_', '-', '.' are allowed."
        )


def name_taken(reg: Registry, name: str, exclude: Vm | None = None) -> bool:
    return any(v.name == name and v is not exclude for v in reg.all(Vm))


def allocate_mac(reg: Registry) -> str:
    """The next free address of the pool 56:6f:XX:XX:00:00-ff:ff (XX from the seed)."""
    pool = mac_pool(reg)
    used: set[str] = pool["used"]
    for _ in range(65536):
        n = pool["next"]
        pool["next"] = (n + 1) % 65536
        mac = f"{pool['prefix']}:{n >> 8:02x}:{n & 0xFF:02x}"
        if mac not in used:
            used.add(mac)
            return mac
    raise errors.conflict(
        "Cannot add Interface. Not enough MAC addresses left in MAC Address Pool."
    )


def claim_mac(reg: Registry, mac: str, vm_name: str) -> None:
    mac = mac.lower()
    if not re.fullmatch(r"([0-9a-f]{2}:){5}[0-9a-f]{2}", mac) or int(mac[:2], 16) & 1:
        raise errors.bad_request(f"Cannot add Interface. The MAC address {mac} is invalid.")
    pool = mac_pool(reg)
    if mac in pool["used"]:
        owner = next((v.name for v in reg.all(Vm) if any(n.mac == mac for n in v.nics)), vm_name)
        raise errors.conflict(f"MAC Address {mac} is already in use by VM or snapshot: {owner}.")
    pool["used"].add(mac)


def release_mac(reg: Registry, mac: str | None) -> None:
    if mac:
        mac_pool(reg)["used"].discard(mac)

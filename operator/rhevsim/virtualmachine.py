"""Virtual machines (/vms), their NICs (/vms/{id}/nics, /templates/{id}/nics) and power.

States (VmStatus) and the steps the clock runs (timing keys, simulated seconds):

    add from a template with disks: image_locked --vm.create/disk.copy--> down
    start:    down --> wait_for_launch --vm.launch 3--> powering_up --vm.boot 15--> up
              suspended --> restoring_state --vm.restore 8--> up;  paused --> up
    stop:     (running) --> powering_down --vm.stop 1--> down;  suspended --> down
    shutdown: up --> powering_down --vm.shutdown 10--> down  (not up yet: a stop)
    suspend:  up --> saving_state --vm.suspend 8--> suspended
    reboot:   up|powering_up --> reboot_in_progress --vm.reboot 10--> up
    migrate:  up --> migrating --vm.migrate 10--> up on the target;  cancelmigration --> up

A host is chosen by placement: the VM's placement hosts (pinned or preferred) that are up,
else any up host of its cluster, fewest running VMs first. Changes to a running VM's
memory/CPU follow UpdateVmCommand: `?next_run=true` stages them for the next start
(`next_run_configuration_exists`), without it memory grows and sockets change at once
(hot plug, memory in 256 MiB steps), everything else is staged. The staged configuration
becomes current when the VM goes down.

Host helpers for hypervisor.py: `vms_on_host`, `host_lost` (VMs -> unknown),
`host_fenced` (unknown -> down), `evacuation_blockers` and `evacuate` (maintenance).

Inventory `vms:`: `{name, cluster, template (default Blank), memory, cpu: {sockets, cores,
threads}, os, boot, display, type, high_availability, description, status: down|up|
suspended, host (for up), placement: {affinity, hosts: [names]}, disks: [...], nics:
[{name, profile | network, interface, mac}], id}` (disks as in vmtemplate.py).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim import errors
from rhevsim.api import (
    Api,
    Request,
    Response,
    action_complete,
    created,
    delete_complete,
    get_or_404,
    list_response,
    member_or_404,
    ref_from_body,
    require,
    xml_response,
)
from rhevsim.cluster import Cluster
from rhevsim.datacenter import ENGINE_USER
from rhevsim.disk import (
    Disk,
    DiskAttachment,
    attach,
    copy_disk,
    delete_disk,
    disks_of,
    path_owner,
    resolve_storage_domain,
    storage_domain,
)
from rhevsim.event import CODES
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.vmtemplate import (
    BLANK_TEMPLATE_ID,
    MIB,
    Template,
    VmConfig,
    config_from_inventory,
    parse_config,
    render_config,
)
from rhevsim.xmlutil import DECLARATION, Element, boolean, enum, fmt_time, has, text, xml_bool

if TYPE_CHECKING:
    from rhevsim.job import Job
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
# Link-only sub-collections, served as empty lists (element names of the engine's).
VM_LINK_PLURALS = {
    "affinitylabels": "affinity_labels",
    "applications": "applications",
    "backups": "backups",
    "cdroms": "cdroms",
    "checkpoints": "checkpoints",
    "graphicsconsoles": "graphics_consoles",
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
        "VM_WAS_SET_DOWN_DUE_TO_HOST_REBOOT_OR_MANUAL_FENCE": 143,
        "USER_STARTED_VM": 153,
        "USER_REBOOT_VM": 157,
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
}


# ---------------------------------------------------------------------- entities


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


def follow_collection(
    ctx: Ctx, el: Element, obj: Entity, rel: str, plural: str, items: list[Any]
) -> None:
    """The `<link rel=..>`, and the objects inline when `follow` names the link (`rel`) or
    the element (`plural`, e.g. follow=disk_attachments.disk)."""
    ctx.link(el, obj, rel)
    for key in (plural, rel):
        if key in ctx.follow or any(f.startswith(key + ".") for f in ctx.follow):
            coll = etree.SubElement(el, plural)
            inner = ctx.nested(key)
            for item in items:
                coll.append(item.render(inner))
            return


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
    follow_collection(ctx, el, vm, "diskattachments", "disk_attachments", vm.disk_attachments)
    for rel in VM_LINKS[5:]:
        sub(el, "link", {"href": prefix + rel, "rel": rel})
    follow_collection(ctx, el, vm, "nics", "nics", vm.nics)
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


# ---------------------------------------------------------------------- hosts and placement


def _hosts(reg: Registry) -> dict[str, Entity]:
    return reg.objects.get("host", {})


def up_hosts(reg: Registry, cluster_id: str | None) -> list[Entity]:
    """Up hosts of the cluster (hypervisor.up_hosts_in_cluster when that module exists)."""
    if cluster_id is None:
        return []
    try:
        from rhevsim import hypervisor

        fn = getattr(hypervisor, "up_hosts_in_cluster", None)
    except ImportError:
        fn = None
    if fn is not None:
        return list(fn(reg, cluster_id))
    return [
        h
        for h in _hosts(reg).values()
        if getattr(h, "status", None) == "up" and getattr(h, "cluster_id", None) == cluster_id
    ]


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


def _schedule_host(reg: Registry, vm: Vm, action: str, exclude: str | None = None) -> Entity:
    """SchedulingManager in brief: up hosts, PinToHost and Migration filters, least loaded."""
    hosts = up_hosts(reg, vm.cluster_id)
    if not hosts:
        raise errors.conflict(
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


# ---------------------------------------------------------------------- transitions


def _later(reg: Registry, vm: Vm, timing: str, step: Callable[[], None]) -> None:
    """Run `step` after `timing` unless another transition started meanwhile."""
    seq = vm.seq

    def cb() -> None:
        if vm.seq == seq and reg.objects.get("vm", {}).get(vm.id) is vm:
            step()

    reg.schedule(timing, cb, f"{timing} {vm.name}")


def _transition(vm: Vm, status: str) -> None:
    vm.seq += 1
    vm.status = status


def _host_name(reg: Registry, host_id: str | None) -> str:
    h = _hosts(reg).get(host_id or "")
    return h.name if h is not None else ""


def set_down(reg: Registry, vm: Vm, exit_message: str, correlation_id: str | None = None) -> None:
    """The VM stopped: free its host, apply a staged next-run configuration."""
    host = _hosts(reg).get(vm.host_id or "")
    _transition(vm, "down")
    vm.host_id = None
    vm.migration_target_id = None
    vm.start_time = None
    vm.stop_time = reg.clock.now()
    vm.run_once = False
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


def _set_up(reg: Registry, vm: Vm, correlation_id: str | None) -> None:
    _transition(vm, "up")
    reg.event(
        CODES["USER_RUN_VM"],
        f"VM {vm.name} started on Host {_host_name(reg, vm.host_id)}",
        correlation_id=correlation_id,
        user=None,
        vm=vm,
        host=_hosts(reg).get(vm.host_id or ""),
    )


# ---------------------------------------------------------------------- lookups


def _get_vm(req: Request) -> Vm:
    return get_or_404(req, Vm)


def _cluster(reg: Registry, vm: Vm) -> Cluster | None:
    c = reg.objects.get("cluster", {}).get(vm.cluster_id or "")
    return c if isinstance(c, Cluster) else None


def _illegal(action: str, vm: Vm) -> errors.ApiError:
    return errors.conflict(
        f"Cannot {action} {TYPE_NAME} because the VM is in {STATUS_WORDS[vm.status]} status."
    )


def _check_name(name: str, action: str) -> None:
    if not name:
        raise errors.bad_request(f"Can not {action} {TYPE_NAME}. The given name is empty.")
    if len(name) > 64:
        raise errors.bad_request(f"Cannot {action} {TYPE_NAME}. The given name is too long.")
    if not re.fullmatch(r"[\w.-]+", name):
        raise errors.bad_request(
            f"Cannot {action} {TYPE_NAME}. The given name contains special characters. Only "
            "lower-case and upper-case letters, numbers, '_', '-', '.' are allowed."
        )


def _name_taken(reg: Registry, name: str, exclude: Vm | None = None) -> bool:
    return any(v.name == name and v is not exclude for v in reg.all(Vm))


# ---------------------------------------------------------------------- CRUD handlers


def _list(req: Request) -> Response:
    ctx = req.ctx
    if ctx.follow:
        return list_response(req, req.reg.all(Vm), "vms")
    items = select(req, req.reg.all(Vm))
    parts = [DECLARATION, b"<vms>\n" if items else b"<vms/>\n"]
    parts.extend(_collection_bytes(ctx, vm) for vm in items)
    if items:
        parts.append(b"</vms>\n")
    return Response(200, b"".join(parts))


def _fingerprint(ctx: Ctx, vm: Vm) -> tuple[Any, ...]:
    """Everything render_vm shows without follow (disk and NIC links are constant)."""
    cluster = ctx.reg.objects.get("cluster", {}).get(vm.cluster_id or "")
    return (
        ctx.base,
        ctx.all_content,
        vm.name,
        vm.description,
        vm.comment,
        vm.status,
        vm.host_id,
        vm.cluster_id,
        vm.template_id,
        vm.original_template_id,
        vm.creation_time,
        vm.start_time,
        vm.stop_time,
        vm.stop_reason,
        vm.run_once,
        vm.next_run is None,
        getattr(cluster, "cpu_architecture", None),
        tuple(vars(vm.config).values()),
    )


def _collection_bytes(ctx: Ctx, vm: Vm) -> bytes:
    key = _fingerprint(ctx, vm)
    cached = vm.xml_cache
    if cached is not None and cached[0] == key:
        return cached[1]
    raw = etree.tostring(vm.render(ctx), encoding="UTF-8", pretty_print=True)
    # Indent tag lines one level; continuation lines of a multi-line text stay as they are
    # ("<" never starts text: it is escaped).
    data = b"".join(
        b"  " + line if line.lstrip().startswith(b"<") else line
        for line in raw.splitlines(keepends=True)
    )
    vm.xml_cache = (key, data)
    return data


def select(req: Request, objs: list[Vm]) -> list[Vm]:
    """search / case_sensitive / sortby / page / max, as api.list_response applies them."""
    from rhevsim.api import SEARCH_PAGE_SIZE, max_param, search_sort_key
    from rhevsim.search import compile_query

    items = list(objs)
    query = req.query.get("search")
    if query and items:
        case_sensitive = req.query_bool("case_sensitive", False)
        reg = req.reg
        q = compile_query(query, set(items[0].search_fields(reg)), case_sensitive)
        items = [o for o in items if q.predicate(o.search_fields(reg))]
        if q.sortby:
            key = q.sortby
            items.sort(key=lambda o: search_sort_key(o.search_fields(reg).get(key)))
            if q.descending:
                items.reverse()
        else:
            items.sort(key=lambda o: o.name.lower())
        if q.page is not None:
            size = max_param(req) or SEARCH_PAGE_SIZE
            items = items[(q.page - 1) * size : q.page * size]
    else:
        # Top-level lists are engine searches ("Vms:") even without a query: sorted by name.
        items.sort(key=lambda o: o.name.lower())
    m = max_param(req)
    if m is not None and m >= 0:
        items = items[:m]
    return items


def _get(req: Request) -> Response:
    vm = _get_vm(req)
    if req.query_bool("next_run") and vm.next_run is not None:
        return xml_response(render_vm(req.ctx, vm, vm.next_run))
    return xml_response(vm.render(req.ctx))


def _disk_targets(
    req: Request, body: Element | None
) -> dict[str, tuple[Entity | None, str | None]]:
    """`disk_attachments/disk_attachment/disk[@id]` overrides: target domain and format."""
    out: dict[str, tuple[Entity | None, str | None]] = {}
    if body is None:
        return out
    for da in body.findall("disk_attachments/disk_attachment"):
        d = da.find("disk")
        if d is None:
            continue
        ident = d.get("id") or da.get("id")
        sd = resolve_storage_domain(req, d.find("storage_domains/storage_domain"))
        fmt = enum(d, "format", ("cow", "raw"), "DiskFormat")
        if ident:
            out[ident] = (sd, fmt)
    return out


def _add(req: Request) -> Response:
    reg = req.reg
    body = req.body
    require(body, "Vm", "add", "name")
    cl_el = body.find("cluster") if body is not None else None
    cluster = ref_from_body(req, Cluster, cl_el)
    if cluster is None:
        raise errors.incomplete("Vm", ["cluster.id|name"], "add")
    tmpl = ref_from_body(req, Template, body.find("template") if body is not None else None)
    if tmpl is None:
        tmpl = reg.get(Template, BLANK_TEMPLATE_ID)
        assert tmpl is not None
    name = text(body, "name") or ""
    _check_name(name, "add")
    if cluster.data_center_id is None:
        raise errors.bad_request("Cannot add VM. Cluster ID is not valid.")
    reg.check_unlocked(tmpl, "add", TYPE_NAME)
    if tmpl.status != "ok":
        raise errors.conflict("Template's Image is locked (temporarily).")
    if tmpl.id != BLANK_TEMPLATE_ID:
        tcl = reg.objects.get("cluster", {}).get(tmpl.cluster_id or "")
        if getattr(tcl, "data_center_id", None) != cluster.data_center_id:
            raise errors.bad_request(
                "The specified Template doesn't exist in the current Data Center."
            )
    if _name_taken(reg, name):
        raise errors.conflict(
            "Cannot add VM. The VM name is already in use, please choose a unique name and try "
            "again."
        )
    cfg = parse_config(req, body, tmpl.config, "add", TYPE_NAME)
    cfg.delete_protected = bool(boolean(body, "delete_protected"))
    _check_placement(reg, cfg, cluster, "add")
    clone = req.query_bool("clone")
    targets = _disk_targets(req, body)
    src_disks = disks_of(reg, tmpl)
    from rhevsim.disk import check_domain_usable

    for d in src_disks:
        sd = targets.get(d.id, (None, None))[0] or storage_domain(reg, d.storage_domain_id)
        if sd is not None:
            check_domain_usable(reg, sd, cluster.data_center_id, "add", TYPE_NAME)
    job = reg.start_job(f"Creating VM {name} from Template {tmpl.name}", req.correlation_id)
    vm = reg.add(
        Vm(
            id=reg.new_id(),
            name=name,
            description=text(body, "description"),
            comment=text(body, "comment"),
            cluster_id=cluster.id,
            template_id=BLANK_TEMPLATE_ID if clone else tmpl.id,
            original_template_id=tmpl.id,
            config=cfg,
            creation_time=reg.clock.now(),
        )
    )
    for n in tmpl.nics:
        vm.nics.append(n.copy_to(reg, vm, allocate_mac(reg)))
    copies: list[Disk] = []
    for a in tmpl.disk_attachments:
        src = reg.objects.get("disk", {}).get(a.id)
        if not isinstance(src, Disk):
            continue
        sd, fmt = targets.get(src.id, (None, None))
        d = copy_disk(reg, src, src.name, sd)
        if clone:
            d.format = fmt or src.format
            d.sparse = d.format == "cow" or src.sparse
        else:
            d.format, d.sparse = "cow", True  # a thin layer on the template's image
        attach(vm, d, interface=a.interface, bootable=a.bootable, active=a.active)
        copies.append(d)
    if not copies:
        reg.event(
            CODES["USER_ADD_VM"],
            f"VM {name} was created by {ENGINE_USER}.",
            correlation_id=job.correlation_id,
            vm=vm,
            cluster=cluster,
        )
        reg.end_job(job)
        return created(req, vm)
    vm.status = "image_locked"
    vm.lock = "AddVm"
    reg.event(
        CODES["USER_ADD_VM_STARTED"],
        f"VM {name} creation was initiated by {ENGINE_USER}.",
        correlation_id=job.correlation_id,
        vm=vm,
        cluster=cluster,
    )

    def finish() -> None:
        for d in copies:
            d.status = "ok"
            d.lock = None
        if vm.lock == "AddVm":
            vm.lock = None
            vm.status = "down"
        reg.event(
            CODES["USER_ADD_VM_FINISHED_SUCCESS"],
            f"VM {name} creation has been completed.",
            correlation_id=job.correlation_id,
            vm=vm,
        )
        reg.end_job(job)

    reg.schedule("disk.copy" if clone else "vm.create", finish, f"vm.create {name}")
    return created(req, vm, async_work=True)


def _check_placement(reg: Registry, cfg: VmConfig, cluster: Cluster, action: str) -> None:
    for hid in cfg.placement_host_ids:
        h = _hosts(reg).get(hid)
        if h is not None and getattr(h, "cluster_id", None) != cluster.id:
            raise errors.bad_request(
                f"Cannot {action} {TYPE_NAME}. The host {h.name} does not belong to the VM's "
                "cluster."
            )
    if cfg.placement_affinity == "pinned" and not cfg.placement_host_ids and action == "add":
        pass  # the engine pins to "any host" at run time; nothing to check here


HOT_FIELDS = {
    "high_availability",
    "ha_priority",
    "delete_protected",
    "placement_affinity",
    "placement_host_ids",
}


def _update(req: Request) -> Response:
    reg = req.reg
    vm = _get_vm(req)
    body = req.body
    reg.check_unlocked(vm, "edit")
    name = text(body, "name")
    if name is not None and name != vm.name:
        _check_name(name, "edit")
        if _name_taken(reg, name, vm):
            raise errors.conflict(
                "Cannot edit VM. The VM name is already in use, please choose a unique name "
                "and try again."
            )
    new_cluster = ref_from_body(req, Cluster, body.find("cluster") if body is not None else None)
    if new_cluster is not None and new_cluster.id != vm.cluster_id and vm.status != "down":
        raise _illegal("change cluster of", vm)
    next_run = req.query_bool("next_run")
    staged_base = vm.next_run or vm.config
    cfg = parse_config(req, body, staged_base, "edit", TYPE_NAME)
    cluster = new_cluster or _cluster(reg, vm)
    if cluster is not None:
        _check_placement(reg, cfg, cluster, "edit")
    now: VmConfig
    staged: VmConfig | None
    if vm.status == "down":
        now, staged = cfg, None
    else:
        now, staged = _split_running_update(vm, cfg, next_run)
    with reg.job(f"Editing VM {vm.name}", req.correlation_id) as job:
        if name is not None:
            vm.name = name
        if has(body, "description"):
            vm.description = text(body, "description") or ""
        if has(body, "comment"):
            vm.comment = text(body, "comment") or ""
        if new_cluster is not None:
            vm.cluster_id = new_cluster.id
        vm.config = now
        vm.next_run = staged if staged is not None and staged.diff(now) else None
        reg.event(
            CODES["USER_UPDATE_VM"],
            f"VM {vm.name} configuration was updated by {ENGINE_USER}.",
            correlation_id=job.correlation_id,
            vm=vm,
        )
    if next_run and vm.next_run is not None:
        return xml_response(render_vm(req.ctx, vm, vm.next_run))
    return xml_response(vm.render(req.ctx))


def _split_running_update(
    vm: Vm, cfg: VmConfig, next_run: bool
) -> tuple[VmConfig, VmConfig | None]:
    """What a running VM takes now (hot) and what waits for the next run (UpdateVmCommand)."""
    cur = vm.config
    now = cur.copy()
    changed = cfg.diff(cur)
    for key in changed & HOT_FIELDS:
        setattr(now, key, getattr(cfg, key))
    if not next_run and vm.status == "up":
        delta = cfg.memory - cur.memory
        if delta > 0:
            if delta % HOTPLUG_MEMORY_FACTOR:
                raise errors.bad_request(
                    f"Cannot edit {TYPE_NAME}. Amount of added memory ({delta // MIB}MiB) is "
                    f"not dividable by {HOTPLUG_MEMORY_FACTOR // MIB}MiB."
                )
            now.memory = cfg.memory  # memory hot plug
            now.memory_guaranteed = cfg.memory_guaranteed
        if cfg.sockets != cur.sockets:
            now.sockets = cfg.sockets  # CPU hot plug (cores/threads wait for the next run)
    staged = cfg if cfg.diff(now) else None
    return now, staged


def _remove(req: Request) -> Response:
    reg = req.reg
    vm = _get_vm(req)
    force = req.query_bool("force")
    detach_only = req.query_bool("detach_only")
    if vm.lock is not None and not force:
        raise errors.locked("remove", TYPE_NAME)
    if vm.config.delete_protected:
        raise errors.conflict(
            "Cannot remove VM. Delete protection is enabled. In order to delete, disable Delete "
            "protection first."
        )
    if vm.status == "suspended":
        raise errors.conflict(
            "Cannot remove VM that its state is not down.\n-Please stop the VM first."
        )
    if vm.status not in ("down", "unassigned", "image_locked"):
        raise errors.conflict("Cannot remove VM. VM is running.")
    disks = disks_of(reg, vm)
    locked = [d.name for d in disks if d.lock is not None]
    if locked and not force:
        raise errors.conflict(
            f"Cannot remove VM: The following disks are locked: {', '.join(locked)}. Please "
            "try again in a few minutes."
        )
    with reg.job(f"Removing VM {vm.name}", req.correlation_id) as job:
        for n in vm.nics:
            release_mac(reg, n.mac)
        vm.seq += 1
        reg.remove(vm)
        if not detach_only:
            for d in disks:
                if any(o is not vm for o in _other_owners(reg, d, vm)):
                    continue  # a shared disk stays with its other VMs
                delete_disk(reg, d)
        reg.event(
            CODES["USER_REMOVE_VM_FINISHED"],
            f"VM {vm.name} was successfully removed by {ENGINE_USER}.",
            correlation_id=job.correlation_id,
            vm=vm,
        )
    return delete_complete(req)


def _other_owners(reg: Registry, disk: Disk, vm: Vm) -> list[Any]:
    from rhevsim.disk import owners_of

    return [o for o in owners_of(reg, disk.id) if o is not vm]


# ---------------------------------------------------------------------- power actions


def _start(req: Request) -> Response:
    reg = req.reg
    vm = _get_vm(req)
    reg.check_unlocked(vm, "run")
    if vm.status == "paused":
        with reg.job(f"Resuming VM {vm.name}", req.correlation_id) as job:
            _transition(vm, "up")
            reg.event(
                CODES["USER_RESUME_VM"],
                f"VM {vm.name} was resumed by {ENGINE_USER} (Host: {_host_name(reg, vm.host_id)}).",
                correlation_id=job.correlation_id,
                vm=vm,
            )
        return action_complete(req, job)
    if vm.status not in ("down", "suspended"):
        raise _illegal("run", vm)
    if vm.config.boot_devices == ["hd"] and not vm.disk_attachments:
        raise errors.conflict(
            "Cannot run VM without at least one bootable disk.\nAlternatives:\n- Create a disk "
            "for this VM, and rerun the VM.\n- Change the boot sequence using the Edit VM "
            "command (Boot Option Sub-Tab).\n- Use the 'Run Once' command to select a "
            "different boot option and rerun the VM."
        )
    if vm.config.boot_devices == ["network"] and not vm.nics:
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
            from rhevsim.disk import sd_status_name

            raise errors.conflict(
                f"Cannot run VM. The relevant Storage Domain's status is "
                f"{sd_status_name(str(status))}."
            )
    host = _schedule_host(reg, vm, "run")
    job = reg.start_job(f"Launching VM {vm.name}", req.correlation_id)
    cid = job.correlation_id
    vm.host_id = host.id
    vm.stop_reason = None
    vm.stop_time = None
    if vm.status == "suspended":
        _transition(vm, "restoring_state")

        def restored() -> None:
            vm.start_time = reg.clock.now()
            _set_up(reg, vm, cid)
            reg.end_job(job)

        _later(reg, vm, "vm.restore", restored)
    else:
        _transition(vm, "wait_for_launch")
        vm.run_once = req.body is not None and req.body.find("vm") is not None

        def launched() -> None:
            _transition(vm, "powering_up")
            vm.start_time = reg.clock.now()
            _later(reg, vm, "vm.boot", booted)

        def booted() -> None:
            _set_up(reg, vm, cid)
            reg.end_job(job)

        _later(reg, vm, "vm.launch", launched)
    reg.event(
        CODES["USER_STARTED_VM"],
        f"VM {vm.name} was started by {ENGINE_USER} (Host: {host.name}).",
        correlation_id=cid,
        vm=vm,
        host=host,
    )
    return action_complete(req, job)


def _reason(req: Request) -> str:
    r = text(req.body, "reason")
    return f" (Reason: {r})" if r else ""


def _stop(req: Request) -> Response:
    reg = req.reg
    vm = _get_vm(req)
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
    host_name = _host_name(reg, vm.host_id)
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
        host=_hosts(reg).get(vm.host_id or ""),
    )
    return _power_down_later(
        req, vm, job, "vm.stop", "Exit message: Admin shut down from the engine"
    )


def _power_down_later(req: Request, vm: Vm, job: Job, timing: str, exit_msg: str) -> Response:
    """powering_down now, down with `exit_msg` after `timing` (stop and shutdown)."""
    reg = req.reg
    vm.stop_reason = text(req.body, "reason")
    _transition(vm, "powering_down")

    def down() -> None:
        set_down(reg, vm, exit_msg, job.correlation_id)
        reg.end_job(job)

    _later(reg, vm, timing, down)
    return action_complete(req, job)


def _shutdown(req: Request) -> Response:
    reg = req.reg
    vm = _get_vm(req)
    reg.check_unlocked(vm, "shutdown")
    if vm.status not in ("up", "migrating", "reboot_in_progress", "powering_down"):
        return _power_off(req, vm, "shutdown")
    job = reg.start_job(f"Shutting down VM {vm.name}", req.correlation_id)
    reg.event(
        CODES["USER_INITIATED_SHUTDOWN_VM"],
        f"VM shutdown initiated by {ENGINE_USER} on VM {vm.name} (Host: "
        f"{_host_name(reg, vm.host_id)}){_reason(req)}.",
        correlation_id=job.correlation_id,
        vm=vm,
        host=_hosts(reg).get(vm.host_id or ""),
    )
    vm.migration_target_id = None
    return _power_down_later(
        req, vm, job, "vm.shutdown", "Exit message: User shut down from within the guest"
    )


def _suspend(req: Request) -> Response:
    reg = req.reg
    vm = _get_vm(req)
    reg.check_unlocked(vm, "hibernate")
    if vm.status in ("wait_for_launch", "not_responding"):
        raise _illegal("hibernate", vm)
    if vm.status != "up":
        raise errors.conflict(f"Cannot hibernate {TYPE_NAME}. VM is not up.")
    if vm.config.stateless:
        raise errors.conflict("Cannot suspend VM, VM is stateless.")
    job = reg.start_job(f"Suspending VM {vm.name}", req.correlation_id)
    host = _hosts(reg).get(vm.host_id or "")
    reg.event(
        CODES["USER_SUSPEND_VM"],
        f"Suspending VM {vm.name} was initiated by User {ENGINE_USER} (Host: "
        f"{_host_name(reg, vm.host_id)}).",
        correlation_id=job.correlation_id,
        vm=vm,
        host=host,
    )
    _transition(vm, "saving_state")

    def saved() -> None:
        _transition(vm, "suspended")
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

    _later(reg, vm, "vm.suspend", saved)
    return action_async(req, job)


def action_async(req: Request, job: Entity) -> Response:
    from rhevsim.api import action_async as _async

    return _async(req, job)


def _reboot(req: Request) -> Response:
    reg = req.reg
    vm = _get_vm(req)
    reg.check_unlocked(vm, "restart")
    if vm.status not in ("up", "powering_up"):
        raise _illegal("restart", vm)
    job = reg.start_job(f"Rebooting VM {vm.name}", req.correlation_id)
    reg.event(
        CODES["USER_REBOOT_VM"],
        f"VM {vm.name} is rebooting. Rebooted by: {ENGINE_USER}",
        correlation_id=job.correlation_id,
        vm=vm,
        host=_hosts(reg).get(vm.host_id or ""),
    )
    _transition(vm, "reboot_in_progress")

    def rebooted() -> None:
        _set_up(reg, vm, job.correlation_id)
        reg.end_job(job)

    _later(reg, vm, "vm.reboot", rebooted)
    return action_complete(req, job)


def _migrate_target(req: Request, vm: Vm) -> Entity | None:
    el = req.body.find("host") if req.body is not None else None
    if el is None or (not el.get("id") and not text(el, "name")):
        return None
    ident, name = el.get("id"), text(el, "name")
    hosts = _hosts(req.reg)
    target = (
        hosts.get(ident) if ident else next((h for h in hosts.values() if h.name == name), None)
    )
    if target is None:
        if ident:
            raise errors.bad_request(f"Cannot migrate {TYPE_NAME}. Invalid Host Id.")
        raise errors.entity_not_found("Host", "name", name or "")
    return target


def _migrate(req: Request) -> Response:
    reg = req.reg
    vm = _get_vm(req)
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
        raise _illegal("migrate", vm)
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
        target = _schedule_host(reg, vm, "migrate", exclude=vm.host_id)
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
    source = _hosts(reg).get(vm.host_id or "")
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
    _transition(vm, "migrating")

    def arrived() -> None:
        vm.host_id = target.id
        vm.migration_target_id = None
        _transition(vm, "up")
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
    _later(reg, vm, "vm.migrate", arrived)


def _cancel_migration(req: Request) -> Response:
    reg = req.reg
    vm = _get_vm(req)
    reg.check_unlocked(vm, "cancel migration")
    if vm.status != "migrating":
        raise errors.conflict("Cannot cancel migration for non migrating VM.")
    with reg.job(f"Cancelling migration of VM {vm.name}", req.correlation_id) as job:
        vm.migration_target_id = None
        _transition(vm, "up")
        reg.event(
            CODES["VM_CANCEL_MIGRATION"],
            f"Migration cancelled (VM: {vm.name}, Source: {_host_name(reg, vm.host_id)}, User: "
            f"{ENGINE_USER}).",
            correlation_id=job.correlation_id,
            vm=vm,
            host=_hosts(reg).get(vm.host_id or ""),
        )
    return action_complete(req, job)


def _simple(verb: str, description: str) -> Callable[[Request], Response]:
    def handler(req: Request) -> Response:
        vm = _get_vm(req)
        req.reg.check_unlocked(vm, verb)
        job = req.reg.start_job(f"{description} {vm.name}", req.correlation_id)
        req.reg.end_job(job)
        return action_complete(req, job)

    return handler


# ---------------------------------------------------------------------- host events


def host_lost(reg: Registry, host: Entity) -> list[Vm]:
    """The host stopped answering: its VMs become unknown (VM_SET_TO_UNKNOWN_STATUS)."""
    out = []
    for vm in vms_on_host(reg, host.id):
        if vm.migration_target_id == host.id and vm.host_id != host.id:
            vm.migration_target_id = None  # the target vanished: stay on the source
            _transition(vm, "up")
            continue
        _transition(vm, "unknown")
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
    """The host was fenced or confirmed rebooted: its unknown VMs are down."""
    out = []
    for vm in reg.all(Vm):
        if vm.host_id == host.id and vm.status in ("unknown", "not_responding"):
            reg.event(
                CODES["VM_WAS_SET_DOWN_DUE_TO_HOST_REBOOT_OR_MANUAL_FENCE"],
                f"Vm {vm.name} was shut down due to {host.name} host reboot or manual fence",
                user=None,
                vm=vm,
                host=host,
            )
            set_down(reg, vm, "Exit message: VM was set down due to host fencing")
            out.append(vm)
    return out


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


def evacuate(reg: Registry, host: Entity, correlation_id: str | None = None) -> list[Vm]:
    """Host maintenance: migrate its running VMs to other up hosts. Returns the VMs that
    started migrating; callers check `evacuation_blockers` first."""
    moved = []
    for vm in vms_on_host(reg, host.id):
        if vm.host_id != host.id or vm.status not in ("up", "powering_up", "paused"):
            continue
        try:
            target = _schedule_host(reg, vm, "migrate", exclude=host.id)
        except errors.ApiError:
            continue
        job = reg.start_job(f"Migrating VM {vm.name}", correlation_id)
        start_migration(
            reg, vm, target, job, user_initiated=False, reason="Host preparing for maintenance"
        )
        moved.append(vm)
    return moved


# ---------------------------------------------------------------------- MAC pool


def _mac_pool(reg: Registry) -> dict[str, Any]:
    pool = reg.config.get("_vm_mac_pool")
    if pool is None:
        rnd = random.Random(reg.seed * 7 + 13)
        prefix = f"56:6f:{rnd.randrange(256):02x}:{rnd.randrange(256):02x}"
        pool = {"prefix": prefix, "next": 0, "used": set()}
        reg.config["_vm_mac_pool"] = pool
    return pool


def allocate_mac(reg: Registry) -> str:
    """The next free address of the pool 56:6f:XX:XX:00:00-ff:ff (XX from the seed)."""
    pool = _mac_pool(reg)
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
    pool = _mac_pool(reg)
    if mac in pool["used"]:
        owner = next((v.name for v in reg.all(Vm) if any(n.mac == mac for n in v.nics)), vm_name)
        raise errors.conflict(f"MAC Address {mac} is already in use by VM or snapshot: {owner}.")
    pool["used"].add(mac)


def release_mac(reg: Registry, mac: str | None) -> None:
    if mac:
        _mac_pool(reg)["used"].discard(mac)


# ---------------------------------------------------------------------- NIC handlers


NIC_FORBIDDEN = frozenset(
    {
        "wait_for_launch",
        "powering_down",
        "powering_up",
        "reboot_in_progress",
        "migrating",
        "suspended",
        "paused",
        "saving_state",
        "restoring_state",
        "image_locked",
        "not_responding",
        "unassigned",
        "unknown",
    }
)


def _nic(owner: Any, ident: str) -> Nic:
    return member_or_404(owner.nics, ident)  # type: ignore[no-any-return]


def _profile(req: Request, owner: Any, el: Element | None, action: str) -> str | None:
    """The vNIC profile id of `<vnic_profile id=..>`; it must serve the owner's cluster."""
    if el is None:
        return None
    ident = el.get("id")
    if not ident:
        return None  # an empty profile: the NIC is unplugged from any network
    profile = req.reg.objects.get("vnicprofile", {}).get(ident)
    if profile is None:
        raise errors.bad_request(
            f"Cannot {action} Interface. The specified VM network interface profile doesn't exist."
        )
    net = req.reg.objects.get("network", {}).get(getattr(profile, "network_id", ""))
    cluster_id = owner.cluster_id
    if cluster_id is not None and (net is None or cluster_id not in getattr(net, "clusters", {})):
        raise errors.conflict("The specified Logical Network doesn't exist in the current Cluster.")
    return ident


def _nic_event(reg: Registry, code: str, nic: Nic, owner: Any, verb: str, cid: str | None) -> None:
    where = "from" if verb == "removed" else "for" if verb == "updated" else "to"
    kind = "VM" if owner.KIND == "vm" else "Template"
    reg.event(
        CODES[code],
        f"Interface {nic.name} ({NIC_TYPE_WORDS.get(nic.interface, nic.interface)}) was {verb} "
        f"{where} {kind} {owner.name}. (User: {ENGINE_USER})",
        correlation_id=cid,
        **({"vm": owner} if owner.KIND == "vm" else {"template": owner}),
    )


def _list_nics(req: Request) -> Response:
    return list_response(req, path_owner(req).nics, "nics", searchable=False)


def _get_nic(req: Request) -> Response:
    return xml_response(_nic(path_owner(req), req.params["nic"]).render(req.ctx))


def _add_nic(req: Request) -> Response:
    reg = req.reg
    owner = path_owner(req)
    body = req.body
    require(body, "Nic", "add", "name")
    reg.check_unlocked(owner, "add", "Interface")
    if owner.KIND == "vm" and owner.status in NIC_FORBIDDEN:
        raise errors.conflict(
            f"Cannot add Interface because the VM is in {STATUS_WORDS[owner.status]} status."
        )
    name = text(body, "name") or ""
    if any(n.name == name for n in owner.nics):
        raise errors.conflict("Network interface name is already in use")
    interface = enum(body, "interface", NIC_INTERFACES, "NicInterface") or "virtio"
    profile_id = _profile(
        req, owner, body.find("vnic_profile") if body is not None else None, "add"
    )
    mac: str | None = None
    if owner.KIND == "vm":
        given = text(body, "mac/address")
        if given:
            claim_mac(reg, given, owner.name)
            mac = given.lower()
        else:
            mac = allocate_mac(reg)
    linked, plugged = boolean(body, "linked"), boolean(body, "plugged")
    with reg.job(f"Adding Interface {name} to {owner.name}", req.correlation_id) as job:
        nic = Nic(
            id=reg.new_id(),
            name=name,
            owner_path=owner.PATH,
            owner_id=owner.id,
            interface=interface,
            mac=mac,
            vnic_profile_id=profile_id,
            linked=True if linked is None else linked,
            plugged=True if plugged is None else plugged,
        )
        nic.description = text(body, "description")
        owner.nics.append(nic)
        _nic_event(reg, "NETWORK_ADD_VM_INTERFACE", nic, owner, "added", job.correlation_id)
    return created(req, nic)


def _update_nic(req: Request) -> Response:
    reg = req.reg
    owner = path_owner(req)
    nic = _nic(owner, req.params["nic"])
    body = req.body
    reg.check_unlocked(owner, "update", "Interface")
    if owner.KIND == "vm" and owner.status in NIC_FORBIDDEN:
        raise errors.conflict(
            f"Cannot update Interface because the VM is in {STATUS_WORDS[owner.status]} status."
        )
    name = text(body, "name")
    if name is not None and name != nic.name and any(n.name == name for n in owner.nics):
        raise errors.conflict("Network interface name is already in use")
    interface = enum(body, "interface", NIC_INTERFACES, "NicInterface")
    if (
        interface is not None
        and interface != nic.interface
        and owner.KIND == "vm"
        and owner.running
        and nic.plugged
    ):
        raise errors.conflict(
            "Cannot update Interface. Updating the interface type requires unplugging the "
            "interface first."
        )
    profile_el = body.find("vnic_profile") if body is not None else None
    profile_id = _profile(req, owner, profile_el, "update")
    new_mac = text(body, "mac/address")
    if new_mac is not None and owner.KIND == "vm" and new_mac.lower() != nic.mac:
        claim_mac(reg, new_mac, owner.name)
        release_mac(reg, nic.mac)
        nic.mac = new_mac.lower()
    with reg.job(f"Updating Interface {nic.name} of {owner.name}", req.correlation_id) as job:
        if name is not None:
            nic.name = name
        if interface is not None:
            nic.interface = interface
        if profile_el is not None:
            nic.vnic_profile_id = profile_id
        for key in ("linked", "plugged"):
            v = boolean(body, key)
            if v is not None:
                setattr(nic, key, v)
        if has(body, "description"):
            nic.description = text(body, "description") or ""
        _nic_event(reg, "NETWORK_UPDATE_VM_INTERFACE", nic, owner, "updated", job.correlation_id)
    return xml_response(nic.render(req.ctx))


def _remove_nic(req: Request) -> Response:
    reg = req.reg
    owner = path_owner(req)
    nic = _nic(owner, req.params["nic"])
    reg.check_unlocked(owner, "remove", "Interface")
    if owner.KIND == "vm" and owner.status in NIC_FORBIDDEN:
        raise errors.conflict(
            f"Cannot remove Interface because the VM is in {STATUS_WORDS[owner.status]} status."
        )
    with reg.job(f"Removing Interface {nic.name} from {owner.name}", req.correlation_id) as job:
        owner.nics.remove(nic)
        release_mac(reg, nic.mac)
        _nic_event(reg, "NETWORK_REMOVE_VM_INTERFACE", nic, owner, "removed", job.correlation_id)
    return delete_complete(req)


# ---------------------------------------------------------------------- registration


def register(api: Api) -> None:
    api.route("GET", "/vms", _list)
    api.route("POST", "/vms", _add)
    api.route("GET", "/vms/{id}", _get)
    api.route("PUT", "/vms/{id}", _update)
    api.route("DELETE", "/vms/{id}", _remove)
    api.action("/vms/{id}", "start", _start)
    api.action("/vms/{id}", "stop", _stop)
    api.action("/vms/{id}", "shutdown", _shutdown)
    api.action("/vms/{id}", "suspend", _suspend)
    api.action("/vms/{id}", "reboot", _reboot)
    api.action("/vms/{id}", "migrate", _migrate)
    api.action("/vms/{id}", "cancelmigration", _cancel_migration)
    api.action("/vms/{id}", "export", _simple("export", "Exporting VM"))
    api.action("/vms/{id}", "reordermacaddresses", _simple("reorder MACs of", "Reordering MACs"))
    from rhevsim.api import empty_collections

    empty_collections(api, Vm, "/vms/{id}", VM_LINK_PLURALS)
    nic_links = {
        "networkfilterparameters": "network_filter_parameters",
        "reporteddevices": "reported_devices",
        "statistics": "statistics",
    }
    empty_collections(api, Vm, "/vms/{id}/nics/{nic}", nic_links)
    empty_collections(api, Template, "/templates/{id}/nics/{nic}", nic_links)
    for owner in ("vms", "templates"):
        base = f"/{owner}/{{id}}/nics"
        api.route("GET", base, _list_nics)
        api.route("POST", base, _add_nic)
        api.route("GET", base + "/{nic}", _get_nic)
        api.route("PUT", base + "/{nic}", _update_nic)
        api.route("DELETE", base + "/{nic}", _remove_nic)


def setup(reg: Registry) -> None:
    reg.register_timings(TIMINGS)
    try:
        from rhevsim import hypervisor
    except ImportError:
        return
    hook = getattr(hypervisor, "on_status_change", None)
    if hook is not None:
        hook(reg, _host_status_changed)


def _host_status_changed(reg: Registry, host: Entity, old: str) -> None:
    """Follow the hosts: unknown with a dead host, migrate away from maintenance, down when
    the host was fenced, back to up when it answers again."""
    new = getattr(host, "status", "")
    if old == "fenced" or new in ("reboot", "down", "installing", "install_failed"):
        host_fenced(reg, host)
    elif new == "non_responsive":
        host_lost(reg, host)
    elif new == "preparing_for_maintenance":
        evacuate(reg, host)
    elif new == "maintenance":
        for vm in vms_on_host(reg, host.id):
            if vm.status == "migrating" and vm.finish_migration is not None:
                vm.finish_migration()  # maintenance waits for the migrations it started
            elif vm.host_id == host.id:  # could not migrate (pinned): it was powered off
                set_down(
                    reg, vm, "Exit message: VM was shut down because its host moved to maintenance"
                )
    elif new == "up":
        for vm in reg.all(Vm):
            if vm.host_id == host.id and vm.status in ("unknown", "not_responding"):
                _transition(vm, "up")


# ---------------------------------------------------------------------- inventory


def nics_from_inventory(reg: Registry, owner: Any, nics: list[Any], where: str) -> None:
    from rhevsim.inventory import InventoryError

    for i, n in enumerate(nics or ()):
        w = f"{where}.nics[{i}]"
        if not isinstance(n, dict) or not n.get("name"):
            raise InventoryError(f"{w}: expected a mapping with a name")
        profile_id = None
        pname = n.get("profile") or n.get("network")
        if pname:
            profile_id = _inventory_profile(reg, owner, str(pname), n.get("network"), w)
        iface = str(n.get("interface", "virtio"))
        if iface not in NIC_INTERFACES:
            raise InventoryError(f"{w}.interface: expected one of {', '.join(NIC_INTERFACES)}")
        mac = None
        if owner.KIND == "vm":
            if n.get("mac"):
                mac = str(n["mac"]).lower()
                _mac_pool(reg)["used"].add(mac)
            else:
                mac = allocate_mac(reg)
        owner.nics.append(
            Nic(
                id=n.get("id") or reg.new_id(),
                name=str(n["name"]),
                owner_path=owner.PATH,
                owner_id=owner.id,
                interface=iface,
                mac=mac,
                vnic_profile_id=profile_id,
            )
        )


def _inventory_profile(reg: Registry, owner: Any, pname: str, network: Any, where: str) -> str:
    from rhevsim.inventory import InventoryError

    dc_id = None
    cl = reg.objects.get("cluster", {}).get(owner.cluster_id or "")
    if cl is not None:
        dc_id = getattr(cl, "data_center_id", None)
    for p in reg.iter_kind("vnicprofile"):
        if p.name != pname:
            continue
        net = reg.objects.get("network", {}).get(getattr(p, "network_id", ""))
        if net is None or (dc_id is not None and getattr(net, "data_center_id", None) != dc_id):
            continue
        if network is not None and net.name != network:
            continue
        return p.id
    raise InventoryError(
        f"{where}.profile: no vNIC profile named {pname!r} in the VM's data center"
    )


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    from rhevsim.disk import attach_from_inventory
    from rhevsim.inventory import InventoryError, find

    for i, d in enumerate(find(inv, "vms")):
        where = f"vms[{i}]"
        cluster = reg.by_name(Cluster, str(d.get("cluster", "Default")))
        if cluster is None:
            raise InventoryError(f"{where}.cluster: no cluster named {d.get('cluster')!r}")
        tmpl = reg.by_name(Template, str(d.get("template", "Blank")))
        if tmpl is None:
            raise InventoryError(f"{where}.template: no template named {d.get('template')!r}")
        if reg.by_name(Vm, str(d["name"])) is not None:
            raise InventoryError(f"{where}.name: duplicate VM name {d['name']!r}")
        d = _builder_keys(d)
        cfg = config_from_inventory(d, where, tmpl.config)
        placement = d.get("placement") or {}
        if placement:
            aff = placement.get("affinity", "migratable")
            if aff not in ("migratable", "user_migratable", "pinned"):
                raise InventoryError(f"{where}.placement.affinity: {aff!r} is not valid")
            cfg.placement_affinity = aff
            for hn in placement.get("hosts") or []:
                h = next((x for x in _hosts(reg).values() if x.name == hn), None)
                if h is None:
                    raise InventoryError(f"{where}.placement.hosts: no host named {hn!r}")
                cfg.placement_host_ids.append(h.id)
        vm = reg.add(
            Vm(
                id=d.get("id") or reg.new_id(),
                name=str(d["name"]),
                description=d.get("description"),
                comment=d.get("comment"),
                cluster_id=cluster.id,
                template_id=tmpl.id,
                original_template_id=tmpl.id,
                config=cfg,
                creation_time=reg.clock.now(),
            )
        )
        attach_from_inventory(reg, vm, d.get("disks") or [], where)
        nics_from_inventory(reg, vm, d.get("nics") or [], where)
        status = str(d.get("status", "down"))
        if status not in ("down", "up", "suspended"):
            raise InventoryError(f"{where}.status: expected down, up or suspended")
        if status == "up":
            host = None
            if d.get("host"):
                host = next((x for x in _hosts(reg).values() if x.name == d["host"]), None)
                if host is None:
                    raise InventoryError(f"{where}.host: no host named {d['host']!r}")
            else:
                try:
                    host = _schedule_host(reg, vm, "run")
                except errors.ApiError:
                    raise InventoryError(
                        f"{where}.status: up needs an up host in cluster {cluster.name}"
                    ) from None
            vm.host_id = host.id
            vm.status = "up"
            vm.start_time = reg.clock.now()
        elif status == "suspended":
            vm.status = "suspended"


def _builder_keys(d: dict[str, Any]) -> dict[str, Any]:
    """Accept the builder's short keys (memory_mib, cpus) besides memory and cpu."""
    if "memory_mib" not in d and "cpus" not in d:
        return d
    out = dict(d)
    if "memory_mib" in out:
        out.setdefault("memory", int(out.pop("memory_mib")) * MIB)
    if "cpus" in out:
        out.setdefault("cpu", {"sockets": int(out.pop("cpus"))})
    return out


def build_inventory(inv: dict[str, Any], spec: Any) -> None:
    """builder.py hook: every VM gets a 10 GiB thin boot disk on its data center's data
    domain and a virtio NIC on the first VM network of its data center, so it can start."""
    dc_of_cluster = {c["name"]: c.get("data_center") for c in inv.get("clusters") or []}
    domain_of_dc: dict[str, str] = {}
    for sd in inv.get("storage_domains") or []:
        if sd.get("type", "data") == "data" and sd.get("data_center"):
            domain_of_dc.setdefault(sd["data_center"], sd["name"])
    net_of_dc: dict[str, str] = {}
    for n in inv.get("networks") or []:
        if n.get("data_center") and n.get("vm", True):
            net_of_dc.setdefault(n["data_center"], n["name"])
    for vm in inv.get("vms") or []:
        dc = dc_of_cluster.get(vm.get("cluster", "Default"))
        vm.update(_builder_keys(vm))
        if dc in domain_of_dc and "disks" not in vm:
            vm["disks"] = [
                {
                    "name": f"{vm['name']}_Disk1",
                    "size": "10GiB",
                    "storage_domain": domain_of_dc[dc],
                    "interface": "virtio_scsi",
                    "bootable": True,
                }
            ]
        if dc in net_of_dc and "nics" not in vm:
            vm["nics"] = [{"name": "nic1", "profile": net_of_dc[dc], "interface": "virtio"}]

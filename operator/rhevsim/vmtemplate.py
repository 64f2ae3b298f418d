"""Templates (/templates), and the VM configuration they share with VMs (`VmConfig`).

`Blank` (id 00000000-0000-0000-0000-000000000000) always exists, belongs to no cluster and
cannot be removed. A template is made from a VM that is down (AddVmTemplateCommand):

    POST /templates <template><name>t</name><vm id=".."/></template>
      template locked, VM image_locked, each VM disk copied (`disk.copy` seconds)
      -> template ok, VM back to down            (events 48 then 51)
      a domain written to is not active at the end: the template and its disks vanish,
      the VM is down again, the job fails        (event 52, error)

Without disks there is nothing to copy: the template is ok at once (201). Removal is
refused for Blank and while VMs are based on the template (cloned VMs are not: their
template is Blank); otherwise the template is locked for `template.remove` seconds, its
disks are deleted, then it vanishes (events 50, 251).

Inventory `templates:`: `{name, cluster, description, memory (bytes or "4GiB"),
cpu: {sockets, cores, threads}, os: rhel_8x64, boot: [hd, network], display: vnc|spice,
type: server|desktop|high_performance, high_availability: bool, version_name,
disks: [{name, size, storage_domain, format, sparse, interface, bootable}],
nics: [{name, profile | network, interface}], id}`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim import errors
from rhevsim.api import (
    Api,
    Request,
    Response,
    created,
    delete_complete,
    get_or_404,
    list_response,
    ref_from_body,
    require,
    xml_response,
)
from rhevsim.cluster import Cluster
from rhevsim.datacenter import ENGINE_USER, DataCenter
from rhevsim.disk import (
    DiskAttachment,
    attach,
    copy_disk,
    delete_disk,
    disks_of,
    resolve_storage_domain,
)
from rhevsim.event import CODES
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.xmlutil import Element, boolean, enum, has, integer, text, xml_bool

if TYPE_CHECKING:
    from rhevsim.registry import Registry
    from rhevsim.virtualmachine import Nic, Vm

BLANK_TEMPLATE_ID = "00000000-0000-0000-0000-000000000000"
STATUSES = ("ok", "locked", "illegal")
MIB = 1024 * 1024
GIB = 1024 * MIB
BOOT_DEVICES = ("hd", "network", "cdrom")
DISPLAY_TYPES = ("vnc", "spice")
VM_TYPES = ("desktop", "server", "high_performance")
AFFINITIES = ("migratable", "user_migratable", "pinned")

CODES.update(
    {
        "USER_ADD_VM_TEMPLATE": 48,
        "USER_UPDATE_VM_TEMPLATE": 49,
        "USER_REMOVE_VM_TEMPLATE": 50,
        "USER_ADD_VM_TEMPLATE_FINISHED_SUCCESS": 51,
        "USER_ADD_VM_TEMPLATE_FINISHED_FAILURE": 52,
        "USER_REMOVE_VM_TEMPLATE_FINISHED": 251,
    }
)

TIMINGS = {"template.remove": 3.0}


# ---------------------------------------------------------------------- shared VM config


@dataclass
class VmConfig:
    """The part of a VM that a template carries and that `next_run` may stage."""

    memory: int = GIB
    memory_guaranteed: int | None = None  # None: same as memory
    memory_max: int | None = None  # None: 4 x memory (the engine's default)
    ballooning: bool = True
    sockets: int = 1
    cores: int = 1
    threads: int = 1
    os_type: str = "other"
    boot_devices: list[str] = field(default_factory=lambda: ["hd"])
    display_type: str = "vnc"
    vm_type: str = "server"
    high_availability: bool = False
    ha_priority: int = 0
    stateless: bool = False
    delete_protected: bool = False
    placement_affinity: str = "migratable"
    placement_host_ids: list[str] = field(default_factory=list)

    def copy(self) -> VmConfig:
        return replace(
            self,
            boot_devices=list(self.boot_devices),
            placement_host_ids=list(self.placement_host_ids),
        )

    def diff(self, other: VmConfig) -> set[str]:
        return {f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)}


def parse_config(
    req: Request, body: Element | None, base: VmConfig, action: str, type_name: str
) -> VmConfig:
    """A copy of `base` with what the `<vm>`/`<template>` body sets (400 on bad values)."""
    cfg = base.copy()
    mem = integer(body, "memory")
    if mem is not None:
        if mem <= 0:
            raise errors.bad_request(
                f"Cannot {action} {type_name}. Memory size must be a positive number."
            )
        cfg.memory = mem
    for key, path in (
        ("memory_guaranteed", "memory_policy/guaranteed"),
        ("memory_max", "memory_policy/max"),
    ):
        v = integer(body, path)
        if v is not None:
            setattr(cfg, key, v)
    b = boolean(body, "memory_policy/ballooning")
    if b is not None:
        cfg.ballooning = b
    if (cfg.memory_guaranteed or 0) > cfg.memory:
        raise errors.bad_request(
            f"Cannot {action} {type_name}. Physical Memory Guaranteed cannot exceed Memory Size."
        )
    if cfg.memory_max is not None and cfg.memory_max < cfg.memory:
        raise errors.bad_request(
            f"Cannot {action} {type_name}. Maximum memory size cannot be smaller than memory size."
        )
    for key in ("sockets", "cores", "threads"):
        v = integer(body, f"cpu/topology/{key}")
        if v is not None:
            if v < 1:
                raise errors.bad_request(
                    f"Cannot {action} {type_name}. The number of {key} must be at least 1."
                )
            setattr(cfg, key, v)
    if cfg.sockets * cfg.cores * cfg.threads > 384:
        raise errors.conflict(f"Cannot {action} {type_name}. Maximum number of CPUs exceeded.")
    os_type = text(body, "os/type")
    if os_type:
        cfg.os_type = os_type
    devs = body.find("os/boot/devices") if body is not None else None
    if devs is not None:
        cfg.boot_devices = [
            enum(d, ".", BOOT_DEVICES, "BootDevice") or "hd" for d in devs.findall("device")
        ]
    display = enum(body, "display/type", DISPLAY_TYPES, "DisplayType")
    if display:
        cfg.display_type = display
    vm_type = enum(body, "type", VM_TYPES, "VmType")
    if vm_type:
        cfg.vm_type = vm_type
    ha = boolean(body, "high_availability/enabled")
    if ha is not None:
        cfg.high_availability = ha
    prio = integer(body, "high_availability/priority")
    if prio is not None:
        cfg.ha_priority = prio
    for key in ("stateless", "delete_protected"):
        v = boolean(body, key)
        if v is not None:
            setattr(cfg, key, v)
    pp = body.find("placement_policy") if body is not None else None
    if pp is not None:
        aff = enum(pp, "affinity", AFFINITIES, "VmAffinity")
        if aff:
            cfg.placement_affinity = aff
        hosts_el = pp.find("hosts")
        if hosts_el is not None:
            cfg.placement_host_ids = [_resolve_host(req, h).id for h in hosts_el.findall("host")]
    return cfg


def _resolve_host(req: Request, el: Element) -> Entity:
    ident = el.get("id")
    name = text(el, "name")
    table = req.reg.objects.get("host", {})
    if ident:
        h = table.get(ident)
        if h is None:
            raise errors.entity_not_found("Host", "id", ident)
        return h
    for h in table.values():
        if h.name == name:
            return h
    raise errors.entity_not_found("Host", "name", name or "")


def render_config(ctx: Ctx, el: Element, cfg: VmConfig, arch: str = "x86_64") -> None:
    """The configuration elements in the engine's order (bios .. usb)."""
    sub = etree.SubElement
    bios = sub(el, "bios")
    sub(sub(bios, "boot_menu"), "enabled").text = "false"
    sub(bios, "type").text = "q35_ovmf"
    cpu = sub(el, "cpu")
    sub(cpu, "architecture").text = arch
    topo = sub(cpu, "topology")
    sub(topo, "cores").text = str(cfg.cores)
    sub(topo, "sockets").text = str(cfg.sockets)
    sub(topo, "threads").text = str(cfg.threads)
    sub(el, "cpu_shares").text = "0"
    sub(el, "delete_protected").text = xml_bool(cfg.delete_protected)
    disp = sub(el, "display")
    sub(disp, "allow_override").text = "false"
    sub(disp, "copy_paste_enabled").text = "true"
    sub(disp, "disconnect_action").text = "LOCK_SCREEN"
    sub(disp, "file_transfer_enabled").text = "true"
    sub(disp, "monitors").text = "1"
    sub(disp, "single_qxl_pci").text = "false"
    sub(disp, "smartcard_enabled").text = "false"
    sub(disp, "type").text = cfg.display_type
    ha = sub(el, "high_availability")
    sub(ha, "enabled").text = xml_bool(cfg.high_availability)
    sub(ha, "priority").text = str(cfg.ha_priority)
    sub(sub(el, "io"), "threads").text = "1"
    sub(el, "memory").text = str(cfg.memory)
    mp = sub(el, "memory_policy")
    sub(mp, "ballooning").text = xml_bool(cfg.ballooning)
    sub(mp, "guaranteed").text = str(
        cfg.memory if cfg.memory_guaranteed is None else cfg.memory_guaranteed
    )
    sub(mp, "max").text = str(cfg.memory * 4 if cfg.memory_max is None else cfg.memory_max)
    sub(el, "migration_downtime").text = "-1"
    sub(el, "multi_queues_enabled").text = "true"
    sub(el, "origin").text = "ovirt"
    os_el = sub(el, "os")
    devs = sub(sub(os_el, "boot"), "devices")
    for d in cfg.boot_devices:
        sub(devs, "device").text = d
    sub(os_el, "type").text = cfg.os_type
    pp = sub(el, "placement_policy")
    sub(pp, "affinity").text = cfg.placement_affinity
    if cfg.placement_host_ids:
        hosts = sub(pp, "hosts")
        for hid in cfg.placement_host_ids:
            ctx.ref_id(hosts, "host", "hosts", hid)
    sso = sub(sub(el, "sso"), "methods")
    sub(sso, "method", {"id": "guest_agent"})
    sub(el, "stateless").text = xml_bool(cfg.stateless)
    sub(el, "type").text = cfg.vm_type
    sub(sub(el, "usb"), "enabled").text = "false"


def config_from_inventory(d: dict[str, Any], where: str, base: VmConfig) -> VmConfig:
    from rhevsim.disk import parse_size
    from rhevsim.inventory import InventoryError

    cfg = base.copy()
    if "memory" in d:
        cfg.memory = parse_size(d["memory"], f"{where}.memory")
    cpu = d.get("cpu") or {}
    if not isinstance(cpu, dict):
        raise InventoryError(f"{where}.cpu: expected {{sockets, cores, threads}}")
    for key in ("sockets", "cores", "threads"):
        if key in cpu:
            if not isinstance(cpu[key], int) or cpu[key] < 1:
                raise InventoryError(f"{where}.cpu.{key}: expected an integer >= 1")
            setattr(cfg, key, cpu[key])
    if d.get("os"):
        cfg.os_type = str(d["os"])
    if "boot" in d:
        boot = d["boot"] if isinstance(d["boot"], list) else [d["boot"]]
        for b in boot:
            if b not in BOOT_DEVICES:
                raise InventoryError(f"{where}.boot: {b!r} is not one of {BOOT_DEVICES}")
        cfg.boot_devices = [str(b) for b in boot]
    for key, attr, allowed in (
        ("display", "display_type", DISPLAY_TYPES),
        ("type", "vm_type", VM_TYPES),
    ):
        if key in d:
            if d[key] not in allowed:
                raise InventoryError(f"{where}.{key}: {d[key]!r} is not one of {allowed}")
            setattr(cfg, attr, str(d[key]))
    if "high_availability" in d:
        cfg.high_availability = bool(d["high_availability"])
    return cfg


# ---------------------------------------------------------------------- the entity


@dataclass(kw_only=True, eq=False)
class Template(Entity):
    KIND = "template"
    TAG = "template"
    PLURAL = "templates"
    PATH = "templates"
    TYPE_NAME = "Template"
    REF_NAME = "Template"

    status: str = "ok"
    cluster_id: str | None = None
    config: VmConfig = field(default_factory=VmConfig)
    creation_time: float = 0.0
    version_name: str | None = None
    version_number: int = 1
    base_template_id: str | None = None  # None: this is a base template
    disk_attachments: list[DiskAttachment] = field(default_factory=list)
    nics: list[Nic] = field(default_factory=list)

    def render(self, ctx: Ctx) -> Element:
        from rhevsim.xmlutil import fmt_time

        el = ctx.el(self)
        ctx.actions(el, self, ("export",))
        ctx.common(el, self)
        ctx.link(el, self, "cdroms")
        from rhevsim.virtualmachine import follow_collection

        follow_collection(
            ctx, el, self, "diskattachments", "disk_attachments", self.disk_attachments
        )
        ctx.link(el, self, "graphicsconsoles")
        ctx.link(el, self, "mediateddevices")
        ctx.sub_collection(el, self, "nics", "nics", lambda: self.nics)
        for rel in ("permissions", "tags", "watchdogs"):
            ctx.link(el, self, rel)
        cluster = ctx.reg.objects.get("cluster", {}).get(self.cluster_id or "")
        render_config(ctx, el, self.config, getattr(cluster, "cpu_architecture", "x86_64"))
        etree.SubElement(el, "creation_time").text = fmt_time(self.creation_time)
        etree.SubElement(el, "status").text = self.status
        v = etree.SubElement(el, "version")
        if self.version_name is not None:
            etree.SubElement(v, "version_name").text = self.version_name
        etree.SubElement(v, "version_number").text = str(self.version_number)
        ctx.ref_id(v, "base_template", "templates", self.base_template_id or self.id)
        ctx.ref(el, "cluster", cluster)
        return el

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        cluster = reg.objects.get("cluster", {}).get(self.cluster_id or "")
        dc = (
            reg.objects.get("datacenter", {}).get(getattr(cluster, "data_center_id", "") or "")
            if cluster is not None
            else None
        )
        return {
            "name": self.name,
            "id": self.id,
            "description": self.description,
            "comment": self.comment,
            "status": self.status,
            "cluster": cluster.name if cluster is not None else None,
            "datacenter": dc.name if dc is not None else None,
            "os": self.config.os_type,
            "memory": self.config.memory // MIB,
        }

    def vnic_profile_ids(self) -> list[str]:
        return [n.vnic_profile_id for n in self.nics if n.vnic_profile_id]

    def storage_domain_ids(self) -> list[str]:
        """Domains holding the template's disks (/storagedomains/{id}/templates)."""
        out: list[str] = []
        for a in self.disk_attachments:
            if a.storage_domain_id and a.storage_domain_id not in out:
                out.append(a.storage_domain_id)
        return out


def blank_template(reg: Registry) -> Template:
    t = reg.objects.get("template", {}).get(BLANK_TEMPLATE_ID)
    assert isinstance(t, Template)
    return t


def templates_based_on(reg: Registry, template: Template) -> list[Entity]:
    """VMs whose template is `template` (RemoveVmTemplateCommand's derived VMs)."""
    return [v for v in reg.iter_kind("vm") if getattr(v, "template_id", None) == template.id]


def _name_taken(reg: Registry, name: str, exclude: Template | None = None) -> bool:
    base = exclude.base_template_id or exclude.id if exclude is not None else None
    for t in reg.all(Template):
        if t.name != name or t is exclude:
            continue
        if base is not None and (t.base_template_id or t.id) == base:
            continue  # versions of one template share its name
        return True
    return False


# ---------------------------------------------------------------------- handlers


def _list(req: Request) -> Response:
    return list_response(req, req.reg.all(Template), "templates")


def _get(req: Request) -> Response:
    return xml_response(get_or_404(req, Template).render(req.ctx))


def _resolve_vm(req: Request, el: Element | None) -> Vm:
    from rhevsim.virtualmachine import Vm

    if el is None or (not el.get("id") and not text(el, "name")):
        raise errors.incomplete("Template", ["vm.id|name"], "add")
    vm = ref_from_body(req, Vm, el)
    assert vm is not None
    return vm


def _add(req: Request) -> Response:
    reg = req.reg
    body = req.body
    require(body, "Template", "add", "name")
    vm = _resolve_vm(req, body.find("vm") if body is not None else None)
    name = text(body, "name") or ""
    reg.check_unlocked(vm, "add", "Template")
    if vm.status != "down":
        raise errors.conflict(
            "Cannot add Template. VM is locked or still running, try again once VM is in the "
            "Down state."
        )
    base: Template | None = None
    base_el = body.find("version/base_template") if body is not None else None
    if base_el is not None:
        base = ref_from_body(req, Template, base_el)
        if base is not None and base.id == BLANK_TEMPLATE_ID:
            raise errors.bad_request(
                "Cannot add Template. Blank Template cannot have sub-versions."
            )
    if base is not None:
        if name != base.name:
            name = base.name  # versions keep their base template's name
    elif _name_taken(reg, name):
        raise errors.conflict(
            "Cannot add Template. The Template name is already in use, please choose a unique "
            "name and try again."
        )
    cluster = ref_from_body(req, Cluster, body.find("cluster") if body is not None else None)
    cluster_id = cluster.id if cluster is not None else vm.cluster_id
    src_disks = disks_of(reg, vm)
    locked = [d.name for d in src_disks if d.lock is not None or d.status != "ok"]
    if locked:
        raise errors.conflict(
            f"Cannot add Template: The following disks are locked: {', '.join(locked)}. Please "
            "try again in a few minutes."
        )
    targets = _disk_targets(req, body)
    for d in src_disks:
        sd = targets.get(d.id)
        if sd is not None:
            from rhevsim.disk import check_domain_usable, data_center_of_cluster

            check_domain_usable(reg, sd, data_center_of_cluster(reg, cluster_id), "add", "Template")
    job = reg.start_job(f"Creating VM Template {name} from VM {vm.name}", req.correlation_id)
    cfg = parse_config(req, body, vm.config, "add", "Template")
    t = reg.add(
        Template(
            id=reg.new_id(),
            name=name,
            description=text(body, "description"),
            comment=text(body, "comment"),
            cluster_id=cluster_id,
            config=cfg,
            creation_time=reg.clock.now(),
            status="locked",
            version_name=text(body, "version/version_name"),
        )
    )
    if base is not None:
        t.base_template_id = base.base_template_id or base.id
        t.version_number = 1 + max(
            x.version_number
            for x in reg.all(Template)
            if (x.base_template_id or x.id) == t.base_template_id and x is not t
        )
    for a in vm.disk_attachments:
        src = reg.objects.get("disk", {}).get(a.id)
        if src is None:
            continue
        d = copy_disk(reg, src, src.name, targets.get(src.id), template_id=t.id)  # type: ignore[arg-type]
        attach(t, d, interface=a.interface, bootable=a.bootable, active=a.active)
    for n in vm.nics:
        t.nics.append(n.copy_to(reg, t, None))
    reg.event(
        CODES["USER_ADD_VM_TEMPLATE"],
        f"Creation of Template {name} from VM {vm.name} was initiated by {ENGINE_USER}.",
        correlation_id=job.correlation_id,
        vm=vm,
        template=t,
        cluster=reg.objects.get("cluster", {}).get(cluster_id or ""),
    )
    copies = bool(t.disk_attachments)
    if copies:
        t.lock = "AddVmTemplate"
        vm.status = "image_locked"
        vm.lock = "AddVmTemplate"

    def finish() -> None:
        if _copy_failed(reg, t):
            fail()
            return
        for d in disks_of(reg, t):
            d.status = "ok"
            d.lock = None
        t.status = "ok"
        t.lock = None
        if vm.lock == "AddVmTemplate":
            vm.lock = None
            vm.status = "down"
        reg.event(
            CODES["USER_ADD_VM_TEMPLATE_FINISHED_SUCCESS"],
            f"Creation of Template {name} from VM {vm.name} has been completed.",
            correlation_id=job.correlation_id,
            vm=vm,
            template=t,
        )
        reg.end_job(job)

    def fail() -> None:
        # AddVmTemplateCommand.endWithFailure: the template row and its images go, the VM
        # is unlocked.
        for d in disks_of(reg, t):
            delete_disk(reg, d)
        reg.remove(t)
        if vm.lock == "AddVmTemplate":
            vm.lock = None
            vm.status = "down"
        reg.event(
            CODES["USER_ADD_VM_TEMPLATE_FINISHED_FAILURE"],
            f"Failed to complete creation of Template {name} from VM {vm.name}.",
            "error",
            correlation_id=job.correlation_id,
            vm=vm,
            template=t,
        )
        reg.end_job(job, False)

    if copies:
        reg.schedule("disk.copy", finish, f"template.create {name}")
    else:
        finish()
    return created(req, t, async_work=copies)


def _copy_failed(reg: Registry, t: Template) -> bool:
    """The disk copies fail when a domain they write to is no longer active in its data
    center by the time they end (e.g. it was forced into maintenance meanwhile)."""
    from rhevsim.disk import storage_domain

    for d in disks_of(reg, t):
        sd = storage_domain(reg, d.storage_domain_id)
        if sd is None or getattr(sd, "dc_status", "active") != "active":
            return True
    return False


def _disk_targets(req: Request, body: Element | None) -> dict[str, Entity]:
    """Per-disk target domains from `vm/disk_attachments/disk_attachment/disk`."""
    out: dict[str, Entity] = {}
    if body is None:
        return out
    for da in body.findall("vm/disk_attachments/disk_attachment"):
        d = da.find("disk")
        if d is None:
            continue
        ident = d.get("id") or da.get("id")
        sd_el = d.find("storage_domains/storage_domain")
        sd = resolve_storage_domain(req, sd_el)
        if ident and sd is not None:
            out[ident] = sd
    return out


def _update(req: Request) -> Response:
    reg = req.reg
    t = get_or_404(req, Template)
    reg.check_unlocked(t, "update")
    body = req.body
    name = text(body, "name")
    if name is not None and name != t.name:
        if t.id == BLANK_TEMPLATE_ID:
            raise errors.bad_request("Cannot edit Template. Blank Template cannot be edited.")
        if _name_taken(reg, name, t):
            raise errors.conflict(
                "Cannot update Template. The Template name is already in use, please choose a "
                "unique name and try again."
            )
    cfg = parse_config(req, body, t.config, "update", "Template")
    with reg.job(f"Updating Template {t.name}", req.correlation_id) as job:
        if name is not None:
            t.name = name
        if has(body, "description"):
            t.description = text(body, "description") or ""
        if has(body, "comment"):
            t.comment = text(body, "comment") or ""
        t.config = cfg
        reg.event(
            CODES["USER_UPDATE_VM_TEMPLATE"],
            f"Template {t.name} configuration was updated by {ENGINE_USER}.",
            correlation_id=job.correlation_id,
            template=t,
        )
    return xml_response(t.render(req.ctx))


def _remove(req: Request) -> Response:
    reg = req.reg
    t = get_or_404(req, Template)
    reg.check_unlocked(t, "remove")
    if t.id == BLANK_TEMPLATE_ID:
        raise errors.conflict("Cannot remove Template. Removing Blank Template is not allowed.")
    if t.config.delete_protected:
        raise errors.conflict(
            "Cannot remove Template. Delete protection is enabled. In order to delete, disable "
            "Delete protection first."
        )
    derived = templates_based_on(reg, t)
    if derived:
        raise errors.conflict(
            "Cannot delete Template. Template is being used by the following VMs: "
            + ",".join(v.name for v in derived)
            + "."
        )
    if t.base_template_id is None and any(x.base_template_id == t.id for x in reg.all(Template)):
        raise errors.conflict(
            "Cannot remove Template. The Template has sub-versions; remove them first."
        )
    job = reg.start_job(f"Removing Template {t.name}", req.correlation_id)
    reg.event(
        CODES["USER_REMOVE_VM_TEMPLATE"],
        f"Removal of Template {t.name} was initiated by {ENGINE_USER}.",
        correlation_id=job.correlation_id,
        template=t,
    )
    t.status = "locked"
    t.lock = "RemoveVmTemplate"

    def finish() -> None:
        for d in disks_of(reg, t):
            delete_disk(reg, d)
        reg.remove(t)
        reg.event(
            CODES["USER_REMOVE_VM_TEMPLATE_FINISHED"],
            f"Removal of Template {t.name} has been completed.",
            correlation_id=job.correlation_id,
            template=t,
        )
        reg.end_job(job)

    reg.schedule("template.remove", finish, f"template.remove {t.name}")
    return delete_complete(req)


def _export(req: Request) -> Response:
    from rhevsim.api import action_complete

    t = get_or_404(req, Template)
    req.reg.check_unlocked(t, "export")
    job = req.reg.start_job(f"Exporting Template {t.name}", req.correlation_id)
    req.reg.end_job(job)
    return action_complete(req, job)


def register(api: Api) -> None:
    api.route("GET", "/templates", _list)
    api.route("POST", "/templates", _add)
    api.route("GET", "/templates/{id}", _get)
    api.route("PUT", "/templates/{id}", _update)
    api.route("DELETE", "/templates/{id}", _remove)
    api.action("/templates/{id}", "export", _export)
    from rhevsim.api import empty_collections

    empty_collections(
        api,
        Template,
        "/templates/{id}",
        {
            "cdroms": "cdroms",
            "graphicsconsoles": "graphics_consoles",
            "mediateddevices": "vm_mediated_devices",
            "permissions": "permissions",
            "tags": "tags",
            "watchdogs": "watchdogs",
        },
    )
    # /templates/{id}/diskattachments: disk.py; /templates/{id}/nics: virtualmachine.py.


def setup(reg: Registry) -> None:
    reg.register_timings(TIMINGS)


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    from rhevsim.disk import attach_from_inventory
    from rhevsim.inventory import InventoryError, find

    reg.add(
        Template(
            id=BLANK_TEMPLATE_ID,
            name="Blank",
            description="Blank template",
            config=VmConfig(),
            creation_time=0.0,
            version_name="base version",
        )
    )
    for i, d in enumerate(find(inv, "templates")):
        where = f"templates[{i}]"
        if d["name"] == "Blank":
            raise InventoryError(f"{where}.name: Blank always exists; choose another name")
        cluster = None
        if d.get("cluster"):
            cluster = reg.by_name(Cluster, str(d["cluster"]))
            if cluster is None:
                raise InventoryError(f"{where}.cluster: no cluster named {d['cluster']!r}")
        t = reg.add(
            Template(
                id=d.get("id") or reg.new_id(),
                name=str(d["name"]),
                description=d.get("description"),
                comment=d.get("comment"),
                cluster_id=cluster.id if cluster is not None else None,
                config=config_from_inventory(d, where, VmConfig()),
                creation_time=reg.clock.now(),
                version_name=d.get("version_name"),
            )
        )
        attach_from_inventory(reg, t, d.get("disks") or [], where)
        from rhevsim.virtualmachine import nics_from_inventory

        nics_from_inventory(reg, t, d.get("nics") or [], where)


def dc_of(reg: Registry, obj: Any) -> DataCenter | None:
    cl = reg.objects.get("cluster", {}).get(getattr(obj, "cluster_id", None) or "")
    dc = reg.objects.get("datacenter", {}).get(getattr(cl, "data_center_id", None) or "")
    return dc if isinstance(dc, DataCenter) else None


__all__ = [
    "BLANK_TEMPLATE_ID",
    "Template",
    "VmConfig",
    "blank_template",
    "config_from_inventory",
    "parse_config",
    "render_config",
]

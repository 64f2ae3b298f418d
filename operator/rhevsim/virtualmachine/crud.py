"""The /vms CRUD handlers: add (from a template), update, remove."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim import errors
from rhevsim.api import (
    SEARCH_PAGE_SIZE,
    Request,
    Response,
    created,
    delete_complete,
    list_response,
    max_param,
    ref_from_body,
    require,
    search_sort_key,
    xml_response,
)
from rhevsim.cluster import Cluster
from rhevsim.datacenter import ENGINE_USER
from rhevsim.disk.entity import (
    Disk,
    attach,
    check_domain_usable,
    copy_disk,
    delete_disk,
    disks_of,
    owners_of,
    resolve_storage_domain,
    storage_domain,
)
from rhevsim.event import CODES
from rhevsim.model import Ctx, Entity
from rhevsim.search import compile_query
from rhevsim.virtualmachine.entity import (
    HOTPLUG_MEMORY_FACTOR,
    TYPE_NAME,
    Vm,
    allocate_mac,
    check_name,
    cluster_of_vm,
    hosts_by_id,
    illegal,
    name_taken,
    release_mac,
    render_vm,
    vm_or_404,
)
from rhevsim.vmtemplate.config import BLANK_TEMPLATE_ID, MIB, VmConfig, parse_config
from rhevsim.vmtemplate.entity import Template
from rhevsim.xmlutil import DECLARATION, Element, boolean, enum, has, text

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def list_vms(req: Request) -> Response:
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


def get_vm_handler(req: Request) -> Response:
    vm = vm_or_404(req)
    if req.query_bool("next_run") and vm.next_run is not None:
        return xml_response(render_vm(req.ctx, vm, vm.next_run))
    if req.query_bool("current") and vm.running and vm.run_boot_devices is not None:
        # The current run's values (a Run Once's boot devices), as VmMapper shows them.
        run = dataclasses.replace(vm.config, boot_devices=list(vm.run_boot_devices))
        return xml_response(render_vm(req.ctx, vm, run))
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


def add_vm(req: Request) -> Response:
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
    check_name(name, "add")
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
    if name_taken(reg, name):
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
            creation_time=reg.clock.wall(),
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
        h = hosts_by_id(reg).get(hid)
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


def update_vm(req: Request) -> Response:
    reg = req.reg
    vm = vm_or_404(req)
    body = req.body
    reg.check_unlocked(vm, "edit")
    name = text(body, "name")
    if name is not None and name != vm.name:
        check_name(name, "edit")
        if name_taken(reg, name, vm):
            raise errors.conflict(
                "Cannot edit VM. The VM name is already in use, please choose a unique name "
                "and try again."
            )
    new_cluster = ref_from_body(req, Cluster, body.find("cluster") if body is not None else None)
    if new_cluster is not None and new_cluster.id != vm.cluster_id and vm.status != "down":
        raise illegal("change cluster of", vm)
    next_run = req.query_bool("next_run")
    staged_base = vm.next_run or vm.config
    cfg = parse_config(req, body, staged_base, "edit", TYPE_NAME)
    cluster = new_cluster or cluster_of_vm(reg, vm)
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


def remove_vm(req: Request) -> Response:
    reg = req.reg
    vm = vm_or_404(req)
    force = req.query_bool("force")
    detach_only = req.query_bool("detach_only")
    if not force:
        reg.check_unlocked(vm, "remove")
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
    return [o for o in owners_of(reg, disk.id) if o is not vm]

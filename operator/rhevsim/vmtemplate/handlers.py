"""The /templates handlers: add (from a VM), update, remove, export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from rhevsim import errors
from rhevsim.api import (
    Request,
    Response,
    action_complete,
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
from rhevsim.disk.entity import (
    attach,
    check_domain_usable,
    copy_disk,
    data_center_of_cluster,
    delete_disk,
    disks_of,
    resolve_storage_domain,
    storage_domain,
)
from rhevsim.event import CODES
from rhevsim.model import Entity
from rhevsim.vmtemplate.config import BLANK_TEMPLATE_ID, parse_config
from rhevsim.vmtemplate.entity import Template, name_taken, templates_based_on
from rhevsim.xmlutil import Element, has, text

if TYPE_CHECKING:
    from rhevsim.registry import Registry
    from rhevsim.virtualmachine.entity import Vm


def list_templates(req: Request) -> Response:
    return list_response(req, req.reg.all(Template), "templates")


def get_template(req: Request) -> Response:
    return xml_response(get_or_404(req, Template).render(req.ctx))


def _resolve_vm(req: Request, el: Element | None) -> Vm:
    from rhevsim.virtualmachine.entity import Vm

    if el is None or (not el.get("id") and not text(el, "name")):
        raise errors.incomplete("Template", ["vm.id|name"], "add")
    vm = ref_from_body(req, Vm, el)
    assert vm is not None
    return vm


def add_template(req: Request) -> Response:
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
    elif name_taken(reg, name):
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
            creation_time=reg.clock.wall(),
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
        # CreateImageTemplateCommand.lockImage: the source images are locked until the
        # copy ends (unLockImage), whatever its outcome.
        for d in src_disks:
            d.status = "locked"
            d.lock = "CreateImageTemplate"

    def unlock_sources() -> None:
        for d in src_disks:
            if d.lock == "CreateImageTemplate":
                d.lock = None
                d.status = "ok"

    def finish() -> None:
        if _copy_failed(reg, t):
            fail()
            return
        for d in disks_of(reg, t):
            d.status = "ok"
            d.lock = None
        t.status = "ok"
        t.lock = None
        unlock_sources()
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
        unlock_sources()
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


def update_template(req: Request) -> Response:
    reg = req.reg
    t = get_or_404(req, Template)
    reg.check_unlocked(t, "update")
    body = req.body
    name = text(body, "name")
    if name is not None and name != t.name:
        if t.id == BLANK_TEMPLATE_ID:
            raise errors.bad_request("Cannot edit Template. Blank Template cannot be edited.")
        if name_taken(reg, name, t):
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


def remove_template(req: Request) -> Response:
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


def export_template(req: Request) -> Response:
    t = get_or_404(req, Template)
    req.reg.check_unlocked(t, "export")
    job = req.reg.start_job(f"Exporting Template {t.name}", req.correlation_id)
    req.reg.end_job(job)
    return action_complete(req, job)


def dc_of(reg: Registry, obj: Any) -> DataCenter | None:
    cl = reg.objects.get("cluster", {}).get(getattr(obj, "cluster_id", None) or "")
    dc = reg.objects.get("datacenter", {}).get(getattr(cl, "data_center_id", None) or "")
    return dc if isinstance(dc, DataCenter) else None

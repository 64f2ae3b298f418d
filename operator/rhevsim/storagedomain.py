"""Storage domains: top level (/storagedomains) and attached (/datacenters/{id}/storagedomains).

State machine of a domain inside a data center (`dc_status`), each step on the clock:

    attach:     locked --storagedomain.attach--> maintenance, then auto-activate (engine >= 3.5)
    activate:   maintenance|inactive|unknown -> activating (master: locked)
                --storagedomain.activate--> active
    deactivate: active -> preparing_for_maintenance --storagedomain.deactivate--> maintenance
    detach:     maintenance -> detaching --storagedomain.detach--> unattached (top level)

The first data domain of a data center becomes master. When the master is deactivated the
role moves to another active data domain; deactivating the last one puts the data center in
maintenance. The top-level representation shows status `unattached` or no status at all
(status only makes sense inside a data center).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
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
    empty_collections,
    get_or_404,
    list_response,
    require,
    xml_response,
)
from rhevsim.datacenter import ENGINE_USER, DataCenter, active_hosts, storage_changed
from rhevsim.event import CODES
from rhevsim.job import Job
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.xmlutil import Element, boolean, enum, has, integer, text

if TYPE_CHECKING:
    from rhevsim.registry import Registry

DOMAIN_TYPES = ("data", "iso", "export", "image", "volume", "managed_block_storage")
STORAGE_TYPES = (
    "nfs",
    "localfs",
    "posixfs",
    "glusterfs",
    "iscsi",
    "fcp",
    "cinder",
    "managed_block_storage",
)
FILE_TYPES = ("nfs", "localfs", "posixfs", "glusterfs")
STORAGE_FORMATS = ("v1", "v2", "v3", "v4", "v5")
GiB = 1024**3

# Engine enum names used in "The relevant Storage Domain's status is ${status}."
_ENGINE_STATUS = {
    "active": "Active",
    "inactive": "Inactive",
    "locked": "Locked",
    "maintenance": "Maintenance",
    "preparing_for_maintenance": "PreparingForMaintenance",
    "detaching": "Detaching",
    "activating": "Activating",
    "unknown": "Unknown",
    "unattached": "Unattached",
    "mixed": "Mixed",
}


@dataclass(kw_only=True, eq=False)
class StorageDomain(Entity):
    KIND = "storagedomain"
    TAG = "storage_domain"
    PLURAL = "storage_domains"
    PATH = "storagedomains"
    TYPE_NAME = "Storage"
    REF_NAME = "Storage"

    domain_type: str = "data"
    storage_type: str = "nfs"
    address: str | None = None
    path: str | None = None
    mount_options: str | None = None
    nfs_version: str | None = None
    vfs_type: str | None = None
    storage_format: str = "v5"
    available: int = 500 * GiB
    used: int = 20 * GiB
    wipe_after_delete: bool = False
    discard_after_delete: bool = False
    backup: bool = False
    warning_low_space_indicator: int = 10
    critical_space_action_blocker: int = 5
    # Data center relation (None = unattached).
    data_center_id: str | None = None
    dc_status: str = "unattached"
    master: bool = False

    def committed(self, reg: Registry) -> int:
        total = 0
        for d in reg.iter_kind("disk"):
            if getattr(d, "storage_domain_id", None) == self.id:
                total += int(getattr(d, "provisioned_size", 0) or 0)
        return total

    def render(self, ctx: Ctx) -> Element:
        return _render(ctx, self, attached_view=False)

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        dc = reg.get(DataCenter, self.data_center_id) if self.data_center_id else None
        return {
            "name": self.name,
            "id": self.id,
            "description": self.description,
            "comment": self.comment,
            "type": self.domain_type,
            "storage_type": self.storage_type,
            "status": self.dc_status,
            "datacenter": dc.name if dc else None,
            "size": self.available // GiB,
            "used": self.used // GiB,
        }


@dataclass(kw_only=True, eq=False)
class AttachedStorageDomain(Entity):
    """The view of a domain under /datacenters/{dc}/storagedomains (never stored)."""

    KIND = "attachedstoragedomain"
    TAG = "storage_domain"
    PLURAL = "storage_domains"
    TYPE_NAME = "Storage"
    REF_NAME = "Storage"

    sd: StorageDomain

    def href(self) -> str:
        return f"/datacenters/{self.sd.data_center_id}/storagedomains/{self.sd.id}"

    def render(self, ctx: Ctx) -> Element:
        return _render(ctx, self.sd, attached_view=True)

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        return self.sd.search_fields(reg)


def _render(ctx: Ctx, sd: StorageDomain, attached_view: bool) -> Element:
    if attached_view:
        href = f"{ctx.base}/datacenters/{sd.data_center_id}/storagedomains/{sd.id}"
    else:
        href = ctx.base + sd.href()
    el = etree.Element("storage_domain", {"href": href, "id": sd.id})
    if attached_view:
        acts = etree.SubElement(el, "actions")
        for verb in ("activate", "deactivate"):
            etree.SubElement(acts, "link", {"href": f"{href}/{verb}", "rel": verb})
    else:
        ctx.actions(el, sd, ("isattached", "reduceluns", "refreshluns", "updateovfstore"))
    ctx.common(el, sd)
    if not attached_view:
        for rel in (
            "diskprofiles",
            "disks",
            "disksnapshots",
            "files",
            "images",
            "permissions",
            "storageconnections",
            "templates",
            "vms",
        ):
            etree.SubElement(el, "link", {"href": f"{href}/{rel}", "rel": rel})
    etree.SubElement(el, "available").text = str(sd.available)
    etree.SubElement(el, "backup").text = "true" if sd.backup else "false"
    etree.SubElement(el, "block_size").text = "512"
    etree.SubElement(el, "committed").text = str(sd.committed(ctx.reg))
    etree.SubElement(el, "critical_space_action_blocker").text = str(
        sd.critical_space_action_blocker
    )
    etree.SubElement(el, "discard_after_delete").text = (
        "true" if sd.discard_after_delete else "false"
    )
    etree.SubElement(el, "external_status").text = "ok"
    etree.SubElement(el, "master").text = "true" if sd.master else "false"
    if attached_view:
        etree.SubElement(el, "status").text = sd.dc_status
    elif sd.data_center_id is None:
        etree.SubElement(el, "status").text = "unattached"
    st = etree.SubElement(el, "storage")
    if sd.address is not None:
        etree.SubElement(st, "address").text = sd.address
    if sd.mount_options is not None:
        etree.SubElement(st, "mount_options").text = sd.mount_options
    if sd.nfs_version is not None:
        etree.SubElement(st, "nfs_version").text = sd.nfs_version
    if sd.path is not None:
        etree.SubElement(st, "path").text = sd.path
    etree.SubElement(st, "type").text = sd.storage_type
    if sd.vfs_type is not None:
        etree.SubElement(st, "vfs_type").text = sd.vfs_type
    etree.SubElement(el, "storage_format").text = sd.storage_format
    etree.SubElement(el, "supports_discard").text = "false"
    etree.SubElement(el, "supports_discard_zeroes_data").text = "false"
    etree.SubElement(el, "type").text = sd.domain_type
    etree.SubElement(el, "used").text = str(sd.used)
    etree.SubElement(el, "warning_low_space_indicator").text = str(sd.warning_low_space_indicator)
    etree.SubElement(el, "wipe_after_delete").text = "true" if sd.wipe_after_delete else "false"
    if sd.data_center_id is not None:
        if attached_view:
            ctx.ref_id(el, "data_center", "datacenters", sd.data_center_id)
        dcs = etree.SubElement(el, "data_centers")
        ctx.ref_id(dcs, "data_center", "datacenters", sd.data_center_id)
    return el


# ------------------------------------------------------------------ queries used elsewhere


def attached_to(reg: Registry, dc_id: str) -> Iterator[StorageDomain]:
    return (sd for sd in reg.all(StorageDomain) if sd.data_center_id == dc_id)


def master_of(reg: Registry, dc_id: str) -> StorageDomain | None:
    for sd in attached_to(reg, dc_id):
        if sd.master:
            return sd
    return None


def forget_attachment(reg: Registry, sd: Entity) -> None:
    """Data center removal: the domain goes back to unattached at once."""
    if isinstance(sd, StorageDomain):
        sd.data_center_id = None
        sd.dc_status = "unattached"
        sd.master = False
        sd.lock = None


def _engine_status(s: str) -> str:
    return _ENGINE_STATUS.get(s, s)


def _status_illegal(action: str, sd: StorageDomain) -> errors.ApiError:
    return errors.conflict(
        f"Cannot {action} Storage. The relevant Storage Domain's status is "
        f"{_engine_status(sd.dc_status)}."
    )


def _find_host(reg: Registry, ident: str | None, name: str | None) -> Entity:
    for h in reg.iter_kind("host"):
        if (ident and h.id == ident) or (not ident and name and h.name == name):
            return h
    if ident:
        raise errors.entity_not_found("Host", "id", ident)
    raise errors.entity_not_found("Host", "name", name or "")


def _host_dc(reg: Registry, host: Entity) -> DataCenter | None:
    from rhevsim.cluster import Cluster

    cl = reg.get(Cluster, str(getattr(host, "cluster_id", "") or ""))
    if cl is None or cl.data_center_id is None:
        return None
    return reg.get(DataCenter, cl.data_center_id)


# ------------------------------------------------------------------ state machine


def begin_attach(
    reg: Registry, sd: StorageDomain, dc: DataCenter, job: Job, *, activate: bool = True
) -> None:
    """attach: locked -> maintenance (event 962) -> auto-activate."""
    if master_of(reg, dc.id) is None and sd.domain_type == "data":
        sd.master = True
    sd.data_center_id = dc.id
    sd.dc_status = "locked"
    sd.lock = "attach"

    def attached() -> None:
        if sd.data_center_id != dc.id:
            return
        sd.dc_status = "maintenance"
        sd.lock = None
        reg.event(
            CODES["USER_ATTACH_STORAGE_DOMAIN_TO_POOL"],
            f"Storage Domain {sd.name} was attached to Data Center {dc.name} by {ENGINE_USER}",
            correlation_id=job.correlation_id,
            storage_domain=sd,
            data_center=dc,
        )
        if activate:
            begin_activate(reg, sd, dc, job)
        else:
            reg.end_job(job)

    reg.schedule("storagedomain.attach", attached, f"attach {sd.name}")


def begin_activate(reg: Registry, sd: StorageDomain, dc: DataCenter, job: Job) -> None:
    """activate: activating (master: locked) -> active (event 966)."""
    if not sd.master and sd.domain_type == "data":
        current = master_of(reg, dc.id)
        if current is None or current.dc_status in ("maintenance", "inactive", "unknown"):
            # No usable master: this domain takes the role (reconstruct master).
            if current is not None:
                current.master = False
            sd.master = True
    sd.dc_status = "locked" if sd.master else "activating"
    sd.lock = "activate"
    if sd.master:
        storage_changed(reg, dc, job.correlation_id)

    def activated() -> None:
        if sd.data_center_id != dc.id:
            return
        sd.dc_status = "active"
        sd.lock = None
        reg.event(
            CODES["USER_ACTIVATED_STORAGE_DOMAIN"],
            f"Storage Domain {sd.name} (Data Center {dc.name}) was activated by {ENGINE_USER}",
            correlation_id=job.correlation_id,
            storage_domain=sd,
            data_center=dc,
        )
        reg.end_job(job)
        storage_changed(reg, dc, job.correlation_id)

    reg.schedule("storagedomain.activate", activated, f"activate {sd.name}")


def begin_deactivate(reg: Registry, sd: StorageDomain, dc: DataCenter, job: Job) -> None:
    """deactivate: preparing_for_maintenance -> maintenance; the master role moves on."""
    others = [
        o
        for o in attached_to(reg, dc.id)
        if o is not sd and o.domain_type == "data" and o.dc_status == "active"
    ]
    last_master = sd.master and not others
    sd.dc_status = "preparing_for_maintenance"
    sd.lock = "deactivate"
    reg.event(
        CODES["USER_DEACTIVATED_STORAGE_DOMAIN"],
        f"Storage Domain {sd.name} (Data Center {dc.name}) was deactivated and has moved to "
        "'Preparing for maintenance' until it will no longer be accessed by any Host of the "
        "Data Center.",
        correlation_id=job.correlation_id,
        storage_domain=sd,
        data_center=dc,
    )
    if sd.master and others:
        # Master migration to another active data domain.
        sd.master = False
        others[0].master = True

    def done() -> None:
        if sd.data_center_id != dc.id:
            return
        sd.dc_status = "maintenance"
        sd.lock = None
        if last_master:
            reg.event(
                CODES["USER_DEACTIVATED_LAST_MASTER_STORAGE_DOMAIN"],
                f"Storage Domain {sd.name} (Data Center {dc.name}) was deactivated.",
                correlation_id=job.correlation_id,
                storage_domain=sd,
                data_center=dc,
            )
        reg.end_job(job)
        storage_changed(reg, dc, job.correlation_id)

    reg.schedule("storagedomain.deactivate", done, f"deactivate {sd.name}")
    storage_changed(reg, dc, job.correlation_id)


def begin_detach(reg: Registry, sd: StorageDomain, dc: DataCenter, job: Job) -> None:
    """detach: detaching -> unattached (event 964); localfs domains are removed instead."""
    sd.dc_status = "detaching"
    sd.lock = "detach"

    def done() -> None:
        if sd.data_center_id != dc.id:
            return
        forget_attachment(reg, sd)
        reg.event(
            CODES["USER_DETACH_STORAGE_DOMAIN_FROM_POOL"],
            f"Storage Domain {sd.name} was detached from Data Center {dc.name} by {ENGINE_USER}",
            correlation_id=job.correlation_id,
            storage_domain=sd,
            data_center=dc,
        )
        if sd.storage_type == "localfs":
            reg.remove(sd)
            reg.event(
                CODES["USER_REMOVE_STORAGE_DOMAIN"],
                f"Storage Domain {sd.name} was removed by {ENGINE_USER}",
                correlation_id=job.correlation_id,
                storage_domain=sd,
            )
        reg.end_job(job)
        storage_changed(reg, dc, job.correlation_id)

    reg.schedule("storagedomain.detach", done, f"detach {sd.name}")


# ------------------------------------------------------------------ top-level handlers


def _list(req: Request) -> Response:
    return list_response(req, req.reg.all(StorageDomain), "storage_domains")


def _get(req: Request) -> Response:
    return xml_response(get_or_404(req, StorageDomain).render(req.ctx))


def _add(req: Request) -> Response:
    reg = req.reg
    body = req.body
    host_el = body.find("host") if body is not None else None
    host_id = host_el.get("id") if host_el is not None else None
    host_name = text(host_el, "name") if host_el is not None else None
    missing = []
    if not host_id and not host_name:
        missing.append("host.id|name")
    if not text(body, "type"):
        missing.append("type")
    if not has(body, "storage"):
        missing.append("storage")
    if missing:
        raise errors.incomplete("StorageDomain", missing, "add")
    require(body, "StorageDomain", "add", "storage/type")
    stype = enum(body, "storage/type", STORAGE_TYPES, "StorageType") or "nfs"
    dtype = enum(body, "type", DOMAIN_TYPES, "StorageDomainType") or "data"
    if stype in FILE_TYPES:
        if not text(body, "storage/path"):
            raise errors.incomplete("HostStorage", ["path"], "add")
        if stype in ("nfs", "glusterfs") and not text(body, "storage/address"):
            raise errors.incomplete("HostStorage", ["address"], "add")
        if stype == "posixfs" and not text(body, "storage/vfs_type"):
            raise errors.incomplete("HostStorage", ["vfsType"], "add")
    else:
        raise errors.bad_request(
            f"Cannot add Storage. The simulator supports file domains only "
            f"({', '.join(FILE_TYPES)}), not {stype}."
        )
    require(body, "StorageDomain", "add", "name")
    host = _find_host(reg, host_id, host_name)
    name = text(body, "name") or ""
    if len(name) > 50:
        raise errors.bad_request("Cannot add Storage. The Storage Domain name is too long.")
    if reg.by_name(StorageDomain, name) is not None:
        raise errors.conflict("Cannot add Storage. The Storage Domain name is already in use.")
    if getattr(host, "status", None) != "up":
        raise errors.conflict(
            "Cannot add Storage. Operation can be performed only when Host status is Up."
        )
    if dtype in ("iso", "export") and stype not in ("nfs", "posixfs", "glusterfs"):
        kind = "ISO" if dtype == "iso" else "Export"
        raise errors.bad_request(
            f"Cannot add Storage. {kind} Storage Domain can only be created on the following "
            "storage types: NFS, POSIXFS, GLUSTERFS."
        )
    if dtype not in ("data", "iso", "export"):
        raise errors.bad_request("Cannot add Storage. Storage Domain type is illegal.")
    address, path = text(body, "storage/address"), text(body, "storage/path")
    for other in reg.all(StorageDomain):
        if other.storage_type == stype and other.address == address and other.path == path:
            conn = f"{address}:{path}" if address else str(path)
            raise errors.conflict(
                f"Cannot add Storage. Storage connection {conn} already exists for {other.name}."
            )
    host_dc = _host_dc(reg, host)
    if stype == "localfs" and (host_dc is None or not host_dc.local):
        raise errors.bad_request('Data Center must be "Local Storage"')
    fmt = enum(body, "storage_format", STORAGE_FORMATS, "StorageFormat") or "v5"
    words = {"nfs": "NFS", "localfs": "local", "posixfs": "Posix FS", "glusterfs": "Gluster FS"}
    dc_name = host_dc.name if host_dc else ""
    job = reg.start_job(
        f"Adding {words[stype]} Storage Domain {name} to Data Center {dc_name}"
        if stype != "localfs"
        else f"Adding local Storage Domain {name} on Host {host.name} to Data Center {dc_name}",
        req.correlation_id,
    )
    sd = reg.add(
        StorageDomain(
            id=reg.new_id(),
            name=name,
            description=text(body, "description"),
            comment=text(body, "comment"),
            domain_type=dtype,
            storage_type=stype,
            address=address,
            path=path,
            mount_options=text(body, "storage/mount_options"),
            nfs_version=text(body, "storage/nfs_version"),
            vfs_type=text(body, "storage/vfs_type"),
            storage_format=fmt,
            wipe_after_delete=bool(boolean(body, "wipe_after_delete")),
            discard_after_delete=bool(boolean(body, "discard_after_delete")),
            backup=bool(boolean(body, "backup")),
            warning_low_space_indicator=integer(body, "warning_low_space_indicator") or 10,
            critical_space_action_blocker=integer(body, "critical_space_action_blocker") or 5,
        )
    )
    reg.event(
        CODES["USER_ADD_STORAGE_DOMAIN"],
        f"Storage Domain {name} was added by {ENGINE_USER}",
        correlation_id=job.correlation_id,
        storage_domain=sd,
    )
    if stype == "localfs" and host_dc is not None:
        # AddLocalStorageDomain attaches the new domain to the host's local data center.
        begin_attach(reg, sd, host_dc, job)
    else:
        reg.end_job(job)
    return created(req, sd)


def _update(req: Request) -> Response:
    sd = get_or_404(req, StorageDomain)
    reg = req.reg
    reg.check_unlocked(sd, "update")
    body = req.body
    stype = text(body, "storage/type")
    dtype = text(body, "type")
    if (stype and stype.lower() != sd.storage_type) or (dtype and dtype.lower() != sd.domain_type):
        raise errors.bad_request(
            "Cannot update Storage. Can only update the following fields: name, description, "
            "comment, wipe after delete, low space threshold, and critical space threshold."
        )
    name = text(body, "name")
    if name is not None and name != sd.name and reg.by_name(StorageDomain, name) is not None:
        raise errors.conflict("Cannot update Storage. The Storage Domain name is already in use.")
    with reg.job(f"Editing Storage Domain {sd.name} properties", req.correlation_id) as job:
        if name is not None:
            sd.name = name
        if has(body, "description"):
            sd.description = text(body, "description") or ""
        if has(body, "comment"):
            sd.comment = text(body, "comment") or ""
        for key in ("wipe_after_delete", "discard_after_delete", "backup"):
            v = boolean(body, key)
            if v is not None:
                setattr(sd, key, v)
        for key in ("warning_low_space_indicator", "critical_space_action_blocker"):
            n = integer(body, key)
            if n is not None:
                setattr(sd, key, n)
        reg.event(
            CODES["USER_UPDATE_STORAGE_DOMAIN"],
            f"Storage Domain {sd.name} was updated by {ENGINE_USER}",
            correlation_id=job.correlation_id,
            storage_domain=sd,
        )
    return xml_response(sd.render(req.ctx))


def _remove(req: Request) -> Response:
    sd = get_or_404(req, StorageDomain)
    reg = req.reg
    destroy = req.query_bool("destroy")
    if destroy:
        reg.check_unlocked(sd, "remove")
        with reg.job(
            f"Removing Storage Domain {sd.name} (Force Remove) from Data Center "
            f"{getattr(reg.get(DataCenter, sd.data_center_id or ''), 'name', '')}",
            req.correlation_id,
        ) as job:
            dc = reg.get(DataCenter, sd.data_center_id) if sd.data_center_id else None
            forget_attachment(reg, sd)
            reg.remove(sd)
            reg.event(
                CODES["USER_FORCE_REMOVE_STORAGE_DOMAIN"],
                f"Storage Domain {sd.name} was forcibly removed by {ENGINE_USER}",
                correlation_id=job.correlation_id,
                storage_domain=sd,
            )
        if dc is not None:
            storage_changed(reg, dc, job.correlation_id)
        return delete_complete(req)
    host_param = req.query.get("host")
    if not host_param:
        raise errors.ApiError(400, "host parameter is missing")
    host = next(
        (h for h in reg.iter_kind("host") if h.id == host_param or h.name == host_param), None
    )
    if host is None:
        raise errors.bad_request(
            "Can not Remove Storage Domain - the underlying Host ID is invalid."
        )
    if getattr(host, "status", None) != "up":
        raise errors.conflict(f"Cannot remove Storage. Host {host.name} is not up.")
    reg.check_unlocked(sd, "remove")
    if sd.data_center_id is not None and sd.storage_type != "localfs":
        raise errors.conflict(
            "Cannot remove Storage. The relevant Storage Domain is inaccessible.\n-Please handle "
            "Storage Domain issues and retry the operation."
        )
    if sd.data_center_id is not None and sd.dc_status != "maintenance":
        raise _status_illegal("remove", sd)
    with reg.job(f"Removing Storage Domain {sd.name}", req.correlation_id) as job:
        dc = reg.get(DataCenter, sd.data_center_id) if sd.data_center_id else None
        forget_attachment(reg, sd)
        reg.remove(sd)
        reg.event(
            CODES["USER_REMOVE_STORAGE_DOMAIN"],
            f"Storage Domain {sd.name} was removed by {ENGINE_USER}",
            correlation_id=job.correlation_id,
            storage_domain=sd,
        )
    if dc is not None:
        storage_changed(reg, dc, job.correlation_id)
    return delete_complete(req)


def _is_attached(req: Request) -> Response:
    sd = get_or_404(req, StorageDomain)
    el = etree.Element("is_attached")
    el.text = "true" if sd.data_center_id else "false"
    return action_complete(req, None, [el])


def _noop_action(verb: str) -> Any:
    def handler(req: Request) -> Response:
        sd = get_or_404(req, StorageDomain)
        req.reg.check_unlocked(sd, verb)
        job = req.reg.start_job(f"{verb} Storage Domain {sd.name}", req.correlation_id)
        req.reg.end_job(job)
        return action_complete(req, job)

    return handler


# ------------------------------------------------------------------ attached handlers


def _dc(req: Request) -> DataCenter:
    return get_or_404(req, DataCenter, "dc")


def _attached(req: Request) -> tuple[DataCenter, StorageDomain]:
    dc = _dc(req)
    sd = req.reg.get(StorageDomain, req.params["id"])
    if sd is None or sd.data_center_id != dc.id:
        raise errors.not_found_url()
    return dc, sd


def _attached_for(
    req: Request, action: str, statuses: tuple[str, ...]
) -> tuple[DataCenter, StorageDomain]:
    """The attached domain of an action that needs it unlocked and in one of `statuses`."""
    dc, sd = _attached(req)
    req.reg.check_unlocked(sd, action)
    if sd.dc_status not in statuses:
        raise _status_illegal(action, sd)
    return dc, sd


def _list_attached(req: Request) -> Response:
    dc = _dc(req)
    views = [
        AttachedStorageDomain(id=sd.id, name=sd.name, sd=sd) for sd in attached_to(req.reg, dc.id)
    ]
    return list_response(req, views, "storage_domains", searchable=False)


def _get_attached(req: Request) -> Response:
    _, sd = _attached(req)
    return xml_response(_render(req.ctx, sd, attached_view=True))


def _attach(req: Request) -> Response:
    reg = req.reg
    dc = _dc(req)
    body = req.body
    ident = body.get("id") if body is not None else None
    name = text(body, "name")
    if not ident and not name:
        raise errors.incomplete("StorageDomain", ["id|name"], "add")
    if ident:
        sd = reg.get(StorageDomain, ident)
        if sd is None:
            raise errors.ApiError(404, errors.OPERATION_FAILED, f"Entity not found: {ident}")
    else:
        sd = reg.by_name(StorageDomain, name or "")
        if sd is None:
            raise errors.entity_not_found("Storage", "name", name or "")
    reg.check_unlocked(sd, "attach")
    reg.check_unlocked(dc, "attach", "Storage")
    if sd.data_center_id is not None:
        raise errors.conflict(
            "Cannot attach Storage. The relevant Storage Domain is inaccessible.\n-Please handle "
            "Storage Domain issues and retry the operation."
        )
    if sd.storage_type == "localfs" and not dc.local:
        raise errors.conflict(
            "Cannot attach a local Storage Domain to a shared storage Data Center."
        )
    current = list(attached_to(reg, dc.id))
    master = master_of(reg, dc.id)
    if master is None and sd.domain_type != "data":
        raise errors.conflict(
            "Cannot attach Storage Domain.\n-Please attach Data Domain to the Data Center first."
        )
    if sd.domain_type == "iso" and any(o.domain_type == "iso" for o in current):
        raise errors.conflict(
            "Cannot attach more than one ISO Storage Domain to the same Data Center. If you want "
            "to use a newly created Domain, detach the existing attached Domain and attach the "
            "new one."
        )
    if sd.domain_type == "export" and any(o.domain_type == "export" for o in current):
        raise errors.conflict(
            "Cannot attach more than one Import/Export Storage Domain to the same Data Center. "
            "If you want to use a newly created Domain, detach the existing attached Domain and "
            "attach the new one."
        )
    if not active_hosts(reg, dc):
        raise errors.conflict("Cannot attach Storage. There is no active Host in the Data Center.")
    if master is not None and master.dc_status != "active":
        raise errors.conflict(
            "Failed to attach Storage due to an error on the Data Center master Storage Domain."
            "\n-Please activate the master Storage Domain first."
        )
    job = reg.start_job(
        f"Attaching Storage Domain {sd.name} to Data Center {dc.name}", req.correlation_id
    )
    begin_attach(reg, sd, dc, job)
    view = AttachedStorageDomain(id=sd.id, name=sd.name, sd=sd)
    return created(req, view)


def _activate(req: Request) -> Response:
    reg = req.reg
    dc, sd = _attached_for(req, "activate", ("maintenance", "inactive", "unknown"))
    if not active_hosts(reg, dc):
        raise errors.conflict(
            "Cannot activate Storage. There is no active Host in the Data Center."
        )
    job = reg.start_job(
        f"Activating Storage Domain {sd.name} on Data Center {dc.name}", req.correlation_id
    )
    begin_activate(reg, sd, dc, job)
    return action_complete(req, job)


def _deactivate(req: Request) -> Response:
    reg = req.reg
    dc, sd = _attached_for(req, "deactivate", ("active", "inactive", "unknown"))
    if sd.master:
        others_data = [
            o
            for o in attached_to(reg, dc.id)
            if o is not sd and o.domain_type == "data" and o.dc_status == "active"
        ]
        non_data = [
            o
            for o in attached_to(reg, dc.id)
            if o.domain_type != "data" and o.dc_status == "active"
        ]
        if non_data and not others_data:
            raise errors.conflict(
                "Cannot deactivate a Master Storage Domain while there are active non-data "
                "domains in the Data Center.\n-Please deactivate all the non-data domains first."
            )
    running = [
        vm
        for vm in reg.iter_kind("vm")
        if getattr(vm, "status", "down") not in ("down", "suspended")
        and sd.id in set(getattr(vm, "storage_domain_ids", lambda: [])())
    ]
    if running and not req.action_bool("force"):
        raise errors.conflict(
            'Cannot deactivate Storage. VMs in a state other than "Down" or "Suspended" were '
            "detected.\n-Please ensure all VMs associated with this Storage Domain are stopped "
            "and in the Down or Suspended state first."
        )
    job = reg.start_job(
        f"Deactivating Storage Domain {sd.name} in Data Center {dc.name}", req.correlation_id
    )
    begin_deactivate(reg, sd, dc, job)
    return action_complete(req, job)


def _detach(req: Request) -> Response:
    reg = req.reg
    dc, sd = _attached_for(req, "detach", ("maintenance",))
    others = [o for o in attached_to(reg, dc.id) if o is not sd]
    if sd.master and others:
        raise errors.conflict(
            "Cannot detach the master Storage Domain from the Data Center while there are other "
            "storage domains attached to it.\n-Please try to activate another Storage Domain in "
            "the Data Center."
        )
    job = reg.start_job(
        f"Detaching Storage Domain {sd.name} from Data Center {dc.name}", req.correlation_id
    )
    begin_detach(reg, sd, dc, job)
    return delete_complete(req)


def _set_master(req: Request) -> Response:
    reg = req.reg
    dc = get_or_404(req, DataCenter)
    el = req.body.find("storage_domain") if req.body is not None else None
    ident = el.get("id") if el is not None else None
    name = text(el, "name") if el is not None else None
    if not ident and not name:
        raise errors.incomplete("Action", ["storageDomain.id|name"], "setMaster")
    sd = reg.resolve(StorageDomain, ident, name)
    if sd.data_center_id != dc.id:
        raise errors.conflict(
            "Cannot set master Storage Domain. Storage Domain is not attached to the Data Center."
        )
    if sd.domain_type != "data" or sd.dc_status != "active":
        raise _status_illegal("set master", sd)
    reg.check_unlocked(sd, "set master")
    job = reg.start_job(
        f"Switching master storage domain from "
        f"{getattr(master_of(reg, dc.id), 'name', '')} to {sd.name}",
        req.correlation_id,
    )
    old = master_of(reg, dc.id)
    if old is not None and old is not sd:
        old.master = False
        sd.master = True
        sd.lock = "setmaster"

        def done() -> None:
            sd.lock = None
            reg.event(
                CODES["RECONSTRUCT_MASTER_DONE"],
                f"Reconstruct Master Domain for Data Center {dc.name} completed.",
                correlation_id=job.correlation_id,
                user=None,
                data_center=dc,
                storage_domain=sd,
            )
            reg.end_job(job)

        reg.schedule("storagedomain.activate", done, f"setmaster {sd.name}")
    else:
        reg.end_job(job)
    return action_complete(req, job)


def register(api: Api) -> None:
    api.route("GET", "/storagedomains", _list)
    api.route("POST", "/storagedomains", _add)
    api.route("GET", "/storagedomains/{id}", _get)
    api.route("PUT", "/storagedomains/{id}", _update)
    api.route("DELETE", "/storagedomains/{id}", _remove)
    api.action("/storagedomains/{id}", "isattached", _is_attached)
    api.action("/storagedomains/{id}", "refreshluns", _noop_action("Refresh LUNs of"))
    api.action("/storagedomains/{id}", "updateovfstore", _noop_action("Update OVF store of"))
    api.route("GET", "/datacenters/{dc}/storagedomains", _list_attached)
    api.route("POST", "/datacenters/{dc}/storagedomains", _attach)
    api.route("GET", "/datacenters/{dc}/storagedomains/{id}", _get_attached)
    api.route("DELETE", "/datacenters/{dc}/storagedomains/{id}", _detach)
    api.action("/datacenters/{dc}/storagedomains/{id}", "activate", _activate)
    api.action("/datacenters/{dc}/storagedomains/{id}", "deactivate", _deactivate)
    api.action("/datacenters/{id}", "setmaster", _set_master)
    # disks, templates and vms under a domain are served by disk.py / vmtemplate.py /
    # virtualmachine.py when they exist; the rest are link-only here.
    empty_collections(
        api,
        StorageDomain,
        "/storagedomains/{id}",
        {
            "diskprofiles": "disk_profiles",
            "disksnapshots": "disk_snapshots",
            "files": "files",
            "images": "images",
            "permissions": "permissions",
            "storageconnections": "storage_connections",
        },
    )


def finalize(api: Api) -> None:
    """/storagedomains/{id}/disks|templates|vms, unless disk.py, vmtemplate.py or
    virtualmachine.py serve them: objects whose `storage_domain_id` is the domain or whose
    `storage_domain_ids()` include it."""
    for rel, kind, plural in (
        ("disks", "disk", "disks"),
        ("templates", "template", "templates"),
        ("vms", "vm", "vms"),
    ):
        if api.match("GET", f"/storagedomains/x/{rel}") is not None:
            continue

        def handler(req: Request, kind: str = kind, plural: str = plural) -> Response:
            sd = get_or_404(req, StorageDomain)
            objs = [
                o
                for o in req.reg.iter_kind(kind)
                if getattr(o, "storage_domain_id", None) == sd.id
                or sd.id in set(getattr(o, "storage_domain_ids", lambda: [])())
            ]
            return list_response(req, objs, plural, searchable=False)

        api.route("GET", f"/storagedomains/{{id}}/{rel}", handler)


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    """storage_domains: attached ones may say `status: active|maintenance` (default active);
    the first data domain of a data center becomes master. No transitions are scheduled."""
    from rhevsim.inventory import InventoryError, find

    for i, s in enumerate(find(inv, "storage_domains")):
        where = f"storage_domains[{i}]"
        storage = s.get("storage") or {}
        if not isinstance(storage, dict):
            raise InventoryError(f"{where}.storage: expected {{type, address, path}}")
        stype = str(storage.get("type", "nfs"))
        if stype not in FILE_TYPES:
            raise InventoryError(f"{where}.storage.type: expected one of {FILE_TYPES}")
        dtype = str(s.get("type", "data"))
        if dtype not in ("data", "iso", "export"):
            raise InventoryError(f"{where}.type: expected data, iso or export")
        sd = reg.add(
            StorageDomain(
                id=s.get("id") or reg.new_id(),
                name=str(s["name"]),
                description=s.get("description"),
                domain_type=dtype,
                storage_type=stype,
                address=storage.get("address"),
                path=storage.get("path"),
                available=int(s.get("available_gib", 500)) * GiB,
                used=int(s.get("used_gib", 20)) * GiB,
            )
        )
        if s.get("data_center"):
            dc = reg.by_name(DataCenter, str(s["data_center"]))
            if dc is None:
                raise InventoryError(f"{where}.data_center: no data center {s['data_center']!r}")
            status = str(s.get("status", "active"))
            if status not in ("active", "maintenance"):
                raise InventoryError(f"{where}.status: expected active or maintenance")
            sd.data_center_id = dc.id
            sd.dc_status = status
            if dtype == "data" and master_of(reg, dc.id) is None:
                sd.master = True
    for dc in reg.all(DataCenter):
        storage_changed(reg, dc)

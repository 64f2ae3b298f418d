"""The /storagedomains handlers: add, update, remove, and the domain actions."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim import errors
from rhevsim.api import (
    Request,
    Response,
    action_complete,
    created,
    delete_complete,
    get_or_404,
    list_response,
    require,
    xml_response,
)
from rhevsim.datacenter import ENGINE_USER, DataCenter, storage_changed
from rhevsim.event import CODES
from rhevsim.storagedomain.entity import (
    DOMAIN_TYPES,
    FILE_TYPES,
    STORAGE_FORMATS,
    STORAGE_TYPES,
    StorageDomain,
    begin_attach,
    dc_of_host,
    find_host,
    forget_attachment,
    status_illegal,
)
from rhevsim.xmlutil import boolean, enum, has, integer, text

if TYPE_CHECKING:
    pass


def list_domains(req: Request) -> Response:
    return list_response(req, req.reg.all(StorageDomain), "storage_domains")


def get_domain(req: Request) -> Response:
    return xml_response(get_or_404(req, StorageDomain).render(req.ctx))


def add_domain(req: Request) -> Response:
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
    host = find_host(reg, host_id, host_name)
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
    host_dc = dc_of_host(reg, host)
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


def update_domain(req: Request) -> Response:
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


def remove_domain(req: Request) -> Response:
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
        raise status_illegal("remove", sd)
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


def is_attached(req: Request) -> Response:
    sd = get_or_404(req, StorageDomain)
    el = etree.Element("is_attached")
    el.text = "true" if sd.data_center_id else "false"
    return action_complete(req, None, [el])


def noop_action(verb: str) -> Any:
    def handler(req: Request) -> Response:
        sd = get_or_404(req, StorageDomain)
        req.reg.check_unlocked(sd, verb)
        job = req.reg.start_job(f"{verb} Storage Domain {sd.name}", req.correlation_id)
        req.reg.end_job(job)
        return action_complete(req, job)

    return handler

"""The StorageDomain entity, the queries other modules use, and its attachment state machine."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lxml import etree

from rhevsim import errors
from rhevsim.cluster import Cluster
from rhevsim.datacenter import ENGINE_USER, DataCenter, storage_changed
from rhevsim.event import CODES
from rhevsim.job import Job
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.xmlutil import Element

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
        return render_domain(ctx, self, attached_view=False)

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
        return render_domain(ctx, self.sd, attached_view=True)

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        return self.sd.search_fields(reg)


def render_domain(ctx: Ctx, sd: StorageDomain, attached_view: bool) -> Element:
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


def forget_attachments(reg: Registry, dc: Entity, correlation_id: str | None) -> None:
    """Forced data center removal: every attached domain goes back to unattached."""
    for sd in list(attached_to(reg, dc.id)):
        forget_attachment(reg, sd)


def _engine_status(s: str) -> str:
    return _ENGINE_STATUS.get(s, s)


def status_illegal(action: str, sd: StorageDomain) -> errors.ApiError:
    return errors.conflict(
        f"Cannot {action} Storage. The relevant Storage Domain's status is "
        f"{_engine_status(sd.dc_status)}."
    )


def find_host(reg: Registry, ident: str | None, name: str | None) -> Entity:
    for h in reg.iter_kind("host"):
        if (ident and h.id == ident) or (not ident and name and h.name == name):
            return h
    if ident:
        raise errors.entity_not_found("Host", "id", ident)
    raise errors.entity_not_found("Host", "name", name or "")


def dc_of_host(reg: Registry, host: Entity) -> DataCenter | None:
    cl = reg.get(Cluster, str(getattr(host, "cluster_id", "") or ""))
    if cl is None or cl.data_center_id is None:
        return None
    return reg.get(DataCenter, cl.data_center_id)


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
        if sd.lock != "deactivate":
            # Activated again while preparing for maintenance: this deactivation is over.
            if job.status == "started":
                reg.end_job(job, False)
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

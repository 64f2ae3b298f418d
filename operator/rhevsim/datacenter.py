"""Data centers (/datacenters): the exemplar entity module (see README.md).

Status is derived, never set by a request: `recompute_status` looks at the master storage
domain (rhevsim.storagedomain) and the SPM state (rhevsim.hypervisor sets
`spm_host_id`/`spm_status`):

    no attached data domain / no master          -> uninitialized
    master in maintenance (last one deactivated) -> maintenance
    SPM starting (spm_status "contending")       -> contend
    master being attached/activated              -> unchanged (uninitialized/maintenance)
                                                    or problematic
    master active, SPM elected                   -> up
    master active, no SPM (searching/failed)     -> problematic
"""

from __future__ import annotations

import re
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
from rhevsim.event import CODES
from rhevsim.inventory import InventoryError, find
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.xmlutil import Element, boolean, enum, has, integer, text

if TYPE_CHECKING:
    from rhevsim.registry import Registry

STATUSES = ("uninitialized", "up", "maintenance", "not_operational", "problematic", "contend")
STORAGE_FORMATS = ("v1", "v2", "v3", "v4", "v5")
QUOTA_MODES = ("disabled", "audit", "enabled")
# Compatibility versions a 4.5 engine supports.
SUPPORTED_VERSIONS: tuple[tuple[int, int], ...] = ((4, 2), (4, 3), (4, 4), (4, 5), (4, 6), (4, 7))
DEFAULT_VERSION = SUPPORTED_VERSIONS[-1]
ENGINE_USER = "admin@internal-authz"  # how the engine names the user in event texts


@dataclass(kw_only=True, eq=False)
class DataCenter(Entity):
    KIND = "datacenter"
    TAG = "data_center"
    PLURAL = "data_centers"
    PATH = "datacenters"
    TYPE_NAME = "Data Center"
    REF_NAME = "Datacenter"  # "Entity not found: Datacenter: name=X"

    local: bool = False
    storage_format: str = "v5"
    version: tuple[int, int] = DEFAULT_VERSION
    quota_mode: str = "disabled"
    status: str = "uninitialized"
    # Maintained by the SPM code in rhevsim.hypervisor: "none" | "contending" | "spm".
    spm_host_id: str | None = None
    spm_status: str = "none"
    # Fencing of its non-responsive SPM failed (VdsNotRespondingTreatment ->
    # SetStoragePoolStatus NotOperational); cleared once an SPM runs again.
    spm_fence_failed: bool = False

    def render(self, ctx: Ctx) -> Element:
        el = ctx.el(self)
        ctx.actions(el, self, ("cleanfinishedtasks", "setmaster"))
        ctx.common(el, self)
        ctx.sub_collection(el, self, "clusters", "clusters", lambda: clusters_of(ctx.reg, self))
        for rel in ("iscsibonds",):
            ctx.link(el, self, rel)
        ctx.sub_collection(el, self, "networks", "networks", lambda: _networks_of(ctx.reg, self))
        for rel in ("permissions", "quotas", "qoss"):
            ctx.link(el, self, rel)
        ctx.sub_collection(
            el,
            self,
            "storagedomains",
            "storage_domains",
            lambda: _attached_domains(ctx.reg, self),
        )
        etree.SubElement(el, "local").text = "true" if self.local else "false"
        etree.SubElement(el, "quota_mode").text = self.quota_mode
        etree.SubElement(el, "status").text = self.status
        etree.SubElement(el, "storage_format").text = self.storage_format
        sv = etree.SubElement(el, "supported_versions")
        for major, minor in SUPPORTED_VERSIONS:
            if (major, minor) >= self.version:
                v = etree.SubElement(sv, "version")
                etree.SubElement(v, "major").text = str(major)
                etree.SubElement(v, "minor").text = str(minor)
        v = etree.SubElement(el, "version")
        etree.SubElement(v, "major").text = str(self.version[0])
        etree.SubElement(v, "minor").text = str(self.version[1])
        return el

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        clusters = tuple(c.name for c in clusters_of(reg, self))
        return {
            "name": self.name,
            "id": self.id,
            "description": self.description,
            "status": self.status,
            "type": "local" if self.local else "shared",
            "local": self.local,
            "compatibility_version": f"{self.version[0]}.{self.version[1]}",
            # The Clusters cross-reference (SearchObjectAutoCompleter joins storage_pool and
            # cluster); ovirt_nic (Ansible) searches `Clusters.name=X`.
            **dict.fromkeys(("cluster", "cluster.name", "clusters", "clusters.name"), clusters),
        }


# ------------------------------------------------------------------ relations and status


def clusters_of(reg: Registry, dc: DataCenter) -> list[Entity]:
    return [c for c in reg.iter_kind("cluster") if getattr(c, "data_center_id", None) == dc.id]


def _networks_of(reg: Registry, dc: DataCenter) -> list[Entity]:
    return reg.children("network", "data_center_id", dc.id)


def _attached_domains(reg: Registry, dc: DataCenter) -> list[Entity]:
    return reg.children("storagedomain", "data_center_id", dc.id)


def _master_of(reg: Registry, dc: DataCenter) -> Entity | None:
    return next((sd for sd in _attached_domains(reg, dc) if getattr(sd, "master", False)), None)


def recompute_status(reg: Registry, dc: DataCenter, correlation_id: str | None = None) -> None:
    """Derive dc.status from its master domain and SPM; write events on changes."""
    master = _master_of(reg, dc)
    master_status = getattr(master, "dc_status", "")
    if master is None:
        new = "uninitialized"
    elif master_status in ("maintenance", "preparing_for_maintenance", "detaching"):
        new = "maintenance"
    elif dc.spm_status == "contending":
        new = "contend"
    elif master_status not in ("active", "unknown"):
        # The master is being attached/activated: a new pool stays uninitialized (or in
        # maintenance) until its master is active; a running one has lost it.
        new = dc.status if dc.status in ("uninitialized", "maintenance") else "problematic"
    elif dc.spm_status == "spm" and dc.spm_host_id:
        new = "up"
    else:
        new = "not_operational" if dc.spm_fence_failed else "problematic"
    if new == "up":
        dc.spm_fence_failed = False
    if new == dc.status:
        return
    old, dc.status = dc.status, new
    if new == "problematic" and old not in ("contend", "not_operational"):
        reg.event(
            CODES["SYSTEM_CHANGE_STORAGE_POOL_STATUS_PROBLEMATIC_SEARCHING_NEW_SPM"],
            "Data Center is being initialized, please wait for initialization to complete.",
            "warning",
            correlation_id=correlation_id,
            user=None,
            data_center=dc,
        )


def storage_changed(reg: Registry, dc: DataCenter, correlation_id: str | None = None) -> None:
    """Call after anything that changes a data center's storage: recompute the status, then
    let the SPM code (hooks.dc_status_listeners) react, e.g. start an election."""
    recompute_status(reg, dc, correlation_id)
    for listener in reg.hooks.dc_status_listeners:
        listener(reg, dc)


def active_hosts(reg: Registry, dc: DataCenter) -> list[Entity]:
    """Up hosts of the data center (the host module may override via hooks.active_hosts)."""
    if reg.hooks.active_hosts is not None:
        return reg.hooks.active_hosts(reg, dc.id)
    cluster_ids = {c.id for c in clusters_of(reg, dc)}
    return [
        h
        for h in reg.iter_kind("host")
        if getattr(h, "status", None) == "up" and getattr(h, "cluster_id", None) in cluster_ids
    ]


# ------------------------------------------------------------------ parsing


def _version(body: Element | None) -> tuple[int, int] | None:
    if not has(body, "version"):
        return None
    major, minor = integer(body, "version/major"), integer(body, "version/minor")
    if major is None or minor is None:
        raise errors.incomplete("Version", ["major", "minor"], "add")
    return major, minor


def _check_version(action: str, version: tuple[int, int]) -> None:
    if version not in SUPPORTED_VERSIONS:
        raise errors.bad_request(
            f"Cannot {action} Data Center. Selected Compatibility Version is not supported."
        )


def _name_taken(reg: Registry, name: str, exclude: str | None = None) -> bool:
    return any(d.name == name and d.id != exclude for d in reg.all(DataCenter))


def _check_name(name: str) -> None:
    if not re.fullmatch(r"[\w.-]{1,40}", name):
        raise errors.bad_request(
            "Cannot create Data Center. The given name contains special characters. "
            "Only lower-case and upper-case letters, numbers, '_', '-', '.' are allowed."
        )


def new_datacenter(
    reg: Registry,
    name: str,
    *,
    description: str | None = None,
    local: bool = False,
    version: tuple[int, int] = DEFAULT_VERSION,
    storage_format: str = "v5",
    quota_mode: str = "disabled",
    correlation_id: str | None = None,
    ident: str | None = None,
) -> DataCenter:
    """Create a data center with its management network (used by POST and the inventory)."""
    dc = reg.add(
        DataCenter(
            id=ident or reg.new_id(),
            name=name,
            description=description,
            local=local,
            version=version,
            storage_format=storage_format,
            quota_mode=quota_mode,
        )
    )
    reg.event(
        CODES["USER_ADD_STORAGE_POOL"],
        f"Data Center {name}, Compatibility Version {version[0]}.{version[1]} and Quota Type "
        f"{quota_mode.upper()} was added by {ENGINE_USER}",
        correlation_id=correlation_id,
        data_center=dc,
    )
    # The engine adds the management network to every new data center (network.py).
    for fn in reg.hooks.dc_added:
        fn(reg, dc, correlation_id)
    return dc


# ------------------------------------------------------------------ handlers


def list_datacenters(req: Request) -> Response:
    return list_response(req, req.reg.all(DataCenter), "data_centers")


def get_datacenter(req: Request) -> Response:
    return xml_response(get_or_404(req, DataCenter).render(req.ctx))


def add_datacenter(req: Request) -> Response:
    body = req.body
    require(body, "DataCenter", "add", "name")
    require(body, "DataCenter", "add", "local")
    name = text(body, "name") or ""
    _check_name(name)
    if _name_taken(req.reg, name):
        raise errors.name_in_use("create", "Data Center")
    version = _version(body) or DEFAULT_VERSION
    _check_version("create", version)
    with req.reg.job(f"Adding empty Data Center {name}", req.correlation_id) as job:
        dc = new_datacenter(
            req.reg,
            name,
            description=text(body, "description"),
            local=bool(boolean(body, "local")),
            version=version,
            storage_format=enum(body, "storage_format", STORAGE_FORMATS, "StorageFormat") or "v5",
            quota_mode=enum(body, "quota_mode", QUOTA_MODES, "QuotaModeType") or "disabled",
            correlation_id=job.correlation_id,
        )
        dc.comment = text(body, "comment")
    return created(req, dc)


def update_datacenter(req: Request) -> Response:
    dc = get_or_404(req, DataCenter)
    req.reg.check_unlocked(dc, "update")
    body = req.body
    name = text(body, "name")
    if name is not None and name != dc.name:
        _check_name(name)
        if _name_taken(req.reg, name, dc.id):
            raise errors.name_in_use("update", "Data Center")
    local = boolean(body, "local")
    if local is not None and local != dc.local and _attached_domains(req.reg, dc):
        raise errors.conflict(
            "Cannot update Data Center. Cannot change the Data Center storage type while "
            "Storage Domains are attached to it."
        )
    version = _version(body)
    if version is not None:
        _check_version("update", version)
        if version < dc.version:
            raise errors.conflict(
                "Cannot update Data Center. Cannot decrease data center compatibility version."
            )
    with req.reg.job(f"Editing Data Center {dc.name} properties", req.correlation_id) as job:
        if name is not None:
            dc.name = name
        if has(body, "description"):
            dc.description = text(body, "description") or ""
        if has(body, "comment"):
            dc.comment = text(body, "comment") or ""
        if local is not None:
            dc.local = local
        if version is not None:
            dc.version = version
        fmt = enum(body, "storage_format", STORAGE_FORMATS, "StorageFormat")
        if fmt is not None:
            dc.storage_format = fmt
        qm = enum(body, "quota_mode", QUOTA_MODES, "QuotaModeType")
        if qm is not None:
            dc.quota_mode = qm
        req.reg.event(
            CODES["USER_UPDATE_STORAGE_POOL"],
            f"Data Center {dc.name} was updated by {ENGINE_USER}",
            correlation_id=job.correlation_id,
            data_center=dc,
        )
    return xml_response(dc.render(req.ctx))


def remove_datacenter(req: Request) -> Response:
    dc = get_or_404(req, DataCenter)
    req.reg.check_unlocked(dc, "remove")
    force = req.query_bool("force")
    reg = req.reg
    attached = _attached_domains(reg, dc)
    # RemoveStoragePoolCommand.validate, in the engine's order.
    if dc.status == "up":
        raise errors.conflict("Cannot remove an active Data Center.")
    if any(getattr(sd, "dc_status", "") != "maintenance" for sd in attached):
        raise errors.conflict(
            "Cannot remove Data Center which contains Storage Domains that are not in "
            "Maintenance status.\n-Please deactivate all domains and wait for tasks to "
            "finish before removing the Data Center."
        )
    if not force and len(attached) > 1:
        raise errors.conflict(
            "Cannot remove Data Center when more than one Storage Domain is attached."
        )
    if force:
        cluster_ids = {c.id for c in clusters_of(reg, dc)}
        if any(
            getattr(h, "cluster_id", None) in cluster_ids
            and getattr(h, "status", None) != "maintenance"
            for h in reg.iter_kind("host")
        ):
            raise errors.conflict(
                "Cannot remove Data Center while there are Hosts that are not in Maintenance mode."
            )
    with reg.job(f"Removing Data Center {dc.name}", req.correlation_id) as job:
        for c in clusters_of(reg, dc):
            c.data_center_id = None  # type: ignore[attr-defined]
        # Attached domains go back to unattached (force), networks go (their modules).
        for fn in reg.hooks.dc_removed:
            fn(reg, dc, job.correlation_id)
        reg.remove(dc)
        reg.event(
            CODES["USER_REMOVE_STORAGE_POOL"],
            f"Data Center {dc.name} was removed by {ENGINE_USER}",
            correlation_id=job.correlation_id,
            data_center=dc,
        )
    return delete_complete(req)


def clean_finished_tasks(req: Request) -> Response:
    dc = get_or_404(req, DataCenter)
    job = req.reg.start_job(f"Cleaning finished tasks of Data Center {dc.name}", req.correlation_id)
    req.reg.end_job(job)
    return action_complete(req, job)


def register(api: Api) -> None:
    api.route("GET", "/datacenters", list_datacenters)
    api.route("POST", "/datacenters", add_datacenter)
    api.route("GET", "/datacenters/{id}", get_datacenter)
    api.route("PUT", "/datacenters/{id}", update_datacenter)
    api.route("DELETE", "/datacenters/{id}", remove_datacenter)
    api.action("/datacenters/{id}", "cleanfinishedtasks", clean_finished_tasks)
    empty_collections(
        api,
        DataCenter,
        "/datacenters/{id}",
        {
            "permissions": "permissions",
            "quotas": "quotas",
            "qoss": "qoss",
            "iscsibonds": "iscsi_bonds",
        },
    )
    # setmaster lives in rhevsim.storagedomain (it is about domains).


def load_inventory(reg: Registry, inv: dict[str, Any]) -> None:
    for i, d in enumerate(find(inv, "datacenters")):
        v = d.get("version", f"{DEFAULT_VERSION[0]}.{DEFAULT_VERSION[1]}")
        try:
            major, minor = (int(x) for x in str(v).split("."))
        except ValueError:
            raise InventoryError(
                f"datacenters[{i}].version: expected MAJOR.MINOR, e.g. 4.7"
            ) from None
        if (major, minor) not in SUPPORTED_VERSIONS:
            raise InventoryError(
                f"datacenters[{i}].version: {v} not supported; one of "
                + ", ".join(f"{a}.{b}" for a, b in SUPPORTED_VERSIONS)
            )
        new_datacenter(
            reg,
            d["name"],
            description=d.get("description"),
            local=bool(d.get("local", False)),
            version=(major, minor),
            storage_format=str(d.get("storage_format", "v5")),
            ident=d.get("id"),
        )

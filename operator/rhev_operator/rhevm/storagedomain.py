"""Storage domains: top level ``/storagedomains`` and attached to a data center
``/datacenters/{dc}/storagedomains`` (where the per-data-center status lives)."""

from __future__ import annotations

from pydantic import Field, model_validator

from rhev_operator.rhevm import xmlio
from rhev_operator.rhevm._base import ActionResult, Collection, Frozen, Input, one_of
from rhev_operator.rhevm.session import Session

__all__ = [
    "AttachedStorageDomains",
    "StorageDomain",
    "StorageDomainCreate",
    "StorageDomainUpdate",
    "StorageDomains",
]


class StorageDomain(Frozen):
    """``status`` is ``unattached`` or None at top level; read it through
    ``attached(dc_id)`` for the status in a data center."""

    id: str
    name: str
    description: str | None = None
    comment: str | None = None
    type: str | None = None
    storage_type: str | None = None
    address: str | None = None
    path: str | None = None
    nfs_version: str | None = None
    mount_options: str | None = None
    master: bool | None = None
    status: str | None = None
    external_status: str | None = None
    available: int | None = None
    used: int | None = None
    committed: int | None = None
    storage_format: str | None = None
    wipe_after_delete: bool | None = None
    backup: bool | None = None
    block_size: int | None = None
    data_center_ids: tuple[str, ...] = ()


def _dc_ids(el: xmlio.Element) -> tuple[str, ...]:
    ids = [i for c in el.iterfind("data_centers/data_center") if (i := c.get("id"))]
    single = xmlio.get(el, "data_center/@id")
    if single and single not in ids:
        ids.append(single)
    return tuple(ids)


_STORAGE = {
    "storage_type": "storage/type",
    "address": "storage/address",
    "path": "storage/path",
    "nfs_version": "storage/nfs_version",
    "mount_options": "storage/mount_options",
    "vfs_type": "storage/vfs_type",
}


class StorageDomainCreate(Input):
    """``POST /storagedomains``; ``host_id``/``host_name`` names the host that creates it."""

    name: str = Field(min_length=1)
    type: str = Field(min_length=1)
    storage_type: str = Field(min_length=1)
    host_id: str | None = None
    host_name: str | None = None
    address: str | None = None
    path: str | None = None
    nfs_version: str | None = None
    mount_options: str | None = None
    vfs_type: str | None = None
    storage_format: str | None = None
    description: str | None = None
    comment: str | None = None
    wipe_after_delete: bool | None = None
    backup: bool | None = None

    @model_validator(mode="after")
    def _refs(self) -> StorageDomainCreate:
        one_of("host_id", self.host_id, "host_name", self.host_name)
        if self.storage_type in ("nfs", "localfs", "posixfs", "glusterfs") and not self.path:
            raise ValueError(f"path: required for storage_type {self.storage_type}")
        if self.storage_type == "nfs" and not self.address:
            raise ValueError("address: required for storage_type nfs")
        return self


class StorageDomainUpdate(Input):
    name: str | None = Field(default=None, min_length=1)
    description: str | None = None
    comment: str | None = None
    wipe_after_delete: bool | None = None
    backup: bool | None = None


class StorageDomains(Collection[StorageDomain]):
    tag = "storage_domain"
    plural = "storage_domains"
    model = StorageDomain
    searchable = True
    read_spec = {**_STORAGE, "data_center_ids": _dc_ids}
    write_spec = {**_STORAGE, "host_id": "host/@id", "host_name": "host/name"}

    def add(self, data: StorageDomainCreate, correlation_id: str | None = None) -> StorageDomain:
        return self._add(data, correlation_id)

    def update(
        self, entity_id: str, data: StorageDomainUpdate, correlation_id: str | None = None
    ) -> StorageDomain:
        return self._update(entity_id, data, correlation_id)

    def remove(
        self,
        entity_id: str,
        host: str | None = None,
        format: bool = False,
        destroy: bool = False,
        correlation_id: str | None = None,
    ) -> None:
        """Remove the domain; ``host`` (name or id) does the work, ``format`` wipes it,
        ``destroy`` only forgets it in the engine database."""
        params: dict[str, object] = {"host": host}
        if format:
            params["format"] = True
        if destroy:
            params["destroy"] = True
        self._remove(entity_id, correlation_id, params)

    def attached(self, data_center_id: str) -> AttachedStorageDomains:
        return AttachedStorageDomains(self._s, data_center_id)


class AttachedStorageDomains(Collection[StorageDomain]):
    """``/datacenters/{dc}/storagedomains``: attach (POST), activate, deactivate,
    detach (DELETE); the status here is the domain's status in that data center."""

    tag = "storage_domain"
    plural = "storage_domains"
    model = StorageDomain
    read_spec = {**_STORAGE, "data_center_ids": _dc_ids}

    def __init__(self, session: Session, data_center_id: str) -> None:
        super().__init__(session, f"datacenters/{data_center_id}/storagedomains")
        self.data_center_id = data_center_id

    def attach(self, storage_domain_id: str, correlation_id: str | None = None) -> StorageDomain:
        body = xmlio.new("storage_domain", {"id": storage_domain_id})
        cid = self._cid(correlation_id)
        reply = self._s.request("POST", self.path, body=body, correlation_id=cid)
        return self._parse_one(reply, f"POST {self.path}")

    def activate(self, storage_domain_id: str, correlation_id: str | None = None) -> ActionResult:
        return self._action(storage_domain_id, "activate", correlation_id)

    def deactivate(
        self, storage_domain_id: str, force: bool = False, correlation_id: str | None = None
    ) -> ActionResult:
        body = xmlio.action(force=True if force else None)
        return self._action(storage_domain_id, "deactivate", correlation_id, body)

    def detach(self, storage_domain_id: str, correlation_id: str | None = None) -> None:
        self._remove(storage_domain_id, correlation_id)

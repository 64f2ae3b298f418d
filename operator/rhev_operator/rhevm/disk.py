"""Disks: floating ``/disks`` (``<disk>``); VM attachments are in virtualmachine.py."""

from __future__ import annotations

from pydantic import Field, model_validator

from rhev_operator.rhevm import xmlio
from rhev_operator.rhevm._base import Collection, Frozen, Input, one_of

__all__ = ["Disk", "DiskCreate", "DiskUpdate", "Disks"]


class Disk(Frozen):
    id: str
    name: str | None = None
    alias: str | None = None
    description: str | None = None
    comment: str | None = None
    provisioned_size: int | None = None
    actual_size: int | None = None
    total_size: int | None = None
    format: str | None = None
    sparse: bool | None = None
    status: str | None = None
    storage_type: str | None = None
    content_type: str | None = None
    shareable: bool | None = None
    wipe_after_delete: bool | None = None
    bootable: bool | None = None
    image_id: str | None = None
    storage_domain_ids: tuple[str, ...] = ()


class DiskCreate(Input):
    """A new image disk on a storage domain (``provisioned_size`` in bytes; ``format``
    cow or raw is mandatory for the engine: ``Disk [format] required for add``)."""

    name: str = Field(min_length=1)
    provisioned_size: int = Field(gt=0)
    format: str
    storage_domain_id: str | None = None
    storage_domain_name: str | None = None
    sparse: bool | None = None
    description: str | None = None
    comment: str | None = None
    shareable: bool | None = None
    wipe_after_delete: bool | None = None
    content_type: str | None = None

    @model_validator(mode="after")
    def _refs(self) -> DiskCreate:
        one_of(
            "storage_domain_id",
            self.storage_domain_id,
            "storage_domain_name",
            self.storage_domain_name,
        )
        if self.format not in ("cow", "raw"):
            raise ValueError(f"format: must be cow or raw, got {self.format!r}")
        return self


class DiskUpdate(Input):
    """``provisioned_size`` may only grow."""

    name: str | None = Field(default=None, min_length=1)
    provisioned_size: int | None = Field(default=None, gt=0)
    description: str | None = None
    comment: str | None = None
    shareable: bool | None = None
    wipe_after_delete: bool | None = None


DISK_READ = {"storage_domain_ids": xmlio.read_ids("storage_domains/storage_domain")}
DISK_WRITE = {
    "storage_domain_id": "storage_domains/storage_domain/@id",
    "storage_domain_name": "storage_domains/storage_domain/name",
}


class Disks(Collection[Disk]):
    tag = "disk"
    plural = "disks"
    model = Disk
    searchable = True
    read_spec = DISK_READ
    write_spec = DISK_WRITE

    def add(self, data: DiskCreate, correlation_id: str | None = None) -> Disk:
        return self._add(data, correlation_id)

    def update(self, disk_id: str, data: DiskUpdate, correlation_id: str | None = None) -> Disk:
        return self._update(disk_id, data, correlation_id)

    def remove(self, disk_id: str, correlation_id: str | None = None) -> None:
        self._remove(disk_id, correlation_id)

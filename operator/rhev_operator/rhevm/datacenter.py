"""Data centers: ``/datacenters`` (``<data_center>``)."""

from __future__ import annotations

from pydantic import Field

from rhev_operator.rhevm import xmlio
from rhev_operator.rhevm._base import Collection, Frozen, Input

__all__ = ["DataCenter", "DataCenterCreate", "DataCenterUpdate", "DataCenters"]

VERSION_PATTERN = r"^\d+\.\d+$"


class DataCenter(Frozen):
    id: str
    name: str
    description: str | None = None
    comment: str | None = None
    local: bool | None = None
    storage_format: str | None = None
    version: str | None = None
    status: str | None = None
    quota_mode: str | None = None
    supported_versions: tuple[str, ...] = ()
    mac_pool_id: str | None = None


def _supported_versions(el: xmlio.Element) -> tuple[str, ...]:
    out = []
    for v in el.iterfind("supported_versions/version"):
        major = xmlio.get(v, "major")
        if major is not None:
            out.append(f"{major}.{xmlio.get(v, 'minor') or 0}")
    return tuple(out)


class DataCenterCreate(Input):
    """``local`` is mandatory for the engine (``DataCenter [local] required for add``)."""

    name: str = Field(min_length=1)
    local: bool
    description: str | None = None
    comment: str | None = None
    storage_format: str | None = None
    version: str | None = Field(default=None, pattern=VERSION_PATTERN)
    quota_mode: str | None = None


class DataCenterUpdate(Input):
    name: str | None = Field(default=None, min_length=1)
    description: str | None = None
    comment: str | None = None
    local: bool | None = None
    storage_format: str | None = None
    version: str | None = Field(default=None, pattern=VERSION_PATTERN)
    quota_mode: str | None = None


class DataCenters(Collection[DataCenter]):
    tag = "data_center"
    plural = "data_centers"
    model = DataCenter
    searchable = True
    read_spec = {
        "version": xmlio.read_version(),
        "supported_versions": _supported_versions,
        "mac_pool_id": "mac_pool/@id",
    }
    write_spec = {"version": xmlio.write_version()}

    def add(self, data: DataCenterCreate, correlation_id: str | None = None) -> DataCenter:
        return self._add(data, correlation_id)

    def update(
        self, entity_id: str, data: DataCenterUpdate, correlation_id: str | None = None
    ) -> DataCenter:
        return self._update(entity_id, data, correlation_id)

    def remove(
        self, entity_id: str, force: bool = False, correlation_id: str | None = None
    ) -> None:
        self._remove(entity_id, correlation_id, {"force": True} if force else None)

"""StorageDomain [`cfgve -t sd`, virtsd table]: an NFS or local storage domain and its
attachment to a data center."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from rhev_operator.api.base import (
    ApiModel,
)
from rhev_operator.api.common import (
    CommonSpec,
    CommonStatus,
    ObjectMeta,
    Resource,
    Timeouts,
)
from rhev_operator.api.fieldtypes import (
    STORAGEDOMAIN_NAME_MAX,
    AbsolutePath,
    HostAddress,
    Reference,
    StorageDomainName,
    field_error,
    xcat,
)

DomainType = Literal["data", "iso", "export"]
StorageType = Literal["nfs", "localfs"]
AttachState = Literal["active", "maintenance", "detached"]


class NfsStorage(ApiModel):
    """An NFS export."""

    address: Annotated[HostAddress, xcat("virtsd.location (server)")]
    """The NFS server: a DNS name or IPv4 address."""
    path: Annotated[AbsolutePath, xcat("virtsd.location (path)")]
    """The exported path, e.g. /vfsimg."""


class LocalStorage(ApiModel):
    """A directory on the initialising host."""

    path: AbsolutePath
    """The directory, e.g. /data/images."""


class Removal(ApiModel):
    """What the operator does on delete."""

    force: Annotated[bool, xcat("cfgve -t sd -r -f")] = False
    """Deactivate and detach the domain first when it is still attached."""
    format: bool = False
    """Wipe the domain's contents when it is removed."""


class StorageDomainTimeouts(Timeouts):
    """How long the operator waits for RHEV-M before it reports Stalled (seconds).

    `operationSeconds` bounds create, update and remove; `activationSeconds` bounds attach,
    activate, deactivate and detach; `spmElectionSeconds` the wait for an SPM host, which
    every storage operation in a data center needs."""

    activation_seconds: Annotated[int, Field(ge=1)] = 900
    """Attaching, activating, deactivating or detaching the domain. Default 900."""
    spm_election_seconds: Annotated[int, Field(ge=1)] = 600
    """Waiting for the data center to have an SPM. Default 600."""


class StorageDomainSpec(CommonSpec):
    """The desired state of a storage domain."""

    NAME_MAX: ClassVar[int] = STORAGEDOMAIN_NAME_MAX

    name: Annotated[StorageDomainName | None, xcat("cfgve -t sd -o")] = None
    """The domain's name in RHEV-M (at most 250 characters). Default: metadata.name."""
    data_center: Annotated[Reference, xcat("virtsd.datacenter")] = "Default"
    """The RhevDataCenter (or RHEV-M data center) it is attached to.
    Default: Default."""
    domain_type: Annotated[DomainType, xcat("virtsd.sdtype")] = "data"
    """data, iso or export. Default data."""
    storage_type: Annotated[StorageType, xcat("virtsd.stype")] = "nfs"
    """nfs or localfs; must match the data center's. Default nfs."""
    nfs: Annotated[NfsStorage | None, xcat("virtsd.location")] = None
    """The NFS export; required for storageType nfs."""
    localfs: LocalStorage | None = None
    """The local directory; required for storageType localfs."""
    host: Annotated[Reference | None, xcat("virtsd.host")] = None
    """The Hypervisor (or RHEV-M host) that initialises the domain. Needed to
    create the domain; any up host of the data center is used when unset."""
    state: Annotated[
        AttachState, xcat("cfgve -t sd -a/-b (attach/detach), -g/-s (activate/deactivate)")
    ] = "active"
    """active (attached and activated), maintenance (attached, deactivated) or detached
    (not attached to the data center). Default active."""
    removal: Annotated[Removal, xcat("cfgve -t sd -r [-f]")] = Field(default_factory=Removal)
    """What to do on delete."""
    timeouts: StorageDomainTimeouts = Field(default_factory=StorageDomainTimeouts)
    """Operation timeouts in seconds."""

    @model_validator(mode="after")
    def _storage_block(self) -> StorageDomainSpec:
        if self.storage_type == "nfs":
            if self.nfs is None:
                raise field_error(
                    "nfs", "is required for storageType nfs: set nfs.address and nfs.path"
                )
            if self.localfs is not None:
                raise field_error(
                    "localfs", "is not allowed for storageType nfs; use the nfs block"
                )
        else:
            if self.localfs is None:
                raise field_error(
                    "localfs", "is required for storageType localfs: set localfs.path"
                )
            if self.nfs is not None:
                raise field_error(
                    "nfs", "is not allowed for storageType localfs; use the localfs block"
                )
            if self.domain_type != "data":
                raise field_error(
                    "domainType",
                    f"{self.domain_type} domains must be on nfs storage; localfs holds "
                    "only data domains",
                )
        return self


class StorageDomainStatus(CommonStatus):
    """The observed state of the domain (state: as seen from its data center, e.g. active,
    maintenance, unattached, locked)."""

    master: Annotated[bool | None, xcat("lsve -t sd: ismaster")] = None
    """The domain is its data center's master domain."""
    available_bytes: int | None = None
    """Free space in bytes."""
    used_bytes: int | None = None
    """Used space in bytes."""
    committed_bytes: int | None = None
    """Space promised to disks in bytes."""
    storage_format: str | None = None
    """The storage format (v1 .. v5)."""
    data_center_id: str | None = None
    """The RHEV-M id of the data center it is attached to."""
    type: str | None = None
    """The domain type in effect, as RHEV-M reports it (data, iso or export)."""
    available_human: str | None = None
    """availableBytes in binary units, e.g. 500Gi (for `kubectl get`)."""
    used_human: str | None = None
    """usedBytes in binary units, e.g. 1.5Ti (for `kubectl get`)."""


def human_bytes(value: int | None) -> str | None:
    """Bytes in the largest binary unit that keeps at least 1, one decimal at most:
    536870912000 -> "500Gi", 1649267441664 -> "1.5Ti", 0 -> "0"."""
    if value is None:
        return None
    size = float(value)
    for unit in ("", "Ki", "Mi", "Gi", "Ti", "Pi"):
        if abs(size) < 1024 or unit == "Pi":
            text = f"{size:.1f}".removesuffix(".0")
            return f"{text}{unit}"
        size /= 1024
    raise AssertionError("unreachable")


class StorageDomain(Resource):
    """A RHEV-M storage domain."""

    KIND: ClassVar[str] = "StorageDomain"
    XCAT: ClassVar[str] = "cfgve -t sd; lsve -t sd; the virtsd table"

    metadata: ObjectMeta
    spec: StorageDomainSpec
    status: StorageDomainStatus = Field(default_factory=StorageDomainStatus)

"""RhevDataCenter [`cfgve -t dc`]: a data center in RHEV-M."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints

from rhev_operator.api.common import (
    CommonSpec,
    CommonStatus,
    ObjectMeta,
    Resource,
    Timeouts,
)
from rhev_operator.api.fieldtypes import (
    DATACENTER_NAME_MAX,
    VERSION_PATTERN,
    DataCenterName,
    Description,
    xcat,
)

StorageType = Literal["nfs", "localfs"]


class RhevDataCenterTimeouts(Timeouts):
    """How long the operator waits for RHEV-M before it reports Stalled (seconds).

    `operationSeconds` bounds create, update and remove; `spmElectionSeconds` bounds the
    wait for a storage pool manager once the data center has an active master domain."""

    spm_election_seconds: Annotated[int, Field(ge=1)] = 600
    """Electing an SPM host after the master domain is attached. Default 600."""


class RhevDataCenterSpec(CommonSpec):
    """The desired state of a RHEV-M data center."""

    NAME_MAX: ClassVar[int] = DATACENTER_NAME_MAX

    name: Annotated[DataCenterName | None, xcat("cfgve -t dc -o")] = None
    """The data center's name in RHEV-M (at most 40 characters). Default: metadata.name."""
    storage_type: Annotated[StorageType, xcat("cfgve -t dc -k")] = "nfs"
    """nfs (shared storage) or localfs (storage local to its one host).
    Default nfs."""
    description: Description | None = None
    """Free text shown in RHEV-M."""
    compatibility_version: (
        Annotated[str, StringConstraints(pattern=VERSION_PATTERN, max_length=40)] | None
    ) = None
    """The compatibility level, major.minor (e.g. "4.7"). Default: RHEV-M's newest."""
    timeouts: RhevDataCenterTimeouts = Field(default_factory=RhevDataCenterTimeouts)
    """Operation timeouts in seconds."""


class RhevDataCenterStatus(CommonStatus):
    """The observed state of the data center (state: up, uninitialized, maintenance,
    problematic, ...)."""

    storage_format: str | None = None
    """The storage format RHEV-M chose (v1 .. v5)."""
    spm_fenceable: bool | None = None
    """Whether RHEV-M can fence the SPM host itself when it stops responding (power
    management with a fence agent, the cluster's fencing policy on, another Up host as fence
    proxy). False: a lost SPM cannot fail over automatically (status.message says why)."""


class RhevDataCenter(Resource):
    """A RHEV-M data center."""

    KIND: ClassVar[str] = "RhevDataCenter"
    XCAT: ClassVar[str] = "cfgve -t dc; lsve -t dc"

    metadata: ObjectMeta
    spec: RhevDataCenterSpec
    status: RhevDataCenterStatus = Field(default_factory=RhevDataCenterStatus)

"""RhevCluster [`cfgve -t cl`]: a cluster of hosts in a RHEV-M data center."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

from rhev_operator.api.base import ApiModel
from rhev_operator.api.common import (
    CommonSpec,
    CommonStatus,
    ObjectMeta,
    Resource,
    Timeouts,
)
from rhev_operator.api.fieldtypes import (
    CLUSTER_NAME_MAX,
    ClusterName,
    Description,
    Reference,
    xcat,
)

#: RHEV-M's memory optimisation: 100 (none), 150 (server load), 200 (desktop load) or any
#: percentage up to this bound.
MEMORY_OVERCOMMIT_MIN, MEMORY_OVERCOMMIT_MAX = 100, 1000


#: The share of a cluster's hosts with broken connectivity, in percent.
THRESHOLD_MIN, THRESHOLD_MAX = 0, 100


class SkipIfConnectivityBroken(ApiModel):
    """Do not fence while many hosts of the cluster have lost connectivity (a network outage
    rather than dead hosts)."""

    enabled: bool | None = None
    """Skip fencing when at least `threshold` percent of the cluster's hosts are
    non-responsive. Default: RHEV-M's (false)."""
    threshold: Annotated[int, Field(ge=THRESHOLD_MIN, le=THRESHOLD_MAX)] | None = None
    """Percent of the cluster's hosts, 0 .. 100. Default: RHEV-M's (50)."""


class ClusterFencing(ApiModel):
    """The engine's fencing policy of the cluster: whether RHEV-M restarts a non-responsive
    host through its power management, and when it refrains. Unset fields keep RHEV-M's."""

    enabled: bool | None = None
    """RHEV-M fences non-responsive hosts of the cluster. Default: RHEV-M's (true)."""
    skip_if_storage_active: bool | None = None
    """Do not fence a host that still renews its lease on a storage domain (it lost the
    engine, not its storage). Default: RHEV-M's (false)."""
    skip_if_connectivity_broken: SkipIfConnectivityBroken | None = None
    """Do not fence when many hosts of the cluster lost connectivity at once."""


class RhevClusterTimeouts(Timeouts):
    """How long the operator waits for RHEV-M before it reports Stalled (seconds).

    `operationSeconds` bounds create, update and remove."""


class RhevClusterSpec(CommonSpec):
    """The desired state of a RHEV-M cluster."""

    NAME_MAX: ClassVar[int] = CLUSTER_NAME_MAX

    name: Annotated[ClusterName | None, xcat("cfgve -t cl -o")] = None
    """The cluster's name in RHEV-M (at most 40 characters). Default: metadata.name."""
    data_center: Annotated[Reference, xcat("cfgve -t cl -d")] = "Default"
    """The RhevDataCenter (or RHEV-M data center) it belongs to. Default: Default."""
    cpu_type: Annotated[str, StringConstraints(min_length=1, max_length=255)] | None = None
    """The CPU family of its hosts, e.g. "Intel Westmere Family". Default: RHEV-M's choice."""
    description: Description | None = None
    """Free text shown in RHEV-M."""
    memory_overcommit: Annotated[int, Field(ge=MEMORY_OVERCOMMIT_MIN, le=MEMORY_OVERCOMMIT_MAX)] = (
        100
    )
    """Memory overcommit in percent (100 .. 1000). Default 100."""
    memory_hugepages: bool | None = None
    """Enable transparent huge pages on the cluster's hosts. Default: RHEV-M's."""
    fencing: ClusterFencing | None = None
    """The engine's fencing policy (RHEV-M's defaults when unset)."""
    timeouts: RhevClusterTimeouts = Field(default_factory=RhevClusterTimeouts)
    """Operation timeouts in seconds."""


class RhevClusterStatus(CommonStatus):
    """The observed state of the cluster."""

    data_center_id: str | None = None
    """The RHEV-M id of its data center."""


class RhevCluster(Resource):
    """A RHEV-M cluster."""

    KIND: ClassVar[str] = "RhevCluster"
    XCAT: ClassVar[str] = "cfgve -t cl; lsve -t cl"

    metadata: ObjectMeta
    spec: RhevClusterSpec
    status: RhevClusterStatus = Field(default_factory=RhevClusterStatus)

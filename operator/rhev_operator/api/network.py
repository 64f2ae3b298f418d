"""LogicalNetwork [`cfgve -t nw`]: a logical network of a data center, attached to clusters."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, model_validator

from rhev_operator.api.base import (
    StatusModel,
)
from rhev_operator.api.common import (
    CommonSpec,
    CommonStatus,
    ObjectMeta,
    Resource,
    Timeouts,
)
from rhev_operator.api.fieldtypes import (
    MTU_MAX,
    MTU_MIN,
    NETWORK_NAME_MAX,
    VLAN_MAX,
    VLAN_MIN,
    Description,
    NetworkName,
    Reference,
    duplicates,
    field_error,
    xcat,
)


class LogicalNetworkTimeouts(Timeouts):
    """How long the operator waits for RHEV-M before it reports Stalled (seconds).

    `operationSeconds` bounds create, update, attach to a cluster and remove."""


class LogicalNetworkSpec(CommonSpec):
    """The desired state of a logical network."""

    NAME_MAX: ClassVar[int] = NETWORK_NAME_MAX

    name: Annotated[NetworkName | None, xcat("cfgve -t nw -o")] = None
    """The network's name in RHEV-M (at most 50 characters). Default: metadata.name."""
    data_center: Annotated[Reference, xcat("cfgve -t nw -d")] = "Default"
    """The RhevDataCenter (or RHEV-M data center) it belongs to. Default: Default."""
    vlan: Annotated[
        Annotated[int, Field(ge=VLAN_MIN, le=VLAN_MAX)] | None, xcat("cfgve -t nw -n")
    ] = None
    """The VLAN tag, 0 .. 4094. Default: untagged."""
    description: Description | None = None
    """Free text shown in RHEV-M."""
    stp: bool | None = None
    """Spanning tree protocol on the hosts' bridges. Default: RHEV-M's (off)."""
    mtu: Annotated[int, Field(ge=MTU_MIN, le=MTU_MAX)] | None = None
    """The MTU, 68 .. 65520. Default: RHEV-M's (1500)."""
    clusters: Annotated[
        list[Reference], xcat("cfgve -t nw -l <cluster> -a", **{"x-kubernetes-list-type": "set"})
    ] = []
    """The RhevClusters (or RHEV-M clusters) the network is attached to.
    Clusters not listed are detached from it."""
    required: bool | None = None
    """Hosts of an attached cluster must have the network (else they go non-operational).
    Default: RHEV-M's (true)."""
    timeouts: LogicalNetworkTimeouts = Field(default_factory=LogicalNetworkTimeouts)
    """Operation timeouts in seconds."""

    @model_validator(mode="after")
    def _unique_clusters(self) -> LogicalNetworkSpec:
        for index in duplicates(self.clusters):
            raise field_error(
                f"clusters[{index}]", f"cluster {self.clusters[index]!r} is listed twice"
            )
        return self


class NetworkClusterStatus(StatusModel):
    """The network as seen from one cluster."""

    name: str
    """The cluster's name in RHEV-M."""
    id: str | None = None
    """The cluster's RHEV-M id."""
    attached: bool = False
    """The network is attached to the cluster."""
    operational: bool | None = None
    """Every host of the cluster has the network (status operational)."""
    required: bool | None = None
    """The network is required in that cluster."""
    managed: bool = False
    """This resource attached the network to the cluster, so it detaches it again when the
    cluster leaves spec.clusters (an attachment it found is left alone)."""


class LogicalNetworkStatus(CommonStatus):
    """The observed state of the network."""

    clusters: list[NetworkClusterStatus] = []
    """Per cluster: attached, and operational or not."""
    cluster_names: str | None = None
    """The clusters the network is attached to, comma-separated (for `kubectl get`)."""
    mtu: int | None = None
    """The MTU in effect: spec.mtu, else RHEV-M's default (1500; RHEV-M reports it as 0)."""


class LogicalNetwork(Resource):
    """A RHEV-M logical network."""

    KIND: ClassVar[str] = "LogicalNetwork"
    XCAT: ClassVar[str] = "cfgve -t nw; lsve -t nw"

    metadata: ObjectMeta
    spec: LogicalNetworkSpec
    status: LogicalNetworkStatus = Field(default_factory=LogicalNetworkStatus)

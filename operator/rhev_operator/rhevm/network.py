"""Logical networks (``/networks``), their cluster attachments
(``/clusters/{id}/networks``) and vNIC profiles (``/vnicprofiles``)."""

from __future__ import annotations

import builtins
from typing import Annotated

from pydantic import Field, model_validator

from rhev_operator.rhevm import xmlio
from rhev_operator.rhevm._base import (
    Collection,
    CrudCollection,
    Frozen,
    Input,
    one_of,
)
from rhev_operator.rhevm.session import Session

__all__ = [
    "ClusterNetworkAttach",
    "ClusterNetworkUpdate",
    "ClusterNetworks",
    "Network",
    "NetworkCreate",
    "NetworkUpdate",
    "Networks",
    "VnicProfile",
    "VnicProfileCreate",
    "VnicProfileUpdate",
    "VnicProfiles",
]


class Network(Frozen):
    """A logical network; ``status``, ``required``, ``display`` and ``cluster_id`` are
    filled in when it is read through a cluster (``/clusters/{id}/networks``)."""

    id: str
    name: str
    description: str | None = None
    comment: str | None = None
    data_center_id: str | None = None
    vlan_id: int | None = None
    stp: bool | None = None
    mtu: int | None = None
    usages: tuple[str, ...] = ()
    required: bool | None = None
    display: bool | None = None
    status: str | None = None
    vdsm_name: str | None = None
    cluster_id: str | None = None


_READ: xmlio.ReadSpec = {
    "data_center_id": "data_center/@id",
    "vlan_id": "vlan/@id",
    "usages": xmlio.read_texts("usages/usage"),
    "cluster_id": "cluster/@id",
}
_WRITE: xmlio.WriteSpec = {
    "data_center_id": "data_center/@id",
    "data_center_name": "data_center/name",
    "vlan_id": "vlan/@id",
    "usages": "usages/usage",
}


# The engine's limits, checked once for create and update.
_VlanId = Annotated[int | None, Field(ge=0, le=4094)]
_Mtu = Annotated[int | None, Field(ge=0)]


class NetworkCreate(Input):
    name: str = Field(min_length=1)
    data_center_id: str | None = None
    data_center_name: str | None = None
    description: str | None = None
    comment: str | None = None
    vlan_id: _VlanId = None
    stp: bool | None = None
    mtu: _Mtu = None
    usages: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _refs(self) -> NetworkCreate:
        one_of("data_center_id", self.data_center_id, "data_center_name", self.data_center_name)
        return self


class NetworkUpdate(Input):
    name: str | None = Field(default=None, min_length=1)
    description: str | None = None
    comment: str | None = None
    vlan_id: _VlanId = None
    stp: bool | None = None
    mtu: _Mtu = None
    usages: tuple[str, ...] | None = None


class Networks(CrudCollection[Network, NetworkCreate, NetworkUpdate]):
    tag = "network"
    plural = "networks"
    model = Network
    searchable = True
    read_spec = _READ
    write_spec = _WRITE

    def __init__(self, session: Session, path: str = "networks") -> None:
        super().__init__(session, path)
        self.vnic_profiles = VnicProfiles(session)

    def in_data_center(
        self, data_center_id: str, name: str | None = None
    ) -> builtins.list[Network]:
        """Networks of one data center (optionally only the one named exactly ``name``),
        so same-named networks of other data centers never match."""
        found = Collection.list(_DcNetworks(self._s, f"datacenters/{data_center_id}/networks"))
        return [n for n in found if name is None or n.name == name]

    def cluster_networks(self, cluster_id: str) -> ClusterNetworks:
        return ClusterNetworks(self._s, cluster_id)


class _DcNetworks(Collection[Network]):
    tag = "network"
    plural = "networks"
    model = Network
    read_spec = _READ


class ClusterNetworkAttach(Input):
    """Attach the data-center network ``network_id`` to a cluster."""

    network_id: str = Field(min_length=1)
    required: bool | None = None
    display: bool | None = None
    usages: tuple[str, ...] | None = None


class ClusterNetworkUpdate(Input):
    required: bool | None = None
    display: bool | None = None
    usages: tuple[str, ...] | None = None


class ClusterNetworks(Collection[Network]):
    """``/clusters/{cluster_id}/networks``: list, attach, update, detach (no search)."""

    tag = "network"
    plural = "networks"
    model = Network
    read_spec = _READ
    write_spec = {"network_id": "@id", "usages": "usages/usage"}

    def __init__(self, session: Session, cluster_id: str) -> None:
        super().__init__(session, f"clusters/{cluster_id}/networks")
        self.cluster_id = cluster_id

    def attach(self, data: ClusterNetworkAttach, correlation_id: str | None = None) -> Network:
        return self._add(data, correlation_id)

    def update(
        self, network_id: str, data: ClusterNetworkUpdate, correlation_id: str | None = None
    ) -> Network:
        return self._update(network_id, data, correlation_id)

    def detach(self, network_id: str, correlation_id: str | None = None) -> None:
        self._remove(network_id, correlation_id)


class VnicProfile(Frozen):
    id: str
    name: str
    description: str | None = None
    comment: str | None = None
    network_id: str | None = None
    port_mirroring: bool | None = None
    pass_through_mode: str | None = None
    migratable: bool | None = None
    network_filter_id: str | None = None


_PROFILE_PATHS: dict[str, str] = {
    "network_id": "network/@id",
    "pass_through_mode": "pass_through/mode",
    "network_filter_id": "network_filter/@id",
}


class VnicProfileCreate(Input):
    name: str = Field(min_length=1)
    network_id: str = Field(min_length=1)
    description: str | None = None
    comment: str | None = None
    port_mirroring: bool | None = None
    pass_through_mode: str | None = None
    migratable: bool | None = None


class VnicProfileUpdate(Input):
    name: str | None = Field(default=None, min_length=1)
    description: str | None = None
    comment: str | None = None
    port_mirroring: bool | None = None
    migratable: bool | None = None


class VnicProfiles(CrudCollection[VnicProfile, VnicProfileCreate, VnicProfileUpdate]):
    """``/vnicprofiles`` (no search); ``list(network_id=...)`` reads one network's profiles."""

    tag = "vnic_profile"
    plural = "vnic_profiles"
    model = VnicProfile
    read_spec = _PROFILE_PATHS
    write_spec = _PROFILE_PATHS

    def __init__(self, session: Session, path: str = "vnicprofiles") -> None:
        super().__init__(session, path)

    def list(
        self,
        search: str | None = None,
        max: int | None = None,
        *,
        network_id: str | None = None,
    ) -> builtins.list[VnicProfile]:
        """All profiles, or those of ``network_id`` (``/networks/{id}/vnicprofiles``)."""
        if network_id is None:
            return super().list(search=search, max=max)
        sub = VnicProfiles(self._s, f"networks/{network_id}/vnicprofiles")
        return Collection.list(sub, search=search, max=max)

    def find_for_network(self, network_id: str, name: str | None = None) -> VnicProfile | None:
        """The profile of ``network_id`` named ``name``, or its first one when None."""
        for profile in self.list(network_id=network_id):
            if name is None or profile.name == name:
                return profile
        return None

"""Clusters: ``/clusters`` (``<cluster>``)."""

from __future__ import annotations

from pydantic import Field, model_validator

from rhev_operator.rhevm import xmlio
from rhev_operator.rhevm._base import CrudCollection, Frozen, Input, one_of
from rhev_operator.rhevm.datacenter import VERSION_PATTERN

__all__ = ["Cluster", "ClusterCreate", "ClusterUpdate", "Clusters"]


class Cluster(Frozen):
    id: str
    name: str
    description: str | None = None
    comment: str | None = None
    data_center_id: str | None = None
    cpu_type: str | None = None
    cpu_architecture: str | None = None
    version: str | None = None
    memory_overcommit: int | None = None
    transparent_hugepages: bool | None = None
    ballooning_enabled: bool | None = None
    threads_as_cores: bool | None = None
    ha_reservation: bool | None = None
    virt_service: bool | None = None
    gluster_service: bool | None = None
    on_error: str | None = None
    fencing_enabled: bool | None = None
    fencing_skip_if_sd_active: bool | None = None
    fencing_skip_if_connectivity_broken: bool | None = None
    fencing_connectivity_threshold: int | None = None
    scheduling_policy_id: str | None = None
    mac_pool_id: str | None = None
    ksm_enabled: bool | None = None
    management_network_id: str | None = None


_PATHS = {
    "data_center_id": "data_center/@id",
    "data_center_name": "data_center/name",
    "cpu_type": "cpu/type",
    "cpu_architecture": "cpu/architecture",
    "memory_overcommit": "memory_policy/over_commit/percent",
    "transparent_hugepages": "memory_policy/transparent_hugepages/enabled",
    "on_error": "error_handling/on_error",
    "fencing_enabled": "fencing_policy/enabled",
    "fencing_skip_if_sd_active": "fencing_policy/skip_if_sd_active/enabled",
    "fencing_skip_if_connectivity_broken": "fencing_policy/skip_if_connectivity_broken/enabled",
    "fencing_connectivity_threshold": "fencing_policy/skip_if_connectivity_broken/threshold",
    "scheduling_policy_id": "scheduling_policy/@id",
    "management_network_id": "management_network/@id",
    "management_network_name": "management_network/name",
    "mac_pool_id": "mac_pool/@id",
    "ksm_enabled": "ksm/enabled",
}


class _ClusterFields(Input):
    description: str | None = None
    comment: str | None = None
    cpu_type: str | None = None
    cpu_architecture: str | None = None
    version: str | None = Field(default=None, pattern=VERSION_PATTERN)
    memory_overcommit: int | None = Field(default=None, gt=0)
    transparent_hugepages: bool | None = None
    ballooning_enabled: bool | None = None
    threads_as_cores: bool | None = None
    ha_reservation: bool | None = None
    virt_service: bool | None = None
    gluster_service: bool | None = None
    on_error: str | None = None
    fencing_enabled: bool | None = None
    fencing_skip_if_sd_active: bool | None = None
    fencing_skip_if_connectivity_broken: bool | None = None
    fencing_connectivity_threshold: int | None = None
    scheduling_policy_id: str | None = None
    ksm_enabled: bool | None = None


class ClusterCreate(_ClusterFields):
    name: str = Field(min_length=1)
    data_center_id: str | None = None
    data_center_name: str | None = None
    management_network_id: str | None = None
    management_network_name: str | None = None

    @model_validator(mode="after")
    def _refs(self) -> ClusterCreate:
        one_of("data_center_id", self.data_center_id, "data_center_name", self.data_center_name)
        one_of(
            "management_network_id",
            self.management_network_id,
            "management_network_name",
            self.management_network_name,
            required=False,
        )
        return self


class ClusterUpdate(_ClusterFields):
    name: str | None = Field(default=None, min_length=1)


class Clusters(CrudCollection[Cluster, ClusterCreate, ClusterUpdate]):
    tag = "cluster"
    plural = "clusters"
    model = Cluster
    searchable = True
    read_spec = {**_PATHS, "version": xmlio.read_version()}
    write_spec = {**_PATHS, "version": xmlio.write_version()}

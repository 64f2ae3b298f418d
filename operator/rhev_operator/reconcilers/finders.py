"""The RHEV-M collections the reconcilers share, and their inventory keys.

Every kind that reads a collection reads it through the one finder (or key) defined here,
so each collection is listed once per tick however many kinds and resources read it. The
kind modules import this module and never each other.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from rhev_operator.reconcilers.base import Context, Finder
from rhev_operator.rhevm import (
    Network,
    RhevmClient,
    StorageDomain,
    VnicProfile,
)
from rhev_operator.rhevm.hypervisor import HostDetail

__all__ = [
    "PROFILES_KEY",
    "attached_key",
    "attached_storage_domains",
    "attachments_key",
    "cluster_networks",
    "clusters",
    "datacenters",
    "hosts",
    "listed",
    "networks",
    "spm_of",
    "storage_domains",
    "templates",
    "vms",
    "vnic_profiles",
]

# -- finders ---------------------------------------------------------------------------------


def datacenters(client: RhevmClient) -> Finder:
    return Finder(
        key="datacenters",
        lister=lambda c: c.datacenters.list(),
        get=client.datacenters.get,
        find=client.datacenters.find,
    )


def clusters(client: RhevmClient) -> Finder:
    return Finder(
        key="clusters",
        lister=lambda c: c.clusters.list(),
        get=client.clusters.get,
        find=client.clusters.find,
    )


def networks(client: RhevmClient, data_center_id: str) -> Finder:
    """The networks of one data center, listed once per tick for every resource in it."""

    def find(name: str) -> Network | None:
        return next(iter(client.networks.in_data_center(data_center_id, name)), None)

    return Finder(
        key=("dc_networks", data_center_id),
        lister=lambda c: c.networks.in_data_center(data_center_id),
        get=client.networks.get,
        find=find,
    )


def hosts(client: RhevmClient) -> Finder:
    """Hosts, listed once per tick with NICs, network attachments and fence agents inlined,
    for every kind that needs hosts (hypervisors, storage domains, VM placement)."""
    return Finder(
        key="hosts",
        lister=lambda c: c.hosts.list_detailed(),
        get=client.hosts.get_detailed,
        find=client.hosts.find_detailed,
    )


def storage_domains(client: RhevmClient) -> Finder:
    return Finder(
        key="storagedomains",
        lister=lambda c: c.storagedomains.list(),
        get=client.storagedomains.get,
        find=client.storagedomains.find,
    )


def vms(client: RhevmClient) -> Finder:
    """VMs, listed once per tick with their disk attachments (disks inlined) and NICs, for
    every kind that needs VMs (virtual machines, templates)."""
    return Finder(
        key="vms",
        lister=lambda c: c.vms.list_detailed(),
        get=client.vms.get_detailed,
        find=client.vms.find_detailed,
    )


def templates(client: RhevmClient) -> Finder:
    return Finder(
        key="templates",
        lister=lambda c: c.templates.list(),
        get=client.templates.get,
        find=client.templates.find,
    )


def listed(ctx: Context, finder: Finder) -> dict[str, Any]:
    """The finder's collection as listed this tick, by id."""
    items: dict[str, Any] = ctx.inventory.collection(finder.key, finder.lister, finder.get)
    return items


# -- scoped collections ----------------------------------------------------------------------

PROFILES_KEY: Hashable = "vnicprofiles"


def vnic_profiles(ctx: Context) -> dict[str, VnicProfile]:
    """Every vNIC profile, listed once per tick (a NIC names its network through one)."""
    return ctx.inventory.collection(PROFILES_KEY, lambda c: c.vnic_profiles.list())


def attachments_key(cluster_id: str) -> tuple[str, str]:
    return ("cluster_networks", cluster_id)


def cluster_networks(ctx: Context, cluster_id: str) -> dict[str, Network]:
    """The networks attached to one cluster (with their per-cluster status), by id."""
    items: dict[str, Network] = ctx.inventory.collection(
        attachments_key(cluster_id), lambda c: c.networks.cluster_networks(cluster_id).list()
    )
    return items


def attached_key(dc_id: str) -> Hashable:
    return ("attached_storagedomains", dc_id)


def attached_storage_domains(ctx: Context, dc_id: str) -> dict[str, StorageDomain]:
    """The domains attached to a data center, as it sees them (listed once per tick)."""
    return ctx.inventory.collection(
        attached_key(dc_id), lambda c: c.storagedomains.attached(dc_id).list()
    )


# -- SPM -------------------------------------------------------------------------------------


def spm_of(ctx: Context, dc_id: str) -> tuple[str, str] | None:
    """(host name, spm status) of the host holding (or contending for) the SPM role of a data
    center, from the hosts listed this tick; None when no host does."""
    in_dc = {
        cluster.id
        for cluster in listed(ctx, clusters(ctx.client)).values()
        if cluster.data_center_id == dc_id
    }
    host: HostDetail
    for host in listed(ctx, hosts(ctx.client)).values():
        if host.cluster_id in in_dc and host.spm_status in ("spm", "contending"):
            return (host.name, str(host.spm_status))
    return None

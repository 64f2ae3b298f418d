"""What the export reads from RHEV-M: every collection once (hosts and VMs with their NICs,
attachments and disks inlined), limited to the data centers asked for."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from rhev_operator.rhevm import (
    BLANK_TEMPLATE_ID,
    Cluster,
    DataCenter,
    Network,
    RhevmClient,
    StorageDomain,
    Template,
    VnicProfile,
)
from rhev_operator.rhevm.hypervisor import HostDetail
from rhev_operator.rhevm.virtualmachine import VmDetail


@dataclass
class Snapshot:
    datacenters: list[DataCenter]
    clusters: list[Cluster]
    networks: list[Network]
    #: cluster id -> network id -> the network as attached to that cluster (`required`).
    cluster_networks: dict[str, dict[str, Network]]
    storage_domains: list[StorageDomain]
    #: data center id -> storage domain id -> the domain as seen from that data center.
    attached: dict[str, dict[str, StorageDomain]]
    hosts: list[HostDetail]
    vms: list[VmDetail]
    templates: list[Template]
    profiles: dict[str, VnicProfile] = field(default_factory=dict)
    #: every template id -> name (also those not exported, e.g. Blank), for VM references.
    template_names: dict[str, str] = field(default_factory=dict)
    all_networks: dict[str, Network] = field(default_factory=dict)


def read(client: RhevmClient, data_centers: Sequence[str] = ()) -> Snapshot:
    """Everything the export writes about, from RHEV-M (GET requests only)."""
    dcs = client.datacenters.list()
    if data_centers:
        known = {dc.name for dc in dcs}
        missing = [name for name in data_centers if name not in known]
        if missing:
            raise LookupError(
                f"no data center named {', '.join(missing)} in RHEV-M; it has: "
                + ", ".join(sorted(known))
            )
        dcs = [dc for dc in dcs if dc.name in data_centers]
    dc_ids = {dc.id for dc in dcs}
    clusters = [c for c in client.clusters.list() if c.data_center_id in dc_ids]
    cluster_ids = {c.id for c in clusters}
    every_network = client.networks.list()
    networks = [n for n in every_network if n.data_center_id in dc_ids]
    cluster_networks = {
        c.id: {n.id: n for n in client.networks.cluster_networks(c.id).list()} for c in clusters
    }
    attached = {
        dc.id: {sd.id: sd for sd in client.storagedomains.attached(dc.id).list()} for dc in dcs
    }
    domains = [
        sd
        for sd in client.storagedomains.list()
        if (set(sd.data_center_ids) & dc_ids)
        or any(sd.id in by_id for by_id in attached.values())
        or (not sd.data_center_ids and not data_centers)
    ]
    hosts = [h for h in client.hosts.list_detailed() if h.cluster_id in cluster_ids]
    vms = [v for v in client.vms.list_detailed() if v.cluster_id in cluster_ids]
    every_template = client.templates.list()
    templates = [
        t
        for t in every_template
        if t.id != BLANK_TEMPLATE_ID
        and (t.cluster_id in cluster_ids or (t.cluster_id is None and not data_centers))
    ]
    return Snapshot(
        datacenters=dcs,
        clusters=clusters,
        networks=networks,
        cluster_networks=cluster_networks,
        storage_domains=domains,
        attached=attached,
        hosts=hosts,
        vms=vms,
        templates=templates,
        profiles={p.id: p for p in client.vnic_profiles.list()},
        template_names={t.id: t.name for t in every_template},
        all_networks={n.id: n for n in every_network},
    )

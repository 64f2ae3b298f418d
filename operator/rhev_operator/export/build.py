"""The resources that describe a RHEV-M snapshot as it is, each adopted and retained.

Every field the operator enforces is set to what RHEV-M has, so applying the manifests
changes nothing; what a spec cannot say (a third boot device, a disk not named like RHEV-M
names a VM's disks, a NIC on no network, ...) is left unset, which the operator never
enforces, and reported. Secrets (fence-agent and root passwords) are never read: power
management is described in a comment and handed over by the user (docs/export.md)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from rhev_operator.api import (
    Hypervisor,
    HypervisorSpec,
    LogicalNetwork,
    LogicalNetworkSpec,
    ObjectMeta,
    Resource,
    RhevCluster,
    RhevClusterSpec,
    RhevDataCenter,
    RhevDataCenterSpec,
    StorageDomain,
    StorageDomainSpec,
    VirtualMachine,
    VirtualMachineSpec,
    VmTemplate,
    VmTemplateSpec,
)
from rhev_operator.api.fieldtypes import (
    API_VERSION,
    MANAGEMENT_NETWORK,
    VERSION_PATTERN,
    format_quantity,
)
from rhev_operator.api.hypervisor import HostInterface
from rhev_operator.api.storagedomain import LocalStorage, NfsStorage
from rhev_operator.api.virtualmachine import Cpu, Placement, VmDisk, VmNic
from rhev_operator.export.inventory import Snapshot
from rhev_operator.export.names import Names
from rhev_operator.rhevm import BLANK_TEMPLATE_ID
from rhev_operator.rhevm.hypervisor import HostDetail
from rhev_operator.rhevm.virtualmachine import VmDetail

#: What every exported resource says: take the object over, never delete it.
ADOPT: dict[str, Any] = {"adopt": True, "deletion_policy": "Retain"}

#: VM states -> spec.powerState that keeps them as they are.
POWER = {
    "down": "Stopped",
    "image_locked": "Stopped",
    "powering_down": "Stopped",
    "suspended": "Suspended",
    "saving_state": "Suspended",
}
#: Storage domain states in a data center -> spec.state.
SD_STATE = {
    "active": "active",
    "activating": "active",
    "locked": "active",
    "maintenance": "maintenance",
    "preparing_for_maintenance": "maintenance",
    "inactive": "maintenance",
}
NIC_MODELS = ("virtio", "e1000", "rtl8139", "rtl8139_virtio")
DISK_INTERFACES = ("virtio", "virtio_scsi", "ide")


@dataclass
class Exported:
    """One manifest: the resource and the comment lines written above it."""

    resource: Resource
    comments: list[str] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = self.resource.model_dump(
            by_alias=True, exclude_unset=True, mode="json"
        )
        out.pop("status", None)
        spec = out.get("spec", {})
        # Quantities read better as such ("2Gi") than as bytes; both are valid.
        if isinstance(spec.get("memory"), int):
            spec["memory"] = format_quantity(spec["memory"])
        for disk in spec.get("disks", []):
            disk["size"] = format_quantity(disk["size"])
        return out


@dataclass
class Builder:
    snap: Snapshot
    namespace: str | None
    report: Callable[[str], None]
    connection: str | None = None
    names: Names = field(init=False)
    #: Power management found on hosts: (metadata.name, agent address, port, username).
    fence_agents: list[tuple[str, str, int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.names = Names(self.report)
        snap = self.snap
        dc_names = {dc.id: dc.name for dc in snap.datacenters}
        cl_names = {c.id: c.name for c in snap.clusters}
        for dc in sorted(snap.datacenters, key=lambda o: o.name):
            self.names.assign("RhevDataCenter", dc.id, dc.name)
        for cl in sorted(snap.clusters, key=lambda o: o.name):
            self.names.assign(
                "RhevCluster", cl.id, cl.name, dc_names.get(cl.data_center_id or "", "")
            )
        for net in sorted(snap.networks, key=lambda o: o.name):
            self.names.assign(
                "LogicalNetwork", net.id, net.name, dc_names.get(net.data_center_id or "", "")
            )
        for sd in sorted(snap.storage_domains, key=lambda o: o.name):
            self.names.assign("StorageDomain", sd.id, sd.name)
        for host in sorted(snap.hosts, key=lambda o: o.name):
            self.names.assign("Hypervisor", host.id, host.name)
        for t in sorted(snap.templates, key=lambda o: (o.name, o.version_number or 0)):
            self.names.assign("VmTemplate", t.id, t.name, cl_names.get(t.cluster_id or "", ""))
        for vm in sorted(snap.vms, key=lambda o: o.name):
            self.names.assign("VirtualMachine", vm.id, vm.name)

    # -- helpers -------------------------------------------------------------------------

    def _meta(self, kind: str, rhev_id: str) -> ObjectMeta:
        name = self.names.get(kind, rhev_id)
        assert name is not None
        if self.namespace:
            return ObjectMeta(name=name, namespace=self.namespace)
        return ObjectMeta(name=name)

    def _common(self, name: str) -> dict[str, Any]:
        out = {"name": name, **ADOPT}
        if self.connection:
            out["connection"] = self.connection
        return out

    def _ref(self, kind: str, rhev_id: str | None, rhev_name: str | None) -> str | None:
        """The resource name of a referenced object, else its RHEV-M name."""
        return self.names.get(kind, rhev_id) or rhev_name

    def _make(
        self, cls: type[Resource], spec_cls: Any, rhev_id: str, what: str, **spec: Any
    ) -> Exported | None:
        try:
            resource = cls(
                api_version=API_VERSION,
                kind=cls.KIND,
                metadata=self._meta(cls.KIND, rhev_id),
                spec=spec_cls(**spec),
            )
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(x) for x in first["loc"])
            self.report(f"{cls.KIND} {what} is left out: {where}: {first['msg']}")
            return None
        return Exported(resource)

    def _warn(self, kind: str, name: str, message: str) -> None:
        self.report(f"{kind} {name}: {message}")

    # -- kinds ---------------------------------------------------------------------------

    def datacenters(self) -> list[Exported]:
        out = []
        for dc in self.snap.datacenters:
            spec: dict[str, Any] = self._common(dc.name)
            spec["storage_type"] = "localfs" if dc.local else "nfs"
            if dc.description:
                spec["description"] = dc.description
            if dc.version and re.match(VERSION_PATTERN, dc.version):
                spec["compatibility_version"] = dc.version
            out.append(self._make(RhevDataCenter, RhevDataCenterSpec, dc.id, dc.name, **spec))
        return [e for e in out if e is not None]

    def clusters(self) -> list[Exported]:
        dcs = {dc.id: dc.name for dc in self.snap.datacenters}
        out = []
        for cl in self.snap.clusters:
            spec = self._common(cl.name)
            spec["data_center"] = self._ref(
                "RhevDataCenter", cl.data_center_id, dcs.get(cl.data_center_id or "")
            )
            if cl.cpu_type:
                spec["cpu_type"] = cl.cpu_type
            if cl.description:
                spec["description"] = cl.description
            if cl.memory_overcommit is not None:
                if 100 <= cl.memory_overcommit <= 1000:
                    spec["memory_overcommit"] = cl.memory_overcommit
                else:
                    self._warn("RhevCluster", cl.name, "memory overcommit outside 100..1000")
            if cl.transparent_hugepages is not None:
                spec["memory_hugepages"] = cl.transparent_hugepages
            out.append(self._make(RhevCluster, RhevClusterSpec, cl.id, cl.name, **spec))
        return [e for e in out if e is not None]

    def networks(self) -> list[Exported]:
        dcs = {dc.id: dc.name for dc in self.snap.datacenters}
        out = []
        for net in self.snap.networks:
            spec = self._common(net.name)
            spec["data_center"] = self._ref(
                "RhevDataCenter", net.data_center_id, dcs.get(net.data_center_id or "")
            )
            if net.vlan_id is not None:
                spec["vlan"] = net.vlan_id
            if net.description:
                spec["description"] = net.description
            if net.stp is not None:
                spec["stp"] = net.stp
            if net.mtu:  # 0: RHEV-M's default MTU
                spec["mtu"] = net.mtu
            clusters, required = [], set()
            for cl in sorted(self.snap.clusters, key=lambda c: c.name):
                view = self.snap.cluster_networks.get(cl.id, {}).get(net.id)
                if view is None:
                    continue
                clusters.append(self._ref("RhevCluster", cl.id, cl.name))
                required.add(view.required)
            spec["clusters"] = clusters
            if len(required) == 1 and None not in required:
                spec["required"] = required.pop()
            elif len(required) > 1:
                self._warn(
                    "LogicalNetwork",
                    net.name,
                    "required differs between its clusters; spec.required is left unset",
                )
            out.append(self._make(LogicalNetwork, LogicalNetworkSpec, net.id, net.name, **spec))
        return [e for e in out if e is not None]

    def storage_domains(self) -> list[Exported]:
        dcs = {dc.id: dc for dc in self.snap.datacenters}
        out = []
        for sd in self.snap.storage_domains:
            if sd.type not in ("data", "iso", "export") or sd.storage_type not in (
                "nfs",
                "localfs",
            ):
                self._warn(
                    "StorageDomain",
                    sd.name,
                    f"left out: {sd.type} domain on {sd.storage_type} storage is not a kind "
                    "the operator manages (nfs or localfs; data, iso or export)",
                )
                continue
            spec = self._common(sd.name)
            spec["domain_type"] = sd.type
            spec["storage_type"] = sd.storage_type
            if sd.storage_type == "nfs":
                spec["nfs"] = NfsStorage(address=sd.address or "", path=sd.path or "")
            else:
                spec["localfs"] = LocalStorage(path=sd.path or "")
            seen = [dc_id for dc_id, by_id in self.snap.attached.items() if sd.id in by_id]
            if len(seen) > 1:
                self._warn("StorageDomain", sd.name, "attached to several data centers")
            if seen:
                dc = dcs[seen[0]]
                view = self.snap.attached[dc.id][sd.id]
                state = SD_STATE.get(view.status or "")
                if state is None:
                    self._warn("StorageDomain", sd.name, f"is {view.status}; exported as active")
                spec["state"] = state or "active"
            else:
                local = sd.storage_type == "localfs"
                same = [d for d in dcs.values() if bool(d.local) == local]
                if not same:
                    self._warn("StorageDomain", sd.name, "left out: detached, no data center fits")
                    continue
                dc = sorted(same, key=lambda d: d.name)[0]
                spec["state"] = "detached"
            spec["data_center"] = self._ref("RhevDataCenter", dc.id, dc.name)
            out.append(self._make(StorageDomain, StorageDomainSpec, sd.id, sd.name, **spec))
        return [e for e in out if e is not None]

    def hypervisors(self) -> list[Exported]:
        clusters = {c.id: c for c in self.snap.clusters}
        out = []
        for host in self.snap.hosts:
            cl = clusters.get(host.cluster_id or "")
            spec = self._common(host.name)
            spec["address"] = host.address or host.name
            spec["cluster"] = self._ref("RhevCluster", host.cluster_id, cl.name if cl else None)
            spec["type"] = "rhel" if host.type == "rhel" else "rhevh"
            if host.spm_priority is not None:
                spec["spm_priority"] = host.spm_priority
            spec["state"] = "maintenance" if host.status == "maintenance" else "up"
            if host.status not in ("up", "maintenance"):
                self._warn("Hypervisor", host.name, f"is {host.status}; exported with state up")
            spec["interfaces"] = self._interfaces(host)
            exported = self._make(Hypervisor, HypervisorSpec, host.id, host.name, **spec)
            if exported is None:
                continue
            exported.comments = self._power_management(host, exported.resource.metadata.name)
            out.append(exported)
        return out

    def _interfaces(self, host: HostDetail) -> list[HostInterface]:
        nic_names = {nic.id: nic.name for nic in host.nics}
        out = []
        for att in sorted(host.network_attachments, key=lambda a: a.network_name or ""):
            net = self.snap.all_networks.get(att.network_id or "")
            nic = att.host_nic_name or nic_names.get(att.host_nic_id or "")
            if net is None or nic is None:
                self._warn("Hypervisor", host.name, f"attachment {att.id} left out (unknown)")
                continue
            ref = self._ref("LogicalNetwork", net.id, net.name) or net.name
            ip = next((i for i in att.ip_assignments if i.version in (None, "v4")), None)
            method = ip.assignment_method if ip is not None else "none"
            fields: dict[str, Any] = {"network": ref, "nic": nic}
            if method == "dhcp":
                fields["boot_protocol"] = "dhcp"
            elif method == "static" and ip is not None and ip.address and ip.netmask:
                fields.update(boot_protocol="static", ip=ip.address, netmask=ip.netmask)
                if ip.gateway and ref == MANAGEMENT_NETWORK:
                    fields["gateway"] = ip.gateway
            elif method not in (None, "none"):
                self._warn(
                    "Hypervisor", host.name, f"network {net.name}: {method} addressing left out"
                )
                continue
            try:
                out.append(HostInterface(**fields))
            except ValidationError as exc:
                self._warn("Hypervisor", host.name, f"network {net.name} left out: {exc}")
        return out

    def _power_management(self, host: HostDetail, name: str) -> list[str]:
        agents = sorted(host.fence_agents, key=lambda a: (a.order or 0, a.id))
        agent = next((a for a in agents if a.type == "ipmilan" and a.address), None)
        if agent is None:
            return []
        port = agent.port or 623
        self.fence_agents.append((name, str(agent.address), port, agent.username or ""))
        return [
            f"RHEV-M power management: ipmilan fence agent {agent.address}:{port}"
            + (f", user {agent.username}" if agent.username else ""),
            f"To hand it to the operator, fill in secrets/{name}-bmc.yaml, apply it, then add:",
            f"  spec.bmc: {{address: {agent.address}, port: {port}, "
            f"credentialsSecret: {name}-bmc}}",
        ]

    def templates(self) -> list[Exported]:
        clusters = {c.id: c.name for c in self.snap.clusters}
        out = []
        for t in self.snap.templates:
            spec = self._common(t.name)
            if t.cluster_id:
                spec["cluster"] = self._ref("RhevCluster", t.cluster_id, clusters.get(t.cluster_id))
            if t.description:
                spec["description"] = t.description
            out.append(self._make(VmTemplate, VmTemplateSpec, t.id, t.name, **spec))
        return [e for e in out if e is not None]

    def vms(self) -> list[Exported]:
        clusters = {c.id: c.name for c in self.snap.clusters}
        hosts = {h.id: h.name for h in self.snap.hosts}
        out = []
        for vm in self.snap.vms:
            spec = self._common(vm.name)
            spec["cluster"] = self._ref(
                "RhevCluster", vm.cluster_id, clusters.get(vm.cluster_id or "")
            )
            template_id = vm.template_id or BLANK_TEMPLATE_ID
            spec["template"] = self._ref(
                "VmTemplate", template_id, self.snap.template_names.get(template_id, "Blank")
            )
            if vm.memory:
                spec["memory"] = vm.memory
            spec["cpu"] = Cpu(sockets=vm.cpu_sockets or 1, cores=vm.cpu_cores or 1)
            boot = [d for d in vm.boot_devices if d in ("network", "hd")]
            if boot and len(boot) == len(vm.boot_devices):
                spec["boot_order"] = boot
            else:
                self._warn(
                    "VirtualMachine",
                    vm.name,
                    f"boot order {list(vm.boot_devices)} is not network/hd only; bootOrder unset",
                )
            if vm.display_type in ("vnc", "spice"):
                spec["display"] = vm.display_type
            spec["placement"] = self._placement(vm, hosts)
            spec["power_state"] = POWER.get(vm.status or "", "Running")
            if vm.status == "paused":
                self._warn("VirtualMachine", vm.name, "is paused; the operator resumes it")
            spec["nics"] = self._nics(vm)
            spec["disks"] = self._disks(vm)
            out.append(self._make(VirtualMachine, VirtualMachineSpec, vm.id, vm.name, **spec))
        return [e for e in out if e is not None]

    def _placement(self, vm: VmDetail, hosts: dict[str, str]) -> Placement:
        fields: dict[str, Any] = {}
        if len(vm.placement_host_ids) == 1:
            host_id = vm.placement_host_ids[0]
            fields["host"] = self._ref("Hypervisor", host_id, hosts.get(host_id))
        elif vm.placement_host_ids:
            self._warn("VirtualMachine", vm.name, "runs on one of several hosts; host unset")
        affinity = vm.placement_affinity
        if affinity in ("migratable", "user_migratable") or (
            affinity == "pinned" and "host" in fields
        ):
            fields["affinity"] = affinity
        return Placement(**fields)

    def _nics(self, vm: VmDetail) -> list[VmNic]:
        out: list[VmNic] = []
        for nic in sorted(vm.nics, key=lambda n: n.name):
            profile = self.snap.profiles.get(nic.vnic_profile_id or "")
            net = self.snap.all_networks.get(profile.network_id or "") if profile else None
            if profile is None or net is None:
                self._warn("VirtualMachine", vm.name, f"NIC {nic.name} on no network left out")
                continue
            siblings = sorted(
                (p for p in self.snap.profiles.values() if p.network_id == net.id),
                key=lambda p: (p.name != net.name, p.name),
            )
            if siblings and siblings[0].id != profile.id:
                self._warn(
                    "VirtualMachine",
                    vm.name,
                    f"NIC {nic.name} uses vNIC profile {profile.name}; the operator would "
                    f"choose {siblings[0].name}",
                )
            fields: dict[str, Any] = {
                "name": nic.name,
                "network": self._ref("LogicalNetwork", net.id, net.name),
                "install": not out,
            }
            if nic.interface in NIC_MODELS:
                fields["model"] = nic.interface
            try:
                out.append(VmNic(**fields))
            except ValidationError as exc:
                self._warn("VirtualMachine", vm.name, f"NIC {nic.name} left out: {exc}")
        return out

    def _disks(self, vm: VmDetail) -> list[VmDisk]:
        """Spec disk i is the disk aliased `<vm>_Disk<i+1>` (see the reconciler)."""
        by_alias = {a.disk.alias: a for a in vm.disk_attachments if a.disk and a.disk.alias}
        out: list[VmDisk] = []
        system = False
        while (a := by_alias.pop(f"{vm.name}_Disk{len(out) + 1}", None)) is not None:
            d = a.disk
            assert d is not None
            sd_id = d.storage_domain_ids[0] if d.storage_domain_ids else None
            sd = self.names.get("StorageDomain", sd_id) or next(
                (s.name for s in self.snap.storage_domains if s.id == sd_id), None
            )
            if sd is None or not d.provisioned_size:
                break
            fields: dict[str, Any] = {
                "storage_domain": sd,
                "size": d.provisioned_size,
                "format": "raw" if d.format == "raw" else "cow",
            }
            if a.bootable and not system:
                fields["type"] = "system"
                system = True
            elif not a.bootable:
                fields["type"] = "data"
            if a.interface in DISK_INTERFACES:
                fields["interface"] = a.interface
            out.append(VmDisk(**fields))
        for alias in sorted(by_alias):
            self._warn(
                "VirtualMachine",
                vm.name,
                f"disk {alias} is not named <vm>_Disk<n> in sequence; not in spec.disks "
                "(the operator leaves it alone)",
            )
        return out

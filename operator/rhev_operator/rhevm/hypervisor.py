"""Hosts (hypervisors): ``/hosts``, their NICs, network attachments, setupnetworks,
fence agents, and the actions approve/activate/deactivate/fence/install/forceselectspm."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Annotated

from pydantic import Field, model_validator

from rhev_operator.rhevm import xmlio
from rhev_operator.rhevm._base import (
    ActionResult,
    Collection,
    CrudCollection,
    DetailedCollection,
    Frozen,
    Input,
    one_of,
    ref,
)
from rhev_operator.rhevm.session import Session

__all__ = [
    "BondSpec",
    "FenceAgent",
    "FenceAgentCreate",
    "FenceAgentUpdate",
    "FenceAgents",
    "Host",
    "HostCreate",
    "HostDetail",
    "HostNic",
    "HostNics",
    "HostUpdate",
    "Hosts",
    "IpAssignment",
    "NetworkAttachment",
    "NetworkAttachmentSpec",
    "NetworkAttachments",
]

FENCE_TYPES = ("manual", "restart", "start", "stop", "status")


class Host(Frozen):
    id: str
    name: str
    address: str | None = None
    port: int | None = None
    status: str | None = None
    status_detail: str | None = None
    external_status: str | None = None
    type: str | None = None
    description: str | None = None
    comment: str | None = None
    cluster_id: str | None = None
    cluster_name: str | None = None
    spm_priority: int | None = None
    spm_status: str | None = None
    power_management_enabled: bool | None = None
    power_management_status: str | None = None
    memory: int | None = None
    max_scheduling_memory: int | None = None
    cpu_name: str | None = None
    cpu_sockets: int | None = None
    cpu_cores: int | None = None
    os_type: str | None = None
    version: str | None = None
    vms_active: int | None = None
    vms_total: int | None = None
    update_available: bool | None = None
    network_operation_in_progress: bool | None = None
    reinstallation_required: bool | None = None
    kdump_status: str | None = None


# The engine's limits, checked once for every model that carries them.
_Port = Annotated[int | None, Field(ge=1, le=65535)]
_SpmPriority = Annotated[int | None, Field(ge=-1, le=10)]


class HostCreate(Input):
    """``POST /hosts``: the engine adds the host by address and installs it over SSH."""

    name: str = Field(min_length=1)
    address: str = Field(min_length=1)
    cluster_id: str | None = None
    cluster_name: str | None = None
    root_password: str | None = Field(default=None, repr=False)
    port: _Port = None
    description: str | None = None
    comment: str | None = None
    spm_priority: _SpmPriority = None
    override_iptables: bool | None = None
    power_management_enabled: bool | None = None

    @model_validator(mode="after")
    def _refs(self) -> HostCreate:
        one_of("cluster_id", self.cluster_id, "cluster_name", self.cluster_name)
        return self


class HostUpdate(Input):
    name: str | None = Field(default=None, min_length=1)
    address: str | None = None
    cluster_id: str | None = None
    port: _Port = None
    description: str | None = None
    comment: str | None = None
    spm_priority: _SpmPriority = None
    power_management_enabled: bool | None = None
    power_management_kdump_detection: bool | None = None
    power_management_automatic: bool | None = None


_HOST_PATHS = {
    "cluster_id": "cluster/@id",
    "cluster_name": "cluster/name",
    "spm_priority": "spm/priority",
    "spm_status": "spm/status",
    "power_management_enabled": "power_management/enabled",
    "power_management_status": "power_management/status",
    "power_management_kdump_detection": "power_management/kdump_detection",
    "power_management_automatic": "power_management/automatic_pm_enabled",
    "cpu_name": "cpu/name",
    "cpu_sockets": "cpu/topology/sockets",
    "cpu_cores": "cpu/topology/cores",
    "os_type": "os/type",
    "vms_active": "summary/active",
    "vms_total": "summary/total",
}


def _host_version(el: xmlio.Element) -> str | None:
    full = xmlio.get(el, "version/full_version")
    return full or xmlio.read_version()(el)


class HostNic(Frozen):
    id: str
    name: str
    mac: str | None = None
    ip_address: str | None = None
    ip_netmask: str | None = None
    ip_gateway: str | None = None
    boot_protocol: str | None = None
    status: str | None = None
    mtu: int | None = None
    speed: int | None = None
    bridged: bool | None = None
    network_id: str | None = None
    vlan_id: int | None = None
    base_interface: str | None = None
    bond_slave_ids: tuple[str, ...] = ()
    bond_slave_names: tuple[str, ...] = ()
    bond_options: dict[str, str] = Field(default_factory=dict)


class HostNics(Collection[HostNic]):
    """``/hosts/{id}/nics``: read-only."""

    tag = "host_nic"
    plural = "host_nics"
    model = HostNic
    read_spec = {
        "mac": "mac/address",
        "ip_address": "ip/address",
        "ip_netmask": "ip/netmask",
        "ip_gateway": "ip/gateway",
        "network_id": "network/@id",
        "vlan_id": "vlan/@id",
        "bond_slave_ids": xmlio.read_ids("bonding/slaves/host_nic"),
        "bond_slave_names": xmlio.read_texts("bonding/slaves/host_nic/name"),
        "bond_options": xmlio.read_options("bonding/options"),
    }


class IpAssignment(Frozen):
    assignment_method: str | None = None
    address: str | None = None
    netmask: str | None = None
    gateway: str | None = None
    version: str | None = None


def _ip_assignments(el: xmlio.Element) -> tuple[IpAssignment, ...]:
    out = []
    for a in el.iterfind("ip_address_assignments/ip_address_assignment"):
        out.append(
            IpAssignment(
                assignment_method=xmlio.get(a, "assignment_method"),
                address=xmlio.get(a, "ip/address"),
                netmask=xmlio.get(a, "ip/netmask"),
                gateway=xmlio.get(a, "ip/gateway"),
                version=xmlio.get(a, "ip/version"),
            )
        )
    return tuple(out)


class NetworkAttachment(Frozen):
    id: str
    network_id: str | None = None
    network_name: str | None = None
    host_nic_id: str | None = None
    host_nic_name: str | None = None
    host_id: str | None = None
    in_sync: bool | None = None
    ip_assignments: tuple[IpAssignment, ...] = ()


class NetworkAttachments(Collection[NetworkAttachment]):
    """``/hosts/{id}/networkattachments``: read; change them with ``setup_networks``."""

    tag = "network_attachment"
    plural = "network_attachments"
    model = NetworkAttachment
    read_spec = {
        "network_id": "network/@id",
        "network_name": "network/name",
        "host_nic_id": "host_nic/@id",
        "host_nic_name": "host_nic/name",
        "host_id": "host/@id",
        "ip_assignments": _ip_assignments,
    }

    def remove(self, attachment_id: str, correlation_id: str | None = None) -> None:
        self._remove(attachment_id, correlation_id)


class NetworkAttachmentSpec(Input):
    """One entry of ``modified_network_attachments`` in setupnetworks.

    ``boot_protocol``: none, dhcp or static (``address`` and ``netmask`` required)."""

    id: str | None = None
    network_id: str | None = None
    network_name: str | None = None
    host_nic_id: str | None = None
    host_nic_name: str | None = None
    boot_protocol: str | None = None
    address: str | None = None
    netmask: str | None = None
    gateway: str | None = None

    @model_validator(mode="after")
    def _check(self) -> NetworkAttachmentSpec:
        if self.id is None:
            one_of("network_id", self.network_id, "network_name", self.network_name)
            one_of("host_nic_id", self.host_nic_id, "host_nic_name", self.host_nic_name)
        if self.boot_protocol not in (None, "none", "dhcp", "static", "autoconf"):
            raise ValueError(
                f"boot_protocol: must be none, dhcp, static or autoconf, got {self.boot_protocol!r}"
            )
        if self.boot_protocol == "static" and not (self.address and self.netmask):
            raise ValueError("address/netmask: required when boot_protocol is static")
        return self

    def element(self) -> xmlio.Element:
        el = xmlio.new("network_attachment", {"id": self.id} if self.id else None)
        for child in (
            ref("network", self.network_id, self.network_name),
            ref("host_nic", self.host_nic_id, self.host_nic_name),
        ):
            if child is not None:
                el.append(child)
        if self.boot_protocol is not None:
            a = xmlio.new("ip_address_assignment")
            xmlio.set_path(a, "assignment_method", self.boot_protocol)
            xmlio.set_path(a, "ip/address", self.address)
            xmlio.set_path(a, "ip/netmask", self.netmask)
            xmlio.set_path(a, "ip/gateway", self.gateway)
            holder = xmlio.new("ip_address_assignments")
            holder.append(a)
            el.append(holder)
        return el


class BondSpec(Input):
    """A bond for ``modified_bonds``: ``slaves`` are host NIC names."""

    name: str = Field(min_length=1)
    slaves: tuple[str, ...] = Field(min_length=1)
    options: dict[str, str] = Field(default_factory=dict)

    def element(self) -> xmlio.Element:
        el = xmlio.new("host_nic")
        xmlio.set_path(el, "name", self.name)
        bonding = xmlio.new("bonding")
        if self.options:
            xmlio.write_options("options")(bonding, self.options)
        slaves = xmlio.new("slaves")
        for slave in self.slaves:
            nic = xmlio.new("host_nic")
            xmlio.set_path(nic, "name", slave)
            slaves.append(nic)
        bonding.append(slaves)
        el.append(bonding)
        return el


class FenceAgent(Frozen):
    """A power-management agent; the password is write-only and never read back."""

    id: str
    type: str | None = None
    address: str | None = None
    port: int | None = None
    username: str | None = None
    order: int | None = None
    encrypt_options: bool | None = None
    options: dict[str, str] = Field(default_factory=dict)


class _FenceAgentFields(Input):
    type: str | None = None
    address: str | None = None
    username: str | None = None
    password: str | None = Field(default=None, repr=False)
    port: _Port = None
    order: int | None = Field(default=None, ge=1)
    encrypt_options: bool | None = None
    options: dict[str, str] | None = None


class FenceAgentCreate(_FenceAgentFields):
    type: str = Field(min_length=1)
    address: str = Field(min_length=1)


class FenceAgentUpdate(_FenceAgentFields):
    """Only the fields set are sent."""


class FenceAgents(CrudCollection[FenceAgent, FenceAgentCreate, FenceAgentUpdate]):
    """``/hosts/{id}/fenceagents`` (``<agent>``)."""

    tag = "agent"
    plural = "agents"
    model = FenceAgent
    read_spec = {"options": xmlio.read_options("options")}
    write_spec = {"options": xmlio.write_options("options")}


class HostDetail(Host):
    """A host read with ``follow=nics,network_attachments,agents``: one list call brings
    every host's NICs, network attachments and fence agents (the `follow` parameter)."""

    nics: tuple[HostNic, ...] = ()
    network_attachments: tuple[NetworkAttachment, ...] = ()
    fence_agents: tuple[FenceAgent, ...] = ()


#: What ``Hosts.list_detailed`` inlines.
DETAIL_FOLLOW = "nics,network_attachments,agents"


class Hosts(DetailedCollection[Host, HostDetail]):
    tag = "host"
    plural = "hosts"
    model = Host
    searchable = True
    read_spec = {**_HOST_PATHS, "version": _host_version}
    write_spec = _HOST_PATHS
    detail_follow = DETAIL_FOLLOW

    def __init__(self, session: Session, path: str = "hosts") -> None:
        super().__init__(session, path)

    @classmethod
    def parse_detail(cls, el: xmlio.Element) -> HostDetail:
        # The engine inlines fence agents as <agents>; accept <fence_agents> as well.
        agents = [*el.iterfind("agents/agent"), *el.iterfind("fence_agents/agent")]
        return HostDetail(
            **cls.parse(el).model_dump(),
            nics=tuple(HostNics.parse(n) for n in el.iterfind("nics/host_nic")),
            network_attachments=tuple(
                NetworkAttachments.parse(a)
                for a in el.iterfind("network_attachments/network_attachment")
            ),
            fence_agents=tuple(FenceAgents.parse(a) for a in agents),
        )

    # --- CRUD ---

    def add(
        self,
        data: HostCreate,
        activate: bool | None = None,
        reboot: bool | None = None,
        correlation_id: str | None = None,
    ) -> Host:
        return self._add(data, correlation_id, {"activate": activate, "reboot": reboot})

    def update(self, host_id: str, data: HostUpdate, correlation_id: str | None = None) -> Host:
        return self._update(host_id, data, correlation_id)

    def remove(self, host_id: str, force: bool = False, correlation_id: str | None = None) -> None:
        self._remove(host_id, correlation_id, {"force": True} if force else None)

    # --- sub-collections ---

    def nics(self, host_id: str) -> HostNics:
        return HostNics(self._s, f"{self._item(host_id)}/nics")

    def network_attachments(self, host_id: str) -> NetworkAttachments:
        return NetworkAttachments(self._s, f"{self._item(host_id)}/networkattachments")

    def fence_agents(self, host_id: str) -> FenceAgents:
        return FenceAgents(self._s, f"{self._item(host_id)}/fenceagents")

    # --- actions ---

    def approve(
        self,
        host_id: str,
        cluster_id: str | None = None,
        root_password: str | None = None,
        activate: bool | None = None,
        correlation_id: str | None = None,
    ) -> ActionResult:
        body = xmlio.action(cluster=ref("cluster", cluster_id), activate=activate)
        if root_password is not None:
            xmlio.set_path(body, "host/root_password", root_password)
        return self._action(host_id, "approve", correlation_id, body)

    def activate(self, host_id: str, correlation_id: str | None = None) -> ActionResult:
        return self._action(host_id, "activate", correlation_id)

    def deactivate(
        self, host_id: str, reason: str | None = None, correlation_id: str | None = None
    ) -> ActionResult:
        return self._action(host_id, "deactivate", correlation_id, xmlio.action(reason=reason))

    def fence(
        self,
        host_id: str,
        fence_type: str,
        maintenance_after_restart: bool | None = None,
        correlation_id: str | None = None,
    ) -> ActionResult:
        """``fence_type``: manual ("host has been rebooted"), restart, start, stop, status
        (then ``power_status`` is on, off or unknown)."""
        if fence_type not in FENCE_TYPES:
            raise ValueError(f"fence_type: must be one of {', '.join(FENCE_TYPES)}")
        body = xmlio.action(
            fence_type=fence_type, maintenance_after_restart=maintenance_after_restart
        )
        return self._action(host_id, "fence", correlation_id, body)

    def install(
        self,
        host_id: str,
        root_password: str | None = None,
        activate: bool | None = None,
        reboot: bool | None = None,
        correlation_id: str | None = None,
    ) -> ActionResult:
        body = xmlio.action(root_password=root_password, activate=activate, reboot=reboot)
        return self._action(host_id, "install", correlation_id, body)

    def force_select_spm(self, host_id: str, correlation_id: str | None = None) -> ActionResult:
        return self._action(host_id, "forceselectspm", correlation_id)

    def refresh(self, host_id: str, correlation_id: str | None = None) -> ActionResult:
        return self._action(host_id, "refresh", correlation_id)

    def commit_net_config(self, host_id: str, correlation_id: str | None = None) -> ActionResult:
        return self._action(host_id, "commitnetconfig", correlation_id)

    def setup_networks(
        self,
        host_id: str,
        modified_network_attachments: Sequence[NetworkAttachmentSpec] = (),
        removed_network_attachments: Sequence[str] = (),
        modified_bonds: Sequence[BondSpec] = (),
        removed_bonds: Sequence[str] = (),
        synchronized_network_attachments: Sequence[str] = (),
        check_connectivity: bool | None = None,
        connectivity_timeout: int | None = None,
        commit_on_success: bool | None = None,
        correlation_id: str | None = None,
    ) -> ActionResult:
        """One ``setupnetworks`` call; removed/synchronized entries are attachment ids,
        ``removed_bonds`` bond NIC names."""
        body = xmlio.action()
        groups: builtins.list[tuple[str, builtins.list[xmlio.Element]]] = [
            ("modified_bonds", [b.element() for b in modified_bonds]),
            ("removed_bonds", [_named("host_nic", n) for n in removed_bonds]),
            (
                "modified_network_attachments",
                [a.element() for a in modified_network_attachments],
            ),
            (
                "removed_network_attachments",
                [xmlio.new("network_attachment", {"id": i}) for i in removed_network_attachments],
            ),
            (
                "synchronized_network_attachments",
                [
                    xmlio.new("network_attachment", {"id": i})
                    for i in synchronized_network_attachments
                ],
            ),
        ]
        for tag, items in groups:
            if items:
                holder = xmlio.new(tag)
                holder.extend(items)
                body.append(holder)
        xmlio.set_path(body, "check_connectivity", check_connectivity)
        xmlio.set_path(body, "connectivity_timeout", connectivity_timeout)
        xmlio.set_path(body, "commit_on_success", commit_on_success)
        return self._action(host_id, "setupnetworks", correlation_id, body)


def _named(tag: str, name: str) -> xmlio.Element:
    el = xmlio.new(tag)
    xmlio.set_path(el, "name", name)
    return el

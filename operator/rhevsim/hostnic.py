"""Host NICs (/hosts/{id}/nics) and network attachments (/hosts/{id}/networkattachments,
/hosts/{id}/nics/{nic}/networkattachments), and the `setupnetworks` action.

A host owns its physical NICs (`Host.nics`, from the machine or the inventory) and its
network attachments (`Host.attachments`). A NIC carries at most one untagged network and
any number of VLAN networks; a VLAN network shows as a derived NIC `eth1.20` with
`base_interface` and `vlan`, carrying the IP of that attachment. The management network is
attached to the first NIC with DHCP when the host registers.

`setupnetworks` is accepted on Maintenance, Up and NonOperational hosts, as the engine's
network/host/HostValidator allows, and answers through `performAction`: 200
complete, or 202 in_progress with `?async=true`. Changes are saved on `commitnetconfig` or
`commit_on_success=true`; until then the host shows them but reports them as uncommitted.
"""

from __future__ import annotations

import ipaddress
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from lxml import etree

from rhevsim import errors
from rhevsim.cluster import Cluster
from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.network import Network, management_network_of
from rhevsim.xmlutil import Element, text, xml_bool

if TYPE_CHECKING:
    from rhevsim.network import Network
    from rhevsim.registry import Registry

BOOT_PROTOCOLS = ("none", "dhcp", "static", "autoconf", "poly_dhcp_autoconf")
NIC_SPEED = 1_000_000_000  # bits per second, as the engine reports 1 GbE
_NIC_NS = uuid.UUID("6c1b3a4e-8c3f-4a55-9d0e-0f0b6c0e2a11")


class NicHost(Protocol):
    """What this module needs of a host (the hypervisor package's `Host`)."""

    @property
    def id(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def cluster_id(self) -> str | None: ...

    @property
    def nics(self) -> list[HostNic]: ...

    @property
    def attachments(self) -> list[NetworkAttachment]: ...


@dataclass(kw_only=True, eq=False)
class HostNic(Entity):
    """A NIC of a host: physical (stored on the host) or a VLAN device (derived)."""

    KIND = "hostnic"
    TAG = "host_nic"
    PLURAL = "host_nics"
    TYPE_NAME = "Host Interface"
    REF_NAME = "HostNic"

    host_id: str
    mac: str = ""
    mtu: int = 1500
    speed: int = NIC_SPEED
    status: str = "up"
    vlan_id: int | None = None
    base_interface: str | None = None

    def href(self) -> str:
        return f"/hosts/{self.host_id}/nics/{self.id}"

    def render(self, ctx: Ctx) -> Element:
        host = _host(ctx.reg, self.host_id)
        return render_nic(ctx, self, host)

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        return {"name": self.name, "id": self.id}


@dataclass(kw_only=True, eq=False)
class NetworkAttachment(Entity):
    KIND = "networkattachment"
    TAG = "network_attachment"
    PLURAL = "network_attachments"
    TYPE_NAME = "Network Attachment"
    REF_NAME = "NetworkAttachment"

    host_id: str
    network_id: str
    nic_name: str  # the base NIC (eth1), also for VLAN networks
    boot_protocol: str = "none"  # none | dhcp | static
    address: str | None = None
    netmask: str | None = None
    gateway: str | None = None
    in_sync: bool = True
    properties: dict[str, str] = field(default_factory=dict)

    def href(self) -> str:
        return f"/hosts/{self.host_id}/networkattachments/{self.id}"

    def render(self, ctx: Ctx) -> Element:
        return render_attachment(ctx, self)

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        return {"id": self.id}


def _host(reg: Registry, host_id: str) -> NicHost | None:
    for h in reg.iter_kind("host"):
        if h.id == host_id:
            return h  # type: ignore[return-value]
    return None


def _network(reg: Registry, net_id: str) -> Network | None:
    return reg.get(Network, net_id)


def vlan_nic_id(host_id: str, name: str) -> str:
    """Stable id of a derived VLAN device (eth1.20)."""
    return str(uuid.uuid5(_NIC_NS, f"{host_id}/{name}"))


def new_nic(reg: Registry, host_id: str, name: str, mac: str | None = None) -> HostNic:
    return HostNic(id=reg.new_id(), name=name, host_id=host_id, mac=mac or _mac(reg))


def _mac(reg: Registry) -> str:
    n = reg.rng.getrandbits(24)
    return f"52:54:00:{(n >> 16) & 0xFF:02x}:{(n >> 8) & 0xFF:02x}:{n & 0xFF:02x}"


# ---------------------------------------------------------------------- views


def all_nics(reg: Registry, host: NicHost) -> list[HostNic]:
    """Physical NICs then derived VLAN devices, in name order like VDSM reports."""
    out = list(host.nics)
    by_name = {n.name: n for n in host.nics}
    for att in host.attachments:
        net = _network(reg, att.network_id)
        if net is None or net.vlan_id is None:
            continue
        base = by_name.get(att.nic_name)
        name = f"{att.nic_name}.{net.vlan_id}"
        out.append(
            HostNic(
                id=vlan_nic_id(host.id, name),
                name=name,
                host_id=host.id,
                mac=base.mac if base else "",
                mtu=base.mtu if base else 1500,
                vlan_id=net.vlan_id,
                base_interface=att.nic_name,
                status=base.status if base else "up",
            )
        )
    return sorted(out, key=lambda n: n.name)


def nic_by_id(reg: Registry, host: NicHost, ident: str) -> HostNic | None:
    return next((n for n in all_nics(reg, host) if n.id == ident), None)


def nic_attachment(reg: Registry, host: NicHost, nic: HostNic) -> NetworkAttachment | None:
    """The attachment whose network a NIC carries: untagged on the base NIC, VLAN on eth.N."""
    for att in host.attachments:
        net = _network(reg, att.network_id)
        if net is None:
            continue
        if nic.vlan_id is None and att.nic_name == nic.name and net.vlan_id is None:
            return att
        if (
            nic.vlan_id is not None
            and att.nic_name == nic.base_interface
            and net.vlan_id == nic.vlan_id
        ):
            return att
    return None


def attachments_on(host: NicHost, nic: HostNic) -> list[NetworkAttachment]:
    base = nic.base_interface or nic.name
    if nic.vlan_id is not None:
        return []
    return [a for a in host.attachments if a.nic_name == base]


def _ip(parent: Element, address: str | None, netmask: str | None, gateway: str | None) -> None:
    ip = etree.SubElement(parent, "ip")
    if address:
        etree.SubElement(ip, "address").text = address
    if gateway:
        etree.SubElement(ip, "gateway").text = gateway
    if netmask:
        etree.SubElement(ip, "netmask").text = netmask
    etree.SubElement(ip, "version").text = "v4"


def render_nic(ctx: Ctx, nic: HostNic, host: NicHost | None) -> Element:
    el = ctx.el(nic)
    ctx.actions(el, nic, ("updatevirtualfunctionsconfiguration",))
    etree.SubElement(el, "name").text = nic.name
    for rel in (
        "linklayerdiscoveryprotocolelements",
        "networkattachments",
        "networklabels",
        "statistics",
        "virtualfunctionallowedlabels",
        "virtualfunctionallowednetworks",
    ):
        ctx.link(el, nic, rel)
    att = nic_attachment(ctx.reg, host, nic) if host is not None else None
    net = _network(ctx.reg, att.network_id) if att is not None else None
    if nic.base_interface:
        etree.SubElement(el, "base_interface").text = nic.base_interface
    etree.SubElement(el, "boot_protocol").text = att.boot_protocol if att else "none"
    etree.SubElement(el, "bridged").text = "true" if net is not None and net.vm_network else "false"
    etree.SubElement(el, "custom_configuration").text = "false"
    if att is not None and att.address:
        _ip(el, att.address, att.netmask, att.gateway)
    ipv6 = etree.SubElement(el, "ipv6")
    etree.SubElement(ipv6, "version").text = "v6"
    etree.SubElement(el, "ipv6_boot_protocol").text = "none"
    mac = etree.SubElement(el, "mac")
    etree.SubElement(mac, "address").text = nic.mac
    etree.SubElement(el, "mtu").text = str(net.mtu or 1500 if net is not None else nic.mtu)
    etree.SubElement(el, "speed").text = str(nic.speed)
    etree.SubElement(el, "status").text = nic.status
    if nic.vlan_id is not None:
        etree.SubElement(el, "vlan", {"id": str(nic.vlan_id)})
    if host is not None:
        ctx.ref_id(el, "host", "hosts", host.id)
    if net is not None:
        ctx.ref(el, "network", net)
    return el


def render_attachment(ctx: Ctx, att: NetworkAttachment) -> Element:
    el = ctx.el(att)
    reg = ctx.reg
    host = _host(reg, att.host_id)
    etree.SubElement(el, "in_sync").text = "true" if att.in_sync else "false"
    ias = etree.SubElement(el, "ip_address_assignments")
    ia = etree.SubElement(ias, "ip_address_assignment")
    etree.SubElement(ia, "assignment_method").text = att.boot_protocol
    if att.boot_protocol == "static" or att.address:
        _ip(ia, att.address, att.netmask, att.gateway)
    if att.properties:
        props = etree.SubElement(el, "properties")
        for k, v in sorted(att.properties.items()):
            p = etree.SubElement(props, "property")
            etree.SubElement(p, "name").text = k
            etree.SubElement(p, "value").text = v
    if ctx.all_content or "reported_configurations" in ctx.follow:
        _reported(el, reg, att)
    if host is not None:
        ctx.ref_id(el, "host", "hosts", host.id)
        base = next((n for n in host.nics if n.name == att.nic_name), None)
        ctx.ref(el, "host_nic", base)
    ctx.ref(el, "network", _network(reg, att.network_id))
    return el


def _reported(el: Element, reg: Registry, att: NetworkAttachment) -> None:
    net = _network(reg, att.network_id)
    rc = etree.SubElement(el, "reported_configurations")
    rows: list[tuple[str, str, str]] = [
        ("mtu", str(net.mtu or 1500) if net else "1500", str(net.mtu or 1500) if net else "1500"),
        ("bridged", xml_bool(bool(net and net.vm_network)), xml_bool(bool(net and net.vm_network))),
        ("vlan", str(net.vlan_id) if net and net.vlan_id is not None else "", ""),
    ]
    for name, actual, expected in rows:
        r = etree.SubElement(rc, "reported_configuration")
        etree.SubElement(r, "name").text = name
        etree.SubElement(r, "actual_value").text = actual
        etree.SubElement(r, "expected_value").text = expected or actual
        etree.SubElement(r, "in_sync").text = "true"


# ---------------------------------------------------------------------- parsing and validation


def setup_error(message: str, status: int = 400) -> errors.ApiError:
    return errors.failed(status, f"Cannot setup Networks. {message}")


@dataclass
class _Change:
    """One parsed `network_attachment` of a setupnetworks body."""

    ident: str | None
    network: Network
    nic_name: str
    boot_protocol: str | None
    address: str | None
    netmask: str | None
    gateway: str | None
    properties: dict[str, str] | None


def _parse_ip(att_el: Element, net_name: str, nic_name: str) -> tuple[str | None, ...]:
    ias = att_el.find("ip_address_assignments")
    if ias is None:
        return (None, None, None, None)
    ia = ias.find("ip_address_assignment")
    if ia is None:
        return (None, None, None, None)
    method = text(ia, "assignment_method")
    if method is None:
        raise errors.bad_request(
            f"Insufficient ip configuration details of Network attachment for Network "
            f"{net_name}, Interface {nic_name}. Boot protocol is missing."
        )
    method = method.lower()
    if method not in BOOT_PROTOCOLS:
        raise errors.invalid_value(method, "BootProtocol")
    address, netmask, gateway = (
        text(ia, "ip/address"),
        text(ia, "ip/netmask"),
        text(ia, "ip/gateway"),
    )
    if method == "static":
        if not address or not netmask:
            raise errors.bad_request(
                f"Insufficient ip configuration of Network attachment for Network {net_name}, "
                f"Interface {nic_name}. Must define ip address and netmask when boot protocol "
                "is static."
            )
        for what, value in (("address", address), ("netmask", netmask), ("gateway", gateway)):
            if value is None:
                continue
            try:
                ipaddress.IPv4Address(value)
            except ValueError:
                raise errors.bad_request(
                    f"Cannot setup Networks. ip_address_assignment.ip.{what}: {value!r} is not "
                    "a valid IPv4 address."
                ) from None
        if gateway:
            iface = ipaddress.IPv4Interface(f"{address}/{netmask}")
            if ipaddress.IPv4Address(gateway) not in iface.network:
                raise errors.bad_request(
                    f"Cannot setup Networks. The gateway {gateway} of network {net_name} is not "
                    f"in the subnet of {address}/{netmask}."
                )
    elif address or netmask or gateway:
        raise errors.bad_request(
            f"Incompatible ip configuration of Network attachment for Network {net_name}, "
            f"Interface {nic_name}. Can't determine the ip address, netmask or gateway when "
            f"boot protocol is set to {method.upper()}."
        )
    return (method, address, netmask, gateway)


def _resolve_network(reg: Registry, host: NicHost, el: Element | None) -> Network:
    if el is None or (not el.get("id") and not text(el, "name")):
        raise setup_error(
            "There's unset networkId or networkName among given network attachments. At least "
            "one of them should be set."
        )
    ident, name = el.get("id"), text(el, "name")
    dc_id = host_dc_id(reg, host)
    if ident:
        net = reg.get(Network, ident)
        if net is None:
            raise errors.bad_request(f"Logical Network (id '{ident}') doesn't exist.")
        return net
    net = next((n for n in reg.all(Network) if n.name == name and n.data_center_id == dc_id), None)
    if net is None:
        raise errors.bad_request(f"Logical Network (name '{name}') doesn't exist.")
    return net


def host_dc_id(reg: Registry, host: NicHost) -> str | None:
    cl = reg.get(Cluster, host.cluster_id) if host.cluster_id else None
    return cl.data_center_id if cl else None


def _resolve_nic(host: NicHost, el: Element | None, existing: NetworkAttachment | None) -> str:
    if el is None or (not el.get("id") and not text(el, "name")):
        if existing is not None:
            return existing.nic_name
        raise setup_error("The host network interface does not exist.")
    ident, name = el.get("id"), text(el, "name")
    for n in host.nics:
        if (ident and n.id == ident) or (not ident and n.name == name):
            if ident and name and n.name != name:
                raise setup_error(
                    f"NetworkAttachment does not reference nic coherently. Nic name and id "
                    f"reference different nics: nicId {ident} nicName {name}."
                )
            return n.name
    if name:
        raise setup_error(f"The host network interface (name {name}) does not exist.")
    raise setup_error("The host network interface does not exist.")


def parse_changes(
    reg: Registry, host: NicHost, body: Element | None
) -> tuple[list[_Change], list[NetworkAttachment], list[NetworkAttachment]]:
    """(modified or new attachments, removed attachments, attachments to synchronize)."""
    for unsupported in ("modified_bonds", "removed_bonds", "modified_labels", "removed_labels"):
        el = body.find(unsupported) if body is not None else None
        if el is not None and len(el):
            # Refuse rather than ignore: a client relying on bonds must not pass silently.
            raise errors.bad_request(
                f"Cannot setup Networks. {unsupported} is not supported by the simulator; "
                "use modified_network_attachments, removed_network_attachments and "
                "synchronized_network_attachments."
            )
    by_id = {a.id: a for a in host.attachments}
    changes: list[_Change] = []
    mod = body.find("modified_network_attachments") if body is not None else None
    for att_el in mod if mod is not None else ():
        ident = att_el.get("id")
        existing = by_id.get(ident) if ident else None
        if ident and existing is None:
            raise setup_error(f"Network attachment (id '{ident}') does not exist.", 404)
        net_el = att_el.find("network")
        if existing is not None and (
            net_el is None or not (net_el.get("id") or text(net_el, "name"))
        ):
            net = _network(reg, existing.network_id)
            if net is None:
                raise setup_error("The specified Logical Network doesn't exist.")
        else:
            net = _resolve_network(reg, host, net_el)
        nic_name = _resolve_nic(host, att_el.find("host_nic"), existing)
        method, address, netmask, gateway = _parse_ip(att_el, net.name, nic_name)
        props: dict[str, str] | None = None
        props_el = att_el.find("properties")
        if props_el is not None:
            props = {
                text(p, "name") or "": text(p, "value") or "" for p in props_el.findall("property")
            }
        changes.append(_Change(ident, net, nic_name, method, address, netmask, gateway, props))
    removed: list[NetworkAttachment] = []
    rem = body.find("removed_network_attachments") if body is not None else None
    for att_el in rem if rem is not None else ():
        ident = att_el.get("id")
        att = by_id.get(ident or "")
        if att is None:
            raise setup_error(f"Network attachment (id '{ident}') does not exist.", 404)
        if any(c.ident == att.id for c in changes):
            raise setup_error(
                "Cannot remove and update a Network Attachment simultaneously. The same network "
                f"attachment ('{att.id}') appears in both 'network attachments' and 'removed "
                "network attachments' lists."
            )
        removed.append(att)
    synced: list[NetworkAttachment] = []
    syn = body.find("synchronized_network_attachments") if body is not None else None
    for att_el in syn if syn is not None else ():
        att = by_id.get(att_el.get("id") or "")
        if att is None:
            raise setup_error(f"Network attachment (id '{att_el.get('id')}') does not exist.", 404)
        synced.append(att)
    return changes, removed, synced


def validate_result(
    reg: Registry, host: NicHost, result: list[NetworkAttachment], changed_nets: list[Network]
) -> None:
    """The host's attachments after the change must be a legal configuration."""

    # Networks must be attached to the host's cluster.
    missing = [n.name for n in changed_nets if host.cluster_id not in n.clusters]
    if missing:
        raise setup_error(
            "The following Logical Networks do not exist in the Host's Cluster: "
            + ", ".join(sorted(set(missing)))
            + "."
        )
    seen: dict[str, int] = {}
    for a in result:
        seen[a.network_id] = seen.get(a.network_id, 0) + 1
    twice = [
        (reg.get(Network, nid).name if reg.get(Network, nid) else nid)  # type: ignore[union-attr]
        for nid, count in seen.items()
        if count > 1
    ]
    if twice:
        raise setup_error(
            "The following Logical Networks are attached to more than one Network Interface: "
            + ", ".join(sorted(twice))
            + "."
        )
    # One untagged network per NIC; VLAN ids unique per NIC.
    per_nic: dict[str, list[Network]] = {}
    for a in result:
        net = reg.get(Network, a.network_id)
        if net is not None:
            per_nic.setdefault(a.nic_name, []).append(net)
    for nic_name, nets in per_nic.items():
        untagged = [n.name for n in nets if n.vlan_id is None]
        if len(untagged) > 1:
            raise setup_error(
                f"The following Network Interface can have only one non-VLAN network attached: "
                f"{nic_name} ({', '.join(sorted(untagged))})."
            )
        vlans = [n.vlan_id for n in nets if n.vlan_id is not None]
        if len(vlans) != len(set(vlans)):
            raise setup_error(
                f"The following Network Interface has more than one network with the same VLAN "
                f"id: {nic_name}."
            )
        vm_untagged = [n for n in nets if n.vlan_id is None and n.vm_network]
        if vm_untagged and len(nets) > 1:
            # A bridged untagged network next to VLANs is fine for VDSM; nothing to refuse.
            pass
    mgmt = _management_network(reg, host)
    if mgmt is not None and not any(a.network_id == mgmt.id for a in result):
        raise errors.conflict(
            f"Cannot setup Networks. The management network '{mgmt.name}' must be attached to "
            "the host, it cannot be removed."
        )


def _management_network(reg: Registry, host: NicHost) -> Network | None:
    cl = reg.get(Cluster, host.cluster_id) if host.cluster_id else None
    return management_network_of(reg, cl) if cl is not None else None

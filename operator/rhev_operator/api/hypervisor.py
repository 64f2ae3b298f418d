"""Hypervisor [rhev-h node: hostcluster, hostinterface, hostmanager, hosttype;
`chhypervisor`, `rmhypervisor`]: a RHEV-M host, its networks, power management and BMC."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, StringConstraints, model_validator

from rhev_operator.api.base import (
    ApiModel,
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
    HOST_NAME_MAX,
    HOST_NIC_NAME_MAX,
    HOST_NIC_PATTERN,
    MANAGEMENT_NETWORK,
    PORT_MAX,
    PORT_MIN,
    SPM_PRIORITY_MAX,
    SPM_PRIORITY_MIN,
    HostAddress,
    HostName,
    IPv4Address,
    Reference,
    SecretName,
    check_ipv4_netmask,
    duplicates,
    field_error,
    xcat,
)

HostType = Literal["rhevh", "rhel"]
BootProtocol = Literal["dhcp", "static"]
BootDevice = Literal["network", "disk"]
HostState = Literal["up", "maintenance"]

HostNicName = Annotated[
    str, StringConstraints(pattern=HOST_NIC_PATTERN, min_length=1, max_length=HOST_NIC_NAME_MAX)
]


class HostInterface(ApiModel):
    """A logical network on one host NIC."""

    network: Annotated[Reference, xcat("hostinterface (network)")]
    """The LogicalNetwork (or RHEV-M network) to attach."""
    nic: Annotated[HostNicName, xcat("hostinterface (interfacename)")]
    """The host NIC, e.g. eth1."""
    boot_protocol: Annotated[BootProtocol | None, xcat("hostinterface (protocol)")] = None
    """dhcp or static. Unset: no IP address on the host for this network."""
    ip: Annotated[IPv4Address | None, xcat("hostinterface (IP)")] = None
    """The IPv4 address; static only, required there."""
    netmask: Annotated[IPv4Address | None, xcat("hostinterface (netmask)")] = None
    """The netmask, e.g. 255.255.255.0; static only, required there."""
    gateway: Annotated[IPv4Address | None, xcat("hostinterface (gateway)")] = None
    """The default gateway; static only, and only on the management network."""

    @model_validator(mode="after")
    def _addressing(self) -> HostInterface:
        if self.boot_protocol == "static":
            if self.ip is None:
                raise field_error("ip", "is required when bootProtocol is static")
            if self.netmask is None:
                raise field_error("netmask", "is required when bootProtocol is static")
        else:
            for field in ("ip", "netmask", "gateway"):
                if getattr(self, field) is not None:
                    raise field_error(
                        field,
                        f"is allowed only with bootProtocol static "
                        f"(bootProtocol is {self.boot_protocol or 'unset'})",
                    )
        if self.netmask is not None and not check_ipv4_netmask(self.netmask):
            raise field_error("netmask", f"{self.netmask} is not a netmask; use e.g. 255.255.255.0")
        if self.gateway is not None and self.network != MANAGEMENT_NETWORK:
            raise field_error(
                "gateway",
                f"is allowed only on the management network {MANAGEMENT_NETWORK!r}, "
                f"not on {self.network!r}",
            )
        return self


class Bmc(ApiModel):
    """The host's baseboard management controller: used to
    configure RHEV-M power management (IPMI fence agent) and by the operator over IPMI."""

    address: Annotated[HostAddress, xcat("bmc")]
    """The BMC's DNS name or IPv4 address."""
    port: Annotated[int, Field(ge=PORT_MIN, le=PORT_MAX)] = 623
    """The IPMI UDP port, 1 .. 65535. Default 623."""
    credentials_secret: Annotated[SecretName, xcat("bmcusername, bmcpassword")]
    """A Secret in the same namespace with keys username and password."""


class Provision(ApiModel):
    """Before the host is known to RHEV-M, set its boot device and power it on over IPMI
    then wait for it to register."""

    boot_device: Annotated[BootDevice, xcat("rsetboot net")] = "network"
    """network or disk. Default network."""
    power_on: Annotated[bool, xcat("rpower boot")] = True
    """Power the host on. Default true."""


class Fencing(ApiModel):
    """What the operator may do for a dead SPM host."""

    auto_confirm: bool = False
    """Power a non-responsive SPM host off over IPMI and confirm the reboot to RHEV-M, so the
    SPM role moves on. Default false."""


class HypervisorTimeouts(Timeouts):
    """How long the operator waits before it reports Stalled (seconds).

    `operationSeconds` bounds update and remove; `registrationSeconds` the wait for a
    provisioned host to appear in RHEV-M; `hostInstallSeconds` installation until the host
    is up; `maintenanceSeconds` moving to maintenance (VMs migrate away);
    `spmElectionSeconds` the SPM role moving to another host; `engineFencingSeconds` RHEV-M
    fencing a dead SPM host itself."""

    registration_seconds: Annotated[int, Field(ge=1)] = 1800
    """A provisioned (powered-on) host registering with RHEV-M. Default 1800."""
    host_install_seconds: Annotated[int, Field(ge=1)] = 1800
    """Host installation until up. Default 1800."""
    maintenance_seconds: Annotated[int, Field(ge=1)] = 900
    """Reaching maintenance (its VMs migrate away first). Default 900."""
    spm_election_seconds: Annotated[int, Field(ge=1)] = 600
    """Another host taking over the SPM role. Default 600."""
    engine_fencing_seconds: Annotated[int, Field(ge=1)] = 600
    """RHEV-M fencing a dead SPM host itself (grace period, restart through the fence
    agent) before the operator treats the engine's fencing as failed. Default 600."""


class HypervisorSpec(CommonSpec):
    """The desired state of a RHEV-M host."""

    NAME_MAX: ClassVar[int] = HOST_NAME_MAX

    name: Annotated[HostName | None, xcat("the node name of the rhev-h host")] = None
    """The host's name in RHEV-M (at most 255 characters). Default: metadata.name."""
    address: HostAddress
    """The host's DNS name or IPv4 address."""
    cluster: Annotated[Reference, xcat("hostcluster")] = "Default"
    """The RhevCluster (or RHEV-M cluster) of the host. Default: Default."""
    type: Annotated[HostType, xcat("hosttype")] = "rhevh"
    """rhevh (registers itself) or rhel (RHEV-M adds and installs it by address).
    Default rhevh."""
    root_password_secret: SecretName | None = None
    """A Secret with key password: the root password with which RHEV-M installs a rhel host."""
    approve: Annotated[bool, xcat("chhypervisor -a")] = True
    """Approve the host when it is pending_approval. Default true."""
    interfaces: Annotated[
        list[HostInterface],
        xcat(
            "hostinterface; chhypervisor -n",
            **{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["network"]},
        ),
    ] = []
    """Networks on host NICs. When they differ from the host's, the host gets one
    setupnetworks call as it is (Up included, so no VM migrates); only a host the engine
    refuses it for goes to maintenance first and is activated again (per spec.state)."""
    bmc: Annotated[Bmc | None, xcat("bmc, bmcusername, bmcpassword; chhypervisor -p")] = None
    """The host's BMC, for power management and provisioning."""
    provision: Annotated[Provision | None, xcat("rsetboot net, rpower boot")] = None
    """Boot and power the host over IPMI before it is known to RHEV-M (needs bmc)."""
    spm_priority: Annotated[int, Field(ge=SPM_PRIORITY_MIN, le=SPM_PRIORITY_MAX)] | None = None
    """Storage pool manager priority, -1 (never) .. 10. Default: RHEV-M's (5)."""
    state: Annotated[HostState, xcat("chhypervisor -e / -d")] = "up"
    """up (activated) or maintenance. Default up."""
    fencing: Fencing = Field(default_factory=Fencing)
    """What the operator may do when the host, as SPM, stops responding."""
    timeouts: HypervisorTimeouts = Field(default_factory=HypervisorTimeouts)
    """Timeouts in seconds."""

    @model_validator(mode="after")
    def _consistency(self) -> HypervisorSpec:
        for index in duplicates([i.network for i in self.interfaces]):
            raise field_error(
                f"interfaces[{index}].network",
                f"network {self.interfaces[index].network!r} is configured twice",
            )
        if self.type == "rhel" and self.root_password_secret is None and not self.adopt:
            raise field_error(
                "rootPasswordSecret",
                "is required for type rhel: RHEV-M installs a rhel host with its root password",
            )
        if self.provision is not None and self.bmc is None:
            raise field_error("provision", "needs spec.bmc: provisioning works over IPMI")
        if self.fencing.auto_confirm and self.bmc is None:
            raise field_error(
                "fencing.autoConfirm", "needs spec.bmc: the operator powers the host off over IPMI"
            )
        return self


class FencingStatus(StatusModel):
    """Whether RHEV-M itself will fence the host when it stops responding."""

    engine: bool = False
    """True when RHEV-M will fence the host: power management enabled with a fence agent,
    the cluster's fencing policy on, another Up host of the data center as fence proxy."""
    reason: str = ""
    """Why (or why not), in a sentence."""


class HypervisorStatus(CommonStatus):
    """The observed state of the host (state: pending_approval, installing, up, maintenance,
    non_responsive, ...)."""

    spm: Annotated[bool | None, xcat("lsvm <host>: storage_manager")] = None
    """True when the host holds the storage pool manager role."""
    spm_status: str | None = None
    """none, contending or spm."""
    power_state: str | None = None
    """on, off or unknown, as read over IPMI."""
    cluster: str | None = None
    """The name of its cluster in RHEV-M."""
    fencing: FencingStatus | None = None
    """Whether RHEV-M will fence the host itself (see spec.fencing for the operator's part)."""
    attached_networks: list[str] | None = None
    """The networks the operator attached to the host (from spec.interfaces): only these
    are detached when they leave the spec."""


class Hypervisor(Resource):
    """A RHEV-M host."""

    KIND: ClassVar[str] = "Hypervisor"
    XCAT: ClassVar[str] = (
        "a rhev-h node (hostcluster, hostinterface, hostmanager, hosttype); "
        "chhypervisor, rmhypervisor"
    )

    metadata: ObjectMeta
    spec: HypervisorSpec
    status: HypervisorStatus = Field(default_factory=HypervisorStatus)

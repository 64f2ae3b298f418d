"""VirtualMachine [node with mgt=rhevm; `mkvm`, `chvm`, `rmvm`, `rpower`, `rsetboot`,
`rmigrate`, `wvid`]: a VM, its NICs and disks, placement and power state."""

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
    GIB,
    MANAGEMENT_NETWORK,
    MEMORY_GRANULE,
    NAME_PATTERN,
    VM_NAME_MAX,
    VM_NIC_NAME_MAX,
    Quantity,
    Reference,
    VmName,
    duplicates,
    field_error,
)

NicModel = Literal["virtio", "e1000", "rtl8139", "rtl8139_virtio"]
DiskType = Literal["system", "data"]
DiskInterface = Literal["virtio", "ide"]
DiskFormat = Literal["cow", "raw"]
BootDevice = Literal["network", "hd"]
Affinity = Literal["migratable", "user_migratable", "pinned"]
PowerState = Literal["Running", "Stopped", "Suspended"]
Display = Literal["vnc", "spice"]

VmNicName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=VM_NIC_NAME_MAX)
]

DEFAULT_MEMORY = 2 * GIB


class Cpu(ApiModel):
    """The CPU topology [vmcpus S:C]."""

    sockets: Annotated[int, Field(ge=1)] = 1
    """Sockets, >= 1. Default 1."""
    cores: Annotated[int, Field(ge=1)] = 1
    """Cores per socket, >= 1. Default 1."""


class VmNic(ApiModel):
    """A virtual NIC [vmnics net:iface:install, vmnicnicmodel]."""

    name: VmNicName
    """The NIC's name in the VM, e.g. eth0."""
    network: Reference
    """The LogicalNetwork (or RHEV-M network) it is on."""
    model: NicModel = "virtio"
    """virtio, e1000, rtl8139 or rtl8139_virtio. Default virtio."""
    install: bool = False
    """The NIC the VM installs over (its MAC is reported as status.installMac). At most one."""


class VmDisk(ApiModel):
    """A disk [vmstorage sd:size:type, vmstoragemodel]."""

    storage_domain: Reference
    """The StorageDomain (or RHEV-M storage domain) the disk is created on."""
    size: Quantity
    """The disk's size, e.g. 10Gi; > 0."""
    type: DiskType = "data"
    """system (bootable; at most one) or data. Default data."""
    interface: DiskInterface = "virtio"
    """virtio or ide. Default virtio."""
    format: DiskFormat = "cow"
    """cow (thin) or raw (preallocated on block storage). Default cow."""


class Placement(ApiModel):
    """Where the VM runs [vmvirtflags, vmhost]."""

    affinity: Affinity | None = None
    """migratable, user_migratable or pinned. Default: RHEV-M's (migratable)."""
    host: Reference | None = None
    """The Hypervisor (or RHEV-M host) to run on; changing it migrates a running VM
    [rmigrate]. Required for pinned."""

    @model_validator(mode="after")
    def _pinned_needs_host(self) -> Placement:
        if self.affinity == "pinned" and self.host is None:
            raise field_error("host", "is required when affinity is pinned")
        return self


class VirtualMachineTimeouts(Timeouts):
    """How long the operator waits for RHEV-M before it reports Stalled (seconds).

    `operationSeconds` bounds create, update, power actions and remove; `diskCreationSeconds`
    a new disk leaving image_locked; `migrationSeconds` a migration; `shutdownSeconds` a
    graceful shutdown before the VM is stopped hard."""

    disk_creation_seconds: Annotated[int, Field(ge=1)] = 1800
    """A new disk (or a VM from a template) leaving image_locked. Default 1800."""
    migration_seconds: Annotated[int, Field(ge=1)] = 900
    """A migration to placement.host. Default 900."""
    shutdown_seconds: Annotated[int, Field(ge=1)] = 300
    """A graceful shutdown (powerState Stopped) before a hard stop. Default 300."""


def _default_nics() -> list[VmNic]:
    return [VmNic(name="eth0", network=MANAGEMENT_NETWORK, install=True)]


class VirtualMachineSpec(CommonSpec):
    """The desired state of a VM."""

    NAME_MAX: ClassVar[int] = VM_NAME_MAX

    name: VmName | None = None
    """The VM's name in RHEV-M (at most 64 characters). Default: metadata.name."""
    cluster: Reference = "Default"
    """The RhevCluster (or RHEV-M cluster) [vmcluster]. Default: Default."""
    template: Reference = "Blank"
    """The VmTemplate (or RHEV-M template) to create it from [vmmaster]. Default: Blank."""
    cpu: Cpu = Field(default_factory=Cpu)
    """Sockets and cores [vmcpus]. Default 1 socket, 1 core."""
    memory: Quantity = DEFAULT_MEMORY
    """Memory, e.g. 2Gi; > 0 and a whole number of MiB [vmmemory]. Default 2Gi."""
    nics: Annotated[
        list[VmNic],
        Field(
            json_schema_extra={
                "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"],
            }
        ),
    ] = Field(default_factory=_default_nics)
    """Virtual NICs. Default: one eth0 on rhevm, the install NIC."""
    disks: list[VmDisk] = []
    """Disks; at most one of type system, which is bootable."""
    boot_order: Annotated[
        list[BootDevice],
        Field(min_length=1, json_schema_extra={"x-kubernetes-list-type": "set"}),
    ] = ["network"]
    """Boot devices in order: network, hd [vmbootorder, rsetboot]. Default [network]."""
    placement: Placement = Field(default_factory=Placement)
    """Affinity and host [vmvirtflags, vmhost]."""
    power_state: PowerState = "Stopped"
    """Running, Stopped or Suspended [rpower on/off/suspend]. Default Stopped."""
    display: Display | None = None
    """vnc or spice [wvid]. Default: the template's."""
    timeouts: VirtualMachineTimeouts = Field(default_factory=VirtualMachineTimeouts)
    """Operation timeouts in seconds."""

    @model_validator(mode="after")
    def _consistency(self) -> VirtualMachineSpec:
        if self.memory % MEMORY_GRANULE:
            raise field_error(
                "memory", "must be a whole number of MiB (RHEV-M keeps memory in MiB), e.g. 2Gi"
            )
        for index in duplicates([nic.name for nic in self.nics]):
            raise field_error(
                f"nics[{index}].name", f"NIC {self.nics[index].name!r} is listed twice"
            )
        installs = [i for i, nic in enumerate(self.nics) if nic.install]
        if len(installs) > 1:
            raise field_error(
                f"nics[{installs[1]}].install",
                f"at most one NIC may be the install NIC; nics[{installs[0]}] already is",
            )
        systems = [i for i, disk in enumerate(self.disks) if disk.type == "system"]
        if len(systems) > 1:
            raise field_error(
                f"disks[{systems[1]}].type",
                f"at most one disk may be of type system; disks[{systems[0]}] already is "
                "(allowed: system, data)",
            )
        for index in duplicates(list(self.boot_order)):
            raise field_error(f"bootOrder[{index}]", f"{self.boot_order[index]} is listed twice")
        return self

    @property
    def install_nic(self) -> VmNic | None:
        """The install NIC, if any."""
        return next((nic for nic in self.nics if nic.install), None)

    @property
    def system_disk(self) -> VmDisk | None:
        """The system (bootable) disk, if any."""
        return next((disk for disk in self.disks if disk.type == "system"), None)


class VmNicStatus(StatusModel):
    """A NIC as RHEV-M reports it."""

    name: str
    network: str | None = None
    mac: str | None = None


class VmDiskStatus(StatusModel):
    """A disk as RHEV-M reports it."""

    id: str | None = None
    """The disk's RHEV-M id."""
    name: str | None = None
    """Its alias in RHEV-M."""
    storage_domain: str | None = None
    """The storage domain's name."""
    size_bytes: int | None = None
    """Provisioned size in bytes."""
    bootable: bool | None = None
    state: str | None = None
    """ok, locked or illegal."""


class VirtualMachineStatus(CommonStatus):
    """The observed state of the VM (state: down, image_locked, powering_up, up, suspended,
    migrating, ...)."""

    host: str | None = None
    """The host it runs on."""
    install_mac: str | None = None
    """The MAC address of the install NIC."""
    nics: list[VmNicStatus] = []
    """NICs: name, network, MAC."""
    disks: list[VmDiskStatus] = []
    """Disks as RHEV-M reports them."""


class VirtualMachine(Resource):
    """A RHEV-M virtual machine."""

    KIND: ClassVar[str] = "VirtualMachine"

    metadata: ObjectMeta
    spec: VirtualMachineSpec
    status: VirtualMachineStatus = Field(default_factory=VirtualMachineStatus)

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
    xcat,
)

NicModel = Literal["virtio", "e1000", "rtl8139", "rtl8139_virtio"]
DiskType = Literal["system", "data"]
DiskInterface = Literal["virtio", "virtio_scsi", "ide"]
DiskFormat = Literal["cow", "raw"]
BootDevice = Literal["network", "hd"]
Affinity = Literal["migratable", "user_migratable", "pinned"]
PowerState = Literal["Running", "Stopped", "Suspended"]
Display = Literal["vnc", "spice"]

VmNicName = Annotated[
    str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=VM_NIC_NAME_MAX)
]

DEFAULT_MEMORY = 2 * GIB

#: One-time requests, as annotations of a VirtualMachine: a new value asks again; status
#: records the last value done, so a resync or a restart never repeats it.
BOOT_ONCE_ANNOTATION = "rhev.io/boot-once"
"""`network` or `hd`: the next start the operator makes boots once from that device
[`rsetboot`]."""
RESET_ANNOTATION = "rhev.io/reset"
"""Any new token: a running VM is reset (RHEV-M's hard reset) once [`rpower reset`]."""
BOOT_ONCE_DEVICES: tuple[BootDevice, ...] = ("network", "hd")


class Cpu(ApiModel):
    """The CPU topology."""

    sockets: Annotated[int, Field(ge=1), xcat("vmcpus (the S of S:C)")] = 1
    """Sockets, >= 1. Default 1."""
    cores: Annotated[int, Field(ge=1), xcat("vmcpus (the C of S:C)")] = 1
    """Cores per socket, >= 1. Default 1."""


class VmNic(ApiModel):
    """A virtual NIC."""

    name: Annotated[VmNicName, xcat("vmnics (interface name)")]
    """The NIC's name in the VM, e.g. eth0."""
    network: Annotated[Reference, xcat("vmnics (network)")]
    """The LogicalNetwork (or RHEV-M network) it is on."""
    model: Annotated[NicModel, xcat("vmnicnicmodel")] = "virtio"
    """virtio, e1000, rtl8139 or rtl8139_virtio. Default virtio."""
    install: Annotated[bool, xcat("vmnics (installnic)")] = False
    """The NIC the VM installs over (its MAC is reported as status.installMac). At most one."""


class VmDisk(ApiModel):
    """A disk."""

    storage_domain: Annotated[Reference, xcat("vmstorage (storage domain)")]
    """The StorageDomain (or RHEV-M storage domain) the disk is created on."""
    size: Annotated[Quantity, xcat("vmstorage (size)")]
    """The disk's size, e.g. 10Gi; > 0."""
    type: Annotated[DiskType, xcat("vmstorage (disk type)")] = "data"
    """system (bootable; at most one) or data. Default data."""
    interface: Annotated[DiskInterface, xcat("vmstoragemodel (interface)")] = "virtio"
    """virtio, virtio_scsi or ide. Default virtio."""
    format: Annotated[DiskFormat, xcat("vmstoragemodel (format)")] = "cow"
    """cow (thin) or raw (preallocated on block storage). Default cow."""


class Placement(ApiModel):
    """Where the VM runs."""

    affinity: Annotated[Affinity | None, xcat("vmvirtflags placement_affinity")] = None
    """migratable, user_migratable or pinned. Default: RHEV-M's (migratable)."""
    host: Annotated[Reference | None, xcat("vmhost; rmigrate")] = None
    """The Hypervisor (or RHEV-M host) to run on; changing it migrates a running VM.
    Required for pinned."""

    @model_validator(mode="after")
    def _pinned_needs_host(self) -> Placement:
        if self.affinity == "pinned" and self.host is None:
            raise field_error("host", "is required when affinity is pinned")
        return self


#: RHEV-M's HA priority range (the UI's low/medium/high are 1, 50 and 100).
HA_PRIORITY_MIN, HA_PRIORITY_MAX = 0, 100


class HighAvailability(ApiModel):
    """Whether RHEV-M restarts the VM on another host when its host is fenced (or confirmed
    rebooted), and in which order among the cluster's HA VMs."""

    enabled: bool = True
    """The VM is highly available. Default true (set the field to ask for it)."""
    priority: Annotated[int, Field(ge=HA_PRIORITY_MIN, le=HA_PRIORITY_MAX)] | None = None
    """Restart order, 0 .. 100 (higher first). Default: RHEV-M's (0 low, the UI's 1)."""

    @model_validator(mode="after")
    def _priority_needs_ha(self) -> HighAvailability:
        if not self.enabled and self.priority is not None:
            raise field_error("priority", "is meaningful only with enabled: true")
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

    name: Annotated[VmName | None, xcat("the node name of the VM")] = None
    """The VM's name in RHEV-M (at most 64 characters). Default: metadata.name."""
    cluster: Annotated[Reference, xcat("vmcluster")] = "Default"
    """The RhevCluster (or RHEV-M cluster). Default: Default."""
    template: Annotated[Reference, xcat("vmmaster")] = "Blank"
    """The VmTemplate (or RHEV-M template) to create it from. Default: Blank."""
    cpu: Annotated[Cpu, xcat("vmcpus")] = Field(default_factory=Cpu)
    """Sockets and cores. Default 1 socket, 1 core."""
    memory: Annotated[Quantity, xcat("vmmemory")] = DEFAULT_MEMORY
    """Memory, e.g. 2Gi; > 0 and a whole number of MiB. Default 2Gi."""
    nics: Annotated[
        list[VmNic],
        xcat(
            "vmnics, vmnicnicmodel",
            **{"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"]},
        ),
    ] = Field(default_factory=_default_nics)
    """Virtual NICs. Default: one eth0 on rhevm, the install NIC."""
    disks: Annotated[list[VmDisk], xcat("vmstorage, vmstoragemodel")] = []
    """Disks; at most one of type system, which is bootable."""
    boot_order: Annotated[
        list[BootDevice],
        Field(min_length=1),
        xcat("vmbootorder; rsetboot", **{"x-kubernetes-list-type": "set"}),
    ] = ["network"]
    """Boot devices in order: network, hd. Default [network]."""
    placement: Annotated[Placement, xcat("vmvirtflags, vmhost")] = Field(default_factory=Placement)
    """Affinity and host."""
    power_state: Annotated[PowerState, xcat("rpower on/off/suspend")] = "Stopped"
    """Running, Stopped or Suspended. Default Stopped."""
    display: Annotated[Display | None, xcat("wvid")] = None
    """vnc or spice. Default: the template's."""
    high_availability: HighAvailability | None = None
    """RHEV-M restarts the VM elsewhere when its host is fenced. Default: the template's."""
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
    """The NIC's name in the VM."""
    network: str | None = None
    """The network it is on."""
    mac: str | None = None
    """Its MAC address."""


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
    """The VM boots from it (the system disk)."""
    state: str | None = None
    """ok, locked or illegal."""


class VirtualMachineStatus(CommonStatus):
    """The observed state of the VM (state: down, image_locked, powering_up, up, suspended,
    migrating, ...)."""

    host: str | None = None
    """The host it runs on."""
    install_mac: Annotated[str | None, xcat("mac.mac (recorded by mkvm)")] = None
    """The MAC address of the install NIC."""
    nics: list[VmNicStatus] = []
    """NICs: name, network, MAC."""
    disks: list[VmDiskStatus] = []
    """Disks as RHEV-M reports them."""
    boot_once_pending: Annotated[BootDevice | None, xcat("rsetboot (next boot only)")] = None
    """The device of a rhev.io/boot-once annotation waiting for the VM's next start (the VM
    is running, or powerState is not Running); cleared when that start is made."""
    boot_once_done: Annotated[BootDevice | None, xcat("rsetboot (next boot only)")] = None
    """The last rhev.io/boot-once value carried out: the VM was started once from it. Cleared
    when the annotation is removed, so the same device can be asked for again."""
    reset_done: Annotated[str | None, xcat("rpower reset")] = None
    """The last rhev.io/reset token handled: the running VM was reset (a VM that was not
    running is left alone, with a Warning Event). A new token asks again."""


class VirtualMachine(Resource):
    """A RHEV-M virtual machine."""

    KIND: ClassVar[str] = "VirtualMachine"
    XCAT: ClassVar[str] = (
        "a node with mgt=rhevm; mkvm, chvm, rmvm, lsvm, rpower, rsetboot, rmigrate, wvid"
    )

    metadata: ObjectMeta
    spec: VirtualMachineSpec
    status: VirtualMachineStatus = Field(default_factory=VirtualMachineStatus)

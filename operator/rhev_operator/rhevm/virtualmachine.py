"""Virtual machines: ``/vms``, their disk attachments, NICs and graphics consoles, and the
actions start (with a one-time boot device)/stop/shutdown/suspend/reboot/reset/migrate."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import Field, model_validator

from rhev_operator.rhevm import errors, xmlio
from rhev_operator.rhevm._base import (
    ActionResult,
    Collection,
    CrudCollection,
    DetailedCollection,
    Frozen,
    Input,
    check_action,
    one_of,
    ref,
)
from rhev_operator.rhevm.disk import DISK_WRITE, Disk, DiskCreate, Disks

__all__ = [
    "DETAIL_FOLLOW",
    "AttachedDisk",
    "DiskAttachment",
    "DiskAttachmentCreate",
    "DiskAttachmentUpdate",
    "DiskAttachments",
    "GraphicsConsole",
    "Ticket",
    "Vm",
    "VmCreate",
    "VmDetail",
    "VmGraphicsConsoles",
    "VmNic",
    "VmNicCreate",
    "VmNicUpdate",
    "VmNics",
    "VmUpdate",
    "Vms",
]


class Vm(Frozen):
    id: str
    name: str
    description: str | None = None
    comment: str | None = None
    status: str | None = None
    status_detail: str | None = None
    stop_reason: str | None = None
    type: str | None = None
    memory: int | None = None
    memory_guaranteed: int | None = None
    memory_max: int | None = None
    cpu_sockets: int | None = None
    cpu_cores: int | None = None
    cpu_threads: int | None = None
    os_type: str | None = None
    boot_devices: tuple[str, ...] = ()
    display_type: str | None = None
    high_availability: bool | None = None
    high_availability_priority: int | None = None
    stateless: bool | None = None
    delete_protected: bool | None = None
    cluster_id: str | None = None
    template_id: str | None = None
    original_template_id: str | None = None
    host_id: str | None = None
    placement_affinity: str | None = None
    placement_host_ids: tuple[str, ...] = ()
    start_time: str | None = None
    stop_time: str | None = None
    creation_time: str | None = None
    next_run_configuration_exists: bool | None = None
    run_once: bool | None = None


_VM_PATHS: dict[str, str] = {
    "memory_guaranteed": "memory_policy/guaranteed",
    "memory_max": "memory_policy/max",
    "cpu_sockets": "cpu/topology/sockets",
    "cpu_cores": "cpu/topology/cores",
    "cpu_threads": "cpu/topology/threads",
    "os_type": "os/type",
    "boot_devices": "os/boot/devices/device",
    "display_type": "display/type",
    "high_availability": "high_availability/enabled",
    "high_availability_priority": "high_availability/priority",
    "cluster_id": "cluster/@id",
    "cluster_name": "cluster/name",
    "template_id": "template/@id",
    "template_name": "template/name",
    "original_template_id": "original_template/@id",
    "host_id": "host/@id",
    "placement_affinity": "placement_policy/affinity",
}
_VM_READ: xmlio.ReadSpec = {
    **_VM_PATHS,
    "boot_devices": xmlio.read_texts("os/boot/devices/device"),
    "placement_host_ids": xmlio.read_ids("placement_policy/hosts/host"),
}

BOOT_DEVICES = ("hd", "network", "cdrom")
AFFINITIES = ("migratable", "user_migratable", "pinned")


class _VmFields(Input):
    description: str | None = None
    comment: str | None = None
    type: str | None = None
    memory: int | None = Field(default=None, gt=0)
    memory_guaranteed: int | None = Field(default=None, gt=0)
    memory_max: int | None = Field(default=None, gt=0)
    cpu_sockets: int | None = Field(default=None, ge=1)
    cpu_cores: int | None = Field(default=None, ge=1)
    cpu_threads: int | None = Field(default=None, ge=1)
    os_type: str | None = None
    boot_devices: tuple[str, ...] | None = None
    display_type: str | None = None
    high_availability: bool | None = None
    high_availability_priority: int | None = None
    stateless: bool | None = None
    delete_protected: bool | None = None
    placement_affinity: str | None = None
    placement_host_ids: tuple[str, ...] | None = None
    placement_host_names: tuple[str, ...] | None = None

    @model_validator(mode="after")
    def _enums(self) -> _VmFields:
        for dev in self.boot_devices or ():
            if dev not in BOOT_DEVICES:
                raise ValueError(f"boot_devices: {dev!r} is not one of {', '.join(BOOT_DEVICES)}")
        if self.placement_affinity not in (None, *AFFINITIES):
            raise ValueError(
                f"placement_affinity: must be one of {', '.join(AFFINITIES)}, "
                f"got {self.placement_affinity!r}"
            )
        one_of(
            "placement_host_ids",
            self.placement_host_ids,
            "placement_host_names",
            self.placement_host_names,
            required=False,
        )
        return self


def _placement_ref(attr: str) -> xmlio.WriteSpec:
    def writer(el: xmlio.Element, values: tuple[str, ...]) -> None:
        holder = el.find("placement_policy")
        if holder is None:
            holder = xmlio.new("placement_policy")
            el.append(holder)
        hosts = xmlio.new("hosts")
        for value in values:
            host = ref("host", value, None) if attr == "id" else ref("host", None, value)
            if host is not None:
                hosts.append(host)
        holder.append(hosts)

    return {f"placement_host_{attr}s": writer}


_VM_WRITE: xmlio.WriteSpec = {**_VM_PATHS, **_placement_ref("id"), **_placement_ref("name")}


class VmCreate(_VmFields):
    name: str = Field(min_length=1)
    cluster_id: str | None = None
    cluster_name: str | None = None
    template_id: str | None = None
    template_name: str | None = None

    @model_validator(mode="after")
    def _refs(self) -> VmCreate:
        one_of("cluster_id", self.cluster_id, "cluster_name", self.cluster_name)
        one_of("template_id", self.template_id, "template_name", self.template_name)
        return self


class VmUpdate(_VmFields):
    name: str | None = Field(default=None, min_length=1)
    cluster_id: str | None = None


class DiskAttachment(Frozen):
    id: str
    disk_id: str | None = None
    vm_id: str | None = None
    bootable: bool | None = None
    interface: str | None = None
    active: bool | None = None
    pass_discard: bool | None = None
    read_only: bool | None = None
    logical_name: str | None = None


INTERFACES = ("ide", "virtio", "virtio_scsi", "sata", "spapr_vscsi")


class _DiskAttachmentFields(Input):
    interface: str | None = None
    bootable: bool | None = None
    active: bool | None = None
    pass_discard: bool | None = None
    read_only: bool | None = None

    @model_validator(mode="after")
    def _interface(self) -> _DiskAttachmentFields:
        if self.interface not in (None, *INTERFACES):
            raise ValueError(
                f"interface: must be one of {', '.join(INTERFACES)}, got {self.interface!r}"
            )
        return self


class DiskAttachmentCreate(_DiskAttachmentFields):
    """Attach ``disk_id`` (an existing disk) or create ``disk`` and attach it."""

    interface: str
    disk_id: str | None = None
    disk: DiskCreate | None = None

    @model_validator(mode="after")
    def _check(self) -> DiskAttachmentCreate:
        one_of("disk_id", self.disk_id, "disk", self.disk)
        return self


def _write_disk(el: xmlio.Element, disk: DiskCreate) -> None:
    el.append(xmlio.write_model("disk", disk, DISK_WRITE))


class DiskAttachmentUpdate(_DiskAttachmentFields):
    """Only the fields set are sent."""


class DiskAttachments(Collection[DiskAttachment]):
    """``/vms/{id}/diskattachments``."""

    tag = "disk_attachment"
    plural = "disk_attachments"
    model = DiskAttachment
    read_spec = {"disk_id": "disk/@id", "vm_id": "vm/@id"}
    write_spec = {"disk_id": "disk/@id", "disk": _write_disk}

    def add(self, data: DiskAttachmentCreate, correlation_id: str | None = None) -> DiskAttachment:
        return self._add(data, correlation_id)

    def update(
        self, attachment_id: str, data: DiskAttachmentUpdate, correlation_id: str | None = None
    ) -> DiskAttachment:
        return self._update(attachment_id, data, correlation_id)

    def remove(
        self, attachment_id: str, detach_only: bool = False, correlation_id: str | None = None
    ) -> None:
        """Detach (``detach_only``) or detach and delete the disk."""
        self._remove(attachment_id, correlation_id, {"detach_only": detach_only})


class VmNic(Frozen):
    id: str
    name: str
    description: str | None = None
    interface: str | None = None
    mac: str | None = None
    linked: bool | None = None
    plugged: bool | None = None
    vnic_profile_id: str | None = None
    vm_id: str | None = None


NIC_MODELS = ("virtio", "e1000", "e1000e", "rtl8139", "rtl8139_virtio", "spapr_vlan")


class _VmNicFields(Input):
    name: str | None = Field(default=None, min_length=1)
    description: str | None = None
    interface: str | None = None
    vnic_profile_id: str | None = None
    mac: str | None = None
    linked: bool | None = None
    plugged: bool | None = None

    @model_validator(mode="after")
    def _check(self) -> _VmNicFields:
        if self.interface not in (None, *NIC_MODELS):
            raise ValueError(
                f"interface: must be one of {', '.join(NIC_MODELS)}, got {self.interface!r}"
            )
        return self


class VmNicCreate(_VmNicFields):
    name: str = Field(min_length=1)


class VmNicUpdate(_VmNicFields):
    """Only the fields set are sent."""


_NIC_PATHS: dict[str, str] = {
    "mac": "mac/address",
    "vnic_profile_id": "vnic_profile/@id",
    "vm_id": "vm/@id",
}


class VmNics(CrudCollection[VmNic, VmNicCreate, VmNicUpdate]):
    """``/vms/{id}/nics``."""

    tag = "nic"
    plural = "nics"
    model = VmNic
    read_spec = _NIC_PATHS
    write_spec = _NIC_PATHS


class AttachedDisk(DiskAttachment):
    """A disk attachment with its disk inlined (``follow=disk_attachments.disk``);
    ``disk`` is None when the engine did not inline it."""

    disk: Disk | None = None


class VmDetail(Vm):
    """A VM read with ``follow=disk_attachments.disk,nics``: one list call brings every VM's
    disks (status, size, domain) and NICs (MAC, vNIC profile) (the `follow` parameter)."""

    disk_attachments: tuple[AttachedDisk, ...] = ()
    nics: tuple[VmNic, ...] = ()


#: What ``Vms.list_detailed`` inlines.
DETAIL_FOLLOW = "disk_attachments.disk,nics"


def _attached(el: xmlio.Element) -> AttachedDisk:
    attachment = DiskAttachments.parse(el)
    disk_el = el.find("disk")
    # A bare reference (<disk id=.. href=../>) has no children: not inlined.
    disk = Disks.parse(disk_el) if disk_el is not None and len(disk_el) else None
    return AttachedDisk(**attachment.model_dump(), disk=disk)


class GraphicsConsole(Frozen):
    """A graphics console of a VM (``/vms/{id}/graphicsconsoles``): its protocol (spice or
    vnc) and, read with ``current=true`` while the VM runs, where it listens."""

    id: str
    protocol: str | None = None
    address: str | None = None
    port: int | None = None
    tls_port: int | None = None


class Ticket(Frozen):
    """A console ticket: the one-time password and how many seconds it is valid.

    Secret: never log it or put it in status or Events."""

    value: str = Field(repr=False)
    expiry: int | None = None


class VmGraphicsConsoles(Collection[GraphicsConsole]):
    """``/vms/{id}/graphicsconsoles`` and the console actions ``ticket`` and
    ``remoteviewerconnectionfile``."""

    tag = "graphics_console"
    plural = "graphics_consoles"
    model = GraphicsConsole

    def list_current(self) -> list[GraphicsConsole]:
        """The consoles of the running VM with address and ports (``current=true``); without
        it the engine lists the configured protocols only."""
        return self._list_as(self.parse, {"current": "true"})

    def _post(self, console_id: str, verb: str, body: xmlio.Element) -> xmlio.Element | None:
        path = f"{self._item(console_id)}/{verb}"
        cid = self._cid(None)
        reply = self._s.request("POST", path, params={"correlation_id": cid}, body=body)
        check_action(reply, "POST", f"{self._s.api_path}/{path}", cid)
        return reply.root

    def ticket(self, console_id: str, expiry: int | None = None) -> Ticket:
        """A new console ticket (the engine makes the password; ``expiry`` in seconds,
        the engine's default 7200)."""
        body = xmlio.action()
        xmlio.set_path(body, "ticket/expiry", expiry)
        root = self._post(console_id, "ticket", body)
        value = xmlio.get(root, "ticket/value") if root is not None else None
        if not value:
            raise errors.ProtocolError(f"POST {self.path}/ticket: the answer has no ticket")
        expires = xmlio.get(root, "ticket/expiry") if root is not None else None
        return Ticket(value=value, expiry=int(expires) if expires else None)

    def remote_viewer_connection_file(self, console_id: str) -> str | None:
        """The remote-viewer (.vv) file of the console, with a new ticket in it; None when the
        engine has none (it answers 204 when the VM is not running). Secret, like a ticket."""
        root = self._post(console_id, "remoteviewerconnectionfile", xmlio.action())
        if root is None:
            return None
        return xmlio.get(root, "remote_viewer_connection_file")


class Vms(DetailedCollection[Vm, VmDetail]):
    tag = "vm"
    plural = "vms"
    model = Vm
    searchable = True
    read_spec = _VM_READ
    write_spec = _VM_WRITE
    detail_follow = DETAIL_FOLLOW

    @classmethod
    def parse_detail(cls, el: xmlio.Element) -> VmDetail:
        return VmDetail(
            **cls.parse(el).model_dump(),
            disk_attachments=tuple(
                _attached(a) for a in el.iterfind("disk_attachments/disk_attachment")
            ),
            nics=tuple(VmNics.parse(n) for n in el.iterfind("nics/nic")),
        )

    def add(
        self, data: VmCreate, clone: bool | None = None, correlation_id: str | None = None
    ) -> Vm:
        return self._add(data, correlation_id, {"clone": clone})

    def update(
        self,
        vm_id: str,
        data: VmUpdate,
        next_run: bool | None = None,
        correlation_id: str | None = None,
    ) -> Vm:
        """``next_run``: store the change for the next start instead of applying it now."""
        return self._update(vm_id, data, correlation_id, {"next_run": next_run})

    def remove(
        self,
        vm_id: str,
        force: bool = False,
        detach_only: bool = False,
        correlation_id: str | None = None,
    ) -> None:
        params = {"force": True if force else None, "detach_only": True if detach_only else None}
        self._remove(vm_id, correlation_id, params)

    def disk_attachments(self, vm_id: str) -> DiskAttachments:
        return DiskAttachments(self._s, f"{self._item(vm_id)}/diskattachments")

    def nics(self, vm_id: str) -> VmNics:
        return VmNics(self._s, f"{self._item(vm_id)}/nics")

    def graphics_consoles(self, vm_id: str) -> VmGraphicsConsoles:
        return VmGraphicsConsoles(self._s, f"{self._item(vm_id)}/graphicsconsoles")

    # --- actions ---

    def start(
        self,
        vm_id: str,
        pause: bool | None = None,
        boot_devices: Sequence[str] | None = None,
        correlation_id: str | None = None,
    ) -> ActionResult:
        """Start the VM; with ``boot_devices`` this one start boots from them (the engine's
        Run Once: the VM's own boot order is unchanged, ``run_once`` is true while it runs)."""
        body = xmlio.action(pause=pause)
        if boot_devices:
            for device in boot_devices:
                if device not in BOOT_DEVICES:
                    raise ValueError(f"boot device: one of {', '.join(BOOT_DEVICES)}")
            xmlio.set_path(body, "vm/os/boot/devices/device", list(boot_devices))
        return self._action(vm_id, "start", correlation_id, body)

    def stop(
        self, vm_id: str, force: bool | None = None, correlation_id: str | None = None
    ) -> ActionResult:
        return self._action(vm_id, "stop", correlation_id, xmlio.action(force=force))

    def shutdown(
        self,
        vm_id: str,
        force: bool | None = None,
        reason: str | None = None,
        correlation_id: str | None = None,
    ) -> ActionResult:
        body = xmlio.action(force=force, reason=reason)
        return self._action(vm_id, "shutdown", correlation_id, body)

    def suspend(self, vm_id: str, correlation_id: str | None = None) -> ActionResult:
        return self._action(vm_id, "suspend", correlation_id)

    def reboot(self, vm_id: str, correlation_id: str | None = None) -> ActionResult:
        return self._action(vm_id, "reboot", correlation_id)

    def reset(self, vm_id: str, correlation_id: str | None = None) -> ActionResult:
        """A hard reset of the running VM (the engine's ResetVm; cluster level 4.6+)."""
        return self._action(vm_id, "reset", correlation_id)

    def migrate(
        self,
        vm_id: str,
        host_id: str | None = None,
        host_name: str | None = None,
        force: bool | None = None,
        correlation_id: str | None = None,
    ) -> ActionResult:
        """Migrate to ``host_id``/``host_name``, or let the scheduler choose when neither."""
        one_of("host_id", host_id, "host_name", host_name, required=False)
        body = xmlio.action(host=ref("host", host_id, host_name), force=force)
        return self._action(vm_id, "migrate", correlation_id, body)

    def cancel_migration(self, vm_id: str, correlation_id: str | None = None) -> ActionResult:
        return self._action(vm_id, "cancelmigration", correlation_id)

"""The VM configuration that templates and VMs share: fields, parsing, rendering, inventory."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import TYPE_CHECKING, Any

from lxml import etree

from rhevsim import errors
from rhevsim.api import (
    Request,
)
from rhevsim.disk.entity import parse_size
from rhevsim.event import CODES
from rhevsim.inventory import InventoryError
from rhevsim.model import Ctx, Entity
from rhevsim.xmlutil import Element, boolean, enum, integer, text, xml_bool

if TYPE_CHECKING:
    pass


BLANK_TEMPLATE_ID = "00000000-0000-0000-0000-000000000000"


STATUSES = ("ok", "locked", "illegal")


MIB = 1024 * 1024


GIB = 1024 * MIB


BOOT_DEVICES = ("hd", "network", "cdrom")


DISPLAY_TYPES = ("vnc", "spice")


VM_TYPES = ("desktop", "server", "high_performance")


AFFINITIES = ("migratable", "user_migratable", "pinned")


CODES.update(
    {
        "USER_ADD_VM_TEMPLATE": 48,
        "USER_UPDATE_VM_TEMPLATE": 49,
        "USER_REMOVE_VM_TEMPLATE": 50,
        "USER_ADD_VM_TEMPLATE_FINISHED_SUCCESS": 51,
        "USER_ADD_VM_TEMPLATE_FINISHED_FAILURE": 52,
        "USER_REMOVE_VM_TEMPLATE_FINISHED": 251,
    }
)


TIMINGS = {"template.remove": 3.0}


@dataclass
class VmConfig:
    """The part of a VM that a template carries and that `next_run` may stage."""

    memory: int = GIB
    memory_guaranteed: int | None = None  # None: same as memory
    memory_max: int | None = None  # None: 4 x memory (the engine's default)
    ballooning: bool = True
    sockets: int = 1
    cores: int = 1
    threads: int = 1
    os_type: str = "other"
    boot_devices: list[str] = field(default_factory=lambda: ["hd"])
    display_type: str = "vnc"
    vm_type: str = "server"
    high_availability: bool = False
    ha_priority: int = 0
    stateless: bool = False
    delete_protected: bool = False
    placement_affinity: str = "migratable"
    placement_host_ids: list[str] = field(default_factory=list)

    def copy(self) -> VmConfig:
        return replace(
            self,
            boot_devices=list(self.boot_devices),
            placement_host_ids=list(self.placement_host_ids),
        )

    def diff(self, other: VmConfig) -> set[str]:
        return {f.name for f in fields(self) if getattr(self, f.name) != getattr(other, f.name)}


def parse_config(
    req: Request, body: Element | None, base: VmConfig, action: str, type_name: str
) -> VmConfig:
    """A copy of `base` with what the `<vm>`/`<template>` body sets (400 on bad values)."""
    cfg = base.copy()
    mem = integer(body, "memory")
    if mem is not None:
        if mem <= 0:
            raise errors.bad_request(
                f"Cannot {action} {type_name}. Memory size must be a positive number."
            )
        cfg.memory = mem
    for key, path in (
        ("memory_guaranteed", "memory_policy/guaranteed"),
        ("memory_max", "memory_policy/max"),
    ):
        v = integer(body, path)
        if v is not None:
            setattr(cfg, key, v)
    b = boolean(body, "memory_policy/ballooning")
    if b is not None:
        cfg.ballooning = b
    if (cfg.memory_guaranteed or 0) > cfg.memory:
        raise errors.bad_request(
            f"Cannot {action} {type_name}. Physical Memory Guaranteed cannot exceed Memory Size."
        )
    if cfg.memory_max is not None and cfg.memory_max < cfg.memory:
        raise errors.bad_request(
            f"Cannot {action} {type_name}. Maximum memory size cannot be smaller than memory size."
        )
    for key in ("sockets", "cores", "threads"):
        v = integer(body, f"cpu/topology/{key}")
        if v is not None:
            if v < 1:
                raise errors.bad_request(
                    f"Cannot {action} {type_name}. The number of {key} must be at least 1."
                )
            setattr(cfg, key, v)
    if cfg.sockets * cfg.cores * cfg.threads > 384:
        raise errors.conflict(f"Cannot {action} {type_name}. Maximum number of CPUs exceeded.")
    os_type = text(body, "os/type")
    if os_type:
        cfg.os_type = os_type
    devs = body.find("os/boot/devices") if body is not None else None
    if devs is not None:
        cfg.boot_devices = [
            enum(d, ".", BOOT_DEVICES, "BootDevice") or "hd" for d in devs.findall("device")
        ]
    display = enum(body, "display/type", DISPLAY_TYPES, "DisplayType")
    if display:
        cfg.display_type = display
    vm_type = enum(body, "type", VM_TYPES, "VmType")
    if vm_type:
        cfg.vm_type = vm_type
    ha = boolean(body, "high_availability/enabled")
    if ha is not None:
        cfg.high_availability = ha
    prio = integer(body, "high_availability/priority")
    if prio is not None:
        cfg.ha_priority = prio
    for key in ("stateless", "delete_protected"):
        v = boolean(body, key)
        if v is not None:
            setattr(cfg, key, v)
    pp = body.find("placement_policy") if body is not None else None
    if pp is not None:
        aff = enum(pp, "affinity", AFFINITIES, "VmAffinity")
        if aff:
            cfg.placement_affinity = aff
        hosts_el = pp.find("hosts")
        if hosts_el is not None:
            cfg.placement_host_ids = [_resolve_host(req, h).id for h in hosts_el.findall("host")]
    return cfg


def _resolve_host(req: Request, el: Element) -> Entity:
    ident = el.get("id")
    name = text(el, "name")
    table = req.reg.objects.get("host", {})
    if ident:
        h = table.get(ident)
        if h is None:
            raise errors.entity_not_found("Host", "id", ident)
        return h
    for h in table.values():
        if h.name == name:
            return h
    raise errors.entity_not_found("Host", "name", name or "")


def render_config(ctx: Ctx, el: Element, cfg: VmConfig, arch: str = "x86_64") -> None:
    """The configuration elements in the engine's order (bios .. usb)."""
    sub = etree.SubElement
    bios = sub(el, "bios")
    sub(sub(bios, "boot_menu"), "enabled").text = "false"
    sub(bios, "type").text = "q35_ovmf"
    cpu = sub(el, "cpu")
    sub(cpu, "architecture").text = arch
    topo = sub(cpu, "topology")
    sub(topo, "cores").text = str(cfg.cores)
    sub(topo, "sockets").text = str(cfg.sockets)
    sub(topo, "threads").text = str(cfg.threads)
    sub(el, "cpu_shares").text = "0"
    sub(el, "delete_protected").text = xml_bool(cfg.delete_protected)
    disp = sub(el, "display")
    sub(disp, "allow_override").text = "false"
    sub(disp, "copy_paste_enabled").text = "true"
    sub(disp, "disconnect_action").text = "LOCK_SCREEN"
    sub(disp, "file_transfer_enabled").text = "true"
    sub(disp, "monitors").text = "1"
    sub(disp, "single_qxl_pci").text = "false"
    sub(disp, "smartcard_enabled").text = "false"
    sub(disp, "type").text = cfg.display_type
    ha = sub(el, "high_availability")
    sub(ha, "enabled").text = xml_bool(cfg.high_availability)
    sub(ha, "priority").text = str(cfg.ha_priority)
    sub(sub(el, "io"), "threads").text = "1"
    sub(el, "memory").text = str(cfg.memory)
    mp = sub(el, "memory_policy")
    sub(mp, "ballooning").text = xml_bool(cfg.ballooning)
    sub(mp, "guaranteed").text = str(
        cfg.memory if cfg.memory_guaranteed is None else cfg.memory_guaranteed
    )
    sub(mp, "max").text = str(cfg.memory * 4 if cfg.memory_max is None else cfg.memory_max)
    sub(el, "migration_downtime").text = "-1"
    sub(el, "multi_queues_enabled").text = "true"
    sub(el, "origin").text = "ovirt"
    os_el = sub(el, "os")
    devs = sub(sub(os_el, "boot"), "devices")
    for d in cfg.boot_devices:
        sub(devs, "device").text = d
    sub(os_el, "type").text = cfg.os_type
    pp = sub(el, "placement_policy")
    sub(pp, "affinity").text = cfg.placement_affinity
    if cfg.placement_host_ids:
        hosts = sub(pp, "hosts")
        for hid in cfg.placement_host_ids:
            ctx.ref_id(hosts, "host", "hosts", hid)
    sso = sub(sub(el, "sso"), "methods")
    sub(sso, "method", {"id": "guest_agent"})
    sub(el, "stateless").text = xml_bool(cfg.stateless)
    sub(el, "type").text = cfg.vm_type
    sub(sub(el, "usb"), "enabled").text = "false"


def config_from_inventory(d: dict[str, Any], where: str, base: VmConfig) -> VmConfig:
    cfg = base.copy()
    if "memory" in d:
        cfg.memory = parse_size(d["memory"], f"{where}.memory")
    cpu = d.get("cpu") or {}
    if not isinstance(cpu, dict):
        raise InventoryError(f"{where}.cpu: expected {{sockets, cores, threads}}")
    for key in ("sockets", "cores", "threads"):
        if key in cpu:
            if not isinstance(cpu[key], int) or cpu[key] < 1:
                raise InventoryError(f"{where}.cpu.{key}: expected an integer >= 1")
            setattr(cfg, key, cpu[key])
    if d.get("os"):
        cfg.os_type = str(d["os"])
    if "boot" in d:
        boot = d["boot"] if isinstance(d["boot"], list) else [d["boot"]]
        for b in boot:
            if b not in BOOT_DEVICES:
                raise InventoryError(f"{where}.boot: {b!r} is not one of {BOOT_DEVICES}")
        cfg.boot_devices = [str(b) for b in boot]
    for key, attr, allowed in (
        ("display", "display_type", DISPLAY_TYPES),
        ("type", "vm_type", VM_TYPES),
    ):
        if key in d:
            if d[key] not in allowed:
                raise InventoryError(f"{where}.{key}: {d[key]!r} is not one of {allowed}")
            setattr(cfg, attr, str(d[key]))
    if "high_availability" in d:
        cfg.high_availability = bool(d["high_availability"])
    return cfg

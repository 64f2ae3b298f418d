"""Physical machines: a powered or booted machine installs, registers or stops answering."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rhevsim.cluster import Cluster
from rhevsim.event import CODES
from rhevsim.hypervisor.crud import new_host
from rhevsim.hypervisor.host import Host, is_powered, machine_of, reachable
from rhevsim.hypervisor.status import connect_host, go_unresponsive, new_flow, set_status, step_host

if TYPE_CHECKING:
    from rhevsim.registry import Machine, Registry


def machine_power_changed(reg: Registry, m: Machine) -> None:
    h = next((x for x in reg.all(Host) if x.machine == m.name), None)
    if not m.powered_on:
        if h is not None:
            if h.fail_mode == "machine":
                h.failed = False  # a hung machine loses its hang with its power
            if h.status in ("maintenance",) and h.lock is None:
                h.admin_maintenance = True
            go_unresponsive(reg, h)
        return
    if m.boot_device == "network":
        _network_boot(reg, m, h)
    elif h is not None and h.status in ("non_responsive", "connecting", "reboot", "down"):
        if h.status == "down":
            set_status(reg, h, "reboot")
        new_flow(reg, h)
        step_host(reg, h, "host.boot", lambda: connect_host(reg, h) if reachable(reg, h) else None)
    elif h is not None and h.status == "maintenance":
        pass  # stays in maintenance; it answers again


def _network_boot(reg: Registry, m: Machine, h: Host | None) -> None:
    """PXE: the machine installs RHEV-H and registers itself (pending_approval)."""

    def registered() -> None:
        if not m.powered_on:
            return
        host = next((x for x in reg.all(Host) if x.machine == m.name), None)
        if host is None:
            host = new_host(reg, m.name, m.address or m.name, _default_cluster(reg), machine=m)
            host.host_type = "rhev_h"
            reg.event(
                CODES["VDS_DETECTED"],
                f"Status of host {host.name} was set to PendingApproval.",
                user=None,
                host=host,
            )
            host.status = "pending_approval"
        else:
            new_flow(reg, host)
            host.admin_maintenance = False
            set_status(reg, host, "pending_approval")
        # A freshly installed node is on the disk now: the next boot is from disk.
        m.boot_device = "disk"

    if h is not None:
        new_flow(reg, h)
    reg.schedule("host.register", registered, f"register {m.name}")


def _default_cluster(reg: Registry) -> Cluster | None:
    return reg.by_name(Cluster, "Default") or next(iter(reg.all(Cluster)), None)


def host_fail(reg: Registry, name: str, mode: str = "machine") -> bool:
    """The host stops answering the engine: "machine" (dead, the default) or "network"
    (cut off from the engine; it still renews its storage lease)."""
    h = reg.by_name(Host, name)
    if h is None:
        return False
    h.failed = True
    h.fail_mode = mode
    go_unresponsive(reg, h)
    return True


def host_heal(reg: Registry, name: str) -> bool:
    h = reg.by_name(Host, name)
    if h is None:
        return False
    h.failed = False
    h.fail_mode = "machine"
    if h.status in ("connecting", "non_responsive") and is_powered(reg, h):
        connect_host(reg, h)
    return True


def set_power(reg: Registry, h: Host, on: bool) -> None:
    m = machine_of(reg, h)
    if m is None:
        h.virtual_power = on
        return
    if m.powered_on != on:
        m.powered_on = on
        if on:
            m.boot_device = "disk" if m.boot_device == "network" else m.boot_device

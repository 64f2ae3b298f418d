"""The simulator's Run Once boot device, reset and graphics consoles, through the official
SDK (ovirtsdk4) and through the operator's client, on the manual clock."""

from __future__ import annotations

import configparser
from collections.abc import Callable, Iterator
from typing import Any

import ovirtsdk4 as sdk
import pytest

from rhev_operator.rhevm import ConnectionConfig, RhevmClient, errors
from rhevsim.testing import SimHandle
from tests.sim.test_sim_vm_sdk import _new_vm, _wait
from tests.sim.test_sim_vm_support import INVENTORY

types = sdk.types
SPICE = "7370696365"  # "spice" in hex, the engine's console id


@pytest.fixture
def sim(simulator_factory: Callable[..., SimHandle]) -> SimHandle:
    return simulator_factory(INVENTORY, seed=9)


@pytest.fixture
def conn(sim: SimHandle) -> Iterator[Any]:
    c = sdk.Connection(url=sim.api_url, username="admin@internal", password="admin")
    yield c
    c.close()


@pytest.fixture
def client(sim: SimHandle) -> Iterator[RhevmClient]:
    c = RhevmClient(ConnectionConfig(url=sim.api_url, username="admin@internal", password="admin"))
    yield c
    c.close()


def _boot(client: RhevmClient, vm_id: str, current: bool) -> list[str]:
    reply = client.session.request("GET", f"vms/{vm_id}", params={"current": str(current).lower()})
    assert reply.root is not None
    return [d.text or "" for d in reply.root.iterfind("os/boot/devices/device")]


def test_a_run_once_boots_from_its_device_and_leaves_the_boot_order(
    conn: Any, sim: SimHandle, client: RhevmClient
) -> None:
    svc = _new_vm(conn, sim, "once")  # boot order [hd]
    svc.start(
        vm=types.Vm(os=types.OperatingSystem(boot=types.Boot(devices=[types.BootDevice.NETWORK])))
    )
    _wait(sim, svc.get, types.VmStatus.UP)
    vm = svc.get()
    assert vm.run_once is True
    assert [d for d in vm.os.boot.devices] == [types.BootDevice.HD]  # the VM's own, unchanged
    assert _boot(client, vm.id, current=True) == ["network"]  # this run's
    assert _boot(client, vm.id, current=False) == ["hd"]
    jobs = [j.description for j in conn.system_service().jobs_service().list()]
    assert "Launching VM once in run-once mode" in jobs
    svc.stop()
    _wait(sim, svc.get, types.VmStatus.DOWN)
    assert svc.get().run_once is False
    # A plain start boots as configured again.
    client.vms.start(vm.id)
    _wait(sim, svc.get, types.VmStatus.UP)
    assert svc.get().run_once is False and _boot(client, vm.id, current=True) == ["hd"]
    with pytest.raises(ValueError, match="boot device"):
        client.vms.start(vm.id, boot_devices=["floppy"])  # the client refuses it
    svc.stop()
    _wait(sim, svc.get, types.VmStatus.DOWN)
    client.vms.start(vm.id, boot_devices=["network"])
    _wait(sim, svc.get, types.VmStatus.UP)
    assert svc.get().run_once is True and _boot(client, vm.id, current=True) == ["network"]


def test_reset_is_a_hard_reset_of_a_running_vm_only(conn: Any, sim: SimHandle) -> None:
    svc = _new_vm(conn, sim, "rst")
    with pytest.raises(sdk.Error) as exc:
        svc.reset()
    assert "Cannot reset VM because the VM is in Down status." in str(exc.value)
    assert exc.value.code == 409
    svc.start()
    _wait(sim, svc.get, types.VmStatus.UP)
    started = svc.get().start_time
    svc.reset()
    vm = svc.get()
    assert vm.status == types.VmStatus.UP and vm.start_time == started
    assert sim.find("vm", "rst").resets == 1
    events = conn.system_service().events_service().list(search="vm.name=rst")
    assert any(e.code == 221 and "is resetting" in e.description for e in events)


def test_sdk_lists_consoles_and_gets_a_ticket_and_a_remote_viewer_file(
    conn: Any, sim: SimHandle
) -> None:
    svc = _new_vm(conn, sim, "con")
    svc.update(types.Vm(display=types.Display(type=types.DisplayType.SPICE)))
    consoles = svc.graphics_consoles_service()
    (configured,) = consoles.list()
    assert configured.id == SPICE and configured.protocol == types.GraphicsType.SPICE
    assert configured.address is None and configured.port is None
    assert consoles.list(current=True) == []  # not running: no console yet
    console = consoles.console_service(SPICE)
    with pytest.raises(sdk.Error) as exc:
        console.ticket()
    assert "Cannot set Virtual Machine Ticket because the VM is in Down status." in str(exc.value)
    with pytest.raises(sdk.Error):
        console.remote_viewer_connection_file()  # the engine answers 204, no file

    svc.start()
    _wait(sim, svc.get, types.VmStatus.UP)
    host = conn.follow_link(svc.get().host)
    (current,) = consoles.list(current=True)
    assert current.address == host.address and current.port >= 5900
    assert current.tls_port == current.port + 1
    ticket = console.ticket()
    assert len(ticket.value) == 8 and ticket.expiry == 7200
    mine = console.ticket(ticket=types.Ticket(value="chosen", expiry=120))
    assert (mine.value, mine.expiry) == ("chosen", 120)

    text = console.remote_viewer_connection_file()
    vv = configparser.ConfigParser(interpolation=None)
    vv.read_string(text)
    viewer = vv["virt-viewer"]
    assert viewer["type"] == "spice" and viewer["host"] == host.address
    assert int(viewer["port"]) == current.port and int(viewer["tls-port"]) == current.tls_port
    assert viewer["password"] and viewer["password"] != "chosen"
    assert viewer["title"] == "con" and viewer["delete-this-file"] == "1"
    assert vv["ovirt"]["vm-guid"] == svc.get().id


def test_the_client_reads_consoles_tickets_and_files_and_never_logs_a_ticket(
    conn: Any, sim: SimHandle, client: RhevmClient, caplog: pytest.LogCaptureFixture
) -> None:
    svc = _new_vm(conn, sim, "cli")  # display vnc, the default
    vm_id = svc.get().id
    consoles = client.vms.graphics_consoles(vm_id)
    assert consoles.list_current() == []
    (vnc,) = consoles.list()
    assert vnc.protocol == "vnc"
    assert consoles.remote_viewer_connection_file(vnc.id) is None
    with pytest.raises(errors.RhevmError, match="Down status"):
        consoles.ticket(vnc.id, expiry=120)

    svc.start()
    _wait(sim, svc.get, types.VmStatus.UP)
    (current,) = consoles.list_current()
    assert current.address in ("10.0.0.11", "10.0.0.12") and current.tls_port is None
    client.session.trace = True
    with caplog.at_level("DEBUG"):
        ticket = consoles.ticket(current.id, expiry=120)
        text = consoles.remote_viewer_connection_file(current.id)
    assert ticket.expiry == 120 and ticket.value not in repr(ticket)
    assert text is not None and "type=vnc" in text
    password = configparser.ConfigParser(interpolation=None)
    password.read_string(text)
    logged = caplog.text
    assert "ticket" in logged  # the exchange was traced ...
    assert ticket.value not in logged and password["virt-viewer"]["password"] not in logged

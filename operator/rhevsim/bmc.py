"""Simulated BMCs: real IPMI over UDP (pyghmi's server side), one per physical machine.

Run as ``python -m rhevsim.bmc --sim-url URL --machine NAME:PORT:USER:PASSWORD [...]``: one process
serves one BMC per machine on 127.0.0.1, all driven by pyghmi's single event loop. It prints
``rhevsim-bmc listening`` when every port is bound and one line per IPMI call
(``[vm0:16230] power_on``).

With ``--sim-url`` the BMC is only an IPMI front: power state and boot device live in the
simulator (``GET /sim/machines/{name}``, ``POST /sim/machines/{name}/power`` and ``/boot``).
Without it each BMC keeps the state itself (standalone mode, like pyghmi's ``fakebmc``).

Why a separate process: pyghmi keeps its sockets and session tables in class attributes, so a
BMC server and an IPMI client in one process share them and hang. :func:`spawn` starts this
module as a subprocess.

Two fixes over pyghmi 1.6.19's server, done here by subclassing (never by editing pyghmi):

* its server always answers an RMCP+ open-session request with cipher suite 3 (SHA-1), while
  its client proposes SHA-256 first and only falls back when the BMC *rejects* the proposal;
  accepting silently makes the client crash in RAKP2 (``struct.error``). We reject anything but
  suite 3 with RMCP+ status 0x11, so the client retries with SHA-1;
* its server ignores the persistent/UEFI boot flags and treats unknown users by silence (the
  client then waits for its timeout); we track the flags and answer RAKP2 "unauthorized name".
"""

from __future__ import annotations

import argparse
import collections
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pyghmi.ipmi.bmc as pyghmi_bmc
import pyghmi.ipmi.private.constants as ipmi_constants
import pyghmi.ipmi.private.serversession as serversession
import pyghmi.ipmi.private.session as ipmisession
import requests

from rhevsim.bmcbackend import (
    BackendError,
    BootSetting,
    LocalBackend,
    MachineBackend,
    MachineSpec,
    SimulatorBackend,
    parse_port,
)

log = logging.getLogger("rhevsim.bmc")

READY_LINE = "rhevsim-bmc listening"
BIND_ADDRESS = "127.0.0.1"
LOOP_WAIT = 0.02  # seconds; bounds the delay of pyghmi's lost wake-ups (see serve)

# IPMI completion codes (IPMI 2.0 table 5-2).
CC_OK = 0x00
CC_INVALID_DATA = 0xCC
CC_NOT_IN_PRESENT_STATE = 0xD5
CC_PARAM_NOT_SUPPORTED = 0x80
CC_UNSPECIFIED = 0xFF

# RMCP+ status codes (IPMI 2.0 table 13-15).
RMCP_UNAUTHORIZED_NAME = 0x0D
RMCP_NO_CIPHER_SUITE_MATCH = 0x11

# Boot device selector, bits 5:2 of boot flags data 2 (IPMI 2.0 table 28-14).
_DEVICE_CODES = {
    "default": 0x00,
    "network": 0x04,
    "hd": 0x08,
    "optical": 0x14,
    "setup": 0x18,
    "floppy": 0x3C,
}
_CODE_TO_DEVICE = {code >> 2: name for name, code in _DEVICE_CODES.items()}

_BOOT_VALID = 0x80
_BOOT_PERSISTENT = 0x40
_BOOT_UEFI = 0x20


def _log(line: str) -> None:
    print(line, flush=True)


class _StrictSession(serversession.ServerSession):  # type: ignore[misc]
    """Server session that refuses cipher suites it cannot speak and unknown users."""

    def create_open_session_response(self, request: bytearray | bytes) -> bytearray:
        # Open-session request (IPMI 2.0 table 13-16): algorithm bytes at 12, 20 and 28.
        auth, integrity, confidentiality = request[12], request[20], request[28]
        if (auth, integrity, confidentiality) != (1, 1, 1):
            # Status 0x11 "no cipher suite match": pyghmi's client then retries with suite 3.
            self.clientsessionid = request[4:8]
            return bytearray([request[0], RMCP_NO_CIPHER_SUITE_MATCH, 0, 0]) + bytearray(
                request[4:8]
            )
        response: bytearray = super().create_open_session_response(request)
        return response

    def _got_rakp1(self, data: bytearray) -> None:
        namepresent = data[27]
        username = bytes(data[28:]).decode("utf-8", "replace") if namepresent else ""
        if not username or self.authdata.get(username) is None:
            # Answer like a real BMC instead of staying silent until the client times out.
            _log(f"[{self.bmc.label}] login refused: unknown user {username!r}")
            message = bytearray([data[0], RMCP_UNAUTHORIZED_NAME, 0, 0]) + bytearray(
                self.clientsessionid
            )
            self.send_payload(message, ipmi_constants.payload_types["rakp2"], retry=False)
            return
        super()._got_rakp1(data)


class SimBmc(pyghmi_bmc.Bmc):  # type: ignore[misc]
    """One simulated BMC: IPMI chassis power and boot options for one machine."""

    def __init__(self, spec: MachineSpec, backend: MachineBackend) -> None:
        super().__init__({spec.username: spec.password}, port=spec.port, address=BIND_ADDRESS)
        self.name = spec.name
        self.label = f"{spec.name}:{spec.port}"
        self.backend = backend
        self.garbage = spec.garbage
        self.mfgid = 343  # Intel's IANA number: looks like a real board to clients
        self.prodid = 0x0100

    # -- session set-up ------------------------------------------------------------------------

    def sessionless_data(self, data: bytes, sockaddr: Any) -> None:
        raw = bytearray(data)
        if self.garbage:  # fault: an answer that is no RMCP/IPMI at all
            _log(f"[{self.label}] answered garbage")
            self.serversocket.sendto(b"\x06\x00\xff\x07<html>not a BMC</html>\xfe\xfd", sockaddr)
            return
        # An RMCP+ open-session request (IPMI 2.0 payload type 0x10) starts our stricter session.
        if len(raw) >= 22 and raw[0] == 6 and raw[2:4] == b"\xff\x07" and raw[4:6] == b"\x06\x10":
            _StrictSession(
                self.authdata, self.kg, sockaddr, self.serversocket, raw[16:], self.uuid, bmc=self
            )
            return
        super().sessionless_data(data, sockaddr)

    # -- chassis ---------------------------------------------------------------------------------

    def _answer(self, session: Any, call: str, action: Any) -> None:
        """Run one backend action and answer the IPMI request with its data or an error code."""
        try:
            result = action()
        except BackendError as exc:
            _log(f"[{self.label}] {call} failed: {exc}")
            session.send_ipmi_response(code=CC_UNSPECIFIED)
            return
        if isinstance(result, int):
            _log(f"[{self.label}] {call} refused: completion code {result:#04x}")
            session.send_ipmi_response(code=result)
        else:
            session.send_ipmi_response(data=result or [])

    def get_chassis_status(self, session: Any) -> None:
        def action() -> list[int]:
            on = self.backend.power()
            _log(f"[{self.label}] get_power_state -> {'on' if on else 'off'}")
            return [1 if on else 0, 0, 0]

        self._answer(session, "get_power_state", action)

    def control_chassis(self, request: dict[str, Any], session: Any) -> None:
        directive = request["data"][0] if request["data"] else -1
        names = {
            0: "power_off",
            1: "power_on",
            2: "power_cycle",
            3: "power_reset",
            5: "power_shutdown",
        }
        call = names.get(directive, f"chassis_control({directive})")

        def action() -> list[int] | int:
            if directive not in names:
                return CC_INVALID_DATA
            _log(f"[{self.label}] {call}")
            if directive in (0, 5):
                self.backend.set_power(False)
            elif directive == 1:
                self.backend.set_power(True)
            else:  # cycle and reset need a running machine, as on most real BMCs
                if not self.backend.power():
                    return CC_NOT_IN_PRESENT_STATE
                self.backend.set_power(False)
                self.backend.set_power(True)
            return []

        self._answer(session, call, action)

    # -- boot options ----------------------------------------------------------------------------

    def get_system_boot_options(self, request: dict[str, Any], session: Any) -> None:
        if not request["data"] or request["data"][0] & 0x7F != 5:
            session.send_ipmi_response(code=CC_PARAM_NOT_SUPPORTED)
            return

        def action() -> list[int]:
            setting = self.backend.boot()
            _log(
                f"[{self.label}] get_boot_device -> {setting.device} "
                f"persistent={setting.persistent}"
            )
            if setting.device == "default":
                return [1, 5, 0, 0, 0, 0, 0]
            flags = _BOOT_VALID
            if setting.persistent:
                flags |= _BOOT_PERSISTENT
            if setting.uefi:
                flags |= _BOOT_UEFI
            return [1, 5, flags, _DEVICE_CODES[setting.device], 0, 0, 0]

        self._answer(session, "get_boot_device", action)

    def set_system_boot_options(self, request: dict[str, Any], session: Any) -> None:
        data = request["data"]
        if not data:
            session.send_ipmi_response(code=CC_INVALID_DATA)
            return
        selector = data[0] & 0x7F
        if selector in (0, 3, 4):  # set-in-progress, info acknowledge: nothing to keep
            session.send_ipmi_response()
            return
        if selector != 5 or len(data) < 3:
            session.send_ipmi_response(code=CC_PARAM_NOT_SUPPORTED)
            return
        flags, device_byte = data[1], data[2]
        if not flags & _BOOT_VALID:
            setting = BootSetting("default")
        else:
            device = _CODE_TO_DEVICE.get((device_byte >> 2) & 0x0F)
            if device is None:
                _log(f"[{self.label}] set_boot_device refused: device code {device_byte:#04x}")
                session.send_ipmi_response(code=CC_INVALID_DATA)
                return
            setting = BootSetting(
                device, persistent=bool(flags & _BOOT_PERSISTENT), uefi=bool(flags & _BOOT_UEFI)
            )

        def action() -> list[int]:
            _log(f"[{self.label}] set_boot_device {setting.device} persistent={setting.persistent}")
            self.backend.set_boot(setting)
            return []

        self._answer(session, "set_boot_device", action)

    def cold_reset(self) -> int:
        _log(f"[{self.label}] cold_reset (ignored)")
        return CC_OK


def serve(
    machines: Sequence[MachineSpec],
    sim_url: str | None = None,
    http_timeout: float = 3.0,
    parent_pid: int | None = None,
) -> None:
    """Bind one BMC per machine, print the ready line, and run pyghmi's loop forever."""
    http = requests.Session()
    bmcs = []
    for spec in machines:
        backend: MachineBackend = (
            SimulatorBackend(sim_url, spec.name, http, http_timeout) if sim_url else LocalBackend()
        )
        bmcs.append(SimBmc(spec, backend))
    labels = ", ".join(b.label for b in bmcs)
    mode = f"simulator {sim_url}" if sim_url else "standalone"
    _log(f"{READY_LINE} ({len(bmcs)} BMCs on {BIND_ADDRESS}: {labels}; {mode})")
    while True:
        # Short waits: pyghmi's IO thread can take a packet just before this loop registers
        # as a waiter (a lost wake-up), and the packet then sits until the wait times out.
        ipmisession.Session.wait_for_rsp(timeout=LOOP_WAIT)
        # Exit with the parent: an orphaned BMC would keep its UDP ports.
        if parent_pid is not None and os.getppid() != parent_pid:
            _log("parent gone, exiting")
            return


def _check_unique(machines: Iterable[MachineSpec]) -> None:
    names: set[str] = set()
    ports: set[int] = set()
    for spec in machines:
        if spec.name in names:
            raise ValueError(f"machine name {spec.name!r} is given twice")
        if spec.port in ports:
            raise ValueError(f"BMC port {spec.port} is given twice")
        names.add(spec.name)
        ports.add(spec.port)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rhevsim.bmc",
        description="Simulated BMCs (IPMI over UDP on 127.0.0.1), one per machine.",
    )
    parser.add_argument("--sim-url", help="rhevsim base URL; without it, standalone state")
    parser.add_argument(
        "--machine",
        action="append",
        default=[],
        metavar="NAME:PORT:USER:PASSWORD",
        help="one BMC (repeatable)",
    )
    parser.add_argument(
        "--machines-stdin",
        action="store_true",
        help="read a JSON list of {name, port, username, password} from stdin "
        "(keeps passwords off the command line)",
    )
    parser.add_argument("--parent-pid", type=int, help="exit when this process is gone")
    parser.add_argument(
        "--http-timeout", type=float, default=3.0, help="seconds per simulator request (default 3)"
    )
    args = parser.parse_args(argv)
    try:
        machines = [MachineSpec.parse(text) for text in args.machine]
        if args.machines_stdin:
            for entry in json.loads(sys.stdin.read()):
                machines.append(
                    MachineSpec(
                        str(entry["name"]),
                        parse_port(entry["port"], f"{entry['name']}.port"),
                        str(entry["username"]),
                        str(entry["password"]),
                        garbage=entry.get("garbage") is True,
                    )
                )
        if not machines:
            raise ValueError(
                "no machines: give --machine NAME:PORT:USER:PASSWORD or --machines-stdin"
            )
        _check_unique(machines)
    except (ValueError, KeyError, json.JSONDecodeError) as exc:
        parser.error(str(exc))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        serve(machines, args.sim_url, args.http_timeout, args.parent_pid)
    except OSError as exc:  # typically a port already in use
        print(f"rhevsim-bmc: cannot bind: {exc}", file=sys.stderr, flush=True)
        return 1
    return 0


# -- starting the process from the simulator or tests ---------------------------------------------


class BmcProcess(subprocess.Popen[str]):
    """The BMC subprocess; ``lines`` keeps its recent output (the call log) for assertions."""

    lines: collections.deque[str]
    ports: dict[str, int]

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 5.0) -> str:
        """Wait (bounded) until an output line satisfies ``predicate``; return it. Lines arrive
        through a pipe, so a line may show up shortly after the IPMI answer it logs."""
        deadline = time.monotonic() + timeout
        while True:
            for line in list(self.lines):
                if predicate(line):
                    return line
            if time.monotonic() >= deadline:
                raise TimeoutError(f"no matching BMC output line within {timeout} s")
            time.sleep(0.01)

    def wait_for_line(self, fragment: str, timeout: float = 5.0) -> str:
        """Wait (bounded) until an output line contains ``fragment``; return it."""
        return self.wait_for(lambda line: fragment in line, timeout)

    def stop(self, timeout: float = 5.0) -> None:
        if self.poll() is None:
            self.terminate()
            try:
                self.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                self.wait(timeout)


def spawn(
    sim_url: str | None,
    machines: Sequence[dict[str, Any]],
    timeout: float = 15.0,
    keep_lines: int = 5000,
    echo: bool = False,
) -> BmcProcess:
    """Start ``python -m rhevsim.bmc`` for inventory ``machines:`` entries and wait (bounded)
    for its ready line. ``sim_url=None`` runs the BMCs standalone. Raises RuntimeError if the
    process exits or does not become ready within ``timeout`` seconds."""
    specs = [MachineSpec.from_inventory(entry) for entry in machines]
    _check_unique(specs)
    command = [
        sys.executable,
        "-u",
        "-m",
        "rhevsim.bmc",
        "--machines-stdin",
        "--parent-pid",
        str(os.getpid()),
    ]
    if sim_url:
        command += ["--sim-url", sim_url]
    process = BmcProcess(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    process.lines = collections.deque(maxlen=keep_lines)
    process.ports = {spec.name: spec.port for spec in specs}
    assert process.stdin is not None and process.stdout is not None
    process.stdin.write(json.dumps([spec.as_json() for spec in specs]))
    process.stdin.close()
    ready = threading.Event()
    seen_ready: list[bool] = []
    stdout = process.stdout

    def drain() -> None:
        # Always read the pipe: a full pipe would block the BMC's prints and so its loop.
        for raw in stdout:
            line = raw.rstrip("\n")
            process.lines.append(line)
            # Reads are frequent (the operator polls power state): keep them at debug level.
            log.log(logging.DEBUG if "] get_" in line else logging.INFO, "%s", line)
            if echo:
                print(line, file=sys.stderr)
            if line.startswith(READY_LINE):
                seen_ready.append(True)
                ready.set()
        ready.set()  # EOF: the process is gone

    threading.Thread(target=drain, name="rhevsim-bmc-output", daemon=True).start()
    if not ready.wait(timeout) or not seen_ready:
        process.stop()
        output = "\n".join(process.lines)
        raise RuntimeError(f"rhevsim-bmc did not become ready within {timeout} s:\n{output}")
    return process


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["BmcProcess", "MachineSpec", "SimBmc", "main", "serve", "spawn"]

"""The operator's IPMI client: chassis power and boot device of one BMC, on pyghmi.

Synchronous by design (pyghmi is): call it from a thread, e.g. ``await asyncio.to_thread(...)``.

pyghmi keeps sessions in process-wide tables, with sharp edges (measured against pyghmi's
server side) that this module hides:

* one session per (address, port, user, password) per process: ``Session.__new__`` hands
  every later ``Command`` for that key the first session object ever made for it, from its
  ``initting_sessions`` table. pyghmi never removes the entry (``_mark_broken`` tries, with the
  user and password as bytes while the key holds str), so a second ``Command`` gets a session
  that is logged in (and waits forever for a login that is not coming) or broken (and fails
  with "Session no longer connected" after ~20 s). So every key gets one cached ``Command``
  shared by all :class:`BmcClient` objects for it, and only once its session is broken (or its
  login failed) do we drop the table entry ourselves and log in afresh;
* ``ipmi_session.logout()`` poisons that cache, so it is never called: after a credential
  change the client simply moves to the new key (:meth:`BmcClient.update_credentials`);
* concurrent calls through one session retransmit and crawl, so calls are serialised per
  target with a lock whose wait is bounded.

Known pyghmi limit: when sessions to two unanswering BMCs time out at the same moment in two
threads (one logging in, one in a command), pyghmi's shared event loop has been seen to stall
for over 50 s (about 1 run in 20 of such a test). Healthy BMCs in parallel threads are fine.

Bounded waits: a login with no answer gives up after about 5.6 s (pyghmi's own retransmits), a
command on an established session after about 5.7 s (see ``_new_command``), and waiting for
another caller's turn on the same BMC after ``lock_timeout``.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeVar

from pyghmi import exceptions as pyghmi_exceptions
from pyghmi.ipmi import command as pyghmi_command
from pyghmi.ipmi.private import session as pyghmi_session

from rhev_operator import metrics
from rhev_operator.ipmi.errors import (
    IpmiAuthError,
    IpmiBusy,
    IpmiCommandError,
    IpmiError,
    IpmiUnreachable,
)

log = logging.getLogger(__name__)

PowerState = Literal["on", "off"]

#: Boot devices the operator may set, with their IPMI boot-flags device selector (data 2).
BOOT_DEVICES: dict[str, int] = {"network": 0x04, "disk": 0x08, "cd": 0x14, "default": 0x00}
# Device selector (bits 5:2) -> name when reading back; 3 is "disk, safe mode".
_SELECTOR_NAMES = {
    0: "default",
    1: "network",
    2: "disk",
    3: "disk",
    5: "cd",
    6: "bios",
    15: "floppy",
}

# IPMI netfn/commands (chassis netfn 0, IPMI 2.0 section 28).
_CHASSIS = 0x00
_GET_CHASSIS_STATUS = 0x01
_CHASSIS_CONTROL = 0x02
_SET_BOOT_OPTIONS = 0x08
_GET_BOOT_OPTIONS = 0x09
_POWER_OFF, _POWER_ON, _HARD_RESET, _SOFT_OFF = 0x00, 0x01, 0x03, 0x05
_BOOT_FLAGS = 5
_FLAG_VALID, _FLAG_PERSISTENT, _FLAG_UEFI = 0x80, 0x40, 0x20

# IPMI 2.0 limits (RAKP user name 16 bytes, password 20 bytes).
_MAX_USERNAME, _MAX_PASSWORD = 16, 20

# pyghmi's retransmit ceiling (s) for commands on an established session; see _new_command.
_RETRY_CEILING = 3

# First wait (s) for an answer to a read before pyghmi retransmits; see _raw.
_READ_FIRST_WAIT = 0.2

# pyghmi's login errors that mean "these credentials are refused".
_AUTH_MARKERS = ("Incorrect password", "Unauthorized name", "Unauthorized role", "Invalid role")
# pyghmi's wording when a session has gone (retries exhausted).
_GONE_MARKERS = ("timeout", "Session no longer connected")

_T = TypeVar("_T")


@dataclass(frozen=True)
class BootDevice:
    """The BMC's boot override: ``device`` (network, disk, cd, default, ...) and whether it
    applies to every boot (``persistent``) or only the next one. ``default`` means no
    override (the firmware's own order)."""

    device: str
    persistent: bool = False


class PowerController(Protocol):
    """What the operator needs from a hypervisor's BMC."""

    def power_state(self) -> PowerState: ...

    def power_on(self) -> None: ...

    def power_off(self) -> None: ...

    def reset(self) -> None: ...

    def set_boot_device(self, device: str, persistent: bool = False) -> None: ...

    def boot_device(self) -> BootDevice: ...


_Key = tuple[str, int, str, str]


class _Slot:
    """One pyghmi session target: its cached Command and the lock serialising its calls."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.command: Any = None


class BmcSessions:
    """The session table of one owner: a slot (cached ``Command`` and call lock) per pyghmi
    session target. pyghmi's own table is process-wide, so every :class:`BmcClient` of one
    process for one target must go through one ``BmcSessions``: the operator makes one at
    start and hands it to every client it creates; callers that pass none share
    :data:`SHARED_SESSIONS`.

    :meth:`release` drops a target's slots once nothing uses them; a slot whose session is
    alive is kept, since pyghmi would hand that session to the next login for the target
    (see the module notes)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._slots: dict[_Key, _Slot] = {}

    def __len__(self) -> int:
        with self._lock:
            return len(self._slots)

    def get(self, key: _Key) -> _Slot | None:
        with self._lock:
            return self._slots.get(key)

    def slot_for(self, key: _Key) -> _Slot:
        with self._lock:
            slot = self._slots.get(key)
            if slot is None:
                slot = self._slots[key] = _Slot()
            return slot

    def release(self, address: str, port: int) -> None:
        """Forget the slots of a target that no call holds and whose session is gone (never
        made, or broken)."""
        with self._lock:
            for key in [k for k in self._slots if k[:2] == (address, port)]:
                slot = self._slots[key]
                if not slot.lock.acquire(blocking=False):
                    continue
                try:
                    if slot.command is None or slot.command.ipmi_session.broken:
                        if slot.command is not None:
                            _forget_session(key)
                        del self._slots[key]
                finally:
                    slot.lock.release()


#: The table of clients made without one (command-line tools, tests): see BmcSessions.
SHARED_SESSIONS = BmcSessions()


def _forget_session(key: _Key) -> None:
    """Drop pyghmi's table entry for a broken session so the next ``Command`` logs in again
    (what ``Session._mark_broken`` means to do). Only for broken sessions: a live one would
    keep running beside the new one."""
    address, port, username, password = key
    pyghmi_session.Session.initting_sessions.pop((address, username, password, port, None), None)


def _validate(address: str, port: int, username: str, password: str) -> None:
    if not isinstance(address, str) or not address.strip():
        raise ValueError("bmc.address must be a non-empty host name or IP address")
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError(f"bmc.port must be an integer 1-65535, got {port!r}")
    if not isinstance(username, str) or not username:
        raise ValueError("bmc username must be a non-empty string")
    if len(username.encode()) > _MAX_USERNAME:
        raise ValueError(f"bmc username must be at most {_MAX_USERNAME} bytes (IPMI limit)")
    if not isinstance(password, str) or not password:
        raise ValueError("bmc password must be a non-empty string")
    if len(password.encode()) > _MAX_PASSWORD:
        raise ValueError(f"bmc password must be at most {_MAX_PASSWORD} bytes (IPMI 2.0 limit)")


class BmcClient:
    """IPMI power and boot control of one BMC. Thread-safe; every method blocks.

    Errors: :class:`IpmiAuthError` (credentials refused), :class:`IpmiUnreachable` (no answer),
    :class:`IpmiCommandError` (BMC refused a command), :class:`IpmiBusy` (another call held the
    BMC longer than ``lock_timeout``); all are :class:`IpmiError`.
    """

    def __init__(
        self,
        address: str,
        username: str,
        password: str,
        port: int = 623,
        *,
        lock_timeout: float = 60.0,
        sessions: BmcSessions | None = None,
    ) -> None:
        _validate(address, port, username, password)
        self.sessions = sessions if sessions is not None else SHARED_SESSIONS
        self.address = address
        self.port = port
        self.lock_timeout = lock_timeout
        self._username = username
        self._password = password
        self._cred_lock = threading.Lock()

    def __repr__(self) -> str:  # never the password
        return f"BmcClient({self.target}, user={self._username!r})"

    @property
    def target(self) -> str:
        return f"{self.address}:{self.port}"

    @property
    def username(self) -> str:
        return self._username

    def _key(self) -> _Key:
        with self._cred_lock:
            return (self.address, self.port, self._username, self._password)

    # -- session management ----------------------------------------------------------------------

    def update_credentials(self, username: str, password: str) -> None:
        """Use new credentials from the next call on. The old session is left alone (logging it
        out would poison pyghmi's cache); switching back later reuses it if still healthy."""
        _validate(self.address, self.port, username, password)
        with self._cred_lock:
            self._username, self._password = username, password

    def _new_command(self, key: _Key) -> Any:
        address, port, username, password = key
        log.debug("IPMI login to %s as %s", self.target, username)
        try:
            command = pyghmi_command.Command(
                bmc=address, userid=username, password=password, port=port
            )
        except BaseException:
            _forget_session(key)
            raise
        session = command.ipmi_session
        if session.broken:  # joined a failed login: never use it
            _forget_session(key)
            raise IpmiError(self.target, "login failed: stale pyghmi session")
        # After a command goes unanswered pyghmi would log in again inside the call, but that
        # path stalls (its nested privilege request waits out the outer command's deadline):
        # ~21 s to heal a restarted BMC, ~29 s to give up on a dead one. Without it a command
        # gives up after ~5.7 s (retransmits at ~0.9, 1.9, 2.9 s), the session is marked broken
        # and the next call logs in afresh in milliseconds.
        session.logontries = 0
        session.maxtimeout = _RETRY_CEILING
        return command

    def _login(self, key: _Key) -> Any:
        username = key[2]
        try:
            return self._new_command(key)
        except socket.gaierror as exc:
            raise IpmiUnreachable(self.target, f"cannot resolve address: {exc}") from None
        except pyghmi_exceptions.IpmiException as exc:
            text = str(exc) if exc.args and exc.args[0] else ""
            if any(marker in text for marker in _AUTH_MARKERS):
                raise IpmiAuthError(
                    self.target, f"credentials for user {username!r} refused: {text}"
                ) from None
            if not text or any(marker in text for marker in _GONE_MARKERS):
                raise IpmiUnreachable(self.target, "no answer to IPMI login") from None
            raise IpmiError(self.target, f"login failed: {text}") from None
        except OSError as exc:
            raise IpmiUnreachable(self.target, f"network error: {exc}") from None

    def _run(self, operation: str, fn: Callable[[Any], _T]) -> _T:
        result = "error"
        try:
            value = self._run_locked(operation, fn)
            result = "ok"
            return value
        except IpmiBusy:
            result = "busy"
            raise
        except IpmiUnreachable:
            result = "unreachable"
            raise
        except IpmiAuthError:
            result = "auth"
            raise
        finally:
            metrics.ipmi_call(operation, result)

    def _run_locked(self, operation: str, fn: Callable[[Any], _T]) -> _T:
        key = self._key()
        slot = self.sessions.slot_for(key)
        if not slot.lock.acquire(timeout=self.lock_timeout):
            raise IpmiBusy(
                self.target, f"{operation}: another call held the BMC for {self.lock_timeout} s"
            )
        try:
            if slot.command is not None and slot.command.ipmi_session.broken:
                slot.command = None
                _forget_session(key)
            if slot.command is None:
                slot.command = self._login(key)
            command = slot.command
            try:
                return fn(command)
            except pyghmi_exceptions.IpmiException as exc:
                text = str(exc) if exc.args and exc.args[0] else "no answer"
                if any(marker in text for marker in _GONE_MARKERS):
                    raise IpmiUnreachable(self.target, f"{operation}: {text}") from None
                raise IpmiError(self.target, f"{operation}: {text}") from None
            finally:
                if command.ipmi_session.broken:
                    slot.command = None
                    _forget_session(key)
        finally:
            slot.lock.release()

    def _raw(self, command: Any, operation: str, cmd: int, data: tuple[int, ...] = ()) -> bytes:
        # Reads get a short first wait: pyghmi's IO thread sometimes takes the answer before the
        # caller is registered as its waiter (a lost wake-up), and the caller then sleeps until
        # the retransmit timer (0.5-1 s) although the answer is already queued. A read is safe to
        # resend if the BMC really is slow; a chassis control keeps pyghmi's longer timer.
        first_wait = _READ_FIRST_WAIT if cmd in (_GET_CHASSIS_STATUS, _GET_BOOT_OPTIONS) else None
        response = command.raw_command(netfn=_CHASSIS, command=cmd, data=data, timeout=first_wait)
        if "error" in response:
            code = int(response.get("code", 0xFF))
            text = str(response["error"])
            if code == 0xFFFF or text in _GONE_MARKERS:
                raise IpmiUnreachable(self.target, f"{operation}: no answer ({text})")
            raise IpmiCommandError(self.target, f"{operation}: {text}", code)
        return bytes(response.get("data", b""))

    # -- power -----------------------------------------------------------------------------------

    def power_state(self) -> PowerState:
        """``"on"`` or ``"off"`` (Get Chassis Status, current power state bit)."""

        def fn(command: Any) -> PowerState:
            data = self._raw(command, "power_state", _GET_CHASSIS_STATUS)
            if not data:
                raise IpmiError(self.target, "power_state: empty chassis status")
            return "on" if data[0] & 0x01 else "off"

        return self._run("power_state", fn)

    def _chassis_control(self, operation: str, directive: int) -> None:
        log.info("IPMI %s on %s", operation, self.target)
        self._run(operation, lambda c: self._raw(c, operation, _CHASSIS_CONTROL, (directive,)))

    def power_on(self) -> None:
        """Power up (a no-op on a machine that is already on)."""
        self._chassis_control("power_on", _POWER_ON)

    def power_off(self) -> None:
        """Hard power down, without waiting for the OS."""
        self._chassis_control("power_off", _POWER_OFF)

    def shutdown(self) -> None:
        """Soft power down: the BMC asks the OS to shut down (ACPI)."""
        self._chassis_control("shutdown", _SOFT_OFF)

    def reset(self) -> None:
        """Hard reset a running machine; a machine that is off is powered on instead (many BMCs
        refuse a reset when off)."""

        def fn(command: Any) -> None:
            status = self._raw(command, "reset", _GET_CHASSIS_STATUS)
            directive = _HARD_RESET if status and status[0] & 0x01 else _POWER_ON
            log.info(
                "IPMI %s on %s", "reset" if directive == _HARD_RESET else "power_on", self.target
            )
            self._raw(command, "reset", _CHASSIS_CONTROL, (directive,))

        self._run("reset", fn)

    # -- boot device -----------------------------------------------------------------------------

    def set_boot_device(self, device: str, persistent: bool = False, uefi: bool = False) -> None:
        """Set the boot override: ``network``, ``disk``, ``cd``, or ``default`` (clear it).
        Without ``persistent`` it applies to the next boot only."""
        if device not in BOOT_DEVICES:
            allowed = ", ".join(BOOT_DEVICES)
            raise ValueError(f"boot device {device!r} is not allowed; use one of: {allowed}")
        if device == "default":
            flags = 0
        else:
            flags = _FLAG_VALID
            if persistent:
                flags |= _FLAG_PERSISTENT
            if uefi:
                flags |= _FLAG_UEFI
        log.info("IPMI set_boot_device %s persistent=%s on %s", device, persistent, self.target)

        def fn(command: Any) -> None:
            # Acknowledge boot info first, as ipmitool and pyghmi do, then write the flags.
            self._raw(command, "set_boot_device", _SET_BOOT_OPTIONS, (3, 8))
            self._raw(
                command,
                "set_boot_device",
                _SET_BOOT_OPTIONS,
                (_BOOT_FLAGS, flags, BOOT_DEVICES[device], 0, 0, 0),
            )

        self._run("set_boot_device", fn)

    def boot_device(self) -> BootDevice:
        """The current boot override (Get System Boot Options, boot flags parameter)."""

        def fn(command: Any) -> BootDevice:
            data = self._raw(command, "boot_device", _GET_BOOT_OPTIONS, (_BOOT_FLAGS, 0, 0))
            if len(data) < 4 or data[1] & 0x7F != _BOOT_FLAGS:
                raise IpmiError(self.target, "boot_device: malformed boot flags answer")
            flags = data[2]
            if data[1] & 0x80 or not flags & _FLAG_VALID:
                return BootDevice("default", persistent=False)
            selector = (data[3] >> 2) & 0x0F
            name = _SELECTOR_NAMES.get(selector, f"selector-{selector}")
            return BootDevice(name, persistent=bool(flags & _FLAG_PERSISTENT))

        return self._run("boot_device", fn)

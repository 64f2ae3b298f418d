"""The machines behind the simulated BMCs: what a BMC serves (`MachineSpec`) and where the
machine's power state and boot device live (`LocalBackend` in the BMC process itself,
`SimulatorBackend` in the simulator, reached over its `/sim/machines` endpoints).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote

import requests

# Boot device names: pyghmi's (on the wire) <-> the simulator's (its /sim/machines vocabulary).
PYGHMI_TO_SIM = {
    "network": "network",
    "hd": "disk",
    "optical": "cdrom",
    "setup": "bios",
    "floppy": "floppy",
    "default": "default",
}
SIM_TO_PYGHMI = {v: k for k, v in PYGHMI_TO_SIM.items()} | {"cd": "optical"}


@dataclass(frozen=True)
class MachineSpec:
    """One BMC to serve: the machine's simulator name, UDP port and the one IPMI user."""

    name: str
    port: int
    username: str
    password: str
    #: Fault: the BMC answers every datagram with bytes that are not IPMI.
    garbage: bool = False

    def __repr__(self) -> str:  # never show the password
        return f"MachineSpec(name={self.name!r}, port={self.port}, username={self.username!r})"

    @classmethod
    def parse(cls, text: str) -> MachineSpec:
        """Parse ``NAME:PORT:USER:PASSWORD`` (the password may itself contain ':')."""
        parts = text.split(":", 3)
        if len(parts) != 4 or not all(parts[:3]) or not parts[3]:
            raise ValueError(
                "--machine must be NAME:PORT:USER:PASSWORD with all four parts non-empty"
            )
        return cls(parts[0], parse_port(parts[1], f"--machine {parts[0]}"), parts[2], parts[3])

    @classmethod
    def from_inventory(cls, entry: dict[str, Any]) -> MachineSpec:
        """Build from a simulator inventory ``machines:`` entry ({name, address, nics, bmc})."""
        name = entry.get("name")
        if not isinstance(name, str) or not name:
            raise ValueError("machines[].name is required and must be a non-empty string")
        bmc = entry.get("bmc")
        if not isinstance(bmc, dict):
            raise ValueError(f"machines[{name}].bmc is required: {{port, username, password}}")
        username = bmc.get("username")
        password = bmc.get("password")
        if not isinstance(username, str) or not username:
            raise ValueError(f"machines[{name}].bmc.username must be a non-empty string")
        if not isinstance(password, str) or not password:
            raise ValueError(f"machines[{name}].bmc.password must be a non-empty string")
        return cls(
            name,
            parse_port(bmc.get("port"), f"machines[{name}].bmc.port"),
            username,
            password,
            garbage=bmc.get("garbage") is True,
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "port": self.port,
            "username": self.username,
            "password": self.password,
            "garbage": self.garbage,
        }


def parse_port(value: object, field: str) -> int:
    try:
        port = int(str(value))
    except ValueError:
        raise ValueError(f"{field}: port must be an integer 1-65535, got {value!r}") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"{field}: port must be an integer 1-65535, got {port}")
    return port


class BackendError(Exception):
    """The machine's state could not be read or changed (simulator unreachable, HTTP error)."""


@dataclass
class BootSetting:
    device: str  # pyghmi name: network | hd | optical | setup | floppy | default
    persistent: bool = False
    uefi: bool = False


class MachineBackend(Protocol):
    """Where a machine's power state and boot device live."""

    def power(self) -> bool: ...

    def set_power(self, on: bool) -> None: ...

    def boot(self) -> BootSetting: ...

    def set_boot(self, setting: BootSetting) -> None: ...


class LocalBackend:
    """Standalone mode: the BMC keeps the state. A one-time boot override is consumed by the
    next power-on or reset, as a real BIOS clears the IPMI boot flags after using them."""

    def __init__(self) -> None:
        self._on = False
        self._boot = BootSetting("default", persistent=False)

    def power(self) -> bool:
        return self._on

    def set_power(self, on: bool) -> None:
        if on and not self._boot.persistent and self._boot.device != "default":
            self._boot = BootSetting("default")
        self._on = on

    def boot(self) -> BootSetting:
        return self._boot

    def set_boot(self, setting: BootSetting) -> None:
        self._boot = setting


class SimulatorBackend:
    """Simulator mode: state in rhevsim, reached over its /sim/machines control endpoints."""

    def __init__(self, sim_url: str, name: str, http: requests.Session, timeout: float) -> None:
        self._base = f"{sim_url.rstrip('/')}/sim/machines/{quote(name, safe='')}"
        self._http = http
        self._timeout = timeout
        # The simulator's GET answers the device; the flags are remembered from the last set.
        self._persistent = False
        self._uefi = False

    def _get(self) -> dict[str, Any]:
        try:
            response = self._http.get(self._base, params={"via": "ipmi"}, timeout=self._timeout)
        except requests.RequestException as exc:
            raise BackendError(f"GET {self._base}: {exc}") from exc
        if response.status_code != 200:
            raise BackendError(f"GET {self._base}: HTTP {response.status_code}")
        body = response.json()
        if not isinstance(body, dict):
            raise BackendError(f"GET {self._base}: expected a JSON object")
        return body

    def _post(self, suffix: str, body: dict[str, Any]) -> None:
        url = f"{self._base}/{suffix}"
        try:
            response = self._http.post(url, json=body, timeout=self._timeout)
        except requests.RequestException as exc:
            raise BackendError(f"POST {url}: {exc}") from exc
        if response.status_code >= 300:
            raise BackendError(f"POST {url}: HTTP {response.status_code} {response.text[:200]}")

    def power(self) -> bool:
        return self._get().get("power") == "on"

    def set_power(self, on: bool) -> None:
        self._post("power", {"on": on, "via": "ipmi"})

    def boot(self) -> BootSetting:
        body = self._get()
        reported = body.get("bootDevice", body.get("boot_device", "default"))
        device = SIM_TO_PYGHMI.get(str(reported), "default")
        persistent = body.get("bootPersistent", self._persistent)
        return BootSetting(device, persistent=bool(persistent), uefi=self._uefi)

    def set_boot(self, setting: BootSetting) -> None:
        self._post(
            "boot", {"device": PYGHMI_TO_SIM[setting.device], "persistent": setting.persistent}
        )
        self._persistent = setting.persistent
        self._uefi = setting.uefi

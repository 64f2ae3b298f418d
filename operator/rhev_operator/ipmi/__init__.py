"""Power and boot control of hypervisors over IPMI (pyghmi's client, RMCP+ on UDP)."""

from __future__ import annotations

from rhev_operator.ipmi.client import (
    BOOT_DEVICES,
    BmcClient,
    BmcSessions,
    BootDevice,
    PowerController,
    PowerState,
)
from rhev_operator.ipmi.errors import (
    IpmiAuthError,
    IpmiBusy,
    IpmiCommandError,
    IpmiError,
    IpmiUnreachable,
)

__all__ = [
    "BOOT_DEVICES",
    "BmcClient",
    "BmcSessions",
    "BootDevice",
    "IpmiAuthError",
    "IpmiBusy",
    "IpmiCommandError",
    "IpmiError",
    "IpmiUnreachable",
    "PowerController",
    "PowerState",
]

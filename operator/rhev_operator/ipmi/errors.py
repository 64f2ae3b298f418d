"""Typed IPMI errors: what went wrong, never with a password in the message."""

from __future__ import annotations


class IpmiError(Exception):
    """An IPMI operation on a BMC failed. ``target`` is ``address:port``."""

    def __init__(self, target: str, message: str) -> None:
        super().__init__(f"BMC {target}: {message}")
        self.target = target


class IpmiAuthError(IpmiError):
    """The BMC refused the credentials (wrong password or unknown user)."""


class IpmiUnreachable(IpmiError):
    """Nothing answered at the BMC's address and port (or it stopped answering)."""


class IpmiCommandError(IpmiError):
    """The BMC answered a command with an error completion code (IPMI 2.0 table 5-2)."""

    def __init__(self, target: str, message: str, code: int) -> None:
        super().__init__(target, f"{message} (completion code {code:#04x})")
        self.code = code


class IpmiBusy(IpmiError):
    """Another call to the same BMC held it longer than the caller agreed to wait."""

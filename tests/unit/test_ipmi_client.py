"""IPMI client and BMC-spec input checks (no network: everything fails before a packet)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rhev_operator.ipmi import (
    BmcClient,
    IpmiAuthError,
    IpmiCommandError,
    IpmiError,
    IpmiUnreachable,
)
from rhevsim.bmc import MachineSpec


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"address": ""}, "bmc.address"),
        ({"port": 0}, "bmc.port"),
        ({"port": 70000}, "bmc.port"),
        ({"port": True}, "bmc.port"),
        ({"username": ""}, "username"),
        ({"username": "u" * 17}, "at most 16 bytes"),
        ({"password": ""}, "password"),
        ({"password": "p" * 21}, "at most 20 bytes"),
    ],
)
def test_bad_bmc_settings_name_the_field(kwargs: dict[str, object], field: str) -> None:
    settings: dict[str, object] = {
        "address": "127.0.0.1",
        "username": "admin",
        "password": "secret",
        "port": 623,
    }
    settings.update(kwargs)
    with pytest.raises(ValueError, match=field):
        BmcClient(**settings)  # type: ignore[arg-type]


def test_unknown_boot_device_is_refused_before_any_packet() -> None:
    # Port 9 (discard) on a documentation address: a packet would mean a multi-second timeout.
    client = BmcClient("192.0.2.1", "admin", "secret", port=9)
    with pytest.raises(ValueError, match=r"boot device 'usb'.*network, disk, cd, default"):
        client.set_boot_device("usb")


def test_repr_never_shows_the_password() -> None:
    client = BmcClient("10.0.0.5", "admin", "s3cr3t-pw", port=6230)
    assert "s3cr3t-pw" not in repr(client)
    assert "10.0.0.5:6230" in repr(client)
    spec = MachineSpec("vm0", 6230, "admin", "s3cr3t-pw")
    assert "s3cr3t-pw" not in repr(spec)


def test_error_types() -> None:
    for cls in (IpmiAuthError, IpmiUnreachable):
        err = cls("10.0.0.5:623", "refused")
        assert isinstance(err, IpmiError)
        assert str(err) == "BMC 10.0.0.5:623: refused"
    command_error = IpmiCommandError("10.0.0.5:623", "power_on: not now", 0xD5)
    assert command_error.code == 0xD5
    assert "0xd5" in str(command_error)


def test_machine_spec_parse() -> None:
    spec = MachineSpec.parse("vm0:16230:admin:pa:ss")
    assert (spec.name, spec.port, spec.username, spec.password) == ("vm0", 16230, "admin", "pa:ss")
    with pytest.raises(ValueError, match="NAME:PORT:USER:PASSWORD"):
        MachineSpec.parse("vm0:16230:admin")
    with pytest.raises(ValueError, match="port must be an integer 1-65535, got 'x'"):
        MachineSpec.parse("vm0:x:admin:pw")


def test_machine_spec_from_inventory_names_the_field() -> None:
    good = {"name": "h1", "bmc": {"port": 6230, "username": "admin", "password": "pw"}}
    assert MachineSpec.from_inventory(good).port == 6230
    with pytest.raises(ValueError, match=r"machines\[h1\]\.bmc is required"):
        MachineSpec.from_inventory({"name": "h1"})
    with pytest.raises(ValueError, match=r"machines\[h1\]\.bmc\.port"):
        MachineSpec.from_inventory({"name": "h1", "bmc": {**good["bmc"], "port": 0}})  # type: ignore[dict-item]
    with pytest.raises(ValueError, match=r"machines\[h1\]\.bmc\.password"):
        MachineSpec.from_inventory({"name": "h1", "bmc": {"port": 1, "username": "a"}})


def test_bmc_command_line_rejects_bad_machine() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "rhevsim.bmc", "--machine", "vm0:notaport:admin:pw"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "port must be an integer 1-65535" in result.stderr
    result = subprocess.run(
        [sys.executable, "-m", "rhevsim.bmc", "--machine", "a:1:u:p", "--machine", "a:2:u:p"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "machine name 'a' is given twice" in result.stderr

"""A second client we did not write: the oVirt Ansible collection (ovirt.ovirt, bundled in
`ansible` 9.x) over ovirtsdk4 builds the seed's environment on the simulator, reads it back
with its *_info modules and tears it down; every playbook run twice, the second run
reporting no change (the recap's changed=0).

The playbooks live in tests/ansible/. The simulator runs on the real clock, scaled, so that
the modules' wait loops (poll_interval 1 s) see the state machines move.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests
from lxml import etree

from rhevsim.testing import SimHandle

pytestmark = pytest.mark.timeout(600)

PLAYBOOKS = Path(__file__).resolve().parent.parent / "ansible"
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
RECAP = re.compile(
    r"^localhost\s*:\s*ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M
)
INVENTORY = {
    "machines": [
        {
            "name": "rhevh1",
            "address": "192.0.2.10",
            "power": "on",
            "nics": [
                {"name": "eth0", "mac": "52:54:00:00:20:00"},
                {"name": "eth1", "mac": "52:54:00:00:21:00"},
            ],
        }
    ]
}


def run_playbook(sim: SimHandle, tmp: Path, playbook: str, **extra: str) -> tuple[int, int]:
    """Run a playbook; return the recap's (ok, changed); fail on a failed task."""
    env = dict(os.environ)
    env.update(
        ANSIBLE_HOME=str(tmp / "ansible-home"),
        ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-tmp"),
        ANSIBLE_NOCOLOR="1",
        ANSIBLE_LOCALHOST_WARNING="False",
        ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
        ANSIBLE_PYTHON_INTERPRETER=sys.executable,
    )
    variables = {
        "engine_url": sim.api_url,
        "engine_password": "admin",
        "host_address": "192.0.2.10",
        "host_root_password": "Seed-Root-S3cret",
        **extra,
    }
    args = [str(ANSIBLE_PLAYBOOK), str(PLAYBOOKS / playbook)]
    for k, v in variables.items():
        args += ["-e", f"{k}={v}"]
    proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    recap = RECAP.search(out)
    assert recap is not None, out
    ok, changed, unreachable, failed = (int(x) for x in recap.groups())
    assert proc.returncode == 0 and failed == 0 and unreachable == 0, out
    return ok, changed


def twice(sim: SimHandle, tmp: Path, playbook: str, **extra: str) -> int:
    """Run a playbook twice; the second run changes nothing. Returns the first's changes."""
    _, first = run_playbook(sim, tmp, playbook, **extra)
    _, second = run_playbook(sim, tmp, playbook, **extra)
    assert second == 0, f"{playbook} {extra}: the second run changed {second} things"
    return first


def get(sim: SimHandle, path: str, **params: str) -> etree._Element:
    r = requests.get(
        sim.api_url + path, params=params or None, auth=("admin@internal", "admin"), timeout=30
    )
    assert r.status_code == 200, r.text
    return etree.fromstring(r.content)


def _build_and_check(sim: SimHandle, tmp: Path) -> None:
    assert twice(sim, tmp, "build.yml") == 12
    # The host's second NIC got the VLAN network while the host was Up: no maintenance.
    host = get(sim, "/hosts", search="name=rhevh1")[0]
    assert host.findtext("status") == "up"
    nics = get(sim, f"/hosts/{host.get('id')}/nics")
    vlan = next(n for n in nics if n.findtext("name") == "eth1.2")
    assert vlan.findtext("ip/address") == "10.1.0.236"
    assert len(get(sim, "/events", search="type=15 or type=600 or type=620")) == 0
    vm = get(sim, "/vms", search="name=hkvm1")[0]
    assert len(get(sim, f"/vms/{vm.get('id')}/nics")) == 2
    assert len(get(sim, f"/vms/{vm.get('id')}/diskattachments")) == 2
    assert get(sim, "/templates", search="name=hkvm1-template")[0].findtext("status") == "ok"


def _tear_down_and_check(sim: SimHandle, tmp: Path) -> None:
    assert twice(sim, tmp, "teardown.yml") == 7
    assert [d.findtext("name") for d in get(sim, "/datacenters")] == ["Default"]
    assert len(get(sim, "/hosts")) == 0 and len(get(sim, "/storagedomains")) == 0


def _simulator(simulator_factory: Callable[..., SimHandle]) -> SimHandle:
    if not ANSIBLE_PLAYBOOK.exists():
        pytest.skip(f"absent: {ANSIBLE_PLAYBOOK} (the dev extra installs ansible)")
    return simulator_factory(INVENTORY, clock="real", time_scale=600.0)


def test_the_ansible_collection_builds_reads_and_tears_down_the_seed_environment(
    simulator_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    """The short version in `make test`: build twice, read back, tear down twice."""
    sim = _simulator(simulator_factory)
    _build_and_check(sim, tmp_path)
    assert run_playbook(sim, tmp_path, "info.yml")[1] == 0
    _tear_down_and_check(sim, tmp_path)


@pytest.mark.long
def test_the_ansible_collection_also_starts_and_stops_the_vm(
    simulator_factory: Callable[..., SimHandle], tmp_path: Path
) -> None:
    """The full version (`make ansible`): with the VM started and stopped, twice each."""
    sim = _simulator(simulator_factory)
    _build_and_check(sim, tmp_path)
    assert twice(sim, tmp_path, "power.yml", vm_state="running") == 1
    run_playbook(sim, tmp_path, "info.yml", vm_status="up")
    assert twice(sim, tmp_path, "power.yml", vm_state="stopped") == 1
    assert run_playbook(sim, tmp_path, "info.yml")[1] == 0
    _tear_down_and_check(sim, tmp_path)

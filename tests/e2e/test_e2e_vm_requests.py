"""One-time requests and consoles of the seed's hkvm1 end to end: kubectl -> local Kubernetes
API -> operator -> simulator.

- `kubectl annotate rvm hkvm1 rhev.io/reset=...` resets the running VM once;
  `rhev.io/boot-once=hd` waits for the next start and is done by it, once [`rpower
  reset`, `rsetboot`];
- `kubectl rhev console hkvm1 -o FILE` (the `kubectl-rhev` plugin on PATH) writes a
  remote-viewer file; `rhev-operator console` prints host, port and ticket; a stopped VM
  is refused [`wvid`].
"""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.test_e2e_virtualmachine import HKVM1, INVENTORY, field, ready_as, sim_vm
from tests.fixtures.operator import BIN, E2E, SIM_PASSWORD

SIM = [{"inventory": INVENTORY, "time_scale": 50}]


def resets(e2e: E2E) -> int:
    events: str = e2e.sim("GET", "/ovirt-engine/api/events")
    return events.count("VM hkvm1 is resetting.")


def set_power(e2e: E2E, state: str, sim_state: str) -> dict[str, object]:
    patch = json.dumps({"spec": {"powerState": state}})
    e2e.kubectl("patch", "rvm", "hkvm1", "--type", "merge", "-p", patch)
    return e2e.wait_for(  # type: ignore[no-any-return]
        f"hkvm1 {sim_state}", lambda: ready_as(e2e, "hkvm1", sim_state), timeout=90
    )


@pytest.mark.parametrize("e2e", SIM, indirect=True)
def test_reset_and_boot_once_annotations_are_done_once(e2e: E2E) -> None:
    e2e.kubectl("apply", "-f", "-", input=HKVM1)
    st = e2e.wait_for("hkvm1 up", lambda: ready_as(e2e, "hkvm1", "up"), timeout=90)
    vm_id = str(st["id"])
    assert resets(e2e) == 0

    e2e.kubectl("annotate", "rvm", "hkvm1", "--overwrite", "rhev.io/reset=t1")
    e2e.wait_for("resetDone t1", lambda: e2e.get("rvm", "hkvm1")["status"].get("resetDone") == "t1")
    assert resets(e2e) == 1

    # boot-once on the running VM waits for its next start; the operator does not restart it.
    e2e.kubectl("annotate", "rvm", "hkvm1", "--overwrite", "rhev.io/boot-once=hd")
    st = e2e.wait_for(
        "bootOncePending",
        lambda: (s := e2e.get("rvm", "hkvm1")["status"]).get("bootOncePending") == "hd" and s,
    )
    assert st.get("bootOnceDone") is None and field(sim_vm(e2e, vm_id), "status") == "up"
    assert resets(e2e) == 1  # that pass did not reset again

    set_power(e2e, "Stopped", "down")
    st = set_power(e2e, "Running", "up")
    assert st["bootOnceDone"] == "hd" and st.get("bootOncePending") is None
    xml = sim_vm(e2e, vm_id)
    assert field(xml, "run_once") == "true"
    assert "<device>network</device>" in xml  # the VM's own boot order is unchanged ...
    current: str = e2e.sim("GET", f"/ovirt-engine/api/vms/{vm_id}?current=true")
    assert "<device>hd</device>" in current  # ... this run boots from the disk
    events = e2e.kubectl("get", "events").stdout
    assert "boots once from hd (rhev.io/boot-once)" in events

    # Done once: the next start is a plain one, and the reset is not repeated.
    set_power(e2e, "Stopped", "down")
    set_power(e2e, "Running", "up")
    assert field(sim_vm(e2e, vm_id), "run_once") == "false"
    assert resets(e2e) == 1


def plugin_env(e2e: E2E, tmp: Path) -> dict[str, str]:
    """`kubectl-rhev` on PATH, as `pip install` writes the console script, and the
    simulator as the default connection (the VM has no spec.connection)."""
    bindir = tmp / "plugin-bin"
    bindir.mkdir(exist_ok=True)
    script = bindir / "kubectl-rhev"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom rhev_operator.console import kubectl_main\n"
        "sys.exit(kubectl_main())\n"
    )
    script.chmod(0o755)
    env = dict(e2e.env)
    env["PATH"] = f"{bindir}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        RHEVM_URL=f"{e2e.sim_url}/ovirt-engine/api",
        RHEVM_USERNAME="admin@internal",
        RHEVM_PASSWORD=SIM_PASSWORD,
    )
    return env


def run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("e2e", SIM, indirect=True)
def test_kubectl_rhev_console_writes_a_remote_viewer_file_for_hkvm1(e2e: E2E) -> None:
    spice = HKVM1.replace("powerState: Running", "powerState: Running\n  display: spice")
    e2e.kubectl("apply", "-f", "-", input=spice)
    st = e2e.wait_for("hkvm1 up", lambda: ready_as(e2e, "hkvm1", "up"), timeout=90)
    env = plugin_env(e2e, e2e.workdir)
    vv = e2e.workdir / "hkvm1.vv"
    kubectl = str(BIN / "kubectl")

    done = run([kubectl, "rhev", "console", "hkvm1", "-o", str(vv)], env)
    assert done.returncode == 0, done.stderr
    assert oct(vv.stat().st_mode & 0o777) == "0o600"
    parsed = configparser.ConfigParser(interpolation=None)
    parsed.read_string(vv.read_text())
    viewer = parsed["virt-viewer"]
    assert viewer["type"] == "spice" and viewer["host"] == "10.0.0.11"  # rhevh1
    assert int(viewer["port"]) >= 5900 and viewer["password"]
    assert viewer["title"] == "hkvm1" and parsed["ovirt"]["vm-guid"] == st["id"]

    printed = run([str(BIN / "rhev-operator"), "console", "hkvm1", "--protocol", "spice"], env)
    assert printed.returncode == 0, printed.stderr
    lines = dict(line.split(": ", 1) for line in printed.stdout.splitlines())
    assert (lines["protocol"], lines["host"], lines["expires-in"]) == ("spice", "10.0.0.11", "120s")
    assert int(lines["tls-port"]) == int(lines["port"]) + 1 and len(lines["ticket"]) == 8

    wrong = run([kubectl, "rhev", "console", "hkvm1", "--protocol", "vnc"], env)
    assert wrong.returncode == 1 and "has no vnc console (it has: spice)" in wrong.stderr

    # The tickets went to the user only: not into status, Events or the operator's log.
    for secret in (viewer["password"], lines["ticket"]):
        assert secret not in json.dumps(e2e.get("rvm", "hkvm1"))
        assert secret not in e2e.kubectl("get", "events", "-o", "json").stdout
        assert secret not in e2e.operator_log.read_text(errors="replace")

    set_power(e2e, "Stopped", "down")
    refused = run([kubectl, "rhev", "console", "hkvm1", "-o", str(vv)], env)
    assert refused.returncode == 1
    assert "VM hkvm1 is down: a console needs a running VM (powerState: Running)" in refused.stderr
    missing = run([kubectl, "rhev", "console", "nosuchvm"], env)
    assert missing.returncode == 1 and "VirtualMachine nosuchvm not found" in missing.stderr

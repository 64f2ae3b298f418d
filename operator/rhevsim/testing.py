"""In-process use from tests: `running_simulator()` serves a simulator on 127.0.0.1:0."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rhevsim.registry import Registry
from rhevsim.server import SimServer
from rhevsim.sim import Simulator


class SimHandle:
    """What `running_simulator` yields.

    url      http://127.0.0.1:PORT
    api_url  http://127.0.0.1:PORT/ovirt-engine/api
    reg      the registry (read it under `with handle.lock:` when the clock is real)
    sim      the Simulator (auth, faults, stats)
    """

    def __init__(self, server: SimServer, bmc: Any = None) -> None:
        self.server = server
        self.sim: Simulator = server.sim
        self.reg: Registry = server.sim.reg
        self.lock = self.reg.lock
        self.url = server.url
        self.api_url = server.url + "/ovirt-engine/api"
        self.bmc = bmc  # the BMC subprocess (Popen) when started with bmc=True

    def advance(self, seconds: float) -> int:
        """Manual clock: move time forward and run the transitions that fall due."""
        return self.sim.advance(seconds)

    def control(self, method: str, path: str, json_body: Any = None, **kw: Any) -> Any:
        """Call a /sim endpoint over HTTP; returns the decoded JSON (raises on >= 400)."""
        if "json" in kw:
            json_body = kw.pop("json")
        if kw:
            raise TypeError(f"unexpected arguments {sorted(kw)}")
        if not path.startswith("/sim"):
            path = "/sim/" + path.lstrip("/")
        data = None if json_body is None else json.dumps(json_body).encode()
        req = urllib.request.Request(self.url + path, data=data, method=method.upper())
        req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")
            raise RuntimeError(f"{method} {path}: HTTP {exc.code}: {detail}") from None

    def find(self, kind: str, name: str) -> Any:
        """The registry object of `kind` named `name` (None when absent)."""
        with self.lock:
            for o in self.reg.iter_kind(kind):
                if o.name == name:
                    return o
        return None


@contextmanager
def running_simulator(
    inventory: dict[str, Any] | None = None,
    *,
    clock: str = "manual",
    time_scale: float = 1.0,
    seed: int = 0,
    admin_password: str = "admin",
    bmc: bool = False,
) -> Iterator[SimHandle]:
    """Start a simulator on a free port in background threads; stop it on exit."""
    sim = Simulator(
        inventory, clock=clock, time_scale=time_scale, seed=seed, admin_password=admin_password
    )
    server = SimServer(sim, "127.0.0.1", 0)
    server.start()
    proc = None
    try:
        if bmc:
            proc = start_bmcs(server.url, sim)
        yield SimHandle(server, proc)
    finally:
        if proc is not None:
            stop_bmcs(proc)
        server.stop()


def start_bmcs(sim_url: str, sim: Simulator) -> Any:
    """Spawn the BMC front (rhevsim.bmc) for machines that have a BMC port; None if none."""
    machines = [m for m in sim.inventory.get("machines", []) if (m.get("bmc") or {}).get("port")]
    if not machines:
        return None
    try:
        from rhevsim import bmc as bmc_mod
    except ImportError:
        return None
    return bmc_mod.spawn(sim_url, machines)


def stop_bmcs(proc: Any) -> None:
    stop = getattr(proc, "stop", None)
    if stop is not None:
        stop()
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except Exception:
        proc.kill()
        proc.wait(timeout=10)

"""IPMI client benchmark: login time, per-call latency, power-on round trip, parallel throughput.

    python -m rhev_testbed.bench.ipmi                 # N simulated BMCs, standalone
    python -m rhev_testbed.bench.ipmi --simulator     # BMCs fronting a `rhevsim serve`
    IPMI_PASSWORD=... python -m rhev_testbed.bench.ipmi --bmc 10.0.0.5:623 --username admin

Simulated BMCs are started as a subprocess command (``python -m rhevsim.bmc`` or
``python -m rhevsim serve``), never imported: the operator does not depend on the simulator,
and pyghmi's server and client must not share a process. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from rhev_operator.ipmi.client import BmcClient
from rhev_testbed.processes import free_udp_port


@dataclass(frozen=True)
class Target:
    name: str
    address: str
    port: int
    username: str
    password: str

    def client(self) -> BmcClient:
        return BmcClient(self.address, self.username, self.password, port=self.port)


def _wait_line(process: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    """Read the child's output until a line starts with ``prefix`` (bounded), then keep
    draining it in a thread so a full pipe never blocks the child."""
    assert process.stdout is not None
    stdout = process.stdout
    found: list[str] = []
    ready = threading.Event()

    def drain() -> None:
        for line in stdout:
            if not found and line.startswith(prefix):
                found.append(line.strip())
                ready.set()
        ready.set()

    threading.Thread(target=drain, daemon=True).start()
    if not ready.wait(timeout) or not found:
        process.kill()
        raise RuntimeError(f"{process.args!r} printed no {prefix!r} line within {timeout} s")
    return found[0]


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def _simulated_targets(count: int) -> list[Target]:
    return [
        Target(f"bench{i}", "127.0.0.1", free_udp_port(), "admin", f"pw-{i}") for i in range(count)
    ]


@contextmanager
def standalone_bmcs(count: int) -> Iterator[tuple[list[Target], float]]:
    targets = _simulated_targets(count)
    machines = [
        {"name": t.name, "port": t.port, "username": t.username, "password": t.password}
        for t in targets
    ]
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-m",
            "rhevsim.bmc",
            "--machines-stdin",
            "--parent-pid",
            str(os.getpid()),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdin is not None
    process.stdin.write(json.dumps(machines))
    process.stdin.close()
    try:
        _wait_line(process, "rhevsim-bmc listening", 30)
        yield targets, time.perf_counter() - started
    finally:
        _stop(process)


@contextmanager
def simulator_bmcs(count: int) -> Iterator[tuple[list[Target], float, str]]:
    targets = _simulated_targets(count)
    inventory = {
        "machines": [
            {
                "name": t.name,
                "address": f"192.0.2.{i + 10}",
                "nics": [{"name": "eth0", "mac": f"52:54:00:00:02:{i:02x}"}],
                "bmc": {"port": t.port, "username": t.username, "password": t.password},
            }
            for i, t in enumerate(targets)
        ]
    }
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
        json.dump(inventory, handle)  # JSON is YAML
        path = handle.name
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-m",
            "rhevsim",
            "serve",
            "--port",
            "0",
            "--clock",
            "manual",
            "--inventory",
            path,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        line = _wait_line(process, "rhevsim listening on ", 60)
        yield targets, time.perf_counter() - started, line.rsplit(" ", 1)[1]
    finally:
        _stop(process)
        os.unlink(path)


def _ms(samples: Sequence[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    slow = sum(sample > 0.1 for sample in ordered)
    return (
        f"n={len(ordered):4d}  p50 {statistics.median(ordered) * 1000:7.2f} ms  "
        f"p95 {p95 * 1000:7.2f} ms  max {ordered[-1] * 1000:7.2f} ms  >100 ms: {slow}"
    )


def _timed(fn: Callable[[], object], rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return samples


def _machine_power(sim_url: str, name: str) -> str:
    with urllib.request.urlopen(f"{sim_url}/sim/machines/{name}", timeout=10) as response:
        return str(json.loads(response.read())["power"])


def run(targets: list[Target], rounds: int, sim_url: str | None) -> None:
    clients = [t.client() for t in targets]
    # Login: the first call on a fresh target logs in (RMCP+ with the SHA-256 -> suite 3
    # fallback) and then gets the power state; the per-call figure below is the second part.
    first = []
    for client in clients:  # one login per BMC, in turn
        start = time.perf_counter()
        client.power_state()
        first.append(time.perf_counter() - start)
    c = clients[0]
    state = _timed(c.power_state, rounds)
    boot_get = _timed(c.boot_device, rounds)
    boot_set = _timed(lambda: c.set_boot_device("network", persistent=True), rounds)
    print(f"first call (login + power_state): {_ms(first)}")
    print(f"power_state:                      {_ms(state)}")
    print(f"boot_device:                      {_ms(boot_get)}")
    print(f"set_boot_device (2 IPMI commands): {_ms(boot_set)}")

    on, off, trip = [], [], []
    for _ in range(max(1, rounds // 4)):
        start = time.perf_counter()
        c.power_on()
        on.append(time.perf_counter() - start)
        if sim_url:  # the simulator sees it by the time the IPMI answer is back
            if _machine_power(sim_url, targets[0].name) != "on":
                raise RuntimeError("simulator does not show the machine on after power_on")
        elif c.power_state() != "on":
            raise RuntimeError("BMC does not report on after power_on")
        trip.append(time.perf_counter() - start)
        start = time.perf_counter()
        c.power_off()
        off.append(time.perf_counter() - start)
    print(f"power_on:                         {_ms(on)}")
    print(f"power_off:                        {_ms(off)}")
    seen = "GET /sim/machines shows on" if sim_url else "power_state reads on"
    print(f"power_on round trip ({seen}): {_ms(trip)}")

    if len(clients) > 1:
        calls_each = max(1, rounds // 2)
        errors: list[BaseException] = []

        def worker(client: BmcClient) -> None:
            try:
                for _ in range(calls_each):
                    client.power_state()
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(cl,)) for cl in clients]
        start = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        elapsed = time.perf_counter() - start
        total = calls_each * len(clients)
        print(
            f"parallel: {len(clients)} threads x {calls_each} power_state on {len(clients)} BMCs:"
            f" {total} calls in {elapsed:.2f} s = {total / elapsed:.0f} calls/s"
            + (f"  ERRORS: {errors[:3]}" if errors else "")
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m rhev_testbed.bench.ipmi",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--bmcs", type=int, default=8, help="simulated BMCs to start (default 8)")
    parser.add_argument("--rounds", type=int, default=200, help="calls per measurement")
    parser.add_argument(
        "--simulator",
        action="store_true",
        help="start `rhevsim serve` and use its BMCs (state in the simulator)",
    )
    parser.add_argument(
        "--bmc",
        action="append",
        default=[],
        metavar="HOST:PORT",
        help="measure existing BMCs instead (password from $IPMI_PASSWORD)",
    )
    parser.add_argument("--username", default="admin")
    args = parser.parse_args(argv)
    if args.bmcs < 1 or args.rounds < 1:
        parser.error("--bmcs and --rounds must be at least 1")
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if args.bmc:
        password = os.environ.get("IPMI_PASSWORD")
        if not password:
            parser.error("--bmc needs the password in $IPMI_PASSWORD")
        targets = []
        for i, text in enumerate(args.bmc):
            host, _, port = text.rpartition(":")
            if not host or not port.isdigit():
                parser.error(f"--bmc {text!r}: expected HOST:PORT")
            targets.append(Target(f"bmc{i}", host, int(port), args.username, password))
        print("WARNING: power_on/power_off are measured too; they act on these machines")
        run(targets, args.rounds, None)
    elif args.simulator:
        with simulator_bmcs(args.bmcs) as (targets, startup, url):
            print(f"rhevsim serve with {len(targets)} BMCs ready in {startup:.2f} s at {url}")
            run(targets, args.rounds, url)
    else:
        with standalone_bmcs(args.bmcs) as (targets, startup):
            print(f"{len(targets)} standalone BMCs (one process) ready in {startup:.2f} s")
            run(targets, args.rounds, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())

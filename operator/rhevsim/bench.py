"""Latency benchmark: `python -m rhevsim.bench --hosts 50 --vms 1000`.

Builds an inventory with `rhevsim.builder`, serves it on 127.0.0.1 (manual clock), and
times over HTTP, with a persistent connection and a bearer token like the SDK:
GET /vms, GET /hosts, an events poll (`/events?from=<last>`) and a full events page.
Prints min / median / p95 / max in milliseconds. A benchmark, not a test: no thresholds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import requests
from lxml import etree

from rhevsim.builder import build_inventory
from rhevsim.testing import running_simulator


def _timed(fn: Callable[[], requests.Response], n: int) -> tuple[list[float], int, int]:
    out = []
    size = count = 0
    for _ in range(n):
        t0 = time.perf_counter()
        r = fn()
        out.append((time.perf_counter() - t0) * 1000.0)
        if r.status_code != 200:
            raise SystemExit(f"{r.request.method} {r.url}: HTTP {r.status_code}")
        size = len(r.content)
        count = len(etree.fromstring(r.content))
    return out, size, count


def _row(name: str, ms: list[float], size: int, count: int) -> str:
    ms_sorted = sorted(ms)
    p95 = ms_sorted[min(len(ms_sorted) - 1, int(len(ms_sorted) * 0.95))]
    return (
        f"{name:<28} {count:>6} {size / 1024:>8.0f} KiB  min {ms_sorted[0]:7.1f}  "
        f"median {statistics.median(ms):7.1f}  p95 {p95:7.1f}  max {ms_sorted[-1]:7.1f} ms"
    )


def _fill_events(sim: Any, n: int) -> None:
    """A busy engine's audit log: VM starts/stops and host events, with entity refs."""
    reg = sim.reg
    vms = list(reg.iter_kind("vm")) or [None]
    hosts = list(reg.iter_kind("host")) or [None]
    for i in range(n):
        vm, host = vms[i % len(vms)], hosts[i % len(hosts)]
        vname = vm.name if vm is not None else f"vm{i}"
        hname = host.name if host is not None else "hv"
        if i % 3 == 0:
            reg.event(32, f"VM {vname} started on Host {hname}", vm=vm, host=host)
        elif i % 3 == 1:
            reg.event(33, f"VM {vname} powered off by admin@internal-authz.", vm=vm)
        else:
            reg.event(
                9000,
                f"Failed to verify Host {hname} power management.",
                "warning",
                user=None,
                host=host,
            )


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rhevsim.bench", description=__doc__)
    p.add_argument("--hosts", type=int, default=50)
    p.add_argument("--vms", type=int, default=1000)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--iterations", type=int, default=30)
    p.add_argument(
        "--events", type=int, default=20000, help="audit log entries to pre-fill (a busy engine)"
    )
    args = p.parse_args(argv)

    t0 = time.perf_counter()
    inv = build_inventory(hosts=args.hosts, vms=args.vms, seed=args.seed)
    with running_simulator(inv, clock="manual", seed=args.seed) as sim:
        setup = time.perf_counter() - t0
        with sim.lock:
            _fill_events(sim, args.events)
            counts = sim.reg.counts()
        print(
            f"rhevsim bench: {counts.get('host', 0)} hosts, {counts.get('vm', 0)} VMs, "
            f"{counts.get('event', 0)} events; start {setup:.2f} s",
            flush=True,
        )
        s = requests.Session()
        tok = s.post(
            sim.url + "/ovirt-engine/sso/oauth/token",
            data={
                "grant_type": "password",
                "scope": "ovirt-app-api",
                "username": "admin@internal",
                "password": "admin",
            },
            timeout=30,
        ).json()["access_token"]
        s.headers.update(
            {"Authorization": f"Bearer {tok}", "Version": "4", "Accept": "application/xml"}
        )
        api = sim.api_url
        newest = etree.fromstring(s.get(api + "/events?max=1", timeout=30).content)
        last = int(newest[0].get("id") or 0) if len(newest) else 0
        # A handful of new events since the last poll, as an operator tick would see.
        poll_from = max(0, last - 5)
        n = args.iterations
        rows = []
        for name, url in (
            ("GET /vms", "/vms"),
            ("GET /hosts", "/hosts"),
            ("GET /events?from=<last-5>", f"/events?from={poll_from}"),
            ("GET /events?max=100", "/events?max=100"),
            ("GET /datacenters", "/datacenters"),
        ):
            if s.get(api + url, timeout=30).status_code == 404:  # warm-up
                rows.append(f"{name:<28} (not served: its entity module is missing)")
                continue

            def call(url: str = url) -> requests.Response:
                return s.get(api + url, timeout=30)

            ms, size, count = _timed(call, n)
            rows.append(_row(name, ms, size, count))
        print(f"{'request':<28} {'items':>6} {'size':>12}  ({n} iterations each)")
        for r in rows:
            print(r)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Client-side figures: list latency per collection against an engine (or the simulator),
and XML parse throughput offline. Prints numbers; asserts nothing.

    python -m rhev_testbed.bench.rhevm --url http://127.0.0.1:8443/ovirt-engine/api
    python -m rhev_testbed.bench.rhevm --parse-only --vms 1000
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from rhev_operator.rhevm import errors, xmlio
from rhev_operator.rhevm.client import RhevmClient
from rhev_operator.rhevm.session import ConnectionConfig
from rhev_operator.rhevm.virtualmachine import Vms


def _timed(fn: Callable[[], Any], rounds: int) -> tuple[list[float], Any]:
    samples: list[float] = []
    result: Any = None
    for _ in range(rounds):
        t0 = time.perf_counter()
        result = fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples, result


def _fmt(samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return f"median {statistics.median(ordered):8.2f} ms  p95 {p95:8.2f} ms"


def synthetic_vms(n: int) -> bytes:
    parts = ["<vms>"]
    for i in range(n):
        parts.append(
            f'<vm href="/ovirt-engine/api/vms/{i}" id="{i}"><name>vm{i}</name>'
            "<status>up</status><memory>2147483648</memory><cpu><topology><sockets>2</sockets>"
            "<cores>2</cores><threads>1</threads></topology></cpu><os><type>rhel_8x64</type>"
            "<boot><devices><device>network</device><device>hd</device></devices></boot></os>"
            '<display><type>vnc</type></display><cluster id="c1"/><template id="t1"/>'
            '<host id="h1"/><placement_policy><affinity>migratable</affinity></placement_policy>'
            "</vm>"
        )
    parts.append("</vms>")
    return "".join(parts).encode()


def parse_bench(n: int, rounds: int) -> None:
    data = synthetic_vms(n)

    def run() -> int:
        root = xmlio.parse(data)
        return len([Vms.parse(el) for el in root.iterfind("vm")])

    samples, count = _timed(run, rounds)
    print(f"parse {count} <vm> ({len(data) / 1024:.0f} KiB): {_fmt(samples)}")


def live_bench(client: RhevmClient, rounds: int) -> None:
    listers: list[tuple[str, Callable[[], Sequence[Any]]]] = [
        ("datacenters", client.datacenters.list),
        ("clusters", client.clusters.list),
        ("networks", client.networks.list),
        ("storagedomains", client.storagedomains.list),
        ("hosts", client.hosts.list),
        ("vms", client.vms.list),
        ("templates", client.templates.list),
        ("disks", client.disks.list),
        ("events (from newest)", lambda: client.events.since(client.events.newest_id())),
    ]
    client.api()  # log in outside the measurements
    for name, fn in listers:
        try:
            samples, result = _timed(fn, rounds)
        except errors.RhevmError as exc:
            print(f"{name:22s} unavailable: {exc}")
            continue
        print(f"{name:22s} {len(result):6d} items  {_fmt(samples)}")
    print("requests:", dict(sorted(client.request_counts.items())))


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rhev_testbed.bench.rhevm", description=__doc__)
    p.add_argument("--url", help="API root, e.g. http://127.0.0.1:8443/ovirt-engine/api")
    p.add_argument("--username", default="admin@internal")
    p.add_argument("--password-env", default="RHEVM_PASSWORD", help="env var with the password")
    p.add_argument("--insecure", action="store_true")
    p.add_argument("--rounds", type=int, default=20)
    p.add_argument("--parse-only", action="store_true")
    p.add_argument("--vms", type=int, default=1000, help="VMs in the parse benchmark")
    args = p.parse_args(argv)
    parse_bench(args.vms, max(1, args.rounds // 4))
    if args.parse_only:
        return 0
    if not args.url:
        p.error("--url: required unless --parse-only")
    cfg = ConnectionConfig(
        url=args.url,
        username=args.username,
        password=os.environ.get(args.password_env, "admin"),
        insecure=args.insecure,
    )
    with RhevmClient(cfg) as client:
        live_bench(client, args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())

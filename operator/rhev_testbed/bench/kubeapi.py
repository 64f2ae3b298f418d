"""Benchmark of the local API: `python -m rhev_testbed.bench.kubeapi [--objects 1000]`.

Starts `rhev-operator dev-apiserver` as a separate process, registers a CRD, keeps two watches
open (as kopf does), creates N objects over HTTP and measures create/get/patch/list latencies and
the server's resident memory. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

CRD: dict[str, Any] = {
    "apiVersion": "apiextensions.k8s.io/v1",
    "kind": "CustomResourceDefinition",
    "metadata": {"name": "widgets.bench.rhev.io"},
    "spec": {
        "group": "bench.rhev.io",
        "scope": "Namespaced",
        "names": {"plural": "widgets", "singular": "widget", "kind": "Widget"},
        "versions": [
            {
                "name": "v1",
                "served": True,
                "storage": True,
                "subresources": {"status": {}},
                "additionalPrinterColumns": [
                    {"name": "Size", "type": "integer", "jsonPath": ".spec.size"},
                    {
                        "name": "Ready",
                        "type": "string",
                        "jsonPath": '.status.conditions[?(@.type=="Ready")].status',
                    },
                    {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                ],
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "size": {"type": "integer", "minimum": 1, "maximum": 100},
                                    "kind": {"type": "string", "enum": ["a", "b"]},
                                    "text": {"type": "string", "maxLength": 200},
                                },
                            },
                            "status": {
                                "type": "object",
                                "x-kubernetes-preserve-unknown-fields": True,
                            },
                        },
                    }
                },
            }
        ],
    },
}
PATH = "/apis/bench.rhev.io/v1/namespaces/default/widgets"


def rss_mb(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"VmRSS:\s+(\d+) kB", text)
    return int(match.group(1)) / 1024 if match else float("nan")


def summary(name: str, samples: list[float]) -> str:
    ms = sorted(s * 1000 for s in samples)
    p95 = ms[min(len(ms) - 1, int(len(ms) * 0.95))]
    return (
        f"{name:<28} n={len(ms):<5} avg={statistics.mean(ms):7.2f} ms"
        f"  p50={ms[len(ms) // 2]:7.2f} ms  p95={p95:7.2f} ms  max={ms[-1]:7.2f} ms"
    )


async def timed(session: aiohttp.ClientSession, method: str, url: str, **kw: Any) -> float:
    started = time.perf_counter()
    async with session.request(method, url, **kw) as response:
        await response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {url}: {response.status}")
    return time.perf_counter() - started


async def watch(session: aiohttp.ClientSession, url: str, counter: list[int]) -> None:
    async with session.get(url, params={"watch": "true"}, timeout=aiohttp.ClientTimeout()) as r:
        async for _ in r.content:
            counter[0] += 1


async def run(base: str, pid: int, objects: int, concurrency: int) -> None:
    print(f"server RSS idle: {rss_mb(pid):.1f} MB")
    async with aiohttp.ClientSession(base) as session:
        await timed(
            session, "POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", json=CRD
        )
        counters = [[0], [0]]
        watches = [
            asyncio.create_task(watch(session, PATH, counters[0])),
            asyncio.create_task(watch(session, "/apis/bench.rhev.io/v1/widgets", counters[1])),
        ]
        await asyncio.sleep(0.2)

        creates: list[float] = []
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(objects):
            queue.put_nowait(i)

        async def creator() -> None:
            while not queue.empty():
                i = queue.get_nowait()
                body = {
                    "apiVersion": "bench.rhev.io/v1",
                    "kind": "Widget",
                    "metadata": {"name": f"w{i:05d}", "labels": {"shard": str(i % 10)}},
                    "spec": {"size": 1 + i % 100, "kind": "a", "text": "x" * 100},
                }
                creates.append(await timed(session, "POST", PATH, json=body))

        started = time.perf_counter()
        await asyncio.gather(*(creator() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        print(
            f"created {objects} objects in {elapsed:.2f} s "
            f"({objects / elapsed:.0f}/s, concurrency {concurrency})"
        )
        print(summary("create (POST)", creates))

        gets = [await timed(session, "GET", f"{PATH}/w{i:05d}") for i in range(0, objects, 5)]
        print(summary("get", gets))
        merge = {"Content-Type": "application/merge-patch+json"}
        patches = [
            await timed(
                session,
                "PATCH",
                f"{PATH}/w{i:05d}/status",
                data=json.dumps({"status": {"conditions": [{"type": "Ready", "status": "True"}]}}),
                headers=merge,
            )
            for i in range(0, objects, 5)
        ]
        print(summary("patch /status (merge)", patches))
        lists = [await timed(session, "GET", PATH) for _ in range(10)]
        print(summary(f"list all {objects} (JSON)", lists))
        table = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"}
        tables = [await timed(session, "GET", PATH, headers=table) for _ in range(10)]
        print(summary(f"list all {objects} (Table)", tables))
        selected = [
            await timed(session, "GET", PATH, params={"labelSelector": "shard=3"})
            for _ in range(10)
        ]
        print(summary("list labelSelector shard=3", selected))
        await asyncio.sleep(0.3)
        print(f"watch events received: {counters[0][0]} (namespaced), {counters[1][0]} (all)")
        for task in watches:
            task.cancel()
        await asyncio.gather(*watches, return_exceptions=True)
    print(f"server RSS with {objects} objects: {rss_mb(pid):.1f} MB")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--objects", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    args = parser.parse_args(argv)
    proc = subprocess.Popen(
        [sys.executable, "-m", "rhev_operator.cli", "dev-apiserver", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        base = ""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if "listening on " in line:
                base = line.split("listening on ")[1].strip()
                break
            if not line:
                break
        if not base:
            print("the dev-apiserver did not start", file=sys.stderr)
            return 1
        asyncio.run(run(base, proc.pid, args.objects, args.concurrency))
    finally:
        proc.terminate()
        proc.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The local Kubernetes API as its own process, for the benchmarks: `rhev-operator
dev-apiserver` plus one read-only path, GET /_bench/requests, that answers the requests the API
has served so far, counted per HTTP method (JSON). The benchmark reads it before and after its
steady-state window to count the operator's Kubernetes writes. The path is answered here,
before the API sees the request, so reading it does not count.

    python -m rhev_testbed.bench.apiserver --kubeconfig F --crds DIR [--port 0]
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Sequence

import aiohttp.web

from rhev_testbed.kubeapi.emulator import DevApi
from rhev_testbed.kubeapi.server import write_kubeconfig

COUNTS_PATH = "/_bench/requests"
HOST = "127.0.0.1"


async def _serve(port: int, kubeconfig: str, crds: str) -> int:
    api = DevApi()
    api.load_crds(crds)

    async def handler(raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        if raw.method == "GET" and raw.path == COUNTS_PATH:
            return aiohttp.web.json_response(dict(api.request_counts))
        return await api(raw)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = aiohttp.web.ServerRunner(
        aiohttp.web.Server(handler, access_log=None), shutdown_timeout=1.0
    )
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, HOST, port, reuse_address=True)
    try:
        await site.start()
        api.port = int(runner.addresses[0][1])
        url = f"http://{HOST}:{api.port}"
        write_kubeconfig(kubeconfig, url)
        print(f"bench apiserver listening on {url}", flush=True)
        await stop.wait()
    finally:
        api.close_watches()
        await asyncio.sleep(0)
        await asyncio.wait_for(runner.cleanup(), 5)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--kubeconfig", required=True, help="write a kubeconfig to FILE")
    parser.add_argument("--crds", required=True, help="a folder or file of CRDs to register")
    args = parser.parse_args(argv)
    return asyncio.run(_serve(args.port, args.kubeconfig, args.crds))


if __name__ == "__main__":
    sys.exit(main())

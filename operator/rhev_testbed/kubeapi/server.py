"""Run a `DevApi` over HTTP on 127.0.0.1: as a process (`serve_forever`) or inside a loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp.web
import yaml

from rhev_testbed.kubeapi.emulator import DevApi

logger = logging.getLogger("rhev_testbed.kubeapi")

TOKEN = "devapi-token"  # a dummy bearer token: the local API does not authenticate


def kubeconfig_text(url: str, *, namespace: str = "default", name: str = "rhev-dev") -> str:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": {"server": url}}],
        "users": [{"name": name, "user": {"token": TOKEN}}],
        "contexts": [
            {"name": name, "context": {"cluster": name, "user": name, "namespace": namespace}}
        ],
        "current-context": name,
        "preferences": {},
    }
    return yaml.safe_dump(config, sort_keys=False)


def write_kubeconfig(path: str | Path, url: str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(kubeconfig_text(url))
    os.chmod(target, 0o600)
    return target


@contextlib.asynccontextmanager
async def serving(
    api: DevApi, host: str = "127.0.0.1", port: int = 0, *, log_requests: bool = False
) -> AsyncIterator[str]:
    """Serve `api` on host:port inside the running loop; yield the base URL. With
    `log_requests`, every request is printed ("dev-apiserver request GET /api/v1/...?query
    <user agent>"): what an e2e test reads to see which calls another process made."""

    async def logged(raw: aiohttp.web.BaseRequest) -> aiohttp.web.StreamResponse:
        agent = raw.headers.get("User-Agent", "-").replace(" ", "_")
        print(f"dev-apiserver request {raw.method.upper()} {raw.path_qs} {agent}", flush=True)
        return await api(raw)

    server = aiohttp.web.Server(logged if log_requests else api, access_log=None)
    api.server = server
    runner = aiohttp.web.ServerRunner(server, shutdown_timeout=1.0)
    await runner.setup()
    site = aiohttp.web.TCPSite(runner, host, port, reuse_address=True)
    try:
        await site.start()
        sockets = getattr(site._server, "sockets", None) or []
        api.port = sockets[0].getsockname()[1] if sockets else port
        yield f"http://{host}:{api.port}"
    finally:
        api.close_watches()
        await asyncio.sleep(0)  # let the watch streams see the close and finish
        try:
            await asyncio.wait_for(runner.cleanup(), 5)
        except TimeoutError:
            logger.warning("devapi: some connections did not close in time")


async def _main(
    host: str, port: int, kubeconfig: str | None, crds: str | None, log_requests: bool
) -> int:
    api = DevApi()
    if crds:
        names = api.load_crds(crds)
        print(f"dev-apiserver registered {len(names)} CRDs from {crds}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # Fault control: SIGUSR1 drops every watch and connection (like POST /_control/drop-watches).
    loop.add_signal_handler(signal.SIGUSR1, api.drop_watches)
    async with serving(api, host, port, log_requests=log_requests) as url:
        if kubeconfig:
            write_kubeconfig(kubeconfig, url)
            print(f"dev-apiserver kubeconfig written to {kubeconfig}", flush=True)
        print(f"dev-apiserver listening on {url}", flush=True)
        await stop.wait()
        print("dev-apiserver stopping", flush=True)
    return 0


def serve_forever(
    host: str,
    port: int,
    *,
    kubeconfig: str | None,
    crds: str | None,
    log_requests: bool = False,
) -> int:
    """The `rhev-operator dev-apiserver` command: serve until SIGTERM or SIGINT."""
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"dev-apiserver: refusing to bind {host}: only loopback is allowed", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(message)s")
    try:
        return asyncio.run(_main(host, port, kubeconfig, crds, log_requests))
    except OSError as exc:
        print(f"dev-apiserver: cannot listen on {host}:{port}: {exc}", file=sys.stderr)
        return 1

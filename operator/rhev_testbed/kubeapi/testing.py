"""The local API in a background thread for synchronous tests: `running_apiserver()`."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import json
import tempfile
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

from rhev_testbed.kubeapi.emulator import DevApi
from rhev_testbed.kubeapi.server import serving, write_kubeconfig

T = TypeVar("T")


class ApiHandle:
    """A running local API: its URL, a kubeconfig file and helpers for assertions."""

    def __init__(self, api: DevApi, loop: asyncio.AbstractEventLoop, url: str, kubeconfig: Path):
        self.api = api
        self.loop = loop
        self.url = url
        self.kubeconfig = kubeconfig

    def call(self, fn: Callable[[], T]) -> T:
        """Run `fn` in the server's loop thread (the store is not thread-safe) and return."""

        async def run() -> T:
            return fn()

        return self.run(run())

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self.loop)
        return future.result(timeout)

    def get(
        self, group_version: str, plural: str, namespace: str | None, name: str
    ) -> dict[str, Any] | None:
        return self.call(lambda: self.api.get_object(group_version, plural, namespace, name))

    def list(
        self, group_version: str, plural: str, namespace: str | None = None
    ) -> builtins.list[dict[str, Any]]:
        return self.call(lambda: self.api.list_objects(group_version, plural, namespace))

    def create(
        self, group_version: str, plural: str, namespace: str | None, body: dict[str, Any]
    ) -> dict[str, Any]:
        return self.call(lambda: self.api.create_object(group_version, plural, namespace, body))

    def register_crd(self, crd: dict[str, Any]) -> dict[str, Any]:
        return self.call(lambda: self.api.register_crd(crd))

    def load_crds(self, path: str | Path) -> builtins.list[str]:
        return self.call(lambda: self.api.load_crds(path))

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        timeout: float = 10,
    ) -> tuple[int, Any]:
        """An HTTP request to the server; returns (status, decoded JSON or text)."""
        data = (
            None
            if body is None
            else (body if isinstance(body, bytes) else json.dumps(body).encode())
        )
        req = urllib.request.Request(self.url + path, data=data, method=method.upper())
        req.add_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            req.add_header(key, value)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                status, raw = resp.status, resp.read()
        except urllib.error.HTTPError as exc:
            status, raw = exc.code, exc.read()
        try:
            return status, json.loads(raw)
        except ValueError:
            return status, raw.decode(errors="replace")


@contextlib.contextmanager
def running_apiserver(
    crds: str | Path | None = None, *, port: int = 0, **options: Any
) -> Iterator[ApiHandle]:
    """Start a fresh local API in a daemon thread; stop it at exit."""
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        api = DevApi(**options)
        if crds:
            api.load_crds(crds)
        stop = asyncio.Event()
        async with serving(api, "127.0.0.1", port) as url:
            state.update(api=api, url=url, stop=stop, loop=asyncio.get_running_loop())
            ready.set()
            await stop.wait()

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # reported to the starting thread
            state["error"] = exc
            ready.set()

    thread = threading.Thread(target=thread_main, name="devapi", daemon=True)
    thread.start()
    if not ready.wait(30) or "error" in state:
        raise RuntimeError(f"the local API did not start: {state.get('error')!r}")
    with tempfile.TemporaryDirectory(prefix="devapi-") as tmp:
        kubeconfig = write_kubeconfig(Path(tmp) / "kubeconfig", state["url"])
        handle = ApiHandle(state["api"], state["loop"], state["url"], kubeconfig)
        try:
            yield handle
        finally:
            state["loop"].call_soon_threadsafe(state["stop"].set)
            thread.join(15)

"""HTTP front of the simulator: a ThreadingHTTPServer on 127.0.0.1 (HTTPS with --tls)."""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import struct
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from rhevsim.sim import Simulator, Ticker

log = logging.getLogger("rhevsim")


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: SimHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = {k: v for k, v in self.headers.items()}
        ans = self.server.sim.handle(self.command, self.path, headers, body)
        if ans.latency > 0:
            # Injected latency: waits in this request's thread, never under the registry lock.
            self.server.stopping.wait(ans.latency)
        if ans.reset:
            self._reset()
            return
        self.send_response(ans.status)
        for k, v in ans.headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(ans.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(ans.body)

    def _reset(self) -> None:
        """Close with RST, like a dead engine or a proxy dropping the connection."""
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.close()

    do_GET = _serve
    do_POST = _serve
    do_PUT = _serve
    do_DELETE = _serve
    do_HEAD = _serve


class SimHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, sim: Simulator, host: str, port: int) -> None:
        self.sim = sim
        self.stopping = threading.Event()
        super().__init__((host, port), _Handler)


class SimServer:
    """The simulator served over HTTP in background threads (plus the real-clock ticker)."""

    def __init__(
        self,
        sim: Simulator,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        tls_cert: str | None = None,
        tls_key: str | None = None,
    ) -> None:
        self.sim = sim
        self.httpd = SimHTTPServer(sim, host, port)
        self.scheme = "http"
        if tls_cert:
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(tls_cert, tls_key)
            self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
            self.scheme = "https"
        self.host = host
        self.port = int(self.httpd.server_address[1])
        self._thread: threading.Thread | None = None
        self._ticker: Ticker | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever,
            kwargs={"poll_interval": 0.1},
            daemon=True,
            name="rhevsim-http",
        )
        self._thread.start()
        if not self.sim.clock.manual:
            self._ticker = Ticker(self.sim)
            self._ticker.start()

    def stop(self) -> None:
        self.httpd.stopping.set()
        if self._ticker is not None:
            self._ticker.stop()
            self._ticker.join(timeout=5)
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

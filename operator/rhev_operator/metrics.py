"""The operator's Prometheus metrics, served on `/metrics` (`rhev-operator run
--metrics-port`), and the tiny HTTP server that serves them and the readiness probe.

Labels carry kinds, HTTP methods, path templates (`vms/{id}`), status codes, causes and
connection names (`namespace/secret-name` or `default`): never a URL's credentials, a
password, a token or an object's id. Everything here is process-wide, as Prometheus
collectors are; the layers record through the functions below and import nothing else.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

#: The operator's own registry (not the global default: no process or platform noise, and
#: tests may read it without the others).
REGISTRY = CollectorRegistry(auto_describe=True)

RHEVM_REQUESTS = Counter(
    "rhev_operator_rhevm_requests",
    "HTTP requests sent to RHEV-M, by method, collection (path template) and status code "
    '("error": no answer)',
    ["method", "collection", "code"],
    registry=REGISTRY,
)
RHEVM_LATENCY = Histogram(
    "rhev_operator_rhevm_request_seconds",
    "Latency of HTTP requests to RHEV-M, by method and collection (path template)",
    ["method", "collection"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REGISTRY,
)
PASSES = Counter(
    "rhev_operator_reconciles",
    "Reconcile passes by kind and outcome (ready, progressing, stalled, paused, error)",
    ["kind", "outcome"],
    registry=REGISTRY,
)
PASS_CAUSES = Counter(
    "rhev_operator_reconcile_causes",
    "Reconcile passes by kind and what started them (start, rhevm, spec, dependency, "
    "requeue, resync, delete)",
    ["kind", "cause"],
    registry=REGISTRY,
)
WAKEUP_LATENCY = Histogram(
    "rhev_operator_wakeup_latency_seconds",
    "From a change reported (by the inventory: cause rhevm; a spec or dependency change) to "
    "the start of the pass it woke",
    ["cause"],
    buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=REGISTRY,
)
IPMI_CALLS = Counter(
    "rhev_operator_ipmi_calls",
    "IPMI calls to BMCs by operation and result (ok, busy, unreachable, auth, error)",
    ["operation", "result"],
    registry=REGISTRY,
)
IN_FLIGHT = Gauge(
    "rhev_operator_operations_in_flight",
    "Objects with an operation in flight in RHEV-M (status.operation), by kind",
    ["kind"],
    registry=REGISTRY,
)

_in_flight_lock = threading.Lock()
_in_flight: dict[str, str] = {}  # uid -> kind, for the objects with an operation in flight


def rhevm_request(method: str, collection: str, code: str, seconds: float) -> None:
    RHEVM_REQUESTS.labels(method, collection, code).inc()
    RHEVM_LATENCY.labels(method, collection).observe(seconds)


def reconciled(kind: str, cause: str, outcome: str) -> None:
    PASSES.labels(kind, outcome).inc()
    PASS_CAUSES.labels(kind, cause).inc()


def woken(cause: str, seconds: float) -> None:
    WAKEUP_LATENCY.labels(cause).observe(max(0.0, seconds))


def ipmi_call(operation: str, result: str) -> None:
    IPMI_CALLS.labels(operation, result).inc()


def in_flight(uid: str, kind: str, flying: bool) -> None:
    """Whether object `uid` of `kind` has an operation in flight (False also when gone)."""
    with _in_flight_lock:
        if flying:
            _in_flight[uid] = kind
        else:
            _in_flight.pop(uid, None)
        counts: dict[str, int] = {}
        for each in _in_flight.values():
            counts[each] = counts.get(each, 0) + 1
        for each in {kind, *counts}:
            IN_FLIGHT.labels(each).set(counts.get(each, 0))


#: (connection name, objects held, seconds since the last complete listing or None).
InventoryView = tuple[str, int, float | None]


class InventoryCollector(Collector):
    """Inventory size and age per connection, read at scrape time from `views`."""

    def __init__(self, views: Callable[[], Iterable[InventoryView]]) -> None:
        self.views = views

    def collect(self) -> Iterable[GaugeMetricFamily]:
        size = GaugeMetricFamily(
            "rhev_operator_inventory_objects",
            "RHEV-M objects held in the inventory, per connection",
            labels=["connection"],
        )
        age = GaugeMetricFamily(
            "rhev_operator_inventory_age_seconds",
            "Seconds since the inventory last listed a collection, per connection",
            labels=["connection"],
        )
        for name, objects, seconds in self.views():
            size.add_metric([name], objects)
            if seconds is not None:
                age.add_metric([name], seconds)
        yield size
        yield age


def watch_inventories(views: Callable[[], Iterable[InventoryView]]) -> InventoryCollector:
    collector = InventoryCollector(views)
    REGISTRY.register(collector)
    return collector


# -- serving -------------------------------------------------------------------------------

Route = Callable[[], tuple[int, str, bytes]]


def metrics_route() -> tuple[int, str, bytes]:
    return 200, CONTENT_TYPE_LATEST, generate_latest(REGISTRY)


class _Handler(BaseHTTPRequestHandler):
    routes: dict[str, Route] = {}

    def do_GET(self) -> None:
        route = self.routes.get(self.path.split("?", 1)[0])
        if route is None:
            status, ctype, body = 404, "text/plain; charset=utf-8", b"not found\n"
        else:
            status, ctype, body = route()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return  # probes and scrapes are not worth a log line each


def serve(host: str, port: int, routes: dict[str, Route]) -> ThreadingHTTPServer:
    """Serve `routes` (path -> handler) on host:port in a daemon thread; port 0 picks one."""
    handler = type("Handler", (_Handler,), {"routes": dict(routes)})
    server = ThreadingHTTPServer((host, port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="rhev-http", daemon=True)
    thread.start()
    return server


def now() -> float:
    return time.monotonic()

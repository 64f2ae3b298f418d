"""`rhev-operator run`: kopf underneath, configured from flags and the environment."""

from __future__ import annotations

import argparse
import logging
import os
import random
import socket
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

DEFAULT_PEERING = "rhev-operator"


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--namespace", "-n", action="append", default=[], metavar="NS")
    scope.add_argument("--all-namespaces", "-A", action="store_true")
    peering = parser.add_mutually_exclusive_group()
    peering.add_argument("--standalone", action="store_true", help="act without peering")
    peering.add_argument("--peering", metavar="NAME", help=f"peering name ({DEFAULT_PEERING})")
    parser.add_argument(
        "--priority",
        type=int,
        default=None,
        help="peering priority (default: random, so replicas never tie and all pause)",
    )
    parser.add_argument(
        "--peering-lifetime",
        type=int,
        default=60,
        metavar="SECONDS",
        help="how long a replica that stopped renewing its peering record (killed) is still "
        "deemed alive: the other replica takes over within this time (default 60)",
    )
    parser.add_argument("--liveness", metavar="URL", help="e.g. http://0.0.0.0:8080/healthz")
    parser.add_argument(
        "--readiness",
        metavar="URL",
        help="serve readiness, e.g. http://0.0.0.0:8082/readyz: 503 while peering keeps this "
        "replica paused or its peering object is missing (liveness stays kopf's)",
    )
    parser.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        metavar="PORT",
        help="serve Prometheus metrics on http://0.0.0.0:PORT/metrics (default: off; the "
        "chart turns it on at 8081)",
    )
    parser.add_argument("--trace-rest", action="store_true", help="log every REST call")
    parser.add_argument("--log-format", choices=["plain", "json"], default="plain")
    parser.add_argument("--verbose", action="store_true", help="kopf's debug logging")
    parser.add_argument("--rhevm-url", help="default RHEV-M API URL (env RHEVM_URL)")
    parser.add_argument(
        "--rhevm-secret", metavar="NS/NAME", help="Secret holding the default connection"
    )
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG or in-cluster)")
    parser.add_argument(
        "--resync-seconds",
        type=float,
        default=600.0,
        help="safety-net resync of each object when nothing woke it (default 600)",
    )
    parser.add_argument(
        "--poll-seconds",
        type=float,
        default=5.0,
        help="how often a RHEV-M collection that a converging object waits on is listed, per "
        "connection (default 5)",
    )
    parser.add_argument(
        "--idle-poll-seconds",
        type=float,
        default=30.0,
        help="how often the other collections in use are listed (default 30; the events feed "
        "shows their changes in between)",
    )
    parser.add_argument(
        "--events-seconds",
        type=float,
        default=1.0,
        help="how often RHEV-M's events feed is read between listings (default 1)",
    )
    parser.add_argument(
        "--secret-ttl",
        type=float,
        default=30.0,
        help="how long a Secret read by name is reused before it is read again (default 30, "
        "at most 30): a rotated password or CA is in use within that",
    )
    parser.add_argument(
        "--workers", type=int, default=8, help="passes that run at once (default 8)"
    )
    parser.add_argument(
        "--max-mutating",
        type=int,
        default=4,
        help="concurrent changing calls (POST, PUT, DELETE) per RHEV-M connection (default 4)",
    )


def _serve_metrics(port: int, runtime: Any) -> None:
    from rhev_operator import metrics

    def inventories() -> list[metrics.InventoryView]:
        views: list[metrics.InventoryView] = []
        for connection in runtime.connections.all():
            objects, age = connection.inventory.stats()
            views.append((connection.source, objects, age))
        return views

    metrics.watch_inventories(inventories)
    server = metrics.serve("0.0.0.0", port, {"/metrics": metrics.metrics_route})
    logging.getLogger(__name__).info("Serving metrics on port %d", server.server_address[1])


def _serve_readiness(url: str, readiness: Any) -> None:
    from urllib.parse import urlsplit

    from rhev_operator import metrics

    parts = urlsplit(url)
    if parts.scheme != "http" or parts.port is None:
        raise SystemExit("--readiness takes http://HOST:PORT/PATH")
    path = parts.path or "/readyz"
    server = metrics.serve(parts.hostname or "0.0.0.0", parts.port, {path: readiness.route})
    logging.getLogger(__name__).info(
        "Serving readiness on port %d at %s", server.server_address[1], path
    )


def reporting_instance() -> str:
    """The instance named in the operator's Events: the pod (POD_NAME, set by the chart
    through the downward API), else the host name."""
    return os.environ.get("POD_NAME") or socket.gethostname()


def _configure_logging(fmt: str, verbose: bool) -> None:
    import kopf

    kopf.configure(
        verbose=verbose,
        log_format=kopf.LogFormat.JSON if fmt == "json" else kopf.LogFormat.PLAIN,
        log_prefix=True,
    )
    # The REST trace goes through its own logger so --trace-rest is independent of --verbose.
    logging.getLogger("rhevm.rest").setLevel(logging.INFO)


def run_operator(args: argparse.Namespace) -> int:
    if args.kubeconfig:
        # kopf's kubeconfig login and the kubernetes package both read KUBECONFIG.
        os.environ["KUBECONFIG"] = os.path.abspath(args.kubeconfig)

    import kopf

    from rhev_operator.handlers import register_all
    from rhev_operator.handlers.readiness import PeeringReadiness, own_identity
    from rhev_operator.handlers.runtime import Runtime, SecretReader, default_from_environment
    from rhev_operator.handlers.wakeups import Wakeups
    from rhev_operator.inventory.connections import Connections

    _configure_logging(args.log_format, args.verbose)

    default_secret = None
    if args.rhevm_secret:
        namespace, _, name = args.rhevm_secret.partition("/")
        if not name:
            raise SystemExit("--rhevm-secret takes NAMESPACE/NAME")
        default_secret = (namespace, name)
    wakeups = Wakeups()
    connections = Connections(
        poll_interval=args.poll_seconds,
        events_interval=args.events_seconds,
        idle_interval=args.idle_poll_seconds,
        trace=args.trace_rest,
        max_mutating=args.max_mutating,
        on_change=wakeups.rhevm_changed,
    )
    runtime = Runtime(
        connections=connections,
        wakeups=wakeups,
        default_secret=default_secret,
        default_env=default_from_environment(args.rhevm_url),
        pool=ThreadPoolExecutor(args.workers, thread_name_prefix="rhev-pass"),
        secret_reader=SecretReader(min(args.secret_ttl, 30.0)),
    )

    @kopf.on.startup()
    def configure(settings: kopf.OperatorSettings, **_: Any) -> None:
        # Kopf's bookkeeping in annotations under rhev.io/ (never in status: it is pruned).
        settings.persistence.finalizer = "rhev.io/finalizer"
        settings.persistence.progress_storage = kopf.AnnotationsProgressStorage(prefix="rhev.io")
        settings.persistence.diffbase_storage = kopf.AnnotationsDiffBaseStorage(
            prefix="rhev.io", key="last-handled-configuration"
        )
        settings.posting.level = logging.INFO
        # Events say who reported them: the operator, and which pod of it.
        settings.posting.reporting_component = "rhev-operator"
        settings.posting.reporting_instance = reporting_instance()
        settings.posting.event_name_prefix = "rhev-operator-"
        settings.watching.server_timeout = 300
        settings.watching.client_timeout = 330
        settings.execution.max_workers = 16
        settings.peering.lifetime = args.peering_lifetime
        if not args.peering and not args.standalone:
            # Peer under our own name when the peering CRD exists; run alone when it does not.
            settings.peering.name = DEFAULT_PEERING
            settings.peering.mandatory = False

    @kopf.on.login()
    def login(**kwargs: Any) -> Any:
        if os.path.exists("/var/run/secrets/kubernetes.io/serviceaccount/token") and not (
            args.kubeconfig or os.environ.get("KUBECONFIG")
        ):
            return kopf.login_with_service_account(**kwargs)
        return kopf.login_with_kubeconfig(**kwargs)

    @kopf.on.cleanup()
    def close_connections(**_: Any) -> None:
        runtime.connections.close_all()
        runtime.pool.shutdown(wait=False, cancel_futures=True)

    register_all(resync_seconds=args.resync_seconds)
    if args.metrics_port is not None:
        _serve_metrics(args.metrics_port, runtime)

    namespaces = list(args.namespace)
    priority = args.priority if args.priority is not None else random.randint(1, 1_000_000)
    identity = own_identity()
    readiness = PeeringReadiness(
        name=None if args.standalone else (args.peering or DEFAULT_PEERING),
        namespaces=namespaces,
        identity=identity,
        priority=priority,
        mandatory=bool(args.peering),
        kube=runtime.kube,
    )
    readiness.start()
    if args.readiness:
        _serve_readiness(args.readiness, readiness)
    kopf.run(
        standalone=bool(args.standalone),
        peering_name=args.peering,  # given: peering is mandatory
        priority=priority,
        identity=cast(Any, identity),  # kopf's Identity is a NewType of str
        liveness_endpoint=args.liveness,
        clusterwide=not namespaces,
        namespaces=namespaces,
        memo=kopf.Memo(runtime=runtime),
    )
    return 0

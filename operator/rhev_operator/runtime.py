"""`rhev-operator run`: kopf underneath, configured from flags and the environment."""

from __future__ import annotations

import argparse
import logging
import os
import random
from concurrent.futures import ThreadPoolExecutor
from typing import Any

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
        help="how often each RHEV-M collection in use is listed per connection (default 5)",
    )
    parser.add_argument(
        "--events-seconds",
        type=float,
        default=1.0,
        help="how often RHEV-M's events feed is read between listings (default 1)",
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
    from rhev_operator.handlers.runtime import Runtime, default_from_environment
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

    namespaces = list(args.namespace)
    kopf.run(
        standalone=bool(args.standalone),
        peering_name=args.peering,  # given: peering is mandatory
        priority=args.priority if args.priority is not None else random.randint(1, 1_000_000),
        liveness_endpoint=args.liveness,
        clusterwide=not namespaces,
        namespaces=namespaces,
        memo=kopf.Memo(runtime=runtime),
    )
    return 0

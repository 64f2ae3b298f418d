"""The `rhevsim` command: `rhevsim serve [...]`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from typing import Any


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rhevsim", description="A RHEV-M (oVirt engine) simulator"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve the REST API v4 and the /sim control endpoints")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8443, help="port (default 8443; 0 = any)")
    serve.add_argument("--tls", action="store_true", help="serve HTTPS (needs --cert and --key)")
    serve.add_argument("--cert", help="TLS certificate chain file (PEM)")
    serve.add_argument("--key", help="TLS private key file (PEM)")
    serve.add_argument("--inventory", help="inventory YAML file (default: a fresh engine)")
    serve.add_argument("--admin-password", default=None, help="password of admin@internal")
    serve.add_argument(
        "--time-scale", type=float, default=1.0, help="run state machines this many times faster"
    )
    serve.add_argument(
        "--clock",
        choices=("real", "manual"),
        default="real",
        help="real (scaled) time, or manual: advance with POST /sim/clock/advance",
    )
    serve.add_argument("--seed", type=int, default=0, help="seed for ids and fault probabilities")
    serve.add_argument("--no-bmc", action="store_true", help="do not start the simulated BMCs")
    serve.add_argument("-v", "--verbose", action="store_true", help="log every request")
    return parser


def serve(args: argparse.Namespace) -> int:
    from rhevsim.inventory import InventoryError, load_file
    from rhevsim.server import SimServer
    from rhevsim.sim import Simulator
    from rhevsim.testing import start_bmcs, stop_bmcs

    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO, format="%(asctime)s %(message)s"
    )
    if args.tls and not (args.cert and args.key):
        print("rhevsim: --tls needs --cert FILE and --key FILE", file=sys.stderr)
        return 2
    if args.time_scale <= 0:
        print("rhevsim: --time-scale must be > 0", file=sys.stderr)
        return 2
    try:
        inv: dict[str, Any] = load_file(args.inventory) if args.inventory else {}
        sim = Simulator(
            inv,
            clock=args.clock,
            time_scale=args.time_scale,
            seed=args.seed,
            admin_password=args.admin_password,
        )
    except (InventoryError, OSError) as exc:
        print(f"rhevsim: {exc}", file=sys.stderr)
        return 2
    server = SimServer(
        sim,
        args.host,
        args.port,
        tls_cert=args.cert if args.tls else None,
        tls_key=args.key if args.tls else None,
    )
    server.start()
    proc = None
    if not args.no_bmc:
        proc = start_bmcs(server.url, sim)
    print(f"rhevsim listening on {server.url}", flush=True)
    done = threading.Event()

    def _stop(signum: int, frame: Any) -> None:
        done.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        done.wait()
    finally:
        if proc is not None:
            stop_bmcs(proc)
        server.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return serve(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())

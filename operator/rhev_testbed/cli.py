"""The test bed's verbs of `rhev-operator`: dev-apiserver, demo, bench.

`rhev_operator.cli` forwards these verbs here; `python -m rhev_testbed.cli VERB ...` is the
same command without the operator's entry point.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

VERBS = ("dev-apiserver", "demo", "bench")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rhev-operator", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    dev = sub.add_parser("dev-apiserver", help="a local Kubernetes API for tests and the demo")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=0)
    dev.add_argument("--kubeconfig", help="write a kubeconfig for this server to FILE")
    dev.add_argument("--crds", help="a folder or file of CRDs to register at start")
    dev.add_argument(
        "--log-requests", action="store_true", help="print every request (method, path, query)"
    )

    demo = sub.add_parser("demo", help="the embedded default: simulator, local API and operator")
    demo.add_argument(
        "--once", action="store_true", help="apply the seed, wait until all is Ready, show, exit"
    )
    demo.add_argument("--time-scale", type=float, default=20.0, help="the simulator's speed-up")
    demo.add_argument("--workdir", default=".demo", help="logs and kubeconfig (default .demo)")

    sub.add_parser(
        "bench", help="the operator with N VirtualMachines against the simulator (own flags)"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["bench"]:  # the benchmark parses its own flags
        from rhev_testbed.bench.vms import main as bench_main

        return bench_main(argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "dev-apiserver":
        from rhev_testbed.kubeapi.server import serve_forever

        return serve_forever(
            args.host,
            args.port,
            kubeconfig=args.kubeconfig,
            crds=args.crds,
            log_requests=args.log_requests,
        )
    if args.command == "demo":
        from rhev_testbed.demo import run_demo

        return run_demo(once=args.once, workdir=args.workdir, time_scale=args.time_scale)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""The `rhev-operator` command: run, crds, dev-apiserver, demo."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rhev-operator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    crds = sub.add_parser("crds", help="write crds/*.yaml and the chart's CRDs from the models")
    crds.add_argument("--check", action="store_true", help="exit 1 when the files differ")
    crds.add_argument("--root", default=".", help="project root (default: current directory)")

    dev = sub.add_parser("dev-apiserver", help="a local Kubernetes API for tests and the demo")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=int, default=0)
    dev.add_argument("--kubeconfig", help="write a kubeconfig for this server to FILE")
    dev.add_argument("--crds", help="a folder or file of CRDs to register at start")

    run = sub.add_parser("run", help="run the operator")
    from rhev_operator.runtime import add_run_arguments

    add_run_arguments(run)

    demo = sub.add_parser("demo", help="the embedded default: simulator, local API and operator")
    demo.add_argument(
        "--once", action="store_true", help="apply the seed, wait until all is Ready, show, exit"
    )
    demo.add_argument("--time-scale", type=float, default=20.0, help="the simulator's speed-up")
    demo.add_argument("--workdir", default=".demo", help="logs and kubeconfig (default .demo)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "crds":
        from rhev_operator.api.crdgen import write_crds

        return write_crds(args.root, check=args.check)
    if args.command == "dev-apiserver":
        from rhev_operator.devapi.server import serve_forever

        return serve_forever(args.host, args.port, kubeconfig=args.kubeconfig, crds=args.crds)
    if args.command == "run":
        from rhev_operator.runtime import run_operator

        return run_operator(args)
    if args.command == "demo":
        from rhev_operator.demo import run_demo

        return run_demo(once=args.once, workdir=args.workdir, time_scale=args.time_scale)
    return 2


if __name__ == "__main__":
    sys.exit(main())

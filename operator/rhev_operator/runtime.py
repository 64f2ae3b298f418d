"""`rhev-operator run`: kopf underneath, configured from flags and the environment."""

from __future__ import annotations

import argparse


def add_run_arguments(parser: argparse.ArgumentParser) -> None:
    scope = parser.add_mutually_exclusive_group()
    scope.add_argument("--namespace", "-n", action="append", default=[], metavar="NS")
    scope.add_argument("--all-namespaces", "-A", action="store_true")
    peering = parser.add_mutually_exclusive_group()
    peering.add_argument("--standalone", action="store_true")
    peering.add_argument("--peering", metavar="NAME")
    parser.add_argument("--liveness", metavar="URL")
    parser.add_argument("--trace-rest", action="store_true", help="log every REST call")
    parser.add_argument("--log-format", choices=["plain", "json"], default="plain")
    parser.add_argument("--rhevm-url", help="default RHEV-M connection URL (env RHEVM_URL)")
    parser.add_argument("--rhevm-secret", help="NAMESPACE/NAME of the default connection Secret")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: KUBECONFIG or in-cluster)")


def run_operator(args: argparse.Namespace) -> int:
    raise SystemExit("rhev-operator run: not built yet")

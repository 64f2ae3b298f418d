"""The `rhev-operator` command: run, crds, docs, export, console; and dev-apiserver, demo, bench
from the test bed."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

# Verbs served by the test bed (the `rhev_testbed` package, installed by the `demo` or `dev`
# extra). The operator alone never needs them, so they are forwarded, not imported.
TESTBED_VERBS = {
    "dev-apiserver": "a local Kubernetes API for tests and the demo",
    "demo": "the embedded default: simulator, local API and operator",
    "bench": "the operator at scale against the simulator",
}
MISSING_TESTBED = (
    "rhev-operator {verb}: the test bed is not installed; install the `demo` extra "
    "(from a checkout: `make run`, or pip install -e packaging/rhevsim -e packaging/rhev-testbed "
    "-e '.[demo]')"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="rhev-operator", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    crds = sub.add_parser("crds", help="write crds/*.yaml and the chart's CRDs from the models")
    crds.add_argument("--check", action="store_true", help="exit 1 when the files differ")
    crds.add_argument("--root", default=".", help="project root (default: current directory)")

    docs = sub.add_parser("docs", help="write docs/reference.md from the models")
    docs.add_argument("--check", action="store_true", help="exit 1 when the file differs")
    docs.add_argument("--root", default=".", help="project root (default: current directory)")

    run = sub.add_parser("run", help="run the operator")
    from rhev_operator.runtime import add_run_arguments

    add_run_arguments(run)

    from rhev_operator.export import add_export_arguments

    add_export_arguments(sub.add_parser("export", help="write manifests of a running RHEV-M"))

    from rhev_operator.console import add_console_arguments

    add_console_arguments(
        sub.add_parser("console", help="the graphics console of a running VirtualMachine (wvid)")
    )

    for verb, text in TESTBED_VERBS.items():
        forwarded = sub.add_parser(verb, help=f"{text} (test bed)", add_help=False)
        forwarded.add_argument("args", nargs=argparse.REMAINDER)
    return parser


def forward_to_testbed(verb: str, args: Sequence[str]) -> int:
    """The one point where the operator reaches the test bed."""
    try:
        from rhev_testbed.cli import main as testbed_main
    except ImportError:
        print(MISSING_TESTBED.format(verb=verb), file=sys.stderr)
        return 2
    return testbed_main([verb, *args])


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in TESTBED_VERBS:
        return forward_to_testbed(argv[0], argv[1:])
    args = build_parser().parse_args(argv)
    if args.command == "crds":
        from rhev_operator.api.crdgen import write_crds

        return write_crds(args.root, check=args.check)
    if args.command == "docs":
        from rhev_operator.api.docgen import write_docs

        return write_docs(args.root, check=args.check)
    if args.command == "run":
        from rhev_operator.runtime import run_operator

        return run_operator(args)
    if args.command == "export":
        from rhev_operator.export import run_export

        return run_export(args)
    if args.command == "console":
        from rhev_operator.console import run_console

        return run_console(args)
    return 2


if __name__ == "__main__":
    sys.exit(main())

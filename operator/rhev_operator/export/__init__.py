"""`rhev-operator export`: manifests that describe a running RHEV-M as it is.

Reads RHEV-M (GET only) through rhev_operator.rhevm and writes one resource per data
center, cluster, logical network, storage domain, host, template and VM, each with
`adopt: true` and `deletionPolicy: Retain`, into numbered files that `kubectl apply -f DIR`
applies in order. Applying them to a cluster where the operator runs changes nothing in
RHEV-M. Placeholder Secrets go to DIR/secrets/ (not applied by `kubectl apply -f DIR`).
See docs/export.md."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import yaml

from rhev_operator.export.build import Builder, Exported
from rhev_operator.export.inventory import read

#: File name -> the builder method that fills it, in the order they are applied.
FILES = (
    ("10-datacenters.yaml", "datacenters"),
    ("20-clusters.yaml", "clusters"),
    ("30-logicalnetworks.yaml", "networks"),
    ("40-hypervisors.yaml", "hypervisors"),
    ("50-storagedomains.yaml", "storage_domains"),
    ("60-vmtemplates.yaml", "templates"),
    ("70-virtualmachines.yaml", "vms"),
)
PLACEHOLDER = "FILL-IN"


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-center",
        action="append",
        default=[],
        metavar="NAME",
        help="export only this data center (repeatable; default: all)",
    )
    parser.add_argument("--namespace", "-n", help="metadata.namespace of every resource")
    parser.add_argument(
        "-o", "--output", metavar="DIR", help="directory to write (default: one stream to stdout)"
    )
    parser.add_argument(
        "--connection-secret",
        metavar="NAME",
        help="set spec.connection to this Secret (a placeholder is written to DIR/secrets/)",
    )
    parser.add_argument("--rhevm-url", help="RHEV-M API URL (env RHEVM_URL)")
    parser.add_argument(
        "--rhevm-secret", metavar="NS/NAME", help="read the connection from this Secret"
    )
    parser.add_argument("--kubeconfig", help="kubeconfig for --rhevm-secret")


def run_export(args: argparse.Namespace) -> int:
    from rhev_operator.handlers.runtime import connection_from_args
    from rhev_operator.rhevm import RhevmClient, errors

    def report(message: str) -> None:
        print(f"export: {message}", file=sys.stderr)

    try:
        config = connection_from_args(args.rhevm_url, args.rhevm_secret, args.kubeconfig)
    except ValueError as exc:
        report(str(exc))
        return 2
    try:
        with RhevmClient(config) as client:
            snap = read(client, args.data_center)
    except LookupError as exc:
        report(str(exc))
        return 2
    except errors.RhevmError as exc:
        report(f"reading RHEV-M failed: {exc}")
        return 1
    builder = Builder(snap, args.namespace, report, connection=args.connection_secret)
    files = {name: list(getattr(builder, method)()) for name, method in FILES}
    secrets = _secrets(builder, config.url, config.username, args.namespace)
    if args.output:
        _write_dir(Path(args.output), files, secrets)
    else:
        sys.stdout.write(_stream([e for items in files.values() for e in items]))
    counts = ", ".join(f"{len(items)} {name[3:-5]}" for name, items in files.items())
    report(f"exported {counts}" + (f" to {args.output}" if args.output else ""))
    return 0


def _stream(items: list[Exported]) -> str:
    parts = []
    for item in items:
        comments = "".join(f"# {line}\n" for line in item.comments)
        parts.append(comments + yaml.safe_dump(item.body(), sort_keys=False))
    return "---\n".join(parts)


def _secret(name: str, namespace: str | None, data: dict[str, str], note: str) -> str:
    meta: dict[str, Any] = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    body = {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "stringData": data}
    return f"# {note}\n" + yaml.safe_dump(body, sort_keys=False)


def _secrets(builder: Builder, url: str, username: str, namespace: str | None) -> dict[str, str]:
    """Placeholder Secrets: never a password, only what the user must fill in."""
    out: dict[str, str] = {}
    if builder.connection:
        out[f"{builder.connection}.yaml"] = _secret(
            builder.connection,
            namespace,
            {"url": url, "username": username, "password": PLACEHOLDER},
            "The RHEV-M connection of every exported resource: fill in the password.",
        )
    for name, _address, _port, user in builder.fence_agents:
        out[f"{name}-bmc.yaml"] = _secret(
            f"{name}-bmc",
            namespace,
            {"username": user or PLACEHOLDER, "password": PLACEHOLDER},
            f"IPMI credentials of the BMC of Hypervisor {name}: fill in, apply, then add "
            "spec.bmc as the comment in 40-hypervisors.yaml says.",
        )
    return out


def _write_dir(out: Path, files: dict[str, list[Exported]], secrets: dict[str, str]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for name, items in files.items():
        path = out / name
        if items:
            path.write_text(_stream(items), encoding="utf-8")
        elif path.exists():
            path.unlink()
    if secrets:
        (out / "secrets").mkdir(exist_ok=True)
        for name, text in secrets.items():
            (out / "secrets" / name).write_text(text, encoding="utf-8")


__all__ = ["add_export_arguments", "run_export"]

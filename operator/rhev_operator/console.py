"""`rhev-operator console NAME` and `kubectl rhev console NAME` [`wvid`]: the graphics
console of a running VirtualMachine.

Reads the VirtualMachine through the kubeconfig (KUBECONFIG, `--kubeconfig`, else
in-cluster), connects to RHEV-M with the resource's `spec.connection` Secret, else like
`rhev-operator run` (`--rhevm-secret NS/NAME`, or `--rhevm-url` / RHEVM_URL with
RHEVM_USERNAME, RHEVM_PASSWORD, ...), lists the VM's consoles (`current=true`), picks the
protocol (`--protocol`, else spec.display, else the VM's first), and either writes the
engine's remote-viewer file (`-o FILE`, mode 0600; `remote-viewer FILE` opens it; the ticket
in it is valid 120 seconds) or asks for a ticket (`ticket`, valid `--expiry` seconds) and
prints protocol, host, port, TLS port and ticket.

The ticket is printed to the user (or written to the file) and nowhere else: never into
status, Events or logs. Exit codes: 0 done; 1 the VM or its console is not there (not
found, not running, no such protocol) or RHEV-M refused; 2 bad arguments or connection.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO, cast

#: The VM states in which the engine gives a console ticket (SetVmTicketCommand).
CONSOLE_STATES = ("up", "paused", "powering_up", "powering_down", "reboot_in_progress")
DEFAULT_EXPIRY = 120
GROUP, VERSION, PLURAL = "rhev.io", "v1alpha1", "virtualmachines"


class ConsoleError(Exception):
    """What the user is told (exit code `code`)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def add_console_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="the VirtualMachine resource")
    parser.add_argument("-n", "--namespace", help="its namespace (default: the kubeconfig's)")
    parser.add_argument(
        "--protocol", choices=("spice", "vnc"), help="default: spec.display, else the VM's first"
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write a remote-viewer (.vv) file (- for stdout) instead of printing a ticket",
    )
    parser.add_argument(
        "--expiry",
        type=int,
        default=DEFAULT_EXPIRY,
        metavar="SECONDS",
        help=f"how long the printed ticket is valid (default {DEFAULT_EXPIRY})",
    )
    parser.add_argument("--kubeconfig", help="kubeconfig (default: KUBECONFIG, else in-cluster)")
    parser.add_argument("--rhevm-url", help="RHEV-M API URL when the VM has no spec.connection")
    parser.add_argument(
        "--rhevm-secret",
        metavar="NS/NAME",
        help="read the connection from this Secret when the VM has no spec.connection",
    )


def _namespace(explicit: str | None) -> str:
    if explicit:
        return explicit
    from kubernetes import config

    try:
        _, active = config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
    except (config.ConfigException, OSError):
        return "default"
    return str((active or {}).get("context", {}).get("namespace") or "default")


def _read_vm(namespace: str, name: str) -> Any:
    """The VirtualMachine resource, parsed."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    from rhev_operator.api import VirtualMachine
    from rhev_operator.api.errors import SpecError
    from rhev_operator.handlers.runtime import KubeClient

    api = client.CustomObjectsApi(KubeClient().api_client())
    try:
        body = cast(
            "dict[str, Any]",
            api.get_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, name),
        )
    except ApiException as exc:
        if exc.status == 404:
            raise ConsoleError(
                f"VirtualMachine {name} not found in namespace {namespace}"
            ) from None
        raise ConsoleError(f"reading VirtualMachine {namespace}/{name}: {exc.reason}") from None
    try:
        return VirtualMachine.parse(body)
    except SpecError as exc:
        raise ConsoleError(f"VirtualMachine {namespace}/{name} is invalid: {exc}") from None


def _connection(args: argparse.Namespace, namespace: str, secret: str | None) -> Any:
    from rhev_operator.handlers.runtime import SecretReader, connection_from_args
    from rhev_operator.handlers.secrets import InvalidSecret, MissingSecret, config_from_secret

    try:
        if secret:
            return config_from_secret(namespace, secret, SecretReader().read(namespace, secret))
        return connection_from_args(args.rhevm_url, args.rhevm_secret, args.kubeconfig)
    except (MissingSecret, InvalidSecret, ValueError) as exc:
        raise ConsoleError(str(exc), 2) from None


def _console(client: Any, resource: Any, protocol: str | None) -> tuple[Any, Any]:
    """The running VM and its console of `protocol` (else spec.display, else the first)."""
    from rhev_operator.rhevm import errors

    vm = None
    if resource.status.id:
        try:
            vm = client.vms.get(resource.status.id)
        except errors.NotFound:
            vm = None
    vm = vm or client.vms.find(resource.rhev_name)
    if vm is None:
        raise ConsoleError(f"RHEV-M has no VM {resource.rhev_name} (yet)")
    if vm.status not in CONSOLE_STATES:
        raise ConsoleError(
            f"VM {vm.name} is {vm.status}: a console needs a running VM (powerState: Running)"
        )
    consoles = client.vms.graphics_consoles(vm.id).list_current()
    want = protocol or resource.spec.display
    chosen = next((c for c in consoles if want is None or c.protocol == want), None)
    if chosen is None:
        has = ", ".join(str(c.protocol) for c in consoles) or "none"
        raise ConsoleError(f"VM {vm.name} has no {want or 'graphics'} console (it has: {has})")
    return vm, chosen


def _write_private(path: str, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)


def run_console(args: argparse.Namespace, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    try:
        _run(args, out)
    except ConsoleError as exc:
        print(f"console: {exc}", file=sys.stderr)
        return exc.code
    return 0


def _run(args: argparse.Namespace, out: TextIO) -> None:
    from rhev_operator.rhevm import RhevmClient, errors

    if args.kubeconfig:
        os.environ["KUBECONFIG"] = args.kubeconfig
    namespace = _namespace(args.namespace)
    resource = _read_vm(namespace, args.name)
    config = _connection(args, namespace, resource.spec.connection)
    try:
        with RhevmClient(config) as client:
            vm, console = _console(client, resource, args.protocol)
            consoles = client.vms.graphics_consoles(vm.id)
            if args.output:
                text = consoles.remote_viewer_connection_file(console.id)
                if not text:
                    raise ConsoleError(f"RHEV-M gave no console file for VM {vm.name}")
                if args.output == "-":
                    out.write(text)
                else:
                    _write_private(args.output, text)
                    print(
                        f"console: wrote {args.output}; open it with remote-viewer "
                        "(the ticket in it is valid 120 seconds)",
                        file=sys.stderr,
                    )
                return
            ticket = consoles.ticket(console.id, expiry=args.expiry)
    except errors.RhevmError as exc:
        raise ConsoleError(f"RHEV-M refused: {exc}") from None
    lines = [
        f"vm: {vm.name}",
        f"protocol: {console.protocol}",
        f"host: {console.address or ''}",
        f"port: {console.port if console.port is not None else ''}",
    ]
    if console.tls_port is not None:
        lines.append(f"tls-port: {console.tls_port}")
    lines += [f"ticket: {ticket.value}", f"expires-in: {ticket.expiry or args.expiry}s"]
    out.write("\n".join(lines) + "\n")


def kubectl_main(argv: Sequence[str] | None = None) -> int:
    """`kubectl-rhev`, the kubectl plugin: `kubectl rhev console NAME ...`."""
    parser = argparse.ArgumentParser(prog="kubectl rhev", description="rhev-operator for kubectl")
    sub = parser.add_subparsers(dest="command", required=True)
    add_console_arguments(sub.add_parser("console", help="a VirtualMachine's graphics console"))
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    return run_console(args)


if __name__ == "__main__":
    sys.exit(kubectl_main())

"""TLS through the whole path: a RHEV-M (the simulator over HTTPS) whose certificate comes
from another CA than the connection Secret's `ca.crt` is refused, `Stalled` naming TLS, and
nothing is created; `insecure: "true"` is honoured only when asked; a CA rotation in the
Secret is picked up without restarting the operator. No password reaches a log, an Event or
a resource."""

from __future__ import annotations

import base64
import re
import subprocess
import textwrap
from collections.abc import Iterator

import pytest

from tests.e2e.test_fault_crash import sim_names
from tests.e2e.test_fault_hostile_input import leaks, secret_forms
from tests.fixtures.operator import BIN, E2E, SIM_PASSWORD, _start, _stop
from tests.sim.test_client_tls import self_signed


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.fixture
def tls_sim(e2e: E2E) -> Iterator[tuple[str, str, str]]:
    """A second simulator over HTTPS: (API URL, its CA, another CA)."""
    cert, key, pem = self_signed(e2e.workdir / "tls")
    _, _, other = self_signed(e2e.workdir / "other-ca")
    proc, found = _start(
        [str(BIN / "rhevsim"), "serve", "--port", "0", "--tls", "--cert", cert, "--key", key,
         "--admin-password", SIM_PASSWORD, "--no-bmc", "--time-scale", "50"],
        e2e.workdir / "tls-sim.log",
        r"listening on (https://[\d.:]+)",
    )  # fmt: skip
    try:
        yield found.group(1) + "/ovirt-engine/api", pem, other
    finally:
        _stop(proc)


def secret(name: str, url: str, ca: str | None = None, insecure: bool = False) -> str:
    data = {"url": b64(url), "username": b64("admin@internal"), "password": b64(SIM_PASSWORD)}
    if ca is not None:
        data["ca.crt"] = b64(ca)
    if insecure:
        data["insecure"] = b64("true")
    body = ", ".join(f"{k}: {v}" for k, v in data.items())
    return f"apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}}}\ndata: {{{body}}}\n"


def dc(name: str, connection: str) -> str:
    return textwrap.dedent(f"""
        apiVersion: rhev.io/v1alpha1
        kind: RhevDataCenter
        metadata: {{name: {name}}}
        spec: {{storageType: nfs, connection: {connection}}}
        """)


def conditions(e2e: E2E, name: str) -> dict[str, dict[str, str]]:
    status = e2e.get("rdc", name).get("status") or {}
    return {c["type"]: c for c in status.get("conditions") or []}


def tls_names(url: str) -> list[str]:
    out = subprocess.run(
        ["curl", "-sk", "-u", f"admin@internal:{SIM_PASSWORD}", url + "/datacenters"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    return re.findall(r"<name>([^<]*)</name>", out)


def test_tls_other_ca_stalls_insecure_only_when_asked_and_ca_rotation_is_picked_up(
    e2e: E2E, tls_sim: tuple[str, str, str]
) -> None:
    url, ca, other = tls_sim
    docs = [
        secret("conn-other-ca", url, ca=other),
        secret("conn-no-ca", url),
        secret("conn-insecure", url, insecure=True),
        dc("tlsdc", "conn-other-ca"),
        dc("noca", "conn-no-ca"),
        dc("insecuredc", "conn-insecure"),
    ]
    e2e.kubectl("apply", "-f", "-", input="---\n".join(docs))

    def stalled_on_tls(name: str) -> bool:
        c = conditions(e2e, name).get("Stalled", {})
        return c.get("status") == "True" and c.get("reason") == "TLSError" and "TLS" in c["message"]

    e2e.wait_for("tlsdc Stalled on TLS", lambda: stalled_on_tls("tlsdc"))
    e2e.wait_for("noca Stalled on TLS", lambda: stalled_on_tls("noca"))
    e2e.wait_for(
        "insecuredc Ready",
        lambda: conditions(e2e, "insecuredc").get("Ready", {}).get("status") == "True",
    )
    assert sorted(tls_names(url)) == ["Default", "insecuredc"]  # nothing made over bad TLS
    assert "tlsdc" not in sim_names(e2e)["datacenters"]

    # The CA in the Secret is rotated to the right one: picked up, no restart.
    operator = e2e.operator
    e2e.kubectl("apply", "-f", "-", input=secret("conn-other-ca", url, ca=ca))
    e2e.wait_for(
        "tlsdc Ready after the CA rotation",
        lambda: conditions(e2e, "tlsdc").get("Ready", {}).get("status") == "True",
        timeout=90,
    )
    assert e2e.operator is operator and operator is not None and operator.poll() is None
    assert "Stalled" not in conditions(e2e, "tlsdc") or (
        conditions(e2e, "tlsdc")["Stalled"]["status"] == "False"
    )
    assert sorted(tls_names(url)) == ["Default", "insecuredc", "tlsdc"]
    assert leaks(e2e, secret_forms([SIM_PASSWORD])) == {}

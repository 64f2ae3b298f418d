"""Readiness: a replica that cannot act for lack of a peering object says so (an error line,
readiness 503) while liveness stays up; a standby replica is not ready either."""

from __future__ import annotations

import json
import re
import socket
import urllib.error
import urllib.request

import pytest

from tests.fixtures.operator import E2E, ROOT

PEERING = """\
apiVersion: kopf.dev/v1
kind: KopfPeering
metadata: {name: rhev-operator, namespace: team-a}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def probe(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def readiness_url(e2e: E2E, seen: int) -> str:
    """The readiness URL of the `seen`-th operator started (its port is logged)."""
    ports = e2e.wait_for(
        "the readiness port",
        lambda: (
            (found := re.findall(r"Serving readiness on port (\d+)", e2e.operator_log.read_text()))
            and len(found) > seen
            and found
        ),
    )
    return f"http://127.0.0.1:{ports[seen]}/readyz"


@pytest.mark.parametrize("e2e", [{"operator": False}], indirect=True)
def test_missing_peering_object_fails_readiness_not_liveness(e2e: E2E) -> None:
    e2e.kubectl(
        "apply", "-f", "-", input="apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n"
    )
    e2e.kubectl("apply", "-f", str(ROOT / "manifests/deploy/11-peering-crd-namespaced.yaml"))
    live = free_port()
    e2e.start_operator(
        "--peering",
        "rhev-operator",
        "--priority",
        "20",
        "--liveness",
        f"http://127.0.0.1:{live}/healthz",
        "--readiness",
        "http://127.0.0.1:0/readyz",
        "--log-format",
        "json",
        peering=True,
        scope=("-n", "team-a"),
    )
    ready = readiness_url(e2e, 0)
    status, text = e2e.wait_for(
        "readiness to say why", lambda: (got := probe(ready))[1].startswith("not ready: no") and got
    )
    assert status == 503
    assert "KopfPeering team-a/rhev-operator" in text
    said = [
        json.loads(line)
        for line in e2e.operator_log.read_text().splitlines()
        if "Not acting: no peering object: KopfPeering team-a/rhev-operator" in line
    ]
    assert len(said) == 1 and said[0]["severity"] == "error", said
    assert probe(f"http://127.0.0.1:{live}/healthz")[0] == 200  # alive: never restarted

    # With the peering object, the replica acts and is ready.
    e2e.kubectl("apply", "-f", "-", input=PEERING)
    e2e.wait_for("ready", lambda: probe(ready)[0] == 200)
    e2e.wait_for(
        "kopf resuming",
        lambda: "Resuming operations after the pause" in e2e.operator_log.read_text(),
    )

    # A second replica of lower priority stands by: alive, not ready.
    e2e.start_operator(
        "--peering",
        "rhev-operator",
        "--priority",
        "10",
        "--readiness",
        "http://127.0.0.1:0/readyz",
        peering=True,
        scope=("-n", "team-a"),
    )
    standby = readiness_url(e2e, 1)
    status, text = e2e.wait_for(
        "the standby's readiness",
        lambda: (got := probe(standby))[1].startswith("not ready: standby") and got,
    )
    assert status == 503 and "(priority 20)" in text
    assert probe(ready)[0] == 200

"""Secrets are read by name (`get`), briefly cached: never listed or watched, and a rotated
password is picked up without a restart."""

from __future__ import annotations

import re
import textwrap

from tests.e2e.test_e2e_runtime import apply_dc, b64
from tests.fixtures.operator import E2E, SIM_PASSWORD

ROTATED = "e2e-R0tated-pw"


def secret_yaml(e2e: E2E, password: str) -> str:
    return textwrap.dedent(f"""
        apiVersion: v1
        kind: Secret
        metadata: {{name: rhevm-team}}
        data: {{url: {b64(e2e.sim_url + "/ovirt-engine/api")}, username: {b64("admin@internal")},
                password: {b64(password)}}}
        """)


def secret_requests(e2e: E2E) -> list[tuple[str, str, str]]:
    """The requests the local API served on Secrets, as (METHOD, path?query, user agent)."""
    text = (e2e.workdir / "apiserver.log").read_text()
    return re.findall(r"^dev-apiserver request (\w+) (\S*/secrets\S*) (\S+)$", text, re.M)


def test_rotated_password_rebuilds_the_connection_and_secrets_are_never_listed(
    e2e: E2E,
) -> None:
    e2e.kubectl("apply", "-f", "-", input=secret_yaml(e2e, SIM_PASSWORD))
    apply_dc(e2e, "rotdc", connection="rhevm-team", description="before")
    e2e.kubectl("wait", "--for=condition=Ready", "rdc/rotdc", "--timeout=60s")

    # The password changes in RHEV-M (its sessions end), then in the Secret.
    e2e.sim("POST", "/sim/auth/password", {"user": "admin@internal", "password": ROTATED})
    e2e.sim("POST", "/sim/auth/expire-tokens")
    e2e.kubectl("apply", "-f", "-", input=secret_yaml(e2e, ROTATED))
    e2e.kubectl(
        "patch", "rdc", "rotdc", "--type", "merge", "-p", '{"spec":{"description":"after"}}'
    )
    e2e.wait_for(
        "Ready for the new generation, through the rebuilt connection",
        lambda: (
            (st := e2e.get("rdc", "rotdc").get("status") or {}).get("observedGeneration") == 2
            and any(c["type"] == "Ready" and c["status"] == "True" for c in st["conditions"])
        ),
    )
    # RHEV-M has the change (read with the new password).
    e2e.sim("POST", "/sim/auth/password", {"user": "admin@internal", "password": SIM_PASSWORD})
    assert "<description>after</description>" in e2e.sim("GET", "/ovirt-engine/api/datacenters")
    log = e2e.operator_log.read_text()
    assert "Connection default/rhevm-team changed" in log
    assert SIM_PASSWORD not in log and ROTATED not in log

    requests = secret_requests(e2e)
    # The operator (the Python client; kubectl says "kubectl/...") reads by name: a GET of
    # the Secret, again after the rotation (the cache is short), and nothing else.
    operator = [(m, p) for m, p, agent in requests if not agent.startswith("kubectl")]
    path = "/api/v1/namespaces/default/secrets/rhevm-team"
    assert len(operator) >= 2 and set(operator) == {("GET", path)}, requests
    # Nobody listed or watched Secrets (kopf indexed them all before).
    assert all(
        re.fullmatch(r"/api/v1/namespaces/[^/]+/secrets/[^/?]+", p)
        for m, p, _ in requests
        if m == "GET"
    ), requests
    assert "watch-stream for secrets" not in log

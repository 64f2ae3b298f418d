"""The operator process: connections from Secrets, restarts, pausing, namespaces, tracing."""

from __future__ import annotations

import base64
import json
import re
import textwrap
import time

import pytest

from tests.fixtures.operator import E2E, ROOT, SIM_PASSWORD


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def dc_names(e2e: E2E) -> list[str]:
    return re.findall(r"<name>(.*?)</name>", e2e.sim("GET", "/ovirt-engine/api/datacenters"))


def condition(e2e: E2E, kind: str, name: str, type: str, namespace: str = "default") -> dict | None:
    out = e2e.kubectl("get", kind, name, "-n", namespace, "-o", "json").stdout
    for c in (json.loads(out).get("status") or {}).get("conditions") or []:
        if c["type"] == type:
            return dict(c)
    return None


def apply_dc(e2e: E2E, name: str, namespace: str = "default", **spec: object) -> None:
    body = {
        "apiVersion": "rhev.io/v1alpha1",
        "kind": "RhevDataCenter",
        "metadata": {"name": name, "namespace": namespace},
        "spec": spec,
    }
    e2e.kubectl("apply", "-f", "-", input=json.dumps(body))


def test_rotated_credentials_rebuild_the_connection(e2e: E2E) -> None:
    secret = textwrap.dedent(f"""
        apiVersion: v1
        kind: Secret
        metadata: {{name: rhevm-team}}
        data: {{url: {b64(e2e.sim_url + "/ovirt-engine/api")}, username: {b64("admin@internal")},
                password: {{PASSWORD}}}}
        """)
    e2e.kubectl("apply", "-f", "-", input=secret.replace("{PASSWORD}", b64("not-the-password")))
    apply_dc(e2e, "teamdc", connection="rhevm-team")
    stalled = e2e.wait_for(
        "Stalled on bad credentials",
        lambda: (c := condition(e2e, "rdc", "teamdc", "Stalled")) and c["status"] == "True" and c,
    )
    assert stalled["reason"] == "AuthenticationFailed"
    assert "not-the-password" not in json.dumps(stalled)
    assert "teamdc" not in dc_names(e2e)

    e2e.kubectl("apply", "-f", "-", input=secret.replace("{PASSWORD}", b64(SIM_PASSWORD)))
    e2e.wait_for(
        "Ready after rotation",
        lambda: (c := condition(e2e, "rdc", "teamdc", "Ready")) and c["status"] == "True",
    )
    assert "teamdc" in dc_names(e2e)
    log = e2e.operator_log.read_text()
    assert SIM_PASSWORD not in log and "not-the-password" not in log


def test_restart_resumes_without_duplicates_and_logs_out(e2e: E2E) -> None:
    apply_dc(e2e, "mydc")
    e2e.kubectl("wait", "--for=condition=Ready", "rdc/mydc", "--timeout=60s")
    assert e2e.stop_operator() == 0
    stats = e2e.sim("GET", "/sim/stats")
    logouts = sum(n for key, n in stats["requests"].items() if "sso-logout" in key)
    assert logouts >= 1, stats["requests"]

    # A change made while the operator is down is applied when it comes back.
    e2e.kubectl("patch", "rdc", "mydc", "--type", "merge", "-p", '{"spec":{"description":"x"}}')
    e2e.start_operator()
    e2e.wait_for(
        "the description after restart",
        lambda: "<description>x</description>" in e2e.sim("GET", "/ovirt-engine/api/datacenters"),
    )
    assert dc_names(e2e).count("mydc") == 1


def test_paused_resource_is_left_alone_until_unpaused(e2e: E2E) -> None:
    apply_dc(e2e, "mydc", description="one")
    e2e.kubectl("wait", "--for=condition=Ready", "rdc/mydc", "--timeout=60s")
    e2e.kubectl("annotate", "rdc", "mydc", "rhev.io/paused=true")
    e2e.kubectl("patch", "rdc", "mydc", "--type", "merge", "-p", '{"spec":{"description":"two"}}')
    time.sleep(3)  # several resync periods: nothing may reach RHEV-M meanwhile
    assert "<description>one</description>" in e2e.sim("GET", "/ovirt-engine/api/datacenters")
    e2e.kubectl("annotate", "rdc", "mydc", "rhev.io/paused-")
    e2e.wait_for(
        "the change after unpausing",
        lambda: "<description>two</description>" in e2e.sim("GET", "/ovirt-engine/api/datacenters"),
    )


@pytest.mark.parametrize("e2e", [{"operator": False}], indirect=True)
def test_namespaced_operator_acts_only_in_its_namespaces(e2e: E2E) -> None:
    e2e.kubectl(
        "apply", "-f", "-", input="apiVersion: v1\nkind: Namespace\nmetadata: {name: team-a}\n"
    )
    e2e.start_operator("--trace-rest", "--log-format", "json", scope=("-n", "team-a"))
    apply_dc(e2e, "adc", namespace="team-a")
    apply_dc(e2e, "otherdc", namespace="default")
    e2e.wait_for(
        "the team-a data center",
        lambda: (c := condition(e2e, "rdc", "adc", "Ready", "team-a")) and c["status"] == "True",
    )
    time.sleep(2)
    assert "otherdc" not in dc_names(e2e)
    assert condition(e2e, "rdc", "otherdc", "Ready") is None

    # JSON logs, with every REST call traced and no password in them.
    lines = [
        json.loads(line)
        for line in e2e.operator_log.read_text().splitlines()
        if line.startswith("{")
    ]
    messages = " ".join(str(line.get("message")) for line in lines)
    assert "POST" in messages and "/ovirt-engine/api/datacenters" in messages
    assert SIM_PASSWORD not in e2e.operator_log.read_text()


@pytest.mark.parametrize("e2e", [{"operator": False}], indirect=True)
def test_peering_lets_one_replica_act_and_the_other_take_over(e2e: E2E) -> None:
    e2e.kubectl("apply", "-f", str(ROOT / "manifests/deploy/10-peering-crd.yaml"))
    e2e.kubectl("apply", "-f", str(ROOT / "manifests/deploy/30-peering.yaml"))
    resumed = "Resuming operations after the pause"
    first = e2e.start_operator("--peering", "rhev-operator", "--priority", "20", peering=True)
    e2e.wait_for("the first replica to act", lambda: resumed in e2e.operator_log.read_text())
    # The second replica starts paused (kopf pauses until peering is known) and stays so.
    second = e2e.start_operator("--peering", "rhev-operator", "--priority", "10", peering=True)
    e2e.wait_for(
        "both keep-alives",
        lambda: e2e.operator_log.read_text().count("Keep-alive in 'rhev-operator'") >= 2,
    )
    assert e2e.operator_log.read_text().count(resumed) == 1
    apply_dc(e2e, "mydc")
    e2e.kubectl("wait", "--for=condition=Ready", "rdc/mydc", "--timeout=60s")
    assert dc_names(e2e).count("mydc") == 1

    # The acting replica goes away; the other resumes and serves the next change.
    assert e2e.operator_log.read_text().count(resumed) == 1
    assert e2e.stop_operator(first) == 0
    e2e.wait_for(
        "the second replica to resume", lambda: e2e.operator_log.read_text().count(resumed) == 2
    )
    apply_dc(e2e, "mydc2")
    e2e.wait_for(
        "the second replica to act",
        lambda: (c := condition(e2e, "rdc", "mydc2", "Ready")) and c["status"] == "True",
        timeout=90,
    )
    assert dc_names(e2e).count("mydc2") == 1
    assert second.poll() is None


@pytest.mark.parametrize("e2e", [{"operator": False}], indirect=True)
def test_default_connection_secret_outside_the_served_namespace(e2e: E2E) -> None:
    """The deployment's way: --rhevm-secret in the operator's namespace, resources in
    another one, liveness probe on, default peering (no peering CRD: runs alone)."""
    for ns in ("rhev-operator", "team-b"):
        e2e.kubectl(
            "apply", "-f", "-", input=f"apiVersion: v1\nkind: Namespace\nmetadata: {{name: {ns}}}\n"
        )
    e2e.kubectl(
        "apply",
        "-f",
        "-",
        input=textwrap.dedent(f"""
        apiVersion: v1
        kind: Secret
        metadata: {{name: rhevm-default, namespace: rhev-operator}}
        stringData: {{url: "{e2e.sim_url}/ovirt-engine/api", username: admin@internal,
                      password: "{SIM_PASSWORD}"}}
        """),
    )
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    e2e.start_operator(
        "--liveness",
        f"http://127.0.0.1:{port}/healthz",
        scope=("-n", "team-b"),
        peering=True,  # neither --standalone nor --peering: the default
        connection=("--rhevm-secret", "rhev-operator/rhevm-default"),
    )
    apply_dc(e2e, "bdc", namespace="team-b")
    e2e.wait_for(
        "Ready through the default Secret",
        lambda: (c := condition(e2e, "rdc", "bdc", "Ready", "team-b")) and c["status"] == "True",
    )
    assert "bdc" in dc_names(e2e)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        assert response.status == 200
    assert SIM_PASSWORD not in e2e.operator_log.read_text()


def test_kopf_bookkeeping_is_in_annotations_and_warnings_are_not_repeated(e2e: E2E) -> None:
    apply_dc(e2e, "mydc")
    e2e.kubectl("wait", "--for=condition=Ready", "rdc/mydc", "--timeout=60s")
    body = e2e.get("rdc", "mydc")
    annotations = body["metadata"]["annotations"]
    assert "rhev.io/last-handled-configuration" in annotations
    assert body["metadata"]["finalizers"] == ["rhev.io/finalizer"]
    assert not any(key.startswith("kopf") for key in annotations)
    assert set(body["status"]) <= {
        "id",
        "state",
        "observedGeneration",
        "conditions",
        "operation",
        "message",
        "storageFormat",
    }

    # A missing Secret: one Warning, not one per resync.
    apply_dc(e2e, "nosecret", connection="does-not-exist")
    e2e.wait_for(
        "Stalled",
        lambda: (c := condition(e2e, "rdc", "nosecret", "Stalled")) and c["status"] == "True",
    )
    time.sleep(4)  # four resync periods
    events = json.loads(e2e.kubectl("get", "events", "-o", "json").stdout)["items"]
    warnings = [
        e
        for e in events
        if e["involvedObject"]["name"] == "nosecret" and e["reason"] == "MissingSecret"
    ]
    assert sum(int(e.get("count") or 1) for e in warnings) == 1

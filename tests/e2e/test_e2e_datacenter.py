"""The first reconciler end to end: kubectl -> local Kubernetes API -> operator -> simulator."""

from __future__ import annotations

import base64
import re
import textwrap

from tests.fixtures.operator import E2E, SIM_PASSWORD

DC = """
apiVersion: rhev.io/v1alpha1
kind: RhevDataCenter
metadata: {name: mydc}
spec: {storageType: nfs}
"""


def sim_datacenters(e2e: E2E) -> dict[str, str]:
    """name -> the simulator's XML of that data center."""
    xml = e2e.sim("GET", "/ovirt-engine/api/datacenters")
    blocks = re.findall(r"<data_center [^>]*>.*?</data_center>", xml, re.S)
    return {re.search(r"<name>(.*?)</name>", b).group(1): b for b in blocks}  # type: ignore[union-attr]


def ready_status(e2e: E2E, kind: str, name: str) -> dict[str, str] | None:
    status = e2e.get(kind, name).get("status") or {}
    for condition in status.get("conditions") or []:
        if condition["type"] == "Ready" and condition["status"] == "True":
            return dict(status)
    return None


def test_datacenter_is_created_updated_shown_and_deleted(e2e: E2E) -> None:
    applied = e2e.kubectl("apply", "-f", "-", input=DC)
    assert "rhevdatacenter.rhev.io/mydc created" in applied.stdout

    e2e.kubectl("wait", "--for=condition=Ready", "rdc/mydc", "--timeout=60s")
    status = e2e.get("rdc", "mydc")["status"]
    dcs = sim_datacenters(e2e)
    assert "mydc" in dcs
    assert f'id="{status["id"]}"' in dcs["mydc"]
    assert status["state"] == "uninitialized"
    assert "<local>false</local>" in dcs["mydc"]

    table = e2e.kubectl("get", "rdc").stdout.splitlines()
    assert table[0].split()[:4] == ["NAME", "STATE", "READY", "STORAGE"]
    assert table[1].split()[:4] == ["mydc", "uninitialized", "True", "nfs"]
    listed = e2e.kubectl("get", "rhev").stdout
    assert "rhevdatacenter.rhev.io/mydc" in listed

    # A description change is carried to RHEV-M and recorded as an Event.
    e2e.kubectl(
        "patch",
        "rdc",
        "mydc",
        "--type",
        "merge",
        "-p",
        '{"spec": {"description": "the seed data center"}}',
    )
    e2e.wait_for(
        "the description in the simulator",
        lambda: "<description>the seed data center</description>" in sim_datacenters(e2e)["mydc"],
    )
    events = e2e.wait_for(
        "an Updated event",
        lambda: "Updated data center mydc" in (out := e2e.kubectl("get", "events").stdout) and out,
    )
    assert "Created data center mydc" in events

    # Deleting the resource removes the data center (finalizer) before the resource goes.
    e2e.kubectl("delete", "rdc", "mydc", "--timeout=60s")
    assert "mydc" not in sim_datacenters(e2e)
    assert "Default" in sim_datacenters(e2e)
    gone = e2e.kubectl("get", "rdc", "mydc", check=False)
    assert gone.returncode != 0 and "NotFound" in gone.stderr


def test_existing_datacenter_is_not_taken_without_adopt(e2e: E2E) -> None:
    e2e.kubectl(
        "apply",
        "-f",
        "-",
        input=textwrap.dedent("""
        apiVersion: rhev.io/v1alpha1
        kind: RhevDataCenter
        metadata: {name: default-dc}
        spec: {name: Default}
        """),
    )
    stalled = e2e.wait_for(
        "Stalled AlreadyExists",
        lambda: [
            c
            for c in (e2e.get("rdc", "default-dc").get("status") or {}).get("conditions", [])
            if c["type"] == "Stalled" and c["reason"] == "AlreadyExists"
        ],
    )
    assert "spec.adopt" in stalled[0]["message"]

    # With adopt: true it is taken over, and deletion leaves it in RHEV-M (Retain).
    e2e.kubectl("patch", "rdc", "default-dc", "--type", "merge", "-p", '{"spec": {"adopt": true}}')
    status = e2e.wait_for("adopted", lambda: ready_status(e2e, "rdc", "default-dc"))
    assert status["id"] in sim_datacenters(e2e)["Default"]
    e2e.kubectl("delete", "rdc", "default-dc", "--timeout=60s")
    assert "Default" in sim_datacenters(e2e)


def test_connection_secret_missing_then_created(e2e: E2E) -> None:
    e2e.kubectl(
        "apply",
        "-f",
        "-",
        input=textwrap.dedent("""
        apiVersion: rhev.io/v1alpha1
        kind: RhevDataCenter
        metadata: {name: other}
        spec: {connection: rhevm-other}
        """),
    )
    stalled = e2e.wait_for(
        "Stalled MissingSecret",
        lambda: [
            c
            for c in (e2e.get("rdc", "other").get("status") or {}).get("conditions", [])
            if c["type"] == "Stalled" and c["reason"] == "MissingSecret"
        ],
    )
    assert "rhevm-other" in stalled[0]["message"]

    password = base64.b64encode(SIM_PASSWORD.encode()).decode()
    url = base64.b64encode(f"{e2e.sim_url}/ovirt-engine/api".encode()).decode()
    user = base64.b64encode(b"admin@internal").decode()
    e2e.kubectl(
        "apply",
        "-f",
        "-",
        input=textwrap.dedent(f"""
        apiVersion: v1
        kind: Secret
        metadata: {{name: rhevm-other}}
        data: {{url: {url}, username: {user}, password: {password}}}
        """),
    )
    e2e.wait_for("Ready through the Secret's connection", lambda: ready_status(e2e, "rdc", "other"))
    assert "other" in sim_datacenters(e2e)
    assert SIM_PASSWORD not in e2e.operator_log.read_text()

"""Deletion never hangs: what never reached RHEV-M goes at once; what may exist there waits
with a condition that says why, until a human lets it go."""

from __future__ import annotations

from tests.e2e.test_e2e_runtime import apply_dc, condition, dc_names
from tests.fixtures.operator import E2E


def gone(e2e: E2E, kind: str, name: str) -> bool:
    result = e2e.kubectl("get", kind, name, "-n", e2e.namespace, check=False)
    return result.returncode != 0 and "NotFound" in result.stderr


def test_missing_connection_secret_is_deleted_at_once(e2e: E2E) -> None:
    apply_dc(e2e, "nosecret", connection="no-such-secret")
    stalled = e2e.wait_for(
        "Stalled on the missing Secret",
        lambda: (c := condition(e2e, "rdc", "nosecret", "Stalled")) and c["status"] == "True" and c,
    )
    assert stalled["reason"] == "MissingSecret"
    e2e.kubectl("delete", "rdc", "nosecret", "--timeout=20s")
    assert gone(e2e, "rdc", "nosecret")
    assert "nothing was ever created in RHEV-M; released" in e2e.operator_log.read_text()


def test_never_created_resource_is_deleted_at_once_while_rhevm_is_down(e2e: E2E) -> None:
    e2e.sim("POST", "/sim/api/down", {"mode": "503"})
    apply_dc(e2e, "downdc")
    e2e.wait_for(
        "a pass that could not reach RHEV-M",
        lambda: (c := condition(e2e, "rdc", "downdc", "Ready")) and c["status"] == "False",
    )
    assert not (e2e.get("rdc", "downdc").get("status") or {}).get("id")
    e2e.kubectl("delete", "rdc", "downdc", "--timeout=20s")
    assert gone(e2e, "rdc", "downdc")
    e2e.sim("POST", "/sim/api/up")
    assert "downdc" not in dc_names(e2e)


def test_existing_object_waits_while_unreachable_until_retained(e2e: E2E) -> None:
    apply_dc(e2e, "keptdc")
    e2e.kubectl("wait", "--for=condition=Ready", "rdc/keptdc", "--timeout=60s")
    dc_id = e2e.get("rdc", "keptdc")["status"]["id"]
    e2e.sim("POST", "/sim/api/down", {"mode": "503"})
    e2e.kubectl("delete", "rdc", "keptdc", "--wait=false")
    ready = e2e.wait_for(
        "Ready False, reason Unreachable",
        lambda: (
            (c := condition(e2e, "rdc", "keptdc", "Ready")) and c["reason"] == "Unreachable" and c
        ),
    )
    assert ready["status"] == "False"
    assert dc_id in ready["message"]
    assert "deletionPolicy: Retain" in ready["message"]
    assert "rhev.io/finalizer" in ready["message"]
    assert not gone(e2e, "rdc", "keptdc")

    e2e.kubectl(
        "patch", "rdc", "keptdc", "--type", "merge", "-p", '{"spec":{"deletionPolicy":"Retain"}}'
    )
    e2e.wait_for("the resource to go", lambda: gone(e2e, "rdc", "keptdc"))
    e2e.sim("POST", "/sim/api/up")
    assert dc_names(e2e).count("keptdc") == 1  # retained, not removed
    assert "RHEV-M was not contacted" in e2e.operator_log.read_text()

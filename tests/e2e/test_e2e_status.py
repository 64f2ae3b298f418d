"""What kubectl shows: a Paused condition while paused, and Events that name the operator
and its pod."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.test_e2e_runtime import apply_dc, condition
from tests.fixtures.operator import E2E


def test_a_paused_object_says_so_until_unpaused(e2e: E2E) -> None:
    apply_dc(e2e, "pdc")
    e2e.kubectl("wait", "--for=condition=Ready", "rdc/pdc", "--timeout=60s")
    e2e.kubectl("annotate", "rdc", "pdc", "rhev.io/paused=true")
    paused = e2e.wait_for(
        "the Paused condition",
        lambda: (c := condition(e2e, "rdc", "pdc", "Paused")) and c["status"] == "True" and c,
    )
    assert paused["reason"] == "Paused"
    assert "rhev.io/paused" in paused["message"]
    e2e.kubectl("annotate", "rdc", "pdc", "rhev.io/paused-")
    e2e.wait_for(
        "the Paused condition to go", lambda: condition(e2e, "rdc", "pdc", "Paused") is None
    )
    ready = condition(e2e, "rdc", "pdc", "Ready")
    assert ready is not None and ready["status"] == "True"


@pytest.mark.parametrize("e2e", [{"operator": False}], indirect=True)
def test_events_name_the_operator_and_its_pod(e2e: E2E) -> None:
    e2e.env["POD_NAME"] = "rhev-operator-5d8c7-x2k9q"
    e2e.start_operator()
    apply_dc(e2e, "evdc")
    e2e.kubectl("wait", "--for=condition=Ready", "rdc/evdc", "--timeout=60s")

    def ours() -> list[dict[str, Any]]:
        out = e2e.kubectl("get", "events", "-n", e2e.namespace, "-o", "json").stdout
        items = json.loads(out)["items"]
        return [e for e in items if (e.get("involvedObject") or {}).get("name") == "evdc"]

    events = e2e.wait_for(
        "the Created Event", lambda: [e for e in ours() if e["reason"] == "Created"]
    )
    for event in events:
        assert event["reportingComponent"] == "rhev-operator"
        assert event["reportingInstance"] == "rhev-operator-5d8c7-x2k9q"
        assert event["source"]["component"] == "rhev-operator"
        assert event["metadata"]["name"].startswith("rhev-operator-")

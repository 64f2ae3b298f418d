"""`/metrics`: RHEV-M requests, passes by outcome and cause, operations in flight, the
inventory and the wake-up latency, with no secret in any label."""

from __future__ import annotations

import base64
import re
import urllib.request

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.test_e2e_runtime import apply_dc
from tests.fixtures.operator import E2E, SIM_PASSWORD


def scrape(url: str) -> tuple[str, dict[tuple[str, frozenset[tuple[str, str]]], float]]:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        text = response.read().decode()
    samples = {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    return text, samples


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


@pytest.mark.parametrize("e2e", [{"operator": False}], indirect=True)
def test_metrics_count_what_the_operator_did(e2e: E2E) -> None:
    e2e.start_operator("--metrics-port", "0")
    port = e2e.wait_for(
        "the metrics port",
        lambda: (
            (m := re.search(r"Serving metrics on port (\d+)", e2e.operator_log.read_text()))
            and m.group(1)
        ),
    )
    url = f"http://127.0.0.1:{port}/metrics"
    apply_dc(e2e, "mdc")
    e2e.kubectl("wait", "--for=condition=Ready", "rdc/mdc", "--timeout=60s")
    e2e.kubectl("patch", "rdc", "mdc", "--type", "merge", "-p", '{"spec":{"description":"m"}}')
    e2e.wait_for(
        "the spec change applied",
        lambda: e2e.get("rdc", "mdc")["status"].get("observedGeneration") == 2,
    )
    text, samples = e2e.wait_for(
        "the spec change's pass counted",
        lambda: (
            (got := scrape(url))
            and value(
                got[1], "rhev_operator_reconcile_causes_total", kind="RhevDataCenter", cause="spec"
            )
            >= 1
            and got
        ),
    )

    # RHEV-M requests by method, collection (a template, never an id) and code.
    post = value(
        samples,
        "rhev_operator_rhevm_requests_total",
        method="POST",
        collection="datacenters",
        code="201",
    )
    assert post == 1  # one data center, created once
    assert (
        value(
            samples,
            "rhev_operator_rhevm_request_seconds_count",
            method="POST",
            collection="datacenters",
        )
        == 1
    )
    assert (
        value(
            samples,
            "rhev_operator_rhevm_requests_total",
            method="PUT",
            collection="datacenters/{id}",
            code="200",
        )
        == 1
    )  # the description
    assert (
        value(
            samples,
            "rhev_operator_rhevm_requests_total",
            method="GET",
            collection="datacenters",
            code="200",
        )
        >= 1
    )
    dc_id = e2e.get("rdc", "mdc")["status"]["id"]
    assert dc_id not in text

    # Passes by kind and outcome, and by cause.
    assert (
        value(samples, "rhev_operator_reconciles_total", kind="RhevDataCenter", outcome="ready")
        >= 2
    )
    assert (
        value(samples, "rhev_operator_reconcile_causes_total", kind="RhevDataCenter", cause="start")
        == 1
    )
    assert (
        value(samples, "rhev_operator_reconciles_total", kind="RhevDataCenter", outcome="error")
        == 0
    )
    # Nothing in flight once Ready; the inventory of the default connection holds objects.
    assert value(samples, "rhev_operator_operations_in_flight", kind="RhevDataCenter") == 0
    assert value(samples, "rhev_operator_inventory_objects", connection="default") >= 1
    assert (
        "rhev_operator_inventory_age_seconds",
        frozenset({("connection", "default")}),
    ) in samples
    # The spec change woke the worker: one wake-up latency observed for it.
    assert value(samples, "rhev_operator_wakeup_latency_seconds_count", cause="spec") >= 1

    # No secret anywhere.
    basic = base64.b64encode(f"admin@internal:{SIM_PASSWORD}".encode()).decode()
    for secret in (SIM_PASSWORD, basic, "Bearer", "password="):
        assert secret not in text

"""GitOps health: Argo CD's Lua for every rhev.io kind (run with lupa, a real Lua) reads the
statuses the operator writes as Healthy, Progressing, Degraded or Suspended; and those
statuses, built with rhev_operator.api.conditions, follow the kstatus rules Flux applies."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import lupa
import pytest
import yaml

from rhev_operator.api import conditions as cond
from rhev_operator.api.kinds import KINDS
from rhev_operator.handlers.common import PAUSED_ANNOTATION

ROOT = Path(__file__).resolve().parents[2]
CONFIGMAP = ROOT / "manifests/argocd/argocd-cm-health.yaml"
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(minutes=1)


def scripts() -> dict[str, str]:
    data = yaml.safe_load(CONFIGMAP.read_text())["data"]
    prefix = "resource.customizations.health.rhev.io_"
    return {key.removeprefix(prefix): value for key, value in data.items()}


def argocd_health(kind: str, obj: dict[str, Any]) -> tuple[str, str]:
    """What Argo CD computes: the script runs with the live object as the global `obj`."""
    lua = lupa.LuaRuntime(unpack_returned_tuples=True)
    lua.globals().obj = lua.table_from(obj, recursive=True)
    result = lua.execute(scripts()[kind])
    return str(result["status"]), str(result["message"] or "")


def body(
    status: dict[str, Any] | None, generation: int = 2, paused: str | None = None
) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": "x", "namespace": "default", "generation": generation}
    if paused is not None:
        meta["annotations"] = {PAUSED_ANNOTATION: paused}
    obj: dict[str, Any] = {"apiVersion": "rhev.io/v1alpha1", "kind": "RhevDataCenter"}
    obj["metadata"] = meta
    if status is not None:
        obj["status"] = status
    return obj


def status(conditions: list[cond.Condition], generation: int = 2) -> dict[str, Any]:
    return {
        "observedGeneration": generation,
        "conditions": cond.conditions_to_wire(conditions),
    }


def ready(generation: int = 2) -> list[cond.Condition]:
    return cond.ready([], observed_generation=generation, now=NOW)


def reconciling(reason: str = "CreatingDataCenter", generation: int = 2) -> list[cond.Condition]:
    return cond.reconciling(
        ready(generation),
        reason=reason,
        message="started",
        observed_generation=generation,
        now=LATER,
    )


def stalled(reason: str = "InvalidSpec", generation: int = 2) -> list[cond.Condition]:
    return cond.stalled(
        reconciling(generation=generation),
        reason=reason,
        message="spec.storageType: fix it",
        observed_generation=generation,
        now=LATER,
    )


def test_one_script_for_every_kind() -> None:
    assert set(scripts()) == {info.kind for info in KINDS}
    assert len(set(scripts().values())) == 1
    assert PAUSED_ANNOTATION in next(iter(scripts().values()))


CASES: list[tuple[str, dict[str, Any], str]] = [
    ("ready", body(status(ready())), "Healthy"),
    ("ready-for-an-older-generation", body(status(ready(1), 1)), "Progressing"),
    ("observed-generation-behind", body(status(ready(), 1)), "Progressing"),
    ("no-status-yet", body(None), "Progressing"),
    ("status-without-conditions", body({"observedGeneration": 2}), "Progressing"),
    ("reconciling", body(status(reconciling())), "Progressing"),
    ("stalled", body(status(stalled())), "Degraded"),
    ("stalled-missing-secret", body(status(stalled("MissingSecret"))), "Degraded"),
    (
        "ready-false-with-a-stall-reason",
        body(status([c for c in stalled("AlreadyExists") if c.type == "Ready"])),
        "Degraded",
    ),
    (
        "ready-false-waiting",
        body(status([c for c in reconciling("WaitingForDependency") if c.type == "Ready"])),
        "Progressing",
    ),
    ("paused", body(status(ready()), paused="true"), "Suspended"),
    ("paused-stalled", body(status(stalled()), paused="True"), "Suspended"),
    ("pause-annotation-false", body(status(ready()), paused="false"), "Healthy"),
]


@pytest.mark.parametrize(("name", "obj", "expected"), CASES, ids=[c[0] for c in CASES])
def test_argocd_health(name: str, obj: dict[str, Any], expected: str) -> None:
    for kind in scripts():
        health, message = argocd_health(kind, obj)
        assert health == expected, (kind, message)


def test_degraded_message_says_what_to_do() -> None:
    health, message = argocd_health("VirtualMachine", body(status(stalled())))
    assert (health, message) == ("Degraded", "InvalidSpec: spec.storageType: fix it")


# --- kstatus, as Flux (and kstatus-based tools) read it ------------------------------------


def kstatus(obj: dict[str, Any]) -> str:
    """kstatus's reading of a custom resource (sigs.k8s.io/cli-utils/pkg/kstatus/status):
    InProgress while observedGeneration lags or Reconciling is True, Failed when Stalled is
    True, Current when Ready is True, InProgress otherwise."""
    generation = obj["metadata"].get("generation")
    st = obj.get("status") or {}
    if generation is not None and st.get("observedGeneration", generation) != generation:
        return "InProgress"
    by_type = {c["type"]: c for c in st.get("conditions") or []}
    if by_type.get("Reconciling", {}).get("status") == "True":
        return "InProgress"
    if by_type.get("Stalled", {}).get("status") == "True":
        return "Failed"
    if by_type.get("Ready", {}).get("status") == "True":
        return "Current"
    return "InProgress"


SHAPES = {
    "ready": lambda conditions, g: cond.ready(conditions, observed_generation=g, now=LATER),
    "reconciling": lambda conditions, g: cond.reconciling(
        conditions, reason="Working", message="m", observed_generation=g, now=LATER
    ),
    "stalled": lambda conditions, g: cond.stalled(
        conditions, reason="InvalidSpec", message="m", observed_generation=g, now=LATER
    ),
}


def check_kstatus_rules(conditions: list[cond.Condition], generation: int) -> None:
    wire = cond.conditions_to_wire(conditions)
    by_type = {c["type"]: c for c in wire}
    assert len(by_type) == len(wire), "one condition per type"
    assert set(by_type) <= {"Ready", "Reconciling", "Stalled"}
    assert "Ready" in by_type, "Ready is always present"
    for c in wire:
        assert c["status"] in ("True", "False", "Unknown")
        assert c["reason"] and c["lastTransitionTime"].endswith("Z")
        assert c["observedGeneration"] == generation
    # Abnormal-true conditions are present only while they hold.
    for abnormal in ("Reconciling", "Stalled"):
        if abnormal in by_type:
            assert by_type[abnormal]["status"] == "True"
    trues = [t for t, c in by_type.items() if c["status"] == "True"]
    assert len(trues) == 1, f"exactly one of Ready/Reconciling/Stalled holds: {trues}"
    if by_type["Ready"]["status"] == "True":
        assert set(by_type) == {"Ready"}
    else:
        (other,) = set(by_type) - {"Ready"}
        assert by_type["Ready"]["reason"] == by_type[other]["reason"]


@pytest.mark.parametrize("first", list(SHAPES))
@pytest.mark.parametrize("second", list(SHAPES))
@pytest.mark.parametrize("third", list(SHAPES))
def test_status_shapes_follow_kstatus(first: str, second: str, third: str) -> None:
    conditions: list[cond.Condition] = []
    expected = {"ready": ("Current", "Healthy"), "reconciling": ("InProgress", "Progressing")}
    expected["stalled"] = ("Failed", "Degraded")
    for generation, shape in enumerate((first, second, third), start=1):
        conditions = SHAPES[shape](conditions, generation)
        check_kstatus_rules(conditions, generation)
        obj = body(status(conditions, generation), generation=generation)
        assert (kstatus(obj), argocd_health("RhevCluster", obj)[0]) == expected[shape]
        # The spec moved on and the operator has not seen it yet: in progress for both.
        newer = body(status(conditions, generation), generation=generation + 1)
        assert (kstatus(newer), argocd_health("RhevCluster", newer)[0]) == (
            "InProgress",
            "Progressing",
        )


def test_ready_keeps_its_transition_time_while_ready() -> None:
    first = cond.ready([], observed_generation=1, now=NOW)
    again = cond.ready(first, observed_generation=2, now=LATER)
    assert again[0].last_transition_time == first[0].last_transition_time
    assert again[0].observed_generation == 2

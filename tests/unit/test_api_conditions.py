"""Condition and operation helpers: pure functions with kstatus semantics."""

from __future__ import annotations

import datetime as dt

from rhev_operator.api import (
    Condition,
    conditions_to_wire,
    get_condition,
    is_true,
    operation_overdue,
    parse_timestamp,
    ready,
    reconciling,
    set_condition,
    stalled,
    stalled_status,
    start_operation,
    timestamp,
)

T0 = dt.datetime(2024, 5, 1, 12, 0, 0, tzinfo=dt.UTC)
T1 = T0 + dt.timedelta(minutes=5)
T2 = T0 + dt.timedelta(minutes=9)


def test_a_new_condition_gets_the_transition_time_now() -> None:
    out = set_condition([], "Ready", "False", "Creating", "creating", 1, T0)
    assert out == [
        Condition(
            type="Ready",
            status="False",
            reason="Creating",
            message="creating",
            last_transition_time="2024-05-01T12:00:00Z",
            observed_generation=1,
        )
    ]


def test_transition_time_changes_only_when_the_status_changes() -> None:
    first = set_condition([], "Ready", "False", "Creating", "a", 1, T0)
    same_status = set_condition(first, "Ready", "False", "WaitingForSPM", "b", 2, T1)
    assert same_status[0].last_transition_time == timestamp(T0)
    assert (same_status[0].reason, same_status[0].message) == ("WaitingForSPM", "b")
    assert same_status[0].observed_generation == 2
    flipped = set_condition(same_status, "Ready", True, "Ready", "", 2, T2)
    assert flipped[0].status == "True"
    assert flipped[0].last_transition_time == timestamp(T2)


def test_set_condition_keeps_other_conditions_and_does_not_modify_its_input() -> None:
    base = [
        {
            "type": "Ready",
            "status": "False",
            "reason": "X",
            "lastTransitionTime": "2024-01-01T00:00:00Z",
        },
        {
            "type": "Custom",
            "status": "True",
            "reason": "Y",
            "lastTransitionTime": "2024-01-01T00:00:00Z",
        },
    ]
    snapshot = [dict(c) for c in base]
    out = set_condition(base, "Ready", "True", "Ready", "", None, T0)
    assert [c.type for c in out] == ["Ready", "Custom"]
    assert out[1].status == "True" and out[1].reason == "Y"
    assert base == snapshot


def test_ready_removes_reconciling_and_stalled() -> None:
    conditions = reconciling([], reason="CreatingVm", message="m", observed_generation=1, now=T0)
    conditions = stalled(
        conditions, reason="AlreadyExists", message="adopt it", observed_generation=1, now=T1
    )
    out = ready(conditions, observed_generation=2, now=T2)
    assert [c.type for c in out] == ["Ready"]
    assert is_true(out, "Ready") and out[0].reason == "Ready"
    assert out[0].last_transition_time == timestamp(T2)


def test_reconciling_sets_ready_false_with_the_same_reason() -> None:
    out = reconciling(
        [], reason="WaitingForDependency", message="waits for mydc", observed_generation=4, now=T0
    )
    rec = get_condition(out, "Reconciling")
    rdy = get_condition(out, "Ready")
    assert rec is not None and rdy is not None
    assert (rec.status, rdy.status) == ("True", "False")
    assert rec.reason == rdy.reason == "WaitingForDependency"
    assert get_condition(out, "Stalled") is None


def test_stalled_sets_ready_false_and_drops_reconciling() -> None:
    start = ready([], observed_generation=1, now=T0)
    out = stalled(
        start,
        reason="InvalidSpec",
        message="spec.vlan: must be <= 4094",
        observed_generation=2,
        now=T1,
    )
    assert not is_true(out, "Ready")
    assert is_true(out, "Stalled")
    assert get_condition(out, "Reconciling") is None
    ready_condition = get_condition(out, "Ready")
    assert ready_condition is not None and ready_condition.last_transition_time == timestamp(T1)
    # Stalled again with a new message: the transition time stays.
    again = stalled(out, reason="InvalidSpec", message="other", observed_generation=3, now=T2)
    stalled_condition = get_condition(again, "Stalled")
    assert stalled_condition is not None
    assert stalled_condition.last_transition_time == timestamp(T1)
    assert stalled_condition.message == "other"


def test_conditions_go_on_the_wire_in_camel_case() -> None:
    wire = conditions_to_wire(ready([], observed_generation=7, now=T0))
    assert wire == [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Ready",
            "message": "",
            "lastTransitionTime": "2024-05-01T12:00:00Z",
            "observedGeneration": 7,
        }
    ]


def test_operation_record_and_its_deadline() -> None:
    op = start_operation("CreateVm", "rhevop-createvm-1234", T0, 600)
    assert (op.started, op.deadline) == ("2024-05-01T12:00:00Z", "2024-05-01T12:10:00Z")
    assert not operation_overdue(op, T1)
    assert operation_overdue(op, T0 + dt.timedelta(seconds=600))
    wire = op.model_dump(by_alias=True)
    assert wire["correlationId"] == "rhevop-createvm-1234"


def test_timestamps_are_utc_rfc3339_and_round_trip() -> None:
    local = dt.datetime(2024, 5, 1, 14, 0, 0, 123456, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert timestamp(local) == "2024-05-01T12:00:00Z"
    assert parse_timestamp("2024-05-01T12:00:00Z") == T0
    assert timestamp(dt.datetime(2024, 5, 1, 12)) == "2024-05-01T12:00:00Z"  # naive is UTC


def test_long_messages_are_cut_to_what_the_api_server_takes() -> None:
    out = stalled([], reason="RhevmRefused", message="x" * 40000, observed_generation=1, now=T0)
    assert all(len(c.message) <= 32768 for c in out)
    assert out[0].message.endswith("...")


def test_stalled_status_for_an_unparseable_body_skips_unreadable_conditions() -> None:
    raw = {
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "reason": "Ready",
                "lastTransitionTime": "2024-01-01T00:00:00Z",
            },
            {"type": "Broken"},
        ],
        "id": "keep-me",
    }
    patch = stalled_status(
        raw,
        reason="InvalidSpec",
        message="spec.vlan: must be <= 4094",
        observed_generation=5,
        now=T0,
    )
    assert patch["observedGeneration"] == 5
    types = {c["type"]: c for c in patch["conditions"]}
    assert set(types) == {"Ready", "Stalled"}
    assert types["Ready"]["status"] == "False" and types["Ready"]["reason"] == "InvalidSpec"
    assert types["Stalled"]["message"] == "spec.vlan: must be <= 4094"
    assert stalled_status(None, reason="R", message="m", observed_generation=None, now=T0)[
        "conditions"
    ][0]["type"] in {"Ready", "Stalled"}

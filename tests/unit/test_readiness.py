"""Readiness from the peering objects, as kopf decides whether a replica acts."""

from __future__ import annotations

import datetime as dt

from rhev_operator.handlers.readiness import judge

NOW = dt.datetime(2026, 1, 1, 12, 0, tzinfo=dt.UTC)
PLACE = "ClusterKopfPeering rhev-operator"


def peer(priority: int, seconds_ago: float = 5, lifetime: int = 60) -> dict[str, object]:
    seen = (NOW - dt.timedelta(seconds=seconds_ago)).isoformat()
    return {"priority": priority, "lastseen": seen, "lifetime": lifetime}


def test_a_missing_peering_object_is_not_ready_and_names_it() -> None:
    verdict = judge({PLACE: None}, "me", 10, mandatory=True, now=NOW)
    assert not verdict.ready
    assert verdict.reason.startswith("no peering object: ClusterKopfPeering rhev-operator")
    assert "--standalone" in verdict.reason
    # Peering by auto-detection (no --peering): kopf runs alone without the object.
    assert judge({PLACE: None}, "me", 10, mandatory=False, now=NOW).ready


def test_a_live_peer_of_higher_priority_keeps_this_one_on_standby() -> None:
    body = {"status": {"me": peer(10), "other": peer(20)}}
    verdict = judge({PLACE: body}, "me", 10, mandatory=True, now=NOW)
    assert not verdict.ready and verdict.reason.startswith("standby: peer other (priority 20)")


def test_same_priority_pauses_and_lower_dead_or_self_do_not() -> None:
    same = {"status": {"me": peer(10), "twin": peer(10)}}
    assert not judge({PLACE: same}, "me", 10, mandatory=True, now=NOW).ready
    fine = {"status": {"me": peer(10), "lower": peer(5), "dead": peer(99, seconds_ago=120)}}
    verdict = judge({PLACE: fine}, "me", 10, mandatory=True, now=NOW)
    assert verdict.ready and verdict.reason == "acting"


def test_every_namespace_needs_its_peering_object() -> None:
    verdict = judge(
        {"KopfPeering a/rhev-operator": {"status": {}}, "KopfPeering b/rhev-operator": None},
        "me",
        10,
        mandatory=True,
        now=NOW,
    )
    assert not verdict.ready and "KopfPeering b/rhev-operator" in verdict.reason
    assert "KopfPeering a/" not in verdict.reason

"""The operator's process-wide state lives in objects made at start and is freed with what
it belongs to."""

from __future__ import annotations

import gc

from rhev_operator.handlers.runtime import Passes
from rhev_operator.ipmi import BmcSessions
from rhev_operator.reconcilers.bmcs import Bmcs


def test_a_pass_lock_is_shared_while_held_and_gone_after() -> None:
    passes = Passes()
    first = passes.lock("uid-1")
    assert passes.lock("uid-1") is first
    assert first.lock.acquire(blocking=False)
    assert not passes.lock("uid-1").lock.acquire(blocking=False)
    first.lock.release()
    del first
    gc.collect()
    assert len(passes) == 0


def test_a_deleted_hypervisors_bmc_leaves_nothing_behind() -> None:
    sessions = BmcSessions()
    bmcs = Bmcs(sessions)
    client = bmcs.client("192.0.2.1", 623, "admin", "secret")
    assert bmcs.client("192.0.2.1", 623, "admin", "secret") is client
    assert client.sessions is sessions
    bmcs.remember_power("192.0.2.1", 623, "on", 1.0)
    fingerprint = bmcs.fingerprint("192.0.2.1", 623, "admin", "secret")
    bmcs.agent_applied("https://rhevm/api", "agent-1", "192.0.2.1", 623, fingerprint)
    sessions.slot_for(("192.0.2.1", 623, "admin", "secret"))  # no session made yet
    bmcs.forget("192.0.2.1", 623)
    assert len(bmcs) == 0
    assert bmcs.power("192.0.2.1", 623) is None
    assert bmcs.applied_agent("https://rhevm/api", "agent-1") is None
    assert len(sessions) == 0


def test_new_credentials_drop_the_cached_power_state() -> None:
    bmcs = Bmcs()
    client = bmcs.client("192.0.2.2", 623, "admin", "old")
    bmcs.remember_power("192.0.2.2", 623, "off", 1.0)
    assert bmcs.client("192.0.2.2", 623, "admin", "new") is client
    assert client.username == "admin"
    assert bmcs.power("192.0.2.2", 623) is None

"""The simulator's counters the fault suite relies on: `/sim/stats` `by_object` (per object
a path targets) and `refused` (what the engine refused), and `/sim/auth/issued`."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rhev_operator.rhevm import (
    ConnectionConfig,
    DataCenterCreate,
    DataCenterUpdate,
    RhevmClient,
    errors,
)
from rhevsim.testing import SimHandle


@pytest.fixture
def client(simulator: SimHandle) -> Iterator[RhevmClient]:
    cfg = ConnectionConfig(url=simulator.api_url, username="admin@internal", password="admin")
    c = RhevmClient(cfg)
    yield c
    c.close()


def test_requests_are_counted_per_object_and_refusals_apart(
    client: RhevmClient, simulator: SimHandle
) -> None:
    dc = client.datacenters.add(DataCenterCreate(name="counted", local=False))
    client.datacenters.update(dc.id, DataCenterUpdate(description="once"))
    with pytest.raises(errors.RhevmError):  # a second data center of that name is refused
        client.datacenters.add(DataCenterCreate(name="counted", local=False))
    stats = simulator.control("GET", "/sim/stats")
    assert stats["by_object"][dc.id]["PUT /datacenters/{id}"] == 1
    assert stats["refused"]["POST /datacenters"] == 1
    assert stats["requests"]["POST /datacenters"] == 2
    issued = simulator.control("GET", "/sim/auth/issued")["issued"]
    assert issued and all(isinstance(t, str) and len(t) >= 16 for t in issued)

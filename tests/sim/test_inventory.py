"""The inventory: one list per collection per tick, events followed, snapshots trusted only
when they were listed after this process's last write."""

from __future__ import annotations

from typing import Any

from rhev_operator.inventory.observer import Inventory
from rhev_operator.rhevm import ConnectionConfig, DataCenterCreate, RhevmClient


def client_for(sim: Any) -> RhevmClient:
    return RhevmClient(
        ConnectionConfig(url=sim.api_url, username="admin@internal", password="admin")
    )


def test_one_list_per_collection_per_tick_whatever_the_readers(simulator: Any) -> None:
    client = client_for(simulator)
    inventory = Inventory(client, poll_interval=3600)
    lister = lambda c: c.datacenters.list()  # noqa: E731
    for _ in range(50):  # fifty resources reading the same collection
        inventory.find("datacenters", lister, id=None, name="Default")
    before = client.request_counts.get(("GET", "datacenters"), 0)
    inventory.refresh()
    for _ in range(50):
        assert inventory.find("datacenters", lister, id=None, name="Default") is not None
    assert client.request_counts.get(("GET", "datacenters"), 0) == before + 1
    client.close()


def test_snapshot_is_authoritative_only_when_listed_after_the_last_write(simulator: Any) -> None:
    client = client_for(simulator)
    inventory = Inventory(client, poll_interval=3600)
    lister = lambda c: c.datacenters.list()  # noqa: E731
    inventory.collection("datacenters", lister)
    assert inventory.authoritative("datacenters")
    created = client.datacenters.add(DataCenterCreate(name="newdc", local=False))
    inventory.remember("datacenters", created)
    assert not inventory.authoritative("datacenters")
    inventory.refresh()
    assert inventory.authoritative("datacenters")
    assert inventory.find("datacenters", lister, id=created.id, name="x") == created
    client.close()


def test_events_are_followed_from_the_newest_and_kept_per_object(simulator: Any) -> None:
    client = client_for(simulator)
    inventory = Inventory(client, poll_interval=3600)
    inventory.refresh()  # remembers where the feed is
    dc = client.datacenters.add(DataCenterCreate(name="evdc", local=False))
    inventory.refresh()
    events = inventory.events_for("data_center", dc.id)
    assert events and "evdc" in events[0].description
    client.close()


def test_a_collection_nobody_reads_any_more_is_no_longer_listed(simulator: Any) -> None:
    client = client_for(simulator)
    now = [1000.0]
    inventory = Inventory(client, poll_interval=3600, clock=lambda: now[0], unused_after=60)
    lister = lambda c: c.datacenters.list()  # noqa: E731
    inventory.collection("datacenters", lister)
    listed = lambda: client.request_counts.get(("GET", "datacenters"), 0)  # noqa: E731
    before = listed()
    now[0] += 30
    inventory.refresh()
    assert listed() == before + 1  # still read recently: listed
    now[0] += 61
    inventory.refresh()
    assert listed() == before + 1  # unread for over a minute: dropped, not listed
    assert inventory.find("datacenters", lister, id=None, name="Default") is not None
    assert listed() == before + 2  # read again: listed at once and registered again
    client.close()

"""The inventory: one list per collection per tick, events followed, snapshots trusted only
when they were listed after this process's last write."""

from __future__ import annotations

from typing import Any

from rhev_operator.inventory.observer import Inventory
from rhev_operator.rhevm import ConnectionConfig, DataCenterCreate, DataCenterUpdate, RhevmClient


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


def _changes(inventory: Inventory) -> list[tuple[set[str], set[Any]]]:
    seen: list[tuple[set[str], set[Any]]] = []
    inventory.on_change = lambda ids, keys: seen.append((set(ids), set(keys)))
    return seen


def test_requests_per_tick_do_not_grow_with_the_resources(simulator: Any) -> None:
    """10 or 200 data centers, each read by its own resource: one tick costs the same."""
    client = client_for(simulator)
    lister = lambda c: c.datacenters.list()  # noqa: E731
    per_tick = []
    for count in (10, 200):
        existing = len(client.datacenters.list())
        for i in range(existing, count):
            client.datacenters.add(DataCenterCreate(name=f"scale{i}", local=False))
        inventory = Inventory(client, poll_interval=3600)
        for i in range(count):  # every resource reads its own data center
            inventory.find("datacenters", lister, id=None, name=f"scale{i}")
        inventory.refresh()  # the events cursor
        client.session.reset_counts()
        inventory.refresh()
        per_tick.append(sum(client.request_counts.values()))
    assert per_tick[0] == per_tick[1] == 2  # one listing, one events poll
    client.close()


def test_a_listing_reports_what_appeared_changed_and_vanished(simulator: Any) -> None:
    client = client_for(simulator)
    inventory = Inventory(client, poll_interval=3600)
    lister = lambda c: c.datacenters.list()  # noqa: E731
    inventory.collection("datacenters", lister)
    changes = _changes(inventory)
    inventory.refresh()
    assert changes == []  # nothing changed: nobody is woken
    created = client.datacenters.add(DataCenterCreate(name="wake1", local=False))
    inventory.refresh()
    assert any(created.id in ids and "datacenters" in keys for ids, keys in changes)
    changes.clear()
    client.datacenters.remove(created.id)
    inventory.refresh()
    assert any(created.id in ids for ids, _ in changes)
    client.close()


def test_events_are_never_missed_across_a_burst(simulator: Any) -> None:
    """More events than a page of the feed between two polls: every one is read, and every
    object they name is reported."""
    client = client_for(simulator)
    inventory = Inventory(client, poll_interval=3600, events_kept=1000)
    inventory.refresh()  # the cursor
    changes = _changes(inventory)
    created = [
        client.datacenters.add(DataCenterCreate(name=f"burst{i}", local=False)).id
        for i in range(150)
    ]
    inventory.follow_events()
    named = set().union(*(ids for ids, _ in changes))
    assert set(created) <= named
    assert all(inventory.events_for("data_center", dc_id) for dc_id in created)
    client.close()


def test_an_event_relists_the_collection_that_holds_what_it_names(simulator: Any) -> None:
    client = client_for(simulator)
    inventory = Inventory(client, poll_interval=3600)
    lister = lambda c: c.datacenters.list()  # noqa: E731
    dc = client.datacenters.add(DataCenterCreate(name="relist", local=False))
    inventory.collection("datacenters", lister)
    inventory.refresh()
    listings = client.request_counts.get(("GET", "datacenters"), 0)
    changes = _changes(inventory)
    client.datacenters.update(dc.id, DataCenterUpdate(description="changed out of band"))
    inventory.follow_events()  # between ticks: the event names the data center
    assert client.request_counts.get(("GET", "datacenters"), 0) == listings + 1
    found = inventory.find("datacenters", lister, id=dc.id, name="relist")
    assert found is not None and found.description == "changed out of band"
    assert any(dc.id in ids and "datacenters" in keys for ids, keys in changes)
    client.close()


def test_an_event_in_a_large_collection_rereads_that_member_alone(simulator: Any) -> None:
    client = client_for(simulator)
    inventory = Inventory(client, poll_interval=3600)
    lister = lambda c: c.datacenters.list()  # noqa: E731
    ids = [
        client.datacenters.add(DataCenterCreate(name=f"big{i}", local=False)).id
        for i in range(inventory.reread_above + 1)
    ]
    inventory.collection("datacenters", lister, client.datacenters.get)
    inventory.refresh()
    changes = _changes(inventory)
    client.session.reset_counts()
    client.datacenters.update(ids[3], DataCenterUpdate(description="one of many"))
    inventory.follow_events()
    used = dict(client.request_counts)
    assert used.get(("GET", "datacenters"), 0) == 0  # no listing of the whole collection
    assert used.get(("GET", "datacenters/{id}"), 0) == 1
    found = inventory.find("datacenters", lister, id=ids[3], name="big3")
    assert found is not None and found.description == "one of many"
    assert any(ids[3] in named and "datacenters" in keys for named, keys in changes)
    client.close()

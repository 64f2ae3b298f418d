"""The RHEV-M client's data centers, jobs and events against the simulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rhev_operator.rhevm import (
    ConnectionConfig,
    DataCenterCreate,
    DataCenterUpdate,
    RhevmClient,
    errors,
    jobs_state,
)
from rhevsim.testing import SimHandle


@pytest.fixture
def client(simulator: SimHandle) -> Iterator[RhevmClient]:
    cfg = ConnectionConfig(url=simulator.api_url, username="admin@internal", password="admin")
    c = RhevmClient(cfg)
    yield c
    c.close()


def test_default_data_center_is_found_by_exact_name(client: RhevmClient) -> None:
    dc = client.datacenters.find("Default")
    assert dc is not None and dc.name == "Default" and dc.local is False
    assert dc.status == "uninitialized" and dc.version and dc.storage_format
    assert client.datacenters.find("default") is None  # case-sensitive
    assert client.datacenters.find("Defaul") is None
    assert client.datacenters.get(dc.id) == dc


def test_data_center_crud(client: RhevmClient) -> None:
    dc = client.datacenters.add(
        DataCenterCreate(name="mydc", description="seed", local=True, version="4.7")
    )
    assert (dc.name, dc.description, dc.local, dc.version) == ("mydc", "seed", True, "4.7")
    assert dc.status == "uninitialized"
    assert {d.name for d in client.datacenters.list()} == {"Default", "mydc"}
    assert [d.id for d in client.datacenters.list(search="name=my*")] == [dc.id]
    assert len(client.datacenters.list(max=1)) == 1

    updated = client.datacenters.update(dc.id, DataCenterUpdate(description="changed"))
    # only the description was sent: everything else is unchanged
    assert updated.description == "changed"
    assert (updated.name, updated.local, updated.version) == ("mydc", True, "4.7")

    client.datacenters.remove(dc.id)
    with pytest.raises(errors.NotFound) as info:
        client.datacenters.get(dc.id)
    assert info.value.status == 404 and info.value.path == f"/ovirt-engine/api/datacenters/{dc.id}"
    assert client.datacenters.find("mydc") is None


def test_duplicate_name_is_already_exists(client: RhevmClient) -> None:
    with pytest.raises(errors.AlreadyExists) as info:
        client.datacenters.add(DataCenterCreate(name="Default", local=False))
    assert info.value.status == 409 and not info.value.retryable
    assert "already in use" in (info.value.detail or "")


def test_bad_version_is_bad_request(client: RhevmClient) -> None:
    with pytest.raises(errors.BadRequest) as info:
        client.datacenters.add(DataCenterCreate(name="old", local=False, version="2.1"))
    assert info.value.status == 400 and not info.value.retryable


def test_correlation_id_tags_the_job(client: RhevmClient) -> None:
    cid = client.new_correlation_id()
    client.datacenters.add(DataCenterCreate(name="tagged", local=False), correlation_id=cid)
    jobs = client.jobs.find_by_correlation_id(cid)
    assert len(jobs) == 1 and jobs[0].correlation_id == cid
    assert "tagged" in (jobs[0].description or "")
    assert jobs_state(jobs) == "finished"
    assert client.jobs.find_by_correlation_id("rhevop-nosuchid") == []
    # a generated correlation id is sent when none is given: every job has one
    client.datacenters.add(DataCenterCreate(name="untagged", local=False))
    assert len(client.jobs.list()) == 2


def test_events_since_cursor(client: RhevmClient) -> None:
    start = client.events.newest_id()
    cid = client.new_correlation_id()
    dc = client.datacenters.add(DataCenterCreate(name="evdc", local=False))
    client.datacenters.update(dc.id, DataCenterUpdate(description="x"), correlation_id=cid)
    client.datacenters.remove(dc.id)
    new = client.events.since(start)
    assert new, "adding, updating and removing a data center logs events"
    assert [e.index for e in new] == sorted(e.index for e in new)
    assert all(e.index > start for e in new)
    assert any(e.correlation_id == cid and e.data_center_id == dc.id for e in new)
    assert client.events.newest_id() == new[-1].index
    assert client.events.since(new[-1].index) == []

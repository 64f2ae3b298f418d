"""The RHEV-M client's storage domains, top level and attached to a data center, with
the attach/activate/deactivate/detach state machine on the simulator's manual clock."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from rhev_operator.rhevm import (
    ConnectionConfig,
    RhevmClient,
    StorageDomainCreate,
    StorageDomainUpdate,
    errors,
)
from rhevsim.testing import SimHandle

INVENTORY = {
    "storage_domains": [
        {
            "name": "nfs1",
            "type": "data",
            "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/exports/data"},
            "data_center": "Default",
            "status": "active",
        },
        {
            "name": "nfs2",
            "type": "data",
            "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/exports/data2"},
            "data_center": "Default",
            "status": "active",
        },
        {
            "name": "spare",
            "type": "data",
            "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/exports/spare"},
        },
    ]
}


@pytest.fixture
def sim(simulator_factory: Callable[..., SimHandle]) -> SimHandle:
    return simulator_factory(INVENTORY)


@pytest.fixture
def client(sim: SimHandle) -> Iterator[RhevmClient]:
    cfg = ConnectionConfig(url=sim.api_url, username="admin@internal", password="admin")
    c = RhevmClient(cfg)
    yield c
    c.close()


def dc_id(client: RhevmClient) -> str:
    dc = client.datacenters.find("Default")
    assert dc is not None
    return dc.id


def test_top_level_shows_no_data_center_status(client: RhevmClient) -> None:
    by_name = {sd.name: sd for sd in client.storagedomains.list()}
    assert set(by_name) == {"nfs1", "nfs2", "spare"}
    nfs1 = by_name["nfs1"]
    assert (nfs1.type, nfs1.storage_type, nfs1.address, nfs1.path) == (
        "data",
        "nfs",
        "10.0.0.5",
        "/exports/data",
    )
    assert nfs1.status is None and dc_id(client) in nfs1.data_center_ids
    assert by_name["spare"].status == "unattached" and by_name["spare"].data_center_ids == ()
    assert nfs1.available and nfs1.used is not None


def test_attached_domains_carry_status_and_master(client: RhevmClient) -> None:
    attached = client.storagedomains.attached(dc_id(client))
    by_name = {sd.name: sd for sd in attached.list()}
    assert set(by_name) == {"nfs1", "nfs2"}
    assert by_name["nfs1"].status == "active" and by_name["nfs1"].master is True
    assert by_name["nfs2"].master is False
    assert attached.get(by_name["nfs2"].id).status == "active"


def test_deactivate_detach_state_machine(sim: SimHandle, client: RhevmClient) -> None:
    attached = client.storagedomains.attached(dc_id(client))
    nfs2 = client.storagedomains.find("nfs2")
    assert nfs2 is not None
    cid = client.new_correlation_id()
    res = attached.deactivate(nfs2.id, correlation_id=cid)
    assert res.status in ("complete", "pending") and res.correlation_id == cid
    assert attached.get(nfs2.id).status == "preparing_for_maintenance"
    # a second action while it moves is refused as "in progress" or a wrong state
    with pytest.raises(errors.Conflict) as busy:
        attached.activate(nfs2.id)
    assert busy.value.retryable
    sim.advance(30)
    assert attached.get(nfs2.id).status == "maintenance"
    assert client.jobs.find_by_correlation_id(cid)[0].status == "finished"

    # without an Up host the engine cannot activate it: a Conflict that may pass later
    with pytest.raises(errors.Conflict) as no_host:
        attached.activate(nfs2.id)
    assert no_host.value.retryable and "no active Host" in (no_host.value.detail or "")

    attached.detach(nfs2.id)
    sim.advance(30)
    assert nfs2.id not in {sd.id for sd in attached.list()}
    with pytest.raises(errors.NotFound):
        attached.get(nfs2.id)
    top = client.storagedomains.get(nfs2.id)
    assert top.status == "unattached" and top.data_center_ids == ()


def test_detach_of_active_domain_is_refused(client: RhevmClient) -> None:
    attached = client.storagedomains.attached(dc_id(client))
    nfs2 = client.storagedomains.find("nfs2")
    assert nfs2 is not None
    with pytest.raises(errors.Conflict) as info:
        attached.detach(nfs2.id)
    assert info.value.status == 409 and info.value.method == "DELETE"


def test_attach_without_an_up_host_is_refused(client: RhevmClient) -> None:
    spare = client.storagedomains.find("spare")
    assert spare is not None
    attached = client.storagedomains.attached(dc_id(client))
    with pytest.raises(errors.Conflict) as info:
        attached.attach(spare.id)
    assert "Host" in (info.value.detail or "")


def test_update_and_remove_unattached_domain(client: RhevmClient) -> None:
    spare = client.storagedomains.find("spare")
    assert spare is not None
    up = client.storagedomains.update(spare.id, StorageDomainUpdate(description="cold"))
    assert up.description == "cold" and up.path == "/exports/spare"
    client.storagedomains.remove(spare.id, destroy=True)
    assert client.storagedomains.find("spare") is None


def test_add_needs_a_known_host(client: RhevmClient) -> None:
    data: dict[str, Any] = {
        "name": "new",
        "type": "data",
        "storage_type": "nfs",
        "host_name": "nosuchhost",
        "address": "10.0.0.5",
        "path": "/exports/new",
    }
    with pytest.raises((errors.NotFound, errors.BadRequest)) as info:
        client.storagedomains.add(StorageDomainCreate(**data))
    assert "nosuchhost" in str(info.value)

"""The RHEV-M client's clusters against the simulator over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from rhev_operator.rhevm import (
    ClusterCreate,
    ClusterUpdate,
    ConnectionConfig,
    DataCenterCreate,
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


def test_default_cluster_belongs_to_default_data_center(client: RhevmClient) -> None:
    dc = client.datacenters.find("Default")
    cl = client.clusters.find("Default")
    assert dc is not None and cl is not None
    assert cl.data_center_id == dc.id and cl.version and cl.management_network_id
    assert cl.memory_overcommit is not None and cl.cpu_architecture


def test_cluster_crud_sends_only_set_fields(client: RhevmClient) -> None:
    dc = client.datacenters.add(DataCenterCreate(name="mydc", local=False))
    cl = client.clusters.add(
        ClusterCreate(
            name="mycluster",
            data_center_name="mydc",
            cpu_type="Intel Westmere Family",
            memory_overcommit=150,
            transparent_hugepages=True,
            description="seed",
        )
    )
    assert cl.data_center_id == dc.id and cl.cpu_type == "Intel Westmere Family"
    assert cl.memory_overcommit == 150 and cl.transparent_hugepages is True
    assert cl.description == "seed" and cl.version == dc.version
    assert client.clusters.get(cl.id) == cl

    up = client.clusters.update(cl.id, ClusterUpdate(memory_overcommit=200))
    assert up.memory_overcommit == 200
    assert up.model_dump(exclude={"memory_overcommit"}) == cl.model_dump(
        exclude={"memory_overcommit"}
    )

    client.clusters.remove(cl.id)
    with pytest.raises(errors.NotFound):
        client.clusters.get(cl.id)


def test_cluster_errors_are_typed(client: RhevmClient) -> None:
    with pytest.raises(errors.AlreadyExists):
        client.clusters.add(
            ClusterCreate(
                name="Default", data_center_name="Default", cpu_type="Intel Westmere Family"
            )
        )
    with pytest.raises(errors.NotFound) as nf:
        client.clusters.add(
            ClusterCreate(name="x", data_center_name="NoSuchDC", cpu_type="Intel Westmere Family")
        )
    assert "NoSuchDC" in (nf.value.detail or "")
    cl = client.clusters.find("Default")
    assert cl is not None
    with pytest.raises(errors.BadRequest) as bad:
        client.clusters.update(cl.id, ClusterUpdate(memory_overcommit=1000))
    assert "over commit" in (bad.value.detail or "")

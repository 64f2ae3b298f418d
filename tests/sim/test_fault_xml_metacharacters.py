"""Every XML metacharacter, quotes and non-ASCII text through the RHEV-M client: sent in
descriptions and comments, stored verbatim by the simulator, read back verbatim. The client
builds XML with lxml only: no module of rhev_operator.rhevm writes markup by string."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import rhev_operator.rhevm as rhevm_package
from rhev_operator.rhevm import (
    ConnectionConfig,
    DataCenterCreate,
    DataCenterUpdate,
    NetworkCreate,
    RhevmClient,
)
from rhevsim.testing import SimHandle

#: The five XML metacharacters, a CDATA end, an entity look-alike, a comment opener,
#: non-ASCII (Latin, CJK, emoji), a tab and a newline.
NASTY = "<a href=\"x\">&amp; 'q' ]]> &#x41; <!-- é中😀 \t\n>"


@pytest.fixture
def client(simulator: SimHandle) -> Iterator[RhevmClient]:
    cfg = ConnectionConfig(url=simulator.api_url, username="admin@internal", password="admin")
    c = RhevmClient(cfg)
    yield c
    c.close()


def test_metacharacters_round_trip_through_client_and_simulator(
    client: RhevmClient, simulator: SimHandle
) -> None:
    dc = client.datacenters.add(
        DataCenterCreate(name="metadc", description=NASTY, comment=NASTY[::-1], local=False)
    )
    assert (dc.description, dc.comment) == (NASTY, NASTY[::-1])
    stored = simulator.find("datacenter", "metadc")
    assert (stored.description, stored.comment) == (NASTY, NASTY[::-1])
    assert client.datacenters.get(dc.id).description == NASTY

    changed = client.datacenters.update(dc.id, DataCenterUpdate(description=NASTY * 3))
    assert changed.description == NASTY * 3
    assert simulator.find("datacenter", "metadc").description == NASTY * 3

    net = client.networks.add(
        NetworkCreate(name="metanet", data_center_id=dc.id, description=NASTY)
    )
    assert net.description == NASTY
    assert simulator.find("network", "metanet").description == NASTY


def test_the_client_writes_no_markup_by_string() -> None:
    markup = re.compile(r"""(f?["'])</?[a-z_]+[ >/]""")
    offenders = []
    for path in Path(rhevm_package.__file__).parent.glob("*.py"):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if markup.search(line) and "got =" not in line:
                offenders.append(f"{path.name}:{number}: {line.strip()}")
    assert offenders == []

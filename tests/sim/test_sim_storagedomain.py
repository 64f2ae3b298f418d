"""Storage domains through the official SDK on the manual clock: add, attach -> locked ->
maintenance -> activating -> active (master), deactivate, detach, remove, refusals."""

from __future__ import annotations

from typing import Any

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
import requests
from lxml import etree

from rhevsim.testing import SimHandle

AUTH = ("admin@internal", "admin")
SD = types.StorageDomainStatus


def inventory(**extra: Any) -> dict[str, Any]:
    inv: dict[str, Any] = {
        "hosts": [{"name": "hv01", "address": "10.0.0.11", "cluster": "Default", "status": "up"}],
    }
    inv.update(extra)
    return inv


@pytest.fixture
def sim(simulator_factory: Any) -> SimHandle:
    return simulator_factory(inventory())  # type: ignore[no-any-return]


@pytest.fixture
def conn(sim: SimHandle) -> Any:
    c = sdk.Connection(url=sim.api_url, username="admin@internal", password="admin")
    yield c
    c.close()


def nfs(name: str, path: str, dtype: types.StorageDomainType = types.StorageDomainType.DATA) -> Any:
    return types.StorageDomain(
        name=name,
        type=dtype,
        host=types.Host(name="hv01"),
        storage=types.HostStorage(type=types.StorageType.NFS, address="10.0.0.5", path=path),
    )


def dc_domains(conn: Any, dc_id: str) -> Any:
    """The SDK service of the domains attached to data center `dc_id`."""
    return (
        conn.system_service()
        .data_centers_service()
        .data_center_service(dc_id)
        .storage_domains_service()
    )


def attached_status(conn: Any, dc_id: str, sd_id: str) -> Any:
    return dc_domains(conn, dc_id).storage_domain_service(sd_id).get().status


def test_add_is_unattached_at_top_level(conn: Any) -> None:
    sds = conn.system_service().storage_domains_service()
    sd = sds.add(nfs("data1", "/exports/data1"))
    assert sd.status == SD.UNATTACHED and sd.master is False
    assert sd.storage.type == types.StorageType.NFS and sd.storage.path == "/exports/data1"
    assert sd.available > 0 and sd.used > 0 and sd.committed == 0
    assert [s.name for s in sds.list(search="name=data1")] == ["data1"]


def test_attach_activates_and_becomes_master(conn: Any, sim: SimHandle) -> None:
    sd = conn.system_service().storage_domains_service().add(nfs("data1", "/d1"))
    dc = sim.find("datacenter", "Default")
    attached = dc_domains(conn, dc.id)
    a = attached.add(types.StorageDomain(id=sd.id), query={"correlation_id": "att-1"})
    assert a.status == SD.LOCKED
    assert a.href == f"/ovirt-engine/api/datacenters/{dc.id}/storagedomains/{sd.id}"
    # Top level: status is only about data centers, so it is absent once attached.
    top = conn.system_service().storage_domains_service().storage_domain_service(sd.id).get()
    assert top.status is None and top.data_centers[0].id == dc.id
    sim.advance(sim.reg.timing("storagedomain.attach"))
    assert attached_status(conn, dc.id, sd.id) == SD.LOCKED  # master activation holds the lock
    sim.advance(sim.reg.timing("storagedomain.activate"))
    assert attached_status(conn, dc.id, sd.id) == SD.ACTIVE
    assert attached.storage_domain_service(sd.id).get().master is True
    jobs = conn.system_service().jobs_service().list(search="correlation_id=att-1")
    assert [j.status for j in jobs] == [types.JobStatus.FINISHED]
    codes = [
        e.code for e in conn.system_service().events_service().list(search="correlation_id=att-1")
    ]
    assert 962 in codes and 966 in codes


def test_locked_domain_refuses_other_operations(conn: Any, sim: SimHandle) -> None:
    sd = conn.system_service().storage_domains_service().add(nfs("data1", "/d1"))
    dc = sim.find("datacenter", "Default")
    attached = dc_domains(conn, dc.id)
    attached.add(types.StorageDomain(id=sd.id))
    with pytest.raises(sdk.Error) as info:
        attached.storage_domain_service(sd.id).deactivate()
    assert info.value.code == 409
    assert (
        "[Cannot deactivate Storage. Related operation is currently in progress. "
        "Please try again later.]" in str(info.value)
    )


def test_deactivate_activate_detach_cycle_with_a_second_domain(conn: Any, sim: SimHandle) -> None:
    dc = sim.find("datacenter", "Default")
    sds = conn.system_service().storage_domains_service()
    attached = dc_domains(conn, dc.id)
    first = sds.add(nfs("data1", "/d1"))
    attached.add(types.StorageDomain(id=first.id))
    sim.advance(20)
    second = sds.add(nfs("data2", "/d2"))
    attached.add(types.StorageDomain(name="data2"))
    sim.advance(sim.reg.timing("storagedomain.attach"))
    assert attached_status(conn, dc.id, second.id) == SD.ACTIVATING  # not master
    sim.advance(sim.reg.timing("storagedomain.activate"))
    assert attached_status(conn, dc.id, second.id) == SD.ACTIVE
    assert attached.storage_domain_service(second.id).get().master is False

    # Deactivating the master moves the role to the other active data domain.
    attached.storage_domain_service(first.id).deactivate()
    assert attached_status(conn, dc.id, first.id) == SD.PREPARING_FOR_MAINTENANCE
    sim.advance(sim.reg.timing("storagedomain.deactivate"))
    assert attached_status(conn, dc.id, first.id) == SD.MAINTENANCE
    assert attached.storage_domain_service(second.id).get().master is True

    # Activate again.
    attached.storage_domain_service(first.id).activate()
    assert attached_status(conn, dc.id, first.id) == SD.ACTIVATING
    sim.advance(sim.reg.timing("storagedomain.activate"))
    assert attached_status(conn, dc.id, first.id) == SD.ACTIVE

    # Detach needs maintenance.
    with pytest.raises(sdk.Error) as info:
        attached.storage_domain_service(first.id).remove()
    assert "[Cannot detach Storage. The relevant Storage Domain's status is Active.]" in str(
        info.value
    )
    attached.storage_domain_service(first.id).deactivate()
    sim.advance(sim.reg.timing("storagedomain.deactivate"))
    attached.storage_domain_service(first.id).remove()
    assert attached_status(conn, dc.id, first.id) == SD.DETACHING
    sim.advance(sim.reg.timing("storagedomain.detach"))
    assert sds.storage_domain_service(first.id).get().status == SD.UNATTACHED
    assert [s.id for s in attached.list()] == [second.id]


def test_deactivating_the_last_master_puts_the_dc_in_maintenance(conn: Any, sim: SimHandle) -> None:
    dc = sim.find("datacenter", "Default")
    sds = conn.system_service().storage_domains_service()
    attached = dc_domains(conn, dc.id)
    sd = sds.add(nfs("data1", "/d1"))
    attached.add(types.StorageDomain(id=sd.id))
    sim.advance(20)
    attached.storage_domain_service(sd.id).deactivate()
    sim.advance(sim.reg.timing("storagedomain.deactivate"))
    dcs = conn.system_service().data_centers_service()
    assert dcs.data_center_service(dc.id).get().status == types.DataCenterStatus.MAINTENANCE
    codes = [e.code for e in conn.system_service().events_service().list(max=5)]
    assert 1030 in codes


def test_attach_refusals(conn: Any, sim: SimHandle) -> None:
    dc = sim.find("datacenter", "Default")
    sds = conn.system_service().storage_domains_service()
    attached = dc_domains(conn, dc.id)
    iso = sds.add(nfs("iso1", "/iso", types.StorageDomainType.ISO))
    with pytest.raises(sdk.Error) as info:
        attached.add(types.StorageDomain(id=iso.id))
    assert info.value.code == 409 and "Please attach Data Domain to the Data Center first." in str(
        info.value
    )
    with pytest.raises(sdk.NotFoundError) as nf:
        attached.add(types.StorageDomain(name="ghost"))
    assert "Entity not found: Storage: name=ghost" in str(nf.value)


def test_local_domain_cannot_join_a_shared_data_center(simulator_factory: Any) -> None:
    sim = simulator_factory(
        inventory(
            datacenters=[{"name": "Default", "local": False}, {"name": "Loc", "local": True}],
            clusters=[
                {"name": "Default", "data_center": "Default"},
                {"name": "loc1", "data_center": "Loc"},
            ],
            hosts=[
                {"name": "hv01", "address": "10.0.0.11", "cluster": "Default", "status": "up"},
                {"name": "hv02", "address": "10.0.0.12", "cluster": "loc1", "status": "up"},
            ],
        )
    )
    conn = sdk.Connection(url=sim.api_url, username="admin@internal", password="admin")
    try:
        sds = conn.system_service().storage_domains_service()
        # localfs on a host of a shared DC: refused.
        with pytest.raises(sdk.Error) as info:
            sds.add(
                types.StorageDomain(
                    name="l1",
                    type=types.StorageDomainType.DATA,
                    host=types.Host(name="hv01"),
                    storage=types.HostStorage(type=types.StorageType.LOCALFS, path="/data/images"),
                )
            )
        assert info.value.code == 400 and 'Data Center must be "Local Storage"' in str(info.value)
        # localfs on the local DC's host: added and attached to that DC by itself.
        local = sds.add(
            types.StorageDomain(
                name="l2",
                type=types.StorageDomainType.DATA,
                host=types.Host(name="hv02"),
                storage=types.HostStorage(type=types.StorageType.LOCALFS, path="/data/images"),
            )
        )
        sim.advance(20)
        loc = sim.find("datacenter", "Loc")
        assert attached_status(conn, loc.id, local.id) == SD.ACTIVE
        # ...and it cannot be attached to the shared DC.
        dc = sim.find("datacenter", "Default")
        with sim.lock:
            sim.reg.get(type(sim.find("storagedomain", "l2")), local.id).data_center_id = None
        with pytest.raises(sdk.Error) as info:
            conn.system_service().data_centers_service().data_center_service(
                dc.id
            ).storage_domains_service().add(types.StorageDomain(id=local.id))
        assert "Cannot attach a local Storage Domain to a shared storage Data Center." in str(
            info.value
        )
    finally:
        conn.close()


def test_add_refusals(conn: Any) -> None:
    sds = conn.system_service().storage_domains_service()
    sds.add(nfs("data1", "/d1"))
    with pytest.raises(sdk.Error) as info:
        sds.add(nfs("data1", "/other"))
    assert info.value.code == 409 and "The Storage Domain name is already in use." in str(
        info.value
    )
    with pytest.raises(sdk.NotFoundError) as nf:
        sds.add(
            types.StorageDomain(
                name="x",
                type=types.StorageDomainType.DATA,
                host=types.Host(name="nohost"),
                storage=types.HostStorage(type=types.StorageType.NFS, address="a", path="/p"),
            )
        )
    assert "Entity not found: Host: name=nohost" in str(nf.value)
    with pytest.raises(sdk.Error) as info:
        sds.add(
            types.StorageDomain(
                name="y", type=types.StorageDomainType.DATA, host=types.Host(name="hv01")
            )
        )
    assert info.value.code == 400 and "StorageDomain [storage] required for add" in str(info.value)


def test_remove_needs_a_host_and_refuses_attached_domains(conn: Any, sim: SimHandle) -> None:
    sds = conn.system_service().storage_domains_service()
    sd = sds.add(nfs("data1", "/d1"))
    r = requests.delete(sim.api_url + f"/storagedomains/{sd.id}", auth=AUTH, timeout=10)
    assert (
        r.status_code == 400
        and etree.fromstring(r.content).findtext("reason") == "host parameter is missing"
    )
    dc = sim.find("datacenter", "Default")
    conn.system_service().data_centers_service().data_center_service(
        dc.id
    ).storage_domains_service().add(types.StorageDomain(id=sd.id))
    sim.advance(20)
    with pytest.raises(sdk.Error) as info:
        sds.storage_domain_service(sd.id).remove(host="hv01")
    assert info.value.code == 409
    other = sds.add(nfs("data2", "/d2"))
    sds.storage_domain_service(other.id).remove(host="hv01", format=True)
    assert [s.name for s in sds.list()] == ["data1"]


def test_update_only_changes_allowed_fields(conn: Any) -> None:
    sds = conn.system_service().storage_domains_service()
    sd = sds.add(nfs("data1", "/d1"))
    sds.storage_domain_service(sd.id).update(
        types.StorageDomain(name="renamed", wipe_after_delete=True)
    )
    got = sds.storage_domain_service(sd.id).get()
    assert got.name == "renamed" and got.wipe_after_delete is True
    with pytest.raises(sdk.Error) as info:
        sds.storage_domain_service(sd.id).update(
            types.StorageDomain(type=types.StorageDomainType.ISO)
        )
    assert info.value.code == 400 and "Can only update the following fields" in str(info.value)


def test_first_data_domain_brings_the_data_center_up(conn: Any, sim: SimHandle) -> None:
    """uninitialized -> (SPM contending) contend -> up, with the master domain active."""
    dc = sim.find("datacenter", "Default")
    sd = conn.system_service().storage_domains_service().add(nfs("data1", "/d1"))
    dcs = conn.system_service().data_centers_service()
    dcs.data_center_service(dc.id).storage_domains_service().add(types.StorageDomain(id=sd.id))
    seen: list[tuple[str, str]] = []
    for _ in range(60):
        pair = (
            dcs.data_center_service(dc.id).get().status.value,
            attached_status(conn, dc.id, sd.id).value,
        )
        if not seen or seen[-1] != pair:
            seen.append(pair)
        if pair == ("up", "active"):
            break
        sim.advance(1)
    assert seen[0] == ("uninitialized", "locked")
    assert seen[-1] == ("up", "active")
    assert "contend" in {s for s, _ in seen}
    # An up data center cannot be removed.
    with pytest.raises(sdk.Error) as info:
        dcs.data_center_service(dc.id).remove()
    assert info.value.code == 409 and "Cannot remove an active Data Center." in str(info.value)


def test_set_master_and_domain_actions(conn: Any, sim: SimHandle) -> None:
    dc = sim.find("datacenter", "Default")
    sds = conn.system_service().storage_domains_service()
    dc_svc = conn.system_service().data_centers_service().data_center_service(dc.id)
    attached = dc_svc.storage_domains_service()
    first = sds.add(nfs("data1", "/d1"))
    attached.add(types.StorageDomain(id=first.id))
    sim.advance(20)
    second = sds.add(nfs("data2", "/d2"))
    attached.add(types.StorageDomain(id=second.id))
    sim.advance(20)
    assert attached.storage_domain_service(first.id).get().master is True
    dc_svc.set_master(storage_domain=types.StorageDomain(id=second.id))
    assert attached.storage_domain_service(second.id).get().master is True
    assert attached.storage_domain_service(first.id).get().master is False
    sim.advance(sim.reg.timing("storagedomain.activate"))
    assert 984 in {e.code for e in conn.system_service().events_service().list(max=3)}
    dc_svc.clean_finished_tasks()
    one = sds.storage_domain_service(first.id)
    assert one.is_attached(host=types.Host(name="hv01")) is True
    one.update_ovf_store()
    one.refresh_luns()
    with pytest.raises(sdk.Error) as info:
        dc_svc.set_master(storage_domain=types.StorageDomain(name="ghost"))
    assert "Entity not found: Storage: name=ghost" in str(info.value)

"""Data centers through the official SDK and raw HTTP: CRUD, faults, XML shape, search."""

from __future__ import annotations

from typing import Any

import ovirtsdk4 as sdk
import ovirtsdk4.types as types
import pytest
import requests
from lxml import etree

from rhevsim.testing import SimHandle

AUTH = ("admin@internal", "admin")
DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'


def get(sim: SimHandle, path: str, **kw: Any) -> requests.Response:
    return requests.get(sim.api_url + path, auth=AUTH, timeout=10, **kw)


def post_dc(sim: SimHandle, body: str) -> requests.Response:
    """POST /datacenters with an XML body, as a client other than the SDK would."""
    return requests.post(
        sim.api_url + "/datacenters",
        data=body,
        auth=AUTH,
        headers={"Content-Type": "application/xml"},
        timeout=10,
    )


def test_fresh_engine_has_the_default_data_center(sdk_connection: Any) -> None:
    dcs = sdk_connection.system_service().data_centers_service().list()
    assert [d.name for d in dcs] == ["Default"]
    dc = dcs[0]
    assert dc.status == types.DataCenterStatus.UNINITIALIZED
    assert dc.local is False
    assert (dc.version.major, dc.version.minor) == (4, 7)
    assert dc.storage_format == types.StorageFormat.V5


def test_add_update_remove_through_the_sdk(sdk_connection: Any, simulator: SimHandle) -> None:
    svc = sdk_connection.system_service().data_centers_service()
    dc = svc.add(
        types.DataCenter(
            name="east",
            description="first",
            local=True,
            version=types.Version(major=4, minor=6),
        )
    )
    assert dc.id and dc.local is True and dc.version.minor == 6
    assert dc.status == types.DataCenterStatus.UNINITIALIZED
    one = svc.data_center_service(dc.id)
    one.update(types.DataCenter(description="second", version=types.Version(major=4, minor=7)))
    got = one.get()
    assert got.description == "second" and got.version.minor == 7 and got.local is True
    # The management network came with the data center.
    nets = one.networks_service().list()
    assert [n.name for n in nets] == ["rhevm"]
    one.remove()
    with pytest.raises(sdk.NotFoundError):
        one.get()
    assert simulator.find("network", "rhevm") is not None  # Default's stays


def test_create_answers_201_with_location(simulator: SimHandle) -> None:
    body = "<data_center><name>dcx</name><local>false</local></data_center>"
    r = post_dc(simulator, body)
    assert r.status_code == 201
    el = etree.fromstring(r.content)
    assert r.headers["Location"] == el.get("href")
    assert r.headers["Location"].startswith("/ovirt-engine/api/datacenters/")
    assert r.headers["Content-Type"].startswith("application/xml")


def test_delete_answers_200_with_complete_action(simulator: SimHandle) -> None:
    dc_id = simulator.find("datacenter", "Default").id
    r = requests.delete(simulator.api_url + f"/datacenters/{dc_id}", auth=AUTH, timeout=10)
    assert r.status_code == 200
    assert r.content.startswith(DECL)
    el = etree.fromstring(r.content)
    assert el.tag == "action" and el.findtext("status") == "complete"


def test_duplicate_name_is_409_with_engine_wording(sdk_connection: Any) -> None:
    svc = sdk_connection.system_service().data_centers_service()
    with pytest.raises(sdk.Error) as info:
        svc.add(types.DataCenter(name="Default", local=False))
    assert str(info.value) == (
        'Fault reason is "Operation Failed". Fault detail is "[Cannot create Data Center. '
        'The Data Center name is already in use.]". HTTP response code is 409.'
    )


def test_missing_local_is_incomplete_parameters(sdk_connection: Any) -> None:
    svc = sdk_connection.system_service().data_centers_service()
    with pytest.raises(sdk.Error) as info:
        svc.add(types.DataCenter(name="nolocal"))
    assert info.value.code == 400
    assert 'Fault reason is "Incomplete parameters"' in str(info.value)
    assert "DataCenter [local] required for add" in str(info.value)


def test_unsupported_version_is_refused(sdk_connection: Any) -> None:
    svc = sdk_connection.system_service().data_centers_service()
    with pytest.raises(sdk.Error) as info:
        svc.add(types.DataCenter(name="old", local=False, version=types.Version(major=3, minor=6)))
    assert info.value.code == 400
    assert "Selected Compatibility Version is not supported" in str(info.value)


def test_bad_enum_is_invalid_value(simulator: SimHandle) -> None:
    body = (
        "<data_center><name>e</name><local>false</local>"
        "<storage_format>v9</storage_format></data_center>"
    )
    r = post_dc(simulator, body)
    assert r.status_code == 400
    fault = etree.fromstring(r.content)
    assert fault.tag == "fault"
    assert fault.findtext("reason") == "Invalid value"
    assert fault.findtext("detail") == "v9 is not a member of StorageFormat"


def test_unknown_id_is_404_with_empty_body(simulator: SimHandle) -> None:
    r = get(simulator, "/datacenters/00000000-1111-2222-3333-444444444444")
    assert r.status_code == 404 and r.content == b""


def test_xml_is_written_like_jaxb(simulator: SimHandle) -> None:
    r = get(simulator, "/datacenters")
    assert r.status_code == 200
    assert r.content.startswith(DECL)
    root = etree.fromstring(r.content)
    assert root.tag == "data_centers"
    dc = root[0]
    assert set(dc.attrib) == {"id", "href"}
    for el in dc.iter():
        assert set(el.attrib) <= {"id", "href", "rel"}
        href = el.get("href")
        if href is not None:
            assert href.startswith("/ovirt-engine/api/")
    rels = {link.get("rel") for link in dc.findall("actions/link")}
    assert rels == {"cleanfinishedtasks", "setmaster"}
    assert {link.get("rel") for link in dc.findall("link")} >= {
        "clusters",
        "networks",
        "storagedomains",
        "permissions",
        "quotas",
    }
    assert [c.tag for c in dc.find("version")] == ["major", "minor"]
    assert dc.findtext("status") == "uninitialized"


def test_v4_prefix_and_empty_collections(simulator: SimHandle) -> None:
    r = requests.get(
        simulator.url + "/ovirt-engine/api/v4/datacenters?search=name%3Dnothing",
        auth=AUTH,
        timeout=10,
    )
    assert r.status_code == 200
    assert r.content == DECL + b"\n<data_centers/>\n"


def test_search_name_status_wildcards_and_sorting(sdk_connection: Any) -> None:
    svc = sdk_connection.system_service().data_centers_service()
    for name in ("alpha", "beta", "Alpine"):
        svc.add(types.DataCenter(name=name, local=False))
    assert sorted(d.name for d in svc.list(search="name=al*")) == ["Alpine", "alpha"]
    assert [d.name for d in svc.list(search="name=al*", case_sensitive=True)] == ["alpha"]
    assert [d.name for d in svc.list(search='name="beta"')] == ["beta"]
    assert len(svc.list(search="status=uninitialized")) == 4
    assert [d.name for d in svc.list(search="name=beta or name=alpha sortby name desc")] == [
        "beta",
        "alpha",
    ]
    assert [d.name for d in svc.list(search="name=a* and status=up")] == []
    assert len(svc.list(max=2)) == 2
    assert [d.name for d in svc.list(search="sortby name asc page 2", max=2)] == [
        "beta",
        "Default",
    ]


def test_unknown_search_key_is_refused(simulator: SimHandle) -> None:
    r = get(simulator, "/datacenters", params={"search": "color=blue"})
    assert r.status_code == 400
    assert "is invalid" in etree.fromstring(r.content).findtext("detail")


def test_matrix_parameters_are_honoured(simulator: SimHandle) -> None:
    r = requests.get(simulator.api_url + "/datacenters;max=0", auth=AUTH, timeout=10)
    assert r.status_code == 200 and etree.fromstring(r.content).tag == "data_centers"
    assert len(etree.fromstring(r.content)) == 0


def test_follow_inlines_clusters(simulator: SimHandle) -> None:
    dc_id = simulator.find("datacenter", "Default").id
    el = etree.fromstring(
        get(simulator, f"/datacenters/{dc_id}", params={"follow": "clusters"}).content
    )
    assert [c.findtext("name") for c in el.findall("clusters/cluster")] == ["Default"]


def test_remove_is_refused_while_a_domain_is_attached_and_active(simulator_factory: Any) -> None:
    sim = simulator_factory(
        {
            "storage_domains": [
                {
                    "name": "data1",
                    "type": "data",
                    "storage": {"type": "nfs", "address": "10.0.0.5", "path": "/d1"},
                    "data_center": "Default",
                    "status": "active",
                }
            ]
        }
    )
    dc_id = sim.find("datacenter", "Default").id
    r = requests.delete(sim.api_url + f"/datacenters/{dc_id}", auth=AUTH, timeout=10)
    assert r.status_code == 409
    assert "Storage Domains that are not in Maintenance status" in r.text


def test_crud_writes_events_and_jobs_with_the_correlation_id(
    sdk_connection: Any, simulator: SimHandle
) -> None:
    svc = sdk_connection.system_service().data_centers_service()
    dc = svc.add(types.DataCenter(name="tagged", local=False), query={"correlation_id": "c-42"})
    jobs = sdk_connection.system_service().jobs_service().list(search="correlation_id=c-42")
    assert [j.status for j in jobs] == [types.JobStatus.FINISHED]
    events = sdk_connection.system_service().events_service().list(search="correlation_id=c-42")
    assert 950 in {e.code for e in events}
    svc.data_center_service(dc.id).remove(headers={"Correlation-Id": "c-43"})
    events = sdk_connection.system_service().events_service().list(search="correlation_id=c-43")
    assert next(e.code for e in events) == 954

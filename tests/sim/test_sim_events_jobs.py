"""Events (from exclusive, newest first, max keeps the newest, search) and jobs."""

from __future__ import annotations

from typing import Any

import ovirtsdk4.types as types
import requests
from lxml import etree

from rhevsim.testing import SimHandle

AUTH = ("admin@internal", "admin")


def make_events(conn: Any, n: int) -> None:
    svc = conn.system_service().data_centers_service()
    for i in range(n):
        svc.add(types.DataCenter(name=f"ev{i}", local=False), query={"correlation_id": f"corr-{i}"})


def test_from_is_exclusive_and_results_are_newest_first(sdk_connection: Any) -> None:
    events = sdk_connection.system_service().events_service()
    start = int(events.list(max=1)[0].id)
    make_events(sdk_connection, 3)
    got = events.list(from_=start)
    ids = [int(e.id) for e in got]
    assert ids == sorted(ids, reverse=True)
    assert min(ids) == start + 1
    assert all(i > start for i in ids)
    assert int(got[0].index) == ids[0]
    # max keeps the newest ones
    newest = events.list(from_=start, max=2)
    assert [int(e.id) for e in newest] == ids[:2]
    # polling from the highest id seen returns nothing new
    assert events.list(from_=max(ids)) == []


def test_search_by_type_and_severity(sdk_connection: Any) -> None:
    events = sdk_connection.system_service().events_service()
    make_events(sdk_connection, 2)
    added = events.list(search="type=950")
    assert {e.code for e in added} == {950}
    assert len(added) == 3  # Default plus two
    assert all(e.severity == types.LogSeverity.NORMAL for e in added)
    assert events.list(search="severity>normal") == []
    either = events.list(search="type=950 or type=942")
    assert {e.code for e in either} == {950, 942}


def test_event_xml_carries_refs_and_fields(simulator: SimHandle) -> None:
    r = requests.get(
        simulator.api_url + "/events", params={"search": "type=950"}, auth=AUTH, timeout=10
    )
    ev = etree.fromstring(r.content)[0]
    assert ev.findtext("code") == "950"
    assert ev.findtext("origin") == "oVirt"
    assert ev.findtext("custom_id") == "-1"
    assert ev.findtext("index") == ev.get("id")
    assert ev.find("data_center").get("href").startswith("/ovirt-engine/api/datacenters/")
    assert "was added by admin@internal-authz" in ev.findtext("description")
    one = requests.get(simulator.api_url + f"/events/{ev.get('id')}", auth=AUTH, timeout=10)
    assert etree.fromstring(one.content).findtext("code") == "950"


def test_event_ids_are_monotonic_across_deletes(sdk_connection: Any) -> None:
    events = sdk_connection.system_service().events_service()
    first = events.list(max=1)[0]
    events.event_service(first.id).remove()
    make_events(sdk_connection, 1)
    assert int(events.list(max=1)[0].id) > int(first.id)


def test_jobs_by_correlation_id(sdk_connection: Any) -> None:
    make_events(sdk_connection, 2)
    jobs = sdk_connection.system_service().jobs_service()
    [job] = jobs.list(search="correlation_id=corr-1")
    assert job.status == types.JobStatus.FINISHED
    assert job.description == "Adding empty Data Center ev1"
    assert job.end_time is not None and job.start_time is not None
    steps = jobs.job_service(job.id).steps_service().list()
    assert [s.status for s in steps] == [types.StepStatus.FINISHED]
    assert jobs.list(search="correlation_id=nothing") == []


def test_storage_job_stays_started_until_its_last_step(simulator_factory: Any) -> None:
    """A job lives as long as the command's transitions (manual clock)."""
    sim = simulator_factory()
    with sim.lock:
        job = sim.reg.start_job("Long thing", "long-1")

        def finish() -> None:
            sim.reg.end_job(job, succeeded=False)

        sim.reg.schedule(30.0, finish)
    r = requests.get(
        sim.api_url + "/jobs", params={"search": "correlation_id=long-1"}, auth=AUTH, timeout=10
    )
    assert etree.fromstring(r.content)[0].findtext("status") == "started"
    sim.advance(29)
    r = requests.get(
        sim.api_url + "/jobs", params={"search": "correlation_id=long-1"}, auth=AUTH, timeout=10
    )
    assert etree.fromstring(r.content)[0].findtext("status") == "started"
    sim.advance(1)
    r = requests.get(
        sim.api_url + "/jobs", params={"search": "correlation_id=long-1"}, auth=AUTH, timeout=10
    )
    assert etree.fromstring(r.content)[0].findtext("status") == "failed"


def test_job_end_and_clear_actions(sdk_connection: Any, simulator: SimHandle) -> None:
    with simulator.lock:
        job = simulator.reg.start_job("External", "ext-1")
    svc = sdk_connection.system_service().jobs_service().job_service(job.id)
    svc.end(succeeded=True)
    assert svc.get().status == types.JobStatus.FINISHED
    svc.clear()
    assert sdk_connection.system_service().jobs_service().list(search="correlation_id=ext-1") == []


def test_ended_jobs_are_cleared_like_the_engine(sdk_connection: Any, simulator: SimHandle) -> None:
    make_events(sdk_connection, 1)
    jobs = sdk_connection.system_service().jobs_service()
    assert len(jobs.list(search="correlation_id=corr-0")) == 1
    simulator.advance(599)
    assert len(jobs.list(search="correlation_id=corr-0")) == 1
    simulator.advance(1)
    assert jobs.list(search="correlation_id=corr-0") == []

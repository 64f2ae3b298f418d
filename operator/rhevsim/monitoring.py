"""The /jobs (with their steps) and /events collections: what the engine reports of the
commands it ran. The entities are job.py's and event.py's; the registry keeps them.
"""

from __future__ import annotations

import bisect

from rhevsim.api import (
    Api,
    Request,
    Response,
    action_complete,
    delete_complete,
    get_or_404,
    list_response,
    xml_response,
)
from rhevsim.errors import conflict, not_found_url
from rhevsim.job import Job


def register(api: Api) -> None:
    register_jobs(api)
    register_events(api)


def register_jobs(api: Api) -> None:
    def list_jobs(req: Request) -> Response:
        return list_response(req, req.reg.all(Job), "jobs")

    def get_job(req: Request) -> Response:
        return xml_response(get_or_404(req, Job, "id").render(req.ctx))

    def list_steps(req: Request) -> Response:
        job = get_or_404(req, Job, "id")
        return list_response(req, job.steps, "steps", searchable=False)

    def get_step(req: Request) -> Response:
        job = get_or_404(req, Job, "id")
        for s in job.steps:
            if s.id == req.params["step"]:
                return xml_response(s.render(req.ctx))

        raise not_found_url()

    def end(req: Request) -> Response:
        job = get_or_404(req, Job, "id")
        if job.status != "started":
            raise conflict("Cannot end Job. The Job is not in Started status.")
        ok = req.action_bool("succeeded")
        req.reg.end_job(job, True if ok is None else ok)
        return action_complete(req)

    def clear(req: Request) -> Response:
        job = get_or_404(req, Job, "id")
        if job.status == "started":
            raise conflict("Cannot clear Job. The Job is still running.")
        req.reg.remove(job)
        return action_complete(req)

    api.route("GET", "/jobs", list_jobs)
    api.route("GET", "/jobs/{id}", get_job)
    api.route("GET", "/jobs/{id}/steps", list_steps)
    api.route("GET", "/jobs/{id}/steps/{step}", get_step)
    api.action("/jobs/{id}", "end", end)
    api.action("/jobs/{id}", "clear", clear)


def register_events(api: Api) -> None:
    def list_events(req: Request) -> Response:
        events = req.reg.events
        frm = req.query.get("from")
        if frm is not None:
            try:
                n = int(frm)
            except ValueError:
                raise api.invalid_param("from", frm, "an integer event index") from None
            start = bisect.bisect_right(events, n, key=lambda e: int(e.id))
            events = events[start:]
        # Newest first; search/max then apply, so max keeps the newest.
        return list_response(req, list(reversed(events)), "events", default_sort=False)

    def get_event(req: Request) -> Response:
        ev = req.reg.event_by_id(req.params["id"])
        if ev is None:
            raise not_found_url()
        return xml_response(ev.render(req.ctx))

    def remove_event(req: Request) -> Response:
        ev = req.reg.event_by_id(req.params["id"])
        if ev is None:
            raise not_found_url()
        req.reg.events.remove(ev)
        return delete_complete(req)

    api.route("GET", "/events", list_events)
    api.route("GET", "/events/{id}", get_event)
    api.route("DELETE", "/events/{id}", remove_event)

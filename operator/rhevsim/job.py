"""Jobs (/jobs) and their steps (/jobs/{id}/steps).

Every command a request starts creates a job with the request's correlation id
(`Registry.start_job`); the entity module ends it (`Registry.end_job`) when the last
transition ran. Job search supports only `correlation_id` (JobConditionFieldAutoCompleter).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from lxml import etree

from rhevsim.model import Ctx, Entity, SearchValue
from rhevsim.xmlutil import Element, fmt_time

if TYPE_CHECKING:
    from rhevsim.registry import Registry

JOB_STATUSES = ("started", "finished", "failed", "aborted", "unknown")


@dataclass(kw_only=True, eq=False)
class Step(Entity):
    KIND = "step"
    TAG = "step"
    PLURAL = "steps"
    TYPE_NAME = "Step"
    REF_NAME = "Step"

    job_id: str
    number: int = 0
    status: str = "started"
    start_time: float = 0.0
    end_time: float | None = None
    step_type: str = "executing"

    def href(self) -> str:
        return f"/jobs/{self.job_id}/steps/{self.id}"

    def render(self, ctx: Ctx) -> Element:
        el = ctx.el(self)
        etree.SubElement(el, "description").text = self.description
        ctx.ref_id(el, "job", "jobs", self.job_id)
        etree.SubElement(el, "number").text = str(self.number)
        etree.SubElement(el, "type").text = self.step_type
        etree.SubElement(el, "status").text = self.status
        etree.SubElement(el, "start_time").text = fmt_time(self.start_time)
        if self.end_time is not None:
            etree.SubElement(el, "end_time").text = fmt_time(self.end_time)
        etree.SubElement(el, "external").text = "false"
        return el


@dataclass(kw_only=True, eq=False)
class Job(Entity):
    KIND = "job"
    TAG = "job"
    PLURAL = "jobs"
    PATH = "jobs"
    TYPE_NAME = "Job"
    REF_NAME = "Job"

    correlation_id: str
    status: str = "started"
    start_time: float = 0.0
    end_time: float | None = None
    last_updated: float = 0.0
    owner: str = "admin@internal"
    external: bool = False
    auto_cleared: bool = True
    steps: list[Step] = field(default_factory=list)

    def finish(self, now: float, succeeded: bool) -> None:
        self.status = "finished" if succeeded else "failed"
        self.end_time = now
        self.last_updated = now
        for s in self.steps:
            if s.status == "started":
                s.status = self.status
                s.end_time = now

    def render(self, ctx: Ctx) -> Element:
        el = ctx.el(self)
        ctx.actions(el, self, ("clear", "end"))
        etree.SubElement(el, "description").text = self.description
        ctx.sub_collection(el, self, "steps", "steps", lambda: self.steps)
        etree.SubElement(el, "auto_cleared").text = "true" if self.auto_cleared else "false"
        if self.end_time is not None:
            etree.SubElement(el, "end_time").text = fmt_time(self.end_time)
        etree.SubElement(el, "external").text = "true" if self.external else "false"
        etree.SubElement(el, "last_updated").text = fmt_time(self.last_updated)
        etree.SubElement(el, "start_time").text = fmt_time(self.start_time)
        etree.SubElement(el, "status").text = self.status
        ctx.ref_id(el, "owner", "users", _user_id(self.owner))
        return el

    def search_fields(self, reg: Registry) -> dict[str, SearchValue]:
        return {"correlation_id": self.correlation_id}


def _user_id(user: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "rhevsim-user:" + user))

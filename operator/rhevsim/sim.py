"""The simulator: registry + API routes + auth + faults, independent of the HTTP server.

`Simulator.handle(method, target, headers, body)` answers one HTTP request; `server.py`
wraps it in a ThreadingHTTPServer. The registry lock is held only while a handler runs.
"""

from __future__ import annotations

import random
import re
import threading
import time
import urllib.parse
import uuid
from collections import Counter
from http.cookies import SimpleCookie
from typing import Any

from lxml import etree

from rhevsim import control
from rhevsim import inventory as inventory_mod
from rhevsim.answer import Answer, json_answer
from rhevsim.api import Api, Request, Response
from rhevsim.auth import Auth
from rhevsim.clock import Clock
from rhevsim.entities import MODULES
from rhevsim.errors import ApiError
from rhevsim.faults import Faults
from rhevsim.model import Ctx
from rhevsim.registry import Registry
from rhevsim.xmlutil import fmt_time, parse_body, serialize

API_PREFIXES = ("/ovirt-engine/api/v4", "/ovirt-engine/api")
SSO_TOKEN = "/ovirt-engine/sso/oauth/token"
SSO_LOGOUT = "/ovirt-engine/services/sso-logout"
BLANK_TEMPLATE_ID = "00000000-0000-0000-0000-000000000000"
ROOT_TAG_ID = "00000000-0000-0000-0000-000000000000"


class Reset(Exception):
    """Close the connection without an answer (fault rule "reset" or API down)."""


class Simulator:
    def __init__(
        self,
        inventory: dict[str, Any] | None = None,
        *,
        clock: str = "real",
        time_scale: float = 1.0,
        seed: int = 0,
        admin_password: str | None = None,
    ) -> None:
        inv = inventory_mod.normalize(inventory or {})
        if admin_password is not None:
            inv["users"] = [
                {**u, "password": admin_password} if u["name"] == "admin@internal" else u
                for u in inv["users"]
            ]
        self.inventory = inv
        self.clock = Clock(clock, time_scale)
        self.reg = Registry(self.clock, seed=seed, timings=inv["timings"])
        self.reg.config.update(inv["engine"])
        self.api = Api()
        self.api.load_modules(MODULES)
        self.auth = Auth(self.clock, {u["name"]: u["password"] for u in inv["users"]})
        if "token_ttl" in inv["engine"]:
            self.auth.token_ttl = float(inv["engine"]["token_ttl"])
        self.faults = Faults(random.Random(seed + 7919))
        self._cid_rng = random.Random(seed + 104729)  # generated Correlation-Ids
        self.stats: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        #: Requests per RHEV-M object a path targets (its last id), per "METHOD template".
        self.stats_by_object: dict[str, Counter[str]] = {}
        self._stats_lock = threading.Lock()
        with self.reg.lock:
            self.api.call_modules("setup", self.reg)
            inventory_mod.load_machines(self.reg, inv)
            self.api.call_modules("load_inventory", self.reg, inv)
        self.control = control.Control(self)

    # ------------------------------------------------------------------ entry point
    def handle(self, method: str, target: str, headers: dict[str, str], body: bytes) -> Answer:
        method = method.upper()
        headers = {k.lower(): v for k, v in headers.items()}
        split = urllib.parse.urlsplit(target)
        path = urllib.parse.unquote(split.path)
        if path.startswith("/sim/") or path == "/sim":
            return self.control.handle(method, path, split.query, body)

        latency = 0.0
        if self.faults.api_down is not None:
            self.count_request(method, "(api down)")
            if self.faults.api_down == "reset":
                return Answer(0, b"", [], reset=True)
            return Answer(503, b"Service Unavailable", [("Content-Type", "text/html")])
        decision = self.faults.decide(method, path)
        if decision is not None:
            latency = decision.latency
            if decision.reset:
                self.count_request(method, "(fault reset)")
                return Answer(0, b"", [], latency=latency, reset=True)
            if decision.status is not None:
                self.count_request(method, "(fault)")
                el = etree.Element("fault")
                etree.SubElement(el, "reason").text = decision.reason
                etree.SubElement(el, "detail").text = decision.detail
                return Answer(
                    decision.status,
                    serialize(el),
                    [("Content-Type", "application/xml;charset=UTF-8")],
                    latency=latency,
                )

        if path == SSO_TOKEN:
            ans = self._sso_token(method, body, headers)
        elif path == SSO_LOGOUT:
            ans = self._sso_logout(body)
        else:
            ans = self._api(method, path, split.query, headers, body)
        ans.latency += latency
        return ans

    def request_stats(self) -> dict[str, int]:
        """Requests served so far, per "METHOD /template"."""
        with self._stats_lock:
            return dict(self.stats)

    def refused_stats(self) -> dict[str, int]:
        """Requests a route refused (an engine fault: 4xx/5xx), per "METHOD /template"."""
        with self._stats_lock:
            return dict(self.refused)

    def count_refused(self, method: str, template: str, ids: tuple[str, ...] = ()) -> None:
        """A request the route refused; per object under "METHOD /template refused"."""
        key = f"{method} {template}"
        with self._stats_lock:
            self.refused[key] += 1
            for oid in ids:
                self.stats_by_object.setdefault(oid, Counter())[f"{key} refused"] += 1

    def object_stats(self) -> dict[str, dict[str, int]]:
        """Requests served so far per object id named in the path, per "METHOD /template"."""
        with self._stats_lock:
            return {oid: dict(c) for oid, c in self.stats_by_object.items()}

    def count_request(self, method: str, template: str, ids: tuple[str, ...] = ()) -> None:
        key = f"{method} {template}"
        with self._stats_lock:
            self.stats[key] += 1
            for oid in ids:
                self.stats_by_object.setdefault(oid, Counter())[key] += 1

    # ------------------------------------------------------------------ SSO
    def _sso_token(self, method: str, body: bytes, headers: dict[str, str]) -> Answer:
        self.count_request(method, SSO_TOKEN)
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        if method != "POST":
            return json_answer(405, {"error_code": "invalid_request", "error": "POST expected"})
        scope = form.get("scope", "")
        if "ovirt-app-api" not in scope.split():
            return json_answer(
                400,
                {
                    "error": "invalid_scope",
                    "error_description": "The scope ovirt-app-api is required.",
                },
            )
        if form.get("grant_type") != "password":
            return json_answer(
                400, {"error_code": "access_denied", "error": "Unsupported grant_type."}
            )
        user, password = form.get("username", ""), form.get("password", "")
        with self.reg.lock:
            ok = self.auth.check_password(user, password)
            if not ok:
                return json_answer(
                    400,
                    {
                        "error_code": "access_denied",
                        "error": f"Cannot authenticate user '{user}': "
                        "The username or password is incorrect..",
                    },
                )
            tok = self.auth.issue_token(user)
        return json_answer(
            200,
            {
                "access_token": tok.value,
                "scope": "ovirt-app-api",
                "exp": str(int(tok.expires * 1000)),
                "token_type": "bearer",
            },
        )

    def _sso_logout(self, body: bytes) -> Answer:
        self.count_request("POST", SSO_LOGOUT)
        form = dict(urllib.parse.parse_qsl(body.decode("utf-8", "replace")))
        with self.reg.lock:
            if form.get("token"):
                self.auth.revoke_token(form["token"])
        return json_answer(200, {})

    # ------------------------------------------------------------------ API
    def _authenticate(self, headers: dict[str, str]) -> tuple[str | None, list[tuple[str, str]]]:
        """The user, and headers to add (session cookie). None = 401."""
        prefer = headers.get("prefer", "").lower()
        persistent = "persistent-auth" in prefer or "new-auth" in prefer
        cookie = SimpleCookie()
        if "cookie" in headers:
            try:
                cookie.load(headers["cookie"])
            except Exception:
                cookie = SimpleCookie()
        sid = cookie["JSESSIONID"].value if "JSESSIONID" in cookie else None
        authz = headers.get("authorization", "")
        user: str | None = None
        if authz.lower().startswith("bearer "):
            user = self.auth.bearer_user(authz[7:].strip())
        elif authz.lower().startswith("basic "):
            user = self.auth.basic_user(authz[6:])
        elif sid and persistent:
            user = self.auth.session_user(sid)
            return user, []
        if user is None:
            return None, []
        extra: list[tuple[str, str]] = []
        if persistent:
            if sid and self.auth.session_user(sid) == user:
                pass
            else:
                new = self.auth.new_session(user)
                extra.append(("Set-Cookie", f"JSESSIONID={new}; Path=/ovirt-engine/api; HttpOnly"))
        elif sid:
            self.auth.end_session(sid)  # a request without Prefer ends the session
        return user, extra

    def _api(
        self, method: str, path: str, query_string: str, headers: dict[str, str], body: bytes
    ) -> Answer:
        base = None
        for prefix in API_PREFIXES:
            if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + ";"):
                base = prefix
                break
        if base is None:
            self.count_request(method, "(unknown)")
            return Answer(404, b"", [("Content-Type", "text/html")])
        rel = path[len(base) :]
        # Matrix parameters (/vms;max=10): collect, then strip from each segment.
        matrix: dict[str, str] = {}
        segs = []
        for seg in rel.split("/"):
            name, *mparams = seg.split(";")
            for p in mparams:
                k, _, v = p.partition("=")
                matrix.setdefault(k, v)
            segs.append(name)
        rel = "/".join(segs).rstrip("/")
        query = dict(matrix)
        query.update(urllib.parse.parse_qsl(query_string, keep_blank_values=True))

        # A 4.4+ engine serves only v4 and ignores the `Version` header (the v3 dialect and
        # its VersionFilter were removed); /ovirt-engine/api/v3/... is simply not found.

        with self.reg.lock:
            user, auth_headers = self._authenticate(headers)
        if user is None:
            self.count_request(method, "(unauthorized)")
            return Answer(
                401,
                b"",
                [("WWW-Authenticate", 'Basic realm="RESTAPI"'), ("Content-Type", "text/html")],
            )

        # restapi invocation/CurrentFilter: the header first, then the parameter, characters
        # outside [0-9a-zA-Z_-] stripped, cut to 36; one is generated when absent. It is
        # echoed in the response's Correlation-Id header.
        correlation_id = _clean_correlation_id(headers.get("correlation-id"))
        correlation_id = correlation_id or _clean_correlation_id(query.get("correlation_id"))
        if not correlation_id:
            with self.reg.lock:
                correlation_id = str(uuid.UUID(int=self._cid_rng.getrandbits(128), version=4))
        auth_headers = [*auth_headers, ("Correlation-Id", correlation_id)]

        if rel == "":
            if method not in ("GET", "HEAD"):
                self.count_request(method, "/")
                return Answer(405, b"", [("Allow", "GET")])
            self.count_request(method, "/")
            with self.reg.lock:
                data = serialize(self._root(base, user))
            return Answer(
                200, data, [("Content-Type", "application/xml;charset=UTF-8"), *auth_headers]
            )

        matched = self.api.match(method, rel)
        if matched is None:
            self.count_request(method, "(no route)")
            status = 405 if self.api.path_exists(rel) else 404
            return Answer(status, b"", auth_headers)
        route, params = matched
        self.count_request(method, route.template, tuple(params.values())[-1:])
        all_content = query.get("all_content", "").lower() == "true" or (
            headers.get("all-content", "").lower() == "true"
        )
        follow = query.get("follow", "")
        try:
            parsed = parse_body(body) if method in ("POST", "PUT") else None
        except ApiError as exc:
            self.count_refused(method, route.template, tuple(params.values())[-1:])
            return self._error(exc, route.is_action, auth_headers)
        with self.reg.lock:
            ctx = Ctx(self.reg, base, follow.split(",") if follow else (), all_content)
            req = Request(
                method=method,
                path=rel,
                query=query,
                headers=headers,
                raw=body,
                body=parsed,
                reg=self.reg,
                ctx=ctx,
                base=base,
                user=user,
                correlation_id=correlation_id,
                template=route.template,
                params=params,
            )
            try:
                resp: Response = route.handler(req)
            except ApiError as exc:
                self.count_refused(method, route.template, tuple(params.values())[-1:])
                return self._error(exc, route.is_action, auth_headers)
        if resp.settle is not None:
            resp = self._block(resp)
        hdrs = list(resp.headers) + auth_headers
        if resp.content_type:
            hdrs.append(("Content-Type", resp.content_type))
        return Answer(resp.status, resp.body, hdrs)

    def _block(self, resp: Response) -> Response:
        """Wait (outside the lock) until `resp.settle` gives the final answer: the engine
        blocks `<async>false</async>` actions and `Expect: 201-created` creates until their
        storage tasks end. The state machines must run meanwhile: the real clock's ticker,
        or, under the manual clock, a test advancing it from another thread. Bounded by
        `blocking_timeout` real seconds (config; default 30), then the immediate answer."""
        settle = resp.settle
        assert settle is not None
        limit = float(self.reg.config.get("blocking_timeout", 30.0))
        deadline = time.monotonic() + limit
        while True:
            with self.reg.lock:
                final = settle()
            if final is not None:
                return final
            if time.monotonic() >= deadline:
                resp.settle = None
                return resp
            time.sleep(0.02)

    def _error(self, exc: ApiError, is_action: bool, extra: list[tuple[str, str]]) -> Answer:
        if exc.empty:
            return Answer(exc.status, b"", extra)
        fault = etree.Element("fault")
        etree.SubElement(fault, "reason").text = exc.reason
        etree.SubElement(fault, "detail").text = exc.detail
        el = fault
        if is_action:
            el = etree.Element("action")
            el.append(fault)
            etree.SubElement(el, "status").text = "failed"
        return Answer(
            exc.status, serialize(el), [("Content-Type", "application/xml;charset=UTF-8"), *extra]
        )

    def _root(self, base: str, user: str) -> etree._Element:
        api = etree.Element("api")
        for coll in self.api.root_links:
            etree.SubElement(api, "link", {"href": f"{base}/{coll}", "rel": coll})
            if coll not in ("jobs", "events") or coll == "events":
                etree.SubElement(
                    api,
                    "link",
                    {"href": f"{base}/{coll}?search={{query}}", "rel": f"{coll}/search"},
                )
        major, minor, rev = self.reg.product_version
        pi = etree.SubElement(api, "product_info")
        etree.SubElement(pi, "instance_id").text = self.reg.config.get(
            "instance_id", "5f7a3a2e-0000-4000-8000-000000000001"
        )
        etree.SubElement(pi, "name").text = str(self.reg.config.get("product_name", "oVirt Engine"))
        etree.SubElement(pi, "vendor").text = str(self.reg.config.get("vendor", "ovirt.org"))
        v = etree.SubElement(pi, "version")
        etree.SubElement(v, "build").text = "1"
        etree.SubElement(v, "full_version").text = f"{major}.{minor}.{rev}-1.el8"
        etree.SubElement(v, "major").text = str(major)
        etree.SubElement(v, "minor").text = str(minor)
        etree.SubElement(v, "revision").text = "0"
        so = etree.SubElement(api, "special_objects")
        etree.SubElement(
            so,
            "blank_template",
            {"href": f"{base}/templates/{BLANK_TEMPLATE_ID}", "id": BLANK_TEMPLATE_ID},
        )
        etree.SubElement(so, "root_tag", {"href": f"{base}/tags/{ROOT_TAG_ID}", "id": ROOT_TAG_ID})
        summary = etree.SubElement(api, "summary")
        counts = self.reg.counts()
        for tag, kind in (
            ("hosts", "host"),
            ("storage_domains", "storagedomain"),
            ("users", None),
            ("vms", "vm"),
        ):
            s = etree.SubElement(summary, tag)
            if kind is None:
                total, active = len(self.auth.users), len(self.auth.users)
            else:
                objs = list(self.reg.iter_kind(kind))
                total = counts.get(kind, 0)
                active = sum(
                    1 for o in objs if getattr(o, "status", None) in ("up", "active", None)
                )
            etree.SubElement(s, "active").text = str(active)
            etree.SubElement(s, "total").text = str(total)
        etree.SubElement(api, "time").text = fmt_time(self.clock.wall())

        uid = str(uuid.uuid5(uuid.NAMESPACE_URL, "rhevsim-user:" + user))
        etree.SubElement(api, "authenticated_user", {"href": f"{base}/users/{uid}", "id": uid})
        etree.SubElement(api, "effective_user", {"href": f"{base}/users/{uid}", "id": uid})
        return api

    # ------------------------------------------------------------------ clock
    def advance(self, seconds: float) -> int:
        return self.reg.advance(seconds)

    def tick(self) -> int:
        """Run due timers now (the real-clock ticker calls this)."""
        return self.reg.run_due()


class Ticker(threading.Thread):
    """Runs due transitions in real-clock mode."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__(name="rhevsim-ticker", daemon=True)
        self.sim = sim
        self._stop_evt = threading.Event()

    def run(self) -> None:
        while not self._stop_evt.is_set():
            self.sim.clock.wait_real(0.25)
            if self._stop_evt.is_set():
                return
            self.sim.tick()

    def stop(self) -> None:
        self._stop_evt.set()
        self.sim.clock.wake()


def _clean_correlation_id(value: str | None) -> str | None:
    cleaned = re.sub(r"[^0-9a-zA-Z_-]+", "", value or "")
    return cleaned[:36] or None


def monotonic_ms() -> float:
    return time.monotonic() * 1000.0

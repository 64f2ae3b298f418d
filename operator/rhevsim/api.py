"""Routing, requests, responses and the response builders every entity module uses.

Entity modules export `register(api: Api)` and add routes with path templates relative to
the API root (`/datacenters/{id}/storagedomains/{sd}`). A handler takes a `Request` and
returns a `Response`; it runs with the registry lock held and must never sleep.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, TypeVar

from lxml import etree

from rhevsim.errors import ApiError, incomplete, not_found_url
from rhevsim.model import Ctx, Entity
from rhevsim.search import compile_query
from rhevsim.xmlutil import CONTENT_TYPE, Element, boolean, serialize, text

if TYPE_CHECKING:
    from rhevsim.registry import Registry

T = TypeVar("T", bound=Entity)
Handler = Callable[["Request"], "Response"]

# Page size for `page N` searches without max (engine SearchResultsLimit default).
SEARCH_PAGE_SIZE = 100


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str | None = CONTENT_TYPE
    # A blocking request (`<async>false</async>`, `Expect: 201-created`): called with the
    # registry lock held until it returns the final answer; the simulator waits outside the
    # lock meanwhile (see Simulator._block), this Response being the answer when it gives up.
    settle: Callable[[], Response | None] | None = None


@dataclass
class Request:
    method: str
    path: str  # relative to the API root, without matrix parameters
    query: dict[str, str]  # query and matrix parameters (matrix ones do not override)
    headers: dict[str, str]  # lower-case names
    raw: bytes
    body: Element | None
    reg: Registry
    ctx: Ctx
    base: str  # the API root path as requested: /ovirt-engine/api or /ovirt-engine/api/v4
    user: str = "admin@internal"
    correlation_id: str | None = None
    template: str = ""
    params: dict[str, str] = field(default_factory=dict)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def query_bool(self, name: str, default: bool = False) -> bool:
        v = self.query.get(name)
        if v is None or v == "":
            return default if v is None else True
        low = v.lower()
        if low in ("true", "1", "yes"):
            return True
        if low in ("false", "0", "no"):
            return False
        raise ApiError(400, "Invalid value", f"{v} is not a valid boolean for parameter {name}")

    def action_bool(self, name: str) -> bool | None:
        """A boolean parameter of an `<action>` body."""
        return boolean(self.body, name)

    def async_false(self) -> bool:
        """`<action><async>false</async></action>`: the client asked to block."""
        return boolean(self.body, "async") is False

    def expect_201(self) -> bool:
        for h in ("expect", "x-ovirt-expect"):
            v = self.headers.get(h)
            if v and "201-created" in v.lower():
                return True
        return False

    def expect_202(self) -> bool:
        for h in ("expect", "x-ovirt-expect"):
            v = self.headers.get(h)
            if v and "202-accepted" in v.lower():
                return True
        return self.query_bool("async")


@dataclass
class Route:
    method: str
    template: str
    segments: tuple[str, ...]
    handler: Handler
    is_action: bool = False


class Api:
    def __init__(self) -> None:
        self._routes: dict[tuple[str, int], list[Route]] = {}
        self.modules: list[ModuleType] = []
        self.root_links: list[str] = []  # top-level collections for the API root

    # ------------------------------------------------------------------ registration
    def route(self, method: str, template: str, handler: Handler, *, action: bool = False) -> None:
        segs = tuple(s for s in template.split("/") if s)
        key = (method.upper(), len(segs))
        self._routes.setdefault(key, []).append(
            Route(method.upper(), template, segs, handler, action)
        )
        # Literal segments first so /hosts/{id}/nics wins over /hosts/{id}/{verb}-style routes.
        self._routes[key].sort(key=lambda r: sum(1 for s in r.segments if s.startswith("{")))
        if method.upper() == "GET" and len(segs) == 1 and segs[0] not in self.root_links:
            self.root_links.append(segs[0])

    def action(self, entity_template: str, verb: str, handler: Handler) -> None:
        """POST {entity}/{verb} with an `<action>` body; faults render inside `<action>`."""
        self.route("POST", f"{entity_template.rstrip('/')}/{verb}", handler, action=True)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        segs = [s for s in path.split("/") if s]
        for route in self._routes.get((method.upper(), len(segs)), ()):
            params: dict[str, str] = {}
            for t, s in zip(route.segments, segs, strict=True):
                if t.startswith("{"):
                    params[t[1:-1]] = s
                elif t != s:
                    break
            else:
                return route, params
        return None

    def path_exists(self, path: str) -> bool:
        """Whether any method serves `path` (405 vs 404)."""
        return any(self.match(m, path) for m in ("GET", "POST", "PUT", "DELETE"))

    def templates(self) -> list[str]:
        return sorted({r.template for rs in self._routes.values() for r in rs})

    @staticmethod
    def invalid_param(name: str, value: str, allowed: str) -> ApiError:
        return ApiError(
            400, "Invalid value", f"{value} is not valid for {name}: expected {allowed}"
        )

    # ------------------------------------------------------------------ modules
    def load_modules(self, modules: Sequence[ModuleType]) -> None:
        """Register each entity module's routes, in order (see `rhevsim.entities`)."""
        for mod in modules:
            if hasattr(mod, "register"):
                mod.register(self)
            self.modules.append(mod)
        # Fallback routes that a later module may have served better (see storagedomain).
        for mod in self.modules:
            if hasattr(mod, "finalize"):
                mod.finalize(self)

    def call_modules(self, hook: str, *args: Any) -> None:
        """Call `hook(*args)` on every loaded module that defines it (setup, load_inventory)."""
        for mod in self.modules:
            fn = getattr(mod, hook, None)
            if fn is not None:
                fn(*args)


# ---------------------------------------------------------------------- helpers


def get_or_404(req: Request, cls: type[T], param: str = "id") -> T:
    obj = req.reg.get(cls, req.params[param])
    if obj is None:
        raise not_found_url()
    return obj


def member_or_404(items: Iterable[T], ident: str) -> T:
    """The one of an owner's sub-collection (NICs, disk attachments) with id `ident`."""
    for item in items:
        if item.id == ident:
            return item
    raise not_found_url()


def xml_response(
    el: Element, status: int = 200, headers: list[tuple[str, str]] | None = None
) -> Response:
    return Response(status, serialize(el), headers or [])


def render_list(req: Request, objs: Iterable[Entity], plural: str) -> Element:
    coll = etree.Element(plural)
    ctx = req.ctx
    for o in objs:
        coll.append(o.render(ctx))
    return coll


def list_response(
    req: Request,
    objs: Sequence[Entity],
    plural: str,
    *,
    searchable: bool = True,
    default_sort: bool = True,
    kind: type[Entity] | None = None,
) -> Response:
    """A collection answer with search (top-level only), case_sensitive, max, page, sortby.

    The query's syntax is checked against `kind.SEARCH_KEYS` (and the keys the items fill),
    so that an unknown key is a 400 whatever the collection holds, as on the engine.
    """
    items = list(objs)
    query = req.query.get("search") if searchable else None
    if query:
        case_sensitive = req.query_bool("case_sensitive", False)
        allowed: set[str] = set(kind.SEARCH_KEYS) if kind is not None else set()
        if items:
            allowed |= type(items[0]).SEARCH_KEYS | set(items[0].search_fields(req.reg))
        q = compile_query(query, allowed, case_sensitive) if allowed else None
        if q is not None:
            items = [o for o in items if q.predicate(o.search_fields(req.reg))]
            if q.sortby:
                key = q.sortby
                items.sort(key=lambda o: search_sort_key(o.search_fields(req.reg).get(key)))
                if q.descending:
                    items.reverse()
            elif default_sort:
                items.sort(key=lambda o: o.name.lower())
            if q.page is not None:
                size = max_param(req) or SEARCH_PAGE_SIZE
                items = items[(q.page - 1) * size : q.page * size]
    elif searchable and default_sort:
        # Top-level lists are engine searches ("Vms:") even without a query: sorted by name.
        items.sort(key=lambda o: o.name.lower())
    m = max_param(req)
    if m is not None and m >= 0:
        items = items[:m]
    return xml_response(render_list(req, items, plural))


def search_sort_key(v: object) -> tuple[int, Any]:
    if v is None:
        return (0, "")
    if isinstance(v, int | float):
        return (1, v)
    return (2, str(v).lower())


def max_param(req: Request) -> int | None:
    v = req.query.get("max")
    if v is None or v == "":
        return None
    try:
        return int(v)
    except ValueError:
        raise Api.invalid_param("max", v, "an integer") from None


def created(req: Request, obj: Entity, *, async_work: bool = False) -> Response:
    """201 + Location, or 202 with creation_status when async tasks run. With `Expect:
    201-created` the engine blocks until the tasks end (BackendResource.performCreate polls
    them), then answers 201 with the final entity: here `settle` re-renders it then."""
    el = obj.render(req.ctx)
    location = req.ctx.base + obj.href()
    if async_work and not req.expect_201():
        etree.SubElement(el, "creation_status").text = "pending"
        etree.SubElement(
            el, "link", {"href": location + "/creation_status", "rel": "creation_status"}
        )
        return xml_response(el, 202, [("Location", location)])
    resp = xml_response(el, 201, [("Location", location)])
    if async_work:

        def settle() -> Response | None:
            if _busy(req, obj):
                return None
            return xml_response(obj.render(req.ctx), 201, [("Location", location)])

        resp.settle = settle
    return resp


def _busy(req: Request, obj: Entity) -> bool:
    """Whether the storage tasks of a new object still run (it, or its disk, is locked)."""
    target: Entity = obj
    if obj.KIND == "diskattachment":
        target = req.reg.objects.get("disk", {}).get(obj.id, obj)
    if req.reg.objects.get(target.KIND, {}).get(target.id) is not target:
        return False  # gone (the creation failed and was rolled back)
    return target.lock is not None or getattr(target, "status", None) in (
        "locked",
        "image_locked",
    )


def _action_el(req: Request, status: str, job: Entity | None, items: Sequence[Element]) -> Element:
    act = etree.Element("action")
    for it in items:
        act.append(it)
    if job is not None:
        req.ctx.ref(act, "job", job)
    etree.SubElement(act, "status").text = status
    return act


def action_complete(
    req: Request, job: Entity | None = None, items: Sequence[Element] = ()
) -> Response:
    """200 `<action><status>complete</status>` (+ job link and result elements)."""
    return xml_response(_action_el(req, "complete", job, items))


def action_async(
    req: Request, job: Entity | None = None, items: Sequence[Element] = ()
) -> Response:
    """An action that started VDSM async tasks: 202 pending; with `<async>false</async>` the
    engine blocks until the tasks end, then answers 200 complete (or failed): `settle`."""
    if req.async_false():
        resp = action_complete(req, job, items)
        if job is not None:

            def settle() -> Response | None:
                status = getattr(job, "status", "finished")
                if status == "started":
                    return None
                return xml_response(
                    _action_el(req, "complete" if status == "finished" else "failed", job, items)
                )

            resp.settle = settle
        return resp
    act = _action_el(req, "pending", job, items)
    a = etree.Element("async")
    a.text = "true"
    act.insert(0, a)
    return xml_response(act, 202)


def delete_complete(req: Request) -> Response:
    """DELETE answers 200 with `<action><status>complete</status></action>` (never 204);
    with `async=true` (or `Expect: 202-accepted`) 202 and an empty body, as the engine's
    BackendResource.performRemove."""
    if req.expect_202():
        return Response(202, b"", [], None)
    return xml_response(_action_el(req, "complete", None, ()))


def require(body: Element | None, type_name: str, method: str, *paths: str) -> None:
    """400 Incomplete parameters when any of `paths` is missing from the body."""

    missing = [
        p.replace("/", ".")
        for p in paths
        if not text(body, p) and (body is None or body.find(p) is None)
    ]
    if missing:
        raise incomplete(type_name, missing, method)


def ref_from_body(req: Request, cls: type[T], el: Element | None) -> T | None:
    """Resolve `<cluster id=".."/>` or `<cluster><name>X</name></cluster>`; None when absent."""
    if el is None:
        return None
    ident = el.get("id")
    name_el = el.find("name")
    name = name_el.text.strip() if name_el is not None and name_el.text else None
    if not ident and not name:
        return None
    return req.reg.resolve(cls, ident, name)


def empty_collections(api: Api, parent: type[Entity], template: str, rels: dict[str, str]) -> None:
    """Serve link-only sub-collections (permissions, quotas, ...) as empty lists, so that
    every `<link>` the simulator writes answers like the engine's does."""

    def make(plural: str) -> Handler:
        def handler(req: Request) -> Response:
            get_or_404(req, parent, "id")
            return xml_response(etree.Element(plural))

        return handler

    for rel, plural in rels.items():
        api.route("GET", f"{template}/{rel}", make(plural))

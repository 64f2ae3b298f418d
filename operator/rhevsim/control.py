"""Control endpoints under /sim/ (JSON in and out, no authentication).

GET    /sim/stats                       request counts by "METHOD template" (refused: those
                                        the engine refused; by_object: per object the path
                                        targets (its last id), "... refused" for the
                                        refused), objects by kind
POST   /sim/faults                      add a rule (or {"rules": [...]}) -> {"ids": [...]}
GET    /sim/faults                      list rules
DELETE /sim/faults                      remove all rules
POST   /sim/api/down   {"mode": "503"|"reset"}   every API request fails
POST   /sim/api/up
POST   /sim/clock/advance {"seconds": S}         manual clock only
GET    /sim/clock                       {"mode", "now", "pending"}
POST   /sim/auth/expire-tokens          drop all SSO tokens and sessions
POST   /sim/auth/password {"user", "password"}  change a user's password (a rotation); the
                                         tokens and sessions already given stay valid
GET    /sim/auth/issued                 every SSO token and session id issued (leak checks)
GET    /sim/machines                    physical machines
GET    /sim/machines/{name}
POST   /sim/machines/{name}/power {"on": bool, "via": "ipmi"?}  (the BMC says "via": "ipmi";
                                        counted per machine under "ipmi")
POST   /sim/machines/{name}/bmc   {"reachable": bool}   the BMC stops (or starts) answering
POST   /sim/machines/{name}/boot  {"device": "network"|"disk"|"cdrom"|"bios"}
POST   /sim/hosts/{name}/fail {"mode": "machine"|"network"}  the host stops answering the
                                        engine: dead (default) or cut off, still renewing its
                                        storage lease (rhevsim.hypervisor hook)
POST   /sim/hosts/{name}/heal
"""

from __future__ import annotations

import json
import urllib.parse
from typing import TYPE_CHECKING, Any, Protocol

from rhevsim.answer import Answer, json_answer
from rhevsim.faults import FaultRuleError

if TYPE_CHECKING:
    from rhevsim.auth import Auth
    from rhevsim.clock import Clock
    from rhevsim.faults import Faults
    from rhevsim.registry import Registry

BOOT_DEVICES = ("network", "disk", "cdrom", "bios", "floppy", "default")


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Engine(Protocol):
    """What the control endpoints need of the simulator (`sim.Simulator`)."""

    reg: Registry
    faults: Faults
    auth: Auth
    clock: Clock

    def advance(self, seconds: float) -> int: ...

    def count_request(self, method: str, template: str, ids: tuple[str, ...] = ()) -> None: ...

    def request_stats(self) -> dict[str, int]: ...

    def object_stats(self) -> dict[str, dict[str, int]]: ...

    def refused_stats(self) -> dict[str, int]: ...


class Control:
    def __init__(self, sim: Engine) -> None:
        self.sim = sim
        self._via_ipmi = False

    def handle(self, method: str, path: str, query: str, body: bytes) -> Answer:
        segs = [urllib.parse.unquote(s) for s in path.split("/") if s][1:]
        template = "/sim/" + "/".join(
            "{name}" if i == 1 and segs[0] in ("machines", "hosts") else s
            for i, s in enumerate(segs)
        )
        self.sim.count_request(method, template)
        try:
            data: Any = json.loads(body) if body.strip() else {}
        except ValueError:
            return json_answer(400, {"error": "the body must be JSON"})
        self._via_ipmi = "via=ipmi" in query.split("&")
        try:
            status, result = self._dispatch(method, segs, data)
        except ControlError as exc:
            return json_answer(exc.status, {"error": exc.message})
        except FaultRuleError as exc:
            return json_answer(400, {"error": str(exc)})
        return json_answer(status, result)

    def _dispatch(self, method: str, segs: list[str], data: Any) -> tuple[int, Any]:
        sim = self.sim
        reg = sim.reg
        if not isinstance(data, dict) and not (segs == ["faults"] and isinstance(data, list)):
            raise ControlError(400, "the body must be a JSON object")
        raw = data
        data = data if isinstance(data, dict) else {}
        match (method, segs):
            case ("GET", ["stats"]):
                with reg.lock:
                    objects = reg.counts()
                requests = sim.request_stats()
                return 200, {
                    "requests": requests,
                    "requests_total": sum(requests.values()),
                    "refused": sim.refused_stats(),
                    "by_object": sim.object_stats(),
                    "objects": objects,
                    "logins": sim.auth.logins,
                    "transition_errors": reg.transition_errors,
                }
            case ("POST", ["faults"]):
                specs = raw if isinstance(raw, list) else data.get("rules", [data])
                if not isinstance(specs, list):
                    raise ControlError(400, "rules: expected a list of fault rules")
                ids = [sim.faults.add(s).id for s in specs]
                return 201, {"ids": ids}
            case ("GET", ["faults"]):
                return 200, {"rules": [r.as_json() for r in sim.faults.rules]}
            case ("DELETE", ["faults"]):
                return 200, {"removed": sim.faults.clear()}
            case ("POST", ["api", "down"]):
                mode = str(data.get("mode", "503"))
                if mode not in ("503", "reset"):
                    raise ControlError(400, 'mode: expected "503" or "reset"')
                sim.faults.api_down = mode
                return 200, {"api": "down", "mode": mode}
            case ("POST", ["api", "up"]):
                sim.faults.api_down = None
                return 200, {"api": "up"}
            case ("GET", ["clock"]):
                return 200, {
                    "mode": sim.clock.mode,
                    "scale": sim.clock.scale,
                    "now": sim.clock.now(),
                    "pending": sim.clock.pending(),
                }
            case ("POST", ["clock", "advance"]):
                if not sim.clock.manual:
                    raise ControlError(409, "the clock is real; advance needs --clock manual")
                seconds = data.get("seconds")
                if not isinstance(seconds, int | float) or seconds < 0:
                    raise ControlError(400, "seconds: expected a number >= 0")
                try:
                    ran = sim.advance(float(seconds))
                except Exception as exc:  # a broken transition: report it, keep serving
                    raise ControlError(500, f"a transition failed: {exc!r}") from exc
                return 200, {"now": sim.clock.now(), "ran": ran}
            case ("POST", ["auth", "password"]):
                user, password = data.get("user"), data.get("password")
                if not isinstance(user, str) or not isinstance(password, str) or not password:
                    raise ControlError(400, "user and password: expected non-empty strings")
                if user not in sim.auth.users:
                    raise ControlError(404, f"no user {user!r}")
                with reg.lock:
                    sim.auth.users[user] = password
                return 200, {"user": user}
            case ("POST", ["auth", "expire-tokens"]):
                with reg.lock:
                    n = sim.auth.expire_all()
                return 200, {"expired": n}
            case ("GET", ["auth", "issued"]):
                with reg.lock:
                    return 200, {"issued": list(sim.auth.issued)}
            case ("GET", ["machines"]):
                with reg.lock:
                    return 200, {"machines": [m.as_json() for m in reg.machines.values()]}
            case ("GET", ["machines", name]):
                with reg.lock:
                    m = self._machine(name)
                    if self._via_ipmi and m.bmc.get("reachable") is False:
                        raise ControlError(503, f"the BMC of {name} does not answer")
                    return 200, m.as_json()
            case ("POST", ["machines", name, "power"]):
                on = data.get("on")
                if not isinstance(on, bool):
                    raise ControlError(400, "on: expected true or false")
                with reg.lock:
                    m = self._machine(name)
                    if data.get("via") == "ipmi":
                        if m.bmc.get("reachable") is False:
                            raise ControlError(503, f"the BMC of {name} does not answer")
                        counters = m.extra.setdefault("ipmi", {"on": 0, "off": 0})
                        counters["on" if on else "off"] += 1
                    changed = m.powered_on != on
                    m.powered_on = on
                    if changed:
                        for hook in reg.hooks.machine_power:
                            hook(reg, m)
                    return 200, m.as_json()
            case ("POST", ["machines", name, "bmc"]):
                reachable = data.get("reachable")
                if not isinstance(reachable, bool):
                    raise ControlError(400, "reachable: expected true or false")
                with reg.lock:
                    m = self._machine(name)
                    m.bmc["reachable"] = reachable
                    return 200, m.as_json()
            case ("POST", ["machines", name, "boot"]):
                device = data.get("device")
                if device not in BOOT_DEVICES:
                    raise ControlError(400, f"device: expected one of {', '.join(BOOT_DEVICES)}")
                with reg.lock:
                    m = self._machine(name)
                    m.boot_device = str(device)
                    for hook in reg.hooks.machine_boot:
                        hook(reg, m)
                    return 200, m.as_json()
            case ("POST", ["hosts", name, ("fail" | "heal") as what]):
                mode = str(data.get("mode", "machine"))
                if mode not in ("machine", "network"):
                    raise ControlError(400, 'mode: expected "machine" or "network"')
                with reg.lock:
                    if what == "fail":
                        fail = reg.hooks.host_fail
                        found = None if fail is None else fail(reg, name, mode)
                    else:
                        heal = reg.hooks.host_heal
                        found = None if heal is None else heal(reg, name)
                    if found is None:
                        raise ControlError(501, "no host module is loaded")
                    if not found:
                        raise ControlError(404, f"no host named {name!r}")
                    return 200, {"host": name, "state": "failed" if what == "fail" else "healed"}
        raise ControlError(404, f"no control endpoint {method} /sim/{'/'.join(segs)}")

    def _machine(self, name: str) -> Any:
        m = self.sim.reg.machines.get(name)
        if m is None:
            raise ControlError(404, f"no machine named {name!r}")
        return m

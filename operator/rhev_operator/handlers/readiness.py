"""Readiness: may this replica act, as far as peering goes?

kopf's liveness endpoint answers while the operator's loop runs, also while peering keeps a
replica paused: a standby replica is paused by design and must not be restarted, so liveness
stays kopf's. Readiness (`rhev-operator run --readiness URL`) answers 503 while the replica
is paused by peering (a live peer of higher priority, or one of the same priority) or has no
peering object to peer through, which kopf would wait for forever in silence: that is logged
once at error level, naming the object to create.

The peering objects are read as kopf reads them (their `status` maps each peer's identity to
its priority and last keep-alive), so this process must run kopf under a known identity.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import socket
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rhev_operator.handlers.runtime import KubeClient

log = logging.getLogger("rhev_operator.readiness")

PEERING_GROUP = "kopf.dev"
PEERING_VERSION = "v1"


def own_identity() -> str:
    """This replica's peering identity: the pod (POD_NAME) or host, and a random tail so a
    restarted process is a new peer, as kopf's own identities are."""
    who = os.environ.get("POD_NAME") or socket.gethostname()
    tail = "".join(random.choices("abcdefghijklmnopqrstuvwxyz0123456789", k=6))
    return f"rhev-operator/{who}/{tail}"


@dataclass(frozen=True)
class Verdict:
    ready: bool
    reason: str  # one line: why (not) ready


def _alive(info: Mapping[str, Any], now: dt.datetime) -> bool:
    seen = info.get("lastseen")
    if not seen:
        return True  # as kopf: a peer without lastseen counts as just seen
    try:
        last = dt.datetime.fromisoformat(str(seen).replace("Z", "+00:00"))
    except ValueError:
        return False
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.UTC)
    return last + dt.timedelta(seconds=int(info.get("lifetime") or 60)) > now


def judge(
    peerings: Mapping[str, Mapping[str, Any] | None],
    identity: str,
    priority: int,
    *,
    mandatory: bool,
    now: dt.datetime | None = None,
) -> Verdict:
    """The verdict from the peering objects (where -> body, None when absent), as kopf
    decides: paused while any live other peer has a higher or the same priority."""
    now = now or dt.datetime.now(dt.UTC)
    missing = [where for where, body in peerings.items() if body is None]
    if missing and mandatory:
        return Verdict(
            False,
            f"no peering object: {', '.join(missing)}; this replica cannot act until it exists "
            "(the chart creates it), or run it with --standalone",
        )
    for where, body in peerings.items():
        status = (body or {}).get("status") or {}
        for peer, info in status.items():
            if peer == identity or not isinstance(info, Mapping) or not _alive(info, now):
                continue
            theirs = int(info.get("priority") or 0)
            if theirs > priority:
                return Verdict(False, f"standby: peer {peer} (priority {theirs}) acts ({where})")
            if theirs == priority:
                return Verdict(False, f"paused: peer {peer} has the same priority ({where})")
    return Verdict(True, "acting")


class PeeringReadiness:
    """Checks the peering objects every `interval` seconds in a thread; `route` answers the
    readiness probe from the last verdict."""

    def __init__(
        self,
        *,
        name: str | None,
        namespaces: list[str],
        identity: str,
        priority: int,
        mandatory: bool,
        kube: KubeClient,
        interval: float = 5.0,
    ) -> None:
        self.name = name  # None: standalone, always ready
        self.namespaces = namespaces  # []: cluster-wide
        self.identity = identity
        self.priority = priority
        self.mandatory = mandatory
        self.kube = kube
        self.interval = interval
        self.verdict = Verdict(name is None, "acting" if name is None else "checking peering")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self.name is None:
            return
        self._thread = threading.Thread(target=self._loop, name="rhev-peering", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.check()
            except Exception as exc:  # the API is down: say so, keep the last verdict
                log.warning("Cannot read the peering objects: %s", exc)
            self._stop.wait(self.interval)

    def _read(self) -> dict[str, Mapping[str, Any] | None]:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        assert self.name is not None
        api = client.CustomObjectsApi(self.kube.api_client())
        found: dict[str, Mapping[str, Any] | None] = {}
        places: list[str | None] = list(self.namespaces) or [None]
        for namespace in places:
            where = (
                f"KopfPeering {namespace}/{self.name}"
                if namespace
                else f"ClusterKopfPeering {self.name}"
            )
            body: Mapping[str, Any] | None
            try:
                if namespace:
                    got: Any = api.get_namespaced_custom_object(
                        PEERING_GROUP, PEERING_VERSION, namespace, "kopfpeerings", self.name
                    )
                else:
                    got = api.get_cluster_custom_object(
                        PEERING_GROUP, PEERING_VERSION, "clusterkopfpeerings", self.name
                    )
                body = got
            except ApiException as exc:
                if exc.status != 404:
                    raise
                body = None
            found[where] = body
        return found

    def check(self) -> Verdict:
        verdict = judge(self._read(), self.identity, self.priority, mandatory=self.mandatory)
        before, self.verdict = self.verdict, verdict
        if verdict != before:
            if verdict.reason.startswith("no peering object"):
                log.error("Not acting: %s", verdict.reason)
            else:
                log.info("Readiness: %s", verdict.reason)
        return verdict

    def route(self) -> tuple[int, str, bytes]:
        verdict = self.verdict
        body = f"{'ready' if verdict.ready else 'not ready'}: {verdict.reason}\n".encode()
        return (200 if verdict.ready else 503), "text/plain; charset=utf-8", body

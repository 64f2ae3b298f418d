"""One RHEV-M client and one inventory per distinct connection.

A connection is named by where it comes from (the operator's default, or a Secret
`namespace/name`). When the Secret's content changes (credential rotation) the old
client is logged out and a new one is built on next use. Passwords are only kept
inside the client; the fingerprint that detects a change is a one-way hash.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Hashable
from dataclasses import dataclass

from rhev_operator.inventory.observer import Inventory
from rhev_operator.rhevm import ConnectionConfig, RhevmClient

log = logging.getLogger(__name__)


def fingerprint(config: ConnectionConfig) -> str:
    digest = hashlib.sha256()
    for part in (
        config.url,
        config.username,
        config.password,
        config.ca_pem or "",
        str(config.insecure),
    ):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


@dataclass
class Connection:
    source: str
    fingerprint: str
    client: RhevmClient
    inventory: Inventory

    @property
    def url(self) -> str:
        return self.client.config.url


class Connections:
    """The live connections of this operator process."""

    def __init__(
        self,
        *,
        poll_interval: float = 2.0,
        events_interval: float = 1.0,
        idle_interval: float | None = None,
        trace: bool = False,
        max_mutating: int | None = None,
        on_change: Callable[[str, set[str], set[Hashable]], object] | None = None,
    ) -> None:
        self.poll_interval = poll_interval
        self.events_interval = events_interval
        self.idle_interval = idle_interval
        self.trace = trace
        self.max_mutating = max_mutating
        #: Told (connection source, changed ids, changed collections) by every inventory.
        self.on_change = on_change
        self._lock = threading.Lock()
        self._live: dict[str, Connection] = {}

    def get(self, source: str, config: ConnectionConfig) -> Connection:
        """The connection for `source`, rebuilt when its configuration changed."""
        wanted = fingerprint(config)
        stale: Connection | None = None
        with self._lock:
            current = self._live.get(source)
            if current is not None and current.fingerprint == wanted:
                return current
            stale = current
            client = RhevmClient(
                config,
                trace=self.trace,
                logger=logging.getLogger("rhevm.rest"),
                max_mutating=self.max_mutating,
            )
            inventory = Inventory(
                client,
                poll_interval=self.poll_interval,
                events_interval=self.events_interval,
                idle_interval=self.idle_interval,
                on_change=self._listener(source),
            )
            current = Connection(source, wanted, client, inventory)
            self._live[source] = current
        if stale is not None:
            log.info("Connection %s changed; logging out the old session", source)
            self._close(stale)
        inventory.start()
        return current

    def _listener(self, source: str) -> Callable[[set[str], set[Hashable]], None] | None:
        on_change = self.on_change
        if on_change is None:
            return None

        def listener(ids: set[str], keys: set[Hashable]) -> None:
            on_change(source, ids, keys)

        return listener

    def all(self) -> list[Connection]:
        with self._lock:
            return list(self._live.values())

    def close_all(self) -> None:
        with self._lock:
            live, self._live = list(self._live.values()), {}
        for connection in live:
            self._close(connection)

    @staticmethod
    def _close(connection: Connection) -> None:
        connection.inventory.stop()
        try:
            connection.client.close()
        except Exception as exc:  # logging out is best effort
            log.warning("Logging out of %s failed: %s", connection.url, exc)

"""The BMCs the Hypervisor reconciler drives, owned by one operator process.

A :class:`Bmcs` is made at start and handed to every reconcile in its `Context`. It holds
one IPMI client per BMC (address, port) whose credentials follow the Secret, the power
states read recently (an unreachable BMC costs seconds a read), and fingerprints of the
fence-agent settings applied in RHEV-M (RHEV-M never returns an agent's password, so a
changed Secret is noticed here). Fingerprints are keyed HMACs with a random key per
`Bmcs`; never persisted or logged. What a BMC left behind is dropped with :meth:`forget`
once the Hypervisor that named it is deleted.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass

from rhev_operator.ipmi import BmcClient, BmcSessions

__all__ = ["Bmcs", "PowerReading"]

Target = tuple[str, int]


@dataclass(frozen=True)
class PowerReading:
    state: str
    at: float


class Bmcs:
    def __init__(self, sessions: BmcSessions | None = None) -> None:
        #: The IPMI session table every client made here goes through.
        self.sessions = sessions if sessions is not None else BmcSessions()
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._clients: dict[Target, BmcClient] = {}
        self._credentials: dict[Target, str] = {}
        self._power: dict[Target, PowerReading] = {}
        #: (RHEV-M url, agent id) -> (the BMC it points at, fingerprint of what was applied).
        self._agents: dict[tuple[str, str], tuple[Target, str]] = {}

    def fingerprint(self, *parts: str | int) -> str:
        text = "\0".join(str(p) for p in parts).encode()
        return hmac.new(self._key, text, hashlib.sha256).hexdigest()

    def client(self, address: str, port: int, username: str, password: str) -> BmcClient:
        """The client for this BMC, with these credentials from now on."""
        target = (address, port)
        credentials = self.fingerprint(username, password)
        with self._lock:
            client = self._clients.get(target)
            if client is None:
                client = self._clients[target] = BmcClient(
                    address, username, password, port=port, sessions=self.sessions
                )
            elif self._credentials.get(target) != credentials:
                client.update_credentials(username, password)
                self._power.pop(target, None)
            self._credentials[target] = credentials
            return client

    # -- power states read over IPMI -----------------------------------------------------------

    def power(self, address: str, port: int) -> PowerReading | None:
        with self._lock:
            return self._power.get((address, port))

    def remember_power(self, address: str, port: int, state: str, at: float) -> None:
        with self._lock:
            self._power[(address, port)] = PowerReading(state, at)

    def forget_power(self, address: str, port: int) -> None:
        with self._lock:
            self._power.pop((address, port), None)

    # -- fence agents applied in RHEV-M ----------------------------------------------------------

    def applied_agent(self, url: str, agent_id: str) -> str | None:
        """The fingerprint of the settings last applied to this fence agent, if any."""
        with self._lock:
            entry = self._agents.get((url, agent_id))
            return entry[1] if entry is not None else None

    def agent_applied(
        self, url: str, agent_id: str, address: str, port: int, fingerprint: str
    ) -> None:
        with self._lock:
            self._agents[(url, agent_id)] = ((address, port), fingerprint)

    # -- freeing -----------------------------------------------------------------------------

    def forget(self, address: str, port: int) -> None:
        """Drop what this BMC left behind: its client, power reading, fence-agent
        fingerprints and idle IPMI sessions."""
        target = (address, port)
        with self._lock:
            self._clients.pop(target, None)
            self._credentials.pop(target, None)
            self._power.pop(target, None)
            for key in [k for k, (t, _) in self._agents.items() if t == target]:
                del self._agents[key]
        self.sessions.release(address, port)

    def __len__(self) -> int:
        """How many BMCs have a client."""
        with self._lock:
            return len(self._clients)

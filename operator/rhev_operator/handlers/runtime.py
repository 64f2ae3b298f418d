"""Process-wide state the handlers share, made at start and handed to them through kopf's
memo: RHEV-M connections, the BMCs of the hypervisors, the per-object pass locks."""

from __future__ import annotations

import os
import threading
import time
import weakref
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rhev_operator.handlers.secrets import InvalidSecret, MissingSecret, config_from_secret
from rhev_operator.inventory.connections import Connections
from rhev_operator.reconcilers.bmcs import Bmcs
from rhev_operator.rhevm import ConnectionConfig


class SecretReader:
    """Reads one Secret through the Kubernetes API (kubeconfig or in-cluster), cached for
    `ttl` seconds so that a rotated Secret is picked up without a request per pass."""

    def __init__(self, ttl: float = 30.0) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, dict[str, str] | None]] = {}
        self._api: Any = None

    def _core(self) -> Any:
        if self._api is None:
            from kubernetes import client, config

            if os.environ.get("KUBECONFIG") or not os.environ.get("KUBERNETES_SERVICE_HOST"):
                config.load_kube_config()  # type: ignore[no-untyped-call]
            else:
                config.load_incluster_config()  # type: ignore[no-untyped-call]
            self._api = client.CoreV1Api()
        return self._api

    def read(self, namespace: str, name: str) -> dict[str, str] | None:
        key = (namespace, name)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
            from kubernetes.client.exceptions import ApiException

            try:
                secret = self._core().read_namespaced_secret(name, namespace)
                data: dict[str, str] | None = dict(secret.data or {})
            except ApiException as exc:
                if exc.status != 404:
                    raise
                data = None
            self._cache[key] = (time.monotonic(), data)
            return data


class PassLock:
    """The lock of one object's passes; alive while a pass holds or awaits it."""

    __slots__ = ("__weakref__", "lock")

    def __init__(self) -> None:
        self.lock = threading.Lock()


class Passes:
    """One pass at a time per object: kopf runs its timers beside the change handlers, and
    two overlapping passes could send one action twice.

    A lock lives while some pass holds a reference to it (holding it or waiting for it) and
    is dropped with the last one, so an object that is deleted, or vanishes without our
    delete handler, leaves nothing behind."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: weakref.WeakValueDictionary[str, PassLock] = weakref.WeakValueDictionary()

    def lock(self, uid: str) -> PassLock:
        """The object's lock; keep the returned object for as long as the pass runs."""
        with self._guard:
            entry = self._locks.get(uid)
            if entry is None:
                entry = self._locks[uid] = PassLock()
            return entry

    def __len__(self) -> int:
        with self._guard:
            return len(self._locks)


@dataclass
class Runtime:
    connections: Connections
    #: `namespace/name` of the Secret holding the default connection, if one was given.
    default_secret: tuple[str, str] | None = None
    #: The default connection from flags/environment, if no Secret was given.
    default_env: ConnectionConfig | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    secret_reader: SecretReader = field(default_factory=lambda: SecretReader())
    #: The hypervisors' BMC clients and what they remember (see Bmcs).
    bmcs: Bmcs = field(default_factory=Bmcs)
    passes: Passes = field(default_factory=Passes)

    def default_config(self, secret_index: Mapping[Any, Any]) -> ConnectionConfig:
        if self.default_secret is not None:
            namespace, name = self.default_secret
            store = secret_index.get((namespace, name))
            # The index covers only the served namespaces; the operator's own Secret
            # usually lives elsewhere (its own namespace), so read it from the API then.
            data = next(iter(store)) if store else self.secret_reader.read(namespace, name)
            return config_from_secret(namespace, name, data)
        if self.default_env is None:
            raise MissingSecret("(operator)", "default connection", None)
        return self.default_env


def default_from_environment(url: str | None) -> ConnectionConfig | None:
    """The default connection from `--rhevm-url` or RHEVM_URL, RHEVM_USERNAME, ... ."""
    url = url or os.environ.get("RHEVM_URL")
    if not url:
        return None
    ca_file = os.environ.get("RHEVM_CA_FILE")
    ca_pem = None
    if ca_file:
        with open(ca_file, encoding="utf-8") as handle:
            ca_pem = handle.read()
    return ConnectionConfig(
        url=url,
        username=os.environ.get("RHEVM_USERNAME", "admin@internal"),
        password=os.environ.get("RHEVM_PASSWORD", ""),
        ca_pem=ca_pem,
        insecure=os.environ.get("RHEVM_INSECURE", "").lower() == "true",
    )


def connection_from_args(
    url: str | None, secret: str | None, kubeconfig: str | None = None
) -> ConnectionConfig:
    """The connection of a command-line tool, as `rhev-operator run` takes its default one:
    `--rhevm-secret NS/NAME` read through the kubeconfig, else `--rhevm-url` or RHEVM_URL with
    RHEVM_USERNAME, RHEVM_PASSWORD, RHEVM_CA_FILE, RHEVM_INSECURE. ValueError says what is
    missing (never a password)."""
    if secret:
        namespace, _, name = secret.partition("/")
        if not namespace or not name:
            raise ValueError("--rhevm-secret takes NAMESPACE/NAME")
        if kubeconfig:
            os.environ["KUBECONFIG"] = kubeconfig
        data = SecretReader().read(namespace, name)
        try:
            return config_from_secret(namespace, name, data)
        except (MissingSecret, InvalidSecret) as exc:
            raise ValueError(str(exc)) from None
    config = default_from_environment(url)
    if config is None:
        raise ValueError(
            "no RHEV-M connection: give --rhevm-url (or RHEVM_URL with RHEVM_USERNAME and "
            "RHEVM_PASSWORD) or --rhevm-secret NAMESPACE/NAME"
        )
    return config

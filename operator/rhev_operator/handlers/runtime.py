"""Process-wide state the handlers share, made at start and handed to them through kopf's
memo: RHEV-M connections, the BMCs of the hypervisors, the per-object pass locks."""

from __future__ import annotations

import collections
import os
import threading
import time
import weakref
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from rhev_operator.handlers.secrets import InvalidSecret, MissingSecret, config_from_secret
from rhev_operator.handlers.wakeups import Wakeups
from rhev_operator.inventory.connections import Connections
from rhev_operator.reconcilers.bmcs import Bmcs
from rhev_operator.rhevm import ConnectionConfig


class KubeClient:
    """The operator's own calls to the Kubernetes API (kopf makes the others): reading the
    default connection's Secret and writing the status of woken objects. Configured like
    kopf's login: KUBECONFIG, else in-cluster."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: Any = None

    def api_client(self) -> Any:
        with self._lock:
            if self._client is None:
                from kubernetes import client, config

                in_cluster = os.environ.get("KUBERNETES_SERVICE_HOST")
                if os.environ.get("KUBECONFIG") or not in_cluster:
                    config.load_kube_config()  # type: ignore[no-untyped-call]
                else:
                    config.load_incluster_config()  # type: ignore[no-untyped-call]
                self._client = client.ApiClient()
            return self._client


#: (connect, read) seconds of the operator's own Kubernetes requests (status, Secrets).
KUBE_TIMEOUT = (10.0, 30.0)


class StatusWriter:
    """Writes an object's status through the status subresource (a JSON merge patch, the
    same as kopf's own patches); an object that is gone is not an error."""

    def __init__(self, kube: KubeClient, group: str, version: str) -> None:
        self.kube = kube
        self.group = group
        self.version = version
        self.writes = 0

    def write(self, namespace: str, plural: str, name: str, status: Mapping[str, Any]) -> None:
        from kubernetes import client
        from kubernetes.client.exceptions import ApiException

        api = client.CustomObjectsApi(self.kube.api_client())
        try:
            api.patch_namespaced_custom_object_status(
                self.group,
                self.version,
                namespace,
                plural,
                name,
                {"status": dict(status)},
                # A connection the API server dropped must not hang the worker for ever.
                _request_timeout=KUBE_TIMEOUT,
            )
            self.writes += 1
        except ApiException as exc:
            if exc.status != 404:
                raise


class SecretReader:
    """Reads one Secret by name through the Kubernetes API (kubeconfig or in-cluster): a
    `get`, never a list or a watch, so the operator holds only the Secrets it references and
    needs no more than `get` on Secrets. Cached for `ttl` seconds (at most 30), so a rotated
    password or CA is picked up within that, without a request per pass."""

    def __init__(self, ttl: float = 30.0, kube: KubeClient | None = None) -> None:
        self.ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str], tuple[float, dict[str, str] | None]] = {}
        self._kube = kube or KubeClient()
        #: How many `get` requests were sent (one per Secret per ttl at most).
        self.reads = 0

    def _core(self) -> Any:
        from kubernetes import client

        return client.CoreV1Api(self._kube.api_client())

    def read(self, namespace: str, name: str) -> dict[str, str] | None:
        key = (namespace, name)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and time.monotonic() - cached[0] < self.ttl:
                return cached[1]
            from kubernetes.client.exceptions import ApiException

            try:
                self.reads += 1
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
    #: Who to wake on which change (see handlers.wakeups); the inventories report to it.
    wakeups: Wakeups
    #: `namespace/name` of the Secret holding the default connection, if one was given.
    default_secret: tuple[str, str] | None = None
    #: The default connection from flags/environment, if no Secret was given.
    default_env: ConnectionConfig | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    secret_reader: SecretReader = field(default_factory=lambda: SecretReader())
    #: The hypervisors' BMC clients and what they remember (see Bmcs).
    bmcs: Bmcs = field(default_factory=Bmcs)
    passes: Passes = field(default_factory=Passes)
    kube: KubeClient = field(default_factory=KubeClient)
    #: The threads passes run in (a pass blocks on RHEV-M; the event loop never does).
    pool: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(8, thread_name_prefix="rhev-pass")
    )
    #: Per object uid: what its last watch event showed (spec fingerprint, Ready).
    seen: dict[str, tuple[Any, bool]] = field(default_factory=dict)
    #: How many passes each cause started ("start", "rhevm", "spec", "requeue", ...).
    passes_by_reason: collections.Counter[str] = field(default_factory=collections.Counter)
    #: The uids whose create this process sent (its record persisted first): a deletion
    #: that races the status write still knows the object may exist in RHEV-M.
    attempted: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.secret_reader = SecretReader(self.secret_reader.ttl, self.kube)
        self.status_writer = StatusWriter(self.kube, "rhev.io", "v1alpha1")

    def default_config(self) -> ConnectionConfig:
        if self.default_secret is not None:
            namespace, name = self.default_secret
            data = self.secret_reader.read(namespace, name)
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

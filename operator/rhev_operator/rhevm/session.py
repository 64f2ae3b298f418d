"""HTTP to one RHEV-M: pooled session, auth, TLS, retries, timeouts, tracing, counters.

One :class:`Session` per connection. It authenticates lazily: an OAuth token
from ``{scheme}://{netloc}/ovirt-engine/sso/oauth/token`` (password grant,
scope ``ovirt-app-api``), or HTTP Basic when that endpoint does not exist
(404, as on 3.x engines). ``Prefer: persistent-auth`` keeps the engine session.
A 401 triggers exactly one re-authentication and one repeat of the request.

Idempotent requests (GET, PUT, DELETE) are retried on 5xx, connection errors
and timeouts with jittered exponential backoff; a POST never is, because the
engine may have acted on it.
"""

from __future__ import annotations

import base64
import json
import logging
import random
import re
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import requests
from requests.adapters import HTTPAdapter

from rhev_operator import metrics
from rhev_operator.rhevm import errors, xmlio

__all__ = ["ConnectionConfig", "Reply", "Session", "mask_secrets", "path_template"]

LOG = logging.getLogger("rhev_operator.rhevm")

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
SSO_TOKEN_PATH = "/ovirt-engine/sso/oauth/token"
SSO_LOGOUT_PATH = "/ovirt-engine/services/sso-logout"
TRACE_BODY_LIMIT = 65536


@dataclass(frozen=True)
class ConnectionConfig:
    """Where and how to reach one RHEV-M; ``password`` never shows in repr."""

    url: str
    username: str
    password: str = field(repr=False)
    ca_pem: str | None = field(default=None, repr=False)
    insecure: bool = False
    timeout: float = 30.0
    connect_timeout: float = 10.0
    max_retries: int = 3
    backoff_base: float = 0.2
    backoff_max: float = 2.0
    pool_size: int = 10

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(
                f"url: must be http(s)://HOST[:PORT]/ovirt-engine/api, got {self.url!r}"
            )
        if not self.username:
            raise ValueError("username: must not be empty (e.g. admin@internal)")
        if self.timeout <= 0 or self.connect_timeout <= 0:
            raise ValueError("timeout/connect_timeout: must be > 0 seconds")
        if self.max_retries < 0:
            raise ValueError("max_retries: must be >= 0")
        if self.backoff_base < 0 or self.backoff_max < 0:
            raise ValueError("backoff_base/backoff_max: must be >= 0 seconds")
        if self.pool_size < 1:
            raise ValueError("pool_size: must be >= 1")
        if self.ca_pem is not None and "-----BEGIN CERTIFICATE-----" not in self.ca_pem:
            raise ValueError("ca_pem: must be PEM text with at least one CERTIFICATE block")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: Mapping[str, str]
    root: xmlio.Element | None
    elapsed_ms: float


# --- secrets masking -------------------------------------------------------------------

_MASK = "***"
_MASK_RES: tuple[tuple[re.Pattern[str], str], ...] = (
    # XML elements whose name ends in password (password, root_password, ...) or token
    (
        re.compile(r"(<(\w*password|\w*token)(?:\s[^>]*)?>)(.*?)(</\2\s*>)", re.S | re.I),
        rf"\1{_MASK}\4",
    ),
    # form fields and query parameters
    (re.compile(r"(\b(?:\w*password|\w*token)=)[^&\s]*", re.I), rf"\1{_MASK}"),
    # JSON members
    (re.compile(r'("(?:\w*password|\w*token)"\s*:\s*")[^"]*(")', re.I), rf"\1{_MASK}\2"),
    # Authorization headers (any scheme)
    (
        re.compile(r"((?:Authorization|Cookie)['\"]?\s*[:=]\s*['\"]?)[^'\",}\n]+", re.I),
        rf"\1{_MASK}",
    ),
)


# Console tickets (<ticket>, <proxy_ticket>): their <value> is a password.
_TICKET_RE = re.compile(r"<(\w*ticket)(?:\s[^>]*)?>.*?</\1\s*>", re.S | re.I)
_TICKET_VALUE_RE = re.compile(r"(<value(?:\s[^>]*)?>)(.*?)(</value\s*>)", re.S | re.I)


def mask_secrets(text: str) -> str:
    """``text`` with every password, token, console ticket, Authorization and Cookie value
    replaced."""
    for pattern, repl in _MASK_RES:
        text = pattern.sub(repl, text)
    return _TICKET_RE.sub(lambda m: _TICKET_VALUE_RE.sub(rf"\1{_MASK}\3", m.group(0)), text)


# --- request counters ------------------------------------------------------------------


def path_template(path: str) -> str:
    """``vms/123/nics/9`` -> ``vms/{id}/nics/{id}``: collections and verbs sit at even
    positions below the API root, ids at odd ones."""
    segs = [s for s in path.split("?", 1)[0].strip("/").split("/") if s]
    return "/".join("{id}" if i % 2 else s for i, s in enumerate(segs)) or "/"


class Session:
    """The HTTP side of one RHEV-M connection. Thread-safe."""

    def __init__(
        self,
        config: ConnectionConfig,
        *,
        trace: bool = False,
        logger: logging.Logger | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.config = config
        self.trace = trace
        self.log = logger or LOG
        self._sleep = sleep
        parts = urlsplit(config.url)
        self._origin = urlunsplit((parts.scheme, parts.netloc, "", "", ""))
        self.api_url = config.url.rstrip("/")
        self.api_path = parts.path.rstrip("/")
        self._http = requests.Session()
        # The CA stays in memory (an SSLContext loaded with cadata): nothing is written to disk,
        # so the operator runs on a read-only root filesystem.
        self._ssl_context: ssl.SSLContext | None = None
        self._verify = not config.insecure
        if config.ca_pem and not config.insecure:
            self._ssl_context = ssl.create_default_context(cadata=config.ca_pem)
        adapter = _TlsAdapter(
            self._ssl_context,
            pool_connections=1,
            pool_maxsize=config.pool_size,
            max_retries=0,
            pool_block=False,
        )
        self._http.mount("http://", adapter)
        self._http.mount("https://", adapter)
        self._http.headers["User-Agent"] = "rhev-operator"
        self._http.trust_env = False  # no proxies or netrc credentials from the environment
        self._lock = threading.Lock()
        self._auth_lock = threading.Lock()
        self._mode: str | None = None  # "oauth" | "basic" once known
        self._token: str | None = None
        self._auth_generation = 0
        self._counts: dict[tuple[str, str], int] = {}
        self._closed = False
        #: Slots for changing calls (None: unbounded); set by the client.
        self.mutating: threading.BoundedSemaphore | None = None

    # --- counters ---

    @property
    def request_counts(self) -> Mapping[tuple[str, str], int]:
        with self._lock:
            return MappingProxyType(dict(self._counts))

    def reset_counts(self) -> None:
        with self._lock:
            self._counts.clear()

    def _count(self, method: str, key: str) -> None:
        with self._lock:
            self._counts[(method, key)] = self._counts.get((method, key), 0) + 1

    @property
    def auth_mode(self) -> str | None:
        return self._mode

    # --- raw HTTP with tracing ---

    def _send(
        self,
        method: str,
        url: str,
        counter: str,
        *,
        params: Mapping[str, str] | None = None,
        data: bytes | Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        self._count(method, counter)
        hdrs = dict(headers or {})
        started = time.perf_counter()
        req = requests.Request(method, url, params=params, data=data, headers=hdrs)
        prepared = self._http.prepare_request(req)
        if self.trace:
            self._trace_request(prepared)
        try:
            resp = self._http.send(
                prepared,
                timeout=(self.config.connect_timeout, self.config.timeout),
                verify=self._verify,
                allow_redirects=False,
            )
        except requests.exceptions.RequestException as exc:
            metrics.rhevm_request(method, counter, "error", time.perf_counter() - started)
            if self.trace:
                elapsed = (time.perf_counter() - started) * 1000
                self.log.info(
                    "REST ! %s %s failed after %.1f ms: %s",
                    method,
                    mask_secrets(prepared.url or url),
                    elapsed,
                    type(exc).__name__,
                )
            raise
        metrics.rhevm_request(method, counter, str(resp.status_code), time.perf_counter() - started)
        if self.trace:
            elapsed = (time.perf_counter() - started) * 1000
            self._trace_response(prepared, resp, elapsed)
        return resp

    def _trace_request(self, prepared: requests.PreparedRequest) -> None:
        body = prepared.body
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else (body or "")
        headers = ", ".join(f"{k}: {v}" for k, v in prepared.headers.items())
        self.log.info(
            "REST > %s %s [%s]%s",
            prepared.method,
            mask_secrets(prepared.url or ""),
            mask_secrets(headers),
            f"\n{mask_secrets(text[:TRACE_BODY_LIMIT])}" if text else "",
        )

    def _trace_response(
        self, prepared: requests.PreparedRequest, resp: requests.Response, elapsed_ms: float
    ) -> None:
        text = resp.content.decode("utf-8", "replace") if resp.content else ""
        self.log.info(
            "REST < %s %s %s %d in %.1f ms%s",
            resp.status_code,
            prepared.method,
            mask_secrets(prepared.url or ""),
            len(resp.content or b""),
            elapsed_ms,
            f"\n{mask_secrets(text[:TRACE_BODY_LIMIT])}" if text else "",
        )

    # --- authentication ---

    def _authenticate(self, stale_generation: int) -> None:
        """Get a token (or settle on Basic) unless another thread already did."""
        with self._auth_lock:
            if self._auth_generation != stale_generation:
                return
            self._token = None
            self._http.cookies.clear()
            if self._mode != "basic":
                self._token = self._sso_token()
                self._mode = "basic" if self._token is None else "oauth"
            self._auth_generation += 1

    def _sso_token(self) -> str | None:
        """The OAuth access token, or None when the engine has no SSO endpoint (404)."""
        data = {
            "grant_type": "password",
            "scope": "ovirt-app-api",
            "username": self.config.username,
            "password": self.config.password,
        }
        try:
            resp = self._send(
                "POST",
                self._origin + SSO_TOKEN_PATH,
                "sso/token",
                data=data,
                headers={"Accept": "application/json"},
            )
        except requests.exceptions.RequestException as exc:
            raise self._transport_error(exc, "POST", SSO_TOKEN_PATH) from None
        if resp.status_code == 404:
            return None
        try:
            payload = json.loads(resp.content or b"{}")
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            if resp.status_code >= 500:
                raise errors.from_response(
                    resp.status_code, resp.content, method="POST", path=SSO_TOKEN_PATH
                )
            raise errors.ProtocolError(
                f"POST {SSO_TOKEN_PATH}: HTTP {resp.status_code}: SSO answered without JSON",
                status=resp.status_code,
                method="POST",
                path=SSO_TOKEN_PATH,
            )
        if "error" in payload or resp.status_code >= 400 or "access_token" not in payload:
            reason = str(payload.get("error_code") or payload.get("error") or "access_denied")
            detail = str(
                payload.get("error_description") or payload.get("error") or "no access_token"
            )
            cls: type[errors.RhevmError] = (
                errors.Unavailable if resp.status_code >= 500 else errors.AuthError
            )
            raise cls(
                f"POST {SSO_TOKEN_PATH}: HTTP {resp.status_code}: SSO login of "
                f"{self.config.username} failed: {reason}: {detail}",
                status=resp.status_code,
                reason=reason,
                detail=detail,
                method="POST",
                path=SSO_TOKEN_PATH,
            )
        return str(payload["access_token"])

    def _auth_headers(self) -> dict[str, str]:
        if self._mode == "oauth" and self._token:
            return {"Authorization": f"Bearer {self._token}"}
        if self._mode == "basic" and "JSESSIONID" not in self._http.cookies:
            # Basic only until the engine hands out a session cookie.
            return {"Authorization": self._basic()}
        return {}

    def _basic(self) -> str:
        raw = f"{self.config.username}:{self.config.password}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    # --- API requests ---

    def _transport_error(
        self, exc: requests.exceptions.RequestException, method: str, path: str
    ) -> errors.RhevmError:
        if isinstance(exc, requests.exceptions.SSLError):
            return errors.TlsError(
                f"{method} {path}: TLS verification failed: {_short(exc)}",
                method=method,
                path=path,
            )
        kind = "timed out" if isinstance(exc, requests.exceptions.Timeout) else "unreachable"
        return errors.Unavailable(
            f"{method} {path}: engine {kind}: {_short(exc)}", method=method, path=path
        )

    def _backoff(self, attempt: int) -> float:
        cap = min(self.config.backoff_max, self.config.backoff_base * (2**attempt))
        return random.uniform(cap / 2, cap)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: xmlio.Element | None = None,
        correlation_id: str | None = None,
    ) -> Reply:
        """Send ``method`` to ``path`` (relative to the API root); raise typed errors.

        Returns the parsed XML root of the answer (None for an empty body). Changing calls
        wait for one of the connection's `mutating` slots: engines are overloaded by many
        parallel writes, reads are cheap. ``correlation_id`` goes in the ``Correlation-Id``
        header, which the engine reads before the ``correlation_id`` parameter (restapi
        CurrentFilter) and echoes; an engine that echoes nothing is fine too.
        """
        if method.upper() in ("GET", "HEAD") or self.mutating is None:
            return self._request(
                method, path, params=params, body=body, correlation_id=correlation_id
            )
        with self.mutating:
            return self._request(
                method, path, params=params, body=body, correlation_id=correlation_id
            )

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: xmlio.Element | None = None,
        correlation_id: str | None = None,
    ) -> Reply:
        if self._closed:
            raise errors.RhevmError(f"{method} {path}: the client is closed")
        method = method.upper()
        rel = path.strip("/")
        url = f"{self.api_url}/{rel}" if rel else self.api_url
        full_path = f"{self.api_path}/{rel}" if rel else self.api_path
        counter = path_template(rel)
        query = {k: xmlio.to_text(v) for k, v in (params or {}).items() if v is not None}
        data = xmlio.to_bytes(body) if body is not None else None
        retry_ok = method in IDEMPOTENT
        attempt = 0
        reauthed = False
        while True:
            generation = self._auth_generation
            if self._mode is None or (self._mode == "oauth" and self._token is None):
                self._authenticate(generation)
                generation = self._auth_generation
            headers = {
                "Accept": "application/xml",
                "Version": "4",
                "Prefer": "persistent-auth",
                **self._auth_headers(),
            }
            if data is not None:
                headers["Content-Type"] = "application/xml"
            if correlation_id:
                headers["Correlation-Id"] = correlation_id
            started = time.perf_counter()
            try:
                resp = self._send(method, url, counter, params=query, data=data, headers=headers)
            except requests.exceptions.RequestException as exc:
                err = self._transport_error(exc, method, full_path)
                retry = isinstance(err, errors.Unavailable) and retry_ok
                if retry and attempt < self.config.max_retries:
                    self._retry_wait(method, full_path, attempt, err)
                    attempt += 1
                    continue
                raise err from None
            elapsed = (time.perf_counter() - started) * 1000
            status = resp.status_code
            if status == 401 and not reauthed:
                reauthed = True
                self.log.debug("%s %s: 401, authenticating again", method, full_path)
                self._authenticate(generation)
                continue
            if 300 <= status < 400:
                location = resp.headers.get("Location", "?")
                raise errors.ProtocolError(
                    f"{method} {full_path}: HTTP {status}: redirected to {location}; "
                    "configure the API URL the engine redirects to",
                    status=status,
                    method=method,
                    path=full_path,
                )
            if status >= 400:
                err = errors.from_response(
                    status, resp.content, method=method, path=full_path, http_reason=resp.reason
                )
                if status >= 500 and retry_ok and attempt < self.config.max_retries:
                    self._retry_wait(method, full_path, attempt, err)
                    attempt += 1
                    continue
                raise err
            return Reply(status, resp.headers, self._parse(resp, method, full_path), elapsed)

    def _retry_wait(self, method: str, path: str, attempt: int, err: errors.RhevmError) -> None:
        delay = self._backoff(attempt)
        self.log.warning(
            "%s; retry %d/%d in %.2f s",
            err,
            attempt + 1,
            self.config.max_retries,
            delay,
        )
        self._sleep(delay)

    @staticmethod
    def _parse(resp: requests.Response, method: str, path: str) -> xmlio.Element | None:
        content = resp.content
        if not content or not content.strip():
            return None
        ctype = resp.headers.get("Content-Type", "")
        if "xml" not in ctype and not content.lstrip().startswith(b"<"):
            raise errors.ProtocolError(
                f"{method} {path}: HTTP {resp.status_code}: expected XML, got {ctype or 'no'} "
                "content type",
                status=resp.status_code,
                method=method,
                path=path,
            )
        try:
            return xmlio.parse(content)
        except errors.ProtocolError as exc:
            raise errors.ProtocolError(
                f"{method} {path}: HTTP {resp.status_code}: {exc}",
                status=resp.status_code,
                method=method,
                path=path,
            ) from None

    # --- shutdown ---

    def close(self) -> None:
        """Log out of SSO (or end the Basic session) and release sockets; idempotent."""
        if self._closed:
            return
        self._closed = True
        try:
            if self._mode == "oauth" and self._token:
                self._send(
                    "POST",
                    self._origin + SSO_LOGOUT_PATH,
                    "sso/logout",
                    data={"scope": "ovirt-app-api", "token": self._token},
                    headers={"Accept": "application/json"},
                )
            elif self._mode == "basic" and "JSESSIONID" in self._http.cookies:
                # A request without "Prefer: persistent-auth" ends the engine session.
                self._send(
                    "GET",
                    self.api_url,
                    "/",
                    headers={
                        "Accept": "application/xml",
                        "Version": "4",
                        "Authorization": self._basic(),
                    },
                )
        except requests.exceptions.RequestException as exc:
            self.log.debug("logout from %s failed: %s", self._origin, type(exc).__name__)
        finally:
            self._token = None
            self._http.close()


class _TlsAdapter(HTTPAdapter):
    """An HTTPAdapter whose HTTPS pools verify against one in-memory SSLContext.

    requests only takes a CA bundle as a file path (``verify=``); this hands urllib3 the
    context instead, for direct and proxied connections alike, and keeps requests from adding
    its own CA bundle (certifi) to it. Without a context it is a plain HTTPAdapter."""

    def __init__(self, ssl_context: ssl.SSLContext | None, **kwargs: Any) -> None:
        self._ssl_context = ssl_context
        super().__init__(**kwargs)

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        if self._ssl_context is not None:
            pool_kwargs["ssl_context"] = self._ssl_context
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        if self._ssl_context is not None:
            proxy_kwargs["ssl_context"] = self._ssl_context
        return super().proxy_manager_for(proxy, **proxy_kwargs)

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        if self._ssl_context is not None and verify and url.lower().startswith("https"):
            # The context alone decides what is trusted: no ca_certs file on top of it.
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None
            conn.ca_cert_dir = None
            return
        super().cert_verify(conn, url, verify, cert)  # type: ignore[no-untyped-call]


def _short(exc: BaseException) -> str:
    # urllib3 wraps the root cause several levels deep; the innermost says what happened.
    inner: BaseException = exc
    seen = 0
    while seen < 6:
        nxt = inner.__cause__ or inner.__context__
        if nxt is None and inner.args and isinstance(inner.args[0], BaseException):
            nxt = inner.args[0]
        if nxt is None:
            break
        inner = nxt
        seen += 1
    if hasattr(inner, "reason") and isinstance(inner.reason, BaseException):
        inner = inner.reason
    return f"{type(inner).__name__}: {inner}"[:300]

"""Typed errors of the RHEV-M client.

Every error carries the HTTP status (when there was a response), the engine's
fault ``reason`` and ``detail``, and the request method and URL path (never the
query string, never credentials). ``retryable`` tells the caller whether trying
the same thing later may succeed (409 "in progress", 5xx, connection trouble)
or whether a human or a spec change is needed (400, 401/403, TLS, not found).
"""

from __future__ import annotations

import re

from lxml import etree

from rhev_operator.rhevm.xmlparse import parse_checked

__all__ = [
    "AlreadyExists",
    "AuthError",
    "BadRequest",
    "Conflict",
    "Locked",
    "NotFound",
    "ProtocolError",
    "RhevmError",
    "TlsError",
    "Unavailable",
    "from_response",
]


class RhevmError(Exception):
    """Base of every error raised by the client."""

    retryable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        detail: str | None = None,
        method: str | None = None,
        path: str | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.reason = reason
        self.detail = detail
        self.method = method
        self.path = path
        if retryable is not None:
            self.retryable = retryable

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(status={self.status!r}, reason={self.reason!r}, "
            f"detail={self.detail!r}, method={self.method!r}, path={self.path!r})"
        )


class NotFound(RhevmError):
    """404: the object (or an object named inside the request body) does not exist."""


class Conflict(RhevmError):
    """409: the object's current state forbids the operation; may pass later."""

    retryable = True


class Locked(Conflict):
    """409 "Related operation is currently in progress" / "is locked": try again later."""

    retryable = True


class AlreadyExists(Conflict):
    """409 "name is already in use": retrying the same request cannot succeed."""

    retryable = False


class BadRequest(RhevmError):
    """400 and other permanent 4xx: the request itself is wrong."""


class AuthError(RhevmError):
    """401/403, or the SSO endpoint refused the credentials."""


class Unavailable(RhevmError):
    """5xx, connection refused or reset, timeout: the engine could not answer now."""

    retryable = True


class TlsError(RhevmError):
    """The TLS handshake or certificate verification failed."""


class ProtocolError(RhevmError):
    """The engine answered with something that is not the API's XML or JSON."""


# Texts of the engine's CONFLICT messages that mean "busy, try later"
# (ACTION_TYPE_FAILED_OBJECT_LOCKED, ..._VM_IS_LOCKED, ..._DISK_IS_LOCKED, ...).
_LOCKED_RE = re.compile(
    r"in progress|is locked|are locked|try again later|try again in|currently being|"
    r"running tasks",
    re.IGNORECASE,
)
_EXISTS_RE = re.compile(r"already (?:in use|used by|exists)", re.IGNORECASE)


def _fault_fields(body: bytes) -> tuple[str | None, str | None]:
    """Reason and detail of a ``<fault>`` or ``<action><fault>`` body, if it is one."""
    if not body or not body.lstrip().startswith(b"<"):
        return None, None
    try:
        root, _ = parse_checked(body)
    except etree.LxmlError:
        return None, None
    if root is None:
        return None, None
    fault = root if root.tag == "fault" else root.find("fault")
    if fault is None:
        return None, None
    reason = fault.findtext("reason")
    detail = fault.findtext("detail")
    return (reason or None), (detail or None)


def _text_detail(body: bytes) -> str | None:
    text = body.decode("utf-8", "replace").strip()
    if not text:
        return None
    # An HTML error page or a stack trace: keep it short and on one line.
    text = re.sub(r"<[^>]+>", " ", text)
    text = re.sub(r"\s+", " ", text).strip()
    return text[:300] or None


def from_response(
    status: int,
    body: bytes,
    *,
    method: str,
    path: str,
    http_reason: str | None = None,
) -> RhevmError:
    """The typed error for an HTTP error response (or an ``<action>`` that failed)."""
    reason, detail = _fault_fields(body)
    if reason is None and detail is None:
        reason = http_reason or None
        detail = _text_detail(body) if not body.lstrip().startswith(b"<") else None
    cls: type[RhevmError]
    if status == 404:
        cls = NotFound
    elif status == 409:
        text = f"{reason or ''} {detail or ''}"
        if _EXISTS_RE.search(text):
            cls = AlreadyExists
        elif _LOCKED_RE.search(text):
            cls = Locked
        else:
            cls = Conflict
    elif status in (401, 403):
        cls = AuthError
    elif status >= 500:
        cls = Unavailable
    elif 400 <= status < 500:
        cls = BadRequest
    else:
        cls = RhevmError
    parts = [f"{method} {path}: HTTP {status}"]
    if reason:
        parts.append(reason)
    if detail:
        parts.append(detail)
    return cls(
        ": ".join(parts),
        status=status,
        reason=reason,
        detail=detail,
        method=method,
        path=path,
    )

"""metav1 Status errors as the Kubernetes API server renders them."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An error answered as a metav1 Status body with the HTTP code and reason."""

    def __init__(
        self,
        code: int,
        reason: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details
        self.headers = headers or {}

    def status(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.message,
            "reason": self.reason,
            "code": self.code,
        }
        if self.details:
            body["details"] = self.details
        return body


def qualified(plural: str, group: str) -> str:
    """`rhevdatacenters.rhev.io` for a group, plain `namespaces` for the core group."""
    return f"{plural}.{group}" if group else plural


def not_found(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        404,
        "NotFound",
        f'{qualified(plural, group)} "{name}" not found',
        {"name": name, "group": group, "kind": plural},
    )


def already_exists(plural: str, group: str, name: str) -> ApiError:
    return ApiError(
        409,
        "AlreadyExists",
        f'{qualified(plural, group)} "{name}" already exists',
        {"name": name, "group": group, "kind": plural},
    )


def conflict(plural: str, group: str, name: str, why: str | None = None) -> ApiError:
    why = why or (
        "the object has been modified; "
        "please apply your changes to the latest version and try again"
    )
    return ApiError(
        409,
        "Conflict",
        f'Operation cannot be fulfilled on {qualified(plural, group)} "{name}": {why}',
        {"name": name, "group": group, "kind": plural},
    )


def bad_request(message: str) -> ApiError:
    return ApiError(400, "BadRequest", message)


def method_not_allowed() -> ApiError:
    return ApiError(
        405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
    )


def unknown_url() -> ApiError:
    return ApiError(
        404,
        "NotFound",
        "the server could not find the requested resource",
        {"causes": [{"reason": "UnexpectedServerResponse", "message": "404 page not found"}]},
    )


def unsupported_media_type(content_type: str) -> ApiError:
    return ApiError(
        415,
        "UnsupportedMediaType",
        f"the body of the request was in an unknown format: {content_type}",
    )


def gone(message: str) -> ApiError:
    return ApiError(410, "Expired", message)


class FieldError:
    """One `field.Error` of the API machinery: a path, a type and a detail."""

    # reason (metav1 CauseType) per error type, as the API server reports them
    REASONS = {
        "Invalid value": "FieldValueInvalid",
        "Unsupported value": "FieldValueNotSupported",
        "Required value": "FieldValueRequired",
        "Forbidden": "FieldValueForbidden",
        "Too long": "FieldValueTooLong",
        "Too many": "FieldValueTooMany",
        "Duplicate value": "FieldValueDuplicate",
    }

    def __init__(self, field: str, kind: str, detail: str) -> None:
        self.field = field
        self.kind = kind
        self.detail = detail

    @property
    def body(self) -> str:
        """The message without the field path, as in Status causes."""
        return f"{self.kind}: {self.detail}" if self.detail else self.kind

    def __str__(self) -> str:
        return f"{self.field}: {self.body}" if self.field else self.body

    def __repr__(self) -> str:
        return f"FieldError({self!s})"


def go_repr(value: Any) -> str:
    """Render a value as the API server does in field errors (Go's %#v for the usual types)."""
    if value is None:
        return '"null"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list):
        return '"array"'
    return '"object"'


def quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def invalid(kind: str, group: str, name: str, errors: list[FieldError]) -> ApiError:
    """422 Invalid with the API server's message: `Kind.group "name" is invalid: ...`."""
    what = f"{kind}.{group}" if group else kind
    joined = str(errors[0]) if len(errors) == 1 else "[" + ", ".join(map(str, errors)) + "]"
    causes = [
        {
            "reason": FieldError.REASONS.get(e.kind, "FieldValueInvalid"),
            "message": e.body,
            "field": e.field,
        }
        for e in errors
    ]
    return ApiError(
        422,
        "Invalid",
        f'{what} "{name}" is invalid: {joined}',
        {"name": name, "group": group, "kind": kind, "causes": causes},
    )

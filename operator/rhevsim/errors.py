"""Engine-style errors. Raise these from handlers; the server renders them.

CRUD handlers render a bare `<fault>`; action handlers wrap it as
`<action><fault>..</fault><status>failed</status></action>` (the route decides).
"""

from __future__ import annotations

OPERATION_FAILED = "Operation Failed"


class ApiError(Exception):
    """An HTTP error with an engine `<fault>` body. `detail` is already bracketed if needed."""

    def __init__(self, status: int, reason: str, detail: str = "", *, empty: bool = False) -> None:
        super().__init__(f"{status} {reason}: {detail}")
        self.status = status
        self.reason = reason
        self.detail = detail
        self.empty = empty  # 404 for an unknown id in the URL has an empty body


def failed(status: int, *messages: str) -> ApiError:
    """A backend validation failure: reason "Operation Failed", detail `[msg, msg]`."""
    return ApiError(status, OPERATION_FAILED, "[" + ", ".join(messages) + "]")


def conflict(message: str) -> ApiError:
    return failed(409, message)


def bad_request(message: str) -> ApiError:
    return failed(400, message)


def not_found_url() -> ApiError:
    """Unknown id in the URL: 404 with an empty body (AbstractBackendResource.notFound)."""
    return ApiError(404, "Not Found", empty=True)


def entity_not_found(type_name: str, key: str, value: str) -> ApiError:
    """A reference inside a body that names nothing: 404 "Entity not found: Cluster: name=Foo"."""
    return ApiError(404, OPERATION_FAILED, f"Entity not found: {type_name}: {key}={value}")


def locked(action: str, type_name: str) -> ApiError:
    """ACTION_TYPE_FAILED_OBJECT_LOCKED (CONFLICT)."""
    return conflict(
        f"Cannot {action} {type_name}. Related operation is currently in progress. "
        "Please try again later."
    )


def name_in_use(action: str, type_name: str, what: str | None = None) -> ApiError:
    """ACTION_TYPE_FAILED_NAME_ALREADY_USED and the per-type variants (CONFLICT)."""
    what = what or type_name
    return conflict(f"Cannot {action} {type_name}. The {what} name is already in use.")


def incomplete(type_name: str, fields: list[str], method: str) -> ApiError:
    """CompletenessAssertor: 400 "Incomplete parameters", "Vm [name] required for add"."""
    return ApiError(
        400, "Incomplete parameters", f"{type_name} [{', '.join(fields)}] required for {method}"
    )


def invalid_value(value: str, enum: str) -> ApiError:
    return ApiError(400, "Invalid value", f"{value} is not a member of {enum}")


def status_illegal(action: str, type_name: str, status: str) -> ApiError:
    """ACTION_TYPE_FAILED_VDS_STATUS_ILLEGAL style (CONFLICT)."""
    return conflict(
        f"Cannot {action} {type_name}. Operation can be performed only when "
        f"{type_name} status is {status}."
    )

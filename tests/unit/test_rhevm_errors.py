"""Typed errors from engine faults, and masking of secrets in traces (pure functions)."""

from __future__ import annotations

import pytest

from rhev_operator.rhevm import errors
from rhev_operator.rhevm.session import ConnectionConfig, mask_secrets, path_template

DECL = b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'


def fault(reason: str, detail: str, *, action: bool = False) -> bytes:
    inner = f"<fault><reason>{reason}</reason><detail>{detail}</detail></fault>"
    if action:
        inner = f"<action>{inner}<status>failed</status></action>"
    return DECL + inner.encode()


def err(status: int, body: bytes, reason: str | None = None) -> errors.RhevmError:
    return errors.from_response(
        status, body, method="POST", path="/ovirt-engine/api/vms/1/stop", http_reason=reason
    )


def test_409_in_progress_inside_action_is_locked_and_retryable() -> None:
    e = err(
        409,
        fault(
            "Operation Failed",
            "[Cannot stop VM. Related operation is currently in progress. Please try again later.]",
            action=True,
        ),
    )
    assert isinstance(e, errors.Locked) and isinstance(e, errors.Conflict)
    assert e.retryable and e.status == 409 and e.reason == "Operation Failed"
    assert "currently in progress" in (e.detail or "")
    assert e.method == "POST" and e.path == "/ovirt-engine/api/vms/1/stop"
    assert str(e).startswith(
        "POST /ovirt-engine/api/vms/1/stop: HTTP 409: Operation Failed: [Cannot"
    )


def test_409_name_in_use_is_not_retryable() -> None:
    e = err(
        409,
        fault(
            "Operation Failed",
            "[Cannot add VM. The VM name is already in use, "
            "please choose a unique name and try again.]",
        ),
    )
    assert isinstance(e, errors.AlreadyExists) and not e.retryable


def test_409_network_name_used_is_not_retryable() -> None:
    e = err(
        409,
        fault(
            "Operation Failed",
            "[Cannot add Network. The name of the logical network 'rhevm' is already used by "
            "an existing logical network in the same data-center.]",
        ),
    )
    assert isinstance(e, errors.AlreadyExists) and not e.retryable


def test_409_wrong_state_is_conflict() -> None:
    e = err(
        409,
        fault(
            "Operation Failed", "[Cannot maintenance Host. Host is already in Maintenance mode.]"
        ),
    )
    assert type(e) is errors.Conflict and e.retryable


@pytest.mark.parametrize(
    ("status", "cls", "retryable"),
    [
        (400, errors.BadRequest, False),
        (401, errors.AuthError, False),
        (403, errors.AuthError, False),
        (404, errors.NotFound, False),
        (405, errors.BadRequest, False),
        (500, errors.Unavailable, True),
        (503, errors.Unavailable, True),
    ],
)
def test_status_maps_to_typed_error(
    status: int, cls: type[errors.RhevmError], retryable: bool
) -> None:
    e = err(status, fault("Operation Failed", "[x]"))
    assert type(e) is cls and e.retryable is retryable and e.status == status


def test_404_empty_body_and_html_error_page() -> None:
    e = err(404, b"", "Not Found")
    assert isinstance(e, errors.NotFound) and e.reason == "Not Found" and e.detail is None
    e = err(502, b"<html><body><h1>502 Bad Gateway</h1>\n<p>proxy</p></body></html>", "Bad Gateway")
    assert isinstance(e, errors.Unavailable)
    assert e.reason == "Bad Gateway"


def test_incomplete_parameters_fault_is_bad_request() -> None:
    e = err(400, fault("Incomplete parameters", "Vm [name] required for add"))
    assert isinstance(e, errors.BadRequest) and not e.retryable
    assert e.reason == "Incomplete parameters" and e.detail == "Vm [name] required for add"


def test_mask_secrets_in_xml_forms_json_and_headers() -> None:
    text = (
        "<host><root_password>s3cret</root_password></host>"
        "<agent><password>PASSW0RD</password></agent>"
        "grant_type=password&scope=ovirt-app-api&username=admin%40internal&password=hunter2&x=1 "
        '{"access_token": "tok123", "token_type": "bearer"} '
        "scope=ovirt-app-api&token=tok456 "
        "Authorization: Bearer tok789, Cookie: JSESSIONID=abc"
    )
    masked = mask_secrets(text)
    for secret in ("s3cret", "PASSW0RD", "hunter2", "tok123", "tok456", "tok789", "abc"):
        assert secret not in masked
    assert "grant_type=password" in masked and "username=admin%40internal" in masked
    assert "<root_password>***</root_password>" in masked


def test_path_template_replaces_ids() -> None:
    assert path_template("vms") == "vms"
    assert path_template("vms/123") == "vms/{id}"
    assert path_template("datacenters/d1/storagedomains/s1/activate") == (
        "datacenters/{id}/storagedomains/{id}/activate"
    )
    assert path_template("") == "/"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"url": "ftp://x/api"}, "url"),
        ({"url": "http:///api"}, "url"),
        ({"username": ""}, "username"),
        ({"timeout": 0}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"ca_pem": "not a pem"}, "ca_pem"),
    ],
)
def test_connection_config_validation_names_the_field(
    kwargs: dict[str, object], field: str
) -> None:
    base: dict[str, object] = {
        "url": "https://rhevm.example/ovirt-engine/api",
        "username": "admin@internal",
        "password": "pw",
    }
    with pytest.raises(ValueError, match=field):
        ConnectionConfig(**{**base, **kwargs})  # type: ignore[arg-type]


def test_connection_config_repr_hides_password() -> None:
    cfg = ConnectionConfig(url="https://r/ovirt-engine/api", username="u", password="hunter2")
    assert "hunter2" not in repr(cfg)

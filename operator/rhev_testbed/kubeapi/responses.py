"""HTTP requests and responses of the local API: JSON bodies, metav1 Status errors, warnings."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

import aiohttp.web
import yaml

from rhev_testbed.kubeapi.errors import ApiError, bad_request, unsupported_media_type
from rhev_testbed.kubeapi.store import Obj


@dataclasses.dataclass(frozen=True)
class Request:
    """One HTTP request with its body read."""

    raw: aiohttp.web.BaseRequest
    body: bytes

    @property
    def headers(self) -> Mapping[str, str]:
        return self.raw.headers

    @property
    def content_type(self) -> str:
        """The media type of the body, lower case, without parameters ("" when absent)."""
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()


def json_response(
    body: Any, *, status: int = 200, warnings: list[str] | None = None
) -> aiohttp.web.Response:
    response = aiohttp.web.Response(
        body=json.dumps(body, separators=(",", ":")).encode(),
        status=status,
        content_type="application/json",
    )
    for warning in warnings or []:
        response.headers.add("Warning", f'299 - "{warning}"')
    return response


def error_response(exc: ApiError) -> aiohttp.web.Response:
    response = json_response(exc.status(), status=exc.code)
    for key, value in exc.headers.items():
        response.headers[key] = value
    return response


def read_body(request: Request, *, optional: bool = False) -> Obj:
    """The request's body as JSON data (from JSON, YAML or protobuf)."""
    raw: bytes = request.body
    content_type = request.content_type
    if not raw.strip():
        if optional:
            return {}
        raise bad_request("the request body is empty")
    if "protobuf" in content_type:
        from rhev_testbed.kubeapi.protobuf import decode_object

        try:
            return decode_object(raw)
        except ValueError as exc:
            raise unsupported_media_type(f"{content_type} ({exc})") from None
    try:
        data = yaml.safe_load(raw) if "yaml" in content_type else json.loads(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise bad_request(f"couldn't get version/kind; json parse error: {exc}") from None
    if not isinstance(data, (dict, list)):
        raise bad_request("the body of the request must be a JSON object")
    return data  # type: ignore[return-value]

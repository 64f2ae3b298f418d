"""Connection Secrets: decoding their keys into a `ConnectionConfig`, and the errors that
name what is missing or wrong (never a value)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from rhev_operator.rhevm import ConnectionConfig

__all__ = ["InvalidSecret", "MissingSecret", "config_from_secret", "decoded"]


class MissingSecret(Exception):
    def __init__(self, namespace: str, name: str, key: str | None) -> None:
        what = f"key {key!r} of Secret {namespace}/{name}" if key else f"Secret {namespace}/{name}"
        super().__init__(f"{what} is missing; create it with keys url, username, password")
        self.secret = name


class InvalidSecret(Exception):
    pass


def decoded(data: Mapping[str, str], key: str) -> str | None:
    raw = data.get(key)
    if raw is None:
        return None
    try:
        return base64.b64decode(raw).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def config_from_secret(
    namespace: str, name: str, data: Mapping[str, str] | None
) -> ConnectionConfig:
    if data is None:
        raise MissingSecret(namespace, name, None)
    values = {
        key: decoded(data, key) for key in ("url", "username", "password", "ca.crt", "insecure")
    }
    for key, value in values.items():
        if value is None and data.get(key) is not None:  # present, but no UTF-8 text
            raise InvalidSecret(f"Secret {namespace}/{name}: key {key!r} is not UTF-8 text")
    for key in ("url", "username", "password"):
        if not values[key]:
            raise MissingSecret(namespace, name, key)
    try:
        return ConnectionConfig(
            url=str(values["url"]),
            username=str(values["username"]),
            password=str(values["password"]),
            ca_pem=values["ca.crt"],
            insecure=(values["insecure"] or "").strip() == "true",  # only "true"
        )
    except ValueError as exc:  # the message names the key (url) and never the password
        raise InvalidSecret(f"Secret {namespace}/{name}: {exc}") from None

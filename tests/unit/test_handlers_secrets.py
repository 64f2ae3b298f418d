"""Connection Secrets: keys, ca.crt, insecure, and what a bad Secret reports."""

from __future__ import annotations

import base64

import pytest

from rhev_operator.handlers.common import InvalidSecret, MissingSecret, config_from_secret


def data(**values: str) -> dict[str, str]:
    return {
        key.replace("_", "."): base64.b64encode(v.encode()).decode() for key, v in values.items()
    }


BASE = {"url": "https://rhevm.example.com/ovirt-engine/api", "username": "admin@internal",
        "password": "pw-Secret-1"}  # fmt: skip


def test_keys_ca_and_verification_by_default() -> None:
    config = config_from_secret("ns", "conn", data(**BASE, ca_crt="-----BEGIN CERTIFICATE-----"))
    assert config.url == BASE["url"] and config.username == "admin@internal"
    assert config.ca_pem == "-----BEGIN CERTIFICATE-----"
    assert config.insecure is False
    assert "pw-Secret-1" not in repr(config)


@pytest.mark.parametrize(("value", "insecure"), [("true", True), ("True", False), ("yes", False)])
def test_insecure_only_with_the_exact_string_true(value: str, insecure: bool) -> None:
    assert config_from_secret("ns", "conn", data(**BASE, insecure=value)).insecure is insecure


def test_missing_secret_and_missing_key_name_what_is_missing() -> None:
    with pytest.raises(MissingSecret, match="Secret ns/conn is missing"):
        config_from_secret("ns", "conn", None)
    partial = data(url=BASE["url"], username="admin@internal")
    with pytest.raises(MissingSecret, match="key 'password' of Secret ns/conn"):
        config_from_secret("ns", "conn", partial)


def test_bad_url_names_the_key_and_never_the_password() -> None:
    with pytest.raises(InvalidSecret) as info:
        config_from_secret("ns", "conn", data(**{**BASE, "url": "rhevm.example.com"}))
    assert "url" in str(info.value) and "pw-Secret-1" not in str(info.value)

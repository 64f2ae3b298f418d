"""Authentication like the engine: SSO, Basic, persistent-auth sessions, expiry, logout."""

from __future__ import annotations

from typing import Any

import ovirtsdk4 as sdk
import pytest
import requests

from rhevsim.testing import SimHandle

TOKEN = "/ovirt-engine/sso/oauth/token"


def token(
    sim: SimHandle, user: str = "admin@internal", password: str = "admin"
) -> requests.Response:
    return requests.post(
        sim.url + TOKEN,
        data={
            "grant_type": "password",
            "scope": "ovirt-app-api",
            "username": user,
            "password": password,
        },
        headers={"Accept": "application/json"},
        timeout=10,
    )


def test_sso_token_and_bearer_use(simulator: SimHandle) -> None:
    r = token(simulator)
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    data = r.json()
    assert data["token_type"] == "bearer" and data["access_token"] and int(data["exp"]) > 0
    api = requests.get(
        simulator.api_url, headers={"Authorization": f"Bearer {data['access_token']}"}, timeout=10
    )
    assert api.status_code == 200 and b"<product_info>" in api.content


def test_sso_wrong_password_is_400_access_denied(simulator: SimHandle) -> None:
    r = token(simulator, password="wrong")
    assert r.status_code == 400
    assert r.json()["error_code"] == "access_denied"
    assert "admin@internal" in r.json()["error"]


def test_sso_requires_the_api_scope(simulator: SimHandle) -> None:
    r = requests.post(
        simulator.url + TOKEN,
        data={
            "grant_type": "password",
            "scope": "other",
            "username": "admin@internal",
            "password": "admin",
        },
        timeout=10,
    )
    assert r.status_code == 400 and "error" in r.json()


def test_missing_or_bad_credentials_are_401_with_basic_challenge(simulator: SimHandle) -> None:
    r = requests.get(simulator.api_url + "/datacenters", timeout=10)
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="RESTAPI"'
    r = requests.get(simulator.api_url, auth=("admin@internal", "nope"), timeout=10)
    assert r.status_code == 401
    r = requests.get(simulator.api_url, headers={"Authorization": "Bearer forged"}, timeout=10)
    assert r.status_code == 401


def test_basic_auth_and_inventory_users(simulator_factory: Any) -> None:
    sim = simulator_factory({"users": [{"name": "ops@internal", "password": "s3"}]})
    assert requests.get(sim.api_url, auth=("ops@internal", "s3"), timeout=10).status_code == 200
    assert (
        requests.get(sim.api_url, auth=("admin@internal", "admin"), timeout=10).status_code == 401
    )


def test_admin_password_override(simulator_factory: Any) -> None:
    sim = simulator_factory(admin_password="hunter2")
    assert (
        requests.get(sim.api_url, auth=("admin@internal", "admin"), timeout=10).status_code == 401
    )
    assert (
        requests.get(sim.api_url, auth=("admin@internal", "hunter2"), timeout=10).status_code == 200
    )


def test_persistent_auth_session_cookie(simulator: SimHandle) -> None:
    s = requests.Session()
    r = s.get(
        simulator.api_url,
        auth=("admin@internal", "admin"),
        headers={"Prefer": "persistent-auth"},
        timeout=10,
    )
    assert r.status_code == 200
    assert "JSESSIONID" in r.cookies
    assert "Path=/ovirt-engine/api" in r.headers["Set-Cookie"]
    # Later requests need only the cookie and the Prefer header.
    r = s.get(simulator.api_url + "/datacenters", headers={"Prefer": "persistent-auth"}, timeout=10)
    assert r.status_code == 200
    # A request without Prefer ends the session.
    s.get(simulator.api_url, auth=("admin@internal", "admin"), timeout=10)
    r = s.get(simulator.api_url + "/datacenters", headers={"Prefer": "persistent-auth"}, timeout=10)
    assert r.status_code == 401


def test_sdk_reauthenticates_after_tokens_expire(simulator: SimHandle) -> None:
    conn = sdk.Connection(url=simulator.api_url, username="admin@internal", password="admin")
    try:
        conn.system_service().data_centers_service().list()
        assert simulator.sim.auth.logins == 1
        simulator.control("POST", "/sim/auth/expire-tokens")
        assert len(conn.system_service().data_centers_service().list()) == 1
        assert simulator.sim.auth.logins == 2
    finally:
        conn.close()
    with simulator.lock:
        assert simulator.sim.auth.tokens == {}  # close() logged out


def test_token_ttl_runs_on_the_simulated_clock(simulator_factory: Any) -> None:
    sim = simulator_factory({"engine": {"token_ttl": 60}})
    tok = token(sim).json()["access_token"]
    hdr = {"Authorization": f"Bearer {tok}"}
    assert requests.get(sim.api_url, headers=hdr, timeout=10).status_code == 200
    sim.advance(61)
    assert requests.get(sim.api_url, headers=hdr, timeout=10).status_code == 401


def test_sdk_wrong_password_raises_auth_error(simulator: SimHandle) -> None:
    conn = sdk.Connection(url=simulator.api_url, username="admin@internal", password="bad")
    with pytest.raises(sdk.AuthError):
        conn.system_service().get()
    conn.close(logout=False)

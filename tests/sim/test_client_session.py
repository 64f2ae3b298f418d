"""Connection behaviour of the RHEV-M client against the simulator: SSO and logout,
re-authentication after token expiry, injected faults mapped to typed errors, retries
of idempotent requests only, tracing with secrets masked, request counters."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from rhev_operator.rhevm import (
    ConnectionConfig,
    DataCenterCreate,
    DataCenterUpdate,
    RhevmClient,
    errors,
)
from rhevsim.testing import SimHandle


def config(sim: SimHandle, **kw: object) -> ConnectionConfig:
    base: dict[str, object] = {
        "url": sim.api_url,
        "username": "admin@internal",
        "password": "admin",
        "timeout": 10.0,
        "backoff_base": 0.01,
        "backoff_max": 0.02,
    }
    return ConnectionConfig(**{**base, **kw})  # type: ignore[arg-type]


@pytest.fixture
def client(simulator: SimHandle) -> Iterator[RhevmClient]:
    c = RhevmClient(config(simulator))
    yield c
    c.close()


def sim_requests(sim: SimHandle, key: str) -> int:
    stats = sim.control("GET", "/sim/stats")
    return int(stats["requests"].get(key, 0))


def test_sso_login_once_and_logout_on_close(simulator: SimHandle) -> None:
    client = RhevmClient(config(simulator))
    info = client.api()
    assert info.product_name and info.blank_template_id == "00000000-0000-0000-0000-000000000000"
    client.datacenters.list()
    assert client.session.auth_mode == "oauth"
    assert client.request_counts[("POST", "sso/token")] == 1
    with simulator.lock:
        assert len(simulator.sim.auth.tokens) == 1
    client.close()
    with simulator.lock:
        assert simulator.sim.auth.tokens == {}
    client.close()  # idempotent


def test_wrong_password_is_auth_error(simulator: SimHandle) -> None:
    client = RhevmClient(config(simulator, password="wrong"))
    with pytest.raises(errors.AuthError) as info:
        client.datacenters.list()
    assert not info.value.retryable and "wrong" not in str(info.value)


def test_reauthenticates_once_after_token_expiry(simulator: SimHandle, client: RhevmClient) -> None:
    client.datacenters.list()
    simulator.control("POST", "/sim/auth/expire-tokens")
    assert client.datacenters.find("Default") is not None
    assert client.request_counts[("POST", "sso/token")] == 2
    # the retried request went through: one 401 and one success
    assert client.request_counts[("GET", "datacenters")] == 3


def test_reauthenticates_after_token_lifetime_passes(simulator_factory: object) -> None:
    sim = simulator_factory({"engine": {"token_ttl": 60}})  # type: ignore[operator]
    client = RhevmClient(config(sim))
    client.datacenters.list()
    sim.advance(61)
    assert len(client.datacenters.list()) == 1
    assert client.request_counts[("POST", "sso/token")] == 2
    client.close()


def test_get_retried_on_injected_503(simulator: SimHandle, client: RhevmClient) -> None:
    simulator.control(
        "POST", "/sim/faults", {"path": "/datacenters$", "method": "GET", "status": 503, "count": 2}
    )
    assert [d.name for d in client.datacenters.list()] == ["Default"]
    assert client.request_counts[("GET", "datacenters")] == 3
    assert sim_requests(simulator, "GET (fault)") == 2


def test_get_retried_on_connection_reset(simulator: SimHandle, client: RhevmClient) -> None:
    simulator.control(
        "POST",
        "/sim/faults",
        {"path": "/datacenters$", "method": "GET", "status": "reset", "count": 1},
    )
    assert [d.name for d in client.datacenters.list()] == ["Default"]
    assert client.request_counts[("GET", "datacenters")] == 2
    assert sim_requests(simulator, "GET (fault reset)") == 1


def test_put_and_delete_are_retried(simulator: SimHandle, client: RhevmClient) -> None:
    dc = client.datacenters.add(DataCenterCreate(name="retry", local=False))
    simulator.control(
        "POST", "/sim/faults", {"path": "/datacenters/", "method": "PUT", "status": 502, "count": 2}
    )
    assert client.datacenters.update(dc.id, DataCenterUpdate(description="d")).description == "d"
    assert client.request_counts[("PUT", "datacenters/{id}")] == 3
    simulator.control(
        "POST",
        "/sim/faults",
        {"path": "/datacenters/", "method": "DELETE", "status": "reset", "count": 1},
    )
    client.datacenters.remove(dc.id)
    assert client.request_counts[("DELETE", "datacenters/{id}")] == 2
    assert client.datacenters.find("retry") is None


def test_post_is_not_retried(simulator: SimHandle, client: RhevmClient) -> None:
    client.datacenters.list()
    simulator.control(
        "POST",
        "/sim/faults",
        {"path": "/datacenters$", "method": "POST", "status": 503, "count": 1},
    )
    with pytest.raises(errors.Unavailable) as info:
        client.datacenters.add(DataCenterCreate(name="once", local=False))
    assert info.value.status == 503 and info.value.retryable and info.value.method == "POST"
    assert client.request_counts[("POST", "datacenters")] == 1
    assert client.datacenters.find("once") is None
    simulator.control(
        "POST",
        "/sim/faults",
        {"path": "/datacenters$", "method": "POST", "status": "reset", "count": 1},
    )
    with pytest.raises(errors.Unavailable):
        client.datacenters.add(DataCenterCreate(name="once", local=False))
    assert client.request_counts[("POST", "datacenters")] == 2


def test_api_down_exhausts_retries_then_recovers(simulator: SimHandle, client: RhevmClient) -> None:
    client.datacenters.list()
    simulator.control("POST", "/sim/api/down", {"mode": "503"})
    with pytest.raises(errors.Unavailable):
        client.datacenters.list()
    assert client.request_counts[("GET", "datacenters")] == 1 + 1 + client.config.max_retries
    simulator.control("POST", "/sim/api/up")
    assert len(client.datacenters.list()) == 1


@pytest.mark.parametrize(
    ("status", "detail", "cls"),
    [
        (
            409,
            "[Cannot remove Data Center. Related operation is currently in progress. "
            "Please try again later.]",
            errors.Locked,
        ),
        (409, "[Cannot remove Data Center. Something is in the way.]", errors.Conflict),
        (400, "[Cannot remove Data Center. Bad parameters.]", errors.BadRequest),
        (403, "[User is not authorized to perform this action.]", errors.AuthError),
        (404, "[Entity not found: DataCenter: name=x]", errors.NotFound),
    ],
)
def test_injected_faults_become_typed_errors(
    simulator: SimHandle,
    client: RhevmClient,
    status: int,
    detail: str,
    cls: type[errors.RhevmError],
) -> None:
    dc = client.datacenters.add(DataCenterCreate(name="faulty", local=False))
    simulator.control(
        "POST",
        "/sim/faults",
        {
            "path": "/datacenters/",
            "method": "DELETE",
            "status": status,
            "count": 1,
            "detail": detail,
        },
    )
    with pytest.raises(cls) as info:
        client.datacenters.remove(dc.id)
    assert type(info.value) is cls
    assert info.value.status == status and info.value.detail == detail
    assert info.value.path == f"/ovirt-engine/api/datacenters/{dc.id}"
    assert client.request_counts[("DELETE", "datacenters/{id}")] == 1  # 4xx: no retry


def test_trace_masks_password_and_token(
    simulator: SimHandle, caplog: pytest.LogCaptureFixture
) -> None:
    logger = logging.getLogger("test.rest")
    client = RhevmClient(config(simulator, password="s3cret-pw"), trace=True, logger=logger)
    with simulator.lock:
        simulator.sim.auth.users["admin@internal"] = "s3cret-pw"
    with caplog.at_level(logging.INFO, logger="test.rest"):
        client.datacenters.add(DataCenterCreate(name="traced", local=False))
        client.close()
    records = [r for r in caplog.records if r.name == "test.rest"]
    text = "\n".join(r.getMessage() for r in records)
    with simulator.lock:
        issued = simulator.sim.auth.logins
    assert issued == 1
    assert "s3cret-pw" not in text
    assert "access_token" in text and '"access_token": "***"' in text
    assert "password=***" in text and "token=***" in text
    assert "REST > POST" in text and "/ovirt-engine/api/datacenters [" in text
    assert "Correlation-Id: rhevop-" in text
    assert "REST < 201 POST" in text and "<name>traced</name>" in text
    assert all(r.levelno == logging.INFO for r in records)


def test_counters_agree_with_the_simulator(simulator: SimHandle, client: RhevmClient) -> None:
    dc = client.datacenters.find("Default")
    assert dc is not None
    client.datacenters.get(dc.id)
    client.datacenters.get(dc.id)
    counts = client.request_counts
    assert counts[("GET", "datacenters")] == 1 and counts[("GET", "datacenters/{id}")] == 2
    assert sim_requests(simulator, "GET /datacenters/{id}") == 2
    assert sim_requests(simulator, "GET /datacenters") == 1


def test_threads_share_one_client_and_one_reauthentication(
    simulator: SimHandle, client: RhevmClient
) -> None:
    import threading

    client.api()
    failures: list[BaseException] = []
    started = threading.Barrier(9)

    def worker() -> None:
        started.wait(timeout=10)
        try:
            for _ in range(15):
                assert client.datacenters.find("Default") is not None
        except BaseException as exc:  # collected and asserted below
            failures.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    started.wait(timeout=10)
    simulator.control("POST", "/sim/auth/expire-tokens")
    for t in threads:
        t.join(timeout=60)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    assert client.request_counts[("GET", "datacenters")] >= 8 * 15
    # one login, then (nearly always exactly) one re-login for all eight threads
    assert 2 <= client.request_counts[("POST", "sso/token")] <= 3


def test_basic_auth_and_session_cookie_when_the_engine_has_no_sso(
    simulator: SimHandle, caplog: pytest.LogCaptureFixture
) -> None:
    # An engine without the SSO webapp (3.x): the token endpoint answers 404.
    simulator.control("POST", "/sim/faults", {"path": "/sso/oauth/token$", "status": 404})
    logger = logging.getLogger("test.basic")
    client = RhevmClient(config(simulator), trace=True, logger=logger)
    with caplog.at_level(logging.INFO, logger="test.basic"):
        assert client.datacenters.find("Default") is not None
        assert client.session.auth_mode == "basic"
        assert client.clusters.find("Default") is not None
        with simulator.lock:
            assert len(simulator.sim.auth.sessions) == 1  # the JSESSIONID was reused
        simulator.control("POST", "/sim/auth/expire-tokens")
        assert client.datacenters.find("Default") is not None  # Basic again, new session
        client.close()
    with simulator.lock:
        assert simulator.sim.auth.sessions == {}  # close() ended the session
    assert client.request_counts[("POST", "sso/token")] == 1  # 404 remembered
    text = "\n".join(r.getMessage() for r in caplog.records if r.name == "test.basic")
    assert "Authorization: ***" in text
    assert "YWRtaW5AaW50ZXJuYWw6YWRtaW4=" not in text  # base64 of admin@internal:admin


def test_slow_get_times_out_and_is_retried(simulator: SimHandle) -> None:
    client = RhevmClient(config(simulator, timeout=0.3))
    client.api()
    simulator.control(
        "POST", "/sim/faults", {"path": "/datacenters$", "method": "GET", "latency": 2, "count": 1}
    )
    assert client.datacenters.find("Default") is not None
    assert client.request_counts[("GET", "datacenters")] == 2
    client.close()


def test_slow_post_is_not_retried_because_it_may_have_happened(simulator: SimHandle) -> None:
    client = RhevmClient(config(simulator, timeout=0.3))
    client.api()
    simulator.control(
        "POST", "/sim/faults", {"path": "/datacenters$", "method": "POST", "latency": 2, "count": 1}
    )
    with pytest.raises(errors.Unavailable, match="timed out"):
        client.datacenters.add(DataCenterCreate(name="slow", local=False))
    assert client.request_counts[("POST", "datacenters")] == 1
    # The engine did act on it: a blind retry would have hit "name already in use".
    assert client.datacenters.find("slow") is not None
    client.close()

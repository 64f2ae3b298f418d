"""HTTP behaviour of the RHEV-M client against a tiny local server serving recorded
answers (auth, retries, re-authentication, TLS, tracing, counters). No mocked requests:
real sockets on 127.0.0.1."""

from __future__ import annotations

import datetime
import ipaddress
import json
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from rhev_operator.rhevm import (
    ConnectionConfig,
    DataCenterCreate,
    HostCreate,
    RhevmClient,
    errors,
)

DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
API = "/ovirt-engine/api"
DCS = (
    DECL + '<data_centers><data_center href="/ovirt-engine/api/datacenters/d1" id="d1">'
    "<name>Default</name><local>false</local><status>up</status></data_center>"
    '<data_center id="d2"><name>default</name><status>up</status></data_center></data_centers>'
)
DC1 = DECL + '<data_center id="d1"><name>Default</name><status>up</status></data_center>'
TOKEN = {"access_token": "tok-abc", "token_type": "bearer", "exp": "9999999999999"}


@dataclass
class Seen:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes


@dataclass
class Canned:
    """Answers per (method, path): a list consumed in order, the last one repeats.
    An answer is (status, content_type, body, extra_headers) or "reset"."""

    routes: dict[tuple[str, str], list[object]] = field(default_factory=dict)
    seen: list[Seen] = field(default_factory=list)

    def on(self, method: str, path: str, *answers: object) -> None:
        self.routes[(method, path)] = list(answers)

    def calls(self, method: str, path: str) -> list[Seen]:
        return [s for s in self.seen if s.method == method and s.path == path]


def xml(status: int, body: str, headers: dict[str, str] | None = None) -> object:
    return (status, "application/xml;charset=UTF-8", body.encode(), headers or {})


def js(status: int, body: object) -> object:
    return (status, "application/json", json.dumps(body).encode(), {})


class Handler(BaseHTTPRequestHandler):
    server: Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        canned = self.server.canned
        canned.seen.append(
            Seen(self.command, split.path, parse_qs(split.query), dict(self.headers), body)
        )
        answers = canned.routes.get((self.command, split.path))
        if not answers:
            answer: object = (404, "text/html", b"", {})
        else:
            answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if answer == "reset":
            # Close without a response: the client sees a reset connection.
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            self.close_connection = True
            self.connection.close()
            return
        assert isinstance(answer, tuple)
        status: int = answer[0]
        ctype: str = answer[1]
        payload: bytes = answer[2]
        extra: dict[str, str] = answer[3]
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_DELETE = _handle


class Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, canned: Canned) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.canned = canned


@pytest.fixture
def canned() -> Iterator[tuple[Canned, str]]:
    c = Canned()
    srv = Server(c)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield c, f"http://127.0.0.1:{srv.server_address[1]}"
    finally:
        srv.shutdown()
        srv.server_close()


def make(base: str, **kw: object) -> RhevmClient:
    cfg = ConnectionConfig(
        url=base + API,
        username="admin@internal",
        password="hunter2",
        timeout=5.0,
        backoff_base=0.001,
        backoff_max=0.002,
        **kw,  # type: ignore[arg-type]
    )
    return RhevmClient(cfg)


def test_oauth_token_then_bearer_requests_and_logout(canned: tuple[Canned, str]) -> None:
    c, base = canned
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN))
    c.on("GET", API + "/datacenters", xml(200, DCS))
    c.on("POST", "/ovirt-engine/services/sso-logout", js(200, {}))
    client = make(base)
    dcs = client.datacenters.list()
    assert [d.name for d in dcs] == ["Default", "default"]
    (login,) = c.calls("POST", "/ovirt-engine/sso/oauth/token")
    form = parse_qs(login.body.decode())
    assert form == {
        "grant_type": ["password"],
        "scope": ["ovirt-app-api"],
        "username": ["admin@internal"],
        "password": ["hunter2"],
    }
    (get,) = c.calls("GET", API + "/datacenters")
    assert get.headers["Authorization"] == "Bearer tok-abc"
    assert get.headers["Version"] == "4" and get.headers["Prefer"] == "persistent-auth"
    assert get.headers["Accept"] == "application/xml"
    client.close()
    (logout,) = c.calls("POST", "/ovirt-engine/services/sso-logout")
    assert parse_qs(logout.body.decode()) == {"scope": ["ovirt-app-api"], "token": ["tok-abc"]}
    with pytest.raises(errors.RhevmError, match="closed"):
        client.datacenters.list()


def test_find_is_exact_and_case_sensitive(canned: tuple[Canned, str]) -> None:
    c, base = canned
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN))
    c.on("GET", API + "/datacenters", xml(200, DCS))
    client = make(base)
    found = client.datacenters.find("default")
    assert found is not None and found.id == "d2"
    assert client.datacenters.find("Def") is None
    assert c.calls("GET", API + "/datacenters")[0].query == {"search": ['name="default"']}


def test_basic_auth_when_sso_is_missing_then_session_cookie(canned: tuple[Canned, str]) -> None:
    c, base = canned
    # no SSO route: 404
    c.on(
        "GET",
        API + "/datacenters/d1",
        xml(200, DC1, {"Set-Cookie": "JSESSIONID=sess1; Path=/ovirt-engine/api"}),
    )
    client = make(base)
    assert client.datacenters.get("d1").name == "Default"
    assert client.datacenters.get("d1").status == "up"
    first, second = c.calls("GET", API + "/datacenters/d1")
    assert first.headers["Authorization"].startswith("Basic ")
    assert first.headers["Prefer"] == "persistent-auth"
    assert "Authorization" not in second.headers
    assert "JSESSIONID=sess1" in second.headers["Cookie"]
    assert client.session.auth_mode == "basic"


def test_one_reauthentication_on_401(canned: tuple[Canned, str]) -> None:
    c, base = canned
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN), js(200, {"access_token": "t2"}))
    c.on("GET", API + "/datacenters/d1", xml(401, ""), xml(200, DC1))
    client = make(base)
    assert client.datacenters.get("d1").id == "d1"
    assert len(c.calls("POST", "/ovirt-engine/sso/oauth/token")) == 2
    gets = c.calls("GET", API + "/datacenters/d1")
    assert [g.headers["Authorization"] for g in gets] == ["Bearer tok-abc", "Bearer t2"]


def test_second_401_is_an_auth_error(canned: tuple[Canned, str]) -> None:
    c, base = canned
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN))
    c.on("GET", API + "/datacenters/d1", xml(401, ""))
    client = make(base)
    with pytest.raises(errors.AuthError) as info:
        client.datacenters.get("d1")
    assert info.value.status == 401 and not info.value.retryable
    assert len(c.calls("GET", API + "/datacenters/d1")) == 2
    assert len(c.calls("POST", "/ovirt-engine/sso/oauth/token")) == 2


def test_sso_refusal_is_auth_error_without_password(canned: tuple[Canned, str]) -> None:
    c, base = canned
    c.on(
        "POST",
        "/ovirt-engine/sso/oauth/token",
        js(400, {"error_code": "access_denied", "error": "Cannot authenticate user"}),
    )
    client = make(base)
    with pytest.raises(errors.AuthError) as info:
        client.datacenters.list()
    assert "access_denied" in str(info.value) and "admin@internal" in str(info.value)
    assert "hunter2" not in str(info.value) and "hunter2" not in repr(info.value)


def test_get_retried_on_503_and_reset(canned: tuple[Canned, str]) -> None:
    c, base = canned
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN))
    c.on("GET", API + "/datacenters/d1", xml(503, ""), "reset", xml(200, DC1))
    client = make(base)
    assert client.datacenters.get("d1").id == "d1"
    assert client.request_counts[("GET", "datacenters/{id}")] == 3


def test_get_gives_up_after_max_retries(canned: tuple[Canned, str]) -> None:
    c, base = canned
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN))
    c.on("GET", API + "/datacenters/d1", xml(503, ""))
    client = make(base, max_retries=2)
    with pytest.raises(errors.Unavailable) as info:
        client.datacenters.get("d1")
    assert info.value.retryable and info.value.status == 503
    assert len(c.calls("GET", API + "/datacenters/d1")) == 3


def test_post_never_retried(canned: tuple[Canned, str]) -> None:
    c, base = canned
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN))
    c.on("POST", API + "/datacenters", xml(503, ""), xml(201, DC1))
    c.on("POST", API + "/datacenters/d1/cleanfinishedtasks", "reset")
    client = make(base)
    with pytest.raises(errors.Unavailable):
        client.datacenters.add(DataCenterCreate(name="Default", local=False))
    assert len(c.calls("POST", API + "/datacenters")) == 1
    with pytest.raises(errors.Unavailable):
        client.datacenters._action("d1", "cleanfinishedtasks", None)
    assert len(c.calls("POST", API + "/datacenters/d1/cleanfinishedtasks")) == 1


def test_read_timeout_is_unavailable_and_bounded() -> None:
    # A listening socket that never accepts: connect succeeds, no answer ever comes.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        port = sock.getsockname()[1]
        cfg = ConnectionConfig(
            url=f"http://127.0.0.1:{port}{API}",
            username="u",
            password="p",
            timeout=0.2,
            max_retries=1,
            backoff_base=0.001,
        )
        client = RhevmClient(cfg)
        with pytest.raises(errors.Unavailable, match="timed out"):
            client.datacenters.list()
        # the SSO POST is not retried, so one attempt only
        assert client.request_counts == {("POST", "sso/token"): 1}
    finally:
        sock.close()


def test_connection_refused_is_unavailable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    cfg = ConnectionConfig(url=f"http://127.0.0.1:{port}{API}", username="u", password="p")
    with pytest.raises(errors.Unavailable, match="unreachable"):
        RhevmClient(cfg).datacenters.list()


def test_errors_actions_and_correlation_ids(canned: tuple[Canned, str]) -> None:
    c, base = canned
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN))
    c.on("GET", API + "/vms/missing", (404, "text/html", b"", {}))
    c.on(
        "POST",
        API + "/vms/v1/stop",
        xml(
            409,
            DECL + "<action><fault><reason>Operation Failed</reason><detail>[Cannot stop VM. "
            "Related operation is currently in progress. Please try again later.]</detail>"
            "</fault><status>failed</status></action>",
        ),
    )
    c.on(
        "POST",
        API + "/vms/v1/start",
        xml(200, DECL + '<action><status>complete</status><job id="j9"/></action>'),
    )
    c.on("DELETE", API + "/vms/v1", xml(200, DECL + "<action><status>complete</status></action>"))
    client = make(base)
    with pytest.raises(errors.NotFound) as nf:
        client.vms.get("missing")
    assert nf.value.path == API + "/vms/missing" and nf.value.method == "GET"
    with pytest.raises(errors.Locked) as locked:
        client.vms.stop("v1", correlation_id="cid-1")
    assert locked.value.retryable and locked.value.status == 409
    res = client.vms.start("v1")
    assert res.status == "complete" and res.job_id == "j9" and res.done
    assert res.correlation_id and res.correlation_id.startswith("rhevop-")
    # The Correlation-Id header, which the engine reads first (restapi CurrentFilter); the
    # canned server echoes nothing back, and the client carries on.
    (start,) = c.calls("POST", API + "/vms/v1/start")
    assert start.headers["Correlation-Id"] == res.correlation_id
    assert "correlation_id" not in start.query
    assert start.body.endswith(b"<action/>")
    assert c.calls("POST", API + "/vms/v1/stop")[0].headers["Correlation-Id"] == "cid-1"
    client.vms.remove("v1", force=True)
    (delete,) = c.calls("DELETE", API + "/vms/v1")
    assert delete.query["force"] == ["true"] and delete.headers["Correlation-Id"]


def test_unexpected_content_is_protocol_error(canned: tuple[Canned, str]) -> None:
    c, base = canned
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN))
    c.on(
        "GET",
        API + "/hosts",
        (302, "text/html", b"", {"Location": "https://x/ovirt-engine/api/hosts"}),
    )
    c.on("GET", API + "/datacenters", (200, "text/html", b"hello", {}))
    c.on("GET", API + "/clusters", xml(200, DECL + "<vms/>"))
    client = make(base)
    with pytest.raises(errors.ProtocolError, match="expected XML"):
        client.datacenters.list()
    with pytest.raises(errors.ProtocolError, match="expected <clusters>"):
        client.clusters.list()
    with pytest.raises(errors.ProtocolError, match="redirected to https://x/ovirt-engine"):
        client.hosts.list()
    assert len(c.calls("GET", API + "/hosts")) == 1


def test_trace_logs_calls_with_secrets_masked(
    canned: tuple[Canned, str], caplog: pytest.LogCaptureFixture
) -> None:
    c, base = canned
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN))
    c.on("POST", API + "/hosts", xml(201, DECL + '<host id="h1"><name>h</name></host>'))
    c.on("POST", "/ovirt-engine/services/sso-logout", js(200, {}))
    logger = logging.getLogger("test.trace")
    cfg = ConnectionConfig(url=base + API, username="admin@internal", password="hunter2")
    client = RhevmClient(cfg, trace=True, logger=logger)
    with caplog.at_level(logging.INFO, logger="test.trace"):
        client.hosts.add(
            HostCreate(name="h", address="h.example", cluster_name="c", root_password="r00tpw")
        )
        client.close()
    text = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("hunter2", "tok-abc", "r00tpw"):
        assert secret not in text
    assert "<root_password>***</root_password>" in text
    assert "Authorization: ***" in text
    assert f"REST > POST {base}{API}/hosts [" in text and "Correlation-Id: rhevop-" in text
    assert "REST < 201 POST" in text and " ms" in text
    assert "<name>h</name>" in text  # bodies are traced
    assert all(r.levelno == logging.INFO for r in caplog.records if r.name == "test.trace")


def test_request_counters_by_method_and_template(canned: tuple[Canned, str]) -> None:
    c, base = canned
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN))
    c.on("GET", API + "/datacenters", xml(200, DCS))
    c.on("GET", API + "/datacenters/d1", xml(200, DC1))
    c.on("GET", API + "/datacenters/d2", xml(200, DC1))
    client = make(base)
    client.datacenters.list()
    client.datacenters.get("d1")
    client.datacenters.get("d2")
    assert dict(client.request_counts) == {
        ("POST", "sso/token"): 1,
        ("GET", "datacenters"): 1,
        ("GET", "datacenters/{id}"): 2,
    }


# --- TLS ----------------------------------------------------------------------------------


def _self_signed(tmp: Path, cn: str = "127.0.0.1") -> tuple[Path, Path, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    cert_path, key_path = tmp / f"{cn}.crt", tmp / f"{cn}.key"
    cert_path.write_bytes(pem)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path, pem.decode()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Canned, str, str]]:
    cert, key, pem = _self_signed(tmp_path)
    c = Canned()
    c.on("POST", "/ovirt-engine/sso/oauth/token", js(200, TOKEN))
    c.on("GET", API + "/datacenters", xml(200, DCS))
    srv = Server(c)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    try:
        yield c, f"https://127.0.0.1:{srv.server_address[1]}", pem
    finally:
        srv.shutdown()
        srv.server_close()


def test_tls_verified_against_ca_pem(tls_server: tuple[Canned, str, str]) -> None:
    _, base, pem = tls_server
    client = make(base, ca_pem=pem)
    assert len(client.datacenters.list()) == 2
    client.close()


def test_tls_unknown_ca_is_tls_error(tls_server: tuple[Canned, str, str], tmp_path: Path) -> None:
    _, base, _ = tls_server
    with pytest.raises(errors.TlsError) as info:
        make(base).datacenters.list()
    assert not info.value.retryable and "TLS verification failed" in str(info.value)
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    _, _, wrong = _self_signed(other_dir)
    with pytest.raises(errors.TlsError):
        make(base, ca_pem=wrong).datacenters.list()


def test_tls_insecure_skips_verification(tls_server: tuple[Canned, str, str]) -> None:
    _, base, _ = tls_server
    with pytest.warns(Warning):  # urllib3 warns about unverified HTTPS, as it should
        assert len(make(base, insecure=True).datacenters.list()) == 2


def test_ca_stays_in_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CA from the Secret is never written to a file: the Deployment's root filesystem is
    read-only."""
    import tempfile

    _, _, pem = _self_signed(tmp_path)

    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("the CA must not be written to a temporary file")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    monkeypatch.setattr(tempfile, "NamedTemporaryFile", refuse)
    client = make("https://127.0.0.1:9", ca_pem=pem)
    context = client.session._ssl_context
    assert context is not None and context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "127.0.0.1"),),)]
    client.close()

"""TLS: the client verifies the simulator's certificate against ca_pem, refuses an
unknown one with TlsError, and skips verification only with insecure=True."""

from __future__ import annotations

import datetime
import ipaddress
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509

from rhev_operator.rhevm import ConnectionConfig, RhevmClient, errors
from rhevsim.server import SimServer
from rhevsim.sim import Simulator


def self_signed(directory: Path) -> tuple[str, str, str]:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "rhevsim")])
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
    directory.mkdir(parents=True, exist_ok=True)
    pem = cert.public_bytes(serialization.Encoding.PEM).decode()
    (directory / "tls.crt").write_text(pem)
    (directory / "tls.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(directory / "tls.crt"), str(directory / "tls.key"), pem


@pytest.fixture
def tls_sim(tmp_path: Path) -> Iterator[tuple[str, str]]:
    cert, key, pem = self_signed(tmp_path / "server")
    server = SimServer(Simulator(None, clock="manual"), "127.0.0.1", 0, tls_cert=cert, tls_key=key)
    server.start()
    try:
        assert server.url.startswith("https://")
        yield server.url + "/ovirt-engine/api", pem
    finally:
        server.stop()


def client(url: str, **kw: object) -> RhevmClient:
    cfg = ConnectionConfig(
        url=url,
        username="admin@internal",
        password="admin",
        timeout=10.0,
        **kw,  # type: ignore[arg-type]
    )
    return RhevmClient(cfg)


def test_verified_with_the_ca_from_the_secret(tls_sim: tuple[str, str]) -> None:
    url, pem = tls_sim
    c = client(url, ca_pem=pem)
    assert c.datacenters.find("Default") is not None
    c.close()


def test_unknown_certificate_is_tls_error(tls_sim: tuple[str, str], tmp_path: Path) -> None:
    url, _ = tls_sim
    with pytest.raises(errors.TlsError) as info:
        client(url).datacenters.list()  # system CAs do not know the simulator
    assert not info.value.retryable and "TLS verification failed" in str(info.value)
    _, _, other_pem = self_signed(tmp_path / "other")
    with pytest.raises(errors.TlsError):
        client(url, ca_pem=other_pem).datacenters.list()


def test_insecure_skips_verification(tls_sim: tuple[str, str]) -> None:
    url, _ = tls_sim
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # urllib3's InsecureRequestWarning is expected here
        c = client(url, insecure=True)
        assert c.datacenters.find("Default") is not None
        c.close()


_NO_TMP_CLIENT = """
import json, sys, tempfile
from rhev_operator.rhevm import ConnectionConfig, RhevmClient
try:
    tempfile.mkstemp()
except OSError as exc:  # FileNotFoundError: No usable temporary directory found
    tmp_unusable = type(exc).__name__
else:
    raise SystemExit("a temporary directory is usable; the test proves nothing")
url, pem = sys.stdin.read().split("\\n", 1)
client = RhevmClient(ConnectionConfig(url=url, username="admin@internal", password="admin",
                                      ca_pem=pem, timeout=10.0))
found = client.datacenters.find("Default") is not None
client.close()
print(json.dumps({"tmp": tmp_unusable, "found": found}))
"""


def test_verified_without_a_writable_filesystem(tls_sim: tuple[str, str], tmp_path: Path) -> None:
    """As under the Deployment's readOnlyRootFilesystem: no temporary directory is usable and
    the working directory is not writable, and the client still verifies with the CA."""
    import json
    import os
    import subprocess
    import sys

    url, pem = tls_sim
    cwd = tmp_path / "readonly"
    cwd.mkdir()
    cwd.chmod(0o555)
    env = {k: v for k, v in os.environ.items() if k not in ("TMPDIR", "TEMP", "TMP")} | {
        "TMPDIR": "/nonexistent/tmp",
        "TEMP": "/nonexistent/tmp",
        "TMP": "/nonexistent/tmp",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONPATH": os.pathsep.join(p for p in sys.path if p),
    }
    # With TMPDIR missing, tempfile falls back to /tmp, /var/tmp or the cwd (root writes
    # through any mode bits): the child pins tempfile.tempdir to the missing directory.
    prelude = "import tempfile; tempfile.tempdir = '/nonexistent/tmp'\n"
    try:
        done = subprocess.run(
            [sys.executable, "-c", prelude + _NO_TMP_CLIENT],
            input=f"{url}\n{pem}",
            capture_output=True,
            text=True,
            cwd=cwd,
            env=env,
            timeout=60,
            check=False,
        )
    finally:
        cwd.chmod(0o755)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result == {"tmp": "FileNotFoundError", "found": True}

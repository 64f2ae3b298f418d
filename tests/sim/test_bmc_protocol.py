"""The simulated BMC on the wire: RMCP+ open-session cipher negotiation, checked with raw UDP.

pyghmi's client proposes SHA-256 (cipher suite 17) first and only retries with suite 3 when the
BMC refuses; pyghmi's server would accept and then speak SHA-1. Ours must refuse with 0x11.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator

import pytest

from tests.fixtures.bmc import Bmcs

pytestmark = pytest.mark.timeout(30)

SHA1_SUITE3 = (1, 1, 1)  # RAKP-HMAC-SHA1, HMAC-SHA1-96, AES-CBC-128
SHA256_SUITE17 = (3, 4, 1)  # RAKP-HMAC-SHA256, HMAC-SHA256-128, AES-CBC-128


def open_session_request(tag: int, console_sid: int, algorithms: tuple[int, int, int]) -> bytes:
    """An RMCP+ Open Session Request (IPMI 2.0 table 13-16) in an unauthenticated packet."""
    auth, integrity, confidentiality = algorithms
    payload = bytes([tag, 0, 0, 0]) + struct.pack("<I", console_sid)
    for kind, algorithm in ((0, auth), (1, integrity), (2, confidentiality)):
        payload += bytes([kind, 0, 0, 8, algorithm, 0, 0, 0])
    header = bytes([0x06, 0x00, 0xFF, 0x07, 0x06, 0x10]) + b"\0" * 8
    return header + struct.pack("<H", len(payload)) + payload


def exchange(sock: socket.socket, port: int, packet: bytes) -> bytes:
    sock.sendto(packet, ("127.0.0.1", port))
    data, _ = sock.recvfrom(1024)
    assert data[:4] == b"\x06\x00\xff\x07" and data[4] == 0x06
    assert data[5] & 0x3F == 0x11, "expected an RMCP+ Open Session Response"
    (length,) = struct.unpack("<H", data[14:16])
    return data[16 : 16 + length]


@pytest.fixture
def udp() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.settimeout(3)
    sock.bind(("127.0.0.1", 0))
    yield sock
    sock.close()


def test_sha256_proposal_is_refused_then_suite3_accepted(
    bmc_process: Bmcs, udp: socket.socket
) -> None:
    port = bmc_process.port("vm0")
    refused = exchange(udp, port, open_session_request(7, 0x11223344, SHA256_SUITE17))
    assert refused[0] == 7  # message tag echoed
    assert refused[1] == 0x11  # no cipher suite match with proposed security algorithms
    assert refused[4:8] == struct.pack("<I", 0x11223344)

    # Same client address again (now routed to the session object) proposing suite 3.
    accepted = exchange(udp, port, open_session_request(8, 0x11223345, SHA1_SUITE3))
    assert accepted[0] == 8
    assert accepted[1] == 0
    assert accepted[4:8] == struct.pack("<I", 0x11223345)
    assert accepted[8:12] != b"\0\0\0\0"  # the BMC's session id
    # The algorithms the BMC settled on: exactly suite 3.
    assert (accepted[16], accepted[24], accepted[32]) == SHA1_SUITE3


def test_suite3_proposal_is_accepted_at_once(bmc_process: Bmcs, udp: socket.socket) -> None:
    accepted = exchange(udp, bmc_process.port("vm1"), open_session_request(1, 42, SHA1_SUITE3))
    assert accepted[1] == 0


def test_mixed_proposal_is_refused(bmc_process: Bmcs, udp: socket.socket) -> None:
    # SHA-1 authentication with SHA-256 integrity is not suite 3 either.
    refused = exchange(udp, bmc_process.port("vm1"), open_session_request(2, 43, (1, 4, 1)))
    assert refused[1] == 0x11

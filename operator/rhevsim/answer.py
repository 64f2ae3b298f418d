"""One HTTP answer of the simulator (status, body, headers), independent of the server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any


@dataclass
class Answer:
    status: int
    body: bytes
    headers: list[tuple[str, str]]
    latency: float = 0.0
    reset: bool = False


def json_answer(status: int, data: Any, headers: list[tuple[str, str]] | None = None) -> Answer:
    body = json.dumps(data).encode()
    return Answer(status, body, [("Content-Type", "application/json"), *(headers or [])])

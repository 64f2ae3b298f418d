"""`rhev-operator dev-apiserver` as a process: kubeconfig, --crds, clean exit with open watches."""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

import pytest
import yaml

from tests.fixtures.kube import KUBECTL, WIDGET_CRD

CLI = Path(sys.executable).parent / "rhev-operator"


def start(tmp_path: Path, *extra: str) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [str(CLI), "dev-apiserver", "--port", "0", "--kubeconfig", str(tmp_path / "kc"), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 20
    seen = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        seen.append(line)
        if "dev-apiserver listening on " in line:
            return proc, line.split("listening on ")[1].strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise AssertionError(f"dev-apiserver did not start: {''.join(seen)}")


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serves_kubectl_and_exits_cleanly_with_open_watches(tmp_path: Path, sig: int) -> None:
    crds = tmp_path / "crds"
    crds.mkdir()
    (crds / "widgets.yaml").write_text(WIDGET_CRD)
    proc, url = start(tmp_path, "--crds", str(crds))
    try:
        assert url.startswith("http://127.0.0.1:")
        config = yaml.safe_load((tmp_path / "kc").read_text())
        assert config["clusters"][0]["cluster"]["server"] == url
        assert config["current-context"] and config["users"][0]["user"]["token"]

        env = {
            **os.environ,
            "KUBECONFIG": str(tmp_path / "kc"),
            "KUBECACHEDIR": str(tmp_path / "cache"),
        }
        result = subprocess.run(
            [str(KUBECTL), "get", "widgets"],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            check=False,
        )
        assert (
            result.returncode == 0 and "No resources found in default namespace." in result.stderr
        )

        parts = urllib.parse.urlsplit(url)
        conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
        conn.request("GET", "/apis/test.rhev.io/v1/widgets?watch=true")
        response = conn.getresponse()
        assert response.status == 200
        started = time.monotonic()
        proc.send_signal(sig)
        assert proc.wait(15) == 0
        assert time.monotonic() - started < 10
        conn.close()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_refuses_non_loopback(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(CLI), "dev-apiserver", "--host", "0.0.0.0", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "only loopback" in result.stderr

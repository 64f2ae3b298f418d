"""What the VM benchmark reads: the simulator's API and counters, the local Kubernetes API,
and a process's CPU time and memory from /proc."""

from __future__ import annotations

import base64
import json
import os
import platform
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from rhev_testbed.bench.apiserver import COUNTS_PATH

ADMIN, PASSWORD = "admin@internal", "admin"
GROUP = "rhev.io/v1alpha1"
NAMESPACE = "default"
WRITE_METHODS = ("POST", "PUT", "PATCH", "DELETE")

# -- reading the simulator, the local API and /proc ----------------------------------------


class Simulator:
    """The simulator's REST API as admin (Basic), and its /sim control endpoints."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.api = f"{url}/ovirt-engine/api"
        token = base64.b64encode(f"{ADMIN}:{PASSWORD}".encode()).decode()
        self.headers = {"Authorization": f"Basic {token}", "Accept": "application/xml"}

    def _call(self, method: str, path: str, body: bytes | None = None) -> bytes:
        headers = dict(self.headers)
        if body is not None:
            headers["Content-Type"] = "application/xml"
        request = urllib.request.Request(
            f"{self.api}{path}", data=body, headers=headers, method=method
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return bytes(response.read())

    def vms(self) -> dict[str, tuple[str, str]]:
        """name -> (id, status) of every VM."""
        root = ET.fromstring(self._call("GET", "/vms"))
        return {
            vm.findtext("name", ""): (vm.get("id", ""), vm.findtext("status", ""))
            for vm in root.findall("vm")
        }

    def vm_status(self, vm_id: str) -> str:
        return ET.fromstring(self._call("GET", f"/vms/{vm_id}")).findtext("status", "")

    def stop_vm(self, vm_id: str) -> None:
        self._call("POST", f"/vms/{vm_id}/stop", b"<action/>")

    def requests(self) -> int:
        """REST requests served so far, the /sim control endpoints left out."""
        with urllib.request.urlopen(f"{self.url}/sim/stats", timeout=30) as response:
            stats = json.loads(response.read())
        return sum(n for key, n in stats["requests"].items() if "/sim" not in key)


class KubeApi:
    """The local Kubernetes API, read directly (one request per call)."""

    def __init__(self, kubeconfig: Path) -> None:
        import yaml

        config = yaml.safe_load(kubeconfig.read_text())
        self.url = str(config["clusters"][0]["cluster"]["server"]).rstrip("/")
        token = config["users"][0]["user"].get("token")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def _get(self, path: str) -> Any:
        request = urllib.request.Request(f"{self.url}{path}", headers=self.headers)
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())

    def ready_vms(self) -> int:
        items = self._get(f"/apis/{GROUP}/namespaces/{NAMESPACE}/virtualmachines")["items"]
        return sum(
            any(
                c.get("type") == "Ready" and c.get("status") == "True"
                for c in (item.get("status") or {}).get("conditions") or []
            )
            for item in items
        )

    def writes(self) -> int | None:
        """Writes served so far (POST, PUT, PATCH, DELETE); None if the API cannot say."""
        try:
            counts = self._get(COUNTS_PATH)
        except (OSError, ValueError):
            return None
        return sum(int(counts.get(method, 0)) for method in WRITE_METHODS)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)),
        "cpu_model": model or platform.processor(),
        "python": platform.python_version(),
    }

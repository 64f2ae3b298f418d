"""`make run`: the embedded default. The simulator, a local Kubernetes API and the operator,
each its own process, with the CRDs registered and the seed's data center applied.

It only starts processes and runs kubectl: the operator itself talks to the simulator over
HTTP exactly as to a real RHEV-M.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "admin"


def _start(
    cmd: list[str], log: Path, ready: str, env: dict[str, str]
) -> tuple[subprocess.Popen[bytes], str]:
    handle = log.open("wb")
    proc = subprocess.Popen(cmd, stdout=handle, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(ready, log.read_text(errors="replace"))
        if found:
            return proc, found.group(0)
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"{cmd[2]} did not start; see {log}")


def _kubectl(env: dict[str, str], *args: str) -> str:
    kubectl = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or "kubectl"
    done = subprocess.run([kubectl, *args], env=env, capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def run_demo(once: bool = False, workdir: str = ".demo") -> int:
    work = (ROOT / workdir).resolve()
    work.mkdir(exist_ok=True)
    kubeconfig = work / "kubeconfig"
    env = dict(os.environ, KUBECONFIG=str(kubeconfig), KUBECACHEDIR=str(work / "kube-cache"))
    py = sys.executable
    procs: list[subprocess.Popen[bytes]] = []
    try:
        sim, line = _start(
            [
                py,
                "-m",
                "rhevsim",
                "serve",
                "--port",
                "0",
                "--time-scale",
                "20",
                "--admin-password",
                PASSWORD,
            ],
            work / "rhevsim.log",
            r"http://127\.0\.0\.1:\d+",
            env,
        )
        procs.append(sim)
        sim_url = line
        api, _ = _start(
            [
                py,
                "-m",
                "rhev_operator.cli",
                "dev-apiserver",
                "--port",
                "0",
                "--kubeconfig",
                str(kubeconfig),
                "--crds",
                str(ROOT / "crds"),
            ],
            work / "apiserver.log",
            r"listening on http://127\.0\.0\.1:\d+",
            env,
        )
        procs.append(api)
        op_env = dict(env, RHEVM_USERNAME="admin@internal", RHEVM_PASSWORD=PASSWORD)
        operator, _ = _start(
            [
                py,
                "-m",
                "rhev_operator.cli",
                "run",
                "--standalone",
                "--all-namespaces",
                "--rhevm-url",
                f"{sim_url}/ovirt-engine/api",
                "--resync-seconds",
                "2",
                "--poll-seconds",
                "1",
                "--verbose",
            ],
            work / "operator.log",
            r"Starting the watch-stream for rhevdatacenters",
            op_env,
        )
        procs.append(operator)
        print(_kubectl(env, "apply", "-f", str(ROOT / "manifests/samples/10-datacenter-mydc.yaml")))
        print(_kubectl(env, "wait", "--for=condition=Ready", "rdc/mydc", "--timeout=60s"))
        print(_kubectl(env, "get", "rdc"))
        if once:
            return 0
        print(
            f"RHEV-M simulator: {sim_url}/ovirt-engine/api (admin@internal / {PASSWORD})\n"
            f"Kubernetes API:   export KUBECONFIG={kubeconfig}\n"
            f"Logs:             {work}/operator.log, rhevsim.log, apiserver.log\n"
            "Try:              kubectl get rhev; kubectl apply -f manifests/samples/\n"
            "Stop with Ctrl-C."
        )
        stop = {signal.SIGINT, signal.SIGTERM}
        signal.pthread_sigmask(signal.SIG_BLOCK, stop)
        signal.sigwait(stop)
        return 0
    finally:
        for proc in reversed(procs):
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()

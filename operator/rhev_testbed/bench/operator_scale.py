"""Operator scale benchmark: does the RHEV-M load grow with the number of resources?

Starts the simulator, the local Kubernetes API and the operator (each a process, as in
the e2e tests), applies N RhevDataCenter resources, times until all are Ready, then counts
the REST requests the operator sends to RHEV-M over a steady-state window (from the
simulator's /sim/stats) and the operator's resident memory. Prints figures; asserts nothing.

    rhev-operator bench --resources 10 100 --window 20
"""

from __future__ import annotations

import argparse
import json
import re
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from rhev_testbed.demo import write_crds_to

BIN = Path(sys.executable).parent


def start(
    cmd: list[str], log: Path, ready: str, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str]:
    proc = subprocess.Popen(cmd, stdout=log.open("wb"), stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = re.search(ready, log.read_text(errors="replace"))
        if found:
            return proc, found.group(0)
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{cmd[0]} did not start: {log.read_text()[-2000:]}")


def sim_requests(sim_url: str) -> int:
    with urllib.request.urlopen(f"{sim_url}/sim/stats", timeout=10) as response:
        stats = json.loads(response.read())
    return sum(n for key, n in stats["requests"].items() if "/sim" not in key)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def kubectl(env: dict[str, str], *args: str, data: str | None = None) -> str:
    done = subprocess.run(
        [str(BIN / "kubectl"), *args],
        env=env,
        input=data,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def run(resources: int, window: float, resync: float, poll: float) -> dict[str, float]:
    work = Path(tempfile.mkdtemp(prefix="rhev-bench-"))
    kubeconfig = work / "kubeconfig"
    env = {
        "PATH": str(BIN),
        "HOME": str(work),
        "KUBECONFIG": str(kubeconfig),
        "KUBECACHEDIR": str(work / "cache"),
    }
    procs = []
    try:
        sim, url = start(
            [str(BIN / "rhevsim"), "serve", "--port", "0", "--no-bmc"],
            work / "sim.log",
            r"http://127\.0\.0\.1:\d+",
        )
        procs.append(sim)
        api, _ = start(
            [
                str(BIN / "rhev-operator"),
                "dev-apiserver",
                "--port",
                "0",
                "--kubeconfig",
                str(kubeconfig),
                "--crds",
                str(write_crds_to(work / "crds")),
            ],
            work / "api.log",
            r"listening on",
        )
        procs.append(api)
        op_env = dict(env, RHEVM_USERNAME="admin@internal", RHEVM_PASSWORD="admin")
        operator, _ = start(
            [
                str(BIN / "rhev-operator"),
                "run",
                "--standalone",
                "-A",
                "--rhevm-url",
                f"{url}/ovirt-engine/api",
                "--resync-seconds",
                str(resync),
                "--poll-seconds",
                str(poll),
            ],
            work / "operator.log",
            r"Initial authentication has finished",
            op_env,
        )
        procs.append(operator)
        docs = "\n---\n".join(
            f"apiVersion: rhev.io/v1alpha1\nkind: RhevDataCenter\nmetadata: {{name: dc{i}}}\n"
            "spec: {storageType: nfs}"
            for i in range(resources)
        )
        started = time.monotonic()
        kubectl(env, "apply", "-f", "-", data=docs)
        kubectl(env, "wait", "--for=condition=Ready", "rdc", "--all", "--timeout=600s")
        converge = time.monotonic() - started
        time.sleep(min(5.0, window / 4))  # let the creation burst settle
        before = sim_requests(url)
        time.sleep(window)
        steady = (sim_requests(url) - before) / window
        return {
            "resources": resources,
            "converge_s": round(converge, 2),
            "rest_requests_per_s": round(steady, 2),
            "operator_rss_mb": round(rss_mb(operator.pid), 1),
        }
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="rhev-operator bench", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--resources", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--window", type=float, default=20.0, help="steady-state seconds")
    parser.add_argument("--resync-seconds", type=float, default=10.0)
    parser.add_argument("--poll-seconds", type=float, default=5.0)
    args = parser.parse_args(argv)
    print(
        f"resync {args.resync_seconds} s, RHEV-M poll {args.poll_seconds} s, window {args.window} s"
    )
    print(f"{'resources':>10} {'converge s':>11} {'REST req/s':>11} {'operator RSS MB':>16}")
    for n in args.resources:
        row = run(n, args.window, args.resync_seconds, args.poll_seconds)
        print(
            f"{row['resources']:>10} {row['converge_s']:>11} {row['rest_requests_per_s']:>11}"
            f" {row['operator_rss_mb']:>16}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())

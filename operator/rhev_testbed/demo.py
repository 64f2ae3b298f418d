"""`make run`: the embedded default. The simulator (with two powered-off machines and their
BMCs), a local Kubernetes API and the operator, each its own process, with the CRDs
registered and the seed's environment of the xCAT guide applied: data center, cluster, VLAN
network, two RHEV-H hypervisors booted over IPMI, two NFS data domains and a VM.

It only starts processes and runs kubectl: the operator itself talks to the simulator over
HTTP exactly as to a real RHEV-M, and to the BMCs over IPMI (UDP).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from rhev_operator.api.crdgen import crd_texts
from rhev_testbed.processes import free_udp_port, kubectl, start_process

SEED = Path(__file__).resolve().parent / "seed"  # package data: works from an installed wheel
PASSWORD = "admin"
BMC_USER, BMC_PASSWORD = "admin", "bmc-demo"
MACHINES = ("rhevh1", "rhevh2")


def _inventory(ports: dict[str, int]) -> dict[str, object]:
    """Two machines, powered off, each with a BMC on loopback; nothing else."""
    return {
        "machines": [
            {
                "name": name,
                "address": f"{name}.cluster.example",
                "nics": [
                    {"name": "eth0", "mac": f"52:54:00:00:30:{i:02x}"},
                    {"name": "eth1", "mac": f"52:54:00:00:31:{i:02x}"},
                ],
                "bmc": {"port": ports[name], "username": BMC_USER, "password": BMC_PASSWORD},
            }
            for i, name in enumerate(MACHINES)
        ]
    }


def _seed(ports: dict[str, int]) -> str:
    """The seed's environment, with the BMCs' loopback ports."""
    docs = [
        f"""apiVersion: v1
kind: Secret
metadata: {{name: bmc}}
stringData: {{username: {BMC_USER}, password: {BMC_PASSWORD}}}""",
        (SEED / "10-datacenter-mydc.yaml").read_text(),
        (SEED / "20-cluster-mycluster.yaml").read_text(),
        (SEED / "30-network-rhevm2.yaml").read_text(),
    ]
    for i, name in enumerate(MACHINES):
        docs.append(f"""apiVersion: rhev.io/v1alpha1
kind: Hypervisor
metadata: {{name: {name}}}
spec:
  address: {name}.cluster.example
  cluster: mycluster
  spmPriority: {8 - i}
  interfaces:
  - {{network: rhevm2, nic: eth1, bootProtocol: static, ip: 10.1.0.{236 + i},
      netmask: 255.255.255.0}}
  bmc: {{address: 127.0.0.1, port: {ports[name]}, credentialsSecret: bmc}}
  provision: {{bootDevice: network, powerOn: true}}""")
    for name, host, path in (("image", "rhevh1", "/vfsimg"), ("data2", "rhevh2", "/data2")):
        docs.append(f"""apiVersion: rhev.io/v1alpha1
kind: StorageDomain
metadata: {{name: {name}}}
spec:
  dataCenter: mydc
  storageType: nfs
  nfs: {{address: nfs.example, path: {path}}}
  host: {host}""")
    docs.append((SEED / "60-virtualmachine-hkvm1.yaml").read_text())
    return "\n---\n".join(doc.strip() for doc in docs) + "\n"


def write_crds_to(folder: Path) -> Path:
    """The CRDs, generated from the installed operator's models (no source tree needed)."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in crd_texts().items():
        (folder / name).write_text(text)
    return folder


def run_demo(once: bool = False, workdir: str = ".demo", time_scale: float = 20.0) -> int:
    work = Path(workdir).resolve()
    work.mkdir(parents=True, exist_ok=True)
    crds = write_crds_to(work / "crds")
    kubeconfig = work / "kubeconfig"
    env = dict(os.environ, KUBECONFIG=str(kubeconfig), KUBECACHEDIR=str(work / "kube-cache"))
    py = sys.executable
    ports = {name: free_udp_port() for name in MACHINES}
    inventory = work / "inventory.json"
    inventory.write_text(json.dumps(_inventory(ports), indent=2))
    seed = work / "seed.yaml"
    seed.write_text(_seed(ports))
    procs: list[subprocess.Popen[bytes]] = []
    try:
        sim, line = start_process(
            [
                py,
                "-m",
                "rhevsim",
                "serve",
                "--port",
                "0",
                "--time-scale",
                str(time_scale),
                "--admin-password",
                PASSWORD,
                "--inventory",
                str(inventory),
            ],
            work / "rhevsim.log",
            r"http://127\.0\.0\.1:\d+",
            env,
        )
        procs.append(sim)
        sim_url = line
        api, _ = start_process(
            [
                py,
                "-m",
                "rhev_testbed.cli",
                "dev-apiserver",
                "--port",
                "0",
                "--kubeconfig",
                str(kubeconfig),
                "--crds",
                str(crds),
            ],
            work / "apiserver.log",
            r"listening on http://127\.0\.0\.1:\d+",
            env,
        )
        procs.append(api)
        op_env = dict(env, RHEVM_USERNAME="admin@internal", RHEVM_PASSWORD=PASSWORD)
        operator, _ = start_process(
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
        print(kubectl(env, "apply", "-f", str(seed)))
        if once:
            # Wait for everything, show it, stop: the check that `make test` runs.
            print(kubectl(env, "wait", "--for=condition=Ready", "rhev", "--all", "--timeout=600s"))
            print(kubectl(env, "get", "rhev", "-o", "wide"))
            return 0
        print(
            f"RHEV-M simulator: {sim_url}/ovirt-engine/api (admin@internal / {PASSWORD})\n"
            f"Kubernetes API:   export KUBECONFIG={kubeconfig} "
            f"PATH={Path(sys.executable).parent}:$PATH  # kubectl is in .venv/bin\n"
            f"The seed:         {seed} (applied; the hosts boot over IPMI, converging in ~1 min)\n"
            f"Logs:             {work}/operator.log, rhevsim.log, apiserver.log\n"
            "Try:              kubectl get rhev -o wide; kubectl wait --for=condition=Ready "
            "rvm/hkvm1 --timeout=300s\n"
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

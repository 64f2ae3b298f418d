"""The operator benchmark: N VirtualMachines against the simulator, in one run.

    rhev-operator bench --vms N [--hosts H] [--json FILE] [--operator-arg=--flag ...]

Three processes, as in the demo: the simulator (a generated inventory: one data center, one
cluster, H Up hosts, an active NFS data domain, no VMs), the local Kubernetes API and the
operator as installed (only `--standalone -A --rhevm-url`, plus `--resync-seconds` and
`--poll-seconds` when given and every `--operator-arg`). The bench applies resources that adopt
the data center, cluster and domain, and N VirtualMachines (Blank, one 4Gi disk on the NFS
domain, 1Gi, Running), then measures:

- ready_seconds: from `kubectl apply` to all VirtualMachines Ready (one list a second);
- requests_per_min, idle_cpu_pct, kube_writes_per_min: the operator's RHEV-M requests (from
  the simulator's /sim/stats), its CPU (share of one core) and its Kubernetes writes over a
  steady-state window after all are Ready; rss_mb, its resident memory after the window;
- baseline_requests_per_min: per-object polling (one GET /vms/{id} per object every 3 s, the
  way the Ansible modules wait) for N objects: N * 20 a minute; one GET of a sample of VMs is
  timed on the same simulator (baseline_get_ms) and scaled to N (baseline_busy_pct: the
  simulator's time answering them, as a share of one core);
- change_latency_median_s / _max_s: a Running VM is stopped behind the operator's back (REST,
  as admin), one VM at a time, until the simulator shows it up again;
- direct_seconds: the same N VMs created and started directly through the official SDK
  (16 threads, polling every 0.5 s) on a fresh simulator with the same inventory; ratio =
  ready_seconds / direct_seconds.

Prints a table and, with --json, writes the figures. Asserts nothing: figures, never
thresholds.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rhev_testbed.bench import direct
from rhev_testbed.bench.probes import (
    ADMIN,
    GROUP,
    PASSWORD,
    KubeApi,
    Simulator,
    cpu_seconds,
    machine,
    rss_mb,
)
from rhev_testbed.demo import write_crds_to
from rhev_testbed.processes import kubectl, start_process

BIN = Path(sys.executable).parent
VM_MEMORY_MIB = 1024
VM_OVERHEAD_MIB = 64  # the engine adds the guest's overhead to what it schedules
HOST_USABLE = 0.9  # and keeps some of each host's memory for itself
BASELINE_PERIOD = 3.0  # seconds between the GETs of one object in the baseline
BASELINE_SAMPLE = 20

KEYS = (
    "n",
    "hosts",
    "ready_seconds",
    "direct_seconds",
    "ratio",
    "requests_per_min",
    "baseline_requests_per_min",
    "change_latency_median_s",
    "change_latency_max_s",
    "rss_mb",
    "idle_cpu_pct",
)


def log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


# -- the inventory -------------------------------------------------------------------------


def host_memory_mib(inventory: dict[str, Any]) -> int:
    """The memory of the builder's hosts: their `memory_gib`, else the simulator's default."""
    from rhevsim.hypervisor import Host

    for host in inventory.get("hosts") or []:
        if "memory_gib" in host:
            return int(host["memory_gib"]) * 1024
    return int(Host.memory) // (1024 * 1024)  # the dataclass default


def hosts_for(vms: int) -> int:
    """Enough Up hosts for `vms` running VMs of 1 GiB without overcommitting memory."""
    from rhevsim.builder import build_inventory

    per_host = int(host_memory_mib(build_inventory(hosts=1)) * HOST_USABLE) // (
        VM_MEMORY_MIB + VM_OVERHEAD_MIB
    )
    return max(1, math.ceil(vms / max(1, per_host)))


@dataclasses.dataclass(frozen=True)
class Site:
    """The builder's names for what the resources adopt."""

    datacenter: str
    cluster: str
    domain: str
    nfs_address: str
    nfs_path: str
    network: str


def inventory_for(hosts: int, seed: int) -> tuple[dict[str, Any], Site]:
    from rhevsim.builder import build_inventory

    inv = build_inventory(hosts=hosts, vms=0, seed=seed)
    dc = inv["datacenters"][0]["name"]
    cluster = next(c["name"] for c in inv["clusters"] if c.get("data_center") == dc)
    domain = next(
        d
        for d in inv["storage_domains"]
        if d.get("data_center") == dc
        and d.get("type", "data") == "data"
        and d.get("storage", {}).get("type") == "nfs"
    )
    site = Site(
        datacenter=dc,
        cluster=cluster,
        domain=domain["name"],
        nfs_address=domain["storage"]["address"],
        nfs_path=domain["storage"]["path"],
        network=inv.get("engine", {}).get("management_network", "rhevm"),
    )
    return inv, site


def k8s_name(name: str) -> str:
    return re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-") or "x"


def vm_name(i: int) -> str:
    return f"bench-vm{i + 1:05d}"


def manifests(site: Site, vms: int) -> str:
    """The resources: adopt the data center, cluster and domain (Retain), then N VMs."""
    dc, cl, sd = k8s_name(site.datacenter), k8s_name(site.cluster), k8s_name(site.domain)
    adopt = "adopt: true\n  deletionPolicy: Retain"
    docs = [
        f"apiVersion: {GROUP}\nkind: RhevDataCenter\nmetadata: {{name: {dc}}}\n"
        f"spec:\n  name: {site.datacenter}\n  storageType: nfs\n  {adopt}",
        f"apiVersion: {GROUP}\nkind: RhevCluster\nmetadata: {{name: {cl}}}\n"
        f"spec:\n  name: {site.cluster}\n  dataCenter: {dc}\n  {adopt}",
        f"apiVersion: {GROUP}\nkind: StorageDomain\nmetadata: {{name: {sd}}}\n"
        f"spec:\n  name: {site.domain}\n  dataCenter: {dc}\n  storageType: nfs\n"
        f"  nfs: {{address: {site.nfs_address}, path: {site.nfs_path}}}\n  {adopt}",
    ]
    for i in range(vms):
        docs.append(
            f"apiVersion: {GROUP}\nkind: VirtualMachine\nmetadata: {{name: {vm_name(i)}}}\n"
            f"spec:\n  cluster: {cl}\n  template: Blank\n  memory: {VM_MEMORY_MIB}Mi\n"
            f"  disks:\n  - {{storageDomain: {sd}, size: 4Gi, type: system}}\n"
            "  powerState: Running"
        )
    return "\n---\n".join(docs) + "\n"


# -- processes -----------------------------------------------------------------------------


class Processes:
    """The bench's child processes, each logging to a file of the work folder."""

    def __init__(self, work: Path, env: dict[str, str]) -> None:
        self.work = work
        self.env = env
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(
        self, name: str, cmd: list[str], ready: str, env: dict[str, str] | None = None
    ) -> tuple[subprocess.Popen[bytes], str]:
        proc, found = start_process(
            cmd, self.work / f"{name}.log", ready, env or self.env, timeout=120
        )
        self.procs[name] = proc
        return proc, found

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop_all(self) -> None:
        for name in reversed(list(self.procs)):
            self.stop(name)


def start_simulator(procs: Processes, name: str, inventory: Path, time_scale: float) -> str:
    _, url = procs.start(
        name,
        [
            str(BIN / "rhevsim"),
            "serve",
            "--port",
            "0",
            "--no-bmc",
            "--seed",
            "1",
            "--time-scale",
            str(time_scale),
            "--admin-password",
            PASSWORD,
            "--inventory",
            str(inventory),
        ],
        r"http://127\.0\.0\.1:\d+",
    )
    return url


# -- the run -------------------------------------------------------------------------------


@dataclasses.dataclass
class Options:
    vms: int
    hosts: int
    time_scale: float
    window: float
    settle: float
    changes: int
    threads: int
    timeout: float
    resync_seconds: float | None
    poll_seconds: float | None
    operator_args: list[str]
    seed: int


def operator_command(url: str, opts: Options) -> list[str]:
    cmd = [str(BIN / "rhev-operator"), "run", "--standalone", "-A", "--rhevm-url", url]
    if opts.resync_seconds is not None:
        cmd += ["--resync-seconds", f"{opts.resync_seconds:g}"]
    if opts.poll_seconds is not None:
        cmd += ["--poll-seconds", f"{opts.poll_seconds:g}"]
    return cmd + opts.operator_args


def wait_ready(kube: KubeApi, n: int, timeout: float, started: float) -> float:
    last = -1
    while True:
        ready = kube.ready_vms()
        if ready != last:
            log(f"{ready}/{n} VirtualMachines Ready after {time.monotonic() - started:.1f} s")
            last = ready
        if ready >= n:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise SystemExit(f"only {ready} of {n} VirtualMachines Ready after {timeout:.0f} s")
        time.sleep(1.0)


def change_latencies(sim: Simulator, names: list[str], changes: int, timeout: float) -> list[float]:
    """Stop Running VMs behind the operator's back, one at a time; time until up again."""
    vms = sim.vms()
    latencies = []
    for i in range(changes):
        name = names[i % len(names)]
        vm_id, status = vms[name]
        if status != "up":
            raise SystemExit(f"VM {name} is {status}, not up, before the change")
        started = time.monotonic()
        sim.stop_vm(vm_id)
        while sim.vm_status(vm_id) != "up":
            if time.monotonic() - started > timeout:
                raise SystemExit(f"the operator did not start {name} again in {timeout:.0f} s")
            time.sleep(0.1)
        latencies.append(time.monotonic() - started)
        log(f"change {i + 1}/{changes}: {name} up again after {latencies[-1]:.2f} s")
    return latencies


def baseline_get_seconds(sim: Simulator, names: list[str]) -> float:
    """The median time of one GET /vms/{id} over a sample of VMs."""
    ids = [vm_id for name, (vm_id, _) in sim.vms().items() if name in set(names)]
    times = []
    for vm_id in ids[:BASELINE_SAMPLE]:
        started = time.perf_counter()
        sim.vm_status(vm_id)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


@contextmanager
def workdir(keep: str | None) -> Iterator[Path]:
    if keep:
        path = Path(keep).resolve()
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    path = Path(tempfile.mkdtemp(prefix="rhev-bench-"))
    try:
        yield path
    except BaseException:
        log(f"failed; logs kept in {path}")
        raise
    shutil.rmtree(path, ignore_errors=True)


def run(opts: Options, work: Path) -> dict[str, Any]:
    inv, site = inventory_for(opts.hosts, opts.seed)
    inventory = work / "inventory.json"
    inventory.write_text(json.dumps(inv, indent=1))
    kubeconfig = work / "kubeconfig"
    env = dict(
        os.environ,
        KUBECONFIG=str(kubeconfig),
        KUBECACHEDIR=str(work / "kube-cache"),
        HOME=str(work),
    )
    names = [vm_name(i) for i in range(opts.vms)]
    result: dict[str, Any] = {"n": opts.vms, "hosts": opts.hosts}
    procs = Processes(work, env)
    try:
        sim = Simulator(start_simulator(procs, "rhevsim", inventory, opts.time_scale))
        procs.start(
            "apiserver",
            [
                sys.executable,
                "-m",
                "rhev_testbed.bench.apiserver",
                "--kubeconfig",
                str(kubeconfig),
                "--crds",
                str(write_crds_to(work / "crds")),
            ],
            r"listening on",
        )
        kube = KubeApi(kubeconfig)
        command = operator_command(sim.api, opts)
        operator, _ = procs.start(
            "operator",
            command,
            r"Initial authentication has finished",
            dict(env, RHEVM_USERNAME=ADMIN, RHEVM_PASSWORD=PASSWORD),
        )
        result["operator_command"] = " ".join(["rhev-operator", *command[1:]])
        (work / "resources.yaml").write_text(manifests(site, opts.vms))
        log(f"applying {opts.vms} VirtualMachines ({opts.hosts} hosts)")
        started = time.monotonic()
        kubectl(env, "apply", "-f", str(work / "resources.yaml"), check=True)
        result["ready_seconds"] = round(wait_ready(kube, opts.vms, opts.timeout, started), 2)

        log(f"all Ready; settling {opts.settle:g} s, then a {opts.window:g} s steady window")
        time.sleep(opts.settle)
        requests0, writes0, cpu0 = sim.requests(), kube.writes(), cpu_seconds(operator.pid)
        t0 = time.monotonic()
        time.sleep(opts.window)
        requests1, writes1, cpu1 = sim.requests(), kube.writes(), cpu_seconds(operator.pid)
        elapsed = time.monotonic() - t0
        per_min = 60.0 / elapsed
        result["requests_per_min"] = round((requests1 - requests0) * per_min, 1)
        result["idle_cpu_pct"] = round(100.0 * (cpu1 - cpu0) / elapsed, 2)
        result["rss_mb"] = round(rss_mb(operator.pid), 1)
        if writes0 is not None and writes1 is not None:
            result["kube_writes_per_min"] = round((writes1 - writes0) * per_min, 1)

        get_s = baseline_get_seconds(sim, names)
        result["baseline_requests_per_min"] = round(opts.vms * 60.0 / BASELINE_PERIOD, 1)
        result["baseline_get_ms"] = round(get_s * 1000, 2)
        result["baseline_busy_pct"] = round(100.0 * get_s * opts.vms / BASELINE_PERIOD, 1)
        result["baseline_note"] = (
            f"per-object polling, one GET /vms/{{id}} per object every {BASELINE_PERIOD:g} s: "
            f"N*{60 / BASELINE_PERIOD:g}/min; GET cost sampled on "
            f"{min(BASELINE_SAMPLE, opts.vms)} VMs and scaled to N"
        )

        latencies = change_latencies(sim, names, opts.changes, opts.timeout)
        result["change_latency_median_s"] = round(statistics.median(latencies), 2)
        result["change_latency_max_s"] = round(max(latencies), 2)
    finally:
        procs.stop_all()

    log(f"direct reference: {opts.vms} VMs through ovirtsdk4 on a fresh simulator")
    try:
        fresh = Simulator(start_simulator(procs, "rhevsim-direct", inventory, opts.time_scale))
        result["direct_seconds"] = round(
            direct.create_and_start(
                fresh.api,
                names,
                direct.DirectVm(
                    cluster=site.cluster,
                    storage_domain=site.domain,
                    network=site.network,
                    memory=VM_MEMORY_MIB * 1024 * 1024,
                ),
                username=ADMIN,
                password=PASSWORD,
                threads=opts.threads,
                timeout=opts.timeout,
            ),
            2,
        )
    finally:
        procs.stop_all()
    result["ratio"] = round(result["ready_seconds"] / result["direct_seconds"], 2)
    result.update(
        time_scale=opts.time_scale,
        window_s=opts.window,
        changes=opts.changes,
        machine=machine(),
    )
    return result


ROWS = (
    ("VirtualMachines", "n", ""),
    ("hosts (Up)", "hosts", ""),
    ("apply to all Ready", "ready_seconds", "s"),
    ("direct, ovirtsdk4 16 threads", "direct_seconds", "s"),
    ("ratio operator / direct", "ratio", "x"),
    ("RHEV-M requests, steady", "requests_per_min", "/min"),
    ("baseline: per-object polling 3 s*", "baseline_requests_per_min", "/min"),
    ("baseline: one GET /vms/{id}", "baseline_get_ms", "ms"),
    ("Kubernetes writes, steady", "kube_writes_per_min", "/min"),
    ("operator CPU, steady", "idle_cpu_pct", "% of a core"),
    ("operator RSS", "rss_mb", "MB"),
    ("change to correction, median", "change_latency_median_s", "s"),
    ("change to correction, max", "change_latency_max_s", "s"),
)


def table(result: dict[str, Any]) -> str:
    m = result["machine"]
    lines = [
        f"rhev-operator bench: {result['n']} VMs, time scale {result['time_scale']:g}, "
        f"steady window {result['window_s']:g} s, {result['changes']} changes; "
        f"{m['nproc']} CPUs ({m['cpu_model']})",
        f"operator: {result['operator_command']}",
        "",
        f"{'figure':<36} {'value':>10}  unit",
    ]
    for label, key, unit in ROWS:
        value = result.get(key, "n/a")
        lines.append(f"{label:<36} {value!s:>10}  {unit}")
    lines.append(f"* {result['baseline_note']}")
    if "kube_writes_per_min" not in result:
        lines.append("Kubernetes writes: the local API did not report its request counts")
    return "\n".join(lines)


def parse_args(argv: Sequence[str] | None) -> tuple[Options, argparse.Namespace]:
    parser = argparse.ArgumentParser(
        prog="rhev-operator bench",
        description=__doc__.splitlines()[0],
        epilog="Flags for the operator that start with -- need the = form: "
        "--operator-arg=--verbose.",
    )
    parser.add_argument("--vms", type=int, required=True, help="VirtualMachines to apply")
    parser.add_argument("--hosts", type=int, help="Up hosts (default: enough for the VMs)")
    parser.add_argument("--json", help="write the figures to FILE")
    parser.add_argument("--time-scale", type=float, default=20.0, help="simulator speed-up")
    parser.add_argument("--window", type=float, default=30.0, help="steady-state seconds")
    parser.add_argument("--settle", type=float, default=5.0, help="seconds after all Ready")
    parser.add_argument("--changes", type=int, default=10, help="out-of-band stops to time")
    parser.add_argument("--threads", type=int, default=16, help="SDK threads (direct)")
    parser.add_argument("--timeout", type=float, help="seconds for each wait (default scales)")
    parser.add_argument("--resync-seconds", type=float, help="passed to the operator if set")
    parser.add_argument("--poll-seconds", type=float, help="passed to the operator if set")
    parser.add_argument(
        "--operator-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="an extra argument for `rhev-operator run` (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=1, help="the inventory builder's seed")
    parser.add_argument("--workdir", help="keep logs and files here (default: a temp folder)")
    args = parser.parse_args(argv)
    if args.vms < 1 or args.changes < 1 or args.window <= 0:
        parser.error("--vms and --changes must be >= 1, --window > 0")
    if args.hosts is not None and args.hosts < 1:
        parser.error("--hosts must be >= 1")
    opts = Options(
        vms=args.vms,
        hosts=args.hosts or hosts_for(args.vms),
        time_scale=args.time_scale,
        window=args.window,
        settle=args.settle,
        changes=args.changes,
        threads=args.threads,
        timeout=args.timeout or 300.0 + 2.0 * args.vms,
        resync_seconds=args.resync_seconds,
        poll_seconds=args.poll_seconds,
        operator_args=list(args.operator_arg),
        seed=args.seed,
    )
    return opts, args


def main(argv: Sequence[str] | None = None) -> int:
    opts, args = parse_args(argv)
    if not direct.sdk_available():
        print(direct.MISSING_SDK, file=sys.stderr)
        return 2
    with workdir(args.workdir) as work:
        result = run(opts, work)
    print(table(result), flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

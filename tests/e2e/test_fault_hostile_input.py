"""Hostile input through the whole path: kubectl apply -> local API -> operator -> RHEV-M.

One simulator (an Up host, an active NFS domain, a running VM) and one operator run with
`--trace-rest --verbose`; every bad resource of the table is applied at once and each must
end `Stalled` naming its field, or wait (`WaitingForDependency`, naming what it waits for),
and never become Ready. The simulator's view is the same afterwards (no object created,
changed or removed) and no change was accepted by RHEV-M. Then every password, token and
BMC credential the run used is searched for in the operator's log (REST trace included),
the Events, every resource (status and kopf's `rhev.io/` annotations) and the liveness
answer: zero hits.

The 23 specs of tests/unit/invalid_specs that the CRD schema accepts (only the models can
refuse them) are part of the table; the schema-refused ones are not counted here.
"""

from __future__ import annotations

import base64
import json
import textwrap
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from lxml import etree

from rhevsim.bmc import BmcProcess, spawn
from rhevsim.builder import build_inventory
from tests.fixtures.bmc import machine_entries
from tests.fixtures.operator import E2E, SIM_PASSWORD

pytestmark = pytest.mark.timeout(600)

CORPUS = Path(__file__).resolve().parents[1] / "unit" / "invalid_specs"
CONN_PASSWORD = "Hostile-Conn-S3cret"
BMC_PASSWORD = "Hostile-Bmc-S3cret"
ROOT_PASSWORD = "Hostile-Root-S3cret"
#: The garbage BMC's own credentials (it never gets to check them).
GARBAGE_BMC_PASSWORD = "Garbage-Bmc-S3cret"
GARBAGE = machine_entries(["garbagebmc"], password=GARBAGE_BMC_PASSWORD)
GARBAGE[0]["bmc"]["garbage"] = True

INVENTORY = build_inventory(hosts=1, vms=2, seed=1)
INVENTORY["vms"][0]["status"] = "up"  # vm0001: a running VM in RHEV-M (no resource)
COLLECTIONS = (
    "datacenters",
    "clusters",
    "networks",
    "vnicprofiles",
    "storagedomains",
    "hosts",
    "vms",
    "templates",
    "disks",
)
KIND = {
    "rdc": "RhevDataCenter",
    "rcl": "RhevCluster",
    "lnet": "LogicalNetwork",
    "rsd": "StorageDomain",
    "hv": "Hypervisor",
    "rvm": "VirtualMachine",
    "vmt": "VmTemplate",
}
SHORT = {v: k for k, v in KIND.items()}


def b64(raw: str | bytes) -> str:
    return base64.b64encode(raw.encode() if isinstance(raw, str) else raw).decode()


@dataclass
class Case:
    """One bad resource: what is applied, and what its conditions must say."""

    id: str
    kind: str  # short name
    name: str
    spec: dict[str, Any]
    outcome: str  # "stall", "wait" or "refuse" (by the API server, naming the field)
    names: str  # a fragment the Stalled / Ready message must hold (the field or the reference)
    reason: str | None = None

    def document(self) -> dict[str, Any]:
        return {
            "apiVersion": "rhev.io/v1alpha1",
            "kind": KIND[self.kind],
            "metadata": {"name": self.name},
            "spec": self.spec,
        }


def secret(name: str, **data: str | bytes) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "data": {k.replace("_", "."): b64(v) for k, v in data.items()},
    }


def corpus_cases() -> list[Case]:
    out = []
    for i, path in enumerate(sorted(CORPUS.glob("*.yaml"))):
        text = path.read_text()
        header = {
            k.strip(): v.strip()
            for k, _, v in (
                line[1:].partition(":") for line in text.splitlines() if line[:1] == "#"
            )
        }
        if header.get("schema") != "accept":
            continue
        body = yaml.safe_load(text)
        name = body["metadata"]["name"]
        if header["field"] != "metadata.name":
            name = f"corpus{i:02d}"
        # An unknown field is refused by kubectl's strict decoding (a server prunes it).
        unknown = header["text"] == "not a known field"
        out.append(
            Case(
                f"corpus:{path.stem}",
                SHORT[body["kind"]],
                name,
                body.get("spec") or {},
                "refuse" if unknown else "stall",
                header["field"],
                None if unknown else "InvalidSpec",
            )
        )
    return out


NFS = {"address": "nfs.example", "path": "/hostile"}
VM_OK: dict[str, Any] = {"cluster": "Default"}


def table(garbage_port: int, unused_port: int, kube_url: str) -> list[Case]:
    c: list[Case] = []

    def add(id: str, kind: str, spec: dict[str, Any], outcome: str, names: str, **kw: Any) -> None:
        c.append(Case(id, kind, kw.pop("name", id), spec, outcome, names, **kw))

    # -- references to objects that exist nowhere
    add("ref-cl-dc", "rcl", {"dataCenter": "nodc"}, "wait", "nodc")
    add("ref-lnet-dc", "lnet", {"dataCenter": "nodc", "vlan": 7}, "wait", "nodc")
    # By design the network itself is made (it is valid) and only its attachment waits.
    add("ref-lnet-cl", "lnet", {"dataCenter": "Default", "clusters": ["nocl"]}, "wait", "nocl")
    add("ref-sd-dc", "rsd", {"dataCenter": "nodc", "nfs": NFS, "host": "hv001"}, "wait", "nodc")
    add("ref-sd-host", "rsd", {"dataCenter": "Default", "nfs": NFS, "host": "nohost"}, "wait",
        "nohost")  # fmt: skip
    add("ref-hv-cl", "hv", {"address": "192.0.2.201", "cluster": "nocl"}, "wait", "nocl")
    add("ref-vm-cl", "rvm", {"cluster": "nocl"}, "wait", "nocl")
    add("ref-vm-tpl", "rvm", {"template": "notpl"}, "wait", "notpl")
    add("ref-vm-sd", "rvm", {"disks": [{"storageDomain": "nosd", "size": "1Gi"}]}, "wait", "nosd")
    add("ref-vm-net", "rvm", {"nics": [{"name": "eth0", "network": "nonet"}]}, "wait", "nonet")
    add("ref-vm-host", "rvm", {"placement": {"host": "nohost"}}, "wait", "nohost")
    add("ref-vmt-src", "vmt", {"sourceVm": "novm"}, "wait", "novm")
    add("ref-vmt-cl", "vmt", {"sourceVm": "vm0002", "cluster": "nocl"}, "wait", "nocl")
    # -- references to an object of another kind (basedc is a data center, basecl a cluster)
    add("kind-vm-cl", "rvm", {"cluster": "basedc"}, "wait", "basedc")
    add("kind-cl-dc", "rcl", {"dataCenter": "basecl"}, "wait", "basecl")
    add("kind-sd-dc", "rsd", {"dataCenter": "basecl", "nfs": NFS, "host": "hv001"}, "wait",
        "basecl")  # fmt: skip
    add("kind-sd-host", "rsd", {"dataCenter": "Default", "nfs": NFS, "host": "basecl"}, "wait",
        "basecl")  # fmt: skip
    add("kind-vm-tpl", "rvm", {"template": "basecl"}, "wait", "basecl")
    add("kind-vmt-src", "vmt", {"sourceVm": "basecl"}, "wait", "basecl")
    add("kind-vm-sd", "rvm", {"disks": [{"storageDomain": "basecl", "size": "1Gi"}]}, "wait",
        "basecl")  # fmt: skip
    add("kind-lnet-dc", "lnet", {"dataCenter": "basecl", "vlan": 8}, "wait", "basecl")
    add("kind-hv-cl", "hv", {"address": "192.0.2.202", "cluster": "basedc"}, "wait", "basedc")
    add("kind-vm-net", "rvm", {"nics": [{"name": "eth0", "network": "basecl"}]}, "wait", "basecl")
    add("kind-vm-host", "rvm", {"placement": {"host": "basecl"}}, "wait", "basecl")
    # -- reference cycles: a VM made from a template made from that VM
    add("cyc-vm", "rvm", {"template": "cyc-tpl"}, "wait", "cyc-tpl")
    add("cyc-tpl", "vmt", {"sourceVm": "cyc-vm"}, "wait", "cyc-vm")
    add("cyc4-vm-a", "rvm", {"template": "cyc4-tpl-b"}, "wait", "cyc4-tpl-b")
    add("cyc4-tpl-b", "vmt", {"sourceVm": "cyc4-vm-c"}, "wait", "cyc4-vm-c")
    add("cyc4-vm-c", "rvm", {"template": "cyc4-tpl-d"}, "wait", "cyc4-tpl-d")
    add("cyc4-tpl-d", "vmt", {"sourceVm": "cyc4-vm-a"}, "wait", "cyc4-vm-a")
    # -- names RHEV-M refuses: length, characters
    long = "n" * 70
    add("name-vm-long", "rvm", {**VM_OK, "name": long}, "refuse", "spec.name")
    add("name-vm-space", "rvm", {**VM_OK, "name": "bad name"}, "refuse", "spec.name")
    add("name-vm-xml", "rvm", {**VM_OK, "name": "a<b>&'\""}, "refuse", "spec.name")
    add("name-vm-utf8", "rvm", {**VM_OK, "name": "vm-\u00e9\u4e2d"}, "refuse", "spec.name")
    add("name-vm-huge", "rvm", {**VM_OK, "name": "x" * 20000}, "refuse", "spec.name")
    add("name-dc-long", "rdc", {"storageType": "nfs", "name": long}, "refuse", "spec.name")
    add("name-dc-xml", "rdc", {"storageType": "nfs", "name": "dc<&>"}, "refuse", "spec.name")
    add("name-cl-long", "rcl", {"dataCenter": "Default", "name": long}, "refuse", "spec.name")
    add("name-cl-chars", "rcl", {"dataCenter": "Default", "name": "c/l;x"}, "refuse", "spec.name")
    add("name-lnet-long", "lnet", {"dataCenter": "Default", "name": long}, "refuse", "spec.name")
    add("name-lnet-chars", "lnet", {"dataCenter": "Default", "name": "net$"}, "refuse",
        "spec.name")  # fmt: skip
    # The model allows 250 characters (the engine's STORAGE_NAME_SIZE); the simulator 50.
    add("name-sd-long", "rsd", {"nfs": NFS, "host": "hv001", "name": long}, "stall",
        "name is too long")  # fmt: skip
    add("name-sd-chars", "rsd", {"nfs": NFS, "host": "hv001", "name": "sd&"}, "refuse",
        "spec.name")  # fmt: skip
    add("name-hv-long", "hv", {"address": "192.0.2.203", "name": "h" * 300}, "refuse",
        "spec.name")  # fmt: skip
    add("name-vmt-chars", "vmt", {"sourceVm": "vm0002", "name": "t\u00e9<"}, "refuse",
        "spec.name")  # fmt: skip
    add("desc-dc-huge", "rdc", {"storageType": "nfs", "description": "d" * 200000}, "refuse",
        "spec.description")  # fmt: skip
    # -- contradictions with what is in RHEV-M
    add("sd-localfs-in-nfs-dc", "rsd", {"dataCenter": "Default", "storageType": "localfs",
        "localfs": {"path": "/data/x"}, "host": "hv001"}, "stall", "spec.storageType")  # fmt: skip
    add("vm-two-system-disks", "rvm", {"disks": [
        {"storageDomain": "default-data", "size": "1Gi", "type": "system"},
        {"storageDomain": "default-data", "size": "1Gi", "type": "system"}]}, "stall",
        "spec.disks")  # fmt: skip
    add("vmt-from-running-vm", "vmt", {"sourceVm": "vm0001"}, "wait", "vm0001 is up",
        reason="WaitingForSourceVm")  # fmt: skip
    # -- names taken in RHEV-M without adopt
    add("taken-dc", "rdc", {"storageType": "nfs", "name": "Default"}, "stall", "Default",
        reason="AlreadyExists")  # fmt: skip
    add("taken-cl", "rcl", {"dataCenter": "Default", "name": "Default"}, "stall", "Default",
        reason="AlreadyExists")  # fmt: skip
    add("taken-lnet", "lnet", {"dataCenter": "Default", "name": "vmnet", "vlan": 100}, "stall",
        "vmnet", reason="AlreadyExists")  # fmt: skip
    add("taken-sd", "rsd", {"nfs": NFS, "host": "hv001", "name": "default-data"}, "stall",
        "default-data", reason="AlreadyExists")  # fmt: skip
    add("taken-vm", "rvm", {"name": "vm0002"}, "stall", "vm0002", reason="AlreadyExists")
    add("taken-vmt", "vmt", {"sourceVm": "vm0002", "name": "Blank"}, "stall", "Blank",
        reason="AlreadyExists")  # fmt: skip
    # -- Secrets: missing, missing a key, not UTF-8, not a RHEV-M
    add("conn-missing", "rdc", {"storageType": "nfs", "connection": "nosuchsecret"}, "stall",
        "nosuchsecret", reason="MissingSecret")  # fmt: skip
    for key in ("url", "username", "password"):
        add(f"conn-no-{key}", "rdc", {"storageType": "nfs", "connection": f"conn-no-{key}"},
            "stall", repr(key), reason="MissingSecret")  # fmt: skip
    add("conn-non-utf8", "rdc", {"storageType": "nfs", "connection": "conn-non-utf8"}, "stall",
        "'password'", reason="InvalidSecret")  # fmt: skip
    add("conn-not-rhevm", "rdc", {"storageType": "nfs", "connection": "conn-not-rhevm"},
        "stall", "RHEV-M")  # fmt: skip
    add("conn-bad-scheme", "rdc", {"storageType": "nfs", "connection": "conn-bad-scheme"},
        "stall", "url", reason="InvalidSecret")  # fmt: skip
    add("conn-closed-port", "rdc", {"storageType": "nfs", "connection": "conn-closed-port"},
        "wait", "engine unreachable", reason="RhevmUnavailable")  # fmt: skip
    add("root-secret-missing", "hv", {"address": "192.0.2.204", "type": "rhel",
        "rootPasswordSecret": "nosuchsecret"}, "stall", "spec.rootPasswordSecret")  # fmt: skip
    add("root-secret-no-key", "hv", {"address": "192.0.2.205", "type": "rhel",
        "rootPasswordSecret": "root-no-key"}, "stall", "spec.rootPasswordSecret")  # fmt: skip
    bmc = {"address": "127.0.0.1", "port": garbage_port}
    prov = {"bootDevice": "network", "powerOn": True}
    add("bmc-secret-missing", "hv", {"address": "192.0.2.206", "provision": prov,
        "bmc": {**bmc, "credentialsSecret": "nosuchsecret"}}, "stall",
        "spec.bmc.credentialsSecret")  # fmt: skip
    add("bmc-secret-no-user", "hv", {"address": "192.0.2.207", "provision": prov,
        "bmc": {**bmc, "credentialsSecret": "bmc-no-user"}}, "stall",
        "spec.bmc.credentialsSecret")  # fmt: skip
    add("bmc-secret-non-utf8", "hv", {"address": "192.0.2.208", "provision": prov,
        "bmc": {**bmc, "credentialsSecret": "bmc-non-utf8"}}, "stall",
        "spec.bmc.credentialsSecret")  # fmt: skip
    add("bmc-garbage", "hv", {"address": "192.0.2.209", "provision": prov,
        "bmc": {**bmc, "credentialsSecret": "bmc-good"}}, "wait", "spec.bmc",
        reason="BmcUnreachable")  # fmt: skip
    add("bmc-nobody", "hv", {"address": "192.0.2.210", "provision": prov,
        "bmc": {"address": "127.0.0.1", "port": unused_port, "credentialsSecret": "bmc-good"}},
        "wait", "spec.bmc", reason="BmcUnreachable")  # fmt: skip
    return c + corpus_cases()


def secrets(kube_url: str, unused_port: int) -> list[dict[str, Any]]:
    good_url = "http://127.0.0.1:1/ovirt-engine/api"
    user = "admin@internal"
    return [
        secret("conn-no-url", username=user, password=CONN_PASSWORD),
        secret("conn-no-username", url=good_url, password=CONN_PASSWORD),
        secret("conn-no-password", url=good_url, username=user),
        secret("conn-non-utf8", url=good_url, username=user, password=b"\xff\xfe\xfa"),
        secret("conn-not-rhevm", url=kube_url + "/api", username=user, password=CONN_PASSWORD),
        secret(
            "conn-bad-scheme", url="ftp://rhevm.example/", username=user, password=CONN_PASSWORD
        ),
        secret(
            "conn-closed-port",
            url=f"http://127.0.0.1:{unused_port}/ovirt-engine/api",
            username=user,
            password=CONN_PASSWORD,
        ),
        secret("root-no-key", other=ROOT_PASSWORD),
        secret("bmc-no-user", password=BMC_PASSWORD),
        secret("bmc-non-utf8", username="admin", password=b"\xc3\x28\xff"),
        secret("bmc-good", username="admin", password=BMC_PASSWORD),
    ]


@pytest.fixture
def garbage_bmc(e2e: E2E) -> Iterator[BmcProcess]:
    process = spawn(e2e.sim_url, GARBAGE)
    try:
        yield process
    finally:
        process.stop()


def sim_view(e2e: E2E) -> dict[str, list[str]]:
    """Every object of RHEV-M with what the cases could change: name, id, status, description."""
    out: dict[str, list[str]] = {}
    for collection in COLLECTIONS:
        root = etree.fromstring(e2e.sim("GET", f"/ovirt-engine/api/{collection}").encode())
        out[collection] = sorted(
            "|".join(
                [
                    m.findtext("name") or "",
                    m.get("id") or "",
                    m.findtext("status") or "",
                    m.findtext("description") or "",
                ]
            )
            for m in root
        )
    return out


def changes_accepted(stats: dict[str, Any]) -> dict[str, int]:
    """Changing requests RHEV-M's routes accepted (not refused, not faults, not logins)."""
    out = {
        k: v - stats["refused"].get(k, 0)
        for k, v in stats["requests"].items()
        if k.split(" ", 1)[0] in ("POST", "PUT", "DELETE")
        and k.split(" ", 1)[1].startswith("/")
        and "/sso/" not in k
    }
    return {k: v for k, v in out.items() if v}


def conditions(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in (item.get("status") or {}).get("conditions") or []}


def verdict(case: Case, item: dict[str, Any] | None) -> str | None:
    """None when the case's resource says what it must; else what is wrong."""
    if item is None:
        return "not found"
    conds = conditions(item)
    ready = conds.get("Ready")
    stalled = conds.get("Stalled")
    if ready and ready["status"] == "True":
        return "Ready"
    conds = {
        k: {"reason": v.get("reason"), "message": v.get("message")}
        for k, v in conds.items()
        if v.get("status") != "True" or k != "Reconciling"
    } | {
        k: {"reason": v.get("reason"), "message": v.get("message"), "status": "True"}
        for k, v in conds.items()
        if k == "Reconciling" and v.get("status") == "True"
    }
    if case.outcome == "stall":
        if not stalled or stalled["status"] != "True":
            return f"not Stalled: {conds}"
        if case.reason and stalled.get("reason") != case.reason:
            return f"reason {stalled.get('reason')}: {stalled.get('message')}"
        if case.names not in (stalled.get("message") or ""):
            return f"message does not name {case.names!r}: {stalled.get('message')}"
        return None
    if not ready or ready.get("reason") != (case.reason or "WaitingForDependency"):
        return f"not waiting: {conds}"
    if case.names not in (ready.get("message") or ""):
        return f"message does not name {case.names!r}: {ready.get('message')}"
    return None


def all_items(e2e: E2E) -> dict[tuple[str, str], dict[str, Any]]:
    items = json.loads(e2e.kubectl("get", ",".join(KIND), "-o", "json").stdout)["items"]
    return {(SHORT[i["kind"]], i["metadata"]["name"]): i for i in items}


def secret_forms(secrets_used: list[str]) -> list[str]:
    """Each secret as written, base64-encoded and URL-encoded (a form body, a query)."""
    out = []
    for value in secrets_used:
        out += [value, b64(value), urllib.parse.quote(value), urllib.parse.quote_plus(value)]
    return sorted(set(out))


def leaks(e2e: E2E, secrets_used: list[str]) -> dict[str, list[str]]:
    """Where any of the secrets appears: the operator's log, Events, resources, liveness."""
    events = e2e.kubectl("get", "events", "-A", "-o", "json").stdout
    resources = e2e.kubectl("get", ",".join(KIND), "-A", "-o", "json").stdout
    places = {
        "operator log": e2e.operator_log.read_text(errors="replace"),
        "events": events,
        "resources (status, annotations)": resources,
    }
    found: dict[str, list[str]] = {}
    for where, text in places.items():
        hits = [s for s in secrets_used if s and s in text]
        if hits:
            found[where] = hits
    return found


@pytest.mark.parametrize(
    "e2e",
    [{"inventory": INVENTORY, "time_scale": 50, "operator_args": ("--trace-rest",)}],
    indirect=True,
)
def test_hostile_input_is_refused_or_waits_and_changes_nothing_and_leaks_nothing(
    e2e: E2E, garbage_bmc: BmcProcess
) -> None:
    # The base: a data center and a cluster as resources (targets of wrong-kind references).
    base = textwrap.dedent("""
        apiVersion: rhev.io/v1alpha1
        kind: RhevDataCenter
        metadata: {name: basedc}
        spec: {storageType: nfs}
        ---
        apiVersion: rhev.io/v1alpha1
        kind: RhevCluster
        metadata: {name: basecl}
        spec: {dataCenter: basedc, cpuType: Intel Westmere Family}
        """)
    e2e.kubectl("apply", "-f", "-", input=base)
    e2e.kubectl("wait", "--for=condition=Ready", "rdc/basedc", "rcl/basecl", "--timeout=60s")
    before = sim_view(e2e)
    changes_before = changes_accepted(e2e.sim("GET", "/sim/stats"))

    kube_url = yaml.safe_load(e2e.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    garbage_port = int(GARBAGE[0]["bmc"]["port"])
    unused_port = machine_entries(["unused"])[0]["bmc"]["port"]  # a free port: nobody answers
    cases = table(garbage_port, unused_port, kube_url)
    assert len({(c.kind, c.name) for c in cases}) == len(cases)
    refused = [c for c in cases if c.outcome == "refuse"]
    cases = [c for c in cases if c.outcome != "refuse"]
    # Refused by the API server (the CRD schema), each naming its field.
    out = e2e.kubectl(
        "apply", "-f", "-", input=yaml.safe_dump_all([c.document() for c in refused]), check=False
    )
    for c in refused:
        lines = [x for x in out.stderr.splitlines() if f'"{c.name}" is invalid' in x]
        lines += [x for x in out.stderr.splitlines() if "strict decoding" in x]
        assert any(c.names in x for x in lines), (c.id, out.stderr)
    # The rest is stored; what the CRD schema does not know is left to the operator.
    docs = secrets(kube_url, unused_port) + [c.document() for c in cases]
    e2e.kubectl("apply", "--validate=false", "-f", "-", input=yaml.safe_dump_all(docs), timeout=120)

    def settled() -> bool:
        items = all_items(e2e)
        wrong = {c.id: verdict(c, items.get((c.kind, c.name))) for c in cases}
        wrong = {k: v for k, v in wrong.items() if v}
        if wrong:
            (e2e.workdir / "hostile-wrong.json").write_text(json.dumps(wrong, indent=1))
            raise AssertionError(f"{len(wrong)} cases not settled: {sorted(wrong)}")
        (e2e.workdir / "hostile-wrong.json").unlink(missing_ok=True)
        return True

    e2e.wait_for("every hostile case refused or waiting", settled, timeout=240, interval=2)

    # Nothing changed in RHEV-M: the same objects, and no change accepted by its routes, but
    # for the one valid part of a case (the network of ref-lnet-cl, whose attachment waits).
    after = sim_view(e2e)
    partial = {k: [x for x in v if x.startswith("ref-lnet-cl|")] for k, v in after.items()}
    assert {k: len(v) for k, v in partial.items() if v} == {"networks": 1, "vnicprofiles": 1}
    assert {k: [x for x in v if x not in partial[k]] for k, v in after.items()} == before
    changes = changes_accepted(e2e.sim("GET", "/sim/stats"))
    assert changes.pop("POST /networks") == changes_before.pop("POST /networks", 0) + 1
    assert changes == changes_before
    # Every case still says the same (waits do not turn into actions on a second look).
    settled()

    issued = e2e.sim("GET", "/sim/auth/issued")["issued"]
    assert issued, "the operator logged in"
    used = [SIM_PASSWORD, CONN_PASSWORD, BMC_PASSWORD, ROOT_PASSWORD, GARBAGE_BMC_PASSWORD]
    used = secret_forms(used) + issued
    assert "REST > POST" in e2e.operator_log.read_text(), "the REST trace is on"
    assert leaks(e2e, used) == {}
    report = {
        "cases": len(cases) + len(refused),
        "refused_by_api": len(refused),
        "stalled": sum(c.outcome == "stall" for c in cases),
        "waiting": sum(c.outcome == "wait" for c in cases),
        "secrets_searched": len(used),
    }
    print(f"\nhostile input: {json.dumps(report)}")

"""The models of the seven kinds: the seed environment (the example of the samples) parses,
defaults and helpers behave as docs/reference.md states, every validation rule rejects what it
must and accepts its valid neighbour."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from rhev_operator.api import (
    KINDS,
    MANAGEMENT_NETWORK,
    Hypervisor,
    HypervisorSpec,
    LogicalNetwork,
    RhevCluster,
    RhevDataCenter,
    SpecError,
    StorageDomain,
    VirtualMachine,
    VirtualMachineSpec,
    VmTemplate,
    format_quantity,
    kind_info,
    parse_quantity,
    parse_resource,
    parse_spec,
)

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "manifests" / "samples"

SEED = """
apiVersion: rhev.io/v1alpha1
kind: RhevDataCenter
metadata: {name: mydc}
spec: {storageType: nfs}
---
apiVersion: rhev.io/v1alpha1
kind: RhevCluster
metadata: {name: mycluster}
spec: {dataCenter: mydc, cpuType: Intel Westmere Family}
---
apiVersion: rhev.io/v1alpha1
kind: LogicalNetwork
metadata: {name: rhevm2}
spec: {dataCenter: mydc, vlan: 2, clusters: [mycluster]}
---
apiVersion: rhev.io/v1alpha1
kind: Hypervisor
metadata: {name: rhevh1}
spec:
  address: rhevh1.cluster.example
  cluster: mycluster
  interfaces:
  - {network: rhevm2, nic: eth1, bootProtocol: static, ip: 10.1.0.236, netmask: 255.255.255.0}
  bmc: {address: 10.0.0.101, credentialsSecret: rhevh1-bmc}
---
apiVersion: rhev.io/v1alpha1
kind: StorageDomain
metadata: {name: image}
spec:
  dataCenter: mydc
  storageType: nfs
  nfs: {address: nfs.example, path: /vfsimg}
  host: rhevh1
---
apiVersion: rhev.io/v1alpha1
kind: VirtualMachine
metadata: {name: hkvm1}
spec:
  cluster: mycluster
  cpu: {sockets: 2, cores: 2}
  memory: 2Gi
  nics:
  - {name: eth0, network: rhevm, install: true}
  - {name: eth1, network: rhevm2}
  disks:
  - {storageDomain: image, size: 10Gi, type: system}
  - {storageDomain: image, size: 20Gi, type: data}
  placement: {host: rhevh1}
  powerState: Running
"""

GIB = 2**30


def body(kind: str, spec: Any, name: str = "obj", **extra: Any) -> dict[str, Any]:
    return {
        "apiVersion": "rhev.io/v1alpha1",
        "kind": kind,
        "metadata": {"name": name, "namespace": "default", "generation": 3},
        "spec": spec,
        **extra,
    }


def rejects(kind: str, spec: Any, field: str, text: str = "", name: str = "obj") -> SpecError:
    with pytest.raises(SpecError) as caught:
        parse_resource(kind, body(kind, spec, name))
    paths = caught.value.field_paths
    assert field in paths, f"expected {field} in {paths}: {caught.value}"
    if text:
        message = next(e.message for e in caught.value.errors if e.path == field)
        assert text in message, message
    return caught.value


# ---------------------------------------------------------------------------------------
# The example and the samples
# ---------------------------------------------------------------------------------------


def test_the_seed_example_parses_into_the_typed_models() -> None:
    docs = [d for d in yaml.safe_load_all(SEED) if d]
    assert [d["kind"] for d in docs] == [
        "RhevDataCenter",
        "RhevCluster",
        "LogicalNetwork",
        "Hypervisor",
        "StorageDomain",
        "VirtualMachine",
    ]
    parsed = {d["kind"]: parse_resource(d["kind"], d) for d in docs}
    dc = parsed["RhevDataCenter"]
    assert isinstance(dc, RhevDataCenter) and dc.spec.storage_type == "nfs"
    cl = parsed["RhevCluster"]
    assert isinstance(cl, RhevCluster)
    assert (cl.spec.data_center, cl.spec.cpu_type) == ("mydc", "Intel Westmere Family")
    assert cl.spec.memory_overcommit == 100
    net = parsed["LogicalNetwork"]
    assert isinstance(net, LogicalNetwork)
    assert (net.spec.vlan, net.spec.clusters) == (2, ["mycluster"])
    hv = parsed["Hypervisor"]
    assert isinstance(hv, Hypervisor)
    assert hv.spec.bmc is not None and hv.spec.bmc.port == 623
    assert hv.spec.bmc.credentials_secret == "rhevh1-bmc"
    assert hv.spec.interfaces[0].boot_protocol == "static"
    assert (hv.spec.type, hv.spec.approve, hv.spec.state) == ("rhevh", True, "up")
    sd = parsed["StorageDomain"]
    assert isinstance(sd, StorageDomain)
    assert sd.spec.nfs is not None and sd.spec.nfs.path == "/vfsimg"
    assert (sd.spec.domain_type, sd.spec.state, sd.spec.host) == ("data", "active", "rhevh1")
    vm = parsed["VirtualMachine"]
    assert isinstance(vm, VirtualMachine)
    assert vm.spec.memory == 2 * GIB
    assert [d.size for d in vm.spec.disks] == [10 * GIB, 20 * GIB]
    assert vm.spec.system_disk is vm.spec.disks[0]
    assert vm.spec.install_nic is not None and vm.spec.install_nic.name == "eth0"
    assert vm.spec.nics[1].model == "virtio" and not vm.spec.nics[1].install
    assert (vm.spec.cpu.sockets, vm.spec.cpu.cores) == (2, 2)
    assert (vm.spec.template, vm.spec.boot_order) == ("Blank", ["network"])
    assert vm.spec.placement.host == "rhevh1" and vm.spec.power_state == "Running"
    assert vm.rhev_name == "hkvm1"


def test_models_round_trip_through_their_camel_case_wire_form() -> None:
    for doc in yaml.safe_load_all(SEED):
        if not doc:
            continue
        first = parse_resource(doc["kind"], doc)
        wire = first.model_dump(by_alias=True, mode="json", exclude_none=True)
        assert "apiVersion" in wire and "spec" in wire
        again = parse_resource(doc["kind"], wire)
        assert again == first
        # Every key the user wrote is there under the same (camelCase) name.
        for key in doc["spec"]:
            assert key in wire["spec"]


def test_the_documented_example_is_the_seed() -> None:
    text = (ROOT / "docs" / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```yaml\n(.*?)```", text, flags=re.S)
    assert block is not None
    documented = [d for d in yaml.safe_load_all(block.group(1)) if d]
    assert documented == [d for d in yaml.safe_load_all(SEED) if d]


def test_samples_hold_the_seed_split_per_kind_plus_its_secret() -> None:
    docs = [yaml.safe_load(p.read_text()) for p in sorted(SAMPLES.glob("*.yaml"))]
    kinds = [d["kind"] for d in docs]
    assert kinds.count("Secret") >= 1
    bmc_secret = next(d for d in docs if d["metadata"]["name"] == "rhevh1-bmc")
    assert set(bmc_secret["stringData"]) == {"username", "password"}
    resources = [d for d in docs if d["kind"] != "Secret"]
    assert {d["kind"] for d in resources} == {
        "RhevDataCenter",
        "RhevCluster",
        "LogicalNetwork",
        "Hypervisor",
        "StorageDomain",
        "VirtualMachine",
    }
    for doc in resources:
        parse_resource(doc["kind"], doc)
    seed = {d["metadata"]["name"]: d for d in yaml.safe_load_all(SEED) if d}
    for doc in resources:
        expected = seed[doc["metadata"]["name"]]["spec"]
        # Same spec as the example, except the BMC address (loopback in the samples).
        got = dict(doc["spec"])
        if doc["kind"] == "Hypervisor":
            assert got.pop("bmc")["credentialsSecret"] == expected["bmc"]["credentialsSecret"]
            expected = {k: v for k, v in expected.items() if k != "bmc"}
        assert got == expected


# ---------------------------------------------------------------------------------------
# Common fields and helpers
# ---------------------------------------------------------------------------------------


def test_name_defaults_to_metadata_name_and_spec_name_wins() -> None:
    dc = parse_spec("RhevDataCenter", body("RhevDataCenter", {}, name="mydc"))
    assert dc.name is None and dc.effective_name("mydc") == "mydc"
    named = parse_resource("RhevDataCenter", body("RhevDataCenter", {"name": "Prod_DC"}, "x"))
    assert named.rhev_name == "Prod_DC"


def test_deletion_policy_default_depends_on_adoption() -> None:
    spec = parse_spec("RhevCluster", body("RhevCluster", {"adopt": True}))
    assert spec.deletion_policy is None
    assert spec.effective_deletion_policy(adopted=True) == "Retain"
    assert spec.effective_deletion_policy(adopted=False) == "Delete"
    explicit = parse_spec("RhevCluster", body("RhevCluster", {"deletionPolicy": "Retain"}))
    assert explicit.effective_deletion_policy(adopted=False) == "Retain"


def test_a_missing_or_null_spec_takes_every_default() -> None:
    specs: list[dict[str, Any] | None] = [{}, None]
    for spec in specs:
        dc = parse_resource("RhevDataCenter", body("RhevDataCenter", spec))
        assert isinstance(dc, RhevDataCenter)
        assert dc.spec.storage_type == "nfs" and dc.spec.adopt is False
        assert dc.spec.timeouts.operation_seconds == 180


def test_vm_defaults_are_those_the_reference_documents() -> None:
    vm = VirtualMachineSpec()
    assert (vm.cluster, vm.template, vm.memory) == ("Default", "Blank", 2 * GIB)
    assert (vm.cpu.sockets, vm.cpu.cores) == (1, 1)
    assert [(n.name, n.network, n.install) for n in vm.nics] == [("eth0", MANAGEMENT_NETWORK, True)]
    assert vm.boot_order == ["network"] and vm.power_state == "Stopped" and vm.disks == []


def test_python_code_uses_snake_case_and_the_wire_camel_case() -> None:
    spec = HypervisorSpec(address="h1.example", spm_priority=3, root_password_secret="pw")
    wire = spec.model_dump(by_alias=True, exclude_none=True)
    assert wire["spmPriority"] == 3 and wire["rootPasswordSecret"] == "pw"
    assert HypervisorSpec.model_validate({"address": "h1", "spmPriority": 3}).spm_priority == 3


def test_parse_spec_ignores_a_damaged_status_but_parse_resource_reports_it() -> None:
    data = body("VmTemplate", {"sourceVm": "hkvm1"}, status={"conditions": [{"type": "Ready"}]})
    assert parse_spec("VmTemplate", data).source_vm == "hkvm1"  # type: ignore[attr-defined]
    with pytest.raises(SpecError) as caught:
        parse_resource("VmTemplate", data)
    assert "status.conditions[0].status" in caught.value.field_paths


def test_status_is_read_from_the_wire_names() -> None:
    data = body(
        "StorageDomain",
        {"nfs": {"address": "nfs.example", "path": "/x"}},
        status={
            "id": "abc",
            "state": "active",
            "master": True,
            "availableBytes": 5,
            "observedGeneration": 3,
            "operation": {
                "action": "ActivateStorageDomain",
                "correlationId": "c1",
                "started": "2024-01-01T00:00:00Z",
                "deadline": "2024-01-01T00:15:00Z",
            },
            "kopf": {"progress": {}},  # unknown status fields are ignored
        },
    )
    sd = parse_resource("StorageDomain", data)
    assert isinstance(sd, StorageDomain)
    assert sd.status.master is True and sd.status.available_bytes == 5
    assert sd.status.operation is not None and sd.status.operation.correlation_id == "c1"


def test_kind_lookup_accepts_kind_plural_short_name_and_stem() -> None:
    for info in KINDS:
        for key in (info.kind, info.plural, info.short_name, info.stem, info.kind.upper()):
            assert kind_info(key) is info
    with pytest.raises(ValueError, match="unknown kind 'Pod'"):
        kind_info("Pod")


def test_a_body_of_another_kind_is_rejected() -> None:
    data = body("RhevCluster", {})
    with pytest.raises(SpecError) as caught:
        parse_resource("RhevDataCenter", data)
    assert caught.value.field_path == "kind"
    assert "RhevDataCenter" in caught.value.message


def test_every_kind_has_its_models_and_a_resource_class() -> None:
    assert [i.kind for i in KINDS] == [
        "RhevDataCenter",
        "RhevCluster",
        "LogicalNetwork",
        "StorageDomain",
        "Hypervisor",
        "VirtualMachine",
        "VmTemplate",
    ]
    for info in KINDS:
        assert info.kind == info.resource.KIND
        assert info.spec.__name__ == f"{info.kind}Spec"
        assert info.status.__name__ == f"{info.kind}Status"
        assert info.resource.__name__ == info.kind
    assert VmTemplate.KIND == "VmTemplate"


# ---------------------------------------------------------------------------------------
# Quantities
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2Gi", 2 * GIB),
        ("512Mi", 512 * 2**20),
        ("10G", 10 * 10**9),
        ("1.5Gi", 3 * GIB // 2),
        ("1e9", 10**9),
        ("1Ki", 1024),
        ("1k", 1000),
        ("1Ti", 2**40),
        ("1E", 10**18),
        ("2E3", 2000),
        ("0.5", 1),  # fractions of a byte round up, as in Kubernetes
        ("1048576", 2**20),
        (4096, 4096),
    ],
)
def test_quantities_parse_to_bytes(text: str | int, expected: int) -> None:
    assert parse_quantity(text) == expected


@pytest.mark.parametrize("text", ["2GB", "-1Gi", "Gi", "1.Gi", "500m", "2 Gi", "", "1e"])
def test_malformed_quantities_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match="2Gi"):
        parse_quantity(text)


def test_booleans_and_negative_integers_are_not_quantities() -> None:
    with pytest.raises(ValueError):
        parse_quantity(True)
    with pytest.raises(ValueError):
        parse_quantity(-5)


def test_quantities_format_back_to_the_shortest_binary_form() -> None:
    assert format_quantity(2 * GIB) == "2Gi"
    assert format_quantity(1536 * 2**20) == "1536Mi"
    assert format_quantity(1000) == "1000"
    for value in ("2Gi", "512Mi", "20Gi", "3Ti"):
        assert format_quantity(parse_quantity(value)) == value


def test_memory_and_disk_size_accept_integers_as_bytes() -> None:
    vm = parse_resource(
        "VirtualMachine",
        body("VirtualMachine", {"memory": 2**31, "disks": [{"storageDomain": "sd", "size": GIB}]}),
    )
    assert isinstance(vm, VirtualMachine)
    assert vm.spec.memory == 2**31 and vm.spec.disks[0].size == GIB


# ---------------------------------------------------------------------------------------
# Validation rules, each with its valid neighbour
# ---------------------------------------------------------------------------------------


def test_at_most_one_system_disk() -> None:
    one = [{"storageDomain": "sd", "size": "1Gi", "type": "system"}]
    parse_resource("VirtualMachine", body("VirtualMachine", {"disks": one * 1}))
    rejects("VirtualMachine", {"disks": one * 3}, "spec.disks[1].type", "at most one")


def test_at_most_one_install_nic() -> None:
    nics = [
        {"name": "eth0", "network": "rhevm", "install": False},
        {"name": "eth1", "network": "rhevm2", "install": True},
    ]
    parse_resource("VirtualMachine", body("VirtualMachine", {"nics": nics}))
    nics[0]["install"] = True
    rejects("VirtualMachine", {"nics": nics}, "spec.nics[1].install", "nics[0] already is")


@pytest.mark.parametrize(("vlan", "ok"), [(0, True), (4094, True), (4095, False), (-1, False)])
def test_vlan_bounds(vlan: int, ok: bool) -> None:
    spec = {"vlan": vlan}
    if ok:
        parse_resource("LogicalNetwork", body("LogicalNetwork", spec))
    else:
        rejects("LogicalNetwork", spec, "spec.vlan", "<= 4094" if vlan > 0 else ">= 0")


@pytest.mark.parametrize(("mtu", "ok"), [(68, True), (9000, True), (67, False), (65521, False)])
def test_mtu_bounds(mtu: int, ok: bool) -> None:
    if ok:
        parse_resource("LogicalNetwork", body("LogicalNetwork", {"mtu": mtu}))
    else:
        rejects("LogicalNetwork", {"mtu": mtu}, "spec.mtu")


@pytest.mark.parametrize(("priority", "ok"), [(-1, True), (10, True), (11, False), (-2, False)])
def test_spm_priority_bounds(priority: int, ok: bool) -> None:
    spec = {"address": "h1", "spmPriority": priority}
    if ok:
        parse_resource("Hypervisor", body("Hypervisor", spec))
    else:
        rejects("Hypervisor", spec, "spec.spmPriority")


def test_nfs_block_is_required_for_nfs_and_forbidden_for_localfs() -> None:
    nfs = {"address": "nfs.example", "path": "/vfsimg"}
    parse_resource("StorageDomain", body("StorageDomain", {"storageType": "nfs", "nfs": nfs}))
    rejects("StorageDomain", {"storageType": "nfs"}, "spec.nfs", "required for storageType nfs")
    local = {"storageType": "localfs", "localfs": {"path": "/data"}}
    parse_resource("StorageDomain", body("StorageDomain", local))
    rejects("StorageDomain", {**local, "nfs": nfs}, "spec.nfs", "not allowed for storageType")
    rejects("StorageDomain", {"storageType": "localfs"}, "spec.localfs", "required")


def test_static_interface_needs_ip_and_netmask_and_gateway_only_on_management() -> None:
    def spec(**iface: Any) -> dict[str, Any]:
        return {"address": "h1", "interfaces": [{"network": "rhevm2", "nic": "eth1", **iface}]}

    static = {"bootProtocol": "static", "ip": "10.1.0.236", "netmask": "255.255.255.0"}
    parse_resource("Hypervisor", body("Hypervisor", spec(**static)))
    parse_resource("Hypervisor", body("Hypervisor", spec(bootProtocol="dhcp")))
    parse_resource("Hypervisor", body("Hypervisor", spec()))  # no IP on the host
    rejects(
        "Hypervisor", spec(bootProtocol="static", ip="10.1.0.236"), "spec.interfaces[0].netmask"
    )
    rejects("Hypervisor", spec(bootProtocol="static", netmask="255.0.0.0"), "spec.interfaces[0].ip")
    error = rejects("Hypervisor", spec(**static, gateway="10.1.0.1"), "spec.interfaces[0].gateway")
    assert f"'{MANAGEMENT_NETWORK}'" in error.message
    management = {
        "address": "h1",
        "interfaces": [
            {"network": MANAGEMENT_NETWORK, "nic": "eth0", **static, "gateway": "10.1.0.1"}
        ],
    }
    parse_resource("Hypervisor", body("Hypervisor", management))


@pytest.mark.parametrize("address", ["10.1.0.256", "1.2.3", "a..b", "-bad.example"])
def test_bad_addresses_are_rejected(address: str) -> None:
    rejects("Hypervisor", {"address": address}, "spec.address")


@pytest.mark.parametrize("address", ["10.1.0.255", "rhevh1", "rhevh1.cluster.example", "h-1.a"])
def test_good_addresses_are_accepted(address: str) -> None:
    parse_resource("Hypervisor", body("Hypervisor", {"address": address}))


def test_sizes_and_memory_must_be_positive() -> None:
    rejects("VirtualMachine", {"memory": 0}, "spec.memory", "greater than 0")
    rejects(
        "VirtualMachine",
        {"disks": [{"storageDomain": "sd", "size": "0"}]},
        "spec.disks[0].size",
        "greater than 0",
    )


def test_cpu_sockets_and_cores_at_least_one() -> None:
    rejects("VirtualMachine", {"cpu": {"sockets": 0}}, "spec.cpu.sockets", ">= 1")
    rejects("VirtualMachine", {"cpu": {"cores": 0}}, "spec.cpu.cores", ">= 1")


def test_bmc_port_bounds_and_default() -> None:
    bmc = {"address": "127.0.0.1", "credentialsSecret": "bmc"}
    hv = parse_resource("Hypervisor", body("Hypervisor", {"address": "h", "bmc": bmc}))
    assert isinstance(hv, Hypervisor) and hv.spec.bmc is not None and hv.spec.bmc.port == 623
    for port in (0, 65536):
        rejects("Hypervisor", {"address": "h", "bmc": {**bmc, "port": port}}, "spec.bmc.port")


@pytest.mark.parametrize(
    ("kind", "limit", "spec"),
    [
        ("RhevDataCenter", 40, {}),
        ("RhevCluster", 40, {}),
        ("LogicalNetwork", 50, {}),
        ("VirtualMachine", 64, {}),
        ("StorageDomain", 250, {"nfs": {"address": "n", "path": "/p"}}),
    ],
)
def test_name_length_limits_of_rhevm(kind: str, limit: int, spec: dict[str, Any]) -> None:
    parse_resource(kind, body(kind, {**spec, "name": "n" * limit}))
    rejects(kind, {**spec, "name": "n" * (limit + 1)}, "spec.name", f"at most {limit}")


@pytest.mark.parametrize("name", ["my vm", "vm/1", "vm@home", "ümlaut"])
def test_names_rhevm_refuses_are_rejected_with_the_rule(name: str) -> None:
    error = rejects("VirtualMachine", {"name": name}, "spec.name")
    assert "letters, digits, '.', '_' and '-'" in error.message


def test_a_long_metadata_name_needs_a_spec_name() -> None:
    long_name = "a" * 45
    rejects("RhevCluster", {}, "metadata.name", "set spec.name", name=long_name)
    parse_resource("RhevCluster", body("RhevCluster", {"name": "short"}, long_name))


def test_enum_values_are_exactly_those_of_the_contract() -> None:
    expected = {
        ("RhevDataCenter", "storageType"): {"nfs", "localfs"},
        ("StorageDomain", "domainType"): {"data", "iso", "export"},
        ("StorageDomain", "storageType"): {"nfs", "localfs"},
        ("StorageDomain", "state"): {"active", "maintenance", "detached"},
        ("Hypervisor", "type"): {"rhevh", "rhel"},
        ("Hypervisor", "state"): {"up", "maintenance"},
        ("VirtualMachine", "powerState"): {"Running", "Stopped", "Suspended"},
        ("VirtualMachine", "display"): {"vnc", "spice"},
    }
    for (kind, field), values in expected.items():
        schema = kind_info(kind).spec.model_json_schema(by_alias=True)
        prop = schema["properties"][field]
        found = prop.get("enum") or next(o["enum"] for o in prop["anyOf"] if "enum" in o)
        assert set(found) == values, (kind, field)
    error = rejects("VirtualMachine", {"powerState": "On"}, "spec.powerState")
    assert "Running, Stopped, Suspended" in error.message


def test_unknown_fields_are_named_with_the_allowed_ones() -> None:
    error = rejects("LogicalNetwork", {"vlanId": 3}, "spec.vlanId", "not a known field")
    assert re.search(r"allowed fields: .*\bvlan\b", error.message)
    nested = rejects(
        "VirtualMachine",
        {"cpu": {"socket": 2}},
        "spec.cpu.socket",
        "allowed fields: cores, sockets",
    )
    assert nested


def test_every_problem_is_reported_at_once() -> None:
    error = rejects(
        "VirtualMachine",
        {"memory": "lots", "powerState": "on", "cpu": {"sockets": 0}},
        "spec.memory",
    )
    assert {"spec.memory", "spec.powerState", "spec.cpu.sockets"} <= set(error.field_paths)
    assert str(error).count(";") >= 2


def test_pinned_affinity_needs_a_host() -> None:
    rejects("VirtualMachine", {"placement": {"affinity": "pinned"}}, "spec.placement.host")
    parse_resource(
        "VirtualMachine",
        body("VirtualMachine", {"placement": {"affinity": "pinned", "host": "rhevh1"}}),
    )


def test_rhel_host_needs_a_root_password_unless_adopted() -> None:
    rejects("Hypervisor", {"address": "r1", "type": "rhel"}, "spec.rootPasswordSecret")
    parse_resource(
        "Hypervisor",
        body("Hypervisor", {"address": "r1", "type": "rhel", "rootPasswordSecret": "r1"}),
    )
    parse_resource(
        "Hypervisor", body("Hypervisor", {"address": "r1", "type": "rhel", "adopt": True})
    )


def test_provisioning_and_auto_confirm_need_a_bmc() -> None:
    rejects("Hypervisor", {"address": "h", "provision": {}}, "spec.provision", "spec.bmc")
    rejects(
        "Hypervisor", {"address": "h", "fencing": {"autoConfirm": True}}, "spec.fencing.autoConfirm"
    )
    bmc = {"address": "127.0.0.1", "credentialsSecret": "bmc"}
    hv = parse_resource(
        "Hypervisor",
        body(
            "Hypervisor",
            {"address": "h", "bmc": bmc, "provision": {}, "fencing": {"autoConfirm": True}},
        ),
    )
    assert isinstance(hv, Hypervisor) and hv.spec.provision is not None
    assert (hv.spec.provision.boot_device, hv.spec.provision.power_on) == ("network", True)


def test_timeouts_have_defaults_and_must_be_positive() -> None:
    hv = parse_resource("Hypervisor", body("Hypervisor", {"address": "h"}))
    assert isinstance(hv, Hypervisor)
    t = hv.spec.timeouts
    assert (t.operation_seconds, t.host_install_seconds, t.spm_election_seconds) == (180, 1800, 600)
    rejects(
        "Hypervisor",
        {"address": "h", "timeouts": {"operationSeconds": 0}},
        "spec.timeouts.operationSeconds",
    )
    vm = parse_resource(
        "VirtualMachine", body("VirtualMachine", {"timeouts": {"migrationSeconds": 60}})
    )
    assert isinstance(vm, VirtualMachine) and vm.spec.timeouts.migration_seconds == 60


def test_each_resource_class_parses_its_own_body_with_field_errors() -> None:
    vm = VirtualMachine.parse(body("VirtualMachine", {"memory": "4Gi"}))
    assert vm.spec.memory == 4 * GIB and vm.metadata.generation == 3
    with pytest.raises(SpecError) as caught:
        LogicalNetwork.parse(body("LogicalNetwork", {"vlan": 9999}))
    assert caught.value.field_path == "spec.vlan"
    with pytest.raises(SpecError):
        VirtualMachine.parse([])  # type: ignore[arg-type]

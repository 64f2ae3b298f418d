"""The reference the operator is compared with: the same VMs created and started directly
through the official oVirt SDK (ovirtsdk4), the way a script or the Ansible modules would.

Each of `threads` workers (own SDK connection each) creates a VM from Blank, adds its disk and
NIC, waits for the disk to leave `locked` (a GET every `poll` seconds) and starts the VM; one
list of /vms every `poll` seconds then waits until all are up.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

GIB = 1024**3
MISSING_SDK = (
    "rhev-operator bench needs the official oVirt SDK (ovirtsdk4) for its direct reference: "
    "install the dev extra (pip install -e '.[dev]', as `make test` does)"
)


def sdk_available() -> bool:
    try:
        import ovirtsdk4  # noqa: F401
    except ImportError:
        return False
    return True


@dataclass(frozen=True)
class DirectVm:
    """What each VM is: the same as the bench's VirtualMachine resources."""

    cluster: str
    storage_domain: str
    network: str
    memory: int = 1 * GIB
    disk: int = 4 * GIB


def create_and_start(
    api_url: str,
    names: list[str],
    shape: DirectVm,
    *,
    username: str,
    password: str,
    threads: int = 16,
    poll: float = 0.5,
    timeout: float = 1800.0,
) -> float:
    """Create and start `names`; the seconds until all are up."""
    import ovirtsdk4 as sdk

    types = sdk.types
    local = threading.local()
    connections: list[Any] = []
    lock = threading.Lock()

    def connection() -> Any:
        conn = getattr(local, "conn", None)
        if conn is None:
            conn = sdk.Connection(url=api_url, username=username, password=password)
            local.conn = conn
            with lock:
                connections.append(conn)
        return conn

    main = sdk.Connection(url=api_url, username=username, password=password)
    connections.append(main)
    system = main.system_service()
    profile = next(p for p in system.vnic_profiles_service().list() if p.name == shape.network)
    deadline = time.monotonic() + timeout

    def one(name: str) -> None:
        system = connection().system_service()
        vms = system.vms_service()
        vm = vms.add(
            types.Vm(
                name=name,
                cluster=types.Cluster(name=shape.cluster),
                template=types.Template(name="Blank"),
                memory=shape.memory,
            )
        )
        svc = vms.vm_service(vm.id)
        att = svc.disk_attachments_service().add(
            types.DiskAttachment(
                disk=types.Disk(
                    name=f"{name}_disk0",
                    format=types.DiskFormat.COW,
                    provisioned_size=shape.disk,
                    storage_domains=[types.StorageDomain(name=shape.storage_domain)],
                ),
                interface=types.DiskInterface.VIRTIO,
                bootable=True,
                active=True,
            )
        )
        svc.nics_service().add(
            types.Nic(
                name="eth0",
                interface=types.NicInterface.VIRTIO,
                vnic_profile=types.VnicProfile(id=profile.id),
            )
        )
        disk = system.disks_service().disk_service(att.disk.id)
        while disk.get().status != types.DiskStatus.OK:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the disk of {name} stayed locked")
            time.sleep(poll)
        svc.start()

    started = time.monotonic()
    try:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for future in [pool.submit(one, name) for name in names]:
                future.result()
        wanted = set(names)
        vms = system.vms_service()
        while True:
            up = {v.name for v in vms.list() if v.status == types.VmStatus.UP}
            if wanted <= up:
                return time.monotonic() - started
            if time.monotonic() > deadline:
                raise TimeoutError(f"{len(wanted - up)} of {len(wanted)} VMs never came up")
            time.sleep(poll)
    finally:
        for conn in connections:
            conn.close()

"""Hypervisor registration and installation: a rhel host is added by address, a rhev-h
host is provisioned over IPMI and registers itself; registering hosts are approved and
installations waited out."""

from __future__ import annotations

from typing import NoReturn

from rhev_operator.api import Hypervisor
from rhev_operator.ipmi import IpmiError
from rhev_operator.reconcilers.base import (
    Stall,
    Wait,
    before_create,
    bounded_wait,
    created,
    owned_by,
    owner_comment,
    stalled_before,
)
from rhev_operator.reconcilers.hypervisor.common import (
    AWAIT_REGISTRATION,
    AWAIT_RESPONDING,
    HOST_WAITS,
    HostPass,
    _bmc,
    _check_deadline,
    _cluster,
    _ipmi_failed,
    _refresh,
    _secret_value,
    engine_words,
    finder,
)
from rhev_operator.rhevm import (
    Host,
    HostCreate,
    HostUpdate,
)
from rhev_operator.rhevm.hypervisor import HostDetail


def _would_act_on_absence(p: HostPass, res: Hypervisor) -> bool:
    """Would the ladder add (rhel) or provision (IPMI) the host, seeing none? While it only
    waits for a host to register, the once-per-tick list is enough."""
    spec = res.spec
    if spec.type == "rhel":
        return True
    operation = p.status.operation
    waiting = operation is not None and operation.action == "ProvisionHost"
    return spec.provision is not None and not waiting


def _claim(p: HostPass, res: Hypervisor, host: HostDetail) -> None:
    if p.status.id == host.id or owned_by(host.comment, p.ctx.uid):
        p.status.id = host.id
        return
    if res.spec.type == "rhevh" and host.status == "pending_approval":
        # A rhev-h that registered itself is exactly what this resource waits for.
        p.status.id = host.id
        p.did("Registered", f"Host {host.name} ({host.address}) registered with RHEV-M")
        return
    if not res.spec.adopt:
        raise Stall(
            "AlreadyExists",
            f"RHEV-M already has a host {host.name!r} (address {host.address}, id {host.id}, "
            f"{host.status}) that this resource did not add; set spec.adopt: true to take it "
            "over, or choose another spec.name / spec.address",
        )
    p.status.id = host.id
    p.did("Adopted", f"Adopted existing host {host.name} ({host.id})")


def _ensure_registered(p: HostPass, res: Hypervisor) -> NoReturn:
    """No host yet: add a rhel host, or provision a rhev-h one and wait for it to register."""
    spec = res.spec
    name = res.rhev_name
    operation = p.status.operation
    if operation is not None and operation.action == "InstallHost" and p.status.id:
        # Added, but the host went away (removed in RHEV-M): start over.
        p.end_operation()
        operation = None
    p.status.id = None
    p.status.state = None
    p.status.spm = None
    p.status.spm_status = None
    if spec.type == "rhel":
        if spec.root_password_secret is None:
            raise Stall(
                "NotFound",
                f"there is no host {name!r} (address {spec.address}) in RHEV-M to adopt; set "
                "spec.rootPasswordSecret so the operator adds and installs it",
            )
        _add_rhel(p, res)
    # The cluster a registered host goes to: wait for it before booting or awaiting a host.
    _cluster(p, res)
    if operation is not None and operation.action == "ProvisionHost":
        _check_deadline(p, None, f"host {name} ({spec.address}) to register with RHEV-M")
        raise Wait(
            "WaitingForRegistration",
            f"host {name} was powered on over IPMI; waiting for it to register with RHEV-M",
            10.0,
        )
    if spec.provision is not None and spec.bmc is not None:
        _provision(p, res)
    bounded_wait(
        p,
        AWAIT_REGISTRATION,
        "WaitingForRegistration",
        f"waiting for host {name} ({spec.address}) to register with RHEV-M; boot it with "
        "RHEV-H (or set spec.provision to let the operator boot it over IPMI)",
        spec.timeouts.registration_seconds,
        requeue_after=30.0,
        hint=f"Boot host {spec.address} with RHEV-H and point it at this RHEV-M, or set "
        "spec.provision (with spec.bmc) so the operator boots it over IPMI; the host is taken "
        "as soon as it registers.",
    )


def _add_rhel(p: HostPass, res: Hypervisor) -> None:
    spec = res.spec
    assert spec.root_password_secret is not None
    cluster = _cluster(p, res)
    password = _secret_value(p, spec.root_password_secret, "password", "spec.rootPasswordSecret")
    cid = before_create(p, "InstallHost", spec.timeouts.host_install_seconds)
    host = p.ctx.client.hosts.add(
        HostCreate(
            name=res.rhev_name,
            address=spec.address,
            cluster_id=cluster.id,
            root_password=password,
            comment=owner_comment(p.ctx.uid),
            spm_priority=spec.spm_priority,
        ),
        activate=spec.state == "up",
        correlation_id=cid,
    )
    created(
        p,
        finder(p.ctx.client),
        HostDetail(**host.model_dump()),
        f"host {host.name} ({spec.address}) in cluster {cluster.name}; RHEV-M installs it",
    )
    p.start("InstallHost", cid, spec.timeouts.host_install_seconds)
    raise Wait("InstallingHost", f"RHEV-M is installing host {host.name}")


def _provision(p: HostPass, res: Hypervisor) -> None:
    """rsetboot + rpower boot: the boot device for the next boot, then power on (or reset a
    machine that is already on, so it boots from that device)."""
    spec = res.spec
    assert spec.provision is not None and spec.bmc is not None
    bmc = _bmc(p, spec.bmc)
    device = spec.provision.boot_device
    try:
        bmc.set_boot_device(device)
        on = bmc.power_state() == "on"
        if spec.provision.power_on:
            if on:
                bmc.reset()
            else:
                bmc.power_on()
    except IpmiError as exc:
        raise _ipmi_failed(
            spec.bmc, spec.bmc.credentials_secret, exc, "provisioning the host"
        ) from None
    p.ctx.bmcs.forget_power(spec.bmc.address, spec.bmc.port)
    p.start("ProvisionHost", p.ctx.correlation_id(), spec.timeouts.registration_seconds)
    what = ("reset" if on else "powered on") if spec.provision.power_on else "not powered on"
    p.did(
        "Provisioned",
        f"Set the boot device of {res.rhev_name} to {device} over IPMI ({spec.bmc.address}) "
        f"and {what} it; waiting for it to register",
    )
    raise Wait(
        "WaitingForRegistration",
        f"host {res.rhev_name} was provisioned over IPMI; waiting for it to register",
        10.0,
    )


def _ensure_admitted(p: HostPass, res: Hypervisor, host: HostDetail) -> None:
    """Approve a registered host; stall on a failed installation (retried when touched)."""
    spec = res.spec
    if host.status == "pending_approval":
        if p.status.operation is not None and p.status.operation.action == "ProvisionHost":
            p.end_operation()
        if not spec.approve:
            # Deliberately unbounded: the spec asks for a human's decision.
            raise Wait(
                "WaitingForApproval",
                f"host {host.name} is pending approval and spec.approve is false: a human must "
                "approve it in RHEV-M, or set spec.approve: true to let the operator approve it",
                30.0,
            )
        cluster = _cluster(p, res)
        client = p.ctx.client
        if not owned_by(host.comment, p.ctx.uid):
            client.hosts.update(host.id, HostUpdate(comment=owner_comment(p.ctx.uid)))
        cid = p.ctx.correlation_id()
        client.hosts.approve(
            host.id, cluster_id=cluster.id, activate=spec.state == "up", correlation_id=cid
        )
        p.start("InstallHost", cid, spec.timeouts.host_install_seconds)
        p.did("Approved", f"Approved host {host.name} into cluster {cluster.name}")
        _refresh(p, host.id)
        raise Wait("InstallingHost", f"RHEV-M is installing host {host.name}")
    if host.status == "install_failed":
        said = engine_words(p, host.id)
        if stalled_before(p, "InstallFailed"):
            _reinstall(p, res, host)
        p.end_operation()
        raise Stall(
            "InstallFailed",
            f"RHEV-M could not install host {host.name}"
            + (f": {said}" if said else "")
            + ". Fix the cause on the host, then touch the spec to retry the installation.",
        )


def _reinstall(p: HostPass, res: Hypervisor, host: HostDetail) -> None:
    spec = res.spec
    cid = p.ctx.correlation_id()
    client = p.ctx.client
    if spec.type == "rhel" and spec.root_password_secret is not None:
        password = _secret_value(
            p, spec.root_password_secret, "password", "spec.rootPasswordSecret"
        )
        client.hosts.install(
            host.id, root_password=password, activate=spec.state == "up", correlation_id=cid
        )
    else:
        cluster = _cluster(p, res)
        client.hosts.approve(
            host.id, cluster_id=cluster.id, activate=spec.state == "up", correlation_id=cid
        )
    p.start("InstallHost", cid, spec.timeouts.host_install_seconds)
    p.did("Reinstalling", f"Retrying the installation of host {host.name}")
    _refresh(p, host.id)
    raise Wait("InstallingHost", f"RHEV-M is installing host {host.name} again")


def _end_host_wait(p: HostPass, host: Host) -> None:
    operation = p.status.operation
    if operation is not None and operation.action == AWAIT_RESPONDING:
        p.end_operation()  # it responds again
        return
    if operation is None or operation.action not in HOST_WAITS:
        return
    if operation.action == "InstallHost":
        p.did("Installed", f"Host {host.name} is installed ({host.status})")
    p.end_operation()

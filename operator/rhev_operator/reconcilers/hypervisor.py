"""Hypervisor: a RHEV-M host [`chhypervisor`, `rmhypervisor`, rsetboot/rpower for provisioning].

Ladder, each step idempotent and level-based:

1. find the host (status.id, then name, then address); while there is none: a rhel host is
   added by address with its root password (RHEV-M installs it); a rhev-h host registers
   itself, after the operator set its boot device and powered it on over IPMI when
   `provision` asks for it; either way it must register within `registrationSeconds`, else
   Stalled (boot it and point it at RHEV-M, or set `provision`);
2. a registering host (`pending_approval`) is approved into its cluster when `approve` is set;
   with `approve: false` it waits for a human, deliberately without a deadline;
   installation is waited out (`hostInstallSeconds`), `install_failed` is Stalled with the
   engine's words and retried when the spec is touched;
3. a dead SPM host (`non_responsive` holding the SPM role) is powered off over IPMI and its
   reboot confirmed to RHEV-M (`fence manual`) when `fencing.autoConfirm` allows it, then
   powered on again, so the SPM role moves on;
4. name and SPM priority; power management (an `ipmilan` fence agent from `bmc` and its
   credentials Secret);
5. the cluster and `interfaces`: when either differs the host goes to maintenance, is moved,
   gets one `setupnetworks` call, and the state step below activates it again;
6. `state`: up (activate) or maintenance (deactivate).

Hosts are listed once per tick with their NICs, network attachments and fence agents inlined
(`follow`), so comparing interfaces and power management costs no request per host.
IPMI calls are synchronous (pyghmi): the handlers run in kopf's thread pool.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

from rhev_operator.api import Hypervisor, HypervisorStatus
from rhev_operator.api.hypervisor import Bmc, HostInterface
from rhev_operator.ipmi import BmcClient, IpmiAuthError, IpmiError
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    ANY_OPERATION,
    SHORT_REQUEUE,
    Context,
    Outcome,
    Pass,
    Stall,
    Wait,
    bounded_wait,
    created,
    deletion_start,
    end_waits,
    owned_by,
    owner_comment,
    resolve,
    retry_when_touched,
    run_ladder,
    stalled_before,
)
from rhev_operator.rhevm import (
    Cluster,
    FenceAgentCreate,
    FenceAgentUpdate,
    Host,
    HostCreate,
    HostUpdate,
    Network,
    NetworkAttachmentSpec,
    errors,
)
from rhev_operator.rhevm.hypervisor import FenceAgent, HostDetail

HostPass = Pass[HypervisorStatus]

#: Statuses a host passes through on its own; the ladder waits them out.
TRANSITIONAL = {
    "installing": "InstallingHost",
    "initializing": "InstallingHost",
    "unassigned": "Activating",
    "connecting": "Connecting",
    "preparing_for_maintenance": "MovingToMaintenance",
    "reboot": "Rebooting",
    "installing_os": "InstallingHost",
    "kdumping": "Rebooting",
}
#: Statuses in which the host may be removed (the engine's RemoveVds).
REMOVABLE = {
    "maintenance",
    "pending_approval",
    "install_failed",
    "non_responsive",
    "down",
    "unassigned",
    "installing_os",
    "kdumping",
}
#: Operations whose end is a steady host status.
HOST_WAITS = {"InstallHost", "ProvisionHost", "Activate", "Deactivate", "WaitForHost"}

FENCE_AGENT_TYPE = "ipmilan"
#: fence_ipmilan speaks IPMI 1.5 unless told otherwise; the BMCs the operator drives speak 2.0.
FENCE_OPTIONS = {"lanplus": "1"}
#: How long a power state read over IPMI is reused (an unreachable BMC costs ~6 s a read).
POWER_TTL = 10.0
POWER_ERROR_TTL = 30.0


# -- finders ---------------------------------------------------------------------------------


finder = finders.hosts


def _networks(ctx: Context, dc_id: str) -> dict[str, Network]:
    """The networks of a data center as the LogicalNetwork reconciler lists them."""
    f = finders.networks(ctx.client, dc_id)
    return ctx.inventory.collection(f.key, f.lister)


# -- IPMI ------------------------------------------------------------------------------------

#: Fingerprints of the fence-agent settings applied per (RHEV-M url, agent id): RHEV-M never
#: returns an agent's password, so a changed Secret is noticed here. Keyed with a random
#: per-process key; never persisted or logged.
_FINGERPRINT_KEY = secrets.token_bytes(32)
_applied_agents: dict[tuple[str, str], str] = {}


def _fingerprint(*parts: str | int) -> str:
    text = "\0".join(str(p) for p in parts).encode()
    return hmac.new(_FINGERPRINT_KEY, text, hashlib.sha256).hexdigest()


_bmc_lock = threading.Lock()
#: One client per BMC (address, port) for the whole process (pyghmi allows one session per
#: target); credentials follow the Secret.
_bmc_clients: dict[tuple[str, int], BmcClient] = {}


@dataclass
class _Reading:
    state: str
    at: float


_power_cache: dict[tuple[str, int], _Reading] = {}
_bmc_credentials: dict[tuple[str, int], str] = {}


def bmc_client(address: str, port: int, username: str, password: str) -> BmcClient:
    """The process's client for this BMC, with these credentials from now on."""
    key = (address, port)
    credentials = _fingerprint(username, password)
    with _bmc_lock:
        client = _bmc_clients.get(key)
        if client is None:
            client = _bmc_clients[key] = BmcClient(address, username, password, port=port)
        elif _bmc_credentials.get(key) != credentials:
            client.update_credentials(username, password)
            _power_cache.pop(key, None)
        _bmc_credentials[key] = credentials
        return client


def _forget_power(bmc: Bmc) -> None:
    with _bmc_lock:
        _power_cache.pop((bmc.address, bmc.port), None)


# -- secrets ---------------------------------------------------------------------------------


def _secret_value(p: HostPass, secret: str, key: str, field: str) -> str:
    data = p.ctx.secrets(secret)
    if data is None:
        raise Stall(
            "MissingSecret",
            f"{field}: Secret {p.ctx.namespace}/{secret} does not exist; create it with key "
            f"{key!r}",
        )
    value = data.get(key)
    if not value:
        raise Stall(
            "MissingSecret",
            f"{field}: Secret {p.ctx.namespace}/{secret} has no key {key!r} (or it is empty)",
        )
    return value


def _bmc(p: HostPass, bmc: Bmc) -> BmcClient:
    where = "spec.bmc.credentialsSecret"
    username = _secret_value(p, bmc.credentials_secret, "username", where)
    password = _secret_value(p, bmc.credentials_secret, "password", where)
    try:
        return bmc_client(bmc.address, bmc.port, username, password)
    except ValueError as exc:  # names the key, never the value
        raise Stall(
            "InvalidSecret", f"{where}: Secret {p.ctx.namespace}/{bmc.credentials_secret}: {exc}"
        ) from None


def _ipmi_failed(bmc: Bmc, secret: str, exc: IpmiError, doing: str) -> Wait | Stall:
    if isinstance(exc, IpmiAuthError):
        return Stall(
            "BmcAuthenticationFailed",
            f"the BMC {bmc.address}:{bmc.port} refused the credentials of Secret {secret} while "
            f"{doing}; fix the Secret's username and password",
        )
    return Wait("BmcUnreachable", f"{doing} over IPMI failed: {exc}", 15.0)


def _read_power(p: HostPass, bmc: Bmc) -> None:
    """status.powerState from IPMI, read at most every POWER_TTL seconds per BMC."""
    key = (bmc.address, bmc.port)
    now = time.monotonic()
    with _bmc_lock:
        cached = _power_cache.get(key)
    if cached is not None:
        ttl = POWER_ERROR_TTL if cached.state == "unknown" else POWER_TTL
        if now - cached.at < ttl:
            p.status.power_state = cached.state
            return
    try:
        state: str = _bmc(p, bmc).power_state()
    except Stall:
        state = "unknown"
    except IpmiError as exc:
        p.ctx.logger.warning("Hypervisor %s: reading the power state failed: %s", p.name, exc)
        state = "unknown"
    with _bmc_lock:
        _power_cache[key] = _Reading(state, now)
    p.status.power_state = state


# -- observing -------------------------------------------------------------------------------


def _hosts(ctx: Context) -> dict[str, HostDetail]:
    f = finder(ctx.client)
    return ctx.inventory.collection(f.key, f.lister)


def _observe_host(p: HostPass, res: Hypervisor, *, confirm: bool) -> HostDetail | None:
    """By status.id, then by name, then by address. With `confirm`, a host missing from the
    snapshot (up to one tick old) is looked up directly: before the operator acts on its
    absence (adds or provisions it) or deletes."""
    name, address = res.rhev_name, res.spec.address
    hosts = _hosts(p.ctx)
    known = p.status.id
    if known and known in hosts:
        return hosts[known]
    for by in ("name", "address"):
        for host in hosts.values():
            if getattr(host, by) == (name if by == "name" else address):
                return host
    if not confirm:
        return None
    client = p.ctx.client
    found: HostDetail | None = None
    if known:
        with contextlib.suppress(errors.NotFound):
            found = client.hosts.get_detailed(known)
    if found is None:
        found = client.hosts.find_detailed(name)
    if found is None:
        found = next(iter(client.hosts.list_detailed(search=f'address="{address}"')), None)
        if found is not None and found.address != address:
            found = None
    if found is not None:
        p.ctx.inventory.remember("hosts", found)
    return found


def _refresh(p: HostPass, host_id: str) -> HostDetail:
    """The host right after a write, into the snapshot so the next pass sees it."""
    host = p.ctx.client.hosts.get_detailed(host_id)
    p.ctx.inventory.remember("hosts", host)
    p.ctx.inventory.poke()
    return host


def _cluster(p: HostPass, res: Hypervisor) -> Cluster:
    found: Cluster = resolve(p, "RhevCluster", res.spec.cluster, finders.clusters(p.ctx.client))
    return found


def _cluster_name(p: HostPass, cluster_id: str | None) -> str | None:
    if not cluster_id:
        return None
    f = finders.clusters(p.ctx.client)
    cluster = p.ctx.inventory.collection(f.key, f.lister).get(cluster_id)
    return cluster.name if cluster is not None else None


def _report(p: HostPass, host: Host) -> None:
    p.status.id = host.id
    p.status.state = host.status
    p.status.spm_status = host.spm_status
    p.status.spm = host.spm_status == "spm"
    p.status.cluster = _cluster_name(p, host.cluster_id) or p.status.cluster


#: What the Stalled message of a missed deadline tells a human to do.
HOST_HINT = "Check the host in RHEV-M, then touch the spec (or delete status.operation) to retry."
#: Waits without an operation of the operator's in flight, bounded by operationSeconds.
AWAIT_RESPONDING = "AwaitHostResponding"  # non_responsive or down
AWAIT_UP = "AwaitHostUp"  # non_operational, or a status no step leads on from
#: A rhev-h host without `provision`: someone else boots it; bounded by registrationSeconds.
AWAIT_REGISTRATION = "AwaitHostRegistration"


def engine_words(p: HostPass, host_id: str | None) -> str:
    """What RHEV-M last said about the host (see `Pass.last_words`); a job only for an
    operation the operator sent (nothing was sent under a wait's own correlation id)."""
    operation = p.status.operation
    sent = operation is not None and operation.action not in (
        AWAIT_RESPONDING,
        AWAIT_UP,
        AWAIT_REGISTRATION,
    )
    return p.last_words(operation.correlation_id if operation and sent else "", "host", host_id)


def _check_deadline(p: HostPass, host_id: str | None, waiting_for: str) -> None:
    p.check_deadline(waiting_for, "host", host_id, hint=HOST_HINT)


def _waiting(
    p: HostPass, host: Host, action: str, timeout: float, reason: str, text: str, after: float
) -> NoReturn:
    """Wait out a status of the host under a deadline: the operation in flight's, else one
    started now for `action` (the operator did not start the move itself)."""
    bounded_wait(
        p,
        action,
        reason,
        text,
        timeout,
        "host",
        host.id,
        requeue_after=after,
        joins=ANY_OPERATION,
        hint=HOST_HINT,
    )


# -- the ladder ------------------------------------------------------------------------------


def reconcile(ctx: Context, resource: Hypervisor) -> Outcome:
    return run_ladder(HostPass(ctx, resource), lambda p: _ensure(p, resource))


def _ensure(p: HostPass, res: Hypervisor) -> str:
    spec = res.spec
    retry_when_touched(p)
    if spec.bmc is not None:
        _read_power(p, spec.bmc)
    else:
        p.status.power_state = None
    host = _observe_host(p, res, confirm=False)
    if host is None and _would_act_on_absence(p, res):
        host = _observe_host(p, res, confirm=True)
    if host is None:
        _ensure_registered(p, res)  # nothing to do but wait for the host
    _claim(p, res, host)
    end_waits(p, AWAIT_REGISTRATION)  # it registered (or was there all along)
    _report(p, host)
    _ensure_admitted(p, res, host)
    if host.status in ("non_responsive", "down"):
        _ensure_dead_spm_fenced(p, res, host)
        _waiting(
            p,
            host,
            AWAIT_RESPONDING,
            spec.timeouts.operation_seconds,
            "HostNotResponding",
            f"host {host.name} does not respond to RHEV-M ({host.status})"
            + (f"; power state over IPMI: {p.status.power_state}" if p.status.power_state else "")
            + "; check that it is powered on and reachable",
            15.0,
        )
    if host.status in TRANSITIONAL:
        timeout = {
            "installing": spec.timeouts.host_install_seconds,
            "initializing": spec.timeouts.host_install_seconds,
            "installing_os": spec.timeouts.host_install_seconds,
            "preparing_for_maintenance": spec.timeouts.maintenance_seconds,
        }.get(host.status or "", spec.timeouts.operation_seconds)
        _waiting(
            p,
            host,
            "WaitForHost",
            timeout,
            TRANSITIONAL[host.status or ""],
            f"host {host.name} is {host.status}",
            SHORT_REQUEUE,
        )
    _end_host_wait(p, host)
    cluster = _cluster(p, res)
    host = _ensure_fields(p, res, host)
    host = _ensure_power_management(p, res, host)
    _ensure_placement(p, res, host, cluster)
    return _ensure_state(p, res, host, cluster)


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
    cid = p.ctx.correlation_id()
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
    _forget_power(spec.bmc)
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


# -- a dead SPM ------------------------------------------------------------------------------


def _ensure_dead_spm_fenced(p: HostPass, res: Hypervisor, host: HostDetail) -> None:
    """fencing.autoConfirm: power the dead SPM host off over IPMI, confirm the reboot to
    RHEV-M (fence manual) so another host takes the SPM role, and power it on again.
    Nothing is confirmed unless the BMC reports the machine off."""
    spec = res.spec
    if not spec.fencing.auto_confirm or spec.bmc is None or host.spm_status != "spm":
        return
    if host.status != "non_responsive":
        return
    bmc = _bmc(p, spec.bmc)
    doing = "fencing the dead SPM host"
    try:
        if bmc.power_state() != "off":
            bmc.power_off()
            p.did("PoweredOff", f"Powered off the non-responsive SPM host {host.name} over IPMI")
        if bmc.power_state() != "off":
            raise Wait("FencingSpm", f"waiting for host {host.name} to power off", 5.0)
    except IpmiError as exc:
        raise _ipmi_failed(spec.bmc, spec.bmc.credentials_secret, exc, doing) from None
    cid = p.ctx.correlation_id()
    p.ctx.client.hosts.fence(host.id, "manual", correlation_id=cid)
    p.did(
        "ConfirmedReboot",
        f"Confirmed to RHEV-M that host {host.name} was rebooted (it is powered off), so the "
        "SPM role moves to another host",
    )
    try:
        bmc.power_on()
    except IpmiError as exc:
        p.warn("PowerOnFailed", f"Powering host {host.name} on again over IPMI failed: {exc}")
    else:
        p.did("PoweredOn", f"Powered host {host.name} on again over IPMI")
    _forget_power(spec.bmc)
    p.start("WaitForHost", cid, spec.timeouts.host_install_seconds)
    _refresh(p, host.id)
    raise Wait("FencingSpm", f"host {host.name} was fenced; waiting for it to come back", 10.0)


# -- fields and power management -------------------------------------------------------------


def _ensure_fields(p: HostPass, res: Hypervisor, host: HostDetail) -> HostDetail:
    spec = res.spec
    changes: dict[str, object] = {}
    if host.name != res.rhev_name:
        changes["name"] = res.rhev_name
    if spec.spm_priority is not None and host.spm_priority != spec.spm_priority:
        changes["spm_priority"] = spec.spm_priority
    if not changes:
        return host
    p.ctx.client.hosts.update(host.id, HostUpdate(**changes), correlation_id=p.ctx.correlation_id())
    p.did("Updated", f"Updated host {res.rhev_name}: {', '.join(sorted(changes))}")
    return _refresh(p, host.id)


def _ensure_power_management(p: HostPass, res: Hypervisor, host: HostDetail) -> HostDetail:
    """An ipmilan fence agent for spec.bmc (IPMI 2.0, `lanplus`, as the operator's own IPMI
    client speaks), and power management enabled."""
    bmc = res.spec.bmc
    if bmc is None:
        return host
    where = "spec.bmc.credentialsSecret"
    username = _secret_value(p, bmc.credentials_secret, "username", where)
    password = _secret_value(p, bmc.credentials_secret, "password", where)
    agents = sorted(host.fence_agents, key=lambda a: (a.order or 0, a.id))
    agent: FenceAgent | None = next((a for a in agents if a.type == FENCE_AGENT_TYPE), None)
    client = p.ctx.client
    service = client.hosts.fence_agents(host.id)
    target = f"{bmc.address}:{bmc.port}"
    wanted = _fingerprint(bmc.address, bmc.port, username, password)
    changed = False
    if agent is None:
        agent = service.add(
            FenceAgentCreate(
                type=FENCE_AGENT_TYPE,
                address=bmc.address,
                port=bmc.port,
                username=username,
                password=password,
                order=1,
                options=dict(FENCE_OPTIONS),
            ),
            correlation_id=p.ctx.correlation_id(),
        )
        p.did("PowerManagement", f"Configured an IPMI fence agent ({target}) on host {host.name}")
        changed = True
    else:
        same = (agent.address, agent.port or 623, agent.username) == (
            bmc.address,
            bmc.port,
            username,
        ) and all(agent.options.get(k) == v for k, v in FENCE_OPTIONS.items())
        if not same or _applied_agents.get((client.config.url, agent.id)) != wanted:
            agent = service.update(
                agent.id,
                FenceAgentUpdate(
                    address=bmc.address,
                    port=bmc.port,
                    username=username,
                    password=password,
                    options={**agent.options, **FENCE_OPTIONS},
                ),
                correlation_id=p.ctx.correlation_id(),
            )
            what = "address, port, user or options" if not same else "credentials from the Secret"
            p.did(
                "PowerManagement",
                f"Updated the IPMI fence agent ({target}) of host {host.name}: {what}",
            )
            changed = True
    _applied_agents[(client.config.url, agent.id)] = wanted
    if not host.power_management_enabled:
        client.hosts.update(
            host.id,
            HostUpdate(power_management_enabled=True),
            correlation_id=p.ctx.correlation_id(),
        )
        p.did("PowerManagement", f"Enabled power management of host {host.name}")
        changed = True
    return _refresh(p, host.id) if changed else host


# -- cluster and interfaces ------------------------------------------------------------------


def _network(p: HostPass, ref: str, dc_id: str | None, field: str) -> Network:
    target = p.ctx.refs.resolve("LogicalNetwork", ref)
    if target.managed and (not target.ready or target.deleting):
        state = "being deleted" if target.deleting else "not Ready yet"
        raise Wait("WaitingForDependency", f"waiting for LogicalNetwork {ref}: it is {state}", 5.0)
    for net in _networks(p.ctx, dc_id).values() if dc_id else ():
        if net.name == target.name:
            return net
    raise Wait(
        "WaitingForDependency",
        f"{field}: waiting for network {target.name!r} in the host's data center "
        "(no such LogicalNetwork Ready and no such network in RHEV-M)",
        5.0,
    )


def _ip_of(host: HostDetail, attachment_id: str) -> tuple[str, str | None, str | None, str | None]:
    att = next(a for a in host.network_attachments if a.id == attachment_id)
    for ip in att.ip_assignments:
        if ip.version in (None, "v4"):
            return (ip.assignment_method or "none", ip.address, ip.netmask, ip.gateway)
    return ("none", None, None, None)


def interface_changes(
    p: HostPass, res: Hypervisor, host: HostDetail, dc_id: str | None
) -> list[NetworkAttachmentSpec]:
    """The attachments setupnetworks must send so the host carries spec.interfaces (only
    those; other networks of the host are left alone). Empty when it already does."""
    nic_names = {nic.id: nic.name for nic in host.nics}
    by_network = {a.network_id: a for a in host.network_attachments if a.network_id}
    out: list[NetworkAttachmentSpec] = []
    for index, iface in enumerate(res.spec.interfaces):
        field = f"spec.interfaces[{index}]"
        network = _network(p, iface.network, dc_id, f"{field}.network")
        att = by_network.get(network.id)
        if att is not None and _matches(host, att.id, nic_names, iface):
            continue
        if iface.nic not in nic_names.values():
            raise Stall(
                "NoSuchNic",
                f"{field}.nic: host {host.name} has no NIC {iface.nic!r}; it has: "
                + (", ".join(sorted(nic_names.values())) or "none"),
            )
        static = iface.boot_protocol == "static"
        out.append(
            NetworkAttachmentSpec(
                id=att.id if att is not None else None,
                network_id=network.id,
                host_nic_name=iface.nic,
                boot_protocol=iface.boot_protocol or "none",
                address=iface.ip if static else None,
                netmask=iface.netmask if static else None,
                gateway=iface.gateway if static else None,
            )
        )
    return out


def _matches(
    host: HostDetail, att_id: str, nic_names: Mapping[str, str], want: HostInterface
) -> bool:
    att = next(a for a in host.network_attachments if a.id == att_id)
    nic = att.host_nic_name or nic_names.get(att.host_nic_id or "")
    if nic != want.nic:
        return False
    method, address, netmask, gateway = _ip_of(host, att_id)
    if method != (want.boot_protocol or "none"):
        return False
    if want.boot_protocol == "static":
        if (address, netmask) != (want.ip, want.netmask):
            return False
        if want.gateway is not None and gateway != want.gateway:
            return False
    return True


def _ensure_placement(p: HostPass, res: Hypervisor, host: HostDetail, cluster: Cluster) -> None:
    """The cluster, then the interfaces; both need maintenance (the state step activates the
    host again)."""
    move = host.cluster_id != cluster.id
    changes = [] if move else interface_changes(p, res, host, cluster.data_center_id)
    if not move and not changes:
        return
    why = f"to move it to cluster {cluster.name}" if move else "to set up its networks"
    if host.status != "maintenance":
        _deactivate(p, res, host, why)
    client = p.ctx.client
    if move:
        client.hosts.update(
            host.id, HostUpdate(cluster_id=cluster.id), correlation_id=p.ctx.correlation_id()
        )
        p.did("ChangedCluster", f"Moved host {host.name} to cluster {cluster.name}")
        _refresh(p, host.id)
        raise Wait("ChangingCluster", f"host {host.name} moved to cluster {cluster.name}", 0.5)
    client.hosts.setup_networks(
        host.id,
        modified_network_attachments=changes,
        commit_on_success=True,
        correlation_id=p.ctx.correlation_id(),
    )
    nets = _networks(p.ctx, cluster.data_center_id) if cluster.data_center_id else {}
    names = ", ".join(
        f"{getattr(nets.get(str(c.network_id)), 'name', c.network_id)} on {c.host_nic_name}"
        for c in changes
    )
    p.did("NetworksSetUp", f"Set up networks of host {host.name}: {names}")
    _refresh(p, host.id)
    raise Wait("SettingUpNetworks", f"networks of host {host.name} were set up", 0.5)


# -- state -----------------------------------------------------------------------------------


def _deactivate(p: HostPass, res: Hypervisor, host: Host, why: str) -> None:
    cid = p.ctx.correlation_id()
    p.ctx.client.hosts.deactivate(host.id, correlation_id=cid)
    p.start("Deactivate", cid, res.spec.timeouts.maintenance_seconds)
    p.did("MovingToMaintenance", f"Moving host {host.name} to maintenance {why}")
    _refresh(p, host.id)
    raise Wait("MovingToMaintenance", f"host {host.name} is moving to maintenance {why}")


def _ensure_state(p: HostPass, res: Hypervisor, host: HostDetail, cluster: Cluster) -> str:
    spec = res.spec
    if spec.state == "maintenance":
        if host.status != "maintenance":
            _deactivate(p, res, host, "(spec.state maintenance)")
        end_waits(p, AWAIT_UP)
        return f"host {host.name} is in maintenance in cluster {cluster.name}"
    if host.status == "maintenance":
        cid = p.ctx.correlation_id()
        p.ctx.client.hosts.activate(host.id, correlation_id=cid)
        p.start("Activate", cid, spec.timeouts.operation_seconds)
        p.did("Activating", f"Activating host {host.name}")
        _refresh(p, host.id)
        raise Wait("Activating", f"host {host.name} is being activated")
    if host.status == "non_operational":
        said = engine_words(p, host.id)
        _waiting(
            p,
            host,
            AWAIT_UP,
            spec.timeouts.operation_seconds,
            "NonOperational",
            f"host {host.name} is non_operational" + (f": {said}" if said else ""),
            15.0,
        )
    if host.status != "up":
        _waiting(
            p,
            host,
            AWAIT_UP,
            spec.timeouts.operation_seconds,
            "WaitingForHost",
            f"host {host.name} is {host.status}",
            10.0,
        )
    end_waits(p, AWAIT_UP)
    spm = ", the SPM of its data center" if host.spm_status == "spm" else ""
    return f"host {host.name} is up in cluster {cluster.name}{spm}"


# -- deletion --------------------------------------------------------------------------------


def delete(ctx: Context, resource: Hypervisor) -> Outcome:
    def steps(p: HostPass) -> str:
        host = _observe_host(p, resource, confirm=True)
        done = deletion_start(p, host, "host")
        if done is not None or host is None:
            return done or ""
        _report(p, host)
        if host.status not in REMOVABLE:
            if host.status in TRANSITIONAL:
                _waiting(
                    p,
                    host,
                    "WaitForHost",
                    resource.spec.timeouts.maintenance_seconds,
                    TRANSITIONAL[host.status or ""],
                    f"host {host.name} is {host.status}; removing it afterwards",
                    SHORT_REQUEUE,
                )
            _deactivate(p, resource, host, "before removing it")
        with contextlib.suppress(errors.NotFound):  # already gone is what we want
            ctx.client.hosts.remove(host.id, correlation_id=ctx.correlation_id())
        ctx.inventory.forget("hosts", host.id)
        p.end_operation()
        p.did("Deleted", f"Removed host {host.name}")
        return "removed from RHEV-M"

    return run_ladder(HostPass(ctx, resource), steps)

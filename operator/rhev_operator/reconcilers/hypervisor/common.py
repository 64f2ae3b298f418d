"""What the Hypervisor steps share: host statuses, the collections they read, the
BMC of a host (its credentials Secret, its power state), observing and reporting the
host, and the waits with their deadlines."""

from __future__ import annotations

import contextlib
import time
from typing import NoReturn

from rhev_operator.api import Hypervisor, HypervisorStatus
from rhev_operator.api.hypervisor import Bmc
from rhev_operator.ipmi import BmcClient, IpmiAuthError, IpmiError
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    ANY_OPERATION,
    Context,
    Pass,
    Stall,
    Wait,
    bounded_wait,
    resolve,
)
from rhev_operator.rhevm import (
    Cluster,
    Host,
    Network,
    errors,
)
from rhev_operator.rhevm.hypervisor import HostDetail

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
            f"{field}: Secret {p.ctx.namespace}/{secret} has no key {key!r} (or it is empty "
            "or not UTF-8 text)",
        )
    return value


def _bmc(p: HostPass, bmc: Bmc) -> BmcClient:
    where = "spec.bmc.credentialsSecret"
    username = _secret_value(p, bmc.credentials_secret, "username", where)
    password = _secret_value(p, bmc.credentials_secret, "password", where)
    try:
        return p.ctx.bmcs.client(bmc.address, bmc.port, username, password)
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
    return Wait(
        "BmcUnreachable",
        f"{doing} over IPMI failed: {exc}; check spec.bmc (address {bmc.address}, port "
        f"{bmc.port}) and that the BMC answers IPMI 2.0",
        15.0,
    )


def _read_power(p: HostPass, bmc: Bmc) -> None:
    """status.powerState from IPMI, read at most every POWER_TTL seconds per BMC."""
    now = time.monotonic()
    cached = p.ctx.bmcs.power(bmc.address, bmc.port)
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
    p.ctx.bmcs.remember_power(bmc.address, bmc.port, state, now)
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


def _deactivate(p: HostPass, res: Hypervisor, host: Host, why: str) -> None:
    """Ask for maintenance. A refusal (pinned or unmigratable VMs, no other Up host, a
    status the engine does not take) is reported Stalled in RHEV-M's words and never forced;
    the next pass asks again (a 409 "in progress" is only a wait)."""
    cid = p.ctx.correlation_id()
    try:
        p.ctx.client.hosts.deactivate(host.id, correlation_id=cid)
    except errors.Conflict as exc:
        if isinstance(exc, errors.Locked):
            raise
        said = exc.detail or str(exc)
        raise Stall(
            "MaintenanceRefused",
            f"RHEV-M refused to move host {host.name} to maintenance {why}: {said}; the "
            "operator does not force it: stop or move the VMs it names, or bring another host "
            "of the cluster up",
        ) from exc
    p.start("Deactivate", cid, res.spec.timeouts.maintenance_seconds)
    p.did("MovingToMaintenance", f"Moving host {host.name} to maintenance {why}")
    _refresh(p, host.id)
    raise Wait("MovingToMaintenance", f"host {host.name} is moving to maintenance {why}")

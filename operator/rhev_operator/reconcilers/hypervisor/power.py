"""Hypervisor power and fencing: whether RHEV-M will fence the host (status.fencing); a
dead SPM host is left to the engine's own fencing when it can fence it, and fenced by the
operator over IPMI only when the engine cannot and `fencing.autoConfirm` allows it; power
management (an `ipmilan` fence agent) follows `spec.bmc` and its credentials Secret."""

from __future__ import annotations

from typing import NoReturn

from rhev_operator.api import Hypervisor
from rhev_operator.api.hypervisor import FencingStatus
from rhev_operator.api.operation import operation_overdue
from rhev_operator.ipmi import IpmiError
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import Stall, Wait, stall_when_refused
from rhev_operator.reconcilers.fencing import (
    GAVE_UP,
    Fenceability,
    episode,
    fenceability,
    gave_up,
    quote,
)
from rhev_operator.reconcilers.hypervisor.common import (
    FENCE_AGENT_TYPE,
    FENCE_OPTIONS,
    HostPass,
    _bmc,
    _ipmi_failed,
    _refresh,
    _secret_value,
)
from rhev_operator.rhevm import (
    FenceAgentCreate,
    FenceAgentUpdate,
    HostUpdate,
)
from rhev_operator.rhevm.hypervisor import FenceAgent, HostDetail

# -- a dead SPM ------------------------------------------------------------------------------

#: Waiting for RHEV-M to fence a dead SPM host itself (bounded by engineFencingSeconds).
AWAIT_ENGINE_FENCING = "AwaitEngineFencing"
#: The operator's own fencing (fencing.autoConfirm): powering off, verifying, confirming.
FENCE_SPM = "FenceSpm"
#: Confirmed: waiting for another SPM and the domains active, then powering the host on.
AWAIT_NEW_SPM = "AwaitNewSpm"
#: Host statuses in which an SPM host is lost to RHEV-M.
LOST = ("connecting", "non_responsive", "down")
#: Engine events showing its fencing of the host under way (stop sent, not yet finished).
ENGINE_BUSY = (9017, 9018, 539)


def _report_fencing(p: HostPass, host: HostDetail) -> Fenceability:
    fence = fenceability(p.ctx, host)
    p.status.fencing = FencingStatus(engine=fence.engine, reason=fence.reason)
    return fence


def _dc_id(p: HostPass, host: HostDetail) -> str | None:
    cluster = finders.listed(p.ctx, finders.clusters(p.ctx.client)).get(host.cluster_id or "")
    return cluster.data_center_id if cluster is not None else None


def _other_up_hosts(p: HostPass, host: HostDetail, dc_id: str | None) -> list[str]:
    clusters = finders.listed(p.ctx, finders.clusters(p.ctx.client))
    in_dc = {c.id for c in clusters.values() if dc_id and c.data_center_id == dc_id}
    hosts: dict[str, HostDetail] = finders.listed(p.ctx, finders.hosts(p.ctx.client))
    return sorted(
        h.name for h in hosts.values() if h.cluster_id in in_dc and h.id != host.id
        and h.status == "up"
    )  # fmt: skip


def _ensure_spm_failover(
    p: HostPass, res: Hypervisor, host: HostDetail, fence: Fenceability
) -> None:
    """The SPM host stopped answering. RHEV-M fences it itself when it can: report that and
    wait, sending no power command. When it cannot (policy off, skipped, agent failing,
    no power management: its events say so, or engineFencingSeconds pass), the operator
    fences it with fencing.autoConfirm, else it is Stalled with what a human must do."""
    spec = res.spec
    name = host.name
    op = p.status.operation
    events = episode(p.ctx, host.id)
    refused = gave_up(events)
    said = quote(events[-3:])
    heard = f" RHEV-M said: {said}" if said else ""
    if op is not None and op.action == FENCE_SPM:
        _operator_fences(p, res, host, "the operator is fencing it")
    if host.status == "connecting" and refused is None:
        end = "then " + (fence.reason if fence.engine else f"cannot fence it: {fence.reason}")
        _wait_engine(p, res, "EngineGracePeriod", f"host {name}, the SPM, stopped answering; "
                     f"RHEV-M waits out its grace period, {end}.{heard}")  # fmt: skip
    busy = [e for e in events if e.code in ENGINE_BUSY or e.code in GAVE_UP]
    if busy and busy[-1].code in ENGINE_BUSY and fence.engine:
        _wait_engine(p, res, "EngineFencing", f"RHEV-M is fencing host {name} (the SPM) "
                     f"through its power management; the operator sends no power command."
                     f"{heard}")  # fmt: skip
    if refused is None and fence.engine:
        overdue = (
            op is not None and op.action == AWAIT_ENGINE_FENCING and operation_overdue(op, p.now)
        )
        if not overdue:
            _wait_engine(p, res, "EngineFencing", f"host {name}, the SPM, does not respond: "
                         f"{fence.reason}; the operator waits and sends no power command."
                         f"{heard}")  # fmt: skip
        why = (
            f"RHEV-M did not fence host {name} within timeouts.engineFencingSeconds "
            f"({spec.timeouts.engine_fencing_seconds} s)"
        )
    elif refused is not None:
        why = f"RHEV-M did not fence host {name}: {refused.description} (event {refused.code})"
    else:
        why = f"RHEV-M cannot fence host {name}: {fence.reason}"
    others = _other_up_hosts(p, host, _dc_id(p, host))
    if not others:
        raise Stall(
            "SpmHostLost",
            f"{why}. Host {name} is the SPM and the only host of its data center: no other "
            f"host can take the role, so nothing is confirmed. Bring host {name} back (power "
            "it on, check its network and VDSM), or add and activate another host.",
        )
    if not spec.fencing.auto_confirm or spec.bmc is None:
        bmc = f" (its BMC {spec.bmc.address}:{spec.bmc.port})" if spec.bmc else ""
        raise Stall(
            "ManualFenceRequired",
            f"{why}. Host {name} holds the SPM role, so its data center has no working SPM. "
            f"A human must: 1. make sure host {name} is powered off{bmc}; 2. confirm it in "
            f"RHEV-M (Hosts > {name} > Confirm 'Host has been rebooted', i.e. fence "
            f"type manual); the SPM role then moves to {others[0]}. Or set "
            "spec.fencing.autoConfirm: true and the operator does both over IPMI.",
        )
    _operator_fences(p, res, host, why)


def _wait_engine(p: HostPass, res: Hypervisor, reason: str, message: str) -> NoReturn:
    op = p.status.operation
    if op is None or op.action != AWAIT_ENGINE_FENCING:
        p.start(
            AWAIT_ENGINE_FENCING, p.ctx.correlation_id(), res.spec.timeouts.engine_fencing_seconds
        )
    raise Wait(reason, message, 10.0)


def _operator_fences(p: HostPass, res: Hypervisor, host: HostDetail, why: str) -> NoReturn:
    """fencing.autoConfirm: power the dead SPM host off over IPMI, verify it is off, confirm
    the reboot to RHEV-M (fence manual) so another host takes the SPM role. Nothing is
    confirmed unless the BMC reports the machine off."""
    spec = res.spec
    assert spec.bmc is not None
    op = p.status.operation
    if op is None or op.action != FENCE_SPM:
        p.start(FENCE_SPM, p.ctx.correlation_id(), spec.timeouts.spm_election_seconds)
        p.warn("FencingSpm", f"{why}; the operator fences host {host.name} (fencing.autoConfirm)")
    bmc = _bmc(p, spec.bmc)
    doing = "fencing the dead SPM host"
    try:
        state = bmc.power_state()
        if state != "off":
            bmc.power_off()
            p.ctx.bmcs.forget_power(spec.bmc.address, spec.bmc.port)
            p.did("PoweredOff", f"Powered off the non-responsive SPM host {host.name} over IPMI")
            state = bmc.power_state()
    except IpmiError as exc:
        raise _ipmi_failed(spec.bmc, spec.bmc.credentials_secret, exc, doing) from None
    if state != "off":
        p.check_deadline(f"host {host.name} to power off", "host", host.id)
        raise Wait("FencingSpm", f"waiting for host {host.name} to power off ({state})", 2.0)
    cid = p.ctx.correlation_id()
    with stall_when_refused(
        "ConfirmRefused",
        f"confirm that host {host.name} was rebooted",
        "Check the data center and its hosts in RHEV-M.",
    ):
        p.ctx.client.hosts.fence(host.id, "manual", correlation_id=cid)
    p.did(
        "ConfirmedReboot",
        f"Confirmed to RHEV-M that host {host.name} was rebooted (it is powered off, verified "
        "over IPMI), so the SPM role moves to another host",
    )
    p.start(AWAIT_NEW_SPM, cid, spec.timeouts.spm_election_seconds)
    _refresh(p, host.id)
    raise Wait(
        "WaitingForSPM",
        f"host {host.name} is off and confirmed rebooted; waiting for another SPM and the "
        "storage domains to be active before powering it on",
        2.0,
    )


def _ensure_new_spm_then_power_on(p: HostPass, res: Hypervisor, host: HostDetail) -> None:
    """After a confirmed reboot: another host holds the SPM role and the data center's
    domains are active again; then the host is powered on over IPMI."""
    spec = res.spec
    op = p.status.operation
    if op is None or op.action != AWAIT_NEW_SPM or spec.bmc is None:
        return
    dc_id = _dc_id(p, host)
    holder = finders.spm_of(p.ctx, dc_id) if dc_id else None
    domains = finders.attached_storage_domains(p.ctx, dc_id) if dc_id else {}
    pending = sorted(f"{d.name} ({d.status})" for d in domains.values() if d.status == "unknown")
    if holder is None or holder[1] != "spm" or holder[0] == host.name or pending:
        spm = f"SPM: {holder[0]} ({holder[1]})" if holder else "SPM: none"
        p.check_deadline("another SPM and active storage domains", "host", host.id)
        raise Wait(
            "WaitingForSPM",
            f"host {host.name} was confirmed rebooted; waiting for another SPM and the storage "
            f"domains ({spm}; unknown: {', '.join(pending) or 'none'})",
            2.0,
        )
    try:
        _bmc(p, spec.bmc).power_on()
    except IpmiError as exc:
        raise _ipmi_failed(spec.bmc, spec.bmc.credentials_secret, exc, "powering on") from None
    p.ctx.bmcs.forget_power(spec.bmc.address, spec.bmc.port)
    p.did(
        "PoweredOn",
        f"Powered host {host.name} on again over IPMI ({holder[0]} is the SPM, the storage "
        "domains are active)",
    )
    p.start("WaitForHost", p.ctx.correlation_id(), spec.timeouts.host_install_seconds)
    raise Wait("Rebooting", f"host {host.name} was powered on; waiting for it to come back", 10.0)


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
    wanted = p.ctx.bmcs.fingerprint(bmc.address, bmc.port, username, password)
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
        if not same or p.ctx.bmcs.applied_agent(client.config.url, agent.id) != wanted:
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
    p.ctx.bmcs.agent_applied(client.config.url, agent.id, bmc.address, bmc.port, wanted)
    if not host.power_management_enabled:
        client.hosts.update(
            host.id,
            HostUpdate(power_management_enabled=True),
            correlation_id=p.ctx.correlation_id(),
        )
        p.did("PowerManagement", f"Enabled power management of host {host.name}")
        changed = True
    return _refresh(p, host.id) if changed else host

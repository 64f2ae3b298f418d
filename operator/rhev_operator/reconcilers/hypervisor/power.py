"""Hypervisor power and fencing: a dead SPM host is fenced over IPMI when
`fencing.autoConfirm` allows it, and power management (an `ipmilan` fence agent) follows
`spec.bmc` and its credentials Secret."""

from __future__ import annotations

from rhev_operator.api import Hypervisor
from rhev_operator.ipmi import IpmiError
from rhev_operator.reconcilers.base import Wait
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
    p.ctx.bmcs.forget_power(spec.bmc.address, spec.bmc.port)
    p.start("WaitForHost", cid, spec.timeouts.host_install_seconds)
    _refresh(p, host.id)
    raise Wait("FencingSpm", f"host {host.name} was fenced; waiting for it to come back", 10.0)


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

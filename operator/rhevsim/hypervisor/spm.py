"""SPM election: per data center, among its Up hosts, by priority (forceselectspm first)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rhevsim.datacenter import DataCenter, recompute_status
from rhevsim.event import CODES
from rhevsim.hypervisor.host import Host, dc_of, hosts_in_dc, hosts_state, reachable
from rhevsim.model import Entity
from rhevsim.storagedomain.entity import attached_to, master_of

if TYPE_CHECKING:
    from rhevsim.registry import Registry


def release_spm(reg: Registry, dc: DataCenter) -> None:
    dc.spm_host_id = None
    dc.spm_status = "none"


def domains_unknown(reg: Registry, dc: DataCenter) -> None:
    """No working SPM: the pool's active domains are reported Unknown (IrsProxy
    failing: the engine cannot reach the pool's storage through an SPM)."""
    for sd in attached_to(reg, dc.id):
        if sd.dc_status == "active":
            sd.dc_status = "unknown"


def domains_back(reg: Registry, dc: DataCenter) -> None:
    """An SPM runs again: the domains it sees are active after one monitoring cycle."""
    if not any(sd.dc_status == "unknown" for sd in attached_to(reg, dc.id)):
        return

    def monitored() -> None:
        if reg.get(DataCenter, dc.id) is not dc or dc.spm_status != "spm":
            return
        for sd in attached_to(reg, dc.id):
            if sd.dc_status == "unknown":
                sd.dc_status = "active"
        recompute_status(reg, dc)

    reg.schedule("storage.monitor", monitored, f"domain monitor {dc.name}")


def _candidates(reg: Registry, dc: DataCenter) -> list[Host]:
    st = hosts_state(reg)
    pref = st.preferred.get(dc.id)
    ups = [
        h
        for h in hosts_in_dc(reg, dc.id)
        if h.status == "up" and h.spm_priority > -1 and reachable(reg, h)
    ]
    return sorted(ups, key=lambda h: (h.id != pref, -h.spm_priority, h.name, h.id))


def _needs_spm(reg: Registry, dc: DataCenter) -> bool:
    master = master_of(reg, dc.id)
    return master is not None and master.dc_status not in (
        "maintenance",
        "preparing_for_maintenance",
        "detaching",
    )


def elect(reg: Registry, dc: DataCenter, correlation_id: str | None = None) -> None:
    """Bring the data center's SPM in line with its hosts and storage (idempotent)."""
    st = hosts_state(reg)
    blocked_id = st.blocked.get(dc.id)
    if blocked_id is not None:
        blocked = reg.get(Host, blocked_id)
        if blocked is not None and dc_of(reg, blocked) is dc:
            if blocked.status == "up" and reachable(reg, blocked):
                # It answers again: it still holds the SPM lease.
                del st.blocked[dc.id]
                dc.spm_host_id, dc.spm_status = blocked.id, "spm"
                domains_back(reg, dc)
            else:
                dc.spm_host_id, dc.spm_status = blocked.id, "none"
            recompute_status(reg, dc, correlation_id)
            return
        del st.blocked[dc.id]
        release_spm(reg, dc)
    if not _needs_spm(reg, dc):
        st.searching.pop(dc.id, None)
        st.gen[dc.id] = st.gen.get(dc.id, 0) + 1
        release_spm(reg, dc)
        recompute_status(reg, dc, correlation_id)
        return
    cur = reg.get(Host, dc.spm_host_id) if dc.spm_host_id else None
    if cur is not None and dc.spm_status in ("spm", "contending"):
        in_dc = dc_of(reg, cur) is dc
        if in_dc and cur.status == "up" and reachable(reg, cur):
            pref = st.preferred.get(dc.id)
            if pref is None or pref == cur.id or dc.spm_status == "contending":
                recompute_status(reg, dc, correlation_id)
                return
            release_spm(reg, dc)  # forceselectspm: SpmStop on the current one
        elif in_dc and dc.spm_status == "spm" and not reachable(reg, cur):
            st.blocked[dc.id] = cur.id
            dc.spm_status = "none"
            st.searching.pop(dc.id, None)
            domains_unknown(reg, dc)
            reg.event(
                CODES["SYSTEM_CHANGE_STORAGE_POOL_STATUS_PROBLEMATIC"],
                f"Invalid status on Data Center {dc.name}. Setting status to Non Responsive.",
                "warning",
                correlation_id=correlation_id,
                user=None,
                data_center=dc,
            )
            recompute_status(reg, dc, correlation_id)
            return
        else:
            release_spm(reg, dc)
    elif cur is not None:
        release_spm(reg, dc)
    if dc.id in st.searching:
        recompute_status(reg, dc, correlation_id)
        return
    gen = st.gen[dc.id] = st.gen.get(dc.id, 0) + 1
    st.searching[dc.id] = gen
    release_spm(reg, dc)
    recompute_status(reg, dc, correlation_id)

    def pick() -> None:
        if st.searching.get(dc.id) != gen or reg.get(DataCenter, dc.id) is not dc:
            return
        del st.searching[dc.id]
        if dc.spm_host_id is not None or not _needs_spm(reg, dc):
            return  # someone holds the role already, or the storage went away
        cands = _candidates(reg, dc)
        if not cands:
            # Nobody can be SPM (no Up host with priority > -1): stay problematic until a
            # host comes up (its status change re-runs the election).
            recompute_status(reg, dc, correlation_id)
            return
        h = cands[0]
        dc.spm_host_id, dc.spm_status = h.id, "contending"
        recompute_status(reg, dc, correlation_id)

        def started() -> None:
            if st.gen.get(dc.id) != gen or dc.spm_host_id != h.id:
                return
            if h.status != "up" or not reachable(reg, h) or dc_of(reg, h) is not dc:
                release_spm(reg, dc)
                elect(reg, dc, correlation_id)
                return
            dc.spm_status = "spm"
            if st.preferred.get(dc.id) == h.id:
                del st.preferred[dc.id]
            domains_back(reg, dc)
            reg.event(
                CODES["IRS_HOSTED_ON_VDS"],
                f"Storage Pool Manager runs on Host {h.name} (Address: {h.address}), Data "
                f"Center {dc.name}.",
                correlation_id=correlation_id,
                user=None,
                host=h,
                data_center=dc,
            )
            recompute_status(reg, dc, correlation_id)

        reg.schedule("spm.start", started, f"spm start {h.name}")

    reg.schedule("spm.elect", pick, f"spm elect {dc.name}")


def elect_now(reg: Registry, dc: DataCenter) -> None:
    """Inventory load: pick the SPM at once (an engine that has been running)."""
    st = hosts_state(reg)
    st.searching.pop(dc.id, None)  # a search started while storage loaded is moot now
    st.gen[dc.id] = st.gen.get(dc.id, 0) + 1
    if not _needs_spm(reg, dc):
        return
    cands = _candidates(reg, dc)
    if cands:
        dc.spm_host_id, dc.spm_status = cands[0].id, "spm"
    recompute_status(reg, dc)


def host_fenced(reg: Registry, h: Host, correlation_id: str | None) -> None:
    """The host is known to be down (restart/stop/manual fence): release its SPM role."""
    st = hosts_state(reg)
    dc = dc_of(reg, h)
    if dc is None:
        return
    dc.spm_fence_failed = False
    if st.blocked.get(dc.id) == h.id:
        del st.blocked[dc.id]
        release_spm(reg, dc)
    elif dc.spm_host_id == h.id:
        release_spm(reg, dc)
    elect(reg, dc, correlation_id)


def dc_status_changed(reg: Registry, dc: Entity) -> None:
    if isinstance(dc, DataCenter):
        elect(reg, dc)

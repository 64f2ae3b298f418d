"""VirtualMachine one-time requests, given as annotations [`rsetboot`, `rpower reset`].

- `rhev.io/boot-once: network|hd`: the next start the operator makes boots once from that
  device (RHEV-M's Run Once; the VM's own boot order, spec.bootOrder, is unchanged). While
  the VM runs, or while powerState is not Running, the request waits in
  `status.bootOncePending`; the start records it in `status.bootOnceDone`. The operator
  never restarts a running VM for it (rsetboot sets the next boot; it does not boot).
  Removing the annotation clears `bootOnceDone`, so the same device can be asked again.
- `rhev.io/reset: <token>`: a running VM is reset once per new token with RHEV-M's `reset`
  action (a hard reset, like the reset button, as `rpower reset` is; the engine allows it
  from cluster level 4.6), recorded in `status.resetDone`. A VM that is down or suspended is
  left alone (a Warning Event says so); a start the operator makes itself serves the token
  too, since the VM boots afresh either way.

Status records the last value done, so a resync or a restarted operator never repeats one.
An invalid value stalls the resource (reason InvalidAnnotation) before anything is sent to
RHEV-M.
"""

from __future__ import annotations

from dataclasses import dataclass

from rhev_operator.api import VirtualMachine
from rhev_operator.api.virtualmachine import (
    BOOT_ONCE_ANNOTATION,
    BOOT_ONCE_DEVICES,
    RESET_ANNOTATION,
    BootDevice,
)
from rhev_operator.reconcilers.base import Stall, stall_when_refused
from rhev_operator.reconcilers.virtualmachine.common import VP
from rhev_operator.rhevm.virtualmachine import VmDetail

#: The VM states a reset applies to (the engine: running, but not wait_for_launch; the
#: ladder has waited out the transitions before this step).
RESETTABLE = ("up", "paused")


@dataclass(frozen=True)
class Requests:
    """The one-time requests of the resource's annotations (validated)."""

    boot_once: BootDevice | None
    reset: str | None


def _invalid(annotation: str, value: str, allowed: str) -> Stall:
    return Stall(
        "InvalidAnnotation",
        f"annotation {annotation}: {value!r} is not allowed; allowed: {allowed}. Fix or remove "
        "the annotation; nothing was changed in RHEV-M",
    )


def read_requests(res: VirtualMachine) -> Requests:
    """The annotations' requests, or Stall (InvalidAnnotation) naming the annotation and the
    allowed values."""
    annotations = res.metadata.annotations
    boot = annotations.get(BOOT_ONCE_ANNOTATION)
    if boot is not None and boot not in BOOT_ONCE_DEVICES:
        raise _invalid(BOOT_ONCE_ANNOTATION, boot, " or ".join(BOOT_ONCE_DEVICES))
    reset = annotations.get(RESET_ANNOTATION)
    if reset is not None and not reset.strip():
        raise _invalid(RESET_ANNOTATION, reset, "any non-empty token, e.g. a timestamp")
    return Requests(boot, reset)


def note_boot_once(p: VP, asked: Requests) -> None:
    """Forget what the annotation no longer asks: a removed annotation clears
    status.bootOnceDone (and a pending request), one already done is not pending."""
    if asked.boot_once is None:
        p.status.boot_once_pending = None
        p.status.boot_once_done = None
    elif asked.boot_once == p.status.boot_once_done:
        p.status.boot_once_pending = None


def _boot_once_asked(p: VP, res: VirtualMachine) -> BootDevice | None:
    device = read_requests(res).boot_once
    return device if device is not None and device != p.status.boot_once_done else None


def boot_once_for_start(p: VP, res: VirtualMachine, vm: VmDetail) -> list[str] | None:
    """The one-time boot devices of a start from down, if a boot-once is asked."""
    device = _boot_once_asked(p, res)
    return [device] if device is not None and vm.status == "down" else None


def started(p: VP, res: VirtualMachine, vm: VmDetail, boot_devices: list[str] | None) -> None:
    """A start from down was sent: the waiting boot-once and reset are done."""
    if boot_devices:
        device = _boot_once_asked(p, res)
        p.status.boot_once_done = device
        p.status.boot_once_pending = None
        p.did(
            "BootOnce",
            f"VM {vm.name} boots once from {device} ({BOOT_ONCE_ANNOTATION}); its boot order "
            "is unchanged",
        )
    token = _reset_asked(p, res)
    if token is not None:
        p.status.reset_done = token
        p.did("Reset", f"VM {vm.name} was started, which serves {RESET_ANNOTATION}={token}")


def _reset_asked(p: VP, res: VirtualMachine) -> str | None:
    token = res.metadata.annotations.get(RESET_ANNOTATION)
    return token if token and token != p.status.reset_done else None


def ensure_reset(p: VP, res: VirtualMachine, vm: VmDetail) -> None:
    """Reset the running VM once per new rhev.io/reset token."""
    token = _reset_asked(p, res)
    if token is None:
        return
    state = vm.status or "unknown"
    if state not in RESETTABLE:
        p.status.reset_done = token
        p.warn(
            "ResetSkipped",
            f"VM {vm.name} is {state}: {RESET_ANNOTATION}={token} resets a running VM only; "
            "nothing was done",
        )
        return
    with stall_when_refused(
        "ResetRefused",
        f"reset VM {vm.name}",
        f"Resolve what RHEV-M names, or remove the {RESET_ANNOTATION} annotation.",
    ):
        p.ctx.client.vms.reset(vm.id, correlation_id=p.ctx.correlation_id())
    p.status.reset_done = token
    p.did("Reset", f"Reset VM {vm.name} ({RESET_ANNOTATION}={token})")


def pending_note(p: VP) -> str:
    """What the Ready message says of a boot-once that waits for the next start."""
    device = p.status.boot_once_pending
    if device is None:
        return ""
    return f"; {BOOT_ONCE_ANNOTATION}={device} applies at its next start"


def announce_pending(p: VP, res: VirtualMachine, vm: VmDetail) -> None:
    """A boot-once the power step did not serve waits for the VM's next start: recorded in
    status.bootOncePending, with one Event when it starts to wait."""
    device = _boot_once_asked(p, res)
    if device is not None and device != p.status.boot_once_pending:
        p.status.boot_once_pending = device
        p.did(
            "BootOncePending",
            f"VM {vm.name} is {vm.status}: {BOOT_ONCE_ANNOTATION}={device} applies at its next "
            "start (the operator does not restart it)",
        )

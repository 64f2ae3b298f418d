"""VirtualMachine: a RHEV-M VM with its disks, NICs, placement and power state [`mkvm`,
`chvm`, `rmvm`, `rpower`, `rsetboot`, `rmigrate`, `wvid`].

Ladder, each step idempotent and level-based (one step per pass where RHEV-M must work):

1. resolve the cluster (wait for it); observe the VM in the once-per-tick listing;
2. no VM: wait for the template (a VmTemplate resource must be Ready, a RHEV-M template
   `ok`), the placement host, the NICs' networks (attached to the cluster, with a vNIC
   profile) and the disks' storage domains (active in the cluster's data center), confirm
   the absence with one direct lookup, then create the VM [`mkvm`]; an existing VM is
   claimed (ours by the owner marker in its comment) or adopted (`adopt`);
3. wait out transitional states (image_locked, wait_for_launch, powering_up/down,
   saving_state, restoring_state, reboot_in_progress, migrating) under a deadline;
4. configuration [`chvm`, `rsetboot`, `wvid`]: memory, CPU, boot order and display are
   changed at once on a stopped VM; on a running one they are staged for its next start
   (`next_run`) and the resource reports Reconciling, reason PendingRestart, until it is
   stopped: never a silent power cycle. Placement (affinity, host) is changed at once;
5. disks, one at a time, each waited out (locked -> ok) before the next; then NICs;
6. power [`rpower`]: Running (start, resume), Stopped (graceful shutdown, a hard stop
   once `timeouts.shutdownSeconds` pass), Suspended (start first when down, then suspend);
7. a running VM not on `placement.host` is migrated there [`rmigrate`] and the migration
   waited out (migrating -> up on the target) under `timeouts.migrationSeconds`;
8. one-time requests (`requests`): `rhev.io/boot-once: network|hd` rides on the next start
   the power step makes (Run Once), pending in status while the VM runs [`rsetboot`];
   `rhev.io/reset: <token>` resets a running VM once per token [`rpower reset`]. An invalid
   value stalls the resource (InvalidAnnotation) before step 1 sends anything.

Every wait has a deadline: an operation's own, else one recorded for the wait (a
transition or a locked disk the operator did not start, a VM whose host does not answer, a
placement host that is not up); past it the resource is Stalled quoting RHEV-M's job or
event, and goes on by itself once the wait is over. PendingRestart alone has none: it
waits for the user to stop the VM.

Disks and NICs: spec disk i is the disk aliased `<vm>_Disk<i+1>` (RHEV-M's own naming, so
a VM made by `mkvm` is matched when adopted); NICs are matched by name. Missing ones are
added; a disk grows when its size grows (RHEV-M never shrinks one). Removal: only disks and
NICs this resource created are removed when they leave the spec. They are recognised by
the owner marker the operator writes into the disk's `comment` and the NIC's
`description` when it creates them, which survives a lost status; a disk or NIC that came
from the template, was there when the VM was adopted, or was added by hand is never
removed. Removing a disk deletes its data, and RHEV-M only lets go of an active disk of a
stopped VM, so a disk leaves a running VM as a PendingRestart (when it is stopped); a NIC
is unplugged, then removed. With a template other than Blank, spec.disks are extra disks
next to the template's (as `mkvm` did).

Memory and CPU of a running VM are always staged, never hot-plugged, so what runs changes
only at a restart the user asks for. A cluster change applies to a stopped VM only.

Fields are enforced only when the spec sets them. A VM created from Blank gets the spec's
defaults (2Gi, 1x1 CPU, network boot, eth0 on rhevm); one created from another template
keeps the template's unless the spec sets them (as `mkvm` did).

Status: host, installMac (the install NIC's MAC, else the first NIC's, as `mkvm` records
it), nics (name, network, MAC), disks, state. VMs are listed once per tick with their disk
attachments (disks inlined) and NICs (`follow`): no request per VM per tick.

Delete (deletionPolicy Delete): a hard stop, then the VM is removed with its disks;
Retain leaves it as it is.
"""

from __future__ import annotations

from rhev_operator.reconcilers.virtualmachine.common import finder
from rhev_operator.reconcilers.virtualmachine.ladder import delete, reconcile

__all__ = ["delete", "finder", "reconcile"]

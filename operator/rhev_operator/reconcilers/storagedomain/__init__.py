"""StorageDomain: an NFS or local storage domain and its attachment to a data center
[`cfgve -t sd`].

Ladder: resolve the data center -> refuse a storage type that does not match it (before
anything is sent) -> observe the domain (by status.id, else name) -> create it through an
up host, or claim it -> walk it, one engine step at a time, to the spec's `state`:

    unattached --attach--> locked -> (maintenance) -> activating|locked -> active
    active --deactivate--> preparing_for_maintenance -> maintenance
    maintenance --activate--> activating (the master: locked) -> active
    maintenance --detach--> detaching -> unattached

Each step is waited out (never slept on) under the in-flight operation record, with the
spec's timeouts; past the deadline the resource is Stalled quoting the engine's job or
event. So are the waits for an up host (WaitingForHost, bounded by activationSeconds:
hosts take minutes to install) and for a state no step leads on from (UnexpectedState).
The state comes from the data center's view (/datacenters/{dc}/storagedomains),
the only place the engine reports it. Attaching and activating need the data center's
SPM, except for the data domain that brings the data center up (the first one, or any
data domain while the data center's storage is in maintenance): otherwise the resource
waits with reason WaitingForSPM.

Deletion: maintenance, detach, remove (`removal.format` wipes the storage); refused while
the domain holds disks unless `removal.force`.
"""

from __future__ import annotations

from rhev_operator.reconcilers.storagedomain.common import finder
from rhev_operator.reconcilers.storagedomain.ladder import delete, reconcile

__all__ = ["delete", "finder", "reconcile"]

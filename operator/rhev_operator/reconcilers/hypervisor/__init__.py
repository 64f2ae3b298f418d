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

from rhev_operator.reconcilers.hypervisor.common import finder
from rhev_operator.reconcilers.hypervisor.ladder import delete, reconcile

__all__ = ["delete", "finder", "reconcile"]

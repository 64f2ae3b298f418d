"""VmTemplate: a template made from a VM that is down [`clonevm <vm> -t <template>`].

Ladder: observe the template (by status.id, else name) -> when absent: resolve the source
VM (a VirtualMachine resource, else a RHEV-M VM by name) and the cluster, wait until the VM
is down (never powering it off), create the template -> claim an existing one (`adopt`)
-> wait while it is `locked` (RHEV-M copies the VM's disks; the VM is `image_locked`
meanwhile) -> correct drift on what the spec sets -> Ready, only at `ok`.

Creation is one operation (CreateTemplate) recorded in status with its correlation id and
a deadline (`timeouts.creationSeconds`): past it the resource is Stalled quoting the
engine's job or event. When the copies fail, RHEV-M deletes the template again
(AddVmTemplateCommand.endWithFailure): a template that vanishes while CreateTemplate is in
flight is Stalled with the engine's failure event, and retried when the spec is touched.
Ready also waits for the creation job to end (peers: `ok` can show before the job ends).

Deletion honours deletionPolicy; Blank is never removed (RHEV-M refuses). RHEV-M refuses
to remove a template while VMs are based on it: the resource waits (TemplateInUse) with
the engine's words, Stalled past `timeouts.operationSeconds`, and goes on once the VMs
are gone. A removal is waited out (the template is locked until its disks are deleted).

Templates are listed once per tick (key "templates"); VMs through the same key and lister
as the VirtualMachine kind (`vm_finder`, from the shared finders).
"""

from __future__ import annotations

import contextlib
import functools

from rhev_operator.api import VmTemplate, VmTemplateStatus
from rhev_operator.api.conditions import get_condition
from rhev_operator.reconcilers import finders
from rhev_operator.reconcilers.base import (
    UPDATE_HINT,
    Context,
    Outcome,
    Pass,
    Stall,
    Wait,
    before_create,
    bounded_wait,
    claim,
    created,
    deletion_start,
    engine_says,
    observe,
    owner_comment,
    refused,
    removed_unless_refused,
    resolve,
    retry_when_touched,
    run_ladder,
    stall_when_refused,
)
from rhev_operator.rhevm import (
    BLANK_TEMPLATE_ID,
    Cluster,
    Template,
    TemplateCreate,
    TemplateUpdate,
    Vm,
    errors,
    jobs_state,
)

TP = Pass[VmTemplateStatus]

CREATE = "CreateTemplate"
AWAIT = "AwaitTemplate"  # a lock the operator did not start (adopted, or a lost status)
WAIT_VM = "WaitForSourceVm"
WAIT_DISKS = "WaitForSourceDisks"
REMOVE = "RemoveTemplate"
AWAIT_UNUSED = "AwaitTemplateUnused"

#: The only state in which a template is usable (a VirtualMachine waits for it).
OK = "ok"
#: Event codes of the engine about a template's creation (AuditLogType).
CREATION_FAILED = 52


finder = finders.templates


vm_finder = finders.vms


# -- reconcile -------------------------------------------------------------------------


def reconcile(ctx: Context, resource: VmTemplate) -> Outcome:
    return run_ladder(TP(ctx, resource), lambda p: _ensure(p, resource))


def _ensure(p: TP, res: VmTemplate) -> str:
    retry_when_touched(p)
    _still_failed(p, res)
    find = finder(p.ctx.client)
    template: Template | None = observe(p, find, res.rhev_name)
    if template is None:
        _vanished(p, res)
        template = _create(p, res)
    else:
        claim(p, template, res.spec.adopt)
    p.status.state = template.status
    _await_creation(p, res, template)
    _check_cluster(p, res, template)
    template = _ensure_fields(p, res, template)
    p.status.state = template.status
    return f"template {template.name} is {template.status}"


def _still_failed(p: TP, res: VmTemplate) -> None:
    """Already Stalled for a failed creation of this generation, and the template is still
    not listed: say so again without asking RHEV-M anything."""
    op = p.status.operation
    stalled = get_condition(p.status.conditions, "Stalled")
    if (
        op is None
        or op.action != CREATE
        or stalled is None
        or stalled.status != "True"
        or stalled.reason != "CreationFailed"
    ):
        return
    find = finder(p.ctx.client)
    if p.ctx.inventory.find(find.key, find.lister, id=p.status.id, name=res.rhev_name) is None:
        raise Stall("CreationFailed", stalled.message or "template creation failed")


def _vanished(p: TP, res: VmTemplate) -> None:
    """A template that disappears while its creation is in flight failed in the engine."""
    op = p.status.operation
    if op is None or op.action != CREATE or not p.status.id:
        return
    said = _failure_words(p, p.status.id, op.correlation_id)
    p.status.state = None
    raise Stall(
        "CreationFailed",
        f"RHEV-M failed to create template {res.rhev_name} from VM {res.spec.source_vm}"
        + (f": {said}" if said else " (the template is gone; RHEV-M reported nothing)")
        + ". Fix the cause in RHEV-M (see its events), then touch the spec to try again.",
    )


def _failure_words(p: TP, template_id: str, correlation_id: str) -> str:
    """The engine's failure event about the template, else its job."""
    for event in p.ctx.inventory.events_for("template", template_id, limit=10):
        if event.code == CREATION_FAILED:
            return f"{event.description} (event {event.code})"
    return p.last_words(correlation_id, "template", template_id)


def _source_vm(p: TP, res: VmTemplate) -> Vm:
    if res.spec.source_vm is None:  # only with adopt: there is nothing to make it from
        raise Stall(
            "NotFound",
            f"template {res.rhev_name} does not exist in RHEV-M and spec.sourceVm is not set; "
            "set spec.sourceVm to make it, or fix spec.name to adopt an existing template",
        )
    vm: Vm = resolve(p, "VirtualMachine", res.spec.source_vm, vm_finder(p.ctx.client))
    return vm


def _create(p: TP, res: VmTemplate) -> Template:
    """Create the template once the source VM is down; waits while RHEV-M copies disks."""
    spec = res.spec
    name = res.rhev_name
    vm = _source_vm(p, res)
    cluster: Cluster | None = None
    if spec.cluster is not None:
        cluster = resolve(p, "RhevCluster", spec.cluster, finders.clusters(p.ctx.client))
    if vm.status != "down":
        _wait_for_source_vm(p, res, vm)
    _wait_for_source_disks(p, res, vm)
    if p.status.operation is not None and p.status.operation.action in (WAIT_VM, WAIT_DISKS):
        p.end_operation()
    cid = before_create(p, CREATE, spec.timeouts.creation_seconds)
    try:
        template = p.ctx.client.templates.add(
            TemplateCreate(
                name=name,
                vm_id=vm.id,
                cluster_id=cluster.id if cluster is not None else None,
                description=spec.description,
                comment=owner_comment(p.ctx.uid),
            ),
            correlation_id=cid,
        )
    except errors.RhevmError as exc:
        p.end_operation()
        if isinstance(exc, errors.Locked):
            # The listing was a tick old: the VM was started or locked meanwhile.
            vms = vm_finder(p.ctx.client)
            current: Vm = vms.get(vm.id)
            p.ctx.inventory.remember(vms.key, current)
            if current.status != "down":
                _wait_for_source_vm(p, res, current)
            raise
        if isinstance(exc, errors.AlreadyExists) or not refused(exc):
            raise
        raise Stall(
            "CreateRefused",
            f"RHEV-M refused to create template {name} from VM {vm.name}: {engine_says(exc)}. "
            "Correct the spec or the VM; the operator retries on the next change.",
        ) from None
    created(p, finder(p.ctx.client), template, f"template {name} from VM {vm.name}")
    p.status.state = template.status
    # The engine locks the VM while it copies its disks (image_locked): show it now.
    vms = vm_finder(p.ctx.client)
    with contextlib.suppress(errors.NotFound):
        p.ctx.inventory.remember(vms.key, vms.get(vm.id))
    if template.status == OK:
        return template  # no disks to copy: made at once
    raise Wait(
        "CreatingTemplate",
        f"RHEV-M is making template {name} from VM {vm.name} (copying its disks)",
    )


def _wait_for_source_disks(p: TP, res: VmTemplate, vm: Vm) -> None:
    """The engine refuses a template while a disk of the VM is locked (being created, or
    copied for another template: CreateImageTemplateCommand locks the source images): wait
    for them, bounded by operationSeconds."""
    attachments = getattr(vm, "disk_attachments", ())
    locked = sorted(
        a.disk.name or a.disk.id
        for a in attachments
        if a.disk is not None and a.disk.status == "locked"
    )
    if not locked:
        return
    bounded_wait(
        p,
        WAIT_DISKS,
        "WaitingForSourceDisks",
        f"waiting for the source VM's disks: {', '.join(locked)} of VM {vm.name} "
        "are locked (RHEV-M is still creating or copying them)",
        res.spec.timeouts.operation_seconds,
        "vm",
        vm.id,
        requeue_after=5.0,
    )


def _wait_for_source_vm(p: TP, res: VmTemplate, vm: Vm) -> None:
    """The VM must be down; the operator never powers it off. Bounded by operationSeconds,
    after which the resource is Stalled (and still goes on once the VM is down)."""
    message = (
        f"source VM {vm.name} is {vm.status}; a template is made only from a VM that is down "
        "(the operator does not power it off: shut it down, or set the VirtualMachine's "
        "powerState to Stopped)"
    )
    bounded_wait(
        p,
        WAIT_VM,
        "WaitingForSourceVm",
        f"waiting for the source VM: {message}",
        res.spec.timeouts.operation_seconds,
        "vm",
        vm.id,
        requeue_after=5.0,
        stall_reason="WaitingForSourceVm",
        hint="Shut the VM down (or stop it through its VirtualMachine); the template is made "
        "once it is down.",
    )


def _await_creation(p: TP, res: VmTemplate, template: Template) -> None:
    """Wait while the template is locked; close the creation record once it is ok and its
    job has ended."""
    op = p.status.operation
    if template.status == "locked":
        waiting_for = f"template {template.name} is locked"
        source = _source_state(p, res)
        if source:
            waiting_for += f", {source}"
        creating = op is not None and op.action == CREATE
        # Not started by this resource (adopted, or the status patch was lost): bounded all
        # the same.
        bounded_wait(
            p,
            AWAIT,
            "CreatingTemplate" if creating else "TemplateLocked",
            f"{waiting_for}: RHEV-M is copying its disks",
            res.spec.timeouts.creation_seconds,
            "template",
            template.id,
            joins=(CREATE,),
        )
    if template.status == "illegal":
        said = _failure_words(p, template.id, op.correlation_id if op is not None else "")
        raise Stall(
            "TemplateIllegal",
            f"template {template.name} is illegal in RHEV-M"
            + (f": {said}" if said else "")
            + ". Repair or remove it in RHEV-M.",
        )
    if op is None or op.action not in (CREATE, AWAIT, WAIT_VM, WAIT_DISKS):
        return
    if op.action == CREATE:
        state = jobs_state(p.ctx.client.jobs.find_by_correlation_id(op.correlation_id))
        if state == "started":
            _check_deadline(p, template, f"template {template.name} is ok, its job has not ended")
            raise Wait(
                "CreatingTemplate",
                f"template {template.name} is ok; waiting for RHEV-M's job to end",
            )
        p.did("TemplateReady", f"Template {template.name} is ok (its disks are copied)")
    p.end_operation()


def _source_state(p: TP, res: VmTemplate) -> str:
    """The source VM's state as the inventory shows it (image_locked while it is copied)."""
    if res.spec.source_vm is None:
        return ""
    target = p.ctx.refs.resolve("VirtualMachine", res.spec.source_vm)
    find = vm_finder(p.ctx.client)
    vm: Vm | None = p.ctx.inventory.find(find.key, find.lister, id=target.id, name=target.name)
    return f"source VM {vm.name} is {vm.status}" if vm is not None else ""


def _check_deadline(p: TP, template: Template, waiting_for: str) -> None:
    """Stall past the operation's deadline, quoting the engine's job (of an operation that
    was sent), else its newest event about the template."""
    op = p.status.operation
    sent = op is not None and op.action in (CREATE, REMOVE)
    p.check_deadline(waiting_for, "template", template.id, jobs=sent)


def _check_cluster(p: TP, res: VmTemplate, template: Template) -> None:
    """RHEV-M does not move a template to another cluster."""
    spec = res.spec
    if spec.cluster is None or template.cluster_id is None:
        return
    cl: Cluster = resolve(p, "RhevCluster", spec.cluster, finders.clusters(p.ctx.client))
    if cl.id == template.cluster_id:
        return
    f = finders.clusters(p.ctx.client)
    current = p.ctx.inventory.collection(f.key, f.lister).get(template.cluster_id)
    where = current.name if current is not None else template.cluster_id
    raise Stall(
        "ClusterChangeRefused",
        f"template {template.name} is in cluster {where}; RHEV-M does not move a template to "
        f"another cluster ({cl.name}). Set spec.cluster back to {where}, or delete this "
        f"resource (and the template) and create it again in {cl.name}.",
    )


def _ensure_fields(p: TP, res: VmTemplate, template: Template) -> Template:
    """Correct drift on what the spec sets (and only that), with one Event."""
    spec = res.spec
    changes: dict[str, object] = {}
    if spec.description is not None and (template.description or "") != spec.description:
        changes["description"] = spec.description
    if template.name != res.rhev_name:
        changes["name"] = res.rhev_name
    if not changes:
        return template
    fields = ", ".join(sorted(changes))
    doing = f"change {fields} of template {template.name}"
    with stall_when_refused("UpdateRefused", doing, UPDATE_HINT):
        updated = p.ctx.client.templates.update(
            template.id, TemplateUpdate(**changes), correlation_id=p.ctx.correlation_id()
        )
    p.ctx.inventory.remember(finder(p.ctx.client).key, updated)
    p.did("Updated", f"Updated template {res.rhev_name}: {fields}")
    return updated


# -- delete ----------------------------------------------------------------------------


def delete(ctx: Context, resource: VmTemplate) -> Outcome:
    return run_ladder(TP(ctx, resource), lambda p: _delete(p, resource))


def _delete(p: TP, res: VmTemplate) -> str:
    ctx = p.ctx
    find = finder(ctx.client)
    template: Template | None = observe(p, find, res.rhev_name)
    op = p.status.operation
    if template is None and op is not None and op.action == REMOVE:
        p.end_operation()
        p.did("Deleted", f"Removed template {res.rhev_name}")
        return "removed from RHEV-M"
    blank = template is not None and template.id == BLANK_TEMPLATE_ID
    keep = "Left template Blank in RHEV-M (RHEV-M never removes it)" if blank else None
    done = deletion_start(p, template, "template", never_removed=keep)
    if done is not None or template is None:
        return done or ""
    p.status.state = template.status
    if template.status == "locked":
        removing = op is not None and op.action == REMOVE
        bounded_wait(
            p,
            AWAIT,
            "RemovingTemplate" if removing else "TemplateLocked",
            f"template {template.name} is locked"
            + (": RHEV-M is removing it" if removing else "; removed once RHEV-M unlocks it"),
            res.spec.timeouts.creation_seconds,
            "template",
            template.id,
            joins=(CREATE, REMOVE),
        )
    _remove(p, res, template)
    raise AssertionError("unreachable")  # _remove always raises Wait or Stall


def _remove(p: TP, res: VmTemplate, template: Template) -> None:
    ctx = p.ctx
    op = p.status.operation
    if op is not None and op.action == REMOVE:
        # Sent before, yet the template is back to ok: the engine's removal failed.
        _check_deadline(p, template, f"template {template.name} is still {template.status}")
    # VMs based on it (their resources are deleted too, or a human removes them): wait,
    # bounded; the removal is retried on every pass and goes on once they are gone.
    cid = removed_unless_refused(
        p,
        functools.partial(ctx.client.templates.remove, template.id),
        what=f"remove template {template.name}",
        action=AWAIT_UNUSED,
        reason="TemplateInUse",
        timeout_seconds=res.spec.timeouts.operation_seconds,
        stall_reason="TemplateInUse",
        hint="Remove the VMs it names (or delete their VirtualMachine resources); the "
        "removal goes on once they are gone.",
    )
    op = p.status.operation
    if op is None or op.action != REMOVE:
        p.start(REMOVE, cid, res.spec.timeouts.operation_seconds)
    p.did("Deleting", f"Removing template {template.name}")
    ctx.inventory.poke()
    raise Wait("RemovingTemplate", f"RHEV-M is removing template {template.name}")

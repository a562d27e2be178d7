"""The plan controller's migration pass (pkg/controller/plan/controller.go `execute`,
migration.go `Run`/`Cancel`, scheduler/vsphere/scheduler.go `Next`, pkg/controller/migration
`reflect` at v2.12.5): start the active Migration's snapshot, step the running VMs, schedule
more within the ForkliftController's max VMs in flight per ESXi host, cancel what
`spec.cancel` lists or a deleted Migration leaves, end the snapshot, and mirror it all onto the
Migration's status.
"""

from lab.controllers.forklift import itinerary, phases
from lab.controllers.forklift.conditions import ADVISORY, CRITICAL, REQUIRED
from lab.controllers.forklift.credentials import secret_data
from lab.controllers.forklift.kinds import PROVIDER, SECRET
from lab.controllers.forklift.migration import Context, active_migration, begin, cancel_deleted, end
from lab.controllers.objects import owner_reference
from lab.controllers.runtime import now

POLL_SECONDS = 1.0
_FREE_PHASES = {"CopyingPaused", "ConvertGuest", "CreateGuestConversionPod", "CreateVM", "PostHook", "Completed"}
_LIFECYCLE = ("Executing", "Succeeded", "Failed", "Canceled")


def _cost(ctx, vm: dict) -> int:
    """scheduler.cost: 1 when virt-v2v copies, else the disks not yet transferred; 0 in the light phases."""
    if vm["phase"] in _FREE_PHASES:
        return 0
    if ctx.v2v(vm):
        return 1
    transfer = phases.step(vm, itinerary.DISK_TRANSFER) or {"tasks": []}
    return sum(1 for task in transfer["tasks"] if task.get("phase") != "Completed") or 1


def _schedule(ctx, status: dict) -> None:
    """Run the started VMs, then start pending ones while their ESXi host has room."""
    host_of = {vm["id"]: ctx.collector.documents("vms").get(vm["id"], {}).get("host") for vm in status["vms"]}
    for vm in status["vms"]:
        if vm.get("started") and not vm.get("completed"):
            phases.execute(ctx, vm)
    for vm in status["vms"]:
        if vm.get("started") or vm.get("completed"):
            continue
        if ctx.canceled(vm):
            phases.execute(ctx, vm)
            continue
        busy = sum(_cost(ctx, other) for other in status["vms"] if other.get("started")
                   and not other.get("completed") and host_of[other["id"]] == host_of[vm["id"]])
        if busy + 1 > ctx.settings.max_vm_inflight:
            continue
        phases.execute(ctx, vm)


def _cancel(ctx, status: dict) -> None:
    """Migration.Cancel: canceled VMs not yet completed are cleaned up and powered on again if they were on."""
    for vm in status["vms"]:
        canceled = any(c["type"] == "Canceled" for c in vm.get("conditions") or [])
        if canceled and not vm.get("completed"):
            phases.cleanup(ctx, vm)
            if vm.get("restorePowerState") == "On":
                ctx.source.power_on(vm["id"])
            for each in vm.get("pipeline") or []:
                if each.get("phase") == "Running":
                    each.update(phase="Completed", completed=now())
            vm["completed"] = now()


def _reflect(api, migration: dict, plan: dict, status: dict, staged) -> None:
    """The migration controller: Ready from the plan, Running while the snapshot executes, the end
    conditions copied from it, and the VMs' statuses."""
    snapshot = status["history"][-1] if status.get("history") else {}
    mine = (snapshot.get("migration") or {}).get("uid") == migration["metadata"]["uid"]
    conditions = [c for c in (migration.get("status") or {}).get("conditions") or [] if c.get("durable")]
    if staged.has_blocker():
        conditions.append({"type": "PlanNotReady", "status": "True", "category": CRITICAL,
                           "message": "The associated plan does not have the Ready condition.",
                           "lastTransitionTime": now()})
    else:
        conditions.append({"type": "Ready", "status": "True", "category": REQUIRED,
                           "message": "The migration is ready.", "lastTransitionTime": now()})
    for condition in snapshot.get("conditions") or [] if mine else []:
        if condition["type"] == "Executing":
            conditions.append({**condition, "type": "Running", "message": "The migration is RUNNING.",
                               "durable": False})
        elif condition["type"] not in {c["type"] for c in conditions}:
            conditions.append(condition)
    _keep_times(migration, conditions)
    new = {"conditions": conditions, "observedGeneration": migration["metadata"].get("generation")}
    if mine:
        new.update({k: status[k] for k in ("started", "completed", "vms") if k in status})
    api.replace_status(migration, new)


def _keep_times(obj: dict, conditions: list) -> None:
    before = {c["type"]: c for c in (obj.get("status") or {}).get("conditions") or []}
    for condition in conditions:
        old = before.get(condition["type"])
        if old and old.get("status") == condition["status"] and old.get("message") == condition.get("message"):
            condition["lastTransitionTime"] = old["lastTransitionTime"]


def _own(api, plan: dict, migration: dict) -> dict:
    if any(ref.get("uid") == plan["metadata"]["uid"] for ref in migration["metadata"].get("ownerReferences") or []):
        return migration
    refs = (migration["metadata"].get("ownerReferences") or []) + [owner_reference(plan, controller=False)]
    return api.patch(migration, {"metadata": {"ownerReferences": refs}}, guarded=True)


def _ensure_namespace(api, name: str) -> None:
    """The target namespace is created when the migration starts (plan/kubevirt.go `EnsureNamespace`)."""
    api.create_if_absent({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})


def run(api, plan: dict, staged, collector, maps, settings):
    """The plan's `status.migration` after this pass, and the seconds until the next (None: idle)."""
    status = dict((plan.get("status") or {}).get("migration") or {})
    snapshot = status["history"][-1] if status.get("history") else None
    executing = snapshot is not None and any(c["type"] == "Executing" for c in snapshot["conditions"])
    migration = active_migration(api, plan)
    provider = collector.provider
    secret = api.get(*SECRET, provider["spec"]["secret"]["name"], provider["spec"]["secret"]["namespace"]) or {}
    ctx = None
    try:
        if executing and (migration is None or migration["metadata"]["uid"] != snapshot["migration"]["uid"]):
            ctx = Context(api, plan, {"metadata": snapshot["migration"], "spec": {}}, collector,
                          secret_data(secret), maps, settings)
            cancel_deleted(status)
            _cancel(ctx, status)
            status["completed"] = now()
            executing = False
        if migration is None:
            return status, None
        migration = _own(api, plan, migration)
        if not executing:
            if staged.has_blocker():
                _reflect(api, migration, plan, status, staged)
                return status, None
            documents = [(entry, collector.documents("vms")[_vm_id(collector, entry)]) for entry in plan["spec"]["vms"]]
            destination = plan["spec"]["provider"]["destination"]
            providers = (provider, api.get(*PROVIDER, destination["name"], destination["namespace"]))
            _ensure_namespace(api, plan["spec"]["targetNamespace"])
            status = begin(plan, migration, documents, providers, maps)
        ctx = Context(api, plan, migration, collector, secret_data(secret), maps, settings)
        _schedule(ctx, status)
        _cancel(ctx, status)
        done = end(status)
        _reflect(api, migration, plan, status, staged)
        return status, None if done else POLL_SECONDS
    finally:
        if ctx is not None:
            ctx.close()


def archive(api, plan: dict, collector, maps, settings) -> None:
    """Reconciler.archive / Migration.Archive: a best-effort cleanup of every VM of the plan (the source's
    last warm snapshot only while its provider still answers)."""
    status = (plan.get("status") or {}).get("migration") or {}
    snapshot = status["history"][-1] if status.get("history") else None
    if not status.get("vms") or snapshot is None:
        return
    secret = {}
    if collector is not None:
        ref = collector.provider["spec"]["secret"]
        secret = secret_data(api.get(*SECRET, ref["name"], ref["namespace"]) or {})
    ctx = Context(api, plan, {"metadata": snapshot["migration"], "spec": {}}, collector, secret, maps, settings)
    try:
        for vm in status["vms"]:
            phases.cleanup(ctx, vm, source=collector is not None)
    finally:
        ctx.close()


def _vm_id(collector, entry: dict) -> str:
    if entry.get("id"):
        return entry["id"]
    return next(doc["id"] for doc in collector.documents("vms").values() if doc["name"] == entry.get("name"))


def lifecycle(staged, status: dict) -> None:
    """The plan's Executing / Succeeded / Failed / Canceled, copied from the active snapshot."""
    snapshot = status["history"][-1] if status.get("history") else {}
    for condition in snapshot.get("conditions") or []:
        if condition["type"] in _LIFECYCLE:
            staged.set(condition["type"], ADVISORY, condition["message"], reason=condition.get("reason"),
                       durable=condition["type"] != "Executing")

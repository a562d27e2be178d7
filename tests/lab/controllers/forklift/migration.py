"""Running a plan: the active Migration's snapshot and each VM through its itinerary
(pkg/controller/plan/migration.go `Run`, `begin`, `execute`, `Cancel`, `end`, `updateCopyProgress`;
pkg/controller/plan/scheduler/vsphere/scheduler.go; pkg/controller/migration/controller.go at v2.12.5).

Everything a migration knows lives in the Plan's `status.migration` (written guarded by the
resourceVersion it was computed from), in vcsim and in the labelled target objects, so a
controller restart resumes each VM at its phase.

Disk transfer (CopyDisks) follows the DataVolumes' progress; virt-v2v's copy (CopyDisksVirtV2V)
runs at LAB_MIGRATION_BANDWIDTH MiB/s, one disk after the other, from the step's start time.
"""

import os
import re

from lab.controllers.forklift import itinerary
from lab.controllers.forklift.conditions import ADVISORY
from lab.controllers.forklift.kinds import GROUP_VERSION
from lab.controllers.forklift.source import session
from lab.controllers.runtime import now

MIGRATION = (GROUP_VERSION, "Migration")
BANDWIDTH_ENV = "LAB_MIGRATION_BANDWIDTH"
CONVERSION_SECONDS = 1.0  # virt-v2v's guest conversion, lab-short
_FINAL = ("Succeeded", "Failed", "Canceled")


def bandwidth_bytes() -> float:
    """LAB_MIGRATION_BANDWIDTH (MiB/s, default 4096): how fast a simulated copy moves a disk."""
    return float(os.environ.get(BANDWIDTH_ENV, "4096")) * 2**20


def _has(obj: dict, type_: str) -> bool:
    return any(c["type"] == type_ and c.get("status") == "True" for c in (obj or {}).get("conditions") or [])


def _migration_of(plan: dict, migration: dict) -> bool:
    ref = migration["spec"].get("plan") or {}
    return ref.get("name") == plan["metadata"]["name"] and \
        (ref.get("namespace") or migration["metadata"]["namespace"]) == plan["metadata"]["namespace"]


def active_migration(api, plan: dict):
    """The oldest Migration of the plan that has not ended (pending ones wait their turn)."""
    candidates = [m for m in api.list(*MIGRATION, namespace=plan["metadata"]["namespace"])
                  if _migration_of(plan, m) and not m["metadata"].get("deletionTimestamp")
                  and not any(_has(m.get("status"), t) for t in _FINAL)]
    candidates.sort(key=lambda m: (m["metadata"]["creationTimestamp"], m["metadata"]["name"]))
    return candidates[0] if candidates else None


def dns1123_name(name: str) -> str:
    """changeVmName: lowercase, labels of [a-z0-9-] with `_ + * space / \\` as `-`, at most 63 characters."""
    labels = []
    for label in name.lower().strip(".-").split("."):
        label = re.sub(r"[^a-z0-9-]", "", re.sub(r"[_+* /\\]", "-", label))
        label = re.sub(r"-+", "-", label).strip("-")[:63]
        if label:
            labels.append(label)
    return ".".join(labels)[:63].strip(".-")


# --- the snapshot (history entry) of a migration ---------------------------------------------------

def _ref(obj: dict) -> dict:
    meta = obj["metadata"]
    return {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "generation": meta.get("generation")}


def begin(plan: dict, migration: dict, documents: list, providers: tuple, maps: tuple) -> dict:
    """Migration.begin: a new history snapshot Executing, and the VMs (re)set to their itinerary's start;
    VMs that already succeeded in an earlier migration are kept."""
    status = dict((plan.get("status") or {}).get("migration") or {})
    history = list(status.get("history") or [])
    history.append({"conditions": [_condition("Executing", "The plan is EXECUTING.")],
                    "plan": _ref(plan), "migration": _ref(migration),
                    "provider": {"source": _ref(providers[0]), "destination": _ref(providers[1])},
                    "map": {"network": _ref(maps[0]), "storage": _ref(maps[1])}})
    previous = {vm["id"]: vm for vm in status.get("vms") or []}
    vms = []
    for entry, document in documents:
        old = previous.get(document["id"])
        if old and old.get("completed") and _has(old, "Succeeded"):
            vms.append(old)
            continue
        vms.append({"id": document["id"], "name": document["name"], "phase": "Started",
                    **({"targetName": entry["targetName"]} if entry.get("targetName") else {}),
                    "pipeline": itinerary.pipeline(plan, itinerary.v2v_transfer(plan, entry, maps[1]), document)})
    return {"started": now(), "history": history, "vms": vms}


def _condition(type_: str, message: str, reason: str = None) -> dict:
    condition = {"type": type_, "status": "True", "category": ADVISORY, "message": message, "durable": True,
                 "lastTransitionTime": now()}
    if reason:
        condition["reason"] = reason
    return condition


def set_vm_condition(vm: dict, type_: str, message: str, reason: str = None) -> None:
    vm["conditions"] = [c for c in vm.get("conditions") or [] if c["type"] != type_] + \
        [_condition(type_, message, reason)]


def end(status: dict) -> bool:
    """Migration.end: once every VM completed, the snapshot Failed, Succeeded or Canceled."""
    vms = status.get("vms") or []
    if not all(vm.get("completed") for vm in vms):
        return False
    snapshot = status["history"][-1]
    if any(_has(vm, "Failed") for vm in vms):
        outcome = ("Failed", "The plan execution has FAILED.")
    elif any(_has(vm, "Succeeded") for vm in vms):
        outcome = ("Succeeded", "The plan execution has SUCCEEDED.")
    else:
        outcome = ("Canceled", "The plan execution has been CANCELED.")
    snapshot["conditions"] = [c for c in snapshot["conditions"] if c["type"] != "Executing"] + \
        [_condition(*outcome)]
    status["completed"] = now()
    return True


def cancel_deleted(status: dict) -> None:
    """The active snapshot's Migration was deleted: cancel it (reason Deleted) and every unfinished VM."""
    snapshot = status["history"][-1]
    snapshot["conditions"] = [c for c in snapshot["conditions"] if c["type"] != "Executing"] + \
        [_condition("Canceled", "The migration has been deleted.", reason="Deleted")]
    for vm in status.get("vms") or []:
        if not vm.get("completed"):
            set_vm_condition(vm, "Canceled", "The migration has been canceled.", reason="UserRequested")
            vm["phase"] = "Completed"


# --- the per-VM context ---------------------------------------------------------------------------

class Context:
    """What one pass over a plan's VMs needs; the vSphere session is opened on first use."""

    def __init__(self, api, plan, migration, collector, secret_data, maps, settings):
        self.api, self.plan, self.migration, self.collector = api, plan, migration, collector
        self.secret_data, self.settings = secret_data, settings
        self.network_map, self.storage_map = maps
        self._session, self._source = None, None

    @property
    def source(self):
        if self._source is None:
            self._session = session(self.collector.provider, self.secret_data)
            self._source = self._session.__enter__()
        return self._source

    def close(self) -> None:
        if self._session is not None:
            self._session.__exit__(None, None, None)

    def document(self, vm: dict) -> dict:
        return self.collector.documents("vms")[vm["id"]]

    def entry(self, vm: dict) -> dict:
        return next((e for e in self.plan["spec"].get("vms") or []
                     if e.get("id") == vm["id"] or (not e.get("id") and e.get("name") == vm["name"])), {})

    def v2v(self, vm: dict) -> bool:
        return itinerary.v2v_transfer(self.plan, self.entry(vm), self.storage_map)

    def canceled(self, vm: dict) -> bool:
        return any(ref.get("id") == vm["id"] for ref in self.migration["spec"].get("cancel") or [])


def step(vm: dict, name: str):
    return next((s for s in vm.get("pipeline") or [] if s["name"] == name), None)


def _complete_step(current: dict) -> None:
    if current is None or current.get("phase") == "Completed":
        return
    current.setdefault("started", now())
    current.update(phase="Completed", completed=now())
    current["progress"]["completed"] = current["progress"]["total"]


def start_step(current: dict) -> None:
    if current is not None and current.get("phase") == "Pending":
        current.update(phase="Running", started=now())


def advance(ctx: Context, vm: dict, phase: str = None) -> None:
    """NextPhase: the VM's next phase; a step whose last phase this was is Completed."""
    old = vm["phase"]
    new = phase or itinerary.next_phase(ctx.plan, ctx.v2v(vm), old)
    old_step, new_step = itinerary.step_of(ctx.plan, old), itinerary.step_of(ctx.plan, new)
    if new == "Completed":
        for each in vm["pipeline"]:
            _complete_step(each)
    elif old_step != new_step:
        _complete_step(step(vm, old_step))
        start_step(step(vm, new_step))
    vm["phase"] = new

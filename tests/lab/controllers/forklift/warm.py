"""The warm phases (pkg/controller/plan/migration.go `execute`: the snapshot, checkpoint, CopyingPaused
and Finalize cases, `setDataVolumeCheckpoints`; adapter/vsphere/client.go `SetCheckpoints`,
`GetSnapshotDeltas` at v2.12.5).

Each precopy is a vcsim snapshot whose tasks are followed by moRef from `warm.precopies`.
The precopy interval is the ForkliftController's `controller_precopy_interval` minutes, on a
lab clock where a minute lasts LAB_PRECOPY_MINUTE seconds (default 0.1: 60 minutes = 6 s).
"""

import os
import time
from datetime import datetime, timezone

from lab.controllers.forklift import itinerary, target
from lab.controllers.forklift.migration import step
from lab.controllers.objects import parse_time
from lab.controllers.runtime import now


def precopy_seconds(settings) -> float:
    return settings.precopy_interval_minutes * float(os.environ.get("LAB_PRECOPY_MINUTE", "0.1"))


def _at(seconds_from_now: float) -> str:
    return datetime.fromtimestamp(time.time() + seconds_from_now, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _precopies(vm: dict) -> list:
    return vm.setdefault("warm", {"successes": 0, "failures": 0, "consecutiveFailures": 0}).setdefault(
        "precopies", [])


def create_snapshot(ctx, vm) -> bool:
    """CreateSnapshot: a new precopy; the current step's disk tasks start over (resetPrecopyTasks)."""
    precopies = _precopies(vm)
    task_id = ctx.source.create_snapshot(vm["id"], f"forklift-migration-precopy-{len(precopies)}")
    precopies.append({"start": now(), "createTaskId": task_id})
    current = step(vm, itinerary.step_of(ctx.plan, vm["phase"]))
    for task in (current or {}).get("tasks") or []:
        task.update(phase="Running", started=now(), annotations={**task.get("annotations", {}),
                                                                  "Precopy": str(len(precopies))})
        task.pop("completed", None)
        task["progress"]["completed"] = 0
    return True


def wait_for_snapshot(ctx, vm) -> bool:
    precopy = _precopies(vm)[-1]
    state, result = ctx.source.task(precopy["createTaskId"])
    if state == "error":
        raise RuntimeError(f"snapshot task {precopy['createTaskId']} failed")
    if state == "success":
        precopy["snapshot"] = result
    return state == "success"


def store_deltas(ctx, vm) -> bool:
    """GetSnapshotDeltas: each disk's change ID in the snapshot (vcsim keeps none, so they are empty)."""
    _precopies(vm)[-1]["deltas"] = [{"disk": disk["file"], "deltaId": ""} for disk in ctx.document(vm)["disks"]]
    return True


def remove_snapshot(ctx, vm) -> bool:
    precopy = _precopies(vm)[-1]
    if not precopy.get("removeTaskId"):
        precopy["removeTaskId"] = ctx.source.remove_snapshot(precopy["snapshot"])
    return True


def wait_for_removal(ctx, vm) -> bool:
    state, _ = ctx.source.task(_precopies(vm)[-1]["removeTaskId"])
    return state == "success"


def checkpoints(vm: dict) -> list:
    """SetCheckpoints: one per precopy, each naming the snapshot before it."""
    snapshots = [p["snapshot"] for p in _precopies(vm)]
    return [{"previous": snapshots[i - 1] if i else "", "current": s} for i, s in enumerate(snapshots)]


def add_checkpoint(ctx, vm) -> bool:
    """setDataVolumeCheckpoints, then back to CopyDisks (or on to Finalize after the final one)."""
    final = vm["phase"] == "AddFinalCheckpoint"
    for dv in target.data_volumes(ctx.api, ctx.plan, vm["id"]):
        ctx.api.patch(dv, {"spec": {"checkpoints": checkpoints(vm), "finalCheckpoint": final}})
    vm["phase"] = "Finalize" if final else "CopyDisks"
    return False


def copy_done(ctx, vm) -> None:
    """A precopy's transfer finished: its end, the next precopy's time, one more success."""
    warm = vm["warm"]
    _precopies(vm)[-1]["end"] = now()
    warm["nextPrecopyAt"] = _at(precopy_seconds(ctx.settings))
    warm["successes"] = warm.get("successes", 0) + 1


def copying_paused(ctx, vm) -> bool:
    """CopyingPaused: a cutover time that has passed goes to StorePowerState; else the next precopy when due."""
    cutover = ctx.migration["spec"].get("cutover")
    if cutover and parse_time(cutover) <= time.time():
        vm["phase"] = "StorePowerState"
        current = step(vm, itinerary.DISK_TRANSFER)
        current.update(phase="Completed", completed=now())
        cut = step(vm, itinerary.CUTOVER)
        cut.update(phase="Running", started=now())
        return False
    due = (vm.get("warm") or {}).get("nextPrecopyAt")
    return bool(due) and parse_time(due) <= time.time()


def remove_last_snapshot(ctx, vm) -> None:
    """removeLastWarmSnapshot: the newest precopy's snapshot, unless its removal has started."""
    precopies = (vm.get("warm") or {}).get("precopies") or []
    if precopies and precopies[-1].get("snapshot") and not precopies[-1].get("removeTaskId"):
        if precopies[-1]["snapshot"] in ctx.source.snapshot_ids(vm["id"]):
            precopies[-1]["removeTaskId"] = ctx.source.remove_snapshot(precopies[-1]["snapshot"])

"""What each phase of a VM's itinerary does (pkg/controller/plan/migration.go `execute` at v2.12.5);
the warm ones are in `warm`.

A handler returns True when the VM may go to its next phase; it may also set the phase itself.
"""

import time

from lab.controllers.forklift import itinerary, target, warm
from lab.controllers.forklift.migration import (CONVERSION_SECONDS, advance, bandwidth_bytes, dns1123_name,
                                                set_vm_condition, start_step, step)
from lab.controllers.forklift.kinds import PVC, SECRET, VIRTUAL_MACHINE
from lab.controllers.forklift.populator import XCOPY_POPULATOR
from lab.controllers.forklift.plan import dns1123_subdomain, is_warm, shift_datastores
from lab.controllers.objects import owner_reference, parse_time
from lab.controllers.runtime import now



def started(ctx, vm) -> bool:
    vm["started"] = now()
    name = vm.get("targetName") or vm["name"]
    vm["newName"] = name if dns1123_subdomain(name) else dns1123_name(name)
    return True


def store_power_state(ctx, vm) -> bool:
    vm["restorePowerState"] = ctx.source.power_state(vm["id"])
    return True


def power_off_source(ctx, vm) -> bool:
    ctx.source.power_off(vm["id"])
    return True


def wait_for_power_off(ctx, vm) -> bool:
    return ctx.source.power_state(vm["id"]) == "Off"


def create_data_volumes(ctx, vm) -> bool:
    """EnsureDataVolumes: one DataVolume per disk not yet made (found by labels and disk-source)."""
    document = ctx.document(vm)
    made = set(target.disk_claims(ctx.api, ctx.plan, vm["id"]))
    v2v = ctx.v2v(vm)
    secret_name = "" if v2v else _vddk_secret(ctx, vm)
    source = {"provider": ctx.collector.provider, "secret": secret_name,
              "vddk_image": (ctx.collector.provider["spec"].get("settings") or {}).get("vddkInitImage")
              or ctx.settings.vddk_image}
    shift = shift_datastores(ctx.api, ctx.storage_map)
    datastores = ctx.collector.documents("datastores")
    for index, disk in enumerate(document["disks"]):
        if disk["file"] in made:
            continue
        pair = target.offload_pair(ctx.storage_map, disk["datastore"]["id"]) if ctx.settings.copy_offload else {}
        if pair:
            _offload_claim(ctx, document, disk, pair)
        elif disk["datastore"]["id"] in shift:
            ctx.api.create(target.shift_claim(ctx.api, ctx.plan, ctx.migration, document, index, disk,
                                              ctx.storage_map, datastores[disk["datastore"]["id"]]))
        else:
            dv = target.data_volume(ctx.plan, ctx.migration, document, disk, ctx.storage_map, source, v2v)
            if is_warm(ctx.plan):
                dv["spec"].update(checkpoints=warm.checkpoints(vm), finalCheckpoint=False)
            ctx.api.create(dv)
    return True


def _offload_claim(ctx, document, disk, pair) -> None:
    """PopulatorVolumes: the claim, then its populator owned by it (both found again by name)."""
    claim, populator = target.offload_claim(ctx.plan, ctx.migration, document, disk, pair)
    created = ctx.api.ensure(claim)
    populator["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                                 "name": created["metadata"]["name"],
                                                 "uid": created["metadata"]["uid"]}]
    ctx.api.ensure(populator)


def _vddk_secret(ctx, vm) -> str:
    namespace = ctx.plan["spec"]["targetNamespace"]
    found = ctx.api.list(*SECRET, namespace=namespace, label_selector=target.selector(ctx.plan, vm["id"]))
    if found:
        return found[0]["metadata"]["name"]
    return ctx.api.create(target.vddk_secret(ctx.plan, ctx.migration, vm["id"], ctx.secret_data))["metadata"]["name"]


def copy_disks(ctx, vm) -> bool:
    """updateCopyProgress: each disk's task from its DataVolume (progress × total MB); done when all are."""
    current = step(vm, itinerary.step_of(ctx.plan, vm["phase"]))
    by_file = target.disk_claims(ctx.api, ctx.plan, vm["id"])
    for task in current["tasks"]:
        kind, dv = by_file.get(task["name"]) or ("", {})
        phase = (dv.get("status") or {}).get("phase")
        if kind == "PersistentVolumeClaim":  # Shift or copy offload: done once the claim is bound
            phase = "Succeeded" if phase == "Bound" else _populator_progress(ctx, dv, task)
        if phase == "Succeeded" or (phase == "Paused" and vm["phase"] == "CopyDisks" and _checkpoint_copied(ctx, dv)):
            _task_done(task)
        elif phase == "Running":
            pass
        elif phase in ("ImportInProgress", "CloneInProgress"):
            percent = float(str((dv.get("status") or {}).get("progress", "0")).rstrip("%") or 0)
            task.update(phase="Running", started=task.get("started") or now())
            task["progress"]["completed"] = int(task["progress"]["total"] * percent / 100)
        else:
            task.update(phase="Pending", reason=phase or "")
    _sum(current)
    done = all(t["phase"] == "Completed" for t in current["tasks"])
    if done and vm["phase"] == "CopyDisks" and is_warm(ctx.plan):
        warm.copy_done(ctx, vm)
    return done


def _populator_progress(ctx, claim: dict, task: dict) -> str:
    """updatePopulatorCopyProgress: a copy-offload claim's progress from its populator's status."""
    if not (claim["metadata"].get("annotations") or {}).get(target.ANN_COPY_OFFLOAD):
        return "Pending"
    populator = ctx.api.get(*XCOPY_POPULATOR, claim["metadata"]["name"], claim["metadata"]["namespace"]) or {}
    percent = int((populator.get("status") or {}).get("progress") or 0)
    task.update(phase="Running", started=task.get("started") or now())
    task["progress"]["completed"] = task["progress"]["total"] * percent // 100
    return "Running"


def _checkpoint_copied(ctx, dv: dict) -> bool:
    """The claim records the DataVolume's last checkpoint as copied (base.AnnCheckpointsCopied)."""
    claim = ctx.api.get("v1", "PersistentVolumeClaim", dv["status"].get("claimName") or dv["metadata"]["name"],
                        dv["metadata"]["namespace"]) or {"metadata": {}}
    current = dv["spec"]["checkpoints"][-1]["current"]
    return f"cdi.kubevirt.io/storage.checkpoint.copied.{current}" in (claim["metadata"].get("annotations") or {})


def _task_done(task: dict) -> None:
    task.update(phase="Completed", reason="Transfer completed.", started=task.get("started") or now(),
                completed=task.get("completed") or now())
    task["progress"]["completed"] = task["progress"]["total"]


def _sum(current: dict) -> None:
    current["progress"]["completed"] = sum(t["progress"]["completed"] for t in current["tasks"])


def conversion_pod(ctx, vm) -> bool:
    """The virt-v2v pod: the lab runs no pods, so it is ready at once."""
    return True


def convert_guest(ctx, vm) -> bool:
    current = step(vm, itinerary.IMAGE_CONVERSION)
    return time.time() - parse_time(current["started"]) >= CONVERSION_SECONDS


def copy_disks_v2v(ctx, vm) -> bool:
    """virt-v2v copies the disks one after the other at the lab's bandwidth, from the step's start."""
    current = step(vm, itinerary.DISK_TRANSFER_V2V)
    budget = (time.time() - parse_time(current["started"])) * bandwidth_bytes() / 2**20
    for task in current["tasks"]:
        done = min(task["progress"]["total"], int(budget))
        budget -= done
        if done >= task["progress"]["total"]:
            _task_done(task)
        elif done > 0:
            task.update(phase="Running", started=task.get("started") or now())
            task["progress"]["completed"] = done
    _sum(current)
    return all(t["phase"] == "Completed" for t in current["tasks"])


def create_vm(ctx, vm) -> bool:
    """EnsureVM: the VirtualMachine on the disks' claims, in the source's disk order; the claims then
    belong to the VM alone, and the DataVolumes go (DeleteDataVolumes). A VM found again (after a
    restart) names its claims itself."""
    namespace = ctx.plan["spec"]["targetNamespace"]
    created = ctx.api.get(*VIRTUAL_MACHINE, vm["newName"], namespace)
    if created is None:
        by_file = target.disk_claims(ctx.api, ctx.plan, vm["id"])
        claims = [by_file[d["file"]][1]["metadata"]["name"] for d in ctx.document(vm)["disks"]]
        created = ctx.api.create(target.virtual_machine(ctx.plan, ctx.migration, ctx.entry(vm), vm, ctx.document(vm),
                                                        claims, ctx.network_map))
    owner = owner_reference(created, controller=False, block=False)
    for volume in created["spec"]["template"]["spec"]["volumes"]:
        claim = ctx.api.get(*PVC, volume["persistentVolumeClaim"]["claimName"], namespace)
        if claim is not None and claim["metadata"].get("ownerReferences") != [owner]:
            ctx.api.patch(claim, {"metadata": {"ownerReferences": [owner]}})
    for dv in target.data_volumes(ctx.api, ctx.plan, vm["id"]):
        ctx.api.delete(*target.DATA_VOLUME, dv["metadata"]["name"], namespace)
    return True


def completed(ctx, vm) -> bool:
    if not vm.get("completed"):
        vm["completed"] = now()
        set_vm_condition(vm, "Succeeded", "The VM migration has SUCCEEDED.")
        cleanup(ctx, vm)
    return False


def cleanup(ctx, vm, source: bool = True) -> None:
    """Migration.cleanup: the VM's Secrets always; for a VM that did not succeed and with
    deleteVmOnFailMigration, the target VM, its claims and DataVolumes; the last warm snapshot."""
    namespace, selector = ctx.plan["spec"]["targetNamespace"], target.selector(ctx.plan, vm["id"])
    kinds = [SECRET]
    succeeded = any(c["type"] == "Succeeded" for c in vm.get("conditions") or [])
    if not succeeded and (ctx.plan["spec"].get("deleteVmOnFailMigration") or ctx.entry(vm).get(
            "deleteVmOnFailMigration")):
        kinds += [VIRTUAL_MACHINE, PVC, target.DATA_VOLUME]
    for kind in kinds:
        for obj in ctx.api.list(*kind, namespace=namespace, label_selector=selector):
            ctx.api.delete(*kind, obj["metadata"]["name"], namespace)
    if source:
        warm.remove_last_snapshot(ctx, vm)


HANDLERS = {
    "Started": started, "StorePowerState": store_power_state, "PowerOffSource": power_off_source,
    "WaitForPowerOff": wait_for_power_off, "CreateDataVolumes": create_data_volumes, "CopyDisks": copy_disks,
    "AllocateDisks": copy_disks, "CreateGuestConversionPod": conversion_pod, "ConvertGuest": convert_guest,
    "CopyDisksVirtV2V": copy_disks_v2v, "CreateVM": create_vm, "Completed": completed,
    "CreateInitialSnapshot": warm.create_snapshot, "CreateSnapshot": warm.create_snapshot,
    "CreateFinalSnapshot": warm.create_snapshot, "WaitForInitialSnapshot": warm.wait_for_snapshot,
    "WaitForSnapshot": warm.wait_for_snapshot, "WaitForFinalSnapshot": warm.wait_for_snapshot,
    "StoreInitialSnapshotDeltas": warm.store_deltas, "StoreSnapshotDeltas": warm.store_deltas,
    "CopyingPaused": warm.copying_paused, "RemovePreviousSnapshot": warm.remove_snapshot,
    "RemovePenultimateSnapshot": warm.remove_snapshot, "RemoveFinalSnapshot": warm.remove_snapshot,
    "WaitForPreviousSnapshotRemoval": warm.wait_for_removal,
    "WaitForPenultimateSnapshotRemoval": warm.wait_for_removal, "AddCheckpoint": warm.add_checkpoint,
    "AddFinalCheckpoint": warm.add_checkpoint, "Finalize": copy_disks,
}


def execute(ctx, vm) -> None:
    """Migration.execute for one VM: a canceled VM completes as Canceled; else its phases run until one waits."""
    if ctx.canceled(vm) and not vm.get("completed"):
        if not any(c["type"] == "Canceled" for c in vm.get("conditions") or []):
            set_vm_condition(vm, "Canceled", "The migration has been canceled.", reason="UserRequested")
        vm["phase"] = "Completed"
        return
    while vm["phase"] != "Completed" or not vm.get("completed"):
        start_step(step(vm, itinerary.step_of(ctx.plan, vm["phase"])))
        handler = HANDLERS.get(vm["phase"])
        if handler is None:
            vm["error"] = {"phase": vm["phase"], "reasons": [f"Phase [{vm['phase']}] unknown"]}
            set_vm_condition(vm, "Failed", "The VM migration has FAILED.")
            vm.update(phase="Completed", completed=now())
            return
        phase = vm["phase"]
        if handler(ctx, vm):
            advance(ctx, vm)
        elif vm["phase"] == phase:
            return

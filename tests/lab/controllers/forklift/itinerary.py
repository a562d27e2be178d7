"""Per-VM itineraries, pipeline steps and the step of each phase
(pkg/controller/plan/migrator/base/migrator.go `coldItinerary`, `warmItinerary`, `Pipeline`, `Step`;
pkg/apis/forklift/v1beta1/plan.go `ShouldUseV2vForTransfer` at v2.12.5).

Hooks, preflight inspection, Windows reboots and the final-consolidation wait are not simulated,
so their conditional phases never apply here.
"""

from lab.controllers.forklift.plan import is_warm

COLD = ("Started", "StorePowerState", "PowerOffSource", "WaitForPowerOff", "CreateDataVolumes",
        "CopyDisks", "AllocateDisks", "CreateGuestConversionPod", "ConvertGuest", "CopyDisksVirtV2V", "CreateVM",
        "Completed")
WARM = ("Started", "CreateInitialSnapshot", "WaitForInitialSnapshot", "StoreInitialSnapshotDeltas",
        "CreateDataVolumes", "CopyDisks", "CopyingPaused", "RemovePreviousSnapshot", "WaitForPreviousSnapshotRemoval",
        "CreateSnapshot", "WaitForSnapshot", "StoreSnapshotDeltas", "AddCheckpoint", "StorePowerState",
        "PowerOffSource", "WaitForPowerOff", "RemovePenultimateSnapshot", "WaitForPenultimateSnapshotRemoval",
        "CreateFinalSnapshot", "WaitForFinalSnapshot", "AddFinalCheckpoint", "Finalize", "RemoveFinalSnapshot",
        "CreateGuestConversionPod", "ConvertGuest", "CreateVM", "Completed")
CDI_ONLY, V2V_ONLY = {"CopyDisks"}, {"AllocateDisks", "CopyDisksVirtV2V"}

INITIALIZE, DISK_TRANSFER, DISK_ALLOCATION, DISK_TRANSFER_V2V = ("Initialize", "DiskTransfer", "DiskAllocation",
                                                                 "DiskTransferV2v")
CUTOVER, IMAGE_CONVERSION, VM_CREATION = "Cutover", "ImageConversion", "VirtualMachineCreation"
_DISK_STEPS = {"CopyDisks": (DISK_TRANSFER, "Transfer disks."), "AllocateDisks": (DISK_ALLOCATION, "Allocate disks."),
               "CopyDisksVirtV2V": (DISK_TRANSFER_V2V, "Copy disks."), "Finalize": (CUTOVER,
                                                                                 "Finalize disk transfer.")}
_ONE_STEPS = {"Started": (INITIALIZE, "Initialize migration."),
              "ConvertGuest": (IMAGE_CONVERSION, "Convert image to kubevirt."),
              "CreateVM": (VM_CREATION, "Create VM.")}


def uses_offload(storage_map: dict) -> bool:
    return any((pair.get("offloadPlugin") or {}).get("vsphereXcopyConfig")
               for pair in (storage_map or {}).get("spec", {}).get("map") or [])


def v2v_transfer(plan: dict, entry: dict, storage_map: dict) -> bool:
    """ShouldUseV2vForTransfer for a vSphere source and the host destination: virt-v2v copies the
    disks of a cold plan unless shared disks are skipped, guest conversion is skipped, the plan
    only converts, or an offload plugin or a NetApp Shift class is mapped."""
    spec = plan["spec"]
    shared = entry.get("migrateSharedDisks")
    migrate_shared = spec.get("migrateSharedDisks", True) if shared is None else shared
    return not (is_warm(plan) or not migrate_shared or spec.get("skipGuestConversion")
                or spec.get("type") == "conversion" or (plan.get("status") or {}).get("netAppShiftDestination")
                or uses_offload(storage_map))


def phases(plan: dict, v2v: bool) -> tuple:
    itinerary = WARM if is_warm(plan) else COLD
    skipped = CDI_ONLY if v2v else V2V_ONLY
    return tuple(p for p in itinerary if p not in skipped)


def next_phase(plan: dict, v2v: bool, phase: str) -> str:
    order = phases(plan, v2v)
    return order[min(order.index(phase) + 1, len(order) - 1)]


def step_of(plan: dict, phase: str) -> str:
    """BaseMigrator.Step: the pipeline step a phase belongs to."""
    warm = is_warm(plan)
    if phase in ("Started", "CreateInitialSnapshot", "WaitForInitialSnapshot", "StoreInitialSnapshotDeltas",
                 "CreateDataVolumes"):
        return INITIALIZE
    if phase in ("StorePowerState", "PowerOffSource", "WaitForPowerOff"):
        return CUTOVER if warm else INITIALIZE
    if phase in ("CopyDisks", "CopyingPaused", "RemovePreviousSnapshot", "WaitForPreviousSnapshotRemoval",
                 "CreateSnapshot", "WaitForSnapshot", "StoreSnapshotDeltas", "AddCheckpoint"):
        return DISK_TRANSFER
    if phase in ("RemovePenultimateSnapshot", "WaitForPenultimateSnapshotRemoval", "CreateFinalSnapshot",
                 "WaitForFinalSnapshot", "AddFinalCheckpoint", "Finalize", "RemoveFinalSnapshot"):
        return CUTOVER
    if phase in ("CreateGuestConversionPod", "ConvertGuest"):
        return IMAGE_CONVERSION
    return {"AllocateDisks": DISK_ALLOCATION, "CopyDisksVirtV2V": DISK_TRANSFER_V2V,
            "CreateVM": VM_CREATION}.get(phase, "Unknown")


def disk_tasks(document: dict) -> list:
    """Builder.Tasks: one task per disk, named by its backing file, its total in MB (rounded up)."""
    return [{"name": disk["file"], "phase": "Pending", "progress": {"total": -(-disk["capacity"] // 2**20),
                                                                   "completed": 0},
             "annotations": {"unit": "MB"}} for disk in document["disks"]]


def pipeline(plan: dict, v2v: bool, document: dict) -> list:
    """BaseMigrator.Pipeline: the steps of the VM's itinerary, all Pending."""
    steps = []
    for phase in phases(plan, v2v):
        if phase in _DISK_STEPS:
            name, description = _DISK_STEPS[phase]
            tasks = disk_tasks(document)
            steps.append({"name": name, "description": description, "phase": "Pending",
                          "progress": {"total": sum(t["progress"]["total"] for t in tasks), "completed": 0},
                          "annotations": {"unit": "MB"}, "tasks": tasks})
        elif phase in _ONE_STEPS:
            name, description = _ONE_STEPS[phase]
            steps.append({"name": name, "description": description, "phase": "Pending",
                          "progress": {"total": 1, "completed": 0}})
    return steps

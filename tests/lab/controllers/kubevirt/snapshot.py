"""Simulated KubeVirt snapshot controllers (snapshot.kubevirt.io/v1beta1, KubeVirt v1.8,
pkg/storage/snapshot/snapshot.go); restores are in ``restore``.

VirtualMachineSnapshot: locks the VM (`status.snapshotInProgress`), creates a
VirtualMachineSnapshotContent `vmsnapshot-content-<uid>` holding a copy of the VM and one
volume backup per disk whose PVC is bound and served by a VolumeSnapshotClass (others are
excluded and listed in `status.snapshotVolumes.excludedVolumes`), and the content creates the
CSI VolumeSnapshots `vmsnapshot-<uid>-volume-<volume>` (the storage simulation makes them
ready). Phase InProgress -> Succeeded once every VolumeSnapshot has a creationTime;
readyToUse follows the VolumeSnapshots; Failed past `failureDeadline` (default 5m). A running
VM gets the Online / NoGuestAgent indications (the lab has no guest agent).
"""

import copy
from dataclasses import dataclass
from typing import Optional

from lab.controllers.conditions import set_condition
from lab.controllers.kubevirt.cluster_config import kubevirt
from lab.controllers.kubevirt.volumes import volume_claim, volume_snapshot_class
from lab.controllers.objects import age, owner_reference
from lab.controllers.runtime import CONTINUE, Controller, Watch, log, now, run_steps, step_delay

SNAP_API = "snapshot.kubevirt.io/v1beta1"
VMSNAPSHOT = (SNAP_API, "VirtualMachineSnapshot")
CONTENT = (SNAP_API, "VirtualMachineSnapshotContent")
VM = ("kubevirt.io/v1", "VirtualMachine")
VMI = ("kubevirt.io/v1", "VirtualMachineInstance")
DV = ("cdi.kubevirt.io/v1beta1", "DataVolume")
PVC = ("v1", "PersistentVolumeClaim")
VOLUME_SNAPSHOT = ("snapshot.storage.k8s.io/v1", "VolumeSnapshot")

SNAPSHOT_FINALIZER = "snapshot.kubevirt.io/vmsnapshot-protection"
CONTENT_FINALIZER = "snapshot.kubevirt.io/vmsnapshotcontent-protection"
SOURCE_NAME = "snapshot.kubevirt.io/source-vm-name"
SOURCE_NAMESPACE = "snapshot.kubevirt.io/source-vm-namespace"
DEFAULT_FAILURE_DEADLINE = 5 * 60

INDICATIONS = {
    "Online": "Snapshot taken while the VM was running. Consistency depends on guest-agent quiescing.",
    "NoGuestAgent": "Guest agent was not available. Snapshot is crash-consistent and may not be "
                    "application-consistent.",
}


def content_name(snapshot: dict) -> str:
    return ((snapshot.get("status") or {}).get("virtualMachineSnapshotContentName")
            or f"vmsnapshot-content-{snapshot['metadata']['uid']}")


def _duration(value: str) -> float:
    """A Go duration ("5m", "1h30m", "90s") in seconds."""
    total, number = 0.0, ""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    i = 0
    while i < len(value or ""):
        char = value[i]
        if char.isdigit() or char == ".":
            number += char
            i += 1
            continue
        unit = "ms" if value[i:i + 2] == "ms" else char
        total += float(number or 0) * units.get(unit, 0)
        number = ""
        i += len(unit)
    return total or DEFAULT_FAILURE_DEADLINE


def template_volumes(vm_like: dict) -> list:
    return ((((vm_like.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes")) or []


def _lock(api, vm: dict, name: str) -> bool:
    current = (vm.get("status") or {}).get("snapshotInProgress")
    if current == name:
        return True
    if current or (vm.get("status") or {}).get("restoreInProgress"):
        return False
    api.patch_status(vm, {"snapshotInProgress": name}, guarded=True)
    return True


def _unlock(api, namespace: str, vm_name: str, name: str) -> None:
    vm = api.get(*VM, vm_name, namespace)
    if vm is not None and (vm.get("status") or {}).get("snapshotInProgress") == name:
        api.patch_status(vm, {"snapshotInProgress": None}, guarded=True)


def _backups(api, snapshot: dict, vm: dict) -> list:
    namespace = snapshot["metadata"]["namespace"]
    backups = []
    for volume in template_volumes(vm):
        claim = volume_claim(volume)
        if not claim:
            continue
        pvc = api.get(*PVC, claim, namespace)
        if pvc is None or (pvc.get("status") or {}).get("phase") != "Bound":
            continue
        storage_class = (pvc.get("spec") or {}).get("storageClassName")
        if not storage_class or not volume_snapshot_class(api, storage_class)[0]:
            continue  # excluded: no VolumeSnapshotClass serves this disk
        meta = pvc["metadata"]
        simple = {k: meta[k] for k in ("name", "namespace", "labels", "annotations") if meta.get(k)}
        spec = copy.deepcopy(pvc["spec"])
        backups.append({"volumeName": volume["name"],
                        "persistentVolumeClaim": {"metadata": simple, "spec": spec},
                        "volumeSnapshotName": f"vmsnapshot-{snapshot['metadata']['uid']}-volume-{volume['name']}"})
    return backups


def _vm_copy(vm: dict) -> dict:
    meta = vm["metadata"]
    keep = {k: meta[k] for k in ("name", "namespace", "uid", "generation", "labels", "annotations") if meta.get(k)}
    return {"apiVersion": vm["apiVersion"], "kind": vm["kind"], "metadata": keep,
            "spec": copy.deepcopy(vm["spec"]), "status": {}}


def _unbound_claims(api, vm: dict) -> list:
    namespace = vm["metadata"]["namespace"]
    out = []
    for volume in template_volumes(vm):
        claim = volume_claim(volume)
        if claim:
            pvc = api.get(*PVC, claim, namespace)
            if pvc is not None and (pvc.get("status") or {}).get("phase") != "Bound":
                out.append(claim)
    return out


# --- VirtualMachineSnapshot ---------------------------------------------------------------------

@dataclass
class _Snapshot:
    """What one reconcile of a VirtualMachineSnapshot has read so far."""
    snapshot: dict
    content: Optional[dict]
    vm: Optional[dict] = None

    @property
    def meta(self) -> dict:
        return self.snapshot["metadata"]

    @property
    def namespace(self) -> str:
        return self.meta["namespace"]

    @property
    def spec(self) -> dict:
        return self.snapshot.get("spec") or {}

    @property
    def status(self) -> dict:
        return self.snapshot.get("status") or {}

    @property
    def source_name(self) -> str:
        return (self.spec.get("source") or {}).get("name")

    def unlock(self, api) -> None:
        _unlock(api, self.namespace, self.source_name, self.meta["name"])


def reconcile_snapshot(api, snapshot: dict):
    content = api.get(*CONTENT, content_name(snapshot), snapshot["metadata"]["namespace"])
    return run_steps((_finalize_if_deleted, _wait_for_kubevirt, _follow_finished, _protect, _fail_past_deadline,
                      _find_source, _lock_source_and_create_content, _report_content), api,
                     _Snapshot(snapshot, content))


def _finalize_if_deleted(api, s: _Snapshot):
    """Unlock the VM, delete the content unless it is kept (Retain and ready), then let go."""
    if not s.meta.get("deletionTimestamp"):
        return CONTINUE
    s.unlock(api)
    content_ready = bool(((s.content or {}).get("status") or {}).get("readyToUse"))
    if s.content is not None and (s.spec.get("deletionPolicy", "Delete") == "Delete" or not content_ready):
        api.delete(*CONTENT, s.content["metadata"]["name"], s.namespace)
    if s.status.get("phase") != "Deleting":
        conditions = set_condition(s.status.get("conditions"), "Progressing", "False",
                                   "VM snapshot is deleting", probe=True)
        api.patch_status(s.snapshot, {"phase": "Deleting", "conditions": conditions}, guarded=True)
        return 0.05
    api.remove_finalizer(s.snapshot, SNAPSHOT_FINALIZER)
    return None


def _wait_for_kubevirt(api, s: _Snapshot):
    return 10.0 if kubevirt(api) is None else CONTINUE


def _follow_finished(api, s: _Snapshot):
    """A finished snapshot only follows its content's readiness."""
    phase = s.status.get("phase") or ""
    if phase not in ("Succeeded", "Failed"):
        return CONTINUE
    s.unlock(api)
    if phase == "Succeeded" and s.content is not None:
        ready = bool((s.content.get("status") or {}).get("readyToUse"))
        if ready != bool(s.status.get("readyToUse")):
            conditions = set_condition(s.status.get("conditions"), "Ready", "True" if ready else "False",
                                       "Ready" if ready else "Not ready", probe=True)
            api.patch_status(s.snapshot, {"readyToUse": ready, "conditions": conditions}, guarded=True)
    return None


def _protect(api, s: _Snapshot):
    s.snapshot = api.add_finalizer(s.snapshot, SNAPSHOT_FINALIZER)
    return CONTINUE


def _fail_past_deadline(api, s: _Snapshot):
    """failureDeadline (default 5m): a snapshot whose volumes are not all taken by then fails."""
    deadline = _duration(s.spec.get("failureDeadline") or "5m")
    if age(s.snapshot) <= deadline or (s.content and (s.content.get("status") or {}).get("creationTime")):
        return CONTINUE
    conditions = s.status.get("conditions") or []
    conditions = set_condition(conditions, "Failure", "True", "snapshot deadline exceeded", probe=True)
    conditions = set_condition(conditions, "Progressing", "False", "Operation failed", probe=True)
    conditions = set_condition(conditions, "Ready", "False", "Not ready", probe=True)
    api.patch_status(s.snapshot, {"phase": "Failed", "conditions": conditions}, guarded=True)
    if s.content is not None:
        api.delete(*CONTENT, s.content["metadata"]["name"], s.namespace)
    return None


def _find_source(api, s: _Snapshot):
    if (s.spec.get("source") or {}).get("kind") == "VirtualMachine":
        s.vm = api.get(*VM, s.source_name, s.namespace)
    if s.vm is not None:
        return CONTINUE
    conditions = set_condition(s.status.get("conditions"), "Progressing", "False", "Source does not exist",
                               probe=True)
    conditions = set_condition(conditions, "Ready", "False", "Not ready", probe=True)
    api.patch_status(s.snapshot, {"readyToUse": bool(s.status.get("readyToUse")), "phase": "InProgress",
                                  "conditions": conditions}, guarded=True)
    return 5.0


def _lock_source_and_create_content(api, s: _Snapshot):
    """Once the VM's claims are bound, lock the VM and write the content: a copy of the VM and
    one backup per disk a VolumeSnapshotClass serves."""
    if s.content is not None:
        return CONTINUE
    online = api.get(*VMI, s.source_name, s.namespace) is not None
    unbound = _unbound_claims(api, s.vm)
    locked = not unbound and _lock(api, s.vm, s.meta["name"])
    if locked:
        vm = api.get(*VM, s.source_name, s.namespace)
        created = api.create_if_absent({
            "apiVersion": SNAP_API, "kind": "VirtualMachineSnapshotContent",
            "metadata": {"name": content_name(s.snapshot), "namespace": s.namespace,
                         "finalizers": [CONTENT_FINALIZER]},
            "spec": {"virtualMachineSnapshotName": s.meta["name"],
                     "source": {"virtualMachine": _vm_copy(vm)}, "volumeBackups": _backups(api, s.snapshot, vm)}})
        if created is not None:
            api.event(s.snapshot, "Normal", "SuccessfulVirtualMachineSnapshotContentCreate",
                      f"Successfully created VirtualMachineSnapshotContent {created['metadata']['name']}")
        message = "Source locked and operation in progress"
    else:
        message = "Source not locked" if not unbound else \
            f"Source not locked: waiting for PVC(s) {', '.join(unbound)} to be bound"
    conditions = set_condition(s.status.get("conditions"), "Progressing", "True" if locked else "False", message,
                               probe=True)
    conditions = set_condition(conditions, "Ready", "False", "Not ready", probe=True)
    new = {"readyToUse": bool(s.status.get("readyToUse")), "sourceUID": s.vm["metadata"]["uid"],
           "phase": "InProgress", "conditions": conditions}
    if online:
        indications = ["NoGuestAgent", "Online"]
        new.update(indications=indications,
                   sourceIndications=[{"indication": i, "message": INDICATIONS[i]} for i in indications])
    api.patch_status(s.snapshot, new, guarded=True)
    return step_delay()


def _report_content(api, s: _Snapshot):
    """Succeeded once the content's volumes are all taken (then unlock); readyToUse follows the content."""
    content_status = s.content.get("status") or {}
    new = {"sourceUID": s.vm["metadata"]["uid"], "virtualMachineSnapshotContentName": s.content["metadata"]["name"],
           "readyToUse": bool(content_status.get("readyToUse"))}
    if content_status.get("creationTime"):
        new["creationTime"] = content_status["creationTime"]
    if content_status.get("error"):
        new["error"] = content_status["error"]
    conditions = s.status.get("conditions") or []
    if content_status.get("creationTime"):
        new["phase"] = "Succeeded"
        conditions = set_condition(conditions, "Progressing", "False", "Operation complete", probe=True)
        new["snapshotVolumes"] = _snapshot_volumes(s.content)
        s.unlock(api)
    else:
        new["phase"] = "InProgress"
        conditions = set_condition(conditions, "Progressing", "True", "Source locked and operation in progress",
                                   probe=True)
    ready = new["readyToUse"]
    conditions = set_condition(conditions, "Ready", "True" if ready else "False",
                               "Ready" if ready else "Not ready", probe=True)
    if content_status.get("error") and not ready:
        conditions = set_condition(conditions, "Progressing", "False", "In error state", probe=True)
    new["conditions"] = conditions
    api.patch_status(s.snapshot, new, guarded=True)
    return None if new["phase"] == "Succeeded" and ready else step_delay()


def _snapshot_volumes(content: dict) -> dict:
    vm_copy = (content["spec"].get("source") or {}).get("virtualMachine") or {}
    backed_up = {b["volumeName"] for b in content["spec"].get("volumeBackups") or []}
    names = [v["name"] for v in template_volumes(vm_copy)]
    return {"includedVolumes": [n for n in names if n in backed_up] or None,
            "excludedVolumes": [n for n in names if n not in backed_up] or None}


# --- VirtualMachineSnapshotContent --------------------------------------------------------------

def reconcile_content(api, content: dict):
    """Take a VolumeSnapshot of each backed-up claim, and report them in the content's status."""
    meta = content["metadata"]
    snapshot_name = content["spec"].get("virtualMachineSnapshotName")
    snapshot = api.get(*VMSNAPSHOT, snapshot_name, meta["namespace"]) if snapshot_name else None
    if snapshot is None or snapshot["metadata"].get("deletionTimestamp") or meta.get("deletionTimestamp"):
        if CONTENT_FINALIZER in (meta.get("finalizers") or []):
            api.remove_finalizer(content, CONTENT_FINALIZER)
        return None
    created_before = bool((content.get("status") or {}).get("creationTime"))
    statuses, missing = _take_volume_snapshots(api, content, created_before)
    return _report_volume_snapshots(api, content, statuses, missing, created_before)


def _take_volume_snapshots(api, content: dict, created_before: bool) -> tuple:
    """(volumeSnapshotStatus entries, names of VolumeSnapshots gone after the content was created)."""
    namespace = content["metadata"]["namespace"]
    statuses, missing = [], []
    for backup in content["spec"].get("volumeBackups") or []:
        name = backup.get("volumeSnapshotName")
        if not name:
            continue
        snap = api.get(*VOLUME_SNAPSHOT, name, namespace)
        if snap is None and created_before:
            missing.append(name)
            continue
        if snap is None:
            snap, unserved = _create_volume_snapshot(api, content, backup)
            if unserved is not None:
                statuses.append(unserved)
                continue
        snap_status = snap.get("status") or {}
        entry = {"volumeSnapshotName": name, "readyToUse": bool(snap_status.get("readyToUse"))}
        if snap_status.get("creationTime"):
            entry["creationTime"] = snap_status["creationTime"]
        if snap_status.get("error"):
            entry["error"] = {k: v for k, v in snap_status["error"].items() if k in ("message", "time")}
        statuses.append(entry)
    return statuses, missing


def _create_volume_snapshot(api, content: dict, backup: dict) -> tuple:
    """(the new VolumeSnapshot or {}, None), or (None, a status entry) when no class serves the claim."""
    namespace = content["metadata"]["namespace"]
    name = backup["volumeSnapshotName"]
    pvc = backup["persistentVolumeClaim"]
    storage_class = (pvc.get("spec") or {}).get("storageClassName")
    snapshot_class, error = volume_snapshot_class(api, storage_class) if storage_class else ("", None)
    if not snapshot_class:
        return None, {"volumeSnapshotName": name, "readyToUse": False,
                      **({"error": {"message": error, "time": now()}} if error else {})}
    vm_copy = (content["spec"].get("source") or {}).get("virtualMachine") or {}
    vm_name = (vm_copy.get("metadata") or {}).get("name", "")
    snap = api.create_if_absent({
        "apiVersion": VOLUME_SNAPSHOT[0], "kind": "VolumeSnapshot",
        "metadata": {"name": name, "namespace": namespace,
                     "labels": {SOURCE_NAME: vm_name, SOURCE_NAMESPACE: namespace},
                     "ownerReferences": [owner_reference(content)]},
        "spec": {"source": {"persistentVolumeClaimName": pvc["metadata"]["name"]},
                 "volumeSnapshotClassName": snapshot_class}})
    if snap is not None:
        api.event(content, "Normal", "SuccessfulVolumeSnapshotCreate", f"Successfully created VolumeSnapshot {name}")
    return snap or {}, None


def _report_volume_snapshots(api, content: dict, statuses: list, missing: list, created_before: bool):
    status = content.get("status") or {}
    created = bool(statuses) and all(s.get("creationTime") for s in statuses) if statuses else True
    ready = created and all(s.get("readyToUse") for s in statuses)
    error = None
    if missing:
        created, ready = False, False
        error = f"VolumeSnapshots ({','.join(missing)}) missing"
    else:
        for entry in statuses:
            if entry.get("error", {}).get("message"):
                error = f"VolumeSnapshot {entry['volumeSnapshotName']} error: {entry['error']['message']}"
                break
    new = {"readyToUse": ready, "volumeSnapshotStatus": statuses or None}
    if created and not created_before:
        new["creationTime"] = now()
    if error and not ready:
        new["error"] = {"message": error, "time": now()}
    elif not error and status.get("error"):
        new["error"] = None
    if any(status.get(k) != v for k, v in new.items() if k not in ("error",)) or \
            bool(new.get("error")) != bool(status.get("error")):
        api.patch_status(content, new, guarded=True)
    return None if ready else step_delay()


def setup(manager, webhooks):
    def snapshot_of_content(obj):
        name = (obj.get("spec") or {}).get("virtualMachineSnapshotName")
        return [(obj["metadata"]["namespace"], name)] if name else []

    def content_of_volume_snapshot(obj):
        return [(obj["metadata"]["namespace"], ref["name"]) for ref in obj["metadata"].get("ownerReferences") or []
                if ref["kind"] == "VirtualMachineSnapshotContent"]

    manager.add(Controller("virt-controller-vmsnapshot", *VMSNAPSHOT, reconcile_snapshot, resync_seconds=30,
                           watches=[Watch(*CONTENT, snapshot_of_content)]))
    manager.add(Controller("virt-controller-vmsnapshotcontent", *CONTENT, reconcile_content, resync_seconds=30,
                           watches=[Watch(*VOLUME_SNAPSHOT, content_of_volume_snapshot)]))
    log.info("kubevirt: snapshot controllers loaded")

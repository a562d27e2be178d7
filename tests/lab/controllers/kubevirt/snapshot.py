"""Simulated KubeVirt snapshot and restore controllers (snapshot.kubevirt.io/v1beta1, KubeVirt v1.8).

VirtualMachineSnapshot: locks the VM (`status.snapshotInProgress`), creates a
VirtualMachineSnapshotContent `vmsnapshot-content-<uid>` holding a copy of the VM and one
volume backup per disk whose PVC is bound and served by a VolumeSnapshotClass (others are
excluded and listed in `status.snapshotVolumes.excludedVolumes`), and the content creates the
CSI VolumeSnapshots `vmsnapshot-<uid>-volume-<volume>` (the storage simulation makes them
ready). Phase InProgress -> Succeeded once every VolumeSnapshot has a creationTime;
readyToUse follows the VolumeSnapshots; Failed past `failureDeadline` (default 5m). A running
VM gets the Online / NoGuestAgent indications (the lab has no guest agent).

VirtualMachineRestore: waits for the target VM to be stopped (targetReadinessPolicy: the
default WaitGracePeriod fails after 5 minutes; StopTarget stops it; FailImmediate fails),
creates PVCs `restore-<uid>-<volume>` from the VolumeSnapshots, marks those of DataVolume
disks `cdi.kubevirt.io/storage.populatedFor` and creates their DataVolumes pre-populated (CDI
adopts the PVC), then creates or updates the target VM to use them (`restores[]`,
`deletedDataVolumes`, `complete`).
"""

import copy

from lab.controllers.conditions import condition_true, set_condition
from lab.controllers.kubevirt.cluster_config import kubevirt
from lab.controllers.kubevirt.volumes import volume_claim, volume_snapshot_class
from lab.controllers.objects import age, owner_reference, quantity
from lab.controllers.patches import json_patch
from lab.controllers.runtime import Controller, Watch, log, now, step_delay

SNAP_API = "snapshot.kubevirt.io/v1beta1"
VMSNAPSHOT = (SNAP_API, "VirtualMachineSnapshot")
CONTENT = (SNAP_API, "VirtualMachineSnapshotContent")
RESTORE = (SNAP_API, "VirtualMachineRestore")
VM = ("kubevirt.io/v1", "VirtualMachine")
VMI = ("kubevirt.io/v1", "VirtualMachineInstance")
DV = ("cdi.kubevirt.io/v1beta1", "DataVolume")
PVC = ("v1", "PersistentVolumeClaim")
VOLUME_SNAPSHOT = ("snapshot.storage.k8s.io/v1", "VolumeSnapshot")

SNAPSHOT_FINALIZER = "snapshot.kubevirt.io/vmsnapshot-protection"
CONTENT_FINALIZER = "snapshot.kubevirt.io/vmsnapshotcontent-protection"
RESTORE_FINALIZER = "snapshot.kubevirt.io/vmrestore-protection"
SOURCE_NAME = "snapshot.kubevirt.io/source-vm-name"
SOURCE_NAMESPACE = "snapshot.kubevirt.io/source-vm-namespace"
RESTORE_NAME = "restore.kubevirt.io/name"
LAST_RESTORE = "restore.kubevirt.io/lastRestoreUID"
POPULATED_FOR = "cdi.kubevirt.io/storage.populatedFor"
PRE_POPULATED = "cdi.kubevirt.io/storage.prePopulated"
GRACE_PERIOD = 5 * 60
DROPPED_ANNOTATION_PREFIXES = ("pv.kubernetes.io", "volume.beta.kubernetes.io", "cdi.kubevirt.io",
                               "volume.kubernetes.io", "k8s.io/CloneRequest", "k8s.io/CloneOf")

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
    return total or GRACE_PERIOD


def _volumes(vm_like: dict) -> list:
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
    for volume in _volumes(vm):
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
    for volume in _volumes(vm):
        claim = volume_claim(volume)
        if claim:
            pvc = api.get(*PVC, claim, namespace)
            if pvc is not None and (pvc.get("status") or {}).get("phase") != "Bound":
                out.append(claim)
    return out


# --- VirtualMachineSnapshot ---------------------------------------------------------------------

def reconcile_snapshot(api, snapshot: dict):
    meta = snapshot["metadata"]
    namespace = meta["namespace"]
    spec = snapshot.get("spec") or {}
    source_name = (spec.get("source") or {}).get("name")
    status = snapshot.get("status") or {}
    phase = status.get("phase") or ""
    content = api.get(*CONTENT, content_name(snapshot), namespace)

    if meta.get("deletionTimestamp"):
        _unlock(api, namespace, source_name, meta["name"])
        content_ready = bool(((content or {}).get("status") or {}).get("readyToUse"))
        if content is not None and (spec.get("deletionPolicy", "Delete") == "Delete" or not content_ready):
            api.delete(*CONTENT, content["metadata"]["name"], namespace)
        if phase != "Deleting":
            conditions = set_condition(status.get("conditions"), "Progressing", "False",
                                       "VM snapshot is deleting", probe=True)
            api.patch_status(snapshot, {"phase": "Deleting", "conditions": conditions}, guarded=True)
            return 0.05
        api.remove_finalizer(snapshot, SNAPSHOT_FINALIZER)
        return None
    if kubevirt(api) is None:
        return 10.0
    if phase in ("Succeeded", "Failed"):
        _unlock(api, namespace, source_name, meta["name"])
        if phase == "Succeeded" and content is not None:
            ready = bool((content.get("status") or {}).get("readyToUse"))
            if ready != bool(status.get("readyToUse")):
                conditions = set_condition(status.get("conditions"), "Ready", "True" if ready else "False",
                                           "Ready" if ready else "Not ready", probe=True)
                api.patch_status(snapshot, {"readyToUse": ready, "conditions": conditions}, guarded=True)
        return None
    snapshot = api.add_finalizer(snapshot, SNAPSHOT_FINALIZER)
    vm = api.get(*VM, source_name, namespace) if (spec.get("source") or {}).get("kind") == "VirtualMachine" else None
    new = {"readyToUse": bool(status.get("readyToUse"))}
    conditions = status.get("conditions") or []
    deadline = _duration(spec.get("failureDeadline") or "5m")
    if age(snapshot) > deadline and not (content and (content.get("status") or {}).get("creationTime")):
        conditions = set_condition(conditions, "Failure", "True", "snapshot deadline exceeded", probe=True)
        conditions = set_condition(conditions, "Progressing", "False", "Operation failed", probe=True)
        conditions = set_condition(conditions, "Ready", "False", "Not ready", probe=True)
        api.patch_status(snapshot, {"phase": "Failed", "conditions": conditions}, guarded=True)
        if content is not None:
            api.delete(*CONTENT, content["metadata"]["name"], namespace)
        return None
    if vm is None:
        conditions = set_condition(conditions, "Progressing", "False", "Source does not exist", probe=True)
        conditions = set_condition(conditions, "Ready", "False", "Not ready", probe=True)
        api.patch_status(snapshot, {**new, "phase": "InProgress", "conditions": conditions}, guarded=True)
        return 5.0
    new["sourceUID"] = vm["metadata"]["uid"]
    online = api.get(*VMI, source_name, namespace) is not None
    if content is None:
        unbound = _unbound_claims(api, vm)
        locked = not unbound and _lock(api, vm, meta["name"])
        if locked:
            vm = api.get(*VM, source_name, namespace)
            backups = _backups(api, snapshot, vm)
            created = api.create_if_absent({
                "apiVersion": SNAP_API, "kind": "VirtualMachineSnapshotContent",
                "metadata": {"name": content_name(snapshot), "namespace": namespace,
                             "finalizers": [CONTENT_FINALIZER]},
                "spec": {"virtualMachineSnapshotName": meta["name"],
                         "source": {"virtualMachine": _vm_copy(vm)}, "volumeBackups": backups}})
            if created is not None:
                api.event(snapshot, "Normal", "SuccessfulVirtualMachineSnapshotContentCreate",
                          f"Successfully created VirtualMachineSnapshotContent {created['metadata']['name']}")
            message = "Source locked and operation in progress"
        else:
            message = "Source not locked" if not unbound else \
                f"Source not locked: waiting for PVC(s) {', '.join(unbound)} to be bound"
        conditions = set_condition(conditions, "Progressing", "True" if locked else "False", message,
                                   probe=True)
        conditions = set_condition(conditions, "Ready", "False", "Not ready", probe=True)
        new.update(phase="InProgress", conditions=conditions)
        if online:
            indications = ["NoGuestAgent", "Online"]
            new.update(indications=indications,
                       sourceIndications=[{"indication": i, "message": INDICATIONS[i]} for i in indications])
        api.patch_status(snapshot, new, guarded=True)
        return step_delay()

    content_status = content.get("status") or {}
    new.update(virtualMachineSnapshotContentName=content["metadata"]["name"],
               readyToUse=bool(content_status.get("readyToUse")))
    if content_status.get("creationTime"):
        new["creationTime"] = content_status["creationTime"]
    if content_status.get("error"):
        new["error"] = content_status["error"]
    if content_status.get("creationTime"):
        new["phase"] = "Succeeded"
        conditions = set_condition(conditions, "Progressing", "False", "Operation complete", probe=True)
        vm_copy = (content["spec"].get("source") or {}).get("virtualMachine") or {}
        backed_up = {b["volumeName"] for b in content["spec"].get("volumeBackups") or []}
        names = [v["name"] for v in _volumes(vm_copy)]
        new["snapshotVolumes"] = {"includedVolumes": [n for n in names if n in backed_up] or None,
                                  "excludedVolumes": [n for n in names if n not in backed_up] or None}
        _unlock(api, namespace, source_name, meta["name"])
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
    api.patch_status(snapshot, new, guarded=True)
    return None if new["phase"] == "Succeeded" and ready else step_delay()


# --- VirtualMachineSnapshotContent --------------------------------------------------------------

def reconcile_content(api, content: dict):
    meta = content["metadata"]
    namespace = meta["namespace"]
    snapshot_name = content["spec"].get("virtualMachineSnapshotName")
    snapshot = api.get(*VMSNAPSHOT, snapshot_name, namespace) if snapshot_name else None
    snapshot_gone = snapshot is None or snapshot["metadata"].get("deletionTimestamp")
    if snapshot_gone or meta.get("deletionTimestamp"):
        if CONTENT_FINALIZER in (meta.get("finalizers") or []):
            api.remove_finalizer(content, CONTENT_FINALIZER)
        return None
    status = dict(content.get("status") or {})
    created_before = bool(status.get("creationTime"))
    vm_copy = (content["spec"].get("source") or {}).get("virtualMachine") or {}
    vm_name = (vm_copy.get("metadata") or {}).get("name", "")
    statuses, missing = [], []
    for backup in content["spec"].get("volumeBackups") or []:
        name = backup.get("volumeSnapshotName")
        if not name:
            continue
        snap = api.get(*VOLUME_SNAPSHOT, name, namespace)
        if snap is None:
            if created_before:
                missing.append(name)
                continue
            pvc = backup["persistentVolumeClaim"]
            storage_class = (pvc.get("spec") or {}).get("storageClassName")
            snapshot_class, error = volume_snapshot_class(api, storage_class) if storage_class else ("", None)
            if not snapshot_class:
                statuses.append({"volumeSnapshotName": name, "readyToUse": False,
                                 **({"error": {"message": error, "time": now()}} if error else {})})
                continue
            snap = api.create_if_absent({
                "apiVersion": VOLUME_SNAPSHOT[0], "kind": "VolumeSnapshot",
                "metadata": {"name": name, "namespace": namespace,
                             "labels": {SOURCE_NAME: vm_name, SOURCE_NAMESPACE: namespace},
                             "ownerReferences": [owner_reference(content)]},
                "spec": {"source": {"persistentVolumeClaimName": pvc["metadata"]["name"]},
                         "volumeSnapshotClassName": snapshot_class}})
            if snap is not None:
                api.event(content, "Normal", "SuccessfulVolumeSnapshotCreate",
                          f"Successfully created VolumeSnapshot {name}")
            snap = snap or {}
        snap_status = snap.get("status") or {}
        entry = {"volumeSnapshotName": name, "readyToUse": bool(snap_status.get("readyToUse"))}
        if snap_status.get("creationTime"):
            entry["creationTime"] = snap_status["creationTime"]
        if snap_status.get("error"):
            entry["error"] = {k: v for k, v in snap_status["error"].items() if k in ("message", "time")}
        statuses.append(entry)
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


# --- VirtualMachineRestore -------------------------------------------------------------------------

def _restore_value(restore: dict) -> str:
    return f"{restore['metadata']['name']}-{restore['metadata']['uid']}"


def _restore_conditions(restore: dict, progressing: tuple, ready: tuple, failure=None) -> list:
    conditions = (restore.get("status") or {}).get("conditions") or []
    conditions = set_condition(conditions, "Progressing", progressing[0], progressing[1], probe=True)
    conditions = set_condition(conditions, "Ready", ready[0], ready[1], probe=True)
    if failure:
        conditions = set_condition(conditions, "Failure", "True", failure, probe=True)
    return conditions


def _restore_error(api, restore: dict, message: str):
    api.event(restore, "Warning", "VirtualMachineRestoreError",
              f"VirtualMachineRestore encountered error {message}")
    api.patch_status(restore, {"conditions": _restore_conditions(restore, ("False", message),
                                                                 ("False", message))}, guarded=True)
    return 5.0


def _restore_pvc(restore: dict, restore_entry: dict, backup: dict, volume_snapshot: dict, vm_name: str,
                 namespace: str) -> dict:
    source = backup["persistentVolumeClaim"]
    spec = source.get("spec") or {}
    annotations = {k: v for k, v in ((source.get("metadata") or {}).get("annotations") or {}).items()
                   if not k.startswith(DROPPED_ANNOTATION_PREFIXES)}
    labels = dict((source.get("metadata") or {}).get("labels") or {})
    labels.update({"restore.kubevirt.io/source-vm-name": vm_name, "restore.kubevirt.io/source-vm-namespace": namespace})
    annotations.update({RESTORE_NAME: restore["metadata"]["name"], LAST_RESTORE: _restore_value(restore)})
    requests = dict((spec.get("resources") or {}).get("requests") or {})
    restore_size = ((volume_snapshot or {}).get("status") or {}).get("restoreSize")
    if restore_size and quantity(requests.get("storage")) < quantity(restore_size):
        requests["storage"] = restore_size
    for override in (restore.get("spec") or {}).get("volumeRestoreOverrides") or []:
        if override.get("volumeName") == backup["volumeName"]:
            labels.update(override.get("labels") or {})
            annotations.update(override.get("annotations") or {})
    reference = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                 "name": backup["volumeSnapshotName"]}
    pvc_spec = {"accessModes": spec.get("accessModes"), "resources": {"requests": requests},
                "dataSource": dict(reference), "dataSourceRef": dict(reference)}
    for key in ("storageClassName", "volumeMode"):
        if spec.get(key):
            pvc_spec[key] = spec[key]
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": restore_entry["persistentVolumeClaim"], "namespace": namespace,
                         "labels": labels, "annotations": annotations},
            "spec": pvc_spec}


def _restored_vm(restore: dict, snapshot_vm: dict, target, restores: list) -> dict:
    by_volume = {r["volumeName"]: r for r in restores}
    spec = copy.deepcopy(snapshot_vm["spec"])
    templates = spec.get("dataVolumeTemplates") or []
    template_index = {t["metadata"]["name"]: i for i, t in enumerate(templates)}
    new_volumes = []
    for volume in ((spec.get("template") or {}).get("spec") or {}).get("volumes") or []:
        volume = copy.deepcopy(volume)
        entry = by_volume.get(volume["name"])
        if entry and volume.get("persistentVolumeClaim"):
            volume["persistentVolumeClaim"]["claimName"] = entry["persistentVolumeClaim"]
        elif entry and volume.get("dataVolume"):
            index = template_index.get(volume["dataVolume"]["name"])
            if index is not None:
                templates[index] = {**templates[index], "metadata": {**templates[index]["metadata"],
                                                                     "name": entry["dataVolumeName"]}}
                volume["dataVolume"]["name"] = entry["dataVolumeName"]
            else:
                volume = {"name": volume["name"],
                          "persistentVolumeClaim": {"claimName": entry["persistentVolumeClaim"]}}
        elif volume.get("memoryDump"):
            continue
        new_volumes.append(volume)
    if templates:
        spec["dataVolumeTemplates"] = templates
    spec.setdefault("template", {}).setdefault("spec", {})["volumes"] = new_volumes
    target_name = restore["spec"]["target"]["name"]
    snapshot_meta = snapshot_vm.get("metadata") or {}
    if target is None:
        if spec.get("running") is not None:
            spec["running"] = False
        else:
            spec["runStrategy"] = "Halted"
        meta = {"name": target_name, "namespace": restore["metadata"]["namespace"],
                "labels": dict(snapshot_meta.get("labels") or {}),
                "annotations": dict(snapshot_meta.get("annotations") or {})}
    else:
        target_spec = target.get("spec") or {}
        if target_spec.get("running") is not None:
            spec["running"] = False
            spec.pop("runStrategy", None)
        else:
            spec["runStrategy"] = target_spec.get("runStrategy") or "Halted"
            spec.pop("running", None)
        meta = copy.deepcopy(target["metadata"])
    meta.setdefault("annotations", {})[LAST_RESTORE] = _restore_value(restore)
    if snapshot_meta.get("name") == target_name:
        firmware = spec["template"]["spec"].setdefault("domain", {}).setdefault("firmware", {})
        if not firmware.get("uuid"):
            import uuid as _uuid
            firmware["uuid"] = str(_uuid.uuid5(_uuid.UUID("6a1a24a1-4061-4607-8bf4-a3963d0c5895"), target_name))
    return {"apiVersion": VM[0], "kind": "VirtualMachine", "metadata": meta, "spec": spec}


def reconcile_restore(api, restore: dict):
    meta = restore["metadata"]
    namespace = meta["namespace"]
    spec = restore.get("spec") or {}
    status = restore.get("status")
    target_name = (spec.get("target") or {}).get("name")
    target = api.get(*VM, target_name, namespace)

    if meta.get("deletionTimestamp"):
        if target is not None and (target.get("status") or {}).get("restoreInProgress") == meta["name"]:
            api.patch_status(target, {"restoreInProgress": None}, guarded=True)
        api.remove_finalizer(restore, RESTORE_FINALIZER)
        return None
    if kubevirt(api) is None:
        return 10.0
    if status is None or status.get("complete") is None:
        api.patch_status(restore, {"complete": False, "conditions": _restore_conditions(
            restore, ("True", "Initializing VirtualMachineRestore"), ("False", "Initializing VirtualMachineRestore"))},
            guarded=True)
        return 0.05
    if status.get("complete") or condition_true(restore, "Failure"):
        return None
    if not meta.get("ownerReferences") and target is not None:
        restore = api.patch(restore, {"metadata": {"ownerReferences": [owner_reference(target)]}}, guarded=True)
        return 0.05
    restore = api.add_finalizer(restore, RESTORE_FINALIZER)
    status = restore.get("status") or {}

    # The target must not run while its disks are replaced.
    restored_before = target is not None and (target["metadata"].get("annotations") or {}).get(
        LAST_RESTORE) == _restore_value(restore)
    if target is not None and not restored_before and api.get(*VMI, target_name, namespace) is not None:
        policy = spec.get("targetReadinessPolicy") or "WaitGracePeriod"
        api.event(restore, "Normal", "RestoreTargetNotReady", "Restore target VMI still exists")
        failure = None
        if policy == "StopTarget":
            target_spec = target.get("spec") or {}
            if target_spec.get("running") is not None:
                api.patch(target, {"spec": {"running": False}})
            else:
                api.patch(target, {"spec": {"runStrategy": "Halted"}})
        elif policy == "FailImmediate":
            failure = "Restore target not ready"
        elif policy == "WaitGracePeriod" and age(restore) > GRACE_PERIOD:
            failure = "Restore target failed to be ready within 5m0s"
        reason = "Waiting for target to be ready"
        conditions = _restore_conditions(restore, ("False", "Operation failed" if failure else reason),
                                         ("False", "Operation failed" if failure else reason), failure)
        api.patch_status(restore, {"conditions": conditions}, guarded=True)
        return None if failure else 1.0

    snapshot = api.get(*VMSNAPSHOT, spec.get("virtualMachineSnapshotName"), namespace)
    key = f"{namespace}/{spec.get('virtualMachineSnapshotName')}"
    if snapshot is None:
        return _restore_error(api, restore, f"VMSnapshot {key} does not exist")
    if (snapshot.get("status") or {}).get("phase") == "Failed":
        return _restore_error(api, restore, f"VMSnapshot {key} failed and is invalid to use")
    if not (snapshot.get("status") or {}).get("readyToUse"):
        return _restore_error(api, restore, f"VMSnapshot {key} not ready")
    content = api.get(*CONTENT, content_name(snapshot), namespace)
    if content is None or not (content.get("status") or {}).get("readyToUse"):
        return _restore_error(api, restore, f"VMSnapshotContent {namespace}/{content_name(snapshot)} not ready")
    if target is not None and not restored_before and \
            (snapshot.get("status") or {}).get("sourceUID") not in (None, target["metadata"]["uid"]):
        return _restore_error(api, restore, "restore source and restore target are different but restore "
                                            "target already exists")
    if target is not None and not restored_before:
        current = (target.get("status") or {}).get("restoreInProgress")
        if current and current != meta["name"]:
            return _restore_error(api, restore, f"vm restore {current} in progress")
        if current != meta["name"]:
            api.patch_status(target, {"restoreInProgress": meta["name"]}, guarded=True)
            return 0.05

    snapshot_vm = (content["spec"].get("source") or {}).get("virtualMachine") or {}
    backups = {b["volumeName"]: b for b in content["spec"].get("volumeBackups") or []}
    templates = {t["metadata"]["name"] for t in snapshot_vm.get("spec", {}).get("dataVolumeTemplates") or []}
    restores = status.get("restores") or []
    if not restores and backups:
        for volume in _volumes(snapshot_vm):
            backup = backups.get(volume["name"])
            if backup is None or volume.get("memoryDump"):
                continue
            claim = f"restore-{meta['uid']}-{volume['name']}"
            entry = {"volumeName": volume["name"], "persistentVolumeClaim": claim,
                     "volumeSnapshotName": backup["volumeSnapshotName"]}
            if volume.get("dataVolume") and volume["dataVolume"]["name"] in templates:
                entry["dataVolumeName"] = claim
            restores.append(entry)
        api.patch_status(restore, {"restores": restores, "conditions": _restore_conditions(
            restore, ("True", "Creating new PVCs"), ("False", "Waiting for new PVCs"))}, guarded=True)
        return 0.05

    waiting = False
    vm_name = (snapshot_vm.get("metadata") or {}).get("name", "")
    for entry in restores:
        pvc = api.get(*PVC, entry["persistentVolumeClaim"], namespace)
        if pvc is None:
            volume_snapshot = api.get(*VOLUME_SNAPSHOT, entry["volumeSnapshotName"], namespace)
            if volume_snapshot is None:
                return _restore_error(api, restore, f"missing volumeSnapshot {entry['volumeSnapshotName']}")
            claim = _restore_pvc(restore, entry, backups[entry["volumeName"]], volume_snapshot, vm_name, namespace)
            if entry.get("dataVolumeName"):
                claim["metadata"]["annotations"][POPULATED_FOR] = entry["dataVolumeName"]
            elif target is not None:
                claim["metadata"]["ownerReferences"] = [owner_reference(target)]
            api.create_if_absent(claim)
            waiting = True
            continue
        phase = (pvc.get("status") or {}).get("phase")
        if phase == "Pending":
            class_name = (pvc.get("spec") or {}).get("storageClassName")
            storage_class = api.get("storage.k8s.io/v1", "StorageClass", class_name) if class_name else None
            if (storage_class or {}).get("volumeBindingMode") != "WaitForFirstConsumer":
                waiting = True
        elif phase != "Bound":
            return _restore_error(api, restore, f"PVC {namespace}/{pvc['metadata']['name']} in status {phase!r}")
    if waiting:
        api.patch_status(restore, {"conditions": _restore_conditions(
            restore, ("True", "Creating new PVCs"), ("False", "Waiting for new PVCs"))}, guarded=True)
        return step_delay()

    if not restored_before:
        restored = _restored_vm(restore, snapshot_vm, target, restores)
        # DataVolumes of the restored VM: pre-populated, they adopt the restored PVCs.
        pending_dv = False
        for template in restored["spec"].get("dataVolumeTemplates") or []:
            dv = api.get(*DV, template["metadata"]["name"], namespace)
            if dv is not None:
                phase = (dv.get("status") or {}).get("phase")
                pending_dv = pending_dv or phase not in ("Succeeded", "WaitForFirstConsumer", "PendingPopulation")
                continue
            pvc = api.get(*PVC, template["metadata"]["name"], namespace)
            if pvc is None or (pvc["metadata"].get("annotations") or {}).get(POPULATED_FOR) != \
                    template["metadata"]["name"]:
                continue
            template_meta = template.get("metadata") or {}
            api.create_if_absent({"apiVersion": DV[0], "kind": "DataVolume",
                                  "metadata": {"name": template_meta["name"], "namespace": namespace,
                                               "labels": dict(template_meta.get("labels") or {}),
                                               "annotations": {**(template_meta.get("annotations") or {}),
                                                               RESTORE_NAME: meta["name"], PRE_POPULATED: "true"}},
                                  "spec": copy.deepcopy(template.get("spec") or {})})
            pending_dv = True
        deleted = []
        if target is not None:
            new_names = {t["metadata"]["name"] for t in restored["spec"].get("dataVolumeTemplates") or []}
            deleted = [t["metadata"]["name"] for t in (target.get("spec") or {}).get("dataVolumeTemplates") or []
                       if t["metadata"]["name"] not in new_names]
            if deleted != (status.get("deletedDataVolumes") or []):
                api.patch_status(restore, {"deletedDataVolumes": deleted or None}, guarded=True)
                return 0.05
        if pending_dv:
            api.patch_status(restore, {"conditions": _restore_conditions(
                restore, ("True", "Updating target spec"), ("False", "Waiting for target update"))}, guarded=True)
            return step_delay()
        if target is None:
            operations = [vc_json for patch in spec.get("patches") or [] for vc_json in _decode_patch(patch)]
            if operations:
                try:
                    restored = json_patch(restored, operations)
                except (ValueError, KeyError, IndexError, TypeError) as error:
                    return _restore_error(api, restore, f"error patching VM {target_name}: {error}")
            created = api.create_if_absent(restored)
            if created is None:
                return 0.05
        else:
            api.patch(target, {"metadata": {"annotations": restored["metadata"]["annotations"]},
                               "spec": _replace_spec(target["spec"], restored["spec"])}, guarded=True)
        api.patch_status(restore, {"conditions": _restore_conditions(
            restore, ("True", "Updating target spec"), ("False", "Waiting for target update"))}, guarded=True)
        return 0.05

    for name in status.get("deletedDataVolumes") or []:
        api.delete(*DV, name, namespace)
    if target is not None and (target.get("status") or {}).get("restoreInProgress") == meta["name"]:
        api.patch_status(target, {"restoreInProgress": None}, guarded=True)
    api.event(restore, "Normal", "VirtualMachineRestoreComplete",
              f"Successfully completed VirtualMachineRestore {meta['name']}")
    api.patch_status(restore, {"complete": True, "restoreTime": now(), "conditions": _restore_conditions(
        restore, ("False", "Operation complete"), ("True", "Operation complete"))}, guarded=True)
    return None


def _decode_patch(text: str) -> list:
    import json
    value = json.loads(text)
    return value if isinstance(value, list) else [value]


def _replace_spec(old: dict, new: dict) -> dict:
    """A merge patch that turns ``old`` into exactly ``new`` (removed keys become null)."""
    out = {}
    for key in set(old) | set(new):
        if key not in new:
            out[key] = None
        elif isinstance(old.get(key), dict) and isinstance(new[key], dict):
            out[key] = _replace_spec(old[key], new[key])
        else:
            out[key] = new[key]
    return out


def setup(manager, webhooks):
    api = manager.api

    def snapshot_of_content(obj):
        name = (obj.get("spec") or {}).get("virtualMachineSnapshotName")
        return [(obj["metadata"]["namespace"], name)] if name else []

    def content_of_volume_snapshot(obj):
        return [(obj["metadata"]["namespace"], ref["name"]) for ref in obj["metadata"].get("ownerReferences") or []
                if ref["kind"] == "VirtualMachineSnapshotContent"]

    def restores_of_namespace(obj):
        namespace = obj["metadata"]["namespace"]
        try:
            return [(namespace, r["metadata"]["name"]) for r in api.list(*RESTORE, namespace=namespace)
                    if not (r.get("status") or {}).get("complete")]
        except Exception:
            return []

    manager.add(Controller("virt-controller-vmsnapshot", *VMSNAPSHOT, reconcile_snapshot, resync_seconds=30,
                           watches=[Watch(*CONTENT, snapshot_of_content)]))
    manager.add(Controller("virt-controller-vmsnapshotcontent", *CONTENT, reconcile_content, resync_seconds=30,
                           watches=[Watch(*VOLUME_SNAPSHOT, content_of_volume_snapshot)]))
    manager.add(Controller("virt-controller-vmrestore", *RESTORE, reconcile_restore, resync_seconds=30,
                           watches=[Watch(*PVC, restores_of_namespace), Watch(*VMI, restores_of_namespace),
                                    Watch(*DV, restores_of_namespace)]))
    log.info("kubevirt: snapshot and restore controllers loaded")

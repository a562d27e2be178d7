"""Simulated KubeVirt restore controller (snapshot.kubevirt.io/v1beta1 VirtualMachineRestore,
KubeVirt v1.8, pkg/storage/snapshot/restore.go).

A restore waits for the target VM to be stopped (targetReadinessPolicy: the default
WaitGracePeriod fails after 5 minutes; StopTarget stops it; FailImmediate fails), checks the
snapshot, locks the target (`status.restoreInProgress`), creates PVCs `restore-<uid>-<volume>`
from the VolumeSnapshots, marks those of DataVolume disks `cdi.kubevirt.io/storage.populatedFor`
and creates their DataVolumes pre-populated (CDI adopts the PVC), then creates or updates the
target VM to use them (`restores[]`, `deletedDataVolumes`, `complete`).
"""

import copy
import json
import uuid
from dataclasses import dataclass, field
from typing import Optional

from lab.controllers.conditions import condition_true, set_condition
from lab.controllers.kubevirt.cluster_config import kubevirt
from lab.controllers.kubevirt.snapshot import (CONTENT, DV, PVC, SNAP_API, VM, VMI, VMSNAPSHOT, VOLUME_SNAPSHOT,
                                               content_name, template_volumes)
from lab.controllers.objects import age, owner_reference, quantity
from lab.controllers.patches import json_patch
from lab.controllers.runtime import CONTINUE, Controller, Watch, log, now, run_steps, step_delay

RESTORE = (SNAP_API, "VirtualMachineRestore")
RESTORE_FINALIZER = "snapshot.kubevirt.io/vmrestore-protection"
RESTORE_NAME = "restore.kubevirt.io/name"
LAST_RESTORE = "restore.kubevirt.io/lastRestoreUID"
POPULATED_FOR = "cdi.kubevirt.io/storage.populatedFor"
PRE_POPULATED = "cdi.kubevirt.io/storage.prePopulated"
GRACE_PERIOD = 5 * 60
DROPPED_ANNOTATION_PREFIXES = ("pv.kubernetes.io", "volume.beta.kubernetes.io", "cdi.kubevirt.io",
                               "volume.kubernetes.io", "k8s.io/CloneRequest", "k8s.io/CloneOf")
CREATING_VOLUMES = (("True", "Creating new PVCs"), ("False", "Waiting for new PVCs"))
UPDATING_TARGET = (("True", "Updating target spec"), ("False", "Waiting for target update"))


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
            firmware["uuid"] = str(uuid.uuid5(uuid.UUID("6a1a24a1-4061-4607-8bf4-a3963d0c5895"), target_name))
    return {"apiVersion": VM[0], "kind": "VirtualMachine", "metadata": meta, "spec": spec}


@dataclass
class _Restore:
    """What one reconcile of a VirtualMachineRestore has read so far."""
    restore: dict
    target: Optional[dict]
    restored_before: bool = False
    content: Optional[dict] = None
    restored: Optional[dict] = None
    pending_data_volumes: bool = False
    backups: dict = field(default_factory=dict)

    @property
    def meta(self) -> dict:
        return self.restore["metadata"]

    @property
    def namespace(self) -> str:
        return self.meta["namespace"]

    @property
    def spec(self) -> dict:
        return self.restore.get("spec") or {}

    @property
    def status(self) -> dict:
        return self.restore.get("status") or {}

    @property
    def target_name(self) -> str:
        return (self.spec.get("target") or {}).get("name")

    @property
    def snapshot_vm(self) -> dict:
        return (self.content["spec"].get("source") or {}).get("virtualMachine") or {}

    def conditions(self, progressing: tuple, ready: tuple, failure=None) -> list:
        return _restore_conditions(self.restore, progressing, ready, failure)


def reconcile_restore(api, restore: dict):
    spec = restore.get("spec") or {}
    target = api.get(*VM, (spec.get("target") or {}).get("name"), restore["metadata"]["namespace"])
    return run_steps((_finalize_if_deleted, _wait_for_kubevirt, _initialize, _stop_if_finished, _own_and_protect,
                      _wait_for_target_stopped, _validate_snapshot, _lock_target, _plan_volumes, _create_volumes,
                      _update_target, _complete), api, _Restore(restore, target))


def _finalize_if_deleted(api, r: _Restore):
    if not r.meta.get("deletionTimestamp"):
        return CONTINUE
    _unlock_target(api, r)
    api.remove_finalizer(r.restore, RESTORE_FINALIZER)
    return None


def _wait_for_kubevirt(api, r: _Restore):
    return 10.0 if kubevirt(api) is None else CONTINUE


def _initialize(api, r: _Restore):
    if r.status.get("complete") is not None:
        return CONTINUE
    initializing = "Initializing VirtualMachineRestore"
    api.patch_status(r.restore, {"complete": False, "conditions": r.conditions(("True", initializing),
                                                                               ("False", initializing))},
                     guarded=True)
    return 0.05


def _stop_if_finished(api, r: _Restore):
    return None if r.status.get("complete") or condition_true(r.restore, "Failure") else CONTINUE


def _own_and_protect(api, r: _Restore):
    """The target VM owns the restore, and a finalizer keeps the restore until its lock is released."""
    if not r.meta.get("ownerReferences") and r.target is not None:
        api.patch(r.restore, {"metadata": {"ownerReferences": [owner_reference(r.target)]}}, guarded=True)
        return 0.05
    r.restore = api.add_finalizer(r.restore, RESTORE_FINALIZER)
    r.restored_before = r.target is not None and (r.target["metadata"].get("annotations") or {}).get(
        LAST_RESTORE) == _restore_value(r.restore)
    return CONTINUE


def _wait_for_target_stopped(api, r: _Restore):
    """The target must not run while its disks are replaced (targetReadinessPolicy)."""
    if r.target is None or r.restored_before or api.get(*VMI, r.target_name, r.namespace) is None:
        return CONTINUE
    policy = r.spec.get("targetReadinessPolicy") or "WaitGracePeriod"
    api.event(r.restore, "Normal", "RestoreTargetNotReady", "Restore target VMI still exists")
    failure = None
    if policy == "StopTarget":
        if (r.target.get("spec") or {}).get("running") is not None:
            api.patch(r.target, {"spec": {"running": False}})
        else:
            api.patch(r.target, {"spec": {"runStrategy": "Halted"}})
    elif policy == "FailImmediate":
        failure = "Restore target not ready"
    elif policy == "WaitGracePeriod" and age(r.restore) > GRACE_PERIOD:
        failure = "Restore target failed to be ready within 5m0s"
    reason = "Operation failed" if failure else "Waiting for target to be ready"
    api.patch_status(r.restore, {"conditions": r.conditions(("False", reason), ("False", reason), failure)},
                     guarded=True)
    return None if failure else 1.0


def _validate_snapshot(api, r: _Restore):
    """The snapshot must exist, have succeeded and be ready, and have been taken of the target."""
    name = r.spec.get("virtualMachineSnapshotName")
    snapshot = api.get(*VMSNAPSHOT, name, r.namespace)
    key = f"{r.namespace}/{name}"
    if snapshot is None:
        return _restore_error(api, r.restore, f"VMSnapshot {key} does not exist")
    if (snapshot.get("status") or {}).get("phase") == "Failed":
        return _restore_error(api, r.restore, f"VMSnapshot {key} failed and is invalid to use")
    if not (snapshot.get("status") or {}).get("readyToUse"):
        return _restore_error(api, r.restore, f"VMSnapshot {key} not ready")
    r.content = api.get(*CONTENT, content_name(snapshot), r.namespace)
    if r.content is None or not (r.content.get("status") or {}).get("readyToUse"):
        return _restore_error(api, r.restore, f"VMSnapshotContent {r.namespace}/{content_name(snapshot)} not ready")
    if r.target is not None and not r.restored_before and \
            (snapshot.get("status") or {}).get("sourceUID") not in (None, r.target["metadata"]["uid"]):
        return _restore_error(api, r.restore, "restore source and restore target are different but restore "
                                              "target already exists")
    r.backups = {b["volumeName"]: b for b in r.content["spec"].get("volumeBackups") or []}
    return CONTINUE


def _lock_target(api, r: _Restore):
    """One restore at a time: the target's status.restoreInProgress names it."""
    if r.target is None or r.restored_before:
        return CONTINUE
    current = (r.target.get("status") or {}).get("restoreInProgress")
    if current and current != r.meta["name"]:
        return _restore_error(api, r.restore, f"vm restore {current} in progress")
    if current != r.meta["name"]:
        api.patch_status(r.target, {"restoreInProgress": r.meta["name"]}, guarded=True)
        return 0.05
    return CONTINUE


def _plan_volumes(api, r: _Restore):
    """status.restores: the claim (and DataVolume) each backed-up volume is restored into."""
    if r.status.get("restores") or not r.backups:
        return CONTINUE
    templates = {t["metadata"]["name"] for t in r.snapshot_vm.get("spec", {}).get("dataVolumeTemplates") or []}
    restores = []
    for volume in template_volumes(r.snapshot_vm):
        backup = r.backups.get(volume["name"])
        if backup is None or volume.get("memoryDump"):
            continue
        claim = f"restore-{r.meta['uid']}-{volume['name']}"
        entry = {"volumeName": volume["name"], "persistentVolumeClaim": claim,
                 "volumeSnapshotName": backup["volumeSnapshotName"]}
        if volume.get("dataVolume") and volume["dataVolume"]["name"] in templates:
            entry["dataVolumeName"] = claim
        restores.append(entry)
    api.patch_status(r.restore, {"restores": restores, "conditions": r.conditions(*CREATING_VOLUMES)}, guarded=True)
    return 0.05


def _create_volumes(api, r: _Restore):
    """A PVC from each VolumeSnapshot; on to the target once all are bound (or wait for a consumer)."""
    waiting = False
    vm_name = (r.snapshot_vm.get("metadata") or {}).get("name", "")
    for entry in r.status.get("restores") or []:
        pvc = api.get(*PVC, entry["persistentVolumeClaim"], r.namespace)
        if pvc is None:
            volume_snapshot = api.get(*VOLUME_SNAPSHOT, entry["volumeSnapshotName"], r.namespace)
            if volume_snapshot is None:
                return _restore_error(api, r.restore, f"missing volumeSnapshot {entry['volumeSnapshotName']}")
            claim = _restore_pvc(r.restore, entry, r.backups[entry["volumeName"]], volume_snapshot, vm_name,
                                 r.namespace)
            if entry.get("dataVolumeName"):
                claim["metadata"]["annotations"][POPULATED_FOR] = entry["dataVolumeName"]
            elif r.target is not None:
                claim["metadata"]["ownerReferences"] = [owner_reference(r.target)]
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
            return _restore_error(api, r.restore, f"PVC {r.namespace}/{pvc['metadata']['name']} in status {phase!r}")
    if waiting:
        api.patch_status(r.restore, {"conditions": r.conditions(*CREATING_VOLUMES)}, guarded=True)
        return step_delay()
    return CONTINUE


def _update_target(api, r: _Restore):
    """Point the target VM (created if it does not exist) at the restored volumes, once."""
    if r.restored_before:
        return CONTINUE
    r.restored = _restored_vm(r.restore, r.snapshot_vm, r.target, r.status.get("restores") or [])
    return run_steps((_create_data_volumes, _record_deleted_data_volumes, _wait_for_data_volumes, _write_target),
                     api, r)


def _create_data_volumes(api, r: _Restore):
    """The restored VM's DataVolumes, pre-populated: they adopt the restored PVCs."""
    for template in r.restored["spec"].get("dataVolumeTemplates") or []:
        dv = api.get(*DV, template["metadata"]["name"], r.namespace)
        if dv is not None:
            phase = (dv.get("status") or {}).get("phase")
            if phase not in ("Succeeded", "WaitForFirstConsumer", "PendingPopulation"):
                r.pending_data_volumes = True
            continue
        pvc = api.get(*PVC, template["metadata"]["name"], r.namespace)
        if pvc is None or (pvc["metadata"].get("annotations") or {}).get(POPULATED_FOR) != \
                template["metadata"]["name"]:
            continue
        template_meta = template.get("metadata") or {}
        api.create_if_absent({"apiVersion": DV[0], "kind": "DataVolume",
                              "metadata": {"name": template_meta["name"], "namespace": r.namespace,
                                           "labels": dict(template_meta.get("labels") or {}),
                                           "annotations": {**(template_meta.get("annotations") or {}),
                                                           RESTORE_NAME: r.meta["name"], PRE_POPULATED: "true"}},
                              "spec": copy.deepcopy(template.get("spec") or {})})
        r.pending_data_volumes = True
    return CONTINUE


def _record_deleted_data_volumes(api, r: _Restore):
    """status.deletedDataVolumes: the target's DataVolumes the restored VM no longer has."""
    if r.target is None:
        return CONTINUE
    new_names = {t["metadata"]["name"] for t in r.restored["spec"].get("dataVolumeTemplates") or []}
    deleted = [t["metadata"]["name"] for t in (r.target.get("spec") or {}).get("dataVolumeTemplates") or []
               if t["metadata"]["name"] not in new_names]
    if deleted != (r.status.get("deletedDataVolumes") or []):
        api.patch_status(r.restore, {"deletedDataVolumes": deleted or None}, guarded=True)
        return 0.05
    return CONTINUE


def _wait_for_data_volumes(api, r: _Restore):
    if not r.pending_data_volumes:
        return CONTINUE
    api.patch_status(r.restore, {"conditions": r.conditions(*UPDATING_TARGET)}, guarded=True)
    return step_delay()


def _write_target(api, r: _Restore):
    if r.target is None:
        operations = [operation for patch in r.spec.get("patches") or [] for operation in _decode_patch(patch)]
        restored = r.restored
        if operations:
            try:
                restored = json_patch(restored, operations)
            except (ValueError, KeyError, IndexError, TypeError) as error:
                return _restore_error(api, r.restore, f"error patching VM {r.target_name}: {error}")
        if api.create_if_absent(restored) is None:
            return 0.05
    else:
        api.patch(r.target, {"metadata": {"annotations": r.restored["metadata"]["annotations"]},
                             "spec": _replace_spec(r.target["spec"], r.restored["spec"])}, guarded=True)
    api.patch_status(r.restore, {"conditions": r.conditions(*UPDATING_TARGET)}, guarded=True)
    return 0.05


def _complete(api, r: _Restore):
    for name in r.status.get("deletedDataVolumes") or []:
        api.delete(*DV, name, r.namespace)
    _unlock_target(api, r)
    api.event(r.restore, "Normal", "VirtualMachineRestoreComplete",
              f"Successfully completed VirtualMachineRestore {r.meta['name']}")
    done = "Operation complete"
    api.patch_status(r.restore, {"complete": True, "restoreTime": now(),
                                 "conditions": r.conditions(("False", done), ("True", done))}, guarded=True)
    return None


def _unlock_target(api, r: _Restore) -> None:
    if r.target is not None and (r.target.get("status") or {}).get("restoreInProgress") == r.meta["name"]:
        api.patch_status(r.target, {"restoreInProgress": None}, guarded=True)


def _decode_patch(text: str) -> list:
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

    def restores_of_namespace(obj):
        namespace = obj["metadata"]["namespace"]
        try:
            return [(namespace, r["metadata"]["name"]) for r in api.list(*RESTORE, namespace=namespace)
                    if not (r.get("status") or {}).get("complete")]
        except Exception:
            return []

    manager.add(Controller("virt-controller-vmrestore", *RESTORE, reconcile_restore, resync_seconds=30,
                           watches=[Watch(*PVC, restores_of_namespace), Watch(*VMI, restores_of_namespace),
                                    Watch(*DV, restores_of_namespace)]))
    log.info("kubevirt: restore controller loaded")

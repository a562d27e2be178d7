"""Simulated VirtualMachineClone controller (clone.kubevirt.io/v1beta1, KubeVirt v1.8).

A clone of a VM runs as upstream does it: a VirtualMachineSnapshot `tmp-snapshot-<uid>` of the
source (phase SnapshotInProgress), then a VirtualMachineRestore `tmp-restore-<uid>` into the
target VM with the clone's patches (new MAC addresses, no firmware UUID, label/annotation
filters; phase RestoreInProgress), then CreatingTargetVM -> Succeeded once the target VM
exists; when the restored PVCs are bound the temporary snapshot and restore are deleted.

A source VM with a disk that no VolumeSnapshotClass serves (VM
`status.volumeSnapshotStatuses[].enabled: false`) is not cloned: as in KubeVirt v1.8 the clone
stays pending (no phase) with Ready False and the reason "Virtual Machine volume <v> does not
support snapshots", and a VMVolumeSnapshotsInvalid event; it proceeds if that changes.
"""

import fnmatch
import json

from lab.controllers import virt_common as vc
from lab.controllers.runtime import Controller, Watch, log, now, step_delay

CLONE_API = "clone.kubevirt.io/v1beta1"
CLONE = (CLONE_API, "VirtualMachineClone")
VM = ("kubevirt.io/v1", "VirtualMachine")
VMSNAPSHOT = ("snapshot.kubevirt.io/v1beta1", "VirtualMachineSnapshot")
RESTORE = ("snapshot.kubevirt.io/v1beta1", "VirtualMachineRestore")
PVC = ("v1", "PersistentVolumeClaim")


def _conditions(clone: dict, progressing: tuple, ready: tuple) -> list:
    conditions = (clone.get("status") or {}).get("conditions") or []
    conditions = vc.set_condition(conditions, "Progressing", progressing[0], progressing[1], probe=True)
    return vc.set_condition(conditions, "Ready", ready[0], ready[1], probe=True)


def _update(api, clone: dict, fields: dict) -> None:
    status = clone.get("status") or {}
    if any(status.get(k) != v for k, v in fields.items() if k != "conditions") or \
            [(c["type"], c["status"], c.get("reason")) for c in fields.get("conditions") or []] != \
            [(c["type"], c["status"], c.get("reason")) for c in status.get("conditions") or []]:
        vc.update_status(api, clone, fields)


def _record(api, clone: dict, reason: str, message: str) -> None:
    api.event(clone, "Normal", reason, message)


def snapshot_support_errors(vm: dict) -> list:
    statuses = {s["name"]: s for s in (vm.get("status") or {}).get("volumeSnapshotStatuses") or []}
    errors = []
    for volume in ((((vm.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes")) or []:
        if volume.get("persistentVolumeClaim") or volume.get("dataVolume"):
            found = statuses.get(volume["name"])
            if found is None:
                errors.append(f"Virtual Machine volume {volume['name']} snapshot support unknown")
            elif not found.get("enabled"):
                errors.append(f"Virtual Machine volume {volume['name']} does not support snapshots")
    return errors


def _owner(clone: dict) -> dict:
    return {"apiVersion": CLONE_API, "kind": "VirtualMachineClone", "name": clone["metadata"]["name"],
            "uid": clone["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}


def _filtered(values: dict, filters) -> dict:
    """KubeVirt's clone filters: "*" keeps all, "!key" drops, "prefix*" wildcards."""
    if filters is None:
        filters = ["*"]
    kept = {}
    for key, value in (values or {}).items():
        keep = False
        for rule in filters:
            negate = rule.startswith("!")
            pattern = rule[1:] if negate else rule
            if fnmatch.fnmatchcase(key, pattern):
                keep = not negate
        if keep:
            kept[key] = value
    return kept


def clone_patches(vm: dict, spec: dict) -> list:
    """The JSON patches upstream's generatePatches applies to the restored VM."""
    patches = []
    new_macs = spec.get("newMacAddresses") or {}
    template_spec = ((vm.get("spec") or {}).get("template") or {}).get("spec") or {}
    interfaces = ((template_spec.get("domain") or {}).get("devices") or {}).get("interfaces") or []
    for index, interface in enumerate(interfaces):
        path = f"/spec/template/spec/domain/devices/interfaces/{index}/macAddress"
        if interface["name"] in new_macs:
            op = "replace" if "macAddress" in interface else "add"
            patches.append({"op": op, "path": path, "value": new_macs[interface["name"]]})
        elif "macAddress" in interface:
            patches.append({"op": "remove", "path": path})
    firmware = (template_spec.get("domain") or {}).get("firmware") or {}
    if spec.get("newSMBiosSerial"):
        op = "replace" if "serial" in firmware else "add"
        if firmware:
            patches.append({"op": op, "path": "/spec/template/spec/domain/firmware/serial",
                            "value": spec["newSMBiosSerial"]})
    if "uuid" in firmware:
        patches.append({"op": "remove", "path": "/spec/template/spec/domain/firmware/uuid"})
    meta = vm.get("metadata") or {}
    template_meta = ((vm.get("spec") or {}).get("template") or {}).get("metadata") or {}
    template = spec.get("template") or {}
    for path, values, filters in (
            ("/metadata/labels", meta.get("labels"), spec.get("labelFilters")),
            ("/metadata/annotations", {k: v for k, v in (meta.get("annotations") or {}).items()
                                       if not k.startswith("restore.kubevirt.io/")}, spec.get("annotationFilters")),
            ("/spec/template/metadata/labels", template_meta.get("labels"), template.get("labelFilters")),
            ("/spec/template/metadata/annotations", template_meta.get("annotations"),
             template.get("annotationFilters"))):
        kept = _filtered(values, filters)
        for key in values or {}:
            if key not in kept:
                patches.append({"op": "remove", "path": path + "/" + key.replace("~", "~0").replace("/", "~1")})
    return [json.dumps(p) for p in patches] + list(spec.get("patches") or [])


def reconcile_clone(api, clone: dict):
    meta = clone["metadata"]
    namespace = meta["namespace"]
    spec = clone.get("spec") or {}
    status = clone.get("status") or {}
    phase = status.get("phase") or ""
    if meta.get("deletionTimestamp") or phase == "Failed":
        return None
    if vc.kubevirt(api) is None:
        return 10.0
    target = spec.get("target") or {}
    target_name = target.get("name") or f"{(spec.get('source') or {}).get('name')}-clone-{vc.short_hash(meta['uid'])}"
    if phase == "Succeeded" and not (status.get("restoreName") or status.get("snapshotName")):
        if api.get(*VM, status.get("targetName") or target_name, namespace) is None:
            vc.delete(api, *CLONE, meta["name"], namespace)  # its target VM was deleted
        return None

    source = spec.get("source") or {}
    source_vm = None
    snapshot_name = status.get("snapshotName")
    if source.get("kind") == "VirtualMachine":
        source_vm = api.get(*VM, source.get("name"), namespace)
        if source_vm is None and phase in ("", "SnapshotInProgress"):
            message = f"Source doesnt exist: VM {namespace}/{source.get('name')}"
            _record(api, clone, "SourceDoesNotExist", message)
            _update(api, clone, {"conditions": _conditions(clone, ("False", "Pending"), ("False", message))})
            return 5.0
    elif source.get("kind") == "VirtualMachineSnapshot":
        snapshot_name = source.get("name")

    if phase in ("", "SnapshotInProgress"):
        if source.get("kind") == "VirtualMachine" and not snapshot_name:
            errors = snapshot_support_errors(source_vm)
            if errors:
                reason = "\n".join(errors)
                if ((vc.condition(clone, "Ready") or {}).get("reason")) != reason:
                    _record(api, clone, "VMVolumeSnapshotsInvalid", reason)
                _update(api, clone, {"conditions": _conditions(clone, ("False", "Pending"), ("False", reason))})
                return 3.0
            snapshot_name = f"tmp-snapshot-{meta['uid']}"
            created = vc.create(api, {"apiVersion": VMSNAPSHOT[0], "kind": "VirtualMachineSnapshot",
                                      "metadata": {"name": snapshot_name, "namespace": namespace,
                                                   "ownerReferences": [_owner(clone)]},
                                      "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine",
                                                          "name": source_vm["metadata"]["name"]}}})
            if created is not None:
                _record(api, clone, "SnapshotCreated", f"created snapshot {snapshot_name} for clone {meta['name']}")
            _update(api, clone, {"phase": "SnapshotInProgress", "snapshotName": snapshot_name,
                                 "creationTime": status.get("creationTime") or now(),
                                 "conditions": _conditions(clone, ("True", "Still processing"),
                                                           ("False", "Still processing"))})
            return step_delay()
        snapshot = api.get(*VMSNAPSHOT, snapshot_name, namespace)
        if snapshot is None or not (snapshot.get("status") or {}).get("readyToUse"):
            _update(api, clone, {"phase": "SnapshotInProgress",
                                 "creationTime": status.get("creationTime") or now(),
                                 "conditions": _conditions(clone, ("True", "Still processing"),
                                                           ("False", "Still processing"))})
            return step_delay()
        _record(api, clone, "SnapshotReady", f"snapshot {snapshot_name} for clone {meta['name']} is ready to use")
        _update(api, clone, {"phase": "RestoreInProgress", "conditions": _conditions(
            clone, ("True", "Still processing"), ("False", "Still processing"))})
        return 0.05

    if phase == "RestoreInProgress":
        snapshot = api.get(*VMSNAPSHOT, snapshot_name, namespace)
        if snapshot is None:
            message = f"snapshot {snapshot_name} does not exist anymore"
            _record(api, clone, "SnapshotDeleted", message)
            _update(api, clone, {"phase": "Failed", "conditions": _conditions(clone, ("False", "Failed"),
                                                                              ("False", message))})
            return None
        restore_name = status.get("restoreName") or f"tmp-restore-{meta['uid']}"
        restore = api.get(*RESTORE, restore_name, namespace)
        if restore is None:
            content = api.get("snapshot.kubevirt.io/v1beta1", "VirtualMachineSnapshotContent",
                              (snapshot.get("status") or {}).get("virtualMachineSnapshotContentName", ""), namespace)
            snapshot_vm = ((content or {}).get("spec", {}).get("source") or {}).get("virtualMachine") or {}
            created = vc.create(api, {"apiVersion": RESTORE[0], "kind": "VirtualMachineRestore",
                                      "metadata": {"name": restore_name, "namespace": namespace,
                                                   "ownerReferences": [_owner(clone)]},
                                      "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine",
                                                          "name": target_name},
                                               "virtualMachineSnapshotName": snapshot_name,
                                               "patches": clone_patches(snapshot_vm, spec)}})
            if created is not None:
                _record(api, clone, "RestoreCreated", f"created restore {restore_name} for clone {meta['name']}")
            _update(api, clone, {"restoreName": restore_name})
            return step_delay()
        if not (restore.get("status") or {}).get("complete"):
            return step_delay()
        _record(api, clone, "RestoreReady", f"restore {restore_name} for clone {meta['name']} is ready to use")
        _update(api, clone, {"phase": "CreatingTargetVM", "restoreName": restore_name,
                             "targetName": restore["spec"]["target"]["name"]})
        return 0.05

    if phase == "CreatingTargetVM":
        name = status.get("targetName") or target_name
        if api.get(*VM, name, namespace) is None:
            return step_delay()
        _record(api, clone, "TargetVMCreated", f"created target VM {name} for clone {meta['name']}")
        _update(api, clone, {"phase": "Succeeded", "conditions": _conditions(clone, ("False", "Ready"),
                                                                               ("True", "Ready"))})
        return 0.05

    if phase == "Succeeded":
        restore_name = status.get("restoreName")
        if restore_name:
            pvcs = [p for p in api.list(*PVC, namespace=namespace)
                    if (p["metadata"].get("annotations") or {}).get("restore.kubevirt.io/name") == restore_name]
            if any((p.get("status") or {}).get("phase") != "Bound" for p in pvcs):
                return step_delay()
            _record(api, clone, "PVCBound", f"all PVC for restore {restore_name} are bound")
            vc.delete(api, *RESTORE, restore_name, namespace)
            if source.get("kind") == "VirtualMachine" and status.get("snapshotName"):
                vc.delete(api, *VMSNAPSHOT, status["snapshotName"], namespace)
        _update(api, clone, {"snapshotName": None, "restoreName": None})
        return None
    return None


def setup(manager, webhooks):
    api = manager.api

    def clone_of_owner(obj):
        return [(obj["metadata"]["namespace"], ref["name"]) for ref in obj["metadata"].get("ownerReferences") or []
                if ref["kind"] == "VirtualMachineClone"]

    def clones_of_vm(obj):
        namespace = obj["metadata"]["namespace"]
        try:
            return [(namespace, c["metadata"]["name"]) for c in api.list(*CLONE, namespace=namespace)
                    if (c.get("status") or {}).get("phase") not in ("Succeeded", "Failed")]
        except Exception:
            return []

    manager.add(Controller("virt-controller-clone", *CLONE, reconcile_clone, resync_seconds=30, watches=[
        Watch(*VMSNAPSHOT, clone_of_owner), Watch(*RESTORE, clone_of_owner), Watch(*VM, clones_of_vm)]))
    log.info("kubevirt: clone controller loaded")

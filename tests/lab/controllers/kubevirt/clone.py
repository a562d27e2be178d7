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

A source with backend storage (persistent TPM or EFI) fails the clone ("Clone of source with
backendstorage is not supported"); so does a ready snapshot whose content misses a volume or
holds such a VM (SnapshotContentInvalid). A restore the restore admission refuses (a patch
whose value holds a ':', as a colon-separated MAC address does) is retried with a
RestoreCreationFailed warning, as upstream's work queue does.
"""

import fnmatch
import json

from kubernetes.client.exceptions import ApiException

from lab.controllers.conditions import condition, set_condition
from lab.controllers.kubevirt.cluster_config import kubevirt
from lab.controllers.kubevirt.day2_admission import has_backend_storage
from lab.controllers.objects import short_hash
from lab.controllers.runtime import Controller, Watch, log, now, step_delay

CLONE_API = "clone.kubevirt.io/v1beta1"
CLONE = (CLONE_API, "VirtualMachineClone")
VM = ("kubevirt.io/v1", "VirtualMachine")
VMSNAPSHOT = ("snapshot.kubevirt.io/v1beta1", "VirtualMachineSnapshot")
RESTORE = ("snapshot.kubevirt.io/v1beta1", "VirtualMachineRestore")
CONTENT = ("snapshot.kubevirt.io/v1beta1", "VirtualMachineSnapshotContent")
PVC = ("v1", "PersistentVolumeClaim")
BACKEND_STORAGE = "Clone of source with backendstorage is not supported"


def _conditions(clone: dict, progressing: tuple, ready: tuple) -> list:
    conditions = (clone.get("status") or {}).get("conditions") or []
    conditions = set_condition(conditions, "Progressing", progressing[0], progressing[1], probe=True)
    return set_condition(conditions, "Ready", ready[0], ready[1], probe=True)


def _update(api, clone: dict, fields: dict) -> None:
    status = clone.get("status") or {}
    if any(status.get(k) != v for k, v in fields.items() if k != "conditions") or \
            [(c["type"], c["status"], c.get("reason")) for c in fields.get("conditions") or []] != \
            [(c["type"], c["status"], c.get("reason")) for c in status.get("conditions") or []]:
        api.patch_status(clone, fields, guarded=True)


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
    compact = [json.dumps(p, separators=(",", ":")) for p in patches]  # as Go's json.Marshal writes them
    return compact + list(spec.get("patches") or [])


STILL_PROCESSING = (("True", "Still processing"), ("False", "Still processing"))


def _fail(api, clone: dict, event: str, message: str) -> None:
    _record(api, clone, event, message)
    _update(api, clone, {"phase": "Failed", "conditions": _conditions(clone, ("False", "Failed"), ("False", message))})


def _target_name(clone: dict) -> str:
    spec = clone.get("spec") or {}
    return (spec.get("target") or {}).get("name") or \
        f"{(spec.get('source') or {}).get('name')}-clone-{short_hash(clone['metadata']['uid'])}"


def reconcile_clone(api, clone: dict):
    meta = clone["metadata"]
    status = clone.get("status") or {}
    phase = status.get("phase") or ""
    if meta.get("deletionTimestamp") or phase == "Failed":
        return None
    if kubevirt(api) is None:
        return 10.0
    if phase == "Succeeded" and not (status.get("restoreName") or status.get("snapshotName")):
        if api.get(*VM, status.get("targetName") or _target_name(clone), meta["namespace"]) is None:
            api.delete(*CLONE, meta["name"], meta["namespace"])  # its target VM was deleted
        return None
    source_vm, go_on, delay = _source(api, clone)
    if not go_on:
        return delay
    step = CLONE_STEPS.get(phase)
    return step(api, clone, source_vm) if step else None


def _source(api, clone: dict) -> tuple:
    """retrieveCloneInfo: (source VM or None, whether the clone goes on, the delay when it does not)."""
    namespace, phase = clone["metadata"]["namespace"], (clone.get("status") or {}).get("phase") or ""
    source = (clone.get("spec") or {}).get("source") or {}
    if source.get("kind") != "VirtualMachine":
        return None, True, None
    source_vm = api.get(*VM, source.get("name"), namespace)
    if source_vm is None:
        if phase not in ("", "SnapshotInProgress"):
            return None, True, None
        message = f"Source doesnt exist: VM {namespace}/{source.get('name')}"
        _record(api, clone, "SourceDoesNotExist", message)
        _update(api, clone, {"conditions": _conditions(clone, ("False", "Pending"), ("False", message))})
        return None, False, 5.0
    if has_backend_storage(source_vm):
        _fail(api, clone, "SourceVMWithBackendStorageInvalid",
              f"{BACKEND_STORAGE}: VM {namespace}/{source.get('name')}")
        return None, False, None
    return source_vm, True, None


def _snapshot_name(clone: dict):
    source = (clone.get("spec") or {}).get("source") or {}
    if source.get("kind") == "VirtualMachineSnapshot":
        return source.get("name")
    return (clone.get("status") or {}).get("snapshotName")


# --- SnapshotInProgress ------------------------------------------------------------------------------

def _take_snapshot(api, clone: dict, source_vm):
    if source_vm is not None and not _snapshot_name(clone):
        return _create_snapshot(api, clone, source_vm)
    return _await_snapshot(api, clone)


def _create_snapshot(api, clone: dict, source_vm: dict):
    """createSnapshotFromVm: only once every disk can be snapshotted."""
    meta, status = clone["metadata"], clone.get("status") or {}
    errors = snapshot_support_errors(source_vm)
    if errors:
        reason = "\n".join(errors)
        if ((condition(clone, "Ready") or {}).get("reason")) != reason:
            _record(api, clone, "VMVolumeSnapshotsInvalid", reason)
        _update(api, clone, {"conditions": _conditions(clone, ("False", "Pending"), ("False", reason))})
        return 3.0
    snapshot_name = f"tmp-snapshot-{meta['uid']}"
    created = api.create_if_absent({"apiVersion": VMSNAPSHOT[0], "kind": "VirtualMachineSnapshot",
                                    "metadata": {"name": snapshot_name, "namespace": meta["namespace"],
                                                 "ownerReferences": [_owner(clone)]},
                                    "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine",
                                                        "name": source_vm["metadata"]["name"]}}})
    if created is not None:
        _record(api, clone, "SnapshotCreated", f"created snapshot {snapshot_name} for clone {meta['name']}")
    _update(api, clone, {"phase": "SnapshotInProgress", "snapshotName": snapshot_name,
                         "creationTime": status.get("creationTime") or now(),
                         "conditions": _conditions(clone, *STILL_PROCESSING)})
    return step_delay()


def _await_snapshot(api, clone: dict):
    """verifySnapshotReady: a ready snapshot whose content cannot make the clone fails it."""
    meta, status = clone["metadata"], clone.get("status") or {}
    snapshot_name = _snapshot_name(clone)
    snapshot = api.get(*VMSNAPSHOT, snapshot_name, meta["namespace"])
    if snapshot is None or not (snapshot.get("status") or {}).get("readyToUse"):
        _update(api, clone, {"phase": "SnapshotInProgress", "creationTime": status.get("creationTime") or now(),
                             "conditions": _conditions(clone, *STILL_PROCESSING)})
        return step_delay()
    invalid = content_errors(api, snapshot)
    if invalid:
        _fail(api, clone, "SnapshotContentInvalid", invalid)
        return None
    _record(api, clone, "SnapshotReady", f"snapshot {snapshot_name} for clone {meta['name']} is ready to use")
    _update(api, clone, {"phase": "RestoreInProgress", "conditions": _conditions(clone, *STILL_PROCESSING)})
    return 0.05


def _content(api, snapshot: dict):
    namespace = snapshot["metadata"]["namespace"]
    name = (snapshot.get("status") or {}).get("virtualMachineSnapshotContentName") or \
        f"vmsnapshot-content-{snapshot['metadata']['uid']}"
    return name, api.get(*CONTENT, name, namespace)


def content_errors(api, snapshot: dict) -> str:
    """verifySnapshotContent: why the content cannot be cloned, "" when it can."""
    namespace = snapshot["metadata"]["namespace"]
    name, content = _content(api, snapshot)
    if content is None:
        return f"snapshot content {name} in namespace {namespace} does not exist"
    spec = content.get("spec") or {}
    if not spec.get("virtualMachineSnapshotName"):
        return f"cannot get snapshot name from content {name}"
    vm = (spec.get("source") or {}).get("virtualMachine") or {}
    if not (vm.get("spec") or {}).get("template"):
        return ""
    if has_backend_storage(vm):
        return f"{BACKEND_STORAGE}: snapshot {namespace}/{snapshot['metadata']['name']}"
    backed_up = {b.get("volumeName") for b in spec.get("volumeBackups") or []}
    volumes = ((vm["spec"]["template"].get("spec") or {}).get("volumes")) or []
    return "\n".join(f"volume {v['name']} is not backed up in snapshot {spec['virtualMachineSnapshotName']}"
                     for v in volumes if (v.get("persistentVolumeClaim") or v.get("dataVolume"))
                     and v["name"] not in backed_up)


# --- RestoreInProgress -------------------------------------------------------------------------------

def _restore(api, clone: dict, source_vm):
    meta, status = clone["metadata"], clone.get("status") or {}
    snapshot_name = _snapshot_name(clone)
    snapshot = api.get(*VMSNAPSHOT, snapshot_name, meta["namespace"])
    if snapshot is None:
        _fail(api, clone, "SnapshotDeleted", f"snapshot {snapshot_name} does not exist anymore")
        return None
    restore_name = status.get("restoreName") or f"tmp-restore-{meta['uid']}"
    restore = api.get(*RESTORE, restore_name, meta["namespace"])
    if restore is None:
        return _create_restore(api, clone, snapshot, restore_name)
    if not (restore.get("status") or {}).get("complete"):
        return step_delay()
    _record(api, clone, "RestoreReady", f"restore {restore_name} for clone {meta['name']} is ready to use")
    _update(api, clone, {"phase": "CreatingTargetVM", "restoreName": restore_name,
                         "targetName": restore["spec"]["target"]["name"]})
    return 0.05


def _create_restore(api, clone: dict, snapshot: dict, restore_name: str):
    """createRestoreFromVm: the restore admission may refuse it (a MAC address in a patch does)."""
    meta = clone["metadata"]
    _, content = _content(api, snapshot)
    snapshot_vm = ((content or {}).get("spec", {}).get("source") or {}).get("virtualMachine") or {}
    body = {"apiVersion": RESTORE[0], "kind": "VirtualMachineRestore",
            "metadata": {"name": restore_name, "namespace": meta["namespace"], "ownerReferences": [_owner(clone)]},
            "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": _target_name(clone)},
                     "virtualMachineSnapshotName": snapshot["metadata"]["name"],
                     "patches": clone_patches(snapshot_vm, clone.get("spec") or {})}}
    try:
        created = api.create_if_absent(body)
    except ApiException as error:
        api.event(clone, "Warning", "RestoreCreationFailed", f"failed creating restore {restore_name} for clone "
                                                             f"{meta['name']}: {_api_error(error)}")
        _update(api, clone, {"conditions": _conditions(clone, *STILL_PROCESSING)})
        return 10.0  # upstream retries with the work queue's backoff
    if created is not None:
        _record(api, clone, "RestoreCreated", f"created restore {restore_name} for clone {meta['name']}")
    _update(api, clone, {"restoreName": restore_name})
    return step_delay()


def _api_error(error: ApiException) -> str:
    """client-go's StatusError text: the Status message."""
    try:
        return json.loads(error.body)["message"]
    except (TypeError, ValueError, KeyError):
        return str(error.reason)


# --- CreatingTargetVM, Succeeded ---------------------------------------------------------------------

def _await_target_vm(api, clone: dict, source_vm):
    meta, status = clone["metadata"], clone.get("status") or {}
    name = status.get("targetName") or _target_name(clone)
    if api.get(*VM, name, meta["namespace"]) is None:
        return step_delay()
    _record(api, clone, "TargetVMCreated", f"created target VM {name} for clone {meta['name']}")
    _update(api, clone, {"phase": "Succeeded", "conditions": _conditions(clone, ("False", "Ready"), ("True", "Ready"))})
    return 0.05


def _clean_up(api, clone: dict, source_vm):
    """verifyPVCBound, then the temporary restore and (for a VM source) snapshot go."""
    meta, status = clone["metadata"], clone.get("status") or {}
    restore_name = status.get("restoreName")
    if restore_name:
        pvcs = [p for p in api.list(*PVC, namespace=meta["namespace"])
                if (p["metadata"].get("annotations") or {}).get("restore.kubevirt.io/name") == restore_name]
        if any((p.get("status") or {}).get("phase") != "Bound" for p in pvcs):
            return step_delay()
        _record(api, clone, "PVCBound", f"all PVC for restore {restore_name} are bound")
        api.delete(*RESTORE, restore_name, meta["namespace"])
        if ((clone.get("spec") or {}).get("source") or {}).get("kind") == "VirtualMachine" \
                and status.get("snapshotName"):
            api.delete(*VMSNAPSHOT, status["snapshotName"], meta["namespace"])
    _update(api, clone, {"snapshotName": None, "restoreName": None})
    return None


CLONE_STEPS = {"": _take_snapshot, "SnapshotInProgress": _take_snapshot, "RestoreInProgress": _restore,
               "CreatingTargetVM": _await_target_vm, "Succeeded": _clean_up}


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

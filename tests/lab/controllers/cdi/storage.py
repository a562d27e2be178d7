"""What CDI v1.65 knows about storage: StorageProfile contents, default classes, snapshot classes.

Capabilities come from CDI's table for Trident (pkg/storagecapabilities): a class is recognised
by its plain ``backendType`` parameter only; ontap-nas* -> RWX then RWO Filesystem, ontap-san*
-> RWX Block; both advise the snapshot clone strategy and snapshot DataImportCron sources.
Also the condition and status helpers CDI's controllers share here.
"""

import math

from kubernetes.utils import parse_quantity

from lab.controllers.runtime import now
from lab.controllers.trident.config import DRIVER

CDI = "cdi.kubevirt.io/v1beta1"
SNAPSHOTS = "snapshot.storage.k8s.io/v1"
ANN_DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
ANN_DEFAULT_VIRT_CLASS = "storageclass.kubevirt.io/is-default-virt-class"
ANN_DEFAULT_SNAPSHOT_CLASS = "snapshot.storage.kubernetes.io/is-default-class"
ANN_CLONE_STRATEGY = "cdi.kubevirt.io/clone-strategy"
LABELS = {"app": "containerized-data-importer", "app.kubernetes.io/component": "storage",
          "app.kubernetes.io/managed-by": "cdi-controller"}
FILESYSTEM_OVERHEAD = 0.055  # CDIConfig's default global filesystemOverhead
ALIGN = 1024 * 1024  # util.DefaultAlignBlockSize

_RWX_FS = {"accessModes": ["ReadWriteMany"], "volumeMode": "Filesystem"}
_RWO_FS = {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}
_RWX_BLOCK = {"accessModes": ["ReadWriteMany"], "volumeMode": "Block"}
_CLONE_STRATEGIES = {"copy": "copy", "snapshot": "snapshot", "csi-clone": "csi-clone"}


def provisioner_key(sc: dict) -> str:
    """storageProvisionerKey: Trident classes are told apart by their backendType."""
    if sc["provisioner"] != DRIVER:
        return sc["provisioner"]
    backend_type = (sc.get("parameters") or {}).get("backendType", "")
    for family in ("ontap-nas", "ontap-san"):
        if backend_type.startswith(family):
            return f"{DRIVER}/{family}"
    return "UNKNOWN"


_CAPABILITIES = {f"{DRIVER}/ontap-nas": [_RWX_FS, _RWO_FS], f"{DRIVER}/ontap-san": [_RWX_BLOCK]}
_ADVISED = {f"{DRIVER}/ontap-nas": "snapshot", f"{DRIVER}/ontap-san": "snapshot"}


class SnapshotClassNotFound(LookupError):
    """A named VolumeSnapshotClass that does not exist: CDI's Get fails and so does its reconcile."""


def snapshot_class_for(api, sc: dict, wanted: str = None) -> str:
    """GetVolumeSnapshotClass: the named class if its driver matches ('' if not), else the
    driver's default class, else the first by name; '' when there is none. A named class that
    does not exist is SnapshotClassNotFound, not a fallback."""
    classes = api.list(SNAPSHOTS, "VolumeSnapshotClass")
    if wanted:
        named = next((c for c in classes if c["metadata"]["name"] == wanted), None)
        if named is None:
            raise SnapshotClassNotFound(f'volumesnapshotclasses.snapshot.storage.k8s.io "{wanted}" not found')
        return wanted if named["driver"] == sc["provisioner"] else ""
    classes = [c for c in classes if c["driver"] == sc["provisioner"]]
    defaults = [c for c in classes
                if (c["metadata"].get("annotations") or {}).get(ANN_DEFAULT_SNAPSHOT_CLASS) == "true"]
    chosen = sorted(defaults or classes, key=lambda c: c["metadata"]["name"])
    return chosen[0]["metadata"]["name"] if chosen else ""


def clone_snapshot_class(api, target_sc: dict, source_sc: dict = None) -> str:
    """GetCompatibleVolumeSnapshotClass: the snapshotClass the StorageProfiles' statuses name
    when the classes involved all name the same one, else the driver's default (or first)."""
    names = [((profile(api, sc["metadata"]["name"]) or {}).get("status") or {}).get("snapshotClass")
             for sc in filter(None, (source_sc, target_sc))]
    common = names[0] if all(names) and len(set(names)) == 1 else None
    return snapshot_class_for(api, target_sc, common)


def recognized(sc: dict) -> tuple:
    """IsRecognized, as the StorageProfile's Recognized condition: (status, reason, message)."""
    key = provisioner_key(sc)
    if key == "UNKNOWN":
        return "False", "UnrecognizedStorageClassParameters", "Storage class parameters are not recognized"
    if key in _CAPABILITIES:
        return "True", "RecognizedProvisioner", "Provisioner is recognized"
    return "False", "UnrecognizedProvisioner", "Provisioner is not recognized"


def profile_status(api, sc: dict, spec: dict) -> dict:
    """The StorageProfile status CDI computes for ``sc`` given the profile's ``spec`` (without
    conditions); SnapshotClassNotFound when the spec names a class that does not exist."""
    key = provisioner_key(sc)
    snapshot_class = snapshot_class_for(api, sc, spec.get("snapshotClass"))
    status = {"storageClass": sc["metadata"]["name"], "provisioner": sc["provisioner"],
              "claimPropertySets": spec.get("claimPropertySets") or _CAPABILITIES.get(key, []),
              "cloneStrategy": _clone_strategy(sc, key, spec.get("cloneStrategy"), snapshot_class),
              "dataImportCronSourceFormat": _source_format(key, spec.get("dataImportCronSourceFormat"),
                                                           snapshot_class)}
    if snapshot_class:
        status["snapshotClass"] = snapshot_class
    return status


def _clone_strategy(sc: dict, key: str, wanted, snapshot_class: str) -> str:
    if wanted:
        return wanted
    annotation = (sc["metadata"].get("annotations") or {}).get(ANN_CLONE_STRATEGY)
    if annotation:
        return _CLONE_STRATEGIES.get(annotation, "")
    strategy = _ADVISED.get(key, "snapshot" if snapshot_class else "copy")
    return "copy" if strategy == "snapshot" and not snapshot_class else strategy


def _source_format(key: str, wanted, snapshot_class: str) -> str:
    if wanted:
        return wanted
    advised = "snapshot" if key in _ADVISED else "pvc"
    return "pvc" if advised == "snapshot" and not snapshot_class else advised


def storage_class(api, name: str = None, kubevirt: bool = True):
    """The class a DataVolume lands on: the named one, else the default virt class (for kubevirt
    content), else the cluster default; among several defaults the newest wins (then the name)."""
    if name:
        return api.get("storage.k8s.io/v1", "StorageClass", name)
    classes = api.list("storage.k8s.io/v1", "StorageClass")
    for annotation in ((ANN_DEFAULT_VIRT_CLASS,) if kubevirt else ()) + (ANN_DEFAULT_CLASS,):
        marked = [c for c in classes if (c["metadata"].get("annotations") or {}).get(annotation) == "true"]
        if marked:
            return sorted(marked, key=lambda c: (c["metadata"]["creationTimestamp"], c["metadata"]["name"]))[-1]
    return None


def profile(api, class_name: str):
    return api.get(CDI, "StorageProfile", class_name) if class_name else None


def size_with_overhead(size: int) -> int:
    """GetRequiredSpace: aligned to 1 MiB, then grown so the filesystem overhead fits beside it."""
    aligned = math.ceil(size / ALIGN) * ALIGN
    return math.ceil(aligned / (1 - FILESYSTEM_OVERHEAD))


def quantity_bytes(value) -> int:
    return int(parse_quantity(value)) if value not in (None, "") else 0


def condition(previous: list, kind: str, status: str, reason: str, message: str) -> dict:
    """A condition of ``kind`` as CDI's updateConditionState writes it: the transition time moves
    when the status does, the heartbeat whenever anything does."""
    old = next((c for c in previous or [] if c["type"] == kind), {})
    same = (old.get("status"), old.get("reason"), old.get("message")) == (status, reason, message)
    stamp = now()
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": old.get("lastTransitionTime", stamp) if old.get("status") == status else stamp,
            "lastHeartbeatTime": old.get("lastHeartbeatTime", stamp) if same else stamp}

"""The CSI snapshot-controller (external-snapshotter v8; the csi-snapshotter sidecar is in
``snapshot.snapshotter``).

A VolumeSnapshot of a claim gets the class it names or the default class of the claim's
driver (annotation snapshot.storage.kubernetes.io/is-default-class; none or several is an
error in status and an event, as upstream), a VolumeSnapshotContent ``snapcontent-<snapshot
uid>`` bound back to it, and mirrors the content's status (readyToUse, restoreSize,
creationTime, error). The source claim carries the
pvc-as-source-protection finalizer until the snapshot is ready; snapshot and content carry
the bound-protection finalizers. Deleting a snapshot deletes its content when the content's
deletionPolicy is Delete, and waits while a claim is still being restored from it.

Validation is the CRDs' own (CEL rules of external-snapshotter v8; v8 has no webhook).
"""

import time
from datetime import datetime, timezone

from kubernetes.client.exceptions import ApiException

from lab.controllers.csi.provisioner import binary_quantity, data_source
from lab.controllers.runtime import Controller, Watch, now, step_delay

GROUP_VERSION = "snapshot.storage.k8s.io/v1"
CONTROLLER = "snapshot-controller"
ANN_DEFAULT_CLASS = "snapshot.storage.kubernetes.io/is-default-class"
ANN_BEING_DELETED = "snapshot.storage.kubernetes.io/volumesnapshot-being-deleted"
FINALIZER_SNAPSHOT_BOUND = "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection"
FINALIZER_CONTENT_BOUND = "snapshot.storage.kubernetes.io/volumesnapshotcontent-bound-protection"
FINALIZER_PVC_SOURCE = "snapshot.storage.kubernetes.io/pvc-as-source-protection"
RETRY = 5.0
CONFLICT_RETRY = 0.2
# external-snapshotter v8.5.0 cmd/snapshot-controller/main.go: flag worker-threads, default 10.
WORKER_THREADS = 10


class SnapshotError(Exception):
    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


def default_class(api, driver: str) -> str:
    """The driver's default VolumeSnapshotClass, or SnapshotError as the snapshot-controller says it."""
    defaults = [c["metadata"]["name"] for c in api.list(GROUP_VERSION, "VolumeSnapshotClass")
                if c["driver"] == driver and (c["metadata"].get("annotations") or {}).get(ANN_DEFAULT_CLASS) == "true"]
    if not defaults:
        raise SnapshotError("SetDefaultSnapshotClassFailed",
                            "Failed to set default snapshot class with error cannot find default snapshot class")
    if len(defaults) > 1:
        raise SnapshotError("SetDefaultSnapshotClassFailed", "Failed to set default snapshot class with error "
                                                              f"{len(defaults)} default snapshot classes were found")
    return defaults[0]


def content_name(snapshot: dict) -> str:
    return f"snapcontent-{snapshot['metadata']['uid']}"


def reconcile_snapshot(api, snapshot: dict):
    if snapshot["metadata"].get("deletionTimestamp"):
        return _delete_snapshot(api, snapshot)
    name = (snapshot.get("status") or {}).get("boundVolumeSnapshotContentName") or content_name(snapshot)
    content = api.get(GROUP_VERSION, "VolumeSnapshotContent", name)
    if content is None and snapshot["spec"]["source"].get("persistentVolumeClaimName"):
        try:
            _create_content(api, snapshot)
        except SnapshotError as error:
            _fail(api, snapshot, error.reason, str(error))
            return RETRY
        return None  # the new content's watch event brings the snapshot back
    if content is None:  # a pre-provisioned content that does not exist (yet)
        return None
    snapshot = api.add_finalizer(snapshot, FINALIZER_SNAPSHOT_BOUND)
    return _mirror(api, snapshot, content)


def _create_content(api, snapshot: dict) -> None:
    meta = snapshot["metadata"]
    failure = "SnapshotContentCreationFailed"
    lead = f"Failed to create snapshot content with error snapshot controller failed to update {meta['name']} " \
           "on API server: "
    claim = api.get("v1", "PersistentVolumeClaim", snapshot["spec"]["source"]["persistentVolumeClaimName"],
                    meta["namespace"])
    if claim is None:
        raise SnapshotError(failure, lead + "cannot get claim from snapshot")
    pv = api.get("v1", "PersistentVolume", claim["spec"].get("volumeName") or "") \
        if (claim.get("status") or {}).get("phase") == "Bound" else None
    if pv is None:
        raise SnapshotError(failure, lead + f"the PVC {claim['metadata']['name']} is not yet bound to a PV, will "
                                            "not attempt to take a snapshot")
    driver = (pv["spec"].get("csi") or {}).get("driver", "")
    class_name = snapshot["spec"].get("volumeSnapshotClassName")
    if class_name:
        snapshot_class = api.get(GROUP_VERSION, "VolumeSnapshotClass", class_name)
        if snapshot_class is None:
            raise SnapshotError("GetSnapshotClassFailed", "Failed to get snapshot class with error "
                                f'volumesnapshotclass.snapshot.storage.k8s.io "{class_name}" not found')
    else:
        class_name = default_class(api, driver)
        snapshot = api.patch(snapshot, {"spec": {"volumeSnapshotClassName": class_name}})
        snapshot_class = api.get(GROUP_VERSION, "VolumeSnapshotClass", class_name)
    if snapshot_class["driver"] != driver:
        raise SnapshotError(failure, lead + f"the snapshot class {class_name} driver {snapshot_class['driver']} "
                                            f"does not match the volume's driver {driver}")
    api.add_finalizer(claim, FINALIZER_PVC_SOURCE)
    time.sleep(step_delay())
    api.create({
        "apiVersion": GROUP_VERSION, "kind": "VolumeSnapshotContent",
        "metadata": {"name": content_name(snapshot)},
        "spec": {"volumeSnapshotRef": {"apiVersion": GROUP_VERSION, "kind": "VolumeSnapshot", "name": meta["name"],
                                       "namespace": meta["namespace"], "uid": meta["uid"],
                                       "resourceVersion": snapshot["metadata"]["resourceVersion"]},
                 "source": {"volumeHandle": pv["spec"]["csi"]["volumeHandle"]},
                 "volumeSnapshotClassName": class_name, "deletionPolicy": snapshot_class["deletionPolicy"],
                 "driver": driver, "sourceVolumeMode": pv["spec"].get("volumeMode", "Filesystem")}})
    api.event(snapshot, "Normal", "CreatingSnapshot",
              f"Waiting for a snapshot {meta['namespace']}/{meta['name']} to be created by the CSI driver.",
              component=CONTROLLER)


def _mirror(api, snapshot: dict, content: dict):
    meta = snapshot["metadata"]
    content_status = content.get("status") or {}
    ready = bool(content_status.get("readyToUse"))
    status = {"boundVolumeSnapshotContentName": content["metadata"]["name"], "readyToUse": ready}
    if "creationTime" in content_status:
        created = datetime.fromtimestamp(content_status["creationTime"] / 1e9, timezone.utc)
        status["creationTime"] = created.strftime("%Y-%m-%dT%H:%M:%SZ")
    if "restoreSize" in content_status:
        status["restoreSize"] = binary_quantity(content_status["restoreSize"])
    status["error"] = content_status.get("error")
    previous = snapshot.get("status") or {}
    if any(previous.get(k) != v for k, v in status.items()):
        api.patch_status(snapshot, status)
        if ready and not previous.get("readyToUse"):
            api.event(snapshot, "Normal", "SnapshotCreated", f"Snapshot {meta['namespace']}/{meta['name']} was "
                      "successfully created by the CSI driver.", component=CONTROLLER)
            api.event(snapshot, "Normal", "SnapshotReady",
                      f"Snapshot {meta['namespace']}/{meta['name']} is ready to use.", component=CONTROLLER)
    if ready:
        return _release_claim(api, snapshot)
    return None


def _fail(api, snapshot: dict, reason: str, message: str) -> None:
    error = (snapshot.get("status") or {}).get("error") or {}
    if error.get("message") != message:
        api.patch_status(snapshot, {"readyToUse": False, "error": {"message": message, "time": now()}})
    api.event(snapshot, "Warning", reason, message, component=CONTROLLER)


def _release_claim(api, snapshot: dict):
    """Drop the source claim's protection once no snapshot of it is still being taken; a claim
    changed meanwhile (a conflict) is tried again shortly."""
    claim_name = snapshot["spec"]["source"].get("persistentVolumeClaimName")
    claim = claim_name and api.get("v1", "PersistentVolumeClaim", claim_name, snapshot["metadata"]["namespace"])
    if not claim or FINALIZER_PVC_SOURCE not in (claim["metadata"].get("finalizers") or []):
        return None
    others = [s for s in api.list(GROUP_VERSION, "VolumeSnapshot", snapshot["metadata"]["namespace"])
              if s["spec"]["source"].get("persistentVolumeClaimName") == claim_name
              and not (s.get("status") or {}).get("readyToUse") and s["metadata"]["uid"] != snapshot["metadata"]["uid"]]
    if others:
        return None
    try:
        api.remove_finalizer(claim, FINALIZER_PVC_SOURCE)
    except ApiException as error:
        if error.status != 409:
            raise
        return CONFLICT_RETRY
    return None


def _delete_snapshot(api, snapshot: dict):
    meta = snapshot["metadata"]
    restoring = [c for c in api.list("v1", "PersistentVolumeClaim", meta["namespace"])
                 if (data_source(c) or {}).get("kind") == "VolumeSnapshot" and data_source(c)["name"] == meta["name"]
                 and (c.get("status") or {}).get("phase") == "Pending"]
    if restoring:
        api.event(snapshot, "Warning", "SnapshotDeletePending", "Snapshot is being used to restore a PVC",
                  component=CONTROLLER)
        return RETRY
    name = (snapshot.get("status") or {}).get("boundVolumeSnapshotContentName") or content_name(snapshot)
    content = api.get(GROUP_VERSION, "VolumeSnapshotContent", name)
    if content and content["spec"]["volumeSnapshotRef"].get("uid") == meta["uid"]:
        if ANN_BEING_DELETED not in (content["metadata"].get("annotations") or {}):
            content = api.patch(content, {"metadata": {"annotations": {ANN_BEING_DELETED: "yes"}}})
        if content["spec"]["deletionPolicy"] == "Delete":
            if not content["metadata"].get("deletionTimestamp"):
                api.delete(GROUP_VERSION, "VolumeSnapshotContent", name)
            return RETRY  # the content's watch brings this snapshot back once it is gone
    retry = _release_claim(api, snapshot)
    if retry:
        return retry
    api.remove_finalizer(snapshot, FINALIZER_SNAPSHOT_BOUND)
    return None


def setup(manager, webhooks) -> None:
    def bound_snapshot(content: dict) -> list:
        ref = content["spec"].get("volumeSnapshotRef") or {}
        return [(ref["namespace"], ref["name"])] if ref.get("name") else []

    manager.add(Controller("snapshot-controller", GROUP_VERSION, "VolumeSnapshot", reconcile_snapshot,
                           watches=[Watch(GROUP_VERSION, "VolumeSnapshotContent", bound_snapshot)],
                           workers=WORKER_THREADS))

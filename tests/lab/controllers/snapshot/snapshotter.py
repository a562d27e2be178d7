"""The csi-snapshotter sidecar deployed with Trident: for a VolumeSnapshotContent of
csi.trident.netapp.io it takes the snapshot through Trident (an ONTAP snapshot named
``snapshot-<snapshot uid>``), or confirms a pre-provisioned one, and deletes it when a content
with deletionPolicy Delete is deleted.
"""

import time

from lab.controllers.runtime import Controller, now, step_delay
from lab.controllers.snapshot.controller import FINALIZER_CONTENT_BOUND, GROUP_VERSION, RETRY
from lab.controllers.trident import core as trident_core
from lab.controllers.trident.config import DRIVER
from lab.controllers.trident.core import CsiError

SIDECAR = f"csi-snapshotter {DRIVER}"
# Trident deploys the sidecar with "--worker-threads=25" (trident v26.06.0 cli/k8s_client/yaml_factory.go,
# the csi-snapshotter container of the controller Deployment; upstream's own default is 10).
WORKER_THREADS = 25


def reconcile_content(api, content: dict):
    if content["spec"]["driver"] != DRIVER:
        return None
    if content["metadata"].get("deletionTimestamp"):
        return _delete_content(api, content)
    if content["spec"]["volumeSnapshotRef"].get("uid"):
        content = api.add_finalizer(content, FINALIZER_CONTENT_BOUND)
    status = content.get("status") or {}
    if status.get("snapshotHandle") and status.get("readyToUse"):
        return None
    handle = content["spec"]["source"].get("volumeHandle")
    time.sleep(step_delay())
    try:
        if handle:
            taken = trident_core.create_snapshot(api, handle, f"snapshot-{content['spec']['volumeSnapshotRef']['uid']}")
        else:  # pre-provisioned: Trident only confirms the snapshot exists
            taken = trident_core.existing_snapshot(api, content["spec"]["source"]["snapshotHandle"])
    except CsiError as error:
        message = f"Failed to check and update snapshot content: failed to take snapshot of the volume " \
                  f'{handle}: "{error}"'
        api.patch_status(content, {"readyToUse": False, "error": {"message": message, "time": now()}})
        api.event(content, "Warning", "SnapshotCreationFailed", message, component=SIDECAR)
        return RETRY
    api.patch_status(content, {"snapshotHandle": taken["snapshotHandle"], "readyToUse": True,
                               "restoreSize": taken["sizeBytes"],
                               "creationTime": int(taken["creationTime"].timestamp() * 1e9), "error": None})
    return None


def _delete_content(api, content: dict):
    handle = (content.get("status") or {}).get("snapshotHandle")
    if content["spec"]["deletionPolicy"] == "Delete" and handle:
        time.sleep(step_delay())
        try:
            trident_core.delete_snapshot(api, handle)
        except CsiError as error:
            api.event(content, "Warning", "SnapshotDeleteError", f"Failed to delete snapshot: {error}",
                      component=SIDECAR)
            return RETRY
    api.remove_finalizer(content, FINALIZER_CONTENT_BOUND)
    return None


def setup(manager, webhooks) -> None:
    manager.add(Controller("csi-snapshotter", GROUP_VERSION, "VolumeSnapshotContent", reconcile_content,
                           workers=WORKER_THREADS))

"""CDI's StorageProfile controller (v1.65).

One StorageProfile per StorageClass, of the same name, created and kept up to date by CDI; users
only patch its spec (claimPropertySets, cloneStrategy, snapshotClass,
dataImportCronSourceFormat), which the status then follows, with the condition Recognized
(whether CDI knows the provisioner and the class's parameters). A spec.snapshotClass that names
no VolumeSnapshotClass is a reconcile error: the status stays as it was (one of another driver
is ignored). The profile goes when its class goes.
"""

import logging

from lab.controllers.cdi import storage as cdi_storage
from lab.controllers.cdi.storage import CDI, LABELS, SNAPSHOTS, condition
from lab.controllers.runtime import Controller, Watch

log = logging.getLogger("lab.controllers.cdi")

PROFILE_LABELS = {**LABELS, "cdi.kubevirt.io": ""}
PROFILE_RETRY = 10.0  # controller-runtime's back-off for a failing reconcile, roughly


def reconcile_profile(api, sc: dict):
    name = sc["metadata"]["name"]
    if sc["metadata"].get("deletionTimestamp"):
        api.delete(CDI, "StorageProfile", name)
        return None
    profile = api.ensure({"apiVersion": CDI, "kind": "StorageProfile",
                          "metadata": {"name": name, "labels": PROFILE_LABELS}, "spec": {}})
    spec = profile.get("spec") or {}
    if any(not s.get("volumeMode") or not s.get("accessModes") for s in spec.get("claimPropertySets") or []):
        log.warning("StorageProfile %s: each ClaimPropertySet must provide both volume mode and access modes", name)
        return None
    try:
        status = cdi_storage.profile_status(api, sc, spec)
    except cdi_storage.SnapshotClassNotFound as error:
        # GetSnapshotClassForSmartClone fails, so does the reconcile (retried with back-off): the
        # profile keeps the status it had, and the error is in CDI's log only.
        log.error("Reconciler error: StorageProfile %s: %s", name, error)
        return PROFILE_RETRY
    status_type, reason, message = cdi_storage.recognized(sc)
    previous = [c for c in (profile.get("status") or {}).get("conditions") or [] if c["type"] == "Recognized"]
    status["conditions"] = [condition(previous, "Recognized", status_type, reason, message)]
    api.replace_status(profile, status)
    return None


def storage_profile_gone(api, key) -> None:
    api.delete(CDI, "StorageProfile", key[1])


def setup(manager, webhooks) -> None:
    api = manager.api

    def profiles_for_driver(snapshot_class: dict) -> list:
        return [(None, sc["metadata"]["name"]) for sc in api.list("storage.k8s.io/v1", "StorageClass")
                if sc["provisioner"] == snapshot_class["driver"]]

    manager.add(Controller("storageprofile-controller", "storage.k8s.io/v1", "StorageClass", reconcile_profile,
                           gone=storage_profile_gone,
                           watches=[Watch(CDI, "StorageProfile", lambda p: [(None, p["metadata"]["name"])]),
                                    Watch(SNAPSHOTS, "VolumeSnapshotClass", profiles_for_driver)]))

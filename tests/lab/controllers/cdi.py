"""CDI's storage controllers besides DataVolumes (v1.65): StorageProfiles, DataSources and
DataImportCrons. DataVolumes are in ``cdi_datavolumes``.

StorageProfile: one per StorageClass, same name, created and kept up to date by CDI; users
only patch its spec (claimPropertySets, cloneStrategy, snapshotClass,
dataImportCronSourceFormat), which the status then follows, with the condition Recognized
(whether CDI knows the provisioner and the class's parameters). A spec.snapshotClass that names
no VolumeSnapshotClass is a reconcile error: the status stays as it was (one of another driver
is ignored). The profile goes when its class goes.

DataSource: Ready when what it points to is usable (a Succeeded DataVolume of that name, or
a claim without one, a ready VolumeSnapshot).

DataImportCron: imports its template's source once per source digest (the lab's registry
never changes, so the digest is derived from the URL) into a DataVolume
``<managedDataSource>-<digest[:12]>`` with immediate binding, on the template's class or the
default virt class or the default class; with the class's snapshot source format the import
is kept as a VolumeSnapshot of that name and the DataVolume removed. The managed DataSource
then points at it; conditions Progressing and UpToDate tell where it stands.

A disconnected cluster, on request: with LAB_DISCONNECTED=1 in the controllers' environment,
no registry source has a digest (the poller cannot reach it), and the annotation
``lab.ontap.virtualization/import`` on a DataImportCron does the same for that cron
(``no-digest``) or lets CDI know the digest but refuse to create the import
(``not-authorized``, as for a cron whose service account may not clone its source). Before
any import, the cron then reports UpToDate=False with reason NoDigest (Progressing=False,
NoImport), or Progressing=False with reason NotAuthorized (UpToDate=False, Outdated), and its
DataSource stays not Ready (NoSource).
"""

import hashlib
import logging
import os

from lab.controllers import cdi_storage
from lab.controllers.cdi_datavolumes import ANN_IMMEDIATE
from lab.controllers.cdi_storage import CDI, LABELS, SNAPSHOTS
from lab.controllers.runtime import Controller, Watch, now

log = logging.getLogger("lab.controllers.cdi")

LABEL_CRON = "cdi.kubevirt.io/dataImportCron"
ANN_DESIRED_DIGEST = "cdi.kubevirt.io/storage.import.sourceDesiredDigest"
CRON_FINALIZER = "cdi.kubevirt.io/dataImportCronFinalizer"
ANN_LAB_IMPORT = "lab.ontap.virtualization/import"  # no-digest | not-authorized (see above)
PROFILE_LABELS = {**LABELS, "cdi.kubevirt.io": ""}
WAIT = 2.0
PROFILE_RETRY = 10.0  # controller-runtime's back-off for a failing reconcile, roughly


def _condition(previous: list, kind: str, status: str, reason: str, message: str) -> dict:
    old = next((c for c in previous or [] if c["type"] == kind), {})
    same = (old.get("status"), old.get("reason"), old.get("message")) == (status, reason, message)
    stamp = now()
    return {"type": kind, "status": status, "reason": reason, "message": message,
            "lastTransitionTime": old.get("lastTransitionTime", stamp) if old.get("status") == status else stamp,
            "lastHeartbeatTime": old.get("lastHeartbeatTime", stamp) if same else stamp}


def _patch_status(api, obj: dict, status: dict) -> None:
    """Write ``status`` if it differs, removing the keys it no longer has (merge patch keeps them)."""
    previous = obj.get("status") or {}
    if all(previous.get(k) == v for k, v in status.items()) and set(previous) <= set(status):
        return
    api.patch_status(obj, {**{k: None for k in previous if k not in status}, **status})


# --- StorageProfile --------------------------------------------------------------------------

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
    status["conditions"] = [_condition(previous, "Recognized", status_type, reason, message)]
    _patch_status(api, profile, status)
    return None


def storage_profile_gone(api, key) -> None:
    api.delete(CDI, "StorageProfile", key[1])


# --- DataSource ------------------------------------------------------------------------------

def data_source_readiness(api, source: dict, namespace: str) -> tuple:
    """(status, reason, message) of a DataSource's Ready condition."""
    if source.get("pvc"):
        ref = source["pvc"]
        ns = ref.get("namespace") or namespace
        dv = api.get(CDI, "DataVolume", ref["name"], ns)
        if dv is not None:
            phase = (dv.get("status") or {}).get("phase", "")
            if phase == "Succeeded":
                return "True", "Ready", "DataSource is ready to be consumed"
            return "False", phase or "Pending", f"Import DataVolume phase {phase}"
        if api.get("v1", "PersistentVolumeClaim", ref["name"], ns) is None:
            return "False", "NotFound", "PVC not found"
        return "True", "Ready", "DataSource is ready to be consumed"  # a claim without DataVolume: as it is
    if source.get("snapshot"):
        ref = source["snapshot"]
        snapshot = api.get(SNAPSHOTS, "VolumeSnapshot", ref["name"], ref.get("namespace") or namespace)
        if snapshot is None:
            return "False", "NotFound", "Snapshot not found"
        if not (snapshot.get("status") or {}).get("readyToUse"):
            return "False", "SnapshotNotReady", "Snapshot phase is not ready"
        return "True", "Ready", "DataSource is ready to be consumed"
    if source.get("dataSource"):
        ref = source["dataSource"]
        target = api.get(CDI, "DataSource", ref["name"], ref.get("namespace") or namespace)
        if target is None:
            return "False", "NotFound", "DataSource not found"
        return data_source_readiness(api, target["spec"].get("source") or {}, target["metadata"]["namespace"])
    return "False", "NoSource", "No source PVC set"


def reconcile_data_source(api, data_source: dict):
    meta, source = data_source["metadata"], data_source["spec"].get("source") or {}
    status, reason, message = data_source_readiness(api, source, meta["namespace"])
    previous = (data_source.get("status") or {}).get("conditions")
    _patch_status(api, data_source, {"source": source,
                                     "conditions": [_condition(previous, "Ready", status, reason, message)]})
    return None


def _data_sources_of(api, obj: dict) -> list:
    """The DataSources that point at a DataVolume, claim or snapshot (or at a DataSource)."""
    kind = {"DataVolume": "pvc", "PersistentVolumeClaim": "pvc", "VolumeSnapshot": "snapshot",
            "DataSource": "dataSource"}[obj["kind"]]
    meta = obj["metadata"]
    keys = []
    for data_source in api.list(CDI, "DataSource"):
        ref = (data_source["spec"].get("source") or {}).get(kind) or {}
        if ref.get("name") == meta["name"] and \
                (ref.get("namespace") or data_source["metadata"]["namespace"]) == meta["namespace"]:
            keys.append((data_source["metadata"]["namespace"], data_source["metadata"]["name"]))
    return keys


# --- DataImportCron --------------------------------------------------------------------------

def _digest(source: dict) -> str:
    registry = source.get("registry") or {}
    text = registry.get("url") or registry.get("imageStream") or repr(sorted(source.items()))
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def reconcile_cron(api, cron: dict):
    meta, spec = cron["metadata"], cron["spec"]
    namespace = meta["namespace"]
    if meta.get("deletionTimestamp"):
        return _delete_cron(api, cron)
    cron = api.add_finalizer(cron, CRON_FINALIZER)
    template = spec["template"]
    digest = _digest(template["spec"].get("source") or {})
    name = f"{spec['managedDataSource']}-{digest[7:19]}"
    claim = template["spec"].get("storage") or template["spec"].get("pvc") or {}
    sc = cdi_storage.storage_class(api, claim.get("storageClassName"),
                                   template["spec"].get("contentType", "kubevirt") == "kubevirt")
    profile = cdi_storage.profile(api, sc["metadata"]["name"]) if sc else None
    source_format = ((profile or {}).get("status") or {}).get("dataImportCronSourceFormat") or "pvc"
    labels = {LABEL_CRON: meta["name"]}
    api.ensure({"apiVersion": CDI, "kind": "DataSource",
                "metadata": {"name": spec["managedDataSource"], "namespace": namespace,
                             "labels": {**LABELS, **labels}},
                "spec": {"source": {}}})
    blocked = _blocked(cron)
    known = (meta.get("annotations") or {}).get(ANN_DESIRED_DIGEST)
    status = dict(cron.get("status") or {}, sourceFormat=source_format, lastExecutionTimestamp=
                  (cron.get("status") or {}).get("lastExecutionTimestamp") or now())
    conditions = status.get("conditions")
    if blocked == "no-digest" and not known:  # the poller never got a digest: nothing to import
        status.update(currentImports=[], conditions=[
            _condition(conditions, "Progressing", "False", "NoImport", "No current import"),
            _condition(conditions, "UpToDate", "False", "NoDigest", "No source digest")])
        _patch_status(api, cron, status)
        return None
    if known != digest:
        cron = api.patch(cron, {"metadata": {"annotations": {ANN_DESIRED_DIGEST: digest}}})
    if blocked == "not-authorized" and not status.get("lastImportedPVC") and \
            api.get(CDI, "DataVolume", name, namespace) is None:
        status.update(currentImports=[], conditions=[
            _condition(conditions, "Progressing", "False", "NotAuthorized", "Not authorized to create DataVolume"),
            _condition(conditions, "UpToDate", "False", "Outdated", "Source digest updated since last import")])
        _patch_status(api, cron, status)
        return None
    if not _imported(api, cron, name, namespace, source_format, labels, template):
        conditions = cron.get("status", {}).get("conditions")
        status.update(currentImports=[{"DataVolumeName": name, "Digest": digest}], conditions=[
            _condition(conditions, "Progressing", "True", "ImportProgressing", "Import is progressing"),
            _condition(conditions, "UpToDate", "False", "ImportProgressing", "Import is progressing")])
        _patch_status(api, cron, status)
        return WAIT
    source = {"snapshot" if source_format == "snapshot" else "pvc": {"namespace": namespace, "name": name}}
    data_source = api.get(CDI, "DataSource", spec["managedDataSource"], namespace)
    if data_source["spec"].get("source") != source:
        api.patch(data_source, {"spec": {"source": source}})
    conditions = cron.get("status", {}).get("conditions")
    status.update(currentImports=[], lastImportedPVC={"namespace": namespace, "name": name},
                  lastImportTimestamp=status.get("lastImportTimestamp") or now(), conditions=[
                      _condition(conditions, "Progressing", "False", "NoImport", "No current import"),
                      _condition(conditions, "UpToDate", "True", "UpToDate", "Latest import is up to date")])
    _patch_status(api, cron, status)
    return None


def _blocked(cron: dict) -> str:
    """What keeps the cron from importing, on request: 'no-digest', 'not-authorized' or ''."""
    wanted = ((cron["metadata"].get("annotations") or {}).get(ANN_LAB_IMPORT) or "").lower()
    if wanted in ("no-digest", "not-authorized"):
        return wanted
    registry = (cron["spec"]["template"]["spec"].get("source") or {}).get("registry")
    return "no-digest" if registry and os.environ.get("LAB_DISCONNECTED") == "1" else ""


def _imported(api, cron: dict, name: str, namespace: str, source_format: str, labels: dict, template: dict) -> bool:
    """Drive the import of ``name``; True once it is kept in the wanted format."""
    if source_format == "snapshot":
        snapshot = api.get(SNAPSHOTS, "VolumeSnapshot", name, namespace)
        if snapshot and (snapshot.get("status") or {}).get("readyToUse"):
            api.delete(CDI, "DataVolume", name, namespace)
            return True
        if snapshot:
            return False
    dv = api.get(CDI, "DataVolume", name, namespace)
    if dv is None:
        template_meta = template.get("metadata") or {}
        api.create({"apiVersion": CDI, "kind": "DataVolume",
                    "metadata": {"name": name, "namespace": namespace,
                                 "labels": {**(template_meta.get("labels") or {}), **labels},
                                 "annotations": {**(template_meta.get("annotations") or {}), ANN_IMMEDIATE: "true"}},
                    "spec": template["spec"]})
        return False
    if (dv.get("status") or {}).get("phase") != "Succeeded":
        return False
    if source_format != "snapshot":
        return True
    claim = api.get("v1", "PersistentVolumeClaim", name, namespace)
    profile = cdi_storage.profile(api, claim["spec"].get("storageClassName")) if claim else None
    snapshot_class = ((profile or {}).get("status") or {}).get("snapshotClass")
    api.create({"apiVersion": SNAPSHOTS, "kind": "VolumeSnapshot",
                "metadata": {"name": name, "namespace": namespace, "labels": {**LABELS, **labels}},
                "spec": {"source": {"persistentVolumeClaimName": name},
                         **({"volumeSnapshotClassName": snapshot_class} if snapshot_class else {})}})
    return False


def _delete_cron(api, cron: dict):
    meta = cron["metadata"]
    selector = f"{LABEL_CRON}={meta['name']}"
    for api_version, kind in ((CDI, "DataVolume"), (SNAPSHOTS, "VolumeSnapshot")):
        for obj in api.list(api_version, kind, meta["namespace"], label_selector=selector):
            api.delete(api_version, kind, obj["metadata"]["name"], meta["namespace"])
    api.delete(CDI, "DataSource", cron["spec"]["managedDataSource"], meta["namespace"])
    api.remove_finalizer(cron, CRON_FINALIZER)
    return None


def _cron_of(obj: dict) -> list:
    name = (obj["metadata"].get("labels") or {}).get(LABEL_CRON)
    return [(obj["metadata"]["namespace"], name)] if name else []


def setup(manager, webhooks) -> None:
    api = manager.api

    def profiles_for_driver(snapshot_class: dict) -> list:
        return [(None, sc["metadata"]["name"]) for sc in api.list("storage.k8s.io/v1", "StorageClass")
                if sc["provisioner"] == snapshot_class["driver"]]

    def data_sources_of(obj: dict) -> list:
        return _data_sources_of(api, obj)

    manager.add(Controller("storageprofile-controller", "storage.k8s.io/v1", "StorageClass", reconcile_profile,
                           gone=storage_profile_gone,
                           watches=[Watch(CDI, "StorageProfile", lambda p: [(None, p["metadata"]["name"])]),
                                    Watch(SNAPSHOTS, "VolumeSnapshotClass", profiles_for_driver)]))
    manager.add(Controller("datasource-controller", CDI, "DataSource", reconcile_data_source,
                           watches=[Watch(CDI, "DataVolume", data_sources_of),
                                    Watch("v1", "PersistentVolumeClaim", data_sources_of),
                                    Watch(SNAPSHOTS, "VolumeSnapshot", data_sources_of),
                                    Watch(CDI, "DataSource", data_sources_of)]))
    manager.add(Controller("dataimportcron-controller", CDI, "DataImportCron", reconcile_cron,
                           watches=[Watch(CDI, "DataVolume", _cron_of), Watch(SNAPSHOTS, "VolumeSnapshot", _cron_of)]))

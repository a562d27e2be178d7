"""CDI's DataImportCron controller (v1.65).

A DataImportCron imports its template's source once per source digest (the lab's registry
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
import os

from lab.controllers.cdi import storage as cdi_storage
from lab.controllers.cdi.datavolumes import ANN_IMMEDIATE
from lab.controllers.cdi.storage import CDI, LABELS, SNAPSHOTS, condition
from lab.controllers.runtime import Controller, Watch, now

LABEL_CRON = "cdi.kubevirt.io/dataImportCron"
ANN_DESIRED_DIGEST = "cdi.kubevirt.io/storage.import.sourceDesiredDigest"
CRON_FINALIZER = "cdi.kubevirt.io/dataImportCronFinalizer"
ANN_LAB_IMPORT = "lab.ontap.virtualization/import"  # no-digest | not-authorized (see above)
WAIT = 2.0


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
    source_format = _source_format(api, template)
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
            condition(conditions, "Progressing", "False", "NoImport", "No current import"),
            condition(conditions, "UpToDate", "False", "NoDigest", "No source digest")])
        api.replace_status(cron, status)
        return None
    if known != digest:
        cron = api.patch(cron, {"metadata": {"annotations": {ANN_DESIRED_DIGEST: digest}}})
    if blocked == "not-authorized" and not status.get("lastImportedPVC") and \
            api.get(CDI, "DataVolume", name, namespace) is None:
        status.update(currentImports=[], conditions=[
            condition(conditions, "Progressing", "False", "NotAuthorized", "Not authorized to create DataVolume"),
            condition(conditions, "UpToDate", "False", "Outdated", "Source digest updated since last import")])
        api.replace_status(cron, status)
        return None
    if not _imported(api, cron, name, namespace, source_format, labels, template):
        conditions = cron.get("status", {}).get("conditions")
        status.update(currentImports=[{"DataVolumeName": name, "Digest": digest}], conditions=[
            condition(conditions, "Progressing", "True", "ImportProgressing", "Import is progressing"),
            condition(conditions, "UpToDate", "False", "ImportProgressing", "Import is progressing")])
        api.replace_status(cron, status)
        return WAIT
    _point_data_source(api, cron, name, source_format)
    conditions = cron.get("status", {}).get("conditions")
    status.update(currentImports=[], lastImportedPVC={"namespace": namespace, "name": name},
                  lastImportTimestamp=status.get("lastImportTimestamp") or now(), conditions=[
                      condition(conditions, "Progressing", "False", "NoImport", "No current import"),
                      condition(conditions, "UpToDate", "True", "UpToDate", "Latest import is up to date")])
    api.replace_status(cron, status)
    return None


def _source_format(api, template: dict) -> str:
    """pvc or snapshot: what the storage profile of the import's class says imports become."""
    claim = template["spec"].get("storage") or template["spec"].get("pvc") or {}
    sc = cdi_storage.storage_class(api, claim.get("storageClassName"),
                                   template["spec"].get("contentType", "kubevirt") == "kubevirt")
    profile = cdi_storage.profile(api, sc["metadata"]["name"]) if sc else None
    return ((profile or {}).get("status") or {}).get("dataImportCronSourceFormat") or "pvc"


def _point_data_source(api, cron: dict, name: str, source_format: str) -> None:
    """The managed DataSource names the last import (a claim, or a snapshot of it)."""
    namespace = cron["metadata"]["namespace"]
    source = {"snapshot" if source_format == "snapshot" else "pvc": {"namespace": namespace, "name": name}}
    data_source = api.get(CDI, "DataSource", cron["spec"]["managedDataSource"], namespace)
    if data_source["spec"].get("source") != source:
        # The source is one of pvc or snapshot: CDI's updateDataSource sets it whole, so a merge patch must drop the
        # other kind (a DataSource left naming both reads the deleted PVC and is never Ready again).
        replaced = {"pvc": None, "snapshot": None}
        replaced.update(source)
        api.patch(data_source, {"spec": {"source": replaced}})


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
    manager.add(Controller("dataimportcron-controller", CDI, "DataImportCron", reconcile_cron,
                           watches=[Watch(CDI, "DataVolume", _cron_of), Watch(SNAPSHOTS, "VolumeSnapshot", _cron_of)]))

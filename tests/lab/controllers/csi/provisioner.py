"""The CSI external-provisioner sidecar deployed with Trident, calling Trident's CSI controller.

Provisioning: a pending claim that kube-controller-manager has handed to
csi.trident.netapp.io (annotation ``volume.kubernetes.io/storage-provisioner``; for
WaitForFirstConsumer classes only once the scheduler picked a node) gets a volume from
Trident and a PersistentVolume ``pvc-<claim uid>`` pre-bound to it; kube-controller-manager's
binder then binds the two. Data sources are checked first as the sidecar checks them (same
namespace, bound source, same volume mode, size, same driver, ready snapshot), and every
refusal is a ProvisioningFailed event with the sidecar's words. Claims whose dataSourceRef
names a populator kind (CDI's VolumeImportSource, ...) are left to their populator.

Saving the PV: a PV the API server refuses is kept and saved again until it is taken, whatever becomes of the
claim (csi-provisioner runs the library with CreateProvisionedPVLimiter, i.e. its queueStore), so a volume is never
left without the PV through which it would be released and deleted.

Deletion: a Released PV it provisioned with reclaim policy Delete loses its volume, then the
sidecar's finalizer, then the PV object itself.

Expansion is in ``csi.resizer``.
"""

import random
import time
import uuid

from kubernetes.utils import parse_quantity

from lab.controllers.runtime import Controller, step_delay
from lab.controllers.trident import core as trident_core
from lab.controllers.trident.config import DRIVER
from lab.controllers.trident.core import CsiError, VolumeRequest

FINALIZER = "external-provisioner.volume.kubernetes.io/finalizer"
COMPONENT = f"{DRIVER}_trident-controller-lab_{uuid.uuid4()}"
PROVISIONER_IDENTITY = f"{int(time.time() * 1000)}-{random.randint(0, 9999)}-{DRIVER}"
ANN_PROVISIONER = "volume.kubernetes.io/storage-provisioner"
ANN_BETA_PROVISIONER = "volume.beta.kubernetes.io/storage-provisioner"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_PROVISIONED_BY = "pv.kubernetes.io/provisioned-by"
ANN_ALLOW_MODE_CHANGE = "snapshot.storage.kubernetes.io/allow-volume-mode-change"
SNAPSHOT_GROUP = "snapshot.storage.k8s.io"
RETRY = 10.0  # the sidecar retries failed claims with back-off; the lab, steadily
# PVs of provisioned volumes the API server has not taken yet, by their claim's key: sig-storage-lib-external-
# provisioner controller/volume_store.go, queueStore (StoreVolume keeps a refused PV, processNextWorkItem saves it
# again with back-off until the create succeeds or finds it AlreadyExists, and never deletes the volume).
UNSAVED = {}


class SourceError(Exception):
    pass


def storage_bytes(requests: dict) -> int:
    return int(parse_quantity((requests or {}).get("storage", "0")))


def binary_quantity(size: int) -> str:
    """Bytes as resource.NewQuantity(n, BinarySI) prints them: 1073741824 -> 1Gi."""
    for suffix, power in (("Ei", 60), ("Pi", 50), ("Ti", 40), ("Gi", 30), ("Mi", 20), ("Ki", 10)):
        if size and size % (1 << power) == 0:
            return f"{size >> power}{suffix}"
    return str(size)


def data_source(claim: dict):
    """The claim's data source (dataSourceRef wins), or None."""
    spec = claim["spec"]
    return spec.get("dataSourceRef") or spec.get("dataSource")


def is_core_source(source: dict) -> bool:
    return (source["kind"], source.get("apiGroup") or "") in (
        ("PersistentVolumeClaim", ""), ("VolumeSnapshot", SNAPSHOT_GROUP))


# --- provisioning ----------------------------------------------------------------------------

def reconcile_claim(api, claim: dict):
    if _key(claim) in UNSAVED:  # the queue saves it whatever the claim's state
        return save_unsaved_volume(api, _key(claim), claim)
    meta, spec = claim["metadata"], claim["spec"]
    annotations = meta.get("annotations") or {}
    if spec.get("volumeName") or meta.get("deletionTimestamp") or \
            (claim.get("status") or {}).get("phase", "Pending") != "Pending":
        return None
    if DRIVER not in (annotations.get(ANN_PROVISIONER), annotations.get(ANN_BETA_PROVISIONER)):
        return None
    sc = api.get("storage.k8s.io/v1", "StorageClass", spec.get("storageClassName") or "")
    if sc is None or sc["provisioner"] != DRIVER:
        return None
    if not trident_core.running(api):  # the sidecar runs in Trident's controller pod
        return trident_core.NOT_RUNNING_RETRY
    if sc.get("volumeBindingMode") == "WaitForFirstConsumer" and not annotations.get(ANN_SELECTED_NODE):
        return None
    source = data_source(claim)
    if source and not is_core_source(source):
        return None
    name = f"pvc-{meta['uid']}"
    if api.get("v1", "PersistentVolume", name):
        return None
    api.event(claim, "Normal", "Provisioning",
              f'External provisioner is provisioning volume for claim "{meta["namespace"]}/{meta["name"]}"',
              component=COMPONENT)
    time.sleep(step_delay())
    try:
        request = _request(api, claim, sc, name, source)
        volume = trident_core.create_volume(api, request)
    except (SourceError, CsiError) as error:
        api.event(claim, "Warning", "ProvisioningFailed",
                  f'failed to provision volume with StorageClass "{sc["metadata"]["name"]}": {error}',
                  component=COMPONENT)
        return RETRY
    time.sleep(step_delay())
    UNSAVED[_key(claim)] = _volume(claim, sc, name, volume)
    return save_unsaved_volume(api, _key(claim), claim)


def save_unsaved_volume(api, key, claim: dict = None):
    """queueStore.doSaveVolume: create the PV (AlreadyExists is saved too), then ProvisioningSucceeded on its claim
    if that is still there (sendSuccessEvent looks it up by UID). A refusal raises, and the runtime tries again with
    back-off; once the claim is gone, the runtime calls this as the controller's gone()."""
    pv = UNSAVED.get(key)
    if pv is None:
        return None
    api.create_if_absent(pv)
    del UNSAVED[key]
    if claim is not None and claim["metadata"]["uid"] == pv["spec"]["claimRef"]["uid"]:
        api.event(claim, "Normal", "ProvisioningSucceeded", f"Successfully provisioned volume {pv['metadata']['name']}",
                  component=COMPONENT)
    return None


def _key(claim: dict) -> tuple:
    return claim["metadata"]["namespace"], claim["metadata"]["name"]


def _request(api, claim: dict, sc: dict, name: str, source) -> VolumeRequest:
    spec = claim["spec"]
    request = VolumeRequest(name=name, size=storage_bytes(spec["resources"].get("requests")), storage_class=sc,
                            access_modes=spec.get("accessModes") or [],
                            volume_mode=spec.get("volumeMode", "Filesystem"),
                            namespace=claim["metadata"]["namespace"], claim=claim["metadata"]["name"])
    if source:
        try:
            if source["kind"] == "PersistentVolumeClaim":
                request.source_volume = _pvc_source(api, claim, sc, source["name"])
            else:
                request.source_snapshot = _snapshot_source(api, claim, sc, source["name"])
        except SourceError as error:
            raise SourceError(f"error getting handle for DataSource Type {source['kind']} by Name "
                              f"{source['name']}: {error}") from None
    return request


def _pvc_source(api, claim: dict, sc: dict, name: str) -> str:
    """getPVCSource: the source PV's volume handle, or the sidecar's refusal."""
    namespace = claim["metadata"]["namespace"]
    source = api.get("v1", "PersistentVolumeClaim", name, namespace)
    if source is None:
        raise SourceError(f'error getting PVC {name} (namespace "{namespace}") from api server: '
                          f'persistentvolumeclaims "{name}" not found')
    phase = (source.get("status") or {}).get("phase")
    if phase != "Bound":
        raise SourceError(f"the PVC DataSource {name} must have a status of Bound.  Got {{{phase}}}")
    if source["metadata"].get("deletionTimestamp"):
        raise SourceError(f"the PVC DataSource {name} is currently being deleted")
    if source["spec"].get("storageClassName") is None:
        raise SourceError(f"the source PVC ({name}) storageclass cannot be empty")
    requested = storage_bytes(claim["spec"]["resources"].get("requests"))
    source_size = storage_bytes(source["spec"]["resources"].get("requests"))
    if requested < source_size:
        raise SourceError("error, new PVC request must be greater than or equal in size to the specified PVC "
                          f"data source, requested {requested} but source is {source_size}")
    if not source["spec"].get("volumeName"):
        raise SourceError(f"volume name is empty in source PVC {name}")
    pv = api.get("v1", "PersistentVolume", source["spec"]["volumeName"])
    claim_ref = (pv or {}).get("spec", {}).get("claimRef") or {}
    if pv is None or (pv["spec"].get("csi") or {}).get("driver") != sc["provisioner"] \
            or claim_ref.get("uid") != source["metadata"]["uid"] or (pv.get("status") or {}).get("phase") != "Bound":
        raise SourceError("claim in dataSource not bound or invalid")
    wanted, found = claim["spec"].get("volumeMode", "Filesystem"), pv["spec"].get("volumeMode", "Filesystem")
    if wanted != found:
        raise SourceError("the source PVC and destination PVCs must have the same volume mode for cloning.  "
                          f"Source is {found}, but new PVC requested {wanted}")
    return pv["spec"]["csi"]["volumeHandle"]


def _snapshot_source(api, claim: dict, sc: dict, name: str) -> str:
    """getSnapshotSource: the snapshot handle, or the sidecar's refusal."""
    namespace = claim["metadata"]["namespace"]
    snapshot = api.get(f"{SNAPSHOT_GROUP}/v1", "VolumeSnapshot", name, namespace)
    if snapshot is None:
        raise SourceError(f"error getting snapshot {name} from api server: "
                          f'volumesnapshots.snapshot.storage.k8s.io "{name}" not found')
    if snapshot["metadata"].get("deletionTimestamp"):
        raise SourceError(f"snapshot {name} is being deleted")
    status = snapshot.get("status") or {}
    content = status.get("boundVolumeSnapshotContentName") and \
        api.get(f"{SNAPSHOT_GROUP}/v1", "VolumeSnapshotContent", status["boundVolumeSnapshotContentName"])
    ref = (content or {}).get("spec", {}).get("volumeSnapshotRef") or {}
    if not content or ref.get("uid") != snapshot["metadata"]["uid"] or content["spec"]["driver"] != sc["provisioner"]:
        raise SourceError(f"snapshot {name} not bound")
    if not status.get("readyToUse"):
        raise SourceError(f"snapshot {name} is not Ready")
    handle = (content.get("status") or {}).get("snapshotHandle")
    if not handle:
        raise SourceError(f"snapshot handle {name} is not available")
    requested = storage_bytes(claim["spec"]["resources"].get("requests"))
    restore_size = int(parse_quantity(status.get("restoreSize") or "0"))
    if requested < restore_size:
        raise SourceError(f"requested volume size {requested} is less than the size {restore_size} for the "
                          f"source snapshot {name}")
    source_mode = content["spec"].get("sourceVolumeMode")
    allowed = (content["metadata"].get("annotations") or {}).get(ANN_ALLOW_MODE_CHANGE, "")
    if source_mode and source_mode != claim["spec"].get("volumeMode", "Filesystem") and allowed.lower() != "true":
        raise SourceError(f"requested volume {namespace}/{claim['metadata']['name']} modifies the mode of the source "
                          f"volume but does not have permission to do so. {ANN_ALLOW_MODE_CHANGE} annotation is "
                          f"not present on snapshotcontent {content['metadata']['name']}")
    return handle


def _volume(claim: dict, sc: dict, name: str, volume: dict) -> dict:
    config, spec = volume["config"], claim["spec"]
    reclaim = sc.get("reclaimPolicy", "Delete")
    csi = {"driver": DRIVER, "volumeHandle": name,
           "volumeAttributes": {"backendUUID": volume["backendUUID"], "internalName": config["internalName"],
                                "name": name, "protocol": config["protocol"],
                                "storage.kubernetes.io/csiProvisionerIdentity": PROVISIONER_IDENTITY}}
    parameters = sc.get("parameters") or {}
    fs_type = parameters.get("csi.storage.k8s.io/fstype") or parameters.get("fsType")
    if fs_type and spec.get("volumeMode", "Filesystem") == "Filesystem":
        csi["fsType"] = fs_type
    pv = {"apiVersion": "v1", "kind": "PersistentVolume",
          "metadata": {"name": name, "annotations": {
              ANN_PROVISIONED_BY: DRIVER,
              "volume.kubernetes.io/provisioner-deletion-secret-name": "",
              "volume.kubernetes.io/provisioner-deletion-secret-namespace": ""}},
          "spec": {"accessModes": spec.get("accessModes") or [],
                   "capacity": {"storage": binary_quantity(int(config["size"]))},
                   "claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                "name": claim["metadata"]["name"], "namespace": claim["metadata"]["namespace"],
                                "uid": claim["metadata"]["uid"],
                                "resourceVersion": claim["metadata"]["resourceVersion"]},
                   "csi": csi, "persistentVolumeReclaimPolicy": reclaim,
                   "storageClassName": sc["metadata"]["name"],
                   "volumeMode": spec.get("volumeMode", "Filesystem")}}
    if sc.get("mountOptions"):
        pv["spec"]["mountOptions"] = sc["mountOptions"]
    if reclaim == "Delete":
        pv["metadata"]["finalizers"] = [FINALIZER]
    return pv


# --- deletion --------------------------------------------------------------------------------

def reconcile_volume(api, pv: dict):
    annotations = pv["metadata"].get("annotations") or {}
    if annotations.get(ANN_PROVISIONED_BY) != DRIVER or (pv["spec"].get("csi") or {}).get("driver") != DRIVER:
        return None
    if pv["spec"].get("persistentVolumeReclaimPolicy") != "Delete":
        api.remove_finalizer(pv, FINALIZER)
        return None
    if (pv.get("status") or {}).get("phase") != "Released":
        return None
    time.sleep(step_delay())
    try:
        trident_core.delete_volume(api, pv["spec"]["csi"]["volumeHandle"])
    except CsiError as error:
        api.event(pv, "Warning", "VolumeFailedDelete", str(error), component=COMPONENT)
        return RETRY
    api.remove_finalizer(pv, FINALIZER)
    api.delete("v1", "PersistentVolume", pv["metadata"]["name"])
    return None


def setup(manager, webhooks) -> None:
    manager.add(Controller("csi-provisioner", "v1", "PersistentVolumeClaim", reconcile_claim,
                           gone=save_unsaved_volume))
    manager.add(Controller("csi-provisioner-deleter", "v1", "PersistentVolume", reconcile_volume))

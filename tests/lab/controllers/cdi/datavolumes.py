"""CDI's DataVolume controller (v1.65, volume populator flow) on the lab's storage.

A DataVolume gets a PVC of its own name, owned by it, whose dataSourceRef names a
VolumeImportSource or VolumeCloneSource: the CSI provisioner leaves such a claim alone. The
data goes into a scratch claim instead (``prime-<claim uid>`` for imports, ``tmp-pvc-<claim
uid>`` in the source namespace for clones), whose volume is then rebound to the DataVolume's
claim, which kube-controller-manager binds. On a WaitForFirstConsumer class nothing starts
before the claim has a node (phase PendingPopulation), unless the DataVolume asks for
immediate binding (as DataImportCron imports do); then the importer's node is chosen here.

``spec.storage`` is completed from the StorageProfile (access and volume mode, filesystem
overhead, size of a clone's source); ``spec.pvc`` is used as given. Clones pick their
strategy as CDI's clone planner does: the profile's cloneStrategy (snapshot when unset),
``csi-clone`` (a CSI clone of the source claim), ``snapshot`` (a VolumeSnapshot of the source
restored into the scratch claim, or the source snapshot itself), and host-assisted ``copy``
when the classes do not allow either, with the fallback reason as a Warning event and in
the claim's annotations. A CSI clone or snapshot restore is made at the source's size (the
snapshot's restoreSize) and then expanded to the DataVolume's (PrepClaimInProgress), through
the API server's expansion admission and the CSI resizer. Imports and host-assisted copies
report progress in steps; a VDDK import (a Forklift migration's) at the lab's simulated
bandwidth (LAB_MIGRATION_BANDWIDTH MiB/s).

A claim of the DataVolume's name that already exists is adopted when it was populated for it
(annotation cdi.kubevirt.io/storage.populatedFor, as a VM restore leaves it) or when claim
adoption is allowed (annotation cdi.kubevirt.io/allowClaimAdoption on the DataVolume, or the
DataVolumeClaimAdoption feature gate HCO turns on in the CDI CR); else ErrResourceExists.
"""

import copy
import os
import time
from dataclasses import dataclass

from lab.controllers.cdi import storage as cdi_storage
from lab.controllers.cdi.storage import CDI, LABELS, SNAPSHOTS, quantity_bytes
from lab.controllers.csi.provisioner import binary_quantity
from lab.controllers.csi.resizer import finish_node_expansion
from lab.controllers.runtime import CONTINUE, Controller, Watch, now, owner_keys, step_delay

COMPONENT = "datavolume-controller"
ANN_CONTENT_TYPE = "cdi.kubevirt.io/storage.contentType"
ANN_IMMEDIATE = "cdi.kubevirt.io/storage.bind.immediate.requested"
ANN_USE_POPULATOR = "cdi.kubevirt.io/storage.usePopulator"
ANN_CREATED_FOR = "cdi.kubevirt.io/createdForDataVolume"
ANN_PROGRESS = "cdi.kubevirt.io/storage.populator.progress"
ANN_CLONE_TYPE = "cdi.kubevirt.io/cloneType"
ANN_FALLBACK = "cdi.kubevirt.io/cloneFallbackReason"
ANN_SOURCE_NAMESPACE = "cdi.kubevirt.io/dataSourceNamespace"
ANN_POPULATED_FOR = "cdi.kubevirt.io/storage.populatedFor"
ANN_ALLOW_ADOPTION = "cdi.kubevirt.io/allowClaimAdoption"
ANN_SELECTED_NODE = "volume.kubernetes.io/selected-node"
ANN_CHECKPOINT_COPIED = "cdi.kubevirt.io/storage.checkpoint.copied"
ANN_CURRENT_CHECKPOINT = "cdi.kubevirt.io/storage.checkpoint.current"
LABEL_OWNED_BY = "cdi.kubevirt.io/OwnedByUID"
IMPORT_STEPS = 4  # progress updates of an import (one per step_delay)
COPY_STEPS = 8  # a host-assisted copy is the slow path
WAIT = 1.0

_FALLBACKS = {
    "NoVolumeSnapshotClass": "No compatible volumesnapshotclass found",
    "IncompatibleVolumeModes": "The volume modes of source and target are incompatible",
    "NoVolumeExpansion": "No volume expansion is possible",
    "NoProvisionerMatch": "The storageclass provisioner does not match the volumesnapshotcontent driver",
    "IncompatibleProvisioners": "Provisioners are incompatible",
}


class Waiting(Exception):
    """The DataVolume cannot go on yet; ``reason`` and the message become a Warning event."""

    def __init__(self, reason: str, message: str):
        self.reason = reason
        super().__init__(message)


@dataclass
class Plan:
    kind: str  # import, upload or clone
    claim: dict  # the rendered PVC spec, without data source
    storage_class: dict
    strategy: str = "import"  # or copy, snapshot, csi-clone
    source_kind: str = ""  # PersistentVolumeClaim or VolumeSnapshot, for a clone
    source_namespace: str = ""
    source_name: str = ""
    fallback: str = ""  # the planner's reason for a host-assisted copy

    @property
    def populator(self) -> str:
        return "VolumeCloneSource" if self.kind == "clone" else (
            "VolumeUploadSource" if self.kind == "upload" else "VolumeImportSource")


# --- planning --------------------------------------------------------------------------------

def plan(api, dv: dict) -> Plan:
    """What CDI makes of the DataVolume's spec, or Waiting with CDI's complaint."""
    spec, namespace = dv["spec"], dv["metadata"]["namespace"]
    source = _source(api, dv)
    requested = spec.get("storage") if spec.get("storage") is not None else spec.get("pvc")
    if requested is None:
        raise Waiting("ErrClaimNotValid", "DataVolume spec is missing both pvc and storage")
    claim = {k: copy.deepcopy(v) for k, v in requested.items() if k not in ("dataSource", "dataSourceRef")}
    if spec.get("pvc") is not None and not claim.get("accessModes"):
        raise Waiting("ErrClaimNotValid", "DataVolume.pvc spec is missing accessMode")
    kubevirt_content = spec.get("contentType", "kubevirt") == "kubevirt"
    sc = cdi_storage.storage_class(api, claim.get("storageClassName"), kubevirt_content)
    if sc is None:
        if claim.get("storageClassName"):
            raise Waiting("ErrClaimNotValid", f'storageclass.storage.k8s.io "{claim["storageClassName"]}" not found')
        raise Waiting("ErrClaimNotValid", "DataVolume.storage spec is missing accessMode and no storageClass to "
                                          "choose profile")
    claim["storageClassName"] = sc["metadata"]["name"]
    if spec.get("storage") is not None:
        _complete_from_profile(api, claim, sc)
    if "pvc" in source or "snapshot" in source:
        kind = "PersistentVolumeClaim" if "pvc" in source else "VolumeSnapshot"
        ref = source.get("pvc") or source.get("snapshot")
        result = Plan("clone", claim, sc, source_kind=kind, source_namespace=ref.get("namespace") or namespace,
                      source_name=ref["name"])
        _plan_clone(api, result, storage_api=spec.get("storage") is not None)
        return result
    result = Plan("upload" if "upload" in source else "import", claim, sc)
    size = quantity_bytes((claim.get("resources") or {}).get("requests", {}).get("storage"))
    if not size:
        raise Waiting("ErrClaimNotValid", "DataVolume spec is missing the requested storage size")
    if spec.get("storage") is not None and claim.get("volumeMode", "Filesystem") == "Filesystem":
        claim["resources"]["requests"]["storage"] = str(cdi_storage.size_with_overhead(size))
    return result


def _source(api, dv: dict) -> dict:
    """The DataVolume's source, a sourceRef resolved through its DataSource."""
    ref = dv["spec"].get("sourceRef")
    if not ref:
        return dv["spec"].get("source") or {}
    namespace = ref.get("namespace") or dv["metadata"]["namespace"]
    data_source = api.get(CDI, "DataSource", ref["name"], namespace)
    if data_source is None:
        raise Waiting("CloneWithoutSource", f"The source datasource {namespace}/{ref['name']} doesn't exist")
    source = data_source["spec"].get("source") or {}
    for kind in ("pvc", "snapshot"):
        if source.get(kind):
            return {kind: {"namespace": source[kind].get("namespace") or namespace, "name": source[kind]["name"]}}
    raise Waiting("CloneWithoutSource", f"DataSource {namespace}/{ref['name']} has no source")


def _complete_from_profile(api, claim: dict, sc: dict) -> None:
    if claim.get("accessModes") and claim.get("volumeMode"):
        return
    name = sc["metadata"]["name"]
    profile = cdi_storage.profile(api, name)
    sets = ((profile or {}).get("status") or {}).get("claimPropertySets") or []
    if claim.get("volumeMode"):
        sets = [s for s in sets if s.get("volumeMode") == claim["volumeMode"]]
    if not sets and not claim.get("accessModes"):
        raise Waiting("ErrClaimNotValid", "DataVolume.storage spec is missing accessMode and volumeMode, cannot "
                                          f"get access mode from StorageProfile {name}")
    if sets:
        claim.setdefault("accessModes", list(sets[0]["accessModes"]))
        claim.setdefault("volumeMode", sets[0]["volumeMode"])
    claim.setdefault("volumeMode", "Filesystem")


def _plan_clone(api, result: Plan, storage_api: bool) -> None:
    """ChooseStrategy of CDI's clone planner, and the size a `storage` clone inherits."""
    target_sc, claim = result.storage_class, result.claim
    requests = claim.setdefault("resources", {}).setdefault("requests", {})
    allow_expansion = bool(target_sc.get("allowVolumeExpansion"))
    if result.source_kind == "PersistentVolumeClaim":
        source = api.get("v1", "PersistentVolumeClaim", result.source_name, result.source_namespace)
        if source is None:
            raise Waiting("CloneWithoutSource", f"The source pvc {result.source_name} doesn't exist")
        source_capacity = quantity_bytes(((source.get("status") or {}).get("capacity") or {}).get("storage")) or \
            quantity_bytes(source["spec"]["resources"]["requests"]["storage"])
        if storage_api and not requests.get("storage"):
            requests["storage"] = binary_quantity(source_capacity)
        if quantity_bytes(requests.get("storage")) < quantity_bytes(source["spec"]["resources"]["requests"]["storage"]):
            raise Waiting("ErrIncompatiblePVC", "target resources requests storage size is smaller than the source")
        source_sc = api.get("storage.k8s.io/v1", "StorageClass", source["spec"].get("storageClassName") or "")
        profile = cdi_storage.profile(api, target_sc["metadata"]["name"]) or {}
        strategy = (profile.get("status") or {}).get("cloneStrategy") or "snapshot"
        same_driver = source_sc is not None and source_sc["provisioner"] == target_sc["provisioner"]
        if strategy == "snapshot" and not (same_driver and cdi_storage.clone_snapshot_class(api, target_sc,
                                                                                           source_sc)):
            result.strategy, result.fallback = "copy", "NoVolumeSnapshotClass"
        elif strategy in ("snapshot", "csi-clone") and not same_driver:
            result.strategy, result.fallback = "copy", "IncompatibleProvisioners"
        elif strategy in ("snapshot", "csi-clone") and \
                source["spec"].get("volumeMode", "Filesystem") != claim.get("volumeMode", "Filesystem"):
            result.strategy, result.fallback = "copy", "IncompatibleVolumeModes"
        elif strategy in ("snapshot", "csi-clone") and source_capacity < quantity_bytes(requests["storage"]) \
                and not allow_expansion:
            result.strategy, result.fallback = "copy", "NoVolumeExpansion"
        else:
            result.strategy = strategy
        return
    snapshot = api.get(SNAPSHOTS, "VolumeSnapshot", result.source_name, result.source_namespace)
    if snapshot is None:
        raise Waiting("CloneWithoutSource", f"The source snapshot {result.source_name} doesn't exist")
    status = snapshot.get("status") or {}
    restore_size = quantity_bytes(status.get("restoreSize"))
    if storage_api and not requests.get("storage"):
        if not restore_size:
            raise Waiting("ErrClaimNotValid", "snapshot has no RestoreSize")
        requests["storage"] = binary_quantity(restore_size)
    content = status.get("boundVolumeSnapshotContentName") and \
        api.get(SNAPSHOTS, "VolumeSnapshotContent", status["boundVolumeSnapshotContentName"])
    if not content or content["spec"]["driver"] != target_sc["provisioner"]:
        result.strategy, result.fallback = "copy", "NoProvisionerMatch"
    elif restore_size < quantity_bytes(requests.get("storage")) and not allow_expansion:
        result.strategy, result.fallback = "copy", "NoVolumeExpansion"
    else:
        result.strategy = "snapshot"


# --- reconciling -----------------------------------------------------------------------------

def reconcile(api, dv: dict):
    if (dv.get("status") or {}).get("phase") == "Succeeded" or dv["metadata"].get("deletionTimestamp"):
        return None
    meta = dv["metadata"]
    target = api.get("v1", "PersistentVolumeClaim", meta["name"], meta["namespace"])
    try:
        the_plan = plan(api, dv)
    except Waiting as waiting:
        if target is None:
            api.event(dv, "Warning", waiting.reason, str(waiting), component=COMPONENT)
            _set_phase(api, dv, "Pending", None)
            return WAIT * 5
        the_plan = None  # the claim exists: its own state decides from here on
    if target is None:
        time.sleep(step_delay())
        target = _create_target(api, dv, the_plan)
        _set_phase(api, dv, "Pending", target)
        return WAIT
    target = _adopt(api, dv, target)
    if target is None:
        return None
    if (target.get("status") or {}).get("phase") == "Bound":
        return _succeed(api, dv, target)
    if (target["spec"].get("dataSourceRef") or {}).get("apiGroup") != "cdi.kubevirt.io":
        # An adopted claim holds its data already; it only has to bind.
        waiting = (target["metadata"].get("annotations") or {}).get(ANN_SELECTED_NODE) is None and \
            _binding_mode(api, target) == "WaitForFirstConsumer"
        _set_phase(api, dv, "PendingPopulation" if waiting else "Pending", target)
        return WAIT
    annotations = target["metadata"].get("annotations") or {}
    prime_namespace, prime_name = _prime(dv, target)
    prime = api.get("v1", "PersistentVolumeClaim", prime_name, prime_namespace)
    if prime is None:
        if the_plan is None:
            return WAIT * 5
        return _start(api, dv, target, the_plan)
    if (prime.get("status") or {}).get("phase") != "Bound":
        return WAIT
    kind = _kind(target)
    if kind == "upload":
        _set_phase(api, dv, "UploadReady", target)
        return None
    if kind == "clone" and annotations.get(ANN_CLONE_TYPE) in ("csi-clone", "snapshot") and \
            not _prepped(api, dv, target, prime):
        return WAIT
    if kind == "import" and dv["spec"].get("checkpoints"):
        staged = _multistage(api, dv, target)
        if staged is not CONTINUE:
            return staged
    elif (kind == "import" or annotations.get(ANN_CLONE_TYPE) == "copy") and _copy_step(api, dv, target, kind):
        return 0.0
    _rebind(api, target, prime)
    return WAIT


def _adopt(api, dv: dict, target: dict):
    """The claim of the DataVolume's name, owned by it (adopted when it may be); None when it may not."""
    meta = dv["metadata"]
    references = target["metadata"].get("ownerReferences") or []
    if any(ref.get("uid") == meta["uid"] for ref in references):
        return target
    if not _adoptable(api, dv, target):
        api.event(dv, "Warning", "ErrResourceExists",
                  f'Resource "{meta["name"]}" already exists and is not managed by DataVolume', component=COMPONENT)
        return None
    owner = dict(_owner(dv), controller=not any(ref.get("controller") for ref in references))
    return api.patch(target, {"metadata": {"ownerReferences": references + [owner]}})


def _copy_step(api, dv: dict, target: dict, kind: str, steps: float = None) -> bool:
    """One step of an import or host-assisted copy (progress in the claim's annotation); False once done."""
    fixed = steps is not None
    steps = steps or (IMPORT_STEPS if kind == "import" else COPY_STEPS)
    progress = float((target["metadata"].get("annotations") or {}).get(ANN_PROGRESS, "0.0%").rstrip("%"))
    if progress >= 100:
        return False
    time.sleep(step_delay())
    if "vddk" in (dv["spec"].get("source") or {}) and not fixed:
        steps = max(1.0, quantity_bytes(target["spec"]["resources"]["requests"]["storage"])
                    / (vddk_bandwidth() * step_delay()))
    progress = min(100.0, progress + 100.0 / steps)
    target = api.patch(target, {"metadata": {"annotations": {ANN_PROGRESS: f"{progress:.2f}%"}}})
    _set_phase(api, dv, "ImportInProgress" if kind == "import" else "CloneInProgress", target, f"{progress:.2f}%")
    return True


def _multistage(api, dv: dict, target: dict):
    """A multi-stage (warm) import: each checkpoint is copied in turn and recorded on the claim
    (cdi.kubevirt.io/storage.checkpoint.copied.<current>); between checkpoints the DataVolume is
    Paused, and a new one starts as ImportScheduled; once the final checkpoint is copied the claim
    is handed over (CONTINUE) and the DataVolume Succeeds. Only the first checkpoint is a full
    copy: vcsim's guests write nothing, so a delta takes one step."""
    checkpoint = dv["spec"]["checkpoints"][-1]
    copied = f"{ANN_CHECKPOINT_COPIED}.{checkpoint['current']}"
    annotations = target["metadata"].get("annotations") or {}
    if copied in annotations:
        if dv["spec"].get("finalCheckpoint"):
            return CONTINUE
        _set_phase(api, dv, "Paused", target)
        return None
    if (dv.get("status") or {}).get("phase") == "Paused":
        target = api.patch(target, {"metadata": {"annotations": {ANN_PROGRESS: "0.0%"}}})
        _set_phase(api, dv, "ImportScheduled", target, "0.0%")
        return WAIT
    full = not checkpoint.get("previous")
    if _copy_step(api, dv, target, "import", steps=None if full else 1):
        return 0.0
    api.patch(target, {"metadata": {"annotations": {copied: "", ANN_CURRENT_CHECKPOINT: checkpoint["current"]}}})
    return 0.0


def vddk_bandwidth() -> float:
    """Bytes per second a VDDK import reads from vSphere: LAB_MIGRATION_BANDWIDTH MiB/s (default 4096),
    so that bigger disks take longer."""
    return float(os.environ.get("LAB_MIGRATION_BANDWIDTH", "4096")) * 2**20


def _owner(dv: dict) -> dict:
    meta = dv["metadata"]
    return {"apiVersion": CDI, "kind": "DataVolume", "name": meta["name"], "uid": meta["uid"],
            "controller": True, "blockOwnerDeletion": True}


def _adoptable(api, dv: dict, claim: dict) -> bool:
    """Whether CDI takes over an existing claim of the DataVolume's name: one populated for it
    (a VM restore's), or any when claim adoption is allowed (annotation or the CDI feature gate)."""
    name = dv["metadata"]["name"]
    if (claim["metadata"].get("annotations") or {}).get(ANN_POPULATED_FOR) == name:
        return True
    if (dv["metadata"].get("annotations") or {}).get(ANN_ALLOW_ADOPTION) == "true":
        return True
    return any("DataVolumeClaimAdoption" in ((cdi["spec"].get("config") or {}).get("featureGates") or [])
               for cdi in api.list(CDI, "CDI"))


def _binding_mode(api, claim: dict) -> str:
    storage_class = api.get("storage.k8s.io/v1", "StorageClass", claim["spec"].get("storageClassName") or "")
    return (storage_class or {}).get("volumeBindingMode", "Immediate")


def _kind(target: dict) -> str:
    populator = (target["spec"].get("dataSourceRef") or {}).get("kind")
    return {"VolumeCloneSource": "clone", "VolumeUploadSource": "upload"}.get(populator, "import")


def _prime(dv: dict, target: dict) -> tuple:
    """Where the data is written first: (namespace, name)."""
    uid = target["metadata"]["uid"]
    if _kind(target) == "clone":
        annotations = target["metadata"].get("annotations") or {}
        return annotations.get(ANN_SOURCE_NAMESPACE, dv["metadata"]["namespace"]), f"tmp-pvc-{uid}"
    return dv["metadata"]["namespace"], f"prime-{uid}"


def _create_target(api, dv: dict, the_plan: Plan) -> dict:
    meta = dv["metadata"]
    owner = _owner(dv)
    populator_namespace = the_plan.source_namespace if the_plan.kind == "clone" else meta["namespace"]
    populator_name = {"VolumeCloneSource": "volume-clone-source", "VolumeUploadSource": "volume-upload-source",
                      "VolumeImportSource": "volume-import-source"}[the_plan.populator] + f"-{meta['uid']}"
    populator_spec = ({"source": {"kind": the_plan.source_kind, "name": the_plan.source_name,
                                  **({"apiGroup": "snapshot.storage.k8s.io"}
                                     if the_plan.source_kind == "VolumeSnapshot" else {})}}
                      if the_plan.kind == "clone" else
                      {} if the_plan.kind == "upload" else
                      {"source": dv["spec"].get("source") or {"blank": {}},
                       "contentType": dv["spec"].get("contentType", "kubevirt")})
    populator = {"apiVersion": CDI, "kind": the_plan.populator,
                 "metadata": {"name": populator_name, "namespace": populator_namespace, "labels": dict(LABELS)},
                 "spec": populator_spec}
    if populator_namespace == meta["namespace"]:
        populator["metadata"]["ownerReferences"] = [dict(owner, controller=False, blockOwnerDeletion=False)]
    api.ensure(populator)
    annotations = {ANN_CONTENT_TYPE: dv["spec"].get("contentType", "kubevirt"), ANN_USE_POPULATOR: "true",
                   ANN_CREATED_FOR: meta["uid"]}
    if (meta.get("annotations") or {}).get(ANN_IMMEDIATE) == "true":
        annotations[ANN_IMMEDIATE] = "true"
    if the_plan.kind == "clone":
        annotations[ANN_CLONE_TYPE] = the_plan.strategy
        if the_plan.source_namespace != meta["namespace"]:
            annotations[ANN_SOURCE_NAMESPACE] = the_plan.source_namespace
        if the_plan.fallback:
            annotations[ANN_FALLBACK] = _FALLBACKS[the_plan.fallback]
    spec = dict(the_plan.claim, dataSourceRef={"apiGroup": "cdi.kubevirt.io", "kind": the_plan.populator,
                                               "name": populator_name})
    target = api.create({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": {"name": meta["name"], "namespace": meta["namespace"],
                                      "labels": {**LABELS, **(meta.get("labels") or {})},
                                      "annotations": annotations, "ownerReferences": [owner]},
                         "spec": spec})
    if the_plan.fallback:
        message = _FALLBACKS[the_plan.fallback]
        api.event(target, "Warning", the_plan.fallback, message, component="clone-populator")
        api.event(dv, "Warning", the_plan.fallback, message, component=COMPONENT)
    return target


def _start(api, dv: dict, target: dict, the_plan: Plan):
    """Create the scratch claim (after the smart-clone snapshot, when there is one)."""
    annotations = target["metadata"].get("annotations") or {}
    node = annotations.get(ANN_SELECTED_NODE)
    storage_class = the_plan.storage_class
    if storage_class.get("volumeBindingMode") == "WaitForFirstConsumer" and not node:
        if annotations.get(ANN_IMMEDIATE) != "true":
            _set_phase(api, dv, "PendingPopulation", target)
            return None
        node = _worker(api)  # where the importer or clone pod would be scheduled
    uid = target["metadata"]["uid"]
    namespace, name = _prime(dv, target)
    data_source = None
    if the_plan.strategy == "csi-clone":
        data_source = {"kind": "PersistentVolumeClaim", "name": the_plan.source_name}
    elif the_plan.strategy == "snapshot":
        snapshot = the_plan.source_name
        if the_plan.source_kind == "PersistentVolumeClaim":
            snapshot = f"tmp-snapshot-{uid}"
            if not _smart_clone_snapshot_ready(api, the_plan, namespace, snapshot, uid):
                _set_phase(api, dv, "SnapshotForSmartCloneInProgress", target)
                return WAIT
        data_source = {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot", "name": snapshot}
    time.sleep(step_delay())
    claim = copy.deepcopy(the_plan.claim)
    if data_source:
        claim["dataSource"] = data_source
        # CSIClonePhase / SnapshotClonePhase: the copy starts at the source's size (a Trident
        # clone cannot be larger); PrepClaim expands it afterwards.
        source_size = _source_size(api, the_plan, namespace, data_source)
        if source_size:
            claim.setdefault("resources", {}).setdefault("requests", {})["storage"] = source_size
    prime = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": name, "namespace": namespace, "labels": {**LABELS, LABEL_OWNED_BY: uid},
                          "annotations": {ANN_CONTENT_TYPE: annotations.get(ANN_CONTENT_TYPE, "kubevirt")}},
             "spec": claim}
    if node:
        prime["metadata"]["annotations"][ANN_SELECTED_NODE] = node
    if namespace == target["metadata"]["namespace"]:
        prime["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                                  "name": target["metadata"]["name"], "uid": uid,
                                                  "controller": True, "blockOwnerDeletion": True}]
    api.ensure(prime)
    phase = {"import": "ImportScheduled", "upload": "UploadScheduled", "copy": "CloneScheduled",
             "csi-clone": "CSICloneInProgress", "snapshot": "CloneFromSnapshotSourceInProgress"}
    _set_phase(api, dv, phase[the_plan.kind if the_plan.kind != "clone" else the_plan.strategy], target)
    return WAIT


def _source_size(api, the_plan: Plan, namespace: str, data_source: dict) -> str:
    """The source claim's capacity, or the snapshot's restoreSize (none when it is 0)."""
    if data_source["kind"] == "PersistentVolumeClaim":
        source = api.get("v1", "PersistentVolumeClaim", data_source["name"], the_plan.source_namespace)
        return (((source or {}).get("status") or {}).get("capacity") or {}).get("storage")
    snapshot = api.get(SNAPSHOTS, "VolumeSnapshot", data_source["name"], namespace)
    restore_size = ((snapshot or {}).get("status") or {}).get("restoreSize")
    return restore_size if quantity_bytes(restore_size) else None


def _prepped(api, dv: dict, target: dict, prime: dict) -> bool:
    """PrepClaimPhase: grow the scratch claim to the DataVolume's size (the API server refuses
    when its class does not allow expansion), and let the prep pod's kubelet finish a block
    volume's expansion on the node. True once the claim holds the requested size."""
    wanted = target["spec"]["resources"]["requests"]["storage"]
    if quantity_bytes(prime["spec"]["resources"]["requests"]["storage"]) < quantity_bytes(wanted):
        _set_phase(api, dv, "PrepClaimInProgress", target)
        api.patch(prime, {"spec": {"resources": {"requests": {"storage": wanted}}}})
        return False
    if quantity_bytes(((prime.get("status") or {}).get("capacity") or {}).get("storage")) >= quantity_bytes(wanted):
        return True
    _set_phase(api, dv, "PrepClaimInProgress", target)
    pending = any(c["type"] == "FileSystemResizePending" and c.get("status") == "True"
                  for c in (prime.get("status") or {}).get("conditions") or [])
    if pending:
        finish_node_expansion(api, prime)
    return False


def _smart_clone_snapshot_ready(api, the_plan: Plan, namespace: str, name: str, uid: str) -> bool:
    snapshot = api.get(SNAPSHOTS, "VolumeSnapshot", name, namespace)
    if snapshot is None:
        snapshot_class = cdi_storage.clone_snapshot_class(api, the_plan.storage_class)
        api.create({"apiVersion": SNAPSHOTS, "kind": "VolumeSnapshot",
                    "metadata": {"name": name, "namespace": namespace, "labels": {**LABELS, LABEL_OWNED_BY: uid}},
                    "spec": {"source": {"persistentVolumeClaimName": the_plan.source_name},
                             "volumeSnapshotClassName": snapshot_class}})
        return False
    return bool((snapshot.get("status") or {}).get("readyToUse"))


def _worker(api) -> str:
    nodes = api.list("v1", "Node", label_selector="node-role.kubernetes.io/worker")
    workers = sorted(n["metadata"]["name"] for n in nodes)
    return workers[0] if workers else ""


def _rebind(api, target: dict, prime: dict) -> None:
    """Hand the scratch claim's volume to the DataVolume's claim, then drop the scratch objects."""
    time.sleep(step_delay())
    pv = api.get("v1", "PersistentVolume", prime["spec"]["volumeName"])
    meta = target["metadata"]
    if pv and (pv["spec"].get("claimRef") or {}).get("uid") != meta["uid"]:
        api.patch(pv, {"spec": {"claimRef": {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                                             "name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
                                             "resourceVersion": meta["resourceVersion"]}}})
    api.delete("v1", "PersistentVolumeClaim", prime["metadata"]["name"], prime["metadata"]["namespace"])
    api.delete(SNAPSHOTS, "VolumeSnapshot", f"tmp-snapshot-{meta['uid']}", prime["metadata"]["namespace"])


def _succeed(api, dv: dict, target: dict):
    if target["metadata"].get("annotations", {}).get(ANN_PROGRESS) != "100.0%":
        target = api.patch(target, {"metadata": {"annotations": {ANN_PROGRESS: "100.0%"}}})
    _set_phase(api, dv, "Succeeded", target, "100.0%")
    return None


# --- status ----------------------------------------------------------------------------------

_IN_PROGRESS = {"ImportScheduled", "ImportInProgress", "CloneScheduled", "CloneInProgress", "CSICloneInProgress",
                "SnapshotForSmartCloneInProgress", "CloneFromSnapshotSourceInProgress", "PrepClaimInProgress",
                "UploadScheduled"}


def _set_phase(api, dv: dict, phase: str, target, progress: str = None) -> None:
    meta = dv["metadata"]
    previous = dv.get("status") or {}
    progress = progress or previous.get("progress") or "N/A"
    status = {"phase": phase, "progress": progress, "claimName": meta["name"],
              "conditions": _conditions(previous.get("conditions") or [], phase, target, _is_clone(target))}
    if all(previous.get(k) == v for k, v in status.items()):
        return
    api.patch_status(dv, status)
    if previous.get("phase") != phase:
        reason, message = _event(dv, phase, target)
        api.event(dv, "Normal", reason, message, component=COMPONENT)


def _is_clone(target) -> bool:
    return bool(target) and _kind(target) == "clone"


def _event(dv: dict, phase: str, target) -> tuple:
    meta = dv["metadata"]
    name, namespace = meta["name"], meta["namespace"]
    source = ""
    if _is_clone(target):
        populator_ns = (target["metadata"].get("annotations") or {}).get(ANN_SOURCE_NAMESPACE, namespace)
        spec_source = dv["spec"].get("source") or {}
        ref = spec_source.get("pvc") or spec_source.get("snapshot") or dv["spec"].get("sourceRef") or {}
        source = f"{ref.get('namespace') or populator_ns}/{ref.get('name', '')}"
    messages = {
        "Pending": f"PVC {name} Pending",
        "PendingPopulation": f"PVC {name} Pending, waiting for a consumer to populate it",
        "ImportScheduled": f"Import into {name} scheduled",
        "ImportInProgress": f"Import into {name} in progress",
        "UploadScheduled": f"Upload into {name} scheduled",
        "UploadReady": f"Upload into {name} ready",
        "CloneScheduled": f"Cloning from {source} into {namespace}/{name} scheduled",
        "CloneInProgress": f"Cloning from {source} into {namespace}/{name} in progress",
        "CSICloneInProgress": f"CSI Volume clone in progress (for pvc: {source})",
        "SnapshotForSmartCloneInProgress": f"Creating snapshot for smart-clone is in progress (for pvc: {source})",
        "CloneFromSnapshotSourceInProgress": f"Creating PVC from snapshot source is in progress (for: {source})",
        "PrepClaimInProgress": f"Prepping PersistentVolumeClaim for DataVolume {namespace}/{name}",
    }
    if phase == "Succeeded":
        if _is_clone(target):
            return "CloneSucceeded", f"Successfully cloned from {source} into {namespace}/{name}"
        return "ImportSucceeded", f"Successfully imported into PVC {name}"
    return phase, messages.get(phase, phase)


def _conditions(previous: list, phase: str, target, clone: bool) -> list:
    name = (target or {}).get("metadata", {}).get("name", "")
    claim_phase = ((target or {}).get("status") or {}).get("phase", "Pending")
    bound = ("True", "Bound", f"PVC {name} Bound") if claim_phase == "Bound" else \
        ("False", "Pending", f"PVC {name} Pending") if target else ("False", "NotFound", "No PVC found")
    work = "Clone" if clone else "Import"
    running = ("False", "Completed", f"{work} Complete") if phase == "Succeeded" else \
        ("True", "", f"{work} in progress") if phase in _IN_PROGRESS else \
        ("False", phase, "")
    ready = ("True", "", "") if phase == "Succeeded" else ("False", "", "")
    by_type = {c["type"]: c for c in previous}
    conditions = []
    for kind, (status, reason, message) in (("Bound", bound), ("Ready", ready), ("Running", running)):
        old = by_type.get(kind) or {}
        changed = (old.get("status"), old.get("reason", ""), old.get("message", "")) != (status, reason, message)
        stamp = now()
        transition = stamp if old.get("status") != status else old.get("lastTransitionTime", stamp)
        condition = {"type": kind, "status": status, "lastTransitionTime": transition,
                     "lastHeartbeatTime": stamp if changed else old.get("lastHeartbeatTime", stamp)}
        if reason:
            condition["reason"] = reason
        if message:
            condition["message"] = message
        conditions.append(condition)
    return conditions


def setup(manager, webhooks) -> None:
    manager.add(Controller("datavolume-controller", CDI, "DataVolume", reconcile,
                           watches=[Watch("v1", "PersistentVolumeClaim", owner_keys("DataVolume"))]))

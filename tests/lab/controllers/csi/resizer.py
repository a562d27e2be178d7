"""The csi-resizer sidecar deployed with Trident (external-resizer v2, RecoverVolumeExpansionFailure
on), calling Trident's ControllerExpandVolume, and the kubelet's part of an expansion.

A bound claim whose request grew is expanded; whether a claim may grow at all is the API
server's own admission (PersistentVolumeClaimResize: the class must allow volume expansion),
not ours. A file volume is done then. A block volume needs the node's part (condition
FileSystemResizePending): the kubelet's is done here for a claim a running pod uses, and by
CDI's prep step (``cdi.datavolumes``) for the claims it grows.
"""

import time

from lab.controllers.csi.provisioner import RETRY, binary_quantity, storage_bytes
from lab.controllers.runtime import Controller, Watch, now, step_delay
from lab.controllers.trident import core as trident_core
from lab.controllers.trident.config import DRIVER
from lab.controllers.trident.core import CsiError

RESIZER = f"external-resizer {DRIVER}"
ANN_NODE_EXPANSION_NOT_REQUIRED = "volume.kubernetes.io/node-expansion-not-required"
_RESIZE_CONDITIONS = ("Resizing", "FileSystemResizePending", "ControllerResizeError", "NodeResizeError")
_RETRIED_CODES = ("Canceled", "DeadlineExceeded", "Unavailable", "ResourceExhausted", "Aborted")  # IsFinalError


def reconcile_resize(api, claim: dict):
    """A bound claim of Trident's asking for more than it has is grown by ControllerExpandVolume."""
    spec, status = claim["spec"], claim.get("status") or {}
    if status.get("phase") != "Bound" or not spec.get("volumeName"):
        return None
    requested = storage_bytes(spec["resources"].get("requests"))
    if requested <= storage_bytes(status.get("capacity")):
        return None
    pv = api.get("v1", "PersistentVolume", spec["volumeName"])
    csi = ((pv or {}).get("spec") or {}).get("csi") or {}
    if csi.get("driver") != DRIVER or (pv["spec"].get("claimRef") or {}).get("uid") != claim["metadata"]["uid"]:
        return None
    if _condition(claim, "FileSystemResizePending"):
        if storage_bytes(pv["spec"].get("capacity")) >= requested:
            if _in_use(api, claim):
                finish_node_expansion(api, claim, pv)
            return None
    claim = _mark_resize_in_progress(api, claim, pv, requested)
    time.sleep(step_delay())
    try:
        capacity, node_expansion = trident_core.expand_volume(api, csi["volumeHandle"], requested)
    except CsiError as error:
        _record_resize_failure(api, claim, pv, error)
        return RETRY * 3  # the sidecar retries with back-off
    api.patch(pv, {"spec": {"capacity": {"storage": binary_quantity(capacity)}}})
    if node_expansion:
        _await_node_expansion(api, claim)
    else:
        _finish_resize(api, claim, capacity)
    return None


def _mark_resize_in_progress(api, claim: dict, pv: dict, requested: int) -> dict:
    """markControllerResizeInProgress; a retry of the same size keeps the last error beside it."""
    spec, status = claim["spec"], claim.get("status") or {}
    retry = storage_bytes(status.get("allocatedResources")) == requested
    update = {"conditions": _resize_conditions(claim, [{"type": "Resizing", "status": "True",
                                                         "lastTransitionTime": now()}], keep=retry),
              "allocatedResources": {"storage": spec["resources"]["requests"]["storage"]}}
    if not retry:
        update["allocatedResourceStatuses"] = {"storage": "ControllerResizeInProgress"}
    if ANN_NODE_EXPANSION_NOT_REQUIRED in (claim["metadata"].get("annotations") or {}):
        claim = api.patch(claim, {"metadata": {"annotations": {ANN_NODE_EXPANSION_NOT_REQUIRED: None}}})
    claim = api.patch_status(claim, update)
    api.event(claim, "Normal", "Resizing", f"External resizer is resizing volume {pv['metadata']['name']}",
              component=RESIZER)
    return claim


def _record_resize_failure(api, claim: dict, pv: dict, error: CsiError) -> None:
    """A final error (not one the sidecar retries) is a ControllerResizeError; some are infeasible."""
    message = f'resize volume "{pv["metadata"]["name"]}" by resizer "{DRIVER}" failed: {error}'
    api.event(claim, "Warning", "VolumeResizeFailed", message, component=RESIZER)
    if error.code in _RETRIED_CODES:
        return
    update = {"conditions": _resize_conditions(claim, [{
        "type": "ControllerResizeError", "status": "True", "lastTransitionTime": now(),
        "message": f"failed to expand pvc with {error}"}], keep=True)}
    if error.code in ("InvalidArgument", "OutOfRange", "NotFound"):
        update["allocatedResourceStatuses"] = {"storage": "ControllerResizeInfeasible"}
    api.patch_status(claim, update)


def _await_node_expansion(api, claim: dict) -> None:
    api.patch_status(claim, {
        "conditions": _resize_conditions(claim, [{
            "type": "FileSystemResizePending", "status": "True", "lastTransitionTime": now(),
            "message": "Waiting for user to (re-)start a pod to finish file system resize of volume on node."}],
            keep=True),
        "allocatedResourceStatuses": {"storage": "NodeResizePending"}})
    api.event(claim, "Normal", "FileSystemResizeRequired", "Require file system resize of volume on node",
              component=RESIZER)


def _finish_resize(api, claim: dict, capacity: int) -> None:
    """markOverallExpansionAsFinished writes both in one patch: the annotation first, so that
    the claim never shows the new capacity without it."""
    claim = api.patch(claim, {"metadata": {"annotations": {ANN_NODE_EXPANSION_NOT_REQUIRED: "true"}}})
    api.patch_status(claim, {"capacity": {"storage": binary_quantity(capacity)},
                             "conditions": _resize_conditions(claim, [], keep=False),
                             "allocatedResourceStatuses": None})
    api.event(claim, "Normal", "VolumeResizeSuccessful", "Resize volume succeeded", component=RESIZER)


def finish_node_expansion(api, claim: dict, pv: dict = None) -> dict:
    """What the kubelet does for a pod that mounts a claim pending node expansion (NodeExpandVolume,
    then MarkFSResizeFinished): the claim's capacity becomes the volume's, the resize is over."""
    pv = pv or api.get("v1", "PersistentVolume", claim["spec"]["volumeName"])
    time.sleep(step_delay())
    return api.patch_status(claim, {"capacity": {"storage": pv["spec"]["capacity"]["storage"]},
                                    "conditions": _resize_conditions(claim, [], keep=False),
                                    "allocatedResourceStatuses": None})


def _condition(claim: dict, kind: str):
    return next((c for c in (claim.get("status") or {}).get("conditions") or []
                 if c["type"] == kind and c.get("status") == "True"), None)


def _resize_conditions(claim: dict, new: list, keep: bool) -> list:
    """MergeResizeConditionsOfPVC: other conditions stay; resize ones are replaced by ``new``
    (and, with ``keep``, the old resize ones that ``new`` does not replace stay too)."""
    replaced = {c["type"] for c in new}
    kept = [c for c in (claim.get("status") or {}).get("conditions") or []
            if c["type"] not in _RESIZE_CONDITIONS or (keep and c["type"] not in replaced)]
    return kept + new


def _in_use(api, claim: dict) -> bool:
    meta = claim["metadata"]
    return any(pod["spec"].get("nodeName") and (pod.get("status") or {}).get("phase") == "Running"
               for pod in api.list("v1", "Pod", meta["namespace"]) if meta["name"] in _claims_of(pod))


def _claims_of(pod: dict) -> list:
    return [v["persistentVolumeClaim"]["claimName"] for v in (pod.get("spec") or {}).get("volumes") or []
            if v.get("persistentVolumeClaim")]


def setup(manager, webhooks) -> None:
    def pod_claims(pod: dict) -> list:
        return [(pod["metadata"]["namespace"], name) for name in _claims_of(pod)]

    manager.add(Controller("csi-resizer", "v1", "PersistentVolumeClaim", reconcile_resize,
                           watches=[Watch("v1", "Pod", pod_claims)]))

"""NodeMaintenanceReconciler (controllers/nodemaintenance_controller.go, v0.20.1), in named steps.

Reconcile: finalizer (event BeginMaintenance) -> initMaintenanceStatus (phase Running, pendingPods,
evictionPods, totalpods) -> the node (missing: phase Failed, lastError) -> owner reference to the
node -> exclude-from-remediation label, taints node.kubernetes.io/unschedulable and medik8s.io/drain, cordon -> drain: evict every pod
kubectl's drain.Helper would (Force, IgnoreAllDaemonSets, DeleteEmptyDirData), which fails while an
eviction is refused or a pod is still there; then lastError, pendingPods and drainProgress are
written and the reconcile comes back after 5 seconds (waitDurationOnDrainError) -> phase Succeeded,
drainProgress 100. Deletion: untaint, uncordon, drop the label (stopNodeMaintenanceImp), then the
finalizer (event RemovedMaintenance). The lease the operator takes on the node is not simulated.
"""

from kubernetes.client.exceptions import ApiException

from lab.controllers.nodemaintenance.kinds import (EXCLUDE_FROM_REMEDIATION, FINALIZER, MAINTENANCE_TAINTS, NM,
                                                   operator_running)
from lab.controllers.runtime import Controller, log, now

WAIT_ON_DRAIN_ERROR = 5.0  # waitDurationOnDrainError
NOT_INSTALLED_RETRY = 10.0


def reconcile(api, nm: dict):
    if not operator_running(api):
        return NOT_INSTALLED_RETRY
    if nm["metadata"].get("deletionTimestamp"):
        return stop_maintenance(api, nm)
    if FINALIZER not in (nm["metadata"].get("finalizers") or []):
        api.add_finalizer(nm, FINALIZER)
        api.event(nm, "Normal", "BeginMaintenance", "Begin a node maintenance")
        return 0.05
    node_name = nm["spec"]["nodeName"]
    if not (nm.get("status") or {}).get("phase"):
        return init_status(api, nm, node_name)
    node = api.get("v1", "Node", node_name)
    if node is None:
        api.event(nm, "Warning", "FailedMaintenance", "Failed a node maintenance")
        return record_error(api, nm, node_name, f'nodes "{node_name}" not found', phase="Failed", retry=None)
    nm = set_owner_reference(api, nm, node)
    start_maintenance(api, node)
    refused = drain(api, node_name)
    if refused:
        return record_error(api, nm, node_name, refused)
    if nm["status"].get("phase") != "Succeeded":
        api.event(nm, "Normal", "SucceedMaintenance", "Node maintenance was succeeded")
    api.patch_status(nm, {"phase": "Succeeded", "drainProgress": 100, "pendingPods": None, "pendingPodsRefs": None,
                          "lastUpdate": now()})
    return None


# --- the steps -------------------------------------------------------------------------------------

def pods_for_deletion(api, node_name: str) -> list:
    """drain.Helper.GetPodsForDeletion with IgnoreAllDaemonSets and Force: all but DaemonSet and mirror pods."""
    pods = api.resource("v1", "Pod").get(field_selector=f"spec.nodeName={node_name}").to_dict().get("items") or []
    return [p for p in pods
            if "kubernetes.io/config.mirror" not in (p["metadata"].get("annotations") or {})
            and not any(o.get("kind") == "DaemonSet" for o in p["metadata"].get("ownerReferences") or [])]


def _pending(pods: list) -> dict:
    return {"pendingPods": [p["metadata"]["name"] for p in pods],
            "pendingPodsRefs": [{"name": p["metadata"]["name"], "namespace": p["metadata"]["namespace"]}
                                for p in pods]}


def init_status(api, nm: dict, node_name: str):
    """initMaintenanceStatus: Running, with the pods up for eviction and all pods of the node."""
    pods = pods_for_deletion(api, node_name)
    total = api.resource("v1", "Pod").get(field_selector=f"spec.nodeName={node_name}").to_dict().get("items") or []
    api.patch_status(nm, {"phase": "Running", "lastUpdate": now(), "evictionPods": len(pods),
                          "totalpods": len(total), **_pending(pods)})
    return 0.05


def set_owner_reference(api, nm: dict, node: dict) -> dict:
    refs = nm["metadata"].get("ownerReferences") or []
    if any(r.get("kind") == "Node" and r.get("uid") == node["metadata"]["uid"] for r in refs):
        return nm
    ref = {"apiVersion": "v1", "kind": "Node", "name": node["metadata"]["name"], "uid": node["metadata"]["uid"],
           "blockOwnerDeletion": False, "controller": False}
    return api.patch(nm, {"metadata": {"ownerReferences": refs + [ref]}})


def _matches(taint: dict, other: dict) -> bool:
    return taint.get("key") == other.get("key") and taint.get("effect") == other.get("effect")


def start_maintenance(api, node: dict) -> None:
    """addExcludeRemediationLabel, AddOrRemoveTaint(true), RunCordonOrUncordon(true).

    addTaints: the maintenance taints first, then the node's others (a patch guarded by the old list).
    """
    taints = node["spec"].get("taints") or []
    labels = node["metadata"].get("labels") or {}
    patch = {}
    if labels.get(EXCLUDE_FROM_REMEDIATION) != "true":
        patch["metadata"] = {"labels": {EXCLUDE_FROM_REMEDIATION: "true"}}
    wanted = [dict(t) for t in MAINTENANCE_TAINTS] + [t for t in taints
                                                      if not any(_matches(t, m) for m in MAINTENANCE_TAINTS)]
    if len(wanted) != len(taints):
        patch.setdefault("spec", {})["taints"] = wanted
    if not node["spec"].get("unschedulable"):
        patch.setdefault("spec", {})["unschedulable"] = True
    if patch:
        patch.setdefault("metadata", {})["resourceVersion"] = node["metadata"]["resourceVersion"]
        api.patch(node, patch)


def drain(api, node_name: str):
    """RunNodeDrain: evict each pod; the first refusal (or a pod not yet gone) is the error, None when drained."""
    error = None
    for pod in pods_for_deletion(api, node_name):
        meta = pod["metadata"]
        if meta.get("deletionTimestamp"):
            error = error or f'pod "{meta["name"]}" in namespace "{meta["namespace"]}" is still being deleted'
            continue
        body = {"apiVersion": "policy/v1", "kind": "Eviction",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]}}
        try:
            api.resource("v1", "Pod").subresources["eviction"].create(body=body, name=meta["name"],
                                                                      namespace=meta["namespace"])
            error = error or f'pod "{meta["name"]}" in namespace "{meta["namespace"]}" is still being deleted'
        except ApiException as refusal:
            if refusal.status == 404:
                continue
            error = error or (f'error when evicting pods/"{meta["name"]}" -n "{meta["namespace"]}": '
                              f'{_message(refusal)}')
    return error


def _message(error: ApiException) -> str:
    import json
    try:
        return json.loads(error.body).get("message") or error.reason
    except (TypeError, ValueError):
        return str(error.reason)


def record_error(api, nm: dict, node_name: str, error: str, phase: str = None, retry=WAIT_ON_DRAIN_ERROR):
    """onReconcileErrorWithRequeue: lastError, the pods still pending, drainProgress."""
    status = {"lastError": error, "lastUpdate": now()}
    if phase:
        status["phase"] = phase
    pods = pods_for_deletion(api, node_name) if api.get("v1", "Node", node_name) else []
    status.update(_pending(pods))
    evictions = (nm.get("status") or {}).get("evictionPods") or 0
    if evictions:
        status["drainProgress"] = max(0, (evictions - len(pods)) * 100 // evictions)
    api.patch_status(nm, status)
    return retry


def stop_maintenance(api, nm: dict):
    """stopNodeMaintenanceOnDeletion: the node is untainted, uncordoned and unlabelled, then the finalizer goes."""
    node = api.get("v1", "Node", nm["spec"]["nodeName"])
    if node is not None:
        taints = [t for t in node["spec"].get("taints") or [] if not any(_matches(t, m) for m in MAINTENANCE_TAINTS)]
        patch = {"spec": {"taints": taints or None, "unschedulable": None},
                 "metadata": {"resourceVersion": node["metadata"]["resourceVersion"]}}
        if (node["metadata"].get("labels") or {}).get(EXCLUDE_FROM_REMEDIATION) == "true":
            patch["metadata"]["labels"] = {EXCLUDE_FROM_REMEDIATION: None}
        api.patch(node, patch)
        api.event(node, "Normal", "UncordonNode", "Uncordon a node")
    if FINALIZER in (nm["metadata"].get("finalizers") or []):
        api.remove_finalizer(nm, FINALIZER)
        api.event(nm, "Normal", "RemovedMaintenance", "Removed a node maintenance")
    return None


def setup(manager, webhooks) -> None:
    manager.add(Controller("node-maintenance-operator", *NM, reconcile, resync_seconds=30))
    log.info("nodemaintenance: controller loaded")

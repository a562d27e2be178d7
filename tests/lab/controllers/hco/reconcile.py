"""HCO's reconcile of the HyperConverged: operands created and kept, status, finalizer."""

import json

from kubernetes.client.exceptions import ApiException

from lab.controllers.conditions import condition_true, set_condition
from lab.controllers.hco.operands import (CDI, CDI_NAME, DIC, FINALIZER, HCO_NAME, KUBEVIRT, KUBEVIRT_NAME, OS_IMAGES,
                                          cron_schedule, delete_boot_sources, desired_cdi, desired_kubevirt,
                                          ensure_boot_sources, operator_csv)
from lab.controllers.patches import merge_patch_to
from lab.controllers.runtime import log, step_delay


# --- HyperConverged ---------------------------------------------------------------------------

KUBEVIRT_OWNED = ("uninstallStrategy", "configuration", "certificateRotateStrategy", "workloadUpdateStrategy",
                  "infra", "workloads")
CDI_OWNED = ("uninstallStrategy", "config", "certConfig", "infra", "workload")


def _put_back(api, operand: dict, wanted: dict, owned: tuple) -> dict:
    """Make the operand's spec fields HCO owns exactly what HCO wants (HCO updates them so)."""
    current = {k: operand["spec"][k] for k in owned if k in operand["spec"]}
    change = merge_patch_to(current, {k: wanted[k] for k in owned if k in wanted})
    if not change or operand["metadata"].get("deletionTimestamp"):
        return operand
    return api.patch(operand, {"spec": change})


def _kubevirt_available(kv) -> bool:
    return bool(kv) and (kv.get("status") or {}).get("phase") == "Deployed" and condition_true(kv, "Available")


def _kubevirt_progressing(kv) -> bool:
    return bool(kv) and (condition_true(kv, "Progressing") or
                         (kv.get("status") or {}).get("observedGeneration") != kv["metadata"].get("generation"))


def _cdi_available(cdi) -> bool:
    return bool(cdi) and (cdi.get("status") or {}).get("phase") == "Deployed"


def _related(obj: dict) -> dict:
    meta = obj["metadata"]
    ref = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
           "resourceVersion": meta["resourceVersion"], "uid": meta["uid"]}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


def _finalize(api, hc: dict):
    namespace = hc["metadata"]["namespace"]
    pending = False
    kv = api.get(*KUBEVIRT, KUBEVIRT_NAME, namespace)
    if kv is not None:
        pending = True
        if not kv["metadata"].get("deletionTimestamp"):
            api.delete(*KUBEVIRT, KUBEVIRT_NAME, namespace)
    cdi = api.get(*CDI, CDI_NAME)
    if cdi is not None:
        pending = True
        if not cdi["metadata"].get("deletionTimestamp"):
            api.delete(*CDI, CDI_NAME)
    boot_namespace = hc["spec"].get("commonBootImageNamespace") or OS_IMAGES
    if not delete_boot_sources(api, boot_namespace):
        pending = True
    if pending:
        conditions = set_condition((hc.get("status") or {}).get("conditions"), "Available", "False",
                                   "Deleting", "HyperConverged is being deleted")
        api.patch_status(hc, {"conditions": conditions}, guarded=True)
        return step_delay()
    api.remove_finalizer(hc, FINALIZER)
    return None


def reconcile_hyperconverged(api, hc: dict):
    meta = hc["metadata"]
    if meta["name"] != HCO_NAME:
        return None  # HCO watches only its one NamespacedName
    csv = operator_csv(api, meta["namespace"])
    if csv is None:
        return 10.0  # no operator runs in this namespace (not installed, or its CSV is gone)
    if meta.get("deletionTimestamp"):
        if FINALIZER in (meta.get("finalizers") or []):
            return _finalize(api, hc)
        return None
    version = csv["spec"].get("version", "")
    hc = api.add_finalizer(hc, FINALIZER)

    namespace = meta["namespace"]
    # Operands: create, or put HCO's opinion back (HCO owns their spec).
    kv = api.get(*KUBEVIRT, KUBEVIRT_NAME, namespace)
    wanted_kv = desired_kubevirt(hc, version)
    if kv is None:
        kv = api.create_if_absent(wanted_kv)
    else:
        kv = _put_back(api, kv, wanted_kv["spec"], KUBEVIRT_OWNED)
    cdi = api.get(*CDI, CDI_NAME)
    wanted_cdi = desired_cdi(hc, version)
    if cdi is None:
        cdi = api.create_if_absent(wanted_cdi)
    else:
        cdi = _put_back(api, cdi, wanted_cdi["spec"], CDI_OWNED)
    if not hc["spec"].get("evictionStrategy"):
        workers = [n for n in api.list("v1", "Node")
                   if "node-role.kubernetes.io/worker" in (n["metadata"].get("labels") or {})]
        # HCO defaults it: LiveMigrate on a highly available cluster, None on a single node. (Upstream its
        # mutating webhook does; here an update, which HCO's validating webhook checks by dry-running the
        # operands' update, so it comes once they exist.)
        try:
            api.patch(hc, {"spec": {"evictionStrategy": "LiveMigrate" if len(workers) > 1 else "None"}}, guarded=True)
        except ApiException as error:  # e.g. the dry-run update of an operand met a conflict: next round
            log.info("hco: defaulting evictionStrategy refused (%s); retrying", error.reason)
        return 0.05
    boot_namespace = hc["spec"].get("commonBootImageNamespace") or OS_IMAGES
    templates = ensure_boot_sources(api, hc, version, boot_namespace)

    status = dict(hc.get("status") or {})
    conditions = status.get("conditions") or []
    generation = meta.get("generation")
    ready = _kubevirt_available(kv) and _cdi_available(cdi)
    common = dict(observedGeneration=generation)
    if not conditions:
        for type_, state, reason, message in (
                ("ReconcileComplete", "Unknown", "Init", "Initializing HyperConverged cluster"),
                ("Available", "False", "Init", "Initializing HyperConverged cluster"),
                ("Progressing", "True", "Init", "Initializing HyperConverged cluster"),
                ("Degraded", "False", "Init", "Initializing HyperConverged cluster"),
                ("Upgradeable", "Unknown", "Init", "Initializing HyperConverged cluster")):
            conditions = set_condition(conditions, type_, state, reason, message, **common)
    elif not ready:
        missing = "KubeVirt" if not _kubevirt_available(kv) else "CDI"
        reason = "KubeVirtNotAvailable" if missing == "KubeVirt" else "CDINotAvailable"
        conditions = set_condition(conditions, "ReconcileComplete", "True", "ReconcileCompleted",
                                   "Reconcile completed successfully", **common)
        conditions = set_condition(conditions, "Available", "False", reason,
                                   f"{missing} is not available: Deploying", **common)
        conditions = set_condition(conditions, "Progressing", "True", reason.replace("NotAvailable", "Progressing"),
                                   f"{missing} is progressing: Deploying", **common)
        conditions = set_condition(conditions, "Degraded", "False", "ReconcileCompleted",
                                   "Reconcile completed successfully", **common)
        conditions = set_condition(conditions, "Upgradeable", "False", reason,
                                   f"{missing} is not upgradeable: Deploying", **common)
    elif _kubevirt_progressing(kv):
        conditions = set_condition(conditions, "ReconcileComplete", "True", "ReconcileCompleted",
                                   "Reconcile completed successfully", **common)
        conditions = set_condition(conditions, "Available", "True", "ReconcileCompleted",
                                   "Reconcile completed successfully", **common)
        conditions = set_condition(conditions, "Progressing", "True", "KubeVirtProgressing",
                                   "KubeVirt is progressing: DeploymentInProgress", **common)
        conditions = set_condition(conditions, "Degraded", "False", "ReconcileCompleted",
                                   "Reconcile completed successfully", **common)
        conditions = set_condition(conditions, "Upgradeable", "False", "KubeVirtProgressing",
                                   "KubeVirt is progressing: DeploymentInProgress", **common)
    else:
        for type_, state in (("ReconcileComplete", "True"), ("Available", "True"), ("Progressing", "False"),
                             ("Degraded", "False"), ("Upgradeable", "True")):
            conditions = set_condition(conditions, type_, state, "ReconcileCompleted",
                                       "Reconcile completed successfully", **common)
    nodes = api.list("v1", "Node")
    workers = [n for n in nodes if "node-role.kubernetes.io/worker" in (n["metadata"].get("labels") or {})]
    masters = [n for n in nodes if "node-role.kubernetes.io/control-plane" in (n["metadata"].get("labels") or {})]
    related = [_related(o) for o in (kv, cdi) if o]
    for template, _, _ in templates:
        dic = api.get(*DIC, template["metadata"]["name"], boot_namespace)
        if dic:
            related.append(_related(dic))
    dic_status = []
    for template, common_template, modified in templates:
        entry = {"metadata": {k: v for k, v in template["metadata"].items() if k in ("name", "labels", "annotations")},
                 "spec": template["spec"], "status": {"commonTemplate": common_template}}
        if modified:
            entry["status"]["modified"] = True
        dic_status.append(entry)
    new = {
        "conditions": conditions, "observedGeneration": generation, "relatedObjects": related,
        "systemHealthStatus": "healthy" if ready else "warning",
        "infrastructureHighlyAvailable": len(workers) > 1,
        "nodeInfo": {"controlPlaneArchitectures": sorted({n["status"]["nodeInfo"]["architecture"] for n in masters}),
                     "workloadsArchitectures": sorted({n["status"]["nodeInfo"]["architecture"] for n in workers})},
        "dataImportCronTemplates": dic_status,
        "dataImportSchedule": cron_schedule(hc, "schedule"),
    }
    settled = ready and not _kubevirt_progressing(kv)
    if ready:
        new["versions"] = [{"name": "operator", "version": version}]
    old = {k: status.get(k) for k in new}
    comparable = lambda d: json.dumps({k: v for k, v in d.items() if k != "relatedObjects"},  # noqa: E731
                                      sort_keys=True, default=str)
    if comparable(old) != comparable(new) or [r["name"] for r in old.get("relatedObjects") or []] != \
            [r["name"] for r in related]:
        api.patch_status(hc, new, guarded=True)
    return None if settled else step_delay()

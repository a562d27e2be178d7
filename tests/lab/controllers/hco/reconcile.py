"""HCO's reconcile of the HyperConverged: operands created and kept, status, finalizer."""

import json
from dataclasses import dataclass, field
from typing import Optional

from kubernetes.client.exceptions import ApiException

from lab.controllers.conditions import condition_true, set_condition
from lab.controllers.hco.operands import (CDI, CDI_NAME, DIC, FINALIZER, HCO_NAME, KUBEVIRT, KUBEVIRT_NAME, OS_IMAGES,
                                          cron_schedule, delete_boot_sources, desired_cdi, desired_kubevirt,
                                          ensure_boot_sources, operator_csv)
from lab.controllers.patches import merge_patch_to
from lab.controllers.runtime import CONTINUE, log, run_steps, step_delay


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


@dataclass
class _Reconcile:
    """What one reconcile of the HyperConverged has read and made so far."""
    hc: dict
    version: str
    kv: Optional[dict] = None
    cdi: Optional[dict] = None
    templates: list = field(default_factory=list)

    @property
    def boot_namespace(self) -> str:
        return self.hc["spec"].get("commonBootImageNamespace") or OS_IMAGES


def reconcile_hyperconverged(api, hc: dict):
    meta = hc["metadata"]
    if meta["name"] != HCO_NAME:
        return None  # HCO watches only its one NamespacedName
    csv = operator_csv(api, meta["namespace"])
    if csv is None:
        return 10.0  # no operator runs in this namespace (not installed, or its CSV is gone)
    return run_steps((_finalize_if_deleted, _protect, _ensure_operands, _default_eviction_strategy,
                      _ensure_boot_sources, _report_status), api, _Reconcile(hc, csv["spec"].get("version", "")))


def _finalize_if_deleted(api, r: _Reconcile):
    meta = r.hc["metadata"]
    if not meta.get("deletionTimestamp"):
        return CONTINUE
    return _finalize(api, r.hc) if FINALIZER in (meta.get("finalizers") or []) else None


def _protect(api, r: _Reconcile):
    r.hc = api.add_finalizer(r.hc, FINALIZER)
    return CONTINUE


def _ensure_operands(api, r: _Reconcile):
    """The KubeVirt and CDI CRs: created, or HCO's opinion put back (HCO owns their spec)."""
    kv = api.get(*KUBEVIRT, KUBEVIRT_NAME, r.hc["metadata"]["namespace"])
    wanted_kv = desired_kubevirt(r.hc, r.version)
    r.kv = api.create_if_absent(wanted_kv) if kv is None else _put_back(api, kv, wanted_kv["spec"], KUBEVIRT_OWNED)
    cdi = api.get(*CDI, CDI_NAME)
    wanted_cdi = desired_cdi(r.hc, r.version)
    r.cdi = api.create_if_absent(wanted_cdi) if cdi is None else _put_back(api, cdi, wanted_cdi["spec"], CDI_OWNED)
    return CONTINUE


def _default_eviction_strategy(api, r: _Reconcile):
    """HCO defaults evictionStrategy: LiveMigrate on a highly available cluster, None on a single node.
    (Upstream its mutating webhook does; here an update, which HCO's validating webhook checks by
    dry-running the operands' update, so it comes once they exist.)"""
    if r.hc["spec"].get("evictionStrategy"):
        return CONTINUE
    workers = [n for n in api.list("v1", "Node")
               if "node-role.kubernetes.io/worker" in (n["metadata"].get("labels") or {})]
    try:
        api.patch(r.hc, {"spec": {"evictionStrategy": "LiveMigrate" if len(workers) > 1 else "None"}}, guarded=True)
    except ApiException as error:  # e.g. the dry-run update of an operand met a conflict: next round
        log.info("hco: defaulting evictionStrategy refused (%s); retrying", error.reason)
    return 0.05


def _ensure_boot_sources(api, r: _Reconcile):
    r.templates = ensure_boot_sources(api, r.hc, r.version, r.boot_namespace)
    return CONTINUE


def _report_status(api, r: _Reconcile):
    status = dict(r.hc.get("status") or {})
    generation = r.hc["metadata"].get("generation")
    ready = _kubevirt_available(r.kv) and _cdi_available(r.cdi)
    nodes = api.list("v1", "Node")
    workers = [n for n in nodes if "node-role.kubernetes.io/worker" in (n["metadata"].get("labels") or {})]
    masters = [n for n in nodes if "node-role.kubernetes.io/control-plane" in (n["metadata"].get("labels") or {})]
    related = _related_objects(api, r)
    new = {
        "conditions": _conditions(status.get("conditions") or [], r.kv, ready, generation),
        "observedGeneration": generation, "relatedObjects": related,
        "systemHealthStatus": "healthy" if ready else "warning",
        "infrastructureHighlyAvailable": len(workers) > 1,
        "nodeInfo": {"controlPlaneArchitectures": sorted({n["status"]["nodeInfo"]["architecture"] for n in masters}),
                     "workloadsArchitectures": sorted({n["status"]["nodeInfo"]["architecture"] for n in workers})},
        "dataImportCronTemplates": _data_import_cron_templates(r.templates),
        "dataImportSchedule": cron_schedule(r.hc, "schedule"),
    }
    settled = ready and not _kubevirt_progressing(r.kv)
    if ready:
        new["versions"] = [{"name": "operator", "version": r.version}]
    old = {k: status.get(k) for k in new}
    if _comparable(old) != _comparable(new) or [o["name"] for o in old.get("relatedObjects") or []] != \
            [o["name"] for o in related]:
        api.patch_status(r.hc, new, guarded=True)
    return None if settled else step_delay()


def _comparable(status: dict) -> str:
    return json.dumps({k: v for k, v in status.items() if k != "relatedObjects"}, sort_keys=True, default=str)


def _conditions(conditions: list, kv, ready: bool, generation) -> list:
    """HCO's five conditions: initializing, waiting for an operand, KubeVirt progressing, or all done."""
    common = dict(observedGeneration=generation)
    if not conditions:
        for type_, state, reason, message in (
                ("ReconcileComplete", "Unknown", "Init", "Initializing HyperConverged cluster"),
                ("Available", "False", "Init", "Initializing HyperConverged cluster"),
                ("Progressing", "True", "Init", "Initializing HyperConverged cluster"),
                ("Degraded", "False", "Init", "Initializing HyperConverged cluster"),
                ("Upgradeable", "Unknown", "Init", "Initializing HyperConverged cluster")):
            conditions = set_condition(conditions, type_, state, reason, message, **common)
        return conditions
    completed = ("ReconcileCompleted", "Reconcile completed successfully")
    if not ready:
        missing = "KubeVirt" if not _kubevirt_available(kv) else "CDI"
        reason = "KubeVirtNotAvailable" if missing == "KubeVirt" else "CDINotAvailable"
        states = (("ReconcileComplete", "True", *completed),
                  ("Available", "False", reason, f"{missing} is not available: Deploying"),
                  ("Progressing", "True", reason.replace("NotAvailable", "Progressing"),
                   f"{missing} is progressing: Deploying"),
                  ("Degraded", "False", *completed),
                  ("Upgradeable", "False", reason, f"{missing} is not upgradeable: Deploying"))
    elif _kubevirt_progressing(kv):
        progressing = ("KubeVirtProgressing", "KubeVirt is progressing: DeploymentInProgress")
        states = (("ReconcileComplete", "True", *completed), ("Available", "True", *completed),
                  ("Progressing", "True", *progressing), ("Degraded", "False", *completed),
                  ("Upgradeable", "False", *progressing))
    else:
        states = (("ReconcileComplete", "True", *completed), ("Available", "True", *completed),
                  ("Progressing", "False", *completed), ("Degraded", "False", *completed),
                  ("Upgradeable", "True", *completed))
    for type_, state, reason, message in states:
        conditions = set_condition(conditions, type_, state, reason, message, **common)
    return conditions


def _related_objects(api, r: _Reconcile) -> list:
    related = [_related(o) for o in (r.kv, r.cdi) if o]
    for template, _, _ in r.templates:
        dic = api.get(*DIC, template["metadata"]["name"], r.boot_namespace)
        if dic:
            related.append(_related(dic))
    return related


def _data_import_cron_templates(templates: list) -> list:
    out = []
    for template, common_template, modified in templates:
        entry = {"metadata": {k: v for k, v in template["metadata"].items() if k in ("name", "labels", "annotations")},
                 "spec": template["spec"], "status": {"commonTemplate": common_template}}
        if modified:
            entry["status"]["modified"] = True
        out.append(entry)
    return out

"""The catalog operator's InstallPlan side: approval, then the bundle's CSV in the namespace."""

from lab import catalog
from lab.controllers.olm.kinds import OPERATORS_V1A1, package_label
from lab.controllers.runtime import now, step_delay


# --- InstallPlan -----------------------------------------------------------------------------

def _plan_steps(entry_name: str, package_name: str, namespace: str, status: str) -> list:
    owned = (catalog.bundle(package_name, entry_name) or {}).get("owned") or catalog.package(package_name)["owned"]
    steps = [{"resolving": entry_name, "status": status,
              "resource": {"group": "operators.coreos.com", "version": "v1alpha1",
                           "kind": "ClusterServiceVersion", "name": entry_name,
                           "sourceName": catalog.CATALOG_NAME, "sourceNamespace": catalog.CATALOG_NAMESPACE}}]
    for crd in owned:
        steps.append({"resolving": entry_name, "status": "Present" if status != "Unknown" else "Unknown",
                      "resource": {"group": "apiextensions.k8s.io", "version": "v1",
                                   "kind": "CustomResourceDefinition", "name": crd["name"],
                                   "sourceName": catalog.CATALOG_NAME,
                                   "sourceNamespace": catalog.CATALOG_NAMESPACE}})
    return steps


def _package_of(csv_name: str):
    for name, pkg in catalog.PACKAGES.items():
        if catalog.bundle(name, csv_name):
            return name
    return None


def reconcile_install_plan(api, plan: dict):
    if plan["metadata"].get("deletionTimestamp"):
        return None
    namespace = plan["metadata"]["namespace"]
    spec = plan["spec"]
    status = plan.get("status") or {}
    phase = status.get("phase") or ""
    csv_name = spec["clusterServiceVersionNames"][0]
    package_name = _package_of(csv_name)
    if phase == "":
        api.patch_status(plan, {
            "phase": "Planning", "catalogSources": [catalog.CATALOG_NAME],
            "plan": _plan_steps(csv_name, package_name, namespace, "Unknown") if package_name else [],
            "conditions": [{"type": "Installed", "status": "Unknown", "lastTransitionTime": now(),
                            "lastUpdateTime": now()}]}, guarded=True)
        return step_delay()
    if phase in ("Planning", "RequiresApproval"):
        if not spec.get("approved"):
            if phase != "RequiresApproval":
                api.patch_status(plan, {"phase": "RequiresApproval", "conditions": [
                    {"type": "Installed", "status": "False", "reason": "RequiresApproval",
                     "lastTransitionTime": now(), "lastUpdateTime": now()}]}, guarded=True)
            return None  # an update of spec.approved brings it back
        api.patch_status(plan, {"phase": "Installing", "startTime": now(), "conditions": [
            {"type": "Installed", "status": "Unknown", "reason": "Installing",
             "lastTransitionTime": now(), "lastUpdateTime": now()}]}, guarded=True)
        return step_delay()
    if phase == "Installing":
        entry = catalog.bundle(package_name, csv_name) if package_name else None
        if entry is None:
            api.patch_status(plan, {"phase": "Failed", "message": f"bundle {csv_name} not found in catalog"},
                             guarded=True)
            return None
        bundle = catalog.csv_spec(package_name, entry)
        csv = {"apiVersion": OPERATORS_V1A1, "kind": "ClusterServiceVersion",
               "metadata": {"name": csv_name, "namespace": namespace,
                            "labels": {**bundle["labels"], package_label(package_name, namespace): ""},
                            "annotations": dict(bundle["annotations"])},
               "spec": bundle["spec"]}
        api.create_if_absent(csv)
        api.patch_status(plan, {
            "phase": "Complete", "plan": _plan_steps(csv_name, package_name, namespace, "Created"),
            "conditions": [{"type": "Installed", "status": "True", "lastTransitionTime": now(),
                            "lastUpdateTime": now()}]}, guarded=True)
        return None
    return None

"""The OperatorGroup controller: target namespaces, their labels, provided APIs."""

from lab.controllers.objects import selector_matches
from lab.controllers.olm.kinds import CSV, OG_LABEL_PREFIX
from lab.controllers.runtime import now


# --- OperatorGroup ---------------------------------------------------------------------------

def _target_namespaces(api, og: dict) -> list:
    spec = og.get("spec") or {}
    if spec.get("targetNamespaces"):
        return sorted(set(spec["targetNamespaces"]))
    if spec.get("selector"):
        return sorted(ns["metadata"]["name"] for ns in api.list("v1", "Namespace")
                      if selector_matches(ns["metadata"].get("labels") or {}, spec["selector"]))
    return [""]  # AllNamespaces


def _provided_apis(api, namespace: str) -> str:
    apis = []
    for csv in api.list(*CSV, namespace=namespace):
        for owned in ((csv["spec"].get("customresourcedefinitions") or {}).get("owned") or []):
            group = owned["name"].split(".", 1)[1]
            apis.append(f"{owned['kind']}.{owned['version']}.{group}")
    return ",".join(sorted(set(apis)))


def reconcile_operator_group(api, og: dict):
    if og["metadata"].get("deletionTimestamp"):
        return None
    namespaces = _target_namespaces(api, og)
    label = OG_LABEL_PREFIX + og["metadata"]["uid"]
    if namespaces != [""]:
        for name in namespaces:
            ns = api.get("v1", "Namespace", name)
            if ns and label not in (ns["metadata"].get("labels") or {}):
                api.patch(ns, {"metadata": {"labels": {label: ""}}})
    provided = _provided_apis(api, og["metadata"]["namespace"])
    annotations = og["metadata"].get("annotations") or {}
    if annotations.get("olm.providedAPIs", "") != provided:
        og = api.patch(og, {"metadata": {"annotations": {"olm.providedAPIs": provided}}}, guarded=True)
    status = og.get("status") or {}
    if status.get("namespaces") != namespaces:
        api.patch_status(og, {"namespaces": namespaces, "lastUpdated": now()}, guarded=True)
    return None


def namespace_label_selector(og: dict):
    """OLM's OperatorGroup.NamespaceLabelSelector(): nil for AllNamespaces."""
    if (og.get("status") or {}).get("namespaces") in (None, [""]) and not (og.get("spec") or {}).get(
            "targetNamespaces") and not (og.get("spec") or {}).get("selector"):
        return None
    return {"matchLabels": {OG_LABEL_PREFIX + og["metadata"]["uid"]: ""}}

"""Where a virt-launcher pod may run: the node selector, required node affinity and taints
the kube-scheduler checks, and the node facts virt-controller reads."""

from typing import Optional

from lab.controllers.objects import expression_matches


def node_selector_matches(labels: dict, node_selector: Optional[dict]) -> bool:
    return all((labels or {}).get(k) == v for k, v in (node_selector or {}).items())


def node_affinity_matches(node: dict, affinity: Optional[dict]) -> bool:
    """requiredDuringSchedulingIgnoredDuringExecution of a pod's nodeAffinity."""
    required = (((affinity or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in terms:
        ok = all(expression_matches(labels, e) for e in term.get("matchExpressions") or [])
        ok = ok and all(expression_matches(fields, e) for e in term.get("matchFields") or [])
        if ok:
            return True
    return False


def tolerates(taints, tolerations) -> bool:
    for taint in taints or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(_tolerates(t, taint) for t in tolerations or []):
            return False
    return True


def _tolerates(toleration: dict, taint: dict) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and toleration.get("value", "") == taint.get("value", "")


def node_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def node_address(node: dict) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return address["address"]
    return ""

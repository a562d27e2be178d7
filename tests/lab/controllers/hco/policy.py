"""HCO's namespace rule: the ValidatingAdmissionPolicy and binding its admission-policy controller keeps."""

from lab.controllers.hco.operands import HCO_NAME, MANAGED_BY, operator_csvs


# --- the namespace rule: a ValidatingAdmissionPolicy the API server enforces ----------------------

POLICY = ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy")
POLICY_BINDING = ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding")
POLICY_NAME = "hyperconverged-namespace-policy"
POLICY_BINDING_NAME = POLICY_NAME + "-binding"
HC_CRD = "hyperconvergeds.hco.kubevirt.io"


def _policy_owner(api):
    """The HCO whose namespace the policy names: upstream every running HCO writes its own
    OPERATOR_NAMESPACE into the one cluster-wide policy (so two of them would take turns); the
    lab keeps the oldest Succeeded CSV's, deterministically. None while no HCO runs."""
    csvs = sorted(operator_csvs(api), key=lambda c: (c["metadata"]["creationTimestamp"], c["metadata"]["namespace"]))
    return csvs[0] if csvs else None


def desired_policy(namespace: str, version: str, crd: dict) -> tuple:
    """controllers/admissionpolicy/resources.go (HCO v1.18.1): the policy and its binding."""
    labels = {"app": HCO_NAME, MANAGED_BY: "hco-operator", "app.kubernetes.io/version": version,
              "app.kubernetes.io/part-of": "hyperconverged-cluster", "app.kubernetes.io/component": "deployment"}
    owner = {"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
             "name": crd["metadata"]["name"], "uid": crd["metadata"]["uid"], "controller": True,
             "blockOwnerDeletion": True}
    policy = {
        "apiVersion": POLICY[0], "kind": POLICY[1],
        "metadata": {"name": POLICY_NAME, "labels": labels, "ownerReferences": [owner]},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {
                "matchPolicy": "Equivalent", "namespaceSelector": {}, "objectSelector": {},
                "resourceRules": [{"apiGroups": ["hco.kubevirt.io"], "apiVersions": ["v1", "v1beta1"],
                                   "resources": ["hyperconvergeds"], "scope": "Namespaced",
                                   "operations": ["CREATE"]}]},
            "validations": [{"expression": f"request.namespace == '{namespace}'",
                             "message": f"HyperConverged CR can only be created in the '{namespace}' namespace."}],
        },
    }
    binding = {
        "apiVersion": POLICY_BINDING[0], "kind": POLICY_BINDING[1],
        "metadata": {"name": POLICY_BINDING_NAME, "labels": dict(labels), "ownerReferences": [dict(owner)]},
        "spec": {"policyName": POLICY_NAME, "validationActions": ["Deny"]},
    }
    return policy, binding


def _contains(found, wanted) -> bool:
    """Whether ``found`` (as the API server defaulted it) holds everything of ``wanted``."""
    if isinstance(wanted, dict):
        return isinstance(found, dict) and all(_contains(found.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, list):
        return isinstance(found, list) and len(found) == len(wanted) and all(
            _contains(f, w) for f, w in zip(found, wanted))
    return found == wanted


def _ensure_policy_object(api, wanted: dict) -> None:
    """admission_policy_controller.go reconcilePolicy/reconcileBinding: create, or put spec,
    ownerReferences and labels back."""
    kind = (wanted["apiVersion"], wanted["kind"])
    found = api.get(*kind, wanted["metadata"]["name"])
    if found is None:
        api.create_if_absent(wanted)
        return
    meta = found["metadata"]
    if _contains(found["spec"], wanted["spec"]) and meta.get("ownerReferences") == wanted["metadata"][
            "ownerReferences"] and _contains(meta.get("labels") or {}, wanted["metadata"]["labels"]):
        return
    found["spec"] = wanted["spec"]
    meta["ownerReferences"] = wanted["metadata"]["ownerReferences"]
    meta["labels"] = {**(meta.get("labels") or {}), **wanted["metadata"]["labels"]}
    api.resource(*kind).replace(body=found)  # a conflict: the Manager reconciles again on fresh state


def ensure_admission_policy(api) -> None:
    csv = _policy_owner(api)
    if csv is None:
        return  # no HCO runs; what an earlier one made stays (it is owned by the CRD, not the operator)
    crd = api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", HC_CRD)
    if crd is None:
        return
    for wanted in desired_policy(csv["metadata"]["namespace"], csv["spec"].get("version", ""), crd):
        _ensure_policy_object(api, wanted)


def reconcile_policy(api, policy: dict):
    if policy["metadata"]["name"] == POLICY_NAME:
        ensure_admission_policy(api)
    return None

"""Names the operator's controller and webhook share (api/v1beta1/nodemaintenance_types.go, v0.20.1)."""

NM = ("nodemaintenance.medik8s.io/v1beta1", "NodeMaintenance")
CSV = ("operators.coreos.com/v1alpha1", "ClusterServiceVersion")
PACKAGE = "node-maintenance-operator"
FINALIZER = "foregroundDeleteNodeMaintenance"
# controllers/taint.go maintenanceTaints
MAINTENANCE_TAINTS = ({"key": "node.kubernetes.io/unschedulable", "effect": "NoSchedule"},
                      {"key": "medik8s.io/drain", "effect": "NoSchedule"})
EXCLUDE_FROM_REMEDIATION = "remediation.medik8s.io/exclude-from-remediation"  # medik8s/common labels
WEBHOOK_PATH = "/validate-nodemaintenance-medik8s-io-v1beta1-nodemaintenance"


def operator_running(api) -> bool:
    """A Succeeded CSV of the operator: without it no controller and no webhook acts."""
    return any(c["metadata"]["name"].startswith(PACKAGE + ".") and (c.get("status") or {}).get("phase") == "Succeeded"
               for c in api.list(*CSV))

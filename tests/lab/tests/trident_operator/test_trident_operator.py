"""The simulated trident-operator, in a lab that starts without Trident (LAB_TRIDENT=operator).

Upstream: NetApp/trident v26.06.0, `operator/controllers/orchestrator/controller.go` (reconcile,
reconcileTridentNotPresent, controllingCRBasedReconcile, installTridentAndUpdateStatus,
updateOtherCRs), `operator/controllers/orchestrator/installer/installer.go` (setInstallationParams,
logFormatPrechecks), `internal/nodeprep/protocol/protocols.go` (ValidateProtocols),
`operator/crd/apis/netapp/v1/tridentorchestrator.go` (the status values) and
`frontend/csi/node_server.go` (nodeGetInfo: the services a TridentNode reports). The tests run in
file order on one lab: the operator's install, then what it refuses, then its upgrade.
"""

import time

CSV = ("operators.coreos.com/v1alpha1", "ClusterServiceVersion")
SUB = ("operators.coreos.com/v1alpha1", "Subscription")
PLAN = ("operators.coreos.com/v1alpha1", "InstallPlan")
TORC = ("trident.netapp.io/v1", "TridentOrchestrator")
TRIDENT = "trident"
OLD, NEW = "trident-operator.v26.2.1", "trident-operator.v26.6.0"


def _status(obj):
    return (obj.get("status") or {}).get("status")


def _orchestrator(name, **spec):
    return {"apiVersion": TORC[0], "kind": TORC[1], "metadata": {"name": name},
            "spec": {"namespace": TRIDENT, "nodePrep": ["iscsi"], **spec}}


def _events(kube, name, *wanted, timeout=30):
    """The (reason, message) of the events on a TridentOrchestrator, once all ``wanted`` are among them
    (the operator records an event just after it writes the status)."""
    deadline = time.monotonic() + timeout
    while True:
        events = [(e["reason"], e["message"]) for e in kube.list("v1", "Event", "default")
                  if e["involvedObject"]["name"] == name]
        if all(event in events for event in wanted) or time.monotonic() > deadline:
            return events
        time.sleep(0.2)


def test_the_cluster_has_no_trident_and_an_orchestrator_waits_for_the_operator(kube):
    """controller.go: only the operator writes TridentOrchestrator status; without it the CR stays as created."""
    assert kube.get("storage.k8s.io/v1", "CSIDriver", "csi.trident.netapp.io") is None
    assert kube.list("trident.netapp.io/v1", "TridentVersion") == []
    kube.apply(_orchestrator("trident"))
    time.sleep(2)
    assert _status(kube.get(*TORC, "trident")) is None


def test_the_operator_installs_trident_with_node_prep(kube):
    """reconcileTridentNotPresent -> installTridentAndUpdateStatus: Installing, then Installed "Trident installed"
    with the operator's version; node prep for iSCSI (protocols.go) leaves iSCSI running on every node, which
    each TridentNode reports (node_server.go nodeGetInfo). A Trident installed another way (tridentctl: a CSIDriver
    no TridentOrchestrator owns) is removed first (removeNonTorcBasedCSIInstallation)."""
    kube.apply({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": TRIDENT}})
    kube.apply({"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {"name": "csi.trident.netapp.io"},
                "spec": {"attachRequired": True}})
    kube.apply({"apiVersion": "operators.coreos.com/v1", "kind": "OperatorGroup",
                "metadata": {"name": "trident", "namespace": TRIDENT}, "spec": {"targetNamespaces": [TRIDENT]}})
    kube.apply({"apiVersion": SUB[0], "kind": SUB[1], "metadata": {"name": "trident-operator", "namespace": TRIDENT},
                "spec": {"name": "trident-operator", "channel": "stable", "source": "redhat-operators",
                         "sourceNamespace": "openshift-marketplace", "installPlanApproval": "Manual",
                         "startingCSV": OLD}})
    plan = kube.wait(*SUB, "trident-operator", TRIDENT, lambda s: (s.get("status") or {}).get("installPlanRef"),
                     "an InstallPlan")["status"]["installPlanRef"]["name"]
    kube.apply({"apiVersion": PLAN[0], "kind": PLAN[1], "metadata": {"name": plan, "namespace": TRIDENT},
                "spec": {"approved": True}})
    torc = kube.wait(*TORC, "trident", None, lambda t: _status(t) == "Installed", "Installed")
    assert torc["status"]["message"] == "Trident installed"
    assert torc["status"]["version"] == "26.02.1" and torc["status"]["namespace"] == TRIDENT
    assert torc["status"]["currentInstallationParams"]["nodePrep"] == ["iscsi"]
    removing = ("Installing", "Removing a non-Trident Orchestrator based CSI Trident installation found in the "
                              "namespace 'trident'.")
    wanted = [("Installing", "Installing Trident"), removing, ("Installed", "Trident installed")]
    events = _events(kube, "trident", *wanted)
    assert all(event in events for event in wanted), events
    driver = kube.get("storage.k8s.io/v1", "CSIDriver", "csi.trident.netapp.io")
    assert driver["metadata"]["ownerReferences"][0]["kind"] == "TridentOrchestrator"
    assert kube.get("trident.netapp.io/v1", "TridentVersion", "trident", TRIDENT)["trident_version"] == "26.02.1"
    nodes = kube.list("trident.netapp.io/v1", "TridentNode", TRIDENT)
    assert len(nodes) == len(kube.list("v1", "Node"))
    assert all(node["hostInfo"]["services"] == ["iSCSI"] for node in nodes)


def test_a_second_orchestrator_is_bound_to_the_first(kube):
    """updateOtherCRs: every CR but the controlling one gets Error "Trident is bound to another CR '<name>'"."""
    kube.apply(_orchestrator("trident-two", namespace="trident-two"))
    second = kube.wait(*TORC, "trident-two", None, lambda t: _status(t) == "Error", "Error")
    assert second["status"]["message"] == "Trident is bound to another CR 'trident'"
    assert _status(kube.get(*TORC, "trident")) == "Installed"
    assert kube.get("v1", "Namespace", "trident-two") is None
    kube.delete(*TORC, "trident-two")


def test_node_prep_the_installer_refuses_fails_the_orchestrator(kube):
    """installer.go setInstallationParams -> protocol.ValidateProtocols: one protocol, iSCSI; the controller reports
    "Failed to install Trident; err: ..." (installTridentAndUpdateStatus). Fixing the spec installs again."""
    kube.apply(_orchestrator("trident", nodePrep=["nvme"]))
    failed = kube.wait(*TORC, "trident", None, lambda t: _status(t) == "Failed", "Failed")
    assert failed["status"]["message"] == "Failed to install Trident; err: '[nvme]' is not a valid node prep protocol"
    kube.apply(_orchestrator("trident", nodePrep=["iscsi", "nvme"]))
    failed = kube.wait(*TORC, "trident", None, lambda t: "only one protocol" in t["status"]["message"], "refused")
    assert failed["status"]["message"].endswith("node prep protocol set to '[iscsi nvme]'")
    kube.apply(_orchestrator("trident", nodePrep=["iscsi"], logFormat="xml"))
    kube.wait(*TORC, "trident", None, lambda t: t["status"]["message"].endswith("'xml' is not a valid log format"),
              "refused")
    kube.apply(_orchestrator("trident", nodePrep=["iscsi"], logFormat="json"))
    torc = kube.wait(*TORC, "trident", None, lambda t: _status(t) == "Installed", "Installed")
    assert torc["status"]["currentInstallationParams"]["logFormat"] == "json"


def test_a_namespace_change_fails(kube):
    """controllingCRBasedReconcile: a spec.namespace other than status.namespace is Failed, nothing moves."""
    kube.apply(_orchestrator("trident", namespace="elsewhere", logFormat="json"))
    failed = kube.wait(*TORC, "trident", None, lambda t: _status(t) == "Failed", "Failed")
    assert failed["status"]["message"] == ("Operator cannot proceed with the installation due to namespace change "
                                           "from `trident` to `elsewhere`; namespace change is not allowed.")
    kube.apply(_orchestrator("trident", namespace=TRIDENT, logFormat="json"))
    kube.wait(*TORC, "trident", None, lambda t: _status(t) == "Installed", "Installed")


def test_an_operator_upgrade_updates_trident(kube):
    """controllingCRBasedReconcile: a new operator version sets Updating "Updating Trident", then installs its
    own version (Installed with the new status.version)."""
    plan = kube.wait(*SUB, "trident-operator", TRIDENT,
                     lambda s: (s.get("status") or {}).get("currentCSV") == NEW, "the upgrade offered")
    kube.apply({"apiVersion": PLAN[0], "kind": PLAN[1],
                "metadata": {"name": plan["status"]["installPlanRef"]["name"], "namespace": TRIDENT},
                "spec": {"approved": True}})
    torc = kube.wait(*TORC, "trident", None, lambda t: t["status"].get("version") == "26.06.0"
                     and _status(t) == "Installed", "the new version", timeout=90)
    assert ("Updating", "Updating Trident") in _events(kube, "trident", ("Updating", "Updating Trident"))
    assert kube.get("trident.netapp.io/v1", "TridentVersion", "trident", TRIDENT)["trident_version"] == "26.06.0"
    assert torc["status"]["message"] == "Trident installed"

"""The Node Maintenance Operator (medik8s/node-maintenance-operator v0.20.1): installed through OLM, its webhook's
refusals, and a NodeMaintenance that drains a node of its VMs (KubeVirt live-migrates them) and gives it back."""

import pytest
from kubernetes.client.exceptions import ApiException

from virt_helpers import (NODE, VMI, VMIM, blank_vm, message, operator_group, subscribe, unique, wait_csv,
                          wait_for, wait_vm_running)

NM = ("nodemaintenance.medik8s.io/v1beta1", "NodeMaintenance")
NMO_NAMESPACE = "openshift-workload-availability"
NMO_CSV = "node-maintenance-operator.v0.20.1"
WEBHOOK = 'admission webhook "vnodemaintenance.kb.io" denied the request: '


@pytest.fixture(scope="module")
def nmo(kube, core_v1, virt):
    """The operator, subscribed in its own namespace with an AllNamespaces OperatorGroup; removed afterwards."""
    core_v1.create_namespace({"metadata": {"name": NMO_NAMESPACE}})
    operator_group(kube, NMO_NAMESPACE)
    subscribe(kube, NMO_NAMESPACE, package="node-maintenance-operator", name="nmo")
    csv = wait_csv(kube, NMO_NAMESPACE, NMO_CSV)
    yield csv
    for nm in kube.list(*NM):
        kube.delete(*NM, nm["metadata"]["name"])
        kube.wait_gone(*NM, nm["metadata"]["name"])
    core_v1.delete_namespace(NMO_NAMESPACE)
    wait_for(lambda: kube.get("v1", "Namespace", NMO_NAMESPACE) is None, "the operator's namespace to go", 120)


def maintenance(node: str, name: str = None) -> dict:
    return {"apiVersion": NM[0], "kind": NM[1], "metadata": {"name": name or unique("nm")},
            "spec": {"nodeName": node, "reason": "lab test"}}


def refusal(kube, body) -> str:
    with pytest.raises(ApiException) as refused:
        kube.create(body)
    return message(refused.value)


def test_the_operator_installs_through_olm_with_its_webhook(nmo, kube):
    """bundle/manifests/node-maintenance-operator.clusterserviceversion.yaml (v0.20.1): AllNamespaces, and
    webhookdefinitions vnodemaintenance.kb.io on CREATE/UPDATE of nodemaintenances."""
    assert nmo["spec"]["installModes"][3] == {"type": "AllNamespaces", "supported": True}
    configurations = kube.list("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration")
    [webhook] = [c for c in configurations if (c["metadata"].get("labels") or {}).get("olm.owner") == NMO_CSV]
    assert webhook["webhooks"][0]["rules"][0]["operations"] == ["CREATE", "UPDATE"]


def test_a_maintenance_of_a_node_that_does_not_exist_is_refused(nmo, kube):
    """api/v1beta1/nodemaintenance_webhook.go ValidateCreate -> validateNodeExists (v0.20.1): ErrorNodeNotExists."""
    assert refusal(kube, maintenance("no-such-node")) == \
        WEBHOOK + "invalid nodeName, no node with name no-such-node found"


def test_a_second_maintenance_of_a_node_and_a_new_node_name_are_refused(nmo, kube):
    """nodemaintenance_webhook.go (v0.20.1): validateNoNodeMaintenanceExists (ErrorNodeMaintenanceExists) on
    CREATE; ValidateUpdate refuses a changed spec.nodeName (ErrorNodeNameUpdateForbidden)."""
    before = kube.get(*NODE, "master-0")["spec"]
    first = kube.create(maintenance("master-0"))
    try:
        assert refusal(kube, maintenance("master-0")) == \
            WEBHOOK + "invalid nodeName, a NodeMaintenance for node master-0 already exists"
        with pytest.raises(ApiException) as refused:
            kube.patch(*NM, first["metadata"]["name"], None, {"spec": {"nodeName": "master-1"}})
        assert message(refused.value) == WEBHOOK + "updating spec.NodeName isn't allowed"
    finally:
        kube.delete(*NM, first["metadata"]["name"])
        kube.wait_gone(*NM, first["metadata"]["name"])
    after = kube.get(*NODE, "master-0")["spec"]
    assert (after.get("unschedulable"), after.get("taints")) == (before.get("unschedulable"), before.get("taints"))


def test_a_maintenance_drains_the_nodes_vms_away_and_its_deletion_gives_the_node_back(nmo, stack, kube, namespace):
    """controllers/nodemaintenance_controller.go Reconcile (v0.20.1): finalizer + BeginMaintenance,
    initMaintenanceStatus (Running, evictionPods, totalpods), exclude-from-remediation label, AddOrRemoveTaint
    (node.kubernetes.io/unschedulable and medik8s.io/drain, NoSchedule), cordon, RunNodeDrain retried while KubeVirt answers 429, then Succeeded with
    drainProgress 100; on deletion stopNodeMaintenanceImp untaints and uncordons, then the finalizer goes."""
    name = unique("vm")
    kube.create(blank_vm(name, stack.san), namespace)
    wait_vm_running(kube, namespace, name)
    node = kube.get(*VMI, name, namespace)["status"]["nodeName"]
    taints_before = kube.get(*NODE, node)["spec"].get("taints")
    nm = kube.create(maintenance(node))
    try:
        done = kube.wait(*NM, nm["metadata"]["name"], None,
                         lambda o: (o.get("status") or {}).get("phase") == "Succeeded", "to succeed", 120)
        assert done["metadata"]["finalizers"] == ["foregroundDeleteNodeMaintenance"]
        assert done["status"]["drainProgress"] == 100 and done["status"]["evictionPods"] >= 1
        assert done["metadata"]["ownerReferences"][0]["kind"] == "Node"
        held = kube.get(*NODE, node)
        assert held["spec"]["unschedulable"] is True
        assert [t["key"] for t in held["spec"]["taints"]][:2] == ["node.kubernetes.io/unschedulable", "medik8s.io/drain"]
        assert held["metadata"]["labels"]["remediation.medik8s.io/exclude-from-remediation"] == "true"
        vmi = kube.get(*VMI, name, namespace)
        assert vmi["status"]["nodeName"] != node and vmi["status"]["phase"] == "Running"
        [evacuation] = kube.list(*VMIM, namespace, label_selector=f"kubevirt.io/vmi-name={name}")
        assert evacuation["metadata"]["annotations"]["kubevirt.io/evacuationMigration"] == node
        reasons = [e["reason"] for e in kube.events(None, nm["metadata"]["name"])]
        assert "BeginMaintenance" in reasons and "SucceedMaintenance" in reasons
    finally:
        kube.delete(*NM, nm["metadata"]["name"])
        kube.wait_gone(*NM, nm["metadata"]["name"])
    back = kube.get(*NODE, node)
    assert not back["spec"].get("unschedulable") and back["spec"].get("taints") == taints_before
    assert "remediation.medik8s.io/exclude-from-remediation" not in (back["metadata"].get("labels") or {})

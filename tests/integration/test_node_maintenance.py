"""node_maintenance and playbooks/node_maintenance.yml against the lab: our drain, and the Node Maintenance Operator."""

import time

import pytest

NAMESPACE = "node-maintenance"
PLAYBOOK = "playbooks/node_maintenance.yml"
NM = ("nodemaintenance.medik8s.io", "v1beta1", "nodemaintenances")
NMO_NAMESPACE = "openshift-workload-availability"
VMS_PLAYBOOK = "tests/fixtures/vms_with_a_data_disk.yml"
NMO = """
- hosts: openshift
  gather_facts: false
  module_defaults:
    group/kubernetes.core.k8s: {kubeconfig: "{{ k8s_kubeconfig }}"}
  tasks:
    - name: The Node Maintenance Operator, from the catalog
      kubernetes.core.k8s:
        state: "{{ nmo_state }}"
        wait: true
        definition:
          - {apiVersion: v1, kind: Namespace, metadata: {name: %(ns)s}}
          - {apiVersion: operators.coreos.com/v1, kind: OperatorGroup, metadata: {name: nmo, namespace: %(ns)s}}
          - apiVersion: operators.coreos.com/v1alpha1
            kind: Subscription
            metadata: {name: node-maintenance-operator, namespace: %(ns)s}
            spec: {name: node-maintenance-operator, channel: stable, source: redhat-operators,
                   sourceNamespace: openshift-marketplace}
""" % {"ns": NMO_NAMESPACE}


def make_vms(ansible, *vms):
    run = ansible(VMS_PLAYBOOK, extra_vars={"vm_namespace": NAMESPACE, "vms": list(vms)})
    assert run.rc == 0, run.output[-3000:]


def vmi(custom_objects, name):
    return custom_objects.get_namespaced_custom_object("kubevirt.io", "v1", NAMESPACE, "virtualmachineinstances", name)


def vmis_on(custom_objects, node):
    found = custom_objects.list_cluster_custom_object("kubevirt.io", "v1", "virtualmachineinstances")["items"]
    return [v["metadata"]["name"] for v in found if v.get("status", {}).get("nodeName") == node]


def maintain(ansible, node, check=False, **variables):
    extra = dict({"node_maintenance_node": node, "node_maintenance_wait_timeout": 240}, **variables)
    return ansible(PLAYBOOK, extra_vars=extra, check=check)


def test_a_vm_that_cannot_migrate_is_refused_by_name_and_nothing_is_written(
        virtualization_stack, ansible, audit, core_v1, custom_objects):
    make_vms(ansible, {"name": "nm-rwo", "access": "ReadWriteOnce", "spec": {"nodeSelector": {"kubernetes.io/hostname": "worker-2"}}})
    try:
        mark = audit.mark()
        run = maintain(ansible, "worker-2", node_maintenance_method="drain")
        assert run.rc != 0
        assert "node-maintenance/nm-rwo: disk data (PVC nm-rwo-data) is ReadWriteOnce, not ReadWriteMany" in run.output
        assert audit.writes_since(mark) == []
        assert not core_v1.read_node("worker-2").spec.unschedulable
    finally:
        custom_objects.delete_namespaced_custom_object("kubevirt.io", "v1", NAMESPACE, "virtualmachines", "nm-rwo")
    deadline = time.monotonic() + 120
    while "nm-rwo" in vmis_on(custom_objects, "worker-2") and time.monotonic() < deadline:
        time.sleep(1)


def test_a_vm_that_cannot_migrate_is_stopped_when_asked_and_the_node_drained(
        virtualization_stack, ansible, core_v1, custom_objects):
    make_vms(ansible, {"name": "nm-stop", "access": "ReadWriteOnce", "spec": {"nodeSelector": {"kubernetes.io/hostname": "worker-2"}}})
    try:
        run = maintain(ansible, "worker-2", node_maintenance_method="drain", node_maintenance_non_migratable="stop")
        assert run.rc == 0, run.output[-4000:]
        vm = custom_objects.get_namespaced_custom_object("kubevirt.io", "v1", NAMESPACE, "virtualmachines", "nm-stop")
        assert vm["spec"].get("runStrategy") == "Halted" and "running" not in vm["spec"]
        assert vmis_on(custom_objects, "worker-2") == [] and core_v1.read_node("worker-2").spec.unschedulable
    finally:
        out = maintain(ansible, "worker-2", node_maintenance_state="absent")
        custom_objects.delete_namespaced_custom_object("kubevirt.io", "v1", NAMESPACE, "virtualmachines", "nm-stop")
    assert out.rc == 0 and not core_v1.read_node("worker-2").spec.unschedulable


@pytest.fixture(scope="module")
def drained(virtualization_stack, ansible, audit, custom_objects, core_v1):
    make_vms(ansible, {"name": "nm-a", "access": "ReadWriteMany"}, {"name": "nm-b", "access": "ReadWriteMany"})
    node = vmi(custom_objects, "nm-a")["status"]["nodeName"]
    had = vmis_on(custom_objects, node)
    first = maintain(ansible, node, node_maintenance_method="drain")
    after = {"vmis": vmis_on(custom_objects, node), "unschedulable": core_v1.read_node(node).spec.unschedulable}
    second = maintain(ansible, node, node_maintenance_method="drain")
    mark = audit.mark()
    check = maintain(ansible, node, check=True, node_maintenance_state="absent")
    check_writes = audit.writes_since(mark)
    back = maintain(ansible, node, node_maintenance_state="absent")
    yield {"node": node, "had": had, "first": first, "after": after, "second": second, "check": check,
           "check_writes": check_writes, "back": back}
    core_v1.delete_namespace(NAMESPACE)
    deadline = time.monotonic() + 180
    while any(n.metadata.name == NAMESPACE for n in core_v1.list_namespace().items) and time.monotonic() < deadline:
        time.sleep(1)


def test_our_drain_leaves_the_node_without_vms_running_elsewhere(drained, custom_objects):
    assert drained["first"].rc == 0, drained["first"].output[-4000:]
    assert "(drain): cordoned, VMs on it: none" in drained["first"].output
    assert "nm-a" in drained["had"] and drained["after"] == {"vmis": [], "unschedulable": True}
    for name in drained["had"]:
        if name.startswith("nm-"):
            moved = vmi(custom_objects, name)
            assert moved["status"]["phase"] == "Running" and moved["status"]["nodeName"] != drained["node"]


def test_a_second_run_changes_nothing_and_check_mode_writes_nothing(drained):
    assert drained["second"].rc == 0 and drained["second"].changed == 0, drained["second"].output[-3000:]
    assert drained["check"].rc == 0 and drained["check"].changed == 1, drained["check"].output[-3000:]
    assert drained["check_writes"] == []


def test_taking_the_node_out_uncordons_it(drained, core_v1):
    assert drained["back"].rc == 0 and drained["back"].changed == 1, drained["back"].output[-3000:]
    assert not core_v1.read_node(drained["node"]).spec.unschedulable


@pytest.fixture(scope="module")
def operator(drained, ansible, custom_objects):
    run = ansible(NMO, extra_vars={"nmo_state": "present"})
    assert run.rc == 0, run.output[-3000:]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        csvs = custom_objects.list_namespaced_custom_object("operators.coreos.com", "v1alpha1", NMO_NAMESPACE,
                                                            "clusterserviceversions")["items"]
        if any(c.get("status", {}).get("phase") == "Succeeded" for c in csvs):
            break
        time.sleep(1)
    yield
    for csv in custom_objects.list_namespaced_custom_object("operators.coreos.com", "v1alpha1", NMO_NAMESPACE,
                                                            "clusterserviceversions")["items"]:
        custom_objects.delete_namespaced_custom_object("operators.coreos.com", "v1alpha1", NMO_NAMESPACE,
                                                       "clusterserviceversions", csv["metadata"]["name"])
    ansible(NMO, extra_vars={"nmo_state": "absent"})


def test_through_the_node_maintenance_operator(operator, ansible, custom_objects, core_v1):
    node = vmi(custom_objects, "nm-b")["status"]["nodeName"]
    run = maintain(ansible, node)
    assert run.rc == 0, run.output[-4000:]
    assert "(NodeMaintenance): cordoned, VMs on it: none" in run.output
    [nm] = [m for m in custom_objects.list_cluster_custom_object(*NM)["items"] if m["spec"]["nodeName"] == node]
    assert nm["status"]["phase"] == "Succeeded" and vmis_on(custom_objects, node) == []
    moved = vmi(custom_objects, "nm-b")
    assert moved["status"]["phase"] == "Running" and moved["status"]["nodeName"] != node
    again = maintain(ansible, node)
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]
    back = maintain(ansible, node, node_maintenance_state="absent")
    assert back.rc == 0, back.output[-3000:]
    assert [m for m in custom_objects.list_cluster_custom_object(*NM)["items"] if m["spec"]["nodeName"] == node] == []
    assert not core_v1.read_node(node).spec.unschedulable

"""Last: cnv_hyperconverged state=absent force=true removes OpenShift Virtualization with the VMs still there.

HCO v1.18.1's delete validation dry-runs the deletion of KubeVirt and CDI, which refuse while workloads exist
until HCO has passed uninstallStrategy RemoveWorkloads on to them; the module waits for that before deleting.
"""

import json

PLAY = """
- hosts: openshift
  gather_facts: false
  module_defaults:
    group/ontap.virtualization.virtualization: {kubeconfig: "{{ k8s_kubeconfig }}"}
  tasks:
    - name: Uninstall
      ontap.virtualization.cnv_hyperconverged: %s
"""

VM = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "left-behind"},
      "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}, "memory": {"guest": "1Gi"}}}}}}


def test_forced_uninstall_removes_virtualization_and_its_vms(ansible, custom_objects, namespace):
    installed = ansible(PLAY % json.dumps({"wait_timeout": 600}))
    assert installed.rc == 0, installed.output[-3000:]
    custom_objects.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", VM)
    run = ansible(PLAY % json.dumps({"state": "absent", "force": True, "wait_timeout": 600}))
    assert run.rc == 0, run.output[-3000:]
    hcos = custom_objects.list_cluster_custom_object("hco.kubevirt.io", "v1beta1", "hyperconvergeds")["items"]
    assert hcos == []
    csvs = custom_objects.list_namespaced_custom_object("operators.coreos.com", "v1alpha1", "openshift-cnv",
                                                        "clusterserviceversions")["items"]
    assert [c["metadata"]["name"] for c in csvs if c["metadata"]["name"].startswith("kubevirt-hyperconverged")] == []
    again = ansible(PLAY % json.dumps({"state": "absent"}))
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]

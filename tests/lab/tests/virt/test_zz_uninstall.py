"""Uninstalling OpenShift Virtualization (runs last: it removes what the other tests use)."""

import os

import pytest
from kubernetes.client.exceptions import ApiException

from virt_helpers import (CDI, CNV, DATA_SOURCE, DIC, HC, KUBEVIRT, OS_IMAGES, VM, VMI, blank_vm, message, unique,
                          wait_for, wait_vm_running)

UNINSTALL = ("Rejecting the uninstall request, since there are still Virtual Machine Instances present. Either "
             "delete all KubeVirt related workloads or change the uninstall strategy before uninstalling KubeVirt.")


def test_the_hyperconverged_cannot_be_deleted_while_vms_run(stack, kube, namespace):
    name = unique("vm")
    kube.create(blank_vm(name, stack.san), namespace)
    wait_vm_running(kube, namespace, name)
    with pytest.raises(ApiException) as refused:
        kube.delete(*HC, "kubevirt-hyperconverged", CNV)
    assert refused.value.status == 400
    assert message(refused.value) == ('admission webhook "validate-hco.kubevirt.io" denied the request: admission '
                                      'webhook "kubevirt-validator.kubevirt.io" denied the request: ' + UNINSTALL)
    assert not kube.get(*HC, "kubevirt-hyperconverged", CNV)["metadata"].get("deletionTimestamp")
    kube.delete(*VM, name, namespace)
    kube.wait_gone(*VM, name, namespace)


def _workloads(kube) -> list:
    return [f"{o['metadata']['namespace']}/{o['metadata']['name']}" for kind in (VM, VMI) for o in kube.list(*kind)]


def test_deleting_the_hyperconverged_removes_what_it_created(stack, kube):
    def settled():  # the namespaces of earlier tests go, with their VMs
        terminating = {n["metadata"]["name"] for n in kube.list("v1", "Namespace")
                       if n["metadata"].get("deletionTimestamp")}
        return not any(w.split("/")[0] in terminating for w in _workloads(kube))
    wait_for(settled, "the VMs of earlier tests to be gone", timeout=180)
    left = _workloads(kube)
    if left and os.environ.get("LAB_REUSE") == "1":  # a reused lab may hold VMs of the user's own
        pytest.skip(f"VMs this suite did not create are still there ({', '.join(left)}): "
                    "under BlockUninstallIfWorkloadsExist the uninstall would be refused")
    assert not left, "VMs of earlier tests outlived their namespaces"
    kube.delete(*HC, "kubevirt-hyperconverged", CNV)
    kube.wait_gone(*HC, "kubevirt-hyperconverged", CNV, timeout=120)
    assert kube.get(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV) is None
    assert kube.get(*CDI, "cdi-kubevirt-hyperconverged") is None
    wait_for(lambda: not kube.list(*DIC, OS_IMAGES) and not kube.list(*DATA_SOURCE, OS_IMAGES),
             "the boot sources to go")
    wait_for(lambda: not kube.list("instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterInstancetype"),
             "the common instancetypes to go")
    hooks = {w["metadata"]["name"] for w in kube.list("admissionregistration.k8s.io/v1",
                                                      "ValidatingWebhookConfiguration")}
    assert "virt-api-validator" not in hooks and "virt-operator-validator" not in hooks
    # The operator itself stays installed (its CSV): a new HyperConverged brings everything back.
    kube.create({"apiVersion": HC[0], "kind": "HyperConverged",
                 "metadata": {"name": "kubevirt-hyperconverged", "namespace": CNV}, "spec": {}})
    kube.wait(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV,
              lambda k: (k.get("status") or {}).get("phase") == "Deployed", "to be deployed again")

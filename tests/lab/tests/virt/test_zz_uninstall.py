"""Uninstalling OpenShift Virtualization (runs last: it removes what the other tests use)."""

import os

import pytest
from kubernetes.client.exceptions import ApiException

from virt_helpers import (CDI, CNV, DATA_SOURCE, DIC, DV, HC, KUBEVIRT, OS_IMAGES, VM, VMI, blank_vm, condition,
                          message, unique, wait_for, wait_vm_running)

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


CDI_UNINSTALL = ("rejecting the uninstall request, since there are still {} DataVolumes present. Either delete all "
                 "DataVolumes or change the uninstall strategy before uninstalling CDI")
CRON_LABEL = "cdi.kubevirt.io/dataImportCron"


def _dry_run_delete_hco(kube):
    return kube.resource(*HC).delete(name="kubevirt-hyperconverged", namespace=CNV, dry_run="All")


def _data_volume(kube, namespace: str, name: str, storage_class: str, labels=None) -> dict:
    return kube.create({"apiVersion": DV[0], "kind": "DataVolume",
                        "metadata": {"name": name, "labels": labels or {}},
                        "spec": {"source": {"blank": {}},
                                 "storage": {"storageClassName": storage_class,
                                             "resources": {"requests": {"storage": "1Gi"}}}}}, namespace)


def _others(kube, namespace: str) -> list:
    return [w for w in _workloads(kube) if w.split("/")[0] != namespace]


def test_the_hyperconverged_cannot_be_deleted_while_data_volumes_exist(stack, kube, namespace):
    # HCO ValidateDelete dry-runs the deletion of the KubeVirt, then of the CDI; cdi-apiserver's
    # cdi-validate.go refuses it under BlockUninstallIfWorkloadsExist while DataVolumes exist that do not
    # carry the cdi.kubevirt.io/dataImportCron label (it lists them with Limit 2, so it counts at most 2).
    wait_for(lambda: not _others(kube, namespace), "the VMs and DataVolumes of earlier tests to be gone",
             timeout=180)
    _data_volume(kube, namespace, "of-a-cron", stack.san, labels={CRON_LABEL: "some-cron"})
    _dry_run_delete_hco(kube)  # a DataImportCron's DataVolume does not count
    for index in range(3):
        _data_volume(kube, namespace, f"disk-{index}", stack.san)
    with pytest.raises(ApiException) as refused:
        _dry_run_delete_hco(kube)
    assert refused.value.status == 400
    assert message(refused.value) == ('admission webhook "validate-hco.kubevirt.io" denied the request: admission '
                                      'webhook "cdi-validate.cdi.kubevirt.io" denied the request: '
                                      + CDI_UNINSTALL.format(2))
    assert not kube.get(*HC, "kubevirt-hyperconverged", CNV)["metadata"].get("deletionTimestamp")


def test_remove_workloads_lets_the_deletion_through_once_hco_handed_it_on(stack, kube, namespace):
    # With uninstallStrategy RemoveWorkloads HCO gives the KubeVirt and the CDI RemoveWorkloads; then
    # virt-operator's webhook passes at once and cdi-validate.go checks DataVolumes only under
    # BlockUninstallIfWorkloadsExist, so HCO's dry-run deletions pass with VMs and DataVolumes present.
    name = unique("vm")
    kube.create(blank_vm(name, stack.san), namespace)
    _data_volume(kube, namespace, "disk", stack.san)
    with pytest.raises(ApiException):
        _dry_run_delete_hco(kube)
    kube.patch(*HC, "kubevirt-hyperconverged", CNV, {"spec": {"uninstallStrategy": "RemoveWorkloads"}})
    try:
        kube.wait(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV,
                  lambda k: k["spec"]["uninstallStrategy"] == "RemoveWorkloads", "to take RemoveWorkloads")
        kube.wait(*CDI, "cdi-kubevirt-hyperconverged", None,
                  lambda c: c["spec"]["uninstallStrategy"] == "RemoveWorkloads", "to take RemoveWorkloads")
        deleted = _dry_run_delete_hco(kube).to_dict()
        assert deleted["metadata"]["deletionTimestamp"]  # what the deletion would do: it waits for HCO's finalizer
        assert not kube.get(*HC, "kubevirt-hyperconverged", CNV)["metadata"].get("deletionTimestamp")
    finally:
        kube.patch(*HC, "kubevirt-hyperconverged", CNV,
                   {"spec": {"uninstallStrategy": "BlockUninstallIfWorkloadsExist"}})
        kube.wait(*CDI, "cdi-kubevirt-hyperconverged", None,
                  lambda c: c["spec"]["uninstallStrategy"] == "BlockUninstallIfWorkloadsExist", "to be blocking again")
        kube.delete(*VM, name, namespace)
        kube.wait_gone(*VM, name, namespace)


def _workloads(kube) -> list:
    """What blocks the uninstall: VMs and VMIs (virt-operator), DataVolumes no DataImportCron labelled (CDI)."""
    found = [f"{o['metadata']['namespace']}/{o['metadata']['name']}" for kind in (VM, VMI) for o in kube.list(*kind)]
    return found + [f"{o['metadata']['namespace']}/{o['metadata']['name']}"
                    for o in kube.list(*DV, label_selector="!" + CRON_LABEL)]


def test_deleting_the_hyperconverged_removes_what_it_created(stack, kube):
    def settled():  # the namespaces of earlier tests go, with their VMs and DataVolumes
        terminating = {n["metadata"]["name"] for n in kube.list("v1", "Namespace")
                       if n["metadata"].get("deletionTimestamp")}
        return not any(w.split("/")[0] in terminating for w in _workloads(kube))
    wait_for(settled, "the VMs and DataVolumes of earlier tests to be gone", timeout=180)
    left = _workloads(kube)
    if left and os.environ.get("LAB_REUSE") == "1":  # a reused lab may hold VMs of the user's own
        pytest.skip(f"VMs or DataVolumes this suite did not create are still there ({', '.join(left)}): "
                    "under BlockUninstallIfWorkloadsExist the uninstall would be refused")
    assert not left, f"VMs or DataVolumes of earlier tests outlived their namespaces: {left}"
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
    assert "cdi-api-validate" not in hooks  # cdi-apiserver goes with the CDI
    wait_for(lambda: not [s for s in kube.list("apiregistration.k8s.io/v1", "APIService")  # virt-api's goes too
                          if s["spec"].get("group") == "subresources.kubevirt.io"]
             and kube.get("v1", "Service", "virt-api", CNV) is None, "the subresources APIServices to go", timeout=30)
    # HCO's namespace policy belongs to the HyperConverged CRD, not to the HyperConverged: it stays.
    assert kube.get("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy", "hyperconverged-namespace-policy")
    # The operator itself stays installed (its CSV): a new HyperConverged brings everything back.
    kube.create({"apiVersion": HC[0], "kind": "HyperConverged",
                 "metadata": {"name": "kubevirt-hyperconverged", "namespace": CNV}, "spec": {}})
    kube.wait(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV,
              lambda k: (k.get("status") or {}).get("phase") == "Deployed", "to be deployed again")
    kube.wait("apiregistration.k8s.io/v1", "APIService", "v1.subresources.kubevirt.io", None,
              lambda s: condition(s, "Available").get("status") == "True", "to be served again")

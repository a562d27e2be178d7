"""CSI provisioning through the simulated Trident: what binds, what ONTAP then holds, what is refused."""

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from storage_helpers import DRIVER, bound_claim, claim, events, internal_name, unique, wait_event, wait_for


def test_san_block_rwx_claim_binds_to_a_lun(core_v1, namespace, san_class, san_backend, ontap):
    core_v1.create_namespaced_persistent_volume_claim(namespace, claim("disk", san_class, "Block", "ReadWriteMany"))
    pvc = bound_claim(core_v1, namespace, "disk")

    pv = core_v1.read_persistent_volume(pvc.spec.volume_name)
    assert pv.metadata.name == f"pvc-{pvc.metadata.uid}"
    assert pv.metadata.annotations["pv.kubernetes.io/provisioned-by"] == DRIVER
    assert pv.spec.csi.driver == DRIVER and pv.spec.csi.volume_handle == pv.metadata.name
    attributes = pv.spec.csi.volume_attributes
    assert attributes["backendUUID"] == san_backend["status"]["backendInfo"]["backendUUID"]
    assert attributes["internalName"] == internal_name(pv.metadata.name)
    assert attributes["protocol"] == "block" and attributes["name"] == pv.metadata.name
    assert attributes["storage.kubernetes.io/csiProvisionerIdentity"].endswith(f"-{DRIVER}")
    assert (pv.spec.volume_mode, pv.spec.access_modes, pv.spec.capacity["storage"]) == \
        ("Block", ["ReadWriteMany"], "1Gi")
    assert pv.spec.persistent_volume_reclaim_policy == "Delete" and pv.spec.storage_class_name == san_class
    assert pv.spec.claim_ref.uid == pvc.metadata.uid
    assert pvc.metadata.annotations["volume.kubernetes.io/storage-provisioner"] == DRIVER
    assert events(core_v1, namespace, "disk", "ProvisioningSucceeded")

    volume = ontap.volume(attributes["internalName"])
    assert volume.svm.name == "svm_virt"
    assert volume.size == int(1.1 * 1024 ** 3)  # Trident's 10 % LUN metadata buffer
    assert ontap.luns(volume.name) == [f"/vol/{volume.name}/lun0"]


def test_san_filesystem_rwx_is_refused(core_v1, namespace, san_class, ontap):
    core_v1.create_namespaced_persistent_volume_claim(namespace, claim("shared", san_class, "Filesystem",
                                                                       "ReadWriteMany"))
    event = wait_event(core_v1, namespace, "shared", "ProvisioningFailed")
    assert event.type == "Warning"
    assert event.message == (f'failed to provision volume with StorageClass "{san_class}": rpc error: code = Unknown '
                             f"desc = no suitable file backend with {san_class} storage class and 1073741824 of free "
                             "space was found")
    assert core_v1.read_namespaced_persistent_volume_claim("shared", namespace).status.phase == "Pending"
    assert ontap.claim_volumes(core_v1, namespace, "shared") == []


def test_nas_claim_becomes_an_exported_volume(core_v1, namespace, nas_class, ontap):
    core_v1.create_namespaced_persistent_volume_claim(namespace, claim("files", nas_class, "Filesystem",
                                                                       "ReadWriteMany", size="2Gi"))
    pvc = bound_claim(core_v1, namespace, "files")
    pv = core_v1.read_persistent_volume(pvc.spec.volume_name)
    assert pv.spec.csi.volume_attributes["protocol"] == "file"

    volume = ontap.volume(internal_name(pv.metadata.name))
    assert volume.size == 2 * 1024 ** 3
    assert volume.nas.path == f"/{volume.name}"
    assert volume.nas.export_policy.name == "tridentempty"  # autoExportPolicy: empty until published
    assert "tridentempty" in ontap.export_policies("svm_virt")
    assert ontap.luns(volume.name) == []


def test_nas_refuses_block(core_v1, namespace, nas_class):
    core_v1.create_namespaced_persistent_volume_claim(namespace, claim("raw", nas_class, "Block", "ReadWriteOnce"))
    event = wait_event(core_v1, namespace, "raw", "ProvisioningFailed")
    assert "no suitable block backend" in event.message


def test_nvme_backend_provisions_namespaces(backends, storage_v1, core_v1, namespace, ontap):
    backends.bound("ontap-san", svm="svm_virt", sanType="nvme")
    name = unique("storage-nvme")
    storage_v1.create_storage_class({"metadata": {"name": name}, "provisioner": DRIVER,
                                     "parameters": {"backendType": "ontap-san", "sanType": "nvme"}})
    try:
        core_v1.create_namespaced_persistent_volume_claim(namespace, claim("nvme", name, "Block", "ReadWriteMany"))
        pvc = bound_claim(core_v1, namespace, "nvme")
        volume = internal_name(pvc.spec.volume_name)
        assert ontap.namespaces(volume) == [f"/vol/{volume}/namespace0"]
        assert ontap.luns(volume) == []
    finally:
        storage_v1.delete_storage_class(name)


def test_unknown_storage_class_parameter_is_refused(core_v1, namespace, storage_v1, san_backend, ontap):
    name = unique("storage-typo")
    storage_v1.create_storage_class({"metadata": {"name": name}, "provisioner": DRIVER,
                                     "parameters": {"backendType": "ontap-san", "snapshot": "true"}})
    try:
        core_v1.create_namespaced_persistent_volume_claim(namespace, claim("typo", name, "Block", "ReadWriteMany"))
        event = wait_event(core_v1, namespace, "typo", "ProvisioningFailed")
        assert event.message == (f'failed to provision volume with StorageClass "{name}": rpc error: code = Unknown '
                                 f"desc = unknown storage class: {name}")
        assert ontap.claim_volumes(core_v1, namespace, "typo") == []
    finally:
        storage_v1.delete_storage_class(name)


def test_deleting_the_claim_deletes_volume_and_pv(core_v1, namespace, nas_class, ontap):
    core_v1.create_namespaced_persistent_volume_claim(namespace, claim("scratch", nas_class, "Filesystem",
                                                                       "ReadWriteOnce"))
    pv_name = bound_claim(core_v1, namespace, "scratch").spec.volume_name
    volume = internal_name(pv_name)
    assert ontap.volume(volume) is not None

    core_v1.delete_namespaced_persistent_volume_claim("scratch", namespace)

    def pv_gone():
        try:
            core_v1.read_persistent_volume(pv_name)
        except ApiException as error:
            return error.status == 404
        return False

    wait_for(pv_gone, f"PV {pv_name} to be deleted")
    assert ontap.volume(volume) is None


def pv_refused_for(admission, claim_name: str) -> None:
    """A ValidatingAdmissionPolicy (the API server's own CEL admission) that refuses to create a PV bound to
    ``claim_name``; returns once the API server has refused such a PV five times in a row (a new policy takes a
    moment to be loaded, and was seen to let a request through just after its first refusal)."""
    admission.create_validating_admission_policy({
        "metadata": {"name": claim_name},
        "spec": {"failurePolicy": "Fail",
                 "matchConstraints": {"resourceRules": [{
                     "apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                     "resources": ["persistentvolumes"]}]},
                 "validations": [{"expression": f"object.spec.claimRef.name != '{claim_name}'",
                                  "message": "refused by the test"}]}})
    admission.create_validating_admission_policy_binding({
        "metadata": {"name": claim_name}, "spec": {"policyName": claim_name, "validationActions": ["Deny"]}})
    probe = {"metadata": {"name": claim_name}, "spec": {
        "capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "hostPath": {"path": "/probe"},
        "claimRef": {"name": claim_name, "namespace": "probe"}}}

    refusals = []

    def refused_five_times():
        try:
            client.CoreV1Api(admission.api_client).create_persistent_volume(probe, dry_run="All")
            refusals.clear()
        except ApiException as error:
            assert error.status == 422 and "refused by the test" in error.body, error.body
            refusals.append(error)
        return len(refusals) >= 5
    wait_for(refused_five_times, f"the API server to refuse PVs of claim {claim_name}")


def test_a_pv_the_api_server_refused_is_saved_later_and_its_volume_goes_with_it(core_v1, api_client, namespace,
                                                                                nas_class, ontap):
    """The claim's volume is made but its PV refused; the claim is deleted; once the API server takes PVs again,
    the PV is saved, found Released, and the volume deleted: none is left on ONTAP without a PV.

    Upstream: sig-storage-lib-external-provisioner controller/volume_store.go, queueStore (csi-provisioner sets
    CreateProvisionedPVLimiter): StoreVolume keeps a refused PV and processNextWorkItem saves it again until the
    create succeeds, whatever became of the claim, never deleting the volume; kubernetes
    pkg/controller/volume/persistentvolume/pv_controller.go syncVolume marks a PV whose claim is gone Released."""
    admission = client.AdmissionregistrationV1Api(api_client)
    name = unique("refused")
    pv_refused_for(admission, name)
    try:
        created = core_v1.create_namespaced_persistent_volume_claim(
            namespace, claim(name, nas_class, "Filesystem", "ReadWriteOnce"))
        pv_name = f"pvc-{created.metadata.uid}"
        volume = internal_name(pv_name)
        wait_for(lambda: ontap.volume(volume) is not None, f"volume {volume} on ONTAP")
        with pytest.raises(ApiException) as missing:
            core_v1.read_persistent_volume(pv_name)
        assert missing.value.status == 404
        core_v1.delete_namespaced_persistent_volume_claim(name, namespace)
        wait_for(lambda: name not in [c.metadata.name for c in
                                      core_v1.list_namespaced_persistent_volume_claim(namespace).items],
                 f"claim {name} to be deleted")
        assert ontap.volume(volume) is not None  # provisioned, its PV not saved yet, its claim gone
    finally:
        admission.delete_validating_admission_policy_binding(name)
        admission.delete_validating_admission_policy(name)
    wait_for(lambda: ontap.volume(volume) is None, f"volume {volume} to be deleted with its PV", timeout=120)
    wait_for(lambda: pv_name not in [pv.metadata.name for pv in core_v1.list_persistent_volume().items],
             f"PV {pv_name} to be deleted")


def test_wait_for_first_consumer_waits_for_a_node(core_v1, namespace, storage_v1, san_backend):
    """The scheduler is not part of the lab: the test sets the node it would pick."""
    name = unique("storage-wffc")
    storage_v1.create_storage_class({"metadata": {"name": name}, "provisioner": DRIVER,
                                     "volumeBindingMode": "WaitForFirstConsumer",
                                     "parameters": {"backendType": "ontap-san"}})
    try:
        core_v1.create_namespaced_persistent_volume_claim(namespace, claim("later", name, "Block", "ReadWriteMany"))
        wait_event(core_v1, namespace, "later", "WaitForFirstConsumer")
        assert not events(core_v1, namespace, "later", "Provisioning")
        core_v1.patch_namespaced_persistent_volume_claim("later", namespace, {"metadata": {"annotations": {
            "volume.kubernetes.io/selected-node": "worker-0"}}})
        bound_claim(core_v1, namespace, "later")
    finally:
        storage_v1.delete_storage_class(name)

"""Volume expansion: the API server's admission, the CSI resizer and Trident's ControllerExpandVolume,
and the kubelet's part for block volumes."""

import pytest
from kubernetes.client.exceptions import ApiException

from storage_helpers import bound_claim, claim, internal_name, unique, wait_event, wait_for

GIB = 1 << 30


def _grow(core_v1, namespace: str, name: str, size: str) -> None:
    core_v1.patch_namespaced_persistent_volume_claim(name, namespace,
                                                     {"spec": {"resources": {"requests": {"storage": size}}}})


def _capacity(core_v1, namespace: str, name: str, size: str):
    def grown():
        found = core_v1.read_namespaced_persistent_volume_claim(name, namespace)
        return found if (found.status.capacity or {}).get("storage") == size else None
    return wait_for(grown, f"claim {namespace}/{name} to have {size}")


def test_file_volume_grows_at_once(core_v1, namespace, nas_class, ontap):
    core_v1.create_namespaced_persistent_volume_claim(namespace, claim("data", nas_class, "Filesystem",
                                                                       "ReadWriteMany"))
    volume = internal_name(bound_claim(core_v1, namespace, "data").spec.volume_name)
    _grow(core_v1, namespace, "data", "2Gi")
    grown = _capacity(core_v1, namespace, "data", "2Gi")

    assert not [c for c in grown.status.conditions or [] if c.type in ("Resizing", "FileSystemResizePending")]
    assert not grown.status.allocated_resource_statuses
    assert grown.status.allocated_resources["storage"] == "2Gi"
    assert grown.metadata.annotations["volume.kubernetes.io/node-expansion-not-required"] == "true"
    assert core_v1.read_persistent_volume(grown.spec.volume_name).spec.capacity["storage"] == "2Gi"
    assert wait_event(core_v1, namespace, "data", "Resizing").message == \
        f"External resizer is resizing volume {grown.spec.volume_name}"
    assert wait_event(core_v1, namespace, "data", "VolumeResizeSuccessful").message == "Resize volume succeeded"
    assert ontap.volume(volume).size >= 2 * GIB


def test_block_volume_waits_for_the_node(core_v1, namespace, san_class, ontap):
    """Trident asks for node expansion of block volumes: the claim keeps its old capacity, with
    FileSystemResizePending, until a pod that uses it runs (the kubelet finishes then)."""
    core_v1.create_namespaced_persistent_volume_claim(namespace, claim("disk", san_class, "Block", "ReadWriteMany"))
    volume = internal_name(bound_claim(core_v1, namespace, "disk").spec.volume_name)
    _grow(core_v1, namespace, "disk", "3Gi")
    wait_event(core_v1, namespace, "disk", "FileSystemResizeRequired")

    pending = core_v1.read_namespaced_persistent_volume_claim("disk", namespace)
    assert pending.status.capacity["storage"] == "1Gi"
    assert pending.status.allocated_resource_statuses == {"storage": "NodeResizePending"}
    conditions = {c.type: c for c in pending.status.conditions}
    assert conditions["FileSystemResizePending"].message == ("Waiting for user to (re-)start a pod to finish file "
                                                             "system resize of volume on node.")
    assert core_v1.read_persistent_volume(pending.spec.volume_name).spec.capacity["storage"] == "3Gi"
    assert ontap.luns(volume) and ontap.lun_size(volume) == 3 * GIB

    # A pod that uses the claim starts on a node (this test plays its kubelet's start).
    core_v1.create_namespaced_pod(namespace, {
        "metadata": {"name": "consumer"},
        "spec": {"nodeName": "worker-0", "containers": [{"name": "c", "image": "registry.invalid/c",
                                                         "volumeDevices": [{"name": "d", "devicePath": "/dev/d"}]}],
                 "volumes": [{"name": "d", "persistentVolumeClaim": {"claimName": "disk"}}]}})
    try:
        core_v1.patch_namespaced_pod_status("consumer", namespace, {"status": {"phase": "Running"}})
        grown = _capacity(core_v1, namespace, "disk", "3Gi")
    finally:  # no kubelet confirms a graceful deletion in the lab
        core_v1.delete_namespaced_pod("consumer", namespace, grace_period_seconds=0)
    assert not [c for c in grown.status.conditions or [] if c.type in ("Resizing", "FileSystemResizePending")]
    assert not grown.status.allocated_resource_statuses


def test_expansion_needs_a_class_that_allows_it(core_v1, storage_v1, namespace, nas_backend):
    """The API server's own PersistentVolumeClaimResize admission refuses, before any controller."""
    fixed = unique("storage-fixed")
    storage_v1.create_storage_class({"metadata": {"name": fixed}, "provisioner": "csi.trident.netapp.io",
                                     "parameters": {"backendType": "ontap-nas"}})
    try:
        core_v1.create_namespaced_persistent_volume_claim(namespace, claim("data", fixed, "Filesystem",
                                                                           "ReadWriteMany"))
        bound_claim(core_v1, namespace, "data")
        with pytest.raises(ApiException) as refused:
            _grow(core_v1, namespace, "data", "2Gi")
        assert refused.value.status == 403
        assert "only dynamically provisioned pvc can be resized and the storageclass that provisions the pvc must " \
               "support resize" in refused.value.body
    finally:
        storage_v1.delete_storage_class(fixed)

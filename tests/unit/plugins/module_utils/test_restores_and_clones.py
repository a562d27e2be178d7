"""The pure parts of restores and clones: which restore patches KubeVirt refuses, which CSI clones are not fast clones."""

import json

from ansible_collections.ontap.virtualization.plugins.module_utils import clones, restores


def patch(path, value="x"):
    return json.dumps([{"op": "replace", "path": path, "value": value}])


def test_restore_patches_must_stay_under_spec_labels_or_annotations_without_colons():
    assert restores.patch_problems([patch("/spec/runStrategy", "Halted"), patch("/metadata/labels/tier", "web")]) == []
    assert restores.patch_problems([patch("/status/ready")]) == [
        "patch path /status/ready is outside /spec/, /metadata/labels/, /metadata/annotations/"]
    assert restores.patch_problems([patch("/spec/template/spec/domain/devices/interfaces/0/macAddress", "02:00:00:00:00:01")]) \
        == ['patch value "02:00:00:00:00:01" at /spec/template/spec/domain/devices/interfaces/0/macAddress has a colon']
    assert restores.patch_problems(["not json"]) == ["patch not json is not JSON"]


def storage_class(name, backend="ontap-san", provisioner="csi.trident.netapp.io", expand=False):
    return {"metadata": {"name": name}, "provisioner": provisioner, "parameters": {"backendType": backend},
            "allowVolumeExpansion": expand}


PVC = {"metadata": {"name": "src"}, "spec": {"resources": {"requests": {"storage": "1Gi"}}}, "status": {"capacity": {"storage": "1Gi"}}}


def test_a_clone_on_the_same_class_at_the_same_size_is_fast():
    assert clones.csi_clone_problems(PVC, storage_class("san"), storage_class("san")) == []
    assert clones.csi_clone_problems(PVC, storage_class("san"), storage_class("san", expand=True), "2Gi") == []


def test_clones_off_the_backend_larger_without_expansion_or_smaller_are_refused():
    san = storage_class("san")
    assert clones.csi_clone_problems(PVC, san, storage_class("nas", backend="ontap-nas")) == [
        "class nas is for backend type ontap-nas, the source's for ontap-san; Trident clones only on the source's backend"]
    assert clones.csi_clone_problems(PVC, san, storage_class("san"), "2Gi") == [
        "2Gi is larger than the source's 1Gi and class san cannot expand volumes"]
    assert clones.csi_clone_problems(PVC, san, storage_class("san"), "512Mi") == ["512Mi is smaller than the source's 1Gi"]
    assert "CDI would copy through a pod" in clones.csi_clone_problems(PVC, san, storage_class("x", provisioner="other"))[0]

"""VolumeSnapshots, restores and CSI clones: ONTAP snapshots and FlexClones, refusals as upstream."""

from kubernetes.client.exceptions import ApiException

from storage_helpers import DRIVER, bound_claim, claim, internal_name, unique, wait_event, wait_for

GROUP, VERSION = "snapshot.storage.k8s.io", "v1"
ANN_DEFAULT = "snapshot.storage.kubernetes.io/is-default-class"


def _snapshot(custom_objects, namespace: str, name: str, source: str, snapshot_class: str = None) -> None:
    spec = {"source": {"persistentVolumeClaimName": source}}
    if snapshot_class:
        spec["volumeSnapshotClassName"] = snapshot_class
    custom_objects.create_namespaced_custom_object(GROUP, VERSION, namespace, "volumesnapshots", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "VolumeSnapshot", "metadata": {"name": name}, "spec": spec})


def _get_snapshot(custom_objects, namespace: str, name: str) -> dict:
    return custom_objects.get_namespaced_custom_object(GROUP, VERSION, namespace, "volumesnapshots", name)


def _ready_snapshot(custom_objects, namespace: str, name: str) -> dict:
    def ready():
        snapshot = _get_snapshot(custom_objects, namespace, name)
        return snapshot if (snapshot.get("status") or {}).get("readyToUse") else None
    return wait_for(ready, f"snapshot {namespace}/{name} to be ready")


def _source_volume(core_v1, namespace: str, name: str, storage_class: str, mode: str, access: str) -> str:
    core_v1.create_namespaced_persistent_volume_claim(namespace, claim(name, storage_class, mode, access))
    return internal_name(bound_claim(core_v1, namespace, name).spec.volume_name)


def test_snapshot_restore_and_clone_are_flexclones(core_v1, custom_objects, namespace, san_class, snapshot_class,
                                                   ontap):
    source = _source_volume(core_v1, namespace, "root", san_class, "Block", "ReadWriteMany")
    _snapshot(custom_objects, namespace, "root-snap", "root", snapshot_class)
    snapshot = _ready_snapshot(custom_objects, namespace, "root-snap")

    status = snapshot["status"]
    assert status["restoreSize"] == "1Gi" and status["creationTime"].endswith("Z")
    assert "snapshot.storage.kubernetes.io/volumesnapshot-bound-protection" in snapshot["metadata"]["finalizers"]
    content = custom_objects.get_cluster_custom_object(GROUP, VERSION, "volumesnapshotcontents",
                                                       status["boundVolumeSnapshotContentName"])
    assert content["metadata"]["name"] == f"snapcontent-{snapshot['metadata']['uid']}"
    assert content["spec"]["volumeSnapshotRef"]["uid"] == snapshot["metadata"]["uid"]
    assert content["spec"]["driver"] == DRIVER and content["spec"]["sourceVolumeMode"] == "Block"
    assert content["spec"]["deletionPolicy"] == "Delete"
    snapshot_name = f"snapshot-{snapshot['metadata']['uid']}"
    pv_name = "pvc-" + core_v1.read_namespaced_persistent_volume_claim("root", namespace).metadata.uid
    assert content["status"]["snapshotHandle"] == f"{pv_name}/{snapshot_name}"
    assert content["status"]["readyToUse"] is True
    assert snapshot_name in ontap.snapshots(source)

    core_v1.create_namespaced_persistent_volume_claim(namespace, claim(
        "restored", san_class, "Block", "ReadWriteMany",
        dataSourceRef={"apiGroup": GROUP, "kind": "VolumeSnapshot", "name": "root-snap"}))
    core_v1.create_namespaced_persistent_volume_claim(namespace, claim(
        "cloned", san_class, "Block", "ReadWriteMany", dataSource={"kind": "PersistentVolumeClaim", "name": "root"}))

    restored = ontap.volume(internal_name(bound_claim(core_v1, namespace, "restored").spec.volume_name))
    cloned = ontap.volume(internal_name(bound_claim(core_v1, namespace, "cloned").spec.volume_name))
    assert restored.clone.is_flexclone and restored.clone.parent_volume.name == source
    assert restored.clone.parent_snapshot.name == snapshot_name
    assert cloned.clone.is_flexclone and cloned.clone.parent_volume.name == source
    assert ontap.luns(restored.name) == [f"/vol/{restored.name}/lun0"]
    assert ontap.luns(cloned.name) == [f"/vol/{cloned.name}/lun0"]


def test_default_snapshot_class(core_v1, custom_objects, namespace, nas_class, snapshot_class):
    _source_volume(core_v1, namespace, "data", nas_class, "Filesystem", "ReadWriteMany")
    _snapshot(custom_objects, namespace, "data-snap", "data")
    event = wait_event(core_v1, namespace, "data-snap", "SetDefaultSnapshotClassFailed")
    assert event.message == "Failed to set default snapshot class with error cannot find default snapshot class"
    assert _get_snapshot(custom_objects, namespace, "data-snap")["status"]["error"]["message"] == event.message

    custom_objects.patch_cluster_custom_object(GROUP, VERSION, "volumesnapshotclasses", snapshot_class,
                                               {"metadata": {"annotations": {ANN_DEFAULT: "true"}}})
    try:
        snapshot = _ready_snapshot(custom_objects, namespace, "data-snap")
    finally:
        custom_objects.patch_cluster_custom_object(GROUP, VERSION, "volumesnapshotclasses", snapshot_class,
                                                   {"metadata": {"annotations": {ANN_DEFAULT: None}}})
    assert snapshot["spec"]["volumeSnapshotClassName"] == snapshot_class
    assert "error" not in snapshot["status"]


def test_refused_clones_and_restores(core_v1, custom_objects, namespace, san_class, nas_class, snapshot_class,
                                     ontap):
    _source_volume(core_v1, namespace, "block", san_class, "Block", "ReadWriteMany")
    _snapshot(custom_objects, namespace, "block-snap", "block", snapshot_class)
    _ready_snapshot(custom_objects, namespace, "block-snap")
    pvc_source = {"kind": "PersistentVolumeClaim", "name": "block"}
    snapshot_source = {"apiGroup": GROUP, "kind": "VolumeSnapshot", "name": "block-snap"}
    refusals = {
        "wrong-mode": (claim("wrong-mode", san_class, "Filesystem", "ReadWriteOnce", dataSource=pvc_source),
                       "the source PVC and destination PVCs must have the same volume mode for cloning.  Source is "
                       "Block, but new PVC requested Filesystem"),
        "too-small": (claim("too-small", san_class, "Block", "ReadWriteMany", size="512Mi", dataSource=pvc_source),
                      "error, new PVC request must be greater than or equal in size to the specified PVC data source, "
                      "requested 536870912 but source is 1073741824"),
        "restore-mode": (claim("restore-mode", nas_class, "Filesystem", "ReadWriteMany", dataSourceRef=snapshot_source),
                         f"requested volume {namespace}/restore-mode modifies the mode of the source volume but does "
                         "not have permission to do so."),
        "restore-small": (claim("restore-small", san_class, "Block", "ReadWriteMany", size="100Mi",
                                dataSourceRef=snapshot_source),
                          "requested volume size 104857600 is less than the size 1073741824 for the source snapshot "
                          "block-snap"),
    }
    for body, _ in refusals.values():
        core_v1.create_namespaced_persistent_volume_claim(namespace, body)
    for name, (body, message) in refusals.items():
        event = wait_event(core_v1, namespace, name, "ProvisioningFailed")
        source = body["spec"].get("dataSourceRef") or body["spec"]["dataSource"]
        storage_class = body["spec"]["storageClassName"]
        assert event.message.startswith(f'failed to provision volume with StorageClass "{storage_class}": '
                                        f"error getting handle for DataSource Type {source['kind']} by Name "
                                        f"{source['name']}: ")
        assert message in event.message
    assert ontap.claim_volumes(core_v1, namespace, *refusals) == []


def test_trident_refuses_larger_clones_and_classes_off_the_source_backend(core_v1, custom_objects, storage_v1,
                                                                          namespace, san_class, snapshot_class,
                                                                          ontap):
    """cloneVolumeInitial: a clone or restore is never larger than its source volume (CDI clones at
    the source's size, then expands), and its class must have a pool on the source's backend."""
    _source_volume(core_v1, namespace, "block", san_class, "Block", "ReadWriteMany")
    _snapshot(custom_objects, namespace, "block-snap", "block", snapshot_class)
    _ready_snapshot(custom_objects, namespace, "block-snap")
    pvc_source = {"kind": "PersistentVolumeClaim", "name": "block"}
    snapshot_source = {"apiGroup": GROUP, "kind": "VolumeSnapshot", "name": "block-snap"}
    elsewhere, alike = unique("storage-elsewhere"), unique("storage-alike")
    storage_v1.create_storage_class({"metadata": {"name": elsewhere}, "provisioner": DRIVER,
                                     "parameters": {"backendType": "ontap-san", "storagePools": "no-such-backend:.*"}})
    storage_v1.create_storage_class({"metadata": {"name": alike}, "provisioner": DRIVER,
                                     "parameters": {"backendType": "ontap-san"}})
    try:
        source_pv = core_v1.read_namespaced_persistent_volume_claim("block", namespace).spec.volume_name
        for body in (claim("larger", san_class, "Block", "ReadWriteMany", size="2Gi", dataSource=pvc_source),
                     claim("larger-restore", san_class, "Block", "ReadWriteMany", size="2Gi",
                           dataSourceRef=snapshot_source),
                     claim("elsewhere", elsewhere, "Block", "ReadWriteMany", dataSource=pvc_source),
                     claim("alike", alike, "Block", "ReadWriteMany", dataSource=pvc_source)):
            core_v1.create_namespaced_persistent_volume_claim(namespace, body)
        too_large = "rpc error: code = Unknown desc = requested PVC size '2147483648' is too large for the clone " \
                    "source '1073741824'"
        for name in ("larger", "larger-restore"):
            event = wait_event(core_v1, namespace, name, "ProvisioningFailed")
            assert event.message == f'failed to provision volume with StorageClass "{san_class}": {too_large}'
        event = wait_event(core_v1, namespace, "elsewhere", "ProvisioningFailed")
        uid = core_v1.read_namespaced_persistent_volume_claim("elsewhere", namespace).metadata.uid
        assert event.message == (f'failed to provision volume with StorageClass "{elsewhere}": rpc error: code = '
                                 f"Unknown desc = clone volume pvc-{uid} from source volume {source_pv} with different "
                                 "storage classes that have no common backends is not allowed")
        assert ontap.claim_volumes(core_v1, namespace, "larger", "larger-restore", "elsewhere") == []
        cloned = ontap.volume(internal_name(bound_claim(core_v1, namespace, "alike").spec.volume_name))
        assert cloned.clone.is_flexclone and cloned.clone.parent_volume.name == internal_name(source_pv)
    finally:
        for name in (elsewhere, alike):
            storage_v1.delete_storage_class(name)


def test_cross_namespace_source_is_dropped(core_v1, namespace, san_class, ontap):
    """Without the alpha CrossNamespaceVolumeDataSource gate (off, as on OpenShift) the API server
    drops a dataSourceRef that names another namespace: the claim gets a new, empty volume."""
    other = namespace + "-other"
    core_v1.create_namespace({"metadata": {"name": other}})
    try:
        _source_volume(core_v1, other, "elsewhere", san_class, "Block", "ReadWriteMany")
        created = core_v1.create_namespaced_persistent_volume_claim(namespace, claim(
            "copy", san_class, "Block", "ReadWriteMany",
            dataSourceRef={"kind": "PersistentVolumeClaim", "name": "elsewhere", "namespace": other}))
        assert created.spec.data_source_ref is None and created.spec.data_source is None
        volume = ontap.volume(internal_name(bound_claim(core_v1, namespace, "copy").spec.volume_name))
        assert not volume.clone.is_flexclone
    finally:
        core_v1.delete_namespace(other)


def test_deleting_a_snapshot_deletes_content_and_ontap_snapshot(core_v1, custom_objects, namespace, nas_class,
                                                                snapshot_class, ontap):
    volume = _source_volume(core_v1, namespace, "notes", nas_class, "Filesystem", "ReadWriteOnce")
    _snapshot(custom_objects, namespace, "notes-snap", "notes", snapshot_class)
    snapshot = _ready_snapshot(custom_objects, namespace, "notes-snap")
    content = snapshot["status"]["boundVolumeSnapshotContentName"]
    assert f"snapshot-{snapshot['metadata']['uid']}" in ontap.snapshots(volume)

    custom_objects.delete_namespaced_custom_object(GROUP, VERSION, namespace, "volumesnapshots", "notes-snap")

    def gone():
        try:
            custom_objects.get_cluster_custom_object(GROUP, VERSION, "volumesnapshotcontents", content)
        except ApiException as error:
            return error.status == 404
        return False

    wait_for(gone, f"content {content} to be deleted")
    assert ontap.snapshots(volume) == []

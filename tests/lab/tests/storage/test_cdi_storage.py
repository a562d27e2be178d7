"""CDI's storage half: StorageProfiles, DataVolumes (imports and clones), DataSources, DataImportCrons."""

import time

from kubernetes.client.exceptions import ApiException

from storage_helpers import DRIVER, bound_claim, claim, events, internal_name, unique, wait_event, wait_for

CDI, VERSION = "cdi.kubevirt.io", "v1beta1"
OS_IMAGES = "openshift-virtualization-os-images"
ANN_DEFAULT_VIRT = "storageclass.kubevirt.io/is-default-virt-class"


def _profile(custom_objects, name: str, key: str = "provisioner") -> dict:
    """The StorageProfile once its status has ``key`` (profiles follow classes and snapshot classes)."""
    def filled():
        profile = custom_objects.get_cluster_custom_object(CDI, VERSION, "storageprofiles", name)
        return profile if (profile.get("status") or {}).get(key) else None
    return wait_for(filled, f"StorageProfile {name} with {key}")


def _data_volume(custom_objects, namespace: str, name: str, source: dict, storage: dict) -> None:
    custom_objects.create_namespaced_custom_object(CDI, VERSION, namespace, "datavolumes", {
        "apiVersion": f"{CDI}/{VERSION}", "kind": "DataVolume", "metadata": {"name": name},
        "spec": {"source": source, "storage": storage}})


def _succeeded(custom_objects, namespace: str, name: str) -> dict:
    def done():
        dv = custom_objects.get_namespaced_custom_object(CDI, VERSION, namespace, "datavolumes", name)
        return dv if (dv.get("status") or {}).get("phase") == "Succeeded" else None
    return wait_for(done, f"DataVolume {namespace}/{name} to succeed", timeout=90)


def test_storage_profiles_are_filled_for_trident_classes(custom_objects, storage_v1, san_class, nas_class,
                                                         snapshot_class):
    san, nas = (_profile(custom_objects, name, "snapshotClass") for name in (san_class, nas_class))
    assert san["status"]["claimPropertySets"] == [{"accessModes": ["ReadWriteMany"], "volumeMode": "Block"}]
    assert nas["status"]["claimPropertySets"] == [{"accessModes": ["ReadWriteMany"], "volumeMode": "Filesystem"},
                                                  {"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}]
    for profile, name in ((san, san_class), (nas, nas_class)):
        status = profile["status"]
        assert (status["storageClass"], status["provisioner"]) == (name, DRIVER)
        assert status["cloneStrategy"] == "snapshot" and status["dataImportCronSourceFormat"] == "snapshot"
        assert status["snapshotClass"] == snapshot_class
        assert _recognized(status) == ("True", "RecognizedProvisioner", "Provisioner is recognized")

    unrecognised = unique("storage-plain")
    storage_v1.create_storage_class({"metadata": {"name": unrecognised}, "provisioner": DRIVER,
                                     "parameters": {"selector": "tier=gold"}})
    try:
        status = _profile(custom_objects, unrecognised)["status"]
        assert status["claimPropertySets"] == [] and status["dataImportCronSourceFormat"] == "pvc"
        assert _recognized(status) == ("False", "UnrecognizedStorageClassParameters",
                                       "Storage class parameters are not recognized")
        custom_objects.patch_cluster_custom_object(CDI, VERSION, "storageprofiles", unrecognised, {"spec": {
            "claimPropertySets": [{"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}],
            "cloneStrategy": "csi-clone"}})
        patched = wait_for(lambda: (lambda s: s if s.get("cloneStrategy") == "csi-clone" else None)(
            custom_objects.get_cluster_custom_object(CDI, VERSION, "storageprofiles", unrecognised)["status"]),
            "the profile to follow its spec")
        assert patched["claimPropertySets"] == [{"accessModes": ["ReadWriteOnce"], "volumeMode": "Filesystem"}]
    finally:
        storage_v1.delete_storage_class(unrecognised)
    wait_for(lambda: unrecognised not in [p["metadata"]["name"] for p in custom_objects.list_cluster_custom_object(
        CDI, VERSION, "storageprofiles")["items"]], "the profile to go with its class")


def _recognized(status: dict) -> tuple:
    found = [c for c in status.get("conditions") or [] if c["type"] == "Recognized"]
    assert len(found) == 1 and found[0]["lastTransitionTime"] and found[0]["lastHeartbeatTime"]
    return found[0]["status"], found[0]["reason"], found[0]["message"]


def test_unknown_provisioner_is_not_recognized(custom_objects, storage_v1):
    name = unique("storage-other")
    storage_v1.create_storage_class({"metadata": {"name": name}, "provisioner": "example.com/other"})
    try:
        status = _profile(custom_objects, name)["status"]
        assert _recognized(status) == ("False", "UnrecognizedProvisioner", "Provisioner is not recognized")
        assert status["cloneStrategy"] == "copy" and status["claimPropertySets"] == []
    finally:
        storage_v1.delete_storage_class(name)


def test_profile_naming_a_missing_snapshot_class_is_not_reconciled(custom_objects, storage_v1, san_backend,
                                                                   snapshot_class):
    """GetSnapshotClassForSmartClone fails on a class that does not exist, and with it the whole
    reconcile: the status keeps what it had (no quiet fallback to host-assisted copy). A class of
    another driver, though, is ignored quietly."""
    name, missing = unique("storage-profiled"), unique("no-such-snapshots")
    storage_v1.create_storage_class({"metadata": {"name": name}, "provisioner": DRIVER,
                                     "parameters": {"backendType": "ontap-san"}})
    snapshots = ("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses")
    try:
        before = _profile(custom_objects, name, "snapshotClass")["status"]
        assert before["snapshotClass"] == snapshot_class and before["cloneStrategy"] == "snapshot"
        custom_objects.patch_cluster_custom_object(CDI, VERSION, "storageprofiles", name,
                                                   {"spec": {"snapshotClass": missing}})
        time.sleep(3)
        assert custom_objects.get_cluster_custom_object(CDI, VERSION, "storageprofiles", name)["status"] == before

        custom_objects.create_cluster_custom_object(*snapshots, {
            "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
            "metadata": {"name": missing}, "driver": "other.csi.example.com", "deletionPolicy": "Delete"})
        status = wait_for(lambda: (lambda s: s if "snapshotClass" not in s else None)(
            custom_objects.get_cluster_custom_object(CDI, VERSION, "storageprofiles", name)["status"]),
            "the profile to drop the snapshot class of another driver")
        assert status["cloneStrategy"] == "copy" and status["dataImportCronSourceFormat"] == "pvc"
    finally:
        storage_v1.delete_storage_class(name)
        try:
            custom_objects.delete_cluster_custom_object(*snapshots, missing)
        except ApiException as error:
            if error.status != 404:
                raise


def test_blank_data_volume_takes_modes_from_the_profile(core_v1, custom_objects, namespace, san_class, ontap):
    _data_volume(custom_objects, namespace, "blank", {"blank": {}},
                 {"storageClassName": san_class, "resources": {"requests": {"storage": "2Gi"}}})
    dv = _succeeded(custom_objects, namespace, "blank")

    assert dv["status"]["progress"] == "100.0%" and dv["status"]["claimName"] == "blank"
    conditions = {c["type"]: c for c in dv["status"]["conditions"]}
    assert conditions["Ready"]["status"] == "True" and conditions["Bound"]["status"] == "True"
    assert conditions["Running"]["reason"] == "Completed"
    pvc = core_v1.read_namespaced_persistent_volume_claim("blank", namespace)
    assert pvc.metadata.owner_references[0].kind == "DataVolume"
    assert (pvc.spec.volume_mode, pvc.spec.access_modes) == ("Block", ["ReadWriteMany"])
    assert pvc.spec.data_source_ref.kind == "VolumeImportSource"
    assert {"ImportScheduled", "ImportInProgress", "ImportSucceeded"} <= {e.reason for e in events(core_v1, namespace,
                                                                                                   "blank")}
    assert ontap.luns(internal_name(pvc.spec.volume_name))


def test_clones_report_their_strategy(core_v1, custom_objects, namespace, san_class, nas_class, ontap):
    _data_volume(custom_objects, namespace, "golden", {"blank": {}},
                 {"storageClassName": san_class, "resources": {"requests": {"storage": "1Gi"}}})
    _succeeded(custom_objects, namespace, "golden")
    source = {"pvc": {"namespace": namespace, "name": "golden"}}
    _data_volume(custom_objects, namespace, "smart", source, {"storageClassName": san_class})
    _data_volume(custom_objects, namespace, "copied", source, {"storageClassName": nas_class})
    _succeeded(custom_objects, namespace, "smart")
    _succeeded(custom_objects, namespace, "copied")

    smart = core_v1.read_namespaced_persistent_volume_claim("smart", namespace)
    assert smart.metadata.annotations["cdi.kubevirt.io/cloneType"] == "snapshot"
    assert "cdi.kubevirt.io/cloneFallbackReason" not in smart.metadata.annotations
    assert smart.spec.resources.requests["storage"] == "1Gi"  # the size of the source
    assert events(core_v1, namespace, "smart", "SnapshotForSmartCloneInProgress")
    assert events(core_v1, namespace, "smart", "CloneSucceeded")
    smart_volume = ontap.volume(internal_name(smart.spec.volume_name))
    assert smart_volume.svm.name == "svm_virt" and ontap.luns(smart_volume.name)

    copied = core_v1.read_namespaced_persistent_volume_claim("copied", namespace)
    assert copied.metadata.annotations["cdi.kubevirt.io/cloneType"] == "copy"
    reason = "The volume modes of source and target are incompatible"
    assert copied.metadata.annotations["cdi.kubevirt.io/cloneFallbackReason"] == reason
    assert wait_event(core_v1, namespace, "copied", "IncompatibleVolumeModes").message == reason
    assert events(core_v1, namespace, "copied", "CloneInProgress")
    assert not ontap.volume(internal_name(copied.spec.volume_name)).clone.is_flexclone


def test_larger_clones_are_made_at_the_source_size_then_expanded(core_v1, custom_objects, storage_v1, namespace,
                                                                 san_class, ontap):
    """Trident clones only at the source's size, so CDI's PrepClaim phase grows the copy through
    the CSI resizer (the class allows expansion); where the class does not, the planner falls
    back to a host-assisted copy (NoVolumeExpansion)."""
    _data_volume(custom_objects, namespace, "golden", {"blank": {}},
                 {"storageClassName": san_class, "resources": {"requests": {"storage": "1Gi"}}})
    _succeeded(custom_objects, namespace, "golden")
    csi_class, fixed_class = unique("storage-csi"), unique("storage-fixed")
    storage_v1.create_storage_class({"metadata": {"name": csi_class}, "provisioner": DRIVER,
                                     "parameters": {"backendType": "ontap-san"}, "allowVolumeExpansion": True})
    storage_v1.create_storage_class({"metadata": {"name": fixed_class}, "provisioner": DRIVER,
                                     "parameters": {"backendType": "ontap-san"}})
    try:
        _profile(custom_objects, csi_class)
        custom_objects.patch_cluster_custom_object(CDI, VERSION, "storageprofiles", csi_class,
                                                   {"spec": {"cloneStrategy": "csi-clone"}})
        wait_for(lambda: _profile(custom_objects, csi_class)["status"]["cloneStrategy"] == "csi-clone",
                 "the profile to take csi-clone")
        source = {"pvc": {"namespace": namespace, "name": "golden"}}
        for name, storage_class in (("by-snapshot", san_class), ("by-csi-clone", csi_class), ("copied", fixed_class)):
            _data_volume(custom_objects, namespace, name, source,
                         {"storageClassName": storage_class, "resources": {"requests": {"storage": "2Gi"}}})
        for name, strategy in (("by-snapshot", "snapshot"), ("by-csi-clone", "csi-clone")):
            _succeeded(custom_objects, namespace, name)
            disk = core_v1.read_namespaced_persistent_volume_claim(name, namespace)
            assert disk.metadata.annotations["cdi.kubevirt.io/cloneType"] == strategy
            assert disk.status.capacity["storage"] == "2Gi"
            assert wait_event(core_v1, namespace, name, "PrepClaimInProgress").message == \
                f"Prepping PersistentVolumeClaim for DataVolume {namespace}/{name}"
            volume = internal_name(disk.spec.volume_name)
            assert ontap.volume(volume).clone.is_flexclone and ontap.lun_size(volume) == 2 << 30
        _succeeded(custom_objects, namespace, "copied")
        copied = core_v1.read_namespaced_persistent_volume_claim("copied", namespace)
        assert copied.metadata.annotations["cdi.kubevirt.io/cloneType"] == "copy"
        assert wait_event(core_v1, namespace, "copied", "NoVolumeExpansion").message == \
            "No volume expansion is possible"
    finally:
        for name in (csi_class, fixed_class):
            storage_v1.delete_storage_class(name)


def test_data_import_cron_yields_a_boot_source(core_v1, custom_objects, storage_v1, namespace, san_class,
                                               snapshot_class, ontap):
    """The cron's import is kept as a snapshot (the Trident classes' source format) behind a
    DataSource; a VM disk elsewhere is then a restore of it: a FlexClone on ONTAP."""
    storage_v1.patch_storage_class(san_class, {"metadata": {"annotations": {ANN_DEFAULT_VIRT: "true"}}})
    cron, managed = unique("fedora-image-cron"), unique("fedora")
    custom_objects.create_namespaced_custom_object(CDI, VERSION, OS_IMAGES, "dataimportcrons", {
        "apiVersion": f"{CDI}/{VERSION}", "kind": "DataImportCron", "metadata": {"name": cron},
        "spec": {"schedule": "0 */12 * * *", "managedDataSource": managed, "garbageCollect": "Outdated",
                 "importsToKeep": 3, "template": {"spec": {
                     "source": {"registry": {"url": "docker://quay.io/containerdisks/fedora:latest"}},
                     "storage": {"resources": {"requests": {"storage": "30Gi"}}}}}}})
    try:
        def ready():
            source = custom_objects.get_namespaced_custom_object(CDI, VERSION, OS_IMAGES, "datasources", managed)
            conditions = (source.get("status") or {}).get("conditions") or []
            return source if any(c["type"] == "Ready" and c["status"] == "True" for c in conditions) else None

        data_source = wait_for(ready, f"DataSource {managed} to be ready", timeout=90)
        imported = data_source["spec"]["source"]["snapshot"]["name"]
        assert imported.startswith(f"{managed}-")
        status = custom_objects.get_namespaced_custom_object(CDI, VERSION, OS_IMAGES, "dataimportcrons", cron)["status"]
        assert status["lastImportedPVC"] == {"namespace": OS_IMAGES, "name": imported}
        assert status["sourceFormat"] == "snapshot" and status["currentImports"] == []
        assert {c["type"]: c["status"] for c in status["conditions"]} == {"Progressing": "False", "UpToDate": "True"}
        snapshot = custom_objects.get_namespaced_custom_object("snapshot.storage.k8s.io", "v1", OS_IMAGES,
                                                               "volumesnapshots", imported)
        assert snapshot["status"]["readyToUse"] and snapshot["spec"]["volumeSnapshotClassName"] == snapshot_class

        custom_objects.create_namespaced_custom_object(CDI, VERSION, namespace, "datavolumes", {
            "apiVersion": f"{CDI}/{VERSION}", "kind": "DataVolume", "metadata": {"name": "vm-root"},
            "spec": {"sourceRef": {"kind": "DataSource", "name": managed, "namespace": OS_IMAGES}, "storage": {}}})
        _succeeded(custom_objects, namespace, "vm-root")
        disk = core_v1.read_namespaced_persistent_volume_claim("vm-root", namespace)
        assert disk.spec.resources.requests["storage"] == "30Gi"  # the snapshot's restoreSize
        assert disk.metadata.annotations["cdi.kubevirt.io/cloneType"] == "snapshot"
        volume = ontap.volume(internal_name(disk.spec.volume_name))
        assert volume.clone.is_flexclone and volume.clone.parent_snapshot.name.startswith("snapshot-")
    finally:
        custom_objects.delete_namespaced_custom_object(CDI, VERSION, OS_IMAGES, "dataimportcrons", cron)
        storage_v1.patch_storage_class(san_class, {"metadata": {"annotations": {ANN_DEFAULT_VIRT: None}}})


def _cron(custom_objects, namespace: str, name: str, managed: str, storage_class: str, annotations: dict) -> None:
    custom_objects.create_namespaced_custom_object(CDI, VERSION, namespace, "dataimportcrons", {
        "apiVersion": f"{CDI}/{VERSION}", "kind": "DataImportCron",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {"schedule": "0 */12 * * *", "managedDataSource": managed, "template": {"spec": {
            "source": {"registry": {"url": "docker://quay.io/containerdisks/centos-stream:9"}},
            "storage": {"storageClassName": storage_class, "resources": {"requests": {"storage": "1Gi"}}}}}}})


def _cron_conditions(custom_objects, namespace: str, name: str, **expected) -> dict:
    def reported():
        cron = custom_objects.get_namespaced_custom_object(CDI, VERSION, namespace, "dataimportcrons", name)
        conditions = {c["type"]: c for c in (cron.get("status") or {}).get("conditions") or []}
        return conditions if all((conditions.get(k) or {}).get("reason") == v for k, v in expected.items()) else None
    return wait_for(reported, f"DataImportCron {namespace}/{name} to report {expected}")


def test_disconnected_data_import_crons_on_request(core_v1, custom_objects, namespace, nas_class):
    """A disconnected cluster, asked for with the lab's annotation: no digest (the registry is out
    of reach), or a digest but no right to create the import. Nothing is imported either way and
    the DataSource stays not Ready."""
    _cron(custom_objects, namespace, "offline", "offline-image", nas_class,
          {"lab.ontap.virtualization/import": "no-digest"})
    _cron(custom_objects, namespace, "forbidden", "forbidden-image", nas_class,
          {"lab.ontap.virtualization/import": "not-authorized"})
    offline = _cron_conditions(custom_objects, namespace, "offline", UpToDate="NoDigest", Progressing="NoImport")
    assert (offline["UpToDate"]["status"], offline["UpToDate"]["message"]) == ("False", "No source digest")
    assert (offline["Progressing"]["status"], offline["Progressing"]["message"]) == ("False", "No current import")
    forbidden = _cron_conditions(custom_objects, namespace, "forbidden", UpToDate="Outdated",
                                 Progressing="NotAuthorized")
    assert forbidden["Progressing"]["message"] == "Not authorized to create DataVolume"
    assert forbidden["UpToDate"]["status"] == "False"
    annotations = custom_objects.get_namespaced_custom_object(CDI, VERSION, namespace, "dataimportcrons",
                                                              "offline")["metadata"]["annotations"]
    assert "cdi.kubevirt.io/storage.import.sourceDesiredDigest" not in annotations
    for managed in ("offline-image", "forbidden-image"):
        def not_ready(managed=managed):
            source = custom_objects.get_namespaced_custom_object(CDI, VERSION, namespace, "datasources", managed)
            ready = [c for c in (source.get("status") or {}).get("conditions") or [] if c["type"] == "Ready"]
            return ready[0] if ready else None
        ready = wait_for(not_ready, f"DataSource {managed} to report")
        assert (ready["status"], ready["reason"], ready["message"]) == ("False", "NoSource", "No source PVC set")
    assert custom_objects.list_namespaced_custom_object(CDI, VERSION, namespace, "datavolumes")["items"] == []

    # Reconnected: the import runs and the cron is up to date.
    custom_objects.patch_namespaced_custom_object(CDI, VERSION, namespace, "dataimportcrons", "offline", {
        "metadata": {"annotations": {"lab.ontap.virtualization/import": None}}})
    _cron_conditions(custom_objects, namespace, "offline", UpToDate="UpToDate")
    for name in ("offline", "forbidden"):  # before the namespace goes, as CDI would recreate its DataSource
        custom_objects.delete_namespaced_custom_object(CDI, VERSION, namespace, "dataimportcrons", name)
    wait_for(lambda: not custom_objects.list_namespaced_custom_object(CDI, VERSION, namespace,
                                                                      "dataimportcrons")["items"],
             "the crons to be deleted")


def test_data_volume_adopts_a_claim_populated_for_it(core_v1, custom_objects, namespace, nas_class):
    """As after a VM restore: the claim exists first, marked for the DataVolume that adopts it."""
    body = claim("restored", nas_class, "Filesystem", "ReadWriteMany")
    body["metadata"]["annotations"] = {"cdi.kubevirt.io/storage.populatedFor": "restored"}
    core_v1.create_namespaced_persistent_volume_claim(namespace, body)
    bound_claim(core_v1, namespace, "restored")
    custom_objects.create_namespaced_custom_object(CDI, VERSION, namespace, "datavolumes", {
        "apiVersion": f"{CDI}/{VERSION}", "kind": "DataVolume",
        "metadata": {"name": "restored", "annotations": {"cdi.kubevirt.io/storage.prePopulated": "true"}},
        "spec": {"source": {"blank": {}}, "storage": {"storageClassName": nas_class,
                                                      "resources": {"requests": {"storage": "1Gi"}}}}})
    _succeeded(custom_objects, namespace, "restored")
    owners = core_v1.read_namespaced_persistent_volume_claim("restored", namespace).metadata.owner_references
    assert [(o.kind, o.name, o.controller) for o in owners] == [("DataVolume", "restored", True)]

from ansible_collections.ontap.virtualization.plugins.filter.report_line import FilterModule, report_line


def test_bound_san_backend():
    tbc = {"metadata": {"name": "ontap-san-iscsi"},
           "spec": {"storageDriverName": "ontap-san", "sanType": "iscsi", "svm": "svm_virt"},
           "status": {"phase": "Bound", "lastOperationStatus": "Success", "backendInfo": {"backendUUID": "5a0b"}}}
    assert report_line(tbc, "backend") == "  ontap-san-iscsi: ontap-san/iscsi on SVM svm_virt, Bound (Success) 5a0b"


def test_backend_not_yet_bound():
    tbc = {"metadata": {"name": "ontap-nas"}, "spec": {"storageDriverName": "ontap-nas"}}
    assert report_line(tbc, "backend") == "  ontap-nas: ontap-nas on SVM ?, not bound (-) "


def test_class_with_both_marks_and_sorted_parameters():
    sc = {"metadata": {"name": "ontap-san", "annotations": {
        "storageclass.kubernetes.io/is-default-class": "true",
        "storageclass.kubevirt.io/is-default-virt-class": "True"}},
        "parameters": {"sanType": "nvme", "backendType": "ontap-san"}}
    assert report_line(sc, "class") == ("  ontap-san: backendType=ontap-san sanType=nvme "
                                        "[cluster default, default for VMs]")


def test_class_without_marks_or_parameters():
    sc = {"metadata": {"name": "plain", "annotations": {"storageclass.kubernetes.io/is-default-class": "false"}}}
    assert report_line(sc, "class") == "  plain: "


def test_hyperconverged_conditions_in_order():
    hco = {"status": {"conditions": [{"type": "Available", "status": "True"}, {"type": "Degraded", "status": "False"}]}}
    assert report_line(hco, "hyperconverged") == "Available=True Degraded=False"


def test_hyperconverged_absent_or_without_status():
    assert report_line({}, "hyperconverged") == "absent"
    assert report_line({"metadata": {"name": "kubevirt-hyperconverged"}}, "hyperconverged") == "no status yet"


PVC = {"metadata": {"name": "rhel-disk"}, "spec": {"volumeName": "pv-1", "volumeMode": "Block",
                                                   "accessModes": ["ReadWriteMany"]},
       "status": {"capacity": {"storage": "30Gi"}}}
PV = {"spec": {"csi": {"volumeAttributes": {"protocol": "block", "internalName": "trident_pvc_1"}}}}


def vm(volumes, status="Running"):
    return {"metadata": {"name": "rhel"}, "status": {"printableStatus": status},
            "spec": {"template": {"spec": {"volumes": volumes}}}}


def test_vm_follows_each_disk_to_the_ontap_volume():
    line = report_line(vm([{"name": "rootdisk", "dataVolume": {"name": "rhel-disk"}},
                           {"name": "cloudinit", "cloudInitNoCloud": {}}]),
                       "vm", nodes={"rhel": "worker-1"}, pvcs=[PVC], pvs={"pv-1": PV})
    assert line == ("  rhel: Running on worker-1; disks: rootdisk -> rhel-disk (Block ReadWriteMany, 30Gi) -> "
                    "ONTAP block trident_pvc_1; cloudinit (not a volume)")


def test_vm_with_a_missing_claim_and_an_unprovisioned_one():
    pending = {"metadata": {"name": "data"}, "spec": {"volumeMode": "Filesystem", "accessModes": ["ReadWriteMany"]}}
    line = report_line(vm([{"name": "gone", "persistentVolumeClaim": {"claimName": "nowhere"}},
                           {"name": "data", "persistentVolumeClaim": {"claimName": "data"}}], status="Stopped"),
                       "vm", pvcs=[pending])
    assert line == ("  rhel: Stopped on -; disks: gone -> claim nowhere (missing); "
                    "data -> data (Filesystem ReadWriteMany, ?) -> ONTAP ? (not provisioned)")


def test_registered_as_a_filter():
    assert FilterModule().filters()["report_line"] is report_line

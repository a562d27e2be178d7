"""What Trident would refuse, found before anything is written (sources in module_utils/trident.py)."""

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import trident


def spec(**extra):
    base = {"version": 1, "storageDriverName": "ontap-san", "managementLIF": "10.0.0.1", "svm": "svm1",
            "credentials": {"name": "c", "type": "secret"}}
    base.update(extra)
    return base


def test_a_good_backend_has_no_problem():
    assert trident.backend_problems(spec(sanType="nvme", defaults={"spaceReserve": "none"})) == []


@pytest.mark.parametrize("extra, expected", [
    ({"storageDriverName": "ontap-nfs"}, "storage driver 'ontap-nfs' is not one Trident supports"),
    ({"password": "x"}, "'password' must not be in the backend config"),
    ({"colour": "blue"}, "'colour' is not a backend key Trident knows"),
    ({"sanType": "scsi"}, "invalid value for sanType: 'scsi'"),
    ({"storageDriverName": "ontap-nas", "sanType": "iscsi"}, "sanType applies only to the ontap-san drivers"),
    ({"storageDriverName": "ontap-san-economy", "sanType": "nvme"}, "ontap-san-economy supports only iSCSI"),
    ({"nasType": "nfs"}, "nasType must not be set on a SAN backend"),
    ({"sanType": "nvme", "useREST": False}, "NVMe/TCP backends need the REST API"),
    ({"limitVolumeSize": "lots"}, "limitVolumeSize 'lots' is not a size"),
    ({"storagePrefix": "9lives"}, "storage prefix '9lives' may only contain letters"),
    ({"storagePrefix": "vm/disks"}, "storage prefix 'vm/disks' may only contain letters"),
    ({"defaults": {"colour": "x"}}, "'colour' is not a volume default Trident knows"),
])
def test_backend_problems(extra, expected):
    problems = trident.backend_problems(spec(**extra))
    assert any(expected in problem for problem in problems), problems


def test_flexgroup_is_one_of_the_nas_drivers_everywhere():
    assert "ontap-nas-flexgroup" in trident.NAS_DRIVERS and "ontap-nas-flexgroup" in trident.DRIVERS
    assert trident.backend_problems(spec(storageDriverName="ontap-nas-flexgroup")) == []


@pytest.mark.parametrize("parameters, expected", [
    ({"backendType": "ontap-san", "sanType": "iscsi", "provisioningType": "thin"}, None),
    ({"trident.netapp.io/backendType": "ontap-nas", "csi.storage.k8s.io/fstype": "xfs"}, None),
    ({"backendType": "ontap-san", "speed": "fast"}, "'speed' is not a StorageClass parameter Trident accepts"),
    ({"backendType": "ontap-san", "media": "tape"}, "parameter media='tape' must be one of hdd, ssd, hybrid"),
    ({"backendType": "ontap-san", "IOPS": "many"}, "parameter IOPS='many' must be a whole number"),
    ({"backendType": "ontap-san", "fsType": "ntfs"}, "fsType 'ntfs' is not one of"),
    ({"backendType": "ontap-nas", "sanType": "iscsi"}, "sanType applies to SAN classes only; with backendType ontap-nas"),
])
def test_storageclass_problems(parameters, expected):
    problems = trident.storageclass_problems(parameters)
    if expected is None:
        assert problems == []
    else:
        assert any(expected in problem for problem in problems), problems


def test_defaults_are_strings_as_trident_reads_them():
    assert [trident.as_trident_string(v) for v in (True, False, 10, "none")] == ["true", "false", "10", "none"]

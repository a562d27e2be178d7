"""The pure logic of the MTV modules: thumbprints, cutover times, per-VM blockers and progress, map building."""

import datetime

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import mtv_install, mtv_plan, mtv_provider, mtv_run
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError


def test_thumbprints_are_compared_without_separators_or_case():
    assert mtv_provider.normalize_thumbprint("526c4e881d78ae121cf3bb6c5bf4e28286a708af") == \
        "52:6C:4E:88:1D:78:AE:12:1C:F3:BB:6C:5B:F4:E2:82:86:A7:08:AF"
    assert mtv_provider.normalize_thumbprint("52 6c 4e 88 1d 78 ae 12 1c f3 bb 6c 5b f4 e2 82 86 a7 08 af") == \
        "52:6C:4E:88:1D:78:AE:12:1C:F3:BB:6C:5B:F4:E2:82:86:A7:08:AF"
    with pytest.raises(ModuleError, match="40 hex digits"):
        mtv_provider.normalize_thumbprint("52:6C:4E")


def test_the_fingerprint_is_vsphere_s_sha1_format():
    assert mtv_provider.fingerprint(b"") == "DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09"


def test_a_url_must_be_https():
    with pytest.raises(ModuleError, match="over HTTPS"):
        mtv_provider.endpoint("http://vcenter/sdk")
    assert mtv_provider.endpoint("https://vcenter.example.com/sdk") == ("vcenter.example.com", 443)


NOW = datetime.datetime(2026, 12, 5, 1, 0, 0)


@pytest.mark.parametrize("asked, live, expected", [
    (None, None, None),
    (None, "2026-12-05T02:00:00Z", "2026-12-05T02:00:00Z"),
    ("now", None, "2026-12-05T01:00:00Z"),
    ("now", "2026-12-05T00:30:00Z", "2026-12-05T00:30:00Z"),  # already passed: a rerun of "now" changes nothing
    ("now", "2026-12-05T02:00:00Z", "2026-12-05T01:00:00Z"),  # moved forward to now
    ("2026-12-05T03:00:00+01:00", None, "2026-12-05T02:00:00Z"),
    ("2026-12-05T02:00:00Z", "2026-12-05T02:00:00Z", "2026-12-05T02:00:00Z"),
    ("2026-12-06T02:00:00Z", "2026-12-05T02:00:00Z", "2026-12-06T02:00:00Z"),
])
def test_cutover_times(asked, live, expected):
    assert mtv_run.cutover_time(asked, live, NOW) == expected


def test_a_cutover_that_is_not_a_time_is_refused():
    with pytest.raises(ModuleError, match="RFC3339"):
        mtv_run.cutover_time("tomorrow", None, NOW)


def test_blockers_are_listed_per_vm():
    plan = {"spec": {"vms": [{"id": "vm-1", "name": "cbt-off"}]}, "status": {"conditions": [
        {"type": "VMMissingChangedBlockTracking", "status": "True", "category": "Critical",
         "reason": "MissingChangedBlockTracking", "message": "CBT off.", "items": [" id:vm-1 name:'cbt-off' "]},
        {"type": "VDDKInitImageUnavailable", "status": "True", "category": "Critical", "message": "No VDDK."},
        {"type": "TargetNameNotValid", "status": "True", "category": "Warn", "message": "renamed",
         "items": [" id:vm-1 name:'cbt-off' "]},
        {"type": "Ready", "status": "True", "category": "Required"}]}}
    assert mtv_plan.per_vm_blockers(plan) == {
        "cbt-off": ["VMMissingChangedBlockTracking (MissingChangedBlockTracking): CBT off"],
        "plan": ["VDDKInitImageUnavailable: No VDDK"]}


def test_the_first_network_goes_to_the_pod_network_and_the_others_are_ignored():
    vms = [{"name": "a", "nics": [{"network": {"id": "network-6"}}, {"network": {"id": "dvportgroup-12"}}]}]
    networks = [{"id": "network-6", "name": "VM Network"}, {"id": "dvportgroup-12", "name": "DC0_DVPG0"}]
    params = {"network_map": None, "target_namespace": "apps"}
    assert mtv_plan.network_pairs(params, vms, networks) == [
        {"source": {"id": "network-6", "name": "VM Network"}, "destination": {"type": "pod"}},
        {"source": {"id": "dvportgroup-12", "name": "DC0_DVPG0"}, "destination": {"type": "ignored"}}]


def test_a_given_network_map_must_cover_every_nic():
    vms = [{"name": "a", "nics": [{"network": {"id": "network-6"}}, {"network": {"id": "dvportgroup-12"}}]}]
    networks = [{"id": "network-6", "name": "VM Network"}, {"id": "dvportgroup-12", "name": "DC0_DVPG0"}]
    params = {"network_map": [{"source": "VM Network", "type": "pod", "name": None, "namespace": None}],
              "target_namespace": "apps"}
    with pytest.raises(ModuleError, match="a: DC0_DVPG0"):
        mtv_plan.network_pairs(params, vms, networks)


class FakeKube:
    def __init__(self, classes):
        self.classes = classes

    def ref(self, *args):
        return args

    def list(self, ref):
        return self.classes, "1"


def sc(name, backend, default=False):
    annotations = {mtv_plan.DEFAULT_VIRT_CLASS: "true"} if default else {}
    return {"metadata": {"name": name, "annotations": annotations}, "provisioner": mtv_plan.TRIDENT,
            "parameters": {"backendType": backend}}


def test_datastores_default_to_the_ontap_san_class_as_block_rwx():
    kube = FakeKube([sc("nas", "ontap-nas"), sc("san-a", "ontap-san"), sc("san-b", "ontap-san", default=True)])
    params = {"storage_map": None, "storage_class": None, "volume_mode": "Block", "access_mode": "ReadWriteMany"}
    vms = [{"disks": [{"datastore": {"id": "datastore-59"}}, {"datastore": {"id": "datastore-59"}}]}]
    assert mtv_plan.storage_pairs(kube, params, vms, [{"id": "datastore-59", "name": "LocalDS_0"}]) == [
        {"source": {"id": "datastore-59", "name": "LocalDS_0"},
         "destination": {"storageClass": "san-b", "volumeMode": "Block", "accessMode": "ReadWriteMany"}}]


def test_several_san_classes_and_no_default_ask_for_storage_class():
    kube = FakeKube([sc("san-a", "ontap-san"), sc("san-b", "ontap-san")])
    with pytest.raises(ModuleError, match="san-a, san-b"):
        mtv_plan.default_class(kube, {"storage_class": None})


def test_progress_per_vm():
    migration = {"spec": {"cutover": "2026-12-05T02:00:00Z"}, "status": {"vms": [{
        "name": "rhel9-postgres", "id": "vm-100", "phase": "CopyingPaused", "warm": {"successes": 2},
        "pipeline": [{"name": "Initialize", "phase": "Completed"},
                     {"name": "DiskTransfer", "phase": "Running", "progress": {"completed": 512, "total": 20480}}]}]}}
    assert mtv_run.progress_line(migration) == \
        "rhel9-postgres: CopyingPaused, DiskTransfer 512/20480 MB, precopies 2 (cutover 2026-12-05T02:00:00Z)"
    assert mtv_run.vm_progress(migration["status"]["vms"][0])["precopies"] == 2


def test_controller_settings_are_what_the_crd_accepts():
    spec, managed = mtv_install.controller_spec({"max_vms_in_flight": 4, "precopy_interval": 30,
                                                 "features": {"copy_offload": False}, "spec": {"x": "1"}})
    assert spec == {"controller_max_vm_inflight": 4, "controller_precopy_interval": 30,
                    "feature_copy_offload": "false", "x": "1"}
    assert "spec.x" in managed
    with pytest.raises(ModuleError, match="repeats controller_max_vm_inflight"):
        mtv_install.controller_spec({"max_vms_in_flight": 4, "spec": {"controller_max_vm_inflight": 5}})
    with pytest.raises(ModuleError, match="strings"):
        mtv_install.controller_spec({"spec": {"feature_ui_plugin": True}})

"""The pure parts of snapshot sets: ages, which sets to prune, which VolumeSnapshotClass serves a disk, a VM's copy."""

import datetime

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import snapshots, vms
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

NOW = datetime.datetime(2026, 11, 29, 12, 0, 0)


def made(hours_ago):
    stamp = (NOW - datetime.timedelta(hours=hours_ago)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [{"metadata": {"creationTimestamp": stamp}}]


def test_ages_read_units_and_refuse_anything_else():
    assert snapshots.seconds_of("7d") == 7 * 86400
    assert snapshots.seconds_of("1d12h") == 36 * 3600
    for bad in ("7", "7 days", "d", "1x", "-1d"):
        with pytest.raises(ModuleError, match="is not an age"):
            snapshots.seconds_of(bad)


def test_keep_prunes_beyond_the_newest_and_never_the_set_just_taken():
    sets = {"mon": made(72), "tue": made(48), "wed": made(24), "today": made(0)}
    assert snapshots.prunable(sets, keep=2, now=NOW) == ["tue", "mon"]
    assert snapshots.prunable(sets, keep=1, spare="wed", now=NOW) == ["tue", "mon"]


def test_max_age_prunes_the_older_sets():
    sets = {"mon": made(72), "tue": made(48), "today": made(1)}
    assert snapshots.prunable(sets, max_age=snapshots.seconds_of("2d"), now=NOW) == ["mon"]
    assert snapshots.prunable(sets, now=NOW) == []


def vsc(name, driver="csi.trident.netapp.io", default=False):
    annotations = {snapshots.DEFAULT_CLASS_ANNOTATION: "true"} if default else {}
    return {"metadata": {"name": name, "annotations": annotations}, "driver": driver}


def test_the_snapshot_class_is_the_only_or_the_default_one_of_the_driver():
    driver = "csi.trident.netapp.io"
    assert snapshots.snapshot_class_for(driver, [vsc("a"), vsc("other", "x")]) == ("a", None)
    assert snapshots.snapshot_class_for(driver, [vsc("a"), vsc("b", default=True)]) == ("b", None)
    assert snapshots.snapshot_class_for(driver, [vsc("a"), vsc("b")])[1] == \
        "2 VolumeSnapshotClasses serve csi.trident.netapp.io and none is the default"
    assert snapshots.snapshot_class_for(driver, [])[1] == "no VolumeSnapshotClass serves its driver csi.trident.netapp.io"
    assert snapshots.snapshot_class_for(driver, [vsc("x", "other")], "x")[1] == \
        "the VolumeSnapshotClass x is for other, not csi.trident.netapp.io"


def test_object_names_are_deterministic_labels():
    assert snapshots.object_name("vm1", "daily", "rootdisk") == "vm1-rootdisk-daily"
    long = snapshots.object_name("vm" * 30, "2026-11-29T12:00", "data")
    assert len(long) <= 63 and long == snapshots.object_name("vm" * 30, "2026-11-29T12:00", "data")


def test_a_copy_of_a_vm_keeps_its_shape_but_not_its_identity():
    vm = {"metadata": {"name": "src"}, "spec": {
        "running": True, "dataVolumeTemplates": [{"metadata": {"name": "src-root"}}],
        "template": {"spec": {
            "hostname": "src", "domain": {"firmware": {"uuid": "u", "serial": "s", "bootloader": {"efi": {}}},
                                          "devices": {"interfaces": [{"name": "default", "masquerade": {},
                                                                      "macAddress": "02:00:00:00:00:01"}]}},
            "volumes": [{"name": "root", "dataVolume": {"name": "src-root"}}, {"name": "init", "cloudInitNoCloud": {}}]}}}}
    spec = vms.copy_spec(vm, {"root": "copy-root"}, "Halted")
    assert spec["runStrategy"] == "Halted" and "running" not in spec and "dataVolumeTemplates" not in spec
    template = spec["template"]["spec"]
    assert "hostname" not in template and template["domain"]["firmware"] == {"bootloader": {"efi": {}}}
    assert template["domain"]["devices"]["interfaces"] == [{"name": "default", "masquerade": {}}]
    assert template["volumes"] == [{"name": "root", "persistentVolumeClaim": {"claimName": "copy-root"}},
                                   {"name": "init", "cloudInitNoCloud": {}}]
    assert vm["spec"]["template"]["spec"]["hostname"] == "src"  # the source is not touched

"""vm_snapshot against the lab: CSI VolumeSnapshots through Trident (ONTAP snapshots), KubeVirt VM snapshots, pruning."""

import time

import pytest

from protection import Ontap, delete_namespace, make_vms, module_play, result_of

NAMESPACE = "protect-snap"
VOLUME_SNAPSHOTS = ("snapshot.storage.k8s.io", "v1", "volumesnapshots")
VM_SNAPSHOTS = ("snapshot.kubevirt.io", "v1beta1", "virtualmachinesnapshots")


def snap(**args):
    return module_play("vm_snapshot", dict({"namespace": NAMESPACE}, **args))


def listed(custom_objects, kind, selector):
    return custom_objects.list_namespaced_custom_object(*kind[:2], NAMESPACE, kind[2], label_selector=selector)["items"]


@pytest.fixture(scope="module")
def vms(virtualization_stack, ansible, core_v1):
    make_vms(ansible, NAMESPACE, ["snap-a", "snap-b"])
    yield
    delete_namespace(core_v1, NAMESPACE)


@pytest.fixture(scope="module")
def taken(vms, ansible, audit):
    mark = audit.mark()
    check = ansible(snap(label_selector="protect=daily", snapshot="first"), check=True)
    check_writes = audit.writes_since(mark)
    first = ansible(snap(label_selector="protect=daily", snapshot="first"))
    second = ansible(snap(label_selector="protect=daily", snapshot="first"))
    return {"check": result_of(check), "check_writes": check_writes, "first": result_of(first), "second": result_of(second)}


def test_every_disk_of_every_selected_vm_gets_a_ready_snapshot_backed_by_an_ontap_snapshot(taken, custom_objects, ontap_vars):
    result = taken["first"]
    assert result["changed"] and not result.get("failed"), result
    assert [s["vm"] for s in result["snapshots"]] == ["snap-a", "snap-b"]
    ontap = Ontap(ontap_vars)
    for entry in result["snapshots"]:
        [volume] = entry["volumes"]
        assert entry["ready"] and volume["ready"] and volume["claim"] == entry["vm"] + "-data", entry
        live = custom_objects.get_namespaced_custom_object(*VOLUME_SNAPSHOTS[:2], NAMESPACE, VOLUME_SNAPSHOTS[2],
                                                           volume["volume_snapshot"])
        assert live["status"]["readyToUse"] is True
        assert live["spec"]["source"]["persistentVolumeClaimName"] == entry["vm"] + "-data"
        assert volume["ontap_snapshot"] in ontap.snapshot_names(volume["ontap_volume"]), volume


def test_a_second_run_changes_nothing_and_check_mode_writes_nothing(taken, custom_objects):
    assert taken["second"]["changed"] is False, taken["second"]
    assert taken["second"]["snapshots"] == taken["first"]["snapshots"]
    assert taken["check"]["changed"] is True and not taken["check"].get("failed"), taken["check"]
    assert taken["check_writes"] == []
    assert len(listed(custom_objects, VOLUME_SNAPSHOTS, "ontap.virtualization/vm=snap-a")) == 1


def test_keep_prunes_the_older_sets_and_their_ontap_snapshots(taken, ansible, custom_objects, ontap_vars):
    [older] = [e for e in taken["first"]["snapshots"] if e["vm"] == "snap-a"]
    result = result_of(ansible(snap(names=["snap-a"], snapshot="second", keep=1)))
    assert not result.get("failed") and result["pruned"] == {"snap-a": ["first"]}, result
    gone = older["volumes"][0]
    ontap = Ontap(ontap_vars)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        sets = [s["metadata"]["labels"]["ontap.virtualization/snapshot"]
                for s in listed(custom_objects, VOLUME_SNAPSHOTS, "ontap.virtualization/vm=snap-a")]
        if sets == ["second"] and gone["ontap_snapshot"] not in ontap.snapshot_names(gone["ontap_volume"]):
            break
        time.sleep(0.5)
    assert sets == ["second"]
    assert gone["ontap_snapshot"] not in ontap.snapshot_names(gone["ontap_volume"])
    again = result_of(ansible(snap(names=["snap-a"], snapshot="second", keep=1)))
    assert again["changed"] is False and again["pruned"] == {}, again


def test_a_virtual_machine_snapshot_reports_each_disk_down_to_ontap(vms, ansible, custom_objects, ontap_vars):
    result = result_of(ansible(snap(names=["snap-b"], snapshot="consistent", method="vm_snapshot")))
    assert not result.get("failed"), result
    [entry] = result["snapshots"]
    [volume] = entry["volumes"]
    assert entry["ready"] and volume["volume"] == "data" and volume["claim"] == "snap-b-data", entry
    assert volume["ontap_snapshot"] in Ontap(ontap_vars).snapshot_names(volume["ontap_volume"])
    [vm_snapshot] = listed(custom_objects, VM_SNAPSHOTS, "ontap.virtualization/snapshot=consistent")
    assert vm_snapshot["status"]["phase"] == "Succeeded" and vm_snapshot["spec"]["source"]["name"] == "snap-b"
    removed = result_of(ansible(snap(names=["snap-b"], snapshot="consistent", method="vm_snapshot", state="absent")))
    assert removed["changed"] and removed["pruned"] == {"snap-b": ["consistent"]}, removed


def test_a_missing_snapshot_class_is_refused_before_writing(vms, ansible, audit):
    mark = audit.mark()
    result = result_of(ansible(snap(names=["snap-a"], snapshot="nope", snapshot_class="no-such-class")))
    assert result["failed"] and "VM snap-a disk data (PVC snap-a-data): the VolumeSnapshotClass no-such-class does not exist" \
        in result["msg"], result
    assert audit.writes_since(mark) == []

"""vm_restore against the lab: a snapshot into a new VM on FlexClones of the ONTAP snapshot, and in place."""

import json

import pytest

from protection import Ontap, delete_namespace, make_vms, module_play, result_of

NAMESPACE = "protect-restore"
VM = ("kubevirt.io", "v1", "virtualmachines")
RESTORES = ("snapshot.kubevirt.io", "v1beta1", "virtualmachinerestores")


def play(module, **args):
    return module_play(module, dict({"namespace": NAMESPACE}, **args))


def vm_of(custom_objects, name):
    return custom_objects.get_namespaced_custom_object(*VM[:2], NAMESPACE, VM[2], name)


@pytest.fixture(scope="module")
def snapshots(virtualization_stack, ansible, core_v1):
    make_vms(ansible, NAMESPACE, ["rst-a"])
    taken = {}
    for method, name in (("volume_snapshots", "base"), ("vm_snapshot", "whole")):
        result = result_of(ansible(play("vm_snapshot", names=["rst-a"], snapshot=name, method=method)))
        assert not result.get("failed"), result
        taken[method] = result["snapshots"][0]
    yield taken
    delete_namespace(core_v1, NAMESPACE)


@pytest.fixture(scope="module")
def new_vm(snapshots, ansible, audit):
    args = dict(vm="rst-a", snapshot="base", target="rst-a-copy")
    mark = audit.mark()
    check = result_of(ansible(play("vm_restore", **args), check=True))
    check_writes = audit.writes_since(mark)
    first = result_of(ansible(play("vm_restore", **args)))
    second = result_of(ansible(play("vm_restore", **args)))
    return {"check": check, "check_writes": check_writes, "first": first, "second": second}


def test_a_snapshot_becomes_a_running_vm_on_the_ontap_volume_cloned_from_that_snapshot(
        new_vm, snapshots, custom_objects, core_v1, ontap_vars):
    result = new_vm["first"]
    assert result["changed"] and not result.get("failed"), result
    copy = vm_of(custom_objects, "rst-a-copy")
    assert copy["status"]["ready"] is True
    [volume] = copy["spec"]["template"]["spec"]["volumes"]
    claim = core_v1.read_namespaced_persistent_volume_claim(volume["persistentVolumeClaim"]["claimName"], NAMESPACE)
    [taken] = snapshots["volume_snapshots"]["volumes"]
    assert claim.status.phase == "Bound" and claim.spec.data_source_ref.name == taken["volume_snapshot"]
    pv = core_v1.read_persistent_volume(claim.spec.volume_name)
    clone = Ontap(ontap_vars).volume(pv.spec.csi.volume_attributes["internalName"])
    assert clone["clone"]["is_flexclone"] is True
    assert clone["clone"]["parent_volume"]["name"] == taken["ontap_volume"]
    assert clone["clone"]["parent_snapshot"]["name"] == taken["ontap_snapshot"]


def test_the_new_vm_has_a_new_identity(new_vm, custom_objects):
    source, copy = vm_of(custom_objects, "rst-a")["spec"]["template"]["spec"], vm_of(custom_objects, "rst-a-copy")["spec"]["template"]["spec"]
    assert source["domain"]["devices"]["interfaces"][0]["macAddress"]
    assert "macAddress" not in copy["domain"]["devices"]["interfaces"][0]
    assert source["domain"]["firmware"]["uuid"] != (copy["domain"].get("firmware") or {}).get("uuid")


def test_a_second_run_changes_nothing_and_check_mode_writes_nothing(new_vm):
    assert new_vm["second"]["changed"] is False and not new_vm["second"].get("failed"), new_vm["second"]
    assert new_vm["check"]["changed"] is True and not new_vm["check"].get("failed"), new_vm["check"]
    assert new_vm["check_writes"] == []


def test_restores_kubevirt_refuses_are_refused_before_writing(snapshots, ansible, audit):
    mark = audit.mark()
    running = result_of(ansible(play("vm_restore", vm="rst-a", snapshot="whole", method="vm_snapshot")))
    assert running["failed"] and "VM rst-a is running; KubeVirt restores only a stopped VM" in running["msg"], running
    patched = result_of(ansible(play("vm_restore", vm="rst-a", snapshot="whole", method="vm_snapshot", stop=True,
                                     patches=[json.dumps([{"op": "replace", "path": "/status/ready", "value": False}]),
                                              json.dumps([{"op": "add", "path": "/spec/template/spec/domain/devices/"
                                                           "interfaces/0/macAddress", "value": "02:00:00:00:00:99"}])])))
    assert patched["failed"] and "patch path /status/ready is outside" in patched["msg"], patched
    assert "has a colon" in patched["msg"]
    assert audit.writes_since(mark) == []


def test_an_in_place_restore_brings_back_the_snapshot_and_restarts_the_vm(snapshots, ansible, custom_objects, audit):
    custom_objects.patch_namespaced_custom_object(*VM[:2], NAMESPACE, VM[2], "rst-a", {
        "spec": {"template": {"spec": {"domain": {"memory": {"guest": "512Mi"}}}}}})
    args = dict(vm="rst-a", snapshot="whole", method="vm_snapshot", stop=True)
    mark = audit.mark()
    check = result_of(ansible(play("vm_restore", **args), check=True))
    assert check["changed"] is True and not check.get("failed"), check
    assert audit.writes_since(mark) == []  # neither the stop, nor the restore, nor the start
    assert vm_of(custom_objects, "rst-a")["spec"]["runStrategy"] == "Always"
    result = result_of(ansible(play("vm_restore", **args)))
    assert result["changed"] and not result.get("failed"), result
    assert result["restore"]["status"]["complete"] is True
    vm = vm_of(custom_objects, "rst-a")
    assert vm["spec"]["template"]["spec"]["domain"]["memory"]["guest"] == "256Mi"
    assert vm["spec"]["runStrategy"] == "Always" and _ready_soon(custom_objects)
    [volume] = [v for v in vm["spec"]["template"]["spec"]["volumes"] if v["name"] == "data"]
    assert volume != {"name": "data", "dataVolume": {"name": "rst-a-data"}}  # a claim restored from the snapshot
    again = result_of(ansible(play("vm_restore", **args)))
    assert again["changed"] is False and not again.get("failed"), again
    [restore] = custom_objects.list_namespaced_custom_object(*RESTORES[:2], NAMESPACE, RESTORES[2])["items"]
    assert restore["spec"]["virtualMachineSnapshotName"] == snapshots["vm_snapshot"]["objects"][0]


def _ready_soon(custom_objects, seconds=120):
    import time
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if vm_of(custom_objects, "rst-a").get("status", {}).get("ready"):
            return True
        time.sleep(1)
    return False

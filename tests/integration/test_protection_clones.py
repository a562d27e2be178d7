"""vm_clone against the lab: KubeVirt's VirtualMachineClone and CSI clones (Trident FlexClones) of a running VM."""

import pytest

from protection import Ontap, delete_namespace, eventually, make_vms, module_play, result_of

NAMESPACE = "protect-clone"
VM = ("kubevirt.io", "v1", "virtualmachines")
VMI = ("kubevirt.io", "v1", "virtualmachineinstances")
CLONES = ("clone.kubevirt.io", "v1beta1", "virtualmachineclones")


def play(**args):
    return module_play("vm_clone", dict({"namespace": NAMESPACE}, **args))


def get(custom_objects, kind, name):
    return custom_objects.get_namespaced_custom_object(*kind[:2], NAMESPACE, kind[2], name)


def ontap_clone_of(core_v1, ontap_vars, claim_name):
    claim = core_v1.read_namespaced_persistent_volume_claim(claim_name, NAMESPACE)
    pv = core_v1.read_persistent_volume(claim.spec.volume_name)
    return Ontap(ontap_vars).volume(pv.spec.csi.volume_attributes["internalName"])


def ontap_volume_of(core_v1, claim_name):
    claim = core_v1.read_namespaced_persistent_volume_claim(claim_name, NAMESPACE)
    return core_v1.read_persistent_volume(claim.spec.volume_name).spec.csi.volume_attributes["internalName"]


def macs(custom_objects, name):
    vmi = get(custom_objects, VMI, name)
    return [i.get("mac") for i in vmi.get("status", {}).get("interfaces", [])] or \
        [i.get("macAddress") for i in vmi["spec"]["domain"]["devices"].get("interfaces", [])]


@pytest.fixture(scope="module")
def vms(virtualization_stack, ansible, core_v1):
    make_vms(ansible, NAMESPACE, ["cl-src"])
    yield
    delete_namespace(core_v1, NAMESPACE)


@pytest.fixture(scope="module")
def csi(vms, ansible, audit):
    args = dict(source="cl-src", target="cl-twin", method="csi_clone")
    mark = audit.mark()
    check = result_of(ansible(play(**args), check=True))
    check_writes = audit.writes_since(mark)
    return {"check": check, "check_writes": check_writes, "first": result_of(ansible(play(**args))),
            "second": result_of(ansible(play(**args)))}


def test_a_running_vm_is_cloned_onto_flexclones_of_its_disks_with_new_macs(csi, custom_objects, core_v1, ontap_vars):
    result = csi["first"]
    assert result["changed"] and not result.get("failed"), result
    assert get(custom_objects, VMI, "cl-src")["status"]["phase"] == "Running"  # the source kept running
    twin = get(custom_objects, VM, "cl-twin")
    assert twin["status"]["ready"] is True
    [volume] = twin["spec"]["template"]["spec"]["volumes"]
    clone = ontap_clone_of(core_v1, ontap_vars, volume["persistentVolumeClaim"]["claimName"])
    assert clone["clone"]["is_flexclone"] is True
    assert clone["clone"]["parent_volume"]["name"] == ontap_volume_of(core_v1, "cl-src-data")
    assert set(macs(custom_objects, "cl-twin")).isdisjoint(macs(custom_objects, "cl-src"))
    assert "macAddress" not in twin["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]


def test_a_second_run_changes_nothing_and_check_mode_writes_nothing(csi):
    assert csi["second"]["changed"] is False and not csi["second"].get("failed"), csi["second"]
    assert csi["check"]["changed"] is True and not csi["check"].get("failed"), csi["check"]
    assert csi["check_writes"] == []


def test_clones_that_would_not_be_fast_clones_are_refused_before_writing(vms, ansible, audit):
    mark = audit.mark()
    cases = [
        (dict(target_namespace="elsewhere"), "A clone into namespace elsewhere from protect-clone is refused"),
        (dict(size="512Mi"), "disk data: 512Mi is smaller than the source's 1Gi"),
        (dict(storage_class="ontap-nas"), "disk data: class ontap-nas is for backend type ontap-nas, the source's for ontap-san"),
    ]
    for change, message in cases:
        result = result_of(ansible(play(source="cl-src", target="cl-refused", method="csi_clone", **change)))
        assert result["failed"] and message in result["msg"], (change, result)
    assert audit.writes_since(mark) == []


def test_a_larger_clone_is_made_at_the_source_size_then_expanded_and_says_so(vms, ansible, core_v1, ontap_vars):
    result = result_of(ansible(play(source="cl-src", target="cl-big", method="csi_clone", size="2Gi", running=False)))
    assert not result.get("failed") and result["notes"] == ["the clones were made at the source's size and expanded to 2Gi"]
    [claim] = result["claims"]
    assert core_v1.read_namespaced_persistent_volume_claim(claim, NAMESPACE).spec.resources.requests["storage"] == "2Gi"
    assert ontap_clone_of(core_v1, ontap_vars, claim)["clone"]["is_flexclone"] is True


def test_a_virtual_machine_clone_stops_the_source_only_when_asked_and_starts_it_again(vms, csi, ansible, custom_objects,
                                                                                      core_v1, ontap_vars):
    args = dict(source="cl-src", target="cl-copy", stop_source=True, label_filters=["*", "!protect"])
    result = result_of(ansible(play(**args)))
    assert result["changed"] and not result.get("failed"), result
    assert result["clone"]["status"]["phase"] == "Succeeded"
    copy = get(custom_objects, VM, "cl-copy")
    assert "protect" not in copy["metadata"].get("labels", {}) and copy["status"]["ready"] is True
    source = get(custom_objects, VM, "cl-src")
    assert source["spec"]["runStrategy"] == "Always" and "ontap.virtualization/restart-with" not in \
        source["metadata"].get("annotations", {})
    claim = next(v for v in copy["spec"]["template"]["spec"]["volumes"] if v["name"] == "data")
    claim_name = (claim.get("persistentVolumeClaim") or {}).get("claimName") or claim["dataVolume"]["name"]
    # Upstream, a VirtualMachineClone is a VirtualMachineSnapshot restored into the new VM; once the restored
    # claims are bound KubeVirt deletes the restore and that snapshot (kubevirt v1.8.4
    # pkg/virt-controller/watch/clone/clone.go sync, case Succeeded: cleanupRestore, cleanupSnapshot). Deleting
    # an ONTAP snapshot a FlexClone still uses fails as busy, and Trident then splits the clone so that the
    # retried delete succeeds (trident v26.06.0 storage_drivers/ontap/ontap_san.go DeleteSnapshot ->
    # ontap_common.go SplitVolumeFromBusySnapshotWithDelay). So the copy's disk is a FlexClone of the source's
    # snapshot when made, and a volume of its own (split) once the clone is done: on a real cluster as here.
    pv_name = core_v1.read_namespaced_persistent_volume_claim(claim_name, NAMESPACE).spec.volume_name
    record = custom_objects.get_namespaced_custom_object("trident.netapp.io", "v1", "trident", "tridentvolumes",
                                                         pv_name)
    source_pv = core_v1.read_namespaced_persistent_volume_claim("cl-src-data", NAMESPACE).spec.volume_name
    assert record["config"]["cloneSourceVolume"] == source_pv and record["config"]["cloneSourceSnapshot"]
    eventually(lambda: not custom_objects.list_namespaced_custom_object(
        "snapshot.kubevirt.io", "v1beta1", NAMESPACE, "virtualmachinesnapshots")["items"], "the clone's snapshot deleted")
    source_volume = ontap_volume_of(core_v1, "cl-src-data")
    eventually(lambda: record["config"]["cloneSourceSnapshot"] not in Ontap(ontap_vars).snapshot_names(source_volume),
               "the ONTAP snapshot behind the clone's snapshot deleted")
    copy_volume = ontap_clone_of(core_v1, ontap_vars, claim_name)
    assert copy_volume["name"] != source_volume and copy_volume["clone"]["is_flexclone"] is False
    assert set(macs(custom_objects, "cl-copy")).isdisjoint(macs(custom_objects, "cl-src"))
    again = result_of(ansible(play(**args)))
    assert again["changed"] is False and not again.get("failed"), again

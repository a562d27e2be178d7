"""Admission of snapshots, restores and clones, and the clone controller's refusals (KubeVirt v1.8.4)."""

import pytest
from kubernetes.client.exceptions import ApiException

from virt_helpers import (PVC, VM, VMCLONE, VMRESTORE, VMSNAPSHOT, blank_vm, claim_vm, condition, message, unique,
                          wait_for, wait_vm_running, wait_vm_stopped)

SNAPSHOT_VALIDATOR = 'admission webhook "virtualmachinesnapshot-validator.snapshot.kubevirt.io" denied the request: '
RESTORE_VALIDATOR = 'admission webhook "virtualmachinerestore-validator.snapshot.kubevirt.io" denied the request: '
CLONE_VALIDATOR = 'admission webhook "virtualmachineclone-validator.kubevirt.io" denied the request: '
BACKEND_STORAGE = "Clone of source with backendstorage is not supported"
PERSISTENT_EFI = {"bootloader": {"efi": {"persistent": True, "secureBoot": False}}}
PERSISTENT_TPM = {"tpm": {"persistent": True}}


def stopped_vm(kube, namespace, storage_class, devices=None, firmware=None, interface=None) -> str:
    """A stopped VM on a plain claim, with extra ``devices``, a ``firmware`` and one pod ``interface``."""
    name = unique("vm")
    domain = {"devices": {"disks": [{"name": "rootdisk", "disk": {"bus": "virtio"}}], **(devices or {})}}
    template_spec = {"domain": domain}
    if firmware:
        domain["firmware"] = firmware
    if interface:
        domain["devices"]["interfaces"] = [{"name": "default", "masquerade": {}, **interface}]
        template_spec["networks"] = [{"name": "default", "pod": {}}]
    claim_vm(kube, namespace, name, storage_class, run_strategy="Halted", template_spec=template_spec)
    kube.wait(*PVC, f"{name}-disk", namespace, lambda c: (c.get("status") or {}).get("phase") == "Bound", "to bind")
    wait_vm_stopped(kube, namespace, name)
    return name


def take_snapshot(kube, namespace, vm: str) -> dict:
    name = unique(f"{vm}-snap")
    kube.create({"apiVersion": VMSNAPSHOT[0], "kind": VMSNAPSHOT[1], "metadata": {"name": name},
                 "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm}}}, namespace)
    return kube.wait(*VMSNAPSHOT, name, namespace, lambda s: (s.get("status") or {}).get("readyToUse"),
                     "to be ready to use")


def restore_body(snapshot: str, target: str, **spec) -> dict:
    return {"apiVersion": VMRESTORE[0], "kind": VMRESTORE[1], "metadata": {"name": unique("restore")},
            "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": target},
                     "virtualMachineSnapshotName": snapshot, **spec}}


def refusal(create) -> ApiException:
    with pytest.raises(ApiException) as refused:
        create()
    return refused.value


def clone_body(source: str, kind: str = "VirtualMachine", **spec) -> dict:
    api_group = "kubevirt.io" if kind == "VirtualMachine" else "snapshot.kubevirt.io"
    return {"apiVersion": VMCLONE[0], "kind": VMCLONE[1], "metadata": {"name": unique("clone")},
            "spec": {"source": {"apiGroup": api_group, "kind": kind, "name": source},
                     "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": unique("copy")},
                     **spec}}


def wait_clone_failed(kube, namespace, clone: dict) -> dict:
    return kube.wait(*VMCLONE, clone["metadata"]["name"], namespace,
                     lambda c: (c.get("status") or {}).get("phase") in ("Failed", "Succeeded"), "to fail")


# --- VirtualMachineSnapshot --------------------------------------------------------------------------

def test_a_snapshot_spec_cannot_change(stack, kube, namespace):
    """kubevirt v1.8.4 pkg/storage/admitters/vmsnapshot.go Admit (Update): any spec change is refused,
    with upstream's own wording ("spec in immutable after creation")."""
    vm = stopped_vm(kube, namespace, stack.san)
    snap = take_snapshot(kube, namespace, vm)
    error = refusal(lambda: kube.patch(*VMSNAPSHOT, snap["metadata"]["name"], namespace,
                                       {"spec": {"failureDeadline": "1m"}}))
    assert error.status == 422
    assert message(error) == SNAPSHOT_VALIDATOR + "spec in immutable after creation"
    # metadata may change
    kube.patch(*VMSNAPSHOT, snap["metadata"]["name"], namespace, {"metadata": {"labels": {"kept": "yes"}}})


@pytest.mark.parametrize("source, answer", [
    ({"apiGroup": "cdi.kubevirt.io", "kind": "DataVolume", "name": "x"}, "invalid apiGroup"),
    ({"apiGroup": "kubevirt.io", "kind": "VirtualMachineInstance", "name": "x"}, "invalid kind"),
])
def test_only_a_virtual_machine_can_be_snapshotted(stack, kube, namespace, source, answer):
    """kubevirt v1.8.4 pkg/storage/admitters/vmsnapshot.go Admit (Create): the source must be a
    kubevirt.io VirtualMachine."""
    error = refusal(lambda: kube.create({"apiVersion": VMSNAPSHOT[0], "kind": VMSNAPSHOT[1],
                                         "metadata": {"name": unique("snap")}, "spec": {"source": source}}, namespace))
    assert error.status == 422 and message(error) == SNAPSHOT_VALIDATOR + answer


# --- VirtualMachineRestore ---------------------------------------------------------------------------

@pytest.mark.parametrize("patch, answer", [
    ('{"op":"replace","path":"/metadata/name","value":"other"}',
     'patching is valid only for elements under /spec/ only: "path":"/metadata/name"'),
    ('{"op":"replace","path":"/spec/template/spec/domain/devices/interfaces/0/macAddress",'
     '"value":"02:00:00:00:00:01"}',
     'patch format is not valid - one ":" expected in a single key-value json patch: "value":"02:00:00:00:00:01"'),
])
def test_restore_patches_are_refused_outside_spec_labels_annotations_or_with_a_colon_in_a_value(
        stack, kube, namespace, patch, answer):
    """kubevirt v1.8.4 pkg/storage/admitters/vmrestore.go validatePatches: each patch is split on ","
    then ":" as text; a pair without exactly one ":" is refused (so a MAC address value is), and a
    "path" must start with /spec/, /metadata/labels/ or /metadata/annotations/."""
    vm = stopped_vm(kube, namespace, stack.san)
    snap = take_snapshot(kube, namespace, vm)
    error = refusal(lambda: kube.create(restore_body(snap["metadata"]["name"], unique("new"), patches=[patch]),
                                        namespace))
    assert error.status == 422 and message(error) == RESTORE_VALIDATOR + answer
    allowed = '{"op":"add","path":"/metadata/labels/restored","value":"yes"}'
    kube.create(restore_body(snap["metadata"]["name"], unique("new"), patches=[allowed]), namespace)


def test_a_second_restore_to_a_target_whose_restore_runs_is_refused(stack, kube, namespace):
    """kubevirt v1.8.4 pkg/storage/admitters/vmrestore.go Admit (Create): a restore whose target
    equals that of a restore without status.complete is refused ("VirtualMachineRestore %q in
    progress"). The first restore waits for its running target to stop (WaitGracePeriod)."""
    name = unique("vm")
    claim_vm(kube, namespace, name, stack.san)
    wait_vm_running(kube, namespace, name)
    snap = take_snapshot(kube, namespace, name)
    first = kube.create(restore_body(snap["metadata"]["name"], name), namespace)
    error = refusal(lambda: kube.create(restore_body(snap["metadata"]["name"], name), namespace))
    assert error.status == 422
    assert message(error) == RESTORE_VALIDATOR + f'VirtualMachineRestore "{first["metadata"]["name"]}" in progress'
    kube.delete(*VMRESTORE, first["metadata"]["name"], namespace)


def test_restore_to_another_vm_of_a_vm_with_backend_storage_is_refused(stack, kube, namespace):
    """kubevirt v1.8.4 pkg/storage/admitters/vmrestore.go validateTargetVM: when the target is not
    the snapshot's source, a snapshotted VM with backend storage (persistent EFI here,
    backendstorage.IsBackendStorageNeeded) is refused; a restore onto the source itself is not."""
    vm = stopped_vm(kube, namespace, stack.san, firmware=PERSISTENT_EFI)
    snap = take_snapshot(kube, namespace, vm)
    error = refusal(lambda: kube.create(restore_body(snap["metadata"]["name"], unique("new")), namespace))
    assert error.status == 422
    assert message(error) == RESTORE_VALIDATOR + ("Restore to a different VM is not supported when snapshotted VM "
                                                  "has backend storage (persistent TPM or EFI)")
    kube.create(restore_body(snap["metadata"]["name"], vm), namespace)


def test_a_restore_spec_cannot_change(stack, kube, namespace):
    """kubevirt v1.8.4 pkg/storage/admitters/vmrestore.go Admit (Update): the spec is immutable."""
    vm = stopped_vm(kube, namespace, stack.san)
    snap = take_snapshot(kube, namespace, vm)
    restore = kube.create(restore_body(snap["metadata"]["name"], vm), namespace)
    error = refusal(lambda: kube.patch(*VMRESTORE, restore["metadata"]["name"], namespace,
                                       {"spec": {"target": {"name": "elsewhere"}}}))
    assert error.status == 422 and message(error) == RESTORE_VALIDATOR + "spec in immutable after creation"


# --- VirtualMachineClone -----------------------------------------------------------------------------

@pytest.mark.parametrize("mac", ["02:00:00:00:00", "02:00:00:00:00:00:00:01", "02-00:00:00:00:01", "not-a-mac"])
def test_a_malformed_new_mac_address_is_refused(stack, kube, namespace, mac):
    """kubevirt v1.8.4 vmclone-admitter.go validateNewMacAddresses with pkg/network/link/mac.go
    ValidateMacAddress: Go's net.ParseMAC forms only, and at most 6 bytes (an EUI-64 is refused)."""
    error = refusal(lambda: kube.create(clone_body("source-vm", newMacAddresses={"default": mac}), namespace))
    assert error.status == 422
    assert message(error) == CLONE_VALIDATOR + f"interface default has malformed MAC address ({mac})."


def test_a_clone_of_a_vm_with_backend_storage_fails(stack, kube, namespace):
    """kubevirt v1.8.4 pkg/virt-controller/watch/clone/clone.go retrieveCloneInfo: a source VM with
    backend storage (persistent TPM) fails the clone, event SourceVMWithBackendStorageInvalid
    (clone_base.go ErrSourceWithBackendStorage)."""
    vm = stopped_vm(kube, namespace, stack.san, devices=PERSISTENT_TPM)
    clone = kube.create(clone_body(vm), namespace)
    failed = wait_clone_failed(kube, namespace, clone)
    expected = f"{BACKEND_STORAGE}: VM {namespace}/{vm}"
    assert failed["status"]["phase"] == "Failed"
    assert condition(failed, "Ready")["reason"] == expected
    assert condition(failed, "Progressing")["reason"] == "Failed"
    events = kube.events(namespace, clone["metadata"]["name"], "SourceVMWithBackendStorageInvalid")
    assert [e["message"] for e in events] == [expected]
    assert kube.list(*VMSNAPSHOT, namespace) == []


def test_a_clone_of_a_snapshot_missing_a_volume_fails(stack, kube, namespace, nosnap):
    """kubevirt v1.8.4 clone.go verifySnapshotReady / verifySnapshotContent: a ready snapshot whose
    content has no backup of a PVC volume fails the clone (SnapshotContentInvalid, "volume %s is not
    backed up in snapshot %s"); the snapshot controller excluded the disk no snapshot class serves."""
    nosnap("scratch")
    name = unique("vm")
    kube.create(blank_vm(name, stack.san, run_strategy="Halted", extra_disks=[("scratch", "scratch")]), namespace)
    wait_vm_stopped(kube, namespace, name)
    snap = take_snapshot(kube, namespace, name)
    clone = kube.create(clone_body(snap["metadata"]["name"], kind="VirtualMachineSnapshot"), namespace)
    failed = wait_clone_failed(kube, namespace, clone)
    expected = f"volume scratch is not backed up in snapshot {snap['metadata']['name']}"
    assert failed["status"]["phase"] == "Failed" and condition(failed, "Ready")["reason"] == expected
    assert [e["message"] for e in kube.events(namespace, clone["metadata"]["name"], "SnapshotContentInvalid")] == [
        expected]


def test_a_clone_of_a_snapshot_of_a_vm_with_backend_storage_fails(stack, kube, namespace):
    """kubevirt v1.8.4 clone.go verifySnapshotContent: the snapshot's VM has backend storage
    (persistent EFI): SnapshotContentInvalid with ErrSourceWithBackendStorage's text."""
    vm = stopped_vm(kube, namespace, stack.san, firmware=PERSISTENT_EFI)
    snap = take_snapshot(kube, namespace, vm)
    clone = kube.create(clone_body(snap["metadata"]["name"], kind="VirtualMachineSnapshot"), namespace)
    failed = wait_clone_failed(kube, namespace, clone)
    expected = f"{BACKEND_STORAGE}: snapshot {namespace}/{snap['metadata']['name']}"
    assert failed["status"]["phase"] == "Failed" and condition(failed, "Ready")["reason"] == expected


def test_a_colon_separated_new_mac_address_stops_the_clone_at_its_restore(stack, kube, namespace):
    """kubevirt v1.8.4: the clone controller (clone.go createRestoreFromVm, vm-target.go
    addMacAddressPatches) puts the new MAC address in a restore patch, which vmrestore.go
    validatePatches refuses for its ':'s; the clone stays RestoreInProgress with RestoreCreationFailed
    warnings and retries. Upstream's own functional test uses the dash form (tests/clone_test.go)."""
    vm = stopped_vm(kube, namespace, stack.san, interface={"macAddress": "02:00:00:00:00:aa"})
    clone = kube.create(clone_body(vm, newMacAddresses={"default": "02:00:00:00:00:01"}), namespace)
    name = clone["metadata"]["name"]
    events = wait_for(lambda: kube.events(namespace, name, "RestoreCreationFailed"), "the restore to be refused")
    assert events[0]["type"] == "Warning"
    assert events[0]["message"] == (
        f"failed creating restore tmp-restore-{clone['metadata']['uid']} for clone {name}: " + RESTORE_VALIDATOR
        + 'patch format is not valid - one ":" expected in a single key-value json patch: "value":"02:00:00:00:00:01"')
    assert kube.get(*VMCLONE, name, namespace)["status"]["phase"] == "RestoreInProgress"
    assert kube.list(*VMRESTORE, namespace) == []


def test_a_dash_separated_new_mac_address_reaches_the_clone(stack, kube, namespace):
    """kubevirt v1.8.4 tests/clone_test.go ("BE-AD-00-00-BE-04"): a MAC address without ':' passes
    the restore's patch check and the target VM's interface carries it."""
    vm = stopped_vm(kube, namespace, stack.san, interface={"macAddress": "02:00:00:00:00:aa"})
    clone = kube.create(clone_body(vm, newMacAddresses={"default": "BE-AD-00-00-BE-04"}), namespace)
    done = kube.wait(*VMCLONE, clone["metadata"]["name"], namespace,
                     lambda c: (c.get("status") or {}).get("phase") in ("Succeeded", "Failed"), "to end")
    assert done["status"]["phase"] == "Succeeded"
    target = kube.get(*VM, clone["spec"]["target"]["name"], namespace)
    assert target["spec"]["template"]["spec"]["domain"]["devices"]["interfaces"][0]["macAddress"] == \
        "BE-AD-00-00-BE-04"

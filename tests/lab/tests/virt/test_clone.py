"""VirtualMachineClone: a new VM with new disks, through a snapshot and a restore of the source."""

import time

import pytest
from kubernetes.client.exceptions import ApiException

from virt_helpers import (DV, PVC, VM, VMCLONE, VMRESTORE, VMSNAPSHOT, blank_vm, claim_vm, condition, message,
                          unique, wait_for, wait_vm_running, wait_vm_stopped)

CLONE_PHASES = ["SnapshotInProgress", "RestoreInProgress", "CreatingTargetVM", "Succeeded"]


def clone(kube, namespace: str, source: str, target: str = None, **spec) -> dict:
    body = {"apiVersion": VMCLONE[0], "kind": VMCLONE[1],
            "metadata": {"name": unique("clone"), "namespace": namespace},
            "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": source}, **spec}}
    if target:
        body["spec"]["target"] = {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": target}
    return kube.create(body)


def stopped_vm(kube, namespace, storage_class, data_volume: bool = False) -> str:
    """A stopped VM whose disk is a DataVolume of the VM, or (default) a plain claim."""
    name = unique("src")
    if data_volume:
        kube.create(blank_vm(name, storage_class, run_strategy="Halted"), namespace)
        kube.wait(*DV, f"{name}-rootdisk", namespace, lambda dv: (dv.get("status") or {}).get("phase") ==
                  "Succeeded", "to be populated", timeout=120)
    else:
        claim_vm(kube, namespace, name, storage_class, run_strategy="Halted")
        kube.wait(*PVC, f"{name}-disk", namespace, lambda c: (c.get("status") or {}).get("phase") == "Bound",
                  "to be bound")
    wait_vm_stopped(kube, namespace, name)
    return name


def test_clone_of_a_stopped_vm_gets_its_own_disks(stack, kube, namespace):
    source = stopped_vm(kube, namespace, stack.san)
    target = unique("copy")
    made = clone(kube, namespace, source, target)
    seen = []

    def done():
        phase = ((kube.get(*VMCLONE, made["metadata"]["name"], namespace) or {}).get("status") or {}).get("phase")
        if phase and (not seen or seen[-1] != phase):
            seen.append(phase)
        return phase == "Succeeded"
    wait_for(done, "the clone to succeed", timeout=120)
    assert seen == [p for p in CLONE_PHASES if p in seen] and seen[-1] == "Succeeded", seen
    finished = kube.wait(*VMCLONE, made["metadata"]["name"], namespace,
                         lambda c: not c["status"].get("snapshotName") and not c["status"].get("restoreName"),
                         "to clean up its snapshot and restore")
    assert finished["status"]["targetName"] == target
    assert condition(finished, "Ready")["status"] == "True"
    wait_for(lambda: kube.list(*VMSNAPSHOT, namespace) == [] and kube.list(*VMRESTORE, namespace) == [],
             "the clone's temporary snapshot and restore to go")

    copy = kube.get(*VM, target, namespace)
    assert copy["spec"]["runStrategy"] == "Halted"
    disk = copy["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"]
    assert disk.startswith("restore-") and disk != f"{source}-disk"
    assert "uuid" not in (copy["spec"]["template"]["spec"]["domain"].get("firmware") or {})
    assert copy["metadata"]["labels"] == kube.get(*VM, source, namespace)["metadata"]["labels"]
    pvc = kube.get(*PVC, disk, namespace)
    assert pvc["spec"]["dataSource"]["kind"] == "VolumeSnapshot" and pvc["status"]["phase"] == "Bound"
    # Both VMs run, each on its own disk.
    for name in (source, target):
        kube.patch(*VM, name, namespace, {"spec": {"runStrategy": "Always"}})
    for name in (source, target):
        wait_vm_running(kube, namespace, name)


def test_clone_without_a_target_gets_a_generated_name(stack, kube, namespace):
    source = stopped_vm(kube, namespace, stack.san)
    made = clone(kube, namespace, source)
    assert made["spec"]["target"]["name"].startswith(f"clone-{source}-")
    done = kube.wait(*VMCLONE, made["metadata"]["name"], namespace,
                     lambda c: (c.get("status") or {}).get("phase") == "Succeeded", "to succeed", timeout=120)
    assert kube.get(*VM, done["status"]["targetName"], namespace) is not None


def test_clone_of_a_vm_whose_disk_has_no_snapshot_class_stays_pending(stack, kube, namespace, nosnap):
    nosnap("disk0")
    source = unique("src")
    body = blank_vm(source, stack.san, run_strategy="Halted")
    body["spec"].pop("dataVolumeTemplates")
    body["spec"]["template"]["spec"]["domain"]["devices"]["disks"] = [{"name": "disk0", "disk": {"bus": "virtio"}}]
    body["spec"]["template"]["spec"]["volumes"] = [{"name": "disk0", "persistentVolumeClaim": {"claimName": "disk0"}}]
    kube.create(body, namespace)
    kube.wait(*VM, source, namespace, lambda vm: (vm.get("status") or {}).get("volumeSnapshotStatuses"),
              "to report its disks' snapshot support")
    made = clone(kube, namespace, source, unique("copy"))
    pending = kube.wait(*VMCLONE, made["metadata"]["name"], namespace,
                        lambda c: condition(c, "Ready").get("reason") ==
                        "Virtual Machine volume disk0 does not support snapshots", "to say why it waits")
    assert condition(pending, "Progressing") == {**condition(pending, "Progressing"), "status": "False",
                                                 "reason": "Pending"}
    time.sleep(1.5)
    still = kube.get(*VMCLONE, made["metadata"]["name"], namespace)
    assert not still["status"].get("phase") and not still["status"].get("snapshotName")
    assert kube.list(*VMSNAPSHOT, namespace) == []
    assert kube.events(namespace, made["metadata"]["name"], "VMVolumeSnapshotsInvalid")


def test_clone_onto_its_own_source_is_refused(stack, kube, namespace):
    source = stopped_vm(kube, namespace, stack.san)
    with pytest.raises(ApiException) as refused:
        clone(kube, namespace, source, source)
    assert refused.value.status == 422
    assert message(refused.value).endswith("Target name cannot be equal to source name when both are "
                                           "VirtualMachines")


def test_clone_of_a_vm_with_data_volume_templates(stack, kube, namespace):
    """The restore half hands the restored claim to a pre-populated DataVolume (CDI adopts it)."""
    source = stopped_vm(kube, namespace, stack.san, data_volume=True)
    target = unique("copy")
    made = clone(kube, namespace, source, target)
    kube.wait(*VMCLONE, made["metadata"]["name"], namespace,
              lambda c: (c.get("status") or {}).get("phase") == "Succeeded", "to succeed", timeout=120)
    copy = kube.get(*VM, target, namespace)
    disk = copy["spec"]["template"]["spec"]["volumes"][0]["dataVolume"]["name"]
    assert disk.startswith("restore-") and copy["spec"]["dataVolumeTemplates"][0]["metadata"]["name"] == disk
    assert kube.get(*DV, disk, namespace)["status"]["phase"] == "Succeeded"
    kube.patch(*VM, target, namespace, {"spec": {"runStrategy": "Always"}})
    wait_vm_running(kube, namespace, target)

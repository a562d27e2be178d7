"""VirtualMachineSnapshot / Content / Restore on ONTAP (VolumeSnapshots through Trident)."""

from virt_helpers import (DV, PVC, VM, VMI, VMRESTORE, VMSNAPSHOT, VMSNAPSHOT_CONTENT, VOLUME_SNAPSHOT, blank_vm,
                          claim_vm, condition, unique, wait_vm_running, wait_vm_stopped)


def snapshot(kube, namespace: str, vm: str, name: str = None) -> dict:
    return kube.create({"apiVersion": VMSNAPSHOT[0], "kind": VMSNAPSHOT[1],
                        "metadata": {"name": name or unique(f"{vm}-snap"), "namespace": namespace},
                        "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm}}})


def wait_snapshot(kube, snap: dict, timeout: float = 90) -> dict:
    meta = snap["metadata"]
    return kube.wait(*VMSNAPSHOT, meta["name"], meta["namespace"],
                     lambda s: (s.get("status") or {}).get("phase") == "Succeeded" and s["status"].get("readyToUse"),
                     "to succeed and be ready", timeout)


def test_snapshot_of_a_running_vm_excludes_disks_without_a_snapshot_class(stack, kube, namespace, nosnap):
    nosnap("scratch")
    name = unique("vm")
    kube.create(blank_vm(name, stack.san, extra_disks=[("scratch", "scratch")]), namespace)
    wait_vm_running(kube, namespace, name)
    vm = kube.get(*VM, name, namespace)
    statuses = {s["name"]: s for s in vm["status"]["volumeSnapshotStatuses"]}
    assert statuses["rootdisk"] == {"name": "rootdisk", "enabled": True}
    assert statuses["scratch"]["enabled"] is False
    assert statuses["scratch"]["reason"] == ("No VolumeSnapshotClass: Volume snapshots are not configured for this "
                                             "StorageClass [virt-local-nosnap] [scratch]")

    snap = wait_snapshot(kube, snapshot(kube, namespace, name))
    status = snap["status"]
    assert status["snapshotVolumes"] == {"includedVolumes": ["rootdisk"], "excludedVolumes": ["scratch"]}
    assert status["indications"] == ["NoGuestAgent", "Online"]
    assert {i["indication"] for i in status["sourceIndications"]} == {"NoGuestAgent", "Online"}
    assert status["sourceUID"] == vm["metadata"]["uid"] and status["creationTime"]
    assert condition(snap, "Ready")["status"] == "True" and condition(snap, "Progressing")["status"] == "False"
    assert "snapshot.kubevirt.io/vmsnapshot-protection" in snap["metadata"]["finalizers"]
    content = kube.get(*VMSNAPSHOT_CONTENT, status["virtualMachineSnapshotContentName"], namespace)
    assert content["spec"]["source"]["virtualMachine"]["metadata"]["name"] == name
    backups = content["spec"]["volumeBackups"]
    assert [b["volumeName"] for b in backups] == ["rootdisk"]
    expected = f"vmsnapshot-{snap['metadata']['uid']}-volume-rootdisk"
    assert backups[0]["volumeSnapshotName"] == expected
    assert backups[0]["persistentVolumeClaim"]["metadata"]["name"] == f"{name}-rootdisk"
    assert content["status"]["readyToUse"] is True
    volume_snapshot = kube.get(*VOLUME_SNAPSHOT, expected, namespace)
    assert volume_snapshot["status"]["readyToUse"] is True
    assert volume_snapshot["spec"]["volumeSnapshotClassName"] == stack.snapshot_class
    assert volume_snapshot["spec"]["source"] == {"persistentVolumeClaimName": f"{name}-rootdisk"}
    assert volume_snapshot["metadata"]["labels"]["snapshot.kubevirt.io/source-vm-name"] == name
    # The VM was locked for the snapshot and is not any more.
    assert not kube.get(*VM, name, namespace)["status"].get("snapshotInProgress")


def test_restore_of_a_claim_disk_points_the_vm_at_a_new_claim(stack, kube, namespace):
    name = unique("vm")
    claim_vm(kube, namespace, name, stack.san)
    wait_vm_running(kube, namespace, name)
    snap = wait_snapshot(kube, snapshot(kube, namespace, name))
    kube.patch(*VM, name, namespace, {"spec": {"runStrategy": "Halted"}})
    wait_vm_stopped(kube, namespace, name)
    restore = kube.create({"apiVersion": VMRESTORE[0], "kind": VMRESTORE[1],
                           "metadata": {"name": unique("restore"), "namespace": namespace},
                           "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": name},
                                    "virtualMachineSnapshotName": snap["metadata"]["name"]}})
    done = kube.wait(*VMRESTORE, restore["metadata"]["name"], namespace,
                     lambda r: (r.get("status") or {}).get("complete"), "to complete", timeout=120)
    claim = f"restore-{restore['metadata']['uid']}-rootdisk"
    assert done["status"]["restores"] == [{"volumeName": "rootdisk", "persistentVolumeClaim": claim,
                                           "volumeSnapshotName": f"vmsnapshot-{snap['metadata']['uid']}"
                                                                 "-volume-rootdisk"}]
    vm = kube.get(*VM, name, namespace)
    assert vm["spec"]["template"]["spec"]["volumes"] == [{"name": "rootdisk",
                                                          "persistentVolumeClaim": {"claimName": claim}}]
    pvc = kube.get(*PVC, claim, namespace)
    assert pvc["spec"]["dataSource"]["kind"] == "VolumeSnapshot" and pvc["status"]["phase"] == "Bound"
    assert pvc["metadata"]["ownerReferences"][0]["name"] == name  # the VM owns the restored claim
    assert kube.get(*PVC, f"{name}-disk", namespace) is not None  # the old claim is left alone
    kube.patch(*VM, name, namespace, {"spec": {"runStrategy": "Always"}})
    wait_vm_running(kube, namespace, name)


def test_restore_recreates_the_disks_from_the_snapshot(stack, kube, namespace):
    name = unique("vm")
    kube.create(blank_vm(name, stack.san), namespace)
    wait_vm_running(kube, namespace, name)
    snap = wait_snapshot(kube, snapshot(kube, namespace, name))
    restore_name = unique("restore")
    restore = kube.create({"apiVersion": VMRESTORE[0], "kind": VMRESTORE[1],
                           "metadata": {"name": restore_name, "namespace": namespace},
                           "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": name},
                                    "virtualMachineSnapshotName": snap["metadata"]["name"]}})
    # A running target is not touched: the restore waits for it to stop.
    waiting = kube.wait(*VMRESTORE, restore_name, namespace,
                        lambda r: condition(r, "Ready").get("reason") == "Waiting for target to be ready",
                        "to wait for the target")
    assert waiting["status"]["complete"] is False
    kube.patch(*VM, name, namespace, {"spec": {"runStrategy": "Halted"}})
    wait_vm_stopped(kube, namespace, name)
    done = kube.wait(*VMRESTORE, restore_name, namespace, lambda r: (r.get("status") or {}).get("complete"),
                     "to complete", timeout=120)
    claim = f"restore-{restore['metadata']['uid']}-rootdisk"
    assert done["status"]["restores"] == [{
        "volumeName": "rootdisk", "persistentVolumeClaim": claim, "dataVolumeName": claim,
        "volumeSnapshotName": f"vmsnapshot-{snap['metadata']['uid']}-volume-rootdisk"}]
    assert done["status"]["deletedDataVolumes"] == [f"{name}-rootdisk"]
    assert condition(done, "Ready")["status"] == "True" and done["status"]["restoreTime"]
    assert done["metadata"]["ownerReferences"][0]["name"] == name

    vm = kube.get(*VM, name, namespace)
    assert vm["spec"]["dataVolumeTemplates"][0]["metadata"]["name"] == claim
    assert vm["spec"]["template"]["spec"]["volumes"] == [{"name": "rootdisk", "dataVolume": {"name": claim}}]
    assert vm["metadata"]["annotations"]["restore.kubevirt.io/lastRestoreUID"] == \
        f"{restore_name}-{restore['metadata']['uid']}"
    assert not vm["status"].get("restoreInProgress")
    pvc = kube.get(*PVC, claim, namespace)
    assert pvc["spec"]["dataSource"] == {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                                         "name": f"vmsnapshot-{snap['metadata']['uid']}-volume-rootdisk"}
    assert pvc["status"]["phase"] == "Bound" and pvc["spec"]["storageClassName"] == stack.san
    assert pvc["metadata"]["annotations"]["restore.kubevirt.io/name"] == restore_name
    kube.wait_gone(*DV, f"{name}-rootdisk", namespace)

    kube.patch(*VM, name, namespace, {"spec": {"runStrategy": "Always"}})
    wait_vm_running(kube, namespace, name)
    vmi = kube.get(*VMI, name, namespace)
    assert vmi["spec"]["volumes"] == [{"name": "rootdisk", "dataVolume": {"name": claim}}]


def test_restore_with_stop_target_stops_the_vm(stack, kube, namespace):
    name = unique("vm")
    claim_vm(kube, namespace, name, stack.san)
    wait_vm_running(kube, namespace, name)
    snap = wait_snapshot(kube, snapshot(kube, namespace, name))
    restore = kube.create({"apiVersion": VMRESTORE[0], "kind": VMRESTORE[1],
                           "metadata": {"name": unique("restore"), "namespace": namespace},
                           "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": name},
                                    "virtualMachineSnapshotName": snap["metadata"]["name"],
                                    "targetReadinessPolicy": "StopTarget"}})
    kube.wait(*VMRESTORE, restore["metadata"]["name"], namespace, lambda r: (r.get("status") or {}).get("complete"),
              "to complete", timeout=120)
    assert kube.get(*VM, name, namespace)["spec"]["runStrategy"] == "Halted"

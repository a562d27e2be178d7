"""A VM's life in playbooks, as the reliability suites run it (test_interruptions.py killed, test_faults.py through
the fault proxy): site.yml with a first VM in a namespace of its own name, snapshot.yml of it, clone.yml of it,
restore.yml of the snapshot into a new VM, scheduled_protection.yml of every VM of the namespace; and what the
namespace holds after, compared by kind, name and the fields that say what an object is, never by output.
"""

import re
import time

STEPS = (
    ("site", "playbooks/site.yml", lambda vm: {"first_vm_name": vm, "first_vm_namespace": vm}),
    ("snapshot", "playbooks/snapshot.yml",
     lambda vm: {"protection_namespace": vm, "snapshot_vms": [vm], "snapshot_name": "s1"}),
    ("clone", "playbooks/clone.yml",
     lambda vm: {"protection_namespace": vm, "clone_source": vm, "clone_target": "twin"}),
    ("restore", "playbooks/restore.yml",
     lambda vm: {"protection_namespace": vm, "restore_vm": vm, "restore_snapshot": "s1",
                 "restore_target": "restored"}),
    # every VM of the namespace (none has the label), under a name of its own rather than the day's, so that runs
    # on different days compare
    ("scheduled", "playbooks/scheduled_protection.yml", lambda vm: {
        "protection_namespace": vm, "scheduled_selector": "!ontap.virtualization/unprotected",
        "scheduled_snapshot": "scheduled"}),
)
KINDS = (("kubevirt.io/v1", "VirtualMachine"), ("cdi.kubevirt.io/v1beta1", "DataVolume"),
         ("v1", "PersistentVolumeClaim"), ("snapshot.storage.k8s.io/v1", "VolumeSnapshot"),
         ("clone.kubevirt.io/v1beta1", "VirtualMachineClone"),
         ("snapshot.kubevirt.io/v1beta1", "VirtualMachineSnapshot"),
         ("snapshot.kubevirt.io/v1beta1", "VirtualMachineRestore"),
         ("kubevirt.io/v1", "VirtualMachineInstanceMigration"))
# What says what an object is, beyond its kind and name (the namespace's VM name is replaced by "VM").
FIELDS = {"VirtualMachine": ("spec.runStrategy",),
          "PersistentVolumeClaim": ("spec.storageClassName", "spec.volumeMode"),
          "VolumeSnapshot": ("spec.volumeSnapshotClassName",),
          "VirtualMachineInstanceMigration": ("status.phase",)}


# Kinds told apart by another field than their name: a migration's name holds as much of its VMI's UID as fits
# (names.work_name cuts its inputs at 40 characters), so it is known by the VMI it moves.
NAMED_BY = {"VirtualMachineInstanceMigration": "spec.vmiName"}

# Parts of names that differ between two runs doing the same: names.work_name's digest of its inputs (the VM's
# name among them), and the UIDs KubeVirt's clone and snapshot controllers put into the names they make.
VARYING = ((re.compile(r"-[0-9a-f]{10}$"), "-DIGEST"),
           (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UID"))


def field(obj, path):
    for key in path.split("."):
        obj = (obj or {}).get(key)
    return obj


def _items(dynamic_client, api_version, kind, namespace):
    try:
        resource = dynamic_client.resources.get(api_version=api_version, kind=kind)
    except Exception:  # noqa: BLE001 - a kind the lab does not serve holds nothing
        return []
    return resource.get(namespace=namespace).to_dict()["items"]


def state(dynamic_client, namespace):
    """The sorted (kind, name, fields) of what the namespace holds, its own name replaced by "VM"."""
    held = []
    for api_version, kind in KINDS:
        for item in _items(dynamic_client, api_version, kind, namespace):
            name = field(item, NAMED_BY.get(kind, "metadata.name")).replace(namespace, "VM")
            for pattern, placeholder in VARYING:
                name = pattern.sub(placeholder, name)
            held.append((kind, name) + tuple(str(field(item, path)) for path in FIELDS.get(kind, ())))
    return sorted(held)


CLONE = ("clone.kubevirt.io/v1beta1", "VirtualMachineClone")
VM_SNAPSHOT = ("snapshot.kubevirt.io/v1beta1", "VirtualMachineSnapshot")
VOLUME_SNAPSHOT = ("snapshot.storage.k8s.io/v1", "VolumeSnapshot")
# KubeVirt names a VirtualMachineSnapshot's CSI snapshots after its UID (snapshot.go getVolumeSnapshotName).
OF_VM_SNAPSHOT = re.compile(r"^vmsnapshot-([0-9a-f-]{36})-volume-")


def settling(dynamic_client, namespace):
    """What KubeVirt still cleans up after a run has returned, or None: a clone deletes its temporary snapshot and
    restore after Succeeded (clone controller: once the restored claims are bound), and the CSI snapshots of a
    deleted VirtualMachineSnapshot go after it."""
    for clone in _items(dynamic_client, *CLONE, namespace):
        if field(clone, "status.snapshotName") or field(clone, "status.restoreName"):
            return "clone {0} still has its temporary snapshot or restore".format(clone["metadata"]["name"])
    snapshots = {s["metadata"]["uid"] for s in _items(dynamic_client, *VM_SNAPSHOT, namespace)}
    for volume_snapshot in _items(dynamic_client, *VOLUME_SNAPSHOT, namespace):
        owner = OF_VM_SNAPSHOT.match(volume_snapshot["metadata"]["name"])
        if owner and owner.group(1) not in snapshots:
            return "VolumeSnapshot {0} outlives its VirtualMachineSnapshot".format(volume_snapshot["metadata"]["name"])
    return None


def settled_state(dynamic_client, namespace, seconds=180):
    """The namespace's state once KubeVirt's clean-up after the run is over (asynchronous, so an uninterrupted run
    and a rerun would otherwise be compared at different points of it)."""
    deadline = time.monotonic() + seconds
    while True:
        pending = settling(dynamic_client, namespace)
        if pending is None:
            return state(dynamic_client, namespace)
        assert time.monotonic() < deadline, "{0}: not settled after {1} s: {2}".format(namespace, seconds, pending)
        time.sleep(1)


VMIM = ("kubevirt.io", "v1", "virtualmachineinstancemigrations")


def vmis(custom_objects, namespace):
    """{VM name: (phase, node)} of the namespace's VMIs."""
    found = custom_objects.list_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachineinstances")
    return {v["metadata"]["name"]: (field(v, "status.phase"), field(v, "status.nodeName")) for v in found["items"]}


def migrations(custom_objects, namespace):
    """{VM name: [phase of each of its migrations]} of the namespace."""
    found = {}
    for item in custom_objects.list_namespaced_custom_object(*VMIM[:2], namespace, VMIM[2])["items"]:
        found.setdefault(item["spec"]["vmiName"], []).append(field(item, "status.phase"))
    return found

# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Restores of snapshot sets (module_utils.snapshots): into new claims and a new VM, or in place.

A new VM is the procedure's four steps in one: one claim per disk restored from its VolumeSnapshot
(on ONTAP, a FlexClone of the volume from that snapshot), then a VM with the source's spec on those
claims, minus its identity (vms.copy_spec). In place is KubeVirt's VirtualMachineRestore of a
VirtualMachineSnapshot. What KubeVirt's admission refuses (a running target, a second restore while
one runs, patches outside the allowed paths, pkg/storage/admitters/vmrestore.go) is refused here
before anything is written.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, snapshots, vms, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.complete import run_to_completion
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.names import to_dns1123_label, work_name
from ansible_collections.ontap.virtualization.plugins.module_utils.secrets import COLLECTION, MANAGED_BY

# virt-api accepts restore patches only under these paths, and no value with a colon (vmrestore.go validatePatches).
PATCH_PREFIXES = ("/spec/", "/metadata/labels/", "/metadata/annotations/")
SOURCE_LABEL = "ontap.virtualization/restored-from"
# How a VM we stopped (for an in-place restore, or a clone) ran before, so that a later run (after a progress
# slice) still starts it again.
RESTART_ANNOTATION = "ontap.virtualization/restart-with"


def patch_problems(patches):
    """Why each restore patch would be refused, as phrases (empty when all pass)."""
    problems = []
    for text in patches or []:
        try:
            operations = json.loads(text)
        except ValueError:
            problems.append("patch {0} is not JSON".format(text))
            continue
        for operation in operations if isinstance(operations, list) else [operations]:
            path = str(operation.get("path", "")) if isinstance(operation, dict) else ""
            if not path.startswith(PATCH_PREFIXES):
                problems.append("patch path {0} is outside {1}".format(path or "(none)", ", ".join(PATCH_PREFIXES)))
            elif ":" in json.dumps(operation.get("value", "")):
                problems.append("patch value {0} at {1} has a colon".format(json.dumps(operation.get("value")), path))
    return problems


def snapshot_disks(kube, namespace, vm_name, set_name, method):
    """(source VM spec holder, [(volume, VolumeSnapshot name, source claim facts)]) of a snapshot set."""
    sets = snapshots.SnapshotSets.__new__(snapshots.SnapshotSets)
    sets.kube, sets.method, sets.ref = kube, method, kube.ref(*snapshots.KINDS[method])
    objects = sets.of_vm({"metadata": {"name": vm_name, "namespace": namespace}}).get(set_name)
    if not objects:
        raise ModuleError("VM {0} has no snapshot {1} (method {2}) in namespace {3}; nothing was written.".format(
            vm_name, set_name, method, namespace))
    not_ready = [o["metadata"]["name"] for o in objects if not fields.get(o, "status.readyToUse")]
    if not_ready:
        raise ModuleError("Snapshot {0} of VM {1} is not ready to use yet ({2}); nothing was written.".format(
            set_name, vm_name, ", ".join(not_ready)))
    if method == snapshots.VOLUME_SNAPSHOTS:
        source = kube.get(kube.ref(vms.KUBEVIRT_API, vms.VM_KIND, vm_name, namespace))
        if source is None:
            raise ModuleError("VM {0} is gone: a snapshot of VolumeSnapshots holds its disks, not its spec. Take "
                              "the snapshot with method vm_snapshot to restore a VM that no longer "
                              "exists.".format(vm_name))
        disks = [(fields.get(o, ["metadata", "labels", snapshots.VOLUME_LABEL]), o["metadata"]["name"],
                  json.loads(fields.get(o, ["metadata", "annotations", snapshots.SOURCE_CLAIM_ANNOTATION]) or "{}"))
                 for o in objects]
        return source, disks
    content = kube.get(kube.ref(snapshots.KUBEVIRT_SNAPSHOT_API, "VirtualMachineSnapshotContent",
                                fields.get(objects[0], "status.virtualMachineSnapshotContentName"), namespace))
    disks = []
    for backup in fields.get(content, "spec.volumeBackups") or []:
        claim = backup.get("persistentVolumeClaim") or {}
        disks.append((backup["volumeName"], backup["volumeSnapshotName"], {
            "storageClassName": fields.get(claim, "spec.storageClassName"),
            "volumeMode": fields.get(claim, "spec.volumeMode"), "accessModes": fields.get(claim, "spec.accessModes"),
            "size": fields.get(claim, "spec.resources.requests.storage")}))
    return fields.get(content, "spec.source.virtualMachine"), disks


def desired_claim(namespace, target, volume, volume_snapshot, facts):
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": to_dns1123_label("{0}-{1}".format(target, volume)), "namespace": namespace,
                         "labels": {MANAGED_BY: COLLECTION, SOURCE_LABEL: volume_snapshot}},
            "spec": {"storageClassName": facts.get("storageClassName"), "volumeMode": facts.get("volumeMode"),
                     "accessModes": facts.get("accessModes"), "resources": {"requests": {"storage": facts.get("size")}},
                     "dataSourceRef": {"apiGroup": "snapshot.storage.k8s.io", "kind": "VolumeSnapshot",
                                       "name": volume_snapshot}}}


def to_new_vm(module, namespace, vm_name, set_name, method, target, running):
    """Claims restored from every disk's snapshot and a new VM on them; returns (VM, claims)."""
    source, disks = snapshot_disks(module.kube, namespace, vm_name, set_name, method)
    vm_ref = module.kube.ref(vms.KUBEVIRT_API, vms.VM_KIND, target, namespace)
    live = module.kube.get(vm_ref)
    restored_from = set_name + "." + vm_name
    if live is not None and fields.get(live, ["metadata", "labels", SOURCE_LABEL]) != restored_from:
        raise ModuleError("VM {0} exists already in namespace {1} and was not restored from snapshot {2} of {3}; "
                          "choose another target name. Nothing was written.".format(target, namespace, set_name,
                                                                                    vm_name))
    claims = [desired_claim(namespace, target, volume, snap, facts) for volume, snap, facts in disks]
    made = [module.ensurer.present(claim, []).object for claim in claims]
    labels = dict(fields.get(source, "metadata.labels") or {}, **{MANAGED_BY: COLLECTION, SOURCE_LABEL: restored_from})
    desired = {"apiVersion": vms.KUBEVIRT_API, "kind": vms.VM_KIND,
               "metadata": {"name": target, "namespace": namespace, "labels": labels},
               "spec": vms.copy_spec(source, dict((d[0], c["metadata"]["name"]) for d, c in zip(disks, claims)),
                                     "Always" if running else "Halted")}
    vm = module.ensurer.present(desired, []).object
    if module.params["wait"] and not module.check_mode:
        made = [module.wait_until(module.ensurer.ref_of(c), wait.field_equals("status.phase", "Bound")) for c in made]
        if running:
            vm = module.wait_until(vm_ref, wait.field_equals("status.ready", True))
    return vm, made


def in_place(module, namespace, vm_name, set_name, stop, patches):
    """KubeVirt's VirtualMachineRestore of the VM's VirtualMachineSnapshot ``set_name``; returns the restore."""
    problems = patch_problems(patches)
    if problems:
        raise ModuleError("KubeVirt refuses these restore patches, so nothing was written: {0}.".format(
            "; ".join(problems)))
    snapshot_disks(module.kube, namespace, vm_name, set_name, snapshots.VM_SNAPSHOT)
    vm = vms.selected(module.kube, namespace, [vm_name], doing="restored")[0]
    snapshot_name = snapshots.object_name(vm_name, set_name)
    desired = {"apiVersion": snapshots.KUBEVIRT_SNAPSHOT_API, "kind": "VirtualMachineRestore",
               "metadata": {"name": work_name("restore", vm_name, snapshot_name), "namespace": namespace,
                            "labels": {MANAGED_BY: COLLECTION, snapshots.VM_LABEL: vm_name,
                                       snapshots.SET_LABEL: set_name}},
               "spec": {"target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": vm_name},
                        "virtualMachineSnapshotName": snapshot_name, "patches": list(patches or []) or None}}
    ref = module.ensurer.ref_of(desired)
    if module.kube.get(ref) is None:
        refuse_to_start(module, ref, vm, stop)
    restore = run_to_completion(module, desired, wait.field_equals("status.complete", True))
    if module.params["wait"] and not module.check_mode:
        restart(module, vms.selected(module.kube, namespace, [vm_name], doing="restored")[0])
    return restore


def refuse_to_start(module, ref, vm, stop):
    """Refuse what KubeVirt would refuse or wait on forever; stop the VM when asked (remembering how it ran)."""
    name = vm["metadata"]["name"]
    items, _version = module.kube.list(ref._replace(name=None))
    running = [r["metadata"]["name"] for r in items if fields.get(r, "spec.target.name") == name
               and not fields.get(r, "status.complete")]
    if running:
        raise ModuleError("VM {0} is being restored already by {1}; KubeVirt refuses a second restore until it "
                          "completes. Nothing was written.".format(name, ", ".join(running)))
    if vms.is_running(module.kube, vm):
        if not stop:
            raise ModuleError("VM {0} is running; KubeVirt restores only a stopped VM. Stop it, or set stop to true "
                              "(it is started again afterwards). Nothing was written.".format(name))
        set_run_strategy(module, vm, "Halted", fields.get(vm, "spec.runStrategy") or "Always")


def restart(module, vm):
    """Start the VM again as it ran before we stopped it for the restore."""
    strategy = fields.get(vm, ["metadata", "annotations", RESTART_ANNOTATION])
    if strategy:
        set_run_strategy(module, vm, strategy)


def set_run_strategy(module, vm, strategy, restart_with=None):
    """Set the VM's runStrategy (and, when we stop it, how to start it again); when it stops, wait until it has."""
    meta = vm["metadata"]
    module.ensurer.present({"apiVersion": vms.KUBEVIRT_API, "kind": vms.VM_KIND, "metadata": {
        "name": meta["name"], "namespace": meta["namespace"], "annotations": {RESTART_ANNOTATION: restart_with}},
        "spec": {"runStrategy": strategy}}, ["spec.runStrategy", ("metadata", "annotations", RESTART_ANNOTATION)])
    if strategy == "Halted" and module.params["wait"] and not module.check_mode:
        module.wait_until(module.kube.ref(vms.KUBEVIRT_API, vms.VMI_KIND, meta["name"], meta["namespace"]),
                          wait.absent())

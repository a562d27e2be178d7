# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Snapshot sets of VMs: every disk of each VM, named by the user's snapshot name, taken, reported, pruned.

A snapshot set is either one CSI VolumeSnapshot per disk (the procedure's way, consistent per disk)
or one KubeVirt VirtualMachineSnapshot (consistent across the disks). Every object carries the VM
and set name as labels, so a rerun finds the set and pruning finds the older ones. Before anything
is written, every disk is checked: its claim exists and is bound, and a VolumeSnapshotClass serves
its driver (KubeVirt would silently leave such a disk out; a plain VolumeSnapshot would never be ready).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import json
import re

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, vms, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.names import to_dns1123_label
from ansible_collections.ontap.virtualization.plugins.module_utils.secrets import COLLECTION, MANAGED_BY

VOLUME_SNAPSHOTS, VM_SNAPSHOT = "volume_snapshots", "vm_snapshot"
METHODS = (VOLUME_SNAPSHOTS, VM_SNAPSHOT)
CSI_SNAPSHOT_API = "snapshot.storage.k8s.io/v1"
KUBEVIRT_SNAPSHOT_API = "snapshot.kubevirt.io/v1beta1"
KINDS = {VOLUME_SNAPSHOTS: (CSI_SNAPSHOT_API, "VolumeSnapshot"),
         VM_SNAPSHOT: (KUBEVIRT_SNAPSHOT_API, "VirtualMachineSnapshot")}
VM_LABEL = "ontap.virtualization/vm"
SET_LABEL = "ontap.virtualization/snapshot"
VOLUME_LABEL = "ontap.virtualization/volume"
# What a new claim restored from the snapshot needs, recorded when it is taken (the source claim may be gone by then).
SOURCE_CLAIM_ANNOTATION = "ontap.virtualization/source-claim"
DEFAULT_CLASS_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"
AGE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def seconds_of(age):
    """``"7d"``, ``"12h"``, ``"1d12h"`` in seconds; ModuleError for anything else."""
    parts = re.findall(r"(\d+)([smhdw])", age or "")
    if not parts or "".join(n + u for n, u in parts) != age:
        raise ModuleError("max_age '{0}' is not an age: write a number and a unit (s, m, h, d, w), for example 7d "
                          "or 1d12h.".format(age))
    return sum(int(number) * AGE_UNITS[unit] for number, unit in parts)


def set_labels(vm_name, set_name):
    return {MANAGED_BY: COLLECTION, VM_LABEL: vm_name, SET_LABEL: set_name}


def ours(key, value):
    """The label selector of our snapshots whose label ``key`` is ``value``."""
    return "{0}={1},{2}={3}".format(MANAGED_BY, COLLECTION, key, value)


def object_name(vm_name, set_name, volume=None):
    return to_dns1123_label("-".join(filter(None, [vm_name, volume, set_name])))


def desired_volume_snapshot(vm, volume, pvc, set_name, snapshot_class):
    meta = vm["metadata"]
    labels = dict(set_labels(meta["name"], set_name), **{VOLUME_LABEL: volume})
    source = {"storageClassName": fields.get(pvc, "spec.storageClassName"),
              "volumeMode": fields.get(pvc, "spec.volumeMode"), "accessModes": fields.get(pvc, "spec.accessModes"),
              "claim": pvc["metadata"]["name"],
              "size": fields.get(pvc, "status.capacity.storage") or fields.get(pvc, "spec.resources.requests.storage")}
    return {"apiVersion": CSI_SNAPSHOT_API, "kind": "VolumeSnapshot",
            "metadata": {"name": object_name(meta["name"], set_name, volume), "namespace": meta["namespace"],
                         "labels": labels,
                         "annotations": {SOURCE_CLAIM_ANNOTATION: json.dumps(source, sort_keys=True)}},
            "spec": {"volumeSnapshotClassName": snapshot_class,
                     "source": {"persistentVolumeClaimName": pvc["metadata"]["name"]}}}


def desired_vm_snapshot(vm, set_name):
    meta = vm["metadata"]
    return {"apiVersion": KUBEVIRT_SNAPSHOT_API, "kind": "VirtualMachineSnapshot",
            "metadata": {"name": object_name(meta["name"], set_name), "namespace": meta["namespace"],
                         "labels": set_labels(meta["name"], set_name)},
            "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": meta["name"]}}}


def snapshot_class_for(provisioner, classes, asked=None):
    """The VolumeSnapshotClass KubeVirt and the snapshot-controller would take for a driver, or why there is none."""
    if asked:
        found = [c for c in classes if c["metadata"]["name"] == asked]
        if not found:
            return None, "the VolumeSnapshotClass {0} does not exist".format(asked)
        if found[0].get("driver") != provisioner:
            return None, "the VolumeSnapshotClass {0} is for {1}, not {2}".format(asked, found[0].get("driver"),
                                                                                  provisioner)
        return asked, None
    matching = [c for c in classes if c.get("driver") == provisioner]
    defaults = [c for c in matching if fields.get(c, ["metadata", "annotations", DEFAULT_CLASS_ANNOTATION]) == "true"]
    if len(matching) == 1 or len(defaults) == 1:
        return (defaults or matching)[0]["metadata"]["name"], None
    if not matching:
        return None, "no VolumeSnapshotClass serves its driver {0}".format(provisioner)
    return None, "{0} VolumeSnapshotClasses serve {1} and none is the default".format(len(matching), provisioner)


def age_seconds(obj, now=None):
    created = datetime.datetime.strptime(obj["metadata"]["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ")
    return ((now or datetime.datetime.utcnow()) - created).total_seconds()


def prunable(sets, keep=None, max_age=None, spare=None, now=None):
    """Names of the sets to prune: beyond the newest ``keep``, or older than ``max_age`` seconds; never ``spare``.

    ``sets`` maps a set name to its objects.
    """
    def created(name):
        return min(o["metadata"]["creationTimestamp"] for o in sets[name])
    newest_first = sorted(sets, key=created, reverse=True)
    doomed = set(newest_first[keep:]) if keep is not None else set()
    if max_age is not None:
        doomed.update(name for name in sets if max(age_seconds(o, now) for o in sets[name]) > max_age)
    doomed.discard(spare)
    return [name for name in newest_first if name in doomed]


class SnapshotSets(object):
    """Takes, reports, removes and prunes the snapshot sets of VMs through ``module`` (a KubeModule)."""

    def __init__(self, module, method=VOLUME_SNAPSHOTS, snapshot_class=None):
        self.module, self.kube, self.method = module, module.kube, method
        self.snapshot_class = snapshot_class
        self.ref = self.kube.ref(*KINDS[method])

    def preflight(self, vm_list):
        """Per VM, {volume: (claim, class of its snapshot)}; refuses, naming every disk, what cannot be snapshotted."""
        classes, _version = self.kube.list(self.kube.ref("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass"))
        plans, refused = {}, []
        for vm in vm_list:
            plan = plans.setdefault(vm["metadata"]["name"], {})
            for volume, claim in vms.disks(vm):
                pvc = self.kube.get(self.kube.ref(vms.PVC_API, vms.PVC_KIND, claim, vm["metadata"]["namespace"]))
                reason = self._blocker(pvc, classes)
                if isinstance(reason, tuple):
                    plan[volume] = reason
                else:
                    refused.append("VM {0} disk {1} (PVC {2}): {3}".format(vm["metadata"]["name"], volume, claim,
                                                                           reason))
            if not plan and not any(r.startswith("VM {0} ".format(vm["metadata"]["name"])) for r in refused):
                refused.append("VM {0} has no disk on a PersistentVolumeClaim".format(vm["metadata"]["name"]))
        if refused:
            raise ModuleError("Cannot snapshot, so nothing was written: {0}.".format(". ".join(refused)),
                              refused=refused)
        return plans

    def _blocker(self, pvc, classes):
        if pvc is None:
            return "the claim does not exist"
        if fields.get(pvc, "status.phase") != "Bound":
            return "the claim is {0}, not Bound (start the VM, or use a class with Immediate binding)".format(
                fields.get(pvc, "status.phase") or "Pending")
        storage_class = self.kube.get(self.kube.ref("storage.k8s.io/v1", "StorageClass",
                                                    fields.get(pvc, "spec.storageClassName")))
        provisioner = fields.get(storage_class or {}, "provisioner") or "unknown"
        name, why = snapshot_class_for(provisioner, classes, self.snapshot_class)
        return (pvc, name) if name else why

    def take(self, vm_list, set_name):
        """Create every VM's set first, then wait on all of them with one watch; returns one report per VM."""
        plans = self.preflight(vm_list)
        created = []
        for vm in vm_list:
            plan = plans[vm["metadata"]["name"]]
            if self.method == VM_SNAPSHOT:
                wanted = [desired_vm_snapshot(vm, set_name)]
            else:
                wanted = [desired_volume_snapshot(vm, volume, pvc, set_name, cls)
                          for volume, (pvc, cls) in plan.items()]
            created.append((vm, [self.module.ensurer.present(desired, []).object for desired in wanted]))
        ready = self._ready(set_name, [obj for _vm, objects in created for obj in objects])
        return [self.report(vm, set_name, [ready.get(self._key(obj), obj) for obj in objects])
                for vm, objects in created]

    @staticmethod
    def _key(obj):
        return obj["metadata"].get("namespace"), obj["metadata"]["name"]

    def _ready(self, set_name, objects):
        """{(namespace, name): object} once every object of the set is ready to use (one watch per namespace)."""
        if self.module.check_mode or not self.module.params["wait"]:
            return {}
        failed = wait.phase_in("Failed") if self.method == VM_SNAPSHOT else None
        ready = {}
        for namespace in sorted(set(o["metadata"]["namespace"] for o in objects)):
            names = [o["metadata"]["name"] for o in objects if o["metadata"]["namespace"] == namespace]
            found = self.module.wait_until_each(self.ref._replace(namespace=namespace), names,
                                                wait.field_equals("status.readyToUse", True), ours(SET_LABEL, set_name),
                                                fail_when=failed)
            ready.update(((namespace, name), obj) for name, obj in found.items())
        return ready

    def of_vm(self, vm):
        """{set name: [objects]} of one VM's sets taken by this method, leaving out those being deleted."""
        ref = self.ref._replace(namespace=vm["metadata"]["namespace"])
        items, _version = self.kube.list(ref, label_selector=ours(VM_LABEL, vm["metadata"]["name"]))
        sets = {}
        for item in items:
            if fields.get(item, "metadata.deletionTimestamp"):
                continue  # its deletion is asked for already (it waits for a restore from it, or for Trident)
            sets.setdefault(fields.get(item, ["metadata", "labels", SET_LABEL]), []).append(item)
        return sets

    def remove(self, vm, set_names):
        """Delete the sets named (their CSI snapshots, and so the ONTAP snapshots, go with them)."""
        sets = self.of_vm(vm)
        for name in set_names:
            for obj in sets.get(name, []):
                self.module.ensurer.absent(self.module.ensurer.ref_of(obj))
        return [name for name in set_names if name in sets]

    def report(self, vm, set_name, objects):
        volumes = []
        for obj in objects:
            if self.method == VM_SNAPSHOT:
                volumes.extend(self._vm_snapshot_volumes(obj))
            else:
                volumes.append(self._volume(obj, fields.get(obj, ["metadata", "labels", VOLUME_LABEL])))
        return {"vm": vm["metadata"]["name"], "namespace": vm["metadata"]["namespace"], "snapshot": set_name,
                "method": self.method, "objects": [o["metadata"]["name"] for o in objects],
                "ready": all(v["ready"] for v in volumes) and bool(volumes) and all(
                    fields.get(o, "status.readyToUse") for o in objects), "volumes": volumes}

    def _vm_snapshot_volumes(self, vm_snapshot):
        content_name = fields.get(vm_snapshot, "status.virtualMachineSnapshotContentName")
        if not content_name:
            return []
        content = self.kube.get(self.kube.ref(KUBEVIRT_SNAPSHOT_API, "VirtualMachineSnapshotContent", content_name,
                                              vm_snapshot["metadata"]["namespace"])) or {}
        found = []
        for backup in fields.get(content, "spec.volumeBackups") or []:
            ref = self.kube.ref(*KINDS[VOLUME_SNAPSHOTS])._replace(
                name=backup.get("volumeSnapshotName"), namespace=vm_snapshot["metadata"]["namespace"])
            found.append(self._volume(self.kube.get(ref) or {"metadata": {"name": ref.name}}, backup["volumeName"]))
        return found

    def _volume(self, volume_snapshot, volume):
        """One disk's snapshot, down to the ONTAP snapshot behind it (the content's handle is <PV>/<snapshot>)."""
        status = volume_snapshot.get("status") or {}
        content = None
        if status.get("boundVolumeSnapshotContentName"):
            content = self.kube.get(self.kube.ref(CSI_SNAPSHOT_API, "VolumeSnapshotContent",
                                                  status["boundVolumeSnapshotContentName"]))
        handle = fields.get(content or {}, "status.snapshotHandle") or ""
        persistent_volume, _sep, ontap_snapshot = handle.partition("/")
        ontap_volume = None
        if persistent_volume:
            pv = self.kube.get(self.kube.ref("v1", "PersistentVolume", persistent_volume))
            ontap_volume = fields.get(pv or {}, "spec.csi.volumeAttributes.internalName")
        return {"volume": volume, "claim": fields.get(volume_snapshot, "spec.source.persistentVolumeClaimName"),
                "volume_snapshot": volume_snapshot["metadata"]["name"], "ready": bool(status.get("readyToUse")),
                "restore_size": status.get("restoreSize"), "content": status.get("boundVolumeSnapshotContentName"),
                "snapshot_handle": handle or None, "ontap_volume": ontap_volume,
                "ontap_snapshot": ontap_snapshot or None}

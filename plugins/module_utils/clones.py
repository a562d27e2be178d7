# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Clones of VMs: KubeVirt's VirtualMachineClone, or CSI clones of a running VM's claims and a new VM on them.

The CSI way clones each claim with a claim whose dataSource is the source claim; on Trident that is a
FlexClone on the source's backend that stays one (CDI's default snapshot strategy restores from a
temporary VolumeSnapshot, and deleting it makes Trident split the clone). Before anything is written
the clone is held to what a fast clone needs (external-provisioner's and Trident's rules, CDI's clone
planner ChooseStrategy): the same namespace, the same driver and backend type, the same volume mode,
and no growth unless the class can expand (Trident refuses a larger clone: the clone is made at the
source's size and then expanded, as CDI does).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, restores, snapshots, vms, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.complete import run_to_completion
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.names import to_dns1123_label, work_name
from ansible_collections.ontap.virtualization.plugins.module_utils.secrets import COLLECTION, MANAGED_BY

try:
    from kubernetes.utils import parse_quantity
except ImportError:  # reported by the module's requirement check
    parse_quantity = None

CLONE_API = "clone.kubevirt.io/v1beta1"
CLONE_OF_LABEL = "ontap.virtualization/clone-of"


def csi_clone_problems(source_pvc, source_class, target_class, size=None):
    """Why a CSI clone of ``source_pvc`` into ``target_class`` would not be a fast clone on the source's backend."""
    problems = []
    if source_class.get("provisioner") != target_class.get("provisioner"):
        problems.append("class {0} is provisioned by {1}, the source's by {2} (CDI would copy through a pod)".format(
            target_class["metadata"]["name"], target_class.get("provisioner"), source_class.get("provisioner")))
    backend = fields.get(source_class, "parameters.backendType")
    if backend != fields.get(target_class, "parameters.backendType"):
        problems.append("class {0} is for backend type {1}, the source's for {2}; Trident clones only on the "
                        "source's backend".format(target_class["metadata"]["name"],
                                                  fields.get(target_class, "parameters.backendType"), backend))
    source_size = fields.get(source_pvc, "status.capacity.storage") or \
        fields.get(source_pvc, "spec.resources.requests.storage")
    if size and parse_quantity(size) < parse_quantity(source_size):
        problems.append("{0} is smaller than the source's {1}".format(size, source_size))
    if size and parse_quantity(size) > parse_quantity(source_size) and not target_class.get("allowVolumeExpansion"):
        problems.append("{0} is larger than the source's {1} and class {2} cannot expand volumes".format(
            size, source_size, target_class["metadata"]["name"]))
    return problems


def desired_clone_claim(namespace, target, volume, source_pvc, storage_class):
    """A CSI clone of ``source_pvc`` at its size (Trident refuses a larger clone; it is expanded afterwards)."""
    spec = source_pvc["spec"]
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": to_dns1123_label("{0}-{1}".format(target, volume)), "namespace": namespace,
                         "labels": {MANAGED_BY: COLLECTION, CLONE_OF_LABEL: source_pvc["metadata"]["name"]}},
            "spec": {"storageClassName": storage_class, "volumeMode": spec.get("volumeMode"),
                     "accessModes": spec.get("accessModes"),
                     "resources": {"requests": {"storage": fields.get(source_pvc, "status.capacity.storage")
                                                or spec["resources"]["requests"]["storage"]}},
                     "dataSource": {"kind": "PersistentVolumeClaim", "name": source_pvc["metadata"]["name"]}}}


class Cloner(object):
    """Clones the VM ``source`` to ``target`` in ``module``'s namespace."""

    def __init__(self, module, source, target):
        self.module, self.kube = module, module.kube
        self.namespace = module.params["namespace"]
        self.source = vms.selected(self.kube, self.namespace, [source], doing="cloned")[0]
        self.target = target
        self.vm_ref = self.kube.ref(vms.KUBEVIRT_API, vms.VM_KIND, target, self.namespace)

    def _refuse_foreign_target(self):
        live = self.kube.get(self.vm_ref)
        source_name = self.source["metadata"]["name"]
        if live is not None and fields.get(live, ["metadata", "labels", CLONE_OF_LABEL]) != source_name:
            raise ModuleError("VM {0} exists already in namespace {1} and is not a clone of {2}; choose another "
                              "target. Nothing was written.".format(self.target, self.namespace, source_name))
        return live

    def with_kubevirt(self, label_filters=None, annotation_filters=None, stop_source=False, running=True):
        """A VirtualMachineClone (KubeVirt snapshots and restores the VM with new MACs and firmware UUID)."""
        source_name = self.source["metadata"]["name"]
        desired = {"apiVersion": CLONE_API, "kind": "VirtualMachineClone",
                   "metadata": {"name": work_name("clone", source_name, self.target), "namespace": self.namespace,
                                "labels": {MANAGED_BY: COLLECTION}},
                   "spec": {"source": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": source_name},
                            "target": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": self.target},
                            "labelFilters": label_filters, "annotationFilters": annotation_filters}}
        ref = self.module.ensurer.ref_of(desired)
        if self.kube.get(ref) is None:
            if self.kube.get(self.vm_ref) is not None:
                raise ModuleError("VM {0} exists already in namespace {1}; choose another target. Nothing was "
                                  "written.".format(self.target, self.namespace))
            snapshots.SnapshotSets(self.module, snapshots.VM_SNAPSHOT).preflight([self.source])
            if stop_source and vms.is_running(self.kube, self.source):
                restores.set_run_strategy(self.module, self.source, "Halted",
                                          fields.get(self.source, "spec.runStrategy") or "Always")
        clone = run_to_completion(self.module, desired, wait.field_equals("status.phase", "Succeeded"),
                                  failed=wait.phase_in("Failed"))
        if self.module.params["wait"] and not self.module.check_mode:
            restores.restart(self.module, vms.selected(self.kube, self.namespace, [source_name])[0])
            self._run(self.kube.get(self.vm_ref), running)
        return clone, self.kube.get(self.vm_ref)

    def with_csi(self, storage_class=None, size=None, running=True):
        """CSI-clone each claim (a claim whose dataSource is the source claim) and write a new VM on the clones."""
        live = self._refuse_foreign_target()
        plans, problems = [], []
        for volume, claim in vms.disks(self.source):
            pvc = self.kube.get(self.kube.ref(vms.PVC_API, vms.PVC_KIND, claim, self.namespace))
            if pvc is None:
                problems.append("disk {0}: claim {1} does not exist".format(volume, claim))
                continue
            source_class = self._class(fields.get(pvc, "spec.storageClassName"))
            target_class = self._class(storage_class or fields.get(pvc, "spec.storageClassName"))
            if target_class is None:
                problems.append("disk {0}: class {1} does not exist".format(volume, storage_class))
                continue
            problems.extend("disk {0}: {1}".format(volume, p)
                            for p in csi_clone_problems(pvc, source_class, target_class, size))
            plans.append(desired_clone_claim(self.namespace, self.target, volume, pvc,
                                             target_class["metadata"]["name"]))
        if problems:
            raise ModuleError("Cannot CSI-clone VM {0}, so nothing was written: {1}.".format(
                self.source["metadata"]["name"], "; ".join(problems)), refused=problems)
        claims = [self.module.ensurer.present(claim, []).object for claim in plans]
        waits = self.module.params["wait"] and not self.module.check_mode
        if waits:
            claims = [self.module.wait_until(self.module.ensurer.ref_of(c), wait.field_equals("status.phase", "Bound"))
                      for c in claims]
        notes = []
        grown = size and not self.module.check_mode and \
            parse_quantity(size) > parse_quantity(fields.get(plans[0], "spec.resources.requests.storage"))
        if grown:
            notes.append("the clones were made at the source's size and expanded to {0}".format(size))
            for claim in plans:
                fields.put(claim, "spec.resources.requests.storage", size)
                self.module.ensurer.present(claim, ["spec.resources.requests.storage"])
        by_volume = dict((volume, claim["metadata"]["name"])
                         for (volume, _claim), claim in zip(vms.disks(self.source), plans))
        labels = dict(fields.get(self.source, "metadata.labels") or {}, **{
            MANAGED_BY: COLLECTION, CLONE_OF_LABEL: self.source["metadata"]["name"]})
        desired = {"apiVersion": vms.KUBEVIRT_API, "kind": vms.VM_KIND,
                   "metadata": {"name": self.target, "namespace": self.namespace, "labels": labels},
                   "spec": vms.copy_spec(self.source, by_volume, "Always" if running else "Halted")}
        vm = live or self.module.ensurer.present(desired, []).object
        if running and waits:
            vm = self.module.wait_until(self.vm_ref, wait.field_equals("status.ready", True))
        return claims, vm, notes

    def _run(self, vm, running):
        if vm is not None and running != (fields.get(vm, "spec.runStrategy") == "Always"):
            restores.set_run_strategy(self.module, vm, "Always" if running else "Halted")
        if running:
            self.module.wait_until(self.vm_ref, wait.field_equals("status.ready", True))

    def _class(self, name):
        return self.kube.get(self.kube.ref("storage.k8s.io/v1", "StorageClass", name)) if name else None

# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""VirtualMachines as the protection modules see them: which VMs were asked for, their disks, their identity."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.ontap.virtualization.plugins.module_utils import fields
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

KUBEVIRT_API = "kubevirt.io/v1"
VM_KIND = "VirtualMachine"
VMI_KIND = "VirtualMachineInstance"
PVC_API, PVC_KIND = "v1", "PersistentVolumeClaim"
# What makes a VM itself on its network and to its guest OS; a copy of a VM gets new ones (KubeVirt generates
# MACs and the firmware UUID when they are left out; the guest takes its hostname from the VM's name).
IDENTITY_PATHS = ("template.spec.domain.firmware.uuid", "template.spec.domain.firmware.serial",
                  "template.spec.hostname", "template.spec.subdomain")


def selected(kube, namespace, names=None, label_selector=None, doing="changed"):
    """The VMs asked for, by name (each must exist) or by label selector, in a stable order."""
    ref = kube.ref(KUBEVIRT_API, VM_KIND, None, namespace)
    if label_selector is not None:
        items, _version = kube.list(ref, label_selector=label_selector)
        return sorted(items, key=lambda vm: vm["metadata"]["name"])
    found = [(name, kube.get(ref._replace(name=name))) for name in names]
    missing = [name for name, vm in found if vm is None]
    if missing:
        raise ModuleError("No VirtualMachine {0} in namespace {1}, so nothing was {2}.".format(
            ", ".join(missing), namespace, doing))
    return [vm for _name, vm in found]


def claim_of(volume):
    """The PVC a VM volume uses (a DataVolume's PVC has its name), or None for other volume kinds."""
    if "persistentVolumeClaim" in volume:
        return volume["persistentVolumeClaim"].get("claimName")
    if "dataVolume" in volume:
        return volume["dataVolume"].get("name")
    return None


def disks(vm):
    """(volume name, claim name) of every VM volume backed by a PVC, in the VM's order."""
    volumes = fields.get(vm, "spec.template.spec.volumes") or []
    return [(v["name"], claim_of(v)) for v in volumes if claim_of(v)]


def is_running(kube, vm):
    ref = kube.ref(KUBEVIRT_API, VMI_KIND, vm["metadata"]["name"], vm["metadata"]["namespace"])
    return kube.get(ref) is not None


def copy_spec(vm, claims, run_strategy):
    """A new VM's spec from ``vm``'s: its disks on ``claims`` (volume name -> new PVC), without its identity.

    Interfaces lose their MAC address, the firmware its UUID and serial, the template its hostname, so
    that KubeVirt gives the copy its own; DataVolume templates go (the copy's disks exist already).
    """
    spec = copy.deepcopy(vm.get("spec") or {})
    spec.pop("dataVolumeTemplates", None)
    spec.pop("running", None)
    spec["runStrategy"] = run_strategy
    for path in IDENTITY_PATHS:
        _drop(spec, path)
    for interface in fields.get(spec, "template.spec.domain.devices.interfaces") or []:
        interface.pop("macAddress", None)
    volumes = []
    for volume in fields.get(spec, "template.spec.volumes") or []:
        if volume["name"] in claims:
            volume = {"name": volume["name"], "persistentVolumeClaim": {"claimName": claims[volume["name"]]}}
        volumes.append(volume)
    if volumes:
        fields.put(spec, "template.spec.volumes", volumes)
    return spec


def macs(vm_or_vmi, path="spec.template.spec.domain.devices.interfaces"):
    return [i.get("macAddress") for i in fields.get(vm_or_vmi, path) or [] if i.get("macAddress")]


def _drop(obj, path):
    parts = path.split(".")
    parent = fields.get(obj, ".".join(parts[:-1])) if len(parts) > 1 else obj
    if isinstance(parent, dict):
        parent.pop(parts[-1], None)

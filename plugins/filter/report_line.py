# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
name: report_line
short_description: One readable line about a Trident backend, a StorageClass, the HyperConverged or a VM
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Turns an object read with M(kubernetes.core.k8s_info) into the line the C(playbooks/report.yml) report prints.
  - For a VM, follows each disk to its claim, its PersistentVolume and the ONTAP volume Trident made for it.
positional: _input, what
options:
  _input:
    description: The object.
    type: dict
    required: true
  what:
    description: What the object is.
    type: str
    choices: [backend, class, hyperconverged, vm]
    required: true
  nodes:
    description: For a VM, the node of each running VM instance, by name.
    type: dict
  pvcs:
    description: For a VM, the PersistentVolumeClaims of its namespace.
    type: list
    elements: dict
  pvs:
    description: For a VM, the PersistentVolumes by name.
    type: dict
"""

EXAMPLES = r"""
- name: One line per backend
  ansible.builtin.debug:
    msg: "{{ backends.resources | map('ontap.virtualization.report_line', 'backend') | list }}"
"""

RETURN = r"""
_value:
  description: The line.
  type: str
"""

from ansible_collections.ontap.virtualization.plugins.module_utils.class_marks import DEFAULT_CLASS, DEFAULT_VIRT_CLASS
from ansible_collections.ontap.virtualization.plugins.module_utils import fields


def _backend(obj):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    driver = spec.get("storageDriverName", "?")
    if spec.get("sanType"):
        driver += "/" + spec["sanType"]
    return "  {0}: {1} on SVM {2}, {3} ({4}) {5}".format(
        obj["metadata"]["name"], driver, spec.get("svm", "?"), status.get("phase") or "not bound",
        status.get("lastOperationStatus") or "-", fields.get(status, "backendInfo.backendUUID", ""))


def _class(obj):
    annotations = obj["metadata"].get("annotations") or {}
    marks = [label for key, label in ((DEFAULT_CLASS, "cluster default"), (DEFAULT_VIRT_CLASS, "default for VMs"))
             if str(annotations.get(key, "")).lower() == "true"]
    parameters = " ".join("{0}={1}".format(k, v) for k, v in sorted((obj.get("parameters") or {}).items()))
    return "  {0}: {1}{2}".format(obj["metadata"]["name"], parameters, " [{0}]".format(", ".join(marks)) if marks else "")


def _hyperconverged(obj):
    conditions = fields.get(obj, "status.conditions") or []
    if not obj:
        return "absent"
    return " ".join("{0}={1}".format(c.get("type"), c.get("status")) for c in conditions) or "no status yet"


def _disk(volume, namespace_pvcs, pvs):
    claim = fields.get(volume, "dataVolume.name") or fields.get(volume, "persistentVolumeClaim.claimName")
    if not claim:
        return "{0} (not a volume)".format(volume.get("name"))
    pvc = next((p for p in namespace_pvcs if p["metadata"]["name"] == claim), None)
    if pvc is None:
        return "{0} -> claim {1} (missing)".format(volume.get("name"), claim)
    pv = pvs.get(fields.get(pvc, "spec.volumeName") or "") or {}
    attributes = fields.get(pv, "spec.csi.volumeAttributes") or {}
    return "{0} -> {1} ({2} {3}, {4}) -> ONTAP {5} {6}".format(
        volume.get("name"), claim, fields.get(pvc, "spec.volumeMode", "?"), ",".join(fields.get(pvc, "spec.accessModes") or []),
        fields.get(pvc, "status.capacity.storage", "?"), attributes.get("protocol", "?"),
        attributes.get("internalName", "(not provisioned)"))


def _vm(obj, nodes, pvcs, pvs):
    name = obj["metadata"]["name"]
    volumes = fields.get(obj, "spec.template.spec.volumes") or []
    disks = "; ".join(_disk(v, pvcs or [], pvs or {}) for v in volumes)
    return "  {0}: {1} on {2}; disks: {3}".format(
        name, fields.get(obj, "status.printableStatus", "?"), (nodes or {}).get(name, "-"), disks)


def report_line(obj, what, nodes=None, pvcs=None, pvs=None):
    if what == "backend":
        return _backend(obj)
    if what == "class":
        return _class(obj)
    if what == "hyperconverged":
        return _hyperconverged(obj)
    return _vm(obj, nodes, pvcs, pvs)


class FilterModule(object):
    def filters(self):
        return {"report_line": report_line}

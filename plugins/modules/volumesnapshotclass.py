#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: volumesnapshotclass
short_description: Manage the VolumeSnapshotClass of Trident's CSI driver
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Creates, updates or deletes a C(VolumeSnapshotClass) for the driver C(csi.trident.netapp.io), which VM
    snapshots, VM clones and CDI smart clones need.
  - Can make it the default class of the driver and take that mark off any other class of the same driver,
    because KubeVirt refuses to choose between several default classes.
  - A separate module rather than an option of M(ontap.virtualization.storageclass), because one snapshot class
    serves every Trident StorageClass and has a default mark of its own.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
options:
  name:
    description:
      - Name of the VolumeSnapshotClass.
    type: str
    required: true
  state:
    description:
      - Whether the class should exist.
    type: str
    choices: [present, absent]
    default: present
  deletion_policy:
    description:
      - Whether deleting a VolumeSnapshot also deletes the ONTAP snapshot (V(Delete)) or keeps it (V(Retain)).
      - The deletion policy of an existing class cannot be changed by Kubernetes; set O(recreate=true) to replace it.
    type: str
    choices: [Delete, Retain]
    default: Delete
  default:
    description:
      - Whether this is the default snapshot class of the driver. V(true) takes the mark off the other classes
        of C(csi.trident.netapp.io). Left out, the mark is not touched.
    type: bool
  parameters:
    description:
      - Parameters for the driver's snapshotter. Trident needs none.
    type: dict
    default: {}
  recreate:
    description:
      - Delete and create the class again when a field Kubernetes does not let change (driver, deletion policy,
        parameters) differs. Existing snapshots keep working.
    type: bool
    default: false
"""

EXAMPLES = r"""
- name: The default snapshot class for Trident
  ontap.virtualization.volumesnapshotclass:
    name: trident-snapshotclass
    deletion_policy: Delete
    default: true
"""

RETURN = r"""
resource:
  description: The VolumeSnapshotClass as the cluster holds it.
  returned: with state=present
  type: dict
unmarked:
  description: Other snapshot classes of the driver whose default mark was taken off.
  returned: always
  type: list
  elements: str
  sample: [old-snapclass]
changes:
  description: What the run created, updated or deleted, in order (in check mode, what it would).
  returned: always
  type: list
  elements: str
  sample: [created VolumeSnapshotClass trident-snapshotclass]
diff:
  description: Before and after of the managed fields of every object the run changed.
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible_collections.ontap.virtualization.plugins.module_utils import class_marks, trident
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule
from ansible_collections.ontap.virtualization.plugins.module_utils.trident import CSI_DRIVER

API_VERSION = "snapshot.storage.k8s.io/v1"
KIND = "VolumeSnapshotClass"
IMMUTABLE = ("driver", "deletionPolicy", "parameters")

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    deletion_policy=dict(type="str", choices=["Delete", "Retain"], default="Delete"),
    default=dict(type="bool"),
    parameters=dict(type="dict", default={}),
    recreate=dict(type="bool", default=False),
)


def run(module):
    params = module.params
    ref = module.kube.ref(API_VERSION, KIND, params["name"])
    if params["state"] == "absent":
        return class_marks.class_result(module, module.ensurer.absent(ref, IMMUTABLE))
    desired = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": params["name"]},
               "driver": CSI_DRIVER, "deletionPolicy": params["deletion_policy"],
               "parameters": trident.string_parameters(params["parameters"])}
    if not desired["parameters"]:
        del desired["parameters"]
    return class_marks.ensure_with_default_marks(
        module, desired, ref, immutable=IMMUTABLE, mutable=(), marks={class_marks.DEFAULT_SNAPSHOT_CLASS: params["default"]},
        family=lambda other: other.get("driver") == CSI_DRIVER)


def main():
    KubeModule(ARGUMENT_SPEC, wait=False).run(run)


if __name__ == "__main__":
    main()

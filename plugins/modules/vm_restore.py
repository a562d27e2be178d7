#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_restore
short_description: Restore a VM's snapshot into a new VM, or in place
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Restores the snapshot set O(snapshot) of the VM O(vm), as taken by M(ontap.virtualization.vm_snapshot).
  - With O(target), the procedure's four steps in one task. One new claim per disk is restored from its
    C(VolumeSnapshot) (on ONTAP, a FlexClone of the volume from that snapshot). A new VM named O(target) gets the
    source's spec on those claims, with a new identity. Its interfaces lose their MAC addresses, its firmware its
    UUID and serial, its template the hostname.
  - Without O(target), in place with KubeVirt's C(VirtualMachineRestore) of the C(VirtualMachineSnapshot)
    (O(method=vm_snapshot)). A running VM is refused unless O(stop=true), which stops it first and starts it again
    once the restore is complete.
  - What KubeVirt refuses is refused before anything is written. That covers a running target, a second restore
    while one runs, and patches outside C(/spec/), C(/metadata/labels/) or C(/metadata/annotations/) (or with a
    colon in a value).
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
  - ontap.virtualization.progress_options
options:
  namespace:
    description: Namespace of the VM and its snapshots.
    type: str
    required: true
  vm:
    description: The VM whose snapshot is restored.
    type: str
    required: true
  snapshot:
    description: The snapshot set's name, as given to M(ontap.virtualization.vm_snapshot).
    type: str
    required: true
  method:
    description: How the set was taken. A restore in place needs V(vm_snapshot).
    type: str
    choices: [volume_snapshots, vm_snapshot]
    default: volume_snapshots
  target:
    description: The new VM's name. Without it, the VM is restored in place.
    type: str
  running:
    description: Whether the new VM runs.
    type: bool
    default: true
  stop:
    description: Stop a running VM before restoring it in place, and start it again afterwards.
    type: bool
    default: false
  patches:
    description: JSON patches (as strings) that KubeVirt applies to the restored VM, in place only.
    type: list
    elements: str
attributes:
  check_mode:
    details: Claims, VM and restore are created as server-side dry runs.
"""

EXAMPLES = r"""
- name: A new VM from the snapshot before-upgrade of rhel9-on-ontap
  ontap.virtualization.vm_restore:
    namespace: vms
    vm: rhel9-on-ontap
    snapshot: before-upgrade
    target: rhel9-from-before-upgrade

- name: Put rhel9-on-ontap back as it was, stopping it for the restore
  ontap.virtualization.vm_restore:
    namespace: vms
    vm: rhel9-on-ontap
    snapshot: before-upgrade
    method: vm_snapshot
    stop: true
"""

RETURN = r"""
vm:
  description: The new VM (with O(target)).
  returned: with O(target)
  type: dict
claims:
  description: The new claims, each restored from one disk's VolumeSnapshot.
  returned: with O(target)
  type: list
  elements: str
restore:
  description: The VirtualMachineRestore's name and status (in place).
  returned: without O(target)
  type: dict
changes:
  description: What the run created, updated or deleted, in order (in check mode, what it would).
  returned: always
  type: list
  elements: str
diff:
  description: Before and after of the managed fields of every object the run changed.
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible_collections.ontap.virtualization.plugins.module_utils import restores, snapshots
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

ARGUMENT_SPEC = dict(
    namespace=dict(type="str", required=True),
    vm=dict(type="str", required=True),
    snapshot=dict(type="str", required=True),
    method=dict(type="str", choices=list(snapshots.METHODS), default=snapshots.VOLUME_SNAPSHOTS),
    target=dict(type="str"),
    running=dict(type="bool", default=True),
    stop=dict(type="bool", default=False),
    patches=dict(type="list", elements="str"),
)
MUTUALLY_EXCLUSIVE = [("target", "patches"), ("target", "stop")]


def run(module):
    params = module.params
    if params["target"]:
        vm, claims = restores.to_new_vm(module, params["namespace"], params["vm"], params["snapshot"], params["method"],
                                        params["target"], params["running"])
        return module.result(vm=vm, claims=[c["metadata"]["name"] for c in claims])
    if params["method"] != snapshots.VM_SNAPSHOT:
        raise ModuleError("A restore in place is KubeVirt's VirtualMachineRestore of a VirtualMachineSnapshot: set "
                          "method to vm_snapshot, or give a target to restore into a new VM. Nothing was written.")
    restore = restores.in_place(module, params["namespace"], params["vm"], params["snapshot"], params["stop"],
                                params["patches"])
    return module.result(restore={"name": restore["metadata"]["name"], "status": restore.get("status") or {}})


def main():
    KubeModule(ARGUMENT_SPEC, progress=True, mutually_exclusive=MUTUALLY_EXCLUSIVE).run(run)


if __name__ == "__main__":
    main()

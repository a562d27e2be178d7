#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_snapshot
short_description: Snapshot every disk of one VM or many, and prune older snapshots
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Takes a snapshot set named O(snapshot) of each VM asked for (by name or by label), waits until it is ready
    to use, and reports the ONTAP snapshot behind each disk (the C(snapshotHandle) of its C(VolumeSnapshotContent)).
  - With O(method=volume_snapshots) (the procedure's way) each disk gets a CSI C(VolumeSnapshot), consistent per
    disk; with O(method=vm_snapshot) the VM gets one KubeVirt C(VirtualMachineSnapshot), consistent across its disks.
  - Before anything is written every disk is checked; a disk whose claim is not bound, or whose driver no
    C(VolumeSnapshotClass) serves, is refused with the reason (KubeVirt would leave it out silently).
  - With O(keep) or O(max_age) older sets of each VM are pruned (never the set just taken).
  - O(state=absent) deletes the set O(snapshot), or only prunes when O(snapshot) is not given.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
  - ontap.virtualization.progress_options
options:
  namespace:
    description: Namespace of the VMs.
    type: str
    required: true
  names:
    description: Names of the VMs.
    type: list
    elements: str
  label_selector:
    description: A label selector over the VirtualMachines, for example C(protect=daily).
    type: str
  snapshot:
    description:
      - The name of the snapshot set, for example C(before-upgrade) or a date. Each object is named from the VM,
        the disk and this name, so a rerun finds the set.
    type: str
  method:
    description: One C(VolumeSnapshot) per disk, or one C(VirtualMachineSnapshot) per VM.
    type: str
    choices: [volume_snapshots, vm_snapshot]
    default: volume_snapshots
  snapshot_class:
    description: The C(VolumeSnapshotClass) to use. Without it, the one (or the default one) serving each disk's driver.
    type: str
  keep:
    description: Keep this many sets per VM (the newest), prune the others.
    type: int
  max_age:
    description: Prune the sets older than this, for example C(7d), C(12h) or C(1d12h).
    type: str
  state:
    description: V(present) takes the set; V(absent) deletes it.
    type: str
    choices: [present, absent]
    default: present
attributes:
  check_mode:
    details: The snapshots are created as server-side dry runs; nothing is deleted.
"""

EXAMPLES = r"""
- name: Snapshot every disk of two VMs and keep the three newest sets of each
  ontap.virtualization.vm_snapshot:
    namespace: vms
    names: [rhel9-on-ontap, win2022]
    snapshot: before-upgrade
    keep: 3

- name: Prune week-old snapshots of every VM labelled protect=daily
  ontap.virtualization.vm_snapshot:
    namespace: vms
    label_selector: protect=daily
    state: absent
    max_age: 7d
"""

RETURN = r"""
snapshots:
  description: One entry per VM for the set taken (or found again).
  returned: when O(state=present)
  type: list
  elements: dict
  contains:
    vm: {description: The VM., type: str}
    namespace: {description: Its namespace., type: str}
    snapshot: {description: The set's name., type: str}
    method: {description: The method., type: str}
    objects: {description: The VolumeSnapshots or the VirtualMachineSnapshot of the set., type: list, elements: str}
    ready: {description: Whether every disk's snapshot is ready to use., type: bool}
    volumes:
      description: Per disk, its VolumeSnapshot, content, restore size and the ONTAP volume and snapshot behind it.
      type: list
      elements: dict
  sample:
    - vm: rhel9-on-ontap
      snapshot: before-upgrade
      ready: true
      volumes: [{volume: rootdisk, ontap_snapshot: snapshot-1a2b}]
pruned:
  description: Per VM, the sets deleted.
  returned: always
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

from ansible_collections.ontap.virtualization.plugins.module_utils import names, snapshots, vms
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

ARGUMENT_SPEC = dict(
    namespace=dict(type="str", required=True),
    names=dict(type="list", elements="str"),
    label_selector=dict(type="str"),
    snapshot=dict(type="str"),
    method=dict(type="str", choices=list(snapshots.METHODS), default=snapshots.VOLUME_SNAPSHOTS),
    snapshot_class=dict(type="str"),
    keep=dict(type="int"),
    max_age=dict(type="str"),
    state=dict(type="str", choices=["present", "absent"], default="present"),
)
MUTUALLY_EXCLUSIVE = [("names", "label_selector")]
REQUIRED_ONE_OF = [("names", "label_selector")]
REQUIRED_IF = [("state", "present", ["snapshot"]), ("state", "absent", ["snapshot", "keep", "max_age"], True)]


def run(module):
    params = module.params
    if params["keep"] is not None and params["keep"] < 1:
        raise ModuleError("keep must be at least 1: the set just taken is always kept.")
    max_age = snapshots.seconds_of(params["max_age"]) if params["max_age"] else None
    problem = params["snapshot"] and names.label_value_error(params["snapshot"])
    if problem:
        raise ModuleError("snapshot {0}: the set's name is kept in a label. Nothing was written.".format(problem))
    targets = vms.selected(module.kube, params["namespace"], params["names"], params["label_selector"], "snapshotted")
    sets = snapshots.SnapshotSets(module, params["method"], params["snapshot_class"])
    taken = sets.take(targets, params["snapshot"]) if params["state"] == "present" else None
    pruned = {}
    for vm in targets:
        doomed = snapshots.prunable(sets.of_vm(vm), params["keep"], max_age, spare=params["snapshot"])
        if params["state"] == "absent" and params["snapshot"]:
            doomed = [params["snapshot"]] + doomed
        removed = sets.remove(vm, doomed)
        if removed:
            pruned[vm["metadata"]["name"]] = removed
    return module.result(pruned=pruned, **({"snapshots": taken} if taken is not None else {}))


def main():
    KubeModule(ARGUMENT_SPEC, progress=True, mutually_exclusive=MUTUALLY_EXCLUSIVE, required_one_of=REQUIRED_ONE_OF,
               required_if=REQUIRED_IF).run(run)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mtv_plan
short_description: Manage an MTV migration Plan with its NetworkMap and StorageMap
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Resolves the VMs asked for by name (or id), or selected by folder or name pattern, through MTV's inventory (one
    list of the provider's VMs), builds the NetworkMap C(<name>-network) and
    the StorageMap C(<name>-storage) from the networks and datastores those VMs use (unless given), and creates or
    updates the Plan C(<name>), then waits until the Plan is Ready.
  - Datastores map by default to the cluster's Trident ontap-san class as C(Block) C(ReadWriteMany), so that the
    migrated VMs can live-migrate. Without O(network_map) the first network of the VMs maps to the pod network
    and the others are ignored (as kubectl-mtv does); O(network_map) maps each network explicitly.
  - Every problem found in the inventory (an unknown or ambiguous VM, an unmapped network) is reported before
    anything is written. When MTV does not make the Plan Ready, the task fails listing the blocking conditions
    per VM (for example C(VMMissingChangedBlockTracking) for a warm plan), and objects this run created are removed.
  - A Plan that is running a migration is never changed (MTV would cancel the migration); a rerun with the same
    options changes nothing.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
  - ontap.virtualization.progress_options
  - ontap.virtualization.mtv_inventory_options
options:
  state:
    description: Whether the Plan and its maps should exist.
    type: str
    choices: [present, absent]
    default: present
  name:
    description: Name of the Plan; the maps are named after it.
    type: str
    required: true
  namespace:
    description: Namespace of the Plan, its maps and the providers (MTV's namespace).
    type: str
    default: openshift-mtv
  source_provider:
    description: The vSphere Provider the VMs come from.
    type: str
  destination_provider:
    description: The OpenShift Provider the VMs go to; C(host) is this cluster, made by the operator.
    type: str
    default: host
  destination_provider_namespace:
    description: Namespace of O(destination_provider); the operator makes C(host) in MTV's namespace.
    type: str
    default: openshift-mtv
  target_namespace:
    description: Namespace the migrated VMs are created in.
    type: str
  create_target_namespace:
    description:
      - Create O(target_namespace) when it does not exist (the project the procedure creates for the VMs).
    type: bool
    default: true
  type:
    description: V(cold) powers the VM off and copies it; V(warm) copies while it runs and cuts over later.
    type: str
    choices: [cold, warm]
    default: cold
  vms:
    description:
      - The VMs to migrate, in this order.
      - Mutually exclusive with O(vm_folder) and O(vm_name_pattern).
    type: list
    elements: dict
    suboptions:
      name:
        description: The VM's name in vSphere.
        type: str
      id:
        description: The VM's vSphere id (moRef, for example C(vm-100)), when its name is ambiguous.
        type: str
      target_name:
        description: The VM's name on OpenShift (a DNS-1123 name); defaults to its vSphere name, normalized.
        type: str
  vm_folder:
    description:
      - Migrate the VMs of this vSphere VM folder and its subfolders, sorted by name.
      - A folder name (C(databases)), the end of its inventory path (C(vm/databases)) or its whole path
        (C(/DC0/vm/databases)). A name that several folders have is refused, listing their paths.
      - With O(vm_name_pattern), only the VMs of the folder whose name matches.
      - Resolved from one list of the provider's VMs, folders and datacenters in MTV's inventory; an empty selection
        is an error.
    type: str
    version_added: 1.0.0
  vm_name_pattern:
    description:
      - Migrate the VMs whose whole name matches this regular expression (Python syntax), sorted by name, for example
        C(rhel9-.*).
      - An empty selection is an error naming the pattern.
    type: str
    version_added: 1.0.0
  network_map:
    description: Network pairs. Every network of every VM must be mapped when this is given.
    type: list
    elements: dict
    suboptions:
      source:
        description: The vSphere network (port group) name or id.
        type: str
        required: true
      type:
        description: V(pod) network, a V(multus) NetworkAttachmentDefinition, or V(ignored) (the NIC is dropped).
        type: str
        choices: [pod, multus, ignored]
        default: pod
      name:
        description: The NetworkAttachmentDefinition (with V(multus)).
        type: str
      namespace:
        description: Its namespace; defaults to O(target_namespace).
        type: str
  storage_map:
    description: Datastore pairs; datastores not listed map to O(storage_class).
    type: list
    elements: dict
    suboptions:
      source:
        description: The datastore name or id.
        type: str
        required: true
      storage_class:
        description: The StorageClass.
        type: str
        required: true
      volume_mode:
        description: The claims' volume mode.
        type: str
        choices: [Block, Filesystem]
      access_mode:
        description: The claims' access mode.
        type: str
        choices: [ReadWriteMany, ReadWriteOnce, ReadOnlyMany]
  storage_class:
    description:
      - The class for datastores O(storage_map) leaves out. Defaults to the Trident ontap-san class (the one marked
        as the default class for VMs when there are several).
    type: str
  volume_mode:
    description: Volume mode with O(storage_class).
    type: str
    choices: [Block, Filesystem]
    default: Block
  access_mode:
    description: Access mode with O(storage_class). V(ReadWriteMany) lets the migrated VMs live-migrate.
    type: str
    choices: [ReadWriteMany, ReadWriteOnce, ReadOnlyMany]
    default: ReadWriteMany
  copy_offload:
    description:
      - Copy the disks with ONTAP copy offload (XCOPY) instead of VDDK; MTV's C(feature_copy_offload) must be on
        (see M(ontap.virtualization.mtv_operator)).
      - Every pair of the StorageMap gets C(offloadPlugin.vsphereXcopyConfig) with C(storageVendorProduct=ontap) and
        the offload Secret, which the module makes in O(namespace) from the Trident backend's management LIF, SVM
        and credentials Secret.
      - Refused before anything is written when the backend is missing, not Bound, not ontap-san or
        ontap-san-economy (the populator writes into LUNs), or when a mapped class is not a class of that driver.
        Datastores that are not VMFS are copied by the ESXi host instead of the array (a warning says which).
    type: dict
    version_added: 1.0.0
    suboptions:
      backend:
        description: The TridentBackendConfig of the ONTAP SVM the disks go to.
        type: str
        required: true
      backend_namespace:
        description: Its namespace (Trident's).
        type: str
        default: trident
      secret_name:
        description: Name of the offload Secret; defaults to C(<name>-offload).
        type: str
      skip_ssl_verification:
        description: Let the populator skip verifying ONTAP's certificate (C(STORAGE_SKIP_SSL_VERIFICATION)).
        type: bool
        default: false
  netapp_shift_class:
    description:
      - A StorageClass annotated C(shift.netapp.io/storage-class-type=shift) (a Trident ontap-nas class). The VMs'
        NFS datastores that O(storage_map) leaves out map onto it, so that MTV takes the NetApp Shift path (Trident
        takes the VMDKs over on ONTAP instead of copying them); other datastores map as usual.
      - Refused before anything is written for a warm plan, a VM with snapshots on such a datastore, a datastore
        mapped onto it that is not NFS with its NAS export in the inventory, or when none of the VMs' datastores is.
    type: str
    version_added: 1.0.0
  plan_spec:
    description:
      - Other Plan spec fields, for example C(description), C(preserveStaticIPs), C(targetPowerState).
    type: dict
attributes:
  check_mode:
    details: The inventory is read; writes are dry runs; the module does not wait.
"""

EXAMPLES = r"""
- name: Every VM of the databases folder whose name starts with rhel9, copied by the ONTAP array
  ontap.virtualization.mtv_plan:
    name: databases
    source_provider: vcenter
    target_namespace: databases
    vm_folder: /DC0/vm/databases
    vm_name_pattern: "rhel9-.*"
    copy_offload:
      backend: ontap-san
    inventory_token: "{{ mtv_token }}"

- name: NFS datastores on ONTAP taken over by NetApp Shift (cold)
  ontap.virtualization.mtv_plan:
    name: files
    source_provider: vcenter
    target_namespace: files
    vms:
      - name: win2022-files
    netapp_shift_class: ontap-nas-shift
    inventory_token: "{{ mtv_token }}"

- name: A warm plan for rhel9-postgres onto the ONTAP Block RWX class
  ontap.virtualization.mtv_plan:
    name: postgres
    source_provider: vcenter
    target_namespace: databases
    type: warm
    vms:
      - name: rhel9-postgres
    inventory_token: "{{ mtv_token }}"
  register: plan
"""

RETURN = r"""
plan:
  description: The Plan.
  returned: with state=present
  type: dict
  contains:
    name: {description: Its name., type: str}
    namespace: {description: Its namespace., type: str}
    uid: {description: Its UID., type: str}
    type: {description: cold or warm., type: str}
    target_namespace: {description: Where the VMs go., type: str}
    vms: {description: "The VMs, with the ids the inventory resolved.", type: list, elements: dict}
    ready: {description: Whether it is Ready., type: bool}
    conditions: {description: Its conditions., type: list, elements: dict}
network_map:
  description: The NetworkMap's pairs.
  returned: with state=present
  type: list
  elements: dict
storage_map:
  description: The StorageMap's pairs.
  returned: with state=present
  type: list
  elements: dict
blockers:
  description: On failure, the blocking conditions per VM (C(plan) for those of the whole plan).
  returned: when the Plan is not Ready
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

from ansible_collections.ontap.virtualization.plugins.module_utils import mtv_plan
from ansible_collections.ontap.virtualization.plugins.module_utils.mtv_inventory import INVENTORY_ARG_SPEC
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

MODES = dict(volume_mode=["Block", "Filesystem"], access_mode=["ReadWriteMany", "ReadWriteOnce", "ReadOnlyMany"])
ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    name=dict(type="str", required=True),
    namespace=dict(type="str", default="openshift-mtv"),
    source_provider=dict(type="str"),
    destination_provider=dict(type="str", default="host"),
    destination_provider_namespace=dict(type="str", default="openshift-mtv"),
    target_namespace=dict(type="str"),
    create_target_namespace=dict(type="bool", default=True),
    type=dict(type="str", choices=["cold", "warm"], default="cold"),
    vms=dict(type="list", elements="dict", options=dict(
        name=dict(type="str"), id=dict(type="str"), target_name=dict(type="str")),
        required_one_of=[("name", "id")]),
    network_map=dict(type="list", elements="dict", options=dict(
        source=dict(type="str", required=True), type=dict(type="str", choices=["pod", "multus", "ignored"],
                                                          default="pod"),
        name=dict(type="str"), namespace=dict(type="str")), required_if=[("type", "multus", ["name"])]),
    storage_map=dict(type="list", elements="dict", options=dict(
        source=dict(type="str", required=True), storage_class=dict(type="str", required=True),
        volume_mode=dict(type="str", choices=MODES["volume_mode"]),
        access_mode=dict(type="str", choices=MODES["access_mode"]))),
    vm_folder=dict(type="str"),
    vm_name_pattern=dict(type="str"),
    copy_offload=dict(type="dict", options=dict(
        backend=dict(type="str", required=True), backend_namespace=dict(type="str", default="trident"),
        secret_name=dict(type="str", no_log=False), skip_ssl_verification=dict(type="bool", default=False))),
    netapp_shift_class=dict(type="str"),
    storage_class=dict(type="str"),
    volume_mode=dict(type="str", choices=MODES["volume_mode"], default="Block"),
    access_mode=dict(type="str", choices=MODES["access_mode"], default="ReadWriteMany"),
    plan_spec=dict(type="dict"),
)
ARGUMENT_SPEC.update(INVENTORY_ARG_SPEC)
REQUIRED_IF = [("state", "present", ["source_provider", "target_namespace"]),
               ("state", "present", ["vms", "vm_folder", "vm_name_pattern"], True)]
MUTUALLY_EXCLUSIVE = [("vms", "vm_folder"), ("vms", "vm_name_pattern"), ("copy_offload", "netapp_shift_class")]


def run(module):
    if module.params["state"] == "absent":
        return module.result(**mtv_plan.absent(module))
    return module.result(**mtv_plan.present(module))


def main():
    KubeModule(ARGUMENT_SPEC, progress=True, required_if=REQUIRED_IF, mutually_exclusive=MUTUALLY_EXCLUSIVE).run(run)


if __name__ == "__main__":
    main()

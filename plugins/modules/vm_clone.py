#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_clone
short_description: Clone a VM, with KubeVirt's VirtualMachineClone or with CSI clones of its disks
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - With O(method=vm_clone), a C(VirtualMachineClone). KubeVirt snapshots the source and restores it as O(target),
    with new MAC addresses and firmware UUID. O(stop_source=true) stops a running source first and starts it
    again afterwards.
  - KubeVirt deletes that snapshot once the clone is done. On Trident, deleting an ONTAP snapshot that FlexClones
    use makes Trident split them, so the clone's disks end as full ONTAP volumes, not FlexClones. Use
    O(method=csi_clone) for disks that stay FlexClones.
  - With O(method=csi_clone), the source keeps running. Each of its claims is cloned by a claim whose
    C(dataSource) is the source claim (on Trident, a FlexClone), and a new VM O(target) is written on the clones
    with the source's spec minus its identity (MAC addresses, firmware UUID and serial, hostname).
  - Before writing, a CSI clone is held to what a fast clone needs. That means the same namespace, the same
    driver and backend type, the same volume mode, and no growth unless the class can expand. A refusal says
    when CDI would fall back to a slow host-assisted copy instead (another driver).
  - A clone into another namespace is refused. CDI can clone across namespaces only with the
    C(datavolumes/source) permission in the source namespace, and a VM cannot be cloned there by KubeVirt.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
  - ontap.virtualization.progress_options
options:
  namespace:
    description: Namespace of the source VM.
    type: str
    required: true
  source:
    description: The VM to clone.
    type: str
    required: true
  target:
    description: The clone's name.
    type: str
    required: true
  target_namespace:
    description:
      - The clone's namespace. Only the source's namespace is supported; another one is refused with the reason.
    type: str
  method:
    description: KubeVirt's clone of a (stopped or running) VM, or CSI clones of a running VM's claims.
    type: str
    choices: [vm_clone, csi_clone]
    default: vm_clone
  running:
    description: Whether the clone runs once made.
    type: bool
    default: true
  stop_source:
    description: With O(method=vm_clone), stop a running source first and start it again afterwards.
    type: bool
    default: false
  label_filters:
    description: With O(method=vm_clone), which labels the clone keeps, for example C(["*", "!team/*"]).
    type: list
    elements: str
  annotation_filters:
    description: With O(method=vm_clone), which annotations the clone keeps.
    type: list
    elements: str
  storage_class:
    description: With O(method=csi_clone), the clones' class (default the source claim's).
    type: str
  size:
    description: With O(method=csi_clone), the clones' size (default the source's), for example C(20Gi).
    type: str
attributes:
  check_mode:
    details: Everything is created as a server-side dry run; the source is not stopped.
"""

EXAMPLES = r"""
- name: Clone a VM with KubeVirt, powering the source off meanwhile
  ontap.virtualization.vm_clone:
    namespace: vms
    source: rhel9-on-ontap
    target: rhel9-copy
    stop_source: true
    label_filters: ["*", "!app.kubernetes.io/instance"]

- name: Clone a running VM's disks on ONTAP and start a VM on the clones
  ontap.virtualization.vm_clone:
    namespace: vms
    source: rhel9-on-ontap
    target: rhel9-twin
    method: csi_clone
"""

RETURN = r"""
vm:
  description: The clone.
  returned: success
  type: dict
clone:
  description: The VirtualMachineClone's name and status.
  returned: with O(method=vm_clone)
  type: dict
claims:
  description: The claims cloned from each disk.
  returned: with O(method=csi_clone)
  type: list
  elements: str
notes:
  description: What was done beyond the clone (an expansion to O(size)).
  returned: with O(method=csi_clone)
  type: list
  elements: str
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

from ansible_collections.ontap.virtualization.plugins.module_utils import clones, names
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

ARGUMENT_SPEC = dict(
    namespace=dict(type="str", required=True),
    source=dict(type="str", required=True),
    target=dict(type="str", required=True),
    target_namespace=dict(type="str"),
    method=dict(type="str", choices=["vm_clone", "csi_clone"], default="vm_clone"),
    running=dict(type="bool", default=True),
    stop_source=dict(type="bool", default=False),
    label_filters=dict(type="list", elements="str"),
    annotation_filters=dict(type="list", elements="str"),
    storage_class=dict(type="str"),
    size=dict(type="str"),
)
MUTUALLY_EXCLUSIVE = [("stop_source", "storage_class"), ("stop_source", "size"), ("label_filters", "storage_class")]


def run(module):
    params = module.params
    if params["target_namespace"] not in (None, params["namespace"]):
        raise ModuleError("A clone into namespace {0} from {1} is refused: KubeVirt clones only within a namespace, "
                          "and a CSI clone must stay in its claim's namespace (CDI's cross-namespace copy needs the "
                          "datavolumes/source permission there and is not a fast clone). Nothing was written.".format(
                              params["target_namespace"], params["namespace"]))
    if params["size"] and not names.is_quantity(params["size"]):
        raise ModuleError("size '{0}' is not a size such as 20Gi. Nothing was written.".format(params["size"]))
    if params["source"] == params["target"]:
        raise ModuleError("The clone's name must differ from the source's. Nothing was written.")
    cloner = clones.Cloner(module, params["source"], params["target"])
    if params["method"] == "csi_clone":
        claims, vm, notes = cloner.with_csi(params["storage_class"], params["size"], params["running"])
        return module.result(vm=vm, claims=[claim["metadata"]["name"] for claim in claims], notes=notes)
    clone, vm = cloner.with_kubevirt(params["label_filters"], params["annotation_filters"], params["stop_source"],
                                     params["running"])
    return module.result(vm=vm, clone={"name": clone["metadata"]["name"], "status": clone.get("status") or {}})


def main():
    KubeModule(ARGUMENT_SPEC, progress=True, mutually_exclusive=MUTUALLY_EXCLUSIVE).run(run)


if __name__ == "__main__":
    main()

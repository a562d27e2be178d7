#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_maintenance
short_description: Put a node into maintenance (its VMs live-migrate away) or take it out
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - With O(state=present), empties a node of its workloads so that it can be serviced, and waits until it holds no
    VM that must leave; its VMs live-migrate to other nodes.
  - Where the Node Maintenance Operator is installed, this is its C(NodeMaintenance) (what the OpenShift console
    creates); elsewhere the module cordons the node and drains it itself, asking again for the eviction of each
    VM's pod while KubeVirt answers HTTP 429 (it migrates the VM first), which C(kubernetes.core.k8s_drain) does
    not.
  - Before anything is written, a VM on the node that cannot live-migrate is refused by name, unless
    O(non_migratable) says what to do with it.
  - With O(state=absent), removes the C(NodeMaintenance) (the operator uncordons the node) and uncordons the node.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
  - ontap.virtualization.progress_options
options:
  node:
    description:
      - The node.
    type: str
    required: true
  state:
    description:
      - Whether the node is in maintenance.
    type: str
    choices: [present, absent]
    default: present
  method:
    description:
      - How to put the node into maintenance. V(auto) uses a C(NodeMaintenance) when the cluster serves it, else
        V(drain).
    type: str
    choices: [auto, node_maintenance, drain]
    default: auto
  non_migratable:
    description:
      - What to do with a VM on the node that cannot live-migrate. V(refuse) fails before anything is written,
        naming the VMs; V(stop) halts them first; V(leave) drains the node of the others, then fails naming them.
    type: str
    choices: [refuse, stop, leave]
    default: refuse
  reason:
    description:
      - Why the node is in maintenance (the C(NodeMaintenance)'s C(spec.reason)).
    type: str
attributes:
  check_mode:
    details: Writes are server-side dry runs; no pod is evicted and nothing is waited for.
"""

EXAMPLES = r"""
- name: Service worker-1; its VMs live-migrate to the other workers
  ontap.virtualization.node_maintenance:
    node: worker-1
    reason: firmware update
    wait_timeout: 1800

- name: Take worker-1 out of maintenance
  ontap.virtualization.node_maintenance:
    node: worker-1
    state: absent
"""

RETURN = r"""
node:
  description: The node.
  returned: always
  type: str
method:
  description: V(NodeMaintenance) or V(drain).
  returned: always
  type: str
unschedulable:
  description: Whether the node is cordoned now.
  returned: always
  type: bool
vms_on_node:
  description: The VMs (namespace/name) still running on the node (none in check mode, which does not look).
  returned: always
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

from ansible_collections.ontap.virtualization.plugins.module_utils.drain import Maintenance
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

ARGUMENT_SPEC = dict(
    node=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    method=dict(type="str", choices=["auto", "node_maintenance", "drain"], default="auto"),
    non_migratable=dict(type="str", choices=["refuse", "stop", "leave"], default="refuse"),
    reason=dict(type="str"),
)


def run(module):
    params = module.params
    maintenance = Maintenance(module, params["node"], params["non_migratable"], params["method"], params["reason"])
    summary = maintenance.enter() if params["state"] == "present" else maintenance.leave()
    return module.result(**summary)


def main():
    KubeModule(ARGUMENT_SPEC, progress=True).run(run)


if __name__ == "__main__":
    main()

#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: vm_live_migration
short_description: Live-migrate running VMs to another node
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Live-migrates one VM or many (by name or by label) with a C(VirtualMachineInstanceMigration) each, to any
    other node or to the node asked for, and waits until each migration has succeeded or failed.
  - Before anything is created, every VM is checked; a VM that cannot live-migrate is refused with the reason
    (the disk whose claim is not ReadWriteMany, the interface that blocks it, the C(LiveMigratable) condition).
  - Many VMs are migrated within the cluster's limits (C(parallelMigrationsPerCluster) and
    C(parallelOutboundMigrationsPerNode) of the KubeVirt configuration), starting the next when one ends.
  - Each migration has a name derived from the VM, its node and the target, so a rerun follows the migrations
    the first run started, and a VM that already migrated as asked is not migrated again.
  - A failed migration (no node can take it, aborted, too slow) fails the task with KubeVirt's reason; the
    migration object stays as KubeVirt's record, and a rerun reports it again. Delete it to try again.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
  - ontap.virtualization.progress_options
notes:
  - With O(wait=false) every migration is created at once; KubeVirt holds those beyond its limits in Pending.
options:
  namespace:
    description:
      - Namespace of the VMs.
    type: str
    required: true
  names:
    description:
      - Names of the VMs to migrate. Each must be running.
    type: list
    elements: str
  label_selector:
    description:
      - A label selector over the VirtualMachines, for example C(tier=web). VMs that are not running are skipped.
    type: str
  node:
    description:
      - The node to migrate to. A VM already there is left alone. Without O(node) and O(node_selector), KubeVirt
        picks any other node.
    type: str
  node_selector:
    description:
      - Labels the target node must carry (the migration's C(addedNodeSelector)).
    type: dict
  unschedulable_timeout:
    description:
      - Seconds KubeVirt lets the target pod stay unschedulable before it fails the migration (the annotation
        C(kubevirt.io/migrationUnschedulablePodTimeoutSeconds)). KubeVirt's default is 5 minutes.
    type: int
attributes:
  check_mode:
    details: The migrations are created as server-side dry runs, so KubeVirt's admission still answers.
"""

EXAMPLES = r"""
- name: Move a VM to worker-2
  ontap.virtualization.vm_live_migration:
    namespace: vms
    names: [rhel9-on-ontap]
    node: worker-2
  register: moved

- name: Move every VM of a tier off its node, wherever KubeVirt puts it
  ontap.virtualization.vm_live_migration:
    namespace: vms
    label_selector: tier=web
    wait_timeout: 1800
"""

RETURN = r"""
migrations:
  description: One entry per VM, in the order asked.
  returned: always
  type: list
  elements: dict
  contains:
    vm: {description: The VM., type: str}
    namespace: {description: Its namespace., type: str}
    migration: {description: The migration's name (none when the VM was already on O(node))., type: str}
    outcome: {description: "V(migrated), V(failed), V(started) (not waited for) or V(already there).", type: str}
    phase: {description: The migration's phase., type: str}
    source_node: {description: The node the VM left., type: str}
    target_node: {description: The node it migrated to., type: str}
    node: {description: The node the VM runs on now., type: str}
    duration_seconds: {description: From the migration's creation to its end., type: int}
    reason: {description: "Why it failed, in KubeVirt's words.", type: str}
  sample: [{vm: rhel9-on-ontap, namespace: vms, outcome: migrated, source_node: worker-1, target_node: worker-2}]
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

from ansible_collections.ontap.virtualization.plugins.module_utils import migration
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError, WorkFailed
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

ARGUMENT_SPEC = dict(
    namespace=dict(type="str", required=True),
    names=dict(type="list", elements="str"),
    label_selector=dict(type="str"),
    node=dict(type="str"),
    node_selector=dict(type="dict"),
    unschedulable_timeout=dict(type="int"),
)
MUTUALLY_EXCLUSIVE = [("names", "label_selector"), ("node", "node_selector")]
REQUIRED_ONE_OF = [("names", "label_selector")]


def run(module):
    params = module.params
    if (params["unschedulable_timeout"] or 1) < 1:
        raise ModuleError("unschedulable_timeout must be at least 1 (seconds).")
    vmis = migration.running_vmis(module.kube, params["namespace"], params["names"], params["label_selector"])
    batch = migration.Batch(module, migration.Target(params["node"], params["node_selector"]),
                            params["unschedulable_timeout"])
    batch.preflight(vmis)
    outcomes = batch.run(vmis)
    failed = migration.failures(outcomes)
    if failed:
        raise WorkFailed("Live migration failed: {0}. The failed migrations stay as KubeVirt's record; delete them to "
                         "try again.".format(". ".join(failed)), migrations=outcomes)
    return module.result(migrations=outcomes)


def main():
    KubeModule(ARGUMENT_SPEC, progress=True, mutually_exclusive=MUTUALLY_EXCLUSIVE,
               required_one_of=REQUIRED_ONE_OF).run(run)


if __name__ == "__main__":
    main()

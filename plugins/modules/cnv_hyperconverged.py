#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cnv_hyperconverged
short_description: Install OpenShift Virtualization through OLM and manage its HyperConverged
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Installs the OpenShift Virtualization operator the way OperatorHub does it (Namespace, OperatorGroup,
    Subscription), waits for its ClusterServiceVersion to succeed, then creates or updates the HyperConverged
    C(kubevirt-hyperconverged) and waits until it is Available.
  - With O(approval=Manual), approves the InstallPlan only when it installs the version asked for in O(starting_csv).
  - With O(state=absent), uninstalls in the safe order (the HyperConverged first, then the Subscription and the
    ClusterServiceVersion), and refuses while virtual machines exist unless O(force=true).
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
  - ontap.virtualization.progress_options
notes:
  - The module always waits for the operator to be installed, because the HyperConverged API exists only then;
    O(wait=false) skips only the wait for the HyperConverged to become Available.
options:
  state:
    description:
      - Whether OpenShift Virtualization should be installed.
    type: str
    choices: [present, absent]
    default: present
  namespace:
    description:
      - The operator's namespace, where the HyperConverged lives too.
    type: str
    default: openshift-cnv
  package:
    description:
      - The operator package in the catalog.
    type: str
    default: kubevirt-hyperconverged
  channel:
    description:
      - The update channel.
    type: str
    default: stable
  source:
    description:
      - The CatalogSource offering the package.
    type: str
    default: redhat-operators
  source_namespace:
    description:
      - Namespace of the CatalogSource.
    type: str
    default: openshift-marketplace
  subscription_name:
    description:
      - Name of the Subscription.
    type: str
    default: hco-operatorhub
  approval:
    description:
      - How InstallPlans are approved. With V(Manual) the module approves the InstallPlan only when it installs
        O(starting_csv), and fails otherwise without approving.
    type: str
    choices: [Automatic, Manual]
    default: Automatic
  starting_csv:
    description:
      - The ClusterServiceVersion to install, for example C(kubevirt-hyperconverged-operator.v4.21.3).
      - Required with O(approval=Manual).
    type: str
  feature_gates:
    description:
      - HyperConverged feature gates (C(spec.featureGates)), for example C(decentralizedLiveMigration).
    type: dict
  live_migration:
    description:
      - Live-migration settings (C(spec.liveMigrationConfig)).
    type: dict
    suboptions:
      parallel_migrations_per_cluster:
        description: Migrations running at once in the cluster.
        type: int
      parallel_outbound_migrations_per_node:
        description: Migrations leaving one node at once.
        type: int
      completion_timeout_per_gib:
        description: Seconds per GiB of memory before a migration is cancelled.
        type: int
      progress_timeout:
        description: Seconds without progress before a migration is cancelled.
        type: int
      bandwidth_per_migration:
        description: Bandwidth limit per migration, for example C(640Mi).
        type: str
      network:
        description: Name of a NetworkAttachmentDefinition for migration traffic.
        type: str
      allow_auto_converge:
        description: Whether to slow the VM down so that a migration can converge.
        type: bool
      allow_post_copy:
        description: Whether post-copy migration is allowed.
        type: bool
  infra_node_placement:
    description:
      - Where the infrastructure components run (C(spec.infra.nodePlacement)), with C(nodeSelector),
        C(affinity) and C(tolerations).
    type: dict
  workloads_node_placement:
    description:
      - Where virtual machines may run (C(spec.workloads.nodePlacement)).
    type: dict
  eviction_strategy:
    description:
      - What happens to VMs on a node that is drained. V(LiveMigrate) moves them away.
    type: str
    choices: [None, LiveMigrate, LiveMigrateIfPossible, External]
  boot_sources:
    description:
      - Whether the common boot sources (RHEL, CentOS Stream, Fedora) are imported, and where.
    type: dict
    suboptions:
      enabled:
        description: Whether to import them (C(spec.enableCommonBootImageImport)).
        type: bool
      namespace:
        description: Their namespace (C(spec.commonBootImageNamespace)).
        type: str
      wait:
        description:
          - With O(wait), also wait until the DataSource of every DataImportCron in their namespace is Ready
            (O(boot_sources.namespace), else the HyperConverged's C(spec.commonBootImageNamespace), else
            C(openshift-virtualization-os-images)), within the same O(wait_timeout).
        type: bool
        default: false
  spec:
    description:
      - Any other field of the HyperConverged C(spec). It may not repeat a field that has an option of its own.
    type: dict
    default: {}
  force:
    description:
      - With O(state=absent), uninstall even while virtual machines exist. Their VMs are removed with it
        (the HyperConverged's C(uninstallStrategy) is set to C(RemoveWorkloads)).
    type: bool
    default: false
attributes:
  check_mode:
    details: Writes go to the API server as dry runs where the objects' APIs exist; the module does not wait.
"""

EXAMPLES = r"""
- name: Install OpenShift Virtualization with live migration tuned for ONTAP
  ontap.virtualization.cnv_hyperconverged:
    channel: stable
    live_migration:
      parallel_migrations_per_cluster: 5
      parallel_outbound_migrations_per_node: 2
    eviction_strategy: LiveMigrate
  register: cnv

- name: Install one exact version, approving its InstallPlan only
  ontap.virtualization.cnv_hyperconverged:
    approval: Manual
    starting_csv: kubevirt-hyperconverged-operator.v4.21.3

- name: Install and wait until the common boot sources are Ready to clone VM disks from
  ontap.virtualization.cnv_hyperconverged:
    boot_sources:
      wait: true
    wait_timeout: 1800

- name: Uninstall (refused while VMs exist)
  ontap.virtualization.cnv_hyperconverged:
    state: absent
"""

RETURN = r"""
installed_csv:
  description: The ClusterServiceVersion that is installed.
  returned: with state=present, when not in check mode
  type: str
  sample: kubevirt-hyperconverged-operator.v4.21.3
installed_version:
  description: The operator version.
  returned: with state=present, when not in check mode
  type: str
  sample: 4.21.3
conditions:
  description: The HyperConverged conditions after the wait.
  returned: with state=present
  type: list
  elements: dict
boot_sources:
  description: The DataSources of the boot sources, each Ready, as C(namespace/name).
  returned: with boot_sources.wait and wait, when not in check mode
  type: list
  elements: str
  sample: [openshift-virtualization-os-images/rhel9, openshift-virtualization-os-images/fedora]
hyperconverged:
  description: The HyperConverged as the cluster holds it.
  returned: with state=present
  type: dict
changes:
  description: What the run created, updated or deleted, in order (in check mode, what it would).
  returned: always
  type: list
  elements: str
  sample: [created Namespace openshift-cnv, created Subscription openshift-cnv/hco-operatorhub]
diff:
  description: Before and after of the managed fields of every object the run changed.
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, hyperconverged, olm
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

LIVE_MIGRATION_KEYS = {
    "parallel_migrations_per_cluster": "parallelMigrationsPerCluster",
    "parallel_outbound_migrations_per_node": "parallelOutboundMigrationsPerNode",
    "completion_timeout_per_gib": "completionTimeoutPerGiB", "progress_timeout": "progressTimeout",
    "bandwidth_per_migration": "bandwidthPerMigration", "network": "network",
    "allow_auto_converge": "allowAutoConverge", "allow_post_copy": "allowPostCopy",
}
LIVE_MIGRATION_COUNTS = ("parallel_migrations_per_cluster", "parallel_outbound_migrations_per_node",
                         "completion_timeout_per_gib", "progress_timeout")

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    namespace=dict(type="str", default="openshift-cnv"),
    package=dict(type="str", default="kubevirt-hyperconverged"),
    channel=dict(type="str", default="stable"),
    source=dict(type="str", default="redhat-operators"),
    source_namespace=dict(type="str", default="openshift-marketplace"),
    subscription_name=dict(type="str", default="hco-operatorhub"),
    approval=dict(type="str", choices=["Automatic", "Manual"], default="Automatic"),
    starting_csv=dict(type="str"),
    feature_gates=dict(type="dict"),
    live_migration=dict(type="dict", options=dict(
        parallel_migrations_per_cluster=dict(type="int"), parallel_outbound_migrations_per_node=dict(type="int"),
        completion_timeout_per_gib=dict(type="int"), progress_timeout=dict(type="int"),
        bandwidth_per_migration=dict(type="str"), network=dict(type="str"),
        allow_auto_converge=dict(type="bool"), allow_post_copy=dict(type="bool"))),
    infra_node_placement=dict(type="dict"),
    workloads_node_placement=dict(type="dict"),
    eviction_strategy=dict(type="str", choices=["None", "LiveMigrate", "LiveMigrateIfPossible", "External"]),
    boot_sources=dict(type="dict", options=dict(enabled=dict(type="bool"), namespace=dict(type="str"),
                                                wait=dict(type="bool", default=False))),
    spec=dict(type="dict", default={}),
    force=dict(type="bool", default=False),
)
REQUIRED_IF = [("approval", "Manual", ["starting_csv"])]


def hyperconverged_spec(params):
    """The HyperConverged spec the options ask for, and the spec paths they manage."""
    spec, managed = {}, []

    def put(path, value):
        if value is not None:
            fields.put(spec, path, value)
            managed.append("spec." + path)

    live_migration = params["live_migration"] or {}
    negative = [option for option in LIVE_MIGRATION_COUNTS if (live_migration.get(option) or 1) < 1]
    if negative:
        raise ModuleError("live_migration.{0} must be at least 1".format(", live_migration.".join(negative)))
    for key, value in (params["feature_gates"] or {}).items():
        put("featureGates." + key, value)
    for option, key in LIVE_MIGRATION_KEYS.items():
        put("liveMigrationConfig." + key, live_migration.get(option))
    put("infra.nodePlacement", params["infra_node_placement"])
    put("workloads.nodePlacement", params["workloads_node_placement"])
    put("evictionStrategy", params["eviction_strategy"])
    put("enableCommonBootImageImport", (params["boot_sources"] or {}).get("enabled"))
    put("commonBootImageNamespace", (params["boot_sources"] or {}).get("namespace"))
    repeated = sorted(key for key in params["spec"] if key in spec or any(
        path.startswith("spec." + key + ".") or path == "spec." + key for path in managed))
    if repeated:
        raise ModuleError("spec repeats {0}, which {1} an option of its own; set {2} through the option".format(
            ", ".join(repeated), "has" if len(repeated) == 1 else "have", "it" if len(repeated) == 1 else "them"))
    for key, value in params["spec"].items():
        put(key, value)
    return spec, managed


def operator(params):
    return olm.Operator(
        namespace=params["namespace"], package=params["package"], channel=params["channel"],
        source=params["source"], source_namespace=params["source_namespace"],
        subscription=params["subscription_name"], approval=params["approval"], starting_csv=params["starting_csv"],
        operator_group="kubevirt-hyperconverged-group", namespace_labels={"openshift.io/cluster-monitoring": "true"})


def present(module):
    params = module.params
    spec, managed = hyperconverged_spec(params)  # a bad spec is refused before the first write
    csv = olm.install(module, operator(params))
    returned = {} if csv is None else {"installed_csv": csv["metadata"]["name"],
                                       "installed_version": fields.get(csv, "spec.version")}
    desired = hyperconverged.desired(params["namespace"], spec)
    if module.check_mode and not module.kube.served(hyperconverged.HCO_API, hyperconverged.HCO_KIND):
        found = module.ensurer.preview_create(desired, managed).object  # the operator brings this API
    else:
        found = module.ensurer.present(desired, managed).object
    if params["wait"] and not module.check_mode:
        found = hyperconverged.wait_until_healthy(module, params["namespace"])
        if (params["boot_sources"] or {}).get("wait"):
            returned["boot_sources"] = hyperconverged.wait_for_boot_sources(module, found)
    conditions = fields.get(found, "status.conditions") or []
    return module.result(hyperconverged=found, conditions=conditions, **returned)


def absent(module):
    hyperconverged.remove(module, module.params["namespace"], module.params["force"])
    olm.uninstall(module, operator(module.params))
    return module.result()


def run(module):
    return present(module) if module.params["state"] == "present" else absent(module)


def main():
    KubeModule(ARGUMENT_SPEC, progress=True, required_if=REQUIRED_IF).run(run)


if __name__ == "__main__":
    main()

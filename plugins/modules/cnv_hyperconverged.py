#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cnv_hyperconverged
short_description: Install OpenShift Virtualization through OLM and manage its HyperConverged
version_added: 0.1.0
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
  - ansible.builtin.action_common_attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
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
  platform:
    support: full
    platforms: all
  check_mode:
    support: full
    details: Writes go to the API server as dry runs where the objects' APIs exist; the module does not wait.
  diff_mode:
    support: full
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
hyperconverged:
  description: The HyperConverged as the cluster holds it.
  returned: with state=present
  type: dict
removed:
  description: What an uninstall removed, in order.
  returned: with state=absent
  type: list
  elements: str
diff:
  description: Before and after of the managed fields of every object the module changed.
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

HCO_NAME = "kubevirt-hyperconverged"
HCO_API = "hco.kubevirt.io/v1beta1"
OLM_V1 = "operators.coreos.com/v1"
OLM_V1ALPHA1 = "operators.coreos.com/v1alpha1"
LIVE_MIGRATION_KEYS = {
    "parallel_migrations_per_cluster": "parallelMigrationsPerCluster",
    "parallel_outbound_migrations_per_node": "parallelOutboundMigrationsPerNode",
    "completion_timeout_per_gib": "completionTimeoutPerGiB", "progress_timeout": "progressTimeout",
    "bandwidth_per_migration": "bandwidthPerMigration", "network": "network",
    "allow_auto_converge": "allowAutoConverge", "allow_post_copy": "allowPostCopy",
}
HEALTHY = (("Available", "True"), ("Progressing", "False"), ("Degraded", "False"), ("ReconcileComplete", "True"))

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
    boot_sources=dict(type="dict", options=dict(enabled=dict(type="bool"), namespace=dict(type="str"))),
    spec=dict(type="dict", default={}),
    force=dict(type="bool", default=False),
)


def hyperconverged_spec(params):
    """The HyperConverged spec the options ask for, and the spec paths they manage."""
    spec, managed = {}, []

    def put(path, value):
        if value is not None:
            fields.put(spec, path, value)
            managed.append("spec." + path)

    for key, value in (params["feature_gates"] or {}).items():
        put("featureGates." + key, value)
    for option, key in LIVE_MIGRATION_KEYS.items():
        put("liveMigrationConfig." + key, (params["live_migration"] or {}).get(option))
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


class Installer(object):
    def __init__(self, module):
        self.module = module
        self.params = module.params
        self.kube = module.kube
        self.ensurer = module.ensurer
        self.diffs = []
        self.changed = False

    def _ensure(self, desired, managed):
        outcome = self.ensurer.present(desired, managed)
        self.changed = self.changed or outcome.changed
        if outcome.diff is not None:
            self.diffs.append(outcome.diff)
        return outcome.object

    def _ref(self, api_version, kind, name):
        return self.kube.ref(api_version, kind, name, self.params["namespace"])

    def namespace(self):
        self._ensure({"apiVersion": "v1", "kind": "Namespace", "metadata": {
            "name": self.params["namespace"], "labels": {"openshift.io/cluster-monitoring": "true"}}},
            [("metadata", "labels", "openshift.io/cluster-monitoring")])

    def operator_group(self):
        groups, _version = self.kube.list(self._ref(OLM_V1, "OperatorGroup", None))
        if groups:
            return  # OLM allows one OperatorGroup per namespace: use the one that is there
        self._ensure({"apiVersion": OLM_V1, "kind": "OperatorGroup", "metadata": {
            "name": "kubevirt-hyperconverged-group", "namespace": self.params["namespace"]},
            "spec": {"targetNamespaces": [self.params["namespace"]]}}, ["spec.targetNamespaces"])

    def subscription(self):
        spec = {"name": self.params["package"], "channel": self.params["channel"], "source": self.params["source"],
                "sourceNamespace": self.params["source_namespace"], "installPlanApproval": self.params["approval"]}
        if self.params["starting_csv"]:
            spec["startingCSV"] = self.params["starting_csv"]
        return self._ensure({"apiVersion": OLM_V1ALPHA1, "kind": "Subscription", "metadata": {
            "name": self.params["subscription_name"], "namespace": self.params["namespace"]}, "spec": spec},
            ["spec." + key for key in ("name", "channel", "source", "sourceNamespace", "installPlanApproval",
                                       "startingCSV")])

    def wait_for_install_plan(self, timeout):
        planned = wait.Predicate("the Subscription has an InstallPlan",
                                 lambda obj: bool(fields.get(obj or {}, "status.installPlanRef.name")))
        unresolvable = wait.condition("ResolutionFailed")
        try:
            return self.module.waiter().until(self._ref(OLM_V1ALPHA1, "Subscription", self.params["subscription_name"]),
                                              planned, timeout, fail_when=unresolvable)
        except wait.WaitFailed as exc:
            failed = wait.find_condition(exc.last, "ResolutionFailed")
            if failed and failed.get("status") == "True":
                raise ModuleError("OLM cannot install {0} from channel {1} of {2}: {3}".format(
                    self.params["starting_csv"] or self.params["package"], self.params["channel"],
                    self.params["source"], failed.get("message")))
            raise

    def approve(self, subscription, timeout):
        plan_ref = self._ref(OLM_V1ALPHA1, "InstallPlan", fields.get(subscription, "status.installPlanRef.name"))
        plan = self.kube.get(plan_ref)
        offered = fields.get(plan, "spec.clusterServiceVersionNames") or []
        if self.params["starting_csv"] not in offered:
            raise ModuleError("InstallPlan {0} installs {1}, not {2}: it was not approved. Pick a starting_csv the "
                              "channel {3} offers.".format(plan_ref.name, ", ".join(offered) or "nothing",
                                                           self.params["starting_csv"], self.params["channel"]))
        if not fields.get(plan, "spec.approved"):
            self._ensure({"apiVersion": OLM_V1ALPHA1, "kind": "InstallPlan", "metadata": {
                "name": plan_ref.name, "namespace": self.params["namespace"]}, "spec": {"approved": True}},
                ["spec.approved"])

    def wait_for_csv(self, timeout):
        subscription_ref = self._ref(OLM_V1ALPHA1, "Subscription", self.params["subscription_name"])
        installed = wait.Predicate("the Subscription reports an installed CSV",
                                   lambda obj: bool(fields.get(obj or {}, "status.installedCSV")))
        subscription = self.module.waiter().until(subscription_ref, installed, timeout)
        csv_name = fields.get(subscription, "status.installedCSV")
        csv = self.module.waiter().until(self._ref(OLM_V1ALPHA1, "ClusterServiceVersion", csv_name),
                                         wait.phase_in("Succeeded"), timeout, fail_when=wait.phase_in("Failed"))
        return csv

    def hyperconverged(self):
        spec, managed = hyperconverged_spec(self.params)
        desired = {"apiVersion": HCO_API, "kind": "HyperConverged",
                   "metadata": {"name": HCO_NAME, "namespace": self.params["namespace"]}, "spec": spec}
        if self.module.check_mode:
            try:
                self.kube.resource(HCO_API, "HyperConverged")
            except ModuleError:  # the operator is not installed yet, so neither is its API
                preview = self.ensurer.preview_create(desired, managed)
                self.changed = True
                if preview.diff is not None:
                    self.diffs.append(preview.diff)
                return preview.object
        return self._ensure(desired, managed)

    def wait_for_hyperconverged(self, timeout):
        healthy = wait.all_of(wait.observed_generation(), *[wait.condition(kind, status) for kind, status in HEALTHY])
        return self.module.waiter().until(self._ref(HCO_API, "HyperConverged", HCO_NAME), healthy, timeout)


def present(module):
    params = module.params
    if params["approval"] == "Manual" and not params["starting_csv"]:
        raise ModuleError("approval=Manual needs starting_csv: the module approves only the InstallPlan of that version")
    hyperconverged_spec(params)  # refuse a bad spec before the first write
    installer = Installer(module)
    timeout = params["wait_timeout"]
    installer.namespace()
    installer.operator_group()
    installer.subscription()
    result = {}
    if not module.check_mode:  # the HyperConverged API exists only once the operator is installed
        subscription = installer.wait_for_install_plan(timeout)
        if params["approval"] == "Manual":
            installer.approve(subscription, timeout)
        csv = installer.wait_for_csv(timeout)
        result.update(installed_csv=csv["metadata"]["name"], installed_version=fields.get(csv, "spec.version"))
    hyperconverged = installer.hyperconverged()
    if params["wait"] and not module.check_mode:
        hyperconverged = installer.wait_for_hyperconverged(timeout)
    result.update(changed=installer.changed, hyperconverged=hyperconverged,
                  conditions=fields.get(hyperconverged, "status.conditions") or [])
    if module.diff_mode:
        result["diff"] = installer.diffs
    return result


def _virtual_machines(kube):
    try:
        vms, _version = kube.list(kube.ref("kubevirt.io/v1", "VirtualMachine"))
    except ModuleError:
        return []  # KubeVirt's API is not served: no VM can exist
    return ["{0}/{1}".format(vm["metadata"]["namespace"], vm["metadata"]["name"]) for vm in vms]


def absent(module):
    params, kube, ensurer = module.params, module.kube, module.ensurer
    vms = _virtual_machines(kube)
    if vms and not params["force"]:
        raise ModuleError("{0} virtual machine{1} still exist ({2}); uninstalling would leave them unmanaged. Delete "
                          "them first, or set force: true to remove them with OpenShift Virtualization.".format(
                              len(vms), "s" if len(vms) > 1 else "", ", ".join(vms[:10]) + (", ..." if len(vms) > 10 else "")))
    removed, diffs = [], []
    namespace = params["namespace"]

    def delete(api_version, kind, name, wait_gone):
        try:
            ref = kube.ref(api_version, kind, name, namespace)
        except ModuleError:
            return  # the API is gone with the operator: nothing of that kind is left
        outcome = ensurer.absent(ref)
        if outcome.changed:
            removed.append("{0} {1}".format(kind, name))
            if outcome.diff is not None:
                diffs.append(outcome.diff)
            if wait_gone and params["wait"] and not module.check_mode:
                module.waiter().until_absent(ref, params["wait_timeout"])

    if vms and not module.check_mode:
        ensurer.present({"apiVersion": HCO_API, "kind": "HyperConverged", "metadata": {
            "name": HCO_NAME, "namespace": namespace}, "spec": {"uninstallStrategy": "RemoveWorkloads"}},
            ["spec.uninstallStrategy"])
    delete(HCO_API, "HyperConverged", HCO_NAME, wait_gone=True)
    subscription = kube.get(kube.ref(OLM_V1ALPHA1, "Subscription", params["subscription_name"], namespace))
    csv_name = fields.get(subscription or {}, "status.installedCSV")
    delete(OLM_V1ALPHA1, "Subscription", params["subscription_name"], wait_gone=False)
    if csv_name:
        delete(OLM_V1ALPHA1, "ClusterServiceVersion", csv_name, wait_gone=True)
    result = {"changed": bool(removed), "removed": removed}
    if module.diff_mode:
        result["diff"] = diffs
    return result


def run(module):
    return present(module) if module.params["state"] == "present" else absent(module)


def main():
    KubeModule(ARGUMENT_SPEC).run(run)


if __name__ == "__main__":
    main()

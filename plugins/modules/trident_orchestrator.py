#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: trident_orchestrator
short_description: Install NetApp Trident through its certified operator and manage its TridentOrchestrator
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Installs the certified C(trident-operator) the way OperatorHub does it (Namespace, OperatorGroup, Subscription),
    waits for its ClusterServiceVersion, then creates or updates the cluster-scoped C(TridentOrchestrator) and waits
    until its status is C(Installed) at the operator's version with the spec applied.
  - Upgrades move the Subscription (a newer O(starting_csv) with O(approval=Manual), or a new O(channel)); the module
    waits until Trident runs at the new operator's version.
  - Refuses before writing what the operator would refuse or mark C(Error) - a second TridentOrchestrator, a change of
    the installation namespace, a Trident installed another way (the operator would uninstall it), more than one
    node-prep protocol - and fails with the operator's message when it reports C(Failed).
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
  - ontap.virtualization.progress_options
notes:
  - The module always waits for the operator to be installed, because the TridentOrchestrator API may come with it;
    O(wait=false) skips only the wait for Trident itself.
options:
  name:
    description:
      - Name of the TridentOrchestrator. The operator controls one per cluster.
    type: str
    default: trident
  namespace:
    description:
      - Where the operator is subscribed and where it installs Trident (C(spec.namespace)). It cannot change once
        Trident is installed.
    type: str
    default: trident
  channel:
    description:
      - The operator's update channel.
    type: str
    default: stable
  source:
    description:
      - The CatalogSource that offers C(trident-operator); certified operators come from C(certified-operators).
    type: str
    default: certified-operators
  source_namespace:
    description:
      - Namespace of the CatalogSource.
    type: str
    default: openshift-marketplace
  approval:
    description:
      - How InstallPlans are approved. With V(Manual) only the InstallPlan that installs O(starting_csv) is approved.
    type: str
    choices: [Automatic, Manual]
    default: Automatic
  starting_csv:
    description:
      - The operator version to install, for example C(trident-operator.v26.6.0). Required with O(approval=Manual).
    type: str
  node_prep:
    description:
      - Protocols Trident prepares every node for (C(spec.nodePrep)). With V(iscsi) Trident's node plugin enables
        iscsid and configures multipathd for iSCSI multipath. Trident prepares nodes for iSCSI only.
      - Left out, the field is not managed; V([]) turns node preparation off.
    type: list
    elements: str
    choices: [iscsi]
  image_registry:
    description:
      - Registry of Trident's images and CSI sidecars in a disconnected cluster (C(spec.imageRegistry)).
    type: str
  log_format:
    description:
      - Format of Trident's logs (C(spec.logFormat)).
    type: str
    choices: [text, json]
  autosupport:
    description:
      - Whether the Trident AutoSupport container runs (V(false) sets C(spec.excludeAutosupport)).
    type: bool
  silence_autosupport:
    description:
      - Whether Trident stops sending AutoSupport bundles to NetApp (C(spec.silenceAutosupport)).
    type: bool
  ipv6:
    description:
      - Whether Trident runs on an IPv6 cluster network (C(spec.IPv6)).
    type: bool
  windows:
    description:
      - Whether Trident's node plugin also runs on Windows nodes (C(spec.windows)).
    type: bool
  spec:
    description:
      - Any other field of the TridentOrchestrator C(spec), for example C(nodePluginNodeSelector). It may not repeat a
        field that has an option of its own.
    type: dict
    default: {}
attributes:
  check_mode:
    details: Writes go to the API server as dry runs where the objects' APIs exist; the module does not wait.
"""

EXAMPLES = r"""
- name: Install Trident with node preparation for iSCSI multipath
  ontap.virtualization.trident_orchestrator:
    node_prep: [iscsi]
  register: trident

- name: Disconnected cluster, JSON logs, no AutoSupport
  ontap.virtualization.trident_orchestrator:
    source: my-mirrored-operators
    image_registry: registry.example.com:5000
    log_format: json
    autosupport: false
    silence_autosupport: true
    node_prep: [iscsi]

- name: Upgrade to one exact operator version, approving only its InstallPlan
  ontap.virtualization.trident_orchestrator:
    approval: Manual
    starting_csv: trident-operator.v26.6.0
    node_prep: [iscsi]
"""

RETURN = r"""
installed_csv:
  description: The operator's ClusterServiceVersion.
  returned: when not in check mode
  type: str
  sample: trident-operator.v26.6.0
trident_version:
  description: The Trident version the TridentOrchestrator reports.
  returned: when not in check mode
  type: str
  sample: 26.06.0
status:
  description: The TridentOrchestrator's status (C(status), C(message), C(version), C(namespace), ...).
  returned: always
  type: dict
  sample: {status: Installed, message: Trident installed, version: 26.06.0, namespace: trident}
orchestrator:
  description: The TridentOrchestrator as the cluster holds it.
  returned: always
  type: dict
changes:
  description: What the run created, updated or deleted, in order (in check mode, what it would).
  returned: always
  type: list
  elements: str
  sample: [created Subscription trident/trident-operator, created TridentOrchestrator trident]
diff:
  description: Before and after of the managed fields of every object the run changed.
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, olm, trident_install
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

PACKAGE = "trident-operator"

ARGUMENT_SPEC = dict(
    name=dict(type="str", default="trident"),
    namespace=dict(type="str", default="trident"),
    channel=dict(type="str", default="stable"),
    source=dict(type="str", default="certified-operators"),
    source_namespace=dict(type="str", default="openshift-marketplace"),
    approval=dict(type="str", choices=["Automatic", "Manual"], default="Automatic"),
    starting_csv=dict(type="str"),
    node_prep=dict(type="list", elements="str", choices=list(trident_install.NODE_PREP_PROTOCOLS)),
    image_registry=dict(type="str"),
    log_format=dict(type="str", choices=list(trident_install.LOG_FORMATS)),
    autosupport=dict(type="bool"),
    silence_autosupport=dict(type="bool"),
    ipv6=dict(type="bool"),
    windows=dict(type="bool"),
    spec=dict(type="dict", default={}),
)
REQUIRED_IF = [("approval", "Manual", ["starting_csv"])]


def operator(params):
    return olm.Operator(
        namespace=params["namespace"], package=PACKAGE, channel=params["channel"], source=params["source"],
        source_namespace=params["source_namespace"], subscription=PACKAGE, approval=params["approval"],
        starting_csv=params["starting_csv"], operator_group=PACKAGE, namespace_labels={})


def run(module):
    params = module.params
    spec, managed = trident_install.orchestrator_spec(params)  # bad input is refused before the first write
    csv, orchestrator = trident_install.install(module, operator(params), params["name"], spec, managed)
    installed = {} if csv is None or module.check_mode else {
        "installed_csv": csv["metadata"]["name"], "trident_version": fields.get(orchestrator, "status.version")}
    return module.result(orchestrator=orchestrator, status=fields.get(orchestrator, "status") or {}, **installed)


def main():
    KubeModule(ARGUMENT_SPEC, progress=True, required_if=REQUIRED_IF).run(run)


if __name__ == "__main__":
    main()

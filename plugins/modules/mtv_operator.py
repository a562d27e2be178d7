#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: mtv_operator
short_description: Install the Migration Toolkit for Virtualization (MTV) through OLM with its ForkliftController
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Installs the MTV operator the way OperatorHub does it (Namespace, OperatorGroup, Subscription), waits for its
    ClusterServiceVersion to succeed, creates or updates the ForkliftController, and waits until the C(host)
    Provider the operator creates (the OpenShift Virtualization destination) is Ready.
  - The controller's main settings are options of their own; any other setting goes through O(spec).
  - With O(state=absent), deletes the ForkliftController first, then the Subscription and the ClusterServiceVersion.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
  - ontap.virtualization.progress_options
notes:
  - The C(host) Provider appears only when OpenShift Virtualization (the C(kubevirt.io) API) is installed.
options:
  state:
    description: Whether MTV should be installed.
    type: str
    choices: [present, absent]
    default: present
  namespace:
    description: The operator's namespace, where the ForkliftController and the C(host) Provider live.
    type: str
    default: openshift-mtv
  package:
    description: The operator package in the catalog.
    type: str
    default: mtv-operator
  channel:
    description: The update channel.
    type: str
    default: release-v2.12
  source:
    description: The CatalogSource offering the package.
    type: str
    default: redhat-operators
  source_namespace:
    description: Namespace of the CatalogSource.
    type: str
    default: openshift-marketplace
  subscription_name:
    description: Name of the Subscription.
    type: str
    default: mtv-operator
  approval:
    description:
      - How InstallPlans are approved. With V(Manual) the module approves only the InstallPlan of O(starting_csv).
    type: str
    choices: [Automatic, Manual]
    default: Automatic
  starting_csv:
    description:
      - The ClusterServiceVersion to install, for example C(mtv-operator.v2.12.5). Required with O(approval=Manual).
    type: str
  controller_name:
    description: Name of the ForkliftController.
    type: str
    default: forklift-controller
  max_vms_in_flight:
    description:
      - Most VM disk transfers running at once per ESXi host, over all plans of a provider
        (C(controller_max_vm_inflight), 20 when unset).
    type: int
  precopy_interval:
    description:
      - Minutes between warm-migration precopies (C(controller_precopy_interval), 60 when unset).
    type: int
  snapshot_removal_timeout:
    description:
      - Minutes to wait for a vSphere snapshot removal (C(controller_snapshot_removal_timeout_minuts), 120 when unset).
    type: int
  vddk_image:
    description:
      - The VDDK init image for every provider that names none of its own (C(vddk_image)).
    type: str
  features:
    description:
      - Feature flags; the module writes them as the strings the ForkliftController expects.
    type: dict
    suboptions:
      copy_offload:
        description: Storage copy offload (XCOPY) for StorageMap pairs that ask for it (C(feature_copy_offload)).
        type: bool
      ui_plugin:
        description: The console plugin (C(feature_ui_plugin)).
        type: bool
      validation:
        description: VM validation with the policy rules (C(feature_validation)).
        type: bool
      volume_populator:
        description: Volume populators (C(feature_volume_populator)).
        type: bool
      ocp_live_migration:
        description: OpenShift to OpenShift live migration (C(feature_ocp_live_migration)).
        type: bool
      auth_required:
        description: Whether the inventory service requires a bearer token (C(feature_auth_required)).
        type: bool
  spec:
    description:
      - Any other ForkliftController setting (snake_case, as the operator names them). It may not repeat a setting
        that has an option of its own; feature flags here must be the strings C("true") or C("false").
    type: dict
    default: {}
attributes:
  check_mode:
    details: Writes go to the API server as dry runs where the objects' APIs exist; the module does not wait.
"""

EXAMPLES = r"""
- name: Install MTV with warm precopies every 30 minutes and copy offload
  ontap.virtualization.mtv_operator:
    max_vms_in_flight: 10
    precopy_interval: 30
    features:
      copy_offload: true
    spec:
      controller_log_level: 4
  register: mtv
"""

RETURN = r"""
installed_csv:
  description: The ClusterServiceVersion that is installed.
  returned: with state=present, when not in check mode
  type: str
  sample: mtv-operator.v2.12.5
installed_version:
  description: The operator version.
  returned: with state=present, when not in check mode
  type: str
  sample: 2.12.5
forklift_controller:
  description: The ForkliftController as the cluster holds it (in check mode, as it would be).
  returned: with state=present
  type: dict
host_provider:
  description: The C(host) Provider's name, namespace and conditions once it is Ready.
  returned: with state=present and wait, when not in check mode
  type: dict
changes:
  description: What the run created, updated or deleted, in order (in check mode, what it would).
  returned: always
  type: list
  elements: str
  sample: [created Namespace openshift-mtv, created Subscription openshift-mtv/mtv-operator]
diff:
  description: Before and after of the managed fields of every object the run changed.
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible_collections.ontap.virtualization.plugins.module_utils import mtv_install
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule

ARGUMENT_SPEC = dict(
    state=dict(type="str", choices=["present", "absent"], default="present"),
    namespace=dict(type="str", default="openshift-mtv"),
    package=dict(type="str", default="mtv-operator"),
    channel=dict(type="str", default="release-v2.12"),
    source=dict(type="str", default="redhat-operators"),
    source_namespace=dict(type="str", default="openshift-marketplace"),
    subscription_name=dict(type="str", default="mtv-operator"),
    approval=dict(type="str", choices=["Automatic", "Manual"], default="Automatic"),
    starting_csv=dict(type="str"),
    controller_name=dict(type="str", default="forklift-controller"),
    max_vms_in_flight=dict(type="int"),
    precopy_interval=dict(type="int"),
    snapshot_removal_timeout=dict(type="int"),
    vddk_image=dict(type="str"),
    features=dict(type="dict", options=dict((name, dict(type="bool")) for name in mtv_install.FEATURES)),
    spec=dict(type="dict", default={}),
)
REQUIRED_IF = [("approval", "Manual", ["starting_csv"])]


def run(module):
    if module.params["state"] == "absent":
        mtv_install.uninstall(module)
        return module.result()
    return module.result(**mtv_install.install(module))


def main():
    KubeModule(ARGUMENT_SPEC, progress=True, required_if=REQUIRED_IF).run(run)


if __name__ == "__main__":
    main()

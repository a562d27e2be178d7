#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: platform_info
short_description: Check that a cluster is ready for OpenShift Virtualization on Trident
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Reads the cluster's configuration objects and reports what the OpenShift Virtualization on ONTAP procedure
    needs from the platform, without changing anything.
  - Checks the OpenShift version (from the C(ClusterVersion)), the bare-metal platform (from the C(Infrastructure)),
    that Trident is installed (its CSI driver or C(TridentOrchestrator), and the C(TridentBackendConfig) API),
    and that there are schedulable, ready worker nodes.
  - Missing C(MachineHealthChecks) and fewer than two schedulable workers (no live migration) are reported as
    warnings.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
options:
  min_openshift_version:
    description:
      - The oldest OpenShift version accepted, as a quoted string C(major.minor) or C(major.minor.patch).
      - A number is refused, because YAML reads an unquoted C(4.20) as C(4.2).
    type: raw
    default: "4.17"
  require_bare_metal:
    description:
      - Whether a platform other than bare metal is a problem. OpenShift Virtualization needs bare-metal workers.
    type: bool
    default: true
  require_trident:
    description:
      - Whether a cluster without Trident is a problem. V(false) when the same run installs Trident
        (M(ontap.virtualization.trident_orchestrator)); the RV(trident) facts are returned either way.
    type: bool
    default: true
attributes:
  check_mode:
    details: The module only reads.
  diff_mode:
    support: none
"""

EXAMPLES = r"""
- name: Check the platform
  ontap.virtualization.platform_info:
  register: platform

- name: Stop on any problem
  ansible.builtin.assert:
    that: platform.problems | length == 0
    fail_msg: "{{ platform.problems | join(' ') }}"
"""

RETURN = r"""
openshift_version:
  description: The OpenShift version the cluster runs, or null when it is not OpenShift.
  returned: always
  type: str
  sample: 4.21.3
platform:
  description: The infrastructure platform type.
  returned: always
  type: str
  sample: BareMetal
trident:
  description: What shows that Trident is installed.
  returned: always
  type: dict
  contains:
    csi_driver:
      description: Whether the CSIDriver C(csi.trident.netapp.io) exists.
      type: bool
    orchestrator:
      description: Status of the TridentOrchestrator (C(Installed), ...), or null.
      type: str
    backend_api:
      description: Whether the cluster serves C(TridentBackendConfig).
      type: bool
schedulable_workers:
  description: Ready worker nodes that accept new pods.
  returned: always
  type: list
  elements: str
  sample: [worker-0, worker-1, worker-2]
machine_health_checks:
  description: MachineHealthChecks in C(openshift-machine-api).
  returned: always
  type: list
  elements: str
problems:
  description: What must be fixed before the procedure can go on, one sentence each.
  returned: always
  type: list
  elements: str
"""

import re

from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule
from ansible_collections.ontap.virtualization.plugins.module_utils.trident import CSI_DRIVER, TBC_API_VERSION

WORKER_ROLE = "node-role.kubernetes.io/worker"
VERSION = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
MACHINE_API_NAMESPACE = "openshift-machine-api"


def _version_tuple(text):
    parts = []
    for piece in str(text).split("-", maxsplit=1)[0].split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def _get_optional(kube, api_version, kind, name, namespace=None):
    if not kube.served(api_version, kind):
        return None
    return kube.get(kube.ref(api_version, kind, name, namespace))


def _list_optional(kube, api_version, kind, namespace=None):
    if not kube.served(api_version, kind):
        return []
    return kube.list(kube.ref(api_version, kind, None, namespace))[0]


def _ready(node):
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def openshift_facts(kube, params, problems):
    version_obj = _get_optional(kube, "config.openshift.io/v1", "ClusterVersion", "version")
    version = ((version_obj or {}).get("status") or {}).get("desired", {}).get("version")
    if version is None:
        problems.append("This is not an OpenShift cluster (no ClusterVersion 'version'): OpenShift Virtualization "
                        "needs OpenShift {0} or later.".format(params["min_openshift_version"]))
    elif _version_tuple(version) < _version_tuple(params["min_openshift_version"]):
        problems.append("OpenShift {0} is older than {1}: upgrade the cluster first.".format(
            version, params["min_openshift_version"]))
    infrastructure = _get_optional(kube, "config.openshift.io/v1", "Infrastructure", "cluster") or {}
    platform = ((infrastructure.get("status") or {}).get("platformStatus") or {}).get("type") \
        or (infrastructure.get("status") or {}).get("platform")
    if params["require_bare_metal"] and platform != "BareMetal":
        problems.append("The cluster runs on platform {0}, not BareMetal: OpenShift Virtualization needs bare-metal "
                        "workers (set require_bare_metal: false to accept nested virtualization in a lab).".format(
                            platform or "unknown"))
    return version, platform


def trident_facts(kube, problems, required=True):
    csi_driver = _get_optional(kube, "storage.k8s.io/v1", "CSIDriver", CSI_DRIVER) is not None
    orchestrators = _list_optional(kube, "trident.netapp.io/v1", "TridentOrchestrator")
    orchestrator = ((orchestrators[0].get("status") or {}).get("status") or "") if orchestrators else None
    backend_api = kube.served(TBC_API_VERSION, "TridentBackendConfig")
    if required and (not (csi_driver or orchestrator == "Installed") or not backend_api):
        problems.append("Trident is not installed (no CSIDriver {0}{1}): install NetApp Trident from OperatorHub "
                        "or with its Helm chart, with nodePrep [iscsi] for iSCSI backends.".format(
                            CSI_DRIVER, "" if backend_api else " and no TridentBackendConfig API"))
    return {"csi_driver": csi_driver, "orchestrator": orchestrator, "backend_api": backend_api}


def version_problem(value):
    """Why ``value`` is not a version to compare with, or None."""
    if not isinstance(value, str):
        return ("min_openshift_version {0!r} is a number, not a version: YAML reads an unquoted 4.20 as 4.2. Quote it, "
                "for example '4.20'.".format(value))
    if not VERSION.match(value):
        return "min_openshift_version '{0}' is not a version such as '4.17' or '4.17.3'.".format(value)
    return None


def run(module):
    problem = version_problem(module.params["min_openshift_version"])
    if problem:
        raise ModuleError(problem)
    kube, params = module.kube, module.params
    problems = []
    version, platform = openshift_facts(kube, params, problems)
    trident = trident_facts(kube, problems, params["require_trident"])
    nodes = kube.list(kube.ref("v1", "Node"), label_selector=WORKER_ROLE)[0]
    workers = sorted(n["metadata"]["name"] for n in nodes
                     if _ready(n) and not (n.get("spec") or {}).get("unschedulable"))
    if not workers:
        problems.append("No worker node is ready and schedulable: VMs have nowhere to run.")
    elif len(workers) < 2:
        module.warn("Only one schedulable worker ({0}): VMs cannot live-migrate, and a node drain stops them.".format(
            workers[0]))
    checks = sorted(m["metadata"]["name"] for m in _list_optional(
        kube, "machine.openshift.io/v1beta1", "MachineHealthCheck", MACHINE_API_NAMESPACE))
    if not checks:
        module.warn("No MachineHealthCheck in {0}: the procedure recommends one for the workers, so that a failed "
                    "node is remediated and its VMs restart elsewhere.".format(MACHINE_API_NAMESPACE))
    return {"changed": False, "openshift_version": version, "platform": platform, "trident": trident,
            "schedulable_workers": workers, "machine_health_checks": checks, "problems": problems}


def main():
    KubeModule(dict(
        min_openshift_version=dict(type="raw", default="4.17"),
        require_bare_metal=dict(type="bool", default=True),
        require_trident=dict(type="bool", default=True),
    ), wait=False).run(run)


if __name__ == "__main__":
    main()

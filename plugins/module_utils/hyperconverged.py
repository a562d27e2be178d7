# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""OpenShift Virtualization's HyperConverged once its operator is installed: health, boot sources, safe removal.

What HCO v1.18 and CDI v1.65 do, and this follows:
- HCO's delete validation dry-runs the deletion of KubeVirt (refused while VMs exist unless the
  uninstall strategy is RemoveWorkloads) and of CDI (``cdi-validate.go``: refused while DataVolumes
  exist that no DataImportCron owns);
- CDI labels every DataSource and DataVolume a DataImportCron manages with
  ``cdi.kubevirt.io/dataImportCron`` (``newDataSource``, no ownerReference), and leaves a DataSource
  of the same name without that label alone (``updateDataSource``: ``ErrNotManagedByCron``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.vms import KUBEVIRT_API, VM_KIND

HCO_API = "hco.kubevirt.io/v1beta1"
HCO_KIND = "HyperConverged"
HCO_NAME = "kubevirt-hyperconverged"
HEALTHY = (("Available", "True"), ("Progressing", "False"), ("Degraded", "False"), ("ReconcileComplete", "True"))
CDI_API = "cdi.kubevirt.io/v1beta1"
DATA_VOLUME_KIND = "DataVolume"
DATA_IMPORT_CRON_KIND = "DataImportCron"
DATA_SOURCE_KIND = "DataSource"
DATA_IMPORT_CRON_LABEL = "cdi.kubevirt.io/dataImportCron"
# HCO's commonBootImageNamespace when the spec leaves it out, on OpenShift.
BOOT_SOURCES_NAMESPACE = "openshift-virtualization-os-images"
SHOWN = 10


def desired(namespace, spec):
    return {"apiVersion": HCO_API, "kind": HCO_KIND, "metadata": {"name": HCO_NAME, "namespace": namespace},
            "spec": spec}


def ref(kube, namespace):
    return kube.ref(HCO_API, HCO_KIND, HCO_NAME, namespace)


def wait_until_healthy(module, namespace):
    healthy = wait.all_of(wait.observed_generation(), *[wait.condition(kind, status) for kind, status in HEALTHY])
    return module.wait_until(ref(module.kube, namespace), healthy)


def wait_for_boot_sources(module, hyperconverged):
    """"namespace/name" of the DataSource of each DataImportCron of the boot sources, once each is Ready.

    Each is waited for by name, one after the other: a DataSource the cron does not manage has no
    label to select it by, and once the first is Ready the others mostly are too (a list, no watch).
    """
    kube = module.kube
    namespace = fields.get(hyperconverged, "spec.commonBootImageNamespace") or BOOT_SOURCES_NAMESPACE
    crons, _version = kube.list(kube.ref(CDI_API, DATA_IMPORT_CRON_KIND, namespace=namespace))
    names = sorted(set(fields.get(cron, "spec.managedDataSource") for cron in crons) - set([None]))
    for name in names:
        module.wait_until(kube.ref(CDI_API, DATA_SOURCE_KIND, name=name, namespace=namespace), wait.condition("Ready"))
    return ["{0}/{1}".format(namespace, name) for name in names]


def still_in_use(kube):
    """"Kind ns/name" of the VMs and DataVolumes (those no DataImportCron owns) that block an uninstall."""
    found = []
    for api_version, kind in ((KUBEVIRT_API, VM_KIND), (CDI_API, DATA_VOLUME_KIND)):
        if not kube.served(api_version, kind):
            continue  # the API is gone with the operator: nothing of that kind can exist
        items, _version = kube.list(kube.ref(api_version, kind))
        found.extend("{0} {1}/{2}".format(kind, item["metadata"]["namespace"], item["metadata"]["name"])
                     for item in items if DATA_IMPORT_CRON_LABEL not in (item["metadata"].get("labels") or {}))
    return found


def remove(module, namespace, force):
    """Delete the HyperConverged (waiting with ``wait``), refusing while workloads use it unless ``force``.

    With ``force``, RemoveWorkloads is set first and passed on by HCO to KubeVirt and CDI, whose
    delete validation refuses while workloads exist until they carry the strategy themselves.
    """
    kube = module.kube
    in_use = still_in_use(kube)
    if in_use and not force:
        raise ModuleError("{0} still use{1} OpenShift Virtualization ({2}); uninstalling would leave {3} unmanaged and "
                          "the cluster refuses it. Delete {3} first, or set force: true to remove {3} with OpenShift "
                          "Virtualization.".format(
                              _count(len(in_use), "object"), "s" if len(in_use) == 1 else "",
                              ", ".join(in_use[:SHOWN]) + (", ..." if len(in_use) > SHOWN else ""),
                              "it" if len(in_use) == 1 else "them"))
    if not kube.served(HCO_API, HCO_KIND):
        return
    hco_ref = ref(kube, namespace)
    if in_use and not module.check_mode and kube.get(hco_ref) is not None:
        module.ensurer.present(desired(namespace, {"uninstallStrategy": "RemoveWorkloads"}),
                               ["spec.uninstallStrategy"])
        module.wait_until(hco_ref, wait.all_of(wait.observed_generation(), wait.condition("ReconcileComplete")))
    if module.ensurer.absent(hco_ref).changed and module.params["wait"] and not module.check_mode:
        module.wait_until(hco_ref, wait.absent())


def _count(number, noun):
    return "{0} {1}{2}".format(number, noun, "" if number == 1 else "s")

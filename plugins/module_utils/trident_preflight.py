# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What a Trident backend is checked for before anything is written or deleted.

Trident judges a TridentBackendConfig only after it exists, and a wrong one is left
behind Failed; a backend with volumes is never deleted and stays Deleting. These
checks find the same problems first, the way Trident would: where it reads backend
configs, what ONTAP says to the backend's own account, which volumes it still holds.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, ontap, trident
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError


def refuse_namespace_trident_ignores(module):
    """Trident reads TridentBackendConfigs only in its own namespace, where it keeps its TridentVersion."""
    kube, namespace = module.kube, module.params["namespace"]
    if not kube.served(trident.TBC_API_VERSION, "TridentVersion"):
        return
    versions, _version = kube.list(kube.ref(trident.TBC_API_VERSION, "TridentVersion"))
    homes = sorted(set(v["metadata"]["namespace"] for v in versions))
    if homes and namespace not in homes:
        raise ModuleError("Trident runs in namespace {0} and reads TridentBackendConfigs only there, not in {1}: give "
                          "namespace: {0}.".format(" or ".join(homes), namespace))


def check_ontap(module, credentials):
    """Refuse before writing what Trident would refuse after: read ONTAP with the backend's own account."""
    params = module.params
    options = ontap.connection(params["management_lif"], credentials["username"], credentials["password"],
                               validate_certs=False)
    info, error = ontap.read_for_backend(module.ansible, options)
    if error:
        raise ModuleError("Could not read ONTAP at {0} with the account '{1}' of backend {2}: {3}. Trident would fail "
                          "the same way: check the management LIF, the account and its password (or set check_ontap: "
                          "false if only this host cannot reach ONTAP).".format(
                              params["management_lif"], credentials["username"], params["name"], error))
    problems = ontap.backend_problems(info, dict(params, username=credentials["username"]))
    if problems:
        raise ModuleError("ONTAP is not ready for backend {0}: {1}".format(params["name"], " ".join(problems)))


def refuse_while_volumes(module, live):
    """Refuse to delete a backend that still has volumes, unless it is to be retained."""
    uuid = fields.get(live, "status.backendInfo.backendUUID")
    if not uuid or module.params["deletion_policy"] == "retain":
        return
    ref = module.kube.ref(trident.TBC_API_VERSION, "TridentVolume", None, module.params["namespace"])
    volumes = sorted(v["metadata"]["name"] for v in module.kube.list(ref)[0] if v.get("backendUUID") == uuid)
    if volumes:
        raise ModuleError("Backend {0} still has {1} volume{2} ({3}); Trident would keep it Deleting until the last one "
                          "is gone. Delete the claims first, or set deletion_policy: retain to remove only the "
                          "TridentBackendConfig and leave the backend and its volumes to Trident.".format(
                              module.params["name"], len(volumes), "" if len(volumes) == 1 else "s",
                              ", ".join(volumes[:10]) + (", ..." if len(volumes) > 10 else "")))

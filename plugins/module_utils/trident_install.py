# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Install Trident through its certified operator: the Subscription, then the TridentOrchestrator.

What the operator refuses or marks is refused here before anything is written (NetApp/trident
v26.06.0): the operator controls one TridentOrchestrator and marks every other one ``Error``
("Trident is bound to another CR", ``controller.go`` ``updateOtherCRs``); a changed
``spec.namespace`` is ``Failed`` ("namespace change is not allowed"); a Trident installed another
way (tridentctl, Helm) is uninstalled by the operator before it installs its own
(``removeNonTorcBasedCSIInstallation``), which would take storage away from running workloads;
``installer.go`` ``setInstallationParams`` accepts the log formats text and json and at most one
node-prep protocol, iSCSI (``internal/nodeprep/protocol`` ``ValidateProtocols``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import time

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, olm, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.trident import CSI_DRIVER, TBC_API_VERSION

TORC_API = "trident.netapp.io/v1"
TORC_KIND = "TridentOrchestrator"
NODE_PREP_PROTOCOLS = ("iscsi",)
LOG_FORMATS = ("text", "json")
FAILED = ("Failed", "Error")
# The operator publishes no observedGeneration: after a change, how long a Failed status may still be the old one.
SETTLE_SECONDS = 10
# Options and the spec fields they set; autosupport is the inverse of excludeAutosupport.
SPEC_FIELDS = {"node_prep": "nodePrep", "image_registry": "imageRegistry", "log_format": "logFormat",
               "silence_autosupport": "silenceAutosupport", "ipv6": "IPv6", "windows": "windows"}
# How the operator reports each field in status.currentInstallationParams once it has applied it.
APPLIED = {"nodePrep": lambda v: v, "imageRegistry": lambda v: v, "logFormat": lambda v: v,
           "silenceAutosupport": lambda v: "true" if v else "false", "IPv6": lambda v: "true" if v else "false"}


def orchestrator_spec(params):
    """The TridentOrchestrator spec the options ask for, and the paths they manage; bad input raises."""
    node_prep = params["node_prep"]
    if node_prep is not None and len(node_prep) > 1:
        raise ModuleError("node_prep takes one protocol: Trident's node preparation supports only iSCSI "
                          "(NVMe/TCP needs no node preparation on RHCOS), not {0}.".format(", ".join(node_prep)))
    spec = {"namespace": params["namespace"]}
    for option, key in SPEC_FIELDS.items():
        if params[option] is not None:
            spec[key] = params[option]
    if params["autosupport"] is not None:
        spec["excludeAutosupport"] = not params["autosupport"]
    managed = ["spec." + key for key in spec]
    repeated = sorted(key for key in params["spec"] if key in spec)
    if repeated:
        raise ModuleError("spec repeats {0}: set {1} through the option of the same meaning.".format(
            ", ".join(repeated), "it" if len(repeated) == 1 else "them"))
    for key, value in params["spec"].items():
        spec[key] = value
        managed.append("spec." + key)
    return spec, managed


def desired_orchestrator(name, spec):
    return {"apiVersion": TORC_API, "kind": TORC_KIND, "metadata": {"name": name}, "spec": spec}


def trident_version(csv_version):
    """Trident's version of a bundle version: 26.6.0 -> 26.06.0 (Trident pads its month)."""
    parts = str(csv_version).split(".")
    if len(parts) != 3 or not all(part.isdigit() for part in parts):
        return None
    return "{0}.{1:02d}.{2}".format(int(parts[0]), int(parts[1]), int(parts[2]))


def installed(name, spec, version):
    """Installed, at ``version`` (when known), with the managed fields the operator reports applied."""
    def test(obj):
        status = (obj or {}).get("status") or {}
        applied = status.get("currentInstallationParams") or {}
        return (status.get("status") == "Installed" and (version is None or status.get("version") == version)
                and all(applied.get(key) == show(spec[key]) for key, show in APPLIED.items() if key in spec))
    what = "status.status Installed" + (" at version " + version if version else "") + " with the spec applied"
    return wait.Predicate(what, test)


def failed(just_updated, clock=time.monotonic):
    """Failed or Error; right after an update only once the operator has had time to judge the new spec."""
    since = clock()

    def test(obj):
        judged = not just_updated or clock() - since >= SETTLE_SECONDS
        return judged and fields.get(obj or {}, "status.status") in FAILED
    return wait.Predicate("status.status is one of " + ", ".join(FAILED), test)


def refusals(kube, name, namespace):
    """Why the operator would not install Trident for this orchestrator (sentences; empty when it would)."""
    problems = []
    orchestrators = kube.list(kube.ref(TORC_API, TORC_KIND))[0] if kube.served(TORC_API, TORC_KIND) else []
    others = sorted(o["metadata"]["name"] for o in orchestrators if o["metadata"]["name"] != name)
    if others:
        problems.append("TridentOrchestrator {0} already exists: the operator controls one and marks any other "
                        "Error (bound to another CR). Give name: {1}, or remove it first.".format(
                            ", ".join(others), others[0]))
    mine = next((o for o in orchestrators if o["metadata"]["name"] == name), None)
    installed_in = fields.get(mine or {}, "status.namespace")
    if installed_in and installed_in != namespace:
        problems.append("Trident was installed in namespace {0} by TridentOrchestrator {1}; the operator refuses a "
                        "namespace change (Failed). Give namespace: {0}.".format(installed_in, name))
    driver = kube.get(kube.ref("storage.k8s.io/v1", "CSIDriver", CSI_DRIVER))
    owners = [ref.get("kind") for ref in fields.get(driver or {}, "metadata.ownerReferences") or []]
    if driver is not None and TORC_KIND not in owners:
        problems.append("Trident is already installed without the operator ({0}): the operator would uninstall it "
                        "before installing its own, taking storage from running workloads. Keep that Trident, or "
                        "uninstall it first.".format(_where_trident_runs(kube)))
    return problems


def _where_trident_runs(kube):
    if not kube.served(TBC_API_VERSION, "TridentVersion"):
        return "CSIDriver " + CSI_DRIVER
    versions = kube.list(kube.ref(TBC_API_VERSION, "TridentVersion"))[0]
    return ", ".join("version {0} in namespace {1}".format(v.get("trident_version"), v["metadata"]["namespace"])
                     for v in versions) or "CSIDriver " + CSI_DRIVER


def install(module, operator, name, spec, managed):
    """Subscribe, then bring the TridentOrchestrator to ``spec`` and wait until Trident runs at the operator's version."""
    problems = refusals(module.kube, name, spec["namespace"])
    if problems:
        raise ModuleError(" ".join(problems) + " Nothing was written.")
    csv = olm.install(module, operator)
    desired = desired_orchestrator(name, spec)
    if module.check_mode and not module.kube.served(TORC_API, TORC_KIND):
        return None, module.ensurer.preview_create(desired, managed).object  # the operator brings this API
    outcome = module.ensurer.present(desired, managed)
    if module.check_mode or not module.params["wait"]:
        return csv, outcome.object
    ref = module.kube.ref(TORC_API, TORC_KIND, name)
    version = trident_version(fields.get(csv, "spec.version"))
    try:
        return csv, module.wait_until(ref, installed(name, spec, version), fail_when=failed(outcome.action == "update"),
                                      recheck=SETTLE_SECONDS)
    except wait.WaitFailed as exc:
        status = fields.get(exc.last or {}, "status") or {}
        if status.get("status") in FAILED and not isinstance(exc, wait.WaitTimedOut):
            raise ModuleError("The Trident operator reports TridentOrchestrator {0} {1}: {2}".format(
                name, status.get("status"), status.get("message")), last_status=status)
        raise

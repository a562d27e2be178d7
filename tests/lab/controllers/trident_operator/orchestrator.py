"""The orchestrator controller's reconcile (operator/controllers/orchestrator/controller.go, Trident v26.06.0)."""

import time

from lab import catalog
from lab.controllers.olm.kinds import CSV
from lab.controllers.runtime import log, step_delay
from lab.controllers.trident_operator import installer

TORC = ("trident.netapp.io/v1", "TridentOrchestrator")
PACKAGE = "trident-operator"
INSTALLING, INSTALLED, UPDATING, FAILED, ERROR = "Installing", "Installed", "Updating", "Failed", "Error"
UNINSTALLING, UNINSTALLED = "Uninstalling", "Uninstalled"


def running_operator(api):
    """(namespace, Trident version) of the operator OLM runs (its newest Succeeded CSV), or None."""
    running = [c for c in api.list(*CSV) if catalog.bundle(PACKAGE, c["metadata"]["name"])
               and (c.get("status") or {}).get("phase") == "Succeeded"]
    if not running:
        return None
    newest = max(running, key=lambda c: [int(p) for p in c["spec"]["version"].split(".")])
    return newest["metadata"]["namespace"], installer.trident_version(newest["spec"]["version"])


def _status(torc: dict) -> str:
    return (torc.get("status") or {}).get("status") or ""


def controlling_by_status(orchestrators: list):
    """identifyControllingCRBasedOnStatus: the first CR whose status is neither "" nor Error."""
    return next((t for t in orchestrators if _status(t) not in ("", ERROR)), None)


def candidate(orchestrators: list, operator_namespace: str):
    """reconcileTridentNotPresent's choice: not asking to uninstall, preferring the operator's namespace."""
    chosen = None
    for torc in orchestrators:
        if not (torc.get("spec") or {}).get("uninstall"):
            chosen = torc
            if (torc.get("spec") or {}).get("namespace") == operator_namespace:
                break
    return chosen


def set_status(api, torc: dict, status: str, message: str, version: str = "", namespace: str = "", params=None):
    """updateTorcEventAndStatus: the whole status replaced, an event when it changed (or on a warning)."""
    new = {"status": status, "message": message, "version": version, "namespace": namespace,
           "currentInstallationParams": params or {}, "acpVersion": version}
    warning = status in (FAILED, ERROR)
    if (torc.get("status") or {}) != new:
        torc = api.patch_status(torc, new)
        api.event(torc, "Warning" if warning else "Normal", status, message, component="trident-operator")
    return torc


def reconcile_orchestrator(api, _torc: dict):
    operator = running_operator(api)
    if operator is None:
        return None  # no operator pod: nothing reconciles TridentOrchestrators
    orchestrators = sorted(api.list(*TORC), key=lambda t: t["metadata"]["creationTimestamp"])
    controlling = controlling_by_status(orchestrators)
    if controlling is None:
        if any(_status(t) == UNINSTALLED for t in orchestrators):
            return None  # "Remove TridentOrchestrator CR with uninstalled status to allow new Trident installation."
        controlling = candidate(orchestrators, operator[0])
        if controlling is None:
            return None
        controlling = install_new(api, controlling, operator[1])
    else:
        controlling = maintain(api, controlling, operator[1])
    mark_others(api, orchestrators, controlling["metadata"]["name"])
    return None


def install_new(api, torc: dict, version: str) -> dict:
    namespace = torc["spec"].get("namespace") or "default"
    torc = set_status(api, torc, INSTALLING, "Installing Trident", namespace=namespace)
    elsewhere = installer.non_operator_installation(api)
    if elsewhere:
        api.event(torc, "Normal", INSTALLING, "Removing a non-Trident Orchestrator based CSI Trident installation "
                  f"found in the namespace '{elsewhere}'.", component="trident-operator")
        installer.remove_installation(api, elsewhere)
    return install(api, torc, version)


def maintain(api, torc: dict, version: str) -> dict:
    """controllingCRBasedReconcile: uninstall, refuse a namespace change, update, or patch the install."""
    status = torc.get("status") or {}
    if status.get("status") == UNINSTALLED:
        return torc
    if torc["spec"].get("uninstall"):
        return uninstall(api, torc)
    if status.get("namespace") and torc["spec"].get("namespace") != status["namespace"]:
        message = (f"Operator cannot proceed with the installation due to namespace change from `{status['namespace']}` "
                   f"to `{torc['spec'].get('namespace')}`; namespace change is not allowed.")
        return set_status(api, torc, FAILED, message, status.get("version", ""), status["namespace"],
                          status.get("currentInstallationParams"))
    if status.get("version") and status["version"] != version:
        torc = set_status(api, torc, UPDATING, "Updating Trident", status["version"], status["namespace"],
                          status.get("currentInstallationParams"))
    return install(api, torc, version)


def install(api, torc: dict, version: str) -> dict:
    """installTridentAndUpdateStatus: Installed with the version and parameters, or Failed with the installer's error."""
    namespace = torc["spec"].get("namespace") or "default"
    try:
        installer.prechecks(torc["spec"])
    except installer.InstallError as error:
        log.info("trident-operator: %s: %s", torc["metadata"]["name"], error)
        return set_status(api, torc, FAILED, f"Failed to install Trident; err: {error}", namespace=namespace)
    if _status(torc) in (INSTALLING, UPDATING):
        time.sleep(step_delay())  # the installer's work takes time: the phase can be seen
    installer.install(api, torc, version)
    return set_status(api, torc, INSTALLED, "Trident installed", version, namespace,
                      installer.installation_params(torc["spec"]))


def uninstall(api, torc: dict) -> dict:
    namespace = (torc.get("status") or {}).get("namespace") or torc["spec"].get("namespace") or "default"
    torc = set_status(api, torc, UNINSTALLING, "Uninstalling Trident", namespace=namespace)
    installer.remove_installation(api, namespace)
    return set_status(api, torc, UNINSTALLED, "Uninstalled Trident", namespace=namespace)


def mark_others(api, orchestrators: list, controlling_name: str) -> None:
    """updateOtherCRs: every other CR is Error, bound to the controlling one."""
    for torc in orchestrators:
        if torc["metadata"]["name"] != controlling_name:
            set_status(api, torc, ERROR, f"Trident is bound to another CR '{controlling_name}'",
                       namespace=(torc.get("spec") or {}).get("namespace") or "")

"""The OLM operator's ClusterServiceVersion side (transitionCSVState), with the install timeout on request."""

import time


from lab.controllers.objects import parse_time
from lab.controllers.olm.kinds import CSV, OPERATOR_GROUP, SUBSCRIPTION
from lab.controllers.olm.webhooks import install_webhooks
from lab.controllers.runtime import log, now, step_delay


# --- ClusterServiceVersion --------------------------------------------------------------------

def _supports(modes: list, operator_namespace: str, namespaces: list):
    """OLM's InstallModeSet.Supports: None when supported, else the error text."""
    supported = {m["type"]: m["supported"] for m in modes or []}
    count = len(namespaces)
    if count == 0:
        return "operatorgroup has invalid selected namespaces, cannot configure to watch zero namespaces"
    if count == 1:
        only = namespaces[0]
        if only == operator_namespace:
            if not supported.get("OwnNamespace"):
                return "OwnNamespace InstallModeType not supported, cannot configure to watch own namespace"
        elif only == "":
            if not supported.get("AllNamespaces"):
                return "AllNamespaces InstallModeType not supported, cannot configure to watch all namespaces"
        elif not supported.get("SingleNamespace"):
            return "SingleNamespace InstallModeType not supported, cannot configure to watch one namespace"
        return None
    if not supported.get("MultiNamespace"):
        return f"MultiNamespace InstallModeType not supported, cannot configure to watch {count} namespaces"
    for namespace in namespaces:
        if namespace == operator_namespace and not supported.get("OwnNamespace"):
            return "OwnNamespace InstallModeType not supported, cannot configure to watch own namespace"
        if namespace == "":
            return "operatorgroup has invalid selected namespaces, NamespaceAll found when |selected namespaces| > 1"
    return None


OG_FAILURES = ("NoOperatorGroup", "TooManyOperatorGroups", "UnsupportedOperatorGroup")


def _set_phase(api, csv: dict, phase: str, reason: str, message: str, extra=None):
    status = dict(csv.get("status") or {})
    if status.get("phase") == phase and status.get("reason") == reason:
        changed = {k: v for k, v in (extra or {}).items() if status.get(k) != v}
        return api.patch_status(csv, changed, guarded=True) if changed else csv
    history = list(status.get("conditions") or [])
    stamp = now()
    history.append({"phase": phase, "reason": reason, "message": message,
                    "lastTransitionTime": stamp, "lastUpdateTime": stamp})
    new = {"phase": phase, "reason": reason, "message": message, "lastTransitionTime": stamp,
           "lastUpdateTime": stamp, "conditions": history[-20:], **(extra or {})}
    updated = api.patch_status(csv, new, guarded=True)
    api.event(csv, "Warning" if phase == "Failed" else "Normal", reason, message)
    return updated


def _requirements(api, csv: dict) -> tuple:
    statuses, met = [], True
    for owned in ((csv["spec"].get("customresourcedefinitions") or {}).get("owned") or []):
        crd = api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", owned["name"])
        established = crd is not None and any(
            c.get("type") == "Established" and c.get("status") == "True"
            for c in (crd.get("status") or {}).get("conditions") or [])
        met = met and established
        statuses.append({"group": "apiextensions.k8s.io", "version": "v1", "kind": "CustomResourceDefinition",
                         "name": owned["name"], "status": "Present" if established else "NotPresent",
                         "message": "CRD is present and Established condition is true" if established
                         else "CRD is not present", "uuid": (crd or {}).get("metadata", {}).get("uid", "")})
    return met, statuses


# --- install check: the knob that makes it time out ---------------------------------------------

INSTALL_TIMEOUTS_ANNOTATION = "lab.ontap.virtualization/install-timeouts"
MAX_INSTALL_TIMEOUTS = 3
# The lab's stand-ins for OLM's time scale: upstream a CSV fails when its deployments are not
# healthy 5 minutes after it entered Installing; the next sync then sends it back to Pending.
INSTALL_TIMEOUT_SECONDS = 3.0
FAILED_SECONDS = 2.0


def install_timeouts_wanted(api, csv: dict) -> int:
    """How often this CSV's install check is to time out: the annotation
    `lab.ontap.virtualization/install-timeouts: "<n>"` (1 to 3) on the Subscription that installs
    it, else on its Namespace; 0 without one."""
    meta = csv["metadata"]
    value = None
    for sub in api.list(*SUBSCRIPTION, namespace=meta["namespace"]):
        sub_status = sub.get("status") or {}
        if meta["name"] in (sub_status.get("currentCSV"), sub_status.get("installedCSV")):
            value = (sub["metadata"].get("annotations") or {}).get(INSTALL_TIMEOUTS_ANNOTATION)
            break
    if value is None:
        namespace = api.get("v1", "Namespace", meta["namespace"]) or {"metadata": {}}
        value = (namespace["metadata"].get("annotations") or {}).get(INSTALL_TIMEOUTS_ANNOTATION)
    try:
        return max(0, min(int(value or 0), MAX_INSTALL_TIMEOUTS))
    except ValueError:
        log.warning("olm: %s/%s: %s=%r is not a number; ignored", meta["namespace"], meta["name"],
                    INSTALL_TIMEOUTS_ANNOTATION, value)
        return 0


def _install_checks_failed(status: dict) -> int:
    return sum(1 for c in status.get("conditions") or [] if c.get("reason") == "InstallCheckFailed")


def _deployments_waiting(csv: dict) -> str:
    """updateInstallStatus' message while the first deployment is not available (install/deployment.go,
    status_viewer.go DeploymentStatus; the Available condition's message is the deployment controller's)."""
    deployments = ((csv["spec"].get("install") or {}).get("spec") or {}).get("deployments") or [{"name": "operator"}]
    name = deployments[0]["name"]
    return (f'installing: waiting for deployment {name} to become ready: deployment "{name}" not available: '
            "Deployment does not have minimum availability.")


def _since_transition(status: dict) -> float:
    stamp = status.get("lastTransitionTime")
    return time.time() - parse_time(stamp) if stamp else 0.0


def _wait_for_deployments(api, csv: dict, status: dict):
    """transitionCSVState, case Installing: the deployments are not healthy (InstallWaiting); once
    that has lasted the install timeout, Failed with InstallCheckFailed "install timeout"."""
    if status.get("reason") != "InstallWaiting":
        _set_phase(api, csv, "Installing", "InstallWaiting", _deployments_waiting(csv))
        return INSTALL_TIMEOUT_SECONDS
    waited = _since_transition(status)
    if waited < INSTALL_TIMEOUT_SECONDS:
        return INSTALL_TIMEOUT_SECONDS - waited
    _set_phase(api, csv, "Failed", "InstallCheckFailed", "install timeout")
    return FAILED_SECONDS


def _reinstall(api, csv: dict, status: dict):
    """transitionCSVState, case Failed: requirements are met and the deployments still not healthy,
    so updateInstallStatus moves the CSV to Pending with NeedsReinstall; from there it installs again."""
    waited = _since_transition(status)
    if waited < FAILED_SECONDS:
        return FAILED_SECONDS - waited
    met, statuses = _requirements(api, csv)
    if not met:
        _set_phase(api, csv, "Pending", "RequirementsNotMet", "requirements not met", {"requirementStatus": statuses})
        return 5.0
    _set_phase(api, csv, "Pending", "NeedsReinstall", _deployments_waiting(csv))
    return step_delay()


def reconcile_csv(api, csv: dict):
    """The OLM operator's CSV state machine (transitionCSVState): first its OperatorGroup must fit,
    then each phase has its step."""
    if csv["metadata"].get("deletionTimestamp"):
        return None
    og, result = _operator_group(api, csv)
    if og is None:
        return result
    status = csv.get("status") or {}
    phase = status.get("phase") or ""
    if phase == "Failed" and status.get("reason") in OG_FAILURES:
        # transitionCSVState, case Failed: the OperatorGroup was fixed, requirements are checked again.
        _set_phase(api, csv, "Pending", "RequirementsUnknown", "InstallModes now support target namespaces")
        return step_delay()
    if phase == "Failed" and status.get("reason") == "InstallCheckFailed":
        return _reinstall(api, csv, status)
    step = {"": _start, "Pending": _check_requirements, "InstallReady": _install, "Installing": _await_install,
            "Succeeded": _retire_replaced}.get(phase)
    return step(api, csv, og) if step else None


def _operator_group(api, csv: dict) -> tuple:
    """(the CSV's one OperatorGroup, None) once the CSV carries its annotations and supports its
    target namespaces; else (None, the reconcile's result)."""
    meta = csv["metadata"]
    namespace = meta["namespace"]
    groups = api.list(*OPERATOR_GROUP, namespace=namespace)
    if not groups:
        _set_phase(api, csv, "Failed", "NoOperatorGroup", "csv in namespace with no operatorgroups")
        return None, 15.0
    if len(groups) > 1:
        _set_phase(api, csv, "Failed", "TooManyOperatorGroups",
                   "csv created in namespace with multiple operatorgroups, can't pick one automatically")
        return None, 15.0
    og = groups[0]
    targets = (og.get("status") or {}).get("namespaces")
    if targets is None:
        return None, step_delay()  # the OperatorGroup controller has not reported its namespaces yet
    wanted = {"olm.operatorGroup": og["metadata"]["name"], "olm.operatorNamespace": namespace,
              "olm.targetNamespaces": ",".join(targets)}
    annotations = meta.get("annotations") or {}
    if any(annotations.get(k) != v for k, v in wanted.items()):
        api.patch(csv, {"metadata": {"annotations": wanted}}, guarded=True)
        return None, 0.05
    problem = _supports(csv["spec"].get("installModes"), namespace, targets)
    if problem:
        _set_phase(api, csv, "Failed", "UnsupportedOperatorGroup", problem)
        return None, 15.0
    return og, None


def _start(api, csv: dict, og: dict):
    _set_phase(api, csv, "Pending", "RequirementsUnknown", "requirements not yet checked")
    return step_delay()


def _check_requirements(api, csv: dict, og: dict):
    """Pending: the owned CRDs must be established; then the CSV it replaces is marked Replacing."""
    met, statuses = _requirements(api, csv)
    if not met:
        _set_phase(api, csv, "Pending", "RequirementsNotMet", "one or more requirements couldn't be found",
                   {"requirementStatus": statuses})
        return 5.0
    meta = csv["metadata"]
    replaced = csv["spec"].get("replaces")
    if replaced:
        old = api.get(*CSV, replaced, meta["namespace"])
        if old is not None and (old.get("status") or {}).get("phase") not in ("Replacing", "Deleting"):
            _set_phase(api, old, "Replacing", "BeingReplaced",
                       f"being replaced by csv: {meta['namespace']}/{meta['name']}")
    _set_phase(api, csv, "InstallReady", "RequirementsMet", "all requirements found, attempting install",
               {"requirementStatus": statuses})
    return step_delay()


def _install(api, csv: dict, og: dict):
    install_webhooks(api, csv, og)
    _set_phase(api, csv, "Installing", "InstallSucceeded", "waiting for install components to report healthy")
    return step_delay()


def _await_install(api, csv: dict, og: dict):
    install_webhooks(api, csv, og)
    status = csv.get("status") or {}
    if _install_checks_failed(status) < install_timeouts_wanted(api, csv):
        return _wait_for_deployments(api, csv, status)
    _set_phase(api, csv, "Succeeded", "InstallSucceeded", "install strategy completed with no errors")
    return step_delay()


def _retire_replaced(api, csv: dict, og: dict):
    """Succeeded: the CSV it replaces goes (Deleting, then deleted)."""
    install_webhooks(api, csv, og)  # again after a restart: the webhook server's port changed
    replaced = csv["spec"].get("replaces")
    namespace = csv["metadata"]["namespace"]
    if replaced:
        old = api.get(*CSV, replaced, namespace)
        if old is not None:
            _set_phase(api, old, "Deleting", "Replaced", "The CSV has been replaced by a new CSV")
            api.delete(*CSV, replaced, namespace)
    return None

"""Helpers more than one suite of the lab's tests uses, imported as `lab.tests.shared`.

A dict-in dict-out client over the dynamic API (`Kube`), waits, OpenShift Virtualization installed
and uninstalled through OLM as the procedure does it (`install_hco`, `ensure_hyperconverged`,
`uninstall_hco`), the lab's controllers process killed and started again (`restart_controllers`),
and `when_leaving_directory`: pytest has no directory scope, and a suite that installs something
cluster-wide must take it away before the next suite (directory) runs in the same lab.
"""

import os
import signal
from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException

from lab import cluster, components, procs

TIMEOUT = 90
CNV = "openshift-cnv"
HCO_NAME = "kubevirt-hyperconverged"
HCO_PACKAGE = "kubevirt-hyperconverged"
HCO_CSV_PREFIX = "kubevirt-hyperconverged-operator."

CSV = ("operators.coreos.com/v1alpha1", "ClusterServiceVersion")
SUBSCRIPTION = ("operators.coreos.com/v1alpha1", "Subscription")
OPERATOR_GROUP = ("operators.coreos.com/v1", "OperatorGroup")
HC = ("hco.kubevirt.io/v1beta1", "HyperConverged")
VM = ("kubevirt.io/v1", "VirtualMachine")
VMI = ("kubevirt.io/v1", "VirtualMachineInstance")
DV = ("cdi.kubevirt.io/v1beta1", "DataVolume")


def wait_for(check, what: str, timeout: float = TIMEOUT):
    """Poll ``check()`` until it returns something truthy, and return that."""
    return procs.wait_until(check, what, timeout=timeout)


def condition(obj: dict, type_: str) -> dict:
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            return item
    return {}


class Kube:
    """dict in, dict out, on the dynamic client the fixtures make (API warnings are recorded)."""

    def __init__(self, dynamic_client):
        self.client = dynamic_client

    def resource(self, api_version: str, kind: str):
        return self.client.resources.get(api_version=api_version, kind=kind)

    def create(self, obj: dict, namespace: str = None) -> dict:
        namespace = namespace or obj["metadata"].get("namespace")
        return self.resource(obj["apiVersion"], obj["kind"]).create(body=obj, namespace=namespace).to_dict()

    def ensure(self, obj: dict, namespace: str = None) -> dict:
        try:
            return self.create(obj, namespace)
        except ApiException as error:
            if error.status != 409:
                raise
        return self.get(obj["apiVersion"], obj["kind"], obj["metadata"]["name"],
                        namespace or obj["metadata"].get("namespace"))

    def get(self, api_version: str, kind: str, name: str, namespace: str = None):
        try:
            return self.resource(api_version, kind).get(name=name, namespace=namespace).to_dict()
        except ApiException as error:
            if error.status == 404:
                return None
            raise

    def list(self, api_version: str, kind: str, namespace: str = None, label_selector: str = None) -> list:
        return self.resource(api_version, kind).get(namespace=namespace,
                                                     label_selector=label_selector).to_dict()["items"]

    def patch(self, api_version: str, kind: str, name: str, namespace: str, body,
              content_type: str = "application/merge-patch+json") -> dict:
        return self.resource(api_version, kind).patch(body=body, name=name, namespace=namespace,
                                                      content_type=content_type).to_dict()

    def delete(self, api_version: str, kind: str, name: str, namespace: str = None) -> bool:
        try:
            self.resource(api_version, kind).delete(name=name, namespace=namespace)
            return True
        except ApiException as error:
            if error.status == 404:
                return False
            raise

    def wait(self, api_version: str, kind: str, name: str, namespace: str, predicate, what: str,
             timeout: float = TIMEOUT) -> dict:
        def check():
            obj = self.get(api_version, kind, name, namespace)
            return obj if obj is not None and predicate(obj) else None
        return wait_for(check, f"{kind} {namespace}/{name} {what}", timeout)

    def wait_gone(self, api_version: str, kind: str, name: str, namespace: str = None,
                  timeout: float = TIMEOUT) -> None:
        wait_for(lambda: self.get(api_version, kind, name, namespace) is None,
                 f"{kind} {namespace}/{name} to be gone", timeout)

    def events(self, namespace: str, name: str, reason: str = None) -> list:
        found = self.list("v1", "Event", namespace)
        return [e for e in found if e["involvedObject"]["name"] == name
                and (reason is None or e.get("reason") == reason)]


# --- leaving a suite as it found the lab ----------------------------------------------------------

class _Undo:
    def __init__(self):
        self.steps = {}  # name -> callable, run in reverse order of registration

    def __call__(self):
        steps, self.steps = self.steps, {}
        errors = []
        for name, step in reversed(list(steps.items())):
            try:
                step()
            except Exception as error:  # every step still runs; the first failure is reported
                errors.append(f"{name}: {error}")
        if errors:
            raise RuntimeError("cleaning up the suite failed: " + "; ".join(errors))


_UNDO = pytest.StashKey[_Undo]()


def when_leaving_directory(request, name: str, undo) -> None:
    """Run ``undo()`` once pytest has run the last test of the directory the requesting fixture's
    module is in (after that module's own fixtures are torn down), before any test elsewhere.

    For a module-scoped fixture that installs something the whole directory shares (idempotently,
    so each module may ask): registering the same `name` again keeps one undo step. Steps run in
    reverse order of registration.
    """
    directory = request.node.getparent(pytest.Dir)
    registry = directory.stash.get(_UNDO, None)
    if registry is None:
        registry = directory.stash[_UNDO] = _Undo()
    if not registry.steps:
        directory.addfinalizer(registry)
    registry.steps.setdefault(name, undo)


# --- OpenShift Virtualization through OLM ----------------------------------------------------------

def install_hco(kube: Kube) -> dict:
    """OperatorGroup + Subscription in openshift-cnv (reused when present); the Succeeded CSV."""
    if not kube.list(*OPERATOR_GROUP, CNV):
        kube.ensure({"apiVersion": OPERATOR_GROUP[0], "kind": "OperatorGroup",
                     "metadata": {"name": "kubevirt-hyperconverged-group", "namespace": CNV},
                     "spec": {"targetNamespaces": [CNV]}})
    if not [s for s in kube.list(*SUBSCRIPTION, CNV) if s["spec"]["name"] == HCO_PACKAGE]:
        kube.ensure({"apiVersion": SUBSCRIPTION[0], "kind": "Subscription",
                     "metadata": {"name": "hco-operatorhub", "namespace": CNV},
                     "spec": {"source": "redhat-operators", "sourceNamespace": "openshift-marketplace",
                              "name": HCO_PACKAGE, "channel": "stable", "installPlanApproval": "Automatic"}})

    def succeeded():
        return next((c for c in kube.list(*CSV, CNV) if c["metadata"]["name"].startswith(HCO_CSV_PREFIX)
                     and (c.get("status") or {}).get("phase") == "Succeeded"), None)
    return wait_for(succeeded, "the OpenShift Virtualization CSV to succeed", timeout=120)


def ensure_hyperconverged(kube: Kube) -> dict:
    if kube.get(*HC, HCO_NAME, CNV) is None:
        def created():
            try:
                return kube.create({"apiVersion": HC[0], "kind": "HyperConverged",
                                    "metadata": {"name": HCO_NAME, "namespace": CNV}, "spec": {}})
            except ApiException as error:  # the HCO webhook may still be coming up, as documented
                if error.status in (409,):
                    return kube.get(*HC, HCO_NAME, CNV)
                if error.status >= 500:
                    return None
                raise
        wait_for(created, "the HyperConverged to be accepted", timeout=60)
    return kube.wait(*HC, HCO_NAME, CNV,
                     lambda hc: condition(hc, "Available").get("status") == "True"
                     and not hc["metadata"].get("deletionTimestamp"), "to be Available", timeout=120)


def hco_installed(kube: Kube) -> dict:
    """What of OpenShift Virtualization the cluster holds now (before a suite installs it)."""
    return {"operator_group": bool(kube.list(*OPERATOR_GROUP, CNV)),
            "subscription": bool([s for s in kube.list(*SUBSCRIPTION, CNV) if s["spec"]["name"] == HCO_PACKAGE]),
            "hyperconverged": kube.get(*HC, HCO_NAME, CNV) is not None}


def uninstall_hco(kube: Kube, found: dict) -> None:
    """Take away what `install_hco` and `ensure_hyperconverged` added to a cluster that held `found`
    (see `hco_installed`): the HyperConverged as the documented uninstall does (after the workloads
    are gone, since BlockUninstallIfWorkloadsExist refuses it before), then the operator as OLM's
    docs do: the Subscription, the CSV (its InstallPlans go with the Subscription), the OperatorGroup."""
    if not found["hyperconverged"] and kube.get(*HC, HCO_NAME, CNV) is not None:
        def no_workloads():
            return not (kube.list(*VM) or kube.list(*VMI) or kube.list(
                *DV, label_selector="!cdi.kubevirt.io/dataImportCron"))
        wait_for(no_workloads, "the VMs and DataVolumes to be gone before the uninstall", timeout=180)
        kube.delete(*HC, HCO_NAME, CNV)
        kube.wait_gone(*HC, HCO_NAME, CNV, timeout=120)
    if not found["subscription"]:
        for sub in kube.list(*SUBSCRIPTION, CNV):
            if sub["spec"]["name"] == HCO_PACKAGE:
                kube.delete(*SUBSCRIPTION, sub["metadata"]["name"], CNV)
        for csv in kube.list(*CSV, CNV):
            if csv["metadata"]["name"].startswith(HCO_CSV_PREFIX):
                kube.delete(*CSV, csv["metadata"]["name"], CNV)
        wait_for(lambda: not [c for c in kube.list(*CSV, CNV) if c["metadata"]["name"].startswith(HCO_CSV_PREFIX)],
                 "the OpenShift Virtualization CSV to be gone")
    if not found["operator_group"]:
        for group in kube.list(*OPERATOR_GROUP, CNV):
            kube.delete(*OPERATOR_GROUP, group["metadata"]["name"], CNV)


# --- the lab's controllers process ------------------------------------------------------------------

def restart_controllers(lab, sig_kill: bool = True) -> None:
    """Kill the lab's controllers process (SIGKILL: no clean shutdown) and start it again.

    The process is found in the lab's manifest (lab.json); the new one replaces it there, so
    `python -m lab down` still stops what runs.
    """
    state = cluster.Lab.load(Path(lab.state_dir))
    for index, proc in enumerate(state.processes):
        if proc.name != "controllers":
            continue
        if proc.alive():
            if sig_kill:
                os.killpg(proc.pid, signal.SIGKILL)
                procs.wait_until(lambda: not proc.alive(), "the controllers to die", timeout=15)
            else:
                procs.stop(proc)
        state.path(components.CONTROLLERS_READY_FILE).unlink(missing_ok=True)
        new = procs.spawn(proc.name, proc.command, Path(proc.log), cluster._process_env())
        state.processes[index] = new
        state.save()
        for index2, old in enumerate(lab.processes):
            if old.name == "controllers":
                lab.processes[index2] = new
        procs.wait_until(lambda: components.controllers_ready(state), "the controllers to be ready", new)
        return
    raise RuntimeError("the lab runs no controllers process")

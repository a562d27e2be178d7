"""Helpers for the MTV tests: the Forklift kinds, a dict-in dict-out client, waits, source VMs' power."""

import uuid

from pyVmomi import vim

from lab.controllers.forklift.source import Source
from lab.tests.shared import CSV, OPERATOR_GROUP, SUBSCRIPTION, Kube, condition, wait_for  # noqa: F401

GROUP = "forklift.konveyor.io/v1beta1"
PROVIDER = (GROUP, "Provider")
FORKLIFT_CONTROLLER = (GROUP, "ForkliftController")
MTV_NAMESPACE = "openshift-mtv"
MTV_CSV = "mtv-operator.v2.12.5"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def namespace_with_provider(kube, core_v1, url: str, credentials: dict, prefix: str, settings=None) -> str:
    """A new namespace holding the Secret `vcenter` and the vSphere Provider `vcenter` on `url`, once it is Ready."""
    namespace = unique(prefix)
    core_v1.create_namespace({"metadata": {"name": namespace}})
    core_v1.create_namespaced_secret(namespace, {"metadata": {"name": "vcenter"}, "stringData": credentials})
    spec = {"type": "vsphere", "url": url, "secret": {"name": "vcenter", "namespace": namespace}}
    if settings:
        spec["settings"] = settings
    kube.create({"apiVersion": PROVIDER[0], "kind": PROVIDER[1],
                 "metadata": {"name": "vcenter", "namespace": namespace}, "spec": spec})
    kube.wait(*PROVIDER, "vcenter", namespace, lambda p: (p.get("status") or {}).get("phase") == "Ready", "Ready")
    return namespace


def moref(vcenter, name: str) -> str:
    content = vcenter.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return next(v for v in view.view if v.name == name)._moId
    finally:
        view.Destroy()


def power_state(vcenter, name: str) -> str:
    return Source(vcenter).power_state(moref(vcenter, name))


def powered_on(vcenter, name: str) -> None:
    """The source running, as the seeded inventory has it (an earlier run may have migrated it)."""
    source = Source(vcenter)
    source.power_on(moref(vcenter, name))
    wait_for(lambda: source.power_state(moref(vcenter, name)) == "On" or None, f"{name} to power on")


def powered_off(vcenter, name: str) -> None:
    source = Source(vcenter)
    source.power_off(moref(vcenter, name))
    wait_for(lambda: source.power_state(moref(vcenter, name)) == "Off" or None, f"{name} to power off")

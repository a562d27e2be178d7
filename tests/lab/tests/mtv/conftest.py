"""Fixtures for the MTV (Forklift) tests: pyVmomi on the lab's vcsim, the Kubernetes client.

`vcenter` is a logged-in pyVmomi service instance on the lab's vcsim (the lab CA verifies it),
`vsphere_inventory` what Forklift's collector would read from it (lab.controllers.forklift.vsphere).
"""

import pytest

from lab.controllers.forklift import vsphere
from lab.tests.shared import ensure_hyperconverged, hco_installed, install_hco, uninstall_hco, when_leaving_directory
from lab.tests.storage.storage_helpers import Ontap
from mtv_helpers import (CSV, FORKLIFT_CONTROLLER, MTV_CSV, MTV_NAMESPACE, OPERATOR_GROUP, PROVIDER, SUBSCRIPTION, Kube,
                         wait_for)

TRIDENT = "trident"
BACKEND = ("trident.netapp.io/v1", "TridentBackendConfig")
TRIDENT_VOLUME = ("trident.netapp.io/v1", "TridentVolume")
STORAGE_CLASS = ("storage.k8s.io/v1", "StorageClass")


@pytest.fixture(scope="session")
def kube(dynamic_client) -> Kube:
    return Kube(dynamic_client)


@pytest.fixture(scope="session")
def vcenter(lab):
    service = vsphere.connect(lab.vars["vcsim_url"], lab.vars["vcsim_username"], lab.vars["vcsim_password"],
                              cafile=lab.vars["ca_cert"])
    yield service
    vsphere.disconnect(service)


@pytest.fixture(scope="session")
def vsphere_inventory(vcenter) -> vsphere.Snapshot:
    return vsphere.collect(vcenter)


def _terminating_namespaces_gone(kube) -> None:
    """The namespaces this suite's tests deleted (with their Providers, plans, VMs, claims) are gone."""
    wait_for(lambda: not [n for n in kube.list("v1", "Namespace") if n["metadata"].get("deletionTimestamp")],
             "the namespaces of the MTV tests to be deleted", timeout=300)


def _uninstall_mtv(kube: Kube, found: dict) -> None:
    """What the mtv fixture added, removed as OLM's docs say (Subscription, then CSV); the host Provider and
    forklift-api's webhook configurations carry the ForkliftController as owner upstream (the Ansible operator
    sets it), so deleting the ForkliftController takes them; the lab has no such owner references."""
    _terminating_namespaces_gone(kube)
    if not found["forklift_controller"]:
        kube.delete(*FORKLIFT_CONTROLLER, "forklift-controller", MTV_NAMESPACE)
        kube.wait_gone(*FORKLIFT_CONTROLLER, "forklift-controller", MTV_NAMESPACE)
        kube.delete(*PROVIDER, "host", MTV_NAMESPACE)
        for kind in ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"):
            kube.delete("admissionregistration.k8s.io/v1", kind, "forklift-api-providers")
    if not found["subscription"]:
        kube.delete(*SUBSCRIPTION, "mtv-operator", MTV_NAMESPACE)
        kube.delete(*CSV, MTV_CSV, MTV_NAMESPACE)
        kube.wait_gone(*CSV, MTV_CSV, MTV_NAMESPACE)
    if not found["operator_group"]:
        kube.delete(*OPERATOR_GROUP, "migration", MTV_NAMESPACE)


@pytest.fixture(scope="module")
def mtv(kube, request):
    """MTV installed as the procedure does: OperatorGroup + Subscription in openshift-mtv, the CSV
    Succeeded, the ForkliftController `forklift-controller`; returns the ForkliftController.

    Per module, but reused when present: what it added goes once pytest leaves this directory."""
    found = {"operator_group": bool(kube.list(*OPERATOR_GROUP, MTV_NAMESPACE)),
             "subscription": bool([s for s in kube.list(*SUBSCRIPTION, MTV_NAMESPACE)
                                   if s["spec"]["name"] == "mtv-operator"]),
             "forklift_controller": kube.get(*FORKLIFT_CONTROLLER, "forklift-controller", MTV_NAMESPACE) is not None}
    when_leaving_directory(request, "mtv", lambda: _uninstall_mtv(kube, found))
    if not found["operator_group"]:
        kube.ensure({"apiVersion": OPERATOR_GROUP[0], "kind": "OperatorGroup",
                     "metadata": {"name": "migration", "namespace": MTV_NAMESPACE},
                     "spec": {"targetNamespaces": [MTV_NAMESPACE]}})
    if not found["subscription"]:
        kube.ensure({"apiVersion": SUBSCRIPTION[0], "kind": "Subscription",
                     "metadata": {"name": "mtv-operator", "namespace": MTV_NAMESPACE},
                     "spec": {"source": "redhat-operators", "sourceNamespace": "openshift-marketplace",
                              "name": "mtv-operator", "channel": "release-v2.12", "installPlanApproval": "Automatic"}})
    kube.wait(*CSV, MTV_CSV, MTV_NAMESPACE, lambda c: (c.get("status") or {}).get("phase") == "Succeeded",
              "to succeed", timeout=120)
    return kube.ensure({"apiVersion": FORKLIFT_CONTROLLER[0], "kind": FORKLIFT_CONTROLLER[1],
                        "metadata": {"name": "forklift-controller", "namespace": MTV_NAMESPACE}, "spec": {}})


@pytest.fixture
def vsphere_provider(kube, lab, mtv, namespace, core_v1):
    """make(name, url=None, secret=None | {key: value}, settings=None) -> the created Provider (and its Secret)."""
    def make(name: str, data=None, url: str = None, settings=None, secret_name: str = None) -> dict:
        secret_name = secret_name or f"{name}-credentials"
        if data is not None:
            core_v1.create_namespaced_secret(namespace, {
                "metadata": {"name": secret_name, "labels": {"createdForProviderType": "vsphere"}},
                "stringData": data})
        spec = {"type": "vsphere", "url": lab.vars["vcsim_url"] if url is None else url,
                "secret": {"name": secret_name, "namespace": namespace}}
        if settings:
            spec["settings"] = settings
        return kube.create({"apiVersion": PROVIDER[0], "kind": PROVIDER[1],
                            "metadata": {"name": name, "namespace": namespace}, "spec": spec})
    return make


@pytest.fixture(scope="session")
def good_credentials(lab) -> dict:
    return {"user": lab.vars["vcsim_username"], "password": lab.vars["vcsim_password"],
            "ca.crt": open(lab.vars["ca_cert"]).read()}


@pytest.fixture(scope="session")
def ontap(lab):
    return Ontap(lab.vars["ontap"], lab.vars["ca_cert"])


def _volumes_gone(kube, storage_class: str) -> None:
    """The class's volumes are deleted (claim, then PV, then Trident's volume, each by its own controller)
    before its backend goes: Trident keeps a backend in Deleting while volumes are left on it. On a timeout
    the error names what is left and in which state."""
    def left():
        return [f"{v['metadata']['name']} (state {v.get('state')}, claim {v['config'].get('namespace', '?')}/"
                f"{v['config'].get('requestName', '?')})"
                for v in kube.list(*TRIDENT_VOLUME, TRIDENT) if v["config"].get("storageClass") == storage_class]
    try:
        wait_for(lambda: not left(), f"the volumes of class {storage_class} to be deleted", timeout=300)
    except TimeoutError as error:
        raise TimeoutError(f"{error}; left: {', '.join(left())}") from None


def _ontap_backend(lab, kube, request, name: str, driver: str, class_body: dict, **spec) -> str:
    """A Trident backend `name` on the ONTAP stand-in (admin credentials) and the class `class_body`
    pinned to it; both go, once this directory's claims are, when pytest leaves the directory."""
    secret = f"{name}-credentials"

    def remove():
        _terminating_namespaces_gone(kube)
        _volumes_gone(kube, class_body["metadata"]["name"])
        kube.delete(*STORAGE_CLASS, class_body["metadata"]["name"])
        kube.delete(*BACKEND, name, TRIDENT)
        kube.wait_gone(*BACKEND, name, TRIDENT, timeout=120)
        kube.delete("v1", "Secret", secret, TRIDENT)
    when_leaving_directory(request, name, remove)
    admin = lab.vars["ontap"]["cluster_admin"]
    kube.ensure({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret, "namespace": TRIDENT},
                 "stringData": {"username": admin["username"], "password": admin["password"]}})
    kube.ensure({"apiVersion": BACKEND[0], "kind": BACKEND[1], "metadata": {"name": name, "namespace": TRIDENT},
                 "spec": {"version": 1, "storageDriverName": driver, "backendName": name,
                          "managementLIF": lab.vars["ontap"]["management_lif"], "svm": "svm_virt",
                          "credentials": {"name": secret}, **spec}})
    kube.wait(*BACKEND, name, TRIDENT, lambda tbc: (tbc.get("status") or {}).get("phase") == "Bound", "to be Bound")
    kube.ensure({"apiVersion": STORAGE_CLASS[0], "kind": STORAGE_CLASS[1], "provisioner": "csi.trident.netapp.io",
                 "reclaimPolicy": "Delete", **class_body})
    return class_body["metadata"]["name"]


@pytest.fixture(scope="module")
def unserved_class(kube, request) -> str:
    """A Trident ontap-san class that maps and plans name (nothing is provisioned on it); it goes when pytest
    leaves this directory."""
    name = "mtv-test-san"
    when_leaving_directory(request, name, lambda: kube.delete(*STORAGE_CLASS, name))
    kube.ensure({"apiVersion": STORAGE_CLASS[0], "kind": STORAGE_CLASS[1], "metadata": {"name": name},
                 "provisioner": "csi.trident.netapp.io", "parameters": {"backendType": "ontap-san"}})
    return name


@pytest.fixture(scope="module")
def kubevirt_on_ontap(lab, kube, request):
    """What a migration lands on: a Trident ontap-san backend on the ONTAP stand-in, the class
    `mtv-ontap-san` (Block RWX), and OpenShift Virtualization with its HyperConverged Available.

    Per module, but reused when present: what it added goes (HCO uninstalled the way the virt suite's
    test_zz_uninstall.py does it, then the operator) once pytest leaves this directory."""
    _ontap_backend(lab, kube, request, "mtv-ontap-san", "ontap-san", {
        "metadata": {"name": "mtv-ontap-san"}, "allowVolumeExpansion": True,
        "parameters": {"backendType": "ontap-san", "sanType": "iscsi", "storagePools": "mtv-ontap-san:.*"}})
    found = hco_installed(kube)
    when_leaving_directory(request, "hco", lambda: uninstall_hco(kube, found))
    install_hco(kube)
    ensure_hyperconverged(kube)


@pytest.fixture(scope="module")
def shift_class(lab, kube, request, kubevirt_on_ontap):
    """A Trident ontap-nas backend and a class annotated as a NetApp Shift class (shift.netapp.io)."""
    return _ontap_backend(lab, kube, request, "mtv-ontap-nas", "ontap-nas", {
        "metadata": {"name": "mtv-shift", "annotations": {"shift.netapp.io/storage-class-type": "shift"}},
        "parameters": {"backendType": "ontap-nas", "storagePools": "mtv-ontap-nas:.*"}}, autoExportPolicy=True)

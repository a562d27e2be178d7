"""Fixtures for the MTV (Forklift) tests: pyVmomi on the lab's vcsim, the Kubernetes client.

`vcenter` is a logged-in pyVmomi service instance on the lab's vcsim (the lab CA verifies it),
`vsphere_inventory` what Forklift's collector would read from it (lab.controllers.forklift.vsphere).
"""

import pytest

from lab.controllers.forklift import vsphere
from mtv_helpers import CSV, FORKLIFT_CONTROLLER, MTV_CSV, MTV_NAMESPACE, OPERATOR_GROUP, PROVIDER, SUBSCRIPTION, Kube


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


@pytest.fixture(scope="session")
def mtv(kube):
    """MTV installed as the procedure does: OperatorGroup + Subscription in openshift-mtv, the CSV
    Succeeded, the ForkliftController `forklift-controller`; returns the ForkliftController."""
    if not kube.list(*OPERATOR_GROUP, MTV_NAMESPACE):
        kube.ensure({"apiVersion": OPERATOR_GROUP[0], "kind": "OperatorGroup",
                     "metadata": {"name": "migration", "namespace": MTV_NAMESPACE},
                     "spec": {"targetNamespaces": [MTV_NAMESPACE]}})
    if not [s for s in kube.list(*SUBSCRIPTION, MTV_NAMESPACE) if s["spec"]["name"] == "mtv-operator"]:
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
    from lab.tests.storage.storage_helpers import Ontap
    return Ontap(lab.vars["ontap"], lab.vars["ca_cert"])


@pytest.fixture(scope="session")
def kubevirt_on_ontap(lab, kube, core_v1):
    """What a migration lands on: a Trident ontap-san backend on the ONTAP stand-in, the class
    `mtv-ontap-san` (Block RWX), and OpenShift Virtualization with its HyperConverged Available."""
    import base64
    import sys
    from pathlib import Path
    from kubernetes.client.exceptions import ApiException
    sys.path.append(str(Path(__file__).resolve().parents[1] / "virt"))  # the virt suite's installer helpers
    from lab.tests.virt.conftest import ensure_hyperconverged, install_hco
    admin = lab.vars["ontap"]["cluster_admin"]
    try:
        core_v1.create_namespaced_secret("trident", {"metadata": {"name": "mtv-ontap-san-credentials"}, "data": {
            "username": base64.b64encode(admin["username"].encode()).decode(),
            "password": base64.b64encode(admin["password"].encode()).decode()}})
    except ApiException as error:
        if error.status != 409:
            raise
    kube.ensure({"apiVersion": "trident.netapp.io/v1", "kind": "TridentBackendConfig",
                 "metadata": {"name": "mtv-ontap-san", "namespace": "trident"},
                 "spec": {"version": 1, "storageDriverName": "ontap-san", "backendName": "mtv-ontap-san",
                          "managementLIF": lab.vars["ontap"]["management_lif"], "svm": "svm_virt",
                          "credentials": {"name": "mtv-ontap-san-credentials"}}})
    kube.wait("trident.netapp.io/v1", "TridentBackendConfig", "mtv-ontap-san", "trident",
              lambda tbc: (tbc.get("status") or {}).get("phase") == "Bound", "to be Bound")
    kube.ensure({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": "mtv-ontap-san"},
                 "provisioner": "csi.trident.netapp.io", "reclaimPolicy": "Delete", "allowVolumeExpansion": True,
                 "parameters": {"backendType": "ontap-san", "sanType": "iscsi",
                                "storagePools": "mtv-ontap-san:.*"}})
    install_hco(kube)
    ensure_hyperconverged(kube)


@pytest.fixture(scope="session")
def shift_class(lab, kube, kubevirt_on_ontap):
    """A Trident ontap-nas backend and a class annotated as a NetApp Shift class (shift.netapp.io)."""
    kube.ensure({"apiVersion": "trident.netapp.io/v1", "kind": "TridentBackendConfig",
                 "metadata": {"name": "mtv-ontap-nas", "namespace": "trident"},
                 "spec": {"version": 1, "storageDriverName": "ontap-nas", "backendName": "mtv-ontap-nas",
                          "managementLIF": lab.vars["ontap"]["management_lif"], "svm": "svm_virt",
                          "autoExportPolicy": True, "credentials": {"name": "mtv-ontap-san-credentials"}}})
    kube.wait("trident.netapp.io/v1", "TridentBackendConfig", "mtv-ontap-nas", "trident",
              lambda tbc: (tbc.get("status") or {}).get("phase") == "Bound", "to be Bound")
    kube.ensure({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                 "metadata": {"name": "mtv-shift", "annotations": {"shift.netapp.io/storage-class-type": "shift"}},
                 "provisioner": "csi.trident.netapp.io", "reclaimPolicy": "Delete",
                 "parameters": {"backendType": "ontap-nas", "storagePools": "mtv-ontap-nas:.*"}})
    return "mtv-shift"

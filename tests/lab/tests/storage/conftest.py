"""Fixtures for the storage half of the lab: Trident backends and classes, and ONTAP reads.

Tests drive only the Kubernetes API (as the collection will) and read ONTAP with the official
netapp_ontap client (storage_helpers.Ontap).
"""

import base64

import pytest
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from storage_helpers import DRIVER, TRIDENT, Ontap, unique, wait_for


@pytest.fixture(scope="session")
def ontap(lab) -> Ontap:
    return Ontap(lab.vars["ontap"], lab.vars["ca_cert"])


# --- Trident backends --------------------------------------------------------------------------

class Backends:
    """Creates Secrets and TridentBackendConfigs in Trident's namespace; removes them after."""

    def __init__(self, lab, core_v1, custom_objects):
        self.ontap = lab.vars["ontap"]
        self.core_v1, self.custom_objects = core_v1, custom_objects
        self.made = []

    def secret(self, username: str, password: str) -> str:
        name = unique("ontap-creds")
        self.core_v1.create_namespaced_secret(TRIDENT, {
            "metadata": {"name": name}, "type": "Opaque",
            "data": {"username": base64.b64encode(username.encode()).decode(),
                     "password": base64.b64encode(password.encode()).decode()}})
        self.made.append(("Secret", name))
        return name

    def admin_secret(self) -> str:
        admin = self.ontap["cluster_admin"]
        return self.secret(admin["username"], admin["password"])

    def create(self, driver: str, namespace: str = TRIDENT, secret: str = None, **spec) -> dict:
        name = unique(driver)
        body = {"apiVersion": "trident.netapp.io/v1", "kind": "TridentBackendConfig",
                "metadata": {"name": name},
                "spec": {"version": 1, "storageDriverName": driver, "managementLIF": self.ontap["management_lif"],
                         "credentials": {"name": secret or self.admin_secret()}, **spec}}
        created = self.custom_objects.create_namespaced_custom_object(
            "trident.netapp.io", "v1", namespace, "tridentbackendconfigs", body)
        self.made.append(("TridentBackendConfig", name, namespace))
        return created

    def get(self, tbc: dict) -> dict:
        meta = tbc["metadata"]
        return self.custom_objects.get_namespaced_custom_object(
            "trident.netapp.io", "v1", meta["namespace"], "tridentbackendconfigs", meta["name"])

    def wait_status(self, tbc: dict, outcome: str) -> dict:
        def settled():
            status = self.get(tbc).get("status") or {}
            return status if status.get("lastOperationStatus") == outcome else None
        return wait_for(settled, f"backend {tbc['metadata']['name']} to report {outcome}")

    def bound(self, driver: str, **spec) -> dict:
        tbc = self.create(driver, **spec)
        self.wait_status(tbc, "Success")
        return self.get(tbc)

    def backend_records(self) -> list:
        return self.custom_objects.list_namespaced_custom_object(
            "trident.netapp.io", "v1", TRIDENT, "tridentbackends")["items"]

    def delete(self, tbc: dict) -> None:
        meta = tbc["metadata"]
        self.custom_objects.delete_namespaced_custom_object(
            "trident.netapp.io", "v1", meta["namespace"], "tridentbackendconfigs", meta["name"])

    def cleanup(self) -> None:
        """Delete the configs, wait until Trident let them go (a backend with volumes stays
        Deleting until they are gone), then their Secrets."""
        configs = [entry for entry in self.made if entry[0] == "TridentBackendConfig"]
        for _, name, namespace in configs:
            try:
                self.custom_objects.delete_namespaced_custom_object(
                    "trident.netapp.io", "v1", namespace, "tridentbackendconfigs", name)
            except ApiException as error:
                if error.status != 404:
                    raise

        def all_gone():
            listed = {(t["metadata"]["namespace"], t["metadata"]["name"]) for t in
                      self.custom_objects.list_cluster_custom_object(
                          "trident.netapp.io", "v1", "tridentbackendconfigs")["items"]}
            return not any((namespace, name) in listed for _, name, namespace in configs)

        wait_for(all_gone, "the test backends to be deleted", timeout=120)
        for kind, name, *_ in self.made:
            if kind == "Secret":
                self.core_v1.delete_namespaced_secret(name, TRIDENT)


@pytest.fixture
def backends(lab, core_v1, custom_objects):
    made = Backends(lab, core_v1, custom_objects)
    yield made
    made.cleanup()


@pytest.fixture(scope="session")
def session_backends(lab, core_v1, custom_objects):
    made = Backends(lab, core_v1, custom_objects)
    yield made
    made.cleanup()


@pytest.fixture(scope="session")
def san_backend(session_backends) -> dict:
    return session_backends.bound("ontap-san", svm="svm_virt")


@pytest.fixture(scope="session")
def nas_backend(session_backends) -> dict:
    return session_backends.bound("ontap-nas", svm="svm_virt", autoExportPolicy=True)


# --- classes -----------------------------------------------------------------------------------

def _storage_class(api, name: str, parameters: dict, **extra) -> dict:
    body = {"metadata": {"name": name}, "provisioner": DRIVER, "parameters": parameters,
            "reclaimPolicy": "Delete", "volumeBindingMode": "Immediate", **extra}
    return api.create_storage_class(body).to_dict()


@pytest.fixture(scope="session")
def storage_v1(api_client):
    return client.StorageV1Api(api_client)


@pytest.fixture(scope="session")
def san_class(storage_v1, san_backend) -> str:
    name = unique("storage-san")
    _storage_class(storage_v1, name, {"backendType": "ontap-san", "sanType": "iscsi"}, allowVolumeExpansion=True)
    yield name
    storage_v1.delete_storage_class(name)


@pytest.fixture(scope="session")
def nas_class(storage_v1, nas_backend) -> str:
    name = unique("storage-nas")
    _storage_class(storage_v1, name, {"backendType": "ontap-nas"}, allowVolumeExpansion=True)
    yield name
    storage_v1.delete_storage_class(name)


@pytest.fixture(scope="session")
def snapshot_class(custom_objects) -> str:
    """A VolumeSnapshotClass for Trident that is not the default (tests name it, or make it default)."""
    name = unique("trident-snapshots")
    custom_objects.create_cluster_custom_object("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses", {
        "apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
        "metadata": {"name": name}, "driver": DRIVER, "deletionPolicy": "Delete"})
    yield name
    custom_objects.delete_cluster_custom_object("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses", name)

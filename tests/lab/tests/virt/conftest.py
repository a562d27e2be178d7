"""Fixtures for the virtualization tests: ONTAP storage through Trident, OLM + HCO installed.

`virt` (session) makes sure the lab has what an OpenShift Virtualization cluster on ONTAP
has, creating through the API only what is missing, so it also runs after (or next to) the
collection's own tests, which install the same things with the same names:

- a Trident ontap-san backend on the ONTAP stand-in (credentials from the lab vars), the
  StorageClasses `virt-ontap-san` (Immediate) and `virt-ontap-san-wffc` (WaitForFirstConsumer),
  and a default VolumeSnapshotClass for csi.trident.netapp.io;
- OpenShift Virtualization from the `redhat-operators` catalog (OperatorGroup +
  Subscription in openshift-cnv, Automatic), the HyperConverged `kubevirt-hyperconverged`
  Available, and the boot sources Ready on the default virt class.
"""

import base64
import json
from dataclasses import dataclass

import pytest
from kubernetes.client.exceptions import ApiException

from lab.tests.shared import ensure_hyperconverged, install_hco
from virt_helpers import (DATA_SOURCE, DIC, DRIVER, OS_IMAGES, STORAGE_CLASS, VOLUME_SNAPSHOT_CLASS, Kube, condition,
                          unsnapshottable_claim, wait_for)

TRIDENT = "trident"
SAN_CLASS = "virt-ontap-san"
WFFC_CLASS = "virt-ontap-san-wffc"
BACKEND = "virt-ontap-san"
DEFAULT_VIRT = "storageclass.kubevirt.io/is-default-virt-class"
DEFAULT_SNAPSHOT = "snapshot.storage.kubernetes.io/is-default-class"


@dataclass
class Virt:
    san: str  # Block RWX ontap-san class, Immediate binding
    wffc: str  # the same with WaitForFirstConsumer
    snapshot_class: str
    boot_class: str  # the default virt class the boot sources are on
    csv: str  # the installed OpenShift Virtualization CSV


@pytest.fixture(scope="session")
def kube(dynamic_client) -> Kube:
    return Kube(dynamic_client)


def _storage_class(name: str, binding: str, annotations: dict) -> dict:
    return {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
            "metadata": {"name": name, "annotations": annotations},
            "provisioner": DRIVER, "reclaimPolicy": "Delete", "volumeBindingMode": binding,
            "allowVolumeExpansion": True,
            # Pinned to this suite's backend: the storage suite's backends go away while VMs still run.
            "parameters": {"backendType": "ontap-san", "sanType": "iscsi", "snapshots": "true", "clones": "true",
                           "storagePools": f"{BACKEND}:.*"}}


@pytest.fixture(scope="session")
def ontap_storage(lab, kube, core_v1):
    """Trident backend, classes and snapshot class; marks it defaults only where none is set."""
    ontap = lab.vars["ontap"]
    admin = ontap["cluster_admin"]
    try:
        core_v1.create_namespaced_secret(TRIDENT, {
            "metadata": {"name": f"{BACKEND}-credentials"}, "type": "Opaque",
            "data": {"username": base64.b64encode(admin["username"].encode()).decode(),
                     "password": base64.b64encode(admin["password"].encode()).decode()}})
    except ApiException as error:
        if error.status != 409:
            raise
    kube.ensure({"apiVersion": "trident.netapp.io/v1", "kind": "TridentBackendConfig",
                 "metadata": {"name": BACKEND, "namespace": TRIDENT},
                 "spec": {"version": 1, "storageDriverName": "ontap-san", "backendName": BACKEND,
                          "managementLIF": ontap["management_lif"], "svm": "svm_virt",
                          "credentials": {"name": f"{BACKEND}-credentials"}}})
    kube.wait("trident.netapp.io/v1", "TridentBackendConfig", BACKEND, TRIDENT,
              lambda tbc: (tbc.get("status") or {}).get("phase") == "Bound", "to be Bound")

    classes = kube.list(*STORAGE_CLASS)
    marked = [c for c in classes if (c["metadata"].get("annotations") or {}).get(DEFAULT_VIRT) == "true"]
    added = []
    san_annotations = {}
    if not marked:
        san_annotations[DEFAULT_VIRT] = "true"
        added.append((STORAGE_CLASS, SAN_CLASS, DEFAULT_VIRT))
    san = kube.ensure(_storage_class(SAN_CLASS, "Immediate", san_annotations))
    if san_annotations and (san["metadata"].get("annotations") or {}).get(DEFAULT_VIRT) != "true":
        kube.patch(*STORAGE_CLASS, SAN_CLASS, None, {"metadata": {"annotations": san_annotations}})
    kube.ensure(_storage_class(WFFC_CLASS, "WaitForFirstConsumer", {}))

    snapshot_classes = [c for c in kube.list(*VOLUME_SNAPSHOT_CLASS) if c["driver"] == DRIVER]
    default = [c for c in snapshot_classes
               if (c["metadata"].get("annotations") or {}).get(DEFAULT_SNAPSHOT) == "true"]
    if default:
        snapshot_class = default[0]["metadata"]["name"]
    else:
        snapshot_class = "virt-trident-snapshots"
        kube.ensure({"apiVersion": "snapshot.storage.k8s.io/v1", "kind": "VolumeSnapshotClass",
                     "metadata": {"name": snapshot_class, "annotations": {DEFAULT_SNAPSHOT: "true"}},
                     "driver": DRIVER, "deletionPolicy": "Delete"})
        kube.patch(*VOLUME_SNAPSHOT_CLASS, snapshot_class, None,
                   {"metadata": {"annotations": {DEFAULT_SNAPSHOT: "true"}}})
        added.append((VOLUME_SNAPSHOT_CLASS, snapshot_class, DEFAULT_SNAPSHOT))
    yield {"san": SAN_CLASS, "wffc": WFFC_CLASS, "snapshot_class": snapshot_class}
    if kube.list(*DIC, OS_IMAGES):
        return  # boot sources live on these defaults; unmarking them now would re-import them elsewhere
    for (api_version, kind), name, annotation in added:  # leave the cluster's defaults as they were
        try:
            kube.patch(api_version, kind, name, None, {"metadata": {"annotations": {annotation: None}}})
        except ApiException as error:
            if error.status != 404:
                raise


def boot_sources_ready(kube: Kube, names=("rhel9", "fedora", "centos-stream9")) -> list:
    def ready():
        sources = [kube.get(*DATA_SOURCE, name, OS_IMAGES) for name in names]
        if all(s and condition(s, "Ready").get("status") == "True" for s in sources):
            return sources
        return None
    return wait_for(ready, f"boot sources {', '.join(names)} to be Ready", timeout=180)


@pytest.fixture(scope="session")
def virt(ontap_storage, kube) -> Virt:
    csv = install_hco(kube)
    ensure_hyperconverged(kube)
    boot_sources_ready(kube)
    boot_class = next(c["metadata"]["name"] for c in kube.list(*STORAGE_CLASS)
                      if (c["metadata"].get("annotations") or {}).get(DEFAULT_VIRT) == "true")
    return Virt(san=ontap_storage["san"], wffc=ontap_storage["wffc"], snapshot_class=ontap_storage["snapshot_class"],
                boot_class=boot_class, csv=csv["metadata"]["name"])


@pytest.fixture
def stack(virt, kube) -> Virt:
    """`virt`, checked again before each test (an earlier test may have changed the HyperConverged)."""
    ensure_hyperconverged(kube)
    return virt


@pytest.fixture(scope="session")
def dump(kube):
    """dump(*objects) -> a JSON text of what the cluster holds, for assertion messages."""
    def render(*refs):
        out = []
        for api_version, kind, name, namespace in refs:
            out.append(kube.get(api_version, kind, name, namespace))
        return json.dumps(out, indent=1, default=str)[:6000]
    return render


@pytest.fixture
def nosnap(kube, namespace):
    """nosnap(name) -> a bound claim no VolumeSnapshotClass serves; its static PV goes afterwards."""
    made = []

    def make(name: str) -> dict:
        claim = unsnapshottable_claim(kube, namespace, name)
        made.append(claim["spec"]["volumeName"])
        return claim
    yield make
    for volume in made:
        kube.delete("v1", "PersistentVolume", volume)

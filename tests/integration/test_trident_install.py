"""Trident installed by the collection, on a lab that starts without it (LAB_TRIDENT=operator).

The file starts that lab itself (one lab, beside the session's). The first stage, site.yml's first
playbook (prerequisites.yml), with prerequisites_install_trident installs the trident-operator and
Trident with node prep for iSCSI, then goes on to backends and classes; a second run changes
nothing; --check writes nothing (the API server's audit log is the witness); a second
TridentOrchestrator in another namespace is refused before anything is written. (The rest of
site.yml is test_site.py's; here it would only repeat it at the cost of minutes.)
"""

import os
from pathlib import Path

import pytest
from kubernetes import client

import lab as lab_package
from lab import kubeconfig, paths

from conftest import Audit, ansible_runner

FIRST_STAGE = "playbooks/prerequisites.yml"
INSTALL = {"prerequisites_install_trident": True}
SECOND = """
- hosts: openshift
  gather_facts: false
  tasks:
    - ontap.virtualization.trident_orchestrator:
        kubeconfig: "{{ k8s_kubeconfig }}"
        name: trident-two
        namespace: trident-two
        source: redhat-operators
        node_prep: [iscsi]
"""


@pytest.fixture(scope="module")
def operator_lab():
    state_dir = Path(str(paths.state_dir()) + "-trident-install")
    before = os.environ.get("LAB_TRIDENT")
    os.environ["LAB_TRIDENT"] = "operator"  # read by the seed and by the controllers process
    try:
        instance = lab_package.start(state_dir=state_dir)
    finally:
        os.environ.pop("LAB_TRIDENT") if before is None else os.environ.__setitem__("LAB_TRIDENT", before)
    yield instance
    lab_package.stop(instance.state_dir)


@pytest.fixture(scope="module")
def objects(operator_lab):
    with kubeconfig.api_client(operator_lab.kubeconfig) as api:
        yield client.CustomObjectsApi(api), client.StorageV1Api(api)


@pytest.fixture(scope="module")
def runs(operator_lab, tmp_path_factory, objects):
    ansible = ansible_runner(operator_lab, tmp_path_factory.mktemp("trident-install"))
    audit = Audit(Path(operator_lab.audit_log))
    custom, _storage = objects
    before = custom.list_cluster_custom_object("trident.netapp.io", "v1", "tridentorchestrators")["items"]
    first = ansible(FIRST_STAGE, INSTALL)
    second = ansible(FIRST_STAGE, INSTALL)
    mark = audit.mark()
    check = ansible(FIRST_STAGE, INSTALL, check=True)
    check_writes = audit.writes_since(mark)
    mark = audit.mark()
    refused = ansible(SECOND)
    return {"before": before, "first": first, "second": second, "check": check, "check_writes": check_writes,
            "refused": refused, "refused_writes": audit.writes_since(mark)}


def test_the_lab_starts_without_trident(runs):
    assert runs["before"] == []


def test_the_first_stage_installs_trident_with_node_prep_then_backends_and_classes(runs, objects):
    assert runs["first"].rc == 0, runs["first"].output[-4000:]
    custom, storage = objects
    torc = custom.get_cluster_custom_object("trident.netapp.io", "v1", "tridentorchestrators", "trident")
    assert torc["status"]["status"] == "Installed" and torc["status"]["version"] == "26.06.0"
    assert torc["spec"]["nodePrep"] == ["iscsi"] and torc["status"]["currentInstallationParams"]["nodePrep"] == ["iscsi"]
    nodes = custom.list_namespaced_custom_object("trident.netapp.io", "v1", "trident", "tridentnodes")["items"]
    assert nodes and all(node["hostInfo"]["services"] == ["iSCSI"] for node in nodes)
    backend = custom.get_namespaced_custom_object("trident.netapp.io", "v1", "trident", "tridentbackendconfigs",
                                                  "ontap-san-iscsi")
    assert backend["status"]["phase"] == "Bound"
    assert storage.read_storage_class("ontap-san-iscsi").provisioner == "csi.trident.netapp.io"
    assert storage.read_csi_driver("csi.trident.netapp.io").metadata.owner_references[0].kind == "TridentOrchestrator"


def test_second_run_changes_nothing(runs):
    assert runs["second"].rc == 0, runs["second"].output[-4000:]
    assert runs["second"].changed == 0, runs["second"].output[-4000:]


def test_check_mode_writes_nothing(runs):
    assert runs["check"].rc == 0, runs["check"].output[-4000:]
    assert runs["check_writes"] == []


def test_an_orchestrator_in_a_second_namespace_is_refused_before_writing(runs, objects):
    assert runs["refused"].rc != 0
    assert "TridentOrchestrator trident already exists" in runs["refused"].output
    assert runs["refused_writes"] == []
    custom, _storage = objects
    names = [t["metadata"]["name"] for t in custom.list_cluster_custom_object(
        "trident.netapp.io", "v1", "tridentorchestrators")["items"]]
    assert names == ["trident"]

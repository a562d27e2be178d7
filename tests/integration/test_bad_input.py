"""Stage one under bad input (issue 12): refused before writing, nothing half-made, never a false ok.

Each test runs a module as a user would and reads the API server's audit log: a refusal made
before writing shows no write by the automation user; a refusal that needed a write to find
out leaves nothing behind.
"""

import json
import uuid

import pytest

PLAY = """
- hosts: openshift
  gather_facts: false
  module_defaults:
    group/ontap.virtualization.virtualization: {kubeconfig: "{{ k8s_kubeconfig }}"}
  tasks:
%s
"""


def play(*tasks) -> str:
    return PLAY % "".join("    - name: step {0}\n      ontap.virtualization.{1}: {2}\n".format(
        index, module, json.dumps(args)) for index, (module, args) in enumerate(tasks))


def backend(ontap, name, **extra):
    found = {"name": name, "storage_driver": "ontap-san", "san_type": "iscsi", "svm": "svm_virt",
             "management_lif": ontap["management_lif"], "username": ontap["svm_admin"]["username"],
             "password": ontap["svm_admin"]["password"], "wait_timeout": 120}
    found.update(extra)
    return found


@pytest.fixture(scope="module")
def san(ansible, ontap_vars):
    """A backend and a class of this module's own, with one bound claim on them."""
    name = "bad-" + uuid.uuid4().hex[:6]
    run = ansible(play(("trident_backend", backend(ontap_vars, name)),
                       ("storageclass", {"name": name, "backend_type": "ontap-san",
                                         "parameters": {"sanType": "iscsi", "storagePools": name + ":.*"}})))
    assert run.rc == 0, run.output[-3000:]
    return name


def test_what_trident_would_refuse_on_ontap_is_refused_before_writing(ansible, ontap_vars, audit):
    """Read with the backend's own account, the checks Trident makes: login, SVM, protocol, data LIF."""
    cases = [
        (dict(password="not-the-password"), "Could not read ONTAP at {0} with the account '{1}'".format(
            ontap_vars["management_lif"], ontap_vars["svm_admin"]["username"])),
        (dict(svm="svm_nope"), "SVM 'svm_nope' does not exist on this ONTAP system"),
        (dict(storage_driver="ontap-nas", san_type=None, data_lif="192.0.2.99"),
         "data_lif 192.0.2.99 is not one of the NFS data LIFs of SVM 'svm_virt'"),
        (dict(management_lif="https://" + ontap_vars["management_lif"]), "is a URL: give only the address"),
        (dict(storage_prefix="9lives"), "storage prefix '9lives' may only contain letters"),
        (dict(namespace="default"), "Trident runs in namespace trident and reads TridentBackendConfigs only there, "
                                    "not in default: give namespace: trident."),
    ]
    mark = audit.mark()
    for index, (change, expected) in enumerate(cases):
        args = dict(backend(ontap_vars, "refused-{0}".format(index)), **change)
        run = ansible(play(("trident_backend", dict((k, v) for k, v in args.items() if v is not None))))
        assert run.rc != 0 and expected in run.output, (change, run.output[-3000:])
        assert "not-the-password" not in run.output
    assert audit.writes_since(mark) == []


def test_a_backend_trident_refuses_after_writing_leaves_nothing_behind(ansible, ontap_vars, core_v1, custom_objects):
    """Without the ONTAP check (a host that cannot reach ONTAP), Trident's refusal undoes what the run created."""
    name = "wrong-password-" + uuid.uuid4().hex[:6]
    run = ansible(play(("trident_backend", backend(ontap_vars, name, password="not-the-password", check_ontap=False))))
    assert run.rc != 0
    assert "Trident could not create backend {0}".format(name) in run.output, run.output[-3000:]
    assert "Undone, to leave nothing half-made: removed TridentBackendConfig trident/{0}; removed Secret " \
           "trident/{0}-credentials.".format(name) in run.output
    assert "not-the-password" not in run.output
    secrets = [s.metadata.name for s in core_v1.list_namespaced_secret("trident").items]
    assert name + "-credentials" not in secrets
    backends = custom_objects.list_namespaced_custom_object("trident.netapp.io", "v1", "trident",
                                                           "tridentbackendconfigs")["items"]
    assert [b for b in backends if b["metadata"]["name"] == name and not b["metadata"].get("deletionTimestamp")] == []


def test_deleting_a_backend_with_volumes_is_refused_naming_them(ansible, san, core_v1, namespace, audit):
    core_v1.create_namespaced_persistent_volume_claim(namespace, {
        "metadata": {"name": "keep"}, "spec": {"accessModes": ["ReadWriteMany"], "volumeMode": "Block",
                                               "storageClassName": san, "resources": {"requests": {"storage": "1Gi"}}}})
    wait_bound(core_v1, namespace, "keep")
    mark = audit.mark()
    run = ansible(play(("trident_backend", {"name": san, "state": "absent"})))
    assert run.rc != 0
    assert "Backend {0} still has 1 volume (pvc-".format(san) in run.output, run.output[-3000:]
    assert "set deletion_policy: retain" in run.output
    run = ansible(play(("storageclass", {"name": san, "state": "absent"})))
    assert run.rc != 0
    assert "StorageClass {0} is used by 1 claim ({1}/keep)".format(san, namespace) in run.output, run.output[-3000:]
    assert audit.writes_since(mark) == []
    core_v1.delete_namespaced_persistent_volume_claim("keep", namespace)
    wait_gone(core_v1, namespace, "keep")  # the next tests use the same class


def test_deleting_the_default_class_for_vm_disks_is_refused(ansible, san, audit, api_client):
    from kubernetes import client
    marked = [c.metadata.name for c in client.StorageV1Api(api_client).list_storage_class().items
              if (c.metadata.annotations or {}).get("storageclass.kubevirt.io/is-default-virt-class") == "true"]
    run = ansible(play(("storageclass", {"name": san, "default_virt_class": True})))
    assert run.rc == 0, run.output[-3000:]
    mark = audit.mark()
    run = ansible(play(("storageclass", {"name": san, "state": "absent"})))
    assert run.rc != 0
    assert "StorageClass {0} is the default class for VM disks".format(san) in run.output, run.output[-3000:]
    assert audit.writes_since(mark) == []
    run = ansible(play(("storageclass", {"name": san, "default_virt_class": False})))
    assert run.rc == 0, run.output[-3000:]
    for name in marked:  # the later files (MTV plans) pick the default class for VM disks
        run = ansible(play(("storageclass", {"name": name, "default_virt_class": True})))
        assert run.rc == 0, run.output[-3000:]


def test_san_type_on_a_nas_class_is_refused_before_writing(ansible, audit):
    mark = audit.mark()
    run = ansible(play(("storageclass", {"name": "nas-with-san-type", "backend_type": "ontap-nas",
                                         "parameters": {"sanType": "iscsi"}})))
    assert run.rc != 0
    assert "sanType applies to SAN classes only; with backendType ontap-nas the class matches no backend" \
        in run.output, run.output[-3000:]
    assert audit.writes_since(mark) == []


@pytest.mark.parametrize("module, args", [
    ("trident_backend", {"name": "x", "storage_driver": "ontap-nas", "management_lif": "1.2.3.4", "wait_timeout": -1}),
    ("storageclass", {"name": "x", "backend_type": "ontap-nas", "wait_timeout": 0}),
])
def test_wait_timeouts_below_one_are_refused_before_writing(ansible, audit, module, args):
    mark = audit.mark()
    run = ansible(play((module, args)))
    assert run.rc != 0 and "wait_timeout must be at least 1 (seconds)" in run.output, run.output[-3000:]
    assert audit.writes_since(mark) == []


def wait_gone(core_v1, namespace, name, timeout=120):
    import time
    from kubernetes.client.exceptions import ApiException
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            core_v1.read_namespaced_persistent_volume_claim(name, namespace)
        except ApiException as error:
            if error.status == 404:
                return
            raise
        time.sleep(0.5)
    raise AssertionError("claim {0}/{1} is still there after {2}s".format(namespace, name, timeout))


def wait_bound(core_v1, namespace, name, timeout=120):
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if core_v1.read_namespaced_persistent_volume_claim(name, namespace).status.phase == "Bound":
            return
        time.sleep(0.5)
    raise AssertionError("claim {0}/{1} is not Bound after {2}s".format(namespace, name, timeout))

"""The prerequisites role against the lab: idempotent, truthful in check and diff mode, and strict."""

import base64
import time

import pytest
import requests
from kubernetes.client.exceptions import ApiException

PLAYBOOK = "playbooks/prerequisites.yml"
TRIDENT = "trident"


def backends(ontap, **overrides):
    common = {"management_lif": ontap["management_lif"], "svm": "svm_virt",
              "username": ontap["svm_admin"]["username"], "password": ontap["svm_admin"]["password"]}
    found = [
        dict(common, name="t-nas", storage_driver="ontap-nas", data_lif=ontap["data_lifs"]["nfs"][0]),
        dict(common, name="t-san-iscsi", storage_driver="ontap-san", san_type="iscsi"),
        dict(common, name="t-san-nvme", storage_driver="ontap-san", san_type="nvme"),
    ]
    return found


CLASSES = [
    {"name": "t-nas", "backend_type": "ontap-nas", "mount_options": ["nfsvers=4.1"]},
    {"name": "t-san-iscsi", "backend_type": "ontap-san", "parameters": {"sanType": "iscsi", "snapshots": "true"},
     "default_virt_class": True},
    {"name": "t-san-nvme", "backend_type": "ontap-san", "parameters": {"sanType": "nvme"},
     "storage_profile": {"claim_property_sets": [{"access_modes": ["ReadWriteMany"], "volume_mode": "Block"}],
                         "clone_strategy": "csi-clone"}},
]
SNAPSHOT_CLASS = {"name": "t-snapclass", "deletion_policy": "Delete", "default": True}


def role_vars(ontap, **overrides):
    found = {"prerequisites_backends": backends(ontap), "prerequisites_storage_classes": CLASSES,
             "prerequisites_snapshot_class": SNAPSHOT_CLASS, "prerequisites_ontap_validate_certs": False,
             "prerequisites_wait_timeout": 120}
    found.update(overrides)
    return found


def secrets_in(text, ontap):
    password = ontap["svm_admin"]["password"]
    return [s for s in (password, base64.b64encode(password.encode()).decode()) if s in text]


@pytest.fixture(scope="module")
def applied(ansible, audit, ontap_vars):
    """Check mode on an empty cluster, the real run with --diff, a second run and a second check."""
    mark = audit.mark()
    check = ansible(PLAYBOOK, role_vars(ontap_vars), check=True, diff=True)
    check_writes = audit.writes_since(mark)
    first = ansible(PLAYBOOK, role_vars(ontap_vars), diff=True)
    second = ansible(PLAYBOOK, role_vars(ontap_vars))
    mark = audit.mark()
    check_again = ansible(PLAYBOOK, role_vars(ontap_vars), check=True)
    return {"check": check, "check_writes": check_writes, "first": first, "second": second,
            "check_again": check_again, "check_again_writes": audit.writes_since(mark)}


def test_check_mode_on_an_empty_cluster_writes_nothing(applied):
    assert applied["check"].rc == 0, applied["check"].output[-3000:]
    assert applied["check"].changed > 0
    assert applied["check_writes"] == []


def test_first_run_applies_and_shows_the_diff_without_secrets(applied, ontap_vars):
    first = applied["first"]
    assert first.rc == 0, first.output[-3000:]
    assert first.changed > 0
    assert '"storageDriverName": "ontap-san"' in first.output
    assert "<hidden" in first.output
    assert secrets_in(first.output, ontap_vars) == []
    assert secrets_in(applied["check"].output, ontap_vars) == []


def test_second_run_changes_nothing(applied):
    assert applied["second"].rc == 0, applied["second"].output[-3000:]
    assert applied["second"].changed == 0


def test_check_mode_after_apply_writes_nothing(applied):
    assert applied["check_again"].rc == 0
    assert applied["check_again"].changed == 0
    assert applied["check_again_writes"] == []


def test_backends_are_bound(applied, custom_objects):
    for name in ("t-nas", "t-san-iscsi", "t-san-nvme"):
        tbc = custom_objects.get_namespaced_custom_object("trident.netapp.io", "v1", TRIDENT,
                                                          "tridentbackendconfigs", name)
        assert (tbc["status"]["phase"], tbc["status"]["lastOperationStatus"]) == ("Bound", "Success"), tbc["status"]
        assert tbc["spec"]["credentials"] == {"name": name + "-credentials", "type": "secret"}


def test_classes_profile_and_snapshot_class(applied, api_client, custom_objects):
    from kubernetes import client
    storage = client.StorageV1Api(api_client)
    iscsi = storage.read_storage_class("t-san-iscsi")
    assert iscsi.provisioner == "csi.trident.netapp.io"
    assert iscsi.parameters == {"backendType": "ontap-san", "sanType": "iscsi", "snapshots": "true"}
    assert iscsi.metadata.annotations["storageclass.kubevirt.io/is-default-virt-class"] == "true"
    marked = [sc.metadata.name for sc in storage.list_storage_class().items
              if (sc.metadata.annotations or {}).get("storageclass.kubevirt.io/is-default-virt-class") == "true"]
    assert marked == ["t-san-iscsi"]
    assert storage.read_storage_class("t-nas").mount_options == ["nfsvers=4.1"]
    profile = custom_objects.get_cluster_custom_object("cdi.kubevirt.io", "v1beta1", "storageprofiles", "t-san-nvme")
    assert profile["spec"]["cloneStrategy"] == "csi-clone"
    assert profile["spec"]["claimPropertySets"] == [{"accessModes": ["ReadWriteMany"], "volumeMode": "Block"}]
    snapclass = custom_objects.get_cluster_custom_object("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses",
                                                         "t-snapclass")
    assert snapclass["driver"] == "csi.trident.netapp.io" and snapclass["deletionPolicy"] == "Delete"
    assert snapclass["metadata"]["annotations"]["snapshot.storage.kubernetes.io/is-default-class"] == "true"


@pytest.mark.parametrize("storage_class,mode", [("t-nas", "Filesystem"), ("t-san-iscsi", "Block"),
                                                ("t-san-nvme", "Block")])
def test_a_claim_on_each_class_binds(applied, core_v1, namespace, storage_class, mode):
    claim = {"metadata": {"name": "disk"}, "spec": {
        "storageClassName": storage_class, "accessModes": ["ReadWriteMany"], "volumeMode": mode,
        "resources": {"requests": {"storage": "1Gi"}}}}
    core_v1.create_namespaced_persistent_volume_claim(namespace, claim)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pvc = core_v1.read_namespaced_persistent_volume_claim("disk", namespace)
        if pvc.status.phase == "Bound":
            break
        time.sleep(0.5)
    assert pvc.status.phase == "Bound"
    pv = core_v1.read_persistent_volume(pvc.spec.volume_name)
    assert pv.spec.csi.driver == "csi.trident.netapp.io"
    assert pv.spec.volume_mode == mode


def _exists(read):
    try:
        read()
        return True
    except ApiException as error:
        if error.status == 404:
            return False
        raise


BAD_INPUTS = {
    "wrong ONTAP password": (
        lambda o: {"prerequisites_backends": [dict(backends(o)[1], name="bad-pass", password="wrong")],
                   "prerequisites_storage_classes": []},
        "ONTAP refused the credentials"),
    "SVM without iSCSI": (
        lambda o: {"prerequisites_backends": [dict(backends(o)[1], name="bad-svm", svm="svm_nas",
                                                   username=o["cluster_admin"]["username"],
                                                   password=o["cluster_admin"]["password"])],
                   "prerequisites_storage_classes": []},
        "iSCSI is not"),
    "unknown driver": (
        lambda o: {"prerequisites_backends": [dict(backends(o)[0], name="bad-driver", storage_driver="ontap-foo")],
                   "prerequisites_storage_classes": []},
        "value of storage_driver must be one of: ontap-nas, ontap-nas-economy, ontap-nas-flexgroup, ontap-san, "
        "ontap-san-economy, got: ontap-foo found in prerequisites_backends"),
    "unknown StorageClass parameter": (
        lambda o: {"prerequisites_backends": [dict(backends(o)[0], name="bad-param")],
                   "prerequisites_storage_classes": [{"name": "bad-param", "backend_type": "ontap-nas",
                                                      "parameters": {"snapshotz": "true"}}]},
        "'snapshotz' is not a StorageClass parameter Trident accepts"),
    "two default classes": (
        lambda o: {"prerequisites_backends": [],
                   "prerequisites_storage_classes": [
                       {"name": "bad-default-1", "backend_type": "ontap-nas", "default_class": True},
                       {"name": "bad-default-2", "backend_type": "ontap-san", "default_class": True}]},
        "bad-default-1 and bad-default-2 are both marked default_class"),
    "immutable parameter change": (
        lambda o: {"prerequisites_backends": [dict(backends(o)[0], name="bad-immutable")],
                   "prerequisites_storage_classes": [
                       {"name": "t-san-iscsi", "backend_type": "ontap-san", "parameters": {"sanType": "nvme"}}]},
        "StorageClass t-san-iscsi cannot be changed in place"),
}


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_fails_before_any_write(applied, ansible, audit, ontap_vars, custom_objects, case):
    make_vars, message = BAD_INPUTS[case]
    extra = role_vars(ontap_vars, prerequisites_snapshot_class={}, **make_vars(ontap_vars))
    mark = audit.mark()
    run = ansible(PLAYBOOK, extra)
    assert run.rc != 0
    assert message in run.output, run.output[-3000:]
    assert audit.writes_since(mark) == []
    for backend in extra["prerequisites_backends"]:
        assert not _exists(lambda: custom_objects.get_namespaced_custom_object(
            "trident.netapp.io", "v1", TRIDENT, "tridentbackendconfigs", backend["name"]))
    assert secrets_in(run.output, ontap_vars) == []


BLIND = {"username": "blind-reader", "password": "Blind-reader-2026", "role": "blind-reader"}


@pytest.fixture
def blind_account(ontap_vars):
    """A cluster account of ONTAP that may read the cluster (its version) and nothing else: not the SVMs and data
    LIFs that Trident reads (ONTAP answers code 6, "not authorized for that command")."""
    admin = requests.Session()
    admin.trust_env = False  # else REQUESTS_CA_BUNDLE replaces the lab's CA
    admin.verify = ontap_vars["ca_cert"]
    admin.auth = (ontap_vars["cluster_admin"]["username"], ontap_vars["cluster_admin"]["password"])
    api = ontap_vars["url"] + "/api/security/"
    admin.post(api + "roles", json={"name": BLIND["role"], "privileges": [
        {"path": "/api/cluster", "access": "readonly"}]}).raise_for_status()
    admin.post(api + "accounts", json={
        "name": BLIND["username"], "password": BLIND["password"], "role": {"name": BLIND["role"]},
        "applications": [{"application": "http", "authentication_methods": ["password"]}]}).raise_for_status()
    yield BLIND
    for kind, name in (("accounts", BLIND["username"]), ("roles", BLIND["role"])):
        for record in admin.get(api + kind, params={"name": name, "fields": "owner"}).json()["records"]:
            admin.delete("{0}{1}/{2}/{3}".format(api, kind, record["owner"]["uuid"], name)).raise_for_status()


def test_an_account_that_may_not_read_the_svms_is_stopped_before_any_write(
        applied, ansible, audit, ontap_vars, custom_objects, blind_account):
    """One login reads the SVMs, LIFs, accounts and roles, and only a refusal of the accounts and roles is let
    through (a least-privilege account): a refusal of what Trident needs stops the role, naming it."""
    backend = dict(backends(ontap_vars)[1], name="blind", username=blind_account["username"],
                   password=blind_account["password"])
    extra = role_vars(ontap_vars, prerequisites_backends=[backend], prerequisites_storage_classes=[],
                      prerequisites_snapshot_class={})
    mark = audit.mark()
    run = ansible(PLAYBOOK, extra)
    assert run.rc != 0
    assert ("with the account 'blind-reader' of backend blind: it may not read svm/svms and network/ip/interfaces, "
            "which Trident needs (not authorized for that command).") in run.output, \
        run.output[-3000:]
    assert audit.writes_since(mark) == []
    assert not _exists(lambda: custom_objects.get_namespaced_custom_object(
        "trident.netapp.io", "v1", TRIDENT, "tridentbackendconfigs", "blind"))
    assert blind_account["password"] not in run.output


# Refused by the role's own checks (meta/argument_specs.yml, then tasks/validate.yml) before it reads the cluster.
REFUSED_INPUTS = {
    "zero wait timeout": (
        lambda o: {"prerequisites_wait_timeout": 0},
        "prerequisites_wait_timeout is 0: give the seconds to wait for each backend, a whole number of at least 1."),
    "negative wait timeout": (
        lambda o: {"prerequisites_wait_timeout": -5},
        "prerequisites_wait_timeout is -5: give the seconds to wait for each backend, a whole number of at least 1."),
    "version that is not one": (
        lambda o: {"prerequisites_min_openshift_version": "banana"},
        'prerequisites_min_openshift_version "banana" is not a version: write major.minor or major.minor.patch in '
        'quotes, for example "4.17".'),
    "version read as a number": (
        lambda o: {"prerequisites_min_openshift_version": 4.2},
        "prerequisites_min_openshift_version was read as the number 4.2, because it is not quoted (YAML reads 4.20 "
        'as 4.2): write the version in quotes, for example "4.20".'),
    "bare IPv6 management LIF": (
        lambda o: {"prerequisites_backends": [dict(backends(o)[1], management_lif="fd00::1")]},
        "The ONTAP management LIF 'fd00::1' is an IPv6 address without brackets, where a port cannot be told apart "
        "from the address: write [fd00::1], or [fd00::1]:<port> for a port other than 443."),
    "URL as management LIF": (
        lambda o: {"prerequisites_backends": [dict(backends(o)[1], management_lif="https://" + o["management_lif"])]},
        "The ONTAP management LIF 'https://{0}' is a URL: give only the address, with the port when it is not 443"),
    "URL as the setup's management LIF": (
        lambda o: {"prerequisites_ontap_setup": {"management_lif": "https://" + o["management_lif"],
                                                 "username": "admin", "password": "unused"}},
        "The ONTAP management LIF 'https://{0}' is a URL"),
    "backend without management_lif": (
        lambda o: {"prerequisites_backends": [dict((k, v) for k, v in backends(o)[1].items()
                                                   if k != "management_lif")]},
        "missing required arguments: management_lif found in prerequisites_backends"),
    "username without password": (
        lambda o: {"prerequisites_backends": [dict((k, v) for k, v in backends(o)[1].items() if k != "password")]},
        "parameters are required together: username, password found in prerequisites_backends"),
    "unknown san_type": (
        lambda o: {"prerequisites_backends": [dict(backends(o)[1], san_type="iscsci")]},
        "value of san_type must be one of: iscsi, nvme, fcp, got: iscsci found in prerequisites_backends"),
    "misspelt backend key": (
        lambda o: {"prerequisites_backends": [dict(backends(o)[1], storage_prefx="vm_")]},
        "prerequisites_backends.storage_prefx. Supported parameters include: backend_name, config"),
    "class choice in the wrong case": (
        lambda o: {"prerequisites_storage_classes": [dict(CLASSES[0], reclaim_policy="delete")]},
        "value of reclaim_policy must be one of: Delete, Retain, got: delete found in prerequisites_storage_classes"),
    "claim property set without volume mode": (
        lambda o: {"prerequisites_storage_classes": [dict(CLASSES[2], storage_profile={
            "claim_property_sets": [{"access_modes": ["ReadWriteMany"]}]})]},
        "missing required arguments: volume_mode found in prerequisites_storage_classes -> storage_profile -> "
        "claim_property_sets"),
    "snapshot class without a name": (
        lambda o: {"prerequisites_snapshot_class": {"deletion_policy": "Retain"}},
        "missing parameter(s) required by 'deletion_policy': name found in prerequisites_snapshot_class"),
    "two backends of one name": (
        lambda o: {"prerequisites_backends": [backends(o)[1], dict(backends(o)[2], name="t-san-iscsi")]},
        "Backend names must be unique, but t-san-iscsi appears more than once."),
    "two problems at once": (
        lambda o: {"prerequisites_wait_timeout": 0, "prerequisites_min_openshift_version": "4"},
        "prerequisites_wait_timeout is 0: give the seconds to wait for each backend, a whole number of at least 1. "
        'prerequisites_min_openshift_version "4" is not a version'),
}


def _error_lines(output):
    return [line for line in output.splitlines() if line.startswith("[ERROR]")]


@pytest.mark.parametrize("case", sorted(REFUSED_INPUTS))
def test_input_refused_before_anything_is_read_or_written(ansible, audit, ontap_vars, case):
    make_vars, message = REFUSED_INPUTS[case]
    mark = audit.mark()
    run = ansible(PLAYBOOK, role_vars(ontap_vars, **make_vars(ontap_vars)))
    assert run.rc != 0
    assert message.format(ontap_vars["management_lif"]) in run.output, run.output[-3000:]
    assert "prerequisites : Read the platform]" not in run.output
    assert audit.writes_since(mark) == []
    assert [line for line in _error_lines(run.output) if "['" in line or "[]" in line] == []
    assert secrets_in(run.output, ontap_vars) == []


def test_unquoted_version_in_yaml_is_refused(ansible, audit):
    """What a user writes in a playbook: YAML reads 4.20 as the float 4.2."""
    playbook = """
    - hosts: openshift
      gather_facts: false
      module_defaults:
        group/ontap.virtualization.virtualization: {kubeconfig: "{{ k8s_kubeconfig }}"}
      roles:
        - role: ontap.virtualization.prerequisites
          vars:
            prerequisites_min_openshift_version: 4.20
            prerequisites_backends: []
            prerequisites_storage_classes: []
            prerequisites_snapshot_class: {}
    """
    mark = audit.mark()
    run = ansible(playbook)
    assert run.rc != 0
    assert "prerequisites_min_openshift_version was read as the number 4.2, because it is not quoted" in run.output, \
        run.output[-3000:]
    assert audit.writes_since(mark) == []

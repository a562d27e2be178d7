"""The prerequisites role's optional ONTAP setup: a dedicated SVM and a least-privilege Trident account."""

import time

import pytest
import requests
from kubernetes.client.exceptions import ApiException

PLAYBOOK = "playbooks/prerequisites.yml"
SVM = "svm_vms"
ACCOUNT = {"svm": "svm_virt", "username": "trident-vms", "password": "Trident-vms-2026", "role": "trident-vms"}
BACKEND = "setup-san"


class OntapReader:
    """ONTAP as the cluster administrator sees it, over REST."""

    def __init__(self, ontap):
        self.url = ontap["url"]
        self.session = requests.Session()
        self.session.trust_env = False  # else REQUESTS_CA_BUNDLE replaces the lab's CA
        self.session.verify = ontap["ca_cert"]
        self.session.auth = (ontap["cluster_admin"]["username"], ontap["cluster_admin"]["password"])

    def records(self, path, **query):
        answer = self.session.get(f"{self.url}/api/{path}", params={"fields": "*", **query})
        answer.raise_for_status()
        return answer.json()["records"]

    def delete(self, path):
        self.session.delete(f"{self.url}/api/{path}").raise_for_status()


def setup_vars(ontap, **overrides):
    found = {
        "prerequisites_ontap_setup": {
            "management_lif": ontap["management_lif"], "username": ontap["cluster_admin"]["username"],
            "password": ontap["cluster_admin"]["password"],
            "svm": {"name": SVM, "protocols": ["nfs", "iscsi"], "aggregates": ["aggr1"]},
            "trident_account": ACCOUNT},
        "prerequisites_backends": [{"name": BACKEND, "storage_driver": "ontap-san", "san_type": "iscsi",
                                    "management_lif": ontap["management_lif"], "svm": ACCOUNT["svm"],
                                    "username": ACCOUNT["username"], "password": ACCOUNT["password"]}],
        "prerequisites_storage_classes": [], "prerequisites_snapshot_class": {},
        "prerequisites_ontap_validate_certs": False, "prerequisites_wait_timeout": 120}
    found.update(overrides)
    return found


def passwords_in(text, ontap):
    return [p for p in (ACCOUNT["password"], ontap["cluster_admin"]["password"]) if p in text]


@pytest.fixture(scope="module")
def reader(ontap_vars):
    return OntapReader(ontap_vars)


@pytest.fixture(scope="module")
def set_up(ansible, audit, ontap_vars, reader, custom_objects):
    """Check mode, the real run, a second run; afterwards the backend, account, role and SVM go."""
    mark = audit.mark()
    check = ansible(PLAYBOOK, setup_vars(ontap_vars), check=True, diff=True)
    after_check = {"writes": audit.writes_since(mark), "svms": reader.records("svm/svms", name=SVM),
                   "accounts": reader.records("security/accounts", name=ACCOUNT["username"])}
    first = ansible(PLAYBOOK, setup_vars(ontap_vars), diff=True)
    second = ansible(PLAYBOOK, setup_vars(ontap_vars))
    yield {"check": check, "after_check": after_check, "first": first, "second": second}
    try:
        custom_objects.delete_namespaced_custom_object("trident.netapp.io", "v1", "trident", "tridentbackendconfigs",
                                                       BACKEND)
    except ApiException as error:
        if error.status != 404:
            raise
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(
            t["metadata"]["name"] == BACKEND for t in custom_objects.list_namespaced_custom_object(
                "trident.netapp.io", "v1", "trident", "tridentbackendconfigs")["items"]):
        time.sleep(0.5)
    for account in reader.records("security/accounts", name=ACCOUNT["username"]):
        reader.delete(f"security/accounts/{account['owner']['uuid']}/{ACCOUNT['username']}")
    for role in reader.records("security/roles", name=ACCOUNT["role"]):
        reader.delete(f"security/roles/{role['owner']['uuid']}/{ACCOUNT['role']}")
    for svm in reader.records("svm/svms", name=SVM):
        reader.delete(f"svm/svms/{svm['uuid']}")


def test_check_mode_creates_nothing_on_ontap_or_the_cluster(set_up):
    check = set_up["check"]
    assert check.rc == 0, check.output[-3000:]
    assert set_up["after_check"] == {"writes": [], "svms": [], "accounts": []}
    assert f"Not checked on ONTAP in check mode (their SVM or account is made by this run): {BACKEND}" in check.output


def test_the_svm_has_its_protocols_and_aggregates(set_up, reader):
    assert set_up["first"].rc == 0, set_up["first"].output[-3000:]
    [svm] = reader.records("svm/svms", name=SVM)
    assert [a["name"] for a in svm["aggregates"]] == ["aggr1"]
    assert svm["nfs"]["allowed"] and svm["nfs"]["enabled"]
    assert svm["iscsi"]["allowed"] and svm["iscsi"]["enabled"]
    assert not svm["nvme"]["allowed"]
    assert reader.records("protocols/san/iscsi/services", **{"svm.name": SVM})[0]["enabled"]


def test_trident_binds_with_the_least_privilege_account(set_up, reader, custom_objects, ontap_vars):
    [account] = reader.records("security/accounts", name=ACCOUNT["username"])
    assert account["owner"]["name"] == ACCOUNT["svm"] and account["role"]["name"] == ACCOUNT["role"]
    [role] = reader.records("security/roles", name=ACCOUNT["role"])
    assert {"path": "/api/storage/luns", "access": "all"} in [
        {"path": p["path"], "access": p["access"]} for p in role["privileges"]]
    assert not [p for p in role["privileges"] if p["path"].startswith("/api/security")]  # it cannot make accounts
    tbc = custom_objects.get_namespaced_custom_object("trident.netapp.io", "v1", "trident", "tridentbackendconfigs",
                                                      BACKEND)
    assert tbc["status"]["phase"] == "Bound" and tbc["status"]["lastOperationStatus"] == "Success"


def test_second_run_changes_nothing_and_no_password_is_printed(set_up, ontap_vars):
    second = set_up["second"]
    assert second.rc == 0 and second.changed == 0, second.output[-3000:]
    assert "Password was not changed" not in second.output
    for run in (set_up["check"], set_up["first"], second):
        assert passwords_in(run.output, ontap_vars) == []


def test_a_backend_on_the_new_svm_is_stopped_by_the_missing_data_lifs(set_up, ansible, audit, ontap_vars):
    backend = {"name": "setup-vms-san", "storage_driver": "ontap-san", "san_type": "iscsi",
               "management_lif": ontap_vars["management_lif"], "svm": SVM,
               "username": ontap_vars["cluster_admin"]["username"],
               "password": ontap_vars["cluster_admin"]["password"]}
    mark = audit.mark()
    run = ansible(PLAYBOOK, setup_vars(ontap_vars, prerequisites_backends=[backend]))
    assert run.rc != 0
    assert f"SVM '{SVM}' has no data LIF that is up for iSCSI" in run.output, run.output[-3000:]
    assert audit.writes_since(mark) == []


def test_incomplete_setup_is_refused_before_anything(ansible, audit, ontap_vars, reader):
    setup = {"management_lif": ontap_vars["management_lif"], "svm": {"name": "svm_other", "protocols": ["nfs"]}}
    mark = audit.mark()
    run = ansible(PLAYBOOK, setup_vars(ontap_vars, prerequisites_ontap_setup=setup, prerequisites_backends=[]))
    assert run.rc != 0
    assert "prerequisites_ontap_setup needs username, password, svm.aggregates." in run.output, run.output[-3000:]
    assert audit.writes_since(mark) == [] and reader.records("svm/svms", name="svm_other") == []

from ansible_collections.ontap.virtualization.plugins.filter.trident_ontap_problems import trident_ontap_problems


def info(svms=None, lifs=None, accounts=None, roles=None):
    return {"svm/svms": {"records": svms if svms is not None else [{
        "name": "svm_virt", "nfs": {"allowed": True, "enabled": True}, "iscsi": {"allowed": True, "enabled": True},
        "nvme": {"allowed": True, "enabled": True}, "fcp": {"allowed": False, "enabled": False}}]},
        "network/ip/interfaces": {"records": lifs if lifs is not None else [
            {"name": "nfs1", "svm": {"name": "svm_virt"}, "services": ["data_core", "data_nfs"], "state": "up"},
            {"name": "iscsi1", "svm": {"name": "svm_virt"}, "services": ["data_iscsi"], "state": "up"}]},
        "security/accounts": {"records": accounts or []},
        "security/roles": {"records": roles or []}}


SAN = {"storage_driver": "ontap-san", "san_type": "iscsi", "svm": "svm_virt", "username": "vsadmin"}
NAS = {"storage_driver": "ontap-nas", "svm": "svm_virt", "username": "vsadmin"}


def test_ready_svm_has_no_problem():
    assert trident_ontap_problems(info(), SAN) == []
    assert trident_ontap_problems(info(), NAS) == []


def test_missing_svm():
    problems = trident_ontap_problems(info(), dict(SAN, svm="svm_other"))
    assert problems == ["SVM 'svm_other' does not exist on this ONTAP system, or the account cannot see it: create it "
                        "(netapp.ontap.na_ontap_svm) or correct svm."]


def test_protocol_not_enabled_names_the_fix():
    svm = {"name": "svm_nas", "nfs": {"allowed": True, "enabled": True}, "iscsi": {"allowed": True, "enabled": False}}
    problems = trident_ontap_problems(info(svms=[svm]), dict(SAN, svm="svm_nas"))
    assert problems[0].startswith("iSCSI is not enabled on SVM 'svm_nas'")
    assert "na_ontap_iscsi" in problems[0]


def test_protocol_not_allowed():
    problems = trident_ontap_problems(info(), dict(SAN, san_type="fcp"))
    assert problems[0].startswith("FC is not an allowed protocol of SVM 'svm_virt'")


def test_missing_data_lif_for_nvme():
    problems = trident_ontap_problems(info(), dict(SAN, san_type="nvme"))
    assert problems == ["SVM 'svm_virt' has no data LIF that is up for NVMe/TCP (service data_nvme_tcp): create one "
                        "(netapp.ontap.na_ontap_interface with a service policy that includes data_nvme_tcp)."]


def test_down_lif_does_not_count():
    lifs = [{"name": "nfs1", "svm": {"name": "svm_virt"}, "services": ["data_nfs"], "state": "down"}]
    assert "no data LIF" in trident_ontap_problems(info(lifs=lifs), NAS)[0]


def test_svm_derived_when_account_sees_one():
    assert trident_ontap_problems(info(), dict(NAS, svm=None)) == []


def test_custom_role_missing_privileges():
    accounts = [{"name": "trident", "role": {"name": "trident_role"}}]
    privileges = [{"path": "/api/storage/volumes", "access": "all"},
                  {"path": "/api/storage/luns", "access": "readonly"}]
    roles = [{"name": "trident_role", "privileges": privileges}]
    problems = trident_ontap_problems(info(accounts=accounts, roles=roles), dict(SAN, username="trident"))
    assert problems == ["Account 'trident' has role 'trident_role', which lacks access 'all' to /api/storage/luns, "
                        "/api/protocols/san/igroups, /api/protocols/san/lun-maps: use the vsadmin role, or add these "
                        "privileges (netapp.ontap.na_ontap_user_role)."]


def test_builtin_roles_are_enough():
    accounts = [{"name": "vsadmin", "role": {"name": "vsadmin"}}]
    assert trident_ontap_problems(info(accounts=accounts), SAN) == []

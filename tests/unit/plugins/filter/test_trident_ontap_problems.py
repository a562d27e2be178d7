import pytest
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


def test_drivers_come_from_module_utils():
    from ansible_collections.ontap.virtualization.plugins.module_utils import ontap, trident
    assert ontap.NAS_DRIVERS is trident.NAS_DRIVERS


def test_a_data_lif_of_another_svm_is_named():
    lifs = [{"svm": {"name": "svm_virt"}, "services": ["data_nfs"], "state": "up", "ip": {"address": "10.0.0.5"}}]
    problems = trident_ontap_problems(info(lifs=lifs), dict(NAS, data_lif="10.9.9.9"))
    assert problems == ["data_lif 10.9.9.9 is not one of the NFS data LIFs of SVM 'svm_virt' (10.0.0.5): give one "
                        "of them, or leave data_lif out for Trident to choose."]


@pytest.mark.parametrize("driver", ["ontap-nas", "ontap-nas-economy", "ontap-nas-flexgroup"])
def test_every_nas_driver_needs_nfs(driver):
    svm = {"name": "svm_virt", "nfs": {"allowed": True, "enabled": False}}
    problems = trident_ontap_problems(info(svms=[svm]), dict(NAS, storage_driver=driver))
    assert problems[0] == ("NFS is not enabled on SVM 'svm_virt': enable the NFS service "
                           "(netapp.ontap.na_ontap_nfs).")


def test_san_without_san_type_is_iscsi():
    lifs = [{"name": "nfs1", "svm": {"name": "svm_virt"}, "services": ["data_nfs"], "state": "up"}]
    problems = trident_ontap_problems(info(lifs=lifs), {"storage_driver": "ontap-san-economy", "svm": "svm_virt"})
    assert problems == ["SVM 'svm_virt' has no data LIF that is up for iSCSI (service data_iscsi): create one "
                        "(netapp.ontap.na_ontap_interface with a service policy that includes data_iscsi)."]


def test_no_svm_named_and_several_visible():
    svms = [{"name": "svm_a"}, {"name": "svm_b"}]
    assert trident_ontap_problems(info(svms=svms), dict(NAS, svm=None)) == [
        "The backend names no SVM and the account sees 2 SVMs: set svm."]


def test_disabled_lif_and_lif_of_another_svm_do_not_count():
    lifs = [{"name": "nfs1", "svm": {"name": "svm_virt"}, "services": ["data_nfs"], "state": "up", "enabled": False},
            {"name": "nfs2", "svm": {"name": "svm_other"}, "services": ["data_nfs"], "state": "up"}]
    assert "no data LIF that is up for NFS" in trident_ontap_problems(info(lifs=lifs), NAS)[0]


def test_fc_needs_no_ip_lif():
    svm = {"name": "svm_virt", "fcp": {"allowed": True, "enabled": True}}
    assert trident_ontap_problems(info(svms=[svm], lifs=[]), dict(SAN, san_type="fcp")) == []


def test_records_under_underscored_subset_names():
    found = info()
    underscored = dict((key.replace("/", "_"), value) for key, value in found.items())
    assert trident_ontap_problems(underscored, SAN) == []


def test_account_the_login_cannot_see_is_left_to_trident():
    accounts = [{"name": "someone_else", "role": {"name": "readonly"}}]
    assert trident_ontap_problems(info(accounts=accounts), dict(SAN, username="trident")) == []


def test_several_problems_at_once():
    svm = {"name": "svm_virt", "nvme": {"allowed": True, "enabled": False}}
    accounts = [{"name": "trident", "role": {"name": "trident_role"}}]
    problems = trident_ontap_problems(info(svms=[svm], accounts=accounts, roles=[]),
                                      dict(SAN, san_type="nvme", username="trident"))
    assert [p.split(" ")[0] for p in problems] == ["NVMe/TCP", "SVM", "Account"]

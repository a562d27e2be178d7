"""netapp.ontap's modules, unmodified and run by ansible-playbook, manage the stand-in.

Each test runs a short play and then asks the stand-in what it holds, so a module that
merely reports `changed` without the object appearing would fail.
"""

from ontap_clients import Rest, run_tasks

GIB = 1024 ** 3


def test_rest_info_gathers_subsets_across_pages(ontap):
    [info] = run_tasks(ontap, [{"netapp.ontap.na_ontap_rest_info": {
        "gather_subset": ["vserver_info", "volume_info", "aggregate_info", "ip_interfaces_info", "cluster_node_info"],
        "fields": ["*"], "max_records": 3}}], verify_with_ca=True)
    assert not info.get("failed"), info
    facts = info["ontap_info"]
    assert sorted(s["name"] for s in facts["svm/svms"]["records"]) == ["svm_nas", "svm_virt"]
    assert sorted(n["name"] for n in facts["cluster/nodes"]["records"]) == ["ontap-lab-01", "ontap-lab-02"]
    assert {a["name"]: a["space"]["block_storage"]["size"] for a in facts["storage/aggregates"]["records"]} == {
        "aggr1": 4 * 1024 ** 4, "aggr2": 4 * 1024 ** 4}
    lifs = facts["network/ip/interfaces"]["records"]
    assert facts["network/ip/interfaces"]["num_records"] == len(lifs) == 8  # three pages of max_records=3
    assert {"data_nvme_tcp", "data_iscsi", "data_nfs"} <= {s for lif in lifs for s in lif["services"]}
    assert {"svm_virt_root", "svm_nas_root"} <= {v["name"] for v in facts["storage/volumes"]["records"]}


def test_svm_is_created_once_then_left_alone(ontap, admin):
    svm = {"name": "svm_ansible", "aggr_list": ["aggr1"], "comment": "made by ansible",
           "services": {"nfs": {"allowed": True, "enabled": True}, "iscsi": {"allowed": True}}}
    first, second = run_tasks(ontap, [{"netapp.ontap.na_ontap_svm": svm}, {"netapp.ontap.na_ontap_svm": svm}])
    assert first["changed"] is True and not first.get("failed"), first
    assert second["changed"] is False and not second.get("failed"), second
    record = admin.one("svm/svms", name="svm_ansible", fields="nfs,iscsi,aggregates,comment")
    assert record["nfs"]["enabled"] and record["iscsi"] == {"allowed": True, "enabled": False}
    assert [a["name"] for a in record["aggregates"]] == ["aggr1"] and record["comment"] == "made by ansible"
    assert admin.one("protocols/nfs/services", **{"svm.name": "svm_ansible"}, fields="enabled")["enabled"]
    [gone] = run_tasks(ontap, [{"netapp.ontap.na_ontap_svm": {"name": "svm_ansible", "state": "absent"}}])
    assert gone["changed"] and admin.records("svm/svms", name="svm_ansible") == []
    for owned in ("storage/volumes", "protocols/nfs/services", "protocols/nfs/export-policies"):
        assert admin.records(owned, **{"svm.name": "svm_ansible"}) == [], owned


def test_volume_lifecycle_with_snapshots(ontap, admin):
    volume = {"name": "ans_vol", "vserver": "svm_virt", "aggregate_name": "aggr1", "size": 10, "size_unit": "gb",
              "space_guarantee": "none", "junction_path": "/ans_vol"}
    snapshot = {"vserver": "svm_virt", "volume": "ans_vol", "snapshot": "ans_snap"}
    created, again, resized, snapped, unsnapped, deleted = run_tasks(ontap, [
        {"netapp.ontap.na_ontap_volume": volume},
        {"netapp.ontap.na_ontap_volume": volume},
        {"netapp.ontap.na_ontap_volume": dict(volume, size=20)},
        {"netapp.ontap.na_ontap_snapshot": snapshot},
        {"netapp.ontap.na_ontap_snapshot": dict(snapshot, state="absent")},
        {"netapp.ontap.na_ontap_volume": {"name": "ans_vol", "vserver": "svm_virt", "state": "absent"}},
    ])
    assert [t["changed"] for t in (created, again, resized, snapped, unsnapped, deleted)] == [
        True, False, True, True, True, True], [t.get("msg") for t in (created, again, resized)]
    assert admin.records("storage/volumes", name="ans_vol") == []
    jobs = admin.records("cluster/jobs", description="POST /api/storage/volumes/*/snapshots", fields="state")
    assert jobs and all(job["state"] == "success" for job in jobs)


def test_resize_is_visible_before_delete(ontap, admin):
    volume = {"name": "ans_size", "vserver": "svm_virt", "aggregate_name": "aggr2", "size": 1, "size_unit": "gb"}
    run_tasks(ontap, [{"netapp.ontap.na_ontap_volume": volume},
                      {"netapp.ontap.na_ontap_volume": dict(volume, size=3)}])
    record = admin.one("storage/volumes", name="ans_size", fields="size,guarantee,aggregates")
    assert record["size"] == 3 * GIB and record["guarantee"]["type"] == "volume"
    assert record["aggregates"][0]["name"] == "aggr2"


def test_too_big_volume_fails_with_the_space_error(ontap, admin):
    [result] = run_tasks(ontap, [{"netapp.ontap.na_ontap_volume": {
        "name": "ans_huge", "vserver": "svm_virt", "aggregate_name": "aggr1", "size": 100, "size_unit": "tb",
        "space_guarantee": "volume"}, "ignore_errors": True}])
    assert result["failed"] and "not enough space in aggregate" in result["msg"], result
    assert admin.records("storage/volumes", name="ans_huge") == []


def test_lun_igroup_and_map(ontap, admin):
    results = run_tasks(ontap, [
        {"netapp.ontap.na_ontap_volume": {"name": "ans_san", "vserver": "svm_virt", "aggregate_name": "aggr1",
                                          "size": 5, "size_unit": "gb"}},
        {"netapp.ontap.na_ontap_lun": {"vserver": "svm_virt", "flexvol_name": "ans_san", "name": "lun0", "size": 2,
                                       "size_unit": "gb", "os_type": "linux", "space_reserve": False}},
        {"netapp.ontap.na_ontap_igroup": {"vserver": "svm_virt", "name": "ans_ig", "os_type": "linux",
                                          "initiator_group_type": "iscsi",
                                          "initiator_names": ["iqn.1994-05.com.redhat:node-a"]}},
        {"netapp.ontap.na_ontap_lun_map": {"vserver": "svm_virt", "path": "/vol/ans_san/lun0",
                                           "initiator_group_name": "ans_ig"}},
        {"netapp.ontap.na_ontap_lun_map": {"vserver": "svm_virt", "path": "/vol/ans_san/lun0",
                                           "initiator_group_name": "ans_ig"}},
    ])
    assert [r["changed"] for r in results] == [True, True, True, True, False], [r.get("msg") for r in results]
    lun = admin.one("storage/luns", name="/vol/ans_san/lun0", fields="space,os_type,status,lun_maps")
    assert lun["space"]["size"] == 2 * GIB and lun["os_type"] == "linux" and lun["status"]["mapped"]
    assert lun["lun_maps"][0]["igroup"]["name"] == "ans_ig"
    igroup = admin.one("protocols/san/igroups", name="ans_ig", fields="initiators,protocol")
    assert igroup["protocol"] == "iscsi" and igroup["initiators"][0]["name"] == "iqn.1994-05.com.redhat:node-a"


def test_role_and_user_are_enforced(ontap, admin):
    role = {"name": "ans_reader", "vserver": "svm_virt",
            "privileges": [{"path": "/api/storage/volumes", "access": "readonly"}]}
    user = {"name": "ans_user", "vserver": "svm_virt", "applications": ["http"], "authentication_method": "password",
            "set_password": "Reader-2026x", "role_name": "ans_reader"}
    results = run_tasks(ontap, [{"netapp.ontap.na_ontap_user_role": role}, {"netapp.ontap.na_ontap_user": user},
                                {"netapp.ontap.na_ontap_user_role": role}, {"netapp.ontap.na_ontap_user": user}])
    assert [r["changed"] for r in results] == [True, True, False, False], [r.get("msg") for r in results]
    account = admin.one("security/accounts", name="ans_user", fields="role,owner,applications")
    assert account["owner"]["name"] == "svm_virt" and account["role"]["name"] == "ans_reader"
    reader = Rest({**ontap, "reader": {"username": "ans_user", "password": "Reader-2026x"}}, "reader")
    assert {v["svm"]["name"] for v in reader.records("storage/volumes", fields="svm")} == {"svm_virt"}
    denied = reader.post("storage/volumes", {"name": "nope", "aggregates": [{"name": "aggr1"}]})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "6"
    assert reader.get("protocols/san/igroups").status_code == 403


def test_wrong_password_fails_clearly(ontap):
    [result] = run_tasks(ontap, [{"netapp.ontap.na_ontap_rest_info": {"gather_subset": ["vserver_info"]},
                                  "ignore_errors": True}], password="wrong-password")
    assert result["failed"] and "401" in result["msg"], result


def test_svm_account_sees_and_changes_only_its_svm(ontap, admin):
    info, foreign, own = run_tasks(ontap, [
        {"netapp.ontap.na_ontap_rest_info": {"gather_subset": ["vserver_info", "volume_info"], "fields": ["*"]}},
        {"netapp.ontap.na_ontap_volume": {"name": "ans_foreign", "vserver": "svm_nas", "aggregate_name": "aggr1",
                                          "size": 1, "size_unit": "gb"}, "ignore_errors": True},
        {"netapp.ontap.na_ontap_volume": {"name": "ans_own", "vserver": "svm_virt", "aggregate_name": "aggr1",
                                          "size": 1, "size_unit": "gb"}},
    ], account="svm_admin")
    assert [s["name"] for s in info["ontap_info"]["svm/svms"]["records"]] == ["svm_virt"]
    assert {v["svm"]["name"] for v in info["ontap_info"]["storage/volumes"]["records"]} == {"svm_virt"}
    assert foreign["failed"] and "svm_nas" in foreign["msg"], foreign
    assert own["changed"], own
    assert admin.records("storage/volumes", name="ans_foreign") == []
    assert admin.one("storage/volumes", name="ans_own", fields="svm")["svm"]["name"] == "svm_virt"

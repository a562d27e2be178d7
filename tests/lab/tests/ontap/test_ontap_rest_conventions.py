"""The stand-in speaks ONTAP REST: envelopes, fields=, queries, paging, jobs, errors, scoping.

These checks use plain requests so each convention is visible on the wire; the client
library and module tests show that code we did not write agrees with them.
"""

import importlib
import uuid

import pytest
import requests
from ontap_clients import Rest

from lab.ontap import resources, schema

GIB = 1024 ** 3


def make_volume(admin: Rest, name: str, size: int = 10 * GIB, **extra) -> dict:
    body = {"name": name, "svm": {"name": "svm_virt"}, "aggregates": [{"name": "aggr1"}], "size": size,
            "guarantee": {"type": "none"}, **extra}
    response = admin.post("storage/volumes", body, return_timeout=30)
    assert response.status_code == 201, response.text
    return admin.one("storage/volumes", name=name, fields="*")


def make_lun(admin: Rest, volume: str, name: str, size: int = GIB, **extra) -> dict:
    response = admin.post("storage/luns", {"name": f"/vol/{volume}/{name}", "svm": {"name": "svm_virt"},
                                           "os_type": "linux", "space": {"size": size}, **extra})
    assert response.status_code == 201, response.text
    return admin.get(response.headers["Location"][len("/api/"):]).json()


def error_of(response) -> dict:
    return response.json()["error"]


# --- version probe and envelopes -------------------------------------------------------------

def test_version_probe_as_both_clients_send_it(admin):
    version = admin.get("cluster", fields="version").json()["version"]
    assert (version["generation"], version["major"], version["minor"]) >= (9, 16, 1)
    assert version["full"].startswith("NetApp Release 9.16.1")
    # Trident's ASA r2 check on >= 9.16.1
    asa = admin.get("cluster", fields="san_optimized,disaggregated", ignore_unknown_fields="true").json()
    assert asa["san_optimized"] is False and asa["disaggregated"] is False


def test_collection_envelope_has_records_and_links(admin):
    body = admin.get("storage/aggregates").json()
    assert body["num_records"] == 2
    assert body["_links"]["self"]["href"] == "/api/storage/aggregates"
    for record in body["records"]:
        assert set(record) == {"name", "uuid", "_links"}
        assert record["_links"]["self"]["href"] == f"/api/storage/aggregates/{record['uuid']}"


def test_plain_json_accept_drops_hal_links(admin):
    response = admin.session.get(admin.base + "svm/svms", headers={"Accept": "application/json"})
    assert response.headers["Content-Type"] == "application/json"
    assert "_links" not in response.json() and all("_links" not in r for r in response.json()["records"])


def test_fields_selects_dotted_whole_and_all(admin):
    aggregate = admin.records("storage/aggregates", fields="space.block_storage.size")[0]
    assert set(aggregate) == {"name", "uuid", "space", "_links"}
    assert aggregate["space"] == {"block_storage": {"size": 4 * 1024 ** 4}}
    whole = admin.records("storage/aggregates", fields="space")[0]["space"]["block_storage"]
    assert {"size", "available", "used"} <= set(whole)
    everything = admin.records("storage/aggregates", fields="**")[0]
    assert everything["node"]["name"] in ("ontap-lab-01", "ontap-lab-02")
    assert everything["block_storage"]["primary"]["disk_type"] == "ssd"


def test_single_object_comes_whole_unless_narrowed(admin):
    svm = admin.one("svm/svms", name="svm_virt")
    whole = admin.get(f"svm/svms/{svm['uuid']}").json()
    assert whole["nfs"] == {"allowed": True, "enabled": True, "_links": whole["nfs"]["_links"]}
    assert set(admin.get(f"svm/svms/{svm['uuid']}", fields="state").json()) == {"name", "uuid", "state", "_links"}


def test_query_filters_wildcards_alternatives_negation_and_ranges(admin):
    names = lambda **q: sorted(r["name"] for r in admin.records("svm/svms", **q))  # noqa: E731
    assert names(name="svm_*") == ["svm_nas", "svm_virt"]
    assert names(name="svm_virt|svm_nas") == ["svm_nas", "svm_virt"]
    assert names(name="!svm_nas") == ["svm_virt"]
    assert names(**{"iscsi.allowed": "false"}) == ["svm_nas"]
    lifs = admin.records("network/ip/interfaces", services="data_nvme_tcp", fields="ip.address")
    assert sorted(lif["ip"]["address"] for lif in lifs) == ["127.0.10.21", "127.0.10.22"]
    big = admin.records("storage/aggregates", **{"space.block_storage.size": ">1000000000000"})
    assert len(big) == 2
    assert admin.records("storage/aggregates", **{"space.block_storage.size": "1..1000"}) == []


def test_queried_fields_are_returned(admin):
    record = admin.records("storage/volumes", **{"svm.name": "svm_nas", "is_svm_root": "true"})[0]
    assert record["svm"] == {"name": "svm_nas"} and record["is_svm_root"] is True


def test_max_records_pages_with_next_links(admin):
    seen, path = [], "network/ip/interfaces?max_records=3&fields=ip.address"
    while path:
        body = admin.request("GET", path).json()
        assert body["num_records"] <= 3
        seen += [r["ip"]["address"] for r in body["records"]]
        path = body["_links"].get("next", {}).get("href", "")[len("/api/"):]
    assert len(seen) == len(set(seen)) == 8


def test_return_records_false_only_counts(admin):
    assert admin.get("network/ip/interfaces", return_records="false").json() == {
        "num_records": 8, "_links": {"self": {"href": "/api/network/ip/interfaces?return_records=false"}}}


# --- strictness ------------------------------------------------------------------------------

@pytest.mark.parametrize("method, path, body, params, status, code", [
    ("GET", "storage/volumes", None, {"colour": "red"}, 400, "262179"),
    ("GET", "storage/volumes", None, {"fields": "name,colour"}, 400, "262179"),
    ("GET", "security/accounts", None, {"fields": "password"}, 400, "262249"),
    ("POST", "storage/volumes", {"name": "v", "svm": {"name": "svm_virt"}, "colour": "red"}, {}, 400, "262179"),
    ("POST", "storage/volumes", {"name": "v", "svm": {"name": "svm_virt"}, "uuid": "x"}, {}, 400, "262196"),
    ("POST", "storage/volumes", {"name": "v", "svm": {"name": "svm_virt"}, "size": "10GB"}, {}, 400, "262197"),
    ("POST", "storage/volumes", {"name": "v", "svm.name": "svm_virt", "aggregates": [{"name": "aggr1"}],
                                 "guarantee": {"type": "thick"}}, {}, 400, "262197"),
    ("POST", "storage/volumes", {"svm": {"name": "svm_virt"}, "aggregates": [{"name": "aggr1"}]}, {}, 400,
     "262212"),
    ("POST", "storage/luns", {"name": "/vol/x/l", "svm": {"name": "svm_virt"}, "space": {"size": True}}, {}, 400,
     "262197"),
    ("POST", "storage/volumes", {"name": "v", "svm": {"name": "svm_virt"}}, {"name": "v"}, 400, "262211"),
    ("POST", "protocols/san/igroups", {"name": "g", "svm": {"name": "svm_virt"}, "os_type": "linux",
                                       "initiators": [{"name": "not-an-iqn"}]}, {}, 400, "262197"),
    ("PATCH", "cluster", {"name": "x"}, {}, 405, "3"),
    ("DELETE", "cluster", None, {}, 405, "3"),
])
def test_rejects_what_ontap_rejects(admin, method, path, body, params, status, code):
    response = admin.request(method, path, json=body, params=params)
    assert response.status_code == status, response.text
    assert error_of(response)["code"] == code


def test_ignore_unknown_fields_only_relaxes_fields(admin):
    assert admin.get("cluster", fields="name,colour", ignore_unknown_fields="true").status_code == 200
    assert admin.get("cluster", colour="red", ignore_unknown_fields="true").status_code == 400


def test_malformed_requests(admin):
    bad_json = admin.session.post(admin.base + "storage/volumes", data=b"{not json",
                                  headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and error_of(bad_json)["code"] == "262199"
    get_body = admin.session.get(admin.base + "storage/volumes", data=b'{"a": 1}')
    assert get_body.status_code == 400 and error_of(get_body)["code"] == "262198"
    twice = admin.request("GET", "storage/volumes?name=a&name=b")
    assert twice.status_code == 400 and error_of(twice)["code"] == "262188"


def test_missing_objects_and_apis(admin):
    missing = admin.get(f"storage/volumes/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert error_of(missing) == {"message": "entry doesn't exist", "code": "4", "target": "uuid"}
    assert error_of(admin.get("storage/teapots"))["code"] == "3"
    volume = admin.one("storage/volumes", name="svm_virt_root")
    extra = admin.get(f"storage/volumes/{volume['uuid']}/teapot")
    assert extra.status_code == 404 and error_of(extra)["code"] == "262179"


def test_wrong_password_is_401(ontap):
    response = Rest(ontap, password="not-the-password").get("cluster")
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Basic")
    assert requests.get(ontap["url"] + "/api/cluster", verify=ontap["ca_cert"]).status_code == 401


# --- writes: jobs, Location, return_records ----------------------------------------------------

def test_volume_create_answers_202_with_a_finished_job(admin):
    response = admin.post("storage/volumes", {"name": "conv_async", "svm": {"name": "svm_virt"},
                                              "aggregates": [{"name": "aggr1"}], "size": GIB})
    job = admin.job(response)
    assert job["state"] == "success" and job["code"] == 0
    assert job["start_time"] and job["end_time"] and job["description"].startswith("POST /api/storage/volumes")
    assert response.headers["Location"] == "/api/storage/volumes?name=conv_async&svm.name=svm_virt"
    assert admin.one("storage/volumes", name="conv_async")["uuid"]


def test_failed_async_operation_reports_in_the_job(admin):
    too_big = {"name": "conv_too_big", "svm": {"name": "svm_virt"}, "aggregates": [{"name": "aggr2"}],
               "size": 5 * 1024 ** 4, "guarantee": {"type": "volume"}}
    job = admin.job(admin.post("storage/volumes", too_big))
    assert job["state"] == "failure" and isinstance(job["code"], int) and job["code"] != 0
    assert "not enough space in aggregate \"aggr2\"" in job["message"]
    with_timeout = admin.post("storage/volumes", too_big, return_timeout=30)
    assert with_timeout.status_code == 400 and "not enough space" in error_of(with_timeout)["message"]
    assert admin.records("storage/volumes", name="conv_too_big") == []


def test_return_timeout_answers_when_done(admin):
    response = admin.post("storage/volumes", {"name": "conv_sync", "svm": {"name": "svm_virt"},
                                              "aggregates": [{"name": "aggr1"}]}, return_timeout=15)
    assert response.status_code == 201 and "job" in response.json()
    assert admin.post("storage/volumes", {"name": "x"}, return_timeout=121).status_code == 400


def test_synchronous_create_answers_201_with_location_and_records(admin):
    response = admin.post("protocols/nfs/export-policies",
                          {"name": "conv_policy", "svm": {"name": "svm_virt"},
                           "rules": [{"clients": [{"match": "127.0.0.0/8"}], "ro_rule": ["sys"], "rw_rule": ["sys"]}]},
                          return_records="true")
    assert response.status_code == 201, response.text
    created = response.json()["records"][0]
    assert response.headers["Location"] == f"/api/protocols/nfs/export-policies/{created['id']}"
    assert created["rules"][0]["index"] == 1 and created["rules"][0]["superuser"] == ["any"]
    rules = admin.records(f"protocols/nfs/export-policies/{created['id']}/rules", fields="clients")
    assert rules[0]["clients"] == [{"match": "127.0.0.0/8"}]
    duplicate = admin.post(f"protocols/nfs/export-policies/{created['id']}/rules",
                           {"clients": [{"match": "127.0.0.0/8"}], "ro_rule": ["any"], "rw_rule": ["any"]})
    assert error_of(duplicate)["code"] == "1704070"
    assert error_of(admin.get("protocols/nfs/export-policies/4242/rules"))["code"] == "1703954"


def test_ems_application_log_is_post_only(admin):
    log = {"computer_name": "lab", "event_id": 1, "event_source": "trident", "app_version": "26.06",
           "category": "provisioning", "event_description": "heartbeat", "severity": "notice"}
    assert admin.post("support/ems/application-logs", log).status_code == 201
    assert admin.get("support/ems/application-logs").status_code == 405


# --- capacity and protections ----------------------------------------------------------------

def test_thick_volumes_take_aggregate_space_thin_ones_do_not(admin):
    available = lambda: admin.one("storage/aggregates", name="aggr2", fields="space")["space"][  # noqa: E731
        "block_storage"]["available"]
    before = available()
    thin = admin.post("storage/volumes", {"name": "cap_thin", "svm": {"name": "svm_virt"},
                                          "aggregates": [{"name": "aggr2"}], "size": 10 * 1024 ** 4,
                                          "guarantee": {"type": "none"}}, return_timeout=30)
    assert thin.status_code == 201  # thin provisioning may overcommit
    assert available() == before
    thick = admin.post("storage/volumes", {"name": "cap_thick", "svm": {"name": "svm_virt"},
                                           "aggregates": [{"name": "aggr2"}], "size": 100 * GIB}, return_timeout=30)
    assert thick.status_code == 201
    assert available() == before - 100 * GIB
    volume = admin.one("storage/volumes", name="cap_thick")
    grow = admin.job(admin.patch(f"storage/volumes/{volume['uuid']}", {"size": 8 * 1024 ** 4}))
    assert grow["state"] == "failure" and "not enough space" in grow["message"]


def test_lun_must_fit_its_volume(admin):
    make_volume(admin, "cap_lunvol", size=2 * GIB)
    too_large = admin.post("storage/luns", {"name": "/vol/cap_lunvol/big", "svm": {"name": "svm_virt"},
                                            "os_type": "linux", "space": {"size": 4 * GIB}})
    assert too_large.status_code == 400 and "does not fit in volume" in error_of(too_large)["message"]
    make_lun(admin, "cap_lunvol", "reserved", size=GIB, space={"size": GIB, "guarantee": {"requested": True}})
    second = admin.post("storage/luns", {"name": "/vol/cap_lunvol/second", "svm": {"name": "svm_virt"},
                                         "os_type": "linux", "space": {"size": GIB, "guarantee": {"requested": True}}})
    assert second.status_code == 400 and "Not enough space in volume" in error_of(second)["message"]


def test_volume_with_clones_or_mapped_luns_cannot_be_deleted(admin):
    parent = make_volume(admin, "prot_parent")
    lun = make_lun(admin, "prot_parent", "lun0")
    snapshot = admin.post(f"storage/volumes/{parent['uuid']}/snapshots", {"name": "base"}, return_timeout=30)
    assert snapshot.status_code == 201
    clone = admin.post("storage/volumes", {"name": "prot_clone", "svm": {"name": "svm_virt"},
                                           "clone": {"parent_volume": {"name": "prot_parent"},
                                                     "parent_snapshot": {"name": "base"}, "is_flexclone": True}},
                       return_timeout=30)
    assert clone.status_code == 201, clone.text
    job = admin.job(admin.delete(f"storage/volumes/{parent['uuid']}"))
    assert job["state"] == "failure" and "prot_clone" in job["message"]
    base = admin.one(f"storage/volumes/{parent['uuid']}/snapshots", name="base")
    busy = admin.job(admin.delete(f"storage/volumes/{parent['uuid']}/snapshots/{base['uuid']}"))
    assert busy["state"] == "failure" and "in use by FlexClone" in busy["message"]

    # The clone holds its own copy of the LUN: new identity, not mapped.
    copy = admin.one("storage/luns", name="/vol/prot_clone/lun0", fields="serial_number,status")
    assert copy["uuid"] != lun["uuid"] and copy["serial_number"] != lun["serial_number"]

    clone_uuid = admin.one("storage/volumes", name="prot_clone")["uuid"]
    assert admin.job(admin.patch(f"storage/volumes/{clone_uuid}", {"clone": {"split_initiated": True}}))[
        "state"] == "success"
    igroup = admin.post("protocols/san/igroups", {"name": "prot_ig", "svm": {"name": "svm_virt"}, "os_type": "linux",
                                                  "protocol": "iscsi"})
    assert igroup.status_code == 201
    assert admin.post("protocols/san/lun-maps", {"svm": {"name": "svm_virt"}, "lun": {"name": lun["name"]},
                                                 "igroup": {"name": "prot_ig"}}).status_code == 201
    again = admin.post("protocols/san/lun-maps", {"svm": {"name": "svm_virt"}, "lun": {"name": lun["name"]},
                                                  "igroup": {"name": "prot_ig"}})
    assert again.status_code == 409 and error_of(again)["code"] == "5374922"
    mapped = admin.job(admin.delete(f"storage/volumes/{parent['uuid']}"))
    assert mapped["state"] == "failure" and "mapped" in mapped["message"]
    assert admin.delete(f"storage/luns/{lun['uuid']}").status_code == 400
    assert admin.delete(f"storage/luns/{lun['uuid']}", allow_delete_while_mapped="true").status_code == 200
    assert admin.job(admin.delete(f"storage/volumes/{parent['uuid']}"))["state"] == "success"
    assert admin.records("storage/luns", name="/vol/prot_parent/*") == []


def test_volume_rename_follows_through_to_luns(admin):
    volume = make_volume(admin, "ren_before")
    make_lun(admin, "ren_before", "disk")
    assert admin.job(admin.patch(f"storage/volumes/{volume['uuid']}", {"name": "ren_after"}))["state"] == "success"
    lun = admin.one("storage/luns", name="/vol/ren_after/disk", fields="location")
    assert lun["location"]["volume"]["name"] == "ren_after"


def test_protocol_must_be_allowed_on_the_svm(admin):
    nas = admin.one("svm/svms", name="svm_nas", fields="iscsi,nvme")
    assert nas["iscsi"] == {"allowed": False, "enabled": False}
    refused = admin.post("protocols/san/iscsi/services", {"svm": {"name": "svm_nas"}})
    assert refused.status_code == 400 and "not allowed" in error_of(refused)["message"]
    subsystem = admin.post("protocols/nvme/subsystems", {"name": "s", "svm": {"name": "svm_nas"}, "os_type": "linux"})
    assert subsystem.status_code == 400 and "not allowed" in error_of(subsystem)["message"]
    virt = admin.one("protocols/san/iscsi/services", **{"svm.name": "svm_virt"}, fields="target,enabled")
    assert virt["enabled"] and virt["target"]["name"].startswith("iqn.1992-08.com.netapp:sn.")


# --- accounts and scope ------------------------------------------------------------------------

def test_svm_account_sees_only_its_svm(ontap, admin):
    vsadmin = Rest(ontap, "svm_admin")
    assert [s["name"] for s in vsadmin.records("svm/svms")] == ["svm_virt"]
    assert vsadmin.get("cluster", fields="version").status_code == 200  # Trident's first call
    for cluster_only in ("cluster/nodes", "storage/aggregates"):
        denied = vsadmin.get(cluster_only)
        assert denied.status_code == 403 and error_of(denied)["code"] == "6"
    assert {v["svm"]["name"] for v in vsadmin.records("storage/volumes", fields="svm")} == {"svm_virt"}
    nas_root = admin.one("storage/volumes", name="svm_nas_root")
    assert vsadmin.get(f"storage/volumes/{nas_root['uuid']}").status_code == 404
    other = vsadmin.post("storage/volumes", {"name": "scope_other", "svm": {"name": "svm_nas"},
                                             "aggregates": [{"name": "aggr1"}]})
    assert other.status_code == 400 and "svm_nas" in error_of(other)["message"]
    own = vsadmin.post("storage/volumes", {"name": "scope_own", "aggregates": [{"name": "aggr1"}]},
                       return_timeout=30)
    assert own.status_code == 201
    assert admin.one("storage/volumes", name="scope_own", fields="svm")["svm"]["name"] == "svm_virt"
    assert vsadmin.post("svm/svms", {"name": "svm_mine"}).status_code == 403


def test_cluster_admin_can_tunnel_into_one_svm(ontap):
    tunnelled = Rest(ontap)
    tunnelled.session.headers["X-Dot-SVM-Name"] = "svm_nas"
    assert {v["svm"]["name"] for v in tunnelled.records("storage/volumes", fields="svm")} == {"svm_nas"}


def test_trident_role_is_least_privilege(ontap):
    trident = Rest(ontap, "trident")
    assert trident.get("svm/svms").status_code == 200
    assert trident.patch(f"svm/svms/{trident.one('svm/svms')['uuid']}", {"comment": "x"}).status_code == 403
    assert trident.get("security/accounts").status_code == 403
    created = trident.post("storage/volumes", {"name": "trident_vol", "aggregates": [{"name": "aggr1"}]},
                           return_timeout=30)
    assert created.status_code == 201, created.text


def test_trident_account_can_provision_nas_and_san(ontap):
    """The calls Trident's ontap-nas and ontap-san drivers make, as the least-privilege account."""
    trident = Rest(ontap, "trident")
    assert trident.get("cluster", fields="**").json()["version"]["major"] == 16
    svm = trident.one("svm/svms", name="svm_virt", fields="aggregates,nfs,iscsi,nvme")
    assert trident.post("support/ems/application-logs", {
        "computer_name": "node", "event_id": 1, "event_source": "trident", "app_version": "26.06",
        "category": "heartbeat", "event_description": "up", "severity": "notice"}).status_code == 201
    policy = trident.post("protocols/nfs/export-policies", {"name": "trident_flow", "svm": {"uuid": svm["uuid"]}},
                          return_records="true").json()["records"][0]
    assert trident.post(f"protocols/nfs/export-policies/{policy['id']}/rules",
                        {"clients": [{"match": "127.0.0.1"}], "ro_rule": ["any"], "rw_rule": ["any"],
                         "superuser": ["any"], "protocols": ["nfs"]}).status_code == 201
    nas = trident.post("storage/volumes", {
        "name": "trident_pvc_nas", "svm": {"name": "svm_virt"}, "aggregates": [{"name": "aggr1"}], "size": GIB,
        "guarantee": {"type": "none"}, "snapshot_policy": {"name": "none"},
        "space": {"snapshot": {"reserve_percent": 0}},
        "nas": {"path": "/trident_pvc_nas", "export_policy": {"name": "trident_flow"}, "security_style": "unix",
                "unix_permissions": 777}, "style": "flexvol", "type": "rw", "encryption": {"enabled": False}})
    assert trident.job(nas)["state"] == "success"
    trident.job(trident.post("storage/volumes", {"name": "trident_pvc_san", "svm": {"name": "svm_virt"},
                                                 "aggregates": [{"name": "aggr2"}], "size": 2 * GIB}))
    lun = trident.post("storage/luns", {"name": "/vol/trident_pvc_san/lun0", "svm": {"name": "svm_virt"},
                                        "os_type": "linux", "space": {"size": GIB,
                                                                      "scsi_thin_provisioning_support_enabled": True}})
    lun_uuid = lun.headers["Location"].rsplit("/", 1)[1]
    assert trident.post(f"storage/luns/{lun_uuid}/attributes", {"name": "com.netapp.ndvp.fstype",
                                                                "value": "ext4"}).status_code == 201
    group = trident.post("protocols/san/igroups", {"name": "worker-0-trident", "svm": {"name": "svm_virt"},
                                                   "os_type": "linux", "protocol": "iscsi"}).headers["Location"]
    assert trident.post(f"{group[len('/api/'):]}/initiators",
                        {"records": [{"name": "iqn.1994-05.com.redhat:worker-0"}]}).status_code == 201
    assert trident.post("protocols/san/lun-maps", {"svm": {"name": "svm_virt"}, "lun": {"uuid": lun_uuid},
                                                   "igroup": {"name": "worker-0-trident"}}).status_code == 201
    igroup_uuid = group.rsplit("/", 1)[1]
    nodes = trident.records(f"protocols/san/lun-maps/{lun_uuid}/{igroup_uuid}/reporting-nodes")
    assert len(nodes) == 2
    target = trident.one("protocols/san/iscsi/services", **{"svm.uuid": svm["uuid"]}, fields="target")
    assert target["target"]["name"]
    lifs = trident.records("network/ip/interfaces", services="data_iscsi", fields="ip,state")
    assert {lif["state"] for lif in lifs} == {"up"} and len(lifs) == 2


# --- everything the stand-in says is ONTAP's vocabulary ----------------------------------------

def _leaves(obj, prefix=""):
    if isinstance(obj, dict):
        for key, value in obj.items():
            if key != "_links":
                yield from _leaves(value, f"{prefix}{key}.")
    elif isinstance(obj, list) and obj and isinstance(obj[0], dict):
        for item in obj:
            yield from _leaves(item, prefix)
    else:
        yield prefix[:-1]


def _collections(admin):
    """(resource, collection path) for every readable collection, nested ones under each parent."""
    built = resources.build()
    by_segments = {r.segments: r for r in built}
    for resource in built:
        if not resource.readable:
            continue
        if not resource.parent_keys:
            yield resource, "/".join(resource.segments)
            continue
        cut = next(i for i, s in enumerate(resource.segments) if s.startswith("{"))
        parent = by_segments[resource.segments[:cut]]
        for record in admin.records("/".join(parent.segments), fields="**"):
            values = iter(str(schema_value(record, key)) for key in parent.own_keys)
            yield resource, "/".join(next(values) if s.startswith("{") else s for s in resource.segments)


def schema_value(record, dotted):
    for part in dotted.split("."):
        record = record[part]
    return record


def test_every_record_fits_ontap_schema(admin):
    """Records load into netapp_ontap's generated models (types) and name only readable fields."""
    volume = make_volume(admin, "schema_vol")
    lun = make_lun(admin, "schema_vol", "lun0")
    assert admin.post(f"storage/luns/{lun['uuid']}/attributes", {"name": "context", "value": "csi"}).ok
    assert admin.post(f"storage/volumes/{volume['uuid']}/snapshots", {"name": "s1"}, return_timeout=30).ok
    assert admin.post("protocols/san/igroups", {"name": "schema_ig", "svm": {"name": "svm_virt"}, "os_type": "linux",
                                                "initiators": [{"name": "iqn.1994-05.com.redhat:x"}]}).ok
    assert admin.post("protocols/san/lun-maps", {"svm": {"name": "svm_virt"}, "lun": {"name": "/vol/schema_vol/lun0"},
                                                 "igroup": {"name": "schema_ig"}}).ok
    assert admin.post("storage/namespaces", {"name": "/vol/schema_vol/ns0", "svm": {"name": "svm_virt"},
                                             "os_type": "linux", "space": {"size": GIB}}).ok
    assert admin.post("protocols/nvme/subsystems", {"name": "schema_sub", "svm": {"name": "svm_virt"},
                                                    "os_type": "linux",
                                                    "hosts": [{"nqn": "nqn.2014-08.org.nvmexpress:uuid:1"}]}).ok
    assert admin.post("protocols/nvme/subsystem-maps", {"svm": {"name": "svm_virt"},
                                                        "subsystem": {"name": "schema_sub"},
                                                        "namespace": {"name": "/vol/schema_vol/ns0"}}).ok
    assert admin.post("protocols/nfs/export-policies", {"name": "schema_policy", "svm": {"name": "svm_virt"}, "rules": [
        {"clients": [{"match": "0.0.0.0/0"}], "ro_rule": ["any"], "rw_rule": ["any"]}]}).ok
    checked = set()
    for resource, path in _collections(admin):
        body = admin.get(path, fields="**").json()
        model = getattr(importlib.import_module(resource.ontap.__module__), resource.ontap.__name__)
        for record in body.get("records", [body]):
            for leaf in _leaves(record):
                assert schema.readable(resource.schema, leaf) == "ok", (path, leaf)
            if hasattr(model, "from_dict"):
                model.from_dict(record)
            checked.add(resource.table)
    assert {"lun_attributes", "lun_map_reporting_nodes", "igroup_initiators", "export_rules", "snapshots",
            "nvme_subsystem_hosts", "role_privileges", "nvme_subsystem_maps", "jobs"} <= checked

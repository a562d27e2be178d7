"""How the lab runs the stand-in: the CLI, endpoint.json, the seed, restarts, loopback only."""

import ipaddress
import json
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from ontap_clients import Rest

from lab.ontap import OntapServer, running, tls

TESTS = Path(__file__).resolve().parents[3]  # tests/, home of `lab`


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_cli_serves_and_publishes_endpoint_json(tmp_path):
    port = _free_port()
    with running(tmp_path, in_subprocess=True, listen=f"127.0.0.1:{port}") as endpoint:
        assert json.loads((tmp_path / "endpoint.json").read_text()) == endpoint
        assert endpoint["url"] == f"https://127.0.0.1:{port}"
        assert (endpoint["hostname"], endpoint["http_port"]) == ("127.0.0.1", port)
        assert endpoint["management_lif"] == f"127.0.0.1:{port}"
        assert endpoint["cluster_admin"]["username"] == "admin"
        assert endpoint["svm_admin"] == {"username": "vsadmin", "password": endpoint["svm_admin"]["password"],
                                         "svm": "svm_virt"}
        assert set(endpoint["svms"]) == {"svm_virt", "svm_nas"}
        assert set(endpoint["data_lifs"]) == {"nfs", "iscsi", "nvme_tcp"}
        addresses = [a for svm in endpoint["svms"].values() for lifs in svm["data_lifs"].values() for a in lifs]
        assert len(addresses) == 8 and all(ipaddress.ip_address(a).is_loopback for a in addresses)
        assert Rest(endpoint).get("cluster").json()["name"] == "ontap-lab"  # verified against ca_cert
    assert not (tmp_path / "endpoint.json").exists()


def test_refuses_to_listen_beyond_loopback(tmp_path):
    for address in ("0.0.0.0:0", "10.1.2.3:8443"):
        with pytest.raises(ValueError, match="loopback"):
            OntapServer(tmp_path, address)
    cli = subprocess.run([sys.executable, "-m", "lab.ontap", "serve", "--state-dir", str(tmp_path),
                          "--listen", "0.0.0.0:0"], cwd=TESTS, capture_output=True, text=True, timeout=60)
    assert cli.returncode == 2 and "loopback" in cli.stderr


def test_given_certificate_is_served(tmp_path):
    ca, cert, key = tls.ensure_certificates(tmp_path)
    server = OntapServer(tmp_path / "state", tls_cert=cert, tls_key=key, tls_ca=ca)
    endpoint = server.start()
    try:
        assert endpoint["ca_cert"] == str(ca)
        assert Rest(endpoint).get("cluster").status_code == 200
    finally:
        server.stop()


def test_seed_is_a_two_node_cluster_with_two_svms(ontap, admin):
    nodes = admin.records("cluster/nodes", fields="ha,state")
    assert sorted(n["name"] for n in nodes) == ["ontap-lab-01", "ontap-lab-02"]
    assert all(n["state"] == "up" and len(n["ha"]["partners"]) == 1 for n in nodes)
    aggregates = admin.records("storage/aggregates", fields="node,space")
    assert {a["name"]: a["node"]["name"] for a in aggregates} == {"aggr1": "ontap-lab-01", "aggr2": "ontap-lab-02"}
    virt = admin.one("svm/svms", name="svm_virt", fields="nfs,iscsi,nvme,fcp")
    assert all(virt[p]["allowed"] and virt[p]["enabled"] for p in ("nfs", "iscsi", "nvme"))
    assert not virt["fcp"]["allowed"]
    nas = admin.one("svm/svms", name="svm_nas", fields="nfs,iscsi,nvme")
    assert nas["nfs"]["enabled"] and not nas["iscsi"]["allowed"] and not nas["nvme"]["allowed"]
    for service in ("protocols/nfs/services", "protocols/san/iscsi/services", "protocols/nvme/services"):
        assert admin.one(service, **{"svm.name": "svm_virt"}, fields="enabled")["enabled"]
    policies = admin.records("protocols/nfs/export-policies", name="default", fields="svm")
    assert sorted(p["svm"]["name"] for p in policies) == ["svm_nas", "svm_virt"]
    lifs = admin.records("network/ip/interfaces", **{"svm.name": "svm_virt"}, fields="services,location,ip")
    assert {lif["location"]["home_node"]["name"] for lif in lifs} == {"ontap-lab-01", "ontap-lab-02"}
    accounts = {(a["name"], a["owner"]["name"], a["role"]["name"])
                for a in admin.records("security/accounts", fields="owner,role")}
    assert {("admin", "ontap-lab", "admin"), ("vsadmin", "svm_virt", "vsadmin"),
            ("trident", "svm_virt", "trident")} <= accounts


def test_state_survives_a_restart(tmp_path):
    with running(tmp_path) as endpoint:
        admin = Rest(endpoint)
        created = admin.post("storage/volumes", {"name": "kept", "svm": {"name": "svm_virt"},
                                                 "aggregates": [{"name": "aggr1"}], "size": 1024 ** 3})
        job_uuid = created.json()["job"]["uuid"]
        volume = admin.one("storage/volumes", name="kept")
        assert admin.post(f"storage/volumes/{volume['uuid']}/snapshots", {"name": "kept_snap"},
                          return_timeout=30).status_code == 201
        assert admin.post("security/accounts", {"name": "kept_user", "owner": {"name": "svm_virt"},
                                                "role": {"name": "vsadmin"}, "password": "Kept-pass-1",
                                                "applications": [{"application": "http",
                                                                  "authentication_methods": ["password"]}]}).ok
    with running(tmp_path) as again:
        assert again["cluster_admin"] == endpoint["cluster_admin"]
        admin = Rest(again)
        assert admin.one("storage/volumes", name="kept")["uuid"] == volume["uuid"]
        assert admin.one(f"storage/volumes/{volume['uuid']}/snapshots", name="kept_snap")
        assert admin.get(f"cluster/jobs/{job_uuid}").json()["state"] == "success"
        kept_user = Rest({**again, "kept": {"username": "kept_user", "password": "Kept-pass-1"}}, "kept")
        assert [s["name"] for s in kept_user.records("svm/svms")] == ["svm_virt"]


def test_concurrent_writers_all_land(tmp_path):
    with running(tmp_path) as endpoint:
        admin = Rest(endpoint)
        results = []

        def create(index: int):
            results.append(admin.post("storage/volumes", {"name": f"par_{index}", "svm": {"name": "svm_virt"},
                                                          "aggregates": [{"name": "aggr1"}], "size": 1024 ** 3},
                                      return_timeout=30).status_code)

        threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results == [201] * 12
        assert len(admin.records("storage/volumes", name="par_*")) == 12
        saved = json.loads((tmp_path / "state.json").read_text())
        assert len([v for v in saved["tables"]["volumes"] if v["name"].startswith("par_")]) == 12

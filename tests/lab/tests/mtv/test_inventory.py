"""The inventory REST service, served from vcsim's data (pkg/controller/provider/web at v2.12.5), with
VM concerns as the rego rules compute them (validation/policies/io/konveyor/forklift/vmware/*.rego)."""

import json
import ssl
import urllib.error
import urllib.request
import uuid

import pytest

from mtv_helpers import PROVIDER, wait_for


@pytest.fixture(scope="module")
def source(kube, lab, mtv, core_v1, good_credentials):
    """A Ready vSphere provider in a namespace of its own, and a service account allowed to get it."""
    namespace = f"test-inv-{uuid.uuid4().hex[:6]}"
    core_v1.create_namespace({"metadata": {"name": namespace}})
    core_v1.create_namespaced_secret(namespace, {"metadata": {"name": "vcenter"}, "stringData": good_credentials})
    provider = kube.create({"apiVersion": PROVIDER[0], "kind": PROVIDER[1],
                            "metadata": {"name": "vcenter", "namespace": namespace},
                            "spec": {"type": "vsphere", "url": lab.vars["vcsim_url"],
                                     "secret": {"name": "vcenter", "namespace": namespace}}})
    core_v1.create_namespaced_service_account(namespace, {"metadata": {"name": "reader"}})
    kube.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": {"name": "providers", "namespace": namespace},
                 "rules": [{"apiGroups": ["forklift.konveyor.io"], "resources": ["providers"],
                            "verbs": ["get", "list"]}]})
    kube.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": "providers", "namespace": namespace},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "providers"},
                 "subjects": [{"kind": "ServiceAccount", "name": "reader", "namespace": namespace}]})
    token = core_v1.create_namespaced_service_account_token(
        "reader", namespace, {"spec": {"expirationSeconds": 3600}}).status.token
    yield {"provider": provider, "uid": provider["metadata"]["uid"], "token": token, "namespace": namespace}
    core_v1.delete_namespace(namespace)


def get(lab, path: str, token: str = None):
    """(status, headers, JSON body or None) of GET <inventory>/<path>."""
    request = urllib.request.Request(lab.vars["forklift_inventory_url"] + path)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    context = ssl.create_default_context(cafile=lab.vars["ca_cert"])
    try:
        with urllib.request.urlopen(request, context=context, timeout=30) as response:
            body = response.read()
            return response.status, response.headers, json.loads(body) if body else None
    except urllib.error.HTTPError as error:
        return error.code, error.headers, None


def loaded(lab, source, path: str):
    """The body once the collector has parity (206 until then, as upstream)."""
    def ready():
        status, _, body = get(lab, path, source["token"])
        return body if status == 200 else None
    return wait_for(ready, f"{path} to be served")


def vm(lab, source, name: str) -> dict:
    found = loaded(lab, source, f"/providers/vsphere/{source['uid']}/vms?name={name}")
    assert len(found) == 1, found
    return found[0]


def concern_ids(document: dict) -> set:
    return {c["id"] for c in document["concerns"]}


def test_requests_need_a_token_allowed_to_get_the_provider(lab, source, core_v1):
    """web/base/auth.go Permit (v2.12.5): no bearer token 401; a token whose user may not get the Provider
    403; handler.go setProvider: an unknown provider UID is 404 with X-Reason ProviderNotFound."""
    loaded(lab, source, f"/providers/vsphere/{source['uid']}")
    assert get(lab, f"/providers/vsphere/{source['uid']}/vms")[0] == 401
    assert get(lab, f"/providers/vsphere/{source['uid']}/vms", "not-a-token")[0] == 401
    core_v1.create_namespaced_service_account(source["namespace"], {"metadata": {"name": "nobody"}})
    nobody = core_v1.create_namespaced_service_account_token(
        "nobody", source["namespace"], {"spec": {"expirationSeconds": 600}}).status.token
    assert get(lab, f"/providers/vsphere/{source['uid']}/vms", nobody)[0] == 403
    assert get(lab, f"/providers/vsphere/{source['uid']}/vms", source["token"])[0] == 200
    status, headers, _ = get(lab, f"/providers/vsphere/{uuid.uuid4()}/vms", source["token"])
    assert (status, headers["X-Reason"]) == (404, "ProviderNotFound")


def test_the_provider_record_counts_what_vcsim_holds(lab, source, vsphere_inventory):
    """web/vsphere/provider.go Provider (v2.12.5): type, the CR, product, counts."""
    record = loaded(lab, source, f"/providers/vsphere/{source['uid']}")
    assert record["uid"] == source["uid"] and record["object"]["metadata"]["name"] == "vcenter"
    assert record["product"].startswith("VMware vCenter Server")
    assert record["vmCount"] == len(vsphere_inventory.objects["vms"])
    assert record["hostCount"] == len(vsphere_inventory.objects["hosts"])


def test_vms_by_name_and_by_id(lab, source):
    """web/vsphere/vm.go List (?name= compares the last path segment) and Get by moRef (v2.12.5)."""
    postgres = vm(lab, source, "rhel9-postgres")
    assert (postgres["cpuCount"], postgres["memoryMB"]) == (2, 20480)
    assert [d["capacity"] for d in postgres["disks"]] == [20 * 1024 ** 3]
    by_id = loaded(lab, source, f"/providers/vsphere/{source['uid']}/vms/{postgres['id']}")
    assert by_id["name"] == "rhel9-postgres" and by_id["uuid"] == postgres["uuid"]
    assert get(lab, f"/providers/vsphere/{source['uid']}/vms/vm-does-not-exist", source["token"])[0] == 404


def test_a_healthy_vm_has_no_warnings(lab, source):
    """The rego rules (v2.12.5) flag nothing on a VM with CBT on for the VM and its disks, tools running,
    a guest IP and host name, a supported OS and a DNS-1123 name."""
    healthy = vm(lab, source, "rhel9-postgres")
    assert healthy["changeTrackingEnabled"] is True and all(d["changeTrackingEnabled"] for d in healthy["disks"])
    assert healthy["concerns"] == []


@pytest.mark.parametrize("name,concern,category", [
    ("cbt-off", "vmware.changed_block_tracking.disabled", "Warning"),  # changed_block_tracking.rego
    ("cbt-off", "vmware.changed_block_tracking.disk.disabled", "Warning"),  # changed_block_tracking_per_disk.rego
    ("with-snapshot", "vmware.snapshot.detected", "Information"),  # snapshot.rego
    ("Legacy_App01", "vmware.vm.name.invalid", "Warning"),  # name.rego
    ("independent-disk", "vmware.disk_mode.independent", "Warning"),  # disk_mode.rego
    ("rdm-disk", "vmware.disk.rdm.detected", "Warning"),  # rdm_disk.rego
    ("shared-disk", "vmware.disk.shared.detected", "Warning"),  # shared_disk.rego
    ("usb-controller", "vmware.usb_controller.detected", "Warning"),  # usb_controller.rego
    ("pci-passthrough", "vmware.passthrough_device.detected", "Critical"),  # passthrough_device.rego
    ("tools-not-running", "vmware.vm_missing_ip.detected", "Warning"),  # ip_state.rego
    ("DC0_H0_VM0", "vmware.os.unsupported", "Warning"),  # vm_os.rego: vcsim's otherGuest
])
def test_each_concern_vm_gets_its_rules_concern(lab, source, name, concern, category):
    """validation/policies/io/konveyor/forklift/vmware/<rule>.rego (v2.12.5): the concern's id and category."""
    document = vm(lab, source, name)
    found = {c["id"]: c["category"] for c in document["concerns"]}
    assert found.get(concern) == category, document["concerns"]


def test_networks_datastores_and_hosts(lab, source):
    """web/vsphere/{network,datastore,host}.go (v2.12.5): port groups with variant and VLAN, datastores with
    type and NAS remote, hosts with their cluster; lookup by name."""
    base = f"/providers/vsphere/{source['uid']}"
    dvpg = loaded(lab, source, f"{base}/networks?name=DC0_DVPG1")
    assert [(n["variant"], n["vlanId"]) for n in dvpg] == [("DvPortGroup", "100")]
    nfs = loaded(lab, source, f"{base}/datastores?name=nfs_ds1")
    assert [(d["type"], d["nasRemoteHost"], d["nasRemotePath"]) for d in nfs] == [("NFS", "127.0.0.1", "/vmware_nfs")]
    hosts = loaded(lab, source, f"{base}/hosts")
    clusters = {c["id"]: c["name"] for c in loaded(lab, source, f"{base}/clusters")}
    assert sorted(h["name"] for h in hosts if clusters.get(h["cluster"]) == "DC0_C1") == ["DC0_C1_H0", "DC0_C1_H1"]
    web = vm(lab, source, "rhel9-web")
    assert {n["id"] for n in web["networks"]} <= {n["id"] for n in loaded(lab, source, f"{base}/networks")}

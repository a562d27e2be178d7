"""The upstream CRDs are installed unchanged, Established, and served."""

import pytest

from lab import seed
from lab.rest import request


def test_every_shared_crd_is_established(api_client):
    wanted = seed.crd_documents()
    listed = request(api_client, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
    established = {
        crd["metadata"]["name"] for crd in listed["items"]
        if any(c["type"] == "Established" and c["status"] == "True"
               for c in crd["status"]["conditions"])
    }
    assert wanted.keys() - established == set()


def test_crds_are_stored_as_written(api_client):
    # Unchanged install: the served spec keeps every version and schema of the file.
    wanted = seed.crd_documents()["virtualmachines.kubevirt.io"]
    served = request(api_client, "GET",
                     "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/"
                     "virtualmachines.kubevirt.io")
    assert [v["name"] for v in served["spec"]["versions"]] == \
        [v["name"] for v in wanted["spec"]["versions"]]
    assert served["spec"]["versions"][0]["schema"] == wanted["spec"]["versions"][0]["schema"]


@pytest.mark.parametrize("group_version, resource", [
    ("kubevirt.io/v1", "virtualmachines"),
    ("cdi.kubevirt.io/v1beta1", "datavolumes"),
    ("forklift.konveyor.io/v1beta1", "plans"),
    ("trident.netapp.io/v1", "tridentbackendconfigs"),
    ("snapshot.storage.k8s.io/v1", "volumesnapshots"),
    ("hco.kubevirt.io/v1beta1", "hyperconvergeds"),
    ("operators.coreos.com/v1alpha1", "subscriptions"),
])
def test_resource_is_served(api_client, group_version, resource):
    discovery = request(api_client, "GET", f"/apis/{group_version}")
    assert resource in {r["name"] for r in discovery["resources"]}

"""What the seed puts in the cluster: an OpenShift 4.21 bare-metal cluster's own objects."""

from kubernetes import client

from lab import seed


def test_namespaces_exist(core_v1):
    names = {ns.metadata.name for ns in core_v1.list_namespace().items}
    assert set(seed.NAMESPACES) <= names


def test_three_ready_workers_and_three_tainted_masters(core_v1):
    nodes = core_v1.list_node().items
    workers = [n for n in nodes if "node-role.kubernetes.io/worker" in n.metadata.labels]
    masters = [n for n in nodes if "node-role.kubernetes.io/control-plane" in n.metadata.labels]
    assert len(workers) == 3 and len(masters) == 3
    for node in nodes:
        ready = {c.type: c.status for c in node.status.conditions}["Ready"]
        assert ready == "True", node.metadata.name
        assert node.metadata.labels["node.openshift.io/os_id"] == "rhcos"
        assert node.metadata.labels["kubernetes.io/os"] == "linux"
        assert int(node.status.capacity["cpu"]) > 0
    assert all(w.metadata.labels["kubevirt.io/schedulable"] == "true" for w in workers)
    assert all(not w.spec.taints for w in workers)
    for master in masters:
        assert [(t.key, t.effect) for t in master.spec.taints] == \
            [("node-role.kubernetes.io/master", "NoSchedule")]


def test_trident_csi_driver(api_client):
    driver = client.StorageV1Api(api_client).read_csi_driver("csi.trident.netapp.io")
    assert driver.spec.attach_required is True
    assert driver.spec.fs_group_policy == "ReadWriteOnceWithFSType"  # the server's default


def test_cluster_version_and_infrastructure(custom_objects):
    version = custom_objects.get_cluster_custom_object(
        "config.openshift.io", "v1", "clusterversions", "version")
    assert version["status"]["desired"]["version"].startswith("4.21.")
    assert [h["state"] for h in version["status"]["history"]] == ["Completed"]
    infrastructure = custom_objects.get_cluster_custom_object(
        "config.openshift.io", "v1", "infrastructures", "cluster")
    status = infrastructure["status"]
    assert status["platform"] == status["platformStatus"]["type"] == "BareMetal"
    assert status["controlPlaneTopology"] == "HighlyAvailable"

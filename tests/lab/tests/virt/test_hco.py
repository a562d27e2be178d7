"""The HyperConverged: operands, boot sources on ONTAP, refusals, spec handed to the operands."""

import pytest
from kubernetes.client.exceptions import ApiException

from virt_helpers import (CDI, CNV, CSV, DATA_SOURCE, DIC, HC, KUBEVIRT, NODE, OS_IMAGES, STORAGE_CLASS,
                          VOLUME_SNAPSHOT, condition, message, operator_group, subscribe, unique, wait_csv, wait_for)

HCO_NAME = "kubevirt-hyperconverged"


def hco(kube) -> dict:
    return kube.get(*HC, HCO_NAME, CNV)


def test_available_with_operands_and_version(stack, kube):
    hc = hco(kube)
    conditions = {c["type"]: c["status"] for c in hc["status"]["conditions"]}
    assert conditions == {"ReconcileComplete": "True", "Available": "True", "Progressing": "False",
                          "Degraded": "False", "Upgradeable": "True"}
    csv = kube.get(*CSV, stack.csv, CNV)
    assert hc["status"]["versions"] == [{"name": "operator", "version": csv["spec"]["version"]}]
    assert hc["status"]["systemHealthStatus"] == "healthy"
    assert hc["status"]["infrastructureHighlyAvailable"] is True
    assert "kubevirt.io/hyperconverged" in hc["metadata"]["finalizers"]
    assert hc["spec"]["evictionStrategy"] == "LiveMigrate"  # defaulted by HCO on a multi-node cluster
    kv = kube.get(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV)
    assert kv["status"]["phase"] == "Deployed" and condition(kv, "Available")["status"] == "True"
    assert kv["status"]["observedKubeVirtVersion"] == "v1.8.4"
    assert kv["metadata"]["ownerReferences"][0]["kind"] == "HyperConverged"
    assert kv["spec"]["configuration"]["evictionStrategy"] == "LiveMigrate"
    cdi = kube.get(*CDI, "cdi-kubevirt-hyperconverged")
    assert cdi["status"]["phase"] == "Deployed"
    related = {(r["kind"], r["name"]) for r in hc["status"]["relatedObjects"]}
    assert ("KubeVirt", "kubevirt-kubevirt-hyperconverged") in related and ("CDI", "cdi-kubevirt-hyperconverged") \
        in related


def test_common_instancetypes_and_preferences(stack, kube):
    instancetypes = {i["metadata"]["name"]: i for i in
                     kube.list("instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterInstancetype")}
    for name, cpu, memory in (("u1.small", 1, "2Gi"), ("u1.medium", 1, "4Gi"), ("u1.large", 2, "8Gi")):
        assert instancetypes[name]["spec"] == {"cpu": {"guest": cpu}, "memory": {"guest": memory}}
    preferences = {p["metadata"]["name"] for p in
                   kube.list("instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterPreference")}
    assert {"centos.stream9", "rhel.9", "fedora", "rhel.10", "windows.2k22"} <= preferences


def test_boot_sources_are_ready_on_an_ontap_class(stack, kube):
    hc = hco(kube)
    templates = {t["metadata"]["name"]: t for t in hc["status"]["dataImportCronTemplates"]}
    assert {"rhel9-image-cron", "centos-stream9-image-cron", "fedora-image-cron"} <= set(templates)
    assert all(t["status"]["commonTemplate"] for t in templates.values())
    boot_class = kube.get(*STORAGE_CLASS, stack.boot_class)
    assert boot_class["provisioner"] == "csi.trident.netapp.io"
    for name in ("rhel9", "centos-stream9", "fedora"):
        source = kube.get(*DATA_SOURCE, name, OS_IMAGES)
        assert condition(source, "Ready")["status"] == "True", source
        cron = kube.wait(*DIC, f"{name}-image-cron", OS_IMAGES,
                         lambda c: condition(c, "UpToDate").get("status") == "True", "to be up to date")
        assert cron["spec"]["managedDataSource"] == name
        # ONTAP classes keep boot sources as VolumeSnapshots of the imported volume.
        snapshot_ref = source["spec"]["source"]["snapshot"]
        snapshot = kube.get(*VOLUME_SNAPSHOT, snapshot_ref["name"], OS_IMAGES)
        assert snapshot["status"]["readyToUse"] is True
        content = kube.get("snapshot.storage.k8s.io/v1", "VolumeSnapshotContent",
                           snapshot["status"]["boundVolumeSnapshotContentName"])
        assert content["spec"]["driver"] == "csi.trident.netapp.io"


def test_a_hyperconverged_with_another_name_is_refused_by_the_api_server(stack, kube):
    with pytest.raises(ApiException) as refused:
        kube.create({"apiVersion": HC[0], "kind": "HyperConverged",
                     "metadata": {"name": "hyperconverged", "namespace": CNV}, "spec": {}})
    assert refused.value.status == 422
    assert "metadata.name: Invalid value: \"hyperconverged\": metadata.name in body should match " \
           "'kubevirt-hyperconverged'" in message(refused.value)


def test_a_hyperconverged_outside_the_operator_namespace_is_refused_by_the_hco_webhook(kube, core_v1):
    # HCO installed in one namespace, watching another (SingleNamespace): its webhook sees the
    # watched namespace and sends the HyperConverged home, as upstream's validator does.
    home, watched = unique("cnv-home"), unique("cnv-watched")
    for name in (home, watched):
        core_v1.create_namespace({"metadata": {"name": name}})
    try:
        operator_group(kube, home, [watched])
        subscribe(kube, home)
        wait_csv(kube, home, "kubevirt-hyperconverged-operator.v4.21.3")

        def refused():
            try:
                kube.create({"apiVersion": HC[0], "kind": "HyperConverged",
                             "metadata": {"name": HCO_NAME, "namespace": watched}, "spec": {}})
            except ApiException as error:
                return error
            kube.delete(*HC, HCO_NAME, watched)  # the webhook configuration was not in place yet
            return None
        error = wait_for(refused, "the HCO webhook to answer")
        assert error.status == 403
        assert message(error) == ('admission webhook "validate-hco.kubevirt.io" denied the request: invalid '
                                  f"namespace for v1beta1.HyperConverged - please use the {home} namespace")
    finally:
        for name in (home, watched):
            core_v1.delete_namespace(name)


def test_spec_is_handed_to_kubevirt_and_cdi(stack, kube):
    patch = {"spec": {"featureGates": {"downwardMetrics": True},
                      "liveMigrationConfig": {"parallelMigrationsPerCluster": 3, "bandwidthPerMigration": "512Mi",
                                              "completionTimeoutPerGiB": 300},
                      "storageImport": {"insecureRegistries": ["registry.lab.example:5000"]}}}
    original = hco(kube)["spec"]
    kube.patch(*HC, HCO_NAME, CNV, patch)
    try:
        kv = kube.wait(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV,
                       lambda k: k["spec"]["configuration"]["migrations"].get("bandwidthPerMigration") == "512Mi",
                       "to take the migration configuration")
        migrations = kv["spec"]["configuration"]["migrations"]
        assert migrations["parallelMigrationsPerCluster"] == 3 and migrations["completionTimeoutPerGiB"] == 300
        assert "DownwardMetrics" in kv["spec"]["configuration"]["developerConfiguration"]["featureGates"]
        cdi = kube.wait(*CDI, "cdi-kubevirt-hyperconverged", None,
                        lambda c: (c["spec"].get("config") or {}).get("insecureRegistries"), "to take the registries")
        assert cdi["spec"]["config"]["insecureRegistries"] == ["registry.lab.example:5000"]
    finally:
        kube.patch(*HC, HCO_NAME, CNV, {"spec": {
            "featureGates": {"downwardMetrics": original["featureGates"].get("downwardMetrics", False)},
            "liveMigrationConfig": {"parallelMigrationsPerCluster": original["liveMigrationConfig"][
                "parallelMigrationsPerCluster"], "bandwidthPerMigration": None,
                "completionTimeoutPerGiB": original["liveMigrationConfig"]["completionTimeoutPerGiB"]},
            "storageImport": original.get("storageImport") or None}})
        kube.wait(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV,
                  lambda k: k["spec"]["configuration"]["migrations"].get("parallelMigrationsPerCluster") ==
                  original["liveMigrationConfig"]["parallelMigrationsPerCluster"], "to be restored")


def test_workloads_placement_decides_where_virt_handler_runs(stack, kube):
    kube.patch(*HC, HCO_NAME, CNV, {"spec": {"workloads": {"nodePlacement": {
        "nodeSelector": {"kubernetes.io/hostname": "worker-1"}}}}})
    try:
        expected = {f"{role}-{i}": "true" if (role, i) == ("worker", 1) else "false"
                    for role in ("master", "worker") for i in range(3)}

        def labelled():  # virt-operator relabels the nodes one after the other
            return {n["metadata"]["name"]: n["metadata"]["labels"].get("kubevirt.io/schedulable")
                    for n in kube.list(*NODE)} == expected
        wait_for(labelled, "virt-handler to run on worker-1 only")
    finally:
        kube.patch(*HC, HCO_NAME, CNV, {"spec": {"workloads": None}})
        wait_for(lambda: all(kube.get(*NODE, f"worker-{i}")["metadata"]["labels"].get("kubevirt.io/schedulable")
                             == "true" for i in range(3)), "virt-handler back on every worker")


def test_disabling_common_boot_images_removes_them(stack, kube):
    kube.patch(*HC, HCO_NAME, CNV, {"spec": {"enableCommonBootImageImport": False}})
    try:
        wait_for(lambda: kube.get(*DIC, "rhel9-image-cron", OS_IMAGES) is None, "the rhel9 cron to go")
        assert hco(kube)["status"]["dataImportCronTemplates"] in (None, [])
    finally:
        kube.patch(*HC, HCO_NAME, CNV, {"spec": {"enableCommonBootImageImport": True}})
    wait_for(lambda: condition(kube.get(*DATA_SOURCE, "rhel9", OS_IMAGES) or {}, "Ready").get("status") == "True",
             "the rhel9 boot source to be back", timeout=180)

"""The HyperConverged: operands, boot sources on ONTAP, refusals, spec handed to the operands."""

import json
from pathlib import Path

import pytest
from kubernetes.client.exceptions import ApiException

from virt_helpers import (CDI, CNV, CSV, DATA_SOURCE, DIC, HC, KUBEVIRT, NODE, OS_IMAGES, STORAGE_CLASS,
                          VOLUME_SNAPSHOT, condition, message, wait_for)

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


POLICY = ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicy")
POLICY_BINDING = ("admissionregistration.k8s.io/v1", "ValidatingAdmissionPolicyBinding")


def test_the_namespace_rule_is_hcos_validating_admission_policy(stack, kube, namespace):
    # HCO v1.18.1 controllers/admissionpolicy/resources.go: the webhook's namespace check is gone; the
    # operator keeps a ValidatingAdmissionPolicy and its binding, owned by the HyperConverged CRD, and the
    # API server itself refuses a HyperConverged created outside the operator's namespace.
    policy = kube.get(*POLICY, "hyperconverged-namespace-policy")
    assert policy["spec"]["validations"] == [{
        "expression": f"request.namespace == '{CNV}'",
        "message": f"HyperConverged CR can only be created in the '{CNV}' namespace."}]
    rule = policy["spec"]["matchConstraints"]["resourceRules"][0]
    assert (rule["apiGroups"], rule["apiVersions"], rule["resources"], rule["operations"], rule["scope"]) == (
        ["hco.kubevirt.io"], ["v1", "v1beta1"], ["hyperconvergeds"], ["CREATE"], "Namespaced")
    assert policy["spec"]["failurePolicy"] == "Fail"
    owner = policy["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["controller"]) == (
        "CustomResourceDefinition", "hyperconvergeds.hco.kubevirt.io", True)
    assert policy["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "hco-operator"
    binding = kube.get(*POLICY_BINDING, "hyperconverged-namespace-policy-binding")
    assert binding["spec"]["policyName"] == "hyperconverged-namespace-policy"
    assert binding["spec"]["validationActions"] == ["Deny"]

    def refused():
        try:
            kube.create({"apiVersion": HC[0], "kind": "HyperConverged",
                         "metadata": {"name": HCO_NAME, "namespace": namespace}, "spec": {}})
        except ApiException as error:
            return error
        kube.delete(*HC, HCO_NAME, namespace)  # the API server had not loaded the policy yet
        return None
    error = wait_for(refused, "the API server to enforce the policy")
    assert error.status == 422
    assert message(error) == (
        f'hyperconvergeds.hco.kubevirt.io "{HCO_NAME}" is forbidden: ValidatingAdmissionPolicy '
        "'hyperconverged-namespace-policy' with binding 'hyperconverged-namespace-policy-binding' denied "
        f"request: HyperConverged CR can only be created in the '{CNV}' namespace.")
    # Taken away, the operator puts it back.
    kube.delete(*POLICY_BINDING, "hyperconverged-namespace-policy-binding")
    kube.wait(*POLICY_BINDING, "hyperconverged-namespace-policy-binding", None, lambda b: True, "to be back")


def _dry_run_create(kube, spec: dict, name: str = HCO_NAME) -> dict:
    return kube.resource(*HC).create(body={"apiVersion": HC[0], "kind": "HyperConverged",
                                           "metadata": {"name": name, "namespace": CNV}, "spec": spec},
                                     namespace=CNV, dry_run="All").to_dict()


@pytest.mark.parametrize("spec,expected", [
    ({"certConfig": {"ca": {"duration": "9m", "renewBefore": "10m"}}},
     "spec.certConfig.ca.duration: value is too small"),
    ({"certConfig": {"server": {"duration": "72h", "renewBefore": "12h"}}},
     "spec.certConfig: ca.duration is smaller than server.duration"),
    ({"dataImportCronTemplates": [{"metadata": {"name": "x", "annotations": {
        "dataimportcrontemplate.kubevirt.io/enable": "yes"}}, "spec": {
            "managedDataSource": "x", "schedule": "0 */12 * * *",
            "template": {"spec": {"source": {"registry": {"url": "docker://quay.io/containerdisks/x"}}}}}}]},
     'the dataimportcrontemplate.kubevirt.io/enable annotation of a dataImportCronTemplate must be either "true" '
     'or "false"'),
    ({"tlsSecurityProfile": {"type": "Custom", "custom": {"minTLSVersion": "VersionTLS13",
                                                          "ciphers": ["ECDHE-RSA-AES128-GCM-SHA256"]}}},
     "custom ciphers cannot be selected when minTLSVersion is VersionTLS13"),
    ({"tuningPolicy": "annotation"}, "tuning policy set but annotation not present or wrong"),
])
def test_create_validation_refuses_what_hco_cannot_build(stack, kube, spec, expected):
    # v1beta1_validator.go ValidateCreate: certConfig, dataImportCronTemplates, TLS profile, then the operands
    # are built (handlers.NewKubeVirt: the tuning policy needs its annotation). Admission runs before the
    # store, so a dry-run create in the operator's namespace meets the webhook before the name clash.
    with pytest.raises(ApiException) as refused:
        _dry_run_create(kube, spec)
    assert refused.value.status == 403
    assert message(refused.value) == f'admission webhook "validate-hco.kubevirt.io" denied the request: {expected}'


def test_update_dry_runs_the_operands(stack, kube, lab):
    # v1beta1_validator.go ValidateUpdate -> dryRunUpdateComponents: each operand is read, given the spec HCO
    # would give it, and updated with dryRun=All before the HyperConverged update is admitted.
    log = Path(lab.audit_log)
    mark = log.stat().st_size
    original = hco(kube)["spec"]["liveMigrationConfig"]["parallelOutboundMigrationsPerNode"]
    kube.patch(*HC, HCO_NAME, CNV, {"spec": {"liveMigrationConfig": {"parallelOutboundMigrationsPerNode": 3}}})
    try:
        with open(log, "rb") as audit:
            audit.seek(mark)
            entries = [json.loads(line) for line in audit if line.strip()]
        dry_runs = {(e["verb"], e["objectRef"]["resource"], e["objectRef"]["name"]) for e in entries
                    if "dryRun=All" in e.get("requestURI", "") and e.get("stage") == "ResponseComplete"}
        assert ("update", "kubevirts", "kubevirt-kubevirt-hyperconverged") in dry_runs, dry_runs
        assert ("update", "cdis", "cdi-kubevirt-hyperconverged") in dry_runs, dry_runs
    finally:
        kube.patch(*HC, HCO_NAME, CNV, {"spec": {"liveMigrationConfig": {
            "parallelOutboundMigrationsPerNode": original}}})


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

"""HCO's operands: what it makes of a HyperConverged (KubeVirt, CDI, boot sources), and where it runs."""

from lab.controllers.objects import owner_reference


HC = ("hco.kubevirt.io/v1beta1", "HyperConverged")
KUBEVIRT = ("kubevirt.io/v1", "KubeVirt")
CDI = ("cdi.kubevirt.io/v1beta1", "CDI")
DIC = ("cdi.kubevirt.io/v1beta1", "DataImportCron")
DATA_SOURCE = ("cdi.kubevirt.io/v1beta1", "DataSource")
CSV = ("operators.coreos.com/v1alpha1", "ClusterServiceVersion")

HCO_NAME = "kubevirt-hyperconverged"
FINALIZER = "kubevirt.io/hyperconverged"
OS_IMAGES = "openshift-virtualization-os-images"
CDI_NAME = "cdi-kubevirt-hyperconverged"
KUBEVIRT_NAME = "kubevirt-kubevirt-hyperconverged"
WEBHOOK_PATH = "/validate-hco-kubevirt-io-v1beta1-hyperconverged"
MANAGED_BY = "app.kubernetes.io/managed-by"

# The common boot sources of OpenShift Virtualization (HCO's dataImportCronTemplates).
COMMON_BOOT_SOURCES = (
    ("rhel9", "docker://registry.redhat.io/rhel9/rhel-guest-image:latest", "u1.medium", "rhel.9"),
    ("rhel10", "docker://registry.redhat.io/rhel10/rhel-guest-image:latest", "u1.medium", "rhel.10"),
    ("centos-stream9", "docker://quay.io/containerdisks/centos-stream:9", "u1.medium", "centos.stream9"),
    ("fedora", "docker://quay.io/containerdisks/fedora:latest", "u1.medium", "fedora"),
)

# HCO's feature gate mapping (v1beta1 spec.featureGates -> KubeVirt feature gates) and the
# gates HCO always enables on KubeVirt.
HCO_TO_KUBEVIRT_GATES = {
    "downwardMetrics": "DownwardMetrics", "persistentReservation": "PersistentReservation",
    "alignCPUs": "AlignCPUs", "decentralizedLiveMigration": "DecentralizedLiveMigration",
    "videoConfig": "VideoConfig", "declarativeHotplugVolumes": "DeclarativeHotplugVolumes",
    "incrementalBackup": "IncrementalBackup", "objectGraph": "ObjectGraph",
    "containerPathVolumes": "ContainerPathVolumes",
}
ALWAYS_ON_GATES = ["CPUManager", "Snapshot", "HotplugVolumes", "ExpandDisks", "HostDevices", "VMExport",
                   "KubevirtSeccompProfile", "VMPersistentState"]


def _labels(version: str, component: str) -> dict:
    return {"app": HCO_NAME, "app.kubernetes.io/component": component,
            MANAGED_BY: "hco-operator", "app.kubernetes.io/part-of": "hyperconverged-cluster",
            "app.kubernetes.io/version": version}


def operator_csvs(api) -> list:
    """Succeeded kubevirt-hyperconverged CSVs (where an HCO operator runs)."""
    return [c for c in api.list(*CSV)
            if c["metadata"]["name"].startswith("kubevirt-hyperconverged-operator.")
            and (c.get("status") or {}).get("phase") == "Succeeded"]


def operator_csv(api, namespace: str):
    for csv in operator_csvs(api):
        if csv["metadata"]["namespace"] == namespace:
            return csv
    return None


# --- desired operands ------------------------------------------------------------------------

def _placement(hc: dict, part: str):
    return ((hc["spec"].get(part) or {}).get("nodePlacement")) or None


def desired_kubevirt(hc: dict, version: str) -> dict:
    spec = hc["spec"]
    gates = list(ALWAYS_ON_GATES)
    for key, gate in HCO_TO_KUBEVIRT_GATES.items():
        if (spec.get("featureGates") or {}).get(key):
            gates.append(gate)
    live = spec.get("liveMigrationConfig") or {}
    migrations = {k: live[k] for k in ("parallelMigrationsPerCluster", "parallelOutboundMigrationsPerNode",
                                       "completionTimeoutPerGiB", "progressTimeout", "allowAutoConverge",
                                       "allowPostCopy", "bandwidthPerMigration", "network") if k in live}
    configuration = {
        "developerConfiguration": {
            "featureGates": gates,
            "cpuAllocationRatio": (spec.get("resourceRequirements") or {}).get("vmiCPUAllocationRatio", 10)},
        "migrations": migrations,
        "network": {"defaultNetworkInterface": "masquerade"},
    }
    if spec.get("evictionStrategy"):
        configuration["evictionStrategy"] = spec["evictionStrategy"]
    if spec.get("vmStateStorageClass"):
        configuration["vmStateStorageClass"] = spec["vmStateStorageClass"]
    kv_spec = {"uninstallStrategy": spec.get("uninstallStrategy") or "BlockUninstallIfWorkloadsExist",
               "configuration": configuration,
               "certificateRotateStrategy": {"selfSigned": {
                   "ca": {"duration": "48h0m0s", "renewBefore": "24h0m0s"},
                   "server": {"duration": "24h0m0s", "renewBefore": "12h0m0s"}}}}
    if spec.get("workloadUpdateStrategy"):
        kv_spec["workloadUpdateStrategy"] = spec["workloadUpdateStrategy"]
    if _placement(hc, "infra"):
        kv_spec["infra"] = {"nodePlacement": _placement(hc, "infra")}
    if _placement(hc, "workloads"):
        kv_spec["workloads"] = {"nodePlacement": _placement(hc, "workloads")}
    return {"apiVersion": KUBEVIRT[0], "kind": "KubeVirt",
            "metadata": {"name": KUBEVIRT_NAME, "namespace": hc["metadata"]["namespace"],
                         "labels": _labels(version, "compute"),
                         "ownerReferences": [owner_reference(hc)]},
            "spec": kv_spec}


def desired_cdi(hc: dict, version: str) -> dict:
    spec = hc["spec"]
    config = {"featureGates": ["HonorWaitForFirstConsumer", "DataVolumeClaimAdoption"]}
    registries = (spec.get("storageImport") or {}).get("insecureRegistries")
    if registries:
        config["insecureRegistries"] = list(registries)
    if spec.get("scratchSpaceStorageClass"):
        config["scratchSpaceStorageClass"] = spec["scratchSpaceStorageClass"]
    if spec.get("filesystemOverhead"):
        config["filesystemOverhead"] = spec["filesystemOverhead"]
    cdi_spec = {"uninstallStrategy": spec.get("uninstallStrategy") or "BlockUninstallIfWorkloadsExist",
                "config": config,
                "certConfig": {"ca": {"duration": "48h0m0s", "renewBefore": "24h0m0s"},
                               "server": {"duration": "24h0m0s", "renewBefore": "12h0m0s"}}}
    if _placement(hc, "infra"):
        cdi_spec["infra"] = _placement(hc, "infra")
    if _placement(hc, "workloads"):
        cdi_spec["workload"] = _placement(hc, "workloads")
    labels = _labels(version, "storage")
    labels["hco.kubevirt.io/owner-namespace"] = hc["metadata"]["namespace"]
    return {"apiVersion": CDI[0], "kind": "CDI", "metadata": {"name": CDI_NAME, "labels": labels},
            "spec": cdi_spec}


def cron_schedule(hc: dict, name: str) -> str:
    minute = sum(ord(c) for c in hc["metadata"]["uid"] + name) % 60  # HCO picks a random minute once
    return f"{minute} */12 * * *"


def desired_boot_sources(hc: dict) -> list:
    """[(DataImportCronTemplate, commonTemplate)] as HCO lists them in status.dataImportCronTemplates."""
    spec = hc["spec"]
    custom = {t["metadata"]["name"]: t for t in spec.get("dataImportCronTemplates") or []
              if (t.get("metadata") or {}).get("name")}
    templates = []
    if spec.get("enableCommonBootImageImport", True):
        for name, url, instancetype, preference in COMMON_BOOT_SOURCES:
            template = {
                "metadata": {"name": f"{name}-image-cron",
                             "annotations": {"cdi.kubevirt.io/storage.bind.immediate.requested": "true"},
                             "labels": {"instancetype.kubevirt.io/default-instancetype": instancetype,
                                        "instancetype.kubevirt.io/default-preference": preference}},
                "spec": {"garbageCollect": "Outdated", "managedDataSource": name,
                         "schedule": cron_schedule(hc, name),
                         "template": {"metadata": {}, "spec": {
                             "source": {"registry": {"url": url, "pullMethod": "node"}},
                             "storage": {"resources": {"requests": {"storage": "30Gi"}}}}}},
            }
            override = custom.pop(template["metadata"]["name"], None)
            if override is not None:
                enabled = ((override["metadata"].get("annotations") or {})
                           .get("dataimportcrontemplate.kubevirt.io/enable", "true")).lower()
                if enabled == "false":
                    continue
                template = {"metadata": {**template["metadata"], **override["metadata"]},
                            "spec": override.get("spec") or template["spec"]}
                templates.append((template, True, True))
            else:
                templates.append((template, True, False))
    for template in custom.values():
        if ((template["metadata"].get("annotations") or {})
                .get("dataimportcrontemplate.kubevirt.io/enable", "true")).lower() == "false":
            continue
        templates.append((template, False, False))
    return templates


def _boot_source_labels(version: str, template: dict) -> dict:
    labels = dict(template["metadata"].get("labels") or {})
    labels.update({"app.kubernetes.io/component": "templating", MANAGED_BY: "ssp-operator",
                   "app.kubernetes.io/name": "data-sources", "app.kubernetes.io/part-of": "hyperconverged-cluster",
                   "app.kubernetes.io/version": version})
    return labels


def ensure_boot_sources(api, hc: dict, version: str, namespace: str) -> list:
    """Create/update the DataImportCrons and DataSources; delete ours that are no longer wanted."""
    wanted = desired_boot_sources(hc)
    names = set()
    for template, _, _ in wanted:
        name = template["metadata"]["name"]
        names.add(name)
        labels = _boot_source_labels(version, template)
        dic = {"apiVersion": DIC[0], "kind": "DataImportCron",
               "metadata": {"name": name, "namespace": namespace, "labels": labels,
                            "annotations": dict(template["metadata"].get("annotations") or {})},
               "spec": template["spec"]}
        existing = api.get(*DIC, name, namespace)
        if existing is None:
            api.create_if_absent(dic)
        elif existing["spec"] != dic["spec"] and not existing["metadata"].get("deletionTimestamp"):
            api.patch(existing, {"spec": dic["spec"]})
        source_name = template["spec"]["managedDataSource"]
        if api.get(*DATA_SOURCE, source_name, namespace) is None:
            ds_labels = {**labels, "cdi.kubevirt.io/dataImportCron": name}
            api.create_if_absent({"apiVersion": DATA_SOURCE[0], "kind": "DataSource",
                                  "metadata": {"name": source_name, "namespace": namespace, "labels": ds_labels},
                                  "spec": {"source": {}}})
    for dic in api.list(*DIC, namespace=namespace):
        meta = dic["metadata"]
        if (meta.get("labels") or {}).get(MANAGED_BY) == "ssp-operator" and meta["name"] not in names:
            api.delete(*DIC, meta["name"], namespace)
            source = dic["spec"].get("managedDataSource")
            if source:
                api.delete(*DATA_SOURCE, source, namespace)
    return wanted


def delete_boot_sources(api, namespace: str) -> bool:
    """Delete our DataImportCrons and DataSources; True once none is left."""
    left = False
    for kind in (DIC, DATA_SOURCE):
        for obj in api.list(*kind, namespace=namespace):
            if (obj["metadata"].get("labels") or {}).get(MANAGED_BY) == "ssp-operator":
                left = True
                if not obj["metadata"].get("deletionTimestamp"):
                    api.delete(*kind, obj["metadata"]["name"], namespace)
    return not left

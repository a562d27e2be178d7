"""Simulated HyperConverged Cluster Operator (HCO v1.18 as OpenShift Virtualization 4.21 ships it).

- Runs where OLM installed it: a HyperConverged is reconciled only when it is named
  `kubevirt-hyperconverged` and its namespace holds a Succeeded `kubevirt-hyperconverged`
  ClusterServiceVersion. Other names are refused by the API server itself (the upstream CRD
  carries `metadata.name` pattern `kubevirt-hyperconverged`); the HCO validating webhook
  (installed by OLM from the CSV, so scoped by the OperatorGroup as OLM scopes it) refuses a
  HyperConverged outside the operator's namespace and, under BlockUninstallIfWorkloadsExist,
  refuses its deletion while workloads exist (it dry-run deletes the KubeVirt CR, whose own
  webhook answers, as upstream).
- Creates and keeps the operands: KubeVirt `kubevirt-kubevirt-hyperconverged` (owned by the
  HyperConverged), CDI `cdi-kubevirt-hyperconverged` (cluster scoped), and the common boot
  sources (DataImportCrons + DataSources in `openshift-virtualization-os-images`, as SSP
  does for HCO) unless `enableCommonBootImageImport` is false. Their volumes are CDI's job
  (the storage simulation): the DataImportCron template names no storage class, so CDI
  picks the default virt class, else the cluster default, unless the template says otherwise.
- Spec honoured by handing it to the operands as HCO does: featureGates, liveMigrationConfig,
  evictionStrategy (defaulted to LiveMigrate on a multi-node cluster), infra/workloads
  nodePlacement, storageImport.insecureRegistries, scratchSpaceStorageClass, uninstallStrategy,
  dataImportCronTemplates, enableCommonBootImageImport.
- Status: Progressing while operands come up, then Available / ReconcileComplete True with
  Degraded False and Upgradeable True, `versions` (the CSV version), relatedObjects, nodeInfo.
- Deleting the HyperConverged removes what it created (finalizer `kubevirt.io/hyperconverged`).

The cdi-operator part (CDI CR -> Deployed) lives here too, written only while the CDI CR has
no phase, so a fuller CDI simulation can own it.
"""

import json

from kubernetes.client.exceptions import ApiException

from lab.controllers import virt_common as vc
from lab.controllers.runtime import Controller, Watch, log, now, owner_keys, step_delay
from lab.webhooks import allow, deny

HC = ("hco.kubevirt.io/v1beta1", "HyperConverged")
KUBEVIRT = ("kubevirt.io/v1", "KubeVirt")
CDI = ("cdi.kubevirt.io/v1beta1", "CDI")
DIC = ("cdi.kubevirt.io/v1beta1", "DataImportCron")
DATA_SOURCE = ("cdi.kubevirt.io/v1beta1", "DataSource")
CSV = ("operators.coreos.com/v1alpha1", "ClusterServiceVersion")

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
    return {"app": vc.HCO_NAME, "app.kubernetes.io/component": component,
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
                         "ownerReferences": [vc.owner_reference(hc)]},
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


def _schedule(hc: dict, name: str) -> str:
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
                         "schedule": _schedule(hc, name),
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


def _ensure_boot_sources(api, hc: dict, version: str, namespace: str) -> list:
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
            vc.create(api, dic)
        elif existing["spec"] != dic["spec"] and not existing["metadata"].get("deletionTimestamp"):
            vc.patch(api, existing, {"spec": dic["spec"]}, guarded=False)
        source_name = template["spec"]["managedDataSource"]
        if api.get(*DATA_SOURCE, source_name, namespace) is None:
            ds_labels = {**labels, "cdi.kubevirt.io/dataImportCron": name}
            vc.create(api, {"apiVersion": DATA_SOURCE[0], "kind": "DataSource",
                            "metadata": {"name": source_name, "namespace": namespace, "labels": ds_labels},
                            "spec": {"source": {}}})
    for dic in api.list(*DIC, namespace=namespace):
        meta = dic["metadata"]
        if (meta.get("labels") or {}).get(MANAGED_BY) == "ssp-operator" and meta["name"] not in names:
            vc.delete(api, *DIC, meta["name"], namespace)
            source = dic["spec"].get("managedDataSource")
            if source:
                vc.delete(api, *DATA_SOURCE, source, namespace)
    return wanted


def _delete_boot_sources(api, namespace: str) -> bool:
    """Delete our DataImportCrons and DataSources; True once none is left."""
    left = False
    for kind in (DIC, DATA_SOURCE):
        for obj in api.list(*kind, namespace=namespace):
            if (obj["metadata"].get("labels") or {}).get(MANAGED_BY) == "ssp-operator":
                left = True
                if not obj["metadata"].get("deletionTimestamp"):
                    vc.delete(api, *kind, obj["metadata"]["name"], namespace)
    return not left


# --- HyperConverged ---------------------------------------------------------------------------

KUBEVIRT_OWNED = ("uninstallStrategy", "configuration", "certificateRotateStrategy", "workloadUpdateStrategy",
                  "infra", "workloads")
CDI_OWNED = ("uninstallStrategy", "config", "certConfig", "infra", "workload")


def _put_back(api, operand: dict, wanted: dict, owned: tuple) -> dict:
    """Make the operand's spec fields HCO owns exactly what HCO wants (HCO updates them so)."""
    current = {k: operand["spec"][k] for k in owned if k in operand["spec"]}
    change = vc.merge_patch_to(current, {k: wanted[k] for k in owned if k in wanted})
    if not change or operand["metadata"].get("deletionTimestamp"):
        return operand
    return vc.patch(api, operand, {"spec": change}, guarded=False) or operand


def _kubevirt_available(kv) -> bool:
    return bool(kv) and (kv.get("status") or {}).get("phase") == "Deployed" and vc.condition_true(kv, "Available")


def _kubevirt_progressing(kv) -> bool:
    return bool(kv) and (vc.condition_true(kv, "Progressing") or
                         (kv.get("status") or {}).get("observedGeneration") != kv["metadata"].get("generation"))


def _cdi_available(cdi) -> bool:
    return bool(cdi) and (cdi.get("status") or {}).get("phase") == "Deployed"


def _related(obj: dict) -> dict:
    meta = obj["metadata"]
    ref = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
           "resourceVersion": meta["resourceVersion"], "uid": meta["uid"]}
    if meta.get("namespace"):
        ref["namespace"] = meta["namespace"]
    return ref


def _finalize(api, hc: dict):
    namespace = hc["metadata"]["namespace"]
    pending = False
    kv = api.get(*KUBEVIRT, KUBEVIRT_NAME, namespace)
    if kv is not None:
        pending = True
        if not kv["metadata"].get("deletionTimestamp"):
            vc.delete(api, *KUBEVIRT, KUBEVIRT_NAME, namespace)
    cdi = api.get(*CDI, CDI_NAME)
    if cdi is not None:
        pending = True
        if not cdi["metadata"].get("deletionTimestamp"):
            vc.delete(api, *CDI, CDI_NAME)
    boot_namespace = hc["spec"].get("commonBootImageNamespace") or OS_IMAGES
    if not _delete_boot_sources(api, boot_namespace):
        pending = True
    if pending:
        conditions = vc.set_condition((hc.get("status") or {}).get("conditions"), "Available", "False",
                                      "Deleting", "HyperConverged is being deleted")
        vc.update_status(api, hc, {"conditions": conditions})
        return step_delay()
    vc.remove_finalizer(api, hc, FINALIZER)
    return None


def reconcile_hyperconverged(api, hc: dict):
    meta = hc["metadata"]
    if meta["name"] != vc.HCO_NAME:
        return None  # HCO watches only its one NamespacedName
    csv = operator_csv(api, meta["namespace"])
    if csv is None:
        return 10.0  # no operator runs in this namespace (not installed, or its CSV is gone)
    if meta.get("deletionTimestamp"):
        if FINALIZER in (meta.get("finalizers") or []):
            return _finalize(api, hc)
        return None
    version = csv["spec"].get("version", "")
    hc = vc.add_finalizer(api, hc, FINALIZER)
    if hc is None:
        return 0.05
    if not hc["spec"].get("evictionStrategy"):
        workers = [n for n in api.list("v1", "Node")
                   if "node-role.kubernetes.io/worker" in (n["metadata"].get("labels") or {})]
        # HCO defaults it: LiveMigrate on a highly available cluster, None on a single node.
        hc = vc.patch(api, hc, {"spec": {"evictionStrategy": "LiveMigrate" if len(workers) > 1 else "None"}})
        return 0.05

    namespace = meta["namespace"]
    # Operands: create, or put HCO's opinion back (HCO owns their spec).
    kv = api.get(*KUBEVIRT, KUBEVIRT_NAME, namespace)
    wanted_kv = desired_kubevirt(hc, version)
    if kv is None:
        kv = vc.create(api, wanted_kv)
    else:
        kv = _put_back(api, kv, wanted_kv["spec"], KUBEVIRT_OWNED)
    cdi = api.get(*CDI, CDI_NAME)
    wanted_cdi = desired_cdi(hc, version)
    if cdi is None:
        cdi = vc.create(api, wanted_cdi)
    else:
        cdi = _put_back(api, cdi, wanted_cdi["spec"], CDI_OWNED)
    boot_namespace = hc["spec"].get("commonBootImageNamespace") or OS_IMAGES
    templates = _ensure_boot_sources(api, hc, version, boot_namespace)

    status = dict(hc.get("status") or {})
    conditions = status.get("conditions") or []
    generation = meta.get("generation")
    ready = _kubevirt_available(kv) and _cdi_available(cdi)
    common = dict(observedGeneration=generation)
    if not conditions:
        for type_, state, reason, message in (
                ("ReconcileComplete", "Unknown", "Init", "Initializing HyperConverged cluster"),
                ("Available", "False", "Init", "Initializing HyperConverged cluster"),
                ("Progressing", "True", "Init", "Initializing HyperConverged cluster"),
                ("Degraded", "False", "Init", "Initializing HyperConverged cluster"),
                ("Upgradeable", "Unknown", "Init", "Initializing HyperConverged cluster")):
            conditions = vc.set_condition(conditions, type_, state, reason, message, **common)
    elif not ready:
        missing = "KubeVirt" if not _kubevirt_available(kv) else "CDI"
        reason = "KubeVirtNotAvailable" if missing == "KubeVirt" else "CDINotAvailable"
        conditions = vc.set_condition(conditions, "ReconcileComplete", "True", "ReconcileCompleted",
                                      "Reconcile completed successfully", **common)
        conditions = vc.set_condition(conditions, "Available", "False", reason,
                                      f"{missing} is not available: Deploying", **common)
        conditions = vc.set_condition(conditions, "Progressing", "True", reason.replace("NotAvailable", "Progressing"),
                                      f"{missing} is progressing: Deploying", **common)
        conditions = vc.set_condition(conditions, "Degraded", "False", "ReconcileCompleted",
                                      "Reconcile completed successfully", **common)
        conditions = vc.set_condition(conditions, "Upgradeable", "False", reason,
                                      f"{missing} is not upgradeable: Deploying", **common)
    elif _kubevirt_progressing(kv):
        conditions = vc.set_condition(conditions, "ReconcileComplete", "True", "ReconcileCompleted",
                                      "Reconcile completed successfully", **common)
        conditions = vc.set_condition(conditions, "Available", "True", "ReconcileCompleted",
                                      "Reconcile completed successfully", **common)
        conditions = vc.set_condition(conditions, "Progressing", "True", "KubeVirtProgressing",
                                      "KubeVirt is progressing: DeploymentInProgress", **common)
        conditions = vc.set_condition(conditions, "Degraded", "False", "ReconcileCompleted",
                                      "Reconcile completed successfully", **common)
        conditions = vc.set_condition(conditions, "Upgradeable", "False", "KubeVirtProgressing",
                                      "KubeVirt is progressing: DeploymentInProgress", **common)
    else:
        for type_, state in (("ReconcileComplete", "True"), ("Available", "True"), ("Progressing", "False"),
                             ("Degraded", "False"), ("Upgradeable", "True")):
            conditions = vc.set_condition(conditions, type_, state, "ReconcileCompleted",
                                          "Reconcile completed successfully", **common)
    nodes = api.list("v1", "Node")
    workers = [n for n in nodes if "node-role.kubernetes.io/worker" in (n["metadata"].get("labels") or {})]
    masters = [n for n in nodes if "node-role.kubernetes.io/control-plane" in (n["metadata"].get("labels") or {})]
    related = [_related(o) for o in (kv, cdi) if o]
    for template, _, _ in templates:
        dic = api.get(*DIC, template["metadata"]["name"], boot_namespace)
        if dic:
            related.append(_related(dic))
    dic_status = []
    for template, common_template, modified in templates:
        entry = {"metadata": {k: v for k, v in template["metadata"].items() if k in ("name", "labels", "annotations")},
                 "spec": template["spec"], "status": {"commonTemplate": common_template}}
        if modified:
            entry["status"]["modified"] = True
        dic_status.append(entry)
    new = {
        "conditions": conditions, "observedGeneration": generation, "relatedObjects": related,
        "systemHealthStatus": "healthy" if ready else "warning",
        "infrastructureHighlyAvailable": len(workers) > 1,
        "nodeInfo": {"controlPlaneArchitectures": sorted({n["status"]["nodeInfo"]["architecture"] for n in masters}),
                     "workloadsArchitectures": sorted({n["status"]["nodeInfo"]["architecture"] for n in workers})},
        "dataImportCronTemplates": dic_status,
        "dataImportSchedule": _schedule(hc, "schedule"),
    }
    settled = ready and not _kubevirt_progressing(kv)
    if ready:
        new["versions"] = [{"name": "operator", "version": version}]
    old = {k: status.get(k) for k in new}
    comparable = lambda d: json.dumps({k: v for k, v in d.items() if k != "relatedObjects"},  # noqa: E731
                                      sort_keys=True, default=str)
    if comparable(old) != comparable(new) or [r["name"] for r in old.get("relatedObjects") or []] != \
            [r["name"] for r in related]:
        vc.update_status(api, hc, new)
    return None if settled else step_delay()


# --- cdi-operator: the CDI CR reports Deployed ----------------------------------------------------

def reconcile_cdi(api, cdi: dict):
    if cdi["metadata"].get("deletionTimestamp") or (cdi.get("status") or {}).get("phase"):
        return None
    conditions = []
    for type_, state in (("Available", "True"), ("Progressing", "False"), ("Degraded", "False")):
        conditions = vc.set_condition(conditions, type_, state, "", "", lastHeartbeatTime=now())
    vc.update_status(api, cdi, {"phase": "Deployed", "operatorVersion": vc.CDI_VERSION,
                                "targetVersion": vc.CDI_VERSION, "observedVersion": vc.CDI_VERSION,
                                "conditions": conditions}, guarded=True)
    return None


# --- the validating webhook -----------------------------------------------------------------------

def make_webhook(api):
    def validate(request: dict) -> dict:
        operation = request["operation"]
        namespace = request.get("namespace")
        if operation == "CREATE":
            csvs = operator_csvs(api)
            if any(c["metadata"]["namespace"] == namespace for c in csvs):
                return allow()
            # This webhook belongs to an HCO running elsewhere: name its namespace.
            home = next((c["metadata"]["namespace"] for c in csvs
                         if namespace in (c["metadata"].get("annotations") or {})
                         .get("olm.targetNamespaces", "").split(",")
                         or (c["metadata"].get("annotations") or {}).get("olm.targetNamespaces") == ""),
                        csvs[0]["metadata"]["namespace"] if csvs else namespace)
            return deny(f"invalid namespace for v1beta1.HyperConverged - please use the {home} namespace")
        if operation == "DELETE":
            kv = api.get(*KUBEVIRT, KUBEVIRT_NAME, namespace)
            if kv is None:
                return allow()
            try:  # what HCO's webhook does: a dry-run delete of its operands
                api.resource(*KUBEVIRT).delete(name=KUBEVIRT_NAME, namespace=namespace,
                                               query_params=[("dryRun", "All")])
            except ApiException as error:
                try:
                    status = json.loads(error.body)
                except (TypeError, ValueError):
                    status = {"message": str(error)}
                return {"allowed": False, "status": {"code": status.get("code", error.status),
                                                     "message": status.get("message", ""),
                                                     "reason": status.get("reason", "")}}
            return allow()
        return allow()
    return validate


def setup(manager, webhooks):
    api = manager.api
    webhooks.route(WEBHOOK_PATH, make_webhook(api))

    def hc_of_namespace(obj):
        return [(obj["metadata"]["namespace"], vc.HCO_NAME)]

    def hcs_for_cdi(obj):
        namespace = (obj["metadata"].get("labels") or {}).get("hco.kubevirt.io/owner-namespace")
        return [(namespace, vc.HCO_NAME)] if namespace else []

    def hcs_for_boot_source(obj):
        try:
            return [(h["metadata"]["namespace"], h["metadata"]["name"]) for h in api.list(*HC)]
        except Exception:
            return []

    manager.add(Controller("hco", *HC, reconcile_hyperconverged, resync_seconds=30, watches=[
        Watch(*KUBEVIRT, owner_keys("HyperConverged")), Watch(*CDI, hcs_for_cdi),
        Watch(*CSV, hc_of_namespace), Watch(*DIC, hcs_for_boot_source, namespace=OS_IMAGES)]))
    manager.add(Controller("cdi-operator", *CDI, reconcile_cdi))
    log.info("hco: webhook at %s", webhooks.url(WEBHOOK_PATH))

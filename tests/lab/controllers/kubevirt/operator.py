"""Simulated virt-operator (KubeVirt v1.8) and the node side of KubeVirt.

- KubeVirt CR: finalizer, Deploying -> Deployed with Available/Progressing/Degraded/Created,
  observed/target versions. While it is Deployed, virt-api's admission webhooks are
  registered (virt-api-validator, virt-api-mutator, virt-operator-validator; the handlers
  are in webhooks.py) and the common instancetypes and preferences are deployed
  (CommonInstancetypesDeployment, on by default). Deleting the KubeVirt CR removes them.
- virt-handler placement: the KubeVirt `workloads.nodePlacement` (HCO's workloads placement)
  decides where virt-handler runs; a node with virt-handler carries
  `kubevirt.io/schedulable=true`, other nodes `false`. virt-launcher pods select
  `kubevirt.io/schedulable=true`, so VMIs run only on nodes matching the workloads placement.
- "kubelet" for virt-launcher pods: there is no kubelet, so a launcher pod that is being
  deleted (eviction, VMI gone, namespace deletion) is finished here with a zero grace period.
"""

import time

from lab.controllers.conditions import condition, set_condition
from lab.controllers.kubevirt import day2_admission
from lab.controllers.kubevirt.cluster_config import KUBEVIRT_VERSION
from lab.controllers.kubevirt.scheduling import node_affinity_matches, node_selector_matches, tolerates
from lab.controllers.objects import parse_time, short_hash
from lab.controllers.runtime import Controller, Watch, log, step_delay

KUBEVIRT = ("kubevirt.io/v1", "KubeVirt")
INSTANCETYPE = ("instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterInstancetype")
PREFERENCE = ("instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterPreference")
FINALIZER = "foregroundDeleteKubeVirt"
SCHEDULABLE = "kubevirt.io/schedulable"
COMMON_INSTANCETYPES_VERSION = "v1.5.1"

VALIDATOR = "virt-api-validator"
MUTATOR = "virt-api-mutator"
OPERATOR_VALIDATOR = "virt-operator-validator"

_server = None


# --- webhook configurations ------------------------------------------------------------------

def _rule(groups, versions, resources, operations):
    return {"apiGroups": list(groups), "apiVersions": list(versions), "resources": list(resources),
            "operations": list(operations), "scope": "*"}


def _webhook(name, path, rules, failure="Fail", side_effects="None"):
    return {"name": name, "clientConfig": {"url": _server.url(path), "caBundle": _server.ca_bundle},
            "rules": rules, "failurePolicy": failure, "sideEffects": side_effects, "matchPolicy": "Equivalent",
            "admissionReviewVersions": ["v1", "v1beta1"], "timeoutSeconds": 10}


def _configurations() -> list:
    validator = [
        _webhook("virtualmachine-validator.kubevirt.io", "/virtualmachines-validate",
                 [_rule(["kubevirt.io"], ["v1"], ["virtualmachines"], ["CREATE", "UPDATE"])]),
        _webhook("migration-create-validator.kubevirt.io", "/migration-validate-create",
                 [_rule(["kubevirt.io"], ["v1"], ["virtualmachineinstancemigrations"], ["CREATE"])]),
        _webhook("virtualmachineclone-validator.kubevirt.io", "/vmclone-validate",
                 [_rule(["clone.kubevirt.io"], ["v1alpha1", "v1beta1"], ["virtualmachineclones"],
                        ["CREATE", "UPDATE"])]),
        _webhook("virt-launcher-eviction-interceptor.kubevirt.io", "/launcher-eviction-validate",
                 [_rule([""], ["v1"], ["pods/eviction"], ["*"])], failure="Ignore", side_effects="NoneOnDryRun"),
    ]
    validator += day2_admission.webhooks(_webhook, _rule)
    mutator = [
        _webhook("virtualmachines-mutator.kubevirt.io", "/virtualmachines-mutate",
                 [_rule(["kubevirt.io"], ["v1"], ["virtualmachines"], ["CREATE", "UPDATE"])]),
        _webhook("migrations-mutator.kubevirt.io", "/migration-mutate-create",
                 [_rule(["kubevirt.io"], ["v1"], ["virtualmachineinstancemigrations"], ["CREATE"])]),
        _webhook("virtualmachineclones-mutator.kubevirt.io", "/vmclones-mutate",
                 [_rule(["clone.kubevirt.io"], ["v1alpha1", "v1beta1"], ["virtualmachineclones"], ["CREATE"])]),
    ]
    operator = [
        _webhook("kubevirt-validator.kubevirt.io", "/kubevirt-validate-delete",
                 [_rule(["kubevirt.io"], ["v1"], ["kubevirts"], ["DELETE"])]),
    ]
    labels = {"kubevirt.io": "", "app.kubernetes.io/managed-by": "virt-operator",
              "app.kubernetes.io/component": "kubevirt"}
    return [("validatingwebhookconfigurations", {
                "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                "metadata": {"name": VALIDATOR, "labels": labels}, "webhooks": validator}),
            ("mutatingwebhookconfigurations", {
                "apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
                "metadata": {"name": MUTATOR, "labels": labels}, "webhooks": mutator}),
            ("validatingwebhookconfigurations", {
                "apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                "metadata": {"name": OPERATOR_VALIDATOR, "labels": labels}, "webhooks": operator})]


def _register_webhooks(api) -> None:
    for plural, configuration in _configurations():
        kind = configuration["kind"]
        existing = api.get("admissionregistration.k8s.io/v1", kind, configuration["metadata"]["name"])
        if existing and [w["clientConfig"].get("url") for w in existing.get("webhooks") or []] == \
                [w["clientConfig"]["url"] for w in configuration["webhooks"]]:
            continue
        api.apply(plural, configuration)


def _unregister_webhooks(api) -> None:
    for plural, configuration in _configurations():
        api.delete("admissionregistration.k8s.io/v1", configuration["kind"], configuration["metadata"]["name"])


# --- common instancetypes and preferences ----------------------------------------------------------

_U_SERIES = (("u1.nano", 1, "512Mi"), ("u1.micro", 1, "1Gi"), ("u1.small", 1, "2Gi"), ("u1.medium", 1, "4Gi"),
             ("u1.2xmedium", 2, "4Gi"), ("u1.large", 2, "8Gi"), ("u1.xlarge", 4, "16Gi"),
             ("u1.2xlarge", 8, "32Gi"))

_LINUX = {"preferredDiskBus": "virtio", "preferredInterfaceModel": "virtio", "preferredRng": {},
          "preferredNetworkInterfaceMultiQueue": True}
_PREFERENCES = (
    ("rhel.8", "Red Hat Enterprise Linux 8", "linux", _LINUX, {}, "1.5Gi"),
    ("rhel.9", "Red Hat Enterprise Linux 9", "linux", _LINUX, {}, "1.5Gi"),
    ("rhel.10", "Red Hat Enterprise Linux 10", "linux", _LINUX, {}, "1.5Gi"),
    ("centos.stream9", "CentOS Stream 9", "linux", _LINUX, {}, "1.5Gi"),
    ("centos.stream10", "CentOS Stream 10", "linux", _LINUX, {}, "1.5Gi"),
    ("fedora", "Fedora (amd64)", "linux", _LINUX, {"preferredUseEfi": True, "preferredUseSecureBoot": True}, "2Gi"),
    ("windows.2k22", "Microsoft Windows Server 2022", "windows",
     {"preferredDiskBus": "sata", "preferredInterfaceModel": "e1000e", "preferredTPM": {}},
     {"preferredUseEfi": True, "preferredUseSecureBoot": True}, "4Gi"),
)


def _common_labels() -> dict:
    return {"app.kubernetes.io/managed-by": "virt-operator", "app.kubernetes.io/component": "kubevirt",
            "instancetype.kubevirt.io/vendor": "kubevirt.io",
            "instancetype.kubevirt.io/common-instancetypes-version": COMMON_INSTANCETYPES_VERSION}


def common_instancetypes() -> list:
    items = []
    for name, cpu, memory in _U_SERIES:
        items.append({"apiVersion": INSTANCETYPE[0], "kind": INSTANCETYPE[1],
                      "metadata": {"name": name,
                                   "labels": {**_common_labels(), "instancetype.kubevirt.io/class": "general.purpose",
                                              "instancetype.kubevirt.io/cpu": str(cpu),
                                              "instancetype.kubevirt.io/memory": memory,
                                              "instancetype.kubevirt.io/version": "1"},
                                   "annotations": {"instancetype.kubevirt.io/description":
                                                   "The U Series is quite neutral and provides resources for "
                                                   "general purpose applications.",
                                                   "instancetype.kubevirt.io/displayName": "General Purpose"}},
                      "spec": {"cpu": {"guest": cpu}, "memory": {"guest": memory}}})
    return items


def common_preferences() -> list:
    items = []
    for name, display, os_type, devices, firmware, memory in _PREFERENCES:
        spec = {"devices": dict(devices), "requirements": {"cpu": {"guest": 1}, "memory": {"guest": memory}},
                "annotations": {"vm.kubevirt.io/os": name.split(".")[0]}}
        if firmware:
            spec["firmware"] = dict(firmware)
        items.append({"apiVersion": PREFERENCE[0], "kind": PREFERENCE[1],
                      "metadata": {"name": name,
                                   "labels": {**_common_labels(), "instancetype.kubevirt.io/os-type": os_type,
                                              "instancetype.kubevirt.io/arch": "amd64"},
                                   "annotations": {"openshift.io/display-name": display,
                                                   "iconClass": f"icon-{name.split('.')[0]}",
                                                   "openshift.io/support-url": "https://access.redhat.com",
                                                   "openshift.io/provider-display-name": "KubeVirt"}},
                      "spec": spec})
    return items


def _deploy_instancetypes(api) -> None:
    for kind, items in ((INSTANCETYPE, common_instancetypes()), (PREFERENCE, common_preferences())):
        for item in items:
            existing = api.get(*kind, item["metadata"]["name"])
            if existing is None:
                api.create_if_absent(item)
            elif existing["spec"] != item["spec"]:
                api.patch(existing, {"spec": item["spec"]})


def _remove_instancetypes(api) -> None:
    for kind in (INSTANCETYPE, PREFERENCE):
        for item in api.list(*kind):
            if (item["metadata"].get("labels") or {}).get("app.kubernetes.io/managed-by") == "virt-operator":
                api.delete(*kind, item["metadata"]["name"])


# --- where virt-handler runs ------------------------------------------------------------------------

def handler_nodes(api, kv: dict) -> set:
    placement = ((kv.get("spec") or {}).get("workloads") or {}).get("nodePlacement") or {}
    names = set()
    for node in api.list("v1", "Node"):
        labels = node["metadata"].get("labels") or {}
        if not node_selector_matches(labels, placement.get("nodeSelector")):
            continue
        if not node_affinity_matches(node, placement.get("affinity")):
            continue
        if not tolerates((node.get("spec") or {}).get("taints"), placement.get("tolerations")):
            continue
        names.add(node["metadata"]["name"])
    return names


def _label_nodes(api, kv: dict) -> None:
    running = handler_nodes(api, kv)
    for node in api.list("v1", "Node"):
        name = node["metadata"]["name"]
        wanted = "true" if name in running else "false"
        if (node["metadata"].get("labels") or {}).get(SCHEDULABLE) != wanted:
            api.patch(node, {"metadata": {"labels": {SCHEDULABLE: wanted}}})


# --- KubeVirt CR -----------------------------------------------------------------------------------

def reconcile_kubevirt(api, kv: dict):
    """virt-operator: uninstall a deleted KubeVirt, deploy a new one, roll out a changed one."""
    if kv["metadata"].get("deletionTimestamp"):
        return _uninstall(api, kv)
    kv = api.add_finalizer(kv, FINALIZER)
    if ((kv.get("status") or {}).get("phase") or "") in ("", "Deploying"):
        return _deploy(api, kv)
    return _keep_deployed(api, kv)


def _uninstall(api, kv: dict):
    """Deleting: with uninstallStrategy RemoveWorkloads the VMs and VMIs go first; then the webhooks
    and common instancetypes, then the finalizer."""
    status = kv.get("status") or {}
    if FINALIZER not in (kv["metadata"].get("finalizers") or []):
        return None
    if status.get("phase") != "Deleting":
        conditions = set_condition(status.get("conditions"), "Available", "False", "Deleting", "Deleting KubeVirt")
        api.patch_status(kv, {"phase": "Deleting", "conditions": conditions}, guarded=True)
        return step_delay()
    if (kv.get("spec") or {}).get("uninstallStrategy") == "RemoveWorkloads":
        left = False
        for kind in ("VirtualMachine", "VirtualMachineInstance"):
            for workload in api.list("kubevirt.io/v1", kind):
                left = True
                if not workload["metadata"].get("deletionTimestamp"):
                    api.delete("kubevirt.io/v1", kind, workload["metadata"]["name"], workload["metadata"]["namespace"])
        if left:
            return step_delay()  # the workloads go first
    _unregister_webhooks(api)
    _remove_instancetypes(api)
    api.remove_finalizer(kv, FINALIZER)
    return None


def _deploy(api, kv: dict):
    """New → Deploying → Deployed: the webhooks, common instancetypes and node labels are put in place."""
    status = kv.get("status") or {}
    if not status.get("phase"):
        conditions = []
        for type_, state, reason, message in (
                ("Available", "False", "DeploymentInProgress",
                 "Deploying version v1.8.4 with registry registry.redhat.io/container-native-virtualization"),
                ("Progressing", "True", "DeploymentInProgress", "Deploying version v1.8.4"),
                ("Degraded", "False", "DeploymentInProgress", "Deploying version v1.8.4")):
            conditions = set_condition(conditions, type_, state, reason, message, probe=True)
        api.patch_status(kv, {"phase": "Deploying", "conditions": conditions}, guarded=True)
        return step_delay()
    _register_webhooks(api)
    _deploy_instancetypes(api)
    _label_nodes(api, kv)
    conditions = status.get("conditions") or []
    for type_, state, reason, message in (
            ("Available", "True", "AllComponentsReady", "All components are ready."),
            ("Progressing", "False", "AllComponentsReady", "All components are ready."),
            ("Degraded", "False", "AllComponentsReady", "All components are ready."),
            ("Created", "True", "AllResourcesCreated", "All resources were created.")):
        conditions = set_condition(conditions, type_, state, reason, message, probe=True)
    api.patch_status(kv, {"phase": "Deployed", "conditions": conditions,
                          "observedGeneration": kv["metadata"].get("generation"), **_versions(kv)}, guarded=True)
    return None


def _versions(kv: dict) -> dict:
    deployment_id = short_hash(kv["metadata"]["uid"], 16)
    return {"observedKubeVirtVersion": KUBEVIRT_VERSION, "targetKubeVirtVersion": KUBEVIRT_VERSION,
            "operatorVersion": KUBEVIRT_VERSION,
            "observedKubeVirtRegistry": "registry.redhat.io/container-native-virtualization",
            "targetKubeVirtRegistry": "registry.redhat.io/container-native-virtualization",
            "observedDeploymentID": deployment_id, "targetDeploymentID": deployment_id,
            "defaultArchitecture": "amd64", "outdatedVirtualMachineInstanceWorkloads": 0}


def _keep_deployed(api, kv: dict):
    """Deployed: keep the parts in line with the spec (and the webhook URLs after a restart); a changed
    configuration is rolled out to virt-handler, virt-controller and virt-api first."""
    status = kv.get("status") or {}
    generation = kv["metadata"].get("generation")
    _register_webhooks(api)
    _deploy_instancetypes(api)
    _label_nodes(api, kv)
    if status.get("observedGeneration") == generation:
        return None
    progressing = condition(kv, "Progressing") or {}
    if progressing.get("status") != "True":
        conditions = set_condition(status.get("conditions"), "Progressing", "True", "DeploymentInProgress",
                                   f"Deploying version {KUBEVIRT_VERSION} with registry "
                                   "registry.redhat.io/container-native-virtualization", probe=True)
        api.patch_status(kv, {"conditions": conditions}, guarded=True)
        return rollout_seconds()
    if parse_time(progressing["lastTransitionTime"]) + rollout_seconds() > time.time():
        return step_delay()
    conditions = set_condition(status.get("conditions"), "Progressing", "False", "AllComponentsReady",
                               "All components are ready.", probe=True)
    api.patch_status(kv, {"observedGeneration": generation, "conditions": conditions}, guarded=True)
    return None


def rollout_seconds() -> float:
    """How long virt-operator takes to roll a configuration change out (the lab's time scale)."""
    return max(1.0, 3 * step_delay())


# --- "kubelet" for virt-launcher pods ---------------------------------------------------------------

def reconcile_launcher_pod(api, pod: dict):
    meta = pod["metadata"]
    if (meta.get("labels") or {}).get("kubevirt.io") != "virt-launcher":
        return None
    if meta.get("deletionTimestamp") and (pod.get("spec") or {}).get("nodeName"):
        # The container stops and the kubelet confirms the deletion.
        api.delete("v1", "Pod", meta["name"], meta["namespace"], grace_period=0)
    return None


def setup(manager, webhooks):
    global _server
    _server = webhooks
    api = manager.api

    def all_kubevirts(_obj):
        try:
            return [(k["metadata"]["namespace"], k["metadata"]["name"]) for k in api.list(*KUBEVIRT)]
        except Exception:
            return []

    manager.add(Controller("virt-operator", *KUBEVIRT, reconcile_kubevirt, resync_seconds=30,
                           watches=[Watch("v1", "Node", all_kubevirts)]))
    manager.add(Controller("virt-launcher-kubelet", "v1", "Pod", reconcile_launcher_pod))
    log.info("kubevirt: virt-operator simulation loaded (%s)", KUBEVIRT_VERSION)

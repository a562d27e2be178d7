"""Simulated OLM (operator-framework v0): catalog, OperatorGroups, Subscriptions, InstallPlans, CSVs.

What the catalog operator and the OLM operator do, for the packages of `lab.catalog`:

- the CatalogSource `redhat-operators` in `openshift-marketplace` exists (created at start
  when missing) and reports `connectionState.lastObservedState: READY`;
- OperatorGroup: `status.namespaces`, the `olm.operatorgroup.uid/<uid>` label on its target
  namespaces, the `olm.providedAPIs` annotation;
- Subscription -> resolution against the catalog (failures are `ResolutionFailed` with the
  resolver's message) -> InstallPlan (approved at once for Automatic; Manual waits for
  `spec.approved: true`) -> ClusterServiceVersion in the Subscription's namespace, then
  upgrades one `replaces` step at a time while the channel has a newer bundle;
- CSV: Pending -> InstallReady -> Installing -> Succeeded, or Failed with OLM's reasons
  (NoOperatorGroup, TooManyOperatorGroups, UnsupportedOperatorGroup); the bundle's webhook
  definitions become admission webhook configurations served by the lab's webhook server
  (the path is the operator's; the handler is registered by that operator's simulation);
- deleting a Subscription leaves its CSV; deleting a CSV removes its webhooks (the operator).

Like OLM v0.45.0, a namespace without exactly one OperatorGroup is not resolved at all: the
catalog operator's `syncResolvingNamespace` returns at `resolver.IsFailForwardEnabled` ("found
%d operatorGroups, expected 1") before any InstallPlan is made or any condition written, so the
Subscription keeps only its catalog health. A CSV whose OperatorGroup goes away fails with
NoOperatorGroup, and goes back to Pending once the namespace has one again.

A transient install failure on request (OLM's `transitionCSVState`): with the annotation
`lab.ontap.virtualization/install-timeouts: "<n>"` (n = 1..3) on the Subscription, or on its
Namespace, each CSV that Subscription installs finds its deployments unhealthy: Installing
(InstallWaiting, "installing: waiting for deployment <name> to become ready: ..."), after
INSTALL_TIMEOUT_SECONDS (OLM: 5 minutes) Failed (InstallCheckFailed, "install timeout"), after
FAILED_SECONDS Pending (NeedsReinstall), then InstallReady -> Installing again; after the n-th
timeout the deployments are healthy and it reaches Succeeded. Without the annotation an
install never fails this way.

Not simulated: bundle unpack jobs, operator Deployments and their pods,
copied CSVs in target namespaces, the `Operator`/`OperatorCondition` objects, and the
PackageManifest API (packages.operators.coreos.com is an aggregated API server).
"""

import threading
import time

from kubernetes.client.exceptions import ApiException

from lab import catalog
from lab.controllers import virt_common as vc
from lab.controllers.runtime import Controller, Watch, log, now, step_delay

OPERATORS_V1 = "operators.coreos.com/v1"
OPERATORS_V1A1 = "operators.coreos.com/v1alpha1"
CSV = (OPERATORS_V1A1, "ClusterServiceVersion")
SUBSCRIPTION = (OPERATORS_V1A1, "Subscription")
INSTALL_PLAN = (OPERATORS_V1A1, "InstallPlan")
OPERATOR_GROUP = (OPERATORS_V1, "OperatorGroup")
CATALOG_SOURCE = (OPERATORS_V1A1, "CatalogSource")

OG_LABEL_PREFIX = "olm.operatorgroup.uid/"
OWNER_LABELS = ("olm.owner", "olm.owner.namespace", "olm.owner.kind")
WEBHOOK_DESC_KEY = "olm.webhook-description-generate-name"

_server = None  # the lab webhook server (set in setup)


# --- catalog ---------------------------------------------------------------------------------

def _catalog_source() -> dict:
    return {
        "apiVersion": OPERATORS_V1A1, "kind": "CatalogSource",
        "metadata": {"name": catalog.CATALOG_NAME, "namespace": catalog.CATALOG_NAMESPACE,
                     "annotations": {"operatorframework.io/managed-by": "marketplace-operator",
                                     "target.workload.openshift.io/management":
                                         '{"effect": "PreferredDuringScheduling"}'},
                     "labels": {"olm.catalogSource": catalog.CATALOG_NAME}},
        "spec": {"sourceType": "grpc", "image": catalog.CATALOG_IMAGE,
                 "displayName": "Red Hat Operators", "publisher": "Red Hat", "priority": -100,
                 "updateStrategy": {"registryPoll": {"interval": "10m"}},
                 "grpcPodConfig": {"securityContextConfig": "restricted",
                                   "nodeSelector": {"kubernetes.io/os": "linux",
                                                    "node-role.kubernetes.io/master": ""}}},
    }


def _ensure_catalog(api) -> None:
    """Create the CatalogSource at start (retrying while the API server is not answering)."""
    for attempt in range(120):
        try:
            vc.create(api, _catalog_source())
            return
        except Exception as error:  # the API may still be starting
            log.info("olm: creating CatalogSource failed (%s); retrying", error)
            time.sleep(min(0.5 * (attempt + 1), 5))


def reconcile_catalog_source(api, source: dict):
    meta = source["metadata"]
    served = meta["name"] == catalog.CATALOG_NAME and meta["namespace"] == catalog.CATALOG_NAMESPACE
    state = ((source.get("status") or {}).get("connectionState") or {}).get("lastObservedState")
    wanted = "READY" if served else "TRANSIENT_FAILURE"
    if state == wanted:
        return None
    address = f"{meta['name']}.{meta['namespace']}.svc:50051"
    status = {"connectionState": {"address": address, "lastConnect": now(), "lastObservedState": wanted},
              "registryService": {"createdAt": now(), "port": "50051", "protocol": "grpc",
                                  "serviceName": meta["name"], "serviceNamespace": meta["namespace"]}}
    if served:
        status["latestImageRegistryPoll"] = now()
    else:
        status["message"] = f"couldn't connect to registry {meta['name']}: image could not be pulled in the lab"
        status["reason"] = "RegistryServerError"
    vc.update_status(api, source, status, guarded=False)
    return None


# --- OperatorGroup ---------------------------------------------------------------------------

def _target_namespaces(api, og: dict) -> list:
    spec = og.get("spec") or {}
    if spec.get("targetNamespaces"):
        return sorted(set(spec["targetNamespaces"]))
    if spec.get("selector"):
        return sorted(ns["metadata"]["name"] for ns in api.list("v1", "Namespace")
                      if vc.selector_matches(ns["metadata"].get("labels") or {}, spec["selector"]))
    return [""]  # AllNamespaces


def _provided_apis(api, namespace: str) -> str:
    apis = []
    for csv in api.list(*CSV, namespace=namespace):
        for owned in ((csv["spec"].get("customresourcedefinitions") or {}).get("owned") or []):
            group = owned["name"].split(".", 1)[1]
            apis.append(f"{owned['kind']}.{owned['version']}.{group}")
    return ",".join(sorted(set(apis)))


def reconcile_operator_group(api, og: dict):
    if og["metadata"].get("deletionTimestamp"):
        return None
    namespaces = _target_namespaces(api, og)
    label = OG_LABEL_PREFIX + og["metadata"]["uid"]
    if namespaces != [""]:
        for name in namespaces:
            ns = api.get("v1", "Namespace", name)
            if ns and label not in (ns["metadata"].get("labels") or {}):
                vc.patch(api, ns, {"metadata": {"labels": {label: ""}}}, guarded=False)
    provided = _provided_apis(api, og["metadata"]["namespace"])
    annotations = og["metadata"].get("annotations") or {}
    if annotations.get("olm.providedAPIs", "") != provided:
        og = vc.patch(api, og, {"metadata": {"annotations": {"olm.providedAPIs": provided}}})
        if og is None:
            return 0.1
    status = og.get("status") or {}
    if status.get("namespaces") != namespaces:
        vc.update_status(api, og, {"namespaces": namespaces, "lastUpdated": now()})
    return None


def namespace_label_selector(og: dict):
    """OLM's OperatorGroup.NamespaceLabelSelector(): nil for AllNamespaces."""
    if (og.get("status") or {}).get("namespaces") in (None, [""]) and not (og.get("spec") or {}).get(
            "targetNamespaces") and not (og.get("spec") or {}).get("selector"):
        return None
    return {"matchLabels": {OG_LABEL_PREFIX + og["metadata"]["uid"]: ""}}


# --- Subscription ----------------------------------------------------------------------------

def _catalog_health(api, sub: dict) -> tuple:
    sources = api.list(*CATALOG_SOURCE, namespace=catalog.CATALOG_NAMESPACE)
    if sub["metadata"]["namespace"] != catalog.CATALOG_NAMESPACE:
        sources += api.list(*CATALOG_SOURCE, namespace=sub["metadata"]["namespace"])
    health = []
    unhealthy = []
    for source in sources:
        state = ((source.get("status") or {}).get("connectionState") or {}).get("lastObservedState")
        healthy = state == "READY"
        meta = source["metadata"]
        health.append({"catalogSourceRef": {"apiVersion": OPERATORS_V1A1, "kind": "CatalogSource",
                                            "name": meta["name"], "namespace": meta["namespace"],
                                            "resourceVersion": meta["resourceVersion"], "uid": meta["uid"]},
                       "healthy": healthy, "lastUpdated": now()})
        if not healthy:
            unhealthy.append(f"{meta['namespace']}/{meta['name']}")
    spec = sub["spec"]
    wanted = f"{spec['sourceNamespace']}/{spec['source']}"
    if not any(f"{h['catalogSourceRef']['namespace']}/{h['catalogSourceRef']['name']}" == wanted for h in health):
        return health, ("True", "UnhealthyCatalogSourceFound", f"targeted catalogsource {wanted} missing")
    if wanted in unhealthy:
        return health, ("True", "UnhealthyCatalogSourceFound", f"targeted catalogsource {wanted} unhealthy")
    return health, ("False", "AllCatalogSourcesHealthy", "all available catalogsources are healthy")


def _resolve(sub: dict, catalog_ready: bool):
    """(bundle entry, channel, None) or (None, None, resolver message)."""
    spec = sub["spec"]
    name = sub["metadata"]["name"]
    if spec["source"] != catalog.CATALOG_NAME or spec["sourceNamespace"] != catalog.CATALOG_NAMESPACE \
            or not catalog_ready:
        return None, None, (f"no operators found from catalog {spec['source']} in namespace "
                            f"{spec['sourceNamespace']} referenced by subscription {name}")
    package = catalog.package(spec["name"])
    if package is None:
        return None, None, (f"no operators found in package {spec['name']} in the catalog "
                            f"referenced by subscription {name}")
    channel = spec.get("channel") or package["defaultChannel"]
    entries = catalog.channel_entries(spec["name"], channel)
    if not entries:
        return None, None, (f"no operators found in channel {channel} of package {spec['name']} "
                            f"in the catalog referenced by subscription {name}")
    if spec.get("startingCSV"):
        for entry in entries:
            if entry["name"] == spec["startingCSV"]:
                return entry, channel, None
        return None, None, (f"no operators found with name {spec['startingCSV']} in channel {channel} "
                            f"of package {spec['name']} in the catalog referenced by subscription {name}")
    return catalog.newest(spec["name"], channel), channel, None


def _install_plan_name(sub: dict, generation: int) -> str:
    return "install-" + vc.short_hash(f"{sub['metadata']['uid']}/{generation}")


def _package_label(package: str, namespace: str) -> str:
    return f"operators.coreos.com/{package}.{namespace}"


def _create_install_plan(api, sub: dict, csv_name: str, generation: int) -> dict:
    spec = sub["spec"]
    approval = spec.get("installPlanApproval") or "Automatic"
    plan = {
        "apiVersion": OPERATORS_V1A1, "kind": "InstallPlan",
        "metadata": {"name": _install_plan_name(sub, generation), "namespace": sub["metadata"]["namespace"],
                     "labels": {_package_label(spec["name"], sub["metadata"]["namespace"]): ""},
                     "ownerReferences": [vc.owner_reference(sub, controller=False, block=False)]},
        "spec": {"approval": approval, "approved": approval == "Automatic",
                 "clusterServiceVersionNames": [csv_name], "generation": generation,
                 "source": spec["source"], "sourceNamespace": spec["sourceNamespace"]},
    }
    created = vc.create(api, plan)
    return created or api.get(*INSTALL_PLAN, plan["metadata"]["name"], sub["metadata"]["namespace"])


def _ref(obj: dict) -> dict:
    meta = obj["metadata"]
    return {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": meta["name"],
            "namespace": meta["namespace"], "resourceVersion": meta["resourceVersion"], "uid": meta["uid"]}


def reconcile_subscription(api, sub: dict):
    if sub["metadata"].get("deletionTimestamp"):
        return None
    namespace = sub["metadata"]["namespace"]
    spec = sub["spec"]
    status = dict(sub.get("status") or {})
    conditions = status.get("conditions") or []
    health, unhealthy = _catalog_health(api, sub)
    conditions = vc.set_condition(conditions, "CatalogSourcesUnhealthy", *unhealthy)
    new = {"catalogHealth": health, "lastUpdated": now()}

    groups = api.list(*OPERATOR_GROUP, namespace=namespace)
    if len(groups) != 1:
        # As the catalog operator does (v0.45.0 syncResolvingNamespace -> resolver.IsFailForwardEnabled):
        # it cannot resolve this namespace and returns before any InstallPlan or condition.
        log.info("olm: namespace %s: found %d operatorGroups, expected 1", namespace, len(groups))
        new["conditions"] = conditions
        _write_sub_status(api, sub, status, new)
        return 10.0

    plan = None
    if status.get("installPlanRef"):
        plan = api.get(*INSTALL_PLAN, status["installPlanRef"]["name"], namespace)
    installed = status.get("installedCSV")
    if installed and api.get(*CSV, installed, namespace) is None and (
            plan is None or (plan.get("status") or {}).get("phase") == "Complete"):
        # The CSV was deleted while the Subscription stayed: OLM resolves and installs again.
        installed = None
        new.update(installedCSV=None, currentCSV=None, installPlanRef=None, installplan=None, state=None)
        status.update(installedCSV=None, currentCSV=None, installPlanRef=None)
        plan = None

    if plan is None and not status.get("currentCSV"):
        entry, channel, problem = _resolve(sub, unhealthy[0] == "False")
        if problem:
            message = f"constraints not satisfiable: {problem}, subscription {sub['metadata']['name']} exists"
            new["conditions"] = vc.set_condition(conditions, "ResolutionFailed", "True",
                                                 "ConstraintsNotSatisfiable", message)
            _write_sub_status(api, sub, status, new)
            return 10.0
        generation = int(status.get("installPlanGeneration") or 0) + 1
        plan = _create_install_plan(api, sub, entry["name"], generation)
        conditions = vc.remove_condition(conditions, "ResolutionFailed")
        new.update(currentCSV=entry["name"], installPlanGeneration=generation, state="UpgradePending",
                   installPlanRef=_ref(plan),
                   installplan={"apiVersion": OPERATORS_V1A1, "kind": "InstallPlan",
                                "name": plan["metadata"]["name"], "uuid": plan["metadata"]["uid"]})

    if plan is not None:
        phase = (plan.get("status") or {}).get("phase") or ""
        current = new.get("currentCSV") or status.get("currentCSV")
        if phase == "Complete":
            conditions = vc.remove_condition(conditions, "InstallPlanPending")
            conditions = vc.remove_condition(conditions, "InstallPlanFailed")
            csv = api.get(*CSV, current, namespace)
            if csv is not None:
                new["installedCSV"] = current
                channel = spec.get("channel") or (catalog.package(spec["name"]) or {}).get("defaultChannel")
                successor = catalog.successor(spec["name"], channel, current)
                if successor is None:
                    new["state"] = "AtLatestKnown"
                elif (csv.get("status") or {}).get("phase") == "Succeeded":
                    generation = int(status.get("installPlanGeneration") or 0) + 1
                    upgrade = _create_install_plan(api, sub, successor["name"], generation)
                    new.update(currentCSV=successor["name"], installPlanGeneration=generation,
                               state="UpgradePending", installPlanRef=_ref(upgrade),
                               installplan={"apiVersion": OPERATORS_V1A1, "kind": "InstallPlan",
                                            "name": upgrade["metadata"]["name"],
                                            "uuid": upgrade["metadata"]["uid"]})
                else:
                    new["state"] = "UpgradeAvailable"
        elif phase == "Failed":
            conditions = vc.set_condition(conditions, "InstallPlanFailed", "True", "InstallComponentFailed",
                                          (plan.get("status") or {}).get("message", ""))
            new["state"] = "UpgradeFailed"
        elif phase == "RequiresApproval":
            conditions = vc.set_condition(conditions, "InstallPlanPending", "True", "RequiresApproval", "")
            new["state"] = "UpgradePending"
        else:
            conditions = vc.set_condition(conditions, "InstallPlanPending", "True", "Installing", "")
        if plan is not None and "installPlanRef" not in new:
            new["installPlanRef"] = _ref(plan)
    new["conditions"] = conditions
    _write_sub_status(api, sub, status, new)
    state = new.get("state", status.get("state"))
    waiting = plan is not None and (plan.get("status") or {}).get("phase") == "RequiresApproval"
    return 15.0 if (state == "AtLatestKnown" and plan is not None) or waiting else step_delay()


def _write_sub_status(api, sub: dict, old: dict, new: dict) -> None:
    interesting = {k: v for k, v in new.items() if k not in ("lastUpdated", "catalogHealth")}
    unchanged = all(old.get(k) == v for k, v in interesting.items())
    health_same = [(h["catalogSourceRef"]["name"], h["healthy"]) for h in old.get("catalogHealth") or []] == \
                  [(h["catalogSourceRef"]["name"], h["healthy"]) for h in new["catalogHealth"]]
    if unchanged and health_same:
        return
    vc.update_status(api, sub, new)


# --- InstallPlan -----------------------------------------------------------------------------

def _plan_steps(entry_name: str, package_name: str, namespace: str, status: str) -> list:
    owned = (catalog.bundle(package_name, entry_name) or {}).get("owned") or catalog.package(package_name)["owned"]
    steps = [{"resolving": entry_name, "status": status,
              "resource": {"group": "operators.coreos.com", "version": "v1alpha1",
                           "kind": "ClusterServiceVersion", "name": entry_name,
                           "sourceName": catalog.CATALOG_NAME, "sourceNamespace": catalog.CATALOG_NAMESPACE}}]
    for crd in owned:
        steps.append({"resolving": entry_name, "status": "Present" if status != "Unknown" else "Unknown",
                      "resource": {"group": "apiextensions.k8s.io", "version": "v1",
                                   "kind": "CustomResourceDefinition", "name": crd["name"],
                                   "sourceName": catalog.CATALOG_NAME,
                                   "sourceNamespace": catalog.CATALOG_NAMESPACE}})
    return steps


def _package_of(csv_name: str):
    for name, pkg in catalog.PACKAGES.items():
        if catalog.bundle(name, csv_name):
            return name
    return None


def reconcile_install_plan(api, plan: dict):
    if plan["metadata"].get("deletionTimestamp"):
        return None
    namespace = plan["metadata"]["namespace"]
    spec = plan["spec"]
    status = plan.get("status") or {}
    phase = status.get("phase") or ""
    csv_name = spec["clusterServiceVersionNames"][0]
    package_name = _package_of(csv_name)
    if phase == "":
        vc.update_status(api, plan, {
            "phase": "Planning", "catalogSources": [catalog.CATALOG_NAME],
            "plan": _plan_steps(csv_name, package_name, namespace, "Unknown") if package_name else [],
            "conditions": [{"type": "Installed", "status": "Unknown", "lastTransitionTime": now(),
                            "lastUpdateTime": now()}]})
        return step_delay()
    if phase in ("Planning", "RequiresApproval"):
        if not spec.get("approved"):
            if phase != "RequiresApproval":
                vc.update_status(api, plan, {"phase": "RequiresApproval", "conditions": [
                    {"type": "Installed", "status": "False", "reason": "RequiresApproval",
                     "lastTransitionTime": now(), "lastUpdateTime": now()}]})
            return None  # an update of spec.approved brings it back
        vc.update_status(api, plan, {"phase": "Installing", "startTime": now(), "conditions": [
            {"type": "Installed", "status": "Unknown", "reason": "Installing",
             "lastTransitionTime": now(), "lastUpdateTime": now()}]})
        return step_delay()
    if phase == "Installing":
        entry = catalog.bundle(package_name, csv_name) if package_name else None
        if entry is None:
            vc.update_status(api, plan, {"phase": "Failed", "message": f"bundle {csv_name} not found in catalog"})
            return None
        bundle = catalog.csv_spec(package_name, entry)
        csv = {"apiVersion": OPERATORS_V1A1, "kind": "ClusterServiceVersion",
               "metadata": {"name": csv_name, "namespace": namespace,
                            "labels": {**bundle["labels"], _package_label(package_name, namespace): ""},
                            "annotations": dict(bundle["annotations"])},
               "spec": bundle["spec"]}
        vc.create(api, csv)
        vc.update_status(api, plan, {
            "phase": "Complete", "plan": _plan_steps(csv_name, package_name, namespace, "Created"),
            "conditions": [{"type": "Installed", "status": "True", "lastTransitionTime": now(),
                            "lastUpdateTime": now()}]})
        return None
    return None


# --- ClusterServiceVersion --------------------------------------------------------------------

def _supports(modes: list, operator_namespace: str, namespaces: list):
    """OLM's InstallModeSet.Supports: None when supported, else the error text."""
    supported = {m["type"]: m["supported"] for m in modes or []}
    count = len(namespaces)
    if count == 0:
        return "operatorgroup has invalid selected namespaces, cannot configure to watch zero namespaces"
    if count == 1:
        only = namespaces[0]
        if only == operator_namespace:
            if not supported.get("OwnNamespace"):
                return "OwnNamespace InstallModeType not supported, cannot configure to watch own namespace"
        elif only == "":
            if not supported.get("AllNamespaces"):
                return "AllNamespaces InstallModeType not supported, cannot configure to watch all namespaces"
        elif not supported.get("SingleNamespace"):
            return "SingleNamespace InstallModeType not supported, cannot configure to watch one namespace"
        return None
    if not supported.get("MultiNamespace"):
        return f"MultiNamespace InstallModeType not supported, cannot configure to watch {count} namespaces"
    for namespace in namespaces:
        if namespace == operator_namespace and not supported.get("OwnNamespace"):
            return "OwnNamespace InstallModeType not supported, cannot configure to watch own namespace"
        if namespace == "":
            return "operatorgroup has invalid selected namespaces, NamespaceAll found when |selected namespaces| > 1"
    return None


OG_FAILURES = ("NoOperatorGroup", "TooManyOperatorGroups", "UnsupportedOperatorGroup")


def _set_phase(api, csv: dict, phase: str, reason: str, message: str, extra=None):
    status = dict(csv.get("status") or {})
    if status.get("phase") == phase and status.get("reason") == reason:
        changed = {k: v for k, v in (extra or {}).items() if status.get(k) != v}
        return vc.update_status(api, csv, changed) if changed else csv
    history = list(status.get("conditions") or [])
    stamp = now()
    history.append({"phase": phase, "reason": reason, "message": message,
                    "lastTransitionTime": stamp, "lastUpdateTime": stamp})
    new = {"phase": phase, "reason": reason, "message": message, "lastTransitionTime": stamp,
           "lastUpdateTime": stamp, "conditions": history[-20:], **(extra or {})}
    updated = vc.update_status(api, csv, new)
    if updated is not None:
        try:
            api.event(csv, "Warning" if phase == "Failed" else "Normal", reason, message)
        except ApiException:
            pass
    return updated


def _requirements(api, csv: dict) -> tuple:
    statuses, met = [], True
    for owned in ((csv["spec"].get("customresourcedefinitions") or {}).get("owned") or []):
        crd = api.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", owned["name"])
        established = crd is not None and any(
            c.get("type") == "Established" and c.get("status") == "True"
            for c in (crd.get("status") or {}).get("conditions") or [])
        met = met and established
        statuses.append({"group": "apiextensions.k8s.io", "version": "v1", "kind": "CustomResourceDefinition",
                         "name": owned["name"], "status": "Present" if established else "NotPresent",
                         "message": "CRD is present and Established condition is true" if established
                         else "CRD is not present", "uuid": (crd or {}).get("metadata", {}).get("uid", "")})
    return met, statuses


def _webhook_configuration_name(csv: dict, desc: dict) -> str:
    meta = csv["metadata"]
    return f"{desc['generateName']}-{vc.short_hash(meta['namespace'] + '/' + meta['name'], 8)}"


def _install_webhooks(api, csv: dict, og: dict) -> None:
    if _server is None:
        return
    meta = csv["metadata"]
    selector = namespace_label_selector(og)
    for desc in csv["spec"].get("webhookdefinitions") or []:
        kind = {"ValidatingAdmissionWebhook": "Validating", "MutatingAdmissionWebhook": "Mutating"}.get(desc["type"])
        if kind is None:
            continue
        webhook = {
            "name": desc["generateName"],
            "clientConfig": {"url": _server.url(desc.get("webhookPath") or "/"), "caBundle": _server.ca_bundle},
            "rules": desc.get("rules") or [],
            "failurePolicy": desc.get("failurePolicy") or "Fail",
            "matchPolicy": desc.get("matchPolicy") or "Equivalent",
            "sideEffects": desc["sideEffects"],
            # The API server sends the first version it knows; the lab's webhook server answers v1.
            "admissionReviewVersions": ["v1"],
            "timeoutSeconds": min(int(desc.get("timeoutSeconds") or 10), 30),
        }
        if selector:
            webhook["namespaceSelector"] = selector
        if desc.get("objectSelector"):
            webhook["objectSelector"] = desc["objectSelector"]
        plural = "validatingwebhookconfigurations" if kind == "Validating" else "mutatingwebhookconfigurations"
        configuration = {
            "apiVersion": "admissionregistration.k8s.io/v1", "kind": f"{kind}WebhookConfiguration",
            "metadata": {"name": _webhook_configuration_name(csv, desc),
                         "labels": {"olm.owner": meta["name"], "olm.owner.namespace": meta["namespace"],
                                    "olm.owner.kind": "ClusterServiceVersion",
                                    WEBHOOK_DESC_KEY: desc["generateName"]}},
            "webhooks": [webhook],
        }
        existing = api.get("admissionregistration.k8s.io/v1", f"{kind}WebhookConfiguration",
                           configuration["metadata"]["name"])
        if existing and existing.get("webhooks") and all(
                existing["webhooks"][0].get(k) == webhook.get(k)
                for k in ("clientConfig", "namespaceSelector", "admissionReviewVersions")):
            continue
        vc.apply(api, plural, configuration)


# --- install check: the knob that makes it time out ---------------------------------------------

INSTALL_TIMEOUTS_ANNOTATION = "lab.ontap.virtualization/install-timeouts"
MAX_INSTALL_TIMEOUTS = 3
# The lab's stand-ins for OLM's time scale: upstream a CSV fails when its deployments are not
# healthy 5 minutes after it entered Installing; the next sync then sends it back to Pending.
INSTALL_TIMEOUT_SECONDS = 3.0
FAILED_SECONDS = 2.0


def install_timeouts_wanted(api, csv: dict) -> int:
    """How often this CSV's install check is to time out: the annotation
    `lab.ontap.virtualization/install-timeouts: "<n>"` (1 to 3) on the Subscription that installs
    it, else on its Namespace; 0 without one."""
    meta = csv["metadata"]
    value = None
    for sub in api.list(*SUBSCRIPTION, namespace=meta["namespace"]):
        sub_status = sub.get("status") or {}
        if meta["name"] in (sub_status.get("currentCSV"), sub_status.get("installedCSV")):
            value = (sub["metadata"].get("annotations") or {}).get(INSTALL_TIMEOUTS_ANNOTATION)
            break
    if value is None:
        namespace = api.get("v1", "Namespace", meta["namespace"]) or {"metadata": {}}
        value = (namespace["metadata"].get("annotations") or {}).get(INSTALL_TIMEOUTS_ANNOTATION)
    try:
        return max(0, min(int(value or 0), MAX_INSTALL_TIMEOUTS))
    except ValueError:
        log.warning("olm: %s/%s: %s=%r is not a number; ignored", meta["namespace"], meta["name"],
                    INSTALL_TIMEOUTS_ANNOTATION, value)
        return 0


def _install_checks_failed(status: dict) -> int:
    return sum(1 for c in status.get("conditions") or [] if c.get("reason") == "InstallCheckFailed")


def _deployments_waiting(csv: dict) -> str:
    """updateInstallStatus' message while the first deployment is not available (install/deployment.go,
    status_viewer.go DeploymentStatus; the Available condition's message is the deployment controller's)."""
    deployments = ((csv["spec"].get("install") or {}).get("spec") or {}).get("deployments") or [{"name": "operator"}]
    name = deployments[0]["name"]
    return (f'installing: waiting for deployment {name} to become ready: deployment "{name}" not available: '
            "Deployment does not have minimum availability.")


def _since_transition(status: dict) -> float:
    stamp = status.get("lastTransitionTime")
    return time.time() - vc.parse_time(stamp) if stamp else 0.0


def _wait_for_deployments(api, csv: dict, status: dict):
    """transitionCSVState, case Installing: the deployments are not healthy (InstallWaiting); once
    that has lasted the install timeout, Failed with InstallCheckFailed "install timeout"."""
    if status.get("reason") != "InstallWaiting":
        _set_phase(api, csv, "Installing", "InstallWaiting", _deployments_waiting(csv))
        return INSTALL_TIMEOUT_SECONDS
    waited = _since_transition(status)
    if waited < INSTALL_TIMEOUT_SECONDS:
        return INSTALL_TIMEOUT_SECONDS - waited
    _set_phase(api, csv, "Failed", "InstallCheckFailed", "install timeout")
    return FAILED_SECONDS


def _reinstall(api, csv: dict, status: dict):
    """transitionCSVState, case Failed: requirements are met and the deployments still not healthy,
    so updateInstallStatus moves the CSV to Pending with NeedsReinstall; from there it installs again."""
    waited = _since_transition(status)
    if waited < FAILED_SECONDS:
        return FAILED_SECONDS - waited
    met, statuses = _requirements(api, csv)
    if not met:
        _set_phase(api, csv, "Pending", "RequirementsNotMet", "requirements not met", {"requirementStatus": statuses})
        return 5.0
    _set_phase(api, csv, "Pending", "NeedsReinstall", _deployments_waiting(csv))
    return step_delay()


def reconcile_csv(api, csv: dict):
    if csv["metadata"].get("deletionTimestamp"):
        return None
    meta = csv["metadata"]
    namespace = meta["namespace"]
    status = csv.get("status") or {}
    phase = status.get("phase") or ""
    groups = api.list(*OPERATOR_GROUP, namespace=namespace)
    if not groups:
        _set_phase(api, csv, "Failed", "NoOperatorGroup", "csv in namespace with no operatorgroups")
        return 15.0
    if len(groups) > 1:
        _set_phase(api, csv, "Failed", "TooManyOperatorGroups",
                   "csv created in namespace with multiple operatorgroups, can't pick one automatically")
        return 15.0
    og = groups[0]
    targets = (og.get("status") or {}).get("namespaces")
    if targets is None:
        return step_delay()  # the OperatorGroup controller has not reported its namespaces yet
    wanted = {"olm.operatorGroup": og["metadata"]["name"], "olm.operatorNamespace": namespace,
              "olm.targetNamespaces": ",".join(targets)}
    annotations = meta.get("annotations") or {}
    if any(annotations.get(k) != v for k, v in wanted.items()):
        vc.patch(api, csv, {"metadata": {"annotations": wanted}})
        return 0.05
    problem = _supports(csv["spec"].get("installModes"), namespace, targets)
    if problem:
        _set_phase(api, csv, "Failed", "UnsupportedOperatorGroup", problem)
        return 15.0
    if phase == "Failed" and status.get("reason") in OG_FAILURES:
        # transitionCSVState, case Failed: the OperatorGroup was fixed, requirements are checked again.
        _set_phase(api, csv, "Pending", "RequirementsUnknown", "InstallModes now support target namespaces")
        return step_delay()

    if phase == "":
        _set_phase(api, csv, "Pending", "RequirementsUnknown", "requirements not yet checked")
        return step_delay()
    if phase == "Pending":
        met, statuses = _requirements(api, csv)
        if not met:
            _set_phase(api, csv, "Pending", "RequirementsNotMet", "one or more requirements couldn't be found",
                       {"requirementStatus": statuses})
            return 5.0
        replaced = csv["spec"].get("replaces")
        if replaced:
            old = api.get(*CSV, replaced, namespace)
            if old is not None and (old.get("status") or {}).get("phase") not in ("Replacing", "Deleting"):
                _set_phase(api, old, "Replacing", "BeingReplaced", f"being replaced by csv: {namespace}/{meta['name']}")
        _set_phase(api, csv, "InstallReady", "RequirementsMet", "all requirements found, attempting install",
                   {"requirementStatus": statuses})
        return step_delay()
    if phase == "InstallReady":
        _install_webhooks(api, csv, og)
        _set_phase(api, csv, "Installing", "InstallSucceeded", "waiting for install components to report healthy")
        return step_delay()
    if phase == "Installing":
        _install_webhooks(api, csv, og)
        if _install_checks_failed(status) < install_timeouts_wanted(api, csv):
            return _wait_for_deployments(api, csv, status)
        _set_phase(api, csv, "Succeeded", "InstallSucceeded", "install strategy completed with no errors")
        return step_delay()
    if phase == "Failed" and status.get("reason") == "InstallCheckFailed":
        return _reinstall(api, csv, status)
    if phase == "Succeeded":
        _install_webhooks(api, csv, og)  # again after a restart: the webhook server's port changed
        replaced = csv["spec"].get("replaces")
        if replaced:
            old = api.get(*CSV, replaced, namespace)
            if old is not None:
                _set_phase(api, old, "Deleting", "Replaced", "The CSV has been replaced by a new CSV")
                vc.delete(api, *CSV, replaced, namespace)
        return None
    return None


# --- webhook configurations whose CSV is gone --------------------------------------------------

def _gc_webhooks(kind: str):
    def reconcile(api, configuration: dict):
        labels = configuration["metadata"].get("labels") or {}
        if labels.get("olm.owner.kind") != "ClusterServiceVersion":
            return None
        if api.get(*CSV, labels.get("olm.owner"), labels.get("olm.owner.namespace")) is None:
            vc.delete(api, "admissionregistration.k8s.io/v1", kind, configuration["metadata"]["name"])
        return None
    return reconcile


def _csv_webhook_keys(obj: dict) -> list:
    return [(None, _webhook_configuration_name(obj, desc))
            for desc in (obj.get("spec") or {}).get("webhookdefinitions") or []]


def setup(manager, webhooks):
    global _server
    _server = webhooks
    api = manager.api

    def csvs_of_namespace(obj):
        namespace = obj["metadata"]["namespace"]
        try:
            return [(namespace, c["metadata"]["name"]) for c in api.list(*CSV, namespace=namespace)]
        except Exception:  # the watch retries; a missed requeue is caught by the resync
            return []

    def subs_of_namespace(obj):
        namespace = obj["metadata"]["namespace"]
        try:
            return [(namespace, s["metadata"]["name"]) for s in api.list(*SUBSCRIPTION, namespace=namespace)]
        except Exception:
            return []

    def subs_of_owner(obj):
        return [(obj["metadata"]["namespace"], ref["name"])
                for ref in obj["metadata"].get("ownerReferences") or [] if ref["kind"] == "Subscription"]

    manager.add(Controller("olm-catalogsource", *CATALOG_SOURCE, reconcile_catalog_source))
    manager.add(Controller("olm-operatorgroup", *OPERATOR_GROUP, reconcile_operator_group,
                           watches=[Watch(*CSV, lambda o: [(o["metadata"]["namespace"], og["metadata"]["name"])
                                                           for og in _groups(api, o["metadata"]["namespace"])])]))
    manager.add(Controller("olm-subscription", *SUBSCRIPTION, reconcile_subscription,
                           watches=[Watch(*INSTALL_PLAN, subs_of_owner), Watch(*CSV, subs_of_namespace),
                                    Watch(*OPERATOR_GROUP, subs_of_namespace)]))
    manager.add(Controller("olm-installplan", *INSTALL_PLAN, reconcile_install_plan))
    manager.add(Controller("olm-csv", *CSV, reconcile_csv, resync_seconds=30,
                           watches=[Watch(*OPERATOR_GROUP, csvs_of_namespace)]))
    for kind in ("ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"):
        manager.add(Controller(f"olm-webhook-gc-{kind[:4].lower()}", "admissionregistration.k8s.io/v1", kind,
                               _gc_webhooks(kind), watches=[Watch(*CSV, _csv_webhook_keys)]))
    threading.Thread(target=_ensure_catalog, args=(api,), daemon=True, name="olm:catalog").start()


def _groups(api, namespace):
    try:
        return api.list(*OPERATOR_GROUP, namespace=namespace)
    except Exception:
        return []

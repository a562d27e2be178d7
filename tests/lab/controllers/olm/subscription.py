"""The catalog operator's Subscription side: resolution, InstallPlans, upgrades one step at a time."""

from lab import catalog
from lab.controllers.conditions import remove_condition, set_condition
from lab.controllers.objects import owner_reference, short_hash
from lab.controllers.olm.kinds import (CATALOG_SOURCE, CSV, INSTALL_PLAN, OPERATOR_GROUP, OPERATORS_V1A1,
                                       package_label, ref)
from lab.controllers.runtime import log, now, step_delay


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
    return "install-" + short_hash(f"{sub['metadata']['uid']}/{generation}")


def _create_install_plan(api, sub: dict, csv_name: str, generation: int) -> dict:
    spec = sub["spec"]
    approval = spec.get("installPlanApproval") or "Automatic"
    plan = {
        "apiVersion": OPERATORS_V1A1, "kind": "InstallPlan",
        "metadata": {"name": _install_plan_name(sub, generation), "namespace": sub["metadata"]["namespace"],
                     "labels": {package_label(spec["name"], sub["metadata"]["namespace"]): ""},
                     "ownerReferences": [owner_reference(sub, controller=False, block=False)]},
        "spec": {"approval": approval, "approved": approval == "Automatic",
                 "clusterServiceVersionNames": [csv_name], "generation": generation,
                 "source": spec["source"], "sourceNamespace": spec["sourceNamespace"]},
    }
    return api.ensure(plan)


def reconcile_subscription(api, sub: dict):
    if sub["metadata"].get("deletionTimestamp"):
        return None
    namespace = sub["metadata"]["namespace"]
    spec = sub["spec"]
    status = dict(sub.get("status") or {})
    conditions = status.get("conditions") or []
    health, unhealthy = _catalog_health(api, sub)
    conditions = set_condition(conditions, "CatalogSourcesUnhealthy", *unhealthy)
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
            new["conditions"] = set_condition(conditions, "ResolutionFailed", "True",
                                              "ConstraintsNotSatisfiable", message)
            _write_sub_status(api, sub, status, new)
            return 10.0
        generation = int(status.get("installPlanGeneration") or 0) + 1
        plan = _create_install_plan(api, sub, entry["name"], generation)
        conditions = remove_condition(conditions, "ResolutionFailed")
        new.update(currentCSV=entry["name"], installPlanGeneration=generation, state="UpgradePending",
                   installPlanRef=ref(plan),
                   installplan={"apiVersion": OPERATORS_V1A1, "kind": "InstallPlan",
                                "name": plan["metadata"]["name"], "uuid": plan["metadata"]["uid"]})

    if plan is not None:
        phase = (plan.get("status") or {}).get("phase") or ""
        current = new.get("currentCSV") or status.get("currentCSV")
        if phase == "Complete":
            conditions = remove_condition(conditions, "InstallPlanPending")
            conditions = remove_condition(conditions, "InstallPlanFailed")
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
                               state="UpgradePending", installPlanRef=ref(upgrade),
                               installplan={"apiVersion": OPERATORS_V1A1, "kind": "InstallPlan",
                                            "name": upgrade["metadata"]["name"],
                                            "uuid": upgrade["metadata"]["uid"]})
                else:
                    new["state"] = "UpgradeAvailable"
        elif phase == "Failed":
            conditions = set_condition(conditions, "InstallPlanFailed", "True", "InstallComponentFailed",
                                       (plan.get("status") or {}).get("message", ""))
            new["state"] = "UpgradeFailed"
        elif phase == "RequiresApproval":
            conditions = set_condition(conditions, "InstallPlanPending", "True", "RequiresApproval", "")
            new["state"] = "UpgradePending"
        else:
            conditions = set_condition(conditions, "InstallPlanPending", "True", "Installing", "")
        if plan is not None and "installPlanRef" not in new:
            new["installPlanRef"] = ref(plan)
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
    api.patch_status(sub, new, guarded=True)

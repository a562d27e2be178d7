"""The catalog operator's Subscription side: resolution, InstallPlans, upgrades one step at a time."""

from dataclasses import dataclass, field
from typing import Optional

from lab import catalog
from lab.controllers.conditions import remove_condition, set_condition
from lab.controllers.objects import owner_reference, short_hash
from lab.controllers.olm.kinds import (CATALOG_SOURCE, CSV, INSTALL_PLAN, OPERATOR_GROUP, OPERATORS_V1A1,
                                       package_label, ref)
from lab.controllers.runtime import CONTINUE, log, now, run_steps, step_delay


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


@dataclass
class _Sync:
    """One reconcile of a Subscription: what it read (``status``, ``plan``) and the status it builds."""
    sub: dict
    status: dict
    new: dict = field(default_factory=dict)
    conditions: list = field(default_factory=list)
    catalog_healthy: bool = False
    plan: Optional[dict] = None

    @property
    def namespace(self) -> str:
        return self.sub["metadata"]["namespace"]

    def write(self, api) -> None:
        self.new["conditions"] = self.conditions
        _write_sub_status(api, self.sub, self.status, self.new)


def reconcile_subscription(api, sub: dict):
    if sub["metadata"].get("deletionTimestamp"):
        return None
    return run_steps((_check_catalog_health, _require_one_operator_group, _find_install_plan, _resolve_and_plan,
                      _follow_install_plan, _report), api, _Sync(sub, dict(sub.get("status") or {})))


def _check_catalog_health(api, s: _Sync):
    health, unhealthy = _catalog_health(api, s.sub)
    s.conditions = set_condition(s.status.get("conditions") or [], "CatalogSourcesUnhealthy", *unhealthy)
    s.catalog_healthy = unhealthy[0] == "False"
    s.new = {"catalogHealth": health, "lastUpdated": now()}
    return CONTINUE


def _require_one_operator_group(api, s: _Sync):
    groups = api.list(*OPERATOR_GROUP, namespace=s.namespace)
    if len(groups) == 1:
        return CONTINUE
    # As the catalog operator does (v0.45.0 syncResolvingNamespace -> resolver.IsFailForwardEnabled):
    # it cannot resolve this namespace and returns before any InstallPlan or condition.
    log.info("olm: namespace %s: found %d operatorGroups, expected 1", s.namespace, len(groups))
    s.write(api)
    return 10.0


def _find_install_plan(api, s: _Sync):
    if s.status.get("installPlanRef"):
        s.plan = api.get(*INSTALL_PLAN, s.status["installPlanRef"]["name"], s.namespace)
    installed = s.status.get("installedCSV")
    if installed and api.get(*CSV, installed, s.namespace) is None and (
            s.plan is None or (s.plan.get("status") or {}).get("phase") == "Complete"):
        # The CSV was deleted while the Subscription stayed: OLM resolves and installs again.
        s.new.update(installedCSV=None, currentCSV=None, installPlanRef=None, installplan=None, state=None)
        s.status.update(installedCSV=None, currentCSV=None, installPlanRef=None)
        s.plan = None
    return CONTINUE


def _resolve_and_plan(api, s: _Sync):
    """Nothing installed or on its way: resolve a bundle from the catalog and plan its install."""
    if s.plan is not None or s.status.get("currentCSV"):
        return CONTINUE
    entry, _, problem = _resolve(s.sub, s.catalog_healthy)
    if problem:
        message = f"constraints not satisfiable: {problem}, subscription {s.sub['metadata']['name']} exists"
        s.conditions = set_condition(s.conditions, "ResolutionFailed", "True", "ConstraintsNotSatisfiable", message)
        s.write(api)
        return 10.0
    s.plan = _plan(api, s, entry["name"])
    s.conditions = remove_condition(s.conditions, "ResolutionFailed")
    return CONTINUE


def _plan(api, s: _Sync, csv_name: str) -> dict:
    """A new InstallPlan for ``csv_name`` (the next generation), recorded in the new status."""
    generation = int(s.status.get("installPlanGeneration") or 0) + 1
    plan = _create_install_plan(api, s.sub, csv_name, generation)
    s.new.update(currentCSV=csv_name, installPlanGeneration=generation, state="UpgradePending",
                 installPlanRef=ref(plan),
                 installplan={"apiVersion": OPERATORS_V1A1, "kind": "InstallPlan",
                              "name": plan["metadata"]["name"], "uuid": plan["metadata"]["uid"]})
    return plan


def _follow_install_plan(api, s: _Sync):
    """The plan's phase becomes the Subscription's state; a completed one may lead to an upgrade."""
    if s.plan is None:
        return CONTINUE
    phase = (s.plan.get("status") or {}).get("phase") or ""
    if phase == "Complete":
        s.conditions = remove_condition(s.conditions, "InstallPlanPending")
        s.conditions = remove_condition(s.conditions, "InstallPlanFailed")
        _upgrade_when_installed(api, s)
    elif phase == "Failed":
        s.conditions = set_condition(s.conditions, "InstallPlanFailed", "True", "InstallComponentFailed",
                                     (s.plan.get("status") or {}).get("message", ""))
        s.new["state"] = "UpgradeFailed"
    elif phase == "RequiresApproval":
        s.conditions = set_condition(s.conditions, "InstallPlanPending", "True", "RequiresApproval", "")
        s.new["state"] = "UpgradePending"
    else:
        s.conditions = set_condition(s.conditions, "InstallPlanPending", "True", "Installing", "")
    if "installPlanRef" not in s.new:
        s.new["installPlanRef"] = ref(s.plan)
    return CONTINUE


def _upgrade_when_installed(api, s: _Sync) -> None:
    """Installed: at the latest known, or one step up the channel once the installed CSV succeeded."""
    current = s.new.get("currentCSV") or s.status.get("currentCSV")
    csv = api.get(*CSV, current, s.namespace)
    if csv is None:
        return
    spec = s.sub["spec"]
    s.new["installedCSV"] = current
    channel = spec.get("channel") or (catalog.package(spec["name"]) or {}).get("defaultChannel")
    successor = catalog.successor(spec["name"], channel, current)
    if successor is None:
        s.new["state"] = "AtLatestKnown"
    elif (csv.get("status") or {}).get("phase") == "Succeeded":
        _plan(api, s, successor["name"])
    else:
        s.new["state"] = "UpgradeAvailable"


def _report(api, s: _Sync):
    s.write(api)
    state = s.new.get("state", s.status.get("state"))
    waiting = s.plan is not None and (s.plan.get("status") or {}).get("phase") == "RequiresApproval"
    return 15.0 if (state == "AtLatestKnown" and s.plan is not None) or waiting else step_delay()


def _write_sub_status(api, sub: dict, old: dict, new: dict) -> None:
    interesting = {k: v for k, v in new.items() if k not in ("lastUpdated", "catalogHealth")}
    unchanged = all(old.get(k) == v for k, v in interesting.items())
    health_same = [(h["catalogSourceRef"]["name"], h["healthy"]) for h in old.get("catalogHealth") or []] == \
                  [(h["catalogSourceRef"]["name"], h["healthy"]) for h in new["catalogHealth"]]
    if unchanged and health_same:
        return
    api.patch_status(sub, new, guarded=True)

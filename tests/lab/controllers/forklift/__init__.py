"""Simulated Forklift / Migration Toolkit for Virtualization (kubev2v/forklift v2.12.5) against vcsim.

- `operator`: runs where OLM installed `mtv-operator` and a ForkliftController exists; creates the
  `host` Provider and registers forklift-api's Provider webhooks (`webhooks`); the controller's
  settings come from the ForkliftController (`settings`).
- `provider`: Provider validation, connection test, fingerprint, conditions and phases.
- `maps`, `plan`: NetworkMap, StorageMap and Plan validation against the inventory.
- `inventory` + `model` + `concerns`: one collector per Provider reading vcsim through pyVmomi
  (`vsphere`), documents shaped like the inventory's, VM concerns like the rego rules.
- `web`: the inventory REST service on 127.0.0.1 (lab var `forklift_inventory_url`).

- `runner` (the plan controller's migration pass) with `migration` (snapshots, VM status),
  `itinerary` (phases and pipeline steps), `phases` (what each phase does), `source` (the
  source VM in vcsim) and `target` (DataVolumes, the VirtualMachine).
"""

from lab import paths, pki
from lab.controllers.forklift.inventory import Collectors
from lab.controllers.forklift import maps, operator, plan, populator, webhooks
from lab.controllers.forklift.populator import XCOPY_POPULATOR
from lab.controllers.forklift.migration import MIGRATION
from lab.controllers.forklift.kinds import (CSV, FORKLIFT_CONTROLLER, NAD, NETWORK_MAP, PLAN, PROVIDER, SECRET,
                                           STORAGE_CLASS, STORAGE_MAP, VIRTUAL_MACHINE)
from lab.controllers.forklift.provider import make_reconcile
from lab.controllers.forklift.web import InventoryServer
from lab.controllers.runtime import Controller, Watch
from lab.state import Lab


def _all_of(api, kind):
    """A Watch map that requeues every object of `kind` (providers and maps are few)."""
    def keys(_obj):
        return [(o["metadata"]["namespace"], o["metadata"]["name"]) for o in api.list(*kind)]
    return keys


def _providers_of_secret(api):
    def keys(secret):
        meta = secret["metadata"]
        return [(p["metadata"]["namespace"], p["metadata"]["name"]) for p in api.list(*PROVIDER)
                if (p["spec"].get("secret") or {}).get("name") == meta["name"]
                and (p["spec"].get("secret") or {}).get("namespace") == meta["namespace"]]
    return keys


def _controllers_of_namespace(api):
    def keys(csv):
        namespace = csv["metadata"]["namespace"]
        return [(namespace, c["metadata"]["name"]) for c in api.list(*FORKLIFT_CONTROLLER, namespace=namespace)]
    return keys


def setup(manager, webhooks_server):
    api = manager.api
    collectors = Collectors()
    state_dir = paths.state_dir()
    lab = Lab.load(state_dir)
    serving = pki.CA(state_dir / "pki").issue("forklift-inventory", "forklift-inventory", hosts=pki.LOOPBACK_NAMES)
    InventoryServer(api, collectors, lab.ports["forklift-inventory"], serving.cert, serving.key).start()
    webhooks_server.route(webhooks.MUTATE_PATH, webhooks.mutate_provider)
    webhooks_server.route(webhooks.VALIDATE_PATH, webhooks.admit_provider)
    manager.add(Controller("forklift-operator", *FORKLIFT_CONTROLLER, operator.make_reconcile(webhooks_server),
                           watches=[Watch(*CSV, _controllers_of_namespace(api))]))
    manager.add(Controller("forklift-provider", *PROVIDER, make_reconcile(collectors),
                           gone=lambda api_, key: collectors.stop_named(*key), resync_seconds=60,
                           watches=[Watch(*SECRET, _providers_of_secret(api)),
                                    Watch(*FORKLIFT_CONTROLLER, _all_of(api, PROVIDER))]))
    for name, kind, documents, destination in (("forklift-networkmap", NETWORK_MAP, "networks", NAD),
                                                ("forklift-storagemap", STORAGE_MAP, "datastores", STORAGE_CLASS)):
        manager.add(Controller(name, *kind, maps.make_reconcile(collectors, documents), resync_seconds=60,
                               watches=[Watch(*PROVIDER, _all_of(api, kind)), Watch(*destination, _all_of(api, kind))]))
    manager.add(Controller("forklift-plan", *PLAN, plan.make_reconcile(collectors), resync_seconds=60,
                           watches=[Watch(*kind, _all_of(api, PLAN)) for kind in (PROVIDER, NETWORK_MAP, STORAGE_MAP,
                                                                                   VIRTUAL_MACHINE)]
                           + [Watch(*MIGRATION, _plan_of_migration)]))
    manager.add(Controller("vsphere-copy-offload-populator", *XCOPY_POPULATOR, populator.reconcile,
                           watches=[Watch("v1", "PersistentVolumeClaim", _populator_of_claim)]))


def _populator_of_claim(claim):
    ref = claim["spec"].get("dataSourceRef") or {}
    return [(claim["metadata"]["namespace"], ref["name"])] if ref.get("kind") == XCOPY_POPULATOR[1] else []


def _plan_of_migration(migration):
    ref = migration["spec"].get("plan") or {}
    return [(ref.get("namespace") or migration["metadata"]["namespace"], ref["name"])] if ref.get("name") else []

"""Simulated OLM (operator-framework v0): catalog, OperatorGroups, Subscriptions, InstallPlans, CSVs.

What the catalog operator and the OLM operator do, for the packages of `lab.catalog`:

- the CatalogSource `redhat-operators` in `openshift-marketplace` exists (created at start
  when missing) and reports `connectionState.lastObservedState: READY`;
- OperatorGroup: `status.namespaces`, the `olm.operatorgroup.uid/<uid>` label on its target
  namespaces, the `olm.providedAPIs` annotation;
- Subscription -> resolution against the catalog (failures are `ResolutionFailed` with the
  resolver's message) -> InstallPlan (approved at once for Automatic; Manual waits for
  `spec.approved: true`) -> ClusterServiceVersion in the Subscription's namespace, then
  upgrades while the channel has a bundle that replaces, skips or (skipRange) covers the
  installed one, to the newest such bundle;
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
3 s (OLM: 5 minutes) Failed (InstallCheckFailed, "install timeout"), 2 s later Pending
(NeedsReinstall), then InstallReady -> Installing again; after the n-th
timeout the deployments are healthy and it reaches Succeeded. Without the annotation an
install never fails this way.

Not simulated: bundle unpack jobs, operator Deployments and their pods,
copied CSVs in target namespaces, the `Operator`/`OperatorCondition` objects, and the
PackageManifest API (packages.operators.coreos.com is an aggregated API server).

Modules: `kinds` (the kinds and shared helpers), `catalog_source`, `operator_group`,
`subscription` and `install_plan` (the catalog operator), `cluster_service_version` (the OLM
operator, with the install-timeout knob) and `webhooks` (the bundle's webhooks installed and
collected).
"""

import threading

from lab.controllers.olm import webhooks as olm_webhooks
from lab.controllers.olm.catalog_source import ensure_catalog, reconcile_catalog_source
from lab.controllers.olm.cluster_service_version import reconcile_csv
from lab.controllers.olm.install_plan import reconcile_install_plan
from lab.controllers.olm.kinds import CATALOG_SOURCE, CSV, INSTALL_PLAN, OPERATOR_GROUP, SUBSCRIPTION
from lab.controllers.olm.operator_group import reconcile_operator_group
from lab.controllers.olm.subscription import reconcile_subscription
from lab.controllers.runtime import Controller, Watch


def setup(manager, webhooks):
    olm_webhooks.use_server(webhooks)
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
                               olm_webhooks.gc_webhooks(kind), watches=[Watch(*CSV, olm_webhooks.csv_webhook_keys)]))
    threading.Thread(target=ensure_catalog, args=(api,), daemon=True, name="olm:catalog").start()


def _groups(api, namespace):
    try:
        return api.list(*OPERATOR_GROUP, namespace=namespace)
    except Exception:
        return []

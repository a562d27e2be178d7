"""OLM in the lab: catalog, Subscription -> InstallPlan -> CSV, approvals, upgrades and refusals."""

import time

import pytest

from virt_helpers import (CATALOG_SOURCE, CSV, INSTALL_PLAN, OPERATOR_GROUP, SUBSCRIPTION, condition,
                          operator_group, sub_status, subscribe, wait_csv, wait_for)

HEAD = "kubevirt-hyperconverged-operator.v4.21.3"


def test_catalog_source_is_ready(kube):
    source = kube.wait(*CATALOG_SOURCE, "redhat-operators", "openshift-marketplace",
                       lambda s: ((s.get("status") or {}).get("connectionState") or {}).get("lastObservedState")
                       == "READY", "to be READY")
    assert source["spec"]["sourceType"] == "grpc"
    assert source["status"]["registryService"]["serviceName"] == "redhat-operators"


def test_automatic_install_reaches_succeeded(kube, namespace):
    operator_group(kube, namespace, [namespace])
    subscribe(kube, namespace)
    csv = wait_csv(kube, namespace, HEAD)
    status = kube.wait(*SUBSCRIPTION, "sub", namespace, lambda s: (s.get("status") or {}).get("state") ==
                       "AtLatestKnown", "to be AtLatestKnown")["status"]
    assert status["currentCSV"] == status["installedCSV"] == HEAD
    assert status["installPlanRef"]["kind"] == "InstallPlan"
    assert condition({"status": status}, "CatalogSourcesUnhealthy")["status"] == "False"
    plan = kube.get(*INSTALL_PLAN, status["installPlanRef"]["name"], namespace)
    assert plan["spec"]["approval"] == "Automatic" and plan["spec"]["approved"] is True
    assert plan["spec"]["clusterServiceVersionNames"] == [HEAD]
    assert plan["status"]["phase"] == "Complete"
    phases = [c["phase"] for c in csv["status"]["conditions"]]
    assert phases == ["Pending", "InstallReady", "Installing", "Succeeded"], phases
    assert csv["status"]["reason"] == "InstallSucceeded"
    assert csv["metadata"]["annotations"]["olm.targetNamespaces"] == namespace
    assert csv["metadata"]["annotations"]["olm.operatorGroup"] == "og"
    assert csv["spec"]["version"] == "4.21.3"
    group = kube.get(*OPERATOR_GROUP, "og", namespace)
    assert group["status"]["namespaces"] == [namespace]
    assert "HyperConverged.v1beta1.hco.kubevirt.io" in group["metadata"]["annotations"]["olm.providedAPIs"]
    # OLM installs the bundle's webhooks, scoped to the OperatorGroup's namespaces.
    hooks = [w for w in kube.list("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
                                  label_selector=f"olm.owner={HEAD},olm.owner.namespace={namespace}")]
    assert len(hooks) == 1 and hooks[0]["webhooks"][0]["name"] == "validate-hco.kubevirt.io"
    selector = hooks[0]["webhooks"][0]["namespaceSelector"]["matchLabels"]
    assert selector == {f"olm.operatorgroup.uid/{group['metadata']['uid']}": ""}


def test_manual_approval_waits_then_installs_and_offers_the_upgrade(kube, namespace):
    operator_group(kube, namespace, [namespace])
    older = "kubevirt-hyperconverged-operator.v4.21.0"
    subscribe(kube, namespace, approval="Manual", starting=older)
    status = kube.wait(*SUBSCRIPTION, "sub", namespace,
                       lambda s: condition(s, "InstallPlanPending").get("reason") == "RequiresApproval",
                       "to wait for approval")["status"]
    plan_name = status["installPlanRef"]["name"]
    plan = kube.get(*INSTALL_PLAN, plan_name, namespace)
    assert plan["spec"]["approval"] == "Manual" and plan["spec"]["approved"] is False
    assert plan["status"]["phase"] == "RequiresApproval"
    assert status["currentCSV"] == older and status["state"] == "UpgradePending"
    time.sleep(1.5)  # nothing is installed while nobody approves
    assert kube.list(*CSV, namespace) == []

    kube.patch(*INSTALL_PLAN, plan_name, namespace, {"spec": {"approved": True}})
    wait_csv(kube, namespace, older)
    # The channel has a newer bundle that replaces it: a second plan, waiting for approval again.
    newer = "kubevirt-hyperconverged-operator.v4.21.1"
    upgrade = kube.wait(*SUBSCRIPTION, "sub", namespace,
                        lambda s: (s.get("status") or {}).get("currentCSV") == newer
                        and condition(s, "InstallPlanPending").get("reason") == "RequiresApproval",
                        "to offer the upgrade")["status"]
    assert upgrade["installedCSV"] == older and upgrade["state"] == "UpgradePending"
    assert upgrade["installPlanRef"]["name"] != plan_name
    kube.patch(*INSTALL_PLAN, upgrade["installPlanRef"]["name"], namespace, {"spec": {"approved": True}})
    newer = wait_csv(kube, namespace, "kubevirt-hyperconverged-operator.v4.21.1")
    assert newer["spec"]["replaces"] == older
    kube.wait_gone(*CSV, older, namespace)  # replaced CSVs go


@pytest.mark.parametrize("groups", [0, 2])
def test_a_namespace_without_exactly_one_operator_group_is_not_resolved(kube, namespace, groups):
    # OLM v0.45.0, pkg/controller/operators/catalog/operator.go syncResolvingNamespace: it returns the
    # error of resolver.IsFailForwardEnabled (registry/resolver/fail_forward.go: "found %d operatorGroups,
    # expected 1") before ResolveSteps, so no InstallPlan, no CSV and no resolution condition is written;
    # the Subscription only gets its catalog health (the subscription syncer runs apart from resolution).
    for index in range(groups):
        operator_group(kube, namespace, [namespace], name=f"og-{index}")
    subscribe(kube, namespace)
    kube.wait(*SUBSCRIPTION, "sub", namespace, lambda s: (s.get("status") or {}).get("catalogHealth"),
              "to report catalog health")
    time.sleep(2)
    status = sub_status(kube, namespace)
    assert not status.get("installPlanRef") and not status.get("currentCSV"), status
    assert {c["type"] for c in status.get("conditions") or []} == {"CatalogSourcesUnhealthy"}, status
    assert kube.list(*INSTALL_PLAN, namespace) == [] and kube.list(*CSV, namespace) == []
    # With exactly one OperatorGroup the namespace resolves.
    for index in range(1, groups):
        kube.delete(*OPERATOR_GROUP, f"og-{index}", namespace)
    if groups == 0:
        operator_group(kube, namespace, [namespace])
    wait_csv(kube, namespace, HEAD)


def test_csv_fails_without_its_operator_group(kube, namespace):
    operator_group(kube, namespace, [namespace])
    subscribe(kube, namespace)
    wait_csv(kube, namespace, HEAD)
    kube.delete(*OPERATOR_GROUP, "og", namespace)
    csv = wait_csv(kube, namespace, HEAD, "Failed")
    assert csv["status"]["reason"] == "NoOperatorGroup"
    assert csv["status"]["message"] == "csv in namespace with no operatorgroups"


@pytest.mark.parametrize("targets,expected", [
    (None, "AllNamespaces InstallModeType not supported, cannot configure to watch all namespaces"),
    (["default", "kube-public"], "MultiNamespace InstallModeType not supported, cannot configure to watch 2 "
                                 "namespaces"),
])
def test_operator_group_the_bundle_does_not_support(kube, namespace, targets, expected):
    operator_group(kube, namespace, targets)
    subscribe(kube, namespace)
    csv = wait_csv(kube, namespace, HEAD, "Failed")
    assert csv["status"]["reason"] == "UnsupportedOperatorGroup"
    assert csv["status"]["message"] == expected


@pytest.mark.parametrize("spec,expected", [
    ({"package": "no-such-operator"},
     "no operators found in package no-such-operator in the catalog referenced by subscription sub"),
    ({"channel": "fast"},
     "no operators found in channel fast of package kubevirt-hyperconverged in the catalog referenced by "
     "subscription sub"),
    ({"starting": "kubevirt-hyperconverged-operator.v9.99.0"},
     "no operators found with name kubevirt-hyperconverged-operator.v9.99.0 in channel stable of package "
     "kubevirt-hyperconverged in the catalog referenced by subscription sub"),
    ({"source": "community-operators"},
     "no operators found from catalog community-operators in namespace openshift-marketplace referenced by "
     "subscription sub"),
])
def test_resolution_failures_name_what_is_missing(kube, namespace, spec, expected):
    operator_group(kube, namespace, [namespace])
    subscribe(kube, namespace, **spec)
    failed = kube.wait(*SUBSCRIPTION, "sub", namespace,
                       lambda s: condition(s, "ResolutionFailed").get("status") == "True", "to fail resolution")
    found = condition(failed, "ResolutionFailed")
    assert found["reason"] == "ConstraintsNotSatisfiable"
    assert found["message"] == f"constraints not satisfiable: {expected}, subscription sub exists"
    assert kube.list(*INSTALL_PLAN, namespace) == []


def test_deleting_the_subscription_keeps_the_csv_and_deleting_the_csv_removes_the_operator(kube, namespace):
    operator_group(kube, namespace, [namespace])
    subscribe(kube, namespace)
    wait_csv(kube, namespace, HEAD)
    selector = f"olm.owner={HEAD},olm.owner.namespace={namespace}"
    assert kube.list("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration", label_selector=selector)
    kube.delete(*SUBSCRIPTION, "sub", namespace)
    time.sleep(1)
    assert (kube.get(*CSV, HEAD, namespace)["status"]["phase"]) == "Succeeded"
    kube.delete(*CSV, HEAD, namespace)
    wait_for(lambda: not kube.list("admissionregistration.k8s.io/v1", "ValidatingWebhookConfiguration",
                                   label_selector=selector), "the operator's webhook to be removed")


# --- a transient install failure, on request ---------------------------------------------------------

TIMEOUTS = "lab.ontap.virtualization/install-timeouts"


@pytest.mark.parametrize("where,count", [("Subscription", 1), ("Namespace", 2)])
def test_install_timeout_fails_the_csv_then_it_is_reinstalled(kube, namespace, where, count):
    # OLM v0.45.0 pkg/controller/operators/olm/operator.go transitionCSVState: Installing with unhealthy
    # deployments (updateInstallStatus: InstallWaiting) turns Failed / InstallCheckFailed "install timeout"
    # after 5 minutes; in Failed, with the requirements met and the deployments still unhealthy,
    # updateInstallStatus sends it to Pending / NeedsReinstall, and from there it installs again.
    # The lab does that on request (the annotation), on its own time scale.
    if where == "Namespace":
        kube.patch("v1", "Namespace", namespace, None, {"metadata": {"annotations": {TIMEOUTS: str(count)}}})
    operator_group(kube, namespace, [namespace])
    kube.create({"apiVersion": SUBSCRIPTION[0], "kind": "Subscription",
                 "metadata": {"name": "sub", "namespace": namespace,
                              "annotations": {TIMEOUTS: str(count)} if where == "Subscription" else {}},
                 "spec": {"source": "redhat-operators", "sourceNamespace": "openshift-marketplace",
                          "name": "kubevirt-hyperconverged", "channel": "stable"}})
    failed = wait_csv(kube, namespace, HEAD, "Failed")
    assert (failed["status"]["reason"], failed["status"]["message"]) == ("InstallCheckFailed", "install timeout")
    csv = wait_csv(kube, namespace, HEAD, timeout=30 * count)
    steps = [(c["phase"], c["reason"]) for c in csv["status"]["conditions"]]
    cycle = [("Installing", "InstallSucceeded"), ("Installing", "InstallWaiting"), ("Failed", "InstallCheckFailed"),
             ("Pending", "NeedsReinstall"), ("InstallReady", "RequirementsMet")]
    assert steps == [("Pending", "RequirementsUnknown"), ("InstallReady", "RequirementsMet")] + cycle * count + [
        ("Installing", "InstallSucceeded"), ("Succeeded", "InstallSucceeded")], steps
    waiting = next(c for c in csv["status"]["conditions"] if c["reason"] == "InstallWaiting")
    assert waiting["message"] == ('installing: waiting for deployment hco-operator to become ready: deployment '
                                  '"hco-operator" not available: Deployment does not have minimum availability.')
    reinstall = next(c for c in csv["status"]["conditions"] if c["reason"] == "NeedsReinstall")
    assert reinstall["message"] == waiting["message"]
    assert [e["type"] for e in kube.events(namespace, HEAD, "InstallCheckFailed")] == ["Warning"]
    assert sub_status(kube, namespace)["installedCSV"] == HEAD


# --- the catalog's mtv-operator: what the v4.21 redhat-operators index offers -------------------

MTV = "mtv-operator.v2.12.5"


def test_mtv_default_channel_installs_the_release_the_forklift_crds_come_from(kube, namespace):
    # kubev2v/mtv-fbc v4.21/catalog-template.json (6e12fad, "2.12.5-1"): defaultChannel release-v2.12,
    # head mtv-operator.v2.12.5; the lab's Forklift CRDs are v2.12.5 (shared/crds/forklift.konveyor.io).
    operator_group(kube, namespace, [namespace])
    kube.create({"apiVersion": SUBSCRIPTION[0], "kind": "Subscription",
                 "metadata": {"name": "sub", "namespace": namespace},
                 "spec": {"source": "redhat-operators", "sourceNamespace": "openshift-marketplace",
                          "name": "mtv-operator"}})
    csv = wait_csv(kube, namespace, MTV)
    assert csv["spec"]["version"] == "2.12.5"
    assert csv["metadata"]["annotations"]["olm.skipRange"] == ">=0.0.0 <2.12.5"
    owned = {o["kind"] for o in csv["spec"]["customresourcedefinitions"]["owned"]}
    assert len(owned) == 14 and {"Conversion", "HyperVProviderServer", "Plan", "ForkliftController"} <= owned
    assert [m["type"] for m in csv["spec"]["installModes"] if m["supported"]] == ["OwnNamespace"]


def test_mtv_watching_another_namespace_is_unsupported(kube, namespace):
    operator_group(kube, namespace, ["default"])
    subscribe(kube, namespace, package="mtv-operator", channel="release-v2.12")
    csv = wait_csv(kube, namespace, MTV, "Failed")
    assert (csv["status"]["reason"], csv["status"]["message"]) == (
        "UnsupportedOperatorGroup", "SingleNamespace InstallModeType not supported, cannot configure to watch one "
                                    "namespace")


def test_mtv_upgrade_goes_to_the_channel_head_through_its_skip_range(kube, namespace):
    # Every release-v2.12 entry has skipRange ">=0.0.0 <its version": the head replaces any older one.
    operator_group(kube, namespace, [namespace])
    subscribe(kube, namespace, package="mtv-operator", channel="release-v2.12", approval="Manual",
              starting="mtv-operator.v2.12.1")
    plan = kube.wait(*SUBSCRIPTION, "sub", namespace,
                     lambda s: condition(s, "InstallPlanPending").get("reason") == "RequiresApproval",
                     "to wait for approval")["status"]["installPlanRef"]["name"]
    kube.patch(*INSTALL_PLAN, plan, namespace, {"spec": {"approved": True}})
    wait_csv(kube, namespace, "mtv-operator.v2.12.1")
    upgrade = kube.wait(*SUBSCRIPTION, "sub", namespace,
                        lambda s: condition(s, "InstallPlanPending").get("reason") == "RequiresApproval"
                        and s["status"].get("currentCSV") != "mtv-operator.v2.12.1", "to offer the upgrade")
    assert upgrade["status"]["currentCSV"] == MTV


@pytest.mark.parametrize("channel,head", [("release-v2.10", "mtv-operator.v2.10.5"),
                                          ("release-v2.11", "mtv-operator.v2.11.7")])
def test_mtv_older_channels(kube, namespace, channel, head):
    operator_group(kube, namespace, [namespace])
    subscribe(kube, namespace, package="mtv-operator", channel=channel)
    csv = wait_csv(kube, namespace, head)
    assert "Conversion" not in {o["kind"] for o in csv["spec"]["customresourcedefinitions"]["owned"]}

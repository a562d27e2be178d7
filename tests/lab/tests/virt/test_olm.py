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


def test_subscription_without_operator_group_is_not_resolved(kube, namespace):
    subscribe(kube, namespace)
    status = kube.wait(*SUBSCRIPTION, "sub", namespace, lambda s: (s.get("status") or {}).get("catalogHealth"),
                       "to report catalog health")["status"]
    time.sleep(2)
    status = sub_status(kube, namespace)
    assert not status.get("installPlanRef") and not status.get("currentCSV"), status
    assert kube.list(*INSTALL_PLAN, namespace) == [] and kube.list(*CSV, namespace) == []
    # With an OperatorGroup the namespace resolves.
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

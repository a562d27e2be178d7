"""OLM install steps against the fake API server, with OLM v0.45's failure states."""

import datetime

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import olm
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

OPERATOR = olm.Operator(namespace="ops", package="pkg", channel="stable", source="cat",
                        source_namespace="openshift-marketplace", subscription="pkg-sub", approval="Automatic",
                        starting_csv=None, operator_group="ops-group", namespace_labels={})


def group(name):
    return {"apiVersion": olm.OLM_V1, "kind": "OperatorGroup", "metadata": {"name": name, "namespace": "ops"}}


def csv(phase, since=None, reason="InstallCheckFailed"):
    since = since or datetime.datetime.utcnow()
    return {"apiVersion": olm.OLM_V1ALPHA1, "kind": "ClusterServiceVersion",
            "metadata": {"name": "pkg.v1", "namespace": "ops"},
            "status": {"phase": phase, "reason": reason, "message": "install timeout",
                       "lastTransitionTime": since.strftime("%Y-%m-%dT%H:%M:%SZ")}}


def installed_subscription():
    return {"apiVersion": olm.OLM_V1ALPHA1, "kind": "Subscription", "metadata": {"name": "pkg-sub", "namespace": "ops"},
            "spec": {"name": "pkg"}, "status": {"installedCSV": "pkg.v1"}}


def test_two_operator_groups_are_refused_by_name_before_any_write(make_module, apiserver):
    apiserver.put("operatorgroups", group("a"))
    apiserver.put("operatorgroups", group("b"))
    module = make_module({})
    with pytest.raises(ModuleError) as err:
        olm.ensure_operator_group(module, OPERATOR)
    assert "Namespace ops has 2 OperatorGroups (a, b)" in err.value.msg
    assert apiserver.calls("POST") == apiserver.calls("PATCH") == []


def test_one_operator_group_is_reused_and_none_is_created(make_module, apiserver):
    module = make_module({})
    olm.ensure_operator_group(module, OPERATOR)
    assert apiserver.get("operatorgroups", "ops", "ops-group")["spec"] == {"targetNamespaces": ["ops"]}
    olm.ensure_operator_group(make_module({}), OPERATOR._replace(operator_group="other"))
    assert apiserver.get("operatorgroups", "ops", "other") is None


def test_resolution_failed_fails_at_once_with_olms_message(make_module, apiserver):
    apiserver.put("subscriptions", dict(installed_subscription(), status={"conditions": [{
        "type": "ResolutionFailed", "status": "True", "message": "no operators found in channel stabel"}]}))
    module = make_module({}, wait_timeout=60)
    with pytest.raises(ModuleError) as err:
        olm.wait_for_install_plan(module, OPERATOR)
    assert err.value.msg == ("OLM cannot install pkg from channel stable of cat: "
                             "no operators found in channel stabel")


def test_a_failed_csv_that_recovers_is_not_a_failure(make_module, apiserver):
    import threading
    apiserver.put("subscriptions", installed_subscription())
    apiserver.put("clusterserviceversions", csv("Failed"))
    timer = threading.Timer(0.5, lambda: apiserver.update("clusterserviceversions", "ops", "pkg.v1",
                                                          {"status": {"phase": "Succeeded"}}))
    timer.start()
    try:
        found = olm.wait_for_csv(make_module({}, wait_timeout=20), OPERATOR)
    finally:
        timer.cancel()
    assert found["status"]["phase"] == "Succeeded"


def test_a_csv_failed_past_the_grace_period_fails_with_its_reason(make_module, apiserver):
    apiserver.put("subscriptions", installed_subscription())
    long_ago = datetime.datetime.utcnow() - datetime.timedelta(seconds=olm.CSV_FAILED_GRACE_SECONDS + 5)
    apiserver.put("clusterserviceversions", csv("Failed", since=long_ago))
    with pytest.raises(ModuleError) as err:
        olm.wait_for_csv(make_module({}, wait_timeout=20), OPERATOR)
    assert "stayed Failed for 120s (reason InstallCheckFailed): install timeout" in err.value.msg


def test_manual_approval_approves_only_the_plan_of_starting_csv(make_module, apiserver):
    manual = OPERATOR._replace(approval="Manual", starting_csv="pkg.v2")
    subscription = dict(installed_subscription(), status={"installPlanRef": {"name": "install-1"}})
    plan = {"apiVersion": olm.OLM_V1ALPHA1, "kind": "InstallPlan", "metadata": {"name": "install-1", "namespace": "ops"},
            "spec": {"clusterServiceVersionNames": ["pkg.v3"], "approved": False}}
    apiserver.put("installplans", plan)
    with pytest.raises(ModuleError, match="installs pkg.v3, not pkg.v2: it was not approved"):
        olm.approve(make_module({}), manual, subscription)
    assert apiserver.get("installplans", "ops", "install-1")["spec"]["approved"] is False
    apiserver.update("installplans", "ops", "install-1", {"spec": {"clusterServiceVersionNames": ["pkg.v2"]}})
    olm.approve(make_module({}), manual, subscription)
    assert apiserver.get("installplans", "ops", "install-1")["spec"]["approved"] is True


def test_a_second_install_in_another_namespace_is_refused_before_any_write(make_module, apiserver):
    apiserver.put("subscriptions", dict(installed_subscription(), metadata={"name": "hco", "namespace": "openshift-cnv"}))
    apiserver.put("subscriptions", dict(installed_subscription(), metadata={"name": "unresolved", "namespace": "x"},
                                        status={}))
    module = make_module({}, check_mode=True)
    with pytest.raises(ModuleError) as err:
        olm.install(module, OPERATOR)
    assert err.value.msg.startswith("pkg is already installed through Subscription openshift-cnv/hco; a second install "
                                    "in namespace ops would run two operators for one API. Give namespace openshift-cnv")
    assert apiserver.calls("POST") == apiserver.calls("PATCH") == []


def test_a_channel_olm_cannot_resolve_is_refused_and_the_old_spec_put_back(make_module, apiserver):
    import threading
    apiserver.put("operatorgroups", group("ops-group"))
    apiserver.put("subscriptions", {
        "apiVersion": olm.OLM_V1ALPHA1, "kind": "Subscription", "metadata": {"name": "pkg-sub", "namespace": "ops"},
        "spec": {"name": "pkg", "channel": "stable", "source": "cat", "sourceNamespace": "openshift-marketplace",
                 "installPlanApproval": "Automatic"},
        "status": {"installedCSV": "pkg.v1", "installPlanRef": {"name": "install-1"}}})
    refuse = threading.Timer(0.5, lambda: apiserver.update("subscriptions", "ops", "pkg-sub", {"status": {
        "conditions": [{"type": "ResolutionFailed", "status": "True", "message": "no channel stabel"}]}}))
    refuse.start()
    try:
        with pytest.raises(ModuleError) as err:
            olm.install(make_module({}, wait_timeout=30), OPERATOR._replace(channel="stabel"))
    finally:
        refuse.cancel()
    assert "OLM cannot resolve the changed Subscription ops/pkg-sub (channel stabel of cat): no channel stabel. " \
        "Its previous spec was put back." == err.value.msg
    assert apiserver.get("subscriptions", "ops", "pkg-sub")["spec"]["channel"] == "stable"


def test_an_upgrade_in_progress_is_waited_for(make_module, apiserver):
    """While OLM upgrades, installedCSV is still the old version: the wait is for the one the Subscription is on."""
    import threading
    apiserver.put("subscriptions", dict(installed_subscription(), status={
        "installedCSV": "pkg.v1", "currentCSV": "pkg.v2"}))
    apiserver.put("clusterserviceversions", csv("Succeeded"))
    newer = csv("Succeeded")
    newer["metadata"]["name"] = "pkg.v2"
    apiserver.put("clusterserviceversions", newer)
    timer = threading.Timer(0.5, lambda: apiserver.update("subscriptions", "ops", "pkg-sub",
                                                          {"status": {"installedCSV": "pkg.v2"}}))
    timer.start()
    try:
        found = olm.wait_for_csv(make_module({}, wait_timeout=20), OPERATOR)
    finally:
        timer.cancel()
    assert found["metadata"]["name"] == "pkg.v2"


def installed(apiserver):
    apiserver.put("subscriptions", dict(installed_subscription(), status={"installedCSV": "pkg.v1",
                                                                          "currentCSV": "pkg.v1"}))
    apiserver.put("clusterserviceversions", csv("Succeeded"))


def stale_plan():
    """What OLM's resolver makes from a Subscription it read just before the Subscription was deleted."""
    owner = {"apiVersion": olm.OLM_V1ALPHA1, "kind": "Subscription", "name": "pkg-sub", "uid": "uid-pkg-sub"}
    return {"apiVersion": olm.OLM_V1ALPHA1, "kind": "InstallPlan",
            "metadata": {"name": "install-2", "namespace": "ops", "ownerReferences": [owner]},
            "spec": {"clusterServiceVersionNames": ["pkg.v1"], "approved": True}}


def test_uninstall_deletes_an_install_plan_made_after_the_csv_was_deleted(make_module, apiserver):
    installed(apiserver)
    commit = apiserver.store.commit

    def resolve_late(event_type, plural, namespace, obj):
        answer = commit(event_type, plural, namespace, obj)
        if (event_type, plural) == ("DELETED", "clusterserviceversions") and not apiserver.calls("DELETE")[2:]:
            apiserver.put("installplans", stale_plan())
        return answer

    apiserver.store.commit = resolve_late
    olm.uninstall(make_module({}, wait_timeout=20), OPERATOR)
    assert [path.rsplit("/", 2)[1:] for _method, path in apiserver.calls("DELETE")] == [
        ["subscriptions", "pkg-sub"], ["clusterserviceversions", "pkg.v1"], ["installplans", "install-2"]]
    assert apiserver.get("installplans", "ops", "install-2") is None


def test_uninstall_deletes_a_csv_of_the_package_left_without_its_subscription(make_module, apiserver):
    apiserver.put("clusterserviceversions", dict(csv("Succeeded"), metadata={
        "name": "pkg.v1", "namespace": "ops", "labels": {"operators.coreos.com/pkg.ops": ""}}))
    apiserver.put("clusterserviceversions", dict(csv("Succeeded"), metadata={"name": "other.v1", "namespace": "ops"}))
    module = make_module({}, wait_timeout=20)
    olm.uninstall(module, OPERATOR)
    assert module.result()["changed"] is True
    assert apiserver.get("clusterserviceversions", "ops", "pkg.v1") is None
    assert apiserver.get("clusterserviceversions", "ops", "other.v1") is not None


def test_uninstall_in_check_mode_deletes_nothing(make_module, apiserver):
    installed(apiserver)
    olm.uninstall(make_module({}, check_mode=True), OPERATOR)
    assert apiserver.get("subscriptions", "ops", "pkg-sub") is not None
    assert apiserver.get("clusterserviceversions", "ops", "pkg.v1") is not None


def test_uninstall_keeps_an_install_plan_shared_with_another_subscription(make_module, apiserver):
    installed(apiserver)
    shared = stale_plan()
    shared["metadata"]["ownerReferences"].append(
        {"apiVersion": olm.OLM_V1ALPHA1, "kind": "Subscription", "name": "other", "uid": "uid-other"})
    apiserver.put("installplans", shared)
    olm.uninstall(make_module({}, wait_timeout=20), OPERATOR)
    assert apiserver.get("installplans", "ops", "install-2") is not None
    assert apiserver.get("clusterserviceversions", "ops", "pkg.v1") is None

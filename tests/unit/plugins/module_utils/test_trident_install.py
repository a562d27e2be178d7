"""trident_install: the TridentOrchestrator spec the options ask for, and what "installed" means (pure parts)."""

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import trident_install
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.modules import trident_orchestrator

OPTIONS = dict((name, None) for name in trident_orchestrator.ARGUMENT_SPEC)


def params(**given):
    return dict(OPTIONS, **dict({"namespace": "trident", "spec": {}}, **given))


def test_options_become_spec_fields_and_only_given_ones_are_managed():
    spec, managed = trident_install.orchestrator_spec(params(node_prep=["iscsi"], image_registry="registry.local:5000",
                                                             log_format="json", autosupport=False, ipv6=True))
    assert spec == {"namespace": "trident", "nodePrep": ["iscsi"], "imageRegistry": "registry.local:5000",
                    "logFormat": "json", "excludeAutosupport": True, "IPv6": True}
    assert sorted(managed) == ["spec.IPv6", "spec.excludeAutosupport", "spec.imageRegistry", "spec.logFormat",
                               "spec.namespace", "spec.nodePrep"]


def test_an_empty_node_prep_is_managed_as_off():
    spec, managed = trident_install.orchestrator_spec(params(node_prep=[]))
    assert spec["nodePrep"] == [] and "spec.nodePrep" in managed


def test_more_than_one_node_prep_protocol_is_refused_as_the_installer_would():
    # internal/nodeprep/protocol ValidateProtocols (v26.06.0): at most one protocol.
    with pytest.raises(ModuleError, match="node_prep takes one protocol"):
        trident_install.orchestrator_spec(params(node_prep=["iscsi", "iscsi"]))


def test_passthrough_may_not_repeat_an_option():
    with pytest.raises(ModuleError, match="spec repeats logFormat"):
        trident_install.orchestrator_spec(params(log_format="text", spec={"logFormat": "json"}))
    spec, managed = trident_install.orchestrator_spec(params(spec={"nodePluginNodeSelector": {"a": "b"}}))
    assert spec["nodePluginNodeSelector"] == {"a": "b"} and "spec.nodePluginNodeSelector" in managed


@pytest.mark.parametrize("bundle,trident", [("26.6.0", "26.06.0"), ("26.2.1", "26.02.1"), ("25.10.0", "25.10.0"),
                                            ("v26", None), (None, None)])
def test_trident_version_of_a_bundle_version(bundle, trident):
    assert trident_install.trident_version(bundle) == trident


def status(state, version="26.06.0", **applied):
    return {"status": {"status": state, "version": version, "currentInstallationParams": applied}}


def test_installed_needs_the_version_and_the_applied_spec():
    spec = {"namespace": "trident", "nodePrep": ["iscsi"], "IPv6": False}
    done = trident_install.installed("trident", spec, "26.06.0")
    assert done(status("Installed", nodePrep=["iscsi"], IPv6="false"))
    assert not done(status("Installed", nodePrep=[], IPv6="false"))  # the operator has not applied the change yet
    assert not done(status("Installed", version="26.02.1", nodePrep=["iscsi"], IPv6="false"))  # upgrade not done
    assert not done(status("Updating", nodePrep=["iscsi"], IPv6="false"))
    assert "at version 26.06.0" in done.missing(status("Installing"))


def serve_trident(apiserver):
    verbs = ["get", "list", "create", "patch", "delete", "watch"]
    apiserver.group_versions["trident.netapp.io/v1"] = [
        {"name": "tridentorchestrators", "namespaced": False, "kind": "TridentOrchestrator", "verbs": verbs},
        {"name": "tridentversions", "namespaced": True, "kind": "TridentVersion", "verbs": verbs}]
    apiserver.group_versions["storage.k8s.io/v1"] = [
        {"name": "csidrivers", "namespaced": False, "kind": "CSIDriver", "verbs": verbs}]


def torc(name, namespace="trident"):
    return {"apiVersion": "trident.netapp.io/v1", "kind": "TridentOrchestrator", "metadata": {"name": name},
            "spec": {"namespace": namespace}, "status": {"status": "Installed", "namespace": namespace}}


def test_an_empty_cluster_is_no_refusal(kube, apiserver):
    serve_trident(apiserver)
    assert trident_install.refusals(kube, "trident", "trident") == []


def test_a_second_orchestrator_and_a_namespace_change_are_refused(kube, apiserver):
    # controller.go updateOtherCRs (Error) and controllingCRBasedReconcile (Failed on a namespace change), v26.06.0.
    serve_trident(apiserver)
    apiserver.put("tridentorchestrators", torc("trident"))
    problems = trident_install.refusals(kube, "trident-two", "trident-two")
    assert problems == ["TridentOrchestrator trident already exists: the operator controls one and marks any other "
                        "Error (bound to another CR). Give name: trident, or remove it first."]
    problems = trident_install.refusals(kube, "trident", "elsewhere")
    assert problems[0].startswith("Trident was installed in namespace trident by TridentOrchestrator trident")


def test_trident_installed_another_way_is_refused_with_where_it_runs(kube, apiserver):
    # controller.go removeNonTorcBasedCSIInstallation: the operator would uninstall it first.
    serve_trident(apiserver)
    apiserver.put("csidrivers", {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
                                 "metadata": {"name": "csi.trident.netapp.io"}})
    apiserver.put("tridentversions", {"apiVersion": "trident.netapp.io/v1", "kind": "TridentVersion",
                                      "metadata": {"name": "trident", "namespace": "trident"},
                                      "trident_version": "26.06.0"})
    problems = trident_install.refusals(kube, "trident", "trident")
    assert len(problems) == 1 and "already installed without the operator (version 26.06.0 in namespace trident)" \
        in problems[0]


def test_the_operators_own_csi_driver_is_no_refusal(kube, apiserver):
    serve_trident(apiserver)
    apiserver.put("tridentorchestrators", torc("trident"))
    apiserver.put("csidrivers", {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver", "metadata": {
        "name": "csi.trident.netapp.io", "ownerReferences": [
            {"apiVersion": "trident.netapp.io/v1", "kind": "TridentOrchestrator", "name": "trident", "uid": "u"}]}})
    assert trident_install.refusals(kube, "trident", "trident") == []


def test_a_failed_status_right_after_an_update_is_not_judged_yet():
    """The operator publishes no observedGeneration: a Failed status may still describe the previous spec."""
    now = [100.0]
    broken = {"status": {"status": "Failed"}}
    after_update = trident_install.failed(True, clock=lambda: now[0])
    assert not after_update(broken)
    now[0] += trident_install.SETTLE_SECONDS
    assert after_update(broken) and not after_update({"status": {"status": "Installing"}})
    assert trident_install.failed(False)({"status": {"status": "Error"}})

"""cnv_hyperconverged and the installation role against the lab's simulated OLM and HCO."""

import json
import random

import pytest

K8S = """
- hosts: openshift
  gather_facts: false
  module_defaults:
    group/ontap.virtualization.virtualization: {kubeconfig: "{{ k8s_kubeconfig }}"}
  tasks:
    - name: The module under test
      ontap.virtualization.cnv_hyperconverged: %s
      register: result
    - name: Show the result
      ansible.builtin.debug:
        msg: "RESULT {{ result | to_json }}"
"""


def module_play(args: dict) -> str:
    return K8S % json.dumps(args)


def result_of(run) -> dict:
    line = next(line for line in run.output.splitlines() if '"msg": "RESULT ' in line)
    return json.loads(json.loads("{" + line.strip() + "}")["msg"][len("RESULT "):])


@pytest.fixture(scope="module")
def installed(ansible):
    run = ansible(module_play({"wait_timeout": 300}))
    assert run.rc == 0, run.output[-3000:]
    return run


# Before anything is installed: once OpenShift Virtualization runs, an install in another namespace is refused.
def test_manual_approval_of_a_version_not_offered_fails_clearly(ansible, core_v1, custom_objects):
    run = ansible(module_play({"namespace": "cnv-manual-missing", "approval": "Manual",
                               "starting_csv": "kubevirt-hyperconverged-operator.v9.99.0", "wait_timeout": 60}))
    assert run.rc != 0
    assert "OLM cannot install kubevirt-hyperconverged-operator.v9.99.0 from channel stable" in run.output, \
        run.output[-3000:]
    csvs = custom_objects.list_namespaced_custom_object("operators.coreos.com", "v1alpha1", "cnv-manual-missing",
                                                        "clusterserviceversions")["items"]
    assert csvs == []
    # Nothing half-made stays: the Namespace, OperatorGroup and Subscription this run created are removed again.
    assert "Undone, to leave nothing half-made: removed Subscription cnv-manual-missing/hco-operatorhub; removed " \
        "OperatorGroup cnv-manual-missing/kubevirt-hyperconverged-group; removed Namespace cnv-manual-missing." \
        in run.output, run.output[-3000:]
    namespaces = [n for n in core_v1.list_namespace().items if n.metadata.name == "cnv-manual-missing"]
    assert namespaces == [] or namespaces[0].metadata.deletion_timestamp is not None


def test_install_reports_version_and_healthy_conditions(installed, ansible, custom_objects):
    hco = custom_objects.get_namespaced_custom_object("hco.kubevirt.io", "v1beta1", "openshift-cnv",
                                                      "hyperconvergeds", "kubevirt-hyperconverged")
    conditions = {c["type"]: c["status"] for c in hco["status"]["conditions"]}
    assert conditions["Available"] == "True" and conditions["Degraded"] == "False"
    result = result_of(installed)
    assert result["installed_csv"].startswith("kubevirt-hyperconverged-operator.v")
    assert result["installed_version"] and result["installed_csv"].endswith(result["installed_version"])
    assert {c["type"] for c in result["conditions"]} >= {"Available", "Progressing", "Degraded", "ReconcileComplete"}
    again = ansible(module_play({"wait_timeout": 300}))
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]


def test_install_wait_shows_progress_then_times_out_naming_what_is_missing(installed, ansible, controllers_paused,
                                                                           core_v1):
    # OLM is paused, so no InstallPlan can come within the 40 s allowed (two progress lines even under load); the
    # namespace's deletion starts before OLM wakes up. It can only finish after: the namespace controller must discover
    # every API group, and the aggregated v1.subresources.kubevirt.io is served by the paused process
    # (NamespaceDeletionDiscoveryFailure until then).
    # (Another package than OpenShift Virtualization's, which is installed already and would be refused.)
    with controllers_paused():
        run = ansible(module_play({"namespace": "cnv-stuck", "package": "mtv-operator", "wait_timeout": 40,
                                   "progress_interval": 2}))
        core_v1.delete_namespace("cnv-stuck")
    wait_until_gone(core_v1, "cnv-stuck")
    assert run.rc != 0, run.output[-3000:]
    progress = [line for line in run.output.splitlines() if line.startswith(
        "ontap.virtualization.cnv_hyperconverged: ") and " of 40s: waiting for Subscription cnv-stuck/hco-operatorhub: "
        "no status yet; still missing the Subscription has an InstallPlan" in line]
    assert len(progress) >= 2, run.output[-3000:]
    assert "Timed out after 40s waiting for Subscription cnv-stuck/hco-operatorhub: still missing the Subscription " \
        "has an InstallPlan" in run.output, run.output[-3000:]
    assert "created Subscription cnv-stuck/hco-operatorhub" in run.output, "what the run did is in the result"


def wait_until_gone(core_v1, namespace, timeout=60):
    import time
    from kubernetes.client.exceptions import ApiException
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            core_v1.read_namespace(namespace)
        except ApiException as error:
            if error.status == 404:
                return
            raise
        time.sleep(0.5)
    raise AssertionError("namespace {0} is still there after {1}s".format(namespace, timeout))


def test_a_second_install_in_another_namespace_is_refused_before_writing(installed, ansible, audit):
    mark = audit.mark()
    run = ansible(module_play({"namespace": "cnv-second"}))
    assert run.rc != 0
    assert "kubevirt-hyperconverged is already installed through Subscription openshift-cnv/hco-operatorhub" \
        in run.output, run.output[-3000:]
    assert audit.writes_since(mark) == []


def test_an_unknown_feature_gate_is_refused_not_reported_changed_forever(installed, ansible, audit):
    mark = audit.mark()
    run = ansible(module_play({"feature_gates": {"notAFeatureGate": True}}))
    assert run.rc != 0
    assert 'The API server did not keep spec.featureGates.notAFeatureGate=true of HyperConverged ' \
        'openshift-cnv/kubevirt-hyperconverged' in run.output, run.output[-3000:]
    assert audit.writes_since(mark) == []


@pytest.mark.parametrize("value", [0, -5])
def test_wait_timeout_below_one_is_refused_before_writing(installed, ansible, audit, value):
    mark = audit.mark()
    run = ansible(module_play({"live_migration": {"parallel_migrations_per_cluster": 7}, "wait_timeout": value}))
    assert run.rc != 0 and "wait_timeout must be at least 1 (seconds), not {0}".format(value) in run.output
    assert audit.writes_since(mark) == []


def test_uninstall_is_refused_while_vms_exist(installed, ansible, custom_objects, namespace):
    vm = {"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "metadata": {"name": "keepme"},
          "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}, "memory": {"guest": "1Gi"}}}}}}
    custom_objects.create_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", vm)
    run = ansible(module_play({"state": "absent"}))
    assert run.rc != 0
    assert "OpenShift Virtualization (" in run.output and "VirtualMachine {0}/keepme".format(namespace) in run.output, \
        run.output[-3000:]
    assert "first, or set force: true" in run.output
    hco = custom_objects.get_namespaced_custom_object("hco.kubevirt.io", "v1beta1", "openshift-cnv",
                                                      "hyperconvergeds", "kubevirt-hyperconverged")
    assert hco["metadata"].get("deletionTimestamp") is None


ROLE = "playbooks/installation.yml"
# Refused by the installation role's own checks before its first write (the default class mark).
REFUSED_INPUTS = {
    "zero wait timeout": (
        {"installation_wait_timeout": 0},
        "installation_wait_timeout is 0: give the seconds to wait for the operator, the HyperConverged and the boot "
        "sources in all, a whole number of at least 1."),
    "negative wait timeout": (
        {"installation_wait_timeout": -1},
        "installation_wait_timeout is -1: give the seconds to wait"),
    "manual approval without a version": (
        {"installation_approval": "Manual"},
        "installation_approval Manual needs installation_starting_csv, the ClusterServiceVersion whose InstallPlan "
        "may be approved (for example kubevirt-hyperconverged-operator.v4.21.3)."),
    "unknown live-migration setting": (
        {"installation_live_migration": {"parallel_migrations": 5}},
        "installation_live_migration.parallel_migrations. Supported parameters include: allow_auto_converge"),
    "live-migration setting of the wrong type": (
        {"installation_live_migration": {"parallel_migrations_per_cluster": "five"}},
        "argument 'parallel_migrations_per_cluster' is of type str found in 'installation_live_migration'. and we "
        "were unable to convert to int"),
}


@pytest.mark.parametrize("case", sorted(REFUSED_INPUTS))
def test_role_input_refused_before_any_write(ansible, audit, case):
    extra, message = REFUSED_INPUTS[case]
    mark = audit.mark()
    run = ansible(ROLE, dict(extra, installation_wait_boot_sources=False))
    assert run.rc != 0
    assert message in run.output, run.output[-3000:]
    assert "Make the ONTAP class the default class for VM disks" not in run.output
    assert audit.writes_since(mark) == []
    assert [line for line in run.output.splitlines()
            if line.startswith("[ERROR]") and ("['" in line or "[]" in line)] == []

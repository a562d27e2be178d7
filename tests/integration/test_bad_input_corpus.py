"""A corpus of wrong inputs across every module (bad_inputs.yml): each is refused with a message that names the
problem and what to do, with no traceback, no secret in the output, and nothing written (the audit log).

All module cases run in one playbook (each task `ignore_errors` and registered), so the corpus costs one
ansible-playbook run; the refusals are what a user would see in the task's `msg`.
"""

import json
import re
import time
from pathlib import Path

import pytest
import yaml

CORPUS = yaml.safe_load((Path(__file__).with_name("bad_inputs.yml")).read_text())
NAMESPACE = "corpus"
SECRETS = ("corpus-not-the-password", "corpus-provider-secret")
PLACEHOLDER = re.compile(r"\{ontap\.(\w+)\}")


@pytest.fixture(scope="module")
def corpus_cluster(ansible, virtualization_stack, custom_objects, core_v1):
    """site.yml's cluster, and in namespace corpus a running VM `web` and a stopped VM `stopped`, each with a
    snapshot set of its disks (corpus-set) and a VirtualMachineSnapshot (corpus-vmset). `stopped` runs until its
    sets are taken: its claim binds only when a pod first uses it (WaitForFirstConsumer)."""
    run = ansible("tests/fixtures/vms_with_a_data_disk.yml", extra_vars={
        "vm_namespace": NAMESPACE,
        "vms": [{"name": "web", "access": "ReadWriteMany", "labels": {"app": "web"}},
                {"name": "stopped", "access": "ReadWriteMany"}]})
    assert run.rc == 0, run.output[-3000:]
    sets = [{"namespace": NAMESPACE, "names": ["web", "stopped"], "snapshot": name, "method": method}
            for name, method in (("corpus-set", "volume_snapshots"), ("corpus-vmset", "vm_snapshot"))]
    run = ansible(yaml.safe_dump([{"hosts": "openshift", "gather_facts": False, "tasks": [
        {"ontap.virtualization.vm_snapshot": dict(args, kubeconfig="{{ k8s_kubeconfig }}")} for args in sets]}]))
    assert run.rc == 0, run.output[-3000:]
    custom_objects.patch_namespaced_custom_object("kubevirt.io", "v1", NAMESPACE, "virtualmachines", "stopped",
                                                  {"spec": {"runStrategy": "Halted"}})
    deadline = time.monotonic() + 300
    while any(vmi["metadata"]["name"] == "stopped" for vmi in custom_objects.list_namespaced_custom_object(
            "kubevirt.io", "v1", NAMESPACE, "virtualmachineinstances")["items"]):
        assert time.monotonic() < deadline, "VM corpus/stopped did not stop in 300s"
        time.sleep(1)
    yield
    from protection import delete_namespace
    delete_namespace(core_v1, NAMESPACE)  # its VMs would ride along in the later files' drains


def filled(value, ontap):
    values = {"management_lif": ontap["management_lif"], "username": ontap["svm_admin"]["username"],
              "password": ontap["svm_admin"]["password"]}
    if isinstance(value, dict):
        return {key: filled(item, ontap) for key, item in value.items()}
    if isinstance(value, list):
        return [filled(item, ontap) for item in value]
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda match: values[match.group(1)], value)
    return value


def corpus_play(cases, ontap, results_path):
    tasks = []
    for case in cases:
        tasks.append({"name": case["id"], "ontap.virtualization." + case["module"]: filled(case["args"], ontap),
                      "ignore_errors": True, "register": "outcome"})
        tasks.append({"name": "keep " + case["id"], "ansible.builtin.set_fact": {
            "outcomes": "{{ outcomes | default({}) | combine({'%s': outcome}) }}" % case["id"]}})
    tasks.append({"name": "write the outcomes", "ansible.builtin.copy": {
        "content": "{{ outcomes | to_json }}", "dest": str(results_path)}})
    return yaml.safe_dump([{
        "hosts": "openshift", "gather_facts": False,
        "module_defaults": {"group/ontap.virtualization.virtualization": {"kubeconfig": "{{ k8s_kubeconfig }}"}},
        "tasks": tasks}], sort_keys=False)


def test_every_wrong_input_is_refused_clearly_and_writes_nothing(ansible, ontap_vars, corpus_cluster, audit, tmp_path):
    cases = CORPUS["modules"]
    results = tmp_path / "outcomes.json"
    mark = audit.mark()
    run = ansible(corpus_play(cases, ontap_vars, results), timeout=1800)
    assert run.rc == 0, run.output[-3000:]
    outcomes = json.loads(results.read_text())
    unclear = []
    for case in cases:
        outcome = outcomes[case["id"]]
        message = outcome.get("msg", "")
        problems = [] if case["expect"] else ["the case expects no message, so it cannot fail"]
        if not outcome.get("failed"):
            problems.append("not refused")
        if "Traceback" in json.dumps(outcome):  # ansible-core says "(traceback unavailable)" when there is none
            problems.append("a traceback")
        problems += ["no {0!r}".format(text) for text in case["expect"] if text not in message]
        if problems:
            unclear.append("{0}: {1}\n    {2}".format(case["id"], "; ".join(problems), message))
    assert not unclear, "{0} of {1} wrong inputs were not refused clearly:\n{2}".format(
        len(unclear), len(cases), "\n".join(unclear))
    secrets = SECRETS + (ontap_vars["svm_admin"]["password"],)
    assert not [secret for secret in secrets if secret in run.output or secret in results.read_text()]
    assert audit.writes_since(mark) == []


@pytest.mark.parametrize("case", CORPUS["playbooks"], ids=[case["id"] for case in CORPUS["playbooks"]])
def test_a_playbook_given_wrong_variables_stops_clearly_before_writing(ansible, corpus_cluster, audit, case):
    mark = audit.mark()
    run = ansible(case["playbook"], extra_vars=case["vars"])
    assert run.rc != 0, run.output[-3000:]
    assert "Traceback" not in run.output, run.output[-3000:]
    assert case["expect"], "the case expects no message, so it cannot fail; the run said:\n" + run.output[-3000:]
    missing = [text for text in case["expect"] if text not in run.output]
    assert missing == [], run.output[-3000:]
    assert not [secret for secret in SECRETS if secret in run.output]
    assert audit.writes_since(mark) == []

"""vm_live_migration against the lab's simulated KubeVirt (virt-api's admission, virt-controller's migrations)."""

import json
import time

import pytest

NAMESPACE = "live-migration"
VMIM = ("kubevirt.io", "v1", "virtualmachineinstancemigrations")
PLAY = """
- hosts: openshift
  gather_facts: false
  module_defaults:
    group/ontap.virtualization.virtualization: {kubeconfig: "{{ k8s_kubeconfig }}"}
  tasks:
    - name: The module under test
      ontap.virtualization.vm_live_migration: %s
      register: result
      ignore_errors: true
    - name: Show the result
      ansible.builtin.debug:
        msg: "RESULT {{ result | to_json }}"
"""
VMS_PLAYBOOK = "tests/fixtures/vms_with_a_data_disk.yml"
VMS = [{"name": "lm-a", "access": "ReadWriteMany", "labels": {"tier": "web"}},
       {"name": "lm-b", "access": "ReadWriteMany", "labels": {"tier": "web"}},
       {"name": "lm-rwo", "access": "ReadWriteOnce", "labels": {"tier": "db"}}]


def module_play(args: dict) -> str:
    return PLAY % json.dumps(dict({"namespace": NAMESPACE, "progress_interval": 1}, **args))


def result_of(run) -> dict:
    line = next(line for line in run.output.splitlines() if '"msg": "RESULT ' in line)
    return json.loads(json.loads("{" + line.strip() + "}")["msg"][len("RESULT "):])


@pytest.fixture(scope="module")
def vms(virtualization_stack, ansible, core_v1):
    run = ansible(VMS_PLAYBOOK, extra_vars={"vm_namespace": NAMESPACE, "vms": VMS})
    assert run.rc == 0, run.output[-3000:]
    yield
    core_v1.delete_namespace(NAMESPACE)  # its VM with a ReadWriteOnce disk would hold up a later drain
    deadline = time.monotonic() + 180
    while any(n.metadata.name == NAMESPACE for n in core_v1.list_namespace().items) and time.monotonic() < deadline:
        time.sleep(1)


def node_of(custom_objects, name):
    return custom_objects.get_namespaced_custom_object("kubevirt.io", "v1", NAMESPACE, "virtualmachineinstances",
                                                       name)["status"]["nodeName"]


def migrations_of(custom_objects, name):
    found = custom_objects.list_namespaced_custom_object(*VMIM[:2], NAMESPACE, VMIM[2],
                                                         label_selector="kubevirt.io/vmi-name=" + name)
    return found["items"]


@pytest.fixture(scope="module")
def migrated(vms, ansible, audit, custom_objects):
    before = node_of(custom_objects, "lm-a")
    first = ansible(module_play({"names": ["lm-a"]}))
    second = ansible(module_play({"names": ["lm-a"]}))
    mark = audit.mark()
    check = ansible(module_play({"names": ["lm-a"]}), check=True)
    return {"before": before, "first": first, "second": second, "check": check,
            "check_writes": audit.writes_since(mark)}


def test_a_vm_migrates_to_another_node_and_the_task_returns_both(migrated, custom_objects):
    result = result_of(migrated["first"])
    assert result["changed"] and not result.get("failed"), result
    [moved] = result["migrations"]
    assert moved["outcome"] == "migrated" and moved["source_node"] == migrated["before"], moved
    assert moved["target_node"] not in (None, migrated["before"]), moved
    assert node_of(custom_objects, "lm-a") == moved["target_node"] == moved["node"]
    [vmim] = migrations_of(custom_objects, "lm-a")
    assert vmim["metadata"]["name"] == moved["migration"] and vmim["status"]["phase"] == "Succeeded"
    assert vmim["status"]["migrationState"]["targetNode"] == moved["target_node"]
    assert isinstance(moved["duration_seconds"], int)


def test_a_second_run_finds_the_migration_and_changes_nothing(migrated, custom_objects):
    first, second = result_of(migrated["first"]), result_of(migrated["second"])
    assert second["changed"] is False and not second.get("failed"), second
    assert second["migrations"][0]["migration"] == first["migrations"][0]["migration"]
    assert len(migrations_of(custom_objects, "lm-a")) == 1


def test_check_mode_writes_nothing(migrated):
    assert migrated["check"].rc == 0, migrated["check"].output[-3000:]
    assert migrated["check_writes"] == []


def test_a_vm_with_a_read_write_once_disk_is_refused_naming_the_disk(vms, ansible, custom_objects):
    result = result_of(ansible(module_play({"names": ["lm-rwo", "lm-b"]})))
    assert result["failed"], result
    assert "VM live-migration/lm-rwo: disk data (PVC lm-rwo-data) is ReadWriteOnce, not ReadWriteMany" in result["msg"]
    assert "DisksNotLiveMigratable" in result["msg"]
    assert migrations_of(custom_objects, "lm-rwo") == [] and migrations_of(custom_objects, "lm-b") == []


@pytest.fixture
def cordoned(core_v1):
    nodes = []

    def cordon(name):
        core_v1.patch_node(name, {"spec": {"unschedulable": True}})
        nodes.append(name)
    yield cordon
    for name in nodes:
        core_v1.patch_node(name, {"spec": {"unschedulable": None}})


def test_a_migration_whose_target_cannot_be_scheduled_fails_with_kubevirts_reason(
        vms, ansible, custom_objects, core_v1, cordoned):
    source = node_of(custom_objects, "lm-b")
    target = next(n.metadata.name for n in core_v1.list_node(label_selector="node-role.kubernetes.io/worker").items
                  if n.metadata.name != source)
    cordoned(target)
    run = ansible(module_play({"names": ["lm-b"], "node": target, "unschedulable_timeout": 2}))
    result = result_of(run)
    assert result["failed"], result
    [failed] = result["migrations"]
    assert failed["outcome"] == "failed" and failed["source_node"] == source, failed
    assert "unschedulable pod live-migration/virt-launcher-lm-b-" in failed["reason"], failed
    assert "timeout period exceeded" in result["msg"]
    assert node_of(custom_objects, "lm-b") == source
    [vmim] = migrations_of(custom_objects, "lm-b")
    assert vmim["status"]["phase"] == "Failed"  # KubeVirt's record of the failure stays, and a rerun reports it
    again = result_of(ansible(module_play({"names": ["lm-b"], "node": target, "unschedulable_timeout": 2})))
    assert again["failed"] and again["changed"] is False and again["migrations"][0]["migration"] == failed["migration"]
    custom_objects.delete_namespaced_custom_object(*VMIM[:2], NAMESPACE, VMIM[2], vmim["metadata"]["name"])


def test_vms_chosen_by_label_migrate_to_the_node_asked_for(vms, ansible, custom_objects, core_v1):
    target = next(n.metadata.name for n in core_v1.list_node(label_selector="node-role.kubernetes.io/worker").items
                  if n.metadata.name != node_of(custom_objects, "lm-b"))
    run = ansible(module_play({"label_selector": "tier=web", "node": target}))
    result = result_of(run)
    assert not result.get("failed"), result
    assert sorted(m["vm"] for m in result["migrations"]) == ["lm-a", "lm-b"]
    assert node_of(custom_objects, "lm-a") == node_of(custom_objects, "lm-b") == target
    again = result_of(ansible(module_play({"label_selector": "tier=web", "node": target})))
    assert again["changed"] is False, again

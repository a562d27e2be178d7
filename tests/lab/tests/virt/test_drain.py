"""Node maintenance: evictions of virt-launcher pods through the eviction API, as a drain does them."""

import pytest

from virt_helpers import (NODE, POD, VM, VMI, VMIM, blank_vm, evict, launcher_pods, message, pvc_body, unique,
                          wait_for, wait_vm_running)


@pytest.fixture
def cordoned(kube):
    """cordon(node): mark a node unschedulable (as `kubectl drain` first does); undone afterwards."""
    nodes = []

    def cordon(name):
        kube.patch(*NODE, name, None, {"spec": {"unschedulable": True}})
        nodes.append(name)
    yield cordon
    for name in nodes:
        kube.patch(*NODE, name, None, {"spec": {"unschedulable": None}})


def drain(kube, core_v1, node: str, timeout: float = 120) -> list:
    """What `kubectl drain` does with virt-launcher pods: evict, and retry on 429, until none runs."""
    answers = []

    def drained():
        pending = [p for p in kube.list(*POD, label_selector="kubevirt.io=virt-launcher")
                   if p["spec"].get("nodeName") == node and not p["metadata"].get("deletionTimestamp")]
        for pod in pending:
            error = evict(core_v1, pod["metadata"]["namespace"], pod["metadata"]["name"])
            answers.append((pod["metadata"]["name"], error.status if error else 201,
                            message(error) if error else ""))
        return not pending
    wait_for(drained, f"node {node} to be drained", timeout)
    return answers


def test_draining_a_node_migrates_its_vms_away(stack, kube, core_v1, namespace, cordoned):
    first = unique("vm")
    kube.create(blank_vm(first, stack.san), namespace)
    wait_vm_running(kube, namespace, first)
    node = kube.get(*VMI, first, namespace)["status"]["nodeName"]
    second = unique("vm")  # a second VM on the same node
    kube.create(blank_vm(second, stack.san, template_spec={
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "preference": {"matchExpressions": [
                {"key": "kubernetes.io/hostname", "operator": "In", "values": [node]}]}}]}}}), namespace)
    wait_vm_running(kube, namespace, second)
    names = [first] + ([second] if kube.get(*VMI, second, namespace)["status"]["nodeName"] == node else [])
    cordoned(node)

    answers = drain(kube, core_v1, node)
    first_answers = {pod: (code, text) for pod, code, text in reversed(answers)}
    for name in names:
        pod = next(pod for pod, _, _ in answers if f"virt-launcher-{name}-" in pod)
        code, text = next((c, t) for p, c, t in answers if p == pod)
        assert code == 429, answers
        assert text == ('admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied the request: '
                        f'Eviction triggered evacuation of VMI "{namespace}/{name}"')
    assert first_answers  # every launcher pod on the node was evicted in the end
    for name in names:
        vmi = kube.wait(*VMI, name, namespace, lambda v: v["status"].get("nodeName") != node
                        and v["status"].get("phase") == "Running", "to run elsewhere")
        assert not vmi["status"].get("evacuationNodeName")
        migrations = kube.list(*VMIM, namespace, label_selector=f"kubevirt.io/vmi-name={name}")
        assert [m["metadata"]["name"].startswith("kubevirt-evacuation-") for m in migrations] == [True]
        assert migrations[0]["metadata"]["annotations"]["kubevirt.io/evacuationMigration"] == node
        assert migrations[0]["status"]["phase"] == "Succeeded"
        assert kube.get(*VM, name, namespace)["status"]["printableStatus"] in ("Running", "Migrating")
    running = [p for p in kube.list(*POD, label_selector="kubevirt.io=virt-launcher")
               if p["spec"]["nodeName"] == node and p["status"].get("phase") == "Running"]
    assert running == []


def test_a_vm_that_cannot_migrate_blocks_the_drain(stack, kube, core_v1, namespace):
    kube.create(pvc_body("rwo-data", stack.san, access_mode="ReadWriteOnce"), namespace)
    name = unique("vm")
    # No evictionStrategy of its own: the cluster's default (LiveMigrate, from HCO) applies.
    kube.create(blank_vm(name, stack.san, extra_disks=[("data", "rwo-data")]), namespace)
    wait_vm_running(kube, namespace, name)
    pod = launcher_pods(kube, namespace, name)[0]["metadata"]["name"]
    error = evict(core_v1, namespace, pod)
    assert error is not None and error.status == 429
    assert message(error) == ('admission webhook "virt-launcher-eviction-interceptor.kubevirt.io" denied the '
                              f"request: VMI {name} is configured with an eviction strategy but is not "
                              "live-migratable")
    vmi = kube.get(*VMI, name, namespace)
    assert not vmi["status"].get("evacuationNodeName") and kube.get(*POD, pod, namespace)["status"]["phase"] == \
        "Running"


def test_eviction_strategy_none_lets_the_pod_go(stack, kube, core_v1, namespace):
    name = unique("vm")
    kube.create(blank_vm(name, stack.san, template_spec={"evictionStrategy": "None"}), namespace)
    wait_vm_running(kube, namespace, name)
    vmi_uid = kube.get(*VMI, name, namespace)["metadata"]["uid"]
    pod = launcher_pods(kube, namespace, name)[0]["metadata"]["name"]
    assert evict(core_v1, namespace, pod) is None  # granted: the guest is shut down, not migrated
    kube.wait_gone(*POD, pod, namespace)
    wait_for(lambda: (kube.get(*VMI, name, namespace) or {}).get("metadata", {}).get("uid") not in (None, vmi_uid),
             "runStrategy Always to start a new VMI")
    assert kube.list(*VMIM, namespace) == []


def test_a_second_eviction_during_the_evacuation_is_refused(stack, kube, core_v1, namespace):
    name = unique("vm")
    kube.create(blank_vm(name, stack.san), namespace)
    wait_vm_running(kube, namespace, name)
    pod = launcher_pods(kube, namespace, name)[0]["metadata"]["name"]
    first = evict(core_v1, namespace, pod)
    second = evict(core_v1, namespace, pod)
    assert first.status == second.status == 429
    assert message(second).endswith(f'Evacuation in progress: Eviction triggered evacuation of VMI '
                                    f'"{namespace}/{name}"') or kube.get(*POD, pod, namespace)["status"][
        "phase"] == "Succeeded"
    kube.wait(*VMI, name, namespace, lambda v: v["status"]["migrationState"].get("completed")
              if v["status"].get("migrationState") else False, "to be migrated")

"""Live migration: phases, the VMI on another node, refusals, configuration, a restart mid-flight."""

import re
import time

import pytest
from kubernetes.client.exceptions import ApiException

from virt_helpers import (CNV, HC, KUBEVIRT, VM, VMI, VMIM, blank_vm, condition, launcher_pods, message,
                          migrate, pvc_body, restart_controllers, unique, wait_for, wait_migration, wait_vm_running)

PHASES = ["Pending", "Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running", "Succeeded"]
IN_FLIGHT = ("Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running")


def running_vm(kube, namespace, storage_class, **kwargs) -> str:
    name = unique("vm")
    kube.create(blank_vm(name, storage_class, **kwargs), namespace)
    wait_vm_running(kube, namespace, name)
    return name


def test_live_migration_moves_the_vmi_to_another_node(stack, kube, namespace):
    name = running_vm(kube, namespace, stack.san)
    vmi = kube.get(*VMI, name, namespace)
    source = vmi["status"]["nodeName"]
    source_pod = launcher_pods(kube, namespace, name)[0]["metadata"]["name"]
    migration = migrate(kube, namespace, name)
    seen = []

    def done():
        phase = ((kube.get(*VMIM, migration["metadata"]["name"], namespace) or {}).get("status") or {}).get("phase")
        if phase and (not seen or seen[-1] != phase):
            seen.append(phase)
        if phase in IN_FLIGHT:
            printable = kube.get(*VM, name, namespace)["status"]["printableStatus"]
            if phase == "Running":
                assert printable == "Migrating"
        return phase == "Succeeded"
    wait_for(done, "the migration to succeed")
    migration = kube.get(*VMIM, migration["metadata"]["name"], namespace)
    assert [t["phase"] for t in migration["status"]["phaseTransitionTimestamps"]] == PHASES
    assert set(seen) <= set(PHASES)
    assert migration["metadata"]["labels"]["kubevirt.io/vmi-name"] == name
    assert "kubevirt.io/migrationJobFinalizer" in migration["metadata"]["finalizers"]

    vmi = kube.get(*VMI, name, namespace)
    state = vmi["status"]["migrationState"]
    target = state["targetNode"]
    assert target != source and state["sourceNode"] == source
    assert vmi["status"]["nodeName"] == target and vmi["metadata"]["labels"]["kubevirt.io/nodeName"] == target
    assert state["completed"] is True and not state.get("failed")
    assert state["startTimestamp"] and state["endTimestamp"] and state["mode"] == "PreCopy"
    assert state["migrationUid"] == migration["metadata"]["uid"]
    assert migration["status"]["migrationState"]["targetNode"] == target
    pods = {p["metadata"]["name"]: p for p in launcher_pods(kube, namespace, name)}
    assert pods[source_pod]["status"]["phase"] == "Succeeded"  # the old launcher completed
    new_pod = pods[state["targetPod"]]
    assert new_pod["spec"]["nodeName"] == target and new_pod["status"]["phase"] == "Running"
    assert vmi["status"]["interfaces"][0]["ipAddress"] == new_pod["status"]["podIP"]
    kube.wait(*VM, name, namespace, lambda vm: vm["status"]["printableStatus"] == "Running", "to be Running again")


def test_a_vm_with_a_read_write_once_disk_cannot_migrate(stack, kube, namespace):
    kube.create(pvc_body("rwo-data", stack.san, access_mode="ReadWriteOnce"), namespace)
    name = running_vm(kube, namespace, stack.san, extra_disks=[("data", "rwo-data")],
                      template_spec={"evictionStrategy": "None"})
    vmi = kube.get(*VMI, name, namespace)
    migratable = condition(vmi, "LiveMigratable")
    assert migratable["status"] == "False" and migratable["reason"] == "DisksNotLiveMigratable"
    expected = ("cannot migrate VMI: PVC rwo-data is not shared, live migration requires that all PVCs must be "
                "shared (using ReadWriteMany access mode)")
    assert migratable["message"] == expected
    assert condition(kube.get(*VM, name, namespace), "LiveMigratable")["status"] == "False"
    with pytest.raises(ApiException) as refused:
        migrate(kube, namespace, name)
    assert refused.value.status == 400
    assert message(refused.value) == ('admission webhook "migration-create-validator.kubevirt.io" denied the '
                                      "request: Cannot migrate VMI, Reason: DisksNotLiveMigratable, Message: "
                                      + expected)
    assert kube.list(*VMIM, namespace) == []


def test_a_second_migration_while_one_runs_is_refused(stack, kube, namespace):
    name = running_vm(kube, namespace, stack.san)
    first = migrate(kube, namespace, name)
    with pytest.raises(ApiException) as refused:
        migrate(kube, namespace, name)
    assert "in-flight migration detected" in message(refused.value)
    wait_migration(kube, first)


def test_migration_of_a_missing_vmi_is_refused(stack, kube, namespace):
    with pytest.raises(ApiException) as refused:
        migrate(kube, namespace, "nothing-here")
    assert message(refused.value).endswith(f'the VMI "{namespace}/nothing-here" does not exist')


def test_a_migration_that_cannot_complete_in_time_fails(stack, kube, namespace):
    # 2Gi of guest memory at 1Mi/s would take ~34 minutes: more than completionTimeoutPerGiB x 2.
    kube.patch(*HC, "kubevirt-hyperconverged", CNV, {"spec": {"liveMigrationConfig": {
        "bandwidthPerMigration": "1Mi", "completionTimeoutPerGiB": 150}}})
    try:
        kube.wait(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV,
                  lambda k: k["spec"]["configuration"]["migrations"].get("bandwidthPerMigration") == "1Mi",
                  "to take the bandwidth")
        name = running_vm(kube, namespace, stack.san)
        source = kube.get(*VMI, name, namespace)["status"]["nodeName"]
        failed = wait_migration(kube, migrate(kube, namespace, name), ("Failed", "Succeeded"))
        assert failed["status"]["phase"] == "Failed"
        reason = failed["status"]["migrationState"]["failureReason"]
        assert reason == "Live migration is not completed after 300 seconds and has been aborted"
        vmi = kube.get(*VMI, name, namespace)
        assert vmi["status"]["nodeName"] == source and vmi["status"]["phase"] == "Running"
        assert vmi["status"]["migrationState"]["failed"] is True
        wait_for(lambda: len(launcher_pods(kube, namespace, name)) == 1, "the target pod to go")
    finally:
        kube.patch(*HC, "kubevirt-hyperconverged", CNV, {"spec": {"liveMigrationConfig": {
            "bandwidthPerMigration": None}}})
        kube.wait(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV,
                  lambda k: "bandwidthPerMigration" not in k["spec"]["configuration"]["migrations"],
                  "to drop the bandwidth limit")


def test_parallel_migrations_per_cluster_holds_migrations_back(stack, kube, namespace):
    kube.patch(*HC, "kubevirt-hyperconverged", CNV, {"spec": {"liveMigrationConfig": {
        "parallelMigrationsPerCluster": 1}}})
    try:
        kube.wait(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV,
                  lambda k: k["spec"]["configuration"]["migrations"].get("parallelMigrationsPerCluster") == 1,
                  "to take the limit")
        names = [running_vm(kube, namespace, stack.san) for _ in range(2)]
        first, second = (migrate(kube, namespace, name) for name in names)
        both = []

        def watch():
            phases = [((kube.get(*VMIM, m["metadata"]["name"], namespace) or {}).get("status") or {}).get("phase")
                      for m in (first, second)]
            both.append(sum(p in IN_FLIGHT for p in phases))
            return all(p == "Succeeded" for p in phases)
        wait_for(watch, "both migrations to succeed one after the other")
        assert max(both) == 1, both
    finally:
        kube.patch(*HC, "kubevirt-hyperconverged", CNV, {"spec": {"liveMigrationConfig": {
            "parallelMigrationsPerCluster": 5}}})


def test_deleting_a_running_migration_aborts_it(stack, kube, namespace):
    name = running_vm(kube, namespace, stack.san)
    source = kube.get(*VMI, name, namespace)["status"]["nodeName"]
    migration = migrate(kube, namespace, name)
    wait_migration(kube, migration, ("Scheduling", "Scheduled", "PreparingTarget"))
    kube.delete(*VMIM, migration["metadata"]["name"], namespace)
    kube.wait_gone(*VMIM, migration["metadata"]["name"], namespace)
    vmi = kube.get(*VMI, name, namespace)
    assert vmi["status"]["nodeName"] == source
    wait_for(lambda: len(launcher_pods(kube, namespace, name)) == 1, "the target pod to go")


def test_a_controller_restart_in_the_middle_of_a_migration_still_ends_it(stack, kube, namespace, lab):
    name = running_vm(kube, namespace, stack.san)
    source = kube.get(*VMI, name, namespace)["status"]["nodeName"]
    migration = migrate(kube, namespace, name)
    caught = wait_for(lambda: ((kube.get(*VMIM, migration["metadata"]["name"], namespace) or {}).get("status")
                               or {}).get("phase") in IN_FLIGHT, "the migration to be in flight", timeout=30)
    assert caught
    restart_controllers(lab)  # SIGKILL mid-flight, then a new process
    done = wait_migration(kube, migration, ("Succeeded", "Failed"), timeout=120)
    assert done["status"]["phase"] == "Succeeded", done["status"]
    vmi = kube.get(*VMI, name, namespace)
    assert vmi["status"]["nodeName"] != source and vmi["status"]["migrationState"]["completed"] is True
    assert [t["phase"] for t in done["status"]["phaseTransitionTimestamps"]] == PHASES
    pods = launcher_pods(kube, namespace, name)
    assert sorted(p["status"]["phase"] for p in pods) == ["Running", "Succeeded"]
    # The restarted process serves the webhooks again (new port): a VM can still be created.
    again = unique("vm")
    wait_for(lambda: _created(kube, blank_vm(again, stack.san), namespace), "virt-api to answer again")
    wait_vm_running(kube, namespace, again)


def _created(kube, body, namespace):
    try:
        return kube.create(body, namespace)
    except ApiException as error:
        if error.status >= 500:
            time.sleep(0.5)
            return None
        raise


# --- a target that cannot start, a copy that stalls, MigrationPolicy -------------------------------

MIGRATION_POLICY = ("migrations.kubevirt.io/v1alpha1", "MigrationPolicy")


def migrate_with(kube, namespace, name, annotations=None, **spec) -> dict:
    return kube.create({"apiVersion": VMIM[0], "kind": VMIM[1],
                        "metadata": {"generateName": f"{name}-migration-", "namespace": namespace,
                                     "annotations": annotations or {}},
                        "spec": {"vmiName": name, **spec}})


def phase_of(kube, migration) -> str:
    found = kube.get(*VMIM, migration["metadata"]["name"], migration["metadata"]["namespace"]) or {}
    return (found.get("status") or {}).get("phase")


@pytest.fixture
def policies(kube):
    """policy(name, selectors, **settings): a cluster-scoped MigrationPolicy, deleted afterwards."""
    made = []

    def policy(name, selectors, **settings):
        made.append(kube.create({"apiVersion": MIGRATION_POLICY[0], "kind": MIGRATION_POLICY[1],
                                 "metadata": {"name": name}, "spec": {"selectors": selectors, **settings}}))
        return name
    yield policy
    for name in (p["metadata"]["name"] for p in made):
        kube.delete(*MIGRATION_POLICY, name)


@pytest.mark.parametrize("annotation, reason", [
    ("kubevirt.io/migrationUnschedulablePodTimeoutSeconds", "unschedulable pod {} timeout period exceeded"),
    ("kubevirt.io/migrationPendingPodTimeoutSeconds", "pending pod {} timeout period exceeded"),
])
def test_a_target_pod_that_cannot_be_scheduled_fails_the_migration_after_the_pending_timeout(
        stack, kube, namespace, annotation, reason):
    """kubevirt v1.8.4 pkg/virt-controller/watch/migration/migration.go: handleTargetPodCreation makes
    the target pod whatever the nodes (the phase goes Scheduling once it exists); handlePendingPodTimeout
    deletes a pod pending longer than the unschedulable timeout (default 5 min) or the catch-all one
    (15 min), each overridable per migration by its annotation; updateStatus then fails the migration
    ("Migration target pod was removed during active migration."). The VMI keeps running on its source.
    """
    name = running_vm(kube, namespace, stack.san)
    source = kube.get(*VMI, name, namespace)["status"]["nodeName"]
    migration = migrate_with(kube, namespace, name, annotations={annotation: "3"},
                             addedNodeSelector={"kubernetes.io/hostname": "no-such-node"})
    wait_migration(kube, migration, ("Scheduling",))
    target = next(p for p in launcher_pods(kube, namespace, name)
                  if p["metadata"]["labels"].get("kubevirt.io/migrationJobUID") == migration["metadata"]["uid"])
    assert not target["spec"].get("nodeName") and target["status"]["phase"] == "Pending"
    assert condition(target, "PodScheduled")["reason"] == "Unschedulable"

    failed = wait_migration(kube, migration, ("Failed", "Succeeded"), timeout=60)
    assert failed["status"]["phase"] == "Failed"
    assert [t["phase"] for t in failed["status"]["phaseTransitionTimestamps"]] == ["Pending", "Scheduling", "Failed"]
    migration_name = migration["metadata"]["name"]
    unschedulable = kube.events(namespace, migration_name, "migrationTargetPodUnschedulable")
    assert unschedulable[0]["message"] == (f"Migration target pod for VMI [{namespace}/{name}] is currently "
                                           "unschedulable.")
    deleted = kube.events(namespace, migration_name, "SuccessfulDelete")
    assert [e["message"] for e in deleted] == [reason.format(f"{namespace}/{target['metadata']['name']}")]
    assert [e["message"] for e in kube.events(namespace, migration_name, "FailedMigration")] == [
        "Migration target pod was removed during active migration."]
    wait_for(lambda: len(launcher_pods(kube, namespace, name)) == 1, "the target pod to go")
    vmi = kube.get(*VMI, name, namespace)
    assert vmi["status"]["nodeName"] == source and vmi["status"]["phase"] == "Running"


def test_the_most_specific_migration_policy_configures_the_migration(stack, kube, namespace, policies):
    """kubevirt v1.8.4 pkg/virt-controller/watch/migration/migrationpolicy.go matchPolicy: the policy
    matching the most VMI + namespace labels wins; migration.go handleTargetPodHandoff /
    matchMigrationPolicy then writes its name to status.migrationState.migrationPolicyName and the
    cluster configuration overridden by its fields (MigrationPolicy.GetMigrationConfByPolicy in
    staging/src/kubevirt.io/api/migrations/v1alpha1/types.go) to migrationConfiguration; a final
    migration keeps the VMI's migrationState (updateStatus).
    """
    name = running_vm(kube, namespace, stack.san)
    by_namespace = {"kubernetes.io/metadata.name": namespace}
    policies(unique("mp-ns"), {"namespaceSelector": by_namespace}, completionTimeoutPerGiB=400)
    specific = policies(unique("mp-vmi"), {"namespaceSelector": by_namespace,
                                           "virtualMachineInstanceSelector": {"kubevirt.io/domain": name}},
                        bandwidthPerMigration="2Gi", allowPostCopy=True)
    done = wait_migration(kube, migrate(kube, namespace, name), ("Succeeded", "Failed"))
    assert done["status"]["phase"] == "Succeeded"
    state = kube.get(*VMI, name, namespace)["status"]["migrationState"]
    assert state["migrationPolicyName"] == specific
    configuration = state["migrationConfiguration"]
    assert configuration["bandwidthPerMigration"] == "2Gi" and configuration["allowPostCopy"] is True
    assert configuration["allowWorkloadDisruption"] is True  # follows allowPostCopy when unset
    assert configuration["completionTimeoutPerGiB"] == 150  # the other policy's value does not mix in
    assert done["status"]["migrationState"]["migrationPolicyName"] == specific


def test_a_vm_no_policy_matches_migrates_with_the_cluster_configuration(stack, kube, namespace, policies):
    """migrationpolicy.go countMatchingLabels: every selector label must match; with no policy
    matched, migration.go handleTargetPodHandoff leaves migrationPolicyName unset and copies the
    cluster's configuration (kubevirt v1.8.4)."""
    name = running_vm(kube, namespace, stack.san)
    policies(unique("mp-other"), {"namespaceSelector": {"kubernetes.io/metadata.name": namespace},
                                  "virtualMachineInstanceSelector": {"kubevirt.io/domain": "another-vm"}},
             bandwidthPerMigration="2Gi")
    done = wait_migration(kube, migrate(kube, namespace, name), ("Succeeded", "Failed"))
    assert done["status"]["phase"] == "Succeeded"
    state = kube.get(*VMI, name, namespace)["status"]["migrationState"]
    assert "migrationPolicyName" not in state
    assert state["migrationConfiguration"]["bandwidthPerMigration"] == "0Mi"


def _set_node_ready(core_v1, node: str, ready: bool) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    core_v1.patch_node_status(node, {"status": {"conditions": [{
        "type": "Ready", "status": "True" if ready else "False",
        "reason": "KubeletReady" if ready else "KubeletNotReady",
        "message": "kubelet is posting ready status" if ready else "network is down",
        "lastHeartbeatTime": stamp, "lastTransitionTime": stamp}]}})


def test_a_migration_that_makes_no_progress_is_aborted(stack, kube, core_v1, namespace, policies):
    """kubevirt v1.8.4 pkg/virt-launcher/virtwrap/live-migration-source.go processInflightMigration:
    a copy whose remaining data has not shrunk for progressTimeout seconds (isMigrationProgressing)
    is aborted with "Live migration stuck for N seconds and has been aborted". The lab stalls the copy
    while a node of the pair is not Ready (its network down); a 64Mi/s policy keeps the copy running
    long enough to see it.
    """
    name = running_vm(kube, namespace, stack.san)
    policies(unique("mp-slow"), {"virtualMachineInstanceSelector": {"kubevirt.io/domain": name}},
             bandwidthPerMigration="64Mi")
    kube.patch(*HC, "kubevirt-hyperconverged", CNV, {"spec": {"liveMigrationConfig": {"progressTimeout": 2}}})
    target_node = None
    try:
        kube.wait(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV,
                  lambda k: k["spec"]["configuration"]["migrations"].get("progressTimeout") == 2,
                  "to take the progress timeout")
        source = kube.get(*VMI, name, namespace)["status"]["nodeName"]
        migration = migrate(kube, namespace, name)
        running = wait_migration(kube, migration, ("Running", "Succeeded", "Failed"))
        assert running["status"]["phase"] == "Running"
        target_node = running["status"]["migrationState"]["targetNode"]
        _set_node_ready(core_v1, target_node, False)
        failed = wait_migration(kube, migration, ("Failed", "Succeeded"), timeout=60)
        assert failed["status"]["phase"] == "Failed"
        reason = failed["status"]["migrationState"]["failureReason"]
        stuck = re.fullmatch(r"Live migration stuck for (\d+) seconds and has been aborted", reason)
        assert stuck and int(stuck.group(1)) > 2, reason
        vmi = kube.get(*VMI, name, namespace)
        assert vmi["status"]["nodeName"] == source and vmi["status"]["migrationState"]["failed"] is True
    finally:
        if target_node:
            _set_node_ready(core_v1, target_node, True)
        kube.patch(*HC, "kubevirt-hyperconverged", CNV, {"spec": {"liveMigrationConfig": {"progressTimeout": 150}}})
        kube.wait(*KUBEVIRT, "kubevirt-kubevirt-hyperconverged", CNV,
                  lambda k: k["spec"]["configuration"]["migrations"].get("progressTimeout") == 150,
                  "to take the default progress timeout back")

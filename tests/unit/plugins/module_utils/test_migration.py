"""The pure parts of live migration: why a VMI cannot migrate, the migration object, what a migration did."""

from ansible_collections.ontap.virtualization.plugins.module_utils import migration


def vmi(volumes=(), interfaces=(), networks=(), conditions=(), phase="Running", annotations=None):
    return {"metadata": {"name": "vm1", "namespace": "vms", "uid": "u-1", "annotations": annotations or {}},
            "spec": {"volumes": list(volumes), "networks": list(networks),
                     "domain": {"devices": {"interfaces": list(interfaces)}}},
            "status": {"phase": phase, "nodeName": "worker-1", "conditions": list(conditions)}}


def pvc(*modes):
    return {"spec": {"accessModes": list(modes)}, "status": {"accessModes": list(modes)}}


def test_a_migratable_vmi_has_no_blockers():
    volumes = [{"name": "root", "dataVolume": {"name": "vm1-root"}}, {"name": "cloud", "cloudInitNoCloud": {}}]
    assert migration.blockers(vmi(volumes), {"vm1-root": pvc("ReadWriteMany")}) == []


def test_a_disk_that_is_not_read_write_many_is_named_with_its_claim():
    volumes = [{"name": "root", "dataVolume": {"name": "vm1-root"}},
               {"name": "data", "persistentVolumeClaim": {"claimName": "rwo-data"}}]
    found = migration.blockers(vmi(volumes), {"vm1-root": pvc("ReadWriteMany"), "rwo-data": pvc("ReadWriteOnce")})
    assert found == ["disk data (PVC rwo-data) is ReadWriteOnce, not ReadWriteMany"]


def test_a_bridge_on_the_pod_network_blocks_unless_annotated():
    interfaces, networks = [{"name": "default", "bridge": {}}], [{"name": "default", "pod": {}}]
    assert "interface default connects the pod network" in migration.blockers(
        vmi(interfaces=interfaces, networks=networks), {})[0]
    allowed = vmi(interfaces=interfaces, networks=networks, annotations={migration.ALLOW_BRIDGE_ANNOTATION: ""})
    assert migration.blockers(allowed, {}) == []


def test_kubevirts_condition_reason_is_reported():
    condition = {"type": "LiveMigratable", "status": "False", "reason": "HostDeviceNotLiveMigratable",
                 "message": "VMI uses a host device"}
    assert migration.blockers(vmi(conditions=[condition]), {}) == [
        "KubeVirt reports LiveMigratable=False, reason HostDeviceNotLiveMigratable: VMI uses a host device"]


def test_a_vmi_that_is_not_running_cannot_migrate():
    assert migration.blockers(vmi(phase="Scheduling"), {}) == ["it is not running (phase Scheduling)"]


def test_the_migration_name_is_deterministic_and_depends_on_node_and_target():
    to_node = migration.desired_migration(vmi(), migration.Target(node="worker-2"))
    assert to_node == migration.desired_migration(vmi(), migration.Target(node="worker-2"))
    assert to_node["spec"] == {"vmiName": "vm1", "addedNodeSelector": {"kubernetes.io/hostname": "worker-2"}}
    anywhere = migration.desired_migration(vmi(), migration.Target(), unschedulable_timeout=30)
    assert anywhere["spec"] == {"vmiName": "vm1"}
    assert anywhere["metadata"]["name"] != to_node["metadata"]["name"]
    assert anywhere["metadata"]["annotations"] == {migration.TARGET_ANNOTATION: "any node",
                                                   migration.UNSCHEDULABLE_TIMEOUT_ANNOTATION: "30"}
    moved = vmi()
    moved["status"]["nodeName"] = "worker-3"
    assert migration.desired_migration(moved, migration.Target())["metadata"]["name"] != anywhere["metadata"]["name"]


def test_the_outcome_of_a_succeeded_migration_has_both_nodes_and_its_duration():
    done = {"metadata": {"name": "m", "namespace": "vms", "creationTimestamp": "2026-01-01T10:00:00Z"},
            "spec": {"vmiName": "vm1"},
            "status": {"phase": "Succeeded", "migrationState": {"sourceNode": "worker-1", "targetNode": "worker-2"},
                       "phaseTransitionTimestamps": [
                           {"phase": "Pending", "phaseTransitionTimestamp": "2026-01-01T10:00:00Z"},
                           {"phase": "Succeeded", "phaseTransitionTimestamp": "2026-01-01T10:00:42Z"}]}}
    found = migration.outcome(done, {"status": {"nodeName": "worker-2"}})
    assert (found["outcome"], found["source_node"], found["target_node"], found["node"], found["duration_seconds"]) == \
        ("migrated", "worker-1", "worker-2", "worker-2", 42)


def test_a_failed_migration_has_no_target_and_its_reason():
    failed = {"metadata": {"name": "m", "namespace": "vms"}, "spec": {"vmiName": "vm1"},
              "status": {"phase": "Failed", "migrationState": {"sourceNode": "worker-1", "targetNode": "worker-2",
                                                               "failureReason": "Migration aborted"}}}
    found = migration.outcome(failed)
    assert (found["outcome"], found["target_node"], found["reason"]) == ("failed", None, "Migration aborted")
    assert migration.failures([found]) == ["VM vms/vm1 (migration m): Migration aborted"]

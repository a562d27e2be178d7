"""The pure parts of node maintenance: which pods a drain evicts, when a NodeMaintenance is done enough."""

from ansible_collections.ontap.virtualization.plugins.module_utils import drain


def pod(phase="Running", owners=(), annotations=None, deleting=False):
    meta = {"name": "p", "namespace": "ns", "ownerReferences": [{"kind": kind} for kind in owners],
            "annotations": annotations or {}}
    if deleting:
        meta["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return {"metadata": meta, "status": {"phase": phase}}


def test_a_drain_evicts_running_pods_but_not_daemon_set_mirror_finished_or_deleted_ones():
    assert drain.must_leave(pod())
    assert drain.must_leave(pod(owners=["ReplicaSet"]))
    assert not drain.must_leave(pod(owners=["DaemonSet"]))
    assert not drain.must_leave(pod(annotations={"kubernetes.io/config.mirror": "x"}))
    assert not drain.must_leave(pod(phase="Succeeded"))
    assert not drain.must_leave(pod(deleting=True))


def nm(phase, pending=None):
    status = {"phase": phase}
    if pending is not None:
        status["pendingPods"] = pending
    return {"status": status}


def test_a_node_maintenance_is_done_when_it_succeeded():
    done = drain.drained_but(set())
    assert done(nm("Succeeded")) and not done(nm("Running", [])) and not done(None)


def test_with_vms_left_on_the_node_it_is_done_when_only_their_pods_are_pending():
    done = drain.drained_but({"vms/db"})
    assert done(nm("Running", ["virt-launcher-db-x7k2p"]))
    assert not done(nm("Running", ["virt-launcher-db-x7k2p", "virt-launcher-web-a1b2c"]))
    assert "only the pods of vms/db are pending" in done.description

"""The pure parts of node maintenance: which pods a drain evicts, when a NodeMaintenance is done enough."""

from ansible_collections.ontap.virtualization.plugins.module_utils import drain
from ansible_collections.ontap.virtualization.plugins.module_utils.kube import ObjectRef


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


class RefusingKube(object):
    """A node whose one pod is the source pod of a VM that has just live-migrated away: KubeVirt refuses its
    eviction ("Eviction request for target Pod", pod-eviction-admitter.go, admitLauncherPod) until it finishes."""

    def __init__(self, refusals_before_finish):
        self.pod = {"metadata": {"name": "virt-launcher-db-abcde", "namespace": "vms",
                                 "annotations": {"kubevirt.io/domain": "db"}}, "status": {"phase": "Running"}}
        self.refusals_left = refusals_before_finish
        self.evictions = 0

    def ref(self, api_version, kind, name=None, namespace=None):
        return ObjectRef(api_version, kind, name, namespace, kind.lower() + "s")

    def served(self, api_version, kind):
        return False

    def list(self, ref, **selectors):
        return ([self.pod] if ref.kind == "Pod" else []), "1"

    def evict(self, ref):
        self.evictions += 1
        if self.refusals_left:
            self.refusals_left -= 1
            return 429, "Eviction request for target Pod"
        self.pod["status"]["phase"] = "Succeeded"
        return None


class Clocked(object):
    """A module whose waits see the pod as it is and let ``seconds`` pass on the clock each time."""

    def __init__(self, kube, seconds):
        self.kube, self.check_mode, self.now, self.seconds, self.waits = kube, False, 0.0, seconds, []
        self.ensurer = type("Ensurer", (), {"changes": type("Changes", (), {"record": lambda self, outcome: None})()})()

    def clock(self):
        return self.now

    def wait_until(self, ref, predicate, recheck=None, timeout_note=None):
        self.waits.append((ref.name, timeout_note))
        assert not predicate(self.kube.pod)  # refused just now: not yet time to ask again
        self.now += self.seconds
        return predicate(self.kube.pod)


def test_a_refused_eviction_is_asked_again_until_the_pod_finishes_as_kubectl_drain_does():
    kube = RefusingKube(refusals_before_finish=2)
    module = Clocked(kube, seconds=drain.REEVICT_SECONDS)
    drain.Maintenance(module, "worker-1", method="drain").drain(left=set())
    assert kube.evictions == 3 and kube.pod["status"]["phase"] == "Succeeded"
    assert [name for name, _note in module.waits] == ["virt-launcher-db-abcde"] * 2
    assert "the eviction of vms/db was refused: Eviction request for target Pod" in module.waits[0][1]


def test_a_refused_pod_is_not_asked_again_before_its_interval():
    kube = RefusingKube(refusals_before_finish=1)
    module = Clocked(kube, seconds=0)
    predicate = drain.Maintenance(module, "worker-1", method="drain")._gone_or_asked_again("busy")
    module.now += drain.REEVICT_SECONDS - 1
    assert not predicate(kube.pod) and predicate(None)
    module.now += 1
    assert predicate(kube.pod) and "asked again every 10 s" in predicate.description

"""Faults: a VM's life in playbooks (vm_life.py: site.yml, snapshot.yml, clone.yml, restore.yml, and a scheduled
snapshot set of its namespace's VMs, scheduled_protection.yml), its live migration (live_migration.yml) and the
report (report.yml) through a proxy that answers 409s, 429s, 5xx, resets connections and cuts watches
(tests/lab/fault_proxy.py), and while the API server or the simulated controllers restart; each faulted run has a
VM and namespace of its own, and each run through the proxy also changes a setting of the HyperConverged, so that
it updates an object that exists (only an update names the resourceVersion that a 409 answers).

Whatever a faulted run did, a rerun without faults must finish it: the namespace must then hold what an unfaulted
run's holds (no duplicate or missing VM, DataVolume, claim, snapshot, clone, restore or migration: a second live
migration is a duplicate), the cluster one of each of what site.yml owns (no second backend, class or operator),
and the HyperConverged the run's setting.
`make reliability` runs one VM run with every proxy fault kind at once, FAULT_RUNS (20) runs of each kind alone and
of each restart (a VM run is 21 playbook runs with its rerun and the clean reference, too long for `make test`, which
runs the node-maintenance run with every kind at once), and prints one table: per kind, the runs, the faults
injected, the chances (the draws made: each request once per kind that applies to it, so the requests themselves
for a kind alone), the faulted runs that failed, the reruns that failed, and the runs that left a duplicate or lost
the setting; then the line each failed faulted run ended with. A faulted run may fail, but with a message: a module
that crashes (a traceback) fails the test. Migrations meet the same faults in test_mtv_control.py, whose lab has MTV.

Node maintenance (node_maintenance.yml, our drain, into maintenance and out again) meets the proxy's faults with
two VMs of a namespace of its own per run: after the rerun every VM runs, each that was on the node elsewhere with
one succeeded migration (a second is a duplicate, none a loss), and the node is schedulable. It has no restart
series: the kill suite (test_interruptions.py) interrupts it instead.
"""

import functools
import random
import threading
from collections import Counter

import pytest

from lab import fault_proxy
from lab.cluster import restart

from fault_runs import RUNS, Tally, alone, every_kind, printed_at_the_end, series, through_proxy as proxied
from conftest import Run
from protection import delete_namespace, make_vms
from vm_life import STEPS, migrations, settled_state, vmis

RESTARTS = ("kube-apiserver", "controllers")
# What the playbooks own cluster-wide: a faulted run must leave one of each, as the clean run did.
CLUSTER_KINDS = (
    ("operators.coreos.com/v1alpha1", "Subscription"), ("operators.coreos.com/v1", "OperatorGroup"),
    ("hco.kubevirt.io/v1beta1", "HyperConverged"), ("trident.netapp.io/v1", "TridentBackendConfig"),
    ("storage.k8s.io/v1", "StorageClass"), ("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass"),
)
SEQUENCE = STEPS + (
    ("live_migration", "playbooks/live_migration.yml", lambda vm: {
        "live_migration_namespace": vm, "live_migration_vms": [vm], "live_migration_progress_interval": 5}),
    ("report", "playbooks/report.yml", lambda vm: {"report_vm_namespace": vm}),
)
TALLY = Tally()
table = printed_at_the_end(TALLY)
HCO = ("hco.kubevirt.io/v1beta1", "HyperConverged", "kubevirt-hyperconverged", "openshift-cnv")


def counts(dynamic_client, kinds, namespace=None) -> Counter:
    found = Counter()
    for api_version, kind in kinds:
        items = dynamic_client.resources.get(api_version=api_version, kind=kind).get(namespace=namespace).items
        found[kind] = len(items)
    return found


@pytest.fixture(scope="module")
def clean(virtualization_stack, ansible, dynamic_client, core_v1):
    """What an unfaulted run leaves: the cluster's counts of CLUSTER_KINDS, and its namespace's state."""
    run = playbooks(ansible, "faults-clean")
    assert run.rc == 0, run.output[-3000:]
    yield {"cluster": counts(dynamic_client, CLUSTER_KINDS), "namespace": settled_state(dynamic_client, "faults-clean")}
    delete_namespace(core_v1, "faults-clean", seconds=300)


def hyperconverged(dynamic_client):
    api_version, kind, name, namespace = HCO
    return dynamic_client.resources.get(api_version=api_version, kind=kind).get(name=name, namespace=namespace)


@pytest.fixture(scope="module")
def parallel_migrations(dynamic_client):
    """The HyperConverged's parallelMigrationsPerCluster before this file, put back after it."""
    original = hyperconverged(dynamic_client).spec.liveMigrationConfig.parallelMigrationsPerCluster
    yield original
    api_version, kind, name, namespace = HCO
    dynamic_client.resources.get(api_version=api_version, kind=kind).patch(
        name=name, namespace=namespace, content_type="application/merge-patch+json",
        body={"spec": {"liveMigrationConfig": {"parallelMigrationsPerCluster": original}}})


def changed_setting(parallel_migrations, run):
    """A value other than the one the previous run left (runs alternate between two above the original)."""
    return {"installation_live_migration": {"parallel_migrations_per_cluster": parallel_migrations + 1 + run % 2}}


def playbooks(ansible, name, kubeconfig=None, settings=None):
    """SEQUENCE for a VM called ``name`` in a namespace of that name (``settings`` go to site.yml), up to the first
    playbook that fails: its return code, and the output of every playbook run."""
    site_settings = settings or {}
    return in_order(ansible, [(playbook, dict(extra(name), **(site_settings if step == "site" else {})))
                              for step, playbook, extra in SEQUENCE], kubeconfig)


def in_order(ansible, runs, kubeconfig=None):
    """Each (playbook, extra vars) of ``runs`` up to the first that fails (through the proxy's ``kubeconfig`` if
    given): its return code, and the output of every playbook run."""
    common = {"k8s_kubeconfig": str(kubeconfig)} if kubeconfig else {}
    outputs = []
    for playbook, extra_vars in runs:
        run = ansible(playbook, extra_vars=dict(common, **extra_vars))
        outputs.append(run.output)
        if run.rc != 0:
            break
    return Run(run.rc, "\n".join(outputs))


def one_kind(kind, ansible, core_v1, dynamic_client, clean, faulted_run, runs=RUNS, settings=lambda run: None):
    """``runs`` faulted runs, each followed by a rerun without faults (same settings) and a comparison of what the
    namespace and the cluster hold with ``clean``."""
    series(TALLY, kind, "faults", runs, faulted_run, lambda name, run: playbooks(ansible, name, settings=settings(run)),
           held_wrongly(core_v1, dynamic_client, clean, settings))


def held_wrongly(core_v1, dynamic_client, clean, settings):
    """What the cluster holds besides or lacks against ``clean``, the namespace against clean's, and the
    HyperConverged against the run's setting; the namespace is deleted after."""
    def check(name, run, rerun):
        cluster = counts(dynamic_client, CLUSTER_KINDS)
        wrong = {k: (cluster[k], n) for k, n in clean["cluster"].items() if cluster[k] != n}
        try:
            held = Counter(settled_state(dynamic_client, name))
        except AssertionError as unsettled:
            wrong["unsettled"] = str(unsettled)
        else:
            expected = Counter(clean["namespace"])
            if held != expected:
                wrong["surplus"], wrong["missing"] = sorted((held - expected).elements()), sorted(
                    (expected - held).elements())
        wanted = (settings(run) or {}).get("installation_live_migration", {}).get("parallel_migrations_per_cluster")
        if wanted is not None:
            held_setting = hyperconverged(dynamic_client).spec.liveMigrationConfig.parallelMigrationsPerCluster
            if held_setting != wanted:
                wrong["parallelMigrationsPerCluster"] = (held_setting, wanted)
        delete_namespace(core_v1, name, seconds=300)
        return ["{0}: (held, expected), or what the namespace holds besides or lacks: {1}".format(name, wrong)
                ] if wrong else []
    return check


def through_proxy(ansible, lab, tmp_path, rates, settings):
    def faulted_run(name, run):
        return proxied(lab, rates, run, tmp_path / "kubeconfig-{0}".format(run),
                       lambda kubeconfig: playbooks(ansible, name, kubeconfig, settings(run)))
    return faulted_run


@pytest.mark.reliability
@pytest.mark.timeout(1800)  # seven playbooks twice; pytest.ini's 900 s ran out with other labs on the machine
def test_one_run_through_every_kind_of_fault_is_finished_by_a_rerun_without_duplicates(
        ansible, lab, core_v1, dynamic_client, clean, parallel_migrations, tmp_path):
    settings = functools.partial(changed_setting, parallel_migrations)
    everything = through_proxy(ansible, lab, tmp_path, every_kind(), settings)
    one_kind("all kinds", ansible, core_v1, dynamic_client, clean, everything, runs=1, settings=settings)


@pytest.mark.reliability
@pytest.mark.parametrize("kind", fault_proxy.KINDS)
def test_runs_through_each_kind_of_fault_are_finished_by_a_rerun_without_duplicates(
        kind, ansible, lab, core_v1, dynamic_client, clean, parallel_migrations, tmp_path):
    settings = functools.partial(changed_setting, parallel_migrations)
    one_kind(kind, ansible, core_v1, dynamic_client, clean,
             through_proxy(ansible, lab, tmp_path, alone(kind), settings), settings=settings)


@pytest.mark.reliability
@pytest.mark.parametrize("process", RESTARTS)
def test_a_rerun_finishes_what_a_run_left_when_a_lab_process_restarted_mid_run(
        process, ansible, lab, core_v1, dynamic_client, clean, tmp_path):
    def restarted_mid_run(name, run):
        chance = random.Random(run)
        timer = threading.Timer(chance.uniform(5, 60), restart, (lab, process))
        timer.start()
        try:
            outcome = playbooks(ansible, name)
        finally:
            timer.cancel()
            timer.join()
        return outcome, {"injected": 1, "applicable": 1}
    one_kind(process + " restart", ansible, core_v1, dynamic_client, clean, restarted_mid_run)


# --- node maintenance ---------------------------------------------------------------------------------------------

MAINTAINED_VMS = ("nm-a", "nm-b")


def maintenance(node):
    """node_maintenance.yml putting ``node`` into maintenance (our drain) and taking it out again."""
    return [("playbooks/node_maintenance.yml", {"node_maintenance_node": node, "node_maintenance_state": state,
                                                "node_maintenance_method": "drain",
                                                "node_maintenance_wait_timeout": 240})
            for state in ("present", "absent")]


def maintenance_series(kind, rates, runs, ansible, lab, custom_objects, core_v1, tmp_path):
    """``runs`` runs of maintenance() of the node of a namespace's first VM through the fault proxy, each followed by
    the same without faults: every VM of the namespace must then run, each that was on the node elsewhere with one
    succeeded migration (none lost, none twice), the others with none, and the node must be schedulable."""
    before = {}

    def node(name):
        return before[name]["nm-a"][1]

    def faulted(name, run):
        make_vms(ansible, name, MAINTAINED_VMS)
        before[name] = vmis(custom_objects, name)
        return proxied(lab, rates, run, tmp_path / "kubeconfig-{0}".format(name),
                       lambda kubeconfig: in_order(ansible, maintenance(node(name)), kubeconfig))

    def held_wrongly(name, run, rerun):
        after, moved = vmis(custom_objects, name), migrations(custom_objects, name)
        wrong = ["{0} {1} on {2} (was on {3}), migrations {4}".format(
            vm, *after.get(vm, ("missing", None)), was, moved.get(vm, []))
            for vm, (_phase, was) in sorted(before[name].items())
            if after.get(vm, (None, None))[0] != "Running" or (was == node(name) and after[vm][1] == was)
            or moved.get(vm, []) != (["Succeeded"] if was == node(name) else [])]
        if core_v1.read_node(node(name)).spec.unschedulable:
            wrong.append("node {0} still cordoned".format(node(name)))
            in_order(ansible, maintenance(node(name))[1:])  # so that the next run has its nodes
        delete_namespace(core_v1, name, seconds=300)
        return ["{0}: {1}".format(name, "; ".join(wrong))] if wrong else []

    series(TALLY, "node maintenance, " + kind, "nm", runs, faulted,
           lambda name, run: in_order(ansible, maintenance(node(name))), held_wrongly)


def test_node_maintenance_through_every_kind_of_fault_is_finished_by_a_rerun_moving_each_vm_once(
        virtualization_stack, ansible, lab, custom_objects, core_v1, tmp_path):
    maintenance_series("all kinds", every_kind(), 1, ansible, lab, custom_objects, core_v1, tmp_path)


@pytest.mark.reliability
@pytest.mark.parametrize("kind", fault_proxy.KINDS)
def test_node_maintenance_through_each_kind_of_fault_is_finished_by_a_rerun_moving_each_vm_once(
        kind, virtualization_stack, ansible, lab, custom_objects, core_v1, tmp_path):
    maintenance_series(kind, alone(kind), RUNS, ansible, lab, custom_objects, core_v1, tmp_path)

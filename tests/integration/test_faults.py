"""Faults: a VM's life in playbooks (vm_life.py: site.yml, snapshot.yml, clone.yml, restore.yml) and its live
migration (live_migration.yml) through a proxy that answers 409s, 429s, 5xx, resets connections and cuts watches
(tests/lab/fault_proxy.py), and while the API server or the simulated controllers restart; each faulted run has a
VM and namespace of its own, and each run through the proxy also changes a setting of the HyperConverged, so that
it updates an object that exists (only an update names the resourceVersion that a 409 answers).

Whatever a faulted run did, a rerun without faults must finish it: the namespace must then hold what an unfaulted
run's holds (no duplicate or missing VM, DataVolume, claim, snapshot, clone, restore or migration: a second live
migration is a duplicate), the cluster one of each of what site.yml owns (no second backend, class or operator),
and the HyperConverged the run's setting.
`make test` runs one run with every proxy fault kind at once; `make reliability` runs FAULT_RUNS (20) runs of each
kind alone and of each restart, and prints one table: per kind, the runs, the faults injected, the chances (the
draws made: each request once per kind that applies to it, so the requests themselves for a kind alone), the
faulted runs that failed, the reruns that failed, and the runs that left a duplicate or lost the setting; then the
line each failed faulted run ended with. A faulted run may fail, but with a message: a module that crashes
(a traceback) fails the test. Migrations meet the same faults in test_mtv_control.py, whose lab has MTV.
"""

import functools
import random
import re
import threading
from collections import Counter

import pytest

from lab import fault_proxy
from lab.cluster import restart

from fault_runs import CRASH, RUNS, Tally, alone, every_kind, printed_at_the_end, through_proxy as proxied
from conftest import Run
from protection import delete_namespace
from vm_life import STEPS, settled_state

RESTARTS = ("kube-apiserver", "controllers")
# What the playbooks own cluster-wide: a faulted run must leave one of each, as the clean run did.
CLUSTER_KINDS = (
    ("operators.coreos.com/v1alpha1", "Subscription"), ("operators.coreos.com/v1", "OperatorGroup"),
    ("hco.kubevirt.io/v1beta1", "HyperConverged"), ("trident.netapp.io/v1", "TridentBackendConfig"),
    ("storage.k8s.io/v1", "StorageClass"), ("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass"),
)
SEQUENCE = STEPS + (("live_migration", "playbooks/live_migration.yml", lambda vm: {
    "live_migration_namespace": vm, "live_migration_vms": [vm], "live_migration_progress_interval": 5}),)
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
    common = {"k8s_kubeconfig": str(kubeconfig)} if kubeconfig else {}
    outputs = []
    for step, playbook, extra in SEQUENCE:
        run = ansible(playbook, extra_vars=dict(common, **extra(name), **(settings or {} if step == "site" else {})))
        outputs.append(run.output)
        if run.rc != 0:
            break
    return Run(run.rc, "\n".join(outputs))


def one_kind(kind, ansible, core_v1, dynamic_client, clean, faulted_run, runs=RUNS, settings=lambda run: None):
    """``runs`` faulted runs, each followed by a rerun without faults (same settings) and a comparison of what the
    namespace and the cluster hold with ``clean``."""
    faulted_failures = rerun_failures = duplicates = injected = applicable = 0
    problems = []
    for run in range(runs):
        name = "faults-{0}-{1}".format(re.sub(r"[^a-z0-9]+", "-", kind), run)
        outcome, extra = faulted_run(name, run)
        injected += extra.get("injected", 0)
        applicable += extra.get("applicable", 0)
        if outcome.rc != 0:
            faulted_failures += 1
            TALLY.failed(name, outcome.output)
        if CRASH.search(outcome.output):
            problems.append("{0}: a module crashed under the fault instead of saying what failed:\n{1}".format(
                name, outcome.output[-2500:]))
        rerun = playbooks(ansible, name, settings=settings(run))
        if rerun.rc != 0:
            rerun_failures += 1
            problems.append("{0}: the rerun failed:\n{1}".format(name, rerun.output[-2500:]))
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
        if wrong:
            duplicates += 1
            problems.append("{0}: (held, expected), or what the namespace holds besides or lacks: {1}".format(
                name, wrong))
        delete_namespace(core_v1, name, seconds=300)
    TALLY.record(kind, runs, injected, applicable, faulted_failures, rerun_failures, duplicates)
    assert not problems, "\n".join(problems)


def through_proxy(ansible, lab, tmp_path, rates, settings):
    def faulted_run(name, run):
        return proxied(lab, rates, run, tmp_path / "kubeconfig-{0}".format(run),
                       lambda kubeconfig: playbooks(ansible, name, kubeconfig, settings(run)))
    return faulted_run


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

"""Faults: site.yml and snapshot.yml through a proxy that answers 409s, 429s, 5xx, resets connections and cuts
watches (tests/lab/fault_proxy.py), and while the API server or the simulated controllers restart; each faulted
run builds a VM of its own, and each run through the proxy also changes a setting of the HyperConverged, so that
it updates an object that exists (only an update names the resourceVersion that a 409 answers).

Whatever a faulted run did, a rerun without faults must finish it, and the cluster must hold exactly one of each
object (no duplicate VM, DataVolume or snapshot, no second backend, class or operator) and the run's setting.
`make test` runs one run with every proxy fault kind at once; `make reliability` runs FAULT_RUNS (20) runs of each
kind alone and of each restart, and prints one table: per kind, the runs, the faults injected, the chances (the
draws made: each request once per kind that applies to it, so the requests themselves for a kind alone), the
faulted runs that failed, the reruns that failed, and the runs that left a duplicate or lost the setting; then the
line each failed faulted run ended with. A faulted run may fail, but with a message: a module that crashes
(a traceback) fails the test.
"""

import functools
import os
import random
import re
import threading
from collections import Counter

import pytest

from lab import fault_proxy
from lab.cluster import restart

from protection import delete_namespace

RATE = float(os.environ.get("FAULT_RATE", "0.05"))  # of the requests a fault kind applies to
# The kinds that apply to few requests (writes naming a resourceVersion, watches) are drawn more often in their own
# series, so that a run meets them at all; the run with every kind at once keeps RATE for each.
NARROW_RATE = float(os.environ.get("FAULT_NARROW_RATE", "0.5"))
NARROW_KINDS = ("conflict", "watch_cut")
RUNS = int(os.environ.get("FAULT_RUNS", "1"))
RESTARTS = ("kube-apiserver", "controllers")
# What the playbooks own cluster-wide: a faulted run must leave one of each, as the clean run did.
CLUSTER_KINDS = (
    ("operators.coreos.com/v1alpha1", "Subscription"), ("operators.coreos.com/v1", "OperatorGroup"),
    ("hco.kubevirt.io/v1beta1", "HyperConverged"), ("trident.netapp.io/v1", "TridentBackendConfig"),
    ("storage.k8s.io/v1", "StorageClass"), ("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass"),
)
# What each run's namespace holds after site.yml's first VM and one snapshot set of its two disks.
PER_VM = {("kubevirt.io/v1", "VirtualMachine"): 1, ("cdi.kubevirt.io/v1beta1", "DataVolume"): 2,
          ("v1", "PersistentVolumeClaim"): 2, ("snapshot.storage.k8s.io/v1", "VolumeSnapshot"): 2}
TABLE = []
FAILURES = []  # (run, the failed task's line) of each faulted run that failed
CRASH = re.compile(r"MODULE FAILURE|Traceback \(most recent call last\)")
HCO = ("hco.kubevirt.io/v1beta1", "HyperConverged", "kubevirt-hyperconverged", "openshift-cnv")


def counts(dynamic_client, kinds, namespace=None) -> Counter:
    found = Counter()
    for api_version, kind in kinds:
        items = dynamic_client.resources.get(api_version=api_version, kind=kind).get(namespace=namespace).items
        found[kind] = len(items)
    return found


@pytest.fixture(scope="module")
def clean(virtualization_stack, dynamic_client):
    """What the cluster holds after an unfaulted site.yml."""
    return counts(dynamic_client, CLUSTER_KINDS)


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
    """site.yml with a first VM called ``name`` in a namespace of that name, then a snapshot of its disks."""
    common = {"k8s_kubeconfig": str(kubeconfig)} if kubeconfig else {}
    site = ansible("playbooks/site.yml", extra_vars=dict(
        common, first_vm_name=name, first_vm_namespace=name, **(settings or {})))
    if site.rc != 0:
        return site
    return ansible("playbooks/snapshot.yml", extra_vars=dict(
        common, protection_namespace=name, snapshot_vms=[name], snapshot_name="s1"))


def failed_task(output):
    """The task that failed and what it said (the first failure of the run)."""
    task = ""
    for line in output.splitlines():
        if line.startswith("TASK ["):
            task = line.strip("* ")
        # "failed: [host] (item=...)" is how a loop item's failure is printed
        elif "FAILED!" in line or "UNREACHABLE!" in line or line.startswith(("failed: [", "ERROR!")):
            return "{0}: {1}".format(task, line)
    return "(no failed task: {0})".format(output.strip().splitlines()[-1] if output.strip() else "no output")


def record(kind, runs, faulted_failures, rerun_failures, duplicates, injected, applicable):
    TABLE.append((kind, runs, injected, applicable, faulted_failures, rerun_failures, duplicates))


def one_kind(kind, ansible, core_v1, dynamic_client, clean, faulted_run, runs=RUNS, settings=lambda run: None):
    """``runs`` faulted runs, each followed by a rerun without faults (same settings) and a count of what the
    cluster holds."""
    faulted_failures = rerun_failures = duplicates = injected = applicable = 0
    problems = []
    for run in range(runs):
        name = "faults-{0}-{1}".format(re.sub(r"[^a-z0-9]+", "-", kind), run)
        outcome, extra = faulted_run(name, run)
        injected += extra.get("injected", 0)
        applicable += extra.get("applicable", 0)
        if outcome.rc != 0:
            faulted_failures += 1
            FAILURES.append((name, failed_task(outcome.output)))
        if CRASH.search(outcome.output):
            problems.append("{0}: a module crashed under the fault instead of saying what failed:\n{1}".format(
                name, outcome.output[-2500:]))
        rerun = playbooks(ansible, name, settings=settings(run))
        if rerun.rc != 0:
            rerun_failures += 1
            problems.append("{0}: the rerun failed:\n{1}".format(name, rerun.output[-2500:]))
        held = counts(dynamic_client, PER_VM, namespace=name)
        cluster = counts(dynamic_client, CLUSTER_KINDS)
        wrong = {k: (held[k], n) for (_v, k), n in PER_VM.items() if held[k] != n}
        wrong.update({k: (cluster[k], clean[k]) for k in clean if cluster[k] != clean[k]})
        wanted = (settings(run) or {}).get("installation_live_migration", {}).get("parallel_migrations_per_cluster")
        if wanted is not None:
            held_setting = hyperconverged(dynamic_client).spec.liveMigrationConfig.parallelMigrationsPerCluster
            if held_setting != wanted:
                wrong["parallelMigrationsPerCluster"] = (held_setting, wanted)
        if wrong:
            duplicates += 1
            problems.append("{0}: (held, expected) {1}".format(name, wrong))
        delete_namespace(core_v1, name, seconds=300)
    record(kind, runs, faulted_failures, rerun_failures, duplicates, injected, applicable)
    assert not problems, "\n".join(problems)


def through_proxy(ansible, lab, tmp_path, rates, settings):
    def faulted_run(name, run):
        with fault_proxy.FaultProxy(lab, rates, seed=run) as proxy:
            outcome = playbooks(ansible, name, proxy.kubeconfig(tmp_path / "kubeconfig-{0}".format(run)), settings(run))
        return outcome, {"injected": sum(proxy.injected.values()), "applicable": sum(proxy.applicable.values())}
    return faulted_run


def test_one_run_through_every_kind_of_fault_is_finished_by_a_rerun_without_duplicates(
        ansible, lab, core_v1, dynamic_client, clean, parallel_migrations, tmp_path):
    settings = functools.partial(changed_setting, parallel_migrations)
    every_kind = through_proxy(ansible, lab, tmp_path, dict.fromkeys(fault_proxy.KINDS, RATE), settings)
    one_kind("all kinds", ansible, core_v1, dynamic_client, clean, every_kind, runs=1, settings=settings)


@pytest.mark.reliability
@pytest.mark.parametrize("kind", fault_proxy.KINDS)
def test_runs_through_each_kind_of_fault_are_finished_by_a_rerun_without_duplicates(
        kind, ansible, lab, core_v1, dynamic_client, clean, parallel_migrations, tmp_path):
    rate = NARROW_RATE if kind in NARROW_KINDS else RATE
    settings = functools.partial(changed_setting, parallel_migrations)
    one_kind(kind, ansible, core_v1, dynamic_client, clean,
             through_proxy(ansible, lab, tmp_path, {kind: rate}, settings), settings=settings)


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


@pytest.fixture(scope="module", autouse=True)
def table(request):
    """The figures of every run of this file, printed at its end whatever pytest captures."""
    yield
    if not TABLE:
        return
    lines = ["", "fault kind             runs  injected     chances  faulted runs failed  reruns failed  "
                 "duplicates or lost"]
    for kind, runs, injected, applicable, faulted, reruns, duplicates in TABLE:
        lines.append("{0:<22} {1:>4} {2:>9} {3:>11} {4:>20} {5:>14} {6:>19}".format(
            kind, runs, injected, applicable, faulted, reruns, duplicates))
    lines += ["", "what each failed faulted run said:"] + ["{0}: {1}".format(n, line[:600]) for n, line in FAILURES]
    with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
        print("\n".join(lines))

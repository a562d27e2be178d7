"""Interruptions: each playbook of a VM's life killed (SIGKILL to its whole process group, workers and modules
included) at a seeded random point, then run again: the namespace must end as it does after an uninterrupted run.
The objects are compared (kind, name, and the fields that say what they are), never the output.

The sequence: site.yml with a first VM of the namespace's own, snapshot.yml of it, clone.yml of it, restore.yml of
the snapshot into a new VM, scheduled_protection.yml of every VM of the namespace. A reference namespace runs it
once without kills and gives each step's duration and the state after it; each kill run replays the steps before,
kills its step at a point drawn in (0.5 s, that duration), reruns it and compares. `make reliability` runs
KILL_RUNS (5) kills per playbook.

The day-2 playbooks move VMs, so their end state is said by where the VMs run: live_migration.yml killed and run
again must leave each VM on another node with one succeeded migration of its own (never a second); and
node_maintenance.yml (our drain) killed and run again must leave the node cordoned with no VM on it and every VM
running elsewhere. Each is timed by one uninterrupted run first, whose end state is held to the same.
"""

import os
import random
import time

import pytest

from conftest import REPO, kill_after, kill_series
from protection import delete_namespace
from vm_life import STEPS, VMIM, migrations, settled_state, vmis

pytestmark = pytest.mark.reliability

RUNS = int(os.environ.get("KILL_RUNS", "5"))


@pytest.fixture(scope="module")
def reference(virtualization_stack, ansible, dynamic_client, core_v1):
    """{step: (seconds, state after it)} of one uninterrupted run of the sequence."""
    vm, found = "kill-ref", {}
    for step, playbook, extra in STEPS:
        started = time.monotonic()
        run = ansible(playbook, extra_vars=extra(vm))
        assert run.rc == 0, "{0}: {1}".format(step, run.output[-3000:])
        found[step] = (time.monotonic() - started, settled_state(dynamic_client, vm))
    yield found
    delete_namespace(core_v1, vm, seconds=300)


@pytest.mark.parametrize("index", range(len(STEPS)), ids=[step for step, _p, _e in STEPS])
def test_a_playbook_killed_at_a_random_point_and_run_again_ends_as_an_uninterrupted_run(
        index, reference, ansible, lab, dynamic_client, core_v1, tmp_path):
    step, playbook, extra = STEPS[index]
    seconds, expected = reference[step]

    def vm(run):
        return "kill-{0}-{1}".format(step, run)

    def killed_and_rerun(run):
        for before, before_playbook, before_extra in STEPS[:index]:
            done = ansible(before_playbook, extra_vars=before_extra(vm(run)))
            assert done.rc == 0, "{0} before the kill: {1}".format(before, done.output[-3000:])
        at = random.Random(run).uniform(0.5, seconds)
        killed = kill_after(lab, REPO / playbook, tmp_path, at, extra_vars=extra(vm(run)))
        return vm(run), at, killed, ansible(playbook, extra_vars=extra(vm(run)))

    def held_wrongly(run, what):
        found = settled_state(dynamic_client, vm(run))
        if found == expected:
            return []
        surplus, missing = sorted(set(found) - set(expected)), sorted(set(expected) - set(found))
        return ["{0}; held besides what an uninterrupted run holds: {1}; missing: {2}".format(what, surplus, missing)]

    problems = kill_series(step + " killed", RUNS, killed_and_rerun, held_wrongly,
                           after=lambda run: delete_namespace(core_v1, vm(run), seconds=300))
    assert not problems, "\n".join(problems)


# --- day 2 -------------------------------------------------------------------------------------------------------

DAY2 = "kill-day2"
DAY2_VMS = [{"name": "kd-a", "access": "ReadWriteMany"}, {"name": "kd-b", "access": "ReadWriteMany"}]


def forget_migrations(custom_objects):
    """Completed migrations are KubeVirt's records; a rerun with the same inputs finds them and moves nothing, so
    each kill run starts without them."""
    for item in custom_objects.list_namespaced_custom_object(*VMIM[:2], DAY2, VMIM[2])["items"]:
        custom_objects.delete_namespaced_custom_object(*VMIM[:2], DAY2, VMIM[2], item["metadata"]["name"])


@pytest.fixture(scope="module")
def day2_vms(virtualization_stack, ansible, custom_objects, core_v1):
    run = ansible("tests/fixtures/vms_with_a_data_disk.yml", extra_vars={"vm_namespace": DAY2, "vms": DAY2_VMS})
    assert run.rc == 0, run.output[-3000:]
    yield
    delete_namespace(core_v1, DAY2, seconds=300)


def killed_and_run_again(lab, ansible, tmp_path, playbook, extra, at):
    """(killed: bool, the rerun) of ``playbook`` killed ``at`` seconds after its start."""
    return kill_after(lab, REPO / playbook, tmp_path, at, extra_vars=extra), ansible(playbook, extra_vars=extra)


def test_live_migration_killed_at_a_random_point_and_run_again_moves_each_vm_once(
        day2_vms, ansible, lab, custom_objects, tmp_path):
    extra = {"live_migration_namespace": DAY2, "live_migration_vms": [vm["name"] for vm in DAY2_VMS],
             "live_migration_progress_interval": 5}

    def moved_once(before, what):
        after, held = vmis(custom_objects, DAY2), migrations(custom_objects, DAY2)
        wrong = ["{0} on {1} ({2}), was on {3}; migrations {4}".format(
            vm, after[vm][1], after[vm][0], node, held.get(vm)) for vm, (_phase, node) in sorted(before.items())
            if after[vm] == ("Running", node) or after[vm][0] != "Running" or held.get(vm) != ["Succeeded"]]
        return ["{0}: {1}".format(what, "; ".join(wrong))] if wrong else []

    before = vmis(custom_objects, DAY2)
    started = time.monotonic()
    reference = ansible("playbooks/live_migration.yml", extra_vars=extra)
    seconds = time.monotonic() - started
    assert reference.rc == 0, reference.output[-3000:]
    problems = moved_once(before, "the uninterrupted run")
    placed = {}

    def killed_and_rerun(run):
        forget_migrations(custom_objects)
        placed[run], at = vmis(custom_objects, DAY2), random.Random(run).uniform(0.5, seconds)
        killed, again = killed_and_run_again(lab, ansible, tmp_path, "playbooks/live_migration.yml", extra, at)
        return "run {0}".format(run), at, killed, again

    problems += kill_series("live_migration.yml killed", RUNS, killed_and_rerun,
                            lambda run, what: moved_once(placed[run], what))
    assert not problems, "\n".join(problems)


def test_node_maintenance_killed_at_a_random_point_and_run_again_leaves_the_node_drained(
        day2_vms, ansible, lab, custom_objects, core_v1, tmp_path):
    def drained(node, what):
        running = vmis(custom_objects, DAY2)
        wrong = ["{0} {1} on {2}".format(vm, phase, on) for vm, (phase, on) in sorted(running.items())
                 if phase != "Running" or on == node]
        if not core_v1.read_node(node).spec.unschedulable:
            wrong.append("node {0} not cordoned".format(node))
        return ["{0}: {1}".format(what, "; ".join(wrong))] if wrong else []

    def extra_for(node):
        return {"node_maintenance_node": node, "node_maintenance_method": "drain",
                "node_maintenance_wait_timeout": 240}

    def back(node):
        done = ansible("playbooks/node_maintenance.yml", extra_vars={"node_maintenance_node": node,
                                                                     "node_maintenance_state": "absent"})
        assert done.rc == 0, done.output[-3000:]

    node = vmis(custom_objects, DAY2)["kd-a"][1]
    started = time.monotonic()
    reference = ansible("playbooks/node_maintenance.yml", extra_vars=extra_for(node))
    seconds = time.monotonic() - started
    assert reference.rc == 0, reference.output[-3000:]
    problems = drained(node, "the uninterrupted run")
    back(node)
    nodes = {}

    def killed_and_rerun(run):
        nodes[run], at = vmis(custom_objects, DAY2)["kd-a"][1], random.Random(run).uniform(0.5, seconds)
        killed, again = killed_and_run_again(lab, ansible, tmp_path, "playbooks/node_maintenance.yml",
                                             extra_for(nodes[run]), at)
        return "run {0} ({1})".format(run, nodes[run]), at, killed, again

    problems += kill_series("node_maintenance.yml killed", RUNS, killed_and_rerun,
                            lambda run, what: drained(nodes[run], what),
                            after=lambda run: nodes.get(run) and back(nodes[run]))
    assert not problems, "\n".join(problems)

"""Interruptions: each playbook of a VM's life killed (SIGKILL to its whole process group, workers and modules
included) at a seeded random point, then run again: the namespace must end as it does after an uninterrupted run.
The objects are compared (kind, name, and the fields that say what they are), never the output.

The sequence: site.yml with a first VM of the namespace's own, snapshot.yml of it, clone.yml of it, restore.yml of
the snapshot into a new VM. A reference namespace runs it once without kills and gives each step's duration and
the state after it; each kill run replays the steps before, kills its step at a point drawn in (0.5 s, that
duration), reruns it and compares. `make reliability` runs KILL_RUNS (5) kills per playbook.
"""

import os
import random
import re
import signal
import time

import pytest

from conftest import REPO
from protection import delete_namespace
from test_mtv_control import start_playbook

pytestmark = pytest.mark.reliability

RUNS = int(os.environ.get("KILL_RUNS", "5"))
STEPS = (
    ("site", "playbooks/site.yml", lambda vm: {"first_vm_name": vm, "first_vm_namespace": vm}),
    ("snapshot", "playbooks/snapshot.yml",
     lambda vm: {"protection_namespace": vm, "snapshot_vms": [vm], "snapshot_name": "s1"}),
    ("clone", "playbooks/clone.yml",
     lambda vm: {"protection_namespace": vm, "clone_source": vm, "clone_target": "twin"}),
    ("restore", "playbooks/restore.yml",
     lambda vm: {"protection_namespace": vm, "restore_vm": vm, "restore_snapshot": "s1",
                 "restore_target": "restored"}),
)
KINDS = (("kubevirt.io/v1", "VirtualMachine"), ("cdi.kubevirt.io/v1beta1", "DataVolume"),
         ("v1", "PersistentVolumeClaim"), ("snapshot.storage.k8s.io/v1", "VolumeSnapshot"),
         ("clone.kubevirt.io/v1beta1", "VirtualMachineClone"),
         ("snapshot.kubevirt.io/v1beta1", "VirtualMachineSnapshot"),
         ("snapshot.kubevirt.io/v1beta1", "VirtualMachineRestore"))
# What says what an object is, beyond its kind and name (the namespace's VM name is replaced by "VM").
FIELDS = {"VirtualMachine": ("spec.runStrategy",),
          "PersistentVolumeClaim": ("spec.storageClassName", "spec.volumeMode"),
          "VolumeSnapshot": ("spec.volumeSnapshotClassName",)}


# Parts of names that differ between two runs doing the same: names.work_name's digest of its inputs (the VM's
# name among them), and the UIDs KubeVirt's clone and snapshot controllers put into the names they make.
VARYING = ((re.compile(r"-[0-9a-f]{10}$"), "-DIGEST"),
           (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "UID"))


def field(obj, path):
    for key in path.split("."):
        obj = (obj or {}).get(key)
    return obj


def state(dynamic_client, namespace):
    """The sorted (kind, name, fields) of what the namespace holds, its own name replaced by "VM"."""
    held = []
    for api_version, kind in KINDS:
        try:
            resource = dynamic_client.resources.get(api_version=api_version, kind=kind)
        except Exception:  # noqa: BLE001 - a kind the lab does not serve holds nothing
            continue
        for item in resource.get(namespace=namespace).to_dict()["items"]:
            name = item["metadata"]["name"].replace(namespace, "VM")
            for pattern, placeholder in VARYING:
                name = pattern.sub(placeholder, name)
            held.append((kind, name) + tuple(str(field(item, path)) for path in FIELDS.get(kind, ())))
    return sorted(held)


@pytest.fixture(scope="module")
def reference(virtualization_stack, ansible, dynamic_client, core_v1):
    """{step: (seconds, state after it)} of one uninterrupted run of the sequence."""
    vm, found = "kill-ref", {}
    for step, playbook, extra in STEPS:
        started = time.monotonic()
        run = ansible(playbook, extra_vars=extra(vm))
        assert run.rc == 0, "{0}: {1}".format(step, run.output[-3000:])
        found[step] = (time.monotonic() - started, state(dynamic_client, vm))
    yield found
    delete_namespace(core_v1, vm, seconds=300)


@pytest.mark.parametrize("index", range(len(STEPS)), ids=[step for step, _p, _e in STEPS])
def test_a_playbook_killed_at_a_random_point_and_run_again_ends_as_an_uninterrupted_run(
        index, reference, ansible, lab, dynamic_client, core_v1, tmp_path):
    step, playbook, extra = STEPS[index]
    seconds, expected = reference[step]
    problems = []
    for run in range(RUNS):
        vm = "kill-{0}-{1}".format(step, run)
        for before, before_playbook, before_extra in STEPS[:index]:
            done = ansible(before_playbook, extra_vars=before_extra(vm))
            assert done.rc == 0, "{0} before the kill: {1}".format(before, done.output[-3000:])
        at = random.Random(run).uniform(0.5, seconds)
        process, _log = start_playbook(lab, REPO / playbook, tmp_path, extra_vars=extra(vm))
        time.sleep(at)
        killed = process.poll() is None
        if killed:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        again = ansible(playbook, extra_vars=extra(vm))
        found = state(dynamic_client, vm)
        if again.rc != 0:
            problems.append("{0}: killed at {1:.1f} s, the rerun failed: {2}".format(vm, at, again.output[-2500:]))
        elif found != expected:
            extra, missing = sorted(set(found) - set(expected)), sorted(set(expected) - set(found))
            problems.append("{0}: killed at {1:.1f} s{2}; held besides what an uninterrupted run holds: {3}; "
                            "missing: {4}".format(vm, at, "" if killed else " (it had ended)", extra, missing))
        delete_namespace(core_v1, vm, seconds=300)
    assert not problems, "\n".join(problems)

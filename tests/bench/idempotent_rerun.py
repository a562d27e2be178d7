#!/usr/bin/env python
"""What does an idempotent rerun of our tasks cost, against the same objects kept by kubernetes.core.k8s?

Uses a lab of its own (127.0.0.1 only; LAB_REUSE=1 takes the one running in $LAB_STATE_DIR), installs
through playbooks/site.yml, then in the same run:

- ours: N ontap.virtualization.storageclass tasks (a loop) create N Trident classes; the bench reads
  them back and hands the very same objects, under other names, to N kubernetes.core.k8s tasks;
- each loop is then run again --repeats times, changing nothing (both must report changed=0), and so
  is a loop of N ansible.builtin.debug tasks: Ansible's own cost per task, the floor both share.

It prints the median wall times and the ratio of our time above the floor to kubernetes.core.k8s's
(goal: at most 1.0; ours reads more, for example the other classes' default marks, and says why in a
diff when it would write).

    LAB_STATE_DIR=$PWD/.lab-bench PYTHONPATH=tests .venv/bin/python tests/bench/idempotent_rerun.py [--classes 20]
"""

import argparse
import json
import re
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from playbooks import bench_lab, must, playbook  # noqa: E402
from results import record  # noqa: E402

OURS = """
- hosts: openshift
  gather_facts: false
  tasks:
    - ontap.virtualization.storageclass:
        kubeconfig: "{{ k8s_kubeconfig }}"
        name: "{{ item }}"
        backend_type: ontap-nas
        parameters: {provisioningType: thin, snapshots: "true"}
        mount_options: [nfsvers=4.1]
      loop: "{{ names }}"
"""
THEIRS = """
- hosts: openshift
  gather_facts: false
  tasks:
    - kubernetes.core.k8s:
        kubeconfig: "{{ k8s_kubeconfig }}"
        definition: "{{ item }}"
      loop: "{{ definitions }}"
"""
FLOOR = """
- hosts: openshift
  gather_facts: false
  tasks:
    - ansible.builtin.debug: {msg: "{{ item }}"}
      loop: "{{ names }}"
"""
RECAP = re.compile(r"changed=(\d+)")
KEPT = ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode", "allowVolumeExpansion", "mountOptions")


def same_objects(lab, names):
    """Our classes as kubernetes.core.k8s definitions under other names: labels, annotations and spec as they are."""
    from kubernetes import client
    from lab import kubeconfig
    definitions = []
    with kubeconfig.api_client(lab.kubeconfig) as api:
        storage = client.StorageV1Api(api)
        for name in names:
            live = api.sanitize_for_serialization(storage.read_storage_class(name))
            definition = {"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass",
                          "metadata": {"name": "k8s-" + name, "labels": live["metadata"].get("labels") or {},
                                       "annotations": live["metadata"].get("annotations") or {}}}
            definition.update((key, live[key]) for key in KEPT if key in live)
            definitions.append(definition)
    return definitions


def rerun(lab, text, repeats, **extra):
    """Median seconds of ``repeats`` runs, each of which must change nothing."""
    times = []
    for _ in range(repeats):
        _rc, output, seconds = must(playbook(lab, text, **extra), "a rerun")
        changed = [int(n) for n in RECAP.findall(output)]
        if not changed or any(changed):
            sys.exit("a rerun changed something (changed={0}):\n{1}".format(changed, output[-3000:]))
        times.append(seconds)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--classes", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with bench_lab() as lab:
        must(playbook(lab, "playbooks/site.yml"), "site.yml")
        names = ["bench-rerun-{0}".format(i) for i in range(args.classes)]
        must(playbook(lab, OURS, names=names), "creating the classes with storageclass")
        definitions = same_objects(lab, names)
        must(playbook(lab, THEIRS, definitions=definitions), "creating the same classes with kubernetes.core.k8s")
        floor = rerun(lab, FLOOR, args.repeats, names=names)
        ours = rerun(lab, OURS, args.repeats, names=names)
        theirs = rerun(lab, THEIRS, args.repeats, definitions=definitions)
        print("idempotent rerun of {0} StorageClass tasks, median of {1} runs (changed=0 in every one):".format(
            args.classes, args.repeats))
        print("{0:<44} {1:>10} {2:>16}".format("", "seconds", "s/task over floor"))
        for label, seconds in (("ontap.virtualization.storageclass", ours), ("kubernetes.core.k8s", theirs),
                               ("ansible.builtin.debug (Ansible's floor)", floor)):
            print("{0:<44} {1:>10.1f} {2:>16.3f}".format(label, seconds, (seconds - floor) / args.classes))
        print("ratio ours / kubernetes.core.k8s above the floor: {0:.2f} (goal <= 1.0)".format(
            (ours - floor) / (theirs - floor)))
        print(json.dumps({"ours": ours, "theirs": theirs, "floor": floor}))
        record("idempotent_rerun", "{0} storageclass tasks rerun, above Ansible's floor, vs kubernetes.core.k8s".format(
            args.classes), ours - floor, theirs - floor, "s", 1.0)


if __name__ == "__main__":
    main()

#!/usr/bin/env python
"""How long does one vm_snapshot task take for 100 VMs, against a 100-task loop of kubernetes.core.k8s?

Uses a lab of its own (127.0.0.1 only; LAB_REUSE=1 takes the one running in $LAB_STATE_DIR), installs
through playbooks/site.yml, makes N stopped VMs with one bound ONTAP disk each (label bench=snapshots),
then in the same run:

- ours: one ontap.virtualization.vm_snapshot task over the label selector, which creates every
  VolumeSnapshot, waits until each is ready to use and reports the ONTAP snapshot behind it;
- the loop: one kubernetes.core.k8s task per VM creating the same kind of VolumeSnapshot with
  ``wait: true`` (which, for a kind without conditions, waits only until the object exists, so the
  loop is not even asked to wait for readiness); then, outside Ansible, the time until all of the
  loop's snapshots are ready too, which is what the one task delivers.

It prints the wall times (Ansible's start included in each) and the ratios; the goal is at most 0.2.

    LAB_STATE_DIR=$PWD/.lab-bench PYTHONPATH=tests .venv/bin/python tests/bench/snapshots.py [--vms 100]
"""

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from playbooks import bench_lab, must, playbook  # noqa: E402
from results import record  # noqa: E402

NAMESPACE = "bench-snapshots"
VMS = """
- hosts: openshift
  gather_facts: false
  tasks:
    - kubernetes.core.k8s: {kubeconfig: "{{ k8s_kubeconfig }}", api_version: v1, kind: Namespace, name: NAMESPACE_}
    - name: One ONTAP disk per VM
      kubernetes.core.k8s:
        kubeconfig: "{{ k8s_kubeconfig }}"
        namespace: NAMESPACE_
        definition: |
          {% for i in range(count) %}
          ---
          apiVersion: v1
          kind: PersistentVolumeClaim
          metadata: {name: bench-{{ i }}-data}
          spec:
            storageClassName: {{ installation_default_virt_class }}
            accessModes: [ReadWriteMany]
            volumeMode: Block
            resources: {requests: {storage: 1Gi}}
          ---
          apiVersion: kubevirt.io/v1
          kind: VirtualMachine
          metadata: {name: bench-{{ i }}, labels: {bench: snapshots}}
          spec:
            runStrategy: Halted
            template:
              spec:
                domain: {memory: {guest: 256Mi}, devices: {disks: [{name: data, disk: {bus: virtio}}]}}
                volumes: [{name: data, persistentVolumeClaim: {claimName: bench-{{ i }}-data}}]
          {% endfor %}
    - name: Every disk bound
      kubernetes.core.k8s_info: {kubeconfig: "{{ k8s_kubeconfig }}", kind: PersistentVolumeClaim, namespace: NAMESPACE_}
      register: claims
      until: claims.resources | selectattr('status.phase', 'equalto', 'Bound') | list | length >= count
      retries: 300
      delay: 1
""".replace("NAMESPACE_", NAMESPACE)
OURS = """
- hosts: openshift
  gather_facts: false
  tasks:
    - ontap.virtualization.vm_snapshot:
        kubeconfig: "{{ k8s_kubeconfig }}"
        namespace: NAMESPACE_
        label_selector: bench=snapshots
        snapshot: ours
        progress_interval: 0
        wait_timeout: 1800
      register: taken
    - ansible.builtin.assert:
        that: taken.snapshots | selectattr('ready') | list | length >= count
""".replace("NAMESPACE_", NAMESPACE)
LOOP = """
- hosts: openshift
  gather_facts: false
  tasks:
    - kubernetes.core.k8s:
        kubeconfig: "{{ k8s_kubeconfig }}"
        namespace: NAMESPACE_
        wait: true
        definition:
          apiVersion: snapshot.storage.k8s.io/v1
          kind: VolumeSnapshot
          metadata: {name: "loop-bench-{{ item }}-data"}
          spec: {volumeSnapshotClassName: "{{ snapshot_class }}", source: {persistentVolumeClaimName: "bench-{{ item }}-data"}}
      loop: "{{ range(count) | list }}"
""".replace("NAMESPACE_", NAMESPACE)


def all_ready(lab, prefix, count, seconds=1800):
    """The monotonic time at which ``count`` VolumeSnapshots named ``prefix...`` are all ready to use."""
    from kubernetes import client
    from lab import kubeconfig
    objects = client.CustomObjectsApi(kubeconfig.api_client(lab.kubeconfig))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        items = objects.list_namespaced_custom_object("snapshot.storage.k8s.io", "v1", NAMESPACE, "volumesnapshots")["items"]
        if sum(1 for s in items if s["metadata"]["name"].startswith(prefix) and (s.get("status") or {}).get("readyToUse")) >= count:
            return time.monotonic()
        time.sleep(0.2)
    sys.exit("the loop's snapshots were not all ready within {0} s".format(seconds))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=100)
    parser.add_argument("--snapshot-class", default="trident-snapshotclass")
    args = parser.parse_args()
    with bench_lab() as lab:
        must(playbook(lab, "playbooks/site.yml"), "site.yml")
        must(playbook(lab, VMS, count=args.vms), "creating the VMs")
        _rc, _out, ours = must(playbook(lab, OURS, count=args.vms), "vm_snapshot")
        started = time.monotonic()
        _rc, _out, loop = must(playbook(lab, LOOP, count=args.vms, snapshot_class=args.snapshot_class), "the k8s loop")
        loop_ready = all_ready(lab, "loop-bench-", args.vms) - started
        print("| {0} VMs, one disk each | seconds |".format(args.vms))
        print("| --- | --- |")
        print("| vm_snapshot, one task (waits until every snapshot is ready) | {0:.1f} |".format(ours))
        print("| kubernetes.core.k8s, {0} tasks with wait: true | {1:.1f} |".format(args.vms, loop))
        print("| the same loop, until its snapshots are ready as well | {0:.1f} |".format(loop_ready))
        print("ratio ours / loop: {0:.2f} (goal <= 0.2); ours / loop until ready: {1:.2f}".format(ours / loop, ours / loop_ready))
        record("snapshots", "vm_snapshot of {0} VMs vs a kubernetes.core.k8s loop".format(args.vms), ours, loop, "s", 0.2)


if __name__ == "__main__":
    main()

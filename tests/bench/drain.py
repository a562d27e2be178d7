#!/usr/bin/env python
"""How long does our drain of a node holding many VMs take, against the time the migrations themselves take?

Starts a lab of its own (127.0.0.1 only), installs through playbooks/site.yml, puts N VMs (a blank
ReadWriteMany disk each, evictionStrategy LiveMigrate) on one worker, then drains that worker with
playbooks/node_maintenance.yml (method drain). The lab's KubeVirt migrates the VMs within the cluster's
parallel limits; the span from the first evacuation migration's creation to the last one's success is
what KubeVirt needed, and our wall time over that span is our overhead (Ansible's start included).

Then the same node, with the VMs back on it, is drained with kubernetes.core.k8s_drain, which stops at
KubeVirt's first HTTP 429 (it answers so while it migrates the VM away): its failure is printed.

    LAB_STATE_DIR=$PWD/.lab-bench PYTHONPATH=tests .venv/bin/python tests/bench/drain.py [--vms 20]
"""

import argparse
import datetime
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from playbooks import bench_lab, must, playbook  # noqa: E402
from results import record  # noqa: E402

# As for site.yml (issue 20): our overhead at most the time the cluster itself needs.
OVERHEAD_GOAL = 1.0
from lab import kubeconfig  # noqa: E402
from kubernetes import client  # noqa: E402

NAMESPACE = "bench-drain"
NODE = "worker-0"
VMS_PLAYBOOK = "tests/fixtures/vms_with_a_data_disk.yml"
PREFER_NODE = {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
    {"weight": 100, "preference": {"matchExpressions": [
        {"key": "kubernetes.io/hostname", "operator": "In", "values": [NODE]}]}}]}}
BACK = """
- hosts: openshift
  gather_facts: false
  tasks:
    - ontap.virtualization.vm_live_migration:
        kubeconfig: "{{ k8s_kubeconfig }}"
        namespace: %(ns)s
        label_selector: bench=drain
        node: %(node)s
        wait_timeout: 900
""" % {"ns": NAMESPACE, "node": NODE}
K8S_DRAIN = """
- hosts: openshift
  gather_facts: false
  tasks:
    - kubernetes.core.k8s_drain:
        kubeconfig: "{{ k8s_kubeconfig }}"
        name: %(node)s
        state: drain
        delete_options: {ignore_daemonsets: true, force: true, delete_emptydir_data: true, wait_timeout: 120}
      register: drained
      ignore_errors: true
    - ansible.builtin.debug:
        msg: "K8S_DRAIN {{ drained | to_json }}"
""" % {"node": NODE}


def stamp(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").timestamp()


def migration_span(objects):
    """(seconds from the first evacuation migration's creation to the last one's success, count)."""
    items = objects.list_namespaced_custom_object("kubevirt.io", "v1", NAMESPACE,
                                                  "virtualmachineinstancemigrations")["items"]
    evacuations = [m for m in items if m["metadata"]["name"].startswith("kubevirt-evacuation-")
                   and m.get("status", {}).get("phase") == "Succeeded"]
    starts = [stamp(m["metadata"]["creationTimestamp"]) for m in evacuations]
    ends = [stamp(s["phaseTransitionTimestamp"]) for m in evacuations
            for s in m["status"]["phaseTransitionTimestamps"] if s["phase"] == "Succeeded"]
    return (max(ends) - min(starts) if evacuations else 0.0), len(evacuations)


def on_node(objects):
    items = objects.list_namespaced_custom_object("kubevirt.io", "v1", NAMESPACE, "virtualmachineinstances")["items"]
    return [v["metadata"]["name"] for v in items if v.get("status", {}).get("nodeName") == NODE]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vms", type=int, default=20)
    args = parser.parse_args()
    with bench_lab() as lab:
        objects = client.CustomObjectsApi(kubeconfig.api_client(lab.kubeconfig))
        must(playbook(lab, "playbooks/site.yml"), "site.yml")
        vms = [{"name": "bench-{0}".format(i), "labels": {"bench": "drain"},
                "spec": {"domain": {"memory": {"guest": "1Gi"}}, "affinity": PREFER_NODE}}
               for i in range(args.vms)]
        must(playbook(lab, VMS_PLAYBOOK, vm_namespace=NAMESPACE, vms=vms), "creating the VMs")
        must(playbook(lab, BACK), "gathering the VMs on " + NODE)
        print("{0} VMs on {1}".format(len(on_node(objects)), NODE))

        _rc, output, ours = must(playbook(lab, "playbooks/node_maintenance.yml", node_maintenance_node=NODE,
                                          node_maintenance_method="drain"), "our drain")
        span, count = migration_span(objects)
        print("our drain: {0:.1f} s for {1} evacuation migrations; KubeVirt's migrations took {2:.1f} s "
              "(first created to last succeeded); overhead {3:.1f} s, ratio {4:.2f}".format(
                  ours, count, span, ours - span, ours / span if span else float("nan")))
        print("VMs left on {0}: {1}".format(NODE, on_node(objects) or "none"))
        record("drain", "drain of {0} VMs: our overhead over KubeVirt's migration time".format(count), ours - span,
               span, "s", OVERHEAD_GOAL)

        must(playbook(lab, "playbooks/node_maintenance.yml", node_maintenance_node=NODE,
                      node_maintenance_state="absent"), "uncordon")
        must(playbook(lab, BACK), "gathering the VMs on " + NODE + " again")
        before = len(on_node(objects))
        _rc, output, theirs = playbook(lab, K8S_DRAIN)
        line = next((text for text in output.splitlines() if "K8S_DRAIN " in text), "")
        result = json.loads(json.loads("{" + line.strip() + "}")["msg"][len("K8S_DRAIN "):]) if line else {}
        print("kubernetes.core.k8s_drain with {0} VMs on {1}: failed={2} after {3:.1f} s: {4}".format(
            before, NODE, result.get("failed"), theirs, result.get("msg")))
        print("VMs still on {0} when k8s_drain returned: {1}".format(NODE, len(on_node(objects))))


if __name__ == "__main__":
    main()

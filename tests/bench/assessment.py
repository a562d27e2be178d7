#!/usr/bin/env python
"""How long does assessing 1,000 VMs (and planning their waves) take, against a per-VM task loop?

Starts a lab with LAB_VCSIM_SCALE=1 (cluster DC0_SCALE: 20 hosts, 1,000 VMs; 127.0.0.1 only), or
uses the one running in $LAB_STATE_DIR with LAB_REUSE=1. Then, in the same run:

- ours: one task, ontap.virtualization.migration_assessment over the cluster, with waves (50 VMs, at
  most 5 per host); its result says how many vCenter round trips the read made; run again for the
  peak memory of its largest process, against a one-debug-task playbook (Ansible's own floor);
- baseline: a loop of community.vmware.vmware_guest_info tasks, one per VM (the way a playbook reads
  VMs with the VMware collection), over the first --loop-vms VMs. Each iteration logs in and looks
  the VM up again; when --loop-vms is less than the assessed count, the loop's time for all of them
  is its measured time per VM times the count, and the table says "extrapolated". The loop asks for
  name, config and guest only (schema vsphere): against vcsim the module's default summary fails to
  parse (vcsim sends an empty runtime.faultToleranceState) and unset properties (snapshot, runtime.*)
  are refused by name, so the baseline reads less than the assessment does.

    LAB_STATE_DIR=/tmp/bench-lab PYTHONPATH=tests .venv/bin/python tests/bench/assessment.py [--loop-vms 50]
"""

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "tests" / "bench"))
os.environ.setdefault("LAB_VCSIM_SCALE", "1")
from playbooks import bench_lab, must, peak_memory, playbook  # noqa: E402
from results import record  # noqa: E402

CLUSTER = "DC0_SCALE"
OURS = """
- hosts: openshift
  gather_facts: false
  tasks:
    - ontap.virtualization.migration_assessment:
        vcenter: {hostname: "{{ lab.vcsim_host }}", port: "{{ lab.vcsim_port }}", username: "{{ lab.vcsim_username }}",
                  password: "{{ lab.vcsim_password }}", ca_path: "{{ lab.ca_cert }}"}
        select: {clusters: [%s]}
        waves: {prefix: bench, max_vms: 50, max_per_host: 5}
      register: assessed
    - ansible.builtin.debug:
        msg: "BENCH {{ {'summary': assessed.assessment.summary, 'round_trips': assessed.assessment.round_trips,
                       'waves': assessed.waves | length} | to_json }}"
""" % CLUSTER
FLOOR = """
- hosts: openshift
  gather_facts: false
  tasks:
    - ansible.builtin.debug: {msg: Ansible's own memory}
"""
LOOP = """
- hosts: openshift
  gather_facts: false
  tasks:
    - community.vmware.vmware_guest_info:
        hostname: "{{ lab.vcsim_host }}"
        port: "{{ lab.vcsim_port }}"
        username: "{{ lab.vcsim_username }}"
        password: "{{ lab.vcsim_password }}"
        validate_certs: false
        datacenter: DC0
        name: "{{ item }}"
        schema: vsphere
        properties: [name, config, guest]
      loop: "{{ names }}"
      register: infos
    - ansible.builtin.debug:
        msg: "LOOP {{ infos.results | map(attribute='instance') | map(attribute='name') | list | length }}"
"""


def tagged(output, tag):
    line = next((text for text in output.splitlines() if '"msg": "' + tag + " " in text), None)
    if line is None:
        sys.exit("no {0} line in:\n{1}".format(tag, output[-4000:]))
    message = json.loads("{" + line.strip() + "}")["msg"]
    return message[len(tag) + 1:]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loop-vms", type=int, default=50, help="VMs the vmware_guest_info loop reads")
    args = parser.parse_args()
    with bench_lab() as lab:
        _rc, output, ours = must(playbook(lab, OURS), "migration_assessment")
        found = json.loads(tagged(output, "BENCH"))
        count = found["summary"]["total"]
        if count < args.loop_vms:
            sys.exit("only {0} VMs in {1}: start the lab with LAB_VCSIM_SCALE=1".format(count, CLUSTER))
        names = ["scale-vm-{0:04d}".format(i) for i in range(args.loop_vms)]
        _rc, output, loop = must(playbook(lab, LOOP, names=names), "vmware_guest_info loop")
        read = int(tagged(output, "LOOP"))
        assert read == len(names), "the loop read {0} VMs, not {1}".format(read, len(names))
        loop_all = loop / len(names) * count
        kind = "measured" if len(names) == count else "extrapolated from {0} VMs ({1:.1f} s)".format(len(names), loop)
        print("VMs assessed: {0} ({1} ready, {2} with warnings, {3} blocked), waves: {4}".format(
            count, found["summary"]["ready"], found["summary"]["ready_with_warnings"], found["summary"]["blocked"],
            found["waves"]))
        print("{0:<44} {1:>10} {2:>18}".format("", "seconds", "round trips / VM"))
        per_vm = float(found["round_trips"]) / count
        print("{0:<44} {1:>10.1f} {2:>18.4f}".format("migration_assessment + waves (one task)", ours, per_vm))
        print("{0:<44} {1:>10.1f} {2:>18}".format("vmware_guest_info loop, one task per VM", loop_all,
                                                  "not counted"))
        print("loop time: {0}".format(kind))
        _rc, _output, ours_mib = must(peak_memory(lab, OURS), "migration_assessment (memory)")
        _rc, _output, floor_mib = must(peak_memory(lab, FLOOR), "a one-debug-task playbook (memory)")
        print("peak memory of the largest process: {0:.0f} MiB assessing {1} VMs, {2:.0f} MiB for a playbook with "
              "one debug task (Ansible's floor); ratio {3:.2f}".format(
                  ours_mib, count, floor_mib, ours_mib / floor_mib))
        print("ratio ours / loop: {0:.4f} (goal <= 0.05); ours under 60 s: {1}".format(ours / loop_all, ours <= 60))
        record("assessment", "{0} VMs assessed with waves vs a vmware_guest_info loop".format(count), ours, loop_all,
               "s", 0.05)
        record("assessment", "{0} VMs: wall time vs the 60 s goal".format(count), ours, 60.0, "s", 1.0)
        record("assessment", "peak memory for {0} VMs vs a one-task playbook".format(count), ours_mib, floor_mib,
               "MiB", None)


if __name__ == "__main__":
    main()

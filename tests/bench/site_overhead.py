#!/usr/bin/env python
"""How much of site.yml's wall time is ours, and how much is the lab's controllers doing the work?

Starts a lab of its own (127.0.0.1 only; LAB_REUSE=1 takes the one running in $LAB_STATE_DIR) and runs
playbooks/site.yml once, as the user bench-automation, whose every request the lab's API server audits
(tests/lab/audit-policy.yaml). From the audit log:

- the floor: the time the run spent waiting on the simulated controllers, that is the union of the spans of
  its watches (our waits) and of its polling series (kubernetes.core's and kubevirt.core's waits: the same
  object read again and again, each read within POLL_GAP seconds of the last);
- our time: the rest of the wall time, Ansible's start and every task's own work included;
- Ansible's share of it, measured in the same run: a playbook of as many ``ansible.builtin.ping`` tasks as site.yml
  ran modules (a module run is a result with an ``invocation``, counted from the json callback), each a fork and a
  Python process as ours are, doing nothing.

Goal (issue 20): our own overhead at most the floor (ratio <= 1.0), held to our time above Ansible's share; all
of our time against the floor is recorded beside it. Where our time goes: the median time from a task's start to its
module's first API request (Ansible's fork and AnsiballZ, Python, the Kubernetes client's import), our modules
against kubernetes.core's and kubevirt.core's in the same run; no goal. Waits on ONTAP's REST API are not in the
audit log and count as ours, so the ratios err against us.

    LAB_STATE_DIR=$PWD/.lab-bench PYTHONPATH=tests .venv/bin/python tests/bench/site_overhead.py
"""

import datetime
import json
import os
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from playbooks import bench_lab, must, playbook  # noqa: E402
from results import record  # noqa: E402
from lab import kubeconfig  # noqa: E402

USER = "bench-automation"
# kubernetes.core's wait_sleep in our roles is 2 s (its default 5 s): reads of one object further apart than this
# are separate reads, not one wait.
POLL_GAP = 6.0
OUR_AGENT = "ontap.virtualization"


def _seconds(stamp: str) -> float:
    return datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def _span(event: dict) -> tuple:
    return _seconds(event["requestReceivedTimestamp"]), _seconds(event["stageTimestamp"])


def waits(events: list) -> list:
    """The spans (start, end) in which the run waited on the cluster: each watch, and each polling series."""
    done = [e for e in events if e.get("stage") == "ResponseComplete"]
    spans = [_span(e) for e in done if e["verb"] == "watch"]
    series = {}
    for event in sorted((e for e in done if e["verb"] in ("get", "list")
                         and not e.get("userAgent", "").startswith(OUR_AGENT)), key=_span):
        key = (event.get("userAgent"), event["requestURI"].split("?")[0])
        start, end = _span(event)
        runs = series.setdefault(key, [])
        if runs and start - runs[-1][1] <= POLL_GAP:
            runs[-1] = (runs[-1][0], end, runs[-1][2] + 1)
        else:
            runs.append((start, end, 1))
    spans += [(start, end) for runs in series.values() for start, end, reads in runs if reads > 1]
    return spans


def union_length(spans: list) -> float:
    total, reach = 0.0, None
    for start, end in sorted(spans):
        if reach is None or start > reach:
            total += end - start
            reach = end
        elif end > reach:
            total += end - reach
            reach = end
    return total


def _document(output: str) -> dict:
    start = 0 if output.startswith("{") else output.index("\n{") + 1  # warnings on stderr may come first
    return json.JSONDecoder().raw_decode(output[start:])[0]


def _tasks(output: str):
    """(task, its module runs) of the json callback's run; a module run is a result with an ``invocation``."""
    for play in _document(output)["plays"]:
        for task in play["tasks"]:
            runs = sum(1 for result in task["hosts"].values()
                       for item in result.get("results") or [result] if "invocation" in item)
            yield task, runs


def module_runs(output: str) -> int:
    """How many times the run executed a module (each loop item once)."""
    return sum(runs for _task, runs in _tasks(output))


def startups(output: str, events: list) -> dict:
    """{client: [seconds from the start of a one-module task to its first API request]}: ``ours`` when that request
    names our modules' user agent, ``kubernetes.core`` otherwise (its modules and kubevirt.core's send the
    Kubernetes client's default). The time Ansible and the module take before they ask the cluster anything."""
    found = {"ours": [], "kubernetes.core": []}
    done = sorted((e for e in events if e.get("stage") == "ResponseComplete"), key=_span)
    for task, runs in _tasks(output):
        start, end = (_seconds(task["task"]["duration"][key]) for key in ("start", "end"))
        first = next((e for e in done if start <= _span(e)[0] <= end), None)
        if runs == 1 and first is not None:
            client = "ours" if first.get("userAgent", "").startswith(OUR_AGENT) else "kubernetes.core"
            found[client].append(_span(first)[0] - start)
    return found


def pings(count: int) -> str:
    return "- hosts: openshift\n  gather_facts: false\n  tasks:\n" + "".join(
        "    - ansible.builtin.ping:\n" for _ in range(count))


def main():
    os.environ["ANSIBLE_STDOUT_CALLBACK"] = "ansible.posix.json"
    with bench_lab() as lab:
        identity = lab.ca.issue(USER, USER, organizations=("system:masters",))
        config = kubeconfig.write(lab.path("pki", USER + ".kubeconfig"), lab.api_url, lab.ca, USER, identity)
        _rc, output, wall = must(playbook(lab, "playbooks/site.yml", k8s_kubeconfig=str(config)), "site.yml")
        modules = module_runs(output)
        _rc, _output, ansible_share = must(playbook(lab, pings(modules)), "{0} ping tasks".format(modules))
        events = [json.loads(line) for line in lab.audit_log.read_text().splitlines() if USER in line]
        events = [e for e in events if e["user"]["username"] == USER]
        if not events:
            sys.exit("the lab's API server audited no request of {0}: a lab started before its audit policy named "
                     "that user (LAB_REUSE=1?); run without LAB_REUSE".format(USER))
        floor = union_length(waits(events))
        ours = wall - floor
        print("site.yml on a fresh lab: {0:.1f} s, {1} module runs, {2} API requests; waiting on the controllers "
              "{3:.1f} s (watches and polling series); ours {4:.1f} s, of which Ansible's share ({1} ping tasks) "
              "{5:.1f} s".format(wall, modules, len(events), floor, ours, ansible_share))
        ratio = record("site_overhead", "site.yml: our time vs the time waiting on the lab's controllers", ours,
                       floor, "s", None)
        above = record("site_overhead", "site.yml: our time above Ansible's share vs the controllers' time",
                       ours - ansible_share, floor, "s", 1.0)
        print("ratio ours / controllers: {0:.2f}; above Ansible's share: {1:.2f} (goal <= 1.0)".format(ratio, above))
        started = startups(output, events)
        if all(started.values()):
            median = {client: statistics.median(found) for client, found in started.items()}
            print("from a task's start to its module's first API request: our modules {0:.2f} s (median of {1}), "
                  "kubernetes.core's and kubevirt.core's {2:.2f} s (median of {3})".format(
                      median["ours"], len(started["ours"]), median["kubernetes.core"],
                      len(started["kubernetes.core"])))
            record("site_overhead", "a module's start to its first API request: ours vs kubernetes.core's (median)",
                   median["ours"], median["kubernetes.core"], "s", None)


if __name__ == "__main__":
    main()

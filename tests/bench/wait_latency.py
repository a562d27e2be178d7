#!/usr/bin/env python
"""How long after an object reaches its state does a wait return?

Against a local HTTP server that streams watches (tests/unit/fake_apiserver.py),
an object's status.phase flips to Bound at a random moment; we measure the time
from the flip to the waiter returning, for our watch-based waiter and for
kubernetes.core's polling waiter with its default wait_sleep (5 s). Both run in
the same process against the same server; the ratio is what counts.

    PYTHONPATH=tests .venv/bin/python tests/bench/wait_latency.py [--trials N]
"""

import argparse
import os
import random
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "unit"))
import conftest  # noqa: E402,F401  (makes the collection importable)
from fake_apiserver import FakeAPIServer  # noqa: E402

from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import get_api_client  # noqa: E402
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.waiter import Waiter as PollingWaiter  # noqa: E402
from ansible_collections.ontap.virtualization.plugins.module_utils import wait  # noqa: E402
from ansible_collections.ontap.virtualization.plugins.module_utils.kube import Kube  # noqa: E402
from results import record  # noqa: E402

KUBERNETES_CORE_DEFAULT_WAIT_SLEEP = 5
GOAL_MEDIAN = 0.25
GOAL_RATIO = 0.1


def widget(name):
    return {"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": name, "namespace": "bench"},
            "spec": {}, "status": {"phase": "Pending"}}


def one_trial(server, name, wait_for_bound):
    server.put("widgets", widget(name))
    returned = {}

    def waiter():
        wait_for_bound(name)
        returned["at"] = time.monotonic()

    thread = threading.Thread(target=waiter)
    thread.start()
    time.sleep(random.uniform(0.5, 0.5 + KUBERNETES_CORE_DEFAULT_WAIT_SLEEP))
    flipped = time.monotonic()
    server.update("widgets", "bench", name, {"status": {"phase": "Bound"}})
    thread.join(60)
    return returned["at"] - flipped


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=7)
    args = parser.parse_args()
    os.environ["TMPDIR"] = tempfile.mkdtemp()
    random.seed(20261126)

    with FakeAPIServer() as server:
        client = get_api_client(host=server.url, api_key="bench", validate_certs=False)
        kube = Kube(client)
        widgets = client.resources.get(api_version="example.com/v1", kind="Widget")

        def ours(name):
            ref = kube.ref("example.com/v1", "Widget", name, "bench")
            wait.Waiter(kube).until(ref, wait.phase_in("Bound"), timeout=60)

        def polling(name):
            predicate = lambda obj: bool(obj and obj.status and obj.status.phase == "Bound")  # noqa: E731
            PollingWaiter(client, widgets, predicate).wait(
                timeout=60, sleep=KUBERNETES_CORE_DEFAULT_WAIT_SLEEP, name=name, namespace="bench")

        results = {}
        for label, waiter in (("watch (ontap.virtualization)", ours),
                              ("poll (kubernetes.core, wait_sleep=5)", polling)):
            samples = [one_trial(server, "{0}-{1}".format(label[:5].strip(" ("), i), waiter) for i in range(args.trials)]
            results[label] = statistics.median(samples)
            print("{0:40s} median {1:7.3f} s   (min {2:.3f}, max {3:.3f}, n={4})".format(
                label, results[label], min(samples), max(samples), len(samples)))

    ours_median, poll_median = results.values()
    ratio = record("wait_latency", "median lag after the change: watch vs kubernetes.core polling", ours_median,
                   poll_median, "s", GOAL_RATIO)
    print("ratio watch/poll: {0:.4f}".format(ratio))
    ok = ours_median <= GOAL_MEDIAN and ratio <= GOAL_RATIO
    print("goal (median <= {0} s and ratio <= {1}): {2}".format(GOAL_MEDIAN, GOAL_RATIO, "met" if ok else "NOT met"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())

"""What the fault suites (test_faults.py, and test_mtv_control.py's migrations) share: a faulted run through
tests/lab/fault_proxy.py, the line a failed run ended with, and the table each file prints at its end (per kind: the
runs, the faults injected, the chances, the faulted runs that failed, the reruns that failed, and the runs that
left a duplicate or lost something)."""

import os
import re

import pytest

import reliability_results
from lab import fault_proxy

RATE = float(os.environ.get("FAULT_RATE", "0.05"))  # of the requests a fault kind applies to
# The kinds that apply to few requests (writes naming a resourceVersion, watches) are drawn more often in their own
# series, so that a run meets them at all; the run with every kind at once keeps RATE for each.
NARROW_RATE = float(os.environ.get("FAULT_NARROW_RATE", "0.5"))
NARROW_KINDS = ("conflict", "watch_cut")
RUNS = int(os.environ.get("FAULT_RUNS", "1"))
CRASH = re.compile(r"MODULE FAILURE|Traceback \(most recent call last\)")
HEADER = ("fault kind                   runs  injected     chances  faulted runs failed  reruns failed"
          "  duplicates or lost")


def alone(kind):
    """The proxy's rates for a series of one kind."""
    return {kind: NARROW_RATE if kind in NARROW_KINDS else RATE}


def every_kind():
    """The proxy's rates for a run meeting every kind at once."""
    return dict.fromkeys(fault_proxy.KINDS, RATE)


class Tally:
    def __init__(self):
        self.rows = []
        self.failures = []  # (run, the failed task's line) of each faulted run that failed

    def record(self, kind, runs, injected, applicable, faulted_failures, rerun_failures, duplicates):
        self.rows.append((kind, runs, injected, applicable, faulted_failures, rerun_failures, duplicates))

    def failed(self, name, output):
        self.failures.append((name, failed_task(output)))

    def lines(self):
        lines = ["", HEADER] + ["{0:<28} {1:>4} {2:>9} {3:>11} {4:>20} {5:>14} {6:>19}".format(*row)
                                for row in self.rows]
        return lines + ["", "what each failed faulted run said:"] + [
            "{0}: {1}".format(name, line[:600]) for name, line in self.failures]


def printed_at_the_end(tally):
    """A module fixture (autouse) printing ``tally`` at the end of the file, whatever pytest captures."""
    @pytest.fixture(scope="module", autouse=True)
    def table(request):
        yield
        if tally.rows:
            with request.config.pluginmanager.getplugin("capturemanager").global_and_fixture_disabled():
                print("\n".join(tally.lines()))
    return table


def series(tally, kind, prefix, runs, faulted, again, held_wrongly, said_ok=lambda name: []):
    """``runs`` runs of one fault kind (each named ``prefix-kind-run``), each followed by the same run without faults,
    and the kind's row in ``tally``.

    ``faulted(name, run)`` gives the faulted run's outcome and {"injected", "applicable"}; ``again(name, run)`` the
    rerun's outcome; ``held_wrongly(name, run, rerun)`` what the cluster holds wrongly after the rerun (lines, none
    when right), and ``said_ok(name)`` the same at once after a faulted run that said ok. A run holding anything
    wrongly counts once among "duplicates or lost"; that, a crash or a failed rerun fails the test."""
    faulted_failures = rerun_failures = wrong = injected = applicable = 0
    problems = []
    for run in range(runs):
        name = "{0}-{1}-{2}".format(prefix, re.sub(r"[^a-z0-9]+", "-", kind), run)
        outcome, faults = faulted(name, run)
        injected, applicable = injected + faults["injected"], applicable + faults["applicable"]
        found = []
        if outcome.rc != 0:
            faulted_failures += 1
            tally.failed(name, outcome.output)
        else:
            found += said_ok(name)
        if CRASH.search(outcome.output):
            problems.append("{0}: a module crashed under the fault instead of saying what failed:\n{1}".format(
                name, outcome.output[-2500:]))
        rerun = again(name, run)
        if rerun.rc != 0:
            rerun_failures += 1
            problems.append("{0}: the rerun failed:\n{1}".format(name, rerun.output[-2500:]))
        found += held_wrongly(name, run, rerun)
        wrong, problems = wrong + bool(found), problems + found
    tally.record(kind, runs, injected, applicable, faulted_failures, rerun_failures, wrong)
    reliability_results.record(kind, runs, injected, applicable, faulted_failures, rerun_failures, wrong)
    assert not problems, "\n".join(problems)


def through_proxy(lab, rates, seed, kubeconfig, run):
    """``run(kubeconfig)`` with the API server behind a fault proxy: (its outcome, the faults injected and the
    chances)."""
    with fault_proxy.FaultProxy(lab, rates, seed=seed) as proxy:
        outcome = run(proxy.kubeconfig(kubeconfig))
    return outcome, {"injected": sum(proxy.injected.values()), "applicable": sum(proxy.applicable.values())}


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

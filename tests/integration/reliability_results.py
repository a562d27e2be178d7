"""One table for ``make reliability``: every reliability test's outcome (conftest.py records it) with the figures of
its fault or kill series (``record``); run this file to print the table. It exits 1 when a test did not pass.

The records go to ``$RELIABILITY_RESULTS`` (one JSON line each) when it is set; ``make reliability`` empties it first.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tooling"))  # home of text_table
from text_table import aligned  # noqa: E402

HEADER = ("file", "series", "runs", "faults or kills", "in chances", "runs failed", "reruns failed",
          "duplicates or lost", "minutes", "outcome")


def _write(entry: dict) -> None:
    path = os.environ.get("RELIABILITY_RESULTS")
    if path:
        with open(path, "a") as out:
            out.write(json.dumps(entry) + "\n")


def _current_test() -> str:
    return os.environ.get("PYTEST_CURRENT_TEST", "").split(" ")[0]


def record(series: str, runs: int, injected: int, chances=None, failed=None, reruns_failed: int = 0,
           wrong: int = 0) -> None:
    """The figures of one series of the running test: ``runs`` runs meeting ``injected`` faults or kills (faults in
    ``chances`` requests they applied to), ``failed`` runs that failed under them (None for killed runs, where
    ending early is the point), ``reruns_failed`` reruns that failed, and ``wrong`` runs after which the cluster held
    what an undisturbed run does not (a duplicate, something lost, a second migration)."""
    _write({"test": _current_test(), "series": series, "runs": runs, "injected": injected, "chances": chances,
            "failed": failed, "reruns_failed": reruns_failed, "wrong": wrong})


def record_outcome(test: str, outcome: str, seconds: float) -> None:
    """One phase's outcome of a reliability test (pytest's nodeid): its call, or a setup or teardown that failed."""
    _write({"test": test, "outcome": outcome, "seconds": seconds})


def _cell(value) -> str:
    return "-" if value is None else str(value)


def _by_test(entries: list) -> dict:
    """{nodeid: {"series": [...], "outcome": ..., "seconds": ...}} in the order the tests ran; a test's outcome is
    its first phase that did not pass, "not ended" when none was recorded (the run was cut off)."""
    tests = {}
    for entry in entries:
        test = tests.setdefault(entry["test"], {"series": [], "outcomes": [], "seconds": 0.0})
        if "outcome" in entry:
            test["outcomes"].append(entry["outcome"])
            test["seconds"] += entry["seconds"]
        else:
            test["series"].append(entry)
    for test in tests.values():
        test["outcome"] = next((o for o in test["outcomes"] if o != "passed"),
                               "passed" if test["outcomes"] else "not ended")
    return tests


def table(tests: dict) -> str:
    """A row per series, and one for each test that recorded none."""
    rows = [HEADER]
    for nodeid, test in tests.items():
        path, _, name = nodeid.partition("::")
        minutes = "{0:.1f}".format(test["seconds"] / 60)
        for series in test["series"] or [{"series": name}]:
            rows.append((Path(path).name, series["series"], _cell(series.get("runs")),
                         _cell(series.get("injected")), _cell(series.get("chances")), _cell(series.get("failed")),
                         _cell(series.get("reruns_failed")), _cell(series.get("wrong")), minutes, test["outcome"]))
    return aligned(rows)


def main() -> int:
    path = Path(os.environ.get("RELIABILITY_RESULTS") or Path(__file__).resolve().parents[2] /
                ".reliability-results.jsonl")
    entries = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    if not entries:
        print("no reliability test recorded an outcome in {0}".format(path))
        return 1
    tests = _by_test(entries)
    print(table(tests))
    return 0 if all(test["outcome"] == "passed" for test in tests.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

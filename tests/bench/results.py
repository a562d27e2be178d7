"""One table for ``make bench``: each benchmark records its ratios with ``record``; run this file to print them.

The records go to ``$BENCH_RESULTS`` (one JSON line each); ``make bench`` empties it first.
"""

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tooling"))  # home of text_table
from text_table import aligned  # noqa: E402


def _path() -> Path:
    return Path(os.environ.get("BENCH_RESULTS") or Path(__file__).resolve().parents[2] / ".bench-results.jsonl")


def record(benchmark: str, measure: str, ours: float, baseline: float, unit: str, goal) -> float:
    """Record ``ours / baseline`` (both in ``unit``) for one measure of a benchmark; returns the ratio.

    ``goal``: the highest ratio that meets the goal, or None where the issue sets none (the figure is reported).
    """
    ratio = ours / baseline if baseline else float("nan")
    with _path().open("a") as out:
        out.write(json.dumps({"benchmark": benchmark, "measure": measure, "ours": ours, "baseline": baseline,
                              "unit": unit, "ratio": ratio, "goal": goal}) + "\n")
    return ratio


def _met(row: dict) -> str:
    if row["goal"] is None:
        return "-"
    return "yes" if row["ratio"] <= row["goal"] else "NO"


def table(rows: list) -> str:
    header = ("benchmark", "measure", "ours", "baseline", "ratio", "goal", "met")
    lines = [header] + [(r["benchmark"], r["measure"], "{0:.3f} {1}".format(r["ours"], r["unit"]),
                         "{0:.3f} {1}".format(r["baseline"], r["unit"]), "{0:.4f}".format(r["ratio"]),
                         "-" if r["goal"] is None else "<= {0}".format(r["goal"]), _met(r)) for r in rows]
    return aligned(lines)


def main() -> int:
    path = _path()
    rows = [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []
    if not rows:
        print("no benchmark recorded a result in {0}".format(path))
        return 1
    print(table(rows))
    return 0 if all(_met(r) != "NO" for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())

"""Forklift's staged conditions (pkg/lib/condition/condition.go at v2.12.5).

Each reconcile stages the conditions afresh; one set again unchanged keeps its
lastTransitionTime, a changed one gets a new time, and those not set again are dropped
(durable ones excepted). Blockers are the Critical and Error ones.
"""

from lab.controllers.runtime import now

CRITICAL, ERROR, WARN, REQUIRED, ADVISORY = "Critical", "Error", "Warn", "Required", "Advisory"
_COMPARED = ("type", "status", "category", "reason", "message", "suggestion", "durable", "items")


class Staged:
    """The conditions of one reconcile, staged against what the object held before."""

    def __init__(self, previous: list):
        self._previous = {c["type"]: c for c in previous or []}
        self._staged = {}

    def set(self, type_: str, category: str, message: str, reason: str = None, items=None, status="True",
            durable: bool = False) -> None:
        condition = {"type": type_, "status": status, "category": category, "message": message}
        if reason:
            condition["reason"] = reason
        if items:
            condition["items"] = list(items)
        if durable:
            condition["durable"] = True
        before = self._staged.get(type_) or self._previous.get(type_)
        same = before and all(before.get(k) == condition.get(k) for k in _COMPARED)
        condition["lastTransitionTime"] = before["lastTransitionTime"] if same else now()
        self._staged[type_] = condition

    def has(self, *types) -> bool:
        return all(t in self._staged for t in types)

    def get(self, type_: str):
        return self._staged.get(type_)

    def has_blocker(self) -> bool:
        return any(c["category"] in (CRITICAL, ERROR) for c in self._staged.values())

    def result(self) -> list:
        """The staged list, plus durable conditions of before that were not staged again."""
        kept = [c for t, c in self._previous.items() if c.get("durable") and t not in self._staged]
        return list(self._staged.values()) + kept

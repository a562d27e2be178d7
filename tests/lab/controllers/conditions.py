"""Status conditions as Kubernetes controllers keep them: one entry per type, whose
transition time moves only when its status does."""

from typing import Optional

from lab.controllers.runtime import now


def set_condition(conditions, type_: str, status: str, reason: str = "", message: str = "",
                  probe: bool = False, **extra) -> list:
    """Return ``conditions`` with ``type_`` set; the transition time moves only on a change."""
    conditions = [dict(c) for c in conditions or []]
    for condition in conditions:
        if condition.get("type") == type_:
            if condition.get("status") != status:
                condition["lastTransitionTime"] = now()
            condition.update(status=status, reason=reason, message=message, **extra)
            if probe:
                condition["lastProbeTime"] = None
            return conditions
    new = {"type": type_, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": now(), **extra}
    if probe:
        new["lastProbeTime"] = None
    conditions.append(new)
    return conditions


def remove_condition(conditions, type_: str) -> list:
    return [dict(c) for c in conditions or [] if c.get("type") != type_]


def condition(obj: dict, type_: str) -> Optional[dict]:
    for item in ((obj or {}).get("status") or {}).get("conditions") or []:
        if item.get("type") == type_:
            return item
    return None


def condition_true(obj: dict, type_: str) -> bool:
    found = condition(obj, type_)
    return bool(found) and found.get("status") == "True"

"""Small facts about Kubernetes objects: names, owners, times, quantities and label selectors."""

import hashlib
import re
import time
from datetime import datetime, timezone
from typing import Optional


def short_hash(text: str, length: int = 5) -> str:
    """A deterministic lowercase alphanumeric suffix (names stay the same after a restart)."""
    alphabet = "bcdfghjklmnpqrstvwxz2456789"  # the characters k8s rand.String uses
    number = int(hashlib.sha256(text.encode()).hexdigest(), 16)
    out = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        out.append(alphabet[index])
    return "".join(out)


def owner_reference(obj: dict, controller: bool = True, block: bool = True) -> dict:
    ref = {"apiVersion": obj["apiVersion"], "kind": obj["kind"], "name": obj["metadata"]["name"],
           "uid": obj["metadata"]["uid"]}
    if controller:
        ref["controller"] = True
    if block:
        ref["blockOwnerDeletion"] = True
    return ref


def owned_by(obj: dict, owner: dict) -> bool:
    return any(ref.get("uid") == owner["metadata"]["uid"]
               for ref in obj["metadata"].get("ownerReferences") or [])


def parse_time(value: str) -> float:
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()


def age(obj: dict) -> float:
    return time.time() - parse_time(obj["metadata"]["creationTimestamp"])


_QUANTITY = re.compile(r"^([0-9.]+)([a-zA-Z]*)$")
_UNITS = {"": 1, "k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
          "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "m": 0.001}


def quantity(value) -> float:
    """A Kubernetes quantity ("30Gi", "512Mi", "100m", 3) as a number (bytes, cores)."""
    if value is None:
        return 0
    if isinstance(value, (int, float)):
        return value
    match = _QUANTITY.match(str(value).strip())
    if not match or match.group(2) not in _UNITS:
        raise ValueError(f"not a quantity: {value!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def format_mib(value_bytes: float) -> str:
    return f"{int(value_bytes // 2**20)}Mi"


# --- label selectors ------------------------------------------------------------------------------

def selector_matches(labels: dict, selector: Optional[dict]) -> bool:
    """A metav1.LabelSelector (matchLabels / matchExpressions) against ``labels``."""
    if not selector:
        return True
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(expression_matches(labels, e) for e in selector.get("matchExpressions") or [])


def expression_matches(labels: dict, expression: dict) -> bool:
    key, operator = expression["key"], expression["operator"]
    values = expression.get("values") or []
    if operator == "In":
        return key in labels and labels[key] in values
    if operator == "NotIn":
        return key not in labels or labels[key] not in values
    if operator == "Exists":
        return key in labels
    if operator == "DoesNotExist":
        return key not in labels
    if operator in ("Gt", "Lt") and key in labels:
        try:
            left, right = int(labels[key]), int(values[0])
        except (ValueError, IndexError):
            return False
        return left > right if operator == "Gt" else left < right
    return False

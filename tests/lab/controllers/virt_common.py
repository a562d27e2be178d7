"""Helpers shared by the lab's OLM, HCO and KubeVirt simulations (no controllers here).

Writes that are computed from a read carry the resourceVersion they were computed from,
so two writers never silently undo each other: a conflict makes the reconcile run again
on fresh data, as controller-runtime's optimistic concurrency does upstream.
"""

import hashlib
import re
import threading
import time
from datetime import datetime, timezone
from typing import Optional

from kubernetes.client.exceptions import ApiException

from lab import rest
from lab.controllers.runtime import log, now

KUBEVIRT_VERSION = "v1.8.4"
CDI_VERSION = "v1.65.0"
HCO_NAME = "kubevirt-hyperconverged"
HCO_PACKAGE = "kubevirt-hyperconverged"
VIRT_API = "kubevirt.io/v1"


# --- writes ---------------------------------------------------------------------------------

def gone_or_conflict(error: Exception) -> bool:
    return isinstance(error, ApiException) and error.status in (404, 409)


def patch(api, obj: dict, body: dict, guarded: bool = True) -> Optional[dict]:
    """Merge-patch ``obj``; with ``guarded`` only if it is unchanged since read (else None)."""
    if guarded:
        body = {**body, "metadata": {**(body.get("metadata") or {}),
                                     "resourceVersion": obj["metadata"]["resourceVersion"]}}
    try:
        return api.patch(obj, body)
    except ApiException as error:
        if gone_or_conflict(error):
            return None
        raise


def update_status(api, obj: dict, status: dict, guarded: bool = True) -> Optional[dict]:
    """Merge ``status`` into the object's status (status subresource when it has one)."""
    resource = api.resource(obj["apiVersion"], obj["kind"])
    meta = obj["metadata"]
    body = {"status": status}
    if guarded:
        body["metadata"] = {"resourceVersion": meta["resourceVersion"]}
    target = resource.status if "status" in resource.subresources else resource
    try:
        return target.patch(body=body, name=meta["name"], namespace=meta.get("namespace"),
                            content_type="application/merge-patch+json").to_dict()
    except ApiException as error:
        if gone_or_conflict(error):
            return None
        raise


def create(api, obj: dict) -> Optional[dict]:
    """Create ``obj``; None when it exists already (the caller reads it next time)."""
    try:
        return api.create(obj)
    except ApiException as error:
        if error.status == 409:
            return None
        raise


def delete(api, api_version, kind, name, namespace=None, grace_period=None, propagation=None) -> bool:
    kwargs = {}
    body = {}
    if grace_period is not None:
        body["gracePeriodSeconds"] = grace_period
    if propagation:
        body["propagationPolicy"] = propagation
    if body:
        kwargs["body"] = {"apiVersion": "v1", "kind": "DeleteOptions", **body}
    try:
        api.resource(api_version, kind).delete(name=name, namespace=namespace, **kwargs)
        return True
    except ApiException as error:
        if error.status in (404, 409):
            return False
        raise


def remove_finalizer(api, obj: dict, finalizer: str) -> Optional[dict]:
    finalizers = obj["metadata"].get("finalizers") or []
    if finalizer not in finalizers:
        return obj
    return patch(api, obj, {"metadata": {"finalizers": [f for f in finalizers if f != finalizer]}})


def add_finalizer(api, obj: dict, finalizer: str) -> Optional[dict]:
    finalizers = obj["metadata"].get("finalizers") or []
    if finalizer in finalizers:
        return obj
    return patch(api, obj, {"metadata": {"finalizers": finalizers + [finalizer]}})


def apply(api, plural: str, obj: dict) -> dict:
    """Server-side apply (strict field validation) with the controllers' client."""
    return rest.apply(api.client.client, plural, obj)


# --- conditions and small values -------------------------------------------------------------

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


# --- label selectors and node scheduling -----------------------------------------------------

def selector_matches(labels: dict, selector: Optional[dict]) -> bool:
    """A metav1.LabelSelector (matchLabels / matchExpressions) against ``labels``."""
    if not selector:
        return True
    labels = labels or {}
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(key) != value:
            return False
    return all(_expression_matches(labels, e) for e in selector.get("matchExpressions") or [])


def _expression_matches(labels: dict, expression: dict) -> bool:
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


def node_selector_matches(labels: dict, node_selector: Optional[dict]) -> bool:
    return all((labels or {}).get(k) == v for k, v in (node_selector or {}).items())


def node_affinity_matches(node: dict, affinity: Optional[dict]) -> bool:
    """requiredDuringSchedulingIgnoredDuringExecution of a pod's nodeAffinity."""
    required = (((affinity or {}).get("nodeAffinity") or {})
                .get("requiredDuringSchedulingIgnoredDuringExecution") or {})
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    labels = node["metadata"].get("labels") or {}
    fields = {"metadata.name": node["metadata"]["name"]}
    for term in terms:
        ok = all(_expression_matches(labels, e) for e in term.get("matchExpressions") or [])
        ok = ok and all(_expression_matches(fields, e) for e in term.get("matchFields") or [])
        if ok:
            return True
    return False


def tolerates(taints, tolerations) -> bool:
    for taint in taints or []:
        if taint.get("effect") not in ("NoSchedule", "NoExecute"):
            continue
        if not any(_tolerates(t, taint) for t in tolerations or []):
            return False
    return True


def _tolerates(toleration: dict, taint: dict) -> bool:
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("operator") == "Exists":
        return not toleration.get("key") or toleration["key"] == taint.get("key")
    return toleration.get("key") == taint.get("key") and toleration.get("value", "") == taint.get("value", "")


def node_ready(node: dict) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True"
               for c in (node.get("status") or {}).get("conditions") or [])


def node_address(node: dict) -> str:
    for address in (node.get("status") or {}).get("addresses") or []:
        if address.get("type") == "InternalIP":
            return address["address"]
    return ""


# --- a short-lived read cache for cluster-wide configuration --------------------------------

class Cached:
    """``get(api)`` returns ``load(api)``, re-read at most every ``ttl`` seconds."""

    def __init__(self, load, ttl: float = 0.5):
        self._load, self._ttl = load, ttl
        self._value, self._at = None, 0.0
        self._lock = threading.Lock()

    def get(self, api):
        with self._lock:
            if time.monotonic() - self._at > self._ttl:
                self._value, self._at = self._load(api), time.monotonic()
            return self._value


def warn(message: str, *args) -> None:
    log.warning(message, *args)


# --- the KubeVirt CR as virt-controller / virt-api read it -------------------------------------

def _load_kubevirt(api):
    for kv in api.list(VIRT_API, "KubeVirt"):
        if (kv.get("status") or {}).get("phase") == "Deployed" and not kv["metadata"].get("deletionTimestamp"):
            return kv
    return None


_KUBEVIRT = Cached(_load_kubevirt, ttl=0.5)


def kubevirt(api) -> Optional[dict]:
    """The deployed KubeVirt CR (None while KubeVirt is not installed)."""
    return _KUBEVIRT.get(api)


MIGRATION_DEFAULTS = {"parallelMigrationsPerCluster": 5, "parallelOutboundMigrationsPerNode": 2,
                      "bandwidthPerMigration": "0Mi", "completionTimeoutPerGiB": 150, "progressTimeout": 150,
                      "allowAutoConverge": False, "allowPostCopy": False}


def migration_config(kv: Optional[dict]) -> dict:
    configured = (((kv or {}).get("spec") or {}).get("configuration") or {}).get("migrations") or {}
    return {**MIGRATION_DEFAULTS, **{k: v for k, v in configured.items() if v is not None}}


def eviction_strategy(kv: Optional[dict], vmi: dict) -> Optional[str]:
    """migrations.VMIEvictionStrategy: the VMI's own, else the cluster-wide one, else none."""
    own = ((vmi.get("spec") or {}).get("evictionStrategy"))
    if own:
        return own
    return (((kv or {}).get("spec") or {}).get("configuration") or {}).get("evictionStrategy")


def feature_gate(kv: Optional[dict], gate: str, beta_default: bool = False) -> bool:
    developer = ((((kv or {}).get("spec") or {}).get("configuration") or {}).get("developerConfiguration") or {})
    if gate in (developer.get("disabledFeatureGates") or []):
        return False
    return gate in (developer.get("featureGates") or []) or beta_default


# --- which VolumeSnapshotClass serves a StorageClass (KubeVirt's getVolumeSnapshotClassName) -------

DEFAULT_VSC_ANNOTATION = "snapshot.storage.kubernetes.io/is-default-class"


def volume_snapshot_class(api, storage_class_name: str) -> tuple:
    """(class name or "", error text or None) for volumes of ``storage_class_name``."""
    storage_class = api.get("storage.k8s.io/v1", "StorageClass", storage_class_name)
    if storage_class is None:
        return "", None
    profile = api.get("cdi.kubevirt.io/v1beta1", "StorageProfile", storage_class_name)
    preferred = ((profile or {}).get("status") or {}).get("snapshotClass")
    if preferred:
        found = api.get("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass", preferred)
        return (preferred if found else ""), None
    matches = [c for c in api.list("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass")
               if c.get("driver") == storage_class.get("provisioner")]
    if not matches:
        return "", None
    if len(matches) == 1:
        return matches[0]["metadata"]["name"], None
    for candidate in matches:
        if DEFAULT_VSC_ANNOTATION in (candidate["metadata"].get("annotations") or {}):
            return candidate["metadata"]["name"], None
    return "", f"{len(matches)} matching VolumeSnapshotClasses for {storage_class_name}"


def volume_claim(volume: dict) -> Optional[str]:
    """The PVC a VM/VMI volume uses (a DataVolume's PVC has the DataVolume's name)."""
    if volume.get("persistentVolumeClaim"):
        return volume["persistentVolumeClaim"].get("claimName")
    if volume.get("dataVolume"):
        return volume["dataVolume"].get("name")
    return None


# --- RFC 6902 JSON patch (what VirtualMachineRestore/Clone `patches` are) ---------------------------

def _pointer(path: str) -> list:
    if path == "":
        return []
    return [part.replace("~1", "/").replace("~0", "~") for part in path.lstrip("/").split("/")]


def _walk(doc, parts):
    for part in parts:
        doc = doc[int(part)] if isinstance(doc, list) else doc[part]
    return doc


def json_patch(document, operations: list):
    """Apply ``operations`` (add, remove, replace, test, copy, move) to a copy of ``document``."""
    import copy as _copy
    doc = _copy.deepcopy(document)
    for op in operations:
        parts = _pointer(op["path"])
        parent = _walk(doc, parts[:-1]) if parts else None
        key = parts[-1] if parts else None
        kind = op["op"]
        if kind == "test":
            if _walk(doc, parts) != op["value"]:
                raise ValueError(f"test failed at {op['path']}")
            continue
        if kind in ("copy", "move"):
            value = _copy.deepcopy(_walk(doc, _pointer(op["from"])))
            if kind == "move":
                json_patch_remove(doc, _pointer(op["from"]))
            kind, op = "add", {**op, "value": value}
        if kind == "remove":
            json_patch_remove(doc, parts)
        elif kind in ("add", "replace"):
            if not parts:
                doc = _copy.deepcopy(op["value"])
            elif isinstance(parent, list):
                if key == "-":
                    parent.append(_copy.deepcopy(op["value"]))
                elif kind == "add":
                    parent.insert(int(key), _copy.deepcopy(op["value"]))
                else:
                    parent[int(key)] = _copy.deepcopy(op["value"])
            else:
                if kind == "replace" and key not in parent:
                    raise ValueError(f"replace of missing {op['path']}")
                parent[key] = _copy.deepcopy(op["value"])
        else:
            raise ValueError(f"unsupported patch operation {kind}")
    return doc


def json_patch_remove(doc, parts: list) -> None:
    parent = _walk(doc, parts[:-1])
    if isinstance(parent, list):
        del parent[int(parts[-1])]
    else:
        del parent[parts[-1]]


def merge_patch_to(old, new) -> dict:
    """The JSON merge patch that turns ``old`` into ``new`` (keys ``new`` lacks become null)."""
    patch = {}
    for key in set(old or {}) | set(new or {}):
        if key not in (new or {}):
            patch[key] = None
        elif isinstance((old or {}).get(key), dict) and isinstance(new[key], dict):
            nested = merge_patch_to(old[key], new[key])
            if nested:
                patch[key] = nested
        elif (old or {}).get(key) != new[key]:
            patch[key] = new[key]
    return patch

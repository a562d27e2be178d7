"""The deployed KubeVirt CR as virt-controller and virt-api read it (upstream's ClusterConfig):
feature gates, migration settings and the cluster-wide eviction strategy."""

import threading
import time
from typing import Optional

KUBEVIRT_VERSION = "v1.8.4"
VIRT_API = "kubevirt.io/v1"


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

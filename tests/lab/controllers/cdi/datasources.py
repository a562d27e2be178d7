"""CDI's DataSource controller (v1.65).

A DataSource is Ready when what it points to is usable (a Succeeded DataVolume of that name, or
a claim without one, a ready VolumeSnapshot).
"""

from lab.controllers.cdi.storage import CDI, SNAPSHOTS, condition
from lab.controllers.runtime import Controller, Watch


def data_source_readiness(api, source: dict, namespace: str) -> tuple:
    """(status, reason, message) of a DataSource's Ready condition."""
    if source.get("pvc"):
        ref = source["pvc"]
        ns = ref.get("namespace") or namespace
        dv = api.get(CDI, "DataVolume", ref["name"], ns)
        if dv is not None:
            phase = (dv.get("status") or {}).get("phase", "")
            if phase == "Succeeded":
                return "True", "Ready", "DataSource is ready to be consumed"
            return "False", phase or "Pending", f"Import DataVolume phase {phase}"
        if api.get("v1", "PersistentVolumeClaim", ref["name"], ns) is None:
            return "False", "NotFound", "PVC not found"
        return "True", "Ready", "DataSource is ready to be consumed"  # a claim without DataVolume: as it is
    if source.get("snapshot"):
        ref = source["snapshot"]
        snapshot = api.get(SNAPSHOTS, "VolumeSnapshot", ref["name"], ref.get("namespace") or namespace)
        if snapshot is None:
            return "False", "NotFound", "Snapshot not found"
        if not (snapshot.get("status") or {}).get("readyToUse"):
            return "False", "SnapshotNotReady", "Snapshot phase is not ready"
        return "True", "Ready", "DataSource is ready to be consumed"
    if source.get("dataSource"):
        ref = source["dataSource"]
        target = api.get(CDI, "DataSource", ref["name"], ref.get("namespace") or namespace)
        if target is None:
            return "False", "NotFound", "DataSource not found"
        return data_source_readiness(api, target["spec"].get("source") or {}, target["metadata"]["namespace"])
    return "False", "NoSource", "No source PVC set"


def reconcile_data_source(api, data_source: dict):
    meta, source = data_source["metadata"], data_source["spec"].get("source") or {}
    status, reason, message = data_source_readiness(api, source, meta["namespace"])
    previous = (data_source.get("status") or {}).get("conditions")
    api.replace_status(data_source, {"source": source,
                                     "conditions": [condition(previous, "Ready", status, reason, message)]})
    return None


def _data_sources_of(api, obj: dict) -> list:
    """The DataSources that point at a DataVolume, claim or snapshot (or at a DataSource)."""
    kind = {"DataVolume": "pvc", "PersistentVolumeClaim": "pvc", "VolumeSnapshot": "snapshot",
            "DataSource": "dataSource"}[obj["kind"]]
    meta = obj["metadata"]
    keys = []
    for data_source in api.list(CDI, "DataSource"):
        ref = (data_source["spec"].get("source") or {}).get(kind) or {}
        if ref.get("name") == meta["name"] and \
                (ref.get("namespace") or data_source["metadata"]["namespace"]) == meta["namespace"]:
            keys.append((data_source["metadata"]["namespace"], data_source["metadata"]["name"]))
    return keys


def setup(manager, webhooks) -> None:
    api = manager.api

    def data_sources_of(obj: dict) -> list:
        return _data_sources_of(api, obj)

    manager.add(Controller("datasource-controller", CDI, "DataSource", reconcile_data_source,
                           watches=[Watch(CDI, "DataVolume", data_sources_of),
                                    Watch("v1", "PersistentVolumeClaim", data_sources_of),
                                    Watch(SNAPSHOTS, "VolumeSnapshot", data_sources_of),
                                    Watch(CDI, "DataSource", data_sources_of)]))

"""Trident's orchestrator core, as far as the lab needs it.

Backends, volumes and snapshots are kept where Trident keeps them: TridentBackend,
TridentVolume and TridentSnapshot objects in Trident's namespace, so the simulation survives
a restart and the cluster shows what it would show. The CSI controller calls (CreateVolume,
DeleteVolume, ControllerExpandVolume, CreateSnapshot, DeleteSnapshot) run the drivers and fail
with Trident's words, wrapped as gRPC errors the way the CSI sidecars report them.

A volume that still has snapshots or FlexClones is not deleted but marked ``deleting`` (as
Trident soft-deletes it); the TridentVolume controller removes it once nothing depends on it.
"""

import base64
import logging
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime

from lab.controllers.trident import config as trident_config
from lab.controllers.trident.config import BackendConfig, ConfigError
from lab.controllers.trident.driver import DriverError, OntapDriver, matching_pools

log = logging.getLogger("lab.controllers.trident")

NAMESPACE = "trident"
GROUP_VERSION = "trident.netapp.io/v1"


class CsiError(Exception):
    """A failed CSI call, as the sidecars quote it in events and statuses."""

    def __init__(self, code: str, message: str):
        self.code, self.message = code, message
        super().__init__(f"rpc error: code = {code} desc = {message}")


@dataclass
class VolumeRequest:
    """A CSI CreateVolume request as Trident's CSI frontend turns it into a volume config."""
    name: str  # the PV name: pvc-<claim uid>
    size: int
    storage_class: dict
    access_modes: list
    volume_mode: str
    namespace: str
    claim: str
    source_volume: str = ""  # the source PV's volume handle, for a clone
    source_snapshot: str = ""  # "<volume>/<snapshot>", for a restore

    @property
    def protocol(self) -> str:
        """getProtocol: Block needs block; a shared Filesystem needs file; else any ('')."""
        if self.volume_mode == "Block":
            return "block"
        if {"ReadWriteMany", "ReadOnlyMany"} & set(self.access_modes):
            return "file"
        return ""


# --- whether Trident runs at all -----------------------------------------------------------------

NOT_RUNNING_RETRY = 3.0


def running(api) -> bool:
    """Whether Trident's controller runs: it keeps its TridentVersion in its namespace from its first start.

    Without it (the lab's ``LAB_TRIDENT=operator`` mode before the operator installed Trident)
    nothing answers for Trident: TridentBackendConfigs stay without status, claims stay Pending.
    """
    return api.get(GROUP_VERSION, "TridentVersion", "trident", NAMESPACE) is not None


# --- records ---------------------------------------------------------------------------------

def _record(api, kind: str, name: str):
    return api.get(GROUP_VERSION, kind, name, NAMESPACE)


def backend_records(api) -> list:
    return api.list(GROUP_VERSION, "TridentBackend", NAMESPACE)


def backend_record(api, backend_uuid: str):
    return next((b for b in backend_records(api) if b["backendUUID"] == backend_uuid), None)


def volume_record(api, name: str):
    return _record(api, "TridentVolume", name)


def volumes_on(api, backend_uuid: str) -> list:
    return [v for v in api.list(GROUP_VERSION, "TridentVolume", NAMESPACE) if v["backendUUID"] == backend_uuid]


def secret_data(api, name: str):
    secret = api.get("v1", "Secret", name, NAMESPACE)
    if secret is None:
        return None
    data = {k: base64.b64decode(v).decode() for k, v in (secret.get("data") or {}).items()}
    return {**data, **(secret.get("stringData") or {})}


class _Credentials:
    """The credentials each backend was last applied with, kept in memory as Trident keeps its
    backends: a Secret that changes (or goes) only matters once a TBC update validates it.
    After a restart they are read from the Secret again, as Trident does when it bootstraps."""

    def __init__(self):
        self._known = {}
        self._lock = threading.Lock()

    def get(self, backend_uuid: str):
        with self._lock:
            return self._known.get(backend_uuid)

    def remember(self, backend_uuid: str, config: BackendConfig) -> None:
        with self._lock:
            self._known[backend_uuid] = (config.username, config.password)


_credentials = _Credentials()


def save_backend(api, tbc: dict, config: BackendConfig, driver: OntapDriver, existing) -> dict:
    """Create or update the TridentBackend a TridentBackendConfig is bound to."""
    body = {"backendName": config.name, "config": {"ontap_config": {**config.spec, "svm": driver.svm}},
            "configRef": tbc["metadata"]["uid"], "online": True, "state": "online", "userState": "normal",
            "version": "1"}
    if existing:
        record = api.patch(existing, body)
    else:
        record = api.create({"apiVersion": GROUP_VERSION, "kind": "TridentBackend",
                             "metadata": {"generateName": "tbe-", "namespace": NAMESPACE},
                             "backendUUID": str(uuid.uuid4()), **body})
    _credentials.remember(record["backendUUID"], config)
    return record


def backend_config(api, record: dict) -> BackendConfig:
    """The stored config with the credentials it was last applied with."""
    spec = record["config"]["ontap_config"]
    known = _credentials.get(record["backendUUID"])
    if known:
        return BackendConfig(spec, *known)
    config = trident_config.backend_config({"metadata": {"name": record["backendName"]}, "spec": spec},
                                           lambda name: secret_data(api, name))
    _credentials.remember(record["backendUUID"], config)
    return config


def initialized_driver(config: BackendConfig) -> OntapDriver:
    """The backend's driver, initialised; ConfigError in the driver factory's words."""
    driver = OntapDriver(config)
    try:
        driver.initialize()
    except DriverError as error:
        raise ConfigError(f"problem initializing storage driver '{config.driver}': {error}") from None
    return driver


def driver_for(api, record: dict) -> OntapDriver:
    try:
        return initialized_driver(backend_config(api, record))
    except ConfigError as error:
        raise CsiError("Unknown", f"backend {record['backendName']} is offline: {error}") from None


# --- volumes ---------------------------------------------------------------------------------

def create_volume(api, request: VolumeRequest) -> dict:
    """CreateVolume: a new volume on a pool the class allows, or a FlexClone of the source."""
    existing = volume_record(api, request.name)
    if existing:
        return existing
    if request.source_volume or request.source_snapshot:
        return _clone(api, request)
    sc_name = request.storage_class["metadata"]["name"]
    try:
        wanted = trident_config.storage_class_request(request.storage_class)
    except ConfigError as error:
        # Trident never admits such a class; its log names the reason, the CSI call does not.
        log.warning("K8S helper could not process the storage class attribute: %s (class %s)", error, sc_name)
        raise CsiError("Unknown", f"unknown storage class: {sc_name}") from None
    candidates = []
    for record in backend_records(api):
        if record.get("state") != "online":
            continue
        try:
            driver = driver_for(api, record)
        except CsiError as error:
            log.warning("%s", error.message)
            continue
        candidates += [(record, driver, pool) for pool in matching_pools(driver.pools(), wanted)]
    if not candidates:
        raise CsiError("Unknown", f"no available backends for storage class {sc_name}")
    usable = [c for c in candidates if request.protocol in ("", c[1].config.protocol)]
    if not usable:
        raise CsiError("Unknown", f"no suitable {request.protocol} backend with {sc_name} storage class and "
                                  f"{request.size} of free space was found")
    failures = []
    for record, driver, pool in usable:
        try:
            created = driver.create(request.name, request.size, pool)
        except DriverError as error:
            failures.append(f"failed to create volume {request.name} on storage pool {pool.name} from backend "
                            f"{record['backendName']}; {error}")
            continue
        return _save_volume(api, request, record, driver, created)
    raise CsiError("Unknown", "encountered error(s) in creating the volume: " + "; ".join(failures))


def _clone(api, request: VolumeRequest) -> dict:
    """A clone or restore (cloneVolumeInitial): a FlexClone on the source's backend, refused when
    the class has no pool on that backend or when it asks for more than the source's size. The
    clone is the source's size: CDI asks for that and expands afterwards."""
    source_name, snapshot_name = request.source_volume, ""
    if request.source_snapshot:
        source_name, snapshot_name = request.source_snapshot.split("/", 1)
    source = volume_record(api, source_name)
    # A soft-deleted volume is kept for its snapshots, and restores from them still work (that is
    # how CDI's snapshot-format DataImportCrons keep boot sources); it cannot be cloned itself.
    if source is None or (source.get("state") == "deleting" and not snapshot_name):
        raise CsiError("NotFound", f"source volume not found: {source_name}")
    record = backend_record(api, source["backendUUID"])
    if request.storage_class["metadata"]["name"] != source["config"].get("storageClass") and \
            not _class_on_backend(api, request.storage_class, record):
        raise CsiError("Unknown", f"clone volume {request.name} from source volume {source_name} with different "
                                  "storage classes that have no common backends is not allowed")
    source_size = int(source["config"]["size"])
    if request.size and request.size > source_size:
        raise CsiError("Unknown", f"requested PVC size '{request.size}' is too large for the clone source "
                                  f"'{source_size}'")
    source_mode = source["config"].get("volumeMode") or ""
    if source_mode and source_mode != request.volume_mode:
        raise CsiError("NotFound", f"source volume's volume-mode ({source_mode}) is incompatible with requested "
                                   f"clone's volume-mode ({request.volume_mode})")
    if record is None:
        raise CsiError("NotFound", f"backend {source['backendUUID']} for the source volume not found: "
                                   f"{source_name}")
    if snapshot_name and _record(api, "TridentSnapshot", snapshot_record_name(source_name, snapshot_name)) is None:
        raise CsiError("NotFound", "could not find source snapshot for volume")
    driver = driver_for(api, record)
    try:
        created = driver.create_clone(request.name, source["config"]["internalName"], snapshot_name)
    except DriverError as error:
        raise CsiError("Unknown", f"failed to create cloned volume {request.name} on backend "
                                  f"{record['backendName']}: {error}") from None
    created.update(size=str(source_size), pool=source.get("pool", ""), cloneSourceVolume=source_name,
                   cloneSourceVolumeInternal=source["config"]["internalName"], cloneSourceSnapshot=snapshot_name)
    return _save_volume(api, request, record, driver, created)


def _class_on_backend(api, storage_class: dict, record) -> bool:
    """IsAddedToBackend: whether the class has a pool on the backend (an unknown class has none)."""
    if record is None:
        return False
    try:
        wanted = trident_config.storage_class_request(storage_class)
        return bool(matching_pools(driver_for(api, record).pools(), wanted))
    except (ConfigError, CsiError):
        return False


def _save_volume(api, request: VolumeRequest, record: dict, driver: OntapDriver, created: dict) -> dict:
    pool = created.pop("pool")
    config = {"version": "1", "name": request.name, "protocol": driver.config.protocol,
              "storageClass": request.storage_class["metadata"]["name"], "accessModes": request.access_modes,
              "volumeMode": request.volume_mode, "namespace": request.namespace, "requestName": request.claim,
              **created}
    return api.create({"apiVersion": GROUP_VERSION, "kind": "TridentVolume",
                       "metadata": {"name": request.name, "namespace": NAMESPACE},
                       "backendUUID": record["backendUUID"], "pool": pool, "orphaned": False,
                       "state": "online", "config": config})


def expand_volume(api, name: str, size: int) -> tuple:
    """ControllerExpandVolume: grow the volume to ``size`` bytes; (capacity, node expansion
    required), the latter for block protocol volumes, whose LUN the node must rescan."""
    volume = volume_record(api, name)
    if volume is None:
        raise CsiError("NotFound", f"volume {name} was not found")
    node_expansion = volume["config"].get("protocol") == "block"
    current = int(volume["config"]["size"])
    if current >= size:
        return current, node_expansion
    if volume.get("state") == "deleting":
        raise CsiError("Aborted", f"volume {name} is deleting")
    driver = _volume_driver(api, volume)
    try:
        driver.resize(volume["config"]["internalName"], size)
    except DriverError as error:
        raise CsiError("Unknown", f"unable to resize the volume: {error}") from None
    api.patch(volume, {"config": {"size": str(size)}})
    return size, node_expansion


def delete_volume(api, name: str) -> None:
    """DeleteVolume: gone at once, or soft-deleted while snapshots or clones depend on it."""
    volume = volume_record(api, name)
    if volume is None or volume.get("state") == "deleting":
        return
    driver = _volume_driver(api, volume)
    if _snapshots_of(api, name) or driver.has_dependents(volume["config"]["internalName"]):
        api.patch(volume, {"state": "deleting"})
        return
    _destroy(api, driver, volume)


def reap_volume(api, volume: dict) -> bool:
    """Remove a soft-deleted volume once nothing depends on it; True when it is gone."""
    driver = _volume_driver(api, volume)
    if _snapshots_of(api, volume["metadata"]["name"]) or driver.has_dependents(volume["config"]["internalName"]):
        return False
    _destroy(api, driver, volume)
    return True


def _volume_driver(api, volume: dict) -> OntapDriver:
    record = backend_record(api, volume["backendUUID"])
    if record is None:
        raise CsiError("NotFound", f"backend {volume['backendUUID']} for volume {volume['metadata']['name']} "
                                   "was not found")
    return driver_for(api, record)


def _destroy(api, driver: OntapDriver, volume: dict) -> None:
    config = volume["config"]
    # A clone of a PVC took its own snapshot of the source (named by time); it goes with the clone.
    automatic = "" if config.get("cloneSourceSnapshot") or not config.get("cloneSourceVolumeInternal") \
        else f"{config['cloneSourceVolumeInternal']}/{config['cloneSourceSnapshotInternal']}"
    try:
        driver.destroy(config["internalName"], automatic)
    except DriverError as error:
        raise CsiError("Unknown", str(error)) from None
    api.delete(GROUP_VERSION, "TridentVolume", volume["metadata"]["name"], NAMESPACE)


# --- snapshots -------------------------------------------------------------------------------

def snapshot_record_name(volume: str, snapshot: str) -> str:
    return f"{volume}-{snapshot}"


def _snapshots_of(api, volume: str) -> list:
    return [s for s in api.list(GROUP_VERSION, "TridentSnapshot", NAMESPACE) if s["spec"]["volumeName"] == volume]


def create_snapshot(api, volume_name: str, snapshot_name: str) -> dict:
    """CreateSnapshot: an ONTAP snapshot of the volume; returns the CSI snapshot facts."""
    record = _record(api, "TridentSnapshot", snapshot_record_name(volume_name, snapshot_name))
    if record is None:
        volume = volume_record(api, volume_name)
        if volume is None or volume.get("state") == "deleting":
            raise CsiError("NotFound", f"volume {volume_name} was not found")
        driver = _volume_driver(api, volume)
        try:
            taken = driver.create_snapshot(volume["config"]["internalName"], snapshot_name)
        except DriverError as error:
            raise CsiError("Internal", str(error)) from None
        record = api.create({
            "apiVersion": GROUP_VERSION, "kind": "TridentSnapshot",
            "metadata": {"name": snapshot_record_name(volume_name, snapshot_name), "namespace": NAMESPACE},
            "spec": {"version": "1", "name": snapshot_name, "internalName": snapshot_name,
                     "volumeName": volume_name, "volumeInternalName": volume["config"]["internalName"]},
            "state": "online", "created": taken["created"], "sizeBytes": taken["size"]})
    return _snapshot_facts(record)


def existing_snapshot(api, handle: str) -> dict:
    """GetSnapshot, for a pre-provisioned VolumeSnapshotContent."""
    volume_name, snapshot_name = handle.split("/", 1)
    record = _record(api, "TridentSnapshot", snapshot_record_name(volume_name, snapshot_name))
    if record is None:
        raise CsiError("NotFound", f"snapshot {snapshot_name} of volume {volume_name} was not found")
    return _snapshot_facts(record)


def _snapshot_facts(record: dict) -> dict:
    spec = record["spec"]
    return {"snapshotHandle": f"{spec['volumeName']}/{spec['name']}", "sizeBytes": int(record["sizeBytes"]),
            "creationTime": datetime.fromisoformat(record["created"])}


def delete_snapshot(api, handle: str) -> None:
    volume_name, snapshot_name = handle.split("/", 1)
    record = _record(api, "TridentSnapshot", snapshot_record_name(volume_name, snapshot_name))
    if record is None:
        return
    volume = volume_record(api, volume_name)
    if volume is not None:
        try:
            _volume_driver(api, volume).delete_snapshot(volume["config"]["internalName"], snapshot_name)
        except DriverError as error:
            raise CsiError("Internal", str(error)) from None
    api.delete(GROUP_VERSION, "TridentSnapshot", record["metadata"]["name"], NAMESPACE)

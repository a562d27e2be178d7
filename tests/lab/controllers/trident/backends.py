"""Trident's TridentBackendConfig controller and the volume reaper.

Like Trident's CRD controller it watches TridentBackendConfigs and their Secrets in Trident's
namespace only (a TBC anywhere else stays without status), validates the config, logs in to
ONTAP with the Secret's credentials, checks the SVM and its data LIFs, and binds the TBC to a
TridentBackend: status phase Bound / lastOperationStatus Success, or Failed with Trident's
message, and an Event with the operation status as reason whenever the status changes.
Deleting a TBC honours its deletionPolicy: ``delete`` removes the backend once it has no
volumes (phase Deleting until then), ``retain`` keeps the backend unbound. An update is
refused when it changes the driver or the storage prefix; the TBC stays Bound to the backend
as it was.
"""

import threading
import time

from lab.controllers.runtime import Controller, Watch, step_delay
from lab.controllers.trident import config as trident_config
from lab.controllers.trident import core as trident_core
from lab.controllers.trident.config import ConfigError
from lab.controllers.trident.core import GROUP_VERSION, NAMESPACE, CsiError

FINALIZER = "trident.netapp.io"
COMPONENT = "trident-crd-controller"
RETRY_FAILED = 10.0  # Trident's workqueue retries a failed TBC with back-off; the lab, steadily
RETRY_DELETING = 3.0


class _Bindings:
    """What each TBC was last bound with (generation, Secret version), so that an unchanged TBC
    is not re-applied on every resync. Lost on restart; the next reconcile then re-validates."""

    def __init__(self):
        self._seen = {}
        self._lock = threading.Lock()

    def previous(self, uid: str):
        with self._lock:
            return self._seen.get(uid)

    def remember(self, uid: str, fingerprint: tuple) -> None:
        with self._lock:
            self._seen[uid] = fingerprint

    def forget(self, uid: str) -> None:
        with self._lock:
            self._seen.pop(uid, None)


_bindings = _Bindings()


def _bound_backend(api, tbc: dict):
    uid = tbc["metadata"]["uid"]
    return next((b for b in trident_core.backend_records(api) if b.get("configRef") == uid), None)


def _secret_name(tbc: dict) -> str:
    return ((tbc.get("spec") or {}).get("credentials") or {}).get("name", "")


def reconcile_backend_config(api, tbc: dict):
    if not trident_core.running(api):
        return trident_core.NOT_RUNNING_RETRY
    if tbc["metadata"].get("deletionTimestamp"):
        return _delete(api, tbc)
    tbc = api.add_finalizer(tbc, FINALIZER)
    uid = tbc["metadata"]["uid"]
    secret = api.get("v1", "Secret", _secret_name(tbc), NAMESPACE) if _secret_name(tbc) else None
    fingerprint = (tbc["metadata"]["generation"], secret and secret["metadata"]["resourceVersion"])
    existing = _bound_backend(api, tbc)
    previous = _bindings.previous(uid)
    if existing and previous == fingerprint:
        return None
    time.sleep(step_delay())
    try:
        config = trident_config.backend_config(tbc, lambda name: trident_core.secret_data(api, name))
        _check_unique(api, tbc, config.name)
        # A backend retained by a deleted TBC (or made with tridentctl) is bound by a new TBC of its name.
        existing = existing or _unbound_backend(api, config.name)
        driver = trident_core.initialized_driver(config)
        if existing:
            _check_update(existing, config)
    except ConfigError as error:
        lead = "Failed to apply the backend update; " if existing else "Failed to create backend: "
        _set_status(api, tbc, existing, "Failed", lead + str(error))
        return RETRY_FAILED
    backend = trident_core.save_backend(api, tbc, config, driver, existing)
    message = (tbc.get("status") or {}).get("message", "")
    if existing is None:
        message = f"Backend '{config.name}' created"
    elif previous is not None or existing["config"] != backend["config"] or not message.startswith("Backend '"):
        message = f"Backend '{config.name}' updated"
    _set_status(api, tbc, backend, "Success", message)
    _bindings.remember(uid, fingerprint)
    return None


def _check_update(existing: dict, config) -> None:
    """What updateBackendByBackendUUID refuses once the new config has initialised: another
    driver (validateBackendUpdate), then another storage prefix (GetUpdateType: PrefixChange,
    compared after the default prefix is applied, so leaving it out equals "trident")."""
    stored = trident_config.BackendConfig(existing["config"]["ontap_config"])
    if stored.driver != config.driver:
        raise ConfigError(f"cannot update the backend as the old backend is of type {stored.driver} and the new "
                          f"backend is of type {config.driver}")
    if stored.prefix != config.prefix:
        raise ConfigError("updating the storage prefix isn't currently supported")


def _check_unique(api, tbc: dict, name: str) -> None:
    for backend in trident_core.backend_records(api):
        if backend["backendName"] == name and backend.get("configRef") not in ("", tbc["metadata"]["uid"]):
            raise ConfigError(f"backend {name} already exists")


def _unbound_backend(api, name: str):
    return next((b for b in trident_core.backend_records(api)
                 if b["backendName"] == name and not b.get("configRef")), None)


def _set_status(api, tbc: dict, backend, outcome: str, message: str, phase: str = None) -> None:
    policy = str((tbc.get("spec") or {}).get("deletionPolicy", "delete")).lower()
    if phase is None:
        phase = "Bound" if backend else ""
    status = {"phase": phase, "lastOperationStatus": outcome, "message": message, "deletionPolicy": policy,
              "backendInfo": {"backendName": backend["backendName"] if backend else "",
                              "backendUUID": backend["backendUUID"] if backend else ""}}
    previous = tbc.get("status") or {}
    if all(previous.get(k) == v for k, v in status.items()):
        return
    api.patch_status(tbc, status)
    api.event(tbc, "Normal" if outcome == "Success" else "Warning", outcome, message, component=COMPONENT)


def _delete(api, tbc: dict):
    backend = _bound_backend(api, tbc)
    policy = str((tbc.get("spec") or {}).get("deletionPolicy", "delete")).lower()
    if backend and policy == "retain":
        api.patch(backend, {"configRef": ""})
    elif backend:
        if trident_core.volumes_on(api, backend["backendUUID"]):
            if backend.get("state") != "deleting":
                api.patch(backend, {"state": "deleting"})
            _set_status(api, tbc, backend, "Success",
                        "Backend is in a deleting state, cannot proceed with the TBC deletion", phase="Deleting")
            return RETRY_DELETING
        time.sleep(step_delay())
        api.delete(GROUP_VERSION, "TridentBackend", backend["metadata"]["name"], NAMESPACE)
    _bindings.forget(tbc["metadata"]["uid"])
    api.remove_finalizer(tbc, FINALIZER)
    return None


def reconcile_volume(api, volume: dict):
    """Remove a soft-deleted TridentVolume (and its ONTAP volume) once nothing depends on it."""
    if volume.get("state") != "deleting":
        return None
    try:
        if trident_core.reap_volume(api, volume):
            return None
    except CsiError as error:
        trident_core.log.warning("could not delete volume %s yet: %s", volume["metadata"]["name"], error.message)
    return RETRY_DELETING


def setup(manager, webhooks) -> None:
    api = manager.api

    def configs_using_secret(secret: dict) -> list:
        name = secret["metadata"]["name"]
        return [(NAMESPACE, tbc["metadata"]["name"])
                for tbc in api.list(GROUP_VERSION, "TridentBackendConfig", NAMESPACE) if _secret_name(tbc) == name]

    manager.add(Controller("trident-backend-configs", GROUP_VERSION, "TridentBackendConfig",
                           reconcile_backend_config, namespace=NAMESPACE,
                           watches=[Watch("v1", "Secret", configs_using_secret, namespace=NAMESPACE)]))
    manager.add(Controller("trident-volumes", GROUP_VERSION, "TridentVolume", reconcile_volume,
                           namespace=NAMESPACE))

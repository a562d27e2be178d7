"""Helpers for the storage tests: waits, names, claims, events and ONTAP reads.

ONTAP is read with the official netapp_ontap client, so what the tests assert is what the
stand-in holds as a client we did not write sees it.
"""

import uuid
from pathlib import Path

from netapp_ontap import HostConnection
from netapp_ontap.resources import ExportPolicy, Lun, NvmeNamespace, Snapshot, Volume

from lab import cluster, components, procs

TRIDENT = "trident"
DRIVER = "csi.trident.netapp.io"
TIMEOUT = 60


def wait_for(check, what: str, timeout: float = TIMEOUT):
    """Poll ``check()`` until it returns something truthy, and return that."""
    return procs.wait_until(check, what, timeout=timeout)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def internal_name(pv_name: str) -> str:
    """Trident's ONTAP name for a PV: storage prefix, underscores for dashes."""
    return "trident_" + pv_name.replace("-", "_")


class Ontap:
    """Read-only views of the ONTAP stand-in through netapp_ontap, as cluster admin."""

    def __init__(self, endpoint: dict, ca_cert: str):
        self.endpoint = endpoint
        admin = endpoint["cluster_admin"]
        self._connection = HostConnection(endpoint["hostname"], port=endpoint["http_port"],
                                          username=admin["username"], password=admin["password"],
                                          verify=ca_cert)
        # Else REQUESTS_CA_BUNDLE from the environment would replace the lab's CA.
        self._connection.session.trust_env = False

    def volume(self, name: str):
        with self._connection:
            found = list(Volume.get_collection(name=name, fields="name,svm.name,size,clone,nas,aggregates"))
        return found[0] if found else None

    def volume_names(self) -> set:
        with self._connection:
            return {v.name for v in Volume.get_collection(fields="name")}

    def claim_volumes(self, core_v1, namespace: str, *claims: str) -> list:
        """The ONTAP volumes that hold these claims, if any (a PV is named pvc-<claim uid>).

        Other suites may provision at the same time, so tests of refusals look at their own claims only.
        """
        names = {internal_name("pvc-" + core_v1.read_namespaced_persistent_volume_claim(c, namespace).metadata.uid)
                 for c in claims}
        return sorted(names & self.volume_names())

    def luns(self, volume: str) -> list:
        with self._connection:
            return [lun.name for lun in Lun.get_collection(**{"location.volume.name": volume})]

    def lun_size(self, volume: str) -> int:
        with self._connection:
            found = list(Lun.get_collection(**{"location.volume.name": volume}, fields="space.size"))
        return found[0].space.size

    def namespaces(self, volume: str) -> list:
        with self._connection:
            return [ns.name for ns in NvmeNamespace.get_collection(**{"location.volume.name": volume})]

    def snapshots(self, volume: str) -> list:
        target = self.volume(volume)
        if target is None:
            return []
        with self._connection:
            return [s.name for s in Snapshot.get_collection(target.uuid)]

    def export_policies(self, svm: str) -> list:
        with self._connection:
            return [p.name for p in ExportPolicy.get_collection(**{"svm.name": svm})]


# --- claims and events -------------------------------------------------------------------------

def claim(name: str, storage_class: str, volume_mode: str, access_mode: str, size: str = "1Gi", **spec) -> dict:
    return {"metadata": {"name": name},
            "spec": {"storageClassName": storage_class, "volumeMode": volume_mode, "accessModes": [access_mode],
                     "resources": {"requests": {"storage": size}}, **spec}}


def bound_claim(core_v1, namespace: str, name: str):
    def bound():
        found = core_v1.read_namespaced_persistent_volume_claim(name, namespace)
        return found if found.status.phase == "Bound" else None
    return wait_for(bound, f"claim {namespace}/{name} to be bound")


def events(core_v1, namespace: str, name: str, reason: str = None) -> list:
    found = core_v1.list_namespaced_event(namespace, field_selector=f"involvedObject.name={name}").items
    return [e for e in found if reason is None or e.reason == reason]


def wait_event(core_v1, namespace: str, name: str, reason: str):
    return wait_for(lambda: events(core_v1, namespace, name, reason),
                    f"a {reason} event on {namespace}/{name}")[0]


# --- the controllers process -------------------------------------------------------------------

def restart_controllers(lab, **env) -> None:
    """Restart the lab's simulated controllers with these environment variables set ('' unsets).

    The controllers rebuild everything from what the cluster holds (lab.controllers.runtime), so
    a restart is what a real operator's restart is: in-flight objects are picked up where they
    stood. Used to run a few tests with e.g. LAB_LATENCY, then restart without it.
    """
    old = next(p for p in lab.processes if p.name == "controllers")
    procs.stop(old)
    lab.path(components.CONTROLLERS_READY_FILE).unlink(missing_ok=True)
    environment = cluster._process_env()  # as `lab up` starts it
    for key, value in env.items():
        if value:
            environment[key] = value
        else:
            environment.pop(key, None)
    new = procs.spawn("controllers", old.command, Path(old.log), environment)
    lab.processes[lab.processes.index(old)] = new
    lab.save()
    procs.wait_until(lambda: components.controllers_ready(lab), "the restarted controllers to be ready", new)

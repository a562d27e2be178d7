"""Simulated virt-controller, VirtualMachine part (KubeVirt v1.8).

- DataVolumes of `spec.dataVolumeTemplates` are created when the VM is created (owned by it,
  whatever the run strategy), with the preference's preferredStorageClassName when the
  template names no class.
- runStrategy Always / RerunOnFailure / Once / Manual / Halted and the deprecated `running`
  decide whether a VirtualMachineInstance exists; `status.stateChangeRequests` (what the
  start/stop/restart subresources write) are honoured. A VMI is created once every
  DataVolume is Succeeded (or WaitForFirstConsumer / PendingPopulation) and every PVC exists;
  it carries the template with the instancetype and preference applied (a ControllerRevision
  records each, as status.instancetypeRef / preferenceRef say), a disk for every volume that
  has none, the pod network when no network is given, and disk buses defaulted as v1.8.4 does
  (the preference's preferredDiskBus, else SATA).
- Status: printableStatus (Provisioning, Starting, Running, Migrating, Stopping, Stopped,
  Terminating, DataVolumeError, ErrorPvcNotFound), created/ready, Ready (and the VMI's
  LiveMigratable/StorageLiveMigratable) conditions, DataVolumesReady, runStrategy,
  volumeSnapshotStatuses (which VolumeSnapshotClass would serve each disk).
- Stopping deletes the VMI; deleting the VM deletes its VMI first (finalizer
  `kubevirt.io/virtualMachineControllerFinalize`); its DataVolumes go by garbage collection.
"""

import copy
import uuid
from dataclasses import dataclass, field
from typing import Optional

from lab.controllers.conditions import condition, condition_true, remove_condition, set_condition
from lab.controllers.kubevirt.cluster_config import kubevirt
from lab.controllers.kubevirt.volumes import volume_claim, volume_snapshot_class
from lab.controllers.objects import owned_by, owner_reference
from lab.controllers.runtime import CONTINUE, Controller, Watch, log, owner_keys, run_steps, step_delay

VM = ("kubevirt.io/v1", "VirtualMachine")
VMI = ("kubevirt.io/v1", "VirtualMachineInstance")
DV = ("cdi.kubevirt.io/v1beta1", "DataVolume")
PVC = ("v1", "PersistentVolumeClaim")
FINALIZER = "kubevirt.io/virtualMachineControllerFinalize"
FIRMWARE_UUID_NAMESPACE = uuid.UUID("6a1a24a1-4061-4607-8bf4-a3963d0c5895")
DV_READY = ("Succeeded", "WaitForFirstConsumer", "PendingPopulation")
FINAL = ("Succeeded", "Failed")


def run_strategy(vm: dict) -> str:
    spec = vm.get("spec") or {}
    if spec.get("runStrategy"):
        return spec["runStrategy"]
    if spec.get("running") is True:
        return "Always"
    return "Halted"


# --- instancetypes and preferences ------------------------------------------------------------------

def _matcher_target(matcher: dict, namespaced_kind: str, cluster_kind: str) -> tuple:
    kind = (matcher.get("kind") or "").lower()
    namespaced = kind in (namespaced_kind.lower(), namespaced_kind.lower() + "s")
    return ("instancetype.kubevirt.io/v1beta1", namespaced_kind if namespaced else cluster_kind, namespaced)


def resolve(api, vm: dict, field: str):
    """The VM's instancetype or preference object (or None)."""
    matcher = (vm.get("spec") or {}).get(field)
    if not matcher:
        return None
    if field == "instancetype":
        api_version, kind, namespaced = _matcher_target(matcher, "VirtualMachineInstancetype",
                                                        "VirtualMachineClusterInstancetype")
    else:
        api_version, kind, namespaced = _matcher_target(matcher, "VirtualMachinePreference",
                                                        "VirtualMachineClusterPreference")
    return api.get(api_version, kind, matcher["name"], vm["metadata"]["namespace"] if namespaced else None)


def _revision(api, vm: dict, obj: dict) -> str:
    """Store the instancetype/preference the VM uses in a ControllerRevision (its name)."""
    meta = obj["metadata"]
    name = f"{vm['metadata']['name']}-{meta['name']}-{meta['uid']}-{meta.get('generation', 1)}"
    if api.get("apps/v1", "ControllerRevision", name, vm["metadata"]["namespace"]) is None:
        api.create_if_absent({
            "apiVersion": "apps/v1", "kind": "ControllerRevision",
            "metadata": {"name": name, "namespace": vm["metadata"]["namespace"],
                         "labels": {"instancetype.kubevirt.io/object-kind": obj["kind"],
                                    "instancetype.kubevirt.io/object-name": meta["name"],
                                    "instancetype.kubevirt.io/object-uid": meta["uid"],
                                    "instancetype.kubevirt.io/object-generation": str(meta.get("generation", 1))},
                         "ownerReferences": [owner_reference(vm)]},
            "data": {"apiVersion": obj["apiVersion"], "kind": obj["kind"],
                     "metadata": {"name": meta["name"], "uid": meta["uid"], "generation": meta.get("generation", 1)},
                     "spec": obj["spec"]},
            "revision": 1})
    return name


def apply_instancetype(spec: dict, instancetype) -> None:
    if not instancetype:
        return
    domain = spec.setdefault("domain", {})
    guest_cpu = instancetype["spec"]["cpu"]["guest"]
    domain["cpu"] = {"sockets": guest_cpu, "cores": 1, "threads": 1}
    domain["memory"] = {"guest": instancetype["spec"]["memory"]["guest"]}


def apply_preference(spec: dict, preference) -> None:
    if not preference:
        return
    pspec = preference.get("spec") or {}
    devices = pspec.get("devices") or {}
    domain = spec.setdefault("domain", {})
    domain_devices = domain.setdefault("devices", {})
    for disk in domain_devices.get("disks") or []:
        if not any(k in disk for k in ("disk", "cdrom", "lun")):
            disk["disk"] = {}
        if "disk" in disk and not disk["disk"].get("bus") and devices.get("preferredDiskBus"):
            disk["disk"]["bus"] = devices["preferredDiskBus"]
    for interface in domain_devices.get("interfaces") or []:
        if not interface.get("model") and devices.get("preferredInterfaceModel"):
            interface["model"] = devices["preferredInterfaceModel"]
    firmware = pspec.get("firmware") or {}
    if firmware.get("preferredUseEfi") and "bootloader" not in (domain.get("firmware") or {}):
        domain.setdefault("firmware", {})["bootloader"] = {
            "efi": {"secureBoot": bool(firmware.get("preferredUseSecureBoot"))}}
    if firmware.get("preferredUseSecureBoot"):
        domain.setdefault("features", {}).setdefault("smm", {})
    requirements = pspec.get("requirements") or {}
    if not (domain.get("memory") or {}).get("guest") and not \
            ((domain.get("resources") or {}).get("requests") or {}).get("memory") and \
            (requirements.get("memory") or {}).get("guest"):
        domain["memory"] = {"guest": requirements["memory"]["guest"]}


def set_default_volume_disks(spec: dict) -> None:
    """util.SetDefaultVolumeDisk: a volume with neither disk nor filesystem gets a disk of its name."""
    devices = spec.setdefault("domain", {}).setdefault("devices", {})
    named = {d.get("name") for d in devices.get("disks") or []} | \
        {f.get("name") for f in devices.get("filesystems") or []}
    for volume in spec.get("volumes") or []:
        if volume.get("name") not in named:
            devices.setdefault("disks", []).append({"name": volume["name"]})


def set_default_network_interface(spec: dict, kv) -> None:
    """vmispec.SetDefaultNetworkInterface: the pod network, when no network and no interface is given."""
    devices = spec.setdefault("domain", {}).setdefault("devices", {})
    if devices.get("autoattachPodInterface") is False or spec.get("networks") or devices.get("interfaces"):
        return
    network = (((kv or {}).get("spec") or {}).get("configuration") or {}).get("network") or {}
    devices["interfaces"] = [{"name": "default", (network.get("defaultNetworkInterface") or "bridge"): {}}]
    spec["networks"] = [{"name": "default", "pod": {}}]


def set_default_disk_buses(spec: dict) -> None:
    """SetObjectDefaults (a disk without target is a disk) and setDefaultAmd64DisksBus (SATA)."""
    for disk in ((spec.get("domain") or {}).get("devices") or {}).get("disks") or []:
        if not any(k in disk for k in ("disk", "cdrom", "lun")):
            disk["disk"] = {}
        for kind in ("disk", "cdrom", "lun"):
            if kind in disk and not (disk[kind] or {}).get("bus"):
                disk[kind] = {**(disk[kind] or {}), "bus": "sata"}


def build_vmi(api, vm: dict, instancetype, preference) -> dict:
    """setupVMIFromVM, the instancetype and preference, then the VMI mutator's defaults."""
    template = copy.deepcopy((vm["spec"].get("template")) or {})
    spec = template.get("spec") or {}
    set_default_volume_disks(spec)
    set_default_network_interface(spec, kubevirt(api))
    apply_instancetype(spec, instancetype)
    apply_preference(spec, preference)
    set_default_disk_buses(spec)
    domain = spec.setdefault("domain", {})
    domain.setdefault("firmware", {}).setdefault(
        "uuid", str(uuid.uuid5(FIRMWARE_UUID_NAMESPACE, vm["metadata"]["name"])))
    domain.setdefault("machine", {}).setdefault("type", "pc-q35-rhel9.6.0")
    spec.setdefault("terminationGracePeriodSeconds", 180)
    spec.setdefault("architecture", "amd64")
    meta = template.get("metadata") or {}
    labels = dict(meta.get("labels") or {})
    annotations = dict(meta.get("annotations") or {})
    annotations.update({"kubevirt.io/latest-observed-api-version": "v1",
                        "kubevirt.io/storage-observed-api-version": "v1",
                        "kubevirt.io/vm-generation": str(vm["metadata"].get("generation", 1))})
    return {"apiVersion": VMI[0], "kind": "VirtualMachineInstance",
            "metadata": {"name": vm["metadata"]["name"], "namespace": vm["metadata"]["namespace"],
                         "labels": labels, "annotations": annotations,
                         "ownerReferences": [owner_reference(vm)], "finalizers": [FINALIZER]},
            "spec": spec}


# --- volumes ----------------------------------------------------------------------------------------

def _template_volumes(vm: dict) -> list:
    return ((((vm.get("spec") or {}).get("template") or {}).get("spec") or {}).get("volumes")) or []


def ensure_data_volumes(api, vm: dict, preference) -> list:
    """Create missing DataVolumes of the templates; return [(name, DataVolume or None)]."""
    namespace = vm["metadata"]["namespace"]
    preferred = (((preference or {}).get("spec") or {}).get("volumes") or {}).get("preferredStorageClassName")
    result = []
    for template in vm["spec"].get("dataVolumeTemplates") or []:
        name = template["metadata"]["name"]
        dv = api.get(*DV, name, namespace)
        if dv is None and not vm["metadata"].get("deletionTimestamp"):
            spec = copy.deepcopy(template.get("spec") or {})
            for key in ("storage", "pvc"):
                if key in spec and not spec[key].get("storageClassName") and preferred:
                    spec[key]["storageClassName"] = preferred
            meta = template.get("metadata") or {}
            dv = api.create_if_absent({
                "apiVersion": DV[0], "kind": "DataVolume",
                "metadata": {"name": name, "namespace": namespace, "labels": dict(meta.get("labels") or {}),
                             "annotations": dict(meta.get("annotations") or {}),
                             "ownerReferences": [owner_reference(vm)]},
                "spec": spec})
        elif dv is not None and not any(r.get("controller") for r in dv["metadata"].get("ownerReferences") or []):
            dv = api.patch(dv, {"metadata": {"ownerReferences": [owner_reference(vm)]}}, guarded=True)  # adopt
        result.append((name, dv))
    return result


def volume_snapshot_statuses(api, vm: dict) -> list:
    namespace = vm["metadata"]["namespace"]
    statuses = []
    for volume in _template_volumes(vm):
        name = volume["name"]
        if not (volume.get("persistentVolumeClaim") or volume.get("dataVolume") or volume.get("memoryDump")):
            statuses.append({"name": name, "enabled": False,
                             "reason": f"Snapshot is not supported for this volumeSource type [{name}]"})
            continue
        storage_class = None
        if volume.get("dataVolume"):
            dv = api.get(*DV, volume["dataVolume"]["name"], namespace)
            storage_class = (((dv or {}).get("spec") or {}).get("pvc") or {}).get("storageClassName")
            if not storage_class:
                for template in vm["spec"].get("dataVolumeTemplates") or []:
                    if template["metadata"]["name"] == volume["dataVolume"]["name"]:
                        storage_class = ((template.get("spec") or {}).get("pvc") or {}).get("storageClassName")
        if not storage_class:
            claim = volume_claim(volume) or (volume.get("memoryDump") or {}).get("claimName")
            pvc = api.get(*PVC, claim, namespace)
            if pvc is None:
                statuses.append({"name": name, "enabled": False, "reason": "PVC not found"})
                continue
            storage_class = (pvc.get("spec") or {}).get("storageClassName") or ""
        snapshot_class, error = volume_snapshot_class(api, storage_class) if storage_class else ("", None)
        if error:
            statuses.append({"name": name, "enabled": False, "reason": error})
        elif not snapshot_class:
            statuses.append({"name": name, "enabled": False,
                             "reason": "No VolumeSnapshotClass: Volume snapshots are not configured for this "
                                       f"StorageClass [{storage_class}] [{name}]"})
        else:
            statuses.append({"name": name, "enabled": True})
    return statuses


def missing_claims(api, vm: dict) -> list:
    namespace = vm["metadata"]["namespace"]
    return [v["persistentVolumeClaim"]["claimName"] for v in _template_volumes(vm)
            if v.get("persistentVolumeClaim") and api.get(*PVC, v["persistentVolumeClaim"]["claimName"],
                                                          namespace) is None]


# --- status -----------------------------------------------------------------------------------------

def printable_status(vm, vmi, dvs, pvcs_missing, should_run) -> str:
    if vm["metadata"].get("deletionTimestamp"):
        return "Terminating"
    phase = ((vmi or {}).get("status") or {}).get("phase")
    if vmi is not None and vmi["metadata"].get("deletionTimestamp"):
        return "Stopping"
    migration = ((vmi or {}).get("status") or {}).get("migrationState") or {}
    if vmi is not None and phase == "Running" and migration and not migration.get("completed") \
            and not migration.get("failed"):
        return "Migrating"
    if phase == "Running":
        return "Running"
    phases = [((dv or {}).get("status") or {}).get("phase") for _, dv in dvs]
    if any(p == "Failed" for p in phases):
        return "DataVolumeError"
    if any(p not in DV_READY for p in phases):
        return "Provisioning"
    if vmi is not None and phase not in FINAL:
        return "Starting"
    if pvcs_missing and should_run:
        return "ErrorPvcNotFound"
    return "Stopped"


def _vm_conditions(vm, vmi, dvs) -> list:
    conditions = (vm.get("status") or {}).get("conditions") or []
    if vmi is None or ((vmi.get("status") or {}).get("phase") in FINAL):
        conditions = set_condition(conditions, "Ready", "False", "VMINotExists", "VMI does not exist", probe=True)
        for type_ in ("LiveMigratable", "StorageLiveMigratable", "AgentConnected", "Paused", "Synchronized"):
            conditions = remove_condition(conditions, type_)
    else:
        ready = condition(vmi, "Ready") or {"status": "False", "reason": "", "message": ""}
        conditions = set_condition(conditions, "Ready", ready.get("status", "False"), ready.get("reason", ""),
                                   ready.get("message", ""), probe=True)
        for type_ in ("LiveMigratable", "StorageLiveMigratable", "AgentConnected", "Paused", "Synchronized"):
            found = condition(vmi, type_)
            if found:
                conditions = set_condition(conditions, type_, found["status"], found.get("reason", ""),
                                           found.get("message", ""), probe=True)
            else:
                conditions = remove_condition(conditions, type_)
    if dvs:
        if all(((dv or {}).get("status") or {}).get("phase") in DV_READY for _, dv in dvs):
            conditions = set_condition(conditions, "DataVolumesReady", "True", "AllDVsReady",
                                       "All of the VMI's DVs are bound and ready", probe=True)
        else:
            conditions = set_condition(conditions, "DataVolumesReady", "False", "NotAllDVsReady",
                                       "Not all of the VMI's DVs are ready", probe=True)
    return conditions


def _write_status(api, vm: dict, new: dict) -> None:
    old = vm.get("status") or {}
    comparable = lambda s: {k: (v if k != "conditions" else  # noqa: E731
                                [(c.get("type"), c.get("status"), c.get("reason"), c.get("message")) for c in v or []])
                            for k, v in s.items()}
    if comparable({k: old.get(k) for k in new}) != comparable(new):
        api.patch_status(vm, new, guarded=True)


# --- reconcile --------------------------------------------------------------------------------------

@dataclass
class _Sync:
    """What one reconcile of a VirtualMachine has read and decided so far."""
    vm: dict
    vmi: Optional[dict]
    strategy: str
    instancetype: Optional[dict] = None
    preference: Optional[dict] = None
    dvs: list = field(default_factory=list)
    pvcs_missing: list = field(default_factory=list)
    requests: list = field(default_factory=list)
    start_requested: bool = False
    should_run: bool = False

    @property
    def name(self) -> str:
        return self.vm["metadata"]["name"]

    @property
    def namespace(self) -> str:
        return self.vm["metadata"]["namespace"]

    @property
    def status(self) -> dict:
        return self.vm.get("status") or {}

    @property
    def vmi_phase(self) -> Optional[str]:
        return ((self.vmi or {}).get("status") or {}).get("phase")

    @property
    def final(self) -> bool:
        return self.vmi_phase in FINAL


def reconcile_vm(api, vm: dict):
    vmi = api.get(*VMI, vm["metadata"]["name"], vm["metadata"]["namespace"])
    if vmi is not None and not owned_by(vmi, vm):
        vmi = None  # a VMI of that name that this VM does not control is not its VMI
    return run_steps((_finalize_if_deleted, _wait_for_kubevirt, _protect, _prepare_volumes, _take_state_change_request,
                      _start_or_stop, _report_status), api, _Sync(vm, vmi, run_strategy(vm)))


def _finalize_if_deleted(api, v: _Sync):
    """A deleted VM takes its VMI with it, then lets go."""
    if not v.vm["metadata"].get("deletionTimestamp"):
        return CONTINUE
    if v.vmi is not None:
        if not v.vmi["metadata"].get("deletionTimestamp"):
            api.delete(*VMI, v.name, v.namespace)
        _write_status(api, v.vm, {"printableStatus": "Terminating"})
        return step_delay()
    api.remove_finalizer(v.vm, FINALIZER)
    return None


def _wait_for_kubevirt(api, v: _Sync):
    return 10.0 if kubevirt(api) is None else CONTINUE  # no virt-controller runs


def _protect(api, v: _Sync):
    v.vm = api.add_finalizer(v.vm, FINALIZER)
    return CONTINUE


def _prepare_volumes(api, v: _Sync):
    """Resolve the instancetype and preference, and create the VM's DataVolumes."""
    v.instancetype = resolve(api, v.vm, "instancetype")
    v.preference = resolve(api, v.vm, "preference")
    v.dvs = ensure_data_volumes(api, v.vm, v.preference)
    v.pvcs_missing = missing_claims(api, v.vm)
    return CONTINUE


def _take_state_change_request(api, v: _Sync):
    """The first of status.stateChangeRequests (what the start/stop/restart subresources ask for)."""
    v.requests = list(v.status.get("stateChangeRequests") or [])
    if not v.requests:
        return CONTINUE
    request = v.requests[0]
    if request.get("action") == "Stop":
        if v.vmi is not None and request.get("uid") in (None, v.vmi["metadata"]["uid"]):
            if not v.vmi["metadata"].get("deletionTimestamp"):
                api.delete(*VMI, v.name, v.namespace)
            return step_delay()  # the Stop is done once the VMI is gone
        v.requests = v.requests[1:]
    elif request.get("action") == "Start":
        v.start_requested = v.vmi is None or v.final
        if v.vmi is not None and not v.final:
            v.requests = v.requests[1:]
    if v.requests != (v.status.get("stateChangeRequests") or []):
        api.patch_status(v.vm, {"stateChangeRequests": v.requests or None}, guarded=True)
        return step_delay()
    return CONTINUE


def _start_or_stop(api, v: _Sync):
    """The run strategy decides: delete a VMI that should not run (or must restart), create one that should."""
    v.should_run = v.start_requested or {
        "Always": True, "RerunOnFailure": not (v.final and v.vmi_phase == "Succeeded"), "Once": v.vmi is None,
        "Manual": False, "Halted": False, "WaitAsReceiver": False}.get(v.strategy, False)
    if v.vmi is not None and not v.vmi["metadata"].get("deletionTimestamp"):
        if v.strategy == "Halted":
            api.delete(*VMI, v.name, v.namespace)
        elif v.final and (v.strategy == "Always" or (v.strategy == "RerunOnFailure" and v.vmi_phase == "Failed")):
            api.delete(*VMI, v.name, v.namespace)  # restart: the next VMI comes once this one is gone
        return CONTINUE
    dvs_ready = all(((dv or {}).get("status") or {}).get("phase") in DV_READY for _, dv in v.dvs)
    if v.vmi is None and v.should_run and not v.status.get("restoreInProgress") \
            and not v.status.get("snapshotInProgress") and dvs_ready and not v.pvcs_missing:
        created = api.create_if_absent(build_vmi(api, v.vm, v.instancetype, v.preference))
        if created is not None:
            v.vmi = created
            api.event(v.vm, "Normal", "SuccessfulCreate", f"Started the virtual machine by creating the new "
                      f"virtual machine instance {v.name}")
        if v.start_requested and v.requests:
            api.patch_status(v.vm, {"stateChangeRequests": v.requests[1:] or None}, guarded=True)
    return CONTINUE


def _report_status(api, v: _Sync):
    vmi, final = v.vmi, v.final
    new = {
        "printableStatus": printable_status(v.vm, vmi, v.dvs, v.pvcs_missing, v.should_run),
        "created": vmi is not None and not final,
        "ready": vmi is not None and not final and condition_true(vmi, "Ready"),
        "conditions": _vm_conditions(v.vm, vmi, v.dvs),
        "runStrategy": v.strategy,
        "observedGeneration": v.vm["metadata"].get("generation"),
        "desiredGeneration": v.vm["metadata"].get("generation"),
        "volumeSnapshotStatuses": volume_snapshot_statuses(api, v.vm),
    }
    for kind, found in (("instancetypeRef", v.instancetype), ("preferenceRef", v.preference)):
        if found:
            new[kind] = {"name": found["metadata"]["name"], "kind": found["kind"],
                         "controllerRevisionRef": {"name": _revision(api, v.vm, found)}}
    _write_status(api, v.vm, new)
    settled = new["printableStatus"] in ("Running", "Stopped") and (vmi is None or v.vmi_phase == "Running")
    if settled:
        return None
    return 1.0 if new["printableStatus"] == "Provisioning" else step_delay()


def setup(manager, webhooks):
    api = manager.api

    def all_vms(_obj):
        try:
            return [(v["metadata"]["namespace"], v["metadata"]["name"]) for v in api.list(*VM)]
        except Exception:
            return []

    def vm_of_vmi(obj):
        return [(obj["metadata"]["namespace"], ref["name"]) for ref in obj["metadata"].get("ownerReferences") or []
                if ref["kind"] == "VirtualMachine"]

    def vms_of_pvc(obj):
        namespace = obj["metadata"]["namespace"]
        try:
            return [(namespace, v["metadata"]["name"]) for v in api.list(*VM, namespace=namespace)
                    if any(volume_claim(vol) == obj["metadata"]["name"] for vol in _template_volumes(v))]
        except Exception:
            return []

    manager.add(Controller("virt-controller-vm", *VM, reconcile_vm, resync_seconds=30, watches=[
        Watch(*VMI, vm_of_vmi), Watch(*DV, owner_keys("VirtualMachine")), Watch(*PVC, vms_of_pvc),
        Watch("snapshot.storage.k8s.io/v1", "VolumeSnapshotClass", all_vms),
        Watch("storage.k8s.io/v1", "StorageClass", all_vms)]))
    log.info("kubevirt: VM controller loaded")

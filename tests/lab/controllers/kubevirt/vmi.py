"""Simulated virt-controller (VMI part) and virt-handler: from a VMI to a "running" guest.

There is no kubelet and no scheduler in the lab, so this controller also schedules, with
``launcher``: it picks a worker for the virt-launcher pod (nodes labelled
`kubevirt.io/schedulable=true`, not cordoned, matching the VMI's nodeSelector / required node
affinity / tolerations), creates the pod with `spec.nodeName` set and writes the pod's status
(Running, Ready, podIP) itself.

VMI phases: Pending -> Scheduling (launcher pod created; unbound WaitForFirstConsumer PVCs get
`volume.kubernetes.io/selected-node`) -> Scheduled (pod running, volumes bound, DataVolumes
Succeeded) -> Running (Ready, LiveMigratable, interfaces, volumeStatus). `LiveMigratable` is
False with reason DisksNotLiveMigratable when a disk's PVC is not ReadWriteMany (or
InterfaceNotLiveMigratable for a bridge on the pod network), as virt-handler reports it.
Deleting a VMI shuts it down: its pods go, the phase becomes Succeeded, finalizers go.
"""

import hashlib

from lab.controllers.conditions import condition, remove_condition, set_condition
from lab.controllers.kubevirt import network as net
from lab.controllers.kubevirt.cluster_config import kubevirt
from lab.controllers.kubevirt.launcher import (LAUNCHER_IMAGE, active_pod, candidate_nodes, complete_pod,
                                               ensure_launcher_pod, guest_memory, launcher_pods, pick_node,
                                               pod_constraints, pod_ip, run_pod, unschedulable_message)
from lab.controllers.kubevirt.volumes import claims, vmi_volumes, volume_claim
from lab.controllers.objects import format_mib
from lab.controllers.runtime import Controller, Watch, log, now, owner_keys, step_delay

VMI = ("kubevirt.io/v1", "VirtualMachineInstance")
DV = ("cdi.kubevirt.io/v1beta1", "DataVolume")
PVC = ("v1", "PersistentVolumeClaim")
VMI_FINALIZER = "foregroundDeleteVirtualMachine"
VM_FINALIZER = "kubevirt.io/virtualMachineControllerFinalize"
SELECTED_NODE = "volume.kubernetes.io/selected-node"
FINAL = ("Succeeded", "Failed")
DV_READY = ("Succeeded", "WaitForFirstConsumer", "PendingPopulation")


# --- small helpers ----------------------------------------------------------------------------

def transition(status: dict, phase: str) -> list:
    stamps = list(status.get("phaseTransitionTimestamps") or [])
    stamps.append({"phase": phase, "phaseTransitionTimestamp": now()})
    return stamps


def mac_address(vmi_name: str, namespace: str) -> str:
    digest = hashlib.sha256(f"{namespace}/{vmi_name}".encode()).digest()
    return "02:" + ":".join(f"{b:02x}" for b in digest[:5])


def interface_mac(vmi: dict, interface: str) -> str:
    """The MAC libvirt gives an interface without macAddress: the first keeps the lab's historic one."""
    interfaces = (((vmi.get("spec") or {}).get("domain") or {}).get("devices") or {}).get("interfaces") or []
    if interfaces and interfaces[0]["name"] == interface:
        return mac_address(vmi["metadata"]["name"], vmi["metadata"]["namespace"])
    return mac_address(f"{vmi['metadata']['name']}/{interface}", vmi["metadata"]["namespace"])


# --- what virt-handler reports for a running VMI --------------------------------------------------

NOT_SHARED = ("cannot migrate VMI: PVC {} is not shared, live migration requires that all PVCs must be shared "
              "(using ReadWriteMany access mode)")
BRIDGE = ("cannot migrate VMI which does not use masquerade, bridge with "
          "kubevirt.io/allow-pod-bridge-network-live-migration VM annotation or a migratable plugin to connect "
          "to the pod network")


def live_migratable(api, vmi: dict) -> tuple:
    """(status, reason, message) of the LiveMigratable condition."""
    namespace = vmi["metadata"]["namespace"]
    for _, claim, _ in claims(vmi):
        pvc = api.get(*PVC, claim, namespace)
        modes = ((pvc or {}).get("status") or {}).get("accessModes") or ((pvc or {}).get("spec") or {}).get(
            "accessModes") or []
        if "ReadWriteMany" not in modes:
            return "False", "DisksNotLiveMigratable", NOT_SHARED.format(claim)
    spec = vmi.get("spec") or {}
    pod_networks = {n["name"] for n in spec.get("networks") or [] if "pod" in n}
    annotations = vmi["metadata"].get("annotations") or {}
    for interface in ((spec.get("domain") or {}).get("devices") or {}).get("interfaces") or []:
        if interface.get("name") in pod_networks and "bridge" in interface and \
                "kubevirt.io/allow-pod-bridge-network-live-migration" not in annotations:
            return "False", "InterfaceNotLiveMigratable", BRIDGE
    return "True", "", ""


def _targets(vmi: dict) -> dict:
    out, counters = {}, {}
    for disk in (((vmi.get("spec") or {}).get("domain") or {}).get("devices") or {}).get("disks") or []:
        kind = next((k for k in ("disk", "lun", "cdrom") if k in disk), "disk")
        bus = (disk.get(kind) or {}).get("bus") or ("virtio" if kind == "disk" else "sata")
        prefix = "vd" if bus == "virtio" else "sd"
        index = counters.get(prefix, 0)
        counters[prefix] = index + 1
        out[disk["name"]] = prefix + "abcdefghijklmnopqrstuvwxyz"[index]
    return out


def volume_status(api, vmi: dict) -> list:
    namespace = vmi["metadata"]["namespace"]
    targets = _targets(vmi)
    out = []
    for volume in vmi_volumes(vmi):
        entry = {"name": volume["name"], "target": targets.get(volume["name"], "")}
        claim = volume_claim(volume)
        if claim:
            pvc = api.get(*PVC, claim, namespace) or {}
            spec, status = pvc.get("spec") or {}, pvc.get("status") or {}
            mode = spec.get("volumeMode", "Filesystem")
            entry["persistentVolumeClaimInfo"] = {
                "claimName": claim, "accessModes": status.get("accessModes") or spec.get("accessModes") or [],
                "volumeMode": mode, "capacity": status.get("capacity") or {},
                "requests": (spec.get("resources") or {}).get("requests") or {},
                "filesystemOverhead": "0" if mode == "Block" else "0.055"}
        out.append(entry)
    return out


def running_status(api, vmi: dict, pod: dict) -> dict:
    spec = vmi.get("spec") or {}
    domain = spec.get("domain") or {}
    ip = (pod.get("status") or {}).get("podIP") or pod_ip(pod["metadata"]["name"])
    interfaces = net.interface_statuses(api, vmi, pod, ip, lambda interface: interface_mac(vmi, interface))
    memory = guest_memory(vmi)
    cpu = domain.get("cpu") or {}
    return {
        "interfaces": interfaces,
        "volumeStatus": volume_status(api, vmi),
        "launcherContainerImageVersion": LAUNCHER_IMAGE,
        "qosClass": "Burstable",
        "guestOSInfo": {},
        "machine": {"type": (domain.get("machine") or {}).get("type", "pc-q35-rhel9.6.0")},
        "memory": {"guestAtBoot": format_mib(memory), "guestCurrent": format_mib(memory),
                   "guestRequested": format_mib(memory)},
        "currentCPUTopology": {"sockets": int(cpu.get("sockets") or 1), "cores": int(cpu.get("cores") or 1),
                               "threads": int(cpu.get("threads") or 1)},
        "selinuxContext": "none",
        "runtimeUser": 107,
    }


# --- reconcile ----------------------------------------------------------------------------------

def _finalize(api, vmi: dict):
    status = vmi.get("status") or {}
    pods = [p for p in launcher_pods(api, vmi)]
    for pod in pods:
        if (pod.get("status") or {}).get("phase") == "Running":
            complete_pod(api, pod)
        api.delete("v1", "Pod", pod["metadata"]["name"], pod["metadata"]["namespace"], grace_period=0)
    if pods:
        return step_delay()
    if status.get("phase") not in FINAL:
        api.patch_status(vmi, {"phase": "Succeeded", "phaseTransitionTimestamps": transition(status, "Succeeded"),
                               "conditions": set_condition(status.get("conditions"), "Ready", "False",
                                                           "PodTerminating", "", probe=True)}, guarded=True)
        return 0.05
    finalizers = [f for f in vmi["metadata"].get("finalizers") or [] if f not in (VMI_FINALIZER, VM_FINALIZER)]
    if finalizers != (vmi["metadata"].get("finalizers") or []):
        api.patch(vmi, {"metadata": {"finalizers": finalizers}}, guarded=True)
    return None


def _volumes_ready(api, vmi: dict) -> tuple:
    """(ready, reason) for starting: every PVC exists; every DataVolume is usable."""
    namespace = vmi["metadata"]["namespace"]
    for _, claim, is_dv in claims(vmi):
        if is_dv:
            dv = api.get(*DV, claim, namespace)
            if dv is None:
                return False, f"DataVolume {claim} does not exist"
            if ((dv.get("status") or {}).get("phase")) not in DV_READY:
                return False, f"DataVolume {claim} is not ready"
        elif api.get(*PVC, claim, namespace) is None:
            return False, f"PVC {namespace}/{claim} does not exist, waiting for it to appear"
    return True, ""


def _bound(api, vmi: dict, node: str) -> bool:
    """True once every PVC is Bound; asks WaitForFirstConsumer classes to provision on ``node``."""
    namespace = vmi["metadata"]["namespace"]
    bound = True
    for _, claim, is_dv in claims(vmi):
        pvc = api.get(*PVC, claim, namespace)
        if pvc is None:
            bound = False
            continue
        if (pvc.get("status") or {}).get("phase") != "Bound":
            bound = False
            class_name = (pvc.get("spec") or {}).get("storageClassName")
            storage_class = api.get("storage.k8s.io/v1", "StorageClass", class_name) if class_name else None
            if (storage_class or {}).get("volumeBindingMode") == "WaitForFirstConsumer" and \
                    SELECTED_NODE not in (pvc["metadata"].get("annotations") or {}):
                api.patch(pvc, {"metadata": {"annotations": {SELECTED_NODE: node}}})
        if is_dv:
            dv = api.get(*DV, claim, namespace)
            if ((dv or {}).get("status") or {}).get("phase") != "Succeeded":
                bound = False
    return bound


def _sync_failed(api, vmi: dict, conditions: list, reason: str, message: str) -> float:
    """CheckFailure: the sync error as Synchronized=False; virt-controller requeues with backoff."""
    conditions = set_condition(conditions, "Synchronized", "False", reason, message)
    if conditions != (vmi.get("status") or {}).get("conditions"):
        api.patch_status(vmi, {"conditions": conditions}, guarded=True)
    return 2.0


def reconcile_vmi(api, vmi: dict):
    """virt-controller's VMI loop: each phase has its step (Pending → Scheduling → Scheduled → Running)."""
    meta = vmi["metadata"]
    if meta.get("deletionTimestamp"):
        return _finalize(api, vmi)
    if kubevirt(api) is None:
        return 10.0
    phase = (vmi.get("status") or {}).get("phase") or ""
    if phase in FINAL:
        return None
    if VMI_FINALIZER not in (meta.get("finalizers") or []):
        api.add_finalizer(vmi, VMI_FINALIZER)
        return 0.05
    step = {"": _accept, "Pending": _schedule, "Scheduling": _start_pod, "Scheduled": _report_running,
            "Running": _watch_running}.get(phase)
    return step(api, vmi) if step else None


def _accept(api, vmi: dict):
    status = vmi.get("status") or {}
    conditions = set_condition(status.get("conditions"), "Ready", "False", "GuestNotRunning",
                               "Guest VM is not reported as running", probe=True)
    api.patch_status(vmi, {"phase": "Pending", "phaseTransitionTimestamps": transition(status, "Pending"),
                           "conditions": conditions, "guestOSInfo": {}, "qosClass": "Burstable"}, guarded=True)
    return step_delay()


def _schedule(api, vmi: dict):
    """Pending: once the volumes are usable and the networks exist, create the launcher pod on a node."""
    status = vmi.get("status") or {}
    ready, reason = _volumes_ready(api, vmi)
    if not ready:
        conditions = set_condition(status.get("conditions"), "DataVolumesReady", "False",
                                   "NotAllDataVolumesReady", reason, probe=True)
        if conditions != status.get("conditions"):
            api.patch_status(vmi, {"conditions": conditions}, guarded=True)
        return 1.0
    conditions = remove_condition(status.get("conditions"), "DataVolumesReady")
    render_error = net.missing_attachment_error(api, vmi)
    if render_error:
        return _sync_failed(api, vmi, conditions, net.FAILED_CREATE, render_error)
    conditions = remove_condition(conditions, "Synchronized")
    constraints = pod_constraints(vmi)
    nodes = candidate_nodes(api, constraints)
    node = pick_node(api, nodes, constraints.get("affinity"))
    if node is None:
        total = len(api.list("v1", "Node"))
        conditions = set_condition(conditions, "PodScheduled", "False", "Unschedulable",
                                   unschedulable_message(total), probe=True)
        if conditions != status.get("conditions"):
            api.patch_status(vmi, {"conditions": conditions}, guarded=True)
        return 2.0
    pod = ensure_launcher_pod(api, vmi, node["metadata"]["name"])
    conditions = remove_condition(conditions, "PodScheduled")
    api.patch_status(vmi, {"phase": "Scheduling", "conditions": conditions,
                           "phaseTransitionTimestamps": transition(status, "Scheduling"),
                           "activePods": {pod["metadata"]["uid"]: node["metadata"]["name"]}}, guarded=True)
    api.event(vmi, "Normal", "SuccessfulCreate", f"Created virtual machine pod {pod['metadata']['name']}")
    return step_delay()


def _start_pod(api, vmi: dict):
    """Scheduling: once the claims are bound, the pod runs and the VMI is on its node."""
    status = vmi.get("status") or {}
    pods = [p for p in launcher_pods(api, vmi) if (p.get("status") or {}).get("phase") not in FINAL
            and not p["metadata"].get("deletionTimestamp")
            and "kubevirt.io/migrationJobUID" not in (p["metadata"].get("labels") or {})]
    if not pods:
        api.patch_status(vmi, {"phase": "Pending"}, guarded=True)
        return step_delay()
    pod = pods[0]
    node = pod["spec"]["nodeName"]
    if not _bound(api, vmi, node):
        return 1.0
    pod = run_pod(api, pod)
    labels = {**(vmi["metadata"].get("labels") or {}), "kubevirt.io/nodeName": node}
    vmi = api.patch(vmi, {"metadata": {"labels": labels}}, guarded=True)
    api.patch_status(vmi, {"phase": "Scheduled", "nodeName": node,
                           "phaseTransitionTimestamps": transition(status, "Scheduled"),
                           "activePods": {pod["metadata"]["uid"]: node}}, guarded=True)
    return step_delay()


def _report_running(api, vmi: dict):
    """Scheduled: the guest runs; report it Ready, with what the domain looks like."""
    status = vmi.get("status") or {}
    pod = active_pod(api, vmi)
    if pod is None:
        api.patch_status(vmi, {"phase": "Failed", "reason": "PodDeleted",
                               "phaseTransitionTimestamps": transition(status, "Failed")}, guarded=True)
        return None
    migratable = live_migratable(api, vmi)
    conditions = set_condition(status.get("conditions"), "Ready", "True", "", "", probe=True)
    conditions = set_condition(conditions, "LiveMigratable", *migratable, probe=True)
    conditions = set_condition(conditions, "StorageLiveMigratable", "True", "", "", probe=True)
    new = {"phase": "Running", "conditions": conditions,
           "phaseTransitionTimestamps": transition(status, "Running"),
           "migrationMethod": "LiveMigration" if migratable[0] == "True" else "BlockMigration",
           **running_status(api, vmi, pod)}
    api.patch_status(vmi, new, guarded=True)
    api.event(vmi, "Normal", "Started", "VirtualMachineInstance started.")
    return None


def _watch_running(api, vmi: dict):
    """Running: fail when the pod is gone (outside a migration); keep LiveMigratable current."""
    status = vmi.get("status") or {}
    migration = status.get("migrationState") or {}
    in_flight = migration and not migration.get("completed") and not migration.get("failed")
    pod = active_pod(api, vmi)
    if pod is None and not in_flight:
        # virt-controller: a running VMI whose pod no longer exists has failed.
        api.patch_status(vmi, {"phase": "Failed",
                               "phaseTransitionTimestamps": transition(status, "Failed"),
                               "conditions": set_condition(status.get("conditions"), "Ready", "False",
                                                           "PodNotExists", "", probe=True)}, guarded=True)
        return None
    migratable = live_migratable(api, vmi)
    current = condition(vmi, "LiveMigratable") or {}
    if (current.get("status"), current.get("reason", ""), current.get("message", "")) != migratable:
        api.patch_status(vmi, {"conditions": set_condition(status.get("conditions"), "LiveMigratable",
                                                           *migratable, probe=True)}, guarded=True)
    return None


def setup(manager, webhooks):
    manager.add(Controller("virt-controller-vmi", *VMI, reconcile_vmi, resync_seconds=30,
                           watches=[Watch("v1", "Pod", owner_keys("VirtualMachineInstance"))]))
    log.info("kubevirt: VMI controller loaded")

"""Simulated live migration (virt-controller's migration and evacuation controllers, virt-handler).

VirtualMachineInstanceMigration: Pending -> Scheduling (target virt-launcher pod created on
another schedulable worker) -> Scheduled (target pod running) -> PreparingTarget ->
TargetReady -> Running (memory copy) -> Succeeded: the VMI then runs on the target node
(new active pod, its IP on the interfaces), the source pod is Completed, and
`status.migrationState` (sourceNode, targetNode, sourcePod, targetPod, startTimestamp,
endTimestamp, completed, mode) is filled on both the VMI and the migration, with
`phaseTransitionTimestamps` on the migration. Every step is derived from what the API server
holds, so a restart of the controllers mid-flight resumes where the migration stood.

The KubeVirt CR's migration configuration (from HCO's liveMigrationConfig) is honoured:
parallelMigrationsPerCluster / parallelOutboundMigrationsPerNode hold migrations in Pending;
the copy time is the guest memory over bandwidthPerMigration (unlimited = a 10 Gbit/s
link), and a copy that would take longer than completionTimeoutPerGiB x GiB fails the
migration as virt-handler aborts it. The lab does not wait the simulated copy time.

Evacuation: a VMI whose `status.evacuationNodeName` (set by the eviction webhook) is its own
node gets a migration `kubevirt-evacuation-*`; a successful migration clears the mark.
Deleting a migration that has not finished aborts it.
"""

import threading
import time

from lab.controllers import virt_common as vc
from lab.controllers.kubevirt_vmi import (active_pod, candidate_nodes, complete_pod, ensure_launcher_pod,
                                          launcher_pods, pick_node, pod_constraints, run_pod, running_status)
from lab.controllers.runtime import Controller, Watch, log, now, step_delay

VMI = ("kubevirt.io/v1", "VirtualMachineInstance")
VMIM = ("kubevirt.io/v1", "VirtualMachineInstanceMigration")
FINALIZER = "kubevirt.io/migrationJobFinalizer"
FINAL = ("Succeeded", "Failed")
IN_FLIGHT = ("Scheduling", "Scheduled", "PreparingTarget", "TargetReady", "Running")
LINK_MIB_PER_SECOND = 10_000 / 8 * 1_000_000 / 2**20  # 10 Gbit/s


def _stamps(status: dict, phase: str) -> list:
    stamps = list(status.get("phaseTransitionTimestamps") or [])
    stamps.append({"phase": phase, "phaseTransitionTimestamp": now()})
    return stamps


def _set_phase(api, vmim: dict, phase: str, **fields):
    status = vmim.get("status") or {}
    return vc.update_status(api, vmim, {"phase": phase, "phaseTransitionTimestamps": _stamps(status, phase),
                                        **fields})


def _vmi_migration_state(vmi: dict) -> dict:
    return dict((vmi.get("status") or {}).get("migrationState") or {})


def _fail(api, vmim: dict, vmi, reason: str):
    """The migration failed: the target pod goes, the VMI keeps running on its source."""
    uid = vmim["metadata"]["uid"]
    if vmi is not None:
        for pod in launcher_pods(api, vmi):
            if (pod["metadata"].get("labels") or {}).get("kubevirt.io/migrationJobUID") == uid:
                vc.delete(api, "v1", "Pod", pod["metadata"]["name"], pod["metadata"]["namespace"], grace_period=0)
        state = _vmi_migration_state(vmi)
        if state.get("migrationUid") == uid and not state.get("completed"):
            state.update(failed=True, completed=True, failureReason=reason, endTimestamp=now())
            vc.update_status(api, vmi, {"migrationState": state}, guarded=False)
            api.event(vmi, "Warning", "Migrated", f"VirtualMachineInstance migration uid {uid} failed. "
                                                  f"reason:{reason}")
    migration_state = dict((vmim.get("status") or {}).get("migrationState") or {})
    migration_state.update(failed=True, completed=True, failureReason=reason, endTimestamp=now())
    _set_phase(api, vmim, "Failed", migrationState=migration_state)
    return None


def _copy_seconds(vmi: dict, config: dict) -> float:
    memory_mib = vc.quantity(((((vmi.get("spec") or {}).get("domain") or {}).get("memory") or {}).get("guest"))
                             or "1Gi") / 2**20
    bandwidth = vc.quantity(config.get("bandwidthPerMigration") or 0) / 2**20
    return memory_mib / (bandwidth if bandwidth > 0 else LINK_MIB_PER_SECOND)


def _completion_timeout(vmi: dict, config: dict) -> float:
    memory_gib = vc.quantity(((((vmi.get("spec") or {}).get("domain") or {}).get("memory") or {}).get("guest"))
                             or "1Gi") / 2**30
    return float(config.get("completionTimeoutPerGiB") or 150) * max(memory_gib, 1.0)


def _throttled(api, vmim: dict, vmi: dict, config: dict) -> bool:
    active = [m for m in api.list(*VMIM) if ((m.get("status") or {}).get("phase")) in IN_FLIGHT
              and m["metadata"]["uid"] != vmim["metadata"]["uid"]]
    if len(active) >= int(config.get("parallelMigrationsPerCluster") or 5):
        return True
    source = (vmi.get("status") or {}).get("nodeName")
    outbound = [m for m in active
                if (((m.get("status") or {}).get("migrationState") or {}).get("sourceNode")) == source]
    return len(outbound) >= int(config.get("parallelOutboundMigrationsPerNode") or 2)


def reconcile_migration(api, vmim: dict):
    meta = vmim["metadata"]
    namespace = meta["namespace"]
    status = vmim.get("status") or {}
    phase = status.get("phase") or ""
    vmi_name = (vmim.get("spec") or {}).get("vmiName")
    vmi = api.get(*VMI, vmi_name, namespace) if vmi_name else None

    if meta.get("deletionTimestamp"):
        if phase not in FINAL and phase:
            _fail(api, vmim, vmi, "Migration aborted")  # cancel: deleting the migration aborts it
            state = _vmi_migration_state(vmi) if vmi else {}
            if vmi is not None and state.get("migrationUid") == meta["uid"]:
                state.update(abortRequested=True, abortStatus="Succeeded")
                vc.update_status(api, vmi, {"migrationState": state}, guarded=False)
        vc.remove_finalizer(api, vmim, FINALIZER)
        return None
    if phase in FINAL:
        return None
    kv = vc.kubevirt(api)
    if kv is None:
        return 10.0
    if FINALIZER not in (meta.get("finalizers") or []) or \
            (meta.get("labels") or {}).get("kubevirt.io/vmi-name") != vmi_name:
        vc.patch(api, vmim, {"metadata": {"finalizers": list(set((meta.get("finalizers") or []) + [FINALIZER])),
                                          "labels": {"kubevirt.io/vmi-name": vmi_name}}})
        return 0.05
    if phase == "":
        _set_phase(api, vmim, "Pending")
        return step_delay()
    if vmi is None or vmi["metadata"].get("deletionTimestamp") or \
            (vmi.get("status") or {}).get("phase") != "Running":
        return _fail(api, vmim, vmi, "VMI is not running" if vmi is not None else "VMI does not exist")
    config = vc.migration_config(kv)
    state = dict(status.get("migrationState") or {})
    if phase == "Pending":
        with _SCHEDULING:  # one decision at a time, so the parallel limits hold across workers
            return _schedule(api, vmim, vmi, config)
    return _advance(api, vmim, vmi, config, phase, state)


_SCHEDULING = threading.Lock()


def _schedule(api, vmim: dict, vmi: dict, config: dict):
    namespace, uid = vmim["metadata"]["namespace"], vmim["metadata"]["uid"]
    vmi_status = vmi.get("status") or {}
    if _throttled(api, vmim, vmi, config):
        return 2.0
    source = vmi_status.get("nodeName")
    constraints = pod_constraints(vmi, (vmim.get("spec") or {}).get("addedNodeSelector"))
    target = pick_node(api, candidate_nodes(api, constraints, exclude={source}), constraints.get("affinity"))
    if target is None:
        return 2.0  # the target pod would stay unschedulable
    source_pod = active_pod(api, vmi)
    pod = ensure_launcher_pod(api, vmi, target["metadata"]["name"], migration=vmim)
    state = {"migrationUid": uid, "sourceNode": source, "sourcePod": (source_pod or {}).get("metadata", {}).get(
        "name", ""), "targetPod": pod["metadata"]["name"]}
    _set_phase(api, vmim, "Scheduling", migrationState=state)
    api.event(vmi, "Normal", "SuccessfulCreate", f"Created migration target pod {namespace}/"
                                                 f"{pod['metadata']['name']} with uuid {pod['metadata']['uid']}"
                                                 f" for migration {uid}")
    return step_delay()


def _advance(api, vmim: dict, vmi: dict, config: dict, phase: str, state: dict):
    namespace, uid = vmim["metadata"]["namespace"], vmim["metadata"]["uid"]
    vmi_status = vmi.get("status") or {}
    target_pod = next((p for p in launcher_pods(api, vmi)
                       if (p["metadata"].get("labels") or {}).get("kubevirt.io/migrationJobUID") == uid), None)
    if target_pod is None or target_pod["metadata"].get("deletionTimestamp") or \
            (target_pod.get("status") or {}).get("phase") in FINAL:
        return _fail(api, vmim, vmi, "target pod is down")
    target_node = target_pod["spec"]["nodeName"]

    if phase == "Scheduling":
        target_pod = run_pod(api, target_pod)
        node = api.get("v1", "Node", target_node)
        state.update(targetNode=target_node, targetNodeAddress=vc.node_address(node) if node else "")
        _set_phase(api, vmim, "Scheduled", migrationState=state)
        return step_delay()

    if phase == "Scheduled":
        vmi_state = {**state, "migrationConfiguration": {k: config[k] for k in (
            "allowAutoConverge", "allowPostCopy", "bandwidthPerMigration", "completionTimeoutPerGiB",
            "progressTimeout")}, "mode": "PreCopy"}
        vc.update_status(api, vmi, {"migrationState": vmi_state, "migrationMethod": "LiveMigration"}, guarded=False)
        _set_phase(api, vmim, "PreparingTarget", migrationState=state)
        api.event(vmi, "Normal", "PreparingTarget", "VirtualMachineInstance Migration Target Prepared.")
        return step_delay()

    if phase == "PreparingTarget":
        state.update(targetNodeDomainDetected=True, targetNodeDomainReadyTimestamp=now())
        vmi_state = {**_vmi_migration_state(vmi), **state}
        vc.update_status(api, vmi, {"migrationState": vmi_state}, guarded=False)
        _set_phase(api, vmim, "TargetReady", migrationState=state)
        return step_delay()

    if phase == "TargetReady":
        state.update(startTimestamp=now(), mode="PreCopy")
        vmi_state = {**_vmi_migration_state(vmi), **state}
        vc.update_status(api, vmi, {"migrationState": vmi_state}, guarded=False)
        _set_phase(api, vmim, "Running", migrationState=state)
        api.event(vmi, "Normal", "Migrating", f"VirtualMachineInstance is migrating to node {target_node}.")
        return step_delay()

    if phase == "Running":
        started = state.get("startTimestamp")
        if started and time.time() < vc.parse_time(started) + max(1.0, 3 * step_delay()):
            return step_delay()  # the memory copy
        if _copy_seconds(vmi, config) > _completion_timeout(vmi, config):
            timeout = int(_completion_timeout(vmi, config))
            return _fail(api, vmim, vmi, f"Live migration is not completed after {timeout} seconds and has "
                                         "been aborted")
        # The guest runs on the target now.
        target_pod = run_pod(api, target_pod)
        source_pod = api.get("v1", "Pod", state.get("sourcePod"), namespace) if state.get("sourcePod") else None
        end = now()
        state.update(completed=True, endTimestamp=end)
        vmi_state = {**_vmi_migration_state(vmi), **state}
        labels = {**(vmi["metadata"].get("labels") or {}), "kubevirt.io/nodeName": target_node}
        patched = vc.patch(api, vmi, {"metadata": {"labels": labels}})
        if patched is None:
            return 0.05
        new_vmi_status = {"nodeName": target_node, "migrationState": vmi_state,
                          "activePods": {target_pod["metadata"]["uid"]: target_node},
                          "interfaces": running_status(api, patched, target_pod)["interfaces"]}
        if vmi_status.get("evacuationNodeName") and vmi_status["evacuationNodeName"] != target_node:
            new_vmi_status["evacuationNodeName"] = None
        if vc.update_status(api, patched, new_vmi_status) is None:
            return 0.05
        if source_pod is not None:
            complete_pod(api, source_pod)
        _set_phase(api, vmim, "Succeeded", migrationState=state)
        api.event(vmi, "Normal", "Migrated", f"The VirtualMachineInstance migrated to node {target_node}.")
        return None
    return None


# --- evacuation -------------------------------------------------------------------------------------

def reconcile_evacuation(api, vmi: dict):
    status = vmi.get("status") or {}
    node = status.get("evacuationNodeName")
    if not node or vmi["metadata"].get("deletionTimestamp") or status.get("phase") != "Running":
        return None
    if status.get("nodeName") != node:
        return None  # already moved; the migration clears the mark
    namespace, name = vmi["metadata"]["namespace"], vmi["metadata"]["name"]
    for migration in api.list(*VMIM, namespace=namespace, label_selector=f"kubevirt.io/vmi-name={name}"):
        if (migration.get("status") or {}).get("phase") not in FINAL:
            return 5.0  # one is on its way
    fresh = (api.get(*VMI, name, namespace) or {}).get("status") or {}
    if fresh.get("nodeName") != node or fresh.get("evacuationNodeName") != node:
        return None  # a migration just moved it (the list above was newer than the VMI we started from)
    created = vc.create(api, {
        "apiVersion": VMIM[0], "kind": "VirtualMachineInstanceMigration",
        "metadata": {"generateName": "kubevirt-evacuation-", "namespace": namespace,
                     "labels": {"kubevirt.io/vmi-name": name},
                     "annotations": {"kubevirt.io/evacuationMigration": node}},
        "spec": {"vmiName": name}})
    if created is not None:
        api.event(vmi, "Normal", "SuccessfulCreate", f"Created Migration {created['metadata']['name']} for "
                                                     f"evacuation of node {node}")
    return 5.0


def setup(manager, webhooks):
    api = manager.api

    def migrations_of_vmi(obj):
        namespace, name = obj["metadata"]["namespace"], obj["metadata"]["name"]
        try:
            return [(namespace, m["metadata"]["name"]) for m in api.list(
                *VMIM, namespace=namespace, label_selector=f"kubevirt.io/vmi-name={name}")
                if (m.get("status") or {}).get("phase") not in FINAL]
        except Exception:
            return []

    manager.add(Controller("virt-controller-migration", *VMIM, reconcile_migration, resync_seconds=30,
                           watches=[Watch(*VMI, migrations_of_vmi)]))
    manager.add(Controller("virt-controller-evacuation", *VMI, reconcile_evacuation, resync_seconds=30))
    log.info("kubevirt: migration controller loaded")

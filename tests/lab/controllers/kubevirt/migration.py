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

import os
import threading
import time
from typing import Optional

from lab.controllers.conditions import set_condition
from lab.controllers.kubevirt.cluster_config import kubevirt, migration_config
from lab.controllers.kubevirt.scheduling import node_address, node_ready
from lab.controllers.kubevirt.launcher import (active_pod, build_launcher_pod, candidate_nodes, complete_pod,
                                               ensure_launcher_pod, launcher_pods, pick_node, pod_constraints,
                                               run_pod, unschedulable_message)
from lab.controllers.kubevirt.vmi import running_status
from lab.controllers.objects import parse_time, quantity
from lab.controllers.runtime import Controller, Watch, log, now, step_delay

VMI = ("kubevirt.io/v1", "VirtualMachineInstance")
VMIM = ("kubevirt.io/v1", "VirtualMachineInstanceMigration")
MIGRATION_POLICY = ("migrations.kubevirt.io/v1alpha1", "MigrationPolicy")
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
    return api.patch_status(vmim, {"phase": phase, "phaseTransitionTimestamps": _stamps(status, phase),
                                   **fields}, guarded=True)


def _vmi_migration_state(vmi: dict) -> dict:
    return dict((vmi.get("status") or {}).get("migrationState") or {})


def _handed_off(vmi, uid: str) -> bool:
    """virt-controller handed the migration to virt-handler: the VMI's migrationState is this one's."""
    return vmi is not None and _vmi_migration_state(vmi).get("migrationUid") == uid


def _fail(api, vmim: dict, vmi, reason: str, event: str = None):
    """The migration failed: the target pod goes, the VMI keeps running on its source.

    As `updateStatus` in migration.go: the migration's own migrationState takes the VMI's (and so a
    failure reason) only once it was handed off; before that it keeps what it had.
    """
    uid = vmim["metadata"]["uid"]
    migration_state = dict((vmim.get("status") or {}).get("migrationState") or {})
    if vmi is not None:
        for pod in launcher_pods(api, vmi):
            if (pod["metadata"].get("labels") or {}).get("kubevirt.io/migrationJobUID") == uid:
                api.delete("v1", "Pod", pod["metadata"]["name"], pod["metadata"]["namespace"], grace_period=0)
        state = _vmi_migration_state(vmi)
        if _handed_off(vmi, uid) and not state.get("completed"):
            state.update(failed=True, completed=True, failureReason=reason, endTimestamp=now())
            api.patch_status(vmi, {"migrationState": state})
            api.event(vmi, "Warning", "Migrated", f"VirtualMachineInstance migration uid {uid} failed. "
                                                  f"reason:{reason}")
        if _handed_off(vmi, uid):
            migration_state.update({**state, "failed": True, "completed": True})
    if event:
        api.event(vmim, "Warning", "FailedMigration", event)
    _set_phase(api, vmim, "Failed", migrationState=migration_state)
    return None


def _guest_memory(vmi: dict) -> float:
    return quantity(((((vmi.get("spec") or {}).get("domain") or {}).get("memory") or {}).get("guest"))
                    or "1Gi")


def _copy_seconds(vmi: dict, config: dict) -> float:
    bandwidth = quantity(config.get("bandwidthPerMigration") or 0) / 2**20
    return _guest_memory(vmi) / 2**20 / (bandwidth if bandwidth > 0 else LINK_MIB_PER_SECOND)


def _completion_timeout(vmi: dict, config: dict) -> float:
    return float(config.get("completionTimeoutPerGiB") or 150) * max(_guest_memory(vmi) / 2**30, 1.0)


def _throttled(api, vmim: dict, vmi: dict, config: dict) -> bool:
    active = [m for m in api.list(*VMIM) if ((m.get("status") or {}).get("phase")) in IN_FLIGHT
              and m["metadata"]["uid"] != vmim["metadata"]["uid"]]
    if len(active) >= int(config.get("parallelMigrationsPerCluster") or 5):
        return True
    source = (vmi.get("status") or {}).get("nodeName")
    outbound = [m for m in active
                if (((m.get("status") or {}).get("migrationState") or {}).get("sourceNode")) == source]
    return len(outbound) >= int(config.get("parallelOutboundMigrationsPerNode") or 2)


# --- MigrationPolicy (pkg/virt-controller/watch/migration/migrationpolicy.go) ---------------------

POLICY_FIELDS = ("allowAutoConverge", "bandwidthPerMigration", "completionTimeoutPerGiB", "allowPostCopy",
                 "allowWorkloadDisruption")


def _matching_labels(selector, labels) -> Optional[int]:
    """How many of the selector's labels the object carries; None when one is missing or differs."""
    if any(labels.get(key) != value for key, value in selector.items()):
        return None
    return len(selector)


def _policy_score(policy: dict, vmi_labels: dict, namespace_labels: dict):
    """countMatchingLabels: (total, VMI labels) matched, None when the policy does not match.

    Upstream's quirks are kept: a VMI without labels skips both selectors' checks.
    """
    selectors = (policy.get("spec") or {}).get("selectors")
    if selectors is None:
        return None
    vmi_score = namespace_score = 0
    if selectors.get("virtualMachineInstanceSelector") is not None and vmi_labels:
        vmi_score = _matching_labels(selectors["virtualMachineInstanceSelector"], vmi_labels)
        if vmi_score is None:
            return None
    if selectors.get("namespaceSelector") is not None and vmi_labels:
        namespace_score = _matching_labels(selectors["namespaceSelector"], namespace_labels or {})
        if namespace_score is None:
            return None
    return vmi_score + namespace_score, vmi_score


def matching_policy(api, vmi: dict) -> Optional[dict]:
    """matchPolicy: the policy matching the most labels (VMI labels break a tie, then the name)."""
    namespace = api.get("v1", "Namespace", vmi["metadata"]["namespace"]) or {}
    namespace_labels = namespace.get("metadata", {}).get("labels") or {}
    vmi_labels = vmi["metadata"].get("labels") or {}
    scored = [(score, policy) for policy in api.list(*MIGRATION_POLICY)
              if (score := _policy_score(policy, vmi_labels, namespace_labels)) is not None]
    if not scored:
        return None
    best = max(score for score, _ in scored)
    return min((p for score, p in scored if score == best), key=lambda p: p["metadata"]["name"])


def effective_config(api, vmi: dict, cluster_config: dict) -> tuple:
    """(configuration, policy name or None): GetMigrationConfByPolicy over the cluster's configuration."""
    policy = matching_policy(api, vmi)
    spec = (policy or {}).get("spec") or {}
    overrides = {key: spec[key] for key in POLICY_FIELDS if spec.get(key) is not None}
    if not overrides:
        return dict(cluster_config), None
    if "allowWorkloadDisruption" not in overrides and "allowPostCopy" in overrides:
        overrides["allowWorkloadDisruption"] = overrides["allowPostCopy"]  # upstream's backward compatibility
    return {**cluster_config, **overrides}, policy["metadata"]["name"]


# --- the reconciler ---------------------------------------------------------------------------------

def reconcile_migration(api, vmim: dict):
    meta = vmim["metadata"]
    namespace = meta["namespace"]
    status = vmim.get("status") or {}
    phase = status.get("phase") or ""
    vmi_name = (vmim.get("spec") or {}).get("vmiName")
    vmi = api.get(*VMI, vmi_name, namespace) if vmi_name else None

    if meta.get("deletionTimestamp"):
        return _cancel(api, vmim, vmi, phase)
    if phase in FINAL:
        return None
    kv = kubevirt(api)
    if kv is None:
        return 10.0
    if FINALIZER not in (meta.get("finalizers") or []) or \
            (meta.get("labels") or {}).get("kubevirt.io/vmi-name") != vmi_name:
        api.patch(vmim, {"metadata": {"finalizers": list(set((meta.get("finalizers") or []) + [FINALIZER])),
                                      "labels": {"kubevirt.io/vmi-name": vmi_name}}}, guarded=True)
        return 0.05
    if phase == "":
        _set_phase(api, vmim, "Pending")
        return step_delay()
    if vmi is None or vmi["metadata"].get("deletionTimestamp") or \
            (vmi.get("status") or {}).get("phase") != "Running":
        return _fail(api, vmim, vmi, "VMI is not running" if vmi is not None else "VMI does not exist")
    config = migration_config(kv)
    if phase == "Pending":
        with _SCHEDULING:  # one decision at a time, so the parallel limits hold across workers
            return _schedule(api, vmim, vmi, config)
    return _advance(api, vmim, vmi, config, phase)


def _cancel(api, vmim: dict, vmi, phase: str):
    """Deleting a migration that has not finished aborts it."""
    uid = vmim["metadata"]["uid"]
    if phase not in FINAL and phase:
        _fail(api, vmim, vmi, "Migration aborted")
        state = _vmi_migration_state(vmi) if vmi else {}
        if vmi is not None and state.get("migrationUid") == uid:
            state.update(abortRequested=True, abortStatus="Succeeded")
            api.patch_status(vmi, {"migrationState": state})
    api.remove_finalizer(vmim, FINALIZER)
    return None


_SCHEDULING = threading.Lock()


def _schedule(api, vmim: dict, vmi: dict, config: dict):
    """handleTargetPodCreation: the target pod is created whether or not a node can take it."""
    namespace, uid = vmim["metadata"]["namespace"], vmim["metadata"]["uid"]
    if _throttled(api, vmim, vmi, config):
        return 2.0
    source = (vmi.get("status") or {}).get("nodeName")
    constraints = pod_constraints(vmi, (vmim.get("spec") or {}).get("addedNodeSelector"))
    target = pick_node(api, candidate_nodes(api, constraints, exclude={source}), constraints.get("affinity"))
    if target is not None:
        pod = ensure_launcher_pod(api, vmi, target["metadata"]["name"], migration=vmim)
    else:
        pod = _unschedulable_target_pod(api, vmi, vmim)
    source_pod = active_pod(api, vmi)
    state = {"migrationUid": uid, "sourceNode": source, "sourcePod": (source_pod or {}).get("metadata", {}).get(
        "name", ""), "targetPod": pod["metadata"]["name"]}
    _set_phase(api, vmim, "Scheduling", migrationState=state)
    api.event(vmi, "Normal", "SuccessfulCreate", f"Created migration target pod {namespace}/"
                                                 f"{pod['metadata']['name']} with uuid {pod['metadata']['uid']}"
                                                 f" for migration {uid}")
    return step_delay()


def _unschedulable_target_pod(api, vmi: dict, vmim: dict) -> dict:
    """A target pod no node can take: the lab has no kube-scheduler, so it writes what one reports."""
    body = build_launcher_pod(api, vmi, None, migration=vmim)
    body["spec"].pop("nodeName")
    pod = api.ensure(body)
    if not (pod.get("status") or {}).get("conditions"):
        total = len(api.list("v1", "Node"))
        scheduled = set_condition([], "PodScheduled", "False", "Unschedulable", unschedulable_message(total))
        pod = api.patch_status(pod, {"phase": "Pending", "conditions": scheduled})
    return pod


def _target_pod(api, vmi: dict, uid: str):
    return next((p for p in launcher_pods(api, vmi)
                 if (p["metadata"].get("labels") or {}).get("kubevirt.io/migrationJobUID") == uid), None)


def _advance(api, vmim: dict, vmi: dict, config: dict, phase: str):
    uid = vmim["metadata"]["uid"]
    target_pod = _target_pod(api, vmi, uid)
    if target_pod is None:
        return _fail(api, vmim, vmi, "target pod is down",
                     "Migration target pod was removed during active migration.")
    if target_pod["metadata"].get("deletionTimestamp") or (target_pod.get("status") or {}).get("phase") in FINAL:
        return _fail(api, vmim, vmi, "target pod is down",
                     "Migration failed because target pod shutdown during migration")
    state = dict((vmim.get("status") or {}).get("migrationState") or {})
    step = PHASE_STEPS.get(phase)
    return step(api, vmim, vmi, config, state, target_pod) if step else None


# --- Scheduling: the target pod starts, or times out pending (handlePendingPodTimeout) -------------

UNSCHEDULABLE_TIMEOUT_ANNOTATION = "kubevirt.io/migrationUnschedulablePodTimeoutSeconds"
PENDING_TIMEOUT_ANNOTATION = "kubevirt.io/migrationPendingPodTimeoutSeconds"


def _timeout_seconds(vmim: dict, annotation: str, env: str, default: int) -> int:
    """The migration's own annotation, else the controller's default.

    Upstream's defaults (5 and 15 minutes) are constants; the lab reads them from its environment
    (LAB_MIGRATION_UNSCHEDULABLE_TIMEOUT, LAB_MIGRATION_PENDING_TIMEOUT) so a test sees them in seconds.
    """
    for value in ((vmim["metadata"].get("annotations") or {}).get(annotation), os.environ.get(env)):
        try:
            if value is not None:
                return int(value)
        except ValueError:
            continue  # upstream logs the unparsable annotation and keeps the default
    return default


def _unschedulable(pod: dict) -> bool:
    return any(c.get("type") == "PodScheduled" and c.get("status") == "False" and c.get("reason") == "Unschedulable"
               for c in (pod.get("status") or {}).get("conditions") or [])


def _pending_timeout(api, vmim: dict, vmi: dict, pod: dict):
    """A pending target pod is deleted once it waited too long; the migration then fails."""
    meta = pod["metadata"]
    waited = time.time() - parse_time(meta["creationTimestamp"])
    catch_all = _timeout_seconds(vmim, PENDING_TIMEOUT_ANNOTATION, "LAB_MIGRATION_PENDING_TIMEOUT", 15 * 60)
    deadline, why = catch_all, "pending pod {}/{} timeout period exceeded"
    if _unschedulable(pod):
        api.event(vmim, "Warning", "migrationTargetPodUnschedulable", "Migration target pod for VMI "
                  f"[{vmi['metadata']['namespace']}/{vmi['metadata']['name']}] is currently unschedulable.")
        unschedulable = _timeout_seconds(vmim, UNSCHEDULABLE_TIMEOUT_ANNOTATION,
                                         "LAB_MIGRATION_UNSCHEDULABLE_TIMEOUT", 5 * 60)
        if unschedulable <= deadline:  # upstream checks the unschedulable timeout first
            deadline, why = unschedulable, "unschedulable pod {}/{} timeout period exceeded"
    if waited < deadline:
        return max(0.2, deadline - waited)
    api.delete("v1", "Pod", meta["name"], meta["namespace"])
    api.event(vmim, "Normal", "SuccessfulDelete", why.format(meta["namespace"], meta["name"]))
    return 0.05


def _await_target_pod(api, vmim, vmi, config, state, target_pod):
    if not target_pod["spec"].get("nodeName"):
        return _pending_timeout(api, vmim, vmi, target_pod)
    target_node = target_pod["spec"]["nodeName"]
    run_pod(api, target_pod)
    node = api.get("v1", "Node", target_node)
    state.update(targetNode=target_node, targetNodeAddress=node_address(node) if node else "")
    _set_phase(api, vmim, "Scheduled", migrationState=state)
    return step_delay()


# --- Scheduled -> Running: hand-off to virt-handler, with the configuration a policy may change ----

def _hand_off(api, vmim, vmi, config, state, target_pod):
    """handleTargetPodHandoff: the VMI learns of the migration and of its (policy's) configuration."""
    effective, policy_name = effective_config(api, vmi, config)
    vmi_state = {**state, "migrationConfiguration": effective, "mode": "PreCopy"}
    if policy_name:
        vmi_state["migrationPolicyName"] = policy_name
    api.patch_status(vmi, {"migrationState": vmi_state, "migrationMethod": "LiveMigration"})
    _set_phase(api, vmim, "PreparingTarget", migrationState=state)
    api.event(vmi, "Normal", "PreparingTarget", "VirtualMachineInstance Migration Target Prepared.")
    return step_delay()


def _prepare_target(api, vmim, vmi, config, state, target_pod):
    state.update(targetNodeDomainDetected=True, targetNodeDomainReadyTimestamp=now())
    api.patch_status(vmi, {"migrationState": {**_vmi_migration_state(vmi), **state}})
    _set_phase(api, vmim, "TargetReady", migrationState=state)
    return step_delay()


def _start_copy(api, vmim, vmi, config, state, target_pod):
    state.update(startTimestamp=now(), mode="PreCopy")
    api.patch_status(vmi, {"migrationState": {**_vmi_migration_state(vmi), **state}})
    _set_phase(api, vmim, "Running", migrationState=state)
    api.event(vmi, "Normal", "Migrating", f"VirtualMachineInstance is migrating to node "
                                          f"{target_pod['spec']['nodeName']}.")
    return step_delay()


# --- Running: virt-launcher's migration monitor (live-migration-source.go) --------------------------

def _stalled_seconds(api, state: dict) -> float:
    """How long the copy has made no progress: since a node of the pair stopped being Ready.

    The lab's cause of a stall is a node that is not Ready (its network is down); the copy
    resumes its progress when both are Ready again.
    """
    started = parse_time(state["startTimestamp"])
    stalled_since = None
    for name in (state.get("sourceNode"), state.get("targetNode")):
        node = api.get("v1", "Node", name) if name else None
        if node is not None and not node_ready(node):
            ready = next((c for c in node["status"].get("conditions") or [] if c.get("type") == "Ready"), {})
            since = max(started, parse_time(ready["lastTransitionTime"]) if ready.get("lastTransitionTime")
                        else started)
            stalled_since = since if stalled_since is None else min(stalled_since, since)
    return 0.0 if stalled_since is None else time.time() - stalled_since


def _copy_memory(api, vmim, vmi, config, state, target_pod):
    """The copy takes guest memory / bandwidth; it is aborted when too slow or stuck."""
    config = _vmi_migration_state(vmi).get("migrationConfiguration") or config
    copy_seconds = _copy_seconds(vmi, config)
    if copy_seconds > _completion_timeout(vmi, config):
        # The lab does not wait out a copy that cannot finish in time: it fails as virt-launcher would.
        timeout = int(_completion_timeout(vmi, config))
        return _fail(api, vmim, vmi, f"Live migration is not completed after {timeout} seconds and has been aborted")
    progress_timeout = int(config.get("progressTimeout") or 0)
    stalled = int(_stalled_seconds(api, state))  # whole seconds, as isMigrationProgressing counts them
    if progress_timeout and stalled > progress_timeout:
        return _fail(api, vmim, vmi, f"Live migration stuck for {stalled} seconds and has been aborted")
    remaining = parse_time(state["startTimestamp"]) + max(1.0, 3 * step_delay(), copy_seconds) - time.time()
    if remaining > 0 or stalled:
        return min(max(remaining, 0.2), 1.0)
    return _complete(api, vmim, vmi, state, target_pod)


def _complete(api, vmim, vmi, state, target_pod):
    """The guest runs on the target now; the source launcher exits."""
    namespace = vmim["metadata"]["namespace"]
    target_node = target_pod["spec"]["nodeName"]
    vmi_status = vmi.get("status") or {}
    target_pod = run_pod(api, target_pod)
    source_pod = api.get("v1", "Pod", state.get("sourcePod"), namespace) if state.get("sourcePod") else None
    state.update(completed=True, endTimestamp=now())
    vmi_state = {**_vmi_migration_state(vmi), **state}
    labels = {**(vmi["metadata"].get("labels") or {}), "kubevirt.io/nodeName": target_node}
    patched = api.patch(vmi, {"metadata": {"labels": labels}}, guarded=True)
    new_vmi_status = {"nodeName": target_node, "migrationState": vmi_state,
                      "activePods": {target_pod["metadata"]["uid"]: target_node},
                      "interfaces": running_status(api, patched, target_pod)["interfaces"]}
    if vmi_status.get("evacuationNodeName") and vmi_status["evacuationNodeName"] != target_node:
        new_vmi_status["evacuationNodeName"] = None
    api.patch_status(patched, new_vmi_status, guarded=True)
    if source_pod is not None:
        complete_pod(api, source_pod)
    _set_phase(api, vmim, "Succeeded", migrationState=vmi_state)  # a final migration keeps the VMI's state
    api.event(vmi, "Normal", "Migrated", f"The VirtualMachineInstance migrated to node {target_node}.")
    return None


PHASE_STEPS = {"Scheduling": _await_target_pod, "Scheduled": _hand_off, "PreparingTarget": _prepare_target,
               "TargetReady": _start_copy, "Running": _copy_memory}


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
    created = api.create_if_absent({
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

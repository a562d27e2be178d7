# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Live migration of VMs (VirtualMachineInstanceMigration), one or many, within the cluster's parallel limits.

Each VM gets one migration per request, named from the VMI, its node and the target
(``names.work_name``), so a rerun follows the migration the first run started, and a
migration that succeeded is found again (by its request annotation) instead of
starting another. A failed one is found again too, and reported: it is KubeVirt's record
of why, and deleting it is how one asks again. Before anything is created, every VM is checked: a VM that cannot
live-migrate (a disk not ReadWriteMany, an interface that blocks it, KubeVirt's
``LiveMigratable`` condition) is refused, naming the reason.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.complete import run_to_completion
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.names import work_name
from ansible_collections.ontap.virtualization.plugins.module_utils.secrets import COLLECTION, MANAGED_BY
from ansible_collections.ontap.virtualization.plugins.module_utils.vms import KUBEVIRT_API, VMI_KIND

MIGRATION_KIND = "VirtualMachineInstanceMigration"
HOSTNAME_LABEL = "kubernetes.io/hostname"
VMI_NAME_LABEL = "kubevirt.io/vmi-name"  # virt-api's mutating webhook sets it on every migration
TARGET_ANNOTATION = "ontap.virtualization/migration-target"
# virt-controller's handlePendingPodTimeout reads it (migration.go; default 5 minutes).
UNSCHEDULABLE_TIMEOUT_ANNOTATION = "kubevirt.io/migrationUnschedulablePodTimeoutSeconds"
ALLOW_BRIDGE_ANNOTATION = "kubevirt.io/allow-pod-bridge-network-live-migration"
# KubeVirt's defaults when the KubeVirt CR leaves spec.configuration.migrations unset (HCO sets the same).
DEFAULT_PARALLEL_PER_CLUSTER = 5
DEFAULT_PARALLEL_OUTBOUND_PER_NODE = 2
SUCCEEDED, FAILED = "Succeeded", "Failed"
FINAL = (SUCCEEDED, FAILED)
ANY_NODE = "any node"
OUTCOMES = {SUCCEEDED: "migrated", FAILED: "failed"}
ALREADY_THERE = "already there"


class Target(object):
    """Where the VMs should go: ``node``, or any node matching ``node_selector``, or any other node."""

    def __init__(self, node=None, node_selector=None):
        self.node = node
        self.selector = {HOSTNAME_LABEL: node} if node else dict(node_selector or {})

    @property
    def key(self):
        return ",".join("{0}={1}".format(k, v) for k, v in sorted(self.selector.items())) or ANY_NODE


def blockers(vmi, claims):
    """Why ``vmi`` cannot live-migrate, as phrases (empty when it can).

    ``claims`` maps PVC names to the PVCs the VMI's volumes use. Our own checks name
    the disk or interface; KubeVirt's ``LiveMigratable`` condition adds its reason.
    """
    spec, status = vmi.get("spec") or {}, vmi.get("status") or {}
    if status.get("phase") != "Running":
        return ["it is not running (phase {0})".format(status.get("phase") or "unknown")]
    found = []
    for volume in spec.get("volumes") or []:
        claim = claim_name(volume)
        if claim is None:
            continue
        pvc = claims.get(claim)
        modes = fields.get(pvc or {}, "status.accessModes") or fields.get(pvc or {}, "spec.accessModes") or []
        if "ReadWriteMany" not in modes:
            found.append("disk {0} (PVC {1}) is {2}, not ReadWriteMany".format(
                volume["name"], claim, "/".join(modes) or "missing"))
    pod_networks = set(n["name"] for n in spec.get("networks") or [] if "pod" in n)
    allow_bridge = ALLOW_BRIDGE_ANNOTATION in (vmi["metadata"].get("annotations") or {})
    for interface in fields.get(spec, "domain.devices.interfaces") or []:
        if "bridge" in interface and interface["name"] in pod_networks and not allow_bridge:
            found.append("interface {0} connects the pod network with a bridge binding (use masquerade, or the "
                         "annotation {1})".format(interface["name"], ALLOW_BRIDGE_ANNOTATION))
    condition = wait.find_condition(vmi, "LiveMigratable")
    if condition is not None and condition.get("status") == "False":
        found.append("KubeVirt reports LiveMigratable=False, reason {0}: {1}".format(
            condition.get("reason"), condition.get("message")))
    return found


def claim_name(volume):
    if "persistentVolumeClaim" in volume:
        return volume["persistentVolumeClaim"].get("claimName")
    if "dataVolume" in volume:
        return volume["dataVolume"].get("name")  # a DataVolume's PVC has its name
    return None


def desired_migration(vmi, target, unschedulable_timeout=None):
    """The migration of ``vmi`` to ``target``: named from the VMI, the node it leaves and the target."""
    meta = vmi["metadata"]
    name = work_name("migrate", meta["name"], meta["uid"], vmi["status"].get("nodeName"), target.key)
    annotations = {TARGET_ANNOTATION: target.key}
    if unschedulable_timeout:
        annotations[UNSCHEDULABLE_TIMEOUT_ANNOTATION] = str(unschedulable_timeout)
    spec = {"vmiName": meta["name"]}
    if target.selector:
        spec["addedNodeSelector"] = target.selector
    return {"apiVersion": KUBEVIRT_API, "kind": MIGRATION_KIND,
            "metadata": {"name": name, "namespace": meta["namespace"], "labels": {MANAGED_BY: COLLECTION},
                         "annotations": annotations}, "spec": spec}


def outcome(migration, vmi=None):
    """What a migration did, for the result: phase, source and target node, seconds, and KubeVirt's reason."""
    status = migration.get("status") or {}
    state = status.get("migrationState") or {}
    stamps = dict((s.get("phase"), s.get("phaseTransitionTimestamp")) for s in status.get("phaseTransitionTimestamps") or [])
    started, ended = fields.get(migration, "metadata.creationTimestamp"), stamps.get(status.get("phase"))
    return {"vm": fields.get(migration, "spec.vmiName"), "namespace": fields.get(migration, "metadata.namespace"),
            "migration": fields.get(migration, "metadata.name"), "phase": status.get("phase") or "Pending",
            "outcome": OUTCOMES.get(status.get("phase"), "started"),
            "source_node": state.get("sourceNode"),
            "target_node": state.get("targetNode") if status.get("phase") == SUCCEEDED else None,
            "node": fields.get(vmi or {}, "status.nodeName"),
            "duration_seconds": seconds_between(started, ended) if status.get("phase") in FINAL else None,
            "reason": state.get("failureReason")}


def seconds_between(start, end):
    """Whole seconds between two RFC 3339 timestamps (as the API server writes them), or None."""
    import datetime
    try:
        parse = [datetime.datetime.strptime(stamp[:19], "%Y-%m-%dT%H:%M:%S") for stamp in (start, end)]
    except (TypeError, ValueError):
        return None
    return int((parse[1] - parse[0]).total_seconds())


def parallel_limits(kube):
    """(per cluster, outbound per node) from the KubeVirt CR's spec.configuration.migrations."""
    items, _version = kube.list(kube.ref(KUBEVIRT_API, "KubeVirt"))
    config = fields.get(items[0], "spec.configuration.migrations") if items else None
    config = config or {}
    return (int(config.get("parallelMigrationsPerCluster") or DEFAULT_PARALLEL_PER_CLUSTER),
            int(config.get("parallelOutboundMigrationsPerNode") or DEFAULT_PARALLEL_OUTBOUND_PER_NODE))


class Batch(object):
    """Migrates ``vmis`` to ``target``, never running more at once than the cluster's limits allow."""

    def __init__(self, module, target, unschedulable_timeout=None):
        self.module, self.kube, self.target = module, module.kube, target
        self.unschedulable_timeout = unschedulable_timeout
        self.migration_ref = self.kube.ref(KUBEVIRT_API, MIGRATION_KIND)
        # Without a wait (or in check mode) every migration is created at once: KubeVirt holds those beyond its
        # limits in Pending. With a wait, the batch starts only as many as the limits let run.
        self.waits = module.params["wait"] and not module.check_mode

    def preflight(self, vmis):
        """Refuse, naming every VM and why, when one of them cannot live-migrate or the target names no node;
        nothing is created."""
        self._check_target()
        refused = []
        for vmi in vmis:
            if self._satisfied(vmi) is not None:
                continue
            namespace = vmi["metadata"]["namespace"]
            claims = {}
            for volume in fields.get(vmi, "spec.volumes") or []:
                name = claim_name(volume)
                if name:
                    claims[name] = self.kube.get(self.kube.ref("v1", "PersistentVolumeClaim", name, namespace))
            reasons = blockers(vmi, claims)
            if reasons:
                refused.append("VM {0}/{1}: {2}".format(namespace, vmi["metadata"]["name"], "; ".join(reasons)))
        if refused:
            raise ModuleError("Not live-migratable, so nothing was migrated: {0}.".format(". ".join(refused)),
                              refused=refused)

    def _check_target(self):
        if not self.target.selector:
            return
        nodes, _version = self.kube.list(self.kube.ref("v1", "Node"), label_selector=",".join(
            "{0}={1}".format(key, value) for key, value in sorted(self.target.selector.items())))
        if not nodes:
            asked = "node {0}".format(self.target.node) if self.target.node else \
                "node_selector {0}".format(self.target.selector)
            raise ModuleError("No node matches {0}, so nothing was migrated: name an existing node, or leave the "
                              "target out to let KubeVirt choose.".format(asked))

    def run(self, vmis):
        """Migrate every VMI; returns their outcomes, in the order given. Failures are reported at the end."""
        per_cluster, per_node = parallel_limits(self.kube)
        results, queue, active = {}, [], []
        for vmi in vmis:
            done, following = self._satisfied(vmi), self._following(vmi)
            if done is not None:
                results[_key(vmi)] = done
            elif following is not None:
                active.append((vmi, following))
            else:
                queue.append(vmi)
        while queue or active:
            while queue and (not self.waits or len(active) < per_cluster - self._others_in_flight(active)):
                startable = [v for v in queue if not self.waits or self._outbound(active, v) < per_node]
                if not startable:
                    break
                queue.remove(startable[0])
                active.append((startable[0], self._start(startable[0])))
            vmi, migration = active.pop(0)
            results[_key(vmi)] = self._follow(vmi, migration)
        return [results[_key(vmi)] for vmi in vmis]

    def _satisfied(self, vmi):
        """The outcome when what is asked is done already (a migration found again on a rerun), else None."""
        for migration in self._ours(vmi):
            state = fields.get(migration, "status.migrationState") or {}
            if fields.get(migration, "status.phase") == SUCCEEDED and \
                    state.get("targetNode") == fields.get(vmi, "status.nodeName"):
                return outcome(migration, vmi)
        if self.target.node and fields.get(vmi, "status.nodeName") == self.target.node:
            return {"vm": vmi["metadata"]["name"], "namespace": vmi["metadata"]["namespace"], "migration": None,
                    "phase": None, "outcome": ALREADY_THERE, "source_node": None, "target_node": None,
                    "node": self.target.node, "duration_seconds": None, "reason": None}
        return None

    def _following(self, vmi):
        """Our unfinished migration of ``vmi`` for this target (a rerun after a wait that ran out)."""
        return next((m for m in self._ours(vmi) if fields.get(m, "status.phase") not in FINAL), None)

    def _ours(self, vmi):
        ref = self.migration_ref._replace(namespace=vmi["metadata"]["namespace"])
        items, _version = self.kube.list(ref, label_selector="{0}={1},{2}={3}".format(
            VMI_NAME_LABEL, vmi["metadata"]["name"], MANAGED_BY, COLLECTION))
        return [m for m in items if fields.get(m, ["metadata", "annotations", TARGET_ANNOTATION]) == self.target.key
                and fields.get(m, "metadata.uid")]

    def _others_in_flight(self, active):
        ours = set(m["metadata"].get("uid") for _v, m in active)
        items, _version = self.kube.list(self.migration_ref)
        return len([m for m in items if fields.get(m, "status.phase") not in FINAL and m["metadata"]["uid"] not in ours])

    @staticmethod
    def _outbound(active, vmi):
        node = fields.get(vmi, "status.nodeName")
        return len([1 for other, _m in active if fields.get(other, "status.nodeName") == node])

    def _start(self, vmi):
        """Create the migration, or find it again: a failed one is not retried (it stays KubeVirt's record)."""
        desired = desired_migration(vmi, self.target, self.unschedulable_timeout)
        live = self.kube.get(self.module.ensurer.ref_of(desired))
        return live if live is not None else self.module.ensurer.present(desired, []).object

    def _follow(self, vmi, migration):
        """Wait for one migration to end; a failure carries KubeVirt's reason (and its events)."""
        if not self.waits:
            return outcome(migration, vmi)
        done = wait.field_equals("status.phase", SUCCEEDED)
        try:
            final = run_to_completion(self.module, migration, done, failed=wait.phase_in(FAILED))
        except wait.WaitFailed as exc:
            if isinstance(exc, wait.WaitTimedOut):
                raise
            final = exc.last or migration
        vmi_ref = self.kube.ref(KUBEVIRT_API, VMI_KIND, vmi["metadata"]["name"], vmi["metadata"]["namespace"])
        result = outcome(final, self.kube.get(vmi_ref))
        if result["phase"] == FAILED:
            result["reason"] = "; ".join(filter(None, [result["reason"]] + self._events(final)))
        return result

    def _events(self, migration):
        ref = self.kube.ref("v1", "Event", None, migration["metadata"]["namespace"])
        items, _version = self.kube.list(ref, field_selector="involvedObject.uid={0}".format(migration["metadata"]["uid"]))
        messages = []
        for event in sorted(items, key=lambda e: e.get("lastTimestamp") or e.get("eventTime") or ""):
            if event.get("message") and event["message"] not in messages:
                messages.append(event["message"])
        return messages


def _key(vmi):
    return vmi["metadata"]["namespace"], vmi["metadata"]["name"]


def failures(outcomes):
    return ["VM {0}/{1} (migration {2}): {3}".format(o["namespace"], o["vm"], o["migration"], o["reason"] or "failed")
            for o in outcomes if o["phase"] == FAILED]


def running_vmis(kube, namespace, names=None, label_selector=None):
    """The VMIs of the VMs asked for: by name (each must be running), or by label (those running)."""
    vmi_ref = kube.ref(KUBEVIRT_API, VMI_KIND, None, namespace)
    if label_selector is not None:
        vms, _version = kube.list(kube.ref(KUBEVIRT_API, "VirtualMachine", None, namespace),
                                  label_selector=label_selector)
        names = [vm["metadata"]["name"] for vm in vms]
        if not names:
            raise ModuleError("No VirtualMachine in namespace {0} has the labels {1}, so nothing was migrated: correct "
                              "label_selector or the namespace.".format(namespace, label_selector))
        found = [kube.get(vmi_ref._replace(name=name)) for name in names]
        return [vmi for vmi in found if vmi is not None]
    found = [(name, kube.get(vmi_ref._replace(name=name))) for name in names]
    stopped = [name for name, vmi in found if vmi is None]
    if stopped:
        raise ModuleError("Not running, so nothing was migrated: VM {0} has no VirtualMachineInstance in namespace "
                          "{1}. Start it first, or leave it out.".format(", ".join(stopped), namespace))
    return [vmi for _name, vmi in found]

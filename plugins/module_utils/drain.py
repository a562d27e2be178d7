# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Node maintenance: empty a node of its VMs (they live-migrate away), and take it back.

Two ways, by what the cluster has: the Node Maintenance Operator's ``NodeMaintenance``
(what the OpenShift console creates), or our own cordon and drain. KubeVirt answers
the eviction of a virt-launcher pod whose VM live-migrates with HTTP 429 and starts
the migration; our drain treats that answer as "on its way", not as a failure, and
waits until the VM runs elsewhere (``kubernetes.core.k8s_drain`` stops at the first 429).
Any other refusal is asked again, as ``kubectl drain`` does, until the pod is gone or the
wait runs out: the source pod of a VM that has just left is refused ("Eviction request for
target Pod") until it finishes, and a disruption budget may allow the eviction later.

Before anything is written, a VM on the node that cannot live-migrate is refused by
name, unless the caller said what to do with it: stop it, or leave it (and fail at the
end, once the others are away).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, migration, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.ensure import Outcome
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError, WorkFailed
from ansible_collections.ontap.virtualization.plugins.module_utils.names import work_name

NM_API, NM_KIND = "nodemaintenance.medik8s.io/v1beta1", "NodeMaintenance"
NM_CRD = "nodemaintenances.nodemaintenance.medik8s.io"
CSV_API, CSV_KIND = "operators.coreos.com/v1alpha1", "ClusterServiceVersion"
NODE_NAME_LABEL = "kubevirt.io/nodeName"  # virt-controller keeps it on every VMI
REFUSE, STOP, LEAVE = "refuse", "stop", "leave"
FINISHED_POD_PHASES = ("Succeeded", "Failed")
# virt-api's answer (pod-eviction-admitter.go) when an eviction marks the VMI for evacuation; later evictions
# of the same pod are answered "Evacuation in progress".
EVACUATION_STARTED = "Eviction triggered evacuation"
REEVICT_SECONDS = 10  # how long one wait on a VMI lasts before the remaining pods are evicted again


class Maintenance(object):
    """Puts ``node`` into maintenance (``enter``) or takes it out (``leave``) through ``module``."""

    def __init__(self, module, node, non_migratable=REFUSE, method="auto", reason=None):
        self.module, self.kube, self.node = module, module.kube, node
        self.non_migratable, self.reason = non_migratable, reason
        installed = operator_installed(self.kube)
        if method == "node_maintenance" and not installed:
            raise ModuleError("method is node_maintenance, but the Node Maintenance Operator is not installed (no "
                              "ClusterServiceVersion that owns {0} has succeeded): install it, or use method "
                              "drain.".format(NM_CRD))
        self.operator = installed and method != "drain"
        self.node_ref = self.kube.ref("v1", "Node", node)

    # --- what is on the node ---------------------------------------------------------------------

    def vmis(self):
        ref = self.kube.ref(migration.KUBEVIRT_API, migration.VMI_KIND)
        items, _version = self.kube.list(ref, label_selector="{0}={1}".format(NODE_NAME_LABEL, self.node))
        return [v for v in items if fields.get(v, "status.nodeName") == self.node
                and fields.get(v, "status.phase") not in FINISHED_POD_PHASES]

    def stuck(self, vmis):
        """{"ns/name": why} of the VMIs that cannot live-migrate away."""
        found = {}
        for vmi in vmis:
            namespace = vmi["metadata"]["namespace"]
            claims = dict((name, self.kube.get(self.kube.ref("v1", "PersistentVolumeClaim", name, namespace)))
                          for name in filter(None, map(migration.claim_name, fields.get(vmi, "spec.volumes") or [])))
            reasons = migration.blockers(vmi, claims)
            if reasons:
                found["{0}/{1}".format(namespace, vmi["metadata"]["name"])] = "; ".join(reasons)
        return found

    # --- state: present ----------------------------------------------------------------------------

    def enter(self):
        if self.kube.get(self.node_ref) is None:
            raise ModuleError("Node {0} does not exist.".format(self.node))
        stuck = self.stuck(self.vmis())
        if stuck and self.non_migratable == REFUSE:
            raise ModuleError("Node {0} was not put into maintenance: {1} cannot live-migrate ({2}). Stop {3} first, "
                              "or set non_migratable to stop (the module stops {3}) or leave (the node is drained "
                              "of the others, and the task fails naming {3}).".format(
                                  self.node, ", ".join(sorted(stuck)), _reasons(stuck),
                                  "it" if len(stuck) == 1 else "them"))
        if stuck and self.non_migratable == STOP:
            self.stop_vms(stuck)
        left = set(stuck) if self.non_migratable == LEAVE else set()
        if self.operator:
            self.through_operator(left)
        else:
            self.cordon(True)
            self.drain(left)
        if stuck and self.non_migratable == LEAVE and not self.module.check_mode:
            raise WorkFailed("Node {0} is drained of every VM but {1}, which cannot live-migrate ({2}) and stay{3} "
                             "as asked (non_migratable: leave).".format(self.node, ", ".join(sorted(stuck)),
                                                                        _reasons(stuck), "s" if len(stuck) == 1 else ""),
                             left=sorted(stuck))
        return self.summary()

    def stop_vms(self, stuck):
        """Halt the VMs that cannot migrate, then wait until their VMIs are gone."""
        for key in sorted(stuck):
            namespace, name = key.split("/", 1)
            vm = {"apiVersion": migration.KUBEVIRT_API, "kind": "VirtualMachine",
                  "metadata": {"name": name, "namespace": namespace}}
            live = self.kube.get(self.module.ensurer.ref_of(vm))
            if live is None:
                raise ModuleError("VMI {0} cannot live-migrate and has no VirtualMachine to stop it with.".format(key))
            # KubeVirt refuses runStrategy next to the older spec.running, so a VM keeps the field it has.
            field = "running" if fields.get(live, "spec.running") is not None else "runStrategy"
            vm["spec"] = {field: False if field == "running" else "Halted"}
            self.module.ensurer.present(vm, ["spec." + field])
        if self.module.check_mode:
            return
        for key in sorted(stuck):
            namespace, name = key.split("/", 1)
            self.module.wait_until(self.kube.ref(migration.KUBEVIRT_API, migration.VMI_KIND, name, namespace),
                                   wait.absent())

    def cordon(self, unschedulable):
        node = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": self.node},
                "spec": {"unschedulable": True if unschedulable else None}}
        return self.module.ensurer.present(node, ["spec.unschedulable"])

    def drain(self, left):
        """Evict every pod that must leave, again while KubeVirt answers 429, until no VMI but ``left`` remains."""
        if self.module.check_mode:
            return
        while True:
            refusals = self.evict_pods(left)
            leaving = [v for v in self.vmis() if _key(v) not in left]
            if leaving:  # wait for one to run elsewhere, then evict what is left again
                refused = refusals.get(_key(leaving[0]))
                self.module.wait_until(self._vmi_ref(leaving[0]), self._left_node(refused and refused[1]),
                                       recheck=REEVICT_SECONDS)
            elif refusals:  # wait a while for the first refused pod to go, then ask again
                pod_ref, answer = refusals[sorted(refusals)[0]]
                self.module.wait_until(pod_ref, self._gone_or_asked_again(answer), recheck=REEVICT_SECONDS,
                                       timeout_note="Node {0} is cordoned and its VMs are away, but the eviction of "
                                       "{1} was refused: {2}.".format(self.node, ", ".join(sorted(refusals)), "; ".join(
                                           sorted(set(answer for _ref, answer in refusals.values())))))
            else:
                return

    def evict_pods(self, left):
        """{key: (pod ref, KubeVirt's or a budget's answer)} for each pod on the node that was refused eviction."""
        ref = self.kube.ref("v1", "Pod")
        pods, _version = self.kube.list(ref, field_selector="spec.nodeName={0}".format(self.node))
        refusals = {}
        for pod in pods:
            if not must_leave(pod) or _domain(pod) in left:
                continue
            pod_ref = ref._replace(name=pod["metadata"]["name"], namespace=pod["metadata"]["namespace"])
            refused = self.kube.evict(pod_ref)
            if refused is None or EVACUATION_STARTED in (refused[1] or ""):
                # evicted, or KubeVirt's first answer: the VM starts migrating away (a change to report)
                self.module.ensurer.changes.record(Outcome(True, "evict", pod, ref=pod_ref))
            if refused is not None:  # keyed by the VM a virt-launcher pod runs, else by the pod
                refusals[_domain(pod) or "{0}/{1}".format(pod["metadata"]["namespace"], pod["metadata"]["name"])] = \
                    (pod_ref, refused[1])
        return refusals

    def _vmi_ref(self, vmi):
        return self.kube.ref(migration.KUBEVIRT_API, migration.VMI_KIND, vmi["metadata"]["name"],
                             vmi["metadata"]["namespace"])

    def _left_node(self, answer):
        text = "VMI runs on another node than {0}".format(self.node)
        if answer:
            text += " (the eviction was answered: {0})".format(answer)
        return wait.Predicate(text, lambda vmi: vmi is None or fields.get(vmi, "status.nodeName") != self.node)

    def _gone_or_asked_again(self, answer):
        asked = self.module.clock()
        text = "Pod gone, finished or deleting (its eviction was answered: {0}; asked again every {1} s)".format(
            answer, REEVICT_SECONDS)
        return wait.Predicate(text, lambda pod: pod is None or not must_leave(pod) or
                              self.module.clock() - asked >= REEVICT_SECONDS)

    def through_operator(self, left):
        desired = {"apiVersion": NM_API, "kind": NM_KIND, "metadata": {"name": self.maintenance_name()},
                   "spec": {"nodeName": self.node}}
        if self.reason:
            desired["spec"]["reason"] = self.reason
        nm = self.module.ensurer.present(desired, ["spec.nodeName"]).object
        if self.module.check_mode or not self.module.params["wait"]:
            return nm
        return self.module.wait_until(self.module.ensurer.ref_of(desired), drained_but(left),
                                      fail_when=wait.phase_in("Failed"))

    def maintenance_name(self):
        """The NodeMaintenance of the node: the one that exists (the console's, say), else ours."""
        items, _version = self.kube.list(self.kube.ref(NM_API, NM_KIND))
        for item in items:
            if fields.get(item, "spec.nodeName") == self.node:
                return item["metadata"]["name"]
        return work_name("maintenance", self.node)

    # --- state: absent -----------------------------------------------------------------------------

    def leave(self):
        if self.kube.served(NM_API, NM_KIND):
            items, _version = self.kube.list(self.kube.ref(NM_API, NM_KIND))
            for item in items:
                if fields.get(item, "spec.nodeName") == self.node:
                    ref = self.kube.ref(NM_API, NM_KIND, item["metadata"]["name"])
                    self.module.ensurer.absent(ref)
                    if not self.module.check_mode and self.module.params["wait"]:
                        self.module.wait_until(ref, wait.absent())  # the operator uncordons, then lets it go
        if self.kube.get(self.node_ref) is None:
            raise ModuleError("Node {0} does not exist.".format(self.node))
        self.cordon(False)
        return self.summary()

    def summary(self):
        node = self.kube.get(self.node_ref) or {}
        vmis = [] if self.module.check_mode else self.vmis()
        return {"node": self.node, "method": "NodeMaintenance" if self.operator else "drain",
                "unschedulable": bool(fields.get(node, "spec.unschedulable")),
                "vms_on_node": sorted(_key(v) for v in vmis)}


def operator_installed(kube):
    """Whether the Node Maintenance Operator runs: an OLM ClusterServiceVersion owning its CRD has succeeded.

    The CRD alone says nothing: OLM leaves it behind after an uninstall. Without OLM, the CRD is all there is.
    """
    if not kube.served(NM_API, NM_KIND):
        return False
    if not kube.served(CSV_API, CSV_KIND):
        return True
    items, _version = kube.list(kube.ref(CSV_API, CSV_KIND))
    return any(fields.get(csv, "status.phase") == "Succeeded" and NM_CRD in [
        owned.get("name") for owned in fields.get(csv, "spec.customresourcedefinitions.owned") or []] for csv in items)


def drained_but(left):
    """The NodeMaintenance succeeded, or waits only for the virt-launcher pods of the VMs ``left`` on the node."""
    prefixes = tuple("virt-launcher-{0}-".format(key.split("/", 1)[1]) for key in left)

    def test(nm):
        status = (nm or {}).get("status") or {}
        if status.get("phase") == "Succeeded":
            return True
        pending = status.get("pendingPods")
        return bool(left) and status.get("phase") == "Running" and pending is not None and \
            all(name.startswith(prefixes) for name in pending)
    text = "status.phase is Succeeded"
    if left:
        text += ", or only the pods of {0} are pending".format(", ".join(sorted(left)))
    return wait.Predicate(text, test)


def must_leave(pod):
    """Whether a drain evicts ``pod``: not finished, not being deleted, not a DaemonSet's, not a mirror pod."""
    meta = pod["metadata"]
    if meta.get("deletionTimestamp") or fields.get(pod, "status.phase") in FINISHED_POD_PHASES:
        return False
    if "kubernetes.io/config.mirror" in (meta.get("annotations") or {}):
        return False
    return not any(owner.get("kind") == "DaemonSet" for owner in meta.get("ownerReferences") or [])


def _domain(pod):
    """The "ns/name" of the VMI a virt-launcher pod runs, or None."""
    name = (pod["metadata"].get("annotations") or {}).get("kubevirt.io/domain")
    return "{0}/{1}".format(pod["metadata"]["namespace"], name) if name else None


def _key(vmi):
    return "{0}/{1}".format(vmi["metadata"]["namespace"], vmi["metadata"]["name"])


def _reasons(stuck):
    return "; ".join("{0}: {1}".format(key, why) for key, why in sorted(stuck.items()))

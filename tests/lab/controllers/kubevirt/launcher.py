"""The virt-launcher pod that runs a VMI's guest: where it may run (the scheduler's checks),
what virt-controller puts in it, and what the kubelet reports once it runs."""

import copy
import hashlib

from lab.controllers.kubevirt import network as net
from lab.controllers.kubevirt.scheduling import (node_address, node_affinity_matches, node_ready,
                                                 node_selector_matches, tolerates)
from lab.controllers.kubevirt.volumes import claims
from lab.controllers.objects import format_mib, owner_reference, quantity, short_hash
from lab.controllers.runtime import now

PVC = ("v1", "PersistentVolumeClaim")
FINAL = ("Succeeded", "Failed")
LAUNCHER_IMAGE = ("registry.redhat.io/container-native-virtualization/virt-launcher-rhel9@sha256:"
                  + hashlib.sha256(b"virt-launcher v1.8.4").hexdigest())


def pod_ip(pod_name: str) -> str:
    digest = hashlib.sha256(pod_name.encode()).digest()
    return f"10.128.{digest[0] % 254 + 1}.{digest[1] % 253 + 2}"


def launcher_pods(api, vmi: dict) -> list:
    return api.list("v1", "Pod", namespace=vmi["metadata"]["namespace"],
                    label_selector=f"kubevirt.io/created-by={vmi['metadata']['uid']}")


def active_pod(api, vmi: dict):
    """The launcher pod that runs the guest now: on status.nodeName, not finished, not going away."""
    node = (vmi.get("status") or {}).get("nodeName")
    for pod in launcher_pods(api, vmi):
        if pod["spec"].get("nodeName") == node and (pod.get("status") or {}).get("phase") not in FINAL \
                and not pod["metadata"].get("deletionTimestamp"):
            return pod
    return None


# --- where it runs ------------------------------------------------------------------------------

def pod_constraints(vmi: dict, extra_selector=None) -> dict:
    spec = vmi.get("spec") or {}
    selector = {**(spec.get("nodeSelector") or {}), **(extra_selector or {}), "kubevirt.io/schedulable": "true"}
    return {"nodeSelector": selector, "affinity": spec.get("affinity"), "tolerations": spec.get("tolerations")}


def candidate_nodes(api, constraints: dict, exclude=()) -> list:
    nodes = []
    for node in api.list("v1", "Node"):
        name = node["metadata"]["name"]
        if name in exclude or (node.get("spec") or {}).get("unschedulable") or not node_ready(node):
            continue
        labels = node["metadata"].get("labels") or {}
        if not node_selector_matches(labels, constraints["nodeSelector"]):
            continue
        if not node_affinity_matches(node, constraints.get("affinity")):
            continue
        if not tolerates((node.get("spec") or {}).get("taints"), constraints.get("tolerations")):
            continue
        nodes.append(node)
    return nodes


def _preference(node: dict, affinity) -> int:
    """The scheduler's NodeAffinity score: the weights of the preferred terms the node matches."""
    terms = ((affinity or {}).get("nodeAffinity") or {}).get("preferredDuringSchedulingIgnoredDuringExecution") or []

    def required(term):
        return {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
            "nodeSelectorTerms": [term.get("preference") or {}]}}}
    return sum(int(t.get("weight", 0)) for t in terms if node_affinity_matches(node, required(t)))


def pick_node(api, nodes: list, affinity=None):
    """The preferred, then least loaded candidate (fewest virt-launcher pods), by name on a tie."""
    if not nodes:
        return None
    load = {}
    for pod in api.list("v1", "Pod", label_selector="kubevirt.io=virt-launcher"):
        if (pod.get("status") or {}).get("phase") not in FINAL:
            node = pod["spec"].get("nodeName")
            load[node] = load.get(node, 0) + 1
    return min(nodes, key=lambda n: (-_preference(n, affinity), load.get(n["metadata"]["name"], 0),
                                     n["metadata"]["name"]))


def unschedulable_message(total_nodes: int) -> str:
    """What kube-scheduler reports on the launcher pod (and KubeVirt copies to the VMI)."""
    return (f"0/{total_nodes} nodes are available: {total_nodes} node(s) didn't match Pod's node "
            f"affinity/selector. preemption: 0/{total_nodes} nodes are available: {total_nodes} Preemption is not "
            "helpful for scheduling.")


# --- the virt-launcher pod ----------------------------------------------------------------------

def guest_memory(vmi: dict) -> float:
    domain = (vmi.get("spec") or {}).get("domain") or {}
    guest = (domain.get("memory") or {}).get("guest") or ((domain.get("resources") or {}).get("requests") or {}).get(
        "memory")
    return quantity(guest or "1Gi")


def _vcpus(vmi: dict) -> int:
    cpu = (((vmi.get("spec") or {}).get("domain") or {}).get("cpu") or {})
    return max(1, int(cpu.get("sockets") or 1) * int(cpu.get("cores") or 1) * int(cpu.get("threads") or 1))


def build_launcher_pod(api, vmi: dict, node: str, migration=None) -> dict:
    meta = vmi["metadata"]
    namespace = meta["namespace"]
    suffix = short_hash(meta["uid"] + ((migration or {}).get("metadata", {}).get("uid", "")))
    labels = {**(meta.get("labels") or {}), "kubevirt.io": "virt-launcher",
              "kubevirt.io/created-by": meta["uid"], "vm.kubevirt.io/name": meta["name"]}
    labels.pop("kubevirt.io/nodeName", None)
    if migration is not None:
        labels["kubevirt.io/migrationJobUID"] = migration["metadata"]["uid"]
    pod_volumes, mounts, devices = _pod_volumes(api, vmi)
    constraints = pod_constraints(vmi, (migration or {}).get("spec", {}).get("addedNodeSelector"))
    spec = {
        "nodeName": node,
        "nodeSelector": constraints["nodeSelector"],
        "automountServiceAccountToken": False,
        "restartPolicy": "Never",
        "terminationGracePeriodSeconds": int((vmi.get("spec") or {}).get("terminationGracePeriodSeconds", 180)) + 30,
        "readinessGates": [{"conditionType": "kubevirt.io/virtual-machine-unpaused"}],
        "securityContext": {"runAsUser": 107, "runAsGroup": 107, "fsGroup": 107, "runAsNonRoot": True},
        "containers": [_compute_container(vmi, mounts, devices)],
        "volumes": pod_volumes,
    }
    if len(meta["name"]) <= 63 and "." not in meta["name"]:
        spec["hostname"] = meta["name"]
    for key in ("affinity", "tolerations"):
        if constraints.get(key):
            spec[key] = copy.deepcopy(constraints[key])
    annotations = {"kubevirt.io/domain": meta["name"], "kubevirt.io/migrationTransportUnix": "true",
                   "kubectl.kubernetes.io/default-container": "compute",
                   "post.hook.backup.velero.io/container": "compute",
                   "pre.hook.backup.velero.io/container": "compute"}
    if net.networks_annotation(vmi):
        annotations[net.NETWORKS_ANNOTATION] = net.networks_annotation(vmi)
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": f"virt-launcher-{meta['name']}-{suffix}", "namespace": namespace,
                         "labels": labels, "annotations": annotations,
                         "ownerReferences": [owner_reference(vmi)]},
            "spec": spec}


def _pod_volumes(api, vmi: dict) -> tuple:
    """(pod volumes, volumeMounts, volumeDevices): virt-launcher's own directories, then each claim,
    mounted as a directory or, for a Block claim, passed as a device."""
    pod_volumes = [{"name": n, "emptyDir": {}} for n in ("private", "public", "sockets", "virt-bin-share-dir",
                                                         "libvirt-runtime", "ephemeral-disks", "container-disks",
                                                         "hotplug-disks")]
    mounts = [{"name": n, "mountPath": p} for n, p in (
        ("private", "/var/run/kubevirt-private"), ("public", "/var/run/kubevirt"),
        ("ephemeral-disks", "/var/run/kubevirt-ephemeral-disks"),
        ("container-disks", "/var/run/kubevirt/container-disks"),
        ("libvirt-runtime", "/var/run/libvirt"), ("sockets", "/var/run/kubevirt/sockets"),
        ("hotplug-disks", "/var/run/kubevirt/hotplug-disks"))]
    devices = []
    for volume_name, claim, _ in claims(vmi):
        pvc = api.get(*PVC, claim, vmi["metadata"]["namespace"])
        block = ((pvc or {}).get("spec") or {}).get("volumeMode") == "Block"
        pod_volumes.append({"name": volume_name, "persistentVolumeClaim": {"claimName": claim}})
        if block:
            devices.append({"name": volume_name, "devicePath": f"/dev/{volume_name}"})
        else:
            mounts.append({"name": volume_name, "mountPath": f"/var/run/kubevirt-private/vmi-disks/{volume_name}"})
    return pod_volumes, mounts, devices


def _compute_container(vmi: dict, mounts: list, devices: list) -> dict:
    meta = vmi["metadata"]
    memory = guest_memory(vmi) + 300 * 2**20  # guest memory plus virt-launcher's overhead
    return {
        "name": "compute", "image": LAUNCHER_IMAGE, "imagePullPolicy": "IfNotPresent",
        "command": ["/usr/bin/virt-launcher-monitor", "--qemu-timeout", "321s", "--name", meta["name"],
                    "--uid", meta["uid"], "--namespace", meta["namespace"], "--kubevirt-share-dir", "/var/run/kubevirt",
                    "--ephemeral-disk-dir", "/var/run/kubevirt-ephemeral-disks", "--container-disk-dir",
                    "/var/run/kubevirt/container-disks", "--grace-period-seconds", "195", "--hook-sidecars",
                    "0", "--ovmf-path", "/usr/share/OVMF", "--run-as-nonroot"],
        "resources": {"requests": {"cpu": f"{100 * _vcpus(vmi)}m", "memory": format_mib(memory),
                                   "ephemeral-storage": "50M"},
                      "limits": {"devices.kubevirt.io/kvm": "1", "devices.kubevirt.io/tun": "1",
                                 "devices.kubevirt.io/vhost-net": "1"}},
        "volumeMounts": mounts,
        **({"volumeDevices": devices} if devices else {}),
    }


def ensure_launcher_pod(api, vmi: dict, node: str, migration=None) -> dict:
    pod = build_launcher_pod(api, vmi, node, migration)
    return api.ensure(pod)


def run_pod(api, pod: dict) -> dict:
    """What the kubelet would report for a started virt-launcher pod."""
    if (pod.get("status") or {}).get("phase") == "Running":
        return pod
    node = api.get("v1", "Node", pod["spec"]["nodeName"])
    host_ip = node_address(node) if node else ""
    ip = pod_ip(pod["metadata"]["name"])
    stamp = now()
    conditions = [{"type": t, "status": "True", "lastProbeTime": None, "lastTransitionTime": stamp}
                  for t in ("kubevirt.io/virtual-machine-unpaused", "PodReadyToStartContainers", "Initialized",
                            "Ready", "ContainersReady", "PodScheduled")]
    status = {"phase": "Running", "conditions": conditions, "hostIP": host_ip, "hostIPs": [{"ip": host_ip}],
              "podIP": ip, "podIPs": [{"ip": ip}], "startTime": stamp,
              "containerStatuses": [{"name": "compute", "ready": True, "started": True, "restartCount": 0,
                                     "image": LAUNCHER_IMAGE, "imageID": LAUNCHER_IMAGE,
                                     "containerID": "cri-o://" + hashlib.sha256(pod["metadata"]["uid"].encode())
                                     .hexdigest(),
                                     "state": {"running": {"startedAt": stamp}}}]}
    return api.patch_status(pod, status)


def complete_pod(api, pod: dict, reason: str = "Completed") -> None:
    """The launcher exited (guest shut down or migrated away)."""
    if (pod.get("status") or {}).get("phase") in FINAL:
        return
    stamp = now()
    started = (((pod.get("status") or {}).get("containerStatuses") or [{}])[0].get("state") or {}).get(
        "running", {}).get("startedAt", stamp)
    status = {"phase": "Succeeded",
              "conditions": [{"type": t, "status": "False" if t in ("Ready", "ContainersReady") else "True",
                              "reason": "PodCompleted" if t in ("Ready", "ContainersReady") else None,
                              "lastProbeTime": None, "lastTransitionTime": stamp}
                             for t in ("kubevirt.io/virtual-machine-unpaused", "Initialized", "Ready",
                                       "ContainersReady", "PodScheduled")],
              "containerStatuses": [{"name": "compute", "ready": False, "started": False, "restartCount": 0,
                                     "image": LAUNCHER_IMAGE, "imageID": LAUNCHER_IMAGE,
                                     "state": {"terminated": {"exitCode": 0, "reason": reason,
                                                              "startedAt": started, "finishedAt": stamp}}}]}
    api.patch_status(pod, status)

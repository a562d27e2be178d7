"""Install the upstream CRDs and what an OpenShift 4.21 bare-metal cluster holds before our work.

Everything is written by server-side apply with strict field validation, so re-seeding is
harmless, CRDs over the 256 KiB last-applied annotation limit are fine, and a typo here fails.
"""

import hashlib
import os
import time
import uuid
from pathlib import Path

import yaml
from kubernetes.client import ApiClient

from lab import kubeconfig, paths, procs
from lab.rest import apply, request

OPENSHIFT_VERSION = "4.21.0"
KUBELET_VERSION = "v1.34.2"  # the Kubernetes minor OpenShift 4.21 ships
TRIDENT_VERSION = "26.06.0"
NAMESPACES = ("openshift-cnv", "openshift-mtv", "trident", "openshift-marketplace",
              "openshift-virtualization-os-images")
ZONES = ("lab-a", "lab-b", "lab-c")
# LAB_TRIDENT: how the lab's cluster gets Trident. "preinstalled" (the default, for the lab's own tests):
# it runs from the start, as if installed with tridentctl or Helm. "operator": the cluster has no Trident
# until the trident-operator from the catalog installs it for a TridentOrchestrator. The Trident CRDs
# are there in both modes (the lab's OLM does not unpack bundles, and its controllers watch them).
TRIDENT_MODES = ("preinstalled", "operator")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: 10x faster on 6 MB


def trident_mode() -> str:
    mode = os.environ.get("LAB_TRIDENT") or TRIDENT_MODES[0]
    if mode not in TRIDENT_MODES:
        raise ValueError(f"LAB_TRIDENT={mode!r}: use one of {', '.join(TRIDENT_MODES)}")
    return mode


# --- CRDs --------------------------------------------------------------------------------------

def crd_documents(root: Path = None) -> dict:
    """Every CustomResourceDefinition under the shared CRD folder, by name.

    The KubeVirt groups keep raw `*.openAPIV3Schema.yaml` files (no `kind`) next to the
    CRDs assembled from them in `assembled/`; only whole CRD documents are taken.
    """
    root = root or paths.crds_dir()
    if not root.is_dir():
        raise FileNotFoundError(f"the upstream CRDs are not at {root}: the lab reads them from shared/crds beside "
                                "the checkout (or set LAB_CRDS_DIR)")
    crds = {}
    for path in sorted(root.rglob("*.yaml")):
        text = path.read_text()
        if "CustomResourceDefinition" not in text:  # skip parsing the raw schema files
            continue
        for document in yaml.load_all(text, Loader=_YAML_LOADER):
            if not document or document.get("kind") != "CustomResourceDefinition":
                continue
            name = document["metadata"]["name"]
            if name in crds:
                raise ValueError(f"CRD {name} is defined twice ({path})")
            crds[name] = document
    return crds


def _established(crd: dict) -> bool:
    conditions = crd.get("status", {}).get("conditions", [])
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def wait_established(api: ApiClient, names, timeout=procs.START_TIMEOUT) -> None:
    pending = set(names)

    def check():
        listed = request(api, "GET", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions")
        pending.difference_update(c["metadata"]["name"] for c in listed["items"] if _established(c))
        return not pending

    procs.wait_until(check, f"CRDs to be Established ({len(pending)} pending)", timeout=timeout)


# --- cluster objects ---------------------------------------------------------------------------

def namespace(name: str) -> dict:
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def node(name: str, role: str, index: int) -> tuple:
    """A bare-metal RHCOS node as the kubelet registers it: (object, status)."""
    labels = {
        "beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/os": "linux",
        "kubernetes.io/arch": "amd64", "kubernetes.io/os": "linux",
        "kubernetes.io/hostname": name, "node.openshift.io/os_id": "rhcos",
        "topology.kubernetes.io/region": "lab", "topology.kubernetes.io/zone": ZONES[index],
    }
    spec = {}
    if role == "worker":
        labels |= {"node-role.kubernetes.io/worker": "", "kubevirt.io/schedulable": "true"}
        cpu, memory, address = "64", "263856224Ki", f"192.168.111.{30 + index}"
    else:
        labels |= {"node-role.kubernetes.io/master": "",
                   "node-role.kubernetes.io/control-plane": ""}
        # OpenShift keeps workloads off the control plane with the `master` role taint.
        spec["taints"] = [{"key": "node-role.kubernetes.io/master", "effect": "NoSchedule"}]
        cpu, memory, address = "16", "65689164Ki", f"192.168.111.{20 + index}"
    obj = {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name, "labels": labels},
           "spec": spec}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ids = uuid.uuid5(uuid.NAMESPACE_DNS, f"{name}.lab")
    condition = lambda type_, status, reason, message: {  # noqa: E731
        "type": type_, "status": status, "reason": reason, "message": message,
        "lastHeartbeatTime": now, "lastTransitionTime": now}
    status = {
        "capacity": {"cpu": cpu, "memory": memory, "pods": "250",
                     "ephemeral-storage": "936449Mi", "hugepages-1Gi": "0", "hugepages-2Mi": "0"},
        "allocatable": {"cpu": str(int(cpu) - 1), "memory": memory, "pods": "250",
                        "ephemeral-storage": "862545Mi", "hugepages-1Gi": "0",
                        "hugepages-2Mi": "0"},
        "conditions": [
            condition("MemoryPressure", "False", "KubeletHasSufficientMemory",
                      "kubelet has sufficient memory available"),
            condition("DiskPressure", "False", "KubeletHasNoDiskPressure",
                      "kubelet has no disk pressure"),
            condition("PIDPressure", "False", "KubeletHasSufficientPID",
                      "kubelet has sufficient PID available"),
            condition("Ready", "True", "KubeletReady", "kubelet is posting ready status"),
        ],
        "addresses": [{"type": "InternalIP", "address": address},
                      {"type": "Hostname", "address": name}],
        "nodeInfo": {
            "machineID": ids.hex, "systemUUID": str(ids), "bootID": str(uuid.uuid4()),
            "kernelVersion": "5.14.0-570.62.1.el9_6.x86_64",
            "osImage": "Red Hat Enterprise Linux CoreOS 9.6.20260113-0 (Plow)",
            "containerRuntimeVersion": "cri-o://1.34.2-2.rhaos4.21.git4b5c3c1.el9",
            "kubeletVersion": KUBELET_VERSION, "kubeProxyVersion": "",
            "operatingSystem": "linux", "architecture": "amd64",
        },
    }
    return obj, {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                 "status": status}


def nodes() -> list:
    return [node(f"{role}-{i}", role, i) for role in ("master", "worker") for i in range(3)]


def csi_driver() -> dict:
    # What Trident's installer creates (GetCSIDriverYAML): only attachRequired is set; the
    # API server defaults the rest (fsGroupPolicy ReadWriteOnceWithFSType, podInfoOnMount false,
    # volumeLifecycleModes [Persistent], ...), as on a real cluster.
    return {"apiVersion": "storage.k8s.io/v1", "kind": "CSIDriver",
            "metadata": {"name": "csi.trident.netapp.io",
                         "labels": {"app": "csi.trident.netapp.io"}},
            "spec": {"attachRequired": True}}


def trident_version() -> dict:
    # What Trident's controller keeps in its own namespace once it runs (the version record of its CRD
    # persistent store, kind TridentVersion, name "trident"): how a client finds where Trident runs.
    return {"apiVersion": "trident.netapp.io/v1", "kind": "TridentVersion",
            "metadata": {"name": "trident", "namespace": "trident"},
            "trident_version": TRIDENT_VERSION, "trident_api_version": "1", "publicationsSynced": True}


def _known_capabilities(crds: dict) -> list:
    schema = crds["clusterversions.config.openshift.io"]["spec"]["versions"][0]["schema"]
    status = schema["openAPIV3Schema"]["properties"]["status"]["properties"]
    return status["capabilities"]["properties"]["knownCapabilities"]["items"]["enum"]


def cluster_version(crds: dict) -> tuple:
    """ClusterVersion `version` of a cluster installed at 4.21 with every capability on."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    digest = hashlib.sha256(OPENSHIFT_VERSION.encode()).hexdigest()
    image = f"quay.io/openshift-release-dev/ocp-release@sha256:{digest}"
    channel = f"stable-{OPENSHIFT_VERSION.rsplit('.', 1)[0]}"
    release = {"version": OPENSHIFT_VERSION, "image": image,
               "channels": [channel, channel.replace("stable", "fast"),
                            channel.replace("stable", "eus")]}
    meta = {"apiVersion": "config.openshift.io/v1", "kind": "ClusterVersion",
            "metadata": {"name": "version"}}
    obj = {**meta, "spec": {"clusterID": str(uuid.uuid4()), "channel": channel}}
    condition = lambda type_, status, message: {  # noqa: E731
        "type": type_, "status": status, "lastTransitionTime": now, "message": message}
    capabilities = _known_capabilities(crds)
    status = {**meta, "status": {
        "desired": release,
        "history": [{"state": "Completed", "version": OPENSHIFT_VERSION, "image": image,
                     "startedTime": now, "completionTime": now, "verified": False}],
        "observedGeneration": 1,
        "versionHash": digest[:16],
        "availableUpdates": None,
        "capabilities": {"enabledCapabilities": capabilities, "knownCapabilities": capabilities},
        "conditions": [
            condition("Available", "True", f"Done applying {OPENSHIFT_VERSION}"),
            condition("Failing", "False", ""),
            condition("Progressing", "False", f"Cluster version is {OPENSHIFT_VERSION}"),
        ],
    }}
    return obj, status


def infrastructure(api_url: str) -> tuple:
    meta = {"apiVersion": "config.openshift.io/v1", "kind": "Infrastructure",
            "metadata": {"name": "cluster"}}
    networks = ["192.168.111.0/24"]
    obj = {**meta, "spec": {"cloudConfig": {"name": ""}, "platformSpec": {
        "type": "BareMetal", "baremetal": {"apiServerInternalIPs": ["192.168.111.5"],
                                           "ingressIPs": ["192.168.111.4"],
                                           "machineNetworks": networks}}}}
    status = {**meta, "status": {
        "infrastructureName": "lab-" + hashlib.sha256(api_url.encode()).hexdigest()[:5],
        "platform": "BareMetal",
        "platformStatus": {"type": "BareMetal", "baremetal": {
            "apiServerInternalIP": "192.168.111.5", "apiServerInternalIPs": ["192.168.111.5"],
            "ingressIP": "192.168.111.4", "ingressIPs": ["192.168.111.4"],
            "machineNetworks": networks,
            "loadBalancer": {"type": "OpenShiftManagedDefault"}}},
        "etcdDiscoveryDomain": "",
        # The lab's API server is where this cluster's API lives.
        "apiServerURL": api_url, "apiServerInternalURI": api_url,
        "controlPlaneTopology": "HighlyAvailable", "infrastructureTopology": "HighlyAvailable",
        "cpuPartitioning": "None",
    }}
    return obj, status


def run(kubeconfig_path: Path, api_url: str) -> None:
    crds = crd_documents()
    with kubeconfig.api_client(kubeconfig_path) as api:
        for name, crd in crds.items():
            apply(api, "customresourcedefinitions", crd)
        for name in NAMESPACES:
            apply(api, "namespaces", namespace(name))
        for obj, status in nodes():
            apply(api, "nodes", obj)
            apply(api, "nodes", status, "status")
        wait_established(api, crds)
        if trident_mode() == "preinstalled":
            apply(api, "csidrivers", csi_driver())
            apply(api, "tridentversions", trident_version())
        for plural, (obj, status) in (("clusterversions", cluster_version(crds)),
                                      ("infrastructures", infrastructure(api_url))):
            apply(api, plural, obj)
            apply(api, plural, status, "status")

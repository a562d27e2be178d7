"""A VMI's networks as KubeVirt v1.8.4 wires them: Multus attachments and interface status.

- Before the launcher pod exists, virt-controller renders it and looks up every Multus
  network's NetworkAttachmentDefinition (pkg/network/multus/nad.go NetworkToResource); a
  missing one fails the render, so no pod is created and the VMI stays Pending with
  `Synchronized=False`, reason FailedCreate (pkg/virt-controller/watch/vmi/lifecycle.go sync,
  pkg/controller/conditions.go CheckFailure).
- The launcher pod asks Multus for each secondary network under a hashed pod interface name
  (`k8s.v1.cni.cncf.io/networks`, pkg/network/multus/annotation.go,
  pkg/network/namescheme CreateHashedNetworkNameScheme).
- The status of each interface is its own: the pod network's reports the pod IP on `eth0`;
  a secondary one reports its own MAC, the `pod<hash>` interface, the info source
  "domain, multus-status", and an address only when its attachment's IPAM gave one
  (pkg/network/setup/netstat.go UpdateStatus, pkg/network/controllers/vmi.go UpdateVMIStatus).
  The lab's guests run no guest agent, so no address comes from inside the guest.
"""

import hashlib
import ipaddress
import json

NAD = ("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition")
NETWORKS_ANNOTATION = "k8s.v1.cni.cncf.io/networks"
FAILED_CREATE = "FailedCreate"
PRIMARY_POD_INTERFACE = "eth0"


def secondary_networks(vmi: dict) -> list:
    """vmispec.FilterMultusNonDefaultNetworks."""
    return [n for n in (vmi.get("spec") or {}).get("networks") or []
            if n.get("multus") and not n["multus"].get("default")]


def nad_namespaced_name(namespace: str, network_name: str) -> tuple:
    """multus.NetAttachDefNamespacedName: "ns/name", or a name in the VMI's namespace."""
    if "/" in network_name:
        other, name = network_name.split("/", 1)
        return other, name
    return namespace, network_name


def pod_interface_name(network_name: str) -> str:
    """namescheme.GenerateHashedInterfaceName: "pod" and 11 hex digits of sha256(network name)."""
    return "pod" + hashlib.sha256(network_name.encode()).hexdigest()[:11]


def missing_attachment_error(api, vmi: dict):
    """The render error of a VMI whose Multus network names a missing NetworkAttachmentDefinition."""
    namespace = vmi["metadata"]["namespace"]
    for network in (vmi.get("spec") or {}).get("networks") or []:
        if not network.get("multus"):
            continue
        nad_namespace, name = nad_namespaced_name(namespace, network["multus"].get("networkName", ""))
        if api.get(*NAD, name, nad_namespace) is None:
            return ("failed to render launch manifest: failed to locate network attachment definition "
                    f"{nad_namespace}/{name}")
    return None


def _interfaces_by_name(vmi: dict) -> dict:
    devices = ((vmi.get("spec") or {}).get("domain") or {}).get("devices") or {}
    return {i["name"]: i for i in devices.get("interfaces") or []}


def networks_annotation(vmi: dict):
    """multus.GenerateCNIAnnotation for the secondary networks (None when there is none)."""
    namespace = vmi["metadata"]["namespace"]
    interfaces = _interfaces_by_name(vmi)
    elements = []
    for network in secondary_networks(vmi):
        nad_namespace, name = nad_namespaced_name(namespace, network["multus"]["networkName"])
        element = {"name": name, "namespace": nad_namespace}
        mac = (interfaces.get(network["name"]) or {}).get("macAddress")
        if mac:
            element["mac"] = mac
        element["interface"] = pod_interface_name(network["name"])
        elements.append(element)
    return json.dumps(elements) if elements else None


def _ipam_address(api, namespace: str, network: dict, pod_name: str):
    """The address the attachment's IPAM hands the pod interface: a static one, or one of its range."""
    nad_namespace, name = nad_namespaced_name(namespace, network["multus"]["networkName"])
    nad = api.get(*NAD, name, nad_namespace) or {}
    try:
        ipam = json.loads((nad.get("spec") or {}).get("config") or "{}").get("ipam") or {}
    except ValueError:
        return None
    static = ipam.get("addresses") or []
    if static and static[0].get("address"):
        return static[0]["address"].split("/")[0]
    subnet = ipam.get("range") or ipam.get("subnet")
    if not subnet:
        return None  # no IPAM: the attachment is layer 2 only
    hosts = ipaddress.ip_network(subnet, strict=False)
    digest = int(hashlib.sha256(f"{pod_name}/{network['name']}".encode()).hexdigest(), 16)
    return str(hosts.network_address + 2 + digest % max(1, hosts.num_addresses - 3))


def interface_statuses(api, vmi: dict, pod: dict, pod_ip: str, mac_for) -> list:
    """vmi.status.interfaces: the pod network's first, then each interface with its own data."""
    spec = vmi.get("spec") or {}
    networks = {n["name"]: n for n in spec.get("networks") or []}
    statuses = []
    for interface in _interfaces_by_name(vmi).values():
        network = networks.get(interface["name"]) or {}
        status = {"name": interface["name"], "mac": interface.get("macAddress") or mac_for(interface["name"]),
                  "infoSource": "domain", "queueCount": 1, "linkState": "up"}
        if "pod" in network or (network.get("multus") or {}).get("default"):
            status.update({"ipAddress": pod_ip, "ipAddresses": [pod_ip], "podInterfaceName": PRIMARY_POD_INTERFACE})
            statuses.insert(0, status)
            continue
        if network.get("multus"):
            status.update({"infoSource": "domain, multus-status",
                           "podInterfaceName": pod_interface_name(network["name"])})
            address = _ipam_address(api, vmi["metadata"]["namespace"], network, pod["metadata"]["name"])
            if address:
                status.update({"ipAddress": address, "ipAddresses": [address]})
        statuses.append(status)
    return statuses

"""VMs on secondary (Multus) networks: a missing NetworkAttachmentDefinition, each interface's status."""

import hashlib
import json

from virt_helpers import VM, VMI, blank_vm, condition, launcher_pods, unique, wait_vm_running

NAD = ("k8s.cni.cncf.io/v1", "NetworkAttachmentDefinition")


def nad_body(name: str, ipam=None) -> dict:
    config = {"cniVersion": "0.3.1", "name": name, "type": "bridge", "bridge": "br-" + name[:10]}
    if ipam:
        config["ipam"] = ipam
    return {"apiVersion": NAD[0], "kind": NAD[1], "metadata": {"name": name}, "spec": {"config": json.dumps(config)}}


def vm_on(name: str, storage_class: str, attachments: dict) -> dict:
    """A VM on the pod network (masquerade) and, per {network name: NAD name}, a bridged secondary network."""
    body = blank_vm(name, storage_class)
    spec = body["spec"]["template"]["spec"]
    spec["domain"]["devices"]["interfaces"] = [{"name": "default", "masquerade": {}}] + \
        [{"name": network, "bridge": {}} for network in attachments]
    spec["networks"] = [{"name": "default", "pod": {}}] + \
        [{"name": network, "multus": {"networkName": nad}} for network, nad in attachments.items()]
    return body


def hashed_pod_interface(network: str) -> str:
    return "pod" + hashlib.sha256(network.encode()).hexdigest()[:11]


def test_a_missing_network_attachment_keeps_the_vmi_pending_without_a_pod(stack, kube, namespace):
    """KubeVirt v1.8.4 pkg/virt-controller/services/template.go RenderLaunchManifest calls
    pkg/network/multus/nad.go NetworkToResource, which fails with "failed to locate network
    attachment definition <ns>/<name>"; pkg/virt-controller/watch/vmi/lifecycle.go sync returns
    it as a FailedCreate sync error ("failed to render launch manifest: ...") without creating the
    pod, and updateStatus records it as Synchronized=False (pkg/controller/conditions.go
    CheckFailure) on a Pending VMI. The VM copies the VMI's conditions
    (pkg/virt-controller/watch/vm/vm.go syncConditions) and prints Starting (setPrintableStatus).
    Once the attachment exists, the next sync creates the pod and drops the condition."""
    name = unique("vm")
    kube.create(vm_on(name, stack.san, {"storage": "storage-net"}), namespace)
    expected = ("failed to render launch manifest: failed to locate network attachment definition "
                f"{namespace}/storage-net")
    vmi = kube.wait(*VMI, name, namespace, lambda v: condition(v, "Synchronized").get("reason") == "FailedCreate",
                    "to fail to create its pod", timeout=180)
    assert condition(vmi, "Synchronized")["status"] == "False"
    assert condition(vmi, "Synchronized")["message"] == expected
    assert vmi["status"]["phase"] == "Pending"
    assert launcher_pods(kube, namespace, name) == []
    vm = kube.wait(*VM, name, namespace, lambda v: condition(v, "Synchronized").get("message") == expected,
                   "to carry the VMI's Synchronized condition")
    assert vm["status"]["printableStatus"] == "Starting"

    kube.create(nad_body("storage-net"), namespace)
    wait_vm_running(kube, namespace, name)
    assert condition(kube.get(*VMI, name, namespace), "Synchronized") == {}


def test_each_interface_reports_its_own_addresses_and_pod_interface(stack, kube, namespace):
    """KubeVirt v1.8.4: the launcher pod asks Multus for each secondary network under
    namescheme.GenerateHashedInterfaceName ("pod" + 11 hex digits of sha256(network name);
    pkg/network/namescheme/networknamescheme.go) in `k8s.v1.cni.cncf.io/networks`
    (pkg/network/multus/annotation.go GenerateCNIAnnotation); pkg/network/controllers/vmi.go
    UpdateVMIStatus gives the primary interface podInterfaceName eth0 and each secondary one its
    hashed name with info source "multus-status" added to the domain's
    (pkg/network/vmispec/infosource.go AddInfoSource); pkg/network/setup/netstat.go UpdateStatus
    takes each interface's MAC from the domain and its addresses from its own pod interface
    (updateIfacesStatusFromPodCache): the attachment's IPAM address, none without IPAM."""
    name = unique("vm")
    kube.create(nad_body("l2-net"), namespace)
    kube.create(nad_body("static-net", {"type": "static", "addresses": [{"address": "192.168.77.5/24"}]}), namespace)
    kube.create(vm_on(name, stack.san, {"l2": "l2-net", "data": "static-net"}), namespace)
    wait_vm_running(kube, namespace, name)
    vmi = kube.get(*VMI, name, namespace)
    interfaces = {i["name"]: i for i in vmi["status"]["interfaces"]}
    pod = launcher_pods(kube, namespace, name)[0]

    primary = vmi["status"]["interfaces"][0]
    assert primary["name"] == "default" and primary["podInterfaceName"] == "eth0"
    assert primary["ipAddress"] == pod["status"]["podIP"] and primary["infoSource"] == "domain"

    for network in ("l2", "data"):
        assert interfaces[network]["podInterfaceName"] == hashed_pod_interface(network)
        assert interfaces[network]["infoSource"] == "domain, multus-status"
    assert "ipAddress" not in interfaces["l2"]
    assert interfaces["data"]["ipAddress"] == "192.168.77.5"
    assert len({i["mac"] for i in interfaces.values()}) == 3

    requested = json.loads(pod["metadata"]["annotations"]["k8s.v1.cni.cncf.io/networks"])
    assert requested == [{"name": "l2-net", "namespace": namespace, "interface": hashed_pod_interface("l2")},
                         {"name": "static-net", "namespace": namespace, "interface": hashed_pod_interface("data")}]

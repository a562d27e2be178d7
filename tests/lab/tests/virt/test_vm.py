"""VirtualMachines: from a boot source to a running guest on a worker, run strategies, refusals."""

import pytest
from kubernetes.client.exceptions import ApiException
from netapp_ontap import HostConnection
from netapp_ontap.resources import Lun

from virt_helpers import (DV, NODE, POD, PVC, VM, VMI, blank_vm, condition, launcher_pods, message, pvc_body, unique,
                          vm_body, wait_for, wait_vm_running, wait_vm_stopped)


def ontap_luns(lab, volume: str) -> list:
    endpoint = lab.vars["ontap"]
    admin = endpoint["cluster_admin"]
    with HostConnection(endpoint["hostname"], port=endpoint["http_port"], username=admin["username"],
                        password=admin["password"], verify=False):
        return [lun.name for lun in Lun.get_collection(**{"location.volume.name": volume})]


def test_vm_from_a_boot_source_runs_on_a_worker_with_ontap_disks(stack, kube, namespace, lab, api_warnings):
    name = unique("rhel9")
    kube.create(vm_body(name, stack.san), namespace)
    seen = []

    def running():
        vm = kube.get(*VM, name, namespace)
        printable = (vm.get("status") or {}).get("printableStatus")
        if printable and (not seen or seen[-1] != printable):
            seen.append(printable)
        return vm if printable == "Running" and vm["status"].get("ready") else None
    vm = wait_for(running, "the VM to run", timeout=180)
    assert seen[0] == "Provisioning" and "Starting" in seen, seen
    status = vm["status"]
    assert status["created"] is True and status["ready"] is True and status["runStrategy"] == "Always"
    assert condition(vm, "Ready")["status"] == "True"
    assert condition(vm, "LiveMigratable")["status"] == "True"
    assert status["volumeSnapshotStatuses"] == [{"name": "rootdisk", "enabled": True}]
    assert status["instancetypeRef"]["name"] == "u1.small"
    assert status["preferenceRef"]["name"] == "rhel.9"
    # The mutating webhook filled what virt-api fills.
    assert vm["spec"]["instancetype"]["kind"] == "virtualmachineclusterinstancetype"
    assert vm["spec"]["template"]["spec"]["architecture"] == "amd64"

    vmi = kube.get(*VMI, name, namespace)
    node = vmi["status"]["nodeName"]
    assert node.startswith("worker-")
    assert vmi["status"]["phase"] == "Running"
    assert [t["phase"] for t in vmi["status"]["phaseTransitionTimestamps"]] == \
        ["Pending", "Scheduling", "Scheduled", "Running"]
    assert vmi["spec"]["domain"]["cpu"]["sockets"] == 1 and vmi["spec"]["domain"]["memory"]["guest"] == "2Gi"
    assert vmi["metadata"]["labels"]["kubevirt.io/nodeName"] == node
    assert vmi["status"]["interfaces"][0]["ipAddress"]
    disk = vmi["status"]["volumeStatus"][0]
    assert disk["target"] == "vda" and disk["persistentVolumeClaimInfo"]["volumeMode"] == "Block"
    assert disk["persistentVolumeClaimInfo"]["accessModes"] == ["ReadWriteMany"]

    pods = launcher_pods(kube, namespace, name)
    assert len(pods) == 1
    pod = pods[0]
    assert pod["spec"]["nodeName"] == node
    assert pod["metadata"]["labels"]["kubevirt.io"] == "virt-launcher"
    assert pod["metadata"]["labels"]["kubevirt.io/created-by"] == vmi["metadata"]["uid"]
    assert pod["status"]["phase"] == "Running" and condition(pod, "Ready")["status"] == "True"
    assert pod["status"]["podIP"] == vmi["status"]["interfaces"][0]["ipAddress"]
    assert {"name": "rootdisk", "devicePath": "/dev/rootdisk"} in pod["spec"]["containers"][0]["volumeDevices"]

    dv = kube.get(*DV, f"{name}-rootdisk", namespace)
    assert dv["status"]["phase"] == "Succeeded"
    assert dv["metadata"]["ownerReferences"][0]["name"] == name
    claim = kube.get(*PVC, f"{name}-rootdisk", namespace)
    assert claim["spec"]["storageClassName"] == stack.san and claim["status"]["phase"] == "Bound"
    pv = kube.get("v1", "PersistentVolume", claim["spec"]["volumeName"])
    assert pv["spec"]["csi"]["driver"] == "csi.trident.netapp.io"
    internal = pv["spec"]["csi"]["volumeAttributes"]["internalName"]
    assert ontap_luns(lab, internal), f"no LUN in ONTAP volume {internal}"


def test_run_strategies_start_and_stop_the_vm(stack, kube, namespace):
    name = unique("vm")
    kube.create(blank_vm(name, stack.san, run_strategy="Halted"), namespace)
    vm = wait_vm_stopped(kube, namespace, name)
    assert vm["status"]["created"] is False and condition(vm, "Ready")["reason"] == "VMINotExists"
    kube.patch(*VM, name, namespace, {"spec": {"runStrategy": "Always"}})
    wait_vm_running(kube, namespace, name)
    pod = launcher_pods(kube, namespace, name)[0]["metadata"]["name"]
    seen = set()

    def stopped():
        vm = kube.get(*VM, name, namespace)
        seen.add(vm["status"]["printableStatus"])
        return vm["status"]["printableStatus"] == "Stopped" and kube.get(*VMI, name, namespace) is None
    kube.patch(*VM, name, namespace, {"spec": {"runStrategy": "Halted"}})
    wait_for(stopped, "the VM to stop")
    assert "Stopping" in seen or "Running" in seen
    wait_for(lambda: kube.get(*POD, pod, namespace) is None, "the launcher pod to go")
    # Manual: nothing starts by itself; a Start request (what virtctl start writes) starts it.
    kube.patch(*VM, name, namespace, {"spec": {"runStrategy": "Manual"}})
    kube.resource(*VM).status.patch(body={"status": {"stateChangeRequests": [{"action": "Start"}]}}, name=name,
                                    namespace=namespace, content_type="application/merge-patch+json")
    wait_vm_running(kube, namespace, name)
    uid = kube.get(*VMI, name, namespace)["metadata"]["uid"]
    kube.resource(*VM).status.patch(body={"status": {"stateChangeRequests": [{"action": "Stop", "uid": uid}]}},
                                    name=name, namespace=namespace, content_type="application/merge-patch+json")
    wait_vm_stopped(kube, namespace, name)


@pytest.mark.parametrize("strategy,restarts", [("RerunOnFailure", True), ("Once", False)])
def test_rerun_on_failure_restarts_and_once_does_not(stack, kube, namespace, strategy, restarts):
    name = unique("vm")
    kube.create(blank_vm(name, stack.san, run_strategy=strategy), namespace)
    wait_vm_running(kube, namespace, name)
    first = kube.get(*VMI, name, namespace)["metadata"]["uid"]
    kube.delete(*POD, launcher_pods(kube, namespace, name)[0]["metadata"]["name"], namespace)
    failed = kube.wait(*VMI, name, namespace, lambda v: v["metadata"]["uid"] != first or
                       v["status"].get("phase") == "Failed", "to fail or be replaced")
    if restarts:
        wait_for(lambda: (kube.get(*VMI, name, namespace) or {}).get("metadata", {}).get("uid") not in
                 (None, first), "a new VMI")
        wait_vm_running(kube, namespace, name)
    else:
        assert failed["status"]["phase"] == "Failed"
        vm = kube.wait(*VM, name, namespace, lambda v: v["status"]["printableStatus"] == "Stopped", "to be Stopped")
        assert vm["status"]["created"] is False
        assert kube.get(*VMI, name, namespace)["metadata"]["uid"] == first  # kept, not restarted


def test_always_restarts_a_vm_whose_guest_stopped(stack, kube, namespace):
    name = unique("vm")
    kube.create(blank_vm(name, stack.san), namespace)
    wait_vm_running(kube, namespace, name)
    first = kube.get(*VMI, name, namespace)["metadata"]["uid"]
    pod = launcher_pods(kube, namespace, name)[0]
    kube.delete(*POD, pod["metadata"]["name"], namespace)  # the launcher goes: the guest is gone
    restarted = wait_for(lambda: (kube.get(*VMI, name, namespace) or {}).get("metadata", {}).get("uid") not in
                         (None, first), "a new VMI")
    assert restarted
    wait_vm_running(kube, namespace, name)


def test_deprecated_running_field_still_works_with_a_warning(stack, kube, namespace, api_warnings):
    name = unique("vm")
    body = blank_vm(name, stack.san, run_strategy=None)
    body["spec"]["running"] = True
    kube.create(body, namespace)
    assert "spec.running is deprecated, please use spec.runStrategy instead." in api_warnings.take()
    vm = wait_vm_running(kube, namespace, name)
    assert vm["status"]["runStrategy"] == "Always"


def test_running_and_run_strategy_together_are_refused(stack, kube, namespace, api_warnings):
    body = blank_vm(unique("vm"), stack.san)
    body["spec"]["running"] = True
    with pytest.raises(ApiException) as refused:
        kube.create(body, namespace)
    api_warnings.take()
    assert refused.value.status == 422
    assert 'admission webhook "virtualmachine-validator.kubevirt.io" denied the request: Running and ' \
           "RunStrategy are mutually exclusive" in message(refused.value)


def test_unknown_instancetype_is_refused(stack, kube, namespace):
    with pytest.raises(ApiException) as refused:
        kube.create(blank_vm(unique("vm"), stack.san, instancetype="u9.huge"), namespace)
    assert refused.value.status == 422
    assert "Failure to find instancetype: virtualmachineclusterinstancetypes.instancetype.kubevirt.io " \
           '"u9.huge" not found' in message(refused.value)


def test_node_selector_and_workers_only(stack, kube, namespace):
    name = unique("vm")
    kube.create(blank_vm(name, stack.san, template_spec={"nodeSelector": {"kubernetes.io/hostname": "worker-2"}}),
                namespace)
    wait_vm_running(kube, namespace, name)
    assert kube.get(*VMI, name, namespace)["status"]["nodeName"] == "worker-2"
    masters = {n["metadata"]["name"] for n in kube.list(*NODE)
               if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"]}
    for pod in kube.list(*POD, label_selector="kubevirt.io=virt-launcher"):
        assert pod["spec"]["nodeName"] not in masters


def test_unschedulable_vmi_waits(stack, kube, namespace):
    name = unique("vm")
    kube.create(blank_vm(name, stack.san, template_spec={"nodeSelector": {"kubernetes.io/hostname": "master-0"}}),
                namespace)
    vmi = kube.wait(*VMI, name, namespace, lambda v: condition(v, "PodScheduled").get("reason") == "Unschedulable",
                    "to be unschedulable", timeout=120)
    assert vmi["status"]["phase"] == "Pending"
    assert kube.get(*VM, name, namespace)["status"]["printableStatus"] == "Starting"


def test_wait_for_first_consumer_disk_binds_on_the_vm_node(stack, kube, namespace):
    name = unique("wffc")
    kube.create(blank_vm(name, stack.wffc), namespace)
    wait_vm_running(kube, namespace, name)
    node = kube.get(*VMI, name, namespace)["status"]["nodeName"]
    claim = kube.get(*PVC, f"{name}-rootdisk", namespace)
    assert claim["metadata"]["annotations"]["volume.kubernetes.io/selected-node"] == node
    assert claim["status"]["phase"] == "Bound"


def test_deleting_the_vm_removes_its_instance_and_disks(stack, kube, namespace):
    name = unique("vm")
    kube.create(blank_vm(name, stack.san), namespace)
    wait_vm_running(kube, namespace, name)
    kube.delete(*VM, name, namespace)
    kube.wait_gone(*VM, name, namespace)
    kube.wait_gone(*VMI, name, namespace)
    wait_for(lambda: not launcher_pods(kube, namespace, name), "the launcher pod to go")
    kube.wait_gone(*DV, f"{name}-rootdisk", namespace)


def test_a_missing_claim_is_reported(stack, kube, namespace):
    name = unique("vm")
    body = blank_vm(name, stack.san, extra_disks=[("data", "no-such-claim")])
    kube.create(body, namespace)
    vm = kube.wait(*VM, name, namespace, lambda v: (v.get("status") or {}).get("printableStatus") ==
                   "ErrorPvcNotFound", "to report the missing claim")
    assert kube.get(*VMI, name, namespace) is None
    kube.create(pvc_body("no-such-claim", stack.san), namespace)
    wait_vm_running(kube, namespace, name)
    assert vm


@pytest.mark.parametrize("preference,bus,target", [("rhel.9", "virtio", "vda"), (None, "sata", "sda")])
def test_a_volume_without_disk_gets_a_default_disk(stack, kube, namespace, preference, bus, target):
    """KubeVirt v1.8.4 pkg/virt-controller/watch/vm/vm.go setupVMIFromVM calls
    util.SetDefaultVolumeDisk (pkg/util/util.go): a volume with no disk gets `{name}`; the
    preference then sets its bus (pkg/instancetype/preference/apply/disk.go applyDiskPreferences,
    preferredDiskBus), else the VMI mutator's defaults do (SetObjectDefaults: a disk target;
    pkg/defaults/amd64.go setDefaultAmd64DisksBus: SATA). virt-handler names the target by bus."""
    name = unique("vm")
    body = blank_vm(name, stack.san)
    body["spec"]["template"]["spec"]["domain"]["devices"]["disks"] = []
    if preference is None:
        del body["spec"]["preference"]
    kube.create(body, namespace)
    wait_vm_running(kube, namespace, name)
    vmi = kube.get(*VMI, name, namespace)
    assert vmi["spec"]["domain"]["devices"]["disks"] == [{"name": "rootdisk", "disk": {"bus": bus}}]
    assert [(v["name"], v["target"]) for v in vmi["status"]["volumeStatus"]] == [("rootdisk", target)]

"""The lab's vcsim holds the inventory Forklift's rules are exercised on (lab.vcsim_inventory).

Read back through pyVmomi with the properties Forklift's vSphere collector reads
(pkg/controller/provider/container/vsphere/model.go at v2.12.5).
"""

from pyVmomi import vim


def _vm(inventory, name: str) -> dict:
    return next(vm for vm in inventory.objects["vms"].values() if vm["name"] == name)


def _disks(vm: dict) -> list:
    return [d for d in vm["config.hardware.device"] if isinstance(d, vim.vm.device.VirtualDisk)]


def _extra(vm: dict) -> dict:
    return {option.key: option.value for option in vm["config.extraConfig"] or []}


def test_two_clusters_several_hosts_vmfs_and_nfs_datastores_two_port_groups(vsphere_inventory):
    """container/vsphere/model.go (v2.12.5) reads clusters, hosts, datastores (summary.type, NAS info) and
    networks; the procedure's source has several clusters and both datastore kinds."""
    objects = vsphere_inventory.objects
    clusters = {c["name"] for c in objects["clusters"].values()}
    assert {"DC0_C0", "DC0_C1"} <= clusters
    hosts_per_cluster = {}
    for host in objects["hosts"].values():
        hosts_per_cluster.setdefault(host["parent"]._moId, []).append(host["name"])
    assert sorted(len(names) for names in hosts_per_cluster.values() if len(names) > 1)[:2] == [2, 3]
    datastores = {d["name"]: d for d in objects["datastores"].values()}
    assert datastores["nfs_ds1"]["summary.type"] == "NFS"
    assert datastores["nfs_ds1"]["info"].nas.remoteHost == "127.0.0.1"
    networks = {n["name"] for n in objects["networks"].values()}
    assert {"VM Network", "DC0_DVPG0", "DC0_DVPG1"} <= networks


def test_rhel9_postgres_is_the_procedures_vm(vsphere_inventory):
    """The procedure migrates rhel9-postgres: 2 vCPU, 20 GB memory, one 20 GB disk; Forklift reads
    config.hardware.numCPU / memoryMB and the disks' capacityInBytes (model.go, v2.12.5)."""
    vm = _vm(vsphere_inventory, "rhel9-postgres")
    assert vm["config.hardware.numCPU"] == 2
    assert vm["config.hardware.memoryMB"] == 20480
    assert [d.capacityInBytes for d in _disks(vm)] == [20 * 1024 ** 3]
    assert vm["guest.toolsRunningStatus"] == "guestToolsRunning"
    assert vm["config.changeTrackingEnabled"] is True
    assert _extra(vm)["ctkEnabled"] == "TRUE" and _extra(vm)["scsi0:0.ctkEnabled"] == "TRUE"


def test_a_vm_spans_vmfs_and_nfs_and_two_port_groups(vsphere_inventory):
    """Disks on several datastores and NICs on several networks (model.go disk/NIC building, v2.12.5)."""
    vm = _vm(vsphere_inventory, "rhel9-web")
    datastores = {d.backing.datastore.name for d in _disks(vm)}
    assert datastores == {"LocalDS_0", "nfs_ds1"}
    nics = [d for d in vm["config.hardware.device"] if isinstance(d, vim.vm.device.VirtualEthernetCard)]
    assert len(nics) == 2


def test_each_concern_vm_carries_its_one_trait(vsphere_inventory):
    """What the rego rules read (validation/policies/io/konveyor/forklift/vmware/*.rego, v2.12.5):
    changeTrackingEnabled, snapshot, disk mode / sharing / RDM backing, USB and PCI passthrough devices,
    the VM name; tools status is read by the plan validation (GuestToolsIssue)."""
    inventory = vsphere_inventory
    assert _vm(inventory, "cbt-off")["config.changeTrackingEnabled"] is False
    assert _vm(inventory, "with-snapshot")["snapshot"].currentSnapshot is not None
    assert _vm(inventory, "tools-not-running")["guest.toolsRunningStatus"] == "guestToolsNotRunning"
    assert _vm(inventory, "tools-not-running")["runtime.powerState"] == "poweredOn"
    assert [d.backing.diskMode for d in _disks(_vm(inventory, "independent-disk"))] == [
        "persistent", "independent_persistent"]
    assert [d.backing.sharing for d in _disks(_vm(inventory, "shared-disk"))] == ["sharingNone", "sharingMultiWriter"]
    assert isinstance(_disks(_vm(inventory, "rdm-disk"))[1].backing,
                      vim.vm.device.VirtualDisk.RawDiskMappingVer1BackingInfo)
    assert any(isinstance(d, vim.vm.device.VirtualUSBController)
               for d in _vm(inventory, "usb-controller")["config.hardware.device"])
    assert any(isinstance(d, vim.vm.device.VirtualPCIPassthrough)
               for d in _vm(inventory, "pci-passthrough")["config.hardware.device"])
    assert _vm(inventory, "Legacy_App01")["name"] == "Legacy_App01"
    healthy = _vm(inventory, "rhel9-app")
    assert healthy["guest.toolsStatus"] == "toolsOk" and healthy["guest.ipAddress"] == "10.10.0.13"

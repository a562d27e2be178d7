"""The vSphere inventory the lab's vcsim holds: what Forklift's rules have to meet.

vcsim starts with its default vCenter model (datacenter DC0, cluster DC0_C0 with hosts
DC0_C0_H0..H2, standalone host DC0_H0, datastore LocalDS_0, "VM Network", switch DVS0 with
port group DC0_DVPG0, four generated VMs). `seed(lab)` adds, through pyVmomi as an admin
would through the vSphere API:

- cluster DC0_C1 with hosts DC0_C1_H0 and DC0_C1_H1;
- NFS datastore `nfs_ds1` (remote `NFS_REMOTE`) mounted on both clusters' hosts;
- port group DC0_DVPG1 on DVS0 (so VMs sit on two port groups: VM Network and the DVPGs);
- the VMs of `VMS`: `rhel9-postgres` as in the procedure (2 vCPU, 20 GiB memory, one 20 GiB
  disk), healthy VMs (tools running, CBT on for the VM and every disk, guest IP and host
  name) with one or several disks on LocalDS_0 and nfs_ds1, and one VM per concern.

Guest state goes through vcsim's `SET.<property>` ExtraConfig keys, which vcsim applies as
property updates instead of storing. With LAB_VCSIM_SCALE=1 a cluster DC0_SCALE of 20 hosts
with 1,000 small VMs is added for benchmarks (off by default).
"""

import os
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path

from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim

GiB = 1024 ** 3
NFS_DATASTORE = "nfs_ds1"
LOCAL_DATASTORE = "LocalDS_0"
NFS_REMOTE = ("127.0.0.1", "/vmware_nfs")  # inventory data only: nothing mounts it
VM_NETWORK = "VM Network"
DVPG0 = "DC0_DVPG0"
DVPG1 = "DC0_DVPG1"
SCALE_ENV = "LAB_VCSIM_SCALE"
SCALE_HOSTS = 20
SCALE_VMS = 1000


@dataclass(frozen=True)
class Disk:
    gib: int
    datastore: str = LOCAL_DATASTORE
    mode: str = "persistent"  # or independent_persistent / independent_nonpersistent
    sharing: str = "sharingNone"  # sharingMultiWriter: a disk several VMs write
    rdm: bool = False


@dataclass(frozen=True)
class SourceVm:
    name: str
    cluster: str = "DC0_C0"
    cpus: int = 1
    memory_mb: int = 2048
    disks: tuple = (Disk(10),)
    networks: tuple = (VM_NETWORK,)
    guest_id: str = "rhel9_64Guest"
    tools_running: bool = True
    cbt: bool = True
    powered_on: bool = True
    snapshot: bool = False
    usb: bool = False
    passthrough: bool = False
    ip: str = ""
    extra: dict = field(default_factory=dict)


VMS = (
    # Healthy: tools running, CBT on, guest IP.
    SourceVm("rhel9-postgres", cpus=2, memory_mb=20480, disks=(Disk(20),), ip="10.10.0.11"),
    SourceVm("rhel9-web", disks=(Disk(10), Disk(5, NFS_DATASTORE)), networks=(VM_NETWORK, DVPG0),
             ip="10.10.0.12"),
    SourceVm("rhel9-app", cluster="DC0_C1", cpus=4, memory_mb=8192,
             disks=(Disk(16, NFS_DATASTORE), Disk(8, NFS_DATASTORE), Disk(4, NFS_DATASTORE)),
             networks=(DVPG1,), ip="10.10.0.13"),
    SourceVm("win2022-files", cluster="DC0_C1", cpus=2, memory_mb=4096, guest_id="windows2019srvNext_64Guest",
             disks=(Disk(40, NFS_DATASTORE),), networks=(DVPG1,), ip="10.10.0.14"),
    SourceVm("rhel8-stopped", powered_on=False, tools_running=False, guest_id="rhel8_64Guest"),
    # One concern each.
    SourceVm("cbt-off", cbt=False, ip="10.10.0.21"),
    SourceVm("with-snapshot", snapshot=True, ip="10.10.0.22"),
    SourceVm("tools-not-running", tools_running=False),
    SourceVm("Legacy_App01", ip="10.10.0.24"),
    SourceVm("independent-disk", disks=(Disk(10), Disk(2, mode="independent_persistent")), ip="10.10.0.25"),
    SourceVm("rdm-disk", disks=(Disk(10), Disk(2, rdm=True)), ip="10.10.0.26"),
    SourceVm("shared-disk", disks=(Disk(10), Disk(2, sharing="sharingMultiWriter")), ip="10.10.0.27"),
    SourceVm("usb-controller", usb=True, ip="10.10.0.28"),
    SourceVm("pci-passthrough", passthrough=True, ip="10.10.0.29"),
)


def wait(task, timeout: float = 60.0):
    """The task's result once it succeeds (pyVim's WaitForTask chokes on vcsim's task names)."""
    deadline = time.monotonic() + timeout
    while task.info.state in ("queued", "running"):
        if time.monotonic() > deadline:
            raise TimeoutError(f"vSphere task {task} still {task.info.state} after {timeout:.0f} s")
        time.sleep(0.02)
    if task.info.state == "error":
        raise task.info.error
    return task.info.result


def scale_enabled() -> bool:
    return os.environ.get(SCALE_ENV) == "1"


def connect(host: str, port: int, user: str, password: str, cafile: str):
    return SmartConnect(host=host, port=port, user=user, pwd=password,
                        sslContext=ssl.create_default_context(cafile=cafile))


def seed(lab) -> None:
    """Add the lab's inventory to the running vcsim of `lab` (see the module docstring)."""
    service = connect(lab.vars["vcsim_host"], lab.vars["vcsim_port"], lab.vars["vcsim_username"],
                      lab.vars["vcsim_password"], lab.vars["ca_cert"])
    try:
        inventory = _Inventory(service.RetrieveContent(), lab.path("vcsim-datastores"))
        inventory.build()
        if scale_enabled():
            started = time.monotonic()
            inventory.build_scale()
            lab.vars["vcsim_scale_seconds"] = round(time.monotonic() - started, 1)
    finally:
        Disconnect(service)


class _Inventory:
    def __init__(self, content, datastore_dir: Path):
        self.content = content
        self.datacenter = content.rootFolder.childEntity[0]
        self.datastore_dir = datastore_dir

    def build(self) -> None:
        second = self.cluster("DC0_C1", hosts=2)
        self.nfs_datastore(self.named(vim.ClusterComputeResource, "DC0_C0").host + second.host)
        self.port_group(DVPG1, vlan=100)
        for source in VMS:
            self.vm(source)

    def build_scale(self) -> None:
        cluster = self.cluster("DC0_SCALE", hosts=SCALE_HOSTS)
        self.nfs_datastore(cluster.host)
        for index in range(SCALE_VMS):
            self.vm(SourceVm(f"scale-vm-{index:04d}", cluster="DC0_SCALE", disks=(Disk(1, NFS_DATASTORE),),
                             ip=f"10.20.{index // 250}.{index % 250 + 1}"))

    # --- lookups ---------------------------------------------------------------------------

    def named(self, kind, name: str):
        view = self.content.viewManager.CreateContainerView(self.content.rootFolder, [kind], True)
        try:
            return next(obj for obj in view.view if obj.name == name)
        finally:
            view.Destroy()

    # --- compute, storage, network ---------------------------------------------------------

    def cluster(self, name: str, hosts: int):
        cluster = self.datacenter.hostFolder.CreateClusterEx(name=name, spec=vim.cluster.ConfigSpecEx())
        for index in range(hosts):
            spec = vim.host.ConnectSpec(hostName=f"{name}_H{index}", userName="root", password="lab", force=True)
            wait(cluster.AddHost_Task(spec=spec, asConnected=True))
        switch = self.named(vim.DistributedVirtualSwitch, "DVS0")
        members = [vim.dvs.HostMember.ConfigSpec(operation="add", host=host) for host in cluster.host]
        wait(switch.ReconfigureDvs_Task(vim.DistributedVirtualSwitch.ConfigSpec(
            configVersion=switch.config.configVersion, host=members)))
        return cluster

    def nfs_datastore(self, hosts) -> None:
        """vcsim keeps a datastore's files in its local path (it must exist); the remote is data only."""
        local = self.datastore_dir / NFS_DATASTORE
        local.mkdir(parents=True, exist_ok=True)
        spec = vim.host.NasVolume.Specification(remoteHost=NFS_REMOTE[0], remotePath=NFS_REMOTE[1],
                                                localPath=str(local), accessMode="readWrite", type="NFS")
        for host in hosts:
            if any(ds.name == NFS_DATASTORE for ds in host.datastore):
                continue
            try:
                host.configManager.datastoreSystem.CreateNasDatastore(spec)
            except KeyError:
                # vcsim mounts an existing datastore on one more host but answers with an empty
                # reference (`<returnval type="">`), which pyVmomi cannot parse: check the mount instead.
                if not any(ds.name == NFS_DATASTORE for ds in host.datastore):
                    raise

    def port_group(self, name: str, vlan: int) -> None:
        switch = self.named(vim.DistributedVirtualSwitch, "DVS0")
        vlan_spec = vim.dvs.VmwareDistributedVirtualSwitch.VlanIdSpec(vlanId=vlan, inherited=False)
        spec = vim.dvs.DistributedVirtualPortgroup.ConfigSpec(
            name=name, type="earlyBinding", numPorts=32,
            defaultPortConfig=vim.dvs.VmwareDistributedVirtualSwitch.VmwarePortConfigPolicy(vlan=vlan_spec))
        wait(switch.AddDVPortgroup_Task([spec]))

    # --- VMs -------------------------------------------------------------------------------

    def vm(self, source: SourceVm):
        cluster = self.named(vim.ClusterComputeResource, source.cluster)
        for datastore in {disk.datastore for disk in source.disks[1:]} - {source.disks[0].datastore}:
            # CreateVM makes the VM's folder on its first datastore only; disks elsewhere need theirs.
            self.content.fileManager.MakeDirectory(name=f"[{datastore}] {source.name}", datacenter=self.datacenter,
                                                   createParentDirectories=True)
        devices = _controllers(source) + _disks(source) + [self.nic(name, index)
                                                            for index, name in enumerate(source.networks)]
        config = vim.vm.ConfigSpec(
            name=source.name, guestId=source.guest_id, numCPUs=source.cpus, memoryMB=source.memory_mb,
            files=vim.vm.FileInfo(vmPathName=f"[{source.disks[0].datastore}]"),
            changeTrackingEnabled=source.cbt, deviceChange=devices, extraConfig=_extra_config(source))
        task = self.datacenter.vmFolder.CreateVM_Task(config=config, pool=cluster.resourcePool,
                                                      host=cluster.host[0])
        vm = wait(task)
        if source.powered_on:
            wait(vm.PowerOnVM_Task())
        _guest_state(vm, source)
        if source.snapshot:
            wait(vm.CreateSnapshot_Task(name="before-upgrade", description="taken by the admin",
                                               memory=False, quiesce=False))
        return vm

    def nic(self, network_name: str, index: int):
        network = self.named(vim.Network, network_name)
        if isinstance(network, vim.dvs.DistributedVirtualPortgroup):
            backing = vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo(
                port=vim.dvs.PortConnection(portgroupKey=network.key,
                                            switchUuid=network.config.distributedVirtualSwitch.uuid))
        else:
            backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName=network_name,
                                                                           network=network)
        card = vim.vm.device.VirtualVmxnet3(key=-(100 + index), backing=backing)
        return vim.vm.device.VirtualDeviceSpec(operation="add", device=card)


SCSI_KEY = 1000  # vSphere numbers SCSI controllers 1000 + bus; vcsim keeps a key it is given


def _controllers(source: SourceVm) -> list:
    changes = [vim.vm.device.VirtualDeviceSpec(operation="add", device=vim.vm.device.ParaVirtualSCSIController(
        key=SCSI_KEY, busNumber=0, sharedBus="noSharing"))]
    if source.usb:
        changes.append(vim.vm.device.VirtualDeviceSpec(operation="add", device=vim.vm.device.VirtualUSBController(
            key=-2)))
    if source.passthrough:
        backing = vim.vm.device.VirtualPCIPassthrough.DeviceBackingInfo(
            id="0000:3b:00.0", deviceId="1eb8", systemId="lab", vendorId=0x10de, deviceName="NVIDIA T4")
        changes.append(vim.vm.device.VirtualDeviceSpec(operation="add", device=vim.vm.device.VirtualPCIPassthrough(
            key=-3, backing=backing)))
    return changes


def _disks(source: SourceVm) -> list:
    changes = []
    for unit, disk in enumerate(source.disks):
        path = f"[{disk.datastore}] {source.name}/{source.name}" + (f"_{unit}" if unit else "") + ".vmdk"
        if disk.rdm:
            backing = vim.vm.device.VirtualDisk.RawDiskMappingVer1BackingInfo(
                fileName=path, diskMode=disk.mode, compatibilityMode="physicalMode",
                deviceName=f"/vmfs/devices/disks/naa.600a0980383{unit:013d}", lunUuid=f"0200{unit:04d}")
        else:
            backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(
                fileName=path, diskMode=disk.mode, thinProvisioned=True, sharing=disk.sharing)
        device = vim.vm.device.VirtualDisk(key=-(10 + unit), controllerKey=SCSI_KEY, unitNumber=unit,
                                           capacityInKB=disk.gib * 1024 * 1024, backing=backing)
        changes.append(vim.vm.device.VirtualDeviceSpec(operation="add", fileOperation="create", device=device))
    return changes


def _extra_config(source: SourceVm) -> list:
    """CBT as the vSphere client turns it on: the VM's and each disk's ctkEnabled keys."""
    values = {"ctkEnabled": "TRUE" if source.cbt else "FALSE"}
    for unit, _ in enumerate(source.disks):
        values[f"scsi0:{unit}.ctkEnabled"] = "TRUE" if source.cbt else "FALSE"
    values.update(source.extra)
    return [vim.option.OptionValue(key=key, value=value) for key, value in values.items()]


def _guest_state(vm, source: SourceVm) -> None:
    """What VMware Tools would report, set through vcsim's SET.<property> keys."""
    values = {}
    if source.powered_on and source.tools_running:
        values.update({"SET.guest.toolsStatus": "toolsOk", "SET.guest.toolsRunningStatus": "guestToolsRunning",
                       "SET.guest.toolsVersionStatus2": "guestToolsCurrent",
                       "SET.guest.hostName": f"{source.name.lower()}.lab.local"})
        if source.ip:
            values["SET.guest.ipAddress"] = source.ip
    elif source.powered_on:
        values.update({"SET.guest.toolsStatus": "toolsNotRunning",
                       "SET.guest.toolsRunningStatus": "guestToolsNotRunning"})
    if values:
        spec = vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(key=k, value=v) for k, v in values.items()])
        wait(vm.ReconfigVM_Task(spec))

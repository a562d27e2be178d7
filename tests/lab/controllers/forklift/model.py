"""The inventory's vSphere documents, built from what vsphere.collect read, shaped like
Forklift's web resources (pkg/controller/provider/web/vsphere/*.go at v2.12.5) and filled as
its collector fills the model (pkg/controller/provider/container/vsphere/model.go)."""

from pyVmomi import vim

from lab.controllers.forklift.concerns import concerns

_KINDS = {vim.Datacenter: "Datacenter", vim.Folder: "Folder", vim.ClusterComputeResource: "Cluster",
          vim.ComputeResource: "ComputeResource", vim.HostSystem: "Host", vim.Datastore: "Datastore",
          vim.dvs.DistributedVirtualPortgroup: "Network", vim.Network: "Network",
          vim.DistributedVirtualSwitch: "Switch", vim.VirtualMachine: "VM",
          vim.vm.Snapshot: "VirtualMachineSnapshot", vim.ResourcePool: "ResourcePool"}
_BUSES = {vim.vm.device.VirtualIDEController: "ide", vim.vm.device.VirtualSATAController: "sata",
          vim.vm.device.VirtualNVMEController: "nvme", vim.vm.device.VirtualUSBController: "usb",
          vim.vm.device.VirtualSCSIController: "scsi"}
_TRACKED_DEVICES = (vim.vm.device.VirtualPCIPassthrough, vim.vm.device.VirtualSCSIPassthrough,
                    vim.vm.device.VirtualUSBController, vim.vm.device.VirtualSriovEthernetCard)


def ref(obj) -> dict:
    if obj is None:
        return {"kind": "", "id": ""}
    kind = next((name for cls, name in _KINDS.items() if isinstance(obj, cls)), type(obj).__name__)
    return {"kind": kind, "id": obj._moId}


def _resource(id_: str, props: dict) -> dict:
    return {"id": id_, "parent": ref(props.get("parent")), "revision": 1, "name": props.get("name", "")}


def _bus(controller) -> str:
    return next((bus for cls, bus in _BUSES.items() if isinstance(controller, cls)), "")


def _disk(device, controllers: dict, ctk_per_disk: set) -> dict:
    backing = device.backing
    bus = _bus(controllers.get(device.controllerKey))
    disk = {"key": device.key, "unitNumber": device.unitNumber, "controllerKey": device.controllerKey,
            "file": backing.fileName, "datastore": ref(backing.datastore), "capacity": device.capacityInBytes,
            "shared": getattr(backing, "sharing", "") not in ("", None, "sharingNone"),
            "rdm": isinstance(backing, vim.vm.device.VirtualDisk.RawDiskMappingVer1BackingInfo),
            "bus": bus, "mode": backing.diskMode or "", "parent": backing.parent.fileName if backing.parent else ""}
    disk["changeTrackingEnabled"] = f"{bus}{device.controllerKey % 100}:{device.unitNumber}" in ctk_per_disk
    return disk


def _ctk(extra: dict, config_value) -> tuple:
    """The VM's CBT flag and the disks (e.g. scsi0:1) whose ctkEnabled is true."""
    enabled = bool(config_value)
    per_disk = set()
    for key, value in extra.items():
        truth = str(value).strip().lower() in ("1", "t", "true")
        if key.lower() == "ctkenabled":
            enabled = truth
        elif key.lower().endswith(".ctkenabled") and truth and key.lower().startswith(("scsi", "sata", "ide", "nvme")):
            per_disk.add(key.split(".")[0].lower())
    return enabled, per_disk


def vm(id_: str, props: dict) -> dict:
    devices = props.get("config.hardware.device") or []
    extra = {o.key: o.value for o in props.get("config.extraConfig") or []}
    cbt, ctk_per_disk = _ctk(extra, props.get("config.changeTrackingEnabled"))
    controllers = {d.key: d for d in devices if isinstance(d, vim.vm.device.VirtualController)}
    disks = [_disk(d, controllers, ctk_per_disk) for d in devices if isinstance(d, vim.vm.device.VirtualDisk)]
    nics = [d for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard) and d.backing is not None]
    snapshot = props.get("snapshot")
    document = {
        **_resource(id_, props), "revisionValidated": 1, "isTemplate": bool(props.get("config.template")),
        "powerState": props.get("runtime.powerState", ""), "host": ref(props.get("runtime.host"))["id"],
        "networks": [_nic_network(n) for n in nics], "disks": disks,
        "uuid": props.get("config.uuid", ""), "instanceUuid": props.get("config.instanceUuid", ""),
        "firmware": props.get("config.firmware", ""), "connectionState": props.get("runtime.connectionState", ""),
        "snapshot": ref(snapshot.currentSnapshot) if snapshot and snapshot.currentSnapshot else {"kind": "", "id": ""},
        "changeTrackingEnabled": cbt, "consolidationNeeded": bool(props.get("runtime.consolidationNeeded")),
        "cpuHotAddEnabled": bool(props.get("config.cpuHotAddEnabled")),
        "cpuHotRemoveEnabled": bool(props.get("config.cpuHotRemoveEnabled")),
        "memoryHotAddEnabled": bool(props.get("config.memoryHotAddEnabled")),
        "cpuCount": props.get("config.hardware.numCPU", 0),
        "coresPerSocket": props.get("config.hardware.numCoresPerSocket", 0),
        "memoryMB": props.get("config.hardware.memoryMB", 0), "guestName": props.get("config.guestFullName") or "",
        "guestNameFromVmwareTools": props.get("guest.guestFullName") or "",
        "hostName": props.get("guest.hostName") or "",
        "guestId": props.get("config.guestId") or "", "ipAddress": props.get("guest.ipAddress") or "",
        "storageUsed": props.get("summary.storage.committed", 0),
        "devices": [{"kind": type(d).__name__.rsplit(".", 1)[-1], "key": d.key} for d in devices
                    if isinstance(d, _TRACKED_DEVICES)],
        "nics": [{"network": _nic_network(n), "mac": n.macAddress or "", "order": i, "deviceKey": n.key}
                 for i, n in enumerate(nics)],
        "guestNetworks": [{"device": n.macAddress, "mac": n.macAddress, "ip": ip}
                          for n in props.get("guest.net") or [] for ip in n.ipAddress or []],
        "toolsStatus": props.get("guest.toolsStatus") or "",
        "toolsRunningStatus": props.get("guest.toolsRunningStatus") or "",
        "toolsVersionStatus2": props.get("guest.toolsVersionStatus2") or "",
        "diskEnableUuid": str(extra.get("disk.EnableUUID", "")).lower() == "true",
    }
    document["concerns"] = concerns(document)
    return document


def _nic_network(nic) -> dict:
    backing = nic.backing
    if isinstance(backing, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo):
        return {"kind": "Network", "id": backing.port.portgroupKey}
    return ref(backing.network)


def host(id_: str, props: dict) -> dict:
    return {**_resource(id_, props), "cluster": ref(props.get("parent"))["id"],
            "status": "green" if props.get("runtime.connectionState") == "connected" else "red",
            "inMaintenance": bool(props.get("runtime.inMaintenanceMode")),
            "cpuSockets": props.get("summary.hardware.numCpuPkgs", 0),
            "cpuCores": props.get("summary.hardware.numCpuCores", 0),
            "memoryBytes": props.get("summary.hardware.memorySize", 0),
            "productName": props.get("config.product.name", ""),
            "productVersion": props.get("config.product.version", ""),
            "networks": [ref(n) for n in props.get("network") or []],
            "datastores": [ref(d) for d in props.get("datastore") or []],
            "vms": [ref(v) for v in props.get("vm") or []]}


def datastore(id_: str, props: dict) -> dict:
    info = props.get("info")
    document = {**_resource(id_, props), "type": props.get("summary.type", ""),
                "capacity": props.get("summary.capacity", 0), "free": props.get("summary.freeSpace", 0),
                "maintenance": props.get("summary.maintenanceMode", ""), "backingDevicesNames": []}
    if isinstance(info, vim.host.NasDatastoreInfo) and info.nas:
        document.update(nasRemoteHost=info.nas.remoteHost, nasRemotePath=info.nas.remotePath)
    return document


def network(id_: str, props: dict) -> dict:
    document = {**_resource(id_, props), "variant": "Standard", "vlanId": ""}
    if "key" in props:
        port_config = props.get("config.defaultPortConfig")
        vlan = getattr(getattr(port_config, "vlan", None), "vlanId", None)
        document.update(variant="DvPortGroup", key=props["key"],
                        dvSwitch=ref(props.get("config.distributedVirtualSwitch")),
                        vlanId=str(vlan) if isinstance(vlan, int) else "")
    return document


def plain(id_: str, props: dict) -> dict:
    return _resource(id_, props)


BUILDERS = {"vms": vm, "hosts": host, "datastores": datastore, "networks": network, "clusters": plain,
            "datacenters": plain, "folders": plain}


def build(snapshot) -> dict:
    """{kind: {id: document}} for the kinds the inventory serves."""
    return {kind: {id_: builder(id_, props) for id_, props in snapshot.objects.get(kind, {}).items()}
            for kind, builder in BUILDERS.items()}

# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The vSphere inventory a readiness assessment needs, read in bulk.

One ContainerView over the whole inventory and one PropertyCollector ``RetrievePropertiesEx``
for every kind at once (VMs, hosts, clusters, datastores, networks, folders, datacenters), paged
with ``ContinueRetrievePropertiesEx``: the number of vCenter round trips does not grow with the
number of VMs, only with the number of pages. ``vm_facts`` turns one VM's properties into the plain
facts the rules of ``readiness`` judge (the same facts an RVTools export gives, where it has them).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import fnmatch
import socket
import ssl
import time

try:
    from pyVim.connect import Disconnect, SmartConnect
    from pyVmomi import vim, vmodl
    HAS_PYVMOMI = True
except ImportError:  # pragma: no cover - the module reports it
    HAS_PYVMOMI = False

GiB = 1024 ** 3
MiB = 1024 ** 2
DEFAULT_PAGE_SIZE = 500
# runtime.faultToleranceState is left out: vcsim sends it empty, which pyVmomi cannot parse; config.ftInfo tells.
VM_PATHS = ("name", "parent", "config", "guest", "runtime.powerState", "runtime.host", "runtime.consolidationNeeded",
            "snapshot")
PATHS = {
    "VirtualMachine": VM_PATHS,
    "HostSystem": ("name", "parent"),
    "ClusterComputeResource": ("name", "configurationEx"),
    "Datastore": ("name", "summary.type"),
    "Network": ("name",),
    "Folder": ("name", "parent"),
    "Datacenter": ("name",),
}
BUSES = (("NVME", "nvme"), ("SATA", "sata"), ("IDE", "ide"), ("SCSI", "scsi"), ("LsiLogic", "scsi"),
         ("BusLogic", "scsi"))
INDEPENDENT_MODES = ("independent_persistent", "independent_nonpersistent")


class CountingStub(object):
    """Counts the SOAP calls made through a pyVmomi stub: every method call and property read is one round trip."""

    def __init__(self, stub):
        self.calls = 0
        self._invoke, self._access = stub.InvokeMethod, stub.InvokeAccessor
        stub.InvokeMethod = self._counted(self._invoke)
        stub.InvokeAccessor = self._counted(self._access)

    def _counted(self, call):
        def counted(*args, **kwargs):
            self.calls += 1
            return call(*args, **kwargs)
        return counted


def connect(hostname, username, password, port=443, validate_certs=True, ca_path=None, ca_cert=None, timeout=None):
    """(service instance, CountingStub) for vCenter at ``hostname``; ``timeout``: seconds each request may take."""
    if validate_certs:
        context = ssl.create_default_context(cafile=ca_path or None, cadata=ca_cert or None)
    else:
        context = ssl._create_unverified_context()  # pylint: disable=protected-access
    # pyVmomi applies httpConnectionTimeout to the session's requests but not to the version discovery SmartConnect
    # makes first, so the socket default covers that one (the module is a process of its own).
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(timeout)
    try:
        service = SmartConnect(host=hostname, port=port, user=username, pwd=password, sslContext=context,
                               httpConnectionTimeout=timeout)
    finally:
        socket.setdefaulttimeout(previous)
    return service, CountingStub(service._stub)  # pylint: disable=protected-access


def disconnect(service):
    Disconnect(service)


def retrieve_all(content, page_size=DEFAULT_PAGE_SIZE):
    """{kind: {moid: {path: value}}} for every object of PATHS's kinds, over one container view, paged."""
    kinds = [getattr(vim, kind) for kind in PATHS]
    view = content.viewManager.CreateContainerView(content.rootFolder, kinds, True)
    try:
        traversal = vmodl.query.PropertyCollector.TraversalSpec(
            name="view", type=vim.view.ContainerView, path="view", skip=False)
        spec = vmodl.query.PropertyCollector.FilterSpec(
            objectSet=[vmodl.query.PropertyCollector.ObjectSpec(obj=view, skip=True, selectSet=[traversal])],
            propSet=[vmodl.query.PropertyCollector.PropertySpec(type=getattr(vim, kind), pathSet=list(paths))
                     for kind, paths in PATHS.items()])
        collector = content.propertyCollector
        options = vmodl.query.PropertyCollector.RetrieveOptions(maxObjects=page_size)
        found = dict((kind, {}) for kind in PATHS)
        page = collector.RetrievePropertiesEx([spec], options)
        while page is not None:
            for item in page.objects or []:
                kind = _kind(item.obj)
                if kind in found:
                    found[kind][item.obj._moId] = dict((p.name, p.val) for p in item.propSet or [])
            if not page.token:
                break
            page = collector.ContinueRetrievePropertiesEx(page.token)
        return found
    finally:
        view.Destroy()


def _kind(obj):
    """The PATHS kind of a managed object (a DistributedVirtualPortgroup is a Network)."""
    for kind in PATHS:
        if isinstance(obj, getattr(vim, kind)):
            return kind
    return None


def _moid(ref):
    return getattr(ref, "_moId", None) if ref is not None else None


def _short_type(obj):
    return type(obj).__name__.split(".")[-1]


def _extra(config):
    return dict((o.key, str(o.value)) for o in (getattr(config, "extraConfig", None) or []))


def _is_true(text):
    return str(text).strip().upper() == "TRUE"


def _bus(controller):
    name = _short_type(controller)
    return next((bus for marker, bus in BUSES if marker in name), "scsi" if "SCSI" in name.upper() else "")


def _disk(device, controllers, datastores, extra):
    backing = device.backing
    controller = controllers.get(device.controllerKey)
    bus = _bus(controller) if controller is not None else ""
    bus_number = getattr(controller, "busNumber", 0) if controller is not None else 0
    capacity = device.capacityInBytes if getattr(device, "capacityInBytes", None) else (device.capacityInKB or 0) * 1024
    datastore_id = _moid(getattr(backing, "datastore", None))
    sharing = getattr(backing, "sharing", None)
    return {
        "key": device.key,
        "file": getattr(backing, "fileName", "") or "",
        "datastore": datastores.get(datastore_id, {}).get("name", "") if datastore_id else "",
        "datastore_id": datastore_id or "",
        "datastore_type": datastores.get(datastore_id, {}).get("summary.type", "") if datastore_id else "",
        "capacity_bytes": capacity,
        "mode": getattr(backing, "diskMode", "") or "",
        "rdm": isinstance(backing, vim.vm.device.VirtualDisk.RawDiskMappingVer1BackingInfo),
        "shared": sharing == "sharingMultiWriter",
        "bus": bus,
        "controller_key": device.controllerKey,
        "unit": device.unitNumber,
        # vSphere keeps a disk's CBT as ExtraConfig "<bus><bus number>:<unit>.ctkEnabled".
        "cbt": _is_true(extra.get("{0}{1}:{2}.ctkEnabled".format(bus, bus_number, device.unitNumber), "")),
    }


def _network_name(card, networks):
    backing = card.backing
    if isinstance(backing, vim.vm.device.VirtualEthernetCard.DistributedVirtualPortBackingInfo):
        key = backing.port.portgroupKey if backing.port else None
        return networks.get(key, {}).get("name", key or "")
    if isinstance(backing, vim.vm.device.VirtualEthernetCard.NetworkBackingInfo):
        moid = _moid(backing.network)
        return networks.get(moid, {}).get("name", getattr(backing, "deviceName", "") or "")
    return ""


def folder_path(moid, folders, datacenters):
    """'/DC0/vm/team-a' for a folder moid, from the folders' names and parents."""
    parts = []
    seen = set()
    while moid in folders and moid not in seen:
        seen.add(moid)
        parts.append(folders[moid].get("name", moid))
        moid = _moid(folders[moid].get("parent"))
    if moid in datacenters:
        parts.append(datacenters[moid].get("name", moid))
    return "/" + "/".join(reversed(parts))


def _cluster_facts(configuration):
    """DRS, DPM and the VMs under an enabled VM-host affinity rule of a cluster's configurationEx."""
    if configuration is None:
        return {"drs": False, "dpm": False, "host_affinity_vms": set()}
    groups = dict((g.name, [_moid(vm) for vm in getattr(g, "vm", None) or []])
                  for g in getattr(configuration, "group", None) or [] if isinstance(g, vim.cluster.VmGroup))
    affine = set()
    for rule in getattr(configuration, "rule", None) or []:
        if isinstance(rule, vim.cluster.VmHostRuleInfo) and rule.enabled is not False:
            affine.update(groups.get(rule.vmGroupName, []))
    drs = getattr(configuration, "drsConfig", None)
    dpm = getattr(configuration, "dpmConfigInfo", None)
    return {"drs": bool(drs and drs.enabled), "dpm": bool(dpm and dpm.enabled), "host_affinity_vms": affine}


def vm_facts(moid, props, inventory):
    """The plain facts the readiness rules read, from one VM's property-collector result."""
    config = props.get("config")
    guest = props.get("guest")
    extra = _extra(config)
    hardware = getattr(config, "hardware", None)
    devices = list(getattr(hardware, "device", None) or [])
    controllers = dict((d.key, d) for d in devices if isinstance(d, vim.vm.device.VirtualController))
    disks = [_disk(d, controllers, inventory["Datastore"], extra) for d in devices
             if isinstance(d, vim.vm.device.VirtualDisk)]
    nics = [_network_name(d, inventory["Network"]) for d in devices if isinstance(d, vim.vm.device.VirtualEthernetCard)]
    host_id = _moid(props.get("runtime.host"))
    host = inventory["HostSystem"].get(host_id, {})
    cluster_id = _moid(host.get("parent"))
    cluster = inventory["ClusterComputeResource"].get(cluster_id)
    cluster_facts = _cluster_facts(cluster.get("configurationEx")) if cluster else _cluster_facts(None)
    boot = getattr(config, "bootOptions", None)
    affinity = getattr(config, "cpuAffinity", None)
    ips = [ip for nic in getattr(guest, "net", None) or [] for ip in (nic.ipAddress or [])]
    if not ips and getattr(guest, "ipAddress", None):
        ips = [guest.ipAddress]
    return {
        "name": props.get("name", ""),
        "id": moid,
        "uuid": getattr(config, "uuid", "") or "",
        "template": bool(getattr(config, "template", False)),
        "folder": folder_path(_moid(props.get("parent")), inventory["Folder"], inventory["Datacenter"]),
        "cluster": cluster.get("name", "") if cluster else "",
        "host": host.get("name", ""),
        "power_state": str(props.get("runtime.powerState") or ""),
        "cpu": getattr(hardware, "numCPU", 0) or 0,
        "memory_mib": getattr(hardware, "memoryMB", 0) or 0,
        "guest_id": getattr(config, "guestId", None),
        "guest_name": getattr(config, "guestFullName", None),
        "guest_name_tools": getattr(guest, "guestFullName", None),
        "tools_running": getattr(guest, "toolsRunningStatus", "") == "guestToolsRunning",
        "host_name": getattr(guest, "hostName", None) or "",
        "ip_addresses": ips,
        # Forklift's model keeps a bool: a VM whose changeTrackingEnabled is unset counts as CBT off.
        "cbt": bool(getattr(config, "changeTrackingEnabled", False)),
        "disks": disks,
        "devices": sorted(set(_short_type(d) for d in devices)),
        "networks": nics,
        "firmware": getattr(config, "firmware", "") or "bios",
        "secure_boot": bool(getattr(boot, "efiSecureBootEnabled", False)),
        "tpm": any(_short_type(d) == "VirtualTPM" for d in devices),
        "cpu_hot_add": bool(getattr(config, "cpuHotAddEnabled", False)),
        "cpu_hot_remove": bool(getattr(config, "cpuHotRemoveEnabled", False)),
        "memory_hot_add": bool(getattr(config, "memoryHotAddEnabled", False)),
        "cpu_affinity": list(getattr(affinity, "affinitySet", None) or []),
        "numa_affinity": [n for n in extra.get("numa.nodeAffinity", "").split(",") if n.strip()],
        "disk_enable_uuid": _is_true(extra.get("disk.EnableUUID", "")),
        "snapshot": getattr(props.get("snapshot"), "currentSnapshot", None) is not None,
        "consolidation_needed": bool(props.get("runtime.consolidationNeeded")),
        "fault_tolerance": getattr(config, "ftInfo", None) is not None,
        "drs": cluster_facts["drs"],
        "dpm": cluster_facts["dpm"],
        "host_affinity": moid in cluster_facts["host_affinity_vms"],
        "guest_disks": [{"path": d.diskPath, "free_bytes": d.freeSpace or 0,
                         "key": (d.mappings[0].key if getattr(d, "mappings", None) else 0)}
                        for d in getattr(guest, "disk", None) or []],
    }


def select(vms, names=None, folders=None, clusters=None, patterns=None):
    """The VMs any of the selectors picks (all of them when none is given), templates left out, sorted by name."""
    names, folders, clusters, patterns = set(names or []), list(folders or []), set(clusters or []), patterns or []
    everything = not (names or folders or clusters or patterns)

    def picked(vm):
        return (everything or vm["name"] in names or vm["cluster"] in clusters
                or any(vm["folder"] == f or vm["folder"].startswith(f.rstrip("/") + "/")
                       or vm["folder"].rsplit("/", 1)[-1] == f for f in folders)
                or any(fnmatch.fnmatchcase(vm["name"], p) for p in patterns))
    return sorted((vm for vm in vms if not vm["template"] and picked(vm)), key=lambda vm: (vm["name"], vm["id"]))


def read_vms(content, page_size=DEFAULT_PAGE_SIZE):
    """Every VM's facts, from one paged retrieval."""
    inventory = retrieve_all(content, page_size)
    return [vm_facts(moid, props, inventory) for moid, props in inventory["VirtualMachine"].items()]


def enable_cbt(service, moid, timeout=300, progress=None):
    """Turn on changed block tracking of a VM (ReconfigVM_Task); vSphere applies it at the next power cycle or
    snapshot (stun/unstun)."""
    vm = vim.VirtualMachine(moid, service._stub)  # pylint: disable=protected-access
    task = vm.ReconfigVM_Task(vim.vm.ConfigSpec(changeTrackingEnabled=True))
    deadline = time.monotonic() + timeout
    next_note = time.monotonic() + 10
    while task.info.state in ("queued", "running"):
        if time.monotonic() > deadline:
            raise TimeoutError("enabling CBT on VM {0} still {1} after {2} s".format(moid, task.info.state, timeout))
        if progress and time.monotonic() > next_note:
            progress("waiting for vSphere to enable CBT on {0}".format(moid))
            next_note = time.monotonic() + 10
        time.sleep(0.2)
    if task.info.state == "error":
        raise RuntimeError(task.info.error.msg if task.info.error else "ReconfigVM_Task failed")

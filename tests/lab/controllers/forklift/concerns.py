"""VM concerns as Forklift's policy rules compute them from the inventory's VM document
(validation/policies/io/konveyor/forklift/vmware/*.rego at v2.12.5; our own code, one function
per rule file, each returning its concerns). Rules whose input vcsim cannot express are left
out (see the lab README)."""

import re

_NAME = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9.]*)?[A-Za-z0-9])?$")
_SUPPORTED_GUEST_ID = re.compile(r".*(rhel7guest|rhel7_64guest|rhel8guest|rhel8_64guest|rhel9guest|rhel9_64guest|"
                                 r"rhel10guest|rhel10_64guest|windows10.*guest|windows11.*guest|windows2016.*guest|"
                                 r"windows2019.*guest|windows2022.*guest|windows2025.*guest).*")
_SUPPORTED_GUEST_NAMES = ("red hat enterprise linux 7", "red hat enterprise linux 8", "red hat enterprise linux 9",
                          "red hat enterprise linux 10", "windows 10", "windows 11", "windows server 2016",
                          "windows server 2019", "windows server 2022", "windows server 2025")


def _concern(id_, category, label, assessment) -> dict:
    return {"id": id_, "category": category, "label": label, "assessment": assessment}


def changed_block_tracking(vm):
    if vm["changeTrackingEnabled"] is False:
        yield _concern("vmware.changed_block_tracking.disabled", "Warning", "Changed Block Tracking (CBT) not enabled",
                       "For VM warm migration, Changed Block Tracking (CBT) must be enabled in VMware.")


def changed_block_tracking_per_disk(vm):
    for disk in vm["disks"]:
        if disk["changeTrackingEnabled"] is False:
            key = f"{disk['bus']}{disk['controllerKey'] % 100}:{disk['unitNumber']}"
            yield _concern("vmware.changed_block_tracking.disk.disabled", "Warning",
                           f"Disk - {key} does not have CBT enabled",
                           "Changed Block Tracking (CBT) has not been enabled for this device. This feature is a "
                           "prerequisite for VM warm migration.")


def consolidation_needed(vm):
    if vm["consolidationNeeded"] is True:
        yield _concern("vmware.consolidation_needed", "Warning", "Snapshot consolidation required",
                       "VM has snapshots that require consolidation. This may cause delays between precopies.")


def disk_mode(vm):
    if any(d.get("mode") in ("independent_persistent", "independent_nonpersistent") for d in vm["disks"]):
        yield _concern("vmware.disk_mode.independent", "Warning", "Independent disk detected",
                       "Independent disks cannot be transferred using VDDK. If copy-offload (XCOPY) is enabled in the "
                       "migration plan, independent disks can be migrated. Otherwise, the disks must be changed to "
                       "'Dependent' mode in VMware before migration.")


def name(vm):
    if not (_NAME.match(vm["name"]) and len(vm["name"]) < 64):
        yield _concern("vmware.vm.name.invalid", "Warning", "Invalid VM Name",
                       "The VM name does not comply with the DNS subdomain name format. Edit the name or it will be "
                       "renamed automatically during the migration to meet RFC 1123. The VM name must be a maximum of "
                       "63 characters containing lowercase letters (a-z), numbers (0-9), periods (.), and hyphens "
                       "(-). The first and last character must be a letter or number. The name cannot contain "
                       "uppercase letters, spaces or special characters.")


def passthrough_device(vm):
    if any(d["kind"] == "VirtualPCIPassthrough" for d in vm["devices"]):
        yield _concern("vmware.passthrough_device.detected", "Critical", "Passthrough device detected",
                       "SCSI or PCI passthrough devices are not currently supported by Migration Toolkit for "
                       "Virtualization. The VM cannot be migrated unless the passthrough device is removed.")


def rdm_disk(vm):
    if any(d["rdm"] for d in vm["disks"]):
        yield _concern("vmware.disk.rdm.detected", "Warning", "Raw Device Mapped disk detected",
                       "RDM disks are not supported when using VDDK transfer. If copy-offload (XCOPY) is enabled in "
                       "the migration plan, RDM disks can be migrated. Otherwise, the RDM disks must be removed "
                       "before migration and reattached after.")


def shared_disk(vm):
    if any(d["shared"] is True for d in vm["disks"]):
        yield _concern("vmware.disk.shared.detected", "Warning", "Shared disk detected",
                       "The VM has a disk that is shared with another VM. Shared disks require special handling "
                       "during migration.")


def snapshot(vm):
    if vm["snapshot"].get("kind") == "VirtualMachineSnapshot":
        yield _concern("vmware.snapshot.detected", "Information", "VM snapshot detected",
                       "Online snapshots are not currently supported by OpenShift Virtualization. VM will be migrated "
                       "with current snapshot.")


def usb_controller(vm):
    if any(d["kind"] == "VirtualUSBController" for d in vm["devices"]):
        yield _concern("vmware.usb_controller.detected", "Warning", "USB controller detected",
                       "USB controllers are not currently supported by Migration Toolkit for Virtualization. The VM "
                       "can be migrated but the devices attached to the USB controller will not be migrated. "
                       "Administrators can configure this after migration.")


def ip_state(vm):
    if not vm["guestNetworks"]:
        yield _concern("vmware.vm_missing_ip.detected", "Warning", "VM is missing IP addresses",
                       "Static IP preservation requires the VM to be powered on and running VMware tools.")


def hostname(vm):
    if vm["hostName"] == "":
        yield _concern("vmware.hostname.empty", "Warning", "Empty Host Name",
                       "The 'hostname' field is missing or empty. The hostname might be renamed during migration.")
    if vm["hostName"] == "localhost.localdomain":
        yield _concern("vmware.hostname.default", "Warning", "Default Host Name",
                       "The 'hostname' is set to 'localhost.localdomain', which is a default value. The hostname "
                       "might be renamed during migration.")


def cpu_memory_hotplug(vm):
    if vm["cpuHotAddEnabled"] or vm["cpuHotRemoveEnabled"] or vm["memoryHotAddEnabled"]:
        yield _concern("vmware.cpu_memory.hotplug.enabled", "Warning", "CPU/Memory hotplug detected",
                       "Hot pluggable CPU or memory is not currently supported by Migration Toolkit for "
                       "Virtualization. You can reconfigure CPU or memory after migration.")


def disk_size(vm):
    for disk in vm["disks"]:
        if disk["capacity"] <= 0:
            yield _concern("vmware.disk.capacity.invalid", "Critical",
                           f"Disk '{disk['file']}' has an invalid capacity of {disk['capacity']} bytes",
                           f"Disk '{disk['file']}' has a capacity of {disk['capacity']} bytes, which is not "
                           "allowed. Capacity must be greater than zero.")


def vm_os(vm):
    def named_supported(text):
        return any(part in text.lower() for part in _SUPPORTED_GUEST_NAMES)
    tools_name = vm["guestNameFromVmwareTools"]
    supported = bool(_SUPPORTED_GUEST_ID.match(vm["guestId"].lower())) or named_supported(tools_name) or \
        (tools_name == "" and named_supported(vm["guestName"]))
    if not supported:  # guestId is always a string in the inventory, so the rule always has input
        yield _concern("vmware.os.unsupported", "Warning", "Unsupported operating system detected",
                       "The guest operating system is not currently supported by the Migration Toolkit for "
                       "Virtualization")


RULES = (changed_block_tracking, changed_block_tracking_per_disk, consolidation_needed, disk_mode, name,
         passthrough_device, rdm_disk, shared_disk, snapshot, usb_controller, ip_state, hostname,
         cpu_memory_hotplug, disk_size, vm_os)


def concerns(vm: dict) -> list:
    return [concern for rule in RULES for concern in rule(vm)]

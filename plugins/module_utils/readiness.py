# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Whether each VMware VM can move to OpenShift Virtualization on ONTAP, and what to fix first.

Every check is a small named function of one VM's facts (``vsphere_inventory.vm_facts``, or a row
of an RVTools export) and the target (``Target``) that returns the messages it raises; ``RULES``
is the one table that gives each its name, category and fix. The VMware rules restate, in our own
code, the conditions of Forklift's OPA policies (kubev2v/forklift v2.12.5,
``validation/policies/io/konveyor/forklift/vmware/<file>.rego``, named per rule); the others see
what those policies cannot: the ONTAP target's room, the class's volume mode, copy offload and
the target name in the target namespace.

A VM with a Critical reason is ``blocked``; with a Warning, ``ready_with_warnings``; Information
alone leaves it ``ready``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
from collections import namedtuple

from ansible_collections.ontap.virtualization.plugins.module_utils.names import to_dns1123_label

GiB = 1024 ** 3
MiB = 1024 ** 2
CRITICAL, WARNING, INFORMATION = "Critical", "Warning", "Information"
READY, WARNINGS, BLOCKED = "ready", "ready_with_warnings", "blocked"
# disk_count.rego: CNV limits a VM to 165 disks (CNV-91554).
MAX_DISKS = 165
# filesystem_size.rego, after virt-v2v's documented minimum free space for conversion (MiB).
MIN_FREE_MIB = {"/": 100, "/boot": 50, "c:": 100}
MIN_FREE_OTHER_MIB = 10
# vm_os.rego: the guest ids and names virt-v2v converts.
SUPPORTED_GUEST_IDS = re.compile(r"rhel(7|7_64|8|8_64|9|9_64|10|10_64)guest|windows(10|11|2016|2019|2022|2025).*guest")
SUPPORTED_GUEST_NAMES = ("red hat enterprise linux 7", "red hat enterprise linux 8", "red hat enterprise linux 9",
                         "red hat enterprise linux 10", "windows 10", "windows 11", "windows server 2016",
                         "windows server 2019", "windows server 2022", "windows server 2025")
# name.rego: a DNS-1123 subdomain of fewer than 64 characters.
VALID_NAME = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9.]*)?[A-Za-z0-9])?$")


class Target(object):
    """What the checks know of the target: free space, the class's limits and mode, names taken.

    ``free_bytes`` None means ONTAP was not asked; ``limit_volume_bytes`` None means no limit;
    ``block_rwx`` / ``copy_offload`` None mean no class was named. ``taken``: {name: the vSphere VM id it was
    migrated from, or None} for the VirtualMachines already in the target namespace.
    """

    def __init__(self, free_bytes=None, limit_volume_bytes=None, storage_class=None, block_rwx=None,
                 copy_offload=None, taken=None, namespace=None):
        self.free_bytes = free_bytes
        self.limit_volume_bytes = limit_volume_bytes
        self.storage_class = storage_class
        self.block_rwx = block_rwx
        self.copy_offload = copy_offload
        self.taken = dict(taken or {})
        self.namespace = namespace
        self.name_owners = {}  # target name -> the selected VMs that normalise to it


def target_name(vm):
    return to_dns1123_label(vm["name"])


def migrated(vm, target):
    """Whether the target namespace holds this VM's migration: a VirtualMachine of its target name that Forklift
    labelled with its vSphere id (kubevirt.go labels each VM it creates vmID=<the source VM's id>)."""
    name = target_name(vm)
    return name in target.taken and target.taken[name] == vm["id"]


def _gib(size):
    return round(float(size) / GiB, 2)


# --- Forklift's VMware rules ------------------------------------------------------------------

def check_cbt(vm, target):
    """changed_block_tracking.rego: the VM's changeTrackingEnabled is false."""
    return [] if vm["cbt"] else ["Changed Block Tracking (CBT) is not enabled on the VM; warm migration needs it."]


def check_cbt_disks(vm, target):
    """changed_block_tracking_per_disk.rego: a disk whose ctkEnabled is false, named <bus><controller>:<unit>."""
    return ["Disk {0}{1}:{2} ({3}) does not have CBT enabled; warm migration needs it.".format(
        d["bus"], d["controller_key"] % 100, d["unit"], d["file"]) for d in vm["disks"] if not d["cbt"]]


def check_consolidation(vm, target):
    """consolidation_needed.rego: runtime.consolidationNeeded."""
    return ["The VM's snapshots need consolidation; this may delay precopies."] if vm["consolidation_needed"] else []


def check_cpu_affinity(vm, target):
    """cpu_affinity.rego: a non-empty CPU affinity set."""
    return ["CPU affinity {0} will not be migrated.".format(vm["cpu_affinity"])] if vm["cpu_affinity"] else []


def check_hotplug(vm, target):
    """cpu_memory_hotplug.rego: CPU hot add or remove, or memory hot add, enabled."""
    found = [n for n, on in (("CPU hot add", vm["cpu_hot_add"]), ("CPU hot remove", vm["cpu_hot_remove"]),
                             ("memory hot add", vm["memory_hot_add"])) if on]
    return ["{0} enabled; hot-pluggable CPU or memory is not migrated.".format(", ".join(found))] if found else []


def check_datastore(vm, target):
    """datastore.rego: a disk with no datastore id."""
    return ["Disk {0} is not located on a datastore.".format(d["file"] or d["key"])
            for d in vm["disks"] if not d["datastore_id"]]


def check_disk_count(vm, target):
    """disk_count.rego: more than 165 disks."""
    count = len(vm["disks"])
    if count <= MAX_DISKS:
        return []
    return ["The VM has {0} disks; the target supports at most {1}.".format(count, MAX_DISKS)]


def check_disk_mode(vm, target):
    """disk_mode.rego: a disk in independent_persistent or independent_nonpersistent mode."""
    return ["Disk {0} is {1}; VDDK cannot transfer independent disks.".format(d["file"], d["mode"])
            for d in vm["disks"] if d["mode"] in ("independent_persistent", "independent_nonpersistent")]


def check_disk_serial(vm, target):
    """disk_serial_numbers.rego: disk.EnableUUID TRUE and at least one SCSI disk."""
    if vm["disk_enable_uuid"] and any(d["bus"] == "scsi" for d in vm["disks"]):
        return ["disk.EnableUUID is TRUE with SCSI disks; their serial numbers will be truncated."]
    return []


def check_disk_size(vm, target):
    """disk_size.rego: a disk of zero or negative capacity."""
    return ["Disk {0} has an invalid capacity of {1} bytes.".format(d["file"], d["capacity_bytes"])
            for d in vm["disks"] if d["capacity_bytes"] <= 0]


def check_dpm(vm, target):
    """dpm_enabled.rego: the host's cluster has DPM enabled."""
    return ["The VM's cluster uses vSphere DPM, which the target does not have."] if vm["dpm"] else []


def check_drs(vm, target):
    """drs_enabled.rego: the host's cluster has DRS enabled."""
    return ["The VM runs in a DRS-enabled cluster; DRS does not carry over."] if vm["drs"] else []


def check_fault_tolerance(vm, target):
    """fault_tolerance.rego: fault tolerance configured."""
    return ["Fault tolerance is configured; the target VM will not have it."] if vm["fault_tolerance"] else []


def check_filesystem_free(vm, target):
    """filesystem_size.rego: a guest filesystem with less free space than virt-v2v needs to convert."""
    found = []
    for disk in vm["guest_disks"]:
        path = disk["path"] or ""
        key = "c:" if path.lower() in ("c:", "c:\\", "c:/") else path
        need = MIN_FREE_MIB.get(key, MIN_FREE_OTHER_MIB)
        if disk["free_bytes"] < need * MiB:
            found.append("Filesystem '{0}' has {1} MiB free; conversion needs at least {2} MiB.".format(
                path, int(round(float(disk["free_bytes"]) / MiB)), need))
    return found


def check_guest_disk_mapping(vm, target):
    """guest_disk_mapping.rego: a Windows guest disk without a disk key mapping."""
    if "windows" not in (vm["guest_id"] or "").lower():
        return []
    return ["Guest disk '{0}' has no disk key mapping; winDriveLetter cannot name its PVC.".format(d["path"])
            for d in vm["guest_disks"] if not d["key"]]


def check_host_affinity(vm, target):
    """host_affinity.rego: the VM is in a VM group of an enabled VM-host affinity rule."""
    return ["The VM has a VM-host affinity rule, which is not migrated."] if vm["host_affinity"] else []


def check_hostname(vm, target):
    """hostname.rego: guest host name empty, or localhost.localdomain."""
    if vm["host_name"] == "":
        return ["The guest reports no host name; the VM may be renamed during migration."]
    if vm["host_name"] == "localhost.localdomain":
        return ["The guest's host name is the default localhost.localdomain; it may be renamed."]
    return []


def check_ip(vm, target):
    """ip_state.rego: no guest network (no IP address reported by VMware Tools)."""
    return [] if vm["ip_addresses"] else ["The VM reports no IP address; static IPs cannot be preserved."]


def check_name(vm, target):
    """name.rego: the name is not a DNS-1123 subdomain of fewer than 64 characters."""
    name = vm["name"]
    if VALID_NAME.match(name) and len(name) < 64:
        return []
    return ["'{0}' is not a valid Kubernetes name; it becomes '{1}'.".format(name, target_name(vm))]


def check_numa_affinity(vm, target):
    """numa_affinity.rego: a NUMA node affinity (ExtraConfig numa.nodeAffinity)."""
    if not vm["numa_affinity"]:
        return []
    return ["NUMA node affinity {0} is not migrated.".format(",".join(vm["numa_affinity"]))]


def check_passthrough(vm, target):
    """passthrough_device.rego: a VirtualPCIPassthrough device."""
    return ["The VM has a PCI passthrough device."] if "VirtualPCIPassthrough" in vm["devices"] else []


def check_rdm(vm, target):
    """rdm_disk.rego: a raw device mapping disk."""
    return ["Disk {0} is a raw device mapping; VDDK cannot transfer it.".format(d["file"])
            for d in vm["disks"] if d["rdm"]]


def check_shared_disk(vm, target):
    """shared_disk.rego: a disk shared with other VMs (multi-writer)."""
    return ["Disk {0} is shared with other VMs (multi-writer).".format(d["file"]) for d in vm["disks"] if d["shared"]]


def check_snapshot(vm, target):
    """snapshot.rego: the VM has a snapshot."""
    return ["The VM has snapshots; it is migrated in its current state, without them."] if vm["snapshot"] else []


def check_sriov(vm, target):
    """sriov_device.rego: a VirtualSriovEthernetCard."""
    return ["The VM has an SR-IOV network adapter."] if "VirtualSriovEthernetCard" in vm["devices"] else []


def check_tpm(vm, target):
    """tpm_enabled.rego: a TPM device; its data is not transferred."""
    return ["The VM has a TPM; its data (keys, BitLocker or LUKS bindings) is not transferred."] if vm["tpm"] else []


def check_usb(vm, target):
    """usb_controller.rego: a VirtualUSBController."""
    if "VirtualUSBController" not in vm["devices"]:
        return []
    return ["The VM has a USB controller; attached devices are not migrated."]


def _supported_os(vm):
    if vm["guest_id"] and SUPPORTED_GUEST_IDS.search(vm["guest_id"].lower()):
        return True
    name = vm["guest_name_tools"] or vm["guest_name"] or ""
    return any(s in name.lower() for s in SUPPORTED_GUEST_NAMES)


def check_os(vm, target):
    """vm_os.rego: a guest id or name that virt-v2v does not convert."""
    if not (vm["guest_id"] or vm["guest_name_tools"] or vm["guest_name"]) or _supported_os(vm):
        return []
    return ["Guest OS '{0}' is not supported by MTV's conversion.".format(
        vm["guest_name_tools"] or vm["guest_name"] or vm["guest_id"])]


# --- What Forklift's rules do not see -----------------------------------------------------------

def check_tools(vm, target):
    """Forklift's plan validator (pkg/controller/plan/validation.go, GuestToolsInstalled, v2.12.5) refuses a
    powered-on VM whose VMware Tools are not running."""
    if vm["power_state"] == "poweredOn" and not vm["tools_running"]:
        return ["The VM is powered on but VMware Tools are not running; MTV refuses it (GuestToolsIssue)."]
    return []


def check_firmware(vm, target):
    """UEFI firmware (and secure boot) carries over as an EFI target; worth knowing for the boot order."""
    if vm["firmware"] == "efi":
        return ["UEFI firmware{0}; the target VM boots with EFI{1}.".format(
            " with secure boot" if vm["secure_boot"] else "", " and secure boot (SMM)" if vm["secure_boot"] else "")]
    return []


def check_disk_limit(vm, target):
    """The Trident backend's limitVolumeSize: a larger PVC is refused at provisioning."""
    if target.limit_volume_bytes is None:
        return []
    return ["Disk {0} is {1} GiB; the class's Trident backend limits volumes to {2} GiB (limitVolumeSize).".format(
        d["file"], _gib(d["capacity_bytes"]), _gib(target.limit_volume_bytes))
        for d in vm["disks"] if d["capacity_bytes"] > target.limit_volume_bytes]


def check_ontap_space(vm, target):
    """The SVM's aggregates must hold the VM's disks (per wave, waves.fit_capacity sums them)."""
    if target.free_bytes is None:
        return []
    need = sum(d["capacity_bytes"] for d in vm["disks"])
    if need <= target.free_bytes:
        return []
    return ["The VM's disks need {0} GiB; the SVM's aggregates have {1} GiB free.".format(
        _gib(need), _gib(target.free_bytes))]


def check_block_rwx(vm, target):
    """Live migration in OpenShift Virtualization needs RWX; on ONTAP, Block RWX comes from ontap-san classes."""
    if target.block_rwx is False:
        return ["StorageClass '{0}' does not give Block ReadWriteMany; the VM will not live-migrate as Block "
                "RWX.".format(target.storage_class)]
    return []


def check_copy_offload(vm, target):
    """Forklift's vSphere XCOPY populator needs a SAN class on ONTAP and VMFS datastores on the same array."""
    if target.copy_offload is None:
        return []
    kinds = sorted(set(d.get("datastore_type") or "unknown" for d in vm["disks"]))
    if target.copy_offload and kinds == ["VMFS"]:
        return ["Copy offload (XCOPY) is possible for this VM's disks."]
    why = "class '{0}' is not an ONTAP SAN class".format(target.storage_class) if not target.copy_offload else \
        "its datastores are {0}, not VMFS".format(", ".join(kinds))
    return ["Copy offload is not possible: {0}; disks are copied over the network.".format(why)]


def check_target_name(vm, target):
    """The target name (DNS-1123) must be free in the target namespace and among the selected VMs."""
    name = target_name(vm)
    found = []
    if name in target.taken and not migrated(vm, target):
        found.append("A VirtualMachine '{0}' already exists in namespace '{1}'.".format(name, target.namespace))
    others = sorted(set(target.name_owners.get(name, ())) - {vm["name"]})
    if others:
        found.append("'{0}' and {1} all become '{2}'.".format(vm["name"], ", ".join(others), name))
    return found


def check_migrated(vm, target):
    if not migrated(vm, target):
        return []
    return ["Already migrated: VirtualMachine '{0}' in namespace '{1}' came from this VM.".format(
        target_name(vm), target.namespace)]


Rule = namedtuple("Rule", "name category check fix")

RULES = (
    Rule("changed_block_tracking", WARNING, check_cbt,
         "Enable CBT (fix: [cbt], or ctkEnabled=TRUE); it takes effect after the next power cycle or snapshot."),
    Rule("changed_block_tracking_per_disk", WARNING, check_cbt_disks,
         "Enable CBT on the VM (fix: [cbt]); each disk gets ctkEnabled after the next power cycle or snapshot."),
    Rule("consolidation_needed", WARNING, check_consolidation, "Consolidate the VM's snapshots in vSphere."),
    Rule("cpu_affinity", WARNING, check_cpu_affinity, "Set CPU pinning on the target VM after migration if needed."),
    Rule("cpu_memory_hotplug", WARNING, check_hotplug, "Disable CPU/memory hot plug, or accept; resize after."),
    Rule("datastore", CRITICAL, check_datastore, "Move the disk onto a datastore (Storage vMotion)."),
    Rule("disk_count", WARNING, check_disk_count, "Consolidate the VM's disks to at most 165."),
    Rule("disk_mode", WARNING, check_disk_mode, "Set the disk to Dependent mode, or use copy offload (XCOPY)."),
    Rule("disk_serial_numbers", INFORMATION, check_disk_serial,
         "Make the guest find disks by label or UUID, not by a full SCSI serial."),
    Rule("disk_size", CRITICAL, check_disk_size, "Remove or repair the disk of invalid capacity."),
    Rule("dpm_enabled", INFORMATION, check_dpm, "Nothing to fix; DPM does not exist on the target."),
    Rule("drs_enabled", INFORMATION, check_drs, "Nothing to fix; the scheduler places the VM on the target."),
    Rule("fault_tolerance", INFORMATION, check_fault_tolerance, "Turn fault tolerance off before migrating."),
    Rule("filesystem_size", CRITICAL, check_filesystem_free, "Free space on that guest filesystem."),
    Rule("guest_disk_mapping", INFORMATION, check_guest_disk_mapping,
         "Make VMware Tools report disk mappings, or leave winDriveLetter out of the PVC name template."),
    Rule("host_affinity", WARNING, check_host_affinity, "Set node affinity on the target VM after migration."),
    Rule("hostname", WARNING, check_hostname, "Set a real host name in the guest (and run VMware Tools)."),
    Rule("ip_state", WARNING, check_ip, "Power the VM on with VMware Tools running so its IPs are known."),
    Rule("name", WARNING, check_name, "Rename the VM in vSphere, or accept the normalised target name."),
    Rule("numa_affinity", WARNING, check_numa_affinity, "Remove numa.nodeAffinity, or set NUMA on the target."),
    Rule("passthrough_device", CRITICAL, check_passthrough, "Remove the PCI passthrough device before migrating."),
    Rule("rdm_disk", WARNING, check_rdm, "Use copy offload (XCOPY), or detach the RDM and reattach it after."),
    Rule("shared_disk", WARNING, check_shared_disk, "Migrate the VMs sharing the disk together, cold."),
    Rule("snapshot", INFORMATION, check_snapshot, "Delete or consolidate snapshots you do not need to keep."),
    Rule("sriov_device", WARNING, check_sriov, "Configure SR-IOV on the target network after migration."),
    Rule("tpm_enabled", WARNING, check_tpm, "Suspend BitLocker/LUKS TPM bindings before migrating."),
    Rule("usb_controller", WARNING, check_usb, "Remove the USB controller, or attach devices after migration."),
    Rule("vm_os", WARNING, check_os, "Upgrade the guest to a supported OS, or migrate at your own risk."),
    Rule("guest_tools", CRITICAL, check_tools, "Start VMware Tools in the guest, or power the VM off for cold."),
    Rule("uefi_firmware", INFORMATION, check_firmware, "Nothing to fix."),
    Rule("ontap_volume_limit", CRITICAL, check_disk_limit,
         "Raise limitVolumeSize on the Trident backend, or use a class whose backend allows the disk."),
    Rule("ontap_capacity", CRITICAL, check_ontap_space,
         "Add space to the SVM's aggregates, or choose an SVM/class with room."),
    Rule("block_rwx", WARNING, check_block_rwx, "Use an ontap-san StorageClass (Block RWX) for VM disks."),
    Rule("copy_offload", INFORMATION, check_copy_offload,
         "For XCOPY, use an ontap-san class and VMFS datastores on the same ONTAP system."),
    Rule("target_name", CRITICAL, check_target_name,
         "Rename one VM in vSphere, give it target_name in the plan, or choose another target namespace."),
    Rule("migrated", INFORMATION, check_migrated,
         "Nothing to do: its wave keeps it, and a rerun follows the plan that moved it instead of moving it again."),
)
RULE_NAMES = tuple(rule.name for rule in RULES)
CATEGORY_RANK = {CRITICAL: 0, WARNING: 1, INFORMATION: 2}


def status_of(reasons):
    categories = set(r["category"] for r in reasons)
    return BLOCKED if CRITICAL in categories else WARNINGS if WARNING in categories else READY


def assess_vm(vm, target, rules=RULES, skip=()):
    """The VM's row of the assessment: its facts, target name, status and reasons (each with its fix)."""
    reasons = []
    for rule in rules:
        if rule.name in skip:
            continue
        for message in rule.check(vm, target):
            reasons.append({"rule": rule.name, "category": rule.category, "message": message, "fix": rule.fix})
    reasons.sort(key=lambda r: CATEGORY_RANK[r["category"]])
    return {
        "name": vm["name"], "id": vm["id"], "folder": vm["folder"], "cluster": vm["cluster"], "host": vm["host"],
        "power_state": vm["power_state"], "status": status_of(reasons), "target_name": target_name(vm),
        "migrated": migrated(vm, target),
        "cpu": vm["cpu"], "memory_mib": vm["memory_mib"],
        "disk_gib": _gib(sum(d["capacity_bytes"] for d in vm["disks"])),
        "datastores": sorted(set(d["datastore"] for d in vm["disks"] if d["datastore"])),
        "networks": sorted(set(n for n in vm["networks"] if n)),
        "reasons": reasons,
    }


def add_reason(row, rule_name, message):
    """Add a reason found after the per-VM pass (a wave that does not fit) and recompute the status."""
    rule = next(r for r in RULES if r.name == rule_name)
    row["reasons"].append({"rule": rule.name, "category": rule.category, "message": message, "fix": rule.fix})
    row["reasons"].sort(key=lambda r: CATEGORY_RANK[r["category"]])
    row["status"] = status_of(row["reasons"])


def assess(vms, target, skip=()):
    """Rows for ``vms`` (sorted by name), with the clashes between their target names."""
    target.name_owners = {}
    for vm in vms:
        target.name_owners.setdefault(target_name(vm), []).append(vm["name"])
    return [assess_vm(vm, target, skip=skip) for vm in vms]


def summary(rows):
    counts = dict((status, sum(1 for r in rows if r["status"] == status)) for status in (READY, WARNINGS, BLOCKED))
    return {"total": len(rows), "ready": counts[READY], "ready_with_warnings": counts[WARNINGS],
            "blocked": counts[BLOCKED], "cpu": sum(r["cpu"] for r in rows),
            "memory_mib": sum(r["memory_mib"] for r in rows),
            "disk_gib": round(sum(r["disk_gib"] for r in rows), 2)}

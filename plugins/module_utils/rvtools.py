# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""VM facts from an RVTools export (.xlsx) instead of a live vCenter.

Each sheet is read once, in openpyxl's read-only mode, and each row is folded into the same plain
facts ``vsphere_inventory.vm_facts`` gives for a VM read from vCenter, so the rules of ``readiness``
run unchanged. An export holds less than vCenter: ``unanswered`` lists the rules it cannot answer,
and those rules are skipped rather than passed.

Sheet and column names are those of real RVTools exports, as read by kubev2v/migration-planner
(``internal/rvtools/vms.go``: vInfo's VM, Powerstate, Template, CPUs, Memory, CBT, Disks, "Total disk
capacity MiB", "OS according to the configuration file" / "OS according to the VMware Tools"; its
models of the vInfo, vCPU, vMemory, vDisk and vNetwork tables: VM ID, Firmware, FT State, DNS Name,
Primary IP Address, In Use MiB, Provisioned MiB, Folder, Cluster, Datacenter, HW version, EnableUUID;
vCPU's Hot Add / Hot Remove and vMemory's Hot Add; vDisk's Disk, Disk Key, Unit #, Capacity MiB, Raw,
Disk Mode, Sharing mode, Thin, Controller, Path; vNetwork's NIC label, Adapter, Network, Connected)
and by other RVTools readers found with the code search (vInfo Consolidation Needed, vSnapshot Name,
vUSB Device, vTools Tools, vPartition Disk / Capacity MiB / Free MiB, vDatastore Name / Type).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import re

try:
    import openpyxl
    HAS_OPENPYXL = True
except ImportError:  # pragma: no cover - the module reports it
    HAS_OPENPYXL = False

from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

MiB = 1024 ** 2
SOURCE = "rvtools"
# Sheets read, with the columns each must have when it is present. vInfo and vDisk must be present.
REQUIRED_SHEETS = ("vInfo", "vDisk")
COLUMNS = {
    "vInfo": ("VM", "Powerstate", "Template", "CPUs", "Memory", "Host", "Cluster",
              "OS according to the configuration file"),
    "vDisk": ("VM", "Disk", "Capacity MiB", "Raw", "Disk Mode", "Sharing mode", "Path"),
    "vNetwork": ("VM", "Network"),
    "vSnapshot": ("VM", "Name"),
    "vUSB": ("VM",),
    "vTools": ("VM", "Tools"),
    "vCPU": ("VM",),
    "vMemory": ("VM",),
    "vPartition": ("VM", "Disk", "Free MiB"),
    "vDatastore": ("Name", "Type"),
}
# vCD is not read: no rule judges CD-ROM drives (Forklift's rules have none).

# Rules an export cannot answer whatever it holds, and why.
NEVER_ANSWERED = {
    # vDisk has no per-disk ctkEnabled column; only vInfo's CBT of the VM.
    "changed_block_tracking_per_disk": "no per-disk CBT column",
    # vCPU shows the affinity in none of the columns readers rely on; NUMA is ExtraConfig, never exported.
    "cpu_affinity": "no CPU affinity column",
    "numa_affinity": "numa.nodeAffinity is ExtraConfig, which RVTools does not export",
    # Cluster DRS / DPM and VM-host rules are cluster configuration (vCluster is not read), not VM rows.
    "drs_enabled": "cluster configuration is not read",
    "dpm_enabled": "cluster configuration is not read",
    "host_affinity": "VM-host rules are not exported",
    # Guest disk mapping needs the guest id (windows*) and VMware Tools' disk keys; vInfo has OS names only.
    "guest_disk_mapping": "no guest id or disk key mapping",
    # No sheet lists PCI passthrough, SR-IOV adapters or a vTPM device.
    "passthrough_device": "no PCI passthrough device list",
    "sriov_device": "no SR-IOV adapter type",
    "tpm_enabled": "no TPM device list",
}
# Rules answered when the export has these (sheet, column) pairs; missing, the rule is unanswered.
ANSWERED_BY = {
    "changed_block_tracking": (("vInfo", "CBT"),),
    "consolidation_needed": (("vInfo", "Consolidation Needed"),),
    "disk_serial_numbers": (("vInfo", "EnableUUID"), ("vDisk", "Controller")),
    "fault_tolerance": (("vInfo", "FT State"),),
    "hostname": (("vInfo", "DNS Name"),),
    "ip_state": (("vInfo", "Primary IP Address"),),
    "uefi_firmware": (("vInfo", "Firmware"),),
    "snapshot": (("vSnapshot", "VM"),),
    # vUSB lists the USB devices of each VM: a VM in it has a USB controller (one with no device attached is not
    # listed, so a VM absent from vUSB may still have a controller).
    "usb_controller": (("vUSB", "VM"),),
    "guest_tools": (("vTools", "Tools"),),
    "cpu_memory_hotplug": (("vCPU", "Hot Add"), ("vCPU", "Hot Remove"), ("vMemory", "Hot Add")),
    "filesystem_size": (("vPartition", "Free MiB"),),
    "copy_offload": (("vDatastore", "Type"),),
}
# vSphere's VirtualMachineToolsStatus values that mean the tools run (toolsOld: running, but outdated).
TOOLS_RUNNING = ("toolsok", "toolsold", "guesttoolsrunning")
_DATASTORE = re.compile(r"^\[([^\]]+)\]")
_CONTROLLER = re.compile(r"(nvme|sata|ide|scsi)\D*(\d+)", re.IGNORECASE)


def _bool(value):
    if isinstance(value, bool):
        return value
    return str(value or "").strip().lower() in ("true", "yes", "1")


def _number(value):
    try:
        return float(str(value).replace(",", "").strip()) if value not in (None, "") else 0.0
    except ValueError:
        return 0.0


def _text(value):
    return "" if value is None else str(value).strip()


def read_sheets(path):
    """{sheet: (columns, [row dicts])} of the sheets in COLUMNS that the workbook has; one pass over each."""
    if not os.path.isfile(path):
        raise ModuleError("RVTools export '{0}' does not exist or is not a file: check rvtools.".format(path))
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # pylint: disable=broad-except
        raise ModuleError("'{0}' is not an .xlsx workbook ({1}): give rvtools the .xlsx file RVTools "
                          "exported.".format(path, exc))
    try:
        missing = [name for name in REQUIRED_SHEETS if name not in book.sheetnames]
        if missing:
            raise ModuleError("'{0}' is not an RVTools export: it has no {1} sheet (sheets: {2}). Export all tabs "
                              "from RVTools and give that .xlsx file.".format(
                                  path, " or ".join(missing), ", ".join(book.sheetnames) or "none"))
        return dict((name, _table(path, book[name])) for name in COLUMNS if name in book.sheetnames)
    finally:
        book.close()


def _table(path, sheet):
    rows = sheet.iter_rows(values_only=True)
    header = [_text(cell) for cell in next(rows, ())]
    lacking = [column for column in COLUMNS[sheet.title] if column not in header]
    if lacking:
        raise ModuleError("Sheet {0} of RVTools export '{1}' has no column {2}: export it with RVTools' default "
                          "columns.".format(sheet.title, path, ", ".join("'{0}'".format(c) for c in lacking)))
    table = [dict(zip(header, row)) for row in rows]
    return set(header), [row for row in table if _text(row.get(COLUMNS[sheet.title][0]))]


def unanswered(sheets):
    """Names of the rules this export cannot answer, sorted."""
    missing = set(name for name, pairs in ANSWERED_BY.items()
                  if any(sheet not in sheets or column not in sheets[sheet][0] for sheet, column in pairs))
    return sorted(missing | set(NEVER_ANSWERED))


# --- one function per sheet: a row into the facts ------------------------------------------------

def vm_from_info(row):
    """A VM's facts from its vInfo row; the lists are filled from the other sheets."""
    folder = _text(row.get("Folder"))
    return {
        "name": _text(row["VM"]),
        # RVTools' VM ID is the moid (vm-123); older exports have the VM UUID only.
        "id": _text(row.get("VM ID")) or _text(row.get("VM UUID")) or _text(row["VM"]),
        "uuid": _text(row.get("VM UUID")),
        "template": _bool(row["Template"]),
        "folder": folder if folder.startswith("/") or not folder else "/" + folder,
        "cluster": _text(row["Cluster"]),
        "host": _text(row["Host"]),
        "power_state": _text(row["Powerstate"]),
        "cpu": int(_number(row["CPUs"])),
        "memory_mib": int(_number(row["Memory"])),
        "guest_id": None,
        "guest_name": _text(row["OS according to the configuration file"]) or None,
        "guest_name_tools": _text(row.get("OS according to the VMware Tools")) or None,
        "tools_running": False,
        "host_name": _text(row.get("DNS Name")),
        "ip_addresses": [ip for ip in [_text(row.get("Primary IP Address"))] if ip],
        "cbt": _bool(row.get("CBT")),
        "disks": [],
        "devices": [],
        "networks": [],
        "firmware": _text(row.get("Firmware")).lower() or "bios",
        "secure_boot": _bool(row.get("EFI Secure boot")),
        "tpm": False,
        "cpu_hot_add": False,
        "cpu_hot_remove": False,
        "memory_hot_add": False,
        "cpu_affinity": [],
        "numa_affinity": [],
        "disk_enable_uuid": _bool(row.get("EnableUUID")),
        "snapshot": False,
        "consolidation_needed": _bool(row.get("Consolidation Needed")),
        # FT State is vSphere's faultToleranceState: notConfigured unless FT is set up.
        "fault_tolerance": _text(row.get("FT State")) not in ("", "notConfigured"),
        "drs": False,
        "dpm": False,
        "host_affinity": False,
        "guest_disks": [],
    }


def disk_from_row(row, datastore_types):
    """A vDisk row as a disk fact; the datastore is the [name] that starts the VMDK path."""
    path = _text(row["Path"])
    found = _DATASTORE.match(path)
    datastore = found.group(1) if found else ""
    controller = _CONTROLLER.search(_text(row.get("Controller")))
    return {
        "key": int(_number(row.get("Disk Key"))),
        "file": path,
        "datastore": datastore,
        # An export has no moid: the name stands for it (empty when the disk is not on a datastore).
        "datastore_id": datastore,
        "datastore_type": datastore_types.get(datastore, ""),
        "capacity_bytes": int(_number(row["Capacity MiB"]) * MiB),
        "mode": _text(row["Disk Mode"]).lower().replace(" ", "_"),
        "rdm": _bool(row["Raw"]),
        "shared": _text(row["Sharing mode"]) == "sharingMultiWriter",
        "bus": controller.group(1).lower() if controller else "",
        "controller_key": int(controller.group(2)) if controller else 0,
        "unit": int(_number(row.get("Unit #"))),
        "cbt": False,
    }


def add_network(vm, row):
    vm["networks"].append(_text(row["Network"]))


def add_snapshot(vm, row):
    vm["snapshot"] = True


def add_usb(vm, row):
    if "VirtualUSBController" not in vm["devices"]:
        vm["devices"].append("VirtualUSBController")


def add_tools(vm, row):
    vm["tools_running"] = _text(row["Tools"]).lower() in TOOLS_RUNNING


def add_cpu(vm, row):
    vm["cpu_hot_add"], vm["cpu_hot_remove"] = _bool(row.get("Hot Add")), _bool(row.get("Hot Remove"))


def add_memory(vm, row):
    vm["memory_hot_add"] = _bool(row.get("Hot Add"))


def add_partition(vm, row):
    vm["guest_disks"].append({"path": _text(row["Disk"]), "free_bytes": int(_number(row["Free MiB"]) * MiB),
                              "key": int(_number(row.get("Disk Key")))})


ADDERS = (("vNetwork", add_network), ("vSnapshot", add_snapshot), ("vUSB", add_usb), ("vTools", add_tools),
          ("vCPU", add_cpu), ("vMemory", add_memory), ("vPartition", add_partition))


def _owner(vms_by_name, row):
    """The VM a row of another sheet belongs to: by name, and by VM UUID when two VMs share a name."""
    named = vms_by_name.get(_text(row["VM"]), [])
    if len(named) > 1 and _text(row.get("VM UUID")):
        return next((vm for vm in named if vm["uuid"] == _text(row.get("VM UUID"))), None)
    return named[0] if named else None


def read_vms(path):
    """(facts of every VM in the export, templates included, and the rules it cannot answer)."""
    sheets = read_sheets(path)
    datastore_types = dict((_text(row["Name"]), _text(row["Type"])) for row in sheets.get("vDatastore", ((), []))[1])
    vms = [vm_from_info(row) for row in sheets["vInfo"][1]]
    by_name = {}
    for vm in vms:
        by_name.setdefault(vm["name"], []).append(vm)
    for row in sheets["vDisk"][1]:
        owner = _owner(by_name, row)
        if owner is not None:
            owner["disks"].append(disk_from_row(row, datastore_types))
    for sheet, add in ADDERS:
        for row in sheets.get(sheet, ((), []))[1]:
            owner = _owner(by_name, row)
            if owner is not None:
                add(owner, row)
    return vms, unanswered(sheets)

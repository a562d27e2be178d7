"""The RVTools input of migration_assessment: small .xlsx exports built with openpyxl, read into VM facts and judged.

Sheet and column names are those real RVTools exports have, as kubev2v/migration-planner reads them
(``internal/rvtools/vms.go`` for vInfo; its vInfo / vDisk / vNetwork models); the rules are
``readiness``'s, after kubev2v/forklift v2.12.5 ``validation/policies/io/konveyor/forklift/vmware/<rule>.rego``.
"""

import json
import sys

import openpyxl
import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import readiness, rvtools
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

from test_readiness import _disk, facts, vm_props

INFO = ["VM", "Powerstate", "Template", "CPUs", "Memory", "NICs", "Disks", "Provisioned MiB", "In Use MiB", "Host",
        "Cluster", "Datacenter", "Folder", "OS according to the configuration file",
        "OS according to the VMware Tools", "Firmware", "HW version", "CBT", "Consolidation Needed", "FT State",
        "DNS Name", "Primary IP Address", "EnableUUID", "VM ID", "VM UUID", "Annotation"]
DISK = ["VM", "VM UUID", "Disk", "Disk Key", "Capacity MiB", "Raw", "Disk Mode", "Sharing mode", "Thin", "Controller",
        "Unit #", "Path"]
SHEETS = {
    "vInfo": INFO,
    "vDisk": DISK,
    "vNetwork": ["VM", "NIC label", "Adapter", "Network", "Connected"],
    "vSnapshot": ["VM", "Name"],
    "vCD": ["VM", "Connected"],
    "vUSB": ["VM", "Device"],
    "vTools": ["VM", "Tools", "Upgradeable"],
    "vCPU": ["VM", "CPUs", "Hot Add", "Hot Remove"],
    "vMemory": ["VM", "Size MiB", "Hot Add"],
    "vPartition": ["VM", "Disk", "Capacity MiB", "Free MiB"],
    "vDatastore": ["Name", "Type"],
}
RHEL9 = "Red Hat Enterprise Linux 9 (64-bit)"


def info(name="rhel9-db", **changes):
    """The vInfo row of a healthy VM, as a dict of column -> cell, with changes."""
    row = {"VM": name, "Powerstate": "poweredOn", "Template": False, "CPUs": 2, "Memory": 4096, "NICs": 1,
           "Disks": 1, "Provisioned MiB": 10240, "In Use MiB": 5120, "Host": "esx-1", "Cluster": "prod",
           "Datacenter": "DC0", "Folder": "/DC0/vm/team-a", "OS according to the configuration file": RHEL9,
           "OS according to the VMware Tools": RHEL9, "Firmware": "bios", "HW version": "vmx-19", "CBT": True,
           "Consolidation Needed": False, "FT State": "notConfigured", "DNS Name": "db.example.com",
           "Primary IP Address": "10.0.0.5", "EnableUUID": False, "VM ID": "vm-" + name, "VM UUID": "4200-" + name,
           "Annotation": ""}
    row.update(changes)
    return row


def disk(vm="rhel9-db", unit=0, mib=10240, **changes):
    row = {"VM": vm, "Disk": "Hard disk %d" % (unit + 1), "Disk Key": 2000 + unit, "Capacity MiB": mib, "Raw": False,
           "Disk Mode": "persistent", "Sharing mode": "sharingNone", "Thin": True, "Controller": "SCSI controller 0",
           "Unit #": unit, "Path": "[ds1] vm/vm_%d.vmdk" % unit}
    row.update(changes)
    return row


def export(path, vms=None, disks=None, drop=(), lacking=(), **extra):
    """Write an RVTools-like workbook: each sheet's header then its rows (write-only, as RVTools writes plain cells).

    ``extra`` gives rows for the other sheets by name; ``drop`` leaves sheets out; ``lacking`` leaves out columns
    given as (sheet, column).
    """
    rows = {"vInfo": vms if vms is not None else [info()], "vDisk": disks if disks is not None else [disk()],
            "vNetwork": [{"VM": "rhel9-db", "NIC label": "Network adapter 1", "Adapter": "Vmxnet3",
                          "Network": "VM Network", "Connected": True}],
            "vTools": [{"VM": r["VM"], "Tools": "toolsOk", "Upgradeable": False}
                       for r in (vms if vms is not None else [info()])],
            "vDatastore": [{"Name": "ds1", "Type": "VMFS"}],
            "vCPU": [{"VM": "rhel9-db", "CPUs": 2, "Hot Add": False, "Hot Remove": False}],
            "vMemory": [{"VM": "rhel9-db", "Size MiB": 4096, "Hot Add": False}]}
    rows.update(extra)
    book = openpyxl.Workbook(write_only=True)
    for name, header in SHEETS.items():
        if name in drop:
            continue
        columns = [c for c in header if (name, c) not in lacking]
        sheet = book.create_sheet(name)
        sheet.append(columns)
        for row in rows.get(name, []):
            sheet.append([row.get(c) for c in columns])
    book.save(str(path))
    return str(path)


def assess(path, target=None):
    vms, unanswered = rvtools.read_vms(path)
    rows = readiness.assess([vm for vm in vms if not vm["template"]], target or readiness.Target(), skip=unanswered)
    return dict((row["name"], row) for row in rows), unanswered


def rules(row):
    return set(r["rule"] for r in row["reasons"])


# --- reading -------------------------------------------------------------------------------------

def test_a_healthy_vm_is_ready_and_the_template_is_read_as_one(tmp_path):
    path = export(tmp_path / "x.xlsx", vms=[info(), info("golden-rhel9", Template=True)],
                  disks=[disk(), disk("golden-rhel9")])
    vms, unanswered = rvtools.read_vms(path)
    by_name = dict((vm["name"], vm) for vm in vms)
    assert by_name["golden-rhel9"]["template"] and not by_name["rhel9-db"]["template"]
    vm = by_name["rhel9-db"]
    assert (vm["id"], vm["folder"], vm["cluster"], vm["host"], vm["cpu"], vm["memory_mib"]) == (
        "vm-rhel9-db", "/DC0/vm/team-a", "prod", "esx-1", 2, 4096)
    assert vm["disks"][0]["datastore"] == "ds1" and vm["disks"][0]["datastore_type"] == "VMFS"
    assert vm["disks"][0]["capacity_bytes"] == 10 * 1024 ** 3 and vm["networks"] == ["VM Network"]
    rows = assess(path)[0]
    assert list(rows) == ["rhel9-db"]
    assert rows["rhel9-db"]["status"] == readiness.READY and rows["rhel9-db"]["reasons"] == []
    assert rows["rhel9-db"]["disk_gib"] == 10.0 and rows["rhel9-db"]["datastores"] == ["ds1"]


def test_the_templates_are_left_out_of_the_selection(tmp_path):
    from ansible_collections.ontap.virtualization.plugins.module_utils import vsphere_inventory as inventory

    path = export(tmp_path / "x.xlsx", vms=[info(), info("golden-rhel9", Template="True")])
    vms = rvtools.read_vms(path)[0]
    assert [vm["name"] for vm in inventory.select(vms, folders=["team-a"])] == ["rhel9-db"]


def test_two_vms_of_one_name_get_their_own_rows_by_vm_uuid(tmp_path):
    """Two datacenters may each have a VM of the same name; the other sheets' rows carry the VM UUID."""
    path = export(tmp_path / "x.xlsx", vms=[info(Datacenter="DC0"), info(Datacenter="DC1", **{"VM UUID": "other"})],
                  disks=[disk(mib=1024, **{"VM UUID": "4200-rhel9-db"}), disk(mib=2048, **{"VM UUID": "other"}),
                         disk(unit=1, mib=4096, **{"VM UUID": "other"})])
    vms = rvtools.read_vms(path)[0]
    assert sorted((vm["uuid"], len(vm["disks"]), sum(d["capacity_bytes"] for d in vm["disks"]) // 2 ** 20)
                  for vm in vms) == [("4200-rhel9-db", 1, 1024), ("other", 2, 6144)]


# (rule, category, export changes) - each export differs from the healthy one in the one respect the rule reads.
CASES = [
    ("changed_block_tracking", "Warning", dict(vms=[info(CBT=False)])),  # changed_block_tracking.rego
    ("consolidation_needed", "Warning", dict(vms=[info(**{"Consolidation Needed": True})])),
    ("cpu_memory_hotplug", "Warning", dict(vCPU=[{"VM": "rhel9-db", "Hot Add": True}])),  # cpu_memory_hotplug.rego
    ("cpu_memory_hotplug", "Warning", dict(vMemory=[{"VM": "rhel9-db", "Hot Add": "True"}])),
    ("datastore", "Critical", dict(disks=[disk(Path="vm_0.vmdk")])),  # datastore.rego
    ("disk_count", "Warning", dict(disks=[disk(unit=u, mib=1024) for u in range(166)])),  # disk_count.rego
    ("disk_mode", "Warning", dict(disks=[disk(**{"Disk Mode": "independent_persistent"})])),  # disk_mode.rego
    ("disk_serial_numbers", "Information", dict(vms=[info(EnableUUID=True)])),  # disk_serial_numbers.rego
    ("disk_size", "Critical", dict(disks=[disk(mib=0)])),  # disk_size.rego
    ("fault_tolerance", "Information", dict(vms=[info(**{"FT State": "running"})])),  # fault_tolerance.rego
    ("filesystem_size", "Critical", dict(vPartition=[{"VM": "rhel9-db", "Disk": "/", "Capacity MiB": 10240,
                                                      "Free MiB": 50}])),  # filesystem_size.rego
    ("hostname", "Warning", dict(vms=[info(**{"DNS Name": "localhost.localdomain"})])),  # hostname.rego
    ("ip_state", "Warning", dict(vms=[info(**{"Primary IP Address": None})])),  # ip_state.rego
    ("name", "Warning", dict(vms=[info("Legacy_App01")], disks=[disk("Legacy_App01")])),  # name.rego
    ("rdm_disk", "Warning", dict(disks=[disk(Raw=True)])),  # rdm_disk.rego
    ("shared_disk", "Warning", dict(disks=[disk(**{"Sharing mode": "sharingMultiWriter"})])),  # shared_disk.rego
    ("snapshot", "Information", dict(vSnapshot=[{"VM": "rhel9-db", "Name": "before-upgrade"}])),  # snapshot.rego
    ("usb_controller", "Warning", dict(vUSB=[{"VM": "rhel9-db", "Device": "USB 1"}])),  # usb_controller.rego
    ("vm_os", "Warning", dict(vms=[info(**{"OS according to the configuration file": "FreeBSD 13 (64-bit)",
                                           "OS according to the VMware Tools": None})])),  # vm_os.rego
    ("guest_tools", "Critical", dict(vTools=[{"VM": "rhel9-db", "Tools": "toolsNotRunning"}])),  # validation.go
    ("uefi_firmware", "Information", dict(vms=[info(Firmware="efi")])),
]


@pytest.mark.parametrize("rule, category, changes", CASES, ids=[c[0] + "-" + str(i) for i, c in enumerate(CASES)])
def test_each_concern_an_export_can_express_raises_its_reason(tmp_path, rule, category, changes):
    rows, unanswered = assess(export(tmp_path / "x.xlsx", **changes))
    row = list(rows.values())[0]
    assert rule not in unanswered
    found = dict((r["rule"], r) for r in row["reasons"])
    assert rule in found, row["reasons"]
    assert found[rule]["category"] == category and found[rule]["fix"]
    assert row["status"] == {"Critical": readiness.BLOCKED, "Warning": readiness.WARNINGS}.get(
        min((r["category"] for r in row["reasons"]), key=readiness.CATEGORY_RANK.get), readiness.READY)


def test_copy_offload_reads_the_datastore_type_and_the_disk_limit_the_capacity(tmp_path):
    path = export(tmp_path / "x.xlsx", disks=[disk(mib=80 * 1024)], vDatastore=[{"Name": "ds1", "Type": "NFS"}])
    rows = assess(path, readiness.Target(limit_volume_bytes=50 * 1024 ** 3, storage_class="san",
                                         block_rwx=True, copy_offload=True))[0]
    found = dict((r["rule"], r["message"]) for r in rows["rhel9-db"]["reasons"])
    assert "NFS, not VMFS" in found["copy_offload"] and "80.0 GiB" in found["ontap_volume_limit"]
    assert rows["rhel9-db"]["status"] == readiness.BLOCKED


def test_unanswered_lists_what_the_export_cannot_tell_and_those_rules_are_not_checked(tmp_path):
    path = export(tmp_path / "x.xlsx", drop=("vTools", "vSnapshot", "vUSB", "vPartition", "vDatastore"),
                  lacking=(("vInfo", "CBT"), ("vInfo", "Primary IP Address"), ("vMemory", "Hot Add")),
                  vCPU=[{"VM": "rhel9-db", "Hot Add": True}])
    rows, unanswered = assess(path, readiness.Target(storage_class="san", block_rwx=True, copy_offload=True))
    for rule in ("guest_tools", "snapshot", "usb_controller", "filesystem_size", "copy_offload",
                 "changed_block_tracking", "ip_state", "passthrough_device", "tpm_enabled", "sriov_device",
                 "changed_block_tracking_per_disk", "numa_affinity", "cpu_affinity", "cpu_memory_hotplug"):
        assert rule in unanswered
    assert set(unanswered) <= set(readiness.RULE_NAMES)
    # A powered-on VM with no vTools row, no CBT, no IP column and CPU hot add would raise guest_tools, CBT, ip_state
    # and hot plug if checked.
    assert rows["rhel9-db"]["reasons"] == [] and rows["rhel9-db"]["status"] == readiness.READY
    full = assess(export(tmp_path / "full.xlsx"))[1]
    assert "guest_tools" not in full and "snapshot" not in full and "copy_offload" not in full


# --- bad input -----------------------------------------------------------------------------------

def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(ModuleError, match="'{0}' does not exist".format(tmp_path / "none.xlsx")):
        rvtools.read_vms(str(tmp_path / "none.xlsx"))


def test_a_file_that_is_not_a_workbook_is_named(tmp_path):
    path = tmp_path / "x.xlsx"
    path.write_text("VM,Powerstate\n")
    with pytest.raises(ModuleError, match="is not an .xlsx workbook"):
        rvtools.read_vms(str(path))


def test_a_workbook_without_vinfo_is_not_an_rvtools_export(tmp_path):
    path = export(tmp_path / "x.xlsx", drop=("vInfo",))
    with pytest.raises(ModuleError, match=r"is not an RVTools export: it has no vInfo sheet"):
        rvtools.read_vms(path)


def test_a_missing_required_column_names_sheet_and_column(tmp_path):
    path = export(tmp_path / "x.xlsx", lacking=(("vDisk", "Capacity MiB"),))
    with pytest.raises(ModuleError, match=r"Sheet vDisk of RVTools export '.*x.xlsx' has no column 'Capacity MiB'"):
        rvtools.read_vms(path)


# --- the same VM from vCenter and from an export -------------------------------------------------

def test_the_same_vm_from_vcenter_and_from_rvtools_gives_the_same_reasons(tmp_path):
    """For every rule both sources answer, the reasons (rule, category, message) match, healthy or not."""
    changes = dict(cbt=False, disk_cbt=False, ips=(), snapshot=True, host_name="localhost.localdomain",
                   cpuHotAddEnabled=True,
                   disks=[_disk(unit=0, mode="independent_persistent"), _disk(unit=1, rdm=True),
                          _disk(unit=2, sharing="sharingMultiWriter")])
    vcenter = readiness.assess([facts(vm_props(**changes))], readiness.Target())[0]
    disks = [disk(unit=0, **{"Disk Mode": "independent_persistent"}), disk(unit=1, Raw=True),
             disk(unit=2, **{"Sharing mode": "sharingMultiWriter"})]
    path = export(tmp_path / "x.xlsx", vms=[info(CBT=False, **{"Primary IP Address": "",
                                                               "DNS Name": "localhost.localdomain"})],
                  disks=disks, vSnapshot=[{"VM": "rhel9-db", "Name": "s1"}],
                  vCPU=[{"VM": "rhel9-db", "Hot Add": True, "Hot Remove": False}])
    rows, unanswered = assess(path)
    exported = rows["rhel9-db"]

    def answered(row):
        return sorted((r["rule"], r["category"], r["message"]) for r in row["reasons"] if r["rule"] not in unanswered)
    assert answered(vcenter) == answered(exported)
    assert {"changed_block_tracking", "ip_state", "snapshot", "hostname", "disk_mode", "rdm_disk",
            "shared_disk", "cpu_memory_hotplug"} <= rules(exported)
    assert (exported["status"], exported["disk_gib"], exported["datastores"]) == (
        vcenter["status"], vcenter["disk_gib"], vcenter["datastores"])
    healthy = readiness.assess([facts()], readiness.Target())[0]
    assert answered(healthy) == answered(assess(export(tmp_path / "ok.xlsx"))[0]["rhel9-db"]) == []


# --- the module, without a cluster ---------------------------------------------------------------

def _run_module(monkeypatch, capsys, args):
    from ansible.module_utils import basic
    from ansible.module_utils.common.text.converters import to_bytes
    from ansible_collections.ontap.virtualization.plugins.modules import migration_assessment

    monkeypatch.setattr(basic, "_ANSIBLE_ARGS", to_bytes(json.dumps({"ANSIBLE_MODULE_ARGS": args})))
    monkeypatch.setattr(basic, "_ANSIBLE_PROFILE", "legacy", raising=False)
    with pytest.raises(SystemExit):
        migration_assessment.main()
    return json.loads(capsys.readouterr().out)


def test_the_module_assesses_an_export_without_a_cluster_and_plans_waves(tmp_path, monkeypatch, capsys):
    path = export(tmp_path / "x.xlsx", vms=[info(), info("web-1"), info("old", Template=True)],
                  disks=[disk(), disk("web-1"), disk("old")], vUSB=[{"VM": "web-1", "Device": "USB 1"}])
    result = _run_module(monkeypatch, capsys, {"rvtools": path, "waves": {"prefix": "prod", "max_vms": 1}})
    assert not result.get("failed"), result
    assessed = result["assessment"]
    assert assessed["source"] == "rvtools" and assessed["round_trips"] == 0 and not result["changed"]
    assert [vm["name"] for vm in assessed["vms"]] == ["rhel9-db", "web-1"]
    assert "passthrough_device" in assessed["unanswered"] and "usb_controller" not in assessed["unanswered"]
    assert [r["rule"] for r in assessed["vms"][1]["reasons"]] == ["usb_controller"]
    assert [w["vms"] for w in result["waves"]] == [["rhel9-db"], ["web-1"]]


def test_the_module_refuses_both_sources_none_and_fix_on_an_export(tmp_path, monkeypatch, capsys):
    path = export(tmp_path / "x.xlsx")
    vcenter = {"hostname": "127.0.0.1", "username": "u", "password": "p"}
    both = _run_module(monkeypatch, capsys, {"rvtools": path, "vcenter": vcenter})
    assert both["failed"] and "mutually exclusive" in both["msg"]
    neither = _run_module(monkeypatch, capsys, {})
    assert neither["failed"] and "one of the following is required: vcenter, rvtools" in neither["msg"]
    fix = _run_module(monkeypatch, capsys, {"rvtools": path, "fix": ["cbt"]})
    assert fix["failed"] and "fix needs a live vCenter" in fix["msg"]
    missing = _run_module(monkeypatch, capsys, {"rvtools": str(tmp_path / "gone.xlsx")})
    assert missing["failed"] and "gone.xlsx' does not exist" in missing["msg"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))

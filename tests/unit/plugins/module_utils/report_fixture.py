"""An assessment of five VMs (ready, ready with warnings, blocked), its waves, and two runs through MTV.

The Plan/Migration objects are written by hand in the shape of Forklift v2.12.5's v1beta1 types
(``pkg/apis/forklift/v1beta1/plan/vm.go`` VMStatus, ``plan/timed.go``, ``migration.go``): VM ``started`` /
``completed``, ``pipeline[]`` steps with ``started`` / ``completed``, ``warm.precopies[]`` with ``start`` / ``end``,
``restorePowerState``, ``error {phase, reasons}``. The lab test (tests/integration/test_report.py) reads real ones.
"""

ASSESSMENT = {
    "source": "vcenter.lab.example",
    "generated_at": "2026-11-30T01:00:00Z",
    "round_trips": 3,
    "summary": {"total": 5, "ready": 2, "ready_with_warnings": 2, "blocked": 1, "cpu": 18, "memory_mib": 40960,
                "disk_gib": 330.0},
    "vms": [
        {"name": "web01", "id": "vm-101", "folder": "prod", "cluster": "c1", "host": "esx1", "power_state": "poweredOn",
         "status": "ready", "target_name": "web01", "cpu": 2, "memory_mib": 4096, "disk_gib": 40.0,
         "datastores": ["ds1"], "networks": ["VM Network"], "reasons": []},
        {"name": "db01", "id": "vm-102", "folder": "prod", "cluster": "c1", "host": "esx2", "power_state": "poweredOn",
         "status": "ready with warnings", "target_name": "db01", "cpu": 8, "memory_mib": 16384, "disk_gib": 200.0,
         "datastores": ["ds1", "ds2"], "networks": ["VM Network"],
         "reasons": [{"rule": "snapshots", "category": "Warning", "message": "The VM has 1 snapshot.",
                      "fix": "Delete or consolidate the snapshots before the cutover."}]},
        {"name": "App_Server <1>", "id": "vm-103", "folder": "prod", "cluster": "c1", "host": "esx1",
         "power_state": "poweredOff", "status": "ready_with_warnings", "target_name": "app-server-1", "cpu": 2,
         "memory_mib": 4096, "disk_gib": 30.0, "datastores": ["ds1"], "networks": ["VM Network"],
         "reasons": [{"rule": "name", "category": "Warning",
                      "message": "The name 'App_Server <1>' is not a DNS-1123 label & will change.",
                      "fix": "Nothing to do: it becomes app-server-1."}]},
        {"name": "legacy-rdm", "id": "vm-104", "folder": "old", "cluster": "c1", "host": "esx2",
         "power_state": "poweredOn", "status": "blocked", "target_name": "legacy-rdm", "cpu": 4, "memory_mib": 8192,
         "disk_gib": 50.0, "datastores": ["ds2"], "networks": ["DMZ"],
         "reasons": [{"rule": "rdm", "category": "Critical", "message": "Disk 2 is a physical-mode RDM.",
                      "fix": "Move the data to a VMDK or present the LUN to OpenShift directly."},
                     {"rule": "network", "category": "Warning", "message": "Port group DMZ is not mapped.",
                      "fix": "Add DMZ to the NetworkMap."}]},
        {"name": "batch02", "id": "vm-105", "folder": "prod", "cluster": "c1", "host": "esx1",
         "power_state": "poweredOn", "status": "ready", "target_name": "batch02", "cpu": 2, "memory_mib": 8192,
         "disk_gib": 10.0, "datastores": ["ds1"], "networks": ["VM Network"], "reasons": []},
    ],
    "unanswered": ["CBT per disk (an RVTools export does not say)"],
}

WAVES = [
    {"name": "wave-1", "index": 1, "vms": ["web01", "App_Server <1>", "batch02"], "hosts": ["esx1"], "disk_gib": 80.0},
    {"name": "wave-2", "index": 2, "vms": ["db01"], "hosts": ["esx2"], "disk_gib": 200.0},
]


def _step(name, started=None, completed=None, phase="Completed"):
    step = {"name": name, "phase": phase, "progress": {"total": 100, "completed": 100 if completed else 40}}
    if started:
        step["started"] = started
    if completed:
        step["completed"] = completed
    return step


def _succeeded():
    return [{"type": "Succeeded", "status": "True", "category": "Advisory"}]


COLD_PLAN = {"apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Plan",
             "metadata": {"name": "wave-1", "namespace": "openshift-mtv", "uid": "p1"},
             "spec": {"type": "cold", "vms": [{"id": "vm-101"}, {"id": "vm-103"}, {"id": "vm-105"}]}}
COLD_MIGRATION = {
    "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Migration",
    "metadata": {"name": "wave-1-1", "namespace": "openshift-mtv"},
    "spec": {"plan": {"name": "wave-1", "namespace": "openshift-mtv", "uid": "p1"}},
    "status": {"started": "2026-11-30T02:00:00Z", "completed": "2026-11-30T02:20:00Z",
               "conditions": [{"type": "Failed", "status": "True", "category": "Advisory"}],
               "vms": [
                   {"id": "vm-101", "name": "web01", "newName": "web01", "phase": "Completed",
                    "started": "2026-11-30T02:00:00Z", "completed": "2026-11-30T02:12:00Z", "restorePowerState": "On",
                    "conditions": _succeeded(),
                    "pipeline": [_step("Initialize", "2026-11-30T02:00:00Z", "2026-11-30T02:01:00Z"),
                                 _step("DiskAllocation", "2026-11-30T02:01:00Z", "2026-11-30T02:02:00Z"),
                                 _step("ImageConversion", "2026-11-30T02:02:00Z", "2026-11-30T02:05:00Z"),
                                 _step("DiskTransferV2v", "2026-11-30T02:05:00Z", "2026-11-30T02:11:00Z"),
                                 _step("VirtualMachineCreation", "2026-11-30T02:11:00Z", "2026-11-30T02:12:00Z")]},
                   {"id": "vm-103", "name": "App_Server <1>", "newName": "app-server-1", "phase": "Completed",
                    "started": "2026-11-30T02:00:00Z", "completed": "2026-11-30T02:09:00Z",
                    "restorePowerState": "Off", "conditions": _succeeded(),
                    "pipeline": [_step("Initialize", "2026-11-30T02:00:00Z", "2026-11-30T02:00:30Z"),
                                 _step("DiskAllocation", "2026-11-30T02:00:30Z", "2026-11-30T02:01:00Z"),
                                 _step("ImageConversion", "2026-11-30T02:01:00Z", "2026-11-30T02:04:00Z"),
                                 _step("DiskTransferV2v", "2026-11-30T02:04:00Z", "2026-11-30T02:08:00Z"),
                                 _step("VirtualMachineCreation", "2026-11-30T02:08:00Z", "2026-11-30T02:09:00Z")]},
                   {"id": "vm-105", "name": "batch02", "newName": "batch02", "phase": "Completed",
                    "started": "2026-11-30T02:12:00Z", "completed": "2026-11-30T02:20:00Z", "restorePowerState": "On",
                    "conditions": [{"type": "Failed", "status": "True", "category": "Advisory"}],
                    "error": {"phase": "ConvertGuest", "reasons": ["virt-v2v: <inspection> failed & exited 1"]},
                    "pipeline": [_step("Initialize", "2026-11-30T02:12:00Z", "2026-11-30T02:13:00Z"),
                                 _step("DiskAllocation", "2026-11-30T02:13:00Z", "2026-11-30T02:14:00Z"),
                                 _step("ImageConversion", "2026-11-30T02:14:00Z", "2026-11-30T02:20:00Z"),
                                 _step("DiskTransferV2v", phase="Pending"),
                                 _step("VirtualMachineCreation", phase="Pending")]},
               ]}}
WARM_PLAN = {"apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Plan",
             "metadata": {"name": "wave-2", "namespace": "openshift-mtv", "uid": "p2"},
             "spec": {"type": "warm", "vms": [{"id": "vm-102"}]}}
WARM_MIGRATION = {
    "apiVersion": "forklift.konveyor.io/v1beta1", "kind": "Migration",
    "metadata": {"name": "wave-2-1", "namespace": "openshift-mtv"},
    "spec": {"plan": {"name": "wave-2", "namespace": "openshift-mtv", "uid": "p2"}, "cutover": "2026-11-30T03:00:00Z"},
    "status": {"started": "2026-11-30T02:00:00Z", "completed": "2026-11-30T03:15:00Z",
               "conditions": [{"type": "Succeeded", "status": "True", "category": "Advisory"}],
               "vms": [
                   {"id": "vm-102", "name": "db01", "newName": "db01", "phase": "Completed",
                    "started": "2026-11-30T02:00:00Z", "completed": "2026-11-30T03:15:00Z", "restorePowerState": "On",
                    "conditions": _succeeded(),
                    "warm": {"successes": 3, "failures": 0, "precopies": [
                        {"start": "2026-11-30T02:01:00Z", "end": "2026-11-30T02:20:00Z"},
                        {"start": "2026-11-30T02:30:00Z", "end": "2026-11-30T02:33:00Z"},
                        {"start": "2026-11-30T02:45:00Z", "end": "2026-11-30T02:47:00Z"}]},
                    "pipeline": [_step("Initialize", "2026-11-30T02:00:00Z", "2026-11-30T02:01:00Z"),
                                 _step("DiskTransfer", "2026-11-30T02:01:00Z", "2026-11-30T03:00:00Z"),
                                 _step("Cutover", "2026-11-30T03:00:00Z", "2026-11-30T03:04:00Z"),
                                 _step("ImageConversion", "2026-11-30T03:04:00Z", "2026-11-30T03:13:00Z"),
                                 _step("VirtualMachineCreation", "2026-11-30T03:13:00Z", "2026-11-30T03:15:00Z")]},
               ]}}
RUNS = [{"name": "wave-1", "namespace": "openshift-mtv", "plan": COLD_PLAN, "migration": COLD_MIGRATION},
        {"name": "wave-2", "namespace": "openshift-mtv", "plan": WARM_PLAN, "migration": WARM_MIGRATION}]

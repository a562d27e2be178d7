"""Readiness rules, the bulk vSphere read and waves, on inputs shaped like property-collector results.

Each VM is built from pyVmomi data objects as RetrievePropertiesEx returns them (``config``,
``guest``, ``runtime.*``, ``snapshot``), turned into facts by ``vsphere_inventory.vm_facts``, then
judged by ``readiness``. The VMware rules follow kubev2v/forklift v2.12.5
``validation/policies/io/konveyor/forklift/vmware/<rule>.rego`` (named in each case).
"""

import pytest
from pyVmomi import vim, vmodl

from ansible_collections.ontap.virtualization.plugins.module_utils import assessment, readiness, waves
from ansible_collections.ontap.virtualization.plugins.module_utils import vsphere_inventory as inventory

GiB = 1024 ** 3


def _disk(unit=0, gib=10, mode="persistent", rdm=False, sharing="sharingNone", datastore="datastore-1",
          capacity_bytes=None):
    if rdm:
        backing = vim.vm.device.VirtualDisk.RawDiskMappingVer1BackingInfo(fileName="[ds1] vm/vm_%d.vmdk" % unit,
                                                                          diskMode=mode)
    else:
        backing = vim.vm.device.VirtualDisk.FlatVer2BackingInfo(fileName="[ds1] vm/vm_%d.vmdk" % unit, diskMode=mode,
                                                                sharing=sharing)
    if datastore:
        backing.datastore = vim.Datastore(datastore)
    return vim.vm.device.VirtualDisk(key=2000 + unit, controllerKey=1000, unitNumber=unit,
                                     capacityInKB=gib * 1024 * 1024,
                                     capacityInBytes=capacity_bytes if capacity_bytes is not None else gib * GiB,
                                     backing=backing)


def _nic(network="network-1"):
    backing = vim.vm.device.VirtualEthernetCard.NetworkBackingInfo(deviceName="VM Network",
                                                                   network=vim.Network(network))
    return vim.vm.device.VirtualVmxnet3(key=4000, backing=backing)


def vm_props(name="rhel9-db", disks=None, extra_devices=(), cbt=True, disk_cbt=True, extra=None,
             guest_id="rhel9_64Guest", tools="guestToolsRunning", host_name="db.example.com", ips=("10.0.0.5",),
             power="poweredOn", snapshot=False, guest_disks=(), **config):
    """The properties RetrievePropertiesEx gives for one VM of the healthy kind, with changes."""
    disks = list(disks if disks is not None else [_disk()])
    options = dict(extra or {})
    options.setdefault("ctkEnabled", "TRUE" if cbt else "FALSE")
    for d in disks:
        options.setdefault("scsi0:%d.ctkEnabled" % d.unitNumber, "TRUE" if disk_cbt else "FALSE")
    devices = [vim.vm.device.ParaVirtualSCSIController(key=1000, busNumber=0)] + disks + [_nic()] + list(extra_devices)
    info = vim.vm.ConfigInfo(name=name, guestId=guest_id, guestFullName=guest_id, uuid="4200-" + name,
                             changeTrackingEnabled=cbt, firmware=config.pop("firmware", "bios"),
                             hardware=vim.vm.VirtualHardware(numCPU=2, memoryMB=4096, device=devices),
                             extraConfig=[vim.option.OptionValue(key=k, value=v) for k, v in options.items()],
                             **config)
    guest = vim.vm.GuestInfo(toolsRunningStatus=tools, hostName=host_name,
                             net=[vim.vm.GuestInfo.NicInfo(ipAddress=list(ips))] if ips else [],
                             disk=[vim.vm.GuestInfo.DiskInfo(diskPath=p, freeSpace=free, mappings=[
                                 vim.vm.GuestInfo.VirtualDiskMapping(key=key)] if key else [])
                                 for p, free, key in guest_disks])
    props = {"name": name, "parent": vim.Folder("group-v2"), "config": info, "guest": guest,
             "runtime.powerState": power, "runtime.host": vim.HostSystem("host-1"),
             "runtime.consolidationNeeded": False}
    if snapshot:
        props["snapshot"] = vim.vm.SnapshotInfo(currentSnapshot=vim.vm.Snapshot("snapshot-1"))
    return props


def inventory_of(cluster_config=None):
    return {
        "HostSystem": {"host-1": {"name": "esx-1", "parent": vim.ClusterComputeResource("domain-c1")}},
        "ClusterComputeResource": {"domain-c1": {"name": "prod", "configurationEx": cluster_config}},
        "Datastore": {"datastore-1": {"name": "ds1", "summary.type": "VMFS"}},
        "Network": {"network-1": {"name": "VM Network"}},
        "Folder": {"group-v1": {"name": "vm", "parent": vim.Datacenter("datacenter-1")},
                   "group-v2": {"name": "team-a", "parent": vim.Folder("group-v1")}},
        "Datacenter": {"datacenter-1": {"name": "DC0"}},
        "VirtualMachine": {},
    }


def facts(props=None, cluster_config=None, moid="vm-1"):
    return inventory.vm_facts(moid, props or vm_props(), inventory_of(cluster_config))


def reasons(vm, target=None):
    row = readiness.assess([vm], target or readiness.Target())[0]
    return row, dict((r["rule"], r) for r in row["reasons"])


# --- facts ---------------------------------------------------------------------------------------

def test_facts_of_a_healthy_vm():
    vm = facts()
    assert (vm["folder"], vm["cluster"], vm["host"]) == ("/DC0/vm/team-a", "prod", "esx-1")
    assert vm["disks"][0]["datastore"] == "ds1" and vm["disks"][0]["cbt"] and vm["disks"][0]["bus"] == "scsi"
    assert vm["networks"] == ["VM Network"] and vm["ip_addresses"] == ["10.0.0.5"]
    row, found = reasons(vm)
    assert row["status"] == readiness.READY and found == {}
    assert (row["target_name"], row["cpu"], row["memory_mib"], row["disk_gib"]) == ("rhel9-db", 2, 4096, 10.0)
    assert row["datastores"] == ["ds1"] and row["networks"] == ["VM Network"]


# (rule, category, VM properties) — each VM differs from the healthy one in the one respect the rule reads.
RULE_CASES = [
    ("changed_block_tracking", "Warning", dict(cbt=False, disk_cbt=True)),  # changed_block_tracking.rego
    ("changed_block_tracking_per_disk", "Warning", dict(disk_cbt=False)),  # changed_block_tracking_per_disk.rego
    ("cpu_affinity", "Warning", dict(cpuAffinity=vim.vm.AffinityInfo(affinitySet=[0, 1]))),  # cpu_affinity.rego
    ("cpu_memory_hotplug", "Warning", dict(cpuHotAddEnabled=True)),  # cpu_memory_hotplug.rego
    ("cpu_memory_hotplug", "Warning", dict(memoryHotAddEnabled=True)),
    ("datastore", "Critical", dict(disks=[_disk(datastore=None)])),  # datastore.rego
    ("disk_count", "Warning", dict(disks=[_disk(unit=u, gib=1) for u in range(166)])),  # disk_count.rego
    ("disk_mode", "Warning", dict(disks=[_disk(mode="independent_persistent")])),  # disk_mode.rego
    ("disk_mode", "Warning", dict(disks=[_disk(mode="independent_nonpersistent")])),
    ("disk_serial_numbers", "Information", dict(extra={"disk.EnableUUID": "TRUE"})),  # disk_serial_numbers.rego
    ("disk_size", "Critical", dict(disks=[_disk(gib=0, capacity_bytes=0)])),  # disk_size.rego
    ("filesystem_size", "Critical", dict(guest_disks=[("/", 50 * 1024 ** 2, 2000)])),  # filesystem_size.rego
    ("filesystem_size", "Critical", dict(guest_disks=[("/boot", 40 * 1024 ** 2, 2000)])),
    ("filesystem_size", "Critical", dict(guest_disks=[("/data", 5 * 1024 ** 2, 2000)])),
    ("guest_disk_mapping", "Information", dict(guest_id="windows2019srvNext_64Guest",  # guest_disk_mapping.rego
                                               guest_disks=[("C:\\", 50 * GiB, 0)])),
    ("hostname", "Warning", dict(host_name="")),  # hostname.rego
    ("hostname", "Warning", dict(host_name="localhost.localdomain")),
    ("ip_state", "Warning", dict(ips=())),  # ip_state.rego
    ("name", "Warning", dict(name="Legacy_App01")),  # name.rego
    ("numa_affinity", "Warning", dict(extra={"numa.nodeAffinity": "0,1"})),  # numa_affinity.rego
    ("passthrough_device", "Critical", dict(extra_devices=[vim.vm.device.VirtualPCIPassthrough(key=5)])),
    ("rdm_disk", "Warning", dict(disks=[_disk(rdm=True)])),  # rdm_disk.rego
    ("shared_disk", "Warning", dict(disks=[_disk(sharing="sharingMultiWriter")])),  # shared_disk.rego
    ("snapshot", "Information", dict(snapshot=True)),  # snapshot.rego
    ("sriov_device", "Warning", dict(extra_devices=[vim.vm.device.VirtualSriovEthernetCard(key=6)])),
    ("tpm_enabled", "Warning", dict(extra_devices=[vim.vm.device.VirtualTPM(key=7)])),  # tpm_enabled.rego
    ("usb_controller", "Warning", dict(extra_devices=[vim.vm.device.VirtualUSBController(key=8)])),
    ("vm_os", "Warning", dict(guest_id="otherGuest")),  # vm_os.rego
    ("guest_tools", "Critical", dict(tools="guestToolsNotRunning")),  # plan validation.go GuestToolsInstalled
    ("uefi_firmware", "Information", dict(firmware="efi")),
    ("fault_tolerance", "Information", dict(ftInfo=vim.vm.FaultToleranceConfigInfo(role=1))),  # fault_tolerance.rego
]


@pytest.mark.parametrize("rule, category, changes", RULE_CASES, ids=[c[0] for c in RULE_CASES])
def test_each_rule_raises_its_reason_with_its_category_and_fix(rule, category, changes):
    row, found = reasons(facts(vm_props(**changes)))
    assert rule in found, row["reasons"]
    assert found[rule]["category"] == category and found[rule]["fix"] and found[rule]["message"]
    expected = {"Critical": readiness.BLOCKED, "Warning": readiness.WARNINGS}.get(
        min((r["category"] for r in row["reasons"]), key=readiness.CATEGORY_RANK.get), readiness.READY)
    assert row["status"] == expected


def test_disk_cbt_is_named_by_bus_controller_and_unit():
    """changed_block_tracking_per_disk.rego names the disk <bus><controllerKey - base>:<unit>."""
    messages = [r["message"] for r in readiness.assess_vm(facts(vm_props(disks=[_disk(unit=3)], disk_cbt=False)),
                                                          readiness.Target())["reasons"]]
    assert any(m.startswith("Disk scsi0:3 ") for m in messages)


def test_an_unset_change_tracking_counts_as_off():
    """Forklift's model keeps changeTrackingEnabled as a bool: unset (vcsim's default VMs) is false."""
    props = vm_props()
    props["config"].changeTrackingEnabled = None
    assert "changed_block_tracking" in reasons(facts(props))[1]


def test_windows_c_needs_100_mib_and_other_filesystems_10():
    """filesystem_size.rego: C: needs 100 MiB, any other path 10 MiB."""
    ok = facts(vm_props(guest_disks=[("c:\\", 150 * 1024 ** 2, 1), ("/srv", 11 * 1024 ** 2, 2)]))
    assert "filesystem_size" not in reasons(ok)[1]


def test_cluster_drs_dpm_and_host_affinity():
    """drs_enabled.rego, dpm_enabled.rego, host_affinity.rego read the VM's cluster."""
    config = vim.cluster.ConfigInfoEx(
        drsConfig=vim.cluster.DrsConfigInfo(enabled=True), dpmConfigInfo=vim.cluster.DpmConfigInfo(enabled=True),
        group=[vim.cluster.VmGroup(name="pinned", vm=[vim.VirtualMachine("vm-1")])],
        rule=[vim.cluster.VmHostRuleInfo(name="r", enabled=True, vmGroupName="pinned", affineHostGroupName="hosts")])
    row, found = reasons(facts(cluster_config=config))
    assert found["drs_enabled"]["category"] == "Information" and found["dpm_enabled"]["category"] == "Information"
    assert found["host_affinity"]["category"] == "Warning"
    assert "host_affinity" not in reasons(facts(cluster_config=config, moid="vm-2"))[1]


def test_a_supported_os_by_name_from_tools():
    """vm_os.rego also accepts a supported name reported by VMware Tools."""
    props = vm_props(guest_id="otherLinux64Guest")
    props["guest"].guestFullName = "Red Hat Enterprise Linux 9 (64-bit)"
    assert "vm_os" not in reasons(facts(props))[1]


# --- the target ----------------------------------------------------------------------------------

def test_disk_over_the_backends_limit_blocks():
    vm = facts(vm_props(disks=[_disk(gib=60)]))
    row, found = reasons(vm, readiness.Target(limit_volume_bytes=50 * GiB))
    assert found["ontap_volume_limit"]["category"] == "Critical" and row["status"] == readiness.BLOCKED
    assert "limitVolumeSize" in found["ontap_volume_limit"]["message"]
    assert "ontap_volume_limit" not in reasons(vm, readiness.Target(limit_volume_bytes=60 * GiB))[1]


def test_a_vm_larger_than_the_svms_free_space_blocks():
    vm = facts(vm_props(disks=[_disk(gib=20), _disk(unit=1, gib=20)]))
    assert reasons(vm, readiness.Target(free_bytes=30 * GiB))[1]["ontap_capacity"]["category"] == "Critical"
    assert "ontap_capacity" not in reasons(vm, readiness.Target(free_bytes=40 * GiB))[1]


def test_a_class_without_block_rwx_warns_and_copy_offload_needs_vmfs_and_san():
    nas = readiness.Target(storage_class="ontap-nas", block_rwx=False, copy_offload=False)
    found = reasons(facts(), nas)[1]
    assert found["block_rwx"]["category"] == "Warning" and "not possible" in found["copy_offload"]["message"]
    san = readiness.Target(storage_class="ontap-san", block_rwx=True, copy_offload=True)
    found = reasons(facts(), san)[1]
    assert "block_rwx" not in found and "is possible" in found["copy_offload"]["message"]


def test_target_name_clashes_in_the_namespace_and_between_selected_vms():
    target = readiness.Target(taken={"web-01": None}, namespace="apps")
    rows = readiness.assess([facts(vm_props(name="Web_01")), facts(vm_props(name="web-01"), moid="vm-2"),
                             facts(vm_props(name="db"), moid="vm-3")], target)
    by_name = dict((r["name"], r) for r in rows)
    assert by_name["Web_01"]["target_name"] == "web-01" and by_name["Web_01"]["status"] == readiness.BLOCKED
    messages = [r["message"] for r in by_name["web-01"]["reasons"] if r["rule"] == "target_name"]
    assert any("already exists in namespace 'apps'" in m for m in messages)
    assert any("Web_01" in m for m in messages)
    assert by_name["db"]["status"] == readiness.READY


def test_a_vm_forklift_made_of_this_one_is_its_migration_not_a_clash():
    """kubevirt.go labels the VMs Forklift creates vmID=<source VM id>: a rerun finds the VM migrated, keeps it in
    its wave (so the waves stay the same) and does not block it; a VM of that name from elsewhere still clashes."""
    target = readiness.Target(taken={"web": "vm-1", "db": "vm-9"}, namespace="apps")
    rows = readiness.assess([facts(vm_props(name="web")), facts(vm_props(name="db"), moid="vm-3")], target)
    by_name = dict((r["name"], r) for r in rows)
    assert by_name["web"]["status"] == readiness.READY and by_name["web"]["migrated"] is True
    assert [r["rule"] for r in by_name["web"]["reasons"]] == ["migrated"]
    assert "Already migrated" in by_name["web"]["reasons"][0]["message"]
    assert by_name["db"]["status"] == readiness.BLOCKED and by_name["db"]["migrated"] is False


def test_disks_already_migrated_do_not_count_against_the_free_space():
    rows = [dict(_row("a", disk=40.0), migrated=True), _row("b", disk=40.0)]
    planned = waves.plan(rows, "p", max_vms=1)
    assert [(w["disk_gib"], w["copy_gib"]) for w in planned] == [(40.0, 0.0), (40.0, 40.0)]
    assert waves.refuse_overflow(planned, 50 * GiB) == (planned, [])


def test_summary_counts_and_totals():
    rows = readiness.assess([facts(), facts(vm_props(name="x", cbt=False), moid="vm-2"),
                             facts(vm_props(name="y", tools="guestToolsNotRunning"), moid="vm-3")], readiness.Target())
    assert readiness.summary(rows) == {"total": 3, "ready": 1, "ready_with_warnings": 1, "blocked": 1, "cpu": 6,
                                       "memory_mib": 12288, "disk_gib": 30.0}


def test_quantities_of_limit_volume_size():
    assert assessment.quantity_bytes("50Gi") == 50 * GiB and assessment.quantity_bytes("1T") == 10 ** 12
    assert assessment.quantity_bytes("lots") is None


# --- waves ---------------------------------------------------------------------------------------

def _row(name, host="esx-1", disk=10.0, status=readiness.READY):
    return {"name": name, "id": "vm-" + name, "host": host, "disk_gib": disk, "status": status}


def test_waves_respect_count_disk_and_host_limits_in_a_stable_order():
    rows = [_row("vm-%02d" % i, host="esx-%d" % (i % 3), disk=10.0) for i in range(12)]
    rows.append(_row("blocked", status=readiness.BLOCKED))
    planned = waves.plan(list(reversed(rows)), "team", max_vms=4, max_disk_gib=35, max_per_host=1)
    assert [w["name"] for w in planned] == ["team-wave-%d" % i for i in range(1, len(planned) + 1)]
    for wave in planned:
        assert len(wave["vms"]) <= 3 and wave["disk_gib"] <= 35
        assert len(wave["hosts"]) == len(wave["vms"])  # one VM per host
    assert sorted(n for w in planned for n in w["vms"]) == sorted(r["name"] for r in rows if r["name"] != "blocked")
    assert planned == waves.plan(rows, "team", max_vms=4, max_disk_gib=35, max_per_host=1)
    assert planned[0]["vms"] == ["vm-00", "vm-01", "vm-02"]


def test_a_vm_larger_than_max_disk_gets_a_wave_of_its_own():
    planned = waves.plan([_row("big", disk=500.0), _row("small", disk=1.0)], "p", max_disk_gib=100)
    assert [w["vms"] for w in planned] == [["big"], ["small"]]


def test_a_wave_the_svm_has_no_room_for_is_refused_with_every_later_one():
    planned = waves.plan([_row("a", disk=40.0), _row("b", disk=40.0), _row("c", disk=10.0)], "p", max_vms=1)
    fitting, refused = waves.refuse_overflow(planned, 60 * GiB)
    assert [w["vms"] for w in fitting] == [["a"]]
    assert [pair[0]["vms"] for pair in refused] == [["b"], ["c"]]
    assert "needs 40.0 GiB after 40.0 GiB" in refused[0][1] and "60.0 GiB free" in refused[0][1]
    assert waves.refuse_overflow(planned, None) == (planned, [])


def test_refused_waves_block_their_vms():
    rows = [dict(_row("a", disk=40.0), reasons=[]), dict(_row("b", disk=40.0), reasons=[])]
    params = {"waves": {"prefix": "p", "max_vms": 1, "max_disk_gib": None, "max_per_host": None}}
    fitting = assessment.plan_waves(params, rows, readiness.Target(free_bytes=50 * GiB))
    assert [w["vms"] for w in fitting] == [["a"]]
    assert rows[1]["status"] == readiness.BLOCKED and rows[1]["reasons"][0]["rule"] == "ontap_capacity"


# --- the bulk read -------------------------------------------------------------------------------

class _Collector(object):
    """A PropertyCollector that hands out ``objects`` ``page`` at a time, as vCenter pages with maxObjects."""

    def __init__(self, objects):
        self.objects, self.calls = objects, []

    def _page(self, start, size):
        token = str(start + size) if start + size < len(self.objects) else None
        return vmodl.query.PropertyCollector.RetrieveResult(objects=self.objects[start:start + size], token=token)

    def RetrievePropertiesEx(self, specs, options):
        self.calls.append("RetrievePropertiesEx")
        self.size = options.maxObjects
        return self._page(0, self.size)

    def ContinueRetrievePropertiesEx(self, token):
        self.calls.append("ContinueRetrievePropertiesEx")
        return self._page(int(token), self.size)


class _Stub(object):
    """The SOAP stub under the container view: records the calls made on it (Destroy)."""

    def __init__(self):
        self.calls = []

    def InvokeMethod(self, mo, info, args):
        self.calls.append(info.name)


def test_the_whole_inventory_comes_in_pages_of_one_retrieval():
    objects = [vmodl.query.PropertyCollector.ObjectContent(
        obj=vim.VirtualMachine("vm-%d" % i), propSet=[vmodl.DynamicProperty(name="name", val="vm%d" % i)])
        for i in range(25)]
    portgroup = vim.dvs.DistributedVirtualPortgroup("dvportgroup-1")
    objects.append(vmodl.query.PropertyCollector.ObjectContent(
        obj=portgroup, propSet=[vmodl.DynamicProperty(name="name", val="pg")]))
    stub = _Stub()
    collector, view = _Collector(objects), vim.view.ContainerView("session[1]view-1", stub)

    class Views(object):
        def CreateContainerView(self, root, kinds, recursive):
            assert recursive and vim.VirtualMachine in kinds and vim.Network in kinds
            return view

    class Content(object):
        rootFolder = vim.Folder("group-d1")
        viewManager = Views()
        propertyCollector = collector

    found = inventory.retrieve_all(Content(), page_size=10)
    assert len(found["VirtualMachine"]) == 25 and found["Network"]["dvportgroup-1"] == {"name": "pg"}
    assert collector.calls == ["RetrievePropertiesEx"] + ["ContinueRetrievePropertiesEx"] * 2
    assert stub.calls == ["Destroy"]


def test_select_by_name_folder_cluster_and_pattern():
    vms = [dict(facts(vm_props(name=n), moid="vm-" + n), folder=f, cluster=c)
           for n, f, c in (("a", "/DC0/vm/team-a", "prod"), ("b", "/DC0/vm/team-b", "prod"),
                           ("web-1", "/DC0/vm", "test"), ("c", "/DC0/vm/team-a/sub", "test"))]

    def names(**selectors):
        return [vm["name"] for vm in inventory.select(vms, **selectors)]
    assert names() == ["a", "b", "c", "web-1"]
    assert names(names=["b"]) == ["b"] and names(clusters=["test"]) == ["c", "web-1"]
    assert names(folders=["/DC0/vm/team-a"]) == ["a", "c"] and names(folders=["team-b"]) == ["b"]
    assert names(patterns=["web-*"]) == ["web-1"]


def test_input_problems_are_found_before_anything_is_read():
    params = {"page_size": 0, "waves": {"prefix": "Bad_Prefix", "max_vms": 0, "max_disk_gib": None,
                                        "max_per_host": None}}
    problems = assessment.input_problems(params)
    assert any("page_size" in p for p in problems) and any("waves.max_vms" in p for p in problems)
    assert any("waves.prefix" in p for p in problems)


class _Kube(object):
    """The reads class_facts makes (get, served, list), answered from a StorageClass and TridentBackendConfigs."""

    def __init__(self, storage_class, backends, served=True):
        self.storage_class, self.backends, self._served = storage_class, backends, served

    def ref(self, api_version, kind, name=None, namespace=None):
        return (kind, name, namespace)

    def get(self, ref):
        return self.storage_class if ref[1] == (self.storage_class or {}).get("metadata", {}).get("name") else None

    def served(self, api_version, kind):
        return self._served

    def list(self, ref):
        assert ref == ("TridentBackendConfig", None, "trident")
        return self.backends, "1"


def _class(backend_type, san_type=None, provisioner="csi.trident.netapp.io"):
    parameters = {"backendType": backend_type}
    if san_type:
        parameters["sanType"] = san_type
    return {"metadata": {"name": "vm-disks"}, "provisioner": provisioner, "parameters": parameters}


def _tbc(driver, san_type=None, limit=None):
    spec = {"storageDriverName": driver}
    if san_type:
        spec["sanType"] = san_type
    if limit:
        spec["limitVolumeSize"] = limit
    return {"spec": spec}


def test_class_facts_read_the_matching_backends_limit_and_the_mode():
    """An iSCSI ontap-san class gives Block RWX and copy offload; its limit is the most generous matching
    backend's (Trident places a volume on any backend that allows it); an NVMe backend does not count."""
    kube = _Kube(_class("ontap-san", "iscsi"), [_tbc("ontap-san", "iscsi", "50Gi"), _tbc("ontap-san", "iscsi", "80Gi"),
                                                _tbc("ontap-san", "nvme", "500Gi"), _tbc("ontap-nas", limit="1Ti")])
    assert assessment.class_facts(kube, "vm-disks", "trident") == (True, True, 80 * GiB)
    kube.backends.append(_tbc("ontap-san", "iscsi"))  # a matching backend without a limit: no limit at all
    assert assessment.class_facts(kube, "vm-disks", "trident")[2] is None


def test_class_facts_of_a_nas_class_and_a_class_that_is_not_trident():
    assert assessment.class_facts(_Kube(_class("ontap-nas"), [_tbc("ontap-nas", limit="10Gi")]), "vm-disks",
                                  "trident") == (False, False, 10 * GiB)
    assert assessment.class_facts(_Kube(_class("x", provisioner="other.csi"), []), "vm-disks", "trident") == (
        False, False, None)
    with pytest.raises(Exception, match="StorageClass 'missing' does not exist"):
        assessment.class_facts(_Kube(_class("ontap-san"), []), "missing", "trident")


def test_what_the_assessment_returns_is_what_migration_report_takes():
    """The playbook hands migration_assessment's result to migration_report as it is: every key of a row and of a
    wave must be an option there (an unknown key fails the report task)."""
    from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
    from ansible_collections.ontap.virtualization.plugins.modules import migration_report

    target = readiness.Target(taken={"web": "vm-1"}, namespace="apps")
    rows = readiness.assess([facts(vm_props(name="web")), facts(vm_props(name="db"), moid="vm-3")], target)
    assessment_result = {"source": "vcenter", "generated_at": "2026-11-30T08:00:00Z", "round_trips": 3,
                         "summary": readiness.summary(rows), "vms": rows, "unanswered": []}
    params = {"assessment": assessment_result, "waves": waves.plan(rows, "p", max_vms=1)}
    spec = dict((k, migration_report.ARGUMENT_SPEC[k]) for k in params)
    assert ArgumentSpecValidator(spec).validate(params).error_messages == []

"""Cold and warm migrations run by the simulated Forklift against vcsim, onto ONTAP through Trident and CDI
(pkg/controller/plan/migration.go `execute`, `Cancel`, `end`; migrator/base/migrator.go
`coldItinerary`, `Pipeline`, `Step`; kubevirt.go `DataVolumes`, `virtualMachine`; plan.go
`ShouldUseV2vForTransfer` at v2.12.5)."""

import pytest

from lab.controllers.forklift.source import Source
from lab.tests.shared import restart_controllers
from mtv_helpers import (FORKLIFT_CONTROLLER, GROUP, MTV_NAMESPACE, condition, moref, namespace_with_provider,
                         power_state, powered_on, unique, wait_for)

PLAN = (GROUP, "Plan")
MIGRATION = (GROUP, "Migration")
NETWORK_MAP = (GROUP, "NetworkMap")
STORAGE_MAP = (GROUP, "StorageMap")
DV = ("cdi.kubevirt.io/v1beta1", "DataVolume")
VM = ("kubevirt.io/v1", "VirtualMachine")
SAN_CLASS = "mtv-ontap-san"
VDDK = "quay.io/kubev2v/vddk-test-vmdk"  # the test image upstream's e2e uses


@pytest.fixture(scope="module")
def world(kube, lab, mtv, core_v1, good_credentials, kubevirt_on_ontap):
    namespace = namespace_with_provider(kube, core_v1, lab.vars["vcsim_url"], good_credentials, "test-migration",
                                        settings={"vddkInitImage": VDDK})
    providers = {"source": {"name": "vcenter", "namespace": namespace},
                 "destination": {"name": "host", "namespace": MTV_NAMESPACE}}
    for kind, name, entries in (
            (NETWORK_MAP, "net", [{"source": {"name": n}, "destination": {"type": "pod" if n == "VM Network"
                                                                           else "ignored"}}
                                  for n in ("VM Network", "DC0_DVPG0", "DC0_DVPG1")]),
            (STORAGE_MAP, "san", [{"source": {"name": d}, "destination": {
                "storageClass": SAN_CLASS, "volumeMode": "Block", "accessMode": "ReadWriteMany"}}
                for d in ("LocalDS_0", "nfs_ds1")])):
        kube.create({"apiVersion": kind[0], "kind": kind[1], "metadata": {"name": name, "namespace": namespace},
                     "spec": {"provider": providers, "map": entries}})
        kube.wait(*kind, name, namespace, lambda m: condition(m, "Ready"), "to be Ready")
    yield {"namespace": namespace, "providers": providers}
    core_v1.delete_namespace(namespace)


def start(kube, world, vms, storage="san", target=None, **spec) -> tuple:
    """A Ready plan and its Migration (as `kubectl mtv start plan` creates it); the VMs land in the plan's
    namespace unless ``target`` names another."""
    namespace = world["namespace"]
    name = unique("plan")
    kube.create({"apiVersion": PLAN[0], "kind": PLAN[1], "metadata": {"name": name, "namespace": namespace},
                 "spec": {"provider": world["providers"], "targetNamespace": target or namespace,
                          "map": {"network": {"name": "net", "namespace": namespace},
                                  "storage": {"name": storage, "namespace": namespace}}, "vms": vms, **spec}})
    plan = kube.wait(*PLAN, name, namespace, lambda p: condition(p, "Ready"), "to be Ready")
    migration = kube.create({"apiVersion": MIGRATION[0], "kind": MIGRATION[1],
                             "metadata": {"generateName": f"{name}-", "namespace": namespace},
                             "spec": {"plan": {"name": name, "namespace": namespace, "uid": plan["metadata"]["uid"]}}})
    return plan, migration


def finished(kube, plan: dict, timeout: float = 300) -> dict:
    """The plan once it ended (a bound only a hung migration reaches: under a load of 50 on two cores a plan of
    two VMs took more than two minutes)."""
    meta = plan["metadata"]
    return kube.wait(*PLAN, meta["name"], meta["namespace"],
                     lambda p: any(condition(p, t) for t in ("Succeeded", "Failed", "Canceled")), "to finish",
                     timeout=timeout)


def test_cold_migration_of_a_two_disk_vm_onto_ontap_luns(kube, world, vcenter, ontap, core_v1):
    """migration.go execute (cold, CDI transfer since migrateSharedDisks is false: ShouldUseV2vForTransfer):
    Initialize → DiskTransfer → ImageConversion → VirtualMachineCreation; the source powered off
    (StorePowerState/PowerOffSource), one VDDK DataVolume per disk on the mapped class with the map's modes,
    the VM Running with the source's CPU, memory, disks and NIC, owning the claims once the DataVolumes are
    deleted (EnsureVM, DeleteDataVolumes); the plan Succeeded (end)."""
    powered_on(vcenter, "rhel9-web")
    plan, migration = start(kube, world, [{"name": "rhel9-web"}], migrateSharedDisks=False)
    wait_phase(kube, plan, "CopyDisks")
    dvs = labelled(kube, DV, plan)
    assert sorted(dv["metadata"]["annotations"]["forklift.konveyor.io/disk-source"] for dv in dvs) == [
        "[LocalDS_0] rhel9-web/rhel9-web.vmdk", "[nfs_ds1] rhel9-web/rhel9-web_1.vmdk"]
    assert {(dv["spec"]["storage"]["storageClassName"], dv["spec"]["storage"]["volumeMode"],
             dv["spec"]["source"]["vddk"]["initImageURL"]) for dv in dvs} == {(SAN_CLASS, "Block", VDDK)}
    done = finished(kube, plan)
    assert condition(done, "Succeeded")["message"] == "The plan execution has SUCCEEDED."
    vm = done["status"]["migration"]["vms"][0]
    assert vm["phase"] == "Completed" and condition({"status": vm}, "Succeeded")
    assert [s["name"] for s in vm["pipeline"]] == ["Initialize", "DiskTransfer", "ImageConversion",
                                                   "VirtualMachineCreation"]
    assert all(s["phase"] == "Completed" for s in vm["pipeline"])
    transfer = vm["pipeline"][1]
    assert [t["progress"] for t in transfer["tasks"]] == [{"total": 10240, "completed": 10240},
                                                          {"total": 5120, "completed": 5120}]
    assert vm["restorePowerState"] == "On" and power_state(vcenter, "rhel9-web") == "Off"

    namespace = world["namespace"]
    assert "ImportSucceeded" in dv_events(core_v1, namespace, dvs)
    assert labelled(kube, DV, plan) == []  # DeleteDataVolumes once the VM owns the claims
    target = kube.wait(*VM, "rhel9-web", namespace, lambda v: (v.get("status") or {}).get("printableStatus")
                       == "Running", "to run", timeout=120)
    domain = target["spec"]["template"]["spec"]["domain"]
    assert domain["memory"]["guest"] == "2048Mi" and domain["cpu"]["sockets"] * domain["cpu"]["cores"] == 1
    assert len(domain["devices"]["interfaces"]) == 1  # DC0_DVPG0 is mapped to `ignored`
    claims = [v["persistentVolumeClaim"]["claimName"] for v in target["spec"]["template"]["spec"]["volumes"]]
    assert len(claims) == 2
    for claim in claims:
        pvc = core_v1.read_namespaced_persistent_volume_claim(claim, namespace)
        assert pvc.spec.volume_mode == "Block" and pvc.spec.access_modes == ["ReadWriteMany"]
        assert [(o.kind, o.name) for o in pvc.metadata.owner_references] == [("VirtualMachine", "rhel9-web")]
        volume = "trident_" + pvc.spec.volume_name.replace("-", "_")
        assert len(ontap.luns(volume)) == 1, f"{claim} is not an ONTAP LUN"


def test_cold_migration_to_the_host_cluster_lets_virt_v2v_copy(kube, world, vcenter, core_v1):
    """plan.go ShouldUseV2vForTransfer: cold to the host cluster with defaults → AllocateDisks (blank
    DataVolumes, DiskAllocation) and CopyDisksVirtV2V (DiskTransferV2v); migrator.go Pipeline order.
    Into a namespace that does not exist yet, other than the plan's: kubevirt.go `EnsureNamespace` creates it
    when the migration starts, and the DataVolumes carry the plan's labels, not an owner reference to the plan
    in another namespace (kubevirt.go `dataVolumes`: namespace, annotations, generateName and labels only)."""
    powered_on(vcenter, "rhel9-postgres")
    target = unique("mtv-target")
    plan, _ = start(kube, world, [{"name": "rhel9-postgres"}], target=target)
    try:
        dvs = wait_for(lambda: kube.list(*DV, target) or None, "the DataVolumes in the new namespace", timeout=120)
        assert all(not dv["metadata"].get("ownerReferences") for dv in dvs)
        done = finished(kube, plan)
        vm = done["status"]["migration"]["vms"][0]
        assert [s["name"] for s in vm["pipeline"]] == ["Initialize", "DiskAllocation", "ImageConversion",
                                                       "DiskTransferV2v", "VirtualMachineCreation"]
        assert vm["pipeline"][3]["progress"] == {"total": 20480, "completed": 20480}
        assert condition(done, "Succeeded") and kube.get(*VM, "rhel9-postgres", target)
        assert power_state(vcenter, "rhel9-postgres") == "Off"
    finally:
        core_v1.delete_namespace(target)


def vm_status(kube, plan: dict) -> dict:
    found = kube.get(*PLAN, plan["metadata"]["name"], plan["metadata"]["namespace"])
    vms = ((found.get("status") or {}).get("migration") or {}).get("vms") or []
    return vms[0] if vms else {}


def wait_phase(kube, plan: dict, phase: str) -> dict:
    return wait_for(lambda: vm_status(kube, plan) if vm_status(kube, plan).get("phase") == phase else None,
                    f"the VM to reach {phase}", timeout=60)


def labelled(kube, kind, plan: dict) -> list:
    selector = f"plan={plan['metadata']['uid']}"
    return kube.resource(*kind).get(namespace=plan["metadata"]["namespace"], label_selector=selector).to_dict()["items"]


def test_cancel_restores_the_source_power_state(kube, world, vcenter):
    """migration.go execute: a VM listed in Migration.spec.cancel gets Canceled (UserRequested) and
    completes; Cancel cleans up (DataVolumes and, with deleteVmOnFailMigration, the target VM) and powers the
    source on again since restorePowerState is On; end: all canceled → the plan Canceled (v2.12.5)."""
    powered_on(vcenter, "win2022-files")
    plan, migration = start(kube, world, [{"name": "win2022-files"}], migrateSharedDisks=False)
    vm = wait_phase(kube, plan, "CopyDisks")
    assert power_state(vcenter, "win2022-files") == "Off"
    kube.patch(*MIGRATION, migration["metadata"]["name"], world["namespace"],
               {"spec": {"cancel": [{"id": vm["id"], "name": vm["name"]}]}})
    done = finished(kube, plan)
    assert condition(done, "Canceled")["message"] == "The plan execution has been CANCELED."
    canceled = done["status"]["migration"]["vms"][0]
    assert condition({"status": canceled}, "Canceled")["reason"] == "UserRequested"
    assert canceled["phase"] == "Completed" and canceled["restorePowerState"] == "On"
    wait_for(lambda: power_state(vcenter, "win2022-files") == "On" or None, "the source to run again")
    wait_for(lambda: not labelled(kube, DV, plan) or None, "the DataVolumes to be deleted")
    assert kube.get(*VM, "win2022-files", world["namespace"]) is None


def test_deleting_the_migration_cancels_it(kube, world, vcenter):
    """Deleting the Migration cancels the active snapshot (Canceled, reason Deleted, "The migration has been
    deleted.") and every unfinished VM, which is powered on again (migration/controller.go, migration.go
    Cancel at v2.12.5)."""
    powered_on(vcenter, "cbt-off")
    plan, migration = start(kube, world, [{"name": "cbt-off"}], migrateSharedDisks=False)
    wait_phase(kube, plan, "CopyDisks")
    kube.delete(*MIGRATION, migration["metadata"]["name"], world["namespace"])
    done = finished(kube, plan)
    assert condition(done, "Canceled")["reason"] == "Deleted"
    assert condition({"status": done["status"]["migration"]["vms"][0]}, "Canceled")
    wait_for(lambda: power_state(vcenter, "cbt-off") == "On" or None, "the source to run again")


def test_a_controller_restart_mid_migration_loses_and_duplicates_nothing(kube, world, vcenter, lab):
    """The plan controller keeps a migration's state in Plan.status.migration and finds what it created by the
    labels plan/vmID (kubevirt.go EnsureDataVolumes, EnsureVM at v2.12.5): killed mid-transfer and
    restarted, it ends with one claim per disk, all on the one VM, and one history snapshot, Succeeded."""
    powered_on(vcenter, "rhel9-app")
    plan, _ = start(kube, world, [{"name": "rhel9-app"}], migrateSharedDisks=False)
    wait_phase(kube, plan, "CopyDisks")
    restart_controllers(lab)
    done = finished(kube, plan)
    assert condition(done, "Succeeded")
    assert len(done["status"]["migration"]["history"]) == 1
    claims = labelled(kube, ("v1", "PersistentVolumeClaim"), plan)
    assert len(claims) == 3 and all(c["metadata"]["ownerReferences"][0]["name"] == "rhel9-app" for c in claims)
    assert len({claim["spec"]["volumeName"] for claim in claims}) == 3
    assert [vm["metadata"]["name"] for vm in labelled(kube, VM, plan)] == ["rhel9-app"]
    volumes = kube.get(*VM, "rhel9-app", world["namespace"])["spec"]["template"]["spec"]["volumes"]
    assert sorted(v["persistentVolumeClaim"]["claimName"] for v in volumes) == sorted(
        c["metadata"]["name"] for c in claims)
    assert all(s["phase"] == "Completed" for s in done["status"]["migration"]["vms"][0]["pipeline"])


def dv_events(core_v1, namespace: str, dvs: list) -> set:
    names = {dv["metadata"]["name"] for dv in dvs}
    return {e.reason for e in core_v1.list_namespaced_event(namespace).items
            if e.involved_object.kind == "DataVolume" and e.involved_object.name in names}


def phases_from(kube, dv: dict, timeout: float = 120) -> list:
    """The DataVolume's phases from `dv` on until Succeeded, each change once: a watch from its resourceVersion
    delivers every update, however short a phase lasts."""
    meta = dv["metadata"]
    phases = [dv["status"]["phase"]]
    for event in kube.resource(*DV).watch(namespace=meta["namespace"], field_selector=f"metadata.name={meta['name']}",
                                          resource_version=meta["resourceVersion"], timeout=timeout):
        if event["type"] == "DELETED":
            break
        phase = (event["raw_object"].get("status") or {}).get("phase")
        if phase != phases[-1]:
            phases.append(phase)
        if phase == "Succeeded":
            break
    return phases


def test_warm_migration_precopies_until_cutover(kube, world, vcenter, core_v1):
    """Warm (migrator.go warmItinerary; migration.go execute: CreateInitialSnapshot … CopyDisks → CopyingPaused →
    RemovePreviousSnapshot → CreateSnapshot → AddCheckpoint → CopyDisks while `spec.cutover` is unset; then
    StorePowerState … CreateFinalSnapshot → AddFinalCheckpoint → Finalize → ImageConversion → CreateVM at
    v2.12.5): a vcsim snapshot per precopy, DataVolumes Paused with one checkpoint per precopy, the source
    running until the cutover, then off; the DataVolume goes Paused → ImportScheduled → ImportInProgress →
    Succeeded (CDI's multi-stage import of the final checkpoint); no snapshot is left."""
    powered_on(vcenter, "Legacy_App01")
    plan, migration = start(kube, world, [{"name": "Legacy_App01"}], type="warm")
    paused = wait_for(lambda: (lambda vm: vm if vm.get("phase") == "CopyingPaused"
                               and (vm.get("warm") or {}).get("successes", 0) >= 2 else None)(vm_status(kube, plan)),
                      "two precopies", timeout=90)
    assert [p["snapshot"] != "" for p in paused["warm"]["precopies"]] == [True, True]
    assert power_state(vcenter, "Legacy_App01") == "On"
    dvs = labelled(kube, DV, plan)
    assert [dv["status"]["phase"] for dv in dvs] == ["Paused"]
    assert len(dvs[0]["spec"]["checkpoints"]) == 2 and not dvs[0]["spec"].get("finalCheckpoint")

    kube.patch(*MIGRATION, migration["metadata"]["name"], world["namespace"],
               {"spec": {"cutover": "2000-01-01T00:00:00Z"}})
    assert phases_from(kube, dvs[0])[-4:] == ["Paused", "ImportScheduled", "ImportInProgress", "Succeeded"]
    done = finished(kube, plan)
    assert condition(done, "Succeeded")
    vm = done["status"]["migration"]["vms"][0]
    assert [s["name"] for s in vm["pipeline"]] == ["Initialize", "DiskTransfer", "Cutover", "ImageConversion",
                                                   "VirtualMachineCreation"]
    assert vm["newName"] == "legacy-app01" and vm["restorePowerState"] == "On"
    assert {"Paused", "ImportScheduled", "ImportInProgress", "ImportSucceeded"} <= dv_events(
        core_v1, world["namespace"], dvs)
    assert power_state(vcenter, "Legacy_App01") == "Off"
    assert Source(vcenter).snapshot_ids(moref(vcenter, "Legacy_App01")) == []
    assert kube.get(*VM, "legacy-app01", world["namespace"]) is not None


def test_archiving_cleans_up_what_did_not_succeed(kube, world, vcenter):
    """migration.go cleanup: a canceled VM keeps its DataVolumes when deleteVmOnFailMigration is false;
    controller.go archive / Migration.Archive: archiving cleans up every VM that did not succeed (now with
    deleteVmOnFailMigration, its DataVolumes and claims), sets Archived (UserRequested, "The migration plan has
    been archived.") and the plan is no longer Ready (v2.12.5)."""
    powered_on(vcenter, "independent-disk")
    plan, migration = start(kube, world, [{"name": "independent-disk"}], migrateSharedDisks=False,
                            deleteVmOnFailMigration=False)
    vm = wait_phase(kube, plan, "CopyDisks")
    kube.patch(*MIGRATION, migration["metadata"]["name"], world["namespace"],
               {"spec": {"cancel": [{"id": vm["id"], "name": vm["name"]}]}})
    finished(kube, plan)
    assert len(labelled(kube, DV, plan)) == 2
    kube.patch(*PLAN, plan["metadata"]["name"], world["namespace"],
               {"spec": {"archived": True, "deleteVmOnFailMigration": True}})
    archived = kube.wait(*PLAN, plan["metadata"]["name"], world["namespace"], lambda p: condition(p, "Archived"),
                         "to be archived")
    assert condition(archived, "Archived")["reason"] == "UserRequested"
    assert condition(archived, "Archived")["message"] == "The migration plan has been archived."
    assert not condition(archived, "Ready")
    wait_for(lambda: not labelled(kube, DV, plan) or None, "the DataVolumes to be deleted")


def test_max_vms_in_flight_per_host_and_the_source_power_state_carry_over(kube, world, vcenter, mtv):
    """scheduler/vsphere/scheduler.go: with `controller_max_vm_inflight: 1` a second VM of the same ESXi host
    starts only once the first no longer costs a slot (its disks transferred); kubevirt.go determineRunStrategy:
    a source that was off gives a Halted VM, one that was on an Always VM (v2.12.5)."""
    kube.patch(*FORKLIFT_CONTROLLER, mtv["metadata"]["name"], mtv["metadata"]["namespace"],
               {"spec": {"controller_max_vm_inflight": 1}})
    try:
        powered_on(vcenter, "with-snapshot")
        plan, _ = start(kube, world, [{"name": "with-snapshot"}, {"name": "rhel8-stopped"}],
                        migrateSharedDisks=False)
        done = finished(kube, plan)
    finally:
        kube.patch(*FORKLIFT_CONTROLLER, mtv["metadata"]["name"], mtv["metadata"]["namespace"],
                   {"spec": {"controller_max_vm_inflight": None}})
    assert condition(done, "Succeeded")
    first, second = done["status"]["migration"]["vms"]
    assert second["started"] >= first["pipeline"][1]["completed"]
    assert (first["restorePowerState"], second["restorePowerState"]) == ("On", "Off")
    assert kube.get(*VM, "with-snapshot", world["namespace"])["spec"]["runStrategy"] == "Always"
    assert kube.get(*VM, "rhel8-stopped", world["namespace"])["spec"]["runStrategy"] == "Halted"


@pytest.fixture(scope="module")
def shift_map(kube, world, shift_class):
    """A StorageMap of both datastores onto the NetApp Shift class."""
    kube.create({"apiVersion": STORAGE_MAP[0], "kind": STORAGE_MAP[1],
                 "metadata": {"name": "shift", "namespace": world["namespace"]},
                 "spec": {"provider": world["providers"], "map": [
                     {"source": {"name": d}, "destination": {"storageClass": shift_class}}
                     for d in ("LocalDS_0", "nfs_ds1")]}})
    kube.wait(*STORAGE_MAP, "shift", world["namespace"], lambda m: condition(m, "Ready"), "to be Ready")
    return "shift"


def validated(kube, world, vms, storage, **spec) -> dict:
    name = unique("plan")
    kube.create({"apiVersion": PLAN[0], "kind": PLAN[1], "metadata": {"name": name, "namespace": world["namespace"]},
                 "spec": {"provider": world["providers"], "targetNamespace": world["namespace"], "vms": vms,
                          "map": {"network": {"name": "net", "namespace": world["namespace"]},
                                  "storage": {"name": storage, "namespace": world["namespace"]}}, **spec}})
    return kube.wait(*PLAN, name, world["namespace"], lambda p: (p.get("status") or {}).get("conditions"),
                     "to be validated")


def test_net_app_shift_is_validated_as_upstream(kube, world, shift_map):
    """validation.go validateNetAppShift (v2.12.5): a map onto a class annotated
    shift.netapp.io/storage-class-type=shift sets status.netAppShiftDestination; warm is Critical
    NetAppShiftWarmNotSupported; validateVM: a VM with snapshots is Critical VMHasSnapshots ("NetApp Shift plans
    require VMs to have no VMware snapshots…"), a disk on a datastore without NAS details Critical
    NetAppShiftDatastoreNASMissing (hasShiftDiskMissingNAS)."""
    warm = validated(kube, world, [{"name": "rhel9-app"}], shift_map, type="warm")
    assert warm["status"]["netAppShiftDestination"] is True
    assert condition(warm, "NetAppShiftWarmNotSupported")["category"] == "Critical"
    blocked = validated(kube, world, [{"name": "with-snapshot"}], shift_map)
    assert condition(blocked, "VMHasSnapshots")["message"].startswith("NetApp Shift plans require VMs")
    assert condition(blocked, "NetAppShiftDatastoreNASMissing")["items"] == ["LocalDS_0"]
    assert not condition(blocked, "Ready")


def the_claim_of_a_plan_without_data_volumes(kube, plan: dict) -> dict:
    """The one claim of a one-disk VM whose plan Succeeded through CopyDisks (not virt-v2v) without DataVolumes."""
    done = finished(kube, plan)
    assert condition(done, "Succeeded")
    vm = done["status"]["migration"]["vms"][0]
    assert [s["name"] for s in vm["pipeline"]] == ["Initialize", "DiskTransfer", "ImageConversion",
                                                   "VirtualMachineCreation"]
    assert labelled(kube, DV, plan) == []
    claims = labelled(kube, ("v1", "PersistentVolumeClaim"), plan)
    assert len(claims) == 1
    return claims[0]


def test_net_app_shift_takes_over_the_nfs_disks_without_copying(kube, world, vcenter, shift_map):
    """kubevirt.go NetAppShiftPVCs / builder.go NetAppShiftPVCs (v2.12.5): no DataVolume; one plain Filesystem
    RWX claim per disk on the Shift class, annotated with the NFS server and path of its datastore, the disk
    source and netapp-shift; DiskTransfer completes once the claims are bound (updateCopyProgress without
    DataVolumes), since no data moves; ShouldUseV2vForTransfer is false (CopyDisks, not virt-v2v)."""
    powered_on(vcenter, "win2022-files")
    plan, _ = start(kube, world, [{"name": "win2022-files"}], storage=shift_map)
    claim = the_claim_of_a_plan_without_data_volumes(kube, plan)
    annotations = claim["metadata"]["annotations"]
    assert (annotations["forklift.konveyor.io/netapp-shift"], annotations["forklift.konveyor.io/nfs-server"],
            annotations["forklift.konveyor.io/nfs-path"]) == ("true", "127.0.0.1", "/vmware_nfs")
    assert annotations["forklift.konveyor.io/disk-source"] == "[nfs_ds1] win2022-files/win2022-files.vmdk"
    assert claim["spec"]["volumeMode"] == "Filesystem" and claim["spec"]["accessModes"] == ["ReadWriteMany"]


def test_copy_offload_lets_the_array_copy(kube, world, vcenter, core_v1, ontap):
    """builder.go SupportsVolumePopulators / PopulatorVolumes, migration.go updatePopulatorCopyProgress (v2.12.5):
    a map pair with `offloadPlugin.vsphereXcopyConfig` (feature_copy_offload on) gives no DataVolume but a Block
    RWX claim per disk whose dataSourceRef names a VSphereXcopyVolumePopulator (vmId, vmdkPath, vendor); the
    populator reports progress and hands the claim an ONTAP LUN; the transfer runs through CopyDisks."""
    namespace = world["namespace"]
    core_v1.create_namespaced_secret(namespace, {"metadata": {"name": "ontap-xcopy"}, "stringData": {
        "STORAGE_HOSTNAME": "127.0.0.1", "STORAGE_USERNAME": "admin", "STORAGE_PASSWORD": "lab",
        "ONTAP_SVM": "svm_virt"}})
    kube.create({"apiVersion": STORAGE_MAP[0], "kind": STORAGE_MAP[1], "metadata": {"name": "xcopy",
                                                                                    "namespace": namespace},
                 "spec": {"provider": world["providers"], "map": [
                     {"source": {"name": d}, "destination": {"storageClass": SAN_CLASS},
                      "offloadPlugin": {"vsphereXcopyConfig": {"secretRef": "ontap-xcopy",
                                                               "storageVendorProduct": "ontap"}}}
                     for d in ("LocalDS_0", "nfs_ds1")]}})
    kube.wait(*STORAGE_MAP, "xcopy", namespace, lambda m: condition(m, "Ready"), "to be Ready")
    powered_on(vcenter, "usb-controller")
    plan, _ = start(kube, world, [{"name": "usb-controller"}], storage="xcopy")
    claim = the_claim_of_a_plan_without_data_volumes(kube, plan)
    assert claim["spec"]["dataSourceRef"]["kind"] == "VSphereXcopyVolumePopulator"
    assert (claim["spec"]["volumeMode"], claim["spec"]["accessModes"]) == ("Block", ["ReadWriteMany"])
    populator = kube.get(GROUP, "VSphereXcopyVolumePopulator", claim["spec"]["dataSourceRef"]["name"], namespace)
    assert (populator["spec"]["vmdkPath"], populator["spec"]["storageVendorProduct"]) == (
        "[LocalDS_0] usb-controller/usb-controller.vmdk", "ontap")
    assert populator["status"]["progress"] == "100"
    volume = "trident_" + claim["spec"]["volumeName"].replace("-", "_")
    assert len(ontap.luns(volume)) == 1

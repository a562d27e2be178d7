"""Plan validation against the inventory (pkg/controller/plan/validation.go `validate`, `validateVM`,
`validateVddkImage`; pkg/controller/plan/adapter/vsphere/validator.go at v2.12.5): conditions, and
Critical ones keep the plan from Ready."""

import pytest

from mtv_helpers import (GROUP, MTV_NAMESPACE, condition, moref, namespace_with_provider, powered_off, powered_on,
                         unique)

PLAN = (GROUP, "Plan")
NETWORK_MAP = (GROUP, "NetworkMap")
STORAGE_MAP = (GROUP, "StorageMap")


@pytest.fixture(scope="module")
def world(kube, lab, mtv, core_v1, good_credentials, unserved_class):
    """A namespace with a Ready vSphere provider and Ready maps covering every seeded network and datastore."""
    namespace = namespace_with_provider(kube, core_v1, lab.vars["vcsim_url"], good_credentials, "test-plan")
    providers = {"source": {"name": "vcenter", "namespace": namespace},
                 "destination": {"name": "host", "namespace": MTV_NAMESPACE}}
    maps = {
        "network": _ready_map(kube, NETWORK_MAP, namespace, "all-networks", providers, [
            {"source": {"name": "VM Network"}, "destination": {"type": "pod"}},
            {"source": {"name": "DC0_DVPG0"}, "destination": {"type": "ignored"}},
            {"source": {"name": "DC0_DVPG1"}, "destination": {"type": "ignored"}}]),
        "pod-only": _ready_map(kube, NETWORK_MAP, namespace, "pod-only", providers, [
            {"source": {"name": "VM Network"}, "destination": {"type": "pod"}}]),
        "storage": _ready_map(kube, STORAGE_MAP, namespace, "all-datastores", providers, [
            {"source": {"name": name}, "destination": {"storageClass": unserved_class, "volumeMode": "Block",
                                                       "accessMode": "ReadWriteMany"}}
            for name in ("LocalDS_0", "nfs_ds1")]),
    }
    yield {"namespace": namespace, "providers": providers, "maps": maps}
    core_v1.delete_namespace(namespace)


def _ready_map(kube, kind, namespace, name, providers, entries) -> dict:
    kube.create({"apiVersion": kind[0], "kind": kind[1], "metadata": {"name": name, "namespace": namespace},
                 "spec": {"provider": providers, "map": entries}})
    kube.wait(*kind, name, namespace, lambda m: condition(m, "Ready"), "to be Ready")
    return {"name": name, "namespace": namespace}


def plan(kube, world, vms, network="network", **spec) -> dict:
    name = unique("plan")
    created = kube.create({"apiVersion": PLAN[0], "kind": PLAN[1],
                           "metadata": {"name": name, "namespace": world["namespace"]},
                           "spec": {"provider": world["providers"], "targetNamespace": world["namespace"],
                                    "map": {"network": world["maps"][network], "storage": world["maps"]["storage"]},
                                    "vms": vms, **spec}})
    generation = created["metadata"]["generation"]
    return kube.wait(*PLAN, name, world["namespace"],
                     lambda p: (p.get("status") or {}).get("observedGeneration") == generation, "to be validated")


def types(obj: dict) -> set:
    return {c["type"] for c in obj["status"]["conditions"]}


def test_the_procedures_cold_plan_is_ready(kube, world):
    """validation.go validate / validateVM find nothing for a healthy VM with every network and datastore
    mapped; controller.go: Ready "The migration plan is ready." (v2.12.5)."""
    ready = plan(kube, world, [{"name": "rhel9-postgres"}])
    assert condition(ready, "Ready")["message"] == "The migration plan is ready."
    assert types(ready) == {"Ready"}


def test_warm_needs_cbt_no_snapshots_and_a_vddk_image(kube, world):
    """validateVM: VMMissingChangedBlockTracking and VMHasSnapshots for warm; validateVddkImage:
    VDDKInitImageUnavailable without an image (v2.12.5). All Critical: not Ready."""
    warm = plan(kube, world, [{"name": "cbt-off"}, {"name": "with-snapshot"}], type="warm")
    cbt = condition(warm, "VMMissingChangedBlockTracking")
    assert (cbt["category"], cbt["reason"]) == ("Critical", "MissingChangedBlockTracking")
    assert [item.split("name:")[1] for item in cbt["items"]] == ["'cbt-off' "]
    snapshots = condition(warm, "VMHasSnapshots")
    assert snapshots["message"] == "VM has pre-existing snapshots which are incompatible with warm migration"
    assert "with-snapshot" in snapshots["items"][0]
    assert condition(warm, "VDDKInitImageUnavailable")["reason"] == "NotSet"
    assert not condition(warm, "Ready")


def test_cold_ignores_cbt_and_snapshots(kube, world):
    """validator.go ChangeTrackingEnabled / HasSnapshot answer true unless the plan is warm (v2.12.5)."""
    cold = plan(kube, world, [{"name": "cbt-off"}, {"name": "with-snapshot"}])
    assert types(cold) == {"Ready"}


def test_tools_not_running_blocks_and_a_bad_name_only_warns(kube, world):
    """validator.go GuestToolsInstalled: a powered-on VM without running tools is Critical GuestToolsIssue;
    validateVM: a source name that is not DNS-1123 is Warn TargetNameNotValid (v2.12.5)."""
    blocked = plan(kube, world, [{"name": "tools-not-running"}, {"name": "Legacy_App01"}])
    assert condition(blocked, "GuestToolsIssue")["category"] == "Critical"
    assert "tools-not-running" in condition(blocked, "GuestToolsIssue")["items"][0]
    renamed = condition(blocked, "TargetNameNotValid")
    assert renamed["category"] == "Warn" and "Legacy_App01" in renamed["items"][0]
    assert not condition(blocked, "Ready")
    only_name = plan(kube, world, [{"name": "Legacy_App01"}])
    assert types(only_name) == {"TargetNameNotValid", "Ready"}


def test_missing_duplicate_and_unmapped_vms(kube, world):
    """validateVM (v2.12.5): VMNotFound, DuplicateVM NotUnique (the same VM twice),
    VMNetworksNotMapped (validator.go NetworksMapped against the map's references)."""
    checked = plan(kube, world, [{"name": "no-such-vm"}, {"name": "rhel9-web"}, {"name": "rhel9-web"}],
                   network="pod-only")
    assert condition(checked, "VMNotFound")["items"] == [" id: name:'no-such-vm' "]
    assert condition(checked, "DuplicateVM")["reason"] == "NotUnique"
    assert "rhel9-web" in condition(checked, "VMNetworksNotMapped")["items"][0]
    assert not condition(checked, "Ready")


def test_target_names_and_critical_concerns(kube, world):
    """validateVM (v2.12.5): an explicit targetName that is not DNS-1123 is Critical `NotValid`; two VMs with
    one targetName DuplicateVM "Duplicate targetName."; a Critical concern (PCI passthrough) VMCriticalConcerns."""
    checked = plan(kube, world, [{"name": "rhel9-postgres", "targetName": "Bad_Name"},
                                 {"name": "rhel9-web", "targetName": "web"}, {"name": "cbt-off", "targetName": "web"},
                                 {"name": "pci-passthrough"}])
    assert condition(checked, "NotValid")["message"] == "TargetName is invalid."
    assert condition(checked, "DuplicateVM")["message"] == "Duplicate targetName."
    concerns = condition(checked, "VMCriticalConcerns")
    assert concerns["items"][0].endswith("(Passthrough device detected)")


def test_an_existing_target_vm_blocks_the_plan(kube, world):
    """validateVM (v2.12.5): a VirtualMachine of the target name in the target namespace → Critical
    VMAlreadyExists "Target VM already exists."."""
    kube.create({"apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine",
                 "metadata": {"name": "rhel9-app", "namespace": world["namespace"]},
                 "spec": {"runStrategy": "Halted", "template": {"spec": {"domain": {"devices": {}}}}}})
    checked = plan(kube, world, [{"name": "rhel9-app"}])
    assert condition(checked, "VMAlreadyExists")["message"] == "Target VM already exists."
    assert not condition(checked, "Ready")


def test_a_missing_map_and_a_bad_namespace_are_refused(kube, world):
    """validation.go validateNetworkMap NotFound, validateTargetNamespace NotValid (v2.12.5)."""
    name = unique("plan")
    kube.create({"apiVersion": PLAN[0], "kind": PLAN[1], "metadata": {"name": name, "namespace": world["namespace"]},
                 "spec": {"provider": world["providers"], "targetNamespace": "Not_A_Namespace",
                          "map": {"network": {"name": "nothing", "namespace": world["namespace"]},
                                  "storage": world["maps"]["storage"]},
                          "vms": [{"name": "rhel9-postgres"}]}})
    checked = kube.wait(*PLAN, name, world["namespace"], lambda p: (p.get("status") or {}).get("conditions"),
                        "to be validated")
    assert condition(checked, "NetworkMapRefNotValid")["reason"] == "NotFound"
    assert condition(checked, "NamespaceNotValid")["reason"] == "NotValid"
    assert not condition(checked, "Ready")


def vm_conditions(obj: dict) -> dict:
    """The plan's conditions other than Ready: type -> category."""
    return {c["type"]: c["category"] for c in obj["status"]["conditions"] if c["type"] != "Ready"}


@pytest.mark.parametrize("name,expected", [
    ("cbt-off", {}),  # CBT is checked for warm only (validateVM)
    ("with-snapshot", {}),  # snapshots too
    ("Legacy_App01", {"TargetNameNotValid": "Warn"}),  # validateVM: the name is changed, not refused
    ("independent-disk", {"IndependentDiskWarning": "Warn"}),  # validateVM, RDM and independent disk checks
    ("rdm-disk", {"RDMDiskWarning": "Warn"}),
    ("usb-controller", {}),  # a Warning concern: aggregateCriticalConcerns takes Critical ones only
    ("pci-passthrough", {"VMCriticalConcerns": "Critical"}),
    ("tools-not-running", {"GuestToolsIssue": "Critical"}),  # validator.go GuestToolsInstalled
    ("shared-disk", {"SharedDisks-{id}": "Critical"}),  # validator.go SharedDisks: a holder runs
])
def test_each_seeded_concern_gives_its_plan_condition(kube, world, vcenter, name, expected):
    """validation.go validateVM (v2.12.5), a cold plan of each VM the inventory seeds with one concern: the
    condition upstream sets for it, and Ready unless one of them is Critical (plan/controller.go)."""
    powered_on(vcenter, name)  # as seeded: an earlier test may have migrated (powered off) it
    checked = plan(kube, world, [{"name": name}])
    expected = {t.format(id=moref(vcenter, name)): c for t, c in expected.items()}
    assert vm_conditions(checked) == expected, checked["status"]["conditions"]
    assert bool(condition(checked, "Ready")) == ("Critical" not in expected.values())


def test_shared_disks_as_upstream_validates_them(kube, world, vcenter, core_v1):
    """validator.go SharedDisks (v2.12.5): Critical while a VM holding the disk runs ("…are running with attached
    shared disk, please power them off"); once off, nothing when the plan migrates shared disks, Warn
    SharedWarnDisks-<id> for a claim missing when it does not (findSharedPVCs) or already there when it does;
    warm: "The shared disks cannot be used with warm migration" without a category (validation.go sets
    SharedDisks-<id>, which does not block)."""
    vm_id = moref(vcenter, "shared-disk")
    powered_on(vcenter, "shared-disk")
    running = plan(kube, world, [{"name": "shared-disk"}])
    assert condition(running, f"SharedDisks-{vm_id}")["message"] == (
        "Virtual Machines 'shared-disk' are running with attached shared disk, please power them off")
    assert condition(running, f"SharedDisks-{vm_id}")["items"] == [f" id:{vm_id} name:'shared-disk' "]
    disk = "[LocalDS_0] shared-disk/shared-disk_1.vmdk"
    namespace = world["namespace"]
    powered_off(vcenter, "shared-disk")
    try:
        def validated_off(**spec):  # the inventory re-reads vcsim every few seconds: wait for the powered-off VM
            made = plan(kube, world, [{"name": "shared-disk"}], **spec)
            return kube.wait(*PLAN, made["metadata"]["name"], namespace,
                             lambda p: not condition(p, f"SharedDisks-{vm_id}").get("category") == "Critical",
                             "to see the VM powered off", timeout=90)
        assert vm_conditions(validated_off()) == {}
        missing = condition(validated_off(migrateSharedDisks=False), f"SharedWarnDisks-{vm_id}")
        assert (missing["category"], missing["message"]) == ("Warn", (
            f"Missing shared disks PVC '{disk}' in namespace '{namespace}', the VMs can be migrated but the disk "
            "will not be attached"))
        core_v1.create_namespaced_persistent_volume_claim(namespace, {
            "metadata": {"name": "shared", "labels": {"shareable": "true"},
                         "annotations": {"forklift.konveyor.io/disk-source": disk}},
            "spec": {"accessModes": ["ReadWriteMany"], "resources": {"requests": {"storage": "2Gi"}}}})
        existing = validated_off()
        assert condition(existing, f"SharedWarnDisks-{vm_id}")["message"] == (
            f"Already existing shared disks PVCs '{disk}' in namespace '{namespace}', the VMs can be migrated but "
            "the disk will be duplicated")
        assert condition(existing, "Ready")
        warm = condition(validated_off(type="warm"), f"SharedDisks-{vm_id}")
        assert (warm["category"], warm["message"]) == ("", "The shared disks cannot be used with warm migration")
    finally:
        powered_on(vcenter, "shared-disk")

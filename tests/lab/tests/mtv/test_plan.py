"""Plan validation against the inventory (pkg/controller/plan/validation.go `validate`, `validateVM`,
`validateVddkImage`; pkg/controller/plan/adapter/vsphere/validator.go at v2.12.5): conditions, and
Critical ones keep the plan from Ready."""

import pytest

from mtv_helpers import GROUP, MTV_NAMESPACE, PROVIDER, condition, unique

PLAN = (GROUP, "Plan")
NETWORK_MAP = (GROUP, "NetworkMap")
STORAGE_MAP = (GROUP, "StorageMap")
STORAGE_CLASS = "mtv-test-san"


@pytest.fixture(scope="module")
def world(kube, lab, mtv, core_v1, good_credentials):
    """A namespace with a Ready vSphere provider and Ready maps covering every seeded network and datastore."""
    namespace = unique("test-plan")
    core_v1.create_namespace({"metadata": {"name": namespace}})
    core_v1.create_namespaced_secret(namespace, {"metadata": {"name": "vcenter"}, "stringData": good_credentials})
    kube.create({"apiVersion": PROVIDER[0], "kind": PROVIDER[1],
                 "metadata": {"name": "vcenter", "namespace": namespace},
                 "spec": {"type": "vsphere", "url": lab.vars["vcsim_url"],
                          "secret": {"name": "vcenter", "namespace": namespace}}})
    kube.wait(*PROVIDER, "vcenter", namespace, lambda p: (p.get("status") or {}).get("phase") == "Ready", "Ready")
    kube.ensure({"apiVersion": "storage.k8s.io/v1", "kind": "StorageClass", "metadata": {"name": STORAGE_CLASS},
                 "provisioner": "csi.trident.netapp.io", "parameters": {"backendType": "ontap-san"}})
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
            {"source": {"name": name}, "destination": {"storageClass": STORAGE_CLASS, "volumeMode": "Block",
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

"""mtv_plan's VM selection (folder, name pattern), its ONTAP copy-offload and NetApp Shift pairs, and Kube's token."""

import base64

import pytest

from ansible_collections.ontap.virtualization.plugins.module_utils import mtv_inventory, mtv_offload, mtv_plan
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

# A vSphere inventory as MTV's lists give it: DC0's VM folder with apps/ (and apps/db/ inside) and a second
# datacenter DC1 with its own apps/ folder.
DATACENTERS = [{"id": "datacenter-2", "name": "DC0"}, {"id": "datacenter-9", "name": "DC1"}]
FOLDERS = [
    {"id": "group-v3", "name": "vm", "parent": {"kind": "Datacenter", "id": "datacenter-2"}},
    {"id": "group-v20", "name": "apps", "parent": {"kind": "Folder", "id": "group-v3"}},
    {"id": "group-v21", "name": "db", "parent": {"kind": "Folder", "id": "group-v20"}},
    {"id": "group-v10", "name": "vm", "parent": {"kind": "Datacenter", "id": "datacenter-9"}},
    {"id": "group-v11", "name": "apps", "parent": {"kind": "Folder", "id": "group-v10"}},
]


def vm(id_, name, folder, **extra):
    return dict({"id": id_, "name": name, "parent": {"kind": "Folder", "id": folder}}, **extra)


VMS = [vm("vm-5", "rhel9-web", "group-v20"), vm("vm-4", "rhel9-postgres", "group-v21"),
       vm("vm-3", "win2022", "group-v20"), vm("vm-2", "rhel9-lonely", "group-v3"),
       vm("vm-7", "rhel9-web", "group-v11")]


def params(**given):
    return dict({"vms": None, "vm_folder": None, "vm_name_pattern": None}, **given)


def names(vms):
    return [(v["name"], v["id"]) for v in vms]


def test_folder_paths_follow_the_parents_up_to_the_datacenter():
    assert mtv_inventory.folder_paths(FOLDERS, DATACENTERS) == {
        "group-v3": "/DC0/vm", "group-v20": "/DC0/vm/apps", "group-v21": "/DC0/vm/apps/db",
        "group-v10": "/DC1/vm", "group-v11": "/DC1/vm/apps"}


def test_a_folder_selects_its_vms_and_its_subfolders_vms_sorted_by_name():
    chosen = mtv_plan.selected_vms(params(vm_folder="/DC0/vm/apps"), VMS, (FOLDERS, DATACENTERS))
    assert names(chosen) == [("rhel9-postgres", "vm-4"), ("rhel9-web", "vm-5"), ("win2022", "vm-3")]


def test_the_end_of_a_path_names_a_folder_when_it_is_unique():
    chosen = mtv_plan.selected_vms(params(vm_folder="apps/db"), VMS, (FOLDERS, DATACENTERS))
    assert names(chosen) == [("rhel9-postgres", "vm-4")]


def test_a_folder_name_several_folders_have_is_refused_listing_their_paths():
    with pytest.raises(ModuleError, match=r"apps names several folders \(/DC0/vm/apps, /DC1/vm/apps\)"):
        mtv_plan.selected_vms(params(vm_folder="apps"), VMS, (FOLDERS, DATACENTERS))


def test_an_unknown_folder_is_refused_listing_the_vm_folders():
    with pytest.raises(ModuleError, match=r"vm_folder /DC0/vm/nope is not a folder .*/DC0/vm, /DC0/vm/apps"):
        mtv_plan.selected_vms(params(vm_folder="/DC0/vm/nope"), VMS, (FOLDERS, DATACENTERS))


def test_a_pattern_must_match_the_whole_name_and_combines_with_a_folder():
    assert names(mtv_plan.selected_vms(params(vm_name_pattern="rhel9-.*"), VMS)) == [
        ("rhel9-lonely", "vm-2"), ("rhel9-postgres", "vm-4"), ("rhel9-web", "vm-5"), ("rhel9-web", "vm-7")]
    assert names(mtv_plan.selected_vms(params(vm_name_pattern="rhel9"), VMS + [vm("vm-8", "rhel9", "x")])) == [
        ("rhel9", "vm-8")]
    both = mtv_plan.selected_vms(params(vm_folder="/DC1/vm", vm_name_pattern="rhel9-w.b"), VMS, (FOLDERS, DATACENTERS))
    assert names(both) == [("rhel9-web", "vm-7")]


def test_an_empty_selection_names_the_folder_and_the_pattern():
    with pytest.raises(ModuleError, match=r"No VM of the provider is in folder /DC0/vm/apps/db and whose name matches "
                                          r"win.*: the plan would be empty"):
        mtv_plan.selected_vms(params(vm_folder="db", vm_name_pattern="win.*"), VMS, (FOLDERS, DATACENTERS))


def test_a_pattern_that_is_no_regular_expression_is_refused():
    with pytest.raises(ModuleError, match=r"vm_name_pattern 'rhel\[' is not a regular expression"):
        mtv_plan.selected_vms(params(vm_name_pattern="rhel["), VMS)


def test_names_resolve_from_the_one_list_and_ambiguity_asks_for_the_id():
    assert names(mtv_plan.resolve_vms(VMS, [{"name": "win2022"}, {"id": "vm-7"}])) == [
        ("win2022", "vm-3"), ("rhel9-web", "vm-7")]
    with pytest.raises(ModuleError) as error:
        mtv_plan.resolve_vms(VMS, [{"name": "rhel9-web"}, {"name": "gone"}, {"id": "vm-3"}, {"name": "win2022"}])
    assert "VM name rhel9-web is ambiguous (vm-5 at ?, vm-7 at ?)" in error.value.msg
    assert "VM gone is not in the inventory" in error.value.msg and "vm-3 is listed twice" in error.value.msg


class FakeInventory:
    def __init__(self):
        self.calls = []

    def vms(self, provider):
        self.calls.append("vms")
        return VMS

    def folders(self, provider):
        self.calls.append("folders")
        return FOLDERS

    def datacenters(self, provider):
        self.calls.append("datacenters")
        return DATACENTERS


def test_the_inventory_is_read_in_bulk_whatever_the_number_of_vms():
    inventory = FakeInventory()
    assert len(mtv_plan.select_vms(inventory, {}, params(vm_folder="/DC0/vm"))) == 4
    assert inventory.calls == ["vms", "folders", "datacenters"]
    inventory.calls = []
    mtv_plan.select_vms(inventory, {}, params(vms=[{"name": "win2022"}, {"id": "vm-2"}, {"id": "vm-4"}]))
    assert inventory.calls == ["vms"]


# --- copy offload and NetApp Shift ----------------------------------------------------------------------------------

def b64(text):
    return base64.b64encode(text.encode()).decode()


class FakeKube:
    """Objects by (kind, namespace, name); ``ref`` and ``list`` as Kube's."""

    def __init__(self, *objects):
        self.objects = dict(((o["kind"], o["metadata"].get("namespace"), o["metadata"]["name"]), o) for o in objects)

    def ref(self, api_version, kind, name=None, namespace=None):
        return (kind, namespace if kind not in ("StorageClass",) else None, name)

    def get(self, ref):
        return self.objects.get(ref)

    def list(self, ref):
        return [o for (kind, ns, _n), o in self.objects.items() if (kind, ns) == ref[:2]], "1"


class FakeModule:
    def __init__(self, kube, **params):
        self.kube = kube
        self.params = params
        self.warnings = []

    def warn(self, text):
        self.warnings.append(text)


def backend(driver="ontap-san", phase="Bound", svm="svm_virt"):
    spec = {"storageDriverName": driver, "managementLIF": "10.0.0.5", "credentials": {"name": "san-credentials"}}
    if svm:
        spec["svm"] = svm
    return {"kind": "TridentBackendConfig", "metadata": {"name": "san", "namespace": "trident"}, "spec": spec,
            "status": {"phase": phase, "backendInfo": {"backendName": "san-backend"}}}


CREDENTIALS = {"kind": "Secret", "metadata": {"name": "san-credentials", "namespace": "trident"},
               "data": {"username": b64("vsadmin"), "password": b64("s3cret")}}


def storage_class(name, backend_type, shift=False):
    annotations = {mtv_offload.SHIFT_ANNOTATION[0]: mtv_offload.SHIFT_ANNOTATION[1]} if shift else {}
    return {"kind": "StorageClass", "metadata": {"name": name, "annotations": annotations},
            "provisioner": "csi.trident.netapp.io", "parameters": {"backendType": backend_type}}


OPTIONS = {"backend": "san", "backend_namespace": "trident", "secret_name": None, "skip_ssl_verification": False}


def test_the_offload_secret_is_built_from_the_backend_and_its_credentials():
    module = FakeModule(FakeKube(backend(), CREDENTIALS))
    assert mtv_offload.offload_values(module, dict(OPTIONS, skip_ssl_verification=True)) == ("ontap-san", {
        "STORAGE_HOSTNAME": "10.0.0.5", "STORAGE_USERNAME": "vsadmin", "STORAGE_PASSWORD": "s3cret",
        "ONTAP_SVM": "svm_virt", "STORAGE_SKIP_SSL_VERIFICATION": "true"})


def test_a_backend_without_svm_takes_the_one_trident_found():
    found = {"kind": "TridentBackend", "metadata": {"name": "tbe-1", "namespace": "trident"},
             "backendName": "san-backend", "config": {"ontap_config": {"svm": "svm_found"}}}
    module = FakeModule(FakeKube(backend(svm=None), CREDENTIALS, found))
    assert mtv_offload.offload_values(module, OPTIONS)[1]["ONTAP_SVM"] == "svm_found"


@pytest.mark.parametrize("tbc, expected", [
    (None, "TridentBackendConfig trident/san does not exist"),
    (backend(driver="ontap-nas"), "is a ontap-nas backend. Copy offload writes each disk into the LUN"),
    (backend(phase="Failed"), "is not Bound (phase 'Failed')"),
])
def test_offload_is_refused_for_a_backend_that_cannot_take_it(tbc, expected):
    module = FakeModule(FakeKube(*[o for o in (tbc, CREDENTIALS) if o]))
    with pytest.raises(ModuleError) as error:
        mtv_offload.offload_values(module, OPTIONS)
    assert expected in error.value.msg and "Nothing was written" in error.value.msg


def test_offload_pairs_need_a_class_of_the_backend_and_note_datastores_esxi_copies():
    kube = FakeKube(storage_class("san", "ontap-san"), storage_class("nas", "ontap-nas"))
    datastores = [{"id": "datastore-1", "name": "vmfs1", "type": "VMFS"}, {"id": "datastore-2", "name": "nfs1",
                                                                           "type": "NFS"}]
    pairs = [{"source": {"id": "datastore-1"}, "destination": {"storageClass": "san"}},
             {"source": {"id": "datastore-2"}, "destination": {"storageClass": "san"}}]
    assert mtv_offload.check_offload_pairs(kube, pairs, datastores, "ontap-san") == ["nfs1 (NFS)"]
    assert mtv_offload.with_offload(pairs, "p-offload")[0] == {
        "source": {"id": "datastore-1"}, "destination": {"storageClass": "san"},
        "offloadPlugin": {"vsphereXcopyConfig": {"secretRef": "p-offload", "storageVendorProduct": "ontap"}}}
    pairs[1]["destination"]["storageClass"] = "nas"
    with pytest.raises(ModuleError, match="class nas is a ontap-nas class, not a Trident ontap-san class"):
        mtv_offload.check_offload_pairs(kube, pairs, datastores, "ontap-san")


SHIFT_DATASTORES = [{"id": "datastore-1", "name": "LocalDS_0", "type": "OTHER"},
                    {"id": "datastore-2", "name": "nfs_ds1", "type": "NFS", "nasRemoteHost": "10.0.0.9",
                     "nasRemotePath": "/vmware_nfs"}]


def shift_params(**given):
    return dict({"storage_map": None, "storage_class": "san", "volume_mode": "Block", "access_mode": "ReadWriteMany",
                 "netapp_shift_class": "shift", "type": "cold"}, **given)


def disks(*ids, **extra):
    return dict({"name": "vm1", "disks": [{"datastore": {"id": i}} for i in ids]}, **extra)


def test_nfs_datastores_go_to_the_shift_class_and_the_others_as_usual():
    kube = FakeKube(storage_class("shift", "ontap-nas", shift=True))
    pairs = mtv_plan.storage_pairs(kube, shift_params(), [disks("datastore-1", "datastore-2")], SHIFT_DATASTORES)
    assert pairs == [
        {"source": {"id": "datastore-1", "name": "LocalDS_0"},
         "destination": {"storageClass": "san", "volumeMode": "Block", "accessMode": "ReadWriteMany"}},
        {"source": {"id": "datastore-2", "name": "nfs_ds1"}, "destination": {"storageClass": "shift"}}]


@pytest.mark.parametrize("given, vm, expected", [
    ({"type": "warm"}, disks("datastore-2"), "NetApp Shift migrates cold only"),
    ({}, disks("datastore-2", snapshot={"kind": "VirtualMachineSnapshot", "id": "snapshot-1"}),
     "VM vm1 has snapshots (MTV: VMHasSnapshots)"),
    ({}, disks("datastore-1"), "none of the VMs' datastores is NFS with a NAS export"),
    ({"storage_map": [{"source": "LocalDS_0", "storage_class": "shift", "volume_mode": None, "access_mode": None}]},
     disks("datastore-1", "datastore-2"), "datastore LocalDS_0 is a OTHER datastore, not NFS"),
])
def test_the_shift_path_is_refused_before_writing_where_mtv_would_block(given, vm, expected):
    kube = FakeKube(storage_class("shift", "ontap-nas", shift=True))
    with pytest.raises(ModuleError) as error:
        mtv_plan.storage_pairs(kube, shift_params(**given), [vm], SHIFT_DATASTORES)
    assert expected in error.value.msg, error.value.msg


@pytest.mark.parametrize("klass, expected", [
    (None, "netapp_shift_class shift does not exist"),
    (storage_class("shift", "ontap-nas"), "is not annotated shift.netapp.io/storage-class-type=shift"),
    (storage_class("shift", "ontap-san", shift=True), "is not a Trident ontap-nas class"),
])
def test_the_shift_class_must_be_an_annotated_trident_nas_class(klass, expected):
    kube = FakeKube(*[k for k in (klass,) if k])
    with pytest.raises(ModuleError, match=expected):
        mtv_plan.storage_pairs(kube, shift_params(), [disks("datastore-2")], SHIFT_DATASTORES)


# --- Kube.bearer_token ----------------------------------------------------------------------------------------------

def test_bearer_token_is_the_configured_token_without_its_scheme(kube):
    assert kube.bearer_token() == "unit-test-token"


@pytest.mark.parametrize("api_key, expected", [
    ({"authorization": "bearer  abc.def "}, "abc.def"),
    ({"authorization": "raw-token"}, "raw-token"),
    ({"authorization": "Bearer "}, None),
    ({}, None),
    (None, None),
])
def test_bearer_token_of_other_configurations(kube, monkeypatch, api_key, expected):
    monkeypatch.setattr(kube._dynamic.client.configuration, "api_key", api_key)
    assert kube.bearer_token() == expected


def test_the_offload_secret_is_named_after_the_plan_unless_named():
    assert mtv_offload.secret_name({"name": "wave1", "copy_offload": None}) == "wave1-offload"
    assert mtv_offload.secret_name({"name": "wave1", "copy_offload": {"secret_name": "ontap-xcopy"}}) == "ontap-xcopy"

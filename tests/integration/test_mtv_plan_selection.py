"""mtv_plan against the lab: VMs selected by vSphere folder and by name pattern, ONTAP copy-offload pairs with their
offload Secret, and the NetApp Shift path; checked in the cluster (and the audit log for what was not written).

The VMs of a folder come from vcsim: the test makes a folder tree under DC0's VM folder and moves seeded VMs into it
(moved back afterwards), then waits until MTV's inventory (the lab's Forklift collector) shows them there.
"""

import base64
import json
import ssl
import urllib.request

import pytest

from conftest import ansible_runner
from lab.tests.shared import wait_for
from test_mtv import get, mtv, play, results_of, source, target_of, vcenter  # noqa: F401 - fixtures of the MTV tests

FOLDER = "mtv-selection"
SUBFOLDER = "inner"
IN_FOLDER = ("rhel8-stopped", "cbt-off")
IN_SUBFOLDER = ("Legacy_App01",)
SAN_BACKEND = "ontap-san-iscsi"  # the site.yml backend and class of the lab inventory (Block RWX)
NAS_BACKEND = "ontap-nas"
SHIFT_CLASS = "mtv-shift-selection"


def inventory_args(lab, source):  # noqa: F811
    return {"inventory_url": lab.vars["forklift_inventory_url"], "inventory_token": source["token"],
            "inventory_ca_cert": lab.vars["ca_cert"]}


def plan_args(lab, source, name, **extra):  # noqa: F811
    args = dict(name=name, namespace=source["namespace"], source_provider="vcenter",
                target_namespace=target_of(source), wait_timeout=300, **inventory_args(lab, source))
    args.update(extra)
    return args


def inventory_vms(lab, source, custom_objects):  # noqa: F811
    provider = get(custom_objects, "providers", "vcenter", source["namespace"])
    request = urllib.request.Request("{0}/providers/vsphere/{1}/vms".format(
        lab.vars["forklift_inventory_url"], provider["metadata"]["uid"]),
        headers={"Authorization": "Bearer " + source["token"]})
    with urllib.request.urlopen(request, context=ssl.create_default_context(cafile=lab.vars["ca_cert"])) as answer:
        return json.loads(answer.read() or b"[]")


@pytest.fixture(scope="module")
def folders(lab, vcenter, source, custom_objects):  # noqa: F811
    """/DC0/vm/mtv-selection holding IN_FOLDER and its subfolder inner holding IN_SUBFOLDER, once the inventory shows
    it; the VMs go back to DC0's VM folder and the folders are destroyed afterwards."""
    from pyVmomi import vim

    from lab.controllers.forklift import vsphere
    from lab.vcsim_inventory import wait

    service = vsphere.connect(lab.vars["vcsim_url"], lab.vars["vcsim_username"], lab.vars["vcsim_password"],
                              cafile=lab.vars["ca_cert"])
    content = service.RetrieveContent()
    vm_folder = content.rootFolder.childEntity[0].vmFolder
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    by_name = dict((v.name, v) for v in view.view)
    view.Destroy()
    outer = vm_folder.CreateFolder(FOLDER)
    inner = outer.CreateFolder(SUBFOLDER)
    try:
        wait(outer.MoveIntoFolder_Task([by_name[n] for n in IN_FOLDER]))
        wait(inner.MoveIntoFolder_Task([by_name[n] for n in IN_SUBFOLDER]))
        ids = dict((n, by_name[n]._moId) for n in IN_FOLDER + IN_SUBFOLDER)
        wanted = dict([(ids[n], outer._moId) for n in IN_FOLDER] + [(ids[n], inner._moId) for n in IN_SUBFOLDER])
        wait_for(lambda: all(vm["parent"]["id"] == wanted[vm["id"]] for vm in inventory_vms(lab, source,
                                                                                            custom_objects)
                             if vm["id"] in wanted) or None, "the inventory to show the VMs in their folders",
                 timeout=120)
        yield ids
    finally:
        wait(vm_folder.MoveIntoFolder_Task([by_name[n] for n in IN_FOLDER + IN_SUBFOLDER]))
        wait(inner.Destroy_Task())
        wait(outer.Destroy_Task())
        vsphere.disconnect(service)


def condition(obj, type_):
    return next((c for c in (obj or {}).get("status", {}).get("conditions") or [] if c["type"] == type_), None)


def test_a_folder_selects_its_vms_and_its_subfolders_in_name_order_and_a_pattern_narrows_it(
        ansible, lab, source, folders, custom_objects):  # noqa: F811
    """The Plan lists the folder's VMs (subfolder included) by name, each with its inventory id; a rerun changes
    nothing; a pattern keeps the VMs of the folder whose whole name matches."""
    ns = source["namespace"]
    run = ansible(play(("mtv_plan", plan_args(lab, source, "by-folder", vm_folder="vm/" + FOLDER), False)))
    assert run.rc == 0, run.output[-3000:]
    plan = get(custom_objects, "plans", "by-folder", ns)
    expected = sorted(IN_FOLDER + IN_SUBFOLDER)
    assert plan["spec"]["vms"] == [{"id": folders[n], "name": n} for n in expected]
    assert condition(plan, "Ready")["status"] == "True"
    again = ansible(play(("mtv_plan", plan_args(lab, source, "by-folder", vm_folder="vm/" + FOLDER), False)))
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]
    narrowed = ansible(play(("mtv_plan", plan_args(lab, source, "by-folder-rhel", vm_folder="/DC0/vm/" + FOLDER,
                                                   vm_name_pattern="rhel.*|Legacy.*"), False)))
    assert narrowed.rc == 0, narrowed.output[-3000:]
    assert [vm["name"] for vm in get(custom_objects, "plans", "by-folder-rhel", ns)["spec"]["vms"]] == [
        "Legacy_App01", "rhel8-stopped"]


def test_a_pattern_alone_selects_across_the_inventory(ansible, lab, source, custom_objects):  # noqa: F811
    run = ansible(play(("mtv_plan", plan_args(lab, source, "by-pattern", vm_name_pattern="rhel9-(web|app)"), False)))
    assert run.rc == 0, run.output[-3000:]
    plan = get(custom_objects, "plans", "by-pattern", source["namespace"])
    assert [vm["name"] for vm in plan["spec"]["vms"]] == ["rhel9-app", "rhel9-web"]
    assert all(vm["id"].startswith("vm-") for vm in plan["spec"]["vms"])


def test_an_empty_or_unclear_selection_is_refused_before_any_write(ansible, lab, source, folders,  # noqa: F811
                                                                   custom_objects, audit):
    mark = audit.mark()
    run = ansible(play(
        ("mtv_plan", plan_args(lab, source, "empty", vm_folder=FOLDER, vm_name_pattern="win.*"), True),
        ("mtv_plan", plan_args(lab, source, "nowhere", vm_folder="/DC0/vm/no-such-folder"), True),
        ("mtv_plan", plan_args(lab, source, "both", vms=[{"name": "rhel9-web"}], vm_folder=FOLDER), True)))
    empty, nowhere, both = results_of(run)
    assert "No VM of the provider is in folder /DC0/vm/{0} and whose name matches win.*".format(FOLDER) in empty["msg"]
    assert "vm_folder /DC0/vm/no-such-folder is not a folder" in nowhere["msg"]
    assert "/DC0/vm/{0}/{1}".format(FOLDER, SUBFOLDER) in nowhere["msg"]
    assert "mutually exclusive: vms|vm_folder" in both["msg"]
    assert audit.writes_since(mark) == []
    assert get(custom_objects, "plans", "empty", source["namespace"]) is None


def decoded(secret):
    return dict((k, base64.b64decode(v).decode()) for k, v in secret.data.items())


def test_copy_offload_pairs_carry_the_ontap_plugin_and_the_offload_secret_from_the_trident_backend(
        ansible, lab, source, custom_objects, core_v1, tmp_path, monkeypatch):  # noqa: F811
    """StorageMap pairs with offloadPlugin.vsphereXcopyConfig {secretRef, storageVendorProduct: ontap} as the
    v2.12.5 CRD has it; the Secret holds the backend's LIF, SVM and login, is the collection's, and its password
    appears nowhere else; the plan is Ready; a rerun changes nothing; without copy_offload the pairs lose the plugin
    and the Secret goes, as it does with the plan."""
    ns = source["namespace"]
    args = plan_args(lab, source, "offload", vms=[{"name": "rhel9-postgres"}],
                     copy_offload={"backend": SAN_BACKEND})
    run = ansible(play(("mtv_plan", args, False)))
    assert run.rc == 0, run.output[-3000:]
    storage_map = get(custom_objects, "storagemaps", "offload-storage", ns)
    assert [p["offloadPlugin"] for p in storage_map["spec"]["map"]] == [
        {"vsphereXcopyConfig": {"secretRef": "offload-offload", "storageVendorProduct": "ontap"}}]
    assert condition(get(custom_objects, "plans", "offload", ns), "Ready")["status"] == "True"
    secret = core_v1.read_namespaced_secret("offload-offload", ns)
    backend = custom_objects.get_namespaced_custom_object("trident.netapp.io", "v1", "trident",
                                                          "tridentbackendconfigs", SAN_BACKEND)
    login = decoded(core_v1.read_namespaced_secret(backend["spec"]["credentials"]["name"], "trident"))
    assert decoded(secret) == {"STORAGE_HOSTNAME": backend["spec"]["managementLIF"], "ONTAP_SVM": "svm_virt",
                               "STORAGE_USERNAME": login["username"], "STORAGE_PASSWORD": login["password"]}
    assert secret.metadata.labels["app.kubernetes.io/managed-by"] == "ontap.virtualization"
    assert "not on VMFS, so no XCOPY" in run.output  # LocalDS_0 is vcsim's local datastore
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "4")
    again = ansible_runner(lab, tmp_path)(play(("mtv_plan", args, False)))
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]
    assert login["password"] not in run.output + again.output
    without = ansible(play(("mtv_plan", dict(args, copy_offload=None), False)))
    assert without.rc == 0, without.output[-3000:]
    assert ["offloadPlugin" in p for p in get(custom_objects, "storagemaps", "offload-storage", ns)["spec"]["map"]] \
        == [False]
    assert "offload-offload" not in secret_names(core_v1, ns)
    assert ansible(play(("mtv_plan", args, False))).rc == 0
    assert "offload-offload" in secret_names(core_v1, ns)
    gone = ansible(play(("mtv_plan", {"name": "offload", "namespace": ns, "state": "absent"}, False)))
    assert gone.rc == 0, gone.output[-3000:]
    assert "offload-offload" not in secret_names(core_v1, ns)
    assert get(custom_objects, "storagemaps", "offload-storage", ns) is None


def secret_names(core_v1, namespace):
    return [s.metadata.name for s in core_v1.list_namespaced_secret(namespace).items]


def test_copy_offload_onto_a_nas_backend_is_refused_before_any_write(ansible, lab, source,  # noqa: F811
                                                                     custom_objects, audit):
    mark = audit.mark()
    run = ansible(play(("mtv_plan", plan_args(lab, source, "offload-nas", vms=[{"name": "rhel9-postgres"}],
                                              copy_offload={"backend": NAS_BACKEND}), True)))
    result = results_of(run)[0]
    assert "is a ontap-nas backend. Copy offload writes each disk into the LUN" in result["msg"], result
    assert audit.writes_since(mark) == []


@pytest.fixture(scope="module")
def shift_class(api_client):
    """A Trident ontap-nas class annotated as a NetApp Shift class (shift.netapp.io/storage-class-type=shift)."""
    from kubernetes import client
    storage = client.StorageV1Api(api_client)
    storage.create_storage_class({"metadata": {"name": SHIFT_CLASS, "annotations": {
        "shift.netapp.io/storage-class-type": "shift"}}, "provisioner": "csi.trident.netapp.io",
        "parameters": {"backendType": "ontap-nas"}})
    yield SHIFT_CLASS
    storage.delete_storage_class(SHIFT_CLASS)


def test_nfs_datastores_take_the_netapp_shift_path(ansible, lab, source, custom_objects, shift_class):  # noqa: F811
    """rhel9-web has a disk on LocalDS_0 and one on the NFS datastore nfs_ds1: the NFS one maps onto the Shift
    class, the other onto the ONTAP SAN class (Block RWX); MTV (the lab, validation.go validateNetAppShift) marks
    the plan netAppShiftDestination and finds no blocker."""
    ns = source["namespace"]
    run = ansible(play(("mtv_plan", plan_args(lab, source, "shift", vms=[{"name": "rhel9-web"}],
                                              netapp_shift_class=shift_class), False)))
    assert run.rc == 0, run.output[-3000:]
    pairs = dict((p["source"]["name"], p["destination"])
                 for p in get(custom_objects, "storagemaps", "shift-storage", ns)["spec"]["map"])
    assert pairs == {"nfs_ds1": {"storageClass": shift_class},
                     "LocalDS_0": {"storageClass": SAN_BACKEND, "volumeMode": "Block", "accessMode": "ReadWriteMany"}}
    plan = get(custom_objects, "plans", "shift", ns)
    assert plan["status"]["netAppShiftDestination"] is True
    assert condition(plan, "Ready")["status"] == "True"


def test_the_shift_path_is_refused_where_mtv_would_block_it(ansible, lab, source, shift_class, audit):  # noqa: F811
    mark = audit.mark()
    run = ansible(play(
        ("mtv_plan", plan_args(lab, source, "shift-warm", type="warm", vms=[{"name": "win2022-files"}],
                               netapp_shift_class=shift_class), True),
        ("mtv_plan", plan_args(lab, source, "shift-local", vms=[{"name": "rhel9-postgres"}],
                               netapp_shift_class=shift_class), True)))
    warm, local = results_of(run)
    assert "NetApp Shift migrates cold only" in warm["msg"], warm
    assert "none of the VMs' datastores is NFS with a NAS export" in local["msg"], local
    assert audit.writes_since(mark) == []

"""fields: dotted paths into objects and the immutable-field comparison every class and backend module uses."""

from ansible_collections.ontap.virtualization.plugins.module_utils import fields


def test_immutable_changes_compare_dictionaries_key_by_key():
    live = {"spec": {"parameters": {"backendType": "ontap-san", "fsType": "ext4"}, "provisioner": "csi.trident.netapp.io"}}
    desired = {"spec": {"parameters": {"backendType": "ontap-nas", "fsType": "ext4"}, "provisioner": "csi.trident.netapp.io"}}
    changes = fields.immutable_changes(live, desired, ["spec.parameters", "spec.provisioner"])
    assert changes == [(("spec", "parameters", "backendType"), "ontap-san", "ontap-nas")]


def test_unchanged_paths_give_no_changes():
    obj = {"spec": {"storageDriverName": "ontap-san"}}
    assert fields.immutable_changes(obj, obj, ["spec.storageDriverName"]) == []


def test_render_changes_names_each_path_and_its_old_and_new_value():
    changes = [("spec.storageDriverName", "ontap-san", "ontap-nas"), ("spec.storagePrefix", None, "vm_")]
    paths, values = fields.render_changes(changes)
    assert paths == "spec.storageDriverName, spec.storagePrefix"
    assert values == "spec.storageDriverName: ontap-san -> ontap-nas; spec.storagePrefix: None -> vm_"

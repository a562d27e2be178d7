#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: storageclass
short_description: Manage a StorageClass for Trident's CSI driver, and the CDI StorageProfile that goes with it
version_added: 1.0.0
author:
  - ontap.virtualization contributors (@ontap-virtualization)
description:
  - Creates, updates or deletes a C(StorageClass) with the provisioner C(csi.trident.netapp.io).
  - Checks the parameters against the list Trident accepts before anything is written (Trident ignores a whole
    class when one parameter is unknown).
  - Can make the class the cluster default and/or the default class for virtual machines, and takes that mark
    off every other class, so there is never more than one.
  - StorageClass parameters, reclaim policy and binding mode cannot change in Kubernetes; a change fails with a
    clear message unless O(recreate=true).
  - Optionally sets the CDI C(StorageProfile) of the class (access modes, volume mode, clone strategy) through the
    profile's C(spec), because CDI owns the object. This needs CDI (OpenShift Virtualization) installed.
extends_documentation_fragment:
  - ontap.virtualization.attributes
  - ontap.virtualization.k8s_auth_options
  - ontap.virtualization.wait_options
options:
  name:
    description:
      - Name of the StorageClass.
    type: str
    required: true
  state:
    description:
      - Whether the class should exist.
    type: str
    choices: [present, absent]
    default: present
  backend_type:
    description:
      - The Trident driver of the backends this class uses, written as the C(backendType) parameter.
      - CDI recognises a Trident class only by this parameter, and fills its StorageProfile from it
        (C(ontap-san) gives Block ReadWriteMany, C(ontap-nas) Filesystem ReadWriteMany).
      - Required to create a class (unless O(parameters) has C(backendType)). Without O(backend_type) and
        O(parameters), the module only sets the default marks (and O(storage_profile)) of an existing class.
    type: str
    choices: [ontap-nas, ontap-nas-economy, ontap-nas-flexgroup, ontap-san, ontap-san-economy]
  parameters:
    description:
      - Other StorageClass parameters for Trident, for example C(sanType), C(provisioningType), C(snapshots),
        C(clones), C(storagePools), C(selector), C(fsType). Values are passed as strings.
    type: dict
    default: {}
  reclaim_policy:
    description:
      - What happens to an ONTAP volume when its claim is deleted.
    type: str
    choices: [Delete, Retain]
    default: Delete
  volume_binding_mode:
    description:
      - When volumes are provisioned. V(WaitForFirstConsumer) waits for the VM to be scheduled.
    type: str
    choices: [Immediate, WaitForFirstConsumer]
    default: Immediate
  allow_volume_expansion:
    description:
      - Whether claims of this class can grow. CDI falls back to a slow host-assisted copy when a clone must grow
        and expansion is not allowed.
    type: bool
    default: true
  mount_options:
    description:
      - Mount options for NFS volumes, for example V(nfsvers=4.1).
    type: list
    elements: str
  default_class:
    description:
      - Whether this is the cluster's default StorageClass. V(true) takes the mark off every other class.
        Left out, the mark is not touched.
    type: bool
  default_virt_class:
    description:
      - Whether this is the default StorageClass for virtual machine disks
        (annotation C(storageclass.kubevirt.io/is-default-virt-class)). V(true) takes the mark off every other
        class. Left out, the mark is not touched.
    type: bool
  recreate:
    description:
      - Delete and create the class again when a field Kubernetes does not let change differs. Existing volumes
        keep working; new volumes get the new settings.
    type: bool
    default: false
  force:
    description:
      - With O(state=absent), delete the class even while claims use it or while it is the default class for
        VM disks. Without it the module refuses and names the claims.
    type: bool
    default: false
  storage_profile:
    description:
      - Settings for the CDI StorageProfile of this class, written to the profile's C(spec). Left out, the profile
        is not touched.
      - The module waits up to O(wait_timeout) for CDI to create the profile.
    type: dict
    suboptions:
      claim_property_sets:
        description:
          - Access modes and volume mode CDI uses for DataVolumes that do not name them.
        type: list
        elements: dict
        suboptions:
          access_modes:
            description: Access modes, for example V([ReadWriteMany]).
            type: list
            elements: str
            required: true
          volume_mode:
            description: Volume mode.
            type: str
            choices: [Block, Filesystem]
            required: true
      clone_strategy:
        description:
          - How CDI clones volumes of this class. V(csi-clone) and V(snapshot) become ONTAP FlexClones;
            V(copy) is a slow host-assisted copy.
        type: str
        choices: [copy, snapshot, csi-clone]
      snapshot_class:
        description:
          - The VolumeSnapshotClass CDI uses for this class.
        type: str
      data_import_cron_source_format:
        description:
          - Whether boot sources of this class are kept as PVCs or as VolumeSnapshots.
        type: str
        choices: [pvc, snapshot]
"""

EXAMPLES = r"""
- name: A Block RWX class on an NVMe/TCP backend, the default class for VM disks
  ontap.virtualization.storageclass:
    name: ontap-san-nvme
    backend_type: ontap-san
    parameters:
      sanType: nvme
      provisioningType: thin
      snapshots: "true"
      clones: "true"
    default_virt_class: true
    storage_profile:
      claim_property_sets:
        - access_modes: [ReadWriteMany]
          volume_mode: Block
      clone_strategy: csi-clone

- name: An NFS class, the cluster default
  ontap.virtualization.storageclass:
    name: ontap-nas
    backend_type: ontap-nas
    mount_options: [nfsvers=4.1]
    default_class: true

- name: Change an immutable parameter by recreating the class
  ontap.virtualization.storageclass:
    name: ontap-nas
    backend_type: ontap-nas
    parameters:
      provisioningType: thick
    recreate: true
"""

RETURN = r"""
resource:
  description: The StorageClass as the cluster holds it.
  returned: with state=present
  type: dict
unmarked:
  description: Other StorageClasses whose default mark (cluster or virtualization) was taken off.
  returned: always
  type: list
  elements: str
  sample: [standard]
storage_profile:
  description: The StorageProfile of the class after the change (spec and status).
  returned: when storage_profile is given
  type: dict
changes:
  description: What the run created, updated or deleted, in order (in check mode, what it would).
  returned: always
  type: list
  elements: str
  sample: [created StorageClass ontap-san-iscsi, updated StorageProfile ontap-san-iscsi]
diff:
  description: Before and after of the managed fields of every object the run changed.
  returned: in diff mode
  type: list
  elements: dict
"""

from ansible_collections.ontap.virtualization.plugins.module_utils import class_marks, trident, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError
from ansible_collections.ontap.virtualization.plugins.module_utils.module import KubeModule
from ansible_collections.ontap.virtualization.plugins.module_utils.names import dns1123_subdomain_error

API_VERSION = "storage.k8s.io/v1"
KIND = "StorageClass"
IMMUTABLE = ("provisioner", "parameters", "reclaimPolicy", "volumeBindingMode")
MUTABLE = ("allowVolumeExpansion", "mountOptions")
PROFILE_API_VERSION = "cdi.kubevirt.io/v1beta1"
PROFILE_FIELDS = {"claim_property_sets": "claimPropertySets", "clone_strategy": "cloneStrategy",
                  "snapshot_class": "snapshotClass", "data_import_cron_source_format": "dataImportCronSourceFormat"}

ARGUMENT_SPEC = dict(
    name=dict(type="str", required=True),
    state=dict(type="str", choices=["present", "absent"], default="present"),
    backend_type=dict(type="str", choices=list(trident.DRIVERS)),
    parameters=dict(type="dict", default={}),
    reclaim_policy=dict(type="str", choices=["Delete", "Retain"], default="Delete"),
    volume_binding_mode=dict(type="str", choices=["Immediate", "WaitForFirstConsumer"], default="Immediate"),
    allow_volume_expansion=dict(type="bool", default=True),
    mount_options=dict(type="list", elements="str"),
    default_class=dict(type="bool"),
    default_virt_class=dict(type="bool"),
    recreate=dict(type="bool", default=False),
    force=dict(type="bool", default=False),
    storage_profile=dict(type="dict", options=dict(
        claim_property_sets=dict(type="list", elements="dict", options=dict(
            access_modes=dict(type="list", elements="str", required=True),
            volume_mode=dict(type="str", choices=["Block", "Filesystem"], required=True))),
        clone_strategy=dict(type="str", choices=["copy", "snapshot", "csi-clone"]),
        snapshot_class=dict(type="str"),
        data_import_cron_source_format=dict(type="str", choices=["pvc", "snapshot"]),
    )),
)


def desired_class(params):
    parameters = trident.string_parameters(params["parameters"])
    if params["backend_type"]:
        if parameters.get("backendType", params["backend_type"]) != params["backend_type"]:
            raise ModuleError("backend_type is {0} but parameters.backendType is {1}; give it once".format(
                params["backend_type"], parameters["backendType"]))
        parameters["backendType"] = params["backend_type"]
    if "backendType" not in parameters:
        raise ModuleError("state=present needs backend_type: CDI recognises a Trident class only by its backendType "
                          "parameter, and fills its StorageProfile from it")
    problems = trident.storageclass_problems(parameters)
    if problems:
        raise ModuleError("StorageClass {0} would be refused by Trident: {1}".format(params["name"], "; ".join(problems)))
    obj = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": params["name"]},
           "provisioner": trident.CSI_DRIVER, "parameters": parameters, "reclaimPolicy": params["reclaim_policy"],
           "volumeBindingMode": params["volume_binding_mode"],
           "allowVolumeExpansion": params["allow_volume_expansion"]}
    if params["mount_options"]:
        obj["mountOptions"] = params["mount_options"]
    return obj


def desired_profile_spec(profile):
    spec = {}
    for option, key in PROFILE_FIELDS.items():
        value = profile.get(option)
        if value is None:
            continue
        if option == "claim_property_sets":
            value = [{"accessModes": item["access_modes"], "volumeMode": item["volume_mode"]} for item in value]
        spec[key] = value
    return spec


def ensure_profile(module, name):
    """Set the StorageProfile's spec once CDI has created the profile; None in check mode before it exists."""
    kube = module.kube
    if not kube.served(PROFILE_API_VERSION, "StorageProfile"):
        raise ModuleError("storage_profile needs CDI, which creates a StorageProfile for every StorageClass, but the "
                          "cluster does not serve StorageProfiles: install OpenShift Virtualization first, or leave "
                          "storage_profile out until then")
    ref = kube.ref(PROFILE_API_VERSION, "StorageProfile", name)
    if kube.get(ref) is None:
        if module.check_mode:
            return None
        module.wait_until(ref, wait.exists())
    spec = desired_profile_spec(module.params["storage_profile"])
    desired = {"apiVersion": PROFILE_API_VERSION, "kind": "StorageProfile", "metadata": {"name": name}, "spec": spec}
    return module.ensurer.present(desired, ["spec." + key for key in PROFILE_FIELDS.values()]).object


def marks(params):
    return {class_marks.DEFAULT_CLASS: params["default_class"],
            class_marks.DEFAULT_VIRT_CLASS: params["default_virt_class"]}


def mark_existing(module, ref):
    """Only the default marks of a class that exists (made elsewhere, for example by the prerequisites role)."""
    live = module.kube.get(ref)
    if live is None and module.check_mode:
        module.warn("StorageClass {0} does not exist yet; in a real run it must exist by now".format(ref.name))
        return module.result(changed=True, unmarked=[])
    if live is None:
        raise ModuleError("StorageClass {0} does not exist; to create it, give backend_type (and parameters)".format(
            ref.name))
    desired = {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": ref.name}}
    return class_marks.ensure_with_default_marks(module, desired, ref, immutable=(), mutable=(),
                                                 marks=marks(module.params), family=lambda other: True)


def refuse_while_in_use(module, ref):
    """Refuse to delete a class that claims use or that is the default class for VM disks."""
    live = module.kube.get(ref)
    if live is None:
        return
    claims, _version = module.kube.list(module.kube.ref("v1", "PersistentVolumeClaim"))
    users = sorted("{0}/{1}".format(c["metadata"]["namespace"], c["metadata"]["name"]) for c in claims
                   if (c.get("spec") or {}).get("storageClassName") == ref.name)
    if users:
        raise ModuleError("StorageClass {0} is used by {1} claim{2} ({3}); without it they cannot be expanded or "
                          "cloned, and new VMs from them fail. Delete the claims first, or set force: true.".format(
                              ref.name, len(users), "" if len(users) == 1 else "s",
                              ", ".join(users[:10]) + (", ..." if len(users) > 10 else "")))
    if class_marks.is_marked(live, class_marks.DEFAULT_VIRT_CLASS):
        raise ModuleError("StorageClass {0} is the default class for VM disks; new VMs and boot sources would have no "
                          "class. Mark another class default_virt_class first, or set force: true.".format(ref.name))


def run(module):
    params = module.params
    error = dns1123_subdomain_error(params["name"])
    if error:
        raise ModuleError("name: {0}".format(error))
    ref = module.kube.ref(API_VERSION, KIND, params["name"])
    if params["state"] == "absent":
        if not params["force"]:
            refuse_while_in_use(module, ref)
        return class_marks.class_result(module, module.ensurer.absent(ref, IMMUTABLE + MUTABLE))
    if not params["backend_type"] and not params["parameters"]:
        found = mark_existing(module, ref)
    else:
        found = class_marks.ensure_with_default_marks(
            module, desired_class(params), ref, immutable=IMMUTABLE, mutable=MUTABLE, marks=marks(params),
            family=lambda other: True)
    if params["storage_profile"]:
        profile = ensure_profile(module, params["name"])
        if profile is not None:
            found = module.result(storage_profile=profile, **found)
    return found


def main():
    KubeModule(ARGUMENT_SPEC).run(run)


if __name__ == "__main__":
    main()

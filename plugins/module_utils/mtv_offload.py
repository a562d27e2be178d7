# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The two ONTAP fast paths of a plan's StorageMap: copy offload (XCOPY) and NetApp Shift.

Facts from kubev2v/forklift v2.12.5:

- Copy offload: a StorageMap pair with ``offloadPlugin.vsphereXcopyConfig: {secretRef, storageVendorProduct: ontap}``
  (``pkg/apis/forklift/v1beta1/mapping.go``); the Secret, in the plan's namespace, holds ``STORAGE_HOSTNAME``,
  ``STORAGE_USERNAME``, ``STORAGE_PASSWORD``, optional ``STORAGE_SKIP_SSL_VERIFICATION`` and ``ONTAP_SVM`` ("can be
  taken from TridentBackend config.ontap_config.svm", ``cmd/vsphere-copy-offload-populator/README.md``). The ONTAP
  populator resolves the claim's volume to a LUN (``internal/ontap/ontap.go`` ``ResolvePVToLUN``: ``/vol/<internal
  name>/lun0`` for ontap-san, the internalID's LUN for ontap-san-economy), so the target class must make LUNs. True
  XCOPY needs the source VMDK on a VMFS LUN of the same array; from other datastores ESXi copies over the storage
  network ("Storage Offload Fallback Copy"). A plan cannot mix offload and VDDK pairs (VDDKAndOffloadMixedUsage).
- NetApp Shift: a pair onto a class annotated ``shift.netapp.io/storage-class-type: shift``
  (``DestinationStorage.IsNetAppShiftStorageClass``) gets plain Filesystem claims that Trident binds to the NFS VMDKs
  (``adapter/vsphere/builder.go NetAppShiftPVCs``); cold only (NetAppShiftWarmNotSupported), no VM snapshots
  (VMHasSnapshots), and every datastore mapped so must be NFS with its NAS export in the inventory
  (NetAppShiftDatastoreNASMissing).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, mtv_common, secrets, trident
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

VENDOR = "ontap"
SHIFT_ANNOTATION = ("shift.netapp.io/storage-class-type", "shift")
NFS_TYPES = ("NFS", "NFS41")
VMFS = "VMFS"
SECRET_SUFFIX = "-offload"
STORAGE_CLASS_API = "storage.k8s.io/v1"


def secret_name(params):
    return (params.get("copy_offload") or {}).get("secret_name") or params["name"] + SECRET_SUFFIX


def _storage_class(kube, name):
    return kube.get(kube.ref(STORAGE_CLASS_API, "StorageClass", name))


def _backend_type(storage_class):
    if storage_class.get("provisioner") != trident.CSI_DRIVER:
        return None
    return str(fields.get(storage_class, "parameters.backendType") or "")


def offload_values(module, options):
    """The offload Secret's values, from the TridentBackendConfig and its credentials Secret; refusals first."""
    kube = module.kube
    namespace, name = options["backend_namespace"], options["backend"]
    backend = kube.get(kube.ref(trident.TBC_API_VERSION, "TridentBackendConfig", name, namespace))
    where = "TridentBackendConfig {0}/{1}".format(namespace, name)
    if backend is None:
        raise ModuleError("copy_offload.backend: {0} does not exist. Name the Trident backend of the ONTAP SVM the "
                          "migrated disks go to. Nothing was written.".format(where))
    driver = fields.get(backend, "spec.storageDriverName")
    if driver not in trident.SAN_DRIVERS:
        raise ModuleError("copy_offload: {0} is a {1} backend. Copy offload writes each disk into the LUN of its "
                          "claim, which only ontap-san and ontap-san-economy backends make; for NFS datastores on "
                          "ONTAP use netapp_shift_class instead. Nothing was written.".format(where, driver))
    if fields.get(backend, "status.phase") != "Bound":
        raise ModuleError("copy_offload: {0} is not Bound (phase {1!r}): Trident has not accepted it, so its SVM and "
                          "credentials are not known to work. Fix the backend first. Nothing was written.".format(
                              where, fields.get(backend, "status.phase") or ""))
    svm = fields.get(backend, "spec.svm") or _svm_trident_found(kube, backend)
    lif = fields.get(backend, "spec.managementLIF")
    credentials = fields.get(backend, "spec.credentials.name")
    if not (svm and lif and credentials):
        raise ModuleError("copy_offload: {0} gives no {1}, which the offload Secret needs. Nothing was written.".format(
            where, " and no ".join(k for k, v in (("svm", svm), ("managementLIF", lif), ("credentials", credentials))
                                   if not v)))
    login = secrets.values(secrets.require(module, namespace, credentials, ["username", "password"],
                                           "give the backend a credentials Secret with them"))
    values = {"STORAGE_HOSTNAME": lif, "STORAGE_USERNAME": login["username"], "STORAGE_PASSWORD": login["password"],
              "ONTAP_SVM": svm}
    if options.get("skip_ssl_verification"):
        values["STORAGE_SKIP_SSL_VERIFICATION"] = "true"
    return driver, values


def _svm_trident_found(kube, backend):
    """The SVM Trident found for a config that names none (TridentBackend config.ontap_config.svm)."""
    record = fields.get(backend, "status.backendInfo.backendName")
    if not record:
        return None
    for found in kube.list(kube.ref(trident.TBC_API_VERSION, "TridentBackend",
                                    namespace=backend["metadata"]["namespace"]))[0]:
        if found.get("backendName") == record:
            return fields.get(found, "config.ontap_config.svm")
    return None


def check_offload_pairs(kube, pairs, datastores, driver):
    """Refuse pairs whose class does not make LUNs on the backend's driver; notes on datastores ESXi must copy."""
    by_id = dict((d["id"], d) for d in datastores)
    problems, notes = [], []
    for pair in pairs:
        name = pair["destination"]["storageClass"]
        storage_class = _storage_class(kube, name)
        backend_type = _backend_type(storage_class) if storage_class else None
        if storage_class is None:
            problems.append("class {0} does not exist".format(name))
        elif backend_type != driver:
            problems.append("class {0} is {1}, not a Trident {2} class of the offload backend".format(
                name, "a {0} class".format(backend_type) if backend_type else "not a Trident class", driver))
        store = by_id.get(pair["source"]["id"]) or {}
        if store and store.get("type") != VMFS:
            notes.append("{0} ({1})".format(store.get("name") or store["id"], store.get("type") or "unknown type"))
    if problems:
        raise ModuleError("copy_offload cannot be used: {0}. Map every datastore onto a class of the offload backend "
                          "(a plan cannot mix offload and VDDK pairs). Nothing was written.".format(
                              "; ".join(problems)))
    return notes


def with_offload(pairs, name):
    plugin = {"vsphereXcopyConfig": {"secretRef": name, "storageVendorProduct": VENDOR}}
    return [dict(pair, offloadPlugin=plugin) for pair in pairs]


def is_shift_class(storage_class):
    key, value = SHIFT_ANNOTATION
    return fields.get(storage_class or {}, ("metadata", "annotations", key)) == value


def check_shift_class(kube, name):
    """The Shift class must exist, be annotated as one, and be a Trident NAS class."""
    storage_class = _storage_class(kube, name)
    problem = None
    if storage_class is None:
        problem = "does not exist"
    elif not is_shift_class(storage_class):
        problem = "is not annotated {0}={1}, so MTV would copy the disks instead".format(*SHIFT_ANNOTATION)
    elif _backend_type(storage_class) not in trident.NAS_DRIVERS:
        problem = "is not a Trident ontap-nas class (backendType {0!r})".format(_backend_type(storage_class))
    if problem:
        raise ModuleError("netapp_shift_class {0} {1}. Nothing was written.".format(name, problem))


def shift_eligible(datastore):
    """Why the datastore cannot go the Shift path, or None."""
    if datastore.get("type") not in NFS_TYPES:
        return "is a {0} datastore, not NFS".format(datastore.get("type") or "non-NFS")
    if not (datastore.get("nasRemoteHost") and datastore.get("nasRemotePath")):
        return "has no NAS export (nasRemoteHost and nasRemotePath) in the inventory"
    return None


def check_shift_plan(params, vms, shift_ids, datastores):
    """Refusals MTV would raise as blockers, named before writing: warm, snapshots, non-NFS datastores."""
    by_id = dict((d["id"], d) for d in datastores)
    problems = []
    if params["type"] == "warm":
        problems.append("NetApp Shift migrates cold only (MTV: NetAppShiftWarmNotSupported); use type cold")
    for ds_id in shift_ids:
        why = shift_eligible(by_id.get(ds_id) or {"id": ds_id})
        if why:
            problems.append("datastore {0} {1}".format((by_id.get(ds_id) or {}).get("name") or ds_id, why))
    for vm in vms:
        on_shift = any(fields.get(disk, "datastore.id") in shift_ids for disk in vm.get("disks") or [])
        if on_shift and fields.get(vm, "snapshot.id"):
            problems.append("VM {0} has snapshots (MTV: VMHasSnapshots); remove them".format(vm.get("name")))
    if not shift_ids:
        problems.append("none of the VMs' datastores is NFS with a NAS export, so nothing would take the Shift path")
    if problems:
        raise ModuleError("netapp_shift_class cannot be used: {0}. Nothing was written.".format("; ".join(problems)))


def offload_secret_in_use(kube, namespace, name, storage_map_name):
    """Whether a StorageMap other than ours names the offload Secret."""
    maps, _version = kube.list(mtv_common.ref(kube, "StorageMap", None, namespace))
    return any(m["metadata"]["name"] != storage_map_name and any(
        fields.get(pair, "offloadPlugin.vsphereXcopyConfig.secretRef") == name
        for pair in fields.get(m, "spec.map") or []) for m in maps)

"""What a migration creates in the target namespace (pkg/controller/plan/kubevirt.go `DataVolumes`,
`EnsureDataVolumes`, `virtualMachine`, `determineRunStrategy`, `vmLabels`;
pkg/controller/plan/adapter/vsphere/builder.go `DataVolumes`, `mapDisks`, `mapNetworks`, `mapCPU` at v2.12.5).

Objects carry the labels `plan`, `migration` and `vmID` and are found again by them, so a
controller that restarts between creating and recording one does not create it twice.
"""

import math

from lab.controllers.forklift.kinds import VIRTUAL_MACHINE

DATA_VOLUME = ("cdi.kubevirt.io/v1beta1", "DataVolume")
ANN_DISK_SOURCE = "forklift.konveyor.io/disk-source"
ANN_DELETE_AFTER_COMPLETION = "cdi.kubevirt.io/storage.deleteAfterCompletion"
ALIGN = 1024 * 1024  # utils.DefaultAlignBlockSize


def labels(plan: dict, migration: dict, vm_id: str) -> dict:
    return {"plan": plan["metadata"]["uid"], "migration": migration["metadata"]["uid"], "vmID": vm_id}


def selector(plan: dict, vm_id: str) -> str:
    return f"plan={plan['metadata']['uid']},vmID={vm_id}"


def data_volumes(api, plan: dict, vm_id: str) -> list:
    return api.list(*DATA_VOLUME, namespace=plan["spec"]["targetNamespace"], label_selector=selector(plan, vm_id))


def _destination(storage_map: dict, datastore_id: str) -> dict:
    references = {r["id"]: r for r in (storage_map.get("status") or {}).get("references") or []}
    for pair in storage_map["spec"].get("map") or []:
        source = pair.get("source") or {}
        if source.get("id") == datastore_id or references.get(datastore_id, {}).get("name") == source.get("name"):
            return pair["destination"]
    return {}


def data_volume(plan: dict, migration: dict, document: dict, disk: dict, storage_map: dict, source: dict,
                v2v: bool) -> dict:
    """One disk's DataVolume: blank when virt-v2v copies, else a VDDK import from the source."""
    destination = _destination(storage_map, disk["datastore"]["id"])
    storage = {"storageClassName": destination["storageClass"],
               "resources": {"requests": {"storage": str(-(-disk["capacity"] // ALIGN) * ALIGN)}}}
    if destination.get("volumeMode"):
        storage["volumeMode"] = destination["volumeMode"]
    if destination.get("accessMode"):
        storage["accessModes"] = [destination["accessMode"]]
    provider, secret_name = source["provider"], source["secret"]
    dv_source = {"blank": {}} if v2v else {"vddk": {
        "backingFile": disk["file"], "uuid": document["uuid"], "url": provider["spec"]["url"],
        "secretRef": secret_name, "thumbprint": (provider.get("status") or {}).get("fingerprint", ""),
        "initImageURL": source["vddk_image"]}}
    return {"apiVersion": DATA_VOLUME[0], "kind": DATA_VOLUME[1],
            "metadata": {"generateName": f"{plan['metadata']['name']}-{document['id']}-",
                         "namespace": plan["spec"]["targetNamespace"],
                         "labels": labels(plan, migration, document["id"]),
                         "annotations": {ANN_DISK_SOURCE: disk["file"], ANN_DELETE_AFTER_COMPLETION: "false"}},
            "spec": {"source": dv_source, "storage": storage}}


def vddk_secret(plan: dict, migration: dict, vm_id: str, data: dict) -> dict:
    """The per-VM Secret the importer logs in with (kubevirt.go `secret`)."""
    return {"apiVersion": "v1", "kind": "Secret",
            "metadata": {"generateName": f"{plan['metadata']['name']}-{vm_id}-",
                         "namespace": plan["spec"]["targetNamespace"], "labels": labels(plan, migration, vm_id)},
            "stringData": {"accessKeyId": data.get("user", ""), "secretKey": data.get("password", "")}}


def run_strategy(plan: dict, entry: dict, restore_power_state: str) -> str:
    target = entry.get("targetPowerState") or plan["spec"].get("targetPowerState") or "auto"
    if target == "on":
        return "Always"
    if target == "off":
        return "Halted"
    return "Always" if restore_power_state == "On" else "Halted"


def _networks(document: dict, network_map: dict) -> tuple:
    by_id = {r["id"]: r for r in (network_map.get("status") or {}).get("references") or []}
    interfaces, networks = [], []
    for nic in document["nics"]:
        network_id = nic["network"]["id"]
        pair = next((p for p in network_map["spec"].get("map") or []
                     if (p.get("source") or {}).get("id") == network_id
                     or by_id.get(network_id, {}).get("name") == (p.get("source") or {}).get("name")), None)
        destination = (pair or {}).get("destination") or {}
        if destination.get("type") in (None, "ignored"):
            continue
        name = f"net-{len(networks)}"
        if destination["type"] == "pod":
            interfaces.append({"name": name, "masquerade": {}, "macAddress": nic["mac"], "model": "virtio"})
            networks.append({"name": name, "pod": {}})
        else:
            interfaces.append({"name": name, "bridge": {}, "macAddress": nic["mac"], "model": "virtio"})
            networks.append({"name": name, "multus": {"networkName": f"{destination['namespace']}/"
                                                                      f"{destination['name']}"}})
    return interfaces, networks


def virtual_machine(plan: dict, migration: dict, entry: dict, status: dict, document: dict, claims: list,
                    network_map: dict) -> dict:
    """The KubeVirt VM: the source's CPU topology, memory, firmware, one disk per claim, its NICs."""
    cores = document["coresPerSocket"] or 1
    interfaces, networks = _networks(document, network_map)
    vm_labels = labels(plan, migration, document["id"])
    volumes = [{"name": f"vol-{i}", "persistentVolumeClaim": {"claimName": claim}} for i, claim in enumerate(claims)]
    firmware = {"bootloader": {"efi": {}}} if document["firmware"] == "efi" else {"bootloader": {"bios": {}}}
    return {"apiVersion": VIRTUAL_MACHINE[0], "kind": VIRTUAL_MACHINE[1],
            "metadata": {"name": status["newName"], "namespace": plan["spec"]["targetNamespace"], "labels": vm_labels},
            "spec": {"runStrategy": run_strategy(plan, entry, status.get("restorePowerState")),
                     "template": {"metadata": {"labels": vm_labels}, "spec": {
                         "domain": {"cpu": {"sockets": max(1, document["cpuCount"] // cores), "cores": cores},
                                    "memory": {"guest": f"{document['memoryMB']}Mi"}, "firmware": firmware,
                                    "devices": {"disks": [{"name": v["name"], "disk": {"bus": "virtio"}}
                                                          for v in volumes],
                                                "interfaces": interfaces}},
                         "networks": networks, "volumes": volumes}}}}


ANN_NETAPP_SHIFT = "forklift.konveyor.io/netapp-shift"
CDI_CONFIG = ("cdi.kubevirt.io/v1beta1", "CDIConfig")
PVC = ("v1", "PersistentVolumeClaim")


def filesystem_overhead(api, storage_class: str) -> float:
    """CDIConfig's filesystem overhead for the class (its global value otherwise), as CDI computes it."""
    config = api.get(*CDI_CONFIG, "config") or {}
    overhead = (config.get("status") or {}).get("filesystemOverhead") or {}
    return float((overhead.get("storageClass") or {}).get(storage_class) or overhead.get("global") or 0)


def shift_claim(api, plan: dict, migration: dict, document: dict, index: int, disk: dict, storage_map: dict,
                datastore: dict) -> dict:
    """Builder.NetAppShiftPVCs: a plain Filesystem claim (RWX unless the map says otherwise) on the Shift
    class, sized with CDI's filesystem overhead, telling Trident/Shift which NFS VMDK to take over."""
    destination = _destination(storage_map, disk["datastore"]["id"])
    aligned = -(-disk["capacity"] // ALIGN) * ALIGN
    size = math.ceil(aligned / (1 - filesystem_overhead(api, destination["storageClass"])))
    return {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"generateName": f"{plan['metadata']['name']}-{document['id']}-",
                         "namespace": plan["spec"]["targetNamespace"],
                         "labels": labels(plan, migration, document["id"]),
                         "annotations": {ANN_DISK_SOURCE: disk["file"], "forklift.konveyor.io/disk-index": str(index),
                                         "forklift.konveyor.io/vm-id": document["id"],
                                         "forklift.konveyor.io/vm-uuid": document["uuid"], ANN_NETAPP_SHIFT: "true",
                                         "forklift.konveyor.io/nfs-path": datastore.get("nasRemotePath", ""),
                                         "forklift.konveyor.io/nfs-server": datastore.get("nasRemoteHost", "")}},
            "spec": {"accessModes": [destination.get("accessMode") or "ReadWriteMany"], "volumeMode": "Filesystem",
                     "storageClassName": destination["storageClass"],
                     "resources": {"requests": {"storage": str(size)}}}}


def disk_claims(api, plan: dict, vm_id: str) -> dict:
    """Disk file → (kind, object): the DataVolumes, and the Shift and copy-offload claims made without one."""
    namespace, found = plan["spec"]["targetNamespace"], {}
    for dv in data_volumes(api, plan, vm_id):
        found[(dv["metadata"].get("annotations") or {}).get(ANN_DISK_SOURCE)] = ("DataVolume", dv)
    for claim in api.list(*PVC, namespace=namespace, label_selector=selector(plan, vm_id)):
        annotations = claim["metadata"].get("annotations") or {}
        if annotations.get(ANN_NETAPP_SHIFT) == "true" or annotations.get(ANN_COPY_OFFLOAD):
            found[annotations.get(ANN_DISK_SOURCE)] = ("PersistentVolumeClaim", claim)
    return found


ANN_COPY_OFFLOAD = "copy-offload"


def offload_pair(storage_map: dict, datastore_id: str) -> dict:
    """The map pair of a datastore when it copies with the XCOPY plugin, else {}."""
    references = {r["id"]: r for r in (storage_map.get("status") or {}).get("references") or []}
    for pair in storage_map["spec"].get("map") or []:
        source = pair.get("source") or {}
        if source.get("id") == datastore_id or references.get(datastore_id, {}).get("name") == source.get("name"):
            return pair if (pair.get("offloadPlugin") or {}).get("vsphereXcopyConfig") else {}
    return {}


def offload_claim(plan: dict, migration: dict, document: dict, disk: dict, pair: dict) -> tuple:
    """Builder.PopulatorVolumes: a Block claim (RWX unless the map says otherwise) populated by a
    VSphereXcopyVolumePopulator of the same name, and that populator (owned by the claim once it has a uid)."""
    name = f"{plan['metadata']['name']}-{document['id']}-{disk['key']}"
    claim_labels = {**labels(plan, migration, document["id"]), "vmdkKey": str(disk["key"])}
    config = pair["offloadPlugin"]["vsphereXcopyConfig"]
    claim = {"apiVersion": "v1", "kind": "PersistentVolumeClaim",
             "metadata": {"name": name, "namespace": plan["spec"]["targetNamespace"], "labels": claim_labels,
                          "annotations": {ANN_DISK_SOURCE: disk["file"], ANN_COPY_OFFLOAD: disk["file"]}},
             "spec": {"storageClassName": pair["destination"]["storageClass"], "volumeMode": "Block",
                      "accessModes": [pair["destination"].get("accessMode") or "ReadWriteMany"],
                      "resources": {"requests": {"storage": str(disk["capacity"])}},
                      "dataSourceRef": {"apiGroup": "forklift.konveyor.io", "kind": "VSphereXcopyVolumePopulator",
                                        "name": name}}}
    populator = {"apiVersion": "forklift.konveyor.io/v1beta1", "kind": "VSphereXcopyVolumePopulator",
                 "metadata": {"name": name, "namespace": plan["spec"]["targetNamespace"], "labels": claim_labels},
                 "spec": {"vmId": document["id"], "vmdkPath": disk["file"], "secretName": config["secretRef"],
                          "storageVendorProduct": config["storageVendorProduct"]}}
    return claim, populator

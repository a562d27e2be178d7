"""Plan validation (pkg/controller/plan/validation.go `validate`, `validateVM`, `validateVddkImage`;
pkg/controller/plan/adapter/vsphere/validator.go; plan/controller.go Ready at v2.12.5).

Staged each reconcile: the provider pair (stop at SourceProviderNotReady), the target
namespace, the two map references, then (when nothing blocks yet) the migration type, each
VM against the source inventory and the destination, and the VDDK image for warm plans.
`Ready` when no Critical or Error condition remains. Not simulated yet: hooks, transfer
network, service account, templates, UDN, conversion-only PVCs, MAC conflicts,
the VDDK validation Job (an image that is set is taken as valid).
"""

import re

from lab.controllers.forklift import inventory as inv
from lab.controllers.forklift.conditions import ADVISORY, CRITICAL, REQUIRED, WARN, Staged
from lab.controllers.forklift.kinds import NETWORK_MAP, PVC, STORAGE_CLASS, STORAGE_MAP, VIRTUAL_MACHINE
from lab.controllers.forklift.target import ANN_DISK_SOURCE
from lab.controllers.forklift.maps import providers_valid, ref_string
from lab.controllers.forklift.operator import current_settings

_DNS1123_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS1123_SUBDOMAIN = re.compile(rf"^{_DNS1123_LABEL}(\.{_DNS1123_LABEL})*$")
GUEST_TOOLS_MESSAGE = ("VMware Tools issues detected. This may impact migration performance, guest OS detection, and "
                       "network configuration. Ensure VMware Tools are properly installed and running before "
                       "migration. If this is an encrypted VM, please turn the VM off manually before migration.")
OFFLOAD_MIXED_MESSAGE = ("Copy offload is enabled. MTV does not support mixed copy methods. Each migration plan can "
                         "use one migration strategy, either VDDK or copy offload. Check your storage map and VMs to "
                         "ensure they are using the same migration strategy.")

# VM condition: (type, reason, category, message), set when it has items (validateVM's order).
VM_CONDITIONS = (
    ("VMNotFound", "NotFound", CRITICAL, "VM not found."),
    ("DuplicateVM", "NotUnique", CRITICAL, "Duplicate (source) VM."),
    ("VMAlreadyExists", "NotUnique", CRITICAL, "Target VM already exists."),
    ("TargetNameNotValid", "NotValid", WARN,
     "Target VM name does not comply with DNS1123 RFC, will be automatically changed."),
    ("DuplicateVM/ambiguous", "Ambiguous", CRITICAL, "VM reference is ambiguous."),
    ("VMNetworksNotMapped", "NotValid", CRITICAL, "VM has unmapped networks."),
    ("VMStorageNotMapped", "NotValid", CRITICAL, "VM has unmapped storage."),
    ("VMMissingChangedBlockTracking", "MissingChangedBlockTracking", CRITICAL,
     "Changed Block Tracking (CBT) has not been enabled on some VM. This feature is a prerequisite for VM warm "
     "migration."),
    ("VMHasSnapshots", "NotValid", CRITICAL,
     "VM has pre-existing snapshots which are incompatible with warm migration"),
    ("VMHasSnapshots/shift", "NotValid", CRITICAL,
     "NetApp Shift plans require VMs to have no VMware snapshots. Remove snapshots before migration."),
    ("NetAppShiftDatastoreNASMissing", "NotValid", CRITICAL,
     "Datastore is missing NAS export details required for NetApp Shift."),
    ("NotValid", None, CRITICAL, "TargetName is invalid."),
    ("DuplicateVM/targetName", "NotUnique", CRITICAL, "Duplicate targetName."),
    ("GuestToolsIssue", "NotValid", CRITICAL, GUEST_TOOLS_MESSAGE),
    ("VDDKAndOffloadMixedUsage", "NotSupported", CRITICAL, OFFLOAD_MIXED_MESSAGE),
    ("VMCriticalConcerns", "NotValid", CRITICAL,
     "One or more VMs in the plan have critical concerns that block migration."),
    ("RDMDiskWarning", "NotSupported", WARN, "VM has RDM disks which are not supported with VDDK transfer. Enable "
     "copy-offload (XCOPY) in the storage mapping to migrate RDM disks."),
    ("IndependentDiskWarning", "NotSupported", WARN, "VM has independent disks which are not supported with VDDK "
     "transfer. Enable copy-offload (XCOPY) in the storage mapping to migrate independent disks, or change them to "
     "'Dependent' mode in VMware."),
)


SHIFT_CLASS_ANNOTATION = ("shift.netapp.io/storage-class-type", "shift")


def shift_class(api, name: str) -> bool:
    """DestinationStorage.IsNetAppShiftStorageClass: the class is annotated as a NetApp Shift class."""
    found = api.get(*STORAGE_CLASS, name) if name else None
    key, value = SHIFT_CLASS_ANNOTATION
    return bool(found) and (found["metadata"].get("annotations") or {}).get(key) == value


def shift_datastores(api, storage_map: dict) -> set:
    """The datastore ids whose map pair goes to a NetApp Shift class."""
    shift = set()
    references = (storage_map.get("status") or {}).get("references") or []
    for pair in storage_map["spec"].get("map") or []:
        if shift_class(api, pair["destination"].get("storageClass")):
            source = pair.get("source") or {}
            shift |= {r["id"] for r in references if r["id"] == source.get("id") or r["name"] == source.get("name")}
    return shift


def _net_app_shift(api, conditions: Staged, plan: dict, storage_map) -> bool:
    """validateNetAppShift: whether the map uses a Shift class; warm plans cannot."""
    shift = bool(storage_map) and any(shift_class(api, pair["destination"].get("storageClass"))
                                      for pair in storage_map["spec"].get("map") or [])
    if shift and is_warm(plan):
        conditions.set("NetAppShiftWarmNotSupported", CRITICAL,
                       "NetApp Shift/Trident destination storage is not supported for warm migration. Use a cold "
                       "migration plan, or map disks to a non-Shift StorageClass.", reason="NotSupported")
    return shift


def is_warm(plan: dict) -> bool:
    return bool(plan["spec"].get("warm")) or plan["spec"].get("type") == "warm"


def dns1123_subdomain(name: str) -> bool:
    return bool(name) and len(name) <= 253 and bool(_DNS1123_SUBDOMAIN.match(name))


def _target_namespace(conditions: Staged, plan: dict) -> None:
    namespace = plan["spec"].get("targetNamespace") or ""
    if not namespace:
        conditions.set("NamespaceNotValid", CRITICAL, "Target namespace is not valid.", reason="NotSet")
    elif not dns1123_subdomain(namespace):
        conditions.set("NamespaceNotValid", CRITICAL, "Target namespace is not valid.", reason="NotValid")


def _map(api, conditions: Staged, plan: dict, key: str):
    """validateNetworkMap / validateStorageMap: the referenced map, or None."""
    kind, ref_type, not_ready, label = ((NETWORK_MAP, "NetworkMapRefNotValid", "NetworkMapNotReady", "Network")
                                        if key == "network" else
                                        (STORAGE_MAP, "StorageRefNotValid", "StorageMapNotReady", "Storage"))
    if key == "storage" and plan["spec"].get("type") == "conversion":
        return None
    ref = (plan["spec"].get("map") or {}).get(key) or {}
    if not ref.get("name") or not ref.get("namespace"):
        conditions.set(ref_type, CRITICAL, f"Map.{label} is not valid.", reason="NotSet")
        return None
    found = api.get(*kind, ref["name"], ref["namespace"])
    if found is None:
        conditions.set(ref_type, CRITICAL, f"Map.{label} is not valid.", reason="NotFound")
        return None
    if not any(c["type"] == "Ready" for c in (found.get("status") or {}).get("conditions") or []):
        conditions.set(not_ready, CRITICAL, f"Map.{label} does not have Ready condition.")
    return found


def _nad_namespaces(conditions: Staged, plan: dict, network_map: dict) -> None:
    target = plan["spec"].get("targetNamespace")
    for pair in network_map["spec"].get("map") or []:
        destination = pair.get("destination") or {}
        if destination.get("type") == "multus" and destination.get("namespace") not in (target, "default"):
            conditions.set("NetMapDestinationNADNotValid", CRITICAL,
                           f"Destination NAD {destination.get('namespace')}/{destination.get('name')} must be in "
                           f"either the target namespace ({target}) or the default namespace. Pods cannot reference "
                           "network attachment definitions from other namespaces.", reason="NotValid")
            return


def _migration_type(conditions: Staged, plan: dict) -> None:
    if plan["spec"].get("type") not in (None, "", "cold", "warm", "conversion"):
        conditions.set("MigrationTypeNotValid", CRITICAL,
                       f"`{plan['spec']['type']}` migration from the source provider is not supported.",
                       reason="NotSupported")


def _vddk(conditions: Staged, plan: dict, source: dict, settings) -> None:
    image = (source["spec"].get("settings") or {}).get("vddkInitImage") or settings.vddk_image
    if is_warm(plan) and not image:
        conditions.set("VDDKInitImageUnavailable", CRITICAL,
                       "VDDK image not set on the provider, this is required for the warm migration", reason="NotSet")


def _offload_by_datastore(storage_map: dict) -> dict:
    """Datastore id → whether the map's pair for it uses a copy-offload plugin."""
    references = (storage_map.get("status") or {}).get("references") or []
    offload = {}
    for pair in storage_map["spec"].get("map") or []:
        source = pair.get("source") or {}
        uses = bool((pair.get("offloadPlugin") or {}).get("vsphereXcopyConfig"))
        for ref in references:
            if ref["id"] == source.get("id") or (not source.get("id") and ref["name"] == source.get("name")):
                offload[ref["id"]] = uses
    return offload


class _VmFindings:
    """validateVM's per-condition item lists."""

    def __init__(self):
        self.items = {name: [] for name, *_ in VM_CONDITIONS}

    def add(self, name: str, item: str) -> None:
        self.items[name].append(item)

    def stage(self, conditions: Staged) -> None:
        for name, reason, category, message in VM_CONDITIONS:
            if self.items[name]:
                conditions.set(name.split("/")[0], category, message, reason=reason, items=self.items[name])


def collector_datastores(shift) -> dict:
    """The Shift-mapped datastores' documents: shift is (collector, shift datastore ids)."""
    collector, ids = shift
    return {i: d for i, d in collector.documents("datastores").items() if i in ids}


def _check_source_vm(findings, plan, entry, document, maps, offload, shift=None) -> None:
    """The checks of one VM found in the source inventory."""
    ref = ref_string({"id": document["id"], "name": document["name"]})
    target = entry.get("targetName")
    if not target and not dns1123_subdomain(document["name"]):
        findings.add("TargetNameNotValid", ref)
    if target and not dns1123_subdomain(target):
        findings.add("NotValid", ref)
    for concern in document["concerns"]:
        if concern["category"] == "Critical":
            findings.add("VMCriticalConcerns", f"{ref} ({concern['label']})")
    if offload is not None and any(not offload.get(d["datastore"]["id"], False) for d in document["disks"]):
        findings.add("VDDKAndOffloadMixedUsage", ref)
    network_map, storage_map = maps
    mapped_networks = {r.get("id") for r in (network_map.get("status") or {}).get("references") or []}
    if any(n["id"] not in mapped_networks for n in document["networks"]):
        findings.add("VMNetworksNotMapped", ref)
    mapped_storage = {r.get("id") for r in (storage_map.get("status") or {}).get("references") or []}
    if any(d["datastore"]["id"] not in mapped_storage for d in document["disks"]):
        findings.add("VMStorageNotMapped", ref)
    if document["powerState"] == "poweredOn" and (document["toolsStatus"] in ("", "null", "<nil>", "toolsNotInstalled")
                                                  or document["toolsRunningStatus"] == "guestToolsNotRunning"):
        findings.add("GuestToolsIssue", ref)
    _check_disks(findings, plan, document, ref, offload)
    if shift is not None:
        if document["snapshot"].get("id"):
            findings.add("VMHasSnapshots/shift", ref)
        datastores = collector_datastores(shift)
        for disk in document["disks"]:
            store = datastores.get(disk["datastore"]["id"])
            if store is not None and not (store.get("nasRemoteHost") and store.get("nasRemotePath")):
                findings.add("NetAppShiftDatastoreNASMissing", store["name"])
                break
    if is_warm(plan):
        if not document["changeTrackingEnabled"]:
            findings.add("VMMissingChangedBlockTracking", ref)
        if document["snapshot"].get("id"):
            findings.add("VMHasSnapshots", ref)


def _check_disks(findings, plan, document, ref, offload) -> None:
    if offload:
        return
    if any(d["rdm"] and (not is_warm(plan) or d.get("physicalMode")) for d in document["disks"]):
        findings.add("RDMDiskWarning", ref)
    if any(d["mode"] in ("independent_persistent", "independent_nonpersistent") for d in document["disks"]):
        findings.add("IndependentDiskWarning", ref)


def _migrates_shared_disks(plan: dict, entry: dict) -> bool:
    """validator.go shouldMigrateSharedDisks: the VM's own setting, else the plan's (CRD default true)."""
    if entry.get("migrateSharedDisks") is not None:
        return entry["migrateSharedDisks"]
    return plan["spec"].get("migrateSharedDisks", True)


def _shared_disks(api, plan: dict, entry: dict, document: dict, collector):
    """validator.go SharedDisks (v2.12.5): (category, message) when the VM's shared disks stop or warn, else None.
    Warm: a message without category; a VM holding one of the disks (itself included) not powered off:
    Critical; then the target namespace's `shareable` claims (annotated with the disk file) by
    findSharedPVCs: missing ones warn when shared disks are not migrated, existing ones when they are,
    as do disks that VMs of the plan would copy twice."""
    shared = [d for d in document["disks"] if d["shared"]]
    if not shared:
        return None
    if is_warm(plan):
        return "", "The shared disks cannot be used with warm migration"
    files = {d["file"] for d in shared}
    vms = collector.documents("vms").values()
    holders = {vm["id"]: vm for vm in vms if any(d["file"] in files for d in vm["disks"])}
    running = [vm["name"] for vm in holders.values() if vm["powerState"] != "poweredOff"]
    if running:
        return CRITICAL, (f"Virtual Machines {_quoted(running)} are running with attached shared disk, please power "
                          "them off")
    namespace = plan["spec"].get("targetNamespace")
    claims = {(c["metadata"].get("annotations") or {}).get(ANN_DISK_SOURCE)
              for c in api.list(*PVC, namespace=namespace, label_selector="shareable=true")}
    if not _migrates_shared_disks(plan, entry):
        missing = [d["file"] for d in shared if d["file"] not in claims]
        if missing:
            return WARN, (f"Missing shared disks PVC {_quoted(missing)} in namespace '{namespace}', the VMs can be "
                          "migrated but the disk will not be attached")
        return None
    existing = [d["file"] for d in shared if d["file"] in claims]
    if existing:
        return WARN, (f"Already existing shared disks PVCs {_quoted(existing)} in namespace '{namespace}', the VMs "
                      "can be migrated but the disk will be duplicated")
    copies = {}
    for other in plan["spec"].get("vms") or []:
        if not _migrates_shared_disks(plan, other):
            continue
        try:
            found = inv.find(collector, "vms", other)
        except (inv.NotFound, inv.NotUnique):
            continue
        for disk in found["disks"]:
            if disk["shared"] and disk["file"] in files:
                copies[disk["file"]] = copies.get(disk["file"], 0) + 1
    message = ""
    twice = [(f, n) for f, n in copies.items() if n > 1]
    for file, count in twice:
        message = f"the shared disk '{file}' will be coppied {count}x, {message}"  # sic
    if message:
        noun = "disk" if len(twice) == 1 else "disks"
        return WARN, (f"{message} please detach the {noun} from all but one of the VMs, or remove the VMs from the "
                      f"plan to avoid duplicating the {noun}")
    return None


def _quoted(items: list) -> str:
    """utils.go stringifyWithQuotes."""
    return "'" + "', '".join(items) + "'"


def _validate_vms(api, conditions: Staged, plan: dict, collector, maps, net_app_shift: bool = False) -> None:
    findings = _VmFindings()
    shared_disks = []
    shift = (collector, shift_datastores(api, maps[1])) if net_app_shift else None
    seen, targets = set(), set()
    storage_map = maps[1]
    uses_offload = current_settings(api).copy_offload and any(
        (pair.get("offloadPlugin") or {}).get("vsphereXcopyConfig") for pair in storage_map["spec"].get("map") or [])
    offload = _offload_by_datastore(storage_map) if uses_offload else None
    migrating = {vm["id"] for vm in ((plan.get("status") or {}).get("migration") or {}).get("vms") or []
                 if not any(c["type"] in ("Failed", "Canceled") for c in vm.get("conditions") or [])}
    for entry in plan["spec"].get("vms") or []:
        if not entry.get("id") and not entry.get("name"):
            conditions.set("VMRefNotValid", CRITICAL, "Either `ID` or `Name` required.", reason="NotSet")
            continue
        try:
            document = inv.find(collector, "vms", entry)
        except inv.NotFound:
            findings.add("VMNotFound", ref_string(entry))
            continue
        except inv.NotUnique:
            findings.add("DuplicateVM/ambiguous", ref_string(entry))
            continue
        ref = ref_string({"id": document["id"], "name": document["name"]})
        if document["id"] in seen:  # the Finder resolved the ref, so by-name entries have their id too
            findings.add("DuplicateVM", ref)
        seen.add(document["id"])
        if entry.get("targetName"):
            if entry["targetName"] in targets:
                findings.add("DuplicateVM/targetName", ref)
            targets.add(entry["targetName"])
        _check_source_vm(findings, plan, entry, document, maps, offload, shift)
        found = _shared_disks(api, plan, entry, document, collector)
        if found is not None:  # validation.go: SharedWarnDisks-<id> when Warn, else SharedDisks-<id>
            category, message = found
            shared_disks.append((f"{'SharedWarnDisks' if category == WARN else 'SharedDisks'}-{document['id']}",
                                 category, message, ref))
        target_name = entry.get("targetName") or document["name"]
        if document["id"] not in migrating and \
                api.get(*VIRTUAL_MACHINE, target_name, plan["spec"].get("targetNamespace")) is not None:
            findings.add("VMAlreadyExists", ref)
    findings.stage(conditions)
    for type_, category, message, ref in shared_disks:
        conditions.set(type_, category, message, items=[ref])


def make_reconcile(collectors):
    from lab.controllers.forklift import runner  # runner builds on this module

    def reconcile_plan(api, plan: dict):
        settings = current_settings(api)
        if settings is None:
            return 10.0
        held = {c["type"] for c in (plan.get("status") or {}).get("conditions") or []}
        archived = bool(plan["spec"].get("archived"))
        if (archived and "Archived" in held) or ("Succeeded" in held and not archived):
            return None  # controller.go Reconcile: archived and succeeded plans are left alone
        conditions = Staged((plan.get("status") or {}).get("conditions"))
        net_app_shift = None
        source = providers_valid(api, conditions, plan)
        if source is not None or not conditions.get("SourceProviderNotReady"):
            _target_namespace(conditions, plan)
            network_map = _map(api, conditions, plan, "network")
            if network_map is not None:
                _nad_namespaces(conditions, plan, network_map)
            storage_map = _map(api, conditions, plan, "storage")
            if not conditions.has_blocker() and source is not None:
                collector = collectors.get(source)
                if collector is None or not collector.has_parity():
                    return 3.0
                _migration_type(conditions, plan)
                net_app_shift = _net_app_shift(api, conditions, plan, storage_map)
                _validate_vms(api, conditions, plan, collector, (network_map, storage_map), net_app_shift)
                _vddk(conditions, plan, source, settings)
        if archived:
            runner.archive(api, plan, collectors.get(source) if source is not None else None,
                           (network_map, storage_map), settings)
            conditions.set("Archived", ADVISORY, "The migration plan has been archived.", reason="UserRequested")
        elif not conditions.has_blocker():
            conditions.set("Ready", REQUIRED, "The migration plan is ready.")
        status = {"observedGeneration": plan["metadata"].get("generation")}
        if net_app_shift is not None:
            status["netAppShiftDestination"] = net_app_shift
        requeue = None
        if not archived and source is not None and not conditions.get("SourceProviderNotReady"):
            status["migration"], requeue = runner.run(api, plan, conditions, collectors.get(source),
                                                      (network_map, storage_map), settings)
            runner.lifecycle(conditions, status["migration"])
        status["conditions"] = conditions.result()
        api.patch_status(plan, status, guarded=True)
        return requeue or (10.0 if conditions.get("VMMissingChangedBlockTracking") else 30.0)
    return reconcile_plan

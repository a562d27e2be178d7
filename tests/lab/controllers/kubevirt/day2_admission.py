"""virt-api's admission of the day-2 objects: VirtualMachineSnapshot, VirtualMachineRestore, and
the VirtualMachineClone's new MAC addresses (KubeVirt v1.8.4).

- Snapshots (`pkg/storage/admitters/vmsnapshot.go`): the source must be a kubevirt.io
  VirtualMachine; the spec is immutable.
- Restores (`pkg/storage/admitters/vmrestore.go`): the target must be a kubevirt.io
  VirtualMachine; patches may touch only `/spec/...`, `/metadata/labels/...` and
  `/metadata/annotations/...`, and are checked by splitting their text on `,` and `:` (so a
  value holding a `:`, such as a MAC address, is refused); a second restore to a target whose
  restore is not complete is refused; a restore to another VM of a VM with backend storage
  (persistent TPM or EFI) is refused; the spec is immutable.
- Clones (`pkg/virt-api/webhooks/validating-webhook/admitters/vmclone-admitter.go`,
  `validateNewMacAddresses`): each new MAC address must parse as Go's net.ParseMAC does, and be
  6 bytes long; webhooks.validate_clone asks `mac_address_causes`.
"""

import re

from lab.controllers.kubevirt import webhooks as kw  # a module reference: webhooks imports this one
from lab.controllers.kubevirt.cluster_config import feature_gate, kubevirt
from lab.webhooks import allow

SNAP_API = "snapshot.kubevirt.io/v1beta1"
VMSNAPSHOT = (SNAP_API, "VirtualMachineSnapshot")
CONTENT = (SNAP_API, "VirtualMachineSnapshotContent")
RESTORE = (SNAP_API, "VirtualMachineRestore")
VM = ("kubevirt.io/v1", "VirtualMachine")

SNAPSHOT_PATH = "/virtualmachinesnapshots-validate"
RESTORE_PATH = "/virtualmachinerestores-validate"

BACKEND_STORAGE_RESTORE = ("Restore to a different VM is not supported when snapshotted VM has backend storage "
                           "(persistent TPM or EFI)")


def webhooks(webhook, rule) -> list:
    """The validating webhooks virt-operator registers for these (components/webhooks.go)."""
    return [
        webhook("virtualmachinesnapshot-validator.snapshot.kubevirt.io", SNAPSHOT_PATH,
                [rule(["snapshot.kubevirt.io"], ["v1beta1"], ["virtualmachinesnapshots"], ["CREATE", "UPDATE"])]),
        webhook("virtualmachinerestore-validator.snapshot.kubevirt.io", RESTORE_PATH,
                [rule(["snapshot.kubevirt.io"], ["v1beta1"], ["virtualmachinerestores"], ["CREATE", "UPDATE"])]),
    ]


def _snapshot_enabled(api) -> bool:
    return feature_gate(kubevirt(api), "Snapshot", beta_default=True)


def _immutable_spec(request: dict) -> list:
    if (request.get("oldObject") or {}).get("spec") != (request["object"].get("spec") or {}):
        return [kw._cause("spec", "spec in immutable after creation")]
    return []


def _virtual_machine_reference(reference: dict, field: str) -> list:
    """A TypedLocalObjectReference that must name a kubevirt.io VirtualMachine."""
    if reference.get("apiGroup") is None:
        return [kw._cause(f"{field}.apiGroup", "missing apiGroup", "FieldValueNotFound")]
    if reference["apiGroup"] != "kubevirt.io":
        return [kw._cause(f"{field}.apiGroup", "invalid apiGroup")]
    if reference.get("kind") != "VirtualMachine":
        return [kw._cause(f"{field}.kind", "invalid kind")]
    return []


# --- VirtualMachineSnapshot ------------------------------------------------------------------------

def validate_snapshot(api, request: dict) -> dict:
    if request["operation"] == "CREATE" and not _snapshot_enabled(api):
        return kw.refused("snapshot feature gate not enabled")
    if request["operation"] == "CREATE":
        causes = _virtual_machine_reference((request["object"].get("spec") or {}).get("source") or {},
                                            "spec.source")
    else:
        causes = _immutable_spec(request)
    return kw.invalid(causes) if causes else allow()


# --- VirtualMachineRestore -------------------------------------------------------------------------

def patch_causes(patches) -> list:
    """validatePatches: a textual check, not a JSON one; each `key: value` pair must hold one ':'."""
    causes = []
    for patch in patches or []:
        for pair in patch.strip("{}").split(","):
            key_value = pair.split(":")
            if len(key_value) != 2:
                causes.append(kw._cause("spec.patches", 'patch format is not valid - one ":" expected in a single '
                                        f"key-value json patch: {pair}"))
                continue
            key, value = key_value[0].strip(), key_value[1].strip()
            if key != '"path"' or value.startswith(('"/metadata/labels/', '"/metadata/annotations/')):
                continue
            if not value.startswith('"/spec/'):
                causes.append(kw._cause("spec.patches",
                                        f"patching is valid only for elements under /spec/ only: {pair}"))
    return causes


def has_backend_storage(vm: dict) -> bool:
    """backendstorage.IsBackendStorageNeeded for a snapshot's VM: a persistent TPM or EFI."""
    domain = ((((vm.get("spec") or {}).get("template") or {}).get("spec") or {}).get("domain")) or {}
    tpm = (domain.get("devices") or {}).get("tpm")
    persistent_tpm = tpm is not None and tpm.get("enabled", True) is not False and tpm.get("persistent") is True
    efi = ((domain.get("firmware") or {}).get("bootloader") or {}).get("efi") or {}
    return persistent_tpm or efi.get("persistent") is True


def _target_causes(api, restore: dict):
    """validateTargetVM: (causes, error text); nothing is checked while the snapshot is missing."""
    namespace, spec = restore["metadata"]["namespace"], restore.get("spec") or {}
    causes = patch_causes(spec.get("patches"))
    snapshot = api.get(*VMSNAPSHOT, spec.get("virtualMachineSnapshotName") or "", namespace)
    if snapshot is None:
        return [], None  # upstream returns here, dropping the patch causes too
    target = api.get(*VM, spec["target"].get("name") or "", namespace)
    source_uid = (snapshot.get("status") or {}).get("sourceUID")
    if target is not None and (source_uid is None or target["metadata"]["uid"] == source_uid):
        return causes, None
    content_name = (snapshot.get("status") or {}).get("virtualMachineSnapshotContentName")
    if not content_name:
        return None, "snapshot content name is nil in vmSnapshot status"
    content = api.get(*CONTENT, content_name, namespace)
    if content is None:
        return None, (f'virtualmachinesnapshotcontents.snapshot.kubevirt.io "{content_name}" not found')
    snapshot_vm = ((content.get("spec") or {}).get("source") or {}).get("virtualMachine")
    if snapshot_vm is None:
        return None, "unexpected snapshot source"
    if has_backend_storage(snapshot_vm):
        causes.append(kw._cause("spec", BACKEND_STORAGE_RESTORE))
    return causes, None


def _policy_causes(spec: dict) -> list:
    causes = []
    for index, override in enumerate(spec.get("volumeRestoreOverrides") or []):
        if not override.get("volumeName"):
            causes.append(kw._cause(f"spec.volumeRestoreOverrides[{index}].volumeName",
                                    "must provide a volume name", "FieldValueRequired"))
        if not override.get("restoreName") and override.get("annotations") is None and \
                override.get("labels") is None:
            causes.append(kw._cause(f"spec.volumeRestoreOverrides[{index}]",
                                    "must provide at least one overriden field", "FieldValueRequired"))
    policy = spec.get("volumeRestorePolicy")
    if policy is not None and policy not in ("InPlace", "RandomizeNames", "PrefixTargetName"):
        causes.append(kw._cause("spec.volumeRestorePolicy", f'volume restore policy "{policy}" doesn\'t exist'))
    ownership = spec.get("volumeOwnershipPolicy")
    if ownership is not None and ownership not in ("Vm", "None"):
        causes.append(kw._cause("spec.volumeOwnershipPolicy", f'volume ownership policy "{ownership}" doesn\'t exist'))
    return causes


def _restores_in_progress(api, restore: dict) -> list:
    """Another restore to the same target that is not complete."""
    namespace, target = restore["metadata"]["namespace"], (restore.get("spec") or {}).get("target")
    return [kw._cause("spec.target", f'VirtualMachineRestore "{other["metadata"]["name"]}" in progress')
            for other in api.list(*RESTORE, namespace=namespace)
            if (other.get("spec") or {}).get("target") == target
            and not (other.get("status") or {}).get("complete")]


def validate_restore(api, request: dict) -> dict:
    if request["operation"] == "CREATE" and not _snapshot_enabled(api):
        return kw.refused("Snapshot/Restore feature gate not enabled")
    restore = {**request["object"], "metadata": {**request["object"].get("metadata", {}),
                                                 "namespace": request.get("namespace")}}
    if request["operation"] != "CREATE":
        causes = _immutable_spec(request)
        return kw.invalid(causes) if causes else allow()
    spec = restore.get("spec") or {}
    causes = _virtual_machine_reference(spec.get("target") or {}, "spec.target")
    if not causes:
        causes, error = _target_causes(api, restore)
        if error:
            return kw.refused(error)
        causes += _policy_causes(spec)
    causes += _restores_in_progress(api, restore)
    return kw.invalid(causes) if causes else allow()


# --- VirtualMachineClone: newMacAddresses ------------------------------------------------------------

_HEX_PAIRS = r"[0-9A-Fa-f]{2}(?:(?P<sep>[:-])[0-9A-Fa-f]{2})(?:(?P=sep)[0-9A-Fa-f]{2}){4}"
_DOTTED = r"[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}\.[0-9A-Fa-f]{4}"
MAC_48 = re.compile(rf"(?:{_HEX_PAIRS}|{_DOTTED})")


def mac_address_causes(new_macs) -> list:
    """validateNewMacAddresses: net.ParseMAC forms of 6 bytes (EUI-64 and longer are refused too)."""
    return [kw._cause(f"spec.newMacAddresses.{interface}",
                      f"interface {interface} has malformed MAC address ({mac}).")
            for interface, mac in (new_macs or {}).items() if mac and not MAC_48.fullmatch(mac)]


ROUTES = {SNAPSHOT_PATH: validate_snapshot, RESTORE_PATH: validate_restore}


def setup(manager, webhooks):
    api = manager.api
    for path, handler in ROUTES.items():
        webhooks.route(path, lambda request, handler=handler: handler(api, request))

"""virt-api's VirtualMachine validating webhook (KubeVirt v1.8.4).

`VMsAdmitter.Admit` (pkg/virt-api/webhooks/validating-webhook/admitters/vms-admitter.go) in
its order, each stage answering alone when it refuses:

1. the instancetype and preference are found and do not conflict with the template
   (`instancetypeWebhooks.ApplyToVM`);
2. on CREATE, discontinued interface bindings (`netadmitter.ValidateCreation`);
3. `ValidateVirtualMachineSpec` on a copy of the template with virt-api's defaults applied
   (`defaults.SetDefaultVirtualMachineInstanceSpec`: guest memory, the pod network, a disk for
   every volume): memory, networks and interfaces, disks <-> volumes, disks, volumes,
   dataVolumeTemplates, run strategy;
4. the namespace of embedded DataVolumes (`storageadmitters.Admit`).

Only the checks a generated VM can trip are simulated; the preference's requirements
(instancetype `Check`), the template's metadata, CPU pinning, NUMA, hugepages, SEV, host
devices, probes, DNS and the rest of `ValidateVirtualMachineInstanceSpec` are not.
Messages and field paths are upstream's, with one known difference: a quantity is quoted as
written, where Go prints its canonical form (the same for "512Mi", not for "0.5Gi").
"""

import copy
import re

from lab.controllers.kubevirt.cluster_config import feature_gate, kubevirt
from lab.controllers.kubevirt.vm import (apply_instancetype, apply_preference, set_default_network_interface,
                                         set_default_volume_disks)
from lab.controllers.kubevirt.volumes import volume_claim
from lab.controllers.kubevirt.webhooks import invalid
from lab.webhooks import allow

TEMPLATE_SPEC = "spec.template.spec"
CLUSTER_INSTANCETYPE = "virtualmachineclusterinstancetype"
CLUSTER_PREFERENCE = "virtualmachineclusterpreference"
RUN_STRATEGIES = ("Halted", "Manual", "Always", "RerunOnFailure", "Once")
DISK_TARGETS = ("disk", "lun", "cdrom")
SUPPORTED_BUSES = "[virtio scsi sata usb]"
INTERFACE_MODELS = ("e1000", "e1000e", "igb", "ne2k_pci", "pcnet", "rtl8139", "virtio")
BINDING_METHODS = ("bridge", "masquerade", "sriov", "passtBinding")
VOLUME_SOURCES = ("persistentVolumeClaim", "sysprep", "cloudInitNoCloud", "cloudInitConfigDrive", "containerDisk",
                  "ephemeral", "emptyDisk", "hostDisk", "dataVolume", "configMap", "secret", "downwardAPI",
                  "serviceAccount", "downwardMetrics", "memoryDump", "containerPath")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
DNS1123_LABEL_MESSAGE = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and "
                         "must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used "
                         "for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")
INTERFACE_NAME = re.compile(r"^[A-Za-z0-9-_]+$")
MAC_GROUPS = {2: re.compile(r"^[0-9A-Fa-f]{2}(?P<sep>[:-])[0-9A-Fa-f]{2}((?P=sep)[0-9A-Fa-f]{2})*$"),
              4: re.compile(r"^[0-9A-Fa-f]{4}(\.[0-9A-Fa-f]{4})*$")}
RESERVED_MASQUERADE_MAC = "02:00:00:00:00:00"
QUANTITY = re.compile(r"^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)([a-zA-Z]*)$")
UNITS = {"": 1, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18,
         "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}


def cause(field: str, message: str, type_: str = "FieldValueInvalid") -> dict:
    return {"type": type_, "message": message, "field": field}


def quantity(value) -> float:
    """resource.Quantity.Value() as a number (0 when unset), signed as written."""
    if value is None:
        return 0
    if isinstance(value, (int, float)):
        return value
    match = QUANTITY.match(str(value).strip())
    if not match or match.group(3) not in UNITS:
        return 0  # the CRD's pattern already refused it
    sign = -1 if match.group(1) == "-" else 1
    return sign * float(match.group(2)) * UNITS[match.group(3)]


# --- 1. instancetype and preference (pkg/instancetype/webhooks/vm) -----------------------------------

def _lookup_kind(kind: str, cluster: str):
    lowered = (kind or cluster).lower()
    if lowered in ("virtualmachineclusterinstancetype", "virtualmachineclusterinstancetypes"):
        return ("instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterInstancetype", False,
                "virtualmachineclusterinstancetypes.instancetype.kubevirt.io")
    if lowered in ("virtualmachineinstancetype", "virtualmachineinstancetypes"):
        return ("instancetype.kubevirt.io/v1beta1", "VirtualMachineInstancetype", True,
                "virtualmachineinstancetypes.instancetype.kubevirt.io")
    if lowered in ("virtualmachineclusterpreference", "virtualmachineclusterpreferences"):
        return ("instancetype.kubevirt.io/v1beta1", "VirtualMachineClusterPreference", False,
                "virtualmachineclusterpreferences.instancetype.kubevirt.io")
    if lowered in ("virtualmachinepreference", "virtualmachinepreferences"):
        return ("instancetype.kubevirt.io/v1beta1", "VirtualMachinePreference", True,
                "virtualmachinepreferences.instancetype.kubevirt.io")
    return None


def find_instancetype(api, matcher: dict, namespace: str, cluster_default: str):
    """(object, error text) for a VM's spec.instancetype / spec.preference matcher."""
    found = _lookup_kind(matcher.get("kind") or "", cluster_default)
    if found is None:
        return None, f"got unexpected kind in InstancetypeMatcher: {matcher.get('kind')}"
    api_version, kind, namespaced, resource = found
    obj = api.get(api_version, kind, matcher["name"], namespace if namespaced else None)
    if obj is None:
        return None, f'{resource} "{matcher["name"]}" not found'
    return obj, None


def _instancetype_conflicts(domain: dict) -> list:
    conflicts = [f"spec.template.spec.domain.cpu.{key}" for key in ("sockets", "cores", "threads")
                 if (domain.get("cpu") or {}).get(key)]
    if (domain.get("memory") or {}).get("guest"):
        conflicts.append("spec.template.spec.domain.memory.guest")
    if ((domain.get("resources") or {}).get("requests") or {}).get("memory"):
        conflicts.append("spec.template.spec.domain.resources.requests.memory")
    return conflicts


def instancetype_and_preference(api, spec: dict, namespace: str) -> tuple:
    """(instancetype, preference, causes) as ApplyToVM finds them."""
    causes, instancetype, preference = [], None, None
    domain = ((spec.get("template") or {}).get("spec") or {}).get("domain") or {}
    if spec.get("instancetype"):
        instancetype, error = find_instancetype(api, spec["instancetype"], namespace, CLUSTER_INSTANCETYPE)
        if error:
            causes.append(cause("spec.instancetype.name", f"Failure to find instancetype: {error}"))
        elif _instancetype_conflicts(domain):
            conflicts = _instancetype_conflicts(domain)
            causes.append(cause(conflicts[0], "VM field(s) " + ", ".join(conflicts)
                                + " conflicts with selected instance type"))
    if spec.get("preference"):
        preference, error = find_instancetype(api, spec["preference"], namespace, CLUSTER_PREFERENCE)
        if error:
            causes.append(cause("spec.preference.name", f"Failure to find preference: {error}"))
    return instancetype, preference, causes


# --- 2. virt-api's defaults on a copy of the template (pkg/defaults/defaults.go) -------------------------

def _network_config(kv) -> dict:
    return (((kv or {}).get("spec") or {}).get("configuration") or {}).get("network") or {}


def _set_guest_memory(domain: dict) -> None:
    """setGuestMemory: the guest gets the memory request, else the limit."""
    memory = domain.setdefault("memory", {})
    if memory.get("guest"):
        return
    resources = domain.get("resources") or {}
    for bound in ("requests", "limits"):
        value = (resources.get(bound) or {}).get("memory")
        if quantity(value) != 0:
            memory["guest"] = value
            return


def defaulted_template_spec(spec: dict, instancetype, preference, kv) -> dict:
    template_spec = copy.deepcopy(((spec.get("template") or {}).get("spec")) or {})
    apply_instancetype(template_spec, instancetype)
    apply_preference(template_spec, preference)
    _set_guest_memory(template_spec.setdefault("domain", {}))
    set_default_network_interface(template_spec, kv)
    set_default_volume_disks(template_spec)
    return template_spec


# --- 3. ValidateVirtualMachineSpec -----------------------------------------------------------------------

def _disks(spec: dict) -> list:
    return ((spec.get("domain") or {}).get("devices") or {}).get("disks") or []


def _interfaces(spec: dict) -> list:
    return ((spec.get("domain") or {}).get("devices") or {}).get("interfaces") or []


def memory_causes(base: str, spec: dict) -> list:
    """validateMemoryRequestsNegativeOrNull, validateMemoryLimitsNegativeOrNull, validateGuestMemoryLimit."""
    domain = spec.get("domain") or {}
    resources = domain.get("resources") or {}
    request = (resources.get("requests") or {}).get("memory")
    limit = (resources.get("limits") or {}).get("memory")
    guest = (domain.get("memory") or {}).get("guest")
    requests_field = f"{base}.domain.resources.requests.memory"
    limits_field = f"{base}.domain.resources.limits.memory"
    causes = []
    if quantity(request) < 0:
        causes.append(cause(requests_field, f"{requests_field} '{request}': must be greater than or equal to 0."))
    elif 0 < quantity(request) < 1e6:
        causes.append(cause(requests_field, f"{requests_field} '{request}': must be greater than or equal to 1M."))
    if quantity(limit) < 0:
        causes.append(cause(limits_field, f"{limits_field} '{limit}': must be greater than or equal to 0."))
    if quantity(limit) > 0 and quantity(request) > quantity(limit):
        causes.append(cause(requests_field, f"{requests_field} '{request}' is greater than {limits_field} '{limit}'"))
    if guest and 0 != quantity(limit) < quantity(guest):
        guest_field = f"{base}.domain.memory.guest"
        causes.append(cause(guest_field, f"{guest_field} '{guest}' must be equal to or less than the memory limit "
                                         f"{limits_field} '{limit}'"))
    return causes


def _network_source_causes(base: str, networks: list) -> list:
    """validateSinglePodNetwork, validateSingleNetworkSource, validateMultusNetworkSource."""
    causes = []
    pods = [n for n in networks if "pod" in n]
    defaults = [n for n in networks if (n.get("multus") or {}).get("default")]
    if len(pods) > 1:
        causes.append(cause(f"{base}.interfaces", "more than one interface is connected to a pod network in "
                                                  f"{base}.interfaces", "FieldValueDuplicate"))
    if len(defaults) > 1:
        causes.append(cause(f"{base}.networks", "Multus CNI should only have one default network"))
    if pods and defaults:
        causes.append(cause(f"{base}.networks", "Pod network cannot be defined when Multus default network is defined"))
    for index, network in enumerate(networks):
        if "pod" not in network and "multus" not in network:
            causes.append(cause(f"{base}.networks[{index}]", "should have a network type", "FieldValueRequired"))
        elif "pod" in network and "multus" in network:
            causes.append(cause(f"{base}.networks[{index}]", "should have only one network type", "FieldValueRequired"))
    for index, network in enumerate(networks):
        if "multus" in network and not network["multus"].get("networkName"):
            causes.append(cause(f"{base}.networks[{index}]", "CNI delegating plugin must have a networkName",
                                "FieldValueRequired"))
            break
    return causes


def _binding_causes(base: str, interfaces: list, networks_by_name: dict, kv) -> list:
    """validateInterfaceBinding: binding plugin xor method, masquerade on the pod network only, bridge permitted."""
    causes = []
    bridge_permitted = _network_config(kv).get("permitBridgeInterfaceOnPodNetwork", True)
    for index, interface in enumerate(interfaces):
        field = f"{base}.domain.devices.interfaces[{index}]"
        network = networks_by_name.get(interface.get("name")) or {}
        if interface.get("binding") and any(m in interface for m in BINDING_METHODS):
            causes.append(cause(f"{field}.binding", f"logical {interface['name']} interface cannot have both binding "
                                                    "plugin and interface binding method"))
        if "masquerade" in interface and "pod" not in network:
            causes.append(cause(f"{field}.name", "Masquerade interface only implemented with pod network"))
        if "masquerade" in interface and interface.get("macAddress") == RESERVED_MASQUERADE_MAC:
            causes.append(cause(f"{field}.macAddress", "The requested MAC address is reserved for the in-pod bridge. "
                                                       "Please choose another one."))
        if "bridge" in interface and "pod" in network and not bridge_permitted:
            causes.append(cause(f"{field}.name", "Bridge on pod network configuration is not enabled under "
                                                 "kubevirt-config"))
    return causes


def _name_causes(base: str, interfaces: list, networks: list) -> list:
    """validateNetworkNameUnique, validateNetworksAssignedToInterfaces, validateInterfaceNameUnique,
    validateInterfacesAssignedToNetworks."""
    causes = []
    interface_names = {i.get("name") for i in interfaces}
    network_names = {n.get("name") for n in networks}
    seen = set()
    for index, network in enumerate(networks):
        if network["name"] in seen:
            causes.append(cause(f"{base}.networks[{index}].name", f'Network with name "{network["name"]}" already '
                                                                  "exists, every network must have a unique name",
                                "FieldValueDuplicate"))
        seen.add(network["name"])
    for index, network in enumerate(networks):
        if network["name"] not in interface_names:
            field = f"{base}.networks[{index}].name"
            causes.append(cause(field, f"{field} '{network['name']}' not found.", "FieldValueRequired"))
    seen = set()
    for index, interface in enumerate(interfaces):
        if interface["name"] in seen:
            causes.append(cause(f"{base}.domain.devices.interfaces[{index}].name",
                                "Only one interface can be connected to one specific network", "FieldValueDuplicate"))
        seen.add(interface["name"])
    for index, interface in enumerate(interfaces):
        if interface["name"] not in network_names:
            field = f"{base}.domain.devices.interfaces[{index}].name"
            causes.append(cause(field, f"{field} '{interface['name']}' not found."))
    return causes


def mac_address_error(mac: str):
    """link.ValidateMacAddress: what net.ParseMAC refuses, and addresses longer than 6 bytes."""
    if not mac:
        return None
    groups = None
    if MAC_GROUPS[2].match(mac):
        groups = len(re.split(r"[:-]", mac))
    elif MAC_GROUPS[4].match(mac):
        groups = len(mac.split(".")) * 2
    if groups not in (6, 8, 20):
        return f"malformed MAC address ({mac})"
    if groups > 6:
        return f"too long MAC address ({mac})"
    return None


def _interface_field_causes(base: str, interfaces: list) -> list:
    """validateInterfacesFields: name format, model, MAC address."""
    causes = []
    for index, interface in enumerate(interfaces):
        field = f"{base}.domain.devices.interfaces[{index}]"
        if not INTERFACE_NAME.match(interface["name"]):
            causes.append(cause(f"{field}.name", "Network interface name can only contain alphabetical characters, "
                                                 "numbers, dashes (-) or underscores (_)"))
        if interface.get("model") and interface["model"] not in INTERFACE_MODELS:
            causes.append(cause(f"{field}.model", f"interface {field}.name uses model {interface['model']} that is "
                                                  "not supported.", "FieldValueNotSupported"))
        error = mac_address_error(interface.get("macAddress"))
        if error:
            causes.append(cause(f"{field}.macAddress", f"interface {field}.name has {error}."))
    return causes


def network_causes(base: str, spec: dict, kv) -> list:
    """netadmitter.Validator.Validate (pkg/network/admitter/validator.go)."""
    networks, interfaces = spec.get("networks") or [], _interfaces(spec)
    networks_by_name = {n.get("name"): n for n in networks}
    return (_network_source_causes(base, networks)
            + _binding_causes(base, interfaces, networks_by_name, kv)
            + _name_causes(base, interfaces, networks)
            + _interface_field_causes(base, interfaces))


def discontinued_binding_causes(base: str, spec: dict) -> list:
    """netadmitter.ValidateCreation (discontinued.go); the VM admitter passes the path "spec" here."""
    causes = []
    for index, interface in enumerate(_interfaces(spec)):
        field = f"{base}.domain.devices.interfaces[{index}]"
        for key, what in (("slirp", "Slirp interface support has been discontinued since v1.3"),
                          ("passt", "Passt network binding has been discontinued since v1.3"),
                          ("macvtap", "Macvtap network binding has been discontinued since v1.3")):
            if key in interface:
                causes.append(cause(f"{field}.{key}", what))
    return causes


def disk_volume_causes(base: str, spec: dict) -> list:
    """validateBootOrder: every disk names a volume; LUNs on claims only; boot orders unique."""
    causes = []
    volumes = {v.get("name"): v for v in spec.get("volumes") or []}
    boot_orders = set()
    for index, disk in enumerate(_disks(spec)):
        field = f"{base}.domain.devices.disks[{index}]"
        volume = volumes.get(disk["name"])
        if volume is None and "cdrom" not in disk:
            causes.append(cause(f"{field}.name", f"{field}.Name '{disk['name']}' not found."))
        elif volume is None:
            causes.append(cause(f"{field}.name", "DeclarativeHotplugVolumes feature gate not enabled, cannot define "
                                                 "an empty CD-ROM disk"))
        if "lun" in disk and volume is not None and not (volume.get("persistentVolumeClaim")
                                                         or volume.get("dataVolume")):
            causes.append(cause(f"{field}.lun", f"{field}.lun can only be mapped to a DataVolume or "
                                                "PersistentVolumeClaim volume."))
        order = disk.get("bootOrder")
        if order is not None:
            if order in boot_orders:
                causes.append(cause(f"{field}.bootOrder", f"Boot order for {field}.bootOrder already set for a "
                                                          "different device."))
            boot_orders.add(order)
    return causes


def _disk_bus(disk: dict) -> tuple:
    kind = next((k for k in DISK_TARGETS if k in disk), "")
    return kind, ((disk.get(kind) or {}).get("bus") or "") if kind else ""


def _bus_causes(field: str, disk: dict) -> list:
    """validateBusSupport."""
    kind, bus = _disk_bus(disk)
    if not bus:
        return []
    if bus == "ide":
        return [cause(f"{field}.{kind}.bus", "IDE bus is not supported")]
    if bus == "virtio" and kind == "cdrom":
        return [cause(f"{field}.cdrom.bus", "Bus type virtio is invalid for CD-ROM device")]
    if bus == "sata" and kind == "disk" and disk["disk"].get("readonly"):
        return [cause(f"{field}.disk.bus", "sata hard-disks do not support read-only.")]
    if bus not in ("virtio", "sata", "scsi", "usb"):
        return [cause(f"{field}.{kind}.bus", f"{field} is set with an unrecognized bus {bus}, must be one of: "
                                             f"{SUPPORTED_BUSES}")]
    return []


def disk_name_errors(name: str) -> list:
    """validation.IsDNS1123Label, as ValidateDisks applies it to disk names."""
    errors = ["must be no more than 63 characters"] if len(name) > 63 else []
    if not DNS1123_LABEL.match(name):
        errors.append("must not contain dots" if DNS1123_SUBDOMAIN.match(name) else DNS1123_LABEL_MESSAGE)
    return errors


def disk_causes(base: str, spec: dict) -> list:
    """storageadmitters.ValidateDisks (pkg/storage/admitters/disks.go), the checks a generated VM can trip."""
    field = f"{base}.domain.devices.disks"
    disks = _disks(spec)
    causes = []
    for index, disk in enumerate(disks):
        for other in range(index):
            if disks[other].get("name") == disk.get("name"):
                causes.append(cause(f"{field}[{index}].name", f"{field}[{index}] and {field}[{other}] must not have "
                                                              "the same Name."))
        if sum(k in disk for k in DISK_TARGETS) > 1:
            causes.append(cause(f"{field}[{index}]", f"{field}[{index}] can only have a single target type defined"))
        if disk.get("bootOrder") is not None and disk["bootOrder"] < 1:
            causes.append(cause(f"{field}[{index}].bootOrder", f"{field}[{index}] must have a boot order > 0, if "
                                                               "supplied"))
        causes += _bus_causes(f"{field}[{index}]", disk)
        causes += [cause(f"{base}.domain.devices.disks.domain.devices.disks[{index}].name", error)
                   for error in disk_name_errors(disk.get("name") or "")]
    return causes


def volume_causes(base: str, spec: dict) -> list:
    """validateVolumes: unique names, exactly one source, a DataVolume's name."""
    field = f"{base}.volumes"
    causes, first_index = [], {}
    for index, volume in enumerate(spec.get("volumes") or []):
        if volume["name"] in first_index:
            causes.append(cause(f"{field}[{index}].name", f"{field}[{index}] and {field}[{first_index[volume['name']]}]"
                                                          " must not have the same Name."))
        first_index.setdefault(volume["name"], index)
        if "dataVolume" in volume and not (volume["dataVolume"] or {}).get("name"):
            causes.append(cause(f"{field}[{index}].name", "DataVolume 'name' must be set", "FieldValueRequired"))
        if sum(volume.get(key) is not None for key in VOLUME_SOURCES) != 1:
            causes.append(cause(f"{field}[{index}]", f"{field}[{index}] must have exactly one source type set"))
    return causes


def _data_volume_template_error(field: str, template: dict):
    """validateDataVolume: the first thing wrong with one entry (or None)."""
    name = (template.get("metadata") or {}).get("name")
    spec = template.get("spec") or {}
    if not name:
        return cause(f"{field}.name", f"'name' field must not be empty for DataVolumeTemplate entry {field}.name.",
                     "FieldValueRequired")
    target = spec.get("pvc") or spec.get("storage")
    if "pvc" not in spec and "storage" not in spec:
        return cause(f"{field}.PVC.Storage", "Missing Data volume PVC or Storage")
    if "pvc" in spec and "storage" in spec:
        return cause(f"{field}.PVC.Storage", "Duplicate storage definition, both target storage and target pvc defined")
    external = bool((target or {}).get("dataSourceRef") or (target or {}).get("dataSource"))
    sourced = spec.get("source") is not None or spec.get("sourceRef") is not None
    if external and sourced:
        return cause(f"{field}.source", "External population is incompatible with Source and SourceRef")
    if not external and not sourced:
        return cause(f"{field}.source.sourceRef", "Data volume should have either Source, SourceRef, or be "
                                                  "externally populated")
    if spec.get("source") is not None:
        count = sum(value is not None for value in spec["source"].values())
        if count == 0:
            return cause(f"{field}.source", "Missing dataVolume valid source")
        if count > 1:
            return cause(f"{field}.source", "Multiple dataVolume sources")
    return None


def data_volume_template_causes(vm_spec: dict) -> list:
    """storageadmitters.ValidateDataVolumeTemplate: each entry valid and used by a volume."""
    volumes = ((vm_spec.get("template") or {}).get("spec") or {}).get("volumes") or []
    referenced = {volume_claim(v) for v in volumes if v.get("persistentVolumeClaim") or v.get("dataVolume")}
    causes = []
    for index, template in enumerate(vm_spec.get("dataVolumeTemplates") or []):
        field = f"spec.dataVolumeTemplate[{index}]"
        error = _data_volume_template_error(field, template)
        if error:
            causes.append(error)
        elif template["metadata"]["name"] not in referenced:
            causes.append(cause(field, f"DataVolumeTemplate entry {field} must be referenced in the VMI template's "
                                       "'volumes' list", "FieldValueRequired"))
    return causes


def run_strategy_causes(vm_spec: dict, kv) -> list:
    """validateRunStrategy: exactly one of running / runStrategy, and a known strategy."""
    running, strategy = vm_spec.get("running"), vm_spec.get("runStrategy")
    causes = []
    if running is not None and strategy is not None:
        causes.append(cause("spec.running", "Running and RunStrategy are mutually exclusive. Note that Running is "
                                            "deprecated, please use RunStrategy instead"))
    if running is None and strategy is None:
        causes.append(cause("spec.running", "RunStrategy must be specified"))
    if strategy == "WaitAsReceiver" and not feature_gate(kv, "DecentralizedLiveMigration"):
        causes.append(cause("spec.runStrategy", "Invalid RunStrategy (WaitAsReceiver), DecentralizedLiveMigration "
                                                "feature gate is not enabled in kubevirt resource"))
    elif strategy is not None and strategy != "WaitAsReceiver" and strategy not in RUN_STRATEGIES:
        causes.append(cause("spec.runStrategy", f"Invalid RunStrategy ({strategy})"))
    return causes


def vm_spec_causes(vm_spec: dict, template_spec: dict, kv) -> list:
    """ValidateVirtualMachineSpec, in upstream's order (the simulated part of it)."""
    return (memory_causes(TEMPLATE_SPEC, template_spec)
            + network_causes(TEMPLATE_SPEC, template_spec, kv)
            + disk_volume_causes(TEMPLATE_SPEC, template_spec)
            + disk_causes(TEMPLATE_SPEC, template_spec)
            + volume_causes(TEMPLATE_SPEC, template_spec)
            + data_volume_template_causes(vm_spec)
            + run_strategy_causes(vm_spec, kv))


# --- 4. storageadmitters.Admit ---------------------------------------------------------------------------

def data_volume_namespace_causes(request: dict, vm: dict) -> list:
    """validateVirtualMachineDataVolumeTemplateNamespace (only when the templates change on an update)."""
    templates = (vm.get("spec") or {}).get("dataVolumeTemplates") or []
    if request["operation"] == "UPDATE":
        old = ((request.get("oldObject") or {}).get("spec") or {}).get("dataVolumeTemplates") or []
        if old == templates:
            return []
    namespace = vm["metadata"].get("namespace") or request.get("namespace")
    causes = []
    for index, template in enumerate(templates):
        other = (template.get("metadata") or {}).get("namespace")
        if other and other != namespace:
            causes.append(cause(f"spec.dataVolumeTemplates[{index}]", f"Embedded DataVolume namespace {other} "
                                f"differs from VM namespace {namespace}"))
    return causes


# --- the webhook -----------------------------------------------------------------------------------------

def validate_vm(api, request: dict) -> dict:
    vm = request["object"]
    if vm["metadata"].get("deletionTimestamp"):
        return allow()
    spec = vm.get("spec") or {}
    namespace = request.get("namespace") or vm["metadata"].get("namespace")
    kv = kubevirt(api)
    instancetype, preference, causes = instancetype_and_preference(api, spec, namespace)
    if causes:
        return invalid(causes)
    template_spec = defaulted_template_spec(spec, instancetype, preference, kv)
    stages = ([lambda: discontinued_binding_causes("spec", template_spec)] if request["operation"] == "CREATE"
              else []) + [lambda: vm_spec_causes(spec, template_spec, kv),
                          lambda: data_volume_namespace_causes(request, vm)]
    for stage in stages:
        causes = stage()
        if causes:
            return invalid(causes)
    warnings = ["spec.running is deprecated, please use spec.runStrategy instead."] \
        if spec.get("running") is not None else []
    return allow(warnings)


def setup(manager, webhooks):
    api = manager.api
    webhooks.route("/virtualmachines-validate", lambda request: validate_vm(api, request))

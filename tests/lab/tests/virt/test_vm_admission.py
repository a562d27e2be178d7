"""virt-api's VirtualMachine validating webhook refuses what a real cluster refuses, with its words.

Every case is a server-side dry run (nothing is created): the API server calls the webhook for
dry runs too, the VirtualMachine validator having sideEffects None.
"""

import copy
import json

import pytest
from kubernetes.client.exceptions import ApiException

from virt_helpers import VM, blank_vm, message, unique

WEBHOOK = 'admission webhook "virtualmachine-validator.kubevirt.io" denied the request: '
DISKS = "spec.template.spec.domain.devices.disks"
IFACES = "spec.template.spec.domain.devices.interfaces"


def dry_run(kube, namespace: str, body: dict) -> dict:
    return kube.resource(*VM).create(body=body, namespace=namespace, dry_run="All").to_dict()


def refusal(kube, namespace: str, body: dict) -> ApiException:
    with pytest.raises(ApiException) as refused:
        dry_run(kube, namespace, body)
    assert refused.value.status == 422, refused.value.body
    return refused.value


def template(body: dict) -> dict:
    return body["spec"]["template"]["spec"]


def devices(body: dict) -> dict:
    return template(body)["domain"]["devices"]


# Each edit takes a valid blank VM (root disk `rootdisk`, virtio, on a DataVolume of the VM) and breaks it.

def _second_disk_named_rootdisk(body):
    devices(body)["disks"].append({"name": "rootdisk", "disk": {"bus": "virtio"}})


def _disk_without_volume(body):
    devices(body)["disks"].append({"name": "data", "disk": {"bus": "virtio"}})


def _ide_bus(body):
    devices(body)["disks"][0]["disk"]["bus"] = "ide"


def _unknown_bus(body):
    devices(body)["disks"][0]["disk"]["bus"] = "virtio-blk"


def _virtio_cdrom(body):
    devices(body)["disks"].append({"name": "cd", "cdrom": {"bus": "virtio"}})
    template(body)["volumes"].append({"name": "cd", "persistentVolumeClaim": {"claimName": "iso"}})


def _disk_name_with_capitals(body):
    devices(body)["disks"].append({"name": "Data", "disk": {"bus": "virtio"}})
    template(body)["volumes"].append({"name": "Data", "persistentVolumeClaim": {"claimName": "data"}})


def _duplicate_volume(body):
    template(body)["volumes"].append(copy.deepcopy(template(body)["volumes"][0]))


def _volume_with_two_sources(body):
    template(body)["volumes"][0]["persistentVolumeClaim"] = {"claimName": "other"}


def _interface_without_network(body):
    devices(body)["interfaces"] = [{"name": "default", "masquerade": {}}, {"name": "storage", "bridge": {}}]
    template(body)["networks"] = [{"name": "default", "pod": {}}]


def _network_without_interface(body):
    devices(body)["interfaces"] = [{"name": "default", "masquerade": {}}]
    template(body)["networks"] = [{"name": "default", "pod": {}},
                                  {"name": "storage", "multus": {"networkName": "storage-net"}}]


def _masquerade_on_multus(body):
    devices(body)["interfaces"] = [{"name": "storage", "masquerade": {}}]
    template(body)["networks"] = [{"name": "storage", "multus": {"networkName": "storage-net"}}]


def _short_mac(body):
    devices(body)["interfaces"] = [{"name": "default", "masquerade": {}, "macAddress": "02:00:00:00:01"}]
    template(body)["networks"] = [{"name": "default", "pod": {}}]


def _unknown_model(body):
    devices(body)["interfaces"] = [{"name": "default", "masquerade": {}, "model": "vmxnet3"}]
    template(body)["networks"] = [{"name": "default", "pod": {}}]


def _without_instancetype_and_preference(body):
    # The preference's memory requirement would be checked first (instancetype Check), before these.
    del body["spec"]["instancetype"], body["spec"]["preference"]


def _request_above_limit(body):
    _without_instancetype_and_preference(body)
    template(body)["domain"]["resources"] = {"requests": {"memory": "2Gi"}, "limits": {"memory": "1Gi"}}


def _tiny_memory(body):
    _without_instancetype_and_preference(body)
    template(body)["domain"]["resources"] = {"requests": {"memory": "512k"}}


def _unused_data_volume_template(body):
    extra = copy.deepcopy(body["spec"]["dataVolumeTemplates"][0])
    extra["metadata"]["name"] = "unused"
    body["spec"]["dataVolumeTemplates"].append(extra)


def _data_volume_template_without_source(body):
    del body["spec"]["dataVolumeTemplates"][0]["spec"]["source"]


def _data_volume_template_in_another_namespace(body):
    body["spec"]["dataVolumeTemplates"][0]["metadata"]["namespace"] = "elsewhere"


def _unknown_run_strategy(body):
    body["spec"]["runStrategy"] = "Sometimes"


CASES = [
    # pkg/storage/admitters/disks.go ValidateDisks
    ("validateDiskName", _second_disk_named_rootdisk,
     f"{DISKS}[1] and {DISKS}[0] must not have the same Name."),
    ("validateBusSupport ide", _ide_bus, "IDE bus is not supported"),
    ("validateBusSupport unknown", _unknown_bus,
     f"{DISKS}[0] is set with an unrecognized bus virtio-blk, must be one of: [virtio scsi sata usb]"),
    ("validateBusSupport cdrom", _virtio_cdrom, "Bus type virtio is invalid for CD-ROM device"),
    ("validateDiskNameAsContainerName", _disk_name_with_capitals,
     "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end "
     "with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is "
     "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')"),
    # vmi-create-admitter.go validateBootOrder: a disk names a volume
    ("validateBootOrder", _disk_without_volume, f"{DISKS}[1].Name 'data' not found."),
    # vmi-create-admitter.go validateVolumes
    ("validateVolumes name", _duplicate_volume,
     "spec.template.spec.volumes[1] and spec.template.spec.volumes[0] must not have the same Name."),
    ("validateVolumes source", _volume_with_two_sources,
     "spec.template.spec.volumes[0] must have exactly one source type set"),
    # pkg/network/admitter/netiface.go and binding.go
    ("validateInterfacesAssignedToNetworks", _interface_without_network, f"{IFACES}[1].name 'storage' not found."),
    ("validateNetworksAssignedToInterfaces", _network_without_interface,
     "spec.template.spec.networks[1].name 'storage' not found."),
    ("validateMasqueradeBinding", _masquerade_on_multus, "Masquerade interface only implemented with pod network"),
    ("validateMacAddress", _short_mac, f"interface {IFACES}[0].name has malformed MAC address (02:00:00:00:01)."),
    ("validateInterfaceModel", _unknown_model, f"interface {IFACES}[0].name uses model vmxnet3 that is not supported."),
    # vmi-create-admitter.go memory checks
    ("validateMemoryLimitsNegativeOrNull", _request_above_limit,
     "spec.template.spec.domain.resources.requests.memory '2Gi' is greater than "
     "spec.template.spec.domain.resources.limits.memory '1Gi'"),
    ("validateMemoryRequestsNegativeOrNull", _tiny_memory,
     "spec.template.spec.domain.resources.requests.memory '512k': must be greater than or equal to 1M."),
    # pkg/storage/admitters/data-volume-template.go
    ("ValidateDataVolumeTemplate unused", _unused_data_volume_template,
     "DataVolumeTemplate entry spec.dataVolumeTemplate[1] must be referenced in the VMI template's 'volumes' list"),
    ("ValidateDataVolumeTemplate source", _data_volume_template_without_source,
     "Data volume should have either Source, SourceRef, or be externally populated"),
    ("validateVirtualMachineDataVolumeTemplateNamespace", _data_volume_template_in_another_namespace,
     "Embedded DataVolume namespace elsewhere differs from VM namespace {namespace}"),
    # vms-admitter.go validateRunStrategy (WaitAsReceiver passes here: HCO v1.18.1 turns
    # DecentralizedLiveMigration on by default)
    ("validateRunStrategy", _unknown_run_strategy, "Invalid RunStrategy (Sometimes)"),
]


@pytest.mark.parametrize("edit,expected", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_vm_upstream_refuses_is_refused_with_its_message(stack, kube, namespace, edit, expected):
    """KubeVirt v1.8.4 vms-admitter.go VMsAdmitter.Admit -> ValidateVirtualMachineSpec ->
    ValidateVirtualMachineInstanceSpec (vmi-create-admitter.go), storageadmitters.ValidateDisks /
    ValidateDataVolumeTemplate / validateVirtualMachineDataVolumeTemplateNamespace
    (pkg/storage/admitters), netadmitter.Validator.Validate (pkg/network/admitter): the case id
    names the function; webhookutils.ToAdmissionResponse answers 422 with the causes' messages."""
    body = blank_vm(unique("vm"), stack.san)
    edit(body)
    refused = refusal(kube, namespace, body)
    assert WEBHOOK + expected.format(namespace=namespace) in message(refused)


def test_the_causes_carry_upstream_field_paths(stack, kube, namespace):
    """KubeVirt v1.8.4 vmi-create-admitter.go validateBootOrder (field `...disks[i].name`, while
    its message says `.Name`) and pkg/storage/admitters/disks.go validateDiskNameAsContainerName
    (field `...disks.domain.devices.disks[i].name`: the path is built twice upstream)."""
    body = blank_vm(unique("vm"), stack.san)
    devices(body)["disks"].append({"name": "Data", "disk": {"bus": "virtio"}})
    causes = json.loads(refusal(kube, namespace, body).body)["details"]["causes"]
    fields = {c["field"] for c in causes}
    assert f"{DISKS}[1].name" in fields
    assert f"{DISKS}.domain.devices.disks[1].name" in fields


def test_a_vm_without_run_strategy_or_running_is_refused(stack, kube, namespace):
    """KubeVirt v1.8.4 vms-admitter.go validateRunStrategy: neither spec.running nor
    spec.runStrategy is "RunStrategy must be specified" (field spec.running); v1.8.4's VM
    mutator (vm-mutator.go Mutate, defaults.SetVirtualMachineDefaults) does not default it."""
    refused = refusal(kube, namespace, blank_vm(unique("vm"), stack.san, run_strategy=None))
    assert message(refused) == WEBHOOK + "RunStrategy must be specified"


def test_a_valid_vm_passes_and_a_volume_without_disk_is_not_refused(stack, kube, namespace):
    """KubeVirt v1.8.4 vms-admitter.go Admit applies defaults.SetDefaultVirtualMachineInstanceSpec
    to a copy before validating: util.SetDefaultVolumeDisk gives a volume without disk a disk,
    and SetDefaultNetworkInterface the pod network, so neither is refused."""
    body = blank_vm(unique("vm"), stack.san)
    devices(body)["disks"] = []
    created = dry_run(kube, namespace, body)
    assert created["metadata"]["name"] == body["metadata"]["name"]
    assert devices(created)["disks"] == []  # the defaults are for validation; the VM is stored as written


def test_many_causes_are_cut_at_ten(stack, kube, namespace):
    """KubeVirt v1.8.4 pkg/util/webhooks/webhooks.go ToAdmissionResponse: the message joins the
    first ten causes and ends with ", and N more validation errors"."""
    body = blank_vm(unique("vm"), stack.san)
    for index in range(12):
        devices(body)["disks"].append({"name": f"missing{index}", "disk": {"bus": "virtio"}})
    text = message(refusal(kube, namespace, body))
    assert text.endswith(", and 2 more validation errors"), text
    assert text.count("not found.") == 10

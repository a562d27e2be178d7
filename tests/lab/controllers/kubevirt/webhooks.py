"""virt-api's and virt-operator's admission webhooks, as the API server calls them.

The configurations (virt-api-validator, virt-api-mutator, virt-operator-validator) are
registered by the virt-operator simulation while KubeVirt is Deployed; this module only
serves them. Answers follow KubeVirt v1.8's admitters: a 422 with causes for invalid specs,
a 400 for refused operations, and 429 for evictions of virt-launcher pods (so that
`kubectl drain` retries while the VMI is migrated away). The VirtualMachine validator is
served by vm_admission.py.
"""

import json
import random

from kubernetes.client.exceptions import ApiException

from lab.controllers.conditions import condition_true
from lab.controllers.kubevirt import day2_admission
from lab.controllers.kubevirt.cluster_config import eviction_strategy, feature_gate, kubevirt
from lab.webhooks import allow, mutate

CLUSTER_INSTANCETYPE = "virtualmachineclusterinstancetype"
CLUSTER_PREFERENCE = "virtualmachineclusterpreference"
DEFAULT_MACHINE_TYPE = "pc-q35-rhel9.6.0"


def invalid(causes: list) -> dict:
    """webhookutils.ToAdmissionResponse: a 422 whose message joins the first ten causes."""
    message = ", ".join(c["message"] for c in causes[:10])
    if len(causes) > 10:
        message += f", and {len(causes) - 10} more validation errors"
    return {"allowed": False, "status": {"code": 422, "reason": "Invalid", "message": message,
                                         "details": {"causes": causes}}}


def refused(message: str, code: int = 400) -> dict:
    """webhookutils.ToAdmissionResponseError."""
    return {"allowed": False, "status": {"code": code, "message": message}}


def _cause(field: str, message: str, type_: str = "FieldValueInvalid") -> dict:
    return {"type": type_, "message": message, "field": field}


# --- VirtualMachine -------------------------------------------------------------------------------

def mutate_vm(api, request: dict) -> dict:
    vm = request["object"]
    spec = vm.get("spec") or {}
    operations = []
    if spec.get("instancetype") and not spec["instancetype"].get("kind"):
        operations.append({"op": "add", "path": "/spec/instancetype/kind", "value": CLUSTER_INSTANCETYPE})
    if spec.get("preference") and not spec["preference"].get("kind"):
        operations.append({"op": "add", "path": "/spec/preference/kind", "value": CLUSTER_PREFERENCE})
    template_spec = ((spec.get("template") or {}).get("spec"))
    if template_spec is not None:
        if not template_spec.get("architecture"):
            operations.append({"op": "add", "path": "/spec/template/spec/architecture", "value": "amd64"})
        domain = template_spec.get("domain")
        if domain is not None and not (domain.get("machine") or {}).get("type") and not spec.get("preference"):
            if domain.get("machine") is None:
                operations.append({"op": "add", "path": "/spec/template/spec/domain/machine",
                                   "value": {"type": DEFAULT_MACHINE_TYPE}})
            else:
                operations.append({"op": "add", "path": "/spec/template/spec/domain/machine/type",
                                   "value": DEFAULT_MACHINE_TYPE})
    return mutate(operations) if operations else allow()


# --- VirtualMachineInstanceMigration -------------------------------------------------------------

FINAL_MIGRATION = ("Succeeded", "Failed")


def validate_migration(api, request: dict) -> dict:
    migration = request["object"]
    namespace = request.get("namespace")
    kv = kubevirt(api)
    if kv is None:
        return refused("LiveMigration feature gate is not enabled in kubevirt-config")
    vmi_name = (migration.get("spec") or {}).get("vmiName")
    if not vmi_name:
        return invalid([_cause("spec.vmiName", "vmiName is missing", "FieldValueRequired")])
    vmi = api.get("kubevirt.io/v1", "VirtualMachineInstance", vmi_name, namespace)
    if vmi is None:
        return refused(f'the VMI "{namespace}/{vmi_name}" does not exist')
    if (vmi.get("status") or {}).get("phase") in ("Succeeded", "Failed"):
        return refused("Cannot migrate VMI in finalized state.")
    for condition in (vmi.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "LiveMigratable" and condition.get("status") == "False":
            return refused(f"Cannot migrate VMI, Reason: {condition.get('reason', '')}, "
                           f"Message: {condition.get('message', '')}")
    for other in api.list("kubevirt.io/v1", "VirtualMachineInstanceMigration", namespace=namespace,
                          label_selector=f"kubevirt.io/vmi-name={vmi_name}"):
        if (other.get("status") or {}).get("phase") in FINAL_MIGRATION:
            continue
        return refused(f"in-flight migration detected. Active migration job ({other['metadata']['uid']}) "
                       f"is currently already in progress for VMI {vmi_name}.")
    return allow()


def mutate_migration(api, request: dict) -> dict:
    migration = request["object"]
    meta = migration.get("metadata") or {}
    vmi_name = (migration.get("spec") or {}).get("vmiName", "")
    operations = []
    labels = dict(meta.get("labels") or {})
    if labels.get("kubevirt.io/vmi-name") != vmi_name:
        labels["kubevirt.io/vmi-name"] = vmi_name
        operations.append({"op": "add", "path": "/metadata/labels", "value": labels})
    finalizers = list(meta.get("finalizers") or [])
    if "kubevirt.io/migrationJobFinalizer" not in finalizers:
        operations.append({"op": "add", "path": "/metadata/finalizers",
                           "value": finalizers + ["kubevirt.io/migrationJobFinalizer"]})
    return mutate(operations) if operations else allow()


# --- VirtualMachineClone ------------------------------------------------------------------------

_TARGET_SUFFIX = "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))


def validate_clone(api, request: dict) -> dict:
    if request["operation"] == "CREATE" and not feature_gate(kubevirt(api), "Snapshot", beta_default=True):
        return refused("snapshot feature gate is not enabled")
    clone = request["object"]
    spec = clone.get("spec") or {}
    source = spec.get("source") or {}
    target = spec.get("target")
    causes = []
    for field, filters in (("spec.annotations", spec.get("annotationFilters")),
                           ("spec.labels", spec.get("labelFilters")),
                           ("spec.template.annotations", (spec.get("template") or {}).get("annotationFilters")),
                           ("spec.template.labels", (spec.get("template") or {}).get("labelFilters"))):
        for item in filters or []:
            if item == "!":
                causes.append(_cause(field, "a negation character is not a valid filter"))
            elif len(item) > 1 and "!" in item[1:]:
                causes.append(_cause(field, f"{field} filter {item} is invalid: cannot contain a negation character "
                                            "(!); FilterRules: NegationChar can be only used at the beginning of "
                                            "the filter"))
            elif len(item) > 1 and "*" in item[:-1]:
                causes.append(_cause(field, f"{field} filter {item} is invalid: cannot contain a wildcard character "
                                            "(*); FilterRules: WildcardChar can be only at the end of the filter"))
    if source.get("kind") not in ("VirtualMachine", "VirtualMachineSnapshot"):
        causes.append(_cause("spec.Source.Kind", "Source kind is not supported"))
    if target is not None and target.get("kind") != "VirtualMachine":
        causes.append(_cause("spec.Target.Kind", "Target kind is not supported"))
    if not source.get("apiGroup"):
        causes.append(_cause("spec.Source.APIGroup", "Source's APIGroup cannot be empty"))
    if not source.get("name"):
        causes.append(_cause("spec.Source.Name", "Source's name cannot be empty"))
    if target and source.get("kind") == "VirtualMachine" and target.get("kind") == "VirtualMachine" \
            and target.get("name") == source.get("name"):
        causes.append(_cause("spec.target.name", "Target name cannot be equal to source name when both are "
                                                 "VirtualMachines"))
    causes += day2_admission.mac_address_causes(spec.get("newMacAddresses"))
    for index, item in enumerate(spec.get("patches") or []):
        try:
            json.loads(item)
        except ValueError:
            causes.append(_cause(f"spec.patches[{index}]", f"patch is not valid JSON ({item})"))
    if spec.get("volumeNamePolicy") not in (None, "RandomizeNames"):
        causes.append(_cause("spec.volumeNamePolicy", f'VolumeNamePolicy "{spec["volumeNamePolicy"]}" is not '
                                                      "supported", "FieldValueNotSupported"))
    return invalid(causes) if causes else allow()


def mutate_clone(api, request: dict) -> dict:
    spec = request["object"].get("spec") or {}
    source = spec.get("source") or {}
    target = spec.get("target")
    name = f"clone-{source.get('name', '')}-{_TARGET_SUFFIX}"
    if target is None:
        return mutate([{"op": "add", "path": "/spec/target",
                        "value": {"apiGroup": "kubevirt.io", "kind": "VirtualMachine", "name": name}}])
    if not target.get("name"):
        return mutate([{"op": "add", "path": "/spec/target/name", "value": name}])
    return allow()


# --- evictions of virt-launcher pods --------------------------------------------------------------

def _denied(message: str) -> dict:
    return {"allowed": False, "status": {"code": 429, "message": message}}


def _dry_run(request: dict) -> bool:
    if request.get("dryRun"):
        return True
    options = (request.get("object") or {}).get("deleteOptions") or {}
    return "All" in (options.get("dryRun") or [])


def validate_eviction(api, request: dict) -> dict:
    namespace, name = request.get("namespace"), request.get("name")
    pod = api.get("v1", "Pod", name, namespace)
    if pod is None:
        return allow()
    labels = pod["metadata"].get("labels") or {}
    phase = (pod.get("status") or {}).get("phase")
    if labels.get("kubevirt.io") != "virt-launcher" or phase in ("Succeeded", "Failed"):
        return allow()
    vmi_name = (pod["metadata"].get("annotations") or {}).get("kubevirt.io/domain")
    if not vmi_name:
        return allow()
    try:
        vmi = api.resource("kubevirt.io/v1", "VirtualMachineInstance").get(name=vmi_name, namespace=namespace).to_dict()
    except ApiException as error:
        return _denied(f"kubevirt failed getting the vmi: {error.reason}")
    strategy = eviction_strategy(kubevirt(api), vmi)
    if not strategy:
        return allow()
    migratable = condition_true(vmi, "LiveMigratable")
    if strategy == "LiveMigrate":
        if not migratable:
            return _denied(f"VMI {vmi_name} is configured with an eviction strategy but is not live-migratable")
        mark = True
    elif strategy == "LiveMigrateIfPossible":
        mark = migratable
    elif strategy == "External":
        mark = True
    else:
        mark = False
    if not mark:
        return allow()
    status = vmi.get("status") or {}
    if status.get("evacuationNodeName"):
        return _denied(f'Evacuation in progress: Eviction triggered evacuation of VMI "{namespace}/{vmi_name}"')
    if status.get("nodeName") != (pod.get("spec") or {}).get("nodeName"):
        return _denied("Eviction request for target Pod")
    if not _dry_run(request):
        try:
            api.resource("kubevirt.io/v1", "VirtualMachineInstance").patch(
                name=vmi_name, namespace=namespace, content_type="application/json-patch+json",
                body=[{"op": "add", "path": "/status/evacuationNodeName", "value": status["nodeName"]}])
        except ApiException as error:
            return _denied(f"kubevirt failed marking the vmi for eviction: {error.reason}")
    return _denied(f'Eviction triggered evacuation of VMI "{namespace}/{vmi_name}"')


# --- KubeVirt CR deletion (virt-operator) ----------------------------------------------------------

UNINSTALL = ("Rejecting the uninstall request, since there are still {} present. Either delete all KubeVirt "
             "related workloads or change the uninstall strategy before uninstalling KubeVirt.")


def validate_kubevirt_delete(api, request: dict) -> dict:
    kv = api.get("kubevirt.io/v1", "KubeVirt", request.get("name"), request.get("namespace"))
    if kv is None:
        return allow()
    strategy = (kv.get("spec") or {}).get("uninstallStrategy") or ""
    if strategy in ("", "RemoveWorkloads") or (kv.get("status") or {}).get("phase") != "Deployed":
        return allow()
    for kind, what in (("VirtualMachineInstance", "Virtual Machine Instances"),
                       ("VirtualMachine", "Virtual Machines"),
                       ("VirtualMachineInstanceReplicaSet", "Virtual Machine Instance Replica Sets")):
        if api.list("kubevirt.io/v1", kind):
            return refused(UNINSTALL.format(what))
    return allow()


ROUTES = {
    "/virtualmachines-mutate": mutate_vm,
    "/migration-validate-create": validate_migration,
    "/migration-mutate-create": mutate_migration,
    "/vmclone-validate": validate_clone,
    "/vmclones-mutate": mutate_clone,
    "/launcher-eviction-validate": validate_eviction,
    "/kubevirt-validate-delete": validate_kubevirt_delete,
}


def setup(manager, webhooks):
    api = manager.api
    for path, handler in ROUTES.items():
        webhooks.route(path, lambda request, handler=handler: handler(api, request))

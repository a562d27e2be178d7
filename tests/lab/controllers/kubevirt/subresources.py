"""virt-api's aggregated API, subresources.kubevirt.io v1 and v1alpha3 (KubeVirt v1.8.4).

Served by an aggregation.AggregatedServer behind the APIServices that apiservices.py registers:

- discovery as `pkg/virt-api/api.go` `composeSubresources` lists it (the APIResourceList of every
  subresource, the APIGroup, the root paths);
- authorization as `pkg/virt-api/rest/authorizer.go` `Authorize` does it: discovery paths are
  open, anything else needs the front proxy's client cert and a SubjectAccessReview for the
  path's resource attributes; a refusal is a 401 whose body is the reason;
- `virtualmachines/{start,stop,restart,migrate}` with the answers of `pkg/virt-api/rest/lifecycle.go`:
  start/stop flip `runStrategy` (Always/Halted) or queue `status.stateChangeRequests` for
  virt-controller (vm.py honours them), per run strategy, and refuse with 409s as upstream does;
  restart queues Stop(uid)+Start, so the VMI is replaced; migrate creates a
  VirtualMachineInstanceMigration `kubevirt-migrate-vm-*`. `dryRun` reaches the API server.

The other subresources upstream lists need virt-handler, a console or a guest agent, which the lab
does not have: they answer 501, as does a paused start (vm.py does not start VMIs paused).
"""

import json
import re

from kubernetes.client.exceptions import ApiException

from lab import aggregation as agg
from lab.controllers import virt_common as vc
from lab.controllers.kubevirt.vm import run_strategy

GROUP = "subresources.kubevirt.io"
VERSIONS = ("v1", "v1alpha3")
VM = ("kubevirt.io/v1", "VirtualMachine")
VMI = ("kubevirt.io/v1", "VirtualMachineInstance")
VMIM = ("kubevirt.io/v1", "VirtualMachineInstanceMigration")
CORE_GROUP = "kubevirt.io"  # v1.Resource(...) qualifies errors with the core group

VM_NOT_RUNNING = "VM is not running"
JSONPATCH_TEST_ERROR = "jsonpatch test operation does not apply"
MANUAL_RECOVERY = ("VM recovery required: Volume migration failed, leaving some volumes pointing to non-consistent "
                   "targets; manual intervention is needed to reassign them to their original volumes.")
UNMARSHAL = "Can not unmarshal Request body to struct, error: {}"
FINAL = ("Succeeded", "Failed")

# api.go composeSubresources: the APIResourceList, in upstream's order.
RESOURCES = (
    "expand-vm-spec", "virtualmachineinstances/vnc", "virtualmachineinstances/vnc/screenshot",
    "virtualmachineinstances/console", "virtualmachineinstances/portforward", "virtualmachineinstances/backup",
    "virtualmachineinstances/redefine-checkpoint", "virtualmachineinstances/pause",
    "virtualmachineinstances/unpause", "virtualmachineinstances/freeze", "virtualmachineinstances/unfreeze",
    "virtualmachineinstances/reset", "virtualmachineinstances/softreboot", "virtualmachines/start",
    "virtualmachines/stop", "virtualmachines/restart", "virtualmachines/migrate", "virtualmachines/expand-spec",
    "virtualmachines/objectgraph", "virtualmachines/evacuate/cancel", "virtualmachineinstances/guestosinfo",
    "virtualmachineinstances/userlist", "virtualmachineinstances/filesystemlist",
    "virtualmachineinstances/addvolume", "virtualmachineinstances/removevolume",
    "virtualmachineinstances/objectgraph", "virtualmachineinstances/sev/fetchcertchain",
    "virtualmachineinstances/sev/querylaunchmeasurement", "virtualmachineinstances/sev/setupsession",
    "virtualmachineinstances/sev/injectlaunchsecret", "virtualmachineinstances/evacuate/cancel",
)
SIMULATED = ("virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart", "virtualmachines/migrate")


# --- discovery (api.go) -----------------------------------------------------------------------------

def resource_list(version: str) -> dict:
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": f"{GROUP}/{version}",
            "resources": [{"name": name, "singularName": "", "namespaced": True, "kind": "", "verbs": None}
                          for name in RESOURCES]}


def api_group() -> dict:
    """subresourceAPIGroup, with upstream's name (it lacks the "s")."""
    versions = [{"groupVersion": f"{GROUP}/{version}", "version": version} for version in VERSIONS]
    return {"kind": "APIGroup", "name": "subresource.kubevirt.io", "versions": versions,
            "preferredVersion": versions[0],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": ""}]}


def root_paths() -> dict:
    paths = ["/apis", "/openapi/v2"]
    for version in VERSIONS:
        paths += [f"/apis/{GROUP}", f"/apis/{GROUP}/{version}"]
    return {"paths": paths}


# --- authorization (authorizer.go) --------------------------------------------------------------------

NO_AUTH = {"/", "/apis", "/healthz", "/openapi/v2", "/openapi/v3", "/start-profiler", "/stop-profiler",
           "/dump-profiler"} | {f"/apis/{GROUP}/{version}{tail}" for version in VERSIONS
                                for tail in ("", "/version", "/guestfs", "/healthz", "/start-cluster-profiler",
                                             "/stop-cluster-profiler", "/dump-cluster-profiler")}


def rbac_verb(method: str, name: str):
    verbs = {"POST": "create", "GET": "get" if name else "list", "HEAD": "get" if name else "list",
             "PUT": "update", "PATCH": "patch", "DELETE": "delete" if name else "deletecollection"}
    if method.upper() not in verbs:
        raise ValueError(f"unknown http verb in request: {method}")
    return verbs[method.upper()]


def resource_attributes(path: str, method: str) -> dict:
    """generateAccessReview's resource attributes for a path (ValueError: the reason to refuse)."""
    parts = path.split("/")
    if len(parts) >= 9:
        resource, name = parts[6], parts[7]
        if resource not in ("virtualmachineinstances", "virtualmachines"):
            raise ValueError(f"unknown resource type {resource}")
        subresource = parts[8] if parts[8] == "portforward" else "/".join(parts[8:])
        return {"namespace": parts[5], "verb": rbac_verb(method, name), "group": parts[2], "version": parts[3],
                "resource": resource, "subresource": subresource, "name": name}
    if len(parts) == 7:
        if parts[6] != "expand-vm-spec":
            raise ValueError(f"unknown resource type {parts[6]}")
        return {"namespace": parts[5], "verb": rbac_verb(method, ""), "group": parts[2], "version": parts[3],
                "resource": parts[6]}
    raise ValueError(f"unknown api endpoint: {path}")


def authorize(api, request: agg.Request):
    if request.path in NO_AUTH:
        return None
    if not request.authenticated:
        return 401, "request is not authenticated"
    if request.user() is None:
        return 401, "a valid user header is required for authorization"
    if request.groups() is None:
        return 401, "a valid group header is required for authorization"
    try:
        attributes = resource_attributes(request.path, request.method)
    except ValueError as error:
        return 401, str(error)
    try:
        review = agg.access_review(api, request, attributes)
    except ApiException:
        return 500, None
    return None if review.get("allowed") else (401, review.get("reason") or "")


# --- shared steps of the lifecycle handlers (lifecycle.go, subresource.go) ---------------------------

def _message(error: ApiException) -> str:
    try:
        return json.loads(error.body)["message"]
    except (TypeError, ValueError, KeyError):
        return str(error.reason)


def _options(request: agg.Request) -> tuple:
    """decodeBody: the options object (or {}), else a 400."""
    if not request.body.strip():
        return {}, None
    try:
        options = json.loads(request.body)
    except ValueError as error:
        return None, agg.status_bad_request(UNMARSHAL.format(error))
    if not isinstance(options, dict):
        return None, agg.status_bad_request(UNMARSHAL.format(f"cannot unmarshal {type(options).__name__} into "
                                                              "the options"))
    return options, None


def _fetch(api, kind: tuple, resource: str, name: str, namespace: str) -> tuple:
    """fetchVirtualMachine / FetchVirtualMachineInstance: (object, None) or (None, error answer)."""
    try:
        obj = api.get(*kind, name, namespace)
    except ApiException as error:
        short = "vm" if resource == "virtualmachine" else "vmi"
        return None, agg.status_internal_error(f"unable to retrieve {short} [{name}]: {_message(error)}")
    if obj is None:
        return None, agg.status_not_found(CORE_GROUP, resource, name)
    return obj, None


def _conflict(name: str, error: str, resource: str = "virtualmachine") -> tuple:
    return agg.status_conflict(CORE_GROUP, resource, name, error)


def _phase(vmi) -> str:
    return ((vmi or {}).get("status") or {}).get("phase") or ""


def _dry_run(options: dict):
    """The dryRun value for the API server, which refuses any but All (an unknown one is not dropped)."""
    values = options.get("dryRun") or []
    return next((value for value in values if value != "All"), "All") if values else None


def _patch(api, kind: tuple, obj: dict, operations: list, options: dict, status: bool = False):
    """A JSON patch (with its test operations) as virt-api sends it; the API server's refusal or None."""
    resource = api.resource(*kind)
    target = resource.status if status else resource
    try:
        target.patch(body=operations, name=obj["metadata"]["name"], namespace=obj["metadata"]["namespace"],
                     content_type="application/json-patch+json", dry_run=_dry_run(options))
    except ApiException as error:
        return _message(error)
    return None


def _patch_refused(name: str, message):
    """A failed test operation is a conflict (someone changed the VM meanwhile), anything else internal."""
    if message is None:
        return None
    if JSONPATCH_TEST_ERROR in message:
        return _conflict(name, message)
    return agg.status_internal_error(message)


def running_patch(vm: dict, running: bool) -> list:
    """getRunningPatch: runStrategy Always/Halted, or the deprecated `running` when the VM uses it."""
    spec = vm.get("spec") or {}
    if spec.get("runStrategy") is not None:
        return [{"op": "test", "path": "/spec/runStrategy", "value": spec["runStrategy"]},
                {"op": "replace", "path": "/spec/runStrategy", "value": "Always" if running else "Halted"}]
    return [{"op": "test", "path": "/spec/running", "value": spec.get("running")},
            {"op": "replace", "path": "/spec/running", "value": running}]


def change_request_patch(vm: dict, *changes) -> list:
    """getChangeRequestJson (ValueError when a stop/start is already queued)."""
    status = vm.get("status") or {}
    if not status:
        operations = [{"op": "add", "path": "/status", "value": {"stateChangeRequests": list(changes)}}]
    else:
        queued = status.get("stateChangeRequests")
        operations = [{"op": "test", "path": "/status/stateChangeRequests", "value": queued}]
        if not queued:
            operations.append({"op": "add", "path": "/status/stateChangeRequests", "value": list(changes)})
        elif len(changes) == 1 and changes[0]["action"] == "Stop":
            operations.append({"op": "replace", "path": "/status/stateChangeRequests", "value": list(changes)})
        else:
            raise ValueError("unable to complete request: stop/start already underway")
    if status.get("startFailure") is not None:
        operations.append({"op": "remove", "path": "/status/startFailure"})
    return operations


def _queue(api, vm: dict, options: dict, *changes):
    try:
        operations = change_request_patch(vm, *changes)
    except ValueError as error:
        return agg.status_internal_error(str(error))
    return _patch_refused(vm["metadata"]["name"], _patch(api, VM, vm, operations, options, status=True))


def _stop_request(vmi: dict) -> dict:
    return {"action": "Stop", "uid": vmi["metadata"]["uid"]}


def _not_simulated(what: str) -> tuple:
    return 501, f"the lab does not simulate {what}"


# --- start ------------------------------------------------------------------------------------------

def start(api, request: agg.Request) -> tuple:
    name, namespace = request.params["name"], request.params["namespace"]
    vm, error = _fetch(api, VM, "virtualmachine", name, namespace)
    if error:
        return error
    vmi = api.get(*VMI, name, namespace)
    if vmi is not None and _phase(vmi) not in (*FINAL, "Unknown", ""):
        return _conflict(name, "VM is already running")
    if vc.condition_true(vm, "ManualRecoveryRequired"):
        return _conflict(name, MANUAL_RECOVERY)
    options, error = _options(request)
    if error:
        return error
    return _start_by_strategy(api, vm, vmi, options) or (202, None)


def _start_by_strategy(api, vm: dict, vmi, options: dict):
    name = vm["metadata"]["name"]
    strategy = run_strategy(vm)
    if strategy in ("Always", "Once"):
        return _conflict(name, f"{strategy} does not support manual start requests")
    if strategy not in ("Halted", "Manual", "RerunOnFailure"):
        return None  # upstream's switch has no case for it: accepted, nothing done
    if options.get("paused"):
        return _not_simulated("starting a VM paused")
    if strategy == "Halted":
        return _patch_refused(name, _patch(api, VM, vm, running_patch(vm, True), options))
    phase = _phase(vmi)
    if strategy == "RerunOnFailure" and phase == "Failed":
        return _conflict(name, "RerunOnFailure does not support starting VM from failed state")
    restart = vmi is not None and (phase == "Succeeded" if strategy == "RerunOnFailure" else phase in FINAL)
    changes = [_stop_request(vmi)] if restart else []
    return _queue(api, vm, options, *changes, {"action": "Start"})


# --- stop -------------------------------------------------------------------------------------------

def stop(api, request: agg.Request) -> tuple:
    name, namespace = request.params["name"], request.params["namespace"]
    options, error = _options(request)
    if error:
        return error
    vm, error = _fetch(api, VM, "virtualmachine", name, namespace)
    if error:
        return error
    try:
        vmi = api.get(*VMI, name, namespace)
    except ApiException as failure:
        return agg.status_internal_error(_message(failure))
    running = vmi is not None and _phase(vmi) not in FINAL
    grace = options.get("gracePeriod")
    old_grace = ((vmi or {}).get("spec") or {}).get("terminationGracePeriodSeconds")
    if running and grace is not None:
        error = _shorten_grace_period(api, vmi, grace, options)
        if error:
            return error
    return _stop_by_strategy(api, vm, vmi, running, grace, old_grace, options) or (202, None)


def _shorten_grace_period(api, vmi: dict, grace: int, options: dict):
    """Stop's gracePeriod goes to the VMI first, whatever the run strategy then says."""
    operations = [{"op": "test", "path": "/spec/terminationGracePeriodSeconds",
                   "value": vmi["spec"].get("terminationGracePeriodSeconds")},
                  {"op": "replace", "path": "/spec/terminationGracePeriodSeconds", "value": grace}]
    refused = _patch(api, VMI, vmi, operations, options)
    return None if refused is None else agg.status_internal_error(refused)


def _stop_by_strategy(api, vm: dict, vmi, running: bool, grace, old_grace, options: dict):
    name = vm["metadata"]["name"]
    strategy = run_strategy(vm)
    if strategy in ("Always", "Once"):
        return _patch_refused(name, _patch(api, VM, vm, running_patch(vm, False), options))
    if strategy not in ("Halted", "Manual", "RerunOnFailure"):
        return None
    if not running:
        return _conflict(name, VM_NOT_RUNNING)
    if strategy == "Halted" and (grace is None or (old_grace is not None and grace >= old_grace)):
        return _conflict(name, "Halted only supports manual stop requests with a shorter graceperiod")
    return _queue(api, vm, options, _stop_request(vmi))


# --- restart ----------------------------------------------------------------------------------------

def restart(api, request: agg.Request) -> tuple:
    name, namespace = request.params["name"], request.params["namespace"]
    options, error = _options(request)
    if error:
        return error
    grace = options.get("gracePeriodSeconds")
    if grace is not None and grace > 0:
        return agg.status_bad_request("For force restart, only gracePeriod=0 is supported for now")
    if grace is not None and grace < 0:
        return agg.status_bad_request("gracePeriod has to be greater or equal to 0")
    vm, error = _fetch(api, VM, "virtualmachine", name, namespace)
    if error:
        return error
    if vc.condition_true(vm, "VolumesChange"):
        return _conflict(name, MANUAL_RECOVERY)
    strategy = run_strategy(vm)
    if strategy in ("Halted", "Once"):
        return _conflict(name, f"RunStategy {strategy} does not support manual restart requests")  # sic
    vmi = api.get(*VMI, name, namespace)
    if vmi is None:
        return _conflict(name, "VM is not running: Halted")
    error = _queue(api, vm, options, _stop_request(vmi), {"action": "Start"})
    if error is None and grace == 0:
        error = _kill_launcher(api, vmi)
    return error or (202, None)


def _kill_launcher(api, vmi: dict):
    """A forced restart deletes the running virt-launcher pod (findPod) with a 1 s grace period."""
    meta = vmi["metadata"]
    pods = [pod for pod in api.list("v1", "Pod", meta["namespace"],
                                    label_selector=f"kubevirt.io=virt-launcher,kubevirt.io/created-by={meta['uid']}")
            if (pod.get("status") or {}).get("phase") == "Running"]
    migration = (vmi.get("status") or {}).get("migrationState") or {}
    if len(pods) > 1 and migration.get("completed"):
        pods = [pod for pod in pods if pod["metadata"]["name"] == migration.get("targetPod")]
    if not pods:
        return None
    try:
        api.resource("v1", "Pod").delete(name=pods[0]["metadata"]["name"], namespace=meta["namespace"],
                                         body={"apiVersion": "v1", "kind": "DeleteOptions", "gracePeriodSeconds": 1})
    except ApiException as error:
        if error.status != 404:
            return agg.status_internal_error(_message(error))
    return None


# --- migrate ----------------------------------------------------------------------------------------

def migrate(api, request: agg.Request) -> tuple:
    name, namespace = request.params["name"], request.params["namespace"]
    options, error = _options(request)
    if error:
        return error
    _, error = _fetch(api, VM, "virtualmachine", name, namespace)
    if error:
        return error
    vmi, error = _fetch(api, VMI, "virtualmachineinstance", name, namespace)
    if error:
        return error
    if _phase(vmi) != "Running":
        return _conflict(name, VM_NOT_RUNNING)
    spec = {"vmiName": name}
    if options.get("addedNodeSelector"):
        spec["addedNodeSelector"] = options["addedNodeSelector"]
    migration = {"apiVersion": VMIM[0], "kind": VMIM[1],
                 "metadata": {"generateName": "kubevirt-migrate-vm-", "namespace": namespace}, "spec": spec}
    try:
        api.resource(*VMIM).create(body=migration, namespace=namespace, dry_run=_dry_run(options))
    except ApiException as failure:
        return agg.status_internal_error(_message(failure))
    return 202, None


# --- routes -----------------------------------------------------------------------------------------

HANDLERS = {"start": start, "stop": stop, "restart": restart, "migrate": migrate}
# The subresources upstream serves with GET; the others are PUTs.
READS = ("vnc", "vnc/screenshot", "console", "portforward", "expand-spec", "objectgraph", "guestosinfo", "userlist",
         "filesystemlist", "sev/fetchcertchain", "sev/querylaunchmeasurement")


def _namespaced(version: str) -> str:
    return re.escape(f"/apis/{GROUP}/{version}/namespaces/") + "(?P<namespace>[^/]+)"


def add_routes(server: agg.AggregatedServer, api) -> None:
    server.route("GET", "/", lambda request: (200, root_paths()))
    server.route("GET", "/apis", lambda request: (200, {"kind": "APIGroupList", "apiVersion": "v1",
                                                         "groups": [api_group()]}))
    server.route("GET", re.escape(f"/apis/{GROUP}"), lambda request: (200, api_group()))
    for version in VERSIONS:
        server.route("GET", re.escape(f"/apis/{GROUP}/{version}"), lambda request, v=version: (200, resource_list(v)))
        for subresource, handler in HANDLERS.items():
            server.route("PUT", f"{_namespaced(version)}/virtualmachines/(?P<name>[^/]+)/{subresource}",
                         lambda request, handler=handler: handler(api, request))
        for resource in RESOURCES:
            if resource in SIMULATED or "/" not in resource:
                continue
            kind, sub = resource.split("/", 1)
            server.route("GET" if sub in READS else "PUT", f"{_namespaced(version)}/{kind}/(?P<name>[^/]+)/{sub}(/.*)?",
                         lambda request, r=resource: _not_simulated(f"{GROUP} {r}"))

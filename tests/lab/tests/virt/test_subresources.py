"""virt-api's aggregated API (subresources.kubevirt.io): start, stop, restart, migrate, refusals, authorization.

Every call goes through the lab's kube-apiserver, whose aggregator proxies it to the APIService's
server, as `virtctl` and kubevirt.core's `state:` do.
"""

import json
from pathlib import Path

import pytest
import urllib3
from kubernetes.client.exceptions import ApiException

from lab import components, rest
from virt_helpers import (CNV, KUBEVIRT, VM, VMI, VMIM, blank_vm, condition, message, pvc_body, unique, wait_for,
                          wait_migration, wait_vm_running, wait_vm_stopped)

GROUP = "subresources.kubevirt.io"
API_SERVICE = ("apiregistration.k8s.io/v1", "APIService")
SIMULATED = {"virtualmachines/start", "virtualmachines/stop", "virtualmachines/restart", "virtualmachines/migrate"}


def subresource_path(namespace: str, name: str, subresource: str, resource: str = "virtualmachines") -> str:
    return f"/apis/{GROUP}/v1/namespaces/{namespace}/{resource}/{name}/{subresource}"


def put(api_client, namespace: str, name: str, subresource: str, body=None):
    return rest.request(api_client, "PUT", subresource_path(namespace, name, subresource), body=body)


def refusal(api_client, namespace: str, name: str, subresource: str, body=None) -> ApiException:
    with pytest.raises(ApiException) as refused:
        put(api_client, namespace, name, subresource, body)
    return refused.value


def conflict(name: str, error: str) -> str:
    return f'Operation cannot be fulfilled on virtualmachine.kubevirt.io "{name}": {error}'


def running_vm(kube, namespace: str, storage_class: str, **kwargs) -> str:
    name = unique("vm")
    kube.create(blank_vm(name, storage_class, **kwargs), namespace)
    wait_vm_running(kube, namespace, name)
    return name


def run_strategy(kube, namespace: str, name: str) -> str:
    return kube.get(*VM, name, namespace)["spec"]["runStrategy"]


# --- the APIService -------------------------------------------------------------------------------

def test_the_aggregated_api_is_available_and_lists_upstreams_subresources(stack, kube, api_client):
    """KubeVirt v1.8.4 pkg/virt-operator/resource/generate/components/apiservices.go NewVirtAPIAPIServices
    (v1 and v1alpha3, service virt-api in the install namespace, priorities 1000/15); pkg/virt-api/api.go
    composeSubresources (the APIResourceList); kube-aggregator v0.34 remote_available_controller.go sync
    (Available once the service answers discovery over TLS checked against caBundle)."""
    kv_namespace = kube.list(*KUBEVIRT)[0]["metadata"]["namespace"]
    for version in ("v1", "v1alpha3"):
        service = kube.wait(*API_SERVICE, f"{version}.{GROUP}", None,
                            lambda s: condition(s, "Available").get("status") == "True", "to be Available")
        spec = service["spec"]
        assert spec["service"]["namespace"] == kv_namespace == CNV and spec["service"]["name"] == "virt-api"
        assert (spec["group"], spec["version"]) == (GROUP, version)
        assert (spec["groupPriorityMinimum"], spec["versionPriority"]) == (1000, 15)
        assert spec["caBundle"] and not spec.get("insecureSkipTLSVerify")
        assert service["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "virt-operator"
    listed = rest.request(api_client, "GET", f"/apis/{GROUP}/v1")
    assert listed["groupVersion"] == f"{GROUP}/v1"
    names = [r["name"] for r in listed["resources"]]
    assert len(names) == 31 and SIMULATED <= set(names) and "virtualmachineinstances/pause" in names
    assert all(r["namespaced"] for r in listed["resources"])


# --- what each subresource does --------------------------------------------------------------------

def test_stop_halts_an_always_vm_and_start_brings_it_back(stack, kube, namespace, api_client):
    """KubeVirt v1.8.4 pkg/virt-api/rest/lifecycle.go StopVMRequestHandler and StartVMRequestHandler:
    with RunStrategy Always the subresources flip spec.runStrategy (getRunningPatch) and answer 202."""
    name = running_vm(kube, namespace, stack.san)
    assert put(api_client, namespace, name, "stop") is None
    assert run_strategy(kube, namespace, name) == "Halted"
    wait_vm_stopped(kube, namespace, name)
    assert kube.get(*VMI, name, namespace) is None

    assert put(api_client, namespace, name, "start") is None
    assert run_strategy(kube, namespace, name) == "Always"
    wait_vm_running(kube, namespace, name)
    assert kube.get(*VMI, name, namespace)["status"]["phase"] == "Running"


def test_restart_replaces_the_vmi(stack, kube, namespace, api_client):
    """KubeVirt v1.8.4 lifecycle.go RestartVMRequestHandler: queues Stop(uid of the VMI) and Start in
    status.stateChangeRequests (getChangeRequestJson); virt-controller deletes the VMI and makes a new one."""
    name = running_vm(kube, namespace, stack.san)
    old_uid = kube.get(*VMI, name, namespace)["metadata"]["uid"]
    assert put(api_client, namespace, name, "restart") is None

    def replaced():
        vmi = kube.get(*VMI, name, namespace)
        return vmi if vmi and vmi["metadata"]["uid"] != old_uid and vmi["status"].get("phase") == "Running" else None
    replaced_vmi = wait_for(replaced, "a new VMI to run")
    assert replaced_vmi["metadata"]["uid"] != old_uid
    vm = wait_vm_running(kube, namespace, name)
    assert vm["spec"]["runStrategy"] == "Always" and not vm["status"].get("stateChangeRequests")


def test_migrate_creates_a_migration_that_succeeds(stack, kube, namespace, api_client):
    """KubeVirt v1.8.4 lifecycle.go MigrateVMRequestHandler: a VirtualMachineInstanceMigration
    generateName kubevirt-migrate-vm-, spec.vmiName = the VM; it migrates the VMI to another node."""
    name = running_vm(kube, namespace, stack.san)
    source = kube.get(*VMI, name, namespace)["status"]["nodeName"]
    assert put(api_client, namespace, name, "migrate") is None
    migrations = kube.list(*VMIM, namespace)
    assert len(migrations) == 1
    migration = migrations[0]
    assert migration["metadata"]["name"].startswith("kubevirt-migrate-vm-")
    assert migration["spec"] == {"vmiName": name}
    wait_migration(kube, migration)
    assert kube.get(*VMI, name, namespace)["status"]["nodeName"] != source


def test_a_manual_vm_starts_and_stops_through_state_change_requests(stack, kube, namespace, api_client):
    """KubeVirt v1.8.4 lifecycle.go: with RunStrategy Manual, start and stop queue a Start / Stop(uid)
    request for virt-controller and keep the run strategy; stopping a stopped VM is a 409 "VM is not running"."""
    name = unique("vm")
    kube.create(blank_vm(name, stack.san, run_strategy="Manual"), namespace)
    wait_vm_stopped(kube, namespace, name)
    assert put(api_client, namespace, name, "start") is None
    wait_vm_running(kube, namespace, name)
    assert run_strategy(kube, namespace, name) == "Manual"

    assert put(api_client, namespace, name, "stop") is None
    wait_vm_stopped(kube, namespace, name)
    assert run_strategy(kube, namespace, name) == "Manual"
    again = refusal(api_client, namespace, name, "stop")
    assert again.status == 409 and message(again) == conflict(name, "VM is not running")


def test_a_dry_run_stop_changes_nothing(stack, kube, namespace, api_client):
    """KubeVirt v1.8.4 lifecycle.go StopVMRequestHandler: StopOptions.dryRun reaches the patch
    (metav1.PatchOptions{DryRun}), so the API server persists nothing, and refuses a value other than
    All, which virt-api passes on as an internal error."""
    name = running_vm(kube, namespace, stack.san)
    uid = kube.get(*VMI, name, namespace)["metadata"]["uid"]
    assert put(api_client, namespace, name, "stop", {"dryRun": ["All"]}) is None
    assert run_strategy(kube, namespace, name) == "Always"
    bogus = refusal(api_client, namespace, name, "stop", {"dryRun": ["Bogus"]})
    assert bogus.status == 500 and message(bogus).startswith("Internal error occurred: ")
    assert "Bogus" in message(bogus)
    assert run_strategy(kube, namespace, name) == "Always"
    assert kube.get(*VMI, name, namespace)["metadata"]["uid"] == uid


# --- refusals --------------------------------------------------------------------------------------

def test_starting_a_running_vm_is_refused(stack, kube, namespace, api_client):
    """KubeVirt v1.8.4 lifecycle.go StartVMRequestHandler: a VMI that is not final is a 409
    "VM is already running" (errors.NewConflict on virtualmachine.kubevirt.io)."""
    name = running_vm(kube, namespace, stack.san)
    refused = refusal(api_client, namespace, name, "start")
    assert refused.status == 409 and message(refused) == conflict(name, "VM is already running")
    assert json.loads(refused.body)["reason"] == "Conflict"
    assert run_strategy(kube, namespace, name) == "Always"


def test_an_always_vm_without_instance_cannot_be_started_by_hand(stack, kube, namespace, api_client):
    """KubeVirt v1.8.4 lifecycle.go StartVMRequestHandler: RunStrategy Always and Once refuse manual
    start requests with a 409, here for a VM that cannot run (its claim is missing)."""
    name = unique("vm")
    kube.create(blank_vm(name, stack.san, extra_disks=[("data", "no-such-claim")]), namespace)
    kube.wait(*VM, name, namespace, lambda vm: vm.get("status", {}).get("printableStatus") == "ErrorPvcNotFound",
              "to miss its claim")
    refused = refusal(api_client, namespace, name, "start")
    assert refused.status == 409 and message(refused) == conflict(name, "Always does not support manual start requests")


def test_a_halted_vm_refuses_stop_restart_and_migrate(stack, kube, namespace, api_client):
    """KubeVirt v1.8.4 lifecycle.go: stop of a Halted VM without VMI is "VM is not running"
    (StopVMRequestHandler), restart "RunStategy Halted does not support manual restart requests"
    (RestartVMRequestHandler, upstream's spelling), migrate a 404 for the missing VMI
    (MigrateVMRequestHandler → FetchVirtualMachineInstance)."""
    name = unique("vm")
    kube.create(blank_vm(name, stack.san, run_strategy="Halted"), namespace)
    wait_vm_stopped(kube, namespace, name)
    stopped = refusal(api_client, namespace, name, "stop")
    assert stopped.status == 409 and message(stopped) == conflict(name, "VM is not running")
    restarted = refusal(api_client, namespace, name, "restart")
    assert restarted.status == 409
    assert message(restarted) == conflict(name, "RunStategy Halted does not support manual restart requests")
    migrated = refusal(api_client, namespace, name, "migrate")
    assert migrated.status == 404
    assert message(migrated) == f'virtualmachineinstance.kubevirt.io "{name}" not found'
    assert kube.list(*VMIM, namespace) == [] and run_strategy(kube, namespace, name) == "Halted"


def test_bad_restart_options_and_unknown_vms_are_refused(stack, kube, namespace, api_client):
    """KubeVirt v1.8.4 lifecycle.go RestartVMRequestHandler (gracePeriodSeconds only 0: 400s) and
    subresource.go fetchVirtualMachine (a 404 on virtualmachine.kubevirt.io)."""
    name = running_vm(kube, namespace, stack.san)
    uid = kube.get(*VMI, name, namespace)["metadata"]["uid"]
    longer = refusal(api_client, namespace, name, "restart", {"gracePeriodSeconds": 5})
    assert longer.status == 400
    assert message(longer) == "For force restart, only gracePeriod=0 is supported for now"
    negative = refusal(api_client, namespace, name, "restart", {"gracePeriodSeconds": -1})
    assert negative.status == 400 and message(negative) == "gracePeriod has to be greater or equal to 0"
    assert kube.get(*VMI, name, namespace)["metadata"]["uid"] == uid
    for subresource in ("start", "stop", "restart", "migrate"):
        missing = refusal(api_client, namespace, "nothing-here", subresource)
        assert missing.status == 404
        assert message(missing) == 'virtualmachine.kubevirt.io "nothing-here" not found'


def test_migrating_a_vm_that_cannot_migrate_is_an_internal_error(stack, kube, namespace, api_client):
    """KubeVirt v1.8.4 lifecycle.go MigrateVMRequestHandler: the refused create of the migration
    (migration-create-validator) comes back as errors.NewInternalError, a 500."""
    kube.create(pvc_body("rwo-data", stack.san, access_mode="ReadWriteOnce"), namespace)
    name = running_vm(kube, namespace, stack.san, extra_disks=[("data", "rwo-data")],
                      template_spec={"evictionStrategy": "None"})
    refused = refusal(api_client, namespace, name, "migrate")
    assert refused.status == 500
    assert message(refused).startswith('Internal error occurred: admission webhook '
                                       '"migration-create-validator.kubevirt.io" denied the request: Cannot migrate '
                                       'VMI, Reason: DisksNotLiveMigratable')
    assert kube.list(*VMIM, namespace) == []


# --- authorization ---------------------------------------------------------------------------------

def _grant(kube, namespace: str, user: str, resources) -> None:
    kube.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
                 "metadata": {"name": user, "namespace": namespace},
                 "rules": [{"apiGroups": [GROUP], "resources": list(resources), "verbs": ["update"]}]})
    kube.create({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
                 "metadata": {"name": user, "namespace": namespace},
                 "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": user},
                 "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}]})


def test_only_users_granted_the_subresource_may_use_it(stack, kube, namespace, user_client):
    """The API server authorizes the aggregated path itself (RBAC on virtualmachines/stop in
    subresources.kubevirt.io, 403) before the aggregator proxies it; KubeVirt v1.8.4
    pkg/virt-api/rest/authorizer.go Authorize then asks a SubjectAccessReview for the same attributes."""
    name = running_vm(kube, namespace, stack.san)
    user = unique("operator")
    client = user_client(user)
    forbidden = refusal(client, namespace, name, "stop")
    assert forbidden.status == 403
    assert message(forbidden) == (f'virtualmachines.{GROUP} "{name}" is forbidden: User "{user}" cannot update '
                                  f'resource "virtualmachines/stop" in API group "{GROUP}" in the namespace '
                                  f'"{namespace}"')
    assert run_strategy(kube, namespace, name) == "Always"

    _grant(kube, namespace, user, ["virtualmachines/stop"])
    wait_for(lambda: _allowed(client, namespace, name), "the Role to take effect")
    assert run_strategy(kube, namespace, name) == "Halted"
    assert refusal(client, namespace, name, "start").status == 403  # only stop was granted
    assert run_strategy(kube, namespace, name) == "Halted"


def _allowed(client, namespace: str, name: str) -> bool:
    try:
        return put(client, namespace, name, "stop") is None
    except ApiException as error:
        if error.status == 403:
            return False
        raise


def _direct(lab, kube, namespace: str, headers: dict, identity=None):
    """A PUT straight to virt-api's server (not through the API server), verifying its cert as the aggregator does."""
    service = kube.get(*API_SERVICE, f"v1.{GROUP}")["spec"]["service"]
    cert_file, key_file = identity or (None, None)
    pool = urllib3.HTTPSConnectionPool("127.0.0.1", service["port"], ca_certs=str(lab.ca.cert_path),
                                       cert_reqs="CERT_REQUIRED", cert_file=cert_file, key_file=key_file,
                                       server_hostname=f"virt-api.{service['namespace']}.svc", retries=False)
    return pool.request("PUT", subresource_path(namespace, "nothing-here", "stop"), headers=headers)


def test_virt_api_refuses_requests_the_front_proxy_does_not_vouch_for(stack, lab, kube, namespace):
    """KubeVirt v1.8.4 pkg/virt-api/rest/authorizer.go Authorize: no client cert of the request-header CA →
    401 "request is not authenticated"; a user the SubjectAccessReview denies → 401; pkg/virt-api/api.go
    setupTLS (VerifyClientCertIfGiven): a client cert of another CA fails the handshake."""
    front_proxy = Path(lab.path("pki", "front-proxy"))
    proxy = (str(front_proxy / f"{components.FRONT_PROXY_CLIENT}.crt"),
             str(front_proxy / f"{components.FRONT_PROXY_CLIENT}.key"))
    anonymous = _direct(lab, kube, namespace, {})
    assert (anonymous.status, anonymous.data) == (401, b"request is not authenticated")
    nobody = _direct(lab, kube, namespace, {"X-Remote-User": "nobody", "X-Remote-Group": "system:authenticated"},
                     proxy)
    assert nobody.status == 401
    admin = _direct(lab, kube, namespace, {"X-Remote-User": "admin", "X-Remote-Group": "system:masters"}, proxy)
    assert admin.status == 404  # authorized: the handler looked for the VM
    assert json.loads(admin.data)["message"] == 'virtualmachine.kubevirt.io "nothing-here" not found'
    user_pki = Path(lab.ca.directory)
    lab.ca.issue("user-poser", "admin", ("system:masters",))
    with pytest.raises((urllib3.exceptions.SSLError, urllib3.exceptions.ProtocolError)):
        _direct(lab, kube, namespace, {"X-Remote-User": "admin", "X-Remote-Group": "system:masters"},
                (str(user_pki / "user-poser.crt"), str(user_pki / "user-poser.key")))

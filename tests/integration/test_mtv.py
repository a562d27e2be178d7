"""MTV against the lab: mtv_operator, mtv_provider, mtv_plan and mtv_migration, checked in the cluster and vcsim.

The lab's simulated Forklift (tests/lab/controllers/forklift) runs against vcsim; what is asserted here is what
the cluster (and vcsim) hold after the modules ran, and what the API server's audit log shows they wrote.
"""

import datetime
import hashlib
import json
import ssl
import uuid

import pytest

from conftest import ansible_runner
from own_lab import own_lab

# A lab of its own: migrations power vCenter's source VMs off and change them, and what the shared lab's earlier
# files leave made the warm migration fail there.
lab, api_client, core_v1, custom_objects, dynamic_client, ansible, audit = own_lab("mtv")

FORKLIFT = ("forklift.konveyor.io", "v1beta1")
MTV_NAMESPACE = "openshift-mtv"
SAN_CLASS = "ontap-san-iscsi"  # the lab inventory's default class for VM disks (Block RWX)
PLAY = """
- hosts: openshift
  gather_facts: false
  module_defaults:
    group/ontap.virtualization.virtualization: {kubeconfig: "{{ k8s_kubeconfig }}"}
  tasks:
%s
"""
TASK = """
    - name: %(module)s
      ontap.virtualization.%(module)s: %(args)s
      register: result
      ignore_errors: %(ignore)s
    - name: Show the result
      ansible.builtin.debug:
        msg: "RESULT {{ result | to_json }}"
"""


def play(*tasks) -> str:
    return PLAY % "".join(TASK % {"module": module, "args": json.dumps(args), "ignore": "true" if ignore else "false"}
                          for module, args, ignore in tasks)


def results_of(run) -> list:
    return [json.loads(json.loads("{" + line.strip() + "}")["msg"][len("RESULT "):])
            for line in run.output.splitlines() if '"msg": "RESULT ' in line]


def get(custom_objects, plural, name, namespace):
    from kubernetes.client.exceptions import ApiException
    try:
        return custom_objects.get_namespaced_custom_object(*FORKLIFT, namespace, plural, name)
    except ApiException as error:
        if error.status == 404:
            return None
        raise


def condition(obj, type_):
    return next((c for c in (obj or {}).get("status", {}).get("conditions") or [] if c["type"] == type_), None)


def live_fingerprint(lab) -> tuple:
    """(SHA-1 thumbprint, PEM) of the certificate vcsim presents."""
    context = ssl.create_default_context(cafile=lab.vars["ca_cert"])
    import socket
    with socket.create_connection((lab.vars["vcsim_host"], lab.vars["vcsim_port"])) as raw:
        with context.wrap_socket(raw, server_hostname=lab.vars["vcsim_host"]) as tls:
            der = tls.getpeercert(binary_form=True)
    digest = hashlib.sha1(der).hexdigest().upper()  # noqa: S324 - vSphere's thumbprint
    return ":".join(digest[i:i + 2] for i in range(0, 40, 2)), ssl.DER_cert_to_PEM_cert(der)


@pytest.fixture(scope="module")
def mtv(ansible, virtualization_stack):
    """MTV installed by mtv_operator (the host provider needs OpenShift Virtualization)."""
    run = ansible(play(("mtv_operator", {"max_vms_in_flight": 4, "precopy_interval": 1,
                                         "features": {"copy_offload": True}, "wait_timeout": 300}, False)))
    assert run.rc == 0, run.output[-3000:]
    return results_of(run)[0]


@pytest.fixture(scope="module")
def source(lab, mtv, core_v1, api_client):
    """A namespace of its own for a provider, its plans and its VMs, and a token allowed to read its providers."""
    from kubernetes import client
    namespace = "mtv-" + uuid.uuid4().hex[:6]
    core_v1.create_namespace({"metadata": {"name": namespace}})
    core_v1.create_namespaced_service_account(namespace, {"metadata": {"name": "migration"}})
    rbac = client.RbacAuthorizationV1Api(api_client)
    rbac.create_namespaced_role(namespace, {"metadata": {"name": "providers"}, "rules": [
        {"apiGroups": ["forklift.konveyor.io"], "resources": ["providers"], "verbs": ["get", "list"]}]})
    rbac.create_namespaced_role_binding(namespace, {
        "metadata": {"name": "providers"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "providers"},
        "subjects": [{"kind": "ServiceAccount", "name": "migration", "namespace": namespace}]})
    token = core_v1.create_namespaced_service_account_token(
        "migration", namespace, {"spec": {"expirationSeconds": 7200}}).status.token
    return {"namespace": namespace, "token": token}


def target_of(source):
    """The namespace the migrated VMs go to: not the plans' (Forklift creates it when a migration starts, and so
    does mtv_plan before)."""
    return source["namespace"] + "-vms"


def provider_args(lab, namespace, **extra):
    args = {"name": "vcenter", "namespace": namespace, "url": lab.vars["vcsim_url"],
            "vcenter_username": lab.vars["vcsim_username"], "vcenter_password": lab.vars["vcsim_password"],
            "vcenter_ca_cert": open(lab.vars["ca_cert"]).read(), "vddk_init_image": "quay.io/kubev2v/vddk:lab"}
    args.update(extra)
    return {k: v for k, v in args.items() if v is not None}


def inventory_args(lab, source):
    return {"inventory_url": lab.vars["forklift_inventory_url"], "inventory_token": source["token"],
            "inventory_ca_cert": lab.vars["ca_cert"]}


@pytest.fixture(scope="module")
def vcenter(ansible, lab, source):
    run = ansible(play(("mtv_provider", provider_args(lab, source["namespace"]), False)))
    assert run.rc == 0, run.output[-3000:]
    return results_of(run)[0]


def test_mtv_operator_sets_the_controller_and_waits_for_the_host_provider(ansible, mtv, custom_objects, audit):
    """The ForkliftController carries the settings as the CRD wants them; the host Provider is Ready; a second
    run changes nothing, and --check of a new setting writes nothing."""
    controller = get(custom_objects, "forkliftcontrollers", "forklift-controller", MTV_NAMESPACE)
    assert {k: controller["spec"][k] for k in ("controller_max_vm_inflight", "controller_precopy_interval",
                                                "feature_copy_offload")} == {
        "controller_max_vm_inflight": 4, "controller_precopy_interval": 1, "feature_copy_offload": "true"}
    assert condition(get(custom_objects, "providers", "host", MTV_NAMESPACE), "Ready")["status"] == "True"
    assert mtv["installed_csv"].startswith("mtv-operator.")
    again = ansible(play(("mtv_operator", {"max_vms_in_flight": 4, "precopy_interval": 1,
                                           "features": {"copy_offload": True}}, False)))
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]
    mark = audit.mark()
    check = ansible(play(("mtv_operator", {"max_vms_in_flight": 8}, False)), check=True)
    assert check.rc == 0 and check.changed == 1, check.output[-3000:]
    assert results_of(check)[0]["changes"] == ["would update ForkliftController openshift-mtv/forklift-controller"]
    assert audit.writes_since(mark) == []
    assert get(custom_objects, "forkliftcontrollers", "forklift-controller",
               MTV_NAMESPACE)["spec"]["controller_max_vm_inflight"] == 4


def test_a_thumbprint_mismatch_is_refused_before_any_write(ansible, lab, source, core_v1, custom_objects, audit):
    live, _pem = live_fingerprint(lab)
    wrong = "00:11:22:33:44:55:66:77:88:99:AA:BB:CC:DD:EE:FF:00:11:22:33"
    mark = audit.mark()
    run = ansible(play(("mtv_provider", provider_args(lab, source["namespace"], name="pinned-bad",
                                                      vcenter_ca_cert=None, thumbprint=wrong), True)))
    result = results_of(run)[0]
    assert result["failed"] and live in result["msg"] and wrong in result["msg"], result
    assert audit.writes_since(mark) == []
    assert get(custom_objects, "providers", "pinned-bad", source["namespace"]) is None


def test_a_matching_thumbprint_pins_the_live_certificate(ansible, lab, source, core_v1):
    """The Secret gets the certificate vcsim presents as ca.crt, written without colons or case mattering.

    Not waited for: the lab's Provider controller verifies with Python's ssl, which (without
    VERIFY_X509_PARTIAL_CHAIN) refuses a pinned leaf that Go's verifier accepts; see the report."""
    import base64
    live, pem = live_fingerprint(lab)
    run = ansible(play(("mtv_provider", provider_args(lab, source["namespace"], name="pinned", vcenter_ca_cert=None,
                                                      thumbprint=live.replace(":", "").lower(), wait=False), False)))
    assert run.rc == 0, run.output[-3000:]
    secret = core_v1.read_namespaced_secret("pinned-credentials", source["namespace"])
    assert base64.b64decode(secret.data["ca.crt"]).decode() == pem
    assert set(secret.data) == {"user", "password", "url", "ca.crt"}


def test_a_provider_that_cannot_log_in_fails_with_its_condition_and_is_removed(ansible, lab, source, custom_objects,
                                                                              core_v1):
    run = ansible(play(("mtv_provider", provider_args(lab, source["namespace"], name="wrong-password",
                                                      vcenter_password="not-the-password"), True)))
    result = results_of(run)[0]
    assert result["failed"] and "ConnectionAuthFailed" in result["msg"], result
    assert get(custom_objects, "providers", "wrong-password", source["namespace"]) is None
    assert "wrong-password-credentials" not in [s.metadata.name for s in core_v1.list_namespaced_secret(
        source["namespace"]).items]


def test_the_vsphere_provider_is_ready_and_no_password_is_printed(lab, vcenter, source, custom_objects, tmp_path,
                                                                 monkeypatch):
    provider = get(custom_objects, "providers", "vcenter", source["namespace"])
    assert condition(provider, "Ready")["status"] == "True" and condition(provider, "InventoryCreated")
    assert provider["spec"]["settings"] == {"sdkEndpoint": "vcenter", "vddkInitImage": "quay.io/kubev2v/vddk:lab"}
    assert lab.vars["vcsim_password"] not in json.dumps(provider)
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "4")
    verbose = ansible_runner(lab, tmp_path)(play(("mtv_provider", provider_args(lab, source["namespace"]), False)))
    assert verbose.rc == 0 and verbose.changed == 0, verbose.output[-3000:]
    assert lab.vars["vcsim_password"] not in verbose.output


def test_a_blocked_plan_fails_naming_the_vm_and_the_concern(ansible, lab, vcenter, source, custom_objects):
    run = ansible(play(("mtv_plan", dict(name="blocked", namespace=source["namespace"], source_provider="vcenter",
                                         target_namespace=target_of(source), type="warm",
                                         vms=[{"name": "cbt-off"}, {"name": "rhel9-web"}],
                                         **inventory_args(lab, source)), True)))
    result = results_of(run)[0]
    assert result["failed"], result
    assert "cbt-off: VMMissingChangedBlockTracking" in result["msg"], result["msg"]
    assert list(result["blockers"]) == ["cbt-off"]
    assert get(custom_objects, "plans", "blocked", source["namespace"]) is None


def migration_play(lab, source, plan, vm, type_, cutover=None):
    ns = source["namespace"]
    migration = {"plan": plan, "namespace": ns, "wait_timeout": 300, "progress_interval": 3}
    if cutover:
        migration["cutover"] = cutover
    return play(("mtv_provider", provider_args(lab, ns), False),
                ("mtv_plan", dict(name=plan, namespace=ns, source_provider="vcenter",
                                  target_namespace=target_of(source),
                                  type=type_, vms=[{"name": vm}], **inventory_args(lab, source)), False),
                ("mtv_migration", migration, False))


def migrations_of(custom_objects, namespace, plan):
    items = custom_objects.list_namespaced_custom_object(*FORKLIFT, namespace, "migrations")["items"]
    return [m for m in items if m["spec"]["plan"]["name"] == plan]


def assert_landed_on_ontap(custom_objects, core_v1, namespace, vm_name):
    vm = custom_objects.get_namespaced_custom_object("kubevirt.io", "v1", namespace, "virtualmachines", vm_name)
    claims = [v["persistentVolumeClaim"]["claimName"] for v in vm["spec"]["template"]["spec"]["volumes"]
              if "persistentVolumeClaim" in v]
    assert claims, vm["spec"]["template"]["spec"]["volumes"]
    for name in claims:
        claim = core_v1.read_namespaced_persistent_volume_claim(name, namespace)
        assert (claim.spec.storage_class_name, claim.spec.volume_mode, claim.spec.access_modes) == (
            SAN_CLASS, "Block", ["ReadWriteMany"])
    return vm


def test_warm_migration_of_rhel9_postgres_with_a_cutover_at_a_set_time(ansible, lab, source, custom_objects,
                                                                      core_v1, audit):
    """Without a cutover the run returns once the VM precopies; a cutover at a set time finishes it; a third
    run changes nothing and starts no second migration; --check writes nothing."""
    ns = source["namespace"]
    first = ansible(migration_play(lab, source, "postgres-warm", "rhel9-postgres", "warm"))
    assert first.rc == 0, first.output[-3000:]
    vms = results_of(first)[2]["vms"]
    assert vms[0]["step"] == "DiskTransfer" and vms[0]["precopies"] >= 1 and vms[0]["outcome"] is None, vms
    assert results_of(first)[2]["migration"]["outcome"] == "Running"
    # Far enough ahead that the second run still waits for it, however slowly its first tasks run (under CI's load
    # they took over 20 s, and a cutover already past left no wait to report progress from).
    cutover = (datetime.datetime.utcnow() + datetime.timedelta(seconds=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    second = ansible(migration_play(lab, source, "postgres-warm", "rhel9-postgres", "warm", cutover))
    assert second.rc == 0, second.output[-3000:]
    assert "mtv_migration: " in second.output and "precopies" in second.output  # progress lines while waiting
    result = results_of(second)[2]
    assert result["migration"]["outcome"] == "Succeeded" and result["migration"]["cutover"] == cutover, result
    migrations = migrations_of(custom_objects, ns, "postgres-warm")
    assert [m["metadata"]["name"] for m in migrations] == ["postgres-warm-1"]
    assert migrations[0]["spec"]["cutover"] == cutover
    plan = get(custom_objects, "plans", "postgres-warm", ns)
    assert condition(plan, "Succeeded")["status"] == "True"
    steps = [s["name"] for s in plan["status"]["migration"]["vms"][0]["pipeline"]]
    assert "Cutover" in steps and plan["status"]["migration"]["vms"][0]["warm"]["successes"] >= 1
    assert_landed_on_ontap(custom_objects, core_v1, target_of(source), "rhel9-postgres")
    third = ansible(migration_play(lab, source, "postgres-warm", "rhel9-postgres", "warm", cutover))
    assert third.rc == 0 and third.changed == 0, third.output[-3000:]
    mark = audit.mark()
    check = ansible(migration_play(lab, source, "postgres-warm", "rhel9-postgres", "warm", "now"), check=True)
    assert check.rc == 0, check.output[-3000:]
    assert audit.writes_since(mark) == []
    assert len(migrations_of(custom_objects, ns, "postgres-warm")) == 1


def test_cold_migration_then_a_rerun_and_check_change_nothing(ansible, lab, source, custom_objects, core_v1, audit):
    ns = source["namespace"]
    mark = audit.mark()
    check = ansible(migration_play(lab, source, "web-cold", "rhel9-web", "cold"), check=True)
    assert check.rc == 0, check.output[-3000:]
    assert audit.writes_since(mark) == []
    assert get(custom_objects, "plans", "web-cold", ns) is None
    first = ansible(migration_play(lab, source, "web-cold", "rhel9-web", "cold"))
    assert first.rc == 0, first.output[-3000:]
    assert results_of(first)[2]["migration"]["outcome"] == "Succeeded"
    plan = get(custom_objects, "plans", "web-cold", ns)
    assert condition(plan, "Succeeded")["status"] == "True"
    storage_map = get(custom_objects, "storagemaps", "web-cold-storage", ns)
    assert {p["destination"]["storageClass"] for p in storage_map["spec"]["map"]} == {SAN_CLASS}
    vm = assert_landed_on_ontap(custom_objects, core_v1, target_of(source), "rhel9-web")
    assert len(vm["spec"]["template"]["spec"]["domain"]["devices"]["disks"]) == 2
    again = ansible(migration_play(lab, source, "web-cold", "rhel9-web", "cold"))
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]
    assert [m["metadata"]["name"] for m in migrations_of(custom_objects, ns, "web-cold")] == ["web-cold-1"]


def test_the_migrate_playbook_runs_a_cold_plan_verifies_it_and_a_rerun_changes_nothing(ansible, lab, source,
                                                                                       custom_objects, core_v1,
                                                                                       tmp_path, monkeypatch):
    """A rerun at -vvvv changes nothing and prints neither the vCenter password nor the inventory token."""
    ns = source["namespace"]
    extra = {"migration_provider": lab.mtv_provider(ns),
             "migration_inventory_url": lab.vars["forklift_inventory_url"],
             "migration_inventory_token": source["token"], "migration_inventory_ca_cert": lab.vars["ca_cert"],
             "migration_plans": [{"name": "app-cold", "target_namespace": target_of(source),
                                  "vms": [{"name": "rhel9-app"}]}],
             "migration_wait_timeout": 300, "migration_progress_interval": 5}
    first = ansible("playbooks/migrate.yml", extra_vars=extra)
    assert first.rc == 0, first.output[-3000:]
    assert "Check that every VM exists with its disks on Block ReadWriteMany claims" in first.output
    assert condition(get(custom_objects, "plans", "app-cold", ns), "Succeeded")["status"] == "True"
    vm = assert_landed_on_ontap(custom_objects, core_v1, target_of(source), "rhel9-app")
    assert len(vm["spec"]["template"]["spec"]["domain"]["devices"]["disks"]) == 3
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "4")
    again = ansible_runner(lab, tmp_path)("playbooks/migrate.yml", extra_vars=extra)
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]
    assert [m["metadata"]["name"] for m in migrations_of(custom_objects, ns, "app-cold")] == ["app-cold-1"]
    assert lab.vars["vcsim_password"] not in first.output + again.output
    assert source["token"] not in first.output + again.output

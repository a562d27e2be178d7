"""Least-privilege RBAC (rbac/*.yml) on the lab's kube-apiserver, which authorizes with RBAC.

The automation account (rbac/account.yml: ServiceAccount ontap-automation) is bound to exactly the shipped roles and
runs with a token of its own: playbooks/site.yml (prerequisites, installation, first VM) and the day-2 playbooks
(live migration, snapshot, restore, clone both ways, scheduled protection, node maintenance, report) and
playbooks/migrate.yml pass. The lab's audit policy logs every request of the service accounts of namespace
ontap-automation (tests/lab/audit-policy.yaml), reads included: each run's requests are covered by the files that run
needs, and every verb the files grant is one some run used (nothing granted that no run uses).

Removing a grant makes a run fail with our 403 message naming the verb, resource, API group and namespace to grant
(plugins/module_utils/errors.py api_error_message; kube-apiserver's RBAC authorizer answers the 403,
k8s.io/apiserver pkg/endpoints/handlers/responsewriters/errors.go ForbiddenStatusError). `make test` runs one grant per
role file, chosen as grants every run of its playbook needs again on a cluster that is already set up (so that the
test does not depend on the order of the session's other tests) and that go through our modules:
prerequisites `list nodes` (platform checks), installation `get hyperconvergeds`, protection `create volumesnapshots`
(a new snapshot set), day2 `create virtualmachineinstancemigrations` (live migration), migration `get providers`.
The sweep over every grant is marked `reliability` (`make reliability`; it needs a fresh lab, so it runs alone).
"""

import base64
import copy
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml
from kubernetes import client, dynamic

import lab as lab_package
from lab import kubeconfig as lab_kubeconfig, paths

from conftest import Audit, ansible_runner

# A lab of its own and a dozen playbook runs in the module's fixture, on a loaded machine: more than pytest.ini's 900 s.
pytestmark = pytest.mark.timeout(5400)

REPO = Path(__file__).resolve().parents[2]
RBAC = REPO / "rbac"
ROLE_FILES = ("prerequisites", "installation", "migration", "protection", "day2")
ACCOUNT_NAMESPACE = ACCOUNT = "ontap-automation"
USER = "system:serviceaccount:{0}:{1}".format(ACCOUNT_NAMESPACE, ACCOUNT)
FIELD_MANAGER = "test-rbac"
VMS = "vms"
FIRST_VM = "rhel9-on-ontap"
MTV_NAMESPACE = "rbac-mtv"
# A ClusterRole of the files meant for a RoleBinding in one namespace (rbac/migration.yml says so), and where the test
# binds it.
BOUND_IN = {"ontap-virtualization-migration-namespace": MTV_NAMESPACE}
LIVE_MIGRATION = """
- hosts: openshift
  gather_facts: false
  module_defaults:
    group/ontap.virtualization.virtualization: {kubeconfig: "{{ k8s_kubeconfig }}"}
  tasks:
    - name: Live-migrate the first VM
      ontap.virtualization.vm_live_migration: {namespace: vms, names: [rhel9-on-ontap]}
"""
# Our 403 sentence (errors.api_error_message) and the API server's own (kubernetes.core and kubevirt.core modules
# print it as they got it).
OURS = re.compile(r"may not (\w+) ([\w./-]+) \(([\w./-]+)\) (?:in namespace '[\w-]+'|at cluster scope): .*?"
                  r"Grant it the verb '\1' on '\2' in API group '([\w.-]*)'")
Q = r'\\?"'  # a quote, escaped or not (in JSON output)
SERVERS = re.compile(r"cannot (\w+) resource {0}([\w./-]+){0}(?: subresource {0}(\w+){0})? "
                     r"in API group {0}([\w.-]*)".format(Q))


@dataclass
class Scenario:
    name: str
    playbook: str
    files: tuple
    extra: dict = field(default_factory=dict)


def scenarios(lab, token, suffix=""):
    """The runs, in order; ``suffix`` makes the names of what they create new (a run again needs its creates)."""
    mtv = {"migration_provider": lab.mtv_provider(MTV_NAMESPACE),
           "migration_inventory_url": lab.vars["forklift_inventory_url"], "migration_inventory_token": token,
           "migration_inventory_ca_cert": lab.vars["ca_cert"],
           "migration_plans": [{"name": "app-cold", "target_namespace": MTV_NAMESPACE, "vms": [{"name": "rhel9-app"}]}],
           "migration_wait_timeout": 600, "migration_progress_interval": 5}
    protection = {"protection_namespace": VMS}
    return [
        Scenario("site", "playbooks/site.yml", ("prerequisites", "installation", "day2")),
        Scenario("live_migration", LIVE_MIGRATION, ("day2",)),
        Scenario("snapshot", "playbooks/snapshot.yml", ("protection",),
                 dict(protection, snapshot_vms=[FIRST_VM], snapshot_name="rbac-a" + suffix)),
        Scenario("restore", "playbooks/restore.yml", ("protection",),
                 dict(protection, restore_vm=FIRST_VM, restore_snapshot="rbac-a" + suffix,
                      restore_target="rbac-restored" + suffix)),
        Scenario("csi_clone", "playbooks/clone.yml", ("protection",),
                 dict(protection, clone_source=FIRST_VM, clone_target="rbac-twin" + suffix, clone_method="csi_clone")),
        Scenario("vm_clone", "playbooks/clone.yml", ("protection",),
                 dict(protection, clone_source=FIRST_VM, clone_target="rbac-copy" + suffix, clone_method="vm_clone")),
        Scenario("snapshot_keep_one", "playbooks/snapshot.yml", ("protection",),
                 dict(protection, snapshot_vms=[FIRST_VM], snapshot_name="rbac-b" + suffix, snapshot_keep=1)),
        Scenario("scheduled_protection", "playbooks/scheduled_protection.yml", ("protection",),
                 dict(protection, scheduled_selector="protect=daily", scheduled_keep=1)),
        Scenario("node_maintenance", "playbooks/node_maintenance.yml", ("day2",),
                 {"node_maintenance_wait_timeout": 600}),
        Scenario("node_maintenance_end", "playbooks/node_maintenance.yml", ("day2",),
                 {"node_maintenance_state": "absent"}),
        Scenario("report", "playbooks/report.yml", ("day2",)),
        Scenario("migrate", "playbooks/migrate.yml", ("migration",), mtv),
    ]


def objects_of(path):
    """The objects of a shipped file: one List (one YAML document, as yamllint wants), as kubectl apply -f reads it."""
    return yaml.safe_load(path.read_text())["items"]


def role_documents():
    """{file: [Role and ClusterRole documents]} of the shipped role files."""
    return {name: objects_of(RBAC / (name + ".yml")) for name in ROLE_FILES}


def grants(documents, files=None):
    """{(group, resource, verb, namespace or None)} the documents grant (a ClusterRole: any namespace)."""
    granted = set()
    for name, docs in documents.items():
        if files is not None and name not in files:
            continue
        for doc in docs:
            namespace = doc["metadata"].get("namespace") if doc["kind"] == "Role" else \
                BOUND_IN.get(doc["metadata"]["name"])
            for rule in doc["rules"]:
                for group in rule["apiGroups"]:
                    for resource in rule["resources"]:
                        for verb in rule["verbs"]:
                            granted.add((group, resource, verb, namespace))
    return granted


def covered(request, granted):
    group, resource, verb, namespace = request
    return (group, resource, verb, None) in granted or (
        namespace is not None and (group, resource, verb, namespace) in granted)


def apply(dynamic_client, doc):
    resource = dynamic_client.resources.get(api_version=doc["apiVersion"], kind=doc["kind"])
    resource.server_side_apply(body=doc, name=doc["metadata"]["name"], namespace=doc["metadata"].get("namespace"),
                               field_manager=FIELD_MANAGER, force_conflicts=True)


def without(documents, removed):
    """The documents with the (group, resource, verb) keys of ``removed`` taken out of every rule."""
    documents = copy.deepcopy(documents)
    for docs in documents.values():
        for doc in docs:
            rules = []
            for rule in doc["rules"]:
                verbs = [v for v in rule["verbs"] if not any((g, r, v) in removed for g in rule["apiGroups"]
                                                             for r in rule["resources"])]
                if verbs:
                    rules.append(dict(rule, verbs=verbs))
            doc["rules"] = rules
    return documents


def apply_roles(dynamic_client, documents):
    for docs in documents.values():
        for doc in docs:
            apply(dynamic_client, doc)


def requests_since(audit, mark):
    """{(group, resource[/subresource], verb, namespace)} the account asked for since ``mark`` (non-resource URLs,
    such as discovery, excepted: system:discovery grants them to every account)."""

    found = set()
    with open(audit.path, "rb") as log:
        log.seek(mark)
        for line in log:
            entry = json.loads(line)
            ref = entry.get("objectRef")
            if entry["user"]["username"] != USER or entry.get("stage") != "ResponseComplete" or not ref:
                continue
            resource = ref["resource"] + ("/" + ref["subresource"] if ref.get("subresource") else "")
            found.add((ref.get("apiGroup", ""), resource, entry["verb"], ref.get("namespace")))
    return found


def denied(output):
    """(verb, resource, group, ours) of the first 403 a run printed, or None."""
    match = OURS.search(output)
    if match:
        return match.group(1), match.group(2), match.group(4), True
    match = SERVERS.search(output)
    if match:
        resource = match.group(2) + ("/" + match.group(3) if match.group(3) else "")
        return match.group(1), resource, match.group(4), False
    return None


@pytest.fixture(scope="module")
def rbac_lab():
    """A lab of this file's own, beside the session's: the runs start on a cluster nothing has set up yet, so that
    the first-install calls (creates of the operators' objects) are made whatever ran before in the session."""
    instance = lab_package.start(state_dir=Path(str(paths.state_dir()) + "-rbac"))
    yield instance
    lab_package.stop(instance.state_dir)


@pytest.fixture(scope="module")
def admin(rbac_lab):
    """An administrator's clients of that lab: (dynamic client, CoreV1Api, CustomObjectsApi)."""
    with lab_kubeconfig.api_client(rbac_lab.kubeconfig) as api:
        yield dynamic.DynamicClient(api), client.CoreV1Api(api), client.CustomObjectsApi(api)


@pytest.fixture(scope="module")
def lab(rbac_lab):
    return rbac_lab


@pytest.fixture(scope="module")
def dynamic_client(admin):
    return admin[0]


@pytest.fixture(scope="module")
def core_v1(admin):
    return admin[1]


@pytest.fixture(scope="module")
def custom_objects(admin):
    return admin[2]


@pytest.fixture(scope="module")
def ansible(rbac_lab, tmp_path_factory):
    return ansible_runner(rbac_lab, tmp_path_factory.mktemp("rbac-playbooks"))


@pytest.fixture(scope="module")
def audit(rbac_lab):
    return Audit(Path(rbac_lab.audit_log))


@pytest.fixture(scope="module")
def account(lab, dynamic_client, core_v1, custom_objects, tmp_path_factory):
    """The account bound to exactly the shipped roles, a kubeconfig with its token, and what the runs need set up
    by an administrator (the provider's namespace, a VM label for scheduled protection)."""
    for path in [RBAC / "account.yml"] + [RBAC / (name + ".yml") for name in ROLE_FILES]:
        for doc in objects_of(path):
            apply(dynamic_client, doc)
    try:
        core_v1.create_namespace({"metadata": {"name": MTV_NAMESPACE}})
    except Exception as exc:  # noqa: BLE001
        assert getattr(exc, "status", None) == 409, exc
    for cluster_role, namespace in BOUND_IN.items():  # as rbac/migration.yml tells a user to
        apply(dynamic_client, {
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
            "metadata": {"name": cluster_role, "namespace": namespace},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": cluster_role},
            "subjects": [{"kind": "ServiceAccount", "name": ACCOUNT, "namespace": ACCOUNT_NAMESPACE}]})
    token = core_v1.create_namespaced_service_account_token(
        ACCOUNT, ACCOUNT_NAMESPACE, {"spec": {"expirationSeconds": 4 * 3600}}).status.token
    kubeconfig = tmp_path_factory.mktemp("rbac") / "kubeconfig"

    kubeconfig.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": ACCOUNT,
        "clusters": [{"name": "lab", "cluster": {"server": lab.vars["k8s_api_url"], "certificate-authority-data":
                                                 base64.b64encode(Path(lab.vars["ca_cert"]).read_bytes()).decode()}}],
        "users": [{"name": ACCOUNT, "user": {"token": token}}],
        "contexts": [{"name": ACCOUNT, "context": {"cluster": "lab", "user": ACCOUNT}}]}))
    kubeconfig.chmod(0o600)
    return {"kubeconfig": str(kubeconfig), "token": token}


DRAINED = {}  # the node the last node_maintenance run put into maintenance, for the run that ends it


def prepare(scenario, custom_objects):
    """What an administrator sets up before a run: the label scheduled protection selects; node maintenance is on the
    node the first VM runs on (so that the drain evicts its virt-launcher pod)."""
    if scenario.name == "scheduled_protection":
        custom_objects.patch_namespaced_custom_object("kubevirt.io", "v1", VMS, "virtualmachines", FIRST_VM,
                                                      {"metadata": {"labels": {"protect": "daily"}}})
    if scenario.name == "node_maintenance":
        vmi = custom_objects.get_namespaced_custom_object("kubevirt.io", "v1", VMS, "virtualmachineinstances", FIRST_VM)
        DRAINED["node"] = vmi["status"]["nodeName"]
    if scenario.name.startswith("node_maintenance"):
        scenario.extra["node_maintenance_node"] = DRAINED["node"]


def run_as(ansible, account, scenario):
    return ansible(scenario.playbook, extra_vars=dict(scenario.extra, k8s_kubeconfig=account["kubeconfig"]))


@pytest.fixture(scope="module")
def runs(lab, ansible, audit, account, custom_objects):
    """Every scenario run once as the account: {name: (Run, requests)}."""
    done = {}
    for scenario in scenarios(lab, account["token"]):
        prepare(scenario, custom_objects)
        mark = audit.mark()
        run = run_as(ansible, account, scenario)
        time.sleep(1)  # the API server writes a request's ResponseComplete entry once it has answered
        done[scenario.name] = (scenario, run, requests_since(audit, mark))
    return done


def test_site_and_day2_playbooks_pass_as_the_automation_account(runs):
    failed = {name: run.output[-3000:] for name, (_s, run, _r) in runs.items() if run.rc != 0}
    assert failed == {}


def test_each_run_asks_only_for_what_its_role_files_grant(runs):
    documents = role_documents()
    uncovered = {}
    for name, (scenario, run, requests) in runs.items():
        assert requests, "the audit log holds no request of {0} for run {1}".format(USER, name)
        granted = grants(documents, scenario.files)
        missing = sorted(r for r in requests if not covered(r, granted))
        if missing:
            uncovered[name] = missing
    assert uncovered == {}


def test_nothing_is_granted_that_no_run_uses(runs):
    used = set().union(*(requests for _s, _run, requests in runs.values()))
    unused = sorted(g for g in grants(role_documents())
                    if not any(covered(u, {g}) for u in used if u[:3] == g[:3]))
    assert unused == []


HANDFUL = [
    ("prerequisites", ("", "nodes", "list"), "site", "may not list nodes (v1) at cluster scope"),
    ("installation", ("hco.kubevirt.io", "hyperconvergeds", "get"), "site",
     "may not get hyperconvergeds (hco.kubevirt.io/v1beta1) in namespace 'openshift-cnv'"),
    ("protection", ("snapshot.storage.k8s.io", "volumesnapshots", "create"), "snapshot",
     "may not create volumesnapshots (snapshot.storage.k8s.io/v1) in namespace 'vms'"),
    ("day2", ("kubevirt.io", "virtualmachineinstancemigrations", "create"), "live_migration",
     "may not create virtualmachineinstancemigrations (kubevirt.io/v1) in namespace 'vms'"),
    ("migration", ("forklift.konveyor.io", "providers", "get"), "migrate",
     "may not get providers (forklift.konveyor.io/v1beta1) in namespace '{0}'".format(MTV_NAMESPACE)),
]


@pytest.mark.parametrize("role_file,key,scenario_name,message", HANDFUL, ids=[h[0] for h in HANDFUL])
def test_without_one_grant_the_run_fails_naming_it(runs, lab, ansible, dynamic_client, account, role_file, key,
                                                   scenario_name, message):
    documents = role_documents()
    assert any(g[:3] == key for g in grants(documents, [role_file])), "{0} does not grant {1}".format(role_file, key)
    scenario = next(s for s in scenarios(lab, account["token"], suffix="-deny") if s.name == scenario_name)
    apply_roles(dynamic_client, without(documents, {key}))
    try:
        run = run_as(ansible, account, scenario)
    finally:
        apply_roles(dynamic_client, documents)
    assert run.rc != 0, run.output[-3000:]
    assert message in run.output, run.output[-3000:]
    group = key[0]
    assert "Grant it the verb '{0}' on '{1}' in API group '{2}'".format(key[2], key[1], group) in run.output


@pytest.mark.reliability
@pytest.mark.timeout(14400)  # about sixty grants, each a failing run and its playbook again
def test_every_grant_is_needed_and_its_absence_is_named(lab, ansible, dynamic_client, account, custom_objects):
    """Every grant of the role files, removed in turn, makes a run fail with a 403 that names it.

    On a fresh lab (``make reliability``), run by run in the order of `scenarios`: the run goes with every grant not
    yet seen needed taken away; it fails at the first of them it needs, whose 403 (ours, or the API server's for a
    kubernetes.core or kubevirt.core task) names the verb, resource and group; that grant is given back and the run
    goes again, until it passes. Every call before the failing one had its grant, so the same run with only that one
    grant removed fails at the same call. What no run needed is granted for nothing: the test fails on it.
    """
    documents = role_documents()
    pending = {g[:3] for g in grants(documents)}
    witnessed = []
    for scenario in scenarios(lab, account["token"], suffix="-sweep"):
        prepare(scenario, custom_objects)
        for _attempt in range(len(pending) + 1):
            apply_roles(dynamic_client, without(documents, pending))
            run = run_as(ansible, account, scenario)
            if run.rc == 0:
                break
            named = denied(run.output)
            assert named, "{0} failed without a 403:\n{1}".format(scenario.name, run.output[-3000:])
            verb, resource, group, ours = named
            assert (group, resource, verb) in pending, "{0} was refused {1}, which is granted:\n{2}".format(
                scenario.name, named, run.output[-3000:])
            if ours:
                assert "Grant it the verb '{0}' on '{1}' in API group '{2}'".format(verb, resource, group) in run.output
            pending.discard((group, resource, verb))
            witnessed.append((scenario.name, group, resource, verb, ours))
        else:
            pytest.fail("{0} kept failing".format(scenario.name))
    apply_roles(dynamic_client, documents)
    print("\n".join("{0}: {3} {2} ({1}){4}".format(*w[:4], "" if w[4] else " [the API server's message]")
                    for w in witnessed))
    assert sorted(pending) == []

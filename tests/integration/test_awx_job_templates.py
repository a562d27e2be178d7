"""Every AWX job template of awx/vars, launched as AWX launches it, against the lab.

AWX runs a job with ansible-runner: the project checked out, the inventory (here the project's inventories/awx,
with the values a site keeps in its fork: the lab's), the extra vars (the survey's answers, its defaults for what
is not answered, and what the credentials' injectors render), and the environment the credentials inject. This
file does the same with `ansible_runner.run`, for every job template, in the order a platform team takes:
prerequisites -> installation -> first VM -> day 2 -> protection, then the migration from VMware and the workflow
prerequisites -> installation -> migration. Each run must end `successful`, print no secret, and leave in the
cluster what its template is for. The live migration template (new with this file) is also launched as a check
job first (the audit log shows its token wrote nothing) and a second time (nothing changes).

Run time: about 27 minutes for the file alone on a loaded 2-core machine (load average 25-50), most of it
site, installation and the workflow's reruns; the migration from VMware takes about 2.5 minutes (MTV's install
included).

The credentials:
- "OpenShift or Kubernetes API Bearer Token" (AWX's own type, awx/main/models/credential/__init__.py,
  namespace kubernetes_bearer_token) injects the environment K8S_AUTH_HOST, K8S_AUTH_API_KEY, K8S_AUTH_VERIFY_SSL
  and K8S_AUTH_SSL_CA_CERT (a file of its CA field). Here: a ServiceAccount's token, bound to cluster-admin.
- The ONTAP and vCenter types of awx/vars/credential_types.yml inject extra vars: their injector templates are
  rendered here with the lab's values in a sandboxed Jinja environment, as AWX renders them.
"""

import datetime
import json
import os
import re
from pathlib import Path

import ansible_runner
import jinja2.sandbox
import pytest
import yaml

from conftest import COLLECTIONS, SITE_PACKAGES, VENV_BIN, _link_collection
from own_lab import own_lab

# A lab of its own: every template from a bare cluster to a migration, and the workflow after them, change what the
# shared lab's other files rely on (the operator's install, nodes in maintenance, vCenter's VMs).
lab, api_client, core_v1, custom_objects, dynamic_client, ansible, audit = own_lab("awx")

REPO = Path(__file__).resolve().parents[2]
AWX_VARS = REPO / "awx" / "vars"
AWX_INVENTORY = REPO / "inventories" / "awx"
VMS = "awx-vms"               # the sample answers' namespace of VMs
VM = "rhel9-awx"              # the sample answers' first VM
MIGRATED = "awx-migrated"     # where the lab site's migration wave lands
SOURCE_VM = "win2022-files"   # the lab vcsim's VM the wave migrates (no other test migrates it)
ASSESSED = ["rhel9-web", "cbt-off", "tools-not-running"]  # the lab vcsim's: ready, with warnings, blocked
TOKEN_NAMESPACE = "awx-automation"
VM_API = ("kubevirt.io", "v1")
SNAPSHOTS = ("snapshot.storage.k8s.io", "v1", "volumesnapshots")
FORKLIFT = ("forklift.konveyor.io", "v1beta1")
RECAP = re.compile(r"^localhost\s*: ok=\d+\s+changed=(\d+)", re.MULTILINE)


class _Loader(yaml.SafeLoader):
    """Reads `!unsafe` (the injectors' templates, rendered by AWX rather than by Ansible) as the string."""


_Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def _awx(name):
    return yaml.load((AWX_VARS / (name + ".yml")).read_text(), Loader=_Loader)


JOB_TEMPLATES = {t["name"]: t for t in _awx("job_templates")["awx_job_templates"]}
CREDENTIAL_TYPES = {t["key"]: t for t in _awx("credential_types")["awx_credential_types"]}
WORKFLOWS = _awx("workflows")["awx_workflows"]

# A sample answer set per job template, in launch order (a template may be launched more than once). Node
# maintenance's node is the one the first VM runs on when it is launched ("<node of the VM>").
NODE_OF_VM = "<node of the VM>"
SAMPLE_ANSWERS = [
    ("ontap.virtualization: prerequisites", {"prerequisites_wait_timeout": 600}),
    ("ontap.virtualization: installation", {"installation_wait_timeout": 900}),
    ("ontap.virtualization: first VM", {"first_vm_namespace": VMS, "first_vm_name": VM, "first_vm_data_size": "2Gi"}),
    ("ontap.virtualization: site", {"site_migration": "false"}),
    ("ontap.virtualization: report", {"report_vm_namespace": VMS}),
    ("ontap.virtualization: live migration", {"live_migration_namespace": VMS, "live_migration_vms": VM,
                                              "live_migration_wait_timeout": 600,
                                              "live_migration_progress_interval": 5}),
    ("ontap.virtualization: node maintenance", {"node_maintenance_node": NODE_OF_VM,
                                                "node_maintenance_reason": "firmware update",
                                                "node_maintenance_wait_timeout": 600}),
    ("ontap.virtualization: node maintenance", {"node_maintenance_node": NODE_OF_VM,
                                                "node_maintenance_state": "absent",
                                                "node_maintenance_wait_timeout": 600}),
    ("ontap.virtualization: snapshot", {"protection_namespace": VMS, "snapshot_vms": VM,
                                        "snapshot_name": "before-upgrade", "protection_wait_timeout": 600}),
    ("ontap.virtualization: restore", {"protection_namespace": VMS, "restore_vm": VM,
                                       "restore_snapshot": "before-upgrade", "restore_target": VM + "-restored",
                                       "protection_wait_timeout": 600}),
    ("ontap.virtualization: clone", {"protection_namespace": VMS, "clone_source": VM, "clone_target": VM + "-twin",
                                     "clone_method": "csi_clone", "protection_wait_timeout": 600}),
    ("ontap.virtualization: scheduled protection", {"protection_namespace": VMS, "scheduled_keep": 2,
                                                    "protection_wait_timeout": 600}),
    ("ontap.virtualization: migrate from VMware", {"migration_wait_timeout": 900, "migration_progress_interval": 10}),
    ("ontap.virtualization: assess and migrate in waves", {"migration_report_title": "Estate assessment"}),
]


def survey_problems(template, answers):
    """Why AWX would refuse these answers to the template's survey ([] when it takes them)."""
    questions = {q["variable"]: q for q in template["survey"]}
    problems = ["{0} is not asked".format(v) for v in answers if v not in questions]
    for var, question in questions.items():
        value = answers.get(var, question.get("default"))
        if question["required"] and value in ("", None):
            problems.append("{0} is required".format(var))
        elif question["type"] == "multiplechoice" and value not in question["choices"]:
            problems.append("{0}: {1!r} is not among {2}".format(var, value, question["choices"]))
        elif question["type"] == "integer" and not (
                isinstance(value, int) and question["min"] <= value <= question["max"]):
            problems.append("{0}: {1!r} is not an integer in [{2}, {3}]".format(
                var, value, question["min"], question["max"]))
    return problems


def injected(key, inputs):
    """The extra vars a credential of this type injects (AWX renders the injectors in a Jinja sandbox)."""
    env = jinja2.sandbox.ImmutableSandboxedEnvironment()
    return {var: env.from_string(tmpl).render(**inputs)
            for var, tmpl in CREDENTIAL_TYPES[key]["injectors"]["extra_vars"].items()}


def test_every_job_template_has_a_sample_answer_set_awx_would_accept():
    assert {name for name, _answers in SAMPLE_ANSWERS} == set(JOB_TEMPLATES)
    for name, answers in SAMPLE_ANSWERS:
        answers = {k: ("worker-0" if v == NODE_OF_VM else v) for k, v in answers.items()}
        assert survey_problems(JOB_TEMPLATES[name], answers) == [], name


def test_the_workflows_nodes_are_job_templates_whose_defaults_awx_would_accept():
    for workflow in WORKFLOWS:
        for node in workflow["nodes"]:
            template = JOB_TEMPLATES[node["unified_job_template"]["name"]]
            assert survey_problems(template, {}) == [], template["name"]


class Controller:
    """Launches job templates the way AWX does, against the lab."""

    def __init__(self, lab, workdir, token):
        self.lab, self.workdir, self.runs = lab, workdir, 0
        ca = workdir / "kubernetes-ca.crt"   # AWX writes the credential's CA field to a file like this
        ca.write_text(Path(lab.vars["ca_cert"]).read_text())
        self.env = {"K8S_AUTH_HOST": lab.vars["k8s_api_url"], "K8S_AUTH_API_KEY": token,
                    "K8S_AUTH_VERIFY_SSL": "True", "K8S_AUTH_SSL_CA_CERT": str(ca)}
        ontap = lab.vars["ontap"]
        self.inputs = {
            "ontap": {"management_lif": ontap["management_lif"], "svm": "svm_virt",
                      "username": ontap["svm_admin"]["username"], "password": ontap["svm_admin"]["password"],
                      "validate_certs": False},
            "vcenter": {"url": lab.vars["vcsim_url"], "username": lab.vars["vcsim_username"],
                        "password": lab.vars["vcsim_password"], "thumbprint": "",
                        "ca_cert": Path(lab.vars["ca_cert"]).read_text()},
        }
        self.user = "system:serviceaccount:{0}:awx".format(TOKEN_NAMESPACE)
        self.secrets = [token, ontap["svm_admin"]["password"], lab.vars["vcsim_password"]]
        self.inventory = self._site_inventory()

    def _site_inventory(self):
        """inventories/awx with the values a site edits in its fork (group_vars/openshift.yml) set to the lab's:
        the NFS data LIF, and the migration wave; the lab has no Route to MTV's inventory service, so its address
        and CA are given too."""
        inventory = self.workdir / "inventory"
        (inventory / "group_vars").mkdir(parents=True)
        (inventory / "hosts.yml").write_text((AWX_INVENTORY / "hosts.yml").read_text())
        site = yaml.safe_load((AWX_INVENTORY / "group_vars" / "openshift.yml").read_text())
        nas = next(b for b in site["prerequisites_backends"] if b["storage_driver"] == "ontap-nas")
        nas["data_lif"] = self.lab.vars["ontap"]["data_lifs"]["nfs"][0]
        site["migration_plans"] = [{"name": "wave-1", "target_namespace": MIGRATED, "type": "cold",
                                    "vms": [{"name": SOURCE_VM}]}]
        site["migration_assess_select"] = {"names": ASSESSED}
        site["migration_assess_target"] = {"namespace": MIGRATED, "storage_class": "ontap-san-iscsi"}
        site["migration_waves"] = {"prefix": "awx-estate", "max_vms": 1}
        site["migration_inventory_url"] = self.lab.vars["forklift_inventory_url"]
        site["migration_inventory_ca_cert"] = self.lab.vars["ca_cert"]
        (inventory / "group_vars" / "openshift.yml").write_text(yaml.safe_dump(site, sort_keys=False))
        return inventory

    def extra_vars(self, template, answers):
        values = {q["variable"]: q["default"] for q in template["survey"]}
        values.update(answers)
        for key in template["credentials"]:
            if key in CREDENTIAL_TYPES:
                values.update(injected(key, self.inputs[key]))
        return values

    def launch(self, name, answers=None, check=False, timeout=1800):
        """Runs the job template's playbook (job type check: with --check) and returns its output; the run must
        end successful."""
        template = JOB_TEMPLATES[name]
        answers = answers or {}
        assert survey_problems(template, answers) == [], name
        self.runs += 1
        _link_collection()
        env = dict(self.env, PATH="{0}:{1}".format(VENV_BIN, os.environ.get("PATH", "")), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_COLLECTIONS_PATH="{0}:{1}".format(COLLECTIONS, SITE_PACKAGES),
                   ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_RETRY_FILES_ENABLED="0")
        if "kubernetes" not in template["credentials"]:
            env = {k: v for k, v in env.items() if not k.startswith("K8S_AUTH_")}
        job_dir = self.workdir / "job-{0}".format(self.runs)
        job_dir.mkdir()
        job = ansible_runner.run(private_data_dir=str(job_dir),
                                 project_dir=str(REPO), playbook=template["playbook"],
                                 inventory=str(self.inventory), extravars=self.extra_vars(template, answers),
                                 envvars=env, cmdline="--check" if check else None, quiet=True, timeout=timeout)
        output = job.stdout.read()
        for secret in self.secrets:
            assert secret not in output, "{0} printed a secret".format(name)
        assert job.status == "successful" and job.rc == 0, "{0}: {1} (rc {2})\n{3}".format(
            name, job.status, job.rc, output[-4000:])
        return output


@pytest.fixture(scope="module")
def controller(lab, core_v1, api_client, tmp_path_factory):
    """A ServiceAccount bound to cluster-admin whose token is the Kubernetes credential's bearer token."""
    from kubernetes import client
    rbac = client.RbacAuthorizationV1Api(api_client)
    core_v1.create_namespace({"metadata": {"name": TOKEN_NAMESPACE}})
    core_v1.create_namespaced_service_account(TOKEN_NAMESPACE, {"metadata": {"name": "awx"}})
    binding = "awx-job-templates"
    rbac.create_cluster_role_binding({
        "metadata": {"name": binding},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "cluster-admin"},
        "subjects": [{"kind": "ServiceAccount", "name": "awx", "namespace": TOKEN_NAMESPACE}]})
    token = core_v1.create_namespaced_service_account_token(
        "awx", TOKEN_NAMESPACE, {"spec": {"expirationSeconds": 4 * 3600}}).status.token
    yield Controller(lab, tmp_path_factory.mktemp("awx"), token)
    from protection import delete_namespace
    for namespace in (VMS, MIGRATED):  # their VMs would hold up a later uninstall or drain
        if any(n.metadata.name == namespace for n in core_v1.list_namespace().items):
            delete_namespace(core_v1, namespace)
    rbac.delete_cluster_role_binding(binding)
    core_v1.delete_namespace(TOKEN_NAMESPACE)


def answers_of(name, index=0):
    return [a for n, a in SAMPLE_ANSWERS if n == name][index]


def vm(custom_objects, namespace, name, kind="virtualmachines"):
    return custom_objects.get_namespaced_custom_object(*VM_API, namespace, kind, name)


def condition(obj, type_):
    return next((c for c in obj.get("status", {}).get("conditions") or [] if c["type"] == type_), {})


def test_prerequisites_creates_the_backends_with_the_ontap_credentials_account(controller, custom_objects, core_v1):
    controller.launch("ontap.virtualization: prerequisites", answers_of("ontap.virtualization: prerequisites"))
    ontap = controller.inputs["ontap"]
    for backend in ("ontap-nas", "ontap-san-iscsi"):
        tbc = custom_objects.get_namespaced_custom_object("trident.netapp.io", "v1", "trident",
                                                          "tridentbackendconfigs", backend)
        assert tbc["status"]["phase"] == "Bound", tbc["status"]
        assert (tbc["spec"]["managementLIF"], tbc["spec"]["svm"]) == (ontap["management_lif"], ontap["svm"])
        secret = core_v1.read_namespaced_secret(tbc["spec"]["credentials"]["name"], "trident")
        assert secret.data and "username" in secret.data


def test_installation_makes_openshift_virtualization_available(controller, custom_objects):
    controller.launch("ontap.virtualization: installation", answers_of("ontap.virtualization: installation"))
    hco = custom_objects.get_namespaced_custom_object("hco.kubevirt.io", "v1beta1", "openshift-cnv",
                                                      "hyperconvergeds", "kubevirt-hyperconverged")
    assert condition(hco, "Available").get("status") == "True", hco.get("status")


def test_first_vm_runs_on_ontap_block_rwx_disks(controller, custom_objects, core_v1):
    controller.launch("ontap.virtualization: first VM", answers_of("ontap.virtualization: first VM"))
    assert vm(custom_objects, VMS, VM, "virtualmachineinstances")["status"]["phase"] == "Running"
    for disk in ("root", "data"):
        claim = core_v1.read_namespaced_persistent_volume_claim("{0}-{1}".format(VM, disk), VMS)
        assert (claim.spec.storage_class_name, claim.spec.volume_mode, claim.spec.access_modes) == \
            ("ontap-san-iscsi", "Block", ["ReadWriteMany"]), claim.spec
    data = core_v1.read_namespaced_persistent_volume_claim(VM + "-data", VMS)
    assert data.spec.resources.requests["storage"] == "2Gi"  # the sample answer, not the survey's default


def test_site_runs_the_procedure_and_its_first_vm(controller, custom_objects):
    controller.launch("ontap.virtualization: site", answers_of("ontap.virtualization: site"))
    assert vm(custom_objects, "vms", "rhel9-on-ontap", "virtualmachineinstances")["status"]["phase"] == "Running"


def test_report_names_the_vm_and_its_ontap_disks(controller):
    output = controller.launch("ontap.virtualization: report", answers_of("ontap.virtualization: report"))
    assert "Virtual machines in {0}:".format(VMS) in output and VM in output, output[-3000:]
    assert "ontap-san-iscsi" in output


def changed(output):
    return int(RECAP.search(output).group(1))


def test_live_migration_moves_the_vm_to_another_node(controller, custom_objects, audit):
    """A check job writes nothing, the job moves the VM, a second job changes nothing."""
    before = vm(custom_objects, VMS, VM, "virtualmachineinstances")["status"]["nodeName"]
    name = "ontap.virtualization: live migration"
    mark = audit.mark()
    checked = controller.launch(name, answers_of(name), check=True)
    assert audit.writes_since(mark, user=controller.user) == [] and changed(checked) == 1, checked[-3000:]
    assert vm(custom_objects, VMS, VM, "virtualmachineinstances")["status"]["nodeName"] == before
    output = controller.launch(name, answers_of(name))
    assert changed(controller.launch(name, answers_of(name))) == 0
    after = vm(custom_objects, VMS, VM, "virtualmachineinstances")["status"]["nodeName"]
    assert after != before, output[-3000:]
    migrations = custom_objects.list_namespaced_custom_object(*VM_API, VMS, "virtualmachineinstancemigrations",
                                                              label_selector="kubevirt.io/vmi-name=" + VM)["items"]
    assert [m["status"]["phase"] for m in migrations] == ["Succeeded"]
    assert migrations[0]["status"]["migrationState"]["targetNode"] == after
    assert re.search(r"{0} migrated {1}".format(VM, after), output), output[-3000:]


def test_node_maintenance_moves_the_vm_off_its_node_and_gives_the_node_back(controller, custom_objects, core_v1):
    name = "ontap.virtualization: node maintenance"
    node = vm(custom_objects, VMS, VM, "virtualmachineinstances")["status"]["nodeName"]
    into, out = ({k: (node if v == NODE_OF_VM else v) for k, v in answers_of(name, i).items()} for i in (0, 1))
    try:
        controller.launch(name, into)
        assert core_v1.read_node(node).spec.unschedulable is True
        assert vm(custom_objects, VMS, VM, "virtualmachineinstances")["status"]["nodeName"] != node
    finally:
        controller.launch(name, out)
    assert not core_v1.read_node(node).spec.unschedulable


def snapshot_sets(custom_objects):
    found = custom_objects.list_namespaced_custom_object(*SNAPSHOTS[:2], VMS, SNAPSHOTS[2],
                                                         label_selector="ontap.virtualization/vm=" + VM)["items"]
    sets = {}
    for snapshot in found:
        if not snapshot["metadata"].get("deletionTimestamp"):
            sets.setdefault(snapshot["metadata"]["labels"]["ontap.virtualization/snapshot"], []).append(snapshot)
    return sets


def test_snapshot_takes_a_ready_snapshot_of_every_disk(controller, custom_objects):
    controller.launch("ontap.virtualization: snapshot", answers_of("ontap.virtualization: snapshot"))
    taken = snapshot_sets(custom_objects)["before-upgrade"]
    assert sorted(s["spec"]["source"]["persistentVolumeClaimName"] for s in taken) == [VM + "-data", VM + "-root"]
    assert all(s["status"]["readyToUse"] for s in taken)


def test_restore_makes_a_new_vm_from_the_snapshot_set(controller, custom_objects, core_v1):
    controller.launch("ontap.virtualization: restore", answers_of("ontap.virtualization: restore"))
    restored = vm(custom_objects, VMS, VM + "-restored")
    claims = [v["persistentVolumeClaim"]["claimName"] for v in restored["spec"]["template"]["spec"]["volumes"]
              if "persistentVolumeClaim" in v]
    assert len(claims) == 2, restored["spec"]["template"]["spec"]["volumes"]
    for claim in claims:
        source = core_v1.read_namespaced_persistent_volume_claim(claim, VMS).spec.data_source
        assert source and source.kind == "VolumeSnapshot", claim


def test_clone_makes_a_running_twin_on_csi_clones(controller, custom_objects, core_v1):
    controller.launch("ontap.virtualization: clone", answers_of("ontap.virtualization: clone"))
    twin = vm(custom_objects, VMS, VM + "-twin", "virtualmachineinstances")
    assert twin["status"]["phase"] == "Running"
    claims = [v["persistentVolumeClaim"]["claimName"] for v in twin["spec"]["volumes"] if "persistentVolumeClaim" in v]
    assert claims and all(core_v1.read_namespaced_persistent_volume_claim(c, VMS).spec.data_source.kind ==
                          "PersistentVolumeClaim" for c in claims), claims


def test_scheduled_protection_snapshots_the_labelled_vms_under_the_days_name(controller, custom_objects):
    # The user labels the VMs the daily schedule protects (the survey's default selector is protect=daily).
    custom_objects.patch_namespaced_custom_object(*VM_API, VMS, "virtualmachines", VM,
                                                  {"metadata": {"labels": {"protect": "daily"}}})
    controller.launch("ontap.virtualization: scheduled protection",
                      answers_of("ontap.virtualization: scheduled protection"))
    sets = snapshot_sets(custom_objects)
    today = "daily-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%d")
    assert today in sets and len(sets[today]) == 2, sorted(sets)
    assert len(sets) <= 2  # keep 2: the day's set and before-upgrade


def migrated_vm(custom_objects, core_v1):
    plan = custom_objects.get_namespaced_custom_object(*FORKLIFT, "openshift-mtv", "plans", "wave-1")
    assert condition(plan, "Succeeded").get("status") == "True", plan.get("status")
    landed = vm(custom_objects, MIGRATED, SOURCE_VM)
    claims = [v["persistentVolumeClaim"]["claimName"] for v in landed["spec"]["template"]["spec"]["volumes"]
              if "persistentVolumeClaim" in v]
    assert claims
    for claim in claims:
        spec = core_v1.read_namespaced_persistent_volume_claim(claim, MIGRATED).spec
        assert (spec.storage_class_name, spec.volume_mode) == ("ontap-san-iscsi", "Block"), spec
    return landed


def test_migrate_from_vmware_runs_the_wave_of_the_inventory(controller, custom_objects, core_v1):
    controller.launch("ontap.virtualization: migrate from VMware",
                      answers_of("ontap.virtualization: migrate from VMware"))
    migrated_vm(custom_objects, core_v1)
    provider = custom_objects.get_namespaced_custom_object(*FORKLIFT, "openshift-mtv", "providers", "vcenter")
    assert provider["spec"]["url"] == controller.inputs["vcenter"]["url"]
    assert condition(provider, "Ready").get("status") == "True"


def test_assess_reports_the_selected_vms_and_cuts_their_waves(controller, audit, tmp_path):
    """Assessment only (the survey's default): the vCenter credential's account and CA reach the assessment through
    the AWX inventory, nothing is written to the cluster, and the report has every selected VM."""
    folder = tmp_path / "report"
    mark = audit.mark()
    name = "ontap.virtualization: assess and migrate in waves"
    controller.launch(name, dict(answers_of(name), migration_report_dir=str(folder)))
    assert audit.writes_since(mark, user=controller.user) == []
    report = json.loads((folder / "migration-report.json").read_text())
    status = {vm["name"]: vm["status"] for vm in report["vms"]}
    assert status == {"rhel9-web": "ready", "cbt-off": "ready with warnings", "tools-not-running": "blocked"}
    assert [wave["vms"] for wave in report["waves"]] == [["cbt-off"], ["rhel9-web"]]
    assert "Estate assessment" in (folder / "migration-report.html").read_text()


def test_the_workflow_runs_its_nodes_in_order_each_after_the_one_before_succeeded(controller, custom_objects,
                                                                                  core_v1):
    """Its job templates run with their survey defaults (a workflow does not ask their surveys) and the
    credentials; a node runs only when the one before ended successful (a failed launch stops here)."""
    (workflow,) = WORKFLOWS
    nodes = {n["identifier"]: n for n in workflow["nodes"]}
    node, ran = workflow["nodes"][0], []
    while node:
        controller.launch(node["unified_job_template"]["name"])
        ran.append(node["identifier"])
        following = node.get("related", {}).get("success_nodes", [])
        node = nodes[following[0]["identifier"]] if following else None
    assert ran == ["prerequisites", "installation", "migration"]
    migrated_vm(custom_objects, core_v1)
    migrations = custom_objects.list_namespaced_custom_object(*FORKLIFT, "openshift-mtv", "migrations")["items"]
    assert len([m for m in migrations if m["spec"]["plan"]["name"] == "wave-1"]) == 1  # the rerun followed it

"""Every module's EXAMPLES run as written against the lab, and ansible-doc renders every module.

The file runs first in the session (conftest.RUN_FIRST), before any file that runs site.yml:
the examples create, change and delete backends and classes with site.yml's names (ontap-san-iscsi,
ontap-nas), and deleting site.yml's backend while VMs use it would leave it Deleting for the files after.
"""

import importlib.util
import json
import subprocess

import pytest
import yaml

from conftest import COLLECTIONS, REPO, SITE_PACKAGES, VENV_BIN

MODULES = ["trident_backend", "storageclass", "volumesnapshotclass", "platform_info"]  # examples that run on the lab
ALL_MODULES = sorted(path.stem for path in (REPO / "plugins" / "modules").glob("*.py") if path.stem != "__init__")
# What each example creates, so that the test leaves the shared lab as it found it.
CREATED = {
    "ontap.virtualization.trident_backend": ("trident.netapp.io", "v1", "tridentbackendconfigs", "trident"),
    "ontap.virtualization.storageclass": ("storage.k8s.io", "v1", "storageclasses", None),
    "ontap.virtualization.volumesnapshotclass": ("snapshot.storage.k8s.io", "v1", "volumesnapshotclasses", None),
}
# Classes go at once (no finalizers) and claims made with them keep working, so they can be cleared first.
CLASSES = ("storageclasses", "volumesnapshotclasses")


def documentation(name):
    spec = importlib.util.spec_from_file_location(name, REPO / "plugins" / "modules" / (name + ".py"))
    source = spec.loader.get_source(name)
    namespace = {}
    for block in ("DOCUMENTATION", "EXAMPLES", "RETURN"):
        start = source.index(block + ' = r"""') + len(block + ' = r"""')
        namespace[block] = source[start:source.index('"""', start)]
    return namespace


@pytest.mark.parametrize("name", ALL_MODULES)
def test_ansible_doc_renders(name):
    done = subprocess.run([str(VENV_BIN / "ansible-doc"), "--json", "ontap.virtualization." + name],
                          capture_output=True, text=True, env={"ANSIBLE_COLLECTIONS_PATH": "{0}:{1}".format(
                              COLLECTIONS, SITE_PACKAGES), "PATH": str(VENV_BIN)})
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)["ontap.virtualization." + name]
    assert doc["doc"]["description"] and doc["examples"].strip() and doc["return"]
    for option in ("kubeconfig", "host", "api_key", "validate_certs", "impersonate_user"):
        assert option in doc["doc"]["options"]


@pytest.mark.parametrize("name", MODULES)
def test_examples_run_against_the_lab(ansible, ontap_vars, custom_objects, name):
    tasks = yaml.safe_load(documentation(name)["EXAMPLES"])
    play = [{"hosts": "openshift", "gather_facts": False,
             "module_defaults": {"group/ontap.virtualization.virtualization": {"kubeconfig": "{{ k8s_kubeconfig }}"}},
             "vars": {"ontap_management_lif": ontap_vars["management_lif"], "ontap_svm": "svm_virt",
                      "ontap_data_lif": ontap_vars["data_lifs"]["nfs"][0],
                      "ontap_username": ontap_vars["svm_admin"]["username"],
                      "ontap_password": ontap_vars["svm_admin"]["password"]},
             "tasks": tasks}]
    # The examples create their classes: a class of the same name that an earlier test file's site.yml made
    # (other parameters, which are immutable) would turn the first example into a refused update.
    remove_what_examples_made(custom_objects, tasks, plurals=CLASSES)
    try:
        run = ansible(yaml.safe_dump(play, sort_keys=False))
        assert run.rc == 0, run.output[-3000:]
        assert run.failed == 0 and run.ok >= len(tasks)
    finally:
        remove_what_examples_made(custom_objects, tasks)


def remove_what_examples_made(custom_objects, tasks, plurals=None):
    from kubernetes.client.exceptions import ApiException

    for task in tasks:
        for module, args in task.items():
            if module not in CREATED or not isinstance(args, dict):
                continue
            group, version, plural, namespace = CREATED[module]
            if plurals is not None and plural not in plurals:
                continue
            try:
                if namespace:
                    custom_objects.delete_namespaced_custom_object(group, version, namespace, plural, args["name"])
                else:
                    custom_objects.delete_cluster_custom_object(group, version, plural, args["name"])
            except ApiException as error:
                if error.status != 404:
                    raise

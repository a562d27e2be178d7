"""What the protection tests share: VMs on ONTAP disks, module plays, results, and ONTAP as its admin sees it."""

import json
import time
import uuid

import requests

PLAY = """
- hosts: openshift
  gather_facts: false
  module_defaults:
    group/ontap.virtualization.virtualization: {kubeconfig: "{{ k8s_kubeconfig }}"}
  tasks:
    - name: The module under test
      ontap.virtualization.%s: %s
      register: result
      ignore_errors: true
    - name: Show the result
      ansible.builtin.debug:
        msg: "RESULT {{ result | to_json }}"
"""
VMS_PLAYBOOK = "tests/fixtures/vms_with_a_data_disk.yml"


def module_play(module: str, args: dict) -> str:
    return PLAY % (module, json.dumps(dict({"progress_interval": 2}, **args)))


def result_of(run) -> dict:
    line = next((line for line in run.output.splitlines() if '"msg": "RESULT ' in line), None)
    assert line is not None, run.output[-3000:]
    return json.loads(json.loads("{" + line.strip() + "}")["msg"][len("RESULT "):])


def make_vms(ansible, namespace, names, run_strategy="Always"):
    """VMs labelled protect=daily, each with its own firmware UUID and MAC (so that a clone's new ones show)."""
    vms = [{"name": name, "labels": {"protect": "daily"}, "run_strategy": run_strategy, "spec": {
        "domain": {"firmware": {"uuid": str(uuid.uuid5(uuid.NAMESPACE_DNS, name))},
                   "devices": {"interfaces": [{"name": "default", "masquerade": {},
                                               "macAddress": "02:00:00:00:00:{0:02x}".format(index + 16)}]}},
        "networks": [{"name": "default", "pod": {}}]}} for index, name in enumerate(names)]
    run = ansible(VMS_PLAYBOOK, {"vm_namespace": namespace, "vms": vms})
    assert run.rc == 0, run.output[-3000:]


def delete_namespace(core_v1, namespace, seconds=180):
    """Delete ``namespace`` (if it exists) and wait up to ``seconds`` for it to be gone."""
    if not any(n.metadata.name == namespace for n in core_v1.list_namespace().items):
        return
    core_v1.delete_namespace(namespace)
    deadline = time.monotonic() + seconds
    while any(n.metadata.name == namespace for n in core_v1.list_namespace().items) and time.monotonic() < deadline:
        time.sleep(1)


def eventually(check, what: str, seconds: float = 120):
    """``check()``'s first truthy answer within ``seconds`` (controllers finish their cleanup after a module ends)."""
    deadline = time.monotonic() + seconds
    while True:
        found = check()
        if found or time.monotonic() > deadline:
            assert found, f"not within {seconds}s: {what}"
            return found
        time.sleep(1)


class Ontap:
    """ONTAP as its cluster administrator sees it, over REST."""

    def __init__(self, ontap):
        self.url = ontap["url"]
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = ontap["ca_cert"]
        self.session.auth = (ontap["cluster_admin"]["username"], ontap["cluster_admin"]["password"])

    def records(self, path, **query):
        answer = self.session.get(f"{self.url}/api/{path}", params={"fields": "*", **query})
        answer.raise_for_status()
        return answer.json()["records"]

    def volume(self, name):
        found = self.records("storage/volumes", name=name)
        return found[0] if found else None

    def snapshot_names(self, volume_name):
        volume = self.volume(volume_name)
        return [s["name"] for s in self.records(f"storage/volumes/{volume['uuid']}/snapshots")] if volume else []

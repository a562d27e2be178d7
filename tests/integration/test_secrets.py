"""No secret given to the collection shows outside its Secret, at -vvvv with --diff (issue 20, secrets).

The short version for `make test`: a backend created and its password changed (check mode, so the diff shows the
change), then site.yml. MTV's vCenter password has the same scan in test_mtv.py.
"""

import uuid

from conftest import ansible_runner
from secret_scan import leaks


def backend_play(ontap, name, password, state="present"):
    return """
- hosts: openshift
  gather_facts: false
  tasks:
    - ontap.virtualization.trident_backend:
        kubeconfig: "{{{{ k8s_kubeconfig }}}}"
        name: {name}
        state: {state}
        storage_driver: ontap-nas
        management_lif: {lif}
        svm: svm_virt
        username: {user}
        password: {password}
        check_ontap: false
""".format(name=name, state=state, lif=ontap["management_lif"], user=ontap["svm_admin"]["username"],
           password=password)


def test_no_secret_shows_in_output_written_objects_or_events(lab, ontap_vars, virtualization_stack, core_v1, audit,
                                                             tmp_path, monkeypatch):
    monkeypatch.setenv("ANSIBLE_VERBOSITY", "4")
    verbose = ansible_runner(lab, tmp_path)
    password = ontap_vars["svm_admin"]["password"]
    new_password = "scan-" + uuid.uuid4().hex
    name = "scan-" + uuid.uuid4().hex[:6]
    mark = audit.mark()
    outputs = []
    try:
        for playbook, check in ((backend_play(ontap_vars, name, password), False),
                                (backend_play(ontap_vars, name, new_password), True),
                                ("playbooks/site.yml", False)):
            run = verbose(playbook, check=check, diff=True)
            assert run.rc == 0, run.output[-3000:]
            outputs.append(run.output)
        assert "<hidden, changed>" in outputs[1]  # the diff did show the change, without the value
        assert leaks((password, new_password), "\n".join(outputs), audit, mark, core_v1) == []
    finally:
        verbose(backend_play(ontap_vars, name, password, state="absent"))

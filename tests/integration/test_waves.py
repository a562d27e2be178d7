"""Fifty VMs of the lab's scale mode assessed, cut into waves and migrated one wave after another by
playbooks/assess.yml (the role migration's entry point assess); the playbook is killed while the second wave
migrates and, run again, resumes there: the first wave is not migrated again, the second is followed to its end.

Checked in the cluster (the Plans and Migrations the lab's Forklift ran, the VMs) and in the report's JSON.
A long suite: `make reliability` runs it.
"""

import json
import os
import signal
import time

import pytest

from conftest import REPO, start_playbook
from lab.vcsim_inventory import SCALE_ENV
from own_lab import own_lab
from test_mtv import condition, get, inventory_args, migrations_of, mtv, source  # noqa: F401 - fixtures

pytestmark = pytest.mark.reliability

# A lab of its own, in scale mode: its vCenter holds the 1,000 scale VMs (tests/lab/vcsim_inventory.py).
lab, api_client, core_v1, custom_objects, dynamic_client, ansible, audit = own_lab("waves", {SCALE_ENV: "1"})

FIXTURES = (mtv, source)  # test_mtv.py's, instantiated again for this module
SELECTED = ["scale-vm-{0:04d}".format(i) for i in range(50)]
WAVES = ["fifty-wave-{0}".format(n) for n in range(1, 6)]


def assess_vars(lab, source, report_dir):
    return dict({
        "migration_assess_vcenter": lab.vcenter(),
        "migration_assess_select": {"patterns": ["scale-vm-00[0-4][0-9]"]},
        "migration_assess_target": {"namespace": source["namespace"] + "-vms", "storage_class": "ontap-san-iscsi"},
        "migration_waves": {"prefix": "fifty", "max_vms": 10},
        "migration_waves_run": True,
        "migration_report_dir": str(report_dir),
        "migration_install_mtv": False,
        "migration_provider": lab.mtv_provider(source["namespace"]),
        "migration_wait_timeout": 1200,
        "migration_progress_interval": 10,
    }, **{"migration_" + key: value for key, value in inventory_args(lab, source).items()})


def plan_of(custom_objects, namespace, wave):
    return get(custom_objects, "plans", wave, namespace)


def succeeded(plan):
    return plan is not None and (condition(plan, "Succeeded") or {}).get("status") == "True"


def test_fifty_vms_migrate_in_waves_and_a_killed_run_resumes_where_it_stopped(lab, source, custom_objects,
                                                                              core_v1, ansible, tmp_path):
    ns, target = source["namespace"], source["namespace"] + "-vms"
    extra = assess_vars(lab, source, tmp_path / "report")

    process, log = start_playbook(lab, REPO / "playbooks" / "assess.yml", tmp_path, extra)
    deadline = time.monotonic() + 1200
    try:
        while not migrations_of(custom_objects, ns, WAVES[1]) and process.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(2)
        assert process.poll() is None, "the playbook ended before the second wave started:\n" + log.read_text()[-3000:]
        assert migrations_of(custom_objects, ns, WAVES[1]), "no second wave in time:\n" + log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    assert succeeded(plan_of(custom_objects, ns, WAVES[0]))
    assert not succeeded(plan_of(custom_objects, ns, WAVES[1]))
    assert [w for w in WAVES[2:] if plan_of(custom_objects, ns, w)] == []
    before = {w: [m["metadata"]["uid"] for m in migrations_of(custom_objects, ns, w)] for w in WAVES[:2]}

    again = ansible("playbooks/assess.yml", extra_vars=extra, timeout=2400)
    assert again.rc == 0, again.output[-3000:]
    assert lab.vars["vcsim_password"] not in log.read_text() + again.output

    for wave in WAVES:
        assert succeeded(plan_of(custom_objects, ns, wave)), wave
        assert len(migrations_of(custom_objects, ns, wave)) == 1, wave
    assert {w: [m["metadata"]["uid"] for m in migrations_of(custom_objects, ns, w)] for w in WAVES[:2]} == before
    vms = custom_objects.list_namespaced_custom_object("kubevirt.io", "v1", target, "virtualmachines")["items"]
    assert sorted(vm["metadata"]["name"] for vm in vms) == SELECTED

    report = json.loads((tmp_path / "report" / "migration-report.json").read_text())
    assert [(w["name"], len(w["vms"])) for w in report["waves"]] == [(w, 10) for w in WAVES]
    assert [(p["name"], p["found"], p["outcome"]) for p in report["plans"]] == [(w, True, "Succeeded") for w in WAVES]

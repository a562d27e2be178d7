"""migration_report against the lab: a real cold migration by the lab's Forklift, then its report in Chromium.

The Plan and Migration are the ones mtv_plan and mtv_migration made and the lab's Forklift
(tests/lab/controllers/forklift) ran against vcsim; the report reads them back from the API server.
"""

import json

import pytest
from conftest import REPO
from report_browser import console_messages, load, rows
from test_mtv import migration_play, mtv, play, results_of, source  # noqa: F401 - mtv and source are fixtures
from own_lab import own_lab

# A lab of its own: it migrates a vCenter VM, which the shared lab's earlier files may have migrated already.
lab, api_client, core_v1, custom_objects, dynamic_client, ansible, audit = own_lab("report")

PLAN = "report-cold"
ASSESSMENT = {
    "source": "vcsim", "generated_at": "2026-11-30T01:00:00Z",
    "summary": {"total": 3, "ready": 1, "ready_with_warnings": 1, "blocked": 1},
    "vms": [{"name": "rhel9-web", "status": "ready", "target_name": "rhel9-web", "host": "esx-a", "reasons": []},
            {"name": "Legacy <App>", "status": "ready with warnings", "target_name": "legacy-app",
             "reasons": [{"rule": "name", "category": "Warning", "message": "Not a DNS-1123 name & will change.",
                          "fix": "Nothing to do."}]},
            {"name": "cbt-off", "status": "blocked", "target_name": "cbt-off",
             "reasons": [{"rule": "cbt", "category": "Critical", "message": "CBT is off.",
                          "fix": "Enable CBT, then power-cycle the VM."}]}],
}


def report_args(ns, tmp_path):
    return {"assessment": ASSESSMENT, "waves": [{"name": PLAN, "index": 1, "vms": ["rhel9-web"]}],
            "plans": [PLAN], "namespace": ns, "json_path": str(tmp_path / "report.json"),
            "html_path": str(tmp_path / "report.html"), "generated_at": "2026-11-30T04:00:00Z"}


def test_the_report_of_a_lab_migration_shows_its_timeline_and_loads_in_chromium(
        ansible, lab, source, tmp_path, custom_objects, audit):  # noqa: F811 - source is the fixture
    ns = source["namespace"]
    migrated = ansible(migration_play(lab, source, PLAN, "rhel9-web", "cold"))
    assert migrated.rc == 0, migrated.output[-3000:]
    assert results_of(migrated)[2]["migration"]["outcome"] == "Succeeded"
    mark = audit.mark()
    check = ansible(play(("migration_report", report_args(ns, tmp_path), False)), check=True)
    assert check.rc == 0 and check.changed == 1, check.output[-3000:]
    assert not (tmp_path / "report.json").exists() and not (tmp_path / "report.html").exists()
    first = ansible(play(("migration_report", report_args(ns, tmp_path), False)))
    assert first.rc == 0 and first.changed == 1, first.output[-3000:]
    assert audit.writes_since(mark) == []  # it reads the cluster, never writes to it

    report = json.loads((tmp_path / "report.json").read_text())
    migration = custom_objects.get_namespaced_custom_object("forklift.konveyor.io", "v1beta1", ns, "migrations",
                                                            PLAN + "-1")
    live = next(vm for vm in migration["status"]["vms"] if vm["name"] == "rhel9-web")
    run = next(vm for vm in report["vms"] if vm["name"] == "rhel9-web")["run"]
    assert (run["outcome"], run["migration"], run["type"]) == ("Succeeded", PLAN + "-1", "cold")
    assert (run["started"], run["completed"]) == (live["started"], live["completed"])
    started_steps = [s["name"] for s in live["pipeline"] if s.get("started")]
    assert [s["label"] for s in run["segments"]] == started_steps and started_steps
    assert run["downtime"]["end"] == live["completed"] and run["downtime"]["seconds"] >= 0
    assert report["plans"] == [{"name": PLAN, "namespace": ns, "found": True, "migration": PLAN + "-1",
                                "outcome": "Succeeded", "started": migration["status"]["started"],
                                "completed": migration["status"]["completed"], "vms": ["rhel9-web"]}]

    done = load(tmp_path / "report.html", tmp_path / "profile")
    assert console_messages(done.stderr) == []
    assert rows(done.stdout) == ["rhel9-web", "Legacy <App>", "cbt-off"]
    again = ansible(play(("migration_report", report_args(ns, tmp_path), False)))
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]


ASSESSMENT_MODULE = REPO / "plugins" / "modules" / "migration_assessment.py"
# Of the lab's seeded vcsim inventory (tests/lab/vcsim_inventory.py): two healthy VMs, two with a Warning concern
# (CBT off; a name that is not DNS-1123), one with a Critical one (VMware Tools not running).
SELECTED = ["rhel9-web", "rhel9-app", "cbt-off", "Legacy_App01", "tools-not-running"]


@pytest.mark.skipif(not ASSESSMENT_MODULE.exists(), reason="playbooks/assess.yml needs the module "
                    "migration_assessment, which this checkout does not have yet")
def test_the_assess_playbook_writes_the_report_of_its_assessment_and_waves(ansible, lab, tmp_path, audit):
    """assess.yml without migrating: --check writes nothing; a run reads vCenter and the cluster, writes only the
    report, whose page loads in Chromium with one timeline row per VM; no password is printed."""
    folder = tmp_path / "report"
    extra = {"migration_assess_vcenter": lab.vcenter(),
             "migration_assess_select": {"names": SELECTED}, "migration_assess_target": {"namespace": "default"},
             "migration_waves": {"prefix": "estate", "max_vms": 2}, "migration_report_dir": str(folder)}
    mark = audit.mark()
    check = ansible("playbooks/assess.yml", extra_vars=extra, check=True)
    assert check.rc == 0, check.output[-3000:]
    assert not folder.exists()
    first = ansible("playbooks/assess.yml", extra_vars=extra)
    assert first.rc == 0, first.output[-3000:]
    assert audit.writes_since(mark) == []
    assert lab.vars["vcsim_password"] not in check.output + first.output

    report = json.loads((folder / "migration-report.json").read_text())
    status = dict((vm["name"], vm["status"]) for vm in report["vms"])
    assert sorted(status) == sorted(SELECTED) and status["tools-not-running"] == "blocked"
    assert status["rhel9-web"] == "ready" and status["cbt-off"] == "ready with warnings"
    waved = [name for wave in report["waves"] for name in wave["vms"]]
    assert sorted(waved) == sorted(n for n in SELECTED if status[n] != "blocked")
    assert all(len(wave["vms"]) <= 2 for wave in report["waves"])
    assert [(p["name"], p["found"]) for p in report["plans"]] == [(w["name"], False) for w in report["waves"]]
    blocked = next(vm for vm in report["vms"] if vm["name"] == "tools-not-running")
    assert blocked["blockers"] and all(b["fix"] for b in blocked["blockers"]) and blocked["wave"] is None

    done = load(folder / "migration-report.html", tmp_path / "profile")
    assert console_messages(done.stderr) == []
    assert sorted(rows(done.stdout)) == sorted(SELECTED)

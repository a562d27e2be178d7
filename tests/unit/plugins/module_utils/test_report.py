"""migration_report: the report built from an assessment, waves and MTV runs, its files, and the page in Chromium.

The runs are Plan/Migration objects in the shape of Forklift v2.12.5's v1beta1 types (report_fixture.py), served by
the fake API server; the lab's real ones are read in tests/integration/test_report.py. The page is loaded in a real
headless Chromium (Debian's package, installed by ``make chromium``).
"""

import copy
import json
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from conftest import ModuleExit
from fake_apiserver import GROUP_VERSIONS, FakeAPIServer, _resources
from report_fixture import ASSESSMENT, COLD_MIGRATION, COLD_PLAN, RUNS, WARM_MIGRATION, WARM_PLAN, WAVES

from ansible_collections.ontap.virtualization.plugins.module_utils import report, report_html
from ansible_collections.ontap.virtualization.plugins.modules import migration_report

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # tests/, home of report_browser
import report_browser  # noqa: E402


@pytest.fixture
def apiserver():
    kinds = dict(GROUP_VERSIONS)
    kinds["forklift.konveyor.io/v1beta1"] = _resources(("Plan", "plans", True), ("Migration", "migrations", True))
    with FakeAPIServer(group_versions=kinds) as server:
        for plural, obj in (("plans", COLD_PLAN), ("plans", WARM_PLAN), ("migrations", COLD_MIGRATION),
                            ("migrations", WARM_MIGRATION)):
            server.put(plural, obj)
        yield server


def built():
    return report.build(ASSESSMENT, WAVES, copy.deepcopy(RUNS), "Estate <move>")


def vm(rep, name):
    return next(v for v in rep["vms"] if v["name"] == name)


def test_every_vm_has_its_status_wave_blockers_and_run():
    rep = built()
    assert [(v["name"], v["status"], v["wave"]) for v in rep["vms"]] == [
        ("web01", "ready", "wave-1"), ("db01", "ready with warnings", "wave-2"),
        ("App_Server <1>", "ready with warnings", "wave-1"), ("legacy-rdm", "blocked", None),
        ("batch02", "ready", "wave-1")]
    assert [r["rule"] for r in vm(rep, "legacy-rdm")["blockers"]] == ["rdm"]  # the Warning one does not block
    assert vm(rep, "legacy-rdm")["run"] is None
    assert vm(rep, "db01")["blockers"] == []
    assert rep["migrated"] == {"Failed": 1, "Succeeded": 3, "not started": 1}
    assert rep["window"] == {"start": "2026-11-30T02:00:00Z", "end": "2026-11-30T03:15:00Z"}


def test_a_cold_vm_is_down_from_its_first_step_and_one_that_was_off_is_not_down():
    web = vm(built(), "web01")["run"]
    assert web["type"] == "cold" and web["outcome"] == "Succeeded"
    assert web["downtime"] == {"kind": "downtime", "label": "downtime", "start": "2026-11-30T02:00:00Z",
                               "end": "2026-11-30T02:12:00Z", "seconds": 720}
    assert [s["kind"] for s in web["segments"]] == ["initialize", "transfer", "conversion", "transfer", "creation"]
    assert vm(built(), "App_Server <1>")["run"]["downtime"] is None  # restorePowerState Off


def test_a_warm_vm_shows_each_precopy_the_cutover_and_is_down_from_the_cutover_step():
    run = vm(built(), "db01")["run"]
    assert run["type"] == "warm" and run["precopies"] == 3 and run["cutover"] == "2026-11-30T03:00:00Z"
    assert [(s["kind"], s["seconds"]) for s in run["segments"]] == [
        ("initialize", 60), ("precopy", 1140), ("precopy", 180), ("precopy", 120), ("cutover", 240),
        ("conversion", 540), ("creation", 120)]
    assert (run["downtime"]["start"], run["downtime"]["seconds"]) == ("2026-11-30T03:00:00Z", 900)


def test_a_failed_vm_keeps_its_error_and_steps_that_never_started_are_not_drawn():
    run = vm(built(), "batch02")["run"]
    assert run["outcome"] == "Failed" and run["error"] == "ConvertGuest: virt-v2v: <inspection> failed & exited 1"
    assert [s["label"] for s in run["segments"]] == ["Initialize", "DiskAllocation", "ImageConversion"]


def test_a_vm_in_a_plan_but_not_in_the_assessment_gets_a_row_of_its_own():
    runs = copy.deepcopy(RUNS)
    runs[1]["migration"]["status"]["vms"].append({"id": "vm-999", "name": "stray", "phase": "Started"})
    rep = report.build(ASSESSMENT, WAVES, runs, "t")
    assert vm(rep, "stray")["status"] == report.NOT_ASSESSED and vm(rep, "stray")["run"]["phase"] == "Started"


def test_the_page_escapes_every_text_and_is_the_same_bytes_twice():
    page = report_html.render(built())
    assert page == report_html.render(built()) and report.to_json(built()) == report.to_json(built())
    for raw in ("<1>", "<inspection>", "<move>", "& will", "& exited"):
        assert raw not in page
    assert "App_Server &lt;1&gt;" in page and "virt-v2v: &lt;inspection&gt; failed &amp; exited 1" in page
    assert not re.search(r"<script|https?://(?!www\.w3\.org/2000/svg)|@import|url\(", page)


def load(tmp_path, page):
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    return report_browser.load(path, tmp_path / "profile")


def test_the_page_loads_in_chromium_without_console_errors_and_has_one_timeline_row_per_vm(tmp_path):
    rep = built()
    done = load(tmp_path, report_html.render(rep))
    assert report_browser.console_messages(done.stderr) == []
    assert report_browser.rows(done.stdout) == [v["name"] for v in rep["vms"]] and len(rep["vms"]) == 5
    assert done.stdout.count('class="seg precopy"') == 3 and done.stdout.count('class="seg downtime"') == 3
    shot = tmp_path / "shot.png"
    report_browser.screenshot(tmp_path / "report.html", shot, tmp_path / "profile")
    if os.environ.get("REPORT_SCREENSHOT"):  # to look at it: REPORT_SCREENSHOT=/tmp/x.png
        shutil.copy(str(shot), os.environ["REPORT_SCREENSHOT"])


def test_the_console_check_sees_an_error_when_the_page_has_one(tmp_path):
    """The check above can fail: a fetch the page's Content-Security-Policy refuses is a console error."""
    page = report_html.render(built()).replace("</body>", '<img src="http://127.0.0.1:9/x.png"></body>')
    messages = report_browser.console_messages(load(tmp_path, page).stderr)
    assert any("Content Security Policy" in line for line in messages), messages


def run_module(make_module, check_mode=False, diff=False, **params):
    module = make_module(migration_report.ARGUMENT_SPEC, module_options={"wait": False, "required_one_of": [
        ("json_path", "html_path")]}, check_mode=check_mode, diff=diff, **params)
    with pytest.raises(ModuleExit) as exited:
        module.run(migration_report.run)
    return exited.value


def test_the_module_reads_the_plans_writes_both_files_once_and_check_mode_writes_nothing(make_module, tmp_path,
                                                                                         apiserver):
    paths = {"json_path": str(tmp_path / "r.json"), "html_path": str(tmp_path / "r.html")}
    params = dict(paths, assessment=ASSESSMENT, waves=WAVES,
                  plans=["wave-1", "wave-2", "wave-3"])
    check = run_module(make_module, check_mode=True, **params)
    assert not check.failed and check.result["changed"], check.result
    assert not os.path.exists(paths["json_path"]) and not os.path.exists(paths["html_path"])
    first = run_module(make_module, diff=True, **params)
    assert first.result["changed"] and first.result["files"] == {paths["html_path"]: True, paths["json_path"]: True}
    on_disk = json.load(open(paths["json_path"]))
    assert on_disk == json.loads(json.dumps(first.result["report"]))
    assert [p["found"] for p in on_disk["plans"]] == [True, True, False]
    assert vm(on_disk, "db01")["run"]["migration"] == "wave-2-1"
    assert open(paths["html_path"]).read().count('class="timeline-row"') == 5
    assert first.result["diff"][0]["after"] == open(paths["json_path"]).read()
    assert not [c for c in apiserver.calls() if c[0] != "GET"]  # it only reads
    again = run_module(make_module, **params)
    assert not again.result["changed"] and again.result["changes"] == [], again.result


def test_a_missing_directory_is_refused_before_any_file_is_written(make_module, tmp_path):
    json_path = str(tmp_path / "r.json")
    done = run_module(make_module, json_path=json_path, html_path=str(tmp_path / "nope" / "r.html"))
    assert done.failed and "does not exist: create it first" in done.result["msg"]
    assert not os.path.exists(json_path)


def test_an_assessment_that_does_not_follow_the_schema_is_refused(make_module, tmp_path, capsys):
    bad = copy.deepcopy(ASSESSMENT)
    bad["vms"][0]["cpu"] = "many"
    with pytest.raises(SystemExit):  # the argument spec refuses it while the module starts
        run_module(make_module, assessment=bad, json_path=str(tmp_path / "r.json"))
    answer = json.loads(capsys.readouterr().out)
    assert answer["failed"] and "argument 'cpu' is of type str found in 'assessment -> vms'" in answer["msg"]
    assert not os.path.exists(str(tmp_path / "r.json"))

"""Controlling MTV migrations with mtv_migration against the lab: cancel a VM, archive, remove plan and provider,
the playbook killed while it waits, a wait that times out, migrations (migrate.yml) and an assessment with its wave
(assess.yml) through the fault proxy (fault_runs.py; one migration run with every kind at once in `make test`; the
assessment's run with every kind and FAULT_RUNS of each kind alone in `make reliability`); checked in the cluster,
in vcsim and in the report.

The fixtures (MTV installed, a namespace with its vSphere provider) are test_mtv.py's, imported here.
"""

import datetime
import json
import os
import random
import signal
import time

import pytest

from lab import fault_proxy

from conftest import REPO, kill_after, kill_series, start_playbook
from fault_runs import RUNS, Tally, alone, every_kind, printed_at_the_end, series, through_proxy
from test_mtv import MTV_NAMESPACE, condition, get, inventory_args, migrations_of, mtv, play, results_of, source, \
    vcenter
from own_lab import own_lab

# A lab of its own: migrations power vCenter's source VMs off and change them, and what the shared lab's earlier
# files leave made the warm migration fail there.
lab, api_client, core_v1, custom_objects, dynamic_client, ansible, audit = own_lab("mtv-control")

FIXTURES = (mtv, source, vcenter)  # test_mtv.py's, instantiated again for this module
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
TALLY = Tally()
table = printed_at_the_end(TALLY)


@pytest.fixture(scope="module")
def vsphere_service(lab):
    from lab.controllers.forklift import vsphere
    service = vsphere.connect(lab.vars["vcsim_url"], lab.vars["vcsim_username"], lab.vars["vcsim_password"],
                              cafile=lab.vars["ca_cert"])
    yield service
    vsphere.disconnect(service)


def power_state(service, name):
    from lab.tests.mtv.mtv_helpers import power_state as state
    return state(service, name)


def later(seconds):
    return (datetime.datetime.utcnow() + datetime.timedelta(seconds=seconds)).strftime(TIME_FORMAT)


def plan_task(lab, source, plan, vms, type_="warm", target=None):
    ns = source["namespace"]
    return ("mtv_plan", dict(name=plan, namespace=ns, source_provider="vcenter", target_namespace=target or ns,
                             type=type_, vms=[{"name": vm} for vm in vms], **inventory_args(lab, source)), False)


def run_task(source, plan, ignore=False, **args):
    return ("mtv_migration", dict({"plan": plan, "namespace": source["namespace"], "wait_timeout": 300,
                                   "progress_interval": 3}, **args), ignore)


def test_canceling_one_vm_of_a_running_migration(ansible, lab, vcenter, source, custom_objects, vsphere_service):
    """The canceled VM ends Canceled and its source keeps running; the other VM is cut over and succeeds.

    Upstream: pkg/controller/plan/migration.go `Cancel` (canceled VMs cleaned up, powered on again only when
    they had been on) at kubev2v/forklift v2.12.5."""
    ns = source["namespace"]
    assert power_state(vsphere_service, "rhel9-web") == "On"
    first = ansible(play(plan_task(lab, source, "pair", ["rhel9-postgres", "rhel9-web"]), run_task(source, "pair")))
    assert first.rc == 0, first.output[-3000:]
    assert {vm["name"]: vm["outcome"] for vm in results_of(first)[1]["vms"]} == {"rhel9-postgres": None,
                                                                                 "rhel9-web": None}
    second = ansible(play(run_task(source, "pair", cancel=["rhel9-web"], cutover="now")))
    assert second.rc == 0, second.output[-3000:]
    result = results_of(second)[0]
    assert {vm["name"]: vm["outcome"] for vm in result["vms"]} == {"rhel9-postgres": "Succeeded",
                                                                   "rhel9-web": "Canceled"}, result["vms"]
    migration = get(custom_objects, "migrations", "pair-1", ns)
    assert [ref["name"] for ref in migration["spec"]["cancel"]] == ["rhel9-web"]
    vms = {vm["name"]: vm for vm in migration["status"]["vms"]}
    assert [c["status"] for c in vms["rhel9-web"]["conditions"] if c["type"] == "Canceled"] == ["True"]
    assert power_state(vsphere_service, "rhel9-web") == "On"
    again = ansible(play(run_task(source, "pair", cancel=["rhel9-web"], cutover="now")))
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]
    assert [m["metadata"]["name"] for m in migrations_of(custom_objects, ns, "pair")] == ["pair-1"]


def test_archiving_the_plan_once_its_migration_ended(ansible, vcenter, source, custom_objects):
    """Plan.spec.archived set, the plan Archived; a rerun changes nothing.

    Upstream: pkg/controller/plan/controller.go `Reconcile` (an archived plan is archived once, then left alone)
    at kubev2v/forklift v2.12.5."""
    ns = source["namespace"]
    run = ansible(play(run_task(source, "pair", archive=True)))
    assert run.rc == 0, run.output[-3000:]
    assert results_of(run)[0]["archived"] is True
    plan = get(custom_objects, "plans", "pair", ns)
    assert plan["spec"]["archived"] is True and condition(plan, "Archived")["status"] == "True"
    again = ansible(play(run_task(source, "pair", archive=True)))
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]
    assert [m["metadata"]["name"] for m in migrations_of(custom_objects, ns, "pair")] == ["pair-1"]


def test_archiving_a_running_migration_is_refused_and_it_keeps_running(
        ansible, lab, vcenter, source, custom_objects):
    ns = source["namespace"]
    run = ansible(play(plan_task(lab, source, "busy", ["win2022-files"]),
                       run_task(source, "busy", archive=True, ignore=True)))
    result = results_of(run)[1]
    assert result["failed"] and "still running" in result["msg"], result
    assert not get(custom_objects, "plans", "busy", ns)["spec"].get("archived")
    migration = get(custom_objects, "migrations", "busy-1", ns)
    assert condition(migration, "Succeeded") is None and condition(migration, "Running")["status"] == "True"


def test_a_timeout_leaves_the_migration_running_and_a_rerun_picks_it_up(
        ansible, lab, vcenter, source, custom_objects):
    """The wait ends with a message saying the migration keeps running; the rerun follows the same Migration to
    its end. (No progress_interval: one wait of wait_timeout seconds.)"""
    ns = source["namespace"]
    cutover = later(60)
    first = ansible(play(plan_task(lab, source, "slow", ["Legacy_App01"]),
                         ("mtv_migration", {"plan": "slow", "namespace": ns, "cutover": cutover, "wait_timeout": 8},
                          True)))
    result = results_of(first)[1]
    assert result["failed"] and "keeps running" in result["msg"] and "slow-1" in result["msg"], result
    migration = get(custom_objects, "migrations", "slow-1", ns)
    assert migration["spec"]["cutover"] == cutover and condition(migration, "Succeeded") is None
    rerun = ansible(play(run_task(source, "slow", cutover=cutover)))
    assert rerun.rc == 0, rerun.output[-3000:]
    assert results_of(rerun)[0]["migration"]["outcome"] == "Succeeded"
    assert results_of(rerun)[0]["migration"]["name"] == "slow-1"
    assert [m["metadata"]["name"] for m in migrations_of(custom_objects, ns, "slow")] == ["slow-1"]
    assert get(custom_objects, "migrations", "slow-1", ns)["metadata"]["uid"] == migration["metadata"]["uid"]


def test_the_playbook_killed_while_waiting_and_run_again_finishes_the_same_migration(
        ansible, lab, vcenter, source, custom_objects, tmp_path):
    """SIGKILL while mtv_migration waits for a warm cutover; the Migration keeps running in the cluster; the same
    playbook run again follows it to Succeeded, and the plan has one Migration (the same object).

    Upstream: pkg/controller/migration/controller.go (a Migration runs on in the cluster, whoever started it)
    at kubev2v/forklift v2.12.5."""
    ns = source["namespace"]
    text = play(plan_task(lab, source, "killed", ["rhel9-app"]), run_task(source, "killed", cutover=later(75)))
    process, log = start_playbook(lab, text, tmp_path)
    deadline = time.monotonic() + 240
    try:
        while "mtv_migration: " not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
            time.sleep(1)
        assert process.poll() is None, "the playbook ended before the wait:\n" + log.read_text()[-3000:]
        assert "mtv_migration: " in log.read_text(), "no progress line while waiting:\n" + log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    migration = get(custom_objects, "migrations", "killed-1", ns)
    assert migration is not None and condition(migration, "Succeeded") is None, migration
    again = ansible(text)
    assert again.rc == 0, again.output[-3000:]
    assert results_of(again)[1]["migration"]["outcome"] == "Succeeded"
    assert results_of(again)[1]["changes"] == []  # the plan and its Migration were there, with the same cutover
    migrations = migrations_of(custom_objects, ns, "killed")
    assert [(m["metadata"]["name"], m["metadata"]["uid"]) for m in migrations] == [
        ("killed-1", migration["metadata"]["uid"])]
    assert condition(get(custom_objects, "plans", "killed", ns), "Succeeded")["status"] == "True"


def test_a_cutover_window_sets_the_next_start_and_a_rerun_keeps_it(ansible, lab, vcenter, source, custom_objects,
                                                                   core_v1):
    """The window's next start written to spec.cutover in UTC; a rerun changes nothing; a changed window moves it.
    (A target namespace of its own: rhel9-postgres may have been migrated into the source's namespace already.)"""
    ns = source["namespace"]
    core_v1.create_namespace({"metadata": {"name": ns + "-window"}})
    window = {"start": "03:30", "weekdays": ["sun"], "timezone": "Asia/Kolkata"}  # Sunday 03:30 is Saturday 22:00 UTC
    first = ansible(play(plan_task(lab, source, "windowed", ["rhel9-postgres"], target=ns + "-window"),
                         run_task(source, "windowed", cutover_window=window, wait=False)))
    assert first.rc == 0, first.output[-3000:]
    cutover = get(custom_objects, "migrations", "windowed-1", ns)["spec"]["cutover"]
    when = datetime.datetime.strptime(cutover, TIME_FORMAT)
    assert (when.weekday(), when.hour, when.minute) == (5, 22, 0), cutover
    assert datetime.timedelta(0) < when - datetime.datetime.utcnow() <= datetime.timedelta(days=7)
    again = ansible(play(run_task(source, "windowed", cutover_window=window, wait=False)))
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]
    moved = ansible(play(run_task(source, "windowed", cutover_window=dict(window, start="04:30"), wait=False)))
    assert moved.rc == 0 and moved.changed == 1, moved.output[-3000:]
    assert get(custom_objects, "migrations", "windowed-1", ns)["spec"]["cutover"] == (
        when + datetime.timedelta(hours=1)).strftime(TIME_FORMAT)
    assert [m["metadata"]["name"] for m in migrations_of(custom_objects, ns, "windowed")] == ["windowed-1"]


KILL_RUNS = int(os.environ.get("KILL_RUNS", "5"))
MIGRATE = "playbooks/migrate.yml"


def cold_migration(lab, source, core_v1, plan):
    """mtv_plan and mtv_migration of rhel9-app, cold, into a namespace of the plan's own (made here): (the playbook,
    its extra vars)."""
    core_v1.create_namespace({"metadata": {"name": plan}})
    return play(plan_task(lab, source, plan, ["rhel9-app"], type_="cold", target=plan),
                run_task(source, plan, wait_timeout=600)), None


def cold_migration_by_the_role(lab, source, core_v1, plan):
    """migrate.yml (MTV, the provider, a cold plan of rhel9-app into a namespace of the plan's own made here, its
    migration, the verification): (the playbook, its extra vars)."""
    core_v1.create_namespace({"metadata": {"name": plan}})
    return "- import_playbook: {0}\n".format(REPO / MIGRATE), role_vars(lab, source, [], plans=cold_plan(plan))


def cold_plan(name):
    """migration_plans: one cold plan called ``name`` of rhel9-app into the namespace of the same name."""
    return [{"name": name, "target_namespace": name, "type": "cold", "vms": [{"name": "rhel9-app"}]}]


def not_migrated_once(custom_objects, source, plan, what, target=None):
    """[] when the plan has one Migration, Succeeded, and its target namespace (default: the plan's name) the VM;
    else what they hold."""
    migrations = migrations_of(custom_objects, source["namespace"], plan)
    phases = [(m["metadata"]["name"], (condition(m, "Succeeded") or {}).get("status")) for m in migrations]
    target = target or plan
    vms = [v["metadata"]["name"] for v in
           custom_objects.list_namespaced_custom_object("kubevirt.io", "v1", target, "virtualmachines")["items"]]
    if phases == [(plan + "-1", "True")] and vms == ["rhel9-app"]:
        return []
    return ["{0}: migrations {1}, VMs in {2}: {3}".format(what, phases, target, vms)]


@pytest.mark.reliability
@pytest.mark.parametrize("label, prefix, migration", [("mtv_plan + mtv_migration", "rk", cold_migration),
                                                      ("migrate.yml", "mk", cold_migration_by_the_role)],
                         ids=["modules", "migrate.yml"])
def test_a_migration_killed_at_a_random_point_and_run_again_migrates_the_vm_once(
        label, prefix, migration, ansible, lab, vcenter, source, custom_objects, core_v1, tmp_path):
    """A cold migration (``migration``: our modules in a play, or the migration role's playbook) into a namespace of
    each run's own, killed at a seeded random point within an uninterrupted run's duration, then run again: the plan
    has one Migration, Succeeded, and the VM is there."""
    started = time.monotonic()
    reference = ansible(*migration(lab, source, core_v1, prefix + "-ref"))
    seconds = time.monotonic() - started
    assert reference.rc == 0, reference.output[-3000:]
    problems = not_migrated_once(custom_objects, source, prefix + "-ref", "the uninterrupted run")

    def plan(run):
        return "{0}-{1}".format(prefix, run)

    def killed_and_rerun(run):
        at, (playbook, extra_vars) = random.Random(run).uniform(0.5, seconds), migration(lab, source, core_v1,
                                                                                         plan(run))
        killed = kill_after(lab, playbook, tmp_path, at, extra_vars=extra_vars)
        return plan(run), at, killed, ansible(playbook, extra_vars=extra_vars)

    problems += kill_series(label + " killed", KILL_RUNS, killed_and_rerun,
                            lambda run, what: not_migrated_once(custom_objects, source, plan(run), what))
    assert not problems, "\n".join(problems)


def into_own_namespace(ansible, lab, core_v1, rates, tmp_path, playbook, name, run, extra_vars):
    """``playbook`` through the fault proxy (seeded by ``run``), into a namespace called ``name`` made here."""
    core_v1.create_namespace({"metadata": {"name": name}})
    return through_proxy(lab, rates, run, tmp_path / "kubeconfig-{0}".format(name), lambda kubeconfig: ansible(
        playbook, extra_vars=dict(extra_vars, k8s_kubeconfig=str(kubeconfig))))


def faulted_migrations(kind, rates, runs, ansible, lab, source, custom_objects, core_v1, tmp_path):
    """``runs`` runs of migrate.yml (MTV with a setting other than the last run's, so that it updates an object that
    exists and may meet a 409; the provider; a cold plan of the run's own and its migration; verification) through
    the fault proxy, each followed by the same run without faults: the plan must then hold one Migration,
    Succeeded, its namespace the VM (none lost, none twice), and MTV the run's setting; a faulted run that said ok
    must have migrated it already, and none may crash."""
    def extra_vars(plan, run):
        return role_vars(lab, source, [], max_vms_in_flight=in_flight(run), plans=cold_plan(plan))

    def faulted(plan, run):
        return into_own_namespace(ansible, lab, core_v1, rates, tmp_path, MIGRATE, plan, run, extra_vars(plan, run))

    def held_wrongly(plan, run, rerun):
        if rerun.rc != 0:
            return []
        found = not_migrated_once(custom_objects, source, plan, plan + " after the rerun")
        held = get(custom_objects, "forkliftcontrollers", "forklift-controller", MTV_NAMESPACE)["spec"]
        if held.get("controller_max_vm_inflight") != in_flight(run):
            found.append("{0}: controller_max_vm_inflight {1}, the run set {2}".format(
                plan, held.get("controller_max_vm_inflight"), in_flight(run)))
        return found

    series(TALLY, "migration, " + kind, "fm", runs, faulted,
           lambda plan, run: ansible(MIGRATE, extra_vars=extra_vars(plan, run)), held_wrongly,
           said_ok=lambda plan: not_migrated_once(custom_objects, source, plan, plan + " (the faulted run said ok)"))


def in_flight(run):
    """The run's controller_max_vm_inflight: other than the previous run's and the mtv fixture's."""
    return 5 + run % 2


def test_a_migration_through_every_kind_of_fault_run_again_migrates_the_vm_once(
        ansible, lab, vcenter, source, custom_objects, core_v1, tmp_path):
    faulted_migrations("all kinds", every_kind(), 1, ansible, lab, source, custom_objects, core_v1, tmp_path)


@pytest.mark.reliability
@pytest.mark.parametrize("kind", fault_proxy.KINDS)
def test_migrations_through_each_kind_of_fault_run_again_migrate_each_vm_once(
        kind, ansible, lab, vcenter, source, custom_objects, core_v1, tmp_path):
    faulted_migrations(kind, alone(kind), RUNS, ansible, lab, source, custom_objects, core_v1, tmp_path)


ASSESS = "playbooks/assess.yml"


def faulted_assessments(kind, rates, runs, ansible, lab, source, custom_objects, core_v1, tmp_path):
    """``runs`` runs of assess.yml (rhel9-app assessed, its one wave migrated cold into a namespace of the run's own,
    the report written) through the fault proxy, each followed by the same run without faults: the wave's plan must
    then hold one Migration, Succeeded, the namespace the VM (none lost, none twice), and the report the plan
    Succeeded; a faulted run that said ok must have migrated it already, and none may crash."""
    def extra_vars(name):
        # without migration_plans: extra vars would outrank each wave's plan
        main = {k: v for k, v in role_vars(lab, source, []).items() if k != "migration_plans"}
        return dict(main, migration_install_mtv=False, migration_waves_run=True,
                    migration_assess_vcenter=lab.vcenter(),
                    migration_assess_select={"names": ["rhel9-app"]},
                    migration_assess_target={"namespace": name, "storage_class": "ontap-san-iscsi"},
                    migration_waves={"prefix": name, "max_vms": 10}, migration_report_dir=str(tmp_path / name))

    def faulted(name, run):
        return into_own_namespace(ansible, lab, core_v1, rates, tmp_path, ASSESS, name, run, extra_vars(name))

    def wave_not_migrated_once(name, what):
        return not_migrated_once(custom_objects, source, name + "-wave-1", what, target=name)

    def held_wrongly(name, run, rerun):
        if rerun.rc != 0:
            return []
        found = wave_not_migrated_once(name, name + " after the rerun")
        report = json.loads((tmp_path / name / "migration-report.json").read_text())
        plans = [(p["name"], p["found"], p["outcome"]) for p in report["plans"]]
        if plans != [(name + "-wave-1", True, "Succeeded")]:
            found.append("{0}: the report's plans {1}".format(name, plans))
        return found

    series(TALLY, "assessment, " + kind, "fa", runs, faulted,
           lambda name, run: ansible(ASSESS, extra_vars=extra_vars(name)), held_wrongly,
           said_ok=lambda name: wave_not_migrated_once(name, name + " (the faulted run said ok)"))


@pytest.mark.reliability  # `make test`'s short version is the migration run above: assess.yml adds the wave and report
def test_an_assessment_with_its_wave_through_every_kind_of_fault_run_again_migrates_the_vm_once(
        ansible, lab, vcenter, source, custom_objects, core_v1, tmp_path):
    faulted_assessments("all kinds", every_kind(), 1, ansible, lab, source, custom_objects, core_v1, tmp_path)


@pytest.mark.reliability
@pytest.mark.parametrize("kind", fault_proxy.KINDS)
def test_assessments_with_their_wave_through_each_kind_of_fault_run_again_migrate_each_vm_once(
        kind, ansible, lab, vcenter, source, custom_objects, core_v1, tmp_path):
    faulted_assessments(kind, alone(kind), RUNS, ansible, lab, source, custom_objects, core_v1, tmp_path)


def role_vars(lab, source, app_checks, plans=None, max_vms_in_flight=4):
    """migrate.yml's variables: MTV set as the ``mtv`` fixture set it (unless told otherwise), the provider,
    ``plans`` (default: usb)."""
    ns = source["namespace"]
    return {"migration_max_vms_in_flight": max_vms_in_flight, "migration_precopy_interval": 1,
            "migration_features": {"copy_offload": True},
            "migration_provider": lab.mtv_provider(ns),
            "migration_inventory_url": lab.vars["forklift_inventory_url"],
            "migration_inventory_token": source["token"], "migration_inventory_ca_cert": lab.vars["ca_cert"],
            "migration_plans": plans or [{"name": "usb", "target_namespace": ns, "vms": [{"name": "usb-controller"}]}],
            "migration_app_checks": app_checks, "migration_wait_timeout": 300, "migration_progress_interval": 5}


def test_the_role_verifies_the_vms_and_runs_the_application_check(ansible, lab, vcenter, source, custom_objects):
    """verify.yml: the VM Running, its claims Block RWX on the mapped class, its VMI LiveMigratable; the
    application check run on the host it names (localhost here: the lab's VMs have no guest OS) passes when the
    output is the expected one and fails naming expected and got; a check naming no plan is refused first.

    Upstream: kubevirt pkg/virt-handler/vm.go (the VMI's LiveMigratable condition) at v1.8.4; forklift
    pkg/controller/plan/kubevirt.go `determineRunStrategy` (the VM runs when its source ran) at v2.12.5."""
    ns = source["namespace"]
    check = {"plan": "usb", "name": "answer", "host": "localhost", "command": "echo 42", "expect": "42"}
    first = ansible("playbooks/migrate.yml", extra_vars=role_vars(lab, source, [check]))
    assert first.rc == 0, first.output[-3000:]
    assert "Check that every VM that should run is Running and LiveMigratable, plan usb" in first.output
    assert "Application check answer: got '42' as expected." in first.output
    vmi = custom_objects.get_namespaced_custom_object("kubevirt.io", "v1", ns, "virtualmachineinstances",
                                                      "usb-controller")
    assert vmi["status"]["phase"] == "Running" and condition(vmi, "LiveMigratable")["status"] == "True"
    wrong = ansible("playbooks/migrate.yml", extra_vars=role_vars(lab, source, [dict(check, expect="43")]))
    assert wrong.rc != 0
    assert "Application check answer of plan usb on localhost: expected '43', got '42'" in wrong.output, \
        wrong.output[-3000:]
    assert wrong.changed == 0
    unknown = ansible("playbooks/migrate.yml", extra_vars=role_vars(lab, source, [dict(check, plan="nope")]))
    assert unknown.rc != 0 and "migration_app_checks names plans that migration_plans does not have: nope" in \
        unknown.output, unknown.output[-3000:]
    assert [m["metadata"]["name"] for m in migrations_of(custom_objects, ns, "usb")] == ["usb-1"]


def gone(read, timeout=90):
    deadline = time.monotonic() + timeout
    while read() is not None and time.monotonic() < deadline:
        time.sleep(1)
    return read() is None


def test_state_absent_removes_the_plan_and_the_provider(ansible, lab, vcenter, source, custom_objects, core_v1):
    """The plan and its maps, the provider and the Secret mtv_provider made for it are deleted; a rerun changes
    nothing."""
    ns = source["namespace"]
    assert get(custom_objects, "plans", "windowed", ns) is not None  # test_a_cutover_window_... made it
    run = ansible(play(("mtv_plan", {"name": "windowed", "namespace": ns, "state": "absent"}, False),
                       ("mtv_provider", {"name": "vcenter", "namespace": ns, "state": "absent"}, False)))
    assert run.rc == 0, run.output[-3000:]
    assert gone(lambda: get(custom_objects, "plans", "windowed", ns))
    assert get(custom_objects, "networkmaps", "windowed-network", ns) is None
    assert get(custom_objects, "storagemaps", "windowed-storage", ns) is None
    assert gone(lambda: get(custom_objects, "providers", "vcenter", ns))
    assert "vcenter-credentials" not in [s.metadata.name for s in core_v1.list_namespaced_secret(ns).items]
    again = ansible(play(("mtv_plan", {"name": "windowed", "namespace": ns, "state": "absent"}, False),
                         ("mtv_provider", {"name": "vcenter", "namespace": ns, "state": "absent"}, False)))
    assert again.rc == 0 and again.changed == 0, again.output[-3000:]

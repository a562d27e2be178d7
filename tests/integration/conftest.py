"""The collection's own tests: run its playbooks and modules against the lab, and read what they did.

The lab session, API clients and namespaces come from lab.fixtures, shared with the lab's own
tests (tests/lab/tests).

`ansible(...)` runs ansible-playbook with the lab's example inventory (inventories/lab) and
returns its output and PLAY RECAP counts; `audit.writes_since(mark)` lists the writes the
automation's user made, read from the API server's audit log, the witness of --check.
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, home of `lab`

import reliability_results  # noqa: E402
from lab.fixtures import (api_client, api_warnings, core_v1, custom_objects, dynamic_client, lab,  # noqa: E402,F401
                          namespace, user_client)

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
COLLECTIONS = REPO / "build" / "collections"
SITE_PACKAGES = Path(next(p for p in sys.path if p.endswith("site-packages")))
RECAP = re.compile(r"^\S+\s*: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.MULTILINE)
# Files whose place in the session matters, whatever their names: the examples create and delete backends and
# classes with site.yml's names, and the installation tests need OpenShift Virtualization not installed yet, so
# they go (in this order) before any file that runs site.yml; the uninstall goes last.
RUN_FIRST = ("test_examples.py", "test_bad_input.py", "test_installation.py")
RUN_LAST = ("test_zz_uninstall.py",)
WRITE_VERBS = {"create", "update", "patch", "delete", "deletecollection"}
AUTOMATION_USER = "admin"


@dataclass
class Run:
    rc: int
    output: str
    ok: int = 0
    changed: int = 0
    failed: int = 0

    def __post_init__(self):
        recap = RECAP.search(self.output)
        if recap:
            self.ok, self.changed, _unreachable, self.failed = (int(n) for n in recap.groups())


def _link_collection():
    link = COLLECTIONS / "ansible_collections" / "ontap" / "virtualization"
    if not link.is_symlink():
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(REPO)


def start_playbook(lab, playbook, workdir, extra_vars=None):
    """ansible-playbook started in a session of its own (so SIGKILL reaches its workers), output to a file.
    ``playbook``: the text of a playbook, or the path of one."""
    _link_collection()
    log, options = workdir / "killed.log", []
    if isinstance(playbook, str):
        path = workdir / "killed.yml"
        path.write_text(playbook)
    else:
        path = playbook
    if extra_vars:
        (workdir / "extra-vars.json").write_text(json.dumps(extra_vars))
        options = ["-e", "@" + str(workdir / "extra-vars.json")]
    env = dict(os.environ, LAB_STATE_DIR=str(lab.state_dir), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH="{0}:{1}".format(COLLECTIONS, SITE_PACKAGES), PYTHONUNBUFFERED="1")
    with open(log, "w") as out:
        process = subprocess.Popen([str(VENV_BIN / "ansible-playbook"), "-i", str(REPO / "inventories" / "lab"),
                                    str(path)] + options, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    return process, log


def kill_after(lab, playbook, workdir, seconds, extra_vars=None):
    """Start ``playbook`` (as start_playbook does), SIGKILL its process group ``seconds`` later; True when it was
    still running then, False when it had ended."""
    process, _log = start_playbook(lab, playbook, workdir, extra_vars=extra_vars)
    time.sleep(seconds)
    killed = process.poll() is None
    if killed:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    return killed


def kill_series(series, runs, killed_and_rerun, held_wrongly, after=lambda run: None):
    """``runs`` runs of a playbook killed at a seeded random point, each run again, and the series' row in the
    reliability table; returns the problems found (none when right).

    ``killed_and_rerun(run)`` gives (what the run is called, the second it was killed at, whether it was still
    running then, the rerun); ``held_wrongly(run, what)`` what the cluster holds wrongly after a rerun that passed
    (lines); ``after(run)`` puts things back for the next run, whatever happened."""
    kills = reruns_failed = wrong = 0
    problems = []
    for run in range(runs):
        try:
            name, at, killed, again = killed_and_rerun(run)
            kills += killed
            what = "{0}, killed at {1:.1f} s{2}".format(name, at, "" if killed else " (it had ended)")
            if again.rc != 0:
                reruns_failed += 1
                problems.append("{0}: the rerun failed: {1}".format(what, again.output[-2500:]))
            else:
                found = held_wrongly(run, what)
                wrong, problems = wrong + bool(found), problems + found
        finally:
            after(run)
    reliability_results.record(series, runs, kills, reruns_failed=reruns_failed, wrong=wrong)
    return problems


@pytest.fixture(scope="session")
def ansible(lab, tmp_path_factory):
    """ansible(playbook, extra_vars=None, check=False, diff=False, tags=None) -> Run.

    ``playbook`` is a path relative to the repository or the YAML text of a playbook.
    """
    return ansible_runner(lab, tmp_path_factory.mktemp("playbooks"))


def ansible_runner(lab, workdir):
    """The ``ansible`` fixture's runner for any lab (a test file that starts a lab of its own uses it too)."""
    _link_collection()
    env = dict(os.environ, LAB_STATE_DIR=str(lab.state_dir), ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0",
               ANSIBLE_COLLECTIONS_PATH="{0}:{1}".format(COLLECTIONS, SITE_PACKAGES),
               ANSIBLE_HOST_KEY_CHECKING="0", ANSIBLE_RETRY_FILES_ENABLED="0")
    counter = iter(range(10 ** 6))

    def run(playbook, extra_vars=None, check=False, diff=False, tags=None, timeout=900, environ=None) -> Run:
        """``environ``: variables added to ansible-playbook's environment for this run."""
        if "\n" in playbook:
            path = workdir / "playbook-{0}.yml".format(next(counter))
            path.write_text(textwrap.dedent(playbook))
        else:
            path = REPO / playbook
        command = [str(VENV_BIN / "ansible-playbook"), "-i", str(REPO / "inventories" / "lab"), str(path)]
        if extra_vars:
            vars_file = workdir / "vars-{0}.json".format(next(counter))
            vars_file.write_text(json.dumps(extra_vars))
            command += ["-e", "@{0}".format(vars_file)]
        if check:
            command.append("--check")
        if diff:
            command.append("--diff")
        if tags:
            command += ["--tags", ",".join(tags)]
        done = subprocess.run(command, cwd=REPO, env=dict(env, **(environ or {})), capture_output=True, text=True,
                              timeout=timeout)
        return Run(done.returncode, done.stdout + done.stderr)

    return run


class Audit:
    def __init__(self, path: Path):
        self.path = path

    def mark(self) -> int:
        return self.path.stat().st_size

    def writes_since(self, mark: int, user: str = AUTOMATION_USER) -> list:
        """Writes by ``user`` since ``mark`` (dry runs are not writes)."""
        with open(self.path, "rb") as log:
            log.seek(mark)
            entries = [json.loads(line) for line in log if line.strip()]
        return [e for e in entries if e.get("verb") in WRITE_VERBS and e["user"]["username"] == user
                and "dryRun=All" not in e.get("requestURI", "") and e.get("stage") == "ResponseComplete"]


@pytest.fixture(scope="session")
def audit(lab):
    return Audit(Path(lab.audit_log))


@pytest.fixture(scope="session")
def ontap_vars(lab):
    return lab.vars["ontap"]


@pytest.fixture
def controllers_paused(lab):
    """controllers_paused() -> a context in which the lab's simulated controllers are stopped (SIGSTOP).

    The API server answers and kube-controller-manager runs; nothing simulated reconciles,
    and the lab's admission webhooks and the aggregated v1.subresources.kubevirt.io API (served by
    the same process) time out, so a namespace deletion cannot finish inside it. For tests of a
    wait that cannot end, on objects no webhook admits, without racing a fast controller.
    """
    import contextlib
    import signal

    from lab import cluster

    @contextlib.contextmanager
    def paused():
        state = cluster.Lab.load(Path(lab.state_dir))
        controllers = [proc for proc in state.processes if proc.name == "controllers" and proc.alive()]
        assert controllers, "the lab runs no controllers process"
        for proc in controllers:
            os.killpg(proc.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for proc in controllers:
                os.killpg(proc.pid, signal.SIGCONT)

    return paused


@pytest.fixture(scope="module")
def virtualization_stack(ansible, custom_objects, api_client):
    """Trident, the ONTAP classes and OpenShift Virtualization (Available), as playbooks/site.yml leaves them.

    site.yml runs only when something is missing: an earlier test file of the session may have run it already.
    """
    from kubernetes import client as kubernetes_client
    from kubernetes.client.exceptions import ApiException

    try:
        kubernetes_client.StorageV1Api(api_client).read_storage_class("ontap-san-iscsi")
        hco = custom_objects.get_namespaced_custom_object("hco.kubevirt.io", "v1beta1", "openshift-cnv",
                                                          "hyperconvergeds", "kubevirt-hyperconverged")
        ready = any(c["type"] == "Available" and c["status"] == "True" for c in hco.get("status", {}).get("conditions", []))
    except ApiException:
        ready = False
    if not ready:
        run = ansible("playbooks/site.yml")
        assert run.rc == 0, run.output[-3000:]


def pytest_collection_modifyitems(items):
    def place(item):
        name = item.path.name
        if name in RUN_FIRST:
            return RUN_FIRST.index(name)
        return len(RUN_FIRST) + 1 if name in RUN_LAST else len(RUN_FIRST)
    items.sort(key=place)  # stable: name order within each group


LOG_TAIL_LINES = 40
LOGS_ON_FAILURE = ("controllers.log", "vcsim.log")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test's report ends with the last lines of its lab's controller and vCenter logs: in CI the lab is
    gone by the time anyone reads the output."""
    outcome = yield
    report = outcome.get_result()
    lab_used = item.funcargs.get("lab") if hasattr(item, "funcargs") else None
    if not report.failed or lab_used is None:
        return
    for name in LOGS_ON_FAILURE:
        log = lab_used.path(name)
        if log.exists():
            lines = log.read_text(errors="replace").splitlines()[-LOG_TAIL_LINES:]
            report.sections.append(("lab " + name + " (last {0} lines)".format(len(lines)), "\n".join(lines)))


def pytest_runtest_logreport(report):
    """Each reliability test's outcome, for the one table of `make reliability` (reliability_results.py): its call,
    and a setup or teardown that did not pass."""
    if "reliability" in report.keywords and (report.when == "call" or not report.passed):
        reliability_results.record_outcome(report.nodeid, report.outcome, report.duration)

# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The migration report: the readiness assessment, the waves, and per VM its run through MTV as a timeline.

The timeline comes from what Forklift records (kubev2v/forklift v2.12.5, ``pkg/apis/forklift/v1beta1/plan``
VMStatus and Step, copied to ``Migration.status.vms``): every pipeline step has ``started`` / ``completed``, a
warm VM has ``warm.precopies[]`` with ``start`` / ``end``, the VM itself ``started`` / ``completed``, and the
Migration ``spec.cutover``. Only those times are used: the report of the same objects is the same report.

Downtime is counted from the source's power-off to the VM's completion on OpenShift: a cold VM is powered off in
its first step (``Initialize`` holds StorePowerState, PowerOffSource, WaitForPowerOff), a warm VM when its
``Cutover`` step starts; a source that was already off (``restorePowerState: Off``) has no downtime.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import tempfile

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, mtv_common, mtv_run, readiness
from ansible_collections.ontap.virtualization.plugins.module_utils.ensure import Outcome
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError

SCHEMA_VERSION = 1
# The assessment's statuses (readiness.py), as people read them: "ready_with_warnings" is "ready with warnings".
STATUSES = tuple(status.replace("_", " ") for status in (readiness.READY, readiness.WARNINGS, readiness.BLOCKED))
NOT_ASSESSED = "not assessed"
# Reason categories that stop a VM: Forklift's, as for a Plan's conditions.
BLOCKING_CATEGORIES = tuple(category.lower() for category in mtv_common.BLOCKER_CATEGORIES)
# Pipeline step (plan/migrator/base/migrator.go Step names) -> the kind of bar the timeline draws for it.
STEP_KINDS = {"Initialize": "initialize", "DiskAllocation": "transfer", "DiskTransfer": "transfer",
              "DiskTransferV2v": "transfer", "Cutover": "cutover", "ImageConversion": "conversion",
              "VirtualMachineCreation": "creation"}
SEGMENT_KINDS = ("initialize", "precopy", "transfer", "cutover", "conversion", "creation", "other", "downtime")
DOWNTIME_FROM = {"cold": "Initialize", "warm": "Cutover"}


def status_of(vm):
    """An assessment VM's status, spelled as STATUSES spells it (the summary's keys use underscores)."""
    return str(vm.get("status") or "").replace("_", " ").strip().lower()


def blockers_of(vm):
    """The reasons that stop a VM: those of a blocking category, or every reason of a blocked VM naming none."""
    reasons = vm.get("reasons") or []
    blocking = [r for r in reasons if str(r.get("category") or "").lower() in BLOCKING_CATEGORIES]
    if not blocking and status_of(vm) == "blocked":
        return list(reasons)
    return blocking


def read_runs(kube, names, namespace):
    """Per plan name: the Plan in ``namespace`` and its latest Migration, as the cluster holds them."""
    runs = []
    for name in names:
        plan = kube.get(mtv_common.ref(kube, "Plan", name, namespace))
        migrations = mtv_run.migrations_of(kube, plan) if plan is not None else []
        runs.append({"name": name, "namespace": namespace, "plan": plan,
                     "migration": migrations[-1] if migrations else None})
    return runs


def _seconds(start, end):
    first, last = mtv_run.parse_time(start), mtv_run.parse_time(end)
    if first is None or last is None:
        return None
    return int((last - first).total_seconds())


def _segment(kind, label, start, end):
    return {"kind": kind, "label": label, "start": start, "end": end, "seconds": _seconds(start, end)}


def _segments(vm, warm):
    segments = []
    precopies = (vm.get("warm") or {}).get("precopies") or []
    for step in vm.get("pipeline") or []:
        if not step.get("started"):
            continue
        name = step.get("name") or "?"
        if name == "DiskTransfer" and warm and precopies:
            segments.extend(_segment("precopy", "precopy {0}".format(number), p.get("start"), p.get("end"))
                            for number, p in enumerate(precopies, 1) if p.get("start"))
            continue
        segments.append(_segment(STEP_KINDS.get(name, "other"), name, step["started"], step.get("completed")))
    return segments


def _downtime(vm, warm):
    if vm.get("restorePowerState") == "Off":
        return None
    step = next((s for s in vm.get("pipeline") or [] if s.get("name") == DOWNTIME_FROM["warm" if warm else "cold"]),
                {})
    start = step.get("started") if warm else step.get("started") or vm.get("started")
    if not start:
        return None
    return _segment("downtime", "downtime", start, vm.get("completed"))


def vm_run(vm, run):
    """One VM's run: where it is, how it ended, its timeline segments, its downtime and its error."""
    plan, migration = run["plan"] or {}, run["migration"] or {}
    warm = fields.get(plan, "spec.type") == "warm" or bool(fields.get(plan, "spec.warm"))
    progress = mtv_run.vm_progress(vm)
    entry = {"plan": run["name"], "namespace": run["namespace"],
             "migration": fields.get(migration, "metadata.name"), "type": "warm" if warm else "cold",
             "new_name": progress["new_name"], "phase": progress["phase"], "step": progress["step"],
             "outcome": progress["outcome"], "transferred_mb": progress["transferred_mb"],
             "total_mb": progress["total_mb"], "precopies": progress["precopies"],
             "started": vm.get("started"), "completed": vm.get("completed"),
             "cutover": fields.get(migration, "spec.cutover"),
             "segments": _segments(vm, warm), "downtime": _downtime(vm, warm)}
    error = vm.get("error") or {}
    entry["error"] = "{0}: {1}".format(error.get("phase") or "?", "; ".join(error.get("reasons") or [])) if error \
        else None
    return entry


def _vm_statuses(run):
    """The VMs of a run: the Migration's copy of the plan's VM statuses, else the plan's own."""
    if run["migration"] is not None:
        return fields.get(run["migration"], "status.vms") or []
    return fields.get(run["plan"] or {}, "status.migration.vms") or []


def _plan_entry(run):
    plan, migration = run["plan"], run["migration"]
    entry = {"name": run["name"], "namespace": run["namespace"], "found": plan is not None,
             "migration": fields.get(migration or {}, "metadata.name"),
             "outcome": (mtv_run.final_outcome(migration) or "Running") if migration else None,
             "started": fields.get(migration or {}, "status.started"),
             "completed": fields.get(migration or {}, "status.completed")}
    entry["vms"] = [vm.get("name") or vm.get("id") for vm in _vm_statuses(run)]
    return entry


def _assessed_vm(vm, wave_of):
    entry = dict((key, vm.get(key)) for key in ("name", "id", "folder", "cluster", "host", "power_state",
                                                "target_name", "cpu", "memory_mib", "disk_gib"))
    entry.update(status=status_of(vm) or NOT_ASSESSED, wave=wave_of.get(vm.get("name")),
                 datastores=list(vm.get("datastores") or []), networks=list(vm.get("networks") or []),
                 reasons=[dict((k, r.get(k)) for k in ("rule", "category", "message", "fix"))
                          for r in vm.get("reasons") or []])
    entry["blockers"] = [r for r in entry["reasons"] if r in blockers_of(entry)]
    entry["run"] = None
    return entry


def _window(vms):
    times = [t for vm in vms if vm["run"] for seg in vm["run"]["segments"] + [vm["run"]["downtime"] or {}]
             for t in (seg.get("start"), seg.get("end")) if t]
    parsed = sorted((mtv_run.parse_time(t), t) for t in times if mtv_run.parse_time(t) is not None)
    return {"start": parsed[0][1], "end": parsed[-1][1]} if parsed else None


def build(assessment, waves, runs, title, generated_at=None):
    """The report (a dict that is also the JSON file) from the assessment, the waves and the runs read."""
    wave_of = {}
    for wave in waves:
        for name in wave.get("vms") or []:
            wave_of.setdefault(name, wave.get("name"))
    vms = [_assessed_vm(vm, wave_of) for vm in assessment.get("vms") or []]
    by_key = {}
    for vm in vms:
        for key in (vm["id"], vm["name"]):
            if key:
                by_key.setdefault(key, vm)
    for run in runs:
        for status in _vm_statuses(run):
            vm = by_key.get(status.get("id")) or by_key.get(status.get("name"))
            if vm is None:
                vm = _assessed_vm({"name": status.get("name"), "id": status.get("id")}, wave_of)
                vms.append(vm)
                by_key.update({status.get("id"): vm, status.get("name"): vm})
            vm["run"] = vm_run(status, run)
    outcomes = [vm["run"]["outcome"] or "Running" if vm["run"] else "not started" for vm in vms]
    return {"schema_version": SCHEMA_VERSION, "title": title, "generated_at": generated_at,
            "assessment": {"source": assessment.get("source"), "generated_at": assessment.get("generated_at"),
                           "summary": dict(assessment.get("summary") or {}),
                           "unanswered": list(assessment.get("unanswered") or [])},
            "waves": [dict((k, w.get(k)) for k in ("name", "index", "vms", "hosts", "disk_gib")) for w in waves],
            "plans": [_plan_entry(run) for run in runs],
            "migrated": dict((outcome, outcomes.count(outcome)) for outcome in sorted(set(outcomes))),
            "window": _window(vms), "vms": vms}


def to_json(report):
    """The JSON file's text: sorted keys, so the same report is the same bytes."""
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def check_paths(paths, check_mode=False):
    """Refuse, before writing anything, a path whose directory is missing or which is a directory.

    In check mode a missing directory is not refused: an earlier task of the same run may be the one to make it."""
    for path in paths:
        folder = os.path.dirname(os.path.abspath(path)) or "."
        if not os.path.isdir(folder) and not check_mode:
            raise ModuleError("The directory {0} for the report file {1} does not exist: create it first or give "
                              "another path.".format(folder, os.path.basename(path)))
        if os.path.isdir(path):
            raise ModuleError("{0} is a directory: give the path of the report file to write.".format(path))


def _read(path):
    try:
        with open(path, "rb") as handle:
            return handle.read().decode("utf-8", "replace")
    except (IOError, OSError):
        return None


def _mode_for(path):
    """An existing file keeps its mode; a new one gets what the umask allows of rw-rw-rw-."""
    if os.path.exists(path):
        return os.stat(path).st_mode & 0o7777
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def write_files(contents, changes):
    """Write each {path: text} whose file differs (nothing in check mode), each put in place in one step (a
    reader never sees half a file); record each in ``changes`` (a results.Changes). Returns the paths that differ."""
    differ = []
    for path in sorted(contents):
        before = _read(path)
        if before == contents[path]:
            continue
        differ.append(path)
        outcome = Outcome(True, "create" if before is None else "update", None,
                          diff={"before_header": path, "after_header": path, "before": before or "",
                                "after": contents[path]} if path.endswith(".json") else None)
        outcome.what = "report file " + path
        changes.record(outcome)
        if changes.check_mode:
            continue
        handle, temporary = tempfile.mkstemp(dir=os.path.dirname(os.path.abspath(path)), prefix=".report-")
        with os.fdopen(handle, "wb") as stream:
            stream.write(contents[path].encode("utf-8"))
        os.chmod(temporary, _mode_for(path))
        os.rename(temporary, os.path.abspath(path))
    return differ

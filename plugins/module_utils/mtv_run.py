# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Running an MTV Plan: its one Migration per run, the warm cutover, cancel, archive, and per-VM progress.

Facts from kubev2v/forklift v2.12.5 (``pkg/controller/migration``, ``pkg/controller/plan/migration.go``):
only one Migration per plan is active, and one whose status is Succeeded, Failed or Canceled is ignored;
``spec.cutover`` (RFC3339) is evaluated while a warm VM is in CopyingPaused, a time in the past meaning now;
``spec.cancel`` lists ``{id, name}`` refs of VMs to cancel; ``Plan.spec.archived`` archives the plan.
Per-VM status (``status.vms``): phase, pipeline steps with progress in MB, warm precopies.
(Live migration inside the cluster is module_utils/migration.py, not this.)
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

try:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
except ImportError:  # Python < 3.9: only UTC and fixed offsets
    ZoneInfo = ZoneInfoNotFoundError = None

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, mtv_common, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError, WorkFailed, describe

FINAL = ("Succeeded", "Failed", "Canceled")
RFC3339 = re.compile(r"^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.\d+)?(Z|[+-]\d{2}:\d{2})$")
TIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
LEFT_RUNNING = ("Migration {0} keeps running in the cluster: run the task again to follow the same migration "
                "(no second one is started).")


def utc_now():
    return datetime.datetime.utcnow().replace(microsecond=0)


def parse_time(text):
    """A naive UTC datetime from an RFC3339 time; None for a text that is not one."""
    match = RFC3339.match((text or "").strip())
    if not match:
        return None
    when = datetime.datetime(*[int(part) for part in match.groups()[:6]])
    zone = match.group(7)
    if zone != "Z":
        sign = 1 if zone[0] == "+" else -1
        when -= sign * datetime.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6]))
    return when


def cutover_time(asked, live_text, now):
    """The ``spec.cutover`` to write for ``asked`` ("now" or a time), keeping a live one that already satisfies it."""
    if asked is None:
        return live_text
    live = parse_time(live_text)
    if asked == "now":
        return live_text if live is not None and live <= now else now.strftime(TIME_FORMAT)
    when = parse_time(asked)
    if when is None:
        raise ModuleError("cutover must be 'now' or an RFC3339 time such as 2026-12-05T02:00:00Z, not '{0}'".format(
            asked))
    return live_text if live == when else when.strftime(TIME_FORMAT)


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
WINDOW_START = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")
OFFSET = re.compile(r"^(?:UTC)?([+-])(\d{2}):(\d{2})$")


def _zone(name):
    """A tzinfo for an IANA name (Europe/Paris), UTC, or a fixed offset such as +02:00."""
    if name in ("UTC", "Z", "Etc/UTC"):
        return datetime.timezone.utc
    match = OFFSET.match(name)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        return datetime.timezone(sign * datetime.timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))
    if ZoneInfo is None:
        raise ModuleError("cutover_window.timezone {0} needs Python 3.9 or later (zoneinfo) on the host that runs "
                          "the module; give UTC or an offset such as +02:00 instead.".format(name))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ModuleError("cutover_window.timezone must be an IANA time zone such as Europe/Paris, UTC, or an offset "
                          "such as +02:00, not '{0}'.".format(name))


class Window(object):
    """A weekly maintenance window's starts: ``start`` (HH:MM) on ``weekdays`` in ``timezone``."""

    def __init__(self, spec):
        match = WINDOW_START.match((spec.get("start") or "").strip())
        if not match:
            raise ModuleError("cutover_window.start must be a time of day HH:MM (24 hours) such as 02:00, not "
                              "'{0}'.".format(spec.get("start")))
        self.hour, self.minute = int(match.group(1)), int(match.group(2))
        self.days = set(WEEKDAYS.index(day) for day in spec.get("weekdays") or WEEKDAYS)
        self.zone = _zone(spec.get("timezone") or "UTC")

    def _utc(self, local):
        return local.astimezone(datetime.timezone.utc).replace(tzinfo=None)

    def next_start(self, now):
        """The first start at or after ``now`` (naive UTC), as naive UTC."""
        today = now.replace(tzinfo=datetime.timezone.utc).astimezone(self.zone).date()
        for ahead in range(8):
            day = today + datetime.timedelta(days=ahead)
            if day.weekday() not in self.days:
                continue
            when = self._utc(datetime.datetime(day.year, day.month, day.day, self.hour, self.minute,
                                               tzinfo=self.zone))
            if when >= now:
                return when
        raise ModuleError("cutover_window has no start in the coming week.")  # not reached: weekdays is not empty

    def is_start(self, when):
        """Whether ``when`` (naive UTC) is one of the window's starts."""
        local = when.replace(tzinfo=datetime.timezone.utc).astimezone(self.zone)
        return local.weekday() in self.days and (local.hour, local.minute, local.second) == (self.hour, self.minute, 0)


def window_cutover(spec, live_text, now):
    """The ``spec.cutover`` for a maintenance window: the live one when it is a start of the window no later than
    the next start (a rerun, even during the window, keeps it), else the next start."""
    window = Window(spec)
    live = parse_time(live_text)
    upcoming = window.next_start(now)
    if live is not None and live <= upcoming and window.is_start(live):
        return live_text
    return upcoming.strftime(TIME_FORMAT)


def asked_cutover(params, live_text, now):
    """The ``spec.cutover`` the parameters ask for (``cutover`` or ``cutover_window``), given the live one."""
    if params.get("cutover_window"):
        return window_cutover(params["cutover_window"], live_text, now)
    return cutover_time(params.get("cutover"), live_text, now)


def final_outcome(migration):
    for outcome in FINAL:
        if mtv_common.condition_true(migration, outcome):
            return outcome
    return None


def migrations_of(kube, plan):
    """The plan's Migrations, oldest first (by creation, then name, as the controller orders them)."""
    items, _version = kube.list(mtv_common.ref(kube, "Migration", None, plan["metadata"]["namespace"]))
    mine = [m for m in items if fields.get(m, "spec.plan.name") == plan["metadata"]["name"]
            and fields.get(m, "spec.plan.uid") in (None, "", plan["metadata"]["uid"])]
    return sorted(mine, key=lambda m: (m["metadata"].get("creationTimestamp") or "", m["metadata"]["name"]))


def vm_progress(vm):
    """One VM's progress: phase, current pipeline step, MB done of total, precopies, outcome."""
    pipeline = vm.get("pipeline") or []
    current = next((s for s in pipeline if s.get("phase") == "Running"), None)
    if current is None:
        done = [s for s in pipeline if s.get("phase") == "Completed"]
        current = done[-1] if done else (pipeline[0] if pipeline else {})
    transfer = next((s for s in pipeline if s.get("name") in ("DiskTransfer", "DiskTransferV2v")), {})
    progress = transfer.get("progress") or {}
    outcome = next((c["type"] for c in vm.get("conditions") or [] if c.get("type") in FINAL
                    and str(c.get("status")) == "True"), None)
    warm = vm.get("warm") or {}
    entry = {"name": vm.get("name"), "id": vm.get("id"), "new_name": vm.get("newName"), "phase": vm.get("phase"),
             "step": current.get("name"), "transferred_mb": progress.get("completed", 0),
             "total_mb": progress.get("total", 0), "precopies": warm.get("successes", len(warm.get("precopies") or [])),
             "outcome": outcome}
    if vm.get("error"):
        entry["error"] = vm["error"]
    return entry


def progress_line(migration):
    """``vm: phase, step, MB done/total, precopies`` for every VM, for a progress line."""
    if migration is None:
        return "not created yet"
    vms = [vm_progress(vm) for vm in fields.get(migration, "status.vms") or []]
    if not vms:
        return "no VM started yet"
    parts = []
    for vm in vms:
        text = "{0}: {1}".format(vm["name"], vm["outcome"] or vm["phase"] or "Pending")
        if not vm["outcome"]:
            text += ", {0} {1}/{2} MB".format(vm["step"] or "-", vm["transferred_mb"], vm["total_mb"])
            if vm["precopies"]:
                text += ", precopies {0}".format(vm["precopies"])
        parts.append(text)
    cutover = fields.get(migration, "spec.cutover")
    return "; ".join(parts) + (" (cutover {0})".format(cutover) if cutover else "")


# The warm precopy loop (migrator.go warmItinerary): the VM cycles through these until its cutover.
PRECOPY_LOOP = ("CopyDisks", "CopyingPaused", "RemovePreviousSnapshot", "WaitForPreviousSnapshotRemoval",
                "CreateSnapshot", "WaitForSnapshot", "StoreSnapshotDeltas", "AddCheckpoint")


def _precopying(migration):
    """Every VM has a precopy done and cycles in the precopy loop, waiting for a cutover."""
    vms = fields.get(migration or {}, "status.vms") or []
    return bool(vms) and all(vm.get("phase") in PRECOPY_LOOP and (vm.get("warm") or {}).get("successes", 0) >= 1
                             for vm in vms)


def _refs_of(plan, names):
    known = dict((vm.get("name"), vm) for vm in fields.get(plan, "spec.vms") or [])
    known.update((vm.get("id"), vm) for vm in fields.get(plan, "spec.vms") or [])
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ModuleError("cancel names VMs that are not in plan {0}: {1} (it has {2}).".format(
            plan["metadata"]["name"], ", ".join(unknown), ", ".join(vm.get("name") or vm.get("id")
                                                                    for vm in fields.get(plan, "spec.vms") or [])))
    return [{"id": known[n]["id"], "name": known[n].get("name")} for n in names]


class Run(object):
    """One plan's run through ``module`` (a KubeModule)."""

    def __init__(self, module):
        self.module = module
        self.kube = module.kube
        self.params = module.params
        self.plan_ref = mtv_common.ref(self.kube, "Plan", self.params["plan"], self.params["namespace"])

    def plan(self):
        plan = self.kube.get(self.plan_ref)
        if plan is None and not self.module.check_mode:
            raise ModuleError("{0} does not exist. Create it with mtv_plan first.".format(describe(self.plan_ref)))
        return plan

    def run(self):
        if self.params.get("cutover_window"):
            Window(self.params["cutover_window"])  # a wrong start or time zone is refused before anything is read
        plan = self.plan()
        if plan is None:  # check mode, with the plan still to be made by an earlier task of the same run
            return self.preview_first_run()
        if self.params["archive"] and fields.get(plan, "spec.archived"):
            return self.archive(plan)
        runs = migrations_of(self.kube, plan)
        active = next((m for m in runs if final_outcome(m) is None), None)
        migration = active or (runs[-1] if runs else None)
        if migration is None or (final_outcome(migration) in ("Failed", "Canceled") and self.params["restart"]):
            migration = self.start(plan, len(runs) + 1)
        elif active is not None:
            migration = self.update(plan, active)
        if self.module.check_mode:
            return self.result(plan, migration)
        if self.params["wait"]:
            migration = self.follow(plan, migration)
        if self.params["archive"]:
            return self.archive(self.plan(), migration)
        return self.result(plan, migration)

    def preview_first_run(self):
        desired = {"apiVersion": mtv_common.FORKLIFT_API, "kind": "Migration",
                   "metadata": {"name": "{0}-1".format(self.params["plan"]), "namespace": self.params["namespace"]},
                   "spec": {"plan": {"name": self.params["plan"], "namespace": self.params["namespace"]}}}
        migration = self.module.ensurer.preview_create(desired, ["spec.plan"]).object
        return {"migration": {"name": migration["metadata"]["name"], "namespace": self.params["namespace"],
                              "cutover": None, "outcome": "Running", "conditions": []},
                "vms": [], "archived": bool(self.params["archive"])}

    def start(self, plan, number):
        if not mtv_common.condition_true(plan, "Ready"):
            blocking = [mtv_common.describe_condition(c) for c in mtv_common.blockers(plan)]
            raise ModuleError("{0} is not Ready, so it cannot start: {1}. Run mtv_plan to see why.".format(
                describe(self.plan_ref), "; ".join(blocking) or "no Ready condition yet"))
        spec = {"plan": {"name": plan["metadata"]["name"], "namespace": plan["metadata"]["namespace"],
                         "uid": plan["metadata"]["uid"]}}
        cutover = asked_cutover(self.params, None, utc_now())
        if cutover:
            spec["cutover"] = cutover
        if self.params["cancel"]:
            spec["cancel"] = _refs_of(plan, self.params["cancel"])
        desired = {"apiVersion": mtv_common.FORKLIFT_API, "kind": "Migration",
                   "metadata": {"name": "{0}-{1}".format(plan["metadata"]["name"], number),
                                "namespace": plan["metadata"]["namespace"]}, "spec": spec}
        return self.module.ensurer.present(desired, ["spec." + key for key in spec]).object

    def update(self, plan, migration):
        """Move the cutover and add VMs to cancel on the running migration."""
        spec, managed = {}, []
        cutover = asked_cutover(self.params, fields.get(migration, "spec.cutover"), utc_now())
        if cutover != fields.get(migration, "spec.cutover"):
            spec["cutover"], managed = cutover, managed + ["spec.cutover"]
        if self.params["cancel"]:
            live = fields.get(migration, "spec.cancel") or []
            have = set(ref.get("id") for ref in live)
            added = [ref for ref in _refs_of(plan, self.params["cancel"]) if ref["id"] not in have]
            if added:
                spec["cancel"], managed = live + added, managed + ["spec.cancel"]
        if not managed:
            return migration
        desired = {"apiVersion": mtv_common.FORKLIFT_API, "kind": "Migration",
                   "metadata": {"name": migration["metadata"]["name"],
                                "namespace": migration["metadata"]["namespace"]}, "spec": spec}
        return self.module.ensurer.present(desired, managed).object

    def follow(self, plan, migration):
        ref = mtv_common.ref(self.kube, "Migration", migration["metadata"]["name"], migration["metadata"]["namespace"])
        warm_without_cutover = fields.get(plan, "spec.type") == "warm" and not fields.get(migration, "spec.cutover")
        if final_outcome(migration) is not None:
            return migration
        if warm_without_cutover:
            until = wait.Predicate("every VM precopied once and waiting for a cutover (no cutover is set)",
                                   lambda m: _precopying(m) or final_outcome(m) is not None)
        else:
            until = wait.Predicate("the migration to end (Succeeded, Failed or Canceled)",
                                   lambda m: final_outcome(m) is not None)
        return self.module.wait_until(ref, until, now=progress_line,
                                      timeout_note=LEFT_RUNNING.format(describe(ref)))

    def archive(self, plan, migration=None):
        if migration is not None and final_outcome(migration) is None:
            raise ModuleError("{0} is still running; archive the plan once it has ended (or cancel it).".format(
                describe(self.plan_ref)))
        desired = {"apiVersion": mtv_common.FORKLIFT_API, "kind": "Plan",
                   "metadata": {"name": plan["metadata"]["name"], "namespace": plan["metadata"]["namespace"]},
                   "spec": {"archived": True}}
        self.module.ensurer.present(desired, ["spec.archived"])
        if self.params["wait"] and not self.module.check_mode:
            self.module.wait_until(self.plan_ref, wait.condition("Archived"))
        return self.result(self.plan(), migration, archived=True)

    def result(self, plan, migration, archived=None):
        vms = [vm_progress(vm) for vm in fields.get(migration or {}, "status.vms") or []]
        outcome = final_outcome(migration) if migration else None
        values = {"migration": None if migration is None else {
            "name": migration["metadata"]["name"], "namespace": migration["metadata"]["namespace"],
            "cutover": fields.get(migration, "spec.cutover"), "outcome": outcome or "Running",
            "conditions": mtv_common.conditions(migration)},
            "vms": vms, "archived": bool(archived or fields.get(plan, "spec.archived"))}
        if outcome == "Failed" and not self.module.check_mode:
            failed = ["{0} ({1})".format(vm["name"], "; ".join((vm.get("error") or {}).get("reasons") or [])
                                         or vm["phase"]) for vm in vms if vm["outcome"] == "Failed"]
            raise WorkFailed("Migration {0} failed: {1}. It stays as MTV's record; set restart: true to run the "
                             "plan again.".format(migration["metadata"]["name"], ", ".join(failed)), **values)
        return values

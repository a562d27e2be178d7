# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Watch-based waits on one object, with predicates over any of its fields.

A wait lists the object once, then watches it from that resourceVersion and
returns on the first event where the predicate holds. An expired watch (410 Gone)
or a broken connection re-lists; a watch the server ended normally resumes from
the last resourceVersion seen. Many of the objects we wait on report readiness
only in ``status.phase`` or in a plain field, so predicates are not limited to
conditions.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.ontap.virtualization.plugins.module_utils import fields
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError, describe
from ansible_collections.ontap.virtualization.plugins.module_utils.retry import is_transient

# The longest single watch request; the server closes it and we resume.
MAX_WATCH_SECONDS = 300
RELIST_PAUSE = 0.5


class Predicate(object):
    """A test over an object (None when it does not exist) that can say what is missing."""

    def __init__(self, description, test):
        self.description = description
        self._test = test

    def __call__(self, obj):
        return bool(self._test(obj))

    def missing(self, obj):
        """What is missing, said for a person; empty when the predicate holds."""
        return "" if self(obj) else self.description


class AllOf(Predicate):
    def __init__(self, *predicates):
        self.predicates = predicates
        super(AllOf, self).__init__(" and ".join(p.description for p in predicates),
                                    lambda obj: all(p(obj) for p in predicates))

    def missing(self, obj):
        return "; ".join(p.description for p in self.predicates if not p(obj))


def all_of(*predicates):
    return AllOf(*predicates)


def exists():
    return Predicate("the object exists", lambda obj: obj is not None)


def absent():
    return Predicate("the object is gone", lambda obj: obj is None)


def field_equals(path, value):
    return Predicate("{0} is {1}".format(fields.render(path), json.dumps(value)),
                     lambda obj: obj is not None and fields.get(obj, path) == value)


def field_in(path, values):
    return Predicate("{0} is one of {1}".format(fields.render(path), ", ".join(values)),
                     lambda obj: obj is not None and fields.get(obj, path) in values)


def phase_in(*phases):
    return field_in("status.phase", phases)


def find_condition(obj, condition_type):
    for condition in fields.get(obj or {}, "status.conditions") or []:
        if condition.get("type") == condition_type:
            return condition
    return None


def condition(condition_type, status="True", reason=None):
    def test(obj):
        found = find_condition(obj, condition_type)
        if found is None or str(found.get("status")) != status:
            return False
        return reason is None or found.get("reason") == reason

    text = "condition {0}={1}".format(condition_type, status)
    if reason:
        text += " (reason {0})".format(reason)
    return Predicate(text, test)


def observed_generation():
    """The controller has seen the latest spec (status.observedGeneration == metadata.generation)."""
    return Predicate(
        "status.observedGeneration reaches metadata.generation",
        lambda obj: obj is not None and fields.get(obj, "status.observedGeneration") == fields.get(obj, "metadata.generation"))


def summarize_status(obj):
    """The part of an object's status worth showing when a wait fails."""
    if obj is None:
        return "the object does not exist"
    status = obj.get("status")
    if not status:
        return "the object has no status yet"
    shown = {key: value for key, value in status.items() if key not in ("managedFields",)}
    return json.dumps(shown, sort_keys=True, default=str)


def timeout_message(seconds, what, missing, status):
    return "Timed out after {0}s waiting for {1}: still missing {2}. Last status seen: {3}".format(
        int(round(seconds)), what, missing, status)


def short_status(obj):
    """A line for a progress report: the phase, its reason or message, and the conditions."""
    if obj is None:
        return "not created yet"
    status = obj.get("status") or {}
    parts = []
    for key in ("phase", "status", "reason"):
        if isinstance(status.get(key), str) and status.get(key):
            parts.append("{0} {1}".format(key, status[key]))
    conditions = ["{0}={1}".format(c.get("type"), c.get("status")) for c in status.get("conditions") or []]
    if conditions:
        parts.append("conditions " + " ".join(conditions))
    message = status.get("message")
    if isinstance(message, str) and message:
        parts.append(message if len(message) <= 120 else message[:117] + "...")
    return ", ".join(parts) or "no status yet"


class WaitFailed(ModuleError):
    """The object reached a state the wait can never recover from, or time ran out."""

    def __init__(self, msg, last):
        super(WaitFailed, self).__init__(msg, last_status=(last or {}).get("status"))
        self.last = last


class WaitTimedOut(WaitFailed):
    """Time ran out; ``missing`` says what the object still lacked."""

    def __init__(self, msg, last, ref, missing):
        super(WaitTimedOut, self).__init__(msg, last)
        self.ref = ref
        self.missing = missing


class Waiter(object):
    """Waits on one object through ``kube`` (a module_utils.kube.Kube).

    ``progress`` is called with each new version of the object, so a module can
    report (or a test can observe) the steps the object goes through. ``recheck``
    bounds each watch request, so that predicates that depend on time (how long a phase has lasted)
    are judged again even when the object does not change.
    """

    def __init__(self, kube, clock=time.monotonic, sleep=time.sleep, progress=None, recheck=MAX_WATCH_SECONDS):
        self.kube = kube
        self._clock = clock
        self._sleep = sleep
        self._progress = progress or (lambda obj: None)
        self._recheck = recheck

    def until(self, ref, predicate, timeout, fail_when=None):
        """The object once ``predicate`` holds.

        ``fail_when`` is an optional Predicate for terminal states (a Failed phase);
        when it holds the wait stops at once with that state in the message.
        """
        deadline = self._clock() + timeout
        last = None
        resource_version = None
        while True:
            try:
                if resource_version is None:
                    items, resource_version = self.kube.list(
                        ref, field_selector="metadata.name={0}".format(ref.name))
                    last = items[0] if items else None
                    if self._done(ref, last, predicate, fail_when):
                        return last
                remaining = deadline - self._clock()
                if remaining <= 0:
                    break
                for event_type, obj in self.kube.watch(ref, resource_version, min(remaining, self._recheck)):
                    if event_type == "ERROR":
                        if obj.get("code") == 410:
                            resource_version = None
                            break
                        raise ModuleError("Watching {0} failed: {1}".format(describe(ref), obj.get("message")))
                    resource_version = fields.get(obj, "metadata.resourceVersion") or resource_version
                    if event_type == "BOOKMARK":
                        continue
                    last = None if event_type == "DELETED" else obj
                    if self._done(ref, last, predicate, fail_when):
                        return last
            except ModuleError:
                raise
            except Exception as exc:  # pylint: disable=broad-except
                if getattr(exc, "status", None) != 410 and not is_transient(exc):
                    raise ModuleError("Watching {0} failed: {1}".format(describe(ref), exc))
                resource_version = None
                self._sleep(RELIST_PAUSE)
            if self._clock() >= deadline:
                break
            if resource_version is not None and self._done(ref, last, predicate, fail_when):
                return last
        missing = predicate.missing(last) or predicate.description
        raise WaitTimedOut(timeout_message(timeout, describe(ref), missing, summarize_status(last)), last, ref, missing)

    def until_absent(self, ref, timeout):
        return self.until(ref, absent(), timeout)

    def _done(self, ref, obj, predicate, fail_when):
        self._progress(obj)
        if fail_when is not None and fail_when(obj):
            raise WaitFailed("{0} reached a state it cannot recover from ({1}). Last status seen: {2}".format(
                describe(ref), fail_when.description, summarize_status(obj)), obj)
        return predicate(obj)

# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Watch-based waits on one object (or on many with one watch), with predicates over any of its fields.

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
        return self.until_each(ref, [ref.name], predicate, timeout, fail_when=fail_when)[ref.name]

    def until_each(self, ref, names, predicate, timeout, fail_when=None, label_selector=None):
        """{name: object} once ``predicate`` holds for every object ``names`` lists, of ``ref``'s kind and namespace.

        One list and one watch serve them all: with ``label_selector`` (which must match every name)
        the watch covers the objects it selects; without it, ``ref`` names the one object.
        """
        deadline = self._clock() + timeout
        last = dict((name, None) for name in names)
        resource_version = None
        one = label_selector is None
        if one and list(names) != [ref.name]:
            raise ValueError("without a label_selector, a wait is on the one object ref names")
        while True:
            try:
                if resource_version is None:
                    selector = {"label_selector": label_selector} if not one else \
                        {"field_selector": "metadata.name={0}".format(ref.name)}
                    items, resource_version = self.kube.list(ref, **selector)
                    listed = dict((fields.get(o, "metadata.name"), o) for o in items)
                    for name in names:
                        last[name] = listed.get(name)
                        self._seen(ref, name, last[name], fail_when)
                    if self._all(last, predicate):
                        return last
                remaining = deadline - self._clock()
                if remaining <= 0:
                    break
                watch_args = (ref, resource_version, min(remaining, self._recheck))
                events = self.kube.watch(*watch_args, label_selector=label_selector) if not one else \
                    self.kube.watch(*watch_args)
                for event_type, obj in events:
                    if event_type == "ERROR":
                        if obj.get("code") == 410:
                            resource_version = None
                            break
                        raise ModuleError("Watching {0} failed: {1}".format(describe(ref), obj.get("message")))
                    resource_version = fields.get(obj, "metadata.resourceVersion") or resource_version
                    name = fields.get(obj, "metadata.name")
                    if event_type == "BOOKMARK" or name not in last:
                        continue
                    last[name] = None if event_type == "DELETED" else obj
                    self._seen(ref, name, last[name], fail_when)
                    if self._all(last, predicate):
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
            if resource_version is not None and self._all(last, predicate):
                return last
        waiting = [name for name in names if not predicate(last[name])]
        first = waiting[0] if waiting else names[0]
        what = ref._replace(name=first)
        missing = predicate.missing(last[first]) or predicate.description
        if len(waiting) > 1:
            missing = "{0} (and {1} more of its kind: {2})".format(missing, len(waiting) - 1, ", ".join(waiting[1:]))
        raise WaitTimedOut(timeout_message(timeout, describe(what), missing, summarize_status(last[first])),
                           last[first], what, missing)

    def until_absent(self, ref, timeout):
        return self.until(ref, absent(), timeout)

    def _seen(self, ref, name, obj, fail_when):
        """A new version of one object waited on: report it, and stop if it cannot recover."""
        self._progress(obj)
        if fail_when is not None and fail_when(obj):
            raise WaitFailed("{0} reached a state it cannot recover from ({1}). Last status seen: {2}".format(
                describe(ref._replace(name=name)), fail_when.description, summarize_status(obj)), obj)

    @staticmethod
    def _all(last, predicate):
        return all(predicate(obj) for obj in last.values())

# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Create, update or leave an object, comparing only the fields a module manages.

Comparing only managed fields (and letting the server and controllers own the
rest) is what keeps a second run at ``changed=false``: defaults the API server
fills in and annotations other controllers add are never a reason to write.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

from ansible_collections.ontap.virtualization.plugins.module_utils import fields, wait
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError, describe
from ansible_collections.ontap.virtualization.plugins.module_utils.kube import Conflict, ObjectRef
from ansible_collections.ontap.virtualization.plugins.module_utils.results import Changes

CONFLICT_RETRIES = 5
DELETION_WAIT_SECONDS = 300  # for an object being deleted to go before it is created again
HIDDEN = "<hidden>"
HIDDEN_CHANGED = "<hidden, changed>"
SECRET_PATHS = ("data", "stringData")


class Outcome(object):
    """What ``present``/``absent`` did to ``what`` (a Kind ns/name): ``changed``, ``action``, ``diff``, ``object``."""

    def __init__(self, changed, action, obj, diff=None, ref=None):
        self.changed = changed
        self.action = action
        self.object = obj
        self.diff = diff
        self.ref = ref
        self.what = describe(ref) if ref else ""


def _redact_secret(before, after):
    """Replace Secret values by markers that only say whether a value changed."""
    for path in SECRET_PATHS:
        old, new = fields.get(before, path), fields.get(after, path)
        if isinstance(old, dict):
            fields.put(before, path, dict((key, HIDDEN) for key in old))
        if isinstance(new, dict):
            old = old or {}
            fields.put(after, path, dict(
                (key, HIDDEN if old.get(key) == value else HIDDEN_CHANGED) for key, value in new.items()))


class Ensurer(object):
    """Brings objects to their desired managed fields through ``kube`` (module_utils.kube.Kube).

    In check mode nothing is written: creates and updates go to the API server as
    server-side dry runs, so admission and defaulting still show in the preview;
    when a dry run cannot run (its namespace does not exist yet, because the same
    check-mode play would create it), the preview is computed locally.
    """

    def __init__(self, kube, check_mode=False, want_diff=False):
        self.kube = kube
        self.check_mode = check_mode
        self.want_diff = want_diff
        self.changes = Changes(check_mode, want_diff)

    def _outcome(self, ref, changed, action, obj, diff):
        return self.changes.record(Outcome(changed, action, obj, diff, ref))

    def ref_of(self, obj):
        metadata = obj.get("metadata") or {}
        return self.kube.ref(obj["apiVersion"], obj["kind"], metadata.get("name"), metadata.get("namespace"))

    def present(self, desired, managed):
        """Make the object carry ``desired``'s value at every path in ``managed``.

        A managed path that ``desired`` leaves out (or sets to None) is removed.
        """
        ref = self.ref_of(desired)
        for _attempt in range(CONFLICT_RETRIES):
            live = self.kube.get(ref)
            if live is not None and fields.get(live, "metadata.deletionTimestamp"):
                if self.check_mode:  # it would be created anew once gone
                    return self.preview_create(desired, managed)
                live = self._gone_after_deletion(ref, live)
            if live is None:
                if not self.check_mode:
                    self._refuse_dropped(ref, desired, managed, self._create(ref, desired, dry_run=True))
                created = self._create(ref, desired, dry_run=self.check_mode)
                if self.check_mode:
                    self._refuse_dropped(ref, desired, managed, created)
                return self._outcome(ref, True, "create", created, self._diff(None, created, managed))
            patch = self._patch_for(live, desired, managed)
            if not patch:
                return self._outcome(ref, False, None, live, self._diff(live, live, managed))
            fields.put(patch, "metadata.resourceVersion", live["metadata"]["resourceVersion"])
            try:
                if not self.check_mode:
                    self._refuse_dropped(ref, desired, managed, self.kube.patch(ref, patch, dry_run=True))
                updated = self.kube.patch(ref, patch, dry_run=self.check_mode)
            except Conflict:
                continue
            if self.check_mode:
                self._refuse_dropped(ref, desired, managed, updated)
            return self._outcome(ref, True, "update", updated, self._diff(live, updated, managed))
        raise ModuleError("{0} kept changing while we updated it ({1} conflicts in a row); another client is "
                          "writing the same fields. Run again once it settles.".format(describe(ref), CONFLICT_RETRIES))

    def _gone_after_deletion(self, ref, live):
        """An object being deleted is not there to keep: wait until it is gone (None), so that it is created anew
        (a namespace still terminating refuses everything created in it)."""
        try:
            wait.Waiter(self.kube).until(ref, wait.absent(), DELETION_WAIT_SECONDS)
        except wait.WaitTimedOut:
            raise ModuleError("{0} is being deleted (since {1}) and is still there after {2} s{3}; run again once "
                              "it is gone.".format(describe(ref), fields.get(live, "metadata.deletionTimestamp"),
                                                   DELETION_WAIT_SECONDS, _finalizers(live)))
        return None

    def undo_creations(self):
        """Delete what this run created, newest first; the lines say what was removed and what could not be."""
        lines = []
        for outcome in reversed(self.changes.created()):
            try:
                self.kube.delete(outcome.ref)
                lines.append("removed " + outcome.what)
            except ModuleError as exc:
                lines.append("could not remove {0} ({1})".format(outcome.what, exc.msg))
        return lines

    def preview_create(self, desired, managed):
        """What creating ``desired`` would give, computed locally (for check mode when a dry run cannot tell)."""
        metadata = desired.get("metadata") or {}
        ref = ObjectRef(desired["apiVersion"], desired["kind"], metadata.get("name"), metadata.get("namespace"), "")
        return self._outcome(ref, True, "create", desired, self._diff(None, desired, managed))

    def absent(self, ref, managed=()):
        """Delete the object named by ``ref`` if it exists (without waiting)."""
        live = self.kube.get(ref)
        if live is None:
            return self._outcome(ref, False, None, None, self._diff(None, None, managed))
        self.kube.delete(ref, dry_run=self.check_mode)
        return self._outcome(ref, True, "delete", live, self._diff(live, None, managed))

    @staticmethod
    def _refuse_dropped(ref, desired, managed, answer):
        """Fail when the API server's answer lacks a value we wrote (pruned as unknown, or changed by a webhook).

        Without this a typo in a field name is accepted, dropped, and reported as a change on every run.
        """
        dropped = []
        for path in managed:
            want = fields.get(desired, path)
            if want is not None and not fields.contains(fields.get(answer, path), want):
                dropped.append("{0}={1}".format(fields.render(path), json.dumps(want, sort_keys=True)))
        if dropped:
            raise ModuleError("The API server did not keep {0} of {1}: the field is not in the object's schema (a "
                              "typo, or a setting this version does not know) or an admission webhook changed it. "
                              "Fix or remove it; nothing was written.".format(", ".join(dropped), describe(ref)))

    def _create(self, ref, desired, dry_run):
        try:
            return self.kube.create(ref, desired, dry_run=dry_run)
        except ModuleError as exc:
            if dry_run and self.check_mode and exc.details.get("status") == 404 and ref.namespace:
                preview = copy.deepcopy(desired)
                fields.put(preview, "metadata.namespace", ref.namespace)
                return preview
            raise

    @staticmethod
    def _patch_for(live, desired, managed):
        patch = {}
        for path in managed:
            want = fields.get(desired, path)
            if not fields.contains(fields.get(live, path), want):
                fields.put(patch, path, copy.deepcopy(want))
        return patch

    def _diff(self, before, after, managed):
        if not self.want_diff:
            return None
        identity = ("apiVersion", "kind", "metadata.name", "metadata.namespace")
        paths = list(identity) + list(managed)
        result = {"before": fields.project(before, paths) if before else {},
                  "after": fields.project(after, paths) if after else {}}
        if (before or after or {}).get("kind") == "Secret":
            _redact_secret(result["before"], result["after"])
        return result


__all__ = ["Ensurer", "Outcome", "ObjectRef"]


def _finalizers(obj):
    held = fields.get(obj, "metadata.finalizers") or fields.get(obj, "spec.finalizers") or []
    return " (held by the finalizers {0})".format(", ".join(held)) if held else ""

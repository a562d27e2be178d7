# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Cluster-scoped classes (StorageClass, VolumeSnapshotClass) with immutable fields and default marks.

Kubernetes refuses updates to a class's immutable fields, and a default mark
(an annotation set to "true") must sit on one class of a family only: choosing one
here takes the mark off the others in the same run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import fields
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError, describe

RECREATE_WAIT_SECONDS = 60


def annotation_path(key):
    return ("metadata", "annotations", key)


def is_marked(obj, mark):
    return str(fields.get(obj, annotation_path(mark), "")).lower() == "true"


def result(module, outcome, unmarked, extra_diffs=()):
    diffs = [d for d in list(extra_diffs) + [outcome.diff] if d is not None]
    found = {"changed": outcome.changed or bool(unmarked), "unmarked": unmarked}
    if outcome.object is not None and outcome.action != "delete":
        found["resource"] = outcome.object
    if module.diff_mode:
        found["diff"] = diffs
    return found


def immutable_changes(live, desired, immutable):
    """(path, old, new) for each immutable field that differs; dictionaries are compared key by key."""
    changes = []
    for path in immutable:
        old, new = fields.get(live, path), fields.get(desired, path)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    changes.append((fields.split(path) + (key,), old.get(key), new.get(key)))
        else:
            changes.append((path, old, new))
    return changes


def ensure_with_default_marks(module, desired, ref, immutable, mutable, marks, family):
    """Ensure ``desired`` (recreating it when ``recreate`` allows) and its default marks.

    ``marks`` maps an annotation to True (mark this one, unmark the others of the
    family), False (no mark here) or None (leave the mark alone); ``family(other)``
    says whether another class of the same kind competes for the marks.
    """
    kube, ensurer = module.kube, module.ensurer
    managed = list(immutable) + list(mutable)
    for mark, wanted in marks.items():
        if wanted is None:
            continue
        managed.append(annotation_path(mark))
        if wanted:
            fields.put(desired, annotation_path(mark), "true")
    live = kube.get(ref)
    pre_diffs = []
    recreating = False
    if live is not None:
        changes = immutable_changes(live, desired, immutable)
        if changes:
            if not module.params["recreate"]:
                raise ModuleError(
                    "{0} cannot be changed in place: Kubernetes does not allow updates to {1} ({2}). Set recreate: "
                    "true to delete and create it again (volumes and snapshots made with it keep working).".format(
                        describe(ref), ", ".join(fields.render(p) for p, _o, _n in changes),
                        "; ".join("{0}: {1} -> {2}".format(fields.render(p), o, n) for p, o, n in changes)))
            removed = ensurer.absent(ref, managed)
            pre_diffs.append(removed.diff)
            recreating = True
            if not module.check_mode:
                module.waiter().until_absent(ref, RECREATE_WAIT_SECONDS)
    if recreating and module.check_mode:
        outcome = ensurer.preview_create(desired, managed)
    else:
        outcome = ensurer.present(desired, managed)
    unmarked = []
    for mark, wanted in marks.items():
        if not wanted:
            continue
        others, _version = kube.list(ref._replace(name=None))
        for other in others:
            other_name = other["metadata"]["name"]
            if other_name == ref.name or not family(other) or not is_marked(other, mark):
                continue
            unmark = {"apiVersion": desired["apiVersion"], "kind": desired["kind"], "metadata": {
                "name": other_name, "annotations": {mark: "false"}}}
            outcome_other = ensurer.present(unmark, [annotation_path(mark)])
            pre_diffs.append(outcome_other.diff)
            unmarked.append(other_name)
    return result(module, outcome, sorted(set(unmarked)), pre_diffs)

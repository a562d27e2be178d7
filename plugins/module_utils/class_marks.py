# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Cluster-scoped classes (StorageClass, VolumeSnapshotClass): immutable fields and default-class marks.

Kubernetes refuses updates to a class's immutable fields, and a default mark
(an annotation set to "true") must sit on one class of a family only: choosing one
here takes the mark off the others in the same run.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.ontap.virtualization.plugins.module_utils import fields
from ansible_collections.ontap.virtualization.plugins.module_utils.errors import ModuleError, describe

DEFAULT_CLASS = "storageclass.kubernetes.io/is-default-class"
DEFAULT_VIRT_CLASS = "storageclass.kubevirt.io/is-default-virt-class"
DEFAULT_SNAPSHOT_CLASS = "snapshot.storage.kubernetes.io/is-default-class"
RECREATE_WAIT_SECONDS = 60


def annotation_path(key):
    return ("metadata", "annotations", key)


def is_marked(obj, mark):
    return str(fields.get(obj, annotation_path(mark), "")).lower() == "true"


def class_result(module, outcome, unmarked=()):
    """The module result for a class: what changed, the class as the cluster holds it, the classes unmarked."""
    found = {"unmarked": sorted(set(unmarked))}
    if outcome.object is not None and outcome.action != "delete":
        found["resource"] = outcome.object
    return module.result(**found)


def ensure_with_default_marks(module, desired, ref, immutable, mutable, marks, family):
    """Ensure ``desired`` (recreating it when ``recreate`` allows) and its default marks.

    ``marks`` maps an annotation to True (mark this one, unmark the others of the
    family), False (no mark here) or None (leave the mark alone); ``family(other)``
    says whether another class of the same kind competes for the marks.
    """
    managed = list(immutable) + list(mutable)
    for mark, wanted in marks.items():
        if wanted is not None:
            managed.append(annotation_path(mark))
        if wanted:
            fields.put(desired, annotation_path(mark), "true")
    if _recreate_if_needed(module, desired, ref, immutable, managed) and module.check_mode:
        outcome = module.ensurer.preview_create(desired, managed)
    else:
        outcome = module.ensurer.present(desired, managed)
    unmarked = []
    for mark in [mark for mark, wanted in marks.items() if wanted]:
        unmarked.extend(_unmark_others(module, desired, ref, mark, family))
    return class_result(module, outcome, unmarked)


def _recreate_if_needed(module, desired, ref, immutable, managed):
    """Delete the live class when an immutable field must change (only with ``recreate``); True when deleted."""
    live = module.kube.get(ref)
    changes = fields.immutable_changes(live, desired, immutable) if live is not None else []
    if not changes:
        return False
    if not module.params["recreate"]:
        paths, values = fields.render_changes(changes)
        raise ModuleError(
            "{0} cannot be changed in place: Kubernetes does not allow updates to {1} ({2}). Set recreate: "
            "true to delete and create it again (volumes and snapshots made with it keep working).".format(
                describe(ref), paths, values))
    module.ensurer.absent(ref, managed)
    if not module.check_mode:
        module.waiter().until_absent(ref, RECREATE_WAIT_SECONDS)
    return True


def _unmark_others(module, desired, ref, mark, family):
    unmarked = []
    others, _version = module.kube.list(ref._replace(name=None))
    for other in others:
        name = other["metadata"]["name"]
        if name == ref.name or not family(other) or not is_marked(other, mark):
            continue
        module.ensurer.present({"apiVersion": desired["apiVersion"], "kind": desired["kind"], "metadata": {
            "name": name, "namespace": other["metadata"].get("namespace"), "annotations": {mark: "false"}}},
            [annotation_path(mark)])
        unmarked.append(name)
    return unmarked

# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Paths into Kubernetes objects.

A path is either a dotted string (``spec.storageDriverName``) or a tuple of keys,
for keys that contain dots themselves
(``("metadata", "annotations", "storageclass.kubernetes.io/is-default-class")``).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

_MISSING = object()


def split(path):
    if isinstance(path, (tuple, list)):
        return tuple(path)
    return tuple(path.split("."))


def render(path):
    return ".".join(split(path))


def get(obj, path, default=None):
    """Value at ``path`` in ``obj``, or ``default`` when any step is missing."""
    node = obj
    for key in split(path):
        if not isinstance(node, dict) or key not in node:
            return default
        node = node[key]
    return node


def put(obj, path, value):
    """Set ``path`` in ``obj`` to ``value``, creating the dictionaries on the way."""
    keys = split(path)
    node = obj
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    return obj


def project(obj, paths):
    """A copy of ``obj`` holding only ``paths`` (those present in ``obj``)."""
    result = {}
    for path in paths:
        value = get(obj or {}, path, _MISSING)
        if value is not _MISSING:
            put(result, path, copy.deepcopy(value))
    return result


def contains(live, desired):
    """Whether ``live`` holds everything ``desired`` asks for.

    Dictionaries may carry more keys in ``live`` (defaults a server or a controller
    added); lists must have the same length and match element by element; scalars
    must be equal. A desired ``None`` means "absent".
    """
    if desired is None:
        return live is None
    if isinstance(desired, dict):
        if not isinstance(live, dict):
            return False
        return all(contains(live.get(key), value) for key, value in desired.items())
    if isinstance(desired, list):
        if not isinstance(live, list) or len(live) != len(desired):
            return False
        return all(contains(have, want) for have, want in zip(live, desired))
    return live == desired


def immutable_changes(live, desired, immutable):
    """(path, old, new) for each immutable path whose value differs; dictionaries are compared key by key."""
    changes = []
    for path in immutable:
        old, new = get(live, path), get(desired, path)
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            for key in sorted(set(old) | set(new)):
                if old.get(key) != new.get(key):
                    changes.append((split(path) + (key,), old.get(key), new.get(key)))
        else:
            changes.append((path, old, new))
    return changes


def render_changes(changes):
    """The paths and the old -> new values of immutable_changes(), as two phrases for an error message."""
    paths = ", ".join(render(path) for path, _old, _new in changes)
    values = "; ".join("{0}: {1} -> {2}".format(render(path), old, new) for path, old, new in changes)
    return paths, values

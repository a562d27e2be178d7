# -*- coding: utf-8 -*-
# Copyright: contributors to the ontap.virtualization collection
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Names, label selectors and owner references."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re

DNS1123_LABEL_MAX = 63
DNS1123_SUBDOMAIN_MAX = 253
_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_LABEL_KEY_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def dns1123_label_error(name):
    """Why ``name`` is not a DNS-1123 label (Services, Namespaces, VMs), or None."""
    if not name:
        return "a name must not be empty"
    if len(name) > DNS1123_LABEL_MAX:
        return "'{0}' is {1} characters long; at most {2} are allowed".format(name, len(name), DNS1123_LABEL_MAX)
    if not _LABEL.match(name):
        return ("'{0}' must consist of lower case alphanumeric characters or '-', and must start and end "
                "with an alphanumeric character".format(name))
    return None


def dns1123_subdomain_error(name):
    """Why ``name`` is not a DNS-1123 subdomain (most object names), or None."""
    if not name:
        return "a name must not be empty"
    if len(name) > DNS1123_SUBDOMAIN_MAX:
        return "'{0}' is {1} characters long; at most {2} are allowed".format(name, len(name), DNS1123_SUBDOMAIN_MAX)
    if not _SUBDOMAIN.match(name):
        return ("'{0}' must consist of lower case alphanumeric characters, '-' or '.', and must start and end "
                "with an alphanumeric character".format(name))
    return None


def to_dns1123_label(text, max_length=DNS1123_LABEL_MAX):
    """A valid DNS-1123 label derived from ``text``, deterministically.

    ``My_VM.01`` becomes ``my-vm-01``. When the result must be shortened, a short
    hash of the whole input is kept at the end so that two long inputs that share a
    prefix still give two different names.
    """
    name = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    name = re.sub(r"-{2,}", "-", name)
    if not name:
        raise ValueError("'{0}' has no character that can be kept in a Kubernetes name".format(text))
    if len(name) <= max_length:
        return name
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    return "{0}-{1}".format(name[:max_length - len(digest) - 1].rstrip("-"), digest)


def label_error(key, value):
    """Why ``key=value`` is not a valid Kubernetes label, or None."""
    prefix, sep, name = key.rpartition("/")
    if sep and dns1123_subdomain_error(prefix):
        return "label key prefix '{0}' is not a DNS-1123 subdomain".format(prefix)
    if not name or len(name) > 63 or not _LABEL_KEY_NAME.match(name):
        return "label key '{0}' must be at most 63 alphanumeric characters, '-', '_' or '.'".format(key)
    value = "" if value is None else str(value)
    if len(value) > 63 or not _LABEL_VALUE.match(value):
        return "label value '{0}' of '{1}' must be at most 63 alphanumeric characters, '-', '_' or '.'".format(value, key)
    return None


def label_selector(match_labels=None, match_expressions=None):
    """The string form of a label selector (``a=b,c in (d,e),!f``)."""
    parts = ["{0}={1}".format(key, value) for key, value in sorted((match_labels or {}).items())]
    for expression in match_expressions or []:
        key, operator = expression["key"], expression["operator"]
        values = ",".join(expression.get("values") or [])
        if operator == "In":
            parts.append("{0} in ({1})".format(key, values))
        elif operator == "NotIn":
            parts.append("{0} notin ({1})".format(key, values))
        elif operator == "Exists":
            parts.append(key)
        elif operator == "DoesNotExist":
            parts.append("!" + key)
        else:
            raise ValueError("unknown label selector operator '{0}'".format(operator))
    return ",".join(parts)


def owner_reference(owner, controller=True, block_owner_deletion=True):
    """An ownerReference to ``owner`` (a live object, as returned by the API server)."""
    metadata = owner["metadata"]
    if not metadata.get("uid"):
        raise ValueError("an owner reference needs the owner's uid: read the owner from the cluster first")
    return {
        "apiVersion": owner["apiVersion"],
        "kind": owner["kind"],
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": controller,
        "blockOwnerDeletion": block_owner_deletion,
    }

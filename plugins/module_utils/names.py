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
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
# A Kubernetes resource quantity as users write sizes: a number with an optional binary or decimal suffix.
_QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


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


def label_value_error(value):
    """Why ``value`` cannot be a label value (it names snapshot sets, for one), or None."""
    if len(value) > DNS1123_LABEL_MAX:
        return "'{0}' is {1} characters long; at most {2} are allowed".format(value, len(value), DNS1123_LABEL_MAX)
    if not _LABEL_VALUE.match(value):
        return ("'{0}' may contain only letters, digits, '-', '_' and '.', and must start and end with a letter or "
                "digit".format(value))
    return None


def is_quantity(text):
    """Whether ``text`` is a size such as 20Gi."""
    return bool(_QUANTITY.match(str(text)))


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


def work_name(prefix, *inputs):
    """A deterministic name for work derived from ``inputs`` (a rerun finds what the first run created).

    ``work_name("clone", "vm1", "vm1-copy")`` is always the same valid DNS-1123 label.
    """
    digest = hashlib.sha256("\x00".join(str(part) for part in inputs).encode("utf-8")).hexdigest()[:10]
    return to_dns1123_label("{0}-{1}-{2}".format(prefix, "-".join(str(part) for part in inputs)[:40], digest))
